"""Shared wiring for the storage contract suites: PostgreSQL reachability and schemas.

Each PostgreSQL store lives in a schema of its own that is empty when the store opens, so
tests never see each other's rows. Migrating a schema costs about 0.7 s and the state
machines open a store per example, so a closed store's schema is emptied (every table
truncated, its sequences restarted: the migrations seed no rows, so an emptied schema is a
freshly migrated one) and handed to the next store of the same process; the schemas left
are dropped when the process ends. SQLite stores start from a copy of a file migrated once
per process (``sqlite_store``), for the same reason.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from crmkit.storage.sql import SqlStore
from tests.conftest import PG_URL, REQUIRE_PG, pg_unavailable_reason

# Plain asserts in the installed contract kit explain themselves only when rewritten; this
# must run before the test modules import it (nothing above imports it).
pytest.register_assert_rewrite("crmkit.testing.contract", "crmkit.testing.statemachine")


def require_postgres() -> None:
    """Skip (or, with CRMKIT_REQUIRE_PG=1, fail) when PostgreSQL is not reachable."""
    reason = pg_unavailable_reason()
    if reason is None:
        return
    if REQUIRE_PG:
        pytest.fail(f"CRMKIT_REQUIRE_PG=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (set CRMKIT_PG_URL to a server you can create schemas on)")


def _admin_sql(*statements: str) -> None:
    import psycopg

    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        for sql in statements:
            conn.execute(sql)


# Migrated schemas of this process, emptied and ready for the next store.
_POOL: list[str] = []
_MADE: list[str] = []


@atexit.register
def _drop_pooled() -> None:
    if _MADE:
        # the server may have gone away first: then there is nothing left to clean
        with contextlib.suppress(Exception):
            _admin_sql(*(f'DROP SCHEMA IF EXISTS "{s}" CASCADE' for s in _MADE))


class SchemaStore(SqlStore):
    """A PostgreSQL ``SqlStore`` in an empty schema of its own (see the module docstring)."""

    def __init__(self, **options: Any) -> None:
        reused = _POOL.pop() if _POOL and not options else None
        self.schema = reused or f"contract_{uuid.uuid4().hex[:16]}"
        # pg_trgm is installed by the migration itself, under an advisory lock: creating it
        # here as well would race between parallel test workers on a fresh database.
        if reused is None:
            _admin_sql(f'CREATE SCHEMA "{self.schema}"')
            _MADE.append(self.schema)
        try:
            if "schema" in inspect.signature(SqlStore.__init__).parameters:
                super().__init__(PG_URL, schema=self.schema, **options)
            else:
                sep = "&" if "?" in PG_URL else "?"
                search_path = quote(f"-csearch_path={self.schema},public")
                super().__init__(f"{PG_URL}{sep}options={search_path}", **options)
        except BaseException:
            self._drop()
            raise
        self._closed = False

    def close(self) -> None:
        super().close()
        if self._closed:
            return
        self._closed = True
        try:
            self._empty()
        except Exception:  # a schema that cannot be emptied is not reused
            self._drop()
            return
        _POOL.append(self.schema)

    def _empty(self) -> None:
        import psycopg

        dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s"
                    " AND tablename <> 'alembic_version'",
                    (self.schema,),
                )
            ]
            if tables:
                names = ", ".join(f'"{self.schema}"."{name}"' for name in tables)
                conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")

    def _drop(self) -> None:
        _admin_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        if self.schema in _MADE:
            _MADE.remove(self.schema)


_TEMPLATE: list[Path] = []


def sqlite_store(folder: Path) -> SqlStore:
    """A SQLite store in a new file under ``folder``: a copy of one migrated once per process
    (opening it finds the schema at head)."""
    if not _TEMPLATE:
        made = Path(tempfile.mkdtemp(prefix="crmkit-contract-")) / "template.db"
        SqlStore(f"sqlite:///{made}").close()
        atexit.register(shutil.rmtree, made.parent, True)
        _TEMPLATE.append(made)
    target = folder / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(_TEMPLATE[0], target)
    return SqlStore(f"sqlite:///{target}")
