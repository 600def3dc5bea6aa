"""Quotes (报价单): what a customer is offered, line by line, with its money worked out.

A quote belongs to one customer (and, optionally, to one of that customer's opportunities).
Its lines say what is sold (a catalogue product or free text), how many, at what unit price,
discount and VAT rate; their amounts and the quote's totals (不含税金额, 税额, 价税合计, 毛利)
come from :func:`crmkit.domain.pricing.price_lines` and are stored with the quote, so lists
show them without working them out again.

A quote moves draft → sent → accepted / rejected / expired (:data:`QUOTE_STATES`). Only a
draft is edited in place; a quote that has been sent is *revised*: a new revision is written
with the same quote number and the next revision counter (QT-2026-000001 第2版), and the
earlier one, kept as it was, becomes *superseded*.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.common import is_blank, parse_id
from crmkit.domain.errors import FieldErrors
from crmkit.domain.pricing import (
    QUANTITY_PLACES,
    DocumentTotals,
    PriceEntry,
    PriceLine,
    price_lines,
)
from crmkit.domain.states import StateMachine
from crmkit.domain.values import Money

CURRENCY: Final = "CNY"
MAX_LINES: Final = 500
DEFAULT_VALIDITY_DAYS: Final = 30


class QuoteStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a later revision replaced it


QUOTE_STATES: Final[StateMachine[QuoteStatus]] = StateMachine(
    "quote",
    {
        QuoteStatus.DRAFT: frozenset({QuoteStatus.SENT}),
        QuoteStatus.SENT: frozenset(
            {
                QuoteStatus.ACCEPTED,
                QuoteStatus.REJECTED,
                QuoteStatus.EXPIRED,
                QuoteStatus.SUPERSEDED,
            }
        ),
        QuoteStatus.REJECTED: frozenset({QuoteStatus.SUPERSEDED}),
        QuoteStatus.EXPIRED: frozenset({QuoteStatus.SUPERSEDED}),
    },
    {
        QuoteStatus.DRAFT: "草稿",
        QuoteStatus.SENT: "已发送",
        QuoteStatus.ACCEPTED: "已接受",
        QuoteStatus.REJECTED: "已拒绝",
        QuoteStatus.EXPIRED: "已过期",
        QuoteStatus.SUPERSEDED: "已出新版",
    },
)
"""draft -> sent -> accepted | rejected | expired; sent, rejected and expired quotes are
superseded by a revision; accepted and superseded are final."""


@attrs.frozen(kw_only=True)
class QuoteLine:
    """One line of a quote, as entered and as priced.

    Attributes:
        product_id: the catalogue product sold, if it is one (its name, specification,
            unit, price, VAT rate and cost were the line's defaults).
        name / specification / unit: what the customer reads (名称, 规格型号, 单位).
        quantity: more than zero, up to 4 decimal places.
        unit_price: with or without VAT, as the quote's ``prices_include_tax`` says.
        discount: the fraction taken off (0.1 = 10% off).
        tax_rate: VAT as a fraction (0.13).
        unit_cost: cost of one unit without VAT, for the margin (None: not costed).
        net / tax / gross: the line's amounts from :func:`~crmkit.domain.pricing.price_lines`.
    """

    product_id: str | None = None
    name: str
    specification: str | None = None
    unit: str | None = None
    quantity: Decimal
    unit_price: Money
    discount: Decimal = Decimal(0)
    tax_rate: Decimal
    unit_cost: Money | None = None
    net: Money
    tax: Money
    gross: Money

    def price_line(self) -> PriceLine:
        return PriceLine(
            quantity=self.quantity,
            unit_price=self.unit_price,
            tax_rate=self.tax_rate,
            discount=self.discount,
            unit_cost=self.unit_cost,
            product_id=self.product_id,
        )


@attrs.frozen(kw_only=True)
class Quote:
    """A quote (报价单), one revision of it.

    Attributes:
        number: this revision's document number: the quote number on the first revision
            (``QT-2026-000001``), with ``-V<n>`` on later ones (``QT-2026-000001-V2``).
        quote_number: the quote number every revision shares (``QT-2026-000001``).
        revision: 1 for the first, then 2, 3 … (第2版).
        previous_id: the revision this one replaced (None on the first).
        customer_id: the customer (its data scope is the quote's).
        opportunity_id: the customer's opportunity it prices, if any.
        owner_id: the salesperson responsible (default: whoever created it).
        prices_include_tax: whether the lines' unit prices include VAT (含税价, the default).
        currency: CNY.
        valid_until: the last day the offer holds (有效期至).
        lines: the lines, in order.
        net / tax / gross: the totals (不含税金额, 税额, 价税合计).
        cost / margin / margin_rate: the costed lines' cost, gross margin (毛利) and its rate.
        status: see :data:`QUOTE_STATES`.
    """

    id: str
    number: str | None = None
    quote_number: str = attrs.field(
        default=attrs.Factory(lambda self: self.number or "", takes_self=True)
    )
    revision: int = 1
    previous_id: str | None = None
    customer_id: str
    opportunity_id: str | None = None
    owner_id: str
    prices_include_tax: bool = True
    currency: str = CURRENCY
    valid_until: date
    lines: tuple[QuoteLine, ...] = ()
    net: Money
    tax: Money
    gross: Money
    cost: Money
    margin: Money
    margin_rate: Decimal | None = None
    status: QuoteStatus = QuoteStatus.DRAFT
    remarks: str | None = None
    sent_at: datetime | None = None
    decided_on: date | None = None
    decision_note: str | None = None
    custom: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def entry(self) -> PriceEntry:
        return PriceEntry.TAX_INCLUDED if self.prices_include_tax else PriceEntry.TAX_EXCLUDED

    @property
    def label(self) -> str:
        """``QT-2026-000001`` on the first revision, ``QT-2026-000001 第2版`` after."""
        return (
            self.quote_number if self.revision == 1 else f"{self.quote_number} 第{self.revision}版"
        )

    def totals(self) -> DocumentTotals:
        """The lines priced again (with the totals by tax rate an invoice lists)."""
        return price_lines(
            (line.price_line() for line in self.lines), entry=self.entry, currency=self.currency
        )


def revision_number(quote_number: str, revision: int) -> str:
    """``QT-2026-000001`` for revision 1, ``QT-2026-000001-V2`` for revision 2 …"""
    return quote_number if revision == 1 else f"{quote_number}-V{revision}"


# -- input ---------------------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class LineInput:
    """A line as the caller gave it, parsed; empty fields take the product's defaults."""

    product_id: str | None = None
    name: str | None = None
    specification: str | None = None
    unit: str | None = None
    quantity: Decimal | None = None
    unit_price: Money | None = None
    discount: Decimal | None = None
    tax_rate: Decimal | None = None
    unit_cost: Money | None = None


_LINE_FIELDS: Final = (
    f.text("name", 200),
    f.text("specification", 200),
    f.text("unit", 20),
    f.money("unit_price", currency=CURRENCY),
    f.rate("tax_rate"),
    f.money("unit_cost", currency=CURRENCY),
)


def parse_quantity(raw: Any, errors: FieldErrors, path: str) -> Decimal | None:
    """A quantity: a Decimal, an int or a text; its sign and places are pricing's check."""
    if is_blank(raw):
        return None
    if isinstance(raw, float | bool):
        errors.add(path, "number.invalid", raw)
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except ArithmeticError:
        errors.add(path, "number.invalid", raw)
        return None
    if not value.is_finite():
        errors.add(path, "number.invalid", raw)
        return None
    if value <= 0:
        errors.add(path, "number.positive", raw)
        return None
    if value != round(value, QUANTITY_PLACES):
        errors.add(path, "number.places", raw, places=QUANTITY_PLACES)
        return None
    return value


def parse_discount(raw: Any, errors: FieldErrors, path: str) -> Decimal | None:
    """The fraction taken off, 0 to 100% (``"10%"``, ``"0.1"``)."""
    return f.parse_fraction(raw, errors, path, code="pricing.discount", upto_one=True)


def parse_lines(raw: Any, errors: FieldErrors, path: str) -> tuple[LineInput, ...]:
    """Lines from a list of mappings (``{"product_id": …, "quantity": 10, …}``)."""
    if is_blank(raw):
        return ()
    if isinstance(raw, Mapping | str | bytes) or not isinstance(raw, Iterable):
        errors.add(path, "invalid_type", raw, expected="list")
        return ()
    items = list(raw)
    if len(items) > MAX_LINES:
        errors.add(path, "quote.too_many_lines", len(items), max=MAX_LINES)
        return ()
    out: list[LineInput] = []
    known = {"product_id", "quantity", "discount", *(x.name for x in _LINE_FIELDS)}
    for i, item in enumerate(items):
        at = f"{path}[{i}]"
        if isinstance(item, LineInput):
            out.append(item)
            continue
        if isinstance(item, QuoteLine):
            item = {k: getattr(item, k) for k in known}
        if not isinstance(item, Mapping):
            errors.add(at, "invalid_type", item, expected="mapping")
            continue
        for key, value in item.items():
            if key not in known:
                errors.add(f"{at}.{key}", "unknown_field", value)
        values: dict[str, Any] = {
            x.name: x.parse(item.get(x.name), errors, f"{at}.{x.name}")
            for x in _LINE_FIELDS
            if not is_blank(item.get(x.name))
        }
        out.append(
            LineInput(
                product_id=parse_id(item.get("product_id"), errors, f"{at}.product_id"),
                quantity=parse_quantity(item.get("quantity"), errors, f"{at}.quantity"),
                discount=parse_discount(item.get("discount"), errors, f"{at}.discount"),
                **values,
            )
        )
    return tuple(out)


QUOTE_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("opportunity_id"),
    f.ref("owner_id"),
    f.boolean("prices_include_tax", default=True),
    f.day("valid_until"),
    f.InputField("lines", parse_lines, default=(), kind="lines"),
    f.multiline("remarks", 1000),
)


# -- pricing -------------------------------------------------------------------------------
def priced(
    lines: Sequence[PriceLine], names: Sequence[Mapping[str, Any]], *, include_tax: bool
) -> tuple[tuple[QuoteLine, ...], dict[str, Any]]:
    """The quote's lines and header totals from :func:`price_lines` (which checks every
    line and raises ``ValidationError`` naming ``lines[i].field``)."""
    entry = PriceEntry.TAX_INCLUDED if include_tax else PriceEntry.TAX_EXCLUDED
    totals = price_lines(lines, entry=entry, currency=CURRENCY)
    out = tuple(
        QuoteLine(
            product_id=t.line.product_id,
            quantity=t.line.quantity,
            unit_price=t.line.unit_price,
            discount=t.line.discount,
            tax_rate=t.line.tax_rate,
            unit_cost=t.line.unit_cost,
            net=t.net,
            tax=t.tax,
            gross=t.gross,
            **text,
        )
        for t, text in zip(totals.lines, names, strict=True)
    )
    return out, totals_of(totals)


def totals_of(totals: DocumentTotals) -> dict[str, Any]:
    """The header fields a quote stores from its :class:`DocumentTotals`."""
    return {
        "net": totals.net,
        "tax": totals.tax,
        "gross": totals.gross,
        "cost": totals.cost,
        "margin": totals.margin,
        "margin_rate": totals.margin_rate,
    }
