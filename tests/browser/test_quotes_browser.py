"""Quotes and the pipeline in a real Chromium: a salesperson builds a quote line by line with
totals worked out as they type, saves it, sends it and prints it; a card moves across the
board."""

from __future__ import annotations

import os
from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in
from tests.browser.test_admin_browser import SCREENSHOTS

pytestmark = pytest.mark.browser
SAVE = os.environ.get("CRMKIT_SCREENSHOTS") == "1"


def gross_of(live: dict[str, Any], customer_id: str, lines: list[dict[str, str]]) -> str:
    """What crmkit says the lines come to, as the builder shows it (¥…)."""
    with live["crm"].session(actor=live["zhang"]) as s:
        quote = s.quotes.check_create(customer_id=customer_id, lines=lines)
    return crmkit.display.money(quote.gross, "zh")


def text_is(page: Any, selector: str, expected: str) -> None:
    """Wait until the element shows ``expected`` (the totals arrive after the typing)."""
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel).textContent.trim() === want",
        arg=[selector, expected],
    )


def test_a_salesperson_builds_sends_and_prints_a_quote(page: Any, live: dict[str, Any]) -> None:
    base, crm = live["url"], live["crm"]
    with crm.session(actor=live["zhang"]) as s:
        customer = s.customers.list(limit=1).items[0]
        (lock,) = s.products.list(code="LK-100").items
    log_in(page, base, live["zhang"].login)
    page.goto(f"{base}/quotes/")
    page.click("#create-link")
    page.wait_for_selector("#quote-builder")
    assert page.inner_text("#total-gross") == "—"
    page.select_option("#customer_id", value=customer.id)
    # line 1: a catalogue product; its name, price and tax rate come from the catalogue
    page.select_option("#lines-0-product_id", value=lock.id)
    page.fill("#lines-0-quantity", "2")
    one = [{"product_id": lock.id, "quantity": "2"}]
    text_is(page, "#total-gross", gross_of(live, customer.id, one))
    assert page.get_attribute("#lines-0-name", "placeholder") == "智能门锁"
    # line 2: typed in full
    page.click("#add-line")
    page.fill("#lines-1-name", "安装调试服务")
    page.fill("#lines-1-quantity", "1")
    page.fill("#lines-1-unit_price", "600")
    page.fill("#lines-1-tax_rate", "6%")
    two = [*one, {"name": "安装调试服务", "quantity": "1", "unit_price": "600", "tax_rate": "6%"}]
    text_is(page, "#total-gross", gross_of(live, customer.id, two))
    # typing a quantity changes the totals
    page.fill("#lines-0-quantity", "5")
    two[0] = {"product_id": lock.id, "quantity": "5"}
    text_is(page, "#total-gross", gross_of(live, customer.id, two))
    assert page.inner_text("#total-margin") != "—"
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "quote-builder.png"), full_page=True)
    # a wrong quantity is named under its own row, the other line still totalled
    page.fill("#lines-1-quantity", "-1")
    page.locator("tr[data-key='1'] .field-error").wait_for()
    assert "必须大于零" in page.inner_text("tr[data-key='1'] .field-error")
    assert page.locator("tr[data-key='0'] .field-error").count() == 0
    page.fill("#lines-1-quantity", "1")
    text_is(page, "#total-gross", gross_of(live, customer.id, two))
    page.click("#save-quote")
    page.wait_for_selector("#quote-actions")
    assert "已保存" in page.inner_text(".alert-success")
    assert page.locator("#quote-lines tbody tr").count() == 2
    page.click("#send-quote")
    page.wait_for_selector("#accept-quote")
    assert "已发送" in page.inner_text("#details")
    page.click("#print-quote")
    page.wait_for_selector("#print-document")
    assert "报价单" in page.inner_text(".doc-title")
    assert page.locator("#print-lines tbody tr").count() == 2
    assert gross_of(live, customer.id, two) in page.inner_text("#print-totals")
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "quote-print.png"), full_page=True)


def test_a_card_moves_to_another_stage_on_the_board(page: Any, live: dict[str, Any]) -> None:
    base, crm = live["url"], live["crm"]
    with crm.session(actor=live["zhang"]) as s:
        customer = s.customers.list(limit=1).items[0]
        deal = s.opportunities.create(
            customer_id=customer.id, title="浏览器测试商机", amount="88000", stage="contact"
        )
    log_in(page, base, live["zhang"].login)
    page.goto(f"{base}/opportunities/")
    page.click(".nav-tabs a:has-text('商机看板')")  # the list's link to the board
    card = page.locator(f"article[data-id='{deal.id}']")
    assert card.locator("xpath=ancestor::section").get_attribute("data-stage") == "contact"
    card.locator(".move-stage").select_option("needs")
    card.locator(".move-button").click()
    page.wait_for_selector(".alert-success")
    moved = page.locator(f"#stage-needs article[data-id='{deal.id}']")
    assert moved.count() == 1
    # and by dragging it onto a column (the same form, sent by board.js)
    moved.drag_to(page.locator("#stage-negotiation"))
    page.locator(f"#stage-negotiation article[data-id='{deal.id}']").wait_for()
    with crm.session(actor=live["zhang"]) as s:
        assert s.opportunities.get(deal.id).stage == "negotiation"
    page.click(f"article[data-id='{deal.id}'] .card-title-link")
    page.wait_for_selector("#stage-history")
    assert page.locator("#stage-history tbody tr").count() == 3
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "opportunity.png"), full_page=True)
