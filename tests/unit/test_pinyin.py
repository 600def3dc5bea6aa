"""Logins, initials and the 百家姓 index follow the seed rules and surname readings."""

from __future__ import annotations

import pytest
from hypothesis import given

from crmkit.domain.pinyin import derive_login, initials, split_name, surname_initial
from crmkit.domain.user import LOGIN_RE, next_free_login
from crmkit.testing.strategies import person_names


@pytest.mark.parametrize(
    ("name", "login"),
    [
        ("张三", "zhangsan"),
        ("李小明", "lixm"),
        ("曾平", "zengping"),
        ("单雄信", "shanxx"),
        ("区伟", "ouwei"),
        ("朴槿惠", "piaojh"),
        ("欧阳修", "ouyx"),
        ("王", "wang"),
        ("John Smith", "johnsmith"),
    ],
)
def test_logins_follow_the_seed_rule_with_surname_readings(name: str, login: str):
    assert derive_login(name) == login


def test_a_clash_appends_the_next_free_number():
    assert next_free_login("张三", []) == "zhangsan"
    assert next_free_login("张三", ["zhangsan"]) == "zhangsan1"
    assert next_free_login("张三", ["zhangsan", "zhangsan1", "zhangsan3"]) == "zhangsan2"


@given(person_names())
def test_every_derived_login_is_a_valid_login(name: str):
    assert LOGIN_RE.match(derive_login(name))


def test_surname_letters_use_the_surname_reading():
    assert surname_initial("曾小贤") == "Z"
    assert surname_initial("单田芳") == "S"
    assert surname_initial("区家麟") == "O"
    assert surname_initial("欧阳娜娜") == "O"
    assert surname_initial("Smith") == "S"
    assert surname_initial("") == "#"


def test_compound_surnames_split_as_one():
    assert split_name("欧阳娜娜") == ("欧阳", "娜娜")
    assert split_name("司马光") == ("司马", "光")
    assert split_name("张三") == ("张", "三")
    assert initials("李小明") == "lxm"
