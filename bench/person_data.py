"""A labelled set of mainland-China individual customers with duplicates, for person matching.

FEBRL's synthetic Australians test a person matcher on Latin names, but a Chinese CRM holds
people whose names are two to four characters, drawn from a handful of surnames: 王, 李, 张,
刘 and 陈 alone cover about 30% of the population, and given names repeat across
generations (王伟, 张敏, 李秀英), so many *different* people share a name. Those are the hard
negatives; the duplicates are the same person entered again by other staff, months apart,
the way they type it. ``generate`` makes such a set, deterministic for a seed, in the shape
of the FEBRL frames ``bench_person_linkage.py`` loads: one row per record, indexed
``rec-<entity>-org`` / ``rec-<entity>-dup-<k>``, so two rows are duplicates exactly when
their entities are equal.

What a person is:

- a name: the surname drawn by its real frequency (a few compound ones: 欧阳, 司马, 诸葛, 上官,
  司徒), the given name of one or two characters, era-dependent (秀英, 建国 for the old,
  子轩, 欣怡 for the young), either a common whole given name or composed from common
  characters;
- a gender and a birth date (ages 18–75 on :data:`REFERENCE_DATE`);
- a 居民身份证 number that is valid: a current county code from python-stdnum's
  ``stdnum/cn/loc.dat`` (the same table that checks it), the birth date, a 3-digit sequence
  whose last digit is odd for a man and even for a woman, and the check digit
  (``stdnum.cn.ric.calc_check_digit``);
- a mobile number (real 1[3-9]x prefixes), sometimes an e-mail made from the pinyin of the
  name (``wangjianguo85@163.com``, ``jg.wang@qq.com``) or a QQ number;
- a home address, ``省市区 + road + number 号`` and often a building and flat, mostly in the
  city of the ID's county (people move: some live elsewhere, most of those in a big city).

A record carries each field with a probability, as staff fill forms: the ID about 70%, the
mobile 80%, an e-mail about 25%, the address 70%, the birth date 90%.

Duplicates: ``dup_rate`` of the people get 1 to 3 more records, each with one to three
corruptions (recorded in the ``variants`` column, e.g. ``name:pinyin;id:digit``):

- name: ``traditional`` (OpenCC ``s2t``, sometimes the address too), ``pinyin`` ("Wang
  Jianguo", "Jianguo Wang", "WANG Jianguo"), ``homophone`` (an input-method slip: 王建国 →
  王建果), ``typo`` (another character, one left out, two swapped), ``space`` (王 伟);
- birth date: ``digit`` (one digit off), ``swap`` (day and month), ``missing``;
- ID: ``digit`` (one digit wrong, so nearly always failing its check), ``missing``;
- mobile: ``new`` (the person changed number), ``format`` (138-1234-5678, +86 …),
  ``missing``;
- e-mail: ``other`` (another address of theirs), ``missing``;
- address: ``short`` (province, district or 号 left out), ``missing``.

Hard negatives beyond shared names: ``household_rate`` of the people live with an earlier
one (a spouse, a child or a parent: same address, often the same surname), and some of
those give the relative's mobile as their own, as elderly customers do.
"""

from __future__ import annotations

import functools
import random
import re
from datetime import date, timedelta
from importlib import resources
from typing import Any

import attrs
import opencc
from pypinyin import lazy_pinyin
from stdnum.cn import ric

# Ages are counted on this day, so that a seed gives the same set whenever it runs.
REFERENCE_DATE = date(2026, 1, 1)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Surnames with their share of the population in per mille (about the 2020 census; the
# compound ones are rare but real). Their pinyin as a surname is read (曾 Zeng, not Ceng).
SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "Wang", 71.5),
    ("李", "Li", 70.0),
    ("张", "Zhang", 67.0),
    ("刘", "Liu", 54.0),
    ("陈", "Chen", 46.0),
    ("杨", "Yang", 31.0),
    ("黄", "Huang", 25.0),
    ("赵", "Zhao", 23.0),
    ("吴", "Wu", 20.0),
    ("周", "Zhou", 19.0),
    ("徐", "Xu", 15.0),
    ("孙", "Sun", 14.0),
    ("马", "Ma", 13.0),
    ("朱", "Zhu", 12.0),
    ("胡", "Hu", 11.5),
    ("郭", "Guo", 11.0),
    ("何", "He", 10.0),
    ("高", "Gao", 10.0),
    ("林", "Lin", 10.0),
    ("罗", "Luo", 9.0),
    ("郑", "Zheng", 8.5),
    ("梁", "Liang", 8.0),
    ("谢", "Xie", 6.5),
    ("宋", "Song", 6.0),
    ("唐", "Tang", 6.0),
    ("许", "Xu", 5.5),
    ("韩", "Han", 5.5),
    ("冯", "Feng", 5.0),
    ("邓", "Deng", 5.0),
    ("曹", "Cao", 5.0),
    ("彭", "Peng", 4.5),
    ("曾", "Zeng", 4.5),
    ("肖", "Xiao", 4.5),
    ("田", "Tian", 4.0),
    ("董", "Dong", 4.0),
    ("袁", "Yuan", 3.5),
    ("潘", "Pan", 3.5),
    ("于", "Yu", 3.5),
    ("蒋", "Jiang", 3.5),
    ("蔡", "Cai", 3.5),
    ("余", "Yu", 3.5),
    ("杜", "Du", 3.5),
    ("叶", "Ye", 3.5),
    ("程", "Cheng", 3.5),
    ("苏", "Su", 3.0),
    ("魏", "Wei", 3.0),
    ("吕", "Lv", 3.0),
    ("丁", "Ding", 3.0),
    ("任", "Ren", 3.0),
    ("沈", "Shen", 2.5),
    ("姚", "Yao", 2.5),
    ("卢", "Lu", 2.5),
    ("姜", "Jiang", 2.5),
    ("崔", "Cui", 2.5),
    ("钟", "Zhong", 2.5),
    ("谭", "Tan", 2.5),
    ("陆", "Lu", 2.5),
    ("汪", "Wang", 2.5),
    ("范", "Fan", 2.5),
    ("金", "Jin", 2.5),
    ("石", "Shi", 2.5),
    ("廖", "Liao", 2.5),
    ("贾", "Jia", 2.0),
    ("夏", "Xia", 2.0),
    ("韦", "Wei", 2.0),
    ("付", "Fu", 2.0),
    ("方", "Fang", 2.0),
    ("白", "Bai", 2.0),
    ("邹", "Zou", 2.0),
    ("孟", "Meng", 2.0),
    ("熊", "Xiong", 2.0),
    ("秦", "Qin", 2.0),
    ("邱", "Qiu", 2.0),
    ("江", "Jiang", 2.0),
    ("尹", "Yin", 2.0),
    ("薛", "Xue", 2.0),
    ("闫", "Yan", 2.0),
    ("段", "Duan", 2.0),
    ("雷", "Lei", 2.0),
    ("侯", "Hou", 2.0),
    ("龙", "Long", 2.0),
    ("史", "Shi", 2.0),
    ("陶", "Tao", 1.5),
    ("黎", "Li", 1.5),
    ("贺", "He", 1.5),
    ("顾", "Gu", 1.5),
    ("毛", "Mao", 1.5),
    ("郝", "Hao", 1.5),
    ("龚", "Gong", 1.5),
    ("邵", "Shao", 1.5),
    ("万", "Wan", 1.5),
    ("钱", "Qian", 1.5),
    ("严", "Yan", 1.5),
    ("覃", "Qin", 1.5),
    ("武", "Wu", 1.5),
    ("戴", "Dai", 1.5),
    ("莫", "Mo", 1.5),
    ("孔", "Kong", 1.5),
    ("向", "Xiang", 1.5),
    ("汤", "Tang", 1.5),
    ("欧阳", "Ouyang", 0.4),
    ("司马", "Sima", 0.1),
    ("诸葛", "Zhuge", 0.1),
    ("上官", "Shangguan", 0.1),
    ("司徒", "Situ", 0.1),
)

# Whole given names as they recur, most common first (their weight falls as 1/rank), by
# birth era: (born before 1970, 1970–1989, 1990 and later).
MALE_GIVEN: tuple[str, str, str] = (
    "建国 建华 建军 国强 志强 伟 勇 军 强 刚 明 平 华 卫国 国华 志明 德明 文华 振华 春生"
    " 永福 海生 玉林 斌 林 福生 长江 学军 红旗 建平",
    "伟 磊 勇 军 强 杰 涛 超 明 刚 平 辉 鹏 斌 波 华 飞 峰 亮 健 鑫 志强 海涛 晓东 建平"
    " 俊杰 文斌 志刚 小龙 海波 红军 立新 建伟 晓明 永强",
    "浩 宇 鑫 帅 凯 博 杰 磊 子轩 浩然 宇轩 俊杰 梓豪 浩宇 一鸣 家豪 明轩 子豪 博文 天宇"
    " 皓轩 思远 文博 宇航 晨阳 俊熙 子墨 浩轩 鹏飞 嘉豪",
)
FEMALE_GIVEN: tuple[str, str, str] = (
    "秀英 桂英 秀兰 玉兰 桂兰 秀珍 凤英 玉珍 玉梅 淑珍 淑英 秀云 桂芳 丽华 芳 红 英 兰 霞"
    " 梅 珍 秀芳 玉华 桂珍 淑兰 凤兰 素珍 玉英",
    "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 婷 雪 琳 颖 倩 洁 萍 红 梅 莉 晶 慧 丹 海燕 晓燕 丽娟"
    " 红梅 晓红 文静 丽丽 婷婷 丹丹 晓丽 春梅 雪梅",
    "婷 欣 雪 琪 悦 佳 怡 欣怡 梓涵 子涵 雨涵 思琪 诗涵 一诺 雨欣 佳怡 梦琪 可欣 紫涵 雨桐"
    " 心怡 思雨 佳琪 欣然 诗琪 婉婷 静怡 佳欣",
)
# Characters that given names are composed of: (first, second) by gender.
MALE_CHARS = (
    "志建国文明海永晓俊浩宇子家天博嘉鹏振立德耀荣",
    "伟辉军强杰涛斌峰龙成林华东新轩然睿泽宁阳凯航超勇",
)
FEMALE_CHARS = (
    "秀丽美玉桂春晓雅静婉欣雨梦思佳诗紫子慧淑晶海",
    "艳芳婷琳娜燕霞萍蕾倩颖雪琪涵怡悦彤妍洁瑶",
)
# More everyday characters, so that a given-name character has homophones to slip to.
EXTRA_CHARS = (
    "玮维薇威靖敬境莉立力利历纳捷婕滔韬雷君钧筠芬分慧惠会化桦锋丰风灵铃霖亭庭彦颜岩潮朋彭"
    "彬宾波伯永咏峻骏铭鸣民方放宏鸿虹洪苹屏楷恺雨语羽瑜豪昊皓好宣萱心馨奇祺淇旗仪宜艺亿寒"
    "晗含月越跃家加菁婧学晖冬栋鹃侠峡美玫眉岚蓝澜莹盈瑛修绣真贞贵果剑健坚蔷智致至雯闻钢港"
    "良靓菲非斐隆珑洁军卫红国华果过郭帼建见件舰坚"
)

MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159"
    " 166 170 171 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 193 195"
    " 196 197 198 199"
)
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 40),
    ("163.com", 25),
    ("126.com", 10),
    ("sina.com", 5),
    ("foxmail.com", 5),
    ("139.com", 4),
    ("hotmail.com", 4),
    ("gmail.com", 3),
    ("aliyun.com", 2),
    ("sohu.com", 2),
)
ROADS = _words(
    "人民 建设 解放 中山 和平 新华 胜利 文化 青年 长江 黄河 朝阳 光明 幸福 团结 友谊 民主 工业"
    " 北京 南京 上海 延安 迎宾 滨河 东风 红旗 学府 科技 金山 凤凰 海港 振兴 复兴 育才 府前"
)
ROAD_TYPES: tuple[tuple[str, float], ...] = (("路", 6), ("街", 2), ("大道", 1), ("大街", 1))
ESTATES = _words(
    "阳光 幸福 金色 锦绣 翠苑 华庭 绿城 万科 碧桂园 恒大 保利 御景 香榭 丽景 书香 和谐 康乐"
    " 怡景 新城 东方"
)

# Prefecture-level cities where a customer is five times as likely to live (and where those
# who moved mostly went).
BIG_CITIES = frozenset(
    _words(
        "北京市 上海市 天津市 重庆市 广州市 深圳市 成都市 武汉市 杭州市 南京市 西安市 青岛市"
        " 济南市 郑州市 长沙市 苏州市 沈阳市 大连市 哈尔滨市 合肥市 福州市 厦门市 昆明市 南宁市"
        " 石家庄市 太原市 南昌市 长春市 贵阳市 宁波市 无锡市 东莞市 佛山市 烟台市 潍坊市"
    )
)
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_S2T = opencc.OpenCC("s2t")
_T2S = opencc.OpenCC("t2s")


@attrs.frozen
class County:
    """A county-level division in current use: its code, and the names an address uses
    (``city`` is the province's name for the four municipalities; ``district`` is empty for
    a county-level city under the province directly)."""

    code: str
    province: str
    city: str
    district: str


def _current(value: str) -> str | None:
    """The name in use today of a ``loc.dat`` entry (``[-1991]东郊区,[1992-]东丽区`` →
    东丽区), or None for one no longer in use."""
    for part in value.split(","):
        if not part.startswith("["):
            return part
        span, name = part[1:].split("]", 1)
        if span.endswith("-"):
            return name
    return None


@functools.cache
def counties() -> tuple[County, ...]:
    """The county-level divisions in current use, from python-stdnum's ``cn/loc.dat``
    (mainland only), in file order."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text("utf-8")
    out: list[County] = []
    province_code = province = ""
    prefectures: dict[str, str | None] = {}
    entry = re.compile(r'^(\s*)(\d+) \w+="([^"]*)"')
    for line in text.splitlines():
        m = entry.match(line)
        if m is None:
            continue
        indent, code, value = m.groups()
        if not indent:
            province_code, province = code, value
            continue
        if province_code in {"71", "81", "82"} or code == "0000":
            continue
        name = _current(value)
        if code.endswith("00"):
            prefectures[province_code + code[:2]] = name
            continue
        if name is None or name.endswith("辖区") or "直辖" in name:
            continue
        city = prefectures.get(province_code + code[:2])
        if province_code in _MUNICIPALITIES:
            out.append(County(province_code + code, province, province, name))
        elif city is None or "直辖" in city or city.endswith("辖区"):
            out.append(County(province_code + code, province, name, ""))
        else:
            out.append(County(province_code + code, province, city, name))
    if not out:
        raise RuntimeError("python-stdnum's cn/loc.dat has no county codes")
    return tuple(out)


@functools.cache
def _homophones() -> dict[str, tuple[str, ...]]:
    """Simplified given-name characters by toneless pinyin (an input method in simplified
    mode offers these for one syllable), in a fixed order."""
    chars = "".join(MALE_GIVEN + FEMALE_GIVEN + MALE_CHARS + FEMALE_CHARS) + EXTRA_CHARS
    pool: dict[str, list[str]] = {}
    for ch in dict.fromkeys(chars):
        if "\u4e00" <= ch <= "\u9fff" and _T2S.convert(ch) == ch:
            pool.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    return {sound: tuple(v) for sound, v in pool.items()}


def _homophones_of(ch: str) -> tuple[str, ...]:
    return tuple(c for c in _homophones().get(lazy_pinyin(ch)[0], ()) if c != ch)


@attrs.frozen
class Address:
    """A home address in parts; :meth:`text` writes it as typed."""

    province: str
    city: str
    district: str
    road: str  # 香港中路
    number: int
    flat: str  # 3栋2单元501室, or empty

    def text(
        self,
        *,
        province: bool = True,
        city: bool = True,
        district: bool = True,
        hao: bool = True,
        flat: bool = True,
    ) -> str:
        head = ""
        if self.province == self.city:  # a municipality: 北京市朝阳区…
            head = self.city if province or city else ""
        else:
            head = (self.province if province else "") + (self.city if city else "")
        street = f"{self.road}{self.number}" + ("号" if hao else "")
        return head + (self.district if district else "") + street + (self.flat if flat else "")


@attrs.frozen
class Person:
    """The truth about one person: every field, whether or not a record shows it."""

    entity: int
    surname: str
    surname_pinyin: str
    given: str
    male: bool
    birth: date
    id_number: str
    mobile: str
    email: str | None
    alt_email: str
    address: Address

    @property
    def name(self) -> str:
        return self.surname + self.given


def _weighted(rng: random.Random, items: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def _zipf(rng: random.Random, names: list[str]) -> str:
    return rng.choices(names, weights=[1 / (r + 1) for r in range(len(names))])[0]


class _Generator:
    def __init__(self, seed: int, dup_rate: float, household_rate: float) -> None:
        self.rng = random.Random(seed)
        self.dup_rate = dup_rate
        self.household_rate = household_rate
        self.counties = counties()
        self.county_weights = [5.0 if c.city in BIG_CITIES else 1.0 for c in self.counties]
        self.big = [c for c in self.counties if c.city in BIG_CITIES]
        self.surnames = [(s, p) for s, p, _ in SURNAMES]
        self.surname_weights = [w for _, _, w in SURNAMES]
        self.used_ids: set[str] = set()
        self.used_mobiles: set[str] = set()
        self.used_emails: set[str] = set()

    # -- a person --------------------------------------------------------------------
    def given_name(self, male: bool, year: int) -> str:
        rng = self.rng
        era = 0 if year < 1970 else 1 if year < 1990 else 2
        pool = (MALE_GIVEN if male else FEMALE_GIVEN)[era]
        first, second = MALE_CHARS if male else FEMALE_CHARS
        roll = rng.random()
        if roll < 0.45:
            return _zipf(rng, pool.split())
        if roll < 0.6:
            return rng.choice(second)
        given = rng.choice(first) + rng.choice(second)
        return given if given[0] != given[1] else given[0]

    def birth(self) -> date:
        age = self.rng.triangular(18, 75.99, 38)
        return REFERENCE_DATE - timedelta(days=int(age * 365.2425))

    def id_number(self, county: County, born: date, male: bool) -> str:
        while True:
            seq = self.rng.randrange(1000)
            if seq % 2 != int(male):
                seq = (seq + 1) % 1000
            body = f"{county.code}{born:%Y%m%d}{seq:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def email(self, surname_py: str, given: str, born: date) -> str:
        """An address of this person's own: one taken already gets digits (lei.huang2)."""
        address = self._email(surname_py, given, born)
        local, _, domain = address.partition("@")
        n = 1
        while address in self.used_emails:
            n += 1
            address = f"{local}{n}@{domain}"
        self.used_emails.add(address)
        return address

    def _email(self, surname_py: str, given: str, born: date) -> str:
        rng = self.rng
        given_py = "".join(lazy_pinyin(given))
        sur = surname_py.lower()
        initials = "".join(s[0] for s in lazy_pinyin(given))
        domain = _weighted(rng, EMAIL_DOMAINS)
        form = rng.random()
        if domain == "qq.com" and form < 0.6:
            return f"{rng.randrange(10**5, 3 * 10**9)}@qq.com"
        local = rng.choice(
            (
                f"{sur}{given_py}",
                f"{sur}{given_py}{born:%y}",
                f"{given_py}.{sur}",
                f"{sur[0]}{initials}{born:%Y}",
                f"{sur}{initials}{rng.randrange(100, 1000)}",
                f"{sur}_{given_py}",
            )
        )
        return f"{local}@{domain}"

    def address(self, county: County) -> Address:
        rng = self.rng
        if rng.random() < 0.25:  # moved, mostly to a big city
            county = rng.choice(self.big) if rng.random() < 0.7 else self.place()
        elif rng.random() < 0.3:  # another district of the same city
            same = [c for c in self.big if c.city == county.city] or [county]
            county = rng.choice(same)
        road = rng.choice(ROADS) + rng.choice(("", "", "", "东", "西", "南", "北", "中"))
        road += _weighted(rng, ROAD_TYPES)
        roll = rng.random()
        if roll < 0.45:
            flat = (
                f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元"
                f"{rng.randrange(1, 33)}{rng.randrange(1, 5):02d}室"
            )
        elif roll < 0.65:
            flat = (
                f"{rng.choice(ESTATES)}小区{rng.randrange(1, 30)}号楼"
                f"{rng.randrange(1, 33)}{rng.randrange(1, 5):02d}"
            )
        else:
            flat = ""
        return Address(
            county.province, county.city, county.district, road, rng.randrange(1, 400), flat
        )

    def place(self) -> County:
        return self.rng.choices(self.counties, weights=self.county_weights)[0]

    def person(self, entity: int, kin: Person | None) -> Person:
        rng = self.rng
        male = rng.random() < 0.5
        if kin is not None and rng.random() < 0.6:  # a child or parent: the same surname
            surname, surname_py = kin.surname, kin.surname_pinyin
        else:
            surname, surname_py = rng.choices(self.surnames, weights=self.surname_weights)[0]
        born = self.birth()
        given = self.given_name(male, born.year)
        county = self.place()
        mobile = self.mobile()
        if kin is not None and rng.random() < 0.3:
            mobile = kin.mobile  # the relative's number given as the customer's own
        return Person(
            entity=entity,
            surname=surname,
            surname_pinyin=surname_py,
            given=given,
            male=male,
            birth=born,
            id_number=self.id_number(county, born, male),
            mobile=mobile,
            email=self.email(surname_py, given, born) if rng.random() < 0.4 else None,
            alt_email=self.email(surname_py, given, born),
            address=kin.address if kin is not None else self.address(county),
        )

    # -- records ---------------------------------------------------------------------
    def record(self, p: Person) -> dict[str, Any]:
        """A record as staff fill the form: each field shown with its probability."""
        rng = self.rng
        number = p.id_number
        if number.endswith("X") and rng.random() < 0.3:
            number = number[:-1] + "x"
        return {
            "name": p.name,
            "gender": ("男" if p.male else "女") if rng.random() < 0.9 else None,
            "date_of_birth": f"{p.birth:%Y%m%d}" if rng.random() < 0.9 else None,
            "id_number": number if rng.random() < 0.7 else None,
            "mobile": p.mobile if rng.random() < 0.8 else None,
            "email": p.email if p.email is not None and rng.random() < 0.65 else None,
            "address": p.address.text() if rng.random() < 0.7 else None,
        }

    def duplicate(self, p: Person) -> tuple[dict[str, Any], list[str]]:
        rng = self.rng
        row = self.record(p)
        # A group's weight, and the field it needs shown (name and e-mail can always change).
        groups = {
            "name": (0.3, None),
            "birth": (0.15, "date_of_birth"),
            "id": (0.12, "id_number"),
            "mobile": (0.15, "mobile"),
            "email": (0.06, None),
            "address": (0.2, "address"),
        }
        open_ = {g: w for g, (w, needs) in groups.items() if needs is None or row[needs]}
        k = rng.choices((1, 2, 3), weights=(0.45, 0.35, 0.2))[0]
        chosen: list[str] = []
        while open_ and len(chosen) < k:
            g = rng.choices(list(open_), weights=list(open_.values()))[0]
            del open_[g]
            chosen.append(getattr(self, f"_corrupt_{g}")(p, row))
        return row, chosen

    def _corrupt_name(self, p: Person, row: dict[str, Any]) -> str:
        rng = self.rng
        kind = rng.choices(
            ("traditional", "pinyin", "homophone", "typo", "space"), weights=(2, 2, 3, 2, 1.5)
        )[0]
        given = p.given
        if kind == "homophone":
            spots = [i for i, ch in enumerate(given) if _homophones_of(ch)]
            if not spots:
                kind = "typo"
            else:
                i = rng.choice(spots)
                given = given[:i] + rng.choice(_homophones_of(given[i])) + given[i + 1 :]
                row["name"] = p.surname + given
        if kind == "typo":
            first, second = MALE_CHARS if p.male else FEMALE_CHARS
            roll = rng.random()
            if len(given) == 2 and roll < 0.25:
                given = given[rng.randrange(2)]  # one left out
            elif len(given) == 2 and roll < 0.4:
                given = given[::-1]  # swapped
            else:
                i = rng.randrange(len(given))
                other = rng.choice([c for c in first + second if c != given[i]])
                given = given[:i] + other + given[i + 1 :]
            row["name"] = p.surname + given
        elif kind == "traditional":
            row["name"] = _S2T.convert(p.name)
            if row["address"] and rng.random() < 0.4:
                row["address"] = _S2T.convert(row["address"])
        elif kind == "pinyin":
            sur = p.surname_pinyin
            syllables = lazy_pinyin(given)
            giv = "".join(syllables).capitalize()
            form = rng.random()
            if form < 0.4:
                row["name"] = f"{sur} {giv}"
            elif form < 0.7:
                row["name"] = f"{giv} {sur}"
            elif form < 0.85:
                row["name"] = f"{sur.upper()} {giv}"
            elif form < 0.95:
                row["name"] = f"{sur} {giv}".lower()
            else:
                row["name"] = " ".join([sur, *(s.capitalize() for s in syllables)])
        elif kind == "space":
            row["name"] = f"{p.surname} {p.given}"
        return f"name:{kind}"

    def _corrupt_birth(self, p: Person, row: dict[str, Any]) -> str:
        rng = self.rng
        born = p.birth
        roll = rng.random()
        if roll < 0.3:
            row["date_of_birth"] = None
            return "birth:missing"
        if roll < 0.55 and born.day <= 12 and born.day != born.month:
            row["date_of_birth"] = f"{born.year}{born.day:02d}{born.month:02d}"
            return "birth:swap"
        text = f"{born:%Y%m%d}"
        for _ in range(20):
            i = rng.choice((2, 3, 3, 4, 5, 6, 7, 7))
            digit = int(text[i]) + rng.choice((-1, 1))
            if not 0 <= digit <= 9:
                continue
            candidate = text[:i] + str(digit) + text[i + 1 :]
            try:
                d = date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:]))
            except ValueError:
                continue
            if d <= REFERENCE_DATE:
                row["date_of_birth"] = candidate
                return "birth:digit"
        row["date_of_birth"] = None
        return "birth:missing"

    def _corrupt_id(self, p: Person, row: dict[str, Any]) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            row["id_number"] = None
            return "id:missing"
        number = p.id_number
        i = rng.randrange(18)
        digit = rng.choice([d for d in "0123456789" if d != number[i]])
        row["id_number"] = number[:i] + digit + number[i + 1 :]
        return "id:digit"

    def _corrupt_mobile(self, p: Person, row: dict[str, Any]) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            row["mobile"] = None
            return "mobile:missing"
        if roll < 0.75:
            row["mobile"] = self.mobile()
            return "mobile:new"
        m = p.mobile
        row["mobile"] = rng.choice((f"{m[:3]}-{m[3:7]}-{m[7:]}", f"{m[:3]} {m[3:7]} {m[7:]}"))
        if rng.random() < 0.3:
            row["mobile"] = "+86 " + m
        return "mobile:format"

    def _corrupt_email(self, p: Person, row: dict[str, Any]) -> str:
        if row["email"] is not None and self.rng.random() < 0.4:
            row["email"] = None
            return "email:missing"
        row["email"] = p.alt_email
        return "email:other"

    def _corrupt_address(self, p: Person, row: dict[str, Any]) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            row["address"] = None
            return "address:missing"
        a = p.address
        drop = rng.sample(("province", "district", "hao", "city"), k=rng.choice((1, 1, 2)))
        if "city" in drop:
            drop.append("province")  # 青岛市 is left out only with its province
        row["address"] = a.text(
            province="province" not in drop,
            city="city" not in drop,
            district="district" not in drop or not a.district,
            hao="hao" not in drop,
            flat="hao" not in drop and rng.random() < 0.7,
        )
        return "address:short"

    def rows(self, n: int) -> list[tuple[str, dict[str, Any]]]:
        rng = self.rng
        out: list[tuple[str, dict[str, Any]]] = []
        people: list[Person] = []
        entity = 0
        while len(out) < n:
            kin = rng.choice(people) if people and rng.random() < self.household_rate else None
            p = self.person(entity, kin)
            people.append(p)
            out.append((f"rec-{entity}-org", {**self.record(p), "variants": ""}))
            if rng.random() < self.dup_rate:
                for k in range(rng.randint(1, 3)):
                    row, variants = self.duplicate(p)
                    out.append((f"rec-{entity}-dup-{k}", {**row, "variants": ";".join(variants)}))
            entity += 1
        out = out[:n]
        rng.shuffle(out)
        return out


def generate(n: int, seed: int = 1, dup_rate: float = 0.3, *, household_rate: float = 0.05) -> Any:
    """``n`` records of Chinese individual customers with duplicates, as a pandas frame.

    Args:
        n: how many records (the last person's duplicates may be cut to fit).
        seed: the random seed; the same seed gives the same frame.
        dup_rate: the share of people who get 1 to 3 duplicate records.
        household_rate: the share of people who live with an earlier one (hard negatives).

    Returns:
        A ``pandas.DataFrame`` indexed by ``rec_id`` (``rec-<entity>-org``,
        ``rec-<entity>-dup-<k>``) with the columns ``name``, ``gender`` (男/女),
        ``date_of_birth`` (yyyymmdd), ``id_number``, ``mobile``, ``email``, ``address``
        (strings, None when the record lacks the field) and ``variants`` (a duplicate's
        corruptions, ``;``-separated; empty for an original).
    """
    import pandas as pd

    rows = _Generator(seed, dup_rate, household_rate).rows(n)
    frame = pd.DataFrame([r for _, r in rows], index=[i for i, _ in rows])
    frame.index.name = "rec_id"
    return frame
