"""回款计划 in a real Chromium, on the demo's data: 张三 opens an approved order of his that
has no plan, adds a row and uses 一次付清 in place (static/payment_plan.js: nothing posted),
types a 30%/70% plan, sees crmkit's error beside a wrong row, then makes the plan and finds
its receivables on the order's page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def approved_order(live: dict[str, Any]) -> crmkit.Order:
    """A new order of 张三's (one smart lock), approved by his manager."""
    crm = live["crm"]
    with crm.session(actor=live["zhang"]) as s:
        customer = s.customers.list(limit=1).items[0]
        (lock,) = s.products.list(code="LK-100").items
        order = s.orders.create(
            customer_id=customer.id, lines=[{"product_id": lock.id, "quantity": "1"}]
        )
        s.orders.submit(order.id)
    with crm.session(actor=crmkit.SYSTEM) as s:
        manager = s.users.get_by_login("wangjg")
    with crm.session(actor=manager) as s:
        step = next(a for a in s.approvals.inbox(limit=200).items if a.document_id == order.id)
        s.approvals.approve(step.step_id or "")
    with crm.session(actor=crmkit.SYSTEM) as s:
        found: crmkit.Order = s.orders.get(order.id)
    assert found.approval is crmkit.ApprovalStatus.APPROVED
    return found


def values(page: Any, name: str) -> list[str]:
    return [
        page.locator(f"#plan-rows input[name={name}]").nth(i).input_value()
        for i in range(page.locator(f"#plan-rows input[name={name}]").count())
    ]


def test_a_salesperson_makes_the_payment_plan_of_an_approved_order(
    page: Any, live: dict[str, Any]
) -> None:
    base, crm = live["url"], live["crm"]
    order = approved_order(live)
    with crm.session(actor=live["zhang"]) as s:
        today = s.today()
    first, second = (today + timedelta(days=d) for d in (400, 430))  # after the demo's dues
    log_in(page, base, "zhangsan")
    page.goto(f"{base}/orders/details/?id={order.id}")
    page.wait_for_selector("#payment-plan-form")
    assert page.locator("#plan-rows tr.plan-row").count() == 3
    page.click("#plan-add-row")  # in place: the same page, a row more
    assert page.locator("#plan-rows tr.plan-row").count() == 4
    assert page.evaluate("document.activeElement.id") == "plan-due-3"
    assert page.get_attribute("#plan-due-3", "aria-label") == "第 4 期到期日"
    page.fill("#plan-due-0", "2030-02-30")
    page.fill("#plan-amount-0", "30%")
    page.fill("#plan-due-3", second.isoformat())
    page.fill("#plan-amount-3", "70%")
    page.click("#make-payment-plan")  # a wrong date: the page again, the error beside it
    page.wait_for_selector(".field-error")
    assert "不是有效的日期" in page.inner_text("#plan-rows tr.plan-row >> nth=0")
    assert values(page, "amount") == ["30%", "70%", ""]  # empty rows left out
    page.click("#plan-pay-once")  # one instalment of 100%, the errors gone, nothing posted
    assert values(page, "amount") == ["100%", "", ""]
    assert values(page, "due") == ["2030-02-30", "", ""]
    assert page.locator("#plan-rows .field-error").count() == 0
    page.fill("#plan-due-0", first.isoformat())
    page.fill("#plan-amount-0", "30%")
    page.fill("#plan-due-1", second.isoformat())
    page.fill("#plan-amount-1", "70%")
    page.press("#plan-amount-1", "Enter")  # Enter makes the plan
    page.wait_for_selector("#order-receivables")
    assert "回款计划已生成：共 2 期" in page.inner_text(".alert-success")
    with crm.session(actor=live["zhang"]) as s:
        made = s.receivables.for_order(order.id)
    assert sum((r.amount.amount for r in made), Decimal(0)) == order.gross.amount
    table = page.inner_text("#order-receivables")
    assert made[0].number in table and made[1].number in table
    assert crmkit.display.money(order.gross, "zh") in page.inner_text("#order-receivables-total")
    assert page.locator("#payment-plan-form").count() == 0
