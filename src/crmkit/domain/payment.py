"""Payments (回款) and 抹零 write-offs: the money that closes receivables.

A :class:`Payment` is money a customer paid: amount, date, method (bank transfer, cash,
WeChat Pay, Alipay, cheque), account and reference. Its :class:`PaymentAllocation` lines
apply it to receivables; what no line applies (``unapplied``) is a prepayment (预收),
applied later. A :class:`WriteOff` closes a small remainder of one receivable (回款冲销抹零).

Financial records are never edited or deleted: a correction is a new entry. Reversing an
allocation adds a line of the opposite amount that names it (``reverses``); reversing a
write-off adds a write-off of the opposite amount; reversing a payment reverses its live
allocations and marks it reversed, its amounts untouched.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.values import Money


class PaymentMethod(enum.StrEnum):
    """How the money came (收款方式)."""

    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    CHEQUE = "cheque"


class PaymentCategory(enum.StrEnum):
    """What the money is for (回款类别), for the collection statistics."""

    SALES = "sales"  # 货款
    DEPOSIT = "deposit"  # 定金 / 预付款
    SERVICE = "service"  # 服务费
    OTHER = "other"


class PaymentStatus(enum.StrEnum):
    POSTED = "posted"
    REVERSED = "reversed"


@attrs.frozen(kw_only=True)
class PaymentAllocation:
    """So much of a payment applied to one receivable (回款冲销), or, with ``reverses``,
    the reversal of an earlier line (a negative amount)."""

    id: str
    receivable_id: str
    amount: Money
    at: datetime
    by: str
    reverses: str | None = None
    reason: str | None = None


def live_allocations(lines: Sequence[PaymentAllocation]) -> tuple[PaymentAllocation, ...]:
    """The positive lines that no later line reverses."""
    reversed_ = {line.reverses for line in lines if line.reverses}
    return tuple(line for line in lines if line.reverses is None and line.id not in reversed_)


def applied(lines: Sequence[PaymentAllocation], currency: str) -> Money:
    """Σ of the lines, reversals included: what the payment has applied."""
    return Money(sum((line.amount.amount for line in lines), Decimal(0)), currency)


@attrs.frozen(kw_only=True)
class Payment:
    """Money a customer paid (回款).

    Attributes:
        number: ``RC-2027-000001``.
        owner_id: the customer's salesperson when it was recorded (collection statistics).
        amount: what was paid (positive).
        received_on: the day the money arrived.
        method / category / account / reference: how, for what, into which account, and
            the bank's or cheque's reference.
        allocations: the lines that apply it to receivables (and reverse them).
        unapplied: amount − Σ allocations: a prepayment (预收) waiting to be applied.
        status: posted, or reversed (with ``reversed_reason``).
    """

    id: str
    number: str | None = None
    customer_id: str
    owner_id: str
    amount: Money
    received_on: date
    method: PaymentMethod
    category: PaymentCategory = PaymentCategory.SALES
    account: str | None = None
    reference: str | None = None
    remarks: str | None = None
    allocations: tuple[PaymentAllocation, ...] = ()
    unapplied: Money
    status: PaymentStatus = PaymentStatus.POSTED
    reversed_reason: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str


METHOD_ALIASES: Final = {
    "bank": PaymentMethod.BANK_TRANSFER,
    "银行转账": PaymentMethod.BANK_TRANSFER,
    "转账": PaymentMethod.BANK_TRANSFER,
    "现金": PaymentMethod.CASH,
    "微信": PaymentMethod.WECHAT,
    "微信支付": PaymentMethod.WECHAT,
    "支付宝": PaymentMethod.ALIPAY,
    "支票": PaymentMethod.CHEQUE,
}
"""What people (and DESIGN.md's ``method="bank"``) call the payment methods."""
CATEGORY_ALIASES: Final = {
    "货款": PaymentCategory.SALES,
    "定金": PaymentCategory.DEPOSIT,
    "预付款": PaymentCategory.DEPOSIT,
    "服务费": PaymentCategory.SERVICE,
    "其他": PaymentCategory.OTHER,
}

PAYMENT_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.money("amount", required=True, editable=False),
    f.day("received_on", required=True, editable=False),
    f.choice("method", PaymentMethod, required=True, editable=False, aliases=dict(METHOD_ALIASES)),
    f.choice(
        "category",
        PaymentCategory,
        default=PaymentCategory.SALES,
        editable=False,
        aliases=dict(CATEGORY_ALIASES),
    ),
    f.text("account", 100, editable=False),
    f.text("reference", 100, editable=False),
    f.multiline("remarks", 500),
)


@attrs.frozen(kw_only=True)
class WriteOff:
    """A 抹零: ``amount`` of receivable ``receivable_id``'s remainder closed, for
    ``reason``; or, with ``reverses``, the reversal of an earlier one (a negative amount)."""

    id: str
    number: str | None = None
    receivable_id: str
    customer_id: str
    owner_id: str
    amount: Money
    reason: str
    reverses: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str


WRITE_OFF_FIELDS: Final = (
    f.ref("receivable_id", required=True, editable=False),
    f.money("amount", negative=True, editable=False),
    f.multiline("reason", 500, required=True, editable=False),
    f.ref("reverses", editable=False),
)
