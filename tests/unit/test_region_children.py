"""``Region.children``: the province → city → district levels a region picker offers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crmkit
from crmkit import Region
from crmkit.domain.regions import regions_table


def names(code: str | None) -> list[str]:
    return [r.name for r in Region.children(code)]


def test_the_top_level_is_the_provinces_in_code_order():
    provinces = Region.children()
    assert provinces[0].code == "110000" and provinces[0].name == "北京市"
    assert "山东省" in [p.name for p in provinces]
    assert all(p.code.endswith("0000") and p.parent is None for p in provinces)
    assert [p.code for p in provinces] == sorted(p.code for p in provinces)
    assert Region.children(None) == provinces


def test_a_province_lists_its_cities_and_a_city_its_districts():
    assert "青岛市" in names("370000")
    assert all(r.code.endswith("00") for r in Region.children("370000"))
    districts = Region.children("370200")
    assert districts[0].path == "山东省/青岛市/市南区"
    assert [r.code for r in districts] == sorted(r.code for r in districts)
    assert Region.children("370202") == []  # a district is the last level


def test_a_municipality_lists_its_districts_at_once():
    beijing = Region.children("110000")
    assert beijing[0].name == "东城区" and beijing[0].path == "北京市/东城区"
    assert "北京市" not in [r.name for r in beijing]  # its city row is not a level
    assert {"渝中区", "城口县"} <= set(names("500000"))  # 重庆's districts and counties
    assert "中西区" in names("810000")


def test_directly_administered_county_level_cities_sit_beside_the_cities():
    henan = Region.children("410000")
    assert "济源市" in [r.name for r in henan] and "郑州市" in [r.name for r in henan]
    jiyuan = Region.parse("河南省/济源市")
    assert jiyuan in henan and jiyuan.parent == Region.parse("河南省")
    assert Region.children(jiyuan.code) == []


def test_an_unknown_code_is_a_validation_error_naming_the_field():
    with pytest.raises(crmkit.ValidationError) as caught:
        Region.children("999999", field="customer.region")
    errors = [(e.field, e.code) for e in caught.value.errors]
    assert errors == [("customer.region", "region.unknown")]


def test_a_code_is_read_like_from_code_reads_it():
    assert Region.children(" 370200 ") == Region.children("370200")


def test_every_division_except_the_pseudo_cities_is_reachable_once():
    seen: list[str] = []
    pending: list[str | None] = [None]
    while pending:
        for child in Region.children(pending.pop()):
            seen.append(child.code)
            pending.append(child.code)
    assert len(seen) == len(set(seen))
    # Only the municipalities' city rows (北京市 110100 …, 重庆市 twice) are left out.
    left_out = set(regions_table().names) - set(seen)
    assert left_out == {"110100", "120100", "310100", "500100", "500200"}


@st.composite
def walks(draw: st.DrawFn) -> list[Region]:
    """A path a person could click from the top: one child per level until they stop."""
    path: list[Region] = []
    code: str | None = None
    while True:
        options = Region.children(code)
        if not options or (path and draw(st.booleans())):
            return path
        child = draw(st.sampled_from(options))
        path.append(child)
        code = child.code


@given(walks())
def test_each_picked_child_leads_back_to_its_parent_and_parses_from_its_path(
    walk: list[Region],
):
    parent: Region | None = None
    for child in walk:
        assert child.parent == parent
        assert child in Region.children(parent.code if parent else None)
        assert Region.parse(child.path) == child
        chain = []
        up = child.parent
        while up is not None:
            chain.append(up)
            up = up.parent
        assert chain == walk[: walk.index(child)][::-1]  # straight back up to a province
        parent = child
