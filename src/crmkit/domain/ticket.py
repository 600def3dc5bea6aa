"""Service tickets (工单) and their service-level policies (SLA).

A :class:`Ticket` is one matter a customer raised: a consultation (咨询), a complaint
(投诉), a repair (维修), a return visit (回访) or a suggestion (建议), through a channel, at
a priority. It moves through :data:`TICKET_MACHINE`::

    new ─► assigned ─► in_progress ◄─► waiting ─► resolved ─► closed
     └────────┴────────────┴──────────────────────► resolved ─► in_progress (reopen)

A resolved ticket may be reopened within ``Settings.ticket_reopen_days`` days; after that it
closes by itself. Its thread is a tuple of :class:`ServiceRecord` s (客服记录): replies,
calls and visits made to the customer, and internal notes; a record marked ``shared`` is
seen by the whole service team (共享服务记录), the others by their author and the ticket's
assignee.

The clock: a ticket's first-response and resolution targets come from the most specific
active :class:`SlaPolicy` for its type and priority (else :data:`DEFAULT_TARGETS`) and are
counted in service time (:mod:`crmkit.domain.sla`), paused while the ticket waits for the
customer. The first record that reaches the customer (anything but a note) is the first
response.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.sla import Pause
from crmkit.domain.states import StateMachine


class TicketType(enum.StrEnum):
    """What the ticket is about (服务类型)."""

    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    REPAIR = "repair"
    RETURN_VISIT = "return_visit"
    SUGGESTION = "suggestion"


class TicketChannel(enum.StrEnum):
    """How it came in (来源渠道)."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WALK_IN = "walk_in"
    WEB = "web"


class TicketPriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"  # for the customer: the SLA clock stops
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES: Final = frozenset(
    {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING}
)

_S = TicketStatus
TICKET_MACHINE: Final = StateMachine[TicketStatus](
    "ticket",
    {
        _S.NEW: frozenset({_S.ASSIGNED, _S.IN_PROGRESS, _S.RESOLVED}),
        _S.ASSIGNED: frozenset({_S.ASSIGNED, _S.IN_PROGRESS, _S.WAITING, _S.RESOLVED}),
        _S.IN_PROGRESS: frozenset({_S.ASSIGNED, _S.WAITING, _S.RESOLVED}),
        _S.WAITING: frozenset({_S.ASSIGNED, _S.IN_PROGRESS, _S.RESOLVED}),
        _S.RESOLVED: frozenset({_S.IN_PROGRESS, _S.CLOSED}),
    },
    {
        _S.NEW: "新建",
        _S.ASSIGNED: "已分派",
        _S.IN_PROGRESS: "处理中",
        _S.WAITING: "等待客户",
        _S.RESOLVED: "已解决",
        _S.CLOSED: "已关闭",
    },
)
"""Where a ticket may move. ``assigned`` → ``assigned`` is a hand-over to someone else;
``resolved`` → ``in_progress`` is a reopen."""


class RecordKind(enum.StrEnum):
    """What a service record is (服务方式)."""

    REPLY = "reply"  # written to the customer (email, SMS, web)
    CALL = "call"
    VISIT = "visit"  # 上门服务
    NOTE = "note"  # internal: does not count as a response

    @property
    def reaches_customer(self) -> bool:
        return self is not RecordKind.NOTE


@attrs.frozen(kw_only=True)
class ServiceRecord:
    """One entry of a ticket's thread (客服记录)."""

    id: str
    at: datetime
    author_id: str
    kind: RecordKind
    body: str
    shared: bool = False  # 共享: the whole service team sees it


class SlaTarget(enum.StrEnum):
    """Which clock: the first response or the resolution."""

    RESPONSE = "response"
    RESOLUTION = "resolution"


@attrs.frozen(kw_only=True)
class Ticket:
    """A service ticket (工单).

    Attributes:
        number: ``TK-2027-000001``.
        opened_at: when the customer raised it (the SLA clock starts here).
        assignee_id / team: who works it (a user) and which team (a name from the
            dictionary's ``service_team`` list).
        sla_policy_id: the policy its targets came from (None: the defaults).
        response_minutes / resolution_minutes: its targets in service minutes.
        warn_percent: the assignee is warned when this share of a target is used up.
        response_due_at / resolution_due_at: when they fall due (None while the clock
            stands still waiting for the customer); kept once met, to tell met from
            missed.
        first_response_at / resolved_at / closed_at: when these happened.
        pauses: when it waited for the customer (the clock stood still).
        response_breached / resolution_breached: a target was missed.
        escalated_at: when a breach was escalated to the assignee's manager.
        satisfaction / satisfaction_comment / rated_at: the customer's score (1 to 5).
        survey_key: the outbox key of the satisfaction survey sent, if any.
        article_ids: knowledge-base articles that answered it.
        order_id / product_id: what it concerns, when known.
    """

    id: str
    number: str | None = None
    customer_id: str
    contact_id: str | None = None
    type: TicketType
    channel: TicketChannel = TicketChannel.PHONE
    priority: TicketPriority = TicketPriority.NORMAL
    subject: str
    description: str | None = None
    opened_at: datetime
    status: TicketStatus = TicketStatus.NEW
    assignee_id: str | None = None
    team: str | None = None
    order_id: str | None = None
    product_id: str | None = None
    sla_policy_id: str | None = None
    response_minutes: int
    resolution_minutes: int
    warn_percent: int = 80
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str | None = None
    pauses: tuple[Pause, ...] = ()
    response_breached: bool = False
    resolution_breached: bool = False
    escalated_at: datetime | None = None
    reopened: int = 0
    satisfaction: int | None = None
    satisfaction_comment: str | None = None
    rated_at: datetime | None = None
    survey_key: str | None = None
    article_ids: tuple[str, ...] = ()
    records: tuple[ServiceRecord, ...] = ()
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def waiting_since(self) -> datetime | None:
        """When the current wait for the customer began (None: not waiting)."""
        return next((p.start for p in self.pauses if p.end is None), None)

    @property
    def breached(self) -> bool:
        return self.response_breached or self.resolution_breached


@attrs.frozen(kw_only=True)
class SlaPolicy:
    """Targets for tickets of one type and priority (None: any), in service minutes.

    The most specific active policy wins: type and priority, then type, then priority,
    then one for all. ``warn_percent``: warn the assignee when that share of a target is
    used up.
    """

    id: str
    name: str
    type: TicketType | None = None
    priority: TicketPriority | None = None
    response_minutes: int
    resolution_minutes: int
    warn_percent: int = 80
    active: bool = True
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    def specificity(self) -> int:
        return (2 if self.type is not None else 0) + (1 if self.priority is not None else 0)


DEFAULT_TARGETS: Final[dict[TicketPriority, tuple[int, int]]] = {
    # (first response, resolution) in service minutes, with no policy defined.
    TicketPriority.URGENT: (30, 4 * 60),
    TicketPriority.HIGH: (60, 8 * 60),
    TicketPriority.NORMAL: (4 * 60, 3 * 8 * 60),
    TicketPriority.LOW: (8 * 60, 5 * 8 * 60),
}
DEFAULT_WARN_PERCENT: Final = 80

TYPE_ALIASES: Final = {
    "咨询": TicketType.CONSULTATION,
    "投诉": TicketType.COMPLAINT,
    "维修": TicketType.REPAIR,
    "报修": TicketType.REPAIR,
    "回访": TicketType.RETURN_VISIT,
    "建议": TicketType.SUGGESTION,
}
CHANNEL_ALIASES: Final = {
    "电话": TicketChannel.PHONE,
    "短信": TicketChannel.SMS,
    "邮件": TicketChannel.EMAIL,
    "上门": TicketChannel.WALK_IN,
    "来访": TicketChannel.WALK_IN,
    "网站": TicketChannel.WEB,
    "网页": TicketChannel.WEB,
}
PRIORITY_ALIASES: Final = {
    "低": TicketPriority.LOW,
    "普通": TicketPriority.NORMAL,
    "中": TicketPriority.NORMAL,
    "高": TicketPriority.HIGH,
    "紧急": TicketPriority.URGENT,
}

TICKET_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("contact_id"),
    f.choice("type", TicketType, required=True, aliases=dict(TYPE_ALIASES)),
    f.choice("channel", TicketChannel, aliases=dict(CHANNEL_ALIASES), default=TicketChannel.PHONE),
    f.choice(
        "priority", TicketPriority, aliases=dict(PRIORITY_ALIASES), default=TicketPriority.NORMAL
    ),
    f.text("subject", 200, required=True),
    f.multiline("description", 4000),
    f.ref("assignee_id"),
    f.text("team", 60),
    f.ref("order_id"),
    f.ref("product_id"),
)

SLA_POLICY_FIELDS: Final = (
    f.text("name", 60, required=True),
    f.choice("type", TicketType, aliases=dict(TYPE_ALIASES)),
    f.choice("priority", TicketPriority, aliases=dict(PRIORITY_ALIASES)),
    f.integer("response_minutes", required=True, minimum=1, maximum=60 * 24 * 60),
    f.integer("resolution_minutes", required=True, minimum=1, maximum=60 * 24 * 365),
    f.integer("warn_percent", minimum=1, maximum=99, default=DEFAULT_WARN_PERCENT),
    f.boolean("active", default=True),
)

RECORD_FIELDS: Final = (
    f.choice("kind", RecordKind, default=RecordKind.REPLY),
    f.multiline("body", 4000, required=True),
    f.boolean("shared", default=False),
)
