"""Intake benchmark (issue 3): duplicate quality and speed through crmkit's real workflows.

Everything goes through the public API (``crm.session(...)``: ``imports.run``,
``dedup.scan``, ``dedup.rebuild``, ``customers.find_similar``, ``customers._prepare``) on
spreadsheets with Chinese headers written from the labelled generator ``dedup_data.py``.

Parts (``--parts``, all by default):

``quality``
    A labelled set (``--quality-n`` rows) imported three ways into fresh SQLite stores:
    (A) as one file with ``on_duplicate="skip"`` — the import's in-file duplicate outcomes;
    (B) split into files that never hold one company twice, each imported with ``"skip"``
    into the same store — the import's duplicate outcomes against stored customers;
    (C) the same split files with ``"create"``, so that every row becomes a customer and
    the duplicate index records the pairs, then ``dedup.scan()`` — the scan's clusters.
    (``"create"`` does not create a row that duplicates an *earlier row of the same file*:
    hence the split.)
``load``
    For each ``--sizes`` N and backend: a store of N customers with duplicates (the first N
    rows of ``generate(N + --import-n)``), loaded through ``imports.run(on_duplicate=
    "create", workers=--load-workers)`` from files of ``--chunk`` rows that never hold one
    company twice, so the duplicate index holds every pair a messy CRM would. Kept for
    ``--reuse``.
``scan``
    ``dedup.scan()`` over each loaded store (time, clusters, pairwise quality against the
    truth), candidate pairs per record, and ``dedup.rebuild()`` at the sizes given in
    ``--rebuild-sizes``.
``similar``
    ``customers.find_similar`` at each size: ``--queries`` rows of the held-out file that
    describe a stored company (name only, or name and mobile), median and p95 latency and
    whether the stored twin comes back.
``speed`` (SQLite)
    The held-out ``--import-n`` rows (the rest of ``generate(N + --import-n)``): raw
    ``sqlite3.executemany`` into a migrated empty store, validation alone
    (``customers._prepare`` per row), the dry run (``imports.preview``), and ``imports.run``
    into an empty store and into (a copy of) the N-customer store, once per ``--workers``
    count (``imports.run(workers=...)``; default 0 and 1).

``--profile`` adds cProfile runs (import, scan, find_similar) and prints their hotspots.
``--gc-tuning`` opens every store with ``Settings(bulk_gc_tuning=True)`` (the scan pauses
the garbage collector, the import holds off its full collections); without it crmkit leaves
the collector as the process set it, as it does by default.

    python bench/bench_intake.py --parts quality
    python bench/bench_intake.py --sizes 100000 1000000 --backends sqlite postgres --keep
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import json
import os
import pickle
import pstats
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

import crmkit
from crmkit.adapters.passwords import Argon2Hasher
from crmkit.workflows.dedup import DedupConfig  # (not exported as crmkit.DedupConfig)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dedup_quality import evaluate
from dedup_data import LabelledRow, generate

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("CRMKIT_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-intake-password"
# Generator field -> the Chinese header a hand-made sheet would use (all map by synonym).
HEADERS = {
    "name": "公司名称",
    "mobile": "手机",
    "phone": "电话",
    "email": "邮箱",
    "address": "地址",
    "region": "地区",
    "uscc": "统一社会信用代码",
    "contact": "联系人",
    "contact_mobile": "联系人手机",
}
CUSTOMER_FIELDS = ("name", "mobile", "phone", "email", "address", "region", "uscc")
LINES: list[str] = []  # the markdown snippet
SETTINGS: dict[str, Any] = {}  # crmkit.Settings fields every store is opened with


def say(text: str = "") -> None:
    print(text, flush=True)


def md(text: str = "") -> None:
    LINES.append(text)
    print(text, flush=True)


# -- spreadsheets ----------------------------------------------------------------------------
def write_sheet(rows: Sequence[LabelledRow], path: Path, fmt: str = "csv") -> Path:
    path = path.with_suffix("." + fmt)
    cells = [[r.row.get(k, "") for k in HEADERS] for r in rows]
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8-sig") as f:  # as Excel saves UTF-8
            w = csv.writer(f)
            w.writerow(HEADERS.values())
            w.writerows(cells)
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("客户")
        ws.append(list(HEADERS.values()))
        for line in cells:
            ws.append([c or None for c in line])
        wb.save(path)
    return path


def split_files(rows: Sequence[LabelledRow], chunk: int) -> list[list[int]]:
    """Row indexes in files of about ``chunk`` rows, in order, so that no file holds two rows
    of one company: a row goes to the first file at or after its place that lacks its
    company."""
    files: list[list[int]] = []
    seen: list[set[int]] = []
    for i, r in enumerate(rows):
        f = i // chunk
        while True:
            while len(files) <= f:
                files.append([])
                seen.append(set())
            if r.entity not in seen[f]:
                break
            f += 1
        files[f].append(i)
        seen[f].add(r.entity)
    return [f for f in files if f]


# -- stores ----------------------------------------------------------------------------------
def _pg_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def drop_store(backend: str, tag: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / tag}.db{suffix}").unlink(missing_ok=True)
    else:
        with psycopg.connect(_pg_dsn(), autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {tag} CASCADE")
    Path(f"{OUT / tag}.state").unlink(missing_ok=True)


def open_store(backend: str, tag: str, *, fresh: bool) -> tuple[crmkit.CRM, Any]:
    """A CRM on ``bench/out/<tag>.db`` or PostgreSQL schema ``<tag>``, with its admin."""
    if fresh:
        drop_store(backend, tag)
    hasher = Argon2Hasher.fast()
    settings = crmkit.Settings(**SETTINGS)
    if backend == "sqlite":
        crm = crmkit.open(f"sqlite:///{OUT / tag}.db", password_hasher=hasher, settings=settings)
    else:
        crm = crmkit.open(PG_URL, schema=tag, password_hasher=hasher, settings=settings)
    try:
        admin = crm.authenticate("admin", PASSWORD)
    except crmkit.CRMError:
        admin = crm.bootstrap_admin(name="管理员", password=PASSWORD, login="admin")
    return crm, admin


def sqlite_copy(src_tag: str, dst_tag: str) -> None:
    drop_store("sqlite", dst_tag)
    with sqlite3.connect(f"{OUT / src_tag}.db") as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(f"{OUT / src_tag}.db", f"{OUT / dst_tag}.db")


def raw_fetch(backend: str, tag: str, sql: str) -> list[Any]:
    if backend == "sqlite":
        with sqlite3.connect(f"{OUT / tag}.db") as c:
            return c.execute(sql).fetchall()
    with psycopg.connect(_pg_dsn(), options=f"-csearch_path={tag}") as c:
        return c.execute(sql).fetchall()


# -- import outcomes -------------------------------------------------------------------------
class Imported:
    """Which row became which customer, and each row's outcome, across several imports."""

    def __init__(self) -> None:
        self.outcome: dict[int, str] = {}
        self.customer: dict[int, str] = {}  # row index -> customer created
        self.row_of: dict[str, int] = {}  # customer id -> row index
        self.link: dict[int, str] = {}  # row index -> duplicate_of as reported
        self.failures: Counter[str] = Counter()

    def add(self, indexes: Sequence[int], report: Any) -> None:
        assert len(report.results) == len(indexes), (len(report.results), len(indexes))
        for r in report.results:
            i = indexes[r.row - 2]  # the header is row 1
            self.outcome[i] = r.outcome.value
            if r.outcome.value == "created":
                self.customer[i] = r.customer_id
                self.row_of[r.customer_id] = i
            elif r.outcome.value == "duplicate":
                self.link[i] = r.duplicate_of
            elif r.outcome.value == "failed":
                for p in r.problems:
                    self.failures[f"{p.field}:{p.code}"] += 1

    def linked_row(self, i: int, indexes_in_file: dict[int, Sequence[int]]) -> int | None:
        """The row index a duplicate row was reported a duplicate of (None: not a row or
        customer we know, e.g. an anti-collision "name (owner)")."""
        text = self.link.get(i)
        if text is None:
            return None
        m = re.fullmatch(r"row (\d+)", text)
        if m:
            return indexes_in_file[i][int(m.group(1)) - 2]
        return self.row_of.get(text)


def run_import(
    crm: crmkit.CRM, admin: Any, path: Path, policy: str, workers: int = 0
) -> tuple[Any, float]:
    t = time.perf_counter()
    with crm.session(actor=admin) as s:
        report = s.imports.run(path, on_duplicate=policy, workers=workers)
    return report, time.perf_counter() - t


def link_quality(
    rows: Sequence[LabelledRow],
    imp: Imported,
    order: Sequence[int],
    files: dict[int, Sequence[int]],
) -> dict[str, Any]:
    """Precision / recall / F1 of the duplicate links an import reported (see the docs)."""
    seen: set[int] = set()
    repeats = 0
    found = 0
    reported = 0
    correct = 0
    dropped = 0  # a company's first row reported a duplicate of another company
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in order:
        entity = rows[i].entity
        outcome = imp.outcome[i]
        if outcome == "failed":
            continue
        is_repeat = entity in seen
        repeats += is_repeat
        if outcome == "duplicate":
            reported += 1
            j = imp.linked_row(i, files)
            ok = j is not None and rows[j].entity == entity
            correct += ok
            found += ok and is_repeat
            dropped += not is_repeat
            if j is not None:
                parent[root(i)] = root(j)
        seen.add(entity)
    precision = correct / reported if reported else 1.0
    recall = found / repeats if repeats else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    live = [i for i in order if imp.outcome[i] != "failed"]
    clusters: dict[int, list[int]] = defaultdict(list)
    for k, i in enumerate(live):
        clusters[root(i)].append(k)
    pairwise = evaluate([rows[i] for i in live], [tuple(c) for c in clusters.values()])
    return {
        "rows": len(order),
        "failed": len(order) - len(live),
        "repeats": repeats,
        "reported": reported,
        "correct": correct,
        "found": found,
        "dropped": dropped,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pairwise": pairwise,
    }


def scan_quality(
    rows: Sequence[LabelledRow], imp: Imported, clusters: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Pairwise quality of scan clusters (customer ids) over the rows that were created."""
    live = sorted(imp.customer)
    position = {imp.customer[i]: k for k, i in enumerate(live)}
    mapped = [tuple(position[c] for c in ids if c in position) for ids in clusters]
    return evaluate([rows[i] for i in live], mapped)


# -- profiling -------------------------------------------------------------------------------
def profiled(label: str, fn: Callable[[], Any], top: int = 22) -> Any:
    """Run ``fn`` under cProfile, save ``bench/out/prof-<label>.prof`` and print hotspots."""
    prof = cProfile.Profile()
    result = prof.runcall(fn)
    path = OUT / f"prof-{label}.prof"
    prof.dump_stats(path)
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = stats.stats  # type: ignore[attr-defined]

    def name(k: tuple[str, int, str]) -> str:
        file, line, fn_name = k
        for marker in ("/src/", "site-packages/", "/lib/python3"):
            if marker in file:
                file = file.split(marker, 1)[1]
                break
        return f"{file}:{line}:{fn_name}"

    say(f"\n### profile {label}: {total:.2f} s ({path.name})")
    say("self time (tottime):")
    for k, v in sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]:
        say(f"  {100 * v[2] / total:5.1f}%  {v[2]:7.2f}s  {v[1]:>9} calls  {name(k)}")
    say("cumulative (crmkit functions):")
    ours = [(k, v) for k, v in entries.items() if "crmkit" in k[0]]
    for k, v in sorted(ours, key=lambda kv: -kv[1][3])[:top]:
        say(f"  {100 * v[3] / total:5.1f}%  {v[3]:7.2f}s  {v[1]:>9} calls  {name(k)}")
    return result


# -- parts -----------------------------------------------------------------------------------
def part_quality(args: argparse.Namespace) -> None:
    rows = generate(args.quality_n, dup_rate=args.dup_rate, seed=args.seed)
    roles = Counter(r.role for r in rows)
    tag = "intake_quality"
    OUT.mkdir(parents=True, exist_ok=True)
    everything = list(range(len(rows)))
    results: dict[str, Any] = {}

    # (A) one file, skip: in-file duplicates
    path = write_sheet(rows, OUT / f"{tag}_all", args.format)
    crm, admin = open_store("sqlite", tag, fresh=True)
    report, took = run_import(crm, admin, path, "skip")
    crm.close()
    imp = Imported()
    imp.add(everything, report)
    files = dict.fromkeys(everything, everything)
    results["A"] = link_quality(rows, imp, everything, files)
    results["A"]["seconds"] = took
    results["A"]["counts"] = report.counts
    results["A"]["failures"] = imp.failures

    # (B) split files, skip: duplicates of stored customers; (C) split files, create + scan
    split = split_files(rows, args.quality_n)
    paths = [
        write_sheet([rows[i] for i in f], OUT / f"{tag}_part{k}", args.format)
        for k, f in enumerate(split)
    ]
    order = [i for f in split for i in f]
    files = {i: f for f in split for i in f}
    for key, policy in (("B", "skip"), ("C", "create")):
        crm, admin = open_store("sqlite", tag, fresh=True)
        imp = Imported()
        took = 0.0
        counts: Counter[str] = Counter()
        for f, p in zip(split, paths, strict=True):
            report, t = run_import(crm, admin, p, policy)
            took += t
            counts.update(report.counts)
            imp.add(f, report)
        res = link_quality(rows, imp, order, files)
        res.update(seconds=took, counts=dict(counts), failures=imp.failures)
        if key == "C":
            t = time.perf_counter()
            with crm.session(actor=admin) as s:
                clusters = [c.ids for c in s.dedup.scan("customers")]
            res["scan_seconds"] = time.perf_counter() - t
            res["clusters"] = len(clusters)
            res["scan"] = scan_quality(rows, imp, clusters)
            res["created"] = len(imp.customer)
        crm.close()
        results[key] = res

    a, b, c = results["A"], results["B"], results["C"]
    md("### Duplicate quality through the workflows\n")
    md(
        f"{args.quality_n:,} labelled rows (`dedup_data.generate(seed={args.seed}, "
        f"dup_rate={args.dup_rate})`: {roles['duplicate']:,} duplicates, "
        f"{roles['sibling']:,} same-brand-other-city, {roles['branch']:,} branches), written "
        f"as {args.format.upper()} with the headers {'、'.join(HEADERS.values())}, imported "
        f"into fresh SQLite stores. The split files ({len(split)}) never hold one company "
        "twice.\n"
    )
    md(
        "| run | rows | failed (validator) | reported duplicate | precision | recall | F1 "
        "| pairwise P / R / F1 | goal |"
    )
    md("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for label, r in (
        ("(A) one file, `skip`: in-file duplicate outcomes", a),
        ("(B) split files, `skip`: duplicates of stored customers", b),
    ):
        pw = r["pairwise"]
        md(
            f"| {label} | {r['rows']:,} | {r['failed']:,} | {r['reported']:,} | "
            f"{r['precision']:.4f} | {r['recall']:.4f} | **{r['f1']:.4f}** | "
            f"{pw['precision']:.4f} / {pw['recall']:.4f} / {pw['f1']:.4f} | F1 ≥ 0.97 |"
        )
    sq = c["scan"]
    md(
        f"| (C) split files, `create`, then `dedup.scan()` ({c['created']:,} customers, "
        f"{c['clusters']:,} clusters, {c['scan_seconds']:.2f} s) | {c['rows']:,} | "
        f"{c['failed']:,} | {c['reported']:,} | — | — | — | "
        f"**{sq['precision']:.4f} / {sq['recall']:.4f} / {sq['f1']:.4f}** | F1 ≥ 0.97 |"
    )
    md("")
    md(
        "Link precision = share of the rows reported duplicate whose named row / customer is "
        "the same company; link recall = share of the rows whose company already had an "
        "earlier (not failed) row that were reported duplicate *of that company*. Pairwise = "
        "the links (or the scan's clusters) as clusters, every pair of rows inside one "
        "counted, against the true pairs among the rows not failed (as "
        "`bench_dedup_quality.py` counts)."
    )
    for key in ("A", "B", "C"):
        r = results[key]
        say(
            f"  {key}: counts {r['counts']} in {r['seconds']:.1f}s "
            f"({r['rows'] / r['seconds']:,.0f} rows/s); first rows of a company reported "
            f"duplicate: {r['dropped']}; failures {dict(r['failures'])}"
        )
    fails = sum(results[k]["failed"] for k in ("A",))
    md(
        f"\nRows the validator rejected: {fails} of {a['rows']:,} "
        f"({', '.join(f'{k} × {v}' for k, v in a['failures'].items()) or 'none'}); they are "
        "left out of both the truth and the predictions. A company's first row reported a "
        f"duplicate of another company (a customer that would not be imported): "
        f"(A) {a['dropped']}, (B) {b['dropped']}. With `create`, in-file duplicates are still "
        f"not created: (C) reported {c['reported']} rows duplicate although no file holds one "
        "company twice (these are false in-file matches)."
    )
    for d in OUT.glob(f"{tag}_*.{args.format}"):
        d.unlink()
    drop_store("sqlite", tag)


def _scale_rows(n: int, args: argparse.Namespace) -> list[LabelledRow]:
    say(f"[data] generating {n + args.import_n:,} labelled rows (seed {args.scale_seed}) …")
    t = time.perf_counter()
    rows = generate(n + args.import_n, dup_rate=args.dup_rate, seed=args.scale_seed)
    say(f"[data] {time.perf_counter() - t:.1f}s")
    return rows


def _state_path(tag: str) -> Path:
    return OUT / f"{tag}.state"


def load_base(
    backend: str, n: int, rows: Sequence[LabelledRow], args: argparse.Namespace
) -> tuple[crmkit.CRM, Any, Imported, dict[str, Any]]:
    """The N-customer store (reused when ``--reuse`` finds it complete or partial)."""
    tag = f"intake_{backend}_{n}"
    state_file = _state_path(tag)
    state: dict[str, Any] = {"files": [], "imp": None}
    if args.reuse and state_file.exists():
        with state_file.open("rb") as f:
            state = pickle.load(f)
    crm, admin = open_store(backend, tag, fresh=not (args.reuse and state_file.exists()))
    imp: Imported = state["imp"] or Imported()
    split = split_files(rows[:n], args.chunk)
    for k, f in enumerate(split):
        if k < len(state["files"]):
            continue
        if args.no_load:  # measure the store as far as it was loaded
            say(f"[{backend} {n:,}] --no-load: stopping before load file {k + 1}/{len(split)}")
            break
        path = write_sheet([rows[i] for i in f], OUT / f"{tag}_load{k}", "csv")
        report, took = run_import(crm, admin, path, "create", args.load_workers)
        path.unlink()
        imp.add(f, report)
        done = len(imp.outcome)
        state["files"].append({"rows": len(f), "seconds": took, "counts": report.counts})
        state["imp"] = imp
        with state_file.open("wb") as fh:
            pickle.dump(state, fh)
        say(
            f"[{backend} {n:,}] load file {k + 1}/{len(split)}: {len(f):,} rows in {took:.1f}s "
            f"({len(f) / took:,.0f} rows/s; {done:,} rows so far) {report.counts}"
        )
    if backend == "postgres":
        with psycopg.connect(_pg_dsn(), autocommit=True, options=f"-csearch_path={tag}") as c:
            c.execute("ANALYZE")
    return crm, admin, imp, state


def candidate_stats(backend: str, tag: str, n: int, cap: int, limit: int) -> dict[str, float]:
    """Candidate pairs per record from the stored keys: how many other records share a key
    with each record (what blocking offers), and the pairs the index compares at write time
    (each key's holders capped at ``max_block_size``, each record's candidates at
    ``candidates``)."""
    sizes = [
        int(h)
        for (h,) in raw_fetch(
            backend, tag, "SELECT count(*) FROM dedup_keys GROUP BY key HAVING count(*) > 1"
        )
    ]
    keys = raw_fetch(backend, tag, "SELECT count(*) FROM dedup_keys")[0][0]
    pairs = sum(h * (h - 1) // 2 for h in sizes)
    capped = sum(min(h, cap) * (min(h, cap) - 1) // 2 for h in sizes)
    hist = Counter(
        "1" if h <= 1 else "2-10" if h <= 10 else "11-100" if h <= 100 else ">100" for h in sizes
    )
    return {
        "keys_per_record": keys / n,
        "pairs_per_record": pairs / n,
        "capped_pairs_per_record": capped / n,
        "max_block": max(sizes, default=1),
        "blocks": dict(hist),
        "over_cap": sum(1 for h in sizes if h > cap),
        "limit": limit,
    }


def count_comparisons(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``fn`` counting ``Matcher.score`` calls (every candidate the workflows compare)."""
    from crmkit.domain.dedup import matcher as matcher_module

    calls = 0
    original = matcher_module.Matcher.score

    def counting(self: Any, a: Any, b: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, a, b)

    matcher_module.Matcher.score = counting  # type: ignore[method-assign]
    try:
        return fn(), calls
    finally:
        matcher_module.Matcher.score = original  # type: ignore[method-assign]


def queries_for(
    rows: Sequence[LabelledRow], n: int, imp: Imported, count: int, seed: int
) -> list[tuple[dict[str, str], set[str]]]:
    """Held-out rows that describe a stored company: (fields, that company's customer ids)."""
    stored: dict[int, set[str]] = defaultdict(set)
    for i, cid in imp.customer.items():
        stored[rows[i].entity].add(cid)
    held = [r for r in rows[n:] if r.entity in stored]
    rng = random.Random(seed)
    rng.shuffle(held)
    with_mobile = [r for r in held if r.row.get("mobile")]
    by_name = held[: count - count // 4]
    chosen = {id(r) for r in by_name}
    with_phone = [r for r in with_mobile if id(r) not in chosen][: count // 4]
    out = [({"name": r.row["name"]}, stored[r.entity]) for r in by_name]
    out += [
        ({"name": r.row["name"], "mobile": r.row["mobile"]}, stored[r.entity]) for r in with_phone
    ]
    return out


def part_scale(backend: str, n: int, args: argparse.Namespace, summary: dict[str, Any]) -> None:
    rows = _scale_rows(n, args)
    tag = f"intake_{backend}_{n}"
    crm, admin, imp, state = load_base(backend, n, rows, args)
    rec: dict[str, Any] = summary.setdefault((backend, n), {})  # type: ignore[call-overload]
    rec["load"] = state["files"]
    rec["created"] = raw_fetch(
        backend, tag, "SELECT count(*) FROM customers WHERE deleted_at IS NULL"
    )[0][0]
    rec["failed"] = sum(1 for o in imp.outcome.values() if o == "failed")
    rec["dup_reported"] = sum(1 for o in imp.outcome.values() if o == "duplicate")
    rec["failures"] = dict(imp.failures)
    dedup_cfg = DedupConfig()
    cap = dedup_cfg.customer_match.max_block_size
    # The harness holds the labelled rows (1.1M objects at 1M) and the load's outcomes:
    # frozen, the garbage collector stops walking them on every full collection, so the
    # figures below time crmkit's work, as in an application that does not hold them.
    gc.collect()
    gc.freeze()
    if "scan" in args.parts:
        say(f"[{backend} {n:,}] scan …")

        def scan() -> list[tuple[str, ...]]:
            with crm.session(actor=admin) as s:
                return [c.ids for c in s.dedup.scan("customers")]

        scan()  # warm the page cache once, as an admin's second scan would be
        times = []
        clusters: list[tuple[str, ...]] = []
        for _ in range(args.scan_repeat):
            t = time.perf_counter()
            clusters = scan()
            times.append(time.perf_counter() - t)
        rec["scan_s"] = statistics.median(times)
        rec["scan_times"] = times
        rec["clusters"] = len(clusters)
        rec["pairs_stored"] = raw_fetch(backend, tag, "SELECT count(*) FROM dedup_pairs")[0][0]
        rec["scan_quality"] = scan_quality(rows, imp, clusters)
        rec["cand"] = candidate_stats(backend, tag, rec["created"], cap, dedup_cfg.candidates)
        say(f"  scan {times} s, {len(clusters):,} clusters, {rec['scan_quality']}")
        say(f"  candidates {rec['cand']}")
        if args.profile:
            profiled(f"scan-{backend}-{n}", scan)
        if n in args.rebuild_sizes:
            say(f"[{backend} {n:,}] rebuild …")
            t = time.perf_counter()
            with crm.session(actor=admin) as s:
                count = s.dedup.rebuild("customers")
            rec["rebuild_s"] = time.perf_counter() - t
            rec["rebuild_n"] = count
            after = scan()
            rec["rebuild_quality"] = scan_quality(rows, imp, after)
            say(f"  rebuild {rec['rebuild_s']:.1f}s for {count:,}; {rec['rebuild_quality']}")
    if "similar" in args.parts:
        queries = queries_for(rows, n, imp, args.queries, args.scale_seed)
        say(f"[{backend} {n:,}] find_similar × {len(queries)} …")
        lat: list[float] = []
        hit1 = hit5 = 0
        with crm.session(actor=admin) as s:
            s.customers.find_similar(**queries[0][0], limit=5)  # warm-up
            for fields, truth in queries:
                t = time.perf_counter()
                found = s.customers.find_similar(**fields, limit=5)
                lat.append((time.perf_counter() - t) * 1000)
                ids = [m.id for m in found]
                hit1 += bool(ids) and ids[0] in truth
                hit5 += any(i in truth for i in ids)
        per_session = []
        for fields, _ in queries[:50]:
            t = time.perf_counter()
            with crm.session(actor=admin) as s:
                s.customers.find_similar(**fields, limit=5)
            per_session.append((time.perf_counter() - t) * 1000)
        lat_sorted = sorted(lat)
        rec["similar"] = {
            "queries": len(queries),
            "median": statistics.median(lat),
            "p95": lat_sorted[int(0.95 * (len(lat) - 1))],
            "max": lat_sorted[-1],
            "hit1": hit1 / len(queries),
            "hit5": hit5 / len(queries),
            "session_median": statistics.median(per_session),
        }
        with crm.session(actor=admin) as s:
            _, calls = count_comparisons(
                lambda: [s.customers.find_similar(**f, limit=5) for f, _ in queries]
            )
        rec["similar"]["compared"] = calls / len(queries)
        say(f"  {rec['similar']}")
        if args.profile:

            def similar() -> None:
                with crm.session(actor=admin) as s:
                    for fields, _ in queries:
                        s.customers.find_similar(**fields, limit=5)

            profiled(f"similar-{backend}-{n}", similar)
    crm.close()
    if "speed" in args.parts and backend == "sqlite":
        part_speed(n, rows, args, rec, imp)
    if not args.keep and not args.reuse:
        drop_store(backend, tag)


def raw_insert(tag: str, rows: Sequence[LabelledRow]) -> float:
    """``sqlite3.executemany`` of the rows' values into a migrated, empty ``customers``,
    with their text-search entries."""
    crm, _ = open_store("sqlite", tag, fresh=True)
    crm.close()
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    values = []
    for r in rows:
        f = r.row
        values.append(
            (
                str(uuid.uuid4()),
                "company",
                f["name"],
                f["name"],
                "potential",
                "terminal",
                "[]",
                (f.get("region") or None),
                f.get("address"),
                "[]",
                "cash",
                "[]",
                f.get("uscc"),
                f.get("mobile"),
                f.get("phone"),
                f.get("email"),
                "{}",
                " ".join(x for x in (f["name"], f.get("mobile"), f.get("phone")) if x),
                1,
                now,
                now,
                "bench",
            )
        )
    sql = (
        "INSERT INTO customers (id, kind, name, name_key, category, channel_type, "
        "related_customer_ids, region_code, address, tags, settlement, co_owner_ids, uscc, "
        "mobile, phone, email, custom, search_text, version, created_at, updated_at, "
        "created_by) VALUES (" + ", ".join("?" * 22) + ")"
    )
    conn = sqlite3.connect(f"{OUT / tag}.db", isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    t = time.perf_counter()
    # New customers enter the FTS5 index a batch at a time, as the store's add_many does.
    index = (
        "INSERT INTO customer_fts(rowid, search_text) SELECT seq, search_text FROM customers "
        "WHERE id IN ({})"
    )
    conn.execute("BEGIN")
    for k in range(0, len(values), 500):  # the import's batch size, one commit each
        batch = values[k : k + 500]
        conn.executemany(sql, batch)
        conn.execute(index.format(", ".join("?" * len(batch))), [v[0] for v in batch])
        conn.execute("COMMIT")
        conn.execute("BEGIN")
    conn.execute("COMMIT")
    took = time.perf_counter() - t
    conn.close()
    drop_store("sqlite", tag)
    return took


def validation_only(
    crm: crmkit.CRM, admin: Any, rows: Sequence[LabelledRow]
) -> tuple[float, float, int]:
    """``customers._prepare`` per row (no writes); then the same plus the row's contact as
    the import checks it. Returns both times and the rows rejected."""
    from crmkit.domain.contact import parse_contact_input
    from crmkit.domain.errors import FieldErrors

    fields = [{k: r.row[k] for k in CUSTOMER_FIELDS if r.row.get(k)} for r in rows]
    bad = 0
    t = time.perf_counter()
    with crm.session(actor=admin) as s:
        for f in fields:
            try:
                s.customers._prepare(**f)
            except crmkit.ValidationError:
                bad += 1
    alone = time.perf_counter() - t
    t = time.perf_counter()
    with crm.session(actor=admin) as s:
        for f, r in zip(fields, rows, strict=True):
            try:
                c = s.customers._prepare(**f)
            except crmkit.ValidationError:
                continue
            if r.row.get("contact"):
                errors = FieldErrors()
                raw = {"name": r.row["contact"], "customer_id": c.id}
                if r.row.get("contact_mobile"):
                    raw["mobile"] = r.row["contact_mobile"]
                data = parse_contact_input(raw, errors, phone_region=s.runtime.region)
                try:
                    errors.raise_if_any()
                    s.contacts._build(data, first=True, at=c.created_at)
                except crmkit.ValidationError:
                    pass
    with_contact = time.perf_counter() - t
    return alone, with_contact, bad


def timed_import(
    sp: dict[str, Any], label: str, tag: str, path: Path, workers: int, *, fresh: bool
) -> Any:
    """``imports.run`` of ``path`` into store ``tag`` (dropped after): seconds, outcomes
    and comparisons per row under ``sp[label + "_s" | "_counts" | "_compared"]``."""
    crm, admin = open_store("sqlite", tag, fresh=fresh)
    # Counting Matcher.score calls costs well under 1% here (about one call per row).
    (report, took), calls = count_comparisons(lambda: run_import(crm, admin, path, "skip", workers))
    crm.close()
    drop_store("sqlite", tag)
    m = sp["rows"]
    sp[f"{label}_s"], sp[f"{label}_counts"], sp[f"{label}_compared"] = (
        took,
        report.counts,
        calls / m,
    )
    say(f"  import {label}, {workers} workers {took:.2f}s ({m / took:,.0f} rows/s)")
    say(f"    {report.counts}")
    return report


def heldout_links(
    rows: Sequence[LabelledRow], n: int, load: Imported, report: Any
) -> dict[str, float]:
    """Link precision / recall / F1 of the held-out rows' outcomes imported into the store
    that ``load`` loaded (as ``link_quality`` counts them: a row is a repeat when its
    company was created by the load or by an earlier held-out row)."""
    seen = {rows[i].entity for i, o in load.outcome.items() if o == "created"}
    held = Imported()
    held.row_of = dict(load.row_of)
    order = list(range(n, n + len(report.results)))
    held.add(order, report)
    files = dict.fromkeys(order, order)
    repeats = found = reported = correct = 0
    for i in order:
        if held.outcome[i] == "failed":
            continue
        entity = rows[i].entity
        is_repeat = entity in seen
        repeats += is_repeat
        if held.outcome[i] == "duplicate":
            reported += 1
            j = held.linked_row(i, files)
            ok = j is not None and rows[j].entity == entity
            correct += ok
            found += ok and is_repeat
        if held.outcome[i] == "created":
            seen.add(entity)
    precision = correct / reported if reported else 1.0
    recall = found / repeats if repeats else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "repeats": repeats}


def part_speed(
    n: int, rows: Sequence[LabelledRow], args: argparse.Namespace, rec: dict, load: Imported
) -> None:
    held = rows[n:]
    m = len(held)
    base = f"intake_sqlite_{n}"
    say(f"[speed {n:,}] {m:,} held-out rows …")
    path = write_sheet(held, OUT / f"intake_speed_{n}", args.format)
    sp: dict[str, Any] = {"rows": m, "format": args.format}
    sp["raw_s"] = raw_insert("intake_raw", held)
    say(f"  raw executemany {sp['raw_s']:.2f}s ({m / sp['raw_s']:,.0f} rows/s)")
    crm, admin = open_store("sqlite", "intake_empty", fresh=True)
    sp["valid_s"], sp["valid_contact_s"], sp["invalid"] = validation_only(crm, admin, held)
    say(f"  validation {sp['valid_s']:.2f}s (+contact {sp['valid_contact_s']:.2f}s)")
    t = time.perf_counter()
    with crm.session(actor=admin) as s:
        preview = s.imports.preview(path, on_duplicate="skip")
    sp["preview_s"] = time.perf_counter() - t
    say(f"  preview {sp['preview_s']:.2f}s {preview.counts}")
    crm.close()
    drop_store("sqlite", "intake_empty")
    for w in args.workers:
        sfx = "" if w == 0 else f"_w{w}"
        timed_import(sp, f"empty{sfx}", "intake_empty", path, w, fresh=True)
        if Path(f"{OUT / base}.db").exists():
            sqlite_copy(base, "intake_full")
            full = timed_import(sp, f"full{sfx}", "intake_full", path, w, fresh=False)
            sp[f"full{sfx}_links"] = heldout_links(rows, n, load, full)
            say(f"    links {sp[f'full{sfx}_links']}")
    if Path(f"{OUT / base}.db").exists():
        if args.profile:
            sub = write_sheet(held[: args.profile_rows], OUT / "intake_prof", args.format)
            sqlite_copy(base, "intake_full")
            crm, admin = open_store("sqlite", "intake_full", fresh=False)
            profiled(f"import-into-{n}", lambda: run_import(crm, admin, sub, "skip"))
            crm.close()
            crm, admin = open_store("sqlite", "intake_empty", fresh=True)
            profiled("import-into-empty", lambda: run_import(crm, admin, sub, "skip"))
            crm.close()
            drop_store("sqlite", "intake_empty")
            sub.unlink()
        drop_store("sqlite", "intake_full")
    path.unlink()
    rec["speed"] = sp


def write_scale(summary: dict[Any, dict[str, Any]], args: argparse.Namespace) -> None:
    if not summary:
        return
    md("\n### Load, scan and find_similar\n")
    md(
        f"Stores of N customers with duplicates: the first N rows of "
        f"`dedup_data.generate(N + {args.import_n:,}, seed={args.scale_seed}, "
        f'dup_rate={args.dup_rate})`, imported with `on_duplicate="create"` from CSV files '
        f"of ≈{args.chunk:,} rows that never hold one company twice (so every duplicate "
        "becomes a customer and its pairs are in the index).\n"
    )
    md(
        "| backend | N | load (rows/s, first → last file) | customers | pairs stored | "
        "scan s | clusters | scan P / R / F1 | candidate pairs / record (keys; capped) | "
        "find_similar median / p95 ms | twin in top 5 (top 1) |"
    )
    md("|---|---:|---|---:|---:|---:|---:|---|---|---|---|")
    for (backend, n), r in summary.items():
        load = r.get("load") or []
        rates = [f["rows"] / f["seconds"] for f in load]
        total = sum(f["seconds"] for f in load)
        load_text = (
            f"{sum(f['rows'] for f in load) / total:,.0f} ({rates[0]:,.0f} → {rates[-1]:,.0f}; "
            f"{total / 60:.1f} min)"
            if load
            else "reused"
        )
        sq = r.get("scan_quality")
        cand = r.get("cand")
        sim = r.get("similar")
        cells = [backend, f"{n:,}", load_text, f"{r['created']:,}"]
        if sq and cand:
            cells += [
                f"{r['pairs_stored']:,}",
                f"{r['scan_s']:.2f}",
                f"{r['clusters']:,}",
                f"{sq['precision']:.4f} / {sq['recall']:.4f} / {sq['f1']:.4f}",
                f"{cand['pairs_per_record']:.2f}; {cand['capped_pairs_per_record']:.2f}",
            ]
        else:
            cells += [""] * 5
        if sim:
            cells += [
                f"{sim['median']:.2f} / {sim['p95']:.2f}",
                f"{sim['hit5']:.1%} ({sim['hit1']:.1%})",
            ]
        else:
            cells += ["", ""]
        md("| " + " | ".join(cells) + " |")
    for (backend, n), r in summary.items():
        if "rebuild_s" in r:
            rq = r["rebuild_quality"]
            md(
                f"\n`dedup.rebuild()` ({backend}, {n:,}): {r['rebuild_s']:.1f} s "
                f"({r['rebuild_n'] / r['rebuild_s']:,.0f} records/s); scan after it "
                f"P / R / F1 {rq['precision']:.4f} / {rq['recall']:.4f} / {rq['f1']:.4f}."
            )
    speeds = [(n, r["speed"]) for (b, n), r in summary.items() if "speed" in r]
    if speeds:
        md("\n### Import speed (SQLite file)\n")
        md(
            'The held-out rows of the same generation, one file, `on_duplicate="skip"`; '
            "each figure in the same run. Rows/s counts every row read.\n"
        )
        md("| what | store | rows | seconds | rows/s | vs validation alone |")
        md("|---|---|---:|---:|---:|---:|")
        for n, sp in speeds:
            m = sp["rows"]
            v = m / sp["valid_s"]
            lines = [
                ("raw `sqlite3.executemany` (same rows, minimal columns)", "empty", sp["raw_s"]),
                ("validation alone (`customers._prepare` per row)", "empty", sp["valid_s"]),
                ("validation + the row's contact", "empty", sp["valid_contact_s"]),
                ("`imports.preview` (dry run)", "empty", sp["preview_s"]),
            ]
            for w in args.workers:
                sfx = "" if w == 0 else f"_w{w}"
                run = "`imports.run`" + (f" (`workers={w}`)" if w else "")
                lines.append((run, "empty", sp[f"empty{sfx}_s"]))
                if f"full{sfx}_s" in sp:
                    lines.append((run, f"{n:,} customers", sp[f"full{sfx}_s"]))
            for what, store, s in lines:
                md(f"| {what} | {store} | {m:,} | {s:.2f} | {m / s:,.0f} | {(m / s) / v:.0%} |")
            first = "" if args.workers[0] == 0 else f"_w{args.workers[0]}"  # outcomes agree
            md(
                f"\nOutcomes into the empty store {sp[f'empty{first}_counts']}"
                + (
                    f", into {n:,} {sp[f'full{first}_counts']}"
                    if f"full{first}_counts" in sp
                    else ""
                )
                + f". Comparisons (`Matcher.score` calls) per row: "
                f"{sp[f'empty{first}_compared']:.2f} into the empty store"
                + (
                    f", {sp[f'full{first}_compared']:.2f} into {n:,}"
                    if f"full{first}_compared" in sp
                    else ""
                )
                + "."
            )
            for w in args.workers:
                sfx = "" if w == 0 else f"_w{w}"
                if f"full{sfx}_s" in sp:
                    md(
                        f"With {w} workers: import into {n:,} customers runs at "
                        f"{sp[f'empty{sfx}_s'] / sp[f'full{sfx}_s']:.0%} of the empty-store "
                        f"rate (goal ≥ 80%); import at "
                        f"{(m / sp[f'empty{sfx}_s']) / v:.0%} of validation alone (goal ≥ 60%)."
                    )
                links = sp.get(f"full{sfx}_links")
                if links:
                    md(
                        f"Its duplicate links against the {n:,}-customer store ({w} workers): "
                        f"P / R / F1 {links['precision']:.4f} / {links['recall']:.4f} / "
                        f"{links['f1']:.4f} over {links['repeats']:,} rows whose company the "
                        "store (or an earlier row) already held."
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["quality", "load", "scan", "similar", "speed"],
        choices=["quality", "load", "scan", "similar", "speed"],
    )
    parser.add_argument("--quality-n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1, help="seed of the quality set")
    parser.add_argument("--dup-rate", type=float, default=0.15)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--import-n", type=int, default=100_000, help="held-out rows")
    parser.add_argument("--scale-seed", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=100_000, help="rows per load file")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--scan-repeat", type=int, default=3)
    parser.add_argument("--rebuild-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument(
        "--load-workers",
        type=int,
        default=1,
        help="load: worker processes for the load's imports (imports.run(workers=...))",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[0, 1],
        help="speed: import with each of these worker counts (imports.run(workers=...))",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-rows", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the loaded stores")
    parser.add_argument("--reuse", action="store_true", help="reuse (or finish) kept stores")
    parser.add_argument(
        "--no-load",
        action="store_true",
        help="with --reuse: do not finish loading a partly loaded store, measure it as it is",
    )
    parser.add_argument(
        "--gc-tuning",
        action="store_true",
        help="open every store with Settings(bulk_gc_tuning=True): scans pause the garbage "
        "collector, imports hold off its full collections",
    )
    parser.add_argument("--json", type=Path, help="also dump the figures here")
    args = parser.parse_args()
    if args.gc_tuning:
        SETTINGS["bulk_gc_tuning"] = True
    OUT.mkdir(parents=True, exist_ok=True)
    command = "python bench/bench_intake.py " + " ".join(sys.argv[1:])
    md(f"Command: `{command}` — run on {datetime.now(UTC):%Y-%m-%d} on this 2-core machine.\n")
    if "quality" in args.parts:
        part_quality(args)
    summary: dict[Any, dict[str, Any]] = {}
    if set(args.parts) & {"load", "scan", "similar", "speed"}:
        for backend in args.backends:
            for n in args.sizes:
                part_scale(backend, n, args, summary)
        write_scale(summary, args)
    if args.json:
        args.json.write_text(
            json.dumps({f"{b}:{n}": r for (b, n), r in summary.items()}, default=str, indent=1),
            "utf-8",
        )


if __name__ == "__main__":
    main()
