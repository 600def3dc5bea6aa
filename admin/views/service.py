"""客户服务: the service screens over ``session.tickets`` and ``session.sla_policies``.

**客服控制台** (``/service-console/``, :class:`ServiceConsoleView`): a caller looked up by
phone (as typed: ``139 0000 1234``, ``+86…``) or by name through ``s.tickets.lookup`` — the
customer's card (how they were found, their contacts and numbers), their latest orders,
tickets and activities — and a new ticket for them on the same screen (type, channel,
priority, subject, description, contact) that goes to ``s.tickets.create`` as typed: every
refusal comes back beside its field, nothing written.

**工单队列** (``/tickets/``, :class:`TicketView`): the tickets the user may see, open ones by
default, the soonest due first, each with its SLA countdown (the service minutes left of the
target running, from ``s.tickets.sla_state``: red when missed or overdue, amber under 20 %
of the target left); filters: status, type, priority, assignee, team and 已超时.
**工单详情** (``/tickets/<id>``): the fields, the SLA state, the thread the user may read
(``s.tickets.records``), a record to add, and the moves the ticket's state allows (分派 /
我来处理, 开始处理, 等待客户, 客户已回复, 解决, 重新打开, 关闭, 满意度). A refusal is shown as a
message in the user's language.

**SLA规则** (``/sla-policies/``, :class:`SlaPolicyView`): the policies and their form, for
whoever keeps them (admins and managers); others get the 403 page.

**服务统计** (``/service-statistics/``, :class:`ServiceStatisticsView`): tickets by type and
channel, customers ranked by service count, SLA compliance and satisfaction, as the shared
bar charts (``crm/bar_chart.html``).

Field labels are crmkit's (:data:`LABELS`, through ``entity_labels``); values (types,
statuses, phones, times, amounts) go through crmkit's display layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from flask import abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.forms import refusal
from admin.i18n import current_lang, duration, entity_labels, enum_label, local_time, percent, show
from admin.views.customers import customer_names, enum_pairs
from admin.views.follow_up import contact_names, excerpt, typed_day
from admin.views.statistics import TOP, Bar, Chart, widths
from crmkit import (
    RecordKind,
    SlaTarget,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    TicketType,
)

# A ticket is worked until resolved (crmkit's ``Ticket.is_open``), as a filter's values.
OPEN_STATUSES = frozenset(TicketStatus) - {TicketStatus.RESOLVED, TicketStatus.CLOSED}
QUEUE_SIZE = 200  # tickets one queue page shows (crmkit's own page limit caps it too)
WARN_SHARE = 0.2  # amber when less than this share of a target is left
TICKET_FIELDS = ("type", "channel", "priority", "subject", "description", "contact_id")
POLICY_FIELDS = (
    "name", "type", "priority", "response_minutes", "resolution_minutes", "warn_percent",
    "active",
)  # fmt: skip
WORKERS = {crmkit.Role.ADMIN, crmkit.Role.MANAGER, crmkit.Role.SERVICE, crmkit.Role.SALES}

# A ticket's fields as people read them: crmkit's words (an SLA policy's own for its form).
LABELS: dict[str, Any] = {
    **entity_labels(
        "ticket",
        "number", "customer_id", "contact_id", "type", "channel", "priority", "subject",
        "description", "status", "assignee_id", "team", "opened_at", "resolution",
        "resolved_at", "closed_at", "reason", "satisfaction", "comment", "kind", "body",
        "shared", "phone", "name", "order_id", "product_id", "sla",
    ),
    **entity_labels(
        "sla_policy", "response_minutes", "resolution_minutes", "warn_percent", "active"
    ),
}  # fmt: skip


def label(field: str) -> str:
    return str(LABELS.get(field, field))


def field_messages(exc: crmkit.ValidationError) -> dict[str, list[str]]:
    """crmkit's field errors by field, in the reader's language."""
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        out.setdefault(e.field.split(".", 1)[0].split("[", 1)[0], []).append(e.message())
    return out


def error_lines(exc: crmkit.ValidationError) -> list[str]:
    """Each field error with its label: ``解决方案：不能为空``."""
    sep = "：" if current_lang() == "zh" else ": "
    return [f"{label(e.field)}{sep}{e.message()}" for e in exc.errors]


def flash_refusal(exc: crmkit.CRMError, name: str = "") -> None:
    """Any refusal of crmkit's as a message (field errors with this screen's labels)."""
    if isinstance(exc, crmkit.ValidationError):
        for line in error_lines(exc):
            flash(line, "error")
    else:
        flash(refusal(exc, name), "error")


def type_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(TicketType)


def channel_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(TicketChannel)


def priority_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(TicketPriority)


def status_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(TicketStatus)


def kind_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(RecordKind)


def worker_pairs(s: crmkit.Session) -> list[tuple[str, str]]:
    """Active users who may work tickets, by name."""
    user_names(s)
    found: Sequence[crmkit.User] = g.get("all_users") or ()
    return sorted(
        ((u.id, u.name) for u in found if u.active and not u.is_deleted and u.role in WORKERS),
        key=lambda pair: pair[1],
    )


def may_service() -> bool:
    return g.get("user") is not None and context.can("ticket.read")


# -- the SLA countdown ------------------------------------------------------------------------
@attrs.frozen
class Countdown:
    """Where a ticket stands against the target running: its text and a level (a CSS class
    only: ``ok``, ``warn``, ``late``, ``paused``, ``none``)."""

    text: str
    level: str


def countdown(ticket: Ticket, state: Mapping[str, Any]) -> Countdown:
    """The countdown of the target running: the first response until it is made, then the
    resolution; in service time (the working calendar, paused while waiting)."""
    if ticket.status not in OPEN_STATUSES:
        return Countdown("—", "none")
    if ticket.status is TicketStatus.WAITING:
        return Countdown(_("Paused: waiting for the customer"), "paused")
    target = SlaTarget.RESPONSE if ticket.first_response_at is None else SlaTarget.RESOLUTION
    found = state[target.value]
    total = ticket.response_minutes if target is SlaTarget.RESPONSE else ticket.resolution_minutes
    left = found["minutes_left"]
    name = enum_label(target)
    sep = "：" if current_lang() == "zh" else ": "
    if left is None:
        return Countdown("—", "none")
    if left < 0:
        late = _("overdue by %(time)s", time=duration(timedelta(minutes=-left)))
        return Countdown(f"{name}{sep}{late}", "late")
    if found["missed"]:
        return Countdown(f"{name}{sep}{_('Missed')}", "late")
    text = f"{name}{sep}" + _("%(time)s left", time=duration(timedelta(minutes=left)))
    return Countdown(text, "warn" if left < total * WARN_SHARE else "ok")


@attrs.frozen
class TicketRow:
    id: str
    number: str
    customer_id: str
    customer: str
    subject: str
    type: str
    priority: str
    priority_code: str  # a CSS class only
    status: str
    assignee: str
    team: str
    opened: str
    countdown: Countdown


def ticket_rows(s: crmkit.Session, tickets: Sequence[Ticket]) -> list[TicketRow]:
    user_names(s)
    names = customer_names(s, [t.customer_id for t in tickets])
    return [
        TicketRow(
            id=t.id,
            number=t.number or "",
            customer_id=t.customer_id,
            customer=names.get(t.customer_id, ""),
            subject=excerpt(t.subject, 60),
            type=enum_label(t.type),
            priority=enum_label(t.priority),
            priority_code=t.priority.value,
            status=enum_label(t.status),
            assignee=user_name(t.assignee_id),
            team=t.team or "",
            opened=local_time(t.opened_at),
            countdown=countdown(t, s.tickets.sla_state(t)),
        )
        for t in tickets
    ]


def soonest_first(tickets: Sequence[Ticket]) -> list[Ticket]:
    """Open tickets by their earliest unmet due time (as ``s.tickets.queue`` orders them),
    then the others, newest first."""

    def due(t: Ticket) -> datetime | None:
        dues = [
            d
            for d, met in (
                (t.response_due_at, t.first_response_at),
                (t.resolution_due_at, t.resolved_at),
            )
            if d is not None and met is None
        ]
        return min(dues, default=None)

    open_ = [t for t in tickets if t.status in OPEN_STATUSES]
    timed = sorted((t for t in open_ if due(t) is not None), key=lambda t: (due(t), t.opened_at))
    rest = [t for t in tickets if t not in timed]
    return [*timed, *rest]


# -- 客服控制台 --------------------------------------------------------------------------------
@attrs.frozen
class CallerCard:
    """One caller as the console shows them."""

    id: str
    name: str
    matched: str
    phones: str
    region: str
    owner: str
    contacts: tuple[dict[str, str], ...]
    orders: tuple[dict[str, str], ...]
    tickets: tuple[TicketRow, ...]
    activities: tuple[dict[str, str], ...]


def matched_text(how: str) -> str:
    return {
        "customer": _("by the customer's number"),
        "contact": _("by a contact's number"),
        "name": _("by name"),
    }.get(how, "")


def caller_card(s: crmkit.Session, view: Any) -> CallerCard:
    c: crmkit.Customer = view.customer
    phones = "、".join(show(p) for p in (c.mobile, c.phone) if p is not None)
    return CallerCard(
        id=c.id,
        name=c.name,
        matched=matched_text(view.matched),
        phones=phones if current_lang() == "zh" else phones.replace("、", ", "),
        region=show(c.region),
        owner=user_name(c.owner_id),
        contacts=tuple(
            {
                "name": ct.name,
                "title": ct.title or "",
                "mobile": show(ct.mobile),
                "phone": show(ct.phone),
                "id": ct.id,
            }
            for ct in view.contacts
        ),
        orders=tuple(
            {
                "id": o.id,
                "number": o.number or "",
                "signed_on": show(o.signed_on),
                "status": enum_label(o.status),
                "gross": show(o.gross),
            }
            for o in view.orders
        ),
        tickets=tuple(ticket_rows(s, view.tickets)),
        activities=tuple(
            {
                "id": a.id,
                "at": local_time(a.at),
                "kind": enum_label(a.kind),
                "content": excerpt(a.content, 60),
            }
            for a in view.activities
        ),
    )


class ServiceConsoleView(BaseView):
    """客服控制台: look the caller up, see their history, open a ticket for them."""

    def is_accessible(self) -> bool:
        return may_service()

    @expose("/", methods=("GET", "POST"))
    def index(self) -> ResponseReturnValue:
        source = request.form if request.method == "POST" else request.args
        phone = source.get("phone", "").strip()[:40]
        name = source.get("name", "").strip()[:60]
        chosen = source.get("customer_id", "").strip()[:60]
        values = {f: request.form.get(f, "").strip()[:4000] for f in TICKET_FIELDS}
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            if not context.can("ticket.create"):
                abort(403)
            fields: dict[str, Any] = {k: v for k, v in values.items() if v}
            try:
                with context.work() as s:
                    ticket = s.tickets.create(customer_id=chosen, **fields)
            except crmkit.ValidationError as exc:
                errors = field_messages(exc)
                flash(_("No ticket was opened: correct the marked fields."), "error")
                for field, texts in list(errors.items()):
                    if field not in TICKET_FIELDS:  # the customer: shown above the form
                        flash("; ".join(f"{label(field)}：{t}" for t in texts), "error")
            except crmkit.CRMError as exc:
                flash_refusal(exc)
            else:
                flash(_("Ticket %(number)s opened.", number=ticket.number), "success")
                return redirect(url_for("tickets.details", id=ticket.id))
        cards: list[CallerCard] = []
        if phone or name:
            try:
                with context.work() as s:
                    user_names(s)
                    found = s.tickets.lookup(phone=phone or None, name=name or None)
                    cards = [caller_card(s, v) for v in found]
            except crmkit.CRMError as exc:
                flash_refusal(exc)
        current = next((c for c in cards if c.id == chosen), cards[0] if cards else None)
        if current is None and chosen and request.method == "POST":
            with context.work() as s:  # the customer posted, when the search finds no one
                shown = customer_names(s, [chosen]).get(chosen)
            if shown:
                current = CallerCard(chosen, shown, "", "", "", "", (), (), (), ())
        if request.method == "GET":
            values = {**dict.fromkeys(TICKET_FIELDS, ""), "channel": "phone", "priority": "normal"}
        return self.render(
            "crm/service_console.html",
            phone=phone,
            name=name,
            searched=bool(phone or name),
            cards=cards,
            current=current,
            values=values,
            errors=errors,
            labels=LABELS,
            types=type_pairs(),
            channels=channel_pairs(),
            priorities=priority_pairs(),
            may_create=context.can("ticket.create"),
        )


# -- 工单队列 and 工单详情 -----------------------------------------------------------------------
@attrs.frozen
class Move:
    """A move on a ticket: the call, the message once done, and the states it applies in."""

    call: Callable[[crmkit.Session, str, int | None], Any]
    done: Any
    states: frozenset[TicketStatus]


_S = TicketStatus
MOVES: dict[str, Move] = {
    "start": Move(
        lambda s, id, v: s.tickets.start(id, version=v),
        _l("Work on the ticket has started."),
        frozenset({_S.NEW, _S.ASSIGNED}),
    ),
    "wait": Move(
        lambda s, id, v: s.tickets.wait(id, version=v),
        _l("Waiting for the customer: the SLA clock stands still."),
        frozenset({_S.ASSIGNED, _S.IN_PROGRESS}),
    ),
    "resume": Move(
        lambda s, id, v: s.tickets.resume(id, version=v),
        _l("The customer answered: the SLA clock runs again."),
        frozenset({_S.WAITING}),
    ),
    "close": Move(
        lambda s, id, v: s.tickets.close(id, version=v),
        _l("The ticket is closed."),
        frozenset({_S.RESOLVED}),
    ),
}
ASSIGNABLE = frozenset({_S.NEW, _S.ASSIGNED, _S.IN_PROGRESS, _S.WAITING})


class TicketView(BaseView):
    """工单队列 and 工单详情."""

    def is_accessible(self) -> bool:
        return may_service()

    @expose("/")
    def index(self) -> ResponseReturnValue:
        """The queue: open tickets (or those of a chosen status), soonest due first."""
        args = request.args
        active = {
            k: args.get(k, "").strip()[:60]
            for k in ("status", "type", "priority", "assignee_id", "team", "breaching")
            if args.get(k, "").strip()
        }
        filters: dict[str, Any] = {}
        for name, values in (("status", TicketStatus), ("type", TicketType),
                             ("priority", TicketPriority)):  # fmt: skip
            if active.get(name) in {v.value for v in values}:
                filters[name] = active[name]
            else:
                active.pop(name, None)
        if "status" not in filters:
            filters["status__in"] = [s.value for s in OPEN_STATUSES]
        if active.get("assignee_id"):
            filters["assignee_id"] = active["assignee_id"]
        if active.get("team"):
            filters["team"] = active["team"]
        breaching = active.get("breaching") == "1"
        if not breaching:
            active.pop("breaching", None)
        rows: list[TicketRow] = []
        more = False
        workers: list[tuple[str, str]] = []
        try:
            with context.work() as s:
                workers = worker_pairs(s)
                if breaching:
                    filters["resolution_due_at__le"] = s.now()
                page = s.tickets.list(limit=QUEUE_SIZE, **filters)
                more = page.next_after is not None
                rows = ticket_rows(s, soonest_first(page.items))
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        return self.render(
            "crm/ticket_queue.html",
            rows=rows,
            more=more,
            active=active,
            labels=LABELS,
            statuses=status_pairs(),
            types=type_pairs(),
            priorities=priority_pairs(),
            workers=workers,
            may_create=context.can("ticket.create"),
        )

    # -- a ticket -----------------------------------------------------------------------------
    @expose("/<id>")
    def details(self, id: str) -> ResponseReturnValue:
        try:
            with context.work() as s:
                ticket = s.tickets.get(id[:60])
                user_names(s)
                (row,) = ticket_rows(s, [ticket])
                state = s.tickets.sla_state(ticket)
                thread = s.tickets.records(ticket.id)
                contact = contact_names(s, [ticket.contact_id]).get(ticket.contact_id or "", "")
                workers = worker_pairs(s) if context.can("ticket.assign") else []
        except crmkit.NotFound:
            abort(404)
        status = ticket.status
        may_write = context.can("ticket.write")
        me = context.current_user().id
        may = {
            "assign": may_write and status in ASSIGNABLE and bool(workers),
            "take": may_write and status in ASSIGNABLE and ticket.assignee_id != me,
            "resolve": may_write and status in OPEN_STATUSES,
            "reopen": may_write and status is TicketStatus.RESOLVED,
            "rate": may_write and status in (TicketStatus.RESOLVED, TicketStatus.CLOSED),
            "record": may_write and status is not TicketStatus.CLOSED,
            **{name: may_write and status in move.states for name, move in MOVES.items()},
        }
        move_labels = {
            "start": _("Start work"),
            "wait": _("Wait for the customer"),
            "resume": _("The customer answered"),
            "close": _("Close"),
        }
        return self.render(
            "crm/ticket_details.html",
            ticket=ticket,
            row=row,
            contact=contact,
            channel=enum_label(ticket.channel),
            description=ticket.description or "",
            sla=[
                {
                    "target": enum_label(target),
                    "minutes": duration(
                        timedelta(
                            minutes=ticket.response_minutes
                            if target is SlaTarget.RESPONSE
                            else ticket.resolution_minutes
                        )
                    ),
                    "due": local_time(state[target.value]["due_at"])
                    if state[target.value]["due_at"]
                    else "—",
                    "state": self.target_state(ticket, target, state[target.value]),
                }
                for target in SlaTarget
            ],
            thread=[
                {
                    "at": local_time(r.at),
                    "author": user_name(r.author_id),
                    "kind": enum_label(r.kind),
                    "kind_code": r.kind.value,
                    "body": r.body,
                    "shared": _("Shared") if r.shared else "",
                }
                for r in thread
            ],
            resolved_at=local_time(ticket.resolved_at) if ticket.resolved_at else "",
            closed_at=local_time(ticket.closed_at) if ticket.closed_at else "",
            satisfaction=(
                _("%(score)s of 5", score=ticket.satisfaction) if ticket.satisfaction else ""
            ),
            workers=workers,
            labels=LABELS,
            kinds=kind_pairs(),
            may=may,
            moves=[(name, move_labels[name]) for name in MOVES if may[name]],
            scores=range(5, 0, -1),
        )

    @staticmethod
    def target_state(ticket: Ticket, target: SlaTarget, found: Mapping[str, Any]) -> str:
        met = ticket.first_response_at if target is SlaTarget.RESPONSE else ticket.resolved_at
        if found["missed"]:
            return _("Missed")
        if met is not None:
            return _("Met at %(time)s", time=local_time(met))
        if ticket.status is TicketStatus.WAITING:
            return _("Paused: waiting for the customer")
        left = found["minutes_left"]
        if left is None:
            return "—"
        if left < 0:
            return _("overdue by %(time)s", time=duration(timedelta(minutes=-left)))
        return _("%(time)s left", time=duration(timedelta(minutes=left)))

    def act(self, id: str, call: Callable[[crmkit.Session, int | None], Any], done: Any) -> Any:
        """One write on the ticket ``id`` at the version the page showed; crmkit's refusal
        is shown as a message."""
        raw = request.form.get("version", "")
        version = int(raw) if raw.isdigit() else None
        try:
            with context.work() as s:
                call(s, version)
        except crmkit.CRMError as exc:
            flash_refusal(exc, request.form.get("name", "")[:60])
        else:
            flash(str(done), "success")
        return redirect(url_for(".details", id=id))

    @expose("/<id>/move/<move_name>", methods=("POST",))
    def move(self, id: str, move_name: str) -> ResponseReturnValue:
        found = MOVES.get(move_name) or abort(404)
        return self.act(id, lambda s, v: found.call(s, id, v), found.done)

    @expose("/<id>/assign", methods=("POST",))
    def assign(self, id: str) -> ResponseReturnValue:
        """分派 to a user (``ticket.assign``), or 我来处理: to oneself."""
        assignee = request.form.get("assignee_id", "").strip()[:60]
        if request.form.get("self"):
            assignee = context.current_user().id
        team = request.form.get("team")
        team = team.strip()[:60] if team is not None else None
        return self.act(
            id,
            lambda s, v: s.tickets.assign(id, assignee, team=team, version=v),
            _("The ticket is assigned to %(name)s.", name=self.name_of(assignee)),
        )

    @staticmethod
    def name_of(user_id: str) -> str:
        with context.work() as s:
            user_names(s)
        return user_name(user_id) or "—"

    @expose("/<id>/resolve", methods=("POST",))
    def resolve(self, id: str) -> ResponseReturnValue:
        text = request.form.get("resolution", "")[:4000]
        return self.act(
            id,
            lambda s, v: s.tickets.resolve(id, resolution=text, version=v),
            _("The ticket is resolved."),
        )

    @expose("/<id>/reopen", methods=("POST",))
    def reopen(self, id: str) -> ResponseReturnValue:
        text = request.form.get("reason", "")[:4000]
        return self.act(
            id,
            lambda s, v: s.tickets.reopen(id, reason=text, version=v),
            _("The ticket is reopened."),
        )

    @expose("/<id>/record", methods=("POST",))
    def record(self, id: str) -> ResponseReturnValue:
        body = request.form.get("body", "")[:4000]
        kind = request.form.get("kind", "reply")[:20]
        shared = bool(request.form.get("shared"))
        return self.act(
            id,
            lambda s, v: s.tickets.record(id, body=body, kind=kind, shared=shared, version=v),
            _("The record is added to the thread."),
        )

    @expose("/<id>/rate", methods=("POST",))
    def rate(self, id: str) -> ResponseReturnValue:
        score = request.form.get("score", "")[:5]
        comment = request.form.get("comment", "")[:1000]
        return self.act(
            id,
            lambda s, v: s.tickets.rate(id, score=score, comment=comment, version=v),
            _("The customer's satisfaction is recorded."),
        )


# -- SLA规则 --------------------------------------------------------------------------------------
def minutes_text(minutes: int) -> str:
    return duration(timedelta(minutes=minutes))


class SlaPolicyView(BaseView):
    """SLA规则: the policies and their form, for admins and managers."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("sla_policy.write")

    @expose("/", methods=("GET", "POST"))
    def index(self) -> ResponseReturnValue:
        id = request.values.get("id", "").strip()[:60]
        errors: dict[str, list[str]] = {}
        values: dict[str, str] = {}
        version = ""
        if request.method == "POST":
            values = {f: request.form.get(f, "").strip()[:200] for f in POLICY_FIELDS}
            values["active"] = "1" if request.form.get("active") else ""
            fields: dict[str, Any] = {k: v for k, v in values.items() if v and k != "active"}
            fields["active"] = bool(values["active"])
            raw = request.form.get("version", "")
            try:
                with context.work() as s:
                    if id:
                        for blank in ("type", "priority"):  # 不限: any type or priority
                            fields.setdefault(blank, None)
                        v = int(raw) if raw.isdigit() else None
                        s.sla_policies.update(id, version=v, **fields)
                    else:
                        s.sla_policies.create(**fields)
            except crmkit.ValidationError as exc:
                errors = field_messages(exc)
                flash(_("Not saved: correct the marked fields."), "error")
            except crmkit.CRMError as exc:
                flash_refusal(exc, values.get("name", ""))
            else:
                flash(_("SLA policy “%(name)s” saved.", name=values["name"]), "success")
                return redirect(url_for(".index"))
            version = raw
        with context.work() as s:
            policies = s.sla_policies.list(limit=200).items
            editing = next((p for p in policies if p.id == id), None)
        if id and editing is None:
            abort(404)
        if request.method == "GET":
            if editing is not None:
                values = {
                    "name": editing.name,
                    "type": editing.type.value if editing.type else "",
                    "priority": editing.priority.value if editing.priority else "",
                    "response_minutes": str(editing.response_minutes),
                    "resolution_minutes": str(editing.resolution_minutes),
                    "warn_percent": str(editing.warn_percent),
                    "active": "1" if editing.active else "",
                }
                version = str(editing.version)
            else:
                values = {**dict.fromkeys(POLICY_FIELDS, ""), "warn_percent": "80", "active": "1"}
        anyone = _("Any")
        return self.render(
            "crm/service_sla_policies.html",
            rows=[
                {
                    "id": p.id,
                    "name": p.name,
                    "type": enum_label(p.type) if p.type else anyone,
                    "priority": enum_label(p.priority) if p.priority else anyone,
                    "response": minutes_text(p.response_minutes),
                    "resolution": minutes_text(p.resolution_minutes),
                    "warn": percent(Decimal(p.warn_percent) / 100),
                    "active": show(p.active),
                }
                for p in policies
            ],
            id=id,
            version=version,
            values=values,
            errors=errors,
            labels=LABELS,
            types=type_pairs(),
            priorities=priority_pairs(),
        )


# -- 服务统计 ------------------------------------------------------------------------------------
def count_chart(id: str, caption: str, header: str, rows: Sequence[Any], name: Any) -> Chart:
    sizes = widths([float(r.count) for r in rows])
    return Chart(
        id=id,
        caption=caption,
        headers=(header, _("Tickets")),
        bars=tuple(
            Bar(name(r.key), w, (f"{r.count:,}",)) for r, w in zip(rows, sizes, strict=True)
        ),
        note="" if rows else _("No ticket in the period."),
    )


def rate_text(rate: float | None) -> str:
    return percent(Decimal(str(round(rate, 3)))) if rate is not None else "—"


def compliance_chart(rows: Sequence[Any], name: Any) -> Chart:
    return Chart(
        id="chart-service-compliance",
        caption=_("SLA compliance by service type"),
        headers=(
            _("Service type"),
            _("First response met"),
            _("Responses missed"),
            _("Resolution met"),
            _("Resolutions missed"),
        ),
        bars=tuple(
            Bar(
                name(r.key),
                round(100 * (r.resolution_rate or 0.0), 1),
                (
                    rate_text(r.response_rate),
                    f"{r.response_missed:,}",
                    rate_text(r.resolution_rate),
                    f"{r.resolution_missed:,}",
                ),
            )
            for r in rows
        ),
        note="" if rows else _("No ticket in the period."),
    )


def satisfaction_chart(id: str, caption: str, header: str, rows: Sequence[Any], name: Any) -> Chart:
    return Chart(
        id=id,
        caption=caption,
        headers=(header, _("Average score"), _("Rated")),
        bars=tuple(
            Bar(
                name(r.key),
                round(20 * (r.average or 0.0), 1),  # a score's bar: its share of 5
                (f"{r.average:.1f}" if r.average is not None else "—", f"{r.rated:,}"),
            )
            for r in rows
        ),
        note="" if rows else _("No rated ticket in the period."),
    )


def enum_name(kind: Any) -> Callable[[str | None], str]:
    return lambda key: enum_label(kind(key)) if key else _("(not set)")


class ServiceStatisticsView(BaseView):
    """服务统计: the service's figures over a period (days; empty: all time)."""

    def is_accessible(self) -> bool:
        return may_service()

    @expose("/")
    def index(self) -> ResponseReturnValue:
        raw_start = request.args.get("start", "").strip()[:20]
        raw_end = request.args.get("end", "").strip()[:20]
        start, end = typed_day(raw_start), typed_day(raw_end)
        for raw, day in ((raw_start, start), (raw_end, end)):
            if raw and day is None:
                flash(_("“%(day)s” is not a date (e.g. 2026-06-30).", day=raw[:30]), "error")
        charts: list[Chart] = []
        overall: dict[str, str] = {}
        try:
            with context.work() as s:
                charts, overall = self.charts(s, start, end)
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        return self.render(
            "crm/service_statistics.html",
            charts=charts,
            overall=overall,
            start=raw_start,
            end=raw_end,
        )

    def charts(
        self, s: crmkit.Session, start: date | None, end: date | None
    ) -> tuple[list[Chart], dict[str, str]]:
        user_names(s)
        t = s.tickets
        period: dict[str, Any] = {"start": start, "end": end}
        by_customer = t.statistics("customer", **period)
        shown = by_customer[:TOP]
        names = customer_names(s, [r.key for r in shown if r.key])
        total = next(iter(t.compliance(None, start=start, end=end)), None)
        happy = next(iter(t.satisfaction(None, start=start, end=end)), None)
        overall = {
            "response": rate_text(total.response_rate) if total else "—",
            "resolution": rate_text(total.resolution_rate) if total else "—",
            "satisfaction": f"{happy.average:.1f}" if happy and happy.average else "—",
        }
        who = lambda key: user_name(key) or _("(not set)")  # noqa: E731
        team = lambda key: key or _("(not set)")  # noqa: E731
        return [
            count_chart(
                "chart-service-types", _("Tickets by service type"), _("Service type"),
                t.statistics("type", **period), enum_name(TicketType),
            ),
            count_chart(
                "chart-service-channels", _("Tickets by channel"), _("Source channel"),
                t.statistics("channel", **period), enum_name(TicketChannel),
            ),
            count_chart(
                "chart-service-customers", _("Customers by service count"), _("Customer"),
                shown, lambda key: names.get(key or "", "") or "—",
            ),
            compliance_chart(t.compliance("type", **period), enum_name(TicketType)),
            satisfaction_chart(
                "chart-satisfaction-types", _("Satisfaction by service type"),
                _("Service type"), t.satisfaction("type", **period), enum_name(TicketType),
            ),
            satisfaction_chart(
                "chart-satisfaction-teams", _("Satisfaction by service team"),
                _("Service team"), t.satisfaction("team", **period), team,
            ),
            satisfaction_chart(
                "chart-satisfaction-assignees", _("Satisfaction by assignee"), _("Handled by"),
                t.satisfaction("assignee", **period), who,
            ),
        ], overall  # fmt: skip


__all__ = ["ServiceConsoleView", "ServiceStatisticsView", "SlaPolicyView", "TicketView"]
