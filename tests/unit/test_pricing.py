"""Sales arithmetic: 价税分离 per line, header totals, totals by tax rate, gross margin."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmkit.domain.errors import ValidationError
from crmkit.domain.pricing import (
    DocumentTotals,
    LineTotals,
    PriceEntry,
    PriceLine,
    TaxRateTotals,
    price_lines,
)
from crmkit.domain.values import Money

D = Decimal
IN = PriceEntry.TAX_INCLUDED
EX = PriceEntry.TAX_EXCLUDED
FEN = D("0.01")


def cny(amount: str) -> Money:
    return Money(D(amount))


def line(
    quantity: str | int = 1,
    price: str = "100",
    rate: str = "0.13",
    discount: str = "0",
    cost: str | None = None,
    **kw: Any,
) -> PriceLine:
    return PriceLine(
        quantity=D(quantity),
        unit_price=cny(price),
        tax_rate=D(rate),
        discount=D(discount),
        unit_cost=None if cost is None else cny(cost),
        **kw,
    )


def one(entry: PriceEntry = IN, **kw: Any) -> LineTotals:
    return price_lines([line(**kw)], entry=entry).lines[0]


def split(t: LineTotals | TaxRateTotals | DocumentTotals) -> tuple[str, str, str]:
    return (str(t.net.amount), str(t.tax.amount), str(t.gross.amount))


# -- known invoice figures ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("price", "rate", "expected"),
    [
        ("1130.00", "0.13", ("1000.00", "130.00", "1130.00")),
        ("1090", "0.09", ("1000.00", "90.00", "1090.00")),
        ("1060", "0.06", ("1000.00", "60.00", "1060.00")),
        ("1030", "0.03", ("1000.00", "30.00", "1030.00")),
        ("1000", "0", ("1000.00", "0.00", "1000.00")),
        # 100 ÷ 1.13 = 88.4955…: net 88.50, tax 11.50
        ("100", "0.13", ("88.50", "11.50", "100.00")),
        # 99.99 ÷ 1.13 = 88.486…
        ("99.99", "0.13", ("88.49", "11.50", "99.99")),
        # 0.01 ÷ 1.13 = 0.00885: the fen stays whole, net rounds up to it
        ("0.01", "0.13", ("0.01", "0.00", "0.01")),
    ],
)
def test_a_tax_inclusive_price_splits_as_an_invoice_does(price, rate, expected):
    assert split(one(price=price, rate=rate)) == expected


@pytest.mark.parametrize(
    ("price", "rate", "expected"),
    [
        ("1000", "0.13", ("1000.00", "130.00", "1130.00")),
        ("88.50", "0.13", ("88.50", "11.51", "100.01")),  # 11.505 rounds half-up
        ("1000", "0.09", ("1000.00", "90.00", "1090.00")),
        ("0.04", "0.13", ("0.04", "0.01", "0.05")),  # 0.0052 → 0.01
        ("0.03", "0.13", ("0.03", "0.00", "0.03")),  # 0.0039 → 0.00
        ("500", "0", ("500.00", "0.00", "500.00")),
    ],
)
def test_a_tax_exclusive_price_adds_the_tax(price, rate, expected):
    assert split(one(EX, price=price, rate=rate)) == expected


def test_the_entered_amount_rounds_half_up_to_the_fen():
    # 3 × 0.335 = 1.005 → 1.01 (half-up, not half-even's 1.00)
    assert one(EX, quantity=3, price="0.335", rate="0").net.amount == D("1.01")
    assert one(IN, quantity=3, price="0.335", rate="0").gross.amount == D("1.01")
    # 3 × 0.3349 = 1.0047 → 1.00
    assert one(EX, quantity=3, price="0.3349", rate="0").net.amount == D("1.00")
    # the gross side of a tax-inclusive price is rounded the same way: 0.565 → 0.57
    assert one(IN, price="0.565", rate="0").gross.amount == D("0.57")


def test_a_half_fen_net_from_a_tax_inclusive_gross_rounds_up():
    # rate 1 (100%): gross 0.03 ÷ 2 = 0.015 → 0.02 (half-up), tax 0.01
    t = one(price="0.03", rate="1")
    assert split(t) == ("0.02", "0.01", "0.03")
    # tax-exclusive, rate 0.5: 0.01 × 1.5 = 0.015 → 0.02
    assert split(one(EX, price="0.01", rate="0.5")) == ("0.01", "0.01", "0.02")


def test_the_whole_line_is_rounded_once_not_the_unit_price():
    # 3 × 33.333 = 99.999 → 100.00 (rounding the unit price first would give 99.99)
    assert one(IN, quantity=3, price="33.333", rate="0").gross.amount == D("100.00")
    # 1.5 kg at 9.99: 14.985 → 14.99
    assert one(EX, quantity="1.5", price="9.99", rate="0").net.amount == D("14.99")


def test_a_discount_takes_its_fraction_off_before_rounding():
    # 九折 (10% off) of 1130 tax-inclusive: 1017.00 → net 900.00, tax 117.00
    assert split(one(price="1130", discount="0.1")) == ("900.00", "117.00", "1017.00")
    # 3 × 10 at 33.35% off = 19.995 → 20.00
    assert one(EX, quantity=3, price="10", rate="0", discount="0.3335").net.amount == D("20.00")
    # free (100% off)
    assert split(one(price="99", discount="1")) == ("0.00", "0.00", "0.00")


def test_amounts_are_money_in_the_lines_currency_to_its_minor_unit():
    t = price_lines(
        [PriceLine(quantity=D(3), unit_price=Money(D("333.5"), "JPY"), tax_rate=D("0.1"))],
        entry=EX,
    )
    assert t.currency == "JPY"
    # 1000.5 → 1001 yen (no minor unit); tax 100.1 → 100
    assert (t.net, t.tax, t.gross) == (
        Money(D("1001"), "JPY"),
        Money(D("100"), "JPY"),
        Money(D("1101"), "JPY"),
    )
    assert t.lines[0].net.amount.as_tuple().exponent == 0


def test_amounts_carry_exactly_two_places_for_cny():
    t = one(EX, price="7", rate="0")
    assert str(t.net.amount) == "7.00"
    assert str(t.gross.amount) == "7.00"
    assert t.net.currency == "CNY"


# -- a document -----------------------------------------------------------------------------
def test_a_mixed_rate_invoice_totals_by_line_and_by_rate():
    doc = price_lines(
        [
            line(quantity=2, price="565", rate="0.13"),  # 1130 → 1000 + 130
            line(quantity=1, price="109", rate="0.09"),  # 109 → 100 + 9
            line(quantity=3, price="33.333", rate="0.13"),  # 100.00 → 88.50 + 11.50
            line(quantity=1, price="10.60", rate="0.06"),  # 10.60 → 10 + 0.60
            line(quantity=1, price="50", rate="0"),
        ]
    )
    assert split(doc) == ("1248.50", "151.10", "1399.60")
    assert [(str(r.tax_rate), *split(r)) for r in doc.by_tax_rate] == [
        ("0.13", "1088.50", "141.50", "1230.00"),
        ("0.09", "100.00", "9.00", "109.00"),
        ("0.06", "10.00", "0.60", "10.60"),
        ("0", "50.00", "0.00", "50.00"),
    ]
    assert doc.entry is IN


def test_the_header_is_the_sum_of_rounded_lines_not_a_rounded_sum():
    # three lines of 0.01 at 13%: each splits 0.01 + 0.00; the sum of the unrounded nets
    # (3 × 0.00885 = 0.0265) would round to 0.03 too, but one line of 0.03 splits 0.03/0.00
    doc = price_lines([line(price="0.05", rate="0.13")] * 3)
    # 0.05 ÷ 1.13 = 0.04425 → 0.04, tax 0.01 each: header 0.12 + 0.03 = 0.15
    assert split(doc) == ("0.12", "0.03", "0.15")
    # a header rounded once would say 0.15 ÷ 1.13 = 0.1327 → 0.13 + 0.02
    assert split(price_lines([line(price="0.15", rate="0.13")])) == ("0.13", "0.02", "0.15")


def test_equal_rates_written_differently_are_one_rate():
    doc = price_lines([line(rate="0.13"), line(rate="0.130"), line(rate="0.1300")])
    assert [r.tax_rate for r in doc.by_tax_rate] == [D("0.13")]
    assert str(doc.by_tax_rate[0].tax_rate) == "0.13"
    assert doc.by_tax_rate[0].gross.amount == D("300.00")


def test_an_empty_document_totals_zero_in_its_currency():
    doc = price_lines([], currency="USD")
    assert (doc.net, doc.tax, doc.gross) == (Money.zero("USD"),) * 3
    assert doc.by_tax_rate == ()
    assert doc.margin == Money.zero("USD")
    assert doc.margin_rate is None
    assert price_lines([]).currency == "CNY"


def test_the_lines_keep_what_was_entered():
    entered = line(product_id="p-1")
    doc = price_lines([entered])
    assert doc.lines[0].line is entered
    assert doc.lines[0].line.product_id == "p-1"


def test_int_quantities_and_rates_are_exact_numbers_too():
    doc = price_lines(
        [PriceLine(quantity=2, unit_price=cny("10"), tax_rate=0, discount=0)],  # type: ignore[arg-type]
        entry=EX,
    )
    assert split(doc) == ("20.00", "0.00", "20.00")
    assert doc.by_tax_rate[0].tax_rate == 0


# -- gross margin ---------------------------------------------------------------------------
def test_margin_compares_net_with_cost_times_quantity():
    t = one(quantity=2, price="565", cost="300")  # net 1000, cost 600
    assert t.cost == cny("600.00")
    assert t.margin == cny("400.00")
    assert t.margin_rate == D("0.4000")


def test_a_line_cost_rounds_half_up_to_the_fen():
    t = one(EX, quantity=3, price="1", rate="0", cost="0.335")  # 1.005 → 1.01
    assert t.cost == cny("1.01")
    assert t.margin == cny("1.99")
    assert t.margin_rate == D("0.6633")  # 1.99 / 3 = 0.66333…


def test_margin_rates_round_half_up_to_four_places_both_ways():
    # 0.00005 exactly → 0.0001; −0.00005 → −0.0001
    assert one(EX, price="200", rate="0", cost="199.99").margin_rate == D("0.0001")
    assert one(EX, price="200", rate="0", cost="200.01").margin_rate == D("-0.0001")
    # 0.00004… → 0.0000
    assert one(EX, price="250", rate="0", cost="249.99").margin_rate == D("0.0000")
    assert one(EX, price="250", rate="0", cost="250.01").margin_rate == D("0.0000")
    # a loss
    loss = one(EX, price="100", rate="0", cost="150")
    assert loss.margin == cny("-50.00")
    assert loss.margin_rate == D("-0.5000")


def test_costs_and_margins_are_in_the_documents_currency():
    doc = price_lines(
        [
            PriceLine(
                quantity=D(2),
                unit_price=Money(D("10"), "USD"),
                tax_rate=D(0),
                unit_cost=Money(D("4"), "USD"),
            )
        ],
        entry=EX,
    )
    t = doc.lines[0]
    assert (t.cost, t.margin) == (Money(D("8.00"), "USD"), Money(D("12.00"), "USD"))
    assert t.margin_rate == D("0.6000")
    assert (doc.cost, doc.margin) == (t.cost, t.margin)


def test_a_line_without_cost_has_no_margin():
    t = one()
    assert (t.cost, t.margin, t.margin_rate) == (None, None, None)


def test_a_free_line_has_a_margin_but_no_margin_rate():
    t = one(price="100", discount="1", cost="30")
    assert t.margin == cny("-30.00")
    assert t.margin_rate is None


def test_the_document_margin_leaves_out_lines_without_cost():
    doc = price_lines(
        [
            line(quantity=2, price="565", cost="300"),  # net 1000, cost 600
            line(price="1130"),  # net 1000, no cost
            line(price="113", cost="25.5"),  # net 100, cost 25.50
        ]
    )
    assert doc.uncosted_lines == (1,)
    assert doc.costed_net == cny("1100.00")
    assert doc.cost == cny("625.50")
    assert doc.margin == cny("474.50")
    assert doc.margin_rate == D("0.4314")  # 474.5 / 1100 = 0.43136…
    assert doc.net == cny("2100.00")


def test_a_document_without_costs_has_no_margin_rate():
    doc = price_lines([line(), line()])
    assert doc.uncosted_lines == (0, 1)
    assert doc.cost == Money.zero()
    assert doc.margin == Money.zero()
    assert doc.margin_rate is None


# -- bad input ------------------------------------------------------------------------------
def codes(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def test_every_wrong_field_is_named_with_its_line():
    with pytest.raises(ValidationError) as caught:
        price_lines(
            [
                line(),
                line(quantity=0),
                line(quantity=-1, price="-0.01", discount="1.01", rate="-0.01"),
                line(discount="-0.1", rate="1.01", cost="-1"),
            ]
        )
    assert codes(caught) == [
        ("lines[1].quantity", "number.positive"),
        ("lines[2].quantity", "number.positive"),
        ("lines[2].unit_price", "money.negative"),
        ("lines[2].discount", "pricing.discount"),
        ("lines[2].tax_rate", "pricing.tax_rate"),
        ("lines[3].unit_cost", "money.negative"),
        ("lines[3].discount", "pricing.discount"),
        ("lines[3].tax_rate", "pricing.tax_rate"),
    ]
    values = [e.value for e in caught.value.errors]
    assert values == [
        D(0),
        D(-1),
        "-0.01 CNY",
        D("1.01"),
        D("-0.01"),
        "-1 CNY",
        D("-0.1"),
        D("1.01"),
    ]


def test_the_limits_themselves_are_allowed():
    doc = price_lines(
        [
            line(quantity="0.0001", price="0", discount="0", rate="0", cost="0"),
            line(quantity="9999.9999", price="1", discount="1", rate="1"),
        ]
    )
    assert doc.gross == Money(D("0.00"))


def test_a_quantity_has_at_most_four_decimal_places():
    with pytest.raises(ValidationError) as caught:
        price_lines([line(quantity="0.00001"), line(quantity="1.23456"), line(quantity="1.00000")])
    assert codes(caught) == [
        ("lines[0].quantity", "number.places"),
        ("lines[1].quantity", "number.places"),
    ]
    assert [e.value for e in caught.value.errors] == [D("0.00001"), D("1.23456")]
    assert caught.value.errors[0].message("en") == "must have at most 4 decimal places"
    assert caught.value.errors[0].message("zh") == "最多保留 4 位小数"


@pytest.mark.parametrize("bad", [1.5, True, D("NaN"), D("Infinity"), "2", None])
def test_a_quantity_must_be_an_exact_number(bad):
    with pytest.raises(ValidationError) as caught:
        price_lines([PriceLine(quantity=bad, unit_price=cny("1"), tax_rate=D(0))])
    assert codes(caught) == [("lines[0].quantity", "number.invalid")]
    assert caught.value.errors[0].value is bad


@pytest.mark.parametrize("bad", [0.13, False, D("NaN"), D("-Infinity"), "0.13", None])
def test_rates_must_be_exact_numbers(bad):
    with pytest.raises(ValidationError) as caught:
        price_lines([PriceLine(quantity=D(1), unit_price=cny("1"), tax_rate=bad, discount=bad)])
    assert codes(caught) == [
        ("lines[0].discount", "pricing.discount"),
        ("lines[0].tax_rate", "pricing.tax_rate"),
    ]


def test_prices_and_costs_must_be_money():
    with pytest.raises(ValidationError) as caught:
        price_lines(
            [PriceLine(quantity=D(1), unit_price=D(1), tax_rate=D(0), unit_cost=D(1))],  # type: ignore[arg-type]
            currency="CNY",
        )
    assert codes(caught) == [
        ("lines[0].unit_price", "money.invalid"),
        ("lines[0].unit_cost", "money.invalid"),
    ]
    assert [e.value for e in caught.value.errors] == [D(1), D(1)]


def test_mixed_currencies_are_refused():
    usd = Money(D("10"), "USD")
    with pytest.raises(ValidationError) as caught:
        price_lines(
            [
                line(),
                PriceLine(quantity=D(1), unit_price=usd, tax_rate=D(0)),
                PriceLine(quantity=D(1), unit_price=cny("1"), tax_rate=D(0), unit_cost=usd),
                PriceLine(quantity=D(1), unit_price=-usd, tax_rate=D(0)),
            ]
        )
    assert codes(caught) == [
        ("lines[1].unit_price", "pricing.currency"),
        ("lines[2].unit_cost", "pricing.currency"),
        ("lines[3].unit_price", "pricing.currency"),
    ]
    err = caught.value.errors[0]
    assert err.message("en") == "is in USD, not in the document's currency CNY"
    assert err.message("zh") == "币种为 USD，与单据币种 CNY 不一致"
    assert err.value == "10 USD"


def test_the_document_currency_is_the_first_lines_unless_given():
    with pytest.raises(ValidationError) as caught:
        price_lines([line()], currency="USD")
    assert codes(caught) == [("lines[0].unit_price", "pricing.currency")]
    usd = PriceLine(quantity=D(1), unit_price=Money(D(5), "USD"), tax_rate=D(0))
    assert price_lines([usd]).gross == Money(D("5.00"), "USD")


def test_messages_and_labels_in_both_languages():
    with pytest.raises(ValidationError) as caught:
        price_lines([line(quantity=0, discount="2", rate="1.5", price="-1")])
    e = caught.value
    assert e.message("zh").startswith("4 个字段有误：明细数量、明细单价、明细折扣、明细税率")
    assert "明细折扣：不是 0 到 100% 之间的折扣" in e.message("zh")
    assert "明细税率：不是 0 到 100% 之间的税率" in e.message("zh")
    assert "line discount: is not a discount from 0 to 100%" in e.message("en")
    assert "line tax rate: is not a tax rate from 0 to 100%" in e.message("en")
    assert "line quantity: must be greater than zero" in e.message("en")
    assert "line unit price: must not be negative" in e.message("en")


# -- properties -----------------------------------------------------------------------------
def fen_multiple(m: Money) -> bool:
    return m.amount == m.amount.quantize(FEN) and m.amount.as_tuple().exponent == -2


quantities = st.decimals(min_value=D("0.0001"), max_value=D(100000), places=4)
prices = st.decimals(min_value=0, max_value=D(1000000), places=4)
fractions = st.decimals(min_value=0, max_value=1, places=4)
tax_rates = st.one_of(
    st.sampled_from([D("0.13"), D("0.09"), D("0.06"), D("0.03"), D(0)]), fractions
)


@st.composite
def price_lines_(draw: st.DrawFn) -> PriceLine:
    cost = draw(st.none() | prices)
    return PriceLine(
        quantity=draw(quantities),
        unit_price=Money(draw(prices)),
        tax_rate=draw(tax_rates),
        discount=draw(st.just(D(0)) | fractions),
        unit_cost=None if cost is None else Money(cost),
    )


entries = st.sampled_from(PriceEntry)


@given(st.lists(price_lines_(), max_size=8), entries)
def test_every_line_splits_to_the_fen_and_the_header_sums_the_lines(lines, entry):
    doc = price_lines(lines, entry=entry)
    for t in doc.lines:
        assert t.net + t.tax == t.gross
        assert all(fen_multiple(m) for m in (t.net, t.tax, t.gross))
        assert Money.zero() <= t.net <= t.gross
        assert t.tax.amount >= 0
    assert doc.net.amount == sum((t.net.amount for t in doc.lines), D(0))
    assert doc.tax.amount == sum((t.tax.amount for t in doc.lines), D(0))
    assert doc.gross.amount == sum((t.gross.amount for t in doc.lines), D(0))
    assert doc.net + doc.tax == doc.gross


@given(st.lists(price_lines_(), max_size=8), entries)
def test_totals_by_tax_rate_sum_to_the_header(lines, entry):
    doc = price_lines(lines, entry=entry)
    by_rate = doc.by_tax_rate
    assert len({r.tax_rate for r in by_rate}) == len(by_rate)
    assert [r.tax_rate for r in by_rate] == sorted((r.tax_rate for r in by_rate), reverse=True)
    assert {r.tax_rate for r in by_rate} == {line.tax_rate for line in lines}
    for field in ("net", "tax", "gross"):
        total = sum((getattr(r, field).amount for r in by_rate), D(0))
        assert total == getattr(doc, field).amount
    for r in by_rate:
        assert r.net + r.tax == r.gross


@given(st.lists(price_lines_(), max_size=8), entries)
def test_the_margin_is_over_the_costed_lines_only(lines, entry):
    doc = price_lines(lines, entry=entry)
    costed = [t for t in doc.lines if t.line.unit_cost is not None]
    assert doc.uncosted_lines == tuple(i for i, x in enumerate(lines) if x.unit_cost is None)
    assert doc.costed_net.amount == sum((t.net.amount for t in costed), D(0))
    assert doc.cost.amount == sum((t.cost.amount for t in costed if t.cost), D(0))
    assert doc.margin == doc.costed_net - doc.cost
    for t in costed:
        assert t.cost is not None
        assert t.margin == t.net - t.cost
        assert fen_multiple(t.cost)
        assert abs(t.cost.amount - t.line.quantity * t.line.unit_cost.amount) <= D("0.005")


@given(quantities, prices, st.sampled_from([D("0.13"), D("0.09"), D("0.06"), D("0.03"), D(0)]))
def test_tax_inclusive_and_tax_exclusive_entry_agree_within_a_fen(quantity, net_price, rate):
    gross_price = net_price * (1 + rate)  # exact: the same price, tax included
    ex = price_lines(
        [PriceLine(quantity=quantity, unit_price=Money(net_price), tax_rate=rate)], entry=EX
    )
    inc = price_lines(
        [PriceLine(quantity=quantity, unit_price=Money(gross_price), tax_rate=rate)], entry=IN
    )
    assert abs(ex.net.amount - inc.net.amount) <= FEN
    assert abs(ex.gross.amount - inc.gross.amount) <= FEN
    assert abs(ex.tax.amount - inc.tax.amount) <= 2 * FEN


@given(price_lines_(), fractions, fractions, entries)
def test_a_bigger_discount_never_increases_a_total(base, d1, d2, entry):
    assume(d1 != d2)
    small, big = sorted((d1, d2))
    less = price_lines([attrs_evolve(base, discount=small)], entry=entry)
    more = price_lines([attrs_evolve(base, discount=big)], entry=entry)
    for field in ("net", "tax", "gross"):
        assert getattr(more, field) <= getattr(less, field)
    undiscounted = price_lines([attrs_evolve(base, discount=D(0))], entry=entry)
    assert more.gross <= undiscounted.gross


@given(price_lines_(), entries)
def test_the_entered_side_is_quantity_times_price_after_discount_within_half_a_fen(base, entry):
    t = price_lines([base], entry=entry).lines[0]
    exact = base.quantity * base.unit_price.amount * (1 - base.discount)
    entered = t.gross if entry is IN else t.net
    assert abs(entered.amount - exact) <= D("0.005")
    other = t.net if entry is IN else t.gross
    factor = 1 + base.tax_rate
    derived = entered.amount / factor if entry is IN else entered.amount * factor
    assert abs(other.amount - derived) <= D("0.005")


def attrs_evolve(line: PriceLine, **changes: Any) -> PriceLine:
    return attrs.evolve(line, **changes)


# -- Money, as the arithmetic relies on it --------------------------------------------------
# (crmkit.domain.values.Money: what the mutation run of values.py found untested)
def test_money_keeps_its_currency_through_arithmetic_and_rounding():
    a, b = Money(D("1.005"), "USD"), Money(D("2"), "USD")
    assert a + b == Money(D("3.005"), "USD")
    assert b - a == Money(D("0.995"), "USD")
    assert a * 3 == Money(D("3.015"), "USD")
    assert 2 * a == Money(D("2.010"), "USD")
    assert a * D("0.5") == Money(D("0.5025"), "USD")
    assert a.quantize() == Money(D("1.01"), "USD")
    assert str(a.quantize().amount) == "1.01"
    assert a.quantize(ROUND_DOWN) == Money(D("1.00"), "USD")
    assert -a == Money(D("-1.005"), "USD")
    assert -Money(D("-2"), "USD") == b
    assert a < b
    assert not b < a
    assert not a < a
    assert b > a
    assert a <= a


def test_money_zero_and_minor_units():
    assert Money.zero() == Money(D(0), "CNY")
    assert Money.zero("USD") == Money(D(0), "USD")
    assert Money.zero().is_zero
    assert not Money(D("0.01")).is_zero
    assert Money.from_minor_units(12345) == Money(D("123.45"))
    assert Money.from_minor_units(12345, "JPY") == Money(D("12345"), "JPY")
    assert Money.from_minor_units(5, "USD").currency == "USD"
    assert Money(D("1.005")).minor_units == 101
    assert Money(D("7"), "JPY").minor_units == 7
    assert Money(D("1"), "JPY").exponent == D(1)
    assert Money(D("1")).exponent == D("0.01")
    assert Money(D("1"), "KWD").exponent == D("0.001")  # three decimals


def test_money_formats_for_people():
    assert Money(D("1234.5")).format() == "¥1,234.50"
    assert Money(D("1234.5"), "USD").format("en_US") == "$1,234.50"
    assert Money(D("-3"), "CNY").format("en_US") == "-CN¥3.00"
    assert str(Money(D("1.5"), "USD")) == "1.5 USD"


def test_money_parses_negative_and_zero_amounts():
    assert Money.parse("-12.5") == Money(D("-12.5"))
    assert Money.parse("0") == Money(D(0))
    assert Money.parse("0", allow_negative=False) == Money(D(0))
    assert Money.parse(D("-1")) == Money(D("-1"))
    assert Money.parse(-3) == Money(D(-3))
    assert Money.parse("12", "usd") == Money(D(12), "USD")
    assert Money.parse(" ￥1 234 ") == Money(D(1234))
    assert Money.parse("$5") == Money(D(5))
    assert Money.parse("€5") == Money(D(5))
    assert Money.parse("£5") == Money(D(5))
    assert Money.parse("¥5元") == Money(D(5))
    for raw in ("-0.01", D("-0.01"), -1):
        with pytest.raises(ValidationError) as caught:
            Money.parse(raw, field="lines[0].unit_price", allow_negative=False)
        assert codes(caught) == [("lines[0].unit_price", "money.negative")]
        assert caught.value.errors[0].value == raw


@pytest.mark.parametrize(
    ("raw", "code"),
    [("abc", "money.invalid"), ("NaN", "money.invalid"), (D("sNaN"), "money.invalid")],
)
def test_money_parse_names_the_field_and_keeps_the_raw_value(raw, code):
    with pytest.raises(ValidationError) as caught:
        Money.parse(raw, field="price")
    assert codes(caught) == [("price", code)]
    assert caught.value.errors[0].value is raw


def test_money_parse_refuses_what_is_not_an_amount():
    for raw in (True, None, [1]):
        with pytest.raises(ValidationError) as caught:
            Money.parse(raw, field="cost")  # type: ignore[arg-type]
        assert codes(caught) == [("cost", "money.invalid")]
        assert caught.value.errors[0].value is raw
    with pytest.raises(ValidationError) as caught:
        Money.parse("XX1")  # only currency signs are stripped
    assert codes(caught) == [("amount", "money.invalid")]
    with pytest.raises(ValidationError) as caught:
        Money.parse("1", "XYZ", field="cost")
    assert codes(caught) == [("cost", "money.currency")]
    assert caught.value.errors[0].params == {"currency": "XYZ"}
    assert caught.value.errors[0].value == "1"
    with pytest.raises(
        TypeError, match=r"^Money\.parse refuses floats; pass a str, int or Decimal$"
    ):
        Money.parse(1.5)  # type: ignore[arg-type]


def test_money_refuses_inexact_and_mixed_operands():
    with pytest.raises(TypeError, match="must be a Decimal, not float"):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^Money amount must be finite$"):
        Money(D("Infinity"))
    cny_, usd = Money(D(1)), Money(D(1), "USD")
    for op in (
        lambda: cny_ + usd,
        lambda: cny_ - usd,
        lambda: cny_ < usd,
    ):
        with pytest.raises(ValueError, match="currency mismatch: CNY vs USD"):
            op()
    with pytest.raises(TypeError, match="cannot combine Money with Decimal"):
        cny_ + D(1)  # type: ignore[operator]
    for factor in (1.5, True, "2", cny_):
        with pytest.raises(
            TypeError, match=r"^Money can only be multiplied by an int or a Decimal$"
        ):
            cny_ * factor  # type: ignore[operator]
