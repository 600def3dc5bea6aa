"""An individual customer's identity number (身份证号) on every backend: checked with its
birthday, stored whole, shown, logged and exported masked."""

from __future__ import annotations

import io
from datetime import date

import pytest

import crmkit
from crmkit import IdNumber, IdType, ValidationError
from crmkit.adapters.tabular import read_table

NUMBER = "370202199005041230"  # born 4 May 1990
MASKED = "370202********1230"
PASSPORT = "E12345678"
PASSPORT_MASKED = "E1*****78"


def refused(s: crmkit.Session, **fields: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        s.customers.create(**fields)
    return caught.value


def test_an_individual_keeps_the_whole_number_and_no_birthday_is_made_up(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(kind="个人", name="张伟", id_number="370202 19900504 1230")
    with crm.session(actor=admin) as s:
        stored = s.customers.get(c.id)
    assert stored.id_number == IdNumber(NUMBER)
    assert stored.birthday is None


def test_a_bad_number_is_refused_naming_the_field_in_both_languages(crm, admin):
    with crm.session(actor=admin) as s:
        err = refused(s, kind="individual", name="张伟", id_number=NUMBER[:-1] + "9")
        assert err.fields == ("id_number",)
        assert err.errors[0].code == "id_number.invalid"
        assert err.message("zh").startswith(
            "1 个字段有误：身份证号 — 身份证号：不是有效的居民身份证号码"
        )
        assert "末位校验码不正确" in err.message("zh")
        assert "ID number: is not a valid resident identity card number" in err.message("en")
        assert s.customers.count() == 0


def test_a_birthday_that_is_not_the_numbers_birth_date_is_refused(crm, admin):
    with crm.session(actor=admin) as s:
        err = refused(s, kind="individual", name="张伟", id_number=NUMBER, birthday="1990-05-05")
        assert err.fields == ("birthday",)
        assert err.errors[0].message_zh == "与身份证号中的出生日期不一致"
        assert err.errors[0].message_en == "does not match the birth date in the identity number"
        c = s.customers.create(
            kind="individual", name="张伟", id_number=NUMBER, birthday="1990年5月4日"
        )
        assert c.birthday == date(1990, 5, 4)
        with pytest.raises(ValidationError) as caught:
            s.customers.update(c.id, birthday="1991-05-04")
        assert caught.value.fields == ("birthday",)
        other = s.customers.create(kind="individual", name="李娜", birthday="1985-01-02")
        with pytest.raises(ValidationError) as caught:
            s.customers.update(other.id, id_number=NUMBER)
        assert caught.value.fields == ("birthday",)


def test_a_number_is_only_for_individuals(crm, admin):
    with crm.session(actor=admin) as s:
        err = refused(s, name="青岛金智电子科技有限公司", id_number=NUMBER)
        assert err.fields == ("id_number",)
        assert err.errors[0].message_zh == "仅适用于个人客户"
        person = s.customers.create(kind="individual", name="张伟", id_number=NUMBER)
        with pytest.raises(ValidationError) as caught:
            s.customers.update(person.id, kind="company", name="张伟贸易有限公司")
        assert caught.value.fields == ("id_number",)
        assert MASKED in repr(caught.value.errors) and NUMBER not in repr(caught.value.errors)


def test_a_number_whose_birth_date_is_still_to_come_is_refused(crm, admin):
    future = "370202" + "20300101" + "123"
    from stdnum.cn import ric

    future += ric.calc_check_digit(future + "0")
    with crm.session(actor=admin) as s:
        err = refused(s, kind="individual", name="张伟", id_number=future)
    assert err.fields == ("id_number",)
    assert "其中的出生日期晚于今天" in err.message("zh")


def test_the_operation_log_shows_the_number_masked(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(kind="individual", name="张伟")
        s.customers.update(c.id, id_number=NUMBER)
    with crm.session(actor=admin) as s, crmkit.language("zh"):
        (line,) = s.audit.describe(s.audit.list(entity_id=c.id, action="update").items)
    assert sorted(change[1:] for change in line.changes) == [
        ("证件类型", "", "居民身份证"),  # a number without a type is a resident card's
        ("身份证号", "", MASKED),
    ]


def test_the_log_of_a_merge_shows_the_winner_and_the_losers_numbers_masked(crm, admin):
    with crm.session(actor=admin) as s:
        winner = s.customers.create(kind="individual", name="张伟", mobile="13800138000")
        loser = s.customers.create(
            kind="individual", name="张伟", mobile="13800138001", id_number=NUMBER
        )
        s.customers.merge(winner.id, [loser.id])
    with crm.session(actor=admin) as s, crmkit.language("zh"):
        lines = s.audit.describe(s.audit.list(action="merge").items)
        assert s.customers.get(winner.id).id_number == IdNumber(NUMBER)
    shown = " ".join(" ".join(change[1:]) for line in lines for change in line.changes)
    assert f"id_number: {MASKED}" in shown and "138 0013 8001" in shown
    assert NUMBER not in shown


def test_exports_write_it_masked_and_reading_the_export_back_keeps_the_number(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(
            kind="individual", name="张伟", mobile="13800138000", id_number=NUMBER
        )
    for codes in (False, True):
        out = io.BytesIO()
        with crmkit.language("zh"), crm.session(actor=admin) as s:
            s.customers.export(out, codes=codes)
        table = read_table(io.BytesIO(out.getvalue()))
        (row,) = [dict(zip(table.headers, r.cells, strict=True)) for r in table.rows]
        assert row["身份证号"] == MASKED
        assert NUMBER not in out.getvalue().decode("utf-8-sig")
    with crm.session(actor=admin) as s:
        report = s.imports.run(io.BytesIO(out.getvalue()), on_duplicate="update")
        assert report.counts.get("failed", 0) == 0, report.results
    with crm.session(actor=admin) as s:
        assert s.customers.get(c.id).id_number == IdNumber(NUMBER)
    # Into another CRM the masked column brings no number (and fails no row).
    again = crmkit.open()
    boss = again.bootstrap_admin(name="管理员", password="admin-pass-1")
    with again.session(actor=boss) as s:
        report = s.imports.run(io.BytesIO(out.getvalue()))
        assert report.counts["created"] == 1, report.results
        assert s.customers.list().items[0].id_number is None
    again.close()


def test_an_import_column_of_numbers_fills_them_in(crm, admin):
    sheet = (
        "客户名称,客户类型,身份证号码,出生日期\r\n"
        "张伟,个人,11010519491231002x,1949-12-31\r\n"
        f"李娜,个人,{NUMBER[:-1]}9,\r\n"
    )
    with crm.session(actor=admin) as s:
        report = s.imports.run(io.BytesIO(sheet.encode("utf-8")))
        assert report.counts["created"] == 1 and report.counts["failed"] == 1, report.results
        (created,) = s.customers.list().items
        assert created.id_number == IdNumber("11010519491231002X")


# -- other identity documents ---------------------------------------------------------------
def test_a_passport_customer_round_trips_with_its_document_type(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(kind="个人", name="张伟", id_type="护照", id_number="e1234-5678")
        assert c.id_type is IdType.PASSPORT
    with crm.session(actor=admin) as s:
        stored = s.customers.get(c.id)
        (listed,) = s.customers.list().items
    assert stored.id_number == IdNumber(PASSPORT, IdType.PASSPORT)
    assert stored.id_type is IdType.PASSPORT and stored.birthday is None
    assert listed == stored
    assert str(stored.id_number) == PASSPORT_MASKED
    with crm.session(actor=admin) as s:  # by its value or its English label too
        other = s.customers.create(
            kind="individual", name="李娜", id_type="Passport", id_number="G87654321"
        )
        hk = s.customers.create(
            kind="individual", name="陈静", id_type="hk_macao", id_number="H12345678"
        )
        # only the number changes: it is still checked as the stored type's
        s.customers.update(other.id, id_number="G 1111 2222")
        assert s.customers.get(other.id).id_number == IdNumber("G11112222", IdType.PASSPORT)
        assert s.customers.get(hk.id).id_type is IdType.HK_MACAO


def test_a_number_without_a_type_is_a_resident_cards(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(kind="individual", name="张伟", id_number=NUMBER)
        assert c.id_type is IdType.RESIDENT
        err = None
        with pytest.raises(ValidationError) as caught:  # a passport number is not one
            s.customers.create(kind="individual", name="李娜", id_number=PASSPORT)
        err = caught.value
        assert err.fields == ("id_number",)
        cleared = s.customers.update(c.id, id_number="")
        assert cleared.id_number is None and cleared.id_type is None


def test_a_type_without_a_number_is_refused_and_nothing_is_written(crm, admin):
    with crm.session(actor=admin) as s:
        err = refused(s, kind="individual", name="张伟", id_type="passport")
        assert err.fields == ("id_type",)
        assert err.errors[0].code == "customer.id_type_without_number"
        assert "证件类型" in err.message("zh") and "需同时填写证件号码" in err.message("zh")
        assert "ID type" in err.message("en") and "needs the document's number" in err.message("en")
        assert s.customers.count() == 0
        bad = refused(s, kind="individual", name="张伟", id_type="驾照", id_number=PASSPORT)
        assert bad.fields == ("id_type",) and bad.errors[0].code == "invalid_choice"
        company = refused(s, name="青岛金智电子科技有限公司", id_type="passport")
        assert "id_type" in company.fields
        assert s.customers.count() == 0


def test_the_birthday_check_is_for_resident_cards_only(crm, admin):
    with crm.session(actor=admin) as s:
        err = refused(
            s,
            kind="individual",
            name="张伟",
            id_type="居民身份证",
            id_number=NUMBER,
            birthday="1990-05-05",
        )
        assert err.fields == ("birthday",)
        c = s.customers.create(
            kind="individual",
            name="张伟",
            id_type=IdType.PASSPORT,
            id_number=PASSPORT,
            birthday="1990-05-05",
        )
        assert c.birthday == date(1990, 5, 5)
        # turning it into a resident card re-checks the number (and the birthday)
        with pytest.raises(ValidationError) as caught:
            s.customers.update(c.id, id_type="resident")
        assert caught.value.fields == ("id_number",)
        with pytest.raises(ValidationError) as caught:
            s.customers.update(c.id, id_type="resident", id_number=NUMBER)
        assert caught.value.fields == ("birthday",)
        changed = s.customers.update(
            c.id, id_type="resident", id_number=NUMBER, birthday="1990-05-04"
        )
        assert changed.id_number == IdNumber(NUMBER) and changed.id_type is IdType.RESIDENT


def test_a_passport_is_exported_masked_with_its_type_and_reads_back(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(
            kind="individual",
            name="张伟",
            mobile="13800138000",
            id_type="passport",
            id_number=PASSPORT,
        )
    out = io.BytesIO()
    with crmkit.language("zh"), crm.session(actor=admin) as s:
        s.customers.export(out)
    table = read_table(io.BytesIO(out.getvalue()))
    (row,) = [dict(zip(table.headers, r.cells, strict=True)) for r in table.rows]
    assert (row["身份证号"], row["证件类型"]) == (PASSPORT_MASKED, "护照")
    assert PASSPORT not in out.getvalue().decode("utf-8-sig")
    with crm.session(actor=admin) as s:
        report = s.imports.run(io.BytesIO(out.getvalue()), on_duplicate="update")
        assert report.counts.get("failed", 0) == 0, report.results
        assert s.customers.get(c.id).id_number == IdNumber(PASSPORT, IdType.PASSPORT)


def test_the_log_shows_the_type_and_the_passport_masked(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(kind="individual", name="张伟")
        s.customers.update(c.id, id_type="passport", id_number=PASSPORT)
    with crm.session(actor=admin) as s, crmkit.language("zh"):
        (line,) = s.audit.describe(s.audit.list(entity_id=c.id, action="update").items)
    assert sorted(change[1:] for change in line.changes) == [
        ("证件类型", "", "护照"),
        ("身份证号", "", PASSPORT_MASKED),
    ]
