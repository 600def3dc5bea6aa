"""The customer form's 省 → 市 → 区县 selects in a real Chromium (issue 16): pick, save, see
the whole region on the customer's page, and find it chosen again on the edit form."""

from __future__ import annotations

from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

NAME = "青岛鲲鹏区划选择测试有限公司"


def test_pick_shandong_qingdao_shinan_in_the_selects_and_the_customer_keeps_that_region(
    page: Any, live: dict[str, Any]
) -> None:
    base = live["url"]
    log_in(page, base, live["zhang"].login)
    page.goto(f"{base}/customers/new/")
    page.locator("#region-province option", has_text="山东省").wait_for(state="attached")
    assert page.locator("#region").is_hidden()  # the selects stand in for the text input
    page.fill("#name", NAME)
    page.select_option("#region-province", label="山东省")  # waits for each level's options
    page.select_option("#region-city", label="青岛市")
    page.select_option("#region-district", label="市南区")
    assert page.input_value("#region") == "山东省/青岛市/市南区"  # the field the form sends
    page.click("input[type=submit]")
    page.wait_for_selector("#model-list")

    crm: crmkit.CRM = live["crm"]
    with crm.session(actor=live["zhang"]) as s:
        (customer,) = [c for c in s.customers.list(q=NAME, limit=5).items if c.name == NAME]
    page.goto(f"{base}/customers/details/?id={customer.id}")
    assert page.inner_text("#details .detail-region") == "山东省/青岛市/市南区"

    page.goto(f"{base}/customers/edit/?id={customer.id}")  # the saved region, chosen again
    district = page.locator("#region-district option:checked")
    district.filter(has_text="市南区").wait_for(state="attached")
    for select, name in (("province", "山东省"), ("city", "青岛市"), ("district", "市南区")):
        assert page.locator(f"#region-{select} option:checked").inner_text() == name
    assert page.input_value("#region") == "山东省/青岛市/市南区"
