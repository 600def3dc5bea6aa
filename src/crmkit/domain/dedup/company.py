"""A company name taken apart: the key that :func:`~crmkit.domain.dedup.keys.company_key`
returns, and what parsing sets aside on the way to it.

A Chinese enterprise name has four parts, in this order (企业名称登记管理规定):
行政区划 (place) · 字号 (trade name) · 行业 (industry) · 组织形式 (legal form), as in
青岛 · 金智 · 电子科技 · 有限公司. People move the place into brackets
(金智电子科技（青岛）有限公司), drop it, or vary the legal form, yet it is one company; a
branch (…有限公司青岛分公司) is a company of its own. Names are taken apart along these lines
(``company_cn`` for Chinese script, ``company_latin`` for Latin) so the matcher compares like
with like: the *brand* (trade name + industry) is what must agree, the place must not
contradict, and the legal form does not matter.
"""

from __future__ import annotations

import functools

import attrs

from crmkit.domain.dedup import _places
from crmkit.domain.dedup.text import word_list


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
class NameParts:
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


@functools.cache
def national_words() -> frozenset[str]:
    """Words in brackets that say nothing about which company it is: 金智（中国）投资有限公司."""
    return frozenset(word_list("national_words"))
