"""Co-ownership requests in SQL: ``CoOwnershipRepository``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from crmkit.domain.sharing import CoOwnershipRequest, RequestStatus
from crmkit.storage.ports import Page, RequestQuery
from crmkit.storage.sql.common import cas_update, page, raise_taken
from crmkit.storage.sql.tables import co_ownership_requests

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from crmkit.storage.sql.store import SqlUnitOfWork


def _request_row(r: CoOwnershipRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "requester_id": r.requester_id,
        "owner_id": r.owner_id,
        "note": r.note,
        "status": r.status.value,
        "created_at": r.created_at,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
        "version": r.version,
    }


def _request_from_row(r: Mapping[Any, Any]) -> CoOwnershipRequest:
    return CoOwnershipRequest(
        id=r["id"],
        customer_id=r["customer_id"],
        requester_id=r["requester_id"],
        owner_id=r["owner_id"],
        note=r["note"],
        status=RequestStatus(r["status"]),
        created_at=r["created_at"],
        decided_by=r["decided_by"],
        decided_at=r["decided_at"],
        decision_note=r["decision_note"],
        version=r["version"],
    )


class SqlRequests:
    """``CoOwnershipRepository`` on SQLite and PostgreSQL."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn: Connection = uow.conn

    def add(self, request: CoOwnershipRequest) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(co_ownership_requests).values(**_request_row(request)))
        except IntegrityError as exc:
            raise_taken(
                self._conn, co_ownership_requests, "co_ownership_request", [request.id], exc
            )

    def get(self, id: str) -> CoOwnershipRequest | None:
        row = self._conn.execute(
            select(co_ownership_requests).where(co_ownership_requests.c.id == id)
        ).first()
        return _request_from_row(row._mapping) if row else None

    def update(self, request: CoOwnershipRequest, expected_version: int) -> None:
        cas_update(
            self._uow,
            co_ownership_requests,
            "co_ownership_request",
            _request_row(request),
            expected_version,
        )

    def list(
        self, query: RequestQuery, *, after: str | None, limit: int
    ) -> Page[CoOwnershipRequest]:
        c = co_ownership_requests.c
        stmt = select(co_ownership_requests)
        if query.status is not None:
            stmt = stmt.where(c.status == query.status.value)
        if query.customer_id is not None:
            stmt = stmt.where(c.customer_id == query.customer_id)
        if query.requester_id is not None:
            stmt = stmt.where(c.requester_id == query.requester_id)
        if query.owner_ids is not None:
            stmt = stmt.where(c.owner_id.in_(sorted(query.owner_ids)))
        return page(self._conn, stmt, c.seq, after, limit, True, _request_from_row)
