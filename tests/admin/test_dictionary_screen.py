"""数据字典 in the admin: admins keep the lists; the customer form offers their choices."""

from __future__ import annotations

import re

from flask import Flask

import crmkit
from tests.admin.conftest import PASSWORDS, Browser


def log_in(app: Flask, user: crmkit.User, password: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.login, password).status_code == 302
    return browser


def test_an_admin_adds_choices_and_the_customer_form_offers_them(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    as_admin = log_in(app, users["admin"], PASSWORDS["admin"])
    as_zhang = log_in(app, users["zhang"], PASSWORDS["zhang"])
    form = as_admin.text("/dictionary/new/")
    assert "来源" in form and "行业" in form  # the lists by their names
    for value, aliases in (("网络推广", "网络、网推"), ("展会", "")):
        response = as_admin.post(
            "/dictionary/new/",
            {"list": "source", "value": value, "aliases": aliases, "sort": "0", "active": "y"},
        )
        assert response.status_code == 302
    listed = as_admin.text("/dictionary/")
    assert "网络推广" in listed and "网络、网推" in listed
    page = as_zhang.text("/customers/new/")
    source = re.search(r'<select[^>]*name="source".*?</select>', page, re.S)
    assert source is not None and "网络推广" in source.group(0) and "展会" in source.group(0)
    assert re.search(r'<input[^>]*name="industry"', page)  # an open list stays free text
    posted = as_zhang.post(
        "/customers/new/",
        {
            "kind": "company",
            "name": "青岛金智电子科技有限公司",
            "category": "potential",
            "channel_type": "terminal",
            "settlement": "cash",
            "owner_id": users["zhang"].id,
            "source": "电话",
        },
    ).get_data(as_text=True)
    assert "不在可选项中" in posted
    with crm.session(actor=users["admin"]) as s:
        assert s.customers.count() == 0


def test_the_dictionary_screen_is_for_those_who_keep_it(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    with crm.session(actor=users["admin"]) as s:
        s.dictionary.create(list="source", value="展会")
    assert as_zhang.get("/dictionary/").status_code in (302, 403)
    refused = as_zhang.post("/dictionary/new/", {"list": "source", "value": "电话"})
    assert refused.status_code in (302, 403)
    with crm.session(actor=users["zhang"]) as s:  # the choices themselves: everyone's
        assert s.dictionary.choices("source") == ["展会"]
