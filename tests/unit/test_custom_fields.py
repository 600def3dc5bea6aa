"""Custom fields are validated against the schema an application defines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.domain.custom_fields import CustomField, CustomFieldSchema, CustomFieldType
from crmkit.domain.errors import FieldErrors

SCHEMA = CustomFieldSchema(
    (
        CustomField("scale", CustomFieldType.CHOICE, required=True, choices=("小", "中", "大")),
        CustomField("staff", CustomFieldType.NUMBER),
        CustomField("founded", CustomFieldType.DATE),
        CustomField("listed", CustomFieldType.BOOLEAN),
        CustomField("motto", CustomFieldType.TEXT, max_length=10),
    )
)


def test_values_are_typed_and_blank_values_dropped():
    errors = FieldErrors()
    out = SCHEMA.validate(
        {"scale": "中", "staff": "120", "founded": "2001-05-04", "listed": "是", "motto": ""},
        errors,
    )
    assert not errors
    assert out == {
        "scale": "中",
        "staff": Decimal("120"),
        "founded": date(2001, 5, 4),
        "listed": True,
    }


def test_every_bad_value_is_reported_under_its_path():
    errors = FieldErrors()
    SCHEMA.validate(
        {
            "staff": "lots",
            "founded": "yesterday",
            "listed": "maybe",
            "motto": "x" * 11,
            "colour": "red",
        },
        errors,
    )
    assert {e.field: e.code for e in errors.errors} == {
        "custom.staff": "number.invalid",
        "custom.founded": "date.invalid",
        "custom.listed": "bool.invalid",
        "custom.motto": "too_long",
        "custom.colour": "custom.unknown",
        "custom.scale": "required",
    }


def test_an_update_keeps_stored_values_it_does_not_mention():
    errors = FieldErrors()
    out = SCHEMA.validate({"staff": 5}, errors, base={"scale": "大", "staff": Decimal(1)})
    assert not errors
    assert out == {"scale": "大", "staff": Decimal(5)}


def test_floats_are_refused_for_numbers():
    errors = FieldErrors()
    SCHEMA.validate({"scale": "小", "staff": 1.5}, errors)
    assert [e.code for e in errors.errors] == ["number.invalid"]


def test_a_schema_refuses_duplicate_names_and_choices_without_options():
    with pytest.raises(ValueError, match="unique"):
        CustomFieldSchema((CustomField("a", "text"), CustomField("a", "number")))
    with pytest.raises(ValueError, match="without choices"):
        CustomField("level", "choice")


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_numbers_round_trip_exactly(n: int):
    errors = FieldErrors()
    out = SCHEMA.validate({"scale": "小", "staff": str(n)}, errors)
    assert out["staff"] == Decimal(n)
