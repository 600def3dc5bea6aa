"""The operation log screen reads like the rest of the app: records by name, field labels,
values as the screens show them, and a search by customer (issue 16)."""

from __future__ import annotations

import re

import crmkit
from tests.admin.conftest import Browser


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_log_names_records_and_shows_labels_not_keys(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    with crm.session(actor=users["admin"]) as s:
        c = s.customers.create(name="青岛金智电子科技有限公司", region="山东省/青岛市/市南区")
        s.customers.update(c.id, region="山东省/青岛市/崂山区", tags=["VIP", "重点"])
    log = _text(as_admin.text("/audit/"))
    assert "青岛金智电子科技有限公司" in log
    assert "地区: 山东省/青岛市/市南区 → 山东省/青岛市/崂山区" in log
    assert "标签: ∅ → VIP、重点" in log
    for raw in ("370202", "owner_id", "surname_letter", '["VIP"', c.id[:8], "false"):
        assert raw not in log, raw


def test_the_log_is_searched_by_customer(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    with crm.session(actor=users["admin"]) as s:
        s.customers.create(name="青岛金智电子科技有限公司")
        s.customers.create(name="上海四通贸易有限公司")
    found = _text(as_admin.text("/audit/?record=上海四通"))
    assert "上海四通贸易有限公司" in found and "青岛金智电子科技有限公司" not in found
