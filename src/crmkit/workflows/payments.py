"""Payments on the kernel: ``session.payments`` (回款).

:meth:`PaymentService.record` stores money a customer paid and applies it to their open
receivables (回款冲销): automatically, the oldest due first (the customer's open items read
a page at a time in due order, so a customer with thousands of them costs a few pages), or
by hand; what is not applied is a prepayment (预收), which :meth:`PaymentService.apply`
applies later. :meth:`PaymentService.preview` shows an allocation without writing it.

Nothing is edited or deleted: :meth:`PaymentService.unallocate` reverses one allocation
line with a line of the opposite amount, and :meth:`PaymentService.reverse` reverses a
payment (a bounced cheque, a mistaken entry) with all its live lines. Every receivable
touched is updated by compare-and-set on its version, so two payments racing for one
receivable never over-apply it: the second fails with ``ConcurrencyError`` and writes
nothing (its session rolls back).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain import receivables as arithmetic
from crmkit.domain.common import is_blank
from crmkit.domain.errors import FieldErrors
from crmkit.domain.fields import InputField
from crmkit.domain.payment import (
    PAYMENT_FIELDS,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    applied,
    live_allocations,
)
from crmkit.domain.receivable import OPEN_STATUSES, Receivable
from crmkit.domain.values import Money
from crmkit.storage.catalog import PAYMENTS, RECEIVABLES
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Group, Measure, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.session import new_id

AUTO: Final = "auto"
"""``allocate=AUTO``: apply a payment to the customer's open receivables, oldest due first."""


@attrs.frozen
class PlannedAllocation:
    """An allocation :meth:`PaymentService.preview` proposes (or a payment would make):
    ``amount`` of ``receivable``, leaving ``balance_after``."""

    receivable: Receivable
    amount: Money
    balance_after: Money


@attrs.frozen
class AllocationPreview:
    """What applying ``amount`` would do: the allocations, and the remainder that would
    stay unapplied (预收)."""

    amount: Money
    allocations: tuple[PlannedAllocation, ...]
    unapplied: Money


@attrs.frozen
class CollectionRow:
    """Collections (回款统计) of one group: its key (a method, category, month or
    salesperson id), how many payments and their sum."""

    key: str | None
    count: int
    amount: Money


# Open items read per page when allocating automatically: most payments settle a few of the
# oldest, so the first page is small (each item read is decoded) and later ones grow.
_FIRST_PAGE: Final = 8
_MAX_PAGE: Final = 512
_BY: Final = {"method": "method", "category": "category", "owner": "owner_id"}
_AMOUNT: Final = f.money("amount", negative=True)


class PaymentService(EntityService[Payment]):
    """``session.payments``: money received, and what it paid.

    Permissions: ``payment.read`` (everyone, in the customer's scope), ``payment.create``
    (recording), ``payment.write`` (applying a prepayment), ``payment.reverse``
    (reversing a payment or an allocation): finance and admins.
    """

    spec = PAYMENTS
    fields: ClassVar[tuple[InputField, ...]] = PAYMENT_FIELDS

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,
        current: Payment | None = None,  # noqa: ARG002
    ) -> dict[str, Any]:
        customer = self._s._uow.customers.get(data["customer_id"], self._s.actor.scope)
        if customer is None or customer.is_deleted:  # reported with the rules' errors
            errors.add("customer_id", "not_found_ref", data["customer_id"])
        amount: Money = data["amount"].quantize()
        owner = (customer.owner_id if customer is not None else None) or self._s.actor.id
        return {**data, "amount": amount, "owner_id": owner, "unapplied": amount}

    def check(self, entity: Payment, current: Payment | None, errors: FieldErrors) -> None:
        if current is None:
            if entity.amount.amount <= 0:
                errors.add("amount", "number.positive", str(entity.amount.amount))
            if entity.received_on > self._s.today():
                errors.add("received_on", "payment.future", entity.received_on.isoformat())

    # -- record -----------------------------------------------------------------------------
    def create(self, **fields: Any) -> Payment:
        """:meth:`record`, applied automatically unless ``allocate`` says otherwise."""
        return self.record(**fields)

    def record(self, *, allocate: Any = AUTO, **fields: Any) -> Payment:
        """登记回款: store a payment (``customer_id``, ``amount``, ``received_on``,
        ``method``; ``category``, ``account``, ``reference``, ``remarks``) and apply it.

        Args:
            allocate: ``AUTO`` (the oldest due first), None (keep it all as a
                prepayment), or ``[(receivable_id, amount), …]`` by hand.

        Raises:
            ValidationError: every wrong field at once (an amount not positive, a date
                that is not one or after today, an unknown method; an allocation to a
                receivable that is not the customer's or not open, above its balance,
                named twice, or allocations above the payment); nothing is written.
            PermissionDenied: not ``payment.create``.
        """
        self.require("create")
        payment = self._new(fields, numbered=True)
        lines = self._take(self._plan(payment, allocate))
        return self.add_new(self._with_lines(payment, lines))

    def preview(self, customer_id: str, amount: Any, *, allocate: Any = AUTO) -> AllocationPreview:
        """What :meth:`record` would apply of ``amount`` for the customer, nothing written.

        Raises:
            ValidationError: as :meth:`record`'s allocations.
            NotFound: the actor may not see the customer.
        """
        self.require("read")
        customer = self._s.customers.get(customer_id)
        errors = FieldErrors()
        value = _AMOUNT.parse(amount, errors, "amount")
        if value is not None and value.amount <= 0:
            errors.add("amount", "number.positive", str(value.amount))
        errors.raise_if_any(self.spec.name)
        assert value is not None
        plan = self._allocations(customer.id, value, allocate)
        return _preview(value, plan)

    def apply(self, id: str, *, allocate: Any = AUTO) -> Payment:
        """预收冲销: apply what of a payment is still unapplied to the customer's open
        receivables (``AUTO`` or by hand, as :meth:`record`).

        Raises:
            WorkflowError: a reversed payment, or nothing left to apply.
            ValidationError: a wrong allocation; nothing is written.
            PermissionDenied: not ``payment.write``.
        """
        self.require("write")
        payment = self.get(id)
        if payment.status is PaymentStatus.REVERSED:
            raise self.refusal("apply", "冲销", ("the payment is reversed", "该回款已冲回"))
        if payment.unapplied.amount <= 0:
            raise self.refusal("apply", "冲销", ("nothing left to apply", "没有可冲销的余额"))
        plan = self._plan(payment, allocate)
        return self._apply(payment, plan) if plan else payment

    def _plan(self, payment: Payment, allocate: Any) -> builtins.list[PlannedAllocation]:
        if allocate is None:
            return []
        return self._allocations(payment.customer_id, payment.unapplied, allocate)

    def _allocations(
        self, customer_id: str, amount: Money, allocate: Any
    ) -> builtins.list[PlannedAllocation]:
        """The allocations of ``amount`` to the customer's receivables, checked."""
        receivables = self._s.receivables
        if allocate == AUTO:
            out: builtins.list[PlannedAllocation] = []
            left = amount
            after: str | None = None
            size = _FIRST_PAGE
            while left.amount > 0:
                page = receivables.open_items(customer_id, after=after, limit=size)
                size = min(size * 8, _MAX_PAGE)
                items = [arithmetic.OpenItem(r.id, r.due, r.balance) for r in page.items]
                if items:
                    lines, left = arithmetic.allocate(left, items)
                    by_id = {r.id: r for r in page.items}
                    for line in lines:
                        r = by_id[line.receivable_id]
                        out.append(PlannedAllocation(r, line.amount, r.balance - line.amount))
                if page.next_after is None:
                    break
                after = page.next_after
            return out
        return self._by_hand(customer_id, amount, allocate)

    def _by_hand(
        self, customer_id: str, amount: Money, allocate: Sequence[tuple[str, Any]]
    ) -> builtins.list[PlannedAllocation]:
        errors = FieldErrors()
        repo = self._s._uow.repo(RECEIVABLES)
        wanted = [(str(rid), raw) for rid, raw in allocate]
        found = {r.id: r for r in repo.get_many([rid for rid, _ in wanted])}
        out: builtins.list[PlannedAllocation] = []
        seen: set[str] = set()
        total = Decimal(0)
        for i, (rid, raw) in enumerate(wanted):
            at = f"allocations[{i}]"
            r = found.get(rid)
            if r is None:
                errors.add(f"{at}.receivable_id", "not_found_ref", rid)
                continue
            if r.customer_id != customer_id:
                errors.add(f"{at}.receivable_id", "receivable.other_customer", r.number)
                continue
            if r.status not in OPEN_STATUSES:
                errors.add(f"{at}.receivable_id", "receivable.not_open", r.number)
                continue
            if rid in seen:
                errors.add(f"{at}.receivable_id", "receivable.repeated", r.number)
                continue
            seen.add(rid)
            value = _AMOUNT.parse(raw, errors, f"{at}.amount")
            if value is None:
                if is_blank(raw):
                    errors.add(f"{at}.amount", "required", None)
                continue
            if value.amount <= 0:
                errors.add(f"{at}.amount", "number.positive", str(value.amount))
            elif value.amount > r.balance.amount:
                errors.add(
                    f"{at}.amount",
                    "receivable.above_balance",
                    str(value.amount),
                    balance=str(r.balance.amount),
                )
            else:
                total += value.amount
                out.append(PlannedAllocation(r, value, r.balance - value))
        if total > amount.amount:
            errors.add(
                "allocations",
                "payment.over_amount",
                str(total),
                applied=str(total),
                amount=str(amount.amount),
            )
        errors.raise_if_any(self.spec.name)
        return out

    def _apply(self, payment: Payment, plan: Sequence[PlannedAllocation]) -> Payment:
        """Take each planned allocation off its receivable and add the lines to the
        payment."""
        return self._lines(payment, self._take(plan))

    def _take(self, plan: Sequence[PlannedAllocation]) -> builtins.list[PaymentAllocation]:
        """Each planned allocation taken off its receivable (compare-and-set), as lines."""
        s = self._s
        now = s.now()
        lines = []
        for planned in plan:
            s.receivables.take(planned.receivable, paid=planned.amount.amount)
            lines.append(
                PaymentAllocation(
                    id=new_id(),
                    receivable_id=planned.receivable.id,
                    amount=planned.amount,
                    at=now,
                    by=s.actor.id,
                )
            )
        return lines

    def _with_lines(
        self, payment: Payment, lines: Sequence[PaymentAllocation], **more: Any
    ) -> Payment:
        """``payment`` with ``lines`` added and its unapplied rest (none once reversed)."""
        every = (*payment.allocations, *lines)
        unapplied = payment.amount - applied(every, payment.amount.currency)
        if more.get("status") is PaymentStatus.REVERSED:
            unapplied = Money(Decimal("0.00"), payment.amount.currency)
        return attrs.evolve(payment, allocations=every, unapplied=unapplied.quantize(), **more)

    def _lines(self, payment: Payment, lines: Sequence[PaymentAllocation], **more: Any) -> Payment:
        updated = self._stamped(self._with_lines(payment, lines, **more), self._s.now())
        self.save_change(payment, updated)
        return updated  # type: ignore[no-any-return]

    # -- corrections ------------------------------------------------------------------------
    def unallocate(self, id: str, allocation_id: str, *, reason: str) -> Payment:
        """冲回冲销: reverse one allocation line with a line of the opposite amount; the
        receivable owes it again and the payment has it unapplied again.

        Raises:
            WorkflowError: a reversed payment, a line reversed already or a reversal line.
            ValidationError: an unknown line, or no reason.
            PermissionDenied: not ``payment.reverse``.
        """
        self.require("reverse")
        payment = self.get(id)
        errors = FieldErrors()
        line = next((a for a in payment.allocations if a.id == allocation_id), None)
        if line is None:
            errors.add("allocation_id", "not_found_ref", allocation_id)
        if is_blank(reason):
            errors.add("reason", "required", None)
        errors.raise_if_any(self.spec.name)
        assert line is not None
        if payment.status is PaymentStatus.REVERSED:
            raise self.refusal(
                "unallocate", "冲回冲销", ("the payment is reversed", "该回款已冲回")
            )
        if line not in live_allocations(payment.allocations):
            raise self.refusal(
                "unallocate",
                "冲回冲销",
                ("the line is reversed or a reversal", "该明细已冲回或本身是冲回"),
            )
        return self._lines(payment, [self._reverse_line(line, reason)])

    def reverse(self, id: str, *, reason: str) -> Payment:
        """冲回回款: reverse a payment (a bounced cheque, a mistaken entry): each live
        allocation is reversed, the receivables owe it again, and the payment is marked
        reversed with ``reason``, its amount kept.

        Raises:
            WorkflowError: reversed already.
            ValidationError: no reason.
            PermissionDenied: not ``payment.reverse``.
        """
        self.require("reverse")
        payment = self.get(id)
        if is_blank(reason):
            errors = FieldErrors()
            errors.add("reason", "required", None)
            errors.raise_if_any(self.spec.name)
        if payment.status is PaymentStatus.REVERSED:
            raise self.refusal("reverse", "冲回", ("reversed already", "已冲回"))
        lines = [self._reverse_line(a, reason) for a in live_allocations(payment.allocations)]
        return self._lines(
            payment, lines, status=PaymentStatus.REVERSED, reversed_reason=reason.strip()
        )

    def _reverse_line(self, line: PaymentAllocation, reason: str) -> PaymentAllocation:
        s = self._s
        receivable = s._uow.repo(RECEIVABLES).get(line.receivable_id)
        assert receivable is not None  # receivables are never deleted
        s.receivables.take(receivable, paid=-line.amount.amount)
        return PaymentAllocation(
            id=new_id(),
            receivable_id=line.receivable_id,
            amount=Money(-line.amount.amount, line.amount.currency),
            at=s.now(),
            by=s.actor.id,
            reverses=line.id,
            reason=reason.strip(),
        )

    def update(self, id: str, version: int | None = None, **changes: Any) -> Payment:  # noqa: ARG002
        """A payment is corrected by reversing it, never edited."""
        raise self.refusal("edit", "修改", _KEPT)

    def delete(self, id: str, version: int | None = None) -> None:  # noqa: ARG002
        """Financial records are kept; a correction is a new entry."""
        raise self.refusal("delete", "删除", _KEPT)

    # -- reads ------------------------------------------------------------------------------
    def for_receivable(self, receivable_id: str) -> builtins.list[Payment]:
        """The payments with a line on a receivable (reversed ones too), oldest first."""
        self.require("read")
        receivable = self._s.receivables.get(receivable_id)
        theirs = EntityQuery(filters=(Filter("customer_id", Op.EQ, receivable.customer_id),))
        found = [
            p
            for p in self.every(theirs)
            if any(a.receivable_id == receivable_id for a in p.allocations)
        ]
        return sorted(found, key=lambda p: (p.received_on, p.number or ""))

    def collections(
        self, by: str, *, start: date | None = None, end: date | None = None
    ) -> builtins.list[CollectionRow]:
        """回款统计: payments received from ``start`` to ``end`` (posted ones), by
        ``"method"``, ``"category"``, ``"month"`` or ``"owner"`` (salesperson), the
        largest first. Summed by the store."""
        self.require("read")
        group = Group.month("received_on") if by == "month" else Group(_BY[by])
        filters = [Filter("status", Op.EQ, PaymentStatus.POSTED)]
        if start is not None:
            filters.append(Filter("received_on", Op.GE, start))
        if end is not None:
            filters.append(Filter("received_on", Op.LE, end))
        rows = self.repo.aggregate(
            EntityQuery(filters=tuple(filters)),
            self._s.actor.scope,
            by=(group, Group.currency("amount")),
            measures=(Measure.count(), Measure.sum("amount")),
        )
        out = [
            CollectionRow(row.key[0], row.values[0], Money(row.values[1], row.key[1]).quantize())
            for row in rows
        ]
        if by == "month":
            return sorted(out, key=lambda r: r.key or "")
        return sorted(out, key=lambda r: (-r.amount.amount, r.key or ""))

    def unapplied(self, customer_id: str) -> Money:
        """Σ of a customer's payments not yet applied (预收)."""
        return self._s.receivables.balance(customer_id).unapplied


_KEPT: Final = (
    "payments are corrected by reversing them",
    "回款只能冲回，不能修改或删除",
)


def _preview(amount: Money, plan: Sequence[PlannedAllocation]) -> AllocationPreview:
    used = sum((p.amount.amount for p in plan), Decimal(0))
    return AllocationPreview(amount, tuple(plan), Money(amount.amount - used, amount.currency))


__all__ = ["AUTO", "AllocationPreview", "CollectionRow", "PaymentService", "PlannedAllocation"]
