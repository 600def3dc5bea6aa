"""The notifier port: how crmkit hands a message to an SMS gateway, a mail server, WeCom ...

A notifier is anything with ``channels``, ``send`` and ``status`` (a ``typing.Protocol``, so
no base class is needed). ``crm.dispatch()`` gives it each message of the outbox once it is
due, outside any database transaction, and reads the outcome from what ``send`` does:

- returns a :class:`SendResult`: the message went out (the result carries the provider's
  reference);
- raises :class:`NotifierTimeout`: **the outcome is unknown**; the provider may have
  accepted the message. crmkit never resends such a message blindly (SMS gateways are not
  idempotent: a resend is a second text on the customer's phone); it asks ``status(key)``
  first, and when the notifier cannot tell, a person decides;
- raises any other :class:`NotifierError`: the message did not go out; it is retried later
  (``retryable=True``, the default) or given up (``retryable=False``: a malformed number,
  an unknown template);
- raises anything else: treated like a timeout (the adapter failed somewhere unknown).

``status(key)`` answers about a message sent earlier under ``key``:
``DeliveryStatus.SENT``, ``DeliveryStatus.NOT_SENT``, or None when it cannot tell.

**Batches, results per recipient.** A notifier may also offer ``send_batch`` and
``max_batch`` (:class:`BatchNotifier`): ``crm.dispatch()`` then hands it up to ``max_batch``
messages at once that share their channel and payload (one SMS template with the same
variables to many numbers: Tencent's ``SendSms`` and Aliyun's ``SendBatchSms`` take one
request for them; one mail to many addresses), and reads one result per message, in order:
a :class:`SendResult`, or the :class:`NotifierError` (a :class:`NotifierTimeout` for "unknown")
of that recipient alone. Tencent, for one, accepts some numbers of a request and refuses
others. A batch whose request as a whole fails raises, and every message of it has that
outcome.

**Payloads.** What crmkit itself queues is a JSON-ready mapping: ``template`` (the message
template's code, e.g. ``"birthday"``), ``variables`` (the template's values), ``text`` (the
rendered text, with the SMS signature and any opt-out line) and, for email, ``subject``.
Reminders crmkit raises for its users (``"task.reminder"``, ``"receivable.overdue"`` ...)
carry ``template`` and their values as top-level keys instead; :func:`payload_variables`
reads either shape.

``crmkit.testing.contract.NotifierContract`` is the suite an adapter must pass;
``crmkit.testing.notifiers`` has a recording notifier and a scriptable fake for tests, and
``crmkit.adapters.notifiers.ConsoleNotifier`` prints messages for development.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from crmkit.domain.errors import CRMError

ANY_CHANNEL = "*"


@attrs.frozen(kw_only=True)
class Notification:
    """One message to one recipient, as a notifier receives it.

    Attributes:
        key: the idempotency key of this delivery (unique per message and recipient). A
            provider that accepts a client reference should be given it, so that
            ``status(key)`` can be answered.
        channel: the channel it goes out on (``"sms"``, ``"email"``, ``"wecom"`` ...).
        recipient: the address on that channel.
        payload: what to send (template and variables, subject and body ...).
    """

    key: str
    channel: str
    recipient: str
    payload: Mapping[str, Any]


@attrs.frozen
class SendResult:
    """A message the provider accepted. ``reference`` is its id at the provider."""

    reference: str | None = None


class DeliveryStatus(enum.StrEnum):
    """What a notifier knows about a message sent earlier (``None``: it cannot tell)."""

    SENT = "sent"
    NOT_SENT = "not_sent"


class NotifierError(CRMError):
    """The message was not sent.

    Args:
        message: why, for the log and the outbox row's ``last_error``.
        retryable: False when sending again cannot help (a malformed address, a template
            the provider refuses): the message is given up at once.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotifierTimeout(NotifierError):
    """No answer in time: the message may or may not have gone out."""


class Notifier(Protocol):
    """The port a notification adapter implements (see the module docstring)."""

    @property
    def channels(self) -> frozenset[str]:
        """The channels it serves; ``"*"`` among them serves every channel no other
        notifier of the CRM names."""

    def send(self, message: Notification) -> SendResult:
        """Hand ``message`` to the provider.

        Raises:
            NotifierTimeout: the outcome is unknown.
            NotifierError: the message was not sent.
        """

    def status(self, key: str) -> DeliveryStatus | None:
        """What the provider knows about the message sent under ``key`` (None: it cannot
        tell)."""


@runtime_checkable
class BatchNotifier(Notifier, Protocol):
    """A notifier that also sends many messages in one request, with a result for each."""

    @property
    def max_batch(self) -> int:
        """The most messages one ``send_batch`` takes (Tencent: 200 numbers a request)."""

    def send_batch(self, messages: Sequence[Notification]) -> Sequence[SendResult | NotifierError]:
        """Send ``messages`` (same channel and payload, different recipients, at most
        ``max_batch``) and return one outcome per message, in their order.

        Raises:
            NotifierTimeout: the request's outcome is unknown for every message.
            NotifierError: the request failed for every message.
        """


_NOT_VARIABLES: frozenset[str] = frozenset({"template", "variables", "text", "subject", "html"})


def payload_variables(payload: Mapping[str, Any]) -> dict[str, str]:
    """A payload's template variables as strings: its ``variables`` mapping, or (a reminder's
    payload) its top-level keys other than ``template``, ``text``, ``subject`` and ``html``."""
    given = payload.get("variables")
    if isinstance(given, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in given.items()}
    return {k: "" if v is None else str(v) for k, v in payload.items() if k not in _NOT_VARIABLES}


class Notifiers:
    """The notifiers of one CRM, found by channel.

    Args:
        notifiers: one notifier or several; each serves the channels it names, and one
            naming ``"*"`` serves the rest.

    Raises:
        ValueError: two notifiers name the same channel (or both ``"*"``).
    """

    def __init__(self, notifiers: Notifier | Iterable[Notifier] | None = None) -> None:
        given: list[Notifier]
        if notifiers is None:
            given = []
        elif isinstance(notifiers, Iterable) and not hasattr(notifiers, "send"):
            given = list(notifiers)
        else:
            given = [notifiers]  # type: ignore[list-item]
        self._by_channel: dict[str, Notifier] = {}
        for notifier in given:
            for channel in notifier.channels:
                if channel in self._by_channel:
                    raise ValueError(f"two notifiers serve the channel {channel!r}")
                self._by_channel[channel] = notifier

    def __bool__(self) -> bool:
        return bool(self._by_channel)

    def channels(self) -> frozenset[str] | None:
        """The channels served, or None when one notifier serves every channel."""
        if ANY_CHANNEL in self._by_channel:
            return None
        return frozenset(self._by_channel)

    def for_channel(self, channel: str) -> Notifier | None:
        """The notifier of ``channel``, if any."""
        return self._by_channel.get(channel) or self._by_channel.get(ANY_CHANNEL)
