"""Rate limits on the doors that can be hammered: logging in and the similar-customer lookup.

Each limit is a number of requests in a sliding window (``"10/minute"``, ``"60/5minutes"``),
set in the app's config; ``None`` turns one off. The window follows the CRM's clock (tests
move a ``crmkit.testing.ManualClock``). Counts live in this process's memory, like the login
sessions (:class:`admin.auth.SessionStore`): an app with several worker processes would keep
them in a shared store behind the same :meth:`RateLimiter.hit`.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Final

import attrs
from flask import Flask, current_app, request

# The limits and their defaults (config key -> rate). Per client is per IP address as the
# server sees it: behind a reverse proxy, wrap the app in werkzeug's ``ProxyFix`` so that
# ``request.remote_addr`` is the browser's address, not the proxy's.
DEFAULTS: Final[dict[str, str | None]] = {
    "ADMIN_LOGIN_RATE_PER_CLIENT": "60/minute",  # login POSTs from one address
    "ADMIN_LOGIN_RATE_PER_LOGIN": "10/minute",  # login POSTs naming one login
    "ADMIN_CAPTCHA_RATE_PER_CLIENT": "30/minute",  # CAPTCHA pictures drawn for one address
    "ADMIN_SIMILAR_RATE_PER_USER": "120/minute",  # similar-customer lookups by one user
}
RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
UNITS: Final = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

# Keys counted at once before new keys are refused: a flood of made-up logins or addresses
# must not grow memory without end (refusing keeps counting honest where dropping would not).
CAPACITY: Final = 100_000


@attrs.frozen
class Rate:
    """At most ``count`` requests in any window of ``per``."""

    count: int
    per: timedelta

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/minute"``, ``"60/5minutes"``, ``"1000/day"`` as a :class:`Rate`.

        Raises:
            ValueError: not in that form, or a zero count or window.
        """
        found = RATE.match(text)
        if found is None or int(found[1]) < 1 or (found[2] and int(found[2]) < 1):
            raise ValueError(f"not a rate like '10/minute' or '60/5minutes': {text!r}")
        seconds = int(found[2] or 1) * UNITS[found[3]]
        return cls(int(found[1]), timedelta(seconds=seconds))


class RateLimiter:
    """Sliding-window request counts per key (thread-safe)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, rate: Rate, now: datetime) -> bool:
        """Count a request for ``key`` at ``now`` if ``rate`` allows it; False (and not
        counted) when ``key`` already had ``rate.count`` requests in the last ``rate.per``."""
        start = now - rate.per
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._capacity:
                    self._forget_idle(now)
                    if len(self._hits) >= self._capacity:
                        return False
                hits = self._hits[key] = deque()
            while hits and hits[0] <= start:
                hits.popleft()
            if len(hits) >= rate.count:
                return False
            hits.append(now)
            return True

    def _forget_idle(self, now: datetime) -> None:
        # No window is longer than a day: older counts can no longer refuse anything.
        idle = now - timedelta(days=1)
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= idle]:
            del self._hits[key]


def limiter() -> RateLimiter:
    """The current app's rate limiter."""
    found: RateLimiter = current_app.extensions["crmkit_admin_limits"]
    return found


def allow(name: str, key: str, now: datetime) -> bool:
    """Whether the limit configured as ``name`` (``ADMIN_LOGIN_RATE_PER_CLIENT`` …) lets one
    more request for ``key`` through now, counting it if so. A limit set to ``None`` lets
    everything through."""
    rates: dict[str, Rate | None] = current_app.extensions["crmkit_admin_rates"]
    rate = rates[name]
    return rate is None or limiter().hit(f"{name}:{key}", rate, now)


def client_address() -> str:
    """The address the request came from (see :data:`DEFAULTS` about reverse proxies)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """Read the limits from the config (failing at start on a malformed one) and give the
    app its limiter."""
    rates: dict[str, Rate | None] = {}
    for name, default in DEFAULTS.items():
        value = app.config.setdefault(name, default)
        rates[name] = None if value is None else Rate.parse(str(value))
    app.extensions["crmkit_admin_rates"] = rates
    app.extensions["crmkit_admin_limits"] = RateLimiter()
