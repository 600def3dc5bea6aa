"""A live admin panel on 127.0.0.1 and one headless Chromium (Debian's) for the session.

Browser tests skip with the reason when Chromium or Playwright is missing, and fail instead
when ``CRMKIT_REQUIRE_BROWSER=1`` (CI), as PostgreSQL tests do with ``CRMKIT_REQUIRE_PG``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import crmkit
from admin import create_app
from admin.demo import ADMIN_PASSWORD, STAFF_PASSWORD, seed
from crmkit.testing import open_test_crm

CHROMIUM = os.environ.get("CRMKIT_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("CRMKIT_REQUIRE_BROWSER") == "1"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORDS = {"admin": ADMIN_PASSWORD}  # everyone else: STAFF_PASSWORD


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"CRMKIT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One Chromium for every browser test of this worker."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
        _unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _closing(app: Any) -> Any:
    """The app with each response closed as soon as it is sent, or dropped.

    werkzeug's development server calls a response's ``close()`` only after draining the
    request socket, and a browser that drops the connection (a page left while its scripts
    load) makes that read raise first: the static file stays open, and its ResourceWarning
    (an error under ``filterwarnings = error``) failed whichever test came next.
    """

    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        body = app(environ, start_response)

        def sent() -> Iterator[bytes]:
            try:
                yield from body
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

        return sent()

    return wrapped


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The admin panel served by werkzeug in a thread, with an admin and a salesperson."""
    from werkzeug.serving import make_server

    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder}/crm.db"
    seed(url, customers=40)  # the demo's data, through crmkit's services
    app = create_app(
        {
            "CRMKIT_URL": url,
            "CRMKIT_OPEN": open_test_crm,
            "ADMIN_DATA_DIR": str(folder / "data"),
            "SESSION_COOKIE_SECURE": False,
        }
    )
    crm: crmkit.CRM = app.extensions["crmkit_admin"].crm
    with crm.session(actor=crmkit.SYSTEM) as s:
        zhang = s.users.get_by_login("zhangsan")
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "crm": crm, "zhang": zhang}
    finally:
        server.shutdown()
        thread.join()
        app.extensions["crmkit_admin"].close()


@pytest.fixture
def page(chromium: Any, live: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser context (own cookies) whose console errors fail the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


def log_in(page: Any, base: str, login: str = "admin") -> None:
    page.goto(f"{base}/")
    page.fill("#login", login)
    page.fill("#password", PASSWORDS.get(login, STAFF_PASSWORD))
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
