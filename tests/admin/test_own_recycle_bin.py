"""A salesperson's own recycle bin: what was deleted in their scope, to see and restore;
someone else's stays out of sight, and purging stays with the admins."""

from __future__ import annotations

import re

import pytest
from flask import Flask

import crmkit
from tests.admin.conftest import PASSWORDS, Browser, make_customer


def log_in(app: Flask, user: crmkit.User, password: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.login, password).status_code == 302
    return browser


def tabs(page: str) -> list[str]:
    start = page.index('class="nav nav-tabs"')
    return re.findall(
        r'class="nav-link[^"]*" href="[^"]*">([^<]+)</a>', page[start : page.index("</ul>", start)]
    )


def live_names(crm: crmkit.CRM, user: crmkit.User) -> list[str]:
    with crm.session(actor=user) as s:
        return [c.name for c in s.customers.list().items]


def test_a_salesperson_restores_a_customer_they_deleted(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    zhang = log_in(app, users["zhang"], PASSWORDS["zhang"])
    mine = make_customer(crm, users["zhang"])
    with crm.session(actor=users["zhang"]) as s:
        s.contacts.create(customer_id=mine.id, name="李四")
    assert "回收站" in zhang.text("/")  # in their menu
    zhang.post("/customers/delete/", {"id": mine.id, "url": "/customers/"})
    assert live_names(crm, users["zhang"]) == []

    page = zhang.text("/recycle/")  # their bin opens on customers
    assert mine.name in page
    # not users, not products: theirs to restore (and their activities and tasks)
    assert tabs(page) == ["客户", "联系人", "联系记录", "待办"]
    zhang.post("/recycle/restore/", {"kind": "customers", "id": mine.id})
    assert live_names(crm, users["zhang"]) == [mine.name]
    with crm.session(actor=users["zhang"]) as s:  # its contacts came back with it
        assert [c.name for c in s.contacts.list(customer_id=mine.id).items] == ["李四"]


def test_a_salesperson_restores_a_contact_they_deleted(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    zhang = log_in(app, users["zhang"], PASSWORDS["zhang"])
    mine = make_customer(crm, users["zhang"])
    with crm.session(actor=users["zhang"]) as s:
        contact = s.contacts.create(customer_id=mine.id, name="王五")
    zhang.post("/contacts/delete/", {"id": contact.id, "url": "/contacts/"})
    page = zhang.text("/recycle/?kind=contacts")
    assert "王五" in page and mine.name in page  # the contact and whose it was
    zhang.post("/recycle/restore/", {"kind": "contacts", "id": contact.id})
    with crm.session(actor=users["zhang"]) as s:
        assert s.contacts.get(contact.id).deleted_at is None


def test_another_salespersons_deleted_customer_stays_out_of_sight_and_out_of_reach(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    theirs = make_customer(crm, users["li"], name="上海钱多多贸易有限公司")
    with crm.session(actor=users["li"]) as s:
        s.customers.delete(theirs.id)
    zhang = log_in(app, users["zhang"], PASSWORDS["zhang"])
    assert theirs.name not in zhang.text("/recycle/?kind=customers")
    zhang.post("/recycle/restore/", {"kind": "customers", "id": theirs.id})
    with crm.session(actor=users["admin"]) as s:
        assert s.customers.get(theirs.id, include_deleted=True).deleted_at is not None
    boss = log_in(app, users["boss"], PASSWORDS["boss"])  # their manager sees the team's
    assert theirs.name in boss.text("/recycle/?kind=customers")


def test_the_users_bin_and_purging_stay_with_the_admins(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    zhang = log_in(app, users["zhang"], PASSWORDS["zhang"])
    assert zhang.get("/recycle/?kind=users").status_code == 404
    assert zhang.get("/recycle/?kind=products").status_code == 404  # may not delete those
    with crm.session(actor=users["zhang"]) as s, pytest.raises(crmkit.PermissionDenied):
        s.customers.purge()


def test_someone_who_may_not_delete_customers_has_no_customer_bin(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    """Finance deletes nothing but its own tasks (``task.delete``: everyone): its bin has
    the tasks only."""
    with crm.session(actor=users["admin"]) as s:
        s.users.create(name="刘芳", role="finance", password="finance-pass")
    finance = Browser(app.test_client())
    assert finance.login("liufang", "finance-pass").status_code == 302
    assert finance.get("/recycle/?kind=customers").status_code == 404
    assert finance.get("/recycle/?kind=contacts").status_code == 404
    assert finance.get("/recycle/?kind=activities").status_code == 404
    page = finance.text("/recycle/")
    assert "待办" in page and "?kind=customers" not in page and "?kind=tasks" in page
