"""Backup and restore of SQLite stores, with SQLite's online backup API.

The backup API copies a consistent snapshot even while the CRM is in use, unlike copying
the file (which can catch a half-written WAL). A restore first checks that the file is an
intact crmkit database, so a wrong or damaged file never replaces good data.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from crmkit.domain.errors import CRMError
from crmkit.domain.messages import Language, render_summary


class BackupError(CRMError, ValueError):
    """The file is not a usable crmkit backup; nothing was changed.

    Attributes:
        path: the file offered as a backup.
        reason: why, as a stable code: ``missing``, ``damaged`` (SQLite's integrity check
            failed), ``not_sqlite`` or ``not_crmkit`` (a SQLite file without crmkit's tables).
        detail: what SQLite said, or the tables missing, untranslated.
    """

    def __init__(self, path: Path, reason: str, detail: str = "") -> None:
        self.path = path
        self.reason = reason
        self.detail = detail
        super().__init__(self.message())

    def message(self, lang: Language | None = None) -> str:
        return render_summary(f"backup_{self.reason}", lang, path=self.path, detail=self.detail)

    def __str__(self) -> str:
        return self.message()


def sqlite_path(url: str) -> Path:
    """The file behind a ``sqlite:///path`` URL."""
    prefix = url.split("://", 1)
    if len(prefix) != 2 or not prefix[0].startswith("sqlite") or prefix[1] in ("", "/"):
        raise ValueError(f"not a SQLite file URL: {url!r}")
    return Path(prefix[1][1:] if prefix[1].startswith("/") else prefix[1])


def backup_sqlite(db: Path, dest: Path) -> Path:
    """Write a consistent copy of ``db`` to ``dest`` (overwritten). Returns ``dest``."""
    if not db.exists():
        raise FileNotFoundError(db)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    with closing(sqlite3.connect(db)) as src, closing(sqlite3.connect(dest)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    return dest


def check_backup(path: Path) -> None:
    """Raise ``BackupError`` unless ``path`` is an intact crmkit SQLite database."""
    if not path.exists():
        raise BackupError(path, "missing")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            ok = conn.execute("PRAGMA integrity_check").fetchone()
            if not ok or ok[0] != "ok":
                raise BackupError(path, "damaged", str(ok))
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(path, "not_sqlite", str(exc)) from exc
    missing = {"alembic_version", "customers", "users", "audit_log"} - tables
    if missing:
        raise BackupError(path, "not_crmkit", str(sorted(missing)))


def restore_sqlite(backup: Path, db: Path) -> None:
    """Replace the contents of ``db`` with ``backup`` after checking it.

    Close every CRM using ``db`` first; the restore itself is atomic for readers.
    """
    check_backup(backup)
    with closing(sqlite3.connect(backup)) as src, closing(sqlite3.connect(db)) as dst:
        src.backup(dst)
