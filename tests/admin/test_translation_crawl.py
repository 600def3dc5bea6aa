"""Every screen reads in the user's language: crawl the admin with seeded data, as an admin,
in 简体中文 (no field key, code, raw id or English sentence a person would read) and in
English (no Chinese in the app's own labels, headers, buttons and menus)."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

import crmkit
from crmkit.testing import ManualClock
from tests.admin.conftest import Browser

# Links not to follow: leaving, switching language, downloads, static files.
SKIP = re.compile(
    r"^/(logout|language|static|assets|admin/static|login)|/export|report\.(csv|xlsx)|"
    r"\.(csv|xlsx|png|js|css|db)$|/download|/backup/get"
)
LINK = re.compile(r'href="(/[^"#]*)"')
HIDDEN = re.compile(r"<(script|style|code|pre)\b.*?</\1>", re.S | re.I)
TAG = re.compile(r"<[^>]+>")
SHOWN_ATTRS = re.compile(r'\b(?:placeholder|title|aria-label|alt)="([^"]*)"')
BUTTON_VALUES = re.compile(r'<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"')
KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}\b")
ENGLISH = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,]+[A-Za-z][a-z]+){2,}\b")
CJK = re.compile(r"[\u4e00-\u9fff]")
CODES = [
    "potential",
    "formal",
    "signed",
    "abandoned",
    "terminal",
    "channel",
    "cash",
    "credit",
    "company",
    "individual",
    "sales",
    "manager",
    "finance",
    "service",
    "pending",
    "granted",
    "refused",
    "withdrawn",
    "created",
    "updated",
    "duplicate",
    "failed",
    "running",
    "finished",
    "reverted",
    "male",
    "female",
    "true",
    "false",
    "none",
    "null",
    "proposal",  # the pipeline's stage codes
    "negotiation",
    "draft",  # approvals, orders and deliveries
    "approved",
    "rejected",
    "open",
    "delivered",
    "planned",
    "approve",
    "reject",
    "visit",  # 跟进: activity kinds and task statuses
    "call",
    "meeting",
    "cancelled",
]
CODE = re.compile(r"(?<![A-Za-z/])(" + "|".join(CODES) + r")(?![A-Za-z/])")
# What may stay as it is in Chinese mode: names, formats and the language switch.
ALLOWED = re.compile(r"crmkit|English|CSV|XLSX|Excel|Asia/Shanghai|GBK|UTF-8|CAPTCHA")
# Data the seed wrote (names, a region, a choice) and the switch to Chinese itself: Chinese
# in English mode too.
DATA = re.compile(
    "简体中文|青岛金智电子科技有限公司|金智电子科技（青岛）有限公司|山东省/青岛市/市南区|网络推广|"
    "上海四通贸易有限公司|已注销贸易有限公司|李四|智能门锁|工程版门锁|门锁|工程项目价|张三|李小明|"
    "王经理|管理员|青岛海纳科技有限公司|赵六|门禁改造|海康|门锁采购|价格|同意|返利"
)
# The app's own words in English mode (data such as customer names may be Chinese).
CHROME = re.compile(
    r"<(th|label|button|h[1-6]|legend)\b[^>]*>(.*?)</\1>|"
    r'<a[^>]*class="[^"]*(?:nav-link|dropdown-item|btn)[^"]*"[^>]*>(.*?)</a>',
    re.S,
)


def visible(page: str) -> str:
    """The text a person reads: tags, scripts, styles and code left out; attributes a
    browser shows (placeholders, tooltips, button captions) kept."""
    body = HIDDEN.sub(" ", page)
    shown = SHOWN_ATTRS.findall(body) + BUTTON_VALUES.findall(body)
    text = TAG.sub(" ", body) + " " + " ".join(shown)
    return " ".join(html.unescape(text).split())


@pytest.fixture
def seeded(crm: crmkit.CRM, users: dict[str, crmkit.User], clock: ManualClock) -> tuple[str, ...]:
    """A bit of everything the screens show; the pages the crawl starts from besides
    :data:`SEEDS` (the records' pages no link reaches)."""
    admin, zhang = users["admin"], users["zhang"]
    with crm.session(actor=admin) as s:
        s.dictionary.create(list="source", value="网络推广", aliases=["网推"])
        locks = s.product_categories.create(name="门锁")
        group = s.product_groups.create(name="工程项目价", members=["role:manager"])
        lock = s.products.create(
            name="智能门锁", code="LK-100", category_id=locks.id, price="1999", cost="1200"
        )
        s.products.create(name="工程版门锁", code="PJ-900", group_id=group.id, price="1380")
        s.settings.update(recycle_retention_days="20")
    with crm.session(actor=zhang) as s:
        jinzhi = s.customers.create(
            name="青岛金智电子科技有限公司",
            region="山东省/青岛市/市南区",
            mobile="13800138000",
            source="网推",
            tags=["VIP"],
        )
        s.contacts.create(customer_id=jinzhi.id, name="李四", mobile="13900001234")
        s.customers.update(jinzhi.id, category="formal", uscc="91350100M000100Y43")
        gone = s.customers.create(name="已注销贸易有限公司")
        s.customers.delete(gone.id)
        sheet = (
            "客户名称,手机,省份,城市\n上海四通贸易有限公司,13700001111,上海市,上海市\n坏行,123,,\n"
        )
        s.imports.run(io.BytesIO(sheet.encode("utf-8")))
        s.leads.create(name="青岛海纳科技有限公司", contact_name="赵六", source="网推")
        deal = s.opportunities.create(
            customer_id=jinzhi.id, title="门禁改造", amount="120000", stage="proposal",
            competitors=["海康"],
        )  # fmt: skip
        s.opportunities.lose(
            s.opportunities.create(customer_id=jinzhi.id, title="门锁采购").id, reason="价格"
        )
        s.quotes.create(
            customer_id=jinzhi.id,
            opportunity_id=deal.id,
            lines=[{"name": "智能门锁", "quantity": "2", "unit_price": "1999", "tax_rate": "13%"}],
        )
        # the board, a stage history, a sent quote with a product line and a revision
        s.opportunities.move(deal.id, stage="negotiation")
        sent = s.quotes.create(
            customer_id=jinzhi.id,
            lines=[{"product_id": lock.id, "quantity": "3", "discount": "5%"},
                   {"name": "门锁", "quantity": "1", "unit_price": "800", "tax_rate": "6%"}],
        )  # fmt: skip
        s.quotes.send(sent.id)
        s.quotes.reject(sent.id, reason="价格")
        s.quotes.revise(sent.id)
    with crm.session(actor=admin) as s:  # a near-duplicate pair for the review screen
        s.customers.create(
            name="金智电子科技（青岛）有限公司", mobile="13800138000", owner_id=zhang.id
        )
    # orders: one from a quote (a draft), one rejected, one awaiting the admin (its submitter
    # has no manager) and, newest so that the crawl reaches it, one approved with a delivery
    # made and a cost adjustment: the order pages, the approval trail, the inbox and the
    # print view
    with crm.session(actor=zhang) as s:
        quote = s.quotes.create(
            customer_id=jinzhi.id, lines=[{"product_id": lock.id, "quantity": "1"}]
        )
        s.quotes.to_order(quote.id, signed_on="2026-01-05")
        line = [{"product_id": lock.id, "quantity": "4"}]
        turned = s.orders.create(customer_id=jinzhi.id, lines=line)
        s.orders.submit(turned.id)
    with crm.session(actor=users["boss"]) as s:
        s.approvals.reject(s.approvals.inbox().items[0].step_id or "", reason="价格")
        waiting = s.orders.create(customer_id=jinzhi.id, lines=line)
        s.orders.submit(waiting.id)
    # an approved order without a payment plan: its page has the plan form (the crawl reads
    # only the first orders' pages from the list, so its page is a seed)
    with crm.session(actor=zhang) as s:
        unplanned = s.orders.create(customer_id=jinzhi.id, lines=line[:1])
        s.orders.submit(unplanned.id)
    with crm.session(actor=users["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id or "")
    with crm.session(actor=zhang) as s:
        done = s.orders.create(customer_id=jinzhi.id, lines=line, delivery_due="2026-02-01")
        s.orders.submit(done.id)
    with crm.session(actor=users["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id or "", comment="同意")
    with crm.session(actor=zhang) as s:
        s.orders.plan_delivery(done.id, planned_on="2026-01-20", items=[{"line": 0, "quantity": 1}])
        s.orders.deliver(done.id, 1)
        s.orders.plan_delivery(done.id, planned_on="2026-01-25")
    with crm.session(actor=admin) as s:
        s.orders.adjust_cost(done.id, "-100", reason="返利")
    # 财务: the approved order's plan (one instalment overdue), a payment that leaves ¥0.50
    # written off and the write-off reversed, a line taken back and applied again, a bounced
    # cheque and a prepayment: the receivables' and payments' pages, 对账单 and 回款统计
    with crm.session(actor=zhang) as s:
        today = s.today()
        first, second = s.receivables.plan(
            done.id, [(today - timedelta(days=40), "30%"), (today + timedelta(days=30), "70%")]
        )
    with crm.session(actor=admin) as s:
        paid = s.payments.record(
            customer_id=jinzhi.id, amount=first.amount.amount - Decimal("0.50"),
            received_on=today, method="bank_transfer", reference="HX0001",
        )  # fmt: skip
        written = s.receivables.write_off(first.id, reason="尾差")
        s.receivables.reverse_write_off(written.id, reason="价格")
        moved = s.payments.record(
            customer_id=jinzhi.id, amount="500", received_on=today, method="wechat",
            allocate=[(second.id, "500")],
        )  # fmt: skip
        s.payments.unallocate(moved.id, moved.allocations[0].id, reason="价格")
        s.payments.apply(moved.id)
        cheque = s.payments.record(
            customer_id=jinzhi.id, amount="100", received_on=today, method="cheque"
        )
        s.payments.reverse(cheque.id, reason="价格")
        s.payments.record(
            customer_id=jinzhi.id, amount="300", received_on=today, method="cash",
            category="deposit", allocate=None,
        )  # fmt: skip
        assert paid.allocations
    # 跟进: a visit on 金智 (with its contact and deal) due for a follow-up today, a call on
    # 上海四通 whose follow-up is overdue; a task the manager gave 张三 with an SMS reminder
    # (overdue: on the workbench), one done and one cancelled
    with crm.session(actor=zhang) as s:
        today = s.today()
        four = s.customers.list(q="上海四通", limit=1).items[0]
        (li_si,) = s.contacts.list(customer_id=jinzhi.id, limit=1).items
        s.activities.create(
            customer_id=four.id, kind="call", content="电话沟通价格",
            at=s.now() - timedelta(days=3), next_follow_up=today - timedelta(days=1),
        )  # fmt: skip
        s.activities.create(
            customer_id=jinzhi.id, kind="visit", content="上门演示门锁", contact_id=li_si.id,
            opportunity_id=deal.id, next_follow_up=today,
        )  # fmt: skip
        report = s.tasks.create(title="写周报", due_at=f"{today} 18:00")
        s.tasks.done(report.id)
        trip = s.tasks.create(title="门锁采购", due_at=f"{today} 16:00", customer_id=jinzhi.id)
        s.tasks.cancel(trip.id, reason="价格")
    with crm.session(actor=users["boss"]) as s:
        s.tasks.create(
            title="门禁改造", owner_id=zhang.id, customer_id=jinzhi.id, due_at=f"{today} 08:00",
            remind_days=1, remind_sms=True, description="门锁",
        )  # fmt: skip
    # 短信中心 and SFA: an SMS and an email template, a plan whose first step (an SMS) ran for
    # 金智 before 张三 paused it, a message written by hand, a reply that unsubscribed
    with crm.session(actor=admin) as s:
        s.messages.templates.create(
            code="welcome", name="智能门锁", body="{name}您好，门锁上新！", marketing=True
        )
        s.messages.templates.create(
            code="quote", name="价格", channel="email", subject="价格", body="{contact}您好"
        )
        plan = s.sfa.create_plan(
            name="门禁改造",
            steps=[
                {"action": "sms", "template": "welcome"},
                {"action": "task", "unit": "workdays", "offset": 2, "title": "门锁"},
                {"action": "email", "unit": "date", "on": "12-01", "template": "quote"},
            ],
        )
    with crm.session(actor=zhang) as s:
        (enrolment,) = s.sfa.enrol(plan.id, [jinzhi.id]).enrolment_ids
        s.messages.send_sms(customer_id=jinzhi.id, text="门锁")
    crm.run_due()
    with crm.session(actor=zhang) as s:
        s.sfa.pause(enrolment)
    with crm.session(actor=admin) as s:
        s.messages.receive("13800138000", "T")
    clock.advance(timedelta(minutes=5))
    return (
        f"/orders/details/?id={unplanned.id}",
        f"/sfa_enrolments/details/?id={enrolment}",
        f"/sfa_plans/details/?id={plan.id}",
    )


# Where the crawl starts: the dashboard, and pages reached by a form rather than a link
# (销售统计 grouped by salesperson and by region over a period; 财务's screens: the
# receivables filtered by an aging bucket, 登记回款, 对账单 and 回款统计 over a period;
# 跟进's: 联系记录 and its follow-ups due, 待办 and those assigned, their forms, 日程安排 and
# 跟进统计; 短信中心 and SFA's screens).
SEEDS = (
    "/",
    "/statistics/",
    "/statistics/?by=owner&from_month=2026-01&to_month=2026-12",
    "/statistics/?by=region",
    "/receivables/",
    "/receivables/?aging=31_60",
    "/payments/",
    "/payments/new/",
    "/statements/",
    "/collections/",
    "/collections/?from_month=2025-12&to_month=2026-01",
    "/activities/",
    "/activities/?follow_up=due",
    "/activities/new/",
    "/tasks/",
    "/tasks/?view=assigned",
    "/tasks/new/",
    "/tasks/calendar/",
    "/follow-up-statistics/",
    # 短信中心, 消息记录 and SFA: the compose and group forms, 未发送, 回复, 退订名单 (and a
    # number looked up), the templates, the log, the plans and their editor, the enrolments
    "/sms/",
    "/sms/group/",
    "/sms/unsent/",
    "/sms/replies/",
    "/sms/opt-outs/",
    "/sms/opt-outs/?lookup=13800138000",
    "/message_templates/",
    "/message_templates/new/",
    "/messages/",
    "/messages/?status=pending",
    "/sfa_plans/",
    "/sfa_plans/new/",
    "/sfa_enrolments/",
    "/sfa_enrolments/enrol/",
)

# What an order's 回款计划 section shows: the crawl reaches both.
PLAN_PARTS = ("payment-plan-form", "order-receivables")


def crawl(
    browser: Browser, more: Sequence[str] = (), limit: int = 220
) -> Iterator[tuple[str, str]]:
    """Every page reachable from :data:`SEEDS` and ``more`` by a plain link, once per path
    (a path's query variants: the first three), ``(url, html)``."""
    seeds = [*SEEDS, *more]
    todo, seen, per_path = list(seeds), set(), {}
    queued = set(seeds)  # a link on every page (the menu's) counts once against its path
    while todo and len(seen) < limit:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = browser.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        page = response.get_data(as_text=True)
        yield url, page
        for link in LINK.findall(page):
            link = html.unescape(link)
            path = urlsplit(link).path
            if SKIP.search(link) or link in seen or link in queued:
                continue
            queued.add(link)
            per_path[path] = per_path.get(path, 0) + 1
            if per_path[path] <= 3:
                todo.append(link)


def test_every_screen_reads_in_chinese(as_admin: Browser, seeded: tuple[str, ...]) -> None:
    problems: list[str] = []
    pages = 0
    shown: set[str] = set()  # the order's payment plan: its form and its receivables
    for url, page in crawl(as_admin, seeded):
        pages += 1
        shown.update(id for id in PLAN_PARTS if f'id="{id}"' in page)
        text = ALLOWED.sub(" ", visible(page))
        for what, pattern in (
            ("key", KEY),
            ("id", UUID),
            ("code", CODE),
            ("English", ENGLISH),
        ):
            found = sorted({m.group(0) for m in pattern.finditer(text)})
            if found:
                problems.append(f"{url}: {what} {found[:5]}")
    assert pages >= 25, f"only {pages} pages reached"
    assert shown == set(PLAN_PARTS), f"the crawl did not reach {set(PLAN_PARTS) - shown}"
    assert not problems, "\n".join(problems)


def test_english_mode_shows_no_chinese_labels(as_admin: Browser, seeded: tuple[str, ...]) -> None:
    as_admin.post("/language", {"lang": "en"})
    problems: list[str] = []
    for url, page in crawl(as_admin, seeded):
        for match in CHROME.finditer(HIDDEN.sub(" ", page)):
            raw = TAG.sub(" ", match.group(2) or match.group(3) or "")
            text = DATA.sub(" ", " ".join(html.unescape(raw).split()))
            if CJK.search(text):
                problems.append(f"{url}: {text[:60]}")
    assert not problems, "\n".join(sorted(set(problems))[:80])
