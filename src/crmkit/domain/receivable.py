"""Receivables (应收款): what a customer owes on an order, instalment by instalment.

A payment plan (回款计划, :func:`crmkit.domain.receivables.plan`) turns an approved order's
total into receivables, one per instalment, numbered ``AR-2027-000001``. A receivable's
``balance`` is its amount less what payments and write-offs took off it; its status
follows: open, partly paid, paid, written off (the rest closed by a 抹零), or void (the
plan withdrawn before anything was paid). Financial records are never deleted: a
correction is a new entry.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.receivables import Bucket
from crmkit.domain.values import Money


class ReceivableStatus(enum.StrEnum):
    OPEN = "open"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    VOID = "void"


LIVE: Final = frozenset(
    {
        ReceivableStatus.OPEN,
        ReceivableStatus.PARTLY_PAID,
        ReceivableStatus.PAID,
        ReceivableStatus.WRITTEN_OFF,
    }
)
"""The statuses of receivables that count against a customer (void ones do not)."""


@attrs.frozen(kw_only=True)
class Receivable:
    """One instalment owed (应收款).

    Attributes:
        number: ``AR-2027-000001``.
        customer_id / order_id: whose and for what (the order's customer: its data scope).
        repair_id: for a repair's charge instead of an order (``order_id`` is then None).
        instalment: 1, 2 … within the order's plan (1 for a repair).
        amount: what is owed.
        due: when.
        balance: what is still owed: ``amount − paid − written_off``.
        paid: Σ of the payment allocations applied to it (reversals taken off).
        written_off: Σ of its 抹零 write-offs (reversals taken off).
        status: see :class:`ReceivableStatus`; :func:`status_of` says which.
    """

    id: str
    number: str | None = None
    customer_id: str
    order_id: str | None = None
    repair_id: str | None = None
    owner_id: str
    instalment: int
    amount: Money
    due: date
    balance: Money
    paid: Money = attrs.field(factory=lambda: Money(Decimal("0.00")))
    written_off: Money = attrs.field(factory=lambda: Money(Decimal("0.00")))
    status: ReceivableStatus = ReceivableStatus.OPEN
    remarks: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str


OPEN_STATUSES: Final = (ReceivableStatus.OPEN, ReceivableStatus.PARTLY_PAID)
"""The statuses of receivables with something still owed."""


def status_of(amount: Money, paid: Money, written_off: Money) -> ReceivableStatus:
    """Open while nothing is taken off, partly paid while something is owed, then paid, or
    written off when a 抹零 closed it."""
    balance = amount.amount - paid.amount - written_off.amount
    if balance == amount.amount:
        return ReceivableStatus.OPEN
    if balance > 0:
        return ReceivableStatus.PARTLY_PAID
    return ReceivableStatus.WRITTEN_OFF if written_off.amount > 0 else ReceivableStatus.PAID


RECEIVABLE_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("order_id", editable=False),  # one of the two: plan() and raise_receivable()
    f.ref("repair_id", editable=False),  # give it
    f.ref("owner_id", required=True),
    f.integer("instalment", required=True, editable=False),
    f.money("amount", required=True, editable=False),
    f.day("due", required=True),
    f.multiline("remarks", 500),
)


@attrs.frozen
class AgingRow:
    """账龄 of one customer or salesperson (``key``: their id; None for the total): the
    open balance per bucket, and their sum."""

    key: str | None
    buckets: Mapping[Bucket, Money]
    total: Money


@attrs.frozen
class CustomerBalance:
    """What a customer owes (客户欠款) and may still buy on credit.

    Attributes:
        receivable: Σ of their open receivables' balances.
        unapplied: Σ of their payments not yet applied (预收).
        outstanding: receivable − unapplied (negative: they paid ahead).
        unplanned: Σ of their pending and approved orders not yet turned into receivables.
        credit_limit: their limit, for credit-terms (赊销) customers; None otherwise.
        available: credit_limit − outstanding − unplanned, for credit-terms customers.
    """

    customer_id: str
    receivable: Money
    unapplied: Money
    outstanding: Money
    unplanned: Money
    credit_limit: Money | None
    available: Money | None


class StatementEntry(enum.StrEnum):
    """What a line of a statement of account records."""

    RECEIVABLE = "receivable"
    PAYMENT = "payment"
    PAYMENT_REVERSAL = "payment_reversal"
    WRITE_OFF = "write_off"
    WRITE_OFF_REVERSAL = "write_off_reversal"


@attrs.frozen
class StatementLine:
    """One entry of a statement of account: a receivable raised (debit), a payment or a
    write-off (credit), or the reversal of one; ``balance`` after it."""

    on: date
    kind: StatementEntry
    number: str
    text: str
    debit: Money
    credit: Money
    balance: Money


@attrs.frozen
class Statement:
    """对账单: a customer's entries from ``start`` to ``end``, between the balance before
    and after them (receivables − payments − write-offs)."""

    customer_id: str
    customer_name: str
    start: date
    end: date
    opening: Money
    lines: tuple[StatementLine, ...]
    closing: Money


@attrs.frozen
class UnpaidOrder:
    """An order with receivables still open (未回款订单)."""

    order_id: str
    customer_id: str
    owner_id: str
    amount: Money  # Σ of its receivables
    balance: Money  # Σ still owed
    overdue: Money  # Σ owed past due


@attrs.frozen
class OwnerBalance:
    """Unpaid plan amounts of one salesperson (未回款计划): owed, of which overdue."""

    owner_id: str
    receivables: int
    balance: Money
    overdue: Money
