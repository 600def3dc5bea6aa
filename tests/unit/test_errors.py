"""Errors carry their context and speak both languages."""

from __future__ import annotations

import pytest

from crmkit.domain.errors import (
    AuthenticationError,
    ConcurrencyError,
    CRMError,
    DuplicateError,
    DuplicateMatch,
    FieldError,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationError,
    WorkflowError,
)
from crmkit.domain.messages import CATALOG, active_language, language, render, set_language


def test_every_error_is_a_crm_error_and_pairs_with_a_builtin():
    assert issubclass(ValidationError, ValueError)
    assert issubclass(NotFound, LookupError)
    assert issubclass(PermissionDenied, PermissionError)
    for cls in (
        ValidationError,
        DuplicateError,
        PermissionDenied,
        AuthenticationError,
        NotFound,
        ConcurrencyError,
        WorkflowError,
    ):
        assert issubclass(cls, CRMError)


def test_a_validation_error_lists_every_field_in_order_once():
    errors = FieldErrors()
    errors.add("name", "required", "")
    errors.add("mobile", "phone.invalid", "12345")
    errors.add("mobile", "phone.not_mobile", "12345")
    with pytest.raises(ValidationError) as caught:
        errors.raise_if_any()
    assert caught.value.fields == ("name", "mobile")
    assert [e.code for e in caught.value.by_field()["mobile"]] == [
        "phone.invalid",
        "phone.not_mobile",
    ]


def test_messages_render_in_the_active_language():
    error = ValidationError([FieldError("mobile", "phone.invalid", "12345")])
    with language("en"):
        assert "mobile: is not a valid phone number" in str(error)
    with language("zh"):
        assert "手机：不是有效的电话号码" in str(error)


def test_every_catalog_entry_has_both_languages_with_the_same_placeholders():
    import string

    for code, (en, zh) in CATALOG.items():
        assert en, code
        assert zh, code
        names_en = {f[1] for f in string.Formatter().parse(en) if f[1]}
        # A zh text may take the Chinese form of a parameter, ``reason_zh`` for ``reason``
        # (a library's English reason, translated), as the summaries' ``entity_zh`` do.
        names_zh = {f[1].removesuffix("_zh") for f in string.Formatter().parse(zh) if f[1]}
        assert names_en == names_zh, code


def test_a_missing_parameter_does_not_hide_the_message():
    assert render("too_long", "en") == "is longer than {max} characters"


def test_set_language_refuses_unknown_languages_and_language_restores_the_previous():
    before = active_language()
    with pytest.raises(ValueError, match="unsupported"):
        set_language("fr")  # type: ignore[arg-type]
    with language("en"):
        assert active_language() == "en"
    assert active_language() == before


def test_errors_carry_context_as_attributes():
    conflict = ConcurrencyError("customer", "c1", 1, 3)
    assert (conflict.expected, conflict.actual) == (1, 3)
    dup = DuplicateError("customer", [DuplicateMatch("c9", "金智", "u1", "张三", 0.97, ("name",))])
    assert dup.owners == ("张三",)
    with language("zh"):
        assert "张三" in str(dup)
    move = WorkflowError(
        "customer", "potential", "move to signed", state_zh="潜在客户", move_zh="转为签约客户"
    )
    with language("zh"):
        assert "潜在客户" in str(move)
        assert "转为签约客户" in str(move)
    assert AuthenticationError("locked").reason == "locked"
    assert NotFound("customer", "x").id == "x"


def test_a_validation_error_needs_at_least_one_field_error():
    with pytest.raises(ValueError, match="at least one"):
        ValidationError([])


def test_a_field_name_two_entities_share_reads_as_its_own_entitys_label():
    from crmkit.domain.errors import FieldError, ValidationError

    error = FieldError("title", "required", "")
    assert "职务" in ValidationError([error]).message("zh")  # a contact's title
    assert "机会名称" in ValidationError([error], entity="opportunity").message("zh")
