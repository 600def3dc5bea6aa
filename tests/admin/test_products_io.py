"""The product list's 导入 and 导出 Excel: upload → column mapping → dry run → import → row
report, and the list's current filters as an XLSX download, every step through
``products.import_file`` / ``products.export`` as the logged-in user, CSRF kept."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from flask import Flask

import crmkit
from tests.admin.conftest import PASSWORDS, Browser

TAG = re.compile(r"<[^>]+>")
TOKEN = re.compile(r"/products/import/([^/]+)/$")
PRICE_LIST = (
    "产品名称,货号,产品类别,售价,税率,状态,颜色\n"
    "智能门锁,LK-200,门锁/智能门锁,1999.00,13%,启用,黑\n"
    "门禁控制器,AC-100,门禁系统,2680,9%,是,白\n"
    "门铃,DB-1,门铃类,99,13%,启用,白\n"
)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", TAG.sub(" ", html))


def log_in(app: Flask, user: crmkit.User, password: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.login, password).status_code == 302
    return browser


@pytest.fixture
def catalogue(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> dict[str, Any]:
    """门锁 / 智能门锁 and 门禁系统; a smart lock, and a project lock only managers see."""
    with crm.session(actor=users["admin"]) as s:
        locks = s.product_categories.create(name="门锁")
        smart = s.product_categories.create(name="智能门锁", parent_id=locks.id)
        access = s.product_categories.create(name="门禁系统")
        group = s.product_groups.create(name="工程项目价", members=["role:manager"])
        lock = s.products.create(
            name="智能门锁", code="LK-100", price="1999.00", tax_rate="13%", category_id=smart.id
        )
        project = s.products.create(
            name="工程版智能门锁", code="PJ-900", price="1380", category_id=smart.id,
            group_id=group.id,
        )  # fmt: skip
    return {
        "locks": locks, "smart": smart, "access": access, "group": group, "lock": lock,
        "project": project,
    }  # fmt: skip


def codes(crm: crmkit.CRM, actor: crmkit.User) -> dict[str | None, crmkit.Product]:
    with crm.session(actor=actor) as s:
        return {p.code: p for p in s.products.list(limit=200).items}


def upload(b: Browser, content: bytes, name: str = "价目表.csv", **form: str) -> str:
    """Upload a file; the upload's token (from the mapping page it leads to)."""
    response = b.post("/products/import/upload", {"file": (io.BytesIO(content), name), **form})
    assert response.status_code == 302, response.status_code
    found = TOKEN.search(response.location)
    assert found, response.location
    return found.group(1)


def selected(page: str) -> dict[str, str]:
    """The mapping page's proposal: column in the file -> the field chosen for it."""
    out: dict[str, str] = {}
    for row in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', row[1])
        out[row[0]] = chosen.group(1) if chosen else ""
    return out


def test_the_list_offers_import_to_those_who_may_create_and_export_to_all(
    app: Flask, as_admin: Browser, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    page = as_admin.text("/products/")
    assert 'href="/products/import/"' in page and "导入" in page
    assert 'href="/products/export/"' in page and "导出 Excel" in page
    zhang = log_in(app, users["zhang"], PASSWORDS["zhang"])
    page = zhang.text("/products/")
    assert "/products/import/" not in page and "导出 Excel" in page
    assert zhang.get("/products/import/").status_code == 403
    refused = zhang.post("/products/import/upload", {"file": (io.BytesIO(b"a"), "x.csv")})
    assert refused.status_code == 403


def test_an_import_goes_upload_mapping_dry_run_run_and_reports_each_row(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    form = as_admin.text("/products/import/")
    assert 'name="csrf_token"' in form and "编码" in form  # the policy names the key column
    token = upload(as_admin, PRICE_LIST.encode("gbk"), on_duplicate="update")

    mapping = as_admin.text(f"/products/import/{token}/")
    assert selected(mapping) == {
        "产品名称": "name",
        "货号": "code",
        "产品类别": "category",
        "售价": "price",
        "税率": "tax_rate",
        "状态": "active",
        "颜色": "",  # nothing answers to it: left out unless the user maps it
    }
    assert '<option value="update" selected>' in mapping

    fields = {f"map-{i}": v for i, v in enumerate(selected(mapping).values())}
    preview = as_admin.post(f"/products/import/{token}/preview", fields)
    assert preview.status_code == 200
    page = text_of(preview.get_data(as_text=True))
    assert "试运行：未写入任何数据" in page
    assert "将新建: 2" in page and "失败: 1" in page
    assert "门铃 DB-1 产品类别：没有这个名称的记录" in page
    assert "颜色" in page  # the column left out is named
    assert set(codes(crm, users["admin"])) == {"LK-100", "PJ-900"}  # nothing written

    run = as_admin.post(f"/products/import/{token}/run")
    assert run.status_code == 302 and run.location == f"/products/import/{token}/report"
    page = text_of(as_admin.text(run.location))
    assert "导入完成" in page and "已新建: 2" in page and "失败: 1" in page
    assert "智能门锁 LK-200 " in page and "门禁控制器 AC-100 " in page
    stored = codes(crm, users["admin"])
    assert set(stored) == {"LK-100", "PJ-900", "LK-200", "AC-100"}
    assert stored["LK-200"].category_id == catalogue["smart"].id
    with crm.session(actor=users["admin"]) as s:
        assert s.audit.history(stored["LK-200"].id)[0].actor_id == users["admin"].id

    again = as_admin.post(f"/products/import/{token}/run")  # a second click imports nothing
    assert again.location == f"/products/import/{token}/report"
    assert len(codes(crm, users["admin"])) == 4


def test_the_mapping_can_be_corrected_before_the_dry_run(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["名称", "型号", "价格"])
    sheet.append(["人脸识别门锁", "FR-1", 3299])
    content = io.BytesIO()
    book.save(content)
    token = upload(as_admin, content.getvalue(), "价目表.xlsx")
    assert selected(as_admin.text(f"/products/import/{token}/")) == {
        "名称": "name",
        "型号": "specification",
        "价格": "price",
    }
    corrected = {"map-0": "name", "map-1": "code", "map-2": "cost"}
    page = text_of(
        as_admin.post(f"/products/import/{token}/preview", corrected).get_data(as_text=True)
    )
    assert "人脸识别门锁 FR-1" in page
    as_admin.post(f"/products/import/{token}/run")
    made = codes(crm, users["admin"])["FR-1"]
    assert (made.specification, made.price, made.cost) == (None, None, crmkit.Money.parse("3299"))


def test_a_code_already_used_is_skipped_by_default(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    token = upload(as_admin, "名称,编码,单价\n新名字,LK-100,1\n".encode())
    page = as_admin.text(f"/products/import/{token}/")
    fields = {f"map-{i}": v for i, v in enumerate(selected(page).values())}
    fields["on_duplicate"] = "skip"
    shown = text_of(as_admin.post(f"/products/import/{token}/preview", fields).get_data(True))
    assert "已跳过: 1" in shown and "已存在" in shown
    as_admin.post(f"/products/import/{token}/run")
    assert codes(crm, users["admin"])["LK-100"] == catalogue["lock"]


def test_files_that_are_no_table_are_refused_with_a_message(
    as_admin: Browser, catalogue: dict[str, Any]
) -> None:
    wrong = as_admin.post("/products/import/upload", {"file": (io.BytesIO(b"x"), "价目表.pdf")})
    assert wrong.status_code == 302 and wrong.location == "/products/import/"
    assert "请选择 CSV 或 XLSX 文件" in as_admin.text("/products/import/")
    broken = as_admin.post(
        "/products/import/upload", {"file": (io.BytesIO(b"PK\x03\x04broken"), "价目表.xlsx")}
    )
    assert broken.status_code == 302 and broken.location == "/products/import/"
    assert "无法按表格读取该文件" in as_admin.text("/products/import/")


def test_posts_without_the_csrf_token_are_refused(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    forged = as_admin.open(
        "/products/import/upload",
        method="POST",
        data={"file": (io.BytesIO(PRICE_LIST.encode()), "价目表.csv")},
    )
    assert forged.status_code == 400
    token = upload(as_admin, PRICE_LIST.encode())
    assert as_admin.open(f"/products/import/{token}/run", method="POST").status_code == 400
    assert set(codes(crm, users["admin"])) == {"LK-100", "PJ-900"}


def test_an_upload_belongs_to_the_login_session_that_made_it(
    app: Flask, as_admin: Browser, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    token = upload(as_admin, PRICE_LIST.encode())
    boss = log_in(app, users["boss"], PASSWORDS["boss"])
    assert boss.get(f"/products/import/{token}/").status_code == 404
    assert boss.post(f"/products/import/{token}/run").status_code == 404


def exported(b: Browser, query: str = "") -> list[list[Any]]:
    response = b.get(f"/products/export/{query}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_export_excel_writes_the_filtered_list_the_user_sees(
    app: Flask, as_admin: Browser, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    header, *rows = exported(as_admin)
    assert header[:7] == ["名称", "编码", "规格型号", "单位", "类别", "分组", "标准价格"]
    assert sorted(r[1] for r in rows) == ["LK-100", "PJ-900"]
    lock = next(r for r in rows if r[1] == "LK-100")
    assert lock[4] == "门锁/智能门锁" and lock[6] == "1999.00" and lock[8] == "13%"
    # The list's filters: 门锁 takes in 智能门锁; a search; a group.
    assert len(exported(as_admin, f"?category_id={catalogue['locks'].id}")) == 3
    assert len(exported(as_admin, f"?category_id={catalogue['access'].id}")) == 1
    assert [r[1] for r in exported(as_admin, "?q=工程")[1:]] == ["PJ-900"]
    # A salesperson's export leaves out the group they may not see.
    zhang = log_in(app, users["zhang"], PASSWORDS["zhang"])
    assert [r[1] for r in exported(zhang)[1:]] == ["LK-100"]
    page = zhang.text("/products/?q=门锁")
    assert 'href="/products/export/?q=%E9%97%A8%E9%94%81"' in page


def test_the_export_follows_the_interface_language(
    as_admin: Browser, catalogue: dict[str, Any]
) -> None:
    as_admin.post("/language", {"lang": "en"})
    header, *rows = exported(as_admin)
    assert header[:3] == ["Name", "Code", "Specification"]
    assert rows[0][9] == "yes"


def test_an_exported_sheet_imports_back_without_changing_anything(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    before = codes(crm, users["admin"])
    response = as_admin.get("/products/export/")
    token = upload(as_admin, response.get_data(), "products.xlsx", on_duplicate="update")
    page = as_admin.text(f"/products/import/{token}/")
    fields = {f"map-{i}": v for i, v in enumerate(selected(page).values())}
    shown = text_of(as_admin.post(f"/products/import/{token}/preview", fields).get_data(True))
    assert "已跳过: 2" in shown and "没有变化" in shown
    as_admin.post(f"/products/import/{token}/run")
    assert codes(crm, users["admin"]) == before
