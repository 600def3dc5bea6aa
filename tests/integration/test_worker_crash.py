"""Crash test on PostgreSQL: worker processes killed (SIGKILL) in the middle of running SFA
steps and in the middle of sending; on restart every step has run once and every message
went out once, and the sends that timed out after delivering were reconciled by asking the
notifier, not resent (see ``crash_worker.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import crmkit
from crmkit import OutboxStatus
from crmkit.storage.catalog import SFA_RUNS
from crmkit.storage.ports import EntityQuery

from .crash_worker import settings

WORKER = Path(__file__).with_name("crash_worker.py")
CUSTOMERS = 400


def _start(url: str, sent: Path, pause: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(WORKER), url, str(sent), str(pause)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker never got there"
        time.sleep(0.01)


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    _close(process)


def _close(process: subprocess.Popen[str]) -> None:
    if process.stdout is not None:
        process.stdout.close()


@pytest.mark.postgres
def test_killed_workers_leave_each_step_run_once_and_each_message_sent_once(
    pg_schema_url: str, tmp_path: Path
) -> None:
    url = pg_schema_url
    sent = tmp_path / "sent.txt"
    crm = crmkit.open(url, settings=settings())
    try:
        admin = crm.bootstrap_admin("管理员", "admin-pass-1")
        with crm.session(actor=admin) as s:
            s.messages.templates.create(code="hello", name="问候", body="{name}您好")
            for n in range(CUSTOMERS):
                s.customers.create(name=f"客户{n:04d}", mobile=f"1390000{n:04d}", tags=["试点"])
            plan = s.sfa.create_plan(
                name="关怀",
                marketing=False,
                steps=[{"action": "sms", "offset": 0, "template": "hello", "at": "00:00"}],
            )
            assert s.sfa.enrol(plan.id, tag="试点").enrolled == CUSTOMERS

        def runs() -> int:
            with crm.session(actor=admin) as s:
                return s._uow.repo(SFA_RUNS).count(EntityQuery(), s.actor.scope)

        def lines() -> int:
            return len(sent.read_text().splitlines()) if sent.exists() else 0

        # 1. killed while running steps: some batches committed, one in flight
        first = _start(url, sent, pause=0.01)
        _wait_until(lambda: runs() > 0)
        _kill(first)
        ran_before = runs()
        assert 0 < ran_before < CUSTOMERS, "killed after the steps had all run"

        # 2. killed while sending: claims held, some messages out, one maybe half-sent
        time.sleep(2.5)  # the dead worker's leases run out
        second = _start(url, sent, pause=0.01)
        _wait_until(lambda: lines() >= 30)
        _kill(second)
        assert lines() < CUSTOMERS, "killed after everything was sent"

        # 3. a worker after them takes over what they held, and drains the rest
        time.sleep(2.5)
        third = _start(url, sent, pause=0.0)
        assert third.wait(timeout=120) == 0
        _close(third)

        assert runs() == CUSTOMERS
        keys = Counter(sent.read_text().splitlines())
        assert len(keys) == CUSTOMERS
        assert max(keys.values()) == 1, "a message was sent twice"
        with crm.session(actor=admin) as s:
            assert s.messages.unsent() == []
            outbox = s._uow.outbox
            assert outbox.count(OutboxStatus.SENT) == CUSTOMERS
            # every seventh send timed out after delivering: asked about, never resent
            rows = outbox.list(after=None, limit=CUSTOMERS).items
            timed_out = [m for m in rows if "no answer" in (m.last_error or "")]
            taken_over = [m for m in rows if "claim expired" in (m.last_error or "")]
            assert timed_out and taken_over
    finally:
        crm.close()
