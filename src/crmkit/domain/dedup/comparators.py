"""Comparators: how similar two normalised field values are, from 0 to 1.

Every comparator takes two values that are both present (the matcher skips a field that
either record lacks) and returns a similarity in ``[0, 1]``, or None when the values cannot
be compared (an empty brand). None never counts as disagreement. Every comparator is
symmetric and gives 1.0 for equal values, which the matcher's guarantees rest on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from datetime import date
from typing import Any, Literal

import attrs
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, JaroWinkler

from crmkit.domain.dedup import _places
from crmkit.domain.dedup.company import CompanyKey
from crmkit.domain.dedup.keys import AddressKey
from crmkit.domain.dedup.text import CJK, word_list

__all__ = [
    "Comparator",
    "address",
    "company_name",
    "date_within",
    "emails_shared",
    "exact",
    "fuzzy",
    "industry_concepts",
    "person_name",
    "phones_shared",
    "same_city",
    "shared",
    "spelled",
    "trade_spelling",
]

Comparator = Callable[[Any, Any], float | None]
"""``(value_a, value_b) -> similarity in [0, 1] | None``."""

# How much of a Chinese brand's similarity comes from the trade name (字号) rather than the
# industry words: the trade name is what registration keeps unique within a place, while
# industry words are shared by thousands of companies (金智电子科技 vs 华美电子科技 share 4 of
# 6 characters and nothing that matters).
TRADE_NAME_SHARE = 0.7
# Similarity of a bare trade name to the full brand (金智 / 金智电子科技): short names are how
# people talk, so it is evidence, but not enough alone (see the default weights).
TRADE_NAME_ONLY = 0.85


# Two trade names read alike (金智 / 金志) are often an input-method typo, and
# registration refuses a name that sounds like a registered one in the same industry and
# place (企业名称登记管理规定: 相同或者近似); but stores hold unregistered names too, and at
# 100k generated companies a same-city homophone was another company as often as not. So
# a homophone in one city takes one more field agreeing (an address, a contact, a phone).
# A Chinese name against its pinyin spelling (金智 / Jinzhi) is alike at most
# SPELLED_AT_MOST: pinyin loses the characters (锦织 reads jinzhi too). A three-character
# trade name read alike is rare enough to be a duplicate alone; a two-character one
# (SPELLED_SHORT_AT_MOST) takes the same city, or more.
HOMOPHONE = 0.8
SPELLED_AT_MOST = 0.95
SPELLED_SHORT_AT_MOST = 0.9


@functools.lru_cache(maxsize=16384)
def _reading(ch: str) -> str:
    return str(lazy_pinyin(ch)[0]).lower() if CJK.match(ch) else ch


@functools.lru_cache(maxsize=131072)
def spelled(text: str) -> str:
    """Chinese characters as toneless pinyin run together (金智 → ``jinzhi``); other
    characters kept, spaces dropped: how a Chinese name is written in Latin letters.

    Each character is read alone, by its commonest reading: both sides of a comparison
    are read the same way, and a name's few thousand distinct characters are each looked
    up once (pypinyin's phrase lookup cost ~90 µs a name, most of an import row's keys).
    """
    if not CJK.search(text):
        return text.replace(" ", "")
    return "".join(_reading(ch) for ch in text if not ch.isspace())


@functools.cache
def _industry_english() -> dict[str, frozenset[str]]:
    """行业 word -> the English words that render it (``data/cn_en_industry.txt``)."""
    out: dict[str, frozenset[str]] = {}
    text = word_list("cn_en_industry")
    word: str | None = None
    for token in text:
        if CJK.search(token):
            word = token
            out[word] = frozenset()
        elif word is not None:
            out[word] = out[word] | {token}
    return out


def _industry_chunks(industry: str) -> list[str]:
    """A Chinese industry part split into the words the translation list knows, longest
    first from the left (电子科技 → 电子, 科技); an unknown character is a chunk of its own."""
    known = _industry_english()
    longest = max((len(w) for w in known), default=1)
    out: list[str] = []
    i = 0
    while i < len(industry):
        for size in range(min(longest, len(industry) - i), 0, -1):
            if industry[i : i + size] in known:
                out.append(industry[i : i + size])
                i += size
                break
        else:
            out.append(industry[i])
            i += 1
    return out


def _industry_agreement(chinese: str, english: str) -> float:
    """How much a Chinese industry part and an English one say the same thing: the share
    of Chinese words rendered among the English words, times the share of English words
    that render one of them (电子科技 / Electronic Technology: 1.0)."""
    chunks = _industry_chunks(chinese)
    words = set(english.split())
    known = _industry_english()
    matched = [c for c in chunks if known.get(c, frozenset()) & words]
    covered = {w for c in matched for w in known[c] & words}
    if not chunks or not words:
        return 0.0
    return (len(matched) / len(chunks)) * (len(covered) / len(words))


@functools.cache
def _english_industry_words() -> frozenset[str]:
    return frozenset(w for words in _industry_english().values() for w in words)


def _latin_parts(latin: CompanyKey) -> tuple[str, str]:
    """A Latin name's trade name and industry words, the industry being every trailing word
    that renders a Chinese industry word (Yuxijing | Environmental Equipment), else what the
    name's own parse found."""
    words = list(latin.words)
    vocabulary = _english_industry_words()
    cut = len(words)
    while cut > 1 and words[cut - 1] in vocabulary:
        cut -= 1
    if cut < len(words):
        return "".join(words[:cut]), " ".join(words[cut:])
    return (latin.trade_name or latin.brand).replace(" ", ""), latin.industry_word or ""


def _chinese_parts(chinese: CompanyKey) -> tuple[str, str]:
    """A Chinese brand's trade name and industry words, the industry being every trailing
    word the translation list knows (腾绿 | 光伏科技), else what the name's own parse found."""
    known = _industry_english()
    longest = max((len(w) for w in known), default=1)
    brand = chinese.brand
    cut = len(brand)
    while cut > 2:
        for size in range(min(longest, cut - 2), 0, -1):
            if brand[cut - size : cut] in known:
                cut -= size
                break
        else:
            break
    industry = brand[cut:]
    if len(industry) > len(chinese.industry_word or ""):
        return brand[:cut], industry
    return chinese.trade_name or brand, chinese.industry_word or ""


def trade_spelling(key: CompanyKey) -> str:
    """The trade name in Latin letters, as both scripts write it: 金智 → ``jinzhi``, and
    *Jinzhi Electronic Technology* → ``jinzhi`` (industry words, as the translation list
    knows them, left out on both sides)."""
    if key.words:
        return _latin_parts(key)[0]
    return spelled(_chinese_parts(key)[0]) if CJK.search(key.brand) else key.trade_name


@functools.cache
def _concept_of() -> dict[str, str]:
    """English industry word -> the first 行业 word it renders (its concept)."""
    out: dict[str, str] = {}
    for chinese, words in _industry_english().items():
        for word in sorted(words):
            out.setdefault(word, chinese)
    return out


def industry_concepts(key: CompanyKey) -> frozenset[str]:
    """The industry a name names, as 行业 words both scripts share (电子, 科技 for 电子科技
    and for *Electronic Technology*), for keys that must not hold a whole country's
    companies of one trade-name reading."""
    if key.words:
        concept = _concept_of()
        return frozenset(concept[w] for w in _latin_parts(key)[1].split() if w in concept)
    known = _industry_english()
    return frozenset(c for c in _industry_chunks(_chinese_parts(key)[1]) if c in known)


def _cross_script(chinese: CompanyKey, latin: CompanyKey) -> float:
    """A Chinese name against a Latin-script one: the trade name's pinyin against the Latin
    trade name, the industry words through their English renderings. Capped below 1 (pinyin
    loses the characters), the more so for two-character trade names, which more companies
    share a reading with."""
    trade_chinese, industry_chinese = _chinese_parts(chinese)
    trade_cn = spelled(trade_chinese)
    trade_latin, industry_latin = _latin_parts(latin)
    trade = 1.0 if trade_cn == trade_latin else _ratio(trade_cn, trade_latin)
    if industry_chinese and industry_latin:
        industry = _industry_agreement(industry_chinese, industry_latin)
    elif industry_chinese or industry_latin:
        industry = 0.5
    else:
        industry = 1.0
    similarity = TRADE_NAME_SHARE * trade + (1 - TRADE_NAME_SHARE) * industry
    cap = SPELLED_AT_MOST if len(trade_chinese) >= 3 else SPELLED_SHORT_AT_MOST
    return min(cap, similarity)


def _trade_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    plain = _ratio(a, b)
    if plain < HOMOPHONE and CJK.search(a) and spelled(a) == spelled(b):
        return HOMOPHONE
    return plain


def exact(a: Any, b: Any) -> float | None:
    """1.0 if equal, else 0.0 (strings compare after :func:`fold_text` in the record)."""
    return 1.0 if a == b else 0.0


def _ratio(a: str, b: str) -> float:
    # Indel similarity (what fuzz.ratio reports, on 0..1): symmetric, and a one-character
    # change in an n-character string costs about 1/n.
    return float(Indel.normalized_similarity(a, b))


def _token_sort(a: str, b: str) -> float:
    return float(fuzz.token_sort_ratio(a, b)) / 100.0


def _token_set(a: str, b: str) -> float:
    return float(fuzz.token_set_ratio(a, b)) / 100.0


def _jaro_winkler(a: str, b: str) -> float:
    return float(JaroWinkler.normalized_similarity(a, b))


_FUZZY: dict[str, Callable[[str, str], float]] = {
    "ratio": _ratio,
    "token_sort": _token_sort,
    "token_set": _token_set,
    "jaro_winkler": _jaro_winkler,
}


FuzzyMethod = Literal["ratio", "token_sort", "token_set", "jaro_winkler"]


def fuzzy(method: FuzzyMethod = "ratio") -> Comparator:
    """A fuzzy string comparator (rapidfuzz).

    Args:
        method: ``ratio`` (Indel similarity, the default), ``token_sort`` / ``token_set``
            (word order does not matter), or ``jaro_winkler`` (rewards a common prefix).

    Returns:
        A comparator of two strings; non-strings are compared as their ``str``.
    """
    if method not in _FUZZY:
        raise ValueError(f"unknown fuzzy method {method!r}")
    return _Fuzzy(method)


# Comparators made by factories are small classes, not closures, so that a matcher
# configuration can be sent to the worker processes that prepare an import's rows.
@attrs.frozen
class _Fuzzy:
    method: FuzzyMethod

    def __call__(self, a: Any, b: Any) -> float | None:
        sa, sb = str(a), str(b)
        if not sa or not sb:
            return None
        return 1.0 if sa == sb else _FUZZY[self.method](sa, sb)


def _brand_similarity(a: CompanyKey, b: CompanyKey) -> float:
    if a.brand == b.brand:
        return 1.0
    if bool(a.words) != bool(b.words):
        chinese, other = (b, a) if a.words else (a, b)
        if CJK.search(chinese.brand):
            return _cross_script(chinese, other)
    latin = bool(a.words or b.words)
    if latin and sorted(a.words) == sorted(b.words):
        return 1.0  # word order varies: "Jinzhi Trading" / "Trading Jinzhi"
    plain = _ratio(a.brand, b.brand)
    if a.industry_word and b.industry_word and a.trade_name and b.trade_name:
        if latin:
            # Industry words are most of a Latin brand's letters ("… International
            # Logistics"): only the trade name tells Yuanle from Yuanze.
            return TRADE_NAME_SHARE * _ratio(a.trade_name, b.trade_name) + (
                1 - TRADE_NAME_SHARE
            ) * _token_sort(a.industry_word, b.industry_word)
        # Same trade name, industry written differently (金智华瑞贸易 / 金智华瑞商贸).
        structured = _structured(a.trade_name, b.trade_name, a.industry_word, b.industry_word)
        plain = max(plain, structured)
    elif not latin:
        plain = max(plain, _aligned(a, b), _aligned(b, a))
        if plain < HOMOPHONE and spelled(a.brand) == spelled(b.brand):
            plain = HOMOPHONE
    if latin:
        plain = max(plain, _token_sort(" ".join(a.words), " ".join(b.words)))
    for x, y in ((a, b), (b, a)):
        if len(x.brand) >= 2 and x.brand == y.trade_name and y.industry_word:
            # Called by its trade name alone (金智 for 金智电子科技): like, not the same.
            plain = max(plain, TRADE_NAME_ONLY)
    return plain


def _aligned(a: CompanyKey, b: CompanyKey) -> float:
    """``a``'s trade name and industry words laid over ``b``'s brand when ``b``'s industry
    words were not recognised (a typo in them: 金智电子科枝): ``b`` starting with ``a``'s trade
    name is compared like two structured names, its remainder as the industry words."""
    if not (a.trade_name and a.industry_word) or b.industry_word:
        return 0.0
    if len(b.brand) <= len(a.trade_name) or not b.brand.startswith(a.trade_name):
        return 0.0
    return _structured(a.trade_name, a.trade_name, a.industry_word, b.brand[len(a.trade_name) :])


def _structured(trade_a: str, trade_b: str, industry_a: str, industry_b: str) -> float:
    """Two Chinese brands compared part by part, the trade name weighing most (two trade
    names read alike count as :data:`HOMOPHONE`)."""
    return TRADE_NAME_SHARE * _trade_similarity(trade_a, trade_b) + (1 - TRADE_NAME_SHARE) * _ratio(
        industry_a, industry_b
    )


def company_name(a: CompanyKey, b: CompanyKey) -> float | None:
    """Similarity of two company names by their brands.

    Place, legal form and branch were set aside by :func:`company_key`, so 青岛金智电子科技
    有限公司 and 金智电子科技（青岛）股份有限公司 score 1.0. Otherwise the best of: the Indel
    ratio of the brands; for Chinese brands with recognised industry words, 0.7 × trade-name
    ratio + 0.3 × industry ratio (贸易 / 商贸 is a variant, not another company); 0.85 when
    one name is the other's bare trade name (金智); for Latin names, word-order-free token
    sort. When a name began with a place that may belong to the trade name (金华泰…), the
    brand with the place kept is tried against the other brand as well.

    Args:
        a: one name's key.
        b: the other's.

    Returns:
        The similarity, or None if either brand is empty.
    """
    if not a.brand or not b.brand:
        return None
    best = _brand_similarity(a, b)
    if best < 1.0 and a.brand_with_place and a.brand_with_place != a.brand:
        best = max(best, _ratio(a.brand_with_place, b.brand))
    if best < 1.0 and b.brand_with_place and b.brand_with_place != b.brand:
        best = max(best, _ratio(a.brand, b.brand_with_place))
    return best


def person_name(a: str, b: str) -> float | None:
    """Similarity of two :func:`person_key` values (Indel ratio; Latin keys are word-sorted).

    Args:
        a: one key.
        b: the other.

    Returns:
        1.0 for the same name; about 0.5 for two-character names differing in one character.
    """
    if not a or not b:
        return None
    return 1.0 if a == b else _ratio(a, b)


# Province-level divisions that are cities (直辖市): their province code names the city.
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})


def _city(code: str) -> str | None:
    prefix = _places.code_prefix(code)
    if len(prefix) >= 4:
        return prefix[:4]
    return prefix if prefix in _MUNICIPALITIES else None


def same_city(a: str, b: str) -> float | None:
    """Whether two places (GB/T 2260 codes) are in the same city.

    Args:
        a: one record's place (``370202`` 市南区, ``370200`` 青岛, ``370000`` 山东 …).
        b: the other's.

    Returns:
        1.0 when both name a city (or a district of one) and it is the same city; 0.0 when
        the places contradict; None when either is a province (山东 says too little to
        agree with 青岛).
    """
    if not _places.compatible(a, b):
        return 0.0
    ca, cb = _city(a), _city(b)
    if ca is None or cb is None:
        return None
    return 1.0 if ca == cb else 0.0


def shared(a: Collection[Any], b: Collection[Any]) -> float | None:
    """1.0 if the two collections share any element, else 0.0.

    Args:
        a: one record's values (a set of E.164 numbers, of e-mail keys …).
        b: the other's.

    Returns:
        1.0 or 0.0; None if either is empty.
    """
    if not a or not b:
        return None
    return 1.0 if not set(a).isdisjoint(b) else 0.0


def phones_shared(a: Collection[str], b: Collection[str]) -> float | None:
    """The phone comparator: 1.0 when the records share any E.164 number (see :func:`shared`)."""
    return shared(a, b)


def emails_shared(a: Collection[str], b: Collection[str]) -> float | None:
    """The e-mail comparator: 1.0 when the records share any address key (see :func:`shared`)."""
    return shared(a, b)


def date_within(days: int = 0) -> Comparator:
    """A date comparator: 1.0 within ``days`` of each other, else 0.0.

    Args:
        days: tolerance in days (0: the same date).

    Returns:
        A comparator of two ``date`` values.
    """
    return _DateWithin(days)


@attrs.frozen
class _DateWithin:
    days: int

    def __call__(self, a: Any, b: Any) -> float | None:
        if not isinstance(a, date) or not isinstance(b, date):
            return None
        return 1.0 if abs((a - b).days) <= self.days else 0.0


def address(a: AddressKey, b: AddressKey) -> float | None:
    """Similarity of two addresses: regions must agree, then the street parts are compared.

    Args:
        a: one address key.
        b: the other.

    Returns:
        0.0 when both regions are known and neither contains the other (青岛 vs 济南); else
        the Indel ratio of the street parts; None when either street part is empty (a region
        alone is the ``location`` field's business).
    """
    if a.region and b.region and not _places.compatible(a.region, b.region):
        return 0.0
    if not a.rest or not b.rest:
        return None
    return 1.0 if a.rest == b.rest else _ratio(a.rest, b.rest)
