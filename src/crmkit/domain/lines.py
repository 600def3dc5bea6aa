"""The lines of sales documents (quotes and orders): what is sold, how many, at what price,
and the amounts :func:`crmkit.domain.pricing.price_lines` works out for them.

A quote and the order made from it carry the same lines, so they share this one shape, its
parsing (every wrong cell named ``lines[i].field``) and the header totals stored with the
document (不含税金额, 税额, 价税合计, 成本, 毛利).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
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
from crmkit.domain.values import Money

CURRENCY: Final = "CNY"
MAX_LINES: Final = 500


@attrs.frozen(kw_only=True)
class SalesLine:
    """One line of a sales document (a quote or an order), as entered and as priced.

    Attributes:
        product_id: the catalogue product sold, if it is one (its name, specification,
            unit, price, VAT rate and cost were the line's defaults).
        name / specification / unit: what the customer reads (名称, 规格型号, 单位).
        quantity: more than zero, up to 4 decimal places.
        unit_price: with or without VAT, as the document's ``prices_include_tax`` says.
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


class PricedDocument:
    """What a document with :class:`SalesLine` s offers on top of its fields (quotes and
    orders are attrs classes that inherit it): how its prices were entered, its lines
    priced again, its label. The subclass has ``prices_include_tax``, ``currency``,
    ``lines``, ``revision``, ``deleted_at`` and the number its revisions share
    (:attr:`base_number`)."""

    prices_include_tax: bool
    currency: str
    lines: tuple[SalesLine, ...]
    revision: int
    deleted_at: datetime | None

    @property
    def base_number(self) -> str:
        """The number every revision shares (``QT-2026-000001``)."""
        raise NotImplementedError

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def entry(self) -> PriceEntry:
        return PriceEntry.TAX_INCLUDED if self.prices_include_tax else PriceEntry.TAX_EXCLUDED

    @property
    def label(self) -> str:
        """``SO-2027-000001`` on the first revision, ``SO-2027-000001 第2版`` after."""
        number = self.base_number
        return number if self.revision == 1 else f"{number} 第{self.revision}版"

    def totals(self) -> DocumentTotals:
        """The lines priced again (with the totals by tax rate an invoice lists)."""
        return price_lines(
            (line.price_line() for line in self.lines), entry=self.entry, currency=self.currency
        )


def revision_number(base: str, revision: int) -> str:
    """``QT-2026-000001`` for revision 1, ``QT-2026-000001-V2`` for revision 2 …"""
    return base if revision == 1 else f"{base}-V{revision}"


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
        errors.add(path, "lines.too_many", len(items), max=MAX_LINES)
        return ()
    out: list[LineInput] = []
    known = {"product_id", "quantity", "discount", *(x.name for x in _LINE_FIELDS)}
    for i, item in enumerate(items):
        at = f"{path}[{i}]"
        if isinstance(item, LineInput):
            out.append(item)
            continue
        if isinstance(item, SalesLine):
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


# -- pricing -------------------------------------------------------------------------------
def priced(
    lines: Sequence[PriceLine], names: Sequence[Mapping[str, Any]], *, include_tax: bool
) -> tuple[tuple[SalesLine, ...], dict[str, Any]]:
    """A document's lines and header totals from :func:`price_lines` (which checks every
    line and raises ``ValidationError`` naming ``lines[i].field``)."""
    entry = PriceEntry.TAX_INCLUDED if include_tax else PriceEntry.TAX_EXCLUDED
    totals = price_lines(lines, entry=entry, currency=CURRENCY)
    out = tuple(
        SalesLine(
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
    """The header fields a sales document stores from its :class:`DocumentTotals`."""
    return {
        "net": totals.net,
        "tax": totals.tax,
        "gross": totals.gross,
        "cost": totals.cost,
        "margin": totals.margin,
        "margin_rate": totals.margin_rate,
    }
