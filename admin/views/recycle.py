"""The recycle bin: deleted records, and restoring them.

Each kind's bin opens to whoever holds the crmkit permission that deletes (and so restores)
that kind, and shows what crmkit lets them see: a salesperson finds the customers and
contacts of their own scope that were deleted, a manager their team's too, an admin
everything. Purging stays with crmkit's ``customer.purge`` / ``<entity>.purge`` (admins).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.i18n import enum_label, local_time
from admin.views.customers import customer_names

KINDS: dict[str, Any] = {
    "customers": _l("Customers"),
    "contacts": _l("Contacts"),
    "users": _l("Users"),
    "products": _l("Products"),
    "product_categories": _l("Product categories"),
    "product_groups": _l("Product groups"),
    "activities": _l("Activities"),
    "tasks": _l("Tasks"),
}
# Who opens each bin: the permission crmkit checks to delete and to restore that kind
# (customers: ``customer.write``; users: ``user.manage``; a kernel entity, contacts
# included: ``<entity>.delete``, so a manager who deletes a product can bring it back).
RESTORE_PERMISSIONS: dict[str, str] = {
    "customers": "customer.write",
    "contacts": "contact.delete",
    "users": "user.manage",
    "products": "product.delete",
    "product_categories": "product_category.delete",
    "product_groups": "product_group.delete",
    "activities": "activity.delete",
    "tasks": "task.delete",
}
DETAIL_HEADERS: dict[str, Any] = {
    "customers": _l("Owner"),
    "contacts": _l("Customer"),
    "users": _l("Login"),
    "products": _l("Code"),
    "activities": _l("Salesperson"),
    "tasks": _l("Assignee"),
}


def open_kinds() -> dict[str, Any]:
    """The bins the logged-in user may open."""
    return {k: v for k, v in KINDS.items() if context.can(RESTORE_PERMISSIONS[k])}


class RecycleBinView(BaseView):
    """回收站: what was deleted, one kind at a time, in the user's data scope; restore puts
    it back."""

    def is_accessible(self) -> bool:
        return bool(open_kinds())

    @expose("/")
    def index(self) -> ResponseReturnValue:
        kinds = open_kinds()
        kind = request.args.get("kind") or next(iter(kinds))
        if kind not in kinds:
            abort(404)
        after = request.args.get("after") or None
        rows: list[tuple[str, str, str, str]] = []  # id, name, detail, deleted at
        with context.work() as s:
            user_names(s)
            if kind == "customers":
                page: Any = s.customers.recycle_bin(after=after, limit=50)
                rows = [(c.id, c.name, user_name(c.owner_id), _when(c)) for c in page.items]
            elif kind == "contacts":
                page = s.contacts.list(deleted="only", after=after, limit=50)
                names = customer_names(s, [c.customer_id for c in page.items])
                rows = [(c.id, c.name, names.get(c.customer_id, ""), _when(c)) for c in page.items]
            elif kind == "users":
                page = s.users.list(deleted="only", after=after, limit=50)
                rows = [(u.id, u.name, u.login, _when(u)) for u in page.items]
            elif kind == "activities":  # named by customer, kind and time
                page = s.activities.list(deleted="only", after=after, limit=50)
                names = customer_names(s, [a.customer_id for a in page.items])
                rows = [
                    (a.id, f"{names.get(a.customer_id, '')} {record_name(a)}".strip(),
                     user_name(a.owner_id), _when(a))
                    for a in page.items
                ]  # fmt: skip
            elif kind == "tasks":
                page = s.tasks.list(deleted="only", after=after, limit=50)
                rows = [(t.id, t.title, user_name(t.owner_id), _when(t)) for t in page.items]
            else:  # a kernel entity: every one lists its bin the same way
                page = context.service(s, kind).list(deleted="only", after=after, limit=50)
                rows = [
                    (r.id, r.name, getattr(r, "code", None) or "", _when(r)) for r in page.items
                ]
        return self.render(
            "crm/recycle.html",
            kind=kind,
            kinds=kinds,
            rows=rows,
            detail_header=DETAIL_HEADERS.get(kind, ""),
            next_url=url_for(".index", kind=kind, after=page.next_after)
            if page.next_after
            else None,
        )

    @expose("/restore/", methods=("POST",))
    def restore(self) -> ResponseReturnValue:
        kind = request.form.get("kind", "")
        if kind not in open_kinds():
            abort(404)
        try:
            with context.work() as s:
                restored = context.service(s, kind).restore(request.form.get("id", ""))
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        else:
            flash(_("“%(name)s” is restored.", name=record_name(restored)), "success")
        return redirect(url_for(".index", kind=kind))


def record_name(record: Any) -> str:
    """How a restored record is named: its name, a task's title, an activity's kind and
    time."""
    if isinstance(record, crmkit.Activity):
        return f"{enum_label(record.kind)} {local_time(record.at)}"
    return str(getattr(record, "name", None) or getattr(record, "title", None) or "")


def _when(record: Any) -> str:
    return local_time(record.deleted_at) if record.deleted_at else ""
