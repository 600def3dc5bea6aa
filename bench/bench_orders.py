"""Sales orders and the approval inbox (issue 17): an order's way to approval, and the inbox
at scale, each through crmkit's public API beside the raw SQL where there is one.

Parts (``--parts``, all by default):

``create``
    Goal: creating and approving an order of 50 lines ≤ 20 ms on SQLite. A fresh store
    (``crmkit.open``) with an admin, a manager, a salesperson under that manager, a
    customer and ``--lines`` catalogue products (VAT 13%). Each repetition: a session of
    the salesperson creates the order (``orders.create`` with one line per product) and
    submits it (``orders.submit``), committing; a session of the manager finds the step
    in the inbox (``approvals.inbox().items[0].step_id``) and approves it, committing. The
    order stays under ¥50,000, so its chain is the manager's step alone. Median and p90 of
    ``--create-repeat`` repetitions after 5 warm-ups (and p10, and the process's CPU
    time), with the parts; then 20 more repetitions counting the SQL statements each step
    runs and the time they spend executing in the driver (``--profile``: a cProfile of
    the repetitions too).
``inbox``
    Goal: the approval inbox page ≤ 50 ms server time at 1M orders. For each ``--sizes``
    N: a store holding N orders of 1–3 lines and their approvals, bulk-inserted through
    the generic repositories (``uow.repo(ORDERS / APPROVALS).add_many``, chunks of
    10,000 per transaction), from 100 salespeople under 10 managers and one finance user
    created through the API. About 3% of the orders are pending (40% of the newest 5%,
    1% of the older ones: stragglers an inbox shows first), their approval at the
    manager's step (``decider = user:<manager id>``) or, above ¥50,000 and half of the
    time, at the finance step (``role:finance``); 2% are drafts, 1% rejected, the rest
    approved. Then, for a manager and for the finance user, median of ``--repeat`` rounds
    (after one warm-up; each round runs every measure once, in turn, so that the
    machine's drift hits all alike): the first inbox page (50) and the next (``after=``),
    each in its own ``crm.session`` (what a request costs: the session's actor lookup,
    the inbox, the commit), the call alone in an open session, and ``inbox_count()``; beside the SQL
    the repository emitted (captured from the engine) run on the bare driver (sqlite3 /
    psycopg) in the same run, with its plan. Two raw diagnostics, not what crmkit runs:
    the same page as a UNION ALL of one keyset walk per decider token, and (SQLite) the
    emitted statements with ``INDEXED BY ix_approvals_decider_seq``.

    The planner's statistics decide the plan: by default the store is ANALYZEd after the
    load (and again on ``--reuse``); ``--no-analyze`` leaves a new store without them and,
    on SQLite, deletes ``sqlite_stat1`` from a reused one (a store as crmkit leaves it:
    crmkit never runs ANALYZE). ``--stale 0`` loads a store (its own tag) whose pending
    approvals are all among the newest 5%.

    .venv/bin/python bench/bench_orders.py --parts create --backends sqlite postgres
    .venv/bin/python bench/bench_orders.py --parts inbox --sizes 100000 1000000
    .venv/bin/python bench/bench_orders.py --parts inbox --sizes 1000000 --reuse --keep
    .venv/bin/python bench/bench_orders.py --parts inbox --backends sqlite --reuse --no-analyze
    .venv/bin/python bench/bench_orders.py --parts inbox --sizes 1000000 --stale 0 --keep

Stores: ``bench/out/bench_orders_<backend>_<N>.db`` or the PostgreSQL schema of that name
(``CRMKIT_PG_URL``), dropped afterwards unless ``--keep``; ``--reuse`` queries a kept store
again without reloading it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event

import crmkit
from crmkit.adapters.passwords import Argon2Hasher
from crmkit.domain.approvals import (
    FINANCE,
    MANAGER,
    Approval,
    ApprovalStatus,
    Decision,
    StepDecision,
    decider_token,
    inbox_tokens,
)
from crmkit.domain.customer import Category, Customer, CustomerKind
from crmkit.domain.intake import new_id
from crmkit.domain.lines import SalesLine
from crmkit.domain.numbers import format_number
from crmkit.domain.order import Order, OrderStatus
from crmkit.domain.regions import Region
from crmkit.domain.values import Money, Phone
from crmkit.storage.catalog import APPROVALS, ORDERS
from crmkit.testing import store_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import profiled
from datagen import customer_rows, person_name

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("CRMKIT_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-orders-2027"
LOAD_CHUNK = 10_000
MANAGERS = 10
SALES_PER_MANAGER = 10
CUSTOMERS = 2_000
PRODUCTS = 50
LIMIT_CHAIN = Decimal("50000")  # the default policy: above this, manager then finance
CENT = Decimal("0.01")
RATE = Decimal("0.13")
T0 = datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
SPAN = timedelta(days=720)  # the orders' creation times spread over two years
STALE = 0.01  # share of the orders older than the newest 5% still pending


def say(text: str = "") -> None:
    print(text, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- stores ----------------------------------------------------------------------------------
def _pg_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _sqlite_path(tag: str) -> Path:
    return OUT / f"{tag}.db"


def drop_store(backend: str, tag: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_sqlite_path(tag)}{suffix}").unlink(missing_ok=True)
    else:
        with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE')


def open_crm(backend: str, tag: str, *, fresh: bool, **options: Any) -> crmkit.CRM:
    """A CRM on ``bench/out/<tag>.db`` or in PostgreSQL schema ``<tag>``."""
    if fresh:
        drop_store(backend, tag)
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        return crmkit.open(f"sqlite:///{_sqlite_path(tag)}", **options)
    return crmkit.open(PG_URL, schema=tag, **options)


class Raw:
    """The bare driver on the same database, replaying statements crmkit emitted."""

    def __init__(self, backend: str, tag: str) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.conn: Any = sqlite3.connect(_sqlite_path(tag))
        else:
            # As crmkit's store: never a prepared statement's generic plan.
            self.conn = psycopg.connect(
                _pg_dsn(), options=f"-csearch_path={tag},public", prepare_threshold=None
            )

    def fetch(self, sql: str, params: Any) -> list[Any]:
        cur = self.conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        if self.backend == "postgresql":
            self.conn.rollback()  # do not hold a transaction open between runs
        return rows

    def plan(self, sql: str, params: Any) -> list[str]:
        if self.backend == "sqlite":
            return [str(r[-1]) for r in self.fetch("EXPLAIN QUERY PLAN " + sql, params)]
        rows = [str(r[0]) for r in self.fetch("EXPLAIN ANALYZE " + sql, params)]
        keep = ("->", "Limit", "Sort Key", "Sort Method", "Rows Removed", "Execution Time")
        return [re.sub(r"\(cost=[^)]*\) ", "", r) for r in rows if r.strip().startswith(keep)]

    def close(self) -> None:
        self.conn.close()


class SqlMeter:
    """Counts the statements an engine runs and the time spent in the driver executing
    them (off until :meth:`on`); ``capture`` keeps their text and parameters."""

    def __init__(self, engine: Any) -> None:
        self.active = False
        self.capture = False
        self.statements = 0
        self.seconds = 0.0
        self.captured: list[tuple[str, Any]] = []
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if self.active:
            self.statements += 1
            if self.capture:
                self.captured.append((statement, params))
            self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        if self.active:
            self.seconds += time.perf_counter() - self._started

    def start(self, *, capture: bool = False) -> None:
        self.statements, self.seconds, self.captured = 0, 0.0, []
        self.active, self.capture = True, capture

    def stop(self) -> None:
        self.active = self.capture = False

    @contextmanager
    def on(self, *, capture: bool = False) -> Iterator[SqlMeter]:
        self.start(capture=capture)
        try:
            yield self
        finally:
            self.stop()


# -- create and approve ------------------------------------------------------------------------
CREATE_STEPS = (
    "sales session opened",
    "orders.create (lines)",
    "orders.submit",
    "sales session committed",
    "manager session opened",
    "approvals.inbox → step id",
    "approvals.approve",
    "manager session committed",
)


def part_create(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for backend in args.backends:
        tag = f"bench_orders_create_{backend}"
        crm = open_crm(backend, tag, fresh=True)
        try:
            results[backend] = _create_backend(crm, backend, args)
        finally:
            crm.close()
            if not args.keep:
                drop_store(backend, tag)
    return results


def _create_backend(crm: crmkit.CRM, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    admin = crm.bootstrap_admin(name="管理员", password=PASSWORD, login="admin")
    with crm.session(actor=admin) as s:
        boss = s.users.create(name="王经理", role="manager", password=PASSWORD, login="boss")
        sales = s.users.create(
            name="张三", role="sales", manager_id=boss.id, password=PASSWORD, login="zhangsan"
        )
        customer = s.customers.create(name="青岛金智电子科技有限公司", owner_id=sales.id)
        products = [
            s.products.create(
                name=f"智能门锁配件{i:02d}",
                code=f"LK-{i:03d}",
                price=f"{60 + 9 * i}.00",
                cost=f"{35 + 5 * i}.00",
                tax_rate="0.13",
            )
            for i in range(args.lines)
        ]
    lines = [{"product_id": p.id, "quantity": 1 + i % 3} for i, p in enumerate(products)]

    def rep(stamps: list[float] | None = None) -> tuple[Any, Any]:
        mark = stamps.append if stamps is not None else (lambda _t: None)
        mark(time.perf_counter())
        with crm.session(actor=sales) as s:
            mark(time.perf_counter())
            order = s.orders.create(customer_id=customer.id, lines=lines)
            mark(time.perf_counter())
            order = s.orders.submit(order.id, version=order.version)
            mark(time.perf_counter())
        mark(time.perf_counter())
        with crm.session(actor=boss) as s:
            mark(time.perf_counter())
            step = s.approvals.inbox().items[0].step_id
            mark(time.perf_counter())
            decided = s.approvals.approve(step)
            mark(time.perf_counter())
        mark(time.perf_counter())
        return order, decided

    for _ in range(5):
        rep()
    parts: list[list[float]] = [[] for _ in CREATE_STEPS]
    sales_totals: list[float] = []
    approve_totals: list[float] = []
    totals: list[float] = []
    cpu: list[float] = []
    for _ in range(args.create_repeat):
        t: list[float] = []
        started = time.process_time()
        order, decided = rep(t)
        cpu.append((time.process_time() - started) * 1000)
        for i in range(len(CREATE_STEPS)):
            parts[i].append((t[i + 1] - t[i]) * 1000)
        sales_totals.append((t[4] - t[0]) * 1000)
        approve_totals.append((t[8] - t[4]) * 1000)
        totals.append((t[8] - t[0]) * 1000)
    assert order.approval is ApprovalStatus.PENDING, order.approval
    assert decided.status is ApprovalStatus.APPROVED, decided.status
    assert len(order.lines) == args.lines, len(order.lines)
    assert order.gross.amount <= LIMIT_CHAIN, order.gross

    # The SQL each step runs (separate repetitions: the listeners cost a little).
    meter = SqlMeter(store_of(crm).engine)
    counted: dict[str, list[tuple[int, float]]] = {}

    def note(label: str) -> None:
        meter.stop()
        counted.setdefault(label, []).append((meter.statements, meter.seconds * 1000))

    for _ in range(20):
        with crm.session(actor=sales) as s:
            meter.start()
            order = s.orders.create(customer_id=customer.id, lines=lines)
            note("orders.create")
            meter.start()
            order = s.orders.submit(order.id, version=order.version)
            note("orders.submit")
            meter.start()  # the session's end: flush and commit
        note("sales session's commit")
        with crm.session(actor=boss) as s:
            meter.start()
            step = s.approvals.inbox().items[0].step_id
            note("approvals.inbox")
            meter.start()
            s.approvals.approve(step)
            note("approvals.approve")
            meter.start()
        note("manager session's commit")

    out = {
        "total": totals,
        "cpu": cpu,
        "sales": sales_totals,
        "approve": approve_totals,
        "parts": dict(zip(CREATE_STEPS, parts, strict=True)),
        "sql": {
            k: (statistics.median(n for n, _ in v), statistics.median(ms for _, ms in v))
            for k, v in counted.items()
        },
        "gross": order.gross.amount,
    }
    say(f"## create and approve an order of {args.lines} lines, {backend}")
    say(
        f"  order gross ¥{order.gross.amount} (one step: the manager's); "
        f"{args.create_repeat} repetitions after 5 warm-ups; ms"
    )
    say(f"  {'measure':42} {'median':>8} {'p90':>8} {'p10':>8}")
    for label, values in (
        ("total: create + submit + approve", totals),
        ("  the same, CPU time of this process", cpu),
        ("sales session (create, submit, commit)", sales_totals),
        ("manager session (inbox, approve, commit)", approve_totals),
        *zip(CREATE_STEPS, parts, strict=True),
    ):
        say(
            f"  {label:42} {statistics.median(values):8.2f} {pct(values, 0.9):8.2f}"
            f" {pct(values, 0.1):8.2f}"
        )
    say("  SQL per step (median of 20): statements, ms in the driver")
    for label, (n, ms) in out["sql"].items():
        say(f"    {label:40} {n:5.0f} {ms:8.2f}")
    if args.profile:
        profiled(
            f"orders-create-{backend}",
            lambda: [rep() for _ in range(args.profile_repeat)],
        )
    return out


# -- the inbox ---------------------------------------------------------------------------------
class People:
    """The users the orders belong to and the inbox is timed for."""

    def __init__(self) -> None:
        self.managers: list[str] = []
        self.sales: list[str] = []
        self.manager_of: dict[str, str] = {}
        self.finance = ""
        self.customers_of: dict[str, list[str]] = {}
        self.products: list[tuple[str, str, Money, Money]] = []  # id, name, price, cost


def setup_people(crm: crmkit.CRM, rng: random.Random) -> People:
    """Users and products through the API, customers through the bulk path."""
    people = People()
    admin = crm.bootstrap_admin(name="管理员", password=PASSWORD, login="admin")
    with crm.session(actor=admin) as s:
        for m in range(MANAGERS):
            boss = s.users.create(
                name=person_name(rng), role="manager", password=PASSWORD, login=f"mgr{m + 1:02d}"
            )
            people.managers.append(boss.id)
            for k in range(SALES_PER_MANAGER):
                seller = s.users.create(
                    name=person_name(rng),
                    role="sales",
                    manager_id=boss.id,
                    password=PASSWORD,
                    login=f"sales{m * SALES_PER_MANAGER + k + 1:03d}",
                )
                people.sales.append(seller.id)
                people.manager_of[seller.id] = boss.id
        people.finance = s.users.create(
            name=person_name(rng), role="finance", password=PASSWORD, login="finance"
        ).id
        for i in range(PRODUCTS):
            # Catalogue prices from ¥80 to ¥12,000, log-spread.
            price = Decimal(int(80 * (150 ** (i / (PRODUCTS - 1))))).quantize(CENT)
            p = s.products.create(
                name=f"产品{i + 1:02d}",
                code=f"P-{i + 1:03d}",
                price=str(price),
                cost=str((price * Decimal("0.62")).quantize(CENT)),
                tax_rate="0.13",
            )
            assert p.price is not None
            assert p.cost is not None
            people.products.append((p.id, p.name, p.price, p.cost))
    customers: list[Customer] = []
    now = datetime(2025, 1, 1, tzinfo=UTC)
    for row in customer_rows(CUSTOMERS, people.sales, seed=17):
        created = row["created_at"]
        assert isinstance(created, datetime)
        customers.append(
            Customer(
                id=new_id(),
                kind=CustomerKind.COMPANY,
                name=str(row["name"]),
                category=Category(str(row["category"])),
                source=str(row["source"]),
                industry=str(row["industry"]),
                region=Region.from_code(str(row["region"])),
                owner_id=str(row["owner_id"]),
                mobile=Phone(str(row["mobile"])),
                created_at=created,
                updated_at=now,
                created_by="bench",
            )
        )
        people.customers_of.setdefault(str(row["owner_id"]), []).append(customers[-1].id)
    store: Any = store_of(crm)
    with store.unit_of_work() as uow:
        uow.customers.add_many(customers)
        uow.commit()
    return people


def find_people(crm: crmkit.CRM) -> People:
    """The users of a store loaded earlier (``--reuse``)."""
    people = People()
    store: Any = store_of(crm)
    with store.unit_of_work() as uow:
        for m in range(MANAGERS):
            boss = uow.users.get_by_login(f"mgr{m + 1:02d}")
            people.managers.append(boss.id)
        finance = uow.users.get_by_login("finance")
        people.finance = finance.id
    return people


def order_chunk(
    people: People, start: int, stop: int, n: int, stale: float = STALE
) -> tuple[list[Order], list[Approval], dict[str, int]]:
    """Orders ``start`` to ``stop`` of ``n`` (deterministic per chunk), with their
    approvals; and how many of each kind."""
    rng = random.Random(start * 7919 + n)
    orders: list[Order] = []
    approvals: list[Approval] = []
    kinds = dict.fromkeys(
        ("approved", "pending_manager", "pending_finance", "draft", "rejected"), 0
    )
    recent = int(n * 0.95)
    for i in range(start, stop):
        created = T0 + SPAN * (i / n)
        seller = people.sales[rng.randrange(len(people.sales))]
        boss = people.manager_of[seller]
        customer = rng.choice(people.customers_of[seller])
        lines: list[SalesLine] = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            pid, name, price, cost = rng.choice(people.products)
            qty = Decimal(rng.choice((1, 2, 3, 5, 10, 20, 50)))
            gross = (price.amount * qty).quantize(CENT, ROUND_HALF_UP)
            net = (gross / (1 + RATE)).quantize(CENT, ROUND_HALF_UP)
            lines.append(
                SalesLine(
                    product_id=pid,
                    name=name,
                    unit="台",
                    quantity=qty,
                    unit_price=price,
                    tax_rate=RATE,
                    unit_cost=cost,
                    net=Money(net),
                    tax=Money(gross - net),
                    gross=Money(gross),
                )
            )
        gross = sum((x.gross.amount for x in lines), Decimal(0))
        net = sum((x.net.amount for x in lines), Decimal(0))
        cost = sum(
            ((x.unit_cost.amount if x.unit_cost else 0) * x.quantity for x in lines), Decimal(0)
        )
        margin = net - cost
        r = rng.random()
        if r < (0.40 if i >= recent else stale):
            kind = "pending"
        elif r > 0.97:
            kind = "draft"
        elif r > 0.96:
            kind = "rejected"
        else:
            kind = "approved"
        number = format_number("SO", created.year, i + 1)
        steps = (MANAGER,) if gross <= LIMIT_CHAIN else (MANAGER, FINANCE)
        submitted = created + timedelta(minutes=10)
        decided = created + timedelta(hours=2)
        order_id = new_id()
        approval: Approval | None = None
        if kind != "draft":
            decisions: tuple[StepDecision, ...] = ()
            status = ApprovalStatus.PENDING
            if kind == "approved":
                decisions = tuple(
                    StepDecision(
                        boss if s is MANAGER else people.finance, Decision.APPROVE, decided
                    )
                    for s in steps
                )
                status = ApprovalStatus.APPROVED
            elif kind == "rejected":
                decisions = (StepDecision(boss, Decision.REJECT, decided, "价格过低"),)
                status = ApprovalStatus.REJECTED
            elif len(steps) == 2 and rng.random() < 0.5:
                decisions = (StepDecision(boss, Decision.APPROVE, decided),)
                kind = "pending_finance"
            else:
                kind = "pending_manager"
            current = steps[len(decisions)] if status is ApprovalStatus.PENDING else None
            approval = Approval(
                document_type="order",
                document_id=order_id,
                revision=1,
                document_version=2,
                document_number=number,
                customer_id=customer,
                submitter_id=seller,
                manager_id=boss,
                amount=Money(gross),
                steps=steps,
                decisions=decisions,
                status=status,
                decider=decider_token(current, boss),
                version=1 + len(decisions),
                created_at=submitted,
                updated_at=decided if decisions else submitted,
            )
            approvals.append(approval)
        kinds[kind] += 1
        state = OrderStatus.OPEN
        if kind == "approved" and i < recent:
            state = rng.choice(
                (OrderStatus.COMPLETED,) * 8 + (OrderStatus.DELIVERED, OrderStatus.OPEN)
            )
        orders.append(
            Order(
                id=order_id,
                number=number,
                customer_id=customer,
                owner_id=seller,
                lines=tuple(lines),
                net=Money(net),
                tax=Money(gross - net),
                gross=Money(gross),
                cost=Money(cost),
                margin=Money(margin),
                margin_rate=(margin / net).quantize(Decimal("0.0001")) if net else None,
                approval=approval.status if approval else ApprovalStatus.DRAFT,
                approval_id=approval.id if approval else None,
                submitted_at=submitted if approval else None,
                approved_at=decided if kind == "approved" else None,
                status=state,
                signed_on=created.date() if approval else None,
                version={"draft": 1, "approved": 3, "rejected": 3}.get(kind, 2),
                created_at=created,
                updated_at=decided if approval else created,
                created_by=seller,
            )
        )
    return orders, approvals, kinds


def load_orders(
    crm: crmkit.CRM, people: People, n: int, stale: float
) -> tuple[float, dict[str, int]]:
    store: Any = store_of(crm)
    started = time.perf_counter()
    kinds: dict[str, int] = {}
    years: dict[int, int] = {}
    for start in range(0, n, LOAD_CHUNK):
        orders, approvals, counted = order_chunk(
            people, start, min(start + LOAD_CHUNK, n), n, stale
        )
        for k, v in counted.items():
            kinds[k] = kinds.get(k, 0) + v
        for o in orders:
            sequence = int(o.order_number.rsplit("-", 1)[1])
            years[o.created_at.year] = max(years.get(o.created_at.year, 0), sequence)
        with store.unit_of_work() as uow:
            uow.repo(ORDERS).add_many(orders)
            uow.repo(APPROVALS).add_many(approvals)
            uow.commit()
        if (start // LOAD_CHUNK) % 10 == 9:
            done = start + LOAD_CHUNK
            took = time.perf_counter() - started
            say(f"    {done:>9,} orders in {took:6.1f} s ({done / took:,.0f} orders/s)")
    took = time.perf_counter() - started
    with store.connection() as conn:
        # Later numbers must not collide with the loaded ones.
        for year, last in years.items():
            conn.exec_driver_sql(
                f"INSERT INTO doc_numbers (prefix, year, last) VALUES ('SO', {year:d}, {last:d})"
            )
    return took, kinds


def statistics_for(crm: crmkit.CRM, *, analyze: bool) -> str:
    """Give the planner fresh statistics (ANALYZE), or on SQLite none at all, as crmkit
    leaves a store (it never runs ANALYZE); new connections see the change."""
    store: Any = store_of(crm)
    with store.connection() as conn:
        if analyze:
            tables = "orders, order_lines, approvals, users"
            conn.exec_driver_sql(
                "ANALYZE" if store.dialect_name == "sqlite" else f"ANALYZE {tables}"
            )
            said = "ANALYZE after the load"
        elif store.dialect_name == "sqlite":
            if conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).first():
                conn.exec_driver_sql("DELETE FROM sqlite_stat1")
            said = "none (no ANALYZE, as crmkit leaves a store)"
        else:
            said = "autovacuum's only"
    store.engine.dispose()
    return said


def count_rows(crm: crmkit.CRM, table: str) -> int:
    store: Any = store_of(crm)
    try:
        with store.connection() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
    except Exception:  # no such table yet
        return 0


def interleaved(
    measures: list[tuple[str, Callable[[], Any]]], repeat: int
) -> dict[str, list[float]]:
    """Milliseconds of each measure, ``repeat`` times after one warm-up, taking turns (one
    run of each, then the next round) so that the machine's drift in pace hits all alike."""
    for _, fn in measures:
        fn()  # warm caches and statement caches
    times: dict[str, list[float]] = {label: [] for label, _ in measures}
    for _ in range(repeat):
        for label, fn in measures:
            t = time.perf_counter()
            fn()
            times[label].append((time.perf_counter() - t) * 1000)
    return times


def part_inbox(args: argparse.Namespace) -> dict[Any, Any]:
    results: dict[Any, Any] = {}
    for backend in args.backends:
        for n in args.sizes:
            tag = f"bench_orders_{backend}_{n}"
            if args.stale != STALE:
                tag += f"_stale{args.stale:g}".replace(".", "_")
            crm = open_crm(backend, tag, fresh=not args.reuse, password_hasher=Argon2Hasher.fast())
            try:
                results[(backend, n)] = _inbox_store(crm, backend, tag, n, args)
            finally:
                crm.close()
                if not args.keep:
                    drop_store(backend, tag)
    return results


def _inbox_store(
    crm: crmkit.CRM, backend: str, tag: str, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    say(f"## approval inbox, {backend}, {n:,} orders")
    out: dict[str, Any] = {"n": n}
    have = count_rows(crm, "orders")
    if args.reuse and have == n:
        say(f"  reusing the {n:,} orders loaded earlier")
        people = find_people(crm)
    else:
        if have:
            raise SystemExit(f"{tag} holds {have:,} orders, not {n:,}; run without --reuse")
        t = time.perf_counter()
        people = setup_people(crm, random.Random(17))
        say(f"  users, products and {CUSTOMERS:,} customers in {time.perf_counter() - t:.1f} s")
        took, kinds = load_orders(crm, people, n, args.stale)
        say(
            f"  loaded {n:,} orders and {n - kinds['draft']:,} approvals in {took:.1f} s "
            f"({n / took:,.0f} orders/s)"
        )
        say("  " + ", ".join(f"{k} {v:,}" for k, v in kinds.items()))
        out["load_s"] = took
        out["kinds"] = kinds
    t = time.perf_counter()
    out["statistics"] = statistics_for(crm, analyze=args.analyze)
    say(f"  planner statistics: {out['statistics']} ({time.perf_counter() - t:.1f} s)")
    held = {t: count_rows(crm, t) for t in ("orders", "order_lines", "approvals")}
    say("  holds " + ", ".join(f"{v:,} {k}" for k, v in held.items()))
    meter = SqlMeter(store_of(crm).engine)
    raw = Raw("sqlite" if backend == "sqlite" else "postgresql", tag)
    try:
        for who, uid in (("manager", people.managers[0]), ("finance", people.finance)):
            out[who] = _inbox_actor(crm, meter, raw, uid, who, backend, n, args)
    finally:
        raw.close()
    return out


def _captured(
    meter: SqlMeter, fn: Callable[[], Any], needle: str
) -> tuple[Any, str, Any, list[str]]:
    """Run ``fn`` twice, capturing the statements of the second run: its result, the last
    statement containing ``needle`` and its parameters, and the start of each statement."""
    fn()
    with meter.on(capture=True):
        result = fn()
    found = [(sql, p) for sql, p in meter.captured if needle in sql]
    assert found, f"no statement with {needle!r}: {meter.captured}"
    heads = [" ".join(sql.split())[:70] for sql, _ in meter.captured]
    return result, found[-1][0], found[-1][1], heads


def _seqs(raw: Raw, page: Any) -> list[int]:
    """The keyset positions of a page's approvals, in the page's order."""
    ids = [a.id for a in page.items]
    p = "?" if raw.backend == "sqlite" else "%s"
    sql = f"SELECT id, seq FROM approvals WHERE id IN ({', '.join([p] * len(ids))})"
    found = dict(raw.fetch(sql, tuple(ids)))
    return [int(found[i]) for i in ids]


def _tokens(crm: crmkit.CRM, uid: str) -> list[str]:
    """The decider tokens ``uid``'s inbox asks for (as ``approvals.inbox`` makes them)."""
    store: Any = store_of(crm)
    with store.unit_of_work() as uow:
        user = uow.users.get(uid)
        return sorted(inbox_tokens(uid, user.role, uow.users.subordinate_ids(uid)))


def _per_token(backend: str, tokens: list[str], uid: str, after: str | None) -> tuple[str, Any]:
    """A page of the inbox as a UNION ALL of one ordered, limited walk per token."""
    p = "?" if backend == "sqlite" else "%s"
    keyset = f" AND seq > {p}" if after is not None else ""
    branch = (
        f"SELECT * FROM (SELECT seq, id, data FROM approvals WHERE decider = {p}{keyset} "
        f"AND (submitter_id != {p} OR submitter_id IS NULL) ORDER BY seq LIMIT 51) AS t"
    )
    sql = " UNION ALL ".join([branch] * len(tokens)) + " ORDER BY seq LIMIT 51"
    params: list[Any] = []
    for token in tokens:
        params += [token, int(after), uid] if after is not None else [token, uid]
    return sql, tuple(params)


def _inbox_actor(
    crm: crmkit.CRM,
    meter: SqlMeter,
    raw: Raw,
    uid: str,
    who: str,
    backend: str,
    n: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    repeat = args.repeat

    def page1() -> Any:
        with crm.session(actor=uid) as s:
            return s.approvals.inbox()

    def count() -> int:
        with crm.session(actor=uid) as s:
            return s.approvals.inbox_count()

    first, sql1, params1, statements = _captured(meter, page1, "FROM approvals")
    second: Any = None
    after = first.next_after
    counted, sql3, params3, _ = _captured(meter, count, "count(")
    assert all(a.status is ApprovalStatus.PENDING for a in first.items)
    figures: dict[str, Any] = {"pending": counted, "statements": len(statements), "sql": sql1}
    timed: list[tuple[str, Callable[[], Any]]] = [
        ("page 1, own session", page1),
        ("inbox_count, own session", count),
    ]
    queries = [("raw page 1", sql1, params1), ("raw inbox_count", sql3, params3)]
    if after is not None:

        def page2() -> Any:
            with crm.session(actor=uid) as s:
                return s.approvals.inbox(after=after)

        second, sql2, params2, _ = _captured(meter, page2, "FROM approvals")
        assert all(a.status is ApprovalStatus.PENDING for a in second.items)
        timed.insert(1, ("page 2, own session", page2))
        queries.insert(1, ("raw page 2", sql2, params2))
    # Diagnostics, not what crmkit runs: the same pages as one keyset walk per decider
    # token (each an ordered range of the (decider, seq) index) merged, on both backends;
    # and on SQLite the emitted statements told to use that index.
    tokens = _tokens(crm, uid)
    queries.append(("raw page 1, one walk per token", *_per_token(backend, tokens, uid, None)))
    if after is not None:
        queries.append(("raw page 2, one walk per token", *_per_token(backend, tokens, uid, after)))
    for label, sql, params in queries:  # every variant returns the page crmkit returned
        page = first if "page 1" in label else second if "page 2" in label else None
        if page is not None:
            seqs = [int(row[0]) for row in raw.fetch(sql, params)][:50]
            assert seqs == _seqs(raw, page), label
    if backend == "sqlite":
        forced = "FROM approvals INDEXED BY ix_approvals_decider_seq"
        queries += [
            (f"{label}, decider index forced", sql.replace("FROM approvals", forced), params)
            for label, sql, params in queries
            if "per token" not in label
        ]

    def empty() -> None:
        with crm.session(actor=uid):
            pass

    timed.append(("a session doing nothing (actor lookup, commit)", empty))
    with crm.session(actor=uid) as s:
        timed.insert(1, ("page 1, call in an open session", s.approvals.inbox))
        if after is not None:
            timed.insert(
                3, ("page 2, call in an open session", lambda: s.approvals.inbox(after=after))
            )
        timed += [
            (label, lambda sql=sql, params=params: raw.fetch(sql, params))
            for label, sql, params in queries
        ]
        runs = interleaved(timed, repeat)
    figures.update({label: statistics.median(times) for label, times in runs.items()})
    figures["plans"] = {label: raw.plan(sql, params) for label, sql, params in queries}
    shown = counted if counted < 1000 else "1000+"
    say(f"### {who} ({shown} pending, {len(first.items)} on page 1; median of {repeat}, ms)")
    say(f"  a session with the first page runs {len(statements)} statements:")
    for head in statements:
        say(f"    {head} …")
    say("  the inbox's:")
    say("    " + " ".join(sql1.split()))
    say(f"    params {params1}")
    for label, plan in figures["plans"].items():
        say(f"  plan, {label}: " + " | ".join(" ".join(x.split()) for x in plan))
    for label in [
        "page 1, own session",
        "page 1, call in an open session",
        "page 2, own session",
        "page 2, call in an open session",
        "inbox_count, own session",
        "a session doing nothing (actor lookup, commit)",
        *(q[0] for q in queries),
    ]:
        if label in figures:
            extra = f"  (p90 {pct(runs[label], 0.9):.2f})" if label in runs else ""
            say(f"  {label:50} {figures[label]:8.2f}{extra}")
    if args.profile:
        profiled(
            f"orders-inbox-{backend}-{n}-{who}",
            lambda: [page1() for _ in range(args.profile_repeat)],
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", nargs="+", default=["create", "inbox"], choices=["create", "inbox"]
    )
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--lines", type=int, default=50, help="lines of the order created")
    parser.add_argument("--create-repeat", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30, help="runs of each inbox measure")
    parser.add_argument("--keep", action="store_true", help="leave the stores in place")
    parser.add_argument("--reuse", action="store_true", help="query kept stores again")
    parser.add_argument("--profile", action="store_true", help="cProfile hotspots")
    parser.add_argument("--profile-repeat", type=int, default=50)
    parser.add_argument(
        "--stale",
        type=float,
        default=STALE,
        help="share of the older orders (all but the newest 5%%) still pending",
    )
    parser.add_argument(
        "--no-analyze", dest="analyze", action="store_false", help="skip ANALYZE after the load"
    )
    args = parser.parse_args()
    say(f"# bench_orders {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load average {os.getloadavg()}")
    if "create" in args.parts:
        part_create(args)
    if "inbox" in args.parts:
        part_inbox(args)
    say(f"# done; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
