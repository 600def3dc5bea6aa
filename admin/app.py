"""The app factory: the only place the admin panel is put together."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, g
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_wtf.csrf import CSRFProtect

import crmkit
from admin import auth, callbacks, errors, i18n, prefs
from admin.context import CRMHolder

HERE = Path(__file__).resolve().parent

DEFAULTS: dict[str, Any] = {
    "CRMKIT_URL": "sqlite:///crm.db",
    # (url) -> crmkit.CRM; tests pass crmkit.testing.open_test_crm with a manual clock
    "CRMKIT_OPEN": None,
    "ADMIN_IDLE_TIMEOUT": timedelta(minutes=30),
    "ADMIN_DATA_DIR": None,  # uploads in progress and preferences; a temp dir if unset
    "ADMIN_TITLE": "crmkit",
    "SESSION_COOKIE_NAME": "crmkit_admin",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,  # only plain-http local demos turn this off
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the login session
    "WTF_CSRF_SSL_STRICT": True,
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,  # uploads: spreadsheets and backups
    # The HMAC secret shared with the gateway that forwards the SMS providers' pushes to
    # /callbacks/sms/…; unset, that endpoint is off (admin.callbacks).
    "CRMKIT_SMS_CALLBACK_SECRET": None,
}

# Every asset is served by this app; scripts run only from its files or with the request's
# nonce. Flask-Admin's menus use href="javascript:void(0)": that one URL is allowed by hash.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'nonce-{nonce}' 'unsafe-hashes' "
    "'sha256-rRMdkshZyJlCmDX27XnL7g3zXaxv7ei6Sg+yt4R3svU='; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the admin panel on a crmkit store.

    Args:
        config: Flask settings plus ``CRMKIT_URL`` (the store to open, default
            ``sqlite:///crm.db``), ``CRMKIT_OPEN`` (a ``(url) -> crmkit.CRM`` callable,
            default ``crmkit.open``), ``ADMIN_IDLE_TIMEOUT`` (a ``timedelta``, default 30
            minutes), ``ADMIN_DATA_DIR`` (where uploads and preferences go),
            ``SECRET_KEY`` (random per process if unset: logins then end at restart) and
            ``CRMKIT_SMS_CALLBACK_SECRET`` (the SMS callbacks' HMAC secret; taken from the
            environment variable of that name unless given here; unset, they are off).

    Returns:
        The Flask app; its CRM is closed by ``app.extensions["crmkit_admin"].close()``.
    """
    app = Flask(
        __name__,
        static_folder=str(HERE / "static"),
        static_url_path="/assets",
        template_folder=str(HERE / "templates"),
    )
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    if callbacks.SECRET not in (config or {}):  # from the environment, unless given here
        app.config[callbacks.SECRET] = os.environ.get(callbacks.SECRET) or None
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    data_dir = Path(app.config["ADMIN_DATA_DIR"] or tempfile.mkdtemp(prefix="crmkit-admin-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    app.config["ADMIN_DATA_DIR"] = str(data_dir)

    opener = app.config["CRMKIT_OPEN"] or crmkit.open
    app.extensions["crmkit_admin"] = CRMHolder(app.config["CRMKIT_URL"], opener)

    csrf = CSRFProtect(app)
    i18n.init_app(app)  # before the login guard: its messages need the language
    auth.init_app(app, app.config["ADMIN_IDLE_TIMEOUT"])
    prefs.init_app(app, data_dir)
    callbacks.init_app(app, csrf)  # the SMS providers' pushes: signed, no login, no CSRF

    admin = Admin(
        app,
        name=app.config["ADMIN_TITLE"],
        url="/",
        index_view=_dashboard(),
        theme=Bootstrap4Theme(base_template="crm/base.html", fluid=True),
        csp_nonce_generator=_nonce,
    )
    _add_views(admin)
    errors.init_app(app, admin)  # 400 … 500 as the panel's own pages, in the user's language

    app.before_request(_new_nonce)
    app.after_request(_security_headers)
    return app


def _dashboard() -> Any:
    from flask_babel import lazy_gettext

    from admin.views.dashboard import DashboardView

    return DashboardView(name=lazy_gettext("Dashboard"), url="/", endpoint="admin")


def _add_views(admin: Admin) -> None:
    from admin.views import register

    register(admin)


def _new_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def _nonce() -> str:
    return str(g.get("csp_nonce", ""))


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=_nonce()))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # pages hold customer data
    return response
