"""The worker loop and ``crmkit worker``: due jobs run and queued messages go out, round after
round, on a SQLite file; a stop (an event, SIGTERM) ends it after the round under way."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

import pytest
from typer.testing import CliRunner

import crmkit
from crmkit import CRM, SYSTEM, Job
from crmkit.cli import app
from crmkit.testing.notifiers import RecordingNotifier
from crmkit.workflows.dispatch import DispatchReport
from crmkit.workflows.jobs import RunReport
from crmkit.workflows.session import Session
from crmkit.workflows.worker import run_worker

WAIT = 10.0  # the most a test waits for something that normally takes milliseconds


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/worker.db"


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def crm(url: str, notifier: RecordingNotifier) -> Iterator[CRM]:
    crm = crmkit.open(url, notifier=notifier)
    yield crm
    crm.close()


def queue_mail(crm: CRM, *recipients: str) -> None:
    with crm.session(actor=SYSTEM) as s:
        for to in recipients:
            s.queue_notification("email", to, {"subject": "你好", "text": "正文"}, key="hello")


class Worker:
    """``run_worker`` in a thread, as a service would run it."""

    def __init__(self, crm: CRM, *, interval: float) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=run_worker, args=(crm,), kwargs={"interval": interval, "stop": self.stop}
        )
        self.thread.start()

    def stopped(self) -> bool:
        self.stop.set()
        self.thread.join(WAIT)
        return not self.thread.is_alive()


def test_a_running_worker_sends_queued_messages_and_runs_due_jobs(crm: CRM, notifier):
    ran: list[str] = []

    def remind(s: Session, job: Job) -> None:
        ran.append(job.key)

    crm.on_job("remind", remind)
    worker = Worker(crm, interval=0.05)
    try:
        queue_mail(crm, "a@example.com", "b@example.com")
        with crm.session(actor=SYSTEM) as s:
            s.schedule("remind", crm.clock.now(), {"task": 1}, key="task-1")
        wait_until(lambda: len(notifier.sent) == 2 and ran == ["task-1"], "the worker's rounds")
    finally:
        assert worker.stopped()
    assert sorted(m.recipient for m in notifier.sent) == ["a@example.com", "b@example.com"]
    assert ran == ["task-1"], "each job once"


def test_setting_the_stop_event_ends_an_idle_worker_without_waiting_out_its_interval(crm):
    worker = Worker(crm, interval=3600)
    wait_until(lambda: crm.dispatch().claimed == 0, "the store to be open")
    assert worker.stopped()


def test_once_drains_what_is_due_in_rounds_of_limit_and_returns(crm: CRM, notifier):
    queue_mail(crm, *(f"c{n}@example.com" for n in range(5)))
    totals = run_worker(crm, once=True, limit=2)
    assert (totals.sent, totals.rounds, totals.errors) == (5, 4, 0)  # 2 + 2 + 1, then none
    assert len(notifier.sent) == 5


class Flaky:
    """A CRM stand-in whose first rounds raise, as a database restarting would."""

    def __init__(self, failures: int, stop: threading.Event) -> None:
        self.failures = failures
        self.stop = stop
        self.calls = 0

    def run_due(
        self, now: datetime | None = None, limit: int = 100, worker: str | None = None
    ) -> RunReport:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("database is restarting")
        self.stop.set()  # one good round is all this test needs
        return RunReport(claimed=1, done=1)

    def dispatch(self, limit: int = 500, worker: str | None = None) -> DispatchReport:
        return DispatchReport()


def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog):
    stop = threading.Event()
    flaky = Flaky(failures=2, stop=stop)
    totals = run_worker(flaky, stop=stop, interval=0.01)
    assert (totals.errors, totals.rounds, totals.jobs_done) == (2, 1, 1)
    assert "database is restarting" in caplog.text


def test_once_stops_at_a_failing_round_and_reports_it():
    totals = run_worker(Flaky(failures=5, stop=threading.Event()), once=True)
    assert (totals.errors, totals.rounds) == (1, 0)


# -- the command -------------------------------------------------------------------------------
def test_the_worker_command_once_sends_through_the_named_notifier_and_exits(url: str):
    crm = crmkit.open(url)
    queue_mail(crm, "a@example.com")
    crm.close()
    result = CliRunner().invoke(app, ["worker", "--db", url, "--notifier", "console", "--once"])
    assert result.exit_code == 0, result.output
    assert "[email] → a@example.com (hello:a@example.com)" in result.output
    assert "1 sent" in result.output
    crm = crmkit.open(url)
    try:
        assert crm.dispatch().claimed == 0, "sent once, not waiting any more"
    finally:
        crm.close()


def test_the_worker_command_refuses_an_unknown_notifier(url: str):
    result = CliRunner().invoke(app, ["worker", "--db", url, "--notifier", "pigeon", "--once"])
    assert result.exit_code == 2
    assert "pigeon" in result.output


class Lines:
    """A child's output stream, read line by line in a thread (so waiting has a deadline)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.stream:
            self.lines.put(line)

    def wait_for(self, needle: str) -> None:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"the worker never wrote {needle!r}")
            if needle in line:
                return

    def close(self) -> None:
        self.reader.join(WAIT)  # the child has exited: the stream ends
        self.stream.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is a POSIX signal")
def test_sigterm_stops_the_worker_command_cleanly(url: str):
    crm = crmkit.open(url)
    queue_mail(crm, "a@example.com")
    crm.close()
    command = [sys.executable, "-c", "from crmkit.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "worker", "--db", url, "--notifier", "console", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert process.stdout is not None and process.stderr is not None
    out, log = Lines(process.stdout), Lines(process.stderr)
    try:
        out.wait_for("[email] → a@example.com")  # it is working
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 0
        log.wait_for("SIGTERM: stopping after the round under way")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
        log.close()
