"""An individual's identity number on the customer screens: typed whole, shown masked."""

from __future__ import annotations

import crmkit
from tests.admin.conftest import Browser

NUMBER = "370202199005041230"
MASKED = "370202********1230"


def individual(users: dict[str, crmkit.User], **fields: str) -> dict[str, str]:
    return {
        "kind": "individual",
        "name": "张伟",
        "category": "potential",
        "channel_type": "terminal",
        "settlement": "cash",
        "owner_id": users["zhang"].id,
        **fields,
    }


def test_the_number_is_typed_whole_and_shown_masked_on_the_details_and_in_the_history(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    form = as_zhang.text("/customers/new/")
    assert 'name="id_number"' in form and "身份证号" in form and "仅个人客户填写" in form
    response = as_zhang.post("/customers/new/", individual(users, id_number="370202 19900504 1230"))
    assert response.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (customer,) = s.customers.list().items
    assert customer.id_number == crmkit.IdNumber(NUMBER)
    page = as_zhang.text(f"/customers/details/?id={customer.id}")
    assert MASKED in page and NUMBER not in page
    edit = as_zhang.text(f"/customers/edit/?id={customer.id}")
    assert f'value="{NUMBER}"' in edit  # the form holds the number to correct


def test_a_wrong_number_is_refused_on_its_field(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    page = as_zhang.post(
        "/customers/new/", individual(users, id_number=NUMBER[:-1] + "9")
    ).get_data(as_text=True)
    assert "不是有效的居民身份证号码" in page and "末位校验码不正确" in page
    with crm.session(actor=users["zhang"]) as s:
        assert s.customers.count() == 0


def test_the_label_follows_the_language(as_zhang: Browser) -> None:
    as_zhang.post("/language", {"lang": "en"})
    form = as_zhang.text("/customers/new/")
    assert "ID number" in form and "individuals only" in form


def test_another_document_is_chosen_beside_the_number(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    form = as_zhang.text("/customers/new/")
    assert 'name="id_type"' in form and "证件类型" in form and "护照" in form
    response = as_zhang.post(
        "/customers/new/", individual(users, id_type="passport", id_number="e1234 5678")
    )
    assert response.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (customer,) = s.customers.list().items
    assert customer.id_number == crmkit.IdNumber("E12345678", crmkit.IdType.PASSPORT)
    assert customer.id_type is crmkit.IdType.PASSPORT
    page = as_zhang.text(f"/customers/details/?id={customer.id}")
    assert "E1*****78" in page and "E12345678" not in page and "护照" in page
    edit = as_zhang.text(f"/customers/edit/?id={customer.id}")
    assert 'value="E12345678"' in edit


def test_a_type_without_a_number_is_refused_on_its_field(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    page = as_zhang.post("/customers/new/", individual(users, id_type="passport")).get_data(
        as_text=True
    )
    assert "需同时填写证件号码" in page
    with crm.session(actor=users["zhang"]) as s:
        assert s.customers.count() == 0
