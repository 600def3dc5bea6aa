"""The operation log (audit), with filters; and audit rows for detail pages."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import attrs
from flask import flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import query_args, user_name, user_names
from admin.i18n import FIELD_LABELS, enum_label, local_time

ENTITY_TYPES = {"customer": _l("Customer"), "contact": _l("Contact"), "user": _l("User")}


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


def _plain(field: str, value: Any) -> str:
    """A stored before/after value as text; user ids become names, enums their labels."""
    if value is None or value == [] or value == "":
        return "∅"
    if field in {"owner_id", "manager_id", "created_by"}:
        return user_name(str(value))
    if field == "co_owner_ids" and isinstance(value, list):
        return ", ".join(user_name(str(v)) for v in value)
    if isinstance(value, str):
        return enum_label(value) if field in ENUM_FIELDS else value
    return json.dumps(value, ensure_ascii=False, default=str)


ENUM_FIELDS = frozenset({"kind", "category", "channel_type", "settlement", "role", "gender"})


def history_rows(s: crmkit.Session, entries: Iterable[crmkit.AuditEntry]) -> list[AuditRow]:
    """Audit entries with actor names and field diffs as text (escaped by templates)."""
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
                (str(FIELD_LABELS.get(field, field)), _plain(field, before), _plain(field, after))
                for field, (before, after) in e.changes.items()
            ),
        )
        for e in entries
    ]


class AuditView(BaseView):
    """操作日志: the whole log, newest first (admins only; crmkit enforces it too)."""

    def is_accessible(self) -> bool:
        return context.has_role(crmkit.Role.ADMIN)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        args = request.args
        filters = {
            k: args[k]
            for k in ("entity_type", "actor_id", "action", "since", "until")
            if args.get(k)
        }
        rows: list[AuditRow] = []
        next_after: str | None = None
        with context.work() as s:
            names = user_names(s)
            try:
                page = s.audit.list(
                    entity_type=filters.get("entity_type"),
                    actor_id=filters.get("actor_id"),
                    action=filters.get("action"),
                    since=_instant(filters.get("since")),
                    until=_instant(filters.get("until")),
                    after=args.get("after") or None,
                    limit=50,
                )
            except (crmkit.ValidationError, ValueError) as exc:
                flash(str(exc), "error")
            else:
                rows = history_rows(s, page.items)
                next_after = page.next_after
        return self.render(
            "crm/audit.html",
            rows=rows,
            filters=filters,
            entity_types=ENTITY_TYPES,
            actions=[(a.value, enum_label(a)) for a in crmkit.AuditAction],
            users=sorted(names.items(), key=lambda kv: kv[1]),
            next_url=url_for(".index", after=next_after, **query_args(filters))
            if next_after
            else None,
            first_url=url_for(".index", **query_args(filters)) if args.get("after") else None,
        )


def _instant(text: str | None) -> Any:
    """A date typed in a filter box as the start of that day, Beijing time."""
    if not text:
        return None
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    day = date.fromisoformat(text.strip())  # ValueError → shown as a filter error
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("Asia/Shanghai"))
