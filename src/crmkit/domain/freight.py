"""Freight (运费): what a delivery costs to ship, by one configurable rule.

Seed 004 works freight out on the delivery note, by weight, by region or by amount. A CRM has
one :class:`FreightRule` (``crmkit.open(freight=...)``); each delivery of an order is charged
by it when it is recorded delivered, and the order's freight is the sum of its deliveries'.

- **by weight** (首重/续重, as Chinese carriers price): ``first_fee`` covers the first
  ``first_kg``; each further kilogram *started* costs ``extra_per_kg`` (2.1 kg over a 1 kg
  first weight is 2 more kilograms);
- **by region**: a fee per province (the delivery's region), ``default_fee`` elsewhere;
- **by amount**: ``fee`` for each delivery.

Any rule may ship free from an amount on (``free_from``: deliveries whose goods are worth at
least that, tax included). Pure: the orders workflow gives it the weight, region and value.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Final

import attrs

from crmkit.domain.regions import Region
from crmkit.domain.values import Money

_ZERO: Final = Money(Decimal(0))


class FreightBasis(enum.StrEnum):
    WEIGHT = "weight"
    REGION = "region"
    AMOUNT = "amount"


@attrs.frozen(kw_only=True)
class Shipment:
    """What a delivery ships: its weight in kg (None if some product has no weight), the
    region it goes to and the value of its goods (tax included)."""

    weight: Decimal | None
    region: Region | None
    value: Money


class FreightError(ValueError):
    """The rule cannot charge this shipment (by weight, a product without a weight)."""


@attrs.frozen(kw_only=True)
class FreightRule:
    """One CRM's freight rule; build it with :meth:`by_weight`, :meth:`by_region` or
    :meth:`by_amount`."""

    basis: FreightBasis
    first_kg: Decimal = Decimal(1)
    first_fee: Money = _ZERO
    extra_per_kg: Money = _ZERO
    region_fees: Mapping[str, Money] = attrs.field(factory=dict)  # by province code (37)
    default_fee: Money = _ZERO
    fee: Money = _ZERO
    free_from: Money | None = None

    @classmethod
    def by_weight(
        cls,
        *,
        first_kg: Decimal | str | int = 1,
        first_fee: Money | str,
        extra_per_kg: Money | str,
        free_from: Money | str | None = None,
    ) -> FreightRule:
        """首重 ``first_kg`` for ``first_fee``, each further started kilogram
        ``extra_per_kg``."""
        kg = Decimal(str(first_kg))
        if kg <= 0:
            raise ValueError("the first weight must be more than 0 kg")
        return cls(
            basis=FreightBasis.WEIGHT,
            first_kg=kg,
            first_fee=_money(first_fee),
            extra_per_kg=_money(extra_per_kg),
            free_from=_money(free_from) if free_from is not None else None,
        )

    @classmethod
    def by_region(
        cls,
        fees: Mapping[str, Money | str],
        *,
        default: Money | str,
        free_from: Money | str | None = None,
    ) -> FreightRule:
        """A fee per province (``{"山东省": "20.00", "新疆": "80.00"}``: any way
        :meth:`Region.parse <crmkit.domain.regions.Region.parse>` reads a province),
        ``default`` for the rest and for a delivery without a region.

        Raises:
            ValidationError: a name that is not a region.
        """
        provinces = {Region.parse(name).code[:2]: _money(fee) for name, fee in fees.items()}
        return cls(
            basis=FreightBasis.REGION,
            region_fees=provinces,
            default_fee=_money(default),
            free_from=_money(free_from) if free_from is not None else None,
        )

    @classmethod
    def by_amount(cls, fee: Money | str, *, free_from: Money | str | None = None) -> FreightRule:
        """``fee`` per delivery, free from ``free_from`` on (包邮门槛)."""
        return cls(
            basis=FreightBasis.AMOUNT,
            fee=_money(fee),
            free_from=_money(free_from) if free_from is not None else None,
        )

    def charge(self, shipment: Shipment) -> Money:
        """The freight of ``shipment``, to the fen.

        Raises:
            FreightError: by weight, and the weight is unknown.
        """
        return self._charge(shipment).quantize()

    def _charge(self, shipment: Shipment) -> Money:
        if self.free_from is not None and shipment.value.amount >= self.free_from.amount:
            return Money(Decimal(0), shipment.value.currency)
        if self.basis is FreightBasis.AMOUNT:
            return self.fee
        if self.basis is FreightBasis.REGION:
            return self._region_fee(shipment.region)
        if shipment.weight is None:
            raise FreightError("a product shipped has no weight")
        extra = max(Decimal(0), shipment.weight - self.first_kg)
        started = extra.to_integral_value(rounding=ROUND_CEILING)
        return self.first_fee + self.extra_per_kg * started

    def _region_fee(self, region: Region | None) -> Money:
        if region is None:
            return self.default_fee
        return self.region_fees.get(region.code[:2], self.default_fee)


def _money(value: Money | str) -> Money:
    return value if isinstance(value, Money) else Money.parse(value)
