"""Who is acting, and what their role lets them do."""

from __future__ import annotations

import enum
from typing import Final

import attrs

from crmkit.domain.user import SYSTEM_ACTOR_ID, Role, User
from crmkit.storage.ports import EVERYTHING, Scope


class Permission(enum.StrEnum):
    CUSTOMER_READ = "customer.read"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_WRITE = "customer.write"
    CUSTOMER_ASSIGN = "customer.assign"  # change owner / co-owners
    CUSTOMER_PURGE = "customer.purge"
    USER_MANAGE = "user.manage"
    AUDIT_READ_ALL = "audit.read_all"
    DEDUP_REVIEW = "dedup.review"  # scan for duplicates, merge, unmerge, mark distinct
    DEDUP_REBUILD = "dedup.rebuild"
    SHARING_DECIDE = "sharing.decide"  # grant or refuse co-ownership (within scope)
    IMPORT_REVERT = "import.revert"  # see every import job and revert one


PERMISSION_LABELS_ZH: Final = {
    Permission.CUSTOMER_READ: "查看客户",
    Permission.CUSTOMER_CREATE: "新建客户",
    Permission.CUSTOMER_WRITE: "修改客户",
    Permission.CUSTOMER_ASSIGN: "分配客户负责人",
    Permission.CUSTOMER_PURGE: "彻底删除回收站数据",
    Permission.USER_MANAGE: "管理用户",
    Permission.AUDIT_READ_ALL: "查看全部操作日志",
    Permission.DEDUP_REVIEW: "查重与合并",
    Permission.DEDUP_REBUILD: "重建查重索引",
    Permission.SHARING_DECIDE: "审批共享客户申请",
    Permission.IMPORT_REVERT: "撤销导入",
}

_SALES: Final = frozenset(
    {Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE, Permission.CUSTOMER_WRITE}
)
ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.ADMIN: frozenset(Permission),
    # Managers review duplicates and co-ownership requests among their team's customers.
    Role.MANAGER: _SALES
    | {Permission.CUSTOMER_ASSIGN, Permission.DEDUP_REVIEW, Permission.SHARING_DECIDE},
    Role.SALES: _SALES,
    # Finance and service staff look customers up for invoices and tickets but do not
    # edit customer master data.
    Role.FINANCE: frozenset({Permission.CUSTOMER_READ}),
    Role.SERVICE: frozenset({Permission.CUSTOMER_READ}),
}

# Roles whose data scope is limited to their own (and their subordinates') customers.
SCOPED_ROLES: Final = frozenset({Role.SALES, Role.MANAGER})


@attrs.frozen
class Actor:
    """The user (or the system) a unit of work runs as, with their resolved data scope."""

    id: str
    name: str
    role: Role | None
    scope: Scope

    @classmethod
    def system(cls) -> Actor:
        return cls(SYSTEM_ACTOR_ID, "system", None, EVERYTHING)

    @classmethod
    def for_user(cls, user: User, subordinate_ids: frozenset[str]) -> Actor:
        if user.role in SCOPED_ROLES:
            scope = Scope(frozenset({user.id}) | subordinate_ids)
        else:
            scope = EVERYTHING
        return cls(user.id, user.name, user.role, scope)

    @property
    def is_system(self) -> bool:
        return self.role is None

    def can(self, permission: Permission) -> bool:
        return self.is_system or permission in ROLE_PERMISSIONS[self.role]  # type: ignore[index]

    def may_own_for(self, user_id: str) -> bool:
        """May this actor make ``user_id`` the owner of a customer?"""
        if self.is_system or self.role is Role.ADMIN:
            return True
        return self.scope.owner_ids is not None and user_id in self.scope.owner_ids


SYSTEM: Final = Actor.system()
