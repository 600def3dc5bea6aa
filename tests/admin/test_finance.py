"""财务 in the admin: 应收款 with its aging summary and filters, in the user's scope; 登记回款
with its allocation preview (automatic and by hand) before anything is written; field errors
beside their fields, in the session's language, with nothing written; a payment's page with
冲回 of a line and of the whole payment and 冲销预收; 抹零 and its reversal on a receivable's
page; 对账单 with its XLSX; 回款统计; and every screen in 简体中文 and English."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import openpyxl
import pytest
from flask import Flask

import crmkit
from tests.admin.conftest import PASSWORDS, Browser, make_customer
from tests.admin.pages import flashes, part, text_of

FINANCE_PASSWORD = "finance-pass"


def cny(amount: str) -> crmkit.Money:
    return crmkit.Money(Decimal(amount))


def field_errors(page: str) -> list[str]:
    return [text_of(m) for m in re.findall(r'class="invalid-feedback[^"]*">(.*?)</div>', page)]


@attrs.frozen
class Books:
    """The team (admin, 王经理 with 张三 and 李小明, 刘芳 of finance), 张三's customer with an
    approved order of ¥10,000.00 planned in two instalments (¥3,000.00 due 40 days ago,
    ¥7,000.00 in 30 days), and 李小明's customer with one of ¥8,000.00 due 100 days ago."""

    app: Flask
    crm: crmkit.CRM
    users: dict[str, crmkit.User]
    mine: crmkit.Customer
    theirs: crmkit.Customer
    first: crmkit.Receivable
    second: crmkit.Receivable
    other: crmkit.Receivable
    today: date

    def browser(self, who: str) -> Browser:
        return Browser.signed_in(self.app, self.users[who], PASSWORDS.get(who, FINANCE_PASSWORD))

    def receivable(self, id: str) -> crmkit.Receivable:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            found: crmkit.Receivable = s.receivables.get(id)
        return found

    def payments(self) -> list[crmkit.Payment]:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            return list(s.payments.list().items)

    def pay(self, amount: str, **more: Any) -> crmkit.Payment:
        with self.crm.session(actor=self.users["finance"]) as s:
            made: crmkit.Payment = s.payments.record(
                customer_id=self.mine.id,
                amount=amount,
                received_on=self.today,
                method="bank_transfer",
                **more,
            )
        return made


def approved_order(
    crm: crmkit.CRM, users: dict[str, crmkit.User], who: str, customer: Any, price: str
) -> crmkit.Order:
    line = [{"name": "智能门锁", "quantity": "1", "unit_price": price, "tax_rate": "13%"}]
    with crm.session(actor=users[who]) as s:
        order: crmkit.Order = s.orders.create(customer_id=customer.id, lines=line)
        s.orders.submit(order.id)
    with crm.session(actor=users["boss"]) as s:
        for a in s.approvals.inbox().items:
            s.approvals.approve(a.step_id or "")
    return order


@pytest.fixture
def books(app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]) -> Books:
    with crm.session(actor=users["admin"]) as s:
        finance = s.users.create(name="刘芳", role="finance", password=FINANCE_PASSWORD)
        today = s.today()
    mine = make_customer(crm, users["zhang"])
    theirs = make_customer(crm, users["li"], name="上海四通贸易有限公司")
    order = approved_order(crm, users, "zhang", mine, "10000")
    other = approved_order(crm, users, "li", theirs, "8000")
    with crm.session(actor=users["zhang"]) as s:
        first, second = s.receivables.plan(
            order.id, [(today - timedelta(days=40), "30%"), (today + timedelta(days=30), "70%")]
        )
    with crm.session(actor=users["li"]) as s:
        (late,) = s.receivables.plan(other.id, [(today - timedelta(days=100), "8000.00")])
    everyone = {**users, "finance": finance}
    return Books(app, crm, everyone, mine, theirs, first, second, late, today)


def record_form(books: Books, **fields: str) -> dict[str, str]:
    return {
        "customer_id": books.mine.id,
        "amount": "5000",
        "received_on": books.today.isoformat(),
        "method": "bank_transfer",
        "category": "sales",
        "account": "工行青岛分行",
        "reference": "HX0001",
        "remarks": "",
        "mode": "auto",
        "step": "preview",
        **fields,
    }


# -- 应收款 ------------------------------------------------------------------------------------
def test_the_receivables_list_has_the_aging_summary_and_filters(books: Books) -> None:
    finance = books.browser("finance")
    page = finance.text("/receivables/")
    summary = part(page, "aging-summary", "</div>\n</div>")
    assert "未到期 ¥7,000.00" in summary and "31–60天 ¥3,000.00" in summary
    assert "90天以上 ¥8,000.00" in summary and "应收合计 ¥18,000.00" in summary
    rows = part(page, "model-list")
    assert f"{books.first.number} 青岛金智电子科技有限公司 SO-" in rows
    assert "1 ¥3,000.00" in rows and "¥3,000.00 未收 31–60天 张三" in rows
    assert "上海四通贸易有限公司" in rows and "90天以上 李小明" in rows
    assert "open" not in rows and "31_60" not in rows  # codes are never shown
    late = part(finance.text("/receivables/?aging=31_60"), "model-list")
    assert books.first.number in late and books.second.number not in late
    assert books.other.number not in late
    not_due = part(finance.text("/receivables/?aging=not_due"), "model-list")
    assert books.second.number in not_due and books.first.number not in not_due
    li = part(finance.text(f"/receivables/?owner_id={books.users['li'].id}"), "model-list")
    assert books.other.number in li and books.first.number not in li
    paid = part(finance.text("/receivables/?status=paid"), "model-list")
    assert books.first.number not in paid and books.other.number not in paid
    page = finance.text(f"/receivables/details/?id={books.first.id}")
    assert "应收单号" in page and "应收金额" in page and "未收余额" in page
    assert 'id="record-payment"' in page and 'id="write-off-form"' in page


def test_a_salesperson_sees_only_their_customers_receivables(books: Books) -> None:
    zhang = books.browser("zhang")
    page = zhang.text("/receivables/")
    rows = part(page, "model-list")
    assert books.first.number in rows and books.other.number not in rows
    assert "上海四通贸易有限公司" not in rows
    assert "应收合计 ¥10,000.00" in part(page, "aging-summary", "</div>\n</div>")
    assert zhang.get(f"/receivables/details/?id={books.other.id}").status_code == 404
    mine = zhang.text(f"/receivables/details/?id={books.first.id}")
    assert 'id="write-off-form"' not in mine and 'id="record-payment"' not in mine
    assert zhang.get("/payments/new/").status_code == 403
    books.pay("3000")
    with books.crm.session(actor=books.users["finance"]) as s:
        s.payments.record(
            customer_id=books.theirs.id, amount="100", received_on=books.today, method="cash"
        )
    payments = part(zhang.text("/payments/"), "model-list")
    assert "青岛金智电子科技有限公司" in payments and "上海四通贸易有限公司" not in payments
    statistics = zhang.text("/collections/")
    assert "上海四通" not in statistics and "李小明" not in part(statistics, "chart-aging")
    statement = zhang.text(f"/statements/?customer_id={books.theirs.id}")
    assert 'id="statement"' not in statement and "您无权查看" in flashes(statement)


# -- 登记回款 ----------------------------------------------------------------------------------
def test_recording_a_payment_previews_the_allocation_then_records_it(books: Books) -> None:
    finance = books.browser("finance")
    form_page = finance.text(f"/payments/new/?customer_id={books.mine.id}")
    assert "登记回款" in form_page and "自动冲销" in form_page and "手工分配" in form_page
    assert f'value="{books.today.isoformat()}"' in form_page  # today by default
    assert f'<option value="{books.mine.id}" selected>' in form_page
    preview = finance.post("/payments/new/", record_form(books)).get_data(as_text=True)
    table = part(preview, "allocation-preview")
    assert f"{books.first.number}" in table and "¥3,000.00 ¥3,000.00 ¥0.00" in table
    assert f"{books.second.number}" in table and "¥7,000.00 ¥2,000.00 ¥5,000.00" in table
    assert "未冲销（预收） ¥0.00" in table
    assert "¥5,000.00" in part(preview, "payment-summary") and "银行转账" in preview
    assert books.payments() == []  # a preview writes nothing
    done = finance.post("/payments/new/", record_form(books, step="confirm"))
    assert done.status_code == 302
    (payment,) = books.payments()
    assert done.location == f"/payments/details/?id={payment.id}"
    assert payment.reference == "HX0001" and payment.account == "工行青岛分行"
    assert books.receivable(books.first.id).status is crmkit.ReceivableStatus.PAID
    assert books.receivable(books.second.id).balance == cny("5000.00")
    page = finance.text(done.location)
    assert f"回款 {payment.number} 已登记：冲销 ¥5,000.00，未冲销（预收）¥0.00" in flashes(page)
    lines = part(page, "payment-allocations")
    assert books.first.number in lines and books.second.number in lines


def test_a_manual_allocation_starts_from_the_automatic_one_and_is_checked(books: Books) -> None:
    finance = books.browser("finance")
    preview = finance.post("/payments/new/", record_form(books, mode="manual")).get_data(
        as_text=True
    )
    assert f'name="alloc-{books.first.id}" id="alloc-{books.first.id}" value="3000.00"' in preview
    assert f'name="alloc-{books.second.id}" id="alloc-{books.second.id}" value="2000.00"' in preview
    typed = record_form(books, mode="manual", manual_shown="1")
    too_much = {**typed, f"alloc-{books.second.id}": "7500", "step": "confirm"}
    page = finance.post("/payments/new/", too_much).get_data(as_text=True)
    assert "超过未收余额 7000.00" in field_errors(page)[0]
    assert 'id="allocation-preview"' in page  # still on the preview, the input kept
    assert 'value="7500"' in page and books.payments() == []
    again = {**typed, f"alloc-{books.second.id}": "4000", "step": "preview"}
    page = finance.post("/payments/new/", again).get_data(as_text=True)
    assert "未冲销（预收） ¥1,000.00" in part(page, "allocation-preview")
    done = finance.post("/payments/new/", {**again, "step": "confirm"})
    assert done.status_code == 302
    (payment,) = books.payments()
    assert payment.unapplied == cny("1000.00")
    assert books.receivable(books.first.id).balance == cny("3000.00")  # untouched
    assert books.receivable(books.second.id).balance == cny("3000.00")


def test_bad_input_shows_field_errors_and_writes_nothing(books: Books) -> None:
    finance = books.browser("finance")
    bad = record_form(books, amount="-5", received_on="not a date", customer_id="")
    page = finance.post("/payments/new/", bad).get_data(as_text=True)
    errors = field_errors(page)
    assert len(errors) == 3 and "必填" in errors[0] and "不能为负数" in errors[1]
    assert "不是有效的日期" in errors[2]
    assert "3 个字段有误" in flashes(page) and "回款金额" in flashes(page)
    assert 'value="not a date"' in page and 'id="preview-payment"' in page  # kept, on the form
    tomorrow = (books.today + timedelta(days=1)).isoformat()
    page = finance.post(
        "/payments/new/", record_form(books, received_on=tomorrow, step="confirm")
    ).get_data(as_text=True)
    assert "晚于今天" in field_errors(page)[0]
    assert books.payments() == []
    assert books.receivable(books.first.id).balance == cny("3000.00")
    finance.post("/language", {"lang": "en"})
    page = finance.post("/payments/new/", bad).get_data(as_text=True)
    assert "is required" in " ".join(field_errors(page)) and "must not be negative" in page
    assert "amount received" in flashes(page)
    assert books.payments() == []


# -- a payment's page: 冲回, 冲回整笔, 冲销预收 ------------------------------------------------
def test_reversing_a_line_and_a_payment_and_applying_a_prepayment(books: Books) -> None:
    finance = books.browser("finance")
    payment = books.pay("5000")
    page = finance.text(f"/payments/details/?id={payment.id}")
    assert "确定冲回" in page and "data-confirm" in page  # the browser asks before
    line = payment.allocations[1]  # ¥2,000.00 of the second instalment
    refused = finance.post(
        "/payments/unallocate/", {"id": payment.id, "allocation_id": line.id, "reason": ""}
    )
    assert "理由" in flashes(finance.text(refused.location))
    assert books.receivable(books.second.id).balance == cny("5000.00")  # nothing reversed
    done = finance.post(
        "/payments/unallocate/",
        {"id": payment.id, "allocation_id": line.id, "reason": "冲错期次"},
    )
    page = finance.text(done.location)
    assert "冲销已冲回" in flashes(page)
    assert "冲回：冲错期次" in part(page, "payment-allocations")
    assert books.receivable(books.second.id).balance == cny("7000.00")
    # ¥2,000.00 unapplied again: 冲销预收 previews the oldest due first and applies it
    assert "尚有 ¥2,000.00 未冲销" in page and books.second.number in part(page, "apply-preview")
    applied = finance.post("/payments/apply/", {"id": payment.id})
    assert "预收款已冲销" in flashes(finance.text(applied.location))
    assert books.receivable(books.second.id).balance == cny("5000.00")
    reversed_ = finance.post("/payments/reverse/", {"id": payment.id, "reason": "支票退票"})
    page = finance.text(reversed_.location)
    assert "回款已冲回" in flashes(page) and "已冲回" in part(page, "details")
    assert books.receivable(books.first.id).status is crmkit.ReceivableStatus.OPEN
    assert books.receivable(books.second.id).balance == cny("7000.00")
    assert 'id="reverse-payment"' not in page and "unallocate-form" not in page


def test_writing_off_a_remainder_and_reversing_it(books: Books) -> None:
    finance = books.browser("finance")
    books.pay("2999.50")
    url = f"/receivables/details/?id={books.first.id}"
    page = finance.text(url)
    assert 'id="write-off-amount" value="0.50"' in page  # the balance by default
    assert "最多 ¥10.00（抹零限额）" in page
    form = {"id": books.first.id, "amount": "12", "reason": "尾差"}
    refused = finance.post("/receivables/write-off/", form).get_data(as_text=True)
    assert "超过未收余额 0.50" in field_errors(refused)[0] and 'value="12"' in refused
    no_reason = finance.post("/receivables/write-off/", {**form, "amount": "", "reason": ""})
    assert "必填" in " ".join(field_errors(no_reason.get_data(as_text=True)))
    assert books.receivable(books.first.id).status is crmkit.ReceivableStatus.PARTLY_PAID
    done = finance.post("/receivables/write-off/", {**form, "amount": ""})
    page = finance.text(done.location)
    assert "已抹零 ¥0.50" in flashes(page) and "已抹零" in part(page, "details")
    assert "尾差" in part(page, "receivable-write-offs") and 'id="write-off-form"' not in page
    assert "确定冲回抹零" in page  # the reversal asks first
    with books.crm.session(actor=crmkit.SYSTEM) as s:
        (write_off,) = s.receivables.write_offs(books.first.id)
    back = {"id": books.first.id, "write_off_id": write_off.id, "reason": ""}
    assert "理由" in flashes(
        finance.text(finance.post("/receivables/reverse-write-off/", back).location)
    )
    done = finance.post("/receivables/reverse-write-off/", {**back, "reason": "客户补款"})
    page = finance.text(done.location)
    assert "抹零已冲回" in flashes(page)
    assert books.receivable(books.first.id).balance == cny("0.50")
    assert "冲回 " in part(page, "receivable-write-offs")
    zhang = books.browser("zhang")  # a salesperson reads the write-offs, may not make them
    assert 'id="write-off-form"' not in zhang.text(url)
    refused = zhang.post("/receivables/write-off/", {**form, "amount": ""})
    assert books.receivable(books.first.id).balance == cny("0.50")
    assert refused.status_code == 302


# -- 对账单 and 回款统计 ------------------------------------------------------------------------
def test_the_statement_and_its_xlsx(books: Books) -> None:
    finance = books.browser("finance")
    payment = books.pay("5000", reference="HX0002")
    start = (books.today - timedelta(days=30)).isoformat()
    query = f"customer_id={books.mine.id}&start={start}&end={books.today.isoformat()}"
    page = finance.text(f"/statements/?{query}")
    table = part(page, "statement")
    assert "期初余额 ¥0.00" in table and "期末余额 ¥5,000.00" in table
    assert f"应收 {books.first.number}" in table and f"回款 {payment.number} HX0002" in table
    assert "¥5,000.00 ¥5,000.00" in table  # the payment's credit and the balance after
    download = finance.get(f"/statements/download/?{query}")
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(download.get_data())).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert payment.number in cells and books.first.number in cells
    wrong = finance.text(f"/statements/?customer_id={books.mine.id}&start=2026-13-01&end=x")
    assert len(field_errors(wrong)) == 2 and "起始日期：不是有效的日期" in flashes(wrong)
    assert 'id="statement"' not in wrong


def test_collection_statistics(books: Books) -> None:
    books.pay("5000")
    with books.crm.session(actor=books.users["finance"]) as s:
        s.payments.record(
            customer_id=books.mine.id,
            amount="800",
            received_on=books.today,
            method="wechat",
            category="deposit",
            allocate=None,
        )
    page = books.browser("boss").text("/collections/")
    aging = part(page, "chart-aging")
    assert "张三 ¥5,000.00 ¥0.00 ¥0.00 ¥0.00 ¥0.00 ¥5,000.00" in aging
    assert "李小明 ¥0.00 ¥0.00 ¥0.00 ¥0.00 ¥8,000.00 ¥8,000.00" in aging
    assert aging.index("李小明") < aging.index("张三")  # the most owed first
    assert "李小明 1 ¥8,000.00 ¥8,000.00" in part(page, "chart-owners")
    unpaid = part(page, "chart-unpaid-orders")
    assert "上海四通贸易有限公司 李小明 ¥8,000.00 ¥8,000.00 ¥8,000.00" in unpaid
    assert "银行转账 1 ¥5,000.00" in part(page, "chart-methods")
    assert "微信支付 1 ¥800.00" in part(page, "chart-methods")
    assert "定金/预付款 1 ¥800.00" in part(page, "chart-categories")
    month = books.today.strftime("%Y-%m")
    assert f"{month} 2 ¥5,800.00" in part(page, "chart-months")
    empty = books.browser("boss").text("/collections/?from_month=2020-01&to_month=2020-02")
    assert "该期间没有回款" in empty
    wrong = books.browser("boss").text("/collections/?from_month=soon")
    assert "“soon”不是有效的月份" in flashes(wrong)


# -- languages --------------------------------------------------------------------------------
def test_the_finance_screens_read_in_english(books: Books) -> None:
    finance = books.browser("finance")
    payment = books.pay("5000")
    finance.post("/language", {"lang": "en"})
    page = finance.text("/receivables/")
    summary = part(page, "aging-summary", "</div>\n</div>")
    assert "Not due CN¥5,000.00" in summary and "31–60 days CN¥0.00" in summary
    assert "Receivable number" in page and "Partly paid" in part(page, "model-list")
    assert "Finance" in page and "Collection statistics" in page  # the menu
    details = finance.text(f"/payments/details/?id={payment.id}")
    assert "Bank transfer" in details and "Posted" in details and "Reverse the payment" in details
    assert "Record a payment" in finance.text("/payments/new/")
    statement = finance.text(f"/statements/?customer_id={books.mine.id}")
    assert "Balance brought forward" in statement and "Receivable" in part(statement, "statement")
    charts = text_of(finance.text("/collections/"))
    assert "Aging by salesperson" in charts and "Bank transfer 1 CN¥5,000.00" in charts
