"""Error pages in the panel's own frame and language, instead of Werkzeug's English ones.

400, 403, 404, 405, 429 and 500 are shown inside the admin's layout (menu, language switch),
in the session's language, with a way back. A request that asked for JSON (the list count,
the similar-customers panel, import progress) gets the same text as JSON. The response keeps
the error's own headers (``Allow`` on a 405, ``Retry-After`` on a 429).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_admin import Admin, BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, NotFound

import crmkit
from admin import auth, context

# status → (title, what happened and what to do)
PAGES: dict[int, tuple[Any, Any]] = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Go back, reload the page and try again."),
    ),
    403: (
        _l("No access"),
        _l("Your role may not open this page. If you need it, ask an administrator."),
    ),
    404: (
        _l("Not found"),
        _l(
            "This page or record does not exist, is in the recycle bin, or belongs to "
            "customers you may not see."
        ),
    ),
    405: (
        _l("Not possible here"),
        _l("This address does not take that kind of request. Use the buttons on the pages."),
    ),
    429: (
        _l("Too many requests"),
        _l("Too many requests in a short time. Wait a moment, then try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l(
            "The server could not finish this request. Try again; if it happens again, "
            "tell an administrator what you did and when."
        ),
    ),
}
# A CSRF failure is a 400 whose cause people can fix.
CSRF_TEXT = _l(
    "The form has expired or did not come from this site. Go back, reload the page and "
    "fill it in again."
)


class ErrorPages(BaseView):
    """The view the error pages are rendered by (never in the menu), so that they get the
    admin's frame like every screen; its own address is a 404."""

    def is_visible(self) -> bool:
        return False

    def is_accessible(self) -> bool:
        return True

    @expose("/")
    def index(self) -> ResponseReturnValue:
        raise NotFound()


def init_app(app: Flask, admin: Admin) -> None:
    """Show every error status of :data:`PAGES` as the panel's own page."""
    view = ErrorPages(name=_l("Error"), endpoint="errors", url="/_errors")
    admin.add_view(view)

    def handle(error: HTTPException) -> ResponseReturnValue:
        return error_response(view, error)

    for status in PAGES:
        app.register_error_handler(status, handle)


def error_response(view: ErrorPages, error: HTTPException) -> ResponseReturnValue:
    """The page (or JSON) for ``error``, with its status and headers."""
    status = error.code if error.code in PAGES else 500
    title, text = (str(t) for t in PAGES[status])
    if isinstance(error, CSRFError):
        text = str(CSRF_TEXT)
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    ):
        response = jsonify({"status": status, "error": title, "message": text})
        return response, status, headers
    try:
        _identify()
        body = view.render(
            "crm/error.html",
            status=status,
            title=title,
            text=text,
            home=_home(),
            back_url=_back_url(),
        )
    except Exception:  # the frame itself failed (a broken store, a template): a plain page
        current_app.logger.exception("the error page could not be rendered")
        body = _plain(status, title, text)
    return Response(body, status=status, headers=headers, mimetype="text/html")


def _identify() -> None:
    """Who is logged in, for the menu and the way back, on an address no route matched:
    the login guard lets those through without looking at the login session."""
    sid = session.get("sid")
    if g.get("user") is not None or not sid:
        return
    entry, _expired = auth.store().touch(sid, context.now())
    if entry is None:
        return
    try:
        with context.crm().session(actor=entry.user_id) as s:
            g.user = s.users.get(entry.user_id)
            g.actor = s.actor
    except crmkit.CRMError:
        g.pop("user", None)  # locked or removed: the page shows the way to log in


def _home() -> tuple[str, str]:
    """Where to go from here: the dashboard when logged in, else the login page."""
    if g.get("user") is not None:
        return url_for("admin.index"), _("Back to the dashboard")
    return url_for("auth.login"), _("Log in")


def _back_url() -> str | None:
    """The page the user came from, if it is one of this site's (never another site's)."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if not referrer or parts.netloc != request.host or parts.scheme not in {"http", "https"}:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/") or path.startswith("//") or path == request.full_path.rstrip("?"):
        return None
    return path


def _plain(status: int, title: str, text: str) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{status} {escape(title)}'
        f"</title></head><body><h1>{status} {escape(title)}</h1><p>{escape(text)}</p>"
        "</body></html>"
    )
