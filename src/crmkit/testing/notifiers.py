"""Notifier test doubles: a recording notifier and a scriptable one.

They implement the notifier port (:class:`crmkit.workflows.notify.Notifier`), so tests pass
them to ``crmkit.open(notifier=...)`` instead of patching anything::

    from crmkit.testing.notifiers import RecordingNotifier, ScriptedNotifier

    notifier = RecordingNotifier()
    crm = crmkit.open(notifier=notifier)
    ...
    crm.dispatch()
    assert [m.recipient for m in notifier.sent] == ["+8613800138000"]

    flaky = ScriptedNotifier()
    flaky.fail(2)                    # the next two sends raise NotifierError
    flaky.time_out(1, delivered=True)  # then one times out after the message went out
    flaky.knows_status = False       # and status() cannot tell
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from collections.abc import Iterable, Sequence

from crmkit.workflows.notify import (
    ANY_CHANNEL,
    DeliveryStatus,
    Notification,
    NotifierError,
    NotifierTimeout,
    SendResult,
)


class RecordingNotifier:
    """Keeps every message it is given, in order, and always knows what it sent.

    Thread-safe (``crm.dispatch`` may run in several threads).

    Args:
        channels: the channels it serves (default: every one).

    Attributes:
        sent: the messages sent, in order.
        status_calls: the keys ``status`` was asked about.
    """

    def __init__(self, channels: Iterable[str] = (ANY_CHANNEL,)) -> None:
        self._channels = frozenset(channels)
        self.sent: list[Notification] = []
        self.status_calls: list[str] = []
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def channels(self) -> frozenset[str]:
        return self._channels

    def _serves(self, message: Notification) -> None:
        if ANY_CHANNEL not in self._channels and message.channel not in self._channels:
            raise NotifierError(f"channel {message.channel!r} is not served", retryable=False)

    def _record(self, message: Notification) -> SendResult:
        with self._lock:
            self.sent.append(message)
            return SendResult(f"rec-{next(self._numbers)}")

    def send(self, message: Notification) -> SendResult:
        """Record ``message``; returns a reference ``rec-<n>``.

        Raises:
            NotifierError: a channel it does not serve (not retryable).
        """
        self._serves(message)
        return self._record(message)

    def status(self, key: str) -> DeliveryStatus | None:
        with self._lock:
            self.status_calls.append(key)
            return (
                DeliveryStatus.SENT
                if any(m.key == key for m in self.sent)
                else DeliveryStatus.NOT_SENT
            )

    # -- what tests ask ---------------------------------------------------------------------
    def keys(self) -> Counter[str]:
        """How many times each key was sent."""
        with self._lock:
            return Counter(m.key for m in self.sent)

    def to(self, recipient: str) -> list[Notification]:
        """The messages sent to ``recipient``."""
        with self._lock:
            return [m for m in self.sent if m.recipient == recipient]


class ScriptedNotifier(RecordingNotifier):
    """A :class:`RecordingNotifier` whose next sends fail, time out or are refused as told
    (each instruction applies to the next sends, in the order given), and whose ``status``
    may be told not to know.

    Attributes:
        knows_status: False makes ``status`` answer None (cannot tell).
        attempts: every message it was given, sent or not.
    """

    def __init__(self, channels: Iterable[str] = (ANY_CHANNEL,)) -> None:
        super().__init__(channels)
        self._script: deque[tuple[str, bool]] = deque()
        self.knows_status = True
        self.attempts: list[Notification] = []

    def fail(self, times: int = 1) -> ScriptedNotifier:
        """The next ``times`` sends raise a retryable ``NotifierError`` (nothing sent)."""
        self._script.extend([("fail", False)] * times)
        return self

    def refuse(self, times: int = 1) -> ScriptedNotifier:
        """The next ``times`` sends raise a ``NotifierError`` that is not retryable."""
        self._script.extend([("refuse", False)] * times)
        return self

    def clear(self) -> ScriptedNotifier:
        """Forget the scripted outcomes no send has used yet."""
        with self._lock:
            self._script.clear()
        return self

    def time_out(self, times: int = 1, *, delivered: bool = False) -> ScriptedNotifier:
        """The next ``times`` sends raise ``NotifierTimeout``; with ``delivered`` the
        message went out all the same (the case that makes blind resending wrong)."""
        self._script.extend([("timeout", delivered)] * times)
        return self

    def send(self, message: Notification) -> SendResult:
        """Follow the script, or record the message as :class:`RecordingNotifier` does.

        Raises:
            NotifierTimeout: scripted timeout.
            NotifierError: scripted failure or refusal, or a channel not served.
        """
        self._serves(message)
        with self._lock:
            self.attempts.append(message)
            step = self._script.popleft() if self._script else ("send", False)
        action, delivered = step
        if action == "fail":
            raise NotifierError("scripted failure")
        if action == "refuse":
            raise NotifierError("scripted refusal", retryable=False)
        if action == "timeout":
            if delivered:
                self._record(message)
            raise NotifierTimeout("scripted timeout")
        return self._record(message)

    def status(self, key: str) -> DeliveryStatus | None:
        answer = super().status(key)
        return answer if self.knows_status else None


class BatchingNotifier(RecordingNotifier):
    """A :class:`RecordingNotifier` that also takes batches (``send_batch``, as SMS gateways
    and SMTP do), refusing the recipients in ``refuse`` one by one inside a batch, as
    Tencent's per-number results do.

    Attributes:
        batches: the size of each ``send_batch`` call, in order.
    """

    def __init__(
        self,
        channels: Iterable[str] = (ANY_CHANNEL,),
        *,
        max_batch: int = 100,
        refuse: Iterable[str] = (),
    ) -> None:
        super().__init__(channels)
        self._max_batch = max_batch
        self.refuse = set(refuse)
        self.batches: list[int] = []

    @property
    def max_batch(self) -> int:
        return self._max_batch

    def send(self, message: Notification) -> SendResult:
        """Record ``message`` unless its recipient is refused.

        Raises:
            NotifierError: a refused recipient or a channel not served (not retryable).
        """
        self._serves(message)
        if message.recipient in self.refuse:
            raise NotifierError(f"{message.recipient} refused", retryable=False)
        return self._record(message)

    def send_batch(self, messages: Sequence[Notification]) -> list[SendResult | NotifierError]:
        """Record each message of the batch, except those to refused recipients."""
        if len(messages) > self._max_batch:
            raise ValueError(f"{len(messages)} messages, more than max_batch {self._max_batch}")
        with self._lock:
            self.batches.append(len(messages))
        out: list[SendResult | NotifierError] = []
        for message in messages:
            try:
                self._serves(message)
            except NotifierError as exc:
                out.append(exc)
                continue
            if message.recipient in self.refuse:
                out.append(NotifierError(f"{message.recipient} refused", retryable=False))
            else:
                out.append(self._record(message))
        return out
