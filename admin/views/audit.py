"""The operation log (audit), with filters (its rows: :mod:`admin.history`)."""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import query_args, user_names
from admin.history import AuditRow, history_rows
from admin.i18n import enum_label

ENTITY_TYPES = {
    "customer": _l("Customer"),
    "contact": _l("Contact"),
    "user": _l("User"),
    "product": _l("Product"),
    "product_category": _l("Product category"),
    "product_group": _l("Product group"),
}

# The screen (endpoint) that shows a record of each type: the log links to it.
ENTITY_SCREENS = {
    "customer": "customers",
    "contact": "contacts",
    "product": "products",
    "product_category": "product_categories",
    "product_group": "product_groups",
}


class AuditView(BaseView):
    """操作日志: the whole log, newest first (admins only; crmkit enforces it too)."""

    def is_accessible(self) -> bool:
        return context.has_role(crmkit.Role.ADMIN)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        args = request.args
        filters = {
            k: args[k]
            for k in ("entity_type", "entity_id", "record", "actor_id", "action", "since", "until")
            if args.get(k)
        }
        rows: list[AuditRow] = []
        next_after: str | None = None
        with context.work() as s:
            names = user_names(s)
            try:
                page = s.audit.list(
                    entity_type=filters.get("entity_type"),
                    entity_id=filters.get("entity_id"),
                    record=filters.get("record"),
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
            entity_screens=ENTITY_SCREENS,
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
