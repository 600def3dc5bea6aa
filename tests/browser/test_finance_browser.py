"""登记回款 in a real Chromium, on the demo's data: 刘芳 (finance) opens 回款 from the 财务 menu,
fills the form for a customer who owes, previews the allocation crmkit proposes (the oldest
due first), confirms it, lands on the payment's page, then takes one of its lines back
(冲回, with a reason, after the browser's confirmation)."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in
from tests.browser.test_admin_browser import SCREENSHOTS

pytestmark = pytest.mark.browser
SAVE = os.environ.get("CRMKIT_SCREENSHOTS") == "1"


def finance_user(live: dict[str, Any]) -> crmkit.User:
    with live["crm"].session(actor=crmkit.SYSTEM) as s:
        user: crmkit.User = s.users.get_by_login("liufang")
    return user


def test_finance_records_a_payment_after_previewing_its_allocation(
    page: Any, live: dict[str, Any]
) -> None:
    base, crm = live["url"], live["crm"]
    finance = finance_user(live)
    with crm.session(actor=finance) as s:  # the demo's partly paid instalment: its customer
        owing = s.receivables.list(status="partly_paid").items[0]
        expected = s.payments.preview(owing.customer_id, "5000")
        before = s.payments.count()
    assert expected.allocations  # the demo leaves this customer owing more than ¥5,000
    log_in(page, base, "liufang")
    page.click("#admin-navbar-collapse a.dropdown-toggle:has-text('财务')")
    page.click("#admin-navbar-collapse a.dropdown-item[href='/payments/']")
    page.wait_for_selector("#model-list")
    page.click("#create-link")
    page.wait_for_selector("#payment-form")
    page.select_option("#customer_id", value=owing.customer_id)
    page.fill("#amount", "5000")
    page.select_option("#method", value="wechat")
    page.fill("#reference", "微信 4200009999")
    assert page.is_checked("#mode-auto")  # 自动冲销 unless changed
    page.click("#preview-payment")
    page.wait_for_selector("#allocation-preview")
    rows = page.locator("#allocation-preview tbody tr.preview-row")
    assert rows.count() == len(expected.allocations)
    for row, planned in zip(rows.all(), expected.allocations, strict=True):
        cells = row.locator("td").all_inner_texts()
        assert cells[0] == planned.receivable.number
        assert cells[5] == crmkit.display.money(planned.amount, "zh")
        assert cells[6] == crmkit.display.money(planned.balance_after, "zh")
    assert "¥5,000.00" in page.inner_text("#summary-amount")
    assert "微信支付" in page.inner_text("#payment-summary")
    with crm.session(actor=finance) as s:
        assert s.payments.count() == before  # the preview wrote nothing
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "payment_preview.png"), full_page=True)
    page.click("#confirm-payment")
    page.wait_for_selector("#payment-allocations")
    assert "已登记" in page.inner_text(".alert-success")
    number = page.inner_text("#details .detail-number").strip()
    with crm.session(actor=finance) as s:
        payment = next(p for p in s.payments.list(limit=100).items if p.number == number)
        first = s.receivables.get(expected.allocations[0].receivable.id)
    assert payment.reference == "微信 4200009999" and payment.amount.amount == Decimal("5000.00")
    assert first.balance == expected.allocations[0].balance_after
    lines = page.locator("#payment-allocations tbody tr.allocation-row")
    assert lines.count() == len(expected.allocations)
    # 冲回 the first line: the browser asks first (confirm.js), then crmkit takes it back
    line = lines.first
    line.locator("input[name=reason]").fill("冲错客户")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    line.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    assert asked and "确定冲回" in asked[0]
    assert "冲销已冲回" in page.inner_text(".alert-success")
    assert "冲回：冲错客户" in page.inner_text("#payment-allocations")
    with crm.session(actor=finance) as s:
        assert s.receivables.get(first.id).balance == expected.allocations[0].receivable.balance
