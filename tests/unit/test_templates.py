"""Message templates: placeholders filled, an unknown variable refused in zh and en, and SMS
segments counted the way gateways bill them (GSM-7 160/153, UCS-2 70/67)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit import ValidationError
from crmkit.domain.templates import MessageTemplate, check_template, sms_segments

BIRTHDAY = MessageTemplate("birthday", "sms", "{客户名称}您好，祝您生日快乐！{签名}")


def test_a_template_fills_its_placeholders() -> None:
    subject, body = BIRTHDAY.render({"客户名称": "李四", "签名": "【金智电子】"})
    assert (subject, body) == (None, "李四您好，祝您生日快乐！【金智电子】")
    mail = MessageTemplate("visit", "email", "{name}，下周{ day }拜访", subject="拜访 {name}")
    assert mail.render({"name": "王五", "day": "三"}) == ("拜访 王五", "王五，下周三拜访")


def test_an_unknown_variable_is_named_in_both_languages() -> None:
    with pytest.raises(ValidationError) as missing:
        BIRTHDAY.render({"客户名称": "李四"})
    assert [e.field for e in missing.value.errors] == ["variables.签名"]
    assert "使用了不可用的变量 签名" in missing.value.message("zh")
    assert "names the variable 签名, which is not available" in missing.value.message("en")
    with pytest.raises(ValidationError) as offered:
        check_template(BIRTHDAY, offered=["客户名称"])
    assert [(e.field, e.code) for e in offered.value.errors] == [
        ("body", "template.unknown_variable")
    ]
    with pytest.raises(ValidationError) as broken:
        check_template(MessageTemplate("x", "sms", "您好 {客户名称"), offered=["客户名称"])
    assert [e.code for e in broken.value.errors] == ["template.malformed"]


def test_an_sms_over_the_segment_limit_is_refused() -> None:
    long = MessageTemplate("notice", "sms", "{text}")
    assert long.render({"text": "好" * 201})[1] == "好" * 201  # 3 segments of 67
    with pytest.raises(ValidationError) as too_long:
        long.render({"text": "好" * 202})
    assert "长达 4 条短信，超过上限 3 条" in too_long.value.message("zh")
    assert "is 4 SMS segments long, more than the 3 allowed" in too_long.value.message("en")


@given(st.text(alphabet="abcXYZ 019,.?", max_size=500))
def test_gsm_text_is_billed_160_then_153(text: str) -> None:
    n = len(text)
    assert sms_segments(text) == (0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153))


@given(st.text(alphabet="你好金智电子abc", min_size=1, max_size=500))
def test_chinese_text_is_billed_70_then_67(text: str) -> None:
    n = len(text)
    ucs2 = any(c not in "abc" for c in text)
    if ucs2:
        assert sms_segments(text) == (1 if n <= 70 else math.ceil(n / 67))


def test_extended_gsm_characters_take_two_places() -> None:
    assert sms_segments("€" * 80) == 1  # 160 places
    assert sms_segments("€" * 81) == 2
    assert sms_segments("😀" * 35) == 1  # two UTF-16 units each: 70
    assert sms_segments("😀" * 36) == 2
