"""Money in (issue 18): aging over N receivables in SQL beside the raw GROUP BY, and a
payment applied automatically over a customer with 1,000 open receivables.

For each ``--sizes`` N and backend, a fresh store with 110 users (bench_forecast's team),
N/10 customers owned in turn by the salespeople and N receivables on them, bulk-inserted
through the repository (``repo(RECEIVABLES).add_many``, 10,000 per transaction), then
ANALYZE. The receivables: amounts 100–500,000.00 CNY, due over 2026, 60% open, 15% partly
paid, 20% paid, 5% written off.

Timed, median of ``--repeat`` runs after a warm-up, each in a session of its own:

- ``aging(as_of=2026-12-01)`` (the five buckets over every open receivable) and
  ``aging_by("owner")`` for the admin, and ``aging()`` for one salesperson (their
  customers': about 1%); beside each, the raw query: the same CASE … GROUP BY
  hand-written on the bare driver in the same run (SQLite sums the text amounts as
  floats, which is what SQL gives without crmkit's exact sums; PostgreSQL as numeric).
  crmkit's buckets are checked against the raw query's (same totals to the fen on
  PostgreSQL, within a yuan on SQLite's floats).
- ``payments.record(…)`` of an amount that pays the three oldest of a customer's 1,000
  open receivables, by a finance clerk, the session committed (``--payments`` runs, a
  new payment each: the customer's oldest items are paid in turn); once, a payment that
  pays all that is left (every open item read and updated), for scale.

    .venv/bin/python bench/bench_receivables.py                    # 100k, SQLite and PostgreSQL
    .venv/bin/python bench/bench_receivables.py --sizes 1000000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import crmkit
from crmkit.domain.receivable import Receivable, ReceivableStatus
from crmkit.domain.receivables import Bucket
from crmkit.domain.values import Money
from crmkit.storage.catalog import RECEIVABLES
from crmkit.testing import store_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forecast import drop_store, median_s, open_crm, raw_connection, say, team
from bench_storage import build

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 12, 1)
CHUNK = 10_000
BANDS = (Bucket.OVER_90, Bucket.DAYS_61_90, Bucket.DAYS_31_60, Bucket.DAYS_1_30, Bucket.NOT_DUE)


def receivables(
    start: int, stop: int, customers: list[tuple[str, str]], *, customer: str | None = None
) -> list[Receivable]:
    rng = random.Random(start)
    out = []
    for i in range(start, stop):
        customer_id, owner_id = customers[rng.randrange(len(customers))]
        if customer is not None:
            customer_id = customer
        amount = Decimal(rng.randrange(10_000, 50_000_000)).scaleb(-2)
        roll = rng.random() if customer is None else 0.0
        if roll < 0.6:
            status, paid, off = ReceivableStatus.OPEN, Decimal(0), Decimal(0)
        elif roll < 0.75:
            status, paid, off = (
                ReceivableStatus.PARTLY_PAID,
                (amount / 3).quantize(Decimal("0.01")),
                Decimal(0),
            )
        elif roll < 0.95:
            status, paid, off = ReceivableStatus.PAID, amount, Decimal(0)
        else:
            status, paid, off = (
                ReceivableStatus.WRITTEN_OFF,
                amount - Decimal("3.50"),
                Decimal("3.50"),
            )
        out.append(
            Receivable(
                id=str(uuid.uuid4()),
                customer_id=customer_id,
                order_id=str(uuid.uuid4()),
                owner_id=owner_id,
                instalment=1 + i % 3,
                amount=Money(amount),
                due=date(2026, 1, 1) + timedelta(days=rng.randrange(365)),
                balance=Money(amount - paid - off),
                paid=Money(paid),
                written_off=Money(off),
                status=status,
                created_at=NOW,
                updated_at=NOW,
                created_by=owner_id,
            )
        )
    return out


def raw_aging(sales_id: str | None, by_owner: bool = False) -> tuple[str, tuple[Any, ...]]:
    cuts = [(AS_OF - timedelta(days=d)).isoformat() for d in (90, 60, 30, 0)]
    band = "CASE " + " ".join(f"WHEN due < ? THEN {i}" for i in range(4)) + " ELSE 4 END"
    where = "status IN ('open', 'partly_paid')"
    params: list[Any] = list(cuts)
    if sales_id is not None:
        where += (
            " AND customer_id IN (SELECT id FROM customers WHERE owner_id = ?"
            " UNION ALL SELECT customer_id FROM customer_co_owners WHERE user_id = ?)"
        )
        params += [sales_id, sales_id]
    owner = ", owner_id" if by_owner else ""
    sql = (
        f"SELECT {band}, balance_currency, count(*), sum(balance){owner} FROM receivables "
        f"WHERE {where} GROUP BY 1, 2{', 5' if by_owner else ''}"
    )
    return sql, tuple(params)


def run(backend: str, n: int, args: argparse.Namespace) -> list[tuple[str, ...]]:
    tag = f"bench_receivables_{backend}_{n}"
    drop_store(backend, tag)
    crm = open_crm(backend, tag)
    rows: list[tuple[str, ...]] = []
    try:
        admin, sales = team(crm)
        with crm.session(actor=admin) as s:
            clerk = s.users.create(
                name="李会计", role="finance", login="finance", password="bench-forecast-pw"
            )
            payer = s.customers.create(name="青岛金智电子科技有限公司", owner_id=sales[0].id)
        owners = [u.id for u in sales]
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
                uow.repo(RECEIVABLES).add_many(receivables(i, min(i + CHUNK, n), customers))
                uow.commit()
        with store.unit_of_work() as uow:
            uow.repo(RECEIVABLES).add_many(receivables(n, n + 1000, customers, customer=payer.id))
            uow.commit()
        with store.connection() as conn:  # type: ignore[attr-defined]
            conn.exec_driver_sql("ANALYZE")
        say(f"{backend} {n:,}: loaded in {time.perf_counter() - started:.0f} s")
        raw = raw_connection(backend, tag)
        one = sales[0]
        for label, actor, by, sales_id in (
            ("aging()", admin, None, None),
            ('aging_by("owner")', admin, "owner", None),
            ("aging() — one salesperson", one, None, one.id),
        ):

            def ours(actor: crmkit.User = actor, by: str | None = by) -> Any:
                with crm.session(actor=actor) as s:
                    return s.receivables.aging_by(by, as_of=AS_OF)

            sql, params = raw_aging(sales_id, by_owner=by == "owner")
            ours_s, got = median_s(ours, args.repeat)
            raw_s, found = median_s(
                lambda sql=sql, params=params: raw.fetch(sql, params), args.repeat
            )
            want = {BANDS[r[0]]: Decimal(str(r[3])) for r in found}
            if by is None:
                total = got[0].buckets
                for bucket, value in want.items():
                    assert abs(total[bucket].amount - value) < 1, (bucket, total[bucket], value)
            rows.append((backend, f"{n:,}", label, f"{ours_s:.3f}", f"{raw_s:.3f}"))
            say(f"  {label}: crmkit {ours_s:.3f} s, raw {raw_s:.3f} s")
        raw.close()
        # payments over a customer with 1,000 open receivables
        with crm.session(actor=clerk) as s:
            items = s.receivables.open_items(payer.id, limit=3 * (args.payments + 1)).items
        amounts = [
            sum((r.balance.amount for r in items[3 * k : 3 * k + 3]), Decimal(0))
            for k in range(args.payments + 1)
        ]
        times = []
        for amount in amounts:
            begun = time.perf_counter()
            with crm.session(actor=clerk) as s:
                paid = s.payments.record(
                    customer_id=payer.id, amount=amount, received_on=AS_OF, method="bank_transfer"
                )
            times.append(time.perf_counter() - begun)
            assert len(paid.allocations) == 3
            assert paid.unapplied.amount == 0
        pay_ms = statistics.median(times[1:]) * 1000
        rows.append(
            (backend, f"{n:,}", "payments.record, 3 of 1,000 open items (ms)", f"{pay_ms:.1f}", "—")
        )
        say(f"  payment over 1,000 open items: {pay_ms:.1f} ms")
        with crm.session(actor=clerk) as s:
            left = s.receivables.balance(payer.id).receivable
        begun = time.perf_counter()
        with crm.session(actor=clerk) as s:
            paid = s.payments.record(
                customer_id=payer.id, amount=left.amount, received_on=AS_OF, method="cash"
            )
        all_ms = (time.perf_counter() - begun) * 1000
        rows.append(
            (
                backend,
                f"{n:,}",
                f"payments.record paying all {len(paid.allocations)} left (ms)",
                f"{all_ms:.0f}",
                "—",
            )
        )
        say(f"  payment of all {len(paid.allocations)} left: {all_ms:.0f} ms")
    finally:
        crm.close()
        if not args.keep:
            drop_store(backend, tag)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--payments", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    for backend in args.backends:
        for n in args.sizes:
            rows += run(backend, n, args)
    say()
    say("| backend | receivables | call | crmkit (s) | raw SQL (s) |")
    say("|---|---:|---|---:|---:|")
    for row in rows:
        say("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
