"""客户服务 · 售后 in the admin: 投诉单 with their corrective actions followed up until
verified and closed, 维修单 with the parts replaced and the printable work order — every
value by its label, every refusal in the reader's language, nothing written when refused."""

from __future__ import annotations

import re
from datetime import timedelta

import attrs
import pytest
from flask import Flask

import crmkit
from crmkit.domain.complaint import Complaint
from crmkit.domain.repair import Repair
from tests.admin.conftest import PASSWORDS, Browser, make_customer
from tests.admin.messaging_desk import error_near
from tests.admin.pages import flashes, part, text_of
from tests.admin.test_translation_crawl import (
    CHROME,
    CJK,
    CODE,
    DATA,
    ENGLISH,
    HIDDEN,
    KEY,
    TAG,
    UUID,
    visible,
)

SERVICE_PASSWORD = "service-pass"


@attrs.frozen
class Desk:
    wang: crmkit.User  # 客服小王, who handles complaints and repairs
    zhao: crmkit.User  # 赵质检, who verifies the corrective actions
    jinzhi: crmkit.Customer
    lock: crmkit.Product
    core: crmkit.Product


@pytest.fixture
def desk(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> Desk:
    """Two service users; 张三's customer 青岛金智 with its contact 李四; the catalogue's
    智能门锁 and its part 锁芯 (¥35.00)."""
    with crm.session(actor=users["admin"]) as s:
        wang = s.users.create(name="客服小王", role="service", password=SERVICE_PASSWORD)
        zhao = s.users.create(name="赵质检", role="service", password=SERVICE_PASSWORD)
        lock = s.products.create(name="智能门锁", code="LK-100", unit="套", price="1999.00")
        core = s.products.create(name="锁芯", code="LC-1", unit="个", price="35.00")
    jinzhi = make_customer(crm, users["zhang"], mobile="13800138000")
    with crm.session(actor=users["zhang"]) as s:
        s.contacts.create(customer_id=jinzhi.id, name="李四", mobile="13900001234")
    return Desk(wang, zhao, jinzhi, lock, core)


def signed_in(app: Flask, user: crmkit.User, password: str = SERVICE_PASSWORD) -> Browser:
    return Browser.signed_in(app, user, password)


def complaint_of(crm: crmkit.CRM, admin: crmkit.User, id: str) -> Complaint:
    with crm.session(actor=admin) as s:
        return s.complaints.get(id)


def repair_of(crm: crmkit.CRM, admin: crmkit.User, id: str) -> Repair:
    with crm.session(actor=admin) as s:
        return s.repairs.get(id)


def posted(browser: Browser, path: str, version: int, **form: str) -> str:
    """A form posted at ``version``; the page it leads to (or the page shown again)."""
    response = browser.post(path, {"version": str(version), **form})
    if response.status_code == 302:
        return browser.text(response.location)
    assert response.status_code == 200, (path, response.status_code)
    return str(response.get_data(as_text=True))


# -- 投诉单 ----------------------------------------------------------------------------------------
def test_a_complaint_is_followed_up_verified_and_closed_through_its_page(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], desk: Desk
) -> None:
    wang = signed_in(app, desk.wang)
    menu = wang.text("/")
    assert 'href="/complaints/"' in menu and 'href="/repairs/"' in menu
    form = {"customer_id": desk.jinzhi.id, "subject": "安装人员迟到两小时", "severity": "major",
            "description": "约定九点，十一点才到", "owner_id": ""}  # fmt: skip
    done = wang.post("/complaints/new", form)
    assert done.status_code == 302
    id = done.location.rstrip("/").rsplit("/", 1)[-1]
    made = complaint_of(crm, users["admin"], id)
    assert made.owner_id == desk.wang.id and made.severity.value == "major"
    page = wang.text(f"/complaints/{id}")
    assert "安装人员迟到两小时" in part(page, "details") and "严重" in part(page, "details")
    assert "待处理" in part(page, "details") and 'id="complaint-investigate"' in page

    page = posted(wang, f"/complaints/{id}/investigate", made.version, root_cause="排班冲突")
    assert "调查中" in part(page, "details") and "排班冲突" in part(page, "details")
    version = complaint_of(crm, users["admin"], id).version
    with crm.session(actor=users["admin"]) as s:
        due = (s.today() + timedelta(days=2)).isoformat()
    page = posted(wang, f"/complaints/{id}/action", version, description="调整排班",
                  owner_id=desk.wang.id, due_on=due)  # fmt: skip
    actions = part(page, "complaint-action-table")
    assert (
        "调整排班" in actions and "客服小王" in actions and due in actions and "待整改" in actions
    )
    assert "整改中" in part(page, "details")
    complaint = complaint_of(crm, users["admin"], id)
    (action,) = complaint.actions

    page = posted(wang, f"/complaints/{id}/action/{action.id}/follow-up", complaint.version,
                  note="已通知调度")  # fmt: skip
    assert "已通知调度" in part(page, "complaint-action-table")
    refused = posted(wang, f"/complaints/{id}/close", complaint_of(crm, users["admin"], id).version,
                     conclusion="客户满意")  # fmt: skip
    assert "尚有 1 项整改措施未核实" in flashes(refused)
    assert complaint_of(crm, users["admin"], id).status.value == "acting"

    page = posted(wang, f"/complaints/{id}/action/{action.id}/complete",
                  complaint_of(crm, users["admin"], id).version, result="已调整排班表")  # fmt: skip
    assert "已调整排班表" in part(page, "complaint-action-table")
    assert "已完成" in part(page, "complaint-action-table")
    assert 'id="verify-1"' not in page  # the owner does not verify their own action
    zhao = signed_in(app, desk.zhao)
    assert 'id="verify-1"' in zhao.text(f"/complaints/{id}")
    page = posted(zhao, f"/complaints/{id}/action/{action.id}/verify",
                  complaint_of(crm, users["admin"], id).version)  # fmt: skip
    assert "已核实" in part(page, "complaint-action-table") and "赵质检" in page
    page = posted(zhao, f"/complaints/{id}/close", complaint_of(crm, users["admin"], id).version,
                  conclusion="客户满意")  # fmt: skip
    assert "已结案" in part(page, "details") and "客户满意" in part(page, "details")
    assert 'id="complaint-reopen"' in page and 'id="complaint-action-form"' not in page
    closed = complaint_of(crm, users["admin"], id)
    assert closed.status.value == "closed" and closed.conclusion == "客户满意"
    listed = part(wang.text("/complaints/?status=closed"), "complaint-list")
    assert closed.number in listed and "严重" in listed and "已结案" in listed
    assert closed.number not in wang.text("/complaints/?status=open")
    page = posted(zhao, f"/complaints/{id}/reopen", closed.version)
    assert "整改中" in part(page, "details")


def test_a_bad_corrective_action_shows_its_errors_beside_the_fields_and_writes_nothing(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], desk: Desk
) -> None:
    with crm.session(actor=desk.wang) as s:
        made = s.complaints.create(customer_id=desk.jinzhi.id, subject="上门迟到")
    wang = signed_in(app, desk.wang)
    page = posted(wang, f"/complaints/{made.id}/action", made.version, description=" ",
                  owner_id=desk.wang.id, due_on="2020-01-01")  # fmt: skip
    assert "必填" in error_near(page, "action-description")
    assert "日期已过" in error_near(page, "action-due_on") and 'value="2020-01-01"' in page
    assert complaint_of(crm, users["admin"], made.id).actions == ()
    bad_new = {"customer_id": "", "subject": "", "severity": "minor"}
    page = wang.post("/complaints/new", bad_new).get_data(as_text=True)
    assert "未创建投诉单" in flashes(page) and "必填" in error_near(page, "complaint-subject")
    assert error_near(page, "complaint-customer_id")


def test_a_complaint_ticket_raises_its_complaint_from_the_ticket_page(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], desk: Desk
) -> None:
    with crm.session(actor=desk.wang) as s:
        ticket = s.tickets.create(customer_id=desk.jinzhi.id, type="complaint", subject="上门迟到")
    wang = signed_in(app, desk.wang)
    page = wang.text(f"/tickets/{ticket.id}")
    assert 'id="ticket-to-complaint"' in page and 'id="ticket-to-repair"' not in page
    done = wang.post(f"/complaints/from-ticket/{ticket.id}")
    assert done.status_code == 302
    page = wang.text(done.location)
    assert "上门迟到" in part(page, "details") and (ticket.number or "") in part(page, "details")
    again = wang.post(f"/complaints/from-ticket/{ticket.id}")  # one complaint per ticket
    assert again.location.endswith(f"/tickets/{ticket.id}")
    assert "该工单已有投诉单" in flashes(wang.text(again.location))


# -- 维修单 ----------------------------------------------------------------------------------------
def test_a_repair_from_a_ticket_gets_its_parts_and_prints_its_work_order(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], desk: Desk
) -> None:
    with crm.session(actor=desk.wang) as s:
        ticket = s.tickets.create(customer_id=desk.jinzhi.id, type="repair", subject="门锁无法开启",
                                  description="指纹识别失败")  # fmt: skip
    wang = signed_in(app, desk.wang)
    page = wang.text(f"/tickets/{ticket.id}")
    assert 'id="ticket-to-repair"' in page and 'id="ticket-to-complaint"' not in page
    done = wang.post(f"/repairs/from-ticket/{ticket.id}")
    assert done.status_code == 302
    id = done.location.rstrip("/").rsplit("/", 1)[-1]
    repair = repair_of(crm, users["admin"], id)
    assert repair.ticket_id == ticket.id and repair.fault == "指纹识别失败"

    fields = {"product_id": desk.lock.id, "serial_number": "SN-2027-0001", "fault": "指纹识别失败",
              "diagnosis": "", "technician_id": desk.wang.id, "labour": "80.00"}  # fmt: skip
    page = posted(wang, f"/repairs/{id}/edit", repair.version, **fields)
    assert "SN-2027-0001" in part(page, "details") and "智能门锁" in part(page, "details")
    assert "¥80.00" in part(page, "details")
    page = posted(wang, f"/repairs/{id}/move/diagnose", repair_of(crm, users["admin"], id).version)
    assert "检测中" in part(page, "details")

    version = repair_of(crm, users["admin"], id).version
    bad = {"part-1-product_id": desk.core.id, "part-1-quantity": "1", "part-1-unit_price": "",
           "part-2-product_id": desk.core.id, "part-2-quantity": "-1", "part-2-unit_price": "",
           "part-3-product_id": "", "part-3-quantity": "", "part-3-unit_price": ""}  # fmt: skip
    page = posted(wang, f"/repairs/{id}/parts", version, **bad)
    assert "配件未保存" in flashes(page)
    assert "配件 2 · 数量" in error_near(page, "part-2-quantity")
    assert "必须大于零" in part(page, "part-line-2", "</tr>")
    assert "必须大于零" not in part(page, "part-line-1", "</tr>")
    assert 'value="-1"' in page  # what was typed stays
    assert repair_of(crm, users["admin"], id).parts == ()

    good = {**bad, "part-2-product_id": "", "part-2-quantity": "", "part-1-quantity": "2"}
    page = posted(wang, f"/repairs/{id}/parts", version, **good)
    assert "配件已保存" in flashes(page)
    parts = part(page, "repair-parts")
    assert "锁芯" in parts and "¥35.00" in parts and "¥70.00" in parts
    assert "¥150.00" in part(page, "details")  # parts ¥70.00 + labour ¥80.00
    page = posted(wang, f"/repairs/{id}/start", repair_of(crm, users["admin"], id).version,
                  diagnosis="锁芯磨损")  # fmt: skip
    assert "维修中" in part(page, "details") and "锁芯磨损" in part(page, "details")
    page = posted(wang, f"/repairs/{id}/move/finish", repair_of(crm, users["admin"], id).version)
    assert "已修复" in part(page, "details") and 'id="repair-parts-form"' not in page
    assert 'id="repair-receivable"' in page and 'id="repair-deliver"' in page

    printed = wang.text(f"/repairs/{id}/print")
    text = text_of(printed)
    number = repair_of(crm, users["admin"], id).number or ""
    assert "维修工单" in text and number in text
    assert "青岛金智电子科技有限公司" in text and "智能门锁" in text and "SN-2027-0001" in text
    assert "指纹识别失败" in text and "锁芯磨损" in text
    lines = part(printed, "print-lines")
    assert "锁芯" in lines and "2" in lines and "¥35.00" in lines and "¥70.00" in lines
    totals = part(printed, "print-totals")
    assert "¥80.00" in totals and "¥150.00" in totals and "人民币壹佰伍拾元整" in totals
    assert "维修人员" in part(printed, "print-signatures", "</section>")
    assert "客户" in part(printed, "print-signatures", "</section>")
    assert 'id="print-now"' in printed and "navbar" not in printed  # no menu on the page
    assert "@media print" in printed and "size: A4" in printed
    assert 'href="/assets/print.css"' in printed
    assert not re.search(r"<script(?![^>]*src=)[^>]*>", printed)  # no inline script

    page = posted(wang, f"/repairs/{id}/receivable", repair_of(crm, users["admin"], id).version)
    assert "维修费用已生成应收款" in flashes(page)
    assert repair_of(crm, users["admin"], id).receivable_id is not None
    page = posted(wang, f"/repairs/{id}/move/deliver", repair_of(crm, users["admin"], id).version)
    assert "已交付" in part(page, "details")
    listed = part(wang.text("/repairs/?status=delivered"), "repair-list")
    assert number in listed and "SN-2027-0001" in listed and "¥150.00" in listed
    assert number not in wang.text("/repairs/?status=cancelled")


def test_a_new_repair_and_its_cancellation_need_what_crmkit_needs(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], desk: Desk
) -> None:
    wang = signed_in(app, desk.wang)
    form = {"customer_id": desk.jinzhi.id, "product_id": desk.lock.id, "serial_number": "SN-9",
            "fault": "", "technician_id": "", "labour": "八十"}  # fmt: skip
    page = wang.post("/repairs/new", form).get_data(as_text=True)
    assert "未创建维修单" in flashes(page)
    assert "必填" in error_near(page, "repair-fault") and error_near(page, "repair-labour")
    with crm.session(actor=users["admin"]) as s:
        assert not s.repairs.list().items
    done = wang.post("/repairs/new", {**form, "fault": "门锁无法开启", "labour": "80"})
    assert done.status_code == 302
    id = done.location.rstrip("/").rsplit("/", 1)[-1]
    version = repair_of(crm, users["admin"], id).version
    refused = posted(wang, f"/repairs/{id}/cancel", version, reason=" ")
    assert "取消原因" in flashes(refused) and "必填" in flashes(refused)
    page = posted(wang, f"/repairs/{id}/cancel", version, reason="客户撤回")
    assert "已取消" in part(page, "details") and "客户撤回" in part(page, "details")


def test_a_salesperson_reads_their_customers_after_sales_but_changes_nothing(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], desk: Desk
) -> None:
    with crm.session(actor=desk.wang) as s:
        complaint = s.complaints.create(customer_id=desk.jinzhi.id, subject="上门迟到")
        repair = s.repairs.create(customer_id=desk.jinzhi.id, fault="门锁无法开启", labour="80")
        ticket = s.tickets.create(customer_id=desk.jinzhi.id, type="repair", subject="门锁报警")
    zhang = signed_in(app, users["zhang"], PASSWORDS["zhang"])
    assert "上门迟到" in zhang.text("/complaints/") and 'id="new-complaint"' not in zhang.text(
        "/complaints/"
    )
    page = zhang.text(f"/complaints/{complaint.id}")
    assert "上门迟到" in page and 'id="complaint-action-form"' not in page
    assert 'id="complaint-close-form"' not in page
    page = zhang.text(f"/repairs/{repair.id}")
    assert "门锁无法开启" in page and 'id="repair-parts-form"' not in page
    assert 'id="repair-diagnose"' not in page and 'id="print-work-order"' in page
    assert "¥80.00" in zhang.text(f"/repairs/{repair.id}/print")
    assert 'id="ticket-to-repair"' not in zhang.text(f"/tickets/{ticket.id}")
    for path, form in (
        (f"/complaints/{complaint.id}/close", {"conclusion": "x"}),
        (f"/complaints/{complaint.id}/action", {"description": "x"}),
        (f"/repairs/{repair.id}/move/diagnose", {}),
        (
            f"/repairs/{repair.id}/parts",
            {"part-1-product_id": desk.core.id, "part-1-quantity": "1"},
        ),
        (f"/repairs/from-ticket/{ticket.id}", {}),
        ("/complaints/new", {"customer_id": desk.jinzhi.id, "subject": "x"}),
    ):
        assert zhang.post(path, {"version": "1", **form}).status_code == 403, path
    assert zhang.get("/repairs/new").status_code == 403
    assert complaint_of(crm, users["admin"], complaint.id).version == complaint.version
    assert repair_of(crm, users["admin"], repair.id).version == repair.version
    li = signed_in(app, users["li"], PASSWORDS["li"])  # not his customer: not found
    assert li.get(f"/complaints/{complaint.id}").status_code == 404
    assert li.get(f"/repairs/{repair.id}/print").status_code == 404
    assert "上门迟到" not in li.text("/complaints/")


# -- every page in the reader's language ---------------------------------------------------
def test_the_after_sales_pages_read_in_chinese_and_in_english(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], desk: Desk
) -> None:
    me = desk.wang
    with crm.session(actor=me) as s:
        complaint = s.complaints.create(customer_id=desk.jinzhi.id, subject="门锁", severity="严重")
        complaint = s.complaints.add_action(
            complaint.id, description="门锁", owner_id=desk.zhao.id,
            due_on=s.today() + timedelta(days=1),
        )  # fmt: skip
        s.complaints.follow_up(complaint.id, complaint.actions[0].id, note="门锁")
        repair = s.repairs.create(customer_id=desk.jinzhi.id, product_id=desk.lock.id,
                                  fault="门锁", labour="80",
                                  parts=[{"product_id": desk.core.id, "quantity": 2}])  # fmt: skip
        s.repairs.diagnose(repair.id)
    admin = signed_in(app, users["admin"], PASSWORDS["admin"])
    pages = ("/complaints/", "/complaints/new", f"/complaints/{complaint.id}", "/repairs/",
             "/repairs/new", f"/repairs/{repair.id}", f"/repairs/{repair.id}/print")  # fmt: skip
    problems = []
    for url in pages:
        text = re.sub(r"(CP|RP)-\d{4}-\d+|LK-100|LC-1", " ", visible(admin.text(url)))
        for what, pattern in (("key", KEY), ("id", UUID), ("code", CODE), ("English", ENGLISH)):
            found = sorted({m.group(0) for m in pattern.finditer(text)} - {"crmkit", "English"})
            if found:
                problems.append(f"{url}: {what} {found[:5]}")
    admin.post("/language", {"lang": "en"})
    for url in pages:
        for match in CHROME.finditer(HIDDEN.sub(" ", admin.text(url))):
            raw = TAG.sub(" ", match.group(2) or match.group(3) or "")
            shown = DATA.sub(" ", " ".join(raw.split()))
            if CJK.search(shown.replace("客服小王", "").replace("锁芯", "")):
                problems.append(f"{url} (en): {shown[:60]}")
    printed = text_of(admin.text(f"/repairs/{repair.id}/print"))
    assert "Repair work order" in printed and "Technician" in printed
    data = ("青岛金智电子科技有限公司", "智能门锁", "锁芯", "门锁", "客服小王")
    assert not CJK.search(re.sub("|".join(data), " ", printed))  # the data only
    assert not problems, "\n".join(problems)
