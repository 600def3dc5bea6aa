"""The product catalogue in a real Chromium: from the menu to a new product in the list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_create_a_product_and_see_it_listed_with_its_price_in_yuan(
    page: Any, live: dict[str, Any]
) -> None:
    base = live["url"]
    log_in(page, base)
    page.click("#admin-navbar-collapse a.dropdown-toggle:has-text('产品')")
    page.click("#admin-navbar-collapse a.dropdown-item[href='/products/']")
    page.wait_for_selector("#model-list")
    page.click("#create-link")
    page.fill("#code", "BT-2599")
    page.fill("#name", "指纹密码锁（浏览器测试）")
    page.fill("#specification", "半导体指纹 C级锁芯")
    page.fill("#unit", "套")
    page.select_option("#category_id", label="门锁 / 智能门锁")
    page.fill("#price", "2599")
    page.fill("#cost", "1650.5")
    page.fill("#tax_rate", "13%")
    page.click("input[type=submit]")
    page.wait_for_selector("#model-list")
    row = page.locator("#model-list tbody tr", has_text="BT-2599")
    cells = row.locator("td").all_inner_texts()
    assert "¥2,599.00" in cells and "¥1,650.50" in cells and "¥948.50" in cells
    assert "13%" in cells and "门锁 / 智能门锁" in cells
