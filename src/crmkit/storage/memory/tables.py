"""The memory store's committed tables and a unit of work's overlay on them, with the
helpers every repository writes, reads and pages through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from crmkit.domain.audit import AuditEntry
from crmkit.domain.customer import Customer
from crmkit.domain.errors import ConcurrencyError, NotFound
from crmkit.domain.imports import ImportJob, RowResult
from crmkit.domain.user import Credentials
from crmkit.storage.ports import Decision, Deleted, IndexEntry, Page, StoredPair

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork

T = TypeVar("T")
_MISSING: Any = object()  # marks a purged row in an overlay


@attrs.define
class _Tables:
    customers: dict[str, Customer] = attrs.Factory(dict)
    customer_seq: dict[str, int] = attrs.Factory(dict)
    credentials: dict[str, Credentials] = attrs.Factory(dict)
    audit: list[AuditEntry] = attrs.Factory(list)
    jobs: dict[str, ImportJob] = attrs.Factory(dict)
    job_seq: dict[str, int] = attrs.Factory(dict)
    job_rows: dict[tuple[str, int], RowResult] = attrs.Factory(dict)
    # The duplicate index: (kind, id) -> entry; key -> ids; (kind, left, right) -> pair.
    dedup_entries: dict[tuple[str, str], IndexEntry] = attrs.Factory(dict)
    dedup_keys: dict[int, set[str]] = attrs.Factory(dict)
    dedup_pairs: dict[tuple[str, str, str], StoredPair] = attrs.Factory(dict)
    dedup_decisions: dict[tuple[str, str, str], Decision] = attrs.Factory(dict)
    dedup_formats: dict[str, int] = attrs.Factory(dict)
    # Generic entities (storage.spec): table -> id -> object, and their seqs.
    entities: dict[str, dict[str, Any]] = attrs.Factory(dict)
    entity_seqs: dict[str, dict[str, int]] = attrs.Factory(dict)
    numbers: dict[tuple[str, int], int] = attrs.Factory(dict)
    next_seq: int = 1


def _page(rows: list[tuple[int, T]], after: str | None, limit: int, descending: bool) -> Page[T]:
    rows.sort(key=lambda r: r[0], reverse=descending)
    if after is not None:
        mark = int(after)
        rows = [r for r in rows if (r[0] < mark if descending else r[0] > mark)]
    chunk = rows[: limit + 1]
    more = len(chunk) > limit
    chunk = chunk[:limit]
    return Page(tuple(r[1] for r in chunk), str(chunk[-1][0]) if more and chunk else None)


def _deleted_ok(deleted_at: Any, mode: Deleted) -> bool:
    if mode == Deleted.INCLUDE:
        return True
    if mode == Deleted.ONLY:
        return deleted_at is not None
    return deleted_at is None


class _Overlay:
    """Pending writes of one table: id -> new row (or ``_MISSING`` when purged)."""

    def __init__(self, committed: dict[str, Any], seqs: dict[str, int]) -> None:
        self.committed = committed
        self.seqs = seqs
        self.written: dict[str, Any] = {}
        self.new_seqs: dict[str, int] = {}
        self.base_versions: dict[str, int | None] = {}

    def current(self, id: str) -> Any:
        if id in self.written:
            row = self.written[id]
            return None if row is _MISSING else row
        return self.committed.get(id)

    def seq(self, id: str) -> int:
        return self.new_seqs.get(id) or self.seqs[id]

    def rows(self) -> Iterable[tuple[int, Any]]:
        for id, row in self.committed.items():
            if id not in self.written:
                yield self.seqs[id], row
        for id, row in self.written.items():
            if row is not _MISSING:
                yield self.seq(id), row

    def remember_base(self, id: str) -> None:
        if id not in self.base_versions:
            row = self.committed.get(id)
            self.base_versions[id] = None if row is None else row.version

    def conflicts(self) -> ConcurrencyError | None:
        for id, base in self.base_versions.items():
            row = self.committed.get(id)
            now = None if row is None else row.version
            if now != base:
                return ConcurrencyError("record", id, base or 0, now)
        return None

    def apply(self) -> None:
        for id, row in self.written.items():
            if row is _MISSING:
                self.committed.pop(id, None)
                self.seqs.pop(id, None)
            else:
                self.committed[id] = row
                if id in self.new_seqs:
                    self.seqs[id] = self.new_seqs[id]


def _versioned_update(overlay: _Overlay, entity: str, obj: Any, expected_version: int) -> None:
    current = overlay.current(obj.id)
    if current is None:
        raise NotFound(entity, obj.id)
    if current.version != expected_version:
        raise ConcurrencyError(entity, obj.id, expected_version, current.version)
    overlay.remember_base(obj.id)
    overlay.written[obj.id] = obj


def _insert(uow: MemoryUnitOfWork, overlay: _Overlay, entity: str, obj: Any) -> None:
    if overlay.current(obj.id) is not None:
        raise ConcurrencyError(entity, obj.id, 0, overlay.current(obj.id).version)
    overlay.remember_base(obj.id)
    overlay.written[obj.id] = obj
    overlay.new_seqs[obj.id] = uow._next_seq()


class _Versioned(Generic[T]):
    """add / get / update of one versioned entity kept in an overlay."""

    entity = ""

    def __init__(self, uow: MemoryUnitOfWork, rows: _Overlay) -> None:
        self._uow = uow
        self._rows = rows

    def add(self, obj: T) -> None:
        _insert(self._uow, self._rows, self.entity, obj)

    def get(self, id: str) -> T | None:
        found: T | None = self._rows.current(id)
        return found

    def update(self, obj: T, expected_version: int) -> None:
        _versioned_update(self._rows, self.entity, obj, expected_version)
