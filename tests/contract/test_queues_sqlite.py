"""The events, outbox and jobs contract against SQLite (a database file: two units of work
claim from two threads, which one in-memory connection cannot serve)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from crmkit.storage.ports import Store
from crmkit.storage.queues import OutboxStatus
from crmkit.storage.sql import SqlStore
from crmkit.testing.contract import QueueContract
from tests.contract.conftest import sqlite_store


class TestSqliteQueues(QueueContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> Store:
        return sqlite_store(self.folder)


def _claims_sql(store: SqlStore, claim: Callable[[Any], object]) -> list[tuple[str, Any]]:
    """The statements (and parameters) a claim runs."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.unit_of_work() as uow:
            claim(uow)
            uow.commit()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def test_claims_read_the_partial_indexes_of_the_waiting_rows(tmp_path: Path):
    path = tmp_path / "plan.db"
    store = SqlStore(f"sqlite:///{path}")
    now = datetime(2027, 1, 1, tzinfo=UTC)
    claims = {
        "ix_jobs_claimable_due": lambda uow: uow.jobs.claim(
            kinds={"remind"}, now=now, limit=10, claimed_by="w", lease_until=now
        ),
        "ix_outbox_pending_due": lambda uow: uow.outbox.claim(
            OutboxStatus.PENDING,
            channels={"sms"},
            now=now,
            limit=9,
            claimed_by="w",
            lease_until=now,
        ),
        "ix_outbox_unknown_due": lambda uow: uow.outbox.claim(
            OutboxStatus.UNKNOWN,
            channels=None,
            now=now,
            limit=9,
            claimed_by="w",
            lease_until=now,
        ),
        "ix_events_unpublished": lambda uow: uow.events.claim_unpublished(
            now=now, lease_until=now, limit=9
        ),
    }
    try:
        for index, claim in claims.items():
            ((sql, params),) = _claims_sql(store, claim)
            with sqlite3.connect(path) as conn:
                plan = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            steps = " | ".join(r[3] for r in plan)
            assert f"USING INDEX {index}" in steps, steps
            assert "TEMP B-TREE" not in steps, f"{index}: the claim sorts rows: {steps}"
    finally:
        store.close()
