"""对账单 and 回款统计, under 财务: read-only views of the money owed and received, in the
user's scope (a salesperson their own customers', a manager the team's, finance and admins
all), every figure from crmkit.

**对账单** (``/statements/``): a customer (from those the user may see) and a period
(start and end dates; the last twelve months by default) give
``s.receivables.statement(customer_id, start=, end=)``: the balance before the period, each
entry — a receivable raised (debit), a payment or a write-off (credit), or the reversal of
one — with the running balance, and the balance after. “下载 XLSX” is
``s.receivables.export_statement`` (crmkit writes the sheet in the session's language). A
date crmkit refuses shows its message beside the date's input.

**回款统计** (``/collections/``): server-drawn bar charts, as 销售统计 draws them
(:mod:`admin.views.statistics`: a table per chart, a bar per row, the figures beside it) —
账龄 per salesperson (``s.receivables.aging_by("owner")``, the five buckets and the total),
未回款订单 (``s.receivables.unpaid_orders()``: owed and overdue, the most owed first),
and the collections (``s.payments.collections``) of a period by method, category and
month.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import attrs
from flask import abort, flash, g, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.forms import refusal
from admin.i18n import current_lang, enum_label, money, show
from admin.views.customers import customer_names
from admin.views.receivables import order_label, order_labels
from admin.views.sales import customer_choices
from admin.views.statistics import TOP, Bar, Chart, month_days, widths


@attrs.frozen
class StatementRow:
    on: str
    kind: str
    number: str
    text: str
    debit: str
    credit: str
    balance: str


def statement_rows(statement: crmkit.Statement) -> list[StatementRow]:
    """The statement's entries as the table shows them (an empty side: blank)."""
    return [
        StatementRow(
            on=show(line.on),
            kind=enum_label(line.kind),
            number=line.number,
            text=line.text,
            debit=money(line.debit) if line.debit.amount else "",
            credit=money(line.credit) if line.credit.amount else "",
            balance=money(line.balance),
        )
        for line in statement.lines
    ]


def period_labels() -> dict[str, str]:
    """The statement's period inputs, named as its errors name them."""
    return {"start": _("From"), "end": _("To")}


class StatementView(BaseView):
    """对账单: a customer's statement of account for a period, and its XLSX."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("receivable.read")

    def period(self, today: date) -> tuple[str, str]:
        start = request.args.get("start", "").strip()[:20]
        end = request.args.get("end", "").strip()[:20]
        if "start" not in request.args and "end" not in request.args:
            start, end = (today - timedelta(days=365)).isoformat(), today.isoformat()
        return start, end

    @expose("/")
    def index(self) -> ResponseReturnValue:
        customer_id = request.args.get("customer_id", "").strip()[:60]
        statement: crmkit.Statement | None = None
        errors: dict[str, list[str]] = {}
        customers = customer_choices()
        with context.work() as s:
            start, end = self.period(s.today())
            if customer_id and customer_id not in dict(customers):
                name = customer_names(s, [customer_id]).get(customer_id)
                if name is not None:
                    customers.append((customer_id, name))
            if customer_id:
                try:
                    statement = s.receivables.statement(customer_id, start=start, end=end)
                except crmkit.ValidationError as exc:
                    labels = period_labels()
                    sep = ": " if current_lang() == "en" else "："
                    for e in exc.errors:
                        errors.setdefault(e.field, []).append(e.message())
                        flash(f"{labels.get(e.field, e.field)}{sep}{e.message()}", "error")
                except crmkit.NotFound:
                    flash(_("No such customer, or not yours to see."), "error")
                except crmkit.CRMError as exc:
                    flash(refusal(exc), "error")
        return self.render(
            "crm/statement.html",
            customers=customers,
            customer_id=customer_id,
            start=start,
            end=end,
            errors=errors,
            labels=period_labels(),
            statement=statement,
            rows=statement_rows(statement) if statement is not None else [],
            opening=money(statement.opening) if statement is not None else "",
            closing=money(statement.closing) if statement is not None else "",
            download=(
                url_for(".download", customer_id=customer_id, start=start, end=end)
                if statement is not None
                else None
            ),
        )

    @expose("/download/")
    def download(self) -> ResponseReturnValue:
        """The statement as an XLSX sheet, written by crmkit."""
        customer_id = request.args.get("customer_id", "").strip()[:60] or abort(404)
        buffer = io.BytesIO()
        try:
            with context.work() as s:
                start, end = self.period(s.today())
                statement = s.receivables.export_statement(
                    customer_id, buffer, start=start, end=end
                )
        except crmkit.NotFound:
            abort(404)
        except crmkit.ValidationError:
            abort(400)
        buffer.seek(0)
        name = _(
            "Statement %(customer)s %(start)s to %(end)s.xlsx",
            customer=statement.customer_name,
            start=statement.start.isoformat(),
            end=statement.end.isoformat(),
        )
        return send_file(
            buffer,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=name,
        )


# -- 回款统计 ---------------------------------------------------------------------------------
def aging_chart(rows: list[crmkit.AgingRow]) -> Chart:
    """账龄 per salesperson: each bucket and the total, the bar the total."""
    sizes = widths([float(r.total.amount) for r in rows])
    return Chart(
        id="chart-aging",
        caption=_("Aging by salesperson"),
        headers=(
            _("Salesperson"),
            *(enum_label(b) for b in crmkit.Bucket),
            _("Total"),
        ),
        bars=tuple(
            Bar(
                user_name(r.key) or "—",
                w,
                (*(money(r.buckets[b]) for b in crmkit.Bucket), money(r.total)),
            )
            for r, w in zip(rows, sizes, strict=True)
        ),
        note="" if rows else _("Nothing is owed."),
    )


def owner_chart(rows: list[crmkit.OwnerBalance]) -> Chart:
    """未回款计划 per salesperson: open receivables, owed, of which overdue."""
    sizes = widths([float(r.balance.amount) for r in rows])
    return Chart(
        id="chart-owners",
        caption=_("Unpaid plans by salesperson"),
        headers=(_("Salesperson"), _("Receivables"), _("Owed"), _("Overdue")),
        bars=tuple(
            Bar(
                user_name(r.owner_id) or "—",
                w,
                (f"{r.receivables:,}", money(r.balance), money(r.overdue)),
            )
            for r, w in zip(rows, sizes, strict=True)
        ),
        note="" if rows else _("Nothing is owed."),
    )


@attrs.frozen
class UnpaidRow:
    order_id: str
    order: str
    customer: str
    owner: str
    amount: str
    balance: str
    overdue: str
    width: float


def unpaid_rows(s: crmkit.Session, orders: list[crmkit.UnpaidOrder]) -> list[UnpaidRow]:
    shown = orders[:TOP]
    order_labels(s, [o.order_id for o in shown])
    names = customer_names(s, [o.customer_id for o in shown])
    sizes = widths([float(o.balance.amount) for o in shown])
    return [
        UnpaidRow(
            o.order_id,
            order_label(o.order_id),
            names.get(o.customer_id, "—"),
            user_name(o.owner_id),
            money(o.amount),
            money(o.balance),
            money(o.overdue),
            w,
        )
        for o, w in zip(shown, sizes, strict=True)
    ]


def collection_chart(
    id: str, caption: str, header: str, rows: list[crmkit.CollectionRow], name: Any
) -> Chart:
    sizes = widths([float(r.amount.amount) for r in rows])
    return Chart(
        id=id,
        caption=caption,
        headers=(header, _("Payments"), _("Amount")),
        bars=tuple(
            Bar(name(r.key), w, (f"{r.count:,}", money(r.amount)))
            for r, w in zip(rows, sizes, strict=True)
        ),
        note="" if rows else _("No payment in the period."),
    )


class CollectionsView(BaseView):
    """回款统计: aging per salesperson, unpaid orders and collections as charts."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and (
            context.can("receivable.read") or context.can("payment.read")
        )

    @expose("/")
    def index(self) -> ResponseReturnValue:
        from_month = request.args.get("from_month", "").strip()[:20]
        to_month = request.args.get("to_month", "").strip()[:20]
        owed: list[Chart] = []
        unpaid: list[UnpaidRow] = []
        unpaid_total = 0
        period: list[Chart] = []
        try:
            with context.work() as s:
                user_names(s)
                if context.can("receivable.read"):
                    owed = [
                        aging_chart(s.receivables.aging_by("owner")),
                        owner_chart(s.receivables.by_owner()),
                    ]
                    orders = s.receivables.unpaid_orders()
                    unpaid, unpaid_total = unpaid_rows(s, orders), len(orders)
                if context.can("payment.read"):
                    period = self.collections(s, from_month, to_month)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
        return self.render(
            "crm/collections.html",
            owed=owed,
            unpaid=unpaid,
            unpaid_note=(
                _("The largest %(n)s of %(total)s.", n=TOP, total=unpaid_total)
                if unpaid_total > TOP
                else ""
            ),
            period=period,
            from_month=from_month,
            to_month=to_month,
        )

    def collections(self, s: crmkit.Session, from_month: str, to_month: str) -> list[Chart]:
        """回款 of the period by method, category and month (none when a month is not one:
        crmkit's message says why)."""
        start, end = month_days(from_month, last=False), month_days(to_month, last=True)
        wrong = [raw for raw, day in ((from_month, start), (to_month, end)) if isinstance(day, str)]
        if wrong:
            flash(_("“%(month)s” is not a month (e.g. 2027-01).", month=wrong[0]), "error")
            return []
        first = start if isinstance(start, date) else None
        last = end if isinstance(end, date) else None
        payments = s.payments
        return [
            collection_chart(
                "chart-methods",
                _("Collections by method"),
                _("Payment method"),
                payments.collections("method", start=first, end=last),
                lambda key: enum_label(crmkit.PaymentMethod(key)) if key else "—",
            ),
            collection_chart(
                "chart-categories",
                _("Collections by category"),
                _("Category"),
                payments.collections("category", start=first, end=last),
                lambda key: enum_label(crmkit.PaymentCategory(key)) if key else "—",
            ),
            collection_chart(
                "chart-months",
                _("Collections by month"),
                _("Month"),
                payments.collections("month", start=first, end=last),
                lambda key: key or "—",
            ),
        ]


__all__ = ["CollectionsView", "StatementView"]
