"""Service-level targets in working time (crmkit.domain.sla).

Service time is the union of the service windows on the days the calendar works; a pause
(waiting for the customer) does not count, and a pause that has not ended stops the clock.
``due_at`` and ``elapsed`` walk day by day; here they are checked against a dumb walk minute
by minute over China's calendar (National Day 2025 with its make-up Sunday 28 September and
Saturday 11 October, Spring Festival 2026) and Monday to Friday, with random service hours
(one window, a lunch break, a window ending at midnight) and random pauses. The examples at
the end read as the rules.
"""

from __future__ import annotations

import time as clock
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.adapters.calendars import ChinaCalendar
from crmkit.domain.sla import Pause, ServiceHours, due_at, elapsed
from crmkit.domain.workdays import WeekdayCalendar, WorkCalendar

CHINA = ChinaCalendar()
WEEKDAYS = WeekdayCalendar()
NINE_TO_SIX = ServiceHours(((time(9), time(18)),))
LUNCH_BREAK = ServiceHours(((time(9), time(12)), (time(13, 30), time(18))))

_DAY_MINUTES = 24 * 60


def _m(n: int) -> timedelta:
    return timedelta(minutes=n)


# ---------------------------------------------------------------------------------------
# The reference: a walk minute by minute.
# ---------------------------------------------------------------------------------------


class _MinuteWalk:
    """Counts minutes [t, t+1) one at a time, on integer minutes since midnight of the day
    ``origin`` falls on: a minute counts when its day is worked, it lies in a window, and
    no pause covers it (a pause that has not ended covers everything from its start on)."""

    def __init__(
        self,
        calendar: WorkCalendar,
        hours: ServiceHours,
        origin: datetime,
        pauses: Sequence[Pause],
    ) -> None:
        self.calendar = calendar
        self.base = datetime.combine(origin.date(), time(0))
        self.in_window = [False] * _DAY_MINUTES
        for low, high in hours.windows:
            end = _DAY_MINUTES if high == time(0) else high.hour * 60 + high.minute
            for n in range(low.hour * 60 + low.minute, end):
                self.in_window[n] = True
        self.cuts = [(self.at(p.start), self.at(p.end)) for p in pauses if p.end is not None]
        self.stop = min((self.at(p.start) for p in pauses if p.end is None), default=None)
        self._worked: dict[int, bool] = {}

    def at(self, moment: datetime) -> int:
        return int((moment - self.base).total_seconds() // 60)

    def moment(self, minute: int) -> datetime:
        return self.base + _m(minute)

    def worked(self, day: int) -> bool:
        if day not in self._worked:
            self._worked[day] = self.calendar.is_workday(self.base.date() + timedelta(day))
        return self._worked[day]

    def counts(self, t: int) -> bool:
        if self.stop is not None and t >= self.stop:
            return False
        if not self.in_window[t % _DAY_MINUTES] or not self.worked(t // _DAY_MINUTES):
            return False
        return not any(low <= t < high for low, high in self.cuts)


def brute_due_at(
    calendar: WorkCalendar,
    hours: ServiceHours,
    start: datetime,
    minutes: int,
    pauses: Sequence[Pause] = (),
) -> datetime | None:
    if minutes <= 0:
        return start
    walk = _MinuteWalk(calendar, hours, start, pauses)
    t, counted = walk.at(start), 0
    for _ in range(120 * _DAY_MINUTES):
        if walk.stop is not None and t >= walk.stop:
            return None
        if walk.counts(t):
            counted += 1
            if counted == minutes:
                return walk.moment(t + 1)
        t += 1
    raise AssertionError("the reference found no end within 120 days")


def brute_elapsed(
    calendar: WorkCalendar,
    hours: ServiceHours,
    start: datetime,
    end: datetime,
    pauses: Sequence[Pause] = (),
) -> int:
    walk = _MinuteWalk(calendar, hours, start, pauses)
    return sum(walk.counts(t) for t in range(walk.at(start), walk.at(end)))


# ---------------------------------------------------------------------------------------
# Strategies.
# ---------------------------------------------------------------------------------------

DAYS = st.one_of(
    st.dates(date(2025, 9, 20), date(2025, 10, 15)),  # National Day 2025, 调休 28/9 and 11/10
    st.dates(date(2026, 2, 10), date(2026, 3, 1)),  # Spring Festival 2026
    st.dates(date(2025, 9, 20), date(2025, 10, 15)),
    st.dates(date(2026, 2, 10), date(2026, 3, 1)),
    st.dates(date(2024, 1, 1), date(2026, 12, 31)),
)
CALENDARS = st.sampled_from([CHINA, CHINA, WEEKDAYS])


@st.composite
def starts(draw: st.DrawFn) -> datetime:
    day = draw(DAYS)
    minute = draw(
        st.one_of(
            st.integers(0, _DAY_MINUTES - 1),
            st.sampled_from([0, 9 * 60, 12 * 60, 13 * 60 + 30, 18 * 60, 20 * 60, 23 * 60 + 59]),
        )
    )
    return datetime.combine(day, time(0)) + _m(minute)


def _clock_text(minute: int) -> str:
    return "00:00" if minute == _DAY_MINUTES else f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def service_hours(draw: st.DrawFn) -> ServiceHours:
    """One window, two (a lunch break, or back to back), or a window ending at midnight;
    built as text, so parsing is exercised too."""
    fixed = st.sampled_from(
        [
            "09:00-18:00",
            "09:00-12:00,13:30-18:00",
            "20:00-00:00",
            "00:00-00:00",
            "00:00-08:00,20:00-00:00",
            "08:30-12:00,12:00-17:30",
        ]
    )
    steps = st.lists(st.integers(0, 96), min_size=2, max_size=4, unique=True).filter(
        lambda xs: len(xs) % 2 == 0
    )
    drawn = draw(st.one_of(fixed, steps.map(sorted)))
    if isinstance(drawn, str):
        text = drawn
    else:
        bounds = [15 * x for x in drawn]  # quarter hours, 96 = midnight
        text = ",".join(
            f"{_clock_text(bounds[i])}-{_clock_text(bounds[i + 1])}"
            for i in range(0, len(bounds), 2)
        )
    hours = ServiceHours.parse(text)
    assert hours is not None, text
    assert ServiceHours.parse(str(hours)) == hours
    return hours


def window_ends(hours: ServiceHours, start: datetime) -> st.SearchStrategy[datetime]:
    """The end of a window on the day of ``start`` or one of the next ten."""
    return st.builds(
        lambda days, end: (
            datetime.combine(start.date() + timedelta(days), end)
            + (timedelta(1) if end == time(0) else timedelta())
        ),
        st.integers(0, 10),
        st.sampled_from([end for _, end in hours.windows]),
    )


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> list[Pause]:
    """Up to four pauses that do not overlap, from three days before ``start`` to eight
    after; the last may still last (end None), rarely an earlier one too (the earliest
    open one stops the clock); in any order."""
    n = draw(st.integers(0, 4))
    offsets = sorted(
        draw(
            st.lists(
                st.integers(-3 * _DAY_MINUTES, 8 * _DAY_MINUTES),
                min_size=2 * n,
                max_size=2 * n,
                unique=True,
            )
        )
    )
    pauses = [Pause(start + _m(offsets[i]), start + _m(offsets[i + 1])) for i in range(0, 2 * n, 2)]
    if pauses and draw(st.integers(0, 3)) == 0:
        pauses[-1] = Pause(pauses[-1].start)
    if len(pauses) > 1 and draw(st.integers(0, 9)) == 0:
        pauses[0] = Pause(pauses[0].start)
    return list(draw(st.permutations(pauses)))


# ---------------------------------------------------------------------------------------
# Properties.
# ---------------------------------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(data=st.data(), calendar=CALENDARS, hours=service_hours(), start=starts())
def test_due_at_agrees_with_a_minute_by_minute_walk(
    data: st.DataObject, calendar: WorkCalendar, hours: ServiceHours, start: datetime
) -> None:
    pauses = data.draw(pause_lists(start), "pauses")
    minutes = data.draw(
        st.one_of(
            st.integers(-30, 0),
            st.integers(1, 3 * hours.minutes_per_day),
            # exactly the service time up to the end of a window: due at that end, not at
            # the start of the next window
            window_ends(hours, start).map(
                lambda end: brute_elapsed(calendar, hours, start, end, pauses)
            ),
        ),
        "minutes",
    )
    assert due_at(calendar, hours, start, minutes, pauses) == brute_due_at(
        calendar, hours, start, minutes, pauses
    )


@settings(max_examples=250, deadline=None)
@given(data=st.data(), calendar=CALENDARS, hours=service_hours(), start=starts())
def test_elapsed_agrees_with_a_minute_by_minute_walk(
    data: st.DataObject, calendar: WorkCalendar, hours: ServiceHours, start: datetime
) -> None:
    end = start + _m(data.draw(st.integers(-120, 10 * _DAY_MINUTES), "length"))
    pauses = data.draw(pause_lists(start), "pauses")
    assert elapsed(calendar, hours, start, end, pauses) == brute_elapsed(
        calendar, hours, start, end, pauses
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), calendar=CALENDARS, hours=service_hours(), start=starts())
def test_elapsed_to_the_due_time_is_the_target(
    data: st.DataObject, calendar: WorkCalendar, hours: ServiceHours, start: datetime
) -> None:
    pauses = data.draw(pause_lists(start), "pauses")
    minutes = data.draw(
        st.one_of(
            st.integers(0, 5 * hours.minutes_per_day),
            window_ends(hours, start).map(
                lambda end: brute_elapsed(calendar, hours, start, end, pauses)
            ),
        ),
        "minutes",
    )
    due = due_at(calendar, hours, start, minutes, pauses)
    if due is None:  # only an open pause stops the clock for good
        assert any(p.end is None for p in pauses)
        return
    assert elapsed(calendar, hours, start, due, pauses) == minutes
    if minutes:  # and not a minute earlier
        assert elapsed(calendar, hours, start, due - _m(1), pauses) == minutes - 1
    ended = [p for p in pauses if p.end is not None]
    if len(ended) == len(pauses):
        later = due_at(calendar, hours, start, minutes + 1, pauses)
        assert later is not None and later >= due + _m(1)


# ---------------------------------------------------------------------------------------
# Examples: the rules as a reader would state them.
# ---------------------------------------------------------------------------------------


def test_service_hours_read_one_window_a_lunch_break_or_a_window_to_midnight() -> None:
    assert ServiceHours.parse("09:00-18:00") == NINE_TO_SIX
    assert ServiceHours.parse("09:00-12:00,13:30-18:00") == LUNCH_BREAK
    assert ServiceHours.parse("09:00-12:00， 13:30-18:00") == LUNCH_BREAK  # full-width comma
    evening = ServiceHours.parse("20:00-00:00")
    assert evening == ServiceHours(((time(20), time(0)),))
    assert NINE_TO_SIX.minutes_per_day == 9 * 60
    assert LUNCH_BREAK.minutes_per_day == 7 * 60 + 30
    assert evening.minutes_per_day == 4 * 60
    assert list(evening.spans(date(2025, 10, 9))) == [
        (datetime(2025, 10, 9, 20), datetime(2025, 10, 10, 0))
    ]
    assert str(LUNCH_BREAK) == "09:00-12:00,13:30-18:00"
    assert str(evening) == "20:00-00:00"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "business hours",
        "09:00",
        "09:00-18:00,",
        "09:00-18:00-20:00",
        "18:00-09:00",  # ends before it starts
        "09:00-09:00",  # empty
        "09:00-12:00,11:30-18:00",  # overlapping
        "13:30-18:00,09:00-12:00",  # out of order
        "20:00-00:00,00:00-01:00",  # nothing comes after midnight
        "24:00-25:00",
        "09:60-18:00",
        "09:00:30-18:00",  # seconds: the arithmetic is in whole minutes
        "09:00+08:00-18:00",  # a zone: times are local wall-clock
        "0900-1800",
    ],
)
def test_service_hours_refuse_anything_else(text: str) -> None:
    assert ServiceHours.parse(text) is None


def test_a_target_counts_the_make_up_sunday_and_skips_the_national_day_week() -> None:
    # Friday 26 September 2025, 17:00, hours 09:00-18:00. Sunday 28 September is a make-up
    # working day (调休), 1 to 8 October are off, Saturday 11 October is worked.
    friday = datetime(2025, 9, 26, 17)
    # 16 hours: 1 on Friday, 9 on the make-up Sunday, 6 on Monday.
    assert due_at(CHINA, NINE_TO_SIX, friday, 16 * 60) == datetime(2025, 9, 29, 15)
    # On a Monday-to-Friday calendar the Sunday does not count: Tuesday 15:00.
    assert due_at(WEEKDAYS, NINE_TO_SIX, friday, 16 * 60) == datetime(2025, 9, 30, 15)
    # 32 hours: 1 + 9 (Sunday) + 9 (Monday) + 9 (Tuesday), then the holiday, then 4 more
    # on Thursday 9 October.
    assert due_at(CHINA, NINE_TO_SIX, friday, 32 * 60) == datetime(2025, 10, 9, 13)
    # Set at 17:00 on the last day before the holiday, 16 hours fall due on 10 October.
    assert due_at(CHINA, NINE_TO_SIX, datetime(2025, 9, 30, 17), 16 * 60) == datetime(
        2025, 10, 10, 15
    )
    # And the clock agrees the other way round.
    assert elapsed(CHINA, NINE_TO_SIX, friday, datetime(2025, 10, 9, 13)) == 32 * 60
    assert elapsed(CHINA, NINE_TO_SIX, datetime(2025, 10, 1), datetime(2025, 10, 9)) == 0


def test_the_make_up_saturday_counts_and_the_sunday_after_does_not() -> None:
    friday = datetime(2025, 10, 10, 17)  # Saturday 11 October is worked, Sunday 12 is not
    assert due_at(CHINA, NINE_TO_SIX, friday, 10 * 60) == datetime(2025, 10, 11, 18)
    assert due_at(CHINA, NINE_TO_SIX, friday, 10 * 60 + 1) == datetime(2025, 10, 13, 9, 1)


def test_spring_festival_is_skipped() -> None:
    # 2026: 15 to 23 February off; Saturday 14 and Saturday 28 February are worked.
    assert due_at(CHINA, NINE_TO_SIX, datetime(2026, 2, 14, 17), 2 * 60) == datetime(
        2026, 2, 24, 10
    )


def test_a_target_ends_at_the_end_of_a_window_not_at_the_start_of_the_next() -> None:
    monday = datetime(2025, 10, 13, 9)
    assert due_at(CHINA, LUNCH_BREAK, monday, 3 * 60) == datetime(2025, 10, 13, 12)
    assert due_at(CHINA, LUNCH_BREAK, monday, 3 * 60 + 1) == datetime(2025, 10, 13, 13, 31)
    assert due_at(CHINA, LUNCH_BREAK, monday, 0) == monday
    assert due_at(CHINA, LUNCH_BREAK, monday, -5) == monday


def test_a_clock_started_off_hours_starts_at_the_next_window() -> None:
    saturday = datetime(2025, 10, 18, 10)
    assert due_at(CHINA, NINE_TO_SIX, saturday, 60) == datetime(2025, 10, 20, 10)
    evening = datetime(2025, 10, 20, 19, 30)
    assert due_at(CHINA, NINE_TO_SIX, evening, 60) == datetime(2025, 10, 21, 10)
    assert elapsed(CHINA, NINE_TO_SIX, saturday, datetime(2025, 10, 20, 9)) == 0


def test_a_window_to_midnight_runs_into_the_next_day() -> None:
    evening = ServiceHours.parse("20:00-00:00")
    assert evening is not None
    thursday = datetime(2025, 10, 16, 23)
    assert due_at(CHINA, evening, thursday, 60) == datetime(2025, 10, 17, 0)
    assert due_at(CHINA, evening, thursday, 61) == datetime(2025, 10, 17, 20, 1)
    assert elapsed(CHINA, evening, thursday, datetime(2025, 10, 17, 21)) == 2 * 60


def test_a_pause_over_the_weekend_changes_nothing() -> None:
    friday = datetime(2025, 10, 17, 16)
    weekend = Pause(datetime(2025, 10, 17, 18), datetime(2025, 10, 20, 9))
    expected = datetime(2025, 10, 20, 11)
    assert due_at(CHINA, NINE_TO_SIX, friday, 4 * 60) == expected
    assert due_at(CHINA, NINE_TO_SIX, friday, 4 * 60, [weekend]) == expected
    assert elapsed(CHINA, NINE_TO_SIX, friday, expected, [weekend]) == 4 * 60


def test_a_pause_in_service_hours_moves_the_due_time_by_its_length() -> None:
    monday = datetime(2025, 10, 13, 9)
    wait = Pause(datetime(2025, 10, 13, 10), datetime(2025, 10, 13, 11, 30))
    assert due_at(CHINA, NINE_TO_SIX, monday, 4 * 60, [wait]) == datetime(2025, 10, 13, 14, 30)
    assert elapsed(CHINA, NINE_TO_SIX, monday, datetime(2025, 10, 13, 18), [wait]) == 450
    # A pause over the make-up Saturday does move it: that Saturday is service time.
    saturday = Pause(datetime(2025, 10, 11), datetime(2025, 10, 12))
    friday = datetime(2025, 10, 10, 17)
    assert due_at(CHINA, NINE_TO_SIX, friday, 2 * 60, [saturday]) == datetime(2025, 10, 13, 10)


def test_a_pause_that_has_not_ended_stops_the_clock() -> None:
    monday = datetime(2025, 10, 13, 9)
    waiting = Pause(datetime(2025, 10, 13, 11))
    assert due_at(CHINA, NINE_TO_SIX, monday, 4 * 60, [waiting]) is None
    assert due_at(CHINA, NINE_TO_SIX, monday, 2 * 60, [waiting]) == datetime(2025, 10, 13, 11)
    assert elapsed(CHINA, NINE_TO_SIX, monday, datetime(2025, 10, 20), [waiting]) == 2 * 60
    # Already waiting when the clock started: nothing counts.
    assert due_at(CHINA, NINE_TO_SIX, monday, 1, [Pause(datetime(2025, 10, 12))]) is None


def test_a_pause_that_ends_before_it_starts_cuts_nothing() -> None:
    # Regression: the reversed pause was cut out and the time before it counted twice.
    monday = datetime(2025, 10, 13, 9)
    backwards = Pause(datetime(2025, 10, 13, 12), datetime(2025, 10, 13, 11))
    assert elapsed(CHINA, NINE_TO_SIX, monday, datetime(2025, 10, 13, 18), [backwards]) == 540
    assert due_at(CHINA, NINE_TO_SIX, monday, 60, [backwards]) == datetime(2025, 10, 13, 10)


class _NeverWorks:
    def is_workday(self, day: date) -> bool:
        return False

    def covers(self, day: date) -> bool:
        return True


def test_no_service_time_is_a_configuration_error_for_due_at_and_zero_for_elapsed() -> None:
    # Regression: service hours without a window looped for ever.
    monday = datetime(2025, 10, 13, 9)
    nothing = ServiceHours(())
    with pytest.raises(ValueError, match="service"):
        due_at(CHINA, nothing, monday, 60)
    assert elapsed(CHINA, nothing, monday, datetime(2025, 10, 20)) == 0
    with pytest.raises(ValueError, match="no service time"):
        due_at(_NeverWorks(), NINE_TO_SIX, monday, 60)
    assert elapsed(_NeverWorks(), NINE_TO_SIX, monday, datetime(2025, 10, 20)) == 0


def test_a_year_long_target_is_quick() -> None:
    # The largest resolution target a policy may set: 365 days of 24 hours in service
    # minutes, over ~4 years of 9-hour days, with a pause a week.
    start = datetime(2025, 1, 2, 9)
    pauses = [
        Pause(start + timedelta(weeks=w, hours=1), start + timedelta(weeks=w, hours=3))
        for w in range(200)
    ]
    began = clock.perf_counter()
    due = due_at(WEEKDAYS, NINE_TO_SIX, start, 60 * 24 * 365, pauses)
    assert due is not None
    assert elapsed(WEEKDAYS, NINE_TO_SIX, start, due, pauses) == 60 * 24 * 365
    assert clock.perf_counter() - began < 2.0
