"""The in-memory generic repository: every :class:`EntitySpec` on dictionaries.

Records are kept as the frozen objects themselves (children included), in the same
overlays as the hand-written tables, so a unit of work sees its own writes and commits them
all or nothing. Filters are read with :func:`crmkit.storage.spec.matches`, the reading the
SQL backend's clauses must agree with.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from crmkit.domain.errors import FieldError, ValidationError
from crmkit.storage.fulltext import SearchHit, document, parse_query, windows
from crmkit.storage.fulltext import matches as fulltext_matches
from crmkit.storage.fulltext import score as fulltext_score
from crmkit.storage.memory.tables import (
    _MISSING,
    _deleted_ok,
    _insert,
    _Overlay,
    _page,
    _versioned_update,
)
from crmkit.storage.ports import EVERYTHING, EntityQuery, Page, Scope
from crmkit.storage.spec import (
    AggregateRow,
    EntitySpec,
    Filter,
    Group,
    Measure,
    Op,
    ScopeKind,
    aggregate_objects,
    check_aggregate,
    check_filter,
    check_order,
    column_value,
    matches,
)

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork

T = TypeVar("T")


def unique_error(spec: EntitySpec[Any], field: str, value: Any) -> ValidationError:
    """The error for a value taken in a ``unique`` field (both backends raise this)."""
    return ValidationError([FieldError(field, "taken", value, {"entity": spec.name})])


class MemoryRepository(Generic[T]):
    """``Repository[T]`` over one overlay of the memory store."""

    def __init__(self, uow: MemoryUnitOfWork, spec: EntitySpec[T], rows: _Overlay) -> None:
        self.spec = spec
        self._uow = uow
        self._rows = rows

    # -- writes ---------------------------------------------------------------------------
    def add(self, obj: T) -> None:
        self.check_unique(obj, self._rows.rows())
        _insert(self._uow, self._rows, self.spec.name, obj)

    def add_many(self, objs: Sequence[T]) -> None:
        for obj in objs:
            self.add(obj)

    def update(self, obj: T, expected_version: int) -> None:
        current = self._rows.current(obj.id)  # type: ignore[attr-defined]
        if current is not None and current.version == expected_version:
            # As on SQL: a missing or stale record is reported before a taken value.
            self.check_unique(obj, self._rows.rows())
        _versioned_update(self._rows, self.spec.name, obj, expected_version)

    def update_many(self, objs: Sequence[T], expected_versions: Sequence[int]) -> None:
        if len(objs) != len(expected_versions):
            raise ValueError("one expected version per object")
        for obj, expected in zip(objs, expected_versions, strict=True):
            self.update(obj, expected)

    def purge(self, ids: Sequence[str]) -> None:
        for id in ids:
            if self._rows.current(id) is not None:
                self._rows.remember_base(id)
                self._rows.written[id] = _MISSING

    def check_unique(self, obj: Any, rows: Any) -> None:
        """Refuse ``obj`` if a live record other than itself holds one of its unique values."""
        if not self.spec.unique or self._dead(obj):
            return
        for _, other in rows:
            if other.id == obj.id or self._dead(other):
                continue
            for field in self.spec.unique:
                value = getattr(obj, field)
                if value is not None and column_value(getattr(other, field)) == column_value(value):
                    raise unique_error(self.spec, field, value)

    def _dead(self, obj: Any) -> bool:
        return self.spec.soft_delete and obj.deleted_at is not None

    # -- reads ----------------------------------------------------------------------------
    def get(self, id: str, scope: Scope = EVERYTHING) -> T | None:
        obj: T | None = self._rows.current(id)
        if obj is None or not self.visible(obj, scope):
            return None
        return obj

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[T]:
        found = (self.get(i, scope) for i in dict.fromkeys(ids))
        return [obj for obj in found if obj is not None]

    def visible(self, obj: Any, scope: Scope) -> bool:
        rule = self.spec.scope
        if rule.kind is ScopeKind.EVERYONE:
            return True
        value = getattr(obj, rule.field) if rule.field else None
        if rule.kind is ScopeKind.GROUP:
            if scope.principals is None or value is None:
                return True
            assert rule.parent is not None
            assert rule.parent.members is not None
            group = self._uow.repo(rule.parent).get(value)
            tokens = getattr(group, rule.parent.members) if group is not None else ()
            return not tokens or bool(scope.principals.intersection(tokens))
        if scope.owner_ids is None:
            return True
        if rule.kind is ScopeKind.OWNER:
            members = (
                getattr(obj, self.spec.members) if rule.co_owners and self.spec.members else ()
            )
            return scope.allows(value, members)
        if value is None:
            return False
        if rule.kind is ScopeKind.CUSTOMER:
            return self._uow.customers.get(value, scope) is not None
        assert rule.parent is not None
        return self._uow.repo(rule.parent).get(value, scope) is not None

    def _matching(self, query: EntityQuery, scope: Scope) -> builtins.list[tuple[int, T]]:
        for f in query.filters:
            check_filter(self.spec, f)
        out = []
        for seq, obj in self._rows.rows():
            if self.spec.soft_delete and not _deleted_ok(obj.deleted_at, query.deleted):
                continue
            if all(matches(f, column_value(getattr(obj, f.field))) for f in query.filters):
                if query.text and not any(
                    matches(Filter(name, Op.CONTAINS, query.text), column_value(getattr(obj, name)))
                    for name in self.spec.text
                ):
                    continue
                if self.visible(obj, scope):
                    out.append((seq, obj))
        return out

    def list(self, query: EntityQuery, scope: Scope, *, after: str | None, limit: int) -> Page[T]:
        found = self._matching(query, scope)
        field = query.order_by
        if field is None:
            return _page(found, after, limit, self.spec.newest_first)
        check_order(self.spec, field)

        def key(row: tuple[int, Any]) -> tuple[Any, ...]:
            value = column_value(getattr(row[1], field))
            return (value is None, value if value is not None else 0, row[0])

        found.sort(key=key)
        if after is not None:
            # (a record gone from the store ends the listing: nothing to continue from)
            mark = next((row for row in self._rows.rows() if row[0] == int(after)), None)
            found = [row for row in found if mark is not None and key(row) > key(mark)]
        chunk = found[: limit + 1]
        more = len(chunk) > limit
        chunk = chunk[:limit]
        return Page(tuple(r[1] for r in chunk), str(chunk[-1][0]) if more and chunk else None)

    def count(self, query: EntityQuery, scope: Scope, *, cap: int | None = None) -> int:
        n = len(self._matching(query, scope))
        return n if cap is None else min(n, cap)

    def aggregate(
        self,
        query: EntityQuery,
        scope: Scope,
        *,
        by: Sequence[Group],
        measures: Sequence[Measure],
    ) -> builtins.list[AggregateRow]:
        check_aggregate(self.spec, by, measures)
        found = (obj for _, obj in self._matching(query, scope))
        return aggregate_objects(self.spec, found, by, measures)

    def search(
        self,
        text: str,
        scope: Scope,
        *,
        limit: int,
        filters: Sequence[Filter] = (),
    ) -> builtins.list[SearchHit[T]]:
        """The reference reading: every live record scanned with
        :func:`crmkit.storage.fulltext.matches` (no index: the memory store is small)."""
        fields = check_fulltext(self.spec)
        terms = parse_query(text)
        if not terms:
            return []
        found = []  # every live match, newest first (what the side index holds)
        for seq, obj in self._matching(EntityQuery(), EVERYTHING):
            doc = document(obj, fields)
            if fulltext_matches(doc, terms):
                found.append((seq, obj, doc))
        found.sort(key=lambda h: -h[0])
        passing = {seq for seq, _ in self._matching(EntityQuery(filters=tuple(filters)), scope)}
        for window in windows():  # ranked within the newest matches, as on SQL
            hits = [
                (fulltext_score(doc, terms), seq, obj)
                for seq, obj, doc in found[:window]
                if seq in passing
            ]
            if len(hits) >= limit or window >= len(found):
                break
        hits.sort(key=lambda h: (-h[0], -h[1]))
        return [SearchHit(obj, score) for score, _, obj in hits[:limit]]


def check_fulltext(spec: EntitySpec[Any]) -> tuple[str, ...]:
    """The spec's full-text fields; a spec without any cannot be searched."""
    if not spec.fulltext:
        raise ValueError(f"{spec.name} has no fulltext fields to search")
    return spec.fulltext


class MemoryNumbers:
    """Sequences kept on the store, taken under its lock: concurrent units of work get
    distinct numbers; a rolled-back one gives its numbers back when nobody took a later one."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.taken: builtins.list[tuple[tuple[str, int], int]] = []

    def next(self, prefix: str, year: int) -> int:
        store = self._uow._store
        with store._lock:
            sequences = store._tables.numbers
            number = sequences.get((prefix, year), 0) + 1
            sequences[(prefix, year)] = number
        self.taken.append(((prefix, year), number))
        return number

    def give_back(self) -> None:
        store = self._uow._store
        with store._lock:
            for key, number in reversed(self.taken):
                if store._tables.numbers.get(key) == number:
                    store._tables.numbers[key] = number - 1
        self.taken.clear()
