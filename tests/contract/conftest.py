"""Shared wiring for the storage contract suites: PostgreSQL reachability and stores.

Each PostgreSQL store lives in a schema of its own that is empty when the store opens, so
tests never see each other's rows; SQLite stores live in files of their own. The state
machines open a store per example, so both come from ``tests.schemas``: PostgreSQL schemas
emptied and reused within the process, SQLite files copied from one migrated once.
"""

from __future__ import annotations

import inspect
import uuid
from pathlib import Path
from typing import Any

import pytest

from crmkit.storage.sql import SqlStore
from tests import schemas
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


class SchemaStore(SqlStore):
    """A PostgreSQL ``SqlStore`` in an empty schema of its own (see the module docstring)."""

    def __init__(self, **options: Any) -> None:
        # pg_trgm is installed by the migration itself, under an advisory lock: creating it
        # here as well would race between parallel test workers on a fresh database.
        self.schema = schemas.acquire()
        try:
            if "schema" in inspect.signature(SqlStore.__init__).parameters:
                super().__init__(PG_URL, schema=self.schema, **options)
            else:
                super().__init__(schemas.schema_url(self.schema), **options)
        except BaseException:
            schemas.release(self.schema)
            raise
        self._closed = False

    def close(self) -> None:
        super().close()
        if self._closed:
            return
        self._closed = True
        # the contract's test entities add tables of their own: emptied and kept with it
        schemas.release(self.schema, own_tables=True)


def sqlite_store(folder: Path) -> SqlStore:
    """A SQLite store in a new file under ``folder``: a copy of one migrated once per process
    (opening it finds the schema at head)."""
    return SqlStore(schemas.sqlite_copy(folder / f"{uuid.uuid4().hex}.db"))
