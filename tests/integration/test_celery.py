"""crmkit's tasks on a real Celery worker with the machine's Redis as broker and backend.

Skipped when Redis does not answer at ``CRMKIT_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``), failed instead with ``CRMKIT_REQUIRE_REDIS=1`` (CI).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import celery
import pytest
from celery.contrib.testing.worker import start_worker

import crmkit
from crmkit import CRM, SYSTEM, Job
from crmkit.adapters import celery as crmkit_celery
from crmkit.testing.notifiers import RecordingNotifier
from crmkit.workflows.session import Session

REDIS_URL = os.environ.get("CRMKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("CRMKIT_REQUIRE_REDIS") == "1"
WAIT = 10.0  # seconds a task result may take; normally milliseconds


def redis_unavailable_reason() -> str | None:
    """None if Redis answers at REDIS_URL, else why not."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure means "not usable here"
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


def require_redis() -> None:
    reason = redis_unavailable_reason()
    if reason is not None:
        if REQUIRE_REDIS:
            pytest.fail(f"CRMKIT_REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/celery.db"


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def ran() -> list[str]:
    return []


@pytest.fixture
def builds() -> list[CRM]:
    return []


@pytest.fixture
def app(
    url: str, notifier: RecordingNotifier, ran: list[str], builds: list[CRM]
) -> Iterator[celery.Celery]:
    require_redis()
    app = celery.Celery(f"crmkit-test-{uuid.uuid4().hex[:8]}", broker=REDIS_URL, backend=REDIS_URL)
    app.conf.update(
        # A queue of this test's own: parallel runs on one Redis never take each other's tasks.
        task_default_queue=f"crmkit-test-{uuid.uuid4().hex}",
        result_expires=60,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,  # leave pytest's log capture alone
    )

    def remind(s: Session, job: Job) -> None:
        ran.append(job.key)

    def build() -> CRM:
        crm = crmkit.open(url, notifier=notifier)
        crm.on_job("remind", remind)
        builds.append(crm)
        return crm

    crmkit_celery.install(app, build, every=2.5, limit=50)
    # Celery's test worker sets the root logger to ERROR for the whole process: put it back,
    # or later tests' warnings never reach pytest's log capture.
    root_level = logging.getLogger().level
    yield app
    logging.getLogger().setLevel(root_level)
    app.close()
    for built in builds:
        built.close()


@pytest.fixture
def crm(url: str) -> Iterator[CRM]:
    """The application's side: it queues messages and schedules jobs."""
    crm = crmkit.open(url)
    yield crm
    crm.close()


def test_the_tasks_send_queued_messages_and_run_due_jobs_on_a_worker(
    app, crm: CRM, notifier: RecordingNotifier, ran: list[str], builds: list[CRM]
):
    with crm.session(actor=SYSTEM) as s:
        s.queue_notification("email", "a@example.com", {"subject": "你好"}, key="hello")
        s.schedule("remind", crm.clock.now(), {"task": 1}, key="task-1")
    with start_worker(app, pool="solo", perform_ping_check=False):
        sent = app.send_task(crmkit_celery.DISPATCH).get(timeout=WAIT)
        done = app.send_task(crmkit_celery.RUN_DUE).get(timeout=WAIT)
        again = app.send_task(crmkit_celery.DISPATCH).get(timeout=WAIT)
    assert (sent["sent"], done["done"], again["claimed"]) == (1, 1, 0)
    assert [m.recipient for m in notifier.sent] == ["a@example.com"]
    assert ran == ["task-1"]
    assert len(builds) == 1, "one CRM per worker process, kept between tasks"


def test_install_adds_a_beat_entry_for_each_task_next_to_the_apps_own():
    app = celery.Celery("with-beat", broker="memory://", backend="cache+memory://")
    app.conf.beat_schedule = {"mine": {"task": "shop.report", "schedule": 60.0}}
    crmkit_celery.install(app, lambda: crmkit.open("memory://"), every=2.5)
    schedule = app.conf.beat_schedule
    assert set(schedule) == {"mine", crmkit_celery.RUN_DUE, crmkit_celery.DISPATCH}
    for name in (crmkit_celery.RUN_DUE, crmkit_celery.DISPATCH):
        assert (schedule[name]["task"], schedule[name]["schedule"]) == (name, 2.5)
        assert name in app.tasks
    app.close()
