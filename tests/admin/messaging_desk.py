"""What the 短信中心 and SFA screens' tests share: 王经理's team with a customer each, the
templates, a plan, and an admin panel whose CRM sends through a scripted notifier."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from flask import Flask

import crmkit
from crmkit.testing import ManualClock
from crmkit.testing.notifiers import ScriptedNotifier
from tests.admin.conftest import PASSWORDS, Browser, admin_app, make_customer
from tests.admin.pages import text_of

# The test clock starts at 2026-01-01 01:00 UTC: 09:00 on New Year's Day in the CRM's zone.
TODAY = "2026-01-01"
CARE_STEPS = (
    {"action": "sms", "unit": "days", "offset": 0, "at": "10:00", "template": "welcome"},
    {"action": "task", "unit": "workdays", "offset": 2, "at": "10:00", "title": "电话回访"},
)


def field_errors(page: str) -> list[str]:
    """The texts of every error shown under a field."""
    return [text_of(m) for m in re.findall(r'class="invalid-feedback[^"]*">(.*?)</div>', page)]


def error_near(page: str, id: str) -> str:
    """The text of the errors right after the element ``id``."""
    start = page.index(f'id="{id}"')
    rest = page[start : start + 4000]
    found = re.search(r'class="invalid-feedback[^"]*"[^>]*>(.*?)</', rest, re.S)
    return text_of(found.group(1)) if found else ""


@attrs.frozen
class Desk:
    """王经理's team: 张三's customer 青岛金智 (a mobile), 李小明's 上海四通 (a mobile);
    the templates 欢迎短信 (marketing), 关怀短信 and 报价邮件; the plan 新客户关怀 (an SMS on
    the day, a call two working days on)."""

    app: Flask
    crm: crmkit.CRM
    clock: ManualClock
    notifier: ScriptedNotifier
    users: dict[str, crmkit.User]
    mine: crmkit.Customer
    theirs: crmkit.Customer
    plan: crmkit.SfaPlan

    def browser(self, who: str) -> Browser:
        browser = Browser(self.app.test_client())
        assert browser.login(self.users[who].login, PASSWORDS[who]).status_code == 302
        return browser

    def session(self, who: str = "admin") -> Any:
        return self.crm.session(actor=self.users[who])

    def messages(self) -> list[crmkit.Message]:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            return list(s.messages.list(limit=200).items)

    def plans(self) -> list[crmkit.SfaPlan]:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            return list(s.sfa.list(limit=200).items)

    def enrolments(self, **filters: Any) -> list[crmkit.SfaEnrolment]:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            return list(s.sfa.enrolments(limit=200, **filters).items)

    def enrol(self, who: str, customer: crmkit.Customer, **options: Any) -> crmkit.SfaEnrolment:
        with self.session(who) as s:
            (made,) = s.sfa.enrol(self.plan.id, [customer.id], **options).enrolment_ids
            found: crmkit.SfaEnrolment = s.sfa.enrolment(made)
        return found


def users_of(crm: crmkit.CRM) -> dict[str, crmkit.User]:
    admin = crm.bootstrap_admin(name="管理员", password=PASSWORDS["admin"], login="admin")
    with crm.session(actor=admin) as s:
        boss = s.users.create(name="王经理", role="manager", password=PASSWORDS["boss"])
        zhang = s.users.create(
            name="张三", role="sales", manager_id=boss.id, password=PASSWORDS["zhang"]
        )
        li = s.users.create(name="李小明", role="sales", manager_id=boss.id, password="sales-pass")
    return {"admin": admin, "boss": boss, "zhang": zhang, "li": li}


def open_desk(tmp_path: Path, clock: ManualClock, **config: Any) -> Iterator[Desk]:
    """The desk on a fresh admin panel (each test module's ``desk`` fixture); ``config``
    is added to the app's."""
    notifier = ScriptedNotifier()
    with admin_app(tmp_path, clock, crm_options={"notifier": notifier}, **config) as app:
        crm: crmkit.CRM = app.extensions["crmkit_admin"].crm
        users = users_of(crm)
        mine = make_customer(
            crm, users["zhang"], mobile="13800138000", region="山东省/青岛市/市南区"
        )
        theirs = make_customer(
            crm, users["li"], name="上海四通贸易有限公司", mobile="13700001111",
            region="上海市/浦东新区",
        )  # fmt: skip
        with crm.session(actor=users["admin"]) as s:
            s.messages.templates.create(
                code="welcome", name="欢迎短信", body="{name}您好，欢迎选购智能门锁！",
                marketing=True,
            )  # fmt: skip
            s.messages.templates.create(
                code="care", name="关怀短信", body="{contact}您好，门锁使用中有问题请联系{owner}。"
            )
            s.messages.templates.create(
                code="quote", name="报价邮件", channel="email", subject="报价",
                body="{contact}您好：附上报价。",
            )  # fmt: skip
            plan = s.sfa.create_plan(name="新客户关怀", steps=list(CARE_STEPS))
        yield Desk(app, crm, clock, notifier, users, mine, theirs, plan)
