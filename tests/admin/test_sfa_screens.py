"""SFA in the admin: SFA方案 (the list, the editor with its step table, 启用 / 停用) and SFA执行序列
(the list, an enrolment's page and its moves, 启用SFA方案 from a customer's page or by
filter, 中途启用), and the 待SFA手动事务 on the 工作台 — every value by its label, every
refusal beside its field with nothing written, plans kept by managers and admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import crmkit
from crmkit.testing import ManualClock
from tests.admin.messaging_desk import Desk, error_near, field_errors, open_desk
from tests.admin.pages import flashes, part, text_of


@pytest.fixture
def desk(tmp_path: Path, clock: ManualClock) -> Iterator[Desk]:
    yield from open_desk(tmp_path, clock)


def plan_form(*steps: dict[str, str], **fields: str) -> dict[str, Any]:
    """The editor's fields, each step a row of the table (its columns as parallel lists)."""
    form: dict[str, Any] = {"name": "", "kind": "periodic", "cycle_days": "", "rounds": "",
                            "description": "", "version": ""}  # fmt: skip
    form.update(fields)
    columns = ("action", "unit", "offset", "on", "at", "template", "title")
    for column in columns:
        form[f"step_{column}"] = [step.get(column, "") for step in steps]
    return form


def step_rows(page: str) -> int:
    """How many step rows the editor shows (its row template left out)."""
    return len(re.findall(r'class="step-row" data-index="\d+"', page))


def sms_step(**fields: str) -> dict[str, str]:
    return {"action": "sms", "unit": "days", "offset": "0", "at": "10:00", "template": "welcome",
            **fields}  # fmt: skip


def task_step(**fields: str) -> dict[str, str]:
    return {"action": "task", "unit": "workdays", "offset": "2", "at": "10:00",
            "title": "电话回访", **fields}  # fmt: skip


# -- SFA方案 -----------------------------------------------------------------------------------
def test_plans_are_listed_by_their_labels(desk: Desk) -> None:
    boss = desk.browser("boss")
    page = boss.text("/sfa_plans/")
    table = part(page, "model-list")
    assert "新客户关怀" in table and "定期" in table and "2 个步骤" in table
    assert "方案名称" in table and "方案类型" in table and "步骤" in table
    assert 'id="create-link"' in page
    details = boss.text(f"/sfa_plans/details/?id={desk.plan.id}")
    steps = part(details, "plan-steps")
    assert "开始当天 10:00" in steps and "发送短信：欢迎短信" in steps
    assert "开始后 2 个工作日 10:00" in steps and "手动事务：电话回访" in steps
    assert 'id="plan-disable"' in details and 'id="plan-enrol"' in details


def test_a_salesperson_reads_plans_but_cannot_make_or_change_them(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    page = zhang.text("/sfa_plans/")
    assert "新客户关怀" in page and 'id="create-link"' not in page
    details = zhang.text(f"/sfa_plans/details/?id={desk.plan.id}")
    assert 'id="plan-disable"' not in details and 'id="plan-enrol"' in details
    assert zhang.get("/sfa_plans/new/").status_code == 403
    assert zhang.get(f"/sfa_plans/edit/?id={desk.plan.id}").status_code == 403
    refused = zhang.post("/sfa_plans/new/", plan_form(sms_step(), name="偷偷加的方案"))
    assert refused.status_code == 403
    zhang.post("/sfa_plans/disable/", {"id": desk.plan.id, "name": "新客户关怀"})
    assert [p.name for p in desk.plans()] == ["新客户关怀"]
    assert desk.plans()[0].enabled


def test_a_plan_made_in_the_editor_is_saved_with_its_steps(desk: Desk) -> None:
    boss = desk.browser("boss")
    form = boss.text("/sfa_plans/new/")
    assert "执行动作" in form and "计算方式" in form and "间隔天数" in form and "事务标题" in form
    assert "发送短信" in form and "工作日" in form and "生日" in form  # the choices by label
    assert 'data-channel="email"' in form and "报价邮件（邮件）" in form
    saved = boss.post(
        "/sfa_plans/new/",
        plan_form(
            sms_step(template="care"),
            task_step(offset="3", title="上门回访"),
            {"action": "email", "unit": "date", "on": "春节", "offset": "-1", "at": "09:30",
             "template": "quote"},
            name="老客户维护", marketing="1",
        ),
    )  # fmt: skip
    assert saved.status_code == 302
    made = next(p for p in desk.plans() if p.name == "老客户维护")
    assert made.marketing and made.kind is crmkit.PlanKind.PERIODIC
    assert [(s.action.value, s.unit.value, s.offset) for s in made.steps] == [
        ("sms", "days", 0),
        ("task", "workdays", 3),
        ("email", "date", -1),
    ]
    assert made.steps[2].on == "春节" and made.steps[1].title == "上门回访"
    page = boss.text(saved.location)
    assert "方案“老客户维护”已保存" in flashes(page)
    assert "春节前 1 天 09:30" in part(page, "plan-steps")


def test_each_wrong_step_field_is_shown_in_chinese_beside_its_cell(desk: Desk) -> None:
    boss = desk.browser("boss")
    form = plan_form(sms_step(template=""), task_step(offset="三天", title=""), name="坏方案")
    page = boss.post("/sfa_plans/new/", form).get_data(as_text=True)
    said = flashes(page)
    assert "方案未保存" in said
    assert "步骤 1 · 模板：必填" in said
    assert "步骤 2 · 间隔天数：不是整数天数" in said
    assert "步骤 2 · 事务标题：必填" in said
    rows = page[page.index('id="step-rows"') : page.index("</tbody>", page.index('id="step-rows"'))]
    first, second = rows.split('class="step-row"')[1:3]
    assert field_errors(first) == ["必填"]
    assert field_errors(second) == ["不是整数天数", "必填"]
    assert 'value="三天"' in second  # what was typed stays
    assert [p.name for p in desk.plans()] == ["新客户关怀"]  # nothing written


def test_the_step_errors_read_in_english_too(desk: Desk) -> None:
    boss = desk.browser("boss")
    boss.post("/language", {"lang": "en"})
    page = boss.post("/sfa_plans/new/", plan_form(task_step(offset="x"), name="Bad")).get_data(
        as_text=True
    )
    assert "step 1 · offset (days): is not a whole number of days" in flashes(page)


def test_a_cyclic_plan_needs_its_cycle(desk: Desk) -> None:
    boss = desk.browser("boss")
    page = boss.post("/sfa_plans/new/", plan_form(sms_step(), name="循环关怀", kind="cyclic"))
    text = page.get_data(as_text=True)
    assert error_near(text, "plan-cycle_days") == "必填"
    assert [p.name for p in desk.plans()] == ["新客户关怀"]


def test_rows_are_added_and_removed_without_scripts_and_nothing_is_saved(desk: Desk) -> None:
    boss = desk.browser("boss")
    added = boss.post("/sfa_plans/new/", {**plan_form(sms_step(), name="草稿"), "add_step": "1"})
    page = added.get_data(as_text=True)
    assert step_rows(page) == 2 and "步骤 2" in page
    assert 'value="草稿"' in page
    removed = boss.post(
        "/sfa_plans/new/",
        {**plan_form(sms_step(), task_step(title="保留这一步"), name="草稿"), "remove_step": "0"},
    )
    page = removed.get_data(as_text=True)
    assert step_rows(page) == 1 and 'value="保留这一步"' in page
    assert [p.name for p in desk.plans()] == ["新客户关怀"]


def test_a_plan_is_edited_and_a_stale_form_is_refused(desk: Desk) -> None:
    boss = desk.browser("boss")
    form = boss.text(f"/sfa_plans/edit/?id={desk.plan.id}")
    assert 'value="新客户关怀"' in form and 'value="电话回访"' in form
    assert step_rows(form) == 2
    url = f"/sfa_plans/edit/?id={desk.plan.id}"
    changed = plan_form(sms_step(), task_step(offset="4"), name="新客户关怀", version="1")
    assert boss.post(url, changed).status_code == 302
    (plan,) = desk.plans()
    assert plan.steps[1].offset == 4 and plan.version == 2
    stale = boss.post(url, plan_form(sms_step(), name="改名", version="1"))
    assert stale.status_code == 200 and desk.plans()[0].name == "新客户关怀"


def test_a_plan_is_disabled_and_enabled_again(desk: Desk) -> None:
    admin = desk.browser("admin")
    done = admin.post("/sfa_plans/disable/", {"id": desk.plan.id, "name": "新客户关怀"})
    page = admin.text(done.location)
    assert "方案已停用" in flashes(page) and 'id="plan-enable"' in page
    assert not desk.plans()[0].enabled
    assert "否" in part(admin.text("/sfa_plans/"), "model-list")
    admin.post("/sfa_plans/enable/", {"id": desk.plan.id, "name": "新客户关怀"})
    assert desk.plans()[0].enabled


# -- SFA执行序列 ---------------------------------------------------------------------------------
def test_a_customer_is_enrolled_from_its_page(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    page = zhang.text(f"/customers/details/?id={desk.mine.id}")
    assert 'id="go-enrol"' in page
    assert "未启用任何SFA方案" in part(page, "customer-enrolments")
    assert "新客户关怀" in part(page, "sfa-enrol", "</form>")
    done = zhang.post(
        "/sfa_enrolments/enrol/",
        {"plan_id": desk.plan.id, "customer_ids": desk.mine.id, "anchor": "", "start_step": "",
         "next": f"/customers/details/?id={desk.mine.id}#sfa"},
    )  # fmt: skip
    assert done.status_code == 302 and done.location.endswith("#sfa")
    page = zhang.text(f"/customers/details/?id={desk.mine.id}")
    assert "已为 1 位客户启用方案" in flashes(page)
    row = part(page, "customer-enrolments")
    assert "新客户关怀" in row and "执行中" in row and "步骤 1 · 发送短信" in row
    assert "2026-01-01 10:00" in row
    (enrolment,) = desk.enrolments()
    assert enrolment.customer_id == desk.mine.id and enrolment.created_by == desk.users["zhang"].id


def test_enrolling_again_and_refusals_are_reported(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    desk.enrol("zhang", desk.mine)
    again = zhang.post(
        "/sfa_enrolments/enrol/", {"plan_id": desk.plan.id, "customer_ids": desk.mine.id}
    )
    assert "1 位客户已在该方案中" in flashes(zhang.text(again.location))
    nobody = zhang.post("/sfa_enrolments/enrol/", {"plan_id": desk.plan.id})
    page = nobody.get_data(as_text=True)
    assert error_near(page, "enrol-customer_ids") == "请选择客户或筛选条件"
    step = zhang.post(
        "/sfa_enrolments/enrol/",
        {"plan_id": desk.plan.id, "customer_ids": desk.mine.id, "start_step": "9"},
    )
    assert error_near(step.get_data(as_text=True), "enrol-start_step")  # crmkit's range
    typed = zhang.post(
        "/sfa_enrolments/enrol/",
        {"plan_id": desk.plan.id, "customer_ids": desk.mine.id, "anchor": "上周"},
    )
    assert error_near(typed.get_data(as_text=True), "enrol-anchor")
    assert len(desk.enrolments()) == 1


def test_customers_are_enrolled_by_salesperson_and_region_and_mid_way(desk: Desk) -> None:
    boss = desk.browser("boss")
    form = boss.text(f"/sfa_enrolments/enrol/?plan_id={desk.plan.id}")
    assert "张三" in part(form, "enrol-owner_id", "</select>")
    by_owner = boss.post(
        "/sfa_enrolments/enrol/",
        {"plan_id": desk.plan.id, "owner_id": desk.users["li"].id, "anchor": "2025-12-31"},
    )
    assert "已为 1 位客户启用方案" in flashes(boss.text(by_owner.location))
    (mid_way,) = desk.enrolments(customer_id=desk.theirs.id)
    # 中途启用: the SMS fell on 12-31, before now: the customer starts at the call
    assert mid_way.next_step == 1 and mid_way.executed == 0
    boss.post("/sfa_enrolments/enrol/", {"plan_id": desk.plan.id, "region": "山东省"})
    (by_region,) = desk.enrolments(customer_id=desk.mine.id)
    assert by_region.next_step == 0
    bad = boss.post("/sfa_enrolments/enrol/", {"plan_id": desk.plan.id, "region": "火星"})
    assert error_near(bad.get_data(as_text=True), "enrol-region")
    listed = boss.text(f"/sfa_enrolments/?plan_id={desk.plan.id}")
    table = part(listed, "enrolments")
    assert "青岛金智电子科技有限公司" in table and "上海四通贸易有限公司" in table
    assert "步骤 2 · 手动事务" in table and "2025-12-31" in table


def test_an_enrolment_is_paused_resumed_skipped_and_stopped(desk: Desk) -> None:
    enrolment = desk.enrol("zhang", desk.mine)
    zhang = desk.browser("zhang")
    url = f"/sfa_enrolments/details/?id={enrolment.id}"
    page = zhang.text(url)
    assert "执行中" in part(page, "details") and "还没有执行任何步骤" in page
    zhang.post("/sfa_enrolments/pause/", {"id": enrolment.id})
    page = zhang.text(url)
    assert "已暂停" in part(page, "details") and "已暂停：继续之前不会执行任何步骤" in flashes(page)
    assert "跳过暂停期间的步骤" in page and "补发暂停期间的步骤" in page
    desk.clock.advance(timedelta(hours=3))  # the SMS fell due while paused
    desk.crm.run_due()
    zhang = desk.browser("zhang")  # a new login: the last one timed out meanwhile
    zhang.post("/sfa_enrolments/resume/", {"id": enrolment.id, "missed": "skip"})
    page = zhang.text(url)
    assert "已继续：跳过暂停期间的步骤" in flashes(page)
    runs = part(page, "runs")
    assert "步骤 1" in runs and "发送短信" in runs and "已错过" in runs
    assert "执行中" in part(page, "details") and "步骤 2 · 手动事务" in part(page, "details")
    zhang.post("/sfa_enrolments/skip/", {"id": enrolment.id})
    page = zhang.text(url)
    assert "已跳过" in part(page, "runs")
    assert "已完成" in part(page, "details")  # nothing after the last step
    assert 'id="enrolment-stop"' not in page
    assert not desk.messages()  # nothing was sent


def test_resuming_can_send_the_steps_due_while_paused(desk: Desk) -> None:
    enrolment = desk.enrol("zhang", desk.mine)
    zhang = desk.browser("zhang")
    zhang.post("/sfa_enrolments/pause/", {"id": enrolment.id})
    desk.clock.advance(timedelta(hours=3))
    zhang = desk.browser("zhang")
    zhang.post("/sfa_enrolments/resume/", {"id": enrolment.id, "missed": "send"})
    desk.crm.run_due()
    (sent,) = desk.messages()
    assert sent.source is crmkit.MessageSource.SFA and "欢迎选购智能门锁" in sent.text
    page = zhang.text(f"/sfa_enrolments/details/?id={enrolment.id}")
    assert "已发送" in part(page, "runs")
    zhang.post("/sfa_enrolments/stop/", {"id": enrolment.id})
    assert desk.enrolments()[0].status is crmkit.EnrolmentStatus.STOPPED


def test_a_step_is_executed_again_by_hand(desk: Desk) -> None:
    enrolment = desk.enrol("zhang", desk.mine)
    zhang = desk.browser("zhang")
    done = zhang.post("/sfa_enrolments/rerun/", {"id": enrolment.id, "step": "1"})
    assert "已重新执行步骤 1" in flashes(zhang.text(done.location))
    (sent,) = desk.messages()
    assert sent.customer_id == desk.mine.id
    bad = zhang.post("/sfa_enrolments/rerun/", {"id": enrolment.id, "step": "7"})
    assert "步骤" in flashes(zhang.text(bad.location))  # crmkit's range, naming the field
    assert len(desk.messages()) == 1


def test_why_a_run_failed_or_was_missed_is_said_in_the_readers_language(desk: Desk) -> None:
    missed = desk.enrol("zhang", desk.mine)
    failed = desk.enrol("li", desk.theirs)
    with desk.session("admin") as s:
        s.sfa.disable(desk.plan.id)
    desk.clock.advance(timedelta(hours=2))  # the SMS at 10:00 falls due, the plan stopped
    desk.crm.run_due()
    with desk.session("admin") as s:
        s.sfa.enable(desk.plan.id)
        welcome = s.messages.templates.by_code("welcome")
        assert welcome is not None
        s.messages.templates.delete(welcome.id, welcome.version)
    boss = desk.browser("boss")
    boss.post("/sfa_enrolments/rerun/", {"id": failed.id, "step": "1"})
    runs = part(boss.text(f"/sfa_enrolments/details/?id={missed.id}"), "runs")
    assert "原因" in runs and "已错过" in runs and "到期时方案已停用" in runs
    runs = part(boss.text(f"/sfa_enrolments/details/?id={failed.id}"), "runs")
    assert "模板不存在" in runs
    boss.post("/language", {"lang": "en"})
    runs = part(boss.text(f"/sfa_enrolments/details/?id={failed.id}"), "runs")
    assert "Why" in runs and "is not a template" in runs


def test_a_salesperson_sees_only_the_enrolments_of_their_customers(desk: Desk) -> None:
    theirs = desk.enrol("li", desk.theirs)
    mine = desk.enrol("zhang", desk.mine)
    zhang = desk.browser("zhang")
    table = part(zhang.text("/sfa_enrolments/"), "enrolments")
    assert "青岛金智电子科技有限公司" in table and "上海四通" not in table
    assert zhang.get(f"/sfa_enrolments/details/?id={theirs.id}").status_code == 404
    zhang.post("/sfa_enrolments/pause/", {"id": theirs.id})
    assert desk.enrolments(customer_id=desk.theirs.id)[0].status is crmkit.EnrolmentStatus.ACTIVE
    boss = desk.browser("boss")
    table = part(boss.text("/sfa_enrolments/?status=active"), "enrolments")
    assert "青岛金智" in table and "上海四通" in table
    assert mine.id in boss.text("/sfa_enrolments/")


def test_the_workbench_lists_the_manual_sfa_tasks(desk: Desk) -> None:
    desk.enrol("zhang", desk.mine)
    zhang = desk.browser("zhang")
    assert "没有待办的SFA手动事务" in part(zhang.text("/"), "sfa-tasks")
    desk.clock.advance(timedelta(days=6))  # past the second working day
    desk.crm.run_due()  # the SMS, which schedules the call
    desk.crm.run_due()  # the call: a manual task for 张三
    page = desk.browser("zhang").text("/")
    panel = part(page, "sfa-tasks")
    assert "待SFA手动事务" in text_of(page) and "电话回访" in panel
    assert "青岛金智电子科技有限公司" in panel and "张三" in panel
    with desk.session("zhang") as s:
        (task,) = s.sfa.pending_tasks()
    assert f"/tasks/details/?id={task.id}" in page
    assert 'id="sfa-task-count">1</span>' in page
