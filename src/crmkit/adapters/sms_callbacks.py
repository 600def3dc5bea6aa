"""Inbound SMS callbacks: replies (上行短信) and delivery reports (状态报告) that Aliyun SMS
and Tencent Cloud SMS push to an HTTP endpoint, parsed into crmkit's types, and the HMAC that
authenticates the caller.

**What the providers push.** Each provider POSTs UTF-8 JSON to a URL set in its console:

=========================  ====================================================================
push                       body (fields crmkit reads)
=========================  ====================================================================
Aliyun ``SmsUp``           JSON array; ``phone_number`` (11 national digits for the mainland),
(上行消息, HTTP 批量推送)   ``content``, ``send_time`` (``"2017-09-01 00:00:00"``, China time),
                           ``sign_name``, ``dest_code`` (the extension number), ``sequence_id``
                           (a number or a string)
Aliyun ``SmsReport``       JSON array; ``phone_number``, ``success`` (true/false), ``err_code``
(短信发送状态报告)          (``"DELIVERED"`` ...), ``err_msg``, ``send_time``, ``report_time``
                           (China time), ``sms_size``, ``biz_id`` (``SendSms``'s BizId),
                           ``out_id`` (the OutId crmkit sent)
Tencent 短信回复           one JSON object; ``mobile`` (national digits), ``nationcode``
(上行回复)                  (``"86"``), ``text``, ``time`` (unix seconds), ``sign``, ``extend``
Tencent 短信下发状态通知    JSON array; ``mobile``, ``nationcode``, ``report_status``
                           (``"SUCCESS"`` / ``"FAIL"``), ``errmsg`` (``"DELIVRD"`` ...),
                           ``description``, ``user_receive_time`` (China time), ``sid``
                           (``SendSms``'s SerialNo)
=========================  ====================================================================

Sources: Aliyun's SmsUp and SmsReport pages (help.aliyun.com/zh/sms/developer-reference/
smsup-http, .../smsreport-2), Tencent's 短信回复 and 短信下发状态通知 pages
(cloud.tencent.com/document/api/382/5809 and /5807). Every parser also takes a single object
where an array is documented and the reverse, because Tencent documents the reply as an
object and the reports as an array, and an integrator's gateway may batch either. Tencent's
documented status push carries no client reference (the ``SessionContext`` crmkit sends
comes back only through ``PullSmsSendStatus``); an ``ext`` field is read if an account's
push has one. Times without an offset are China time (Asia/Shanghai); ``"20170901000000"``
and unix seconds are read too; all come out as aware UTC. Numbers come out in E.164 through
:meth:`crmkit.Phone.parse` (region CN), the same rules as every other number crmkit stores.

**Answering.** A provider retries a push it did not see answered with HTTP 200 (Aliyun after
1, 5 and 10 minutes, then less often, 3 to 10 times as its pages differ), so an endpoint
answers 200 with :func:`acknowledgement` once the items are stored, and 5xx when storing
failed. A body that
does not parse will not parse on the next try either: answer 400 and log it. Repeated pushes
of the same reply are stored once (:func:`record_callbacks`).

**Authenticating the caller.** Neither provider signs its HTTP push: Aliyun's SmsUp and
SmsReport pushes and Tencent's callbacks are plain POSTs with no signature, token or
timestamp header (the ``sig`` in Tencent's older API is what a *client* sends to Tencent,
not what Tencent sends back). So there is no provider signature to verify, and crmkit's
endpoint authenticates the caller with an HMAC that a gateway in front of it adds (an nginx
or API-gateway rule, a cloud function that receives the provider's push on a secret URL or
from the provider's published addresses, and forwards it):

* ``X-Crmkit-Timestamp``: unix seconds when the gateway signed, as a decimal integer.
* ``X-Crmkit-Signature``: lowercase hex of HMAC-SHA256(secret, ``f"{timestamp}."`` encoded
  as ASCII + the raw body bytes), exactly the bytes that are forwarded; see
  :func:`sign_callback`.

The endpoint calls :func:`verify_callback` on the raw body before parsing it. It refuses a
missing header, a timestamp that is not an integer, a signature that does not match, and a
timestamp more than ``window`` seconds (default 300) before or after its clock, which keeps
a captured request from being replayed later. An admin endpoint thus expects::

    POST /sms/callback/<aliyun|tencent>/<reply|report>
    X-Crmkit-Timestamp: 1767225600
    X-Crmkit-Signature: 5c1f…(64 hex digits)
    Content-Type: application/json

    <the provider's body, unchanged>

and answers 401 for an authentication failure (:attr:`CallbackError.authentication`), 400 for a
body that does not parse, 200 with the provider's acknowledgement once stored::

    verify_callback(secret, body, request.headers.get(TIMESTAMP_HEADER),
                    request.headers.get(SIGNATURE_HEADER), now=crm.clock.now())
    items = parse_callback("aliyun", "reply", body)
    with crm.session(actor=crmkit.SYSTEM) as s:
        record_callbacks(s, items)
    return acknowledgement("aliyun")
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.adapters.sms import _key_of
from crmkit.domain.errors import CRMError, ValidationError
from crmkit.domain.values import Phone

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "CallbackError",
    "CallbackItem",
    "CallbackProblem",
    "CallbackResult",
    "DeliveryReport",
    "InboundSms",
    "acknowledgement",
    "parse_aliyun_replies",
    "parse_aliyun_reports",
    "parse_callback",
    "parse_tencent_replies",
    "parse_tencent_reports",
    "record_callbacks",
    "sign_callback",
    "verify_callback",
]

TIMESTAMP_HEADER: Final = "X-Crmkit-Timestamp"
"""The header with the unix seconds at which the gateway signed the body."""
SIGNATURE_HEADER: Final = "X-Crmkit-Signature"
"""The header with the hex HMAC-SHA256 of ``"<timestamp>." + body``."""

# Both providers write local times in China time, whatever the server's zone.
_CHINA = ZoneInfo("Asia/Shanghai")
_UNIX = re.compile(r"\d{9,11}(?:\.\d+)?")  # 1973 to 5138: not a date written as digits
_COMPACT = re.compile(r"\d{14}")  # 20170901000000, as some Aliyun pushes write send_time
_TIMESTAMP = re.compile(r"\d{1,12}")
_PROVIDERS = ("aliyun", "tencent")


# -- errors --------------------------------------------------------------------------------
class CallbackProblem(enum.StrEnum):
    """Why a callback was refused."""

    MALFORMED = "malformed"  # the body is not the provider's format
    MISSING_HEADER = "missing_header"
    BAD_TIMESTAMP = "bad_timestamp"  # not an integer
    STALE = "stale"  # signed longer ago than the window
    FUTURE = "future"  # signed further ahead than the window
    BAD_SIGNATURE = "bad_signature"


_AUTHENTICATION = frozenset(CallbackProblem) - {CallbackProblem.MALFORMED}


class CallbackError(CRMError, ValueError):
    """A callback crmkit does not accept: a body that is not the provider's format, or a
    request whose signature headers do not authenticate it.

    Attributes:
        problem: why, as a :class:`CallbackProblem`.
        provider: ``"aliyun"`` or ``"tencent"`` for a body's problem, None for a header's.
        item: the index of the item at fault in the body's array, if one is.
        field: the field at fault (``"phone_number"``), or the header.
    """

    def __init__(
        self,
        message: str,
        *,
        problem: CallbackProblem = CallbackProblem.MALFORMED,
        provider: str | None = None,
        item: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.problem = problem
        self.provider = provider
        self.item = item
        self.field = field

    @property
    def authentication(self) -> bool:
        """True when the caller was not authenticated (answer 401), False for a body that
        does not parse (answer 400)."""
        return self.problem in _AUTHENTICATION


# -- results -------------------------------------------------------------------------------
@attrs.frozen
class InboundSms:
    """A text a customer sent to the company's number (上行短信).

    Attributes:
        sender: the number it came from, E.164 (``"+8613800138000"``).
        text: what it says, as the provider gave it.
        at: when the carrier received it, aware UTC.
        provider: ``"aliyun"`` or ``"tencent"``.
        reference: the provider's id of the reply (Aliyun ``sequence_id``; Tencent gives
            none).
        extension: the extension number it was sent to (Aliyun ``dest_code``, Tencent
            ``extend``), which tells replies to different campaigns apart where it is enabled.
        sign_name: the signature (签名) of the text it answers, where the provider says.
    """

    sender: str
    text: str
    at: datetime
    provider: str
    reference: str | None
    extension: str | None = None
    sign_name: str | None = None


@attrs.frozen
class DeliveryReport:
    """What the carrier said about one sent text (状态报告).

    Attributes:
        recipient: the number it went to, E.164.
        delivered: whether it reached the handset.
        code: the status code (Aliyun ``err_code`` ``"DELIVERED"``, Tencent ``errmsg``
            ``"DELIVRD"``; a failure's code says why).
        at: when the report was made (Aliyun ``report_time``, Tencent
            ``user_receive_time``), aware UTC; None if the provider left it out.
        reference: the provider's id of the send (Aliyun BizId, Tencent SerialNo / ``sid``).
        client_reference: what crmkit sent along (Aliyun ``out_id``, Tencent ``ext`` if
            present), from which :attr:`outbox_key` comes.
        provider: ``"aliyun"`` or ``"tencent"``.
        description: the provider's words for the status (``"用户接收成功"``).
    """

    recipient: str
    delivered: bool
    code: str
    at: datetime | None
    reference: str | None
    client_reference: str | None
    provider: str
    description: str | None = None

    @property
    def outbox_key(self) -> str | None:
        """The key of crmkit's outbox row this report is about, when the client reference
        is one crmkit's SMS adapters sent (see :mod:`crmkit.adapters.sms`)."""
        return _key_of(self.client_reference, self.recipient)


CallbackItem = InboundSms | DeliveryReport


# -- reading a body ------------------------------------------------------------------------
def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _items(body: bytes | str, provider: str, what: str) -> list[dict[str, Any]]:
    """The body's JSON objects (an array of them, or one), or why there are none."""
    label = f"{provider.capitalize()} {what}"

    def fail(text: str) -> CallbackError:
        return CallbackError(f"{label}: {text}", provider=provider)

    if isinstance(body, str):
        text = body
    else:
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(f"the body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    text = text.removeprefix("\ufeff")  # a BOM some gateways prepend
    if not text.strip():
        raise fail("the body is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(
            f"the body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise fail(f"expected a JSON array of objects, got {_json_kind(data)}")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise CallbackError(
                f"{label} item {index}: expected an object, got {_json_kind(item)}",
                provider=provider,
                item=index,
            )
    return data


class _Item:
    """One object of a body, read field by field; every failure names the item and field."""

    def __init__(self, data: Mapping[str, Any], provider: str, what: str, index: int) -> None:
        self._data = data
        self._provider = provider
        self._label = f"{provider.capitalize()} {what} item {index}"
        self._index = index

    def fail(self, field: str, text: str) -> CallbackError:
        return CallbackError(
            f"{self._label}: field {field!r} {text}",
            provider=self._provider,
            item=self._index,
            field=field,
        )

    def raw(self, field: str) -> Any:
        """A required field's JSON value."""
        value = self._data.get(field)
        if value is None:
            raise self.fail(field, "is missing" if field not in self._data else "is null")
        return value

    def text(self, field: str) -> str:
        """A required string field; ids that arrive as numbers (Aliyun's ``sequence_id``)
        as text."""
        value = self.raw(field)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self.fail(field, f"should be a string, not {_json_kind(value)}")
        return value

    def optional_text(self, field: str) -> str | None:
        """An optional string field; absent, null or blank is None."""
        if self._data.get(field) is None:
            return None
        value = self.text(field)
        return value if value.strip() else None

    def flag(self, field: str) -> bool:
        value = self.raw(field)
        if isinstance(value, bool):
            return value
        # A gateway that re-encodes the body may turn JSON booleans into strings.
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.fail(field, f"should be true or false, not {value!r}")

    def time(self, field: str) -> datetime:
        """A required time field, as aware UTC."""
        value = self.raw(field)
        found = _when(value)
        if found is None:
            raise self.fail(
                field,
                f"is not a time: {value!r} (expected 'YYYY-MM-DD HH:MM:SS' in China time "
                "or unix seconds)",
            )
        return found

    def optional_time(self, field: str) -> datetime | None:
        """An optional time field; absent, null or blank is None."""
        value = self._data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return self.time(field)

    def number(self, field: str, nationcode_field: str | None = None) -> str:
        """The E.164 form of a number field, with its country code from
        ``nationcode_field`` (Tencent) when that is present."""
        raw = self.text(field)
        candidate, nationcode = raw, None
        if nationcode_field is not None:
            nationcode = self.optional_text(nationcode_field)
        if nationcode is not None and not raw.strip().startswith("+"):
            code = nationcode.strip().lstrip("+")
            if not code.isdigit():
                raise self.fail(str(nationcode_field), f"is not a country code: {nationcode!r}")
            candidate = f"+{code}{raw.strip()}"
        found = _e164(candidate)
        if found is None:
            shown = f"{raw!r}" if nationcode is None else f"{raw!r} (country code {nationcode})"
            raise self.fail(field, f"is not a phone number: {shown}")
        return found


def _when(value: object) -> datetime | None:
    """An aware UTC time from unix seconds or a China-time text; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if _UNIX.fullmatch(text):
            value = float(text)
        elif _COMPACT.fullmatch(text):
            try:
                local = datetime.strptime(text, "%Y%m%d%H%M%S")
            except ValueError:
                return None
            return local.replace(tzinfo=_CHINA).astimezone(UTC)
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=_CHINA)
            return parsed.astimezone(UTC)
    if isinstance(value, int | float):
        if value <= 0:
            return None
        try:
            return datetime.fromtimestamp(value, UTC)
        except (ValueError, OverflowError, OSError):  # milliseconds, or nonsense
            return None
    return None


def _e164(raw: str) -> str | None:
    """E.164 of a number as a provider writes it: ``13800138000``, ``+8613800138000``,
    ``0085291234567`` (Aliyun's form abroad); a bare ``85291234567`` is taken as carrying
    its country code when it is no Chinese number."""
    try:
        return Phone.parse(raw, "CN", field="sender").e164
    except ValidationError:
        pass
    digits = raw.strip()
    if digits.isdigit():
        try:
            return Phone.parse(f"+{digits}", "CN", field="sender").e164
        except ValidationError:
            return None
    return None


# -- the four pushes -----------------------------------------------------------------------
def parse_aliyun_replies(body: bytes | str) -> list[InboundSms]:
    """The replies in an Aliyun ``SmsUp`` push (上行消息, HTTP 批量推送).

    Raises:
        CallbackError: the body is not such a push; the message names the item and field.
    """
    replies = []
    for index, data in enumerate(_items(body, "aliyun", "reply")):
        item = _Item(data, "aliyun", "reply", index)
        replies.append(
            InboundSms(
                sender=item.number("phone_number"),
                text=item.text("content"),
                at=item.time("send_time"),
                provider="aliyun",
                reference=item.optional_text("sequence_id"),
                extension=item.optional_text("dest_code"),
                sign_name=item.optional_text("sign_name"),
            )
        )
    return replies


def parse_aliyun_reports(body: bytes | str) -> list[DeliveryReport]:
    """The delivery reports in an Aliyun ``SmsReport`` push (短信发送状态报告).

    Raises:
        CallbackError: the body is not such a push; the message names the item and field.
    """
    reports = []
    for index, data in enumerate(_items(body, "aliyun", "report")):
        item = _Item(data, "aliyun", "report", index)
        reports.append(
            DeliveryReport(
                recipient=item.number("phone_number"),
                delivered=item.flag("success"),
                code=item.text("err_code"),
                at=item.optional_time("report_time"),
                reference=item.optional_text("biz_id"),
                client_reference=item.optional_text("out_id"),
                provider="aliyun",
                description=item.optional_text("err_msg"),
            )
        )
    return reports


def parse_tencent_replies(body: bytes | str) -> list[InboundSms]:
    """The replies in a Tencent Cloud SMS reply callback (短信回复 / 上行回复).

    ``nationcode`` is documented as required; without it the ``mobile`` is read as it is
    (E.164, or a mainland number), as Tencent's international reply push writes it.

    Raises:
        CallbackError: the body is not such a push; the message names the item and field.
    """
    replies = []
    for index, data in enumerate(_items(body, "tencent", "reply")):
        item = _Item(data, "tencent", "reply", index)
        replies.append(
            InboundSms(
                sender=item.number("mobile", "nationcode"),
                text=item.text("text"),
                at=item.time("time"),
                provider="tencent",
                reference=None,
                extension=item.optional_text("extend"),
                sign_name=item.optional_text("sign"),
            )
        )
    return replies


def parse_tencent_reports(body: bytes | str) -> list[DeliveryReport]:
    """The delivery reports in a Tencent Cloud SMS status callback (短信下发状态通知).

    Raises:
        CallbackError: the body is not such a push (``report_status`` other than
            ``SUCCESS`` / ``FAIL`` included); the message names the item and field.
    """
    reports = []
    for index, data in enumerate(_items(body, "tencent", "report")):
        item = _Item(data, "tencent", "report", index)
        status = (item.text("report_status")).strip().upper()
        if status not in ("SUCCESS", "FAIL"):
            raise item.fail("report_status", f"should be SUCCESS or FAIL, not {status!r}")
        reports.append(
            DeliveryReport(
                recipient=item.number("mobile", "nationcode"),
                delivered=status == "SUCCESS",
                # errmsg is the carrier's code (DELIVRD, MK:0001 ...); a push without one
                # still says whether it arrived.
                code=item.optional_text("errmsg") or status,
                at=item.optional_time("user_receive_time"),
                reference=item.optional_text("sid"),
                client_reference=item.optional_text("ext"),
                provider="tencent",
                description=item.optional_text("description"),
            )
        )
    return reports


_PARSERS: Final[Mapping[tuple[str, str], Callable[[bytes | str], Sequence[CallbackItem]]]] = {
    ("aliyun", "reply"): parse_aliyun_replies,
    ("aliyun", "report"): parse_aliyun_reports,
    ("tencent", "reply"): parse_tencent_replies,
    ("tencent", "report"): parse_tencent_reports,
}


def parse_callback(provider: str, kind: str, body: bytes | str) -> list[CallbackItem]:
    """The items of a push, by provider (``"aliyun"``, ``"tencent"``) and kind
    (``"reply"``, ``"report"``): for an endpoint routed by both.

    Raises:
        ValueError: an unknown provider or kind (the route is wrong, not the body).
        CallbackError: the body is not such a push.
    """
    parser = _PARSERS.get((provider, kind))
    if parser is None:
        raise ValueError(
            f"no SMS callback {provider!r}/{kind!r}: expected aliyun or tencent, reply or report"
        )
    return list(parser(body))


def acknowledgement(provider: str) -> dict[str, Any]:
    """The JSON body a provider expects in answer to a push it should not send again
    (Aliyun ``{"code": 0, "msg": "接收成功"}``, Tencent ``{"result": 0, "errmsg": "OK"}``),
    sent with HTTP 200.

    Raises:
        ValueError: an unknown provider.
    """
    if provider == "aliyun":
        return {"code": 0, "msg": "接收成功"}
    if provider == "tencent":
        return {"result": 0, "errmsg": "OK"}
    raise ValueError(f"unknown SMS provider {provider!r}: expected one of {_PROVIDERS}")


# -- the gateway's signature ---------------------------------------------------------------
def _digest(secret: str, body: bytes, timestamp: str) -> str:
    if not secret:
        # An empty key would let anyone compute a valid signature.
        raise ValueError("an SMS callback secret must not be empty")
    message = timestamp.encode("ascii") + b"." + bytes(body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_callback(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Crmkit-Signature`` of ``body`` signed at ``timestamp`` (unix seconds): hex of
    HMAC-SHA256(secret, ``f"{timestamp}."`` + body). For gateways and tests.

    Raises:
        ValueError: an empty secret or a negative timestamp.
    """
    if timestamp < 0:
        raise ValueError("a callback timestamp is unix seconds, not negative")
    return _digest(secret, body, str(int(timestamp)))


def _missing(header: str) -> CallbackError:
    return CallbackError(
        f"SMS callback refused: the {header} header is missing",
        problem=CallbackProblem.MISSING_HEADER,
        field=header,
    )


def verify_callback(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: datetime,
    window: float = 300.0,
) -> None:
    """Check that ``body`` was signed with ``secret`` (see the module docstring) within
    ``window`` seconds of ``now``.

    Args:
        secret: the secret shared with the gateway.
        body: the raw request body, before any parsing.
        timestamp: the ``X-Crmkit-Timestamp`` header (None if absent).
        signature: the ``X-Crmkit-Signature`` header (None if absent).
        now: this server's time, aware.
        window: how far, in seconds, the timestamp may lie before or after ``now``.

    Raises:
        CallbackError: a header is missing, the timestamp is not an integer, the signature
            does not match, or the timestamp is outside the window
            (:attr:`CallbackError.authentication` is True for all of them).
        ValueError: an empty secret, a naive ``now`` or a window that is not positive.
    """
    if now.tzinfo is None:
        raise ValueError("verify_callback needs an aware 'now'")
    if not window > 0:
        raise ValueError("the callback window must be positive")
    if timestamp is None or not timestamp.strip():
        raise _missing(TIMESTAMP_HEADER)
    if signature is None or not signature.strip():
        raise _missing(SIGNATURE_HEADER)
    stamp = timestamp.strip()
    if not _TIMESTAMP.fullmatch(stamp):
        raise CallbackError(
            f"SMS callback refused: {TIMESTAMP_HEADER} {timestamp[:40]!r} is not unix seconds",
            problem=CallbackProblem.BAD_TIMESTAMP,
            field=TIMESTAMP_HEADER,
        )
    expected = _digest(secret, body, stamp)
    # Compared as bytes: compare_digest refuses non-ASCII text, and a header may hold any.
    given = signature.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise CallbackError(
            "SMS callback refused: the signature does not match the body and timestamp "
            "(a different secret, or a body changed on the way)",
            problem=CallbackProblem.BAD_SIGNATURE,
            field=SIGNATURE_HEADER,
        )
    # Checked after the signature, so that "stale" is only ever said of a genuine request
    # (a replay, or a gateway whose clock is off), which is what an admin needs to know.
    skew = now.timestamp() - int(stamp)
    if skew > window:
        raise CallbackError(
            f"SMS callback refused: signed {skew:.0f} s ago, more than the {window:.0f} s "
            "allowed (a replayed request, or a gateway clock that is behind)",
            problem=CallbackProblem.STALE,
            field=TIMESTAMP_HEADER,
        )
    if skew < -window:
        raise CallbackError(
            f"SMS callback refused: signed {-skew:.0f} s ahead of this server's clock, more "
            f"than the {window:.0f} s allowed",
            problem=CallbackProblem.FUTURE,
            field=TIMESTAMP_HEADER,
        )


# -- storing -------------------------------------------------------------------------------
@attrs.frozen
class CallbackResult:
    """What :func:`record_callbacks` did.

    Attributes:
        replies: replies stored (those from no customer's number included).
        reports: delivery reports seen (not stored: crmkit has no place for them yet).
        unknown: of the replies stored, those from a number no customer has.
        duplicates: replies not stored again because an earlier push brought them.
    """

    replies: int
    reports: int
    unknown: int
    duplicates: int = 0


def record_callbacks(session: Session, items: Iterable[CallbackItem]) -> CallbackResult:
    """Store the replies among ``items`` in the message log, each against the customer whose
    number sent it (``session.messages.receive``: a ``T`` / ``退订`` unsubscribes its
    sender); count the delivery reports.

    Providers push again when they missed an answer, so a reply already in the log (same
    number, time and text) is not stored twice.

    Args:
        session: a session as :data:`crmkit.SYSTEM` (it needs ``message.receive`` and
            ``message.read`` over every customer).
        items: what the parsers returned.

    Raises:
        ValidationError: a sender ``receive`` refuses (the parsers give only E.164 numbers).
    """
    replies = reports = unknown = duplicates = 0
    messages = session.messages
    for item in items:
        if isinstance(item, DeliveryReport):
            reports += 1
            continue
        text = item.text.strip()
        earlier = messages.list(direction="in", recipient=item.sender, at=item.at, limit=20)
        if any(m.text == text for m in earlier.items):
            duplicates += 1
            continue
        message = messages.receive(item.sender, item.text, at=item.at)
        replies += 1
        if message.customer_id is None:
            unknown += 1
    return CallbackResult(replies=replies, reports=reports, unknown=unknown, duplicates=duplicates)
