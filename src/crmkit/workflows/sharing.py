"""Co-ownership requests: ask to work a customer someone else owns; grant or refuse.

Reached through ``session.customers`` (``request_co_ownership``, ``grant_co_ownership``,
``refuse_co_ownership``, ``withdraw_co_ownership``, ``co_ownership_requests``).

Who decides: an admin, or a manager above the customer's owner (the owner's manager,
recursively). The owner alone cannot hand their customer to a colleague: that is the
anti-collision rule's point, and why the seeds route it through a superior.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, diff, snapshot
from crmkit.domain.errors import NotFound, PermissionDenied, WorkflowError
from crmkit.domain.sharing import CoOwnershipRequest, RequestStatus
from crmkit.domain.user import Role
from crmkit.storage.catalog import CO_OWNERSHIP_REQUESTS
from crmkit.storage.ports import EVERYTHING, EntityQuery, Page, Repository
from crmkit.storage.spec import Filter, Op
from crmkit.workflows._common import page_limit
from crmkit.workflows.context import PERMISSION_LABELS_ZH, Permission
from crmkit.workflows.session import new_id

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

ENTITY = "co_ownership_request"


def requests(s: Session) -> Repository[CoOwnershipRequest]:
    """The requests, on the kernel's generic repository."""
    return s._uow.repo(CO_OWNERSHIP_REQUESTS)


def request_query(
    *,
    status: RequestStatus | None = None,
    customer_id: str | None = None,
    requester_id: str | None = None,
    owner_ids: frozenset[str] | None = None,
) -> EntityQuery:
    """Requests matching every given condition (``owner_ids``: about customers these users
    owned when asked)."""
    given = {"status": status, "customer_id": customer_id, "requester_id": requester_id}
    filters = [Filter(name, Op.EQ, value) for name, value in given.items() if value is not None]
    if owner_ids is not None:
        filters.append(Filter("owner_id", Op.IN, tuple(sorted(owner_ids))))
    return EntityQuery(filters=tuple(filters))


def request(s: Session, customer_id: str, note: str | None) -> CoOwnershipRequest:
    s.require(Permission.CUSTOMER_CREATE)
    # The requester usually cannot read the customer (that is why they ask): look it up
    # outside their scope, and tell them no more than a duplicate match did.
    customer = s._uow.customers.get(customer_id)
    if customer is None or customer.is_deleted:
        raise NotFound("customer", customer_id)
    me = s.actor.id
    if customer.owner_id == me or me in customer.co_owner_ids:
        raise WorkflowError(
            "co_ownership_request",
            "owner",
            "request",
            state_zh="已是负责人",
            move_zh="申请共享",
            reason="you already work this customer",
            reason_zh="你已是该客户的负责人或共享负责人",
        )
    pending = requests(s).list(
        request_query(status=RequestStatus.PENDING, customer_id=customer_id, requester_id=me),
        EVERYTHING,
        after=None,
        limit=1,
    )
    if pending.items:
        return pending.items[0]
    now = s.now()
    req = CoOwnershipRequest(
        id=new_id(),
        customer_id=customer_id,
        requester_id=me,
        owner_id=customer.owner_id,
        note=(note or "").strip() or None,
        created_at=now,
    )
    requests(s).add(req)
    s.record(ENTITY, req.id, AuditAction.CREATE, snapshot(req), at=now)
    s.publish(
        ev.CoOwnershipRequested(
            actor_id=me,
            at=now,
            entity_id=req.id,
            customer_id=customer_id,
            owner_id=customer.owner_id,
        )
    )
    return req


def may_decide(s: Session, req: CoOwnershipRequest) -> bool:
    """An admin, or a manager whose team (recursively) includes the owner."""
    actor = s.actor
    if actor.is_system or actor.role is Role.ADMIN:
        return True
    if not actor.can(Permission.SHARING_DECIDE) or req.owner_id is None:
        return False
    owners = actor.scope.owner_ids
    return owners is not None and req.owner_id in owners and req.owner_id != actor.id


def _load(s: Session, request_id: str) -> CoOwnershipRequest:
    req = requests(s).get(request_id)
    if req is None:
        raise NotFound(ENTITY, request_id)
    return req


def decide(
    s: Session, request_id: str, status: RequestStatus, note: str | None
) -> CoOwnershipRequest:
    req = _load(s, request_id)
    if status is RequestStatus.WITHDRAWN:
        if req.requester_id != s.actor.id:
            raise NotFound(ENTITY, request_id)
    elif not may_decide(s, req):
        raise PermissionDenied(
            s.actor.name,
            Permission.SHARING_DECIDE.value,
            PERMISSION_LABELS_ZH[Permission.SHARING_DECIDE],
        )
    now = s.now()
    decided = req.decide(status, by=s.actor.id, at=now, note=(note or "").strip() or None)
    requests(s).update(decided, expected_version=req.version)
    s.record(ENTITY, req.id, AuditAction.UPDATE, diff(req, decided), at=now)
    if status is RequestStatus.GRANTED:
        customer = s._uow.customers.get(req.customer_id)
        if customer is None or customer.is_deleted:
            raise NotFound("customer", req.customer_id)
        if req.requester_id not in customer.co_owner_ids and req.requester_id != customer.owner_id:
            shared = attrs.evolve(
                customer,
                co_owner_ids=(*customer.co_owner_ids, req.requester_id),
                version=customer.version + 1,
                updated_at=now,
            )
            s._uow.customers.update(shared, expected_version=customer.version)
            s.record(
                "customer",
                customer.id,
                AuditAction.UPDATE,
                diff(customer, shared),
                at=now,
                note=f"co-ownership request {req.id} granted",
            )
            s.dedup_index.touch("customer", customer.id)
    s.publish(
        ev.CoOwnershipDecided(
            actor_id=s.actor.id,
            at=now,
            entity_id=req.id,
            customer_id=req.customer_id,
            requester_id=req.requester_id,
            status=status.value,
        )
    )
    return decided


def listing(
    s: Session,
    *,
    status: RequestStatus | str | None,
    customer_id: str | None,
    after: str | None,
    limit: int,
) -> Page[CoOwnershipRequest]:
    """Requests the actor may see: their own, and those they may decide."""
    s.require(Permission.CUSTOMER_READ)
    wanted = RequestStatus(status) if status is not None else None
    limit = page_limit(limit, s.runtime.settings.max_page_size)
    actor = s.actor
    if actor.is_system or actor.role is Role.ADMIN:
        query = request_query(status=wanted, customer_id=customer_id)
    elif actor.can(Permission.SHARING_DECIDE) and actor.scope.owner_ids is not None:
        # A manager: requests about their team's customers (their own requests included
        # when they asked about someone's customer inside the team is rare; list theirs via
        # ``mine`` below if needed).
        team = frozenset(actor.scope.owner_ids - {actor.id})
        query = request_query(status=wanted, customer_id=customer_id, owner_ids=team)
    else:
        query = request_query(status=wanted, customer_id=customer_id, requester_id=actor.id)
    return requests(s).list(query, EVERYTHING, after=after, limit=limit)


def mine(
    s: Session, *, status: RequestStatus | str | None, after: str | None, limit: int
) -> Page[CoOwnershipRequest]:
    s.require(Permission.CUSTOMER_READ)
    wanted = RequestStatus(status) if status is not None else None
    limit = page_limit(limit, s.runtime.settings.max_page_size)
    return requests(s).list(
        request_query(status=wanted, requester_id=s.actor.id), EVERYTHING, after=after, limit=limit
    )
