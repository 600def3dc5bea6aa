"""A file offered as a backup is checked before it replaces anything, and a refusal says
why in both languages."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import crmkit
from crmkit.adapters.sqlite_backup import check_backup


def test_a_missing_file_is_a_backup_error_that_is_also_a_value_error(tmp_path: Path):
    path = tmp_path / "gone.db"
    with pytest.raises(crmkit.BackupError) as caught:
        check_backup(path)
    error = caught.value
    assert isinstance(error, crmkit.CRMError)
    assert isinstance(error, ValueError)
    assert (error.path, error.reason) == (path, "missing")
    assert error.message("en") == f"{path} does not exist"
    assert error.message("zh") == f"{path} 不存在"


def test_a_file_that_is_not_sqlite_is_refused_with_what_sqlite_said(tmp_path: Path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all")
    with pytest.raises(crmkit.BackupError) as caught:
        check_backup(junk)
    assert caught.value.reason == "not_sqlite"
    assert caught.value.message("en").startswith(f"{junk} is not a SQLite database: ")
    assert caught.value.message("zh").startswith(f"{junk} 不是 SQLite 数据库：")


def test_a_sqlite_file_without_crmkit_tables_is_refused_naming_them(tmp_path: Path):
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE customers (id TEXT)")
    with pytest.raises(crmkit.BackupError) as caught:
        check_backup(other)
    error = caught.value
    assert error.reason == "not_crmkit"
    assert error.detail == "['alembic_version', 'audit_log', 'users']"
    with crmkit.language("en"):
        assert str(error) == (
            f"{other} is not a crmkit database (missing ['alembic_version', 'audit_log', 'users'])"
        )
