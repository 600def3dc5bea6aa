"""New customers and contacts from raw fields: the pure half of creating and importing them.

Creating a customer takes two kinds of work. This module holds the kind that needs nothing
but the fields and a few settings: parsing and checking every field, building the customer
(and its first contact) and checking the cross-field rules, and, for an import, the match
record and blocking keys that duplicate detection compares. The other kind, which needs the
store (owner and reference checks, permissions, duplicates in the store, writes), stays in
the workflows. Both ``CustomerService.prepare`` and the import call these functions, so every
door applies the same rules.

Everything here is pure and picklable: an import prepares its next batch of rows with
:func:`prepare_rows` in a worker process while its session writes the current one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import attrs
import uuid_utils

from crmkit.domain.audit import snapshot
from crmkit.domain.contact import Contact, check_contact_rules, parse_contact_input
from crmkit.domain.custom_fields import CustomFieldSchema
from crmkit.domain.customer import (
    Customer,
    check_customer_rules,
    check_formal_requirements,
    parse_customer_input,
)
from crmkit.domain.dedup import MatchConfig, Matcher, Record, contact_record, customer_record_with
from crmkit.domain.dedup.codec import encode_record, key_hash
from crmkit.domain.dictionary import Vocabulary
from crmkit.domain.errors import CRMError, FieldError, FieldErrors, ValidationError
from crmkit.domain.imports import RowProblem
from crmkit.domain.messages import language

T = TypeVar("T")

# Fields whose values name stored records or users: the session checks them.
REFERENCE_FIELDS = ("owner_id", "co_owner_ids", "parent_id", "related_customer_ids")


def new_id() -> str:
    """A new entity id: a UUIDv7 (RFC 9562), in its usual 36-character text form.

    Its first 48 bits are the creation time in milliseconds, so ids created together sort
    together: each insert extends the end of every index on an id instead of landing on a
    random page of it, which is what keeps imports into a large store fast (a random id
    dirties a different page of each index for every row). The id discloses when the
    record was created, which the record shows anyway; it stays opaque otherwise.
    """
    return str(uuid_utils.uuid7())


def parse_new_customer(
    fields: Mapping[str, Any],
    errors: FieldErrors,
    *,
    owner_default: str | None,
    phone_region: str,
    custom_schema: CustomFieldSchema,
    strict_names: bool = False,
    vocabulary: Vocabulary | None = None,
) -> dict[str, Any]:
    """Typed fields of a new customer (errors collected in ``errors``); ``owner_default``
    owns it when the fields name no owner."""
    raw = dict(fields)
    if "owner_id" not in raw and owner_default is not None:
        raw["owner_id"] = owner_default
    return parse_customer_input(
        raw,
        errors,
        kind=None,
        phone_region=phone_region,
        custom_schema=custom_schema,
        strict_names=strict_names,
        vocabulary=vocabulary,
    )


def build_customer(
    data: Mapping[str, Any], *, id: str, actor_id: str, now: datetime, today: date
) -> Customer:
    """The new customer from parsed fields, checked by the cross-field rules.

    Raises:
        ValidationError: a cross-field rule fails (all of them named).
        WorkflowError: the category asked for needs what the customer lacks.
    """
    customer = _checked(Customer, data, id, actor_id, now, check_customer_rules, today)
    check_formal_requirements(customer, customer.category)
    return customer


def build_contact(
    data: Mapping[str, Any], *, id: str, actor_id: str, first: bool, at: datetime, today: date
) -> Contact:
    """A new contact from parsed fields (``parse_contact_input``), checked by the
    cross-field rules; the first contact of a customer is its primary one.

    Raises:
        ValidationError: a cross-field rule fails.
    """
    if first and "is_primary" not in data:
        data = {**data, "is_primary": True}
    return _checked(Contact, data, id, actor_id, at, check_contact_rules, today)


def _checked(
    cls: Callable[..., T],
    data: Mapping[str, Any],
    id: str,
    actor_id: str,
    at: datetime,
    rules: Callable[..., None],
    today: date,
) -> T:
    """A new record stamped with its id, times and creator, checked by ``rules``."""
    record = cls(
        id=id,
        created_at=at,
        updated_at=at,
        created_by=actor_id,
        **{k: v for k, v in data.items() if v is not None},
    )
    errors = FieldErrors()
    rules(record, errors, today=today)
    errors.raise_if_any()
    return record


def block_key_hashes(matcher: Matcher, kind: str, record: Record) -> frozenset[int]:
    """A record's blocking keys as the hashes the duplicate index stores (kind hashed in,
    so customers and contacts never share a key)."""
    return key_hashes(kind, matcher.block_keys(record))


def key_hashes(kind: str, keys: Iterable[str]) -> frozenset[int]:
    """Blocking keys (as :meth:`Matcher.block_keys` names them) as the index's hashes."""
    return frozenset(key_hash(f"{kind}:{k}") for k in keys)


# -- import rows --------------------------------------------------------------------------
# A field error's path -> the mapped field whose column it came from.
_COLUMN_OF = {
    "owner_id": "owner",
    "contact.name": "contact_name",
    "contact.mobile": "contact_mobile",
    "contact.title": "contact_title",
}


def row_problem(error: FieldError, headers: Mapping[str, str]) -> RowProblem:
    """A field error as an import row's problem, naming the column it came from."""
    path = error.field.split("[", 1)[0]
    field = _COLUMN_OF.get(path, path if path.startswith("custom.") else path.split(".", 1)[0])
    return RowProblem(
        headers.get(field),
        error.field,
        error.code,
        error.value,
        error.message("en"),
        error.message("zh"),
    )


def error_problem(exc: CRMError) -> RowProblem:
    """Any other refusal (a lifecycle move the customer cannot make…) as a row problem."""
    with language("en"):
        en = str(exc)
    with language("zh"):
        zh = str(exc)
    return RowProblem(None, "row", type(exc).__name__, None, en, zh)


@attrs.frozen(kw_only=True)
class PrepareSettings:
    """What preparing an import's rows needs besides the rows: the same for every batch.

    Attributes:
        actor_id: who imports (``created_by``).
        owner_default: who owns a row naming no owner (the actor, unless a system actor).
        now: the timestamp of the new records.
        today: the business date, for the date rules.
        phone_region: where numbers without a country code are from.
        custom_schema: the customer custom fields.
        match: the customer matcher configuration (for match records and blocking keys).
        contact_match: the contact matcher configuration.
        headers: field -> the column header it came from, for row problems.
        strict_names: seed 002's one-script rule for names.
        vocabulary: the data dictionary's closed lists (source, industry, tags).
    """

    actor_id: str
    owner_default: str | None
    now: datetime
    today: date
    phone_region: str
    custom_schema: CustomFieldSchema
    match: MatchConfig
    contact_match: MatchConfig
    headers: Mapping[str, str]
    strict_names: bool = False
    vocabulary: Vocabulary | None = None


@attrs.frozen
class PreparedRow:
    """One import row prepared without the store.

    Attributes:
        number: the row's number in the sheet.
        refs: the parsed reference fields (owner, co-owners, parent, related customers)
            that the session must check before the row may become a customer.
        errors: the fields' own errors; the session adds the reference errors to them.
        customer: the new customer when the fields parsed (None when ``errors``).
        failure: why the parsed row still cannot become a customer or contact (a rule
            across fields, a bad contact); reported only if the references are sound.
        contact: the customer's first contact, when the row has one.
        record: the customer's match record (with the contact's phone, e-mail and name).
        keys: its blocking key hashes.
        encoded: the record as the duplicate index stores it.
        audit: the customer's creation diff for the audit log.
        contact_index: the contact's encoded match record and blocking key hashes.
        contact_audit: the contact's creation diff.

    Everything a write needs that costs work to compute is here, computed where the row
    was prepared (a worker process, for a large import).
    """

    number: int
    refs: Mapping[str, Any]
    errors: tuple[FieldError, ...] = ()
    customer: Customer | None = None
    failure: tuple[RowProblem, ...] = ()
    contact: Contact | None = None
    record: Record | None = None
    keys: frozenset[int] = frozenset()
    encoded: str = ""
    audit: Mapping[str, tuple[Any, Any]] = attrs.field(factory=dict)
    contact_index: tuple[str, frozenset[int]] | None = None
    contact_audit: Mapping[str, tuple[Any, Any]] = attrs.field(factory=dict)


def prepare_row(
    settings: PrepareSettings,
    number: int,
    fields: Mapping[str, Any],
    contact_fields: Mapping[str, Any],
    matchers: tuple[Matcher, Matcher] | None = None,
) -> PreparedRow:
    """Parse, build and check one row's customer and contact, and its match record
    (``matchers``: the customer and contact matchers of ``settings``, to reuse)."""
    errors = FieldErrors()
    data = parse_new_customer(
        fields,
        errors,
        owner_default=settings.owner_default,
        phone_region=settings.phone_region,
        custom_schema=settings.custom_schema,
        strict_names=settings.strict_names,
        vocabulary=settings.vocabulary,
    )
    refs = {k: data[k] for k in REFERENCE_FIELDS if k in data}
    if errors:
        return PreparedRow(number, refs, tuple(errors.errors))
    try:
        customer = build_customer(
            data, id=new_id(), actor_id=settings.actor_id, now=settings.now, today=settings.today
        )
    except ValidationError as exc:
        return PreparedRow(number, refs, failure=_problems(exc.errors, settings.headers))
    except CRMError as exc:
        return PreparedRow(number, refs, failure=(error_problem(exc),))
    contact: Contact | None = None
    if contact_fields:
        # Checked now so that a bad contact fails its row, not the whole batch.
        cerrors = FieldErrors()
        cdata = parse_contact_input(
            {**contact_fields, "customer_id": customer.id},
            cerrors,
            phone_region=settings.phone_region,
            strict_names=settings.strict_names,
        )
        try:
            cerrors.raise_if_any()
            contact = build_contact(
                cdata,
                id=new_id(),
                actor_id=settings.actor_id,
                first=True,
                at=customer.created_at,
                today=settings.today,
            )
        except ValidationError as exc:
            failure = _problems([e.prefixed("contact") for e in exc.errors], settings.headers)
            return PreparedRow(number, refs, customer=customer, failure=failure)
    record = customer_record_with(customer, [contact] if contact is not None else [])
    customers, contacts = matchers or (
        Matcher(settings.match),
        Matcher(settings.contact_match),
    )
    contact_index = None
    if contact is not None:
        crecord = contact_record(contact)
        contact_index = (encode_record(crecord), block_key_hashes(contacts, "contact", crecord))
    return PreparedRow(
        number,
        refs,
        customer=customer,
        contact=contact,
        record=record,
        keys=block_key_hashes(customers, "customer", record),
        encoded=encode_record(record),
        audit=snapshot(customer),
        contact_index=contact_index,
        contact_audit=snapshot(contact) if contact is not None else {},
    )


def prepare_rows(
    settings: PrepareSettings,
    rows: Sequence[tuple[int, Mapping[str, Any], Mapping[str, Any]]],
) -> list[PreparedRow]:
    """:func:`prepare_row` for each ``(number, customer fields, contact fields)``."""
    matchers = (Matcher(settings.match), Matcher(settings.contact_match))
    return [prepare_row(settings, n, f, c, matchers) for n, f, c in rows]


def _problems(errors: Sequence[FieldError], headers: Mapping[str, str]) -> tuple[RowProblem, ...]:
    return tuple(row_problem(e, headers) for e in errors)


__all__ = [
    "REFERENCE_FIELDS",
    "PrepareSettings",
    "PreparedRow",
    "block_key_hashes",
    "build_contact",
    "build_customer",
    "error_problem",
    "key_hashes",
    "new_id",
    "parse_new_customer",
    "prepare_row",
    "prepare_rows",
    "row_problem",
]
