"""Events, outbox and due jobs on SQL (the ports in ``crmkit.storage.queues``).

The tables live on the same ``metadata`` as the others (migration 0006 creates them).

Claiming is one statement, ``UPDATE … WHERE seq IN (SELECT seq … ORDER BY due LIMIT n)
RETURNING …``, committed by the caller on its own:

- PostgreSQL: the inner ``SELECT`` takes ``FOR UPDATE SKIP LOCKED``, so concurrent claimers
  lock disjoint rows instead of queueing behind each other (READ COMMITTED re-checks the
  outer ``WHERE`` on the locked rows).
- SQLite: the ``UPDATE`` opens ``BEGIN IMMEDIATE`` (see ``engine``), so the whole claim runs
  under the database's write lock and is a compare-and-set by construction; the status test
  in the outer ``WHERE`` keeps it one if a claim ever shares a transaction with other work.

The claimable rows are found through *partial* indexes on their due time (``WHERE status =
'pending'`` and the like), which hold only the rows waiting, not the done ones that pile up:
a claim's cost follows the due rows, not the table (``bench/bench_jobs.py`` measures it at
100k and 1M jobs). The status tests in the queries are SQL literals, not parameters, so that
SQLite's planner can match them with the indexes' own ``WHERE`` (it cannot prove that a
bound ``IN (?, ?)`` implies the index's condition; PostgreSQL, planning every statement with
its parameters' values here, could).
"""

from __future__ import annotations

import builtins
import enum
import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    case,
    column,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crmkit.storage.ports import Page
from crmkit.storage.queues import (
    Job,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    StoredEvent,
)
from crmkit.storage.sql.common import id_chunks, insert_many, one_of, page
from crmkit.storage.sql.rows import flat_row, from_flat_row
from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime, metadata

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork

# Status conditions of the partial indexes, written once: a query must state the same
# condition, as literal SQL, for SQLite to use the index (module docstring).
R = TypeVar("R")

_UNPUBLISHED = "published_at IS NULL"
_OUTBOX_PENDING = "status = 'pending'"
_OUTBOX_UNKNOWN = "status = 'unknown'"
_OUTBOX_SENDING = "status = 'sending'"
_JOBS_CLAIMABLE = "status IN ('pending', 'failed')"
_JOBS_RUNNING = "status = 'running'"
_KEY_LENGTH = 255


def _partial(name: str, table: Table, column: str, where: str) -> Index:
    condition = text(where)
    return Index(name, table.c[column], sqlite_where=condition, postgresql_where=condition)


events = Table(
    "events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("type", String(128), nullable=False),
    Column("payload", JSONType(), nullable=False),
    Column("actor_id", String(36), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
)
_partial("ix_events_unpublished", events, "seq", _UNPUBLISHED)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("key", String(_KEY_LENGTH), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("recipient", String(255), nullable=False),
    Column("payload", JSONType(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("checks", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime),
    Column("claimed_by", String(100)),
    Column("lease_until", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("reference", String(255)),
    Column("last_error", Text),
)
_partial("ix_outbox_pending_due", outbox, "due_at", _OUTBOX_PENDING)
_partial("ix_outbox_unknown_due", outbox, "due_at", _OUTBOX_UNKNOWN)
_partial("ix_outbox_sending_lease", outbox, "lease_until", _OUTBOX_SENDING)
Index("ix_outbox_status_seq", outbox.c.status, outbox.c.seq)

jobs = Table(
    "jobs",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("kind", String(64), nullable=False),
    Column("key", String(_KEY_LENGTH), nullable=False, unique=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("payload", JSONType(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(100)),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("done_at", UTCDateTime),
)
_partial("ix_jobs_claimable_due", jobs, "due_at", _JOBS_CLAIMABLE)
_partial("ix_jobs_running_lease", jobs, "lease_until", _JOBS_RUNNING)
Index("ix_jobs_status_seq", jobs.c.status, jobs.c.seq)


def _cond(sql: str) -> Any:
    return text(sql)


def _insert_new(uow: SqlUnitOfWork, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT rows, skipping any whose ``key`` is taken (ON CONFLICT DO NOTHING): one
    multi-row statement per thousand rows on PostgreSQL, one ``executemany`` on SQLite."""
    if not rows:
        return
    conn = uow.conn
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["key"])
    conn.execute(stmt, list(rows))


def _col(table: Table, name: str) -> Any:
    """``table``'s column ``name`` unqualified, with its type (bind and result processing):
    the claim's inner query names its columns so for SQLite's ``INDEXED BY`` source."""
    return column(name, table.c[name].type)


def _claim_stmt(
    uow: SqlUnitOfWork,
    table: Table,
    index: str,
    status: str,
    where: Sequence[Any],
    order: str,
    limit: int,
    values: Mapping[str, Any],
) -> Any:
    """``UPDATE table SET values`` for the first ``limit`` rows, by ``order``, meeting
    ``status`` (the literal condition of the partial index ``index``) and ``where`` (built
    from :func:`_col`), returning the rows claimed.

    PostgreSQL locks the rows in a materialized CTE, ``FOR UPDATE SKIP LOCKED``: written as
    ``WHERE seq IN (subquery … LIMIT n FOR UPDATE SKIP LOCKED)`` the planner may run the
    subquery more than once, each run skipping rows the last one locked, and claim more than
    ``n`` rows (measured: 10 of a limit of 6). SQLite reads through ``INDEXED BY index``:
    without statistics its planner prefers the status column's other index and sorts every
    waiting row, and with the hint a query the index cannot serve fails instead of
    scanning.
    """
    inner: Any = (
        select(column("seq")).where(_cond(status), *where).order_by(text(order)).limit(limit)
    )
    if uow.conn.dialect.name == "postgresql":
        picked = (
            inner.select_from(table)
            .with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
        return update(table).where(table.c.seq == picked.c.seq).values(**values).returning(table)
    inner = inner.select_from(text(f"{table.name} INDEXED BY {index}"))
    return (
        update(table).where(table.c.seq.in_(inner), _cond(status)).values(**values).returning(table)
    )


# -- events ------------------------------------------------------------------------------------
class SqlEvents:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def append_many(self, batch: Sequence[StoredEvent]) -> None:
        insert_many(self._uow.conn, events, [flat_row(e, skip=("seq",)) for e in batch])

    def claim_unpublished(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        after_seq: int = 0,
        take_held: bool = False,
    ) -> builtins.list[StoredEvent]:
        seq, lease = _col(events, "seq"), _col(events, "lease_until")
        where = [seq > after_seq]
        if not take_held:
            where.append(lease.is_(None) | (lease <= now))
        stmt = _claim_stmt(
            self._uow,
            events,
            "ix_events_unpublished",
            _UNPUBLISHED,
            where,
            "seq",
            limit,
            {"lease_until": lease_until},
        )
        claimed = [from_flat_row(StoredEvent, r._mapping) for r in self._uow.conn.execute(stmt)]
        return sorted(claimed, key=lambda e: e.seq)

    def mark_published(self, ids: Sequence[str], at: datetime) -> None:
        conn = self._uow.conn
        for chunk in id_chunks(conn, list(ids)):
            conn.execute(
                update(events)
                .where(one_of(conn, events.c.id, chunk), _cond(_UNPUBLISHED))
                .values(published_at=at, lease_until=None)
            )

    def list(
        self, *, unpublished: bool = False, after: str | None, limit: int
    ) -> Page[StoredEvent]:
        stmt = select(events)
        if unpublished:
            stmt = stmt.where(_cond(_UNPUBLISHED))
        return page(
            self._uow.conn,
            stmt,
            events.c.seq,
            after,
            limit,
            False,
            functools.partial(from_flat_row, StoredEvent),
        )


# -- what the outbox and the jobs share ---------------------------------------------------------
class _SqlQueue(Generic[R]):
    """Rows of one queue table: insert, read by id or key, page, count, and write back the
    columns a claim's outcome may change (``state``), under the caller's conditions."""

    table: Table
    record: type[R]
    state: tuple[str, ...]

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def add_many(self, batch: Sequence[R]) -> None:
        _insert_new(self._uow, self.table, [flat_row(r) for r in batch])

    def _one(self, condition: Any) -> R | None:
        row = self._uow.conn.execute(select(self.table).where(condition)).first()
        return None if row is None else from_flat_row(self.record, row._mapping)

    def get(self, id: str) -> R | None:
        return self._one(self.table.c.id == id)

    def get_by_key(self, key: str) -> R | None:
        return self._one(self.table.c.key == key)

    def _store_held(self, batch: Sequence[R], *held: Any) -> builtins.list[str]:
        """Store each item's state where the stored row still meets ``held`` (a claim):
        which rows do is read first, locked until the commit (SQLite: the unit of work
        holds the write lock once it writes), then one executemany writes them."""
        if len(batch) < 2:
            return [item.id for item in batch if self._store_where(item, *held)]  # type: ignore[attr-defined]
        conn = self._uow.conn
        table = self.table
        ids = [item.id for item in batch]  # type: ignore[attr-defined]
        ours = select(table.c.id).where(table.c.id.in_(ids), *held)
        if conn.dialect.name == "postgresql":
            ours = ours.with_for_update()
        kept = set(conn.execute(ours).scalars())
        mine = [item for item in batch if item.id in kept]  # type: ignore[attr-defined]
        if mine:
            stmt = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({k: bindparam(k) for k in self.state})
            )
            rows = []
            for item in mine:
                flat = flat_row(item)
                rows.append({**{k: flat[k] for k in self.state}, "_id": flat["id"]})
            conn.execute(stmt, rows)
        return [item.id for item in mine]  # type: ignore[attr-defined]

    def _store_where(self, item: R, *conditions: Any) -> bool:
        row = flat_row(item)
        result = self._uow.conn.execute(
            update(self.table)
            .where(self.table.c.id == row["id"], *conditions)
            .values({k: row[k] for k in self.state})
        )
        return result.rowcount == 1

    def _claimed(self, stmt: Any) -> builtins.list[R]:
        return [from_flat_row(self.record, r._mapping) for r in self._uow.conn.execute(stmt)]

    def list(self, *, status: enum.Enum | None = None, after: str | None, limit: int) -> Page[R]:
        stmt = select(self.table)
        if status is not None:
            stmt = stmt.where(self.table.c.status == status.value)
        convert = functools.partial(from_flat_row, self.record)
        return page(self._uow.conn, stmt, self.table.c.seq, after, limit, False, convert)

    def count(self, status: enum.Enum | None = None) -> int:
        stmt = select(func.count()).select_from(self.table)
        if status is not None:
            stmt = stmt.where(self.table.c.status == status.value)
        return int(self._uow.conn.execute(stmt).scalar_one())


# -- outbox ------------------------------------------------------------------------------------
# What a settle or a decision may change (never the key, recipient or payload).
_MESSAGE_STATE: tuple[str, ...] = (
    *("status", "attempts", "checks", "due_at", "claimed_by", "lease_until"),
    *("sent_at", "reference", "last_error"),
)


class SqlOutbox(_SqlQueue[OutboxMessage]):
    table = outbox
    record = OutboxMessage
    state = _MESSAGE_STATE

    def expire_claims(self, *, now: datetime, note: str) -> int:
        result = self._uow.conn.execute(
            update(outbox)
            .where(_cond(_OUTBOX_SENDING), outbox.c.lease_until <= now)
            .values(
                status=OutboxStatus.UNKNOWN.value,
                due_at=now,
                claimed_by=None,
                lease_until=None,
                last_error=note,
            )
        )
        return result.rowcount

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
        attempts: Any
        if status is OutboxStatus.PENDING:
            condition, index = _OUTBOX_PENDING, "ix_outbox_pending_due"
            attempts = outbox.c.attempts + 1  # claiming to send is an attempt
        elif status is OutboxStatus.UNKNOWN:
            condition, index = _OUTBOX_UNKNOWN, "ix_outbox_unknown_due"
            attempts = outbox.c.attempts  # asking about one is not
        else:
            raise ValueError(f"only pending or unknown messages are claimed, not {status}")
        where = [_col(outbox, "due_at") <= now]
        if channels is not None:
            where.append(_col(outbox, "channel").in_(sorted(channels)))
        stmt = _claim_stmt(
            self._uow,
            outbox,
            index,
            condition,
            where,
            "due_at",
            limit,
            {
                "status": OutboxStatus.SENDING.value,
                "claimed_by": claimed_by,
                "lease_until": lease_until,
                "attempts": attempts,
            },
        )
        return sorted(self._claimed(stmt), key=lambda m: (m.due_at or now, m.key))

    def settle(self, messages: Sequence[OutboxMessage], *, claimed_by: str) -> builtins.list[str]:
        return self._store_held(messages, _cond(_OUTBOX_SENDING), outbox.c.claimed_by == claimed_by)

    def decide(self, message: OutboxMessage, *, expected: OutboxStatus) -> bool:
        return self._store_where(message, outbox.c.status == expected.value)


# -- jobs --------------------------------------------------------------------------------------
_JOB_STATE = ("status", "attempts", "due_at", "claimed_by", "lease_until", "last_error", "done_at")


class SqlJobs(_SqlQueue[Job]):
    table = jobs
    record = Job
    state = _JOB_STATE

    def cancel(self, key: str) -> bool:
        result = self._uow.conn.execute(
            delete(jobs).where(
                jobs.c.key == key,
                jobs.c.status.not_in([JobStatus.DONE.value, JobStatus.DEAD.value]),
            )
        )
        return result.rowcount > 0

    def expire_claims(self, *, now: datetime, max_attempts: int, note: str) -> int:
        result = self._uow.conn.execute(
            update(jobs)
            .where(_cond(_JOBS_RUNNING), jobs.c.lease_until <= now)
            .values(
                status=case(
                    (jobs.c.attempts >= max_attempts, JobStatus.DEAD.value),
                    else_=JobStatus.FAILED.value,
                ),
                due_at=now,
                claimed_by=None,
                lease_until=None,
                last_error=note,
            )
        )
        return result.rowcount

    def claim(
        self,
        *,
        kinds: Collection[str],
        now: datetime,
        limit: int,
        claimed_by: str,
        lease_until: datetime,
    ) -> builtins.list[Job]:
        if not kinds:
            return []
        where = [_col(jobs, "due_at") <= now, _col(jobs, "kind").in_(sorted(kinds))]
        stmt = _claim_stmt(
            self._uow,
            jobs,
            "ix_jobs_claimable_due",
            _JOBS_CLAIMABLE,
            where,
            "due_at",
            limit,
            {
                "status": JobStatus.RUNNING.value,
                "claimed_by": claimed_by,
                "lease_until": lease_until,
                "attempts": jobs.c.attempts + 1,
            },
        )
        return sorted(self._claimed(stmt), key=lambda j: (j.due_at, j.key))

    def settle(self, job: Job, *, claimed_by: str) -> bool:
        return self._store_where(job, _cond(_JOBS_RUNNING), jobs.c.claimed_by == claimed_by)

    def settle_many(self, batch: Sequence[Job], *, claimed_by: str) -> builtins.list[str]:
        return self._store_held(batch, _cond(_JOBS_RUNNING), jobs.c.claimed_by == claimed_by)
