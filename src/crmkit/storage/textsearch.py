"""What text search matches, stated once for every backend.

A customer matches a query when the query (NFKC-normalised, case-folded) is a substring of its
name, of one of its live contacts' names, or of the digits of one of their phone numbers
(E.164 digits or the national number). SQL backends answer the same question from an index.
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
    if phone is None:
        return []
    return [phone.e164.lstrip("+"), phone.national_digits]


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


def customer_matches_text(customer: Customer, contacts: Iterable[Contact], text: str) -> bool:
    query = normalize_query(text)
    if PHONE_LIKE.fullmatch(query):
        # "138 0013 8000" or "+86-138..." are searched as their digits.
        query = re.sub(r"\D", "", query)
    if not query:
        return True
    return any(query in normalize_query(term) for term in search_terms(customer, contacts))
