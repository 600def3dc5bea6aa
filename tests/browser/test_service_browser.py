"""客户服务 in a real Chromium, as a service agent: a call comes in and the 客服控制台 finds
the caller by a contact's landline typed as people say it, shows the customer's card and
opens a ticket; the ticket is worked from the 工单队列 through its page (a call record, 等待
客户 with the countdown paused, 客户已回复, 解决, 满意度) with every status in Chinese and no
raw code on screen; a new ticket without a subject is refused beside the field; a repair's
work order prints without its toolbar."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import attrs
import pytest

import crmkit
from admin.demo import STAFF_PASSWORD
from crmkit.domain.ticket import RecordKind, TicketChannel, TicketPriority, TicketStatus, TicketType
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

LANDLINE = "0532 8888 6666"  # 王海's desk phone, as the caller reads it out
TICKET_NUMBER = re.compile(r"TK-[0-9A-Za-z-]+")
# the codes behind the screen's words: none may reach the visible text
# (ASCII bounds: ``\b`` sees no edge between 状态 and ``in_progress``)
CODES = re.compile(
    r"(?<![A-Za-z_])(?:"
    + "|".join(
        re.escape(member.value)
        for kind in (TicketStatus, TicketType, TicketPriority, TicketChannel, RecordKind)
        for member in kind
    )
    + r")(?![A-Za-z_])"
)


@attrs.frozen
class Desk:
    agent: crmkit.User
    customer: crmkit.Customer
    contact: crmkit.Contact
    repair: Any


@pytest.fixture(scope="module")
def desk(live: dict[str, Any]) -> Desk:
    """客服小周 (role service); 张三's customer 青岛海韵智能家居 with its contact 王海 (a
    landline only); a repair of theirs with two parts replaced and labour."""
    crm: crmkit.CRM = live["crm"]
    with crm.session(actor=crmkit.SYSTEM) as s:
        admin = s.users.get_by_login("admin")
    with crm.session(actor=admin) as s:
        agent = s.users.create(name="客服小周", role="service", password=STAFF_PASSWORD)
    with crm.session(actor=live["zhang"]) as s:
        customer = s.customers.create(
            name="青岛海韵智能家居有限公司", mobile="13366668888", region="山东省/青岛市/市南区"
        )
        contact = s.contacts.create(
            customer_id=customer.id, name="王海", title="行政主管", phone="0532-88886666"
        )
    with crm.session(actor=agent) as s:
        products = [p for p in s.products.list(limit=50).items if p.price is not None][:2]
        assert len(products) == 2, "the demo's catalogue has priced products"
        repair = s.repairs.create(
            customer_id=customer.id,
            contact_id=contact.id,
            product_id=products[0].id,
            serial_number="SL-2026-BROWSER",
            fault="门锁面板不亮，指纹无反应",
            technician_id=agent.id,
            labour="80",
            parts=[
                {"product_id": products[0].id, "quantity": 2, "unit_price": "35.00"},
                {"product_id": products[1].id, "quantity": 1, "unit_price": "120.00"},
            ],
        )
    return Desk(agent, customer, contact, repair)


def tickets_of(crm: crmkit.CRM, customer_id: str) -> list[Any]:
    with crm.session(actor=crmkit.SYSTEM) as s:
        return list(s.tickets.list(customer_id=customer_id, limit=100).items)


def raw_codes(page: Any) -> list[str]:
    """Codes in the visible text of the page's body (``in_progress``, ``repair`` …)."""
    return CODES.findall(page.inner_text("body"))


def find_caller(page: Any, base: str) -> None:
    page.goto(f"{base}/service-console/")
    page.fill("#console-phone", LANDLINE)
    page.click("#console-find")
    page.wait_for_selector(".caller")


def test_a_call_finds_the_customer_by_a_contacts_landline_and_opens_a_ticket(
    page: Any, live: dict[str, Any], desk: Desk
) -> None:
    base, crm = live["url"], live["crm"]
    log_in(page, base, desk.agent.login)
    find_caller(page, base)
    assert page.locator(".caller").count() == 1  # the landline is 王海's alone
    card = page.locator(f'.caller[data-customer="{desk.customer.id}"]')
    assert desk.customer.name in card.inner_text() and "按联系人号码找到" in card.inner_text()
    assert "133 6666 8888" in card.locator(".caller-phones").inner_text()
    contacts = card.locator(".caller-contacts").inner_text()
    assert "王海" in contacts and "行政主管" in contacts and LANDLINE in contacts
    assert "青岛海韵智能家居有限公司" in page.inner_text("#new-ticket-customer")

    page.select_option("#ticket-type", label="维修")
    page.select_option("#ticket-priority", label="高")
    page.select_option("#ticket-contact_id", label="王海")
    page.fill("#ticket-subject", "门锁指纹识别失败")
    page.fill("#ticket-description", "客户来电：指纹多次识别失败，密码可开")
    page.click("#new-ticket-submit")
    page.wait_for_url(re.compile(r".*/tickets/[^/]+$"))
    number = page.inner_text("#details .detail-number")
    assert TICKET_NUMBER.fullmatch(number), number
    assert f"工单 {number} 已创建" in page.inner_text(".alert-success")
    assert page.inner_text("#details .detail-type") == "维修"
    assert page.inner_text("#details .detail-priority") == "高"
    assert page.inner_text("#details .detail-status") == "新建"
    assert page.inner_text("#details .detail-contact") == "王海"
    countdown = page.locator("#ticket-countdown")
    assert countdown.is_visible() and "首次响应" in countdown.inner_text()
    assert re.search(r"剩余|超时", countdown.inner_text()), countdown.inner_text()
    assert not raw_codes(page)
    (ticket,) = [t for t in tickets_of(crm, desk.customer.id) if t.number == number]
    assert ticket.type is TicketType.REPAIR and ticket.priority is TicketPriority.HIGH
    assert ticket.contact_id == desk.contact.id and ticket.subject == "门锁指纹识别失败"
    assert page.url.endswith(f"/tickets/{ticket.id}")


def test_a_ticket_is_worked_from_the_queue_through_its_buttons_to_a_rating(
    page: Any, live: dict[str, Any], desk: Desk
) -> None:
    base, crm = live["url"], live["crm"]
    with crm.session(actor=desk.agent) as s:
        ticket = s.tickets.create(
            customer_id=desk.customer.id,
            type="repair",
            subject="门锁电池盒松动",
            assignee_id=desk.agent.id,
        )
    log_in(page, base, desk.agent.login)
    page.goto(f"{base}/tickets/")
    row = page.locator(f'#ticket-queue tr[data-ticket="{ticket.id}"]')
    assert "已分派" in row.inner_text() and "维修" in row.inner_text()
    assert re.search(r"首次响应：(剩余|超时)", row.locator("td.sla").inner_text())
    assert not raw_codes(page)
    row.locator("a.ticket-link").click()
    page.wait_for_selector("#ticket-record-form")
    status = "#details .detail-status"

    def done(message: str, label: str) -> None:
        page.wait_for_selector(".alert-success")
        assert message in page.inner_text(".alert-success")
        assert page.inner_text(status) == label
        assert not raw_codes(page), raw_codes(page)

    page.select_option("#record-kind", label="电话")
    page.fill("#record-body", "电话联系客户，约明天上门查看电池盒")
    page.click("#record-submit")
    done("服务记录已添加", "处理中")  # a call is the first response
    thread = page.inner_text("#ticket-thread")
    assert "电话" in thread and "约明天上门查看电池盒" in thread
    assert "首次响应" not in page.inner_text("#ticket-countdown")  # the resolution's turn

    page.click("#ticket-wait")
    done("等待客户中：服务时效计时已暂停", "等待客户")
    assert page.inner_text("#ticket-countdown") == "已暂停：等待客户"
    assert "sla-paused" in (page.get_attribute("#ticket-countdown", "class") or "")

    page.click("#ticket-resume")
    done("客户已回复：服务时效继续计时", "处理中")
    assert "解决" in page.inner_text("#ticket-countdown")

    page.fill("#resolve-resolution", "更换电池盒卡扣后牢固")
    page.click("#ticket-resolve")
    done("工单已解决", "已解决")
    assert page.inner_text("#details .detail-resolution") == "更换电池盒卡扣后牢固"
    assert page.inner_text("#ticket-countdown") == "—"

    page.select_option("#rate-score", "5")
    page.fill("#rate-comment", "师傅很专业")
    page.click("#ticket-rate")
    done("已记录客户满意度", "已解决")
    assert "师傅很专业" in page.inner_text("#details .detail-satisfaction")
    assert "5" in page.inner_text("#details .detail-satisfaction")
    with crm.session(actor=crmkit.SYSTEM) as s:
        worked = s.tickets.get(ticket.id)
    assert worked.status is TicketStatus.RESOLVED and worked.satisfaction == 5
    assert worked.first_response_at is not None and worked.resolution == "更换电池盒卡扣后牢固"
    assert [p.end is not None for p in worked.pauses] == [True]


def test_a_new_ticket_without_a_subject_is_refused_beside_the_field(
    page: Any, live: dict[str, Any], desk: Desk
) -> None:
    base, crm = live["url"], live["crm"]
    before = len(tickets_of(crm, desk.customer.id))
    log_in(page, base, desk.agent.login)
    find_caller(page, base)
    page.select_option("#ticket-type", label="咨询")
    page.fill("#ticket-subject", "   ")
    page.click("#new-ticket-submit")
    page.wait_for_selector("#ticket-subject.is-invalid")
    assert "未创建工单：请修正标出的字段" in page.inner_text(".alert-danger, .alert-error")
    beside = page.locator("#ticket-subject + .field-error")
    assert beside.is_visible() and re.search(r"[\u4e00-\u9fff]", beside.inner_text())
    assert not page.locator("#ticket-type.is-invalid").count()
    assert page.locator(".field-error").count() == 1  # the subject only
    assert page.input_value("#ticket-type") == "consultation"  # kept as chosen
    assert "青岛海韵智能家居有限公司" in page.inner_text("#new-ticket-customer")
    assert not raw_codes(page)
    assert len(tickets_of(crm, desk.customer.id)) == before


def test_the_repair_work_order_prints_its_parts_and_total_without_the_toolbar(
    page: Any, live: dict[str, Any], desk: Desk
) -> None:
    base, crm = live["url"], live["crm"]
    repair = desk.repair
    assert repair.charge.amount == Decimal("270.00")  # 2 × 35 + 120 + 80 labour
    log_in(page, base, desk.agent.login)
    page.goto(f"{base}/repairs/{repair.id}/print")
    page.wait_for_selector("#print-document")
    lines = page.locator("#print-lines tbody tr")
    assert lines.count() == 2
    with crm.session(actor=crmkit.SYSTEM) as s:
        names = [s.products.get(p.product_id).name for p in repair.parts]
    first, second = lines.nth(0).inner_text(), lines.nth(1).inner_text()
    assert names[0] in first and "35.00" in first and "70.00" in first
    assert names[1] in second and "120.00" in second
    totals = page.inner_text("#print-totals")
    assert "190.00" in totals and "80.00" in totals  # parts, labour
    assert "270.00" in page.inner_text("#print-charge")
    assert "贰佰柒拾元整" in page.inner_text("#print-in-words")
    assert "门锁面板不亮，指纹无反应" in page.inner_text("#print-fault")
    assert "SL-2026-BROWSER" in page.inner_text("#print-serial")
    assert page.locator(".print-toolbar").is_visible()  # on screen: back and print

    page.emulate_media(media="print")
    assert not page.locator(".print-toolbar").is_visible()
    assert not page.locator("#print-now").is_visible()
    assert page.locator("#print-document").is_visible()
    assert page.locator("#print-lines").is_visible()
    assert page.locator("nav.navbar, .navbar").count() == 0  # no menu on the work order
    page.emulate_media(media="screen")
    assert page.locator("#print-now").is_visible()
