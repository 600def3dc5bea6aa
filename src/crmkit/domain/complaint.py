"""Complaints (投诉) and the corrective actions that answer them (整改措施).

A :class:`Complaint` is raised from a complaint ticket (or directly, for a customer): how
severe it is, what caused it (root cause, 原因分析) and what will be done about it. Each
:class:`CorrectiveAction` has an owner and a due date, and is followed up (跟进) with notes
until it is done; a complaint closes only when every action is done and its result has been
verified (核实). It moves through :data:`COMPLAINT_MACHINE`::

    open ─► investigating ─► acting ─► closed
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.states import StateMachine


class Severity(enum.StrEnum):
    MINOR = "minor"  # 一般
    MAJOR = "major"  # 严重
    CRITICAL = "critical"  # 重大


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    ACTING = "acting"  # corrective actions under way
    CLOSED = "closed"


_C = ComplaintStatus
COMPLAINT_MACHINE: Final = StateMachine[ComplaintStatus](
    "complaint",
    {
        _C.OPEN: frozenset({_C.INVESTIGATING, _C.ACTING, _C.CLOSED}),
        _C.INVESTIGATING: frozenset({_C.ACTING, _C.CLOSED}),
        _C.ACTING: frozenset({_C.CLOSED}),
        _C.CLOSED: frozenset({_C.ACTING}),
    },
    {
        _C.OPEN: "待处理",
        _C.INVESTIGATING: "调查中",
        _C.ACTING: "整改中",
        _C.CLOSED: "已结案",
    },
)


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    VERIFIED = "verified"


@attrs.frozen(kw_only=True)
class FollowUp:
    """A note on how a corrective action is going (跟进记录)."""

    at: datetime
    author_id: str
    note: str


@attrs.frozen(kw_only=True)
class CorrectiveAction:
    """One thing to be done about a complaint, by an owner, by a day."""

    id: str
    description: str
    owner_id: str
    due_on: date
    status: ActionStatus = ActionStatus.OPEN
    done_at: datetime | None = None
    result: str | None = None
    verified_by: str | None = None
    follow_ups: tuple[FollowUp, ...] = ()


@attrs.frozen(kw_only=True)
class Complaint:
    """A complaint (投诉单), numbered ``CP-2027-000001``."""

    id: str
    number: str | None = None
    customer_id: str
    ticket_id: str | None = None
    owner_id: str
    severity: Severity = Severity.MINOR
    subject: str
    description: str | None = None
    root_cause: str | None = None
    status: ComplaintStatus = ComplaintStatus.OPEN
    actions: tuple[CorrectiveAction, ...] = ()
    closed_at: datetime | None = None
    conclusion: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def open_actions(self) -> tuple[CorrectiveAction, ...]:
        return tuple(a for a in self.actions if a.status is not ActionStatus.VERIFIED)


SEVERITY_ALIASES: Final = {
    "一般": Severity.MINOR,
    "严重": Severity.MAJOR,
    "重大": Severity.CRITICAL,
}

COMPLAINT_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("ticket_id", editable=False),
    f.ref("owner_id"),
    f.choice("severity", Severity, default=Severity.MINOR, aliases=dict(SEVERITY_ALIASES)),
    f.text("subject", 200, required=True),
    f.multiline("description", 4000),
    f.multiline("root_cause", 4000),
)

ACTION_FIELDS: Final = (
    f.multiline("description", 1000, required=True),
    f.ref("owner_id", required=True),
    f.day("due_on", required=True),
)
