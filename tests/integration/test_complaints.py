"""Complaints (投诉) on every backend: raised for a customer or from a complaint ticket,
investigated, answered by corrective actions with owners and due days, followed up, done,
verified by someone else and closed only when every action is verified; owners reminded on
the due day through the outbox; bad input named in zh and en, refused moves changing
nothing, and only service staff (not salespeople) writing them."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit import PermissionDenied, ValidationError, WorkflowError
from crmkit.domain.complaint import COMPLAINT_MACHINE, ActionStatus, ComplaintStatus, Severity
from crmkit.domain.ticket import Ticket, TicketType
from crmkit.storage.catalog import TICKETS
from crmkit.testing import ManualClock, open_test_crm
from crmkit.testing.notifiers import RecordingNotifier
from crmkit.workflows.session import new_id


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def crm(backend_url, clock, notifier):
    crm = open_test_crm(backend_url, clock=clock, notifier=notifier)
    yield crm
    crm.close()


@pytest.fixture
def staff(crm, team):
    with crm.session(actor=team["admin"]) as s:
        return {
            "wang": s.users.create(
                name="王客服", role="service", password="service-pass", mobile="13900001111"
            ),
            "zhao": s.users.create(name="赵质检", role="service", password="service-pass"),
        }


@pytest.fixture
def customer(crm, team):
    with crm.session(actor=team["admin"]) as s:
        return s.customers.create(name="青岛金智电子科技有限公司", owner_id=team["zhang"].id)


def add_ticket(s, customer_id: str, type: TicketType, subject: str) -> Ticket:
    """A ticket stored as it is (the ticket service's own rules are tested elsewhere)."""
    now = s.now()
    ticket = Ticket(
        id=new_id(),
        number=f"TK-{now.year}-{new_id()[-6:]}",
        customer_id=customer_id,
        type=type,
        subject=subject,
        description="客户来电投诉",
        opened_at=now,
        response_minutes=60,
        resolution_minutes=480,
        created_at=now,
        updated_at=now,
        created_by=s.actor.id,
    )
    s._uow.repo(TICKETS).add(ticket)
    return ticket


def test_a_complaint_closes_once_every_corrective_action_is_verified(crm, staff, customer):
    wang, zhao = staff["wang"], staff["zhao"]
    with crm.session(actor=wang) as s:
        made = s.complaints.create(
            customer_id=customer.id, subject="安装人员迟到两小时", severity="严重"
        )
        assert made.number.startswith("CP-")
        assert (made.status, made.severity, made.owner_id) == (
            ComplaintStatus.OPEN,
            Severity.MAJOR,
            wang.id,
        )
        made = s.complaints.investigate(made.id, root_cause="排班冲突")
        assert (made.status, made.root_cause) == (ComplaintStatus.INVESTIGATING, "排班冲突")
        due = s.today() + timedelta(days=3)
        made = s.complaints.add_action(
            made.id, description="调整排班", owner_id=wang.id, due_on=due
        )
        made = s.complaints.add_action(
            made.id, description="上门致歉", owner_id=zhao.id, due_on=due
        )
        assert made.status is ComplaintStatus.ACTING
        first, second = made.actions
        made = s.complaints.follow_up(made.id, first.id, note="已通知调度")
        assert [f.note for f in made.actions[0].follow_ups] == ["已通知调度"]
        made = s.complaints.complete_action(made.id, first.id, result="已调整排班表")
        with pytest.raises(WorkflowError) as early:
            s.complaints.close(made.id, conclusion="客户满意")
        assert "尚有 2 项整改措施未核实" in early.value.message("zh")
        assert "2 corrective action(s) not verified yet" in early.value.message("en")
        assert s.complaints.get(made.id).version == made.version  # nothing changed
    with crm.session(actor=zhao) as s:
        made = s.complaints.verify_action(made.id, first.id)
        made = s.complaints.complete_action(made.id, second.id, result="已上门致歉")
    with crm.session(actor=wang) as s:
        made = s.complaints.verify_action(made.id, second.id)
        assert {a.status for a in made.actions} == {ActionStatus.VERIFIED}
        assert made.actions[1].verified_by == wang.id
        closed = s.complaints.close(made.id, conclusion="客户满意")
        assert (closed.status, closed.conclusion) == (ComplaintStatus.CLOSED, "客户满意")
        assert closed.closed_at == s.now()
        with pytest.raises(WorkflowError):
            s.complaints.add_action(closed.id, description="再次回访", owner_id=wang.id, due_on=due)
        reopened = s.complaints.reopen(closed.id)
        assert (reopened.status, reopened.closed_at) == (ComplaintStatus.ACTING, None)
        history = s.audit.history(made.id)
        assert len(history) >= 8


def test_an_owner_cannot_verify_their_own_action_unless_admin(crm, team, staff, customer):
    wang = staff["wang"]
    with crm.session(actor=wang) as s:
        made = s.complaints.create(customer_id=customer.id, subject="发票开错")
        made = s.complaints.add_action(
            made.id, description="重开发票", owner_id=wang.id, due_on=s.today()
        )
        action = made.actions[0]
        with pytest.raises(WorkflowError):  # not done yet
            s.complaints.verify_action(made.id, action.id)
        made = s.complaints.complete_action(made.id, action.id, result="已重开")
        with pytest.raises(PermissionDenied) as own:
            s.complaints.verify_action(made.id, action.id)
        assert "核实本人的整改措施" in own.value.message("zh")
        assert s.complaints.get(made.id).actions[0].status is ActionStatus.DONE
    with crm.session(actor=team["admin"]) as s:
        mine = s.complaints.create(customer_id=customer.id, subject="送货延误")
        mine = s.complaints.add_action(
            mine.id, description="加急配送", owner_id=team["admin"].id, due_on=s.today()
        )
        mine = s.complaints.complete_action(mine.id, mine.actions[0].id, result="已送达")
        mine = s.complaints.verify_action(mine.id, mine.actions[0].id)
        assert mine.actions[0].status is ActionStatus.VERIFIED


def test_a_complaint_from_a_ticket_takes_its_customer_and_subject(crm, staff, customer):
    with crm.session(actor=staff["wang"]) as s:
        ticket = add_ticket(s, customer.id, TicketType.COMPLAINT, "门锁安装后漏水")
        asking = add_ticket(s, customer.id, TicketType.CONSULTATION, "询问保修期")
    with crm.session(actor=staff["wang"]) as s:
        made = s.complaints.from_ticket(ticket.id, severity="critical")
        assert (made.customer_id, made.ticket_id, made.subject, made.description) == (
            customer.id,
            ticket.id,
            "门锁安装后漏水",
            "客户来电投诉",
        )
        with pytest.raises(ValidationError) as twice:
            s.complaints.from_ticket(ticket.id)
        assert "该工单已有投诉单" in twice.value.message("zh")
        with pytest.raises(ValidationError) as wrong:
            s.complaints.from_ticket(asking.id)
        assert [e.field for e in wrong.value.errors] == ["ticket_id"]
        assert "is not a complaint ticket" in wrong.value.message("en")
        assert "不是投诉类工单" in wrong.value.message("zh")


def test_bad_complaint_input_is_named_in_both_languages_and_writes_nothing(crm, staff, customer):
    with crm.session(actor=staff["wang"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.complaints.create(
                customer_id="no-such-customer",
                subject="",
                severity="天大",
                owner_id="no-such-user",
            )
        assert {e.field for e in bad.value.errors} == {
            "customer_id",
            "subject",
            "severity",
            "owner_id",
        }
        assert "严重程度" in bad.value.message("zh")
        assert "severity" in bad.value.message("en")
        assert s.complaints.count() == 0
        made = s.complaints.create(customer_id=customer.id, subject="客服态度差")
        with pytest.raises(ValidationError) as action:
            s.complaints.add_action(
                made.id,
                description=" ",
                owner_id="no-such-user",
                due_on=s.today() - timedelta(days=1),
            )
        assert {e.field for e in action.value.errors} == {"description", "owner_id", "due_on"}
        assert "日期已过" in action.value.message("zh")
        assert "is a day that has passed" in action.value.message("en")
        with pytest.raises(ValidationError) as when:
            s.complaints.add_action(
                made.id, description="培训", owner_id=staff["zhao"].id, due_on="2026-02-30"
            )
        assert [e.field for e in when.value.errors] == ["due_on"]
        with pytest.raises(ValidationError) as nothing:
            s.complaints.follow_up(made.id, "no-such-action", note="跟进")
        assert [e.field for e in nothing.value.errors] == ["action_id"]
        with pytest.raises(ValidationError) as no_conclusion:
            s.complaints.close(made.id, conclusion="")
        assert [e.field for e in no_conclusion.value.errors] == ["conclusion"]
        assert "结案结论" in no_conclusion.value.message("zh")
        after = s.complaints.get(made.id)
        assert (after.version, after.actions, after.status) == (1, (), ComplaintStatus.OPEN)


def test_service_staff_write_complaints_and_salespeople_only_read_their_own(
    crm, team, staff, customer
):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(PermissionDenied):
            s.complaints.create(customer_id=customer.id, subject="产品质量问题")
    with crm.session(actor=staff["wang"]) as s:
        made = s.complaints.create(customer_id=customer.id, subject="产品质量问题")
    with crm.session(actor=team["zhang"]) as s:
        assert s.complaints.get(made.id).subject == "产品质量问题"  # their customer's
        with pytest.raises(PermissionDenied):
            s.complaints.investigate(made.id)
        with pytest.raises(PermissionDenied):
            s.complaints.update(made.id, severity="minor")
    with crm.session(actor=team["other"]) as s:
        assert not s.complaints.list().items


def test_an_action_owner_is_reminded_on_the_due_day_and_overdue_actions_are_listed(
    crm, staff, customer, clock, notifier
):
    wang = staff["wang"]
    with crm.session(actor=staff["zhao"]) as s:
        made = s.complaints.create(customer_id=customer.id, subject="维修超时")
        due = s.today() + timedelta(days=2)
        made = s.complaints.add_action(
            made.id, description="增派人手", owner_id=wang.id, due_on=due
        )
        made = s.complaints.add_action(
            made.id, description="补偿方案", owner_id=staff["zhao"].id, due_on=due
        )
        done = made.actions[1]
        made = s.complaints.complete_action(made.id, done.id, result="已补偿")
        assert s.complaints.overdue_actions() == []
    clock.set(datetime.combine(due, time(10, 0), tzinfo=ZoneInfo("Asia/Shanghai")))
    crm.run_due()
    crm.dispatch()
    assert [(m.channel, m.recipient, m.payload["action"]) for m in notifier.sent] == [
        ("sms", "+8613900001111", "增派人手")
    ]
    clock.advance(timedelta(days=1))
    with crm.session(actor=wang) as s:
        [late] = s.complaints.overdue_actions()
        assert (late.complaint.id, late.action.description, late.days_overdue) == (
            made.id,
            "增派人手",
            1,
        )
        assert s.complaints.overdue_actions(on=due) == []


# -- the state machine through the service ---------------------------------------------------
_MOVES = ("investigate", "add_action", "complete", "verify", "close", "reopen")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=st.lists(st.sampled_from(_MOVES), max_size=10))
def test_random_moves_never_reach_an_undefined_state_and_refusals_change_nothing(moves):
    crm = open_test_crm(None, clock=ManualClock())
    try:
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with crm.session(actor=admin) as s:
            helper = s.users.create(name="王客服", role="service", password="service-pass")
            customer = s.customers.create(name="青岛金智电子科技有限公司")
            made = s.complaints.create(customer_id=customer.id, subject="投诉")
        for move in moves:
            with crm.session(actor=admin) as s:
                before = s.complaints.get(made.id)
                try:
                    after = _apply(s, before, move, helper.id)
                except WorkflowError:
                    assert s.complaints.get(made.id) == before
                    continue
                if after.status is not before.status:
                    assert COMPLAINT_MACHINE.allows(before.status, after.status)
                if after.status is ComplaintStatus.CLOSED:
                    assert all(a.status is ActionStatus.VERIFIED for a in after.actions)
    finally:
        crm.close()


def _apply(s, complaint, move: str, helper_id: str):
    service = s.complaints
    first_open = next((a for a in complaint.actions if a.status is ActionStatus.OPEN), None)
    first_done = next((a for a in complaint.actions if a.status is ActionStatus.DONE), None)
    if move == "investigate":
        return service.investigate(complaint.id)
    if move == "add_action":
        return service.add_action(
            complaint.id, description="整改", owner_id=helper_id, due_on=s.today()
        )
    if move == "complete":
        if first_open is None:
            return complaint
        return service.complete_action(complaint.id, first_open.id, result="完成")
    if move == "verify":
        if first_done is None:
            return complaint
        return service.verify_action(complaint.id, first_done.id)
    if move == "close":
        return service.close(complaint.id, conclusion="结案")
    return service.reopen(complaint.id)
