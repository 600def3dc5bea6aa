"""Helpers shared by the entity services."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from crmkit.domain.errors import FieldErrors, ValidationError
from crmkit.storage.ports import Deleted

DELETED_MODES = frozenset(Deleted)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large, acyclic result.

    A scan of a million records creates millions of objects that live until it returns, and
    every full collection walks all of them again: a fifth of the scan's time at 1M. They
    hold no reference cycles, so reference counting frees them as usual; the collector
    runs again as soon as the block ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_young_only_lock = threading.Lock()
_young_only_depth = 0
_young_only_saved: tuple[int, int, int] = (700, 10, 10)


@contextlib.contextmanager
def young_collections_only() -> Iterator[None]:
    """Keep the collector to its young generations while a long job builds up state.

    An import keeps every row's outcome and the file's duplicate index until it returns, so
    the heap grows all along, and CPython walks the whole heap in a full collection each
    time it grew by a quarter: 15% of a 20,000-row import's time. Unlike
    :func:`paused_gc`, the short-lived cycles that database calls leave behind are still
    collected; only garbage that outlives two young collections waits for the block's end.
    Nested and concurrent blocks share one setting, restored when the last one ends.
    """
    global _young_only_depth, _young_only_saved
    with _young_only_lock:
        if _young_only_depth == 0:
            _young_only_saved = gc.get_threshold()
            young, middle, _ = _young_only_saved
            gc.set_threshold(young, middle, 1_000_000)
        _young_only_depth += 1
    try:
        yield
    finally:
        with _young_only_lock:
            _young_only_depth -= 1
            if _young_only_depth == 0:
                gc.set_threshold(*_young_only_saved)


def page_limit(limit: int, maximum: int) -> int:
    """Clamp a page size to the configured maximum; refuse sizes below one."""
    if not isinstance(limit, int) or limit < 1:
        errors = FieldErrors()
        errors.add("limit", "invalid_type", limit, expected=f"1..{maximum}")
        raise ValidationError(errors.errors)
    return min(limit, maximum)


def as_instant(value: Any, field: str, errors: FieldErrors, tz: str) -> datetime | None:
    """A filter bound: aware datetime as is; naive datetime or date in the business tz."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=ZoneInfo(tz))
    if isinstance(value, str):
        try:
            return as_instant(datetime.fromisoformat(value), field, errors, tz)
        except ValueError:
            pass
    errors.add(field, "date.invalid", value)
    return None


def reject_unknown(filters: Mapping[str, Any], known: set[str], errors: FieldErrors) -> None:
    for key, value in filters.items():
        if key not in known:
            errors.add(key, "unknown_field", value)
