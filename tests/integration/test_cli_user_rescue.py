"""``crmkit user unlock`` and ``crmkit user reset-password``: getting back in when nobody can
log in, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import crmkit
from crmkit.cli import app
from crmkit.testing import open_test_crm


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store with the admin and a salesperson, 张三 (zhangsan)."""
    url = f"sqlite:///{tmp_path}/cli.db"
    with open_test_crm(url) as crm:
        admin = crm.bootstrap_admin(name="管理员", password="admin-secret", login="admin")
        with crm.session(actor=admin) as s:
            s.users.create(name="张三", role="sales", password="zhang-secret")
    return url


def lock(url: str, login: str) -> None:
    with open_test_crm(url) as crm:
        for _ in range(crm.settings.lockout_threshold):
            with pytest.raises(crmkit.AuthenticationError):
                crm.authenticate(login, "wrong-password")
        with pytest.raises(crmkit.AuthenticationError) as caught:
            crm.authenticate(login, "zhang-secret")
        assert caught.value.reason == "locked"


def audited(url: str, login: str, action: str) -> list[str]:
    """Who did ``action`` to ``login``'s account, oldest first."""
    with open_test_crm(url) as crm, crm.session(actor=crmkit.SYSTEM) as s:
        history = s.audit.history(s.users.get_by_login(login).id)
    return [e.actor_id for e in history if e.action.value == action]


def test_unlock_lets_a_locked_user_log_in_again_and_is_audited_as_the_system(
    runner: CliRunner, db: str
):
    lock(db, "zhangsan")
    result = runner.invoke(app, ["user", "unlock", "zhangsan", "--db", db])
    assert result.exit_code == 0, result.output
    assert "unlocked" in result.output and "zhangsan" in result.output
    with open_test_crm(db) as crm:
        assert crm.authenticate("zhangsan", "zhang-secret").login == "zhangsan"
    assert audited(db, "zhangsan", "unlock") == [crmkit.SYSTEM.id]


def test_unlock_finds_the_store_through_the_environment(runner: CliRunner, db: str):
    lock(db, "zhangsan")
    result = runner.invoke(app, ["user", "unlock", "zhangsan"], env={"CRMKIT_URL": db})
    assert result.exit_code == 0, result.output
    with open_test_crm(db) as crm:
        assert crm.authenticate("zhangsan", "zhang-secret").login == "zhangsan"


def test_unlock_of_an_unknown_login_fails_and_says_so(runner: CliRunner, db: str):
    result = runner.invoke(app, ["--lang", "en", "user", "unlock", "nobody", "--db", db])
    assert result.exit_code == 1
    assert "nobody" in result.output and "not found" in result.output


def test_reset_password_asks_twice_and_sets_the_new_password(runner: CliRunner, db: str):
    result = runner.invoke(
        app,
        ["user", "reset-password", "admin", "--db", db],
        input="brand-new-pass\nbrand-new-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert "password set" in result.output
    with open_test_crm(db) as crm:
        assert crm.authenticate("admin", "brand-new-pass").login == "admin"
        with pytest.raises(crmkit.AuthenticationError):
            crm.authenticate("admin", "admin-secret")
    assert audited(db, "admin", "password") == [crmkit.SYSTEM.id]


def test_reset_password_asks_again_when_the_two_entries_differ(runner: CliRunner, db: str):
    result = runner.invoke(
        app,
        ["user", "reset-password", "admin", "--db", db],
        input="brand-new-pass\ntypo-new-pass\nbrand-new-pass\nbrand-new-pass\n",
    )
    assert result.exit_code == 0, result.output
    with open_test_crm(db) as crm:
        assert crm.authenticate("admin", "brand-new-pass").login == "admin"


def test_reset_password_reads_the_password_from_stdin(runner: CliRunner, db: str):
    result = runner.invoke(
        app,
        ["user", "reset-password", "zhangsan", "--password-stdin", "--db", db],
        input="from-a-script\n",
    )
    assert result.exit_code == 0, result.output
    with open_test_crm(db) as crm:
        assert crm.authenticate("zhangsan", "from-a-script").login == "zhangsan"


def test_reset_password_refuses_a_short_password_without_echoing_it(runner: CliRunner, db: str):
    result = runner.invoke(
        app,
        ["--lang", "en", "user", "reset-password", "zhangsan", "--password-stdin", "--db", db],
        input="tiny7\n",
    )
    assert result.exit_code == 1
    assert "password" in result.output and "tiny7" not in result.output
    with open_test_crm(db) as crm:
        assert crm.authenticate("zhangsan", "zhang-secret").login == "zhangsan"
