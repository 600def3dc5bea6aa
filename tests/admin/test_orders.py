"""Orders and approvals in the admin: the list in the user's scope, the builder, the order's
page with its moves, the approval inbox with approve / reject, the lock on pending and
approved orders, revisions, deliveries with freight, the cost adjustment, 转为订单 and the
order's print view."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from flask import Flask

import crmkit
from crmkit.testing import ManualClock
from tests.admin.conftest import PASSWORDS, Browser, admin_app, make_customer

TAG = re.compile(r"<[^>]+>")


def text_of(page: str) -> str:
    return " ".join(TAG.sub(" ", page).split())


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[Flask]:
    """The admin with a company for the print view and freight by province."""
    freight = crmkit.FreightRule.by_region({"山东省": "20.00"}, default="40.00")
    with admin_app(
        tmp_path,
        clock,
        crm_options={"freight": freight},
        ADMIN_COMPANY_NAME="青岛示例智能科技有限公司",
    ) as app:
        yield app


@attrs.frozen
class Shop:
    """The team (admin, 王经理 with 张三 and 李小明, 刘芳 of finance), 张三's customer and a
    catalogue product, with the moves the tests arrange through crmkit."""

    app: Flask
    crm: crmkit.CRM
    users: dict[str, crmkit.User]
    customer: crmkit.Customer
    product: crmkit.Product

    def order(self, quantity: str = "2", who: str = "zhang", **fields: Any) -> crmkit.Order:
        customer = fields.pop("customer", self.customer)
        with self.crm.session(actor=self.users[who]) as s:
            order: crmkit.Order = s.orders.create(
                customer_id=customer.id,
                lines=[{"product_id": self.product.id, "quantity": quantity}],
                **fields,
            )
        return order

    def submit(self, order: crmkit.Order) -> crmkit.Order:
        with self.crm.session(actor=order.created_by) as s:
            done: crmkit.Order = s.orders.submit(order.id)
        return done

    def approve_all(self, *who: str) -> None:
        for name in who:
            with self.crm.session(actor=self.users[name]) as s:
                for a in s.approvals.inbox().items:
                    s.approvals.approve(a.step_id or "")

    def now(self, order: crmkit.Order) -> crmkit.Order:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            found: crmkit.Order = s.orders.get(order.id)
        return found

    def browser(self, who: str) -> Browser:
        """A browser of its own, logged in as ``who``."""
        browser = Browser(self.app.test_client())
        password = PASSWORDS.get(who, FINANCE_PASSWORD)
        assert browser.login(self.users[who].login, password).status_code == 302
        return browser


FINANCE_PASSWORD = "finance-pass"


@pytest.fixture
def shop(app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]) -> Shop:
    with crm.session(actor=users["admin"]) as s:
        finance = s.users.create(name="刘芳", role="finance", password=FINANCE_PASSWORD)
        product = s.products.create(
            name="智能门锁", code="LK-100", unit="套", price="1999", cost="1200", tax_rate="13%"
        )
    customer = make_customer(
        crm, users["zhang"], region="山东省/青岛市/市南区", address="香港中路10号"
    )
    return Shop(app, crm, {**users, "finance": finance}, customer, product)


def inbox_steps(browser: Browser) -> list[str]:
    """The step ids the inbox offers (its forms' hidden ``step_id``)."""
    return re.findall(r'name="step_id" value="([^"]+)"', browser.text("/approvals/"))


def flashed(browser: Browser, response: Any) -> str:
    assert response.status_code == 302, response.status_code
    return text_of(browser.text(response.location))


# -- the list ------------------------------------------------------------------------------
def test_the_list_shows_the_users_orders_with_approval_and_fulfilment(
    as_zhang: Browser, shop: Shop
) -> None:
    mine = shop.submit(shop.order())
    theirs_customer = make_customer(shop.crm, shop.users["li"], name="烟台华瑞贸易有限公司")
    theirs = shop.order(who="li", customer=theirs_customer, signed_on="2026-01-05")
    page = text_of(as_zhang.text("/orders/"))
    assert mine.number in page and "青岛金智电子科技有限公司" in page
    assert "审批中" in page and "执行中" in page and "¥3,998.00" in page
    assert theirs.number not in page  # another salesperson's customer
    assert as_zhang.get(f"/orders/details/?id={theirs.id}").status_code == 404
    boss = shop.browser("boss")
    team = text_of(boss.text("/orders/"))
    assert mine.number in team and theirs.number in team and "2026-01-05" in team
    pending = text_of(boss.text("/orders/?approval=pending"))
    assert mine.number in pending and theirs.number not in pending
    drafts = text_of(boss.text("/orders/?approval=draft&status=open"))
    assert theirs.number in drafts and mine.number not in drafts


# -- the builder ---------------------------------------------------------------------------
def test_the_builder_prices_and_creates_an_order_with_its_lines_and_dates(
    as_zhang: Browser, shop: Shop
) -> None:
    form = {
        "customer_id": shop.customer.id,
        "prices_include_tax": "y",
        "signed_on": "2026-01-05",
        "delivery_due": "2026-02-01",
        "line": ["0", "1"],
        "lines-0-product_id": shop.product.id,
        "lines-0-quantity": "2",
        "lines-1-name": "安装调试服务",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "500",
        "lines-1-tax_rate": "6%",
    }
    page = as_zhang.text("/orders/new/")
    assert 'id="signed_on"' in page and 'id="warranty_until"' in page and "LK-100" in page
    priced = as_zhang.post("/orders/price/", form).get_json()
    assert priced["totals"]["gross"] == "¥4,498.00"
    assert priced["lines"][0]["defaults"]["name"] == "智能门锁"
    done = as_zhang.post("/orders/new/", form)
    with shop.crm.session(actor=shop.users["zhang"]) as s:
        (order,) = s.orders.list().items
    assert done.location == f"/orders/details/?id={order.id}"
    assert [line.name for line in order.lines] == ["智能门锁", "安装调试服务"]
    assert order.signed_on is not None and order.signed_on.isoformat() == "2026-01-05"
    assert order.approval is crmkit.ApprovalStatus.DRAFT
    details = text_of(as_zhang.text(done.location))
    assert f"销售订单 {order.number} 已保存" in details
    # 价税分离 per line: amount without tax, tax and total of each line
    assert "¥3,538.05 ¥459.95 ¥3,998.00" in details and "¥471.70 ¥28.30 ¥500.00" in details
    assert "毛利" in details and "毛利率" in details


def test_a_wrong_line_comes_back_beside_its_row_and_nothing_is_saved(
    as_zhang: Browser, shop: Shop
) -> None:
    form = {
        "customer_id": shop.customer.id,
        "signed_on": "not a date",
        "line": ["0"],
        "lines-0-name": "安装",
        "lines-0-quantity": "-1",
        "lines-0-unit_price": "500",
        "lines-0-tax_rate": "6%",
    }
    page = as_zhang.post("/orders/new/", form).get_data(as_text=True)
    assert "必须大于零" in page and "not a date" in page
    with shop.crm.session(actor=shop.users["zhang"]) as s:
        assert s.orders.count() == 0


# -- submit, inbox, approve, reject ------------------------------------------------------------
def test_a_submitted_order_is_in_the_managers_inbox_not_the_salespersons(
    as_zhang: Browser, shop: Shop
) -> None:
    order = shop.order()
    page = as_zhang.text(f"/orders/details/?id={order.id}")
    assert 'id="submit-order"' in page and "尚未提交审批" in page
    sent = as_zhang.post("/orders/submit/", {"id": order.id, "version": str(order.version)})
    page = flashed(as_zhang, sent)
    assert "已提交审批" in page and "审批中" in page and "上级审批 王经理 待审批" in page
    assert "锁定" not in page and 'id="withdraw-order"' in as_zhang.text(sent.location)
    assert inbox_steps(as_zhang) == [] and "没有待您审批的单据" in as_zhang.text("/approvals/")
    boss = shop.browser("boss")
    inbox = text_of(boss.text("/approvals/"))
    assert order.number in inbox and "青岛金智电子科技有限公司" in inbox
    assert "¥3,998.00" in inbox and "张三" in inbox and "上级审批" in inbox
    assert "待我审批 (1)" in inbox  # the menu counts the steps waiting
    assert 'id="inbox-badge"' in boss.text("/") and 'id="inbox-badge"' not in as_zhang.text("/")
    assert f'href="/orders/details/?id={order.id}"' in boss.text("/approvals/")
    assert 'id="approve-order"' in boss.text(f"/orders/details/?id={order.id}")
    assert inbox_steps(shop.browser("finance")) == []  # ≤ ¥50,000
    assert 'id="approve-order"' not in as_zhang.text(f"/orders/details/?id={order.id}")


def test_the_manager_approves_from_the_inbox_and_a_large_order_goes_on_to_finance(
    as_zhang: Browser, shop: Shop
) -> None:
    large = shop.submit(shop.order("30"))
    boss = shop.browser("boss")
    (step,) = inbox_steps(boss)
    form = {"step_id": step, "number": large.number, "comment": "注意回款", "next": "/approvals/"}
    page = flashed(boss, boss.post("/approvals/approve/", form))
    assert f"已同意，{large.number} 转入财务审批" in page and inbox_steps(boss) == []
    clerk = shop.browser("finance")
    (second,) = inbox_steps(clerk)
    assert "财务审批" in text_of(clerk.text("/approvals/"))
    page = flashed(clerk, clerk.post("/approvals/approve/", {"step_id": second, "next": "/"}))
    assert f"{large.number} 已审批通过" in page
    assert shop.now(large).approval is crmkit.ApprovalStatus.APPROVED
    details = text_of(as_zhang.text(f"/orders/details/?id={large.id}"))
    assert "已审批" in details and "上级审批 王经理 同意 注意回款" in details
    assert "财务审批 刘芳 同意" in details
    assert 'id="revise-order"' in as_zhang.text(f"/orders/details/?id={large.id}")


def test_a_rejection_needs_a_reason_and_sends_the_order_back(as_zhang: Browser, shop: Shop) -> None:
    order = shop.submit(shop.order())
    boss = shop.browser("boss")
    (step,) = inbox_steps(boss)
    back = f"/orders/details/?id={order.id}"
    page = flashed(boss, boss.post("/approvals/reject/", {"step_id": step, "next": back}))
    assert "驳回须填写理由" in page and 'id="approve-order"' in boss.text(back)
    assert shop.now(order).approval is crmkit.ApprovalStatus.PENDING
    refused = boss.post(
        "/approvals/reject/", {"step_id": step, "comment": "价格低于底价", "next": back}
    )
    assert "已驳回，退回提交人修改" in flashed(boss, refused)
    assert shop.now(order).approval is crmkit.ApprovalStatus.REJECTED
    page = text_of(as_zhang.text(back))
    assert "上级审批 王经理 驳回 价格低于底价" in page
    assert 'id="submit-order"' in as_zhang.text(back) and 'id="edit-order"' in as_zhang.text(back)


def test_a_step_decided_by_someone_else_or_not_ones_own_is_refused_in_words(
    as_zhang: Browser, shop: Shop
) -> None:
    order = shop.submit(shop.order())
    boss = shop.browser("boss")
    (step,) = inbox_steps(boss)
    colleague = shop.browser("li")
    refused = colleague.post("/approvals/approve/", {"step_id": step, "number": order.number})
    page = flashed(colleague, refused)
    assert f"您无权审批 {order.number} 的这一步" in page
    assert shop.users["li"].id not in page
    # the manager in two windows: the second decision comes after the first
    other_window = shop.browser("boss")
    form = {"step_id": step, "number": order.number}
    flashed(other_window, other_window.post("/approvals/approve/", form))
    late = flashed(boss, boss.post("/approvals/approve/", form))
    assert "该步骤已被审批" in late and step not in late


def test_the_inbox_pages_by_keyset(shop: Shop) -> None:
    import admin.views.approvals as approvals

    for _ in range(3):
        shop.submit(shop.order())
    boss = shop.browser("boss")
    original = approvals.PAGE
    approvals.PAGE = 2
    try:
        first = boss.text("/approvals/")
        link = re.search(r'href="([^"]+)"[^>]*id="inbox-next"', first)
        assert link is not None and len(inbox_steps(boss)) == 2
        second = boss.text(link.group(1).replace("&amp;", "&"))
        assert len(re.findall(r'name="step_id"', second)) == 1 and 'id="inbox-next"' not in second
    finally:
        approvals.PAGE = original


# -- the lock, withdraw, revise ------------------------------------------------------------------
def test_a_pending_order_is_locked_and_crmkits_refusal_is_shown(
    as_zhang: Browser, shop: Shop
) -> None:
    order = shop.submit(shop.order())
    page = as_zhang.text(f"/orders/details/?id={order.id}")
    assert 'id="edit-order"' not in page and 'id="submit-order"' not in page
    opened = as_zhang.get(f"/orders/edit/?id={order.id}")
    assert "审批中，已锁定" in flashed(as_zhang, opened)
    form = {
        "version": str(order.version),
        "customer_id": shop.customer.id,
        "remarks": "改一下",
        "line": ["0"],
        "lines-0-product_id": shop.product.id,
        "lines-0-quantity": "3",
    }
    page = text_of(as_zhang.post(f"/orders/edit/?id={order.id}", form).get_data(as_text=True))
    assert "不能修改" in page and "已锁定" in page and order.id not in page
    deleted = as_zhang.post("/orders/delete/", {"id": order.id, "url": "/orders/"})
    assert "已锁定" in flashed(as_zhang, deleted)
    assert shop.now(order).lines[0].quantity == 2
    withdrawn = as_zhang.post("/orders/withdraw/", {"id": order.id})
    assert "已撤回" in flashed(as_zhang, withdrawn)
    assert 'id="edit-order"' in as_zhang.text(f"/orders/details/?id={order.id}")
    saved = as_zhang.post(f"/orders/edit/?id={order.id}", {**form, "version": ""})
    assert saved.status_code == 302 and shop.now(order).remarks == "改一下"


def test_an_approved_order_is_revised_into_a_new_draft_revision(
    as_zhang: Browser, shop: Shop
) -> None:
    order = shop.submit(shop.order())
    shop.approve_all("boss")
    opened = as_zhang.get(f"/orders/edit/?id={order.id}")
    assert "已审批的订单已锁定" in flashed(as_zhang, opened)
    revised = as_zhang.post("/orders/revise/", {"id": order.id, "name": order.number})
    with shop.crm.session(actor=shop.users["zhang"]) as s:
        first, second = s.orders.revisions(order.number)
    assert revised.location == f"/orders/edit/?id={second.id}"
    assert f"{order.number} 第2版" in as_zhang.text(revised.location)
    page = as_zhang.text(f"/orders/details/?id={second.id}")
    assert 'id="order-revisions"' in page and first.id in page and 'id="submit-order"' in page


# -- fulfilment, cost, cancel ------------------------------------------------------------------
def test_a_delivery_is_planned_by_line_recorded_with_freight_and_signed_off(
    as_zhang: Browser, shop: Shop
) -> None:
    order = shop.order("10")
    page = as_zhang.text(f"/orders/details/?id={order.id}")
    assert 'name="quantity-0" id="quantity-0" value="10"' in page  # what is left, by default
    planned = as_zhang.post(
        "/orders/plan-delivery/",
        {"id": order.id, "planned_on": "2026-02-01", "quantity-0": "4", "note": "首批"},
    )
    assert "已安排交付" in flashed(as_zhang, planned)
    too_much = as_zhang.post(
        "/orders/plan-delivery/", {"id": order.id, "planned_on": "2026-02-02", "quantity-0": "7"}
    )
    assert "剩余" in flashed(as_zhang, too_much)
    as_zhang.post("/orders/plan-delivery/", {"id": order.id, "planned_on": "2026-02-10"})
    shop.submit(order)
    shop.approve_all("boss")
    page = as_zhang.text(f"/orders/details/?id={order.id}")
    assert 'id="deliver-1"' in page and 'id="deliver-2"' in page
    done = as_zhang.post("/orders/deliver/", {"id": order.id, "number": "1", "on": "2026-02-01"})
    page = flashed(as_zhang, done)
    assert "已登记交付" in page and "智能门锁 × 4" in page and "¥20.00" in page  # 山东省
    as_zhang.post("/orders/deliver/", {"id": order.id, "number": "2"})
    assert shop.now(order).status is crmkit.OrderStatus.DELIVERED
    signed = as_zhang.post("/orders/sign-off/", {"id": order.id, "on": "2026-02-20"})
    assert "已验收" in flashed(as_zhang, signed)
    assert shop.now(order).status is crmkit.OrderStatus.COMPLETED


def test_finance_adjusts_the_cost_with_a_reason_and_a_salesperson_may_not(
    as_zhang: Browser, shop: Shop
) -> None:
    order = shop.order("10")
    assert 'id="adjust-cost"' not in as_zhang.text(f"/orders/details/?id={order.id}")
    clerk = shop.browser("finance")
    assert 'id="adjust-cost"' in clerk.text(f"/orders/details/?id={order.id}")
    empty = clerk.post("/orders/adjust-cost/", {"id": order.id, "amount": "-500"})
    assert "理由" in flashed(clerk, empty)
    adjusted = clerk.post(
        "/orders/adjust-cost/", {"id": order.id, "amount": "-500.00", "reason": "供应商返利"}
    )
    page = flashed(clerk, adjusted)
    assert "成本已调整" in page and "-¥500.00 供应商返利 刘芳" in page
    assert shop.now(order).margin == order.margin + crmkit.Money.parse("500")


def test_cancelling_needs_a_reason(as_zhang: Browser, shop: Shop) -> None:
    order = shop.order()
    assert "取消原因" in flashed(as_zhang, as_zhang.post("/orders/cancel/", {"id": order.id}))
    cancelled = as_zhang.post("/orders/cancel/", {"id": order.id, "reason": "客户取消"})
    assert "订单已取消" in flashed(as_zhang, cancelled)
    assert shop.now(order).status is crmkit.OrderStatus.CANCELLED


# -- from a quote, and the print view --------------------------------------------------------
def test_a_quote_becomes_an_order_from_its_page(as_zhang: Browser, shop: Shop) -> None:
    with shop.crm.session(actor=shop.users["zhang"]) as s:
        quote = s.quotes.create(
            customer_id=shop.customer.id, lines=[{"product_id": shop.product.id, "quantity": "3"}]
        )
    assert 'id="quote-to-order"' in as_zhang.text(f"/quotes/details/?id={quote.id}")
    made = as_zhang.post("/quotes/to-order/", {"id": quote.id, "name": quote.number})
    with shop.crm.session(actor=shop.users["zhang"]) as s:
        (order,) = s.orders.list(quote_id=quote.id).items
    assert made.location == f"/orders/details/?id={order.id}"
    page = text_of(as_zhang.text(made.location))
    assert "已根据报价生成订单" in page and quote.number in page and "¥5,997.00" in page
    quote_page = as_zhang.text(f"/quotes/details/?id={quote.id}")
    assert f'href="/orders/details/?id={order.id}"' in quote_page
    assert 'id="quote-to-order"' not in quote_page and "已接受" in quote_page
    again = as_zhang.post("/quotes/to-order/", {"id": quote.id, "name": quote.number})
    assert f"已转为订单 {order.number}" in flashed(as_zhang, again)


def test_the_order_prints_with_its_header_capitals_and_approval_but_no_margin(
    as_zhang: Browser, shop: Shop
) -> None:
    order = shop.order("3", delivery_due="2026-03-01")
    shop.submit(order)
    shop.approve_all("boss")
    page = as_zhang.text(f"/orders/print/?id={order.id}")
    text = text_of(page)
    assert "青岛示例智能科技有限公司" in text and "销售订单" in text and order.number in text
    assert "青岛金智电子科技有限公司" in text and "香港中路10号" in text and "张三" in text
    assert "审批状态 已审批" in text and "交货日期 2026-03-01" in text
    assert "¥5,997.00" in text and "供方（盖章）" in text
    assert "人民币伍仟玖佰玖拾柒元整" in text
    assert "毛利" not in text and "成本" not in text and "¥3,600.00" not in text
    assert 'href="/assets/print.css"' in page and "<script>" not in page
    english = shop.browser("zhang")
    english.post("/language", {"lang": "en"})
    text = text_of(english.text(f"/orders/print/?id={order.id}"))
    assert "Sales order" in text and "Approval status Approved" in text


def test_the_order_page_reads_in_english_steps_included(shop: Shop) -> None:
    order = shop.submit(shop.order())
    boss = shop.browser("boss")
    boss.post("/language", {"lang": "en"})
    page = text_of(boss.text(f"/orders/details/?id={order.id}"))
    assert "Manager approval" in page and "Awaiting decision" in page and "上级审批" not in page
    inbox = text_of(boss.text("/approvals/"))
    assert "My approvals (1)" in inbox and "Manager approval" in inbox
