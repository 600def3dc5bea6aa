"""Similar-customer warnings, blocked saves, co-ownership requests and the roles screen."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from flask import Flask

import crmkit
from tests.admin.conftest import PASSWORDS, Browser, make_customer

HOSTILE = "<script>alert(1)</script>"
TWIN = "青岛金智电子科技有限公司"


def log_in(app: Flask, user: crmkit.User, key: str) -> Browser:
    """Another browser (its own cookies), logged in as ``user``."""
    browser = Browser(app.test_client())
    assert browser.login(user.login, PASSWORDS[key]).status_code == 302
    return browser


@pytest.fixture
def as_li(app: Flask, users: dict[str, crmkit.User]) -> Browser:
    return log_in(app, users["li"], "li")


@pytest.fixture
def as_boss(app: Flask, users: dict[str, crmkit.User]) -> Browser:
    return log_in(app, users["boss"], "boss")


@pytest.fixture
def twin(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> crmkit.Customer:
    """张三's customer, with fields no one else may read."""
    return make_customer(
        crm,
        users["zhang"],
        name=TWIN,
        mobile="138 0013 8000",
        email="boss@jinzhi.example",
        address="香港中路 8 号",
    )


def similar(browser: Browser, **args: str) -> tuple[str, list[dict[str, object]]]:
    response = browser.get("/customers/similar", query_string=args)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    return body, json.loads(body)["matches"]


def requests_of(crm: crmkit.CRM, user: crmkit.User) -> list[crmkit.CoOwnershipRequest]:
    with crm.session(actor=user) as s:
        return list(s.customers.co_ownership_requests(mine=True).items)


def ask(browser: Browser, customer: crmkit.Customer, note: str = "") -> None:
    response = browser.post(
        "/sharing/request/", {"customer_id": customer.id, "name": customer.name, "note": note}
    )
    assert response.status_code == 302


# -- live similar-customer warnings ----------------------------------------------------------


def test_similar_shows_another_salespersons_twin_with_its_owner_and_nothing_more(
    as_li: Browser, twin: crmkit.Customer
) -> None:
    body, matches = similar(as_li, name="青岛金智电子科技", kind="company")
    assert len(matches) == 1
    (match,) = matches
    assert match["name"] == TWIN and match["owner"] == "张三"
    assert isinstance(match["score"], float) and 0 < match["score"] <= 1
    assert match["reasons"] and match["visible"] is False
    assert set(match) == {"name", "owner", "score", "score_text", "reasons", "visible"}  # no id
    for secret in (twin.id, "13800138000", "138 0013 8000", "jinzhi", "香港中路"):
        assert secret not in body


def test_similar_gives_the_owner_a_link_and_leaves_out_the_customer_being_edited(
    as_zhang: Browser, twin: crmkit.Customer
) -> None:
    _body, (match,) = similar(as_zhang, name="青岛金智电子科技")
    assert match["visible"] is True and match["id"] == twin.id
    assert match["url"] == f"/customers/details/?id={twin.id}"
    assert similar(as_zhang, name=TWIN, exclude=twin.id)[1] == []


def test_similar_matches_on_a_phone_and_asks_nothing_of_empty_fields(
    as_li: Browser, twin: crmkit.Customer
) -> None:
    _body, (match,) = similar(as_li, mobile="13800138000")
    assert match["name"] == TWIN and match["reasons"] == ["电话相同"]
    assert similar(as_li, name="  ", kind="company")[1] == []


def test_similar_needs_a_login(browser: Browser, twin: crmkit.Customer) -> None:
    response = browser.get("/customers/similar?name=青岛金智")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_similar_json_escapes_html_in_a_customer_name(
    as_li: Browser, twin: crmkit.Customer, tmp_path: Path
) -> None:
    # crmkit refuses "<" in names; a name written by another door still must not turn
    # into markup (the live panel also sets it as text only).
    with sqlite3.connect(tmp_path / "crm.db") as db:
        db.execute("UPDATE customers SET name = ? WHERE id = ?", (HOSTILE + TWIN, twin.id))
    body, (match,) = similar(as_li, name=TWIN)
    assert match["name"] == HOSTILE + TWIN
    assert "<" not in body and ">" not in body and "\\u003cscript\\u003e" in body


def test_the_forms_load_the_live_panel_script_without_inline_code(
    as_zhang: Browser, twin: crmkit.Customer
) -> None:
    for path in ("/customers/new/", f"/customers/edit/?id={twin.id}"):
        page = as_zhang.text(path)
        assert 'src="/assets/similar.js"' in page and 'id="similar-panel"' in page
    assert f'data-exclude="{twin.id}"' in as_zhang.text(f"/customers/edit/?id={twin.id}")
    assert "similar.js" not in as_zhang.text("/customers/")
    script = as_zhang.get("/assets/similar.js")
    assert script.status_code == 200 and "innerHTML" not in script.get_data(as_text=True)


# -- a blocked save ----------------------------------------------------------------------


def test_a_blocked_save_shows_the_owner_and_a_co_ownership_button(
    as_li: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], twin: crmkit.Customer
) -> None:
    response = as_li.post(
        "/customers/new/",
        {
            "kind": "company",
            "name": TWIN,
            "category": "potential",
            "channel_type": "terminal",
            "settlement": "cash",
            "owner_id": users["li"].id,
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="duplicate-panel"' in page
    panel = page[page.index('id="duplicate-panel"') :]
    assert TWIN in panel and '<td class="duplicate-owner">张三</td>' in panel
    assert "申请共享" in panel and 'action="/sharing/request/"' in panel
    assert f'name="customer_id" value="{twin.id}"' in panel
    with crm.session(actor=users["admin"]) as s:
        assert [c.name for c in s.customers.list().items] == [TWIN]  # nothing written


# -- co-ownership requests -------------------------------------------------------------------


def test_request_then_the_manager_grants_and_the_requester_co_owns(
    as_li: Browser,
    as_boss: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    twin: crmkit.Customer,
) -> None:
    ask(as_li, twin, note="我跟进了三个月")
    mine = as_li.text("/sharing/")
    assert "已申请共享" in mine and TWIN in mine and "待审批" in mine and "撤回" in mine
    (req,) = requests_of(crm, users["li"])
    assert as_boss.text(f"/customers/details/?id={twin.id}").count('id="pending-requests"') == 1
    page = as_boss.text("/sharing/")
    deciding = page[page.index('id="to-decide"') : page.index('id="my-requests"')]
    assert "李小明" in deciding and "我跟进了三个月" in deciding and TWIN in deciding
    response = as_boss.post("/sharing/grant/", {"id": req.id, "note": "同意"})
    assert response.status_code == 302
    with crm.session(actor=users["li"]) as s:
        customer = s.customers.get(twin.id)  # now inside 李小明's scope
        (granted,) = s.customers.co_ownership_requests(mine=True).items
    assert users["li"].id in customer.co_owner_ids
    assert granted.status is crmkit.RequestStatus.GRANTED and granted.decision_note == "同意"
    assert "已同意" in as_li.text("/sharing/")


def test_the_manager_refuses_and_nothing_is_shared(
    as_li: Browser,
    as_boss: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    twin: crmkit.Customer,
) -> None:
    ask(as_li, twin)
    (req,) = requests_of(crm, users["li"])
    as_boss.post("/sharing/refuse/", {"id": req.id, "note": "客户不同意"})
    (refused,) = requests_of(crm, users["li"])
    assert refused.status is crmkit.RequestStatus.REFUSED
    with crm.session(actor=users["admin"]) as s:
        assert s.customers.get(twin.id).co_owner_ids == ()
    page = as_li.text("/sharing/")
    assert "已拒绝" in page and "客户不同意" in page
    # deciding again: crmkit says the request is no longer pending
    response = as_boss.post("/sharing/grant/", {"id": req.id})
    assert "已拒绝" in as_boss.text(response.location)
    assert requests_of(crm, users["li"])[0].status is crmkit.RequestStatus.REFUSED


def test_the_requester_withdraws_and_others_cannot(
    as_li: Browser,
    app: Flask,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    twin: crmkit.Customer,
) -> None:
    ask(as_li, twin)
    (req,) = requests_of(crm, users["li"])
    as_zhang = log_in(app, users["zhang"], "zhang")
    as_zhang.post("/sharing/withdraw/", {"id": req.id})  # not theirs: crmkit says not found
    assert 'class="alert alert-danger' in as_zhang.text("/sharing/")
    as_li.post("/sharing/grant/", {"id": req.id})  # a salesperson may not decide
    assert "alert-danger" in as_li.text("/sharing/")
    assert requests_of(crm, users["li"])[0].status is crmkit.RequestStatus.PENDING
    as_li.post("/sharing/withdraw/", {"id": req.id})
    assert requests_of(crm, users["li"])[0].status is crmkit.RequestStatus.WITHDRAWN
    assert "已撤回" in as_li.text("/sharing/")


def test_sharing_posts_without_csrf_are_refused_and_change_nothing(
    as_li: Browser,
    as_boss: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    twin: crmkit.Customer,
) -> None:
    refused = as_li.client.post("/sharing/request/", data={"customer_id": twin.id})
    assert refused.status_code == 400 and requests_of(crm, users["li"]) == []
    ask(as_li, twin)
    (req,) = requests_of(crm, users["li"])
    for path in ("/sharing/grant/", "/sharing/refuse/"):
        assert as_boss.client.post(path, data={"id": req.id}).status_code == 400
    assert as_li.client.post("/sharing/withdraw/", data={"id": req.id}).status_code == 400
    assert requests_of(crm, users["li"])[0].status is crmkit.RequestStatus.PENDING


def test_html_in_names_is_escaped_on_the_sharing_page(
    as_li: Browser,
    as_boss: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    twin: crmkit.Customer,
) -> None:
    as_li.post("/sharing/request/", {"customer_id": twin.id, "name": HOSTILE, "note": HOSTILE})
    for browser in (as_li, as_boss):
        page = browser.text("/sharing/")
        assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- roles ---------------------------------------------------------------------------------


def test_a_salesperson_cannot_see_the_roles_screen(as_zhang: Browser) -> None:
    assert as_zhang.get("/roles/").status_code == 403
    assert 'href="/roles/"' not in as_zhang.text("/")


def test_the_admin_sees_each_roles_permissions_scope_and_users(as_admin: Browser) -> None:
    page = as_admin.text("/roles/")
    sales = page[page.index('id="role-sales"') : page.index('id="role-finance"')]
    assert "销售员" in sales and "新建客户" in sales and "管理用户" not in sales
    assert "下属" in sales and '<td class="role-users">' in sales
    assert ">2<" in sales.split('class="role-users"')[1]  # 张三 and 李小明
    manager = page[page.index('id="role-manager"') : page.index('id="role-sales"')]
    assert "审批共享客户申请" in manager  # the label in crmkit's permission registry
    finance = page[page.index('id="role-finance"') : page.index('id="role-service"')]
    assert "全部客户" in finance and "查看客户" in finance and "新建客户" not in finance
    assert 'href="/roles/"' in as_admin.text("/")


def test_the_roles_screen_lists_what_the_crms_registry_grants(
    as_admin: Browser, crm: crmkit.CRM
) -> None:
    crm.permissions.define("visit.read", label_zh="查看拜访计划", roles=[crmkit.Role.SALES])
    crm.permissions.revoke(crmkit.Role.FINANCE, "customer.read")
    page = as_admin.text("/roles/")
    sales = page[page.index('id="role-sales"') : page.index('id="role-finance"')]
    finance = page[page.index('id="role-finance"') : page.index('id="role-service"')]
    assert "查看拜访计划" in sales
    assert "查看客户" not in finance
