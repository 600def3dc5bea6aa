"""Sales arithmetic (价税分离): the money of a quote's or an order's lines, and their totals.

Pure functions over value objects; quotes and orders call :func:`price_lines` on their lines.

A :class:`PriceLine` holds a quantity, a unit price, a discount (the fraction taken off:
``0.1`` is 10% off, what a Chinese price list writes as 九折), a VAT rate and, optionally, a
unit cost. Whether the unit prices include tax is a property of the whole document
(:class:`PriceEntry`), as on an invoice.

The rounding rule — the only one, applied to every line the same way:

1. The line's *entered amount* is ``quantity × unit price × (1 − discount)``, computed
   exactly and rounded **half-up to the fen** (the currency's minor unit). It is the line's
   gross (价税合计) when prices include tax, its net (不含税金额) when they do not.
2. The other side is derived from it, rounded half-up to the fen: ``net = gross ÷ (1 + rate)``
   for tax-inclusive entry, ``gross = net × (1 + rate)`` for tax-exclusive entry.
3. ``tax = gross − net`` (税额), so that ``net + tax = gross`` exactly on every line.

Header totals are the sums of the lines' rounded amounts, never rounded again, so a document
adds up to the fen; the totals by tax rate (what a 发票 lists) are the same sums per rate.

Gross margin (毛利) compares a line's net with its cost: ``unit cost × quantity`` rounded
half-up to the fen, the unit cost taken without VAT (input tax is deductible). Lines without a
unit cost are left out of the margin (both their net and their cost), and listed in
:attr:`DocumentTotals.uncosted_lines`. Margin rates are rounded half-up to 4 places
(``0.1234`` = 12.34%); a line or document whose net is zero has no margin rate (``None``).

Arithmetic is exact (fractions) until the one rounding step, so no intermediate precision can
move a result across a half-fen.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs
from babel.numbers import get_currency_precision

from crmkit.domain.errors import FieldErrors
from crmkit.domain.values import Money

QUANTITY_PLACES: Final = 4
"""Decimal places a quantity may have (``0.0001``)."""

RATE_PLACES: Final = 4
"""Decimal places of a margin rate (``0.1234`` = 12.34%)."""


class PriceEntry(enum.StrEnum):
    """How a document's unit prices were entered."""

    TAX_INCLUDED = "tax_included"  # 含税价
    TAX_EXCLUDED = "tax_excluded"  # 不含税价


@attrs.frozen(kw_only=True)
class PriceLine:
    """One line as entered: checked by :func:`price_lines`, not on construction.

    Attributes:
        quantity: more than zero, up to 4 decimal places.
        unit_price: not negative; with or without tax as the document says.
        tax_rate: VAT as a fraction from 0 to 1 (0.13, 0.09, 0.06, 0.03, 0).
        discount: the fraction taken off, from 0 (none) to 1 (free).
        unit_cost: cost of one unit without VAT, in the price's currency (for gross margin).
        product_id: the product the line sells, if it is one of the catalogue's.
    """

    quantity: Decimal
    unit_price: Money
    tax_rate: Decimal
    discount: Decimal = Decimal(0)
    unit_cost: Money | None = None
    product_id: str | None = None


@attrs.frozen(kw_only=True)
class LineTotals:
    """A line's amounts, each to the fen: ``net + tax == gross``.

    ``cost``, ``margin`` and ``margin_rate`` are None when the line has no unit cost;
    ``margin_rate`` also when its net is zero.
    """

    line: PriceLine
    net: Money
    tax: Money
    gross: Money
    cost: Money | None
    margin: Money | None
    margin_rate: Decimal | None


@attrs.frozen(kw_only=True)
class TaxRateTotals:
    """The lines at one tax rate, summed (a 发票's 税率 row)."""

    tax_rate: Decimal
    net: Money
    tax: Money
    gross: Money


@attrs.frozen(kw_only=True)
class DocumentTotals:
    """A document's lines and totals; every total is exactly the sum of its lines.

    Attributes:
        by_tax_rate: one entry per tax rate, highest rate first.
        costed_net: the net of the lines that have a cost (the margin's base).
        cost: the cost of those lines; ``margin = costed_net − cost``.
        uncosted_lines: indexes of the lines without a unit cost (left out of the margin).
    """

    entry: PriceEntry
    currency: str
    lines: tuple[LineTotals, ...]
    net: Money
    tax: Money
    gross: Money
    by_tax_rate: tuple[TaxRateTotals, ...]
    costed_net: Money
    cost: Money
    margin: Money
    margin_rate: Decimal | None
    uncosted_lines: tuple[int, ...]


def price_lines(
    lines: Iterable[PriceLine],
    *,
    entry: PriceEntry = PriceEntry.TAX_INCLUDED,
    currency: str | None = None,
) -> DocumentTotals:
    """Split every line into net, tax and gross, and total them.

    ``currency`` is the document's (default: the first line's price's, or CNY without lines);
    every price and cost must be in it.

    Raises:
        ValidationError: every wrong field at once, as ``lines[2].quantity``:
            ``number.positive`` (quantity not above zero), ``number.places`` (more than
            4 decimal places), ``number.invalid`` (not a number), ``money.negative``,
            ``pricing.discount``, ``pricing.tax_rate``, ``pricing.currency``.
    """
    given = tuple(lines)
    code = currency or (given[0].unit_price.currency if given else "CNY")
    errors = FieldErrors()
    for i, line in enumerate(given):
        check_line(line, errors, path=f"lines[{i}]", currency=code)
    errors.raise_if_any()
    places = get_currency_precision(code)
    priced = tuple(_price(line, entry, places) for line in given)
    zero = Money(Decimal(0), code)
    costed = [t for t in priced if t.cost is not None]
    costed_net = _sum((t.net for t in costed), zero)
    cost = _sum((t.cost for t in costed if t.cost is not None), zero)
    return DocumentTotals(
        entry=entry,
        currency=code,
        lines=priced,
        net=_sum((t.net for t in priced), zero),
        tax=_sum((t.tax for t in priced), zero),
        gross=_sum((t.gross for t in priced), zero),
        by_tax_rate=_by_tax_rate(priced, zero),
        costed_net=costed_net,
        cost=cost,
        margin=costed_net - cost,
        margin_rate=_margin_rate(costed_net.amount, cost.amount),
        uncosted_lines=tuple(i for i, t in enumerate(priced) if t.cost is None),
    )


def check_line(line: PriceLine, errors: FieldErrors, *, path: str, currency: str) -> None:
    """Add every wrong field of ``line`` to ``errors``, under ``path`` (``lines[0]``)."""
    quantity = _number(line.quantity)
    if quantity is None:
        errors.add(f"{path}.quantity", "number.invalid", line.quantity)
    elif quantity <= 0:
        errors.add(f"{path}.quantity", "number.positive", line.quantity)
    elif (quantity * 10**QUANTITY_PLACES).denominator != 1:
        errors.add(f"{path}.quantity", "number.places", line.quantity, places=QUANTITY_PLACES)
    _check_money(line.unit_price, errors, f"{path}.unit_price", currency)
    if line.unit_cost is not None:
        _check_money(line.unit_cost, errors, f"{path}.unit_cost", currency)
    for name, value in (("discount", line.discount), ("tax_rate", line.tax_rate)):
        rate = _number(value)
        if rate is None or not 0 <= rate <= 1:
            errors.add(f"{path}.{name}", f"pricing.{name}", value)


def _check_money(value: Any, errors: FieldErrors, path: str, currency: str) -> None:
    if not isinstance(value, Money):
        errors.add(path, "money.invalid", value)
    elif value.currency != currency:
        errors.add(path, "pricing.currency", str(value), currency=value.currency, expected=currency)
    elif value.amount < 0:
        errors.add(path, "money.negative", str(value))


def _number(value: Any) -> Fraction | None:
    """An exact Decimal or int as a fraction; None for floats, bools, NaN, infinity, text."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    return Fraction(value)


def _round(value: Fraction, places: int) -> Decimal:
    """``value`` rounded half-up (ties away from zero, as ``ROUND_HALF_UP``) to ``places``."""
    units = math.floor(abs(value) * 10**places + Fraction(1, 2))
    return Decimal(-units if value < 0 else units).scaleb(-places)


def _price(line: PriceLine, entry: PriceEntry, places: int) -> LineTotals:
    currency = line.unit_price.currency
    quantity = Fraction(line.quantity)
    rate = Fraction(line.tax_rate)
    entered = _round(
        quantity * Fraction(line.unit_price.amount) * (1 - Fraction(line.discount)), places
    )
    if entry is PriceEntry.TAX_INCLUDED:
        gross = entered
        net = _round(Fraction(gross) / (1 + rate), places)
    else:
        net = entered
        gross = _round(Fraction(net) * (1 + rate), places)
    cost = margin = None
    margin_rate = None
    if line.unit_cost is not None:
        cost = Money(_round(quantity * Fraction(line.unit_cost.amount), places), currency)
        margin = Money(net, currency) - cost
        margin_rate = _margin_rate(net, cost.amount)
    return LineTotals(
        line=line,
        net=Money(net, currency),
        tax=Money(gross - net, currency),
        gross=Money(gross, currency),
        cost=cost,
        margin=margin,
        margin_rate=margin_rate,
    )


def _margin_rate(net: Decimal, cost: Decimal) -> Decimal | None:
    """``(net − cost) ÷ net`` to 4 places; None for a zero net."""
    if net == 0:
        return None
    return _round((Fraction(net) - Fraction(cost)) / Fraction(net), RATE_PLACES)


def _sum(amounts: Iterable[Money], zero: Money) -> Money:
    total = zero
    for amount in amounts:
        total += amount
    return total


def _by_tax_rate(priced: Sequence[LineTotals], zero: Money) -> tuple[TaxRateTotals, ...]:
    groups: dict[Decimal, list[LineTotals]] = {}
    for t in priced:
        groups.setdefault(Decimal(t.line.tax_rate).normalize(), []).append(t)
    return tuple(
        TaxRateTotals(
            tax_rate=rate,
            net=_sum((t.net for t in group), zero),
            tax=_sum((t.tax for t in group), zero),
            gross=_sum((t.gross for t in group), zero),
        )
        for rate, group in sorted(groups.items(), reverse=True)
    )
