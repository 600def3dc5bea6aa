"""Login safety on the panel (OWASP ASVS V2): nobody locks the only admin out, failures all
read alike, a CAPTCHA after a few failures, rate limits on logging in and on the
similar-customer lookup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import crmkit
from admin import create_app
from admin.limits import Rate
from crmkit.testing import ManualClock, open_test_crm
from tests.admin.conftest import PASSWORDS, Browser, make_customer

ANSWER = "K7WPQ"  # every CAPTCHA picture of these tests shows these characters
ERROR = re.compile(r'<div class="alert alert-danger" id="login-error">([^<]*)</div>')


@pytest.fixture
def extra_config() -> dict[str, Any]:
    """More config for the app; tests parametrize it."""
    return {}


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock, extra_config: dict[str, Any]) -> Iterator[Flask]:
    """The conftest's app, with a CAPTCHA whose characters the tests know."""
    app = create_app(
        {
            "TESTING": True,
            "CRMKIT_URL": f"sqlite:///{tmp_path}/crm.db",
            "CRMKIT_OPEN": lambda url: open_test_crm(url, clock=clock),
            "ADMIN_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret",
            "SESSION_COOKIE_SECURE": False,
            "ADMIN_CAPTCHA_TEXT": lambda: ANSWER,
            **extra_config,
        }
    )
    yield app
    app.extensions["crmkit_admin"].close()


def client_at(app: Flask, address: str) -> Browser:
    """A browser whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


ASKED = ("请输入图片中的字符。", "Please type the characters shown in the picture.")


def solve(browser: Browser) -> str:
    """Load this browser's CAPTCHA picture and read it (as a person would: in lower case)."""
    picture = browser.get("/login/captcha.png")
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")
    return ANSWER.lower()


def attempt(browser: Browser, login: str, password: str, captcha: str | None = None) -> Any:
    """One login, as a person sends it: the CAPTCHA's characters typed when the page shows
    one or when the panel asks for one (``captcha`` types those characters instead)."""
    page = browser.get("/login").get_data(as_text=True)
    form = {"login": login, "password": password, "csrf_token": browser.token()}
    if captcha is not None:
        form["captcha"] = captcha
    elif 'id="captcha-group"' in page:
        form["captcha"] = solve(browser)
    response = browser.open("/login", method="POST", data=form)
    if "captcha" not in form and error_of(response, missing="") in ASKED:
        form["captcha"] = solve(browser)  # this login failed before: crmkit asks only now
        response = browser.open("/login", method="POST", data=form)
    return response


def switch_language(browser: Browser, lang: str) -> None:
    browser.open("/language", method="POST", data={"lang": lang, "csrf_token": browser.token()})


def error_of(response: Any, missing: str | None = None) -> str:
    """The login page's error message (``missing`` if there is none, else fail)."""
    found = ERROR.search(response.get_data(as_text=True))
    if found is None and missing is not None:
        return missing
    assert found, "no login error on the page"
    return found.group(1)


def test_ten_bad_logins_for_the_only_admin_neither_lock_it_for_good_nor_end_its_session(
    app: Flask, as_admin: Browser, clock: ManualClock
) -> None:
    attacker = client_at(app, "203.0.113.66")
    for _ in range(10):  # slowly enough for the rate limits: the lock is what is tested
        assert error_of(attempt(attacker, "admin", "guess-guess")) == "用户名或密码错误"
        clock.advance(seconds=10)
    assert as_admin.get("/").status_code == 200  # the admin at work is not thrown out
    assert "登录失败" in as_admin.text("/audit/")  # and can see what happened
    told = error_of(attempt(Browser(app.test_client()), "admin", PASSWORDS["admin"]))
    assert re.fullmatch(r"登录失败次数过多，账号已锁定，请在 [-0-9: ]+ 之后再试", told)
    clock.advance(minutes=15)  # the lock, from the tenth failure, has ended
    assert attempt(Browser(app.test_client()), "admin", PASSWORDS["admin"]).status_code == 302
    assert as_admin.get("/").status_code == 200


def test_a_locked_account_and_a_wrong_password_read_the_same_in_both_languages(
    app: Flask, users: dict[str, crmkit.User], clock: ManualClock
) -> None:
    login = users["zhang"].login
    for _ in range(10):  # 张三's account locks
        attempt(client_at(app, "198.51.100.1"), login, "wrong-password")
    clock.advance(minutes=1)  # past the per-login rate limit's minute
    for lang, generic, locked in (
        ("zh", "用户名或密码错误", "登录失败次数过多，账号已锁定，请联系管理员"),
        (
            "en",
            "wrong login or password",
            "the account is locked after too many failed logins; ask an administrator",
        ),
    ):
        browser = client_at(app, f"198.51.100.{2 if lang == 'zh' else 3}")
        switch_language(browser, lang)
        assert error_of(attempt(browser, "nobody", "wrong-password")) == generic
        assert error_of(attempt(browser, "lixm", "wrong-password")) == generic
        assert error_of(attempt(browser, login, "wrong-password")) == generic  # locked
        assert error_of(attempt(browser, login, PASSWORDS["zhang"])) == locked


def test_a_captcha_is_asked_after_three_failures_and_the_password_waits_for_it(
    app: Flask, users: dict[str, crmkit.User], crm: crmkit.CRM
) -> None:
    browser = client_at(app, "198.51.100.3")
    login = users["zhang"].login
    for _ in range(3):
        assert 'id="captcha-group"' not in browser.text("/login")
        attempt(browser, login, "wrong-password")
    assert 'id="captcha-group"' in browser.text("/login")
    # No characters typed: nothing is checked, even the right password does not log in.
    form = {"login": login, "password": PASSWORDS["zhang"], "csrf_token": browser.token()}
    asked = browser.open("/login", method="POST", data=form)
    assert asked.status_code == 200
    assert error_of(asked) == "请输入图片中的字符。"
    wrong = attempt(browser, login, PASSWORDS["zhang"], captcha="AAAAA")
    assert wrong.status_code == 200 and error_of(wrong) == "验证码不正确，请输入新图片中的字符。"
    with crm.session(actor=users["admin"]) as s:
        failures = [e for e in s.audit.history(users["zhang"].id) if e.action == "login_failed"]
    assert len(failures) == 3  # CAPTCHA misses never reached the password check
    assert attempt(browser, login, PASSWORDS["zhang"]).status_code == 302  # typed in lower case


def test_a_captcha_answer_works_once(app: Flask, users: dict[str, crmkit.User]) -> None:
    browser = client_at(app, "198.51.100.4")
    for _ in range(3):
        attempt(browser, "zhangsan", "wrong-password")
    assert error_of(attempt(browser, "zhangsan", "wrong-password")) == "用户名或密码错误"
    # The same characters again, without loading a new picture: refused.
    form = {
        "login": "zhangsan",
        "password": PASSWORDS["zhang"],
        "captcha": ANSWER,
        "csrf_token": browser.token(),
    }
    replayed = browser.open("/login", method="POST", data=form)
    assert error_of(replayed) == "验证码不正确，请输入新图片中的字符。"


def test_the_captcha_answer_stays_on_the_server(app: Flask, users: dict[str, crmkit.User]) -> None:
    browser = client_at(app, "198.51.100.5")
    for _ in range(3):
        attempt(browser, "zhangsan", "wrong-password")
    picture = browser.get("/login/captcha.png")
    assert picture.headers["Cache-Control"] == "no-store"
    cookie = browser.client.get_cookie("crmkit_admin")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert ANSWER not in repr(serializer.loads(cookie.value))


def test_an_unknown_login_is_asked_for_a_captcha_just_as_a_real_one(
    app: Flask, users: dict[str, crmkit.User]
) -> None:
    pages = []
    for login in ("zhangsan", "nobody"):
        for n in range(3):  # from three addresses: the login's count, not an address's
            attempt(client_at(app, f"198.51.100.{60 + n}"), login, "wrong-password")
        browser = client_at(app, "198.51.100.70")
        form = {"login": login, "password": "wrong-password", "csrf_token": browser.token()}
        pages.append(error_of(browser.open("/login", method="POST", data=form)))
    assert pages == ["请输入图片中的字符。"] * 2


@pytest.mark.parametrize("extra_config", [{"ADMIN_LOGIN_RATE_PER_CLIENT": "5/minute"}])
def test_logins_from_one_address_are_rate_limited(
    app: Flask, users: dict[str, crmkit.User], clock: ManualClock
) -> None:
    browser = client_at(app, "192.0.2.10")
    for n in range(5):
        assert attempt(browser, f"someone{n}", "wrong-password").status_code == 200
    refused = attempt(browser, "zhangsan", PASSWORDS["zhang"])
    assert refused.status_code == 429
    assert error_of(refused) == "登录尝试过于频繁，请稍后再试。"
    assert attempt(client_at(app, "192.0.2.11"), "lixm", PASSWORDS["li"]).status_code == 302
    clock.advance(minutes=1)
    assert attempt(browser, "zhangsan", PASSWORDS["zhang"]).status_code == 302


@pytest.mark.parametrize("extra_config", [{"ADMIN_LOGIN_RATE_PER_LOGIN": "3/minute"}])
def test_logins_naming_one_account_are_rate_limited_in_english_too(
    app: Flask, users: dict[str, crmkit.User]
) -> None:
    for n in range(3):
        attempt(client_at(app, f"192.0.2.{20 + n}"), "ZhangSan", "wrong-password")
    browser = client_at(app, "192.0.2.30")
    browser.open("/language", method="POST", data={"lang": "en", "csrf_token": browser.token()})
    refused = attempt(browser, "zhangsan", PASSWORDS["zhang"])
    assert refused.status_code == 429
    assert error_of(refused) == "Too many login attempts. Please wait a while and try again."
    assert attempt(browser, "lixm", PASSWORDS["li"]).status_code == 302


@pytest.mark.parametrize("extra_config", [{"ADMIN_SIMILAR_RATE_PER_USER": "3/minute"}])
def test_similar_lookups_are_rate_limited_per_user_and_each_is_audited(
    app: Flask,
    as_zhang: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    clock: ManualClock,
) -> None:
    theirs = make_customer(crm, users["li"], name="青岛金智电子科技有限公司")
    for _ in range(3):
        response = as_zhang.get("/customers/similar", query_string={"name": "青岛金智电子"})
        assert response.status_code == 200 and response.json["matches"]
    refused = as_zhang.get("/customers/similar", query_string={"name": "青岛金智电子"})
    assert refused.status_code == 429
    assert refused.json == {"matches": [], "error": "查询过于频繁，请稍后再试。"}
    with crm.session(actor=users["admin"]) as s:
        lookups = s.audit.list(action="lookup").items
    assert len(lookups) == 3  # the refused one looked nothing up
    assert {e.actor_id for e in lookups} == {users["zhang"].id}
    assert all(tuple(e.changes["name"]) == (None, "青岛金智电子") for e in lookups)
    assert all(list(e.changes["matches"][1]) == [theirs.id] for e in lookups)
    clock.advance(minutes=1)
    assert as_zhang.get("/customers/similar", query_string={"name": "金智"}).status_code == 200


def test_a_malformed_rate_fails_when_the_app_is_built(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="10/minute"):
        create_app(
            {
                "CRMKIT_URL": "memory://",
                "CRMKIT_OPEN": open_test_crm,
                "ADMIN_DATA_DIR": str(tmp_path / "d"),
                "ADMIN_LOGIN_RATE_PER_LOGIN": "ten a minute",
            }
        )


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [("10/minute", 10, 60), ("60/5minutes", 60, 300), ("1000 / day", 1000, 86400)],
)
def test_rates_read_as_count_per_window(text: str, count: int, seconds: int) -> None:
    rate = Rate.parse(text)
    assert (rate.count, rate.per.total_seconds()) == (count, seconds)


def test_a_locked_salesperson_logs_in_again_once_an_admin_unlocks_the_account(
    app: Flask, users: dict[str, crmkit.User], clock: ManualClock
) -> None:
    login = users["zhang"].login
    for _ in range(10):
        attempt(client_at(app, "192.0.2.40"), login, "wrong-password")
    clock.advance(minutes=1)
    browser = client_at(app, "192.0.2.41")
    assert "请联系管理员" in error_of(attempt(browser, login, PASSWORDS["zhang"]))
    admin = client_at(app, "192.0.2.42")
    assert attempt(admin, "admin", PASSWORDS["admin"]).status_code == 302
    assert "账号因登录失败次数过多已被锁定" in admin.text(f"/users/details/?id={users['zhang'].id}")
    admin.post("/users/unlock/", {"id": users["zhang"].id})
    assert attempt(browser, login, PASSWORDS["zhang"]).status_code == 302


def test_a_captcha_picture_expires_after_ten_minutes(
    app: Flask, users: dict[str, crmkit.User], clock: ManualClock
) -> None:
    browser = client_at(app, "192.0.2.50")
    for _ in range(3):
        attempt(browser, "zhangsan", "wrong-password")
    solve(browser)
    clock.advance(minutes=11)
    form = {
        "login": "zhangsan",
        "password": PASSWORDS["zhang"],
        "captcha": ANSWER,
        "csrf_token": browser.token(),
    }
    late = browser.open("/login", method="POST", data=form)
    assert error_of(late) == "验证码不正确，请输入新图片中的字符。"
