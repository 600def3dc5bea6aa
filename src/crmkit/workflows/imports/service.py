"""``session.imports``: bring customers in from a spreadsheet, and look back at imports."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from crmkit.adapters.tabular import Format, read_table, write_table
from crmkit.domain.errors import NotFound
from crmkit.domain.headers import HeaderMapping, map_headers
from crmkit.domain.imports import ImportJob, ImportReport, RowResult
from crmkit.domain.messages import active_language
from crmkit.storage.ports import ImportQuery, Page
from crmkit.workflows._common import page_limit
from crmkit.workflows.context import Permission
from crmkit.workflows.imports.pipeline import run_import, stored_rows
from crmkit.workflows.imports.revert import RevertReport, revert_job
from crmkit.workflows.imports.rows import IMPORT_FIELDS

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


class ImportService:
    """``session.imports``: bring customers in from a spreadsheet."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def preview(self, source: str | Path | IO[bytes], **options: Any) -> ImportReport:
        """Report each row's outcome without writing anything (a dry run). Options as
        :meth:`run`. The report's labels say what the import *would* do (``将创建``,
        ``Outcome.label(dry_run=True)``), and ``report.mapping.warnings`` lists the columns
        whose cells it would not keep."""
        return run_import(self._s, source, dry_run=True, **options)

    def run(self, source: str | Path | IO[bytes], **options: Any) -> ImportReport:
        """Import the rows as one import job, batch by batch.

        Every row ends in exactly one outcome, kept with the job, which names the customer
        it created, updated or duplicates (``RowResult.customer_name``). By default each batch is
        committed as it is done (``session.commit()``), so a long import neither holds other
        writers up nor loses its work to an interruption: running the same file again (same
        content, same actor) while its job is unfinished *resumes* after the last committed
        row, and the report covers every row. Importing a file that was imported before
        (and not reverted) creates nothing a second time: rows that created or updated a
        customer then are reported as duplicates of it, whatever the policy; rows it
        skipped are decided again.

        Args:
            source: a CSV or XLSX path or binary file object.
            mapping: header -> field overrides (``""`` ignores a column). Several columns
                may give the region: ``province``, ``city`` and ``district`` (``省份``,
                ``城市``, ``区县`` map to them by themselves) and any number on ``region``;
                their cells combine into one region, and a row whose cells disagree fails
                with ``region.conflict`` (or ``region.mismatch``).
            on_duplicate: what to do with a row that duplicates a customer the actor may
                see, in the store or an earlier row of the file (which stands for the
                customer that row created, updated or duplicates): ``"skip"`` (default:
                report it as a ``duplicate``), ``"update"`` (write the row's non-empty
                fields to that customer, in row order, and add its contact) or
                ``"create"`` (create it anyway, the pair kept for review, unless the
                duplicate rules forbid it: a customer another user owns than the row's
                owner). A customer someone else works is never touched, whatever the
                policy, nor is a row duplicating an earlier row that duplicates one.
                docs/how-to/intake.md tabulates every case.
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
        return run_import(self._s, source, dry_run=False, **options)

    def inspect(
        self,
        source: str | Path | IO[bytes],
        *,
        mapping: Mapping[str, str] | None = None,
        sheet: str | None = None,
    ) -> tuple[list[str | None], HeaderMapping]:
        """The file's header row and how its columns would be mapped (before any dry run):
        what an import form shows for the user to correct, with a warning
        (``mapping.warnings``) for every column whose cells the import would not keep.

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
        return s._uow.imports.list(ImportQuery(actor_id=mine), after=after, limit=limit)

    def job(self, job_id: str) -> ImportJob:
        """One import job (``NotFound`` if absent or someone else's, for a non-admin)."""
        s = self._s
        job = s._uow.imports.get(job_id)
        if job is None or (
            job.actor_id != s.actor.id and not s.actor.can(Permission.IMPORT_REVERT)
        ):
            raise NotFound("import", job_id)
        return job

    def report(self, job_id: str) -> ImportReport:
        """The row-by-row report of an import job, as stored (also for one resumed or run
        long ago)."""
        job = self.job(job_id)
        results = _named(self._s, tuple(stored_rows(self._s, job.id)))
        mapping = HeaderMapping(
            columns={int(k): v for k, v in job.options.get("columns", {}).items()},
            unknown=tuple(job.options.get("unknown", ())),
        )
        return ImportReport(results, mapping, False, job.id)

    @staticmethod
    def write_report(
        report: ImportReport, target: str | Path | IO[bytes], *, format: Format = "csv"
    ) -> None:
        """Write a report as CSV or XLSX: one line per row with its outcome (what a dry run
        would do: ``将创建``), the customer's name, what it duplicates (a row of the file or
        a customer, by name) and every problem (column: message), in the active language."""
        lang = active_language()
        rows = [
            [
                r.row,
                r.label(lang, dry_run=report.dry_run),
                r.customer_name or r.customer_id or "",
                r.duplicate_text(lang),
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
        self._s.require(Permission.IMPORT_REVERT)
        return revert_job(self._s, self.job(job_id))


def _named(s: Session, results: tuple[RowResult, ...]) -> tuple[RowResult, ...]:
    """Rows kept before rows named their customer, named now by the customer's current
    name (the customers the import wrote or matched: the actor could read them then)."""
    missing = sorted({r.customer_id for r in results if r.customer_id and not r.customer_name})
    if not missing:
        return results
    names = {c.id: c.name for c in s._uow.customers.get_many(missing)}
    return tuple(
        attrs.evolve(r, customer_name=names[r.customer_id])
        if r.customer_id in names and not r.customer_name
        else r
        for r in results
    )
