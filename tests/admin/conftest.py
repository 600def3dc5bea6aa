"""The admin panel on a fresh SQLite store, a manual clock, and a logged-out test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crmkit
from admin import create_app
from crmkit.testing import ManualClock, open_test_crm
from tests.schemas import sqlite_copy

PASSWORDS = {
    "admin": "admin-pass-1",
    "boss": "manager-pass",
    "zhang": "sales-pass",
    "li": "sales-pass",
}
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@contextmanager
def admin_app(
    tmp_path: Path, clock: ManualClock, *, crm_options: dict[str, Any] | None = None, **config: Any
) -> Iterator[Flask]:
    """The admin on a fresh SQLite store in ``tmp_path`` with the test CRM on ``clock``
    (``crm_options``: more ``open_test_crm`` keywords), ``config`` added; closed after."""
    options = crm_options or {}
    app = create_app(
        {
            "TESTING": True,
            "CRMKIT_URL": sqlite_copy(tmp_path / "crm.db"),
            "CRMKIT_OPEN": lambda url: open_test_crm(url, clock=clock, **options),
            "ADMIN_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret",
            "SESSION_COOKIE_SECURE": False,  # the test client speaks plain http
            **config,
        }
    )
    try:
        yield app
    finally:
        app.extensions["crmkit_admin"].close()


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[Flask]:
    with admin_app(tmp_path, clock) as app:
        yield app


@pytest.fixture
def crm(app: Flask) -> crmkit.CRM:
    """The app's own CRM (for arranging data and checking what the screens did)."""
    found: crmkit.CRM = app.extensions["crmkit_admin"].crm
    return found


@pytest.fixture
def users(crm: crmkit.CRM) -> dict[str, crmkit.User]:
    """An admin, a manager with two salespeople."""
    admin = crm.bootstrap_admin(name="管理员", password=PASSWORDS["admin"], login="admin")
    with crm.session(actor=admin) as s:
        boss = s.users.create(name="王经理", role="manager", password=PASSWORDS["boss"])
        zhang = s.users.create(
            name="张三", role="sales", manager_id=boss.id, password=PASSWORDS["zhang"]
        )
        li = s.users.create(name="李小明", role="sales", manager_id=boss.id, password="sales-pass")
    return {"admin": admin, "boss": boss, "zhang": zhang, "li": li}


class Browser:
    """A test client that logs in and carries the CSRF token like a browser's forms do."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self, path: str = "/login") -> str:
        found = CSRF.search(self.get(path).get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, login: str, password: str) -> Any:
        form = {"login": login, "password": password, "csrf_token": self.token()}
        return self.open("/login", method="POST", data=form)

    @classmethod
    def signed_in(cls, app: Flask, user: crmkit.User, password: str) -> Browser:
        """A new browser on ``app``, logged in as ``user``."""
        browser = cls(app.test_client())
        assert browser.login(user.login, password).status_code == 302
        return browser

    def open(self, path: str, **kw: Any) -> Any:
        """A request whose body is read and whose file handles are closed at once."""
        response = self.client.open(path, **kw)
        response.get_data()
        response.close()
        # The test client spools a large body (a backup upload) to a temporary file that
        # it leaves open; the request is over, so close it here.
        body = response.request.environ.get("wsgi.input")
        if body is not None:
            body.close()
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.open(path, method="GET", **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        """POST with the session's CSRF token (taken from the dashboard)."""
        form = {"csrf_token": self.token("/"), **(data or {})}
        return self.open(path, method="POST", data=form, **kw)

    def text(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.location)
        return str(response.get_data(as_text=True))


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def as_admin(browser: Browser, users: dict[str, crmkit.User]) -> Browser:
    assert browser.login("admin", PASSWORDS["admin"]).status_code == 302
    return browser


@pytest.fixture
def as_zhang(browser: Browser, users: dict[str, crmkit.User]) -> Browser:
    assert browser.login(users["zhang"].login, PASSWORDS["zhang"]).status_code == 302
    return browser


def make_customer(crm: crmkit.CRM, owner: crmkit.User, **fields: Any) -> crmkit.Customer:
    fields.setdefault("name", "青岛金智电子科技有限公司")
    with crm.session(actor=owner) as s:
        customer: crmkit.Customer = s.customers.create(**fields)
    return customer
