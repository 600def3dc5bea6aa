"""Copy a crmkit SQLite store into a PostgreSQL schema, table by table.

Loading a million customers through the import workflow on PostgreSQL takes hours; the
benches that only *read* a loaded store (``bench_intake.py --parts scan similar --reuse
--no-load``) can run on a copy of the SQLite store instead.

The target schema is dropped and created by ``crmkit.open(url, schema=...)``, so tables,
constraints and indexes come from crmkit's migrations (the DDL of a real store). Then every
table of ``crmkit.storage.sql.tables.metadata`` is copied in foreign-key order: rows are read
through SQLAlchemy Core from the SQLite file (opened read-only, one read transaction for
all tables, so one snapshot), so each column's type turns
the stored text / 0-1 / ISO strings into Python values, and written with PostgreSQL ``COPY``
(psycopg ``write_row``), streaming. JSON columns are passed through as their stored text
(PostgreSQL parses it into ``jsonb``). The secondary indexes (not those of a constraint) are
dropped during a table's copy and re-created afterwards from their own definitions
(``pg_get_indexdef``), which is much faster than maintaining them row by row and leaves the
same indexes. Sequences are set past the largest copied value, then ``VACUUM (ANALYZE)``.
The SQLite-only FTS table is not in the metadata and is not copied (PostgreSQL's trigram
index on ``customers.search_text`` is rebuilt from the copied column).

The bench's state file (which row became which customer) is copied along:
``bench/out/intake_sqlite_N.state`` -> ``bench/out/<schema>.state`` by default when it sits
beside the SQLite file.

    python bench/copy_store.py bench/out/intake_sqlite_1000000.db --schema intake_postgres_1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import (
    Connection,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
    type_coerce,
)

import crmkit
from crmkit.storage.sql.tables import JSONType, metadata

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("CRMKIT_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def say(text: str = "") -> None:
    print(text, flush=True)


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def secondary_indexes(cur: psycopg.Cursor[Any], schema: str, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX …) of the table's indexes that back no constraint."""
    cur.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = %s AND t.relname = %s
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        (schema, table),
    )
    return [(name, ddl) for name, ddl in cur.fetchall()]


def read_only_snapshot(path: Path) -> Any:
    """An engine on the SQLite file opened read-only whose transactions are real ``BEGIN``s
    (pysqlite emits none before a SELECT), so one connection reads every table from one
    snapshot even if something else writes to the file."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")

    @event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def copy_table(
    sconn: Connection,
    conn: psycopg.Connection[Any],
    schema: str,
    table: Table,
    columns: list[str],
    batch: int,
    keep_indexes: bool,
) -> dict[str, Any]:
    cols = [table.c[name] for name in columns]
    # JSON stays the text SQLite holds: PostgreSQL parses it into jsonb (no loads + dumps).
    selected = [
        type_coerce(c, Text()).label(c.name) if isinstance(c.type, JSONType) else c for c in cols
    ]
    target = sql.Identifier(schema, table.name)
    with conn.cursor() as cur:
        indexes = [] if keep_indexes else secondary_indexes(cur, schema, table.name)
        for name, _ in indexes:
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            target, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        rows = 0
        t = time.perf_counter()
        with cur.copy(copy_sql) as copy:
            result = sconn.execution_options(yield_per=batch).execute(select(*selected))
            for part in result.partitions():
                for row in part:
                    copy.write_row(row)
                rows += len(part)
        copy_s = time.perf_counter() - t
        t = time.perf_counter()
        for _, ddl in indexes:
            cur.execute(ddl)
        index_s = time.perf_counter() - t
        seq = table.autoincrement_column
        if seq is not None and seq.name in columns:
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), "
                    "coalesce((SELECT max({col}) FROM {t}), 0) + 1, false)"
                ).format(col=sql.Identifier(seq.name), t=target),
                (f"{schema}.{table.name}", seq.name),
            )
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(target))
        (stored,) = cur.fetchone()  # type: ignore[misc]
    conn.commit()
    return {
        "rows": rows,
        "stored": stored,
        "copy_s": copy_s,
        "index_s": index_s,
        "indexes": len(indexes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sqlite", type=Path, help="the crmkit SQLite store (only read)")
    parser.add_argument("--schema", required=True, help="PostgreSQL schema (dropped first)")
    parser.add_argument("--url", default=PG_URL, help="PostgreSQL URL (CRMKIT_PG_URL)")
    parser.add_argument(
        "--state-from", type=Path, help="bench state file (default: <sqlite>.state if present)"
    )
    parser.add_argument(
        "--state-to", type=Path, help="where to copy it (default: bench/out/<schema>.state)"
    )
    parser.add_argument("--batch", type=int, default=5_000, help="rows per fetch")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="copy into the tables with all their indexes in place (slower)",
    )
    args = parser.parse_args()
    path = args.sqlite.resolve()
    if not path.exists():
        sys.exit(f"{path}: no such file")
    state_from = args.state_from or path.with_suffix(".state")
    if args.state_from and not state_from.exists():
        sys.exit(f"{state_from}: no such file")
    state_to = args.state_to or OUT / f"{args.schema}.state"
    schema = args.schema

    src = read_only_snapshot(path)
    sconn = src.connect()
    sconn.begin()
    src_version = sconn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    src_tables = set(inspect(sconn).get_table_names())

    t0 = time.perf_counter()
    with psycopg.connect(pg_dsn(args.url), autocommit=True) as c:
        c.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    state_to.unlink(missing_ok=True)
    crmkit.open(args.url, schema=schema).close()  # creates and migrates the schema
    say(f"[copy] {path} -> {schema} (source at migration {src_version})")

    problems: list[str] = []
    report: list[tuple[str, dict[str, Any]]] = []
    with psycopg.connect(pg_dsn(args.url), options=f"-csearch_path={schema},public") as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        target_version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if target_version is None or target_version[0] != src_version:
            problems.append(f"migration: source {src_version}, target {target_version}")
        tables = [t for t in metadata.sorted_tables if t.name in src_tables]
        for t in metadata.sorted_tables:
            if t.name not in src_tables:
                problems.append(f"{t.name}: not in the SQLite store, left empty")
        conn.execute(
            sql.SQL("TRUNCATE {}").format(
                sql.SQL(", ").join(sql.Identifier(schema, t.name) for t in tables)
            )
        )
        conn.commit()
        for table in tables:
            have = {c["name"] for c in inspect(sconn).get_columns(table.name)}
            columns = [c.name for c in table.columns if c.computed is None and c.name in have]
            for c in table.columns:
                if c.name not in have:
                    problems.append(f"{table.name}.{c.name}: not in the SQLite store")
            for name in sorted(have - {c.name for c in table.columns}):
                problems.append(f"{table.name}.{name}: not in crmkit's metadata, not copied")
            source_rows = sconn.execute(select(func.count()).select_from(table)).scalar_one()
            r = copy_table(sconn, conn, schema, table, columns, args.batch, args.keep_indexes)
            r["source"] = source_rows
            report.append((table.name, r))
            rate = r["rows"] / r["copy_s"] if r["copy_s"] else 0.0
            say(
                f"  {table.name:<22} {r['rows']:>10,} rows in {r['copy_s']:7.1f}s "
                f"({rate:>9,.0f} rows/s); {r['indexes']} indexes rebuilt in {r['index_s']:.1f}s"
            )
            if not r["rows"] == r["stored"] == source_rows:
                problems.append(
                    f"{table.name}: {source_rows:,} in SQLite, {r['rows']:,} copied, "
                    f"{r['stored']:,} in PostgreSQL"
                )
    sconn.close()
    t = time.perf_counter()
    with psycopg.connect(pg_dsn(args.url), autocommit=True) as c:
        for name, _ in report:
            c.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(schema, name)))
    say(f"[copy] VACUUM (ANALYZE) {time.perf_counter() - t:.1f}s")
    if state_from.exists():
        shutil.copyfile(state_from, state_to)
        say(f"[copy] state {state_from} -> {state_to}")
    else:
        say(f"[copy] no state file {state_from}: none copied")
    total_rows = sum(r["rows"] for _, r in report)
    say(f"[copy] {total_rows:,} rows in {time.perf_counter() - t0:.1f}s")
    for p in problems:
        say(f"  ! {p}")
    if any(r["rows"] != r["source"] for _, r in report):
        sys.exit(1)


if __name__ == "__main__":
    main()
