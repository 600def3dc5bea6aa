"""Empty, migrated stores for tests, without migrating one per test.

Migrating a PostgreSQL schema costs one to two seconds and SQLite half a second, and about
500 tests of each open a store of their own: minutes of a run spent on the same DDL. So:

* a PostgreSQL schema a test is done with goes back to a per-process pool, emptied — every
  row deleted with the foreign-key triggers off, sequences back at their start (the
  migrations seed no rows, so an emptied schema *is* a freshly migrated one) — as long as
  it still is exactly what the migrations make (Alembic at head, the same tables); a schema
  a test migrated elsewhere, or gave tables of its own, is dropped as before;
* a SQLite store starts as a copy of a file migrated once per process.

Schemas left in the pool are dropped when the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.conftest import PG_URL

DSN = PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)

_POOL: list[str] = []
_MADE: list[str] = []
_STANDARD: dict[str, Any] = {}  # "head": Alembic head, "tables": what the migrations make
_SQLITE: list[Path] = []


def _connect() -> Any:
    import psycopg

    conn = psycopg.connect(DSN, autocommit=True, connect_timeout=5)
    # A test that leaked a connection holding locks must not hang the run: give up instead.
    conn.execute("SET lock_timeout = '3s'")
    return conn


def schema_url(schema: str) -> str:
    """``PG_URL`` with ``schema`` (then ``public``, for pg_trgm) as its search path."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema},public')}"


def acquire(*, bare: bool = False) -> str:
    """An empty PostgreSQL schema: a pooled, migrated one if there is one, else a new one
    (which whoever opens a store on it migrates); with ``bare``, always a new one without
    even the migrations' tables (for tests of the migrations themselves)."""
    if _POOL and not bare:
        return _POOL.pop()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _connect() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    _MADE.append(schema)
    return schema


def release(schema: str, *, own_tables: bool = False) -> None:
    """Hand ``schema`` back: emptied into the pool when it is still a migrated schema (with
    ``own_tables``, tables the migrations do not make are allowed and emptied too: the
    contract suites' test entities), else dropped."""
    try:
        with _connect() as conn:
            if _reusable(conn, schema, own_tables):
                _empty(conn, schema)
                _POOL.append(schema)
                return
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception:  # left for the drop at exit; never fail a test over cleaning up
        return
    if schema in _MADE:
        _MADE.remove(schema)


def _tables(conn: Any, schema: str) -> frozenset[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    return frozenset(row[0] for row in rows)


def _standard() -> dict[str, Any]:
    if not _STANDARD:
        from sqlalchemy import create_engine

        from crmkit.storage.sql.migrate import upgrade_to_head

        schema = acquire(bare=True)
        engine = create_engine(schema_url(schema))
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()
        with _connect() as conn:
            _STANDARD["tables"] = _tables(conn, schema)
            _STANDARD["head"] = _version(conn, schema)
        _POOL.append(schema)
    return _STANDARD


def _version(conn: Any, schema: str) -> str | None:
    try:
        row = conn.execute(f'SELECT version_num FROM "{schema}".alembic_version').fetchone()
    except Exception:
        return None
    return None if row is None else str(row[0])


def _reusable(conn: Any, schema: str, own_tables: bool) -> bool:
    standard = _standard()
    tables = _tables(conn, schema)
    if "alembic_version" not in tables or _version(conn, schema) != standard["head"]:
        return False
    return tables >= standard["tables"] if own_tables else tables == standard["tables"]


def _empty(conn: Any, schema: str) -> None:
    names = [f'"{schema}"."{t}"' for t in sorted(_tables(conn, schema)) if t != "alembic_version"]
    if not names:
        return
    try:
        # DELETE of a few rows is ~1% of TRUNCATE's cost (which rewrites each table's files);
        # with the triggers off (a superuser's right), foreign keys need no order.
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("; ".join(f"DELETE FROM {n}" for n in names))
    except Exception:
        conn.execute(f"TRUNCATE {', '.join(names)} CASCADE")
    conn.execute(
        "SELECT setval(format('%%I.%%I', schemaname, sequencename), start_value, false)"
        " FROM pg_sequences WHERE schemaname = %s",
        (schema,),
    )


@atexit.register
def _drop_all() -> None:
    if _MADE:
        # the server may have gone away first: then there is nothing left to clean
        with contextlib.suppress(Exception), _connect() as conn:
            for schema in _MADE:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def sqlite_copy(target: Path) -> str:
    """The URL of a new SQLite store at ``target``: a copy of a file migrated once per
    process (opening it finds the schema at head)."""
    if not _SQLITE:
        from crmkit.storage.sql import SqlStore

        made = Path(tempfile.mkdtemp(prefix="crmkit-tests-")) / "template.db"
        SqlStore(f"sqlite:///{made}").close()
        atexit.register(shutil.rmtree, made.parent, True)
        _SQLITE.append(made)
    shutil.copyfile(_SQLITE[0], target)
    return f"sqlite:///{target}"
