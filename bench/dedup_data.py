"""A labelled data set of Chinese SME customers with duplicates, for measuring dedup quality.

Each generated row looks like an import row (``name``, ``uscc``, ``mobile``, ``phone``,
``email``, ``address``, ``region``, ``contact``, ``contact_mobile``) and carries the id of
the real-world company it describes (``entity``): two rows are duplicates exactly when their
entities are equal. Deterministic for a seed.

Duplicates are made the way people make them: the place moved into brackets, dropped or
written in full (山东省青岛市…); legal-form variants (有限公司 / 有限责任公司 / 股份有限公司 /
none); spaces and full-width characters; phones reformatted, missing or replaced by another
contact's; upper-case or missing e-mails; one-character typos (substitution, deletion,
transposition); English names upper-cased, with their words swapped or their suffix
rewritten. Hard non-duplicates are made on purpose: the same brand in another city (its own
phones, people and credit code) and branches of a company (…有限公司青岛分公司).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs
from pypinyin import lazy_pinyin
from stdnum.cn import uscc as stdnum_uscc

from crmkit.domain.regions import regions_table

# Prefecture-level cities used as homes, with their telephone area codes.
CITIES: Sequence[tuple[str, str]] = (
    ("370200", "0532"),
    ("370100", "0531"),
    ("110100", "010"),
    ("310100", "021"),
    ("440300", "0755"),
    ("440100", "020"),
    ("330100", "0571"),
    ("320100", "025"),
    ("510100", "028"),
    ("420100", "027"),
    ("610100", "029"),
    ("500100", "023"),
    ("350200", "0592"),
    ("210200", "0411"),
    ("120100", "022"),
    ("430100", "0731"),
    ("320500", "0512"),
    ("330200", "0574"),
    ("370600", "0535"),
    ("371000", "0631"),
    ("410100", "0371"),
    ("340100", "0551"),
    ("360100", "0791"),
    ("350100", "0591"),
    ("450100", "0771"),
    ("530100", "0871"),
    ("520100", "0851"),
    ("130100", "0311"),
    ("140100", "0351"),
    ("210100", "024"),
    ("220100", "0431"),
    ("230100", "0451"),
    ("441900", "0769"),
    ("440600", "0757"),
    ("320200", "0510"),
    ("330300", "0577"),
)
PINYIN = {
    "370200": "Qingdao",
    "370100": "Jinan",
    "110100": "Beijing",
    "310100": "Shanghai",
    "440300": "Shenzhen",
    "440100": "Guangzhou",
    "330100": "Hangzhou",
    "320100": "Nanjing",
}
TRADE_CHARS = (
    "金智华夏新恒信达瑞鑫宏泰安康永盛德丰源通远航博联创海天正圆隆昌顺利和美佳辰光明星月"
    "东南西北中润泽兴旺福祥云峰宇腾飞凯乐嘉禾汇百川万方晨曦誉锦绣弘毅卓越启迪鸿运中科赛"
    "宝华聚鼎尚品優卡思维嘉诚志远铭泽蓝海青禾绿源森林晶辉鹏程骏马麒麟凤凰龙腾虎跃振邦"
    "国富民强荣昌茂林泉清水秀山川毓灵秀德仁义礼信忠孝勤俭朴素精益求鑫淼焱垚磊森犇骉"
)
INDUSTRIES = (
    "电子科技",
    "信息技术",
    "贸易",
    "商贸",
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
    "光伏科技",  # 光伏 is not in crmkit's industry list: tests robustness, not recall of it
    "冷链物流",
    "生物科技",
    "装饰工程",
    "环保设备",
    "五金机电",
    "教育咨询",
)
EN_WORDS = ("Sunrise", "Bluesea", "Everbright", "Goldstone", "Greenfield", "Silverline")
EN_INDUSTRIES = (
    "Trading",
    "Electronics Technology",
    "International Logistics",
    "Machinery",
    "Medical Equipment",
    "Food",
    "Textile",
    "Chemical",
    "Software",
)
EN_SUFFIXES = ("Co., Ltd.", "Co.,Ltd", "Company Limited", "Limited", "Inc.", "Ltd.")
SUFFIXES = ("有限公司",) * 6 + ("有限责任公司",) * 2 + ("股份有限公司", "集团有限公司")
SUFFIX_VARIANTS = ("有限公司", "有限责任公司", "股份有限公司", "", "公司")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红玲芬燕彬鹏辉"
MOBILE_PREFIXES = ("130", "131", "135", "136", "138", "139", "150", "159", "177", "186", "187")
STREETS = (
    "香港中路",
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "长江路",
    "黄河路",
    "科技路",
    "高新大道",
    "工业园一路",
    "滨海大道",
    "东风路",
)
# Area codes whose local numbers have 7 digits (the others here have 8): an 8-digit number
# there is not a valid phone number, and an import rightly rejects it.
SEVEN_DIGIT_AREAS = frozenset({"0351", "0535", "0592", "0631", "0771"})
MAIL_HOSTS = ("qq.com", "163.com", "126.com", "sina.com")
BRANCH_WORDS = ("分公司", "分公司", "办事处", "营业部")
FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


@attrs.frozen
class LabelledRow:
    """One generated row and the truth about it.

    Attributes:
        id: the row id.
        row: the import-row fields (strings).
        entity: the real-world company; equal entities are duplicates.
        role: ``original``, ``duplicate``, ``sibling`` (same brand, other city) or ``branch``.
        variants: for duplicates, how the row was altered (``typo``, ``bracket`` …).
    """

    id: str
    row: dict[str, str]
    entity: int
    role: str
    variants: tuple[str, ...] = ()


@attrs.frozen
class _Entity:
    id: int
    trade: str
    industry: str
    city: str  # city code
    area: str
    district: str  # district code
    suffix: str
    english: bool
    en_words: tuple[str, ...]
    uscc: str | None
    mobiles: tuple[str, ...]
    landline: str | None
    email: str | None
    contact: str | None
    contact_mobile: str | None
    street: str
    branch: tuple[str, str] | None = None  # (parent display name, branch word)


def _uscc(rng: random.Random, district: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + district + "".join(rng.choice(alphabet) for _ in range(9))
    return body + stdnum_uscc.calc_check_digit(body)


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def _districts(city: str) -> list[str]:
    names = regions_table().names
    inside = [c for c in names if c[:4] == city[:4] and not c.endswith("00")]
    return inside or [city]


def _short(name: str) -> str:
    for suffix in ("市", "省", "自治区"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = regions_table().names
        self.district_cache: dict[str, list[str]] = {}
        # A registry keeps names unique; accidental twins would be labels nobody could
        # meet, so only the deliberate same-brand-other-city twins share a brand.
        self.used: set[tuple[str, str]] = set()

    # -- entities -----------------------------------------------------------------------
    def _city(self, avoid: str | None = None) -> tuple[str, str, str]:
        while True:
            city, area = self.rng.choice(CITIES)
            if city != avoid:
                break
        districts = self.district_cache.get(city)
        if districts is None:  # (setdefault would rebuild the list on every call)
            districts = self.district_cache[city] = _districts(city)
        return city, area, self.rng.choice(districts)

    def entity(self, eid: int, *, like: _Entity | None = None) -> _Entity:
        rng = self.rng
        city, area, district = self._city(avoid=like.city if like else None)
        english = like.english if like else rng.random() < 0.06
        if like is not None:
            trade, industry, en_words = like.trade, like.industry, like.en_words
        else:
            while True:
                if english:
                    chars = "".join(rng.choices(TRADE_CHARS, k=2))
                    word = "".join(lazy_pinyin(chars)).capitalize()
                    if rng.random() < 0.2:
                        word = rng.choice(EN_WORDS) + " " + word
                    en_words = (*word.split(), *rng.choice(EN_INDUSTRIES).split())
                    trade = word
                    industry = " ".join(en_words[len(word.split()) :])
                else:
                    en_words = ()
                    trade = "".join(rng.choices(TRADE_CHARS, k=rng.choice((2, 2, 2, 3))))
                    industry = rng.choice(INDUSTRIES)
                if (trade, industry) not in self.used:
                    break
            self.used.add((trade, industry))
        mobiles = tuple(_mobile(rng) for _ in range(rng.choice((1, 1, 1, 2))))
        landline = area + str(rng.choice((6, 8))) + f"{rng.randrange(10**7):07d}"
        if area in SEVEN_DIGIT_AREAS:
            landline = landline[:-1]
        local = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 8)))
        return _Entity(
            id=eid,
            trade=trade,
            industry=industry,
            city=city,
            area=area,
            district=district,
            suffix=rng.choice(SUFFIXES),
            english=english,
            en_words=en_words,
            uscc=_uscc(rng, district) if rng.random() < 0.3 else None,
            mobiles=mobiles,
            landline=landline if rng.random() < 0.35 else None,
            email=f"{local}{rng.randrange(100)}@{rng.choice(MAIL_HOSTS)}"
            if rng.random() < 0.5
            else None,
            contact=_person(rng) if rng.random() < 0.8 else None,
            contact_mobile=_mobile(rng) if rng.random() < 0.5 else None,
            street=f"{rng.choice(STREETS)}{rng.randint(1, 300)}号",
        )

    def branch_of(self, eid: int, parent: _Entity) -> _Entity:
        base = self.entity(eid, like=parent)
        word = self.rng.choice(BRANCH_WORDS)
        return attrs.evolve(
            base, branch=(self.display_name(parent, place="none", suffix=parent.suffix), word)
        )

    # -- rendering ----------------------------------------------------------------------
    def city_name(self, code: str, *, full: bool) -> str:
        name = self.names[code]
        if self.names.get(code[:2] + "0000") == name or code[:2] in ("11", "12", "31", "50"):
            name = self.names[code[:2] + "0000"]
        return name if full else _short(name)

    def display_name(self, e: _Entity, *, place: str, suffix: str) -> str:
        if e.english:
            words = list(e.en_words)
            city = PINYIN.get(e.city)
            head = " ".join(words)
            if city and place == "prefix":
                head = f"{city} {head}"
            elif city and place == "bracket":
                head = f"{head} ({city})"
            return f"{head} {suffix}"
        brand = e.trade + e.industry
        if e.branch is not None:
            parent, word = e.branch
            return f"{parent}{self.city_name(e.city, full=False)}{word}"
        city = self.city_name(e.city, full=False)
        if place == "prefix":
            return f"{city}{brand}{suffix}"
        if place == "full":
            province = self.names[e.city[:2] + "0000"]
            city_full = self.city_name(e.city, full=True)
            prefix = city_full if province == city_full else province + city_full
            return f"{prefix}{brand}{suffix}"
        if place == "bracket":
            return f"{brand}（{city}）{suffix}"
        return f"{brand}{suffix}"

    def address(self, e: _Entity, *, style: int) -> str:
        province = self.names[e.city[:2] + "0000"]
        city = self.city_name(e.city, full=True)
        district = self.names.get(e.district, "")
        if style == 0:
            return f"{province}{city}{district}{e.street}"
        if style == 1:
            return f"{city}{district}{e.street}"
        if style == 2:
            return f"{city} {district} {e.street}"
        return f"{district}{e.street}"

    def region(self, e: _Entity) -> str:
        if self.rng.random() < 0.5:
            return e.district
        return e.city

    # -- rows ---------------------------------------------------------------------------
    def original(self, e: _Entity, *, located: bool = False) -> dict[str, str]:
        rng = self.rng
        place = rng.choices(("prefix", "bracket", "none"), (0.6, 0.15, 0.25))[0]
        if located and place == "none":
            place = "prefix"
        suffix = rng.choice(EN_SUFFIXES) if e.english else e.suffix
        row: dict[str, str] = {"name": self.display_name(e, place=place, suffix=suffix)}
        if e.uscc:
            row["uscc"] = e.uscc
        if rng.random() < 0.9:
            row["mobile"] = e.mobiles[0]
        if e.landline:
            row["phone"] = e.landline
        if e.email:
            row["email"] = e.email
        if rng.random() < 0.5:
            row["address"] = self.address(e, style=rng.randrange(4))
        if rng.random() < 0.7 or (located and e.english and e.city not in PINYIN):
            row["region"] = self.region(e)
        if e.contact:
            row["contact"] = e.contact
        if e.contact_mobile:
            row["contact_mobile"] = e.contact_mobile
        return row

    def duplicate(self, e: _Entity) -> tuple[dict[str, str], tuple[str, ...]]:
        rng = self.rng
        variants: list[str] = []
        place = rng.choices(("prefix", "bracket", "none", "full"), (0.35, 0.3, 0.2, 0.15))[0]
        variants.append(f"place:{place}")
        if e.english:
            suffix = rng.choice(EN_SUFFIXES)
        else:
            suffix = rng.choice(SUFFIX_VARIANTS) if rng.random() < 0.4 else e.suffix
            if suffix != e.suffix:
                variants.append("suffix")
        ent = e
        if e.english and rng.random() < 0.2 and len(e.en_words) > 1:
            words = list(e.en_words)
            words[0], words[-1] = words[-1], words[0]
            ent = attrs.evolve(e, en_words=tuple(words))
            variants.append("word-order")
        name = self.display_name(ent, place=place, suffix=suffix)
        if rng.random() < 0.12:
            name = self.typo(name, ent)
            variants.append("typo")
        if rng.random() < 0.2:
            name = self.spaces(name)
            variants.append("spaces")
        if rng.random() < 0.15:
            name = (
                name.translate(FULL_WIDTH)
                if e.english
                else name.replace("（", "(").replace("）", ")")
            )
            variants.append("width")
        if e.english and rng.random() < 0.3:
            name = name.upper()
            variants.append("upper")
        row: dict[str, str] = {"name": name}
        if e.uscc and rng.random() < 0.5:
            row["uscc"] = e.uscc
        roll = rng.random()
        if roll < 0.55:
            row["mobile"] = self.reformat(rng.choice(e.mobiles))
            variants.append("mobile")
        elif roll < 0.7:
            row["mobile"] = _mobile(rng)  # another person's number
            variants.append("other-mobile")
        else:
            variants.append("no-mobile")
        if e.landline and rng.random() < 0.4:
            row["phone"] = f"{e.landline[: len(e.area)]}-{e.landline[len(e.area) :]}"
        if e.email and rng.random() < 0.5:
            row["email"] = e.email.upper() if rng.random() < 0.4 else e.email
            variants.append("email")
        if rng.random() < 0.4:
            row["address"] = self.address(e, style=rng.randrange(4))
        if rng.random() < 0.6:
            row["region"] = self.region(e)
        if e.contact and rng.random() < 0.5:
            row["contact"] = e.contact
        elif rng.random() < 0.4:
            row["contact"] = _person(rng)
        if e.contact_mobile and rng.random() < 0.3:
            row["contact_mobile"] = self.reformat(e.contact_mobile)
        return row, tuple(variants)

    def reformat(self, mobile: str) -> str:
        n = mobile
        return self.rng.choice(
            (
                n,
                f"{n[:3]} {n[3:7]} {n[7:]}",
                f"{n[:3]}-{n[3:7]}-{n[7:]}",
                f"+86 {n}",
                f"+86-{n[:3]}-{n[3:7]}-{n[7:]}",
                "".join(chr(ord(c) + 0xFEE0) for c in n),
            )
        )

    def spaces(self, name: str) -> str:
        at = self.rng.randrange(1, max(2, len(name) - 1))
        return name[:at] + self.rng.choice((" ", "  ", "\u3000")) + name[at:]

    def typo(self, name: str, e: _Entity) -> str:
        rng = self.rng
        core = e.trade + e.industry if not e.english else e.trade
        at = name.find(core)
        if at < 0:
            return name
        i = at + rng.randrange(len(core))
        kind = rng.choice(("sub", "sub", "del", "swap"))
        if e.english:
            letters = "abcdefghijklmnopqrstuvwxyz"
            if kind == "sub":
                return name[:i] + rng.choice(letters) + name[i + 1 :]
        elif kind == "sub":
            return name[:i] + rng.choice(TRADE_CHARS) + name[i + 1 :]
        if kind == "del":
            return name[:i] + name[i + 1 :]
        j = min(i + 1, at + len(core) - 1)
        return name[:i] + name[j] + name[i] + name[j + 1 :] if j > i else name


def generate(n: int = 20_000, *, dup_rate: float = 0.15, seed: int = 1) -> list[LabelledRow]:
    """``n`` labelled rows, about ``dup_rate`` of them duplicates of another row.

    About 4% of the companies are another company's same-brand twin in another city and 3%
    are branches of another company (hard non-duplicates).

    Args:
        n: rows to make.
        dup_rate: share of rows that duplicate an earlier company.
        seed: the random seed (same seed, same rows).

    Returns:
        The rows, shuffled.
    """
    gen = _Generator(seed)
    rng = gen.rng
    n_dups = round(n * dup_rate)
    n_entities = n - n_dups
    entities: list[_Entity] = []
    roles: dict[int, str] = {}
    for eid in range(n_entities):
        roll = rng.random()
        if entities and roll < 0.04:
            entities.append(gen.entity(eid, like=rng.choice(entities)))
            roles[eid] = "sibling"
        elif entities and roll < 0.07:
            parent = rng.choice(entities)
            if parent.branch is None and not parent.english:
                entities.append(gen.branch_of(eid, parent))
                roles[eid] = "branch"
                continue
            entities.append(gen.entity(eid))
            roles[eid] = "original"
        else:
            entities.append(gen.entity(eid))
            roles[eid] = "original"
    # A twin in another city says where it is (that is what makes it another company).
    rows: list[LabelledRow] = [
        LabelledRow("", gen.original(e, located=roles[e.id] == "sibling"), e.id, roles[e.id])
        for e in entities
    ]
    made = 0
    while made < n_dups:
        e = rng.choice(entities)
        if e.branch is not None:
            continue
        copies = min(n_dups - made, rng.choices((1, 2, 3), (0.75, 0.2, 0.05))[0])
        for _ in range(copies):
            row, variants = gen.duplicate(e)
            rows.append(LabelledRow("", row, e.id, "duplicate", variants))
        made += copies
    rng.shuffle(rows)
    return [attrs.evolve(r, id=f"r{i}") for i, r in enumerate(rows)]
