"""People on every backend: individuals matched as persons, contacts at any count, scans."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import crmkit

SURNAMES = "王李张刘陈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅"


def _names(n: int) -> list[str]:
    """``n`` different Chinese names, a fifth of them 王 (the twin's surname)."""
    out = [s + a + b for a in GIVEN for b in GIVEN for s in SURNAMES]
    return out[:n]


def test_a_duplicate_contact_among_500_is_warned_on_create_and_found_by_the_scan(crm, team, admin):
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        customer = s.customers.create(name="青岛金智电子科技有限公司")
        # 500 people with 500 birth dates, a hundred of them 王 like the twin.
        for n, name in enumerate(_names(500)):
            s.contacts.create(
                customer_id=customer.id,
                name=name,
                birthday=date(1950, 1, 1) + timedelta(days=37 * n),
            )
        first = s.contacts.create(customer_id=customer.id, name="王建国", birthday=date(1975, 5, 4))
    with crm.session(actor=zhang) as s:
        twin = s.contacts.create(customer_id=customer.id, name="王建國", birthday=date(1975, 5, 4))
        (warning,) = s.warnings
    assert warning.entity_id == twin.id
    assert [m.id for m in warning.matches] == [first.id]
    with crm.session(actor=admin) as s:
        clusters = s.dedup.scan("contacts")
    assert [sorted(c.ids) for c in clusters] == [sorted([first.id, twin.id])]


def test_an_individual_is_found_by_birth_date_and_address_when_the_given_name_changed(crm, team):
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        kept = s.customers.create(
            name="李秀英",
            kind="individual",
            birthday=date(1982, 3, 9),
            address="山东省青岛市市南区香港中路10号3单元",
        )
        s.customers.create(name="李秀兰", kind="individual", birthday=date(1990, 7, 1))
    with crm.session(actor=zhang) as s:
        found = s.customers.find_similar(
            name="李秀", kind="individual", birthday="1982-03-09", address="青岛市香港中路10号3单元"
        )
    assert found[0].id == kept.id and found[0].score >= 0.5
    reasons = found[0].reasons
    assert "birthday=" in reasons and any(r.startswith("address") for r in reasons)


def test_two_people_of_one_name_and_other_birth_dates_are_not_one_cluster(crm, team, admin):
    # The chain the linkage rule forbids: 张伟 with no birth date shares a mobile with 张伟
    # born 1980 and an e-mail with 张伟 born 1991; each link is a duplicate, but the two born
    # apart score below the floor with each other, so the bare record joins its stronger
    # match only (which one is stronger is the weights' business: a shared mobile is weaker
    # evidence than it was, since relatives give each other's numbers).
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        plain = s.customers.create(
            name="张伟", kind="individual", mobile="13800138000", email="zw@example.com"
        )
        born_1980 = s.customers.create(
            name="张伟", kind="individual", birthday=date(1980, 1, 2), mobile="13800138000"
        )
        born_1991 = s.customers.create(
            name="张伟",
            kind="individual",
            birthday=date(1991, 8, 30),
            mobile="13900139000",
            email="zw@example.com",
        )
    with crm.session(actor=admin) as s:
        clusters = s.dedup.scan("customers")
    assert [sorted(c.ids) for c in clusters] in (
        [sorted([plain.id, born_1980.id])],
        [sorted([plain.id, born_1991.id])],
    )


def test_the_contacts_scan_is_empty_for_one_contact_per_customer(crm, team, admin):
    with crm.session(actor=team["zhang"]) as s:
        for name in ("甲公司", "乙公司"):
            c = s.customers.create(name=name)
            s.contacts.create(customer_id=c.id, name="刘芳")
    with crm.session(actor=admin) as s:
        assert s.dedup.scan("contacts") == []


def test_the_default_configuration_matches_individuals_as_people():
    assert crmkit.DedupConfig().customer_match.persons is not None


def test_weights_estimated_from_the_store_put_to_use_by_configuration(crm, team, admin):
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        for n, name in enumerate(["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊"]):
            born = date(1970 + n, 1 + n, 1 + n)
            s.customers.create(name=name, kind="individual", birthday=born)
            s.customers.create(name=name, kind="individual", birthday=born.replace(day=20))
    with crm.session(actor=admin) as s:
        estimate = s.dedup.estimate("customers")
        with pytest.raises(crmkit.PermissionDenied):
            with crm.session(actor=zhang) as other:
                other.dedup.estimate("customers")
    assert estimate.pairs >= 6
    fields = {row[0] for row in estimate.table()}
    assert {"name", "birthday"} <= fields
    config = crmkit.DedupConfig().with_estimate("customers", estimate)
    assert config.customer_match.persons == estimate.config
    assert config.contact_match == crmkit.DedupConfig().contact_match


def test_one_resident_card_number_is_one_person_whatever_the_name(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        kept = s.customers.create(
            name="王秀英", kind="individual", id_number="110105 19491231 002x"
        )
        (found,) = s.customers.find_similar(
            name="王秀瑛", kind="individual", id_number="11010519491231002X"
        )
    assert found.id == kept.id and found.score == 1.0 and "id_number=" in found.reasons
