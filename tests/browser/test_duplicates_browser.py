"""Duplicate review in a real Chromium: open a cluster, pick values, merge, see the result."""

from __future__ import annotations

from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_merge_a_duplicate_pair_choosing_a_field(page: Any, live: dict[str, Any]) -> None:
    crm: crmkit.CRM = live["crm"]
    with crm.session(actor=live["zhang"]) as s:  # entered twice by the same salesperson
        kept = s.customers.create(
            name="烟台蓝海船舶机械有限公司", mobile="13355556666", region="山东省/烟台市/芝罘区"
        )
        twin = s.customers.create(
            name="蓝海船舶机械(烟台)有限公司",
            mobile="13355556666",
            region="山东省/烟台市/芝罘区",
            email="info@lanhai.cn",
            source="转介绍",  # the demo's data dictionary stores it as 老客户介绍
        )
    base = live["url"]
    log_in(page, base)
    page.click("text=查重合并")
    cluster = page.locator(".duplicate-cluster", has_text="烟台蓝海船舶机械有限公司")
    cluster.locator(".compare-link").click()
    page.wait_for_selector("#compare")

    # choosing the record to keep selects its values (admin/static/duplicates.js) …
    page.check(f'input[name="winner"][value="{twin.id}"]')
    assert page.is_checked(f'input[name="choice-name"][value="{twin.id}"]')
    page.check(f'input[name="winner"][value="{kept.id}"]')
    assert page.is_checked(f'input[name="choice-name"][value="{kept.id}"]')
    # … and each differing field can still be taken from the other one
    page.check(f'input[name="choice-source"][value="{twin.id}"]')
    page.click("#preview-merge")
    page.wait_for_selector("#merge-preview")
    assert "老客户介绍" in page.inner_text("#merge-preview")
    assert page.is_checked(f'input[name="choice-source"][value="{twin.id}"]')  # kept

    page.click("#do-merge")
    page.wait_for_selector("#merge-history")
    assert "合并到“烟台蓝海船舶机械有限公司”" in page.inner_text(".alert-success")
    first_row = page.inner_text("#merge-history tbody tr")
    assert "烟台蓝海船舶机械有限公司" in first_row and "蓝海船舶机械（烟台）有限公司" in first_row
    with crm.session(actor=crmkit.SYSTEM) as s:
        winner = s.customers.get(kept.id)
        loser = s.customers.get(twin.id, include_deleted=True)
    assert winner.source == "老客户介绍" and winner.email is not None
    assert loser.merged_into == kept.id
