"""An import row against the rows of its file and the customers in the store.

Within the file, duplicates are found through an in-memory key index of the rows read so
far (:class:`FileIndex`); against the store, through its duplicate index, one batched lookup
per batch of rows. A customer someone else works is never duplicated, updated or disclosed
(anti-collision); what happens to one's own is the ``on_duplicate`` policy (:func:`decide`).
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
    pairs: list[StoredPair] = attrs.Factory(list)


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

    def find(self, record: Record, keys: frozenset[int]) -> int | None:
        """The best earlier row this record duplicates (its row number), if any."""
        shared: dict[int, int] = {}
        for key in keys:
            for number in self._by_key.get(key, ()):
                shared[number] = shared.get(number, 0) + 1
        best: tuple[float, int] | None = None
        for number in sorted(shared, key=lambda n: (-shared[n], n))[: self._cap]:
            match = self._matcher.score(record, self._records[number])
            if match is None or not match.is_duplicate:
                continue
            if best is None or match.score > best[0]:
                best = (match.score, number)
        return best[1] if best else None

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
    """Each row's candidates in the store (one lookup for the whole batch), leaving out
    the customers this import created: their rows are in the file's index, which
    picks what to compare by its own caps. Finding them again through the store could
    decide a row differently from the dry run, which has only the file's index."""
    found = s.dedup_index.batch_candidates(
        "customer",
        [p.keys for p in prepared],
        exclude=ctx.created,
        records=[p.record for p in prepared],
    )
    return {p.row.number: records for p, records in zip(prepared, found, strict=True)}


def decide(
    s: Session,
    p: Prepared,
    duplicates: list[Match],
    ctx: ImportContext,
    known: Mapping[str, Customer],
) -> RowResult | None:
    """The row's outcome given its duplicates in the store (``known``: the batch's
    duplicated customers); None means "create it"."""
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
        return _update(s, p, best.id, ctx)
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


def _update(s: Session, p: Prepared, match_id: str, ctx: ImportContext) -> RowResult:
    """Fill the matched customer with the row's fields, and add the row's contact unless
    the customer has one of that name or mobile already; a dry run validates the same
    changes without writing, so it reports the outcome the run will have."""
    row = p.row
    # pipeline._inputs raised already if bad
    fields, contact_fields = row_fields(row, ctx.header_map, ctx.header_of, s.runtime.region)
    fields.pop("owner", None)
    fields.pop("kind", None)
    changes = {k: v for k, v in fields.items() if v not in (None, "")}
    customers = s.customers
    try:
        before = customers.get(match_id)
        write = customers._prepare_update if ctx.dry_run else customers.update
        after = write(match_id, **changes)
    except ValidationError as exc:
        return failed(row.number, exc.errors, ctx.header_of)
    except CRMError as exc:  # e.g. a lifecycle move the customer cannot make
        return RowResult(row.number, Outcome.FAILED, problems=(error_problem(exc),))
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
        duplicate_of=match_id,
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
