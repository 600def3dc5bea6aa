"""Review: clusters of likely duplicates among all live records.

A scan reads the pairs the index keeps (every record is compared with its candidates when
it is written), leaves out pairs a reviewer called distinct, and clusters the rest with
:func:`cluster_pairs` by complete linkage: no cluster holds two records whose pair scores
below the configuration's ``cluster_floor`` (a vetoed pair scores 0), or that a reviewer
called distinct. Then
it reads the members of many clusters at once, in growing chunks, as the actor may see them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.dedup import Record
from crmkit.domain.dedup.cluster import link
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
        pairs: the duplicate pairs that joined them (strongest first): each member is in
            the cluster through the pairs that name it.
        floor: the linkage rule's floor: every two members score at least this much with
            each other (``MatchConfig.cluster_floor``).
    """

    kind: str
    members: tuple[ClusterMember, ...]
    pairs: tuple[StoredPair, ...]
    floor: float = 0.0

    def links(self, id: str) -> tuple[StoredPair, ...]:
        """The pairs that hold member ``id`` in the cluster, strongest first: why it is here."""
        return tuple(p for p in self.pairs if id in (p.left, p.right))

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.members)


_SCAN_PAGE = 5000
# Clusters whose members are read together: 200 at first, as a scan with a small limit
# needs few, then twice as many each time up to 5,000, so that a whole scan of a large
# store makes dozens of reads, not hundreds (500 round trips to PostgreSQL at 1M).
_CLUSTER_CHUNK = 200
_CLUSTER_CHUNK_MAX = 5000
# Match records read at once for the linkage rule's questions (see _scorer).
_RECORD_BATCH = 2000


def cluster_pairs(
    pairs: Iterable[StoredPair],
    distinct: Iterable[tuple[str, str]] = (),
    score: Callable[[Sequence[tuple[str, str]]], Sequence[float]] | None = None,
    *,
    floor: float = 0.1,
) -> list[list[StoredPair]]:
    """Group duplicate pairs into clusters by complete linkage at ``floor``
    (:func:`~crmkit.domain.dedup.cluster.link`): strongest pair first, two groups join only
    when every pair across them scores at least ``floor`` and none was called distinct.

    Plain transitive closure would chain 金智（青岛） ~ 金智 ~ 金智（北京） into one cluster,
    and three people with one name and three birth dates; the floor keeps the name-only
    record with its best match instead.

    Args:
        pairs: stored pairs (duplicates; vetoed pairs from older stores are honoured).
        distinct: pairs decided "not a duplicate".
        score: ``pairs -> scores`` (0 for a vetoed pair) for cross pairs that no stored
            pair links, or any value on the same side of ``floor``; None scores them all
            0, so that only stored pairs hold a cluster.
        floor: the least score of every pair within a cluster.

    Returns:
        Each cluster's joining pairs (a spanning tree), clusters by their strongest pair.
    """
    apart: list[tuple[str, str]] = list(distinct)
    links: dict[tuple[str, str], StoredPair] = {}
    for pair in pairs:
        key = (min(pair.left, pair.right), max(pair.left, pair.right))
        if pair.vetoed:
            apart.append(key)
        elif key not in links or links[key].score < pair.score:
            links[key] = pair

    def unknown(cross: Sequence[tuple[str, str]]) -> Sequence[float]:
        return score(cross) if score is not None else [0.0] * len(cross)

    trees = link(
        ((p.left, p.right, p.score) for p in links.values()), unknown, floor=floor, apart=apart
    )
    return [[links[(min(a, b), max(a, b))] for a, b in tree] for tree in trees]


def scan(s: Session, k: Kind, limit: int | None, records: bool) -> list[DuplicateCluster]:
    """The clusters of ``k`` for the session's actor (``DedupService.scan``, permission and
    kind checked already)."""
    s.dedup_index.flush()
    distinct = [(d.left, d.right) for d in s._uow.dedup.decisions(k)]
    matcher = s.dedup_index.matcher(k)
    floor = matcher.config.cluster_floor
    pairs = list(_pairs(s, k))
    groups = cluster_pairs(pairs, distinct, _scorer(s, k, floor, _crowded(pairs)), floor=floor)
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
                    floor,
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


def _crowded(pairs: Sequence[StoredPair]) -> list[str]:
    """The ids of records whose pairs chain three or more together: the only ones a join
    can ask about a pair no stored pair links (two records alone have their pair)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        if not p.vetoed:
            parent[find(p.left)] = find(p.right)
    size = Counter(find(x) for x in parent)
    return [x for x in parent if size[find(x)] > 2]


def _scorer(
    s: Session, kind: Kind, floor: float, crowded: Sequence[str]
) -> Callable[[Sequence[tuple[str, str]]], list[float]]:
    """Whether pairs of indexed records that no stored pair links reach ``floor`` (1 or 0:
    the linkage rule asks no more, :meth:`~crmkit.domain.dedup.Matcher.reaches`), on their
    stored match records.

    Records are read when a join first asks about them, together with up to
    ``_RECORD_BATCH`` more of the ``crowded`` ones later joins may ask about: one read per
    join was thousands of round trips at 1M. They are decoded on first use."""
    matcher = s.dedup_index.matcher(kind)
    texts: dict[str, str | None] = {}
    known: dict[str, Record | None] = {}
    ahead = iter(crowded)

    def record(id: str) -> Record | None:
        if id not in known:
            text = texts.pop(id)
            known[id] = decode_record(id, text) if text is not None else None
        return known[id]

    def score(pairs: Sequence[tuple[str, str]]) -> list[float]:
        missing = {i for pair in pairs for i in pair if i not in known and i not in texts}
        if missing:
            batch = set(missing)
            while len(batch) < _RECORD_BATCH:
                id = next(ahead, None)
                if id is None:
                    break
                if id not in known and id not in texts:
                    batch.add(id)
            found = s._uow.dedup.records(kind, sorted(batch))
            texts.update((id, found.get(id)) for id in batch)
        out: list[float] = []
        for a, b in pairs:
            ra, rb = record(a), record(b)
            reached = ra is not None and rb is not None and matcher.reaches(ra, rb, floor)
            out.append(1.0 if reached else 0.0)
        return out

    return score
