"""In-process event bus: subscribers run after the unit of work has committed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from crmkit.domain.events import DomainEvent

log = logging.getLogger("crmkit.events")
E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]


class EventBus:
    """Maps event types to handlers. A handler's error is logged, never re-raised: the
    business change it reacts to is already committed and must not look failed."""

    def __init__(self) -> None:
        self._handlers: list[tuple[type[DomainEvent], Handler]] = []
        self._lock = threading.Lock()

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` for every committed event of ``event_type`` (or a subclass).

        Returns a function that unsubscribes.
        """
        entry: tuple[type[DomainEvent], Handler] = (event_type, handler)
        with self._lock:
            self._handlers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._handlers:
                    self._handlers.remove(entry)

        return unsubscribe

    def publish(self, events: Iterable[DomainEvent]) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for event in events:
            for event_type, handler in handlers:
                if isinstance(event, event_type):
                    try:
                        handler(event)
                    except Exception:
                        log.exception("event handler %r failed on %r", handler, event)
