"""The audit log in memory: ``AuditRepository``, append-only."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crmkit.domain.audit import AuditEntry
from crmkit.storage.memory.tables import _page
from crmkit.storage.ports import AuditQuery, Page

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork


class _MemoryAudit:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def _all(self) -> builtins.list[AuditEntry]:
        return [*self._uow._store._tables.audit, *self._uow._audit]

    def append(self, entry: AuditEntry) -> None:
        self._uow._audit.append(entry)

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        self._uow._audit.extend(entries)

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        return [e for e in self._all() if e.entity_id == entity_id]

    def list(self, query: AuditQuery, *, after: str | None, limit: int) -> Page[AuditEntry]:
        def ok(e: AuditEntry) -> bool:
            return (
                (query.entity_id is None or e.entity_id == query.entity_id)
                and (query.entity_ids is None or e.entity_id in query.entity_ids)
                and (query.entity_type is None or e.entity_type == query.entity_type)
                and (query.actor_id is None or e.actor_id == query.actor_id)
                and (query.action is None or e.action == query.action)
                and (query.since is None or e.at >= query.since)
                and (query.until is None or e.at < query.until)
            )

        rows = [(i, e) for i, e in enumerate(self._all(), start=1) if ok(e)]
        return _page(rows, after, limit, descending=True)
