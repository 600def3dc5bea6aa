"""Approval chains: the right chain for a document and amount, who may decide each step,
one decision per step, and no edit of a pending or approved document, ever."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from crmkit.domain.approvals import (
    FINANCE,
    MANAGER,
    ApprovalPolicy,
    ApprovalStatus,
    Approver,
    ChainRule,
    Decision,
    Step,
    check_editable,
    decide,
    inbox_tokens,
    parse_step_id,
    revise,
    submit,
    withdraw,
)
from crmkit.domain.errors import PermissionDenied, WorkflowError
from crmkit.domain.user import Role
from crmkit.domain.values import Money

AT = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
BOSS = Approver("boss", Role.MANAGER, manages_submitter=True)
OTHER_MANAGER = Approver("other", Role.MANAGER)
MONEY_PERSON = Approver("fin", Role.FINANCE)
SELLER = Approver("zhang", Role.SALES)


def order(amount: str, status: ApprovalStatus = ApprovalStatus.DRAFT, revision: int = 1):
    return submit(
        ApprovalPolicy.default(),
        document_type="order",
        document_id="SO-1",
        revision=revision,
        submitter_id=SELLER.id,
        manager_id=BOSS.id,
        amount=Money(Decimal(amount)),
        status=status,
        at=AT,
    )


@pytest.mark.parametrize(
    ("amount", "steps"),
    [("1000", (MANAGER,)), ("50000", (MANAGER,)), ("50000.01", (MANAGER, FINANCE))],
)
def test_the_default_chain_follows_the_amount(amount, steps):
    assert order(amount).steps == steps


def test_a_document_no_rule_covers_is_approved_when_submitted():
    quote = submit(
        ApprovalPolicy.default(),
        document_type="quote",
        document_id="QT-1",
        revision=1,
        submitter_id=SELLER.id,
        amount=Money(Decimal("9")),
        status=ApprovalStatus.DRAFT,
        at=AT,
    )
    assert quote.status is ApprovalStatus.APPROVED and quote.steps == ()


def test_manager_then_finance_approve_a_large_order():
    pending = order("80000")
    after_manager = decide(pending, BOSS, Decision.APPROVE, step=0, at=AT)
    assert after_manager.status is ApprovalStatus.PENDING and after_manager.current == FINANCE
    done = decide(after_manager, MONEY_PERSON, Decision.APPROVE, step=1, at=AT, comment=" 同意 ")
    assert done.status is ApprovalStatus.APPROVED and done.decisions[-1].comment == "同意"


def test_a_rejection_sends_it_back_and_a_resubmission_starts_again():
    rejected = decide(order("100"), BOSS, Decision.REJECT, step=0, at=AT, comment="价格太低")
    assert rejected.status is ApprovalStatus.REJECTED
    check_editable(rejected.status)  # the author may fix it
    again = order("120", status=rejected.status)
    assert again.status is ApprovalStatus.PENDING and again.decisions == ()


@pytest.mark.parametrize("approver", [SELLER, OTHER_MANAGER, MONEY_PERSON])
def test_only_the_submitters_manager_decides_a_manager_step(approver):
    with pytest.raises(PermissionDenied):
        decide(order("100"), approver, Decision.APPROVE, step=0, at=AT)


def test_nobody_approves_their_own_submission_even_an_admin():
    mine = submit(
        ApprovalPolicy((ChainRule("order", (Step("财务", role=Role.FINANCE),)),)),
        document_type="order",
        document_id="SO-2",
        revision=1,
        submitter_id="root",
        amount=Money(Decimal("5")),
        status=ApprovalStatus.DRAFT,
        at=AT,
    )
    with pytest.raises(PermissionDenied):
        decide(mine, Approver("root", Role.ADMIN, True), Decision.APPROVE, step=0, at=AT)
    admin = Approver("admin", Role.ADMIN)
    assert decide(mine, admin, Decision.APPROVE, step=0, at=AT).status is ApprovalStatus.APPROVED


def test_the_pending_step_has_an_id_and_a_decider_token_for_the_inbox():
    pending = order("80000")
    assert pending.step_id == f"{pending.id}.1" and pending.decider == "user:boss"
    assert parse_step_id(pending.step_id) == (pending.id, 0)
    after = decide(pending, BOSS, Decision.APPROVE, step=0, at=AT)
    assert after.decider == "role:finance" and after.step_id == f"{pending.id}.2"
    assert after.version == pending.version + 1
    assert "role:finance" in inbox_tokens("fin", Role.FINANCE, set())
    assert "user:boss" in inbox_tokens("big-boss", Role.MANAGER, {"boss", "zhang"})
    done = decide(after, MONEY_PERSON, Decision.APPROVE, step=1, at=AT)
    assert done.decider is None and done.step_id is None
    assert parse_step_id("no-step") is None and parse_step_id("x.0") is None


def test_a_submitter_without_a_manager_has_an_admin_decide_the_manager_step():
    alone = submit(
        ApprovalPolicy.default(),
        document_type="order",
        document_id="SO-3",
        revision=1,
        submitter_id="solo",
        amount=Money(Decimal("10")),
        status=ApprovalStatus.DRAFT,
        at=AT,
    )
    assert alone.decider == "role:admin"
    with pytest.raises(PermissionDenied):
        decide(alone, BOSS, Decision.APPROVE, step=0, at=AT)
    done = decide(alone, Approver("root", Role.ADMIN), Decision.APPROVE, step=0, at=AT)
    assert done.status is ApprovalStatus.APPROVED


def test_only_the_submitter_withdraws_and_the_document_is_editable_again():
    pending = order("100")
    with pytest.raises(PermissionDenied):
        withdraw(pending, BOSS.id, at=AT)
    back = withdraw(pending, SELLER.id, at=AT)
    assert back.status is ApprovalStatus.WITHDRAWN and back.decider is None
    check_editable(back.status)
    with pytest.raises(WorkflowError):
        decide(back, BOSS, Decision.APPROVE, step=0, at=AT)


def test_a_credit_step_is_added_after_the_chain_unless_it_is_there():
    small = submit(
        ApprovalPolicy.default(),
        document_type="order",
        document_id="SO-4",
        revision=1,
        submitter_id=SELLER.id,
        manager_id=BOSS.id,
        amount=Money(Decimal("10")),
        status=ApprovalStatus.DRAFT,
        at=AT,
        extra_steps=(FINANCE,),
    )
    assert small.steps == (MANAGER, FINANCE)
    big = submit(
        ApprovalPolicy.default(),
        document_type="order",
        document_id="SO-5",
        revision=1,
        submitter_id=SELLER.id,
        amount=Money(Decimal("90000")),
        status=ApprovalStatus.DRAFT,
        at=AT,
        extra_steps=(FINANCE,),
    )
    assert big.steps == (MANAGER, FINANCE)


def test_the_second_decision_of_one_step_is_refused():
    pending = order("80000")
    first = decide(pending, BOSS, Decision.APPROVE, step=0, at=AT)
    with pytest.raises(WorkflowError):
        decide(first, BOSS, Decision.REJECT, step=0, at=AT)  # decided on a stale page


@pytest.mark.parametrize("status", [ApprovalStatus.PENDING, ApprovalStatus.APPROVED])
def test_a_pending_or_approved_document_is_locked(status):
    with pytest.raises(WorkflowError) as caught:
        check_editable(status, "order")
    assert "锁定" in caught.value.message("zh")


def test_an_approved_document_changes_as_a_new_revision():
    assert revise(ApprovalStatus.APPROVED, 3) == (4, ApprovalStatus.DRAFT)
    assert revise(ApprovalStatus.REJECTED, 3) == (3, ApprovalStatus.DRAFT)
    with pytest.raises(WorkflowError):
        revise(ApprovalStatus.PENDING, 3)


class Flow(RuleBasedStateMachine):
    """Random edits, submissions, decisions and revisions: an approved or pending revision's
    content never changes, and revisions only go up."""

    def __init__(self) -> None:
        super().__init__()
        self.status = ApprovalStatus.DRAFT
        self.revision = 1
        self.content = 0
        self.approval = None
        self.frozen: dict[int, int] = {}  # revision -> content when it was approved

    @rule(change=st.integers(1, 5))
    def edit(self, change: int) -> None:
        try:
            check_editable(self.status)
        except WorkflowError:
            return
        self.content += change

    @rule(amount=st.sampled_from(["10", "50000", "90000"]))
    def submit(self, amount: str) -> None:
        try:
            self.approval = order(amount, self.status, self.revision)
        except WorkflowError:
            assert self.status in {ApprovalStatus.PENDING, ApprovalStatus.APPROVED}
            return
        self.status = self.approval.status
        self.submitted = self.content

    @precondition(lambda self: self.status is ApprovalStatus.PENDING)
    @rule(
        who=st.sampled_from([BOSS, OTHER_MANAGER, MONEY_PERSON, SELLER]),
        how=st.sampled_from(list(Decision)),
        stale=st.booleans(),
    )
    def decide(self, who: Approver, how: Decision, stale: bool) -> None:
        assert self.approval is not None
        step = len(self.approval.decisions) + (1 if stale else 0)
        try:
            self.approval = decide(self.approval, who, how, step=step, at=AT)
        except (WorkflowError, PermissionDenied):
            return
        assert not stale
        self.status = self.approval.status
        if self.status is ApprovalStatus.APPROVED:
            self.frozen[self.revision] = self.content

    @precondition(lambda self: self.status is ApprovalStatus.PENDING)
    @rule(who=st.sampled_from([SELLER, BOSS]))
    def withdraw(self, who: Approver) -> None:
        assert self.approval is not None
        try:
            self.approval = withdraw(self.approval, who.id, at=AT)
        except PermissionDenied:
            assert who is not SELLER
            return
        self.status = self.approval.status

    @rule()
    def revise(self) -> None:
        before = self.revision
        try:
            self.revision, self.status = revise(self.status, self.revision)
        except WorkflowError:
            return
        assert self.revision >= before

    @invariant()
    def locked_content_never_changes(self) -> None:
        if self.status in {ApprovalStatus.PENDING, ApprovalStatus.APPROVED}:
            assert self.content == self.submitted
        for revision, content in self.frozen.items():
            if revision == self.revision and self.status is ApprovalStatus.APPROVED:
                assert self.content == content


TestApprovalFlow = Flow.TestCase
