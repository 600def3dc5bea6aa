"""The data dictionary (数据字典): choice lists that hold source, industry and tags to one
spelling through every door, once an admin gives a list its choices."""

from __future__ import annotations

import io

import pytest

from crmkit import PermissionDenied, ValidationError


@pytest.fixture
def sources(crm, admin):
    with crm.session(actor=admin) as s:
        s.dictionary.create(list="source", value="网络推广", aliases=["网络", "网推"], sort=1)
        s.dictionary.create(list="source", value="展会", sort=2)
        s.dictionary.create(list="tag", value="重点客户", aliases=["VIP"])


def test_a_list_without_choices_stays_open(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(name="青岛金智电子科技有限公司", source="随便写的来源")
    assert c.source == "随便写的来源"


def test_a_closed_list_stores_the_choice_an_alias_stands_for(crm, admin, sources):
    with crm.session(actor=admin) as s:
        assert s.dictionary.choices("source") == ["网络推广", "展会"]
        c = s.customers.create(name="青岛金智电子科技有限公司", source="网推", tags=["vip"])
    assert (c.source, c.tags) == ("网络推广", ("重点客户",))


def test_a_value_outside_a_closed_list_is_refused_naming_the_choices(crm, admin, sources):
    with crm.session(actor=admin) as s:
        with pytest.raises(ValidationError) as caught:
            s.customers.create(name="青岛金智电子科技有限公司", source="电话", tags=["老客户"])
        assert set(caught.value.fields) == {"source", "tags"}
        by_field = caught.value.by_field()
        assert by_field["source"][0].code == "dictionary.unknown"
        assert "网络推广、展会" in by_field["source"][0].message("zh")
        c = s.customers.create(name="青岛金智电子科技有限公司", source="展会")
        with pytest.raises(ValidationError):
            s.customers.update(c.id, source="电话")
        # Industry has no choices: it stays free text.
        assert s.customers.update(c.id, industry="电子").industry == "电子"


def test_two_choices_of_a_list_never_share_a_spelling(crm, admin, sources):
    with crm.session(actor=admin) as s:
        with pytest.raises(ValidationError) as caught:
            s.dictionary.create(list="source", value="ＷＷ", aliases=["网络"])
        assert caught.value.errors[0].code == "dictionary.taken"
        assert "网络推广" in caught.value.errors[0].message("zh")
        # Another list may use the same word.
        s.dictionary.create(list="industry", value="网络")


def test_everyone_reads_the_lists_and_only_admins_keep_them(crm, team, sources):
    with crm.session(actor=team["zhang"]) as s:
        assert s.dictionary.choices("source") == ["网络推广", "展会"]
        with pytest.raises(PermissionDenied):
            s.dictionary.create(list="source", value="转介绍")


def test_an_inactive_choice_is_no_longer_accepted(crm, admin, sources):
    with crm.session(actor=admin) as s:
        fair = s.dictionary.list(list="source", value="展会").items[0]
        s.dictionary.update(fair.id, active=False)
        with pytest.raises(ValidationError):
            s.customers.create(name="青岛金智电子科技有限公司", source="展会")


def test_an_import_maps_aliases_and_fails_unknown_values_row_by_row(crm, admin, sources):
    sheet = (
        "客户名称,来源\n"
        "青岛金智电子科技有限公司,网络\n上海四通贸易有限公司,电话\n北京华瑞贸易有限公司,展会\n"
    )
    with crm.session(actor=admin) as s:
        report = s.imports.run(io.BytesIO(sheet.encode("utf-8")))
    assert (report.counts["created"], report.counts["failed"]) == (2, 1)
    (failed,) = [r for r in report.results if r.problems]
    assert failed.problems[0].code == "dictionary.unknown"
    with crm.session(actor=admin) as s:
        assert sorted(c.source for c in s.customers.list()) == ["展会", "网络推广"]
