"""Explicit conversion between table rows and domain objects."""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.common import Gender
from crmkit.domain.converter import custom_from_plain, custom_to_plain, to_plain
from crmkit.domain.customer import (
    Category,
    ChannelType,
    CreditRating,
    Customer,
    CustomerKind,
    Settlement,
)
from crmkit.domain.regions import Region
from crmkit.domain.user import Credentials
from crmkit.domain.values import USCC, Email, IdNumber, IdType, Money, Phone
from crmkit.storage.ports import Summary
from crmkit.storage.spec import plain_type
from crmkit.storage.textsearch import normalize_query

T = TypeVar("T")


def _phone(v: str | None) -> Phone | None:
    return Phone.from_e164(v) if v else None


# Hot-path decoders for rows read without SQLAlchemy type processing (see ``customers.READ``):
# SQLite hands back text, PostgreSQL (psycopg) native values; both are accepted.
def _dt(v: Any) -> Any:
    """An aware UTC datetime (or None) from SQLite text or a psycopg datetime."""
    if v is None:
        return None
    if isinstance(v, str):
        return datetime.fromisoformat(v)  # stored with its +00:00 offset
    return v.astimezone(UTC)


def json_value(v: Any) -> Any:
    """A JSON column value from SQLite text or a psycopg-decoded value."""
    if isinstance(v, str):
        if v == "[]":
            return []
        if v == "{}":
            return {}
        return json.loads(v)
    return v


def _dec(v: Any) -> Decimal | None:
    if v is None or isinstance(v, Decimal):
        return v
    return Decimal(v)


def _date(v: Any) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(v)


def _lookup(enum_type: Any) -> dict[str, Any]:
    return {m.value: m for m in enum_type}


_KIND = _lookup(CustomerKind)
_CATEGORY = _lookup(Category)
_CHANNEL = _lookup(ChannelType)
_SETTLEMENT = _lookup(Settlement)
_RATING = _lookup(CreditRating)
_GENDER = _lookup(Gender)
_ID_TYPE = _lookup(IdType)


def _id_type_cell(c: Customer) -> str | None:
    """The stored ``id_type``: the customer's, else (a number without a type) the number's
    own unless it is a resident card's, which is what a missing type reads back as."""
    if c.id_type is not None:
        return c.id_type.value
    if c.id_number is not None and c.id_number.kind is not IdType.RESIDENT:
        return c.id_number.kind.value
    return None


def customer_row(c: Customer, search_text: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind.value,
        "name": c.name,
        "name_key": normalize_query(c.name),
        "category": c.category.value,
        "channel_type": c.channel_type.value,
        "related_customer_ids": list(c.related_customer_ids),
        "source": c.source,
        "industry": c.industry,
        "region_code": c.region.code if c.region else None,
        "province_code": c.region.code[:2] if c.region else None,
        "city_code": c.region.code[:4] if c.region and c.region.city_code else None,
        "address": c.address,
        "tags": list(c.tags),
        "credit_rating": c.credit_rating.value if c.credit_rating else None,
        "settlement": c.settlement.value,
        "credit_limit": c.credit_limit.amount if c.credit_limit else None,
        "credit_currency": c.credit_limit.currency if c.credit_limit else None,
        "owner_id": c.owner_id,
        "co_owner_ids": list(c.co_owner_ids),
        "parent_id": c.parent_id,
        "uscc": c.uscc.value if c.uscc else None,
        "gender": c.gender.value if c.gender else None,
        "birthday": c.birthday,
        "id_number": c.id_number.value if c.id_number else None,
        "id_type": _id_type_cell(c),
        "mobile": c.mobile.e164 if c.mobile else None,
        "phone": c.phone.e164 if c.phone else None,
        "phone_ext": c.phone.extension if c.phone else None,
        "email": c.email.value if c.email else None,
        "remarks": c.remarks,
        "custom": custom_to_plain(c.custom),
        "search_text": search_text,
        "version": c.version,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "created_by": c.created_by,
        "deleted_at": c.deleted_at,
        "merged_into": c.merged_into,
    }


_EMPTY_JSON = ("[]", "{}", None)


def _ids(v: Any) -> tuple[str, ...]:
    # Most rows hold "[]": skip the JSON parser for them.
    return () if v in _EMPTY_JSON or v == [] else tuple(json_value(v))


def summary_from_row(r: Any) -> Summary:
    """A :class:`Summary` from ``(id, name, owner_id, co_owner_ids, created_at, deleted_at)``
    read without type processing, like ``customers.READ``."""
    id, name, owner_id, co_owner_ids, created_at, deleted_at = r
    return Summary(id, name, owner_id, _ids(co_owner_ids), _dt(created_at), deleted_at is not None)


def customer_from_row(r: Mapping[Any, Any]) -> Customer:
    """A customer from a row of ``customers.READ`` columns (raw driver values).

    This runs for every row of every page, so it avoids the generic machinery: enum
    lookups are dict hits, empty JSON skips the parser, regions come from a cache.
    """
    limit = r["credit_limit"]
    rating = r["credit_rating"]
    gender = r["gender"]
    region = r["region_code"]
    mobile = r["mobile"]
    phone = r["phone"]
    email = r["email"]
    uscc = r["uscc"]
    custom = r["custom"]
    deleted = r["deleted_at"]
    birthday = r["birthday"]
    id_number = r["id_number"]
    id_type: IdType | None = _ID_TYPE.get(r["id_type"]) if id_number else None
    return Customer(
        id=r["id"],
        kind=_KIND[r["kind"]],
        name=r["name"],
        category=_CATEGORY[r["category"]],
        channel_type=_CHANNEL[r["channel_type"]],
        related_customer_ids=_ids(r["related_customer_ids"]),
        source=r["source"],
        industry=r["industry"],
        region=Region.from_code(region) if region else None,
        address=r["address"],
        tags=_ids(r["tags"]),
        credit_rating=_RATING[rating] if rating else None,
        settlement=_SETTLEMENT[r["settlement"]],
        credit_limit=Money(_dec(limit), r["credit_currency"]) if limit is not None else None,  # type: ignore[arg-type]
        owner_id=r["owner_id"],
        co_owner_ids=_ids(r["co_owner_ids"]),
        parent_id=r["parent_id"],
        uscc=USCC(uscc) if uscc else None,
        gender=_GENDER[gender] if gender else None,
        birthday=_date(birthday) if birthday is not None else None,
        id_number=IdNumber(id_number, id_type or IdType.RESIDENT) if id_number else None,
        id_type=id_type,
        mobile=Phone(mobile) if mobile else None,
        phone=Phone(phone, r["phone_ext"]) if phone else None,
        email=Email(email) if email else None,
        remarks=r["remarks"],
        custom={}
        if custom in _EMPTY_JSON or custom == {}
        else custom_from_plain(json_value(custom)),
        version=r["version"],
        created_at=_dt(r["created_at"]),
        updated_at=_dt(r["updated_at"]),
        created_by=r["created_by"],
        deleted_at=_dt(deleted) if deleted is not None else None,
        merged_into=r["merged_into"],
    )


def credentials_row(c: Credentials) -> dict[str, Any]:
    return {
        "user_id": c.user_id,
        "password_hash": c.password_hash,
        "failed_count": c.failed_count,
        "failed_on": c.failed_on,
        "locked_until": c.locked_until,
    }


def credentials_from_row(r: Mapping[Any, Any]) -> Credentials:
    return Credentials(
        user_id=r["user_id"],
        password_hash=r["password_hash"],
        failed_count=r["failed_count"],
        failed_on=r["failed_on"],
        locked_until=r["locked_until"],
    )


def audit_row(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at,
        "actor_id": e.actor_id,
        "entity_type": e.entity_type,
        "entity_id": e.entity_id,
        "action": e.action.value,
        "changes": {k: [to_plain(b), to_plain(a)] for k, (b, a) in e.changes.items()},
        "note": e.note,
    }


def audit_from_row(r: Mapping[Any, Any]) -> AuditEntry:
    return AuditEntry(
        id=r["id"],
        at=r["at"],
        actor_id=r["actor_id"],
        entity_type=r["entity_type"],
        entity_id=r["entity_id"],
        action=AuditAction(r["action"]),
        changes={k: (v[0], v[1]) for k, v in r["changes"].items()},
        note=r["note"],
    )


# -- records stored column for column (the queues' events, messages and jobs) ---------------
_FIELDS: dict[type, tuple[tuple[str, type[enum.Enum] | None], ...]] = {}


def _enum_fields(cls: type) -> tuple[tuple[str, type[enum.Enum] | None], ...]:
    """Each field's name, and its enum type if it holds one (worked out once per class)."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        kinds = [(f.name, plain_type(hints[f.name])) for f in attrs.fields(cls)]
        found = _FIELDS[cls] = tuple(
            (name, kind if issubclass(kind, enum.Enum) else None) for name, kind in kinds
        )
    return found


def flat_row(obj: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """An attrs record whose fields are its table's columns, as the row to write: enums by
    value, mappings as plain dicts (JSON columns), the rest as it is."""
    out: dict[str, Any] = {}
    for name, _ in _enum_fields(type(obj)):
        if name in skip:
            continue
        value = getattr(obj, name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return out


def from_flat_row(cls: type[T], row: Mapping[Any, Any]) -> T:
    """Inverse of :func:`flat_row` (columns the row lacks keep their defaults)."""
    values: dict[str, Any] = {}
    for name, kind in _enum_fields(cls):
        if name in row:
            value = row[name]
            values[name] = kind(value) if kind is not None and value is not None else value
    return cls(**values)
