"""Settings an admin changes while the CRM runs: validated, audited, in force at once and
in every process using the store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmkit import ConcurrencyError, PermissionDenied, Settings, ValidationError
from crmkit.testing import open_test_crm


def test_an_admin_changes_a_setting_and_it_is_in_force_and_audited(crm, admin):
    with crm.session(actor=admin) as s:
        assert s.settings.current().recycle_retention_days == 30
        s.settings.update(recycle_retention_days="7", strict_name_script="是")
    assert crm.settings.recycle_retention_days == 7 and crm.settings.strict_name_script
    with crm.session(actor=admin) as s:
        (entry,) = s.audit.list(entity_type="settings").items
        (line,) = s.audit.describe([entry], lang="zh")
    assert {label: (b, a) for _, label, b, a in line.changes}["回收站保留天数"] == ("30", "7")
    assert line.entity == "系统设置"


def test_every_wrong_value_is_named_and_nothing_changes(crm, admin):
    with crm.session(actor=admin) as s:
        with pytest.raises(ValidationError) as caught:
            s.settings.update(recycle_retention_days="0", timezone="Mars/Olympus", workers="4")
    assert set(caught.value.fields) == {"recycle_retention_days", "timezone", "workers"}
    assert caught.value.by_field()["recycle_retention_days"][0].code == "number.range"
    assert crm.settings == Settings()


def test_a_salesperson_may_not_change_settings(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(PermissionDenied):
            s.settings.update(max_page_size="50")


def test_a_stale_version_is_refused(crm, admin):
    with crm.session(actor=admin) as s:
        seen = s.settings.version()
        s.settings.update(max_page_size="100")
    with crm.session(actor=admin) as s:
        with pytest.raises(ConcurrencyError):
            s.settings.update(version=seen, max_page_size="200")
    assert crm.settings.max_page_size == 100


def test_a_rolled_back_change_is_not_in_force(crm, admin):
    def change_then_fail() -> None:
        with crm.session(actor=admin) as s:
            s.settings.update(max_page_size="100")
            raise RuntimeError("the rest of the work failed")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert crm.settings.max_page_size == Settings().max_page_size


def test_another_process_takes_the_change_up(tmp_path, clock):
    url = f"sqlite:///{tmp_path}/crm.db"
    one = open_test_crm(url, clock=clock)
    admin = one.bootstrap_admin(name="管理员", password="admin-pass-1")
    two = open_test_crm(url, clock=clock)
    with one.session(actor=admin) as s:
        s.settings.update(timezone="Asia/Urumqi")
    assert two.settings.timezone == "Asia/Shanghai"  # read a moment ago
    clock.advance(timedelta(minutes=2))
    with two.session(actor=admin):
        pass
    assert two.settings.timezone == "Asia/Urumqi"
    three = open_test_crm(url, clock=clock)  # a process started later reads it at once
    assert three.settings.timezone == "Asia/Urumqi"
    for crm in (one, two, three):
        crm.close()
