"""Registered Chinese company names carry Latin brands (TCL, ABB, OPPO): taken in through
every door, matched with their Latin part, and refused only under seed 002's strict rule."""

from __future__ import annotations

import io

import pytest

from crmkit import Settings, ValidationError
from crmkit.testing import open_test_crm

REAL_NAMES = ("TCL科技集团股份有限公司", "北京ABB电气传动系统有限公司", "OPPO广东移动通信有限公司")


@pytest.mark.parametrize("name", REAL_NAMES)
def test_a_registered_name_with_latin_letters_is_taken_in(crm, admin, name):
    with crm.session(actor=admin) as s:
        customer = s.customers.create(name=name)
        contact = s.contacts.create(customer_id=customer.id, name="王Lily")
    with crm.session(actor=admin) as s:
        assert s.customers.get(customer.id).name == name
        assert s.contacts.get(contact.id).name == "王Lily"
        assert [c.id for c in s.customers.list(q=name[:3])] == [customer.id]


def test_an_import_takes_the_same_names(crm, admin):
    sheet = "客户名称,联系人\n" + "".join(f"{n},Tony王\n" for n in REAL_NAMES)
    with crm.session(actor=admin) as s:
        report = s.imports.run(io.BytesIO(sheet.encode("utf-8")))
    assert report.counts["created"] == len(REAL_NAMES), report.results
    with crm.session(actor=admin) as s:
        assert {c.name for c in s.customers.list()} == set(REAL_NAMES)


def test_the_latin_part_is_part_of_the_name_when_matching(crm, admin):
    with crm.session(actor=admin) as s:
        abb = s.customers.create(name="北京ABB电气传动系统有限公司")
        s.customers.create(name="北京ACC电气传动系统有限公司")
    with crm.session(actor=admin) as s:
        similar = s.customers.find_similar(name="北京abb电气传动系统有限公司")
    assert similar and similar[0].id == abb.id
    acc = [m for m in similar if m.name == "北京ACC电气传动系统有限公司"]
    assert all(m.score < similar[0].score for m in acc)


def test_the_strict_one_script_rule_refuses_them_when_set():
    crm = open_test_crm(settings=Settings(strict_name_script=True))
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    with crm.session(actor=admin) as s:
        with pytest.raises(ValidationError) as caught:
            s.customers.create(name="TCL科技集团股份有限公司")
        assert caught.value.errors[0].code == "name.mixed"
        customer = s.customers.create(name="青岛金智电子科技有限公司")
        with pytest.raises(ValidationError) as caught:
            s.contacts.create(customer_id=customer.id, name="王Lily")
        assert caught.value.errors[0].code == "name.mixed"
        report = s.imports.run(io.BytesIO("客户名称\nTCL科技集团股份有限公司\n".encode()))
    assert report.counts["failed"] == 1
    assert report.results[0].problems[0].code == "name.mixed"
    crm.close()
