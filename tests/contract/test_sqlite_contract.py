"""The storage contract against SQLite: a database file, and an in-memory database."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmkit.storage.ports import Store
from crmkit.storage.sql import SqlStore
from crmkit.testing.contract import StoreContract
from tests.contract.conftest import sqlite_store


class TestSqliteFileStoreContract(StoreContract):
    state_machine_examples = 15

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> Store:
        # A new file per store: the state machine makes one per example.
        return sqlite_store(self.folder)


class TestSqliteInMemoryStoreContract(StoreContract):
    state_machine_examples = 15
    # One shared connection: two units of work cannot be open in two threads at once.
    test_a_second_unit_of_work_locking_a_shared_key_waits_for_the_first = None  # type: ignore[assignment]

    def make_store(self) -> Store:
        return SqlStore("sqlite://")


def test_the_text_index_matches_the_customers_after_batches_edits_and_purges(tmp_path: Path):
    # New customers enter SQLite's FTS5 index one batch at a time (add_many), edits and
    # deletions by trigger: FTS5's own check compares the index with the customers table.
    import attrs
    from sqlalchemy import text

    from crmkit.testing.builders import make_customer

    store = SqlStore(f"sqlite:///{tmp_path / 'fts.db'}")
    batch = [make_customer(name=f"青岛金智{i}号电子科技有限公司") for i in range(1200)]
    with store.unit_of_work() as uow:
        uow.customers.add_many(batch[:700])  # more than one chunk of ids
        uow.customers.add_many(batch[700:])
        uow.commit()
    with store.unit_of_work() as uow:
        renamed = attrs.evolve(batch[3], name="北京华夏建材有限公司", version=2)
        uow.customers.update(renamed, expected_version=1)
        uow.customers.purge([batch[5].id])
        uow.commit()
    with store.engine.connect() as conn:
        conn.execute(
            text("INSERT INTO customer_fts(customer_fts, rank) VALUES ('integrity-check', 1)")
        )
        hits = conn.execute(
            text("SELECT count(*) FROM customer_fts WHERE customer_fts MATCH '\"电子科技\"'")
        ).scalar_one()
    assert hits == 1200 - 2
    store.close()
