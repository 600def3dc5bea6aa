"""销售统计: seed 004's statistics as server-drawn charts, in the user's scope — the pipeline
by stage and by probability, win rate, and approved orders ranked by customer, salesperson,
source, region and industry over a period; English through the language switch; crmkit's
refusal of a bad month as a message, not an error page."""

from __future__ import annotations

import html
import re

import crmkit
from tests.admin.conftest import PASSWORDS, Browser, make_customer

TAG = re.compile(r"<[^>]+>")


def chart(page: str, id: str) -> str:
    """One chart (its table) as text."""
    start = page.index(f'id="{id}"')
    end = page.index("</table>", start)
    return " ".join(html.unescape(TAG.sub(" ", page[start:end])).split())


def flashes(page: str) -> str:
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))


def seed(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> None:
    """张三: two open deals in 方案报价, one won and one lost in January 2026, and an
    approved order signed then; 李小明: a deal in 方案报价 and an approved order."""
    zhang, li, boss = users["zhang"], users["li"], users["boss"]
    mine = make_customer(crm, zhang, region="山东省/青岛市/市南区")
    theirs = make_customer(crm, li, name="上海四通贸易有限公司")
    with crm.session(actor=zhang) as s:
        s.opportunities.create(
            customer_id=mine.id, title="门禁改造", amount="120000", stage="proposal"
        )
        s.opportunities.create(
            customer_id=mine.id, title="门锁采购", amount="30000.50", stage="proposal"
        )
        s.opportunities.win(s.opportunities.create(customer_id=mine.id, title="成交").id)
        s.opportunities.lose(
            s.opportunities.create(customer_id=mine.id, title="丢单").id, reason="价格"
        )
        line = [{"name": "智能门锁", "quantity": "2", "unit_price": "1000", "tax_rate": "13%"}]
        order = s.orders.create(customer_id=mine.id, lines=line, signed_on="2026-01-05")
        s.orders.submit(order.id)
    with crm.session(actor=li) as s:
        s.opportunities.create(
            customer_id=theirs.id, title="仓库项目", amount="500000", stage="proposal"
        )
        line = [{"name": "门禁", "quantity": "1", "unit_price": "8000", "tax_rate": "13%"}]
        order = s.orders.create(customer_id=theirs.id, lines=line, signed_on="2026-03-10")
        s.orders.submit(order.id)
    with crm.session(actor=boss) as s:
        for a in s.approvals.inbox().items:
            s.approvals.approve(a.step_id or "")
        s.targets.create(owner_id=zhang.id, month="2026-01", amount="300000")


def as_boss(browser: Browser, users: dict[str, crmkit.User]) -> Browser:
    assert browser.login(users["boss"].login, PASSWORDS["boss"]).status_code == 302
    return browser


def test_a_manager_sees_the_teams_statistics_as_charts(
    browser: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    seed(crm, users)
    page = as_boss(browser, users).text("/statistics/")
    stages = chart(page, "chart-stages")
    for label in ("初步接洽", "需求确认", "方案报价", "谈判审批", "赢单", "输单"):
        assert label in stages, label
    assert "方案报价 3 ¥650,000.50" in stages
    assert "proposal" not in TAG.sub(" ", page)  # stage codes are never shown
    assert 'class="bar-chart-bar" style="width: 100.0%"' in page  # the largest bar
    assert "<caption" in page and "销售漏斗" in page
    assert "3" in chart(page, "chart-probability")
    rates = chart(page, "chart-win-rate")
    assert "全部 50% 1 1" in rates and "张三 50%" in rates
    orders = chart(page, "chart-orders")
    assert "上海四通贸易有限公司 1 ¥8,000.00" in orders
    assert "青岛金智电子科技有限公司 1 ¥2,000.00" in orders
    assert orders.index("上海四通") < orders.index("青岛金智")  # ranked by amount
    targets = chart(page, "chart-targets")  # 目标完成, this month (the clock's)
    assert "张三 0% ¥0.00 ¥300,000.00" in targets
    by_owner = chart(browser.text("/statistics/?by=owner"), "chart-orders")
    assert "李小明 1 ¥8,000.00" in by_owner and "张三 1 ¥2,000.00" in by_owner
    by_region = chart(browser.text("/statistics/?by=region"), "chart-orders")
    assert "山东省 1 ¥2,000.00" in by_region and "未填写 1 ¥8,000.00" in by_region
    # the period: orders signed in January 2026 and deals closed then
    january = browser.text("/statistics/?from_month=2026-01&to_month=2026-01&by=owner")
    assert "张三" in chart(january, "chart-orders")
    assert "李小明" not in chart(january, "chart-orders")
    assert "全部 50% 1 1" in chart(january, "chart-win-rate")  # closed on the clock's day
    empty = browser.text("/statistics/?from_month=2025-01&to_month=2025-06")
    assert "该期间没有已审批的订单" in empty and "该期间没有关闭的商机" in empty
    assert 'value="2026-01"' in january


def test_a_salesperson_sees_only_their_scope(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    seed(crm, users)
    page = as_zhang.text("/statistics/")
    assert "方案报价 2 ¥150,000.50" in chart(page, "chart-stages")
    orders = chart(page, "chart-orders")
    assert "青岛金智电子科技有限公司" in orders and "上海四通贸易有限公司" not in orders
    assert "李小明" not in chart(page, "chart-win-rate")
    assert "销售统计" in as_zhang.text("/")  # in the 销售 menu


def test_the_statistics_read_in_english(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    seed(crm, users)
    as_zhang.post("/language", {"lang": "en"})
    page = as_zhang.text("/statistics/")
    assert "Sales statistics" in page and "Pipeline by stage" in page
    assert "Proposal and quote 2 CN¥150,000.50" in chart(page, "chart-stages")
    assert "All salespeople 50% 1 1" in chart(page, "chart-win-rate")
    assert "方案报价" not in page and "销售漏斗" not in page
    assert "Win rate" in page and "CN¥" in chart(page, "chart-orders")


def test_a_bad_month_shows_crmkits_message_not_an_error_page(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    seed(crm, users)
    page = as_zhang.text("/statistics/?from_month=2026-13")
    assert "不是有效的月份" in flashes(page)
    assert 'id="chart-stages"' in page  # the rest of the page still shows
    late = as_zhang.text("/statistics/?from_month=2026-05&to_month=2026-01")
    assert "早于起始月份" in flashes(late)
    odd = as_zhang.get("/statistics/?by=nonsense")
    assert odd.status_code == 200
