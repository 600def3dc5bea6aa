"""Contacts: the people at a customer."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs

from crmkit.domain.common import (
    GENDER_WORDS,
    Gender,
    is_blank,
    parse_bool,
    parse_date,
    parse_enum,
    parse_id,
    parse_multiline,
    parse_reachability,
    parse_text,
    parse_value,
)
from crmkit.domain.errors import FieldErrors
from crmkit.domain.pinyin import initials, split_name, surname_initial
from crmkit.domain.values import Email, Phone, normalize_person_name


@attrs.frozen(kw_only=True)
class Contact:
    """A person at a customer. ``surname`` and ``initials`` feed the 百家姓 index."""

    id: str
    customer_id: str
    name: str
    gender: Gender | None = None
    title: str | None = None
    mobile: Phone | None = None
    phone: Phone | None = None
    email: Email | None = None
    birthday: date | None = None
    is_primary: bool = False
    remarks: str | None = None
    surname: str = ""
    surname_letter: str = "#"
    initials: str = ""
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None
    # Set when the contact went to the recycle bin because its customer did, so that
    # restoring the customer brings back exactly those contacts.
    deleted_with: str | None = None
    # Set on a contact merged into another (it is then in the recycle bin): the winner.
    merged_into: str | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


CONTACT_FIELDS: Final[tuple[str, ...]] = (
    "customer_id",
    "name",
    "gender",
    "title",
    "mobile",
    "phone",
    "email",
    "birthday",
    "is_primary",
    "remarks",
)


def name_index(name: str) -> dict[str, str]:
    """Derived fields for the by-surname index."""
    return dict(_name_index(name))


@functools.lru_cache(maxsize=65536)
def _name_index(name: str) -> tuple[tuple[str, str], ...]:
    # Pinyin look-ups cost ~100 µs a name and people's names repeat (王伟, 李娜 …): an
    # import of a hundred thousand contacts asks for a few thousand distinct ones.
    surname, _ = split_name(name)
    return (
        ("surname", surname),
        ("surname_letter", surname_initial(name)),
        ("initials", initials(name)),
    )


def parse_contact_input(
    raw: Mapping[str, Any],
    errors: FieldErrors,
    *,
    phone_region: str,
    partial: bool = False,
    strict_names: bool = False,
) -> dict[str, Any]:
    """Turn caller input into typed contact fields (see ``parse_customer_input``)."""
    out: dict[str, Any] = {}
    for key in raw:
        if key not in CONTACT_FIELDS:
            errors.add(key, "unknown_field", raw[key])
    if "customer_id" in raw or not partial:
        value = parse_id(raw.get("customer_id"), errors, "customer_id")
        if value is None and not any(e.field == "customer_id" for e in errors.errors):
            errors.add("customer_id", "required", raw.get("customer_id"))
        out["customer_id"] = value
    if "name" in raw or not partial:
        name_raw = raw.get("name")
        if is_blank(name_raw):
            errors.add("name", "required", name_raw)
        else:
            out["name"] = parse_value(
                normalize_person_name, name_raw, errors, "name", strict=strict_names
            )
    if "gender" in raw:
        out["gender"] = parse_enum(Gender, raw["gender"], errors, "gender", dict(GENDER_WORDS))
    if "title" in raw:
        out["title"] = parse_text(raw["title"], errors, "title", 50)
    if "remarks" in raw:
        out["remarks"] = parse_multiline(raw["remarks"], errors, "remarks", 2000)
    if "birthday" in raw:
        out["birthday"] = parse_date(raw["birthday"], errors, "birthday")
    if "is_primary" in raw:
        out["is_primary"] = bool(parse_bool(raw["is_primary"], errors, "is_primary"))
    parse_reachability(raw, errors, out, phone_region=phone_region)
    if out.get("name"):
        out.update(name_index(out["name"]))
    return out


def check_contact_rules(contact: Contact, errors: FieldErrors, *, today: date) -> None:
    if contact.birthday is not None and contact.birthday > today:
        errors.add("birthday", "date.future", contact.birthday.isoformat())
