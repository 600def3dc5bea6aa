"""Inbound SMS callbacks reach the message log: a reply is stored against the customer whose
mobile sent it (``T`` unsubscribes them), a stranger's reply is kept without a customer, a
repeated push is stored once and delivery reports are only counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import crmkit
from crmkit import Direction, MessageSource
from crmkit.adapters.sms_callbacks import (
    CallbackResult,
    parse_aliyun_replies,
    parse_aliyun_reports,
    parse_tencent_replies,
    record_callbacks,
)
from crmkit.testing import open_test_crm
from crmkit.testing.clocks import ManualClock

NOON = datetime(2026, 5, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def crm():
    crm = open_test_crm(None, clock=ManualClock(NOON))
    yield crm
    crm.close()


@pytest.fixture
def customer(crm):
    with crm.session(actor=crmkit.SYSTEM) as s:
        return s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")


def _aliyun_reply(phone: str, text: str, sent: str = "2026-05-20 11:58:00") -> bytes:
    item = {
        "phone_number": phone,
        "send_time": sent,
        "content": text,
        "sign_name": "金智电子",
        "dest_code": "1234",
        "sequence_id": 1234567890,
    }
    return json.dumps([item], ensure_ascii=False).encode()


def test_a_t_reply_is_logged_against_the_customer_and_unsubscribes_their_number(crm, customer):
    with crm.session(actor=crmkit.SYSTEM) as s:
        assert not s.messages.is_unsubscribed("+8613800138000")
        result = record_callbacks(s, parse_aliyun_replies(_aliyun_reply("13800138000", "T")))
    assert result == CallbackResult(replies=1, reports=0, unknown=0)
    with crm.session(actor=crmkit.SYSTEM) as s:
        (message,) = s.messages.for_customer(customer.id)
        assert message.direction is Direction.IN
        assert message.source is MessageSource.REPLY
        assert (message.recipient, message.text) == ("+8613800138000", "T")
        assert message.at == datetime(2026, 5, 20, 3, 58, tzinfo=UTC)  # China time, as UTC
        assert s.messages.is_unsubscribed("+8613800138000")


def test_a_reply_from_an_unknown_number_is_kept_without_a_customer(crm, customer):
    with crm.session(actor=crmkit.SYSTEM) as s:
        result = record_callbacks(
            s, parse_aliyun_replies(_aliyun_reply("13900139000", "请问你们是哪家公司？"))
        )
    assert result == CallbackResult(replies=1, reports=0, unknown=1)
    with crm.session(actor=crmkit.SYSTEM) as s:
        (message,) = s.messages.list(recipient="+8613900139000").items
        assert message.customer_id is None
        assert message.direction is Direction.IN
        assert message.text == "请问你们是哪家公司？"
        assert not s.messages.is_unsubscribed("+8613900139000")  # not an opt-out word
        assert s.messages.for_customer(customer.id) == []


def test_a_push_repeated_by_the_provider_is_stored_once(crm, customer):
    body = _aliyun_reply("13800138000", "好的，明天下午可以")
    with crm.session(actor=crmkit.SYSTEM) as s:
        assert record_callbacks(s, parse_aliyun_replies(body)).replies == 1
    with crm.session(actor=crmkit.SYSTEM) as s:
        again = record_callbacks(s, parse_aliyun_replies(body))
    assert again == CallbackResult(replies=0, reports=0, unknown=0, duplicates=1)
    with crm.session(actor=crmkit.SYSTEM) as s:
        assert len(s.messages.for_customer(customer.id)) == 1


def test_tencent_replies_and_delivery_reports_in_one_batch(crm, customer):
    reply = {
        "extend": "",
        "mobile": "13800138000",
        "nationcode": "86",
        "sign": "金智电子",
        "text": "退订",
        "time": int(NOON.timestamp()) - 60,
    }
    report = {
        "phone_number": "13800138000",
        "send_time": "2026-05-20 11:50:00",
        "report_time": "2026-05-20 11:50:04",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "932702304080415357^0",
        "out_id": "msg:01a2",
    }
    items = [
        *parse_tencent_replies(json.dumps(reply, ensure_ascii=False).encode()),
        *parse_aliyun_reports(json.dumps([report], ensure_ascii=False).encode()),
    ]
    with crm.session(actor=crmkit.SYSTEM) as s:
        result = record_callbacks(s, items)
    assert result == CallbackResult(replies=1, reports=1, unknown=0)
    with crm.session(actor=crmkit.SYSTEM) as s:
        (message,) = s.messages.for_customer(customer.id)
        assert (message.text, message.at) == ("退订", datetime(2026, 5, 20, 3, 59, tzinfo=UTC))
        assert s.messages.is_unsubscribed("+8613800138000")
