"""The list's count: in the page when it is bounded by the cap, else in its own request."""

from __future__ import annotations

import html
import json
import re

import crmkit
from tests.admin.conftest import Browser

COUNT_URL = re.compile(r'data-count-url="([^"]+)"')


def _customers(
    crm: crmkit.CRM, owner: crmkit.User, n: int, city: str = "青岛", **fields: str
) -> None:
    with crm.session(actor=owner) as s:
        for i in range(n):
            s.customers.create(name=f"{city}第{i}电子有限公司", **fields)


def test_unfiltered_list_of_an_admin_counts_in_the_page(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    _customers(crm, users["zhang"], 55)
    page = as_admin.text("/customers/")
    assert re.search(r'id="list-count">55<', page)
    assert "data-count-url" not in page and "list_count.js" not in page


def test_a_filtered_list_gets_its_count_from_the_count_url(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    _customers(crm, users["zhang"], 55, source="展会")
    _customers(crm, users["zhang"], 3, city="上海", source="网络")
    page = as_admin.text("/customers/?source=展会")
    found = COUNT_URL.search(page)
    assert found and "list_count.js" in page
    url = html.unescape(found.group(1))
    assert json.loads(as_admin.text(url)) == {"text": "55"}
    assert re.search(r'id="list-count">55<', as_admin.text("/customers/?source=展会&count=1"))
    # A filtered list that fits on one page is counted by the page itself.
    assert re.search(r'id="list-count">3<', as_admin.text("/customers/?source=网络"))


def test_a_salespersons_count_is_in_scope_and_deferred(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    _customers(crm, users["zhang"], 51)
    _customers(crm, users["li"], 7, city="上海")
    found = COUNT_URL.search(as_zhang.text("/customers/"))
    assert found
    assert json.loads(as_zhang.text(html.unescape(found.group(1)))) == {"text": "51"}


def test_the_count_url_reports_nothing_for_a_bad_filter(as_admin: Browser) -> None:
    assert json.loads(as_admin.text("/customers/count/?created_from=never")) == {"text": ""}
