"""回款: payments through ``session.payments``, under 财务.

The list (number, customer, amount, date, method, category, unapplied, status,
salesperson; filters by status, method, category and salesperson) is the user's scope.

**登记回款** (``/payments/new/``, for ``payment.create`` holders: finance and admins) is two
steps. The form asks for the customer, amount, date (today unless changed), method,
category, account, reference, remarks and how to apply it: 自动冲销 (crmkit's rule: the
oldest due first), 手工分配 (an amount per open receivable of the customer) or 不冲销 (all
of it kept as a prepayment, 预收). 预览冲销 then checks the payment as crmkit would store it
(``s.payments.check_create``) and shows what it would apply (``s.payments.preview``): each
receivable with its balance, the amount applied and the balance after, and what stays
unapplied; with 手工分配 the amounts are typed there, starting from the automatic ones, and
重新计算 previews them again. Nothing is written until 确认登记 (``s.payments.record``);
every wrong field comes back beside its field (an allocation's beside its row) in the
session's language, with the same summary as a message, and nothing is written.

A payment's page lists its allocation lines, the reversals among them, with 冲回 (one
line: ``s.payments.unallocate``) and 冲回整笔回款 (``s.payments.reverse``: a bounced cheque,
a mistaken entry), each with a required reason and a confirmation; while some of it is
unapplied it previews and offers 冲销预收 (``s.payments.apply``: the oldest due first).
Payments are never edited or deleted: a correction is a reversal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.auth import safe_next
from admin.base import ListFilter, user_name, user_names
from admin.forms import field_root, refusal
from admin.i18n import entity_labels, enum_label, money, show
from admin.views.customers import customer_names, enum_pairs
from admin.views.receivables import (
    OPEN,
    allocation_rows,
    order_label,
    order_labels,
    salesperson_pairs,
)
from admin.views.sales import SalesView, customer_choices

# The payment's own fields on the form, as ``s.payments.record`` takes them.
FIELDS = (
    "customer_id",
    "amount",
    "received_on",
    "method",
    "category",
    "account",
    "reference",
    "remarks",
)
MODES = ("auto", "manual", "none")  # 自动冲销, 手工分配, 不冲销 (预收)
OPEN_ITEMS = 200  # open receivables of one customer offered for a manual allocation


def payment_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.PaymentStatus)


def methods() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.PaymentMethod)


def categories() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.PaymentCategory)


def mode_pairs() -> list[tuple[str, str]]:
    return [
        ("auto", _("Apply automatically, the oldest due first")),
        ("manual", _("Allocate by hand")),
        ("none", _("Do not apply: keep it as a prepayment")),
    ]


@attrs.frozen
class OpenRow:
    """An open receivable of the customer on the preview: what it owes, what the payment
    would apply to it (typed, for a manual allocation) and what it would owe after."""

    id: str
    number: str
    order: str
    instalment: int
    due: str
    balance: str
    typed: str  # the amount in its input (manual allocation)
    applied: str  # the amount the preview applies ("" when none)
    after: str
    errors: tuple[str, ...] = ()


def typed_allocations(form: Mapping[str, str], ids: Sequence[str]) -> list[tuple[str, str]]:
    """``(receivable_id, amount)`` of the manual allocation's non-empty inputs, in the
    order of ``ids`` (the rows shown)."""
    return [
        (rid, form.get(f"alloc-{rid}", "").strip()[:30])
        for rid in ids
        if form.get(f"alloc-{rid}", "").strip()
    ]


class PaymentView(SalesView):
    """回款: the list, 登记回款 with its allocation preview, and a payment's page with its
    lines, reversals and 冲销预收."""

    service_name = "payments"
    permission = "payment"
    statuses = payment_statuses
    list_fields = (
        "number", "customer_id", "amount", "received_on", "method", "category", "unapplied",
        "status", "owner_id", "account", "reference", "created_by", "created_at",
    )  # fmt: skip
    default_columns = list_fields[:9]
    detail_fields = (
        "number", "customer_id", "amount", "received_on", "method", "category", "account",
        "reference", "remarks", "unapplied", "status", "reversed_reason", "owner_id",
        "created_by", "created_at", "updated_at",
    )  # fmt: skip
    field_labels: ClassVar[Mapping[str, Any]] = {
        "number": _l("Payment number"),
        "owner_id": _l("Salesperson"),
        "created_by": _l("Recorded by"),
        **entity_labels("payment", "amount", "category", "status"),
    }
    details_template = "crm/payment_details.html"

    @property
    def can_edit(self) -> bool:
        return False  # corrected by reversing, never edited

    @property
    def can_delete(self) -> bool:
        return False

    # -- the list ---------------------------------------------------------------------------
    def list_filters(self) -> list[ListFilter]:
        return [
            *super().list_filters(),
            ListFilter("method", self.label("method"), methods),
            ListFilter("category", self.label("category"), categories),
            ListFilter("owner_id", _l("Salesperson"), salesperson_pairs),
        ]

    def show_number(self, model: crmkit.Payment) -> str:
        return model.number or ""

    def record_name(self, model: Any) -> str:
        return str(model.number or "")

    def show_created_by(self, model: crmkit.Payment) -> str:
        return user_name(model.created_by)

    # -- the page ---------------------------------------------------------------------------
    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        """The allocation lines (each receivable by number), and, while some of it is
        unapplied, what 冲销预收 would apply."""
        payment: crmkit.Payment = model
        user_names(s)
        ids = list(dict.fromkeys(a.receivable_id for a in payment.allocations))
        receivables = {r.id: r for r in s.receivables.get_many(ids)}
        order_labels(s, [r.order_id for r in receivables.values()])
        posted = payment.status is crmkit.PaymentStatus.POSTED
        may_apply = posted and payment.unapplied.amount > 0 and context.can("payment.write")
        preview: crmkit.AllocationPreview | None = None
        if may_apply:
            preview = s.payments.preview(payment.customer_id, payment.unapplied.amount)
            order_labels(s, [p.receivable.order_id for p in preview.allocations])
        lines = []
        for row in allocation_rows([payment]):
            line = next(a for a in payment.allocations if a.id == row.allocation_id)
            r = receivables.get(line.receivable_id)
            lines.append(
                {
                    "row": row,
                    "receivable_id": line.receivable_id if r is not None else "",
                    "receivable": (r.number or "") if r is not None else "—",
                    "order": order_label(r.order_id) if r is not None else "",
                    "instalment": r.instalment if r is not None else "",
                }
            )
        return {
            "lines": lines,
            "apply_rows": [
                {
                    "id": p.receivable.id,
                    "number": p.receivable.number or "",
                    "order": order_label(p.receivable.order_id),
                    "due": show(p.receivable.due),
                    "balance": money(p.receivable.balance),
                    "applied": money(p.amount),
                    "after": money(p.balance_after),
                }
                for p in (preview.allocations if preview is not None else ())
            ],
            "may": {
                "unallocate": posted and context.can("payment.reverse"),
                "reverse": posted and context.can("payment.reverse"),
                "apply": may_apply and preview is not None and bool(preview.allocations),
            },
        }

    # -- moves on a payment -----------------------------------------------------------------
    def _reason(self) -> str:
        return request.form.get("reason", "").strip()[:500]

    def _next_page(self) -> str:
        """Where a move returns: the page it was made on (a receivable's), else the
        payment's."""
        target = request.form.get("next") or ""
        if target.startswith("/"):
            return safe_next(target)
        return url_for(".details_view", id=request.form.get("id", ""))

    def _move(self, call: Any, done: str) -> ResponseReturnValue:
        name = request.form.get("name", "")[:60]
        try:
            with context.work() as s:
                call(s)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.CRMError as exc:
            flash(refusal(exc, name), "error")
        else:
            flash(done, "success")
        return redirect(self._next_page())

    @expose("/unallocate/", methods=("POST",))
    def unallocate(self) -> ResponseReturnValue:
        """冲回 one allocation line: the receivable owes it again, the payment has it
        unapplied again."""
        id, line = request.form.get("id", ""), request.form.get("allocation_id", "")
        reason = self._reason()
        return self._move(
            lambda s: s.payments.unallocate(id, line, reason=reason),
            _("The allocation is reversed: the receivable owes it again."),
        )

    @expose("/reverse/", methods=("POST",))
    def reverse(self) -> ResponseReturnValue:
        """冲回整笔回款: every live line reversed, the payment marked reversed."""
        id, reason = request.form.get("id", ""), self._reason()
        return self._move(
            lambda s: s.payments.reverse(id, reason=reason),
            _("The payment is reversed: its receivables owe what it paid again."),
        )

    @expose("/apply/", methods=("POST",))
    def apply(self) -> ResponseReturnValue:
        """冲销预收: what is unapplied, applied to the oldest due first."""
        id = request.form.get("id", "")
        return self._move(
            lambda s: s.payments.apply(id),
            _("The prepayment is applied to the customer's open receivables."),
        )

    # -- 登记回款 -----------------------------------------------------------------------------
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> ResponseReturnValue:
        """The form (GET), its preview (``step=preview``), back to the form (``step=back``)
        and the record (``step=confirm``)."""
        if not self.can_create:
            abort(403)
        if request.method == "GET":
            values = self.blank_values()
            if request.args.get("customer_id"):
                values["customer_id"] = request.args["customer_id"][:60]
            return self.record_form(values)
        values = self.posted_values()
        step = request.form.get("step", "preview")
        if step == "back":
            return self.record_form(values)
        if step == "confirm":
            return self.confirm(values)
        return self.preview(values)

    def blank_values(self) -> dict[str, str]:
        with context.work() as s:
            today = s.today().isoformat()
        values = dict.fromkeys(FIELDS, "")
        values.update(received_on=today, method="bank_transfer", category="sales", mode="auto")
        return values

    def posted_values(self) -> dict[str, str]:
        form = request.form
        values = {f: form.get(f, "").strip()[:500] for f in FIELDS}
        mode = form.get("mode", "auto")
        values["mode"] = mode if mode in MODES else "auto"
        return values

    def allocate(self, values: Mapping[str, str], ids: Sequence[str]) -> Any:
        """``allocate=`` of ``s.payments.record`` / ``preview`` for the form's mode."""
        if values["mode"] == "none":
            return None
        if values["mode"] == "manual":
            return typed_allocations(request.form, ids)
        return crmkit.AUTO_ALLOCATE

    def payment_fields(self, values: Mapping[str, str]) -> dict[str, Any]:
        return {f: values[f] for f in FIELDS if values[f]}

    def preview(
        self, values: dict[str, str], errors: Sequence[crmkit.FieldError] = ()
    ) -> ResponseReturnValue:
        """Check the payment (``check_create``) and show what it would apply
        (``preview``); nothing is written. A wrong field sends the user back to the form; a
        wrong manual allocation stays on the preview, beside its row."""
        found: list[crmkit.FieldError] = list(errors)

        def add(more: Sequence[crmkit.FieldError]) -> None:
            found.extend(e for e in more if e not in found)

        with context.work() as s:
            open_items = self.open_items(s, values["customer_id"])
            ids = [r.id for r in open_items]
            checked: crmkit.Payment | None = None
            try:
                checked = s.payments.check_create(**self.payment_fields(values))
            except crmkit.ValidationError as exc:
                add(exc.errors)
            except crmkit.CRMError as exc:
                flash(refusal(exc), "error")
                return self.record_form(values)
            first_manual = values["mode"] == "manual" and "manual_shown" not in request.form
            allocate = crmkit.AUTO_ALLOCATE if first_manual else self.allocate(values, ids)
            shown: crmkit.AllocationPreview | None = None
            if checked is not None:
                try:
                    shown = s.payments.preview(
                        checked.customer_id, checked.amount.amount, allocate=allocate or []
                    )
                except crmkit.ValidationError as exc:
                    add(exc.errors)
            planned = {p.receivable.id: p for p in (shown.allocations if shown else ())}
            if first_manual:
                typed = {rid: str(p.amount.amount) for rid, p in planned.items()}
            else:
                typed = dict(typed_allocations(request.form, ids))
            line_errors = self.line_errors(found, ids, typed)
            # By hand: every open receivable, an input each; otherwise what crmkit applies.
            if values["mode"] == "manual":
                listed = open_items
            else:
                listed = [p.receivable for p in (shown.allocations if shown else ())]
            order_labels(s, [r.order_id for r in listed])
            rows = [
                OpenRow(
                    id=r.id,
                    number=r.number or "",
                    order=order_label(r.order_id),
                    instalment=r.instalment,
                    due=show(r.due),
                    balance=money(r.balance),
                    typed=typed.get(r.id, ""),
                    applied=money(planned[r.id].amount) if r.id in planned else "",
                    after=money(planned[r.id].balance_after if r.id in planned else r.balance),
                    errors=tuple(line_errors.get(r.id, ())),
                )
                for r in listed
            ]
            customer = customer_names(s, [values["customer_id"]]).get(values["customer_id"], "")
        if found:
            flash(crmkit.ValidationError(found, entity="payment").message(), "error")
        on_fields = [e for e in found if not e.field.startswith("allocations")]
        if checked is None or on_fields or (found and values["mode"] != "manual"):
            return self.record_form(values, found)
        return self.step(
            "preview",
            values,
            summary={
                "customer": customer,
                "amount": money(checked.amount),
                "received_on": show(checked.received_on),
                "method": enum_label(checked.method),
                "category": enum_label(checked.category),
                "account": checked.account or "",
                "reference": checked.reference or "",
                "remarks": checked.remarks or "",
                "mode": dict(mode_pairs())[values["mode"]],
            },
            rows=rows,
            unapplied=money(shown.unapplied.quantize()) if shown else "",
            allocation_errors=[e.describe() for e in found if e.field == "allocations"],
        )

    def line_errors(
        self,
        found: Sequence[crmkit.FieldError],
        ids: Sequence[str],
        typed: Mapping[str, str],
    ) -> dict[str, list[str]]:
        """Errors of ``allocations[i]…`` on the row of the i-th non-empty input."""
        order = [rid for rid in ids if typed.get(rid)]
        out: dict[str, list[str]] = {}
        for e in found:
            if not e.field.startswith("allocations["):
                continue
            index = e.field[len("allocations[") :].split("]", 1)[0]
            if index.isdigit() and int(index) < len(order):
                out.setdefault(order[int(index)], []).append(e.message())
        return out

    def open_items(self, s: crmkit.Session, customer_id: str) -> list[crmkit.Receivable]:
        """The customer's open receivables, the oldest due first (none without a customer
        the user may see)."""
        if not customer_id:
            return []
        try:
            page = s.receivables.list(
                customer_id=customer_id, status__in=[o.value for o in OPEN], limit=OPEN_ITEMS
            )
        except crmkit.CRMError:
            return []
        return sorted(page.items, key=lambda r: (r.due, r.instalment, r.number or ""))

    def confirm(self, values: dict[str, str]) -> ResponseReturnValue:
        """登记回款: the payment stored and applied as previewed (crmkit checks it all
        again: balances may have changed since)."""
        try:
            with context.work() as s:
                ids = [r.id for r in self.open_items(s, values["customer_id"])]
                made = s.payments.record(
                    allocate=self.allocate(values, ids), **self.payment_fields(values)
                )
        except crmkit.ValidationError as exc:
            return self.preview(values, exc.errors)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
            return self.preview(values)
        applied = made.amount - made.unapplied
        flash(
            _(
                "Payment %(number)s recorded: %(applied)s applied, %(unapplied)s unapplied.",
                number=made.number or "",
                applied=money(applied),
                unapplied=money(made.unapplied),
            ),
            "success",
        )
        return redirect(url_for(".details_view", id=made.id))

    def form_choices(self, values: Mapping[str, str]) -> dict[str, Any]:
        customers = customer_choices(values.get("customer_id", ""))
        return {
            "customers": customers,
            "methods": [(v, str(label)) for v, label in methods()],
            "categories": [(v, str(label)) for v, label in categories()],
            "modes": mode_pairs(),
        }

    def record_form(
        self, values: Mapping[str, str], found: Sequence[crmkit.FieldError] = ()
    ) -> ResponseReturnValue:
        """The form, each of crmkit's errors beside its field (an allocation's, which has
        no field here, in the message above)."""
        errors: dict[str, list[str]] = {}
        for e in found:
            key = field_root(e.field)
            if key in FIELDS:
                errors.setdefault(key, []).append(e.message())
        return self.step("form", values, errors=errors)

    def step(self, step: str, values: Mapping[str, str], **more: Any) -> ResponseReturnValue:
        more.setdefault("errors", {})
        return self.render(
            "crm/payment_new.html",
            step=step,
            values=values,
            labels={f: self.label(f) for f in FIELDS},
            **self.form_choices(values),
            **more,
        )


__all__ = ["PaymentView"]
