"""Sales orders (销售订单 / 合同): what a customer bought, approved, delivered and signed off.

An order carries the same priced lines as a quote (:class:`~crmkit.domain.lines.SalesLine`,
价税分离 per line and per order by :mod:`crmkit.domain.pricing`), its cost and gross margin
(订单毛利) with cost adjustments by permitted roles (成本微调), and two states:

- its **approval** (:class:`~crmkit.domain.approvals.ApprovalStatus`): a draft is submitted,
  its chain decides it, and an approved order is locked against edit and delete (审核通过单据
  锁定，防删改); a change after approval is a new *revision* (SO-2027-000001-V2) with its own
  approval, which replaces the approved one only once it is approved itself;
- its **fulfilment** (:data:`ORDER_STATES`): open → delivered (every line shipped, by the
  delivery plan 交付计划) → completed (signed off, 验收); cancelled; superseded by a revision.

Deliveries are planned, then recorded delivered, and each is charged freight by the CRM's
:class:`~crmkit.domain.freight.FreightRule`. Reminders (delivery, sign-off, renewal, warranty
expiry) are scheduled as due jobs when an order is approved.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.approvals import ApprovalStatus
from crmkit.domain.common import is_blank
from crmkit.domain.errors import FieldErrors
from crmkit.domain.lines import CURRENCY, PricedDocument, SalesLine, parse_lines, parse_quantity
from crmkit.domain.regions import Region
from crmkit.domain.states import StateMachine
from crmkit.domain.values import Money

OrderLine = SalesLine
"""An order's line (:class:`crmkit.domain.lines.SalesLine`)."""


class OrderStatus(enum.StrEnum):
    OPEN = "open"  # being approved or carried out
    DELIVERED = "delivered"  # every line delivered
    COMPLETED = "completed"  # signed off by the customer (验收)
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # an approved later revision replaced it


ORDER_STATES: Final[StateMachine[OrderStatus]] = StateMachine(
    "order",
    {
        OrderStatus.OPEN: frozenset(
            {
                OrderStatus.DELIVERED,
                OrderStatus.COMPLETED,
                OrderStatus.CANCELLED,
                OrderStatus.SUPERSEDED,
            }
        ),
        OrderStatus.DELIVERED: frozenset({OrderStatus.COMPLETED, OrderStatus.SUPERSEDED}),
    },
    {
        OrderStatus.OPEN: "执行中",
        OrderStatus.DELIVERED: "已交付",
        OrderStatus.COMPLETED: "已验收",
        OrderStatus.CANCELLED: "已取消",
        OrderStatus.SUPERSEDED: "已出新版",
    },
)
"""open -> delivered -> completed; an open order may be completed directly (services) or
cancelled; an approved revision supersedes the order it revises."""


class DeliveryState(enum.StrEnum):
    PLANNED = "planned"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Reminder(enum.StrEnum):
    """What an order reminds its salesperson of (through due jobs and the outbox)."""

    DELIVERY = "delivery"  # a planned delivery is near
    SIGN_OFF = "sign_off"  # the customer's sign-off (验收) is due
    RENEWAL = "renewal"  # the service must be renewed (续费)
    WARRANTY = "warranty"  # the warranty runs out (质保到期)


@attrs.frozen(kw_only=True)
class DeliveryItem:
    """So much of line ``line`` (its index in the order, from 0)."""

    line: int
    quantity: Decimal


@attrs.frozen(kw_only=True)
class Delivery:
    """One delivery of the plan (交付计划), and once delivered its weight and freight.

    Attributes:
        number: 1, 2, … within the order.
        planned_on: when it is to be delivered.
        items: what it ships.
        region: where it goes (default: the customer's region).
        status: planned, delivered or cancelled.
        delivered_on: when it was.
        weight: kg shipped (None when a product shipped has no weight).
        freight: what the CRM's freight rule charged.
    """

    number: int
    planned_on: date
    items: tuple[DeliveryItem, ...]
    region: Region | None = None
    status: DeliveryState = DeliveryState.PLANNED
    delivered_on: date | None = None
    weight: Decimal | None = None
    freight: Money | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class CostAdjustment:
    """A change to an order's cost (成本微调): ``amount`` added (negative: taken off)."""

    amount: Money
    reason: str
    by: str
    at: datetime


@attrs.frozen(kw_only=True)
class Order(PricedDocument):
    """A sales order (销售订单), one revision of it.

    Attributes:
        number: this revision's number (``SO-2027-000001``; ``-V2`` … on later revisions).
        order_number: the number every revision shares.
        revision / previous_id: 1, 2 … and the revision this one revises.
        customer_id / quote_id / opportunity_id: whose, and what it came from.
        owner_id: the salesperson responsible.
        prices_include_tax / currency / lines: as a quote's.
        net / tax / gross: 不含税金额, 税额, 价税合计.
        cost: the lines' cost; cost_adjustment: Σ of ``cost_adjustments`` (成本微调);
        margin / margin_rate: net − cost − cost_adjustment, and its share of net (毛利率).
        freight: Σ freight of the deliveries made.
        approval: where its approval stands; approval_id: the latest approval record.
        status: its fulfilment (:data:`ORDER_STATES`).
        signed_on: the contract's date (签订日期).
        delivery_due / sign_off_due / renewal_on / warranty_until: the dates reminded of.
        deliveries: the delivery plan.
    """

    id: str
    number: str | None = None
    order_number: str = attrs.field(
        default=attrs.Factory(lambda self: self.number or "", takes_self=True)
    )
    revision: int = 1
    previous_id: str | None = None
    customer_id: str
    quote_id: str | None = None
    opportunity_id: str | None = None
    owner_id: str
    prices_include_tax: bool = True
    currency: str = CURRENCY
    lines: tuple[SalesLine, ...] = ()
    net: Money
    tax: Money
    gross: Money
    cost: Money
    cost_adjustment: Money = attrs.field(
        default=attrs.Factory(lambda self: Money(Decimal("0.00"), self.currency), takes_self=True)
    )
    cost_adjustments: tuple[CostAdjustment, ...] = ()
    margin: Money
    margin_rate: Decimal | None = None
    freight: Money = attrs.field(
        default=attrs.Factory(lambda self: Money(Decimal("0.00"), self.currency), takes_self=True)
    )
    approval: ApprovalStatus = ApprovalStatus.DRAFT
    approval_id: str | None = None
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    status: OrderStatus = OrderStatus.OPEN
    signed_on: date | None = None
    delivery_due: date | None = None
    sign_off_due: date | None = None
    signed_off_on: date | None = None
    renewal_on: date | None = None
    warranty_until: date | None = None
    deliveries: tuple[Delivery, ...] = ()
    cancel_reason: str | None = None
    remarks: str | None = None
    custom: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def base_number(self) -> str:
        return self.order_number

    def planned(self) -> dict[int, Decimal]:
        """Quantity per line in deliveries planned or made (cancelled ones left out)."""
        out: dict[int, Decimal] = {}
        for d in self.deliveries:
            if d.status is not DeliveryState.CANCELLED:
                for item in d.items:
                    out[item.line] = out.get(item.line, Decimal(0)) + item.quantity
        return out

    def delivered(self) -> dict[int, Decimal]:
        """Quantity per line delivered so far."""
        out: dict[int, Decimal] = {}
        for d in self.deliveries:
            if d.status is DeliveryState.DELIVERED:
                for item in d.items:
                    out[item.line] = out.get(item.line, Decimal(0)) + item.quantity
        return out

    @property
    def fully_delivered(self) -> bool:
        done = self.delivered()
        return bool(self.lines) and all(
            done.get(i, Decimal(0)) >= line.quantity for i, line in enumerate(self.lines)
        )


class RankBy(enum.StrEnum):
    """What order statistics group by (seed 004 统计分析)."""

    CUSTOMER = "customer"  # 订单金额客户排名
    OWNER = "owner"  # 业务员签单统计
    SOURCE = "source"  # the customer's source (来源)
    REGION = "region"  # the customer's province
    INDUSTRY = "industry"  # the customer's industry


@attrs.frozen
class OrderTotal:
    """One group of order statistics: its key (a customer or user id, a source, a
    province, an industry; None for customers without one), how many orders and their
    价税合计 per currency, the largest first."""

    key: str | None
    count: int
    amounts: tuple[Money, ...] = ()


ORDER_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("quote_id", editable=False),
    f.ref("opportunity_id"),
    f.ref("owner_id"),
    f.boolean("prices_include_tax", default=True),
    f.InputField("lines", parse_lines, default=(), kind="lines"),
    f.day("signed_on"),
    f.day("delivery_due"),
    f.day("sign_off_due"),
    f.day("renewal_on"),
    f.day("warranty_until"),
    f.multiline("remarks", 1000),
)


def margin_fields(net: Money, cost: Money, adjustment: Money) -> dict[str, Money | Decimal | None]:
    """``margin`` and ``margin_rate`` of an order whose lines cost ``cost`` and whose cost
    was adjusted by ``adjustment``: margin = net − cost − adjustment, rate = margin / net
    (None on a zero net), rounded as pricing rounds rates."""
    margin = net - cost - adjustment
    rate = None if net.amount == 0 else (margin.amount / net.amount).quantize(Decimal("0.0001"))
    return {"margin": margin, "margin_rate": rate}


def parse_items(
    raw: Any, lines: Sequence[SalesLine], errors: FieldErrors, path: str = "items"
) -> tuple[DeliveryItem, ...]:
    """Delivery items from ``[{"line": 0, "quantity": 5}, …]`` (``line`` an index into
    ``lines``); every wrong one named ``items[i].field``."""
    if is_blank(raw):
        return ()
    if isinstance(raw, Mapping | str | bytes) or not isinstance(raw, Iterable):
        errors.add(path, "invalid_type", raw, expected="list")
        return ()
    out: list[DeliveryItem] = []
    for i, item in enumerate(raw):
        at = f"{path}[{i}]"
        if isinstance(item, DeliveryItem):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            errors.add(at, "invalid_type", item, expected="mapping")
            continue
        index = item.get("line")
        if isinstance(index, bool) or not isinstance(index, int | str):
            errors.add(f"{at}.line", "order.line_unknown", index)
            continue
        try:
            number = int(index)
        except ValueError:
            errors.add(f"{at}.line", "order.line_unknown", index)
            continue
        if not 0 <= number < len(lines):
            errors.add(f"{at}.line", "order.line_unknown", index)
            continue
        quantity = parse_quantity(item.get("quantity"), errors, f"{at}.quantity")
        if quantity is None:
            if is_blank(item.get("quantity")):
                errors.add(f"{at}.quantity", "required", None)
            continue
        out.append(DeliveryItem(line=number, quantity=quantity))
    return tuple(out)


def remaining(order: Order) -> tuple[DeliveryItem, ...]:
    """What no delivery plans yet, line by line."""
    planned = order.planned()
    return tuple(
        DeliveryItem(line=i, quantity=line.quantity - planned.get(i, Decimal(0)))
        for i, line in enumerate(order.lines)
        if line.quantity > planned.get(i, Decimal(0))
    )


def check_plan(order: Order, items: Sequence[DeliveryItem], errors: FieldErrors) -> None:
    """A delivery may not plan more of a line than the order leaves unplanned."""
    planned = order.planned()
    for i, item in enumerate(items):
        left = order.lines[item.line].quantity - planned.get(item.line, Decimal(0))
        if item.quantity > left:
            errors.add(f"items[{i}].quantity", "order.over_delivery", str(item.quantity), left=left)
        planned[item.line] = planned.get(item.line, Decimal(0)) + item.quantity
