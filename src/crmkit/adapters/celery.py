"""crmkit's background work on an existing Celery deployment (``pip install crmkit[celery]``).

For applications that already run Celery workers and beat, instead of a ``crmkit worker``
process::

    from celery import Celery
    import crmkit
    from crmkit.adapters import celery as crmkit_celery

    app = Celery("shop", broker="redis://127.0.0.1:6379/0")
    crmkit_celery.install(app, lambda: crmkit.open("postgresql+psycopg://…", notifier="smtp"))

:func:`install` registers two tasks, ``crmkit.run_due`` and ``crmkit.dispatch``, and a beat
entry for each. Every worker process builds its own CRM with the factory on the first task
it runs (connections must not cross a fork), and keeps it.

**Many workers are safe.** The tasks may run on any number of workers, at the same time,
and beat may fire while an earlier run is still going: each job and each message is claimed
by one run (a row lock with a lease), so nothing runs or is sent twice. A worker that dies
mid-run leaves claims that expire; a later run takes them over (a message in doubt is asked
about, never resent blindly; see ``crmkit.workflows.dispatch``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import celery  # type: ignore[import-untyped]

    from crmkit._crm import CRM

RUN_DUE = "crmkit.run_due"
DISPATCH = "crmkit.dispatch"


class _PerProcess:
    """The factory's CRM, built once per process on first use.

    Keyed by process id: a CRM built before a fork (the prefork pool forks the worker that
    imported the app) is not reused by the children, whose database connections must be
    their own.
    """

    def __init__(self, factory: Callable[[], CRM]) -> None:
        self._factory = factory
        self._lock = threading.Lock()  # the threads pool runs tasks in parallel
        self._pid: int | None = None
        self._crm: CRM | None = None

    def get(self) -> CRM:
        with self._lock:
            if self._crm is None or self._pid != os.getpid():
                self._crm = self._factory()
                self._pid = os.getpid()
            return self._crm


def install(
    app: celery.Celery,
    crm_factory: Callable[[], CRM],
    *,
    every: float = 5.0,
    limit: int = 100,
) -> None:
    """Register ``crmkit.run_due`` and ``crmkit.dispatch`` on ``app`` and schedule both
    every ``every`` seconds in its beat schedule (entries of the same names).

    The tasks return what they did (``RunReport`` and ``DispatchReport`` as dicts). Beat
    entries expire after ``every`` seconds: when workers are busy, a tick that waited that
    long is dropped rather than piling up behind the next one.

    Args:
        app: the application's Celery app.
        crm_factory: builds the CRM a worker process uses (called once per process, in the
            worker, on its first crmkit task), with the notifiers it sends through and any
            ``crm.on_job`` handlers registered.
        every: seconds between beat runs of each task.
        limit: at most this many jobs, and this many messages, per task run.

    Raises:
        ValueError: ``every`` not positive or ``limit`` below 1.
    """
    if every <= 0 or limit < 1:
        raise ValueError("every must be > 0 and limit >= 1")
    crms = _PerProcess(crm_factory)

    def run_due() -> dict[str, Any]:
        """Run the jobs that are due (``crm.run_due``)."""
        return attrs.asdict(crms.get().run_due(limit=limit))

    def dispatch() -> dict[str, Any]:
        """Send the messages that are due (``crm.dispatch``)."""
        return attrs.asdict(crms.get().dispatch(limit=limit))

    # shared=False: a shared task would be added to every Celery app of the process, each
    # then calling this app's factory.
    app.task(name=RUN_DUE, shared=False)(run_due)
    app.task(name=DISPATCH, shared=False)(dispatch)
    schedule = dict(app.conf.beat_schedule or {})
    for name in (RUN_DUE, DISPATCH):
        schedule[name] = {"task": name, "schedule": every, "options": {"expires": every}}
    app.conf.beat_schedule = schedule
