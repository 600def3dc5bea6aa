"""China's official working calendar, from the chinese-calendar package.

:class:`ChinaCalendar` answers from the State Council's holiday table as chinese-calendar
publishes it (2004 to the last year it knows), with its make-up working days (调休).
Each year's table is announced late in the year before; until the package has it, an
application passes the announced days as ``holidays`` / ``workdays``, and a day no table
knows falls back to Monday to Friday and is reported by :meth:`ChinaCalendar.covers`, so
crmkit can warn (``crmkit.open`` logs when this year or, from December, next year is not
covered).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import date

import chinese_calendar
from chinese_calendar.constants import holidays as _HOLIDAYS
from chinese_calendar.constants import workdays as _WORKDAYS

log = logging.getLogger("crmkit.calendar")

FIRST_YEAR: int = min(_HOLIDAYS).year
LAST_YEAR: int = max(max(_HOLIDAYS), max(_WORKDAYS)).year


class ChinaCalendar:
    """Working days on China's official calendar.

    Args:
        holidays: days off beyond the package's table (a year it does not have yet, a
            company's own days off).
        workdays: make-up working days beyond the table (调休).
    """

    def __init__(self, *, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> None:
        self._off = frozenset(holidays)
        self._on = frozenset(workdays)
        self._years = frozenset(d.year for d in (*self._off, *self._on))
        self._warned: set[int] = set()

    @property
    def last_year(self) -> int:
        """The last year an official table (the package's or the one given) covers."""
        return max((LAST_YEAR, *self._years))

    def covers(self, day: date) -> bool:
        return FIRST_YEAR <= day.year <= LAST_YEAR or day.year in self._years

    def is_workday(self, day: date) -> bool:
        if day in self._on:
            return True
        if day in self._off:
            return False
        if FIRST_YEAR <= day.year <= LAST_YEAR:
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self._warned and day.year not in self._years:
            self._warned.add(day.year)
            log.warning(
                "no official holiday table for %s: counting Monday to Friday "
                "(upgrade chinese-calendar or pass the announced days to ChinaCalendar)",
                day.year,
            )
        return day.weekday() < 5

    def holiday(self, name: str, year: int) -> date | None:
        """The first day of the official break of holiday ``name`` (as chinese-calendar
        spells it: ``"Spring Festival"``, ``"National Day"`` ...) in ``year``; None when
        the table does not cover that year. New Year's Day's break may start the December
        before."""
        return _holiday_start(name, year)


@functools.lru_cache(maxsize=256)
def _holiday_start(name: str, year: int) -> date | None:
    if name == "New Year's Day":
        low, high = date(year - 1, 12, 20), date(year, 1, 15)
    else:
        low, high = date(year, 1, 1), date(year, 12, 31)
    days = [d for d, h in _HOLIDAYS.items() if low <= d <= high and getattr(h, "value", h) == name]
    return min(days) if days else None


def coverage_warning(calendar: ChinaCalendar, today: date) -> str | None:
    """Why the calendar may count wrong soon: this year not covered, or next year not
    covered from December on (its table is announced by then); None if all is well."""
    if not calendar.covers(today):
        return f"the working calendar has no official table for {today.year}"
    if today.month == 12 and calendar.last_year <= today.year:
        return f"the working calendar has no official table for {today.year + 1} yet"
    return None
