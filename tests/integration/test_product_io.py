"""Products in and out of spreadsheets, on every backend: ``products.import_file`` reads a
price list by its (Chinese or English) headers through the products' own create/update, one
outcome per row; ``products.export`` writes what the actor sees in a form the import reads
back unchanged."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.domain import events as ev
from crmkit.testing import open_test_crm
from crmkit.workflows.entity_io import import_file
from crmkit.workflows.products import ProductService

PRICE_LIST = """产品名称,货号,规格型号,计量单位,产品类别,分组,售价,成本价,税率,状态,备注,保修年限
智能门锁,LK-100,指纹+密码,套,门锁/智能门锁,,"1,999.00",1200,13%,启用,-20~60℃ 可用,2
门禁控制器,AC-100,,台,门禁系统,工程项目价,2680,,9%,是,,
酒店刷卡锁,LK-300,,套,智能门锁,,880,,,停用,,
"""


def csv_file(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def xlsx_file(rows: list[list[Any]]) -> io.BytesIO:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


@pytest.fixture
def catalogue(crm: crmkit.CRM, admin: crmkit.User) -> dict[str, Any]:
    """门锁 / 智能门锁, 门禁系统, a group 工程项目价 for managers, a custom field 保修年限."""
    crm.define_field("product", crmkit.CustomField("warranty_years", "number", label_zh="保修年限"))
    with crm.session(actor=admin) as s:
        locks = s.product_categories.create(name="门锁")
        smart = s.product_categories.create(name="智能门锁", parent_id=locks.id)
        access = s.product_categories.create(name="门禁系统")
        group = s.product_groups.create(name="工程项目价", members=["role:manager"])
    return {"locks": locks, "smart": smart, "access": access, "group": group}


def stored(crm: crmkit.CRM, actor: crmkit.User) -> dict[str | None, crmkit.Product]:
    with crm.session(actor=actor) as s:
        return {p.code: p for p in s.products.list(limit=500).items}


def outcomes(report: crmkit.EntityImportReport) -> list[tuple[int, str]]:
    return [(r.row, r.outcome.value) for r in report.rows]


# -- import ---------------------------------------------------------------------------------
def test_a_chinese_price_list_creates_products_with_category_group_and_custom_fields(
    crm, admin, catalogue
):
    with crm.session(actor=admin) as s:
        report = s.products.import_file(csv_file(PRICE_LIST))
    assert outcomes(report) == [(2, "created"), (3, "created"), (4, "created")]
    assert [(r.name, r.key) for r in report.rows] == [
        ("智能门锁", "LK-100"),
        ("门禁控制器", "AC-100"),
        ("酒店刷卡锁", "LK-300"),
    ]
    products = stored(crm, admin)
    lock, controller, card = products["LK-100"], products["AC-100"], products["LK-300"]
    assert report.rows[0].id == lock.id
    assert (lock.name, lock.specification, lock.unit) == ("智能门锁", "指纹+密码", "套")
    assert (lock.price, lock.cost) == (
        crmkit.Money(Decimal("1999.00")),
        crmkit.Money(Decimal("1200")),
    )
    assert (lock.tax_rate, lock.active, lock.category_id) == (
        Decimal("0.13"),
        True,
        catalogue["smart"].id,
    )
    assert lock.description == "-20~60℃ 可用"
    assert lock.custom == {"warranty_years": 2}
    assert (controller.category_id, controller.group_id) == (
        catalogue["access"].id,
        catalogue["group"].id,
    )
    assert controller.tax_rate == Decimal("0.09")
    assert card.active is False and card.category_id == catalogue["smart"].id
    assert card.tax_rate == Decimal("0.13")  # an empty cell: the field's default


def test_gbk_csv_and_xlsx_with_english_headers_are_read_alike(crm, admin, catalogue):
    gbk = "名称,编码,类别,单价\n智能门锁,LK-100,门锁 / 智能门锁,1999\n"
    sheet = xlsx_file(
        [
            ["Product name", "SKU", "Category", "Unit price", "Tax rate", "Active"],
            ["门禁控制器", "AC-100", "门禁系统", 2680, 0.09, "yes"],
        ]
    )
    with crm.session(actor=admin) as s:
        first = s.products.import_file(csv_file(gbk, "gbk"))
        second = s.products.import_file(sheet)
    assert outcomes(first) == [(2, "created")] and outcomes(second) == [(2, "created")]
    products = stored(crm, admin)
    assert products["LK-100"].category_id == catalogue["smart"].id
    assert products["AC-100"].price == crmkit.Money(Decimal("2680"))
    assert products["AC-100"].tax_rate == Decimal("0.09")


def test_a_dry_run_writes_nothing_and_says_would_create_never_created(crm, admin, catalogue):
    with crm.session(actor=admin) as s:
        s.products.create(name="智能门锁", code="LK-100", price="1899")
    with crm.session(actor=admin) as s:
        report = s.products.import_file(csv_file(PRICE_LIST), dry_run=True, on_duplicate="update")
    assert report.dry_run
    assert outcomes(report) == [(2, "would_update"), (3, "would_create"), (4, "would_create")]
    assert report.counts["created"] == report.counts["updated"] == 0
    assert report.rows[0].changed and "price" in report.rows[0].changed
    assert report.rows[1].id is None  # nothing was created, so there is no id to give
    products = stored(crm, admin)
    assert list(products) == ["LK-100"]
    assert (
        products["LK-100"].price == crmkit.Money(Decimal("1899"))
        and products["LK-100"].version == 1
    )
    with crm.session(actor=admin) as s:
        assert [e.action for e in s.audit.history(products["LK-100"].id)] == [
            crmkit.AuditAction.CREATE
        ]
    with crm.session(actor=admin) as s:  # and the import itself does what the dry run said
        real = s.products.import_file(csv_file(PRICE_LIST), on_duplicate="update")
    assert outcomes(real) == [(2, "updated"), (3, "created"), (4, "created")]


def test_an_unknown_category_fails_its_row_naming_the_column_in_both_languages(
    crm, admin, catalogue
):
    text = "名称,编码,类别,分组\n门铃,DB-1,门铃类,\n门锁,LK-1,门锁,无此分组\n"
    with crm.session(actor=admin) as s:
        report = s.products.import_file(csv_file(text))
    assert outcomes(report) == [(2, "failed"), (3, "failed")]
    (problem,) = report.rows[0].problems
    assert (problem.column, problem.field, problem.code, problem.value) == (
        "类别",
        "category_id",
        "ref.unknown_name",
        "门铃类",
    )
    assert problem.message_zh == "没有这个名称的记录"
    assert problem.message_en == "no record has this name"
    assert [p.column for p in report.rows[1].problems] == ["分组"]
    assert report.rows[0].note("zh") == "类别：没有这个名称的记录"
    assert stored(crm, admin) == {}  # unknown categories are not made up either
    with crm.session(actor=admin) as s:
        assert s.product_categories.count() == 3


def test_a_name_two_categories_share_asks_for_the_path(crm, admin, catalogue):
    with crm.session(actor=admin) as s:
        other = s.product_categories.create(name="五金")
        s.product_categories.create(name="智能门锁", parent_id=other.id)
        report = s.products.import_file(
            csv_file("名称,类别\n甲,智能门锁\n乙,门锁/智能门锁\n丙,五金 / 智能门锁\n")
        )
    assert outcomes(report) == [(2, "failed"), (3, "created"), (4, "created")]
    assert report.rows[0].problems[0].code == "ref.ambiguous_path"
    assert "门锁/智能门锁" in report.rows[0].problems[0].message_zh or (
        "五金/智能门锁" in report.rows[0].problems[0].message_zh
    )
    with crm.session(actor=admin) as s:
        names = {p.name: p.category_id for p in s.products.list().items}
    assert names["乙"] == catalogue["smart"].id and names["丙"] != catalogue["smart"].id


def test_a_failing_row_writes_nothing_and_keeps_the_others(crm, admin, catalogue):
    text = (
        "名称,编码,单价,税率,启用\n"
        "好的一,A-1,10,13%,是\n"
        ",A-2,abc,130%,也许\n"  # every wrong field at once
        "好的二,A-3,20,,\n"
    )
    with crm.session(actor=admin) as s:
        report = s.products.import_file(csv_file(text))
    assert outcomes(report) == [(2, "created"), (3, "failed"), (4, "created")]
    assert [(p.column, p.code) for p in report.rows[1].problems] == [
        ("名称", "required"),
        ("单价", "money.invalid"),
        ("税率", "rate.invalid"),
        ("启用", "bool.invalid"),
    ]
    assert all(p.message_en and p.message_zh for p in report.rows[1].problems)
    assert sorted(stored(crm, admin)) == ["A-1", "A-3"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("skip", ["skipped", "created", "skipped", "created"]),
        ("update", ["updated", "created", "updated", "created"]),
        ("error", ["failed", "created", "failed", "created"]),
    ],
)
def test_a_taken_code_follows_the_duplicate_policy_in_the_store_and_in_the_file(
    crm, admin, catalogue, policy, expected
):
    with crm.session(actor=admin) as s:
        old = s.products.create(name="旧门锁", code="LK-100", price="1500")
    text = (
        "名称,编码,单价\n"
        "智能门锁,LK-100,1999\n"  # a stored product's code
        "门禁控制器,AC-100,2680\n"
        "门禁控制器 II,AC-100,2880\n"  # the code of row 3
        "门铃,,99\n"  # no code: always new
    )
    with crm.session(actor=admin) as s:
        dry = s.products.import_file(csv_file(text), on_duplicate=policy, dry_run=True)
    with crm.session(actor=admin) as s:
        report = s.products.import_file(csv_file(text), on_duplicate=policy)
    assert [r.outcome.value for r in report.rows] == expected
    wet = {"would_create": "created", "would_update": "updated"}
    assert [wet.get(r.outcome.value, r.outcome.value) for r in dry.rows] == expected
    products = stored(crm, admin)
    if policy == "skip":
        assert report.rows[0].reason is crmkit.SkipReason.EXISTS
        assert report.rows[0].id == old.id and report.rows[0].name == "智能门锁"
        assert report.rows[2].reason is crmkit.SkipReason.DUPLICATE_ROW
        assert report.rows[2].duplicate_of == 3 and report.rows[2].note("en") == "repeats row 3"
        assert products["LK-100"] == old
        assert products["AC-100"].price == crmkit.Money(Decimal("2680"))
    elif policy == "update":
        assert products["LK-100"].id == old.id
        assert (products["LK-100"].name, products["LK-100"].price) == (
            "智能门锁",
            crmkit.Money(Decimal("1999")),
        )
        assert products["AC-100"].name == "门禁控制器 II" and products["AC-100"].version == 2
        assert report.rows[2].duplicate_of == 3
        assert report.rows[0].changed == ("name", "price")
    else:
        assert [(p.column, p.code) for p in report.rows[0].problems] == [("编码", "taken")]
        assert [(p.column, p.code) for p in report.rows[2].problems] == [
            ("编码", "import.duplicate_row")
        ]
        assert report.rows[2].problems[0].message_zh == "与文件第 3 行重复"
        assert products["LK-100"] == old
    assert sum(report.count(o) for o in ("created", "updated", "skipped", "failed")) == 4


def test_an_update_leaves_empty_cells_alone_and_an_unchanged_row_is_skipped(crm, admin, catalogue):
    with crm.session(actor=admin) as s:
        p = s.products.create(name="智能门锁", code="LK-100", price="1999", unit="套", cost="1200")
    text = "编码,名称,单价,成本\nLK-100,智能门锁,1899,\nLK-100,智能门锁,1899,\n"
    with crm.session(actor=admin) as s:
        report = s.products.import_file(csv_file(text), on_duplicate="update")
    assert outcomes(report) == [(2, "updated"), (3, "skipped")]
    assert report.rows[1].reason is crmkit.SkipReason.UNCHANGED
    (after,) = stored(crm, admin).values()
    assert (after.id, after.price, after.cost, after.unit, after.version) == (
        p.id,
        crmkit.Money(Decimal("1899")),
        crmkit.Money(Decimal("1200")),
        "套",
        2,
    )


def test_an_explicit_mapping_overrides_the_synonyms_and_can_ignore_a_column(crm, admin, catalogue):
    text = "品名,型号,内部备注,价格\n智能门锁,X1,别导入,1999\n"
    with crm.session(actor=admin) as s:
        report = s.products.import_file(
            csv_file(text), mapping={"型号": "code", "内部备注": "", "价格": "cost"}
        )
        with pytest.raises(crmkit.ValidationError) as caught:
            s.products.import_file(csv_file(text), mapping={"价格": "colour"})
        with pytest.raises(crmkit.ValidationError):
            s.products.import_file(csv_file(text), on_duplicate="create")
    assert caught.value.fields == ("mapping.价格",)
    assert report.mapping.fields == ("name", "code", "cost")
    (p,) = stored(crm, admin).values()
    assert (p.code, p.specification, p.description, p.cost, p.price) == (
        "X1",
        None,
        None,
        crmkit.Money(Decimal("1999")),
        None,
    )


def test_unknown_headers_are_reported_and_blank_rows_are_skipped(crm, admin, catalogue):
    with crm.session(actor=admin) as s:
        report = s.products.import_file(csv_file("名称,颜色\n门锁,红\n,\n门铃,白\n"))
    assert report.mapping.unknown == ("颜色",)
    assert outcomes(report) == [(2, "created"), (3, "skipped"), (4, "created")]
    assert report.rows[1].reason is crmkit.SkipReason.EMPTY


def test_imported_products_are_audited_and_announced_like_typed_ones(crm, admin, catalogue):
    created: list[ev.RecordCreated] = []
    updated: list[ev.RecordUpdated] = []
    crm.subscribe(ev.RecordCreated, created.append)
    crm.subscribe(ev.RecordUpdated, updated.append)
    with crm.session(actor=admin) as s:
        s.products.import_file(csv_file("名称,编码,单价\n门锁,LK-1,10\n"))
    with crm.session(actor=admin) as s:
        s.products.import_file(csv_file("名称,编码,单价\n门锁,LK-1,12\n"), on_duplicate="update")
    (p,) = stored(crm, admin).values()
    with crm.session(actor=admin) as s:
        history = s.audit.history(p.id)
    assert [e.action for e in history] == [crmkit.AuditAction.CREATE, crmkit.AuditAction.UPDATE]
    assert [a["amount"] for a in history[1].changes["price"]] == ["10", "12"]
    assert [e.entity_id for e in created if e.entity_type == "product"] == [p.id]
    assert [e.fields for e in updated] == [("price",)]


def test_only_those_who_may_create_products_import_them(crm, admin, team):
    with crm.session(actor=team["zhang"]) as s, pytest.raises(crmkit.PermissionDenied):
        s.products.import_file(csv_file("名称\n门锁\n"))
    with crm.session(actor=team["boss"]) as s:
        report = s.products.import_file(csv_file("名称\n门锁\n"))
    assert outcomes(report) == [(2, "created")]


def test_a_code_held_by_a_product_the_importer_cannot_see_fails_without_disclosing_it(
    crm, admin, team
):
    with crm.session(actor=admin) as s:
        hidden = s.product_groups.create(name="总部专用", members=[f"user:{admin.id}"])
        s.products.create(name="保密型号", code="S-1", group_id=hidden.id)
    with crm.session(actor=team["boss"]) as s:
        report = s.products.import_file(csv_file("名称,编码\n门锁,S-1\n"), on_duplicate="update")
    assert outcomes(report) == [(2, "failed")]
    (problem,) = report.rows[0].problems
    assert (problem.column, problem.code) == ("编码", "taken")
    assert "保密型号" not in problem.message_zh + problem.message_en


class _RacedProducts(ProductService):
    """Products whose code check comes too late: as when another writer takes the code
    between the check and the write (the store itself must then refuse it)."""

    def check_unique(self, data: Any, current: Any, errors: Any) -> None:
        return None


def test_a_code_taken_by_a_concurrent_writer_fails_only_its_row(crm, admin, team):
    with crm.session(actor=admin) as s:
        hidden = s.product_groups.create(name="总部专用", members=[f"user:{admin.id}"])
        s.products.create(name="保密型号", code="S-1", group_id=hidden.id)
    text = "名称,编码\n门锁,A-1\n门铃,S-1\n门禁,A-2\n"
    with crm.session(actor=team["boss"]) as s:
        report = import_file(_RacedProducts(s), csv_file(text))
    assert outcomes(report) == [(2, "created"), (3, "failed"), (4, "created")]
    assert [(p.column, p.code) for p in report.rows[1].problems] == [("编码", "taken")]
    assert sorted(stored(crm, team["boss"])) == ["A-1", "A-2"]


# -- export ---------------------------------------------------------------------------------
def read_back(data: bytes, fmt: str) -> list[list[str | None]]:
    from crmkit.adapters.tabular import read_table

    table = read_table(io.BytesIO(data), format=fmt)  # type: ignore[arg-type]
    return [list(table.headers), *[list(r.cells) for r in table.rows]]


def arrange(s: crmkit.Session, catalogue: dict[str, Any]) -> None:
    s.products.create(
        name="智能门锁", code="LK-100", specification="-20~60℃", unit="套", price="1999.00",
        cost="1200.5", tax_rate="0.13", category_id=catalogue["smart"].id,
        custom={"warranty_years": "2"}, description="第一行\n第二行",
    )  # fmt: skip
    s.products.create(
        name="=HYPERLINK(\"http://x\")", code="AC-100", price="2680", tax_rate="6.5%",
        category_id=catalogue["access"].id, group_id=catalogue["group"].id, active=False,
    )  # fmt: skip
    s.products.create(name="门铃", code="DB-1", tax_rate="0")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exporting_then_importing_with_update_changes_nothing(crm, admin, catalogue, fmt):
    with crm.session(actor=admin) as s:
        arrange(s, catalogue)
    before = stored(crm, admin)
    out = io.BytesIO()
    with crm.session(actor=admin) as s:
        assert s.products.export(out, format=fmt) == 3
    out.seek(0)
    with crm.session(actor=admin) as s:
        report = s.products.import_file(out, on_duplicate="update")
    assert [(r.outcome.value, r.reason) for r in report.rows] == [
        ("skipped", crmkit.SkipReason.UNCHANGED)
    ] * 3
    assert stored(crm, admin) == before
    with crm.session(actor=admin) as s:
        assert all(len(s.audit.history(p.id)) == 1 for p in before.values())


def test_the_export_writes_chinese_headers_paths_names_plain_money_and_rates(crm, admin, catalogue):
    with crm.session(actor=admin) as s:
        arrange(s, catalogue)
        out = io.BytesIO()
        s.products.export(out, format="csv", lang="zh")
    header, *rows = read_back(out.getvalue(), "csv")
    assert header == [
        "名称", "编码", "规格型号", "单位", "类别", "分组", "标准价格", "成本", "税率", "启用",
        "说明", "重量（千克）", "保修年限",
    ]  # fmt: skip
    by_name = {r[0]: r for r in rows}
    lock = by_name["智能门锁"]
    assert lock == [
        "智能门锁", "LK-100", "'-20~60°C", "套", "门锁/智能门锁", "", "1999.00", "1200.5", "13%",
        "是", "第一行\n第二行", "", "2",
    ]  # fmt: skip
    formula = by_name['\'=HYPERLINK("http://x")']  # neutralised: Excel shows it as text
    assert formula[4:10] == ["门禁系统", "工程项目价", "2680", "", "6.5%", "否"]
    assert by_name["门铃"][8] == "0%"


def test_the_export_speaks_english_when_asked(crm, admin, catalogue):
    with crm.session(actor=admin) as s:
        arrange(s, catalogue)
        out = io.BytesIO()
        s.products.export(out, format="xlsx", lang="en")
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    sheet = book.worksheets[0]
    assert sheet.title == "Product"
    header = [c.value for c in sheet[1]]
    assert header[:10] == [
        "Name", "Code", "Specification", "Unit", "Category", "Group", "List price", "Cost",
        "Tax rate", "Active",
    ]  # fmt: skip
    flags = {row[0].value: row[9].value for row in sheet.iter_rows(min_row=2)}
    assert flags["智能门锁"] == "yes"


def test_the_export_holds_what_the_actor_sees_and_the_filters_choose(
    crm, admin, team, catalogue, tmp_path: Path
):
    with crm.session(actor=admin) as s:
        arrange(s, catalogue)
    with crm.session(actor=team["zhang"]) as s:  # 工程项目价 is for managers
        assert s.products.export(tmp_path / "mine.csv", format="csv") == 2
    names = [r[0] for r in read_back((tmp_path / "mine.csv").read_bytes(), "csv")[1:]]
    assert sorted(names) == ["智能门锁", "门铃"]
    with crm.session(actor=admin) as s:
        out = io.BytesIO()
        assert s.products.export(out, format="csv", category_id=catalogue["smart"].id) == 1
        assert s.products.export(io.BytesIO(), format="csv", q="门") == 2
        with pytest.raises(crmkit.ValidationError):
            s.products.export(io.BytesIO(), colour="红")
        with pytest.raises(crmkit.ValidationError):
            s.products.export(io.BytesIO(), format="pdf")  # type: ignore[arg-type]


# -- accounting, as a property ---------------------------------------------------------------
CODES = ["P-1", "P-2", "P-3", "P-4", None]  # P-1 and P-2 are stored before the import
GOOD = st.fixed_dictionaries(
    {
        "名称": st.sampled_from(["智能门锁", "门铃", "门禁控制器"]),
        "编码": st.sampled_from(CODES),
        "单价": st.sampled_from(["1999", "10.5", ""]),
        "类别": st.sampled_from(["", "智能门锁", "门锁/智能门锁"]),
        "税率": st.sampled_from(["", "13%", "0.06"]),
    }
)
BAD = st.fixed_dictionaries(
    {
        "名称": st.sampled_from(["", "坏行"]),
        "编码": st.sampled_from(CODES),
        "单价": st.sampled_from(["abc", "-1", "5"]),
        "类别": st.sampled_from(["", "不存在"]),
        "税率": st.sampled_from(["130%", "", "x"]),
    }
)
BLANK = st.just({"名称": "", "编码": None, "单价": "", "类别": "", "税率": ""})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.one_of(GOOD, GOOD, BAD, BLANK), min_size=1, max_size=12),
    policy=st.sampled_from(["skip", "update", "error"]),
)
def test_every_row_has_one_outcome_and_the_store_holds_exactly_the_created(rows, policy):
    crm = open_test_crm()
    try:
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with crm.session(actor=admin) as s:
            locks = s.product_categories.create(name="门锁")
            s.product_categories.create(name="智能门锁", parent_id=locks.id)
            for code in ("P-1", "P-2"):
                s.products.create(name="旧", code=code, price="1")
            before = {p.id: p for p in s.products.list(limit=100).items}
        headers = ["名称", "编码", "单价", "类别", "税率"]
        text = ",".join(headers) + "\n"
        text += "".join(",".join(r[h] or "" for h in headers) + "\n" for r in rows)
        with crm.session(actor=admin) as s:
            dry = s.products.import_file(csv_file(text), on_duplicate=policy, dry_run=True)
        with crm.session(actor=admin) as s:
            report = s.products.import_file(csv_file(text), on_duplicate=policy)
            after = {p.id: p for p in s.products.list(limit=100).items}

        counts = Counter(r.outcome.value for r in report.rows)
        assert [r.row for r in report.rows] == list(range(2, len(rows) + 2))
        assert counts["created"] + counts["updated"] + counts["skipped"] + counts["failed"] == (
            len(rows)
        )
        # The dry run foretold the import, and wrote nothing.
        wet = {"would_create": "created", "would_update": "updated"}
        assert [wet.get(r.outcome.value, r.outcome.value) for r in dry.rows] == [
            r.outcome.value for r in report.rows
        ]
        assert dry.counts["created"] == dry.counts["updated"] == 0
        # The store holds what it held plus exactly the rows created.
        created = {r.id for r in report.rows if r.outcome is crmkit.ImportOutcome.CREATED}
        assert None not in created and len(created) == counts["created"]
        assert set(after) == set(before) | created and not set(before) & created
        updated = {r.id for r in report.rows if r.outcome is crmkit.ImportOutcome.UPDATED}
        assert updated <= set(after)
        untouched = set(before) - updated
        assert all(after[i] == before[i] for i in untouched)
        if policy != "update":
            assert not updated
        codes = [p.code for p in after.values() if p.code]
        assert len(codes) == len(set(codes))
    finally:
        crm.close()


# -- any kernel entity ----------------------------------------------------------------------
def test_any_kernel_service_imports_and_exports_the_same_way_a_category_tree(crm, admin):
    text = "名称,上级类别,排序\n门锁,,1\n智能门锁,门锁,2\n指纹锁,门锁/智能门锁,\n门铃,无此类别,\n"
    with crm.session(actor=admin) as s:
        report = s.product_categories.import_file(csv_file(text))
        out = io.BytesIO()
        s.product_categories.export(out, format="csv", lang="zh")
    assert outcomes(report) == [(2, "created"), (3, "created"), (4, "created"), (5, "failed")]
    assert report.rows[3].problems[0].column == "上级类别"
    header, *rows = read_back(out.getvalue(), "csv")
    assert header == ["名称", "上级类别", "排序"]
    assert sorted(r[:2] for r in rows) == [
        ["指纹锁", "门锁/智能门锁"],
        ["智能门锁", "门锁"],
        ["门锁", ""],
    ]
