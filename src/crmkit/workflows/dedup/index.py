"""Duplicate detection wired to the store: the index, the rules, similar-record search, scan.

**The index.** Every live customer and contact has an entry in the store's duplicate index
(:class:`~crmkit.storage.ports.DedupRepository`): its match record (normalised once, when it
is written) and its blocking keys. Writes keep it in step inside the same unit of work:
creating a customer indexes it; editing it, or changing one of its contacts (whose phones,
e-mails and names count towards the customer's record), re-indexes it when the unit of work
ends; deleting or merging removes it. A record is also compared with its candidates when it
is indexed, and the duplicate pairs are kept, so a scan reads pairs instead of comparing the
whole store again. Vetoes (same brand in another city, different credit codes…) are not
stored: they would be most of the pairs (every candidate that merely shares a key), and a scan
checks them where they matter, between the members of two groups it is about to join.

**A duplicate check** (:meth:`DedupIndex.check`) locks the record's blocking keys (two
sessions writing the same company serialise there; on SQLite the database's write lock),
looks up candidates through the key index, decodes their stored records and scores them with
the configured matcher, then applies the duplicate rules: blocking matches raise
``DuplicateError``, warnings are kept on the session (``session.warnings``).

**Disclosure.** The check searches the whole store, whatever the actor's scope (anti-
collision must see a customer its creator may not read), but a match outside the scope shows
only its id, name, owner, score and reasons (``DuplicateMatch.visible`` is False and
``record`` None).
"""

from __future__ import annotations

import builtins
import functools
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.dedup import (
    CONTACT_MATCH,
    CUSTOMER_MATCH,
    Match,
    MatchConfig,
    Matcher,
    Record,
    contact_record,
    customer_record_with,
    record_from_fields,
)
from crmkit.domain.dedup.codec import decode_record, encode_record
from crmkit.domain.dedup.rules import (
    CONTACT_RULES,
    CUSTOMER_RULES,
    DuplicateRule,
    MatchedRecord,
    RuleEvent,
    apply_rules,
)
from crmkit.domain.errors import DuplicateError, DuplicateMatch, FieldErrors
from crmkit.domain.intake import block_key_hashes, key_hashes
from crmkit.storage.ports import (
    ContactRepository,
    CustomerRepository,
    Decision,
    IndexEntry,
    Page,
    StoredPair,
    Verdict,
)
from crmkit.workflows._common import page_limit, paused_gc
from crmkit.workflows.context import Permission

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

Kind = Literal["customer", "contact"]
KINDS: tuple[Kind, ...] = ("customer", "contact")


@attrs.frozen(kw_only=True)
class DedupConfig:
    """How crmkit finds duplicates. Pass ``dedup=DedupConfig(...)`` to ``crmkit.open``.

    Attributes:
        customer_match: the customer matcher configuration (add a custom field's rule with
            ``CUSTOMER_MATCH.with_rules(FieldRule("custom.contract_no", exact, 8.0))``).
        contact_match: the contact matcher configuration.
        customer_rules: what a customer write does with duplicates (default: block one that
            another salesperson works, warn about one's own).
        contact_rules: likewise for contacts (default: warn).
        candidates: at most this many indexed records are compared with a record being
            checked, those sharing most blocking keys first.
    """

    customer_match: MatchConfig = CUSTOMER_MATCH
    contact_match: MatchConfig = CONTACT_MATCH
    customer_rules: tuple[DuplicateRule, ...] = attrs.field(default=CUSTOMER_RULES, converter=tuple)
    contact_rules: tuple[DuplicateRule, ...] = attrs.field(default=CONTACT_RULES, converter=tuple)
    candidates: int = 50

    def match(self, kind: Kind) -> MatchConfig:
        return self.customer_match if kind == "customer" else self.contact_match

    def rules(self, kind: Kind) -> tuple[DuplicateRule, ...]:
        return self.customer_rules if kind == "customer" else self.contact_rules


@attrs.frozen
class DuplicateCheck:
    """What the rules made of a record's matches (nothing blocked: the write may go ahead).

    Attributes:
        warnings: duplicates a warning rule applies to, best first.
        pairs: every duplicate or vetoed pair found, for the index.
    """

    warnings: tuple[DuplicateMatch, ...] = ()
    pairs: tuple[StoredPair, ...] = ()


def stored_pair(match: Match) -> StoredPair | None:
    """The pair to keep for a scored match: duplicates only (a scan re-checks vetoes)."""
    if not match.is_duplicate:
        return None
    left, right = sorted((match.left, match.right))
    return StoredPair(left, right, match.score, match.reasons)


class DedupIndex:
    """The session's handle on the duplicate index (``session.dedup_index``; internal).

    Services call it; applications use ``find_similar``, ``check`` on the services and
    ``session.dedup``.
    """

    def __init__(self, session: Session) -> None:
        self._s = session
        self._dirty: dict[Kind, set[str]] = {"customer": set(), "contact": set()}
        self._matchers: dict[Kind, Matcher] = {}

    @property
    def config(self) -> DedupConfig:
        return self._s.runtime.dedup

    def matcher(self, kind: Kind) -> Matcher:
        if kind not in self._matchers:
            self._matchers[kind] = Matcher(self.config.match(kind))
        return self._matchers[kind]

    # -- records --------------------------------------------------------------------------
    def customer_record(self, customer: Customer, contacts: Iterable[Contact] = ()) -> Record:
        """The match record of a customer with its live contacts."""
        return customer_record_with(customer, contacts)

    def live_records(self, kind: Kind, ids: Sequence[str]) -> list[Record]:
        """The match records of those of ``ids`` that are live, read in bulk."""
        s = self._s
        if kind == "contact":
            found = (s.uow.contacts.get(i) for i in ids)
            return [contact_record(c) for c in found if c is not None and not c.is_deleted]
        people = s.uow.contacts.for_customers(ids)
        return [
            customer_record_with(c, people.get(c.id, ()))
            for c in s.uow.customers.get_many(ids)
            if not c.is_deleted
        ]

    def record_from_fields(self, kind: Kind, fields: Mapping[str, Any], id: str = "") -> Record:
        return record_from_fields(fields, id=id, kind=kind, phone_region=self._s.runtime.region)

    def keys(self, kind: Kind, record: Record) -> frozenset[int]:
        """The record's blocking keys as the hashes the store indexes (kind hashed in)."""
        return block_key_hashes(self.matcher(kind), kind, record)

    # -- matching -------------------------------------------------------------------------
    def matches(
        self, kind: Kind, record: Record, *, exclude: Iterable[str] = (), lock: bool = False
    ) -> list[Match]:
        """Indexed records scored against ``record``: every comparable one with a positive
        score, best first (duplicates are those with ``is_duplicate``)."""
        self.flush()
        keys = self.keys(kind, record)
        if not keys:
            return []
        if lock:
            self._s.uow.dedup.lock(keys)
        skip = {record.id, *exclude}
        found = self._s.uow.dedup.candidates(
            kind, keys, limit=self.config.candidates, exclude=sorted(skip)
        )
        matcher = self.matcher(kind)
        out: list[Match] = []
        for candidate in found:
            match = matcher.score(record, decode_record(candidate.entity_id, candidate.record))
            if match is not None and (match.score > 0.0 or match.evidence == -math.inf):
                out.append(match)
        out.sort(key=lambda m: -m.score)
        return out

    def similar(self, kind: Kind, fields: Mapping[str, Any], limit: int) -> list[DuplicateMatch]:
        """The best ``limit`` records like ``fields`` (positive score), as the actor may see
        them: what ``find_similar`` returns."""
        record = self.record_from_fields(kind, fields)
        found = [m for m in self.matches(kind, record) if m.score > 0.0][: max(limit, 0)]
        return [d.public for d in self.describe(kind, found)]

    def place(self, kind: Kind, record: Record) -> str | None:
        """The record's place as the index keeps it beside its keys (None: unknown, or no
        place rule in the configuration)."""
        rule = self.config.match(kind).place
        value = record.get(rule.field) if rule is not None else None
        return value if isinstance(value, str) else None

    def batch_candidates(
        self,
        kind: Kind,
        keys: Sequence[frozenset[int]],
        *,
        exclude: Collection[str] = (),
        records: Sequence[Record] | None = None,
    ) -> list[list[Record]]:
        """For each of many records (given by their blocking keys), the indexed records
        sharing most keys with it (at most ``config.candidates``): one key lookup and one
        record read for the whole batch, as bulk paths (import, rebuild) need.

        With the ``records`` themselves, holders that the configuration's place rule rules
        out (another place, no exempt key shared) are left out before any is read: at 1M
        customers they were two thirds of an import row's candidates.
        """
        if not keys:
            return []
        s = self._s
        config = self.config.match(kind)
        holders = s.uow.dedup.lookup({k for ks in keys for k in ks}, per_key=config.max_block_size)
        rule = config.place
        wanted: list[list[str]] = []
        # Few distinct pairs of places meet in a batch: each is decided once.
        compatible = functools.cache(rule.compatible) if rule is not None else None
        for n, ks in enumerate(keys):
            place = self.place(kind, records[n]) if records is not None else None
            shared: dict[str, int] = {}
            elsewhere: set[str] = set()  # ruled out unless they share an exempt key
            for key in ks:
                for id, their_place in holders.get(key, ()):
                    if id in exclude:
                        continue
                    shared[id] = shared.get(id, 0) + 1
                    if (
                        compatible is not None
                        and place is not None
                        and their_place is not None
                        and not compatible(place, their_place)
                    ):
                        elsewhere.add(id)
            if elsewhere and records is not None:
                # Exempt keys are worked out only for rows that meet a holder from elsewhere.
                exempt = ks & key_hashes(kind, self.matcher(kind).exempt_keys(records[n]))
                lifted = {id for key in exempt for id, _ in holders.get(key, ()) if id in elsewhere}
                for id in elsewhere - lifted:
                    del shared[id]
            wanted.append(sorted(shared, key=lambda i: (-shared[i], i))[: self.config.candidates])
        encoded = s.uow.dedup.records(kind, sorted({i for ids in wanted for i in ids}))
        decoded = {i: decode_record(i, text) for i, text in encoded.items()}
        return [[decoded[i] for i in ids if i in decoded] for ids in wanted]

    def check(
        self,
        kind: Kind,
        record: Record,
        *,
        event: RuleEvent,
        owner_id: str | None,
        exclude: Iterable[str] = (),
    ) -> DuplicateCheck:
        """Lock the record's keys, find its duplicates and apply the rules.

        Raises:
            DuplicateError: a blocking rule applies; it carries those matches.
        """
        found = self.matches(kind, record, exclude=exclude, lock=True)
        duplicates = [m for m in found if m.is_duplicate]
        pairs = tuple(p for p in (stored_pair(m) for m in found) if p is not None)
        if not duplicates:
            return DuplicateCheck((), pairs)
        described = {d.id: d for d in self.describe(kind, duplicates)}
        blocking, warnings = apply_rules(
            self.config.rules(kind),
            event,
            owner_id,
            [
                MatchedRecord(m.right, m.score, d.owner_id, d.co_owner_ids)
                for m in duplicates
                for d in (described[m.right],)
            ],
        )
        if blocking:
            raise DuplicateError(
                kind,
                [attrs.evolve(described[m.id].public, rule=rule.name) for m, rule in blocking],
            )
        return DuplicateCheck(
            tuple(attrs.evolve(described[m.id].public, rule=rule.name) for m, rule in warnings),
            pairs,
        )

    def describe(
        self, kind: Kind, matches: Sequence[Match], known: Mapping[str, Customer] | None = None
    ) -> list[_Described]:
        """Matches as the actor may see them: full records in scope, minimal outside it
        (``known``: customers read already, by id, as a batch reads them at once)."""
        s = self._s
        ids = [m.right for m in matches]
        owners: dict[str, str] = {}
        out: list[_Described] = []
        if kind == "customer":
            found: Mapping[str, Customer] = known or {}
            missing = [i for i in ids if i not in found]
            if missing:
                found = {**found, **{c.id: c for c in s.uow.customers.get_many(missing)}}
            for m in matches:
                c = found.get(m.right)
                if c is None:
                    continue
                out.append(
                    _Described(
                        m.right,
                        c.owner_id,
                        c.co_owner_ids,
                        self._public(m, c.name, c.owner_id, c, owners),
                    )
                )
        else:
            contacts = [s.uow.contacts.get(i) for i in ids]
            by_id = {c.id: c for c in contacts if c is not None}
            parents = {
                c.id: c for c in s.uow.customers.get_many([c.customer_id for c in by_id.values()])
            }
            for m in matches:
                contact = by_id.get(m.right)
                if contact is None:
                    continue
                parent = parents.get(contact.customer_id)
                owner = parent.owner_id if parent else None
                co = parent.co_owner_ids if parent else ()
                out.append(
                    _Described(
                        m.right, owner, co, self._public(m, contact.name, owner, contact, owners)
                    )
                )
        return out

    def _public(
        self,
        match: Match,
        name: str,
        owner_id: str | None,
        record: Customer | Contact,
        owners: dict[str, str],
    ) -> DuplicateMatch:
        s = self._s
        if owner_id is not None and owner_id not in owners:
            user = s.user(owner_id)
            owners[owner_id] = user.name if user is not None else owner_id
        if isinstance(record, Customer):
            visible = s.actor.scope.allows(record.owner_id, record.co_owner_ids)
        else:
            visible = s.uow.contacts.get(record.id, s.actor.scope) is not None
        return DuplicateMatch(
            id=match.right,
            name=name,
            owner_id=owner_id,
            owner_name=owners.get(owner_id) if owner_id else None,
            score=round(match.score, 4),
            reasons=match.reasons,
            visible=visible,
            record=record if visible else None,
        )

    # -- keeping the index in step -------------------------------------------------------
    def index(
        self,
        kind: Kind,
        records: Sequence[Record],
        pairs: Iterable[StoredPair] = (),
        *,
        new: bool = False,
        keys: Sequence[frozenset[int]] | None = None,
    ) -> None:
        """Store records (new or changed) with the pairs found when they were checked;
        ``new=True`` for records just created (nothing indexed to replace); ``keys``: the
        records' blocking keys when the caller has them already (as :meth:`keys` gives)."""
        if keys is None:
            keys = [self.keys(kind, r) for r in records]
        entries = [
            IndexEntry(r.id, encode_record(r), k, self.place(kind, r))
            for r, k in zip(records, keys, strict=True)
        ]
        self.put(kind, entries, pairs, new=new)

    def put(
        self,
        kind: Kind,
        entries: Sequence[IndexEntry],
        pairs: Iterable[StoredPair] = (),
        *,
        new: bool = False,
    ) -> None:
        """Store index entries encoded already (as an import's workers encode them), with
        the pairs found when they were checked; ``new`` as for :meth:`index`."""
        if entries:
            self._s.uow.dedup.put(kind, entries, new=new)
        pairs = list(pairs)
        if pairs:
            self._s.uow.dedup.put_pairs(kind, pairs)

    def remove(self, kind: Kind, ids: Sequence[str]) -> None:
        """Forget records that left the live set (deleted, merged, purged)."""
        for id in ids:
            self._dirty[kind].discard(id)
        if ids:
            self._s.uow.dedup.remove(kind, list(ids))

    def touch(self, kind: Kind, id: str) -> None:
        """Re-index ``id`` before the unit of work ends (or before the next check)."""
        self._dirty[kind].add(id)

    def flush(self) -> None:
        """Re-index what was touched: rebuild its record, compare it again, store both."""
        for kind in KINDS:
            ids = sorted(self._dirty[kind])
            self._dirty[kind].clear()
            if not ids:
                continue
            records = self.live_records(kind, ids)
            self.remove(kind, sorted(set(ids) - {r.id for r in records}))
            for record in records:
                found = self.matches(kind, record)
                self.index(kind, [record], (p for p in map(stored_pair, found) if p is not None))


@attrs.frozen
class _Described:
    id: str
    owner_id: str | None
    co_owner_ids: tuple[str, ...]
    public: DuplicateMatch


# -- review: scan and decisions ----------------------------------------------------------
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
_REBUILD_CHUNK = 1000
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


class DedupService:
    """``session.dedup``: find duplicate clusters over the whole store and record verdicts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _kind(self, kind: str) -> Kind:
        normal = kind.removesuffix("s")
        if normal not in KINDS:
            errors = FieldErrors()
            errors.add("kind", "invalid_choice", kind, choices="customers, contacts")
            errors.raise_if_any()
        return normal  # type: ignore[return-value]

    def _pairs(self, kind: Kind) -> Iterator[StoredPair]:
        after: str | None = None
        while True:
            page = self._s.uow.dedup.pairs(kind, after=after, limit=_SCAN_PAGE)
            yield from page.items
            if page.next_after is None:
                return
            after = page.next_after

    def scan(
        self, kind: str = "customers", *, limit: int | None = None, records: bool = False
    ) -> list[DuplicateCluster]:
        """Clusters of likely duplicates among all live records, for review.

        Reads the pairs the index keeps (every record is compared with its candidates when
        it is written), leaves out pairs a reviewer called distinct, and clusters the rest
        without ever joining two records that a veto or a verdict keeps apart. Admins see
        every cluster; managers those whose members are all in their scope.

        Args:
            kind: ``"customers"`` or ``"contacts"``.
            limit: at most this many clusters (biggest, then strongest first).
            records: also read each member's whole record (``ClusterMember.record``), as a
                review page showing more than names and owners needs; best with a
                ``limit``: a scan of a large store lists hundreds of thousands of members.

        Raises:
            PermissionDenied: the actor may not review duplicates.
        """
        self._s.require(Permission.DEDUP_REVIEW)
        k = self._kind(kind)
        with paused_gc():
            return self._scan(k, limit, records)

    def _scan(self, k: Kind, limit: int | None, records: bool) -> list[DuplicateCluster]:
        s = self._s
        s.dedup_index.flush()
        distinct = [(d.left, d.right) for d in s.uow.dedup.decisions(k)]
        groups = cluster_pairs(self._pairs(k), distinct, self._veto(k))
        groups.sort(key=lambda g: (-len(g), -max(p.score for p in g)))
        repo: CustomerRepository | ContactRepository = (
            s.uow.customers if k == "customer" else s.uow.contacts
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
                        for m in (
                            known.get(i) for i in {i for p in group for i in (p.left, p.right)}
                        )
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
                                self._owner_name(m.owner_id, owners),
                                m.created_at,
                            )
                            for m in members
                        ),
                        tuple(sorted(group, key=lambda p: -p.score)),
                    )
                )
                if limit is not None and len(out) + len(found) >= limit:
                    break
            out.extend(self._with_records(k, found) if records else found)
            if limit is not None and len(out) >= limit:
                return out
        return out

    def _owner_name(self, owner_id: str | None, names: dict[str, str | None]) -> str | None:
        if owner_id is None:
            return None
        if owner_id not in names:
            user = self._s.user(owner_id)
            names[owner_id] = user.name if user is not None else None
        return names[owner_id]

    def _with_records(
        self, kind: Kind, clusters: Sequence[DuplicateCluster]
    ) -> list[DuplicateCluster]:
        s = self._s
        ids = [m.id for c in clusters for m in c.members]
        found: dict[str, Customer | Contact]
        if kind == "customer":
            found = {c.id: c for c in s.uow.customers.get_many(ids)}
        else:
            found = {c.id: c for c in (s.uow.contacts.get(i) for i in ids) if c is not None}
        return [
            attrs.evolve(
                c,
                members=tuple(attrs.evolve(m, record=found.get(m.id)) for m in c.members),
            )
            for c in clusters
        ]

    def _veto(self, kind: Kind) -> Callable[[Sequence[tuple[str, str]]], bool]:
        """The matcher's hard rules between indexed records, on their stored match records:
        read when a join first asks about them (one read per join), kept for later joins."""
        matcher = self._s.dedup_index.matcher(kind)
        known: dict[str, Record | None] = {}

        def vetoed(pairs: Sequence[tuple[str, str]]) -> bool:
            missing = sorted({i for pair in pairs for i in pair if i not in known})
            if missing:
                found = self._s.uow.dedup.records(kind, missing)
                for id in missing:
                    text = found.get(id)
                    known[id] = decode_record(id, text) if text is not None else None
            for a, b in pairs:
                ra, rb = known[a], known[b]
                if ra is not None and rb is not None and matcher.vetoed(ra, rb) is not None:
                    return True
            return False

        return vetoed

    def mark_distinct(self, kind: str, left_id: str, right_id: str) -> Decision:
        """Record that two records are *not* duplicates: the pair never comes back in a scan
        and clustering keeps them apart.

        Raises:
            PermissionDenied: the actor may not review duplicates.
            NotFound: either record is absent or outside the actor's scope (a manager
                decides only about records of the team).
        """
        s = self._s
        s.require(Permission.DEDUP_REVIEW)
        k = self._kind(kind)
        for id in (left_id, right_id):
            # Through the services: they raise NotFound for a record out of scope.
            if k == "customer":
                s.customers.get(id)
            else:
                s.contacts.get(id)
        left, right = sorted((left_id, right_id))
        now = s.now()
        decision = Decision(
            left=left, right=right, verdict=Verdict.DISTINCT, actor_id=s.actor.id, at=now
        )
        s.uow.dedup.decide(k, decision)
        for one, other in ((left, right), (right, left)):
            s.record(
                k,
                one,
                AuditAction.UPDATE,
                {"not_duplicate_of": (None, other)},
                at=now,
                note="not a duplicate",
            )
        return decision

    def decisions(self, kind: str = "customers") -> builtins.list[Decision]:
        """Every verdict recorded for ``kind``."""
        self._s.require(Permission.DEDUP_REVIEW)
        return self._s.uow.dedup.decisions(self._kind(kind))

    def merges(self, *, after: str | None = None, limit: int = 50) -> Page[AuditEntry]:
        """Past merges of customers and contacts, newest first: one keyset page.

        Each item is the merge's audit entry: ``entity_id`` is the merge id to pass to
        ``customers.unmerge`` / ``contacts.unmerge``, ``actor_id`` and ``at`` say who merged
        and when, and ``changes`` holds ``kind`` (``[None, "customer" | "contact"]``),
        ``winner`` (``[before, after]`` as plain values), ``losers`` (``[[each loser
        before], None]``) and ``moved`` (the references moved). An undone merge is still
        listed; its undoing is a separate ``unmerge`` entry in the audit log and in the
        winner's history. Admins see every merge; managers those whose kept record is in
        their scope (a page may then hold fewer than ``limit``; follow ``next_after``).

        Args:
            after: ``next_after`` of the previous page.
            limit: page size (capped at the configured maximum).

        Raises:
            PermissionDenied: the actor may not review duplicates.
        """
        from crmkit.workflows.merge import merges  # deferred: merge imports the session

        s = self._s
        s.require(Permission.DEDUP_REVIEW)
        page: Page[AuditEntry] = merges(
            s, after=after, limit=page_limit(limit, s.runtime.settings.max_page_size)
        )
        if s.actor.can(Permission.AUDIT_READ_ALL):
            return page
        scope = s.actor.scope

        def in_scope(entry: AuditEntry) -> bool:
            kind = entry.changes["kind"][1]
            winner_id = entry.changes["winner"][1]["id"]
            repo: Any = s.uow.customers if kind == "customer" else s.uow.contacts
            return repo.get(winner_id, scope) is not None

        return Page(tuple(e for e in page.items if in_scope(e)), page.next_after)

    def rebuild(self, kind: str = "customers") -> int:
        """Re-index every live record of ``kind`` from scratch (after changing the matcher
        configuration, or for records written by a crmkit without the index). Admin only.

        Works in bulk, a thousand records at a time: their match records and keys are
        written, then each is compared with the candidates indexed so far (earlier
        thousands and its own), one key lookup per thousand. All in the session's
        transaction: until it commits, checks see the old index, and a failure leaves it.

        Returns:
            How many records were indexed.
        """
        s = self._s
        s.require(Permission.DEDUP_REBUILD)
        k = self._kind(kind)
        index = s.dedup_index
        index.flush()
        ids = self._live_ids(k)
        s.uow.dedup.remove(k, ids)
        matcher = index.matcher(k)
        for start in range(0, len(ids), _REBUILD_CHUNK):
            records = index.live_records(k, ids[start : start + _REBUILD_CHUNK])
            keys = [index.keys(k, r) for r in records]
            index.index(k, records, new=True, keys=keys)
            # Two records of one chunk find each other: each pair is scored once.
            compared: set[tuple[str, str]] = set()
            pairs: list[StoredPair] = []
            found_all = index.batch_candidates(k, keys, records=records)
            for record, found in zip(records, found_all, strict=True):
                for other in found:
                    pair_ids = (min(record.id, other.id), max(record.id, other.id))
                    if other.id == record.id or pair_ids in compared:
                        continue
                    compared.add(pair_ids)
                    match = matcher.score(record, other)
                    pair = stored_pair(match) if match is not None else None
                    if pair is not None:
                        pairs.append(pair)
            index.put(k, [], pairs)
        return len(ids)

    def _live_ids(self, kind: Kind) -> builtins.list[str]:
        from crmkit.storage.ports import EVERYTHING, ContactQuery, CustomerQuery

        s = self._s
        out: list[str] = []
        after: str | None = None
        while True:
            if kind == "customer":
                page: Any = s.uow.customers.list(
                    CustomerQuery(), EVERYTHING, after=after, limit=1000
                )
            else:
                page = s.uow.contacts.list(ContactQuery(), EVERYTHING, after=after, limit=1000)
            out.extend(r.id for r in page.items)
            if page.next_after is None:
                return out
            after = page.next_after
