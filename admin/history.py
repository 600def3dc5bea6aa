"""Audit history as people read it: who changed what, with values shown like the screens
show them (names for ids, labels for codes, money as money)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import attrs

import crmkit
from admin.base import user_name, user_names
from admin.i18n import FIELD_LABELS, enum_label, local_time, money, show


@attrs.frozen
class AuditRow:
    """One audit entry in the words a person reads."""

    at: str
    actor: str
    action: str
    note: str | None
    entity_type: str
    entity_id: str
    changes: tuple[tuple[str, str, str], ...]


def plain_value(field: str, value: Any) -> str:
    """A stored before/after value as text; user ids become names, enums their labels,
    amounts money as people write it."""
    if value is None or value == [] or value == "":
        return "∅"
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        try:
            return money(crmkit.Money(Decimal(str(value["amount"])), str(value["currency"])))
        except (ArithmeticError, ValueError):
            pass  # not an amount after all: shown as stored
    if isinstance(value, bool):
        return show(value)
    if field in {"owner_id", "manager_id", "created_by"}:
        return user_name(str(value))
    if field == "co_owner_ids" and isinstance(value, list):
        return ", ".join(user_name(str(v)) for v in value)
    if isinstance(value, str):
        return enum_label(value) if field in ENUM_FIELDS else value
    return json.dumps(value, ensure_ascii=False, default=str)


ENUM_FIELDS = frozenset({"kind", "category", "channel_type", "settlement", "role", "gender"})


def history_rows(
    s: crmkit.Session,
    entries: Iterable[crmkit.AuditEntry],
    value: Callable[[str, Any], str] = plain_value,
    label: Callable[[str], Any] = lambda field: FIELD_LABELS.get(field, field),
) -> list[AuditRow]:
    """Audit entries with actor names and field diffs as text (escaped by templates);
    ``value`` and ``label`` say how a screen shows its fields (ids as names …)."""
    user_names(s)
    return [
        AuditRow(
            at=local_time(e.at),
            actor="system" if e.actor_id == crmkit.SYSTEM.id else user_name(e.actor_id),
            action=enum_label(e.action),
            note=e.note,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            changes=tuple(
                (str(label(field)), value(field, before), value(field, after))
                for field, (before, after) in e.changes.items()
            ),
        )
        for e in entries
    ]
