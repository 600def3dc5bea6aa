"""The sales pipeline, stage durations and the forecast sum, as pure domain objects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit import display
from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.domain.opportunity import (
    DEFAULT_BANDS,
    OPPORTUNITY_STATES,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageChange,
    WinRate,
    band_of,
    forecast_lines,
    parse_bands,
    parse_competitors,
    parse_month,
    parse_probability,
    stage_durations,
)
from crmkit.domain.values import Money

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def test_the_default_pipeline_has_its_stages_probabilities_and_ends():
    p = Pipeline.default()
    assert [(s.code, s.label_zh, s.probability) for s in p.stages] == [
        ("contact", "初步接洽", Decimal("0.10")),
        ("needs", "需求确认", Decimal("0.30")),
        ("proposal", "方案报价", Decimal("0.50")),
        ("negotiation", "谈判审批", Decimal("0.70")),
    ]
    assert (p.won.label_zh, p.won.probability) == ("赢单", Decimal(1))
    assert (p.lost.label_zh, p.lost.probability) == ("输单", Decimal(0))
    assert p.first.code == "contact"
    assert p.is_open("proposal") and not p.is_open("won")
    assert p.label("proposal", "en") == "Proposal and quote"
    assert p.label("gone") == "gone"


@pytest.mark.parametrize(
    "raw", ["proposal", "PROPOSAL", "方案报价", "proposal and quote", "方案 报价"]
)
def test_a_stage_is_found_by_its_code_or_either_label(raw):
    found = Pipeline.default().find(raw)
    assert found is not None and found.code == "proposal"


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([], "at least one"),
        ([Stage("a", "A", "甲", Decimal("0.1")), Stage("a", "B", "乙", Decimal("0.2"))], "twice"),
        ([Stage("Bad Code", "A", "甲", Decimal("0.1"))], "lower-case"),
        ([Stage("a", "A", "甲", Decimal("1.5"))], "probability"),
    ],
)
def test_a_malformed_pipeline_is_refused(stages, message):
    with pytest.raises(ValueError, match=message):
        Pipeline(
            stages=stages,
            won=Stage("won", "Won", "赢单", Decimal(1)),
            lost=Stage("lost", "Lost", "输单", Decimal(0)),
        )


def test_the_state_machine_names_the_state_and_the_move():
    assert OPPORTUNITY_STATES.allows(OpportunityStatus.OPEN, OpportunityStatus.WON)
    assert OPPORTUNITY_STATES.allows(OpportunityStatus.LOST, OpportunityStatus.OPEN)
    with pytest.raises(WorkflowError) as caught:
        OPPORTUNITY_STATES.check(
            OpportunityStatus.LOST, OpportunityStatus.WON, move="win", move_zh="赢单"
        )
    assert (caught.value.state, caught.value.move) == ("lost", "win")
    assert "输单" in caught.value.message("zh")
    assert "cannot win" in caught.value.message("en")


def test_every_status_has_labels_in_both_languages():
    for status in OpportunityStatus:
        assert display.label(status, "zh") != status.value
        assert display.label(status, "en")


@pytest.mark.parametrize(
    ("raw", "want"),
    [("0.3", Decimal("0.3")), ("30%", Decimal("0.3")), (1, Decimal(1)), ("0", Decimal(0))],
)
def test_a_probability_runs_from_0_to_1_inclusive(raw, want):
    errors = FieldErrors()
    assert parse_probability(raw, errors, "probability") == want
    assert not errors


@pytest.mark.parametrize("raw", ["1.01", "-0.1", "abc", 0.5, "120%", True])
def test_a_wrong_probability_is_a_field_error(raw):
    errors = FieldErrors()
    assert parse_probability(raw, errors, "probability") is None
    assert [e.code for e in errors.errors] == ["probability.invalid"]


def test_competitors_are_split_trimmed_and_deduplicated():
    errors = FieldErrors()
    assert parse_competitors("浙科，海康、 浙科;\n大华", errors, "competitors") == (
        "浙科",
        "海康",
        "大华",
    )
    assert parse_competitors(["浙科", " ", "x" * 101], errors, "competitors") == ("浙科",)
    assert [e.field for e in errors.errors] == ["competitors[2]"]


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2027-01", date(2027, 1, 1)),
        ("2027/12", date(2027, 12, 1)),
        (date(2027, 3, 9), date(2027, 3, 1)),
    ],
)
def test_a_month_is_read_as_its_first_day(raw, want):
    assert parse_month(raw, "month", FieldErrors()) == want


def test_durations_add_up_revisits_and_count_the_last_stage_to_now():
    history = (
        StageChange(stage="contact", entered_at=T0, by="u"),
        StageChange(stage="needs", entered_at=T0 + timedelta(days=2), by="u"),
        StageChange(stage="contact", entered_at=T0 + timedelta(days=3), by="u"),
        StageChange(stage="proposal", entered_at=T0 + timedelta(days=4), by="u"),
    )
    now = T0 + timedelta(days=4, hours=6)
    assert stage_durations(history, now) == {
        "contact": timedelta(days=3),
        "needs": timedelta(days=1),
        "proposal": timedelta(hours=6),
    }
    assert stage_durations((), now) == {}


# -- the forecast sum equals a brute-force sum --------------------------------------------
_OWNERS = ("u-1", "u-2", "u-3")


def _opportunity(
    i: int, owner: str, amount: Decimal | None, close: date | None, p: Decimal, status: str
) -> Opportunity:
    return Opportunity(
        id=f"o-{i}",
        customer_id="c-1",
        owner_id=owner,
        title="t",
        amount=Money(amount) if amount is not None else None,
        expected_close=close,
        stage="contact",
        probability=p,
        status=OpportunityStatus(status),
        created_at=T0,
        updated_at=T0,
        created_by=owner,
    )


_OPPORTUNITIES = st.lists(
    st.tuples(
        st.sampled_from(_OWNERS),
        st.none() | st.decimals(0, 10_000_000, places=2),
        st.none() | st.dates(date(2026, 1, 1), date(2026, 6, 30)),
        st.decimals(0, 1, places=2),
        st.sampled_from(["open", "open", "won", "lost"]),
    ),
    max_size=40,
).map(lambda rows: [_opportunity(i, *row) for i, row in enumerate(rows)])


@given(_OPPORTUNITIES, st.sampled_from([("month",), ("owner",), ("month", "owner")]))
def test_the_forecast_equals_a_brute_force_sum(opps, group_by):
    lines = forecast_lines(opps, group_by)
    expected: dict[tuple[str | None, str | None], Decimal] = {}
    counts: dict[tuple[str | None, str | None], int] = {}
    for o in opps:
        if o.status != "open" or o.amount is None or o.expected_close is None:
            continue
        key = (
            o.expected_close.strftime("%Y-%m") if "month" in group_by else None,
            o.owner_id if "owner" in group_by else None,
        )
        expected[key] = expected.get(key, Decimal(0)) + o.amount.amount * o.probability
        counts[key] = counts.get(key, 0) + 1
    assert {(line.month, line.owner_id): line.weighted for line in lines} == {
        k: Money(v).quantize() for k, v in expected.items()
    }
    assert {(line.month, line.owner_id): line.count for line in lines} == counts
    keys = [(line.month or "", line.owner_id or "") for line in lines]
    assert keys == sorted(keys)


# -- statistics: probability bands and win rates ------------------------------------------
@given(st.decimals(0, 1, places=3))
def test_a_probability_falls_in_the_one_band_that_holds_it(p):
    i = band_of(DEFAULT_BANDS, p)
    low, high = DEFAULT_BANDS[i], DEFAULT_BANDS[i + 1]
    last = i == len(DEFAULT_BANDS) - 2
    assert low <= p < high or (last and p == high)


def test_band_bounds_must_rise_from_zero_to_one():
    errors = FieldErrors()
    assert parse_bands([0, "30%", "0.7", 1], errors) == tuple(
        Decimal(b) for b in ("0", "0.30", "0.7", "1")
    )
    assert not errors
    for wrong in ([0, "0.5"], ["0.2", 1], [0, "0.6", "0.4", 1], [0]):
        errors = FieldErrors()
        parse_bands(wrong, errors)
        assert [e.code for e in errors.errors] == ["opportunity.bands"], wrong
    errors = FieldErrors()
    parse_bands([0, "150%", 1], errors)
    assert [(e.field, e.code) for e in errors.errors] == [("bands[1]", "probability.invalid")]


def test_a_win_rate_is_won_over_closed_and_none_when_nothing_closed():
    assert WinRate("u-1", 2, 1).rate == Decimal("0.6667")
    assert WinRate("u-1", 0, 3).rate == Decimal("0.0000")
    assert WinRate(None, 0, 0).rate is None
