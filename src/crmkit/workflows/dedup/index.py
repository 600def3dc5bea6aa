"""The duplicate index wired to the store: records and keys, similar-record search, the check.

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

import functools
import logging
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.dedup import (
    Match,
    Matcher,
    Record,
    contact_record,
    customer_record_with,
    record_from_fields,
    with_contacts,
)
from crmkit.domain.dedup.codec import RECORD_FORMAT, decode_record, encode_record
from crmkit.domain.dedup.rules import MatchedRecord, RuleEvent, apply_rules
from crmkit.domain.errors import DuplicateError, DuplicateMatch
from crmkit.domain.intake import block_key_hashes, key_hashes
from crmkit.storage.ports import IndexEntry, StoredPair
from crmkit.workflows.dedup.config import KINDS, DedupConfig, Kind

_log = logging.getLogger("crmkit")

# The lowest score ``find_similar`` reports: below it a match would read "0%".
SIMILAR_FLOOR = 0.01

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


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
        # Customers that only gained contacts: their stored record grows by the new
        # contacts' phones, e-mails and names instead of being rebuilt from every contact
        # (rebuilding made adding the n-th contact cost n reads).
        self._grown: dict[str, list[Contact]] = {}
        self._matchers: dict[Kind, Matcher] = {}
        # Whether each kind's index holds records of another format, asked once a session
        # until the store is read to hold the current one (then ``runtime.index_current``;
        # a format this session writes may yet roll back, so it is not cached there).
        self._stale: dict[Kind, bool] = {}

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
            found = (s._uow.contacts.get(i) for i in ids)
            return [contact_record(c) for c in found if c is not None and not c.is_deleted]
        people = s._uow.contacts.for_customers(ids)
        return [
            customer_record_with(c, people.get(c.id, ()))
            for c in s._uow.customers.get_many(ids)
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
            self._s._uow.dedup.lock(keys)
        skip = {record.id, *exclude}
        found = self._s._uow.dedup.candidates(
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
        """The best ``limit`` records like ``fields`` (scoring at least ``SIMILAR_FLOOR``),
        as the actor may see them: what ``find_similar`` returns."""
        record = self.record_from_fields(kind, fields)
        # Under 1% is no likeness a person would look at: shown, it is a "0%" row.
        found = [m for m in self.matches(kind, record) if m.score >= SIMILAR_FLOOR]
        found = found[: max(limit, 0)]
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
        holders = s._uow.dedup.lookup({k for ks in keys for k in ks}, per_key=config.max_block_size)
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
        encoded = s._uow.dedup.records(kind, sorted({i for ids in wanted for i in ids}))
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
                found = {**found, **{c.id: c for c in s._uow.customers.get_many(missing)}}
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
            contacts = [s._uow.contacts.get(i) for i in ids]
            by_id = {c.id: c for c in contacts if c is not None}
            parents = {
                c.id: c for c in s._uow.customers.get_many([c.customer_id for c in by_id.values()])
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
            visible = s._uow.contacts.get(record.id, s.actor.scope) is not None
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
            self.stale(kind, writing=True)
            self._s._uow.dedup.put(kind, entries, new=new)
        pairs = list(pairs)
        if pairs:
            self._s._uow.dedup.put_pairs(kind, pairs)

    def stale(self, kind: Kind, *, writing: bool = False) -> bool:
        """Whether the index of ``kind`` holds match records of another format than this
        crmkit writes (:data:`~crmkit.domain.dedup.codec.RECORD_FORMAT`): written by an
        earlier crmkit, keyed and normalised otherwise, so new records would miss their
        duplicates among them until ``session.dedup.rebuild``. An index without a recorded
        format is stale when it holds anything (it predates the record); ``writing`` into
        an empty one records the format. A stale index is logged once per CRM."""
        if kind in self._stale:
            return self._stale[kind]
        current = self._s.runtime.index_current
        if kind in current:
            return False
        repo = self._s._uow.dedup
        found = repo.record_format(kind)
        if found == RECORD_FORMAT:
            # Read back as committed: no later session of this CRM needs to ask again
            # (only a rebuild writes the format of an index that has one).
            current.add(kind)
            return False
        if found is None and repo.count(kind) == 0:
            if writing:  # the first records of an empty index: of this format
                repo.set_record_format(kind, RECORD_FORMAT)
                self._stale[kind] = False
            return False  # else ask again when something is written
        self._stale[kind] = True
        warned = self._s.runtime.stale_index_warned
        if kind not in warned:
            warned.add(kind)
            _log.warning(
                "the duplicate index of %ss was built by an earlier crmkit (record format %s,"
                " now %s): run session.dedup.rebuild(%r) so that duplicates are found",
                kind,
                found if found is not None else "unrecorded",
                RECORD_FORMAT,
                f"{kind}s",
            )
        return True

    def rebuilt(self, kind: Kind) -> None:
        """The index of ``kind`` is being rebuilt from scratch in this session: it is of
        the current format from now on."""
        self._s._uow.dedup.set_record_format(kind, RECORD_FORMAT)
        self._stale[kind] = False
        self._s.runtime.stale_index_warned.discard(kind)

    def remove(self, kind: Kind, ids: Sequence[str]) -> None:
        """Forget records that left the live set (deleted, merged, purged)."""
        for id in ids:
            self._dirty[kind].discard(id)
        if ids:
            self._s._uow.dedup.remove(kind, list(ids))

    def touch(self, kind: Kind, id: str) -> None:
        """Re-index ``id`` before the unit of work ends (or before the next check)."""
        self._dirty[kind].add(id)
        if kind == "customer":
            self._grown.pop(id, None)

    def grow(self, customer_id: str, contact: Contact) -> None:
        """Re-index a customer that gained ``contact`` (created, nothing else changed):
        its stored record plus the contact's phones, e-mail and name, without reading its
        other contacts."""
        if customer_id not in self._dirty["customer"]:
            self._grown.setdefault(customer_id, []).append(contact)

    def flush(self) -> None:
        """Re-index what was touched: rebuild its record, compare it again, store both."""
        grown, self._grown = self._grown, {}
        if grown:
            stored = self._s._uow.dedup.records("customer", sorted(grown))
            for id in sorted(grown):
                if id in self._dirty["customer"]:
                    continue
                text = stored.get(id)
                if text is None:  # not indexed (yet): the whole record, from the store
                    self._dirty["customer"].add(id)
                    continue
                self._reindex("customer", [with_contacts(decode_record(id, text), grown[id])])
        for kind in KINDS:
            ids = sorted(self._dirty[kind])
            self._dirty[kind].clear()
            if not ids:
                continue
            records = self.live_records(kind, ids)
            self.remove(kind, sorted(set(ids) - {r.id for r in records}))
            self._reindex(kind, records)

    def _reindex(self, kind: Kind, records: Sequence[Record]) -> None:
        for record in records:
            found = self.matches(kind, record)
            self.index(kind, [record], (p for p in map(stored_pair, found) if p is not None))


@attrs.frozen
class _Described:
    id: str
    owner_id: str | None
    co_owner_ids: tuple[str, ...]
    public: DuplicateMatch
