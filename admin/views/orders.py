"""销售订单: orders through ``session.orders``.

The list (number, customer, total, approval and fulfilment, owner, signing date; filters by
approval, fulfilment and owner) is the user's scope, as crmkit reads it. An order is written
in the builder that quotes use (:class:`~admin.views.builder.DocumentBuilder`: lines with live
totals priced by ``s.orders.check_create`` / ``check_changes``), with the contract's dates in
its header. Its page shows the header, the lines (价税分离), the totals, the cost, its
adjustments and the margin (never printed), the approval trail, the revisions and the
delivery plan with freight, and the moves the user may make:

- 提交审批 / 撤回 (``submit``, ``withdraw``) and, for whoever may decide the pending step,
  同意 / 驳回 (posted to :class:`~admin.views.approvals.ApprovalView`);
- 修订 an approved order (``revise``: a new draft revision, opened in the builder);
- 成本微调 (``adjust_cost``, with a reason; ``order.adjust_cost``);
- 安排交付 (``plan_delivery``: a date and the quantity of each line, what is left by
  default), 登记交付 (``deliver``), 验收 (``sign_off``);
- 取消 (``cancel``, with a reason).

An approved order's page has its 回款计划 too: the receivables ``s.receivables.plan`` made
of it (each linked to its page, with its instalment, due date, amount, paid, balance and
status, and their totals; ``s.receivables.for_order``) or, while it has none and the user holds
``receivable.create``, the form that makes them (:meth:`OrderView.plan_payments`): rows of a
due date and a percentage or an amount, 添加一行 and 一次付清 (which also work without
scripts, by reloading the form), crmkit's errors beside their rows and nothing written.

A pending or approved order is locked: crmkit refuses to edit or delete it, and its message
is shown. The print view is the quote's (:func:`admin.printing.order_document`), without
the margin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import attrs
from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import ListFilter, user_name
from admin.forms import refusal
from admin.i18n import entity_labels, enum_label, local_time, money, percent, show
from admin.printing import PrintDocument, order_document
from admin.views.approvals import awaiting_me, step_label, trail
from admin.views.builder import DocumentBuilder, revision_rows
from admin.views.customers import enum_pairs, owner_pairs
from admin.views.receivables import ReceivableView
from admin.views.sales import SalesView

# Approval states in which crmkit lets an order be edited.
EDITABLE = (
    crmkit.ApprovalStatus.DRAFT,
    crmkit.ApprovalStatus.REJECTED,
    crmkit.ApprovalStatus.WITHDRAWN,
)
ENDED = (crmkit.OrderStatus.CANCELLED, crmkit.OrderStatus.SUPERSEDED)
SIGNABLE = (crmkit.OrderStatus.OPEN, crmkit.OrderStatus.DELIVERED)
PLAN_ROWS = 3  # the empty rows the payment plan form starts with
MAX_PLAN_ROWS = 60  # instalments read from one posted plan (monthly over five years)
# The receivables' columns in the 回款计划 section, labelled as on the receivables' screens.
PLAN_COLUMNS = ("number", "instalment", "due", "amount", "paid", "written_off", "balance", "status")


@attrs.frozen
class PlanRow:
    """One row of the payment plan form: what was typed and crmkit's errors on it."""

    due: str = ""
    amount: str = ""
    due_errors: tuple[str, ...] = ()
    amount_errors: tuple[str, ...] = ()


# Every receivable but a void one is part of the plan: one closed by a 抹零 (written off)
# too. crmkit's ``s.receivables.for_order`` leaves those out (its LIVE statuses lack
# ``written_off``), so the section reads the order's receivables by these statuses.
def blank_rows(rows: Sequence[PlanRow] = (), at_least: int = PLAN_ROWS) -> list[PlanRow]:
    """``rows`` and empty ones after them, up to ``at_least``."""
    return [*rows, *(PlanRow() for _ in range(at_least - len(rows)))]


def posted_plan() -> list[tuple[str, str]]:
    """The ``(due, amount)`` rows of the posted plan form that are not empty, in order."""
    dues, amounts = request.form.getlist("due"), request.form.getlist("amount")
    rows = zip(dues[:MAX_PLAN_ROWS], amounts[:MAX_PLAN_ROWS], strict=False)
    typed = [(due.strip()[:30], amount.strip()[:30]) for due, amount in rows]
    return [(due, amount) for due, amount in typed if due or amount]


def plan_rows(
    typed: Sequence[tuple[str, str]], errors: Sequence[crmkit.FieldError] = ()
) -> tuple[list[PlanRow], list[str]]:
    """The form's rows as typed, each with crmkit's errors on its instalment
    (``instalments[1].due`` …), and the errors on the plan as a whole (the shares not
    making the total, no instalment at all)."""
    on_rows: dict[tuple[int, str], list[str]] = {}
    general: list[str] = []
    for e in errors:
        head, _dot, leaf = e.field.partition(".")
        index = head.removeprefix("instalments[").removesuffix("]")
        if head.startswith("instalments[") and index.isdigit() and int(index) < len(typed):
            on_rows.setdefault((int(index), leaf), []).append(e.message())
        elif e.field == "instalments":
            general.append(e.message())
        else:
            general.append(e.describe())
    rows = [
        PlanRow(
            due,
            amount,
            tuple(on_rows.get((i, "due"), ())),
            # an error on the row without a field of its own is shown under its amount
            tuple(m for (j, leaf), ms in on_rows.items() if j == i and leaf != "due" for m in ms),
        )
        for i, (due, amount) in enumerate(typed)
    ]
    return rows, general


def order_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.OrderStatus)


def approval_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.ApprovalStatus)


class OrderBuilder(DocumentBuilder):
    """The order's builder: the quote's, with the contract's dates in the header."""

    kind = "order"
    header_dates = (
        ("signed_on", ""),
        ("delivery_due", ""),
        ("sign_off_due", ""),
        ("renewal_on", ""),
        ("warranty_until", ""),
    )

    def builder_words(self) -> dict[str, str]:
        return {
            "new": _("New order"),
            "legend": _("Order"),
            "lines": _("Order lines"),
            "saved": _("Order %(number)s saved."),
            "hint": _(
                "Pick a product and its name, unit, price and tax rate come from the "
                "catalogue; type them to sell something else or at another price."
            ),
        }

    def locked(self, document: Any) -> str | None:
        if document.status in ENDED:
            return _("A cancelled or superseded order is not edited.")
        if document.approval is crmkit.ApprovalStatus.PENDING:
            return _("The order is awaiting approval and locked: withdraw it to change it.")
        if document.approval is crmkit.ApprovalStatus.APPROVED:
            return _("An approved order is locked: revise it to change it.")
        return None

    def print_document(self, s: crmkit.Session, document: Any) -> PrintDocument:
        return order_document(s, document, user_name(document.owner_id))


class OrderView(OrderBuilder, SalesView):
    """销售订单: the list, the builder, the page with the approval trail, the delivery plan
    and the moves, and the print view."""

    service_name = "orders"
    permission = "order"
    statuses = order_statuses
    list_fields = (
        "number", "customer_id", "gross", "approval", "status", "owner_id", "signed_on",
        "delivery_due", "net", "tax", "margin", "created_at",
    )  # fmt: skip
    default_columns = list_fields[:7]
    detail_fields = (
        "number", "customer_id", "quote_id", "opportunity_id", "owner_id", "approval",
        "status", "signed_on", "delivery_due", "sign_off_due", "signed_off_on", "renewal_on",
        "warranty_until", "prices_include_tax", "net", "tax", "gross", "cost",
        "cost_adjustment", "margin", "margin_rate", "freight", "submitted_at", "approved_at",
        "cancel_reason", "remarks", "created_at", "updated_at",
    )  # fmt: skip
    field_labels: ClassVar[Mapping[str, Any]] = {
        "number": _l("Order number"),
        **entity_labels("order", "status", "margin"),
    }
    details_template = "crm/order_details.html"

    # -- the list ---------------------------------------------------------------------------
    def list_filters(self) -> list[ListFilter]:
        return [
            ListFilter("approval", self.label("approval"), approval_statuses),
            *super().list_filters(),
            ListFilter("owner_id", self.label("owner_id"), owner_pairs),
        ]

    def show_approval(self, order: crmkit.Order) -> str:
        return enum_label(order.approval)

    def show_margin_rate(self, order: crmkit.Order) -> str:
        return percent(order.margin_rate) if order.margin_rate is not None else ""

    def show_quote_id(self, order: crmkit.Order) -> str:
        if not order.quote_id:
            return ""
        try:
            with context.work() as s:
                return self.show_number(s.quotes.get(order.quote_id, include_deleted=True))
        except crmkit.CRMError:
            return ""

    # -- the page ---------------------------------------------------------------------------
    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        """The approval trail, the pending step if the user may decide it, the revisions,
        the delivery plan, the cost adjustments, the customer's credit and what the user
        may do."""
        order: crmkit.Order = model
        pending = order.approval is crmkit.ApprovalStatus.PENDING
        mine = awaiting_me(s, order.id) if pending else None
        step = mine.current if mine is not None else None
        approvals = s.approvals.for_document(order.id)
        submitter = approvals[-1].submitter_id if pending and approvals else None
        exposure, limit = s.orders.credit(order.customer_id)
        return {
            "trail": trail(s, approvals),
            "decide": (
                {"step_id": mine.step_id, "step": step_label(step)}
                if mine is not None and step is not None
                else None
            ),
            "revisions": revision_rows(s.orders, order),
            "deliveries": self.deliveries(order),
            "left": self.left_to_plan(order),
            "adjustments": [
                {
                    "amount": money(a.amount),
                    "reason": a.reason,
                    "by": user_name(a.by),
                    "at": local_time(a.at),
                }
                for a in order.cost_adjustments
            ],
            "credit": (money(exposure), money(limit)) if limit is not None else None,
            "may": self.moves(order, submitter),
            "today": s.today().isoformat(),
            **self.payment_plan(s, order),
        }

    # -- 回款计划 ------------------------------------------------------------------------------
    def payment_plan(self, s: crmkit.Session, order: crmkit.Order) -> dict[str, Any]:
        """The order's receivables as the 回款计划 section shows them, their totals, and
        whether the plan form is offered (an approved, live order without a plan, to
        ``receivable.create`` holders), with its empty rows."""
        if not context.can("receivable.read"):
            return {"plan": None}
        receivables = s.receivables.for_order(order.id)
        approved = order.approval is crmkit.ApprovalStatus.APPROVED
        live = order.status not in ENDED

        def total(field: str) -> str:
            amounts = [getattr(r, field) for r in receivables]
            summed = sum((m.amount for m in amounts), Decimal(0))
            return money(crmkit.Money(summed, order.gross.currency).quantize())

        return {
            "plan": {
                "rows": [
                    {
                        "id": r.id,
                        "number": r.number or "",
                        "instalment": r.instalment,
                        "due": show(r.due),
                        "amount": money(r.amount),
                        "paid": money(r.paid),
                        "written_off": money(r.written_off),
                        "balance": money(r.balance),
                        "status": enum_label(r.status),
                    }
                    for r in receivables
                ],
                "totals": {f: total(f) for f in ("amount", "paid", "written_off", "balance")},
                "written_off": any(r.written_off.amount for r in receivables),
                "approved": approved,
                "gross": money(order.gross),
                "max_rows": MAX_PLAN_ROWS,
                "may_plan": (
                    not receivables and approved and live and context.can("receivable.create")
                ),
            },
            "plan_form": {"rows": blank_rows(), "errors": []},
            "plan_labels": {f: ReceivableView.label(f) for f in PLAN_COLUMNS},
        }

    @expose("/plan-payments/", methods=("POST",))
    def plan_payments(self) -> ResponseReturnValue:
        """回款计划: the order's receivables from the rows typed (``s.receivables.plan``).
        添加一行 and 一次付清 (without scripts) show the form again, changed, and write
        nothing; a refused plan comes back with crmkit's errors beside its rows."""
        id = request.form.get("id", "")
        typed = posted_plan()
        if request.form.get("add_row"):
            shown = max(len(request.form.getlist("due")), PLAN_ROWS)
            rows = [PlanRow(due, amount) for due, amount in typed]
            return self.plan_form(id, blank_rows(rows, min(shown + 1, MAX_PLAN_ROWS)))
        if request.form.get("pay_once"):
            due = next((due for due, _amount in typed if due), "")
            return self.plan_form(id, blank_rows([PlanRow(due, "100%")]))
        try:
            with context.work() as s:
                made = s.receivables.plan(id, typed)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            rows, general = plan_rows(typed, exc.errors)
            return self.plan_form(id, blank_rows(rows), general)
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:100]), "error")
        else:
            total = sum((r.amount.amount for r in made), Decimal(0))
            currency = made[0].amount.currency if made else "CNY"
            flash(
                _(
                    "The payment plan is made: %(count)s instalment(s), %(total)s in all.",
                    count=len(made),
                    total=money(crmkit.Money(total, currency).quantize()),
                ),
                "success",
            )
        return redirect(url_for(".details_view", id=id))

    def plan_form(
        self, id: str, rows: Sequence[PlanRow], errors: Sequence[str] = ()
    ) -> ResponseReturnValue:
        """The order's page with the plan form holding ``rows`` (and ``errors`` on the
        plan as a whole)."""
        return self.details_page(id, plan_form={"rows": list(rows), "errors": list(errors)})

    def moves(self, order: crmkit.Order, submitter: str | None) -> dict[str, bool]:
        """Which moves the page offers: what crmkit would allow the user now (it checks
        again; a button shown to someone it then refuses would only show its message)."""
        can = context.can
        approval, status = order.approval, order.status
        approved = approval is crmkit.ApprovalStatus.APPROVED
        pending = approval is crmkit.ApprovalStatus.PENDING
        live = status not in ENDED
        is_open = status is crmkit.OrderStatus.OPEN
        return {
            "edit": can("order.write") and live and approval in EDITABLE,
            "submit": can("order.create") and live and approval in EDITABLE,
            "withdraw": pending and submitter == context.current_user().id,
            "revise": can("order.create") and live and approved,
            "adjust_cost": can("order.adjust_cost") and live and not pending,
            "plan": can("order.write") and is_open and not pending,
            "deliver": can("order.deliver") and approved and is_open,
            "sign_off": can("order.deliver") and approved and status in SIGNABLE,
            "cancel": can("order.write")
            and is_open
            and not pending
            and (not approved or can("order.cancel")),
        }

    def deliveries(self, order: crmkit.Order) -> list[dict[str, Any]]:
        """The delivery plan as shown: each delivery's items by line name and quantity."""
        rows = []
        for d in order.deliveries:
            items = "、".join(
                f"{order.lines[i.line].name} × {show(i.quantity.normalize())}"
                for i in d.items
                if i.line < len(order.lines)
            )
            rows.append(
                {
                    "number": d.number,
                    "planned_on": show(d.planned_on),
                    "goods": items,
                    "region": show(d.region),
                    "status": enum_label(d.status),
                    "planned": d.status is crmkit.DeliveryState.PLANNED,
                    "delivered_on": show(d.delivered_on),
                    "weight": show(d.weight.normalize()) if d.weight is not None else "",
                    "freight": show(d.freight),
                    "note": d.note or "",
                }
            )
        return rows

    def left_to_plan(self, order: crmkit.Order) -> list[dict[str, Any]]:
        """Each line with what no delivery plans yet (the plan form's defaults)."""
        planned = order.planned()
        rows = []
        for i, line in enumerate(order.lines):
            left = line.quantity - planned.get(i, Decimal(0))
            if left > 0:
                rows.append(
                    {"line": i, "name": line.name, "unit": line.unit or "",
                     "left": show(left.normalize())}
                )  # fmt: skip
        return rows

    # -- moves ------------------------------------------------------------------------------
    def _text(self, name: str) -> str | None:
        return request.form.get(name, "").strip()[:500] or None

    @expose("/submit/", methods=("POST",))
    def submit(self) -> ResponseReturnValue:
        return self.perform("submit", _("Submitted for approval."))

    @expose("/withdraw/", methods=("POST",))
    def withdraw(self) -> ResponseReturnValue:
        return self.perform(
            "withdraw", _("Withdrawn from approval: change it and submit it again.")
        )

    @expose("/revise/", methods=("POST",))
    def revise(self) -> ResponseReturnValue:
        return self.perform(
            "revise",
            _("A new revision is drafted: change it, then submit it for approval."),
            opened=lambda revision: url_for(".edit_view", id=revision.id),
        )

    @expose("/adjust-cost/", methods=("POST",))
    def adjust_cost(self) -> ResponseReturnValue:
        amount, reason = self._text("amount"), self._text("reason")
        return self.perform("adjust_cost", _("The cost is adjusted."), amount=amount, reason=reason)

    @expose("/plan-delivery/", methods=("POST",))
    def plan_delivery(self) -> ResponseReturnValue:
        """A delivery of the quantities typed per line (none typed: what is left)."""
        items = [
            {"line": int(key.removeprefix("quantity-")), "quantity": value.strip()}
            for key, value in request.form.items()
            if key.startswith("quantity-") and key[9:].isdigit() and value.strip()
        ]
        return self.perform(
            "plan_delivery",
            _("The delivery is planned."),
            planned_on=self._text("planned_on"),
            items=items or None,
            region=self._text("region"),
            note=self._text("note"),
        )

    @expose("/deliver/", methods=("POST",))
    def deliver(self) -> ResponseReturnValue:
        raw = request.form.get("number", "")
        number = int(raw) if raw.isdigit() else 0
        return self.perform(
            "deliver", _("The delivery is recorded."), number=number, on=self._text("on")
        )

    @expose("/sign-off/", methods=("POST",))
    def sign_off(self) -> ResponseReturnValue:
        return self.perform(
            "sign_off", _("Signed off: the order is complete."), on=self._text("on")
        )

    @expose("/cancel/", methods=("POST",))
    def cancel(self) -> ResponseReturnValue:
        return self.perform("cancel", _("The order is cancelled."), reason=self._text("reason"))
