"""Working days on China's official calendar: counting agrees with chinese-calendar for any
start and count (property test), make-up Saturdays are worked, the Spring Festival week is
not, a year without a table falls back to Monday to Friday with a warning, and crmkit.open
warns at start-up when the table runs out."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkit
from crmkit import WeekdayCalendar, add_workdays, workdays_between
from crmkit.adapters.calendars import LAST_YEAR, ChinaCalendar, coverage_warning
from crmkit.testing import ManualClock, open_test_crm

CHINA = ChinaCalendar()
COVERED = st.dates(date(2010, 1, 1), date(LAST_YEAR, 10, 31))


@settings(max_examples=300, deadline=None)
@given(start=COVERED, days=st.integers(-40, 40))
def test_counting_working_days_agrees_with_the_official_table(start: date, days: int) -> None:
    end = add_workdays(CHINA, start, days)
    assert chinese_calendar.is_workday(end)

    def worked(first: date, last: date) -> int:  # working days in [first, last)
        return sum(
            chinese_calendar.is_workday(first + timedelta(n)) for n in range((last - first).days)
        )

    if days > 0:  # the days-th working day after start: that many in (start, end]
        assert worked(start + timedelta(1), end + timedelta(1)) == days
        assert workdays_between(CHINA, start, end) == days
    elif days < 0:  # the |days|-th working day before start: that many in [end, start)
        assert worked(end, start) == -days
        assert workdays_between(CHINA, start, end) == -worked(
            end + timedelta(1), start + timedelta(1)
        )
    else:  # start if worked, else the first working day after it
        assert worked(start, end) == 0


def test_the_spring_festival_week_is_off_and_its_make_up_saturdays_are_worked() -> None:
    # 2026: 春节 15–23 February off; Saturday 14 and Saturday 28 February worked (调休).
    assert CHINA.is_workday(date(2026, 2, 14))  # a Saturday
    assert not any(CHINA.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert add_workdays(CHINA, date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_workdays(CHINA, date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert workdays_between(CHINA, date(2026, 2, 13), date(2026, 2, 28)) == 6
    assert add_workdays(CHINA, date(2026, 2, 15), 0) == date(2026, 2, 24)
    # National Day 2026: 1–7 October off, Saturday 10 October worked.
    assert add_workdays(CHINA, date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CHINA.is_workday(date(2026, 10, 10))
    assert not WeekdayCalendar().is_workday(date(2026, 2, 14))


def test_a_year_without_a_table_counts_weekdays_and_says_so(caplog) -> None:
    later = date(LAST_YEAR + 1, 1, 1)
    calendar = ChinaCalendar()
    assert not calendar.covers(later)
    with caplog.at_level(logging.WARNING, logger="crmkit.calendar"):
        monday = later + timedelta(days=(7 - later.weekday()) % 7)
        assert calendar.is_workday(monday)
        assert not calendar.is_workday(monday + timedelta(days=5))
    assert f"no official holiday table for {later.year}" in caplog.text
    announced = ChinaCalendar(holidays=[monday], workdays=[monday + timedelta(days=5)])
    assert announced.covers(monday) and announced.last_year == later.year
    assert not announced.is_workday(monday)
    assert announced.is_workday(monday + timedelta(days=5))


def test_open_warns_when_the_table_runs_out(caplog) -> None:
    assert coverage_warning(CHINA, date(LAST_YEAR, 6, 1)) is None
    december = date(LAST_YEAR, 12, 6)
    assert coverage_warning(CHINA, december) == (
        f"the working calendar has no official table for {LAST_YEAR + 1} yet"
    )
    clock = ManualClock(datetime(LAST_YEAR, 12, 6, 1, 0, tzinfo=UTC))
    with caplog.at_level(logging.WARNING, logger="crmkit"):
        crm = open_test_crm(clock=clock)
    assert f"no official table for {LAST_YEAR + 1}" in caplog.text
    assert isinstance(crm.calendar, ChinaCalendar)
    crm.close()
    quiet = open_test_crm(calendar=WeekdayCalendar())
    assert isinstance(quiet.calendar, crmkit.WeekdayCalendar)
    quiet.close()


def test_a_calendar_without_working_days_is_refused() -> None:
    class Never:
        def is_workday(self, day: date) -> bool:
            return False

        def covers(self, day: date) -> bool:
            return True

    with pytest.raises(ValueError, match="no working day"):
        add_workdays(Never(), date(2026, 1, 1), 1)
