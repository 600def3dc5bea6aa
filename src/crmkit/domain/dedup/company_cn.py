"""Chinese-script company names taken apart: place, trade name, industry, legal form, branch.

The words each part is recognised by (legal forms, 行业 words, branch words) are the lists in
``data/cn_*.txt``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from crmkit.domain.dedup import _places
from crmkit.domain.dedup.company import CompanyKey, NameParts, national_words
from crmkit.domain.dedup.text import squash, without_groups, word_list, word_map


# -- the word lists, read on first use -----------------------------------------------------
def _legal() -> Mapping[str, str]:
    """组织形式 as written -> its normalised form."""
    return word_map("cn_legal_forms")


@functools.cache
def _legal_order() -> list[str]:
    # Longest first so 股份有限公司 is taken whole.
    return sorted(_legal(), key=len, reverse=True)


def _strong_branch() -> tuple[str, ...]:
    return word_list("cn_branch_strong")


def _weak_branch() -> tuple[str, ...]:
    return word_list("cn_branch_weak")


@functools.cache
def _industry() -> tuple[frozenset[str], list[int]]:
    """The 行业 words, and their lengths, longest first."""
    found = word_list("cn_industry")
    return frozenset(found), sorted({len(w) for w in found}, reverse=True)


# -- parsing ------------------------------------------------------------------------------
def _branch_text(qualifier: str, word: str) -> tuple[str, str | None]:
    """The branch written canonically (青岛分公司 and 青岛市分公司 agree) and its place."""
    code = _places.whole_place(qualifier) if qualifier else None
    if code is not None:
        return _places.place_name(code) + word, code
    return qualifier + word, None


def _last_legal_end(head: str) -> int:
    """Where the last legal form in ``head`` ends (金智有限公司|青岛), or 0 if there is none."""
    best = 0
    for form in _legal_order():
        if len(form) < 2 or form == "有限":
            continue
        at = head.rfind(form)
        if at > 0:
            best = max(best, at + len(form))
    return best


def _split_cn_branch(s: str, *, bracketed: bool) -> tuple[str, str, str] | None:
    """(parent, qualifier, branch word) when ``s`` names a branch, else None."""
    # "Strong" branch words always make a branch; "weak" ones (经营部, 店 …) are also how
    # sole traders name their only shop, so they make a branch only after a legal form
    # (…有限公司五四广场店) or inside brackets (海底捞（五四广场店）).
    for branch_words, weak in ((_strong_branch(), False), (_weak_branch(), True)):
        for word in branch_words:
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
    industry, lengths = _industry()
    trade = brand
    while trade:
        for length in lengths:
            if len(trade) >= length and trade[-length:] in industry:
                trade = trade[:-length]
                break
        else:
            break
    return trade, brand[len(trade) :]


# The country written into a name without brackets (联想中国, 中国联想): as in brackets
# (联想（中国）), it names the company's China entity, not another company, as long as a
# trade name remains (中国银行 stays: 银行 alone is an industry word). The name with it kept
# is the brand with place, which the comparator tries too.
_COUNTRY = ("中国", "中华")


def _strip_country(s: str) -> str:
    for word in _COUNTRY:
        if s.endswith(word) and len(s) - len(word) >= 2 and _split_industry(s[: -len(word)])[0]:
            return s[: -len(word)]
        if s.startswith(word) and len(s) - len(word) >= 2 and _split_industry(s[len(word) :])[0]:
            return s[len(word) :]
    return s


def _strip_cn_legal(s: str, parts: NameParts) -> str:
    legal = _legal()
    stripped: list[str] = []
    while True:
        for form in _legal_order():
            if s.endswith(form) and len(s) > len(form):
                s = s[: -len(form)]
                stripped.insert(0, legal[form])
                break
        else:
            break
    parts.legal[:0] = stripped
    return s


def _bracket_cn(content: str, parts: NameParts) -> str:
    """Classify one bracket's content; return what stays in the name."""
    text = content.replace(" ", "")
    if not text or text in national_words():
        return ""
    legal = _legal()
    if text in legal:
        parts.legal.append(legal[text])
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


def chinese_key(text: str) -> CompanyKey:
    """The key of a Chinese-script company name, ``text`` case-folded already."""
    parts = NameParts()
    s = squash(without_groups(text, _bracket_cn, parts)).replace(" ", "")
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
    s = _strip_country(s)
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
