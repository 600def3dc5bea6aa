"""Reading the audit log."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.errors import FieldErrors, NotFound
from crmkit.storage.ports import AuditQuery, Page
from crmkit.workflows._common import page_limit
from crmkit.workflows.context import Permission
from crmkit.workflows.entity import entity_specs

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


class AuditService:
    """``session.audit``: the append-only operation log."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        """Every change to one record, oldest first, with actor and field diffs.

        Admins may read any record's history; others only that of records they may read
        (in their scope, deleted ones included) and their own account.

        Raises:
            NotFound: the record is unknown or outside the actor's scope.
        """
        s = self._s
        s.flush_audit()
        entries = s._uow.audit.history(entity_id)
        if s.actor.can(Permission.AUDIT_READ_ALL) or self._may_see(entity_id, entries):
            return entries
        raise NotFound("audit", entity_id)

    def list(
        self,
        *,
        entity_type: str | None = None,
        actor_id: str | None = None,
        action: AuditAction | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[AuditEntry]:
        """The operation log, newest first (admin only)."""
        s = self._s
        s.require(Permission.AUDIT_READ_ALL)
        action_value = None
        if action is not None:
            try:
                action_value = AuditAction(action)
            except ValueError:
                errors = FieldErrors()
                errors.add(
                    "action",
                    "invalid_choice",
                    action,
                    choices=", ".join(a.value for a in AuditAction),
                )
                errors.raise_if_any()
        query = AuditQuery(
            entity_type=entity_type,
            actor_id=actor_id,
            action=action_value,
            since=since,
            until=until,
        )
        limit = page_limit(limit, s.runtime.settings.max_page_size)
        s.flush_audit()
        return s._uow.audit.list(query, after=after, limit=limit)

    def _may_see(self, entity_id: str, entries: builtins.list[AuditEntry]) -> bool:
        s = self._s
        if entity_id == s.actor.id:
            return True
        scope = s.actor.scope
        kind = entries[0].entity_type if entries else None
        spec = entity_specs().get(kind) if kind else None
        if spec is not None:  # a kernel entity: its own read permission and scope rule
            return (
                s.actor.can(f"{spec.name}.read")
                and s._uow.repo(spec).get(entity_id, scope) is not None
            )
        if not s.actor.can(Permission.CUSTOMER_READ):
            return False
        if s._uow.customers.get(entity_id, scope) is not None:
            return True
        return s._uow.contacts.get(entity_id, scope) is not None
