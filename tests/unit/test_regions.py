"""Regions are checked against the shipped GB/T 2260 table."""

from __future__ import annotations

import pytest

from crmkit.domain.errors import ValidationError
from crmkit.domain.regions import REGIONS_VERSION, Region, parse_address_region, regions_table


@pytest.mark.parametrize(
    "raw",
    [
        "山东省/青岛市/市南区",
        "山东/青岛/市南",
        "山东省 青岛市 市南区",
        "山东省-青岛市-市南区",
        "山东省青岛市市南区",
        "370202",
        "青岛市/市南区",
    ],
)
def test_every_common_way_of_writing_a_district_finds_it(raw: str):
    region = Region.parse(raw)
    assert region.code == "370202"
    assert region.path == "山东省/青岛市/市南区"
    assert (region.province, region.city, region.district) == ("山东省", "青岛市", "市南区")


def test_municipalities_are_shown_once_and_accepted_either_way():
    for raw in ("北京市/东城区", "北京市/北京市/东城区", "北京/东城"):
        region = Region.parse(raw)
        assert region.code == "110101"
        assert region.path == "北京市/东城区"


def test_a_province_or_a_city_alone_is_a_region_that_contains_its_districts():
    shandong, qingdao = Region.parse("山东省"), Region.parse("山东省/青岛市")
    district = Region.parse("370202")
    assert (shandong.code, qingdao.code) == ("370000", "370200")
    assert shandong.contains(district)
    assert qingdao.contains(district)
    assert not Region.parse("110000").contains(district)
    assert district.province_code == "370000"
    assert district.city_code == "370200"


def test_a_district_outside_the_named_city_is_a_mismatch():
    with pytest.raises(ValidationError) as caught:
        Region.parse("山东省/上海市")
    assert caught.value.errors[0].code == "region.mismatch"


def test_an_unknown_region_names_the_table_version():
    with pytest.raises(ValidationError) as caught:
        Region.parse("火星省/奥林匹斯市")
    error = caught.value.errors[0]
    assert error.code == "region.unknown"
    assert error.params["version"] == REGIONS_VERSION
    with pytest.raises(ValidationError):
        Region.from_code("999999")


def test_county_level_cities_directly_under_a_province_are_found():
    assert Region.parse("湖北省/仙桃市").code == "429004"
    assert Region.parse("广东省/东莞市").code == "441900"


def test_addresses_split_into_region_and_street():
    region, rest = parse_address_region("山东省青岛市市南区香港中路10号")
    assert region is not None
    assert region.code == "370202"
    assert rest == "香港中路10号"
    region, rest = parse_address_region("青岛市市南区香港中路10号")
    assert region is not None
    assert region.code == "370202"
    region, rest = parse_address_region("吉林省吉林市船营区某路1号")
    assert region is not None
    assert region.path == "吉林省/吉林市/船营区"
    assert parse_address_region("某路1号") == (None, "某路1号")


def test_the_table_covers_every_province():
    provinces = [c for c in regions_table().names if c.endswith("0000")]
    assert len(provinces) >= 31
