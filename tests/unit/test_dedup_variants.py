"""Script and language variants of one company name: they match, and their look-alikes do not."""

from __future__ import annotations

import pytest

from crmkit.domain.dedup import CUSTOMER_MATCH, Matcher, company_key, company_name
from crmkit.domain.dedup import record_from_fields as row
from crmkit.domain.dedup.defaults import spelling_blocks

MATCHER = Matcher(CUSTOMER_MATCH)


def verdict(a: dict, b: dict):
    match = MATCHER.score(row(a, id="a"), row(b, id="b"))
    assert match is not None
    return match


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("華瑞貿易有限公司", "华瑞贸易有限公司"),
        ("青島金智電子科技有限公司", "青岛金智电子科技有限公司"),
        ("联想（中国）有限公司", "联想中国有限公司"),
        ("联想中国有限公司", "中国联想有限公司"),
        ("金智电子科技（中国）有限公司", "金智电子科技中国有限公司"),
    ],
)
def test_script_and_country_variants_are_one_brand(a, b):
    assert company_key(a).brand == company_key(b).brand
    assert verdict({"name": a}, {"name": b}).is_duplicate


def test_a_bank_named_for_the_country_keeps_it():
    assert company_key("中国银行股份有限公司").brand == "中国银行"


@pytest.mark.parametrize(
    ("chinese", "latin"),
    [
        ("青岛金智达电子科技有限公司", "Qingdao Jinzhida Electronic Technology Co., Ltd."),
        ("兴峰思冷链物流（青岛）有限公司", "XINGFENGSI COLD CHAIN LOGISTICS CO., LTD."),
        ("华瑞贸易有限公司", "Huarui Trading Co., Ltd."),
    ],
)
def test_a_pinyin_name_meets_and_matches_its_chinese_twin_in_one_city(chinese, latin):
    a = row({"name": chinese, "region": "370200"}, id="a")
    b = row({"name": latin, "region": "370200"}, id="b")
    assert set(spelling_blocks(a)) & set(spelling_blocks(b))
    match = MATCHER.score(a, b)
    assert match is not None and match.is_duplicate
    # Pinyin loses the characters: never "the same name".
    assert company_name(company_key(chinese), company_key(latin)) < 1.0


def test_a_pinyin_name_with_another_trade_name_is_another_company():
    match = verdict(
        {"name": "华瑞贸易有限公司", "region": "370200"},
        {"name": "Huamei Trading Co., Ltd.", "region": "370200"},
    )
    assert not match.is_duplicate


def test_a_homophone_trade_name_in_one_city_takes_one_more_field_to_be_one_company():
    same_city = verdict({"name": "青岛金智电子科技有限公司"}, {"name": "青岛金志电子科技有限公司"})
    assert not same_city.is_duplicate and same_city.score > 0.2  # alike, shown, not merged
    with_address = verdict(
        {"name": "青岛金智电子科技有限公司", "address": "青岛市市南区香港中路10号"},
        {"name": "青岛金志电子科技有限公司", "address": "市南区香港中路10号"},
    )
    assert with_address.is_duplicate
    elsewhere = verdict(
        {"name": "青岛金智电子科技有限公司", "address": "青岛市市南区香港中路10号"},
        {"name": "大连金志电子科技有限公司", "address": "大连市中山区香港中路10号"},
    )
    assert not elsewhere.is_duplicate
    # The typo-tolerant key: both meet in their city however many companies read jinzhi.
    a = row({"name": "青岛金智电子科技有限公司"}, id="a")
    b = row({"name": "青岛金志电子科技有限公司"}, id="b")
    assert "sp:3702|jinzhi" in set(spelling_blocks(a)) & set(spelling_blocks(b))
