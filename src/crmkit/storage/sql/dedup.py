"""The duplicate index, co-ownership requests and import jobs in SQL.

The index is four tables (see ``tables``): ``dedup_entries`` (one encoded match record per
customer or contact), ``dedup_keys`` (its blocking keys as 64-bit hashes, primary key
``(key, entity_id)`` so a lookup is an index range per key), ``dedup_pairs`` (compared
pairs: duplicates and vetoed pairs) and ``dedup_decisions`` (reviewers' verdicts).

Locking: on PostgreSQL a duplicate check takes transaction-scoped advisory locks on the new
record's key hashes, in ascending order (so two lockers cannot deadlock), and holds them to
commit: two sessions writing the same company serialise on the shared keys, and the second
one's check sees the first one's committed index rows (READ COMMITTED reads a fresh snapshot
per statement). SQLite has one writer at a time: the lock takes the database's write lock.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError

from crmkit.domain.imports import (
    ImportJob,
    ImportStatus,
    RowResult,
    result_from_plain,
    result_to_plain,
)
from crmkit.domain.sharing import CoOwnershipRequest, RequestStatus
from crmkit.storage.ports import (
    Candidate,
    Decision,
    ImportQuery,
    IndexEntry,
    KeyHolder,
    Page,
    RequestQuery,
    StoredPair,
    Verdict,
)
from crmkit.storage.sql.common import (
    bulk_columns,
    cas_update,
    chunks,
    id_chunks,
    insert_many,
    one_of,
    page,
    raise_taken,
)
from crmkit.storage.sql.engine import begin_writing
from crmkit.storage.sql.rows import json_value
from crmkit.storage.sql.tables import (
    co_ownership_requests,
    dedup_decisions,
    dedup_entries,
    dedup_keys,
    dedup_pairs,
    import_jobs,
    import_rows,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from crmkit.storage.sql.store import SqlUnitOfWork

_LOCK = select(func.pg_advisory_xact_lock(bindparam("k")))

# A key's first holders (see ``SqlDedup.lookup``). PostgreSQL joins each key to its first
# rows laterally. SQLite has no LATERAL: each key's rows are bounded by its per_key-th holder,
# found by an index seek (a key with fewer holders keeps them all: no id sorts after
# U+10FFFF), so the join reads an index range per key either way.
_PG_LOOKUP = (
    "SELECT ks.key, h.entity_id, h.place FROM unnest(%s::bigint[]) AS ks(key) "
    "CROSS JOIN LATERAL (SELECT entity_id, place FROM dedup_keys WHERE key = ks.key "
    "ORDER BY entity_id LIMIT %s) AS h"
)


@functools.lru_cache(maxsize=8)
def _sqlite_lookup(n: int) -> str:
    keys = ", ".join(["(?)"] * n)
    return (
        f"WITH ks(key) AS (VALUES {keys}), bound(key, last) AS ("
        "SELECT ks.key, coalesce((SELECT entity_id FROM dedup_keys AS d WHERE d.key = ks.key "
        "ORDER BY d.entity_id LIMIT 1 OFFSET ?), char(1114111)) FROM ks) "
        "SELECT bound.key, h.entity_id, h.place FROM bound JOIN dedup_keys AS h "
        "ON h.key = bound.key AND h.entity_id <= bound.last ORDER BY bound.key, h.entity_id"
    )


# Reasons as text on both: a scan reads 175,000 pairs at 1M customers and meets a few
# dozen distinct reason lists, each decoded once.
PAIR_COLUMNS, PAIR_COLUMNS_PG = bulk_columns(
    "left_id", "right_id", "score", "reasons", "vetoed", json="reasons"
)


class SqlDedup:
    """``DedupRepository`` on SQLite and PostgreSQL."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn: Connection = uow.conn

    def lock(self, keys: Collection[int]) -> None:
        if self._uow.dialect == "sqlite":
            begin_writing(self._conn)
            return
        for key in sorted(set(keys)):
            self._conn.execute(_LOCK, {"k": key})

    def put(self, kind: str, entries: Sequence[IndexEntry], *, new: bool = False) -> None:
        if not entries:
            return
        if not new:
            self._forget(kind, [e.entity_id for e in entries])
        insert_many(
            self._conn,
            dedup_entries,
            [{"kind": kind, "entity_id": e.entity_id, "record": e.record} for e in entries],
        )
        insert_many(
            self._conn,
            dedup_keys,
            [
                {"key": k, "entity_id": e.entity_id, "place": e.place}
                for e in entries
                for k in e.keys
            ],
        )

    def remove(self, kind: str, ids: Sequence[str]) -> None:
        self._forget(kind, ids)

    def _forget(self, kind: str, ids: Sequence[str]) -> None:
        e, k, p = dedup_entries.c, dedup_keys.c, dedup_pairs.c
        for chunk in chunks(list(ids)):
            self._conn.execute(delete(dedup_keys).where(k.entity_id.in_(chunk)))
            self._conn.execute(delete(dedup_entries).where(e.kind == kind, e.entity_id.in_(chunk)))
            self._conn.execute(
                delete(dedup_pairs).where(
                    p.kind == kind, or_(p.left_id.in_(chunk), p.right_id.in_(chunk))
                )
            )

    def candidates(
        self, kind: str, keys: Collection[int], *, limit: int, exclude: Collection[str] = ()
    ) -> builtins.list[Candidate]:
        if not keys:
            return []
        k, e = dedup_keys.c, dedup_entries.c
        hits = (
            select(k.entity_id, func.count().label("shared"))
            .where(k.key.in_(sorted(set(keys))))
            .group_by(k.entity_id)
            .subquery()
        )
        stmt = (
            select(hits.c.entity_id, hits.c.shared, e.record)
            .join(dedup_entries, and_(e.entity_id == hits.c.entity_id, e.kind == kind))
            .order_by(hits.c.shared.desc(), hits.c.entity_id)
            .limit(limit + len(exclude))
        )
        skip = set(exclude)
        found = [
            Candidate(r.entity_id, r.record, int(r.shared))
            for r in self._conn.execute(stmt)
            if r.entity_id not in skip
        ]
        return found[:limit]

    def lookup(self, keys: Collection[int], *, per_key: int) -> dict[int, builtins.list[KeyHolder]]:
        # Each key's first holders come straight off the primary key (key, entity_id), at
        # most ``per_key`` rows read a key. Ranking the holders with a window function read
        # every holder of a large block first, and blocks grow with the store: at 1M
        # customers a trade name or a street is shared by hundreds.
        wanted = sorted(set(keys))
        out: dict[int, builtins.list[KeyHolder]] = {}
        if not wanted:
            return out
        if self._conn.dialect.name == "postgresql":
            found = self._conn.exec_driver_sql(_PG_LOOKUP, (wanted, per_key))
            for key, entity_id, place in found:
                out.setdefault(int(key), []).append(KeyHolder(entity_id, place))
            return out
        for chunk in chunks(wanted):
            sql = _sqlite_lookup(len(chunk))
            for key, entity_id, place in self._conn.exec_driver_sql(sql, (*chunk, per_key - 1)):
                out.setdefault(int(key), []).append(KeyHolder(entity_id, place))
        return out

    def records(self, kind: str, ids: Sequence[str]) -> dict[str, str]:
        e = dedup_entries.c
        out: dict[str, str] = {}
        conn = self._conn
        for chunk in id_chunks(conn, list(dict.fromkeys(ids))):
            for r in conn.execute(
                select(e.entity_id, e.record).where(
                    e.kind == kind, one_of(conn, e.entity_id, chunk)
                )
            ):
                out[r.entity_id] = r.record
        return out

    def count(self, kind: str) -> int:
        stmt = select(func.count()).select_from(dedup_entries).where(dedup_entries.c.kind == kind)
        return int(self._conn.execute(stmt).scalar_one())

    def put_pairs(self, kind: str, pairs: Sequence[StoredPair]) -> None:
        if not pairs:
            return
        p = dedup_pairs.c
        by_id = {(x.left, x.right): x for x in pairs}
        wanted = list(by_id)
        for chunk in chunks(wanted):
            self._conn.execute(
                delete(dedup_pairs).where(
                    p.kind == kind, tuple_(p.left_id, p.right_id).in_(list(chunk))
                )
            )
        insert_many(
            self._conn,
            dedup_pairs,
            [
                {
                    "kind": kind,
                    "left_id": x.left,
                    "right_id": x.right,
                    "score": x.score,
                    "reasons": list(x.reasons),
                    "vetoed": x.vetoed,
                }
                for x in by_id.values()
            ],
        )

    @staticmethod
    def _pair(m: Mapping[Any, Any]) -> StoredPair:
        return StoredPair(
            m["left_id"], m["right_id"], float(m["score"]), tuple(m["reasons"]), bool(m["vetoed"])
        )

    def pairs(self, kind: str, *, after: str | None, limit: int) -> Page[StoredPair]:
        p = dedup_pairs.c
        # Untyped columns, decoded here: a scan reads every stored pair.
        columns = PAIR_COLUMNS_PG if self._conn.dialect.name == "postgresql" else PAIR_COLUMNS
        stmt = select(*columns).select_from(dedup_pairs).where(p.kind == kind)
        if after is not None:
            left, right = after.split("|", 1)
            stmt = stmt.where(tuple_(p.left_id, p.right_id) > tuple_(left, right))
        stmt = stmt.order_by(p.left_id, p.right_id).limit(limit + 1)
        reasons_of: dict[str, tuple[str, ...]] = {}  # few distinct reason lists: decode each once
        fetched = []
        for left, right, score, reasons, vetoed in self._conn.execute(stmt):
            if reasons not in reasons_of:
                reasons_of[reasons] = tuple(json_value(reasons))
            fetched.append(StoredPair(left, right, float(score), reasons_of[reasons], bool(vetoed)))
        more = len(fetched) > limit
        fetched = fetched[:limit]
        last = fetched[-1] if fetched else None
        return Page(tuple(fetched), f"{last.left}|{last.right}" if more and last else None)

    def pairs_of(self, kind: str, ids: Sequence[str]) -> builtins.list[StoredPair]:
        p = dedup_pairs.c
        found: dict[tuple[str, str], StoredPair] = {}
        conn = self._conn
        for chunk in id_chunks(conn, list(dict.fromkeys(ids))):
            stmt = select(dedup_pairs).where(
                p.kind == kind,
                or_(one_of(conn, p.left_id, chunk), one_of(conn, p.right_id, chunk)),
            )
            for r in conn.execute(stmt):
                pair = self._pair(r._mapping)
                found[(pair.left, pair.right)] = pair
        return [found[k] for k in sorted(found)]

    def decide(self, kind: str, decision: Decision) -> None:
        d = dedup_decisions.c
        self._conn.execute(
            delete(dedup_decisions).where(
                d.kind == kind, d.left_id == decision.left, d.right_id == decision.right
            )
        )
        self._conn.execute(
            insert(dedup_decisions).values(
                kind=kind,
                left_id=decision.left,
                right_id=decision.right,
                verdict=decision.verdict.value,
                actor_id=decision.actor_id,
                at=decision.at,
            )
        )

    def decisions(self, kind: str, ids: Sequence[str] | None = None) -> builtins.list[Decision]:
        d = dedup_decisions.c
        stmts = []
        if ids is None:
            stmts.append(select(dedup_decisions).where(d.kind == kind))
        else:
            for chunk in chunks(list(dict.fromkeys(ids))):
                stmts.append(
                    select(dedup_decisions).where(
                        d.kind == kind, or_(d.left_id.in_(chunk), d.right_id.in_(chunk))
                    )
                )
        found: dict[tuple[str, str], Decision] = {}
        for stmt in stmts:
            for r in self._conn.execute(stmt):
                found[(r.left_id, r.right_id)] = Decision(
                    left=r.left_id,
                    right=r.right_id,
                    verdict=Verdict(r.verdict),
                    actor_id=r.actor_id,
                    at=r.at,
                )
        return [found[k] for k in sorted(found)]


# -- co-ownership requests -------------------------------------------------------------------
def _request_row(r: CoOwnershipRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "requester_id": r.requester_id,
        "owner_id": r.owner_id,
        "note": r.note,
        "status": r.status.value,
        "created_at": r.created_at,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
        "version": r.version,
    }


def _request_from_row(r: Mapping[Any, Any]) -> CoOwnershipRequest:
    return CoOwnershipRequest(
        id=r["id"],
        customer_id=r["customer_id"],
        requester_id=r["requester_id"],
        owner_id=r["owner_id"],
        note=r["note"],
        status=RequestStatus(r["status"]),
        created_at=r["created_at"],
        decided_by=r["decided_by"],
        decided_at=r["decided_at"],
        decision_note=r["decision_note"],
        version=r["version"],
    )


class SqlRequests:
    """``CoOwnershipRepository`` on SQLite and PostgreSQL."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn: Connection = uow.conn

    def add(self, request: CoOwnershipRequest) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(co_ownership_requests).values(**_request_row(request)))
        except IntegrityError as exc:
            raise_taken(
                self._conn, co_ownership_requests, "co_ownership_request", [request.id], exc
            )

    def get(self, id: str) -> CoOwnershipRequest | None:
        row = self._conn.execute(
            select(co_ownership_requests).where(co_ownership_requests.c.id == id)
        ).first()
        return _request_from_row(row._mapping) if row else None

    def update(self, request: CoOwnershipRequest, expected_version: int) -> None:
        cas_update(
            self._uow,
            co_ownership_requests,
            "co_ownership_request",
            _request_row(request),
            expected_version,
        )

    def list(
        self, query: RequestQuery, *, after: str | None, limit: int
    ) -> Page[CoOwnershipRequest]:
        c = co_ownership_requests.c
        stmt = select(co_ownership_requests)
        if query.status is not None:
            stmt = stmt.where(c.status == query.status.value)
        if query.customer_id is not None:
            stmt = stmt.where(c.customer_id == query.customer_id)
        if query.requester_id is not None:
            stmt = stmt.where(c.requester_id == query.requester_id)
        if query.owner_ids is not None:
            stmt = stmt.where(c.owner_id.in_(sorted(query.owner_ids)))
        return page(self._conn, stmt, c.seq, after, limit, True, _request_from_row)


# -- import jobs -------------------------------------------------------------------------------
def _job_row(j: ImportJob) -> dict[str, Any]:
    return {
        "id": j.id,
        "source_name": j.source_name,
        "file_sha256": j.file_sha256,
        "actor_id": j.actor_id,
        "status": j.status.value,
        "options": dict(j.options),
        "rows_done": j.rows_done,
        "counts": dict(j.counts),
        "created_at": j.created_at,
        "finished_at": j.finished_at,
        "reverted_at": j.reverted_at,
        "reverted_by": j.reverted_by,
        "version": j.version,
    }


def _job_from_row(r: Mapping[Any, Any]) -> ImportJob:
    return ImportJob(
        id=r["id"],
        source_name=r["source_name"],
        file_sha256=r["file_sha256"],
        actor_id=r["actor_id"],
        status=ImportStatus(r["status"]),
        options=r["options"],
        rows_done=r["rows_done"],
        counts=r["counts"],
        created_at=r["created_at"],
        finished_at=r["finished_at"],
        reverted_at=r["reverted_at"],
        reverted_by=r["reverted_by"],
        version=r["version"],
    )


class SqlImports:
    """``ImportRepository`` on SQLite and PostgreSQL."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn: Connection = uow.conn

    def add(self, job: ImportJob) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(import_jobs).values(**_job_row(job)))
        except IntegrityError as exc:
            raise_taken(self._conn, import_jobs, "import", [job.id], exc)

    def get(self, id: str) -> ImportJob | None:
        row = self._conn.execute(select(import_jobs).where(import_jobs.c.id == id)).first()
        return _job_from_row(row._mapping) if row else None

    def update(self, job: ImportJob, expected_version: int) -> None:
        cas_update(self._uow, import_jobs, "import", _job_row(job), expected_version)

    def list(self, query: ImportQuery, *, after: str | None, limit: int) -> Page[ImportJob]:
        c = import_jobs.c
        stmt = select(import_jobs)
        if query.actor_id is not None:
            stmt = stmt.where(c.actor_id == query.actor_id)
        if query.status is not None:
            stmt = stmt.where(c.status == query.status.value)
        if query.file_sha256 is not None:
            stmt = stmt.where(c.file_sha256 == query.file_sha256)
        return page(self._conn, stmt, c.seq, after, limit, True, _job_from_row)

    def put_rows(self, job_id: str, results: Sequence[RowResult]) -> None:
        if not results:
            return
        r = import_rows.c
        numbers = [x.row for x in results]
        for chunk in chunks(numbers):
            self._conn.execute(
                delete(import_rows).where(r.job_id == job_id, r.row.in_(list(chunk)))
            )
        insert_many(
            self._conn,
            import_rows,
            [{"job_id": job_id, "row": x.row, "result": result_to_plain(x)} for x in results],
        )

    def rows(self, job_id: str, *, after: str | None, limit: int) -> Page[RowResult]:
        r = import_rows.c
        stmt = select(r.row, r.result).where(r.job_id == job_id)
        if after is not None:
            stmt = stmt.where(r.row > int(after))
        stmt = stmt.order_by(r.row).limit(limit + 1)
        fetched = self._conn.execute(stmt).all()
        more = len(fetched) > limit
        items = tuple(result_from_plain(x.result) for x in fetched[:limit])
        return Page(items, str(items[-1].row) if more and items else None)
