"""Due jobs: each runs once, in its own transaction with its done mark, whoever runs them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import crmkit
from crmkit import CRM, SYSTEM, Job
from crmkit.domain.events import CustomerCreated
from crmkit.storage.memory import MemoryStore
from crmkit.storage.queues import JobStatus
from crmkit.testing import ManualClock, open_test_crm, store_of
from crmkit.workflows.runtime import Settings
from crmkit.workflows.session import Session

SETTINGS = Settings(job_max_attempts=3)
LEASE = timedelta(seconds=SETTINGS.claim_lease_seconds)


@pytest.fixture
def jobs_crm(backend_url: str | None, clock: ManualClock) -> Iterator[CRM]:
    crm = open_test_crm(backend_url, clock=clock, settings=SETTINGS)
    yield crm
    crm.close()


def _schedule(crm: CRM, *jobs: tuple[str, timedelta, str | None], payload=None) -> None:  # type: ignore[no-untyped-def]
    with crm.session(actor=SYSTEM) as s:
        for kind, delay, key in jobs:
            s.schedule(kind, crm.clock.now() + delay, payload or {"n": 1}, key=key)


def _job(crm: CRM, key: str) -> Job:
    with store_of(crm).unit_of_work() as uow:
        found = uow.jobs.get_by_key(key)
    assert found is not None
    return found


def _create_customer(name: str):  # type: ignore[no-untyped-def]
    def handler(s: Session, job: Job) -> None:
        s.customers.create(name=f"{name}{job.payload['n']}号电子科技有限公司", mobile=None)

    return handler


def _customers(crm: CRM) -> list[str]:
    with crm.session(actor=SYSTEM) as s:
        return [c.name for c in s.customers.list(limit=100)]


def test_a_due_job_runs_once_as_the_system_in_its_own_session(jobs_crm: CRM, clock):
    seen: list[tuple[str, str]] = []

    def remind(s: Session, job: Job) -> None:
        seen.append((s.actor.id, job.key))
        s.customers.create(name="青岛金智电子科技有限公司")

    jobs_crm.on_job("remind", remind)
    _schedule(jobs_crm, ("remind", timedelta(hours=1), "task-1"))
    assert jobs_crm.run_due().claimed == 0, "not due yet"
    assert jobs_crm.run_due(now=clock.now() + timedelta(hours=1)).done == 1
    assert jobs_crm.run_due(now=clock.now() + timedelta(days=9)).claimed == 0
    clock.advance(hours=2)
    assert jobs_crm.run_due().claimed == 0
    assert seen == [(SYSTEM.id, "task-1")]
    assert _customers(jobs_crm) == ["青岛金智电子科技有限公司"]
    done = _job(jobs_crm, "task-1")
    assert (done.status, done.attempts, done.done_at) == (
        JobStatus.DONE,
        1,
        clock.now() - timedelta(hours=2),
    )


def test_a_handlers_error_rolls_its_work_back_and_retries_on_a_doubling_schedule(
    jobs_crm: CRM, clock: ManualClock
):
    calls: list[int] = []

    def flaky(s: Session, job: Job) -> None:
        calls.append(job.attempts)
        s.customers.create(name=f"青岛金智{len(calls)}号电子科技有限公司")
        if len(calls) < 3:
            raise RuntimeError("gateway down")

    jobs_crm.on_job("flaky", flaky)
    _schedule(jobs_crm, ("flaky", timedelta(0), "f"))
    assert jobs_crm.run_due().failed == 1
    failed = _job(jobs_crm, "f")
    assert (failed.status, failed.attempts, failed.due_at) == (
        JobStatus.FAILED,
        1,
        clock.now() + timedelta(seconds=30),
    )
    assert failed.last_error == "RuntimeError: gateway down"
    assert _customers(jobs_crm) == [], "the failed run's work was rolled back"
    assert jobs_crm.run_due().claimed == 0
    clock.advance(seconds=30)
    assert jobs_crm.run_due().failed == 1
    assert _job(jobs_crm, "f").due_at == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=60)
    assert jobs_crm.run_due().done == 1
    assert calls == [1, 2, 3]
    assert _customers(jobs_crm) == ["青岛金智3号电子科技有限公司"]


def test_a_job_that_met_a_concurrent_change_runs_again_at_once(jobs_crm: CRM, clock):
    """A stale write (another worker changed what the job read) is not the job's fault: it
    runs again on what is stored now, a few times, before it counts as failed."""
    with jobs_crm.session(actor=SYSTEM) as s:
        target = s.customers.create(name="青岛金智电子科技有限公司")
    runs: list[int] = []

    def touch(s: Session, job: Job) -> None:
        runs.append(job.attempts)
        current = s.customers.get(target.id)
        if len(runs) == 1:  # someone else saves it between our read and our write
            with jobs_crm.session(actor=SYSTEM) as other:
                other.customers.update(target.id, remarks="客户来电")
        s.customers.update(target.id, version=current.version, industry="电子")

    def always_stale(s: Session, job: Job) -> None:
        raise crmkit.ConcurrencyError("customer", "c-1", 1, 2)

    jobs_crm.on_job("touch", touch)
    jobs_crm.on_job("stale", always_stale)
    _schedule(jobs_crm, ("touch", timedelta(0), "t"), ("stale", timedelta(0), "s"))
    report = jobs_crm.run_due()
    assert (report.done, report.failed) == (1, 1)
    assert runs == [1, 1], "the same claim, run twice"
    with jobs_crm.session(actor=SYSTEM) as s:
        saved = s.customers.get(target.id)
    assert (saved.remarks, saved.industry) == ("客户来电", "电子")
    stale = _job(jobs_crm, "s")
    assert (stale.status, stale.attempts) == (JobStatus.FAILED, 1)
    assert stale.last_error is not None and stale.last_error.startswith("ConcurrencyError")


def test_a_job_that_keeps_failing_is_dead_after_its_last_attempt(jobs_crm: CRM, clock):
    def broken(_s: Session, _job: Job) -> None:
        raise ValueError("bad payload")

    jobs_crm.on_job("broken", broken)
    _schedule(jobs_crm, ("broken", timedelta(0), "b"))
    reports = []
    for _ in range(3):
        reports.append(jobs_crm.run_due())
        clock.advance(hours=1)
    assert [(r.failed, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    assert _job(jobs_crm, "b").status is JobStatus.DEAD
    clock.advance(days=30)
    assert jobs_crm.run_due().claimed == 0


def test_scheduling_a_key_again_keeps_the_first_job(jobs_crm: CRM, clock):
    ran: list[object] = []
    jobs_crm.on_job("remind", lambda _s, job: ran.append(job.payload["n"]))
    _schedule(jobs_crm, ("remind", timedelta(0), "k"), payload={"n": 1})
    _schedule(jobs_crm, ("remind", timedelta(0), "k"), payload={"n": 2})
    with jobs_crm.session(actor=SYSTEM) as s:
        first = s.schedule("remind", clock.now(), {"n": 3}, key="same-session")
        second = s.schedule("remind", clock.now(), {"n": 4}, key="same-session")
        assert second is first
    jobs_crm.run_due()
    assert sorted(ran) == [1, 3]  # type: ignore[type-var]


def test_a_cancelled_job_does_not_run_and_its_key_can_be_scheduled_again(jobs_crm: CRM):
    ran: list[str] = []
    jobs_crm.on_job("remind", lambda _s, job: ran.append(job.key))
    _schedule(jobs_crm, ("remind", timedelta(0), "k"))
    with jobs_crm.session(actor=SYSTEM) as s:
        assert s.cancel_job("k") is True
        assert s.cancel_job("k") is False
    with jobs_crm.session(actor=SYSTEM) as s:
        s.schedule("remind", jobs_crm.clock.now(), {}, key="fresh")
        assert s.cancel_job("fresh") is True, "cancelled before it was even written"
    assert jobs_crm.run_due().claimed == 0
    _schedule(jobs_crm, ("remind", timedelta(0), "k"))
    jobs_crm.run_due()
    assert ran == ["k"]
    with jobs_crm.session(actor=SYSTEM) as s:
        assert s.cancel_job("k") is False, "a done job stays done"


def test_a_job_cancelled_while_it_runs_rolls_its_work_back(jobs_crm: CRM):
    def cancelled_meanwhile(s: Session, job: Job) -> None:
        # Someone cancels it meanwhile (before this run writes: a SQLite writer in the
        # same thread would wait for the run's write lock for ever).
        with jobs_crm.session(actor=SYSTEM) as other:
            assert other.cancel_job(job.key)
        s.customers.create(name="青岛金智电子科技有限公司")

    jobs_crm.on_job("remind", cancelled_meanwhile)
    _schedule(jobs_crm, ("remind", timedelta(0), "k"))
    assert jobs_crm.run_due().lost == 1
    assert _customers(jobs_crm) == []


def test_a_claim_left_by_a_dead_worker_is_run_again_after_its_lease(jobs_crm: CRM, clock):
    ran: list[int] = []
    jobs_crm.on_job("remind", lambda _s, job: ran.append(job.attempts))
    _schedule(jobs_crm, ("remind", timedelta(0), "k"))
    with store_of(jobs_crm).unit_of_work() as uow:  # claimed by a worker that then died
        uow.jobs.claim(
            kinds={"remind"},
            now=clock.now(),
            limit=1,
            claimed_by="dead/1",
            lease_until=clock.now() + LEASE,
        )
        uow.commit()
    assert jobs_crm.run_due().claimed == 0
    clock.advance(LEASE)
    report = jobs_crm.run_due()
    assert (report.expired, report.done) == (1, 1)
    assert ran == [2]


def test_handlers_belong_to_the_crm_that_registered_them(backend_url, clock):
    shared = MemoryStore() if backend_url is None else backend_url  # one store, two CRMs
    first = open_test_crm(shared, clock=clock)
    second = open_test_crm(shared, clock=clock)
    try:
        ran: list[str] = []
        first.on_job("remind", lambda _s, job: ran.append(job.key))
        _schedule(first, ("remind", timedelta(0), "k"), ("sla", timedelta(0), "s"))
        assert second.run_due().claimed == 0
        assert first.run_due().claimed == 1
        assert _job(first, "s").status is JobStatus.PENDING, "nobody here runs sla jobs"
        assert ran == ["k"]
    finally:
        first.close()
        second.close()


def test_events_of_a_jobs_work_reach_subscribers_after_its_commit(jobs_crm: CRM):
    got: list[CustomerCreated] = []
    jobs_crm.subscribe(CustomerCreated, got.append)
    jobs_crm.on_job("create", _create_customer("青岛金智"))
    _schedule(jobs_crm, ("create", timedelta(0), "c"))
    jobs_crm.run_due()
    assert len(got) == 1


# -- many workers --------------------------------------------------------------------------
def _two_workers_run_each_job_once(crms: list[CRM], n: int) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def handler(s: Session, job: Job) -> None:
        with lock:
            calls.append(job.key)
        # The job's effect, written in its transaction: a notification per job.
        s.queue_notification("sms", "+8613800138000", {}, key=job.key)

    for crm in crms:
        crm.on_job("remind", handler)
    with crms[0].session(actor=SYSTEM) as s:
        for i in range(n):
            s.schedule("remind", crms[0].clock.now(), {"i": i}, key=f"job-{i}")
    errors: list[BaseException] = []

    def loop(crm: CRM, name: str) -> None:
        try:
            while crm.run_due(limit=25, worker=name).claimed:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(c, f"w{i}")) for i, c in enumerate(crms)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(calls) == n, f"{len(calls) - len(set(calls))} runs twice"
    assert len(set(calls)) == n
    with store_of(crms[0]).unit_of_work() as uow:
        assert uow.jobs.count(JobStatus.DONE) == n
        assert uow.outbox.count() == n


def test_two_workers_on_a_sqlite_file_run_each_job_once(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    crms = [crmkit.open(url) for _ in range(2)]
    try:
        _two_workers_run_each_job_once(crms, 400)
    finally:
        for crm in crms:
            crm.close()


@pytest.mark.postgres
def test_two_workers_on_postgres_run_each_job_once(pg_schema_url: str):
    crms = [crmkit.open(pg_schema_url) for _ in range(2)]
    try:
        _two_workers_run_each_job_once(crms, 400)
    finally:
        for crm in crms:
            crm.close()


def test_two_threads_on_one_memory_crm_run_each_job_once():
    crm = crmkit.open()
    _two_workers_run_each_job_once([crm, crm], 400)
