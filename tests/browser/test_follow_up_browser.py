"""跟进 in a real Chromium, on the demo's data: 张三 records a visit from a customer's page
(记录联系) and sees it at the top of the timeline; on the activity form the contacts follow the
customer chosen (activity_form.js); he completes one of his tasks and cancels another for a
reason, after the browser's confirmation."""

from __future__ import annotations

import os
from typing import Any

import pytest

import crmkit
from tests.browser.conftest import log_in
from tests.browser.test_admin_browser import SCREENSHOTS

pytestmark = pytest.mark.browser
SAVE = os.environ.get("CRMKIT_SCREENSHOTS") == "1"


def quiet_company(crm: crmkit.CRM, user: crmkit.User) -> tuple[crmkit.Customer, crmkit.Contact]:
    """One of ``user``'s companies with a contact and no activity yet (the demo follows up
    only each salesperson's first customers)."""
    with crm.session(actor=user) as s:
        for customer in s.customers.list(owner_id=user.id, limit=100).items:
            contacts = s.contacts.list(customer_id=customer.id, limit=5).items
            if contacts and not s.activities.for_customer(customer.id):
                return customer, contacts[0]
    raise AssertionError("the demo has no quiet company for this salesperson")


def test_a_visit_recorded_on_the_customer_page_tops_its_timeline(
    page: Any, live: dict[str, Any]
) -> None:
    base, crm, zhang = live["url"], live["crm"], live["zhang"]
    customer, contact = quiet_company(crm, zhang)
    log_in(page, base, "zhangsan")
    assert page.is_visible("#workbench")  # the home page starts with the 工作台
    page.goto(f"{base}/customers/details/?id={customer.id}")
    assert "还没有联系记录" in page.inner_text("#activity-timeline")
    page.click("#go-record-activity")
    page.select_option("#activity-kind", value="visit")
    page.select_option("#activity-contact_id", value=contact.id)
    page.fill("#activity-content", "上门演示人脸识别门锁，客户要正式报价")
    page.fill("#activity-next_follow_up", "2026-01-08")
    page.click("#record-activity-submit")
    page.wait_for_selector(".alert-success")
    assert "已记录这次联系" in page.inner_text(".alert-success")
    first = page.locator("#activity-timeline li.timeline-item").first
    text = first.inner_text()
    assert "拜访" in text and "张三" in text and contact.name in text
    assert "上门演示人脸识别门锁，客户要正式报价" in text and "2026-01-08" in text
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "customer-timeline.png"), full_page=True)
    with crm.session(actor=zhang) as s:
        (made,) = s.activities.for_customer(customer.id)
    assert made.kind is crmkit.ActivityKind.VISIT and made.contact_id == contact.id
    assert made.next_follow_up is not None and made.next_follow_up.isoformat() == "2026-01-08"
    # the activity form: the customer chosen brings its contacts (activity_form.js)
    page.goto(f"{base}/activities/new/")
    assert page.locator("#contact_id option").count() == 1  # "—" until a customer is chosen
    page.select_option("#customer_id", value=customer.id)
    # the page's CSP forbids eval, so wait for the option itself, not a predicate
    page.wait_for_selector("#contact_id option:nth-child(2)", state="attached")
    assert contact.name in page.inner_text("#contact_id")


def test_a_task_is_completed_and_another_cancelled_for_a_reason(
    page: Any, live: dict[str, Any]
) -> None:
    base, crm, zhang = live["url"], live["crm"], live["zhang"]
    with crm.session(actor=zhang) as s:
        mine = {t.title: t for t in s.tasks.list(owner_id=zhang.id, status="open").items}
    done, dropped = mine["整理本周客户报价单"], mine["准备季度客户拜访计划"]
    log_in(page, base, "zhangsan")
    page.click("#admin-navbar-collapse a.dropdown-toggle:has-text('跟进')")
    page.click("#admin-navbar-collapse a.dropdown-item[href='/tasks/']")
    page.wait_for_selector("#model-list")
    page.click("#task-tab-mine")
    page.click(f"#model-list a:has-text('{done.title}')")
    page.wait_for_selector("#task-actions")
    page.click("#task-done")
    page.wait_for_selector(".alert-success")
    assert "待办已完成" in page.inner_text(".alert-success")
    assert "已完成" in page.inner_text("#details .detail-status")
    assert page.is_visible("#task-reopen") and not page.is_visible("#task-done")
    page.goto(f"{base}/tasks/details/?id={dropped.id}")
    page.fill("#cancel-reason", "客户下季度再谈")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("#task-cancel")
    page.wait_for_selector(".alert-success")
    assert asked and "确定取消待办" in asked[0]
    assert "已取消" in page.inner_text("#details .detail-status")
    with crm.session(actor=zhang) as s:
        assert s.tasks.get(done.id).status is crmkit.TaskStatus.DONE
        cancelled = s.tasks.get(dropped.id)
    assert cancelled.status is crmkit.TaskStatus.CANCELLED
    assert cancelled.cancel_reason == "客户下季度再谈"
    month = crmkit.display.local_time(dropped.due_at)[:7]  # the demo's month, not the clock's
    page.goto(f"{base}/tasks/calendar/?month={month}")
    assert done.title in page.inner_text("#task-calendar")
    if SAVE:
        page.screenshot(path=str(SCREENSHOTS / "task-calendar.png"), full_page=True)
