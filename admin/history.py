"""Audit history as people read it: crmkit's own description of each entry (records and
people by name, field labels, values shown like the screens show them), laid out for the
log and the detail pages."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

import crmkit
from admin.i18n import current_lang

EMPTY = "∅"  # a value that was not there, before a create or after a clearing
# Fields kept for the record but read elsewhere: an opportunity's stage history is its
# stage changes, shown with ``stage`` itself.
UNSHOWN = frozenset({"stage_history"})


@attrs.frozen
class AuditRow:
    """One audit entry in the words a person reads."""

    at: str
    actor: str
    action: str
    note: str | None
    entity_type: str
    entity_id: str
    entity: str  # what the record is (客户, 产品 …)
    record: str  # the record by its name
    changes: tuple[tuple[str, str, str], ...]  # (field label, before, after)


def history_rows(s: crmkit.Session, entries: Iterable[crmkit.AuditEntry]) -> list[AuditRow]:
    """Audit entries as rows (escaped by the templates), through ``s.audit.describe``."""
    return [
        AuditRow(
            at=line.at,
            actor=line.actor,
            action=line.action,
            note=line.note,
            entity_type=line.entry.entity_type,
            entity_id=line.entry.entity_id,
            entity=line.entity,
            record=line.record,
            changes=tuple(
                (label, before or EMPTY, after or EMPTY)
                for field, label, before, after in line.changes
                if field not in UNSHOWN
            ),
        )
        for line in s.audit.describe(entries, lang=current_lang())
    ]
