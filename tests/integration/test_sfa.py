"""SFA plans on every backend: enrol one customer or a batch, steps run when due (SMS through
the outbox, manual tasks for the salesperson), mid-way starts, pause and resume with both
policies for what fell due meanwhile, skip ahead, re-run by hand, disabled plans, stopped
enrolments; bad input named in zh and en."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmkit import (
    EnrolmentStatus,
    NotFound,
    PermissionDenied,
    RunOutcome,
    ValidationError,
    WorkflowError,
)
from crmkit.testing import open_test_crm
from crmkit.testing.clocks import ManualClock
from crmkit.testing.notifiers import RecordingNotifier

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2 March 2026, 08:00 in Shanghai
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def crm(backend_url, clock, notifier):
    crm = open_test_crm(backend_url, clock=clock, notifier=notifier)
    yield crm
    crm.close()


@pytest.fixture
def customers(crm, team):
    with crm.session(actor=team["admin"]) as s:
        s.messages.templates.create(
            code="welcome", name="欢迎", body="{name}您好，{owner}为您服务。", marketing=False
        )
        s.messages.templates.create(
            code="promo", name="促销", body="{name}：春季新品八折。", marketing=True
        )
        return [
            s.customers.create(name=name, mobile=mobile, owner_id=team["zhang"].id, tags=["门锁"])
            for name, mobile in (
                ("青岛金智电子科技有限公司", "13800138001"),
                ("上海四通贸易有限公司", "13800138002"),
                ("北京海瑞工贸有限公司", None),
            )
        ]


@pytest.fixture
def plan(crm, team, customers):
    with crm.session(actor=team["boss"]) as s:
        return s.sfa.create_plan(
            name="新客户关怀",
            kind="periodic",
            marketing=False,
            steps=[
                {"action": "sms", "offset": 0, "template": "welcome", "at": "10:00"},
                {"action": "task", "unit": "workdays", "offset": 2, "title": "电话回访"},
                {"action": "sms", "offset": 7, "template": "welcome"},
            ],
        )


def advance_and_run(crm, clock, **delta):
    """Move the clock on and do what a worker does: run due jobs until none is left (a
    step that runs late schedules the next one, already due), then send."""
    clock.advance(timedelta(**delta))
    claimed = 0
    while (report := crm.run_due()).claimed:
        claimed += report.claimed
    crm.dispatch()
    return claimed


def test_a_plan_runs_each_step_when_due_for_one_customer(
    crm, team, customers, plan, clock, notifier
):
    first = customers[0]
    with crm.session(actor=team["zhang"]) as s:
        report = s.sfa.enrol(plan.id, [first.id])
        assert (report.enrolled, report.already, report.missing) == (1, 0, 0)
        enrolment = s.sfa.enrolment(report.enrolment_ids[0])
        assert enrolment.next_due_at == datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
        assert s.sfa.enrol(plan.id, [first.id]).already == 1  # enrolled once
    assert advance_and_run(crm, clock) == 0  # 08:00: not yet
    advance_and_run(crm, clock, hours=2)
    assert [m.recipient for m in notifier.sent] == ["+8613800138001"]
    assert (
        notifier.sent[0].payload["text"] == "【crmkit】青岛金智电子科技有限公司您好，张三为您服务。"
    )
    advance_and_run(crm, clock, days=2)  # Wednesday 10:00: two working days on, 09:00
    with crm.session(actor=team["zhang"]) as s:
        (task,) = s.sfa.pending_tasks()
        assert (task.title, task.owner_id, task.customer_id) == (
            "电话回访",
            team["zhang"].id,
            first.id,
        )
    with crm.session(actor=team["li"]) as s:
        assert s.sfa.pending_tasks() == []  # someone else's customer
    advance_and_run(crm, clock, days=7)
    with crm.session(actor=team["zhang"]) as s:
        done = s.sfa.enrolment(enrolment.id)
        assert done.status is EnrolmentStatus.FINISHED and done.executed == 3
        assert [r.outcome for r in s.sfa.runs(done.id)] == [
            RunOutcome.SENT,
            RunOutcome.TASK,
            RunOutcome.SENT,
        ]
        assert len(s.messages.for_customer(first.id)) == 2
    assert len(notifier.sent) == 2
    assert crm.run_due().claimed == 0


def test_a_batch_by_filter_enrols_the_actors_customers_and_records_missing_addresses(
    crm, team, customers, plan, clock, notifier
):
    with crm.session(actor=team["zhang"]) as s:
        report = s.sfa.enrol(plan.id, tag="门锁")
        assert report.enrolled == 3
    with crm.session(actor=team["other"]) as s:  # sees none of them
        assert s.sfa.enrol(plan.id, tag="门锁").enrolled == 0
        with pytest.raises(NotFound):
            s.sfa.enrolment(report.enrolment_ids[0])
    advance_and_run(crm, clock, hours=3)
    assert sorted(m.recipient for m in notifier.sent) == ["+8613800138001", "+8613800138002"]
    with crm.session(actor=team["zhang"]) as s:
        outcomes = sorted(s.sfa.runs(i)[0].outcome for i in report.enrolment_ids)
    assert outcomes == [RunOutcome.NO_ADDRESS, RunOutcome.SENT, RunOutcome.SENT]


def test_a_mid_way_start_runs_only_the_steps_after_the_enrolment_point(
    crm, team, customers, plan, clock, notifier
):
    with crm.session(actor=team["zhang"]) as s:
        # the plan started for this customer five days ago: steps 1 and 2 are past
        late = s.sfa.enrol(plan.id, [customers[0].id], anchor=date(2026, 2, 25)).enrolment_ids[0]
        from_step = s.sfa.enrol(plan.id, [customers[1].id], start_step=3).enrolment_ids[0]
        assert s.sfa.enrolment(late).next_step == 2
        assert s.sfa.enrolment(late).next_due_at == datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI)
        assert s.sfa.enrolment(from_step).next_step == 2
    advance_and_run(crm, clock, days=10)
    with crm.session(actor=team["zhang"]) as s:
        assert [(r.step, r.outcome) for r in s.sfa.runs(late)] == [(2, RunOutcome.SENT)]
        assert [(r.step, r.outcome) for r in s.sfa.runs(from_step)] == [(2, RunOutcome.SENT)]
        assert s.sfa.pending_tasks() == []
    assert len(notifier.sent) == 2


@pytest.mark.parametrize("missed", ["skip", "send"])
def test_what_fell_due_while_paused_is_skipped_or_sent_on_resuming(
    crm, team, customers, plan, clock, notifier, missed
):
    with crm.session(actor=team["zhang"]) as s:
        enrolment = s.sfa.enrol(plan.id, [customers[0].id]).enrolment_ids[0]
    advance_and_run(crm, clock, hours=3)  # step 1 sent
    with crm.session(actor=team["zhang"]) as s:
        paused = s.sfa.pause(enrolment)
        assert paused.status is EnrolmentStatus.PAUSED
        with pytest.raises(WorkflowError) as refused:
            s.sfa.pause(enrolment)
        assert "已暂停" in refused.value.message("zh")
    advance_and_run(crm, clock, days=3)  # step 2 (a task) falls due while paused
    assert crm.run_due().claimed == 0
    with crm.session(actor=team["zhang"]) as s:
        resumed = s.sfa.resume(enrolment, missed=missed)
        assert resumed.status is EnrolmentStatus.ACTIVE
    advance_and_run(crm, clock, minutes=1)
    advance_and_run(crm, clock, days=7)
    with crm.session(actor=team["zhang"]) as s:
        runs = [(r.step, r.outcome) for r in s.sfa.runs(enrolment)]
        final = s.sfa.enrolment(enrolment)
        tasks = s.sfa.pending_tasks()
    if missed == "skip":
        assert runs == [(0, RunOutcome.SENT), (1, RunOutcome.MISSED), (2, RunOutcome.SENT)]
        assert (final.executed, final.skipped, tasks) == (2, 1, [])
    else:
        assert runs == [(0, RunOutcome.SENT), (1, RunOutcome.TASK), (2, RunOutcome.SENT)]
        assert (final.executed, final.skipped, len(tasks)) == (3, 0, 1)
    assert final.status is EnrolmentStatus.FINISHED
    assert len(notifier.sent) == 2


def test_skip_ahead_stop_and_rerun_by_hand(crm, team, customers, plan, clock, notifier):
    with crm.session(actor=team["zhang"]) as s:
        a, b = s.sfa.enrol(plan.id, [customers[0].id, customers[1].id]).enrolment_ids
        skipped = s.sfa.skip(a, count=2)
        assert (skipped.next_step, skipped.skipped) == (2, 2)
        s.sfa.stop(b)
        with pytest.raises(WorkflowError):
            s.sfa.skip(b)
    advance_and_run(crm, clock, days=10)
    assert [m.recipient for m in notifier.sent] == ["+8613800138001"]  # a's third step only
    with crm.session(actor=team["zhang"]) as s:
        assert [r.outcome for r in s.sfa.runs(a)] == [
            RunOutcome.SKIPPED,
            RunOutcome.SKIPPED,
            RunOutcome.SENT,
        ]
        again = s.sfa.rerun(a, 1)
        assert again.outcome is RunOutcome.SENT and again.key.endswith(":rerun:4")
        with pytest.raises(ValidationError) as bad:
            s.sfa.rerun(a, 9)
        assert bad.value.fields == ("step",)
    crm.dispatch()
    assert len(notifier.sent) == 2


def test_a_disabled_plan_misses_what_falls_due_and_goes_on_once_enabled(
    crm, team, customers, plan, clock, notifier
):
    with crm.session(actor=team["zhang"]) as s:
        enrolment = s.sfa.enrol(plan.id, [customers[0].id]).enrolment_ids[0]
        with pytest.raises(PermissionDenied):
            s.sfa.disable(plan.id)  # managers and admins keep plans
    with crm.session(actor=team["boss"]) as s:
        assert s.sfa.disable(plan.id).enabled is False
    advance_and_run(crm, clock, days=3)
    with crm.session(actor=team["boss"]) as s:
        s.sfa.enable(plan.id)
    advance_and_run(crm, clock, days=7)
    with crm.session(actor=team["zhang"]) as s:
        assert [r.outcome for r in s.sfa.runs(enrolment)] == [
            RunOutcome.MISSED,
            RunOutcome.MISSED,
            RunOutcome.SENT,
        ]
    assert len(notifier.sent) == 1


def test_an_enrolment_stops_when_its_customer_is_deleted(crm, team, customers, plan, clock):
    with crm.session(actor=team["zhang"]) as s:
        enrolment = s.sfa.enrol(plan.id, [customers[0].id]).enrolment_ids[0]
        s.customers.delete(customers[0].id)
    advance_and_run(crm, clock, days=1)
    with crm.session(actor=team["admin"]) as s:
        assert s.sfa.enrolment(enrolment).status is EnrolmentStatus.STOPPED


def test_a_cyclic_plan_repeats_and_a_marketing_plan_respects_opt_outs(
    crm, team, customers, clock, notifier
):
    with crm.session(actor=team["boss"]) as s:
        cyclic = s.sfa.create_plan(
            name="每周促销",
            kind="cyclic",
            cycle_days=7,
            rounds=3,
            steps=[{"action": "sms", "offset": 0, "template": "promo", "at": "10:00"}],
        )
        s.messages.unsubscribe("13800138002")
        ids = s.sfa.enrol(cyclic.id, [customers[0].id, customers[1].id]).enrolment_ids
    for _ in range(4):
        advance_and_run(crm, clock, days=7)
    assert [m.recipient for m in notifier.sent] == ["+8613800138001"] * 3
    assert all(m.payload["text"].endswith("回T退订") for m in notifier.sent)
    with crm.session(actor=team["zhang"]) as s:
        assert [r.round for r in s.sfa.runs(ids[0])] == [0, 1, 2]
        assert {r.outcome for r in s.sfa.runs(ids[1])} == {RunOutcome.UNSUBSCRIBED}


def test_bad_plans_are_refused_with_every_wrong_field_named(crm, team, customers):
    with crm.session(actor=team["boss"]) as s:
        with pytest.raises(ValidationError) as no_steps:
            s.sfa.create_plan(name="空方案", steps=[])
        assert no_steps.value.fields == ("steps",)
        assert "方案至少需要一个步骤" in no_steps.value.message("zh")
        assert "a plan needs at least one step" in no_steps.value.message("en")
        with pytest.raises(ValidationError) as wrong:
            s.sfa.create_plan(
                name="",
                kind="cyclic",
                steps=[
                    {"action": "sms", "offset": "两天", "template": "welcome"},
                    {"action": "sms", "offset": 1, "template": "no-such"},
                    {"action": "email", "offset": 1, "template": "welcome"},
                ],
            )
        assert set(wrong.value.fields) == {
            "name",
            "steps.1.offset",
            "steps.2.template",
            "steps.3.template",
            "cycle_days",
        }
        zh = wrong.value.message("zh")
        assert "不是整数天数" in zh and "模板不存在" in zh and "不适用于此发送方式" in zh
        assert "is not a whole number of days" in wrong.value.message("en")
        with pytest.raises(ValidationError) as nobody:
            s.sfa.enrol(
                s.sfa.create_plan(name="回访", steps=[{"action": "task", "title": "回访"}]).id
            )
        assert "请选择客户或筛选条件" in nobody.value.message("zh")
