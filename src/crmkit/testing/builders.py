"""Factories for valid domain objects, for tests of repositories and workflows.

Each call returns a new object with a unique UUID id and sensible defaults; pass keyword
overrides for what a test cares about::

    c = make_customer(owner_id=user.id, tags=("VIP",))
    p = make_contact(c.id, name="李四")
    store_it(next_version(c, name="新名称有限公司"))   # version 2 of the same customer

Timestamps are fixed, aware UTC times after :data:`BASE_TIME` that increase by one second
with every object built in this process, so objects built in order are also created in order
(what "newest first" lists rely on).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.contact import Contact, name_index
from crmkit.domain.customer import Customer, CustomerKind
from crmkit.domain.user import Role, User

BASE_TIME = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def new_id() -> str:
    """A fresh opaque id (a UUID4 string)."""
    return str(uuid.uuid4())


def make_customer(**overrides: Any) -> Customer:
    """A company customer named ``测试<n>号科技有限公司``, version 1, created just now."""
    n = _next()
    at = overrides.pop("created_at", BASE_TIME + timedelta(seconds=n))
    fields: dict[str, Any] = {
        "id": new_id(),
        "kind": CustomerKind.COMPANY,
        "name": f"测试{n}号科技有限公司",
        "created_at": at,
        "updated_at": at,
        "created_by": "builder",
    }
    fields.update(overrides)
    return Customer(**fields)


def make_contact(customer_id: str, **overrides: Any) -> Contact:
    """A contact of ``customer_id`` with its surname-index fields derived from ``name``."""
    n = _next()
    name = overrides.pop("name", f"张{'三四五六七八九'[n % 7]}")
    at = overrides.pop("created_at", BASE_TIME + timedelta(seconds=n))
    fields: dict[str, Any] = {
        "id": new_id(),
        "customer_id": customer_id,
        "name": name,
        "created_at": at,
        "updated_at": at,
        "created_by": "builder",
        **name_index(name),
    }
    fields.update(overrides)
    return Contact(**fields)


def make_user(**overrides: Any) -> User:
    """An active salesperson with a unique login ``user<n>``."""
    n = _next()
    at = overrides.pop("created_at", BASE_TIME + timedelta(seconds=n))
    fields: dict[str, Any] = {
        "id": new_id(),
        "name": "测试用户",
        "login": f"user{n}",
        "role": Role.SALES,
        "created_at": at,
        "updated_at": at,
        "created_by": "builder",
    }
    fields.update(overrides)
    return User(**fields)


def make_audit_entry(entity_id: str, **overrides: Any) -> AuditEntry:
    """An UPDATE entry about customer ``entity_id`` with a one-field change."""
    n = _next()
    fields: dict[str, Any] = {
        "id": new_id(),
        "at": BASE_TIME + timedelta(seconds=n),
        "actor_id": "builder",
        "entity_type": "customer",
        "entity_id": entity_id,
        "action": AuditAction.UPDATE,
        "changes": {"remarks": (None, f"note {n}")},
    }
    fields.update(overrides)
    return AuditEntry(**fields)


def next_version(obj: Any, **changes: Any) -> Any:
    """The object as its next stored version (version + 1) with ``changes`` applied."""
    return attrs.evolve(obj, version=obj.version + 1, **changes)


__all__ = [
    "BASE_TIME",
    "make_audit_entry",
    "make_contact",
    "make_customer",
    "make_user",
    "new_id",
    "next_version",
]
