"""Login safety (OWASP ASVS V2): one message for every failure, the lock revealed only to
the right password, a CAPTCHA after a few failures, and no permanent lock of the last admin.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmkit import CRM, AuthenticationError, Settings, User
from crmkit.domain import events as ev
from crmkit.testing import ManualClock, open_test_crm


def failure(crm: CRM, login: str, password: str, client: str | None = None) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        crm.authenticate(login, password, client=client)
    return caught.value


def fail_times(crm: CRM, login: str, n: int, client: str | None = None) -> None:
    for _ in range(n):
        assert failure(crm, login, "wrong-password", client).reason == "failed"


@pytest.fixture
def zhang(crm: CRM, admin: User) -> User:
    with crm.session(actor=admin) as s:
        user: User = s.users.create(name="张三", role="sales", password="sales-pass")
    return user


def test_a_locked_account_answers_a_wrong_password_exactly_as_an_unlocked_one_does(
    crm: CRM, zhang: User
):
    unlocked = failure(crm, "zhangsan", "wrong-password")
    unknown = failure(crm, "nobody", "wrong-password")
    fail_times(crm, "zhangsan", 9)  # the tenth failure today locks the account
    locked = failure(crm, "zhangsan", "wrong-password")
    assert unlocked.reason == unknown.reason == locked.reason == "failed"
    for lang in ("zh", "en"):
        assert unlocked.message(lang) == unknown.message(lang) == locked.message(lang)
    assert locked.message("zh") == "用户名或密码错误"
    assert locked.message("en") == "wrong login or password"


def test_only_the_right_password_learns_that_the_account_is_locked(crm: CRM, zhang: User):
    fail_times(crm, "zhangsan", 10)
    told = failure(crm, "zhangsan", "sales-pass")
    assert told.reason == "locked" and told.until is None  # until an administrator unlocks it
    assert told.message("zh") == "登录失败次数过多，账号已锁定，请联系管理员"
    assert "ask an administrator" in told.message("en")


def test_a_disabled_account_is_revealed_only_to_the_right_password(
    crm: CRM, admin: User, zhang: User
):
    with crm.session(actor=admin) as s:
        s.users.update(zhang.id, active=False)
    assert failure(crm, "zhangsan", "wrong-password").reason == "failed"
    assert failure(crm, "zhangsan", "sales-pass").reason == "inactive"


def test_ten_failures_lock_the_last_admin_for_fifteen_minutes_only(
    crm: CRM, admin: User, clock: ManualClock
):
    locks: list[ev.UserLocked] = []
    crm.subscribe(ev.UserLocked, locks.append)
    fail_times(crm, admin.login, 10)
    told = failure(crm, admin.login, "admin-pass-1")
    assert told.reason == "locked"
    assert told.until is not None
    assert told.until == (clock.now() + timedelta(minutes=15)).astimezone(told.until.tzinfo)
    local = told.until.strftime("%Y-%m-%d %H:%M")
    assert told.message("zh") == f"登录失败次数过多，账号已锁定，请在 {local} 之后再试"
    assert f"try again after {local}" in told.message("en")
    assert [(e.entity_id, e.until) for e in locks] == [(admin.id, told.until)]
    # The account itself is not locked: the admin's open sessions go on working.
    with crm.session(actor=admin) as s:
        assert s.users.get(admin.id).locked is False
    clock.advance(minutes=14)
    assert failure(crm, admin.login, "admin-pass-1").reason == "locked"
    clock.advance(minutes=1)
    assert crm.authenticate(admin.login, "admin-pass-1").id == admin.id


def test_failures_during_the_timed_lock_do_not_extend_it(crm: CRM, admin: User, clock: ManualClock):
    fail_times(crm, admin.login, 10)
    clock.advance(minutes=10)
    fail_times(crm, admin.login, 5)  # still "failed", and the lock still ends on time
    clock.advance(minutes=5)
    assert crm.authenticate(admin.login, "admin-pass-1").id == admin.id


def test_a_failure_after_the_timed_lock_ended_locks_the_last_admin_again(
    crm: CRM, admin: User, clock: ManualClock
):
    fail_times(crm, admin.login, 10)
    clock.advance(minutes=15)
    fail_times(crm, admin.login, 1)  # the eleventh failure today
    assert failure(crm, admin.login, "admin-pass-1").reason == "locked"
    with crm.session(actor=admin) as s:
        actions = [e.action.value for e in s.audit.history(admin.id)]
    assert actions.count("lock") == 2


def test_an_admin_with_another_active_admin_is_locked_until_unlocked(
    crm: CRM, admin: User, clock: ManualClock
):
    with crm.session(actor=admin) as s:
        second = s.users.create(name="李管理", role="admin", password="second-pass")
    fail_times(crm, second.login, 10)
    clock.advance(days=1)  # a new day: only the lock remains
    told = failure(crm, second.login, "second-pass")
    assert told.reason == "locked" and told.until is None
    # Now the first admin is the last active one: it gets the timed lock.
    fail_times(crm, admin.login, 10)
    assert failure(crm, admin.login, "admin-pass-1").until is not None
    with crm.session(actor=admin) as s:  # and can still unlock the other one
        s.users.unlock(second.id)
    assert crm.authenticate(second.login, "second-pass").id == second.id


def test_an_admin_unlock_lifts_a_timed_lock_at_once(crm: CRM, admin: User):
    fail_times(crm, admin.login, 10)
    with crm.session(actor=admin) as s:
        s.users.unlock(admin.id)
        last = s.audit.history(admin.id)[-1]
    assert last.action.value == "unlock" and "locked_until" in last.changes
    assert crm.authenticate(admin.login, "admin-pass-1").id == admin.id


def test_the_timed_lock_length_is_a_setting(clock: ManualClock):
    crm = open_test_crm(clock=clock, settings=Settings(admin_lock_minutes=60))
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    fail_times(crm, admin.login, 10)
    clock.advance(minutes=59)
    assert failure(crm, admin.login, "admin-pass-1").reason == "locked"
    clock.advance(minutes=1)
    assert crm.authenticate(admin.login, "admin-pass-1").id == admin.id


def test_a_captcha_is_needed_after_three_failures_for_a_login_existing_or_not(
    crm: CRM, zhang: User
):
    for login in ("zhangsan", "nobody"):
        assert not crm.login_needs_captcha(login)
        fail_times(crm, login, 2)
        assert not crm.login_needs_captcha(login)
        fail_times(crm, login, 1)
        assert crm.login_needs_captcha(login)
        assert crm.login_needs_captcha(f"  {login.upper()} ")  # as authenticate reads it
    assert not crm.login_needs_captcha("lisi")


def test_a_captcha_is_needed_for_any_login_from_a_client_that_failed_three_times(
    crm: CRM, zhang: User
):
    for login in ("a", "b", "c"):
        fail_times(crm, login, 1, client="203.0.113.9")
    assert crm.login_needs_captcha("zhangsan", client="203.0.113.9")
    assert crm.login_needs_captcha("", client="203.0.113.9")
    assert not crm.login_needs_captcha("zhangsan", client="198.51.100.7")


def test_the_right_password_clears_the_logins_count_but_not_the_clients(crm: CRM, zhang: User):
    fail_times(crm, "zhangsan", 3, client="203.0.113.9")
    crm.authenticate("zhangsan", "sales-pass", client="203.0.113.9")
    assert not crm.login_needs_captcha("zhangsan")
    assert crm.login_needs_captcha("zhangsan", client="203.0.113.9")


def test_captcha_counts_start_again_each_day(crm: CRM, zhang: User, clock: ManualClock):
    fail_times(crm, "zhangsan", 3, client="203.0.113.9")
    fail_times(crm, "nobody", 3)
    clock.advance(days=1)
    assert not crm.login_needs_captcha("zhangsan", client="203.0.113.9")
    assert not crm.login_needs_captcha("nobody")


def test_the_stored_failure_count_asks_for_a_captcha_in_a_process_that_never_saw_it(
    tmp_path: object, clock: ManualClock
):
    url = f"sqlite:///{tmp_path}/shared.db"
    one = open_test_crm(url, clock=clock)
    admin = one.bootstrap_admin(name="管理员", password="admin-pass-1")
    fail_times(one, admin.login, 3)
    other = open_test_crm(url, clock=clock)  # another process: its own memory
    try:
        assert other.login_needs_captcha(admin.login)
    finally:
        one.close()
        other.close()


def test_captcha_after_zero_always_asks(clock: ManualClock):
    crm = open_test_crm(clock=clock, settings=Settings(captcha_after=0))
    assert crm.login_needs_captcha("anyone")


def test_every_similar_customer_lookup_is_audited_with_who_and_what(
    crm: CRM, team: dict[str, User]
):
    with crm.session(actor=team["li"]) as s:
        theirs = s.customers.create(name="青岛金智电子科技有限公司", mobile="138 0013 8000")
    with crm.session(actor=team["zhang"]) as s:
        found = s.customers.find_similar(name="金智电子科技(青岛)有限公司")
        s.customers.find_similar(mobile="13900001111")
    assert [m.id for m in found] == [theirs.id]
    with crm.session(actor=team["admin"]) as s:
        entries = s.audit.list(action="lookup").items
    assert len(entries) == 2
    latest, first = entries  # newest first
    assert {e.actor_id for e in entries} == {team["zhang"].id}
    assert first.entity_type == "customer_lookup"
    assert tuple(first.changes["name"]) == (None, "金智电子科技(青岛)有限公司")
    assert list(first.changes["matches"][1]) == [theirs.id]
    assert list(latest.changes["matches"][1]) == []
