"""The generic repository contract on every backend crmkit ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmkit.storage.memory import MemoryStore
from crmkit.storage.ports import Store
from crmkit.testing.contract import EntityRepositoryContract
from tests.contract.conftest import SchemaStore, require_postgres, sqlite_store


class TestMemoryEntities(EntityRepositoryContract):
    state_machine_examples = 30
    aggregate_examples = 200

    def make_store(self) -> Store:
        return MemoryStore()


class TestSqliteEntities(EntityRepositoryContract):
    state_machine_examples = 10

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> Store:
        return sqlite_store(self.folder)


@pytest.mark.postgres
class TestPostgresEntities(EntityRepositoryContract):
    state_machine_examples = 4  # ~30 entity types: the memory model explores, PG confirms
    aggregate_examples = 25

    @pytest.fixture(autouse=True)
    def _needs_postgres(self) -> None:
        require_postgres()

    def make_store(self) -> Store:
        return SchemaStore()
