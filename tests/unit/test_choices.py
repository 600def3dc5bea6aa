"""A choice field reads its codes, its aliases and the labels people see, and a wrong one
is refused naming the choices as each reader reads them."""

from __future__ import annotations

import pytest

from crmkit.domain.common import parse_enum
from crmkit.domain.errors import FieldErrors
from crmkit.domain.ticket import RecordKind, TicketPriority, TicketType


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("return_visit", TicketType.RETURN_VISIT),  # the code
        ("RETURN_VISIT", TicketType.RETURN_VISIT),
        ("回访", TicketType.RETURN_VISIT),  # the label a list shows, in Chinese
        ("return visit", TicketType.RETURN_VISIT),  # and in English, any case
        (TicketType.REPAIR, TicketType.REPAIR),
    ],
)
def test_a_choice_is_read_from_its_code_or_either_label(raw, expected):
    errors = FieldErrors()
    assert parse_enum(TicketType, raw, errors, "type") is expected
    assert not errors


def test_labels_work_where_no_alias_was_declared():
    errors = FieldErrors()
    assert parse_enum(RecordKind, "内部备注", errors, "kind") is RecordKind.NOTE
    assert parse_enum(TicketPriority, "Urgent", errors, "priority") is TicketPriority.URGENT
    assert not errors


def test_a_wrong_choice_names_the_choices_in_the_readers_language():
    errors = FieldErrors()
    assert parse_enum(TicketPriority, "whenever", errors, "priority") is None
    [error] = errors.errors
    assert error.code == "invalid_choice"
    assert error.message("zh") == "必须是以下之一：低、普通、高、紧急"
    assert error.message("en") == "must be one of: Low, Normal, High, Urgent"
    assert error.params["choices"] == "low, normal, high, urgent"  # the codes, for programs
