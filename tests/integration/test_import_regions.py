"""Import loses no data without a word (issue 16): a region written in 省份 / 城市 / 区县
columns is stored whole, a mapping that would drop a column says so before the run, a dry run
says what the import would do, and reports name each row's customer rather than its id."""

from __future__ import annotations

import io
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.adapters.tabular import read_table
from crmkit.domain.regions import Region
from crmkit.testing import open_test_crm
from crmkit.testing.strategies import regions
from crmkit.workflows.imports import Outcome


def _gbk(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("gbk"))


SHEET = (
    "公司名称,省份,城市,区县,手机\r\n"
    "青岛金智电子科技有限公司,山东省,青岛市,市南区,13800138000\r\n"
    "北京华夏建材有限公司,北京,市辖区,朝阳区,13600002222\r\n"
    "吉林松花江贸易有限公司,吉林,吉林,,13500003333\r\n"
    "济南泉城商贸有限公司,山东,,,13400004444\r\n"
)


def test_a_gbk_csv_with_province_city_and_district_columns_stores_the_full_region(crm, team):
    with crm.session(actor=team["admin"]) as s:
        headers, mapping = s.imports.inspect(_gbk(SHEET))
        report = s.imports.run(_gbk(SHEET))
        stored = {c.name: c.region for c in s.customers.list().items}
    assert headers[1:4] == ["省份", "城市", "区县"]
    assert mapping.fields == ("name", "province", "city", "district", "mobile")
    assert mapping.warnings == () and report.mapping.warnings == ()
    assert [r.outcome for r in report.results] == [Outcome.CREATED] * 4
    assert {name: region.path if region else None for name, region in stored.items()} == {
        "青岛金智电子科技有限公司": "山东省/青岛市/市南区",
        "北京华夏建材有限公司": "北京市/朝阳区",
        "吉林松花江贸易有限公司": "吉林省/吉林市",
        "济南泉城商贸有限公司": "山东省",
    }
    assert stored["青岛金智电子科技有限公司"].code == "370202"


def test_mapping_a_province_and_a_city_column_both_to_the_region_keeps_both(crm, team):
    # The report: mapped to 地区 together, the province was kept and the city lost.
    sheet = "公司名称,所属省,所属市\r\n青岛金智电子科技有限公司,山东省,青岛市\r\n"
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_gbk(sheet), mapping={"所属省": "region", "所属市": "region"})
        (row,) = report.results
        customer = s.customers.get(row.customer_id)
    assert report.mapping.warnings == ()
    assert customer.region == Region.parse("山东省/青岛市")


def test_a_region_column_and_region_parts_agree_on_the_most_specific_place_or_fail_the_row(
    crm, team
):
    sheet = (
        "公司名称,地区,省份,城市,手机\r\n"
        "青岛金智电子科技有限公司,山东省,,青岛市,13800138000\r\n"  # 地区 the broader one
        "北京华夏建材有限公司,朝阳区,北京,,13600002222\r\n"  # 朝阳区 alone is two places
        "上海华东建材有限公司,山东省/青岛市/市南区,山东,,13700001111\r\n"  # 地区 finer
        "广州天河贸易有限公司,广东省/广州市,山东省,青岛市,12345\r\n"  # contradiction
        "深圳南山科技有限公司,,山东省,广州市,13900001234\r\n"  # a city not in the province
    )
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_gbk(sheet))
        by_row = {r.row: r for r in report.results}
        paths = {
            n: s.customers.get(by_row[n].customer_id).region.path
            for n in (2, 3, 4)
            if by_row[n].customer_id
        }
    assert [r.outcome for r in report.results] == [Outcome.CREATED] * 3 + [Outcome.FAILED] * 2
    assert paths == {2: "山东省/青岛市", 3: "北京市/朝阳区", 4: "山东省/青岛市/市南区"}
    # Every wrong cell is reported at once, the region naming the columns it came from.
    problems = {(p.column, p.code) for p in by_row[5].problems}
    assert problems == {("地区, 省份, 城市", "region.conflict"), ("手机", "phone.invalid")}
    conflict = next(p for p in by_row[5].problems if p.code == "region.conflict")
    assert "山东省/青岛市" in conflict.message_zh and "广东省/广州市" in conflict.message_zh
    assert [(p.column, p.code) for p in by_row[6].problems] == [
        ("地区, 省份, 城市", "region.mismatch")
    ]
    assert by_row[6].problems[0].message_zh == "广州市 不属于 山东省"


def test_a_mapping_that_would_drop_a_column_says_so_before_the_run(crm, team):
    sheet = (
        "公司名称,手机,移动电话,喜好,备注\r\n"
        "青岛金智电子科技有限公司,13800138000,13900001234,茶,\r\n"
    )
    with crm.session(actor=team["admin"]) as s:
        _, mapping = s.imports.inspect(_gbk(sheet), mapping={"备注": ""})
        preview = s.imports.preview(_gbk(sheet), mapping={"备注": ""})
        assert s.customers.count() == 0
    expected = [
        ("mapping.taken", "移动电话", "mobile", "手机"),
        ("mapping.unmapped", "喜好", None, None),
        ("mapping.ignored", "备注", None, None),
    ]
    for warnings in (mapping.warnings, preview.mapping.warnings):
        assert [(w.code, w.column, w.field, w.kept) for w in warnings] == expected
    with crmkit.language("en"):
        texts = [w.message() for w in preview.mapping.warnings]
    assert texts[0] == "column 移动电话 will not be imported: column 手机 gives the same field"
    assert preview.mapping.warnings[1].message_zh == "“喜好”列没有对应的字段，其内容不会导入"


def test_a_dry_run_says_what_the_import_would_do_and_the_run_what_it_did(crm, team, tmp_path):
    with crm.session(actor=team["admin"]) as s:
        s.customers.create(name="上海华东建材有限公司", mobile="13700001111")
    sheet = (
        "公司名称,手机,行业\r\n"
        "青岛金智电子科技有限公司,13800138000,\r\n"
        "上海华东建材有限公司,13700001111,建材\r\n"
        ",12345,\r\n"
    )
    with crm.session(actor=team["admin"]) as s:
        preview = s.imports.preview(_gbk(sheet), on_duplicate="update")
        with crmkit.language("zh"):
            s.imports.write_report(preview, tmp_path / "preview.csv")
        real = s.imports.run(_gbk(sheet), on_duplicate="update")
        with crmkit.language("zh"):
            s.imports.write_report(real, tmp_path / "real.csv")
    assert [preview.label(r.outcome, "zh") for r in preview.results] == [
        "将创建",
        "将更新",
        "将失败",
    ]
    assert [real.label(r.outcome, "zh") for r in real.results] == ["已创建", "已更新", "失败"]
    assert preview.labelled_counts("en") == {
        "would be created": 1,
        "would be updated": 1,
        "would be a duplicate": 0,
        "would fail": 1,
    }
    written = [r.cells[1] for r in read_table(tmp_path / "preview.csv").rows]
    assert written == ["将创建", "将更新", "将失败"]
    assert [r.cells[1] for r in read_table(tmp_path / "real.csv").rows] == [
        "已创建",
        "已更新",
        "失败",
    ]


def test_every_report_names_the_customer_of_each_row_not_its_id(crm, team, tmp_path):
    with crm.session(actor=team["zhang"]) as s:
        mine = s.customers.create(name="上海华东建材有限公司", mobile="13700001111")
    with crm.session(actor=team["li"]) as s:
        s.customers.create(name="北京华夏建材有限公司", mobile="13600002222")
    sheet = (
        "公司名称,手机\r\n"
        "青岛金智电子科技有限公司,13800138000\r\n"  # created
        "金智电子科技（青岛）有限公司,+86 138-0013-8000\r\n"  # duplicates row 2
        "上海华东建材,13700001111\r\n"  # duplicates a customer of one's own
        "北京华夏建材,13600002222\r\n"  # someone else's customer
    )
    with crm.session(actor=team["zhang"]) as s:
        preview = s.imports.preview(_gbk(sheet))
        report = s.imports.run(_gbk(sheet))
        stored = s.imports.report(report.job_id)
        again = s.imports.run(_gbk(sheet))  # the same file: duplicates of what it made
        with crmkit.language("zh"):
            s.imports.write_report(stored, tmp_path / "report.xlsx", format="xlsx")
    names = [
        "青岛金智电子科技有限公司",
        "青岛金智电子科技有限公司",
        "上海华东建材有限公司",
        "北京华夏建材有限公司",
    ]
    for r in (preview, report, stored, again):
        assert [x.customer_name for x in r.results] == names
    assert [r.outcome for r in report.results] == [Outcome.CREATED] + [Outcome.DUPLICATE] * 3
    assert report.results[2].customer_id == mine.id
    rows = [r.cells for r in read_table(tmp_path / "report.xlsx").rows]
    assert [r[2] for r in rows] == names
    assert [r[3] for r in rows] == [
        None,
        "第 2 行",
        "上海华东建材有限公司",
        "北京华夏建材有限公司 (李小明)",
    ]
    assert not any(mine.id in str(cell) for row in rows for cell in row)


def test_an_updated_row_names_the_customer_it_updated(crm, team):
    with crm.session(actor=team["admin"]) as s:
        stored = s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
        sheet = "公司名称,手机,省份,城市\r\n青岛金智电子科技有限公司,13800138000,山东,青岛\r\n"
        (row,) = s.imports.run(_gbk(sheet), on_duplicate="update").results
        updated = s.customers.get(stored.id)
    assert row.outcome is Outcome.UPDATED
    assert row.customer_name == "青岛金智电子科技有限公司"
    assert row.duplicate_text("en") == "青岛金智电子科技有限公司"
    assert updated.region is not None and updated.region.path == "山东省/青岛市"


NAMES = [
    f"{a}{b}商贸有限公司"
    for a, b in itertools.permutations("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥", 2)
]
# A region drawn from the table, written as parts, as one 地区 cell, or as both.
WRITTEN = st.one_of(
    regions().map(lambda r: ((r.province, r.city or "", r.district or "", ""), r.path)),
    regions().map(lambda r: (("", "", "", r.path), r.path)),
    regions().map(lambda r: ((r.province, "", "", r.path), r.path)),
)
# Cells that may disagree, or name nowhere: the outcome is known from how they nest.
MIXED = st.tuples(
    st.sampled_from(["", "山东省", "广东省", "火星"]),
    st.sampled_from(["", "青岛市", "广州市"]),
    st.sampled_from(["", "市南区", "天河区"]),
    st.sampled_from(["", "山东省", "青岛市", "山东省/青岛市/市南区", "广州市", "火星"]),
).map(lambda cells: (cells, _expected(cells)))


def _expected(cells: tuple[str, ...]) -> str | None:
    """The path the cells give when every one names a place and they nest, else None."""
    try:
        places = [Region.parse(c) for c in cells if c]
    except crmkit.ValidationError:
        return None
    finest = [p for p in places if all(q.contains(p) for q in places)]
    if places and not finest:
        return None
    return finest[0].path if finest else ""


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(WRITTEN, MIXED), min_size=1, max_size=12))
def test_every_row_with_region_columns_ends_in_one_outcome_and_keeps_every_part(rows):
    crm = open_test_crm()
    admin = crm.bootstrap_admin(name="管理员", password="admin-secret")
    body = "".join(f"{NAMES[i]},{','.join(cells)}\r\n" for i, (cells, _) in enumerate(rows))
    sheet = "公司名称,省份,城市,区县,地区\r\n" + body
    with crm.session(actor=admin) as s:
        report = s.imports.run(io.BytesIO(sheet.encode("gb18030")))
        created = {r.row: s.customers.get(r.customer_id) for r in report.results if r.customer_id}
    crm.close()
    assert [r.row for r in report.results] == list(range(2, len(rows) + 2))
    assert sum(report.counts.values()) == report.rows_read == len(rows)
    for result, (_, path) in zip(report.results, rows, strict=True):
        if path is None:
            assert result.outcome is Outcome.FAILED
            assert {p.field for p in result.problems} == {"region"}
            continue
        assert result.outcome is Outcome.CREATED, result.problems
        region = created[result.row].region
        assert (region.path if region else "") == path
