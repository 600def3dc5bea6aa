"""Quote → order → approval in a real Chromium, one browser window per person: a salesperson
builds a quote, makes it an order and submits it; the manager approves it from the approval
inbox; the salesperson sees it approved and prints it. A large order needs finance after the
manager, who decides on the order's own page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in
from tests.browser.test_admin_browser import SCREENSHOTS

pytestmark = pytest.mark.browser
SAVE = os.environ.get("CRMKIT_SCREENSHOTS") == "1"


@contextmanager
def window(chromium: Any, base: str, login: str) -> Iterator[Any]:
    """A browser window of its own (own cookies) logged in as ``login``; a console error
    fails the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, base, login)
        yield page
    finally:
        context.close()
    assert not errors, f"browser console errors ({login}): {errors}"


@pytest.fixture
def goods(live: dict[str, Any]) -> tuple[crmkit.Customer, crmkit.Product]:
    """A customer of 张三's and the catalogue's smart lock."""
    with live["crm"].session(actor=live["zhang"]) as s:
        customer = s.customers.list(limit=1).items[0]
        (lock,) = s.products.list(code="LK-100").items
    return customer, lock


def gross_of(live: dict[str, Any], customer_id: str, lines: list[dict[str, str]]) -> str:
    with live["crm"].session(actor=live["zhang"]) as s:
        order = s.orders.check_create(customer_id=customer_id, lines=lines)
    return crmkit.display.money(order.gross, "zh")


def build(page: Any, live: dict[str, Any], customer_id: str, product_id: str, qty: str) -> None:
    """Fill the builder (a quote's or an order's) with one catalogue line and wait for
    crmkit's totals."""
    page.select_option("#customer_id", value=customer_id)
    page.select_option("#lines-0-product_id", value=product_id)
    page.fill("#lines-0-quantity", qty)
    expected = gross_of(live, customer_id, [{"product_id": product_id, "quantity": qty}])
    page.wait_for_function(
        "want => document.querySelector('#total-gross').textContent.trim() === want",
        arg=expected,
    )


def saved(page: Any, live: dict[str, Any], goods: Any, kind: str, qty: str, **header: str) -> None:
    """A new quote or order (``kind``) of ``qty`` smart locks for the customer, saved from
    its builder; ``header`` fills more of its inputs."""
    customer, lock = goods
    page.goto(f"{live['url']}/{kind}s/new/")
    build(page, live, customer.id, lock.id, qty)
    for field, value in header.items():
        page.fill(f"#{field}", value)
    page.click(f"#save-{kind}")


def decide_in_inbox(page: Any, base: str, number: str, comment: str) -> None:
    page.goto(f"{base}/approvals/")
    row = page.locator("tr.inbox-row", has=page.locator(f"a:text-is('{number}')"))
    row.locator("input[name=comment]").fill(comment)
    row.locator("button.approve").click()
    page.wait_for_selector(".alert-success")


def test_a_quote_becomes_an_order_that_the_manager_approves_from_the_inbox(
    chromium: Any, live: dict[str, Any], goods: tuple[crmkit.Customer, crmkit.Product]
) -> None:
    base = live["url"]
    with window(chromium, base, live["zhang"].login) as sales:
        saved(sales, live, goods, "quote", "3")
        sales.click("#quote-to-order")
        sales.wait_for_selector("#order-actions")
        assert "已根据报价生成订单" in sales.inner_text(".alert-success")
        assert "草稿" in sales.inner_text("#details")
        number = sales.inner_text("#details .detail-number").strip()
        sales.click("#submit-order")
        sales.wait_for_selector("#withdraw-order")
        assert "审批中" in sales.inner_text("#details")
        assert "上级审批" in sales.inner_text("#approval-trail")
        with window(chromium, base, "wangjg") as manager:
            assert "待我审批" in manager.inner_text("#inbox-badge")  # the steps waiting
            manager.goto(f"{base}/approvals/")
            assert number in manager.inner_text("#approval-inbox")
            if SAVE:
                manager.screenshot(path=str(SCREENSHOTS / "approvals.png"), full_page=True)
            decide_in_inbox(manager, base, number, "同意")
            assert number in manager.inner_text(".alert-success")
            assert number not in manager.inner_text("#approval-inbox")
        sales.reload()
        assert "已审批" in sales.inner_text("#details")
        assert "王建国" in sales.inner_text("#approval-trail")
        assert sales.locator("#revise-order").count() == 1
        if SAVE:
            sales.screenshot(path=str(SCREENSHOTS / "order.png"), full_page=True)
        sales.click("#print-order")
        sales.wait_for_selector("#print-document")
        assert "销售订单" in sales.inner_text(".doc-title")
        assert "已审批" in sales.inner_text("#print-facts")
        assert "毛利" not in sales.inner_text("#print-document")
        if SAVE:
            sales.screenshot(path=str(SCREENSHOTS / "order-print.png"), full_page=True)


def test_a_large_order_goes_from_the_manager_to_finance(
    chromium: Any, live: dict[str, Any], goods: tuple[crmkit.Customer, crmkit.Product]
) -> None:
    base = live["url"]
    with window(chromium, base, live["zhang"].login) as sales:
        saved(sales, live, goods, "order", "30", signed_on="2026-06-01")  # ¥59,970 > ¥50,000
        sales.wait_for_selector("#order-actions")
        number = sales.inner_text("#details .detail-number").strip()
        sales.click("#submit-order")
        sales.wait_for_selector("#withdraw-order")
        order_url = sales.url
        with window(chromium, base, "wangjg") as manager:
            manager.goto(order_url)  # the manager decides on the order's own page
            manager.fill("#order-decide input[name=comment]", "注意回款")
            manager.click("#approve-order")
            manager.wait_for_selector(".alert-success")
            assert "财务审批" in manager.inner_text(".alert-success")
            assert manager.locator("#approve-order").count() == 0
        with window(chromium, base, "liufang") as finance:
            decide_in_inbox(finance, base, number, "")
            assert "已审批通过" in finance.inner_text(".alert-success")
        sales.reload()
        trail = sales.inner_text("#approval-trail")
        assert "已审批" in sales.inner_text("#details")
        assert "上级审批" in trail and "财务审批" in trail and "刘芳" in trail
