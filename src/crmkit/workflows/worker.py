"""The worker loop: due jobs and the outbox, round after round, until told to stop.

A round is ``crm.run_due()`` then ``crm.dispatch()``. While a round finds work the next one
starts at once, so a backlog drains at full speed; a round that finds nothing waits
``interval`` seconds. An exception (the database restarting, a network blip) is logged and
the loop backs off, doubling its wait up to :data:`MAX_BACKOFF` seconds, instead of dying:
the claims make a half-done round safe to repeat.

Stopping is cooperative: setting the ``stop`` event ends the loop after the round under way,
so a message being handed to a gateway is never cut off by our own shutdown (the claims would
make that safe, but it would leave the message in doubt for a person to resolve).
:func:`run_until_signalled` wires SIGTERM and SIGINT to that event for the ``crmkit worker``
command and for anyone running the loop as a service.

Many workers may run at once, on one machine or many: each job and message is claimed by one
of them.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Protocol

import attrs

from crmkit.workflows.dispatch import DispatchReport
from crmkit.workflows.jobs import RunReport

log = logging.getLogger("crmkit.worker")

MAX_BACKOFF = 60.0
"""The longest wait after failing rounds, in seconds."""


class Pollable(Protocol):
    """What the loop drives: a ``crmkit.CRM`` (or anything with its two methods)."""

    def run_due(
        self, now: datetime | None = None, limit: int = 100, worker: str | None = None
    ) -> RunReport: ...

    def dispatch(self, limit: int = 500, worker: str | None = None) -> DispatchReport: ...


@attrs.define
class WorkerTotals:
    """What a worker did over all its rounds.

    Attributes:
        rounds: rounds completed (failed ones not counted).
        busy_rounds: rounds that found work.
        errors: rounds that raised (logged, then retried after a back-off).
        jobs_done: jobs whose handler's work committed.
        jobs_failed: jobs whose handler raised (due again later, or dead).
        sent: messages the notifiers accepted.
        retrying: messages that failed and wait for a retry.
        dead: messages given up.
        unknown: messages whose outcome is unknown (a timeout; asked about later).
    """

    rounds: int = 0
    busy_rounds: int = 0
    errors: int = 0
    jobs_done: int = 0
    jobs_failed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    unknown: int = 0


def _found_work(jobs: RunReport, outbox: DispatchReport) -> bool:
    # Claims, not outcomes: a round that claimed something may have more behind it even if
    # every send failed; what failed is due again only after its back-off, so a drain ends.
    return bool(
        jobs.claimed
        or jobs.expired
        or outbox.claimed
        or outbox.expired
        or outbox.reconciled
        or outbox.events
    )


def run_worker(
    crm: Pollable,
    *,
    interval: float = 1.0,
    limit: int = 100,
    stop: threading.Event | None = None,
    once: bool = False,
    worker: str | None = None,
) -> WorkerTotals:
    """Run due jobs and send due messages until ``stop`` is set (or, with ``once``, until a
    round finds nothing to do).

    Args:
        crm: the CRM to work for.
        interval: seconds to wait after a round that found nothing.
        limit: at most this many jobs and this many messages per round.
        stop: set it (from another thread, a signal handler ...) to stop after the round
            under way; None runs until ``once`` ends it.
        once: drain what is due now and return (for cron, or a one-off catch-up). A round
            that raises ends it too: a scheduler will start it again.
        worker: this worker's name in the claims (default: host and process id).

    Returns:
        The totals over all rounds.

    Raises:
        ValueError: a negative interval or a limit below 1.
    """
    if interval < 0 or limit < 1:
        raise ValueError("interval must be >= 0 and limit >= 1")
    stop = stop or threading.Event()
    totals = WorkerTotals()
    failures = 0
    while not stop.is_set():
        try:
            jobs = crm.run_due(limit=limit, worker=worker)
            outbox = crm.dispatch(limit=limit, worker=worker)
        except Exception:
            totals.errors += 1
            failures += 1
            wait = min(max(interval, 0.1) * 2 ** (failures - 1), MAX_BACKOFF)
            log.exception("worker round failed (%d in a row); next try in %.1fs", failures, wait)
            if once:
                break
            stop.wait(wait)
            continue
        failures = 0
        totals.rounds += 1
        totals.jobs_done += jobs.done
        totals.jobs_failed += jobs.failed + jobs.dead
        totals.sent += outbox.sent
        totals.retrying += outbox.retrying
        totals.dead += outbox.dead
        totals.unknown += outbox.unknown
        if _found_work(jobs, outbox):
            totals.busy_rounds += 1
            log.info(
                "jobs: %d done, %d failed; messages: %d sent, %d retrying, %d dead, "
                "%d unknown, %d in review",
                jobs.done,
                jobs.failed + jobs.dead,
                outbox.sent,
                outbox.retrying,
                outbox.dead,
                outbox.unknown,
                outbox.review,
            )
            continue  # more may be waiting: drain before sleeping
        if once:
            break
        stop.wait(interval)
    return totals


def run_until_signalled(
    crm: Pollable,
    *,
    interval: float = 1.0,
    limit: int = 100,
    once: bool = False,
    worker: str | None = None,
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    on_stop: Callable[[signal.Signals], None] | None = None,
) -> WorkerTotals:
    """:func:`run_worker` until one of ``signals`` arrives, then finish the round and return.

    The loop runs in its own thread while this (the main) thread waits for it, so a signal
    handler only sets the stop event and never interrupts a send. After the first signal
    the previous handlers are back: a second Ctrl-C stops the process the usual way.

    Args:
        crm: the CRM to work for.
        interval: as :func:`run_worker`.
        limit: as :func:`run_worker`.
        once: as :func:`run_worker`.
        worker: as :func:`run_worker`.
        signals: the signals that stop the worker.
        on_stop: called (in the main thread) with the signal that stopped it.

    Raises:
        ValueError: called from a thread other than the main one (signals go there only).
    """
    stop = threading.Event()
    result: list[WorkerTotals] = []
    failure: list[BaseException] = []
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def handle(signum: int, _frame: FrameType | None) -> None:
        restore()
        stop.set()
        if on_stop is not None:
            on_stop(signal.Signals(signum))

    def loop() -> None:
        try:
            result.append(
                run_worker(crm, interval=interval, limit=limit, stop=stop, once=once, worker=worker)
            )
        except BaseException as exc:  # handed to the main thread, which raises it
            failure.append(exc)

    for sig in signals:
        signal.signal(sig, handle)
    # A daemon thread: should a second signal end the process, the interpreter must not
    # wait for the round under way.
    thread = threading.Thread(target=loop, name="crmkit-worker", daemon=True)
    try:
        thread.start()
        thread.join()
    finally:
        # Handlers first: one arriving while this thread holds the event's lock in set()
        # would wait for itself.
        restore()
        stop.set()
    if failure:
        raise failure[0]
    return result[0]
