"""A hypothesis state machine over money in, on every backend: random orders, payment
plans, payments (applied automatically, by hand, or kept as prepayments), applications of
prepayments, 抹零 write-offs and reversals of each, with bad input mixed in. After every
step, to the fen:

- each receivable's balance = amount − Σ its allocation lines − Σ its write-offs, never
  below 0 nor above its amount, and ``paid`` / ``written_off`` / ``status`` agree;
- a payment's allocations never exceed it, and what is left is its ``unapplied``;
- a customer's balance = Σ receivable balances − unapplied payments;
- the aging buckets sum to the total owed;
- a refused step (bad input, a reversal twice) changed nothing.

One store per backend serves every example; each example works on a customer of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import crmkit
from crmkit import (
    ApprovalPolicy,
    PaymentStatus,
    ReceivableStatus,
    ValidationError,
    WorkflowError,
)
from crmkit.domain.receivables import Bucket, bucket_of
from crmkit.testing import ManualClock, open_test_crm

REFUSED = (ValidationError, WorkflowError)
FEN = Decimal("0.01")
AMOUNTS = st.decimals(Decimal("0.01"), Decimal("30000"), places=2)
PRICES = st.sampled_from(["99.99", "1000", "3333.33", "56970", "12345.67"])
SHARES = st.sampled_from([["100%"], ["30%", "70%"], ["1/3"], ["10%", "10%", "80%"]])


@pytest.fixture
def money_crm(backend_url: str | None) -> Iterator[Any]:
    clock = ManualClock()
    crm = open_test_crm(backend_url, clock=clock, approvals=ApprovalPolicy(()))
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    with crm.session(actor=admin) as s:
        fin = s.users.create(name="李会计", role="finance", password="finance-pass")
        zhang = s.users.create(name="张三", role="sales", password="sales-pass")
    yield crm, clock, admin, fin, zhang
    crm.close()


def test_money_in_keeps_its_invariants(money_crm: Any, backend_url: str | None) -> None:
    crm, clock, admin, fin, zhang = money_crm
    # The rules are the library's: memory explores them widely, SQL stores confirm them.
    examples = 30 if backend_url is None else 15
    counter = iter(range(10**6))

    class MoneyFlows(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with crm.session(actor=admin) as s:
                self.customer = s.customers.create(
                    name=f"青岛金智电子科技有限公司{next(counter)}分公司", owner_id=zhang.id
                ).id
            self.receivables: list[str] = []
            self.payments: list[str] = []
            self.write_offs: list[str] = []

        def _as(self, user: crmkit.User) -> crmkit.Session:
            return crm.session(actor=user)  # type: ignore[no-any-return]

        def _state(self) -> Any:
            with self._as(fin) as s:
                rs = sorted((r.id, r.version, r.balance) for r in self._all(s.receivables))
                ps = sorted((p.id, p.version, p.unapplied) for p in self._all(s.payments))
            return rs, ps

        def _all(self, service: Any) -> list[Any]:
            return list(service.list(customer_id=self.customer, limit=500).items)

        def _refused(self, step: Any) -> None:
            """``step`` must be refused and change nothing."""
            before = self._state()
            with pytest.raises(REFUSED), self._as(fin) as s:
                step(s)
            assert self._state() == before

        @rule(
            price=PRICES,
            quantity=st.integers(1, 3),
            shares=SHARES,
            offset=st.integers(-120, 30),
        )
        def sell(self, price: str, quantity: int, shares: list[str], offset: int) -> None:
            """An approved order and its payment plan (回款计划)."""
            line = {"name": "门锁", "quantity": quantity, "unit_price": price, "tax_rate": "13%"}
            start = clock.now().date() + timedelta(days=offset)
            if shares[0] == "1/3":
                parts = [(start, "33.3333%"), (start + timedelta(30), "33.3333%")]
                parts.append((start + timedelta(60), "33.3334%"))
            else:
                parts = [(start + timedelta(30 * i), p) for i, p in enumerate(shares)]
            with self._as(zhang) as s:
                made = s.orders.create(customer_id=self.customer, lines=[line])
                s.orders.submit(made.id)
                self.receivables += [r.id for r in s.receivables.plan(made.id, parts)]

        @rule(amount=AMOUNTS, mode=st.sampled_from(["auto", "none"]))
        def pay(self, amount: Decimal, mode: str) -> None:
            allocate = crmkit.AUTO_ALLOCATE if mode == "auto" else None
            with self._as(fin) as s:
                made = s.payments.record(
                    customer_id=self.customer,
                    amount=amount,
                    received_on=s.today(),
                    method="wechat",
                    allocate=allocate,
                )
            self.payments.append(made.id)

        @rule(data=st.data(), amount=AMOUNTS)
        def pay_by_hand(self, data: st.DataObject, amount: Decimal) -> None:
            with self._as(fin) as s:
                open_ = [r for r in self._all(s.receivables) if r.balance.amount > 0]
                if not open_:
                    return
                r = data.draw(st.sampled_from(open_))
                part = min(amount, r.balance.amount)
                made = s.payments.record(
                    customer_id=self.customer,
                    amount=amount,
                    received_on=s.today(),
                    method="cash",
                    allocate=[(r.id, part)],
                )
            self.payments.append(made.id)

        @rule(data=st.data())
        def apply(self, data: st.DataObject) -> None:
            with self._as(fin) as s:
                waiting = [p for p in self._all(s.payments) if p.unapplied.amount > 0]
                if not waiting:
                    return
                s.payments.apply(data.draw(st.sampled_from(waiting)).id)

        @rule(data=st.data(), cents=st.integers(1, 1200))
        def write_off(self, data: st.DataObject, cents: int) -> None:
            with self._as(fin) as s:
                open_ = [r for r in self._all(s.receivables) if r.balance.amount > 0]
            if not open_:
                return
            r = data.draw(st.sampled_from(open_))
            amount = Decimal(cents) / 100
            if amount > r.balance.amount or amount > Decimal("10.00"):
                self._refused(lambda s: s.receivables.write_off(r.id, reason="抹零", amount=amount))
                return
            with self._as(fin) as s:
                self.write_offs.append(
                    s.receivables.write_off(r.id, reason="抹零", amount=amount).id
                )

        @rule(data=st.data())
        def reverse_write_off(self, data: st.DataObject) -> None:
            if not self.write_offs:
                return
            id = data.draw(st.sampled_from(self.write_offs))
            with self._as(fin) as s:
                reversed_ = [w for r in self.receivables for w in s.receivables.write_offs(r)]
            if any(w.reverses == id for w in reversed_):
                self._refused(lambda s: s.receivables.reverse_write_off(id, reason="重复"))
                return
            with self._as(fin) as s:
                s.receivables.reverse_write_off(id, reason="抹错了")

        @rule(data=st.data())
        def unallocate(self, data: st.DataObject) -> None:
            with self._as(fin) as s:
                lines = [
                    (p.id, a.id)
                    for p in self._all(s.payments)
                    if p.status is PaymentStatus.POSTED
                    for a in crmkit.domain.payment.live_allocations(p.allocations)
                ]
                if not lines:
                    return
                payment, line = data.draw(st.sampled_from(lines))
                s.payments.unallocate(payment, line, reason="冲错了")

        @rule(data=st.data())
        def reverse(self, data: st.DataObject) -> None:
            if not self.payments:
                return
            id = data.draw(st.sampled_from(self.payments))
            with self._as(fin) as s:
                done = s.payments.get(id).status is PaymentStatus.REVERSED
            if done:
                self._refused(lambda s: s.payments.reverse(id, reason="again"))
                return
            with self._as(fin) as s:
                s.payments.reverse(id, reason="退票")

        @rule(
            bad=st.sampled_from(["0", "-5", "abc", "1.234"]),
            day=st.sampled_from(["2026-02-30", "明天", None]),
        )
        def bad_payment(self, bad: str, day: str | None) -> None:
            def step(s: crmkit.Session) -> None:
                s.payments.record(
                    customer_id=self.customer,
                    amount=bad,
                    received_on=day if day is not None else s.today() + timedelta(1),
                    method="alipay",
                )

            self._refused(step)

        @rule(data=st.data(), over=st.integers(1, 500))
        def over_allocation(self, data: st.DataObject, over: int) -> None:
            with self._as(fin) as s:
                open_ = [r for r in self._all(s.receivables) if r.balance.amount > 0]
            if not open_:
                return
            r = data.draw(st.sampled_from(open_))
            too_much = r.balance.amount + Decimal(over) / 100

            def step(s: crmkit.Session) -> None:
                s.payments.record(
                    customer_id=self.customer,
                    amount=too_much,
                    received_on=s.today(),
                    method="bank_transfer",
                    allocate=[(r.id, too_much)],
                )

            self._refused(step)

        def teardown(self) -> None:
            # How much each example did, for whoever tunes the machine (pytest -s).
            with self._as(fin) as s:
                made = (len(self._all(s.receivables)), len(self._all(s.payments)))
            print(
                "money flows:", made, "receivables, payments;", len(self.write_offs), "write-offs"
            )

        @rule(days=st.integers(0, 40))
        def time_passes(self, days: int) -> None:
            clock.advance(timedelta(days=days))

        @invariant()
        def the_books_balance(self) -> None:
            with self._as(fin) as s:
                receivables = self._all(s.receivables)
                payments = self._all(s.payments)
                lines: dict[str, Decimal] = {}
                for p in payments:
                    applied = sum((a.amount.amount for a in p.allocations), Decimal(0))
                    assert Decimal(0) <= applied <= p.amount.amount
                    unapplied = p.amount.amount - applied
                    if p.status is PaymentStatus.REVERSED:
                        assert applied == 0
                        unapplied = Decimal(0)
                    assert p.unapplied.amount == unapplied
                    for a in p.allocations:
                        lines[a.receivable_id] = lines.get(a.receivable_id, Decimal(0)) + (
                            a.amount.amount
                        )
                owed = Decimal(0)
                for r in receivables:
                    written = sum(
                        (w.amount.amount for w in s.receivables.write_offs(r.id)), Decimal(0)
                    )
                    paid = lines.get(r.id, Decimal(0))
                    balance = r.amount.amount - paid - written
                    assert r.balance.amount == balance
                    assert Decimal(0) <= balance <= r.amount.amount
                    assert (r.paid.amount, r.written_off.amount) == (paid, written)
                    for value in (r.balance, r.paid, r.written_off):
                        assert value.amount == value.amount.quantize(FEN)
                    if balance == r.amount.amount:
                        assert r.status is ReceivableStatus.OPEN
                    elif balance > 0:
                        assert r.status is ReceivableStatus.PARTLY_PAID
                    else:
                        assert r.status in {ReceivableStatus.PAID, ReceivableStatus.WRITTEN_OFF}
                    owed += balance
                unapplied_total = sum((p.unapplied.amount for p in payments), Decimal(0))
                balance = s.receivables.balance(self.customer)
                assert balance.receivable.amount == owed
                assert balance.unapplied.amount == unapplied_total
                assert balance.outstanding.amount == owed - unapplied_total
                today = s.today()
                statement = s.receivables.statement(
                    self.customer, start=date(2000, 1, 1), end=today + timedelta(days=3650)
                )
                assert statement.closing.amount == owed - unapplied_total
                rows = [
                    row
                    for row in s.receivables.aging_by("customer", as_of=today)
                    if row.key == self.customer
                ]
                buckets = (
                    rows[0].buckets if rows else dict.fromkeys(Bucket, crmkit.Money(Decimal(0)))
                )
                assert sum(m.amount for m in buckets.values()) == owed
                for bucket in Bucket:
                    expected = sum(
                        (
                            r.balance.amount
                            for r in receivables
                            if r.balance.amount > 0 and bucket_of(r.due, today) is bucket
                        ),
                        Decimal(0),
                    )
                    assert buckets[bucket].amount == expected

    run_state_machine_as_test(
        MoneyFlows,
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
