"""Users, logins, authentication and lockout on every backend."""

from __future__ import annotations

import pytest

from crmkit import AuthenticationError, NotFound, PermissionDenied, ValidationError, WorkflowError
from crmkit.domain import events as ev


def test_logins_follow_the_pinyin_rule_and_clashes_get_a_number(crm, admin):
    with crm.session(actor=admin) as s:
        a = s.users.create(name="张三", role="sales", password="sales-pass")
        b = s.users.create(name="李小明", role="sales", password="sales-pass")
        c = s.users.create(name="张三", role="sales", password="sales-pass")
    assert [a.login, b.login, c.login] == ["zhangsan", "lixm", "zhangsan1"]


def test_bootstrap_admin_only_works_on_an_empty_store(crm, admin):
    assert admin.role.value == "admin"
    with pytest.raises(WorkflowError):
        crm.bootstrap_admin(name="第二个管理员", password="another-pass")


def test_a_user_logs_in_with_the_derived_login(crm, admin):
    with crm.session(actor=admin) as s:
        s.users.create(name="张三", role="sales", password="sales-pass")
    user = crm.authenticate("zhangsan", "sales-pass")
    assert user.name == "张三"
    with pytest.raises(AuthenticationError) as caught:
        crm.authenticate("zhangsan", "wrong")
    assert caught.value.reason == "failed"
    with pytest.raises(AuthenticationError):
        crm.authenticate("nobody", "sales-pass")


def test_ten_failures_in_a_day_lock_the_account_until_an_admin_unlocks_it(crm, admin, clock):
    locked: list[ev.UserLocked] = []
    crm.subscribe(ev.UserLocked, locked.append)
    with crm.session(actor=admin) as s:
        u = s.users.create(name="张三", role="sales", password="sales-pass")
    for _ in range(10):
        with pytest.raises(AuthenticationError) as caught:
            crm.authenticate("zhangsan", "wrong-pass")
        assert caught.value.reason == "failed"
    with pytest.raises(AuthenticationError) as caught:
        crm.authenticate("zhangsan", "sales-pass")  # the right password no longer helps
    assert caught.value.reason == "locked"
    assert [e.entity_id for e in locked] == [u.id]  # stored with the lock, delivered once
    with pytest.raises(AuthenticationError), crm.session(actor=u):
        pass
    with crm.session(actor=admin) as s:
        s.users.unlock(u.id)
        actions = [e.action.value for e in s.audit.history(u.id)]
    assert actions.count("login_failed") == 10 and "lock" in actions and "unlock" in actions
    assert crm.authenticate("zhangsan", "sales-pass").id == u.id


def test_failures_on_different_days_do_not_add_up(crm, admin, clock):
    with crm.session(actor=admin) as s:
        s.users.create(name="张三", role="sales", password="sales-pass")
    for _ in range(9):
        with pytest.raises(AuthenticationError):
            crm.authenticate("zhangsan", "wrong-pass")
    clock.advance(days=1)
    for _ in range(9):
        with pytest.raises(AuthenticationError):
            crm.authenticate("zhangsan", "wrong-pass")
    assert crm.authenticate("zhangsan", "sales-pass").login == "zhangsan"


def test_only_admins_manage_users(crm, team):
    with crm.session(actor=team["boss"]) as s, pytest.raises(PermissionDenied):
        s.users.create(name="新人", role="sales", password="sales-pass")


def test_user_creation_reports_every_wrong_field(crm, admin):
    with crm.session(actor=admin) as s, pytest.raises(ValidationError) as caught:
        s.users.create(name="", role="boss", manager_id="nope", password="short")
    assert set(caught.value.fields) == {"name", "role", "manager_id", "password"}
    assert "short" not in str(caught.value)


def test_a_manager_cannot_report_to_their_own_subordinate(crm, team):
    with crm.session(actor=team["admin"]) as s, pytest.raises(ValidationError) as caught:
        s.users.update(team["boss"].id, manager_id=team["junior"].id)
    assert caught.value.errors[0].code == "user.manager_cycle"


def test_a_deleted_user_can_no_longer_act(crm, team):
    with crm.session(actor=team["admin"]) as s:
        s.users.delete(team["other"].id)
    with pytest.raises(NotFound), crm.session(actor=team["other"]):
        pass
    with pytest.raises(AuthenticationError):
        crm.authenticate(team["other"].login, "sales-pass")


def test_users_ride_on_the_kernel_lifecycle(crm, team):
    """Deleting deactivates and bins a user, restoring brings them back active; users are
    never purged; each step is audited and published like any kernel entity's."""
    seen: list[ev.DomainEvent] = []
    for kind in (ev.UserUpdated, ev.RecordDeleted, ev.RecordRestored):
        crm.subscribe(kind, seen.append)
    other = team["other"]
    with crm.session(actor=team["admin"]) as s:
        s.users.update(other.id, version=other.version, email="sun@example.cn")
        s.users.delete(other.id)
        binned = s.users.get(other.id, include_deleted=True)
        assert (binned.active, binned.is_deleted) == (False, True)
        assert [u.id for u in s.users.list(deleted="only").items] == [other.id]
        back = s.users.restore(other.id)
        assert (back.active, back.is_deleted, back.version) == (True, False, other.version + 3)
        with pytest.raises(WorkflowError):
            s.users.purge()
        actions = [e.action.value for e in s.audit.history(other.id)]
    assert actions[-3:] == ["update", "delete", "restore"]
    assert [type(e).__name__ for e in seen] == ["UserUpdated", "RecordDeleted", "RecordRestored"]
    assert "email" in seen[0].fields


def test_users_are_listed_by_role_manager_and_text(crm, team):
    with crm.session(actor=team["zhang"]) as s:  # anyone may read users
        managers = s.users.list(role="manager")
        under_boss = s.users.list(manager_id=team["boss"].id)
        found = s.users.list(q="zhang")
        with pytest.raises(ValidationError) as caught:
            s.users.list(role="boss")
    assert [u.id for u in managers.items] == [team["boss"].id, team["lead"].id]
    assert [u.id for u in under_boss.items] == [team["zhang"].id, team["li"].id, team["lead"].id]
    assert [u.login for u in found.items] == ["zhangsan"]
    assert caught.value.fields == ("role",)


def test_a_deleted_users_login_can_be_given_to_a_new_user(crm, team):
    with crm.session(actor=team["admin"]) as s:
        s.users.delete(team["other"].id)
        again = s.users.create(name="孙悟空", role="sales", login=team["other"].login)
        assert s.users.get_by_login(team["other"].login).id == again.id
        with pytest.raises(ValidationError) as caught:  # two live holders: never
            s.users.restore(team["other"].id)
    assert caught.value.fields == ("login",)


def test_users_change_their_own_password_with_the_current_one(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(AuthenticationError):
            s.users.set_password(team["zhang"].id, "new-password", current_password="bad")
        s.users.set_password(team["zhang"].id, "new-password", current_password="sales-pass")
    assert crm.authenticate("zhangsan", "new-password").id == team["zhang"].id


def test_open_refuses_a_url_scheme_no_backend_provides():
    import crmkit

    with pytest.raises(ValueError, match="no crmkit storage backend"):
        crmkit.open("mysql://localhost/crm")


def test_open_without_a_url_and_with_memory_url_give_empty_in_memory_stores():
    import crmkit

    for url in (None, "memory://"):
        crm = crmkit.open(url)
        assert crm.bootstrap_admin(name="管理员", password="admin-secret").login == "guanly"
        crm.close()
