"""Audit entries: who changed what, when, field by field. Append-only."""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from crmkit.domain.converter import to_plain


class AuditAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESTORE = "restore"
    PURGE = "purge"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCK = "lock"
    UNLOCK = "unlock"
    PASSWORD = "password"
    MERGE = "merge"
    UNMERGE = "unmerge"
    REVERT = "revert"
    LOOKUP = "lookup"  # a search that discloses records beyond the actor's scope


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One mutation. ``changes`` maps a field to ``[before, after]`` in JSON-ready form."""

    id: str
    at: datetime
    actor_id: str
    entity_type: str
    entity_id: str
    action: AuditAction
    changes: Mapping[str, tuple[Any, Any]] = attrs.field(factory=dict)
    note: str | None = None


# Bookkeeping fields that change on every write and would only add noise to a diff.
_NOISE = frozenset({"id", "version", "updated_at", "created_at", "created_by"})


def diff(
    before: Any, after: Any, fields: Iterable[str] | None = None
) -> dict[str, tuple[Any, Any]]:
    """Field-level differences between two versions of an attrs entity."""
    names = fields if fields is not None else [a.name for a in attrs.fields(type(after))]
    out: dict[str, tuple[Any, Any]] = {}
    for name in names:
        if name in _NOISE:
            continue
        old = getattr(before, name) if before is not None else None
        new = getattr(after, name) if after is not None else None
        if old != new:
            out[name] = (to_plain(old), to_plain(new))
    return out


def snapshot(entity: Any) -> dict[str, tuple[Any, Any]]:
    """All non-empty fields as a creation diff (``[None, value]``)."""
    out: dict[str, tuple[Any, Any]] = {}
    cls: Any = type(entity)
    for name in _field_names(cls):
        value = getattr(entity, name)
        # Empty values are skipped before conversion: most fields of a new record are empty.
        if value is None or value == "" or (isinstance(value, tuple | list | dict) and not value):
            continue
        plain = to_plain(value)
        if plain not in ([], {}, ""):
            out[name] = (None, plain)
    return out


@functools.cache
def _field_names(cls: Any) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(cls) if a.name not in _NOISE)


def changed_fields(changes: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(changes)
