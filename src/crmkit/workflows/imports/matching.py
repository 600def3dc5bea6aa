"""An import row against the rows of its file and the customers in the store.

Within the file, duplicates are found through an in-memory key index of the rows read so
far (:class:`FileIndex`); against the store, through its duplicate index, one batched lookup
per batch of rows. A customer someone else works is never duplicated, updated or disclosed
(anti-collision). What happens to a row duplicating one the actor may see is the
``on_duplicate`` policy, the same for a customer in the store (:func:`decide`) and for an
earlier row of the file, which stands for the customer that row created, updated or
duplicates (:func:`twin_rules`, :func:`make_update`):

- ``skip``: the row is a ``duplicate`` of that customer, or of ``"row N"``;
- ``update``: the row's non-empty cells update that customer (once the batch's new
  customers are written, in row order);
- ``create``: the row is created, the pair kept for review, unless the duplicate rules
  block it (a customer another user owns than the row's owner, as ``customers.create``).

A row duplicating an earlier row that duplicates someone else's customer is a duplicate of
that row under every policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from crmkit.adapters.tabular import SheetRow
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.dedup import CompanyKey, Match, Matcher, Record
from crmkit.domain.dedup.rules import MatchedRecord, RuleEvent, apply_rules
from crmkit.domain.errors import (
    CRMError,
    DuplicateError,
    DuplicateMatch,
    FieldError,
    ValidationError,
)
from crmkit.domain.headers import HeaderMapping
from crmkit.domain.imports import OnDuplicate, Outcome, RowResult
from crmkit.domain.intake import PreparedRow, error_problem
from crmkit.storage.ports import StoredPair
from crmkit.workflows.customers import CustomerService
from crmkit.workflows.imports.rows import OwnerLookup, failed, row_fields

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

# ``match_on`` choices: the match record field that must be equal.
NATURAL_KEYS: Final = {"uscc": "uscc", "name": "name", "mobile": "phones", "email": "emails"}


@attrs.define
class Prepared:
    row: SheetRow
    customer: Customer
    contact: Contact | None
    record: Record
    keys: frozenset[int]
    ready: PreparedRow  # with the encoded records and audit diffs
    # Tuples, the shared empty one for most rows: a batch's rows live long enough to reach
    # the garbage collector's old generation, where two lists a row were two more objects
    # for every full collection to walk.
    pairs: tuple[StoredPair, ...] = ()
    # The earlier rows of the file it duplicates, best first (``create`` only).
    twins: Sequence[tuple[int, Match]] = ()


# What a row became or matched, for the later rows of the file that duplicate it: the
# customer's id, owner and co-owners (a tuple of strings, which the collector stops tracking).
Target = tuple[str, str | None, tuple[str, ...]]


def target_of(customer: Customer) -> Target:
    return (customer.id, customer.owner_id, tuple(sorted(customer.co_owner_ids)))


@attrs.frozen
class Update:
    """A row's decision to update ``customer_id`` (made once the batch's new customers are
    written, in row order): a customer in the store, or one an earlier row of the file
    created, updated or duplicates (``twin``: that row)."""

    customer_id: str | None = None
    twin: int | None = None


class FileIndex:
    """The rows of this file so far, by blocking key: in-file duplicates without comparing
    every pair of rows."""

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher
        # Tuples, not lists: a tuple of ints leaves the garbage collector's care at its first
        # collection, a list never does, and a file has some fifteen keys per row. Full
        # collections walk every tracked object: lists made them 2 s of a 20,000-row import.
        self._by_key: dict[int, tuple[int, ...]] = {}
        self._records: dict[int, Record] = {}
        self._cap = matcher.config.max_block_size

    def find(self, record: Record, keys: frozenset[int]) -> list[tuple[int, Match]]:
        """The earlier rows this record duplicates (row number, match), best first (the
        earliest of equal scores first)."""
        shared: dict[int, int] = {}
        for key in keys:
            for number in self._by_key.get(key, ()):
                shared[number] = shared.get(number, 0) + 1
        found: list[tuple[int, Match]] = []
        for number in sorted(shared, key=lambda n: (-shared[n], n))[: self._cap]:
            match = self._matcher.score(record, self._records[number])
            if match is not None and match.is_duplicate:
                found.append((number, match))
        found.sort(key=lambda x: (-x[1].score, x[0]))
        return found

    def add(self, number: int, record: Record, keys: frozenset[int]) -> None:
        self._records[number] = record
        by_key = self._by_key
        for key in keys:
            holders = by_key.get(key, ())
            if len(holders) < self._cap:
                by_key[key] = (*holders, number)


@attrs.define
class ImportContext:
    """What one import run decides its rows by, and what it has done so far."""

    header_map: HeaderMapping
    header_of: dict[str, str]
    owners: OwnerLookup
    policy: OnDuplicate
    dry_run: bool
    match_on: str | None
    in_file: FileIndex
    imported_before: dict[int, str] = attrs.Factory(dict)
    created: set[str] = attrs.Factory(set)  # customers this run created
    # A row's region errors, found as its cells were read, reported with its other errors.
    row_errors: dict[int, Sequence[FieldError]] = attrs.Factory(dict)
    # ``"row 7"`` -> the name of the customer row 7 became or matched, for its duplicates.
    row_names: dict[str, str] = attrs.Factory(dict)
    # Row -> the customer of one's own it created, updated (or tried to) or duplicates:
    # what a later row of the file duplicating it updates, or is checked against by the
    # duplicate rules (kept unless the policy is ``skip``). A row without one (someone
    # else's customer) blocks its duplicates.
    targets: dict[int, Target] = attrs.Factory(dict)
    # A dry run with ``update``: the customers it would have created or updated so far, by
    # id, so that a later row's update is checked against them as the run will check it.
    pending: dict[str, Customer] = attrs.Factory(dict)

    def remember(self, number: int, customer: Customer) -> None:
        """Row ``number`` created, updated or duplicates ``customer`` (one's own)."""
        if self.policy is not OnDuplicate.SKIP:
            self.targets[number] = target_of(customer)
        if self.dry_run and self.policy is OnDuplicate.UPDATE:
            self.pending[customer.id] = customer

    def is_match(self, match: Match, record: Record, candidates: Sequence[Record]) -> bool:
        """Is this stored record the row's match: a duplicate by the matcher, or, with
        ``match_on``, one whose natural key equals the row's."""
        if self.match_on is None:
            return match.is_duplicate
        mine = record.get(self.match_on)
        theirs = next((c.get(self.match_on) for c in candidates if c.id == match.right), None)
        if mine is None or theirs is None:
            return False
        if isinstance(mine, frozenset):
            return bool(mine & theirs)
        if isinstance(mine, CompanyKey):
            return bool(mine.brand == theirs.brand and mine.branch == theirs.branch)
        return bool(mine == theirs)


def collision(row: int, match: DuplicateMatch) -> RowResult:
    return RowResult(
        row,
        Outcome.DUPLICATE,
        duplicate_of=f"{match.name} ({match.owner_name or '-'})",
        customer_name=match.name,
    )


def store_candidates(
    s: Session, prepared: list[Prepared], ctx: ImportContext
) -> dict[int, list[Record]]:
    """Each row's candidates in the store (one lookup for the whole batch; rows without
    any are left out), leaving out the customers this import created: their rows are in
    the file's index, which picks what to compare by its own caps. Finding them again
    through the store could decide a row differently from the dry run, which has only the
    file's index."""
    found = s.dedup_index.batch_candidates(
        "customer",
        [p.keys for p in prepared],
        exclude=ctx.created,
        records=[p.record for p in prepared],
    )
    # Rows without candidates (most, into an empty store) get no entry: see ``_batch``.
    return {p.row.number: records for p, records in zip(prepared, found, strict=True) if records}


def decide(
    s: Session,
    p: Prepared,
    duplicates: list[Match],
    ctx: ImportContext,
    known: Mapping[str, Customer],
) -> RowResult | Update | None:
    """The row's outcome given its duplicates in the store (``known``: the batch's
    duplicated customers): a result, an :class:`Update` to make once the batch's new
    customers are written, or None: "create it". (A row duplicating earlier rows of the
    file is decided here with ``create`` only, once :func:`twin_rules` allowed it.)

    Someone else's customer is a ``duplicate`` whatever the policy; one's own is reported
    as a ``duplicate`` (``skip``), updated (``update``) or created again (``create``, unless
    a duplicate rule blocks it: anti-collision against the row's owner).
    """
    if not duplicates:
        return None
    described = {d.id: d for d in s.dedup_index.describe("customer", duplicates, known)}
    ordered = [described[m.right] for m in duplicates if m.right in described]
    if not ordered:
        return None
    best = ordered[0].public
    if not best.visible:
        # Anti-collision: a customer someone else works is never duplicated, updated
        # or shown; the row names only the customer and its owner.
        return collision(p.row.number, best)
    if ctx.policy is OnDuplicate.SKIP:
        return RowResult(
            p.row.number,
            Outcome.DUPLICATE,
            customer_id=best.id,
            duplicate_of=best.id,
            customer_name=best.name,
        )
    if ctx.policy is OnDuplicate.UPDATE:
        return Update(best.id)
    # "Create anyway" still may not create a second customer someone else works.
    blocking, _ = apply_rules(
        s.runtime.dedup.customer_rules,
        RuleEvent.CREATE,
        p.customer.owner_id,
        [MatchedRecord(d.id, d.public.score, d.owner_id, d.co_owner_ids) for d in ordered],
    )
    if blocking:
        return collision(p.row.number, described[blocking[0][0].id].public)
    return None


def in_file_duplicate(number: int, twin: int) -> RowResult:
    """A duplicate of an earlier row of the file (named after that row's customer later)."""
    return RowResult(number, Outcome.DUPLICATE, duplicate_of=f"row {twin}")


def twin_rules(s: Session, p: Prepared, ctx: ImportContext) -> RowResult | None:
    """``create`` for a row duplicating earlier rows of its file (``p.twins``), before
    the store decides it: None ("create it", if the store allows it too), the pairs kept
    for review as a create keeps those it finds in the store; or a duplicate of the
    earlier row that duplicates someone else's customer, or whose customer the duplicate
    rules forbid duplicating (another user's than the row's owner)."""
    best = p.twins[0][0]
    if best not in ctx.targets:
        return in_file_duplicate(p.row.number, best)
    rows: dict[str, int] = {}
    matched: list[MatchedRecord] = []
    pairs = list(p.pairs)
    for number, match in p.twins:
        target = ctx.targets.get(number)
        if target is None or target[0] in rows:
            continue
        rows[target[0]] = number
        matched.append(MatchedRecord(target[0], match.score, target[1], target[2]))
        left, right = sorted((p.customer.id, target[0]))
        pairs.append(StoredPair(left, right, match.score, match.reasons))
    blocking, _ = apply_rules(
        s.runtime.dedup.customer_rules, RuleEvent.CREATE, p.customer.owner_id, matched
    )
    if blocking:
        p.pairs = ()
        return in_file_duplicate(p.row.number, rows[blocking[0][0].id])
    p.pairs = tuple(pairs)
    return None


def make_update(s: Session, p: Prepared, update: Update, ctx: ImportContext) -> RowResult:
    """Make a row's :class:`Update` (after the batch's new customers are written, in row
    order): of the customer it matched in the store, or, for a row duplicating an earlier
    row of the file, of the customer that row created, updated or duplicates; a row whose
    earlier row has none (someone else's customer) is a duplicate of it."""
    if update.twin is None:
        assert update.customer_id is not None
        return _update(s, p, update.customer_id, ctx, update.customer_id)
    target = ctx.targets.get(update.twin)
    if target is None:
        return in_file_duplicate(p.row.number, update.twin)
    return _update(s, p, target[0], ctx, f"row {update.twin}")


class _PendingCustomers(CustomerService):
    """``session.customers`` for a dry run's updates: a customer the dry run would have
    created, or updated already, is read as it would be by then (``ImportContext.pending``),
    so that the update is checked as the run will check it."""

    def __init__(self, session: Session, pending: Mapping[str, Customer]) -> None:
        super().__init__(session)
        self._pending = pending

    def get(self, id: str, *, include_deleted: bool = False) -> Customer:
        found = self._pending.get(id)
        if found is not None:
            return found
        return super().get(id, include_deleted=include_deleted)


def _update(
    s: Session, p: Prepared, match_id: str, ctx: ImportContext, duplicate_of: str
) -> RowResult:
    """Fill the matched customer with the row's fields, and add the row's contact unless
    the customer has one of that name or mobile already; a dry run validates the same
    changes without writing, so it reports the outcome the run will have."""
    row = p.row
    # pipeline._inputs raised already if bad
    fields, contact_fields = row_fields(row, ctx.header_map, ctx.header_of, s.runtime.region)
    fields.pop("owner", None)
    fields.pop("kind", None)
    changes = {k: v for k, v in fields.items() if v not in (None, "")}
    customers = _PendingCustomers(s, ctx.pending) if ctx.dry_run else s.customers
    try:
        before = customers.get(match_id)
        # A later row of the file duplicating this one updates this customer too, even
        # if this update fails.
        ctx.remember(row.number, before)
        write = customers._prepare_update if ctx.dry_run else customers.update
        after = write(match_id, **changes)
    except ValidationError as exc:
        return failed(row.number, exc.errors, ctx.header_of)
    except CRMError as exc:  # e.g. a lifecycle move the customer cannot make
        return RowResult(row.number, Outcome.FAILED, problems=(error_problem(exc),))
    ctx.remember(row.number, after)
    from crmkit.workflows.merge import freeze

    old, new = freeze(before), freeze(after)
    undo = {
        k: (old.get(k), new.get(k))
        for k in new
        if k not in {"version", "updated_at"} and old.get(k) != new.get(k)
    }
    added = None
    if p.contact is not None and not ctx.dry_run:
        added = _add_contact(s, match_id, p.contact, contact_fields)
    return RowResult(
        row.number,
        Outcome.UPDATED,
        customer_id=match_id,
        duplicate_of=duplicate_of,
        contact_id=added,
        undo=undo,
        customer_name=after.name,
    )


def _add_contact(
    s: Session, customer_id: str, contact: Contact, fields: Mapping[str, Any]
) -> str | None:
    """The row's contact (checked when the row was prepared) added to the customer the
    row updated, through ``contacts.create`` (rules, audit, events); None when the
    customer has a contact of that name or mobile already, which is how re-importing
    a file adds nothing, or when a duplicate rule blocks it."""
    for c in s._uow.contacts.for_customer(customer_id):
        if c.name == contact.name or (contact.mobile is not None and c.mobile == contact.mobile):
            return None
    try:
        return s.contacts.create(customer_id=customer_id, **fields).id
    except DuplicateError:
        return None
