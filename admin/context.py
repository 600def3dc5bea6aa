"""Per-app and per-request access to crmkit: the open CRM, the logged-in user, a session.

The app keeps one :class:`CRMHolder` (one ``crmkit.CRM`` per process, as crmkit asks); every
request that reads or writes opens a unit of work as the logged-in user with :func:`work`,
so crmkit applies that user's permissions, data scope, validation and audit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from flask import current_app, g

import crmkit

Opener = Callable[[str], crmkit.CRM]


class CRMHolder:
    """Owns the app's ``crmkit.CRM`` and can swap the store under it (SQLite restore)."""

    def __init__(self, url: str, opener: Opener) -> None:
        self.url = url
        self._open = opener
        self._lock = threading.RLock()
        self._crm = opener(url)

    @property
    def crm(self) -> crmkit.CRM:
        with self._lock:
            return self._crm

    @property
    def sqlite_file(self) -> Path | None:
        """The database file when the store is SQLite, else ``None`` (no backup screen)."""
        from crmkit.adapters.sqlite_backup import sqlite_path

        try:
            return sqlite_path(self.url)
        except ValueError:
            return None

    def restore_from(self, backup: Path) -> None:
        """Replace the SQLite store with ``backup`` (checked first) and reopen it.

        The CRM is closed for the copy because SQLite's backup API needs the connections
        idle; requests arriving meanwhile wait on the lock for the reopened CRM.

        Raises:
            BackupError: ``backup`` is not an intact crmkit database; nothing changed.
        """
        from crmkit.adapters.sqlite_backup import check_backup, restore_sqlite

        target = self.sqlite_file
        if target is None:
            raise ValueError("restore needs a SQLite store")
        check_backup(backup)  # before closing anything: a bad file must not cost uptime
        with self._lock:
            self._crm.close()
            try:
                restore_sqlite(backup, target)
            finally:
                self._crm = self._open(self.url)

    def close(self) -> None:
        with self._lock:
            self._crm.close()


def holder() -> CRMHolder:
    """The current app's :class:`CRMHolder`."""
    return cast(CRMHolder, current_app.extensions["crmkit_admin"])


def crm() -> crmkit.CRM:
    """The current app's open CRM."""
    return holder().crm


def now() -> datetime:
    """The CRM's clock (injectable: tests move a ``crmkit.testing.ManualClock``)."""
    return crm().clock.now()


def current_user() -> crmkit.User:
    """The logged-in user of this request (set by the login guard)."""
    return cast(crmkit.User, g.user)


def has_role(*roles: crmkit.Role | str) -> bool:
    """True if someone is logged in and has one of ``roles``."""
    user: crmkit.User | None = g.get("user")
    return user is not None and user.role in {crmkit.Role(r) for r in roles}


def can(permission: str) -> bool:
    """Whether the logged-in user holds ``permission`` (``"product.write"`` …), as crmkit's
    actor for this request says; screens hide what crmkit would refuse."""
    actor: crmkit.Actor | None = g.get("actor")
    return actor is not None and actor.can(permission)


@contextmanager
def work() -> Iterator[crmkit.Session]:
    """A crmkit unit of work as the logged-in user: commits when the block ends."""
    with crm().session(actor=current_user().id) as s:
        yield s


def service(s: crmkit.Session, name: str) -> Any:
    """The service called ``name`` on a session (``customers``, ``users`` …; a dotted
    name reaches a service's own: ``messages.templates``)."""
    found: Any = s
    for part in name.split("."):
        found = getattr(found, part)
    return found


def scratch_dir() -> Path:
    """Where uploads, backups and restores wait between requests (the app's data folder)."""
    path = Path(current_app.config["ADMIN_DATA_DIR"]) / "scratch"
    path.mkdir(parents=True, exist_ok=True)
    return path
