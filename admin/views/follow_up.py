"""跟进 pieces several screens share: the CRM's day and times as forms hold them, a
customer's activity timeline (the customer page), and the 工作台 (the dashboard): today's
and overdue follow-ups (``s.activities.due()``) and the tasks whose reminder or due time has
come (``s.tasks.reminding()``).

Every value is shown through crmkit's display layer (:mod:`admin.i18n`): kinds and statuses
by their labels, instants as local times, days as dates, people and customers by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from flask import g
from flask_babel import gettext as _

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.i18n import current_lang, enum_label, local_time, show
from admin.views.customers import customer_names, enum_pairs

# How many rows each of the workbench's lists shows (the rest: a link to the full list).
WORKBENCH_ROWS = 20
TIMELINE_ROWS = 30  # the customer page's timeline: its latest activities
EXCERPT = 80  # characters of an activity's content in a list


def crm_zone() -> ZoneInfo:
    """The CRM's business time zone (its days and the times people type)."""
    return ZoneInfo(context.crm().settings.timezone)


def form_time(at: datetime | None) -> str:
    """An instant as a form holds it, to the minute in the CRM's zone: ``2027-01-05 14:30``
    (crmkit reads it back in that zone)."""
    return crmkit.display.local_time(at, context.crm().settings.timezone) if at else ""


def now_text() -> str:
    """Now, as a form's time field starts."""
    return form_time(context.now())


def typed_day(raw: str) -> date | None:
    """A day typed as ``2027-01-05`` (or ``2027/1/5``); None if it is not one."""
    text = raw.strip().replace("/", "-")
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def day_start(day: date) -> datetime:
    """The first instant of ``day`` in the CRM's zone."""
    return datetime.combine(day, time(0), tzinfo=crm_zone())


def kind_pairs() -> list[tuple[str, Any]]:
    """联系方式 for a select: ``(code, label)``."""
    return enum_pairs(crmkit.ActivityKind)


def excerpt(text: str, size: int = EXCERPT) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= size else one_line[: size - 1] + "…"


@attrs.frozen
class FollowUpState:
    """Where an activity's next follow-up stands: its text and a Bootstrap colour."""

    text: str
    colour: str


def follow_up_state(activity: crmkit.Activity, today: date) -> FollowUpState | None:
    """已跟进, 今日跟进, 已逾期 or 待跟进 (None without a next follow-up)."""
    due = activity.next_follow_up
    if due is None:
        return None
    if activity.followed_up:
        return FollowUpState(_("Followed up"), "success")
    if due < today:
        return FollowUpState(late_text((today - due).days), "danger")
    if due == today:
        return FollowUpState(_("Due today"), "warning")
    return FollowUpState(_("Scheduled"), "info")


def aside(text: str) -> str:
    """A remark after a value, in the language's brackets: ``（逾期 2 天）`` / ``(2 days
    overdue)``; empty for no text."""
    if not text:
        return ""
    return f"（{text}）" if current_lang() == "zh" else f" ({text})"


def late_text(days: int) -> str:
    if days == 1:
        return _("1 day overdue")
    return _("%(days)s days overdue", days=days)


# -- a customer's timeline ---------------------------------------------------------------
@attrs.frozen
class TimelineRow:
    """One activity on a customer's timeline, as the page shows it."""

    id: str
    at: str
    kind: str
    kind_code: str  # a CSS class only, never shown
    owner: str
    contact: str
    opportunity: str
    content: str
    next_follow_up: str
    state: FollowUpState | None


def opportunity_titles(s: crmkit.Session, ids: Sequence[str | None]) -> dict[str, str]:
    """The titles of the opportunities ``ids`` the user may see (cached per request)."""
    cached: dict[str, str] = g.setdefault("opportunity_titles", {})
    wanted = [i for i in dict.fromkeys(ids) if i and i not in cached]
    if wanted and context.can("opportunity.read"):
        for deal in s.opportunities.get_many(wanted):
            cached[deal.id] = deal.title
    return cached


def contact_names(s: crmkit.Session, ids: Sequence[str | None]) -> dict[str, str]:
    """The names of the contacts ``ids`` the user may see (cached per request)."""
    cached: dict[str, str] = g.setdefault("contact_names", {})
    for id in dict.fromkeys(ids):
        if not id or id in cached:
            continue
        try:
            cached[id] = s.contacts.get(id, include_deleted=True).name
        except crmkit.CRMError:
            cached[id] = ""
    return cached


def timeline(s: crmkit.Session, customer_id: str) -> list[TimelineRow]:
    """The customer's latest activities, newest first (``s.activities.for_customer``)."""
    if not context.can("activity.read"):
        return []
    found = s.activities.for_customer(customer_id, limit=TIMELINE_ROWS)
    user_names(s)
    contacts = contact_names(s, [a.contact_id for a in found])
    deals = opportunity_titles(s, [a.opportunity_id for a in found])
    today = s.today()
    return [
        TimelineRow(
            id=a.id,
            at=local_time(a.at),
            kind=enum_label(a.kind),
            kind_code=a.kind.value,
            owner=user_name(a.owner_id),
            contact=contacts.get(a.contact_id or "", ""),
            opportunity=deals.get(a.opportunity_id or "", ""),
            content=a.content,
            next_follow_up=show(a.next_follow_up),
            state=follow_up_state(a, today),
        )
        for a in found
    ]


# The quick form on the customer page (记录联系): its fields, in the order crmkit names them.
QUICK_FIELDS = ("kind", "at", "contact_id", "opportunity_id", "content", "next_follow_up")


def quick_values(form: Mapping[str, str] | None = None) -> dict[str, str]:
    """The quick form's values: as posted (trimmed), else a call made now."""
    if form is None:
        values = dict.fromkeys(QUICK_FIELDS, "")
        values["kind"] = crmkit.ActivityKind.CALL.value
        return values
    return {f: str(form.get(f, "")).strip()[:2000] for f in QUICK_FIELDS}


def customer_opportunities(s: crmkit.Session, customer_id: str) -> list[tuple[str, str]]:
    """``(id, title)`` of the customer's opportunities the user may see."""
    if not context.can("opportunity.read"):
        return []
    deals = s.opportunities.list(customer_id=customer_id, limit=100).items
    return [(d.id, d.title) for d in deals]


# -- the workbench (工作台) ------------------------------------------------------------------
@attrs.frozen
class DueRow:
    """A follow-up whose day has come: the customer, the day, how late, the last contact."""

    activity_id: str
    customer_id: str
    customer: str
    due: str
    late: str
    overdue: bool
    kind: str
    at: str
    content: str
    owner: str


@attrs.frozen
class ReminderRow:
    """A task whose reminder (or due time) has come."""

    id: str
    title: str
    due: str
    overdue: bool
    state: str
    customer_id: str
    customer: str
    owner: str
    version: int


def due_rows(s: crmkit.Session, activities: Sequence[crmkit.Activity]) -> list[DueRow]:
    today = s.today()
    names = customer_names(s, [a.customer_id for a in activities])
    rows = []
    for a in activities:
        due = a.next_follow_up or today
        late = (today - due).days
        rows.append(
            DueRow(
                activity_id=a.id,
                customer_id=a.customer_id,
                customer=names.get(a.customer_id, ""),
                due=show(due),
                late=late_text(late) if late > 0 else _("Today"),
                overdue=late > 0,
                kind=enum_label(a.kind),
                at=local_time(a.at),
                content=excerpt(a.content, 60),
                owner=user_name(a.owner_id),
            )
        )
    return rows


def reminder_rows(s: crmkit.Session, tasks: Sequence[crmkit.Task]) -> list[ReminderRow]:
    now = s.now()
    names = customer_names(s, [t.customer_id for t in tasks if t.customer_id])
    return [
        ReminderRow(
            id=t.id,
            title=t.title,
            due=local_time(t.due_at),
            overdue=t.due_at <= now,
            state=_("Overdue") if t.due_at <= now else _("Coming up"),
            customer_id=t.customer_id or "",
            customer=names.get(t.customer_id or "", ""),
            owner=user_name(t.owner_id),
            version=t.version,
        )
        for t in tasks
    ]


def workbench(s: crmkit.Session) -> dict[str, Any]:
    """工作台: the follow-ups due (today's and overdue) and the tasks reminding, in the
    user's scope, the first :data:`WORKBENCH_ROWS` of each and how many there are."""
    user_names(s)
    due: list[crmkit.Activity] = s.activities.due() if context.can("activity.read") else []
    tasks: list[crmkit.Task] = s.tasks.reminding() if context.can("task.read") else []
    today = s.today()
    return {
        "due": due_rows(s, due[:WORKBENCH_ROWS]),
        "due_total": len(due),
        "due_overdue": sum(1 for a in due if (a.next_follow_up or today) < today),
        "reminders": reminder_rows(s, tasks[:WORKBENCH_ROWS]),
        "reminders_total": len(tasks),
        "may_follow_up": context.can("activity.read"),
        "may_tasks": context.can("task.read"),
        "may_close_tasks": context.can("task.write"),
        "today": show(today),
    }


__all__ = [
    "QUICK_FIELDS",
    "TimelineRow",
    "aside",
    "crm_zone",
    "customer_opportunities",
    "day_start",
    "follow_up_state",
    "form_time",
    "kind_pairs",
    "now_text",
    "quick_values",
    "timeline",
    "typed_day",
    "workbench",
]
