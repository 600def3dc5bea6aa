"""The audit log in SQL: ``AuditRepository``, append-only."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from crmkit.domain.audit import AuditEntry
from crmkit.storage.ports import AuditQuery, Page
from crmkit.storage.sql import rows
from crmkit.storage.sql.common import insert_many, page
from crmkit.storage.sql.tables import audit_log

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork


class SqlAudit:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._conn = uow.conn

    def append(self, entry: AuditEntry) -> None:
        self.append_many([entry])

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            insert_many(self._conn, audit_log, [rows.audit_row(e) for e in entries])

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        stmt = select(audit_log).where(audit_log.c.entity_id == entity_id).order_by(audit_log.c.seq)
        return [rows.audit_from_row(r._mapping) for r in self._conn.execute(stmt)]

    def list(self, query: AuditQuery, *, after: str | None, limit: int) -> Page[AuditEntry]:
        a = audit_log.c
        stmt = select(audit_log)
        equals = (
            (a.entity_id, query.entity_id),
            (a.entity_type, query.entity_type),
            (a.actor_id, query.actor_id),
            (a.action, query.action.value if query.action else None),
        )
        stmt = stmt.where(*(col == v for col, v in equals if v is not None))
        if query.entity_ids is not None:
            stmt = stmt.where(a.entity_id.in_(query.entity_ids))
        if query.since is not None:
            stmt = stmt.where(a.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(a.at < query.until)
        return page(self._conn, stmt, a.seq, after, limit, True, rows.audit_from_row)
