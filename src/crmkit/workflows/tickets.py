"""Service tickets on the kernel: ``session.tickets`` (工单) and ``session.sla_policies``.

A ticket is opened for a customer (``create``; DESIGN.md's ``s.tickets.create(customer_id=,
type="repair", subject=, priority="high")``), assigned, worked through its thread of service
records (``record``), paused while it waits for the customer (``wait`` / ``resume``),
resolved, rated, and closed (by hand, or by itself ``Settings.ticket_reopen_days`` after it
was resolved unless it was reopened).

The SLA clock (:mod:`crmkit.domain.sla`): each target's due time is kept in an indexed
column and rides on due jobs, one warning and one breach job per target and due time (the
key names both), so the breach scan costs what is due, not the size of the table, and two
workers escalate a breach once. A job whose due time moved (a pause, a new priority) finds
its key stale and does nothing; the service also cancels it.

The service console (:meth:`TicketService.lookup`) finds a caller by any of their numbers
(the customer's, or any contact's; E.164 or as typed) or by name, with their recent orders,
tickets and activities.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain import events as ev
from crmkit.domain import fields as f
from crmkit.domain.activity import Activity
from crmkit.domain.common import is_blank, parse_period
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.dedup.keys import phone_key
from crmkit.domain.errors import FieldErrors, NotFound, ValidationError, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.intake import new_id
from crmkit.domain.order import Order
from crmkit.domain.sla import Pause, ServiceHours, due_at, elapsed
from crmkit.domain.ticket import (
    DEFAULT_TARGETS,
    DEFAULT_WARN_PERCENT,
    OPEN_STATUSES,
    RECORD_FIELDS,
    SLA_POLICY_FIELDS,
    TICKET_FIELDS,
    TICKET_MACHINE,
    RecordKind,
    ServiceRecord,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from crmkit.domain.user import Role
from crmkit.storage.catalog import (
    ACTIVITIES,
    KB_ARTICLES,
    ORDERS,
    PRODUCTS,
    SLA_POLICIES,
    TICKETS,
)
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.queues import Job
from crmkit.storage.spec import Filter, Group, Measure, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.jobs import JobHandler

log = logging.getLogger("crmkit.tickets")

WARN_JOB: Final = "ticket.sla_warn"
BREACH_JOB: Final = "ticket.sla_breach"
CLOSE_JOB: Final = "ticket.auto_close"
# A survey reply: a score 1-5, then perhaps a comment ("5", "4，师傅很专业", "３ 一般").
SURVEY_REPLY: Final = re.compile(r"([1-5１-５])(?:\s*[,，.。:：、;；\s]\s*(.*))?", re.S)
SURVEY_TEXT: Final = (
    "您的工单{number}（{subject}）已处理完毕。请回复1-5为本次服务评分（5为非常满意），"
    "感谢您的支持！"
)


class SlaPolicyService(EntityService[SlaPolicy]):
    """``session.sla_policies``: first-response and resolution targets per ticket type
    and priority, in service minutes (服务时效规则). Admins and managers keep them."""

    spec = SLA_POLICIES
    fields: ClassVar[tuple[InputField, ...]] = SLA_POLICY_FIELDS

    def check(
        self,
        entity: SlaPolicy,
        current: SlaPolicy | None,  # noqa: ARG002  (the hook's signature)
        errors: FieldErrors,
    ) -> None:
        if entity.resolution_minutes < entity.response_minutes:
            errors.add(
                "resolution_minutes",
                "number.range",
                entity.resolution_minutes,
                min=entity.response_minutes,
                max=60 * 24 * 365,
            )

    def for_ticket(self, type: TicketType, priority: TicketPriority) -> SlaPolicy | None:
        """The most specific active policy for a ticket of ``type`` and ``priority``
        (None: the defaults apply)."""
        query = EntityQuery(filters=(Filter("active", Op.EQ, True),))
        fitting = [
            p
            for p in self.every(query, EVERYTHING)
            if p.type in (None, type) and p.priority in (None, priority)
        ]
        return max(fitting, key=lambda p: (p.specificity(), p.created_at), default=None)


@attrs.frozen
class CallerView:
    """What the service console shows about a caller: the customer, how they were found
    (``matched``: ``"customer"``, ``"contact"`` or ``"name"``), their contacts, and their
    latest orders, tickets and activities (newest first)."""

    customer: Customer
    matched: str
    contacts: tuple[Contact, ...]
    orders: tuple[Order, ...]
    tickets: tuple[Ticket, ...]
    activities: tuple[Activity, ...]


@attrs.frozen
class TicketCount:
    """One group of :meth:`TicketService.statistics`: its key and how many tickets."""

    key: str | None
    count: int


@attrs.frozen
class Compliance:
    """SLA compliance of one group: targets met and missed, per target
    (:meth:`TicketService.compliance`)."""

    key: str | None
    response_met: int
    response_missed: int
    resolution_met: int
    resolution_missed: int

    @property
    def response_rate(self) -> float | None:
        total = self.response_met + self.response_missed
        return self.response_met / total if total else None

    @property
    def resolution_rate(self) -> float | None:
        total = self.resolution_met + self.resolution_missed
        return self.resolution_met / total if total else None


@attrs.frozen
class Satisfaction:
    """Satisfaction of one group: how many rated and the average score (1 to 5)."""

    key: str | None
    rated: int
    average: float | None


_BY: Final = {
    "type": "type",
    "channel": "channel",
    "priority": "priority",
    "status": "status",
    "team": "team",
    "assignee": "assignee_id",
    "customer": "customer_id",
}

_OPENING_FIELDS: Final = (*TICKET_FIELDS, f.moment("opened_at", editable=False))


def _zone(session: Any) -> ZoneInfo:
    return ZoneInfo(session.runtime.settings.timezone)


def _hours(session: Any) -> ServiceHours:
    hours = ServiceHours.parse(session.runtime.settings.service_hours)
    if hours is None:  # Settings are checked when set; a bad one is a configuration error
        raise ValueError(f"bad service_hours: {session.runtime.settings.service_hours!r}")
    return hours


class _Clock:
    """The SLA arithmetic in one session's zone, calendar and service hours, on aware
    datetimes."""

    def __init__(self, session: Any) -> None:
        self.zone = _zone(session)
        self.calendar = session.runtime.calendar
        self.hours = _hours(session)

    def local(self, t: datetime) -> datetime:
        return t.astimezone(self.zone).replace(tzinfo=None)

    def aware(self, t: datetime | None) -> datetime | None:
        return None if t is None else t.replace(tzinfo=self.zone)

    def pauses(self, ticket: Any) -> list[Pause]:
        return [
            Pause(self.local(p.start), None if p.end is None else self.local(p.end))
            for p in ticket.pauses
        ]

    def due(self, ticket: Any, minutes: int) -> datetime | None:
        local = due_at(
            self.calendar, self.hours, self.local(ticket.opened_at), minutes, self.pauses(ticket)
        )
        return self.aware(local)

    def used(self, ticket: Any, at: datetime) -> int:
        return elapsed(
            self.calendar,
            self.hours,
            self.local(ticket.opened_at),
            self.local(at),
            self.pauses(ticket),
        )


@attrs.frozen
class _Draft:
    """What the SLA clock needs of a ticket not made yet."""

    opened_at: datetime
    response_minutes: int
    resolution_minutes: int
    pauses: tuple[Pause, ...] = ()
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None


@attrs.frozen
class _SlaJob:
    """A due job a ticket should have: its kind, the target's due time (the auto-close's
    time), its payload and, for a warning, after how many service minutes it comes."""

    kind: str
    due: datetime
    payload: dict[str, Any]
    warn_after: int | None = None


def _key(kind: str, ticket_id: str, target: SlaTarget, due: datetime) -> str:
    return f"{kind}:{ticket_id}:{target.value}:{due.isoformat()}"


class TicketService(EntityService[Ticket]):
    """``session.tickets``: service tickets (工单).

    ``create(customer_id=, type="repair", subject=, priority="high", channel="phone",
    contact_id=…, assignee_id=…, team=…, opened_at=…)``. Permissions ``ticket.*``: service
    staff, salespeople (their own customers' tickets: the scope is the customer's),
    managers and admins; handing a ticket to someone else needs ``ticket.assign``.
    """

    spec = TICKETS
    fields: ClassVar[tuple[InputField, ...]] = _OPENING_FIELDS

    # -- the lifecycle's hooks ------------------------------------------------------------
    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Ticket | None
    ) -> None:
        s = self._s
        if current is None:
            self.check_customer(data.get("customer_id"), errors, "not_found_ref")
        customer_id = data.get("customer_id") or (current.customer_id if current else None)
        contact_id = data.get("contact_id")
        if contact_id and (current is None or contact_id != current.contact_id):
            contact = s._uow.contacts.get(contact_id)
            if contact is None or contact.is_deleted:
                errors.add("contact_id", "not_found_ref", contact_id)
            elif contact.customer_id != customer_id:
                errors.add("contact_id", "activity.other_customer", contact_id)
        assignee = data.get("assignee_id")
        if assignee and (current is None or assignee != current.assignee_id):
            user = s.user(assignee)
            if user is None or user.is_deleted:
                errors.add("assignee_id", "not_found_ref", assignee)
            elif not user.active:
                errors.add("assignee_id", "customer.owner_inactive", assignee)
            elif assignee != s.actor.id:
                s.require("ticket.assign")
        order_id = data.get("order_id")
        if order_id and (current is None or order_id != current.order_id):
            order = s._uow.repo(ORDERS).get(order_id)
            if order is None or order.deleted_at is not None:
                errors.add("order_id", "not_found_ref", order_id)
            elif order.customer_id != customer_id:
                errors.add("order_id", "activity.other_customer", order_id)
        product_id = data.get("product_id")
        if product_id and (current is None or product_id != current.product_id):
            product = s._uow.repo(PRODUCTS).get(product_id)
            if product is None or product.deleted_at is not None:
                errors.add("product_id", "not_found_ref", product_id)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,
        current: Ticket | None = None,
    ) -> dict[str, Any]:
        s = self._s
        out = {k: v for k, v in data.items() if v is not None or k not in ("channel", "priority")}
        now = s.now()
        if current is None:
            opened = out.get("opened_at")
            if opened is not None and opened.tzinfo is None:
                opened = opened.replace(tzinfo=_zone(s))
            if opened is not None and opened > now + timedelta(minutes=5):
                errors.add("opened_at", "activity.future", opened.isoformat())
            out["opened_at"] = opened or now
            if out.get("assignee_id"):
                out["status"] = TicketStatus.ASSIGNED
            out.update(self._targets(out["type"], out.get("priority") or TicketPriority.NORMAL))
            draft = _Draft(out["opened_at"], out["response_minutes"], out["resolution_minutes"])
            out.update(self.dues(draft))
        else:
            out.pop("opened_at", None)
            kind = out.get("type", current.type)
            priority = out.get("priority", current.priority)
            if (kind, priority) != (current.type, current.priority):
                out.update(self._targets(kind, priority))
            if (
                out.get("assignee_id")
                and out["assignee_id"] != current.assignee_id
                and current.status is TicketStatus.NEW
            ):
                out["status"] = TicketStatus.ASSIGNED
            out.update(self.dues(attrs.evolve(current, **out)))
        return out

    def dues(self, ticket: Any) -> dict[str, Any]:
        """The due times of ``ticket``'s targets as they stand (a met target keeps the due
        time it was met against; a target whose clock stands still has none)."""
        clock = _Clock(self._s)
        out: dict[str, Any] = {}
        if ticket.first_response_at is None:
            out["response_due_at"] = clock.due(ticket, ticket.response_minutes)
        if ticket.resolved_at is None:
            out["resolution_due_at"] = clock.due(ticket, ticket.resolution_minutes)
        return out

    def _targets(self, kind: TicketType, priority: TicketPriority) -> dict[str, Any]:
        policy = SlaPolicyService(self._s).for_ticket(kind, priority)
        if policy is None:
            response, resolution = DEFAULT_TARGETS[priority]
            return {
                "sla_policy_id": None,
                "response_minutes": response,
                "resolution_minutes": resolution,
                "warn_percent": DEFAULT_WARN_PERCENT,
            }
        return {
            "sla_policy_id": policy.id,
            "response_minutes": policy.response_minutes,
            "resolution_minutes": policy.resolution_minutes,
            "warn_percent": policy.warn_percent,
        }

    def on_created(self, entity: Ticket) -> None:
        self._schedule(None, entity)

    def on_updated(self, before: Ticket, after: Ticket) -> None:
        self._schedule(before, after)

    # -- the SLA jobs -----------------------------------------------------------------------
    def _jobs(self, ticket: Ticket) -> dict[str, _SlaJob]:
        """The due jobs ``ticket`` should have, by key: a warning and a breach job per
        target not yet met (none while it waits), and the auto-close once resolved. No
        service-time arithmetic here: a warning's time is worked out only when it is
        scheduled (:meth:`_schedule`)."""
        out: dict[str, _SlaJob] = {}
        if ticket.deleted_at is not None:
            return out
        if ticket.status is TicketStatus.RESOLVED and ticket.resolved_at is not None:
            days = self._s.runtime.settings.ticket_reopen_days
            key = f"{CLOSE_JOB}:{ticket.id}:{ticket.resolved_at.isoformat()}"
            at = ticket.resolved_at + timedelta(days=days)
            out[key] = _SlaJob(CLOSE_JOB, at, {"id": ticket.id})
            return out
        if ticket.status not in OPEN_STATUSES:
            return out
        targets = (
            (
                SlaTarget.RESPONSE,
                ticket.response_due_at,
                ticket.response_minutes,
                ticket.first_response_at is None and not ticket.response_breached,
            ),
            (
                SlaTarget.RESOLUTION,
                ticket.resolution_due_at,
                ticket.resolution_minutes,
                not ticket.resolution_breached,
            ),
        )
        for target, due, minutes, pending in targets:
            if due is None or not pending:
                continue
            payload = {"id": ticket.id, "target": target.value, "due": due.isoformat()}
            out[_key(BREACH_JOB, ticket.id, target, due)] = _SlaJob(BREACH_JOB, due, payload)
            share = minutes * ticket.warn_percent // 100
            out[_key(WARN_JOB, ticket.id, target, due)] = _SlaJob(WARN_JOB, due, payload, share)
        return out

    def _schedule(self, before: Ticket | None, after: Ticket) -> None:
        s = self._s
        old = self._jobs(before) if before is not None else {}
        new = self._jobs(after)
        now = s.now()
        for key in old.keys() - new.keys():
            # A job whose target is already due may be the one running now (a breach marks
            # its own target missed): it is left to find itself stale, not cancelled.
            if old[key].due > now:
                s.cancel_job(key)
        clock: _Clock | None = None
        for key in new.keys() - old.keys():
            job = new[key]
            at = job.due
            if job.warn_after is not None:
                clock = clock or _Clock(s)
                warn = clock.due(after, job.warn_after)
                if warn is None or warn >= job.due:
                    continue  # no warning before the breach itself
                at = warn
            s.schedule(job.kind, max(at, now), job.payload, key=key)

    # -- verbs ------------------------------------------------------------------------------
    def _move(
        self,
        id: str,
        version: int | None,
        target: TicketStatus,
        *,
        only_from: TicketStatus | None = None,
        **changes: Any,
    ) -> Ticket:
        ticket = self.writable(id, version)
        if only_from is not None and ticket.status is not only_from:
            raise WorkflowError(
                self.spec.name,
                ticket.status.value,
                "resume",
                state_zh=TICKET_MACHINE.labels_zh.get(ticket.status),
                move_zh="继续处理",
            )
        TICKET_MACHINE.check(ticket.status, target)
        now = self._s.now()
        pauses = list(changes.pop("pauses", ticket.pauses))
        if ticket.status is TicketStatus.WAITING and target is not TicketStatus.WAITING:
            pauses = [p if p.end is not None else Pause(p.start, now) for p in pauses]
        if target is TicketStatus.WAITING and ticket.status is not TicketStatus.WAITING:
            pauses.append(Pause(now))
        changes.update(status=target, pauses=tuple(pauses))
        return self.save_changes(ticket, **changes, **self.dues(attrs.evolve(ticket, **changes)))

    def assign(
        self, id: str, assignee_id: str, *, team: str | None = None, version: int | None = None
    ) -> Ticket:
        """Hand the ticket to ``assignee_id`` (and ``team``); taking it oneself needs only
        ``ticket.write``, giving it to someone else ``ticket.assign``.

        Raises:
            ValidationError: no such active user.
            WorkflowError: the ticket is resolved or closed.
        """
        ticket = self.get(id)
        errors = FieldErrors()
        self.check_references({"assignee_id": assignee_id}, errors, ticket)
        if is_blank(assignee_id):
            errors.add("assignee_id", "required", assignee_id)
        errors.raise_if_any(self.spec.name)
        changes: dict[str, Any] = {"assignee_id": assignee_id}
        if team is not None:
            changes["team"] = team.strip() or None
        return self._move(id, version, TicketStatus.ASSIGNED, **changes)

    def start(self, id: str, version: int | None = None) -> Ticket:
        """Start working the ticket (处理中)."""
        return self._move(id, version, TicketStatus.IN_PROGRESS)

    def wait(self, id: str, version: int | None = None) -> Ticket:
        """Wait for the customer (等待客户): the SLA clock stops until :meth:`resume`."""
        return self._move(id, version, TicketStatus.WAITING)

    def resume(self, id: str, version: int | None = None) -> Ticket:
        """The customer answered: back to work, the clock runs again.

        Raises:
            WorkflowError: the ticket is not waiting.
        """
        return self._move(id, version, TicketStatus.IN_PROGRESS, only_from=TicketStatus.WAITING)

    def resolve(self, id: str, *, resolution: str, version: int | None = None) -> Ticket:
        """Resolve the ticket with what was done (解决方案); the customer is sent a
        satisfaction survey (``Settings.satisfaction_survey``) through the outbox.

        Raises:
            ValidationError: no resolution.
            WorkflowError: already resolved or closed.
        """
        if is_blank(resolution):
            errors = FieldErrors()
            errors.add("resolution", "required", resolution)
            errors.raise_if_any(self.spec.name)
        now = self._s.now()
        ticket = self.get(id)
        missed = ticket.resolution_due_at is not None and now > ticket.resolution_due_at
        # Resolving answers the customer: it is the first response if none came before.
        response: dict[str, Any] = (
            {}
            if ticket.first_response_at is not None
            else {
                "first_response_at": now,
                "response_breached": ticket.response_breached
                or (ticket.response_due_at is not None and now > ticket.response_due_at),
            }
        )
        updated = self._move(
            id,
            version,
            TicketStatus.RESOLVED,
            resolution=resolution.strip(),
            resolved_at=now,
            resolution_breached=ticket.resolution_breached or missed,
            **response,
        )
        s = self._s
        s.publish(
            ev.TicketResolved(
                actor_id=s.actor.id,
                at=now,
                entity_id=id,
                customer_id=updated.customer_id,
                assignee_id=updated.assignee_id,
                breached=updated.breached,
            )
        )
        if s.runtime.settings.satisfaction_survey:
            updated = self._survey(updated)
        return updated

    def _survey(self, ticket: Ticket) -> Ticket:
        """Text the customer (the ticket's contact, else the customer's mobile) a survey."""
        s = self._s
        if "message.send" not in (s.actor.permissions or {"message.send"}):
            return ticket
        to = None
        if ticket.contact_id:
            contact = s._uow.contacts.get(ticket.contact_id)
            if contact is not None and contact.mobile is not None:
                to = contact.mobile.e164
        text = SURVEY_TEXT.format(number=ticket.number, subject=ticket.subject[:20])
        try:
            message = s.messages.send_sms(customer_id=ticket.customer_id, to=to, text=text)
        except (ValidationError, NotFound) as exc:  # no mobile, or unsubscribed: no survey
            log.info("no satisfaction survey for ticket %s: %s", ticket.number, exc)
            return ticket
        return self.save_changes(ticket, survey_key=message.outbox_key)

    def reopen(self, id: str, *, reason: str, version: int | None = None) -> Ticket:
        """Reopen a resolved ticket (the customer says it is not fixed) within
        ``Settings.ticket_reopen_days`` of its resolution; the time it stood resolved does
        not count against its resolution target.

        Raises:
            ValidationError: no reason.
            WorkflowError: not resolved, or resolved too long ago.
        """
        if is_blank(reason):
            errors = FieldErrors()
            errors.add("reason", "required", reason)
            errors.raise_if_any(self.spec.name)
        ticket = self.get(id)
        now = self._s.now()
        days = self._s.runtime.settings.ticket_reopen_days
        if (
            ticket.status is TicketStatus.RESOLVED
            and ticket.resolved_at is not None
            and now > ticket.resolved_at + timedelta(days=days)
        ):
            raise self.refusal(
                "reopen",
                "重新打开",
                (f"it was resolved more than {days} days ago", f"该工单解决已超过 {days} 天"),
            )
        pauses = ticket.pauses
        if ticket.resolved_at is not None:
            pauses = (*pauses, Pause(ticket.resolved_at, now))
        note = ServiceRecord(
            id=new_id(),
            at=now,
            author_id=self._s.actor.id,
            kind=RecordKind.NOTE,
            body=reason.strip(),
            shared=True,
        )
        return self._move(
            id,
            version,
            TicketStatus.IN_PROGRESS,
            resolved_at=None,
            pauses=pauses,
            reopened=ticket.reopened + 1,
            records=(*ticket.records, note),
        )

    def close(self, id: str, version: int | None = None) -> Ticket:
        """Close a resolved ticket (已关闭): it can no longer be reopened."""
        return self._move(id, version, TicketStatus.CLOSED, closed_at=self._s.now())

    def record(
        self,
        id: str,
        *,
        body: str,
        kind: str | RecordKind = RecordKind.REPLY,
        shared: bool = False,
        version: int | None = None,
    ) -> Ticket:
        """Add a service record to the thread (客服记录): a reply, call or visit reaches the
        customer and is the first response if none came before (a new or assigned ticket
        is then in progress); a note stays inside. ``shared`` records are seen by the whole
        team.

        Raises:
            ValidationError: no text, an unknown kind.
            WorkflowError: the ticket is closed.
        """
        ticket = self.writable(id, version)
        errors = FieldErrors()
        raw = {"body": body, "kind": kind, "shared": shared}
        data = f.parse_input(RECORD_FIELDS, raw, errors, partial=False)
        errors.raise_if_any(self.spec.name)
        if ticket.status is TicketStatus.CLOSED:
            raise self.refusal("record", "添加服务记录", ("the ticket is closed", "工单已关闭"))
        s = self._s
        now = s.now()
        entry = ServiceRecord(
            id=new_id(),
            at=now,
            author_id=s.actor.id,
            kind=data.get("kind") or RecordKind.REPLY,
            body=data["body"],
            shared=bool(data.get("shared")),
        )
        changes: dict[str, Any] = {"records": (*ticket.records, entry)}
        if entry.kind.reaches_customer and ticket.first_response_at is None:
            changes["first_response_at"] = now
            due = ticket.response_due_at
            changes["response_breached"] = ticket.response_breached or (
                due is not None and now > due
            )
        status = ticket.status
        if entry.kind.reaches_customer and status in (TicketStatus.NEW, TicketStatus.ASSIGNED):
            status = TicketStatus.IN_PROGRESS
        changes["status"] = status
        return self.save_changes(ticket, **changes, **self.dues(attrs.evolve(ticket, **changes)))

    def records(self, id: str) -> builtins.list[ServiceRecord]:
        """The thread as the actor may read it: shared records, their own, and all of them
        for the assignee, managers and admins."""
        ticket = self.get(id)
        actor = self._s.actor
        if actor.role in (None, Role.ADMIN, Role.MANAGER) or actor.id == ticket.assignee_id:
            return list(ticket.records)
        return [r for r in ticket.records if r.shared or r.author_id == actor.id]

    def rate(
        self, id: str, *, score: int | str, comment: str | None = None, version: int | None = None
    ) -> Ticket:
        """Record the customer's satisfaction (满意度): ``score`` 1 (very unhappy) to 5
        (very happy), with their comment.

        Raises:
            ValidationError: a score outside 1 to 5.
            WorkflowError: the ticket is not resolved or closed.
        """
        ticket = self.writable(id, version)
        errors = FieldErrors()
        value = f.integer("satisfaction", minimum=1, maximum=5).parse(score, errors, "satisfaction")
        if value is None and not errors:
            errors.add("satisfaction", "required", score)
        errors.raise_if_any(self.spec.name)
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise self.refusal("rate", "评价满意度", ("the ticket is not resolved", "工单尚未解决"))
        now = self._s.now()
        return self.save_changes(
            ticket,
            satisfaction=value,
            satisfaction_comment=(comment or "").strip() or None,
            rated_at=now,
        )

    def survey_reply(self, customer_id: str, text: str) -> Ticket | None:
        """A customer's reply to a satisfaction survey (``"5"``, ``"4 师傅很专业"``): the
        score, and any words after it as the comment, on their latest surveyed ticket not
        rated yet (``s.messages.receive`` calls this for every reply). None when the text
        is not a score or no ticket waits for one.
        """
        found = SURVEY_REPLY.fullmatch(text.strip())
        if found is None:
            return None
        query = EntityQuery(
            filters=(
                Filter("customer_id", Op.EQ, customer_id),
                Filter("status", Op.IN, (TicketStatus.RESOLVED, TicketStatus.CLOSED)),
                Filter("satisfaction", Op.NULL, True),
            )
        )
        waiting = [t for t in self.every(query, EVERYTHING) if t.survey_key is not None]
        if not waiting:
            return None
        ticket = max(waiting, key=lambda t: (t.resolved_at or t.opened_at, t.id))
        now = self._s.now()
        comment = (found.group(2) or "").strip() or None
        return self.save_changes(
            ticket, satisfaction=int(found.group(1)), satisfaction_comment=comment, rated_at=now
        )

    def link_article(self, id: str, article_id: str, version: int | None = None) -> Ticket:
        """Note that a knowledge-base article answered the ticket (the article counts a
        use).

        Raises:
            ValidationError: no such article.
        """
        ticket = self.writable(id, version)
        article = self._s._uow.repo(KB_ARTICLES).get(article_id)
        if article is None or article.deleted_at is not None:
            errors = FieldErrors()
            errors.add("article_id", "not_found_ref", article_id)
            errors.raise_if_any(self.spec.name)
        if article_id in ticket.article_ids:
            return ticket
        updated = self.save_changes(ticket, article_ids=(*ticket.article_ids, article_id))
        self._s.kb.record_use(article_id)
        return updated

    # -- queues -----------------------------------------------------------------------------
    def queue(
        self, *, assignee_id: str | None = None, team: str | None = None, limit: int = 200
    ) -> builtins.list[Ticket]:
        """Open tickets the actor may see (of one assignee or team), the soonest due
        first: the service queue with its SLA countdowns."""
        self.require("read")
        filters: list[Filter] = [Filter("status", Op.IN, tuple(OPEN_STATUSES))]
        if assignee_id is not None:
            filters.append(Filter("assignee_id", Op.EQ, assignee_id))
        if team is not None:
            filters.append(Filter("team", Op.EQ, team))
        found = self.every(EntityQuery(filters=tuple(filters)))
        far = datetime.max.replace(tzinfo=self._s.now().tzinfo)
        found.sort(key=lambda t: (min(_open_dues(t), default=far), t.opened_at))
        return found[:limit]

    def breaching(self, *, within: timedelta = timedelta(0)) -> builtins.list[Ticket]:
        """Open tickets the actor may see whose resolution is due by now + ``within``
        (breached, or about to be), soonest first: an index range on the due time."""
        self.require("read")
        horizon = self._s.now() + within
        query = EntityQuery(
            filters=(
                Filter("resolution_due_at", Op.LE, horizon),
                Filter("status", Op.IN, tuple(OPEN_STATUSES)),
            ),
            order_by="resolution_due_at",
        )
        return self.every(query)

    def sla_state(self, ticket: Ticket) -> dict[str, Any]:
        """How the ticket stands against its targets: for each, the due time, the service
        minutes left (negative: overdue; None while waiting or once met) and whether it
        was missed."""
        clock = _Clock(self._s)
        now = self._s.now()
        out: dict[str, Any] = {}
        for target, due, met, missed in (
            (
                SlaTarget.RESPONSE,
                ticket.response_due_at,
                ticket.first_response_at,
                ticket.response_breached,
            ),
            (
                SlaTarget.RESOLUTION,
                ticket.resolution_due_at,
                ticket.resolved_at,
                ticket.resolution_breached,
            ),
        ):
            left: int | None = None
            if due is not None and met is None and ticket.status in OPEN_STATUSES:
                minutes = (
                    ticket.response_minutes
                    if target is SlaTarget.RESPONSE
                    else ticket.resolution_minutes
                )
                left = minutes - clock.used(ticket, now)
            out[target.value] = {"due_at": due, "minutes_left": left, "missed": missed}
        return out

    # -- the service console ------------------------------------------------------------------
    def lookup(
        self, *, phone: str | None = None, name: str | None = None, limit: int = 5
    ) -> builtins.list[CallerView]:
        """Who is calling: customers the actor may see with ``phone`` (theirs or any of
        their contacts', E.164 or as typed) or, with ``name``, whose name, contact names or
        numbers contain it; each with its contacts and latest orders, tickets and
        activities.

        Raises:
            ValidationError: neither given.
        """
        self.require("read")
        s = self._s
        if is_blank(phone) and is_blank(name):
            errors = FieldErrors()
            errors.add("phone", "required", phone)
            errors.raise_if_any(self.spec.name)
        matched: dict[str, str] = {}
        if not is_blank(phone):
            assert phone is not None
            e164 = phone_key(phone, s.runtime.region)
            if e164 is not None:
                for customer in s._uow.customers.find_by_keys(phones=[e164]):
                    matched.setdefault(customer.id, "customer")
                for contact in s._uow.contacts.with_phones([e164]):
                    matched.setdefault(contact.customer_id, "contact")
        customers = [
            c for c in s._uow.customers.get_many(list(matched), s.actor.scope) if not c.is_deleted
        ]
        if not is_blank(name) and len(customers) < limit:
            page = s.customers.list(q=name, limit=limit)
            for c in page.items:
                if c.id not in matched:
                    matched[c.id] = "name"
                    customers.append(c)
        return [self._caller(c, matched[c.id]) for c in customers[:limit]]

    def _caller(self, customer: Customer, matched: str, recent: int = 5) -> CallerView:
        s = self._s
        scope = s.actor.scope
        by_customer = EntityQuery(filters=(Filter("customer_id", Op.EQ, customer.id),))
        orders = s._uow.repo(ORDERS).list(by_customer, scope, after=None, limit=recent).items
        tickets = self.repo.list(by_customer, scope, after=None, limit=recent).items
        activities = s._uow.repo(ACTIVITIES).list(by_customer, scope, after=None, limit=recent)
        return CallerView(
            customer=customer,
            matched=matched,
            contacts=tuple(s._uow.contacts.for_customer(customer.id)),
            orders=tuple(orders),
            tickets=tuple(tickets),
            activities=tuple(sorted(activities.items, key=lambda a: a.at, reverse=True)),
        )

    # -- statistics ---------------------------------------------------------------------------
    def _period(self, start: Any, end: Any) -> list[Filter]:
        start, end = parse_period(start, end, required=False)
        zone = _zone(self._s)
        filters = []
        if start is not None:
            filters.append(
                Filter("opened_at", Op.GE, datetime.combine(start, time(0), tzinfo=zone))
            )
        if end is not None:
            after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
            filters.append(Filter("opened_at", Op.LT, after))
        return filters

    def statistics(
        self, by: str, *, start: Any = None, end: Any = None
    ) -> builtins.list[TicketCount]:
        """Tickets the actor may see opened from ``start`` to ``end`` (days, inclusive),
        per ``"type"``, ``"channel"``, ``"priority"``, ``"status"``, ``"team"``,
        ``"assignee"``, ``"customer"`` (customers ranked by service count) or ``"month"``;
        the most first (months in order).

        Raises:
            ValidationError: an unknown ``by``, a bad day, ``end`` before ``start``.
        """
        self.require("read")
        group = self._group(by)
        rows = self.repo.aggregate(
            EntityQuery(filters=tuple(self._period(start, end))),
            self._s.actor.scope,
            by=(group,),
            measures=(Measure.count(),),
        )
        out = [TicketCount(_plain(row.key[0]), row.values[0]) for row in rows]
        if by == "month":
            return out
        return sorted(out, key=lambda r: (-r.count, r.key or ""))

    def _group(self, by: str) -> Group:
        if by == "month":
            return Group.month("opened_at")
        if by not in _BY:
            errors = FieldErrors()
            errors.add("by", "invalid_choice", by, choices=", ".join([*_BY, "month"]))
            errors.raise_if_any(self.spec.name)
        return Group(_BY[by])

    def compliance(
        self, by: str | None = None, *, start: Any = None, end: Any = None
    ) -> builtins.list[Compliance]:
        """SLA compliance of the tickets opened from ``start`` to ``end``: per target, how
        many were met and missed (a target still running and not yet due counts as
        neither), overall or per ``by`` (as :meth:`statistics`)."""
        self.require("read")
        now = self._s.now()
        key_of = _key_reader(None if by is None else self._group(by), self._s)
        tally: dict[str | None, list[int]] = {}
        for t in self.every(EntityQuery(filters=tuple(self._period(start, end)))):
            row = tally.setdefault(key_of(t), [0, 0, 0, 0])
            for offset, due, met, missed in (
                (0, t.response_due_at, t.first_response_at, t.response_breached),
                (2, t.resolution_due_at, t.resolved_at, t.resolution_breached),
            ):
                if missed or (met is None and due is not None and due < now):
                    row[offset + 1] += 1
                elif met is not None:
                    row[offset] += 1
        return [Compliance(k, *v) for k, v in sorted(tally.items(), key=lambda kv: kv[0] or "")]

    def satisfaction(
        self, by: str | None = None, *, start: Any = None, end: Any = None
    ) -> builtins.list[Satisfaction]:
        """Average satisfaction of the rated tickets opened from ``start`` to ``end``,
        overall or per ``by`` (as :meth:`statistics`)."""
        self.require("read")
        filters = (*self._period(start, end), Filter("satisfaction", Op.NULL, False))
        groups = () if by is None else (self._group(by),)
        rows = self.repo.aggregate(
            EntityQuery(filters=filters),
            self._s.actor.scope,
            by=groups,
            measures=(Measure.count(), Measure.sum("satisfaction")),
        )
        out = []
        for row in rows:
            rated, total = row.values[0], row.values[1]
            key = _plain(row.key[0]) if groups else None
            out.append(Satisfaction(key, rated, float(total) / rated if rated else None))
        return sorted(out, key=lambda r: r.key or "")


def _plain(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def _key_reader(group: Group | None, session: Any) -> Any:
    zone = _zone(session)
    if group is None:
        return lambda _ticket: None
    if group.field == "opened_at":
        return lambda t: t.opened_at.astimezone(zone).strftime("%Y-%m")
    return lambda t: _plain(getattr(t, group.field))


def _open_dues(ticket: Ticket) -> list[datetime]:
    return [
        d
        for d, met in (
            (ticket.response_due_at, ticket.first_response_at),
            (ticket.resolution_due_at, ticket.resolved_at),
        )
        if d is not None and met is None
    ]


# -- due jobs ---------------------------------------------------------------------------------
def _live(session: Any, job: Job) -> tuple[Ticket, SlaTarget] | None:
    """The ticket and target of an SLA job, if the job still stands: the ticket open and
    the target unmet and due when the job says (a job whose due time moved is stale)."""
    ticket: Ticket | None = session._uow.repo(TICKETS).get(job.payload["id"])
    if ticket is None or ticket.deleted_at is not None or ticket.status not in OPEN_STATUSES:
        return None
    target = SlaTarget(job.payload["target"])
    if target is SlaTarget.RESPONSE:
        due, met = ticket.response_due_at, ticket.first_response_at
    else:
        due, met = ticket.resolution_due_at, ticket.resolved_at
    if met is not None or due is None or due.isoformat() != job.payload["due"]:
        return None
    return ticket, target


def warn(session: Any, job: Job) -> None:
    """The ``ticket.sla_warn`` job: tell the assignee a target is coming due."""
    found = _live(session, job)
    if found is None:
        return
    ticket, target = found
    if ticket.assignee_id is None:
        return
    body = {
        "template": WARN_JOB,
        "ticket_id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "target": target.value,
        "due_at": job.payload["due"],
    }
    session.notify_user(ticket.assignee_id, body, key=job.key)


def breach(session: Any, job: Job) -> None:
    """The ``ticket.sla_breach`` job: mark the target missed and escalate to the
    assignee's manager, once (the job's key is the breach's; the outbox key the
    escalation's)."""
    found = _live(session, job)
    if found is None:
        return
    ticket, target = found
    now = session.now()
    flag = "response_breached" if target is SlaTarget.RESPONSE else "resolution_breached"
    if getattr(ticket, flag):
        return
    service = TicketService(session)
    manager = None
    if ticket.assignee_id is not None:
        assignee = session.user(ticket.assignee_id)
        manager = assignee.manager_id if assignee is not None else None
    changes: dict[str, Any] = {flag: True, "escalated_at": ticket.escalated_at or now}
    service.save_change(ticket, service._stamped(ticket, now, **changes))
    body = {
        "template": "ticket.escalation",
        "ticket_id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "target": target.value,
        "due_at": job.payload["due"],
    }
    if manager is not None:
        session.notify_user(manager, body, key=job.key)
    session.publish(
        ev.TicketBreached(
            actor_id=session.actor.id,
            at=now,
            entity_id=ticket.id,
            customer_id=ticket.customer_id,
            assignee_id=ticket.assignee_id,
            target=target.value,
            escalated_to=manager,
        )
    )


def auto_close(session: Any, job: Job) -> None:
    """The ``ticket.auto_close`` job: a ticket resolved that long ago and not reopened
    closes."""
    ticket: Ticket | None = session._uow.repo(TICKETS).get(job.payload["id"])
    if ticket is None or ticket.deleted_at is not None:
        return
    if ticket.status is not TicketStatus.RESOLVED or ticket.resolved_at is None:
        return
    if not job.key.endswith(ticket.resolved_at.isoformat()):
        return
    service = TicketService(session)
    now = session.now()
    updated = service._stamped(ticket, now, status=TicketStatus.CLOSED, closed_at=now)
    service.save_change(ticket, updated)


JOB_HANDLERS: Final[Mapping[str, JobHandler]] = {
    WARN_JOB: warn,
    BREACH_JOB: breach,
    CLOSE_JOB: auto_close,
}
"""The due jobs tickets schedule, registered on every CRM (``crm.on_job`` replaces them)."""
