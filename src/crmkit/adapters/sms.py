"""SMS gateways: Aliyun SMS (Dysmsapi 2017-05-25) and Tencent Cloud SMS (2021-01-11).

Both are :class:`~crmkit.workflows.notify.BatchNotifier` adapters on the providers' official
SDKs (``pip install crmkit[sms]``), serving the ``"sms"`` channel::

    import crmkit
    from crmkit.adapters.sms import AliyunSms, SmsTemplate

    sms = AliyunSms(
        access_key_id="LTAI…", access_key_secret="…", sign_name="crmkit",
        templates={"birthday": "SMS_123456789",
                   "task.reminder": SmsTemplate("SMS_987654321", ("title", "due"))},
    )
    crm = crmkit.open("sqlite:///crm.db", notifier=[sms])

**Templates.** A message's ``payload["template"]`` is crmkit's template code (``"birthday"``,
``"task.reminder"`` ...); ``templates`` maps it to the provider's approved template
(:class:`SmsTemplate`: its id, and the names of its variables in order). The variables come
from :func:`~crmkit.workflows.notify.payload_variables`. Aliyun takes them by name as the
``TemplateParam`` JSON (all of them unless the template names which); Tencent takes them by
position (``TemplateParamSet``), so a Tencent template must name them. A code without a
template, or a variable the template needs and the payload lacks, is refused for good
before anything is sent.

**Numbers.** Recipients arrive in E.164 (``"+8613800138000"``). Tencent takes E.164 as it
is; Aliyun takes mainland numbers as their 11 national digits and others with ``00`` and
the country code (``"0085291234567"``). Anything else is refused for good.

**Outcomes.** What each failure means to crmkit's outbox:

============================================  ==============================================
provider answer                               notifier outcome
============================================  ==============================================
accepted (Aliyun ``OK``, Tencent ``Ok``)      ``SendResult(reference=BizId / SerialNo)``
no answer in time (read timeout), a broken    :class:`NotifierTimeout`: the provider may have
answer, Tencent ``InternalError.Timeout``     taken it; ``status(key)`` is asked first
throttling (Aliyun                            ``NotifierError`` retryable
``isv.BUSINESS_LIMIT_CONTROL``, day/month
caps, Tencent ``LimitExceeded.*``,
``RequestLimitExceeded``), balance used up,
HTTP 5xx, connection refused or not made
bad number, template or parameters,           ``NotifierError(retryable=False)``
signature/auth failure, sign name refused,
an unknown crmkit template, a channel not
served
============================================  ==============================================

The errors are :class:`SmsGatewayError` (and :class:`SmsGatewayTimeout`), which carry the
provider's error ``code``.

**Batches.** ``send_batch`` sends messages that share their payload in one request: Tencent
``SendSms`` (up to 200 numbers, a result per number: some may be refused while the others
go out), Aliyun ``SendBatchSms`` (up to 100 numbers, accepted or refused as a whole).

**Status.** ``status(key)`` answers ``SENT`` for keys this instance saw accepted and
``NOT_SENT`` for keys it saw refused. For other keys it asks the provider's delivery reports
(Aliyun ``QuerySendDetails``, Tencent ``PullSmsSendStatusByPhoneNumber``) for the number at
the end of the key (crmkit's keys end with ``:<recipient>``) over the last
``status_lookback_days`` days, matching the client reference each message was sent with
(Aliyun ``OutId``, Tencent ``SessionContext``, which Tencent returns only once its SMS
assistant has enabled it for the account); a report found means ``SENT``. It answers None
when it cannot tell (no report yet, the report API failing): a person then decides.

Local stand-ins of both services for tests are in :mod:`crmkit.testing.sms_stubs`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.clock import Clock
from crmkit.workflows.notify import (
    DeliveryStatus,
    Notification,
    NotifierError,
    NotifierTimeout,
    SendResult,
    payload_variables,
)

log = logging.getLogger("crmkit.notify.sms")

T = TypeVar("T")

# Both providers keep their report dates in China time (Aliyun's SendDate is yyyyMMdd there).
_CHINA = ZoneInfo("Asia/Shanghai")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_KEY_PHONE = re.compile(r":(\+[1-9]\d{6,14})\Z")
# A batch shares one client reference; crmkit's keys are ``<message key>:<recipient>``, so the
# common ``<message key>`` stands for all of them, marked so that no single key is mistaken
# for it.
_BATCH_MARK = "crmkit-batch:"
# Keys remembered per instance for status(): some 10 MB at most; older keys are answered from
# the providers' reports.
_REMEMBERED = 100_000
# Report pages read per day (Aliyun) or per query (Tencent) before giving up: a number gets
# far fewer texts than this in a few days.
_REPORT_PAGES = 20
_INSTALL = "pip install 'crmkit[sms]'"


# -- errors --------------------------------------------------------------------------------
class SmsGatewayError(NotifierError):
    """A message an SMS gateway did not take.

    Args:
        message: what went wrong, with the provider's code.
        provider: ``"aliyun"`` or ``"tencent"``.
        code: the provider's error code (``"isv.MOBILE_NUMBER_ILLEGAL"``,
            ``"LimitExceeded.PhoneNumberDailyLimit"`` ...), None for a failure of the
            network or of crmkit's own checks.
        retryable: False when sending again cannot help.
    """

    def __init__(
        self, message: str, *, provider: str, code: str | None = None, retryable: bool = True
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.provider = provider
        self.code = code


class SmsGatewayTimeout(SmsGatewayError, NotifierTimeout):
    """No usable answer from an SMS gateway: the message may or may not have gone out."""


# -- templates -----------------------------------------------------------------------------
def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


@attrs.frozen
class SmsTemplate:
    """The provider's template a crmkit template code maps to.

    Attributes:
        id: the provider's template id (Aliyun ``TemplateCode`` ``"SMS_123456789"``, Tencent
            ``TemplateId`` ``"1234567"``).
        variables: the template's variable names, in its order. Tencent's parameters are
            positional, so they are sent in this order; Aliyun's are named, and an empty
            tuple sends every variable of the payload.
    """

    id: str
    variables: tuple[str, ...] = attrs.field(default=(), converter=_names)


TemplateSpec = str | SmsTemplate | tuple[str, Sequence[str]] | Sequence[Any] | Mapping[str, Any]


def _template(code: str, spec: TemplateSpec) -> SmsTemplate:
    if isinstance(spec, SmsTemplate):
        return spec
    if isinstance(spec, str):
        return SmsTemplate(spec)
    if isinstance(spec, Mapping):
        return SmsTemplate(str(spec["id"]), spec.get("variables", ()))
    if len(spec) == 2 and isinstance(spec[0], str) and not isinstance(spec[1], str):
        return SmsTemplate(spec[0], spec[1])
    raise ValueError(f"template {code!r}: expected an id, (id, variable names) or SmsTemplate")


def _templates(given: Mapping[str, TemplateSpec]) -> dict[str, SmsTemplate]:
    return {str(code): _template(str(code), spec) for code, spec in given.items()}


# -- small shared parts ----------------------------------------------------------------------
def _endpoint(endpoint: str, scheme: str | None) -> tuple[str, str]:
    """``(host[:port], scheme)`` from a host or a URL (``"http://127.0.0.1:8080"``)."""
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        host, scheme = parts.netloc, scheme or parts.scheme
    else:
        host = endpoint
    scheme = (scheme or "https").lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"bad SMS endpoint {endpoint!r} (scheme {scheme!r})")
    return host, scheme


def _client_reference(messages: Sequence[Notification], limit: int) -> str | None:
    """The one client reference of a request: a single message's key; for a batch, the
    common part of its keys when each is ``<common>:<recipient>``. None when the keys have
    nothing in common or it would be too long for the provider (such messages' status then
    comes from this instance's memory only)."""
    if len(messages) == 1:
        reference = messages[0].key
    else:
        common: set[str] = set()
        for m in messages:
            tail = f":{m.recipient}"
            if not m.key.endswith(tail):
                return None
            common.add(m.key[: -len(tail)])
        if len(common) != 1:
            return None
        reference = _BATCH_MARK + common.pop()
    return reference if len(reference.encode("utf-8")) <= limit else None


def _key_of(reference: str | None, recipient: str) -> str | None:
    """The crmkit key a provider's report stands for (see :func:`_client_reference`)."""
    if not reference:
        return None
    if reference.startswith(_BATCH_MARK):
        return f"{reference[len(_BATCH_MARK) :]}:{recipient}"
    return reference


def _e164(recipient: str, provider: str, label: str) -> str:
    if not _E164.fullmatch(recipient):
        raise SmsGatewayError(
            f"{label}: recipient {recipient!r} is not an E.164 mobile number",
            provider=provider,
            retryable=False,
        )
    return recipient


def _phone_of(key: str) -> str | None:
    """The E.164 recipient at the end of a crmkit key (``<message key>:+86138…``), if any."""
    found = _KEY_PHONE.search(key)
    return found.group(1) if found else None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps, outermost first (the SDKs re-raise network errors as their
    own, with the original as the context or an ``inner_exception``)."""
    import urllib3.exceptions  # both SDKs send through requests, on urllib3

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        inner = getattr(current, "inner_exception", None)
        if isinstance(inner, BaseException) and id(inner) not in seen:
            current = inner
        elif isinstance(current, urllib3.exceptions.MaxRetryError) and current.reason:
            current = current.reason
        else:
            current = current.__cause__ or current.__context__


def _network_failure(provider: str, label: str, exc: BaseException) -> SmsGatewayError:
    """A failure below HTTP: not sent if no connection was made, else unknown."""
    import urllib3.exceptions

    for cause in _causes(exc):
        # NewConnectionError (refused, no route, no DNS name) is a ConnectTimeoutError too:
        # either way the request never left, so sending again is safe.
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
            return SmsGatewayError(
                f"{label}: could not connect ({cause}); nothing was sent", provider=provider
            )
        if isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            return SmsGatewayTimeout(
                f"{label}: no answer in time ({cause}); the message may have been sent",
                provider=provider,
            )
    # The request may have been read and acted on (a connection dropped mid-answer, an
    # answer that cannot be parsed): the outcome is unknown, never a plain failure.
    return SmsGatewayTimeout(
        f"{label}: no usable answer ({type(exc).__name__}: {exc}); the message may have been sent",
        provider=provider,
    )


class _Outcomes:
    """What this instance saw happen to each key, newest kept (a bounded memory)."""

    def __init__(self, limit: int = _REMEMBERED) -> None:
        self._seen: OrderedDict[str, DeliveryStatus] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def _put(self, key: str, status: DeliveryStatus) -> None:
        self._seen[key] = status
        self._seen.move_to_end(key)
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    def sent(self, key: str) -> None:
        with self._lock:
            self._put(key, DeliveryStatus.SENT)

    def not_sent(self, key: str) -> None:
        with self._lock:
            # A key sent once stays sent: a later refusal (a repeat) does not undo it.
            if self._seen.get(key) is not DeliveryStatus.SENT:
                self._put(key, DeliveryStatus.NOT_SENT)

    def unknown(self, key: str) -> None:
        with self._lock:
            # A refusal seen earlier no longer tells: this later try may have gone out.
            if self._seen.get(key) is DeliveryStatus.NOT_SENT:
                del self._seen[key]

    def get(self, key: str) -> DeliveryStatus | None:
        with self._lock:
            return self._seen.get(key)


class _SmsNotifier:
    """What both gateways share: channels, templates, checks, memory and ``status``."""

    provider = ""
    label = ""
    _reference_limit = 500

    def __init__(
        self,
        *,
        sign_name: str,
        templates: Mapping[str, TemplateSpec],
        timeout: float,
        channels: Iterable[str],
        status_lookback_days: int,
        clock: Clock | None,
    ) -> None:
        if not sign_name:
            raise ValueError("an SMS gateway needs a sign name (签名)")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._sign_name = sign_name
        self._templates = _templates(templates)
        self._timeout = float(timeout)
        self._channels = frozenset(channels)
        if not self._channels:
            raise ValueError("an SMS gateway must serve at least one channel")
        self._lookback = max(0, int(status_lookback_days))
        self._clock = clock
        self._outcomes = _Outcomes()

    @property
    def channels(self) -> frozenset[str]:
        """The channels served (default ``{"sms"}``)."""
        return self._channels

    # -- checks before anything is sent ------------------------------------------------------
    def _refuse(self, text: str) -> SmsGatewayError:
        return SmsGatewayError(f"{self.label}: {text}", provider=self.provider, retryable=False)

    def _template_of(self, message: Notification) -> tuple[SmsTemplate, dict[str, str]]:
        """The provider template and the variables of ``message``.

        Raises:
            SmsGatewayError: a channel not served, no template for the code, a variable
                missing (none retryable).
        """
        if message.channel not in self._channels:
            raise self._refuse(f"channel {message.channel!r} is not served")
        code = message.payload.get("template")
        if not isinstance(code, str) or not code:
            raise self._refuse("the payload names no template")
        template = self._templates.get(code)
        if template is None:
            known = ", ".join(sorted(self._templates)) or "none"
            raise self._refuse(f"no template is configured for {code!r} (configured: {known})")
        variables = payload_variables(message.payload)
        missing = [name for name in template.variables if name not in variables]
        if missing:
            raise self._refuse(
                f"template {code!r} ({template.id}) needs {', '.join(missing)}, "
                "which the payload lacks"
            )
        return template, variables

    def _batch_template(
        self, messages: Sequence[Notification], max_batch: int
    ) -> tuple[SmsTemplate, dict[str, str]]:
        if len(messages) > max_batch:
            raise ValueError(f"{self.label} sends at most {max_batch} messages a request")
        first = messages[0]
        if any(m.channel != first.channel or m.payload != first.payload for m in messages):
            raise ValueError("send_batch takes messages that share their channel and payload")
        return self._template_of(first)

    # -- status ------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def status(self, key: str) -> DeliveryStatus | None:
        """``SENT`` or ``NOT_SENT`` for a key this instance sent or saw refused; otherwise
        ``SENT`` when the provider's reports hold the message, else None (cannot tell).
        Never raises."""
        known = self._outcomes.get(key)
        if known is not None:
            return known
        try:
            if self._reported(key):
                self._outcomes.sent(key)
                return DeliveryStatus.SENT
        except Exception as exc:  # a status question must be answered, if only "cannot tell"
            log.warning("%s: status(%r): the report query failed: %s", self.label, key, exc)
        return None

    def _reported(self, key: str) -> bool:  # pragma: no cover - each gateway overrides it
        raise NotImplementedError

    def _remember(
        self, messages: Sequence[Notification], outcomes: Sequence[SendResult | NotifierError]
    ) -> None:
        for message, outcome in zip(messages, outcomes, strict=True):
            if isinstance(outcome, SendResult):
                self._outcomes.sent(message.key)
            elif isinstance(outcome, NotifierTimeout):
                self._outcomes.unknown(message.key)
            else:
                self._outcomes.not_sent(message.key)

    def __repr__(self) -> str:  # no secrets in logs
        return (
            f"{type(self).__name__}(sign_name={self._sign_name!r}, channels={set(self._channels)})"
        )


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _env(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ValueError(f"environment variable {name} is not set")
    return value


def _env_templates(environ: Mapping[str, str], name: str) -> dict[str, TemplateSpec]:
    raw = _env(environ, name)
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ValueError(f"{name} must be a JSON object of crmkit code → template")
    return parsed


def _env_number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} is not a number: {raw!r}") from exc


# -- Aliyun ----------------------------------------------------------------------------------
# Aliyun's "isv.*" codes are the caller's mistakes, "isp.*" the platform's; these few of the
# caller's clear up by themselves or once someone tops the account up.
_ALIYUN_RETRYABLE = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # flow control: per number per minute/hour/day
        "isv.DAY_LIMIT_CONTROL",  # the account's own daily cap
        "isv.MONTH_LIMIT_CONTROL",
        "isv.AMOUNT_NOT_ENOUGH",  # balance used up
        "isv.OUT_OF_SERVICE",  # suspended for lack of balance
        "isv.SYSTEM_ERROR",
    }
)
_ALIYUN_GIVE_UP = frozenset({"isp.RAM_PERMISSION_DENY"})


def _aliyun_retryable(code: str) -> bool:
    if code in _ALIYUN_RETRYABLE or code.startswith("Throttling"):
        return True
    # isp.* and anything unknown: the platform's trouble, retryable as the port's default.
    return not (code in _ALIYUN_GIVE_UP or code.startswith("isv."))


class AliyunSms(_SmsNotifier):
    """Sends SMS through Aliyun (阿里云短信服务, Dysmsapi 2017-05-25).

    ``send`` calls ``SendSms`` with the message key as ``OutId``; ``send_batch`` calls
    ``SendBatchSms`` (up to 100 numbers, accepted or refused as a whole). See the module
    docstring for templates, numbers, outcomes and status.

    Args:
        access_key_id: the AccessKey id (of a RAM user allowed ``dysms:SendSms``,
            ``dysms:SendBatchSms`` and ``dysms:QuerySendDetails``).
        access_key_secret: its secret.
        sign_name: the approved sign name (签名), e.g. ``"crmkit"``.
        templates: crmkit template code → Aliyun ``TemplateCode`` (a string), or
            :class:`SmsTemplate` / ``(code, variable names)`` to send only those variables.
        endpoint: the API host, or a URL (``"http://127.0.0.1:8080"``) whose scheme is used.
        scheme: ``"https"`` (default) or ``"http"`` (a local stub).
        timeout: seconds to connect and, separately, to wait for the answer.
        channels: the channels served.
        status_lookback_days: how many days before today ``status`` searches the reports.
        clock: where "today" comes from for report queries (default: the system clock).

    Environment (:meth:`from_env`, the ``aliyun-sms`` entry point):
        ``ALIBABA_CLOUD_ACCESS_KEY_ID``, ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``,
        ``CRMKIT_ALIYUN_SMS_SIGN_NAME``, ``CRMKIT_ALIYUN_SMS_TEMPLATES`` (JSON:
        ``{"birthday": "SMS_123456789", "task.reminder": ["SMS_987654321", ["title"]]}``)
        and, optional, ``CRMKIT_ALIYUN_SMS_ENDPOINT`` and ``CRMKIT_ALIYUN_SMS_TIMEOUT``
        (seconds).
    """

    provider = "aliyun"
    label = "Aliyun SMS"
    DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"
    # Aliyun states no length for OutId; a crmkit key (at most 255 characters) fits in this.
    _reference_limit = 256

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        *,
        sign_name: str,
        templates: Mapping[str, TemplateSpec],
        endpoint: str = DEFAULT_ENDPOINT,
        scheme: str | None = None,
        timeout: float = 10.0,
        channels: Iterable[str] = ("sms",),
        status_lookback_days: int = 2,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            sign_name=sign_name,
            templates=templates,
            timeout=timeout,
            channels=channels,
            status_lookback_days=status_lookback_days,
            clock=clock,
        )
        if not access_key_id or not access_key_secret:
            raise ValueError("Aliyun SMS needs an AccessKey id and secret")
        host, scheme = _endpoint(endpoint, scheme)
        # Imported here: the SDKs are an extra (crmkit[sms]), and each adapter needs only its own.
        try:
            from alibabacloud_dysmsapi20170525 import models  # type: ignore[import-untyped]
            from alibabacloud_dysmsapi20170525.client import (  # type: ignore[import-untyped]
                Client,
            )
        except ImportError as exc:
            raise ImportError(f"AliyunSms needs its SDK: {_INSTALL} ({exc})") from exc
        try:
            from alibabacloud_tea_openapi.utils_models import Config  # type: ignore[import-untyped]
        except ImportError:  # alibabacloud-tea-openapi before 0.4
            from alibabacloud_tea_openapi.models import Config  # type: ignore[import-untyped]

        milliseconds = max(1, int(self._timeout * 1000))  # the SDK counts milliseconds
        self._models: Any = models
        self._client: Any = Client(
            Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                endpoint=host,
                protocol=scheme.upper(),
                connect_timeout=milliseconds,
                read_timeout=milliseconds,
                # No retry_options: the SDK then never resends, which an SMS must not be.
            )
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AliyunSms:
        """An adapter configured from environment variables (listed in the class docstring).

        Raises:
            ValueError: a required variable missing or malformed.
        """
        env = os.environ if environ is None else environ
        return cls(
            _env(env, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
            _env(env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
            sign_name=_env(env, "CRMKIT_ALIYUN_SMS_SIGN_NAME"),
            templates=_env_templates(env, "CRMKIT_ALIYUN_SMS_TEMPLATES"),
            endpoint=env.get("CRMKIT_ALIYUN_SMS_ENDPOINT") or cls.DEFAULT_ENDPOINT,
            timeout=_env_number(env, "CRMKIT_ALIYUN_SMS_TIMEOUT", 10.0),
        )

    @property
    def max_batch(self) -> int:
        """100: the most numbers one ``SendBatchSms`` takes."""
        return 100

    @staticmethod
    def format_number(recipient: str) -> str:
        """``recipient`` (E.164) as Aliyun takes it: a mainland number's national digits,
        another number as ``00`` + country code + number.

        Raises:
            SmsGatewayError: not an E.164 number (not retryable).
        """
        number = _e164(recipient, "aliyun", "Aliyun SMS")
        return number[3:] if number.startswith("+86") else "00" + number[1:]

    @staticmethod
    def _params(template: SmsTemplate, variables: Mapping[str, str]) -> dict[str, str] | None:
        """The ``TemplateParam`` object: the template's variables, or all when it names none."""
        if template.variables:
            return {name: variables[name] for name in template.variables}
        return dict(variables) or None

    def _call(self, request: Callable[[], T]) -> T:
        try:
            return request()
        except Exception as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> SmsGatewayError:
        status = getattr(exc, "status_code", None)
        code = getattr(exc, "code", None)
        if code is not None and status is None:  # the SDK's own refusal: nothing was sent
            return SmsGatewayError(
                f"{self.label}: the SDK refused the request: {code}: "
                f"{getattr(exc, 'message', None) or exc}",
                provider=self.provider,
                code=str(code),
                retryable=False,
            )
        if isinstance(status, int) and code is not None:  # an HTTP error answer
            detail = getattr(exc, "message", None) or str(exc)
            code = str(code)
            if code.startswith("Throttling") or type(exc).__name__ == "ThrottlingException":
                text, retryable = "throttled the request", True
            elif status >= 500:
                text, retryable = f"failed on its side (HTTP {status})", True
            else:  # 4xx: credentials, signature, permissions, parameters
                text, retryable = f"refused the request (HTTP {status})", False
            return SmsGatewayError(
                f"{self.label} {text}: {code}: {detail}",
                provider=self.provider,
                code=code,
                retryable=retryable,
            )
        return _network_failure(self.provider, self.label, exc)

    def _check(self, body: Any) -> Any:
        """``body`` if Aliyun took the request (its ``Code`` is ``OK``).

        Raises:
            SmsGatewayError: Aliyun's refusal, or a timeout for an answer without a code.
        """
        if body is None or body.code is None:  # not an answer of the API: it may have sent
            raise SmsGatewayTimeout(
                f"{self.label} answered without a Code; the message may have been sent",
                provider=self.provider,
            )
        if body.code != "OK":
            raise self._refused(str(body.code), body.message)
        return body

    def _refused(self, code: str, message: str | None) -> SmsGatewayError:
        retryable = _aliyun_retryable(code)
        text = "throttled the message" if code == "isv.BUSINESS_LIMIT_CONTROL" else "refused"
        return SmsGatewayError(
            f"{self.label} {text}: {code}: {message or ''}".rstrip(": "),
            provider=self.provider,
            code=code,
            retryable=retryable,
        )

    def send(self, message: Notification) -> SendResult:
        """Send ``message`` with ``SendSms``; its reference is Aliyun's ``BizId``.

        Raises:
            NotifierTimeout: no answer in time (the outcome is unknown).
            NotifierError: refused or failed (see the module docstring for which retry).
        """
        try:
            template, variables = self._template_of(message)
            request = self._models.SendSmsRequest(
                phone_numbers=self.format_number(message.recipient),
                sign_name=self._sign_name,
                template_code=template.id,
                template_param=_json(self._params(template, variables)),
                out_id=_client_reference([message], self._reference_limit),
            )
            body = self._check(self._call(lambda: self._client.send_sms(request)).body)
        except NotifierError as exc:
            self._remember([message], [exc])
            raise
        result = SendResult(str(body.biz_id or body.request_id))
        self._outcomes.sent(message.key)
        return result

    def send_batch(self, messages: Sequence[Notification]) -> list[SendResult | NotifierError]:
        """Send ``messages`` (one payload, up to 100 numbers) with one ``SendBatchSms``.

        A number that is not E.164 gets its own error; the others share the request's
        outcome: each a ``SendResult`` with the request's ``BizId``, or the same error.

        Raises:
            NotifierTimeout: no answer in time (unknown for every message).
            NotifierError: the request was refused or failed (for every message).
            ValueError: more than 100 messages, or different channels or payloads.
        """
        if not messages:
            return []
        outcomes: list[SendResult | NotifierError | None] = [None] * len(messages)
        try:
            template, variables = self._batch_template(messages, self.max_batch)
        except NotifierError as exc:
            self._remember(messages, [exc] * len(messages))
            raise
        numbers: list[str] = []
        going: list[int] = []
        for i, m in enumerate(messages):
            try:
                numbers.append(self.format_number(m.recipient))
                going.append(i)
            except NotifierError as exc:
                outcomes[i] = exc
        if going:
            params = self._params(template, variables)
            request = self._models.SendBatchSmsRequest(
                phone_number_json=json.dumps(numbers),
                sign_name_json=_json([self._sign_name] * len(numbers)),
                template_code=template.id,
                template_param_json=_json(None if params is None else [params] * len(numbers)),
                out_id=_client_reference([messages[i] for i in going], self._reference_limit),
            )
            outcome: SendResult | NotifierError
            try:
                body = self._check(self._call(lambda: self._client.send_batch_sms(request)).body)
                outcome = SendResult(str(body.biz_id or body.request_id))
            except NotifierError as exc:
                if len(going) == len(messages):  # the request was the whole batch
                    self._remember(messages, [exc] * len(messages))
                    raise
                outcome = exc
            for i in going:
                outcomes[i] = outcome
        done = [o for o in outcomes if o is not None]
        self._remember(messages, done)
        return done

    def _reported(self, key: str) -> bool:
        recipient = _phone_of(key)
        if recipient is None:
            return False
        number = self.format_number(recipient)
        today = self._now().astimezone(_CHINA).date()
        for day in (today - timedelta(days=n) for n in range(self._lookback + 1)):
            for out_id in self._out_ids(number, day):
                if _key_of(out_id, recipient) == key:
                    return True
        return False

    def _out_ids(self, number: str, day: date) -> Iterator[str | None]:
        """The ``OutId`` of every message Aliyun reports for ``number`` sent on ``day``."""
        size = 50  # QuerySendDetails' largest page
        for page in range(1, _REPORT_PAGES + 1):
            request = self._models.QuerySendDetailsRequest(
                phone_number=number,
                send_date=day.strftime("%Y%m%d"),
                page_size=size,
                current_page=page,
            )
            body = self._check(
                self._call(lambda: self._client.query_send_details(request)).body  # noqa: B023
            )
            found = body.sms_send_detail_dtos
            details = (found.sms_send_detail_dto if found is not None else None) or []
            for detail in details:
                yield detail.out_id
            if len(details) < size:
                return


# -- Tencent ---------------------------------------------------------------------------------
# The SMS service's own "InternalError.Timeout": it gave up waiting on its carrier side, and
# the text may still go out.
_TENCENT_UNKNOWN = frozenset({"InternalError.Timeout", "InternalError.SendAndRecvFail"})
_TENCENT_RETRYABLE = frozenset(
    {
        "RequestLimitExceeded",
        "FailedOperation.InsufficientBalanceInSmsPackage",  # sends once topped up
        "FailedOperation.MarketingSendTimeConstraint",  # marketing only 8:00–22:00
        "UnauthorizedOperation.ServiceSuspendDueToArrears",
        "ResourceUnavailable",
        "InternalError",
    }
)
_TENCENT_GIVE_UP = frozenset(
    {
        "LimitExceeded.PhoneNumberCountLimit",  # more than 200 numbers: the same next time
        "LimitExceeded.AppCountryOrRegionInBlacklist",
        "InternalError.SigVerificationFail",
        "InternalError.SigFieldMissing",
        "InternalError.RequestTimeException",  # this server's clock is off
        "InternalError.RestApiInterfaceNotExist",
        "InternalError.JsonParseFail",
    }
)
_TENCENT_GIVE_UP_FAMILIES = (
    "AuthFailure",
    "FailedOperation",
    "InvalidAction",
    "InvalidParameter",
    "InvalidParameterValue",
    "MissingParameter",
    "NoSuchVersion",
    "UnauthorizedOperation",
    "UnknownParameter",
    "UnsupportedOperation",
    "UnsupportedProtocol",
    "UnsupportedRegion",
)


def _tencent_retryable(code: str) -> bool:
    family = code.split(".", 1)[0]
    if code in _TENCENT_GIVE_UP:
        return False
    if (
        code in _TENCENT_RETRYABLE
        or family in ("LimitExceeded", "RequestLimitExceeded", "InternalError")
        or code.startswith("ResourceUnavailable")
    ):
        return True
    return family not in _TENCENT_GIVE_UP_FAMILIES


class TencentSms(_SmsNotifier):
    """Sends SMS through Tencent Cloud (腾讯云短信, SMS 2021-01-11).

    ``send`` and ``send_batch`` call ``SendSms`` (up to 200 numbers a request, a result per
    number) with the message key as ``SessionContext``. A batch mixing mainland and other
    numbers, which Tencent refuses in one request, goes out as one request per kind. See the
    module docstring for templates, numbers, outcomes and status.

    Args:
        secret_id: the API SecretId (of a CAM user allowed ``sms:SendSms`` and
            ``sms:PullSmsSendStatusByPhoneNumber``).
        secret_key: its SecretKey.
        sdk_app_id: the SMS application's ``SmsSdkAppId`` (``"1400006666"``).
        sign_name: the approved sign name (签名), e.g. ``"crmkit"``.
        templates: crmkit template code → :class:`SmsTemplate` (or ``(TemplateId,
            variable names)``; a bare ``TemplateId`` for a template without variables).
        region: the API region (``ap-guangzhou``, ``ap-beijing`` or ``ap-nanjing``).
        endpoint: the API host, or a URL (``"http://127.0.0.1:8080"``) whose scheme is used.
        scheme: ``"https"`` (default) or ``"http"`` (a local stub).
        timeout: seconds to connect and, separately, to wait for the answer.
        channels: the channels served.
        status_lookback_days: how many days back ``status`` searches the reports.
        clock: where "now" comes from for report queries (default: the system clock).

    Environment (:meth:`from_env`, the ``tencent-sms`` entry point):
        ``TENCENTCLOUD_SECRET_ID``, ``TENCENTCLOUD_SECRET_KEY``,
        ``CRMKIT_TENCENT_SMS_SDK_APP_ID``, ``CRMKIT_TENCENT_SMS_SIGN_NAME``,
        ``CRMKIT_TENCENT_SMS_TEMPLATES`` (JSON: ``{"birthday": ["1234567", ["name"]]}``)
        and, optional, ``CRMKIT_TENCENT_SMS_REGION``, ``CRMKIT_TENCENT_SMS_ENDPOINT`` and
        ``CRMKIT_TENCENT_SMS_TIMEOUT`` (seconds).
    """

    provider = "tencent"
    label = "Tencent SMS"
    DEFAULT_ENDPOINT = "sms.tencentcloudapi.com"
    _reference_limit = 511  # SessionContext: "less than 512 bytes"

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        *,
        sdk_app_id: str,
        sign_name: str,
        templates: Mapping[str, TemplateSpec],
        region: str = "ap-guangzhou",
        endpoint: str = DEFAULT_ENDPOINT,
        scheme: str | None = None,
        timeout: float = 10.0,
        channels: Iterable[str] = ("sms",),
        status_lookback_days: int = 2,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            sign_name=sign_name,
            templates=templates,
            timeout=timeout,
            channels=channels,
            status_lookback_days=status_lookback_days,
            clock=clock,
        )
        if not secret_id or not secret_key or not sdk_app_id:
            raise ValueError("Tencent SMS needs a SecretId, a SecretKey and an SmsSdkAppId")
        host, scheme = _endpoint(endpoint, scheme)
        try:
            from tencentcloud.common import credential  # type: ignore[import-untyped]
            from tencentcloud.common.exception.tencent_cloud_sdk_exception import (  # type: ignore[import-untyped]
                TencentCloudSDKException,
            )
            from tencentcloud.common.profile.client_profile import (  # type: ignore[import-untyped]
                ClientProfile,
            )
            from tencentcloud.common.profile.http_profile import (  # type: ignore[import-untyped]
                HttpProfile,
            )
            from tencentcloud.sms.v20210111 import (  # type: ignore[import-untyped]
                models,
                sms_client,
            )
        except ImportError as exc:
            raise ImportError(f"TencentSms needs its SDK: {_INSTALL} ({exc})") from exc

        self._sdk_app_id = str(sdk_app_id)
        self._models: Any = models
        self._sdk_error: type[Exception] = TencentCloudSDKException
        profile = ClientProfile(
            httpProfile=HttpProfile(endpoint=host, protocol=scheme, reqTimeout=self._timeout),
            # The region breaker would re-route failing calls to another region and, on a
            # network error, return None instead of raising.
            disable_region_breaker=True,
            retryer=None,  # never resend an SMS on the SDK's own initiative
        )
        self._client: Any = sms_client.SmsClient(
            credential.Credential(secret_id, secret_key), region, profile
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TencentSms:
        """An adapter configured from environment variables (listed in the class docstring).

        Raises:
            ValueError: a required variable missing or malformed.
        """
        env = os.environ if environ is None else environ
        return cls(
            _env(env, "TENCENTCLOUD_SECRET_ID"),
            _env(env, "TENCENTCLOUD_SECRET_KEY"),
            sdk_app_id=_env(env, "CRMKIT_TENCENT_SMS_SDK_APP_ID"),
            sign_name=_env(env, "CRMKIT_TENCENT_SMS_SIGN_NAME"),
            templates=_env_templates(env, "CRMKIT_TENCENT_SMS_TEMPLATES"),
            region=env.get("CRMKIT_TENCENT_SMS_REGION") or "ap-guangzhou",
            endpoint=env.get("CRMKIT_TENCENT_SMS_ENDPOINT") or cls.DEFAULT_ENDPOINT,
            timeout=_env_number(env, "CRMKIT_TENCENT_SMS_TIMEOUT", 10.0),
        )

    @property
    def max_batch(self) -> int:
        """200: the most numbers one ``SendSms`` takes."""
        return 200

    @staticmethod
    def format_number(recipient: str) -> str:
        """``recipient`` as Tencent takes it: E.164, unchanged.

        Raises:
            SmsGatewayError: not an E.164 number (not retryable).
        """
        return _e164(recipient, "tencent", "Tencent SMS")

    def _error(
        self, code: str, message: str | None, *, number: str | None = None
    ) -> SmsGatewayError:
        where = f" for {number}" if number else ""
        detail = f"{code}: {message}" if message else code
        if code in _TENCENT_UNKNOWN:
            return SmsGatewayTimeout(
                f"{self.label} timed out on its side{where} ({detail}); "
                "the message may have been sent",
                provider=self.provider,
                code=code,
            )
        throttled = code.startswith(("LimitExceeded.", "RequestLimitExceeded"))
        text = "throttled the message" if throttled else "refused the message"
        return SmsGatewayError(
            f"{self.label} {text}{where}: {detail}",
            provider=self.provider,
            code=code,
            retryable=_tencent_retryable(code),
        )

    def _call(self, request: Callable[[], T]) -> T:
        try:
            return request()
        except Exception as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> SmsGatewayError:
        if isinstance(exc, self._sdk_error):
            code = str(getattr(exc, "code", "") or "")
            message = getattr(exc, "message", None)
            if code == "ClientNetworkError":
                return _network_failure(self.provider, self.label, exc)
            if code == "ServerNetworkError":  # any HTTP status but 200
                return SmsGatewayError(
                    f"{self.label} failed on its side: {_tencent_http_error(message)}",
                    provider=self.provider,
                    code=code,
                )
            if getattr(exc, "requestId", None):  # an error answer of the API itself
                return self._error(code, message)
            if code in ("ClientError", "ClientParamsError"):
                return SmsGatewayError(
                    f"{self.label}: the SDK refused the request: {code}: {message}",
                    provider=self.provider,
                    code=code,
                    retryable=False,
                )
        # Anything else went wrong reading an answer (the SDK wraps a JSON error as a code
        # named after the exception): the request may have been taken.
        return _network_failure(self.provider, self.label, exc)

    def send(self, message: Notification) -> SendResult:
        """Send ``message`` with ``SendSms``; its reference is Tencent's ``SerialNo``.

        Raises:
            NotifierTimeout: no answer in time (the outcome is unknown).
            NotifierError: refused or failed (see the module docstring for which retry).
        """
        (outcome,) = self._send([message])
        if isinstance(outcome, NotifierError):
            raise outcome
        return outcome

    def send_batch(self, messages: Sequence[Notification]) -> list[SendResult | NotifierError]:
        """Send ``messages`` (one payload, up to 200 numbers) with one ``SendSms``, and
        return Tencent's result for each number: a ``SendResult`` with its ``SerialNo``, or
        the error of that number alone.

        Raises:
            NotifierTimeout: no answer in time (unknown for every message).
            NotifierError: the request was refused or failed (for every message).
            ValueError: more than 200 messages, or different channels or payloads.
        """
        if not messages:
            return []
        return self._send(messages)

    def _send(self, messages: Sequence[Notification]) -> list[SendResult | NotifierError]:
        try:
            template, variables = self._batch_template(messages, self.max_batch)
        except NotifierError as exc:
            self._remember(messages, [exc] * len(messages))
            raise
        params = [variables[name] for name in template.variables]
        outcomes: list[SendResult | NotifierError | None] = [None] * len(messages)
        groups: dict[bool, list[int]] = {}
        for i, m in enumerate(messages):
            try:
                self.format_number(m.recipient)
            except NotifierError as exc:
                outcomes[i] = exc
                continue
            # Tencent takes mainland or other numbers in one request, never both.
            groups.setdefault(m.recipient.startswith("+86"), []).append(i)
        for group in groups.values():
            chosen = [messages[i] for i in group]
            try:
                results = self._send_group(template, params, chosen)
            except NotifierError as exc:
                if len(group) == len(messages):  # the request was the whole batch
                    self._remember(messages, [exc] * len(messages))
                    raise
                results = [exc] * len(group)
            for i, result in zip(group, results, strict=True):
                outcomes[i] = result
        done = [o for o in outcomes if o is not None]
        self._remember(messages, done)
        return done

    def _send_group(
        self, template: SmsTemplate, params: list[str], messages: Sequence[Notification]
    ) -> list[SendResult | NotifierError]:
        request = self._models.SendSmsRequest()
        request.PhoneNumberSet = [m.recipient for m in messages]
        request.SmsSdkAppId = self._sdk_app_id
        request.SignName = self._sign_name
        request.TemplateId = template.id
        request.TemplateParamSet = params
        reference = _client_reference(messages, self._reference_limit)
        if reference is not None:
            request.SessionContext = reference
        response = self._call(lambda: self._client.SendSms(request))
        # Per number, by number: the answer need not keep the request's order.
        by_number: dict[str, list[Any]] = {}
        for status in response.SendStatusSet or []:
            by_number.setdefault(str(status.PhoneNumber), []).append(status)
        results: list[SendResult | NotifierError] = []
        for m in messages:
            found = by_number.get(m.recipient)
            if not found:
                results.append(
                    SmsGatewayTimeout(
                        f"{self.label} answered without a result for {m.recipient} "
                        f"(RequestId {response.RequestId}); the message may have been sent",
                        provider=self.provider,
                    )
                )
                continue
            status = found.pop(0)
            if str(status.Code) == "Ok":
                results.append(SendResult(str(status.SerialNo or response.RequestId)))
            else:
                results.append(self._error(str(status.Code), status.Message, number=m.recipient))
        return results

    def _reported(self, key: str) -> bool:
        recipient = _phone_of(key)
        if recipient is None:
            return False
        end = self._now()
        begin = end - timedelta(days=self._lookback + 1)
        limit = 100  # the API's largest page
        for page in range(_REPORT_PAGES):
            request = self._models.PullSmsSendStatusByPhoneNumberRequest()
            request.BeginTime = int(begin.timestamp())
            request.EndTime = math.ceil(end.timestamp())  # this second's reports too
            request.Offset = page * limit
            request.Limit = limit
            request.PhoneNumber = recipient
            request.SmsSdkAppId = self._sdk_app_id
            response = self._call(
                lambda: self._client.PullSmsSendStatusByPhoneNumber(request)  # noqa: B023
            )
            reports = response.PullSmsSendStatusSet or []
            for report in reports:
                if _key_of(report.SessionContext, recipient) == key:
                    return True
            if len(reports) < limit:
                break
        return False


def _tencent_http_error(content: object) -> str:
    """The code and message of an HTTP error answer, when it is the API's JSON."""
    raw = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    try:
        error = json.loads(raw)["Response"]["Error"]
        return f"{error['Code']}: {error['Message']}"
    except (ValueError, KeyError, TypeError):
        return raw[:200]
