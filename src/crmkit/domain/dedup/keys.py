"""Normalisation for duplicate detection: the keys two records are compared by.

A Chinese enterprise name has four parts, in this order (企业名称登记管理规定):
行政区划 (place) · 字号 (trade name) · 行业 (industry) · 组织形式 (legal form), as in
青岛 · 金智 · 电子科技 · 有限公司. People move the place into brackets
(金智电子科技（青岛）有限公司), drop it, or vary the legal form, yet it is one company; a
branch (…有限公司青岛分公司) is a company of its own. :func:`company_key` takes a name apart
along these lines so the matcher compares like with like: the *brand* (trade name + industry)
is what must agree, the place must not contradict, and the legal form does not matter.

Every key here is derived from normalised values only (NFKC, case-folded, E.164, the
e-mail's normalised form), so a key computed at import time equals one computed later.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Final

import attrs

from crmkit.domain.dedup import _places
from crmkit.domain.errors import ValidationError
from crmkit.domain.regions import Region, parse_address_region
from crmkit.domain.values import USCC, Email, Phone

__all__ = [
    "AddressKey",
    "CompanyKey",
    "address_key",
    "company_key",
    "email_key",
    "fold_text",
    "individual_key",
    "person_key",
    "phone_key",
    "uscc_key",
]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_BRACKETS = str.maketrans(
    {
        **dict.fromkeys("(（[［【〔〖{｛《〈<", "("),
        **dict.fromkeys(")）]］】〕〗}｝》〉>", ")"),
        # Apostrophes join rather than split words: "McDonald's" is one word.
        "'": "",
        "’": "",
    }
)
_GROUP = re.compile(r"\(([^()]*)\)")

# 组织形式, longest first so 股份有限公司 is taken whole; value = the normalised form.
_CN_LEGAL: Final[dict[str, str]] = {
    "个人独资企业": "个人独资企业",
    "股份合作公司": "股份合作公司",
    "股份有限公司": "股份有限公司",
    "有限责任公司": "有限责任公司",
    "合伙企业": "合伙企业",
    "有限合伙": "有限合伙",
    "普通合伙": "普通合伙",
    "有限公司": "有限责任公司",
    "股份公司": "股份有限公司",
    "总公司": "总公司",
    "公司": "公司",
    "集团": "集团",
    "有限": "有限责任公司",
}
_CN_LEGAL_ORDER: Final = sorted(_CN_LEGAL, key=len, reverse=True)
_LATIN_LEGAL: Final[dict[str, str]] = {
    "co": "co",
    "company": "co",
    "ltd": "ltd",
    "limited": "ltd",
    "inc": "inc",
    "incorporated": "inc",
    "corp": "corp",
    "corporation": "corp",
    "llc": "llc",
    "llp": "llp",
    "lp": "lp",
    "plc": "plc",
    "gmbh": "gmbh",
    "ag": "ag",
    "sa": "sa",
    "bv": "bv",
    "pte": "pte",
    "pty": "pty",
    "group": "group",
}
# Words in brackets that say nothing about which company it is: 金智（中国）投资有限公司.
_NATIONAL: Final = frozenset(
    {"中国", "中华", "国际", "亚太", "亚洲", "全球", "china", "prc", "international", "intl"}
)
# Branch words. "Strong" ones always make a branch; "weak" ones (经营部, 店 …) are also how
# sole traders name their only shop, so they make a branch only after a legal form
# (…有限公司五四广场店) or inside brackets (海底捞（五四广场店）).
_STRONG_BRANCH: Final = (
    "分公司",
    "办事处",
    "代表处",
    "营业部",
    "营业所",
    "分理处",
    "分中心",
    "分店",
    "分厂",
    "分部",
    "分行",
    "支行",
    "分所",
    "分院",
    "分社",
    "分校",
)
_WEAK_BRANCH: Final = (
    "经营部",
    "门市部",
    "服务部",
    "销售部",
    "项目部",
    "工作站",
    "门店",
    "店",
    "厂",
)
_LATIN_BRANCH: Final = ("branch", "office")


# 行业 words, stripped repeatedly from the end of a name to find the trade name
# (电子科技 = 电子 + 科技). A word missing here only makes the trade name longer.
def _words(text: str) -> list[str]:
    return text.split()


_CN_INDUSTRY: Final = sorted(
    _words(
        """
    科技 技术 信息 电子 网络 软件 数码 数据 智能 通信 通讯 电气 电器 电力 能源 新能源 环保 环境
    生物 医药 制药 医疗 医疗器械 器械 健康 贸易 商贸 工贸 国际贸易 进出口 实业 商务 供应链 物流
    运输 货运 快递 仓储 建材 建筑 建设 工程 装饰 装修 设计 机械 设备 制造 机电 五金 汽车 汽配
    配件 零部件 食品 饮料 农业 农产品 茶叶 茶业 酒业 餐饮 管理 咨询 服务 文化 传媒 广告 印刷
    包装 纸业 服装 服饰 纺织 鞋业 家具 家居 化工 塑料 橡胶 材料 新材料 钢铁 金属 矿业 石油
    房地产 地产 置业 物业 投资 资产 金融 教育 培训 旅游 酒店 娱乐 体育 母婴 日用 百货 超市 商行
    商店 火锅 饭店 发展 开发 销售 控股 产业 工作室 中心 店 厂 啤酒 白酒 葡萄酒 酒 饮品 水泥 钢材
    玻璃 陶瓷 药业 药房 大药房 诊所 医院 学校 幼儿园 银行 保险 证券 事务所 律师事务所
    会计师事务所 印染 家电 灯饰 照明 光电 数控 模具 精密 自动化 仪器 仪表 水务 燃气 热力 农牧
    养殖 种植 畜牧 水产 粮油 米业 乳业 煤炭 电缆 线缆 管业 阀门 泵业 轴承 纸品 文具 玩具 工艺品
    礼品 眼镜 珠宝 黄金 美容 美发 健身 摄影 婚庆 家政 保洁 安保 人力资源 劳务 租赁 商城 市场
    批发 零售 药店
    """
    ),
    key=len,
    reverse=True,
)
_CN_INDUSTRY_SET: Final = frozenset(_CN_INDUSTRY)
_CN_INDUSTRY_LENGTHS: Final = sorted({len(w) for w in _CN_INDUSTRY}, reverse=True)
_LATIN_INDUSTRY: Final = frozenset(
    _words(
        """
    trading trade technology technologies tech electronics electronic electric electrical
    industrial industries industry manufacturing logistics import export imp exp food foods
    textile textiles chemical chemicals machinery equipment materials material software
    network networks information consulting service services holdings holding investment
    investments development engineering construction management media culture medical
    pharmaceutical pharmaceuticals pharma auto parts garments garment apparel
    """
    )
)
_HONORIFICS: Final = (
    "总经理",
    "副总",
    "经理",
    "总监",
    "主任",
    "老师",
    "老板",
    "先生",
    "女士",
    "小姐",
    "师傅",
    "总",
    "工",
)
_LATIN_TITLES: Final = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam"})


# -- text ---------------------------------------------------------------------------------
def _casefold(text: str) -> str:
    # NFKC and case folding each can undo the other's normal form (ﬁ, ß …); repeat until
    # stable so the result is a fixed point, which keys must be.
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        if folded == text:
            break
        text = folded
    return text.translate(_BRACKETS)


def _is_latin(ch: str) -> bool:
    return ch.isalnum() and not _CJK.match(ch)


def _squash(text: str, keep: str = "") -> str:
    """Letters and digits only; a space survives only between two Latin words."""
    out: list[str] = []
    gap = False
    for ch in text:
        if ch.isalnum() or ch in keep:
            if gap and out and _is_latin(out[-1]) and _is_latin(ch):
                out.append(" ")
            gap = False
            out.append(ch)
        else:
            gap = True
    return "".join(out)


def fold_text(text: str) -> str:
    """The comparison form of free text: NFKC, case-folded, brackets unified to ``()``,
    punctuation and spacing dropped except one space between Latin words.

    Args:
        text: any text (a name, an address).

    Returns:
        The folded text; ``fold_text(fold_text(t)) == fold_text(t)``.
    """
    for _ in range(4):
        folded = _squash(_casefold(text), keep="()")
        if folded == text:
            break
        text = folded
    return text


# -- company names ------------------------------------------------------------------------
@attrs.frozen
class CompanyKey:
    """A company name taken apart for duplicate detection.

    Attributes:
        brand: the distinctive core, trade name + industry (金智电子科技; ``acmetrading``),
            without place, legal form or branch. Empty only for an empty name.
        trade_name: the brand without its industry words (金智), or the brand when none
            were recognised.
        industry_word: the industry words (电子科技), or None.
        legal_form: the normalised legal form (有限责任公司, 集团股份有限公司, ``co ltd``), or None.
        location: GB/T 2260 code of the place written in the name, at its start or in
            brackets (370200 for 青岛), or None.
        branch: the branch part (青岛市分公司, 五四广场店), or None for the company itself.
        branch_location: GB/T 2260 code of the branch's place, or None.
        brand_with_place: the brand with the leading place kept (青岛金智电子科技): a place
            name can be the start of a trade name (安康…, 金华…), so the matcher also tries this.
        words: the brand's words for a Latin-script name (word order varies), else ``()``.
    """

    brand: str
    trade_name: str = ""
    industry_word: str | None = None
    legal_form: str | None = None
    location: str | None = None
    branch: str | None = None
    branch_location: str | None = None
    brand_with_place: str = ""
    words: tuple[str, ...] = ()

    @property
    def is_branch(self) -> bool:
        return self.branch is not None


@attrs.define
class _Parts:
    """What the bracket pass and the branch pass set aside while a name is parsed."""

    legal: list[str] = attrs.field(factory=list)
    location: str | None = None
    branch: str | None = None
    branch_location: str | None = None

    def add_location(self, code: str) -> None:
        # Two places (山东 … （青岛）) narrow each other; a contradiction keeps the first.
        if self.location is None or (
            _places.compatible(self.location, code)
            and len(_places.code_prefix(code)) > len(_places.code_prefix(self.location))
        ):
            self.location = code


def _branch_text(qualifier: str, word: str) -> tuple[str, str | None]:
    """The branch written canonically (青岛分公司 and 青岛市分公司 agree) and its place."""
    code = _places.whole_place(qualifier) if qualifier else None
    if code is not None:
        return _places.place_name(code) + word, code
    return qualifier + word, None


def _last_legal_end(head: str) -> int:
    """Where the last legal form in ``head`` ends (金智有限公司|青岛), or 0 if there is none."""
    best = 0
    for form in _CN_LEGAL_ORDER:
        if len(form) < 2 or form == "有限":
            continue
        at = head.rfind(form)
        if at > 0:
            best = max(best, at + len(form))
    return best


def _split_cn_branch(s: str, *, bracketed: bool) -> tuple[str, str, str] | None:
    """(parent, qualifier, branch word) when ``s`` names a branch, else None."""
    for words, weak in ((_STRONG_BRANCH, False), (_WEAK_BRANCH, True)):
        for word in words:
            if not s.endswith(word) or len(s) <= len(word):
                continue
            head = s[: -len(word)]
            if bracketed:
                return "", head, word
            end = _last_legal_end(head)
            if end:
                return head[:end], head[end:], word
            if weak:
                return None  # 金智五金经营部 is the shop itself
            split = _places.trailing_place(head)
            if split is not None:
                return split[0], split[1], word
            return head, "", word
    return None


def _split_industry(brand: str) -> tuple[str, str]:
    """(trade name, industry words): 金智电子科技 → (金智, 电子科技)."""
    trade = brand
    while trade:
        for length in _CN_INDUSTRY_LENGTHS:
            if len(trade) >= length and trade[-length:] in _CN_INDUSTRY_SET:
                trade = trade[:-length]
                break
        else:
            break
    return trade, brand[len(trade) :]


def _strip_cn_legal(s: str, parts: _Parts) -> str:
    stripped: list[str] = []
    while True:
        for form in _CN_LEGAL_ORDER:
            if s.endswith(form) and len(s) > len(form):
                s = s[: -len(form)]
                stripped.insert(0, _CN_LEGAL[form])
                break
        else:
            break
    parts.legal[:0] = stripped
    return s


def _bracket_cn(content: str, parts: _Parts) -> str:
    """Classify one bracket's content; return what stays in the name."""
    text = content.replace(" ", "")
    if not text or text in _NATIONAL:
        return ""
    if text in _CN_LEGAL:
        parts.legal.append(_CN_LEGAL[text])
        return ""
    code = _places.whole_place(text)
    if code is not None:
        parts.add_location(code)
        return ""
    branch = _split_cn_branch(text, bracketed=True)
    if branch is not None and parts.branch is None:
        parts.branch, parts.branch_location = _branch_text(branch[1], branch[2])
        return ""
    return text  # 金智（北方）电子: just part of the name


def _bracket_latin(content: str, parts: _Parts) -> str:
    words = content.split()
    if not words or all(w in _NATIONAL for w in words):
        return ""
    if all(w in _LATIN_LEGAL for w in words):
        parts.legal.append(" ".join(_LATIN_LEGAL[w] for w in words))
        return ""
    code = _places.whole_place("".join(words))
    if code is not None:
        parts.add_location(code)
        return ""
    if words[-1] in _LATIN_BRANCH and parts.branch is None:
        parts.branch, parts.branch_location = _latin_branch(words[:-1], words[-1])
        return ""
    return " " + content + " "


def _latin_branch(qualifier: list[str], word: str) -> tuple[str, str | None]:
    code = _places.whole_place("".join(qualifier)) if qualifier else None
    if code is not None:
        return f"{_places.place_name(code)} {word}", code
    return " ".join([*qualifier, word]), None


def _without_groups(
    text: str, classify: Callable[[str, _Parts], str], parts: _Parts, sep: str = ""
) -> str:
    # Innermost brackets first; a stray bracket left over is just punctuation. In Latin
    # script a bracket also separates words (``sep=" "``): "a()b" and "a:()b" are both the
    # two words a, b, whether or not folding dropped the punctuation before the bracket.
    while True:
        replaced = _GROUP.sub(lambda m: sep + classify(_squash(m.group(1)), parts) + sep, text)
        if replaced == text:
            break
        text = replaced
    return text.replace("(", " ").replace(")", " ")


def _chinese_key(text: str) -> CompanyKey:
    parts = _Parts()
    s = _squash(_without_groups(text, _bracket_cn, parts)).replace(" ", "")
    branch = _split_cn_branch(s, bracketed=False)
    if branch is not None:
        s = branch[0]
        parts.branch, parts.branch_location = _branch_text(branch[1], branch[2])
    s = _strip_cn_legal(s, parts)
    with_place = s
    lead = _places.leading_place(s)
    if lead is not None:
        end, code = lead
        rest = s[end:]
        # Take the place out only when a trade name remains: in 青岛电子科技, 金昌文化传媒 or
        # 重庆火锅店 the place *is* the distinctive part (北京 alone stays 北京), and a place
        # that is part of the brand says nothing about where the company is.
        if rest and _split_industry(rest)[0]:
            parts.add_location(code)
            s = _strip_cn_legal(rest, parts)
    trade, industry = _split_industry(s)
    return CompanyKey(
        brand=s,
        trade_name=trade or s,
        industry_word=industry or None,
        legal_form="".join(parts.legal) or None,
        location=parts.location,
        branch=parts.branch,
        branch_location=parts.branch_location,
        brand_with_place=with_place,
    )


@functools.cache
def _latin_vocabulary() -> frozenset[str]:
    return frozenset(_LATIN_LEGAL) | _LATIN_INDUSTRY | frozenset(_LATIN_BRANCH)


def _rejoined(words: list[str]) -> list[str]:
    """Words with a stray space taken out of a known one (``limi ted`` → ``limited``,
    ``te chnology`` → ``technology``): two neighbours, neither a known word, that make one.
    Otherwise the split word hides a legal form or an industry word and the name reads as
    another company's."""
    known = _latin_vocabulary()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if (
            i + 1 < len(words)
            and word not in known
            and words[i + 1] not in known
            and word + words[i + 1] in known
        ):
            word += words[i + 1]
            i += 1
        out.append(word)
        i += 1
    return out


def _latin_key(text: str) -> CompanyKey:
    parts = _Parts()
    words = _rejoined(_squash(_without_groups(text, _bracket_latin, parts, sep=" ")).split())
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    if len(words) > 1 and words[-1] in _LATIN_BRANCH:
        head, word = words[:-1], words[-1]
        legal_at = max((i for i, w in enumerate(head) if w in _LATIN_LEGAL), default=-1)
        if legal_at > 0:
            words, qualifier = head[: legal_at + 1], head[legal_at + 1 :]
        elif len(head) > 1 and _places.whole_place(head[-1]) is not None:
            words, qualifier = head[:-1], head[-1:]
        else:
            words, qualifier = head, []
        parts.branch, parts.branch_location = _latin_branch(qualifier, word)
    legal: list[str] = []
    while len(words) > 1 and (words[-1] in _LATIN_LEGAL or (legal and words[-1] == "and")):
        word = words.pop()
        if word != "and":
            legal.insert(0, _LATIN_LEGAL[word])
    parts.legal[:0] = [" ".join(legal)] if legal else []
    with_place = "".join(words)
    for n in (2, 1):
        if len(words) > n:
            code = _places.whole_place("".join(words[:n]))
            if code is not None:
                parts.add_location(code)
                words = words[n:]
                break
    trade = list(words)
    while len(trade) > 1 and trade[-1] in _LATIN_INDUSTRY:
        trade.pop()
    industry = words[len(trade) :]
    brand = "".join(words)
    return CompanyKey(
        brand=brand,
        trade_name="".join(trade) or brand,
        industry_word=" ".join(industry) or None,
        legal_form=" ".join(parts.legal) or None,
        location=parts.location,
        branch=parts.branch,
        branch_location=parts.branch_location,
        brand_with_place=with_place,
        words=tuple(words),
    )


@functools.lru_cache(maxsize=131072)
def company_key(name: str) -> CompanyKey:
    """Take a company name apart for duplicate detection.

    The name is NFKC-folded (full-width → half-width), case-folded, its brackets unified and
    its spaces and punctuation dropped. Brackets holding a place (（青岛）), a legal form
    (（有限合伙）), 中国/国际, or a shop (（五四广场店）) are set aside; a branch word at the end
    (分公司, 办事处, 营业部 …) splits off the branch with its place; legal forms are stripped
    from the end (有限公司, 股份有限公司, 集团 …; Co., Ltd., Inc., LLC, GmbH …); a leading
    province/city (青岛, 山东省青岛市, 青岛市市南区, ``Qingdao``) becomes the location.

    A place is removed from the brand only when a trade name is left after it: 北京 alone and
    重庆火锅店 keep their place in the brand (it is all that distinguishes them), and then it
    is not a location either. Districts count at the start only after their city or
    when written in full (胶州市, 市南区), because short district names (长安, 城阳) often
    begin trade names.

    Args:
        name: a company name as written anywhere (a form, an import row, a stored name).

    Returns:
        The :class:`CompanyKey`; equal names give equal keys (cached).
    """
    text = _casefold(name)
    probe = _squash(text)
    if not probe:
        return CompanyKey(brand="")
    return _chinese_key(text) if _CJK.search(probe) else _latin_key(text)


def individual_key(name: str) -> CompanyKey:
    """A key for an individual customer: the person's name as the brand, nothing stripped.

    Args:
        name: the person's name.

    Returns:
        A :class:`CompanyKey` whose brand is :func:`person_key` of the name.
    """
    key = person_key(name) or ""
    words = tuple(key.split()) if " " in key else ()
    brand = key.replace(" ", "")
    return CompanyKey(brand=brand, trade_name=brand, brand_with_place=brand, words=words)


# -- people, phones, e-mails, credit codes ------------------------------------------------
def person_key(name: str | None) -> str | None:
    """A person's name for comparison.

    Chinese names lose spaces, dots and a trailing form of address (张总, 李经理, 王女士 keep
    their surname: 张, 李, 王); Latin names are case-folded with their words sorted, so
    ``Zhang San`` and ``SAN ZHANG`` agree.

    Args:
        name: the name as written, or None.

    Returns:
        The key, or None for a missing or empty name.
    """
    if name is None:
        return None
    text = fold_text(str(name)).replace("(", "").replace(")", "")
    if not text:
        return None
    if _CJK.search(text):
        text = text.replace(" ", "")
        stripped = True
        while stripped:  # 王总工 → 王总 → 王: repeat, so the key is a fixed point
            stripped = False
            for title in _HONORIFICS:
                if text.endswith(title) and len(text) > len(title):
                    text = text[: -len(title)]
                    stripped = True
                    break
        return text
    words = [w for w in text.split() if w not in _LATIN_TITLES] or text.split()
    return " ".join(sorted(words))


@functools.lru_cache(maxsize=131072)
def _phone_e164(raw: str, region: str) -> str | None:
    try:
        return Phone.parse(raw, region).e164
    except ValidationError:
        return None


def phone_key(value: str | Phone | None, region: str = "CN") -> str | None:
    """A telephone number as E.164 (``+8613800138000``), however it was written.

    Args:
        value: a :class:`Phone`, raw text (``138 0013 8000``, ``+86-138…``), or None.
        region: where numbers without a country code are from.

    Returns:
        The E.164 string, or None when missing or not a valid number (an unreadable number
        is no evidence either way).
    """
    if value is None:
        return None
    if isinstance(value, Phone):
        return value.e164
    text = str(value).strip()
    return _phone_e164(text, region) if text else None


@functools.lru_cache(maxsize=131072)
def _email_dedup(raw: str) -> str | None:
    try:
        return Email.parse(raw).dedup_key
    except ValidationError:
        return None


def email_key(value: str | Email | None) -> str | None:
    """An e-mail address as compared for duplicates: normalised, then case-folded whole.

    Args:
        value: an :class:`Email`, raw text, or None.

    Returns:
        The key, or None when missing or invalid.
    """
    if value is None:
        return None
    if isinstance(value, Email):
        return value.dedup_key
    text = str(value).strip()
    return _email_dedup(text) if text else None


def uscc_key(value: str | USCC | None) -> str | None:
    """A unified social credit code (统一社会信用代码), upper-cased and checked.

    Args:
        value: a :class:`USCC`, raw text, or None.

    Returns:
        The 18-character code, or None when missing or failing its check digit (a mistyped
        code must not veto a match it would otherwise contradict).
    """
    if value is None:
        return None
    if isinstance(value, USCC):
        return value.value
    text = str(value).strip()
    if not text:
        return None
    try:
        return USCC.parse(text).value
    except ValidationError:
        return None


# -- addresses ----------------------------------------------------------------------------
@attrs.frozen
class AddressKey:
    """A postal address for comparison: the division it names and the street part.

    Attributes:
        region: GB/T 2260 code of the finest division found, or None.
        rest: the folded remainder (香港中路10号), empty when the address named only a region.
    """

    region: str | None
    rest: str


def address_key(text: str | None, region: Region | str | None = None) -> AddressKey | None:
    """Parse a free-text address into its division and the rest.

    Args:
        text: the address as written (``山东省青岛市市南区香港中路 10 号``), or None.
        region: the record's own region (a :class:`Region` or code), used when the text names
            none. The region field is the authority: when the text's leading words parse as a
            division that contradicts it (香港中路 is a street in 青岛, not 香港), the words are
            kept as street text.

    Returns:
        The :class:`AddressKey`, or None when there is neither text nor region.
    """
    given = region.code if isinstance(region, Region) else (region or None)
    raw = "".join(unicodedata.normalize("NFKC", text or "").split())
    parsed, rest = parse_address_region(raw) if raw else (None, "")
    code = parsed.code if parsed is not None else None
    if given is not None:
        if code is None:
            code = given
        elif not _places.compatible(code, given):
            code, rest = given, raw
        elif len(_places.code_prefix(given)) > len(_places.code_prefix(code)):
            code = given
    folded = fold_text(rest).replace(" ", "").replace("(", "").replace(")", "")
    if code is None and not folded:
        return None
    return AddressKey(code, folded)
