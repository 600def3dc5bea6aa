"""Place names inside company names: GB/T 2260 divisions found at a name's start, in its
brackets or before its branch word, in Chinese or in pinyin.

These helpers are private to the dedup package: the name parsers and the comparators use them.
"""

from __future__ import annotations

import functools
from typing import Final

from pypinyin import lazy_pinyin

from crmkit.domain.regions import regions_table

# GB/T 2260 pseudo-cities: "市辖区" and friends are table rows, not places anyone writes.
_PSEUDO: Final = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# A district standing alone (no province or city before it) counts only when written in full:
# short district names (长安, 城阳, 普陀 …) are too often the start of a trade name.
_DISTRICT_ENDINGS: Final = ("区", "县", "市", "旗")
_SHORT_SUFFIXES: Final = (
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "特别行政区",
    "自治区",
    "自治州",
    "地区",
    "省",
    "市",
    "盟",
)
_MAX_NAME = 12  # the longest division name in the table is shorter than this


def code_prefix(code: str) -> str:
    """The part of a code shared by everything inside the division."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def compatible(a: str, b: str) -> bool:
    """True if one division lies inside the other (青岛市 ⊃ 市南区 agree; 青岛, 济南 do not)."""
    return a.startswith(code_prefix(b)) or b.startswith(code_prefix(a))


def _within(code: str, parent: str | None) -> bool:
    if parent is None:
        return True
    return code.startswith(code_prefix(parent)) and len(code_prefix(code)) > len(
        code_prefix(parent)
    )


def _walk(
    s: str, pos: int, parent: str | None, level: int, *, loose: bool
) -> list[tuple[int, str]]:
    """Every (end, code) that a chain province → city → district starting at ``pos`` reaches.

    ``loose`` admits a short district name standing alone; only a whole bracket may use it.
    """
    table = regions_table()
    indexes = (table.provinces, table.cities, table.districts)
    found: list[tuple[int, str]] = []
    for lv in range(level, 3):
        for length in range(min(_MAX_NAME, len(s) - pos), 1, -1):
            candidate = s[pos : pos + length]
            codes = indexes[lv].get(candidate)
            if not codes or candidate in _PSEUDO:
                continue
            inside = [c for c in codes if _within(c, parent)]
            if not inside or (parent is None and len(set(inside)) > 1):
                continue  # unknown here, or ambiguous without a parent (two 朝阳区)
            if (
                lv == 2
                and parent is None
                and not loose
                and not candidate.endswith(_DISTRICT_ENDINGS)
            ):
                continue
            code = inside[0]
            found.append((pos + length, code))
            found.extend(_walk(s, pos + length, code, lv + 1, loose=loose))
    return found


def _finest(parses: list[tuple[int, str]]) -> tuple[int, str]:
    # Longest text first; among equal lengths the finest division (a district beats a city).
    return max(parses, key=lambda p: (p[0], len(code_prefix(p[1]))))


@functools.lru_cache(maxsize=65536)
def leading_place(s: str) -> tuple[int, str] | None:
    """The longest place chain at the start of ``s``: (characters used, code), or None."""
    parses = _walk(s, 0, None, 0, loose=False)
    return _finest(parses) if parses else None


@functools.lru_cache(maxsize=65536)
def whole_place(s: str) -> str | None:
    """The code if all of ``s`` is a place (山东青岛, 青岛市, 市南, qingdao), else None."""
    if not s:
        return None
    if s.isascii():
        return pinyin_places().get(s.replace(" ", ""))
    parses = [p for p in _walk(s, 0, None, 0, loose=True) if p[0] == len(s)]
    return _finest(parses)[1] if parses else None


def trailing_place(s: str, *, keep: int = 2) -> tuple[str, str] | None:
    """Split ``s`` into (head, place) when it ends with a place and ``keep`` characters remain."""
    for start in range(max(keep, len(s) - _MAX_NAME), len(s) - 1):
        code = whole_place(s[start:])
        if code is not None:
            return s[:start], s[start:]
    return None


def short_name(name: str) -> str:
    """青岛市 → 青岛, 广西壮族自治区 → 广西 (never below two characters)."""
    for suffix in _SHORT_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def place_name(code: str) -> str:
    """The table's name for a code."""
    return regions_table().names.get(code, code)


@functools.cache
def pinyin_places() -> dict[str, str]:
    """Provinces and cities by their pinyin (qingdao → 370200), built once on first use.

    A pinyin shared by divisions in two provinces (台州 and 泰州 are both taizhou) is left out;
    one shared by a province and its own city (jilin) means the province.
    """
    table = regions_table()
    by_pinyin: dict[str, set[str]] = {}
    for code, name in table.names.items():
        if not code.endswith("00") or name in _PSEUDO:
            continue
        key = "".join(lazy_pinyin(short_name(name)))
        by_pinyin.setdefault(key, set()).add(code)
    out: dict[str, str] = {}
    for key, codes in by_pinyin.items():
        if len({c[:2] for c in codes}) == 1:
            out[key] = min(codes, key=lambda c: len(code_prefix(c)))
    return out
