"""One import or dry run of one file: read, map, prepare, match and write, batch by batch.

Rows are read, mapped by header (``rows``), prepared by the same rules as
``customers.create`` (in worker processes for a large file, ``workflows._pool``), matched
against the file and the store (``matching``) and written in batches through the bulk path
(a batch's updates after its new customers, in row order), the import job's progress and
row outcomes committed as it goes so that an interrupted run resumes. A dry run reports
the same outcomes without writing.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

import attrs

from crmkit.adapters.tabular import SheetRow, Table, read_table, source_bytes
from crmkit.domain.audit import AuditAction
from crmkit.domain.dedup import Match
from crmkit.domain.errors import FieldErrors, PermissionDenied, ValidationError
from crmkit.domain.headers import HeaderMapping, map_headers
from crmkit.domain.imports import (
    ImportJob,
    ImportReport,
    ImportStatus,
    OnDuplicate,
    Outcome,
    RowProblem,
    RowResult,
)
from crmkit.domain.intake import PreparedRow, PrepareSettings, new_id
from crmkit.storage.ports import ImportQuery, IndexEntry
from crmkit.workflows._common import bulk_gc_tuning, young_collections_only
from crmkit.workflows._pool import Inputs, RowPreparer
from crmkit.workflows.context import Permission
from crmkit.workflows.dedup.index import stored_pair
from crmkit.workflows.imports.matching import (
    NATURAL_KEYS,
    FileIndex,
    ImportContext,
    Prepared,
    Update,
    decide,
    in_file_duplicate,
    make_update,
    store_candidates,
    twin_rules,
)
from crmkit.workflows.imports.rows import (
    OwnerLookup,
    failed,
    in_batches,
    row_fields,
    sheet_problem,
)

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

BATCH = 500
# Rows per commit by default. Each commit of a big SQLite store checkpoints the pages the
# batches touched (index keys are random, so nearly one page per key): fewer, larger commits
# write each hot page once (+25% rows/s at 2,000 rows into a 284k store, +55% at 5,000). Small
# enough that other writers, who wait for SQLite's one write lock, wait seconds at most.
COMMIT_ROWS = 2000
# Rows whose audit entries and events are written together (see ``_write``).
WRITE_ROWS = 100


def stored_rows(s: Session, job_id: str) -> Iterator[RowResult]:
    """The row outcomes an import job kept, in row order."""
    after: str | None = None
    while True:
        page = s._uow.imports.rows(job_id, after=after, limit=1000)
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def run_import(
    s: Session,
    source: str | Path | IO[bytes],
    *,
    dry_run: bool,
    mapping: Mapping[str, str] | None = None,
    on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
    match_on: str | None = None,
    sheet: str | None = None,
    atomic: bool = False,
    commit_every: int = COMMIT_ROWS,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import ``source``, or with ``dry_run`` report what an import would do: what
    ``ImportService.run`` and ``preview`` do, with the options documented there."""
    s.require(Permission.CUSTOMER_CREATE)
    policy = OnDuplicate(on_duplicate)
    data, name = source_bytes(source)
    table: Table = read_table(io.BytesIO(data), sheet=sheet, name=name)
    header_map = map_headers(
        table.headers,
        explicit=mapping,
        custom_fields=[f.name for f in s.runtime.customer_fields.fields],
    )
    header_of = header_map.headers_by_field(table.headers)
    if match_on is not None and match_on not in NATURAL_KEYS:
        errors = FieldErrors()
        errors.add("match_on", "invalid_choice", match_on, choices=", ".join(NATURAL_KEYS))
        errors.raise_if_any()
    ctx = ImportContext(
        header_map=header_map,
        header_of=header_of,
        owners=OwnerLookup(s),
        policy=policy,
        dry_run=dry_run,
        match_on=NATURAL_KEYS[match_on] if match_on else None,
        in_file=FileIndex(s.dedup_index.matcher("customer")),
    )
    sha = hashlib.sha256(data + (sheet or "").encode()).hexdigest()
    job: ImportJob | None = None
    earlier: list[RowResult] = []
    # A dry run too: it reports a row an earlier import created as the duplicate it is.
    ctx.imported_before = _imported_before(s, sha)
    if not dry_run:
        job, earlier = _start(s, sha, name, header_map, policy, mapping, match_on, sheet)
        ctx.row_names.update(
            (f"row {r.row}", r.customer_name)
            for r in earlier
            if r.customer_name is not None and r.outcome is not Outcome.FAILED
        )
        if not atomic:
            s.commit()
    done = job.rows_done if job is not None else 1
    results: list[RowResult] = list(earlier)
    uncommitted = 0
    todo = table.row_count - (done - 1) if table.row_count is not None else None
    preparer = RowPreparer(s.runtime.settings.import_workers if workers is None else workers, todo)
    with preparer, young_collections_only(bulk_gc_tuning(s.runtime.settings)):
        batches = (
            _inputs(s, batch, ctx)
            for batch in in_batches((r for r in table.rows if r.number > done), BATCH)
        )
        for (batch, early), prepared in preparer.map(batches, lambda: _settings(s, ctx)):
            outcomes = _batch(s, batch, early, prepared, ctx)
            results.extend(outcomes)
            if progress is not None:
                progress(len(results), table.row_count or len(results))
            if job is not None:
                s._uow.imports.put_rows(job.id, outcomes)
                moved = attrs.evolve(job, rows_done=batch[-1].number, version=job.version + 1)
                s._uow.imports.update(moved, expected_version=job.version)
                job = moved
                uncommitted += len(batch)
                if not atomic and uncommitted >= commit_every:
                    s.commit()
                    uncommitted = 0
    report = ImportReport(tuple(results), header_map, dry_run, job.id if job else None)
    if job is not None:
        now = s.now()
        finished = attrs.evolve(
            job,
            status=ImportStatus.FINISHED,
            counts=report.counts,
            finished_at=now,
            version=job.version + 1,
        )
        s._uow.imports.update(finished, expected_version=job.version)
        s.record(
            "import",
            job.id,
            AuditAction.CREATE,
            {"counts": (None, report.counts), "source": (None, name)},
            at=now,
            note="import finished",
        )
        if not atomic:
            s.commit()
    return report


def _start(
    s: Session,
    sha: str,
    name: str,
    header_map: HeaderMapping,
    policy: OnDuplicate,
    mapping: Mapping[str, str] | None,
    match_on: str | None,
    sheet: str | None,
) -> tuple[ImportJob, list[RowResult]]:
    """The job to run: an unfinished one of this file and actor (resumed, with the
    outcomes it kept), else a new one."""
    running = s._uow.imports.list(
        ImportQuery(actor_id=s.actor.id, status=ImportStatus.RUNNING, file_sha256=sha),
        after=None,
        limit=1,
    ).items
    if running:
        job = running[0]
        return job, list(stored_rows(s, job.id))
    job = ImportJob(
        id=new_id(),
        source_name=name or "upload",
        file_sha256=sha,
        actor_id=s.actor.id,
        options={
            "on_duplicate": policy.value,
            "match_on": match_on,
            "sheet": sheet,
            "mapping": dict(mapping or {}),
            "columns": {str(k): v for k, v in header_map.columns.items()},
            "unknown": list(header_map.unknown),
        },
        created_at=s.now(),
    )
    s._uow.imports.add(job)
    return job, []


def _imported_before(s: Session, sha: str) -> dict[int, str]:
    """Rows of this very file that an earlier, finished import created or updated a
    customer with: row -> id. (An updated row counts too: a later row of the file may
    have changed that customer so that this row no longer matches it, and importing
    the file again must not then create it.)"""
    out: dict[int, str] = {}
    for job in s._uow.imports.list(
        ImportQuery(status=ImportStatus.FINISHED, file_sha256=sha), after=None, limit=50
    ).items:
        for r in stored_rows(s, job.id):
            applied = r.outcome in (Outcome.CREATED, Outcome.UPDATED)
            if applied and r.customer_id and r.row not in out:
                out[r.row] = r.customer_id
    return out


def _settings(s: Session, ctx: ImportContext) -> PrepareSettings:
    return PrepareSettings(
        actor_id=s.actor.id,
        owner_default=s.customers._owner_default,
        now=s.now(),
        today=s.today(),
        phone_region=s.runtime.region,
        custom_schema=s.runtime.customer_fields,
        match=s.runtime.dedup.customer_match,
        contact_match=s.runtime.dedup.contact_match,
        headers=ctx.header_of,
        strict_names=s.runtime.settings.strict_name_script,
        vocabulary=s.vocabulary(),
    )


def _inputs(
    s: Session, rows: list[SheetRow], ctx: ImportContext
) -> tuple[tuple[list[SheetRow], dict[int, RowResult]], Inputs]:
    """What preparing a batch needs from its rows (cells mapped to fields, owners
    resolved to user ids), and the rows that fail before that."""
    early: dict[int, RowResult] = {}
    inputs: Inputs = []
    for row in rows:
        problem = sheet_problem(row)
        if problem is not None:
            early[row.number] = problem
            continue
        region_errors = FieldErrors()  # reported with the row's other errors (``_accept``)
        try:
            fields, contact_fields = row_fields(
                row, ctx.header_map, ctx.header_of, s.runtime.region, region_errors
            )
        except ValidationError as exc:
            errors = [*region_errors.errors, *exc.errors]
            early[row.number] = failed(row.number, errors, ctx.header_of)
            continue
        owner = fields.pop("owner", None)
        if owner:
            try:
                fields["owner_id"] = ctx.owners.resolve(owner)
            except ValidationError as exc:
                errors = [*region_errors.errors, *exc.errors]
                early[row.number] = failed(row.number, errors, ctx.header_of)
                continue
        if region_errors:
            ctx.row_errors[row.number] = region_errors.errors
        inputs.append((row.number, fields, contact_fields))
    return (rows, early), inputs


def _batch(
    s: Session,
    rows: list[SheetRow],
    early: dict[int, RowResult],
    ready: list[PreparedRow],
    ctx: ImportContext,
) -> list[RowResult]:
    """The outcomes of one batch of rows, its new customers written (unless a dry run).

    A row is decided against the earlier rows of its file first, then against the store;
    the batch's new customers are written at once, and then its updates are made, in row
    order (a row may update the customer an earlier row of the batch created)."""
    index = s.dedup_index
    prepared: list[Prepared] = []
    results: dict[int, RowResult] = dict(early)
    updates: dict[int, tuple[Prepared, Update]] = {}
    by_number = {p.number: p for p in ready}
    for row in rows:
        if row.number in results:
            continue
        again = _again(s, row.number, ctx)
        outcome = _accept(s, row, by_number[row.number], ctx)
        if again is not None:
            # Still a row of this file: later rows that duplicate it are duplicates.
            if not isinstance(outcome, RowResult):
                ctx.in_file.add(row.number, outcome.record, outcome.keys)
            results[row.number] = again
            continue
        if isinstance(outcome, RowResult):
            results[row.number] = outcome
            continue
        twins = ctx.in_file.find(outcome.record, outcome.keys)
        # Every row that becomes or duplicates a company stays findable: a later row may
        # resemble this one (its other phone, its typo) more than the first.
        ctx.in_file.add(row.number, outcome.record, outcome.keys)
        if twins:
            if ctx.policy is OnDuplicate.SKIP:
                results[row.number] = in_file_duplicate(row.number, twins[0][0])
                continue
            if ctx.policy is OnDuplicate.UPDATE:
                updates[row.number] = (outcome, Update(twin=twins[0][0]))
                continue
            outcome.twins = twins  # create: checked against the store as well
        prepared.append(outcome)
    stored = store_candidates(s, prepared, ctx)
    matcher = index.matcher("customer")
    to_create: list[Prepared] = []
    # Only rows with candidates in the store get an entry (and lists): most rows of a
    # file have none, and what a batch holds lives on into the collector's old generation.
    duplicates: dict[int, list[Match]] = {}
    for p in prepared:
        candidates = stored.get(p.row.number)
        if not candidates:
            continue
        found = [m for m in (matcher.score(p.record, r) for r in candidates) if m is not None]
        found.sort(key=lambda m: -m.score)
        duplicates[p.row.number] = [m for m in found if ctx.is_match(m, p.record, candidates)]
        p.pairs = tuple(x for x in (stored_pair(m) for m in found) if x is not None)
    # The customers the rows duplicate, read once for the batch.
    wanted = sorted({m.right for ms in duplicates.values() for m in ms})
    known = {c.id: c for c in s._uow.customers.get_many(wanted)} if wanted else {}
    for p in prepared:
        decision: RowResult | Update | None = twin_rules(s, p, ctx) if p.twins else None
        if decision is None:
            decision = decide(s, p, duplicates.get(p.row.number, []), ctx, known)
        if decision is None:
            to_create.append(p)
            ctx.remember(p.row.number, p.customer)
        elif isinstance(decision, Update):
            updates[p.row.number] = (p, decision)
        else:
            results[p.row.number] = decision
    if to_create and not ctx.dry_run:
        _write(s, to_create)
    if not ctx.dry_run:
        ctx.created.update(p.customer.id for p in to_create)
    for p in to_create:
        results[p.row.number] = RowResult(
            p.row.number,
            Outcome.CREATED,
            customer_id=None if ctx.dry_run else p.customer.id,
            contact_id=None if ctx.dry_run or p.contact is None else p.contact.id,
            customer_name=p.customer.name,
        )
    for number in sorted(updates):
        p, update = updates[number]
        results[number] = make_update(s, p, update, ctx)
    return [_named(results[r.number], ctx) for r in rows]


def _named(result: RowResult, ctx: ImportContext) -> RowResult:
    """A row's result naming its customer: a duplicate of an earlier row of the file is
    named after that row's customer (rows are named in order, so the earlier one is)."""
    if result.customer_name is None and result.duplicate_of in ctx.row_names:
        result = attrs.evolve(result, customer_name=ctx.row_names[result.duplicate_of])
    if result.customer_name is not None and result.outcome is not Outcome.FAILED:
        ctx.row_names[f"row {result.row}"] = result.customer_name
    return result


def _again(s: Session, number: int, ctx: ImportContext) -> RowResult | None:
    """A row an earlier import of this file created or updated a customer with: a
    duplicate of that customer."""
    earlier = ctx.imported_before.get(number)
    if earlier is None:
        return None
    customer = s._uow.customers.get(earlier)
    if customer is None or customer.is_deleted:
        return None
    if not s.actor.scope.allows(customer.owner_id, customer.co_owner_ids):
        owner = s._uow.users.get(customer.owner_id) if customer.owner_id else None
        return RowResult(
            number,
            Outcome.DUPLICATE,
            duplicate_of=f"{customer.name} ({owner.name if owner else '-'})",
            customer_name=customer.name,
        )
    ctx.remember(number, customer)  # what later rows of the file duplicating it meet
    return RowResult(
        number,
        Outcome.DUPLICATE,
        customer_id=earlier,
        duplicate_of=earlier,
        customer_name=customer.name,
    )


def _accept(s: Session, row: SheetRow, p: PreparedRow, ctx: ImportContext) -> Prepared | RowResult:
    """A prepared row after the checks that need the store (the rest of
    ``customers._prepare``): its customer to create, or why it fails."""
    errors = FieldErrors()
    errors.extend(p.errors)
    errors.extend(ctx.row_errors.pop(row.number, ()))
    try:
        s.customers._check_new(p.refs, errors, p.customer.id if p.customer else new_id())
    except PermissionDenied as exc:
        problem = RowProblem(
            ctx.header_of.get("owner"),
            "owner_id",
            "permission",
            None,
            exc.message("en"),
            exc.message("zh"),
        )
        return RowResult(row.number, Outcome.FAILED, problems=(problem,))
    if errors:
        return failed(row.number, errors.errors, ctx.header_of)
    if p.failure or p.customer is None or p.record is None:
        return RowResult(row.number, Outcome.FAILED, problems=p.failure)
    return Prepared(row, p.customer, p.contact, p.record, p.keys, p)


def _write(s: Session, to_create: list[Prepared]) -> None:
    """The bulk path: one multi-row insert per table and the index in bulk, with the index
    entries and audit diffs computed where the rows were prepared; then the audit entries
    and events, written :data:`WRITE_ROWS` rows at a time."""
    index = s.dedup_index
    customers = [p.customer for p in to_create]
    contacts = [p.contact for p in to_create if p.contact is not None]
    s._uow.customers.add_many(customers, contacts=contacts)
    index.put(
        "customer",
        [
            IndexEntry(p.customer.id, p.ready.encoded, p.keys, index.place("customer", p.record))
            for p in to_create
        ],
        [x for p in to_create for x in p.pairs],
        new=True,
    )
    if contacts:
        index.put(
            "contact",
            [
                IndexEntry(p.contact.id, *p.ready.contact_index)
                for p in to_create
                if p.contact is not None and p.ready.contact_index
            ],
            new=True,
        )
    for start in range(0, len(to_create), WRITE_ROWS):
        chunk = to_create[start : start + WRITE_ROWS]
        s.customers._record_created(
            [p.customer for p in chunk], note="import", audit=[p.ready.audit for p in chunk]
        )
        people = [p for p in chunk if p.contact is not None]
        s.contacts._record_created(
            [p.contact for p in people if p.contact is not None],
            note="import",
            audit=[p.ready.contact_audit for p in people],
        )
        # Written now rather than at the next commit (up to 2,000 rows later): the rows
        # built to store them, a dict and a list for each field of each entry, then die
        # young. Held for a whole batch they outlived the collector's young generations,
        # and full collections, each walking every live object, ran nearly twice as often.
        s.flush_audit()
        s.flush_queues()
