"""Audit history as people read it: crmkit's own description of each entry (records and
people by name, field labels, values shown like the screens show them), laid out for the
log and the detail pages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

import attrs
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.i18n import current_lang, percent
from admin.printing import document_label

EMPTY = "∅"  # a value that was not there, before a create or after a clearing
# Fields kept for the record but read elsewhere: an opportunity's stage history is its
# stage changes, shown with ``stage`` itself; a quote's or an order's previous revision is
# in the revisions table of its page, an order's approval in its approval trail (crmkit's
# audit shows those references as ids).
UNSHOWN = frozenset({"stage_history", "previous_id", "approval_id"})
# An approval's own record: crmkit's audit gives its chain, decisions and decider as stored
# (reprs and ids); the order's page tells its approval trail in words, and the log row
# already says who decided (the actor) and what became of it (its status).
# An order's cost adjustments likewise: their total (``cost_adjustment``) is in the row,
# each one with its reason in the table on the order's page.
# An SFA plan's steps likewise: crmkit's audit gives them as reprs; the plan's page tells
# its steps in words.
UNSHOWN_OF = {
    "approval": frozenset({"steps", "decisions", "decider", "document_id", "document_type"}),
    "order": frozenset({"cost_adjustments"}),
    "sfa_plan": frozenset({"steps"}),
}
# Fields crmkit's audit names by their key, for want of a label of its own: (entity, field)
# → the label.
LABELS = {("sfa_plan", "enrolled"): _l("Customers enrolled")}
# References to users crmkit's audit gives as ids.
USERS = frozenset({"submitter_id"})
# References to quotes crmkit's audit gives as ids: shown by their number.
QUOTES = frozenset({"quote_id"})
# Rates crmkit's audit gives as fractions (``0.3217``), shown as the screens show them.
RATES = frozenset({"margin_rate"})


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
    user_names(s)
    lines = s.audit.describe(entries, lang=current_lang())
    quotes = quote_numbers(
        s, {v for line in lines for f, _l, *values in line.changes if f in QUOTES for v in values}
    )
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
                (
                    str(LABELS.get((line.entry.entity_type, field), label)),
                    shown(field, before, line, quotes),
                    shown(field, after, line, quotes),
                )
                for field, label, before, after in line.changes
                if field not in UNSHOWN
                and field not in UNSHOWN_OF.get(line.entry.entity_type, frozenset())
            ),
        )
        for line in lines
    ]


def quote_numbers(s: crmkit.Session, ids: Iterable[str | None]) -> dict[str, str]:
    """The numbers of the quotes ``ids`` the user may see."""
    found: dict[str, str] = {}
    for id in ids:
        if id and context.can("quote.read"):
            with contextlib.suppress(crmkit.NotFound):
                found[id] = document_label(s.quotes.get(id, include_deleted=True))
    return found


def shown(field: str, value: str | None, line: object, quotes: dict[str, str]) -> str:
    """A value of a change as the row shows it: an opportunity's stage by its label in
    the CRM's pipeline (crmkit's audit gives the stage's code), a rate as a percentage,
    a submitter by name, a quote by its number (``quotes``; one out of sight: a dash)."""
    if not value:
        return EMPTY
    entry = getattr(line, "entry", None)
    if field == "stage" and getattr(entry, "entity_type", "") == "opportunity":
        return context.crm().pipeline.label(value, current_lang())
    if field in USERS:
        return user_name(value)
    if field in QUOTES:
        return quotes.get(value, "—")
    if field in RATES:
        with contextlib.suppress(InvalidOperation):
            return percent(Decimal(value))
    return value
