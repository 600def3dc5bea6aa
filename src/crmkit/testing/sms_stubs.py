"""Local stand-ins of Aliyun SMS and Tencent Cloud SMS, for tests (yours too).

These are **test stubs**, not the services: each is a small HTTP server on ``127.0.0.1`` (a
free port, a background thread) that answers the SMS APIs the way the real service does, in
its exact JSON shapes, so that the official SDKs, and
:class:`crmkit.adapters.sms.AliyunSms` / :class:`~crmkit.adapters.sms.TencentSms` on top of
them, can be tested without a network or an account. They check what the real service
checks first (the action and version, the signature fields and the caller's key id, the
required parameters, number formats, batch sizes, the templates and sign names they were
given) but verify no signature cryptographically and send nothing::

    from crmkit.adapters.sms import TencentSms, SmsTemplate
    from crmkit.testing.sms_stubs import TencentSmsStub

    with TencentSmsStub(templates={"1001": 1}) as stub:
        sms = TencentSms(stub.secret_id, stub.secret_key, sdk_app_id=stub.sdk_app_id,
                         sign_name="crmkit", templates={"birthday": SmsTemplate("1001", ("name",))},
                         endpoint=stub.url, timeout=0.5)
        stub.refuse("+8613800138001")            # that number fails, the others go out
        stub.throttle()                          # the next send request is throttled
        stub.hang(delivered=True)                # the next one times out, yet was sent
        ...
        assert [m.number for m in stub.accepted] == ["+8613800138000"]

Scripting (each instruction applies to the next *send* requests, in the order given; report
queries are scripted apart with :meth:`fail_reports`): :meth:`fail_next` (a given provider
error code), :meth:`throttle`, :meth:`server_error` (HTTP 5xx), :meth:`hang` (no answer
for longer than a client's timeout; ``delivered=True`` records the message all the same),
and, for good, :meth:`refuse` (numbers refused: per number in Tencent's answer, the whole
request for Aliyun). ``accepted`` lists what was sent, ``actions`` every API call.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.clock import Clock

__all__ = ["AliyunSmsStub", "StubMessage", "TencentSmsStub"]

_CHINA = ZoneInfo("Asia/Shanghai")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


@attrs.frozen
class StubMessage:
    """One message a stub accepted (one per number).

    Attributes:
        number: the number as the client sent it (Aliyun ``"13800138000"`` or
            ``"0085291234567"``, Tencent ``"+8613800138000"``).
        recipient: the same number in E.164.
        template: the provider's template id.
        params: the template's values (Aliyun: by name; Tencent: in order).
        reference: the client's reference (Aliyun ``OutId``, Tencent ``SessionContext``).
        sign_name: the sign name (签名).
        provider_id: the id the stub gave it (Aliyun ``BizId``, Tencent ``SerialNo``).
        sent_at: when it was accepted (UTC).
    """

    number: str
    recipient: str
    template: str
    params: Mapping[str, Any] | tuple[str, ...]
    reference: str | None
    sign_name: str
    provider_id: str
    sent_at: datetime


@attrs.frozen
class _Step:
    kind: str  # "error", "server_error", "hang"
    code: str = ""
    message: str = ""
    status: int = 200
    seconds: float = 0.0
    delivered: bool = False


@attrs.frozen
class _Reply:
    status: int
    body: bytes
    content_type: str


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close (after hung ones are released), so that a stopped
    # stub leaves no thread or socket behind.
    daemon_threads = False
    block_on_close = True

    def __init__(self, stub: _SmsStub) -> None:
        self.stub = stub
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes the socket a hung answer is written to.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.stub._answer(self.command, self.path, headers, body)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the records
        pass


class _SmsStub:
    """What both stubs share: the server, the script, the records."""

    _default_refusal = ""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._lock = threading.Lock()
        self._script: deque[_Step] = deque()
        self._report_failures = 0
        self._refused: dict[str, str] = {}
        self._accepted: list[StubMessage] = []
        self._actions: list[str] = []
        self._release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._clock = clock
        self.reports = True

    # -- life ------------------------------------------------------------------------------
    def start(self) -> Self:
        """Start serving (on a free port of 127.0.0.1); returns the stub."""
        if self._server is None:
            self._release.clear()
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # stop() returns within 50 ms
                name=f"{type(self).__name__}:{self._server.server_address[1]}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests, stop serving and close the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._release.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:<port>``: the host an SDK's ``endpoint`` option takes (with HTTP)."""
        if self._server is None:
            raise RuntimeError("the stub is not started")
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.endpoint}"

    # -- scripting ---------------------------------------------------------------------------
    def fail_next(
        self, code: str, times: int = 1, *, message: str | None = None, http_status: int = 200
    ) -> Self:
        """The next ``times`` send requests are answered with the provider error ``code``
        (with HTTP ``http_status``: Aliyun answers its ``isv.*`` codes with 200 and its
        signature and key errors with 400 or 404; Tencent answers every API error with 200).
        """
        text = message or f"stub error {code}"
        self._push([_Step("error", code=code, message=text, status=http_status)] * times)
        return self

    def throttle(self, times: int = 1) -> Self:
        """The next ``times`` send requests are throttled."""
        raise NotImplementedError  # pragma: no cover - each stub overrides it

    def server_error(self, times: int = 1, *, status: int = 503) -> Self:
        """The next ``times`` send requests fail with HTTP ``status`` (a 5xx)."""
        self._push([_Step("server_error", status=status)] * times)
        return self

    def hang(self, times: int = 1, *, seconds: float = 10.0, delivered: bool = False) -> Self:
        """The next ``times`` send requests get no answer for ``seconds`` (or until the
        stub stops): longer than any test client's timeout. With ``delivered`` the
        message is accepted all the same (the case that makes blind resending wrong)."""
        self._push([_Step("hang", seconds=seconds, delivered=delivered)] * times)
        return self

    def refuse(self, *numbers: str, code: str | None = None) -> Self:
        """Refuse these numbers (E.164) from now on, with ``code`` (default: the provider's
        invalid-number code)."""
        with self._lock:
            for number in numbers:
                self._refused[number] = code or self._default_refusal
        return self

    def fail_reports(self, times: int = 1) -> Self:
        """The next ``times`` report queries fail (the provider's internal error)."""
        with self._lock:
            self._report_failures += times
        return self

    def _push(self, steps: Iterable[_Step]) -> None:
        with self._lock:
            self._script.extend(steps)

    def _next_step(self) -> _Step | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _report_fails(self) -> bool:
        with self._lock:
            if self._report_failures:
                self._report_failures -= 1
                return True
            return False

    def _hang(self, step: _Step) -> None:
        self._release.wait(step.seconds)

    # -- records -----------------------------------------------------------------------------
    @property
    def accepted(self) -> list[StubMessage]:
        """The messages accepted, in order (one per number)."""
        with self._lock:
            return list(self._accepted)

    @property
    def actions(self) -> list[str]:
        """Every API action called, in order (``"SendSms"``, ``"QuerySendDetails"`` ...)."""
        with self._lock:
            return list(self._actions)

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def _accept(self, messages: Sequence[StubMessage]) -> None:
        with self._lock:
            self._accepted.extend(messages)

    def _refusal(self, recipient: str) -> str | None:
        with self._lock:
            return self._refused.get(recipient)

    def _log(self, action: str) -> None:
        with self._lock:
            self._actions.append(action)

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        raise NotImplementedError  # pragma: no cover - each stub overrides it


def _json(status: int, payload: object, content_type: str) -> _Reply:
    return _Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), content_type)


# -- Aliyun ----------------------------------------------------------------------------------
class _AliyunError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


_ALIYUN_JSON = "application/json;charset=utf-8"
_ALIYUN_VERSION = "2017-05-25"
_ACS3 = re.compile(
    r"ACS3-HMAC-SHA256 Credential=(?P<key>[^,]+),SignedHeaders=(?P<signed>[^,]+),"
    r"Signature=(?P<signature>[0-9a-f]+)"
)
# Signature version 1.0 (RPC style, the SDKs' "v2"): every field travels in the query.
_RPC_SIGNATURE = (
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
)
_MAINLAND = re.compile(r"(?:\+86|0086|86)?(1\d{10})")
_INTERNATIONAL = re.compile(r"00([1-9]\d{6,14})")


def _aliyun_e164(number: str) -> str | None:
    """An Aliyun ``PhoneNumbers`` entry in E.164, or None when Aliyun would refuse it."""
    if found := _MAINLAND.fullmatch(number):
        return "+86" + found.group(1)
    if found := _INTERNATIONAL.fullmatch(number):
        return "+" + found.group(1)
    return None


class AliyunSmsStub(_SmsStub):
    """A test stub of Aliyun SMS (Dysmsapi 2017-05-25): ``SendSms``, ``SendBatchSms`` and
    ``QuerySendDetails``, over HTTP on 127.0.0.1.

    Args:
        access_key_id: the AccessKey id callers must sign with (others get
            ``InvalidAccessKeyId.NotFound``).
        templates: template code → the variable names it needs; None accepts any template.
        sign_names: the sign names approved; None accepts any.
        clock: where the stub's time comes from (report dates).

    Attributes:
        reports: False makes ``QuerySendDetails`` report messages as still waiting for the
            carrier's receipt (``SendStatus`` 1) instead of delivered (3).
    """

    _default_refusal = "isv.MOBILE_NUMBER_ILLEGAL"

    def __init__(
        self,
        *,
        access_key_id: str = "stub-access-key-id",
        access_key_secret: str = "stub-access-key-secret",
        templates: Mapping[str, Sequence[str]] | None = None,
        sign_names: Iterable[str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret  # given to clients; the stub never checks it
        self._templates = None if templates is None else {k: tuple(v) for k, v in templates.items()}
        self._sign_names = None if sign_names is None else frozenset(sign_names)

    def throttle(self, times: int = 1) -> Self:
        """The next ``times`` send requests get ``isv.BUSINESS_LIMIT_CONTROL``."""
        return self.fail_next(
            "isv.BUSINESS_LIMIT_CONTROL", times, message="触发分钟级流控Permits:1"
        )

    # -- the HTTP side -----------------------------------------------------------------------
    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        request_id = str(uuid.uuid4()).upper()
        try:
            url = urlsplit(path)
            if url.path != "/" or method not in ("GET", "POST"):  # RPC style: both, on "/"
                raise _AliyunError(
                    404,
                    "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method.",
                )
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            if body and "form-urlencoded" in headers.get("content-type", ""):
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            action = self._check_call(headers, params)
            self._log(action)
            if action in ("SendSms", "SendBatchSms"):
                return self._send(action, params, request_id)
            return self._query(params, request_id)
        except _AliyunError as error:
            if error.status == 200:  # a business refusal: a plain answer with its Code
                payload = {"Code": error.code, "Message": error.message, "RequestId": request_id}
            else:
                payload = {
                    "RequestId": request_id,
                    "Message": error.message,
                    "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Dysmsapi",
                    "HostId": "dysmsapi.aliyuncs.com",
                    "Code": error.code,
                }
            return _json(error.status, payload, _ALIYUN_JSON)

    def _check_call(self, headers: Mapping[str, str], params: Mapping[str, str]) -> str:
        """The action called, once the signature fields and the caller's key are there."""
        authorization = headers.get("authorization")
        if authorization is not None:  # signature V3 (ACS3-HMAC-SHA256), the SDK's default
            action, version = headers.get("x-acs-action"), headers.get("x-acs-version")
            signed = _ACS3.fullmatch(authorization)
            needed = ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
            if signed is None or any(not headers.get(h) for h in needed):
                raise _AliyunError(
                    400,
                    "IncompleteSignature",
                    "The request signature does not conform to Aliyun standards.",
                )
            key = signed.group("key")
        else:  # signature 1.0: everything in the query
            action, version = params.get("Action"), params.get("Version")
            for name in _RPC_SIGNATURE:
                if not params.get(name):
                    raise _AliyunError(
                        400, f"Missing{name}", f"{name} is mandatory for this action."
                    )
            key = params["AccessKeyId"]
        if not action:
            raise _AliyunError(400, "MissingAction", "Action is mandatory for this action.")
        if version != _ALIYUN_VERSION:
            raise _AliyunError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if key != self.access_key_id:
            raise _AliyunError(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        if action not in ("SendSms", "SendBatchSms", "QuerySendDetails"):
            raise _AliyunError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        return action

    @staticmethod
    def _required(params: Mapping[str, str], *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise _AliyunError(400, f"Missing{name}", f"{name} is mandatory for this action.")

    @staticmethod
    def _json_param(params: Mapping[str, str], name: str) -> Any:
        try:
            return json.loads(params[name])
        except (KeyError, ValueError):
            raise _AliyunError(
                200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
            ) from None

    # -- SendSms and SendBatchSms ------------------------------------------------------------
    def _send(self, action: str, params: Mapping[str, str], request_id: str) -> _Reply:
        if action == "SendSms":
            self._required(params, "PhoneNumbers", "SignName", "TemplateCode")
            numbers = params["PhoneNumbers"].split(",")
            signs = [params["SignName"]] * len(numbers)
            values: list[Any] = (
                [self._json_param(params, "TemplateParam")] * len(numbers)
                if params.get("TemplateParam")
                else [{}] * len(numbers)
            )
            most = 1000
        else:
            self._required(params, "PhoneNumberJson", "SignNameJson", "TemplateCode")
            numbers = self._json_param(params, "PhoneNumberJson")
            signs = self._json_param(params, "SignNameJson")
            values = (
                self._json_param(params, "TemplateParamJson")
                if params.get("TemplateParamJson")
                else [{}] * len(numbers)
            )
            most = 100
            if not (
                isinstance(numbers, list)
                and isinstance(signs, list)
                and isinstance(values, list)
                and len(numbers) == len(signs) == len(values)
            ):
                raise _AliyunError(200, "isv.INVALID_PARAMETERS", "参数异常")
        step = self._next_step()
        if step is not None and step.kind == "error":
            raise _AliyunError(step.status, step.code, step.message)
        if step is not None and step.kind == "server_error":
            raise _AliyunError(
                step.status,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            )
        if len(numbers) > most:
            raise _AliyunError(200, "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        template = params["TemplateCode"]
        recipients: list[str] = []
        for number in numbers:
            recipient = _aliyun_e164(str(number))
            if recipient is None:
                raise _AliyunError(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
            refusal = self._refusal(recipient)
            if refusal:
                raise _AliyunError(200, refusal, f"号码 {number} 被拒绝")
            recipients.append(recipient)
        for sign, value in zip(signs, values, strict=True):
            if self._sign_names is not None and sign not in self._sign_names:
                raise _AliyunError(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise _AliyunError(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
            if self._templates is not None:
                needed = self._templates.get(template)
                if needed is None:
                    raise _AliyunError(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
                if any(name not in value for name in needed):
                    raise _AliyunError(
                        200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值"
                    )
        biz_id = f"{next(self._ids):015d}^0"
        now = self._now()
        messages = [
            StubMessage(
                number=str(number),
                recipient=recipient,
                template=template,
                params=dict(value),
                reference=params.get("OutId") or None,
                sign_name=str(sign),
                provider_id=biz_id,
                sent_at=now,
            )
            for number, recipient, sign, value in zip(
                numbers, recipients, signs, values, strict=True
            )
        ]
        if step is not None and step.kind == "hang":
            if step.delivered:
                self._accept(messages)
            self._hang(step)
            if not step.delivered:
                raise _AliyunError(503, "ServiceUnavailable", "The request timed out.")
        else:
            self._accept(messages)
        return _json(
            200,
            {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id},
            _ALIYUN_JSON,
        )

    # -- QuerySendDetails --------------------------------------------------------------------
    def _query(self, params: Mapping[str, str], request_id: str) -> _Reply:
        self._required(params, "PhoneNumber", "SendDate", "PageSize", "CurrentPage")
        if self._report_fails():
            raise _AliyunError(200, "isp.SYSTEM_ERROR", "系统错误")
        recipient = _aliyun_e164(params["PhoneNumber"])
        try:
            size, page = int(params["PageSize"]), int(params["CurrentPage"])
        except ValueError:
            raise _AliyunError(200, "isv.INVALID_PARAMETERS", "参数异常") from None
        if recipient is None:
            raise _AliyunError(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if not 1 <= size <= 50 or page < 1:
            raise _AliyunError(200, "isv.INVALID_PARAMETERS", "参数异常")
        day = params["SendDate"]
        found = [
            m
            for m in self.accepted
            if m.recipient == recipient and m.sent_at.astimezone(_CHINA).strftime("%Y%m%d") == day
        ]
        details = [self._detail(m) for m in found[(page - 1) * size : page * size]]
        return _json(
            200,
            {
                "Code": "OK",
                "Message": "OK",
                "RequestId": request_id,
                "TotalCount": len(found),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
            },
            _ALIYUN_JSON,
        )

    def _detail(self, m: StubMessage) -> dict[str, Any]:
        sent = m.sent_at.astimezone(_CHINA).strftime("%Y-%m-%d %H:%M:%S")
        values = json.dumps(m.params, ensure_ascii=False)
        return {
            "ErrCode": "DELIVERED" if self.reports else "",
            "TemplateCode": m.template,
            "OutId": m.reference or "",
            "ReceiveDate": sent if self.reports else "",
            "SendDate": sent,
            "PhoneNum": m.number,
            "Content": f"【{m.sign_name}】{m.template} {values}",
            "SendStatus": 3 if self.reports else 1,
        }


# -- Tencent ---------------------------------------------------------------------------------
class _TencentError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


_TENCENT_VERSION = "2021-01-11"
_TENCENT_REGIONS = frozenset({"ap-guangzhou", "ap-beijing", "ap-nanjing"})
_TC3 = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/sms/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
# ISO codes the stub names in SendStatus.IsoCode (Tencent says "DEF" for the rest).
_ISO = {"86": "CN", "852": "HK", "853": "MO", "886": "TW", "1": "US", "65": "SG", "81": "JP"}


def _iso_and_country(recipient: str) -> tuple[str, str]:
    for length in (3, 2, 1):
        code = recipient[1 : 1 + length]
        if code in _ISO:
            return _ISO[code], code
    return "DEF", recipient[1:3]


class TencentSmsStub(_SmsStub):
    """A test stub of Tencent Cloud SMS (2021-01-11): ``SendSms`` (a result per number),
    ``PullSmsSendStatus`` and ``PullSmsSendStatusByPhoneNumber``, over HTTP on 127.0.0.1,
    signed with TC3-HMAC-SHA256 (the SDK's default).

    Args:
        secret_id: the SecretId callers must sign with (others get
            ``AuthFailure.SecretIdNotFound``).
        sdk_app_id: the SmsSdkAppId it serves (others get
            ``InvalidParameterValue.SdkAppIdNotExist``).
        templates: TemplateId → how many parameters it takes; None accepts any.
        sign_names: the sign names approved; None accepts any.
        clock: where the stub's time comes from (report times).

    Attributes:
        reports: False: no delivery report has come back yet (the report APIs find none).
    """

    _default_refusal = "InvalidParameterValue.IncorrectPhoneNumber"

    def __init__(
        self,
        *,
        secret_id: str = "stub-secret-id",
        secret_key: str = "stub-secret-key",
        sdk_app_id: str = "1400000000",
        templates: Mapping[str, int] | None = None,
        sign_names: Iterable[str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.secret_id = secret_id
        self.secret_key = secret_key  # given to clients; the stub never checks it
        self.sdk_app_id = sdk_app_id
        self._templates = None if templates is None else dict(templates)
        self._sign_names = None if sign_names is None else frozenset(sign_names)
        self._pulled: set[str] = set()

    def throttle(self, times: int = 1) -> Self:
        """The next ``times`` send requests get ``RequestLimitExceeded``."""
        return self.fail_next("RequestLimitExceeded", times, message="请求的次数超过了频率限制。")

    # -- the HTTP side -----------------------------------------------------------------------
    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        request_id = str(uuid.uuid4())
        try:
            action = self._check_call(method, urlsplit(path).path, headers)
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise _TencentError(
                    "FailedOperation.JsonParseFail", "解析请求包体时候失败。"
                ) from None
            if not isinstance(params, dict):
                raise _TencentError("FailedOperation.JsonParseFail", "解析请求包体时候失败。")
            self._log(action)
            if action == "SendSms":
                return self._send(params, request_id)
            if action == "PullSmsSendStatusByPhoneNumber":
                return self._pull_by_number(params, request_id)
            return self._pull(params, request_id)
        except _TencentError as error:
            return self._reply(
                {"Error": {"Code": error.code, "Message": error.message}, "RequestId": request_id}
            )
        except _ServerError as failure:
            return self._reply(
                {
                    "Error": {"Code": "InternalError", "Message": "内部错误。"},
                    "RequestId": request_id,
                },
                status=failure.status,
            )

    @staticmethod
    def _reply(response: dict[str, Any], status: int = 200) -> _Reply:
        # The SDK reads error answers only when the type is exactly "application/json".
        return _json(status, {"Response": response}, "application/json")

    def _check_call(self, method: str, path: str, headers: Mapping[str, str]) -> str:
        """The action called, once the public parameters and the SecretId are there."""
        if (
            method != "POST"
            or path != "/"
            or not headers.get("content-type", "").startswith("application/json")
        ):
            raise _TencentError(
                "UnsupportedProtocol", "The stub takes POST application/json (TC3) requests."
            )
        signed = _TC3.fullmatch(headers.get("authorization", ""))
        if signed is None:
            raise _TencentError(
                "AuthFailure.InvalidAuthorization",
                "The Authorization header does not conform to TC3-HMAC-SHA256.",
            )
        for header, name in (
            ("x-tc-action", "Action"),
            ("x-tc-version", "Version"),
            ("x-tc-timestamp", "Timestamp"),
            ("x-tc-region", "Region"),
        ):
            if not headers.get(header):
                raise _TencentError(
                    "MissingParameter", f"The request is missing a required parameter `{name}`."
                )
        try:
            stamp = int(headers["x-tc-timestamp"])
        except ValueError:
            raise _TencentError("InvalidParameter", "`Timestamp` is not a number.") from None
        if abs(stamp - time.time()) > 300:
            raise _TencentError(
                "AuthFailure.SignatureExpire", "The signature expired (more than 5 minutes)."
            )
        if signed.group("id") != self.secret_id:
            raise _TencentError(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        if headers["x-tc-version"] != _TENCENT_VERSION:
            raise _TencentError("NoSuchVersion", "The API version does not exist.")
        if headers["x-tc-region"] not in _TENCENT_REGIONS:
            raise _TencentError(
                "UnsupportedRegion", f"The region `{headers['x-tc-region']}` is not supported."
            )
        action = headers["x-tc-action"]
        if action not in ("SendSms", "PullSmsSendStatus", "PullSmsSendStatusByPhoneNumber"):
            raise _TencentError("InvalidAction", f"The action `{action}` is not found.")
        return action

    def _required(self, params: Mapping[str, Any], *names: str) -> None:
        for name in names:
            if params.get(name) in (None, ""):
                raise _TencentError(
                    "MissingParameter", f"The request is missing a required parameter `{name}`."
                )
        if params.get("SmsSdkAppId") != self.sdk_app_id:
            raise _TencentError("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId 不存在。")

    # -- SendSms -----------------------------------------------------------------------------
    def _send(self, params: Mapping[str, Any], request_id: str) -> _Reply:
        numbers = params.get("PhoneNumberSet")
        if not numbers:
            raise _TencentError("MissingParameter.EmptyPhoneNumberSet", "传入的号码列表为空。")
        self._required(params, "SmsSdkAppId", "TemplateId", "SignName")
        values = params.get("TemplateParamSet") or []
        if not isinstance(numbers, list) or not isinstance(values, list):
            raise _TencentError("InvalidParameter", "参数错误。")
        step = self._next_step()
        if step is not None and step.kind == "error":
            raise _TencentError(step.code, step.message)
        if step is not None and step.kind == "server_error":
            raise _ServerError(step.status)
        if len(numbers) > 200:
            raise _TencentError(
                "LimitExceeded.PhoneNumberCountLimit", "调用接口单次提交的手机号个数超过200个。"
            )
        numbers = [str(n) for n in numbers]
        if len({n.startswith("+86") for n in numbers}) > 1:
            raise _TencentError(
                "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
                "群发请求里既有国内手机号也有国际手机号。",
            )
        template, sign = str(params["TemplateId"]), str(params["SignName"])
        if self._sign_names is not None and sign not in self._sign_names:
            raise _TencentError(
                "FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误。"
            )
        if self._templates is not None:
            if template not in self._templates:
                raise _TencentError(
                    "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配。"
                )
            if len(values) != self._templates[template]:
                raise _TencentError(
                    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                    "请求内容与审核通过的模板内容不匹配。",
                )
        context = params.get("SessionContext") or ""
        if len(str(context).encode("utf-8")) >= 512:
            raise _TencentError("InvalidParameterValue", "SessionContext 长度需小于512字节。")
        now = self._now()
        statuses: list[dict[str, Any]] = []
        accepted: list[StubMessage] = []
        for number in numbers:
            iso, _ = _iso_and_country(number)
            refusal = self._default_refusal if not _E164.fullmatch(number) else None
            refusal = refusal or self._refusal(number)
            if refusal:
                statuses.append(
                    {
                        "SerialNo": "",
                        "PhoneNumber": number,
                        "Fee": 0,
                        "SessionContext": context,
                        "Code": refusal,
                        "Message": f"stub refused {number}",
                        "IsoCode": iso,
                    }
                )
                continue
            serial = f"2645:{next(self._ids):032d}"
            accepted.append(
                StubMessage(
                    number=number,
                    recipient=number,
                    template=template,
                    params=tuple(str(v) for v in values),
                    reference=context or None,
                    sign_name=sign,
                    provider_id=serial,
                    sent_at=now,
                )
            )
            statuses.append(
                {
                    "SerialNo": serial,
                    "PhoneNumber": number,
                    "Fee": 1,
                    "SessionContext": context,
                    "Code": "Ok",
                    "Message": "send success",
                    "IsoCode": iso,
                }
            )
        if step is not None and step.kind == "hang":
            if step.delivered:
                self._accept(accepted)
            self._hang(step)
            if not step.delivered:
                raise _TencentError("InternalError.Timeout", "请求下发短信超时。")
        else:
            self._accept(accepted)
        return self._reply({"SendStatusSet": statuses, "RequestId": request_id})

    # -- reports -----------------------------------------------------------------------------
    def _report(self, m: StubMessage) -> dict[str, Any]:
        _, country = _iso_and_country(m.recipient)
        return {
            "UserReceiveTime": int(m.sent_at.timestamp()),
            "CountryCode": country,
            "SubscriberNumber": m.recipient[1 + len(country) :],
            "PhoneNumber": m.recipient,
            "SerialNo": m.provider_id,
            "ReportStatus": "SUCCESS",
            "Description": "用户接收成功",
            "SessionContext": m.reference or "",
        }

    def _limit(self, params: Mapping[str, Any]) -> int:
        limit = params.get("Limit")
        if not isinstance(limit, int) or not 0 < limit <= 100:
            raise _TencentError("InvalidParameterValue.LimitVerifyFail", "参数 Limit 校验失败。")
        return limit

    def _pull_by_number(self, params: Mapping[str, Any], request_id: str) -> _Reply:
        self._required(params, "BeginTime", "Limit", "PhoneNumber", "SmsSdkAppId")
        if params.get("Offset") is None:
            raise _TencentError(
                "MissingParameter", "The request is missing a required parameter `Offset`."
            )
        limit, offset = self._limit(params), int(params["Offset"])
        if self._report_fails():
            raise _TencentError("InternalError.OtherError", "其他错误。")
        begin, end = int(params["BeginTime"]), int(params.get("EndTime") or time.time())
        if begin > end:
            raise _TencentError(
                "InvalidParameterValue.InvalidStartTime", "无效的拉取起始/截止时间。"
            )
        found = [
            self._report(m)
            for m in self.accepted
            if self.reports
            and m.recipient == params["PhoneNumber"]
            and begin <= int(m.sent_at.timestamp()) <= end
        ]
        return self._reply(
            {"PullSmsSendStatusSet": found[offset : offset + limit], "RequestId": request_id}
        )

    def _pull(self, params: Mapping[str, Any], request_id: str) -> _Reply:
        self._required(params, "Limit", "SmsSdkAppId")
        limit = self._limit(params)
        if self._report_fails():
            raise _TencentError("InternalError.OtherError", "其他错误。")
        found: list[dict[str, Any]] = []
        if self.reports:
            with self._lock:  # a queue: each report is handed out once
                for m in self._accepted:
                    if len(found) == limit:
                        break
                    if m.provider_id not in self._pulled:
                        self._pulled.add(m.provider_id)
                        found.append(self._report(m))
        return self._reply({"PullSmsSendStatusSet": found, "RequestId": request_id})


class _ServerError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
