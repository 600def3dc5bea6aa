"""When SFA steps fall: calendar days, China's working days, dates, holidays, birthdays,
and the rounds of cyclic and timed plans (crmkit.domain.sfa)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.adapters.calendars import ChinaCalendar
from crmkit.domain.errors import FieldErrors, ValidationError
from crmkit.domain.sfa import (
    OffsetUnit,
    PlanKind,
    Schedule,
    SfaPlan,
    SfaStep,
    StepAction,
    check_plan,
    parse_steps,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = ChinaCalendar()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def plan(*steps: SfaStep, kind: PlanKind = PlanKind.PERIODIC, **more: object) -> SfaPlan:
    return SfaPlan(
        id="p",
        name="方案",
        kind=kind,
        steps=steps,
        created_at=T0,
        updated_at=T0,
        created_by="u",
        **more,  # type: ignore[arg-type]
    )


def sms(offset: int = 0, unit: OffsetUnit = OffsetUnit.DAYS, **more: object) -> SfaStep:
    return SfaStep(action=StepAction.SMS, unit=unit, offset=offset, template="t", **more)  # type: ignore[arg-type]


def schedule(p: SfaPlan, anchor: date, birthday: date | None = None) -> Schedule:
    return Schedule(p, anchor, birthday, CALENDAR, SHANGHAI, CALENDAR.holiday)


def days(s: Schedule, number: int = 0) -> list[date]:
    return [o.due_at.date() for o in s.occurrences(number)]


def brute_workdays(start: date, n: int) -> date:
    """The n-th working day after ``start``, walking chinese-calendar day by day (0: the
    first working day from ``start`` on: a step "0 working days" after a holiday waits)."""
    day, left = start, n
    if n == 0:
        while not chinese_calendar.is_workday(day):
            day += timedelta(days=1)
    while left > 0:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            left -= 1
    return day


# -- working days ---------------------------------------------------------------------------
def test_working_days_skip_the_spring_festival_week_and_count_a_make_up_saturday() -> None:
    # 2026: Spring Festival break 15–23 February; Saturday 14 February and Saturday
    # 28 February are make-up working days (调休).
    assert chinese_calendar.is_workday(date(2026, 2, 14))
    assert not chinese_calendar.is_workday(date(2026, 2, 16))
    s = schedule(plan(sms(1, OffsetUnit.WORKDAYS), sms(2, OffsetUnit.WORKDAYS)), date(2026, 2, 13))
    assert days(s) == [date(2026, 2, 14), date(2026, 2, 24)]


@given(
    start=st.dates(date(2024, 1, 1), date(2026, 9, 30)),  # the table ends in 2026
    offset=st.integers(0, 40),
)
@settings(max_examples=200, deadline=None)
def test_working_day_offsets_match_chinese_calendar(start: date, offset: int) -> None:
    s = schedule(plan(sms(offset, OffsetUnit.WORKDAYS)), start)
    assert days(s) == [brute_workdays(start, offset)]


def test_a_step_runs_at_its_local_time_of_day() -> None:
    s = schedule(plan(sms(2, at=time(10, 30))), date(2026, 3, 2))
    (occurrence,) = s.occurrences(0)
    assert occurrence.due_at == datetime(2026, 3, 4, 10, 30, tzinfo=SHANGHAI)


# -- dates, holidays, birthdays ---------------------------------------------------------------
def test_a_holiday_step_falls_on_the_first_day_of_its_break_moved_by_its_offset() -> None:
    eve = sms(-1, OffsetUnit.DATE, on="春节")
    national = sms(0, OffsetUnit.DATE, on="national_day")
    s = schedule(plan(eve, national), date(2026, 1, 5))
    assert days(s) == [date(2026, 2, 14), date(2026, 10, 1)]


def test_a_month_day_step_in_a_periodic_plan_is_the_next_such_day_from_the_start() -> None:
    s = schedule(plan(sms(0, OffsetUnit.DATE, on="01-01")), date(2026, 6, 1))
    assert days(s) == [date(2027, 1, 1)]


def test_a_timed_plan_has_one_round_a_year_and_a_29_february_birthday_falls_on_the_28th() -> None:
    p = plan(sms(0, OffsetUnit.BIRTHDAY), sms(0, OffsetUnit.DATE, on="12-31"), kind=PlanKind.TIMED)
    s = schedule(p, date(2026, 3, 10), birthday=date(1988, 2, 29))
    assert days(s, 0) == [date(2026, 12, 31)]  # this year's birthday had passed
    assert days(s, 1) == [date(2027, 2, 28), date(2027, 12, 31)]
    assert days(s, 2) == [date(2028, 2, 29), date(2028, 12, 31)]


def test_a_birthday_step_of_a_customer_without_a_birthday_never_falls() -> None:
    p = plan(sms(0, OffsetUnit.BIRTHDAY), kind=PlanKind.TIMED)
    assert schedule(p, date(2026, 1, 1)).first() is None


def test_a_one_off_date_falls_only_in_its_year() -> None:
    p = plan(sms(0, OffsetUnit.DATE, on="2028-05-20"), kind=PlanKind.TIMED)
    s = schedule(p, date(2026, 1, 1))
    first = s.first()
    assert first is not None and first.due_at.date() == date(2028, 5, 20)
    assert s.following(first) is None


# -- rounds -------------------------------------------------------------------------------------
def test_a_cyclic_plan_starts_over_every_cycle_for_its_rounds() -> None:
    p = plan(sms(0), sms(3), kind=PlanKind.CYCLIC, cycle_days=7, rounds=3)
    s = schedule(p, date(2026, 3, 2))
    found = []
    current = s.first()
    while current is not None:
        found.append(current.due_at.date())
        current = s.following(current)
    assert found == [
        date(2026, 3, 2),
        date(2026, 3, 5),
        date(2026, 3, 9),
        date(2026, 3, 12),
        date(2026, 3, 16),
        date(2026, 3, 19),
    ]


def test_an_endless_cyclic_plan_finds_the_next_occurrence_years_later_without_walking() -> None:
    p = plan(sms(0), kind=PlanKind.CYCLIC, cycle_days=1)
    s = schedule(p, date(2020, 1, 1))
    later = datetime(2026, 5, 5, 12, 0, tzinfo=SHANGHAI)
    found = s.first(not_before=later)
    assert found is not None and found.due_at == datetime(2026, 5, 6, 9, 0, tzinfo=SHANGHAI)


@given(
    offsets=st.lists(st.integers(0, 20), min_size=1, max_size=4),
    cycle=st.integers(1, 30),
    start=st.dates(date(2025, 1, 1), date(2026, 6, 30)),
    gap=st.integers(0, 200),
)
@settings(max_examples=100, deadline=None)
def test_following_walks_every_occurrence_in_time_order_once(
    offsets: list[int], cycle: int, start: date, gap: int
) -> None:
    p = plan(*(sms(o) for o in offsets), kind=PlanKind.CYCLIC, cycle_days=cycle, rounds=4)
    s = schedule(p, start)
    walked = []
    current = s.first()
    while current is not None:
        walked.append(current)
        current = s.following(current)
    every = sorted((o for n in range(4) for o in s.occurrences(n)), key=lambda o: o.order)
    assert walked == every
    assert [o.order for o in walked] == sorted(o.order for o in walked)
    # from any time on, the next occurrence is the first of the walk due then or later
    moment = datetime.combine(start, time(0), tzinfo=SHANGHAI) + timedelta(days=gap)
    expected = next((o for o in walked if o.due_at >= moment), None)
    assert s.first(not_before=moment) == expected


# -- reading steps -----------------------------------------------------------------------------
def test_steps_are_read_from_plain_values_with_chinese_names() -> None:
    errors = FieldErrors()
    steps = parse_steps(
        [
            {"action": "短信", "offset": "3", "template": "welcome", "at": "10:15"},
            {"action": "手动事务", "unit": "工作日", "offset": 2, "title": "回访"},
            {"action": "sms", "unit": "生日", "offset": -1, "template": "birthday"},
        ],
        errors,
    )
    assert not errors
    assert [s.action for s in steps] == [StepAction.SMS, StepAction.TASK, StepAction.SMS]
    assert steps[0].offset == 3 and steps[0].at == time(10, 15)
    assert steps[1].unit is OffsetUnit.WORKDAYS
    assert steps[2].unit is OffsetUnit.BIRTHDAY and steps[2].offset == -1


def _messages(raw: object, kind: PlanKind = PlanKind.PERIODIC) -> tuple[ValidationError, list[str]]:
    errors = FieldErrors()
    steps = parse_steps(raw, errors)
    check_plan(kind, steps, None, errors)
    with pytest.raises(ValidationError) as raised:
        errors.raise_if_any("sfa_plan")
    return raised.value, list(raised.value.fields)


def test_a_plan_with_no_steps_is_refused_in_both_languages() -> None:
    error, fields = _messages([])
    assert fields == ["steps"]
    assert "至少需要一个步骤" in error.message("zh")
    assert "at least one step" in error.message("en")


def test_an_offset_that_is_not_a_number_is_named_with_its_step() -> None:
    error, fields = _messages(
        [{"action": "sms", "offset": "三天", "template": "t"}, {"action": "传真", "offset": 1}]
    )
    assert fields == ["steps.1.offset", "steps.2.action"]
    assert "不是整数天数" in error.message("zh")
    assert "not a whole number of days" in error.message("en")


def test_a_timed_plan_refuses_undated_steps_and_a_date_step_needs_a_real_date() -> None:
    _, fields = _messages(
        [
            {"action": "sms", "offset": 1, "template": "t"},
            {"action": "sms", "unit": "date", "on": "02-30", "template": "t"},
        ],
        PlanKind.TIMED,
    )
    assert fields == ["steps.2.on", "steps.1.unit"]


def test_a_cyclic_plan_needs_its_cycle() -> None:
    errors = FieldErrors()
    check_plan(PlanKind.CYCLIC, (sms(1),), None, errors)
    assert [e.field for e in errors.errors] == ["cycle_days"]
