"""跟进 in the admin: 联系记录 (the list with its filters, the form, a customer's timeline and
its 记录联系), 待办 (tabs, the form, 完成 / 取消 / 重新打开), 日程安排, the 工作台 on the home
page and 跟进统计 — every value by its label, in 简体中文 and English, every refusal beside its
field with nothing written, each salesperson in their own scope."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import attrs
import pytest
from flask import Flask

import crmkit
from crmkit.testing import ManualClock
from tests.admin.conftest import PASSWORDS, Browser, make_customer
from tests.admin.pages import flashes, part, text_of

# The test clock starts at 2026-01-01 01:00 UTC: 09:00 on New Year's Day in the CRM's zone.
TODAY = "2026-01-01"


def field_errors(page: str) -> list[str]:
    return [text_of(m) for m in re.findall(r'class="invalid-feedback[^"]*">(.*?)</div>', page)]


def error_near(page: str, id: str) -> str:
    """The text of the errors right after the input or select ``id``."""
    start = page.index(f'id="{id}"')
    rest = page[start : start + 3000]
    found = re.search(r'class="(?:help-block|invalid-feedback)[^"]*"[^>]*>(.*?)</', rest, re.S)
    return text_of(found.group(1)) if found else ""


@attrs.frozen
class Desk:
    """王经理's team: 张三's customer 青岛金智 with a contact and an opportunity, 李小明's
    customer 上海四通."""

    app: Flask
    crm: crmkit.CRM
    users: dict[str, crmkit.User]
    mine: crmkit.Customer
    theirs: crmkit.Customer
    contact: crmkit.Contact
    deal: crmkit.Opportunity

    def browser(self, who: str) -> Browser:
        browser = Browser(self.app.test_client())
        assert browser.login(self.users[who].login, PASSWORDS[who]).status_code == 302
        return browser

    def activities(self) -> list[crmkit.Activity]:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            return list(s.activities.list(limit=100).items)

    def tasks(self) -> list[crmkit.Task]:
        with self.crm.session(actor=crmkit.SYSTEM) as s:
            return list(s.tasks.list(limit=100).items)

    def record(self, who: str, customer: crmkit.Customer, **fields: Any) -> crmkit.Activity:
        fields.setdefault("kind", "call")
        fields.setdefault("content", "电话沟通")
        with self.crm.session(actor=self.users[who]) as s:
            made: crmkit.Activity = s.activities.create(customer_id=customer.id, **fields)
        return made


@pytest.fixture
def desk(app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User]) -> Desk:
    mine = make_customer(crm, users["zhang"])
    theirs = make_customer(crm, users["li"], name="上海四通贸易有限公司")
    with crm.session(actor=users["zhang"]) as s:
        contact = s.contacts.create(customer_id=mine.id, name="李四", title="采购经理")
        deal = s.opportunities.create(customer_id=mine.id, title="门禁改造", amount="120000")
    return Desk(app, crm, users, mine, theirs, contact, deal)


def activity_form(**fields: str) -> dict[str, str]:
    form = {
        "customer_id": "", "kind": "call", "at": "", "contact_id": "", "opportunity_id": "",
        "content": "", "next_follow_up": "",
    }  # fmt: skip
    form.update(fields)
    return form


def task_form(**fields: str) -> dict[str, str]:
    form = {
        "title": "", "owner_id": "", "customer_id": "", "due_at": "", "remind_days": "",
        "description": "",
    }  # fmt: skip
    form.update(fields)
    return form


# -- 联系记录 -----------------------------------------------------------------------------------
def test_an_activity_recorded_on_the_form_is_listed_by_its_labels(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    form = zhang.text(f"/activities/new/?customer_id={desk.mine.id}")
    assert "联系方式" in form and "联系时间" in form and "下次跟进日期" in form
    assert "拜访" in form and "电话" in form  # the kinds by label
    assert "李四（采购经理）" in form and "门禁改造" in form  # the customer's contact and deal
    assert f'value="{TODAY} 09:00"' in form  # the time starts as now, in the CRM's zone
    done = zhang.post(
        "/activities/new/",
        activity_form(
            customer_id=desk.mine.id,
            kind="visit",
            at=f"{TODAY} 08:30",
            contact_id=desk.contact.id,
            opportunity_id=desk.deal.id,
            content="上门演示智能门锁，客户要报价",
            next_follow_up="2026-01-03",
        ),
    )
    assert done.status_code == 302
    (made,) = desk.activities()
    assert made.kind is crmkit.ActivityKind.VISIT and made.contact_id == desk.contact.id
    assert made.owner_id == desk.users["zhang"].id
    assert crmkit.display.local_time(made.at) == f"{TODAY} 08:30"
    rows = part(zhang.text("/activities/"), "model-list")
    assert f"{TODAY} 08:30 青岛金智电子科技有限公司 拜访 上门演示智能门锁" in rows
    assert "张三 2026-01-03（待跟进） 否" in rows
    assert "visit" not in rows and made.id not in rows
    page = zhang.text(f"/activities/details/?id={made.id}")
    details = part(page, "details")
    assert "联系人 李四" in details and "销售机会 门禁改造" in details
    assert 'id="open-customer"' in page and "待跟进" in part(page, "activity-actions", "</div>")
    # filters: the kind, the follow-up's state and the date range
    assert "青岛金智" in part(zhang.text("/activities/?kind=visit"), "model-list")
    assert "青岛金智" not in part(zhang.text("/activities/?kind=call"), "model-list")
    assert "青岛金智" in part(zhang.text("/activities/?follow_up=waiting"), "model-list")
    assert "青岛金智" not in part(zhang.text("/activities/?follow_up=due"), "model-list")
    assert "青岛金智" in part(zhang.text(f"/activities/?at_from={TODAY}"), "model-list")
    assert "青岛金智" in part(zhang.text(f"/activities/?at_to={TODAY}"), "model-list")
    later = zhang.text("/activities/?at_from=2026-01-02")
    assert "青岛金智" not in part(later, "model-list")
    wrong = zhang.text("/activities/?at_from=明天")
    assert "“明天”不是日期" in flashes(wrong)


def test_an_edited_activity_keeps_its_customer(desk: Desk) -> None:
    made = desk.record("zhang", desk.mine, content="电话", at=f"{TODAY} 08:00")
    zhang = desk.browser("zhang")
    form = zhang.text(f"/activities/edit/?id={made.id}")
    assert f'value="{TODAY} 08:00"' in form  # the time as it was typed, to the minute
    assert re.search(
        r'<select[^>]*disabled[^>]*id="customer_id"|id="customer_id"[^>]*disabled', form
    )
    fields = activity_form(
        at=f"{TODAY} 08:00", content="电话：客户确认需求", kind="call", version=str(made.version)
    )
    assert zhang.post(f"/activities/edit/?id={made.id}", fields).status_code == 302
    (after,) = desk.activities()
    assert after.content == "电话：客户确认需求" and after.customer_id == desk.mine.id
    assert after.at == made.at


@pytest.mark.parametrize(
    ("lang", "summary", "content", "at", "contact"),
    [
        ("zh", "个字段有误", "必填", "不是有效的日期时间", "不属于该客户"),
        ("en", "field(s) are invalid", "required", "is not a valid date and time",
         "is not the customer's"),
    ],
)  # fmt: skip
def test_a_refused_activity_shows_every_error_beside_its_field_and_writes_nothing(
    desk: Desk, lang: str, summary: str, content: str, at: str, contact: str
) -> None:
    with desk.crm.session(actor=desk.users["li"]) as s:
        other = s.contacts.create(customer_id=desk.theirs.id, name="王五")
    zhang = desk.browser("zhang")
    if lang == "en":
        zhang.post("/language", {"lang": "en"})
    page = zhang.post(
        "/activities/new/",
        activity_form(
            customer_id=desk.mine.id,
            at="明天下午",
            contact_id=other.id,
            content="",
            next_follow_up="2026-02-30",
        ),
    ).get_data(as_text=True)
    assert summary in flashes(page)
    assert content in error_near(page, "content")
    assert at in error_near(page, "at")
    assert contact in error_near(page, "contact_id")
    assert error_near(page, "next_follow_up")  # 不是有效的日期 / is not a valid date
    assert 'value="明天下午"' in page  # what was typed stays
    assert desk.activities() == []


def test_the_customer_page_has_the_timeline_and_records_a_contact(desk: Desk) -> None:
    desk.record("zhang", desk.mine, kind="email", content="发送产品资料", at=f"{TODAY} 08:00")
    zhang = desk.browser("zhang")
    page = zhang.text(f"/customers/details/?id={desk.mine.id}")
    assert 'id="record-activity"' in page and "记录联系" in page
    assert "邮件" in part(page, "activity-timeline", "</ol>")
    done = zhang.post(
        "/customers/activity/",
        {
            "customer_id": desk.mine.id,
            "kind": "visit",
            "contact_id": desk.contact.id,
            "content": "上门拜访，客户同意试用",
            "next_follow_up": "2026-01-05",
        },
    )
    assert done.status_code == 302 and done.location.endswith("#timeline")
    page = zhang.text(f"/customers/details/?id={desk.mine.id}")
    timeline = part(page, "activity-timeline", "</ol>")
    assert timeline.index("上门拜访") < timeline.index("发送产品资料")  # the newest first
    assert "拜访 2026-01-01 09:00 张三 联系人：李四" in timeline
    assert "下次跟进日期：2026-01-05 待跟进" in timeline
    assert "已记录" in flashes(page)
    # a refusal stays on the page with its messages and the input; nothing is written
    before = len(desk.activities())
    refused = zhang.post(
        "/customers/activity/",
        {"customer_id": desk.mine.id, "kind": "call", "content": " ", "at": "昨天"},
    ).get_data(as_text=True)
    assert "必填" in error_near(refused, "activity-content")
    assert "不是有效的日期时间" in error_near(refused, "activity-at")
    assert 'value="昨天"' in refused and 'id="activity-timeline"' in refused
    assert len(desk.activities()) == before


def test_another_salesperson_sees_none_of_it(desk: Desk, clock: ManualClock) -> None:
    made = desk.record("zhang", desk.mine, next_follow_up=TODAY)
    with desk.crm.session(actor=desk.users["zhang"]) as s:
        task = s.tasks.create(title="给金智送样品", due_at=f"{TODAY} 08:00")
    li = desk.browser("li")
    assert "青岛金智" not in part(li.text("/activities/"), "model-list")
    assert li.get(f"/activities/details/?id={made.id}").status_code == 404
    assert li.get(f"/tasks/details/?id={task.id}").status_code == 404
    assert "给金智送样品" not in li.text("/tasks/")
    home = li.text("/")
    assert "青岛金智" not in part(home, "due-follow-ups") and 'id="no-due"' in home
    assert "给金智送样品" not in part(home, "task-reminders")
    posing = {"customer_id": desk.mine.id, "kind": "call", "content": "冒充跟进"}
    assert li.post("/customers/activity/", posing).status_code == 404  # not a customer of theirs
    assert len(desk.activities()) == 1
    boss = desk.browser("boss")  # the manager sees the team's
    assert "青岛金智" in part(boss.text("/activities/"), "model-list")
    assert "青岛金智" in part(boss.text("/"), "due-follow-ups")


# -- 待办 -------------------------------------------------------------------------------------
def test_a_manager_assigns_a_task_with_an_sms_reminder(desk: Desk) -> None:
    boss = desk.browser("boss")
    form = boss.text("/tasks/new/")
    assert "执行人" in form and "截止时间" in form and "提前提醒天数" in form and "短信提醒" in form
    done = boss.post(
        "/tasks/new/",
        task_form(
            title="给金智电子送样品",
            owner_id=desk.users["zhang"].id,
            customer_id=desk.mine.id,
            due_at="2026-01-03 15:00",
            remind_days="1",
            remind_sms="y",
        ),
    )
    assert done.status_code == 302
    (task,) = desk.tasks()
    assert task.owner_id == desk.users["zhang"].id and task.watchers == (desk.users["boss"].id,)
    assert task.remind_sms and crmkit.display.local_time(task.remind_at) == "2026-01-02 15:00"
    page = boss.text(f"/tasks/details/?id={task.id}")
    history = part(page, "history")
    assert "主题: ∅ → 给金智电子送样品" in history and "分派人: ∅ → 王经理" in history
    assert task.watchers[0] not in history  # people by name, never by id
    rows = part(boss.text("/tasks/?view=assigned"), "model-list")
    assert "给金智电子送样品 2026-01-03 15:00 待办 张三 青岛金智电子科技有限公司 王经理" in rows
    assert "给金智电子送样品" not in part(boss.text("/tasks/?view=mine"), "model-list")
    assert "给金智电子送样品" in part(boss.text("/tasks/?view=team"), "model-list")
    zhang = desk.browser("zhang")
    mine = zhang.text("/tasks/?view=mine")
    assert "给金智电子送样品" in part(mine, "model-list")
    assert 'id="task-tab-team"' not in mine  # a salesperson has no team tab
    assert "给金智电子送样品" not in part(zhang.text("/tasks/?view=assigned"), "model-list")
    assert "给金智电子送样品" not in desk.browser("li").text("/tasks/")


def test_a_refused_task_shows_its_errors_and_writes_nothing(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    page = zhang.post(
        "/tasks/new/", task_form(title="", due_at="下周", remind_days="400")
    ).get_data(as_text=True)
    assert "必填" in error_near(page, "title")
    assert "不是有效的日期时间" in error_near(page, "due_at")
    assert desk.tasks() == []
    page = zhang.post(
        "/tasks/new/", task_form(title="回访", due_at="2026-01-05 10:00", remind_days="400")
    ).get_data(as_text=True)
    assert "须在 0 到 365 之间" in error_near(page, "remind_days")
    assert desk.tasks() == []


def test_a_task_is_done_reopened_and_cancelled_for_a_reason(desk: Desk) -> None:
    with desk.crm.session(actor=desk.users["zhang"]) as s:
        task = s.tasks.create(title="写拜访报告", due_at="2026-01-02 18:00")
    zhang = desk.browser("zhang")
    page = zhang.text(f"/tasks/details/?id={task.id}")
    assert 'id="task-done"' in page and 'id="task-cancel-form"' in page
    assert 'data-confirm="确定取消待办“写拜访报告”吗？"' in page
    assert 'id="task-reopen"' not in page
    zhang.post("/tasks/done/", {"id": task.id, "version": str(task.version)})
    (done,) = desk.tasks()
    assert done.status is crmkit.TaskStatus.DONE
    page = zhang.text(f"/tasks/details/?id={task.id}")
    assert "已完成" in part(page, "details") and 'id="task-reopen"' in page
    again = zhang.post("/tasks/done/", {"id": task.id, "name": "写拜访报告"})
    assert "该待办已完成或已取消" in flashes(zhang.text(again.location))
    zhang.post("/tasks/reopen/", {"id": task.id})
    assert desk.tasks()[0].status is crmkit.TaskStatus.OPEN
    refused = zhang.post("/tasks/cancel/", {"id": task.id, "reason": " "}).get_data(as_text=True)
    assert "必填" in error_near(refused, "cancel-reason")
    assert desk.tasks()[0].status is crmkit.TaskStatus.OPEN
    zhang.post("/tasks/cancel/", {"id": task.id, "reason": "客户改期"})
    (cancelled,) = desk.tasks()
    assert cancelled.status is crmkit.TaskStatus.CANCELLED and cancelled.cancel_reason == "客户改期"
    assert "已取消" in part(zhang.text("/tasks/"), "model-list")


def test_the_calendar_lays_out_the_month_by_day(desk: Desk) -> None:
    with desk.crm.session(actor=desk.users["boss"]) as s:
        s.tasks.create(title="月初例会", due_at="2026-01-05 09:30")
        s.tasks.create(title="送样品", due_at="2026-01-20 14:00", owner_id=desk.users["zhang"].id)
        s.tasks.create(title="下月计划", due_at="2026-02-02 10:00")
    boss = desk.browser("boss")
    page = boss.text("/tasks/calendar/")
    assert "2026年1月" in part(page, "calendar-title", "</h4>")
    grid = page[page.index('id="task-calendar"') :]
    monday = grid[grid.index('data-day="2026-01-05"') :]
    assert "09:30 月初例会" in text_of(monday[: monday.index("</td>")])
    the_20th = grid[grid.index('data-day="2026-01-20"') :]
    assert "14:00 送样品 · 张三" in text_of(the_20th[: the_20th.index("</td>")])
    assert "周一" in part(page, "task-calendar") and "下月计划" not in grid
    assert "2 " in part(page, "calendar-total", "</span>")
    assert 'href="/tasks/calendar/?month=2026-02"' in page
    february = boss.text("/tasks/calendar/?month=2026-02")
    assert "下月计划" in february and "月初例会" not in february
    assert "送样品" in boss.text("/tasks/calendar/?month=2026-01&view=assigned")
    assert "月初例会" not in boss.text("/tasks/calendar/?month=2026-01&view=assigned")
    assert "不是有效的月份" in flashes(boss.text("/tasks/calendar/?month=下个月"))


# -- 工作台 and 跟进统计 --------------------------------------------------------------------------
def test_the_workbench_shows_follow_ups_due_and_tasks_reminding(
    desk: Desk, clock: ManualClock
) -> None:
    desk.record("zhang", desk.mine, content="报价已发", next_follow_up="2026-01-02")
    desk.record("zhang", desk.mine, content="催回款", next_follow_up="2026-01-05")
    with desk.crm.session(actor=desk.users["boss"]) as s:
        late = s.tasks.create(
            title="回访金智", due_at="2026-01-03 10:00", owner_id=desk.users["zhang"].id
        )
        s.tasks.create(
            title="准备合同", due_at="2026-01-06 10:00", owner_id=desk.users["zhang"].id,
            remind_days=2,
        )  # fmt: skip
        s.tasks.create(title="月底盘点", due_at="2026-01-30 10:00", owner_id=desk.users["zhang"].id)
    clock.advance(timedelta(days=3, hours=12))  # 2026-01-04 21:00
    zhang = desk.browser("zhang")
    home = zhang.text("/")
    due = part(home, "due-follow-ups")
    # the second activity closed the first follow-up: the one due on the 5th is not yet due
    assert "青岛金智" not in due and 'id="no-due"' in home
    desk.record("zhang", desk.mine, content="电话未接通",
                next_follow_up="2026-01-03", at="2026-01-02 10:00")  # fmt: skip
    home = zhang.text("/")
    due = part(home, "due-follow-ups")
    assert (
        "青岛金智电子科技有限公司 2026-01-03 （逾期 1 天） 电话 2026-01-02 10:00 电话未接通 张三"
        in due
    )
    reminders = part(home, "task-reminders")
    assert "回访金智 2026-01-03 10:00 （逾期）" in reminders
    assert "准备合同 2026-01-06 10:00 （即将到期）" in reminders
    assert "月底盘点" not in reminders
    done = zhang.post("/tasks/done/", {"id": late.id, "next": "/"})
    assert done.location == "/"
    assert "回访金智" not in part(zhang.text("/"), "task-reminders")
    assert 'href="/activities/?follow_up=due"' in home


def test_follow_up_statistics_count_by_salesperson_and_rank_customers(desk: Desk) -> None:
    for kind in ("call", "visit", "call"):
        desk.record("zhang", desk.mine, kind=kind)
    desk.record("li", desk.theirs, kind="email")
    boss = desk.browser("boss")
    page = boss.text("/follow-up-statistics/")
    assert "张三 3" in part(page, "chart-follow-up-owners")
    assert "李小明 1" in part(page, "chart-follow-up-owners")
    ranked = part(page, "chart-follow-up-customers")
    assert ranked.index("青岛金智电子科技有限公司 3") < ranked.index("上海四通贸易有限公司 1")
    assert "电话 2" in part(page, "chart-follow-up-kinds")
    assert "2026-01 4" in part(page, "chart-follow-up-months")
    assert "跟进统计" in page
    empty = boss.text("/follow-up-statistics/?start=2026-02-01&end=2026-02-28")
    assert "所选期间没有联系记录" in part(empty, "chart-follow-up-owners", "</small>")
    assert "“下月”不是日期" in flashes(boss.text("/follow-up-statistics/?start=下月"))
    li = desk.browser("li")
    assert "青岛金智" not in li.text("/follow-up-statistics/")


def test_the_follow_up_screens_in_english(desk: Desk) -> None:
    made = desk.record("zhang", desk.mine, kind="visit", next_follow_up=TODAY)
    with desk.crm.session(actor=desk.users["zhang"]) as s:
        task = s.tasks.create(title="写周报", due_at=f"{TODAY} 08:00")
    zhang = desk.browser("zhang")
    zhang.post("/language", {"lang": "en"})
    rows = part(zhang.text("/activities/"), "model-list")
    assert "Visit" in rows and "(Due today)" in rows
    page = zhang.text(f"/activities/details/?id={made.id}")
    assert "Contact type" in page and "Contacted by" in page
    customer = zhang.text(f"/customers/details/?id={desk.mine.id}")
    assert "Follow-up timeline" in customer and "Record a contact" in customer
    assert "Visit" in part(customer, "activity-timeline", "</ol>")
    home = zhang.text("/")
    assert "Workbench" in home and "Follow-ups due today and overdue" in home
    assert "(Due today)" not in part(home, "due-follow-ups") and "(Today)" in part(
        home, "due-follow-ups"
    )
    assert "(Overdue)" in part(home, "task-reminders")
    tasks = zhang.text("/tasks/")
    assert (
        "My tasks" in tasks and "Assigned by me" in tasks and "To do" in part(tasks, "model-list")
    )
    assert "Mark done" in zhang.text(f"/tasks/details/?id={task.id}")
    calendar = zhang.text("/tasks/calendar/")
    assert "January 2026" in calendar and "Mon" in part(calendar, "task-calendar")
    stats = zhang.text("/follow-up-statistics/")
    assert "Follow-ups by salesperson" in stats and "Customers by contacts made" in stats
    assert "Follow-up" in stats and "Calendar" in stats  # the menu


def test_a_deleted_activity_and_task_wait_in_the_recycle_bin(desk: Desk) -> None:
    made = desk.record("zhang", desk.mine, kind="visit", at=f"{TODAY} 08:00")
    with desk.crm.session(actor=desk.users["zhang"]) as s:
        task = s.tasks.create(title="写周报", due_at=f"{TODAY} 18:00")
    zhang = desk.browser("zhang")
    listed = zhang.text("/activities/")
    assert (
        'data-confirm="确定将“青岛金智电子科技有限公司 拜访 2026-01-01 08:00”移到回收站吗？"'
        in listed
    )
    zhang.post("/activities/delete/", {"id": made.id, "url": "/activities/"})
    zhang.post("/tasks/delete/", {"id": task.id, "url": "/tasks/"})
    assert desk.activities() == [] and desk.tasks() == []
    binned = part(zhang.text("/recycle/?kind=activities"), "recycle-bin")
    assert "青岛金智电子科技有限公司 拜访 2026-01-01 08:00 张三" in binned
    assert "写周报 张三" in part(zhang.text("/recycle/?kind=tasks"), "recycle-bin")
    back = zhang.post("/recycle/restore/", {"kind": "activities", "id": made.id})
    assert "“拜访 2026-01-01 08:00”已恢复" in flashes(zhang.text(back.location))
    zhang.post("/recycle/restore/", {"kind": "tasks", "id": task.id})
    assert len(desk.activities()) == 1 and len(desk.tasks()) == 1
