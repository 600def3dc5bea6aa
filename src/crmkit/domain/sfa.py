"""SFA plans (SFA方案): follow-up that runs by itself, step by step, per customer.

A :class:`SfaPlan` is a named sequence of :class:`SfaStep` s, shared by everyone (seed 004:
"方案设置后，可共享共用"). Each step has an action (send an SMS template, send an email
template, or create a manual task, SFA手动事务, for the customer's salesperson) and a time:

- ``days`` / ``workdays``: that many calendar days, or China's working days (with their
  调休 make-up days, through the CRM's :class:`~crmkit.domain.workdays.WorkCalendar`),
  after the start of the round;
- ``date``: a fixed date, ``"MM-DD"`` every year, ``"YYYY-MM-DD"`` once, or a holiday by
  name (``"spring_festival"`` / ``"春节"``, ``"national_day"`` / ``"国庆节"`` ...: the first
  day of its official break that year), moved by ``offset`` days;
- ``birthday``: the customer's birthday (29 February: the 28th in other years), moved by
  ``offset`` days;

at a local time of day (``at``, default 09:00).

Plans come in three kinds (seed 004's 定期, 循环 and 定时 sending):

- **periodic** (定期): one round, counted from the enrolment's start;
- **cyclic** (循环): the round starts again every ``cycle_days`` days, ``rounds`` times (None:
  until stopped);
- **timed** (定时): one round per calendar year, its steps on dates (``date`` / ``birthday``).

A customer's :class:`SfaEnrolment` walks the plan's *occurrences* (a step in a round, at its
due time) in time order. :func:`next_occurrence` is the one place that says which comes
next; :class:`SfaRun` records each occurrence that was executed, skipped or missed, under a
key unique in the store, so that a step can run only once for an enrolment.
"""

from __future__ import annotations

import calendar as _calendar
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.errors import FieldErrors
from crmkit.domain.workdays import WorkCalendar, add_workdays

MAX_STEPS: Final = 50
MAX_CYCLE_DAYS: Final = 3660
# a search for the next occurrence gives up after this many rounds (a timed plan whose
# only step is a date that never comes again; a birthday the customer does not have)
_MAX_EMPTY_ROUNDS: Final = 10


class PlanKind(enum.StrEnum):
    PERIODIC = "periodic"
    CYCLIC = "cyclic"
    TIMED = "timed"


class OffsetUnit(enum.StrEnum):
    DAYS = "days"
    WORKDAYS = "workdays"
    DATE = "date"
    BIRTHDAY = "birthday"


class StepAction(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    TASK = "task"


class EnrolmentStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"


class RunOutcome(enum.StrEnum):
    """What became of one occurrence: ``sent`` (a message queued), ``task`` (a manual task
    created), ``no_address`` (the customer has no mobile / email), ``unsubscribed`` (a
    marketing message to an opted-out recipient), ``failed`` (the template is gone),
    ``skipped`` (skipped ahead by hand), ``missed`` (fell due while the enrolment was paused
    or the plan disabled, and was not sent on resuming). Occurrences due before a mid-way
    enrolment began are not the customer's and leave no run."""

    SENT = "sent"
    TASK = "task"
    NO_ADDRESS = "no_address"
    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"
    SKIPPED = "skipped"
    MISSED = "missed"


# Holidays a ``date`` step may name: chinese-calendar's names, and the Chinese ones.
HOLIDAYS: Final[Mapping[str, str]] = {
    "new_years_day": "New Year's Day",
    "元旦": "New Year's Day",
    "spring_festival": "Spring Festival",
    "春节": "Spring Festival",
    "tomb_sweeping_day": "Tomb-sweeping Day",
    "清明节": "Tomb-sweeping Day",
    "labour_day": "Labour Day",
    "劳动节": "Labour Day",
    "dragon_boat_festival": "Dragon Boat Festival",
    "端午节": "Dragon Boat Festival",
    "mid_autumn_festival": "Mid-autumn Festival",
    "中秋节": "Mid-autumn Festival",
    "national_day": "National Day",
    "国庆节": "National Day",
}
_MONTH_DAY: Final = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_FULL_DATE: Final = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


@attrs.frozen(kw_only=True)
class SfaStep:
    """One step of a plan (see the module docstring for ``unit``, ``on`` and ``offset``).

    Attributes:
        action: what it does.
        unit: how its time is given.
        offset: days (or working days) after the round's start; for ``date`` and
            ``birthday`` steps, days after (negative: before) that date.
        on: the date of a ``date`` step.
        at: the local time of day it runs.
        template: the message template's code (SMS and email steps).
        title: the manual task's title (task steps).
    """

    action: StepAction
    unit: OffsetUnit = OffsetUnit.DAYS
    offset: int = 0
    on: str | None = None
    at: time = time(9, 0)
    template: str | None = None
    title: str | None = None


@attrs.frozen(kw_only=True)
class SfaPlan:
    """A plan (SFA方案). ``marketing`` plans honour the unsubscribe list and quiet hours
    and add the opt-out text to their SMS. ``disabled_at`` / ``enabled_at``: when it was
    last disabled and enabled again (occurrences due in between are missed)."""

    id: str
    name: str
    kind: PlanKind = PlanKind.PERIODIC
    steps: tuple[SfaStep, ...] = ()
    cycle_days: int | None = None
    rounds: int | None = None
    enabled: bool = True
    marketing: bool = True
    description: str | None = None
    disabled_at: datetime | None = None
    enabled_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def was_disabled_at(self, moment: datetime) -> bool:
        """Whether the plan was disabled at ``moment`` (it is now, or ``moment`` falls in
        the last time it was)."""
        if not self.enabled:
            return True
        if self.disabled_at is None or self.enabled_at is None:
            return False
        return self.disabled_at <= moment < self.enabled_at


@attrs.frozen(kw_only=True)
class SfaEnrolment:
    """A customer in a plan (SFA执行序列).

    Attributes:
        anchor: day 0 of the plan for this customer (round 0 starts on it).
        starts_at: steps due before this were not for this customer (a mid-way start,
            中途启用): they are never executed.
        next_round, next_step, next_due_at: the next occurrence (None when finished).
        executed: occurrences executed; ``skipped``: occurrences skipped or missed.
    """

    id: str
    plan_id: str
    customer_id: str
    status: EnrolmentStatus = EnrolmentStatus.ACTIVE
    anchor: date
    starts_at: datetime
    next_round: int | None = None
    next_step: int | None = None
    next_due_at: datetime | None = None
    executed: int = 0
    skipped: int = 0
    paused_at: datetime | None = None
    finished_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def cursor(self) -> Occurrence | None:
        """The next occurrence, as stored."""
        if self.next_round is None or self.next_step is None or self.next_due_at is None:
            return None
        return Occurrence(self.next_round, self.next_step, self.next_due_at)


@attrs.frozen(kw_only=True)
class SfaRun:
    """One occurrence of an enrolment that came to pass (see :class:`RunOutcome`);
    ``detail`` is why, as an error code of crmkit's message catalogue (shown in the
    reader's language), for ``failed`` and ``missed`` runs.

    ``key`` is unique in the store: ``sfa:<enrolment>:<round>:<step>`` (``…:rerun:<n>`` for
    a step re-run by hand), so the same occurrence cannot be recorded, or executed, twice.
    """

    id: str
    key: str
    enrolment_id: str
    plan_id: str
    customer_id: str
    round: int
    step: int
    due_at: datetime
    outcome: RunOutcome
    message_key: str | None = None
    task_id: str | None = None
    detail: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str


@attrs.frozen(order=True)
class Occurrence:
    """A step of a plan in one of its rounds, due at a time."""

    round: int
    step: int
    due_at: datetime

    @property
    def order(self) -> tuple[int, datetime, int]:
        return (self.round, self.due_at, self.step)


def run_key(enrolment_id: str, occurrence_round: int, step: int, rerun: int = 0) -> str:
    """The key of an occurrence's run (and of its due job and message)."""
    base = f"sfa:{enrolment_id}:{occurrence_round}:{step}"
    return f"{base}:rerun:{rerun}" if rerun else base


# -- reading a plan's fields --------------------------------------------------------------------
PLAN_FIELDS: Final = (
    f.text("name", 100, required=True),
    f.choice("kind", PlanKind, default=PlanKind.PERIODIC),
    f.integer("cycle_days"),
    f.integer("rounds"),
    f.boolean("enabled", default=True),
    f.boolean("marketing", default=True),
    f.multiline("description", 1000),
)

_ACTIONS: Final[Mapping[str, StepAction]] = {
    **{a.value: a for a in StepAction},
    "短信": StepAction.SMS,
    "邮件": StepAction.EMAIL,
    "任务": StepAction.TASK,
    "手动事务": StepAction.TASK,
}
_UNITS: Final[Mapping[str, OffsetUnit]] = {
    **{u.value: u for u in OffsetUnit},
    "天": OffsetUnit.DAYS,
    "工作日": OffsetUnit.WORKDAYS,
    "日期": OffsetUnit.DATE,
    "生日": OffsetUnit.BIRTHDAY,
}


_ACTION_CHOICES: Final = "sms, email, task (短信, 邮件, 任务)"
_UNIT_CHOICES: Final = "days, workdays, date, birthday (天, 工作日, 日期, 生日)"


def parse_steps(raw: Any, errors: FieldErrors) -> tuple[SfaStep, ...]:
    """Steps from what a caller gave: ``SfaStep`` objects or mappings with the same keys
    (``action``, ``unit``, ``offset``, ``on``, ``at`` as ``"HH:MM"``, ``template``,
    ``title``; Chinese names of actions and units are read too). Every wrong value is added
    to ``errors`` as ``steps.<n>.<field>``."""
    if raw is None or isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        errors.add("steps", "sfa.no_steps", raw)
        return ()
    if not raw:
        errors.add("steps", "sfa.no_steps", None)
        return ()
    if len(raw) > MAX_STEPS:
        errors.add("steps", "sfa.too_many_steps", len(raw), limit=MAX_STEPS)
        return ()
    steps = [_parse_step(item, f"steps.{n}", errors) for n, item in enumerate(raw, start=1)]
    return tuple(s for s in steps if s is not None)


def numbered_steps(raw: Any) -> list[tuple[int, SfaStep]]:
    """The valid steps among ``raw`` with their numbers as given (1 = the first), for checks
    that name a step by the number its author sees; the invalid ones are left out."""
    if raw is None or isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        return []
    found = [(n, _parse_step(item, "", FieldErrors())) for n, item in enumerate(raw, start=1)]
    return [(n, step) for n, step in found if step is not None]


def _parse_step(item: Any, where: str, errors: FieldErrors) -> SfaStep | None:
    if isinstance(item, SfaStep):
        item = attrs.asdict(item, recurse=False)
    if not isinstance(item, Mapping):
        errors.add(where, "sfa.bad_step", item)
        return None
    before = len(errors)
    action = _ACTIONS.get(str(item.get("action") or "").strip().lower())
    if action is None:
        errors.add(f"{where}.action", "invalid_choice", item.get("action"), choices=_ACTION_CHOICES)
    unit = _UNITS.get(str(item.get("unit") or "days").strip().lower())
    if unit is None:
        errors.add(f"{where}.unit", "invalid_choice", item.get("unit"), choices=_UNIT_CHOICES)
    offset = _integer(item.get("offset", 0), f"{where}.offset", errors)
    at = _time_of_day(item.get("at"), f"{where}.at", errors)
    on = item.get("on")
    on = str(on).strip() if on not in (None, "") else None
    if unit is OffsetUnit.DATE:
        if on is None:
            errors.add(f"{where}.on", "required", None)
        elif not _valid_on(on):
            errors.add(f"{where}.on", "sfa.bad_date", on)
    template = _text(item.get("template"))
    title = _text(item.get("title"))
    if action in (StepAction.SMS, StepAction.EMAIL) and template is None:
        errors.add(f"{where}.template", "required", None)
    if action is StepAction.TASK and title is None:
        errors.add(f"{where}.title", "required", None)
    if unit in (OffsetUnit.DAYS, OffsetUnit.WORKDAYS) and offset is not None and offset < 0:
        errors.add(f"{where}.offset", "sfa.negative_offset", offset)
    if len(errors) > before or action is None or unit is None or offset is None or at is None:
        return None
    return SfaStep(
        action=action, unit=unit, offset=offset, on=on, at=at, template=template, title=title
    )


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _integer(value: Any, where: str, errors: FieldErrors) -> int | None:
    if isinstance(value, bool):
        errors.add(where, "sfa.offset_not_number", value)
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip() if value is not None else ""
    if re.fullmatch(r"[+-]?\d{1,5}", text):
        return int(text)
    errors.add(where, "sfa.offset_not_number", value)
    return None


def _time_of_day(value: Any, where: str, errors: FieldErrors) -> time | None:
    if value is None or value == "":
        return time(9, 0)
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    errors.add(where, "time.invalid", value)
    return None


def _valid_on(on: str) -> bool:
    if on.lower() in HOLIDAYS or on in HOLIDAYS:
        return True
    if match := _MONTH_DAY.match(on):
        month, day = int(match[1]), int(match[2])
        return 1 <= month <= 12 and 1 <= day <= (29 if month == 2 else _month_days(2000, month))
    if match := _FULL_DATE.match(on):
        try:
            date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return False
        return True
    return False


def _month_days(year: int, month: int) -> int:
    return _calendar.monthrange(year, month)[1]


def check_plan(
    kind: PlanKind, steps: Sequence[SfaStep], cycle_days: int | None, errors: FieldErrors
) -> None:
    """What a plan's parts must agree on: a cyclic plan's cycle length, a timed plan's dated
    steps."""
    if kind is PlanKind.CYCLIC:
        if cycle_days is None:
            errors.add("cycle_days", "required", None)
        elif not 1 <= cycle_days <= MAX_CYCLE_DAYS:
            errors.add("cycle_days", "number.range", cycle_days, min=1, max=MAX_CYCLE_DAYS)
    if kind is PlanKind.TIMED:
        for n, step in enumerate(steps, start=1):
            if step.unit not in (OffsetUnit.DATE, OffsetUnit.BIRTHDAY):
                errors.add(f"steps.{n}.unit", "sfa.timed_needs_date", step.unit.value)


# -- when each step falls -------------------------------------------------------------------------
HolidayLookup = Callable[[str, int], date | None]
"""``(holiday name as chinese-calendar spells it, year) -> the first day of its break``."""


@attrs.frozen
class Schedule:
    """A plan's timetable for one customer: which occurrence falls when.

    Args:
        plan: the plan.
        anchor: the enrolment's day 0.
        birthday: the customer's birthday (birthday steps of a customer without one never
            fall).
        calendar: the working-day calendar of ``workdays`` steps.
        zone: the CRM's time zone (steps run at local times of day).
        holiday: finds a named holiday's date (None: holiday steps never fall).
    """

    plan: SfaPlan
    anchor: date
    birthday: date | None
    calendar: WorkCalendar
    zone: tzinfo
    holiday: HolidayLookup | None = None
    # each round's occurrences, computed once (a batch walks one schedule for many)
    _rounds: dict[int, list[Occurrence]] = attrs.field(
        factory=dict, init=False, eq=False, hash=False, repr=False
    )

    def round_start(self, number: int) -> date:
        """The first day of round ``number``."""
        if self.plan.kind is PlanKind.CYCLIC:
            return self.anchor + timedelta(days=number * (self.plan.cycle_days or 1))
        if self.plan.kind is PlanKind.TIMED:
            return date(self.anchor.year + number, 1, 1) if number else self.anchor
        return self.anchor

    def has_round(self, number: int) -> bool:
        if number < 0:
            return False
        if self.plan.kind is PlanKind.PERIODIC:
            return number == 0
        return self.plan.rounds is None or number < self.plan.rounds

    def occurrences(self, number: int) -> list[Occurrence]:
        """Round ``number``'s occurrences in time order (steps that do not fall in it left
        out)."""
        cached = self._rounds.get(number)
        if cached is not None:
            return cached
        if not self.has_round(number):
            return []
        start = self.round_start(number)
        found = []
        for index, step in enumerate(self.plan.steps):
            day = self._day(step, number, start)
            if day is None:
                continue
            due = datetime.combine(day, step.at, tzinfo=self.zone)
            found.append(Occurrence(number, index, due))
        self._rounds[number] = ordered = sorted(found, key=lambda o: o.order)
        return ordered

    def _day(self, step: SfaStep, number: int, start: date) -> date | None:
        if step.unit is OffsetUnit.DAYS:
            return start + timedelta(days=step.offset)
        if step.unit is OffsetUnit.WORKDAYS:
            return add_workdays(self.calendar, start, step.offset)
        base = self._dated(step, start, number)
        return None if base is None else base + timedelta(days=step.offset)

    def _dated(self, step: SfaStep, start: date, number: int) -> date | None:
        """A dated step's day in the round that starts on ``start``: in a timed plan, in
        the round's year; otherwise the first such day on or after ``start``."""
        years = (
            [self.anchor.year + number]
            if self.plan.kind is PlanKind.TIMED
            else [start.year, start.year + 1]
        )
        for year in years:
            day = self._in_year(step, year)
            if day is not None and (self.plan.kind is PlanKind.TIMED or day >= start):
                if self.plan.kind is PlanKind.TIMED and number == 0 and day < start:
                    continue  # the enrolment's first year: only dates from its start
                return day
        return None

    def _in_year(self, step: SfaStep, year: int) -> date | None:
        if step.unit is OffsetUnit.BIRTHDAY:
            if self.birthday is None:
                return None
            return _on(year, self.birthday.month, self.birthday.day)
        on = step.on or ""
        if match := _MONTH_DAY.match(on):
            return _on(year, int(match[1]), int(match[2]))
        if match := _FULL_DATE.match(on):
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return day if day.year == year else None
        name = HOLIDAYS.get(on.lower()) or HOLIDAYS.get(on)
        if name is None or self.holiday is None:
            return None
        return self.holiday(name, year)

    def first(self, *, not_before: datetime | None = None) -> Occurrence | None:
        """The first occurrence of the plan (due at or after ``not_before`` if given)."""
        return self.following(None, not_before=not_before)

    def following(
        self, after: Occurrence | None, *, not_before: datetime | None = None
    ) -> Occurrence | None:
        """The occurrence after ``after`` (None: from the start), skipping any due before
        ``not_before``; None when the plan has no more."""
        number = 0 if after is None else after.round
        empty = 0
        while self.has_round(number) and empty <= _MAX_EMPTY_ROUNDS:
            found = False
            for occurrence in self.occurrences(number):
                found = True
                if after is not None and occurrence.order <= after.order:
                    continue
                if not_before is not None and occurrence.due_at < not_before:
                    continue
                return occurrence
            empty = 0 if found else empty + 1
            number = _next_round(self, number, not_before)
        return None

    def between(self, after: Occurrence | None, before: datetime) -> list[Occurrence]:
        """The occurrences after ``after`` and due before ``before``, in order (at most
        1000: what a long pause of a daily plan passes over is counted, not listed)."""
        passed: list[Occurrence] = []
        current = after
        while len(passed) < 1000:
            nxt = self.following(current)
            if nxt is None or nxt.due_at >= before:
                break
            passed.append(nxt)
            current = nxt
        return passed


def _next_round(schedule: Schedule, number: int, not_before: datetime | None) -> int:
    """The next round worth looking at: straight to the one holding ``not_before`` for a
    cyclic plan (a customer enrolled years after the anchor does not walk every round)."""
    plan = schedule.plan
    dated = any(s.unit in (OffsetUnit.DATE, OffsetUnit.BIRTHDAY) for s in plan.steps)
    if plan.kind is PlanKind.CYCLIC and not_before is not None and plan.cycle_days and not dated:
        latest_offset = max((s.offset for s in plan.steps), default=0)
        # a round ends at most ``latest_offset`` (working) days after it starts; a working
        # day is never more than 3 calendar days per unit away in China's calendar and
        # the 8-day breaks, so 3× is a safe lower bound on where to jump to
        target = (not_before.date() - schedule.anchor).days - 3 * latest_offset - 31
        jump = target // plan.cycle_days
        if jump > number + 1:
            return jump
    return number + 1


def _on(year: int, month: int, day: int) -> date:
    """``year-month-day``, or the month's last day when the year lacks it (29 February)."""
    return date(year, month, min(day, _month_days(year, month)))


def step_description(step: SfaStep) -> Mapping[str, Any]:
    """A step as plain values (the admin's editor and exports)."""
    return {
        "action": step.action.value,
        "unit": step.unit.value,
        "offset": step.offset,
        "on": step.on,
        "at": step.at.strftime("%H:%M"),
        "template": step.template,
        "title": step.title,
    }
