"""Roles (admins only): what each of crmkit's roles may do, whose customers it sees, and
how many users have it. Read-only: roles are fixed in crmkit, a user's role is set on the
user screen.

The table is crmkit's own (``crmkit.workflows.context``: ``ROLE_PERMISSIONS`` and
``SCOPED_ROLES``, the rules ``Session`` enforces), so this page cannot drift from them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import ServiceModelView
from admin.i18n import enum_label
from crmkit.workflows.context import ROLE_PERMISSIONS, SCOPED_ROLES, Permission

# The English labels of crmkit's permissions (crmkit has the Chinese ones); a permission
# added to crmkit without a label here shows its code.
PERMISSION_LABELS: dict[Permission, Any] = {
    Permission.CUSTOMER_READ: _l("View customers"),
    Permission.CUSTOMER_CREATE: _l("Create customers"),
    Permission.CUSTOMER_WRITE: _l("Edit customers"),
    Permission.CUSTOMER_ASSIGN: _l("Assign customers to salespeople"),
    Permission.CUSTOMER_PURGE: _l("Purge the recycle bin"),
    Permission.USER_MANAGE: _l("Manage users"),
    Permission.AUDIT_READ_ALL: _l("Read the whole operation log"),
    Permission.DEDUP_REVIEW: _l("Review and merge duplicates"),
    Permission.DEDUP_REBUILD: _l("Rebuild the duplicate index"),
    Permission.SHARING_DECIDE: _l("Decide co-ownership requests"),
    Permission.IMPORT_REVERT: _l("Revert imports"),
}


@attrs.frozen
class RoleRow:
    role: str
    label: str
    permissions: tuple[str, ...]
    scope: str
    users: int
    users_url: str | None


def permission_label(p: Permission) -> str:
    label = PERMISSION_LABELS.get(p)
    return str(label) if label is not None else p.value


def scope_label(role: crmkit.Role) -> str:
    """Whose customers the role sees (crmkit's data scope)."""
    if role in SCOPED_ROLES:
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
        order = list(Permission)
        roles = [
            RoleRow(
                role=role.value,
                label=enum_label(role),
                permissions=tuple(
                    permission_label(p)
                    for p in sorted(ROLE_PERMISSIONS.get(role, frozenset()), key=order.index)
                ),
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
