"""Synthetic Chinese SME customers for benchmarks and demo data (deterministic per seed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

CITIES = [
    ("370202", "青岛"),
    ("370102", "济南"),
    ("110105", "北京"),
    ("310115", "上海"),
    ("440305", "深圳"),
    ("440106", "广州"),
    ("330106", "杭州"),
    ("320106", "南京"),
    ("510107", "成都"),
    ("420106", "武汉"),
    ("610113", "西安"),
    ("500103", "重庆"),
    ("350203", "厦门"),
    ("210202", "大连"),
    ("120101", "天津"),
    ("430104", "长沙"),
]
BRAND_CHARS = (
    "金智华夏新恒信达瑞鑫宏泰安康永盛德丰源通远航博联创海天正圆隆昌顺利和美佳辰光明星月"
    "东南西北中润泽兴旺福祥云峰宇腾飞凯乐嘉禾汇百川万方"
)
TRADES = [
    "电子科技",
    "信息技术",
    "贸易",
    "建材",
    "机械制造",
    "食品",
    "物流",
    "医疗器械",
    "服装",
    "化工",
    "网络科技",
    "餐饮管理",
    "文化传媒",
    "建筑工程",
    "汽车配件",
    "茶叶",
]
SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉"
SOURCES = ["展会", "网络", "转介绍", "电话营销", "老客户", "广告"]
INDUSTRIES = ["制造业", "批发零售", "信息技术", "建筑业", "餐饮", "物流运输"]
TAGS = ["VIP", "重点", "新客户", "待回访", "战略合作"]
CATEGORIES = ["potential", "potential", "formal", "signed", "abandoned"]


def company_name(rng: random.Random) -> tuple[str, str]:
    code, city = rng.choice(CITIES)
    brand = "".join(rng.choices(BRAND_CHARS, k=rng.choice((2, 2, 3))))
    return code, f"{city}{brand}{rng.choice(TRADES)}{rng.choice(SUFFIXES)}"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def mobile(rng: random.Random) -> str:
    return (
        "+86"
        + rng.choice(("138", "139", "135", "136", "150", "186", "187", "159"))
        + (f"{rng.randrange(10**8):08d}")
    )


def customer_rows(
    n: int, owners: list[str], seed: int = 1, start: datetime | None = None
) -> Iterator[dict[str, object]]:
    """``n`` plain dicts describing customers, deterministic for a seed."""
    rng = random.Random(seed)
    t0 = start or datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(n):
        code, name = company_name(rng)
        yield {
            "name": f"{name[:-4]}{i}号{name[-4:]}" if i % 3 == 0 else name,
            "region": code,
            "mobile": mobile(rng),
            "owner_id": owners[i % len(owners)],
            "category": rng.choice(CATEGORIES),
            "source": rng.choice(SOURCES),
            "industry": rng.choice(INDUSTRIES),
            "tags": tuple(sorted(set(rng.sample(TAGS, k=rng.choice((0, 1, 1, 2)))))),
            "created_at": t0 + timedelta(seconds=30 * i),
            "contact": person_name(rng),
            "contact_mobile": mobile(rng),
        }
