"""Follow-up (issue 19): ``crm.run_due`` with 10,000 SFA steps due among N enrolments, and
``crm.dispatch`` throughput with several workers.

**run_due.** For each ``--sizes`` N and backend, a fresh store with a 30-step daily plan
(SMS at 09:00 each day), 10,000 customers and N enrolments bulk-inserted through the
repositories (10,000 per transaction), each with its pending ``sfa.step`` job: 10,000
enrolments (one per customer) start on 1 June 2026, the other N − 10,000 between 100 and
400 days later (their customer ids name no customer: their steps never come due here).
Then ANALYZE. Timed, each in rounds (a round consumes the day's steps, so round r runs day
r's):

- the raw indexed query: the 10,000 due job rows selected on the bare driver with the claim's
  own predicate (so through the partial index ``ix_jobs_claimable_due``), median of
  ``--repeat``;
- crmkit's claim of the same rows (``uow.jobs.claim``, rolled back so it can be repeated),
  median of ``--repeat``: the part of ``run_due`` that could grow with the table;
- ``crm.run_due(now=day r 09:00, limit=10,000)``: claim, then every step executed (the
  message rendered and queued with its log row, the run recorded, the enrolment's cursor
  moved, the next step's job scheduled), in batches of ``Settings.job_batch_size``;
  ``--rounds`` rounds, median. The goal is about growth: the same call within 1.3× at N
  as at 100k.

**dispatch.** PostgreSQL only: ``--messages`` SMS queued, then ``--workers`` worker
processes each calling ``crm.dispatch(limit=500)`` until nothing is left, each with its own
recording notifier (``crmkit.testing.notifiers.RecordingNotifier``); messages/s is the
count over the wall time from the start signal to the last worker done; every message is
checked sent once.

    .venv/bin/python bench/bench_sfa.py                          # 100k, SQLite and PostgreSQL
    .venv/bin/python bench/bench_sfa.py --sizes 1000000
    .venv/bin/python bench/bench_sfa.py --only dispatch --workers 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import crmkit
from crmkit.domain.sfa import EnrolmentStatus, SfaEnrolment, run_key
from crmkit.storage.catalog import SFA_ENROLMENTS
from crmkit.storage.queues import Job, OutboxMessage
from crmkit.testing import store_of
from crmkit.testing.notifiers import RecordingNotifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forecast import PG_URL, drop_store, open_crm, raw_connection, say
from bench_storage import build

DUE = 10_000
CHUNK = 10_000
DAY0 = date(2026, 6, 1)
ZONE_OFFSET = timedelta(hours=8)  # Asia/Shanghai
STEP_JOB = "sfa.step"


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - ZONE_OFFSET


def setup(backend: str, n: int) -> tuple[crmkit.CRM, crmkit.User, float]:
    tag = f"bench_sfa_{n}"
    drop_store(backend, tag)
    crm = open_crm(backend, tag)
    started = time.perf_counter()
    admin = crm.bootstrap_admin(name="管理员", password="bench-sfa-pw1", login="admin")
    with crm.session(actor=admin) as s:
        s.messages.templates.create(code="hello", name="问候", body="{name}您好，感谢惠顾")
        plan = s.sfa.create_plan(
            name="30天关怀",
            marketing=False,
            steps=[
                {"action": "sms", "offset": day, "template": "hello", "at": "09:00"}
                for day in range(30)
            ],
        )
    customers = build(DUE, [admin.id])
    store = store_of(crm)
    with store.unit_of_work() as uow:
        uow.customers.add_many(customers)
        uow.commit()
    now = datetime(2026, 5, 31, tzinfo=UTC)
    for start in range(0, n, CHUNK):
        enrolments, jobs = [], []
        for i in range(start, min(n, start + CHUNK)):
            anchor = DAY0 if i < DUE else DAY0 + timedelta(days=100 + i % 300)
            customer = customers[i].id if i < DUE else str(uuid.uuid4())
            due = _at(anchor)
            enrolment = SfaEnrolment(
                id=str(uuid.uuid4()),
                plan_id=plan.id,
                customer_id=customer,
                status=EnrolmentStatus.ACTIVE,
                anchor=anchor,
                starts_at=now,
                next_round=0,
                next_step=0,
                next_due_at=due,
                created_at=now,
                updated_at=now,
                created_by=admin.id,
            )
            enrolments.append(enrolment)
            key = run_key(enrolment.id, 0, 0)
            jobs.append(
                Job(
                    id=str(uuid.uuid4()),
                    kind=STEP_JOB,
                    key=key,
                    due_at=due,
                    payload={"enrolment": enrolment.id, "round": 0, "step": 0},
                    created_at=now,
                )
            )
        with store.unit_of_work() as uow:
            uow.repo(SFA_ENROLMENTS).add_many(enrolments)
            uow.jobs.add_many(jobs)
            uow.commit()
    with store.connection() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return crm, admin, time.perf_counter() - started


def raw_same_work(raw: Any, backend: str, at: datetime, *, commit: bool = False) -> int:
    """The least any implementation does for the due steps, on the bare driver in one
    transaction, rolled back (repeatable): the due jobs through the index, their
    enrolments and customers by id, then one multi-row write per table (outbox, message
    log, runs, next jobs) and one executemany each to move the cursors and mark the jobs
    done. No rendering beyond an f-string, no checks: a floor, not a rival. Rolled back
    unless ``commit`` (a commit writes the pages: on SQLite most of the cost)."""
    import json

    from psycopg.types.json import Jsonb

    sqlite = backend == "sqlite"

    def t(value: datetime) -> Any:
        return value.isoformat(timespec="microseconds") if sqlite else value

    p = "?" if sqlite else "%s"
    cur = raw.conn.cursor()
    try:
        cur.execute(RAW_DUE.replace("?", p), (t(at), STEP_JOB, DUE))
        jobs = cur.fetchall()
        ids = [json.loads(j[4])["enrolment"] if sqlite else j[4]["enrolment"] for j in jobs]
        marks = ",".join([p] * len(ids))
        cur.execute(
            f"SELECT id, customer_id, version, data FROM sfa_enrolments WHERE id IN ({marks})", ids
        )
        enrolments = cur.fetchall()
        customers = {e[1] for e in enrolments}
        marks = ",".join([p] * len(customers))
        cur.execute(
            f"SELECT id, name, mobile FROM customers WHERE id IN ({marks})", list(customers)
        )
        named = {c[0]: c for c in cur.fetchall()}
        now = at
        outbox, messages, runs, next_jobs, moves, done = [], [], [], [], [], []
        for (e_id, c_id, version, data), job in zip(enrolments, jobs, strict=False):
            c = named[c_id]
            key = f"raw:{e_id}:{at.date().isoformat()}"  # apart from crmkit's own runs
            text = f"【crmkit】{c[1]}您好，感谢惠顾"
            body = json.dumps({"template": "hello", "text": text}, ensure_ascii=False)
            outbox.append(
                (str(uuid.uuid4()), key, "sms", c[2] or "", body, "pending", 0, 0, t(now), t(now))
            )
            messages.append(
                (
                    str(uuid.uuid4()),
                    1,
                    t(now),
                    "out",
                    "sms",
                    "sfa",
                    c[2] or "",
                    t(now),
                    None,
                    key,
                    c_id,
                    body,
                )
            )
            runs.append(
                (str(uuid.uuid4()), 1, t(now), key, e_id, "plan", "sent", t(now), c_id, body)
            )
            next_jobs.append(
                (
                    str(uuid.uuid4()),
                    STEP_JOB,
                    key + ":n",
                    t(now + timedelta(days=1)),
                    body,
                    "pending",
                    0,
                    t(now),
                )
            )
            moved = data if sqlite else Jsonb(data)  # PostgreSQL hands jsonb back as a dict
            moves.append((version + 1, t(now + timedelta(days=1)), moved, e_id, version))
            done.append(("done", t(now), job[0]))
        cur.executemany(
            "INSERT INTO outbox (id, key, channel, recipient, payload, status, attempts,"
            f" checks, created_at, due_at) VALUES ({','.join([p] * 10)})",
            outbox,
        )
        cur.executemany(
            "INSERT INTO messages (id, version, created_at, direction, channel, source,"
            " recipient, at, batch_id, outbox_key, customer_id, data)"
            f" VALUES ({','.join([p] * 12)})",
            messages,
        )
        cur.executemany(
            "INSERT INTO sfa_runs (id, version, created_at, key, enrolment_id, plan_id,"
            f" outcome, due_at, customer_id, data) VALUES ({','.join([p] * 10)})",
            runs,
        )
        cur.executemany(
            "INSERT INTO jobs (id, kind, key, due_at, payload, status, attempts, created_at)"
            f" VALUES ({','.join([p] * 8)})",
            next_jobs,
        )
        cur.executemany(
            f"UPDATE sfa_enrolments SET version = {p}, next_due_at = {p}, data = {p}"
            f" WHERE id = {p} AND version = {p}",
            moves,
        )
        cur.executemany(f"UPDATE jobs SET status = {p}, done_at = {p} WHERE id = {p}", done)
        return len(jobs)
    finally:
        cur.close()
        if commit:
            raw.conn.commit()
        else:
            raw.conn.rollback()


RAW_DUE = (
    "SELECT id, kind, key, due_at, payload, attempts FROM jobs"
    " WHERE status IN ('pending', 'failed') AND due_at <= ? AND kind IN (?)"
    " ORDER BY due_at LIMIT ?"
)


def median_s(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_due_figures(backend: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    crm, _admin, load_s = setup(backend, n)
    say(f"{backend} {n:,}: loaded in {load_s:.0f} s")
    store = store_of(crm)
    raw = raw_connection(backend, f"bench_sfa_{n}")
    out: dict[str, Any] = {"backend": backend, "n": n, "load_s": load_s}
    try:
        day_at = _at(DAY0) + timedelta(seconds=1)

        def raw_query() -> None:
            # as the store binds a time: ISO text in UTC on SQLite, timestamptz on PostgreSQL
            bound = day_at.isoformat(timespec="microseconds") if backend == "sqlite" else day_at
            rows = raw.fetch(RAW_DUE, (bound, STEP_JOB, DUE))
            assert len(rows) == DUE, len(rows)

        def claim() -> None:
            with store.unit_of_work() as uow:  # rolled back: repeatable
                got = uow.jobs.claim(
                    kinds=[STEP_JOB],
                    now=day_at,
                    limit=DUE,
                    claimed_by="bench",
                    lease_until=day_at + timedelta(minutes=5),
                )
                assert len(got) == DUE, len(got)

        out["raw_s"] = median_s(raw_query, args.repeat)
        out["raw_work_s"] = median_s(lambda: raw_same_work(raw, backend, day_at), args.repeat)
        out["claim_s"] = median_s(claim, args.repeat)
        runs = []
        for r in range(args.rounds):
            at = _at(DAY0 + timedelta(days=r)) + timedelta(seconds=1)
            t0 = time.perf_counter()
            report = crm.run_due(now=at, limit=DUE)
            runs.append(time.perf_counter() - t0)
            assert report.done == DUE, report
        out["run_due_s"] = statistics.median(runs)
        # once, committed, on the next day's steps (crmkit's rounds have scheduled them)
        at = _at(DAY0 + timedelta(days=args.rounds)) + timedelta(seconds=1)
        t0 = time.perf_counter()
        assert raw_same_work(raw, backend, at, commit=True) == DUE
        out["raw_commit_s"] = time.perf_counter() - t0
        out["runs"] = runs
        with crm.session(actor=crmkit.SYSTEM) as s:
            out["queued"] = s._uow.outbox.count()
    finally:
        raw.close()
        crm.close()
    say(
        f"{backend} {n:,}: raw query {out['raw_s'] * 1000:.1f} ms, raw same work"
        f" {out['raw_work_s']:.2f} s (committed {out['raw_commit_s']:.2f} s),"
        f" claim {out['claim_s'] * 1000:.1f} ms,"
        f" run_due {out['run_due_s']:.2f} s (rounds {', '.join(f'{t:.2f}' for t in out['runs'])});"
        f" {out['queued']:,} messages queued"
    )
    return out


# -- dispatch ---------------------------------------------------------------------------------
def _dispatch_worker(url: str, schema: str, start: Any, done: Any) -> None:
    notifier = RecordingNotifier()
    crm = crmkit.open(url, schema=schema, notifier=notifier)
    start.wait()
    while crm.dispatch(limit=500).claimed:
        pass
    crm.close()
    done.put([m.key for m in notifier.sent])


def dispatch_figures(args: argparse.Namespace) -> dict[str, Any]:
    tag = "bench_sfa_dispatch"
    drop_store("postgres", tag)
    crm = open_crm("postgres", tag)
    now = datetime.now(UTC) - timedelta(minutes=1)
    store = store_of(crm)
    total = args.messages
    for start in range(0, total, CHUNK):
        with store.unit_of_work() as uow:
            uow.outbox.add_many(
                [
                    OutboxMessage(
                        id=str(uuid.uuid4()),
                        key=f"bench:{i}:+86139{i:08d}",
                        channel="sms",
                        recipient=f"+86139{i:08d}",
                        payload={"template": "hello", "text": f"【crmkit】客户{i}您好"},
                        created_at=now,
                        due_at=now,
                    )
                    for i in range(start, min(total, start + CHUNK))
                ]
            )
            uow.commit()
    with store.connection() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    crm.close()
    ctx = multiprocessing.get_context("spawn")
    start_event, done = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_dispatch_worker, args=(PG_URL, tag, start_event, done))
        for _ in range(args.workers)
    ]
    for w in workers:
        w.start()
    time.sleep(3)  # every worker has opened its CRM
    t0 = time.perf_counter()
    start_event.set()
    keys: list[str] = []
    for _ in workers:
        keys += done.get()
    wall = time.perf_counter() - t0
    for w in workers:
        w.join()
    assert len(keys) == total, len(keys)
    assert len(set(keys)) == total, "a message was sent twice"
    rate = total / wall
    say(f"dispatch: {total:,} messages, {args.workers} workers, {wall:.2f} s, {rate:,.0f} msg/s")
    return {"messages": total, "workers": args.workers, "wall_s": wall, "rate": rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--only", choices=["run_due", "dispatch"], default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if args.only in (None, "run_due"):
        for backend in args.backends:
            for n in args.sizes:
                run_due_figures(backend, n, args)
    if args.only in (None, "dispatch"):
        dispatch_figures(args)


if __name__ == "__main__":
    main()
