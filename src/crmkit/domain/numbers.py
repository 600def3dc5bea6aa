"""Document numbers people read: ``SO-2026-000123`` (prefix, year, sequence)."""

from __future__ import annotations

import re
from typing import Final

_PREFIX: Final = re.compile(r"[A-Z]{1,8}")


def format_number(prefix: str, year: int, sequence: int) -> str:
    """``format_number("SO", 2026, 123) == "SO-2026-000123"``; six digits at least, more
    when a year outgrows them (numbers still sort by sequence within a width).

    Raises:
        ValueError: the prefix is not 1-8 capital letters, or the sequence is below 1.
    """
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"document-number prefix {prefix!r} must be 1-8 capital letters")
    if sequence < 1:
        raise ValueError("document sequences start at 1")
    return f"{prefix}-{year:04d}-{sequence:06d}"
