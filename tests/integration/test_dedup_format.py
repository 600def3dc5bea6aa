"""A duplicate index built by an earlier crmkit is known as such, not silently used."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

import crmkit
from crmkit import WorkflowError
from crmkit.domain.dedup.codec import RECORD_FORMAT
from crmkit.testing import open_test_crm, store_of


def _age_the_index(crm: crmkit.CRM) -> None:
    # What a store indexed by the previous crmkit holds: the same index, an older format.
    with store_of(crm).unit_of_work() as uow:
        uow.dedup.set_record_format("customer", RECORD_FORMAT - 1)
        uow.commit()


def test_a_new_index_records_its_format_and_scans(crm, admin):
    with crm.session(actor=admin) as s:
        assert not s.dedup.needs_rebuild("customers")
        s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
    with store_of(crm).unit_of_work() as uow:
        assert uow.dedup.record_format("customer") == RECORD_FORMAT
        assert uow.dedup.record_format("contact") is None  # nothing indexed there yet
    with crm.session(actor=admin) as s:
        assert not s.dedup.needs_rebuild("customers")
        assert s.dedup.scan("customers") == []


def test_an_index_of_an_earlier_format_refuses_to_scan_until_rebuilt(crm, admin, caplog):
    caplog.set_level(logging.WARNING, logger="crmkit")
    with crm.session(actor=admin) as s:
        first = s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
    _age_the_index(crm)
    with crm.session(actor=admin) as s:
        assert s.dedup.needs_rebuild("customers")
        with pytest.raises(WorkflowError) as refused:
            s.dedup.scan("customers")
    assert "rebuild" in refused.value.message("en")
    assert "查重索引" in refused.value.message("zh") and "重建" in refused.value.message("zh")
    for _ in range(2):  # writes go on meanwhile, and the log has said it once
        with crm.session(actor=admin) as s:
            s.customers.create(name="金智电子", mobile="13800138000")  # warned
    stale = [r for r in caplog.records if "rebuild" in r.getMessage()]
    assert len(stale) == 1 and "customers" in stale[0].getMessage()
    with crm.session(actor=admin) as s:
        assert s.dedup.rebuild("customers") == 3
        assert not s.dedup.needs_rebuild("customers")
        clusters = s.dedup.scan("customers")
    assert len(clusters) == 1 and first.id in clusters[0].ids and len(clusters[0].ids) == 3


def test_an_index_from_before_formats_were_recorded_needs_a_rebuild(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    crm = open_test_crm(url)
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    with crm.session(actor=admin) as s:
        s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
    crm.close()
    with sqlite3.connect(tmp_path / "old.db") as db:  # as migration 0026 leaves an old store
        db.execute("DELETE FROM dedup_formats")
    crm = open_test_crm(url)
    try:
        with crm.session(actor=admin) as s:
            assert s.dedup.needs_rebuild("customers")
            assert not s.dedup.needs_rebuild("contacts")  # empty: nothing to rebuild
            s.dedup.rebuild("customers")
        with crm.session(actor=admin) as s:
            assert not s.dedup.needs_rebuild("customers")
    finally:
        crm.close()
