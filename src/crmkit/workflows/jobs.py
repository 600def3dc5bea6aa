"""Due jobs: reminders, SLA timers, SFA steps, run once when their time comes.

A workflow schedules a job in its session (``Session.schedule(kind, due_at, payload,
key=...)``), in the business transaction; the application registers one handler per kind on
its CRM (``crm.on_job(kind, handler)``) and calls ``crm.run_due()`` from a timer or a worker
loop. ``run_due``:

1. turns claims that expired (a worker died mid-run) back into ``failed`` jobs, due now:
   their work never committed, so running them again is safe;
2. claims due jobs of the registered kinds (as the outbox claims messages) with a lease, and
   commits the claim;
3. runs each job's handler in a session of its own as the system actor and marks the job
   ``done`` **in that same transaction**: the job's effect and its ``done`` commit together
   or not at all, so a job's effect happens once. The mark is a compare-and-set on the
   claim: a run whose claim was lost meanwhile (its lease ran out and another worker took
   the job, or the job was cancelled) rolls back instead;
4. a handler that raises has its work rolled back; the job is ``failed`` and due again after
   a backoff (``retry_base_seconds`` doubling, no jitter) until ``job_max_attempts`` runs,
   then ``dead``.

A kind may instead have a *batch* handler (``crm.on_job_batch(kind, handler)``), given up to
``batch_size`` claimed jobs at once in one session: their effects and their ``done`` marks
commit together, which is what lets 10,000 SFA steps run in a few dozen transactions instead
of 10,000. If the batch raises or any of its claims was lost meanwhile, the whole batch
rolls back and its jobs run again one at a time, each with its own outcome, so one bad job
costs its batch only time.

Handlers must not commit (``session.commit()``) part-way: that would commit work before the
job is marked done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from crmkit.domain.errors import ConcurrencyError
from crmkit.domain.intake import new_id
from crmkit.storage.queues import Job, JobStatus
from crmkit.workflows.dispatch import backoff, claim_token

if TYPE_CHECKING:
    from crmkit.workflows.runtime import Runtime
    from crmkit.workflows.session import Session

log = logging.getLogger("crmkit.jobs")

JobHandler = Callable[["Session", Job], None]
"""What ``crm.on_job`` registers: called with the job's session (system actor) and the job."""
BatchJobHandler = Callable[["Session", Sequence[Job]], None]
"""What ``crm.on_job_batch`` registers: called with one session and several jobs of its kind."""
SessionFactory = Callable[[], AbstractContextManager["Session"]]
_KEY_LENGTH = 255
_ERROR_LENGTH = 2000


@attrs.frozen
class RunReport:
    """What one ``crm.run_due()`` did.

    Attributes:
        claimed: jobs claimed.
        done: jobs whose handler's work committed.
        failed: jobs whose handler raised, due again later.
        dead: jobs whose handler raised on their last attempt.
        expired: claims of stopped workers released for another run.
        lost: runs rolled back because their claim was lost meanwhile.
    """

    claimed: int = 0
    done: int = 0
    failed: int = 0
    dead: int = 0
    expired: int = 0
    lost: int = 0


def new_job(
    *, kind: str, due_at: datetime, payload: dict[str, Any], key: str | None, now: datetime
) -> Job:
    """A new job row (key defaults to its id: not deduplicated).

    Raises:
        ValueError: an empty kind, a naive ``due_at``, or a key too long to store.
    """
    if not kind:
        raise ValueError("a job needs a kind")
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    id = new_id()
    key = key or id
    if len(key) > _KEY_LENGTH:
        raise ValueError(f"job key too long ({len(key)} > {_KEY_LENGTH}): {key[:40]}…")
    return Job(id=id, kind=kind, key=key, due_at=due_at, payload=payload, created_at=now)


class _ClaimLost(Exception):
    """The job's settle found the claim gone: roll the run back."""


def run_due(
    runtime: Runtime,
    session: SessionFactory,
    *,
    now: datetime | None = None,
    limit: int = 100,
    worker: str | None = None,
) -> RunReport:
    """Run the due jobs of every registered kind (see the module docstring).

    Args:
        runtime: the CRM's runtime (its ``job_handlers``).
        session: opens a session as the system actor (``CRM.session``), which publishes
            the run's events after its commit.
        now: run the jobs due at this time (default: the clock's time).
        limit: at most this many jobs.
        worker: a name for this worker in the claims.
    """
    handlers = dict(runtime.job_handlers)
    batch_handlers = dict(runtime.batch_job_handlers)
    if not handlers and not batch_handlers:
        return RunReport()
    settings = runtime.settings
    # ``now`` chooses which jobs are due; leases are about real time and follow the clock
    # (a run for a later ``now`` must not expire other workers' claims early).
    clock_now = runtime.clock.now()
    at = now or clock_now
    token = claim_token(worker)
    with runtime.store.unit_of_work() as uow:
        expired = uow.jobs.expire_claims(
            now=clock_now,
            max_attempts=settings.job_max_attempts,
            note="claim expired: the worker stopped before the job committed",
        )
        claimed = uow.jobs.claim(
            kinds=handlers.keys() | batch_handlers.keys(),
            now=at,
            limit=limit,
            claimed_by=token,
            lease_until=clock_now + timedelta(seconds=settings.claim_lease_seconds),
        )
        uow.commit()
    outcomes: dict[str, int] = {"done": 0, "failed": 0, "dead": 0, "lost": 0}
    batches: dict[str, list[Job]] = {}
    for job in claimed:
        if job.kind in batch_handlers:
            batches.setdefault(job.kind, []).append(job)
        else:
            outcomes[_run_one(runtime, session, handlers[job.kind], job, token)] += 1
    size = max(1, settings.job_batch_size)
    for kind, jobs in batches.items():
        for start in range(0, len(jobs), size):
            chunk = jobs[start : start + size]
            for outcome in _run_batch(runtime, session, batch_handlers[kind], chunk, token):
                outcomes[outcome] += 1
    return RunReport(claimed=len(claimed), expired=expired, **outcomes)


def _run_batch(
    runtime: Runtime,
    session: SessionFactory,
    handler: BatchJobHandler,
    jobs: Sequence[Job],
    token: str,
) -> list[str]:
    """Run ``jobs`` in one session; on any failure, again one by one (see the docstring)."""
    if len(jobs) > 1:
        try:
            with session() as s:
                handler(s, jobs)
                done_at = s.now()
                finished = [
                    attrs.evolve(
                        job,
                        status=JobStatus.DONE,
                        done_at=done_at,
                        claimed_by=None,
                        lease_until=None,
                    )
                    for job in jobs
                ]
                if len(s._uow.jobs.settle_many(finished, claimed_by=token)) != len(jobs):
                    raise _ClaimLost
            return ["done"] * len(jobs)
        except Exception as exc:  # every job gets its own outcome below
            log.info(
                "batch of %d %s jobs rolled back (%s); running them one by one",
                len(jobs),
                jobs[0].kind,
                type(exc).__name__,
            )
    return [_run_one(runtime, session, lambda s, j: handler(s, [j]), job, token) for job in jobs]


def _run_one(
    runtime: Runtime, session: SessionFactory, handler: JobHandler, job: Job, token: str
) -> str:
    for run in range(CONFLICT_RERUNS + 1):
        try:
            with session() as s:
                handler(s, job)
                finished = attrs.evolve(
                    job,
                    status=JobStatus.DONE,
                    done_at=s.now(),
                    claimed_by=None,
                    lease_until=None,
                )
                if not s._uow.jobs.settle(finished, claimed_by=token):
                    raise _ClaimLost
            return "done"
        except _ClaimLost:
            log.warning("job %s (%s): claim lost; its run was rolled back", job.id, job.kind)
            return "lost"
        except Exception as exc:
            if isinstance(exc, ConcurrencyError):
                # A stale write in the handler and a lost claim look alike from here: the
                # job row says which (its claim is still ours only in the first case).
                if _claim_gone(runtime, job, token):
                    return "lost"
                if run < CONFLICT_RERUNS:
                    # Someone else changed a record the job read (two jobs of one ticket in
                    # two workers): nothing was kept, so run it again on what is stored now
                    # rather than wait out a backoff.
                    continue
            log.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempts)
            return _record_failure(runtime, job, token, exc)
    raise AssertionError("unreachable")  # pragma: no cover  (the last run returns)


CONFLICT_RERUNS: Final = 2
"""How many times a job whose handler met a concurrent change runs again at once."""


def _claim_gone(runtime: Runtime, job: Job, token: str) -> bool:
    with runtime.store.unit_of_work() as uow:
        current = uow.jobs.get(job.id)
    return current is None or current.status is not JobStatus.RUNNING or current.claimed_by != token


def _record_failure(runtime: Runtime, job: Job, token: str, exc: Exception) -> str:
    settings = runtime.settings
    now = runtime.clock.now()
    last = job.attempts >= settings.job_max_attempts
    after = attrs.evolve(
        job,
        status=JobStatus.DEAD if last else JobStatus.FAILED,
        due_at=job.due_at if last else now + backoff(job.attempts, settings),
        claimed_by=None,
        lease_until=None,
        last_error=f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH],
    )
    with runtime.store.unit_of_work() as uow:
        stored = uow.jobs.settle(after, claimed_by=token)
        uow.commit()
    if not stored:
        return "lost"
    return "dead" if last else "failed"
