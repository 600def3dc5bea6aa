"""Engine set-up per dialect: SQLite pragmas and transaction control, PostgreSQL options.

See :class:`crmkit.storage.sql.SqlStore` for what the settings mean for users.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_S = 10
SQLITE_BEGIN_MODES = ("on_write", "immediate", "deferred")
_READS = frozenset({"SELECT", "WITH", "PRAGMA", "EXPLAIN", "VALUES"})
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def build_engine(
    url: str, *, schema: str | None = None, sqlite_begin: str = "on_write", **options: Any
) -> Engine:
    """An engine for ``url`` configured as ``SqlStore`` documents.

    Raises:
        ValueError: a bad ``schema`` or ``sqlite_begin``, or ``schema`` for SQLite.
    """
    connect_args: dict[str, Any] = dict(options.pop("connect_args", {}))
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise ValueError("schema= is for PostgreSQL; SQLite has one schema per file")
        if sqlite_begin not in SQLITE_BEGIN_MODES:
            raise ValueError(f"sqlite_begin must be one of {SQLITE_BEGIN_MODES}")
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        if parsed.database in (None, "", ":memory:"):
            options.setdefault("poolclass", StaticPool)
    else:
        options.setdefault("pool_pre_ping", True)
        if schema is not None:
            if not _SCHEMA_NAME.fullmatch(schema):
                raise ValueError(f"schema must be a plain identifier, not {schema!r}")
            # Of two -c settings of one parameter the later wins: ours follows the URL's.
            given: Any = connect_args.get("options") or parsed.query.get("options") or ""
            given = given if isinstance(given, str) else " ".join(given)
            connect_args["options"] = f"{given} -csearch_path={schema},public".strip()
    engine = create_engine(url, connect_args=connect_args, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        if sqlite_begin == "on_write":
            event.listen(engine, "before_cursor_execute", _sqlite_begin_on_write)
        else:
            begin = "BEGIN IMMEDIATE" if sqlite_begin == "immediate" else "BEGIN"
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module: crmkit emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA journal_mode=WAL")  # "memory" for an in-memory database
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.close()


def _sqlite_begin_on_write(
    conn: Connection,
    cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    """Open ``BEGIN IMMEDIATE`` before the first statement of a transaction that writes."""
    dbapi_connection = cursor.connection
    if dbapi_connection.in_transaction or not conn.in_transaction():
        return
    words = statement.lstrip(" (\n").split(None, 1)
    if words and words[0].upper() not in _READS:
        dbapi_connection.execute("BEGIN IMMEDIATE")


def begin_writing(conn: Connection) -> None:
    """Make sure ``conn`` (SQLite) holds the write lock now, before its next read."""
    dbapi_connection: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite" and not dbapi_connection.in_transaction:
        if not conn.in_transaction():
            conn.begin()
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")


def _postgres_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares a statement after five runs; PostgreSQL may then switch to a generic
    # plan that ignores the parameter's value. For "name LIKE '%q%'" that plan walks the
    # whole table (500 ms at 1M rows instead of 4 ms). Always plan with the real values.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()
