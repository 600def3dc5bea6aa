"""Side-by-side drivers for the kernel's before/after comparison (docs/benchmarks.md, Kernel).

Run from a clone's root with ``PYTHONPATH=$PWD/src:$PWD/bench`` (copy this file into the
"before" clone: it uses only ``bench_intake``'s helpers, which both trees have):

    python bench/bench_kernel_ab.py pages                 # customer pages, a session per call
    python bench/bench_kernel_ab.py make-csv heldout.csv  # the 100k held-out rows, once
    python bench/bench_kernel_ab.py import heldout.csv [--gc-tuning]

``pages`` needs the 100k intake store (``bench_intake.py --parts load --sizes 100000
--backends sqlite --keep``); each call opens its own ``crm.session(actor=admin)`` and lists
one page of 50, median of 200 after 5 warm-ups. ``import`` runs ``imports.run`` of the
held-out rows into an empty store with one worker and prints wall and CPU seconds, and the
garbage collections per generation with the CPU seconds they took.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import bench_intake as bi


def pages() -> dict[str, float]:
    crm, admin = bi.open_store("sqlite", "intake_sqlite_100000", fresh=False)
    with sqlite3.connect(f"{bi.OUT}/intake_sqlite_100000.db") as conn:
        (name,) = conn.execute(
            "SELECT name FROM customers WHERE deleted_at IS NULL ORDER BY seq LIMIT 1 OFFSET 33333"
        ).fetchone()

    def page(**filters: Any) -> Any:
        with crm.session(actor=admin) as s:
            return s.customers.list(limit=50, **filters)

    cases: dict[str, dict[str, Any]] = {"first page": {}, f"q={name[2:6]}": {"q": name[2:6]}}
    cases["next page"] = {"after": page().next_after}
    out: dict[str, float] = {}
    for label, filters in cases.items():
        for _ in range(5):
            page(**filters)
        times = []
        for _ in range(200):
            started = time.perf_counter()
            page(**filters)
            times.append((time.perf_counter() - started) * 1000)
        out[label] = statistics.median(times)
    crm.close()
    return out


def make_csv(path: Path) -> str:
    rows = bi.generate(200_000, dup_rate=0.15, seed=3)[100_000:]
    return str(bi.write_sheet(rows, path.with_suffix(""), "csv"))


class CollectorTimes:
    """Collections and the CPU seconds they took, per generation (``gc.callbacks``; thread
    CPU time, so that other processes on a shared machine do not count)."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.runs[info["generation"]] += 1
            self.seconds[info["generation"]] += time.thread_time() - self._started

    def __enter__(self) -> CollectorTimes:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> dict[str, list[float]]:
        return {f"gen{g}": [self.runs[g], round(self.seconds[g], 3)] for g in range(3)}


def run_import(path: Path, gc_tuning: bool) -> dict[str, Any]:
    if gc_tuning:
        bi.SETTINGS["bulk_gc_tuning"] = True
    bi.OUT.mkdir(parents=True, exist_ok=True)
    crm, admin = bi.open_store("sqlite", "kernel_ab_empty", fresh=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    with CollectorTimes() as collector:
        report, took = bi.run_import(crm, admin, str(path), "skip", 1)
    after = resource.getrusage(resource.RUSAGE_SELF)
    crm.close()
    bi.drop_store("sqlite", "kernel_ab_empty")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "seconds": took,
        "cpu": cpu,
        "collections": collector.summary(),
        "counts": dict(report.counts),
        "gc_tuning": gc_tuning,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["pages", "make-csv", "import"])
    parser.add_argument("csv", nargs="?", type=Path)
    parser.add_argument("--gc-tuning", action="store_true")
    args = parser.parse_args()
    if args.part == "pages":
        print(json.dumps(pages(), ensure_ascii=False))
    elif args.part == "make-csv":
        print(make_csv(args.csv))
    else:
        print(json.dumps(run_import(args.csv, args.gc_tuning)))


if __name__ == "__main__":
    main()
