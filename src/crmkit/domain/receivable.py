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
from datetime import date, datetime
from typing import Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.values import Money


class ReceivableStatus(enum.StrEnum):
    OPEN = "open"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    VOID = "void"


LIVE: Final = frozenset(
    {ReceivableStatus.OPEN, ReceivableStatus.PARTLY_PAID, ReceivableStatus.PAID}
)
"""The statuses of receivables that count against a customer (void ones do not)."""


@attrs.frozen(kw_only=True)
class Receivable:
    """One instalment owed (应收款).

    Attributes:
        number: ``AR-2027-000001``.
        customer_id / order_id: whose and for what (the order's customer: its data scope).
        instalment: 1, 2 … within the order's plan.
        amount: what is owed.
        due: when.
        balance: what is still owed (amount − payments − write-offs).
        status: see :class:`ReceivableStatus`.
    """

    id: str
    number: str | None = None
    customer_id: str
    order_id: str
    owner_id: str
    instalment: int
    amount: Money
    due: date
    balance: Money
    status: ReceivableStatus = ReceivableStatus.OPEN
    remarks: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str


RECEIVABLE_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("order_id", required=True, editable=False),
    f.ref("owner_id", required=True),
    f.integer("instalment", required=True, editable=False),
    f.money("amount", required=True, editable=False),
    f.day("due", required=True),
    f.multiline("remarks", 500),
)
