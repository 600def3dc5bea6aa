"""The storage contract suite, run against every backend crmkit ships."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from crmkit.storage.memory import MemoryStore
from crmkit.storage.ports import Store
from crmkit.storage.sql import SqlStore
from crmkit.testing.contract import StoreContract
from tests.conftest import PG_URL, require_pg


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()


class TestSqliteFileStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> Store:
        return SqlStore(f"sqlite:///{self.folder}/{uuid.uuid4().hex}.db")


class TestSqliteInMemoryStore(StoreContract):
    state_machine_examples = 10

    def make_store(self) -> Store:
        return SqlStore("sqlite://")


class _SchemaStore(SqlStore):
    """A PostgreSQL store in its own schema, dropped on close."""

    def __init__(self) -> None:
        import psycopg

        self.schema = f"c_{uuid.uuid4().hex[:12]}"
        self._dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        super().__init__(f"{PG_URL}?options=-csearch_path%3D{self.schema},public")

    def close(self) -> None:
        import psycopg

        super().close()
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    state_machine_examples = 8

    @pytest.fixture(autouse=True)
    def _needs_pg(self) -> None:
        require_pg()

    def make_store(self) -> Store:
        return _SchemaStore()
