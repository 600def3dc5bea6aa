"""The demo: seed a SQLite store with realistic Chinese data and serve the admin panel.

    python3 dev.py demo                 # from the repository root
    python -m admin.demo --port 5000 --reset

Everything is created through crmkit's services (never SQL), over a year of simulated time
so the dashboard's monthly chart has a shape. The data is generated here, deterministically,
so every run gives the same customers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs

import crmkit
from crmkit.testing import ManualClock
from crmkit.testing.notifiers import ScriptedNotifier

ADMIN_PASSWORD = "demo-admin-2026"
STAFF_PASSWORD = "demo-pass-2026"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the CRM's day

# (name, role, manager's name)
STAFF = (
    ("王建国", "manager", None),
    ("张三", "sales", "王建国"),
    ("李小明", "sales", "王建国"),
    ("赵敏", "sales", "王建国"),
    ("陈静", "sales", None),
    ("刘芳", "finance", None),
    ("周婷", "service", None),  # the service lead: breaches are escalated to her
    ("吴磊", "service", "周婷"),
)

REGIONS = (
    "山东省/青岛市/市南区",
    "山东省/青岛市/崂山区",
    "山东省/济南市/历下区",
    "上海市/浦东新区",
    "上海市/徐汇区",
    "北京市/海淀区",
    "北京市/朝阳区",
    "广东省/深圳市/南山区",
    "广东省/广州市/天河区",
    "浙江省/杭州市/西湖区",
    "江苏省/南京市/鼓楼区",
    "江苏省/苏州市/姑苏区",
    "四川省/成都市/武侯区",
    "湖北省/武汉市/洪山区",
)
BRANDS = (
    "金智",
    "华东",
    "海信达",
    "瑞丰",
    "恒通",
    "博远",
    "新创",
    "鼎盛",
    "汇丰源",
    "远航",
    "天成",
    "中科",
    "宏图",
    "嘉禾",
    "凯旋",
    "联合",
    "星辰",
    "东方红",
    "万达通",
    "易达",
    "同舟",
    "长青",
    "正和",
    "安泰",
    "九州",
    "明德",
    "光华",
    "盛世",
    "福田",
    "永信",
)
TRADES = (
    ("电子科技", "电子"),
    ("建材", "建材"),
    ("贸易", "贸易"),
    ("食品", "食品"),
    ("机械设备", "机械"),
    ("软件", "软件"),
    ("物流", "物流"),
    ("医疗器械", "医疗"),
    ("化工", "化工"),
    ("服装", "服装"),
    ("家具", "家具"),
    ("环保科技", "环保"),
)
SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司")
SOURCES = ("展会", "网络推广", "老客户介绍", "电话营销", "百度搜索", "自然来访")
TAGS = ("VIP", "重点客户", "年度合作", "待回访", "价格敏感")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧阳"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华玉兰志强文博雪梅晓东海燕"
TITLES = ("总经理", "采购经理", "财务主管", "技术总监", "销售经理", "办公室主任", "董事长")
CATEGORIES = ("potential",) * 5 + ("formal",) * 3 + ("signed",) * 2

# The product catalogue: category path → (code, name, specification, unit, price, cost).
# Prices include 13% VAT, as Chinese price lists are written; services carry 6%.
CATALOGUE: dict[str, tuple[tuple[str, str, str, str, str, str], ...]] = {
    "门锁/智能门锁": (
        ("LK-100", "智能门锁", "指纹+密码 锌合金", "套", "1999.00", "1200.00"),
        ("LK-200", "人脸识别智能门锁", "3D结构光 铝合金", "套", "3299.00", "2150.00"),
        ("LK-300", "酒店刷卡锁", "IC卡 不锈钢", "套", "880.00", "520.00"),
    ),
    "门锁/机械门锁": (
        ("LM-010", "执手锁", "304不锈钢 通用型", "把", "168.00", "85.00"),
        ("LM-020", "防火门锁", "甲级防火 钢制", "把", "298.00", "160.00"),
        ("LM-030", "C级锁芯", "铜芯 70mm", "个", "120.00", "48.00"),
    ),
    "门禁系统": (
        ("AC-100", "门禁控制器", "四门 TCP/IP", "台", "2680.00", "1580.00"),
        ("AC-110", "人脸识别门禁一体机", "7寸屏 双目活体", "台", "3580.00", "2300.00"),
        ("AC-120", "IC卡读卡器", "Wiegand 26/34", "个", "260.00", "110.00"),
        ("AC-130", "电磁锁", "280kg 单门", "把", "320.00", "150.00"),
        ("AC-140", "出门按钮", "不锈钢 86型", "个", "35.00", "12.00"),
    ),
    "监控设备": (
        ("CM-200", "网络摄像机", "400万 红外 筒机", "台", "599.00", "350.00"),
        ("CM-210", "球形摄像机", "200万 23倍变焦", "台", "2899.00", "1800.00"),
        ("CM-300", "硬盘录像机", "16路 H.265", "台", "1680.00", "980.00"),
        ("CM-310", "监控硬盘", "4TB 监控级", "块", "699.00", "520.00"),
    ),
    "安装服务": (
        ("SV-001", "门锁上门安装", "含开孔调试", "次", "150.00", "80.00"),
        ("SV-002", "门禁系统安装调试", "按门计", "门", "600.00", "300.00"),
        ("SV-003", "年度维保服务", "7×24 响应", "年", "4800.00", "2600.00"),
    ),
}
# Project prices only managers and the named salesperson see (产品分组权限).
RESTRICTED = (
    ("PJ-900", "工程版智能门锁", "批量工程 不含安装", "套", "1380.00", "1100.00"),
    ("PJ-910", "门禁工程套装", "10门 含控制器", "套", "19800.00", "15200.00"),
)


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(SURNAMES) + given


def mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        number = rng.choice(("138", "139", "137", "150", "151", "186", "188", "135")) + "".join(
            rng.choice("0123456789") for _ in range(8)
        )
        if number not in used:
            used.add(number)
            return f"{number[:3]} {number[3:7]} {number[7:]}"


def customer_rows(rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    """``count`` customer field sets: mostly companies, some individuals."""
    used_names: set[str] = set()
    used_phones: set[str] = set()
    while count:
        region = rng.choice(REGIONS)
        city = region.split("/")[1 if region.count("/") == 2 else 0].removesuffix("市")
        if rng.random() < 0.12:
            name = person_name(rng)
            fields: dict[str, Any] = {"kind": "individual", "name": name}
        else:
            trade, industry = rng.choice(TRADES)
            name = f"{city}{rng.choice(BRANDS)}{trade}{rng.choice(SUFFIXES)}"
            fields = {"kind": "company", "name": name, "industry": industry}
        if name in used_names:
            continue
        used_names.add(name)
        fields |= {
            "region": region,
            "mobile": mobile(rng, used_phones),
            "source": rng.choice(SOURCES),
            "tags": rng.sample(TAGS, rng.choice((0, 0, 1, 2))),
        }
        count -= 1
        yield fields


def seed(url: str, *, customers: int = 300, seed_value: int = 2026) -> dict[str, str]:
    """Fill an empty store; returns login → password for the demo accounts."""
    rng = random.Random(seed_value)
    end = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(end - timedelta(days=365))
    # the SMS gateway of the demo: it records what is sent, and fails when told to
    notifier = ScriptedNotifier()
    crm = crmkit.open(url, clock=clock, freight=freight(), notifier=notifier)
    try:
        admin = crm.bootstrap_admin(name="管理员", password=ADMIN_PASSWORD, login="admin")
        logins = {admin.login: ADMIN_PASSWORD}
        people: dict[str, crmkit.User] = {}
        with crm.session(actor=admin) as s:
            for name, role, manager in STAFF:
                user = s.users.create(
                    name=name,
                    role=role,
                    manager_id=people[manager].id if manager else None,
                    password=STAFF_PASSWORD,
                )
                people[name] = user
                logins[user.login] = STAFF_PASSWORD
        _catalogue(crm, admin, people["李小明"])
        with crm.session(actor=admin) as s:  # 数据字典: the lists the customers draw from
            for n, source in enumerate(SOURCES):
                aliases = {"网络推广": ["网络", "网推"], "老客户介绍": ["转介绍"]}.get(source, [])
                s.dictionary.create(list="source", value=source, aliases=aliases, sort=n)
            for n, industry in enumerate(dict.fromkeys(i for _, i in TRADES)):
                s.dictionary.create(list="industry", value=industry, sort=n)
        sellers = [u for u in people.values() if u.role in {crmkit.Role.SALES, crmkit.Role.MANAGER}]
        step = timedelta(days=365) / (customers + 20)
        created: list[tuple[crmkit.User, crmkit.Customer]] = []
        ledger: Ledger | None = None
        for fields in customer_rows(rng, customers):
            clock.advance(step * rng.uniform(0.5, 1.5))
            owner = rng.choice(sellers)
            try:
                customer = _create(crm, rng, owner, fields)
            except crmkit.DuplicateError:
                continue  # someone else already works a company this similar: crmkit says no
            created.append((owner, customer))
            if ledger is None and clock.now() >= end - LEDGER_AGE:
                ledger = _plans(crm, admin, created, people, end)  # orders of four months ago
        if ledger is None:  # a small demo whose customers all came earlier
            ledger = _plans(crm, admin, created, people, end)
        _near_duplicates(crm, rng, created)
        _co_ownership_requests(crm, rng, created, sellers)
        _sales(crm, rng, created)
        binned = rng.sample(created, 5)
        with crm.session(actor=admin) as s:  # a few in the recycle bin
            for _, customer in binned:
                if customer.id not in ledger.customers:  # what is owed stays in sight
                    s.customers.delete(customer.id)
        done = _orders(crm, [pair for pair in created if pair not in binned], people)
        _collections(crm, clock, ledger, people, done, end)
        clock.set(end)
        live = [pair for pair in created if pair not in binned]
        _follow_ups(crm, rng, live, people, end)
        _messaging(crm, notifier, clock, live, people, admin, end)
        _service(crm, clock, live, people, end)
    finally:
        crm.close()
    return logins


LEADS = (
    ("青岛海纳智能科技有限公司", "赵六", "13912345601"),
    ("烟台东方物业管理有限公司", "钱七", "13912345602"),
    ("济南华安酒店管理有限公司", "孙八", "13912345603"),
    ("潍坊新城建设工程有限公司", "周九", "13912345604"),
)
# (title, stage, amount, expected close: days after the seeding day) — the close dates
# spread over the next quarter so that the forecast has months to sum.
DEALS = (
    ("门禁系统改造", "contact", "80000", 20),
    ("酒店智能门锁采购", "needs", "150000", 45),
    ("小区门禁升级", "proposal", "60000", 30),
    ("办公楼门锁更换", "negotiation", "45000", 15),
    ("工程项目门锁", "proposal", "230000", 75),
)


def _sales(
    crm: crmkit.CRM, rng: random.Random, created: list[tuple[crmkit.User, crmkit.Customer]]
) -> None:
    """销售: a few leads, opportunities across the pipeline (one won, one lost) and a quote
    with lines."""
    (first_owner, _first), *_rest = created
    with crm.session(actor=first_owner) as s:
        for n, (name, contact, mobile) in enumerate(LEADS):
            s.leads.create(
                name=name, contact_name=contact, mobile=mobile, source=SOURCES[n % len(SOURCES)]
            )
    deals: list[tuple[crmkit.User, crmkit.Opportunity]] = []
    for (title, stage, amount, days), (owner, customer) in zip(
        DEALS, rng.sample(created, len(DEALS)), strict=True
    ):
        with crm.session(actor=owner) as s:
            deal = s.opportunities.create(
                customer_id=customer.id, title=title, stage=stage, amount=amount,
                budget=amount, competitors=["海康威视"] if stage == "proposal" else [],
                expected_close=s.today() + timedelta(days=days),
            )  # fmt: skip
        deals.append((owner, deal))
    with crm.session(actor=deals[0][0]) as s:
        s.opportunities.win(deals[0][1].id)
    with crm.session(actor=deals[1][0]) as s:
        s.opportunities.lose(deals[1][1].id, reason="价格偏高")
    owner, deal = deals[2]
    with crm.session(actor=owner) as s:
        quote = s.quotes.create(
            customer_id=deal.customer_id,
            opportunity_id=deal.id,
            lines=[
                {"name": "智能门锁", "specification": "指纹+密码", "unit": "套",
                 "quantity": "20", "unit_price": "1999", "tax_rate": "13%"},
                {"name": "门禁控制器", "unit": "台", "quantity": "4", "unit_price": "2680",
                 "discount": "5%", "tax_rate": "13%"},
                {"name": "安装调试服务", "unit": "项", "quantity": "1", "unit_price": "3000",
                 "tax_rate": "6%"},
            ],
        )  # fmt: skip
        s.quotes.send(quote.id)


def freight() -> crmkit.FreightRule:
    """The demo company's freight: by province, free on large deliveries."""
    return crmkit.FreightRule.by_region(
        {"山东省": "20.00", "上海市": "35.00", "北京市": "35.00"}, default="50.00",
        free_from="50000",
    )  # fmt: skip


def open_demo(url: str) -> crmkit.CRM:
    """The demo's CRM, with its freight rule (the admin's ``CRMKIT_OPEN``)."""
    return crmkit.open(url, freight=freight())


def _orders(
    crm: crmkit.CRM,
    created: list[tuple[crmkit.User, crmkit.Customer]],
    people: dict[str, crmkit.User],
) -> str:
    """销售订单 in every state of their approval: 张三's draft (made from a quote), one
    awaiting 王建国 and a large one awaiting 刘芳 (finance) after 王建国's approval; 李小明's
    approved order with its delivery plan, one delivery made and a cost adjustment; 赵敏's
    order rejected by 王建国. Returns the approved order's id."""
    boss, finance = people["王建国"], people["刘芳"]

    def customer_of(user: crmkit.User, n: int = 0) -> str:
        return [c.id for owner, c in created if owner.id == user.id][n]

    def line(code: str, quantity: str) -> dict[str, str]:
        return {"product_id": codes[code], "quantity": quantity}

    with crm.session(actor=boss) as s:
        codes = {p.code or "": p.id for p in s.products.list(limit=100).items}
    zhang, li, zhao = people["张三"], people["李小明"], people["赵敏"]

    def submitted(s: crmkit.Session, user: crmkit.User, n: int, *items: str, **dates: Any) -> str:
        """An order of ``user``'s ``n``-th customer: ``items`` are product code, quantity
        pairs; signed ``dates["signed_on"]`` days ago (0 by default), the other dates that
        many days from now; submitted for approval."""
        days = {k: s.today() + timedelta(days=v) for k, v in dates.items()}
        days["signed_on"] = s.today() - timedelta(days=dates.get("signed_on", 0))
        lines = [line(code, qty) for code, qty in zip(items[::2], items[1::2], strict=True)]
        order = s.orders.create(customer_id=customer_of(user, n), lines=lines, **days)
        return s.orders.submit(order.id).id

    with crm.session(actor=zhang) as s:
        quote = s.quotes.create(
            customer_id=customer_of(zhang), lines=[line("LK-100", "6"), line("SV-001", "6")]
        )
        s.quotes.send(quote.id)
        s.quotes.to_order(quote.id, signed_on=s.today(), remarks="客户确认报价，待补充交货日期")
        submitted(s, zhang, 1, "LK-200", "10", "SV-001", "10", delivery_due=20)
        large = submitted(s, zhang, 2, "AC-110", "20", "AC-100", "5", "SV-002", "20")
    with crm.session(actor=li) as s:
        done = submitted(
            s, li, 0, "LK-200", "8", "LM-030", "20", "SV-001", "8",
            signed_on=10, delivery_due=10, sign_off_due=30, warranty_until=375,
        )  # fmt: skip
    with crm.session(actor=zhao) as s:
        turned = submitted(s, zhao, 0, "CM-200", "30", "CM-300", "2")
    with crm.session(actor=boss) as s:
        for approval in s.approvals.inbox().items:
            if approval.document_id == turned:
                s.approvals.reject(approval.step_id or "", reason="毛利过低，请重新核价")
            elif approval.document_id in {large, done}:
                s.approvals.approve(approval.step_id or "", comment="同意，注意回款")
    with crm.session(actor=li) as s:
        first = s.orders.plan_delivery(
            done, planned_on=s.today() - timedelta(days=2),
            items=[{"line": 0, "quantity": "5"}, {"line": 1, "quantity": "20"}], note="首批",
        )  # fmt: skip
        s.orders.deliver(first.id, 1, on=s.today() - timedelta(days=1))
        s.orders.plan_delivery(done, planned_on=s.today() + timedelta(days=7), note="余货")
    with crm.session(actor=finance) as s:
        s.orders.adjust_cost(done, "-300.00", reason="供应商返利")
    return done


# -- 财务: payment plans, payments, 抹零 and reversals ----------------------------------------
LEDGER_AGE = timedelta(days=130)  # the ledger's orders were signed about four months ago


@attrs.frozen
class Ledger:
    """The orders whose payment plans the demo's payments pay: the receivables of 张三's
    (``a``), 赵敏's (``b``) and 陈静's (``c``) orders, by instalment, and whose they are."""

    a: tuple[crmkit.Receivable, ...]
    b: tuple[crmkit.Receivable, ...]
    c: tuple[crmkit.Receivable, ...]
    customers: frozenset[str]


def _plans(
    crm: crmkit.CRM,
    admin: crmkit.User,
    created: list[tuple[crmkit.User, crmkit.Customer]],
    people: dict[str, crmkit.User],
    end: datetime,
) -> Ledger:
    """Three orders signed now (about four months before the demo's today), approved, and
    their payment plans (回款计划), the due dates counted back from the demo's today so that
    the aging shows every bucket: 张三's in three instalments (100 and 45 days ago, in 30
    days), 赵敏's in two (95 and 20 days ago), 陈静's in two (75 days ago, in 15 days)."""
    with crm.session(actor=admin) as s:
        codes = {p.code or "": p.id for p in s.products.list(limit=100).items}
    today = end.astimezone(SHANGHAI).date()

    def days(n: int) -> date:
        return today + timedelta(days=n)

    made: list[tuple[crmkit.Customer, tuple[crmkit.Receivable, ...]]] = []
    for seller, items, parts in (
        ("张三", (("LK-200", "10"),), ((days(-100), "30%"), (days(-45), "40%"), (days(30), "30%"))),
        ("赵敏", (("CM-200", "20"), ("CM-300", "1")), ((days(-95), "50%"), (days(-20), "50%"))),
        ("陈静", (("AC-100", "4"), ("SV-002", "4")), ((days(-75), "40%"), (days(15), "60%"))),
    ):
        user = people[seller]
        customer = next((c for owner, c in created if owner.id == user.id), None)
        if customer is None:  # a tiny demo: someone else's first customer
            owner, customer = created[len(made) % len(created)]
            user = owner
        lines = [{"product_id": codes[code], "quantity": qty} for code, qty in items]
        with crm.session(actor=user) as s:
            order = s.orders.create(customer_id=customer.id, lines=lines, signed_on=s.today())
            s.orders.submit(order.id)
        _approve(crm, order.id, [admin, people["王建国"], people["刘芳"]])
        with crm.session(actor=user) as s:
            made.append((customer, tuple(s.receivables.plan(order.id, list(parts)))))
    (_a, a), (_b, b), (_c, c) = made
    return Ledger(a, b, c, frozenset(customer.id for customer, _r in made))


def _approve(crm: crmkit.CRM, order_id: str, deciders: list[crmkit.User]) -> None:
    """Every step of the order's approval, by whichever of ``deciders`` it awaits."""
    for _round in range(3):
        for user in deciders:
            with crm.session(actor=user) as s:
                for a in s.approvals.inbox().items:
                    if a.document_id == order_id:
                        s.approvals.approve(a.step_id or "", comment="同意")


def _collections(
    crm: crmkit.CRM,
    clock: ManualClock,
    ledger: Ledger,
    people: dict[str, crmkit.User],
    done: str,
    end: datetime,
) -> None:
    """刘芳 (finance) records what came in, each payment on its day (or later, dated back):
    张三's customer pays the first instalment (paid), a cheque for the second that bounces
    (the payment reversed, its allocation with it), then part of the second (partly paid,
    overdue); a transfer wrongly applied to the third instalment is taken back (a reversed
    allocation) and applied again to the oldest; 赵敏's customer pays the second instalment
    but ¥0.80, which is written off (抹零), the first left open over 90 days; 陈静's customer
    pays a deposit kept as a prepayment (预收). 李小明's approved order gets its plan."""
    finance = people["刘芳"]
    a1, a2, a3 = ledger.a
    _b1, b2 = ledger.b
    customer_a, customer_b, customer_c = a1.customer_id, b2.customer_id, ledger.c[0].customer_id

    def on(days_ago: int) -> date:
        """The day ``days_ago`` before the demo's today; the clock moved there if it is
        not past it already (a payment is never dated after the day it is recorded)."""
        at = end - timedelta(days=days_ago)
        if clock.now() < at:
            clock.set(at)
        return min(at.astimezone(SHANGHAI).date(), clock.now().astimezone(SHANGHAI).date())

    def pay(customer: str, amount: Any, days_ago: int, **fields: Any) -> crmkit.Payment:
        received = on(days_ago)
        fields.setdefault("method", "bank_transfer")
        with crm.session(actor=finance) as s:
            made: crmkit.Payment = s.payments.record(
                customer_id=customer, amount=amount, received_on=received, **fields
            )
        return made

    pay(
        customer_a, a1.amount.amount, 98, account="工行青岛分行 3803 0211 0900", reference="HX98001"
    )
    cheque = pay(customer_a, a2.amount.amount, 60, method="cheque", reference="支票 10293847")
    on(50)
    with crm.session(actor=finance) as s:
        s.payments.reverse(cheque.id, reason="支票退票：出票人账户余额不足")
    part = (a2.amount.amount * Decimal("0.6")).quantize(Decimal("0.01"))
    pay(customer_a, part, 40, method="wechat", reference="微信 4200001234")
    pay(
        customer_b,
        b2.amount.amount - Decimal("0.80"),
        18,
        allocate=[(b2.id, b2.amount.amount - Decimal("0.80"))],
        reference="HX18002",
    )
    with crm.session(actor=finance) as s:
        s.receivables.write_off(b2.id, reason="尾差抹零")
    pay(customer_c, "5000.00", 30, category="deposit", allocate=None, remarks="二期工程定金")
    wrong = pay(customer_a, "2000.00", 10, allocate=[(a3.id, "2000.00")], reference="HX10003")
    with crm.session(actor=finance) as s:
        s.payments.unallocate(wrong.id, wrong.allocations[0].id, reason="冲错期次，应先冲第2期")
        s.payments.apply(wrong.id)
    with crm.session(actor=people["李小明"]) as s:
        today = s.today()
        s.receivables.plan(
            done, [(today - timedelta(days=3), "30%"), (today + timedelta(days=40), "70%")]
        )


# -- 跟进: activities and tasks --------------------------------------------------------------
# What a contact of each kind says (联系记录), picked in turn.
CONTACTS: dict[str, tuple[str, ...]] = {
    "visit": (
        "上门拜访，演示指纹款智能门锁，客户很感兴趣",
        "到客户现场勘察门禁布线，约定下周出方案",
    ),
    "call": ("电话沟通报价细节，客户希望再优惠 5%", "电话回访安装效果，客户满意，提到二期需求"),
    "email": ("发送产品资料和报价单", "邮件确认合同条款和交货日期"),
    "meeting": ("与客户采购部开会讨论二期门禁方案",),
    "sms": ("短信提醒客户确认交货日期",),
}
# The next follow-up of each customer's latest contact, in days from the demo's today: due
# today, overdue, later, or none.
NEXT_FOLLOW_UPS = (0, -2, 3, -5, None, 7, 0, -1, 14, None)


def _follow_ups(
    crm: crmkit.CRM,
    rng: random.Random,
    created: list[tuple[crmkit.User, crmkit.Customer]],
    people: dict[str, crmkit.User],
    end: datetime,
) -> None:
    """跟进: each salesperson's first customers get two or three contacts over the last weeks
    (a visit, calls, emails …, with a contact person where there is one), the latest with a
    next follow-up today, overdue, later or none, so the 工作台 has today's and overdue
    follow-ups; tasks due later, overdue, reminding, done and cancelled, and one that 王建国
    assigns to 张三 with an SMS reminder the day before."""
    today = end.astimezone(SHANGHAI).date()
    kinds = list(CONTACTS)
    n = 0
    for seller in ("张三", "李小明", "赵敏", "陈静", "王建国"):
        user = people[seller]
        theirs = [c for owner, c in created if owner.id == user.id][:3]
        for customer in theirs:
            with crm.session(actor=user) as s:
                contacts = s.contacts.list(customer_id=customer.id, limit=5).items
                for step, days_ago in enumerate(sorted(rng.sample(range(1, 40), 2), reverse=True)):
                    kind = kinds[(n + step) % len(kinds)]
                    s.activities.create(
                        customer_id=customer.id,
                        kind=kind,
                        content=CONTACTS[kind][(n + step) % len(CONTACTS[kind])],
                        at=end - timedelta(days=days_ago, hours=rng.randint(0, 6)),
                        contact_id=contacts[0].id if contacts else None,
                        next_follow_up=today - timedelta(days=days_ago - 7),
                    )
                offset = NEXT_FOLLOW_UPS[n % len(NEXT_FOLLOW_UPS)]
                kind = kinds[(n + 2) % len(kinds)]
                s.activities.create(
                    customer_id=customer.id,
                    kind=kind,
                    content=CONTACTS[kind][n % len(CONTACTS[kind])],
                    at=end - timedelta(hours=2 + n % 5),
                    next_follow_up=None if offset is None else today + timedelta(days=offset),
                )
            n += 1

    def at(days: int, clock_time: str) -> str:
        return f"{(today + timedelta(days=days)).isoformat()} {clock_time}"

    zhang, li, boss = people["张三"], people["李小明"], people["王建国"]
    first = next((c for owner, c in created if owner.id == zhang.id), created[0][1])
    with crm.session(actor=zhang) as s:
        s.tasks.create(title="整理本周客户报价单", due_at=at(0, "17:30"), remind_days=1)
        s.tasks.create(
            title="回访老客户安装效果", due_at=at(-1, "10:00"), customer_id=first.id,
            description="确认门锁使用情况，顺便了解二期需求",
        )  # fmt: skip
        weekly = s.tasks.create(title="提交销售周报", due_at=at(-2, "18:00"))
        s.tasks.done(weekly.id)
        s.tasks.create(title="准备季度客户拜访计划", due_at=at(10, "09:00"), remind_days=3)
    with crm.session(actor=boss) as s:
        s.tasks.create(
            title="给客户送智能门锁样品", owner_id=zhang.id, customer_id=first.id,
            due_at=at(2, "15:00"), remind_days=1, remind_sms=True,
            description="带指纹款和人脸款各一套，演示后留样",
        )  # fmt: skip
        s.tasks.create(title="月度销售例会", due_at=at(4, "09:30"), remind_days=1)
    with crm.session(actor=li) as s:
        s.tasks.create(title="准备投标文件", due_at=at(5, "17:00"), remind_days=2)
        visit = s.tasks.create(title="陪同客户参观展厅", due_at=at(1, "14:00"))
        s.tasks.cancel(visit.id, reason="客户改期到下月")


# -- 短信中心 and SFA: templates, a plan that runs, messages out and in ---------------------
# (code, name, channel, subject, body, marketing)
TEMPLATES = (
    ("welcome", "新客户欢迎", "sms", None,
     "{name}您好，感谢选择{company}！您的专属客户经理{owner}将竭诚为您服务。", True),
    ("care", "安装回访关怀", "sms", None,
     "{contact}您好，门锁和门禁使用中有任何问题，请随时联系{owner}。", False),
    ("birthday", "生日祝福", "sms", None,
     "{contact}您好，{company}祝您生日快乐，万事如意！", False),
    ("quote-follow-up", "报价跟进邮件", "email", "{company}：产品报价",
     "{contact}您好：\n感谢您关注我们的智能门锁和门禁产品，附上最新报价，"
     "如有疑问请随时联系{owner}。", False),
)  # fmt: skip
# The plan's steps: the welcome SMS on the day, the salesperson's call two working days on,
# the care SMS after five working days, the quote email after ten days.
CARE_STEPS = (
    {"action": "sms", "unit": "days", "offset": 0, "at": "10:00", "template": "welcome"},
    {"action": "task", "unit": "workdays", "offset": 2, "at": "10:00", "title": "电话回访新客户"},
    {"action": "sms", "unit": "workdays", "offset": 5, "at": "10:00", "template": "care"},
    {"action": "email", "unit": "days", "offset": 10, "at": "10:00",
     "template": "quote-follow-up"},
)  # fmt: skip
PLAN_DAYS = 12  # the plan started this many days before the demo's today


def _messaging(
    crm: crmkit.CRM,
    notifier: ScriptedNotifier,
    clock: ManualClock,
    created: list[tuple[crmkit.User, crmkit.Customer]],
    people: dict[str, crmkit.User],
    admin: crmkit.User,
    end: datetime,
) -> None:
    """短信中心 and SFA: the templates; 新客户关怀 (periodic: SMS, a manual task and an
    email on calendar and working days) with 李小明's customers enrolled twelve days ago
    (one finished, one paused since), 张三's a week ago and one of 赵敏's today, mid-way
    (中途启用: from five days ago); a birthday plan (timed) and a disabled one. The due steps
    run day by day and the outbox is dispatched through the demo's notifier, which refuses
    one message (发送失败) and fails another once (sent on the next try). Then, today: 张三
    texts a customer now and another later (定时), 王建国 group-sends to the VIP customers
    (queued, not dispatched: 待发送), a reply comes in, a customer replies T (退订) and a
    number is put on the list by hand; the last dispatch fails one message (重试中) and
    times out on another (结果不明)."""
    zone = SHANGHAI
    today = end.astimezone(zone).date()
    start = today - timedelta(days=PLAN_DAYS)

    def noon(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(hours=12)

    def customers_of(name: str, count: int) -> list[crmkit.Customer]:
        return [c for owner, c in created if owner.id == people[name].id][:count]

    zhang, li, zhao, boss = people["张三"], people["李小明"], people["赵敏"], people["王建国"]
    clock.set(noon(start) - timedelta(hours=3))  # 09:00 on the plan's first day
    with crm.session(actor=admin) as s:
        for code, name, channel, subject, body, marketing in TEMPLATES:
            s.messages.templates.create(
                code=code, name=name, channel=channel, subject=subject, body=body,
                marketing=marketing,
            )  # fmt: skip
        care = s.sfa.create_plan(
            name="新客户关怀", kind="periodic", steps=list(CARE_STEPS), marketing=True,
            description="新签客户的欢迎短信、电话回访、关怀短信和报价跟进邮件",
        )  # fmt: skip
        s.sfa.create_plan(
            name="客户生日祝福", kind="timed", marketing=False,
            steps=[{"action": "sms", "unit": "birthday", "offset": 0, "at": "09:00",
                    "template": "birthday"}],
        )  # fmt: skip
        quiet = s.sfa.create_plan(
            name="节日问候（春节）", kind="timed",
            steps=[{"action": "sms", "unit": "date", "on": "春节", "offset": -1, "at": "10:00",
                    "template": "care"}],
        )  # fmt: skip
        s.sfa.disable(quiet.id)

    def enrol(user: crmkit.User, customers: list[crmkit.Customer], **options: Any) -> list[str]:
        if not customers:  # a small demo: this salesperson has none
            return []
        with crm.session(actor=user) as s:
            ids = [c.id for c in customers]
            return list(s.sfa.enrol(care.id, ids, **options).enrolment_ids)

    paused = enrol(li, customers_of("李小明", 2))[-1:]
    notifier.refuse(1)  # the gateway refuses the first welcome: 发送失败
    for day in range(PLAN_DAYS):
        clock.set(noon(start + timedelta(days=day)))
        crm.run_due()
        crm.dispatch()
        if day == 3 and paused:
            with crm.session(actor=li) as s:
                s.sfa.pause(paused[0])  # 李小明 pauses one: its later steps wait
        if day == 5:  # 张三's customers a week ago: still in the plan today
            enrol(zhang, customers_of("张三", 3))
        if day == 6:
            notifier.fail(1)  # a send fails once and goes out on the next dispatch
    clock.set(end)
    crm.run_due()
    crm.dispatch()  # what is due by now went out: the last dispatch below meets today's
    # 中途启用: as if enrolled five days ago
    enrol(zhao, customers_of("赵敏", 1), anchor=today - timedelta(days=5))
    mine = customers_of("张三", 3)
    texts = (
        "王总您好，样品已寄出，请注意查收。",
        "李经理您好，报价单已发到您的邮箱。",
        "您好，安装师傅明天上午九点上门。",
    )
    with crm.session(actor=zhang) as s:
        for customer, text in zip(mine, texts[:1], strict=False):
            s.messages.send_sms(customer_id=customer.id, text=text)
        for customer in mine[-1:]:  # 定时短信, in two days
            s.messages.send_sms(
                customer_id=customer.id, template="care", at=end + timedelta(days=2)
            )
    with crm.session(actor=boss) as s:
        s.messages.group_send(template="care", tag="VIP")  # queued: 待发送
    replied = [c for c in customers_of("李小明", 1) + customers_of("赵敏", 2)[1:] if c.mobile]
    with crm.session(actor=admin) as s:
        for customer, text in zip(
            replied, ("收到，谢谢！下周三方便来公司详谈。", "T"), strict=False
        ):
            assert customer.mobile is not None
            s.messages.receive(customer.mobile.e164, text)  # a reply, then 退订
        s.messages.unsubscribe("13900001111", reason="客户电话要求不再发送营销短信")
    with crm.session(actor=zhang) as s:
        for customer, text in zip(mine[1:], texts[1:], strict=False):
            s.messages.send_sms(customer_id=customer.id, text=text)
    # One message at a time, and a script of its own: what the plan's days sent before
    # depends on today's date (weekends, holidays), so a failure scripted then may be unused.
    notifier.clear().knows_status = False
    notifier.fail(1)  # 重试中
    crm.dispatch(limit=1)
    notifier.time_out(1)  # 结果不明: the gateway cannot say whether it went out
    crm.dispatch(limit=1)


ARTICLES = (
    ("门锁无法开启如何复位", "门锁",
     "1. 用应急钥匙打开门锁；2. 长按室内面板复位键 5 秒，听到“嘀”声后松开；"
     "3. 重新录入管理员指纹。复位不会删除已登记的用户卡。", "复位,指纹,应急钥匙"),
    ("门锁电量低的提示与更换电池", "门锁",
     "提示“电量低”后约可再开门 200 次。请更换 4 节 5 号碱性电池，勿使用充电电池。", "电池"),
    ("门禁读卡器不识别卡片", "门禁",
     "检查卡片是否为 IC 卡（13.56MHz）；在管理软件中确认卡号已授权；读卡距离不超过 3 厘米。",
     "门禁,读卡"),
    ("智能门锁安装前的门体要求", "安装",
     "门厚 40-120 毫米；锁体开孔尺寸 24×240 毫米；防火门需先确认消防要求。", "安装,开孔"),
    ("保修期与保修范围", "售后政策",
     "整机保修两年，电子部件保修一年；人为损坏、进水不在保修范围内。", "保修"),
    ("上门维修收费标准", "售后政策",
     "保修期内免费上门；保修期外上门费 80 元，配件按价目表收费。", "收费,上门"),
)  # fmt: skip


def _service(
    crm: crmkit.CRM,
    clock: ManualClock,
    created: list[tuple[crmkit.User, crmkit.Customer]],
    people: dict[str, crmkit.User],
    end: datetime,
) -> None:
    """客户服务: a knowledge base; SLA policies; tickets over the last ten days (resolved and
    rated, closed, one breached and escalated to 周婷, one waiting for the customer, new
    ones); a complaint with corrective actions (one verified, one overdue); a repair with
    parts replaced, done; a customer's question answered from the knowledge base."""
    lead, agent = people["周婷"], people["吴磊"]
    customers = [c for _, c in created if c.mobile is not None][:8]
    if len(customers) < 6:  # a tiny demo
        return
    clock.set(end - timedelta(days=10))
    with crm.session(actor=lead) as s:
        articles = [
            s.kb.create(title=t, category=c, body=b, tags=tags) for t, c, b, tags in ARTICLES
        ]
    with crm.session(actor=people["王建国"]) as s:
        s.sla_policies.create(
            name="紧急维修",
            type="repair",
            priority="urgent",
            response_minutes=30,
            resolution_minutes=4 * 60,
        )
        s.sla_policies.create(
            name="投诉处理", type="complaint", response_minutes=60, resolution_minutes=2 * 9 * 60
        )  # fmt: skip

    def ticket(customer: crmkit.Customer, **fields: Any) -> Any:
        with crm.session(actor=agent) as s:
            return s.tickets.create(customer_id=customer.id, assignee_id=agent.id, **fields)

    # Resolved and rated, then closed by itself; resolved with an article.
    done = ticket(customers[0], type="repair", subject="门锁无法开启", channel="phone")
    clock.advance(timedelta(minutes=40))
    with crm.session(actor=agent) as s:
        s.tickets.record(done.id, body="电话指导客户复位门锁，恢复正常", kind="call")
        s.tickets.link_article(done.id, articles[0].id)
        s.tickets.resolve(done.id, resolution="指导复位后恢复")
        s.tickets.rate(done.id, score=5, comment="响应很快")
    asked = ticket(customers[1], type="consultation", subject="保修期多久", channel="web")
    with crm.session(actor=agent) as s:
        s.tickets.record(asked.id, body="整机保修两年，电子部件一年", kind="reply", shared=True)
        s.tickets.link_article(asked.id, articles[4].id)
        s.tickets.resolve(asked.id, resolution="已答复保修政策")
        s.tickets.rate(asked.id, score=4)
        s.questions.ask(customer_id=customers[1].id, question="保修期多久？", ticket_id=asked.id)
    with crm.session(actor=agent) as s:
        question = s.questions.for_customer(customers[1].id).items[0]
        s.questions.answer(question.id, answer="整机两年，电子部件一年", article_id=articles[4].id)
    crm.run_due()
    # A complaint: its ticket, the complaint with one action verified and one overdue.
    clock.advance(timedelta(days=1))
    grumble = ticket(customers[2], type="complaint", subject="安装师傅迟到两小时", priority="high")
    with crm.session(actor=lead) as s:
        complaint = s.complaints.from_ticket(grumble.id, severity="major")
        complaint = s.complaints.investigate(
            complaint.id, root_cause="派工单时间填写错误，师傅按下午时间出发"
        )
        complaint = s.complaints.add_action(
            complaint.id, description="派工系统增加时间确认", owner_id=agent.id,
            due_on=(clock.now() + timedelta(days=3)).astimezone(SHANGHAI).date(),
        )  # fmt: skip
        complaint = s.complaints.add_action(
            complaint.id, description="向客户致歉并赠送一次免费保养", owner_id=agent.id,
            due_on=(clock.now() + timedelta(days=1)).astimezone(SHANGHAI).date(),
        )  # fmt: skip
    with crm.session(actor=agent) as s:
        first = complaint.actions[1]
        s.complaints.follow_up(complaint.id, first.id, note="已电话致歉，客户接受")
        s.complaints.complete_action(complaint.id, first.id, result="已致歉并预约保养")
        s.tickets.record(grumble.id, body="已致电客户致歉", kind="call")
    with crm.session(actor=lead) as s:
        s.complaints.verify_action(complaint.id, first.id)
    # A repair with parts replaced, done and waiting to be picked up.
    clock.advance(timedelta(days=1))
    broken = ticket(customers[3], type="repair", subject="门锁面板不亮", priority="urgent")
    with crm.session(actor=lead) as s:
        products = [p for p in s.products.list(limit=50).items if p.price is not None][:2]
        repair = s.repairs.from_ticket(
            broken.id, serial_number="SL-2026-08812", technician_id=agent.id, labour="80"
        )
        if products:
            parts = [{"product_id": p.id, "quantity": 1} for p in products[:2]]
            repair = s.repairs.set_parts(repair.id, parts)
        repair = s.repairs.start(repair.id, diagnosis="面板排线松动，电池盒腐蚀")
        s.repairs.finish(repair.id)
    with crm.session(actor=agent) as s:
        s.tickets.record(broken.id, body="已上门取件维修", kind="visit")
        s.tickets.resolve(broken.id, resolution="更换面板排线与电池盒")
    # Breached: opened three days ago and never answered, escalated to 周婷.
    clock.set(end - timedelta(days=3))
    ticket(customers[4], type="repair", subject="门禁读卡器不识别卡片", priority="high")
    # Waiting for the customer, and new ones of today.
    clock.set(end - timedelta(days=1))
    waiting = ticket(customers[5], type="repair", subject="门锁电量低提示", channel="sms")
    with crm.session(actor=agent) as s:
        s.tickets.record(waiting.id, body="请客户更换电池后反馈", kind="reply")
        s.tickets.wait(waiting.id)
    clock.set(end - timedelta(hours=2))
    with crm.session(actor=agent) as s:
        for customer, subject, kind in (
            (customers[6], "咨询门锁安装开孔尺寸", "consultation"),
            (customers[7 % len(customers)], "建议增加手机开门功能", "suggestion"),
        ):
            s.tickets.create(customer_id=customer.id, type=kind, subject=subject)
    clock.set(end)
    crm.run_due()
    crm.dispatch()


def _catalogue(crm: crmkit.CRM, admin: crmkit.User, insider: crmkit.User) -> None:
    """The product catalogue: categories two levels deep, ~20 products, one restricted group
    (managers and ``insider`` only) with project prices, one product retired."""
    with crm.session(actor=admin) as s:
        categories: dict[str, str] = {}  # path → id
        for path in CATALOGUE:
            parent: str | None = None
            for depth, name in enumerate(path.split("/"), start=1):
                key = "/".join(path.split("/")[:depth])
                if key not in categories:
                    categories[key] = s.product_categories.create(
                        name=name, parent_id=parent, sort=len(categories)
                    ).id
                parent = categories[key]
        for path, items in CATALOGUE.items():
            for code, name, spec, unit, price, cost in items:
                s.products.create(
                    code=code,
                    name=name,
                    specification=spec,
                    unit=unit,
                    price=price,
                    cost=cost,
                    tax_rate="6%" if code.startswith("SV") else "13%",
                    category_id=categories[path],
                    active=code != "LK-300",  # the card lock is retired
                )
        group = s.product_groups.create(
            name="工程项目价",
            members=["role:manager", f"user:{insider.id}"],
            remarks="工程项目专用价格，仅经理和项目销售可见",
        )
        for code, name, spec, unit, price, cost in RESTRICTED:
            s.products.create(
                code=code,
                name=name,
                specification=spec,
                unit=unit,
                price=price,
                cost=cost,
                category_id=categories["门锁/智能门锁" if code == "PJ-900" else "门禁系统"],
                group_id=group.id,
            )


def _create(
    crm: crmkit.CRM, rng: random.Random, owner: crmkit.User, fields: dict[str, Any]
) -> crmkit.Customer:
    """One customer with its contacts, moved along its lifecycle, as its owner would."""
    with crm.session(actor=owner) as s:
        customer = s.customers.create(**fields)
        if fields["kind"] == "company":
            for _ in range(rng.choice((1, 1, 2, 3))):
                s.contacts.create(
                    customer_id=customer.id,
                    name=person_name(rng),
                    title=rng.choice(TITLES),
                    mobile=mobile(rng, set()),
                )
        category = rng.choice(CATEGORIES)
        if category != "potential":
            customer = s.customers.change_category(customer.id, "formal")
        if category == "signed":
            customer = s.customers.change_category(customer.id, "signed")
        return customer


def _near_duplicates(
    crm: crmkit.CRM, rng: random.Random, created: list[tuple[crmkit.User, crmkit.Customer]]
) -> None:
    """Customers entered twice by their own owner, spelt differently (for duplicate review):
    青岛金智电子科技有限公司 → 金智电子科技(青岛)有限公司."""
    companies = [(o, c) for o, c in created if c.kind is crmkit.CustomerKind.COMPANY]
    for owner, original in rng.sample(companies, 8):
        region = original.region.path if original.region else ""
        city = original.region.city or original.region.province if original.region else ""
        city = (city or "").removesuffix("市")
        body = original.name.removeprefix(city)
        for suffix in ("股份有限公司", "有限公司"):
            if body.endswith(suffix):
                twin = f"{body.removesuffix(suffix)}({city}){suffix}"
                break
        else:
            continue
        try:
            with crm.session(actor=owner) as s:
                s.customers.create(name=twin, region=region, source=original.source)
        except crmkit.DuplicateError:
            continue  # crmkit refused it outright: fine, the demo needs no more


def _co_ownership_requests(
    crm: crmkit.CRM,
    rng: random.Random,
    created: list[tuple[crmkit.User, crmkit.Customer]],
    sellers: list[crmkit.User],
) -> None:
    """Salespeople who try to take in a company a colleague already works, are stopped by
    anti-collision and ask to co-own it: pending requests for managers to decide."""
    salespeople = [u for u in sellers if u.role is crmkit.Role.SALES]
    asked = 0
    for owner, customer in rng.sample(created, len(created)):
        if asked == 3:
            return
        others = [u for u in salespeople if u.id != owner.id]
        if customer.kind is not crmkit.CustomerKind.COMPANY or not others:
            continue
        asker = rng.choice(others)
        try:
            with crm.session(actor=asker) as s:
                s.customers.create(name=customer.name)
        except crmkit.DuplicateError as error:
            with crm.session(actor=asker) as s:
                s.customers.request_co_ownership(
                    error.matches[0].id, note="客户主动联系我，希望共同跟进"
                )
            asked += 1


def free_port(preferred: int) -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the crmkit admin panel on demo data.")
    parser.add_argument("--data", type=Path, default=Path.home() / ".crmkit-demo")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--reset", action="store_true", help="throw the demo data away first")
    args = parser.parse_args(argv)

    from werkzeug.serving import make_server

    from admin import create_app

    url, logins = prepare(args.data, customers=args.customers, reset=args.reset)
    app = create_app(
        {
            "CRMKIT_URL": url,
            "CRMKIT_OPEN": open_demo,
            "ADMIN_DATA_DIR": str(args.data),
            "SECRET_KEY": _secret(args.data),
            "SESSION_COOKIE_SECURE": False,  # plain http on 127.0.0.1
            "ADMIN_TITLE": "crmkit 演示",
            # the seller on printed quotes and orders (a demo company)
            "ADMIN_COMPANY_NAME": "青岛安居智能科技有限公司（演示）",
            "ADMIN_COMPANY_ADDRESS": "山东省青岛市市南区香港中路 10 号",
            "ADMIN_COMPANY_PHONE": "0532-8000 0000",
        }
    )
    port = free_port(args.port)
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"\ncrmkit admin panel: http://127.0.0.1:{port}/\n")
    print_logins(logins)
    print("\nCtrl-C stops the server.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["crmkit_admin"].close()


def prepare(
    data: Path,
    *,
    customers: int = 300,
    reset: bool = False,
    seeder: Callable[..., dict[str, str]] = seed,
) -> tuple[str, dict[str, str]]:
    """The demo store in ``data`` (seeded by ``seeder`` the first time) and its logins.

    The logins (demo passwords in plain text) are printed on the terminal by :func:`main`;
    the copy kept for the next start, ``logins.json``, is readable by its owner only
    (0600, like the folder, 0700, when this creates it), and an older, wider one is
    narrowed.

    Returns:
        The store's URL and login → password.
    """
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = data / "crm.db"
    if reset:
        for leftover in data.glob("crm.db*"):
            leftover.unlink()
    url = f"sqlite:///{db}"
    accounts = data / "logins.json"
    if not db.exists():
        print(f"seeding {customers} demo customers into {db} …", flush=True)
        write_private(accounts, json.dumps(seeder(url, customers=customers), indent=1))
    elif not accounts.exists():
        return url, {}  # kept by an older demo elsewhere; --reset seeds afresh
    accounts.chmod(0o600)
    logins: dict[str, str] = json.loads(accounts.read_text(encoding="utf-8"))
    return url, logins


def print_logins(logins: dict[str, str]) -> None:
    if not logins:
        print("demo logins unknown (no logins.json): start with --reset for fresh demo data")
        return
    print("demo logins (login / password):")
    for login, password in logins.items():
        print(f"  {login:<10} {password}")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only (0600) from the
    first byte: a new file is created with that mode, an existing one is narrowed before
    anything is written, and a symbolic link at ``path`` is refused, not followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        if hasattr(os, "fchmod"):
            os.fchmod(f.fileno(), 0o600)
        f.write(text)


def _secret(folder: Path) -> str:
    """A per-installation secret kept beside the demo data (logins survive a restart)."""
    import secrets

    path = folder / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_hex(32))
    return path.read_text().strip()


if __name__ == "__main__":
    main()
