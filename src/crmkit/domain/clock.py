"""Time is injected: the domain and workflows ask a ``Clock``, never ``datetime.now()``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time as an aware UTC ``datetime``."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...
