"""The quote builder: live totals priced by crmkit's dry run (``/quotes/price/``), saving
through ``s.quotes.create`` / ``update`` with every error beside its row, the form's own
buttons for browsers without scripts, and the quote's moves on its page."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

import crmkit
from tests.admin.conftest import Browser, make_customer

TAG = re.compile(r"<[^>]+>")


@pytest.fixture
def catalogue(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> crmkit.Product:
    with crm.session(actor=users["admin"]) as s:
        return s.products.create(
            name="智能门锁", code="LK-100", unit="套", price="1999", cost="1200", tax_rate="13%"
        )


@pytest.fixture
def customer(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> crmkit.Customer:
    return make_customer(crm, users["zhang"], address="香港中路10号", region="山东省/青岛市/市南区")


def lines(*rows: dict[str, str], keys: list[str] | None = None) -> dict[str, Any]:
    """The builder's line inputs: ``line`` keys in order, ``lines-<key>-<field>``."""
    keys = keys or [str(i) for i in range(len(rows))]
    form: dict[str, Any] = {"line": keys}
    for key, row in zip(keys, rows, strict=True):
        form.update({f"lines-{key}-{field}": value for field, value in row.items()})
    return form


def builder_form(customer_id: str = "", **extra: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "prices_include_tax": "y", **extra}


TWO_LINES = (
    {"product_id": "", "quantity": "2"},  # product filled in by the fixture's id
    {"name": "安装调试服务", "unit": "项", "quantity": "1", "unit_price": "500", "tax_rate": "6%"},
)


def two_lines(product: crmkit.Product) -> dict[str, Any]:
    first = {**TWO_LINES[0], "product_id": product.id}
    return lines(first, TWO_LINES[1])


def price(browser: Browser, form: dict[str, Any]) -> dict[str, Any]:
    response = browser.post("/quotes/price/", form)
    assert response.status_code == 200, response.status_code
    data: dict[str, Any] = response.get_json()
    return data


def row_html(page: str, key: str) -> str:
    start = page.index(f'<tr class="quote-line" data-key="{key}">')
    return page[start : page.index("</tr>", start)]


def test_live_totals_are_crmkits_prices_of_the_typed_lines(
    as_zhang: Browser, customer: crmkit.Customer, catalogue: crmkit.Product
) -> None:
    data = price(as_zhang, {**builder_form(customer.id), **two_lines(catalogue)})
    assert data["totals"] == {
        "net": "¥4,009.75",
        "tax": "¥488.25",
        "gross": "¥4,498.00",
        "margin": "¥1,138.05",  # the costed line only: 3,538.05 − 2 × 1,200
        "margin_rate": "32.17%",
        "uncosted": "未填单位成本的 1 行不计入毛利。",
    }
    first, second = data["lines"]
    assert first["amounts"] == {"net": "¥3,538.05", "tax": "¥459.95", "gross": "¥3,998.00"}
    assert first["defaults"]["name"] == "智能门锁" and first["defaults"]["unit_price"] == "1999"
    assert first["defaults"]["tax_rate"] == "13%" and first["errors"] == {}
    assert second["amounts"]["gross"] == "¥500.00" and not data["partial"]


def test_typing_a_quantity_changes_the_totals(
    as_zhang: Browser, customer: crmkit.Customer, catalogue: crmkit.Product
) -> None:
    form = {**builder_form(customer.id), **two_lines(catalogue)}
    form["lines-0-quantity"] = "3"
    assert price(as_zhang, form)["totals"]["gross"] == "¥6,497.00"
    form["prices_include_tax"] = ""  # unit prices without VAT: the same figures get VAT added
    assert price(as_zhang, form)["totals"]["net"] == "¥5,807.09"


def test_wrong_fields_come_back_under_their_row_with_the_others_totalled(
    as_zhang: Browser, customer: crmkit.Customer, catalogue: crmkit.Product
) -> None:
    form = {
        **builder_form(customer.id),
        **lines(
            {"product_id": catalogue.id, "quantity": "2"},
            {},  # an empty row the user has not filled in yet: left out
            {"name": "安装", "quantity": "-1", "unit_price": "abc", "tax_rate": "6%"},
            keys=["3", "4", "9"],
        ),
    }
    data = price(as_zhang, form)
    by_key = {line["key"]: line for line in data["lines"]}
    assert by_key["9"]["errors"] == {"quantity": "必须大于零", "unit_price": "不是有效的金额"}
    assert by_key["4"]["errors"] == {} and by_key["3"]["errors"] == {}
    assert data["partial"] and data["totals"]["gross"] == "¥3,998.00"
    assert data["note"] == "合计不含有错误的行。"
    as_zhang.post("/language", {"lang": "en"})
    data = price(as_zhang, form)
    assert data["lines"][2]["errors"]["quantity"] == "must be greater than zero"


def test_without_a_customer_the_totals_wait_for_one(
    as_zhang: Browser, catalogue: crmkit.Product
) -> None:
    data = price(as_zhang, {**builder_form(), **two_lines(catalogue)})
    assert data["totals"] is None and data["note"] == "选择客户后显示合计。"
    assert all(line["errors"] == {} for line in data["lines"])  # the lines themselves are fine


def test_pricing_another_salespersons_quote_is_a_404(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    theirs = make_customer(crm, users["li"], name="上海四通贸易有限公司")
    with crm.session(actor=users["li"]) as s:
        quote = s.quotes.create(customer_id=theirs.id)
    response = as_zhang.post("/quotes/price/", {"id": quote.id, "line": []})
    assert response.status_code == 404


def test_saving_the_builder_creates_a_quote_with_its_lines(
    as_zhang: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    customer: crmkit.Customer,
    catalogue: crmkit.Product,
) -> None:
    page = as_zhang.text(f"/quotes/new/?customer_id={customer.id}")
    assert "LK-100 智能门锁" in page  # the catalogue is offered
    assert re.search(rf'<option value="{customer.id}" selected>', page)
    done = as_zhang.post(
        "/quotes/new/", {**builder_form(customer.id, remarks="含安装"), **two_lines(catalogue)}
    )
    assert done.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (quote,) = s.quotes.list().items
    assert done.location == f"/quotes/details/?id={quote.id}"
    assert [line.name for line in quote.lines] == ["智能门锁", "安装调试服务"]
    assert quote.gross == crmkit.Money.parse("4498.00") and quote.remarks == "含安装"
    assert quote.owner_id == users["zhang"].id
    details = as_zhang.text(done.location)
    assert f"报价单 {quote.number} 已保存" in details and "¥4,498.00" in details


def test_a_failed_save_shows_each_error_beside_its_row_and_keeps_the_input(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], catalogue: crmkit.Product
) -> None:
    form = {
        **builder_form(valid_until="2020-01-01"),  # no customer, a past date
        **lines(
            {"product_id": catalogue.id, "quantity": "2"},
            {"name": "安装", "quantity": "0", "unit_price": "500", "tax_rate": "6%"},
            keys=["0", "7"],
        ),
    }
    response = as_zhang.post("/quotes/new/", form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    row = row_html(page, "7")
    assert 'name="lines-7-quantity" id="lines-7-quantity" data-field="quantity" value="0"' in row
    assert "is-invalid" in row and "必须大于零" in row
    assert "必须大于零" not in row_html(page, "0")
    assert re.search(r'id="customer_id"[^>]*is-invalid|is-invalid[^>]*id="customer_id"', page)
    header = page[page.index('id="section-header"') : page.index('id="section-lines"')]
    assert "必填" in header and "2020-01-01" in header
    with crm.session(actor=users["zhang"]) as s:
        assert not s.quotes.list().items


def test_without_scripts_the_forms_buttons_add_and_remove_rows_and_price_them(
    as_zhang: Browser, customer: crmkit.Customer, catalogue: crmkit.Product
) -> None:
    base = {**builder_form(customer.id), **two_lines(catalogue)}
    page = as_zhang.post("/quotes/new/", {**base, "add_line": "1"}).get_data(as_text=True)
    assert 'data-key="2"' in page and "¥4,498.00" in page
    page = as_zhang.post("/quotes/new/", {**base, "remove_line": "1"}).get_data(as_text=True)
    assert 'data-key="1"' not in page and "¥3,998.00" in page
    page = as_zhang.post("/quotes/new/", {**base, "recalculate": "1"}).get_data(as_text=True)
    assert "¥1,138.05" in page and "32.17%" in page


def test_a_draft_is_edited_in_the_builder_and_a_sent_quote_is_not(
    as_zhang: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    customer: crmkit.Customer,
    catalogue: crmkit.Product,
) -> None:
    with crm.session(actor=users["zhang"]) as s:
        quote = s.quotes.create(
            customer_id=customer.id, lines=[{"product_id": catalogue.id, "quantity": "2"}]
        )
    page = as_zhang.text(f"/quotes/edit/?id={quote.id}")
    assert 'name="lines-0-quantity" id="lines-0-quantity" data-field="quantity" value="2"' in page
    assert "¥3,998.00" in page and 'data-key="1"' in page  # and a row to add a line in
    form = {
        "version": str(quote.version),
        "valid_until": quote.valid_until.isoformat(),
        "prices_include_tax": "y",
        **lines({"product_id": catalogue.id, "name": "智能门锁", "quantity": "5",
                 "unit_price": "1999", "tax_rate": "13%"}),
    }  # fmt: skip
    assert price(as_zhang, {**form, "id": quote.id})["totals"]["gross"] == "¥9,995.00"
    done = as_zhang.post(f"/quotes/edit/?id={quote.id}", form)
    assert done.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        assert s.quotes.get(quote.id).gross == crmkit.Money.parse("9995.00")
    # the same form again: its version is stale now
    page = as_zhang.post(f"/quotes/edit/?id={quote.id}", form).get_data(as_text=True)
    assert "已被他人修改" in page and quote.id not in TAG.sub(" ", page)
    with crm.session(actor=users["zhang"]) as s:
        s.quotes.send(quote.id)
    sent = as_zhang.get(f"/quotes/edit/?id={quote.id}")
    assert sent.status_code == 302
    assert "只有草稿可以修改" in as_zhang.text(sent.location)


def test_a_quote_is_sent_accepted_rejected_and_revised_from_its_page(
    as_zhang: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    customer: crmkit.Customer,
    catalogue: crmkit.Product,
) -> None:
    with crm.session(actor=users["zhang"]) as s:
        empty = s.quotes.create(customer_id=customer.id)
        quote = s.quotes.create(
            customer_id=customer.id, lines=[{"product_id": catalogue.id, "quantity": "1"}]
        )
        other = s.quotes.create(
            customer_id=customer.id, lines=[{"product_id": catalogue.id, "quantity": "1"}]
        )
    refused = as_zhang.post("/quotes/send/", {"id": empty.id, "version": "1"})
    assert "报价单至少要有一行明细才能发送" in as_zhang.text(refused.location)
    page = as_zhang.text(f"/quotes/details/?id={quote.id}")
    assert 'id="send-quote"' in page and 'id="edit-quote"' in page
    as_zhang.post("/quotes/send/", {"id": quote.id, "version": "1"})
    page = as_zhang.text(f"/quotes/details/?id={quote.id}")
    assert "已发送" in page and 'id="accept-quote"' in page and 'id="edit-quote"' not in page
    as_zhang.post("/quotes/accept/", {"id": quote.id, "note": "电话确认"})
    with crm.session(actor=users["zhang"]) as s:
        accepted = s.quotes.get(quote.id)
        assert accepted.status is crmkit.QuoteStatus.ACCEPTED
        assert accepted.decision_note == "电话确认"
        s.quotes.send(other.id)
    as_zhang.post("/quotes/reject/", {"id": other.id, "reason": "价格偏高"})
    revised = as_zhang.post("/quotes/revise/", {"id": other.id})
    with crm.session(actor=users["zhang"]) as s:
        (draft,) = s.quotes.list(status="draft", quote_number=other.quote_number).items
        assert s.quotes.get(other.id).status is crmkit.QuoteStatus.SUPERSEDED
    assert revised.location == f"/quotes/edit/?id={draft.id}"
    page = as_zhang.text(f"/quotes/details/?id={draft.id}")
    assert f"{other.quote_number} 第2版" in page and 'id="quote-revisions"' in page


def test_lines_come_from_a_spreadsheet_and_a_wrong_cell_names_its_line(
    as_zhang: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    customer: crmkit.Customer,
    catalogue: crmkit.Product,
) -> None:
    with crm.session(actor=users["zhang"]) as s:
        quote = s.quotes.create(customer_id=customer.id)
    sheet = "产品编码,名称,数量,单价,税率\nLK-100,,2,,\n,安装调试服务,1,500,6%\n"
    done = as_zhang.post(
        "/quotes/import-lines/",
        {"id": quote.id, "file": (io.BytesIO(sheet.encode()), "明细.csv")},
        content_type="multipart/form-data",
    )
    assert "已导入 2 行明细" in as_zhang.text(done.location)
    with crm.session(actor=users["zhang"]) as s:
        assert s.quotes.get(quote.id).gross == crmkit.Money.parse("4498.00")
    bad = "名称,数量,单价,税率\n门禁控制器,-3,2680,13%\n"
    done = as_zhang.post(
        "/quotes/import-lines/",
        {"id": quote.id, "file": (io.BytesIO(bad.encode()), "明细.csv")},
        content_type="multipart/form-data",
    )
    page = as_zhang.text(done.location)
    assert "表格第 1 行明细" in page and "必须大于零" in page
    with crm.session(actor=users["zhang"]) as s:
        assert len(s.quotes.get(quote.id).lines) == 2  # all or nothing


def test_an_opportunitys_page_lists_its_quotes_and_starts_a_new_one(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], customer: crmkit.Customer
) -> None:
    with crm.session(actor=users["zhang"]) as s:
        opp = s.opportunities.create(customer_id=customer.id, title="门禁改造")
        quote = s.quotes.create(customer_id=customer.id, opportunity_id=opp.id)
    page = as_zhang.text(f"/opportunities/details/?id={opp.id}")
    assert quote.number in page
    start = page.index('id="new-quote"')
    link = page[start : page.index(">", start)].replace("&amp;", "&")
    assert f"customer_id={customer.id}" in link and f"opportunity_id={opp.id}" in link
    builder = as_zhang.text(f"/quotes/new/?customer_id={customer.id}&opportunity_id={opp.id}")
    assert re.search(rf'<option value="{opp.id}" data-customer="{customer.id}" selected>', builder)


def test_markup_typed_into_a_line_stays_text_in_the_json_and_the_page(
    as_zhang: Browser, customer: crmkit.Customer
) -> None:
    form = {
        **builder_form(customer.id),
        **lines({"name": "<b>门锁</b>", "quantity": "1", "unit_price": "9", "tax_rate": "13%"}),
    }
    raw = as_zhang.post("/quotes/price/", form).get_data(as_text=True)
    assert "<b>" not in raw and "\\u003cb\\u003e门锁" in raw
    page = as_zhang.post("/quotes/new/", {**form, "recalculate": "1"}).get_data(as_text=True)
    assert "<b>门锁</b>" not in page and "&lt;b&gt;门锁&lt;/b&gt;" in page
