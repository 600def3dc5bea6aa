"""Roles (admins only): what each of crmkit's roles may do, whose customers it sees, and
how many users have it. Read-only: roles are fixed in crmkit, a user's role is set on the
user screen.

The table is the CRM's own permission registry (``crm.permissions``, with its labels in
crmkit's message catalogue) and ``crmkit.SCOPED_ROLES``, the rules sessions enforce, so this
page cannot drift from them, and permissions an application defines or grants show too.
"""

from __future__ import annotations

from collections import Counter

import attrs
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import ServiceModelView
from admin.i18n import current_lang, enum_label


@attrs.frozen
class RoleRow:
    role: str
    label: str
    permissions: tuple[str, ...]
    scope: str
    users: int
    users_url: str | None


def scope_label(role: crmkit.Role) -> str:
    """Whose customers the role sees (crmkit's data scope)."""
    if role in crmkit.SCOPED_ROLES:
        return str(_l("Own customers, co-owned ones, and their team's (subordinates')"))
    return str(_l("All customers"))


def users_per_role(s: crmkit.Session) -> Counter[str]:
    """Active and inactive users (not deleted) by role."""
    counts: Counter[str] = Counter()
    after: str | None = None
    while True:
        page = s.users.list(after=after, limit=200)
        counts.update(u.role.value for u in page.items)
        if page.next_after is None:
            return counts
        after = page.next_after


class RolesView(BaseView):
    """角色: a read-only table of crmkit's roles."""

    def is_accessible(self) -> bool:
        return context.has_role(crmkit.Role.ADMIN)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        with context.work() as s:
            counts = users_per_role(s)
        registry = context.crm().permissions
        order = list(registry)
        lang = current_lang()
        roles = [
            RoleRow(
                role=role.value,
                label=enum_label(role),
                permissions=tuple(p.label(lang) for p in order if p.code in registry.granted(role)),
                scope=scope_label(role),
                users=counts.get(role.value, 0),
                users_url=self.users_url(role),
            )
            for role in crmkit.Role
        ]
        return self.render("crm/roles.html", roles=roles, total=len(order))

    def users_url(self, role: crmkit.Role) -> str | None:
        """The user list, filtered by role when the users screen offers that filter."""
        view = next((v for v in self.admin._views if v.endpoint == "users"), None)
        if not isinstance(view, ServiceModelView):
            return None
        if any(f.name == "role" for f in view.list_filters()):
            return url_for("users.index_view", role=role.value)
        return url_for("users.index_view")
