"""客户服务 · 售后: complaints (投诉单) and repairs (维修单) over ``session.complaints`` and
``session.repairs``.

**投诉单** (``/complaints/``, :class:`ComplaintView`): the complaints the user may see, with
their open corrective actions and a mark when one is past its day; filters: status and
severity. **投诉详情** (``/complaints/<id>``): the fields, the root cause (原因分析), the
corrective actions (整改措施) with their follow-up notes, and the forms the complaint's state
allows: add an action, follow it up, complete it with its result, verify it (核实), close the
complaint with a conclusion (结案; refused while an action is unverified) and reopen it.
**新建投诉单** (``/complaints/new``) for a customer, or ``POST /complaints/from-ticket/<id>``
from a complaint ticket (the 生成投诉单 button on its page).

**维修单** (``/repairs/``, :class:`RepairView`): the repairs with their product, serial number,
technician and charge; filters: status and technician. **维修详情** (``/repairs/<id>``): the
fields and their form while the repair is not done, the parts replaced (维修配件更换: a
product from the catalogue, a quantity, a unit price when not the product's; each wrong
line's error beside its field as ``配件 2 · 数量``), the moves (检测, 开始维修, 完工, 交付,
取消 with a reason) and 生成应收款 once done with a charge. **新建维修单**
(``/repairs/new``), ``POST /repairs/from-ticket/<id>`` (生成维修单 on a repair ticket's page)
and **工单打印** (``/repairs/<id>/print``): the work order (``s.repairs.work_order``) on an
A4 page of its own.

Reading follows crmkit's scope (a salesperson reads their own customers'); every write needs
``complaint.write`` / ``repair.write`` (``*.create`` for a new one; 403 otherwise) and goes
to crmkit as typed: field errors come back beside their fields, other refusals as messages,
nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
from admin.i18n import current_lang, entity_labels, enum_label, local_time, show
from admin.printing import company
from admin.views.customers import customer_names, enum_pairs
from admin.views.follow_up import contact_names, excerpt
from admin.views.sales import customer_choices
from admin.views.service import flash_refusal, worker_pairs
from crmkit import (
    ActionStatus,
    Complaint,
    ComplaintStatus,
    CorrectiveAction,
    Repair,
    RepairStatus,
    Severity,
    display,
)

LIST_SIZE = 200  # rows one list page shows (crmkit's own page limit caps it too)
PRODUCT_CHOICES = 500  # catalogue products offered as parts and as the product repaired
BLANK_PARTS = 3  # empty part lines the editor offers below the parts
MAX_PARTS = 100  # part lines read from one post

COMPLAINT_FIELDS = ("customer_id", "subject", "severity", "description", "owner_id")
REPAIR_FIELDS = (
    "customer_id", "product_id", "serial_number", "fault", "technician_id", "labour", "warranty",
)  # fmt: skip
REPAIR_EDIT_FIELDS = (
    "product_id", "serial_number", "fault", "diagnosis", "technician_id", "labour", "warranty",
)  # fmt: skip

# Fields as people read them: crmkit's words, ours where crmkit has none.
COMPLAINT_LABELS: dict[str, Any] = {
    **entity_labels(
        "complaint",
        "number", "customer_id", "ticket_id", "owner_id", "severity", "subject",
        "description", "root_cause", "status", "conclusion", "due_on", "result", "note",
        "done_at", "created_at",
    ),
    "action": _l("Corrective action"),
    "action_owner": _l("Owner"),
    "open_actions": _l("Open actions"),
    "closed_at": _l("Complaint closed at"),
    "follow_ups": _l("Follow-up notes"),
}  # fmt: skip
REPAIR_LABELS: dict[str, Any] = {
    **entity_labels(
        "repair",
        "number", "customer_id", "contact_id", "ticket_id", "product_id", "serial_number",
        "fault", "diagnosis", "technician_id", "status", "warranty", "parts", "labour",
        "charge", "receivable_id", "done_at", "cancel_reason", "quantity", "unit_price",
    ),
    "amount": _l("Amount"),
    "received_at": _l("Received at"),
    "delivered_at": _l("Delivered at"),
    "parts_total": _l("Parts total"),
}  # fmt: skip


def field_errors(
    exc: crmkit.ValidationError, label: Callable[[str], str] | None = None
) -> dict[str, list[str]]:
    """crmkit's field errors by field path, in the reader's language, the first of each
    path (a customer not chosen is 必填, not also 引用的记录不存在); ``label`` names a path
    in the message (a part line's ``配件 2 · 数量：…``)."""
    sep = "：" if current_lang() == "zh" else ": "
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        if e.field in out:
            continue
        text = e.message() if label is None else f"{label(e.field)}{sep}{e.message()}"
        out.setdefault(e.field, []).append(text)
    return out


def form_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def require(permission: str) -> None:
    """403 unless crmkit lets the user ``permission`` (the page hides what it refuses)."""
    if not context.can(permission):
        abort(403)


def typed(fields: Sequence[str], size: int = 4000) -> dict[str, str]:
    return {f: request.form.get(f, "").strip()[:size] for f in fields}


def product_choices(s: crmkit.Session) -> list[tuple[str, str]]:
    """The catalogue's products on offer, by name (code beside it)."""
    found = s.products.list(limit=PRODUCT_CHOICES).items
    return sorted(
        ((p.id, f"{p.name} ({p.code})" if p.code else p.name) for p in found if p.active),
        key=lambda pair: pair[1],
    )


def with_held(pairs: list[tuple[str, str]], held: str | None, name: str) -> list[tuple[str, str]]:
    """``pairs`` with the value a record holds, when it is not among them (an inactive
    product, a user who left)."""
    if held and held not in dict(pairs):
        return [*pairs, (held, name or held)]
    return pairs


# -- 投诉单 ---------------------------------------------------------------------------------------
@attrs.frozen
class ComplaintRow:
    id: str
    number: str
    customer_id: str
    customer: str
    subject: str
    severity: str
    severity_code: str  # a CSS class only
    status: str
    owner: str
    open_actions: int
    overdue: int


def complaint_rows(s: crmkit.Session, complaints: Sequence[Complaint]) -> list[ComplaintRow]:
    user_names(s)
    names = customer_names(s, [c.customer_id for c in complaints])
    today = s.today()
    return [
        ComplaintRow(
            id=c.id,
            number=c.number or "",
            customer_id=c.customer_id,
            customer=names.get(c.customer_id, ""),
            subject=excerpt(c.subject, 60),
            severity=enum_label(c.severity),
            severity_code=c.severity.value,
            status=enum_label(c.status),
            owner=user_name(c.owner_id),
            open_actions=len(c.open_actions),
            overdue=sum(
                1
                for a in c.actions
                if a.status is ActionStatus.OPEN
                and a.due_on < today
                and c.status is not ComplaintStatus.CLOSED
            ),
        )
        for c in complaints
    ]


def action_row(action: CorrectiveAction, today: Any, live: bool) -> dict[str, Any]:
    return {
        "id": action.id,
        "description": action.description,
        "owner_id": action.owner_id,
        "owner": user_name(action.owner_id),
        "due_on": show(action.due_on),
        "overdue": live and action.status is ActionStatus.OPEN and action.due_on < today,
        "status": enum_label(action.status),
        "status_code": action.status.value,
        "done_at": local_time(action.done_at) if action.done_at else "",
        "result": action.result or "",
        "verified_by": user_name(action.verified_by),
        "follow_ups": [
            {"at": local_time(f.at), "author": user_name(f.author_id), "note": f.note}
            for f in action.follow_ups
        ],
    }


def created(
    make: Callable[[crmkit.Session], Any], failed: str
) -> tuple[Any | None, dict[str, list[str]]]:
    """A new complaint or repair from its form: the record, or None with the field errors
    to show beside the fields (``failed`` flashed) or a refusal flashed."""
    try:
        with context.work() as s:
            return make(s), {}
    except crmkit.ValidationError as exc:
        flash(failed, "error")
        return None, field_errors(exc)
    except crmkit.CRMError as exc:
        flash_refusal(exc)
        return None, {}


def from_ticket(
    ticket_id: str,
    make: Callable[[crmkit.Session, str], Any],
    created: Callable[[str], str],
) -> ResponseReturnValue:
    """生成投诉单 / 生成维修单: ``make`` the document from the ticket and open it; a refusal
    goes back to the ticket's page, an unknown ticket is a 404."""
    tid = ticket_id[:60]
    try:
        with context.work() as s:
            made = make(s, tid)
    except crmkit.NotFound:
        abort(404)
    except crmkit.CRMError as exc:
        flash_refusal(exc)
        return redirect(url_for("tickets.details", id=tid))
    flash(created(made.number), "success")
    return redirect(url_for(".details", id=made.id))


class ComplaintView(BaseView):
    """投诉单: the list, a complaint's page and its forms, a new complaint."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("complaint.read")

    @expose("/")
    def index(self) -> ResponseReturnValue:
        args = request.args
        active = {
            k: args.get(k, "").strip()[:20]
            for k in ("status", "severity")
            if args.get(k, "").strip()
        }
        filters: dict[str, Any] = {}
        for name, values in (("status", ComplaintStatus), ("severity", Severity)):
            if active.get(name) in {v.value for v in values}:
                filters[name] = active[name]
            else:
                active.pop(name, None)
        rows: list[ComplaintRow] = []
        more = False
        try:
            with context.work() as s:
                page = s.complaints.list(limit=LIST_SIZE, **filters)
                more = page.next_after is not None
                rows = complaint_rows(s, page.items)
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        return self.render(
            "crm/complaint_list.html",
            rows=rows,
            more=more,
            active=active,
            labels=COMPLAINT_LABELS,
            statuses=enum_pairs(ComplaintStatus),
            severities=enum_pairs(Severity),
            may_create=context.can("complaint.create"),
        )

    # -- a new complaint --------------------------------------------------------------------
    @expose("/new", methods=("GET", "POST"))
    def new(self) -> ResponseReturnValue:
        require("complaint.create")
        values = {**dict.fromkeys(COMPLAINT_FIELDS, ""), "severity": Severity.MINOR.value}
        values["customer_id"] = request.args.get("customer_id", "").strip()[:60]
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            values = typed(COMPLAINT_FIELDS)
            fields = {k: v for k, v in values.items() if v}
            fields["customer_id"] = values["customer_id"]  # none chosen: crmkit says so
            made, errors = created(
                lambda s: s.complaints.create(**fields),
                _("No complaint was created: correct the marked fields."),
            )
            if made is not None:
                flash(_("Complaint %(number)s created.", number=made.number), "success")
                return redirect(url_for(".details", id=made.id))
        with context.work() as s:
            workers = worker_pairs(s)
        customers = customer_choices(values.get("customer_id", ""))
        return self.render(
            "crm/complaint_new.html",
            values=values,
            errors=errors,
            labels=COMPLAINT_LABELS,
            customers=customers,
            severities=enum_pairs(Severity),
            workers=workers,
        )

    @expose("/from-ticket/<ticket_id>", methods=("POST",))
    def from_ticket(self, ticket_id: str) -> ResponseReturnValue:
        """生成投诉单 from a complaint ticket; a refusal goes back to the ticket's page."""
        require("complaint.create")
        return from_ticket(
            ticket_id,
            lambda s, tid: s.complaints.from_ticket(tid),
            lambda number: _("Complaint %(number)s created.", number=number),
        )

    # -- a complaint ------------------------------------------------------------------------
    @expose("/<id>")
    def details(
        self,
        id: str,
        errors: Mapping[str, list[str]] | None = None,
        values: Mapping[str, str] | None = None,
    ) -> ResponseReturnValue:
        try:
            with context.work() as s:
                complaint = s.complaints.get(id[:60])
                (row,) = complaint_rows(s, [complaint])
                today = s.today()
                workers = worker_pairs(s) if context.can("complaint.write") else []
        except crmkit.NotFound:
            abort(404)
        status = complaint.status
        live = status is not ComplaintStatus.CLOSED
        may_write = context.can("complaint.write")
        me = context.current_user()
        actions = [action_row(a, today, live) for a in complaint.actions]
        for a in actions:
            a["may_follow_up"] = may_write and live and a["status_code"] != "verified"
            a["may_complete"] = may_write and a["status_code"] == "open"
            a["may_verify"] = (
                may_write
                and a["status_code"] == "done"
                and (a["owner_id"] != me.id or me.role is crmkit.Role.ADMIN)
            )
        may = {
            "investigate": may_write and status is ComplaintStatus.OPEN,
            "root_cause": may_write and live,
            "add_action": may_write and live,
            "close": may_write and live,
            "reopen": may_write and not live,
        }
        return self.render(
            "crm/complaint_details.html",
            complaint=complaint,
            row=row,
            description=complaint.description or "",
            ticket=self.ticket_number(complaint.ticket_id),
            created_at=local_time(complaint.created_at),
            closed_at=local_time(complaint.closed_at) if complaint.closed_at else "",
            actions=actions,
            workers=with_held(workers, me.id, me.name),
            me=me.id,
            may=may,
            labels=COMPLAINT_LABELS,
            errors=errors or {},
            values=values or {},
        )

    @staticmethod
    def ticket_number(ticket_id: str | None) -> str:
        if not ticket_id:
            return ""
        try:
            with context.work() as s:
                return s.tickets.get(ticket_id).number or ""
        except crmkit.CRMError:
            return ""

    def act(
        self,
        id: str,
        form: str,
        call: Callable[[crmkit.Session, int | None], Any],
        done: Any,
        values: Mapping[str, str] | None = None,
    ) -> ResponseReturnValue:
        """One write on the complaint ``id`` at the version the page showed. Field errors
        come back beside the fields of ``form`` (the page again, what was typed kept);
        other refusals as a message."""
        require("complaint.write")
        try:
            with context.work() as s:
                call(s, form_version())
        except crmkit.ValidationError as exc:
            errors = {f"{form}.{k}": v for k, v in field_errors(exc).items()}
            flash(_("Not saved: correct the marked fields."), "error")
            typed_in = {f"{form}.{k}": v for k, v in (values or {}).items()}
            return self.details(id, errors=errors, values=typed_in)
        except crmkit.CRMError as exc:
            flash_refusal(exc, request.form.get("name", "")[:60])
        else:
            flash(str(done), "success")
        return redirect(url_for(".details", id=id))

    @expose("/<id>/investigate", methods=("POST",))
    def investigate(self, id: str) -> ResponseReturnValue:
        text = request.form.get("root_cause", "")[:4000]
        return self.act(
            id,
            "cause",
            lambda s, v: s.complaints.investigate(id, root_cause=text, version=v),
            _("The complaint is under investigation."),
            {"root_cause": text},
        )

    @expose("/<id>/root-cause", methods=("POST",))
    def root_cause(self, id: str) -> ResponseReturnValue:
        text = request.form.get("root_cause", "")[:4000]
        return self.act(
            id,
            "cause",
            lambda s, v: s.complaints.set_root_cause(id, text, version=v),
            _("The root cause is recorded."),
            {"root_cause": text},
        )

    @expose("/<id>/action", methods=("POST",))
    def add_action(self, id: str) -> ResponseReturnValue:
        values = typed(("description", "owner_id", "due_on"), 1000)
        return self.act(
            id,
            "action",
            lambda s, v: s.complaints.add_action(id, version=v, **values),
            _("The corrective action is added."),
            values,
        )

    @expose("/<id>/action/<action_id>/follow-up", methods=("POST",))
    def follow_up(self, id: str, action_id: str) -> ResponseReturnValue:
        note = request.form.get("note", "")[:2000]
        return self.act(
            id,
            f"follow-{action_id}",
            lambda s, v: s.complaints.follow_up(id, action_id[:60], note=note, version=v),
            _("The follow-up note is added."),
            {"note": note},
        )

    @expose("/<id>/action/<action_id>/complete", methods=("POST",))
    def complete(self, id: str, action_id: str) -> ResponseReturnValue:
        result = request.form.get("result", "")[:2000]
        return self.act(
            id,
            f"complete-{action_id}",
            lambda s, v: s.complaints.complete_action(id, action_id[:60], result=result, version=v),
            _("The corrective action is done: it awaits verification."),
            {"result": result},
        )

    @expose("/<id>/action/<action_id>/verify", methods=("POST",))
    def verify(self, id: str, action_id: str) -> ResponseReturnValue:
        return self.act(
            id,
            "verify",
            lambda s, v: s.complaints.verify_action(id, action_id[:60], version=v),
            _("The corrective action is verified."),
        )

    @expose("/<id>/close", methods=("POST",))
    def close(self, id: str) -> ResponseReturnValue:
        text = request.form.get("conclusion", "")[:2000]
        return self.act(
            id,
            "close",
            lambda s, v: s.complaints.close(id, conclusion=text, version=v),
            _("The complaint is closed."),
            {"conclusion": text},
        )

    @expose("/<id>/reopen", methods=("POST",))
    def reopen(self, id: str) -> ResponseReturnValue:
        return self.act(
            id,
            "reopen",
            lambda s, v: s.complaints.reopen(id, version=v),
            _("The complaint is reopened."),
        )


# -- 维修单 ---------------------------------------------------------------------------------------
@attrs.frozen
class RepairRow:
    id: str
    number: str
    customer_id: str
    customer: str
    product: str
    serial_number: str
    status: str
    status_code: str  # a CSS class only
    technician: str
    charge: str


def repair_rows(s: crmkit.Session, repairs: Sequence[Repair]) -> list[RepairRow]:
    user_names(s)
    names = customer_names(s, [r.customer_id for r in repairs])
    return [
        RepairRow(
            id=r.id,
            number=r.number or "",
            customer_id=r.customer_id,
            customer=names.get(r.customer_id, ""),
            product=r.product_name or "",
            serial_number=r.serial_number or "",
            status=enum_label(r.status),
            status_code=r.status.value,
            technician=user_name(r.technician_id),
            charge=show(r.charge) if r.charge is not None else "",
        )
        for r in repairs
    ]


_R = RepairStatus
EDITABLE = frozenset({_R.RECEIVED, _R.DIAGNOSING, _R.REPAIRING})
# The moves without a form of their own: the call, the message once done, where they apply.
MOVES: dict[str, tuple[Callable[[crmkit.Session, str, int | None], Any], Any, frozenset[_R]]] = {
    "diagnose": (
        lambda s, id, v: s.repairs.diagnose(id, version=v),
        _l("The repair is being diagnosed."),
        frozenset({_R.RECEIVED}),
    ),
    "finish": (
        lambda s, id, v: s.repairs.finish(id, version=v),
        _l("The repair is done."),
        frozenset({_R.DIAGNOSING, _R.REPAIRING}),
    ),
    "deliver": (
        lambda s, id, v: s.repairs.deliver(id, version=v),
        _l("The product is handed back."),
        frozenset({_R.DONE}),
    ),
}


def part_label(path: str) -> str:
    """A part line's field as people read it: ``配件 2 · 数量``."""
    return display.field_name(path, current_lang(), entity="repair")


class RepairView(BaseView):
    """维修单: the list, a repair's page, its parts and moves, a new repair, the print view."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("repair.read")

    @expose("/")
    def index(self) -> ResponseReturnValue:
        args = request.args
        active = {
            k: args.get(k, "").strip()[:60]
            for k in ("status", "technician_id")
            if args.get(k, "").strip()
        }
        filters: dict[str, Any] = {}
        if active.get("status") in {v.value for v in RepairStatus}:
            filters["status"] = active["status"]
        else:
            active.pop("status", None)
        if active.get("technician_id"):
            filters["technician_id"] = active["technician_id"]
        rows: list[RepairRow] = []
        more = False
        technicians: list[tuple[str, str]] = []
        try:
            with context.work() as s:
                technicians = worker_pairs(s)
                page = s.repairs.list(limit=LIST_SIZE, **filters)
                more = page.next_after is not None
                rows = repair_rows(s, page.items)
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        return self.render(
            "crm/repair_list.html",
            rows=rows,
            more=more,
            active=active,
            labels=REPAIR_LABELS,
            statuses=enum_pairs(RepairStatus),
            technicians=technicians,
            may_create=context.can("repair.create"),
        )

    # -- a new repair -----------------------------------------------------------------------
    @expose("/new", methods=("GET", "POST"))
    def new(self) -> ResponseReturnValue:
        require("repair.create")
        values = dict.fromkeys(REPAIR_FIELDS, "")
        values["customer_id"] = request.args.get("customer_id", "").strip()[:60]
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            values = typed(REPAIR_FIELDS)
            values["warranty"] = "1" if request.form.get("warranty") else ""
            fields: dict[str, Any] = {k: v for k, v in values.items() if v and k != "warranty"}
            fields["warranty"] = bool(values["warranty"])
            fields["customer_id"] = values["customer_id"]  # none chosen: crmkit says so
            made, errors = created(
                lambda s: s.repairs.create(**fields),
                _("No repair order was created: correct the marked fields."),
            )
            if made is not None:
                flash(_("Repair order %(number)s created.", number=made.number), "success")
                return redirect(url_for(".details", id=made.id))
        with context.work() as s:
            technicians = worker_pairs(s)
            products = product_choices(s)
        customers = customer_choices(values.get("customer_id", ""))
        return self.render(
            "crm/repair_new.html",
            values=values,
            errors=errors,
            labels=REPAIR_LABELS,
            customers=customers,
            products=products,
            technicians=technicians,
        )

    @expose("/from-ticket/<ticket_id>", methods=("POST",))
    def from_ticket(self, ticket_id: str) -> ResponseReturnValue:
        """生成维修单 from a repair ticket; a refusal goes back to the ticket's page."""
        require("repair.create")
        return from_ticket(
            ticket_id,
            lambda s, tid: s.repairs.from_ticket(tid),
            lambda number: _("Repair order %(number)s created.", number=number),
        )

    # -- a repair ---------------------------------------------------------------------------
    @expose("/<id>")
    def details(
        self,
        id: str,
        errors: Mapping[str, list[str]] | None = None,
        values: Mapping[str, str] | None = None,
        parts: Sequence[Mapping[str, str]] | None = None,
    ) -> ResponseReturnValue:
        try:
            with context.work() as s:
                repair = s.repairs.get(id[:60])
                (row,) = repair_rows(s, [repair])
                contact = contact_names(s, [repair.contact_id]).get(repair.contact_id or "", "")
                may_write = context.can("repair.write") and repair.status in EDITABLE
                products = product_choices(s) if may_write else []
                technicians = worker_pairs(s) if may_write else []
                ticket = ""
                if repair.ticket_id:
                    try:
                        ticket = s.tickets.get(repair.ticket_id).number or ""
                    except crmkit.CRMError:
                        ticket = ""
        except crmkit.NotFound:
            abort(404)
        status = repair.status
        writer = context.can("repair.write")
        may = {
            "edit": may_write,
            "parts": may_write,
            "start": writer
            and (
                status in {_R.RECEIVED, _R.DIAGNOSING}
                or (status is _R.DONE and repair.receivable_id is None)
            ),
            "cancel": writer and status in EDITABLE,
            "receivable": context.can("repair.raise_receivable")
            and status in {_R.DONE, _R.DELIVERED}
            and repair.receivable_id is None
            and repair.charge is not None
            and repair.charge.amount > 0,
            **{name: writer and status in states for name, (_c, _d, states) in MOVES.items()},
        }
        for p in repair.parts:
            products = with_held(products, p.product_id, p.name)
        products = with_held(products, repair.product_id, repair.product_name or "")
        technicians = with_held(technicians, repair.technician_id, user_name(repair.technician_id))
        if parts is None:
            parts = [
                {"product_id": p.product_id, "quantity": show(p.quantity), "unit_price": ""}
                for p in repair.parts
            ]
            parts = [*parts, *({} for _ in range(BLANK_PARTS))]
        shown_values = values or {
            "product_id": repair.product_id or "",
            "serial_number": repair.serial_number or "",
            "fault": repair.fault,
            "diagnosis": repair.diagnosis or "",
            "technician_id": repair.technician_id or "",
            "labour": str(repair.labour.amount) if repair.labour is not None else "",
            "warranty": "1" if repair.warranty else "",
        }
        move_labels = {
            "diagnose": _("Diagnose"),
            "finish": _("Finish the repair"),
            "deliver": _("Hand it back"),
        }
        return self.render(
            "crm/repair_details.html",
            repair=repair,
            row=row,
            contact=contact,
            ticket=ticket,
            warranty=show(repair.warranty),
            labour=show(repair.labour) if repair.labour is not None else "",
            parts_total=show(repair.parts_total),
            lines=[
                {
                    "name": p.name,
                    "quantity": show(p.quantity),
                    "unit_price": show(p.unit_price),
                    "amount": show(p.amount),
                }
                for p in repair.parts
            ],
            received_at=local_time(repair.received_at),
            done_at=local_time(repair.done_at) if repair.done_at else "",
            delivered_at=local_time(repair.delivered_at) if repair.delivered_at else "",
            products=products,
            technicians=technicians,
            parts=parts,
            values=shown_values,
            errors=errors or {},
            may=may,
            moves=[(name, move_labels[name]) for name in MOVES if may[name]],
            labels=REPAIR_LABELS,
        )

    def act(
        self,
        id: str,
        call: Callable[[crmkit.Session, int | None], Any],
        done: Any,
        permission: str = "repair.write",
    ) -> ResponseReturnValue:
        """One write on the repair ``id`` at the version the page showed; crmkit's
        refusal (field errors with their labels) as a message."""
        require(permission)
        try:
            with context.work() as s:
                call(s, form_version())
        except crmkit.ValidationError as exc:
            for field, texts in field_errors(exc).items():
                sep = "：" if current_lang() == "zh" else ": "
                for text in texts:
                    flash(f"{REPAIR_LABELS.get(field, part_label(field))}{sep}{text}", "error")
        except crmkit.CRMError as exc:
            flash_refusal(exc, request.form.get("name", "")[:60])
        else:
            flash(str(done), "success")
        return redirect(url_for(".details", id=id))

    @expose("/<id>/move/<move_name>", methods=("POST",))
    def move(self, id: str, move_name: str) -> ResponseReturnValue:
        call, done, _states = MOVES.get(move_name) or abort(404)
        return self.act(id, lambda s, v: call(s, id, v), done)

    @expose("/<id>/start", methods=("POST",))
    def start(self, id: str) -> ResponseReturnValue:
        text = request.form.get("diagnosis", "")[:2000]
        return self.act(
            id,
            lambda s, v: s.repairs.start(id, diagnosis=text, version=v),
            _("The repair has started."),
        )

    @expose("/<id>/cancel", methods=("POST",))
    def cancel(self, id: str) -> ResponseReturnValue:
        text = request.form.get("reason", "")[:500]
        return self.act(
            id,
            lambda s, v: s.repairs.cancel(id, reason=text, version=v),
            _("The repair is cancelled."),
        )

    @expose("/<id>/receivable", methods=("POST",))
    def receivable(self, id: str) -> ResponseReturnValue:
        return self.act(
            id,
            lambda s, v: s.repairs.raise_receivable(id, version=v),
            _("The charge is raised as a receivable."),
            permission="repair.raise_receivable",
        )

    @expose("/<id>/edit", methods=("POST",))
    def edit(self, id: str) -> ResponseReturnValue:
        """The repair's fields (product, serial number, fault, diagnosis, technician,
        labour, warranty); field errors beside them, nothing written."""
        require("repair.write")
        values = typed(REPAIR_EDIT_FIELDS)
        values["warranty"] = "1" if request.form.get("warranty") else ""
        changes: dict[str, Any] = {k: (v or None) for k, v in values.items() if k != "warranty"}
        changes["warranty"] = bool(values["warranty"])
        try:
            with context.work() as s:
                s.repairs.update(id[:60], version=form_version(), **changes)
        except crmkit.ValidationError as exc:
            flash(_("Not saved: correct the marked fields."), "error")
            return self.details(id, errors=field_errors(exc), values=values)
        except crmkit.CRMError as exc:
            flash_refusal(exc, request.form.get("name", "")[:60])
        else:
            flash(_("Repair order saved."), "success")
        return redirect(url_for(".details", id=id))

    @expose("/<id>/parts", methods=("POST",))
    def set_parts(self, id: str) -> ResponseReturnValue:
        """维修配件更换: the lines typed (blank ones left out) in place of the parts. A
        wrong line's error is shown beside its field, named by the line's number on the
        page (配件 2 · 数量); nothing is written."""
        require("repair.write")
        form = request.form
        typed_lines = [
            {
                "product_id": form.get(f"part-{n}-product_id", "").strip()[:60],
                "quantity": form.get(f"part-{n}-quantity", "").strip()[:20],
                "unit_price": form.get(f"part-{n}-unit_price", "").strip()[:20],
            }
            for n in range(1, MAX_PARTS + 1)
            if f"part-{n}-product_id" in form
        ]
        sent: list[dict[str, str]] = []
        rows: list[int] = []  # crmkit's line number (from 1) → the page's line number
        for n, line in enumerate(typed_lines, start=1):
            if not any(line.values()):
                continue
            sent.append({k: v for k, v in line.items() if v})
            rows.append(n)
        try:
            with context.work() as s:
                s.repairs.set_parts(id[:60], sent, version=form_version())
        except crmkit.ValidationError as exc:
            errors: dict[str, list[str]] = {}
            for e in exc.errors:
                field = e.field
                bits = field.split(".")
                if len(bits) >= 2 and bits[0] == "parts" and bits[1].isdigit():
                    bits[1] = str(rows[int(bits[1]) - 1])
                    field = ".".join(bits)
                sep = "：" if current_lang() == "zh" else ": "
                errors.setdefault(field, []).append(f"{part_label(field)}{sep}{e.message()}")
            flash(_("The parts are not saved: correct the marked lines."), "error")
            for field, texts in errors.items():
                if not field.startswith("parts."):
                    for text in texts:
                        flash(text, "error")
            return self.details(id, errors=errors, parts=typed_lines)
        except crmkit.CRMError as exc:
            flash_refusal(exc, request.form.get("name", "")[:60])
        else:
            flash(_("The parts are saved."), "success")
        return redirect(url_for(".details", id=id))

    # -- 工单打印 ---------------------------------------------------------------------------
    @expose("/<id>/print")
    def print_view(self, id: str) -> ResponseReturnValue:
        """The work order to print or save as PDF: an A4 page of its own (no menu)."""
        try:
            with context.work() as s:
                order = s.repairs.work_order(id[:60], lang=current_lang())
        except crmkit.NotFound:
            abort(404)
        return self.render(
            "crm/repair_print.html",
            order=order,
            company=company(),
            labels=REPAIR_LABELS,
            back_url=url_for(".details", id=id[:60]),
        )


__all__ = ["ComplaintView", "RepairView"]
