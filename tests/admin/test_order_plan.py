"""回款计划 on an order's page: the receivables an approved order's plan made, with their
totals, in 简体中文 and English; the form that makes the plan (``s.receivables.plan``) with
its rows, 添加一行 and 一次付清; crmkit's errors beside their rows and nothing written; the
section in the user's scope; no form on an order that is not approved."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from flask import Flask

import crmkit
from tests.admin.conftest import PASSWORDS, Browser, make_customer
from tests.admin.pages import flashes, part, text_of

FINANCE_PASSWORD = "finance-pass"
TOTAL = "3333.33"  # 30% of it is 999.999: rounded down, the last instalment takes the fen


def row_errors(page: str, field: str, index: int) -> list[str]:
    """The errors under the plan form's input ``field`` of row ``index``."""
    start = page.index(f'id="plan-{field}-{index}"')
    cell = page[start : page.index("</td>", start)]
    return [text_of(m) for m in re.findall(r'class="invalid-feedback[^"]*">(.*?)</div>', cell)]


def typed(page: str, field: str) -> list[str]:
    """The values of the plan form's rows (the template row left out)."""
    form = page[page.index('id="plan-rows"') : page.index('id="plan-row-template"')]
    return re.findall(rf'<input name="{field}" id="plan-{field}-\d+" value="([^"]*)"', form)


@attrs.frozen
class Books:
    """The team (admin, 王经理 with 张三 and 李小明, 刘芳 of finance), 张三's customer with an
    approved order of ¥3,333.33 and no plan yet, and a draft order of the same customer."""

    app: Flask
    crm: crmkit.CRM
    users: dict[str, crmkit.User]
    order: crmkit.Order
    draft: crmkit.Order
    today: date

    def browser(self, who: str) -> Browser:
        return Browser.signed_in(self.app, self.users[who], PASSWORDS.get(who, FINANCE_PASSWORD))

    def receivables(self, order: crmkit.Order | None = None) -> list[crmkit.Receivable]:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            return list(s.receivables.for_order((order or self.order).id))

    def page(self, browser: Browser, order: crmkit.Order | None = None) -> str:
        return browser.text(f"/orders/details/?id={(order or self.order).id}")

    def post(self, browser: Browser, rows: list[tuple[str, str]], **more: str) -> Any:
        """The plan form posted with ``rows`` (``(due, amount)``; blank ones too)."""
        data: dict[str, Any] = {
            "id": self.order.id,
            "version": str(self.order.version),
            "name": self.order.number,
            "due": [due for due, _amount in rows],
            "amount": [amount for _due, amount in rows],
            **more,
        }
        return browser.post("/orders/plan-payments/", data)


def order_of(crm: crmkit.CRM, owner: crmkit.User, customer: crmkit.Customer) -> crmkit.Order:
    line = [{"name": "智能门锁", "quantity": "1", "unit_price": TOTAL, "tax_rate": "13%"}]
    with crm.session(actor=owner) as s:
        order: crmkit.Order = s.orders.create(customer_id=customer.id, lines=line)
    return order


@pytest.fixture
def books(app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]) -> Books:
    with crm.session(actor=users["admin"]) as s:
        finance = s.users.create(name="刘芳", role="finance", password=FINANCE_PASSWORD)
        today = s.today()
    customer = make_customer(crm, users["zhang"])
    order = order_of(crm, users["zhang"], customer)
    with crm.session(actor=users["zhang"]) as s:
        s.orders.submit(order.id)
    with crm.session(actor=users["boss"]) as s:
        for a in s.approvals.inbox().items:
            s.approvals.approve(a.step_id or "")
    with crm.session(actor=crmkit.SYSTEM) as s:
        order = s.orders.get(order.id)
    assert order.approval is crmkit.ApprovalStatus.APPROVED
    assert order.gross == crmkit.Money(Decimal(TOTAL))
    draft = order_of(crm, users["zhang"], customer)
    return Books(app, crm, {**users, "finance": finance}, order, draft, today)


def day(books: Books, days: int) -> str:
    return (books.today + timedelta(days=days)).isoformat()


# -- the section -----------------------------------------------------------------------------
def test_the_section_offers_the_form_then_lists_the_plan_in_chinese_and_english(
    books: Books,
) -> None:
    zhang = books.browser("zhang")
    page = books.page(zhang)
    section = text_of(
        page[
            page.index('id="payment-plan"') : page.index(
                "</form>", page.index('id="payment-plan-form"')
            )
        ]
    )
    assert "回款计划" in section and "¥3,333.33" in section and "向下取整到分" in section
    assert "添加一行" in section and "一次付清" in section and "生成回款计划" in section
    assert "比例或金额" in section and "到期日" in section
    assert typed(page, "due") == ["", "", ""] and typed(page, "amount") == ["", "", ""]
    assert 'placeholder="30% 或 35000.00"' in page and "payment_plan.js" in page
    assert 'id="order-receivables"' not in page
    with books.crm.session(actor=books.users["zhang"]) as s:
        first, second = s.receivables.plan(
            books.order.id, [(day(books, 10), "30%"), (day(books, 40), "70%")]
        )
    page = books.page(zhang)
    assert 'id="payment-plan-form"' not in page  # one plan per order
    table = part(page, "order-receivables")
    assert "应收单号 期次 应收日期 应收金额 已收金额 未收余额 状态" in table
    assert f"{first.number} 1 {day(books, 10)} ¥999.99 ¥0.00 ¥999.99 未收" in table
    assert f"{second.number} 2 {day(books, 40)} ¥2,333.34 ¥0.00 ¥2,333.34 未收" in table
    assert "合计 ¥3,333.33 ¥0.00 ¥3,333.33" in table
    assert f'href="/receivables/details/?id={first.id}"' in page
    assert "open" not in table  # statuses by their labels, never their codes
    zhang.post("/language", {"lang": "en"})
    english = part(books.page(zhang), "order-receivables")
    assert "Receivable number Instalment Due date Amount due Paid Balance Status" in english
    assert f"{first.number} 1 {day(books, 10)} CN¥999.99 CN¥0.00 CN¥999.99 Open" in english
    assert "Total CN¥3,333.33" in english
    zhang.post("/language", {"lang": "zh"})
    with books.crm.session(actor=books.users["finance"]) as s:  # paid and written off
        s.payments.record(
            customer_id=books.order.customer_id, amount="999.00", received_on=books.today,
            method="bank_transfer",
        )  # fmt: skip
        s.receivables.write_off(first.id, reason="尾差")
    table = part(books.page(zhang), "order-receivables")
    assert "应收金额 已收金额 抹零金额 未收余额" in table
    assert f"{first.number} 1 {day(books, 10)} ¥999.99 ¥999.00 ¥0.99 ¥0.00 已抹零" in table
    assert "合计 ¥3,333.33 ¥999.00 ¥0.99 ¥2,333.34" in table


def test_the_form_reads_in_english(books: Books) -> None:
    zhang = books.browser("zhang")
    zhang.post("/language", {"lang": "en"})
    page = books.page(zhang)
    section = part(page, "payment-plan-form", "</form>")
    assert "CN¥3,333.33" in section and "rounded down to the fen" in section
    assert "Add a row" in section and "Pay in full at once" in section
    assert "Make the payment plan" in section and "Percentage or amount" in section
    assert "Payment plan" in page and 'placeholder="30% or 35000.00"' in page
    assert 'aria-label="Due date of instalment 2"' in page


# -- making it ---------------------------------------------------------------------------------
def test_a_30_70_plan_made_through_the_form_sums_to_the_order_total(books: Books) -> None:
    zhang = books.browser("zhang")
    done = books.post(zhang, [(day(books, 30), "30%"), ("", ""), (day(books, 60), "70%")])
    assert done.status_code == 302
    page = zhang.text(done.location)
    assert "回款计划已生成：共 2 期，合计 ¥3,333.33" in flashes(page)
    made = books.receivables()
    assert [r.instalment for r in made] == [1, 2]
    assert [r.amount for r in made] == [
        crmkit.Money(Decimal("999.99")),
        crmkit.Money(Decimal("2333.34")),
    ]
    assert sum((r.amount.amount for r in made), Decimal(0)) == books.order.gross.amount
    assert [r.due.isoformat() for r in made] == [day(books, 30), day(books, 60)]
    assert all(r.owner_id == books.users["zhang"].id for r in made)  # the salesperson's
    assert "合计 ¥3,333.33" in part(page, "order-receivables")
    assert 'id="payment-plan-form"' not in page
    again = books.post(zhang, [(day(books, 30), "100%")])
    assert "已有回款计划" in flashes(zhang.text(again.location))
    assert len(books.receivables()) == 2


def test_finance_makes_a_plan_of_amounts(books: Books) -> None:
    finance = books.browser("finance")
    assert 'id="payment-plan-form"' in books.page(finance)
    done = books.post(finance, [(day(books, 5), "1000.00"), (day(books, 35), "2333.33")])
    assert "共 2 期" in flashes(finance.text(done.location))
    assert [str(r.amount.amount) for r in books.receivables()] == ["1000.00", "2333.33"]


def test_add_a_row_and_pay_in_full_without_scripts_write_nothing(books: Books) -> None:
    zhang = books.browser("zhang")
    rows = [(day(books, 30), "30%"), ("", ""), (day(books, 60), "")]
    page = books.post(zhang, rows, add_row="1").get_data(as_text=True)
    assert typed(page, "due") == [day(books, 30), day(books, 60), "", ""]  # a row more
    assert typed(page, "amount") == ["30%", "", "", ""]
    assert "field-error" not in part(page, "payment-plan-form", "</form>")
    page = books.post(zhang, [("", "20%"), (day(books, 7), "80%")], pay_once="1").get_data(
        as_text=True
    )
    assert typed(page, "due") == [day(books, 7), "", ""]
    assert typed(page, "amount") == ["100%", "", ""]
    assert books.receivables() == []
    done = books.post(zhang, [(day(books, 7), "100%")])
    assert "共 1 期，合计 ¥3,333.33" in flashes(zhang.text(done.location))


# -- errors ------------------------------------------------------------------------------------
def test_bad_rows_show_their_errors_beside_them_and_nothing_is_written(books: Books) -> None:
    zhang = books.browser("zhang")
    bad = [("2026-13-45", "30%"), (day(books, 20), "七成"), ("", "")]
    response = books.post(zhang, bad)
    assert response.status_code == 200  # the page again, not a redirect
    page = response.get_data(as_text=True)
    assert row_errors(page, "due", 0) == ["不是有效的日期"]
    assert row_errors(page, "amount", 0) == [] and row_errors(page, "due", 1) == []
    assert row_errors(page, "amount", 1) == ["不是有效的金额"]
    assert 'id="plan-due-0" value="2026-13-45"' in page  # what was typed stays
    assert typed(page, "amount") == ["30%", "七成", ""]
    assert "2 个字段有误" in flashes(page)
    assert books.receivables() == []
    # the shares and amounts do not make the total: said under the rows, on the plan
    short = [(day(books, 10), "1000.00"), (day(books, 40), "2000.00")]
    page = books.post(zhang, short).get_data(as_text=True)
    assert "各期合计 3000.00，与总额 3333.33 不符" in part(page, "payment-plan-errors", "</form>")
    assert row_errors(page, "amount", 1) == []
    # dates not rising, a share above 100%, an instalment without its date
    later = [(day(books, 40), "30%"), (day(books, 10), "170%"), ("", "10%")]
    page = books.post(zhang, later).get_data(as_text=True)
    assert row_errors(page, "due", 1) == ["早于上一期的到期日"]
    assert row_errors(page, "amount", 1) == ["不是 0 到 100% 之间的比例"]
    assert row_errors(page, "due", 2) == ["必填"]
    assert books.receivables() == []
    zhang.post("/language", {"lang": "en"})
    page = books.post(zhang, bad).get_data(as_text=True)
    assert row_errors(page, "due", 0) == ["is not a valid date"]
    assert row_errors(page, "amount", 1) == ["is not a valid amount"]
    assert "2 field(s) are invalid" in flashes(page)
    page = books.post(zhang, short).get_data(as_text=True)
    assert "not the total 3333.33" in part(page, "payment-plan-errors", "</form>")
    page = books.post(zhang, [("", ""), ("", "")]).get_data(as_text=True)
    assert "is required" in part(page, "payment-plan-errors", "</form>")
    assert books.receivables() == []


# -- who sees it, and when -------------------------------------------------------------------
def test_a_salesperson_of_another_customer_neither_sees_nor_makes_it(books: Books) -> None:
    li = books.browser("li")
    assert li.get(f"/orders/details/?id={books.order.id}").status_code == 404
    refused = books.post(li, [(day(books, 30), "100%")])
    assert refused.status_code == 302  # crmkit does not find the order for them
    assert books.receivables() == []
    with books.crm.session(actor=books.users["zhang"]) as s:
        (made,) = s.receivables.plan(books.order.id, [(day(books, 30), "100%")])
    assert li.get(f"/receivables/details/?id={made.id}").status_code == 404
    assert made.number not in li.text("/receivables/")
    boss = books.browser("boss")  # their manager sees the plan, as the order
    assert made.number in part(books.page(boss), "order-receivables")


def test_without_the_permission_to_plan_there_is_no_form(books: Books) -> None:
    books.crm.permissions.revoke(crmkit.Role.SALES, "receivable.create")
    zhang = books.browser("zhang")
    page = books.page(zhang)
    assert 'id="payment-plan-form"' not in page
    assert "尚未制定回款计划" in part(page, "payment-plan-empty", "</p>")
    refused = books.post(zhang, [(day(books, 30), "100%")])
    assert "张三 无权制定回款计划" in flashes(zhang.text(refused.location))
    assert books.receivables() == []


def test_an_order_not_approved_has_no_form(books: Books) -> None:
    zhang = books.browser("zhang")
    page = books.page(zhang, books.draft)
    assert 'id="payment-plan-form"' not in page and 'id="order-receivables"' not in page
    assert "订单审批通过后才能制定回款计划" in part(page, "payment-plan-not-approved", "</p>")
    with books.crm.session(actor=books.users["zhang"]) as s:
        s.orders.submit(books.draft.id)
    page = books.page(zhang, books.draft)  # awaiting approval: still none
    assert 'id="payment-plan-form"' not in page and 'id="payment-plan-not-approved"' in page
    data = {"id": books.draft.id, "due": day(books, 30), "amount": "100%"}
    refused = zhang.post("/orders/plan-payments/", data)
    assert "订单尚未审批通过" in flashes(zhang.text(refused.location))
    assert books.receivables(books.draft) == []
    zhang.post("/language", {"lang": "en"})
    english = part(books.page(zhang, books.draft), "payment-plan-not-approved", "</p>")
    assert "A payment plan can be made once the order is approved." in english
