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

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


class AuditService:
    """``session.audit``: the append-only operation log."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        """Every change to one record, oldest first, with actor and field diffs.

        Admins may read any record's history; others only that of records in their scope
        (deleted ones included) and their own account.

        Raises:
            NotFound: the record is unknown or outside the actor's scope.
        """
        s = self._s
        if not s.actor.can(Permission.AUDIT_READ_ALL) and not self._may_see(entity_id):
            raise NotFound("audit", entity_id)
        s.flush_audit()
        return s._uow.audit.history(entity_id)

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

    def _may_see(self, entity_id: str) -> bool:
        s = self._s
        if entity_id == s.actor.id:
            return True
        scope = s.actor.scope
        if not s.actor.can(Permission.CUSTOMER_READ):
            return False
        if s._uow.customers.get(entity_id, scope) is not None:
            return True
        return s._uow.contacts.get(entity_id, scope) is not None
