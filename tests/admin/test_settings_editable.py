"""设置: an admin changes crmkit's policies on the settings screen; crmkit checks and logs
each change."""

from __future__ import annotations

import re

import crmkit
from tests.admin.conftest import Browser


def _form(page: str) -> dict[str, str]:
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    return {"version": version.group(1)}


def test_an_admin_changes_a_policy_and_it_is_in_force_and_logged(
    as_admin: Browser, crm: crmkit.CRM
) -> None:
    page = as_admin.text("/settings/")
    assert "回收站保留天数" in page and "时区" in page
    form = {**_form(page), "recycle_retention_days": "7", "timezone": "Asia/Shanghai"}
    form.update({"lockout_threshold": "10", "admin_lock_minutes": "15", "captcha_after": "3"})
    form.update({"password_min_length": "10", "max_page_size": "500"})
    response = as_admin.post("/settings/", form)
    assert response.status_code == 302
    assert crm.settings.recycle_retention_days == 7 and crm.settings.password_min_length == 10
    log = as_admin.text("/audit/?entity_type=settings")
    assert "回收站保留天数: 30 → 7" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", log))


def test_wrong_values_are_named_and_nothing_is_saved(as_admin: Browser, crm: crmkit.CRM) -> None:
    page = as_admin.text("/settings/")
    form = {**_form(page), "recycle_retention_days": "0", "timezone": "火星/奥林匹斯"}
    shown = as_admin.post("/settings/", form).get_data(as_text=True)
    assert "必须在 1 到 3650 之间" in shown and "不是有效的值" in shown
    assert crm.settings.recycle_retention_days == 30 and crm.settings.timezone == "Asia/Shanghai"


def test_a_salesperson_cannot_open_the_settings(as_zhang: Browser, crm: crmkit.CRM) -> None:
    assert as_zhang.get("/settings/").status_code in (302, 403)
    assert as_zhang.post("/settings/", {"max_page_size": "10"}).status_code in (302, 403)
    assert crm.settings.max_page_size == 500
