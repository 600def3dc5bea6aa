"""Every screen through the Flask test client: what a person does, and what crmkit kept."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import openpyxl

import crmkit
from admin.import_runs import runs
from tests.admin.conftest import PASSWORDS, Browser, make_customer


def customer_names(crm: crmkit.CRM, actor: crmkit.User) -> list[str]:
    with crm.session(actor=actor) as s:
        return [c.name for c in s.customers.list(limit=500).items]


def test_dashboard_counts_by_category_and_lists_my_recent_customers(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    make_customer(crm, users["zhang"], source="展会", region="山东省/青岛市/市南区")
    make_customer(crm, users["li"], name="上海华东建材有限公司")
    page = as_zhang.text("/")
    assert 'id="total-customers"' in page and ">1</a>" in page  # only their own
    assert "潜在客户" in page and "展会" in page and "山东省" in page
    assert "青岛金智电子科技有限公司" in page and "上海华东建材" not in page


def test_creating_a_customer_through_the_form_goes_through_crmkit(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    response = as_zhang.post(
        "/customers/new/",
        {
            "kind": "company",
            "name": "青岛金智电子科技有限公司",
            "category": "potential",
            "channel_type": "terminal",
            "settlement": "cash",
            "owner_id": users["zhang"].id,
            "mobile": "138 0013 8000",
            "region": "山东省/青岛市/市南区",
            "tags": "VIP，重点客户",
        },
    )
    assert response.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (customer,) = s.customers.list().items
        history = s.audit.history(customer.id)
    assert customer.mobile is not None and customer.mobile.e164 == "+8613800138000"
    assert customer.tags == ("VIP", "重点客户")
    assert history[0].actor_id == users["zhang"].id


def test_the_form_shows_every_field_error_at_once(as_zhang: Browser) -> None:
    page = as_zhang.post(
        "/customers/new/",
        {"kind": "company", "name": "", "mobile": "12345", "email": "not-an-email"},
    ).get_data(as_text=True)
    assert "3 个字段有误" in page
    for message in ("必填", "不是有效的电话号码", "不是有效的电子邮箱"):
        assert message in page
    assert page.count("invalid-feedback") >= 3  # each on its own field


def test_field_errors_follow_the_chosen_language(as_zhang: Browser) -> None:
    as_zhang.post("/language", {"lang": "en"})
    page = as_zhang.post("/customers/new/", {"kind": "company", "name": ""}).get_data(as_text=True)
    assert "is required" in page and "Create" in page
    as_zhang.post("/language", {"lang": "zh"})
    assert "必填" in as_zhang.post("/customers/new/", {"kind": "company", "name": ""}).get_data(
        as_text=True
    )


def test_a_stale_edit_shows_the_conflict_and_overwrites_nothing(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    form = as_zhang.text(f"/customers/edit/?id={customer.id}")
    assert 'name="version"' in form and 'value="1"' in form
    with crm.session(actor=users["boss"]) as s:  # someone else saves first
        s.customers.update(customer.id, source="展会")
    page = as_zhang.post(
        f"/customers/edit/?id={customer.id}",
        {
            "kind": "company",
            "name": customer.name,
            "category": "potential",
            "channel_type": "terminal",
            "settlement": "cash",
            "owner_id": users["zhang"].id,
            "source": "网络推广",
            "version": "1",
        },
    ).get_data(as_text=True)
    assert "已被他人修改" in page
    assert 'value="网络推广"' in page  # the user's input is still on the form
    with crm.session(actor=users["zhang"]) as s:
        assert s.customers.get(customer.id).source == "展会"


def test_an_edit_changes_only_what_the_user_changed(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"], mobile="13800138000", tags=["VIP"])
    data = {
        "kind": "company",
        "name": customer.name,
        "category": "potential",
        "channel_type": "terminal",
        "settlement": "cash",
        "owner_id": users["zhang"].id,
        "mobile": "138 0013 8000",
        "tags": "VIP",
        "source": "展会",
        "version": "1",
    }
    assert as_zhang.post(f"/customers/edit/?id={customer.id}", data).status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        last = s.audit.history(customer.id)[-1]
    assert set(last.changes) == {"source"}


def test_customer_detail_shows_contacts_co_owners_and_history(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    with crm.session(actor=users["admin"]) as s:
        s.contacts.create(customer_id=customer.id, name="李四", title="采购经理")
        s.customers.update(customer.id, co_owner_ids=[users["li"].id])
    page = as_admin.text(f"/customers/details/?id={customer.id}")
    assert "李四" in page and "采购经理" in page
    assert "李小明" in page  # the co-owner by name
    assert 'id="history"' in page and "新建" in page and "修改" in page


def test_delete_moves_to_the_recycle_bin_and_restore_brings_it_back(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    as_admin.post("/customers/delete/", {"id": customer.id, "url": "/customers/"})
    assert customer_names(crm, users["admin"]) == []
    assert customer.name in as_admin.text("/recycle/?kind=customers")
    as_admin.post("/recycle/restore/", {"kind": "customers", "id": customer.id})
    assert customer_names(crm, users["admin"]) == [customer.name]


def test_list_search_filters_and_keyset_pages(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    with crm.session(actor=users["admin"]) as s:
        for i in range(55):
            s.customers.create(name=f"青岛第{i}电子有限公司", owner_id=users["zhang"].id)
        s.customers.create(name="上海华东建材有限公司", category="potential", source="展会")
    first = as_admin.text("/customers/")
    assert 'id="list-count"' in first and ">56<" in first
    assert 'id="next-page"' in first
    next_url = first.split('href="', first.index('id="next-page"') - 200)
    assert any("after=" in part for part in next_url)
    assert "上海华东建材" in as_admin.text("/customers/?q=华东建材")
    assert "青岛第1电子" not in as_admin.text("/customers/?q=华东建材")
    assert "上海华东建材" in as_admin.text("/customers/?source=展会")
    assert "上海华东建材" not in as_admin.text(f"/customers/?owner_id={users['zhang'].id}")


def test_following_next_page_walks_every_customer_once(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    with crm.session(actor=users["admin"]) as s:
        for i in range(120):
            s.customers.create(name=f"青岛第{i}电子有限公司")
    seen: list[str] = []
    url: str | None = "/customers/"
    import re

    while url:
        page = as_admin.text(url)
        seen += re.findall(r">(青岛第\d+电子有限公司)<", page)  # the cells, not the questions
        found = re.search(r'href="([^"]+)" class="[^"]*" id="next-page"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == sorted(f"青岛第{i}电子有限公司" for i in range(120))


def test_saved_queries_and_chosen_columns_are_remembered_per_user(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    make_customer(crm, users["admin"], source="展会", industry="电子")
    as_admin.post("/customers/queries/", {"name": "展会客户", "source": "展会", "url": "/"})
    as_admin.post("/customers/columns/", {"columns": ["name", "industry"], "url": "/customers/"})
    page = as_admin.text("/customers/")
    assert "展会客户" in page and "source=%E5%B1%95%E4%BC%9A" in page
    assert '<th class="col-industry">' in page and "col-region" not in page


def test_contacts_have_a_surname_index(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    with crm.session(actor=users["admin"]) as s:
        for name in ("李四", "李娜", "王五", "欧阳锋"):
            s.contacts.create(customer_id=customer.id, name=name)
    page = as_admin.text("/contacts/")
    assert 'id="surname-index"' in page
    only_l = as_admin.text("/contacts/?surname_letter=L")
    assert "李四" in only_l and "李娜" in only_l and "王五" not in only_l
    assert "欧阳锋" in as_admin.text("/contacts/?surname_letter=O")


def test_adding_a_contact_from_the_customer_page(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    form = as_zhang.text(f"/contacts/new/?customer_id={customer.id}")
    assert f'value="{customer.id}"' in form
    response = as_zhang.post(
        "/contacts/new/", {"customer_id": customer.id, "name": "李四", "mobile": "139 0000 1234"}
    )
    assert response.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (contact,) = s.contacts.list(customer_id=customer.id).items
    assert contact.is_primary and contact.surname_letter == "L"


def test_admin_creates_a_user_whose_login_follows_the_pinyin_rule(
    as_admin: Browser, crm: crmkit.CRM
) -> None:
    response = as_admin.post(
        "/users/new/", {"name": "赵敏", "role": "sales", "password": "a-long-password"}
    )
    assert response.status_code == 302
    assert "zhaomin" in as_admin.text("/users/")
    assert crm.authenticate("zhaomin", "a-long-password").name == "赵敏"


def test_operation_log_filters_by_action_and_actor(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    with crm.session(actor=users["zhang"]) as s:
        s.customers.update(customer.id, source="展会")
    page = as_admin.text(f"/audit/?action=update&actor_id={users['zhang'].id}")
    assert "展会" in page and "张三" in page
    assert "展会" not in as_admin.text("/audit/?action=create&entity_type=user")


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_import_wizard_upload_map_preview_run_and_report(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    sheet = write_xlsx(
        tmp_path / "客户.xlsx",
        [
            ["企业名称", "手机号码", "所在地区", "备注说明"],
            ["青岛金智电子科技有限公司", "13800138000", "山东省/青岛市/市南区", "好客户"],
            ["上海华东建材有限公司", "12345", "上海市/浦东新区", ""],
            ["", "13900001234", "", ""],
        ],
    )
    response = as_zhang.post(
        "/imports/upload", {"file": (sheet.open("rb"), "客户.xlsx"), "on_duplicate": "skip"}
    )
    assert response.status_code == 302
    mapping_url = response.location
    page = as_zhang.text(mapping_url)
    assert '<option value="name" selected>' in page and '<option value="mobile" selected>' in page
    token = mapping_url.split("/")[2]
    preview = as_zhang.post(
        f"/imports/{token}/preview",
        {"map-0": "name", "map-1": "mobile", "map-2": "region", "map-3": "remarks"},
    ).get_data(as_text=True)
    assert "未写入任何数据" in preview and "不是有效的电话号码" in preview
    assert customer_names(crm, users["zhang"]) == []
    progress = as_zhang.post(f"/imports/{token}/run").location  # runs in the background
    assert runs(as_zhang.client.application).join(token, timeout=60)
    job_url = as_zhang.get(progress).location
    assert "导入完成" in as_zhang.text(job_url)
    assert customer_names(crm, users["zhang"]) == ["青岛金智电子科技有限公司"]
    report = as_zhang.get(f"{job_url}report.csv").get_data(as_text=True)
    lines = report.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("行号")
    assert len(lines) == 4 and "失败" in lines[2] and "手机号码" in lines[2]


def test_an_import_token_belongs_to_its_login_session(
    app: object, as_zhang: Browser, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    sheet = write_xlsx(tmp_path / "a.xlsx", [["企业名称"], ["青岛金智电子科技有限公司"]])
    token = as_zhang.post("/imports/upload", {"file": (sheet.open("rb"), "a.xlsx")}).location
    other = Browser(app.test_client())  # type: ignore[attr-defined]
    other.login(users["li"].login, PASSWORDS["li"])
    assert other.get(token).status_code == 404


def test_backup_downloads_a_database_and_restore_puts_it_back(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    make_customer(crm, users["zhang"])
    backup = tmp_path / "backup.db"
    backup.write_bytes(as_admin.get("/backup/download").data)
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (1,)
    make_customer(crm, users["zhang"], name="上海华东建材有限公司")
    assert len(customer_names(crm, users["admin"])) == 2
    response = as_admin.post(
        "/backup/restore", {"backup": (backup.open("rb"), "backup.db"), "confirm": "yes"}
    )
    assert response.status_code == 302
    app_crm = as_admin.client.application.extensions["crmkit_admin"].crm
    assert customer_names(app_crm, users["admin"]) == ["青岛金智电子科技有限公司"]
    assert as_admin.get("/customers/").status_code == 200


def test_restore_refuses_a_file_that_is_not_a_crmkit_backup(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    make_customer(crm, users["zhang"])
    as_admin.post("/backup/restore", {"backup": (io.BytesIO(b"junk"), "x.db"), "confirm": "yes"})
    assert "未恢复" in as_admin.text("/backup/")
    app_crm = as_admin.client.application.extensions["crmkit_admin"].crm
    assert customer_names(app_crm, users["admin"]) == ["青岛金智电子科技有限公司"]


def test_language_switch_covers_the_app_flask_admin_and_crmkit(as_admin: Browser) -> None:
    zh = as_admin.text("/customers/")
    assert "客户" in zh and "新建" in zh and 'id="switch-language"' in zh
    as_admin.post("/language", {"lang": "en", "next": "/customers/"})
    en = as_admin.text("/customers/")
    assert "Customers" in en and "Create" in en and "Log out" in en
    assert "Record was successfully" not in en
    form = as_admin.text("/customers/new/")
    assert "Save" in form  # Flask-Admin's own catalog, in English now
    as_admin.post("/language", {"lang": "zh"})
    assert "保存" in as_admin.text("/customers/new/")  # and its zh_Hans_CN catalog
