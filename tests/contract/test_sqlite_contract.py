"""The storage contract against SQLite: a database file, and an in-memory database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from crmkit.storage.ports import Store
from crmkit.storage.sql import SqlStore
from crmkit.testing.contract import StoreContract


class TestSqliteFileStoreContract(StoreContract):
    state_machine_examples = 15

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> Store:
        # A new file per store: the state machine makes one per example.
        return SqlStore(f"sqlite:///{self.folder / uuid.uuid4().hex}.db")


class TestSqliteInMemoryStoreContract(StoreContract):
    state_machine_examples = 15
    # One shared connection: two units of work cannot be open in two threads at once.
    test_a_second_unit_of_work_locking_a_shared_key_waits_for_the_first = None  # type: ignore[assignment]

    def make_store(self) -> Store:
        return SqlStore("sqlite://")
