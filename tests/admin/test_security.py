"""Login, sessions, CSRF, scope and escaping: the panel's security promises."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from flask import Flask

import crmkit
from crmkit.testing import ManualClock
from tests.admin.conftest import PASSWORDS, Browser, make_customer

ARG = re.compile(r"<[^>]+>")


def concrete_paths(app: Flask) -> list[tuple[str, set[str]]]:
    """Every route of the app with its placeholders filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        path = ARG.sub("x", rule.rule)
        out.append((path, set(rule.methods or ()) - {"HEAD", "OPTIONS"}))
    return out


def test_every_route_but_login_and_assets_redirects_to_the_login_page(
    app: Flask, browser: Browser, users: dict[str, crmkit.User]
) -> None:
    token = browser.token()  # a valid token, so that POSTs reach the login guard
    # The SMS providers' pushes are let in by their signature instead of a login
    # (test_sms_callbacks_endpoint: unsigned, wrongly signed or stale ones are refused).
    public = ("/login", "/language", "/assets/", "/static/", "/callbacks/sms/")
    checked = 0
    for path, methods in concrete_paths(app):
        if path.startswith(public):
            continue
        for method in methods:
            data = {"csrf_token": token} if method == "POST" else None
            response = browser.open(path, method=method, data=data)
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.location.startswith("/login"), (method, path, response.location)
            checked += 1
    assert checked > 20


def test_static_assets_and_the_login_page_need_no_session(browser: Browser) -> None:
    assert browser.get("/login").status_code == 200
    assert browser.get("/assets/crm.css").status_code == 200
    assert (
        browser.get("/static/admin/bootstrap/bootstrap4/css/bootstrap.min.css").status_code == 200
    )


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    victim = make_customer(crm, users["zhang"])
    created = as_admin.client.post(
        "/customers/new/", data={"kind": "company", "name": "上海华东建材有限公司"}
    )
    deleted = as_admin.client.post("/customers/delete/", data={"id": victim.id})
    logged_out = as_admin.client.post("/logout")
    assert {created.status_code, deleted.status_code, logged_out.status_code} == {400}
    with crm.session(actor=users["admin"]) as s:
        assert [c.name for c in s.customers.list().items] == [victim.name]
    assert as_admin.get("/").status_code == 200  # still logged in


def test_a_salesperson_opening_another_salespersons_customer_by_url_gets_404(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    theirs = make_customer(crm, users["li"], name="上海华东建材有限公司")
    for path in (f"/customers/details/?id={theirs.id}", f"/customers/edit/?id={theirs.id}"):
        assert as_zhang.get(path).status_code == 404
    response = as_zhang.post("/customers/delete/", {"id": theirs.id, "url": "/customers/"})
    assert response.status_code == 404
    assert "上海华东建材" not in as_zhang.text("/customers/")


def test_an_idle_session_expires_after_thirty_minutes(
    as_zhang: Browser, clock: ManualClock
) -> None:
    clock.advance(minutes=29)
    assert as_zhang.get("/").status_code == 200  # activity keeps the session alive
    clock.advance(minutes=29)
    assert as_zhang.get("/customers/").status_code == 200
    clock.advance(minutes=31)
    response = as_zhang.get("/customers/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert "会话已过期" in as_zhang.text("/login")
    assert as_zhang.get("/").status_code == 302  # and it stays ended


def test_login_starts_a_new_session_and_logout_ends_it_on_the_server(
    app: Flask, browser: Browser, users: dict[str, crmkit.User]
) -> None:
    before = browser.token()
    browser.login("admin", PASSWORDS["admin"])
    assert browser.token("/") != before  # a new CSRF token (and session) after login
    stolen = browser.client.get_cookie("crmkit_admin")
    assert stolen is not None
    browser.post("/logout")
    assert browser.get("/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("crmkit_admin", stolen.value)  # the old cookie no longer logs anyone in
    assert thief.get("/").status_code == 302


def test_session_cookie_is_httponly_samesite_and_secure_by_default(tmp_path: object) -> None:
    app = create_secure_app(tmp_path)
    try:
        response = app.test_client().get("/login", base_url="https://localhost")
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    finally:
        app.extensions["crmkit_admin"].close()


def create_secure_app(tmp_path: object) -> Flask:
    from admin import create_app
    from crmkit.testing import open_test_crm

    return create_app(
        {
            "CRMKIT_URL": f"sqlite:///{tmp_path}/c.db",
            "CRMKIT_OPEN": open_test_crm,
            "ADMIN_DATA_DIR": f"{tmp_path}/d",
        }
    )


def test_menus_follow_the_role(as_zhang: Browser) -> None:
    page = as_zhang.text("/")
    assert "客户" in page and "导入" in page
    assert "系统管理" not in page and "操作日志" not in page
    for path in ("/users/", "/audit/", "/backup/"):
        assert as_zhang.get(path).status_code == 403
    assert "回收站" in page  # their own recycle bin: tests/admin/test_own_recycle_bin.py


def test_admin_sees_the_system_menu(as_admin: Browser) -> None:
    page = as_admin.text("/")
    for label in ("系统管理", "用户", "回收站", "操作日志", "备份与恢复"):
        assert label in page


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exported_cells_starting_with_formula_characters_are_neutralised(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], fmt: str
) -> None:
    make_customer(crm, users["zhang"], source='=HYPERLINK("http://x")', remarks="+1+2")
    response = as_zhang.get(f"/customers/export/{fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        cells = [
            c for line in response.get_data(as_text=True).splitlines() for c in line.split(",")
        ]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
        cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any("HYPERLINK" in c for c in cells)
    assert not [c for c in cells if c.lstrip('"').startswith(("=", "+"))]


def test_exports_respect_the_salespersons_scope(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    make_customer(crm, users["zhang"])
    make_customer(crm, users["li"], name="上海华东建材有限公司")
    text = as_zhang.get("/customers/export/csv").get_data(as_text=True)
    assert "青岛金智电子科技有限公司" in text and "上海华东建材" not in text


HOSTILE = "<script>alert(1)</script>"


def test_html_in_customer_data_is_escaped_everywhere_it_appears(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(
        crm,
        users["admin"],
        name="Smith & Sons Trading",
        source=HOSTILE,
        remarks=HOSTILE,
        tags=[HOSTILE],
        address=HOSTILE,
    )
    with crm.session(actor=users["admin"]) as s:
        s.contacts.create(customer_id=customer.id, name="李四", title=HOSTILE)
        s.customers.update(customer.id, industry=HOSTILE)
    as_admin.post(
        "/customers/columns/",
        {"columns": ["name", "source", "tags", "remarks"], "url": "/customers/"},
    )
    pages = [
        "/",
        "/customers/",
        f"/customers/details/?id={customer.id}",
        f"/customers/edit/?id={customer.id}",
        "/contacts/",
        "/audit/",
    ]
    for path in pages:
        page = as_admin.text(path)
        assert HOSTILE not in page, path
        assert "Smith &amp; Sons Trading" in page or path in {"/contacts/", "/audit/"}, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in as_admin.text(
        f"/customers/details/?id={customer.id}"
    )


def test_html_in_a_rejected_name_is_escaped_in_the_error_message(as_admin: Browser) -> None:
    page = as_admin.post(
        "/customers/new/", {"kind": "company", "name": "<img src=x onerror=alert(1)>公司"}
    ).get_data(as_text=True)
    assert "<img src=x" not in page
    assert "名称" in page  # the name's error is shown
