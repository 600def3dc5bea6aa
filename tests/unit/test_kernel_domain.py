"""The kernel's pure pieces: state machines, document numbers, declared input fields."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.domain import fields as f
from crmkit.domain.customer import CATEGORY_MOVES, Category
from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.domain.numbers import format_number
from crmkit.domain.sharing import REQUEST_MOVES, RequestStatus
from crmkit.domain.values import Money


@given(st.sampled_from([CATEGORY_MOVES, REQUEST_MOVES]), st.data())
def test_a_move_passes_exactly_when_the_table_has_it_and_a_refusal_names_both(machine, data):
    states = list(type(next(iter(machine.moves))))
    state, target = data.draw(st.sampled_from(states)), data.draw(st.sampled_from(states))
    if target in machine.moves.get(state, frozenset()):
        assert machine.check(state, target) is target
    else:
        with pytest.raises(WorkflowError) as caught:
            machine.check(state, target)
        assert (caught.value.state, caught.value.move) == (state.value, target.value)
        assert caught.value.state_zh == machine.labels_zh[state]


def test_final_states_have_no_way_out():
    assert REQUEST_MOVES.final(RequestStatus.GRANTED)
    assert not REQUEST_MOVES.final(RequestStatus.PENDING)
    assert CATEGORY_MOVES.targets(Category.ABANDONED) == {Category.POTENTIAL}


@given(st.sampled_from(["SO", "QT", "TK"]), st.integers(2000, 2999), st.integers(1, 10**8))
def test_document_numbers_read_back_and_sort_by_sequence_within_a_width(prefix, year, n):
    text = format_number(prefix, year, n)
    head, y, seq = text.split("-")
    assert (head, int(y), int(seq)) == (prefix, year, n)
    if n < 999_999:
        assert format_number(prefix, year, n) < format_number(prefix, year, n + 1)


@pytest.mark.parametrize(
    ("prefix", "n", "why"),
    [("so", 1, "capital"), ("TOOLONGPREFIX", 1, "capital"), ("SO", 0, "start at 1")],
)
def test_document_numbers_refuse_bad_prefixes_and_sequences(prefix, n, why):
    with pytest.raises(ValueError, match=why):
        format_number(prefix, 2026, n)


FIELDS = (
    f.text("name", 10, required=True),
    f.money("price"),
    f.rate("tax_rate", default=Decimal("0.13")),
    f.quantity("qty"),
    f.tokens("members", lambda t: t.startswith(("user:", "role:"))),
    f.text("code", 10, editable=False),
)


def _parse(raw: dict[str, object], *, partial: bool = False) -> tuple[dict[str, object], set[str]]:
    errors = FieldErrors()
    out = f.parse_input(FIELDS, raw, errors, partial=partial)
    return out, {e.field for e in errors.errors}


def test_input_fields_parse_what_people_type():
    out, wrong = _parse(
        {
            "name": " 门锁 ",
            "price": "¥1,999.00",
            "tax_rate": "13%",
            "qty": "2.5",
            "members": "role:sales, user:u1",
        }
    )
    assert wrong == set()
    assert out["name"] == "门锁"
    assert out["price"] == Money(Decimal("1999.00"))
    assert out["tax_rate"] == Decimal("0.13")
    assert out["qty"] == Decimal("2.5")
    assert out["members"] == ("role:sales", "user:u1")


def test_every_wrong_input_field_is_reported_at_once():
    _, wrong = _parse(
        {"price": "-1", "tax_rate": "100%", "qty": "0", "members": ["boss"], "colour": "红"}
    )
    assert wrong == {"name", "price", "tax_rate", "qty", "members[0]", "colour"}


def test_an_update_leaves_absent_fields_out_and_refuses_fixed_ones():
    out, wrong = _parse({"price": "", "code": "X"}, partial=True)
    assert out == {"price": None}
    assert wrong == {"code"}


@given(st.decimals(0, Decimal("0.9999"), places=4))
def test_a_rate_written_as_a_fraction_or_a_percentage_is_the_same(rate):
    as_fraction, _ = _parse({"name": "x", "tax_rate": str(rate)})
    as_percent, _ = _parse({"name": "x", "tax_rate": f"{rate * 100}%"})
    assert as_fraction["tax_rate"] == as_percent["tax_rate"] == rate
