"""Co-ownership requests in memory: ``CoOwnershipRepository``."""

from __future__ import annotations

from crmkit.domain.sharing import CoOwnershipRequest
from crmkit.storage.memory.tables import _page, _Versioned
from crmkit.storage.ports import Page, RequestQuery


class _MemoryRequests(_Versioned[CoOwnershipRequest]):
    entity = "co_ownership_request"

    def list(
        self, query: RequestQuery, *, after: str | None, limit: int
    ) -> Page[CoOwnershipRequest]:
        def ok(r: CoOwnershipRequest) -> bool:
            return (
                (query.status is None or r.status == query.status)
                and (query.customer_id is None or r.customer_id == query.customer_id)
                and (query.requester_id is None or r.requester_id == query.requester_id)
                and (query.owner_ids is None or r.owner_id in query.owner_ids)
            )

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=True)
