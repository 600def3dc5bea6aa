"""Domain events, published to in-process subscribers after the unit of work commits."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Something that happened. ``actor_id`` is who did it; ``at`` is when (the clock's time)."""

    actor_id: str
    at: datetime


@attrs.frozen(kw_only=True)
class EntityEvent(DomainEvent):
    entity_id: str


@attrs.frozen(kw_only=True)
class CustomerCreated(EntityEvent):
    owner_id: str | None


@attrs.frozen(kw_only=True)
class CustomerUpdated(EntityEvent):
    fields: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CustomerCategoryChanged(EntityEvent):
    before: str
    after: str


@attrs.frozen(kw_only=True)
class CustomerDeleted(EntityEvent):
    pass


@attrs.frozen(kw_only=True)
class CustomerRestored(EntityEvent):
    pass


@attrs.frozen(kw_only=True)
class CustomersPurged(DomainEvent):
    entity_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ContactCreated(EntityEvent):
    customer_id: str


@attrs.frozen(kw_only=True)
class ContactUpdated(EntityEvent):
    fields: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ContactDeleted(EntityEvent):
    pass


@attrs.frozen(kw_only=True)
class ContactRestored(EntityEvent):
    pass


@attrs.frozen(kw_only=True)
class UserCreated(EntityEvent):
    login: str


@attrs.frozen(kw_only=True)
class UserUpdated(EntityEvent):
    fields: tuple[str, ...]


@attrs.frozen(kw_only=True)
class UserLocked(EntityEvent):
    """Too many failed logins locked the account: until an admin unlocks it, or (the last
    active admin) until ``until``."""

    until: datetime | None = None


@attrs.frozen(kw_only=True)
class CoOwnershipRequested(EntityEvent):
    """``entity_id`` is the request; the customer's owner may want to hear of it."""

    customer_id: str
    owner_id: str | None


@attrs.frozen(kw_only=True)
class CoOwnershipDecided(EntityEvent):
    customer_id: str
    requester_id: str
    status: str


@attrs.frozen(kw_only=True)
class RecordsMerged(EntityEvent):
    """``entity_id`` is the merge (for ``unmerge``); ``kind`` is customer or contact."""

    kind: str
    winner_id: str
    loser_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class RecordsUnmerged(EntityEvent):
    kind: str
    winner_id: str
    loser_ids: tuple[str, ...]


# -- any entity on the kernel (products, and the documents to come) ---------------------------
@attrs.frozen(kw_only=True)
class RecordCreated(EntityEvent):
    """A kernel entity was created; ``entity_type`` is its spec's name (``"product"``)."""

    entity_type: str


@attrs.frozen(kw_only=True)
class RecordUpdated(EntityEvent):
    entity_type: str
    fields: tuple[str, ...]


@attrs.frozen(kw_only=True)
class RecordDeleted(EntityEvent):
    entity_type: str


@attrs.frozen(kw_only=True)
class RecordRestored(EntityEvent):
    entity_type: str


@attrs.frozen(kw_only=True)
class RecordsPurged(DomainEvent):
    entity_type: str
    entity_ids: tuple[str, ...]


# -- opportunities (销售机会) ---------------------------------------------------------------
@attrs.frozen(kw_only=True)
class OpportunityWon(EntityEvent):
    """An opportunity was won (besides the ``RecordUpdated`` every change publishes)."""

    customer_id: str
    owner_id: str


@attrs.frozen(kw_only=True)
class OpportunityLost(EntityEvent):
    customer_id: str
    owner_id: str
    reason: str


# -- orders and approvals (销售订单, 审批) ------------------------------------------------------
@attrs.frozen(kw_only=True)
class ApprovalSubmitted(EntityEvent):
    """A document revision was submitted for approval (``entity_id``: the approval)."""

    document_type: str
    document_id: str
    decider: str | None


@attrs.frozen(kw_only=True)
class ApprovalDecided(EntityEvent):
    """A step of an approval was decided (``status``: where the approval stands now)."""

    document_type: str
    document_id: str
    decision: str
    status: str
    decider: str | None


@attrs.frozen(kw_only=True)
class OrderApproved(EntityEvent):
    """An order revision's approval completed: it is in force and locked."""

    customer_id: str
    owner_id: str
    gross: str


@attrs.frozen(kw_only=True)
class OrderDelivered(EntityEvent):
    """A delivery of an order was recorded (``delivery``: its number)."""

    customer_id: str
    delivery: int
    freight: str


# -- service (工单) -------------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class TicketResolved(EntityEvent):
    """A ticket was resolved (``breached``: a target was missed on the way)."""

    customer_id: str
    assignee_id: str | None
    breached: bool


@attrs.frozen(kw_only=True)
class TicketBreached(EntityEvent):
    """A ticket missed a target (``target``: ``response`` or ``resolution``) and was
    escalated to ``escalated_to`` (None: nobody above the assignee)."""

    customer_id: str
    assignee_id: str | None
    target: str
    escalated_to: str | None
