"""Approval chains (审批): which steps a document needs, who may decide each, and what an
approval does to the document it guards.

A policy maps a document type and amount to a chain of steps (seed 002 consignment: store
manager → finance; the issue's example: orders up to ¥50,000 need the submitter's manager,
above that the manager and then finance). Each step is decided by a user holding its role,
or by the submitter's manager. Approve moves to the next step, the last approval approves
the document, a rejection sends it back for revision. An approved document is locked
(审核通过单据锁定，防删改): a change is a new revision with its own approval.

Pure: the workflows store approvals on the kernel and hand these functions the actor.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Final

import attrs

from crmkit.domain.errors import PermissionDenied, WorkflowError
from crmkit.domain.states import StateMachine
from crmkit.domain.user import Role
from crmkit.domain.values import Money


class ApprovalStatus(enum.StrEnum):
    """Where a document stands in its approval."""

    DRAFT = "draft"  # being written or revised: editable
    PENDING = "pending"  # submitted, a step awaits its decision: locked
    APPROVED = "approved"  # every step approved: locked for good (changes: a new revision)
    REJECTED = "rejected"  # a step refused: back to its author, editable


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


DOCUMENT_STATES: Final[StateMachine[ApprovalStatus]] = StateMachine(
    "approval",
    {
        ApprovalStatus.DRAFT: frozenset({ApprovalStatus.PENDING, ApprovalStatus.APPROVED}),
        ApprovalStatus.PENDING: frozenset({ApprovalStatus.APPROVED, ApprovalStatus.REJECTED}),
        ApprovalStatus.REJECTED: frozenset(
            {ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.DRAFT}
        ),
    },
    labels_zh={
        ApprovalStatus.DRAFT: "草稿",
        ApprovalStatus.PENDING: "审批中",
        ApprovalStatus.APPROVED: "已审批",
        ApprovalStatus.REJECTED: "已驳回",
    },
)

EDITABLE: Final = frozenset({ApprovalStatus.DRAFT, ApprovalStatus.REJECTED})


@attrs.frozen
class Step:
    """One step of a chain: decided by a holder of ``role``, or (``manager``) by the
    submitter's manager."""

    label: str
    role: Role | None = None
    manager: bool = False

    def __attrs_post_init__(self) -> None:
        if (self.role is None) == (not self.manager):
            raise ValueError("a step names a role or the submitter's manager, not both")


@attrs.frozen
class ChainRule:
    """The chain for one document type from ``above`` (exclusive; None: from zero) up to
    ``up_to`` (inclusive; None: no ceiling)."""

    document: str
    steps: tuple[Step, ...]
    above: Decimal | None = None
    up_to: Decimal | None = None

    def applies(self, document: str, amount: Money) -> bool:
        value = amount.amount
        return (
            document == self.document
            and (self.above is None or value > self.above)
            and (self.up_to is None or value <= self.up_to)
        )


MANAGER: Final = Step("上级审批", manager=True)
FINANCE: Final = Step("财务审批", role=Role.FINANCE)


@attrs.frozen
class ApprovalPolicy:
    """Chains per document type and amount; the first rule that applies wins. A document
    no rule covers needs no approval (it is approved when submitted)."""

    rules: tuple[ChainRule, ...] = ()

    @classmethod
    def default(cls) -> ApprovalPolicy:
        """Orders up to ¥50,000: the submitter's manager; above: the manager, then finance.
        Quotes and lead conversions need none until an application says so."""
        limit = Decimal("50000")
        return cls(
            (
                ChainRule("order", (MANAGER,), up_to=limit),
                ChainRule("order", (MANAGER, FINANCE), above=limit),
            )
        )

    def chain(self, document: str, amount: Money) -> tuple[Step, ...]:
        for rule in self.rules:
            if rule.applies(document, amount):
                return rule.steps
        return ()


@attrs.frozen
class StepDecision:
    """A decided step: by whom, how, when, why."""

    decided_by: str
    decision: Decision
    at: datetime
    comment: str | None = None


@attrs.frozen
class Approver:
    """Who is deciding: their id and role, and whether they manage the submitter (directly
    or higher up)."""

    id: str
    role: Role
    manages_submitter: bool = False


@attrs.frozen(kw_only=True)
class Approval:
    """One document revision's way through its chain.

    ``decisions`` holds the decided steps in order; the step awaiting a decision is
    ``steps[len(decisions)]`` while pending.
    """

    document_type: str
    document_id: str
    revision: int
    submitter_id: str
    amount: Money
    steps: tuple[Step, ...]
    decisions: tuple[StepDecision, ...] = ()
    status: ApprovalStatus = ApprovalStatus.PENDING

    @property
    def current(self) -> Step | None:
        """The step awaiting a decision (None unless pending)."""
        if self.status is not ApprovalStatus.PENDING:
            return None
        return self.steps[len(self.decisions)]


def submit(
    policy: ApprovalPolicy,
    *,
    document_type: str,
    document_id: str,
    revision: int,
    submitter_id: str,
    amount: Money,
    status: ApprovalStatus,
) -> Approval:
    """Start the approval of a document revision in ``status`` (draft or rejected).

    Raises:
        WorkflowError: the document is pending or approved already.
    """
    steps = policy.chain(document_type, amount)
    target = ApprovalStatus.PENDING if steps else ApprovalStatus.APPROVED
    DOCUMENT_STATES.check(status, target, move="submit", move_zh="提交审批")
    return Approval(
        document_type=document_type,
        document_id=document_id,
        revision=revision,
        submitter_id=submitter_id,
        amount=amount,
        steps=steps,
        status=target,
    )


def may_decide(step: Step, approver: Approver, submitter_id: str) -> bool:
    """Can ``approver`` decide ``step``? Never their own submission; a manager step needs
    someone above the submitter; a role step a holder of the role (admins hold every
    role)."""
    if approver.id == submitter_id:
        return False
    if step.manager:
        return approver.manages_submitter
    return approver.role is step.role or approver.role is Role.ADMIN


def decide(
    approval: Approval,
    approver: Approver,
    decision: Decision,
    *,
    step: int,
    at: datetime,
    comment: str | None = None,
) -> Approval:
    """Decide the pending step ``step`` (its index, as the approver saw it).

    Raises:
        WorkflowError: the approval is not pending, or ``step`` is no longer the pending one
            (someone decided it first).
        PermissionDenied: ``approver`` may not decide this step.
    """
    current = approval.current
    if current is None or step != len(approval.decisions):
        raise WorkflowError(
            "approval",
            approval.status.value,
            f"decide step {step + 1}",
            state_zh=DOCUMENT_STATES.labels_zh.get(approval.status),
            move_zh=f"审批第 {step + 1} 步",
            reason="the step was decided already or the approval is no longer pending",
            reason_zh="该步骤已被审批，或该审批已结束",
        )
    if not may_decide(current, approver, approval.submitter_id):
        raise PermissionDenied(approver.id, f"decide the step {current.label}", current.label)
    made = StepDecision(approver.id, decision, at, (comment or "").strip() or None)
    decisions = (*approval.decisions, made)
    if decision is Decision.REJECT:
        status = ApprovalStatus.REJECTED
    elif len(decisions) == len(approval.steps):
        status = ApprovalStatus.APPROVED
    else:
        status = ApprovalStatus.PENDING
    return attrs.evolve(approval, decisions=decisions, status=status)


def check_editable(status: ApprovalStatus, document: str = "document") -> None:
    """Refuse an edit or delete of a document that is pending or approved.

    Raises:
        WorkflowError: naming the state (审批中 / 已审批) and the move (修改).
    """
    if status not in EDITABLE:
        raise WorkflowError(
            document,
            status.value,
            "edit",
            state_zh=DOCUMENT_STATES.labels_zh.get(status),
            move_zh="修改",
            reason="approved and pending documents are locked; revise to change one",
            reason_zh="审批中或已审批的单据已锁定，如需修改请新建修订版",
        )


def revise(status: ApprovalStatus, revision: int) -> tuple[int, ApprovalStatus]:
    """Change an approved document: a new revision, a draft again (the approved one stays
    as it was). A rejected document is revised in place (same revision, editable).

    Raises:
        WorkflowError: the document is pending (withdraw or decide it first) or a draft.
    """
    if status is ApprovalStatus.APPROVED:
        return revision + 1, ApprovalStatus.DRAFT
    DOCUMENT_STATES.check(status, ApprovalStatus.DRAFT, move="revise", move_zh="修订")
    return revision, ApprovalStatus.DRAFT
