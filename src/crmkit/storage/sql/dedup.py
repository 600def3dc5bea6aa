"""The duplicate index in SQL: ``DedupRepository``.

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

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crmkit.storage.ports import (
    Candidate,
    Decision,
    IndexEntry,
    KeyHolder,
    Page,
    StoredPair,
    Verdict,
)
from crmkit.storage.sql.common import bulk_columns, chunks, id_chunks, insert_many, one_of
from crmkit.storage.sql.engine import begin_writing
from crmkit.storage.sql.rows import json_value
from crmkit.storage.sql.tables import (
    dedup_decisions,
    dedup_entries,
    dedup_formats,
    dedup_keys,
    dedup_pairs,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from crmkit.storage.sql.store import SqlUnitOfWork

# Every key of a check in one round trip: the function scan of the array runs in its
# order, so the keys are taken in ascending order as one by one (no deadlock between two
# checks sharing keys), without a statement each.
_LOCK = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k"

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
        wanted = sorted(set(keys))
        if wanted:
            self._conn.exec_driver_sql(_LOCK, {"keys": wanted})

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

    def record_format(self, kind: str) -> int | None:
        f = dedup_formats.c
        found = self._conn.execute(select(f.record_format).where(f.kind == kind)).scalar()
        return None if found is None else int(found)

    def set_record_format(self, kind: str, record_format: int) -> None:
        # An upsert: two sessions writing the first records of an empty index both record
        # its format, and neither may fail for it.
        conn = self._conn
        make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = make(dedup_formats).values(kind=kind, record_format=record_format)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["kind"], set_={"record_format": stmt.excluded.record_format}
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
