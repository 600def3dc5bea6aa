"""Co-ownership requests: how a salesperson joins a customer someone else works.

Anti-collision (防撞单) stops a second salesperson from creating a customer that another
works. Instead they ask to co-own it; an admin, or a manager above the owner, grants the
request (the requester becomes a co-owner and sees the customer) or refuses it. Either way
the request is closed and the decision audited.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Final

import attrs

from crmkit.domain.states import StateMachine


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"

    @property
    def label_zh(self) -> str:
        return STATUS_LABELS_ZH[self]


STATUS_LABELS_ZH: Final = MappingProxyType(
    {
        RequestStatus.PENDING: "待审批",
        RequestStatus.GRANTED: "已同意",
        RequestStatus.REFUSED: "已拒绝",
        RequestStatus.WITHDRAWN: "已撤回",
    }
)

# Only a pending request moves, and only once.
REQUEST_TRANSITIONS: Final[Mapping[RequestStatus, frozenset[RequestStatus]]] = MappingProxyType(
    {
        RequestStatus.PENDING: frozenset(
            {RequestStatus.GRANTED, RequestStatus.REFUSED, RequestStatus.WITHDRAWN}
        ),
        RequestStatus.GRANTED: frozenset(),
        RequestStatus.REFUSED: frozenset(),
        RequestStatus.WITHDRAWN: frozenset(),
    }
)


REQUEST_MOVES: Final[StateMachine[RequestStatus]] = StateMachine(
    "co_ownership_request", REQUEST_TRANSITIONS, STATUS_LABELS_ZH
)


@attrs.frozen(kw_only=True)
class CoOwnershipRequest:
    """A salesperson's request to co-own a customer.

    Attributes:
        customer_id: the customer asked for.
        requester_id: who asks.
        owner_id: the customer's owner when the request was made (decides who may grant).
        note: the requester's reason.
        status: pending until decided.
        decided_by / decided_at / decision_note: the decision, once made.
    """

    id: str
    customer_id: str
    requester_id: str
    owner_id: str | None
    note: str | None = None
    status: RequestStatus = RequestStatus.PENDING
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    version: int = 1

    def decide(
        self, status: RequestStatus, *, by: str, at: datetime, note: str | None
    ) -> CoOwnershipRequest:
        """This request moved to ``status``.

        Raises:
            WorkflowError: the request is no longer pending.
        """
        REQUEST_MOVES.check(self.status, status)
        return attrs.evolve(
            self,
            status=status,
            decided_by=by,
            decided_at=at,
            decision_note=note,
            version=self.version + 1,
        )
