"""Latin-script company names taken apart: the same parts as a Chinese name, by words.

The words each part is recognised by (legal forms, industry and branch words) are the lists
in ``data/latin_*.txt``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from crmkit.domain.dedup import _places
from crmkit.domain.dedup.company import CompanyKey, NameParts, national_words
from crmkit.domain.dedup.text import squash, without_groups, word_list, word_map


# -- the word lists, read on first use -----------------------------------------------------
def _legal() -> Mapping[str, str]:
    """A legal form as written -> its normalised form (``limited`` -> ``ltd``)."""
    return word_map("latin_legal_forms")


def _branch() -> tuple[str, ...]:
    return word_list("latin_branch")


@functools.cache
def _industry() -> frozenset[str]:
    return frozenset(word_list("latin_industry"))


@functools.cache
def _latin_vocabulary() -> frozenset[str]:
    return frozenset(_legal()) | _industry() | frozenset(_branch())


# -- parsing ------------------------------------------------------------------------------
def _bracket_latin(content: str, parts: NameParts) -> str:
    legal = _legal()
    words = content.split()
    if not words or all(w in national_words() for w in words):
        return ""
    if all(w in legal for w in words):
        parts.legal.append(" ".join(legal[w] for w in words))
        return ""
    code = _places.whole_place("".join(words))
    if code is not None:
        parts.add_location(code)
        return ""
    if words[-1] in _branch() and parts.branch is None:
        parts.branch, parts.branch_location = _latin_branch(words[:-1], words[-1])
        return ""
    return " " + content + " "


def _latin_branch(qualifier: list[str], word: str) -> tuple[str, str | None]:
    code = _places.whole_place("".join(qualifier)) if qualifier else None
    if code is not None:
        return f"{_places.place_name(code)} {word}", code
    return " ".join([*qualifier, word]), None


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


def latin_key(text: str) -> CompanyKey:
    """The key of a Latin-script company name, ``text`` case-folded already."""
    legal_forms, branch_words, industry = _legal(), _branch(), _industry()
    parts = NameParts()
    words = _rejoined(squash(without_groups(text, _bracket_latin, parts, sep=" ")).split())
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    if len(words) > 1 and words[-1] in branch_words:
        head, word = words[:-1], words[-1]
        legal_at = max((i for i, w in enumerate(head) if w in legal_forms), default=-1)
        if legal_at > 0:
            words, qualifier = head[: legal_at + 1], head[legal_at + 1 :]
        elif len(head) > 1 and _places.whole_place(head[-1]) is not None:
            words, qualifier = head[:-1], head[-1:]
        else:
            words, qualifier = head, []
        parts.branch, parts.branch_location = _latin_branch(qualifier, word)
    legal: list[str] = []
    while len(words) > 1 and (words[-1] in legal_forms or (legal and words[-1] == "and")):
        word = words.pop()
        if word != "and":
            legal.insert(0, legal_forms[word])
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
    while len(trade) > 1 and trade[-1] in industry:
        trade.pop()
    industry_words = words[len(trade) :]
    brand = "".join(words)
    return CompanyKey(
        brand=brand,
        trade_name="".join(trade) or brand,
        industry_word=" ".join(industry_words) or None,
        legal_form=" ".join(parts.legal) or None,
        location=parts.location,
        branch=parts.branch,
        branch_location=parts.branch_location,
        brand_with_place=with_place,
        words=tuple(words),
    )
