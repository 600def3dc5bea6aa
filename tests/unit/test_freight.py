"""Freight rules (运费): by weight (首重/续重, each started kilogram), by province, by
amount, free from an amount on; always to the fen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit import FreightRule, Money, Region, ValidationError
from crmkit.domain.freight import FreightError, Shipment

QINGDAO = Region.parse("山东省/青岛市/市南区")
URUMQI = Region.parse("新疆维吾尔自治区/乌鲁木齐市")


def ship(weight: str | None = "1", region: Region | None = QINGDAO, value: str = "100") -> Shipment:
    return Shipment(
        weight=Decimal(weight) if weight is not None else None,
        region=region,
        value=Money(Decimal(value)),
    )


@pytest.mark.parametrize(
    ("kg", "fee"),
    [("0.3", "12.00"), ("1", "12.00"), ("1.01", "17.00"), ("2", "17.00"), ("10.5", "62.00")],
)
def test_by_weight_the_first_kilogram_then_each_started_one(kg, fee):
    rule = FreightRule.by_weight(first_fee="12", extra_per_kg="5")
    assert str(rule.charge(ship(kg))) == f"{fee} CNY"


def test_by_weight_an_unknown_weight_cannot_be_charged():
    with pytest.raises(FreightError):
        FreightRule.by_weight(first_fee="12", extra_per_kg="5").charge(ship(None))


def test_by_region_a_province_by_any_of_its_names_and_a_default_elsewhere():
    rule = FreightRule.by_region({"山东": "20", "新疆维吾尔自治区": "80"}, default="40")
    assert str(rule.charge(ship(region=QINGDAO))) == "20.00 CNY"
    assert str(rule.charge(ship(region=URUMQI))) == "80.00 CNY"
    assert str(rule.charge(ship(region=Region.parse("广东省/深圳市")))) == "40.00 CNY"
    assert str(rule.charge(ship(region=None))) == "40.00 CNY"
    with pytest.raises(ValidationError):
        FreightRule.by_region({"火星": "1"}, default="40")


@given(
    value=st.decimals(0, 100_000, places=2),
    weight=st.decimals(Decimal("0.001"), 500, places=3),
)
def test_free_from_an_amount_on_whatever_the_basis(value, weight):
    for rule in (
        FreightRule.by_amount("15", free_from="5000"),
        FreightRule.by_weight(first_fee="12", extra_per_kg="5", free_from="5000"),
        FreightRule.by_region({"山东": "20"}, default="40", free_from="5000"),
    ):
        fee = rule.charge(ship(str(weight), value=str(value)))
        assert fee.amount == fee.amount.quantize(Decimal("0.01"))  # to the fen
        assert (fee.amount == 0) is (value >= 5000)


def test_a_first_weight_must_be_positive():
    with pytest.raises(ValueError, match="first weight"):
        FreightRule.by_weight(first_kg=0, first_fee="12", extra_per_kg="5")
