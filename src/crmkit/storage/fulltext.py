"""Full-text search, stated once for every backend: the tokeniser, the query and ``matches``.

An entity opts in with ``EntitySpec(..., fulltext=("title", "body", …))``; each backend keeps
a side index of the grams below and answers ``repo.search(text, scope, limit=…)`` from it.
What matches is defined here, as pure functions; the memory backend *is* this reading and
the SQL backends must agree with it (the contract suite checks).

**Grams.** Text is NFKC-normalised and case-folded, then cut into runs of letters and
digits. Chinese (and Japanese, Korean) is written without spaces, so a CJK run is indexed
as its overlapping character *bigrams* (门锁复位 → 门锁 锁复 复位), the approach of Lucene's
and Elasticsearch's CJK analyzer: it needs no dictionary, so there is no segmentation to get
wrong and no word it does not know (a new product name, a model number, a person's name is
found as well as any word), at the price of a larger index and some loose matches. A run of
two or more CJK characters also ends with its last character on its own (门锁 → 门锁 锁), so
that every character begins some gram: a one-character query then finds it by prefix
wherever it stands. Any other run of letters and digits is one lower-case word (``LK-100``
→ ``lk`` ``100``), cut to :data:`MAX_WORD` characters; a document keeps its first
:data:`MAX_GRAMS` grams (PostgreSQL's tsvector holds no position beyond 16383).

**Queries.** A query is split at white space into terms, and every term must match (AND);
"门锁 复位" finds the articles that contain both. A term is cut into grams the same way and
matches where its grams stand *adjacent* in the document, in order (a phrase), so "锁复位"
needs 锁复 followed by 复位. Within a term, a CJK run followed by more of the term keeps its
last character (it ends there in the document too); the term's last gram, when it is one
character, matches by prefix (锁 finds 锁具, 门锁 and 锁 alone; ``lk-1`` finds ``LK-100``).

So a query made of a document's own text, cut anywhere inside its Chinese and at word
boundaries elsewhere, always finds it (``tests/unit/test_fulltext.py`` checks it).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, Generic, TypeVar

import attrs

T = TypeVar("T")

MAX_WORD: Final = 60  # characters of a latin/digit word kept (PostgreSQL refuses > 2047 bytes)
MAX_GRAMS: Final = 16383  # grams of a document kept (tsvector positions end at 16383)
# Relevance is computed for the newest this-many matches, not all of them: ranking every
# one of 12,000 articles that contain 门锁 (of 100k) costs SQLite's bm25 12 ms and
# PostgreSQL's ts_rank 65 ms, while walking the index to the 500th newest match is a
# fraction of a millisecond on SQLite and ~2 ms on PostgreSQL (docs/benchmarks.md). Which
# records match never depends on it; a query with fewer matches is ranked whole.
RANK_WINDOW: Final = 500

# Han (with extension A, compatibility ideographs and the supplementary planes), kana and
# Hangul: the scripts written without spaces, bigrammed like Lucene's CJKBigramFilter.
_CJK = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0003134f]"
)


def normalize(text: str) -> str:
    """The form documents and queries are compared in: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def is_cjk(char: str) -> bool:
    return _CJK.match(char) is not None


@attrs.frozen
class Run:
    """A run of letters and digits of one kind: CJK characters, or a word."""

    text: str
    cjk: bool


def runs(text: str) -> list[Run]:
    """The runs of ``text`` once normalised, in order (anything not a letter or digit
    cuts)."""
    return _runs(normalize(text))


def _runs(normalized: str) -> list[Run]:
    out: list[Run] = []
    current: list[str] = []
    kind: bool | None = None
    for char in normalized:
        if not char.isalnum():
            _flush(out, current, kind)
            kind = None
            continue
        cjk = is_cjk(char)
        if kind is not None and cjk != kind:
            _flush(out, current, kind)
        current.append(char)
        kind = cjk
    _flush(out, current, kind)
    return out


def _flush(out: list[Run], current: list[str], kind: bool | None) -> None:
    if current and kind is not None:
        out.append(Run("".join(current), kind))
    current.clear()


def _run_grams(run: Run, *, tail: bool) -> list[str]:
    if not run.cjk:
        return [run.text[:MAX_WORD]]
    chars = run.text
    if len(chars) == 1:
        return [chars]
    grams = [chars[i : i + 2] for i in range(len(chars) - 1)]
    return [*grams, chars[-1]] if tail else grams


def grams(text: str) -> list[str]:
    """The indexed grams of a document, in order (positions count from 0)."""
    out: list[str] = []
    for run in runs(text):
        out += _run_grams(run, tail=True)
    return out[:MAX_GRAMS]


@attrs.frozen
class Term:
    """One term of a query: grams that must stand adjacent, the last one by prefix when
    ``prefix``."""

    grams: tuple[str, ...]
    prefix: bool


def parse_query(text: str) -> tuple[Term, ...]:
    """The terms of a query (none for a blank one: a blank query finds nothing)."""
    out: list[Term] = []
    for chunk in normalize(text).split():
        parts = _runs(chunk)
        found: list[str] = []
        for i, run in enumerate(parts):
            found += _run_grams(run, tail=i < len(parts) - 1)
        if found:
            out.append(Term(tuple(found), prefix=len(found[-1]) == 1))
    return tuple(dict.fromkeys(out))


def term_positions(doc: Sequence[str], term: Term) -> list[int]:
    """Where ``term`` starts in the document's grams ``doc``."""
    want = term.grams
    n = len(want)
    last = n - 1
    out = []
    for start in range(len(doc) - n + 1):
        if all(doc[start + i] == want[i] for i in range(last)) and (
            doc[start + last].startswith(want[last])
            if term.prefix
            else doc[start + last] == want[last]
        ):
            out.append(start)
    return out


def matches(text: str, query: str | Sequence[Term]) -> bool:
    """Whether ``query`` finds the document ``text``: the reference every backend's
    ``search`` agrees with."""
    terms = parse_query(query) if isinstance(query, str) else tuple(query)
    if not terms:
        return False
    doc = grams(text)
    return all(term_positions(doc, t) for t in terms)


def score(text: str, terms: Sequence[Term]) -> float:
    """The memory backend's relevance: occurrences of each term, dampened by the
    document's length (a rough tf-idf without the idf; SQL ranks with bm25 / ts_rank)."""
    doc = grams(text)
    if not doc:
        return 0.0
    hits = sum(len(term_positions(doc, t)) for t in terms)
    return hits / math.sqrt(len(doc))


def windows() -> Iterator[int]:
    """The sizes of the ranking window: :data:`RANK_WINDOW` newest matches, then wider
    while too few of those pass the search's filters and scope (×8 each time). Every
    backend ranks the matches passing the filters among the newest ``window`` matches of
    the query alone, and widens until ``limit`` pass or the window holds every match."""
    size = RANK_WINDOW
    while True:
        yield size
        size *= 8


def document(obj: Any, fields: Iterable[str]) -> str:
    """The indexed text of ``obj``: its ``fields`` (text, tuples of text, enums), one
    per line."""
    parts: list[str] = []
    for name in fields:
        value = getattr(obj, name)
        if value is None:
            continue
        if isinstance(value, tuple | list | frozenset | set):
            parts.append(" ".join(str(getattr(v, "value", v)) for v in value))
        else:
            parts.append(str(getattr(value, "value", value)))
    return "\n".join(parts)


@attrs.frozen
class SearchHit(Generic[T]):
    """One record a search found and its relevance (higher is better; comparable only
    within one search on one backend)."""

    item: T
    score: float


__all__ = [
    "MAX_GRAMS",
    "MAX_WORD",
    "RANK_WINDOW",
    "SearchHit",
    "Term",
    "document",
    "grams",
    "matches",
    "normalize",
    "parse_query",
    "runs",
    "score",
    "windows",
]
