"""Inbound SMS callbacks: the four provider pushes parsed from bodies shaped as Aliyun's and
Tencent's documentation shows them, bad bodies refused with the item and field named, and the
gateway HMAC that authenticates the caller."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crmkit import CRMError
from crmkit.adapters.sms_callbacks import (
    CallbackError,
    CallbackProblem,
    DeliveryReport,
    InboundSms,
    acknowledgement,
    parse_aliyun_replies,
    parse_aliyun_reports,
    parse_callback,
    parse_tencent_replies,
    parse_tencent_reports,
    sign_callback,
    verify_callback,
)

# -- sample bodies, as the providers' pages show them (real numbers in place of masks) ---------
ALIYUN_REPLIES = json.dumps(
    [
        {
            "phone_number": "13800138000",
            "send_time": "2017-09-01 00:00:00",
            "content": "T",
            "sign_name": "金智电子",
            "dest_code": "1234",
            "sequence_id": 1234567890,
        },
        {  # the newer page writes sequence_id as a string and leaves sign_name out
            "phone_number": "13900139000",
            "content": "请回电",
            "send_time": "2017-09-01 08:30:15",
            "dest_code": "1234",
            "sequence_id": "1234567891",
        },
    ],
    ensure_ascii=False,
).encode()

ALIYUN_REPORTS = json.dumps(
    [
        {
            "phone_number": "13800138000",
            "send_time": "2017-01-01 00:00:00",
            "report_time": "2017-01-01 00:00:05",
            "success": True,
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": "932702304080415357^0",
            "out_id": "msg:01a2:+8613800138000",
        },
        {
            "phone_number": "13900139000",
            "send_time": "2017-01-01 00:00:00",
            "report_time": "2017-01-01 00:01:00",
            "success": False,
            "err_code": "MK:0001",
            "err_msg": "用户状态异常",
            "sms_size": "2",
            "biz_id": "932702304080415358^0",
        },
    ],
    ensure_ascii=False,
).encode()

TENCENT_REPLY = json.dumps(
    {
        "extend": "",
        "mobile": "13800138000",
        "nationcode": "86",
        "sign": "金智电子",
        "text": "退订",
        "time": 1457336869,
    },
    ensure_ascii=False,
).encode()

TENCENT_REPORTS = json.dumps(
    [
        {
            "user_receive_time": "2015-10-17 08:03:04",
            "nationcode": "86",
            "mobile": "13800138000",
            "report_status": "SUCCESS",
            "errmsg": "DELIVRD",
            "description": "用户短信送达成功",
            "sid": "2019:538884*********",
        },
        {
            "user_receive_time": "2015-10-17 08:03:10",
            "nationcode": "852",
            "mobile": "91234567",
            "report_status": "FAIL",
            "errmsg": "MK:0005",
            "description": "用户短信接收失败",
            "sid": "2019:538885*********",
        },
    ],
    ensure_ascii=False,
).encode()


def _china(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)


# -- the four pushes -----------------------------------------------------------------------
def test_aliyun_replies_come_out_with_e164_senders_and_utc_times():
    first, second = parse_aliyun_replies(ALIYUN_REPLIES)
    assert first == InboundSms(
        sender="+8613800138000",
        text="T",
        at=datetime(2017, 8, 31, 16, 0, tzinfo=UTC),  # midnight in China
        provider="aliyun",
        reference="1234567890",
        extension="1234",
        sign_name="金智电子",
    )
    assert (second.sender, second.text, second.reference) == (
        "+8613900139000",
        "请回电",
        "1234567891",
    )
    assert second.sign_name is None
    assert second.at == _china(2017, 9, 1, 8, 30, 15)
    assert second.at.tzinfo is UTC


def test_aliyun_reports_say_delivered_or_why_not_and_lead_back_to_the_outbox_key():
    delivered, failed = parse_aliyun_reports(ALIYUN_REPORTS)
    assert delivered == DeliveryReport(
        recipient="+8613800138000",
        delivered=True,
        code="DELIVERED",
        at=_china(2017, 1, 1, 0, 0, 5),
        reference="932702304080415357^0",
        client_reference="msg:01a2:+8613800138000",
        provider="aliyun",
        description="用户接收成功",
    )
    assert delivered.outbox_key == "msg:01a2:+8613800138000"
    assert (failed.delivered, failed.code, failed.client_reference) == (False, "MK:0001", None)
    assert failed.outbox_key is None


def test_a_tencent_reply_is_one_object_with_unix_seconds_and_a_nationcode():
    (reply,) = parse_tencent_replies(TENCENT_REPLY)
    assert reply == InboundSms(
        sender="+8613800138000",
        text="退订",
        at=datetime(2016, 3, 7, 7, 47, 49, tzinfo=UTC),
        provider="tencent",
        reference=None,
        extension=None,  # "" when the channel has no extension code
        sign_name="金智电子",
    )


def test_tencent_reports_map_success_and_fail_and_join_the_nationcode():
    ok, fail = parse_tencent_reports(TENCENT_REPORTS)
    assert (ok.recipient, ok.delivered, ok.code, ok.reference) == (
        "+8613800138000",
        True,
        "DELIVRD",
        "2019:538884*********",
    )
    assert ok.at == _china(2015, 10, 17, 8, 3, 4)
    assert ok.client_reference is None  # Tencent's documented push carries none
    assert (fail.recipient, fail.delivered, fail.code) == ("+85291234567", False, "MK:0005")
    assert fail.description == "用户短信接收失败"


def test_an_empty_batch_is_no_items():
    assert parse_aliyun_replies(b"[]") == []
    assert parse_tencent_reports(b" [ ] ") == []


def test_parse_callback_routes_by_provider_and_kind():
    assert parse_callback("tencent", "reply", TENCENT_REPLY) == parse_tencent_replies(TENCENT_REPLY)
    assert len(parse_callback("aliyun", "report", ALIYUN_REPORTS)) == 2
    with pytest.raises(ValueError, match="no SMS callback 'aliyun'/'status'"):
        parse_callback("aliyun", "status", ALIYUN_REPORTS)


def test_each_provider_has_its_acknowledgement():
    assert acknowledgement("aliyun") == {"code": 0, "msg": "接收成功"}
    assert acknowledgement("tencent") == {"result": 0, "errmsg": "OK"}
    with pytest.raises(ValueError, match="unknown SMS provider"):
        acknowledgement("huawei")


# -- times and numbers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2017-01-01 00:00:00", datetime(2016, 12, 31, 16, 0, tzinfo=UTC)),
        ("20170901000000", datetime(2017, 8, 31, 16, 0, tzinfo=UTC)),
        ("2017-09-01T08:00:00+08:00", datetime(2017, 9, 1, 0, 0, tzinfo=UTC)),
        ("2017-09-01T00:00:00Z", datetime(2017, 9, 1, 0, 0, tzinfo=UTC)),
        (1457336869, datetime(2016, 3, 7, 7, 47, 49, tzinfo=UTC)),
        ("1457336869", datetime(2016, 3, 7, 7, 47, 49, tzinfo=UTC)),
    ],
)
def test_times_in_china_time_or_unix_seconds_become_aware_utc(written, expected):
    body = json.dumps([{"phone_number": "13800138000", "send_time": written, "content": "T"}])
    (reply,) = parse_aliyun_replies(body.encode())
    assert reply.at == expected
    assert reply.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0085291234567", "+85291234567"),  # Aliyun's form for numbers abroad
        ("85291234567", "+85291234567"),  # a country code without 00: no Chinese number
    ],
)
def test_aliyun_numbers_become_e164(written, expected):
    body = json.dumps([{"phone_number": written, "send_time": 1457336869, "content": "T"}])
    assert parse_aliyun_replies(body.encode())[0].sender == expected


@pytest.mark.parametrize(
    ("nationcode", "mobile", "expected"),
    [
        ("86", "13800138000", "+8613800138000"),
        ("+86", "13800138000", "+8613800138000"),
        ("852", "91234567", "+85291234567"),
        ("1", "2025550123", "+12025550123"),
        (None, "+8613800138000", "+8613800138000"),  # the international push has none
        (None, "13800138000", "+8613800138000"),
    ],
)
def test_tencent_numbers_take_their_nationcode(nationcode, mobile, expected):
    item = {"mobile": mobile, "text": "T", "time": 1457336869}
    if nationcode is not None:
        item["nationcode"] = nationcode
    assert parse_tencent_replies(json.dumps(item).encode())[0].sender == expected


# -- bad bodies ----------------------------------------------------------------------------
def _reply(**changes):
    item = {"phone_number": "13800138000", "send_time": "2017-09-01 00:00:00", "content": "T"}
    item.update(changes)
    return {k: v for k, v in item.items() if v is not ...}


@pytest.mark.parametrize(
    ("body", "item", "field", "says"),
    [
        (b"", None, None, "Aliyun reply: the body is empty"),
        (b'[{"phone_number": ', None, None, "the body is not JSON"),
        (b"\xff\xfe[]", None, None, "the body is not UTF-8"),
        (b'"T"', None, None, "expected a JSON array of objects, got a string"),
        (b"[{}, 5]", 1, None, "item 1: expected an object, got a number"),
        ([_reply(), _reply(content=...)], 1, "content", "item 1: field 'content' is missing"),
        ([_reply(content=None)], 0, "content", "field 'content' is null"),
        ([_reply(content=["T"])], 0, "content", "should be a string, not an array"),
        (
            [_reply(phone_number="1381111****")],
            0,
            "phone_number",
            "field 'phone_number' is not a phone number: '1381111****'",
        ),
        ([_reply(send_time="yesterday")], 0, "send_time", "is not a time: 'yesterday'"),
        ([_reply(send_time="2017-02-30 00:00:00")], 0, "send_time", "is not a time"),
        ([_reply(send_time=True)], 0, "send_time", "is not a time: True"),
    ],
)
def test_a_bad_aliyun_reply_body_names_the_item_and_field(body, item, field, says):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(CallbackError) as refused:
        parse_aliyun_replies(raw)
    assert says in str(refused.value)
    assert (refused.value.item, refused.value.field) == (item, field)
    assert refused.value.problem is CallbackProblem.MALFORMED
    assert refused.value.provider == "aliyun"
    assert not refused.value.authentication
    assert isinstance(refused.value, CRMError)


def test_a_report_whose_success_is_not_a_boolean_is_refused():
    body = json.loads(ALIYUN_REPORTS)
    body[1]["success"] = "yes"
    with pytest.raises(CallbackError, match=r"report item 1: field 'success' should be true"):
        parse_aliyun_reports(json.dumps(body).encode())
    body[1]["success"] = "false"  # a gateway that re-encoded the JSON
    assert parse_aliyun_reports(json.dumps(body).encode())[1].delivered is False


def test_a_tencent_report_with_an_unknown_status_or_country_code_is_refused():
    body = json.loads(TENCENT_REPORTS)
    body[0]["report_status"] = "PENDING"
    with pytest.raises(CallbackError, match="item 0: field 'report_status' should be SUCCESS"):
        parse_tencent_reports(json.dumps(body).encode())
    body = json.loads(TENCENT_REPORTS)
    body[1]["nationcode"] = "HK"
    with pytest.raises(CallbackError, match="item 1: field 'nationcode' is not a country code"):
        parse_tencent_reports(json.dumps(body).encode())


def test_a_tencent_reply_without_its_time_is_refused():
    body = json.loads(TENCENT_REPLY)
    del body["time"]
    with pytest.raises(CallbackError, match="Tencent reply item 0: field 'time' is missing"):
        parse_tencent_replies(json.dumps(body).encode())


# -- the gateway's signature ---------------------------------------------------------------
SECRET = "s3cr3t-shared-with-the-gateway"
NOW = datetime(2026, 5, 20, 4, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(
        SECRET.encode(), f"{STAMP}.".encode() + ALIYUN_REPLIES, hashlib.sha256
    ).hexdigest()
    assert sign_callback(SECRET, ALIYUN_REPLIES, STAMP) == expected


def test_a_signed_body_verifies_within_the_window_either_way():
    for offset in (0, -300, 300, -299, 42):
        stamp = STAMP + offset
        signature = sign_callback(SECRET, ALIYUN_REPLIES, stamp)
        verify_callback(SECRET, ALIYUN_REPLIES, str(stamp), signature, now=NOW)
    # Headers as a gateway may write them: padded, upper-case hex.
    signature = sign_callback(SECRET, ALIYUN_REPLIES, STAMP).upper()
    verify_callback(SECRET, ALIYUN_REPLIES, f" {STAMP} ", f" {signature} ", now=NOW)


def _refusal(body=ALIYUN_REPLIES, stamp=str(STAMP), signature=None, *, secret=SECRET, **kw):
    if signature is None:
        signature = sign_callback(SECRET, ALIYUN_REPLIES, STAMP)
    with pytest.raises(CallbackError) as refused:
        verify_callback(secret, body, stamp, signature, now=NOW, **kw)
    assert refused.value.authentication
    return refused.value


def test_a_tampered_body_or_another_secret_does_not_verify():
    tampered = ALIYUN_REPLIES.replace(b'"T"', b'"Y"')
    assert _refusal(tampered).problem is CallbackProblem.BAD_SIGNATURE
    assert _refusal(secret="another").problem is CallbackProblem.BAD_SIGNATURE
    # The timestamp is signed too: moving it breaks the signature.
    assert _refusal(stamp=str(STAMP + 1)).problem is CallbackProblem.BAD_SIGNATURE
    # Not hex at all, or not even ASCII: refused the same way, never a TypeError.
    assert _refusal(signature="签名").problem is CallbackProblem.BAD_SIGNATURE
    assert "does not match" in str(_refusal(signature="00" * 32))


def test_stale_and_future_timestamps_are_refused_even_when_signed():
    old = STAMP - 301
    stale = _refusal(stamp=str(old), signature=sign_callback(SECRET, ALIYUN_REPLIES, old))
    assert stale.problem is CallbackProblem.STALE
    assert "signed 301 s ago" in str(stale)
    ahead = STAMP + 301
    future = _refusal(stamp=str(ahead), signature=sign_callback(SECRET, ALIYUN_REPLIES, ahead))
    assert future.problem is CallbackProblem.FUTURE
    narrow = _refusal(
        stamp=str(STAMP - 61),
        signature=sign_callback(SECRET, ALIYUN_REPLIES, STAMP - 61),
        window=60,
    )
    assert narrow.problem is CallbackProblem.STALE


def test_missing_or_unreadable_headers_are_refused_by_name():
    missing_stamp = _refusal(stamp=None)
    assert missing_stamp.problem is CallbackProblem.MISSING_HEADER
    assert missing_stamp.field == "X-Crmkit-Timestamp"
    assert "X-Crmkit-Timestamp header is missing" in str(missing_stamp)
    missing_signature = _refusal(signature="  ")
    assert (missing_signature.problem, missing_signature.field) == (
        CallbackProblem.MISSING_HEADER,
        "X-Crmkit-Signature",
    )
    for stamp in ("1.7e9", "-1", "yesterday", str(STAMP) + "000000"):
        assert _refusal(stamp=stamp).problem is CallbackProblem.BAD_TIMESTAMP


def test_misuse_is_a_programming_error_not_a_refused_callback():
    with pytest.raises(ValueError, match="must not be empty"):
        sign_callback("", ALIYUN_REPLIES, STAMP)
    signature = sign_callback(SECRET, ALIYUN_REPLIES, STAMP)
    with pytest.raises(ValueError, match="aware"):
        verify_callback(SECRET, ALIYUN_REPLIES, str(STAMP), signature, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="positive"):
        verify_callback(SECRET, ALIYUN_REPLIES, str(STAMP), signature, now=NOW, window=0)
