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

Script and language variants of Chinese-script names, each recorded in ``variants`` under its
name so that recall can be reported per variant:

- ``traditional``: the duplicate's name (and address) in traditional characters (OpenCC
  ``s2t``: 青岛金智电子科技有限公司 → 青島金智電子科技有限公司).
- ``pinyin-name``: the duplicate is the company's English name as Chinese SMEs write it,
  ``{City} {Trade} {industry in English} Co., Ltd.`` (Qingdao Jinzhi Electronic Technology
  Co., Ltd.), the city sometimes in brackets after the trade part, sometimes upper-cased; no
  city when it has no pinyin in ``PINYIN``.
- ``china``: about 5% of the companies are national ones, written ``金智电子科技（中国）有限公司``
  or ``金智电子科技中国有限公司`` (never with a city); a duplicate uses the other form or
  ``中国金智电子科技有限公司``.
- ``homophone``: one trade-name character replaced by another with the same toneless pinyin,
  an input-method slip (金智 → 金志, 华瑞 → 华锐).

Their hard non-duplicate is ``homophone-other``: another company in another city whose trade
name sounds the same (金志电子科技 in Jinan beside 金智电子科技 in Qingdao), with its own phones,
people and credit code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs
import opencc
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
# How Chinese SMEs write their industry in their English names (pinyin-name duplicates).
INDUSTRY_EN = {
    "电子科技": "Electronic Technology",
    "信息技术": "Information Technology",
    "贸易": "Trading",
    "商贸": "Trading",
    "建材": "Building Materials",
    "机械制造": "Machinery Manufacturing",
    "食品": "Food",
    "物流": "Logistics",
    "医疗器械": "Medical Equipment",
    "服装": "Garment",
    "化工": "Chemical",
    "网络科技": "Network Technology",
    "餐饮管理": "Catering Management",
    "文化传媒": "Culture Media",
    "建筑工程": "Construction Engineering",
    "汽车配件": "Auto Parts",
    "茶叶": "Tea",
    "光伏科技": "Photovoltaic Technology",
    "冷链物流": "Cold Chain Logistics",
    "生物科技": "Biotechnology",
    "装饰工程": "Decoration Engineering",
    "环保设备": "Environmental Equipment",
    "五金机电": "Hardware Electromechanical",
    "教育咨询": "Education Consulting",
}
_untranslated = [i for i in INDUSTRIES if i not in INDUSTRY_EN]
assert not _untranslated, f"INDUSTRY_EN lacks {_untranslated}"
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
# The most frequent Chinese characters, roughly in order of frequency (about 500)…
COMMON_CHARS = (
    "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过"
    "家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所"
    "本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全"
    "工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教"
    "西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性"
    "通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲"
    "界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认"
    "算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红"
    "治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写"
    "呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首"
    "单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格"
    "尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域病器朝帝置刚农虎游汉球施演鱼船米层"
    # …and some less frequent everyday ones that sound like trade-name characters.
    "锐衡按案岸暗抗播搏窗床田甜填疼桌捉塞拼兰篮拦律朋棚码妈户护互帮敏墙抢衫善闪普铺速诉宿"
    "秒妙苗雷泪累杭"
)
_S2T = opencc.OpenCC("s2t")
_T2S = opencc.OpenCC("t2s")


def _homophone_pool() -> dict[str, tuple[str, ...]]:
    """Simplified characters by toneless pinyin (lists in a fixed order: deterministic)."""
    pool: dict[str, list[str]] = {}
    for ch in dict.fromkeys(TRADE_CHARS + COMMON_CHARS):
        if _T2S.convert(ch) == ch:  # an input method in simplified mode types simplified
            pool.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    return {sound: tuple(chars) for sound, chars in pool.items()}


HOMOPHONES = _homophone_pool()


def _homophones(ch: str) -> tuple[str, ...]:
    return tuple(c for c in HOMOPHONES.get(lazy_pinyin(ch)[0], ()) if c != ch)


@attrs.frozen
class LabelledRow:
    """One generated row and the truth about it.

    Attributes:
        id: the row id.
        row: the import-row fields (strings).
        entity: the real-world company; equal entities are duplicates.
        role: ``original``, ``duplicate``, ``sibling`` (same brand, other city), ``branch``
            or ``homophone-other`` (a same-sounding trade name, other city).
        variants: for duplicates, how the row was altered (``typo``, ``place:bracket``,
            ``traditional``, ``pinyin-name``, ``china``, ``homophone`` …).
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
    # A national company's 中国 in its original name: "bracket" (…（中国）有限公司) or
    # "plain" (…中国有限公司); None for the others.
    china: str | None = None


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
        # A national company (金智电子科技（中国）有限公司) carries 中国 instead of a city.
        china = None
        if like is None and not english and rng.random() < 0.05:
            china = rng.choice(("bracket", "plain"))
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
            china=china,
        )

    def branch_of(self, eid: int, parent: _Entity) -> _Entity:
        base = self.entity(eid, like=parent)
        word = self.rng.choice(BRANCH_WORDS)
        return attrs.evolve(
            base, branch=(self.display_name(parent, place="none", suffix=parent.suffix), word)
        )

    def homophone(self, trade: str, industry: str) -> str | None:
        """``trade`` with one character replaced by a same-sounding one, or None.

        Never another company's name (trade and industry already registered).
        """
        rng = self.rng
        at = [i for i, ch in enumerate(trade) if _homophones(ch)]
        if not at:
            return None
        i = rng.choice(at)
        options = [
            c
            for c in _homophones(trade[i])
            if (trade[:i] + c + trade[i + 1 :], industry) not in self.used
        ]
        if not options:
            return None
        return trade[:i] + rng.choice(options) + trade[i + 1 :]

    def homophone_of(self, eid: int, other: _Entity) -> _Entity | None:
        """Another company in another city whose trade name sounds like ``other``'s."""
        if other.english or other.branch is not None or len(other.trade) not in (2, 3):
            return None
        trade = self.homophone(other.trade, other.industry)
        if trade is None:
            return None
        self.used.add((trade, other.industry))
        return attrs.evolve(self.entity(eid, like=other), trade=trade)

    # -- rendering ----------------------------------------------------------------------
    def city_name(self, code: str, *, full: bool) -> str:
        name = self.names[code]
        if self.names.get(code[:2] + "0000") == name or code[:2] in ("11", "12", "31", "50"):
            name = self.names[code[:2] + "0000"]
        return name if full else _short(name)

    def display_name(self, e: _Entity, *, place: str, suffix: str, china: str | None = None) -> str:
        """The name of ``e`` with its place and suffix written as asked.

        ``china`` overrides how a national company writes 中国 ("bracket", "plain" or
        "front"); ``place`` does not apply to those.
        """
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
        if e.china is not None:
            form = china or e.china
            if form == "bracket":
                return f"{brand}（中国）{suffix}"
            if form == "plain":
                return f"{brand}中国{suffix}"
            return f"中国{brand}{suffix}"
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
        if e.china is not None:
            place = "none"
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
        # A Chinese-script company's duplicate may be written as its English (pinyin) name;
        # then it is Latin text like an English name's, and none of the Chinese variants apply.
        pinyin = not e.english and e.china is None and rng.random() < 0.06
        latin = e.english or pinyin
        traditional = changed = False
        if pinyin:
            name, place = self.pinyin_name(e)
            variants.extend((f"place:{place}", "pinyin-name"))
        else:
            name = self._script_name(e, variants)
            traditional = not e.english and rng.random() < 0.10
        if traditional:
            written = _S2T.convert(name)
            changed = written != name  # (金智化工有限公司 is the same in both scripts)
            name = written
        if rng.random() < 0.2:
            name = self.spaces(name)
            variants.append("spaces")
        if rng.random() < 0.15:
            name = (
                name.translate(FULL_WIDTH) if latin else name.replace("（", "(").replace("）", ")")
            )
            variants.append("width")
        if latin and rng.random() < 0.3:
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
            if traditional:
                written = _S2T.convert(row["address"])
                changed = changed or written != row["address"]
                row["address"] = written
        if changed:
            variants.append("traditional")
        if rng.random() < 0.6:
            row["region"] = self.region(e)
        if e.contact and rng.random() < 0.5:
            row["contact"] = e.contact
        elif rng.random() < 0.4:
            row["contact"] = _person(rng)
        if e.contact_mobile and rng.random() < 0.3:
            row["contact_mobile"] = self.reformat(e.contact_mobile)
        return row, tuple(variants)

    def _script_name(self, e: _Entity, variants: list[str]) -> str:
        """A duplicate's name in the entity's own script; appends its variants."""
        rng = self.rng
        place = rng.choices(("prefix", "bracket", "none", "full"), (0.35, 0.3, 0.2, 0.15))[0]
        if e.china is not None:
            place = "none"  # a national company has no city in its name
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
        china = None
        if e.china is not None:
            other = "plain" if e.china == "bracket" else "bracket"
            china = "front" if rng.random() < 0.3 else other
            variants.append("china")
        if not e.english and len(e.trade) in (2, 3) and rng.random() < 0.06:
            trade = self.homophone(e.trade, e.industry)
            if trade is not None:
                ent = attrs.evolve(ent, trade=trade)
                variants.append("homophone")
        name = self.display_name(ent, place=place, suffix=suffix, china=china)
        if rng.random() < 0.12:
            name = self.typo(name, ent)
            variants.append("typo")
        return name

    def pinyin_name(self, e: _Entity) -> tuple[str, str]:
        """The English name a Chinese SME gives itself, and where its city went.

        ``Qingdao Jinzhi Electronic Technology Co., Ltd.`` or ``Jinzhi Electronic Technology
        (Qingdao) Co., Ltd.``; no city when the city has no entry in ``PINYIN``.
        """
        head = f"{''.join(lazy_pinyin(e.trade)).capitalize()} {INDUSTRY_EN[e.industry]}"
        city = PINYIN.get(e.city)
        if city is None:
            return f"{head} Co., Ltd.", "none"
        if self.rng.random() < 0.3:
            return f"{head} ({city}) Co., Ltd.", "bracket"
        return f"{city} {head} Co., Ltd.", "prefix"

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

    About 4% of the companies are another company's same-brand twin in another city, 3% are
    branches of another company and 1% have a same-sounding trade name as another company's
    in another city (hard non-duplicates).

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
        elif entities and roll < 0.08:
            # Not every company has a trade name with a homophone: try a few.
            for _ in range(5):
                twin = gen.homophone_of(eid, rng.choice(entities))
                if twin is not None:
                    entities.append(twin)
                    roles[eid] = "homophone-other"
                    break
            else:
                entities.append(gen.entity(eid))
                roles[eid] = "original"
        else:
            entities.append(gen.entity(eid))
            roles[eid] = "original"
    # A twin in another city says where it is (that is what makes it another company).
    located = ("sibling", "homophone-other")
    rows: list[LabelledRow] = [
        LabelledRow("", gen.original(e, located=roles[e.id] in located), e.id, roles[e.id])
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
