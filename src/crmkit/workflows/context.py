"""Who is acting, and what their role lets them do."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Iterator
from typing import Final

import attrs

from crmkit.domain.messages import PERMISSION_LABELS
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


PERMISSION_LABELS_ZH: Final = {p: PERMISSION_LABELS[p.value][1] for p in Permission}

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
"""The customer-side grants, as ``Permissions.default()`` starts them."""

ALL_ROLES: Final = frozenset(Role)
# The catalogue: everyone reads it (quotes pick from it), managers keep it, admins purge.
_CATALOGUE_GRANTS: Final[dict[str, frozenset[Role]]] = {
    "read": ALL_ROLES,
    "create": frozenset({Role.ADMIN, Role.MANAGER}),
    "write": frozenset({Role.ADMIN, Role.MANAGER}),
    "delete": frozenset({Role.ADMIN, Role.MANAGER}),
    "purge": frozenset({Role.ADMIN}),
}
ENTITY_ACTIONS: Final = ("read", "create", "write", "delete", "purge")


@attrs.frozen
class Capability:
    """One permission: its code (``"product.write"``) and its labels."""

    code: str
    label_en: str
    label_zh: str

    def label(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" else self.label_zh


class Permissions:
    """The permissions one CRM knows and which role holds which: a registry owned by the
    ``CRM`` instance (``crm.permissions``), so two CRMs in one process never share grants.

    Codes are ``<capability>.<action>``; an entity service checks
    ``<spec name>.read/create/write/delete/purge``. Applications add their own with
    :meth:`define` and change grants with :meth:`grant` / :meth:`revoke`.
    """

    def __init__(self) -> None:
        self._defined: dict[str, Capability] = {}
        self._grants: dict[Role, set[str]] = {role: set() for role in Role}
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> Permissions:
        """crmkit's own permissions with its default grants."""
        registry = cls()
        for permission in Permission:
            roles = [r for r, held in ROLE_PERMISSIONS.items() if permission in held]
            registry.define(permission.value, roles=roles)
        for entity in ("product", "product_category", "product_group"):
            for action in ENTITY_ACTIONS:
                grants = _CATALOGUE_GRANTS[action]
                if entity == "product_group" and action != "read":
                    grants = frozenset({Role.ADMIN})  # who sees which products: admins only
                registry.define(f"{entity}.{action}", roles=grants)
        registry.define("settings.write", roles=[Role.ADMIN])
        # Contacts: kept by whoever keeps customers (their scope is the customer's); they
        # are purged with their customer, under customer.purge.
        for action in ("read", "create", "write", "delete"):
            held = Permission.CUSTOMER_READ if action == "read" else Permission.CUSTOMER_WRITE
            roles = [r for r, grants in ROLE_PERMISSIONS.items() if held in grants]
            registry.define(f"contact.{action}", roles=roles)
        # The data dictionary: every form reads its choices; admins keep the lists.
        for action in ENTITY_ACTIONS:
            readers = frozenset(Role) if action == "read" else frozenset({Role.ADMIN})
            registry.define(f"dictionary_entry.{action}", roles=readers)
        # Opportunities: those who work customers work their deals (the scope is the
        # customer's); finance and service staff read them; admins purge.
        for action in ENTITY_ACTIONS:
            workers = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES})
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"opportunity.{action}", roles=special.get(action, workers))
        # Leads: sales staff work their own (owner scope); managers and admins hand them out.
        for action in ENTITY_ACTIONS:
            workers = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES})
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"lead.{action}", roles=special.get(action, workers))
        registry.define("lead.assign", roles=[Role.ADMIN, Role.MANAGER])
        # Quotes: whoever works opportunities quotes (the scope is the customer's).
        for action in ENTITY_ACTIONS:
            workers = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES})
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"quote.{action}", roles=special.get(action, workers))
        # Orders: sales staff write and submit them; finance reads them all, adjusts costs
        # (成本微调) and records deliveries with the salespeople.
        for action in ENTITY_ACTIONS:
            workers = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES})
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"order.{action}", roles=special.get(action, workers))
        registry.define("order.adjust_cost", roles=[Role.ADMIN, Role.MANAGER, Role.FINANCE])
        registry.define("order.deliver", roles=[Role.ADMIN, Role.MANAGER, Role.SALES, Role.FINANCE])
        registry.define("order.cancel", roles=[Role.ADMIN, Role.MANAGER])
        # Sales targets: managers set their team's, everyone reads theirs (owner scope).
        for action in ENTITY_ACTIONS:
            setters = frozenset({Role.ADMIN, Role.MANAGER})
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"sales_target.{action}", roles=special.get(action, setters))
        # Receivables: read in the customer's scope; made from plans by sales and finance.
        for action in ENTITY_ACTIONS:
            special = {
                "read": frozenset(Role),
                "create": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.FINANCE}),
            }
            registry.define(
                f"receivable.{action}", roles=special.get(action, {Role.ADMIN, Role.FINANCE})
            )
        # Money in: finance records payments, applies and reverses them, writes off small
        # remainders (抹零); everyone reads them in the customer's scope.
        registry.define("receivable.write_off", roles=[Role.ADMIN, Role.FINANCE])
        registry.define("receivable.reverse_write_off", roles=[Role.ADMIN, Role.FINANCE])
        for entity in ("payment", "write_off"):
            for action in ENTITY_ACTIONS:
                keepers = frozenset(Role) if action == "read" else {Role.ADMIN, Role.FINANCE}
                registry.define(f"{entity}.{action}", roles=keepers)
        registry.define("payment.reverse", roles=[Role.ADMIN, Role.FINANCE])
        # Follow-up: whoever works customers records activities (in the customer's scope);
        # everyone has tasks (their own, their team's, those they assigned).
        for action in ENTITY_ACTIONS:
            workers = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE})
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"activity.{action}", roles=special.get(action, workers))
            everyone = frozenset({Role.ADMIN}) if action == "purge" else frozenset(Role)
            registry.define(f"task.{action}", roles=everyone)
        # Messages and SFA (seed 004): whoever works customers texts them and enrols them in
        # plans; admins and managers keep the templates and the plans, send to groups and
        # decide about messages in doubt. The log is read in the customer's scope.
        workers = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE})
        keepers = frozenset({Role.ADMIN, Role.MANAGER})
        for action in ENTITY_ACTIONS:
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"message_template.{action}", roles=special.get(action, keepers))
            registry.define(f"sfa_plan.{action}", roles=special.get(action, keepers))
        registry.define("message.read", roles=frozenset(Role))
        registry.define("message.send", roles=workers)
        registry.define("message.group_send", roles=keepers)
        registry.define("message.resolve", roles=keepers)
        registry.define("message.receive", roles=keepers)
        registry.define("opt_out.read", roles=frozenset(Role))
        registry.define("opt_out.write", roles=workers)
        registry.define("sfa_enrolment.read", roles=frozenset(Role))
        registry.define("sfa_enrolment.create", roles=workers)
        registry.define("sfa_enrolment.write", roles=workers)
        registry.define("sfa_run.read", roles=frozenset(Role))
        # Service (seeds 002, 004): service staff work tickets, complaints, repairs and the
        # knowledge base; salespeople see and work their own customers' tickets (the scope
        # is the customer's, and service staff see every customer). Admins and managers keep
        # the SLA policies.
        service = frozenset({Role.ADMIN, Role.MANAGER, Role.SERVICE})
        for action in ENTITY_ACTIONS:
            special = {"read": frozenset(Role), "purge": frozenset({Role.ADMIN})}
            registry.define(f"ticket.{action}", roles=special.get(action, workers))
            registry.define(f"qa_record.{action}", roles=special.get(action, workers))
            registry.define(f"complaint.{action}", roles=special.get(action, service))
            registry.define(f"repair.{action}", roles=special.get(action, service))
            registry.define(f"kb_article.{action}", roles=special.get(action, service))
            registry.define(f"sla_policy.{action}", roles=special.get(action, keepers))
        registry.define("ticket.assign", roles=service)
        registry.define("repair.raise_receivable", roles=service | {Role.FINANCE})
        # Approvals: everyone reads their own and their inbox; deciding is checked per step.
        registry.define("approval.read", roles=frozenset(Role))
        registry.define("approval.decide", roles=frozenset(Role))
        return registry

    def define(
        self,
        code: str,
        *,
        label_en: str | None = None,
        label_zh: str | None = None,
        roles: Iterable[Role] = (),
    ) -> Capability:
        """Add (or relabel) a permission and grant it to ``roles``. Labels default to the
        message catalogue's (``crmkit.domain.messages.PERMISSION_LABELS``), else the code."""
        en, zh = PERMISSION_LABELS.get(code, (code, code))
        capability = Capability(code, label_en or en, label_zh or zh)
        with self._lock:
            self._defined[code] = capability
            for role in roles:
                self._grants[role].add(code)
        return capability

    def grant(self, role: Role, *codes: str) -> None:
        """Let ``role`` do ``codes`` (each must be defined)."""
        with self._lock:
            for code in codes:
                if code not in self._defined:
                    raise KeyError(f"unknown permission {code!r}")
                self._grants[role].add(code)

    def revoke(self, role: Role, *codes: str) -> None:
        with self._lock:
            self._grants[role].difference_update(codes)

    def granted(self, role: Role) -> frozenset[str]:
        """What ``role`` may do. Admins hold every permission there is."""
        with self._lock:
            if role is Role.ADMIN:
                return frozenset(self._defined)
            return frozenset(self._grants[role])

    def get(self, code: str) -> Capability:
        return self._defined.get(code) or Capability(code, code, code)

    def __iter__(self) -> Iterator[Capability]:
        with self._lock:
            return iter(list(self._defined.values()))

    def __contains__(self, code: object) -> bool:
        return code in self._defined


# Roles whose data scope is limited to their own (and their subordinates') customers.
SCOPED_ROLES: Final = frozenset({Role.SALES, Role.MANAGER})


@attrs.frozen
class Actor:
    """The user (or the system) a unit of work runs as, with their resolved data scope and
    permissions (``None``: the system, which may do everything)."""

    id: str
    name: str
    role: Role | None
    scope: Scope
    permissions: frozenset[str] | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(SYSTEM_ACTOR_ID, "system", None, EVERYTHING)

    @classmethod
    def for_user(
        cls,
        user: User,
        subordinate_ids: frozenset[str],
        permissions: Permissions | None = None,
    ) -> Actor:
        """The actor for ``user``: whose records they see (their own and their team's for
        scoped roles; every group they are a member of) and what ``permissions`` (default:
        crmkit's defaults) grants their role."""
        principals = (
            None
            if user.role is Role.ADMIN
            else frozenset({f"user:{user.id}", f"role:{user.role.value}"})
        )
        owners = frozenset({user.id}) | subordinate_ids if user.role in SCOPED_ROLES else None
        granted = (permissions or Permissions.default()).granted(user.role)
        return cls(user.id, user.name, user.role, Scope(owners, principals), granted)

    @property
    def is_system(self) -> bool:
        return self.role is None

    def can(self, permission: Permission | str) -> bool:
        return self.permissions is None or str(permission) in self.permissions

    def may_own_for(self, user_id: str) -> bool:
        """May this actor make ``user_id`` the owner of a customer?"""
        if self.is_system or self.role is Role.ADMIN:
            return True
        return self.scope.owner_ids is not None and user_id in self.scope.owner_ids


SYSTEM: Final = Actor.system()
