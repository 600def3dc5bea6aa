"""Receivables on the kernel: ``session.receivables`` (应收款).

:meth:`ReceivableService.plan` turns an approved order's total into receivables, one per
instalment of a payment plan (回款计划), by :func:`crmkit.domain.receivables.plan`'s rule
(every share but the last rounded down to the fen, the last absorbing the rounding), so
that they sum exactly to the order's 价税合计. Receivables are never created, edited or
deleted one by one: payments (``session.payments``) and 抹零 write-offs
(:meth:`ReceivableService.write_off`) change their balances, and a correction is a new
entry (:meth:`ReceivableService.reverse_write_off`).

The reports are summed by the store (``Repository.aggregate``): :meth:`~ReceivableService.aging`
(账龄 buckets by days overdue, in total, per customer or per salesperson),
:meth:`~ReceivableService.balance` (a customer's debt and available credit),
:meth:`~ReceivableService.unpaid_orders` and :meth:`~ReceivableService.by_owner`;
:meth:`~ReceivableService.statement` is a customer's statement of account (对账单), which
:meth:`~ReceivableService.export_statement` writes as XLSX.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Final
from zoneinfo import ZoneInfo

from crmkit.domain import fields as f
from crmkit.domain.approvals import ApprovalStatus
from crmkit.domain.common import is_blank, parse_period
from crmkit.domain.customer import Settlement
from crmkit.domain.errors import FieldErrors
from crmkit.domain.fields import InputField
from crmkit.domain.lines import CURRENCY
from crmkit.domain.order import OrderStatus
from crmkit.domain.payment import WRITE_OFF_FIELDS, PaymentStatus, WriteOff
from crmkit.domain.receivable import (
    LIVE,
    OPEN_STATUSES,
    RECEIVABLE_FIELDS,
    AgingRow,
    CustomerBalance,
    OwnerBalance,
    Receivable,
    Statement,
    StatementEntry,
    StatementLine,
    UnpaidOrder,
    status_of,
)
from crmkit.domain.receivables import Bucket, plan, write_off_limit
from crmkit.domain.settings import write_off_amount
from crmkit.domain.values import Money
from crmkit.storage.catalog import ORDERS, PAYMENTS, RECEIVABLES, WRITE_OFFS
from crmkit.storage.ports import EVERYTHING, EntityQuery, Page, Repository
from crmkit.storage.spec import Filter, Group, Measure, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.exports import write_statement
from crmkit.workflows.jobs import JobHandler

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


_PLAN_ONLY = (
    "receivables come from an order's payment plan",
    "应收款由订单的回款计划生成",
)


class WriteOffService(EntityService[WriteOff]):
    """抹零 write-offs, made and reversed through ``session.receivables`` only
    (``receivable.write_off``, ``receivable.reverse_write_off``); read them with
    :meth:`ReceivableService.write_offs`."""

    spec = WRITE_OFFS
    fields: ClassVar[tuple[InputField, ...]] = WRITE_OFF_FIELDS

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: WriteOff | None = None,  # noqa: ARG002
    ) -> dict[str, Any]:
        receivable = self._s._uow.repo(RECEIVABLES).get(data["receivable_id"])
        assert receivable is not None  # the caller read it
        return {**data, "customer_id": receivable.customer_id, "owner_id": receivable.owner_id}

    def create(self, **fields: Any) -> WriteOff:  # noqa: ARG002
        """Write-offs come from :meth:`ReceivableService.write_off`."""
        raise self.refusal("create", "新建", _BY_WRITE_OFF)

    def update(self, id: str, version: int | None = None, **changes: Any) -> WriteOff:  # noqa: ARG002
        """A write-off is corrected by reversing it, never edited."""
        raise self.refusal("edit", "修改", _BY_WRITE_OFF)

    def delete(self, id: str, version: int | None = None) -> None:  # noqa: ARG002
        """Financial records are kept; a correction is a new entry."""
        raise self.refusal("delete", "删除", _BY_WRITE_OFF)


_BY_WRITE_OFF = (
    "write-offs are made and reversed from their receivable",
    "抹零须在应收款上登记或冲回",
)
# 账龄 buckets by the band of the due date between the cuts of :func:`_aging_cuts`.
_BANDS: Final = (Bucket.OVER_90, Bucket.DAYS_61_90, Bucket.DAYS_31_60, Bucket.DAYS_1_30)
_BANDS_ALL: Final = (*_BANDS, Bucket.NOT_DUE)
_AGING_BY: Final = {"customer": "customer_id", "owner": "owner_id", "order": "order_id"}


def _aging_cuts(as_of: date) -> tuple[date, ...]:
    """Due dates before the first cut are over 90 days late, … from the last on not due."""
    return tuple(as_of - timedelta(days=d) for d in (90, 60, 30, 0))


class ReceivableService(EntityService[Receivable]):
    """``session.receivables``: what customers owe, by instalment.

    Permissions: ``receivable.read`` (everyone, in the customer's scope),
    ``receivable.create`` (making a plan: sales staff and finance),
    ``receivable.write_off`` and ``receivable.reverse_write_off`` (finance and admins).
    """

    spec = RECEIVABLES
    fields: ClassVar[tuple[InputField, ...]] = RECEIVABLE_FIELDS

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._write_offs = WriteOffService(session)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Receivable | None = None,
    ) -> dict[str, Any]:
        out = dict(data)
        if current is None:
            out["balance"] = data["amount"]
        return out

    def create(self, **fields: Any) -> Receivable:  # noqa: ARG002
        """Receivables come from :meth:`plan`."""
        raise self.refusal("create", "新建", _PLAN_ONLY)

    def update(self, id: str, version: int | None = None, **changes: Any) -> Receivable:  # noqa: ARG002
        """Balances change through payments and write-offs, never by hand."""
        raise self.refusal("edit", "修改", _PLAN_ONLY)

    def delete(self, id: str, version: int | None = None) -> None:  # noqa: ARG002
        """Financial records are kept; a correction is a new entry."""
        raise self.refusal("delete", "删除", _PLAN_ONLY)

    def plan(self, order_id: str, parts: Sequence[tuple[Any, Any]]) -> builtins.list[Receivable]:
        """回款计划转应收款: one receivable per instalment of ``parts`` (``(due, "30%")`` or
        ``(due, "35000.00")``) of the approved order ``order_id``'s total, owned by its
        salesperson.

        Raises:
            WorkflowError: the order is not approved, is cancelled or superseded, or has a
                plan already.
            ValidationError: a wrong part (``instalments[1].due`` …), parts that do not
                make the total.
            NotFound: the actor may not see the order.
        """
        s = self._s
        self.require("create")
        order = s.orders.get(order_id)
        if order.approval is not ApprovalStatus.APPROVED or order.status in {
            OrderStatus.CANCELLED,
            OrderStatus.SUPERSEDED,
        }:
            raise self.refusal(
                "plan", "生成回款计划", ("the order is not approved", "订单尚未审批通过")
            )
        if self.for_order(order_id):
            raise self.refusal(
                "plan", "生成回款计划", ("the order has a plan already", "该订单已有回款计划")
            )
        made = []
        for number, instalment in enumerate(plan(order.gross, parts), start=1):
            receivable = self.insert(
                {
                    "customer_id": order.customer_id,
                    "order_id": order.id,
                    "owner_id": order.owner_id,
                    "instalment": number,
                    "amount": instalment.amount,
                    "due": instalment.due,
                }
            )
            self._schedule_overdue(receivable, receivable.due + timedelta(days=1))
            made.append(receivable)
        return made

    def for_order(self, order_id: str) -> builtins.list[Receivable]:
        """The order's live receivables, by instalment."""
        self.require("read")
        query = EntityQuery(
            filters=(Filter("order_id", Op.EQ, order_id), Filter("status", Op.IN, tuple(LIVE)))
        )
        found = self.every(query)
        return sorted(found, key=lambda r: r.instalment)

    def _schedule_overdue(self, receivable: Receivable, day: date) -> None:
        """An overdue reminder at 09:00 (the CRM's time zone) on ``day``."""
        s = self._s
        zone = ZoneInfo(s.runtime.settings.timezone)
        at = datetime.combine(day, time(9, 0), tzinfo=zone)
        key = f"{OVERDUE_JOB}:{receivable.id}:{day.isoformat()}"
        s.schedule(OVERDUE_JOB, max(at, s.now()), {"id": receivable.id}, key=key)

    # -- balances: what payments and write-offs change --------------------------------------
    def take(
        self,
        receivable: Receivable,
        *,
        paid: Decimal = Decimal(0),
        written_off: Decimal = Decimal(0),
    ) -> Receivable:
        """``receivable`` (as read) with ``paid`` and ``written_off`` more taken off its
        balance (less, when negative: a reversal), stored by compare-and-set on its
        version, so that a concurrent change to it fails cleanly (``ConcurrencyError``).
        For ``session.payments`` and :meth:`write_off`; callers check the amounts first.
        """
        currency = receivable.amount.currency
        new_paid = Money(receivable.paid.amount + paid, currency)
        new_written = Money(receivable.written_off.amount + written_off, currency)
        balance = receivable.amount.amount - new_paid.amount - new_written.amount
        if not 0 <= balance <= receivable.amount.amount or new_paid.amount < 0:
            raise AssertionError(f"{receivable.number}: a balance of {balance} is not owed")
        updated = self._stamped(
            receivable,
            self._s.now(),
            paid=new_paid,
            written_off=new_written,
            balance=Money(balance, currency),
            status=status_of(receivable.amount, new_paid, new_written),
        )
        self.save_change(receivable, updated)
        if updated.status in OPEN_STATUSES and receivable.status not in OPEN_STATUSES:
            # owed again (a reversal): its overdue reminders, which stopped when it closed,
            # start again from tomorrow if it is past due
            day = max(receivable.due, self._s.today()) + timedelta(days=1)
            self._schedule_overdue(updated, day)
        return updated  # type: ignore[no-any-return]

    def open_items(
        self, customer_id: str, *, after: str | None = None, limit: int = 50
    ) -> Page[Receivable]:
        """A page of the customer's open receivables, the oldest due first (in any scope:
        for allocating a payment)."""
        query = EntityQuery(
            filters=(
                Filter("customer_id", Op.EQ, customer_id),
                Filter("status", Op.IN, OPEN_STATUSES),
            ),
            order_by="due",
        )
        return self.repo.list(query, EVERYTHING, after=after, limit=limit)

    # -- 抹零 ----------------------------------------------------------------------------
    def write_off_limit(self, receivable: Receivable) -> Money:
        """The largest remainder of ``receivable`` a 抹零 may close, by the CRM's
        ``write_off_limit`` and ``write_off_percent`` settings."""
        settings = self._s.runtime.settings
        amount = write_off_amount(settings.write_off_limit)
        percent = settings.write_off_percent
        rate = Decimal(percent) / 100 if percent > 0 else None
        limit = Money(amount, receivable.amount.currency) if amount is not None else None
        return write_off_limit(receivable.amount, limit=limit, rate=rate)

    def write_off(self, receivable_id: str, *, reason: str, amount: Any = None) -> WriteOff:
        """回款冲销抹零: close ``amount`` (default: all that is left) of an open receivable's
        balance, within the write-off limit, for ``reason``.

        Raises:
            ValidationError: a receivable not open, an amount that is not positive, above
                the balance or above the limit, no reason; nothing is written.
            PermissionDenied: not ``receivable.write_off``.
            NotFound: the actor may not see the receivable.
        """
        self.require("write_off")
        receivable = self.get(receivable_id)
        errors = FieldErrors()
        if receivable.status not in OPEN_STATUSES:
            errors.add("receivable_id", "receivable.not_open", receivable.number)
        value = receivable.balance if is_blank(amount) else _AMOUNT.parse(amount, errors, "amount")
        if value is not None and receivable.status in OPEN_STATUSES:
            limit = self.write_off_limit(receivable)
            if value.amount <= 0:
                errors.add("amount", "number.positive", str(value.amount))
            elif value.amount > receivable.balance.amount:
                errors.add(
                    "amount",
                    "receivable.above_balance",
                    str(value.amount),
                    balance=str(receivable.balance.amount),
                )
            elif value.amount > limit.amount:
                errors.add(
                    "amount",
                    "receivable.write_off_limit",
                    str(value.amount),
                    limit=str(limit.amount),
                )
        if is_blank(reason):
            errors.add("reason", "required", None)
        errors.raise_if_any("write_off")
        assert value is not None
        made = self._write_offs.insert(
            {"receivable_id": receivable.id, "amount": value, "reason": reason}
        )
        self.take(receivable, written_off=value.amount)
        return made

    def reverse_write_off(self, write_off_id: str, *, reason: str) -> WriteOff:
        """冲回抹零: undo a write-off with a new entry of the opposite amount, for
        ``reason``; the receivable owes it again.

        Raises:
            WorkflowError: a reversal, or a write-off reversed already.
            ValidationError: no reason.
            PermissionDenied: not ``receivable.reverse_write_off``.
            NotFound: the actor may not see the write-off.
        """
        self.require("reverse_write_off")
        original = self._write_offs.get(write_off_id)
        if original.reverses is not None:
            raise self._write_offs.refusal(
                "reverse", "冲回", ("it is a reversal itself", "该记录本身是冲回")
            )
        reversal = EntityQuery(filters=(Filter("reverses", Op.EQ, original.id),))
        if self._write_offs.repo.count(reversal, EVERYTHING, cap=1):
            raise self._write_offs.refusal("reverse", "冲回", ("reversed already", "已冲回"))
        if is_blank(reason):
            errors = FieldErrors()
            errors.add("reason", "required", None)
            errors.raise_if_any("write_off")
        receivable = self.repo.get(original.receivable_id)
        assert receivable is not None
        made = self._write_offs.insert(
            {
                "receivable_id": receivable.id,
                "amount": Money(-original.amount.amount, original.amount.currency),
                "reason": reason,
                "reverses": original.id,
            }
        )
        self.take(receivable, written_off=-original.amount.amount)
        return made

    def write_offs(self, receivable_id: str) -> builtins.list[WriteOff]:
        """A receivable's write-offs and their reversals, oldest first."""
        self.get(receivable_id)  # in scope
        found = self._write_offs.every(
            EntityQuery(filters=(Filter("receivable_id", Op.EQ, receivable_id),))
        )
        return sorted(found, key=lambda w: (w.created_at, w.number or ""))

    # -- reports --------------------------------------------------------------------------
    def aging(self, *, as_of: date | None = None, currency: str = CURRENCY) -> dict[Bucket, Money]:
        """账龄: the open balances the actor may see, by days overdue at ``as_of`` (default
        today): not due, 1–30, 31–60, 61–90, over 90. Summed by the store."""
        rows = self.aging_by(None, as_of=as_of, currency=currency)
        return dict(rows[0].buckets)

    def aging_by(
        self, by: str | None, *, as_of: date | None = None, currency: str = CURRENCY
    ) -> builtins.list[AgingRow]:
        """账龄 per ``"customer"``, ``"owner"`` (salesperson) or ``"order"`` (rows with a
        balance, largest total first), or one total row for None."""
        self.require("read")
        when = as_of or self._s.today()
        groups = [Group(_AGING_BY[by])] if by is not None else []
        rows = self.repo.aggregate(
            EntityQuery(filters=(Filter("status", Op.IN, OPEN_STATUSES),)),
            self._s.actor.scope,
            by=(*groups, Group.bands("due", _aging_cuts(when)), Group.currency("balance")),
            measures=(Measure.sum("balance"),),
        )
        sums: dict[str | None, dict[Bucket, Decimal]] = {}
        if by is None:
            sums[None] = {}
        for row in rows:
            *group, band, money = row.key
            if money != currency:
                continue
            bucket = _BANDS_ALL[band]
            found = sums.setdefault(group[0] if group else None, {})
            found[bucket] = found.get(bucket, Decimal(0)) + row.values[0]
        out = []
        for key, buckets in sums.items():
            filled = {b: Money(buckets.get(b, Decimal(0)), currency).quantize() for b in Bucket}
            total = Money(sum(buckets.values(), Decimal(0)), currency).quantize()
            out.append(AgingRow(key, filled, total))
        out.sort(key=lambda r: (-r.total.amount, r.key or ""))
        return out

    def balance(self, customer_id: str) -> CustomerBalance:
        """A customer's debt (客户欠款) and available credit: open receivables less
        unapplied payments, and their credit limit less that and the orders not yet
        planned. The order approval's credit check reads the same figures.

        Raises:
            NotFound: the actor may not see the customer.
        """
        customer = self._s.customers.get(customer_id)
        return self.credit_of(customer.id, customer.settlement, customer.credit_limit)

    def credit_of(
        self,
        customer_id: str,
        settlement: Settlement | None,
        limit: Money | None,
        *,
        skip: Sequence[str] = (),
    ) -> CustomerBalance:
        """:meth:`balance` for a customer already read (in any scope), leaving the orders
        in ``skip`` out (an order being submitted counts itself)."""
        owed = self._sum(
            self.repo, (Filter("status", Op.IN, OPEN_STATUSES),), customer_id, "balance"
        )
        payments = self._s._uow.repo(PAYMENTS)
        unapplied = self._sum(
            payments, (Filter("status", Op.EQ, PaymentStatus.POSTED),), customer_id, "unapplied"
        )
        unplanned = self._s.orders.unplanned(customer_id, self._planned(customer_id), skip)
        outstanding = owed - unapplied
        credit = limit if settlement is Settlement.CREDIT else None
        available = None if credit is None else credit - outstanding - unplanned
        return CustomerBalance(
            customer_id, owed, unapplied, outstanding, unplanned, credit, available
        )

    def _planned(self, customer_id: str) -> dict[str, Decimal]:
        """Σ amount of the customer's live receivables per order."""
        rows = self.repo.aggregate(
            EntityQuery(
                filters=(
                    Filter("customer_id", Op.EQ, customer_id),
                    Filter("status", Op.IN, tuple(LIVE)),
                )
            ),
            EVERYTHING,
            by=(Group("order_id"), Group.currency("amount")),
            measures=(Measure.sum("amount"),),
        )
        out: dict[str, Decimal] = {}
        for row in rows:
            if row.key[1] == CURRENCY and row.key[0] is not None:  # None: repairs' charges
                out[row.key[0]] = out.get(row.key[0], Decimal(0)) + row.values[0]
        return out

    @staticmethod
    def _sum(
        repo: Repository[Any], filters: tuple[Filter, ...], customer_id: str, field: str
    ) -> Money:
        rows = repo.aggregate(
            EntityQuery(filters=(Filter("customer_id", Op.EQ, customer_id), *filters)),
            EVERYTHING,
            by=(Group.currency(field),),
            measures=(Measure.sum(field),),
        )
        total = sum((r.values[0] for r in rows if r.key[0] == CURRENCY), Decimal(0))
        return Money(total, CURRENCY).quantize()

    def unpaid_orders(self, *, as_of: date | None = None) -> builtins.list[UnpaidOrder]:
        """未回款订单: the orders the actor may see with receivables still open (their
        价税合计, what is owed and what of it is overdue), the most owed first."""
        rows = self.aging_by("order", as_of=as_of)
        ids = [r.key for r in rows if r.key is not None]
        orders = {o.id: o for o in self._s._uow.repo(ORDERS).get_many(ids)}
        out = []
        for row in rows:
            order = orders.get(row.key or "")
            if order is None:
                continue
            overdue = row.total - row.buckets[Bucket.NOT_DUE]
            out.append(
                UnpaidOrder(
                    order.id, order.customer_id, order.owner_id, order.gross, row.total, overdue
                )
            )
        return out

    def by_owner(self, *, as_of: date | None = None) -> builtins.list[OwnerBalance]:
        """未回款计划 per salesperson: their customers' open receivables, owed and overdue."""
        when = as_of or self._s.today()
        counts = {
            row.key[0]: row.values[0]
            for row in self.repo.aggregate(
                EntityQuery(filters=(Filter("status", Op.IN, OPEN_STATUSES),)),
                self._s.actor.scope,
                by=(Group("owner_id"),),
                measures=(Measure.count(),),
            )
        }
        return [
            OwnerBalance(
                row.key or "",
                counts.get(row.key, 0),
                row.total,
                row.total - row.buckets[Bucket.NOT_DUE],
            )
            for row in self.aging_by("owner", as_of=when)
        ]

    # -- statement of account -------------------------------------------------------------
    def statement(self, customer_id: str, *, start: Any, end: Any) -> Statement:
        """对账单: the customer's receivables (debit), payments and write-offs (credit) and
        their reversals from ``start`` to ``end`` (dates, inclusive), between the balance
        before ``start`` and after ``end``.

        Raises:
            ValidationError: a date that is not one, or ``end`` before ``start``.
            NotFound: the actor may not see the customer.
        """
        self.require("read")
        first, last = parse_period(start, end, required=True, entity="statement")
        assert first is not None
        assert last is not None
        customer = self._s.customers.get(customer_id)
        entries = sorted(self._entries(customer.id), key=lambda e: (e[0], e[1], e[3]))
        opening = Decimal(0)
        lines: list[StatementLine] = []
        running = Decimal(0)
        for on, _order, kind, number, text, amount in entries:
            if on < first:
                opening += amount
                running = opening
                continue
            if on > last:
                break
            running += amount
            debit, credit = (amount, Decimal(0)) if amount >= 0 else (Decimal(0), -amount)
            lines.append(
                StatementLine(on, kind, number, text, _cny(debit), _cny(credit), _cny(running))
            )
        return Statement(
            customer.id,
            customer.name,
            first,
            last,
            _cny(opening),
            tuple(lines),
            _cny(running if lines else opening),
        )

    def _entries(
        self, customer_id: str
    ) -> Iterator[tuple[date, int, StatementEntry, str, str, Decimal]]:
        """(date, order within the day, kind, number, text, signed amount) of every entry:
        a positive amount raises what is owed."""
        s = self._s
        zone = ZoneInfo(s.runtime.settings.timezone)
        mine = EntityQuery(filters=(Filter("customer_id", Op.EQ, customer_id),))
        receivables = [r for r in self.every(mine, EVERYTHING) if r.status in LIVE]
        ids = sorted({r.order_id for r in receivables if r.order_id is not None})
        labels = {o.id: o.label for o in s._uow.repo(ORDERS).get_many(ids)}
        for r in receivables:
            if r.order_id is None:  # a repair's charge: its remarks name the repair
                text = r.remarks or ""
            else:
                text = f"{labels.get(r.order_id, r.order_id)} #{r.instalment}"
            on = r.created_at.astimezone(zone).date()
            yield (on, 0, StatementEntry.RECEIVABLE, r.number or "", text, r.amount.amount)
        for p in s.payments.every(mine, EVERYTHING):
            text = p.reference or ""
            yield (p.received_on, 1, StatementEntry.PAYMENT, p.number or "", text, -p.amount.amount)
            if p.status is PaymentStatus.REVERSED:
                on = p.updated_at.astimezone(zone).date()
                text = p.reversed_reason or ""
                yield (
                    on,
                    2,
                    StatementEntry.PAYMENT_REVERSAL,
                    p.number or "",
                    text,
                    p.amount.amount,
                )
        for w in self._write_offs.every(mine, EVERYTHING):
            kind = (
                StatementEntry.WRITE_OFF
                if w.reverses is None
                else StatementEntry.WRITE_OFF_REVERSAL
            )
            on = w.created_at.astimezone(zone).date()
            yield (on, 3, kind, w.number or "", w.reason, -w.amount.amount)

    def export_statement(
        self, customer_id: str, target: str | Path | IO[bytes], *, start: Any, end: Any
    ) -> Statement:
        """Write :meth:`statement` as an XLSX sheet (对账单) in the session's language: the
        opening balance, one row per entry, the closing balance."""
        statement = self.statement(customer_id, start=start, end=end)
        write_statement(statement, target)
        return statement


def _cny(amount: Decimal) -> Money:
    return Money(amount, CURRENCY).quantize()


_AMOUNT: Final = f.money("amount", negative=True)


def remind_overdue(session: Any, job: Any) -> None:
    """The ``receivable.overdue`` job: tell the salesperson (email and SMS, through the
    outbox) that a receivable is past due and still open, and come back every
    ``overdue_reminder_days`` until it is closed."""
    receivable: Receivable | None = session._uow.repo(RECEIVABLES).get(job.payload["id"])
    if receivable is None or receivable.status not in OPEN_STATUSES:
        return
    today = session.today()
    late = (today - receivable.due).days
    if late <= 0:
        return
    service: ReceivableService = session.receivables
    days = session.runtime.settings.overdue_reminder_days
    service._schedule_overdue(receivable, today + timedelta(days=days))
    body = {
        "template": OVERDUE_JOB,
        "receivable_id": receivable.id,
        "receivable": receivable.number,
        "customer_id": receivable.customer_id,
        "balance": str(receivable.balance.amount),
        "due": receivable.due.isoformat(),
        "days_overdue": late,
    }
    key = f"{OVERDUE_JOB}:{receivable.id}:{today.isoformat()}"
    session.notify_user(receivable.owner_id, body, key=key)


OVERDUE_JOB: Final = "receivable.overdue"
JOB_HANDLERS: Final[Mapping[str, JobHandler]] = {OVERDUE_JOB: remind_overdue}
"""The due jobs receivables schedule, registered on every CRM (``crm.on_job`` replaces them)."""
