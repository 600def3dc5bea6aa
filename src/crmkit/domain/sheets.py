"""Spreadsheet import of kernel entities (products …): the outcome of each row, the report.

Every data row of an import ends in exactly one :class:`ImportOutcome`. A dry run writes
nothing and says so in its outcomes: a row it would create is ``would_create``, never
``created``. A row whose key (the entity's unique field, a product's code) names a record
already stored, or a row earlier in the same file, follows the import's
:class:`DuplicatePolicy`.

(Customers have their own import, with duplicate matching, jobs and revert:
:mod:`crmkit.domain.imports`. Its :class:`~crmkit.domain.imports.RowProblem` is shared.)
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from crmkit.domain import display
from crmkit.domain.headers import HeaderMapping
from crmkit.domain.imports import RowProblem
from crmkit.domain.messages import Language, active_language


class ImportOutcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"  # nothing to do: see ImportedRow.reason
    FAILED = "failed"  # see ImportedRow.problems
    WOULD_CREATE = "would_create"  # a dry run's "created"
    WOULD_UPDATE = "would_update"  # a dry run's "updated"

    def label(self, lang: Language | None = None) -> str:
        """The outcome's label (crmkit's display layer): 已新建, a dry run's 将新建."""
        return display.label(self, lang)


class DuplicatePolicy(enum.StrEnum):
    """What a row whose key is taken does (by a stored record, or an earlier row)."""

    SKIP = "skip"  # skipped, nothing written
    UPDATE = "update"  # the record gets the row's non-empty cells
    ERROR = "error"  # the row fails, naming the key column


class SkipReason(enum.StrEnum):
    EXISTS = "exists"  # its key names a stored record (policy skip)
    DUPLICATE_ROW = "duplicate_row"  # its key repeats an earlier row (policy skip)
    UNCHANGED = "unchanged"  # an update that changes nothing (policy update)
    EMPTY = "empty"  # a blank row

    def message(self, lang: Language | None = None, *, row: int | None = None) -> str:
        en, zh = REASON_TEXTS[self]
        return (en if (lang or active_language()) == "en" else zh).format(row=row)


REASON_TEXTS: Final[dict[SkipReason, tuple[str, str]]] = {
    SkipReason.EXISTS: ("already stored", "已存在"),
    SkipReason.DUPLICATE_ROW: ("repeats row {row}", "与第 {row} 行重复"),
    SkipReason.UNCHANGED: ("already up to date", "没有变化"),
    SkipReason.EMPTY: ("the row is empty", "空行"),
}


@attrs.frozen
class ImportedRow:
    """What happened to one data row.

    Attributes:
        row: its number in the sheet (the header is row 1 when it is the first line).
        outcome: what happened.
        name: the record's name as the row gives it (else the stored record's), for people.
        key: the row's key (the product code), if the entity has one and the row gives it.
        id: the record created, updated or skipped (None for a failed row and for a
            dry run's would-be new record).
        reason: why a skipped row was skipped.
        duplicate_of: the earlier row of the file with the same key, for a skipped or
            failed repeat (and for an update of a record that row created).
        changed: the fields an update changed (or would change).
        problems: why a failed row failed: every wrong field, naming its column.
    """

    row: int
    outcome: ImportOutcome
    name: str | None = None
    key: str | None = None
    id: str | None = None
    reason: SkipReason | None = None
    duplicate_of: int | None = None
    changed: tuple[str, ...] = ()
    problems: tuple[RowProblem, ...] = ()

    @property
    def label(self) -> str:
        """``智能门锁 (LK-100)``: how a report names the row's record."""
        if self.name and self.key:
            return f"{self.name} ({self.key})"
        return self.name or self.key or ""

    def note(self, lang: Language | None = None) -> str:
        """The reason or the problems, as one line in ``lang``."""
        lang = lang or active_language()
        if self.problems:
            sep = ": " if lang == "en" else "："
            return "; ".join(f"{p.column or p.field}{sep}{p.message(lang)}" for p in self.problems)
        if self.reason is not None:
            return self.reason.message(lang, row=self.duplicate_of)
        return ""


@attrs.frozen
class EntityImportReport:
    """The row-by-row outcome of an import (or of a dry run) of one file.

    Attributes:
        entity: the entity type (``"product"``).
        rows: one result per data row, in sheet order.
        headers: the file's header row.
        mapping: which column went to which sheet column key (and the headers that went
            nowhere: ``mapping.unknown``).
        dry_run: nothing was written.
        on_duplicate: the policy it ran with.
    """

    entity: str
    rows: tuple[ImportedRow, ...]
    headers: tuple[str | None, ...]
    mapping: HeaderMapping
    dry_run: bool
    on_duplicate: DuplicatePolicy

    def count(self, outcome: ImportOutcome | str) -> int:
        wanted = ImportOutcome(outcome)
        return sum(1 for r in self.rows if r.outcome is wanted)

    @property
    def counts(self) -> dict[str, int]:
        """Outcome -> rows, every outcome listed (zeros too)."""
        return {o.value: self.count(o) for o in ImportOutcome}

    def by_outcome(self, outcome: ImportOutcome | str) -> tuple[ImportedRow, ...]:
        wanted = ImportOutcome(outcome)
        return tuple(r for r in self.rows if r.outcome is wanted)

    @property
    def ok(self) -> bool:
        """No row failed."""
        return not any(r.outcome is ImportOutcome.FAILED for r in self.rows)
