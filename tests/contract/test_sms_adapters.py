"""The Aliyun and Tencent SMS adapters, through their official SDKs, against local stubs."""

from __future__ import annotations

import json
import socket
import tomllib
import uuid
from collections.abc import Callable, Collection, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import attrs
import pytest

from crmkit.adapters.sms import AliyunSms, SmsGatewayError, SmsTemplate, TencentSms
from crmkit.testing.contract import NotifierContract
from crmkit.testing.sms_stubs import AliyunSmsStub, TencentSmsStub
from crmkit.workflows.notify import (
    BatchNotifier,
    DeliveryStatus,
    Notification,
    Notifier,
    NotifierError,
    NotifierTimeout,
    SendResult,
)

# The Tencent SDK signs with datetime.utcfromtimestamp, deprecated from Python 3.12 on.
pytestmark = pytest.mark.filterwarnings(
    "ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"
)

TIMEOUT = 0.3  # seconds: every hang in these tests costs this much

ALIYUN_TEMPLATES: dict[str, Any] = {
    "contract_test": "SMS_0001",
    "birthday": SmsTemplate("SMS_0002", ("name",)),
    "task.reminder": ("SMS_0003", ["title", "due"]),
}
ALIYUN_STUB_TEMPLATES = {"SMS_0001": ("name",), "SMS_0002": ("name",), "SMS_0003": ("title", "due")}
TENCENT_TEMPLATES: dict[str, Any] = {
    "contract_test": ("1001", ["name"]),
    "birthday": SmsTemplate("1002", ("name",)),
    "task.reminder": SmsTemplate("1003", ("title", "due")),
}
TENCENT_STUB_TEMPLATES = {"1001": 1, "1002": 1, "1003": 2}


def aliyun(stub: AliyunSmsStub, **options: Any) -> AliyunSms:
    options.setdefault("timeout", TIMEOUT)
    options.setdefault("templates", ALIYUN_TEMPLATES)
    options.setdefault("endpoint", stub.url)
    key_id = options.pop("access_key_id", stub.access_key_id)
    return AliyunSms(key_id, stub.access_key_secret, sign_name="crmkit", **options)


def tencent(stub: TencentSmsStub, **options: Any) -> TencentSms:
    options.setdefault("timeout", TIMEOUT)
    options.setdefault("templates", TENCENT_TEMPLATES)
    options.setdefault("endpoint", stub.url)
    secret_id = options.pop("secret_id", stub.secret_id)
    return TencentSms(
        secret_id, stub.secret_key, sdk_app_id=stub.sdk_app_id, sign_name="crmkit", **options
    )


def closed_port_url() -> str:
    """A local URL nothing listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def message(
    recipient: str = "+8613800138000", *, key: str | None = None, **payload: Any
) -> Notification:
    payload = payload or {"template": "birthday", "variables": {"name": "张三"}}
    return Notification(
        key=f"{key or uuid.uuid4().hex}:{recipient}",
        channel="sms",
        recipient=recipient,
        payload=payload,
    )


def batch(*recipients: str, **payload: Any) -> list[Notification]:
    key = f"campaign-{uuid.uuid4().hex}"
    return [message(r, key=key, **payload) for r in recipients]


# -- the contract ----------------------------------------------------------------------------
class TestAliyunSms(NotifierContract):
    @pytest.fixture(autouse=True)
    def _stub(self) -> Iterator[None]:
        with AliyunSmsStub(templates=ALIYUN_STUB_TEMPLATES, sign_names={"crmkit"}) as stub:
            self.stub = stub
            yield

    def make_notifier(self) -> Notifier:
        return aliyun(self.stub)

    def make_timing_out_notifier(self) -> Notifier:
        self.stub.hang()
        return aliyun(self.stub)

    def make_failing_notifier(self) -> Notifier:
        self.stub.fail_next("isv.AMOUNT_NOT_ENOUGH", message="账户余额不足")
        return aliyun(self.stub)

    def make_partly_failing_batch_notifier(self) -> tuple[Notifier, Collection[str]]:
        # Aliyun takes a batch whole or not at all; a number crmkit cannot even write the
        # way Aliyun wants is refused alone, before the request.
        return aliyun(self.stub), {"13800138009"}


class TestTencentSms(NotifierContract):
    @pytest.fixture(autouse=True)
    def _stub(self) -> Iterator[None]:
        with TencentSmsStub(templates=TENCENT_STUB_TEMPLATES, sign_names={"crmkit"}) as stub:
            self.stub = stub
            yield

    def make_notifier(self) -> Notifier:
        return tencent(self.stub)

    def make_timing_out_notifier(self) -> Notifier:
        self.stub.hang()
        return tencent(self.stub)

    def make_failing_notifier(self) -> Notifier:
        self.stub.fail_next("FailedOperation.InsufficientBalanceInSmsPackage")
        return tencent(self.stub)

    def make_partly_failing_batch_notifier(self) -> tuple[Notifier, Collection[str]]:
        self.stub.refuse("+8613800138001", code="FailedOperation.PhoneNumberInBlacklist")
        return tencent(self.stub), {"+8613800138001"}


class TestAliyunSmsRefusedConnection(NotifierContract):
    """The contract's failure case once more, with nothing listening at all."""

    @pytest.fixture(autouse=True)
    def _stub(self) -> Iterator[None]:
        with AliyunSmsStub() as stub:
            self.stub = stub
            yield

    def make_notifier(self) -> Notifier:
        return aliyun(self.stub)

    def make_failing_notifier(self) -> Notifier:
        return aliyun(self.stub, endpoint=closed_port_url())


# -- both gateways, the same rules ----------------------------------------------------------
@attrs.frozen
class Rig:
    """A stub and a way to make an adapter that talks to it."""

    provider: str
    stub: AliyunSmsStub | TencentSmsStub
    make: Callable[..., AliyunSms | TencentSms]
    bad_number_code: str


@pytest.fixture(params=["aliyun", "tencent"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    if request.param == "aliyun":
        with AliyunSmsStub(templates=ALIYUN_STUB_TEMPLATES) as a:
            yield Rig("aliyun", a, lambda **o: aliyun(a, **o), "isv.MOBILE_NUMBER_ILLEGAL")
    else:
        with TencentSmsStub(templates=TENCENT_STUB_TEMPLATES) as t:
            yield Rig(
                "tencent",
                t,
                lambda **o: tencent(t, **o),
                "InvalidParameterValue.IncorrectPhoneNumber",
            )


def refused(notifier: Notifier, m: Notification) -> NotifierError:
    with pytest.raises(NotifierError) as raised:
        notifier.send(m)
    return raised.value


def test_both_adapters_are_batch_notifiers_of_the_sms_channel(rig: Rig) -> None:
    notifier = rig.make()
    assert isinstance(notifier, BatchNotifier)
    assert notifier.channels == {"sms"}
    assert notifier.max_batch == {"aliyun": 100, "tencent": 200}[rig.provider]
    assert rig.make(channels=["sms", "sms-marketing"]).channels == {"sms", "sms-marketing"}


def test_a_throttled_message_is_retried_later(rig: Rig) -> None:
    rig.stub.throttle()
    error = refused(rig.make(), message())
    assert not isinstance(error, NotifierTimeout)
    assert error.retryable is True
    code = {"aliyun": "isv.BUSINESS_LIMIT_CONTROL", "tencent": "RequestLimitExceeded"}
    assert isinstance(error, SmsGatewayError) and error.code == code[rig.provider]
    assert code[rig.provider] in str(error) and "throttled" in str(error)


def test_a_number_the_provider_refuses_is_given_up(rig: Rig) -> None:
    rig.stub.refuse("+8613800138000")
    error = refused(rig.make(), message("+8613800138000"))
    assert not isinstance(error, NotifierTimeout)
    assert error.retryable is False
    assert isinstance(error, SmsGatewayError) and error.code == rig.bad_number_code
    assert rig.bad_number_code in str(error)


def test_a_recipient_not_in_e164_is_given_up_without_a_request(rig: Rig) -> None:
    error = refused(rig.make(), message("13800138000"))
    assert error.retryable is False
    assert "E.164" in str(error)
    assert rig.stub.actions == []


def test_a_template_code_without_a_mapping_is_given_up_without_a_request(rig: Rig) -> None:
    error = refused(rig.make(), message(template="no.such.template", name="张三"))
    assert not isinstance(error, NotifierTimeout)
    assert error.retryable is False
    assert "no.such.template" in str(error)
    assert rig.stub.actions == []


def test_a_variable_the_template_needs_and_the_payload_lacks_is_given_up(rig: Rig) -> None:
    error = refused(rig.make(), message(template="task.reminder", title="回访客户"))
    assert error.retryable is False
    assert "due" in str(error)
    assert rig.stub.actions == []


def test_a_template_the_provider_does_not_know_is_given_up(rig: Rig) -> None:
    notifier = rig.make(templates={"birthday": SmsTemplate("999999", ("name",))})
    error = refused(notifier, message())
    assert not isinstance(error, NotifierTimeout)
    assert error.retryable is False
    assert isinstance(error, SmsGatewayError) and error.code in (
        "isv.SMS_TEMPLATE_ILLEGAL",
        "FailedOperation.TemplateIncorrectOrUnapproved",
    )


def test_a_server_error_is_retried_and_not_a_timeout(rig: Rig) -> None:
    rig.stub.server_error(status=503)
    error = refused(rig.make(), message())
    assert not isinstance(error, NotifierTimeout)
    assert error.retryable is True
    assert "failed on its side" in str(error)


def test_a_refused_connection_is_retried_and_not_a_timeout(rig: Rig) -> None:
    error = refused(rig.make(endpoint=closed_port_url()), message())
    assert not isinstance(error, NotifierTimeout)
    assert error.retryable is True
    assert "could not connect" in str(error)


def test_credentials_the_provider_does_not_know_are_given_up(rig: Rig) -> None:
    option = {"aliyun": "access_key_id", "tencent": "secret_id"}[rig.provider]
    error = refused(rig.make(**{option: "not-the-key"}), message())
    assert not isinstance(error, NotifierTimeout)
    assert error.retryable is False
    assert isinstance(error, SmsGatewayError)
    assert error.code in ("InvalidAccessKeyId.NotFound", "AuthFailure.SecretIdNotFound")


def test_no_answer_in_time_is_a_timeout_and_is_not_resent(rig: Rig) -> None:
    rig.stub.hang()
    with pytest.raises(NotifierTimeout) as raised:
        rig.make().send(message())
    assert raised.value.retryable is True
    assert rig.stub.actions == ["SendSms"], "the SDK must not resend on its own"


def test_the_message_key_is_the_providers_client_reference(rig: Rig) -> None:
    m = message()
    rig.make().send(m)
    (accepted,) = rig.stub.accepted
    assert accepted.reference == m.key
    assert accepted.sign_name == "crmkit"


def test_status_is_read_from_the_providers_reports_by_a_fresh_adapter(rig: Rig) -> None:
    sent, refused_message, other = message(), message("+8613800138001"), message()
    rig.make().send(sent)
    rig.stub.refuse("+8613800138001")
    with pytest.raises(NotifierError):
        rig.make().send(refused_message)

    fresh = rig.make()
    assert fresh.status(sent.key) is DeliveryStatus.SENT
    assert fresh.status(refused_message.key) is None  # no report: it cannot tell
    assert fresh.status(other.key) is None
    assert fresh.status("a key without a number") is None
    report_query = {"aliyun": "QuerySendDetails", "tencent": "PullSmsSendStatusByPhoneNumber"}
    assert report_query[rig.provider] in rig.stub.actions


def test_status_finds_a_message_that_timed_out_but_went_out(rig: Rig) -> None:
    notifier = rig.make()
    m = message()
    rig.stub.hang(delivered=True)
    with pytest.raises(NotifierTimeout):
        notifier.send(m)
    assert notifier.status(m.key) is DeliveryStatus.SENT


def test_status_finds_each_message_of_a_batch_in_the_reports(rig: Rig) -> None:
    messages = batch("+8613800138000", "+8613800138001")
    outcomes = rig.make().send_batch(messages)
    assert all(isinstance(o, SendResult) for o in outcomes)
    fresh = rig.make()
    assert [fresh.status(m.key) for m in messages] == [DeliveryStatus.SENT] * 2
    assert fresh.status(message(key=messages[0].key.rsplit(":", 1)[0] + "x").key) is None


def test_status_remembers_what_this_adapter_saw(rig: Rig) -> None:
    notifier = rig.make()
    sent, bad = message(), message()
    notifier.send(sent)
    rig.stub.refuse(bad.recipient)
    rig.stub.fail_reports(10)  # the reports are not asked
    with pytest.raises(NotifierError):
        notifier.send(bad)
    assert notifier.status(sent.key) is DeliveryStatus.SENT
    assert notifier.status(bad.key) is DeliveryStatus.NOT_SENT


def test_a_refusal_no_longer_tells_once_a_later_try_timed_out(rig: Rig) -> None:
    notifier = rig.make()
    m = message()
    rig.stub.throttle()
    rig.stub.hang(delivered=False)
    for _ in range(2):
        with pytest.raises(NotifierError):
            notifier.send(m)
    rig.stub.reports = False  # not found in the reports either: it cannot tell
    assert notifier.status(m.key) is None


def test_status_answers_none_rather_than_raise_when_reports_fail(rig: Rig) -> None:
    rig.stub.fail_reports()
    assert rig.make().status(message().key) is None
    assert rig.make(endpoint=closed_port_url()).status(message().key) is None


def test_a_batch_is_one_request(rig: Rig) -> None:
    recipients = [f"+86138001380{n:02d}" for n in range(20)]
    outcomes = rig.make().send_batch(batch(*recipients))
    assert all(isinstance(o, SendResult) for o in outcomes)
    assert rig.stub.actions == [{"aliyun": "SendBatchSms", "tencent": "SendSms"}[rig.provider]]
    assert sorted(m.recipient for m in rig.stub.accepted) == recipients


def test_a_batch_refused_as_a_whole_raises(rig: Rig) -> None:
    rig.stub.throttle()
    with pytest.raises(NotifierError) as raised:
        rig.make().send_batch(batch("+8613800138000", "+8613800138001"))
    assert raised.value.retryable is True


def test_a_batch_larger_than_max_batch_or_mixing_payloads_is_a_programming_error(
    rig: Rig,
) -> None:
    notifier = rig.make()
    too_many = batch(*(f"+861380013{n:04d}" for n in range(notifier.max_batch + 1)))
    with pytest.raises(ValueError, match="at most"):
        notifier.send_batch(too_many)
    mixed = [message(), message(template="birthday", variables={"name": "李四"})]
    with pytest.raises(ValueError, match="share"):
        notifier.send_batch(mixed)
    assert notifier.send_batch([]) == []
    assert rig.stub.actions == []


# -- Aliyun ----------------------------------------------------------------------------------
@pytest.fixture
def aliyun_stub() -> Iterator[AliyunSmsStub]:
    with AliyunSmsStub(templates=ALIYUN_STUB_TEMPLATES, sign_names={"crmkit"}) as stub:
        yield stub


@pytest.mark.parametrize(
    ("recipient", "number"),
    [
        ("+8613800138000", "13800138000"),
        ("+85291234567", "0085291234567"),
        ("+14155550100", "0014155550100"),
    ],
)
def test_aliyun_numbers_are_national_for_the_mainland_and_00_prefixed_otherwise(
    aliyun_stub: AliyunSmsStub, recipient: str, number: str
) -> None:
    assert AliyunSms.format_number(recipient) == number
    aliyun(aliyun_stub).send(message(recipient))
    assert [m.number for m in aliyun_stub.accepted] == [number]
    assert [m.recipient for m in aliyun_stub.accepted] == [recipient]


def test_aliyun_sends_the_variables_by_name(aliyun_stub: AliyunSmsStub) -> None:
    notifier = aliyun(aliyun_stub)
    notifier.send(message(template="birthday", variables={"name": "张三", "extra": "x"}))
    notifier.send(message(template="contract_test", variables={"name": "李四", "vip": "是"}))
    # A reminder's payload carries its values at the top level.
    notifier.send(message(template="task.reminder", title="回访", due="明天 10:00", text="…"))
    assert [(m.template, m.params) for m in aliyun_stub.accepted] == [
        ("SMS_0002", {"name": "张三"}),  # the template names its variables: only those
        ("SMS_0001", {"name": "李四", "vip": "是"}),  # it names none: all of them
        ("SMS_0003", {"title": "回访", "due": "明天 10:00"}),
    ]


def test_aliyun_refuses_a_template_missing_a_parameter_for_good(
    aliyun_stub: AliyunSmsStub,
) -> None:
    notifier = aliyun(aliyun_stub, templates={"birthday": "SMS_0003"})  # needs title, due
    error = refused(notifier, message())
    assert isinstance(error, SmsGatewayError)
    assert error.code == "isv.TEMPLATE_MISSING_PARAMETERS"
    assert error.retryable is False


def test_aliyun_day_limits_and_balance_are_retried_other_isv_codes_are_not(
    aliyun_stub: AliyunSmsStub,
) -> None:
    notifier = aliyun(aliyun_stub)
    for code, retryable in [
        ("isv.DAY_LIMIT_CONTROL", True),
        ("isv.AMOUNT_NOT_ENOUGH", True),
        ("isp.SYSTEM_ERROR", True),
        ("isv.SMS_SIGNATURE_ILLEGAL", False),
        ("isv.INVALID_PARAMETERS", False),
        ("isp.RAM_PERMISSION_DENY", False),
    ]:
        aliyun_stub.fail_next(code)
        error = refused(notifier, message())
        assert (error.retryable, code in str(error)) == (retryable, True), code


def test_aliyun_a_batch_shares_one_bizid(aliyun_stub: AliyunSmsStub) -> None:
    outcomes = aliyun(aliyun_stub).send_batch(batch("+8613800138000", "+8613800138001"))
    references = {o.reference for o in outcomes if isinstance(o, SendResult)}
    assert len(outcomes) == 2 and len(references) == 1
    assert [m.params for m in aliyun_stub.accepted] == [{"name": "张三"}] * 2


def test_aliyun_signature_v1_requests_are_checked_too(aliyun_stub: AliyunSmsStub) -> None:
    import urllib.request

    url = f"{aliyun_stub.url}/?Action=SendSms&Version=2017-05-25&AccessKeyId=x&Format=JSON"
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=1)
    with raised.value as answer:
        assert answer.code == 400
        assert answer.headers["Content-Type"].startswith("application/json")
        body = answer.read().decode()
    assert '"Code": "MissingSignature"' in body and '"RequestId"' in body


# -- Tencent ---------------------------------------------------------------------------------
@pytest.fixture
def tencent_stub() -> Iterator[TencentSmsStub]:
    with TencentSmsStub(templates=TENCENT_STUB_TEMPLATES, sign_names={"crmkit"}) as stub:
        yield stub


def test_tencent_reports_each_numbers_result(tencent_stub: TencentSmsStub) -> None:
    tencent_stub.refuse("+8613800138001", code="LimitExceeded.PhoneNumberDailyLimit")
    tencent_stub.refuse("+8613800138002", code="FailedOperation.PhoneNumberInBlacklist")
    messages = batch("+8613800138000", "+8613800138001", "+8613800138002", "+8613800138003")
    outcomes = tencent(tencent_stub).send_batch(messages)
    assert tencent_stub.actions == ["SendSms"]
    sent, daily, blacklisted, also_sent = outcomes
    assert isinstance(sent, SendResult) and isinstance(also_sent, SendResult)
    assert sent.reference != also_sent.reference  # a SerialNo per number
    assert isinstance(daily, SmsGatewayError) and daily.retryable is True
    assert daily.code == "LimitExceeded.PhoneNumberDailyLimit"
    assert "+8613800138001" in str(daily)
    assert isinstance(blacklisted, SmsGatewayError) and blacklisted.retryable is False
    assert [m.recipient for m in tencent_stub.accepted] == ["+8613800138000", "+8613800138003"]


def test_tencent_sends_the_variables_in_the_templates_order(tencent_stub: TencentSmsStub) -> None:
    notifier = tencent(tencent_stub)
    notifier.send(message(template="task.reminder", due="明天 10:00", title="回访"))
    assert [(m.template, m.params) for m in tencent_stub.accepted] == [
        ("1003", ("回访", "明天 10:00"))
    ]
    assert [m.number for m in tencent_stub.accepted] == ["+8613800138000"]  # E.164 as it is


def test_tencent_splits_a_batch_of_mainland_and_other_numbers(
    tencent_stub: TencentSmsStub,
) -> None:
    messages = batch("+8613800138000", "+85291234567", "+8613800138001")
    outcomes = tencent(tencent_stub).send_batch(messages)
    assert all(isinstance(o, SendResult) for o in outcomes)
    assert tencent_stub.actions == ["SendSms", "SendSms"]


def test_tencent_an_internal_timeout_is_an_unknown_outcome(tencent_stub: TencentSmsStub) -> None:
    tencent_stub.fail_next("InternalError.Timeout")
    with pytest.raises(NotifierTimeout, match=r"InternalError\.Timeout"):
        tencent(tencent_stub).send(message())


def test_tencent_status_cannot_tell_before_the_report_comes_back(
    tencent_stub: TencentSmsStub,
) -> None:
    m = message()
    tencent(tencent_stub).send(m)
    tencent_stub.reports = False
    assert tencent(tencent_stub).status(m.key) is None
    tencent_stub.reports = True
    assert tencent(tencent_stub).status(m.key) is DeliveryStatus.SENT


# -- configuration ---------------------------------------------------------------------------
def test_templates_take_an_id_a_pair_or_an_sms_template() -> None:
    with TencentSmsStub() as stub:
        notifier = tencent(
            stub,
            templates={
                "a": "1",
                "b": ("2", ["x", "y"]),
                "c": ["3", ["z"]],
                "d": {"id": "4", "variables": ["w"]},
                "e": SmsTemplate("5", ["v"]),
            },
        )
    assert notifier._templates == {
        "a": SmsTemplate("1"),
        "b": SmsTemplate("2", ("x", "y")),
        "c": SmsTemplate("3", ("z",)),
        "d": SmsTemplate("4", ("w",)),
        "e": SmsTemplate("5", ("v",)),
    }


def test_the_adapters_are_built_from_the_environment() -> None:
    aliyun_env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-test",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret",
        "CRMKIT_ALIYUN_SMS_SIGN_NAME": "crmkit",
        "CRMKIT_ALIYUN_SMS_TEMPLATES": json.dumps(
            {"birthday": "SMS_1", "task.reminder": ["SMS_2", ["title"]]}
        ),
        "CRMKIT_ALIYUN_SMS_TIMEOUT": "5",
    }
    sms = AliyunSms.from_env(aliyun_env)
    assert sms._templates["task.reminder"] == SmsTemplate("SMS_2", ("title",))
    assert "secret" not in repr(sms)
    tencent_env = {
        "TENCENTCLOUD_SECRET_ID": "AKID-test",
        "TENCENTCLOUD_SECRET_KEY": "secret",
        "CRMKIT_TENCENT_SMS_SDK_APP_ID": "1400000000",
        "CRMKIT_TENCENT_SMS_SIGN_NAME": "crmkit",
        "CRMKIT_TENCENT_SMS_TEMPLATES": '{"birthday": ["1234567", ["name"]]}',
    }
    assert TencentSms.from_env(tencent_env).channels == {"sms"}
    with pytest.raises(ValueError, match="CRMKIT_TENCENT_SMS_SDK_APP_ID"):
        TencentSms.from_env({k: v for k, v in tencent_env.items() if "APP_ID" not in k})
    with pytest.raises(ValueError, match="not JSON"):
        AliyunSms.from_env({**aliyun_env, "CRMKIT_ALIYUN_SMS_TEMPLATES": "birthday=SMS_1"})


def test_the_entry_points_build_the_adapters_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8")
    )
    declared = pyproject["project"]["entry-points"]["crmkit.notifiers"]
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI-test")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    monkeypatch.setenv("CRMKIT_ALIYUN_SMS_SIGN_NAME", "crmkit")
    monkeypatch.setenv("CRMKIT_ALIYUN_SMS_TEMPLATES", '{"birthday": "SMS_1"}')
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKID-test")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "secret")
    monkeypatch.setenv("CRMKIT_TENCENT_SMS_SDK_APP_ID", "1400000000")
    monkeypatch.setenv("CRMKIT_TENCENT_SMS_SIGN_NAME", "crmkit")
    monkeypatch.setenv("CRMKIT_TENCENT_SMS_TEMPLATES", '{"birthday": ["1", ["name"]]}')
    for name, kind in [("aliyun-sms", AliyunSms), ("tencent-sms", TencentSms)]:
        point = EntryPoint(name=name, value=declared[name], group="crmkit.notifiers")
        assert isinstance(point.load()(), kind)  # as crmkit.load_notifier calls it
