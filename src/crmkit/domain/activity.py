"""Follow-up (跟进): activities with customers (联系记录) and to-do tasks (待办).

An :class:`Activity` records a contact made with a customer: a visit, a call, an SMS, an
email or a meeting, when, what was said, and when to follow up next. A pending follow-up
is closed by the next activity recorded on the same customer, so "today's and overdue
follow-ups" are the activities whose ``next_follow_up`` has come and that nobody has
followed up yet.

A :class:`Task` is a to-do for oneself or for someone else, due at a time, with a
reminder ``remind_days`` days ahead (shown in the admin, and by SMS when asked), done or
cancelled. Whoever assigned it keeps seeing it (``watchers``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Final

import attrs

from crmkit.domain import fields as f


class ActivityKind(enum.StrEnum):
    """How the customer was contacted (联系方式)."""

    VISIT = "visit"
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    MEETING = "meeting"


@attrs.frozen(kw_only=True)
class Activity:
    """A contact made with a customer (联系记录 / 跟进记录).

    Attributes:
        customer_id / contact_id / opportunity_id: with whom, about what deal.
        owner_id: who made it (the data scope is the customer's).
        kind: see :class:`ActivityKind`.
        at: when it happened.
        content: what was said or done.
        next_follow_up: the day to follow up next, if any.
        followed_up: a later activity on the customer closed that follow-up.
    """

    id: str
    customer_id: str
    contact_id: str | None = None
    opportunity_id: str | None = None
    owner_id: str
    kind: ActivityKind
    at: datetime
    content: str
    next_follow_up: date | None = None
    followed_up: bool = False
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


KIND_ALIASES: Final = {
    "拜访": ActivityKind.VISIT,
    "上门": ActivityKind.VISIT,
    "电话": ActivityKind.CALL,
    "短信": ActivityKind.SMS,
    "邮件": ActivityKind.EMAIL,
    "会议": ActivityKind.MEETING,
}

ACTIVITY_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("contact_id"),
    f.ref("opportunity_id"),
    f.ref("owner_id"),
    f.choice("kind", ActivityKind, required=True, aliases=dict(KIND_ALIASES)),
    f.moment("at"),
    f.multiline("content", 2000, required=True),
    f.day("next_follow_up"),
)


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Task:
    """A to-do (待办).

    Attributes:
        owner_id: who is to do it (oneself, or someone it was assigned to).
        customer_id: the customer it concerns, if any.
        due_at: when it is due.
        remind_days: remind this many days ahead (None: no reminder); ``remind_at`` is
            when.
        remind_sms: also remind by SMS.
        watchers: who else sees it (whoever assigned it to someone else).
        source: what made it, when not a person: ``"sfa"`` (an SFA plan's manual step,
            SFA手动事务); ``source_ref`` is then the step's run key.
    """

    id: str
    title: str
    description: str | None = None
    owner_id: str
    customer_id: str | None = None
    due_at: datetime
    remind_days: int | None = None
    remind_at: datetime | None = None
    remind_sms: bool = False
    status: TaskStatus = TaskStatus.OPEN
    done_at: datetime | None = None
    cancel_reason: str | None = None
    watchers: tuple[str, ...] = ()
    source: str | None = None
    source_ref: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    # DESIGN.md section 4's names for the same fields.
    @property
    def assignee_id(self) -> str:
        return self.owner_id

    @property
    def due(self) -> datetime:
        return self.due_at

    @property
    def remind_days_before(self) -> int | None:
        return self.remind_days


TASK_ALIASES: Final = {
    "assignee_id": "owner_id",
    "due": "due_at",
    "remind_days_before": "remind_days",
}
"""DESIGN.md's keywords for a task's fields (``s.tasks.create(assignee_id=…, due=…)``)."""

TASK_FIELDS: Final = (
    f.text("title", 200, required=True),
    f.multiline("description", 2000),
    f.ref("owner_id"),
    f.ref("customer_id"),
    f.moment("due_at", required=True),
    f.integer("remind_days"),
    f.boolean("remind_sms", default=False),
)
