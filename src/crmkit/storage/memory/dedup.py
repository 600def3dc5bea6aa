"""The duplicate index in memory: ``DedupRepository``, its pending changes per unit of
work, and key locks held on the store until commit or rollback.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from crmkit.domain.errors import ConcurrencyError
from crmkit.storage.memory.tables import _MISSING, _Tables
from crmkit.storage.ports import Candidate, Decision, IndexEntry, KeyHolder, Page, StoredPair

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork

_KEY_LOCK_TIMEOUT_S = 30.0


@attrs.define
class _DedupOverlay:
    """Pending changes to the duplicate index of one unit of work."""

    entries: dict[tuple[str, str], Any] = attrs.Factory(dict)  # IndexEntry or _MISSING
    pairs: dict[tuple[str, str, str], Any] = attrs.Factory(dict)  # StoredPair or _MISSING
    dropped: set[tuple[str, str]] = attrs.Factory(set)  # (kind, id): committed pairs gone
    decisions: dict[tuple[str, str, str], Decision] = attrs.Factory(dict)
    formats: dict[str, int] = attrs.Factory(dict)

    def apply(self, t: _Tables) -> None:
        if self.dropped:
            for gone in [
                k
                for k in t.dedup_pairs
                if (k[0], k[1]) in self.dropped or (k[0], k[2]) in self.dropped
            ]:
                del t.dedup_pairs[gone]
        for (kind, id), entry in self.entries.items():
            old = t.dedup_entries.pop((kind, id), None)
            if old is not None:
                for key in old.keys:
                    members = t.dedup_keys.get(key)
                    if members is not None:
                        members.discard(id)
                        if not members:
                            del t.dedup_keys[key]
            if entry is not _MISSING:
                t.dedup_entries[(kind, id)] = entry
                for key in entry.keys:
                    t.dedup_keys.setdefault(key, set()).add(id)
        for where, pair in self.pairs.items():
            if pair is _MISSING:
                t.dedup_pairs.pop(where, None)
            else:
                t.dedup_pairs[where] = pair
        t.dedup_decisions.update(self.decisions)
        t.dedup_formats.update(self.formats)


class _MemoryDedup:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _o(self) -> _DedupOverlay:
        return self._uow._dedup

    @property
    def _t(self) -> _Tables:
        return self._uow._store._tables

    def lock(self, keys: Collection[int]) -> None:
        store = self._uow._store
        wanted = set(keys)
        with store._lock:
            ok = store._key_released.wait_for(
                lambda: all(store._key_owners.get(k, self._uow) is self._uow for k in wanted),
                timeout=_KEY_LOCK_TIMEOUT_S,
            )
            if not ok:
                raise ConcurrencyError("dedup_key", "lock", 0, None)
            for key in wanted:
                store._key_owners[key] = self._uow

    def _entry(self, kind: str, id: str) -> IndexEntry | None:
        found = self._o.entries.get((kind, id))
        if found is _MISSING:
            return None
        if found is not None:
            entry: IndexEntry = found
            return entry
        return self._t.dedup_entries.get((kind, id))

    def put(self, kind: str, entries: Sequence[IndexEntry], *, new: bool = False) -> None:
        for entry in entries:
            if not new:
                self._drop_pairs(kind, entry.entity_id)
            self._o.entries[(kind, entry.entity_id)] = entry

    def remove(self, kind: str, ids: Sequence[str]) -> None:
        for id in ids:
            self._drop_pairs(kind, id)
            self._o.entries[(kind, id)] = _MISSING

    def _drop_pairs(self, kind: str, id: str) -> None:
        self._o.dropped.add((kind, id))
        for key in [k for k in self._o.pairs if k[0] == kind and id in (k[1], k[2])]:
            del self._o.pairs[key]

    def candidates(
        self, kind: str, keys: Collection[int], *, limit: int, exclude: Collection[str] = ()
    ) -> builtins.list[Candidate]:
        wanted = set(keys)
        ids: set[str] = set()
        with self._uow._store._lock:
            for key in wanted:
                ids.update(self._t.dedup_keys.get(key, ()))
        ids.update(id for (k, id), e in self._o.entries.items() if k == kind and e is not _MISSING)
        found: list[Candidate] = []
        for id in ids - set(exclude):
            entry = self._entry(kind, id)
            if entry is None:
                continue
            shared = len(entry.keys & wanted)
            if shared:
                found.append(Candidate(id, entry.record, shared))
        found.sort(key=lambda c: (-c.shared, c.entity_id))
        return found[:limit]

    def lookup(self, keys: Collection[int], *, per_key: int) -> dict[int, builtins.list[KeyHolder]]:
        wanted = set(keys)
        held: dict[int, set[str]] = {}
        with self._uow._store._lock:
            for key in wanted:
                held[key] = set(self._t.dedup_keys.get(key, ()))
        for (_, id), entry in self._o.entries.items():
            for key in wanted:
                if entry is not _MISSING and key in entry.keys:
                    held[key].add(id)
                elif key in held and (entry is _MISSING or key not in entry.keys):
                    held[key].discard(id)
        return {
            k: [KeyHolder(id, self._place(id)) for id in sorted(ids)[:per_key]]
            for k, ids in held.items()
            if ids
        }

    def _place(self, id: str) -> str | None:
        # Keys carry their kind hashed in, so a key's holders are all of one kind; ids are
        # unique across kinds.
        for kind in ("customer", "contact"):
            entry = self._entry(kind, id)
            if entry is not None:
                return entry.place
        return None

    def records(self, kind: str, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for id in ids:
            entry = self._entry(kind, id)
            if entry is not None:
                out[id] = entry.record
        return out

    def count(self, kind: str) -> int:
        ids = {id for (k, id) in self._t.dedup_entries if k == kind}
        ids.update(id for (k, id) in self._o.entries if k == kind)
        return sum(1 for id in ids if self._entry(kind, id) is not None)

    def _all_pairs(self, kind: str) -> dict[tuple[str, str], StoredPair]:
        dropped = self._o.dropped
        out = {
            (k[1], k[2]): p
            for k, p in self._t.dedup_pairs.items()
            if k[0] == kind and (kind, k[1]) not in dropped and (kind, k[2]) not in dropped
        }
        for k, p in self._o.pairs.items():
            if k[0] != kind:
                continue
            if p is _MISSING:
                out.pop((k[1], k[2]), None)
            else:
                out[(k[1], k[2])] = p
        return out

    def put_pairs(self, kind: str, pairs: Sequence[StoredPair]) -> None:
        for pair in pairs:
            self._o.pairs[(kind, pair.left, pair.right)] = pair

    def pairs(self, kind: str, *, after: str | None, limit: int) -> Page[StoredPair]:
        ordered = sorted(self._all_pairs(kind).items())
        if after is not None:
            mark = tuple(after.split("|", 1))
            ordered = [item for item in ordered if item[0] > mark]
        chunk = ordered[: limit + 1]
        more = len(chunk) > limit
        chunk = chunk[:limit]
        return Page(tuple(p for _, p in chunk), "|".join(chunk[-1][0]) if more and chunk else None)

    def pairs_of(self, kind: str, ids: Sequence[str]) -> builtins.list[StoredPair]:
        wanted = set(ids)
        return [
            p
            for key, p in sorted(self._all_pairs(kind).items())
            if key[0] in wanted or key[1] in wanted
        ]

    def decide(self, kind: str, decision: Decision) -> None:
        self._o.decisions[(kind, decision.left, decision.right)] = decision

    def record_format(self, kind: str) -> int | None:
        found = self._o.formats.get(kind)
        return found if found is not None else self._t.dedup_formats.get(kind)

    def set_record_format(self, kind: str, record_format: int) -> None:
        self._o.formats[kind] = record_format

    def decisions(self, kind: str, ids: Sequence[str] | None = None) -> builtins.list[Decision]:
        merged = {k: d for k, d in self._t.dedup_decisions.items() if k[0] == kind}
        merged.update({k: d for k, d in self._o.decisions.items() if k[0] == kind})
        wanted = set(ids) if ids is not None else None
        return [
            d
            for _, d in sorted(merged.items())
            if wanted is None or d.left in wanted or d.right in wanted
        ]
