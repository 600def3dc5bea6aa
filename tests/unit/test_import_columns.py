"""An import's columns: a region written in several columns is one region, a mapping that
would drop a column says so, and outcomes are labelled for what a run did or a dry run would
do."""

from __future__ import annotations

import pytest

from crmkit.domain.errors import ValidationError
from crmkit.domain.headers import map_headers
from crmkit.domain.imports import Outcome, RowResult
from crmkit.domain.regions import Region, region_from_cells, regions_table


@pytest.mark.parametrize(
    "headers",
    [
        ["省份", "城市", "区县"],
        ["省", "市", "区/县"],
        ["所在省份", "所在城市", "县"],
        ["省份名称", "地级市", "区"],
        ["Province", "City", "District"],
    ],
)
def test_province_city_and_district_headers_each_find_their_part(headers: list[str]):
    mapping = map_headers(["公司名称", *headers])
    assert mapping.fields == ("name", "province", "city", "district")
    assert mapping.warnings == ()


def test_the_region_parts_are_named_together_for_row_problems():
    headers = ["公司名称", "地区", "省份", "城市", "区县", "手机"]
    by_field = map_headers(headers).headers_by_field(headers)
    assert by_field["region"] == "地区, 省份, 城市, 区县"
    assert (by_field["city"], by_field["mobile"]) == ("城市", "手机")


def test_several_columns_may_be_mapped_to_the_region_and_are_all_kept():
    mapping = map_headers(
        ["公司名称", "省份", "城市"], explicit={"省份": "region", "城市": "region"}
    )
    assert mapping.columns == {0: "name", 1: "region", 2: "region"}
    assert mapping.warnings == ()


def test_a_mapping_that_drops_a_column_says_which_and_why_in_both_languages():
    headers = ["公司名称", "手机", "手机号码", "喜好", "备注"]
    mapping = map_headers(headers, explicit={"手机号码": "mobile", "备注": ""})
    assert mapping.columns == {0: "name", 1: "mobile"}
    taken, unmapped, ignored = mapping.warnings
    assert (taken.code, taken.column, taken.position) == ("mapping.taken", "手机号码", 2)
    assert (taken.field, taken.kept) == ("mobile", "手机")
    assert "手机号码" in taken.message_zh and "“手机”" in taken.message_zh
    assert "column 手机 gives the same field" in taken.message_en
    assert (unmapped.code, unmapped.column) == ("mapping.unmapped", "喜好")
    assert unmapped.message_zh == "“喜好”列没有对应的字段，其内容不会导入"
    assert (ignored.code, ignored.column) == ("mapping.ignored", "备注")
    assert "ignored" in ignored.message_en


@pytest.mark.parametrize(
    ("cells", "path"),
    [
        ({"province": "山东省", "city": "青岛市", "district": "市南区"}, "山东省/青岛市/市南区"),
        ({"province": "山东", "city": "青岛", "district": "市南"}, "山东省/青岛市/市南区"),
        ({"province": "北京市", "city": "北京市", "district": "朝阳区"}, "北京市/朝阳区"),
        ({"province": "北京", "city": "市辖区", "district": "朝阳区"}, "北京市/朝阳区"),
        ({"province": "重庆市", "city": "重庆市", "district": "巫山县"}, "重庆市/巫山县"),
        ({"province": "吉林", "city": "吉林"}, "吉林省/吉林市"),  # the province's namesake city
        ({"province": "湖北省", "district": "仙桃市"}, "湖北省/仙桃市"),
        ({"city": "青岛市", "district": "市南区"}, "山东省/青岛市/市南区"),
        ({"whole": ["山东省"], "city": "青岛市"}, "山东省/青岛市"),
        ({"whole": ["山东省/青岛市/市南区"], "province": "山东省"}, "山东省/青岛市/市南区"),
        ({"whole": ["朝阳区"], "province": "北京"}, "北京市/朝阳区"),  # ambiguous alone
        ({"whole": ["山东省", "青岛市", "市南区"]}, "山东省/青岛市/市南区"),
    ],
)
def test_region_cells_combine_into_the_most_specific_reading(cells: dict, path: str):
    whole = cells.pop("whole", ())
    region = region_from_cells(whole, **cells)
    assert region is not None and region.path == path


def test_every_division_written_as_province_city_and_district_cells_is_found():
    for code in regions_table().names:
        region = Region.from_code(code)
        found = region_from_cells(
            province=region.province, city=region.city, district=region.district
        )
        assert found is not None and found.path == region.path, code


@pytest.mark.parametrize(
    ("cells", "code", "params"),
    [
        ({"province": "山东省", "city": "广州市"}, "region.mismatch", {"child": "广州市"}),
        ({"province": "山东省", "city": "青岛市", "district": "朝阳区"}, "region.mismatch", {}),
        (
            {"whole": ["广东省/广州市"], "province": "山东省", "city": "青岛市"},
            "region.conflict",
            {"first": "山东省/青岛市", "second": "广东省/广州市"},
        ),
        ({"whole": ["火星"], "province": "山东省"}, "region.unknown", {}),
    ],
)
def test_region_cells_that_disagree_are_an_error_not_a_choice(cells: dict, code: str, params):
    whole = cells.pop("whole", ())
    with pytest.raises(ValidationError) as caught:
        region_from_cells(whole, **cells)
    (error,) = caught.value.errors
    assert error.code == code
    assert params.items() <= error.params.items()
    assert error.message("zh") and error.message("en")


def test_blank_region_cells_give_no_region():
    assert region_from_cells(["", " "], province=" ", city=None) is None


def test_a_dry_run_labels_say_what_the_import_would_do():
    assert [o.label("zh", dry_run=True) for o in Outcome] == [
        "将创建",
        "将更新",
        "将判为重复",
        "将失败",
    ]
    assert [o.label("zh") for o in Outcome] == ["已创建", "已更新", "重复", "失败"]
    assert Outcome.CREATED.label("en", dry_run=True) == "would be created"
    assert Outcome.UPDATED.label("en", dry_run=True) == "would be updated"
    assert [o.label("en") for o in Outcome] == [o.value for o in Outcome]


def test_what_a_row_duplicates_is_named_for_people():
    stored = RowResult(
        3, Outcome.DUPLICATE, customer_id="c-1", duplicate_of="c-1", customer_name="青岛金智"
    )
    in_file = RowResult(4, Outcome.DUPLICATE, duplicate_of="row 2", customer_name="青岛金智")
    theirs = RowResult(5, Outcome.DUPLICATE, duplicate_of="青岛金智 (李小明)")
    assert stored.duplicate_text("zh") == "青岛金智"
    assert (in_file.duplicate_text("zh"), in_file.duplicate_text("en")) == ("第 2 行", "row 2")
    assert theirs.duplicate_text("en") == "青岛金智 (李小明)"
    assert RowResult(6, Outcome.CREATED).duplicate_text() == ""
