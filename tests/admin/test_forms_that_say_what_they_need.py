"""Forms that do not make people guess: required fields marked from crmkit's declarations,
the long customer form in sections, and a question naming the record before any delete."""

from __future__ import annotations

import re

import crmkit
from tests.admin.conftest import Browser, make_customer

MARK = '<strong class="text-danger">&#42;</strong>'


def label_of(page: str, field: str) -> str:
    found = re.search(rf'<label for="{field}"[^>]*>(.*?)</label>', page, flags=re.S)
    assert found, f"no label for {field}"
    return found.group(1)


def input_tag(page: str, field: str) -> str:
    found = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{field}"[^>]*>', page)
    assert found, f"no input {field}"
    return found.group(0)


def marked(page: str, field: str) -> bool:
    """The red * beside the label and ``aria-required`` on the input, or neither."""
    star = MARK in label_of(page, field)
    aria = 'aria-required="true"' in input_tag(page, field)
    assert star == aria, field
    return star


def test_the_customer_forms_mark_what_crmkit_requires_and_nothing_else(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    for page in (
        as_zhang.text("/customers/new/"),
        as_zhang.text(f"/customers/edit/?id={customer.id}"),
    ):
        assert {f for f in ("name", "kind") if marked(page, f)} == {"name", "kind"}
        for optional in ("mobile", "phone", "email", "region", "source", "remarks"):
            assert not marked(page, optional), optional
        assert "必填项" in page  # what the * means
        # No native ``required``: crmkit reports every wrong field at once, in Chinese.
        assert not re.search(r"\srequired(?:[\s>=])", input_tag(page, "name"))


def test_an_empty_required_field_still_gets_crmkits_own_message(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    response = as_zhang.post("/customers/new/", {"kind": "company", "name": "", "mobile": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "必填" in page
    with crm.session(actor=users["admin"]) as s:
        assert s.customers.count() == 0


def test_the_kernel_entity_forms_take_their_required_fields_from_crmkit(
    as_admin: Browser,
) -> None:
    page = as_admin.text("/products/new/")
    assert marked(page, "name")  # crmkit's PRODUCT_FIELDS: text("name", required=True)
    for optional in ("code", "specification", "unit", "price", "tax_rate", "category_id"):
        assert not marked(page, optional), optional
    assert marked(as_admin.text("/product_categories/new/"), "name")
    assert not marked(as_admin.text("/product_categories/new/"), "parent_id")
    assert marked(as_admin.text("/product_groups/new/"), "name")


def test_the_contact_and_user_forms_mark_their_required_fields(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["admin"])
    contact = as_admin.text(f"/contacts/new/?customer_id={customer.id}")
    assert marked(contact, "name") and not marked(contact, "mobile")
    user = as_admin.text("/users/new/")
    assert marked(user, "name") and marked(user, "role")
    assert not marked(user, "login") and not marked(user, "password")
    edit = as_admin.text(f"/users/edit/?id={users['zhang'].id}")
    assert marked(edit, "name") and not marked(edit, "new_password")


def sections(page: str) -> dict[str, tuple[str, str]]:
    """section id → (legend, the section's HTML)."""
    found = re.findall(
        r'<fieldset class="form-section" id="section-([a-z]+)"><legend[^>]*>(.*?)</legend>'
        r"(.*?)</fieldset>",
        page,
        flags=re.S,
    )
    return {key: (legend, body) for key, legend, body in found}


def test_the_customer_form_comes_in_four_sections(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    for page in (
        as_zhang.text("/customers/new/"),
        as_zhang.text(f"/customers/edit/?id={customer.id}"),
    ):
        found = sections(page)
        assert [legend for legend, _ in found.values()] == [
            "基本信息",
            "联系方式",
            "业务信息",
            "其他",
        ]
        where = {
            "basic": ("kind", "name", "category", "owner_id"),
            "contact": ("mobile", "phone", "email", "region", "address"),
            "business": ("source", "industry", "tags", "settlement", "credit_limit"),
            "other": ("remarks",),
        }
        for key, fields in where.items():
            for field in fields:
                assert f'id="{field}"' in found[key][1], (key, field)
        assert 'name="csrf_token"' in page and 'name="version"' in page


def test_a_customer_saved_from_the_sectioned_form_keeps_every_field(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    form = {
        "kind": "company",
        "name": "青岛金智电子科技有限公司",
        "category": "potential",
        "channel_type": "terminal",
        "owner_id": users["zhang"].id,
        "mobile": "138 0013 8000",
        "region": "山东省/青岛市/市南区",
        "source": "展会",
        "settlement": "cash",
        "remarks": "老客户介绍",
    }
    assert as_zhang.post("/customers/new/", form).status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (saved,) = s.customers.list().items
    assert (saved.source, saved.remarks, saved.mobile and saved.mobile.e164) == (
        "展会",
        "老客户介绍",
        "+8613800138000",
    )


def test_every_delete_button_asks_first_naming_the_record(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"], name="金智电子科技(青岛)有限公司")
    with crm.session(actor=users["admin"]) as s:
        s.contacts.create(customer_id=customer.id, name="李四")
        s.products.create(name='智能门锁 "旗舰版"', code="LK-100")
    question = f"确定将“{customer.name}”移到回收站吗？"  # 金智电子科技（青岛）有限公司
    pages = {
        "/customers/": question,
        f"/customers/details/?id={customer.id}": question,
        "/contacts/": "确定将“李四”移到回收站吗？",
        "/products/": "确定将“智能门锁 &#34;旗舰版&#34;”移到回收站吗？",  # escaped
        "/users/": "确定将“张三”移到回收站吗？",
    }
    for path, expected in pages.items():
        page = as_admin.text(path)
        forms = re.findall(r'<form method="post" action="[^"]*/delete/"[^>]*>', page)
        assert forms, path
        assert all("data-confirm=" in f for f in forms), path
        assert f'data-confirm="{expected}"' in page, path
        assert "/assets/confirm.js" in page, path
    script = as_admin.get("/assets/confirm.js")
    assert script.status_code == 200 and b"data-confirm" in script.get_data()
