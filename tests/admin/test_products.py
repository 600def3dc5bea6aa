"""The product catalogue's screens: configuration on the generic entity view, every read and
write through ``session.products``, ``product_categories`` and ``product_groups``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

import crmkit
from tests.admin.conftest import PASSWORDS, Browser

TAG = re.compile(r"<[^>]+>")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", TAG.sub(" ", html))


def table(page: str) -> str:
    """The list's table as text (not the filters' and forms' options)."""
    start = page.index('id="model-list"')
    return text_of(page[start : page.index("</table>", start)])


def log_in(app: Flask, user: crmkit.User, password: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.login, password).status_code == 302
    return browser


@pytest.fixture
def catalogue(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> dict[str, Any]:
    """门锁 / 智能门锁 and 门禁系统; a smart lock, an inactive card lock, a controller; and a
    project price in a group only managers and 李小明 see."""
    with crm.session(actor=users["admin"]) as s:
        locks = s.product_categories.create(name="门锁")
        smart = s.product_categories.create(name="智能门锁", parent_id=locks.id)
        access = s.product_categories.create(name="门禁系统")
        group = s.product_groups.create(
            name="工程项目价", members=["role:manager", f"user:{users['li'].id}"]
        )
        lock = s.products.create(
            name="智能门锁", code="LK-100", specification="指纹+密码", unit="套",
            price="1999.00", cost="1200.00", tax_rate="13%", category_id=smart.id,
        )  # fmt: skip
        card = s.products.create(
            name="酒店刷卡锁", code="LK-300", unit="套", price="880", category_id=smart.id,
            active=False,
        )  # fmt: skip
        controller = s.products.create(
            name="门禁控制器", code="AC-100", unit="台", price="2680.00", category_id=access.id
        )
        project = s.products.create(
            name="工程版智能门锁", code="PJ-900", unit="套", price="1380.00",
            category_id=smart.id, group_id=group.id,
        )  # fmt: skip
    return {
        "locks": locks, "smart": smart, "access": access, "group": group,
        "lock": lock, "card": card, "controller": controller, "project": project,
    }  # fmt: skip


def product_form(**fields: str) -> dict[str, str]:
    """What the create form posts, with ``fields`` filled in (an unchecked box is absent)."""
    form = {
        "code": "", "name": "", "specification": "", "unit": "", "category_id": "",
        "group_id": "", "price": "", "cost": "", "tax_rate": "", "active": "y",
        "description": "",
    }  # fmt: skip
    form.update(fields)
    return form


def products(crm: crmkit.CRM, actor: crmkit.User, **filters: Any) -> dict[str, Any]:
    with crm.session(actor=actor) as s:
        return {p.code: p for p in s.products.list(limit=200, **filters).items}


def test_the_list_shows_money_rates_and_names_never_ids(
    as_admin: Browser, catalogue: dict[str, Any]
) -> None:
    page = as_admin.text("/products/")
    rows = table(page)
    for header in ("编码", "名称", "规格型号", "单位", "标准价格", "成本", "毛利", "税率", "启用"):
        assert header in rows
    assert "类别" in rows and "分组" in rows
    assert "LK-100 智能门锁 指纹+密码 套 ¥1,999.00 ¥1,200.00 ¥799.00 13% 是" in rows
    assert "门锁 / 智能门锁" in rows and "工程项目价" in rows
    assert catalogue["smart"].id not in rows and catalogue["group"].id not in rows
    assert "CNY" not in rows and "Decimal" not in rows
    assert 'id="list-count"' in page and ">4<" in page


def test_filters_map_onto_the_services_list(as_admin: Browser, catalogue: dict[str, Any]) -> None:
    locks = table(as_admin.text(f"/products/?category_id={catalogue['locks'].id}"))
    assert "LK-100" in locks and "PJ-900" in locks  # 门锁 takes in 智能门锁
    assert "AC-100" not in locks
    grouped = table(as_admin.text(f"/products/?group_id={catalogue['group'].id}"))
    assert "PJ-900" in grouped and "LK-100" not in grouped
    retired = table(as_admin.text("/products/?active=false"))
    assert "LK-300" in retired and "LK-100" not in retired
    found = table(as_admin.text("/products/?q=控制器"))
    assert "AC-100" in found and "LK-100" not in found
    filters = as_admin.text("/products/").split('id="list-filters"')[1].split("</form>")[0]
    for label in ("类别", "分组", "启用", "门锁 / 智能门锁", "工程项目价"):
        assert label in filters


def test_creating_a_product_through_the_form_goes_through_crmkit(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    boss = log_in(app, users["boss"], PASSWORDS["boss"])
    form = boss.text("/products/new/")
    assert "门锁 / 智能门锁" in form and "工程项目价" in form  # categories and groups by name
    assert re.search(r'id="active"[^>]*checked|checked[^>]*id="active"', form)
    response = boss.post(
        "/products/new/",
        product_form(
            code="LK-200",
            name="人脸识别智能门锁",
            unit="套",
            price="¥3,299",
            cost="2150",
            tax_rate="13%",
            category_id=catalogue["smart"].id,
        ),
    )
    assert response.status_code == 302
    made = products(crm, users["admin"])["LK-200"]
    assert made.price == crmkit.Money.parse("3299.00") and str(made.tax_rate) == "0.13"
    assert made.category_id == catalogue["smart"].id and made.active
    with crm.session(actor=users["admin"]) as s:
        assert s.audit.history(made.id)[0].actor_id == users["boss"].id
    assert "¥3,299.00" in table(boss.text("/products/"))


def test_the_form_shows_every_field_error_on_its_field_in_chinese(
    as_admin: Browser, catalogue: dict[str, Any]
) -> None:
    page = as_admin.post(
        "/products/new/", product_form(name="", price="abc", tax_rate="200%")
    ).get_data(as_text=True)
    assert "3 个字段有误" in page
    feedback = re.findall(r'class="invalid-feedback"[^>]*>(.*?)</', page, re.S)
    assert any("必填" in f for f in feedback)
    assert any("不是有效的金额" in f for f in feedback)
    assert any("比率" in f for f in feedback)
    assert 'value="abc"' in page  # the input stays for correcting
    taken = as_admin.post("/products/new/", product_form(name="又一把锁", code="LK-100"))
    assert "已被其他记录使用" in taken.get_data(as_text=True)


def test_a_stale_edit_shows_the_conflict_and_overwrites_nothing(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    lock = catalogue["lock"]
    form = as_admin.text(f"/products/edit/?id={lock.id}")
    assert 'name="version"' in form and 'value="1"' in form
    assert 'value="1999.00"' in form and 'value="13%"' in form  # as typed, not as stored
    with crm.session(actor=users["boss"]) as s:  # someone else saves first
        s.products.update(lock.id, version=1, price="2099.00")
    page = as_admin.post(
        f"/products/edit/?id={lock.id}",
        product_form(
            code="LK-100",
            name="智能门锁",
            specification="指纹+密码",
            unit="套",
            price="1899.00",
            cost="1200.00",
            tax_rate="13%",
            category_id=catalogue["smart"].id,
            version="1",
        ),
    ).get_data(as_text=True)
    assert "已被他人修改" in page
    assert 'value="1899.00"' in page  # the user's input is still on the form
    assert products(crm, users["admin"])["LK-100"].price == crmkit.Money.parse("2099.00")


def test_an_edit_changes_only_what_the_user_changed_and_the_history_shows_it(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    lock = catalogue["lock"]
    data = product_form(
        code="LK-100", name="智能门锁", specification="指纹+密码", unit="套", price="1899",
        cost="1200.00", tax_rate="13%", category_id=catalogue["smart"].id, version="1",
    )  # fmt: skip
    assert as_admin.post(f"/products/edit/?id={lock.id}", data).status_code == 302
    with crm.session(actor=users["admin"]) as s:
        assert set(s.audit.history(lock.id)[-1].changes) == {"price"}
    details = as_admin.text(f"/products/details/?id={lock.id}")
    assert 'id="history"' in details
    history = text_of(details.split('id="history"')[1])
    assert "标准价格: ¥1,999.00 → ¥1,899.00" in history
    assert "类别: ∅ → 门锁 / 智能门锁" in history  # the creation, by name
    assert "amount" not in history


def test_delete_moves_to_the_recycle_bin_and_restore_brings_it_back(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    boss = log_in(app, users["boss"], PASSWORDS["boss"])  # managers hold product.delete
    lock = catalogue["lock"]
    assert boss.post("/products/delete/", {"id": lock.id, "url": "/products/"}).status_code == 302
    assert "LK-100" not in products(crm, users["admin"])
    with crm.session(actor=users["admin"]) as s:
        assert [p.code for p in s.products.list(deleted="only").items] == ["LK-100"]
    bin_page = boss.text("/recycle/?kind=products")  # managers restore what they delete
    assert "智能门锁" in bin_page and "LK-100" in bin_page
    assert boss.get("/recycle/?kind=users").status_code == 404  # the users' bin: admins'
    boss.post("/recycle/restore/", {"kind": "products", "id": lock.id})
    assert "LK-100" in products(crm, users["admin"])


def test_a_category_in_use_is_not_deleted_and_says_why(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    response = as_admin.client.post(
        "/product_categories/delete/",
        data={
            "id": catalogue["access"].id,
            "url": "/product_categories/",
            "csrf_token": as_admin.token("/"),
        },
        follow_redirects=True,
    )
    assert "请先移走其下级类别和产品" in response.get_data(as_text=True)
    response.close()
    with crm.session(actor=users["admin"]) as s:
        assert s.product_categories.get(catalogue["access"].id).name == "门禁系统"


def test_a_salesperson_may_read_the_catalogue_but_not_change_it(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    page = as_zhang.text("/products/")
    assert "LK-100" in table(page)
    assert 'id="create-link"' not in page and "fa-pencil" not in page and "fa-trash" not in page
    assert as_zhang.get("/products/new/").status_code == 302  # refused: back to the list
    as_zhang.post("/products/new/", product_form(name="私自新建", code="X-1"))
    lock = catalogue["lock"]
    as_zhang.post("/products/delete/", {"id": lock.id, "url": "/products/"})
    as_zhang.post(f"/products/edit/?id={lock.id}", product_form(name="改名", version="1"))
    found = products(crm, users["admin"])
    assert "X-1" not in found and found["LK-100"].name == "智能门锁"
    assert "产品" in as_zhang.text("/")  # the menu: the catalogue is there to read


def test_a_restricted_groups_product_is_seen_only_by_its_members(
    app: Flask, as_zhang: Browser, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    project = catalogue["project"]
    assert "PJ-900" not in table(as_zhang.text("/products/"))
    assert "PJ-900" not in as_zhang.text(f"/products/?group_id={catalogue['group'].id}")
    assert as_zhang.get(f"/products/details/?id={project.id}").status_code == 404
    li = log_in(app, users["li"], PASSWORDS["li"])  # a member by name
    assert "PJ-900" in table(li.text("/products/"))
    assert "工程版智能门锁" in li.text(f"/products/details/?id={project.id}")


def test_group_members_are_chosen_and_shown_by_name_and_only_admins_edit_groups(
    app: Flask,
    as_admin: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    catalogue: dict[str, Any],
) -> None:
    form = as_admin.text("/product_groups/new/")
    assert "角色：销售员" in form and "张三 (zhangsan)" in form
    response = as_admin.post(
        "/product_groups/new/",
        {
            "name": "华东渠道价",
            "members": ["role:sales", f"user:{users['boss'].id}"],
            "remarks": "",
        },
    )
    assert response.status_code == 302
    with crm.session(actor=users["admin"]) as s:
        made = next(g for g in s.product_groups.list().items if g.name == "华东渠道价")
    assert made.members == ("role:sales", f"user:{users['boss'].id}")
    rows = table(as_admin.text("/product_groups/"))
    assert "角色：销售员, 王经理" in rows and "角色：销售经理, 李小明" in rows
    assert "role:" not in rows and "user:" not in rows
    boss = log_in(app, users["boss"], PASSWORDS["boss"])
    page = boss.text("/product_groups/")
    assert 'id="create-link"' not in page and "fa-pencil" not in page
    boss.post("/product_groups/new/", {"name": "经理自建", "members": []})
    with crm.session(actor=users["admin"]) as s:
        assert "经理自建" not in [g.name for g in s.product_groups.list().items]


def test_categories_show_their_path_and_pick_a_parent_by_name(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    form = as_admin.text("/product_categories/new/")
    assert f'<option value="{catalogue["smart"].id}">门锁 / 智能门锁</option>' in form
    response = as_admin.post(
        "/product_categories/new/",
        {"name": "指纹锁", "parent_id": catalogue["smart"].id, "sort": "1"},
    )
    assert response.status_code == 302
    rows = table(as_admin.text("/product_categories/"))
    assert "门锁 / 智能门锁 / 指纹锁 指纹锁 门锁 / 智能门锁 1" in rows
    page = as_admin.post("/product_categories/new/", {"name": "", "sort": "第一"})
    assert "必填" in page.get_data(as_text=True)
    edit = as_admin.text(f"/product_categories/edit/?id={catalogue['locks'].id}")
    parents = edit.split('id="parent_id"')[1].split("</select>")[0]
    assert "门禁系统" in parents  # never itself or a category below it
    assert "门锁 / 智能门锁" not in parents and ">门锁<" not in parents


def test_saving_a_group_with_its_members_in_another_order_changes_nothing(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    group = catalogue["group"]
    edit = as_admin.text(f"/product_groups/edit/?id={group.id}")
    assert re.search(
        r'<option selected value="role:manager">|<option value="role:manager" selected', edit
    )
    members = [f"user:{users['li'].id}", "role:manager"]  # the browser posts option order
    data = {"name": group.name, "members": members, "remarks": "", "version": "1"}
    assert as_admin.post(f"/product_groups/edit/?id={group.id}", data).status_code == 302
    with crm.session(actor=users["admin"]) as s:
        assert s.product_groups.get(group.id).version == 1


def test_product_screens_refuse_posts_without_csrf_token(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: dict[str, Any]
) -> None:
    lock = catalogue["lock"]
    responses = [
        as_admin.client.post("/products/new/", data=product_form(name="无令牌", code="NT-1")),
        as_admin.client.post("/products/delete/", data={"id": lock.id}),
        as_admin.client.post(f"/products/edit/?id={lock.id}", data=product_form(name="改名")),
        as_admin.client.post("/product_groups/new/", data={"name": "无令牌"}),
        as_admin.client.post("/recycle/restore/", data={"kind": "products", "id": lock.id}),
    ]
    assert {r.status_code for r in responses} == {400}
    for r in responses:
        r.close()
    found = products(crm, users["admin"])
    assert "NT-1" not in found and found["LK-100"].name == "智能门锁"


def test_the_product_screens_follow_the_chosen_language(
    as_admin: Browser, catalogue: dict[str, Any]
) -> None:
    as_admin.post("/language", {"lang": "en"})
    rows = table(as_admin.text("/products/"))
    assert "List price" in rows and "Gross margin" in rows and "Category" in rows
    assert "CN¥1,999.00" in rows
    page = as_admin.post("/products/new/", product_form(name="")).get_data(as_text=True)
    assert "is required" in page


def test_the_operation_log_shows_product_values_as_the_product_screen_does(
    as_admin: Browser, catalogue: dict[str, Any]
) -> None:
    log = text_of(as_admin.text("/audit/?entity_type=product"))
    assert "类别: ∅ → 门锁 / 智能门锁" in log and "分组: ∅ → 工程项目价" in log
    assert "标准价格: ∅ → ¥1,999.00" in log and "税率: ∅ → 13%" in log
    assert catalogue["smart"].id not in log and "amount" not in log
