"""Sales forecast (issue 17): ``s.opportunities.forecast`` in SQL beside the raw GROUP BY.

For each ``--sizes`` N and backend, a fresh store with 110 users (10 managers, each over
10 salespeople), N/10 customers owned in turn by the salespeople and N opportunities on
them, bulk-inserted through the repositories (``customers.add_many``,
``repo(OPPORTUNITIES).add_many``, chunks of 10,000 per transaction), then ANALYZE. The
opportunities: amounts 1,000–5,000,000.00 CNY (5% without), expected close over 2027 and
2028, 70% open in a stage of the default pipeline with its probability, 20% won, 10%
lost, 1% in the recycle bin; 90% owned by their customer's owner.

Timed, median of ``--repeat`` runs after a warm-up, each in a session of its own:

- ``forecast(group_by="month")`` (the monthly forecast over every opportunity),
  ``forecast(month="2027-06")`` and ``forecast(group_by=("month", "owner"))``, for the
  admin (every opportunity) and for one salesperson (their customers': about 1%);
- beside each, the raw query: the same GROUP BY hand-written on the bare driver (sqlite3 /
  psycopg) on the same data in the same run. On SQLite it sums the JSON amounts as floats
  (what SQL gives without crmkit's exact sums), on PostgreSQL as ``numeric``;
- ``before``: the monthly forecast as it was before issue 17, the repository's pages
  summed in Python (``forecast_lines``), for the admin, once (``--no-before`` skips it);
- with ``--columns``, the same aggregates on a copy of the opportunities whose amount (and
  its currency) and probability have columns: what a migration indexing them would give;
- the statistics (``by_stage``, ``by_probability``, ``win_rate``) for the admin.

Each crmkit figure's groups are checked against the raw query's (same keys, same counts).
``--keep`` keeps the stores (``bench/out/bench_forecast_sqlite_<n>.db``, PostgreSQL schema
``bench_forecast_postgres_<n>``) and ``--reuse`` times them again without loading.

    .venv/bin/python bench/bench_forecast.py --columns            # 100k, SQLite and PostgreSQL
    .venv/bin/python bench/bench_forecast.py --sizes 100000 1000000 --backends sqlite postgres
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

import crmkit
from crmkit.adapters.passwords import Argon2Hasher
from crmkit.domain.opportunity import (
    Opportunity,
    OpportunityStatus,
    Pipeline,
    StageChange,
    forecast_lines,
)
from crmkit.domain.values import Money
from crmkit.storage.catalog import OPPORTUNITIES
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Scope
from crmkit.storage.spec import EntitySpec, Filter, Group, Measure, Op
from crmkit.storage.sql.entities import app_metadata, entity_table
from crmkit.testing import store_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_storage import Raw, build
from datagen import person_name

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("CRMKIT_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-forecast-pw"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHUNK = 10_000
MONTH = "2027-06"


@dataclass(frozen=True)
class Case:
    """One forecast call: its label, its keywords, and what its GROUP BY reads."""

    label: str
    kwargs: dict[str, Any]
    by_owner: bool = False
    month: str | None = None


CASES = (
    Case('forecast(group_by="month")', {"group_by": "month"}),
    Case(f'forecast(month="{MONTH}")', {"month": MONTH}, month=MONTH),
    Case('forecast(group_by=("month", "owner"))', {"group_by": ("month", "owner")}, True),
)


def say(text: str = "") -> None:
    print(text, flush=True)


# -- stores ---------------------------------------------------------------------------------
def _pg_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def drop_store(backend: str, tag: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / tag}.db{suffix}").unlink(missing_ok=True)
    else:
        with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE')


def open_crm(backend: str, tag: str) -> crmkit.CRM:
    hasher = Argon2Hasher.fast()
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        return crmkit.open(f"sqlite:///{OUT / tag}.db", password_hasher=hasher)
    return crmkit.open(PG_URL, schema=tag, password_hasher=hasher)


def raw_connection(backend: str, tag: str) -> Raw:
    if backend == "sqlite":
        return Raw("sqlite", str(OUT / f"{tag}.db"))
    return Raw("postgres", f"{_pg_dsn()}?options=-csearch_path%3D{tag},public")


# -- data -----------------------------------------------------------------------------------
def team(crm: crmkit.CRM) -> tuple[crmkit.User, list[crmkit.User]]:
    """The admin and the salespeople (10 managers over 10 each), made once per store."""
    try:
        admin = crm.authenticate("admin", PASSWORD)
    except crmkit.CRMError:
        admin = crm.bootstrap_admin(name="管理员", password=PASSWORD, login="admin")
    rng = random.Random(17)
    with crm.session(actor=admin) as s:
        sales = list(s.users.list(role="sales", limit=500))
        if sales:
            return admin, sales
        for m in range(10):
            boss = s.users.create(
                name=person_name(rng), role="manager", login=f"manager{m}", password=PASSWORD
            )
            for k in range(10):
                sales.append(
                    s.users.create(
                        name=person_name(rng),
                        role="sales",
                        login=f"sales{m * 10 + k}",
                        manager_id=boss.id,
                        password=PASSWORD,
                    )
                )
    return admin, sales


def opportunities(
    start: int, stop: int, customers: Sequence[tuple[str, str]], owners: Sequence[str]
) -> list[Opportunity]:
    """Opportunities ``start`` to ``stop`` (deterministic per chunk)."""
    pipeline = Pipeline.default()
    rng = random.Random(start)
    out = []
    for i in range(start, stop):
        customer_id, owner_id = customers[rng.randrange(len(customers))]
        if rng.random() < 0.1:
            owner_id = owners[rng.randrange(len(owners))]
        roll = rng.random()
        if roll < 0.7:
            status, stage = OpportunityStatus.OPEN, rng.choice(pipeline.stages)
        elif roll < 0.9:
            status, stage = OpportunityStatus.WON, pipeline.won
        else:
            status, stage = OpportunityStatus.LOST, pipeline.lost
        closed = date(2026, 1 + rng.randrange(11), 1 + rng.randrange(28))
        amount = (
            None
            if rng.random() < 0.05
            else Money(Decimal(rng.randrange(100_000, 500_000_000)).scaleb(-2))
        )
        out.append(
            Opportunity(
                id=str(uuid.uuid4()),
                customer_id=customer_id,
                owner_id=owner_id,
                title=f"门禁改造{i}号",
                amount=amount,
                expected_close=date(2027, 1, 1) + timedelta(days=rng.randrange(730)),
                stage=stage.code,
                probability=stage.probability,
                status=status,
                lost_reason="价格" if status is OpportunityStatus.LOST else None,
                closed_on=None if status is OpportunityStatus.OPEN else closed,
                stage_history=(StageChange(stage=stage.code, entered_at=NOW, by=owner_id),),
                created_at=NOW,
                updated_at=NOW,
                created_by=owner_id,
                deleted_at=NOW if rng.random() < 0.01 else None,
            )
        )
    return out


def _count(crm: crmkit.CRM) -> int:
    """Opportunities already in the store (a kept one), deleted included."""
    with store_of(crm).unit_of_work() as uow:
        query = EntityQuery(deleted=Deleted.INCLUDE)
        return uow.repo(OPPORTUNITIES).count(query, EVERYTHING)


def load(crm: crmkit.CRM, n: int, owners: list[str]) -> float:
    """Customers (N/10) and N opportunities through the repositories; returns seconds."""
    store = store_of(crm)
    started = time.perf_counter()
    people = build(max(n // 10, len(owners)), owners)
    customers = [(c.id, c.owner_id or owners[0]) for c in people]
    for i in range(0, len(people), CHUNK):
        with store.unit_of_work() as uow:
            uow.customers.add_many(people[i : i + CHUNK])
            uow.commit()
    for i in range(0, n, CHUNK):
        with store.unit_of_work() as uow:
            uow.repo(OPPORTUNITIES).add_many(opportunities(i, min(i + CHUNK, n), customers, owners))
            uow.commit()
    took = time.perf_counter() - started
    with store.connection() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")
    return took


# -- queries --------------------------------------------------------------------------------
def raw_forecast(
    backend: str, by_owner: bool, month: str | None, sales_id: str | None
) -> tuple[str, tuple[Any, ...]]:
    """The forecast's GROUP BY, hand-written."""
    # the columns migration 0018 gave opportunities (SQLite sums their text as floats)
    close = (
        "substr(expected_close, 1, 7)"
        if backend == "sqlite"
        else ("to_char(expected_close, 'YYYY-MM')")
    )
    currency, amount, probability = "amount_currency", "amount", "probability"
    keys = [close] + (["owner_id"] if by_owner else []) + [currency]
    where = ["deleted_at IS NULL", "status = 'open'", "expected_close IS NOT NULL"]
    params: list[Any] = []
    if month is not None:
        first = date.fromisoformat(f"{month}-01")
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        where += ["expected_close >= ?", "expected_close < ?"]
        params += [first.isoformat(), after.isoformat()]
    if sales_id is not None:
        where.append(
            "customer_id IN (SELECT id FROM customers WHERE owner_id = ?"
            " UNION ALL SELECT customer_id FROM customer_co_owners WHERE user_id = ?)"
        )
        params += [sales_id, sales_id]
    sql = (
        f"SELECT {', '.join(keys)}, count(*), sum({amount}), sum({amount} * {probability}) "
        f"FROM opportunities WHERE {' AND '.join(where)} "
        f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}"
    )
    return sql, tuple(params)


def median_s(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = fn()  # warm caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def time_forecast(
    crm: crmkit.CRM,
    raw: Raw,
    actor: crmkit.User,
    sales_id: str | None,
    case: Case,
    repeat: int,
) -> tuple[int, float, float]:
    """Lines, crmkit's median and the raw query's median; checks both found the same
    groups with the same counts."""

    def ours() -> list[crmkit.ForecastLine]:
        with crm.session(actor=actor) as s:
            return s.opportunities.forecast(**case.kwargs)

    sql, params = raw_forecast(raw.backend, case.by_owner, case.month, sales_id)
    ours_s, lines = median_s(ours, repeat)
    raw_s, found = median_s(lambda: raw.fetch(sql, params), repeat)
    want = {tuple(r[:-3]): r[-3] for r in found if r[-4] is not None}  # currency: an amount
    owner = case.by_owner
    got = {(f.month, *((f.owner_id,) if owner else ()), f.currency): f.count for f in lines}
    assert got == want, "crmkit and the raw query found different groups"
    return len(lines), ours_s, raw_s


def run(backend: str, n: int, args: argparse.Namespace) -> list[tuple[str, ...]]:
    """Load (unless reused) and time one store; returns the table's rows."""
    tag = f"bench_forecast_{backend}_{n}"
    if not args.reuse:
        drop_store(backend, tag)
    crm = open_crm(backend, tag)
    rows: list[tuple[str, ...]] = []
    try:
        admin, sales = team(crm)
        have = _count(crm)
        if have != n:
            if have:
                raise SystemExit(f"{tag} holds {have:,} opportunities, not {n:,}: drop it")
            say(f"[{backend} {n:,}] loading …")
            took = load(crm, n, [u.id for u in sales])
            say(f"[{backend} {n:,}] loaded {n:,} opportunities in {took:.1f} s")
        raw = raw_connection(backend, tag)
        seller = sales[0]
        for who, actor, sales_id in (("admin", admin, None), ("salesperson", seller, seller.id)):
            for case in CASES:
                lines, ours_s, raw_s = time_forecast(crm, raw, actor, sales_id, case, args.repeat)
                rows.append(
                    (
                        backend,
                        f"{n:,}",
                        who,
                        case.label,
                        f"{lines:,}",
                        f"{ours_s:.3f}",
                        f"{raw_s:.3f}",
                    )
                )
                say(
                    f"  {who:11} {case.label:40} {lines:6,} lines: {ours_s:.3f} s, "
                    f"raw {raw_s:.3f} s"
                )
        raw.close()
        if args.columns:
            rows += columns_experiment(crm, backend, n, seller, args.repeat)
        if not args.no_before:
            before_s, _ = median_s(lambda: before(crm), 1)
            label = 'before: pages summed in Python, group_by="month"'
            rows.append((backend, f"{n:,}", "admin", label, "", f"{before_s:.3f}", ""))
            say(f"  admin       {label}: {before_s:.3f} s")
        for label, call in STATISTICS:
            took, _ = median_s(lambda call=call: statistic(crm, admin, call), args.repeat)
            rows.append((backend, f"{n:,}", "admin", label, "", f"{took:.3f}", ""))
            say(f"  admin       {label}: {took:.3f} s")
    finally:
        crm.close()
        if not args.keep:
            drop_store(backend, tag)
    return rows


STATISTICS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("by_stage()", lambda s: s.opportunities.by_stage()),
    ("by_probability()", lambda s: s.opportunities.by_probability()),
    (
        'win_rate(from_month="2026-01", to_month="2026-06")',
        lambda s: s.opportunities.win_rate(from_month="2026-01", to_month="2026-06"),
    ),
)


def statistic(crm: crmkit.CRM, admin: crmkit.User, call: Callable[[Any], Any]) -> Any:
    with crm.session(actor=admin) as s:
        return call(s)


def before(crm: crmkit.CRM) -> Any:
    """The monthly forecast before issue 17: every page of the open opportunities with an
    expected close date, summed in Python."""
    query = EntityQuery(
        filters=(
            Filter("status", Op.EQ, OpportunityStatus.OPEN),
            Filter("expected_close", Op.NULL, False),
        )
    )
    found: list[Opportunity] = []
    with store_of(crm).unit_of_work() as uow:
        after = None
        while True:
            page = uow.repo(OPPORTUNITIES).list(query, EVERYTHING, after=after, limit=500)
            found += page.items
            if page.next_after is None:
                return forecast_lines(found, ("month",))
            after = page.next_after


# -- what columns would give ----------------------------------------------------------------
def columns_experiment(
    crm: crmkit.CRM,
    backend: str,
    n: int,
    seller: crmkit.User,
    repeat: int,
) -> list[tuple[str, ...]]:
    """The forecast's aggregate on a copy of the opportunities whose ``amount`` (with its
    currency) and ``probability`` have columns: what a migration indexing them would give.
    The copy is made in SQL from the stored objects, in the same store."""
    spec = EntitySpec(
        "bench_opportunity_columns",
        Opportunity,
        table="bench_opportunity_columns",
        indexed=(*OPPORTUNITIES.indexed, "amount", "probability"),
        scope=OPPORTUNITIES.scope,
        text=OPPORTUNITIES.text,
    )
    store = store_of(crm)
    table = entity_table(spec)
    app_metadata.create_all(store.engine, tables=[table])  # type: ignore[attr-defined]
    plain = ", ".join(
        c for c in ("id", "version", "created_at", "deleted_at", *OPPORTUNITIES.columns)
    )
    if backend == "sqlite":
        parts = (
            "json_extract(data, '$.amount.amount'), json_extract(data, '$.amount.currency'), "
            "json_extract(data, '$.probability')"
        )
    else:
        parts = (
            "(data->'amount'->>'amount')::numeric, data->'amount'->>'currency', "
            "(data->>'probability')::numeric"
        )
    with store.connection() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql(f"DELETE FROM {spec.table}")
        conn.exec_driver_sql(
            f"INSERT INTO {spec.table} ({plain}, amount, amount_currency, probability, data) "
            f"SELECT {plain}, {parts}, data FROM opportunities"
        )
        conn.exec_driver_sql("ANALYZE")
    out = []
    for who, scope in (("admin", EVERYTHING), ("salesperson", Scope.of(seller.id))):
        for case in CASES:
            filters = [
                Filter("status", Op.EQ, OpportunityStatus.OPEN),
                Filter("expected_close", Op.NULL, False),
            ]
            if case.month is not None:
                first = date.fromisoformat(f"{case.month}-01")
                filters += [
                    Filter("expected_close", Op.GE, first),
                    Filter("expected_close", Op.LT, date(first.year, first.month + 1, 1)),
                ]
            by = [Group.month("expected_close"), *([Group("owner_id")] if case.by_owner else [])]

            def aggregate(
                scope: Scope = scope, filters: list[Filter] = filters, by: list[Group] = by
            ) -> Any:
                with store.unit_of_work() as uow:
                    return uow.repo(spec).aggregate(
                        EntityQuery(filters=tuple(filters)),
                        scope,
                        by=(*by, Group.currency("amount")),
                        measures=(
                            Measure.count(),
                            Measure.sum("amount"),
                            Measure.sum("amount", times="probability"),
                        ),
                    )

            took, found = median_s(aggregate, repeat)
            label = f"with columns: {case.label}"
            out.append((backend, f"{n:,}", who, label, f"{len(found):,}", f"{took:.3f}", ""))
            say(f"  {who:11} {label}: {took:.3f} s ({len(found):,} groups)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-before", action="store_true", help="skip the paged sum")
    parser.add_argument(
        "--columns", action="store_true", help="also time a copy with amount columns"
    )
    parser.add_argument("--keep", action="store_true", help="keep the stores for --reuse")
    parser.add_argument("--reuse", action="store_true", help="query the stores --keep kept")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    for backend in args.backends:
        for n in args.sizes:
            rows += run(backend, n, args)
    say()
    say("| backend | opportunities | actor | call | lines | crmkit (s) | raw SQL (s) |")
    say("|---|---:|---|---|---:|---:|---:|")
    for row in rows:
        say("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
