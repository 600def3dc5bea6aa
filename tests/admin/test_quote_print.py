"""A quote's print view: an A4 document of its own with the company's header, the customer,
the lines, the totals in figures and in Chinese capitals, the validity and signatures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

import crmkit
from crmkit.testing import ManualClock
from tests.admin.conftest import PASSWORDS, Browser, admin_app, make_customer

TAG = re.compile(r"<[^>]+>")


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", TAG.sub(" ", page))


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[Flask]:
    with admin_app(
        tmp_path,
        clock,
        ADMIN_COMPANY_NAME="青岛示例智能科技有限公司",
        ADMIN_COMPANY_ADDRESS="山东省青岛市市南区香港中路10号",
        ADMIN_COMPANY_PHONE="0532-88880000",
    ) as app:
        yield app


@pytest.fixture
def quote(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> crmkit.Quote:
    customer = make_customer(
        crm, users["zhang"], region="山东省/青岛市/市南区", address="东海路1号"
    )
    with crm.session(actor=users["zhang"]) as s:
        s.contacts.create(customer_id=customer.id, name="李四", mobile="13900001234")
        made: crmkit.Quote = s.quotes.create(
            customer_id=customer.id,
            remarks="含安装调试",
            lines=[
                {"name": "智能门锁", "specification": "指纹+密码", "unit": "套",
                 "quantity": "2", "unit_price": "1999", "tax_rate": "13%"},
                {"name": "安装调试服务", "unit": "项", "quantity": "1", "unit_price": "500",
                 "discount": "10%", "tax_rate": "6%"},
            ],
        )  # fmt: skip
        s.quotes.send(made.id)
    return made


def test_the_print_view_has_the_company_header_customer_lines_and_totals(
    as_zhang: Browser, quote: crmkit.Quote
) -> None:
    page = as_zhang.text(f"/quotes/print/?id={quote.id}")
    text = text_of(page)
    assert "青岛示例智能科技有限公司" in text and "0532-88880000" in text  # the header
    assert "报价单" in text and quote.number in text
    assert "青岛金智电子科技有限公司" in text and "李四" in text and "139 0000 1234" in text
    assert "山东省/青岛市/市南区 东海路1号" in text and "张三" in text
    assert "智能门锁" in text and "指纹+密码" in text and "¥3,998.00" in text and "10%" in text
    totals = text_of(page[page.index('id="print-totals"') :])
    assert "不含税金额 ¥3,962.58" in totals  # 3,538.05 + 424.53 (450 at 6%)
    assert "税额 ¥485.42" in totals and "价税合计 ¥4,448.00" in totals
    assert "人民币肆仟肆佰肆拾捌元整" in totals
    assert "13%" in text_of(page[page.index('id="print-by-rate"') :])  # two rates: per rate
    assert f"本报价有效期至 {quote.valid_until.isoformat()}" in text and "含安装调试" in text
    assert "供方（盖章）" in text and "需方（盖章）" in text
    assert "毛利" not in text  # the margin is for the seller, not the customer


def test_the_print_view_is_an_a4_page_with_print_css_and_no_inline_script(
    as_zhang: Browser, quote: crmkit.Quote
) -> None:
    page = as_zhang.text(f"/quotes/print/?id={quote.id}")
    assert 'href="/assets/print.css"' in page and 'class="print-toolbar no-print"' in page
    assert re.search(r"<script[^>]*src=\"/assets/print.js\"", page)
    assert not re.search(r"<script(?![^>]*src=)[^>]*>", page)
    css = as_zhang.get("/assets/print.css").get_data(as_text=True)
    assert "@page { size: A4" in css and "@media print" in css


def test_the_print_view_in_english_and_out_of_scope(
    browser: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], quote: crmkit.Quote
) -> None:
    browser.login(users["zhang"].login, PASSWORDS["zhang"])
    browser.post("/language", {"lang": "en"})
    text = text_of(browser.text(f"/quotes/print/?id={quote.id}"))
    assert "Quotation" in text and "Total with tax" in text and "Seller (seal)" in text
    browser.post("/logout")
    browser.login(users["li"].login, PASSWORDS["li"])
    assert browser.get(f"/quotes/print/?id={quote.id}").status_code == 404


def test_finance_reads_the_board_and_prints_a_quote_but_moves_nothing(
    browser: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], quote: crmkit.Quote
) -> None:
    with crm.session(actor=users["admin"]) as s:
        s.users.create(name="刘芳", role="finance", password="finance-pass", login="liufang")
        opp = s.opportunities.create(customer_id=quote.customer_id, title="门禁改造")
    browser.login("liufang", "finance-pass")
    board = browser.text("/opportunities/board/")
    assert "门禁改造" in board and "move-form" not in board
    page = browser.text(f"/opportunities/details/?id={opp.id}")
    assert 'id="stage-history"' in page and 'id="new-quote"' not in page
    page = browser.text(f"/quotes/details/?id={quote.id}")
    assert 'id="print-quote"' in page and 'id="accept-quote"' not in page
    assert "¥4,448.00" in browser.text(f"/quotes/print/?id={quote.id}")
    assert browser.get("/quotes/new/").status_code == 403
