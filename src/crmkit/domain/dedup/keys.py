"""The keys two records are compared by, for duplicate detection.

A company name is taken apart (:func:`company_key`, see ``company`` for its parts and
``company_cn`` / ``company_latin`` for how); a person's name, a phone number, an e-mail
address, a credit code and a postal address each get a comparison key of their own.

Every key here is derived from normalised values only (NFKC, case-folded, E.164, the
e-mail's normalised form), so a key computed at import time equals one computed later.
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import date
from typing import Any

import attrs

from crmkit.domain.dedup import _places
from crmkit.domain.dedup.company import CompanyKey
from crmkit.domain.dedup.company_cn import chinese_key
from crmkit.domain.dedup.company_latin import latin_key
from crmkit.domain.dedup.text import CJK, casefold, fold_text, squash, word_list
from crmkit.domain.errors import ValidationError
from crmkit.domain.pinyin import name_syllables, split_name
from crmkit.domain.regions import Region, parse_address_region
from crmkit.domain.values import USCC, Email, IdNumber, Phone

__all__ = [
    "AddressKey",
    "address_key",
    "company_key",
    "email_key",
    "id_birth_date",
    "id_key",
    "individual_key",
    "name_pinyin",
    "name_syllable_bags",
    "person_key",
    "phone_key",
    "segment_pinyin",
    "uscc_key",
]


# -- company names ------------------------------------------------------------------------
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
    text = casefold(name)
    probe = squash(text)
    if not probe:
        return CompanyKey(brand="")
    return chinese_key(text) if CJK.search(probe) else latin_key(text)


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
    if CJK.search(text):
        text = text.replace(" ", "")
        stripped = True
        while stripped:  # 王总工 → 王总 → 王: repeat, so the key is a fixed point
            stripped = False
            for title in word_list("cn_honorifics"):
                if text.endswith(title) and len(text) > len(title):
                    text = text[: -len(title)]
                    stripped = True
                    break
        return text
    words = [w for w in text.split() if w not in _latin_titles()] or text.split()
    return " ".join(sorted(words))


@functools.cache
def _latin_titles() -> frozenset[str]:
    return frozenset(word_list("latin_titles"))


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


# -- people ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=65536)
def name_pinyin(key: str | None) -> str | None:
    """The pinyin of a Chinese :func:`~crmkit.domain.dedup.keys.person_key`, surname read as
    a surname (单 shan, 曾 zeng), syllables joined by spaces; None for other names."""
    if not key or not CJK.search(key):
        return None
    return " ".join(name_syllables(key)) or None


@functools.cache
def _pinyin_syllables() -> frozenset[str]:
    # Every toneless reading pypinyin knows (about 420), ü written v as pypinyin writes it;
    # interjections without a vowel (m, ng, hm) are left out: no name is spelled with them.
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    out: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            plain = to_normal(reading).replace("ü", "v")
            if plain.isascii() and plain.isalpha() and any(v in plain for v in "aeiouv"):
                out.add(plain)
    return frozenset(out)


@functools.lru_cache(maxsize=65536)
def segment_pinyin(word: str) -> tuple[str, ...] | None:
    """A run of pinyin letters cut into syllables (``jianguo`` → ``jian guo``), or None when
    it is not pinyin (``smith``).

    Of the ways to cut it, the one with the fewest syllables, then the fewest beginning with
    a vowel (written pinyin needs an apostrophe before those: ``xian`` is 先, ``xi'an`` 西安),
    so that one spelling has one reading whichever side it comes from.
    """
    syllables = _pinyin_syllables()
    n = len(word)
    if n == 0 or n > 40:
        return None
    # best[i]: the cheapest cut of word[i:], as (syllables, vowel-initial ones, the cut).
    best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (n + 1)
    best[n] = (0, 0, ())
    for i in range(n - 1, -1, -1):
        for j in range(min(n, i + 6), i, -1):
            piece, rest = word[i:j], best[j]
            if rest is None or piece not in syllables:
                continue
            cost = (rest[0] + 1, rest[1] + (piece[0] in "aeiou" and i > 0), (piece, *rest[2]))
            found = best[i]
            if found is None or cost[:2] < found[:2]:
                best[i] = cost
    top = best[0]
    return top[2] if top is not None else None


def _bag(words: list[str]) -> str | None:
    cut: list[str] = []
    for word in words:
        pieces = segment_pinyin(word)
        if pieces is None:
            return None
        cut.extend(pieces)
    return " ".join(sorted(cut)) if cut else None


@functools.lru_cache(maxsize=65536)
def name_syllable_bags(key: str | None) -> frozenset[str]:
    """A person-name key as the sorted syllables of its pinyin, however it was written:
    王建国, ``Wang Jianguo``, ``Jianguo Wang`` and ``wang jian guo`` all give ``guo jian wang``.

    A Chinese name's given name is cut as its pinyin written together would be (so that it
    meets the same name written in Latin letters), and also syllable by syllable when that
    differs (方安: ``an fang``, ``fan fang gan``); a Latin name gives its bag only when every
    word is pinyin (``john smith`` gives none). Word order is lost on purpose: Latin keys are
    word-sorted, and a name is written surname first or last.

    Args:
        key: a :func:`person_key`, or None.

    Returns:
        The bags (none, one or two), each syllables sorted and joined by spaces.
    """
    if not key:
        return frozenset()
    if not CJK.search(key):
        found = _bag(key.split())
        return frozenset({found}) if found else frozenset()
    spoken = name_pinyin(key)
    if spoken is None:
        return frozenset()
    surname, given = split_name(key)
    reading = name_pinyin(surname) if surname else None
    out = {" ".join(sorted(spoken.split()))}
    if reading is not None and given:
        given_syllables = spoken.split()[len(reading.split()) :]
        joined = _bag(["".join(reading.split()), "".join(given_syllables)])
        if joined:
            out.add(joined)
    return frozenset(out)


def id_birth_date(key: str | None) -> date | None:
    """The birth date a checked resident identity card number (an :func:`id_key` with the
    ``cn:`` prefix) carries in its digits 7–14; None for any other number."""
    if not key or not key.startswith("cn:"):
        return None
    digits = key[3:]
    try:
        return date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return None


def id_key(value: Any) -> str | None:
    """An identity document number as compared: a mainland resident identity card number
    (18 characters with its check digit) checked and normalised (``cn:`` prefix); any other
    number (a passport, a foreign id) folded to its letters and digits.

    Args:
        value: the number as written (a value object's ``str`` is not used: pass ``.value``).

    Returns:
        The key, or None when missing, or when it has a resident card's shape but fails its
        check (a typo must not count as another person's number).
    """
    if value is None:
        return None
    text = "".join(ch for ch in fold_text(str(value)) if ch.isalnum()).upper()
    if not text:
        return None
    if len(text) == 18 and text[:17].isdigit():
        try:
            # As the customer field checks it (a region code newer than the birth year is
            # accepted: a number keeps the code of its issue).
            return "cn:" + IdNumber.parse(text).value
        except ValidationError:
            return None
    return text


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
    # Spaces stay only between Latin words (fold_text): they part "8 everard street".
    folded = fold_text(rest).replace("(", "").replace(")", "").strip()
    if code is None and not folded:
        return None
    return AddressKey(code, folded)
