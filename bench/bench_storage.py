"""Storage benchmark: bulk-load customers, then time keyset pages, filters and text search
through crmkit's repositories beside the same query done raw (sqlite3 / psycopg) in the same
run. Writes the table into docs/benchmarks.md.

    python bench/bench_storage.py                      # 100k and 1M on SQLite and PostgreSQL
    python bench/bench_storage.py --sizes 100000 --backends sqlite
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from crmkit.domain.customer import Category, Customer, CustomerKind
from crmkit.domain.regions import Region
from crmkit.domain.values import Phone
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Scope
from crmkit.storage.sql import SqlStore
from crmkit.storage.textsearch import prepare_query

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datagen import customer_rows

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("CRMKIT_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OWNERS = [f"owner-{i:03d}" for i in range(100)]
REPEAT = 30
COLS = "*"


def build(n: int, owners: list[str] = OWNERS) -> list[Customer]:
    """``n`` customers (``datagen.customer_rows``, seed 7), owned in turn by ``owners``."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    regions: dict[str, Region] = {}
    for row in customer_rows(n, owners, seed=7):
        code = str(row["region"])
        region = regions.get(code) or regions.setdefault(code, Region.from_code(code))
        created = row["created_at"]
        assert isinstance(created, datetime)
        out.append(
            Customer(
                id=str(uuid.uuid4()),
                kind=CustomerKind.COMPANY,
                name=str(row["name"]),
                category=Category(str(row["category"])),
                source=str(row["source"]),
                industry=str(row["industry"]),
                region=region,
                tags=tuple(row["tags"]),  # type: ignore[arg-type]
                owner_id=str(row["owner_id"]),
                mobile=Phone(str(row["mobile"])),
                created_at=created,
                updated_at=now,
                created_by="bench",
            )
        )
    return out


def median_ms(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    fn()  # warm caches and statement caches
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


class Raw:
    """The same queries, hand-written, on the bare driver."""

    def __init__(self, backend: str, target: str) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.conn: Any = sqlite3.connect(target)
            self.p = "?"
        else:
            # The same protection crmkit's store uses: plan each query with its values.
            self.conn = psycopg.connect(target, prepare_threshold=None)
            self.p = "%s"

    def fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", self.p), params)
        rows = cur.fetchall()
        cur.close()
        return rows

    def close(self) -> None:
        self.conn.close()


def _existing_rows(store: SqlStore) -> int:
    with store.connection() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one())


def run(backend: str, n: int, results: list[dict[str, Any]], *, reuse: bool, keep: bool) -> None:
    schema = None
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"bench_{n}.db"
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url, raw_target = f"sqlite:///{path}", str(path)
    else:
        schema = f"bench_{n}"
        if not reuse:
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema},public"
        raw_target = f"{dsn}?options=-csearch_path%3D{schema},public"
    store = SqlStore(url)
    print(f"[{backend} {n:,}] building rows …", flush=True)
    customers = build(n)
    load_s: float | None = None
    if reuse and _existing_rows(store) == n:
        print(f"[{backend} {n:,}] reusing the {n:,} rows already loaded", flush=True)
    else:
        if _existing_rows(store):
            raise SystemExit(f"{url} holds other data; run without --reuse")
        t = time.perf_counter()
        for i in range(0, n, 10_000):
            with store.unit_of_work() as uow:
                uow.customers.add_many(customers[i : i + 10_000])
                uow.commit()
        load_s = time.perf_counter() - t
        with store.connection() as conn:
            conn.exec_driver_sql("ANALYZE")
        print(f"[{backend} {n:,}] loaded in {load_s:.1f}s ({n / load_s:,.0f} rows/s)", flush=True)
    raw = Raw(backend, raw_target)
    mid = n // 2
    probe = customers[n // 3]
    brand = probe.name[2:7]  # a 5-character slice inside a name
    phone = probe.mobile.e164[3:11] if probe.mobile else "13800138"
    owner = OWNERS[5]
    fts = backend == "sqlite"

    def text_sql(q: str) -> tuple[str, tuple[Any, ...]]:
        if fts:
            return (
                "SELECT * FROM customers WHERE deleted_at IS NULL AND seq IN "
                "(SELECT rowid FROM customer_fts WHERE customer_fts MATCH ?) "
                "ORDER BY seq DESC LIMIT 51",
                ('"' + q + '"',),
            )
        return (
            "SELECT * FROM customers WHERE deleted_at IS NULL AND search_text LIKE ? "
            "ORDER BY seq DESC LIMIT 51",
            (f"%{q}%",),
        )

    cases: list[tuple[str, CustomerQuery, Scope, str | None, str, tuple[Any, ...]]] = [
        (
            "first page of 50",
            CustomerQuery(),
            EVERYTHING,
            None,
            "SELECT * FROM customers WHERE deleted_at IS NULL ORDER BY seq DESC LIMIT 51",
            (),
        ),
        (
            "deep keyset page (middle)",
            CustomerQuery(),
            EVERYTHING,
            str(mid),
            "SELECT * FROM customers WHERE deleted_at IS NULL AND seq < ? "
            "ORDER BY seq DESC LIMIT 51",
            (mid,),
        ),
        (
            "salesperson's scope (1% of rows)",
            CustomerQuery(),
            Scope.of(owner),
            None,
            "SELECT * FROM (SELECT * FROM (SELECT * FROM customers WHERE owner_id IN (?) AND "
            "deleted_at IS NULL ORDER BY seq DESC LIMIT 51) AS a UNION SELECT * FROM ("
            "SELECT c.* FROM customer_co_owners co JOIN customers c ON c.id = co.customer_id "
            "WHERE co.user_id IN (?) AND c.deleted_at IS NULL ORDER BY c.seq DESC LIMIT 51) AS b"
            ") AS u ORDER BY seq DESC LIMIT 51",
            (owner, owner),
        ),
        (
            "filter province + category",
            CustomerQuery(region="370000", category=Category.SIGNED),
            EVERYTHING,
            None,
            "SELECT * FROM customers WHERE deleted_at IS NULL AND category = ? AND "
            "province_code = ? ORDER BY seq DESC LIMIT 51",
            ("signed", "37"),
        ),
        (
            f"text search, name substring ({brand})",
            CustomerQuery(text=brand),
            EVERYTHING,
            None,
            *text_sql(prepare_query(brand)),
        ),
        (
            f"text search, phone digits ({phone})",
            CustomerQuery(text=phone),
            EVERYTHING,
            None,
            *text_sql(phone),
        ),
    ]
    for label, query, scope, after, sql, params in cases:

        def ours(
            query: CustomerQuery = query, scope: Scope = scope, after: str | None = after
        ) -> Any:
            with store.unit_of_work() as uow:
                return uow.customers.list(query, scope, after=after, limit=50)

        got = ours()
        expected = raw.fetch(sql, params)
        assert len(got.items) == min(50, len(expected)), (label, len(got.items), len(expected))
        ours_ms = median_ms(ours)
        raw_ms = median_ms(lambda sql=sql, params=params: raw.fetch(sql, params))
        results.append(
            {
                "backend": backend,
                "rows": n,
                "query": label,
                "crmkit_ms": ours_ms,
                "raw_ms": raw_ms,
                "ratio": ours_ms / raw_ms,
                "hits": len(got.items),
            }
        )
        print(
            f"  {label:45s} crmkit {ours_ms:7.2f} ms  raw {raw_ms:7.2f} ms  "
            f"×{ours_ms / raw_ms:4.1f}",
            flush=True,
        )
    if load_s is not None:
        results.append(
            {
                "backend": backend,
                "rows": n,
                "query": "bulk load (rows/s)",
                "crmkit_ms": n / load_s,
                "raw_ms": float("nan"),
                "ratio": float("nan"),
                "hits": n,
            }
        )
    raw.close()
    store.close()
    if schema and not keep:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def write_markdown(results: list[dict[str, Any]], command: str) -> None:
    lines = [
        "<!-- storage-bench:start -->",
        f"Command: `{command}` — run on {datetime.now(UTC):%Y-%m-%d} on this project's 2-core "
        "machine. Median of 30 runs after one warm-up; each crmkit figure is the repository "
        "call (SQL + conversion to frozen domain objects), each raw figure the same SQL on the "
        "bare driver (sqlite3 / psycopg) returning tuples, in the same run.",
        "",
        "| backend | rows | query (page of 50) | crmkit ms | raw ms | crmkit / raw |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in results:
        if r["query"].startswith("bulk"):
            lines.append(
                f"| {r['backend']} | {r['rows']:,} | bulk load through "
                f"`add_many` | {r['crmkit_ms']:,.0f} rows/s | | |"
            )
        else:
            lines.append(
                f"| {r['backend']} | {r['rows']:,} | {r['query']} | "
                f"{r['crmkit_ms']:.2f} | {r['raw_ms']:.2f} | {r['ratio']:.1f}× |"
            )
    lines.append("<!-- storage-bench:end -->")
    block = "\n".join(lines)
    page = ROOT / "docs" / "benchmarks.md"
    text = page.read_text("utf-8") if page.exists() else "# Benchmarks\n"
    pattern = re.compile(r"<!-- storage-bench:start -->.*?<!-- storage-bench:end -->", re.S)
    text = pattern.sub(block, text) if pattern.search(text) else text + "\n" + block + "\n"
    page.write_text(text, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="query the data a previous --keep run loaded (no load figure)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL schemas for a later --reuse"
    )
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for backend in args.backends:
        for n in args.sizes:
            run(backend, n, results, reuse=args.reuse, keep=args.keep)
    if not args.no_write:
        write_markdown(results, "python bench/bench_storage.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
