"""Logging in with crmkit users: server-side login sessions, idle timeout, logout.

The browser's cookie (signed, HttpOnly, SameSite) carries only a random login-session id;
who is logged in and when they were last seen live here, on the server. So logout and the
idle timeout really end a session (a copied cookie stops working), and logging in always
starts a new id (no session fixation). crmkit does the password check (argon2id) and the
lockout after ten failures a day; this page adds a CAPTCHA once crmkit asks for one
(:mod:`admin.captcha`) and rate limits (:mod:`admin.limits`). Every failure shows the same
message, so the page tells nobody which logins exist or are locked.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import InputRequired, Length, Optional

import crmkit
from admin import captcha, context, limits

# Endpoints reachable without a login session: the login page (and its CAPTCHA picture),
# static assets, and the SMS providers' pushes (admin.callbacks: their HMAC signature is
# what authenticates them).
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.captcha_picture",
        "auth.language",
        "static",
        "admin.static",
        "sms_callbacks.receive",
    }
)


@attrs.define
class LoginSession:
    """One logged-in browser: who, since when, last seen, and per-session scratch data."""

    sid: str
    user_id: str
    started: datetime
    last_seen: datetime
    data: dict[str, Any] = attrs.field(factory=dict)


class SessionStore:
    """Login sessions in this process's memory (thread-safe).

    One process serves the reference app; an app with several workers would keep these in a
    shared store (a table or Redis) behind the same four methods.
    """

    def __init__(self, idle: timedelta) -> None:
        self.idle = idle
        self._sessions: dict[str, LoginSession] = {}
        self._lock = threading.Lock()

    def start(self, user_id: str, at: datetime) -> LoginSession:
        """A new login session with a fresh unguessable id."""
        entry = LoginSession(secrets.token_urlsafe(32), user_id, at, at)
        with self._lock:
            self._sessions[entry.sid] = entry
        return entry

    def touch(self, sid: str | None, at: datetime) -> tuple[LoginSession | None, bool]:
        """The live session ``sid`` (its last-seen time moved to ``at``) and whether an
        existing session just expired for being idle longer than :attr:`idle`."""
        if not sid:
            return None, False
        with self._lock:
            entry = self._sessions.get(sid)
            if entry is None:
                return None, False
            if at - entry.last_seen > self.idle:
                del self._sessions[sid]
                return None, True
            entry.last_seen = at
            return entry, False

    def end(self, sid: str | None) -> None:
        """Forget a session (logout)."""
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)

    def end_all_of(self, user_id: str) -> None:
        """Forget every session of a user (their account was locked or removed)."""
        with self._lock:
            for sid in [s for s, e in self._sessions.items() if e.user_id == user_id]:
                del self._sessions[sid]


def store() -> SessionStore:
    """The current app's login sessions."""
    found: SessionStore = current_app.extensions["crmkit_admin_sessions"]
    return found


def login_session() -> LoginSession:
    """The current request's login session (only inside the login guard's routes)."""
    entry: LoginSession = g.login_session
    return entry


class LoginForm(FlaskForm):
    """Login name and password; Flask-WTF adds and checks the CSRF token."""

    login = StringField(lazy_gettext("Login"), validators=[InputRequired(), Length(max=40)])
    password = PasswordField(
        lazy_gettext("Password"), validators=[InputRequired(), Length(max=200)]
    )
    captcha = StringField(
        lazy_gettext("Verification code"), validators=[Optional(), Length(max=20)]
    )
    next = HiddenField()


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the dashboard (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.index")


bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; on success start a new login session.

    A POST over a rate limit gets 429 and checks nothing. When crmkit asks for a CAPTCHA
    (a few failures for that login or from that address), the password is checked only
    after the picture's characters were typed right.
    """
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    crm = context.crm()
    client = limits.client_address()
    error: str | None = None
    status = 200
    # Once asked for, the picture stays on this browser's login page (so that "another
    # picture", a reload, shows one) until a login succeeds.
    show_captcha = session.get("captcha_asked", False) or crm.login_needs_captcha("", client=client)
    if form.validate_on_submit():
        name = form.login.data or ""
        now = context.now()
        if not (
            limits.allow("ADMIN_LOGIN_RATE_PER_CLIENT", client, now)
            and limits.allow("ADMIN_LOGIN_RATE_PER_LOGIN", name.strip().lower(), now)
        ):
            error, status = _("Too many login attempts. Please wait a while and try again."), 429
        elif crm.login_needs_captcha(name, client=client) and not captcha.solved(
            form.captcha.data, now
        ):
            show_captcha = True
            error = (
                _("The characters did not match the picture. Please type the new ones.")
                if form.captcha.data
                else _("Please type the characters shown in the picture.")
            )
        else:
            try:
                user = crm.authenticate(name, form.password.data or "", client=client)
            except crmkit.AuthenticationError as exc:
                error = exc.message()  # failed; locked or disabled only for the right password
                show_captcha = crm.login_needs_captcha(name, client=client)
            else:
                lang = session.get("lang")
                session.clear()  # a new cookie and a new CSRF token: nothing from before login
                if lang:
                    session["lang"] = lang
                entry = store().start(user.id, context.now())
                session["sid"] = entry.sid
                return redirect(safe_next(form.next.data))
    if show_captcha:
        session["captcha_asked"] = True
    form.captcha.data = ""  # a challenge is answered once: the next one starts empty
    page = render_template("crm/login.html", form=form, error=error, show_captcha=show_captcha)
    return page, status


@bp.route("/login/captcha.png")
def captcha_picture() -> ResponseReturnValue:
    """A new CAPTCHA picture for this browser (its answer stays on the server)."""
    now = context.now()
    if not limits.allow("ADMIN_CAPTCHA_RATE_PER_CLIENT", limits.client_address(), now):
        message = _("Too many requests. Please wait a while and try again.")
        return Response(message, status=429, mimetype="text/plain")
    response = Response(captcha.new_picture(now), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """End the login session (POST with CSRF token, so no page can log a user out)."""
    store().end(session.get("sid"))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language() -> ResponseReturnValue:
    """Switch the interface language (简体中文 or English) and go back."""
    lang = request.form.get("lang", "zh")
    session["lang"] = "en" if lang == "en" else "zh"
    back = request.form.get("next") or request.referrer
    if back:
        parts = urlsplit(back)
        back = parts.path + (f"?{parts.query}" if parts.query else "")
    return redirect(safe_next(back))


def require_login() -> ResponseReturnValue | None:
    """Before every request: let public endpoints through, else demand a live session."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    entry, expired = store().touch(session.get("sid"), context.now())
    if entry is None:
        session.pop("sid", None)
        if expired:
            flash(_("Your session expired after a period of inactivity. Please log in again."))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    try:
        with context.crm().session(actor=entry.user_id) as s:
            user = s.users.get(entry.user_id)
    except (crmkit.NotFound, crmkit.AuthenticationError) as exc:
        # Locked, disabled or removed since logging in: the session ends now.
        store().end_all_of(entry.user_id)
        session.pop("sid", None)
        flash(exc.message(), "error")
        return redirect(url_for("auth.login"))
    g.user = user
    g.actor = s.actor  # what the user may do (``context.can``), as crmkit resolved it
    g.login_session = entry
    return None


def init_app(app: Flask, idle: timedelta) -> None:
    """Register the login routes, the session store, the CAPTCHA, the rate limits and the
    login guard."""
    app.extensions["crmkit_admin_sessions"] = SessionStore(idle)
    captcha.init_app(app)
    limits.init_app(app)
    app.register_blueprint(bp)
    app.before_request(require_login)
