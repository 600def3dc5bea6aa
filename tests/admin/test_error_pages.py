"""Error pages (400, 403, 404, 405, 429, 500) in the panel's frame and the session's
language, never Werkzeug's English defaults."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask, abort
from werkzeug.exceptions import TooManyRequests

import crmkit
from tests.admin.conftest import PASSWORDS, Browser, make_customer

# Werkzeug's own texts (titles and descriptions) that must not reach a page.
WERKZEUG = (
    "Bad Request",
    "Forbidden",
    "Not Found",
    "Method Not Allowed",
    "Too Many Requests",
    "Internal Server Error",
    "The requested URL",
    "You don't have the permission",
    "The CSRF token",
    "The server encountered",
)
# Three English words in a row: a sentence (the brand "crmkit" and the "English" switch are
# single words).
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,.'’]+[A-Za-z]{2,}){2,}")


def visible_text(html: str) -> str:
    """What a person reads on the page: no scripts, styles, tags or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def error_page(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.location)
    assert response.mimetype == "text/html"
    page: str = response.get_data(as_text=True)
    assert f'id="error-page" data-status="{status}"' in page
    assert 'class="navbar' in page  # the admin's frame, not a bare page
    return page


def assert_chinese_only(page: str) -> None:
    text = visible_text(page)
    assert not [w for w in WERKZEUG if w in page]
    assert not ENGLISH_SENTENCE.findall(text), ENGLISH_SENTENCE.findall(text)


def log_in(app: Flask, user: crmkit.User, password: str, *, lang: str = "zh") -> Browser:
    browser = Browser(app.test_client())
    if lang == "en":
        browser.open("/language", method="POST", data={"lang": "en", "csrf_token": browser.token()})
    assert browser.login(user.login, password).status_code == 302
    return browser


def test_a_forbidden_screen_is_a_chinese_403_page_in_the_panel(
    as_zhang: Browser,
) -> None:
    page = error_page(as_zhang.get("/users/"), 403)
    assert "无权访问" in page and "您的角色无权打开此页面" in page
    assert 'id="current-user"' in page  # logged in: the user's bar stays
    assert "返回首页" in page
    assert_chinese_only(page)


def test_an_unknown_record_id_is_a_chinese_404_page(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    for path in ("/customers/details/?id=no-such-id", "/customers/edit/?id=no-such-id"):
        page = error_page(as_admin.get(path), 404)
        assert "未找到" in page and "此页面或记录不存在" in page
        assert_chinese_only(page)


def test_another_salespersons_customer_is_the_same_404_page(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    theirs = make_customer(crm, users["li"])
    page = error_page(as_zhang.get(f"/customers/details/?id={theirs.id}"), 404)
    assert theirs.name not in page and "未找到" in page


def test_an_unknown_address_is_a_404_page_even_before_logging_in(browser: Browser) -> None:
    page = error_page(browser.get("/no-such-page"), 404)
    assert "未找到" in page
    assert 'href="/login"' in page  # the way on: log in
    assert_chinese_only(page)


def test_the_wrong_method_is_a_405_page_that_keeps_the_allow_header(as_admin: Browser) -> None:
    response = as_admin.get("/customers/delete/")
    page = error_page(response, 405)
    assert "POST" in response.headers["Allow"]
    assert "不支持此操作" in page
    assert_chinese_only(page)


def test_a_post_without_its_csrf_token_is_a_400_page_saying_what_to_do(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    response = as_admin.open("/customers/delete/", method="POST", data={"id": customer.id})
    page = error_page(response, 400)
    assert "请求无效" in page and "表单已过期" in page
    assert_chinese_only(page)


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """The app with two routes that fail (added before its first request): a 429 with
    ``Retry-After`` and an unexpected exception, handled as in production (not re-raised)."""

    def too_many() -> Any:
        raise TooManyRequests(retry_after=30)

    def broken() -> Any:
        raise RuntimeError("a secret detail of the failure")

    app.add_url_rule("/_test/too-many", "test_too_many", too_many)
    app.add_url_rule("/_test/broken", "test_broken", broken)
    app.add_url_rule("/_test/abort-500", "test_abort", lambda: abort(500))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_too_many_requests_is_a_429_page_that_keeps_retry_after(
    failing_app: Flask, users: dict[str, crmkit.User]
) -> None:
    b = log_in(failing_app, users["admin"], PASSWORDS["admin"])
    response = b.get("/_test/too-many")
    page = error_page(response, 429)
    assert response.headers["Retry-After"] == "30"
    assert "请求过于频繁" in page
    assert_chinese_only(page)


def test_an_unexpected_failure_is_a_500_page_without_its_details(
    failing_app: Flask, users: dict[str, crmkit.User]
) -> None:
    b = log_in(failing_app, users["admin"], PASSWORDS["admin"])
    for path in ("/_test/broken", "/_test/abort-500"):
        page = error_page(b.get(path), 500)
        assert "系统出错了" in page
        assert "secret detail" not in page and "Traceback" not in page
        assert_chinese_only(page)


def test_in_english_the_error_pages_speak_english(
    failing_app: Flask, users: dict[str, crmkit.User]
) -> None:
    b = log_in(failing_app, users["zhang"], PASSWORDS["zhang"], lang="en")
    expected = {
        "/users/": (403, "No access"),
        "/customers/details/?id=no-such-id": (404, "Not found"),
        "/customers/delete/": (405, "Not possible here"),
        "/_test/too-many": (429, "Too many requests"),
        "/_test/broken": (500, "Something went wrong"),
    }
    for path, (status, title) in expected.items():
        page = error_page(b.get(path), status)
        assert title in page, path
        assert "Back to the dashboard" in page
        message = page[
            page.index('id="error-page"') : page.index("</div>", page.index('id="error-page"'))
        ]
        assert not re.search(r"[\u4e00-\u9fff]", visible_text(message)), path
        assert "Customers" in page  # the menu too (简体中文 is only the switch back)


def test_a_request_for_json_gets_the_error_as_json(as_admin: Browser) -> None:
    response = as_admin.get(
        "/customers/details/?id=no-such-id", headers={"Accept": "application/json"}
    )
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert json.loads(response.get_data(as_text=True))["error"] == "未找到"
