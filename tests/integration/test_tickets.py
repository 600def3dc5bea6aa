"""Service tickets on every backend: targets from SLA policies counted in service hours on
China's calendar, first response, the clock paused while waiting for the customer, breach
escalated once to the assignee's manager through due jobs, resolution with a survey,
reopen and auto-close, satisfaction, the service console's lookup by any number,
statistics; who sees and works what; bad input named in zh and en."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmkit import NotFound, PermissionDenied, ValidationError, WorkflowError
from crmkit.domain.ticket import TicketPriority, TicketStatus
from crmkit.testing import open_test_crm
from crmkit.testing.clocks import ManualClock
from crmkit.testing.notifiers import RecordingNotifier

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a plain working Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def crm(backend_url, clock, notifier):
    crm = open_test_crm(backend_url, clock=clock, notifier=notifier)
    yield crm
    crm.close()


@pytest.fixture
def desk(crm, team):
    """A service team: a lead who is reached by SMS, and an agent under them."""
    with crm.session(actor=team["admin"]) as s:
        lead = s.users.create(
            name="周主管", role="service", password="service-pass", mobile="13900000001"
        )
        agent = s.users.create(
            name="吴客服",
            role="service",
            manager_id=lead.id,
            password="service-pass",
            mobile="13900000002",
        )
    return {**team, "service_lead": lead, "agent": agent}


@pytest.fixture
def customer(crm, desk):
    with crm.session(actor=desk["admin"]) as s:
        c = s.customers.create(
            name="青岛金智电子科技有限公司", owner_id=desk["zhang"].id, mobile="13800138000"
        )
        s.contacts.create(customer_id=c.id, name="刘芳", phone="0532-88886666")
        return c


def test_a_ticket_gets_its_targets_in_service_hours(crm, desk, customer):
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.create(customer_id=customer.id, type="repair", subject="门锁无法开启")
        assert t.number == "TK-2026-000001"
        assert (t.status, t.priority, t.channel.value) == (
            TicketStatus.NEW,
            TicketPriority.NORMAL,
            "phone",
        )
        # Normal: first response in 4 service hours, resolution in 24 (09:00-18:00 days).
        assert t.response_due_at == at(2, 14)
        assert t.resolution_due_at == at(4, 16)  # Mon 8 h + Tue 9 h + Wed 7 h
        state = s.tickets.sla_state(t)
        assert state["response"]["minutes_left"] == 240


def test_the_most_specific_policy_sets_the_targets(crm, desk, customer):
    with crm.session(actor=desk["admin"]) as s:
        s.sla_policies.create(name="全部", response_minutes=120, resolution_minutes=600)
        s.sla_policies.create(
            name="紧急维修",
            type="repair",
            priority="urgent",
            response_minutes=30,
            resolution_minutes=120,
        )
        with pytest.raises(ValidationError) as bad:
            s.sla_policies.create(name="错", response_minutes=60, resolution_minutes=30)
        assert [e.field for e in bad.value.errors] == ["resolution_minutes"]
    with crm.session(actor=desk["agent"]) as s:
        urgent = s.tickets.create(
            customer_id=customer.id, type="维修", priority="紧急", subject="大门打不开"
        )
        plain = s.tickets.create(customer_id=customer.id, type="consultation", subject="咨询")
        assert urgent.response_due_at == MONDAY_10 + timedelta(minutes=30)
        assert urgent.resolution_due_at == at(2, 12)
        assert plain.response_due_at == at(2, 12)
        assert plain.resolution_due_at == at(3, 11)  # 600 min: Mon 480 + Tue 120


def test_first_response_pause_and_resume_move_the_clock(crm, desk, customer, clock):
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.create(customer_id=customer.id, type="repair", subject="门锁无法开启")
    clock.set(at(2, 11))
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.record(t.id, body="已电话联系客户，约明天上门", kind="call")
        assert (t.status, t.first_response_at, t.response_breached) == (
            TicketStatus.IN_PROGRESS,
            at(2, 11),
            False,
        )
        t = s.tickets.wait(t.id)
        assert t.resolution_due_at is None  # the clock stands still
    clock.set(at(4, 11))  # two days later the customer answers
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.resume(t.id)
        # 1 service hour was used before the pause, 23 are left from Wed 11:00.
        assert t.resolution_due_at == at(6, 16)
        assert [p.end for p in t.pauses] == [at(4, 11)]


def test_a_breach_is_escalated_once_to_the_assignees_manager(crm, desk, customer, clock, notifier):
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.create(
            customer_id=customer.id,
            type="repair",
            subject="门锁无法开启",
            priority="high",
            assignee_id=desk["agent"].id,
        )
    assert t.status is TicketStatus.ASSIGNED
    clock.set(at(2, 10, 50))  # 80 % of the hour to first response is used: a warning
    crm.run_due()
    crm.dispatch()
    assert [m.payload["template"] for m in notifier.to("+8613900000002")] == ["ticket.sla_warn"]
    clock.set(at(2, 11, 5))
    crm.run_due()
    crm.run_due()
    crm.dispatch()
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.get(t.id)
        assert t.response_breached and t.escalated_at == at(2, 11, 5)
        assert not t.resolution_breached
    escalations = notifier.to("+8613900000001")
    assert [(m.payload["template"], m.payload["target"]) for m in escalations] == [
        ("ticket.escalation", "response")
    ]


def test_resolve_survey_rate_reopen_and_auto_close(crm, desk, customer, clock, notifier):
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.create(customer_id=customer.id, type="repair", subject="门锁无法开启")
        t = s.tickets.record(t.id, body="远程指导复位后恢复", kind="call")
        with pytest.raises(ValidationError) as empty:
            s.tickets.resolve(t.id, resolution=" ")
        assert empty.value.errors[0].field == "resolution"
        t = s.tickets.resolve(t.id, resolution="指导客户复位门锁")
        assert t.status is TicketStatus.RESOLVED and not t.breached
        assert t.survey_key is not None
        with pytest.raises(ValidationError) as bad:
            s.tickets.rate(t.id, score=6)
        assert bad.value.errors[0].message_zh == "必须在 1 到 5 之间"
        t = s.tickets.rate(t.id, score="4", comment="及时")
        assert (t.satisfaction, t.satisfaction_comment) == (4, "及时")
    crm.dispatch()
    survey = notifier.to("+8613800138000")
    assert len(survey) == 1 and "工单TK-2026-000001" in str(survey[0].payload)

    clock.advance(timedelta(days=2))
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.reopen(t.id, reason="客户反映又坏了")
        assert (t.status, t.reopened, t.resolved_at) == (TicketStatus.IN_PROGRESS, 1, None)
        # The two days it stood resolved do not count against the resolution target.
        assert t.resolution_due_at is not None and t.resolution_due_at > at(4, 16)
        t = s.tickets.resolve(t.id, resolution="更换锁芯")
    clock.advance(timedelta(days=8))
    crm.run_due()
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.get(t.id)
        assert t.status is TicketStatus.CLOSED
        with pytest.raises(WorkflowError):
            s.tickets.reopen(t.id, reason="again")


def test_reopen_is_refused_after_the_window(crm, desk, customer, clock):
    with crm.session(actor=desk["admin"]) as s:
        s.settings.update(ticket_reopen_days=3, satisfaction_survey=False)
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.create(customer_id=customer.id, type="consultation", subject="发票")
        t = s.tickets.resolve(t.id, resolution="已寄出")
        assert t.survey_key is None
    clock.advance(timedelta(days=3, minutes=1))
    with crm.session(actor=desk["agent"]) as s:
        with pytest.raises(WorkflowError) as refused:
            s.tickets.reopen(t.id, reason="没收到")
        assert "3" in str(refused.value)


def test_moves_not_in_the_table_are_refused_and_change_nothing(crm, desk, customer):
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.create(customer_id=customer.id, type="consultation", subject="咨询价格")
        with pytest.raises(WorkflowError) as refused:
            s.tickets.close(t.id)
        assert refused.value.state == "new"
        with pytest.raises(WorkflowError):
            s.tickets.resume(t.id)
        assert s.tickets.get(t.id).version == t.version


def test_the_console_finds_a_caller_by_any_number(crm, desk, customer):
    with crm.session(actor=desk["agent"]) as s:
        s.tickets.create(customer_id=customer.id, type="repair", subject="门锁无法开启")
        s.activities.create(customer_id=customer.id, kind="call", content="回访")
    with crm.session(actor=desk["agent"]) as s:
        for typed in ("138 0013 8000", "+86-138-0013-8000", "0532 8888 6666", "053288886666"):
            [view] = s.tickets.lookup(phone=typed)
            assert view.customer.id == customer.id, typed
        [view] = s.tickets.lookup(phone="0532 8888 6666")
        assert view.matched == "contact"
        assert [t.subject for t in view.tickets] == ["门锁无法开启"]
        assert [a.content for a in view.activities] == ["回访"]
        assert [c.name for c in view.contacts] == ["刘芳"]
        assert s.tickets.lookup(phone="13700137000") == []
        assert [v.customer.id for v in s.tickets.lookup(name="金智电子")] == [customer.id]
        with pytest.raises(ValidationError):
            s.tickets.lookup()
    with crm.session(actor=desk["other"]) as s:  # not their customer
        assert s.tickets.lookup(phone="13800138000") == []


def test_who_sees_and_works_tickets(crm, desk, customer):
    with crm.session(actor=desk["zhang"]) as s:  # the customer's salesperson
        t = s.tickets.create(customer_id=customer.id, type="suggestion", subject="希望增加功能")
        t = s.tickets.assign(t.id, desk["zhang"].id)  # taking it oneself
        with pytest.raises(PermissionDenied):
            s.tickets.assign(t.id, desk["agent"].id)
    with crm.session(actor=desk["other"]) as s:
        with pytest.raises(NotFound):
            s.tickets.get(t.id)
    with crm.session(actor=desk["agent"]) as s:  # service staff see every customer's
        t = s.tickets.assign(t.id, desk["agent"].id, team="一组")
        assert (t.assignee_id, t.team) == (desk["agent"].id, "一组")
        t = s.tickets.record(t.id, body="内部：需要产品部确认", kind="note")
        assert t.first_response_at is None  # a note does not reach the customer
        s.tickets.record(t.id, body="已转产品部", kind="note", shared=True)
    with crm.session(actor=desk["zhang"]) as s:
        assert [r.body for r in s.tickets.records(t.id)] == ["已转产品部"]


def test_bad_input_names_every_field_in_both_languages(crm, desk, customer):
    with crm.session(actor=desk["agent"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.tickets.create(
                customer_id=customer.id,
                type="party",
                priority="whenever",
                channel="pigeon",
                assignee_id="nobody",
            )
        fields = {e.field for e in bad.value.errors}
        assert fields == {"type", "priority", "channel", "subject", "assignee_id"}
        zh = {e.field: e.message_zh for e in bad.value.errors}
        assert zh["type"] == "必须是以下之一：咨询、投诉、维修、回访、建议"
        assert zh["subject"] == "必填"
        assert s.tickets.count() == 0


def test_statistics_compliance_and_satisfaction(crm, desk, customer, clock):
    with crm.session(actor=desk["admin"]) as s:
        s.settings.update(satisfaction_survey=False)
        other = s.customers.create(name="上海四通贸易有限公司", owner_id=desk["li"].id)
    with crm.session(actor=desk["agent"]) as s:
        a = s.tickets.create(customer_id=customer.id, type="repair", subject="门锁", channel="电话")
        b = s.tickets.create(customer_id=customer.id, type="repair", subject="门铃", channel="web")
        c = s.tickets.create(customer_id=other.id, type="complaint", subject="态度")
        s.tickets.record(a.id, body="已回电", kind="call")
        s.tickets.resolve(a.id, resolution="修好")
        s.tickets.rate(a.id, score=5)
    clock.set(at(9, 10))  # a week later: b and c missed both targets
    crm.run_due()
    with crm.session(actor=desk["agent"]) as s:
        s.tickets.resolve(b.id, resolution="更换")
        s.tickets.rate(b.id, score=2)
        by_type = {r.key: r.count for r in s.tickets.statistics("type")}
        assert by_type == {"repair": 2, "complaint": 1}
        ranked = [(r.key, r.count) for r in s.tickets.statistics("customer")]
        assert ranked == [(customer.id, 2), (other.id, 1)]
        [overall] = s.tickets.compliance()
        assert (overall.response_met, overall.response_missed) == (1, 2)
        assert (overall.resolution_met, overall.resolution_missed) == (1, 2)
        [sat] = s.tickets.satisfaction()
        assert (sat.rated, sat.average) == (2, 3.5)
        assert [t.id for t in s.tickets.breaching()] == [c.id]
        with pytest.raises(ValidationError):
            s.tickets.statistics("weather")


def test_a_survey_reply_records_the_score_and_comment(crm, desk, customer):
    with crm.session(actor=desk["agent"]) as s:
        t = s.tickets.create(customer_id=customer.id, type="repair", subject="门锁无法开启")
        t = s.tickets.resolve(t.id, resolution="更换锁芯")
        other = s.tickets.create(customer_id=customer.id, type="consultation", subject="发票")
    crm.dispatch()
    with crm.session(actor=desk["admin"]) as s:
        s.messages.receive("13800138000", "谢谢")  # not a score: just a reply
        assert s.tickets.get(t.id).satisfaction is None
        s.messages.receive("13800138000", "４，师傅很专业")
        rated = s.tickets.get(t.id)
        assert (rated.satisfaction, rated.satisfaction_comment) == (4, "师傅很专业")
        s.messages.receive("13800138000", "1")  # nothing else waits for a score
        assert s.tickets.get(t.id).satisfaction == 4
        assert s.tickets.get(other.id).satisfaction is None
