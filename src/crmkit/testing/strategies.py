"""Hypothesis strategies for valid crmkit input: names, phones, e-mails, regions, money,
identity numbers.

Every strategy here draws values that crmkit's parsers accept, so a property test can focus
on the rule it checks rather than on input validation::

    from hypothesis import given
    from crmkit.testing.strategies import company_names, mobiles

    @given(company_names(), mobiles())
    def test_a_customer_can_be_created_from_any_valid_name(name, mobile): ...

Raw-text strategies (:func:`company_names`, :func:`mobiles`, :func:`emails`,
:func:`id_number_texts`) draw what a person would type; value strategies (:func:`phones`,
:func:`regions`, :func:`money`, :func:`id_numbers`) draw the parsed value objects;
:func:`customers` draws whole valid :class:`Customer` aggregates for repository tests.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from stdnum.cn import ric

from crmkit.domain.customer import (
    Category,
    ChannelType,
    CreditRating,
    Customer,
    CustomerKind,
    Settlement,
)
from crmkit.domain.regions import Region, regions_table
from crmkit.domain.values import Email, IdNumber, IdType, Money, Phone
from crmkit.testing.builders import make_customer

CJK_BRAND = "金智华夏新恒信达瑞鑫宏泰安康永盛德丰源通远航博联创海天正圆隆昌顺利和美佳辰光明星月"
TRADES = ("电子科技", "信息技术", "贸易", "建材", "机械制造", "食品", "物流", "医疗器械")
SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红玲芬燕彬鹏辉"
MOBILE_PREFIXES = ("130", "135", "138", "139", "150", "158", "186", "187", "199")
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TAGS = ("VIP", "重点", "老客户", "渠道商", "待回访", "key-account")
# Address codes of identity numbers: districts with codes older than anyone drawn here
# (python-stdnum knows them for every birth year), and districts coded in 1983 or later,
# which real numbers of people born before then begin with too.
ID_REGIONS = ("110101", "110105", "120101", "310101", "370202", "440305", "510104", "330106")


def _city_names() -> list[str]:
    table = regions_table().names
    cities = [
        name.removesuffix("市")
        for code, name in sorted(table.items())
        if code.endswith("00") and not code.endswith("0000") and name.endswith("市")
    ]
    return cities[:60]


@st.composite
def chinese_company_names(draw: st.DrawFn) -> str:
    """Names like 青岛金智电子科技有限公司: city + brand + trade + legal suffix."""
    city = draw(st.sampled_from(_city_names()))
    brand = draw(st.text(alphabet=CJK_BRAND, min_size=2, max_size=4))
    return city + brand + draw(st.sampled_from(TRADES)) + draw(st.sampled_from(SUFFIXES))


def english_company_names() -> st.SearchStrategy[str]:
    """Names like ``Acme Trading & Co.``: a latin word and a legal suffix."""
    return st.builds(
        lambda word, suffix: f"{word} {suffix}",
        st.text(alphabet=LATIN, min_size=2, max_size=12),
        st.sampled_from(("Co., Ltd.", "Inc.", "LLC", "Trading & Co.", "Group")),
    )


def company_names() -> st.SearchStrategy[str]:
    """Chinese or English company names, already in their normalised (stored) form."""
    return st.one_of(chinese_company_names(), english_company_names())


def person_names() -> st.SearchStrategy[str]:
    """Chinese personal names: a common surname and one or two given characters."""
    return st.builds(
        lambda surname, given: surname + given,
        st.sampled_from(SURNAMES),
        st.text(alphabet=GIVEN, min_size=1, max_size=2),
    )


def mobile_numbers() -> st.SearchStrategy[str]:
    """Chinese mobile numbers as 11 plain digits (``13800138000``)."""
    return st.builds(
        lambda prefix, rest: prefix + f"{rest:08d}",
        st.sampled_from(MOBILE_PREFIXES),
        st.integers(0, 10**8 - 1),
    )


def mobiles() -> st.SearchStrategy[str]:
    """Chinese mobile numbers written the ways people write them (spaces, +86, 0086)."""
    return mobile_numbers().flatmap(
        lambda n: st.sampled_from(
            (
                n,
                f"+86 {n[:3]}-{n[3:7]}-{n[7:]}",
                f"{n[:3]} {n[3:7]} {n[7:]}",
                f"0086{n}",
            )
        )
    )


def phones() -> st.SearchStrategy[Phone]:
    """Parsed mobile :class:`Phone` values (stored as E.164)."""
    return mobile_numbers().map(lambda n: Phone.parse(n, region="CN"))


def emails() -> st.SearchStrategy[str]:
    """E-mail addresses as typed, sometimes with an upper-case domain."""
    local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
    domain = st.sampled_from(("example.com", "Example.CN", "qq.com", "163.com"))
    return st.builds(lambda a, d: f"{a}@{d}", local, domain)


def email_values() -> st.SearchStrategy[Email]:
    """Parsed, normalised :class:`Email` values."""
    return emails().map(Email.parse)


def id_number_values(born: date | None = None) -> st.SearchStrategy[str]:
    """Valid 18-character identity numbers, upper-case X (``370202199001011237``): an
    address code, the birth date (``born``, or drawn from 1940–2005), a 3-digit sequence
    and the check digit."""
    births = st.just(born) if born is not None else st.dates(date(1940, 1, 1), date(2005, 12, 31))

    def build(region: str, birth: date, sequence: int) -> str:
        body = f"{region}{birth:%Y%m%d}{sequence:03d}"
        return body + ric.calc_check_digit(body + "0")

    return st.builds(build, st.sampled_from(ID_REGIONS), births, st.integers(0, 999))


def id_number_texts(born: date | None = None) -> st.SearchStrategy[str]:
    """Identity numbers as people type them: a lower-case x, spaces or dashes between the
    parts, full-width digits."""
    return id_number_values(born).flatmap(
        lambda n: st.sampled_from(
            (
                n,
                n.lower(),
                f"{n[:6]} {n[6:14]} {n[14:]}",
                f"{n[:6]}-{n[6:14]}-{n[14:]}",
                n.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")),
            )
        )
    )


def id_numbers(born: date | None = None) -> st.SearchStrategy[IdNumber]:
    """Parsed :class:`IdNumber` values (born on ``born`` if given)."""
    return id_number_values(born).map(IdNumber.parse)


def passport_numbers() -> st.SearchStrategy[IdNumber]:
    """Parsed passport numbers (:attr:`IdType.PASSPORT`): a letter and 8 digits, like
    ``E12345678``."""
    return st.builds(
        lambda letter, digits: IdNumber.parse(f"{letter}{digits:08d}", kind=IdType.PASSPORT),
        st.sampled_from("EGDSP"),
        st.integers(0, 99_999_999),
    )


def region_codes() -> st.SearchStrategy[str]:
    """6-digit codes (province, city or district) from the shipped GB/T 2260 table."""
    return st.sampled_from(sorted(regions_table().names))


def regions() -> st.SearchStrategy[Region]:
    """:class:`Region` values for codes of the shipped table."""
    return region_codes().map(Region.from_code)


def amounts(
    max_value: int = 10**9, *, min_value: int | None = None, places: int = 4
) -> st.SearchStrategy[Decimal]:
    """Exact decimal amounts with up to ``places`` decimal places (default ±10⁹, 4 places)."""
    low = -max_value if min_value is None else min_value
    return st.decimals(
        min_value=low, max_value=max_value, places=places, allow_nan=False, allow_infinity=False
    )


def money(currency: str = "CNY", *, min_value: int | None = None) -> st.SearchStrategy[Money]:
    """:class:`Money` in ``currency`` (pass ``min_value=0`` for limits and prices)."""
    return amounts(min_value=min_value).map(lambda a: Money(a, currency))


def custom_values() -> st.SearchStrategy[dict[str, Any]]:
    """Custom-field values of every stored type: ``str``, ``Decimal``, ``date`` and ``bool``."""
    return st.fixed_dictionaries(
        {},
        optional={
            "scale": st.sampled_from(("小型", "中型", "大型")),
            "staff": amounts(10**6, min_value=0, places=2),
            "founded": st.dates(date(1950, 1, 1), date(2025, 12, 31)),
            "listed": st.booleans(),
            "notes": st.text(alphabet=CJK_BRAND + LATIN + " ", max_size=30),
        },
    )


@st.composite
def customers(draw: st.DrawFn, /, **overrides: Any) -> Customer:
    """Whole valid customers (unique ids, ``check_customer_rules`` holds), for repositories.

    An individual may have an identity number with its document type (mostly a resident
    card's, sometimes a passport's); when it has a birthday too, a resident card's number
    encodes it. Keyword ``overrides`` are passed to
    :func:`crmkit.testing.builders.make_customer` as is.
    """
    kind = draw(st.sampled_from(list(CustomerKind)))
    company = kind is CustomerKind.COMPANY
    birthdays = st.none() | st.dates(date(1940, 1, 1), date(2005, 12, 31))
    birthday = None if company else draw(birthdays)
    # mostly a resident card's number; one in five a passport's
    documents = st.integers(0, 4).flatmap(
        lambda n: passport_numbers() if n == 0 else id_numbers(birthday)
    )
    id_number = None if company else draw(st.none() | documents)
    settlement = draw(st.sampled_from(list(Settlement)))
    owner = draw(st.none() | st.sampled_from(("u-1", "u-2", "u-3")))
    co_owners = draw(st.lists(st.sampled_from(("u-4", "u-5", "u-6")), max_size=2, unique=True))
    fields: dict[str, Any] = {
        "kind": kind,
        "name": draw(company_names() if company else person_names()),
        "category": draw(st.sampled_from(list(Category))),
        "channel_type": draw(st.sampled_from(list(ChannelType))),
        "source": draw(st.none() | st.sampled_from(("展会", "网络", "转介绍"))),
        "industry": draw(st.none() | st.sampled_from(("制造业", "餐饮", "IT"))),
        "region": draw(st.none() | regions()),
        "address": draw(st.none() | st.text(alphabet=CJK_BRAND + "0123456789号路", max_size=20)),
        "tags": tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True))),
        "credit_rating": draw(st.none() | st.sampled_from(list(CreditRating))),
        "settlement": settlement,
        "credit_limit": (
            draw(st.none() | money(min_value=0)) if settlement is Settlement.CREDIT else None
        ),
        "owner_id": owner,
        "co_owner_ids": tuple(co_owners),
        "birthday": birthday,
        "id_number": id_number,
        "id_type": id_number.kind if id_number is not None else None,
        "mobile": draw(st.none() | phones()),
        "email": draw(st.none() | email_values()),
        "remarks": draw(st.none() | st.text(alphabet=CJK_BRAND + LATIN + "\n ", max_size=40)),
        "custom": draw(custom_values()),
    }
    fields.update(overrides)
    return make_customer(**fields)


__all__ = [
    "amounts",
    "chinese_company_names",
    "company_names",
    "custom_values",
    "customers",
    "email_values",
    "emails",
    "english_company_names",
    "id_number_texts",
    "id_number_values",
    "id_numbers",
    "mobile_numbers",
    "mobiles",
    "money",
    "passport_numbers",
    "person_names",
    "phones",
    "region_codes",
    "regions",
]
