"""Follow-up on every backend: activities (联系记录) with their next follow-up closed by the
next contact, today's and overdue follow-ups per salesperson, statistics; tasks (待办) for
oneself or others, visible to whoever assigned them, reminded ahead by SMS through the
outbox, done, cancelled and laid out by day; bad input named in zh and en."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmkit import NotFound, ValidationError, WorkflowError
from crmkit.domain.activity import ActivityKind, TaskStatus
from crmkit.testing import open_test_crm
from crmkit.testing.notifiers import RecordingNotifier

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def crm(backend_url, clock, notifier):
    crm = open_test_crm(backend_url, clock=clock, notifier=notifier)
    yield crm
    crm.close()


@pytest.fixture
def customer(crm, team):
    with crm.session(actor=team["admin"]) as s:
        return s.customers.create(name="青岛金智电子科技有限公司", owner_id=team["zhang"].id)


def test_a_follow_up_is_due_until_the_next_contact_closes_it(crm, team, customer, clock):
    with crm.session(actor=team["zhang"]) as s:
        first = s.activities.create(
            customer_id=customer.id,
            kind="call",
            content="介绍智能门锁方案，客户要报价",
            next_follow_up=s.today() + timedelta(days=2),
        )
        assert (first.owner_id, first.kind, first.followed_up) == (
            team["zhang"].id,
            ActivityKind.CALL,
            False,
        )
        assert s.activities.due() == []
    clock.advance(timedelta(days=3))
    with crm.session(actor=team["zhang"]) as s:
        assert [a.id for a in s.activities.due()] == [first.id]  # overdue by a day
        assert [a.id for a in s.activities.due(owner_id=team["zhang"].id)] == [first.id]
    with crm.session(actor=team["boss"]) as s:  # their manager sees it too
        assert [a.id for a in s.activities.due()] == [first.id]
    with crm.session(actor=team["other"]) as s:
        assert s.activities.due() == []
        with pytest.raises(NotFound):
            s.activities.get(first.id)
    with crm.session(actor=team["zhang"]) as s:
        visit = s.activities.create(customer_id=customer.id, kind="visit", content="上门演示")
        assert s.activities.due() == []
        assert s.activities.get(first.id).followed_up
        timeline = s.activities.for_customer(customer.id)
        assert [a.id for a in timeline] == [visit.id, first.id]


def test_activity_statistics_count_by_salesperson_customer_kind_and_month(crm, team, customer):
    with crm.session(actor=team["admin"]) as s:
        other = s.customers.create(name="上海四通贸易有限公司", owner_id=team["li"].id)
    with crm.session(actor=team["zhang"]) as s:
        for kind in ("call", "call", "visit"):
            s.activities.create(customer_id=customer.id, kind=kind, content="跟进")
    with crm.session(actor=team["li"]) as s:
        s.activities.create(customer_id=other.id, kind="email", content="发送资料")
    with crm.session(actor=team["boss"]) as s:
        by_owner = {r.key: r.count for r in s.activities.statistics("owner")}
        assert by_owner == {team["zhang"].id: 3, team["li"].id: 1}
        ranked = s.activities.statistics("customer")
        assert [(r.key, r.count) for r in ranked] == [(customer.id, 3), (other.id, 1)]
        assert {r.key: r.count for r in s.activities.statistics("kind")} == {
            "call": 2,
            "visit": 1,
            "email": 1,
        }
        [month] = s.activities.statistics("month", start=s.today(), end=s.today())
        assert month.count == 4
    with crm.session(actor=team["li"]) as s:
        assert [(r.key, r.count) for r in s.activities.statistics("customer")] == [(other.id, 1)]


def test_bad_activity_input_is_named_in_both_languages(crm, team, customer):
    with crm.session(actor=team["admin"]) as s:
        elsewhere = s.customers.create(name="上海四通贸易有限公司", owner_id=team["li"].id)
        their_contact = s.contacts.create(customer_id=elsewhere.id, name="王五")
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.activities.create(
                customer_id=customer.id,
                kind="飞鸽传书",
                content="",
                at="明天下午",
                next_follow_up="2026-02-30",
                contact_id=their_contact.id,
            )
        fields = {e.field for e in bad.value.errors}
        assert fields == {"kind", "content", "at", "next_follow_up", "contact_id"}
        assert "is not the customer's" in bad.value.message("en")
        with pytest.raises(ValidationError) as later:
            s.activities.create(
                customer_id=customer.id,
                kind="call",
                content="打电话",
                at=s.now() + timedelta(days=1),
            )
        assert {e.field for e in later.value.errors} == {"at"}
        assert "晚于当前时间" in later.value.message("zh")
        assert "is in the future" in later.value.message("en")
        assert s.activities.count() == 0


def test_tasks_for_others_reminders_and_the_calendar(crm, team, customer, clock, notifier):
    with crm.session(actor=team["admin"]) as s:
        s.users.update(team["zhang"].id, mobile="13912345678")
    with crm.session(actor=team["boss"]) as s:
        due = datetime.combine(s.today() + timedelta(days=3), datetime.min.time()).replace(hour=15)
        task = s.tasks.create(
            title="给金智电子送样品",
            owner_id=team["zhang"].id,
            customer_id=customer.id,
            due_at=due.strftime("%Y-%m-%d %H:%M"),  # in the CRM's zone
            remind_days=1,
            remind_sms=True,
        )
        assert task.due_at == due.replace(tzinfo=SHANGHAI)
        assert task.remind_at == task.due_at - timedelta(days=1)
        assert task.watchers == (team["boss"].id,)
        mine = s.tasks.create(title="写周报", due_at=due.strftime("%Y-%m-%d 18:00"))
        assert mine.owner_id == team["boss"].id and mine.watchers == ()
    with crm.session(actor=team["zhang"]) as s:
        assert [t.title for t in s.tasks.list()] == ["给金智电子送样品"]
        assert s.tasks.reminding() == []
    with crm.session(actor=team["other"]) as s, pytest.raises(NotFound):
        s.tasks.get(task.id)
    clock.advance(timedelta(days=2, hours=16))
    crm.run_due()
    crm.dispatch()
    assert [(m.channel, m.recipient, m.payload["title"]) for m in notifier.sent] == [
        ("sms", "+8613912345678", "给金智电子送样品")
    ]
    with crm.session(actor=team["zhang"]) as s:
        assert [t.id for t in s.tasks.reminding()] == [task.id]
        day = task.due_at.astimezone(SHANGHAI).date()
        assert [t.id for t in s.tasks.calendar(day, day)[day]] == [task.id]
        done = s.tasks.done(task.id)
        assert (done.status, done.done_at) == (TaskStatus.DONE, s.now())
        with pytest.raises(WorkflowError):
            s.tasks.done(task.id)
        assert s.tasks.reminding() == []
        again = s.tasks.reopen(task.id)
        assert again.status is TaskStatus.OPEN
        with pytest.raises(ValidationError) as no_reason:
            s.tasks.cancel(task.id, reason=" ")
        assert "取消原因" in no_reason.value.message("zh")
        assert s.tasks.cancel(task.id, reason="客户改期").status is TaskStatus.CANCELLED
    with crm.session(actor=team["boss"]) as s:  # whoever assigned it follows it
        assert s.tasks.get(task.id).status is TaskStatus.CANCELLED
        week = s.tasks.calendar(date(2020, 1, 1), date(2030, 1, 1))
        assert sum(len(v) for v in week.values()) == 2


def test_bad_task_input_is_named_and_writes_nothing(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.tasks.create(title="", due_at="下周", remind_days="-1", owner_id="nobody")
        assert {e.field for e in bad.value.errors} == {"title", "due_at", "owner_id", "remind_days"}
        with pytest.raises(ValidationError) as days:
            s.tasks.create(title="回访", due_at="2027-01-05 10:00", remind_days="400")
        assert [e.code for e in days.value.errors] == ["task.remind_days"]
        assert "须在 0 到 365 之间" in days.value.message("zh")
        assert s.tasks.count() == 0


def test_the_design_card_names_and_chinese_kinds_are_understood(crm, team, customer):
    with crm.session(actor=team["zhang"]) as s:
        logged = s.activities.log(
            customer_id=customer.id, kind="拜访", content="上门拜访", next_follow_up="2027-01-05"
        )
        assert (logged.kind, logged.next_follow_up) == (ActivityKind.VISIT, date(2027, 1, 5))


def test_a_task_takes_the_design_cards_keywords(crm, team):
    with crm.session(actor=team["boss"]) as s:
        task = s.tasks.create(
            title="回访", assignee_id=team["zhang"].id, due="2027-01-05 10:00", remind_days_before=1
        )
        assert (task.assignee_id, task.remind_days_before) == (team["zhang"].id, 1)
        assert task.due == datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI)
        moved = s.tasks.update(task.id, due="2027-01-06 10:00")
        assert moved.remind_at == datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI)


def test_periods_are_read_from_text_and_wrong_ones_named(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        s.tasks.create(title="回访", due="2027-01-05 10:00")
        mine = s.tasks.list(created_by=team["zhang"].id)
        assert [t.title for t in mine] == ["回访"]
        assert list(s.tasks.calendar("2027-01-01", "2027-01-31")) == [date(2027, 1, 5)]
        with pytest.raises(ValidationError) as wrong:
            s.tasks.calendar("2027-02-01", "2027年1月1日")
        assert [e.field for e in wrong.value.errors] == ["end"]
        assert "早于起始日期" in wrong.value.message("zh")
        with pytest.raises(ValidationError) as bad:
            s.activities.statistics("kind", start="一月")
        assert [e.field for e in bad.value.errors] == ["start"]
