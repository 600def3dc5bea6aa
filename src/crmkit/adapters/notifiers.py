"""Notifiers that ship with crmkit: the console one, for development and demos.

Real gateways (SMS, SMTP, WeCom) implement the same port
(:class:`crmkit.workflows.notify.Notifier`) and pass
``crmkit.testing.contract.NotifierContract``.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
import threading
from collections.abc import Iterable
from typing import TextIO

from crmkit.workflows.notify import (
    ANY_CHANNEL,
    DeliveryStatus,
    Notification,
    NotifierError,
    SendResult,
)

log = logging.getLogger("crmkit.notify.console")


class ConsoleNotifier:
    """Writes one line per message instead of sending it, and logs it (``crmkit.notify``).

    It remembers what it wrote in this process: ``status(key)`` says ``SENT`` for those and
    None (cannot tell) for any other key, since an earlier process may have written it.

    Args:
        stream: where lines go (default: ``sys.stdout`` at the time of each send).
        channels: the channels it serves (default: every one).
    """

    def __init__(
        self, stream: TextIO | None = None, channels: Iterable[str] = (ANY_CHANNEL,)
    ) -> None:
        self._stream = stream
        self._channels = frozenset(channels)
        self._sent: dict[str, str] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def channels(self) -> frozenset[str]:
        return self._channels

    def send(self, message: Notification) -> SendResult:
        """Write ``message`` as one line; returns a reference ``console-<n>``.

        Raises:
            NotifierError: a channel it does not serve (not retryable).
        """
        if ANY_CHANNEL not in self._channels and message.channel not in self._channels:
            raise NotifierError(f"channel {message.channel!r} is not served", retryable=False)
        payload = json.dumps(dict(message.payload), ensure_ascii=False, sort_keys=True)
        with self._lock:
            reference = f"console-{next(self._numbers)}"
            line = f"[{message.channel}] → {message.recipient} ({message.key}): {payload}"
            print(line, file=self._stream or sys.stdout, flush=True)
            self._sent[message.key] = reference
        log.info("%s %s", reference, line)
        return SendResult(reference)

    def status(self, key: str) -> DeliveryStatus | None:
        with self._lock:
            return DeliveryStatus.SENT if key in self._sent else None
