"""Receivables (应收款) from an approved order's payment plan, on every backend: they sum
exactly to the order's total, belong to its customer's scope, are never edited or deleted
by hand, and age into buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import crmkit
from crmkit import Money, NotFound, ReceivableStatus, ValidationError, WorkflowError
from crmkit.domain.receivables import Bucket


@pytest.fixture
def order(crm, team):
    """An approved order of 张三's for ¥56,970.00."""
    with crm.session(actor=team["admin"]) as s:
        customer = s.customers.create(name="青岛金智电子科技有限公司", owner_id=team["zhang"].id)
    with crm.session(actor=team["zhang"]) as s:
        made = s.orders.create(
            customer_id=customer.id,
            lines=[{"name": "智能门锁", "quantity": 30, "unit_price": "1899", "tax_rate": "13%"}],
        )
        s.orders.submit(made.id)
    with crm.session(actor=team["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    with crm.session(actor=team["boss"]) as s:
        for step in s.approvals.inbox():
            s.approvals.approve(step.step_id)
    with crm.session(actor=team["admin"]) as s:
        for step in s.approvals.inbox():
            s.approvals.approve(step.step_id)
        approved = s.orders.get(made.id)
    assert approved.approval is crmkit.ApprovalStatus.APPROVED
    return approved


def test_a_plan_makes_receivables_that_sum_to_the_order(crm, team, order):
    with crm.session(actor=team["zhang"]) as s:
        made = s.receivables.plan(order.id, [("2026-02-10", "30%"), ("2026-03-10", "70%")])
        assert [(r.instalment, str(r.amount), r.due) for r in made] == [
            (1, "17091.00 CNY", date(2026, 2, 10)),
            (2, "39879.00 CNY", date(2026, 3, 10)),
        ]
        assert sum((r.amount for r in made), Money(Decimal(0))) == order.gross
        assert all(r.balance == r.amount and r.status is ReceivableStatus.OPEN for r in made)
        assert made[0].number.startswith("AR-2026-")
        with pytest.raises(WorkflowError) as twice:
            s.receivables.plan(order.id, [("2026-04-01", "100%")])
        assert "已有回款计划" in twice.value.message("zh")
        for attempt in (
            lambda: s.receivables.update(made[0].id, due="2026-05-01"),
            lambda: s.receivables.delete(made[0].id),
            lambda: s.receivables.create(order_id=order.id),
        ):
            with pytest.raises(WorkflowError):
                attempt()
        assert [r.id for r in s.receivables.for_order(order.id)] == [r.id for r in made]
    with crm.session(actor=team["other"]) as s:
        with pytest.raises(NotFound):
            s.receivables.get(made[0].id)
        with pytest.raises(NotFound):
            s.receivables.plan(order.id, [("2026-04-01", "100%")])


def test_a_wrong_plan_writes_nothing(crm, team, order):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.receivables.plan(order.id, [("2026-02-10", "30%"), ("2026-01-10", "abc")])
        assert {e.field for e in bad.value.errors} == {
            "instalments[1].due",
            "instalments[1].amount",
        }
        assert s.receivables.count() == 0


def test_a_draft_order_has_no_plan_yet(crm, team):
    with crm.session(actor=team["admin"]) as s:
        customer = s.customers.create(name="烟台海港物流有限公司")
        draft = s.orders.create(
            customer_id=customer.id,
            lines=[{"name": "服务", "quantity": 1, "unit_price": "100", "tax_rate": "6%"}],
        )
        with pytest.raises(WorkflowError) as refused:
            s.receivables.plan(draft.id, [("2026-02-10", "100%")])
        assert "审批" in refused.value.message("zh")


def test_open_balances_age_into_buckets(crm, team, order):
    with crm.session(actor=team["zhang"]) as s:
        s.receivables.plan(
            order.id, [("2026-01-20", "10%"), ("2026-03-01", "40%"), ("2026-06-01", "50%")]
        )
        buckets = s.receivables.aging(as_of=date(2026, 3, 15))
    assert buckets[Bucket.DAYS_31_60] == Money(Decimal("5697.00"))
    assert buckets[Bucket.DAYS_1_30] == Money(Decimal("22788.00"))
    assert buckets[Bucket.NOT_DUE] == Money(Decimal("28485.00"))
    assert sum(m.amount for m in buckets.values()) == order.gross.amount
