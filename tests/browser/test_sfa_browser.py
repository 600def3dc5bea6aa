"""SFA and the 短信中心 in a real Chromium, on the demo's data: the admin makes a plan of two
steps in the editor (the second row added in place, each row offering its action's
templates), enrols a customer from its page, pauses the enrolment and resumes it sending
what fell due meanwhile; 张三 writes a long SMS and the live preview counts two segments
before he sends it."""

from __future__ import annotations

import os
from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in
from tests.browser.test_admin_browser import SCREENSHOTS

pytestmark = pytest.mark.browser
SAVE = os.environ.get("CRMKIT_SCREENSHOTS") == "1"


def unenrolled_customer(crm: crmkit.CRM) -> crmkit.Customer:
    """A customer of 陈静's, whom the demo enrols in no plan."""
    with crm.session(actor=crmkit.SYSTEM) as s:
        chen = s.users.get_by_login("chenjing")
        for customer in s.customers.list(owner_id=chen.id, limit=50).items:
            if not s.sfa.enrolments(customer_id=customer.id).items:
                return customer
    raise AssertionError("the demo has no customer outside every plan")


def test_a_plan_made_in_the_editor_runs_for_a_customer_paused_and_resumed(
    page: Any, live: dict[str, Any]
) -> None:
    base, crm = live["url"], live["crm"]
    customer = unenrolled_customer(crm)
    log_in(page, base)
    page.goto(f"{base}/sfa_plans/new/")
    page.fill("#plan-name", "浏览器测试关怀方案")
    first = page.locator("#step-rows tr.step-row").nth(0)
    first.locator(".step-action").select_option("sms")
    # an SMS step offers SMS templates only (sfa_plan_form.js)
    assert first.locator('.step-template option[data-channel="email"]').first.is_disabled()
    first.locator(".step-template").select_option("care")
    page.click("#add-step")
    second = page.locator("#step-rows tr.step-row").nth(1)
    assert "步骤 2" in second.inner_text()
    second.locator(".step-action").select_option("task")
    assert not second.locator(".step-template").is_visible()  # a task has a title instead
    second.locator(".step-unit").select_option("workdays")
    second.locator(".step-offset").fill("2")
    second.locator(".step-title").fill("浏览器测试回访")
    page.click("#save-plan")
    page.wait_for_selector(".alert-success")
    assert "方案“浏览器测试关怀方案”已保存" in page.inner_text(".alert-success")
    steps = page.inner_text("#plan-steps")
    assert "发送短信：安装回访关怀" in steps and "开始后 2 个工作日 09:00" in steps
    assert "手动事务：浏览器测试回访" in steps

    page.goto(f"{base}/customers/details/?id={customer.id}")
    page.select_option("#sfa-enrol-plan", label="浏览器测试关怀方案")
    page.click("#sfa-enrol-submit")
    page.wait_for_selector(".alert-success")
    assert "已为 1 位客户启用方案" in page.inner_text(".alert-success")
    row = page.locator("#customer-enrolments tr", has_text="浏览器测试关怀方案")
    assert "执行中" in row.inner_text() and "步骤 1 · 发送短信" in row.inner_text()
    row.locator("a").click()
    page.wait_for_selector("#enrolment-actions")
    page.click("#enrolment-pause")
    page.wait_for_selector(".alert-success")
    assert "已暂停" in page.inner_text("#details .detail-status")
    page.check("#resume-send")  # 补发暂停期间的步骤
    page.click("#enrolment-resume")
    page.wait_for_selector(".alert-success")
    assert "已继续：暂停期间的步骤现在补发" in page.inner_text(".alert-success")
    assert "执行中" in page.inner_text("#details .detail-status")
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "sfa-enrolment.png"), full_page=True)
    with crm.session(actor=crmkit.SYSTEM) as s:
        (enrolment,) = s.sfa.enrolments(customer_id=customer.id).items
    assert enrolment.status is crmkit.EnrolmentStatus.ACTIVE and enrolment.paused_at is None


def test_the_sms_preview_counts_segments_before_sending(page: Any, live: dict[str, Any]) -> None:
    base, crm, zhang = live["url"], live["crm"], live["zhang"]
    with crm.session(actor=zhang) as s:
        customer = next(c for c in s.customers.list(owner_id=zhang.id, limit=50).items if c.mobile)
    log_in(page, base, "zhangsan")
    page.goto(f"{base}/sms/?customer_id={customer.id}")
    assert "未填手机号时发到" in page.inner_text("#sms-form")
    text = "您好，本周智能门锁到店体验活动开始了，指纹款和人脸识别款都可以现场试用，" * 2
    page.fill("#sms-text", text)
    # the page's CSP forbids eval, so wait for the element itself, not a predicate
    page.wait_for_selector("#sms-preview-summary[data-segments='2']")
    assert "计 2 条短信" in page.inner_text("#sms-preview-summary")
    assert page.inner_text("#sms-preview-text").startswith("【crmkit】您好，本周智能门锁")
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "sms-compose.png"), full_page=True)
    page.click("#sms-send")
    page.wait_for_selector(".alert-success")
    assert "的短信已提交发送" in page.inner_text(".alert-success")
    with crm.session(actor=zhang) as s:
        latest = s.messages.for_customer(customer.id, limit=1)[0]
    assert latest.text.endswith(text.strip()) and latest.sent_by == zhang.id
