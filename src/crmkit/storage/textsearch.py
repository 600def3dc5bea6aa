"""What text search matches, stated once for every backend.

A query is NFKC-normalised and case-folded; a query that looks like a phone number
("138 0013 8000", "+86-138…") is reduced to its digits.

- A query of three or more characters matches a customer when it is a substring of the
  customer's name, of one of its live contacts' names, or of the digits of one of their phone
  numbers (E.164 digits, which end with the national number). SQL backends answer this from
  a trigram index (SQLite FTS5 ``trigram``, PostgreSQL ``pg_trgm``).
- A trigram index cannot answer a one- or two-character query, and scanning a million rows
  for one would be slow, so such a query matches the *start* of the customer's name or of a
  live contact's name (a B-tree range): "金智" finds 金智电子…, "张" finds every 张 contact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.values import Phone

PHONE_LIKE = re.compile(r"[+\d][\d\s()\-]*")


def normalize_query(text: str) -> str:
    """The form queries and indexed text are compared in."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def phone_terms(phone: Phone | None) -> list[str]:
    # The national number (138…) is the end of the E.164 digits (86138…), so every part of
    # it is already a substring of those: indexing it again would only make the trigram
    # index larger and every write slower.
    if phone is None:
        return []
    return [phone.e164.lstrip("+")]


def search_terms(customer: Customer, contacts: Iterable[Contact]) -> list[str]:
    """Every searchable string of a customer and its live contacts."""
    terms = [customer.name, *phone_terms(customer.mobile), *phone_terms(customer.phone)]
    for contact in contacts:
        if contact.deleted_at is None:
            terms.append(contact.name)
            terms.extend(phone_terms(contact.mobile))
            terms.extend(phone_terms(contact.phone))
    return terms


def search_document(customer: Customer, contacts: Iterable[Contact]) -> str:
    """The indexed text: normalised terms separated by a character no query contains."""
    return "\u0001".join(normalize_query(t) for t in search_terms(customer, contacts))


SHORT_QUERY = 3  # below this many characters a trigram index cannot help


def prepare_query(text: str) -> str:
    """The normalised query; phone-like queries become their digits."""
    query = normalize_query(text)
    if PHONE_LIKE.fullmatch(query):
        query = re.sub(r"\D", "", query)
    return query


def customer_matches_text(customer: Customer, contacts: Iterable[Contact], text: str) -> bool:
    """The reference semantics every backend's text search must agree with."""
    query = prepare_query(text)
    if not query:
        return True
    if len(query) < SHORT_QUERY:
        names = [customer.name, *(c.name for c in contacts if c.deleted_at is None)]
        return any(normalize_query(n).startswith(query) for n in names)
    return any(query in normalize_query(term) for term in search_terms(customer, contacts))
