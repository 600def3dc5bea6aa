"""The customer form's 省/市/区县 picker: the JSON levels it reads, and the script on the form."""

from __future__ import annotations

import json
import re
from typing import Any

import crmkit
from tests.admin.conftest import Browser, make_customer


def levels(browser: Browser, query: str = "") -> tuple[int, Any, Any]:
    response = browser.get(f"/customers/regions{query}")
    return response.status_code, json.loads(response.get_data(as_text=True)), response.headers


def test_without_a_code_the_picker_gets_the_provinces_cached_by_the_browser(
    as_zhang: Browser,
) -> None:
    status, provinces, headers = levels(as_zhang)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert provinces[0] == {"code": "110000", "name": "北京市"}
    assert {"code": "370000", "name": "山东省"} in provinces
    assert [p["code"] for p in provinces] == sorted(p["code"] for p in provinces)
    cache = headers["Cache-Control"]
    assert "private" in cache and "max-age=86400" in cache and "no-store" not in cache


def test_a_city_gives_its_districts_and_a_municipality_its_districts_at_once(
    as_zhang: Browser,
) -> None:
    status, qingdao, _ = levels(as_zhang, "?code=370200")
    assert status == 200
    assert qingdao[0] == {"code": "370202", "name": "市南区"}
    assert {"code": "370212", "name": "崂山区"} in qingdao
    _, shandong, _ = levels(as_zhang, "?code=370000")
    assert {"code": "370200", "name": "青岛市"} in shandong
    _, beijing, _ = levels(as_zhang, "?code=110000")
    assert beijing[0] == {"code": "110101", "name": "东城区"}
    assert levels(as_zhang, "?code=370202")[:2] == (200, [])  # a district: nothing below


def test_an_unknown_code_is_not_found(as_zhang: Browser) -> None:
    for query in ("?code=999999", "?code=abc", "?code=" + "3" * 500):
        status, body, headers = levels(as_zhang, query)
        assert status == 404, query
        assert "行政区划" in body["error"]
        assert headers["Cache-Control"] == "no-store"


def test_the_levels_are_for_logged_in_users_only(browser: Browser, users: Any) -> None:
    response = browser.get("/customers/regions")
    assert response.status_code == 302 and "/login" in response.location


def test_the_create_and_edit_forms_load_the_picker_and_keep_the_region_field(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"], region="山东省/青岛市/市南区")
    for path in ("/customers/new/", f"/customers/edit/?id={customer.id}"):
        response = as_zhang.get(path)
        page = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        assert nonce is not None
        script = re.search(r'<script nonce="([^"]+)" src="/assets/region.js"([^>]*)>', page)
        assert script is not None, path
        assert script.group(1) == nonce.group(1)
        assert 'data-url="/customers/regions"' in script.group(2)
        assert 'data-province="省"' in script.group(2) and 'data-district="区县"' in script.group(2)
        assert re.search(r'<input class="form-control" id="region" name="region" type="text"', page)
    edit = as_zhang.text(f"/customers/edit/?id={customer.id}")
    assert 'value="山东省/青岛市/市南区"' in edit  # what region.js chooses the three levels from
