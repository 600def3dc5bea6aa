"""The demo's plain-text passwords go to the terminal, and the copy it keeps for the next
start is readable by its owner only."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from admin.demo import prepare, print_logins

LOGINS = {"admin": "demo-admin-2026", "zhangsan": "demo-pass-2026"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fake_seed(url: str, *, customers: int) -> dict[str, str]:
    """Stands in for the demo's seeding (seconds of argon2 hashing): creates the store file
    and answers its logins, as ``admin.demo.seed`` does."""
    Path(url.removeprefix("sqlite:///")).write_bytes(b"")
    return dict(LOGINS)


@pytest.fixture
def open_umask() -> Any:
    """A umask that lets every file be world-readable unless the code says otherwise."""
    import os

    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_logins_file_is_created_readable_by_its_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "demo"
    url, logins = prepare(data, customers=3, seeder=fake_seed)
    assert url == f"sqlite:///{data / 'crm.db'}" and logins == LOGINS
    assert mode(data / "logins.json") == 0o600
    assert mode(data) == 0o700  # the folder it created: the owner's only
    assert json.loads((data / "logins.json").read_text()) == LOGINS


def test_an_older_world_readable_logins_file_is_narrowed(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    (data / "crm.db").write_bytes(b"")  # seeded by an older demo
    (data / "logins.json").write_text(json.dumps(LOGINS))
    (data / "logins.json").chmod(0o644)
    _url, logins = prepare(data, customers=3, seeder=fake_seed)
    assert logins == LOGINS and mode(data / "logins.json") == 0o600


def test_a_reset_rewrites_the_logins_without_widening_them(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    (data / "crm.db").write_bytes(b"old")
    (data / "logins.json").write_text("{}")
    (data / "logins.json").chmod(0o666)
    _url, logins = prepare(data, customers=3, reset=True, seeder=fake_seed)
    assert logins == LOGINS and mode(data / "logins.json") == 0o600
    assert (data / "crm.db").read_bytes() == b""  # seeded afresh


def test_a_symlink_in_place_of_the_logins_file_is_not_followed(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    elsewhere = tmp_path / "public.txt"
    elsewhere.write_text("")
    (data / "logins.json").symlink_to(elsewhere)
    with pytest.raises(OSError, match="symbolic link"):
        prepare(data, customers=3, seeder=fake_seed)
    assert elsewhere.read_text() == ""


def test_the_logins_are_printed_on_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    print_logins(LOGINS)
    out = capsys.readouterr().out
    assert "zhangsan" in out and "demo-pass-2026" in out
