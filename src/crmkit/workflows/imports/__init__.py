"""Importing customers from CSV/XLSX: every row ends in exactly one outcome.

Rows are read, mapped by header, validated by the same rules as ``customers.create``,
checked for duplicates inside the file and against the store, and written in batches through
the bulk path. A dry run (``preview``) reports the same outcomes without writing.

Duplicates are found by the configured matcher (``crmkit.DedupConfig``): within the file
through an in-memory key index of the rows read so far, and against the store through its
duplicate index, one batched lookup per batch of rows. A customer someone else works is
never duplicated, updated or disclosed (anti-collision); what happens to one's own, in the
store or an earlier row of the file alike, is the ``on_duplicate`` policy (``matching``).

``service`` is ``session.imports``; ``pipeline`` runs one import batch by batch; ``rows``
turns a sheet row into fields; ``matching`` decides a row against the file and the store;
``revert`` undoes a finished import.
"""

from crmkit.adapters.tabular import TableError
from crmkit.domain.imports import ImportReport, OnDuplicate, Outcome, RowProblem, RowResult
from crmkit.workflows.imports.pipeline import BATCH, COMMIT_ROWS
from crmkit.workflows.imports.revert import RevertReport
from crmkit.workflows.imports.rows import IMPORT_FIELDS
from crmkit.workflows.imports.service import ImportService

__all__ = [
    "BATCH",
    "COMMIT_ROWS",
    "IMPORT_FIELDS",
    "ImportReport",
    "ImportService",
    "OnDuplicate",
    "Outcome",
    "RevertReport",
    "RowProblem",
    "RowResult",
    "TableError",
]
