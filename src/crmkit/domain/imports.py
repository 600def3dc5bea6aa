"""Import outcomes and import jobs: the vocabulary of spreadsheet intake.

An import is a *job*: it is recorded when it starts, commits its rows batch by batch, and
is finished, resumed (after an interruption) or reverted as a whole. Each data row ends in
exactly one :class:`Outcome`, kept with the job, so the report of a resumed or old import
is complete.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from crmkit.domain import display
from crmkit.domain.errors import WorkflowError
from crmkit.domain.headers import HeaderMapping
from crmkit.domain.messages import Language, active_language


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    FAILED = "failed"

    def label(self, lang: Language | None = None, *, dry_run: bool = False) -> str:
        """How a report names the outcome: ``已创建``, or for a dry run, which wrote
        nothing, what the import would do: ``将创建``."""
        # The labels live with every other label, in crmkit's display layer.
        return display.label(self.value, lang, of="OutcomeDryRun" if dry_run else "Outcome")


class OnDuplicate(enum.StrEnum):
    SKIP = "skip"  # report the row as a duplicate, write nothing
    UPDATE = "update"  # update the matching customer with the row's non-empty fields
    CREATE = "create"  # create it anyway


def _storable(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


@attrs.frozen
class RowProblem:
    """One reason a row failed: the sheet column, the field, a code and the messages.

    ``value`` is the offending value as typed, except that a NUL shows as U+FFFD: no
    PostgreSQL text (or JSONB) can hold it, and the report a run returns must be the one
    its store keeps.
    """

    column: str | None
    field: str
    code: str
    value: Any = attrs.field(converter=_storable)
    message_en: str
    message_zh: str

    def message(self, lang: Language) -> str:
        return self.message_en if lang == "en" else self.message_zh


@attrs.frozen
class RowResult:
    """What happened to one data row.

    Attributes:
        row: the row's number in the sheet (the header is row 1).
        outcome: created, updated, duplicate or failed.
        customer_id: the customer created or updated (or, for a duplicate of a customer
            the actor may read, that customer).
        customer_name: the name of that customer, for people: the customer the row
            created (or, in a dry run, would create), the one it updated, or the one it
            duplicates (in the store, or the customer of the earlier row of the file).
        duplicate_of: ``"row 7"`` for a duplicate inside the file, a customer id for one in
            the store, ``"name (owner)"`` for a customer someone else works.
        problems: why the row failed, one per wrong field.
        contact_id: the contact the row added: a created customer's first contact, or one
            added to the customer the row updated (None: none, or a dry run).
        undo: for an updated row, the fields the import changed, ``field -> [before,
            after]`` (plain values), so that reverting the import can put them back.
    """

    row: int
    outcome: Outcome
    customer_id: str | None = None
    duplicate_of: str | None = None
    problems: tuple[RowProblem, ...] = ()
    contact_id: str | None = None
    undo: Mapping[str, tuple[Any, Any]] | None = attrs.field(default=None, eq=False, repr=False)
    customer_name: str | None = None

    def label(self, lang: Language | None = None, *, dry_run: bool = False) -> str:
        """The outcome as a report names it (see :meth:`Outcome.label`)."""
        return self.outcome.label(lang, dry_run=dry_run)

    def duplicate_text(self, lang: Language | None = None) -> str:
        """What the row duplicates (or updated), for people: ``第 7 行`` / ``row 7``, the
        customer's name rather than its id, or ``name (owner)`` as given."""
        if self.duplicate_of is None:
            return ""
        if self.duplicate_of.startswith("row "):
            number = self.duplicate_of.removeprefix("row ")
            return f"row {number}" if (lang or active_language()) == "en" else f"第 {number} 行"
        if self.duplicate_of == self.customer_id and self.customer_name:
            return self.customer_name
        return self.duplicate_of


@attrs.frozen
class ImportReport:
    """Per-row outcomes of an import (or of a dry run) and their counts."""

    results: tuple[RowResult, ...]
    mapping: HeaderMapping
    dry_run: bool
    job_id: str | None = None  # the import job (None for a dry run)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    def label(self, outcome: Outcome, lang: Language | None = None) -> str:
        """An outcome as this report names it: ``将创建`` in a dry run, ``已创建`` after it."""
        return outcome.label(lang, dry_run=self.dry_run)

    def labelled_counts(self, lang: Language | None = None) -> dict[str, int]:
        """The counts keyed by their labels in ``lang`` (``{"将创建": 2, …}`` for a dry run)."""
        return {self.label(o, lang): self.count(o) for o in Outcome}

    @property
    def counts(self) -> dict[str, int]:
        return {o.value: self.count(o) for o in Outcome}

    @property
    def rows_read(self) -> int:
        return len(self.results)


class ImportStatus(enum.StrEnum):
    RUNNING = "running"  # started; interrupted if nobody is running it any more
    FINISHED = "finished"
    REVERTED = "reverted"


@attrs.frozen(kw_only=True)
class ImportJob:
    """One import of one file.

    Attributes:
        source_name: the file's name (or ``"upload"``).
        file_sha256: the file's content hash: the same file imported again is recognised,
            and an interrupted import of it resumed.
        options: the options it ran with (mapping, on_duplicate, match_on, sheet).
        rows_done: the last sheet row whose outcome is committed.
        counts: outcome -> rows, once finished.
    """

    id: str
    source_name: str
    file_sha256: str
    actor_id: str
    status: ImportStatus = ImportStatus.RUNNING
    options: Mapping[str, Any] = attrs.field(factory=dict)
    rows_done: int = 1
    counts: Mapping[str, int] = attrs.field(factory=dict)
    created_at: datetime
    finished_at: datetime | None = None
    reverted_at: datetime | None = None
    reverted_by: str | None = None
    version: int = 1

    def revert(self, *, by: str, at: datetime) -> ImportJob:
        """This job marked reverted.

        Raises:
            WorkflowError: it is not finished (running, or reverted already).
        """
        if self.status is not ImportStatus.FINISHED:
            raise WorkflowError(
                "import",
                self.status.value,
                "revert",
                state_zh={"running": "进行中", "reverted": "已撤销"}.get(self.status.value),
                move_zh="撤销导入",
            )
        return attrs.evolve(
            self,
            status=ImportStatus.REVERTED,
            reverted_at=at,
            reverted_by=by,
            version=self.version + 1,
        )


def result_to_plain(r: RowResult) -> dict[str, Any]:
    """A row result as JSON-ready values (what stores keep).

    Its problems are a tuple, the shared empty one for most rows: a dict holding only
    strings, numbers and empty tuples is one the garbage collector does not track, and an
    import writes one for every row (a list would keep the dict, and the row holding it,
    in the collector's care until they are freed)."""
    from crmkit.domain.converter import to_plain

    return {
        "row": r.row,
        "outcome": r.outcome.value,
        "customer_id": r.customer_id,
        "duplicate_of": r.duplicate_of,
        "contact_id": r.contact_id,
        "customer_name": r.customer_name,
        "problems": tuple(
            {
                "column": p.column,
                "field": p.field,
                "code": p.code,
                "value": to_plain(p.value) if p.value is not None else None,
                "message_en": p.message_en,
                "message_zh": p.message_zh,
            }
            for p in r.problems
        ),
        "undo": {k: list(v) for k, v in r.undo.items()} if r.undo is not None else None,
    }


def result_from_plain(d: Mapping[str, Any]) -> RowResult:
    """Inverse of :func:`result_to_plain`."""
    undo = d.get("undo")
    return RowResult(
        row=int(d["row"]),
        outcome=Outcome(d["outcome"]),
        customer_id=d.get("customer_id"),
        duplicate_of=d.get("duplicate_of"),
        contact_id=d.get("contact_id"),
        customer_name=d.get("customer_name"),
        problems=tuple(RowProblem(**p) for p in d.get("problems") or ()),
        undo={k: (v[0], v[1]) for k, v in undo.items()} if undo is not None else None,
    )
