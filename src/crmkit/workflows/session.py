"""A session: one unit of work on behalf of one actor, with the services on it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.errors import DuplicateMatch, PermissionDenied
from crmkit.domain.events import DomainEvent
from crmkit.domain.intake import new_id as new_id  # re-exported: workflows import it from here
from crmkit.domain.user import User
from crmkit.storage.ports import UnitOfWork
from crmkit.workflows.context import PERMISSION_LABELS_ZH, Actor, Permission

if TYPE_CHECKING:
    from crmkit.workflows.audit import AuditService
    from crmkit.workflows.contacts import ContactService
    from crmkit.workflows.customers import CustomerService
    from crmkit.workflows.dedup import DedupIndex, DedupService
    from crmkit.workflows.imports import ImportService
    from crmkit.workflows.runtime import Runtime
    from crmkit.workflows.users import UserService


@attrs.frozen
class DuplicateWarning:
    """A write that went ahead although similar records exist (a *warn* duplicate rule).

    Attributes:
        entity: ``"customer"`` or ``"contact"``.
        entity_id: the record written.
        matches: the similar records, best first, disclosed as ``DuplicateError`` does.
    """

    entity: str
    entity_id: str
    matches: tuple[DuplicateMatch, ...]


class Session:
    """What ``crm.session(actor=...)`` yields. Every change made through its services is
    validated, permission-checked, audited and committed together when the ``with`` block
    ends (or rolled back if it raises)."""

    customers: CustomerService
    contacts: ContactService
    users: UserService
    audit: AuditService
    imports: ImportService
    dedup: DedupService
    dedup_index: DedupIndex

    def __init__(self, runtime: Runtime, uow: UnitOfWork, actor: Actor) -> None:
        from crmkit.workflows.audit import AuditService
        from crmkit.workflows.contacts import ContactService
        from crmkit.workflows.customers import CustomerService
        from crmkit.workflows.dedup import DedupIndex, DedupService
        from crmkit.workflows.imports import ImportService
        from crmkit.workflows.users import UserService

        self.runtime = runtime
        self.uow = uow
        self.actor = actor
        self.events: list[DomainEvent] = []
        self.warnings: list[DuplicateWarning] = []
        # Audit entries wait here and are written together (one multi-row INSERT) before
        # any audit read and at commit: a bulk import writes thousands.
        self._audit: list[AuditEntry] = []
        self._users: dict[str, User | None] = {}
        self._now: datetime | None = None
        self.customers = CustomerService(self)
        self.contacts = ContactService(self)
        self.users = UserService(self)
        self.audit = AuditService(self)
        self.imports = ImportService(self)
        self.dedup = DedupService(self)
        self.dedup_index = DedupIndex(self)

    def commit(self) -> None:
        """Make everything done so far durable now and go on in a new transaction.

        Events of the committed work reach subscribers at once. Long bulk jobs (imports)
        commit batch by batch this way, so that an interruption keeps what was done and
        other writers are not held up for the whole job.
        """
        self.flush()
        self.uow.commit()
        events, self.events = self.events, []
        self.runtime.bus.publish(events)

    def flush(self) -> None:
        """Finish deferred work before commit: re-index records whose contacts changed,
        write the pending audit entries."""
        self.dedup_index.flush()
        self.flush_audit()

    def flush_audit(self) -> None:
        """Write the audit entries recorded so far (before reading the audit log)."""
        if self._audit:
            entries, self._audit = self._audit, []
            self.uow.audit.append_many(entries)

    # -- users, read once per session -------------------------------------------------
    def user(self, id: str) -> User | None:
        """The user ``id`` (cached for the session: owners are looked up per row in bulk
        paths). User writes through ``session.users`` clear the cache."""
        if id not in self._users:
            self._users[id] = self.uow.users.get(id)
        return self._users[id]

    def forget_users(self) -> None:
        self._users.clear()

    # -- time ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """The clock's time, read once per call (timestamps in one write agree)."""
        return self.runtime.clock.now()

    def today(self) -> date:
        """Today's date in the CRM's business timezone."""
        return self.now().astimezone(ZoneInfo(self.runtime.settings.timezone)).date()

    # -- permissions --------------------------------------------------------------------
    def require(self, permission: Permission) -> None:
        if not self.actor.can(permission):
            raise PermissionDenied(
                self.actor.name, permission.value, PERMISSION_LABELS_ZH[permission]
            )

    # -- audit and events ---------------------------------------------------------------
    def record(
        self,
        entity_type: str,
        entity_id: str,
        action: AuditAction,
        changes: Mapping[str, tuple[Any, Any]] | None = None,
        *,
        at: datetime,
        note: str | None = None,
    ) -> None:
        self._audit.append(
            AuditEntry(
                id=new_id(),
                at=at,
                actor_id=self.actor.id,
                entity_type=entity_type,
                entity_id=entity_id,
                action=action,
                changes=dict(changes or {}),
                note=note,
            )
        )

    def publish(self, event: DomainEvent) -> None:
        """Queue an event; it reaches subscribers only if the session commits."""
        self.events.append(event)
