"""Payments (回款) on every backend: applied oldest due first or by hand, prepayments
applied later, 抹零 write-offs within the limit, reversals as new entries, every bad input
refused with field errors in zh and en and nothing written, credit from balances, and two
payments racing for one receivable never over-applying it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

import crmkit
from crmkit import (
    AUTO_ALLOCATE,
    ApprovalPolicy,
    ConcurrencyError,
    Money,
    PaymentCategory,
    PaymentMethod,
    PaymentStatus,
    PermissionDenied,
    ReceivableStatus,
    StatementEntry,
    ValidationError,
    WorkflowError,
)
from crmkit.testing import open_test_crm
from crmkit.testing.notifiers import RecordingNotifier


def yuan(text: str) -> Money:
    return Money(Decimal(text))


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def books(backend_url, clock, notifier):
    """A CRM whose orders need no approval, a finance clerk, a salesperson and a customer
    with an order of ¥10,000.00 (tax included) planned in three instalments (one overdue)."""
    crm = open_test_crm(backend_url, clock=clock, approvals=ApprovalPolicy(()), notifier=notifier)
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    with crm.session(actor=admin) as s:
        fin = s.users.create(name="李会计", role="finance", password="finance-pass")
        zhang = s.users.create(name="张三", role="sales", password="sales-pass")
        other = s.users.create(name="孙悟空", role="sales", password="sales-pass")
        customer = s.customers.create(name="青岛金智电子科技有限公司", owner_id=zhang.id)
    with crm.session(actor=zhang) as s:
        order = s.orders.create(
            customer_id=customer.id,
            lines=[{"name": "智能门锁", "quantity": 10, "unit_price": "1000", "tax_rate": "13%"}],
        )
        s.orders.submit(order.id)
        today = s.today()
        plan = s.receivables.plan(
            order.id,
            [
                (today - timedelta(days=40), "20%"),
                (today + timedelta(days=10), "30%"),
                (today + timedelta(days=40), "50%"),
            ],
        )
    yield crm, {"admin": admin, "fin": fin, "zhang": zhang, "other": other}, customer, plan
    crm.close()


def test_a_payment_pays_the_oldest_due_first_and_keeps_the_rest_as_a_prepayment(books):
    crm, people, customer, plan = books
    with crm.session(actor=people["fin"]) as s:
        preview = s.payments.preview(customer.id, "4000")
        assert [(p.receivable.id, str(p.amount.amount)) for p in preview.allocations] == [
            (plan[0].id, "2000.00"),
            (plan[1].id, "2000.00"),
        ]
        assert s.receivables.get(plan[0].id).balance == yuan("2000.00")  # nothing written
        paid = s.payments.record(
            customer_id=customer.id,
            amount="¥4,000",
            received_on=s.today(),
            method="bank",  # as DESIGN.md writes it: a bank transfer
            account="招商银行 6225****1234",
            reference="TX20260101",
        )
        assert paid.number == "RC-2026-000001"
        assert paid.unapplied == yuan("0.00")
        first, second, third = (s.receivables.get(r.id) for r in plan)
        assert (first.status, first.balance) == (ReceivableStatus.PAID, yuan("0.00"))
        assert (second.status, second.balance) == (ReceivableStatus.PARTLY_PAID, yuan("1000.00"))
        assert third.status is ReceivableStatus.OPEN
        ahead = s.payments.record(
            customer_id=customer.id,
            amount="10000",
            received_on=s.today(),
            method="微信",
            category="预付款",
            allocate=None,
        )
        assert ahead.unapplied == yuan("10000.00")
        assert (ahead.method, ahead.category) == (PaymentMethod.WECHAT, PaymentCategory.DEPOSIT)
        assert s.payments.preview(customer.id, "1").amount == yuan("1")
        balance = s.receivables.balance(customer.id)
        assert (balance.receivable, balance.unapplied) == (yuan("6000.00"), yuan("10000.00"))
        assert balance.outstanding == yuan("-4000.00")
        applied = s.payments.apply(ahead.id)
        assert applied.unapplied == yuan("4000.00")
        assert s.receivables.balance(customer.id).receivable == yuan("0.00")
        with pytest.raises(WorkflowError):
            s.payments.apply(paid.id)  # nothing left to apply


def test_every_bad_input_names_its_fields_in_both_languages_and_writes_nothing(books):
    crm, people, customer, plan = books
    with crm.session(actor=people["fin"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.payments.record(
                customer_id=customer.id,
                amount="-5",
                received_on="2026-02-30",
                method="比特币",
            )
        fields = {e.field for e in bad.value.errors}
        assert fields == {"amount", "received_on", "method"}
        assert "回款金额" in bad.value.message("zh") and "回款日期" in bad.value.message("zh")
        assert "amount received" in bad.value.message("en")
        with pytest.raises(ValidationError) as zero:
            s.payments.record(
                customer_id=customer.id, amount="0", received_on=s.today(), method="cash"
            )
        assert [e.code for e in zero.value.errors] == ["number.positive"]
        with pytest.raises(ValidationError) as later:
            s.payments.record(
                customer_id=customer.id,
                amount="1",
                received_on=s.today() + timedelta(days=1),
                method="cash",
            )
        assert "晚于今天" in later.value.message("zh")
        with pytest.raises(ValidationError) as over:
            s.payments.record(
                customer_id=customer.id,
                amount="3000",
                received_on=s.today(),
                method="cash",
                allocate=[(plan[0].id, "2000.01"), (plan[0].id, "1"), ("nope", "1")],
            )
        codes = {(e.field, e.code) for e in over.value.errors}
        assert codes == {
            ("allocations[0].amount", "receivable.above_balance"),
            ("allocations[1].receivable_id", "receivable.repeated"),
            ("allocations[2].receivable_id", "not_found_ref"),
        }
        assert "超过未收余额 2000.00" in over.value.message("zh")
        assert "more than the balance 2000.00" in over.value.message("en")
        with pytest.raises(ValidationError) as beyond:
            s.payments.record(
                customer_id=customer.id,
                amount="100",
                received_on=s.today(),
                method="cash",
                allocate=[(plan[0].id, "60"), (plan[1].id, "60")],
            )
        assert "超过可冲销金额 100.00" in beyond.value.message("zh")
        with pytest.raises(ValidationError) as wrong_off:
            s.receivables.write_off(plan[0].id, reason="", amount="10.01")
        assert {(e.field, e.code) for e in wrong_off.value.errors} == {
            ("amount", "receivable.write_off_limit"),
            ("reason", "required"),
        }
        assert "超过抹零限额 10.00" in wrong_off.value.message("zh")
        assert s.payments.count() == 0
        assert [s.receivables.get(r.id).version for r in plan] == [1, 1, 1]


def test_a_write_off_closes_a_small_remainder_and_its_reversal_reopens_it(books):
    crm, people, customer, plan = books
    with crm.session(actor=people["fin"]) as s:
        s.payments.record(
            customer_id=customer.id,
            amount="1995.50",
            received_on=s.today(),
            method="alipay",
            allocate=[(plan[0].id, "1995.50")],
        )
        done = s.receivables.write_off(plan[0].id, reason="客户抹零")
        assert (done.amount, done.number) == (yuan("4.50"), "WO-2026-000001")
        closed = s.receivables.get(plan[0].id)
        assert (closed.status, closed.balance) == (ReceivableStatus.WRITTEN_OFF, yuan("0.00"))
        back = s.receivables.reverse_write_off(done.id, reason="客户补齐")
        assert back.amount == yuan("-4.50") and back.reverses == done.id
        assert s.receivables.get(plan[0].id).status is ReceivableStatus.PARTLY_PAID
        with pytest.raises(WorkflowError):
            s.receivables.reverse_write_off(done.id, reason="again")
        with pytest.raises(WorkflowError):
            s.receivables.reverse_write_off(back.id, reason="a reversal")
    with crm.session(actor=people["zhang"]) as s, pytest.raises(PermissionDenied):
        s.receivables.write_off(plan[0].id, reason="销售不可抹零")


def test_reversals_are_new_entries_and_payments_are_never_edited(books):
    crm, people, customer, plan = books
    with crm.session(actor=people["fin"]) as s:
        paid = s.payments.record(
            customer_id=customer.id, amount="3000", received_on=s.today(), method="cheque"
        )
        line = paid.allocations[1]
        again = s.payments.unallocate(paid.id, line.id, reason="冲错了")
        assert again.unapplied == yuan("1000.00")
        assert again.allocations[-1].reverses == line.id
        assert s.receivables.get(plan[1].id).balance == yuan("3000.00")
        with pytest.raises(WorkflowError):
            s.payments.unallocate(paid.id, line.id, reason="twice")
        bounced = s.payments.reverse(paid.id, reason="支票退票")
        assert (bounced.status, bounced.unapplied) == (PaymentStatus.REVERSED, yuan("0.00"))
        assert bounced.amount == yuan("3000.00")
        assert [s.receivables.get(r.id).status for r in plan] == [ReceivableStatus.OPEN] * 3
        for refused in (
            lambda: s.payments.update(paid.id, amount="1"),
            lambda: s.payments.delete(paid.id),
            lambda: s.payments.reverse(paid.id, reason="again"),
        ):
            with pytest.raises(WorkflowError):
                refused()


def test_a_salesperson_sees_only_their_customers_money(books):
    crm, people, customer, _plan = books
    with crm.session(actor=people["fin"]) as s:
        s.payments.record(customer_id=customer.id, amount="1", received_on=s.today(), method="cash")
    with crm.session(actor=people["zhang"]) as s:
        assert s.payments.count() == 1 and s.receivables.count() == 3
        with pytest.raises(PermissionDenied):
            s.payments.record(
                customer_id=customer.id, amount="1", received_on=s.today(), method="cash"
            )
    with crm.session(actor=people["other"]) as s:
        assert s.payments.count() == 0 and s.receivables.count() == 0
        assert s.receivables.aging() == dict.fromkeys(crmkit.Bucket, yuan("0.00"))
        with pytest.raises(crmkit.NotFound):
            s.receivables.balance(customer.id)


def test_reports_statement_and_overdue_reminders(books, clock, notifier, tmp_path: Path):
    crm, people, customer, plan = books
    with crm.session(actor=people["admin"]) as s:
        s.users.update(people["zhang"].id, email="zhang@example.com")
    with crm.session(actor=people["fin"]) as s:
        s.payments.record(
            customer_id=customer.id, amount="3000", received_on=s.today(), method="cash"
        )
        today = s.today()
        aging = s.receivables.aging()
        assert aging[crmkit.Bucket.DAYS_31_60] == yuan("0.00")
        assert aging[crmkit.Bucket.NOT_DUE] == yuan("7000.00")
        [owner] = s.receivables.by_owner()
        assert (owner.owner_id, owner.balance, owner.receivables) == (
            people["zhang"].id,
            yuan("7000.00"),
            2,
        )
        [unpaid] = s.receivables.unpaid_orders()
        assert (unpaid.amount, unpaid.balance) == (yuan("10000.00"), yuan("7000.00"))
        [by_method] = s.payments.collections("method")
        assert (by_method.key, by_method.count, by_method.amount) == ("cash", 1, yuan("3000.00"))
        statement = s.receivables.statement(customer.id, start=today, end=today)
        kinds = [line.kind for line in statement.lines]
        assert kinds.count(StatementEntry.RECEIVABLE) == 3
        assert kinds[-1] is StatementEntry.PAYMENT
        assert statement.closing == yuan("7000.00")
        target = tmp_path / "对账单.xlsx"
        with crmkit.language("zh"):  # the sheet speaks the active language
            s.receivables.export_statement(customer.id, target, start=today, end=today)
        sheet = openpyxl.load_workbook(target).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "日期" and rows[-1][-1] == Decimal("7000.00")
        with pytest.raises(ValidationError) as wrong:
            s.receivables.statement(customer.id, start="2026-13-01", end=today)
        assert wrong.value.errors[0].field == "start"
    clock.advance(timedelta(days=12))
    crm.run_due()
    crm.dispatch()
    sent = [m for m in notifier.sent if m.payload["template"] == "receivable.overdue"]
    assert [(m.channel, m.recipient) for m in sent] == [("email", "zhang@example.com")]
    assert [m.payload["receivable"] for m in sent] == [plan[1].number]
    assert sent[0].payload["days_overdue"] == 2


def test_credit_counts_what_is_owed_and_what_is_not_yet_planned(books):
    crm, people, customer, _plan = books
    with crm.session(actor=people["admin"]) as s:
        s.customers.update(customer.id, settlement="credit", credit_limit="20000")
    with crm.session(actor=people["zhang"]) as s:
        extra = s.orders.create(
            customer_id=customer.id,
            lines=[{"name": "服务", "quantity": 1, "unit_price": "1000", "tax_rate": "6%"}],
        )
        s.orders.submit(extra.id)
    with crm.session(actor=people["fin"]) as s:
        s.payments.record(
            customer_id=customer.id,
            amount="300",
            received_on=s.today(),
            method="cash",
            allocate=None,
        )
        balance = s.receivables.balance(customer.id)
        assert balance.outstanding == yuan("9700.00")
        assert balance.unplanned == yuan("1000.00")
        assert balance.available == yuan("9300.00")
        exposure, limit = s.orders.credit(customer.id)
        assert (exposure, limit) == (yuan("10700.00"), yuan("20000.00"))


@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
@pytest.mark.postgres
def test_two_payments_racing_for_one_receivable_never_over_apply_it(books):
    crm, people, customer, plan = books
    first = plan[0]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            with crm.session(actor=people["fin"]) as s:
                s.payments.record(
                    customer_id=customer.id,
                    amount="2000",
                    received_on=s.today(),
                    method="bank_transfer",
                    allocate=[(first.id, "2000")],
                )
                time.sleep(0.3)  # hold the transaction open so that the other overlaps it
            outcomes.append("paid")
        except ConcurrencyError:
            outcomes.append("conflict")
        except ValidationError:
            outcomes.append("refused")  # it read the receivable after the first committed

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) in (["conflict", "paid"], ["paid", "refused"])
    with crm.session(actor=people["fin"]) as s:
        assert s.receivables.get(first.id).balance == yuan("0.00")
        payments = s.payments.list().items
        assert len(payments) == 1  # the loser wrote nothing
        assert sum(a.amount.amount for a in payments[0].allocations) == Decimal("2000.00")


def test_auto_allocation_reads_open_items_a_page_at_a_time(books):
    crm, people, customer, plan = books
    with crm.session(actor=people["zhang"]) as s:
        for i in range(3):
            order = s.orders.create(
                customer_id=customer.id,
                lines=[{"name": "配件", "quantity": 60, "unit_price": "1", "tax_rate": "0%"}],
            )
            s.orders.submit(order.id)
            start = s.today() - timedelta(days=200 - i)
            s.receivables.plan(order.id, [(start + timedelta(d), "1") for d in range(60)])
    with crm.session(actor=people["fin"]) as s:
        paid = s.payments.record(
            customer_id=customer.id,
            amount="200",
            received_on=s.today(),
            method="cash",
            allocate=AUTO_ALLOCATE,
        )
        assert len(paid.allocations) == 180 + 1
        dues = [s.receivables.get(a.receivable_id).due for a in paid.allocations]
        assert dues == sorted(dues)
        assert dues[-1] == plan[0].due


def test_a_receivable_owed_again_after_a_reversal_is_reminded_again(books, clock, notifier):
    crm, people, customer, plan = books
    with crm.session(actor=people["admin"]) as s:
        s.users.update(people["zhang"].id, email="zhang@example.com")
    with crm.session(actor=people["fin"]) as s:
        paid = s.payments.record(
            customer_id=customer.id, amount="2000", received_on=s.today(), method="cheque"
        )
    crm.run_due()  # the overdue first instalment was paid before its reminder ran
    with crm.session(actor=people["fin"]) as s:
        s.payments.reverse(paid.id, reason="支票退票")
    clock.advance(timedelta(days=1, hours=9))
    crm.run_due()
    crm.dispatch()
    sent = [m.payload for m in notifier.sent if m.payload["template"] == "receivable.overdue"]
    assert [(p["receivable"], p["days_overdue"]) for p in sent] == [(plan[0].number, 41)]
