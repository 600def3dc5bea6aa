"""The live similar-customer panel in a real Chromium: type a name, see who works it."""

from __future__ import annotations

from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def someone_elses_company(live: dict[str, Any]) -> tuple[crmkit.Customer, str]:
    """A demo company 张三 does not work, and its owner's name."""
    crm: crmkit.CRM = live["crm"]
    zhang: crmkit.User = live["zhang"]
    with crm.session(actor=crmkit.SYSTEM) as s:
        for c in s.customers.list(kind="company", limit=200).items:
            if c.owner_id and c.owner_id != zhang.id and zhang.id not in c.co_owner_ids:
                return c, s.users.get(c.owner_id).name
    raise AssertionError("the demo data has no company owned by someone else")


def test_typing_a_name_lists_the_similar_customer_with_its_owner(
    page: Any, live: dict[str, Any]
) -> None:
    customer, owner = someone_elses_company(live)
    log_in(page, live["url"], live["zhang"].login)
    page.goto(f"{live['url']}/customers/new/")
    assert page.locator("#similar-panel").is_hidden()
    page.type("#name", customer.name[:-2], delay=10)  # as typed, without the last characters
    row = page.locator("#similar-rows tr.similar-match", has_text=customer.name).first
    row.wait_for(state="visible", timeout=5000)
    assert row.locator(".similar-owner").inner_text() == owner
    assert row.locator(".similar-name a").count() == 0  # not 张三's: no link to open it
    page.fill("#name", "")
    page.locator("#similar-panel").wait_for(state="hidden", timeout=5000)
