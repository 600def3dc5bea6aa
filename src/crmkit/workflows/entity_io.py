"""Spreadsheets in and out of any entity on the kernel: ``service.import_file`` and
``service.export`` (``session.products.import_file("价目表.xlsx")``).

The columns come from the service's declaration (:func:`sheet_columns`): one per input field,
a reference (``category_id``) given by the referenced record's name or tree path (类别
``门锁/智能门锁``), and one per custom field. Headers map to columns by the service's
``sheet_headers`` synonyms, the fields' labels in both languages, and an explicit mapping,
through the same :func:`~crmkit.domain.headers.map_headers` the customer import uses.

Every row goes through the service's own :meth:`~EntityService.create` or
:meth:`~EntityService.update`, so validation, permissions, audit and events hold as for a
record typed by hand. A row that fails writes nothing and does not undo the others: the
service checks every rule before it writes, and a unique value that a concurrent writer took
in the meantime is refused by the store inside a savepoint of its own, as the same
``ValidationError``. (A service whose ``on_created``/``on_updated`` hook writes and then
raises would break this; crmkit's hooks only raise before writing.) A dry run asks the
service the same questions (:meth:`~EntityService.check_create`,
:meth:`~EntityService.check_changes`) and writes nothing, remembering what earlier rows
would have created, so its outcomes are the ones the import would have (except for a row
that names, as a reference, a record an earlier row of the same file would create: a
category file's parent; the dry run cannot resolve that name and reports the row failed).

Why not the customer import's job machinery (jobs table, resume, revert): it is built
around the customer matcher, the dedup index and the bulk insert path, and its jobs, their
row outcomes and their revert are customers' (``ImportJob``, ``RowResult.customer_id``,
``import.revert``). A product price list is thousands of rows, not a million: one
synchronous pass through the service, its report returned, is the simpler fit. Shared with
it: the table reader, the header mapping, :class:`~crmkit.domain.imports.RowProblem` and how
a sheet row's own problems (encoding, an uncomputed formula) are reported.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from crmkit.adapters.tabular import FORMULA_PREFIXES, Format, SheetRow, read_table, write_table
from crmkit.domain.audit import diff
from crmkit.domain.custom_fields import CustomField
from crmkit.domain.errors import CRMError, FieldErrors, ValidationError
from crmkit.domain.headers import HeaderMapping, map_headers
from crmkit.domain.imports import RowProblem
from crmkit.domain.intake import error_problem, row_problem
from crmkit.domain.messages import ENTITY_NAMES_ZH, Language, active_language, field_label
from crmkit.domain.sheets import (
    DuplicatePolicy,
    EntityImportReport,
    ImportedRow,
    ImportOutcome,
    SkipReason,
)
from crmkit.domain.values import Money, normalize_text
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import EntitySpec, Filter, Op
from crmkit.workflows.imports.rows import sheet_problem

if TYPE_CHECKING:
    from crmkit.workflows.entity import EntityService
    from crmkit.workflows.session import Session

PAGE = 500  # records per page read for an export
MAX_DEPTH = 20  # a tree deeper than this is a data error; paths stop there
# A 状态 column says 启用/停用 as often as 是/否.
STATE_WORDS = {
    "启用": "是",
    "已启用": "是",
    "有效": "是",
    "正常": "是",
    "在售": "是",
    "enabled": "yes",
    "停用": "否",
    "已停用": "否",
    "禁用": "否",
    "无效": "否",
    "停售": "否",
    "disabled": "no",
}
_SLASH = re.compile(r"\s*/\s*")


@attrs.frozen
class SheetColumn:
    """One column of an entity's spreadsheets.

    Attributes:
        key: what a header maps to (``"price"``, ``"category"``, ``"custom.warranty"``).
        field: the service input it fills (``"price"``, ``"category_id"``, ``"custom"``).
        header_zh: the header an export writes in 简体中文 (the field's label).
        header_en: the header an export writes in English.
        synonyms: every header spelling an import accepts for it.
        kind: the input field's kind (``money``, ``rate``, ``bool``, ``ref`` …).
        ref: for a reference, the entity it names (given by name or path, not id).
        custom: for a custom field, its definition.
    """

    key: str
    field: str
    header_zh: str
    header_en: str
    synonyms: tuple[str, ...] = ()
    kind: str = "value"
    ref: EntitySpec[Any] | None = attrs.field(default=None, eq=False)
    custom: CustomField | None = None

    def header(self, lang: Language | None = None) -> str:
        return self.header_en if (lang or active_language()) == "en" else self.header_zh


def sheet_columns(service: EntityService[Any]) -> tuple[SheetColumn, ...]:
    """The columns of ``service``'s spreadsheets, in export order: its input fields (a
    reference keyed without ``_id``), then its custom fields."""
    out: list[SheetColumn] = []
    for f in service.fields:
        ref = service.references.get(f.name)
        key = f.name.removesuffix("_id") if ref is not None else f.name
        en, zh = service.sheet_labels.get(key) or (
            _capital(field_label(f.name, "en")),
            field_label(f.name, "zh"),
        )
        spellings = (*service.sheet_headers.get(key, ()), zh, en, key, f.name)
        out.append(SheetColumn(key, f.name, zh, en, tuple(dict.fromkeys(spellings)), f.kind, ref))
    if service.custom:
        for c in service.custom_schema().fields:
            zh, en = c.label_zh or c.name, c.label_en or c.name
            spellings = tuple(dict.fromkeys((zh, en, c.name)))
            out.append(
                SheetColumn(f"custom.{c.name}", "custom", zh, en, spellings, "custom", None, c)
            )
    return tuple(out)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- import ---------------------------------------------------------------------------------
def import_file(
    service: EntityService[Any],
    source: str | Path | IO[bytes],
    *,
    mapping: Mapping[str, str] | None = None,
    dry_run: bool = False,
    on_duplicate: DuplicatePolicy | str = DuplicatePolicy.SKIP,
    sheet: str | None = None,
) -> EntityImportReport:
    """Create or update records of ``service`` from a CSV or XLSX file, row by row.

    Each row is read by header (synonyms, labels, ``mapping``), its references resolved by
    name, and handed to ``service.create`` (or ``update``); it ends in exactly one outcome:
    created, updated, skipped (an existing key under ``"skip"``, an update that changes
    nothing, a blank row) or failed (every wrong field, naming its column, in 简体中文 and
    English). A failed row writes nothing; the others stand. The work is the session's:
    it commits when the session does.

    Args:
        source: a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX path or binary file.
        mapping: header -> column key (``"price"``, ``"category"``, ``"custom.<name>"``;
            ``"category_id"`` works too), overriding the synonyms; ``""`` ignores a column.
        dry_run: write nothing; rows report ``would_create`` / ``would_update`` instead of
            ``created`` / ``updated`` (and everything else as the import would).
        on_duplicate: for a row whose key (the entity's unique field, e.g. a product's
            code) names a stored record the actor sees, or an earlier row of the file:
            ``"skip"`` it (default), ``"update"`` the record with the row's non-empty cells,
            or fail the row (``"error"``). A key held by a record the actor cannot see
            fails the row, as ``create`` would.
        sheet: the XLSX sheet (default: the first).

    Raises:
        TableError: the file is not a readable table.
        PermissionDenied: the actor may not create records of this entity.
        ValidationError: a bad option (``on_duplicate``, a ``mapping`` target).
    """
    policy = _policy(on_duplicate)
    columns = sheet_columns(service)
    explicit = _explicit(mapping, columns)
    service.require("create")
    table = read_table(source, sheet=sheet)
    header_map = map_headers(
        table.headers, explicit=explicit, synonyms={c.key: c.synonyms for c in columns}
    )
    run = _Import(service, {c.key: c for c in columns}, header_map, table.headers, policy, dry_run)
    rows = tuple(run.row(r) for r in table.rows)
    return EntityImportReport(
        service.spec.name, rows, tuple(table.headers), header_map, dry_run, policy
    )


def _policy(value: DuplicatePolicy | str) -> DuplicatePolicy:
    try:
        return DuplicatePolicy(value)
    except ValueError:
        errors = FieldErrors()
        choices = ", ".join(p.value for p in DuplicatePolicy)
        errors.add("on_duplicate", "invalid_choice", value, choices=choices)
        errors.raise_if_any()
        raise  # unreachable: raise_if_any raised


def _explicit(
    mapping: Mapping[str, str] | None, columns: tuple[SheetColumn, ...]
) -> dict[str, str] | None:
    """The caller's mapping with each target as a column key (``category_id`` →
    ``category``); every unknown target reported at once."""
    if mapping is None:
        return None
    keys = {c.key: c.key for c in columns} | {c.field: c.key for c in columns if not c.custom}
    errors = FieldErrors()
    out: dict[str, str] = {}
    for header, target in mapping.items():
        if target and target not in keys:
            errors.add(f"mapping.{header}", "invalid_choice", target, choices=", ".join(keys))
            continue
        out[header] = keys[target] if target else ""
    errors.raise_if_any()
    return out


class _Import:
    """One import's pass over its rows, and what earlier rows did (by key)."""

    def __init__(
        self,
        service: EntityService[Any],
        columns: Mapping[str, SheetColumn],
        header_map: HeaderMapping,
        headers: list[str | None],
        policy: DuplicatePolicy,
        dry_run: bool,
    ) -> None:
        self.service = service
        self.columns = columns
        self.header_map = header_map
        self.policy = policy
        self.dry_run = dry_run
        # field path (as errors name it) -> the header of its column, for row problems
        self.header_of: dict[str, str] = {}
        self.order: dict[str, int] = {}  # header -> its position, to list problems in order
        for position, key in header_map.columns.items():
            column = columns[key]
            self.header_of[key if column.custom else column.field] = str(headers[position])
            self.order.setdefault(str(headers[position]), position)
        unique = service.spec.unique
        key_field = next((f for f in service.fields if unique and f.name == unique[0]), None)
        self.key_field = key_field
        self.names = Names(service._s)
        # key -> (the first row that had it, the record as it now is, or would be)
        self.bound: dict[Any, tuple[int, Any]] = {}
        self.pretend: set[str] = set()  # ids of the records a dry run only would create

    # -- one row ------------------------------------------------------------------------
    def row(self, row: SheetRow) -> ImportedRow:
        early = sheet_problem(row)
        if early is not None:
            if row.problem is None:  # a blank row: nothing to import, nothing wrong
                return ImportedRow(row.number, ImportOutcome.SKIPPED, reason=SkipReason.EMPTY)
            return ImportedRow(row.number, ImportOutcome.FAILED, problems=early.problems)
        cells = self.cells(row)
        errors = FieldErrors()
        fields = self.fields(cells, errors)
        name = cells.get("name")
        key_name = self.key_field.name if self.key_field is not None else None
        key_text = cells.get(key_name) if key_name else None
        key = self.key(fields)
        current: Any = None
        earlier = self.bound.get(key) if key is not None else None
        first: int | None = None
        if earlier is not None:
            first, current = earlier
            if self.policy is DuplicatePolicy.SKIP:
                return ImportedRow(
                    row.number,
                    ImportOutcome.SKIPPED,
                    name or current.name,
                    key_text,
                    self.stored_id(current),
                    SkipReason.DUPLICATE_ROW,
                    duplicate_of=first,
                )
            if self.policy is DuplicatePolicy.ERROR:
                errors.add(key_name or "", "import.duplicate_row", key_text, row=first)
                return self.failed(row.number, name, key_text, errors)
        elif key is not None:
            current = self.stored(key)
            if current is not None and self.policy is DuplicatePolicy.SKIP:
                self.bound[key] = (row.number, current)
                return ImportedRow(
                    row.number,
                    ImportOutcome.SKIPPED,
                    name or current.name,
                    key_text,
                    current.id,
                    SkipReason.EXISTS,
                )
            if current is not None and self.policy is DuplicatePolicy.ERROR:
                errors.add(key_name or "", "taken", key_text, entity=self.service.spec.name)
                return self.failed(row.number, name, key_text, errors)
        if current is None:
            return self.create(row.number, fields, errors, name, key_text, key)
        return self.update(row.number, current, fields, errors, name, key_text, key, first)

    def create(
        self,
        number: int,
        fields: dict[str, Any],
        errors: FieldErrors,
        name: str | None,
        key_text: str | None,
        key: Any,
    ) -> ImportedRow:
        service = self.service
        try:
            if self.dry_run or errors:  # a row that fails already is only checked
                record = service.check_create(**fields)
            else:
                record = service.create(**fields)
        except ValidationError as exc:
            errors.extend(exc.errors)
        except CRMError as exc:
            return self.failed(number, name, key_text, errors, error_problem(exc))
        if errors:
            return self.failed(number, name, key_text, errors)
        if key is not None:
            self.bound[key] = (number, record)
        if not self.dry_run:
            self.names.forget(service.spec)  # a later row may name this record (a parent)
        if self.dry_run:
            self.pretend.add(record.id)
            return ImportedRow(number, ImportOutcome.WOULD_CREATE, name, key_text)
        return ImportedRow(number, ImportOutcome.CREATED, name, key_text, record.id)

    def update(
        self,
        number: int,
        current: Any,
        fields: dict[str, Any],
        errors: FieldErrors,
        name: str | None,
        key_text: str | None,
        key: Any,
        first: int | None,
    ) -> ImportedRow:
        service = self.service
        fixed = {f.name for f in service.fields if not f.editable}
        key_name = self.key_field.name if self.key_field is not None else None
        # The key found the record; fields that cannot change are left as they are.
        changes = {k: v for k, v in fields.items() if k != key_name and k not in fixed}
        try:
            if self.dry_run or errors:
                record = service.check_changes(current, **changes)
            else:
                record = service.update(current.id, version=current.version, **changes)
        except ValidationError as exc:
            errors.extend(exc.errors)
        except CRMError as exc:  # changed meanwhile (ConcurrencyError), not allowed …
            return self.failed(number, name, key_text, errors, error_problem(exc))
        if errors:
            return self.failed(number, name, key_text, errors)
        self.bound[key] = (first or number, record)
        if not self.dry_run:
            self.names.forget(service.spec)
        label = name or record.name
        if record.version == current.version:
            return ImportedRow(
                number,
                ImportOutcome.SKIPPED,
                label,
                key_text,
                self.stored_id(record),
                SkipReason.UNCHANGED,
                duplicate_of=first,
            )
        outcome = ImportOutcome.WOULD_UPDATE if self.dry_run else ImportOutcome.UPDATED
        return ImportedRow(
            number,
            outcome,
            label,
            key_text,
            self.stored_id(record),
            duplicate_of=first,
            changed=tuple(diff(current, record)),
        )

    def failed(
        self,
        number: int,
        name: str | None,
        key_text: str | None,
        errors: FieldErrors,
        *more: RowProblem,
    ) -> ImportedRow:
        found = [row_problem(e, self.header_of) for e in errors.errors]
        found.sort(key=lambda p: self.order.get(p.column or "", len(self.order)))
        problems = (*found, *more)
        return ImportedRow(number, ImportOutcome.FAILED, name, key_text, problems=problems)

    # -- helpers ------------------------------------------------------------------------
    def cells(self, row: SheetRow) -> dict[str, str]:
        """The row's non-empty cells by column key, as typed (an apostrophe that an
        export put before ``= + - @`` taken off again)."""
        out: dict[str, str] = {}
        for position, key in self.header_map.columns.items():
            text = row.cells[position] if position < len(row.cells) else None
            if text is None or not text.strip():
                continue
            if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
                text = text[1:]
            out[key] = text
        return out

    def fields(self, cells: Mapping[str, str], errors: FieldErrors) -> dict[str, Any]:
        """The service's input from the cells: references resolved by name, custom fields
        under ``custom``, yes/no words for a flag."""
        out: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, text in cells.items():
            column = self.columns[key]
            if column.custom is not None:
                custom[column.custom.name] = text
            elif column.ref is not None:
                found = self.names.resolve(column.ref, text, column.field, errors)
                if found is not None:
                    out[column.field] = found
            elif column.kind == "bool":
                out[column.field] = STATE_WORDS.get(text.strip().lower(), text)
            else:
                out[column.field] = text
        if custom:
            out["custom"] = custom
        return out

    def key(self, fields: Mapping[str, Any]) -> Any:
        """The row's key in its stored form (None: no key, or one that fails to parse,
        which ``create`` then reports)."""
        field = self.key_field
        if field is None or fields.get(field.name) is None:
            return None
        return field.parse(fields[field.name], FieldErrors(), field.name)

    def stored(self, key: Any) -> Any:
        """The live record the actor sees with this key, if any."""
        assert self.key_field is not None
        page = self.service.list(limit=1, **{self.key_field.name: key})
        return page.items[0] if page.items else None

    def stored_id(self, record: Any) -> str | None:
        return None if record.id in self.pretend else str(record.id)


class Names:
    """Records that other records refer to, by name or tree path (an import's 类别
    ``门锁/智能门锁``), and their names or paths by id (an export's), read as needed and
    kept for one import or export. Lookups are the actor's: a record outside their scope
    has no name here."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._by_id: dict[tuple[str, str], Any] = {}
        self._by_name: dict[tuple[str, str], list[Any]] = {}

    def forget(self, spec: EntitySpec[Any]) -> None:
        """Drop what is known of ``spec``'s records (one of them was just written)."""
        for cache in (self._by_id, self._by_name):
            for known in [k for k in cache if k[0] == spec.name]:
                del cache[known]

    def record(self, spec: EntitySpec[Any], id: str) -> Any:
        """The record ``id`` (deleted ones too), or None outside the actor's scope."""
        if (spec.name, id) not in self._by_id:
            repo = self._s._uow.repo(spec)
            self._by_id[spec.name, id] = repo.get(id, self._s.actor.scope)
        return self._by_id[spec.name, id]

    def path(self, spec: EntitySpec[Any], record: Any) -> list[str]:
        """The names from the top of the tree down to ``record`` (just its name when the
        entity is no tree)."""
        names = [str(record.name)]
        node, seen = record, {record.id}
        while "parent_id" in spec.columns and node.parent_id and len(names) < MAX_DEPTH:
            node = self.record(spec, node.parent_id)
            if node is None or node.id in seen:
                break
            seen.add(node.id)
            names.append(str(node.name))
        return names[::-1]

    def label(self, spec: EntitySpec[Any], id: str) -> str | None:
        """``门锁/智能门锁``: how an export names the record ``id`` (None if unknown)."""
        record = self.record(spec, id)
        if record is None:
            return None
        if not hasattr(record, "name"):
            return id
        return "/".join(self.path(spec, record))

    def named(self, spec: EntitySpec[Any], name: str) -> list[Any]:
        """The live records in scope called ``name``."""
        if (spec.name, name) not in self._by_name:
            found: list[Any] = []
            if "name" in spec.columns:
                repo = self._s._uow.repo(spec)
                query = EntityQuery(filters=(Filter("name", Op.EQ, name),))
                found = list(repo.list(query, self._s.actor.scope, after=None, limit=50).items)
                for r in found:
                    self._by_id.setdefault((spec.name, r.id), r)
            self._by_name[spec.name, name] = found
        return self._by_name[spec.name, name]

    def resolve(
        self, spec: EntitySpec[Any], text: str, field: str, errors: FieldErrors
    ) -> str | None:
        """The id of the one live record ``text`` names: by name, by the end of its path
        (``门锁/智能门锁``, ``智能门锁``) or by id; else an error on ``field``."""
        wanted = _SLASH.sub("/", normalize_text(text))
        found = self.named(spec, wanted)
        parts = [p for p in wanted.split("/") if p]
        if not found and "parent_id" in spec.columns and len(parts) > 1:
            found = [
                r for r in self.named(spec, parts[-1]) if self.path(spec, r)[-len(parts) :] == parts
            ]
        if not found:
            record = self.record(spec, wanted)
            if record is not None and getattr(record, "deleted_at", None) is None:
                return str(record.id)
        if len(found) == 1:
            return str(found[0].id)
        if not found:
            errors.add(field, "ref.unknown_name", text, entity=spec.name)
        elif "parent_id" in spec.columns:
            example = "/".join(self.path(spec, found[0]))
            errors.add(field, "ref.ambiguous_path", text, count=len(found), example=example)
        else:
            errors.add(field, "ref.ambiguous", text, count=len(found))
        return None


# -- export ---------------------------------------------------------------------------------
def export(
    service: EntityService[Any],
    target: str | Path | IO[bytes],
    *,
    format: Format = "xlsx",
    lang: Language | None = None,
    q: str | None = None,
    **filters: Any,
) -> int:
    """Write every record of ``service`` the actor may see (``q`` and ``filters`` as its
    ``list``) to a spreadsheet that :func:`import_file` reads back unchanged.

    Headers are the fields' labels (简体中文 unless ``lang="en"`` or the active language
    says otherwise); a reference is written as the record's name (a category as its path,
    ``门锁/智能门锁``), money as plain decimal text (``1999.00``), a rate as ``13%``, a flag
    as 是/否 (yes/no), custom fields after the rest. Cells that a spreadsheet would run as a
    formula get a leading apostrophe (``tabular.write_table``), which the import removes.

    Returns:
        How many records were written.

    Raises:
        ValidationError: an unknown filter or format; nothing is written then.
        PermissionDenied: the actor may not read this entity.
    """
    if format not in ("csv", "xlsx"):
        errors = FieldErrors()
        errors.add("format", "invalid_choice", format, choices="csv, xlsx")
        errors.raise_if_any()
    service.require("read")
    service.query(filters, q=q)  # a wrong filter is refused before anything is written
    lang = lang or active_language()
    columns = sheet_columns(service)
    names = Names(service._s)
    count = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal count
        after: str | None = None
        while True:
            page = service.list(after=after, limit=PAGE, q=q, **filters)
            count += len(page.items)
            for record in page.items:
                yield [_cell(c, record, names, lang) for c in columns]
            if page.next_after is None:
                return
            after = page.next_after

    name = service.spec.name
    title = ENTITY_NAMES_ZH.get(name, name) if lang == "zh" else _capital(name.replace("_", " "))
    write_table([c.header(lang) for c in columns], rows(), target, format=format, sheet_title=title)
    return count


def _cell(column: SheetColumn, record: Any, names: Names, lang: Language) -> str | None:
    if column.custom is not None:
        value = (getattr(record, "custom", None) or {}).get(column.custom.name)
    else:
        value = getattr(record, column.field, None)
    if value is None or value == "" or value == ():
        return None
    if column.ref is not None:
        return names.label(column.ref, str(value))
    return export_text(value, column.kind, lang)


def export_text(value: Any, kind: str, lang: Language) -> str:
    """A value as an export writes it, in the form its field's parser reads back."""
    if isinstance(value, bool):
        if lang == "en":
            return "yes" if value else "no"
        return "是" if value else "否"
    if isinstance(value, Money):
        # The catalogue's prices are yuan; another currency is named, so that an import
        # refuses it rather than reading it as yuan.
        return (
            f"{value.amount:f}" if value.currency == "CNY" else f"{value.amount:f} {value.currency}"
        )
    if isinstance(value, Decimal):
        if kind == "rate":
            return f"{(value * 100).normalize():f}%"
        return f"{value:f}"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)
