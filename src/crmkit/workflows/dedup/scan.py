"""Review: clusters of likely duplicates among all live records.

A scan reads the pairs the index keeps (every record is compared with its candidates when
it is written), leaves out pairs a reviewer called distinct, and clusters the rest with
:func:`cluster_pairs`, never joining two records that a veto or a verdict keeps apart. Then
it reads the members of many clusters at once, in growing chunks, as the actor may see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.dedup import Record
from crmkit.domain.dedup.codec import decode_record
from crmkit.storage.ports import ContactRepository, CustomerRepository, StoredPair
from crmkit.workflows.dedup.config import Kind

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


@attrs.frozen
class ClusterMember:
    """One record of a duplicate cluster, as the reviewer sees it.

    Attributes:
        record: the whole customer or contact when the scan was asked for records
            (``scan(records=True)``), else None.
    """

    id: str
    name: str
    owner_id: str | None
    owner_name: str | None
    created_at: datetime
    record: Customer | Contact | None = None


@attrs.frozen
class DuplicateCluster:
    """Records that look like one thing, with the pairs that joined them.

    Attributes:
        kind: ``"customer"`` or ``"contact"``.
        members: the records, oldest first.
        pairs: the duplicate pairs among them (strongest first).
    """

    kind: str
    members: tuple[ClusterMember, ...]
    pairs: tuple[StoredPair, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.members)


_SCAN_PAGE = 5000
# Clusters whose members are read together: 200 at first, as a scan with a small limit
# needs few, then twice as many each time up to 5,000, so that a whole scan of a large
# store makes dozens of reads, not hundreds (500 round trips to PostgreSQL at 1M).
_CLUSTER_CHUNK = 200
_CLUSTER_CHUNK_MAX = 5000


def cluster_pairs(
    pairs: Iterable[StoredPair],
    distinct: Iterable[tuple[str, str]] = (),
    vetoed: Callable[[Sequence[tuple[str, str]]], bool] | None = None,
) -> list[list[StoredPair]]:
    """Group duplicate pairs into clusters, strongest pair first, never joining two groups
    that hold a vetoed pair or a pair a reviewer called distinct.

    Plain transitive closure would chain 金智（青岛） ~ 金智 ~ 金智（北京） into one cluster;
    checking vetoes across the two groups before each union keeps the name-only record with
    its best match instead.

    Args:
        pairs: stored pairs (duplicates; vetoed pairs from older stores are honoured).
        distinct: pairs decided "not a duplicate".
        vetoed: ``pairs -> True`` when a hard rule keeps the two records of any of the
            pairs apart; asked, before two groups join, about their cross pairs that no
            stored pair links.

    Returns:
        Each cluster's joining pairs (a spanning tree), clusters by their strongest pair.
    """
    apart: dict[str, set[str]] = {}
    links: list[StoredPair] = []
    for pair in pairs:
        if pair.vetoed:
            apart.setdefault(pair.left, set()).add(pair.right)
            apart.setdefault(pair.right, set()).add(pair.left)
        else:
            links.append(pair)
    for a, b in distinct:
        apart.setdefault(a, set()).add(b)
        apart.setdefault(b, set()).add(a)
    links.sort(key=lambda p: (-p.score, p.left, p.right))
    linked = {(min(p.left, p.right), max(p.left, p.right)) for p in links}
    parent: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    forbidden: dict[str, set[str]] = {}
    tree: dict[str, list[StoredPair]] = {}

    def find(x: str) -> str:
        if x not in parent:
            parent[x] = x
            members[x] = {x}
            forbidden[x] = set(apart.get(x, ()))
            tree[x] = []
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in links:
        if pair.left in apart.get(pair.right, ()):
            continue
        a, b = find(pair.left), find(pair.right)
        if a == b or forbidden[a] & members[b]:
            continue
        # A stored duplicate pair passed the vetoes when it was scored (a vetoed pair is
        # never stored as one): only cross pairs without one need asking, so two single
        # records, most clusters, join without decoding anything.
        if vetoed is not None:
            cross = [
                (x, y)
                for x in members[a]
                for y in members[b]
                if (min(x, y), max(x, y)) not in linked
            ]
            if cross and vetoed(cross):
                continue
        if len(members[a]) < len(members[b]):
            a, b = b, a
        parent[b] = a
        members[a] |= members.pop(b)
        forbidden[a] |= forbidden.pop(b)
        tree[a] = [*tree[a], *tree.pop(b), pair]
    return [tree[root] for root in members if tree[root]]


def scan(s: Session, k: Kind, limit: int | None, records: bool) -> list[DuplicateCluster]:
    """The clusters of ``k`` for the session's actor (``DedupService.scan``, permission and
    kind checked already)."""
    s.dedup_index.flush()
    distinct = [(d.left, d.right) for d in s._uow.dedup.decisions(k)]
    groups = cluster_pairs(_pairs(s, k), distinct, _veto(s, k))
    groups.sort(key=lambda g: (-len(g), -max(p.score for p in g)))
    repo: CustomerRepository | ContactRepository = (
        s._uow.customers if k == "customer" else s._uow.contacts
    )
    scope = s.actor.scope
    owners: dict[str, str | None] = {}
    out: list[DuplicateCluster] = []
    start, size = 0, _CLUSTER_CHUNK
    while start < len(groups):
        chunk = groups[start : start + size]
        start, size = start + size, min(size * 2, _CLUSTER_CHUNK_MAX)
        # One narrow read for the members of many clusters: building whole records was
        # half of a scan's time at 1M customers.
        ids = sorted({i for g in chunk for p in g for i in (p.left, p.right)})
        known = {m.id: m for m in repo.summaries(ids)}
        found: list[DuplicateCluster] = []
        for group in chunk:
            members = sorted(
                (
                    m
                    for m in (known.get(i) for i in {i for p in group for i in (p.left, p.right)})
                    if m is not None and not m.deleted
                ),
                key=lambda m: (m.created_at, m.id),
            )
            if len(members) < 2 or not all(
                scope.allows(m.owner_id, m.co_owner_ids) for m in members
            ):
                continue
            found.append(
                DuplicateCluster(
                    k,
                    tuple(
                        ClusterMember(
                            m.id,
                            m.name,
                            m.owner_id,
                            _owner_name(s, m.owner_id, owners),
                            m.created_at,
                        )
                        for m in members
                    ),
                    tuple(sorted(group, key=lambda p: -p.score)),
                )
            )
            if limit is not None and len(out) + len(found) >= limit:
                break
        out.extend(_with_records(s, k, found) if records else found)
        if limit is not None and len(out) >= limit:
            return out
    return out


def _pairs(s: Session, kind: Kind) -> Iterator[StoredPair]:
    after: str | None = None
    while True:
        page = s._uow.dedup.pairs(kind, after=after, limit=_SCAN_PAGE)
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def _owner_name(s: Session, owner_id: str | None, names: dict[str, str | None]) -> str | None:
    if owner_id is None:
        return None
    if owner_id not in names:
        user = s.user(owner_id)
        names[owner_id] = user.name if user is not None else None
    return names[owner_id]


def _with_records(
    s: Session, kind: Kind, clusters: Sequence[DuplicateCluster]
) -> list[DuplicateCluster]:
    ids = [m.id for c in clusters for m in c.members]
    found: dict[str, Customer | Contact]
    if kind == "customer":
        found = {c.id: c for c in s._uow.customers.get_many(ids)}
    else:
        found = {c.id: c for c in (s._uow.contacts.get(i) for i in ids) if c is not None}
    return [
        attrs.evolve(
            c,
            members=tuple(attrs.evolve(m, record=found.get(m.id)) for m in c.members),
        )
        for c in clusters
    ]


def _veto(s: Session, kind: Kind) -> Callable[[Sequence[tuple[str, str]]], bool]:
    """The matcher's hard rules between indexed records, on their stored match records:
    read when a join first asks about them (one read per join), kept for later joins."""
    matcher = s.dedup_index.matcher(kind)
    known: dict[str, Record | None] = {}

    def vetoed(pairs: Sequence[tuple[str, str]]) -> bool:
        missing = sorted({i for pair in pairs for i in pair if i not in known})
        if missing:
            found = s._uow.dedup.records(kind, missing)
            for id in missing:
                text = found.get(id)
                known[id] = decode_record(id, text) if text is not None else None
        for a, b in pairs:
            ra, rb = known[a], known[b]
            if ra is not None and rb is not None and matcher.vetoed(ra, rb) is not None:
                return True
        return False

    return vetoed
