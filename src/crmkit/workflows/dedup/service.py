"""``session.dedup``: review duplicates over the whole store (scan, verdicts, past merges)
and rebuild the index."""

from __future__ import annotations

import builtins
import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.dedup import em
from crmkit.domain.dedup.em import Estimate
from crmkit.domain.dedup.records import Record, is_individual
from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.storage.ports import Decision, Page, StoredPair, Verdict
from crmkit.workflows._common import bulk_gc_tuning, page_limit, paused_gc
from crmkit.workflows.context import Permission
from crmkit.workflows.dedup.config import KINDS, Kind
from crmkit.workflows.dedup.index import stored_pair
from crmkit.workflows.dedup.scan import DuplicateCluster, scan

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

_REBUILD_CHUNK = 1000


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
            WorkflowError: the index was built by an earlier crmkit
                (:meth:`needs_rebuild`): its clusters would be wrong, an admin rebuilds it
                first.
        """
        self._s.require(Permission.DEDUP_REVIEW)
        k = self._kind(kind)
        if self._s.dedup_index.stale(k):
            raise WorkflowError(
                "dedup_index",
                "-",
                "scan",
                move_zh="扫描",
                reason="it was built by an earlier crmkit; an administrator rebuilds it first"
                " (crmkit dedup rebuild)",
                reason_zh="索引由旧版 crmkit 建立，请管理员先重建（crmkit dedup rebuild）",
            )
        with paused_gc(bulk_gc_tuning(self._s.runtime.settings)):
            return scan(self._s, k, limit, records)

    def needs_rebuild(self, kind: str = "customers") -> bool:
        """Whether the index of ``kind`` was built by an earlier crmkit, whose match records
        are keyed and normalised otherwise (``crmkit.domain.dedup.codec.RECORD_FORMAT``):
        until :meth:`rebuild`, new records miss their duplicates among the old ones and
        :meth:`scan` refuses. Also logged, once per CRM, when found.

        Raises:
            PermissionDenied: the actor may not review duplicates.
        """
        self._s.require(Permission.DEDUP_REVIEW)
        return self._s.dedup_index.stale(self._kind(kind))

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
        s._uow.dedup.decide(k, decision)
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
        return self._s._uow.dedup.decisions(self._kind(kind))

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
            repo: Any = s._uow.customers if kind == "customer" else s._uow.contacts
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
        s._uow.dedup.remove(k, ids)
        index.rebuilt(k)
        matcher = index.matcher(k)
        for start in range(0, len(ids), _REBUILD_CHUNK):
            records = index.live_records(k, ids[start : start + _REBUILD_CHUNK])
            keys = [index.keys(k, r) for r in records]
            index.index(k, records, new=True, keys=keys)
            pairs: list[StoredPair] = []
            for record, other in self._candidate_pairs(k, records, keys):
                match = matcher.score(record, other)
                pair = stored_pair(match) if match is not None else None
                if pair is not None:
                    pairs.append(pair)
            index.put(k, [], pairs)
        return len(ids)

    def estimate(self, kind: str = "customers", *, sample: int = 5000, seed: int = 0) -> Estimate:
        """Estimate the person matcher's weights from this store's own records by EM.

        Takes up to ``sample`` live records at random (individual customers, or contacts),
        finds each one's candidates through the index as a check would, compares every
        pair on the comparison levels of the configuration that matches people
        (``MatchConfig.persons`` for customers, the contact configuration for contacts)
        and fits the Fellegi–Sunter m/u probabilities and the prior to them
        (:func:`crmkit.domain.dedup.em.estimate`). No labels are needed.

        Nothing changes until the estimate is put to use, by configuration:
        ``DedupConfig().with_estimate("customers", estimate)`` passed to ``crmkit.open``,
        then :meth:`rebuild` to re-score the stored pairs. Admin only.

        Args:
            kind: ``"customers"`` or ``"contacts"``.
            sample: how many records to draw.
            seed: the draw's seed (the same store and seed give the same estimate).

        Returns:
            The :class:`~crmkit.domain.dedup.em.Estimate`: the estimated configuration, how
            many pairs it learnt from, and ``table()`` for a report.
        """
        s = self._s
        s.require(Permission.DEDUP_REBUILD)
        k = self._kind(kind)
        index = s.dedup_index
        index.flush()
        matcher = index.matcher(k)
        config = index.config.match(k)
        people = config.persons if k == "customer" else config
        if people is None:
            return em.estimate(config, [])
        ids = self._live_ids(k)
        chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
        records = [
            r for r in index.live_records(k, sorted(chosen)) if k == "contact" or is_individual(r)
        ]
        keys = [index.keys(k, r) for r in records]
        vectors = [
            matcher.levels(record, other)
            for record, other in self._candidate_pairs(k, records, keys)
            if k == "contact" or is_individual(other)
        ]
        return em.estimate(people, vectors)

    def _candidate_pairs(
        self, kind: Kind, records: Sequence[Record], keys: Sequence[frozenset[int]]
    ) -> Iterator[tuple[Record, Record]]:
        """Each record with each of its indexed candidates, every pair once (two records of
        one batch find each other)."""
        seen: set[tuple[str, str]] = set()
        found_all = self._s.dedup_index.batch_candidates(kind, keys, records=records)
        for record, found in zip(records, found_all, strict=True):
            for other in found:
                pair = (min(record.id, other.id), max(record.id, other.id))
                if other.id == record.id or pair in seen:
                    continue
                seen.add(pair)
                yield record, other

    def _live_ids(self, kind: Kind) -> builtins.list[str]:
        from crmkit.storage.ports import EVERYTHING, CustomerQuery, EntityQuery

        s = self._s
        out: list[str] = []
        after: str | None = None
        while True:
            if kind == "customer":
                page: Any = s._uow.customers.list(
                    CustomerQuery(), EVERYTHING, after=after, limit=1000
                )
            else:
                page = s._uow.contacts.list(EntityQuery(), EVERYTHING, after=after, limit=1000)
            out.extend(r.id for r in page.items)
            if page.next_after is None:
                return out
            after = page.next_after
