"""The arithmetic of money in (issue 18): payment plans that sum exactly to the order, the
last share absorbing the rounding; allocation oldest-due first that never over-allocates;
the 抹零 limit; aging buckets that sum to the total."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmkit import Money, ValidationError
from crmkit.domain.receivables import (
    Bucket,
    OpenItem,
    aging,
    allocate,
    bucket_of,
    plan,
    write_off_limit,
)

D0 = date(2027, 1, 10)
amounts = st.decimals(Decimal("0.01"), Decimal("9999999.99"), places=2).map(Money)


def test_three_thirds_the_last_absorbs_the_fen():
    parts = [(D0, "33.3333%"), (D0 + timedelta(30), "33.3333%"), (D0 + timedelta(60), "33.3334%")]
    out = plan(Money(Decimal("100.00")), parts)
    assert [str(i.amount) for i in out] == ["33.33 CNY", "33.33 CNY", "33.34 CNY"]


def test_the_design_example_thirty_seventy():
    out = plan(Money(Decimal("56970.00")), [("2027-02-10", "30%"), ("2027-03-10", "70%")])
    assert [(i.due.isoformat(), str(i.amount)) for i in out] == [
        ("2027-02-10", "17091.00 CNY"),
        ("2027-03-10", "39879.00 CNY"),
    ]


def test_amounts_and_shares_mix_shares_being_of_the_total():
    out = plan(
        Money(Decimal("100000.00")),
        [(D0, "35000.00"), (D0 + timedelta(30), "65%")],
    )
    assert [i.amount.amount for i in out] == [Decimal("35000.00"), Decimal("65000.00")]


@given(
    total=amounts,
    cuts=st.lists(st.integers(1, 10_000), min_size=1, max_size=12),
)
def test_shares_that_make_100_percent_always_sum_exactly_to_the_total(total, cuts):
    whole = sum(cuts)
    shares = [Decimal(c) / Decimal(whole) for c in cuts]
    shares[-1] = Decimal(1) - sum(shares[:-1])  # exactly 100% between them
    parts = [(D0 + timedelta(i), f"{s * 100}%") for i, s in enumerate(shares)]
    assume(all(total.amount * s >= Decimal("0.01") for s in shares))  # each share is money
    out = plan(total, parts)
    assert sum((i.amount for i in out), Money(Decimal(0))) == total
    *earlier, last = [i.amount.amount - total.amount * s for i, s in zip(out, shares, strict=True)]
    assert all(-Decimal("0.01") < d <= 0 for d in earlier)  # rounded down, under a fen
    assert -Decimal("0.01") < last < Decimal("0.01") * len(out)  # it absorbs the rounding
    assert all(i.amount.amount == i.amount.amount.quantize(Decimal("0.01")) for i in out)


def test_every_wrong_part_is_named_and_nothing_is_returned():
    with pytest.raises(ValidationError) as caught:
        plan(
            Money(Decimal("1000.00")),
            [("2027-02-30", "30%"), ("2027-01-01", "-5"), ("2026-12-01", "abc"), (None, "1.234")],
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {
        "instalments[0].due",
        "instalments[1].amount",
        "instalments[2].due",
        "instalments[2].amount",
        "instalments[3].due",
        "instalments[3].amount",
    }
    assert "到期日" in caught.value.message("zh") and "due date" in caught.value.message("en")


@pytest.mark.parametrize(
    "parts",
    [
        [(D0, "400.00"), (D0, "500.00")],  # amounts short of the total
        [(D0, "60%"), (D0, "60%")],  # shares over 100%
        [(D0, "30%"), (D0, "30%")],  # shares short of it
    ],
)
def test_parts_that_do_not_make_the_total_are_refused(parts):
    with pytest.raises(ValidationError) as caught:
        plan(Money(Decimal("1000.00")), parts)
    assert "receivable.plan_total" in {e.code for e in caught.value.errors}
    assert "1000.00" in caught.value.message("zh")


@given(
    payment=amounts,
    balances=st.lists(
        st.tuples(st.integers(0, 400), st.decimals(Decimal("0.01"), 50000, places=2)),
        max_size=20,
    ),
)
def test_allocation_is_oldest_first_never_over_any_balance_and_loses_nothing(payment, balances):
    items = [
        OpenItem(f"r{i}", D0 + timedelta(days), Money(b)) for i, (days, b) in enumerate(balances)
    ]
    allocations, rest = allocate(payment, items)
    by_id = {x.id: x for x in items}
    applied = sum((a.amount.amount for a in allocations), Decimal(0))
    assert applied + rest.amount == payment.amount and rest.amount >= 0
    assert all(0 < a.amount.amount <= by_id[a.receivable_id].balance.amount for a in allocations)
    dues = [by_id[a.receivable_id].due for a in allocations]
    assert dues == sorted(dues)
    if rest.amount > 0:  # a prepayment is left only when every balance is paid
        assert applied == sum(x.balance.amount for x in items)
    partial = [a for a in allocations if a.amount != by_id[a.receivable_id].balance]
    assert len(partial) <= 1 and (not partial or partial[0] == allocations[-1])


def test_a_payment_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        allocate(Money(Decimal(0)), [])


@pytest.mark.parametrize(
    ("limit", "rate", "cap"),
    [
        ("1.00", None, "1.00"),
        (None, "0.001", "12.34"),  # 0.1% of 12,345.67, rounded down
        ("5.00", "0.001", "5.00"),
        (None, None, "0.00"),
    ],
)
def test_the_write_off_limit_is_the_smaller_of_an_amount_and_a_share(limit, rate, cap):
    got = write_off_limit(
        Money(Decimal("12345.67")),
        limit=Money(Decimal(limit)) if limit else None,
        rate=Decimal(rate) if rate else None,
    )
    assert got == Money(Decimal(cap))


@pytest.mark.parametrize(
    ("late", "bucket"),
    [(-5, Bucket.NOT_DUE), (0, Bucket.NOT_DUE), (1, Bucket.DAYS_1_30), (30, Bucket.DAYS_1_30),
     (31, Bucket.DAYS_31_60), (60, Bucket.DAYS_31_60), (61, Bucket.DAYS_61_90),
     (90, Bucket.DAYS_61_90), (91, Bucket.OVER_90)],
)  # fmt: skip
def test_bucket_edges(late, bucket):
    assert bucket_of(D0, D0 + timedelta(days=late)) is bucket


@given(
    balances=st.lists(
        st.tuples(st.integers(-200, 200), st.decimals(0, 100000, places=2)), max_size=30
    )
)
def test_aging_buckets_sum_to_the_total(balances):
    rows = [(D0 + timedelta(days), Money(b)) for days, b in balances]
    buckets = aging(rows, D0)
    assert set(buckets) == set(Bucket)
    assert sum(m.amount for m in buckets.values()) == sum(b for _d, b in balances)


R = "receivable"
CASES = {
    "no total, no parts": (
        "0",
        [],
        [("total", "number.positive", "0", {}), ("instalments", "required", None, {})],
    ),
    "dates": (
        "1000.00",
        [("2027-02-30", "30%"), (None, "70%")],
        [
            ("instalments[0].due", "date.invalid", "2027-02-30", {}),
            ("instalments[1].due", "required", None, {}),
        ],
    ),
    "dates going back": (
        "1000.00",
        [("2027-03-01", "30%"), ("2027-02-01", "70%")],
        [("instalments[1].due", f"{R}.due_order", "2027-02-01", {})],
    ),
    "amounts": (
        "1000.00",
        [
            ("2027-01-01", "-5"),
            ("2027-01-02", "abc"),
            ("2027-01-03", "1.234"),
            ("2027-01-04", ""),
            ("2027-01-05", Money(Decimal("-1"))),
            ("2027-01-06", "0%"),
            ("2027-01-07", "150%"),
        ],
        [
            ("instalments[0].amount", "number.positive", "-5", {}),
            ("instalments[1].amount", "money.invalid", "abc", {}),
            ("instalments[2].amount", "number.places", "1.234", {"places": 2}),
            ("instalments[3].amount", "required", None, {}),
            ("instalments[4].amount", "number.positive", "-1", {}),
            ("instalments[5].amount", f"{R}.share", "0%", {}),
            ("instalments[6].amount", f"{R}.share", "150%", {}),
        ],
    ),
    "amounts short": (
        "1000.00",
        [("2027-01-01", "400.00"), ("2027-01-02", "500.00")],
        [("instalments", f"{R}.plan_total", "900.00", {"made": "900.00", "total": "1000.00"})],
    ),
    "shares over": (
        "1000.00",
        [("2027-01-01", "60%"), ("2027-01-02", "60%")],
        [("instalments", f"{R}.plan_total", "1200.00", {"made": "1200.00", "total": "1000.00"})],
    ),
    "shares short": (
        "1000.00",
        [("2027-01-01", "30%"), ("2027-01-02", "30%")],
        [("instalments", f"{R}.plan_total", "600.00", {"made": "600.00", "total": "1000.00"})],
    ),
    "an amount over the total": (
        "1000.00",
        [("2027-01-01", "1200.00"), ("2027-01-02", "10%")],
        [
            ("instalments", f"{R}.plan_total", "1300.00", {"made": "1300.00", "total": "1000.00"}),
            ("instalments[1].amount", "number.positive", "-200.00", {}),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_wrong_plan_says_exactly_what_and_where(case):
    total, parts, expected = CASES[case]
    with pytest.raises(ValidationError) as caught:
        plan(Money(Decimal(total)), parts)
    got = [(e.field, e.code, e.value, dict(e.params)) for e in caught.value.errors]
    assert got == expected
    assert caught.value.entity == "receivable"


def test_a_plan_keeps_each_share_and_takes_money_and_fractions_as_given():
    out = plan(
        Money(Decimal("1000.00")),
        [(date(2027, 1, 1), Money(Decimal("100.00"))), ("2027-02-01", Decimal("0.25")),
         ("2027-03-01", "65%")],
        path="plan",
    )  # fmt: skip
    assert [(i.due, i.amount.amount, i.share) for i in out] == [
        (date(2027, 1, 1), Decimal("100.00"), None),
        (date(2027, 2, 1), Decimal("250.00"), Decimal("0.25")),
        (date(2027, 3, 1), Decimal("650.00"), Decimal("0.65")),
    ]
    with pytest.raises(ValidationError) as caught:
        plan(Money(Decimal("1000.00")), [("x", "100%")], path="plan")
    assert caught.value.errors[0].field == "plan[0].due"


def test_allocation_and_aging_refuse_another_currency():
    usd = OpenItem("r1", D0, Money(Decimal("5.00"), "USD"))
    with pytest.raises(ValueError, match="currency"):
        allocate(Money(Decimal("1.00")), [usd])
    with pytest.raises(ValueError, match="currency"):
        aging([(D0, Money(Decimal("1.00"), "USD"))], D0)
    assert aging([], D0)[Bucket.OVER_90] == Money(Decimal("0.00"))
    assert aging([(D0, Money(Decimal("1"), "USD"))], D0, "USD")[Bucket.NOT_DUE].currency == "USD"


def test_allocation_by_due_date_then_in_the_order_given():
    items = [
        OpenItem("late", D0 + timedelta(9), Money(Decimal("50.00"))),
        OpenItem("a", D0, Money(Decimal("30.00"))),
        OpenItem("b", D0, Money(Decimal("30.00"))),
        OpenItem("paid", D0, Money(Decimal("0.00"))),
    ]
    allocations, rest = allocate(Money(Decimal("70.00")), items)
    assert [(a.receivable_id, a.amount.amount) for a in allocations] == [
        ("a", Decimal("30.00")),
        ("b", Decimal("30.00")),
        ("late", Decimal("10.00")),
    ]
    assert rest == Money(Decimal("0.00"))
    _, left = allocate(Money(Decimal("200.00")), items)
    assert left == Money(Decimal("90.00"))
