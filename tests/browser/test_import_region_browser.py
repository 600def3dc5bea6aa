"""Importing a GBK CSV with 省份 / 城市 / 区县 columns in a real Chromium: the region arrives
whole on the customer (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

NAME = "鲲鹏翱翔区划测试有限公司"


def test_import_a_gbk_csv_with_province_city_and_district_columns_keeps_the_whole_region(
    page: Any, live: dict[str, Any], tmp_path: Path
) -> None:
    source = tmp_path / "客户-省市区.csv"
    source.write_bytes(
        f"公司名称,省份,城市,区县,手机\r\n{NAME},山东省,青岛市,市南区,13912345678\r\n".encode("gbk")
    )
    base = live["url"]
    log_in(page, base)
    page.goto(f"{base}/imports/")
    page.set_input_files("#file", str(source))
    page.click("#upload-submit")
    page.wait_for_selector("#import-mapping")
    # The three columns are recognised as the region's parts, and nothing is left out.
    for position, field in ((1, "province"), (2, "city"), (3, "district")):
        assert page.input_value(f"select[name=map-{position}]") == field
    assert page.locator("#mapping-warnings").count() == 0
    page.click("#preview-submit")
    page.wait_for_selector("#import-rows")
    row = page.locator("#import-rows tbody tr[data-row='2']")
    assert row.locator(".import-outcome").inner_text() == "将创建"
    assert row.locator(".import-customer").inner_text() == NAME
    page.click("#run-import")
    page.wait_for_selector("text=导入完成")
    created = page.locator("#import-rows tbody tr[data-row='2']")
    assert created.locator(".import-outcome").inner_text() == "已创建"
    created.locator(".import-customer a").click()  # the customer, by name
    page.wait_for_selector(f"text={NAME}")
    assert "山东省/青岛市/市南区" in page.inner_text("body")
    # The operation log names the import's records, not their ids.
    page.goto(f"{base}/audit/?record={NAME}")
    log = page.inner_text("#audit-log")
    assert NAME in log and "导入" in log and "山东省/青岛市/市南区" in log
