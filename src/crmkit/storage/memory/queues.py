"""The memory store's events, outbox and jobs (the ports in ``crmkit.storage.queues``).

A unit of work writes into an overlay that its commit applies under the store's lock, as
for the other tables. Claims behave as PostgreSQL's ``FOR UPDATE SKIP LOCKED``: a unit of
work that claims or settles a row holds a lock on it until it commits or rolls back; other
claimers skip locked rows, other writers of the row wait for it. So two workers never hold
the same row, and a settle that finds its claim gone says so instead of overwriting.
"""

from __future__ import annotations

import builtins
import enum
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from crmkit.domain.errors import ConcurrencyError
from crmkit.storage.ports import Page
from crmkit.storage.queues import (
    CLAIMABLE_JOBS,
    Job,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    StoredEvent,
)

R = TypeVar("R", OutboxMessage, Job)
P = TypeVar("P")
_GONE: Any = object()  # a deleted row in an overlay
# A writer waits this long for a row another unit of work holds (a deadlock between two
# units of work would otherwise hang both; PostgreSQL would break it by failing one).
_ROW_LOCK_TIMEOUT_S = 10.0


@attrs.define
class _Rows(Generic[R]):
    """Committed rows of one table: id -> row, id -> seq (insertion order), key -> id."""

    rows: dict[str, R] = attrs.Factory(dict)
    seqs: dict[str, int] = attrs.Factory(dict)
    keys: dict[str, str] = attrs.Factory(dict)


class QueueTables:
    """The committed events, outbox and jobs of a memory store, and its row locks."""

    def __init__(self) -> None:
        self.events: dict[str, StoredEvent] = {}  # insertion (seq) order
        self.event_seq = 0
        self.outbox: _Rows[OutboxMessage] = _Rows()
        self.jobs: _Rows[Job] = _Rows()
        self.seq = 0
        # (table, id) -> the overlay of the unit of work holding the row.
        self.owners: dict[tuple[str, str], object] = {}


@attrs.define
class _Pending(Generic[R]):
    """One table's writes in a unit of work: changed or new rows (``_GONE`` when deleted),
    and the seqs of the new ones."""

    rows: dict[str, Any] = attrs.Factory(dict)
    new: dict[str, int] = attrs.Factory(dict)


class QueueOverlay:
    """The writes of one unit of work to the three tables, applied by its commit.

    Args:
        tables: the store's committed rows.
        lock: the store's lock (held by the caller of :meth:`apply`).
        released: a condition on ``lock``, notified when rows are released.
    """

    def __init__(
        self, tables: QueueTables, lock: threading.RLock, released: threading.Condition
    ) -> None:
        self.tables = tables
        self.lock = lock
        self.released = released
        self.new_events: list[StoredEvent] = []
        self.events: dict[str, StoredEvent] = {}
        self.outbox: _Pending[OutboxMessage] = _Pending()
        self.jobs: _Pending[Job] = _Pending()
        self.held: set[tuple[str, str]] = set()

    # -- row locks (call with the lock held) ---------------------------------------------------
    def free(self, table: str, id: str) -> bool:
        return self.tables.owners.get((table, id), self) is self

    def hold(self, table: str, ids: Iterable[str]) -> None:
        for id in ids:
            self.tables.owners[(table, id)] = self
            self.held.add((table, id))

    def wait_for(self, table: str, ids: Collection[str]) -> None:
        """Hold ``ids``, waiting while another unit of work holds any of them."""
        if not self.released.wait_for(
            lambda: all(self.free(table, id) for id in ids), timeout=_ROW_LOCK_TIMEOUT_S
        ):
            raise ConcurrencyError(table, next(iter(ids), "?"), 0, None)
        self.hold(table, ids)

    # -- commit and rollback --------------------------------------------------------------------
    def apply(self) -> None:
        """Make the writes committed (the caller holds the store's lock)."""
        t = self.tables
        t.events.update(self.events)
        for event in self.new_events:
            t.event_seq += 1
            t.events[event.id] = attrs.evolve(event, seq=t.event_seq)
        _apply(t.outbox, self.outbox)
        _apply(t.jobs, self.jobs)

    def clear(self) -> None:
        """Forget the writes and release the rows held (commit and rollback end here)."""
        with self.lock:
            owners = self.tables.owners
            for row in self.held:
                if owners.get(row) is self:
                    del owners[row]
            if self.held:
                self.released.notify_all()
        self.held = set()
        self.new_events = []
        self.events = {}
        self.outbox = _Pending()
        self.jobs = _Pending()


def _apply(committed: _Rows[R], pending: _Pending[R]) -> None:
    for id, row in pending.rows.items():
        if row is _GONE:
            old = committed.rows.pop(id, None)
            committed.seqs.pop(id, None)
            if old is not None and committed.keys.get(old.key) == id:
                del committed.keys[old.key]
        elif id in pending.new:
            # Another unit of work stored the key since this one looked: keep the first, as
            # the SQL stores' ON CONFLICT DO NOTHING does.
            if row.key in committed.keys:
                continue
            committed.rows[id] = row
            committed.seqs[id] = pending.new[id]
            committed.keys[row.key] = id
        else:
            committed.rows[id] = row


def _page(rows: list[tuple[int, P]], after: str | None, limit: int) -> Page[P]:
    rows.sort(key=lambda r: r[0])
    if after is not None:
        rows = [r for r in rows if r[0] > int(after)]
    chunk = rows[: limit + 1]
    more = len(chunk) > limit
    chunk = chunk[:limit]
    return Page(tuple(r[1] for r in chunk), str(chunk[-1][0]) if more and chunk else None)


# -- events ------------------------------------------------------------------------------------
class MemoryEvents:
    def __init__(self, overlay: QueueOverlay) -> None:
        self._o = overlay

    def _overlay(self) -> QueueOverlay:
        return self._o

    def append_many(self, events: Sequence[StoredEvent]) -> None:
        self._overlay().new_events.extend(events)

    def _current(self, o: QueueOverlay) -> list[StoredEvent]:
        committed = [o.events.get(id, e) for id, e in o.tables.events.items()]
        start = o.tables.event_seq
        return committed + [
            attrs.evolve(e, seq=start + i) for i, e in enumerate(o.new_events, start=1)
        ]

    def claim_unpublished(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        after_seq: int = 0,
        take_held: bool = False,
    ) -> builtins.list[StoredEvent]:
        o = self._overlay()
        taken: list[StoredEvent] = []
        with o.lock:
            for event in o.tables.events.values():
                if len(taken) >= limit:
                    break
                current = o.events.get(event.id, event)
                if (
                    current.seq <= after_seq
                    or current.published_at is not None
                    or not o.free("events", current.id)
                    or not (take_held or current.lease_until is None or current.lease_until <= now)
                ):
                    continue
                o.hold("events", [current.id])
                claimed = attrs.evolve(current, lease_until=lease_until)
                o.events[current.id] = claimed
                taken.append(claimed)
        return taken

    def mark_published(self, ids: Sequence[str], at: datetime) -> None:
        o = self._overlay()
        with o.lock:
            known = [id for id in ids if id in o.tables.events]
            o.wait_for("events", known)
            for id in known:
                current = o.events.get(id, o.tables.events[id])
                if current.published_at is None:
                    o.events[id] = attrs.evolve(current, published_at=at, lease_until=None)
        mine = set(ids)
        o.new_events = [
            attrs.evolve(e, published_at=at, lease_until=None)
            if e.id in mine and e.published_at is None
            else e
            for e in o.new_events
        ]

    def list(
        self, *, unpublished: bool = False, after: str | None, limit: int
    ) -> Page[StoredEvent]:
        o = self._overlay()
        with o.lock:
            rows = [
                (e.seq, e) for e in self._current(o) if not unpublished or e.published_at is None
            ]
        return _page(rows, after, limit)


# -- outbox and jobs: shared row handling -------------------------------------------------------
def _status(row: Any) -> enum.Enum:
    status: enum.Enum = row.status
    return status


class _Queue(Generic[R]):
    table = ""

    def __init__(self, overlay: QueueOverlay) -> None:
        self._o = overlay

    def _overlay(self) -> QueueOverlay:
        return self._o

    def _parts(self, o: QueueOverlay) -> tuple[_Rows[R], _Pending[R]]:
        raise NotImplementedError

    def _current(self, o: QueueOverlay, id: str) -> R | None:
        committed, pending = self._parts(o)
        row = pending.rows.get(id, committed.rows.get(id))
        return None if row is _GONE else row

    def _all(self, o: QueueOverlay) -> builtins.list[tuple[int, R]]:
        committed, pending = self._parts(o)
        out: builtins.list[tuple[int, R]] = []
        for id, row in committed.rows.items():
            current = pending.rows.get(id, row)
            if current is not _GONE:
                out.append((committed.seqs[id], current))
        for id, seq in pending.new.items():
            current = pending.rows[id]
            if current is not _GONE:
                out.append((seq, current))
        return out

    def add_many(self, rows: Sequence[R]) -> None:
        o = self._overlay()
        _committed, pending = self._parts(o)
        with o.lock:
            keys = {r.key for _, r in self._all(o)}
            for row in rows:
                if row.key in keys:
                    continue
                keys.add(row.key)
                o.tables.seq += 1
                pending.rows[row.id] = row
                pending.new[row.id] = o.tables.seq

    def get(self, id: str) -> R | None:
        o = self._overlay()
        with o.lock:
            return self._current(o, id)

    def get_by_key(self, key: str) -> R | None:
        o = self._overlay()
        with o.lock:
            return next((r for _, r in self._all(o) if r.key == key), None)

    def list(self, *, status: enum.Enum | None = None, after: str | None, limit: int) -> Page[R]:
        o = self._overlay()
        with o.lock:
            rows = [r for r in self._all(o) if status is None or _status(r[1]) is status]
        return _page(rows, after, limit)

    def count(self, status: enum.Enum | None = None) -> int:
        o = self._overlay()
        with o.lock:
            return sum(1 for _, r in self._all(o) if status is None or _status(r) is status)

    def _claim(
        self,
        o: QueueOverlay,
        ok: Callable[[R], bool],
        due: Callable[[R], datetime],
        limit: int,
        change: Callable[[R], R],
    ) -> builtins.list[R]:
        committed, pending = self._parts(o)
        with o.lock:
            # Committed rows only: a row this unit of work added is not claimable before
            # its commit, as on SQL, where another transaction cannot see it.
            candidates = sorted(
                (
                    (due(row), committed.seqs[row.id], row)
                    for _, row in self._all(o)
                    if row.id in committed.rows and ok(row) and o.free(self.table, row.id)
                ),
                key=lambda c: (c[0], c[1]),
            )[:limit]
            claimed = [change(row) for _, _, row in candidates]
            o.hold(self.table, [row.id for row in claimed])
            for row in claimed:
                pending.rows[row.id] = row
        return claimed

    def _settle(self, row: R, ok: Callable[[R], bool]) -> bool:
        o = self._overlay()
        _committed, pending = self._parts(o)
        with o.lock:
            o.wait_for(self.table, [row.id])
            current = self._current(o, row.id)
            if current is None or not ok(current):
                return False
            pending.rows[row.id] = row
            return True

    def _expire(self, o: QueueOverlay, ok: Callable[[R], bool], change: Callable[[R], R]) -> int:
        _committed, pending = self._parts(o)
        with o.lock:
            expired = [r for _, r in self._all(o) if ok(r) and o.free(self.table, r.id)]
            o.hold(self.table, [r.id for r in expired])
            for row in expired:
                pending.rows[row.id] = change(row)
        return len(expired)


class MemoryOutbox(_Queue[OutboxMessage]):
    table = "outbox"

    def _parts(self, o: QueueOverlay) -> tuple[_Rows[OutboxMessage], _Pending[OutboxMessage]]:
        return o.tables.outbox, o.outbox

    def expire_claims(self, *, now: datetime, note: str) -> int:
        return self._expire(
            self._overlay(),
            lambda m: (
                m.status is OutboxStatus.SENDING
                and m.lease_until is not None
                and m.lease_until <= now
            ),
            lambda m: attrs.evolve(
                m,
                status=OutboxStatus.UNKNOWN,
                due_at=now,
                claimed_by=None,
                lease_until=None,
                last_error=note,
            ),
        )

    def claim(
        self,
        status: OutboxStatus,
        *,
        channels: Collection[str] | None,
        now: datetime,
        limit: int,
        claimed_by: str,
        lease_until: datetime,
    ) -> builtins.list[OutboxMessage]:
        counted = 1 if status is OutboxStatus.PENDING else 0
        return self._claim(
            self._overlay(),
            lambda m: (
                m.status is status
                and m.due_at is not None
                and m.due_at <= now
                and (channels is None or m.channel in channels)
            ),
            lambda m: m.due_at or now,
            limit,
            lambda m: attrs.evolve(
                m,
                status=OutboxStatus.SENDING,
                claimed_by=claimed_by,
                lease_until=lease_until,
                attempts=m.attempts + counted,
            ),
        )

    def settle(self, messages: Sequence[OutboxMessage], *, claimed_by: str) -> builtins.list[str]:
        return [
            m.id
            for m in messages
            if self._settle(
                m, lambda c: c.status is OutboxStatus.SENDING and c.claimed_by == claimed_by
            )
        ]

    def decide(self, message: OutboxMessage, *, expected: OutboxStatus) -> bool:
        return self._settle(message, lambda c: c.status is expected)


class MemoryJobs(_Queue[Job]):
    table = "jobs"

    def _parts(self, o: QueueOverlay) -> tuple[_Rows[Job], _Pending[Job]]:
        return o.tables.jobs, o.jobs

    def cancel(self, key: str) -> bool:
        o = self._overlay()
        _committed, pending = self._parts(o)
        with o.lock:
            job = self.get_by_key(key)
            if job is None:
                return False
            o.wait_for(self.table, [job.id])
            current = self._current(o, job.id)
            if current is None or current.status in (JobStatus.DONE, JobStatus.DEAD):
                return False
            if job.id in pending.new:  # scheduled by this unit of work: never stored
                del pending.new[job.id]
                del pending.rows[job.id]
            else:
                pending.rows[job.id] = _GONE
            return True

    def expire_claims(self, *, now: datetime, max_attempts: int, note: str) -> int:
        return self._expire(
            self._overlay(),
            lambda j: (
                j.status is JobStatus.RUNNING and j.lease_until is not None and j.lease_until <= now
            ),
            lambda j: attrs.evolve(
                j,
                status=JobStatus.DEAD if j.attempts >= max_attempts else JobStatus.FAILED,
                due_at=now,
                claimed_by=None,
                lease_until=None,
                last_error=note,
            ),
        )

    def claim(
        self,
        *,
        kinds: Collection[str],
        now: datetime,
        limit: int,
        claimed_by: str,
        lease_until: datetime,
    ) -> builtins.list[Job]:
        return self._claim(
            self._overlay(),
            lambda j: j.status in CLAIMABLE_JOBS and j.due_at <= now and j.kind in kinds,
            lambda j: j.due_at,
            limit,
            lambda j: attrs.evolve(
                j,
                status=JobStatus.RUNNING,
                claimed_by=claimed_by,
                lease_until=lease_until,
                attempts=j.attempts + 1,
            ),
        )

    def settle(self, job: Job, *, claimed_by: str) -> bool:
        return self._settle(
            job, lambda c: c.status is JobStatus.RUNNING and c.claimed_by == claimed_by
        )

    def settle_many(self, jobs: Sequence[Job], *, claimed_by: str) -> list[str]:
        return [j.id for j in jobs if self.settle(j, claimed_by=claimed_by)]
