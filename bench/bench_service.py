"""Service (issue 20): the service console's lookup by phone, and the SLA breach scan.

**lookup.** For each ``--sizes`` N and backend, a store of N customers (``datagen``, each
with a mobile) and N / 2 contacts with a landline (every other customer), bulk-loaded
through the repositories; 500 of the customers get 3 tickets and 3 activities each. Then
ANALYZE. Timed, per call, over ``--calls`` random callers: ``s.tickets.lookup(phone=…)``
as a service-role user (who sees every customer) with the number typed as people type it
(``138 0013 8000`` for a mobile, ``0532-8xxx xxxx`` for a contact's landline), and, beside
it, the same two index lookups on the bare driver (customers by mobile/phone, contacts by
mobile/phone) without reading anything else. Goal: ≤ 5 ms at 1M customers.

**breach.** N open tickets bulk-loaded with their ``ticket.sla_breach`` jobs (one per
ticket, its resolution target): ``--due`` of them fall due at each of ``--rounds`` hours,
the rest weeks later. Timed: ``crm.run_due(now=that hour, limit=due)`` per round (each
breach marked on the ticket, audited, escalated to the assignee's manager through the
outbox); median over the rounds. Goal: the same call within 1.3× at 1M as at 100k.

    .venv/bin/python bench/bench_service.py                         # 100k, SQLite
    .venv/bin/python bench/bench_service.py --sizes 100000 1000000 --backends sqlite postgres
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import crmkit
from crmkit.domain.activity import Activity, ActivityKind
from crmkit.domain.contact import Contact
from crmkit.domain.ticket import Ticket, TicketPriority, TicketStatus, TicketType
from crmkit.domain.values import Phone
from crmkit.storage.catalog import ACTIVITIES, TICKETS
from crmkit.storage.queues import Job
from crmkit.testing import store_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forecast import drop_store, open_crm, raw_connection, say
from bench_storage import build

CHUNK = 10_000
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def landline(i: int) -> str:
    return f"0532-8{i:07d}"


def _contact(customer_id: str, i: int, by: str) -> Contact:
    return Contact(
        id=str(uuid.uuid4()),
        customer_id=customer_id,
        name=f"联系人{i}",
        phone=Phone.parse(landline(i)),
        is_primary=True,
        surname="联",
        surname_letter="L",
        initials="lxr",
        created_at=NOW,
        updated_at=NOW,
        created_by=by,
    )


def _ticket(customer_id: str, by: str, due: datetime, subject: str = "门锁无法开启") -> Ticket:
    return Ticket(
        id=str(uuid.uuid4()),
        number=None,
        customer_id=customer_id,
        type=TicketType.REPAIR,
        priority=TicketPriority.NORMAL,
        subject=subject,
        opened_at=NOW,
        status=TicketStatus.ASSIGNED,
        assignee_id=by,
        response_minutes=240,
        resolution_minutes=1440,
        response_due_at=NOW + timedelta(hours=4),
        resolution_due_at=due,
        first_response_at=NOW + timedelta(minutes=30),
        created_at=NOW,
        updated_at=NOW,
        created_by=by,
    )


def lookup_setup(backend: str, n: int) -> tuple[crmkit.CRM, crmkit.User, list[Any], float]:
    tag = f"bench_service_lookup_{n}"
    drop_store(backend, tag)
    crm = open_crm(backend, tag)
    started = time.perf_counter()
    admin = crm.bootstrap_admin(name="管理员", password="bench-service-1", login="admin")
    with crm.session(actor=admin) as s:
        agent = s.users.create(name="吴客服", role="service", password="bench-service-1")
    store = store_of(crm)
    customers = build(n, [admin.id])
    busy = set(random.Random(3).sample(range(n), min(500, n)))
    for start in range(0, n, CHUNK):
        part = customers[start : start + CHUNK]
        contacts = [_contact(c.id, start + k, admin.id) for k, c in enumerate(part) if k % 2 == 0]
        tickets, activities = [], []
        for k, c in enumerate(part):
            if start + k in busy:
                tickets += [_ticket(c.id, agent.id, NOW + timedelta(days=30)) for _ in range(3)]
                activities += [
                    Activity(
                        id=str(uuid.uuid4()),
                        customer_id=c.id,
                        owner_id=admin.id,
                        kind=ActivityKind.CALL,
                        at=NOW - timedelta(days=d),
                        content="回访",
                        created_at=NOW,
                        updated_at=NOW,
                        created_by=admin.id,
                    )
                    for d in range(3)
                ]
        with store.unit_of_work() as uow:
            uow.customers.add_many(part, contacts=contacts)
            uow.repo(TICKETS).add_many(tickets)
            uow.repo(ACTIVITIES).add_many(activities)
            uow.commit()
    with store.connection() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return crm, agent, customers, time.perf_counter() - started


def _typed_mobile(e164: str) -> str:
    national = e164.removeprefix("+86")
    return f"{national[:3]} {national[3:7]} {national[7:]}"


def lookup_figures(backend: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    crm, agent, customers, load_s = lookup_setup(backend, n)
    say(f"  loaded {n:,} customers in {load_s:.0f} s")
    rng = random.Random(11)
    picks = [rng.randrange(n) for _ in range(args.calls)]
    typed = [
        landline(i) if i % 2 == 0 and i % 4 == 0 else _typed_mobile(customers[i].mobile.e164)
        for i in picks
    ]
    found = 0
    times: list[float] = []
    with crm.session(actor=agent) as s:
        s.tickets.lookup(phone=typed[0])  # warm
        for number in typed:
            t0 = time.perf_counter()
            views = s.tickets.lookup(phone=number)
            times.append(time.perf_counter() - t0)
            found += bool(views)
    raw = raw_connection(backend, f"bench_service_lookup_{n}")
    sql = [
        "SELECT * FROM customers WHERE mobile = ? AND deleted_at IS NULL",
        "SELECT * FROM customers WHERE phone = ? AND deleted_at IS NULL",
        "SELECT * FROM contacts WHERE mobile = ? AND deleted_at IS NULL",
        "SELECT * FROM contacts WHERE phone = ? AND deleted_at IS NULL",
    ]
    raw_times: list[float] = []
    for i in picks:
        e164 = customers[i].mobile.e164
        t0 = time.perf_counter()
        for q in sql:
            raw.fetch(q, (e164,))
        raw_times.append(time.perf_counter() - t0)
    raw.close()
    crm.close()
    return {
        "backend": backend,
        "n": n,
        "found": f"{found}/{len(typed)}",
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": statistics.quantiles(times, n=20)[-1] * 1000,
        "raw_median_ms": statistics.median(raw_times) * 1000,
    }


def breach_setup(backend: str, n: int, args: argparse.Namespace) -> tuple[crmkit.CRM, float]:
    tag = f"bench_service_breach_{n}"
    drop_store(backend, tag)
    crm = open_crm(backend, tag)
    started = time.perf_counter()
    admin = crm.bootstrap_admin(name="管理员", password="bench-service-1", login="admin")
    with crm.session(actor=admin) as s:
        lead = s.users.create(
            name="周主管", role="service", password="bench-service-1", mobile="13900000001"
        )
        agent = s.users.create(
            name="吴客服", role="service", password="bench-service-1", manager_id=lead.id
        )
        customer = s.customers.create(name="青岛金智电子科技有限公司")
    store = store_of(crm)
    due_total = args.due * args.rounds
    for start in range(0, n, CHUNK):
        tickets, jobs = [], []
        for i in range(start, min(n, start + CHUNK)):
            if i < due_total:
                due = NOW + timedelta(hours=1 + i // args.due)
            else:
                due = NOW + timedelta(days=20 + i % 200)
            ticket = _ticket(customer.id, agent.id, due)
            tickets.append(ticket)
            key = f"ticket.sla_breach:{ticket.id}:resolution:{due.isoformat()}"
            payload = {"id": ticket.id, "target": "resolution", "due": due.isoformat()}
            jobs.append(
                Job(
                    id=str(uuid.uuid4()),
                    kind="ticket.sla_breach",
                    key=key,
                    due_at=due,
                    payload=payload,
                    created_at=NOW,
                )
            )
        with store.unit_of_work() as uow:
            uow.repo(TICKETS).add_many(tickets)
            uow.jobs.add_many(jobs)
            uow.commit()
    with store.connection() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return crm, time.perf_counter() - started


def breach_figures(backend: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    crm, load_s = breach_setup(backend, n, args)
    say(f"  loaded {n:,} tickets in {load_s:.0f} s")
    times = []
    for r in range(args.rounds):
        at = NOW + timedelta(hours=1 + r, minutes=1)
        t0 = time.perf_counter()
        report = crm.run_due(now=at, limit=args.due)
        times.append(time.perf_counter() - t0)
        assert report.done == args.due, report
    crm.close()
    return {
        "backend": backend,
        "n": n,
        "due": args.due,
        "median_s": statistics.median(times),
        "per_breach_ms": statistics.median(times) / args.due * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite"])
    parser.add_argument("--only", choices=["lookup", "breach"])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for backend in args.backends:
        for n in args.sizes:
            if args.only in (None, "lookup"):
                say(f"lookup {backend} {n:,}")
                say(f"  {lookup_figures(backend, n, args)}")
            if args.only in (None, "breach"):
                say(f"breach {backend} {n:,}")
                say(f"  {breach_figures(backend, n, args)}")


if __name__ == "__main__":
    main()
