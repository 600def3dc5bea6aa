"""Importing customers from CSV/XLSX: every row ends in exactly one outcome.

Rows are read, mapped by header, validated by the same rules as ``customers.create``,
checked for duplicates inside the file and against the store, and written in batches through
the bulk path. A dry run (``preview``) reports the same outcomes without writing.

Duplicates are found by the configured matcher (``crmkit.DedupConfig``): within the file
through an in-memory key index of the rows read so far, and against the store through its
duplicate index, one batched lookup per batch of rows. A customer someone else works is
never duplicated, updated or disclosed (anti-collision); what happens to one's own is the
``on_duplicate`` policy.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

from crmkit.adapters.tabular import (
    Format,
    SheetRow,
    Table,
    TableError,
    read_table,
    source_bytes,
    write_table,
)
from crmkit.domain.audit import AuditAction, diff
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.dedup import CompanyKey, Match, Matcher, Record
from crmkit.domain.dedup.rules import MatchedRecord, RuleEvent, apply_rules
from crmkit.domain.errors import (
    CRMError,
    DuplicateError,
    DuplicateMatch,
    FieldError,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from crmkit.domain.headers import CUSTOMER_HEADER_SYNONYMS, HeaderMapping, map_headers
from crmkit.domain.imports import (
    ImportJob,
    ImportReport,
    ImportStatus,
    OnDuplicate,
    Outcome,
    RowProblem,
    RowResult,
)
from crmkit.domain.intake import (
    PreparedRow,
    PrepareSettings,
    error_problem,
    new_id,
    row_problem,
)
from crmkit.domain.messages import active_language
from crmkit.domain.values import Phone, PhoneKind
from crmkit.storage.ports import ImportQuery, IndexEntry, Page, StoredPair
from crmkit.workflows._common import page_limit, young_collections_only
from crmkit.workflows._pool import Inputs, RowPreparer
from crmkit.workflows.context import Permission
from crmkit.workflows.dedup import stored_pair as _stored_pair

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

BATCH = 500
# Rows per commit by default. Each commit of a big SQLite store checkpoints the pages the
# batches touched (index keys are random, so nearly one page per key): fewer, larger commits
# write each hot page once (+25% rows/s at 2,000 rows into a 284k store, +55% at 5,000). Small
# enough that other writers, who wait for SQLite's one write lock, wait seconds at most.
COMMIT_ROWS = 2000
# The fields a column maps to (besides custom fields): what the header synonyms know.
IMPORT_FIELDS: Final[tuple[str, ...]] = tuple(CUSTOMER_HEADER_SYNONYMS)
# Columns that describe a contact or an owner rather than the customer itself.
CONTACT_COLUMNS = ("contact_name", "contact_mobile", "contact_title")


class ImportService:
    """``session.imports``: bring customers in from a spreadsheet."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def preview(self, source: str | Path | IO[bytes], **options: Any) -> ImportReport:
        """Report each row's outcome without writing anything (a dry run). Options as
        :meth:`run`."""
        return self._import(source, dry_run=True, **options)

    def run(self, source: str | Path | IO[bytes], **options: Any) -> ImportReport:
        """Import the rows as one import job, batch by batch.

        Every row ends in exactly one outcome, kept with the job. By default each batch is
        committed as it is done (``session.commit()``), so a long import neither holds other
        writers up nor loses its work to an interruption: running the same file again (same
        content, same actor) while its job is unfinished *resumes* after the last committed
        row, and the report covers every row. Importing a file that was imported before
        (and not reverted) creates nothing: rows it created are reported as duplicates of
        those customers.

        Args:
            source: a CSV or XLSX path or binary file object.
            mapping: header -> field overrides (``""`` ignores a column).
            on_duplicate: what to do with a row that duplicates a customer of one's own:
                ``"skip"`` (default: report it), ``"update"`` (fill the customer with the
                row's non-empty fields) or ``"create"`` (create it anyway). A customer
                someone else works is never touched, whatever the policy.
            match_on: find the customer to skip or update by a natural key instead of the
                matcher: ``"uscc"``, ``"name"`` (same brand and branch), ``"mobile"``
                (a phone number in common) or ``"email"``.
            sheet: the XLSX sheet to read (default: the first).
            atomic: keep the whole import in the session's transaction instead (all or
                nothing; no resume).
            commit_every: rows per commit when not atomic (default 2,000; rounded up to
                whole batches of 500). More is faster on a big store and holds other writers
                up for longer.
            progress: called after each batch with ``(rows done, rows in the file)``.
            workers: worker processes preparing rows (parse, check, match records) ahead
                of the writes, for a file of 4,000 rows or more (default:
                ``Settings.import_workers``, 0). Outcomes are the same either way. The
                workers import the program's main module first, which therefore needs the
                ``if __name__ == "__main__":`` guard.

        Raises:
            TableError: the file is not a readable table (no row outcome is possible).
            PermissionDenied: the actor may not create customers.
            ValidationError: a bad option (``match_on``).
        """
        return self._import(source, dry_run=False, **options)

    def inspect(
        self,
        source: str | Path | IO[bytes],
        *,
        mapping: Mapping[str, str] | None = None,
        sheet: str | None = None,
    ) -> tuple[list[str | None], HeaderMapping]:
        """The file's header row and how its columns would be mapped (before any dry run):
        what an import form shows for the user to correct.

        Raises:
            TableError: the file is not a readable table.
        """
        s = self._s
        s.require(Permission.CUSTOMER_CREATE)
        table = read_table(source, sheet=sheet)
        header_map = map_headers(
            table.headers,
            explicit=mapping,
            custom_fields=[f.name for f in s.runtime.customer_fields.fields],
        )
        return table.headers, header_map

    def fields(self) -> tuple[str, ...]:
        """Every field a column can be mapped to: customer fields, the contact and owner
        columns, and ``custom.<name>`` for each custom field."""
        custom = tuple(f"custom.{f.name}" for f in self._s.runtime.customer_fields.fields)
        return (*IMPORT_FIELDS, *custom)

    def jobs(self, *, after: str | None = None, limit: int = 50) -> Page[ImportJob]:
        """Import jobs, newest first: all of them for an admin, one's own otherwise."""
        s = self._s
        s.require(Permission.CUSTOMER_READ)
        mine = None if s.actor.can(Permission.IMPORT_REVERT) else s.actor.id
        limit = page_limit(limit, s.runtime.settings.max_page_size)
        return s.uow.imports.list(ImportQuery(actor_id=mine), after=after, limit=limit)

    def job(self, job_id: str) -> ImportJob:
        """One import job (``NotFound`` if absent or someone else's, for a non-admin)."""
        s = self._s
        job = s.uow.imports.get(job_id)
        if job is None or (
            job.actor_id != s.actor.id and not s.actor.can(Permission.IMPORT_REVERT)
        ):
            raise NotFound("import", job_id)
        return job

    def report(self, job_id: str) -> ImportReport:
        """The row-by-row report of an import job, as stored (also for one resumed or run
        long ago)."""
        job = self.job(job_id)
        results = tuple(self._stored_rows(job.id))
        mapping = HeaderMapping(
            columns={int(k): v for k, v in job.options.get("columns", {}).items()},
            unknown=tuple(job.options.get("unknown", ())),
        )
        return ImportReport(results, mapping, False, job.id)

    @staticmethod
    def write_report(
        report: ImportReport, target: str | Path | IO[bytes], *, format: Format = "csv"
    ) -> None:
        """Write a report as CSV or XLSX: one line per row with its outcome, the customer,
        what it duplicates and every problem (column: message, in the active language)."""
        lang = active_language()
        rows = [
            [
                r.row,
                r.outcome.value,
                r.customer_id or "",
                r.duplicate_of or "",
                "; ".join(f"{p.column or p.field}: {p.message(lang)}" for p in r.problems),
            ]
            for r in report.results
        ]
        headers = (
            ["row", "outcome", "customer", "duplicate of", "problems"]
            if lang == "en"
            else ["行号", "结果", "客户", "重复于", "问题"]
        )
        write_table(headers, rows, target, format=format)

    def revert(self, job_id: str) -> RevertReport:
        """Undo a finished import as a whole (admin): customers it created go to the
        recycle bin (with their contacts), fields it updated get their old values back
        where nobody changed them since, and contacts it added to customers it updated go
        to the recycle bin. Audited; the job is marked reverted.

        Raises:
            PermissionDenied: the actor is not an admin.
            WorkflowError: the job is running or already reverted.
        """
        from crmkit.workflows.merge import freeze, thaw

        s = self._s
        s.require(Permission.IMPORT_REVERT)
        job = self.job(job_id)
        now = s.now()
        reverted = job.revert(by=s.actor.id, at=now)
        deleted = restored = kept = contacts = 0
        for r in self._stored_rows(job.id):
            if r.customer_id is None:
                continue
            if r.outcome is Outcome.UPDATED and r.contact_id is not None:
                added = s.uow.contacts.get(r.contact_id)
                if added is not None and not added.is_deleted:
                    s.contacts.delete(r.contact_id)
                    contacts += 1
            current = s.uow.customers.get(r.customer_id)
            if r.outcome is Outcome.CREATED:
                if current is None or current.is_deleted:
                    continue
                s.customers.delete(r.customer_id)
                deleted += 1
            elif r.outcome is Outcome.UPDATED and r.undo and current and not current.is_deleted:
                plain = freeze(current)
                changed = False
                for field, (before, after) in r.undo.items():
                    if plain.get(field) == after:
                        plain[field] = before
                        changed = True
                    else:
                        kept += 1
                if changed:
                    back: Any = attrs.evolve(
                        thaw(Customer, plain), version=current.version + 1, updated_at=now
                    )
                    s.uow.customers.update(back, expected_version=current.version)
                    s.dedup_index.touch("customer", current.id)
                    s.record(
                        "customer",
                        current.id,
                        AuditAction.UPDATE,
                        diff(current, back),
                        at=now,
                        note=f"import {job.id} reverted",
                    )
                    restored += 1
        s.uow.imports.update(reverted, expected_version=job.version)
        counts = {
            "deleted": deleted,
            "restored": restored,
            "kept_changes": kept,
            "contacts_deleted": contacts,
        }
        s.record("import", job.id, AuditAction.REVERT, {"counts": (None, counts)}, at=now)
        return RevertReport(job.id, deleted, restored, kept, contacts)

    # -- the pipeline -------------------------------------------------------------------
    def _stored_rows(self, job_id: str) -> Iterator[RowResult]:
        after: str | None = None
        while True:
            page = self._s.uow.imports.rows(job_id, after=after, limit=1000)
            yield from page.items
            if page.next_after is None:
                return
            after = page.next_after

    def _import(
        self,
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
        s = self._s
        s.require(Permission.CUSTOMER_CREATE)
        policy = OnDuplicate(on_duplicate)
        data, name = source_bytes(source)
        table: Table = read_table(io.BytesIO(data), sheet=sheet, name=name)
        header_map = map_headers(
            table.headers,
            explicit=mapping,
            custom_fields=[f.name for f in s.runtime.customer_fields.fields],
        )
        header_of = {field: str(table.headers[i]) for i, field in header_map.columns.items()}
        if match_on is not None and match_on not in NATURAL_KEYS:
            errors = FieldErrors()
            errors.add("match_on", "invalid_choice", match_on, choices=", ".join(NATURAL_KEYS))
            errors.raise_if_any()
        ctx = _Context(
            header_map=header_map,
            header_of=header_of,
            owners=_OwnerLookup(s),
            policy=policy,
            dry_run=dry_run,
            match_on=NATURAL_KEYS[match_on] if match_on else None,
            in_file=_FileIndex(s.dedup_index.matcher("customer")),
        )
        sha = hashlib.sha256(data + (sheet or "").encode()).hexdigest()
        job: ImportJob | None = None
        earlier: list[RowResult] = []
        if not dry_run:
            job, earlier = self._start(sha, name, header_map, policy, mapping, match_on, sheet)
            ctx.imported_before = self._imported_before(sha, job.id)
            if not atomic:
                s.commit()
        done = job.rows_done if job is not None else 1
        results: list[RowResult] = list(earlier)
        uncommitted = 0
        todo = table.row_count - (done - 1) if table.row_count is not None else None
        preparer = RowPreparer(
            s.runtime.settings.import_workers if workers is None else workers, todo
        )
        with preparer, young_collections_only():
            batches = (
                self._inputs(batch, ctx)
                for batch in _batches((r for r in table.rows if r.number > done), BATCH)
            )
            for (batch, early), prepared in preparer.map(batches, lambda: self._settings(ctx)):
                outcomes = self._batch(batch, early, prepared, ctx)
                results.extend(outcomes)
                if progress is not None:
                    progress(len(results), table.row_count or len(results))
                if job is not None:
                    s.uow.imports.put_rows(job.id, outcomes)
                    moved = attrs.evolve(job, rows_done=batch[-1].number, version=job.version + 1)
                    s.uow.imports.update(moved, expected_version=job.version)
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
            s.uow.imports.update(finished, expected_version=job.version)
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
        self,
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
        s = self._s
        running = s.uow.imports.list(
            ImportQuery(actor_id=s.actor.id, status=ImportStatus.RUNNING, file_sha256=sha),
            after=None,
            limit=1,
        ).items
        if running:
            job = running[0]
            return job, list(self._stored_rows(job.id))
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
        s.uow.imports.add(job)
        return job, []

    def _imported_before(self, sha: str, job_id: str) -> dict[int, str]:
        """Rows of this very file that an earlier, finished import created or updated a
        customer with: row -> id. (An updated row counts too: a later row of the file may
        have changed that customer so that this row no longer matches it, and importing
        the file again must not then create it.)"""
        s = self._s
        out: dict[int, str] = {}
        for job in s.uow.imports.list(
            ImportQuery(status=ImportStatus.FINISHED, file_sha256=sha), after=None, limit=50
        ).items:
            if job.id == job_id:
                continue
            for r in self._stored_rows(job.id):
                applied = r.outcome in (Outcome.CREATED, Outcome.UPDATED)
                if applied and r.customer_id and r.row not in out:
                    out[r.row] = r.customer_id
        return out

    def _settings(self, ctx: _Context) -> PrepareSettings:
        s = self._s
        return PrepareSettings(
            actor_id=s.actor.id,
            owner_default=s.customers.owner_default,
            now=s.now(),
            today=s.today(),
            phone_region=s.runtime.region,
            custom_schema=s.runtime.customer_fields,
            match=s.runtime.dedup.customer_match,
            contact_match=s.runtime.dedup.contact_match,
            headers=ctx.header_of,
        )

    def _inputs(
        self, rows: list[SheetRow], ctx: _Context
    ) -> tuple[tuple[list[SheetRow], dict[int, RowResult]], Inputs]:
        """What preparing a batch needs from its rows (cells mapped to fields, owners
        resolved to user ids), and the rows that fail before that."""
        early: dict[int, RowResult] = {}
        inputs: Inputs = []
        for row in rows:
            failed = self._row_problem(row)
            if failed is not None:
                early[row.number] = failed
                continue
            try:
                fields, contact_fields = self._row_fields(row, ctx)
            except ValidationError as exc:
                early[row.number] = _failed(row.number, exc.errors, ctx.header_of)
                continue
            owner = fields.pop("owner", None)
            if owner:
                try:
                    fields["owner_id"] = ctx.owners.resolve(owner)
                except ValidationError as exc:
                    early[row.number] = _failed(row.number, exc.errors, ctx.header_of)
                    continue
            inputs.append((row.number, fields, contact_fields))
        return (rows, early), inputs

    def _row_fields(self, row: SheetRow, ctx: _Context) -> tuple[dict[str, Any], dict[str, Any]]:
        """The row's customer fields and contact fields, a nameless contact's mobile
        placed on the customer (see :func:`_place_nameless_contact`).

        Raises:
            ValidationError: the contact's details find no place.
        """
        fields, contact = _fields(row, ctx.header_map)
        _place_nameless_contact(fields, contact, self._s.runtime.region, ctx.header_of)
        return fields, contact

    def _batch(
        self,
        rows: list[SheetRow],
        early: dict[int, RowResult],
        ready: list[PreparedRow],
        ctx: _Context,
    ) -> list[RowResult]:
        s = self._s
        index = s.dedup_index
        prepared: list[_Prepared] = []
        results: dict[int, RowResult] = dict(early)
        by_number = {p.number: p for p in ready}
        for row in rows:
            if row.number in results:
                continue
            again = self._again(row.number, ctx)
            outcome = self._accept(row, by_number[row.number], ctx)
            if again is not None:
                # Still a row of this file: later rows that duplicate it are duplicates.
                if not isinstance(outcome, RowResult):
                    ctx.in_file.add(row.number, outcome.record, outcome.keys)
                results[row.number] = again
                continue
            if isinstance(outcome, RowResult):
                results[row.number] = outcome
                continue
            twin = ctx.in_file.find(outcome.record, outcome.keys)
            # Every row that becomes or duplicates a company stays findable: a later row may
            # resemble this one (its other phone, its typo) more than the first.
            ctx.in_file.add(row.number, outcome.record, outcome.keys)
            if twin is not None:
                results[row.number] = RowResult(
                    row.number, Outcome.DUPLICATE, duplicate_of=f"row {twin}"
                )
                continue
            prepared.append(outcome)
        stored = self._store_candidates(prepared, ctx)
        matcher = index.matcher("customer")
        to_create: list[_Prepared] = []
        duplicates: dict[int, list[Match]] = {}
        for p in prepared:
            found = [
                m
                for m in (matcher.score(p.record, r) for r in stored.get(p.row.number, ()))
                if m is not None
            ]
            found.sort(key=lambda m: -m.score)
            duplicates[p.row.number] = [
                m for m in found if ctx.is_match(m, p.record, stored[p.row.number])
            ]
            p.pairs = [x for x in (_stored_pair(m) for m in found) if x is not None]
        # The customers the rows duplicate, read once for the batch.
        wanted = sorted({m.right for ms in duplicates.values() for m in ms})
        known = {c.id: c for c in s.uow.customers.get_many(wanted)} if wanted else {}
        for p in prepared:
            result = self._decide(p, duplicates[p.row.number], ctx, known)
            if result is None:
                to_create.append(p)
            else:
                results[p.row.number] = result
        if to_create and not ctx.dry_run:
            self._write(to_create)
        if not ctx.dry_run:
            ctx.created.update(p.customer.id for p in to_create)
        for p in to_create:
            results[p.row.number] = RowResult(
                p.row.number,
                Outcome.CREATED,
                customer_id=None if ctx.dry_run else p.customer.id,
                contact_id=None if ctx.dry_run or p.contact is None else p.contact.id,
            )
        return [results[r.number] for r in rows]

    def _again(self, number: int, ctx: _Context) -> RowResult | None:
        """A row an earlier import of this file created or updated a customer with: a
        duplicate of that customer."""
        earlier = ctx.imported_before.get(number)
        if earlier is None:
            return None
        customer = self._s.uow.customers.get(earlier)
        if customer is None or customer.is_deleted:
            return None
        if not self._s.actor.scope.allows(customer.owner_id, customer.co_owner_ids):
            owner = self._s.uow.users.get(customer.owner_id) if customer.owner_id else None
            return RowResult(
                number,
                Outcome.DUPLICATE,
                duplicate_of=f"{customer.name} ({owner.name if owner else '-'})",
            )
        return RowResult(number, Outcome.DUPLICATE, customer_id=earlier, duplicate_of=earlier)

    def _accept(self, row: SheetRow, p: PreparedRow, ctx: _Context) -> _Prepared | RowResult:
        """A prepared row after the checks that need the store (the rest of
        ``customers.prepare``): its customer to create, or why it fails."""
        errors = FieldErrors()
        errors.extend(p.errors)
        try:
            self._s.customers.check_new(p.refs, errors, p.customer.id if p.customer else new_id())
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
            return _failed(row.number, errors.errors, ctx.header_of)
        if p.failure or p.customer is None or p.record is None:
            return RowResult(row.number, Outcome.FAILED, problems=p.failure)
        return _Prepared(row, p.customer, p.contact, p.record, p.keys, p)

    def _store_candidates(
        self, prepared: list[_Prepared], ctx: _Context
    ) -> dict[int, list[Record]]:
        """Each row's candidates in the store (one lookup for the whole batch), leaving out
        the customers this import created: their rows are in the file's index, which
        picks what to compare by its own caps. Finding them again through the store could
        decide a row differently from the dry run, which has only the file's index."""
        found = self._s.dedup_index.batch_candidates(
            "customer",
            [p.keys for p in prepared],
            exclude=ctx.created,
            records=[p.record for p in prepared],
        )
        return {p.row.number: records for p, records in zip(prepared, found, strict=True)}

    def _decide(
        self,
        p: _Prepared,
        duplicates: list[Match],
        ctx: _Context,
        known: Mapping[str, Customer],
    ) -> RowResult | None:
        """The row's outcome given its duplicates in the store (``known``: the batch's
        duplicated customers); None means "create it"."""
        s = self._s
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
            return _collision(p.row.number, best)
        if ctx.policy is OnDuplicate.SKIP:
            return RowResult(
                p.row.number, Outcome.DUPLICATE, customer_id=best.id, duplicate_of=best.id
            )
        if ctx.policy is OnDuplicate.UPDATE:
            return self._update(p, best.id, ctx)
        # "Create anyway" still may not create a second customer someone else works.
        blocking, _ = apply_rules(
            s.runtime.dedup.customer_rules,
            RuleEvent.CREATE,
            p.customer.owner_id,
            [MatchedRecord(d.id, d.public.score, d.owner_id, d.co_owner_ids) for d in ordered],
        )
        if blocking:
            return _collision(p.row.number, described[blocking[0][0].id].public)
        return None

    def _write(self, to_create: list[_Prepared]) -> None:
        """The bulk path: one multi-row insert per table, audit and index in bulk, with the
        index entries and audit diffs computed where the rows were prepared."""
        s = self._s
        index = s.dedup_index
        customers = [p.customer for p in to_create]
        people = [(p.contact, p.ready) for p in to_create if p.contact is not None]
        contacts = [c for c, _ in people]
        s.uow.customers.add_many(customers, contacts=contacts)
        index.put(
            "customer",
            [
                IndexEntry(
                    p.customer.id, p.ready.encoded, p.keys, index.place("customer", p.record)
                )
                for p in to_create
            ],
            [x for p in to_create for x in p.pairs],
            new=True,
        )
        s.customers.record_created(
            customers, note="import", audit=[p.ready.audit for p in to_create]
        )
        if people:
            s.dedup_index.put(
                "contact",
                [IndexEntry(c.id, *r.contact_index) for c, r in people if r.contact_index],
                new=True,
            )
            s.contacts.record_created(
                contacts, note="import", audit=[r.contact_audit for _, r in people]
            )

    def _row_problem(self, row: SheetRow) -> RowResult | None:
        if row.problem is not None:
            code = f"row.{row.problem}"
            text = {
                "row.encoding": (
                    "the row's characters cannot be decoded",
                    "该行字符无法识别（编码错误）",
                ),
                "row.formula": ("a formula without a computed value", "含有未计算结果的公式"),
            }.get(code, (code, code))
            return RowResult(
                row.number, Outcome.FAILED, problems=(RowProblem(None, "row", code, None, *text),)
            )
        if row.is_blank:
            return RowResult(
                row.number,
                Outcome.FAILED,
                problems=(RowProblem(None, "row", "row.empty", None, "the row is empty", "空行"),),
            )
        return None

    def _update(self, p: _Prepared, match_id: str, ctx: _Context) -> RowResult:
        """Fill the matched customer with the row's fields, and add the row's contact unless
        the customer has one of that name or mobile already; a dry run validates the same
        changes without writing, so it reports the outcome the run will have."""
        row = p.row
        fields, contact_fields = self._row_fields(row, ctx)  # _inputs raised already if bad
        fields.pop("owner", None)
        fields.pop("kind", None)
        changes = {k: v for k, v in fields.items() if v not in (None, "")}
        customers = self._s.customers
        try:
            before = customers.get(match_id)
            write = customers.prepare_update if ctx.dry_run else customers.update
            after = write(match_id, **changes)
        except ValidationError as exc:
            return _failed(row.number, exc.errors, ctx.header_of)
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
            added = self._add_contact(match_id, p.contact, contact_fields)
        return RowResult(
            row.number,
            Outcome.UPDATED,
            customer_id=match_id,
            duplicate_of=match_id,
            contact_id=added,
            undo=undo,
        )

    def _add_contact(
        self, customer_id: str, contact: Contact, fields: Mapping[str, Any]
    ) -> str | None:
        """The row's contact (checked when the row was prepared) added to the customer the
        row updated, through ``contacts.create`` (rules, audit, events); None when the
        customer has a contact of that name or mobile already, which is how re-importing
        a file adds nothing, or when a duplicate rule blocks it."""
        s = self._s
        for c in s.uow.contacts.for_customer(customer_id):
            if c.name == contact.name or (
                contact.mobile is not None and c.mobile == contact.mobile
            ):
                return None
        try:
            return s.contacts.create(customer_id=customer_id, **fields).id
        except DuplicateError:
            return None


def _failed(number: int, errors: Sequence[FieldError], headers: Mapping[str, str]) -> RowResult:
    return RowResult(
        number, Outcome.FAILED, problems=tuple(row_problem(e, headers) for e in errors)
    )


def _batches(rows: Iterator[SheetRow], size: int) -> Iterator[list[SheetRow]]:
    batch: list[SheetRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fields(row: SheetRow, header_map: HeaderMapping) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer fields and the contact fields of one row."""
    fields: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for position, field in header_map.columns.items():
        value = row.cells[position] if position < len(row.cells) else None
        if value is None or not value.strip():
            continue
        if field in CONTACT_COLUMNS:
            contact[field.removeprefix("contact_")] = value
        elif field.startswith("custom."):
            custom[field.removeprefix("custom.")] = value
        else:
            fields[field] = value
    if custom:
        fields["custom"] = custom
    return fields, contact


def _place_nameless_contact(
    fields: dict[str, Any], contact: dict[str, Any], region: str, header_of: Mapping[str, str]
) -> None:
    """A row's contact details without the contact's name, which a contact needs.

    The contact's mobile still says how to reach the company: a valid one becomes the
    customer's mobile, or else its phone, where the row leaves that empty (moved from
    ``contact`` into ``fields``). Details that find no place fail the row rather than
    vanish.

    Raises:
        ValidationError: ``contact.name`` ``required_with`` the columns given, and the
            mobile's own error if it is not a valid mobile number.
    """
    if not contact or contact.get("name"):
        return
    errors = FieldErrors()
    mobile = contact.get("mobile")
    if mobile is not None:
        try:
            number = Phone.parse(mobile, region, field="contact.mobile", require=PhoneKind.MOBILE)
        except ValidationError as exc:
            errors.extend(exc.errors)
        else:
            if number in (_phone_or_none(fields.get(f), region) for f in ("mobile", "phone")):
                del contact["mobile"]  # the customer's own number already: kept
            else:
                slot = next((f for f in ("mobile", "phone") if f not in fields), None)
                if slot is not None:
                    fields[slot] = contact.pop("mobile")
    if contact:
        given = ", ".join(header_of.get(f"contact_{f}", f) for f in contact)
        errors.add("contact.name", "required_with", None, given=given)
    errors.raise_if_any()


def _phone_or_none(text: str | None, region: str) -> Phone | None:
    if text is None:
        return None
    try:
        return Phone.parse(text, region)
    except ValidationError:
        return None  # the row's own check reports it


# ``match_on`` choices: the match record field that must be equal.
NATURAL_KEYS: Final = {"uscc": "uscc", "name": "name", "mobile": "phones", "email": "emails"}


@attrs.define
class _Prepared:
    row: SheetRow
    customer: Customer
    contact: Contact | None
    record: Record
    keys: frozenset[int]
    ready: PreparedRow  # with the encoded records and audit diffs
    pairs: list[StoredPair] = attrs.Factory(list)


class _FileIndex:
    """The rows of this file so far, by blocking key: in-file duplicates without comparing
    every pair of rows."""

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher
        self._by_key: dict[int, list[int]] = {}
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
        for key in keys:
            holders = self._by_key.setdefault(key, [])
            if len(holders) < self._cap:
                holders.append(number)


@attrs.define
class _Context:
    header_map: HeaderMapping
    header_of: dict[str, str]
    owners: _OwnerLookup
    policy: OnDuplicate
    dry_run: bool
    match_on: str | None
    in_file: _FileIndex
    imported_before: dict[int, str] = attrs.Factory(dict)
    created: set[str] = attrs.Factory(set)  # customers this run created

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


def _collision(row: int, match: DuplicateMatch) -> RowResult:
    return RowResult(
        row, Outcome.DUPLICATE, duplicate_of=f"{match.name} ({match.owner_name or '-'})"
    )


class _OwnerLookup:
    """Resolve an owner cell (a login or a user's name) to a user id, cached per import."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._cache: dict[str, str] = {}

    def resolve(self, text: str) -> str:
        key = text.strip()
        if key not in self._cache:
            users = self._s.uow.users
            user = users.get_by_login(key.lower())
            if user is None:
                page = users.list(_user_query(key), after=None, limit=2)
                exact = [u for u in page.items if u.name == key]
                user = exact[0] if len(exact) == 1 else None
            if user is None or user.is_deleted:
                raise ValidationError([FieldError("owner", "not_found_ref", text)])
            self._cache[key] = user.id
        return self._cache[key]


def _user_query(name: str) -> Any:
    from crmkit.storage.ports import UserQuery

    return UserQuery(text=name)


@attrs.frozen
class RevertReport:
    """What reverting an import did: customers sent to the recycle bin, customers whose
    updated fields were put back, field changes kept because someone changed the field
    again since the import, and contacts the import had added to customers it updated,
    sent to the recycle bin (a created customer's contacts go with it, uncounted)."""

    job_id: str
    deleted: int
    restored: int
    kept_changes: int
    contacts_deleted: int = 0


__all__ = [
    "ImportReport",
    "ImportService",
    "OnDuplicate",
    "Outcome",
    "RevertReport",
    "RowProblem",
    "RowResult",
    "TableError",
]
