"""Due jobs and persisted events (issue 15): claim cost against table size, import cost.

Parts (``--parts``, all by default):

``claim``
    For each ``--sizes`` N and backend: a fresh store holding N scheduled jobs, bulk-inserted
    through ``JobRepository.add_many`` (chunks of 50,000 per transaction): ``--due`` of them
    pending and due, the rest half done (history) and half pending in the future, the way a
    CRM's jobs table looks after a while. Then ``--repeat`` claims of ``--claim`` due jobs
    each (``JobRepository.claim`` and its commit, the way ``crm.run_due`` claims), timed
    one by one; the median is the figure. Goal: the 1M figure within 1.5x of the 100k one
    (the partial index on ``due_at WHERE status IN ('pending', 'failed')`` holds the waiting
    rows only, and a claim reads the due ones).
``import``
    ``imports.run`` of ``--import-n`` rows (``dedup_data.generate``, seed 5, one CSV file,
    ``on_duplicate="create"``) into an empty store, ``--repeat`` times per backend: what
    persisting each row's ``CustomerCreated`` event costs an import.

    .venv/bin/python bench/bench_jobs.py --parts claim --sizes 100000 1000000
    .venv/bin/python bench/bench_jobs.py --parts import --backends sqlite postgres
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

import crmkit
from crmkit.adapters.passwords import Argon2Hasher
from crmkit.storage.queues import Job, JobStatus
from crmkit.storage.sql import SqlStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import write_sheet
from dedup_data import generate

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("CRMKIT_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
LOAD_CHUNK = 50_000


def say(text: str = "") -> None:
    print(text, flush=True)


def _pg_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _drop_schema(schema: str) -> None:
    with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def fresh_store(backend: str, tag: str) -> tuple[SqlStore, str]:
    """An empty, migrated store: ``bench/out/<tag>.db`` or PostgreSQL schema ``<tag>``."""
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / tag}.db{suffix}").unlink(missing_ok=True)
        return SqlStore(f"sqlite:///{OUT / tag}.db"), tag
    _drop_schema(tag)
    return SqlStore(PG_URL, schema=tag), tag


def drop_store(backend: str, store: SqlStore, tag: str) -> None:
    store.close()
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / tag}.db{suffix}").unlink(missing_ok=True)
    else:
        _drop_schema(tag)


# -- claim ---------------------------------------------------------------------------------
def scheduled(start: int, stop: int, due: int) -> list[Job]:
    """Jobs ``start`` to ``stop`` of a table: the first ``due`` pending and due before NOW,
    the rest alternately done (in the past) and pending in the future; due times spread
    over a year either side."""
    jobs: list[Job] = []
    for i in range(start, stop):
        if i < due:
            at, status = NOW - timedelta(seconds=due - i), JobStatus.PENDING
        elif i % 2:
            at, status = NOW - timedelta(minutes=i % 525_600), JobStatus.DONE
        else:
            at, status = NOW + timedelta(minutes=1 + i % 525_600), JobStatus.PENDING
        jobs.append(
            Job(
                id=str(uuid.uuid4()),
                kind="task.remind",
                key=f"task.remind:{i}",
                due_at=at,
                payload={"task_id": f"t-{i}", "user_id": "u-1"},
                created_at=NOW - timedelta(days=30),
                status=status,
                attempts=1 if status is JobStatus.DONE else 0,
                done_at=at if status is JobStatus.DONE else None,
            )
        )
    return jobs


def load(store: SqlStore, n: int, due: int) -> float:
    """Insert ``n`` scheduled jobs through the repository's bulk path; returns seconds."""
    started = time.perf_counter()
    for i in range(0, n, LOAD_CHUNK):
        with store.unit_of_work() as uow:
            uow.jobs.add_many(scheduled(i, min(i + LOAD_CHUNK, n), due))
            uow.commit()
    return time.perf_counter() - started


def analyze(store: SqlStore) -> None:
    with store.connection() as conn:
        conn.exec_driver_sql("ANALYZE jobs" if store.dialect_name == "postgresql" else "ANALYZE")


def time_claims(store: SqlStore, size: int, repeat: int) -> list[float]:
    times: list[float] = []
    for r in range(repeat):
        started = time.perf_counter()
        with store.unit_of_work() as uow:
            claimed = uow.jobs.claim(
                kinds={"task.remind"},
                now=NOW,
                limit=size,
                claimed_by=f"bench/{r}",
                lease_until=NOW + timedelta(minutes=5),
            )
            uow.commit()
        times.append(time.perf_counter() - started)
        assert len(claimed) == size, f"claimed {len(claimed)}, wanted {size}"
    return times


def part_claim(args: argparse.Namespace) -> None:
    say(f"## claim {args.claim} due jobs (median of {args.repeat})")
    for backend in args.backends:
        figures: dict[int, float] = {}
        for n in args.sizes:
            tag = f"bench_jobs_{backend}_{n}"
            store, tag = fresh_store(backend, tag)
            try:
                took = load(store, n, args.due)
                if args.analyze:
                    analyze(store)
                times = time_claims(store, args.claim, args.repeat)
            finally:
                drop_store(backend, store, tag)
            figures[n] = statistics.median(times)
            say(
                f"  {backend:8} {n:>9,} jobs: load {took:6.1f} s; claim "
                f"{figures[n] * 1000:7.1f} ms (runs: "
                + ", ".join(f"{t * 1000:.1f}" for t in times)
                + ")"
            )
        if len(figures) > 1:
            small, large = min(figures), max(figures)
            say(f"  {backend}: {large:,} / {small:,} = {figures[large] / figures[small]:.2f}x")


# -- import ----------------------------------------------------------------------------------
def part_import(args: argparse.Namespace) -> None:
    rows = generate(args.import_n, seed=5)
    OUT.mkdir(parents=True, exist_ok=True)
    path = write_sheet(rows, OUT / f"bench_jobs_import_{args.import_n}", "csv")
    say(f"## import of {args.import_n:,} rows (median of {args.repeat})")
    for backend in args.backends:
        times: list[float] = []
        counts: Any = None
        for r in range(args.repeat):
            tag = f"bench_jobs_import_{backend}_{r}"
            if backend == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{OUT / tag}.db{suffix}").unlink(missing_ok=True)
                crm = crmkit.open(f"sqlite:///{OUT / tag}.db", password_hasher=Argon2Hasher.fast())
            else:
                _drop_schema(tag)
                crm = crmkit.open(PG_URL, schema=tag, password_hasher=Argon2Hasher.fast())
            admin = crm.bootstrap_admin(name="管理员", password="bench-jobs-pw", login="admin")
            started = time.perf_counter()
            with crm.session(actor=admin) as s:
                counts = s.imports.run(path, on_duplicate="create").counts
            times.append(time.perf_counter() - started)
            crm.close()
            if backend == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{OUT / tag}.db{suffix}").unlink(missing_ok=True)
            else:
                _drop_schema(tag)
        say(
            f"  {backend:8} {statistics.median(times):6.2f} s (runs: "
            + ", ".join(f"{t:.2f}" for t in times)
            + f") {counts}"
        )
    path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["claim", "import"])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=5_000, help="due jobs among them")
    parser.add_argument("--claim", type=int, default=1_000, help="jobs per claim")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--import-n", type=int, default=20_000)
    parser.add_argument(
        "--no-analyze", dest="analyze", action="store_false", help="skip ANALYZE after load"
    )
    args = parser.parse_args()
    if "claim" in args.parts:
        part_claim(args)
    if "import" in args.parts:
        part_import(args)


if __name__ == "__main__":
    main()
