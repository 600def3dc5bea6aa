"""find_similar side by side in two trees: medians in one session (200 lookups) and with a
session per lookup (100), three rounds, on a 20k SQLite store each tree builds with its own
import (held-out rows of bench_intake's generator as the lookups).

Run from each clone's root (copy this file into the "before" clone; it uses only
``bench_intake``'s helpers, which both trees have)::

    PYTHONPATH=$PWD/src:$PWD/bench python bench/bench_similar_ab.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import bench_intake as bi
from crmkit.testing import open_test_crm

KEYS = ("name", "mobile", "phone", "email", "address", "region")


def main(n: int = 20_000, rounds: int = 3) -> dict[str, list[float]]:
    rows = bi.generate(n + 300, dup_rate=0.15, seed=3)
    path = bi.write_sheet(rows[:n], Path(tempfile.mkdtemp()) / "base", "csv")
    crm = open_test_crm(f"sqlite:///{tempfile.mkdtemp()}/crm.db")
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    with crm.session(actor=admin) as s:
        s.imports.run(str(path))
    queries = [{k: v for k, v in r.row.items() if k in KEYS and v} for r in rows[n : n + 300]]
    out: dict[str, list[float]] = {"one_session_ms": [], "own_session_ms": []}
    for _ in range(rounds):
        one = []
        with crm.session(actor=admin) as s:
            for q in queries[:200]:
                started = time.perf_counter()
                s.customers.find_similar(**q, limit=5)
                one.append(time.perf_counter() - started)
        own = []
        for q in queries[200:]:
            started = time.perf_counter()
            with crm.session(actor=admin) as s:
                s.customers.find_similar(**q, limit=5)
            own.append(time.perf_counter() - started)
        out["one_session_ms"].append(round(statistics.median(one) * 1000, 3))
        out["own_session_ms"].append(round(statistics.median(own) * 1000, 3))
    crm.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
