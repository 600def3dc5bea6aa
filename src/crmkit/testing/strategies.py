"""Hypothesis strategies for valid crmkit input: names, phones, e-mails, regions, money.

from crmkit.testing.strategies import company_names, mobiles
@given(company_names(), mobiles())
def test_something(name, mobile): ...
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from crmkit.domain.regions import regions_table
from crmkit.domain.values import Money

CJK_BRAND = "金智华夏新恒信达瑞鑫宏泰安康永盛德丰源通远航博联创海天正圆隆昌顺利和美佳辰光明星月"
TRADES = ("电子科技", "信息技术", "贸易", "建材", "机械制造", "食品", "物流", "医疗器械")
SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红玲芬燕彬鹏辉"
MOBILE_PREFIXES = ("130", "135", "138", "139", "150", "158", "186", "187", "199")


@st.composite
def chinese_company_names(draw: st.DrawFn) -> str:
    """Names like 青岛金智电子科技有限公司 (valid under the seed rules)."""
    cities = [
        n.removesuffix("市")
        for c, n in regions_table().names.items()
        if c.endswith("00") and not c.endswith("0000") and n.endswith("市")
    ]
    city = draw(st.sampled_from(cities[:60]))
    brand = draw(st.text(alphabet=CJK_BRAND, min_size=2, max_size=4))
    return city + brand + draw(st.sampled_from(TRADES)) + draw(st.sampled_from(SUFFIXES))


english_company_names = st.builds(
    lambda w, s: f"{w} {s}",
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12
    ),
    st.sampled_from(("Co., Ltd.", "Inc.", "LLC", "Trading & Co.", "Group")),
)


def company_names() -> st.SearchStrategy[str]:
    """Chinese or English company names that pass ``normalize_company_name``."""
    return st.one_of(chinese_company_names(), english_company_names)


def person_names() -> st.SearchStrategy[str]:
    return st.builds(
        lambda s, g: s + g,
        st.sampled_from(SURNAMES),
        st.text(alphabet=GIVEN, min_size=1, max_size=2),
    )


def mobiles() -> st.SearchStrategy[str]:
    """Chinese mobile numbers written the ways people write them."""
    number = st.builds(
        lambda p, r: p + f"{r:08d}", st.sampled_from(MOBILE_PREFIXES), st.integers(0, 10**8 - 1)
    )
    return number.flatmap(
        lambda n: st.sampled_from(
            (
                n,
                f"+86 {n[:3]}-{n[3:7]}-{n[7:]}",
                f"{n[:3]} {n[3:7]} {n[7:]}",
                f"0086{n}",
            )
        )
    )


def emails() -> st.SearchStrategy[str]:
    local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
    domain = st.sampled_from(("example.com", "Example.CN", "qq.com", "163.com"))
    return st.builds(lambda a, d: f"{a}@{d}", local, domain)


def region_codes() -> st.SearchStrategy[str]:
    """6-digit codes from the shipped GB/T 2260 table."""
    return st.sampled_from(sorted(regions_table().names))


def amounts(max_value: int = 10**9) -> st.SearchStrategy[Decimal]:
    """Exact decimal amounts with up to 4 places."""
    return st.decimals(
        min_value=-max_value, max_value=max_value, places=4, allow_nan=False, allow_infinity=False
    )


def money(currency: str = "CNY") -> st.SearchStrategy[Money]:
    return amounts().map(lambda a: Money(a, currency))
