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
from typing import Any, Final

import attrs

from crmkit.domain.errors import PermissionDenied, WorkflowError
from crmkit.domain.intake import new_id
from crmkit.domain.states import StateMachine
from crmkit.domain.user import Role
from crmkit.domain.values import Money


class ApprovalStatus(enum.StrEnum):
    """Where a document stands in its approval."""

    DRAFT = "draft"  # being written or revised: editable
    PENDING = "pending"  # submitted, a step awaits its decision: locked
    APPROVED = "approved"  # every step approved: locked for good (changes: a new revision)
    REJECTED = "rejected"  # a step refused: back to its author, editable
    WITHDRAWN = "withdrawn"  # its submitter took it back before the last decision: editable


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


DOCUMENT_STATES: Final[StateMachine[ApprovalStatus]] = StateMachine(
    "approval",
    {
        ApprovalStatus.DRAFT: frozenset({ApprovalStatus.PENDING, ApprovalStatus.APPROVED}),
        ApprovalStatus.PENDING: frozenset(
            {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN}
        ),
        ApprovalStatus.REJECTED: frozenset(
            {ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.DRAFT}
        ),
        ApprovalStatus.WITHDRAWN: frozenset(
            {ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.DRAFT}
        ),
    },
    labels_zh={
        ApprovalStatus.DRAFT: "草稿",
        ApprovalStatus.PENDING: "审批中",
        ApprovalStatus.APPROVED: "已审批",
        ApprovalStatus.REJECTED: "已驳回",
        ApprovalStatus.WITHDRAWN: "已撤回",
    },
)

EDITABLE: Final = frozenset(
    {ApprovalStatus.DRAFT, ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN}
)


@attrs.frozen
class Step:
    """One step of a chain: decided by a holder of ``role``, or (``manager``) by the
    submitter's manager. ``label`` names it in Chinese (上级审批), ``label_en`` in English
    (default: the Chinese label); ``crmkit.display.step_label`` picks one."""

    label: str
    role: Role | None = None
    manager: bool = False
    label_en: str | None = None

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


MANAGER: Final = Step("上级审批", manager=True, label_en="Manager approval")
FINANCE: Final = Step("财务审批", role=Role.FINANCE, label_en="Finance approval")


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
    """One document revision's way through its chain (审批单), as stored.

    ``decisions`` holds the decided steps in order; the step awaiting a decision is
    ``steps[len(decisions)]`` while pending, and its id is :attr:`step_id`.

    Attributes:
        document_type / document_id / revision: the document revision submitted.
        document_version: the document's version when submitted: a decision on an
            approval whose document changed since is refused (a stale revision).
        document_number: the document's number, for people (``SO-2027-000001``).
        customer_id: the document's customer, if it has one.
        submitter_id / manager_id: who submitted, and their manager then (manager steps
            go to that manager or anyone above; with no manager, to an admin).
        amount: what the chain was chosen by.
        steps / decisions / status: the chain, its decisions so far, where it stands.
        decider: who may decide the pending step, as a token: ``role:finance`` or
            ``user:<manager id>`` (the inbox's index); None unless pending.
    """

    id: str = attrs.field(factory=new_id)
    document_type: str
    document_id: str
    revision: int
    document_version: int = 1
    document_number: str | None = None
    customer_id: str | None = None
    submitter_id: str
    manager_id: str | None = None
    amount: Money
    steps: tuple[Step, ...]
    decisions: tuple[StepDecision, ...] = ()
    status: ApprovalStatus = ApprovalStatus.PENDING
    decider: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime | None = None

    @property
    def current(self) -> Step | None:
        """The step awaiting a decision (None unless pending)."""
        if self.status is not ApprovalStatus.PENDING:
            return None
        return self.steps[len(self.decisions)]

    @property
    def step_id(self) -> str | None:
        """The pending step's id (``<approval id>.<step number>``), which
        :func:`decide` names; None unless pending."""
        return step_id(self.id, len(self.decisions)) if self.current is not None else None


def step_id(approval_id: str, index: int) -> str:
    """The id of step ``index`` (from 0) of an approval: ``<approval id>.<index + 1>``."""
    return f"{approval_id}.{index + 1}"


def parse_step_id(value: str) -> tuple[str, int] | None:
    """``(approval id, step index)`` from a step id; None if it is not one."""
    approval, _, number = str(value).strip().rpartition(".")
    if not approval or not number.isdigit() or int(number) < 1:
        return None
    return approval, int(number) - 1


def decider_token(step: Step | None, manager_id: str | None) -> str | None:
    """Who may decide ``step``, as the inbox indexes it: a role step ``role:<role>``; a
    manager step ``user:<manager id>`` (anyone above that manager manages the submitter
    too), or ``role:admin`` when the submitter has no manager."""
    if step is None:
        return None
    if step.manager:
        return f"user:{manager_id}" if manager_id else f"role:{Role.ADMIN.value}"
    assert step.role is not None  # a step names a role or the manager
    return f"role:{step.role.value}"


def inbox_tokens(user_id: str, role: Role, managed: frozenset[str] | set[str]) -> frozenset[str]:
    """The decider tokens whose steps ``user_id`` may decide: their role's (every role's
    for an admin), and manager steps of anyone they manage (``managed``) or themselves."""
    roles = tuple(Role) if role is Role.ADMIN else (role,)
    return frozenset(
        {f"role:{r.value}" for r in roles} | {f"user:{u}" for u in {user_id, *managed}}
    )


def submit(
    policy: ApprovalPolicy,
    *,
    document_type: str,
    document_id: str,
    revision: int,
    submitter_id: str,
    amount: Money,
    status: ApprovalStatus,
    at: datetime,
    extra_steps: tuple[Step, ...] = (),
    **details: Any,
) -> Approval:
    """Start the approval of a document revision in ``status`` (draft or rejected).

    Args:
        extra_steps: steps the document needs beyond its chain (a credit check's finance
            step), added after it unless the chain has them already.
        details: the stored record's other fields (``document_version``,
            ``document_number``, ``customer_id``, ``manager_id``, ``id``).

    Raises:
        WorkflowError: the document is pending or approved already.
    """
    steps = policy.chain(document_type, amount)
    steps += tuple(step for step in extra_steps if step not in steps)
    target = ApprovalStatus.PENDING if steps else ApprovalStatus.APPROVED
    DOCUMENT_STATES.check(status, target, move="submit", move_zh="提交审批")
    approval = Approval(
        document_type=document_type,
        document_id=document_id,
        revision=revision,
        submitter_id=submitter_id,
        amount=amount,
        steps=steps,
        status=target,
        created_at=at,
        updated_at=at,
        **details,
    )
    return attrs.evolve(approval, decider=decider_token(approval.current, approval.manager_id))


def may_decide(
    step: Step, approver: Approver, submitter_id: str, *, submitter_has_manager: bool = True
) -> bool:
    """Can ``approver`` decide ``step``? Never their own submission; a manager step needs
    someone above the submitter (an admin, when the submitter has no manager); a role step
    a holder of the role (admins hold every role)."""
    if approver.id == submitter_id:
        return False
    if step.manager:
        if not submitter_has_manager:
            return approver.role is Role.ADMIN
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
            f"decide step {step + 1} of",
            state_zh=DOCUMENT_STATES.labels_zh.get(approval.status),
            move_zh=f"审批第 {step + 1} 步",
            reason="the step was decided already or the approval is no longer pending",
            reason_zh="该步骤已被审批，或该审批已结束",
        )
    if not may_decide(
        current,
        approver,
        approval.submitter_id,
        submitter_has_manager=approval.manager_id is not None,
    ):
        raise PermissionDenied(approver.id, f"decide the step {current.label}", current.label)
    made = StepDecision(approver.id, decision, at, (comment or "").strip() or None)
    decisions = (*approval.decisions, made)
    if decision is Decision.REJECT:
        status = ApprovalStatus.REJECTED
    elif len(decisions) == len(approval.steps):
        status = ApprovalStatus.APPROVED
    else:
        status = ApprovalStatus.PENDING
    decided = attrs.evolve(
        approval, decisions=decisions, status=status, version=approval.version + 1, updated_at=at
    )
    return attrs.evolve(decided, decider=decider_token(decided.current, decided.manager_id))


def withdraw(approval: Approval, by: str, *, at: datetime) -> Approval:
    """The submitter takes a pending approval back (the document is a draft again).

    Raises:
        PermissionDenied: ``by`` did not submit it.
        WorkflowError: it is no longer pending.
    """
    if by != approval.submitter_id:
        raise PermissionDenied(by, "withdraw an approval", "撤回他人提交的审批")
    DOCUMENT_STATES.check(
        approval.status, ApprovalStatus.WITHDRAWN, move="withdraw", move_zh="撤回"
    )
    return attrs.evolve(
        approval,
        status=ApprovalStatus.WITHDRAWN,
        decider=None,
        version=approval.version + 1,
        updated_at=at,
    )


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
