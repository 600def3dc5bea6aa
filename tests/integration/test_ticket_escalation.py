"""A missed SLA target is escalated once, however many workers run due jobs at once.

Tickets with targets of a few service minutes are opened at random minutes of a working
morning, some get their first response in time, some wait for the customer for a while;
then the clock moves on in steps and, after each step, two workers run ``crm.run_due`` at
the same moment in threads. At the end every target that was missed is marked on its
ticket, its manager got exactly one escalation for it (one outbox message, one SMS), one
``TicketBreached`` event was published for it, and no target that was met was escalated.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.domain.events import TicketBreached
from crmkit.testing import open_test_crm
from crmkit.testing.clocks import ManualClock
from crmkit.testing.notifiers import RecordingNotifier

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a working Monday
MANAGER_MOBILE = "+8613900000001"

ticket_st = st.tuples(
    st.integers(0, 90),  # minute of the morning it is opened
    st.sampled_from(["none", "reply", "wait", "resolve"]),  # what the agent does at once
)


def _play(url: str | None, tickets, steps, workers: int = 2) -> None:
    clock = ManualClock(START)
    notifier = RecordingNotifier()
    crm = open_test_crm(url, clock=clock, notifier=notifier)
    breached: list[TicketBreached] = []
    crm.subscribe(TicketBreached, breached.append)
    try:
        admin = crm.bootstrap_admin("管理员", "admin-pass-1")
        with crm.session(actor=admin) as s:
            s.settings.update(satisfaction_survey=False)
            lead = s.users.create(
                name="周主管", role="service", password="service-pass", mobile=MANAGER_MOBILE
            )
            agent = s.users.create(
                name="吴客服", role="service", manager_id=lead.id, password="service-pass"
            )
            s.sla_policies.create(name="快", response_minutes=20, resolution_minutes=60)
            customer = s.customers.create(name="青岛金智电子科技有限公司")
        ids = []
        for minute, action in sorted(tickets):
            clock.set(START + timedelta(minutes=minute))
            with crm.session(actor=agent) as s:
                t = s.tickets.create(
                    customer_id=customer.id, type="repair", subject="门锁", assignee_id=agent.id
                )
                if action == "reply":
                    s.tickets.record(t.id, body="已回电", kind="call")
                elif action == "wait":
                    s.tickets.wait(t.id)
                elif action == "resolve":
                    s.tickets.resolve(t.id, resolution="已解决")
                ids.append(t.id)
        for advance in steps:
            clock.advance(timedelta(minutes=advance))
            barrier = threading.Barrier(workers)

            def work(barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                while crm.run_due(limit=3).claimed:
                    pass

            threads = [threading.Thread(target=work) for _ in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        crm.dispatch()
        with crm.session(actor=admin) as s:
            final = {i: s.tickets.get(i) for i in ids}
        missed = {
            (t.id, target)
            for t in final.values()
            for target, flag in (
                ("response", t.response_breached),
                ("resolution", t.resolution_breached),
            )
            if flag
        }
        escalations = Counter(
            (m.payload["ticket_id"], m.payload["target"])
            for m in notifier.to(MANAGER_MOBILE)
            if m.payload["template"] == "ticket.escalation"
        )
        events = Counter((e.entity_id, e.target) for e in breached)
        assert set(escalations) == missed
        assert all(n == 1 for n in escalations.values()), escalations
        assert events == escalations
        now = clock.now()
        for t in final.values():
            if t.is_open and t.response_due_at is not None and t.first_response_at is None:
                assert t.response_breached == (t.response_due_at <= now)
            if t.is_open and t.resolution_due_at is not None:
                assert t.resolution_breached == (t.resolution_due_at <= now)
            if t.first_response_at is not None and t.response_due_at is not None:
                assert t.response_breached == (t.first_response_at > t.response_due_at)
    finally:
        crm.close()


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )


steps_st = st.lists(st.integers(1, 50), min_size=1, max_size=6)
tickets_st = st.lists(ticket_st, min_size=1, max_size=6)


@examples(12)
@given(tickets=tickets_st, steps=steps_st)
def test_each_breach_escalates_once_in_memory(tickets, steps) -> None:
    _play(None, tickets, steps)


@examples(5)
@given(tickets=tickets_st, steps=steps_st)
def test_each_breach_escalates_once_on_sqlite(tmp_path_factory, tickets, steps) -> None:
    _play(f"sqlite:///{tmp_path_factory.mktemp('esc')}/crm.db", tickets, steps)


@pytest.mark.postgres
@examples(3)
@given(tickets=tickets_st, steps=steps_st)
def test_each_breach_escalates_once_on_postgres(pg_url_factory, tickets, steps) -> None:
    _play(pg_url_factory(), tickets, steps)
