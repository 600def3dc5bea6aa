"""短信中心 and 消息记录 in the admin: 发送短信 with crmkit's preview (characters, segments), 定时
短信, 群发 (managers and admins only), 模板, 未发送 with 重发 and the decision on a message in
doubt, 回复, 退订名单, the message log with its delivery status and filters, a customer's
messages on its page, and the demo's messages — every value by its label, every refusal
beside its field with nothing written."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import crmkit
from crmkit.testing import ManualClock
from tests.admin.messaging_desk import Desk, error_near, open_desk
from tests.admin.pages import flashes, part, text_of


@pytest.fixture
def desk(tmp_path: Path, clock: ManualClock) -> Iterator[Desk]:
    yield from open_desk(tmp_path, clock)


def compose(**fields: str) -> dict[str, str]:
    form = {"customer_id": "", "to": "", "template": "", "text": "", "at": "", "action": "send"}
    form.update(fields)
    return form


def delivery(desk: Desk, message: crmkit.Message) -> crmkit.OutboxMessage:
    with desk.crm.session(actor=crmkit.SYSTEM) as s:
        row = s.messages.delivery(message)
    assert row is not None
    return row


# -- 发送短信 ------------------------------------------------------------------------------------
def test_an_sms_from_a_template_is_previewed_then_sent(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    form = zhang.text(f"/sms/?customer_id={desk.mine.id}")
    assert "欢迎短信" in form and "关怀短信" in form and "报价邮件" not in form  # SMS only
    assert "未填手机号时发到 138 0013 8000" in text_of(form)
    shown = zhang.post(
        "/sms/", compose(customer_id=desk.mine.id, template="welcome", action="preview")
    ).get_data(as_text=True)
    preview = part(shown, "sms-preview", "</div></div>")
    assert "【crmkit】青岛金智电子科技有限公司您好，欢迎选购智能门锁！ 回T退订" in preview
    assert "个字，计 1 条短信" in preview and "营销信息：末尾附退订提示" in preview
    assert not desk.messages()  # a preview writes nothing
    sent = zhang.post("/sms/", compose(customer_id=desk.mine.id, template="welcome"))
    assert sent.status_code == 302
    (message,) = desk.messages()
    assert message.recipient == "+8613800138000" and message.template == "welcome"
    assert message.sent_by == desk.users["zhang"].id and message.marketing
    page = zhang.text(sent.location)
    assert "发给 138 0013 8000 的短信已提交发送" in flashes(page)
    details = part(page, "details")
    assert "发出" in details and "短信" in details and "手动发送" in details
    assert "待发送" in details and "欢迎短信" in details and "张三" in details


def test_the_preview_endpoint_counts_characters_and_segments(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    long = "您好，" + "智能门锁限时优惠" * 9
    answer = zhang.post("/sms/preview", compose(text=long)).get_json()
    assert answer["segments"] == 2 and answer["characters"] == len("【crmkit】" + long)
    assert answer["summary"] == f"{answer['characters']} 个字，计 2 条短信"
    assert answer["text"].startswith("【crmkit】您好")
    unknown = zhang.post("/sms/preview", compose(template="welcome")).get_json()
    assert unknown["errors"]  # {name} needs a customer
    assert zhang.post("/sms/preview", compose()).get_json() == {"empty": True}


def test_refusals_are_shown_beside_their_fields_and_nothing_is_sent(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    nobody = zhang.post("/sms/", compose(text="您好")).get_data(as_text=True)
    assert error_near(nobody, "sms-to") == "没有可发送的手机号或邮箱"
    bad = zhang.post("/sms/", compose(to="12345", text="您好")).get_data(as_text=True)
    assert error_near(bad, "sms-to")
    empty = zhang.post("/sms/", compose(customer_id=desk.mine.id)).get_data(as_text=True)
    assert error_near(empty, "sms-text") == "必填"
    late = zhang.post("/sms/", compose(customer_id=desk.mine.id, text="您好", at="明天上午"))
    assert error_near(late.get_data(as_text=True), "sms-at").startswith("“明天上午”不是时间")
    too_long = zhang.post("/sms/", compose(customer_id=desk.mine.id, text="长" * 300))
    assert "超过上限 3 条" in error_near(too_long.get_data(as_text=True), "sms-text")
    assert not desk.messages()


def test_a_timed_sms_waits_for_its_time(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    done = zhang.post(
        "/sms/", compose(customer_id=desk.mine.id, template="care", at="2026-01-02 10:00")
    )
    page = zhang.text(done.location)
    assert "将于 2026-01-02 10:00 发送" in flashes(page)
    assert "待发送（2026-01-02 10:00 起）" in part(page, "details")
    (message,) = desk.messages()
    desk.crm.dispatch()
    assert delivery(desk, message).status is crmkit.OutboxStatus.PENDING
    desk.clock.advance(timedelta(days=1, hours=2))
    desk.crm.dispatch()
    assert delivery(desk, message).status is crmkit.OutboxStatus.SENT


def test_an_sms_to_a_typed_number_returns_to_the_page_it_came_from(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    back = f"/customers/details/?id={desk.mine.id}"
    done = zhang.post(
        "/sms/", compose(customer_id=desk.mine.id, to="139 0000 1234", text="您好", next=back)
    )
    assert done.location == back
    (message,) = desk.messages()
    assert message.recipient == "+8613900001234" and message.customer_id == desk.mine.id


# -- 群发 ---------------------------------------------------------------------------------------
def test_group_sends_are_for_managers_and_admins(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    assert zhang.get("/sms/group/").status_code == 403
    assert zhang.post("/sms/group/", {"template": "care", "region": "山东省"}).status_code == 403
    assert 'href="/sms/group/"' not in zhang.text("/sms/")
    assert not desk.messages()


def test_a_group_send_reports_what_it_queued(desk: Desk) -> None:
    boss = desk.browser("boss")
    form = boss.text("/sms/group/")
    assert "关怀短信（短信）" in form and "报价邮件（邮件）" in form and "张三" in form
    page = boss.post("/sms/group/", {"template": "care", "region": "山东省"}).get_data(as_text=True)
    report = part(page, "group-report", "</div>")
    assert "已提交： 1" in report and "无手机号或邮箱： 0" in report
    (message,) = desk.messages()
    assert message.customer_id == desk.mine.id and message.source is crmkit.MessageSource.GROUP
    with desk.session("admin") as s:
        s.messages.unsubscribe("13700001111")
    page = boss.post(
        "/sms/group/", {"template": "welcome", "owner_id": desk.users["li"].id}
    ).get_data(as_text=True)
    assert "已退订： 1" in part(page, "group-report", "</div>")  # welcome is marketing


def test_a_group_send_without_a_criterion_is_refused_beside_the_fields(desk: Desk) -> None:
    boss = desk.browser("boss")
    page = boss.post("/sms/group/", {"template": "care"}).get_data(as_text=True)
    assert error_near(page, "group-region") == "请选择发送对象"
    bad = boss.post("/sms/group/", {"template": "", "tag": "VIP"}).get_data(as_text=True)
    assert error_near(bad, "group-template") == "必填"
    nowhere = boss.post("/sms/group/", {"template": "care", "region": "火星"}).get_data(
        as_text=True
    )
    assert error_near(nowhere, "group-region").startswith("不是有效的行政区划")
    assert not desk.messages()


# -- 模板 ---------------------------------------------------------------------------------------
def test_templates_are_kept_by_managers_and_admins(desk: Desk) -> None:
    admin = desk.browser("admin")
    listed = part(admin.text("/message_templates/"), "model-list")
    assert "欢迎短信" in listed and "营销信息" in listed and "邮件" in listed
    made = admin.post(
        "/message_templates/new/",
        {"code": "holiday", "name": "节日问候", "channel": "sms", "subject": "",
         "body": "{name}您好，{company}祝您节日快乐！", "active": "y"},
    )  # fmt: skip
    assert made.status_code == 302
    wrong = admin.post(
        "/message_templates/new/",
        {"code": "bad", "name": "坏模板", "channel": "sms", "subject": "", "body": "{价格}元"},
    ).get_data(as_text=True)
    assert error_near(wrong, "body")
    with desk.session() as s:
        codes = {t.code for t in s.messages.templates.list(limit=50).items}
    assert codes == {"welcome", "care", "quote", "holiday"}
    zhang = desk.browser("zhang")
    assert "节日问候" in zhang.text("/message_templates/")
    assert zhang.get("/message_templates/new/").status_code in (302, 403)


# -- 消息记录 ------------------------------------------------------------------------------------
def test_the_log_shows_delivery_status_attempts_and_errors(desk: Desk) -> None:
    with desk.session("zhang") as s:
        s.messages.send_sms(customer_id=desk.mine.id, text="第一条")
        s.messages.send_sms(customer_id=desk.mine.id, text="第二条")
    desk.notifier.refuse(1)
    desk.crm.dispatch()
    zhang = desk.browser("zhang")
    table = part(zhang.text("/messages/"), "model-list")
    assert "已发送" in table and "发送失败" in table and "scripted refusal" in table
    assert "138 0013 8000" in table and "手动发送" in table and "发出" in table
    failed = part(zhang.text("/messages/?status=dead"), "model-list")
    assert failed.count("发送失败") == 1 and "已发送" not in failed
    sent = part(zhang.text("/messages/?status=sent&channel=sms&source=manual"), "model-list")
    assert "已发送" in sent and "发送失败" not in sent
    none = part(zhang.text("/messages/?source=group"), "model-list")
    assert "第一条" not in none and "第二条" not in none


def test_a_salesperson_sees_only_their_customers_messages(desk: Desk) -> None:
    with desk.session("li") as s:
        s.messages.send_sms(customer_id=desk.theirs.id, text="李小明的短信")
    with desk.session("zhang") as s:
        s.messages.send_sms(customer_id=desk.mine.id, text="张三的短信")
    table = part(desk.browser("zhang").text("/messages/"), "model-list")
    assert "张三的短信" in table and "李小明的短信" not in table


def test_the_customer_page_lists_its_messages(desk: Desk) -> None:
    with desk.session("zhang") as s:
        s.messages.send_sms(customer_id=desk.mine.id, text="样品已寄出")
    with desk.session("admin") as s:
        s.messages.receive("13800138000", "收到，谢谢")
    page = desk.browser("zhang").text(f"/customers/details/?id={desk.mine.id}")
    table = part(page, "customer-messages")
    assert "样品已寄出" in table and "收到，谢谢" in table
    assert "发出" in table and "收到" in table and "待发送" in table
    assert 'id="send-sms"' in page


# -- 未发送 --------------------------------------------------------------------------------------
def test_a_failed_message_is_sent_again(desk: Desk) -> None:
    with desk.session("zhang") as s:
        message = s.messages.send_sms(customer_id=desk.mine.id, text="请确认交货日期")
    desk.notifier.refuse(1)
    desk.crm.dispatch()
    zhang = desk.browser("zhang")
    table = part(zhang.text("/sms/unsent/"), "unsent")
    assert "请确认交货日期" in table and "发送失败" in table and "重发" in table
    assert "已发出" not in table  # deciding about messages in doubt is for managers
    done = zhang.post("/sms/unsent/retry/", {"id": message.id})
    assert "消息将重新发送" in flashes(zhang.text(done.location))
    desk.crm.dispatch()
    assert delivery(desk, message).status is crmkit.OutboxStatus.SENT
    assert "所有消息都已发出" in zhang.text("/sms/unsent/")


def test_a_message_in_doubt_is_decided_by_a_manager(desk: Desk) -> None:
    with desk.session("zhang") as s:
        message = s.messages.send_sms(customer_id=desk.mine.id, text="合同已盖章")
    desk.notifier.time_out(1)
    desk.notifier.knows_status = False
    desk.crm.dispatch()
    zhang = desk.browser("zhang")
    assert "结果不明" in part(zhang.text("/sms/unsent/"), "unsent")
    zhang.post("/sms/unsent/resolve/", {"id": message.id, "sent": "1"})
    assert delivery(desk, message).status is crmkit.OutboxStatus.UNKNOWN  # refused
    boss = desk.browser("boss")
    table = part(boss.text("/sms/unsent/"), "unsent")
    assert "已发出" in table and "未发出，重新发送" in table
    done = boss.post("/sms/unsent/resolve/", {"id": message.id, "sent": "1"})
    assert "已确认发出" in flashes(boss.text(done.location))
    assert delivery(desk, message).status is crmkit.OutboxStatus.SENT


# -- 回复 and 退订名单 ---------------------------------------------------------------------------
def test_replies_are_recorded_and_listed_and_t_unsubscribes(desk: Desk) -> None:
    admin = desk.browser("admin")
    done = admin.post("/sms/replies/", {"sender": "138 0013 8000", "text": "好的，下周见"})
    assert "回复已登记" in flashes(admin.text(done.location))
    admin.post("/sms/replies/", {"sender": "13700001111", "text": "T"})
    table = part(admin.text("/sms/replies/"), "replies")
    assert "好的，下周见" in table and "青岛金智电子科技有限公司" in table
    assert "上海四通贸易有限公司" in table and "已退订" in table
    bad = admin.post("/sms/replies/", {"sender": "不是号码", "text": "?"}).get_data(as_text=True)
    assert error_near(bad, "reply-sender")
    opt_outs = part(admin.text("/sms/opt-outs/"), "opt-outs")
    assert "137 0000 1111" in opt_outs and "上海四通贸易有限公司" in opt_outs
    zhang = desk.browser("zhang")
    assert 'id="reply-form"' not in zhang.text("/sms/replies/")  # recording is for managers
    assert zhang.post("/sms/replies/", {"sender": "13800138000", "text": "x"}).status_code == 403


def test_numbers_are_put_on_and_taken_off_the_unsubscribe_list(desk: Desk) -> None:
    zhang = desk.browser("zhang")
    done = zhang.post("/sms/opt-outs/", {"recipient": "139 0000 1111", "reason": "客户要求"})
    assert "139 0000 1111 在退订名单中" in flashes(zhang.text(done.location))
    with desk.session() as s:
        assert s.messages.is_unsubscribed("+8613900001111")
    found = zhang.text("/sms/opt-outs/?lookup=13900001111")
    assert "139 0000 1111 在退订名单中" in text_of(found) and 'id="opt-out-remove"' in found
    zhang.post("/sms/opt-outs/", {"recipient": "+8613900001111", "remove": "1"})
    with desk.session() as s:
        assert not s.messages.is_unsubscribed("+8613900001111")
    assert "不在退订名单中" in text_of(zhang.text("/sms/opt-outs/?lookup=13900001111"))
    bad = zhang.post("/sms/opt-outs/", {"recipient": "123"}).get_data(as_text=True)
    assert error_near(bad, "opt-out-recipient")


def test_the_whole_unsubscribe_list_is_shown_in_pages(desk: Desk) -> None:
    with desk.session() as s:
        s.messages.receive("13700001111", "以后别发了")  # the number is 上海四通's
        s.messages.unsubscribe("13700001111", reason="电话投诉")
        for n in range(52):
            s.messages.unsubscribe(f"139{n:08d}")
        s.messages.unsubscribe("buyer@example.com", channel="email")
    zhang = desk.browser("zhang")
    first = zhang.text("/sms/opt-outs/")
    assert first.count('class="opt-out-row"') == 50
    after = re.search(r'href="(/sms/opt-outs/\?after=[^"]*)"', first)
    assert after is not None
    rest = zhang.text(html.unescape(after.group(1)))
    assert rest.count('class="opt-out-row"') == 4
    assert "第一页" in rest
    rows = part(first, "opt-outs") + part(rest, "opt-outs")
    assert "139 0000 0000" in rows and "139 0000 0051" in rows
    assert "137 0000 1111 短信 电话投诉" in rows and "buyer@example.com 邮件" in rows
    assert "管理员" in rows  # who put them on the list
    assert "上海四通" not in rows  # 李小明's customer: 张三 sees the number, not whose it is
    boss = desk.browser("boss")
    pages = boss.text("/sms/opt-outs/") + boss.text(html.unescape(after.group(1)))
    assert "上海四通贸易有限公司" in text_of(pages)


def test_a_row_of_the_list_is_taken_off_it(desk: Desk) -> None:
    with desk.session() as s:
        s.messages.unsubscribe("13700001111")
        s.messages.unsubscribe("buyer@example.com", channel="email")
    zhang = desk.browser("zhang")
    page = zhang.text("/sms/opt-outs/")
    assert page.count('opt-out-row-remove"') == 2
    done = zhang.post(
        "/sms/opt-outs/", {"recipient": "buyer@example.com", "channel": "email", "remove": "1"}
    )
    assert "已将 buyer@example.com 移出退订名单" in flashes(zhang.text(done.location))
    with desk.session() as s:
        assert not s.messages.is_unsubscribed("buyer@example.com")
        assert s.messages.is_unsubscribed("+8613700001111")


def test_a_whole_number_is_looked_up_in_the_list(desk: Desk) -> None:
    with desk.session() as s:
        s.messages.unsubscribe("13700001111")
    zhang = desk.browser("zhang")
    found = zhang.text("/sms/opt-outs/?lookup=137 0000 1111")
    assert "137 0000 1111 在退订名单中" in text_of(found)
    assert 'id="opt-out-clear"' in found


def test_the_list_is_searched_by_part_of_a_number(desk: Desk) -> None:
    with desk.session() as s:
        for number in ("13700001111", "13900002222", "13900003333"):
            s.messages.unsubscribe(number)
    zhang = desk.browser("zhang")
    page = zhang.text("/sms/opt-outs/?lookup=0000 2222")
    table = part(page, "opt-outs")
    assert "139 0000 2222" in table and "137 0000 1111" not in table
    assert 'id="opt-out-not-narrowed"' not in page
    nothing = part(zhang.text("/sms/opt-outs/?lookup=555"), "opt-outs")
    assert "没有匹配的号码" in nothing


# -- the demo ----------------------------------------------------------------------------------
def test_the_demo_has_messages_in_every_state_and_plans_running(tmp_path: Path) -> None:
    from admin.demo import seed
    from crmkit.testing import open_test_crm

    url = f"sqlite:///{tmp_path}/demo.db"
    seed(url, customers=24)
    crm = open_test_crm(url)
    try:
        with crm.session(actor=crmkit.SYSTEM) as s:
            messages = s.messages.list(limit=500).items
            statuses = {s.messages.status(m) for m in messages}
            replies = [m for m in messages if m.direction is crmkit.Direction.IN]
            enrolments = s.sfa.enrolments(limit=100).items
            templates = s.messages.templates.list(limit=50).items
            unsent = s.messages.unsent()
            opted_out = [m for m in replies if s.messages.is_unsubscribed(m.recipient)]
            tasks = s.tasks.list(source="sfa", limit=50).items
    finally:
        crm.close()
    assert {
        crmkit.OutboxStatus.SENT,
        crmkit.OutboxStatus.DEAD,
        crmkit.OutboxStatus.PENDING,
        crmkit.OutboxStatus.UNKNOWN,
    } <= statuses
    assert {m.source for m in messages} >= {
        crmkit.MessageSource.SFA,
        crmkit.MessageSource.MANUAL,
        crmkit.MessageSource.GROUP,
        crmkit.MessageSource.REPLY,
    }
    assert len(replies) == 2 and len(opted_out) == 1
    assert {e.status for e in enrolments} >= {
        crmkit.EnrolmentStatus.ACTIVE,
        crmkit.EnrolmentStatus.PAUSED,
    }
    assert any(e.anchor < e.created_at.date() for e in enrolments)  # 中途启用
    assert {t.channel for t in templates} == {crmkit.Channel.SMS, crmkit.Channel.EMAIL}
    assert any(t.marketing for t in templates)
    assert len(unsent) >= 3 and tasks
