"""Repairs (维修单): a product brought or sent in, what was wrong, the parts replaced.

A :class:`Repair` records the product (from the catalogue) and its serial number, the fault
reported (故障描述) and found (检测结果), the technician, the parts replaced
(:class:`RepairPart`, 维修配件更换, from the product catalogue with quantities and prices)
and the labour; its charge is parts plus labour, nothing under warranty. It moves through
:data:`REPAIR_MACHINE`::

    received ─► diagnosing ─► repairing ─► done ─► delivered
        └───────────┴────────────┴──────► cancelled

A charged repair may be raised as a receivable when it is done.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.states import StateMachine
from crmkit.domain.values import Money


class RepairStatus(enum.StrEnum):
    RECEIVED = "received"  # 已接单
    DIAGNOSING = "diagnosing"  # 检测中
    REPAIRING = "repairing"  # 维修中
    DONE = "done"  # 已修复
    DELIVERED = "delivered"  # 已交付
    CANCELLED = "cancelled"


_R = RepairStatus
REPAIR_MACHINE: Final = StateMachine[RepairStatus](
    "repair",
    {
        _R.RECEIVED: frozenset({_R.DIAGNOSING, _R.REPAIRING, _R.CANCELLED}),
        _R.DIAGNOSING: frozenset({_R.REPAIRING, _R.DONE, _R.CANCELLED}),
        _R.REPAIRING: frozenset({_R.DONE, _R.CANCELLED}),
        _R.DONE: frozenset({_R.DELIVERED, _R.REPAIRING}),
    },
    {
        _R.RECEIVED: "已接单",
        _R.DIAGNOSING: "检测中",
        _R.REPAIRING: "维修中",
        _R.DONE: "已修复",
        _R.DELIVERED: "已交付",
        _R.CANCELLED: "已取消",
    },
)


@attrs.frozen(kw_only=True)
class RepairPart:
    """A part replaced (维修配件): a catalogue product, how many, at what unit price."""

    id: str
    product_id: str
    name: str
    quantity: Decimal
    unit_price: Money

    @property
    def amount(self) -> Money:
        return (self.unit_price * self.quantity).quantize()


@attrs.frozen(kw_only=True)
class Repair:
    """A repair order (维修单), numbered ``RP-2027-000001``."""

    id: str
    number: str | None = None
    customer_id: str
    contact_id: str | None = None
    ticket_id: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    serial_number: str | None = None
    fault: str
    diagnosis: str | None = None
    technician_id: str | None = None
    status: RepairStatus = RepairStatus.RECEIVED
    warranty: bool = False
    parts: tuple[RepairPart, ...] = ()
    labour: Money | None = None
    charge: Money | None = None
    receivable_id: str | None = None
    received_at: datetime
    done_at: datetime | None = None
    delivered_at: datetime | None = None
    cancel_reason: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def parts_total(self) -> Money:
        """Σ of the parts' amounts (zero without parts)."""
        total = Money(Decimal("0.00"))
        for part in self.parts:
            total = total + part.amount
        return total.quantize()


def charge_of(parts: tuple[RepairPart, ...], labour: Money | None, *, warranty: bool) -> Money:
    """What the customer pays: parts plus labour, nothing under warranty (保修)."""
    total = Money(Decimal("0.00"))
    if warranty:
        return total
    for part in parts:
        total = total + part.amount
    if labour is not None:
        total = total + labour
    return total.quantize()


REPAIR_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("contact_id"),
    f.ref("ticket_id", editable=False),
    f.ref("product_id"),
    f.text("serial_number", 80),
    f.multiline("fault", 2000, required=True),
    f.multiline("diagnosis", 2000),
    f.ref("technician_id"),
    f.boolean("warranty"),
    f.money("labour"),
)
