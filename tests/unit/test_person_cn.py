"""Chinese individual customers: pinyin names, the card's birth date, shortened addresses,
households, and the levels of a person's comparison."""

from __future__ import annotations

from datetime import date

import pytest

from crmkit.domain.dedup import CUSTOMER_MATCH, Matcher, record_from_fields
from crmkit.domain.dedup.keys import (
    address_key,
    id_birth_date,
    name_syllable_bags,
    person_key,
    segment_pinyin,
)
from crmkit.domain.dedup.person import (
    address_similarity,
    birth_date_similarity,
    person_blocks,
    person_similarity,
)

MATCHER = Matcher(CUSTOMER_MATCH)
# 110105 19491231 002 X: a valid card of someone born 1949-12-31.
CARD = "11010519491231002X"


def person(id: str, **fields: object):
    return record_from_fields({"kind": "individual", **fields}, id=id)


def similarity(a: str, b: str) -> float | None:
    ka, kb = person_key(a), person_key(b)
    assert ka is not None and kb is not None
    return person_similarity(ka, kb)


# -- names in pinyin ----------------------------------------------------------------------
def test_pinyin_is_cut_into_syllables():
    assert segment_pinyin("jianguo") == ("jian", "guo")
    assert segment_pinyin("xian") == ("xian",)  # 先, not 西安 (that needs xi'an)
    assert segment_pinyin("smith") is None


@pytest.mark.parametrize(
    ("chinese", "latin"),
    [
        ("王建国", "Wang Jianguo"),
        ("王建国", "Jianguo Wang"),
        ("王建国", "WANG Jianguo"),
        ("王建国", "Wang Jian Guo"),
        ("徐建东", "Jiandong Xu"),
        ("杨娜", "Yang Na"),
        ("王建果", "wang jianguo"),  # a homophone of the same reading
    ],
)
def test_a_name_in_pinyin_reads_as_its_chinese_name(chinese, latin):
    assert similarity(chinese, latin) == pytest.approx(0.92)
    assert similarity(latin, chinese) == pytest.approx(0.92)


def test_a_pinyin_name_split_otherwise_is_the_same_name():
    assert similarity("Wang Jian Guo", "Jianguo Wang") == pytest.approx(0.92)


def test_a_pinyin_name_with_another_given_name_is_only_partly_the_same():
    assert similarity("王建华", "Wang Jianguo") == pytest.approx(0.75)  # one syllable of two
    assert similarity("王芳", "Wang Jianguo") == pytest.approx(0.5)
    assert similarity("李芳", "Wang Jianguo") == 0.0


def test_a_name_and_its_pinyin_share_a_blocking_key():
    chinese = person("a", name="杨娜")
    latin = person("b", name="Yang Na")
    assert MATCHER.block_keys(chinese) & MATCHER.block_keys(latin)
    assert name_syllable_bags("jianguo wang") == name_syllable_bags("王建国")
    assert name_syllable_bags("john smith") == frozenset()


def test_a_latin_name_in_pinyin_is_found_and_matched():
    records = [
        person("1", name="王建国", birthday="1970-03-04", mobile="13912345678"),
        person("2", name="Wang Jianguo", birthday="1970-03-04"),
    ]
    match = MATCHER.score(*records)
    assert match is not None and match.is_duplicate
    assert [c.ids for c in MATCHER.clusters(records, singletons=False)] == [("1", "2")]


def test_two_characters_of_a_given_name_swapped_are_a_typo():
    assert similarity("张嘉凯", "张凯嘉") >= 0.88


# -- the card's birth date ----------------------------------------------------------------
def test_a_card_carries_its_birth_date():
    assert id_birth_date("cn:" + CARD) == date(1949, 12, 31)
    assert id_birth_date("E12345678") is None
    assert id_birth_date(None) is None


def test_a_record_without_a_birthday_takes_the_cards():
    record = person("a", name="张三", id_number=CARD)
    assert record.get("birthday") == date(1949, 12, 31)
    assert "d:1949-12-31" in person_blocks(record)
    # A typed date is kept (it may be the lunar-calendar birthday); the card's still blocks.
    typed = person("b", name="张三", id_number=CARD, birthday="1949-12-30")
    assert typed.get("birthday") == date(1949, 12, 30)
    assert "d:1949-12-31" in person_blocks(typed)


def test_the_cards_date_meets_a_typed_one():
    carded = person("a", name="张三", id_number=CARD)
    typed = person("b", name="张三", birthday="1949-12-31")
    match = MATCHER.score(carded, typed)
    assert match is not None and match.is_duplicate
    assert "birthday=" in match.reasons


# -- birth dates --------------------------------------------------------------------------
def test_birth_date_levels():
    assert birth_date_similarity(date(2001, 7, 28), date(2001, 7, 29)) == 0.8  # a slip
    assert birth_date_similarity(date(2001, 7, 8), date(2001, 8, 7)) == 0.8  # swapped
    # Two slips of one date (2001-07-28 typed twice wrongly) are not a disagreement.
    assert birth_date_similarity(date(2001, 7, 29), date(2002, 7, 28)) == 0.6
    assert birth_date_similarity(date(1986, 8, 17), date(1954, 7, 12)) == 0.0


# -- addresses ----------------------------------------------------------------------------
def test_an_address_without_its_flat_is_partly_the_same():
    short = address_key("浙江省温州市龙湾区胜利路201号")
    full = address_key("温州市龙湾区胜利路201号19栋5单元1403室")
    assert short is not None and full is not None
    found = address_similarity(short, full)
    assert found is not None and 0.8 <= found < 0.85
    level = CUSTOMER_MATCH.persons.rules[-1]
    assert level.field == "address" and level.evidence(found) > 0


def test_another_house_number_is_not_contained():
    a, b = address_key("胜利路20"), address_key("胜利路201号")
    assert a is not None and b is not None
    found = address_similarity(a, b)
    assert found is not None and found < 0.8


# -- households ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name_a", "born_a", "name_b", "born_b"),
    [
        ("刘雪", "2000-12-04", "刘婷", "1999-02-09"),
        ("段建峰", "1986-08-17", "段峰", "1954-07-12"),  # father and son
    ],
)
def test_two_people_of_one_household_are_not_one(name_a, born_a, name_b, born_b):
    shared = {"mobile": "13734847743", "address": "北京市大兴区复兴西路280号"}
    a = person("a", name=name_a, birthday=born_a, **shared)
    b = person("b", name=name_b, birthday=born_b, **shared)
    match = MATCHER.score(a, b)
    assert match is not None and not match.is_duplicate


def test_one_person_at_home_is_still_one():
    shared = {"mobile": "13734847743", "address": "北京市大兴区复兴西路280号"}
    a = person("a", name="段建峰", birthday="1986-08-17", **shared)
    b = person("b", name="段建锋", birthday="1986-08-17", **shared)
    match = MATCHER.score(a, b)
    assert match is not None and match.is_duplicate


def test_every_compared_name_gives_a_reason():
    a = person("a", name="段建峰", birthday="1986-08-17")
    b = person("b", name="段峰", birthday="1986-08-17")
    match = MATCHER.score(a, b)
    assert match is not None
    assert any(r.startswith("name") for r in match.reasons)
