"""Working days (工作日): the calendar SFA offsets, task reminders and service SLAs count in.

China's official calendar moves working days around holidays: the Spring Festival week is
off, and a Saturday or Sunday next to it is a make-up working day (调休). A
:class:`WorkCalendar` says whether a day is worked and whether it knows the day at all
(a table published year by year ends somewhere); :func:`add_workdays` and
:func:`workdays_between` count on any calendar. crmkit's China calendar
(``crmkit.adapters.calendars.ChinaCalendar``) reads the official table through the
chinese-calendar package; :class:`WeekdayCalendar` is Monday to Friday.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol, runtime_checkable

# How far add_workdays looks for the next working day before giving up (a calendar with
# no working day at all is a configuration error, not a reason to loop for ever).
_LOOKAHEAD = 366


@runtime_checkable
class WorkCalendar(Protocol):
    """Which days are worked."""

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day."""

    def covers(self, day: date) -> bool:
        """Whether the calendar knows ``day`` from an official table (else it guesses:
        Monday to Friday)."""


class WeekdayCalendar:
    """Monday to Friday, every year."""

    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5

    def covers(self, day: date) -> bool:  # noqa: ARG002  (every day follows the rule)
        return True


def next_workday(calendar: WorkCalendar, day: date) -> date:
    """``day`` if it is worked, else the first working day after it.

    Raises:
        ValueError: no working day within a year (a calendar that works no day).
    """
    for offset in range(_LOOKAHEAD):
        candidate = day + timedelta(days=offset)
        if calendar.is_workday(candidate):
            return candidate
    raise ValueError(f"no working day within a year of {day.isoformat()}")


def add_workdays(calendar: WorkCalendar, start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``days`` = 0: ``start``
    if worked, else the next working day; a negative ``days`` counts back).

    Raises:
        ValueError: no working day within a year.
    """
    if days == 0:
        return next_workday(calendar, start)
    step = 1 if days > 0 else -1
    day, left, idle = start, abs(days), 0
    while left:
        day += timedelta(days=step)
        if calendar.is_workday(day):
            left -= 1
            idle = 0
        else:
            idle += 1
            if idle > _LOOKAHEAD:
                raise ValueError(f"no working day within a year of {day.isoformat()}")
    return day


def workdays_between(calendar: WorkCalendar, start: date, end: date) -> int:
    """How many working days come after ``start`` up to and including ``end`` (negative
    when ``end`` is before ``start``)."""
    if end < start:
        return -workdays_between(calendar, end, start)
    return sum(
        1 for n in range(1, (end - start).days + 1) if calendar.is_workday(start + timedelta(n))
    )
