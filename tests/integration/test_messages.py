"""The SMS centre on every backend: templates with variables and a preview, the signature and
segment count, marketing opt-outs and quiet hours, group sends by tag and birthday, the
message log with delivery status, the unsent list with retry and decisions, replies, and
dispatch in batches with results per recipient."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmkit import (
    Channel,
    Direction,
    OutboxStatus,
    PermissionDenied,
    ValidationError,
    WorkflowError,
)
from crmkit.testing import open_test_crm
from crmkit.testing.clocks import ManualClock
from crmkit.testing.notifiers import BatchingNotifier, ScriptedNotifier

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 5, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def notifier() -> BatchingNotifier:
    return BatchingNotifier(refuse={"+8613800138003"})


@pytest.fixture
def crm(backend_url, clock, notifier):
    crm = open_test_crm(backend_url, clock=clock, notifier=notifier)
    yield crm
    crm.close()


@pytest.fixture
def customers(crm, team):
    with crm.session(actor=team["admin"]) as s:
        s.messages.templates.create(
            code="birthday", name="生日祝福", body="{name}，祝您生日快乐！{业务员}敬上"
        )
        s.messages.templates.create(
            code="promo", name="促销", body="{name}：五月新品八折。", marketing=True
        )
        s.messages.templates.create(code="holiday", name="节日问候", body="端午安康！")
        s.messages.templates.create(
            code="notice", name="通知邮件", channel="email", subject="致{name}", body="您好"
        )
        return [
            s.customers.create(
                kind="individual",
                name=name,
                mobile=mobile,
                owner_id=team["zhang"].id,
                tags=tags,
                birthday=birthday,
                email=email,
            )
            for name, mobile, tags, birthday, email in (
                ("张伟", "13800138001", ["VIP"], date(1990, 5, 20), "zw@example.com"),
                ("李娜", "13800138002", ["VIP"], date(1985, 7, 1), None),
                ("王芳", "13800138003", ["VIP"], date(1979, 5, 20), None),
                ("赵磊", None, [], date(1992, 5, 20), None),
            )
        ]


def test_a_templated_sms_carries_the_signature_and_goes_out_once(crm, team, customers, notifier):
    with crm.session(actor=team["zhang"]) as s:
        preview = s.messages.preview(template="birthday", customer_id=customers[0].id)
        assert preview.text == "【crmkit】张伟，祝您生日快乐！张三敬上"
        assert (preview.characters, preview.segments) == (len(preview.text), 1)
        message = s.messages.send_sms(customer_id=customers[0].id, template="birthday")
        assert (message.direction, message.channel, message.text) == (
            Direction.OUT,
            Channel.SMS,
            preview.text,
        )
        assert s.messages.status(message) is OutboxStatus.PENDING
    crm.dispatch()
    crm.dispatch()
    assert [(m.recipient, m.payload["text"]) for m in notifier.sent] == [
        ("+8613800138001", preview.text)
    ]
    with crm.session(actor=team["zhang"]) as s:
        (logged,) = s.messages.for_customer(customers[0].id)
        assert s.messages.status(logged) is OutboxStatus.SENT
    with crm.session(actor=team["other"]) as s:
        assert s.messages.for_customer(customers[0].id) == []


def test_bad_messages_are_refused_with_each_field_named_in_zh_and_en(crm, team, customers):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(PermissionDenied):  # managers and admins keep templates
            s.messages.templates.create(code="x", name="x", body="您好")
    with crm.session(actor=team["admin"]) as s:
        with pytest.raises(ValidationError) as unknown:
            s.messages.templates.create(code="x", name="x", body="{name}，您的{积分}已到账")
        assert unknown.value.fields == ("body",)
        assert "使用了不可用的变量 积分" in unknown.value.message("zh")
        assert "names the variable 积分, which is not available" in unknown.value.message("en")
        with pytest.raises(ValidationError) as long:
            s.messages.templates.create(code="long", name="长", body="好" * 200)
        assert "条短信，超过上限 3 条" in long.value.message("zh")
        assert "SMS segments long, more than the 3 allowed" in long.value.message("en")
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(ValidationError) as too_long:
            s.messages.send_sms(customer_id=customers[0].id, text="您好" * 120)
        assert too_long.value.fields == ("text",)
        with pytest.raises(ValidationError) as nowhere:
            s.messages.send_sms(customer_id=customers[3].id, template="birthday")
        assert "没有可发送的手机号或邮箱" in nowhere.value.message("zh")
        with pytest.raises(ValidationError) as bad_number:
            s.messages.send_sms(to="12345", text="您好")
        assert bad_number.value.fields == ("to",)
        with pytest.raises(ValidationError) as missing:
            s.messages.send_sms(customer_id=customers[0].id, template="no-such")
        assert "模板不存在" in missing.value.message("zh")
        assert "is not a template" in missing.value.message("en")


def test_marketing_honours_opt_outs_and_waits_out_the_quiet_hours(
    crm, team, customers, clock, notifier
):
    with crm.session(actor=team["admin"]) as s:
        reply = s.messages.receive("+86 138 0013 8002", "T")  # 李娜 unsubscribes
        assert reply.customer_id == customers[1].id
        assert s.messages.is_unsubscribed("+8613800138002")
    clock.set(datetime(2026, 5, 20, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    with crm.session(actor=team["zhang"]) as s:
        sent = s.messages.send_sms(customer_id=customers[0].id, template="promo")
        assert sent.text.endswith("回T退订")
        with pytest.raises(ValidationError) as opted_out:
            s.messages.send_sms(customer_id=customers[1].id, template="promo")
        assert "已退订营销信息" in opted_out.value.message("zh")
        s.messages.send_sms(customer_id=customers[1].id, template="birthday")  # not marketing
    crm.dispatch()
    assert [m.recipient for m in notifier.sent] == ["+8613800138002"]
    clock.set(datetime(2026, 5, 21, 0, 0, tzinfo=UTC))  # 08:00 the next morning
    crm.dispatch()
    assert [m.recipient for m in notifier.sent] == ["+8613800138002", "+8613800138001"]


def test_a_group_send_by_birthday_reaches_each_once_and_reports_who_was_left_out(
    crm, team, customers, notifier
):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(PermissionDenied):
            s.messages.group_send(template="birthday", tag="VIP")
    with crm.session(actor=team["boss"]) as s:
        report = s.messages.group_send(template="birthday", birthday=date(2026, 5, 20))
        assert (report.queued, report.no_address, report.unsubscribed) == (2, 1, 0)
        assert s.messages.group_send(template="holiday", tag="VIP").queued == 3
        with pytest.raises(ValidationError) as nobody:
            s.messages.group_send(template="promo")
        assert "请选择发送对象" in nobody.value.message("zh")
    crm.dispatch()
    # the same text to many goes as one batch (personalised ones one by one); 王芳's
    # number is refused inside the batch, alone
    assert notifier.batches == [3]
    assert sorted(m.recipient for m in notifier.sent) == [
        "+8613800138001",
        "+8613800138001",
        "+8613800138002",
    ]
    with crm.session(actor=team["boss"]) as s:
        unsent = s.messages.unsent()
        assert sorted(m.recipient for m, _ in unsent) == ["+8613800138003"] * 2
        assert {row.status for _, row in unsent} == {OutboxStatus.DEAD}
        assert "refused" in (unsent[0][1].last_error or "")
    notifier.refuse.clear()
    with crm.session(actor=team["zhang"]) as s:
        again = s.messages.retry(unsent[0][0].id)
        assert again.status is OutboxStatus.PENDING
        with pytest.raises(WorkflowError):
            s.messages.retry(unsent[0][0].id)
    crm.dispatch()
    assert [m.recipient for m in notifier.sent].count("+8613800138003") == 1


def test_an_email_goes_to_the_customers_address_with_its_subject(crm, team, customers, notifier):
    with crm.session(actor=team["zhang"]) as s:
        message = s.messages.send_email(customer_id=customers[0].id, template="notice")
        assert (message.recipient, message.subject) == ("zw@example.com", "致张伟")
    crm.dispatch()
    (mail,) = notifier.sent
    assert (mail.channel, mail.payload["subject"], mail.payload["text"]) == (
        "email",
        "致张伟",
        "您好",
    )


def test_a_message_in_doubt_is_listed_unsent_until_a_person_decides(backend_url):
    clock = ManualClock(NOON)
    scripted = ScriptedNotifier().time_out(delivered=True)
    scripted.knows_status = False  # the gateway cannot say whether it went out
    crm = open_test_crm(backend_url, clock=clock, notifier=scripted)
    try:
        admin = crm.bootstrap_admin("管理员", "admin-pass-1")
        with crm.session(actor=admin) as s:
            customer = s.customers.create(kind="individual", name="周杰", mobile="13900139000")
            message = s.messages.send_sms(customer_id=customer.id, text="您好")
        crm.dispatch()  # timed out: in doubt, never resent blindly
        for _ in range(4):  # asked about until the checks run out
            clock.advance(timedelta(hours=1))
            crm.dispatch()
        assert len(scripted.attempts) == 1
        with crm.session(actor=admin) as s:
            ((listed, row),) = s.messages.unsent()
            assert (listed.id, row.status) == (message.id, OutboxStatus.REVIEW)
            assert s.messages.resolve(message.id, sent=True).status is OutboxStatus.SENT
            assert s.messages.unsent() == []
            with pytest.raises(WorkflowError):
                s.messages.resolve(message.id, sent=False)
        crm.dispatch()
        assert len(scripted.attempts) == 1
    finally:
        crm.close()
