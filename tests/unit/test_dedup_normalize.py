"""Dedup normalisation takes names apart the way Chinese company names are built."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmkit.domain.dedup import (
    AddressKey,
    address_key,
    company_key,
    email_key,
    fold_text,
    person_key,
    phone_key,
    text,
    uscc_key,
)
from crmkit.domain.regions import Region, regions_table
from crmkit.domain.values import Phone

QINGDAO = "370200"

BRAND = st.text(alphabet="金智华夏新恒信达瑞鑫宏泰博联创海天正圆隆昌", min_size=2, max_size=3)
INDUSTRY = st.sampled_from(("电子科技", "贸易", "建材", "机械制造", "食品", "物流"))
SUFFIX = st.sampled_from(("有限公司", "有限责任公司", "股份有限公司", "集团有限公司", ""))
CITY = st.sampled_from(("青岛", "济南", "北京", "上海", "深圳", "杭州", "成都", "武汉"))


@pytest.mark.parametrize(
    "name",
    [
        "青岛金智电子科技有限公司",
        "金智电子科技（青岛）有限公司",
        "金智电子科技(青岛)有限公司",
        "金智电子科技【青岛】有限公司",
        "金智电子科技有限公司（青岛）",
        "青岛市金智电子科技有限公司",
        "山东省青岛市金智电子科技有限公司",
        "山东青岛金智电子科技股份有限公司",
    ],
)
def test_a_bracketed_city_and_a_city_prefix_give_the_same_brand_and_location(name: str):
    key = company_key(name)
    assert key.brand == "金智电子科技"
    assert key.trade_name == "金智"
    assert key.industry_word == "电子科技"
    assert key.location == QINGDAO
    assert key.branch is None


@pytest.mark.parametrize(
    ("suffix", "legal_form"),
    [
        ("有限公司", "有限责任公司"),
        ("有限责任公司", "有限责任公司"),
        ("股份有限公司", "股份有限公司"),
        ("股份公司", "股份有限公司"),
        ("集团有限公司", "集团有限责任公司"),
        ("集团股份有限公司", "集团股份有限公司"),
        ("公司", "公司"),
        ("总公司", "总公司"),
        ("", None),
    ],
)
def test_legal_form_variants_are_set_aside_and_normalised(suffix: str, legal_form: str | None):
    key = company_key(f"金智电子科技{suffix}")
    assert key.brand == "金智电子科技"
    assert key.legal_form == legal_form


@pytest.mark.parametrize(
    "name",
    [
        "金 智 电 子 科 技 有 限 公 司",
        "金智电子科技\u3000有限公司",
        "  金智电子科技有限公司 ",
        "金智电子科技·有限公司",
    ],
)
def test_spaces_full_width_spaces_and_punctuation_do_not_change_the_key(name: str):
    assert company_key(name) == company_key("金智电子科技有限公司")


@pytest.mark.parametrize(
    "name",
    [
        "Acme Trading Co., Ltd.",
        "ACME TRADING CO.,LTD",
        "acme trading company limited",
        "Ａｃｍｅ　Ｔｒａｄｉｎｇ　Ｃｏ．，Ｌｔｄ．",
        "The Acme Trading Limited",
        "Acme Trading Ltd",
        "Acme Trading Company Limi ted",  # a stray space inside a known word
        "Acme Tra ding Co., Ltd.",
    ],
)
def test_upper_case_and_full_width_english_names_with_any_suffix_share_one_brand(name: str):
    key = company_key(name)
    assert key.brand == "acmetrading"
    assert key.words == ("acme", "trading")
    assert key.trade_name == "acme"
    assert key.industry_word == "trading"


def test_two_words_are_joined_only_when_neither_is_a_known_word():
    # "bio" + "tech" might be "biotech", but "tech" is a word of its own: left alone.
    assert company_key("Bio Tech Co., Ltd.").words == ("bio", "tech")
    assert company_key("Sun Rise Trading Ltd").words == ("sun", "rise", "trading")


def test_an_english_place_in_brackets_or_in_front_is_a_location():
    assert company_key("Acme (Shanghai) Co., Ltd.").location == "310000"
    front = company_key("Qingdao Acme Electronics Co., Ltd.")
    assert front.location == QINGDAO
    assert front.brand == "acmeelectronics"


@pytest.mark.parametrize(
    ("name", "branch", "branch_location"),
    [
        ("金智电子科技有限公司青岛分公司", "青岛市分公司", QINGDAO),
        ("金智电子科技有限公司青岛市分公司", "青岛市分公司", QINGDAO),
        ("金智电子科技青岛分公司", "青岛市分公司", QINGDAO),
        ("金智电子科技有限公司（青岛分公司）", "青岛市分公司", QINGDAO),
        ("金智电子科技有限公司青岛办事处", "青岛市办事处", QINGDAO),
        ("金智电子科技有限公司第一营业部", "第一营业部", None),
        ("金智电子科技（北京）有限公司五四广场店", "五四广场店", None),
    ],
)
def test_a_branch_keeps_its_parents_brand_and_is_marked_with_its_place(
    name: str, branch: str, branch_location: str | None
):
    key = company_key(name)
    assert key.brand == "金智电子科技"
    assert key.is_branch
    assert key.branch == branch
    assert key.branch_location == branch_location


def test_a_parent_is_not_a_branch():
    assert not company_key("金智电子科技有限公司").is_branch


def test_a_sole_traders_shop_is_the_business_itself_not_a_branch():
    key = company_key("青岛市市南区金智五金经营部")
    assert not key.is_branch
    assert key.location == "370202"
    assert key.brand.startswith("金智五金")


def test_a_shop_in_brackets_after_a_brand_is_a_branch():
    key = company_key("海底捞（五四广场店）")
    assert key.brand == "海底捞"
    assert key.branch == "五四广场店"


@pytest.mark.parametrize("name", ["北京", "重庆火锅店", "青岛电子科技有限公司", "金昌文化传媒"])
def test_a_place_that_is_all_a_name_has_stays_in_the_brand_and_is_no_location(name: str):
    key = company_key(name)
    assert key.brand == fold_text(name).removesuffix("有限公司")
    assert key.location is None


def test_a_place_that_may_start_a_trade_name_is_kept_as_the_brand_with_place():
    # 金华 is a city, but 金华泰 is also a perfectly good trade name.
    key = company_key("金华泰电子科技有限公司")
    assert key.brand_with_place == "金华泰电子科技"
    assert company_key("杭州金华泰电子科技有限公司").brand == "金华泰电子科技"


def test_a_district_counts_after_its_city_or_written_in_full():
    assert company_key("青岛市南区金智贸易有限公司").location == "370202"
    assert company_key("胶州市金智贸易有限公司").location == "370281"
    # A bare short district name is too often the start of a trade name.
    assert company_key("城阳金智贸易有限公司").location is None


def test_national_words_in_brackets_are_dropped():
    assert company_key("金智（中国）投资有限公司").brand == "金智投资"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("张三", "张三"),
        (" 张 三 ", "张三"),
        ("张总", "张"),
        ("李经理", "李"),
        ("王总工", "王"),
        ("阿沛·阿旺晋美", "阿沛阿旺晋美"),
        ("Zhang San", "san zhang"),
        ("SAN  ZHANG", "san zhang"),
        ("Mr. John Smith", "john smith"),
        ("", None),
        (None, None),
    ],
)
def test_person_names_lose_spacing_forms_of_address_and_word_order(
    raw: str | None, key: str | None
):
    assert person_key(raw) == key


@pytest.mark.parametrize(
    "raw",
    ["138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "１３８００１３８０００"],
)
def test_phone_keys_are_e164_however_the_number_was_written(raw: str):
    assert phone_key(raw) == "+8613800138000"


def test_phone_keys_take_phone_objects_and_refuse_garbage():
    assert phone_key(Phone.parse("0532-88886666")) == "+8653288886666"
    assert phone_key("12345") is None
    assert phone_key("") is None
    assert phone_key(None) is None


def test_email_keys_ignore_case_and_invalid_addresses_are_unknown():
    assert email_key("Li.Si@Example.COM") == email_key("li.si@example.com") == "li.si@example.com"
    assert email_key("not an address") is None


def test_uscc_keys_are_upper_case_and_a_bad_check_digit_is_unknown():
    assert uscc_key("91350100m000100y43") == "91350100M000100Y43"
    assert uscc_key("91350100M000100Y44") is None


def test_an_address_is_split_into_its_region_and_the_rest():
    assert address_key("山东省青岛市市南区香港中路 10 号") == AddressKey("370202", "香港中路10号")
    assert address_key("青岛市市南区香港中路10号") == AddressKey("370202", "香港中路10号")


def test_the_region_field_decides_when_an_address_begins_like_another_place():
    # 香港中路 is a street in 青岛, not 香港.
    assert address_key("香港中路10号", Region.from_code("370202")) == AddressKey(
        "370202", "香港中路10号"
    )
    assert address_key(None, "370200") == AddressKey("370200", "")
    assert address_key(None) is None


@given(st.text(max_size=40))
def test_folding_text_is_idempotent(text: str):
    assert fold_text(fold_text(text)) == fold_text(text)


@given(st.text(max_size=30))
def test_a_company_key_survives_folding_its_name_first(text: str):
    assert company_key(fold_text(text)) == company_key(text)


@given(CITY, BRAND, INDUSTRY, SUFFIX)
def test_the_place_may_lead_or_follow_in_brackets_without_changing_brand_or_location(
    city: str, brand: str, industry: str, suffix: str
):
    # A brand that itself starts with a place name (金华信 = 金华 + 信) is ambiguous on
    # purpose; the matcher compares both readings (brand_with_place), not this property.
    table = regions_table()
    places = {n for n in (*table.provinces, *table.cities) if len(n) >= 2}
    assume(not any(brand.startswith(p) for p in places))
    prefixed = company_key(f"{city}{brand}{industry}{suffix}")
    bracketed = company_key(f"{brand}{industry}（{city}）{suffix}")
    assert prefixed.brand == bracketed.brand
    assert prefixed.location == bracketed.location


@given(st.text(max_size=20))
def test_person_keys_are_idempotent(text: str):
    key = person_key(text)
    assert key is None or person_key(key) == key


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_phone_keys_are_idempotent(number: str):
    key = phone_key(number)
    assert key is None or phone_key(key) == key


def test_the_word_lists_are_data_files_read_on_first_use_not_at_import():
    # A fresh interpreter: importing crmkit reads no list; taking a name apart reads them.
    code = (
        "import crmkit\n"
        "from crmkit.domain.dedup import company_key, person_key, text\n"
        "assert text.word_list.cache_info().currsize == 0\n"
        "assert company_key('青岛金智电子科技有限公司').brand == '金智电子科技'\n"
        "assert company_key('Acme Trading Co., Ltd.').legal_form == 'co ltd'\n"
        "assert person_key('张总') == '张'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    for name in (
        "cn_legal_forms",
        "cn_branch_strong",
        "cn_branch_weak",
        "cn_industry",
        "cn_honorifics",
        "latin_legal_forms",
        "latin_branch",
        "latin_industry",
        "latin_titles",
        "national_words",
    ):
        assert text.word_list(name), name
