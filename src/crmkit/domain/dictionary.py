"""The data dictionary (数据字典, seed 002): the choice lists a CRM's free-text fields draw
from, such as 来源 (source), 行业 (industry), customer tags and lost reasons.

A list with no active entry is open: any text goes, as before a dictionary existed. Once an
admin gives it entries it is closed: a value must be one of them, or one of their aliases
(what imports and people type: 网络 for 网络推广), and is stored as the entry's value, so
the dashboard counts one 网络推广 instead of three spellings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.errors import FieldErrors

# The lists crmkit's own entities use: list code -> the field it governs on a customer.
# (Later issues add theirs: lost reasons on opportunities, ticket types on tickets.)
CUSTOMER_LISTS: Final[Mapping[str, str]] = {
    "source": "source",
    "industry": "industry",
    "tag": "tags",
}
KNOWN_LISTS: Final[Mapping[str, tuple[str, str]]] = {
    "source": ("source", "来源"),
    "industry": ("industry", "行业"),
    "tag": ("customer tag", "客户标签"),
    "lost_reason": ("lost reason", "丢单原因"),
}
_LIST_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@attrs.frozen(kw_only=True)
class DictionaryEntry:
    """One choice of one list.

    Attributes:
        list: the list's code (``source``, ``industry``, ``tag``, ``lost_reason`` or an
            application's own).
        value: the choice as stored and shown (网络推广).
        aliases: other spellings that mean it (网络, 网推); imports and forms map them.
        sort: its place in the list (then by value).
        active: inactive choices stay on old records but are not offered or accepted.
    """

    id: str
    list: str
    value: str
    aliases: tuple[str, ...] = ()
    sort: int = 0
    active: bool = True
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None


def _list_code(raw: Any, errors: FieldErrors, path: str) -> str | None:
    text = str(raw).strip().lower() if raw is not None else ""
    if not text:
        return None
    if not _LIST_CODE.match(text):
        errors.add(path, "dictionary.list_code", raw)
        return None
    return text


_SEPARATORS = re.compile(r"[,，、;；\n]")


def _aliases(raw: Any, errors: FieldErrors, path: str) -> tuple[str, ...]:
    """Other spellings, from a list or a text separated by , ， 、 or ;."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ()
    items = _SEPARATORS.split(raw) if isinstance(raw, str) else [str(i) for i in raw]
    out: list[str] = []
    for item in items:
        alias = " ".join(unicodedata.normalize("NFKC", item).split())
        if not alias:
            continue
        if len(alias) > 50:
            errors.add(path, "too_long", item, max=50)
        elif alias not in out:
            out.append(alias)
    return tuple(out)


DICTIONARY_FIELDS: Final = (
    f.InputField("list", _list_code, required=True, editable=False),
    f.text("value", 50, required=True),
    f.InputField("aliases", _aliases, default=(), kind="tokens"),
    f.integer("sort", default=0),
    f.boolean("active", default=True),
)


def key(text: str) -> str:
    """How a choice is matched: width and case folded, spaces dropped (``Ｗｅｂ 推广`` and
    ``web推广`` are one)."""
    return "".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


@attrs.frozen
class Vocabulary:
    """The closed lists at one moment: for each list with active entries, every spelling
    (value or alias, as :func:`key`) -> the value it stands for, and the values in order.

    Built by the workflows from the store and handed to the pure parsers (and to an
    import's worker processes), so checking a row needs no database.
    """

    lookup: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    values: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    @classmethod
    def of(cls, entries: Iterable[DictionaryEntry]) -> Vocabulary:
        """From entries (inactive and deleted ones are left out)."""
        live = sorted(
            (e for e in entries if e.active and e.deleted_at is None),
            key=lambda e: (e.list, e.sort, e.value),
        )
        lookup: dict[str, dict[str, str]] = {}
        values: dict[str, list[str]] = {}
        for e in live:
            values.setdefault(e.list, []).append(e.value)
            spellings = lookup.setdefault(e.list, {})
            for spelling in (e.value, *e.aliases):
                spellings.setdefault(key(spelling), e.value)
        return cls(lookup, {k: tuple(v) for k, v in values.items()})

    def closed(self, list_code: str) -> bool:
        """Does the list restrict its field (it has an active entry)?"""
        return bool(self.values.get(list_code))

    def resolve(self, list_code: str, raw: str, errors: FieldErrors, path: str) -> str | None:
        """The value ``raw`` stands for in a closed list (``raw`` itself in an open one);
        an unknown spelling is reported in ``errors`` with the list's values."""
        if not self.closed(list_code):
            return raw
        found = self.lookup[list_code].get(key(raw))
        if found is None:
            shown = self.values[list_code]
            choices = "、".join(shown[:20]) + ("……" if len(shown) > 20 else "")
            errors.add(path, "dictionary.unknown", raw, choices=choices)
        return found


def check_entry(
    entry: DictionaryEntry, others: Iterable[DictionaryEntry], errors: FieldErrors
) -> None:
    """No two live entries of one list share a spelling (a value or an alias)."""
    taken: dict[str, str] = {}
    for other in others:
        if other.id == entry.id or other.list != entry.list or other.deleted_at is not None:
            continue
        for spelling in (other.value, *other.aliases):
            taken.setdefault(key(spelling), other.value)
    if key(entry.value) in taken:
        errors.add("value", "dictionary.taken", entry.value, other=taken[key(entry.value)])
    for alias in entry.aliases:
        if key(alias) in taken:
            errors.add("aliases", "dictionary.taken", alias, other=taken[key(alias)])
