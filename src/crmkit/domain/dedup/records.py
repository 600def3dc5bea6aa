"""Match records: what the matcher compares, built from customers, contacts or plain rows.

A :class:`Record` is an id plus named, already-normalised values (a :class:`CompanyKey`, a
set of E.164 numbers …). Normalising once per record, not once per comparison, is what keeps
matching fast; and because the values are keys, a record built from a stored ``Customer``
has the same values as one built from the import row that created it.

Field names the default configurations use:

==============  ===============================================================================
customers       ``name`` (CompanyKey), ``kind``, ``uscc``, ``phones``, ``emails``, ``contacts``
                (contact person keys), ``address`` (AddressKey), ``location`` (GB/T 2260 code
                from the name, else the region, else the address), ``birthday``
contacts        ``person``, ``customer_id``, ``mobile`` (personal numbers), ``phone`` (fixed
                lines), ``email``, ``birthday``
both            ``custom.<name>`` per custom field (text folded, spaces dropped: ``ht001``)
==============  ===============================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal

import attrs

from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer, CustomerKind
from crmkit.domain.dedup.company import CompanyKey
from crmkit.domain.dedup.keys import (
    AddressKey,
    address_key,
    company_key,
    email_key,
    id_birth_date,
    id_key,
    individual_key,
    person_key,
    phone_key,
    uscc_key,
)
from crmkit.domain.dedup.text import fold_text
from crmkit.domain.errors import ValidationError
from crmkit.domain.regions import Region
from crmkit.domain.values import USCC, Email, Phone, PhoneKind

__all__ = [
    "Record",
    "contact_record",
    "customer_record",
    "customer_record_with",
    "record_from_fields",
    "with_contacts",
]


def _freeze(values: Mapping[str, Any]) -> Mapping[str, Any]:
    # Unknown values are dropped here, once, so that ``get`` is a plain lookup: the matcher
    # calls it millions of times.
    return MappingProxyType({k: v for k, v in values.items() if not is_missing(v)})


def is_missing(value: Any) -> bool:
    """None, an empty string and an empty collection all mean "not known"."""
    if value is None:
        return True
    if isinstance(value, str | frozenset | set | tuple | list):
        return len(value) == 0
    return False


def is_individual(record: Record) -> bool:
    """Whether a customer's match record is an individual's (matched as a person)."""
    return bool(record.values.get("kind") == CustomerKind.INDIVIDUAL.value)


@attrs.frozen
class Record:
    """One thing to match: an id and its normalised field values.

    Attributes:
        id: the record's id (a stored id, or a row number for an import file).
        values: field name -> normalised value; None and empty values are dropped (unknown).
    """

    id: str
    values: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze)

    def get(self, field: str) -> Any:
        """The value of ``field``, or None when unknown."""
        return self.values.get(field)

    def __reduce__(self) -> tuple[Any, ...]:
        # A read-only mapping does not pickle; records travel from the processes that
        # prepare an import's rows. They arrive frozen already: not filtered again.
        return (_restore_record, (self.id, dict(self.values)))


def _restore_record(id: str, values: dict[str, Any]) -> Record:
    record = object.__new__(Record)
    object.__setattr__(record, "id", id)
    object.__setattr__(record, "values", MappingProxyType(values))
    return record


# -- helpers ------------------------------------------------------------------------------
def _many(value: Any) -> list[Any]:
    """One value or an iterable of them, as a list (strings are one value)."""
    if value is None:
        return []
    if isinstance(value, str | Phone | Email):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def _phones(values: Iterable[Any], region: str) -> frozenset[str]:
    return frozenset(k for k in (phone_key(v, region) for v in values) if k)


def _emails(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(k for k in (email_key(v) for v in values) if k)


def _custom_value(value: Any) -> Any:
    if isinstance(value, str):
        # Custom text is mostly codes (合同号 HT-001 / ht001): separators do not count.
        return fold_text(value).replace(" ", "") or None
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(_custom_value(v) for v in value) - {None}
    return value


def _custom(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {f"custom.{k}": _custom_value(v) for k, v in (values or {}).items()}


def _region(value: Any) -> Region | None:
    if value is None or isinstance(value, Region):
        return value
    try:
        return Region.parse(str(value))
    except ValidationError:
        return None


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _location(name: CompanyKey, region: Region | None, address: AddressKey | None) -> str | None:
    # The place in the name is part of the company's legal identity, so it wins over a
    # region field (which may hold the office a salesperson visited).
    if name.location:
        return name.location
    if region is not None:
        return region.code
    return address.region if address is not None else None


def _customer_values(
    *,
    name: str | None,
    individual: bool,
    uscc: Any,
    phones: Iterable[Any],
    emails: Iterable[Any],
    contacts: Iterable[Any],
    address: str | None,
    region: Region | None,
    birthday: date | None,
    custom: Mapping[str, Any] | None,
    phone_region: str,
    id_number: Any = None,
) -> dict[str, Any]:
    key = (individual_key if individual else company_key)(name or "")
    addr = address_key(address, region)
    person = person_key(name) if individual else None
    number = id_key(id_number) if individual else None
    if individual and birthday is None:
        # A checked 居民身份证 carries the birth date: a record with the card and no date
        # typed is compared (and blocked) by the card's.
        birthday = id_birth_date(number)
    return {
        "kind": CustomerKind.INDIVIDUAL.value if individual else CustomerKind.COMPANY.value,
        "name": key if key.brand else None,
        "uscc": uscc_key(uscc) if not individual else None,
        "phones": _phones(phones, phone_region),
        "emails": _emails(emails),
        "contacts": frozenset(k for k in (person_key(v) for v in contacts) if k),
        "address": addr,
        "location": _location(key, region, addr),
        "birthday": birthday,
        # An individual is matched as a person as well (``person.PERSON_MATCH``).
        "person": person,
        "id_number": number,
        **_custom(custom),
    }


# -- builders -----------------------------------------------------------------------------
def customer_record(
    c: Customer,
    contact_phones: Iterable[str | Phone] = (),
    contact_emails: Iterable[str | Email] = (),
    contact_names: Iterable[str] = (),
) -> Record:
    """The match record of a stored customer.

    Args:
        c: the customer.
        contact_phones: numbers of its contacts; a number shared with another customer's
            contacts is evidence the two are one company.
        contact_emails: e-mail addresses of its contacts, likewise.
        contact_names: names of its contacts (a shared contact person is weaker evidence).

    Returns:
        A :class:`Record` with id ``c.id``.
    """
    phones: list[Any] = [p for p in (c.mobile, c.phone) if p is not None]
    emails: list[Any] = [c.email] if c.email is not None else []
    values = _customer_values(
        name=c.name,
        individual=c.kind is CustomerKind.INDIVIDUAL,
        uscc=c.uscc,
        phones=[*phones, *contact_phones],
        emails=[*emails, *contact_emails],
        contacts=contact_names,
        address=c.address,
        region=c.region,
        birthday=c.birthday,
        custom=c.custom,
        phone_region="CN",
        id_number=c.id_number.value if c.id_number is not None else None,
    )
    return Record(c.id, values)


def customer_record_with(c: Customer, contacts: Iterable[Contact] = ()) -> Record:
    """The match record of a customer with its live contacts (deleted ones are left out):
    their phones, e-mails and names count towards the customer's record."""
    people = [p for p in contacts if not p.is_deleted]
    return customer_record(
        c,
        contact_phones=[n for p in people for n in (p.mobile, p.phone) if n is not None],
        contact_emails=[p.email for p in people if p.email is not None],
        contact_names=[p.name for p in people],
    )


def with_contacts(record: Record, contacts: Iterable[Contact]) -> Record:
    """A customer's match record grown by more live contacts: their phones, e-mails and
    names added, as :func:`customer_record_with` would have counted them."""
    people = [p for p in contacts if not p.is_deleted]
    if not people:
        return record
    values = dict(record.values)
    phones = _phones([n for p in people for n in (p.mobile, p.phone) if n is not None], "CN")
    emails = _emails([p.email for p in people if p.email is not None])
    names = frozenset(k for k in (person_key(p.name) for p in people) if k)
    for field, more in (("phones", phones), ("emails", emails), ("contacts", names)):
        values[field] = frozenset(values.get(field) or ()) | more
    return Record(record.id, values)


def _id_text(value: Any) -> str | None:
    # An IdNumber value object prints masked; its full number is ``.value``.
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _split_personal(
    numbers: Iterable[Phone | str | None], region: str
) -> tuple[set[str], set[str]]:
    personal: set[str] = set()
    fixed: set[str] = set()
    for number in numbers:
        key = phone_key(number, region)
        if key is None:
            continue
        # A contact's fixed line is often the company switchboard, shared by every contact
        # there; only a mobile identifies the person.
        (personal if Phone(key).kind is PhoneKind.MOBILE else fixed).add(key)
    return personal, fixed


def _contact_values(
    *,
    name: str | None,
    customer_id: str | None,
    numbers: Iterable[Phone | str | None],
    emails: Iterable[Any],
    birthday: date | None,
    phone_region: str,
) -> dict[str, Any]:
    personal, fixed = _split_personal(numbers, phone_region)
    person = person_key(name)
    return {
        "person": person,
        "customer_id": customer_id or None,
        "mobile": frozenset(personal),
        "phone": frozenset(fixed),
        "email": _emails(emails),
        "birthday": birthday,
    }


def contact_record(c: Contact) -> Record:
    """The match record of a stored contact.

    Args:
        c: the contact.

    Returns:
        A :class:`Record` with id ``c.id``: person name key, customer id, personal (mobile)
        and fixed numbers apart, e-mail, birthday.
    """
    values = _contact_values(
        name=c.name,
        customer_id=c.customer_id,
        numbers=(c.mobile, c.phone),
        emails=[c.email] if c.email is not None else [],
        birthday=c.birthday,
        phone_region="CN",
    )
    return Record(c.id, values)


_INDIVIDUAL_WORDS = frozenset({"individual", "个人", "person"})


def record_from_fields(
    fields: Mapping[str, Any],
    *,
    id: str | None = None,
    kind: Literal["customer", "contact"] = "customer",
    phone_region: str = "CN",
) -> Record:
    """A match record from a plain mapping: an import row, form input or ``create(**fields)``.

    Values may be raw text or value objects; unreadable values (a malformed phone) count as
    unknown rather than failing, because validation is not the matcher's job.

    Recognised keys, customers: ``name``, ``kind`` (``individual``/``个人`` for a person),
    ``uscc``, ``mobile``, ``phone``, ``phones``, ``email``, ``emails``, ``address``,
    ``region`` (Region, code or ``山东省/青岛市``), ``birthday``, ``id_number``, ``contact`` /
    ``contact_name`` / ``contacts``, ``contact_mobile``, ``contact_phone``,
    ``contact_email``, ``custom`` (a mapping) and ``custom.<name>``. Contacts: ``name``,
    ``customer_id``, ``mobile``, ``phone``, ``email``, ``birthday``. Other keys are ignored.

    Args:
        fields: the mapping.
        id: the record id; default ``fields["id"]``, else ``""``.
        kind: ``"customer"`` or ``"contact"``.
        phone_region: region for numbers without a country code.

    Returns:
        The :class:`Record`.
    """
    rid = id if id is not None else str(fields.get("id") or "")
    if kind == "contact":
        values = _contact_values(
            name=fields.get("name"),
            customer_id=fields.get("customer_id"),
            numbers=[*_many(fields.get("mobile")), *_many(fields.get("phone"))],
            emails=_many(fields.get("email")),
            birthday=_date(fields.get("birthday")),
            phone_region=phone_region,
        )
        return Record(rid, values)
    custom = dict(fields.get("custom") or {})
    custom.update(
        {k.removeprefix("custom."): v for k, v in fields.items() if k.startswith("custom.")}
    )
    raw_kind = fields.get("kind")
    individual = raw_kind is CustomerKind.INDIVIDUAL or (
        isinstance(raw_kind, str) and raw_kind.strip().casefold() in _INDIVIDUAL_WORDS
    )
    contacts = [
        *_many(fields.get("contact")),
        *_many(fields.get("contact_name")),
        *_many(fields.get("contacts")),
    ]
    values = _customer_values(
        name=str(fields["name"]) if fields.get("name") is not None else None,
        individual=individual,
        uscc=fields.get("uscc") if isinstance(fields.get("uscc"), USCC | str) else None,
        phones=[
            *_many(fields.get("mobile")),
            *_many(fields.get("phone")),
            *_many(fields.get("phones")),
            *_many(fields.get("contact_mobile")),
            *_many(fields.get("contact_phone")),
        ],
        emails=[
            *_many(fields.get("email")),
            *_many(fields.get("emails")),
            *_many(fields.get("contact_email")),
        ],
        contacts=contacts,
        address=str(fields["address"]) if fields.get("address") else None,
        region=_region(fields.get("region")),
        birthday=_date(fields.get("birthday")),
        custom=custom,
        phone_region=phone_region,
        id_number=_id_text(fields.get("id_number")),
    )
    return Record(rid, values)
