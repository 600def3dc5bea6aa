"""Each SFA step runs exactly once, never before it is due, whatever the plan, the enrolment
points, the pauses, skips and resumes, and however many workers run ``crm.run_due`` at once.

Hypothesis draws a plan (periodic or cyclic, steps in calendar or working days, SMS and
manual tasks), enrols customers at random points (some mid-way), then plays a script of
clock ticks, each followed by several workers running due jobs at the same moment in
threads, with pauses, resumes (both policies) and skips in between. At the end, for every
enrolment, the runs it recorded are exactly the plan's occurrences from its first one up to
its cursor, in order, each once; executed ones were executed at or after their due time;
every message left the outbox once and every manual task exists once.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit import EnrolmentStatus, RunOutcome
from crmkit.storage.catalog import SFA_ENROLMENTS, SFA_RUNS, TASKS
from crmkit.storage.ports import EntityQuery
from crmkit.testing import open_test_crm
from crmkit.testing.clocks import ManualClock
from crmkit.testing.notifiers import RecordingNotifier

START = datetime(2026, 4, 27, 0, 30, tzinfo=UTC)  # Monday before the May Day break
EXECUTED = (RunOutcome.SENT, RunOutcome.TASK, RunOutcome.NO_ADDRESS)

steps_st = st.lists(
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["sms", "task"]),
            "unit": st.sampled_from(["days", "workdays"]),
            "offset": st.integers(0, 6),
            "at": st.sampled_from(["08:00", "09:30", "18:00"]),
        }
    ),
    min_size=1,
    max_size=4,
)
plan_st = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["periodic", "cyclic"]),
        "cycle_days": st.integers(3, 9),
        "rounds": st.integers(1, 3),
        "steps": steps_st,
    }
)
enrol_st = st.lists(
    st.tuples(st.integers(-6, 0), st.none() | st.integers(1, 4)),  # anchor shift, start step
    min_size=1,
    max_size=3,
)
op_st = st.tuples(
    st.integers(1, 40),  # hours to advance
    st.sampled_from(["none", "none", "pause", "resume-skip", "resume-send", "skip"]),
    st.integers(0, 2),  # which enrolment
)


def _play(url: str | None, plan_spec, enrolments, script, workers: int) -> None:
    clock = ManualClock(START)
    notifier = RecordingNotifier()
    crm = open_test_crm(url, clock=clock, notifier=notifier)
    try:
        admin = crm.bootstrap_admin("管理员", "admin-pass-1")
        with crm.session(actor=admin) as s:
            s.messages.templates.create(code="hello", name="问候", body="{name}您好")
            steps = [
                {**step, "template": "hello"}
                if step["action"] == "sms"
                else {**step, "title": "回访"}
                for step in plan_spec["steps"]
            ]
            plan = s.sfa.create_plan(
                name="方案",
                kind=plan_spec["kind"],
                cycle_days=plan_spec["cycle_days"] if plan_spec["kind"] == "cyclic" else None,
                rounds=plan_spec["rounds"] if plan_spec["kind"] == "cyclic" else None,
                marketing=False,
                steps=steps,
            )
            ids = []
            for n, (shift, start_step) in enumerate(enrolments):
                customer = s.customers.create(name=f"客户{n}", mobile=f"1380013800{n}")
                report = s.sfa.enrol(
                    plan.id,
                    [customer.id],
                    anchor=date(2026, 4, 27) + timedelta(days=shift),
                    start_step=min(start_step, len(steps)) if start_step else None,
                )
                ids += report.enrolment_ids

        def run_workers() -> None:
            barrier = threading.Barrier(workers)
            errors: list[BaseException] = []

            def work() -> None:
                try:
                    barrier.wait()
                    while crm.run_due(limit=3).claimed:
                        pass
                    crm.dispatch()
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work) for _ in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors

        for hours, op, which in script:
            clock.advance(timedelta(hours=hours))
            target = ids[which % len(ids)]
            with crm.session(actor=admin) as s:
                status = s.sfa.enrolment(target).status
                if op == "pause" and status is EnrolmentStatus.ACTIVE:
                    s.sfa.pause(target)
                elif op.startswith("resume") and status is EnrolmentStatus.PAUSED:
                    s.sfa.resume(target, missed=op.removeprefix("resume-"))
                elif op == "skip" and status in (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED):
                    s.sfa.skip(target)
            run_workers()
        run_workers()
        _check(crm, admin, ids, notifier)
    finally:
        crm.close()


def _check(crm, admin, ids, notifier: RecordingNotifier) -> None:
    with crm.session(actor=admin) as s:
        uow = s._uow
        everything = uow.repo(SFA_RUNS).list(EntityQuery(), s.actor.scope, after=None, limit=10_000)
        runs = list(everything.items)
        tasks = uow.repo(TASKS).list(EntityQuery(), s.actor.scope, after=None, limit=10_000).items
        for enrolment_id in ids:
            enrolment = uow.repo(SFA_ENROLMENTS).get(enrolment_id)
            assert enrolment is not None
            mine = sorted(
                (r for r in runs if r.enrolment_id == enrolment_id),
                key=lambda r: (r.round, r.due_at, r.step),
            )
            schedule = s.sfa._schedule_of(enrolment)
            # the walk from the first run (or the cursor, if nothing ran) to the cursor
            expected = []
            if mine:
                current = schedule.following(None)
                while current is not None and (current.round, current.due_at, current.step) < (
                    mine[0].round,
                    mine[0].due_at,
                    mine[0].step,
                ):
                    current = schedule.following(current)
                while current is not None and (
                    enrolment.cursor is None or current.order < enrolment.cursor.order
                ):
                    expected.append((current.round, current.step, current.due_at))
                    current = schedule.following(current)
                if enrolment.status is EnrolmentStatus.FINISHED:
                    assert current is None, "finished with occurrences left"
            assert [(r.round, r.step, r.due_at) for r in mine] == expected
            for run in mine:
                if run.outcome in EXECUTED:
                    assert run.created_at >= run.due_at, f"{run.key} ran before it was due"
            assert enrolment.executed == sum(r.outcome in EXECUTED for r in mine)
    sent = Counter(m.key for m in notifier.sent)
    assert all(n == 1 for n in sent.values()), "a message went out twice"
    assert len(sent) == sum(r.outcome is RunOutcome.SENT for r in runs)
    refs = Counter(t.source_ref for t in tasks)
    assert all(n == 1 for n in refs.values()), "a manual task was made twice"
    assert len(refs) == sum(r.outcome is RunOutcome.TASK for r in runs)


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )


@examples(40)
@given(
    plan_spec=plan_st,
    enrolments=enrol_st,
    script=st.lists(op_st, min_size=3, max_size=12),
    workers=st.integers(1, 4),
)
def test_every_step_runs_once_in_memory(plan_spec, enrolments, script, workers) -> None:
    _play(None, plan_spec, enrolments, script, workers)


@examples(15)
@given(
    plan_spec=plan_st,
    enrolments=enrol_st,
    script=st.lists(op_st, min_size=3, max_size=10),
    workers=st.integers(2, 4),
)
def test_every_step_runs_once_on_sqlite(tmp_path_factory, plan_spec, enrolments, script, workers):
    url = f"sqlite:///{tmp_path_factory.mktemp('sfa')}/crm.db"
    _play(url, plan_spec, enrolments, script, workers)


@pytest.mark.postgres
@examples(8)
@given(
    plan_spec=plan_st,
    enrolments=enrol_st,
    script=st.lists(op_st, min_size=3, max_size=8),
    workers=st.integers(2, 4),
)
def test_every_step_runs_once_on_postgres(pg_url_factory, plan_spec, enrolments, script, workers):
    _play(pg_url_factory(), plan_spec, enrolments, script, workers)
