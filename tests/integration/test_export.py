"""Exports respect the caller's data scope and cannot smuggle formulas into Excel."""

from __future__ import annotations

import io

import openpyxl

import crmkit
from crmkit.adapters.tabular import read_table
from crmkit.domain.headers import map_headers


def test_a_salesperson_exports_only_their_customers(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        s.customers.create(
            name="青岛金智电子科技有限公司",
            mobile="13800138000",
            region="山东省/青岛市/市南区",
            tags=["VIP"],
        )
    with crm.session(actor=team["li"]) as s:
        s.customers.create(name="上海华东建材有限公司")
    out = io.BytesIO()
    with crm.session(actor=team["zhang"]) as s:
        assert s.customers.export(out) == 1
    table = read_table(io.BytesIO(out.getvalue()))
    rows = [r.cells for r in table.rows]
    assert len(rows) == 1
    assert rows[0][0] == "青岛金智电子科技有限公司"
    assert "138 0013 8000" in rows[0]
    assert "张三" in rows[0]  # the owner by name


def test_exported_headers_map_back_to_fields_in_both_languages(crm, admin):
    with crm.session(actor=admin) as s:
        s.customers.create(name="青岛金智电子科技有限公司")
    for lang in ("zh", "en"):
        out = io.BytesIO()
        with crmkit.language(lang), crm.session(actor=admin) as s:
            s.customers.export(out, format="xlsx")
        mapping = map_headers(read_table(io.BytesIO(out.getvalue())).headers)
        assert mapping.unknown == ()
        assert "name" in mapping.fields and "owner" in mapping.fields


def test_a_formula_typed_into_a_field_is_exported_as_text(crm, admin):
    with crm.session(actor=admin) as s:
        s.customers.create(name="Acme Trading Co.", remarks='=HYPERLINK("http://evil","x")')
    out = io.BytesIO()
    with crm.session(actor=admin) as s:
        s.customers.export(out, format="xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    remarks = [c.value for c in ws[2] if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert remarks == ['\'=HYPERLINK("http://evil","x")']


def test_contacts_export_with_their_customer_in_the_callers_scope_only(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name="青岛金智电子科技有限公司")
        s.contacts.create(customer_id=c.id, name="李四", mobile="13900001234", title="+采购经理")
    with crm.session(actor=team["li"]) as s:
        other = s.customers.create(name="上海华东建材有限公司")
        s.contacts.create(customer_id=other.id, name="王五")
    for fmt in ("csv", "xlsx"):
        out = io.BytesIO()
        with crm.session(actor=team["zhang"]) as s:
            assert s.contacts.export(out, format=fmt) == 1
        table = read_table(io.BytesIO(out.getvalue()))
        (row,) = [r.cells for r in table.rows]
        assert row[:2] == ("青岛金智电子科技有限公司", "李四")
        assert "'+采购经理" in row
        mapping = map_headers(table.headers)
        assert {"contact_name", "contact_mobile"} <= set(mapping.fields)


def test_choices_are_exported_as_labels_that_import_back_and_as_codes_on_request(crm, admin):
    with crm.session(actor=admin) as s:
        s.customers.create(
            name="青岛金智电子科技有限公司",
            category="formal",
            settlement="credit",
            credit_rating="B",
            uscc="91350100M000100Y43",
        )
    people, machines = io.BytesIO(), io.BytesIO()
    with crmkit.language("zh"), crm.session(actor=admin) as s:
        s.customers.export(people)
        s.customers.export(machines, codes=True)
    (row,) = [r.cells for r in read_table(io.BytesIO(people.getvalue())).rows]
    assert {"企业", "正式客户", "终端客户", "赊销", "良"} <= set(row)
    assert not {"company", "formal", "terminal", "credit", "B"} & set(row)
    (coded,) = [r.cells for r in read_table(io.BytesIO(machines.getvalue())).rows]
    assert {"company", "formal", "terminal", "credit", "B"} <= set(coded)
    # What people read goes back in: the labels are import synonyms.
    again = crmkit.open()
    boss = again.bootstrap_admin(name="管理员", password="admin-pass-1")
    with again.session(actor=boss) as s:
        report = s.imports.run(io.BytesIO(people.getvalue()))
        assert report.counts["created"] == 1, report.results
        back = s.customers.list().items[0]
    assert (back.category, back.channel_type, back.settlement, back.credit_rating) == (
        crmkit.Category.FORMAL,
        crmkit.ChannelType.TERMINAL,
        crmkit.Settlement.CREDIT,
        crmkit.CreditRating.B,
    )
    again.close()
