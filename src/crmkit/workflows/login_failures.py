"""Failed logins of the current business day, per login name and per client.

The account's own counter (``Credentials.failed_count``) is stored with the account and so
exists only for logins that exist. The CAPTCHA rule must treat every login name alike, or
asking for a CAPTCHA would tell an attacker which logins exist; so failures are also counted
here by the name as typed, and by the client (an IP address) that sent them. The counts live
in this process's memory: a restart forgets them, and an application with several processes
counts in each (the stored account counter still holds across them).
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Final

# Keys kept per day before the table counts as full. A flood of made-up logins or addresses
# must not grow memory without end, and dropping keys would let that flood reset the counts
# it wants reset: so while the table is full, every unknown key is treated as over the limit.
DEFAULT_CAPACITY: Final = 100_000


class LoginFailures:
    """Per-day failure counts by login name and by client. Thread-safe."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._day: date | None = None
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, day: date, login: str, client: str | None) -> None:
        """Count one failed login on ``day`` for ``login`` (as normalised) and ``client``."""
        with self._lock:
            self._roll(day)
            for key in _keys(login, client):
                if key in self._counts or len(self._counts) < self._capacity:
                    self._counts[key] = self._counts.get(key, 0) + 1

    def reached(self, day: date, login: str, client: str | None, threshold: int) -> bool:
        """Whether ``login`` or ``client`` has failed ``threshold`` times or more on ``day``
        (always while the table is full and one of them is not in it)."""
        with self._lock:
            self._roll(day)
            for key in _keys(login, client):
                count = self._counts.get(key)
                if count is None:
                    if len(self._counts) >= self._capacity:
                        return True
                elif count >= threshold:
                    return True
            return False

    def forget_login(self, day: date, login: str) -> None:
        """Clear ``login``'s count (its right password was given). A client's count stays:
        logging into an account of one's own must not reset the guessing of others."""
        with self._lock:
            self._roll(day)
            for key in _keys(login, None):
                self._counts.pop(key, None)

    def _roll(self, day: date) -> None:
        if day != self._day:
            self._day = day
            self._counts.clear()


def _keys(login: str, client: str | None) -> list[str]:
    keys = [f"login:{login}"] if login else []
    if client:
        keys.append(f"client:{client}")
    return keys
