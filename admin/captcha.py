"""The login page's CAPTCHA (验证码), drawn by this app: no outside service sees the login.

crmkit decides when a login needs one (``crm.login_needs_captcha``: after a few failures
for that login or from that address); this module draws the picture with the ``captcha``
package and checks the answer. The answer never leaves the server: the browser's (signed,
but readable) session cookie holds only a random challenge id, the answer waits here. An
answer is checked once, right or wrong, and ignoring case; a challenge expires after ten
minutes, and drawing a new picture drops the browser's previous challenge.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from flask import Flask, current_app, session

# No 0/O, 1/I/L: letters a person cannot tell apart in a distorted picture.
ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH: Final = 5
TTL: Final = timedelta(minutes=10)
CAPACITY: Final = 50_000  # challenges waiting at once; the oldest go first past that
SESSION_KEY: Final = "captcha_id"


def random_text() -> str:
    """Five characters from :data:`ALPHABET`, from the system's secure random source."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


class CaptchaStore:
    """Challenges waiting for their answer, by id, in this process's memory (thread-safe)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._waiting: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def new(self, answer: str, now: datetime) -> str:
        """Keep ``answer`` until ``now`` + :data:`TTL`; returns the challenge's id."""
        cid = secrets.token_urlsafe(16)
        with self._lock:
            if len(self._waiting) >= self._capacity:
                for old in [k for k, (_, until) in self._waiting.items() if until <= now]:
                    del self._waiting[old]
                while len(self._waiting) >= self._capacity:  # dicts keep insertion order
                    del self._waiting[next(iter(self._waiting))]
            self._waiting[cid] = (answer, now + TTL)
        return cid

    def discard(self, cid: str | None) -> None:
        """Forget a challenge (a new picture replaces it)."""
        if cid:
            with self._lock:
                self._waiting.pop(cid, None)

    def check(self, cid: str | None, answer: str | None, now: datetime) -> bool:
        """Whether ``answer`` solves challenge ``cid`` (case and spaces aside). The
        challenge is used up either way."""
        if not cid:
            return False
        with self._lock:
            waiting = self._waiting.pop(cid, None)
        if waiting is None or waiting[1] <= now or not answer:
            return False
        return secrets.compare_digest(waiting[0].upper().encode(), answer.strip().upper().encode())


def store() -> CaptchaStore:
    """The current app's challenges."""
    found: CaptchaStore = current_app.extensions["crmkit_admin_captcha"]
    return found


def new_picture(now: datetime) -> bytes:
    """A PNG of a fresh challenge, which replaces this browser's previous one."""
    from captcha.image import ImageCaptcha

    make_text: Callable[[], str] = current_app.config["ADMIN_CAPTCHA_TEXT"] or random_text
    text = make_text()
    challenges = store()
    challenges.discard(session.get(SESSION_KEY))
    session[SESSION_KEY] = challenges.new(text, now)
    return ImageCaptcha(width=180, height=60).generate(text).getvalue()


def solved(answer: str | None, now: datetime) -> bool:
    """Whether ``answer`` solves this browser's challenge (used up either way)."""
    return store().check(session.pop(SESSION_KEY, None), answer, now)


def init_app(app: Flask) -> None:
    """Give the app its challenge store. ``ADMIN_CAPTCHA_TEXT`` (a ``() -> str``) may replace
    the random text: tests set a known one."""
    app.config.setdefault("ADMIN_CAPTCHA_TEXT", None)
    app.extensions["crmkit_admin_captcha"] = CaptchaStore()
