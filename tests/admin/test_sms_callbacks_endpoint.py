"""The SMS providers' pushes at ``POST /callbacks/sms/<provider>/<kind>``: signed by the
gateway in front of the admin (crmkit's HMAC), called without a login or a CSRF token,
stored as ``crmkit.SYSTEM``; refused with 401 when the signature does not hold, 400 when the
body is not the provider's, and off while no secret is configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import crmkit
from crmkit.adapters.sms_callbacks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_callback
from crmkit.testing import ManualClock
from tests.admin.conftest import admin_app
from tests.admin.messaging_desk import Desk, open_desk
from tests.admin.pages import part

SECRET = "gateway-shared-secret"
# The test clock stands at 2026-01-01 01:00 UTC: 09:00 in China time, as providers write it.
ALIYUN_REPLY = [
    {
        "phone_number": "13800138000",
        "content": "T",
        "send_time": "2026-01-01 08:58:00",
        "sign_name": "金智电子",
        "dest_code": "1234",
        "sequence_id": 1234567,
    }
]
TENCENT_REPORT = [
    {
        "mobile": "13800138000",
        "nationcode": "86",
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户接收成功",
        "user_receive_time": "2026-01-01 08:59:00",
        "sid": "2019:1234567890",
    }
]


@pytest.fixture
def desk(tmp_path: Path, clock: ManualClock) -> Iterator[Desk]:
    yield from open_desk(tmp_path, clock, CRMKIT_SMS_CALLBACK_SECRET=SECRET)


def push(
    app: Flask,
    path: str,
    body: bytes,
    *,
    secret: str = SECRET,
    at: int | None = None,
    clock: ManualClock | None = None,
) -> Any:
    """POST ``body`` as the gateway does: signed with ``secret`` at ``at`` (unix seconds;
    the clock's now by default), no login, no CSRF token."""
    if at is None:
        assert clock is not None
        at = int(clock.now().timestamp())
    headers = {
        TIMESTAMP_HEADER: str(at),
        SIGNATURE_HEADER: sign_callback(secret, body, at),
        "Content-Type": "application/json",
    }
    return app.test_client().post(path, data=body, headers=headers)


def encoded(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def inbound(desk: Desk) -> list[crmkit.Message]:
    return [m for m in desk.messages() if m.direction is crmkit.Direction.IN]


def test_a_signed_aliyun_t_is_stored_against_the_customer_and_unsubscribes_the_number(
    desk: Desk,
) -> None:
    body = encoded(ALIYUN_REPLY)
    answered = push(desk.app, "/callbacks/sms/aliyun/reply", body, clock=desk.clock)
    assert answered.status_code == 200
    assert answered.get_json() == {"code": 0, "msg": "接收成功"}
    assert "Set-Cookie" not in answered.headers  # no login session, no CSRF token
    (reply,) = inbound(desk)
    assert reply.customer_id == desk.mine.id and reply.recipient == "+8613800138000"
    assert reply.text == "T" and reply.source is crmkit.MessageSource.REPLY
    with desk.session() as s:
        assert s.messages.is_unsubscribed("+8613800138000")
    admin = desk.browser("admin")
    replies = part(admin.text("/sms/replies/"), "replies")
    assert "青岛金智电子科技有限公司" in replies and "已退订" in replies
    opt_outs = part(admin.text("/sms/opt-outs/"), "opt-outs")
    assert "138 0013 8000" in opt_outs


def test_a_push_sent_again_is_stored_once(desk: Desk) -> None:
    body = encoded(ALIYUN_REPLY)
    assert push(desk.app, "/callbacks/sms/aliyun/reply", body, clock=desk.clock).status_code == 200
    desk.clock.advance(timedelta(minutes=1))  # the provider did not see the answer: again
    assert push(desk.app, "/callbacks/sms/aliyun/reply", body, clock=desk.clock).status_code == 200
    assert len(inbound(desk)) == 1


def test_a_tencent_delivery_report_is_acknowledged(desk: Desk) -> None:
    answered = push(
        desk.app, "/callbacks/sms/tencent/report", encoded(TENCENT_REPORT), clock=desk.clock
    )
    assert answered.status_code == 200
    assert answered.get_json() == {"result": 0, "errmsg": "OK"}
    assert not desk.messages()


def test_a_wrong_signature_is_refused_and_nothing_is_stored(desk: Desk) -> None:
    body = encoded(ALIYUN_REPLY)
    wrong = push(desk.app, "/callbacks/sms/aliyun/reply", body, secret="guess", clock=desk.clock)
    assert wrong.status_code == 401 and wrong.get_json()["problem"] == "bad_signature"
    unsigned = desk.app.test_client().post("/callbacks/sms/aliyun/reply", data=body)
    assert unsigned.status_code == 401 and unsigned.get_json()["problem"] == "missing_header"
    # signed for one body, forwarded with another
    at = int(desk.clock.now().timestamp())
    swapped = desk.app.test_client().post(
        "/callbacks/sms/aliyun/reply",
        data=encoded([{**ALIYUN_REPLY[0], "content": "好的"}]),
        headers={TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign_callback(SECRET, body, at)},
    )
    assert swapped.status_code == 401
    assert not desk.messages()
    with desk.session() as s:
        assert not s.messages.is_unsubscribed("+8613800138000")


def test_a_stale_or_future_timestamp_is_refused(desk: Desk) -> None:
    body = encoded(ALIYUN_REPLY)
    now = int(desk.clock.now().timestamp())
    stale = push(desk.app, "/callbacks/sms/aliyun/reply", body, at=now - 301)
    assert stale.status_code == 401 and stale.get_json()["problem"] == "stale"
    ahead = push(desk.app, "/callbacks/sms/aliyun/reply", body, at=now + 301)
    assert ahead.status_code == 401 and ahead.get_json()["problem"] == "future"
    assert not desk.messages()


def test_a_body_that_is_not_the_providers_is_a_400_with_the_reason(desk: Desk) -> None:
    broken = push(desk.app, "/callbacks/sms/aliyun/reply", b'[{"phone_number": ', clock=desk.clock)
    assert broken.status_code == 400
    said = broken.get_json()
    assert said["problem"] == "malformed" and "not JSON" in said["error"]
    missing = push(
        desk.app, "/callbacks/sms/tencent/reply", encoded({"text": "T"}), clock=desk.clock
    )
    assert missing.status_code == 400 and "'mobile'" in missing.get_json()["error"]
    assert not desk.messages()


def test_only_the_four_pushes_are_answered(desk: Desk) -> None:
    body = encoded(ALIYUN_REPLY)
    unknown = push(desk.app, "/callbacks/sms/huawei/reply", body, clock=desk.clock)
    assert unknown.status_code == 404 and unknown.get_json()["problem"] == "unknown_callback"
    assert push(desk.app, "/callbacks/sms/aliyun/up", body, clock=desk.clock).status_code == 404
    got = desk.app.test_client().get(
        "/callbacks/sms/aliyun/reply", headers={"Accept": "application/json"}
    )
    assert got.status_code == 405
    assert not desk.messages()


def test_a_body_over_a_mebibyte_is_refused_unread(desk: Desk) -> None:
    huge = encoded([{**ALIYUN_REPLY[0], "content": "很" * 400_000}])
    answered = push(desk.app, "/callbacks/sms/aliyun/reply", huge, clock=desk.clock)
    assert answered.status_code == 413 and answered.get_json()["problem"] == "too_large"
    assert not desk.messages()


def test_without_a_secret_the_endpoint_is_off(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRMKIT_SMS_CALLBACK_SECRET", raising=False)
    with admin_app(tmp_path, clock) as app:
        answered = push(app, "/callbacks/sms/aliyun/reply", encoded(ALIYUN_REPLY), clock=clock)
        assert answered.status_code == 404
        said = answered.get_json()
        assert said["problem"] == "disabled" and "CRMKIT_SMS_CALLBACK_SECRET" in said["error"]
        with app.extensions["crmkit_admin"].crm.session(actor=crmkit.SYSTEM) as s:
            assert not s.messages.list(limit=10).items


def test_the_secret_is_read_from_the_environment(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMKIT_SMS_CALLBACK_SECRET", SECRET)
    with admin_app(tmp_path, clock) as app:
        answered = push(app, "/callbacks/sms/tencent/report", encoded(TENCENT_REPORT), clock=clock)
        assert answered.status_code == 200
