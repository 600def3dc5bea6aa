"""Service-level targets counted in working time on China's calendar (SLA, 服务时效).

A ticket's first-response and resolution targets are minutes of *service time*: the
service hours (``Settings.service_hours``, ``"09:00-12:00,13:30-18:00"``) of the days a
:class:`~crmkit.domain.workdays.WorkCalendar` says are worked. On China's calendar a
weekend day can be a make-up working day (调休) and the National Day week is off, so with
service hours of ``09:00-18:00`` a target of 16 service hours set at 17:00 on 30 September
2025 falls due at 15:00 on 10 October.

While a ticket waits for the customer its clock stops: a pause is a span of time that does
not count. :func:`due_at` says when a target falls due, given when the clock started, the
target and the pauses; :func:`elapsed` says how much service time has passed. Both work on
the wall clock of the CRM's zone (naive local datetimes); the services convert.

The arithmetic walks day by day, never minute by minute, so a target weeks long costs a few
dozen steps; the property tests check it against a minute-by-minute walk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Final

import attrs

from crmkit.domain.workdays import WorkCalendar

# How many days the walk looks ahead for service time before giving up: a calendar with no
# working day, or service hours of zero length, is a configuration error.
_LOOKAHEAD_DAYS: Final = 3 * 366
_DAY: Final = timedelta(days=1)
# One bound of a window: ``9:00`` or ``09:00`` (no seconds, no zone: the arithmetic is in
# whole minutes of naive local time).
_CLOCK: Final = re.compile(r"(\d{1,2}):(\d{2})")


@attrs.frozen
class ServiceHours:
    """The service windows of a working day, in order and not overlapping
    (``((09:00, 12:00), (13:30, 18:00))``). A window ending at ``00:00`` ends at midnight."""

    windows: tuple[tuple[time, time], ...]

    @classmethod
    def parse(cls, text: str) -> ServiceHours | None:
        """``"09:00-18:00"`` or ``"09:00-12:00,13:30-18:00"`` (full-width ``，``/``：`` and
        ``~`` also read); None when ``text`` is not such a list (a bound that is not
        ``HH:MM``, a window that ends before it starts, windows that overlap or are out of
        order)."""
        windows: list[tuple[time, time]] = []
        normal = text.replace("，", ",").replace("：", ":")
        for dash in ("–", "~", "～"):
            normal = normal.replace(dash, "-")
        for part in normal.split(","):
            bounds = part.split("-")
            if len(bounds) != 2:
                return None
            start, end = _clock(bounds[0]), _clock(bounds[1])
            if start is None or end is None:
                return None
            if _minutes(end) <= _minutes(start) and end != time(0):
                return None
            if windows and _end_minutes(windows[-1][1]) > _minutes(start):
                return None
            windows.append((start, end))
        return cls(tuple(windows)) if windows else None

    @property
    def minutes_per_day(self) -> int:
        """Service minutes in one working day."""
        return sum(_end_minutes(e) - _minutes(s) for s, e in self.windows)

    def spans(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The service windows of ``day`` as local datetimes (whether or not it is
        worked)."""
        for start, end in self.windows:
            last = datetime.combine(day + _DAY, time(0)) if end == time(0) else None
            yield datetime.combine(day, start), last or datetime.combine(day, end)

    def __str__(self) -> str:
        return ",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.windows)


def _clock(text: str) -> time | None:
    match = _CLOCK.fullmatch(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _end_minutes(t: time) -> int:
    return 24 * 60 if t == time(0) else _minutes(t)


@attrs.frozen
class Pause:
    """A span during which the clock stood still (waiting for the customer); ``end`` is
    None while it lasts."""

    start: datetime
    end: datetime | None = None


def _service_spans(
    calendar: WorkCalendar, hours: ServiceHours, start: datetime, until: datetime | None
) -> Iterator[tuple[datetime, datetime]]:
    """The service time from ``start`` on, span by span (cut at ``start``; the walk stops
    after the day of ``until``, or for ever when None).

    Raises:
        ValueError: ``until`` is None and there is no service time within three years.
    """
    if hours.minutes_per_day <= 0:  # no hours: no service time, ever
        if until is None:
            raise ValueError("no service hours")
        return
    day = start.date()
    idle = 0
    while until is None or day <= until.date():
        if calendar.is_workday(day):
            idle = 0
            for low, high in hours.spans(day):
                if high > start:
                    yield max(low, start), high
        else:
            idle += 1
            if idle > _LOOKAHEAD_DAYS:
                raise ValueError(f"no service time within {_LOOKAHEAD_DAYS} days of {start}")
        day += _DAY


def _open_spans(
    calendar: WorkCalendar,
    hours: ServiceHours,
    start: datetime,
    pauses: Sequence[Pause],
    until: datetime | None,
) -> Iterator[tuple[datetime, datetime]]:
    """Service time from ``start`` up to ``until`` (None: for ever) with the ended
    pauses cut out (a pause that ends before it starts cuts nothing)."""
    cuts = sorted((p.start, p.end) for p in pauses if p.end is not None and p.end > p.start)
    for low, high in _service_spans(calendar, hours, start, until):
        if until is not None:
            if low >= until:
                return
            high = min(high, until)
        for cut_low, cut_high in cuts:
            if cut_high <= low or cut_low >= high:
                continue
            if cut_low > low:
                yield low, cut_low
            low = max(low, cut_high)
            if low >= high:
                break
        if low < high:
            yield low, high


def due_at(
    calendar: WorkCalendar,
    hours: ServiceHours,
    start: datetime,
    minutes: int,
    pauses: Sequence[Pause] = (),
) -> datetime | None:
    """When ``minutes`` of service time have passed since ``start``, not counting the
    ``pauses``; None when a pause that has not ended stopped the clock before then.

    A target of 0 minutes is due at ``start``. Times are local wall-clock times.

    Raises:
        ValueError: no service time within three years (no working day, no hours).
    """
    if minutes <= 0:
        return start
    left = timedelta(minutes=minutes)
    stopped = min((p.start for p in pauses if p.end is None), default=None)
    for low, high in _open_spans(calendar, hours, start, pauses, stopped):
        if high - low >= left:
            return low + left
        left -= high - low
    return None


def elapsed(
    calendar: WorkCalendar,
    hours: ServiceHours,
    start: datetime,
    end: datetime,
    pauses: Sequence[Pause] = (),
) -> int:
    """Whole minutes of service time from ``start`` to ``end``, not counting the
    ``pauses`` (a pause that has not ended stops the count at its start)."""
    if end <= start:
        return 0
    stopped = min((p.start for p in pauses if p.end is None), default=end)
    total = sum(
        (
            high - low
            for low, high in _open_spans(calendar, hours, start, pauses, min(stopped, end))
        ),
        timedelta(),
    )
    return int(total.total_seconds() // 60)
