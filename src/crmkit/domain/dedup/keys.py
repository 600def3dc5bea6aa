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
from typing import Any

import attrs

from crmkit.domain.dedup import _places
from crmkit.domain.dedup.company import CompanyKey
from crmkit.domain.dedup.company_cn import chinese_key
from crmkit.domain.dedup.company_latin import latin_key
from crmkit.domain.dedup.text import CJK, casefold, fold_text, squash, word_list
from crmkit.domain.errors import ValidationError
from crmkit.domain.pinyin import name_syllables
from crmkit.domain.regions import Region, parse_address_region
from crmkit.domain.values import USCC, Email, IdNumber, Phone

__all__ = [
    "AddressKey",
    "address_key",
    "company_key",
    "email_key",
    "id_key",
    "individual_key",
    "name_pinyin",
    "person_key",
    "phone_key",
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
