"""Shared wiring for the storage contract suites: PostgreSQL reachability and schemas.

Each PostgreSQL store lives in a fresh schema of its own, created before the store opens
and dropped (with everything in it) when the store closes, so tests never see each other's
rows and nothing is left behind.
"""

from __future__ import annotations

import inspect
import uuid
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


class SchemaStore(SqlStore):
    """A PostgreSQL ``SqlStore`` in a fresh schema of its own, dropped on ``close()``."""

    def __init__(self, **options: Any) -> None:
        self.schema = f"contract_{uuid.uuid4().hex[:16]}"
        # pg_trgm is installed by the migration itself, under an advisory lock: creating it
        # here as well would race between parallel test workers on a fresh database.
        _admin_sql(f'CREATE SCHEMA "{self.schema}"')
        try:
            if "schema" in inspect.signature(SqlStore.__init__).parameters:
                super().__init__(PG_URL, schema=self.schema, **options)
            else:
                sep = "&" if "?" in PG_URL else "?"
                search_path = quote(f"-csearch_path={self.schema},public")
                super().__init__(f"{PG_URL}{sep}options={search_path}", **options)
        except BaseException:
            _admin_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            raise
        self._dropped = False

    def close(self) -> None:
        super().close()
        if not self._dropped:
            self._dropped = True
            _admin_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
