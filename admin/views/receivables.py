"""应收款: receivables through ``session.receivables``, under 财务.

The list (number, customer, order, instalment, amount, due date, balance, status, 账龄 and
salesperson; filters by 账龄 bucket, status and salesperson) is the user's scope as crmkit
reads it: a salesperson sees their own customers' receivables, a manager the team's,
finance and admins all. Above it, ``s.receivables.aging()`` in the same scope: the five
buckets (未到期, 1–30天, 31–60天, 61–90天, 90天以上) and their total, each linked to the list
filtered on it. A bucket filter is the due date's band at today (the CRM's day) on the open
receivables: the same cuts as crmkit's aging, so the list adds up to the summary.

A receivable's page shows what was applied to it, payment by payment (with 冲回 of a live
line, :meth:`admin.views.payments.PaymentView.unallocate`), its 抹零 write-offs and their
reversals (冲回抹零, with a reason and a confirmation), and, for ``receivable.write_off``
holders while it is open, the 抹零 form: the amount (the balance unless changed), the
reason, and the limit crmkit allows (``s.receivables.write_off_limit``). A refused
write-off comes back with crmkit's messages beside the fields; nothing is written.

Receivables are never created, edited or deleted here (nor by crmkit's API): an approved
order's payment plan makes them, and payments and write-offs change their balances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs
from flask import abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import ListFilter, all_pages, user_name, user_names
from admin.forms import field_root, refusal
from admin.history import history_rows
from admin.i18n import entity_labels, enum_label, local_time, money, show
from admin.printing import document_label
from admin.views.customers import enum_pairs
from admin.views.sales import SalesView, customer_name

OPEN = (crmkit.ReceivableStatus.OPEN, crmkit.ReceivableStatus.PARTLY_PAID)
# Days overdue at which each bucket starts and (exclusive) ends: crmkit's cuts.
BANDS: Mapping[crmkit.Bucket, tuple[int | None, int | None]] = {
    crmkit.Bucket.NOT_DUE: (None, 0),
    crmkit.Bucket.DAYS_1_30: (1, 30),
    crmkit.Bucket.DAYS_31_60: (31, 60),
    crmkit.Bucket.DAYS_61_90: (61, 90),
    crmkit.Bucket.OVER_90: (91, None),
}


def bucket_pairs() -> list[tuple[str, Any]]:
    """The 账龄 buckets as filter options, in order."""
    return enum_pairs(crmkit.Bucket)


def receivable_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.ReceivableStatus)


def bucket_of(due: date, today: date) -> crmkit.Bucket:
    """The bucket of a balance due on ``due`` at ``today`` (due today: not due yet)."""
    late = (today - due).days
    for bucket, (first, last) in BANDS.items():
        if (first is None or late >= first) and (last is None or late <= last):
            return bucket
    return crmkit.Bucket.OVER_90  # unreachable: the bands cover every day


def bucket_filters(bucket: crmkit.Bucket, today: date) -> dict[str, Any]:
    """``list()`` keywords of the open receivables in ``bucket`` at ``today``: a band of
    due dates (``due__ge`` / ``due__lt``)."""
    first, last = BANDS[bucket]
    found: dict[str, Any] = {"status__in": [s.value for s in OPEN]}
    if last is not None:  # overdue by at most ``last`` days: due on or after today − last
        found["due__ge"] = today - timedelta(days=last)
    if first is not None:  # overdue by at least ``first`` days: due before today − first + 1
        found["due__lt"] = today - timedelta(days=first - 1)
    return found


def salesperson_pairs() -> list[tuple[str, str]]:
    """The salespeople whose receivables the user may see, for a filter: a salesperson
    themselves, a manager their team, everyone else every user who sells (admins,
    managers, salespeople); crmkit's scope decides what the filter finds anyway."""
    user = context.current_user()
    if user.role is crmkit.Role.SALES:
        return [(user.id, user.name)]
    with context.work() as s:
        if user.role is crmkit.Role.MANAGER:
            users = [user, *s.users.subordinates(user.id)]
        else:
            sellers = {crmkit.Role.SALES, crmkit.Role.MANAGER, crmkit.Role.ADMIN}
            every: list[crmkit.User] = all_pages(lambda after: s.users.list(after=after, limit=200))
            users = [u for u in every if u.role in sellers]
    return [(u.id, u.name) for u in users if u.active]


def order_labels(s: crmkit.Session, ids: Sequence[str | None]) -> dict[str, str]:
    """The numbers of the orders ``ids`` the user may see (cached per request)."""
    cached: dict[str, str] = g.setdefault("order_labels", {})
    wanted = [i for i in dict.fromkeys(ids) if i and i not in cached]
    if wanted and context.can("order.read"):
        for order in s.orders.get_many(wanted):
            cached[order.id] = document_label(order)
    return cached


def order_label(order_id: str | None) -> str:
    labels: dict[str, str] = g.get("order_labels") or {}
    return labels.get(order_id or "", "")


@attrs.frozen
class AgingCell:
    """One bucket of the summary above the list: its label, amount and filtered list."""

    bucket: str
    label: str
    amount: str
    url: str


def aging_cells(aging: Mapping[crmkit.Bucket, crmkit.Money]) -> tuple[list[AgingCell], str]:
    """The five buckets as the summary shows them, and their total."""
    cells = [
        AgingCell(b.value, enum_label(b), money(aging[b]), url_for(".index_view", aging=b.value))
        for b in crmkit.Bucket
    ]
    currency = next(iter(aging.values())).currency if aging else "CNY"
    total = crmkit.Money(sum((m.amount for m in aging.values()), Decimal(0)), currency)
    return cells, money(total.quantize())


@attrs.frozen
class AllocationRow:
    """One line of a payment applied to (or taken back from) a receivable."""

    payment_id: str
    payment: str
    received_on: str
    method: str
    amount: str
    at: str
    by: str
    note: str  # 冲回 and its reason, or 已冲回 for a line taken back later
    allocation_id: str
    live: bool  # applied and not taken back: it may be reversed


def allocation_rows(
    payments: Sequence[crmkit.Payment], receivable_id: str | None = None
) -> list[AllocationRow]:
    """The lines of ``payments`` (on ``receivable_id`` only, when given), oldest first."""
    rows: list[AllocationRow] = []
    for p in payments:
        taken_back = {line.reverses for line in p.allocations if line.reverses}
        posted = p.status is crmkit.PaymentStatus.POSTED
        for line in p.allocations:
            if receivable_id is not None and line.receivable_id != receivable_id:
                continue
            if line.reverses is not None:
                note = _("Reversal: %(reason)s", reason=line.reason or "")
            elif line.id in taken_back:
                note = _("Reversed")
            else:
                note = ""
            rows.append(
                AllocationRow(
                    payment_id=p.id,
                    payment=p.number or "",
                    received_on=show(p.received_on),
                    method=enum_label(p.method),
                    amount=money(line.amount),
                    at=local_time(line.at),
                    by=user_name(line.by),
                    note=note,
                    allocation_id=line.id,
                    live=posted and line.reverses is None and line.id not in taken_back,
                )
            )
    return rows


@attrs.frozen
class WriteOffRow:
    id: str
    number: str
    amount: str
    reason: str
    at: str
    by: str
    note: str
    live: bool  # not a reversal and not reversed: it may be reversed


def write_off_rows(write_offs: Sequence[crmkit.WriteOff]) -> list[WriteOffRow]:
    numbers = {w.id: w.number or "" for w in write_offs}
    taken_back = {w.reverses for w in write_offs if w.reverses}
    rows = []
    for w in write_offs:
        if w.reverses is not None:
            note = _("Reverses %(number)s", number=numbers.get(w.reverses, ""))
        elif w.id in taken_back:
            note = _("Reversed")
        else:
            note = ""
        rows.append(
            WriteOffRow(
                id=w.id,
                number=w.number or "",
                amount=money(w.amount),
                reason=w.reason,
                at=local_time(w.created_at),
                by=user_name(w.created_by),
                note=note,
                live=w.reverses is None and w.id not in taken_back,
            )
        )
    return rows


class ReceivableView(SalesView):
    """应收款: the list with its aging summary, and a receivable's page with its payments,
    write-offs, 抹零 and reversals."""

    service_name = "receivables"
    permission = "receivable"
    statuses = receivable_statuses
    list_fields = (
        "number", "customer_id", "order_id", "instalment", "amount", "due", "balance",
        "status", "aging", "owner_id", "paid", "written_off", "created_at",
    )  # fmt: skip
    default_columns = list_fields[:10]
    detail_fields = (
        "number", "customer_id", "order_id", "instalment", "amount", "due", "paid",
        "written_off", "balance", "status", "aging", "owner_id", "remarks", "created_at",
        "updated_at",
    )  # fmt: skip
    field_labels: ClassVar[Mapping[str, Any]] = {
        "number": _l("Receivable number"),
        "order_id": _l("Sales order"),
        "aging": _l("Aging"),
        "owner_id": _l("Salesperson"),
        **entity_labels("receivable", "amount", "due"),
    }
    list_template = "crm/receivable_list.html"
    details_template = "crm/receivable_details.html"

    # Receivables come from an order's payment plan; payments and write-offs change them.
    @property
    def can_create(self) -> bool:
        return False

    @property
    def can_edit(self) -> bool:
        return False

    @property
    def can_delete(self) -> bool:
        return False

    # -- the list ---------------------------------------------------------------------------
    def list_filters(self) -> list[ListFilter]:
        return [
            ListFilter("aging", _l("Aging"), bucket_pairs),
            *super().list_filters(),
            ListFilter("owner_id", _l("Salesperson"), salesperson_pairs),
        ]

    def service_filters(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        found = {k: v for k, v in filters.items() if k != "aging"}
        raw = filters.get("aging")
        if raw in {b.value for b in crmkit.Bucket}:
            found.update(bucket_filters(crmkit.Bucket(raw), s.today()))
        return found

    def list_context(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        cells, total = aging_cells(s.receivables.aging())
        return {"aging": cells, "aging_total": total, "aging_active": filters.get("aging")}

    def prepare_rows(self, s: crmkit.Session, models: Sequence[Any]) -> None:
        super().prepare_rows(s, models)
        order_labels(s, [m.order_id for m in models])
        g.today = s.today()

    def show_number(self, model: crmkit.Receivable) -> str:
        return model.number or ""

    def record_name(self, model: Any) -> str:
        return str(model.number or "")

    def show_order_id(self, model: crmkit.Receivable) -> str:
        if model.order_id is None:  # a repair's charge: its remarks name the repair
            return model.remarks or ""
        return order_label(model.order_id)

    def show_aging(self, model: crmkit.Receivable) -> str:
        """The bucket of what is still owed (nothing for a closed receivable)."""
        if model.status not in OPEN:
            return ""
        return enum_label(bucket_of(model.due, g.get("today") or context.now().date()))

    # -- the page ---------------------------------------------------------------------------
    @expose("/details/")
    def details_view(self) -> ResponseReturnValue:
        id = request.args.get("id") or abort(404)
        return self.page(id)

    def page(
        self,
        id: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        values: Mapping[str, str] | None = None,
    ) -> ResponseReturnValue:
        """The receivable's page; ``errors`` and ``values``: a refused 抹零, shown again."""
        model = self.get_one(id)
        with context.work() as s:
            self.prepare_rows(s, [model])
            try:
                history = history_rows(s, s.audit.history(id))
            except crmkit.NotFound:
                history = []
            extra = self.details_context(s, model)
        return self.render(
            self.details_template,
            model=model,
            details_columns=[(c, self.label(c)) for c in self.details_columns()],
            get_value=self.display,
            history=history,
            return_url=get_redirect_target() or url_for(".index_view"),
            write_off_errors=errors or {},
            write_off_values=values or {},
            **extra,
        )

    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        """The payments' lines on it, its write-offs, the 抹零 limit and what the user may
        do."""
        receivable: crmkit.Receivable = model
        user_names(s)
        is_open = receivable.status in OPEN
        may_write_off = context.can("receivable.write_off") and is_open
        return {
            "allocations": allocation_rows(s.payments.for_receivable(receivable.id), receivable.id),
            "write_offs": write_off_rows(s.receivables.write_offs(receivable.id)),
            "limit": money(s.receivables.write_off_limit(receivable)) if may_write_off else "",
            "balance": str(receivable.balance.amount),
            "customer": customer_name(receivable.customer_id),
            "may": {
                "write_off": may_write_off,
                "reverse_write_off": context.can("receivable.reverse_write_off"),
                "unallocate": context.can("payment.reverse"),
                "record_payment": context.can("payment.create") and is_open,
                "order": context.can("order.read"),
            },
        }

    # -- 抹零 and its reversal ---------------------------------------------------------------
    @expose("/write-off/", methods=("POST",))
    def write_off(self) -> ResponseReturnValue:
        """回款冲销抹零: close the amount typed (empty: the balance) for the reason given;
        a refusal comes back beside the form's fields, nothing written."""
        id = request.form.get("id", "")
        amount = request.form.get("amount", "").strip()[:30]
        reason = request.form.get("reason", "").strip()[:500]
        name = request.form.get("name", "")[:60]
        try:
            with context.work() as s:
                made = s.receivables.write_off(id, reason=reason, amount=amount or None)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            errors: dict[str, list[str]] = {}
            for e in exc.errors:
                key = field_root(e.field)
                errors.setdefault(key if key in {"amount", "reason"} else "amount", []).append(
                    e.message()
                )
            return self.page(id, errors=errors, values={"amount": amount, "reason": reason})
        except crmkit.CRMError as exc:
            flash(refusal(exc, name), "error")
        else:
            flash(
                _(
                    "%(amount)s written off (%(number)s).",
                    amount=money(made.amount),
                    number=made.number or "",
                ),
                "success",
            )
        return redirect(url_for(".details_view", id=id))

    @expose("/reverse-write-off/", methods=("POST",))
    def reverse_write_off(self) -> ResponseReturnValue:
        """冲回抹零: the write-off undone by an entry of the opposite amount, for a reason."""
        write_off_id = request.form.get("write_off_id", "")
        reason = request.form.get("reason", "").strip()[:500]

        def call(s: crmkit.Session) -> crmkit.WriteOff:
            return s.receivables.reverse_write_off(write_off_id, reason=reason)

        return self.act(call, _("The write-off is reversed: the amount is owed again."))


__all__ = ["ReceivableView", "bucket_filters", "bucket_of", "salesperson_pairs"]
