"""Deleting in a real Chromium: the question names the record, "cancel" keeps it, and the
salesperson brings it back from their own recycle bin."""

from __future__ import annotations

from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def is_live(live: dict[str, Any], customer_id: str) -> bool:
    crm: crmkit.CRM = live["crm"]
    with crm.session(actor=live["zhang"]) as s:
        return s.customers.get(customer_id, include_deleted=True).deleted_at is None


def test_a_delete_asks_naming_the_customer_and_the_salesperson_restores_it(
    page: Any, live: dict[str, Any]
) -> None:
    base = live["url"]
    log_in(page, base, live["zhang"].login)
    page.goto(f"{base}/customers/")
    row = page.locator("#model-list tbody tr").first
    customer_id = row.locator("form.delete-form input[name=id]").get_attribute("value")
    name = row.locator("td").nth(1).inner_text().strip()  # the first column: the name
    asked: list[str] = []

    def cancel(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", cancel)
    row.locator("form.delete-form button").click()
    assert asked == [f"确定将“{name}”移到回收站吗？"]
    assert is_live(live, customer_id)  # cancelled: nothing was sent

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.locator("form.delete-form button").click()
    assert not is_live(live, customer_id)

    page.click("#admin-navbar-collapse a:has-text('回收站')")  # in a salesperson's menu
    binned = page.locator("#recycle-bin tr", has_text=name)
    with page.expect_navigation():
        binned.locator("button").click()
    assert is_live(live, customer_id)
    assert page.locator("#recycle-bin tr", has_text=name).count() == 0
