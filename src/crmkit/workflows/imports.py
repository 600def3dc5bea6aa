"""Importing customers from CSV/XLSX: every row ends in exactly one outcome.

Rows are read, mapped by header, validated by the same rules as ``customers.create``,
checked for duplicates inside the file and against the store, and written in batches through
the bulk path. A dry run (``preview``) reports the same outcomes without writing.

Duplicates are recognised by the customer's normalised name and by its mobile or phone
number, exactly; the intake issue's fuzzy matcher will widen this.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from crmkit.adapters.tabular import SheetRow, Table, TableError, read_table
from crmkit.domain.contact import parse_contact_input
from crmkit.domain.customer import Customer
from crmkit.domain.errors import (
    CRMError,
    FieldError,
    FieldErrors,
    PermissionDenied,
    ValidationError,
)
from crmkit.domain.headers import HeaderMapping, map_headers
from crmkit.domain.messages import Language, language
from crmkit.storage.textsearch import normalize_query
from crmkit.workflows.context import Permission

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

BATCH = 500
# Columns that describe a contact or an owner rather than the customer itself.
CONTACT_COLUMNS = ("contact_name", "contact_mobile", "contact_title")


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    FAILED = "failed"


class OnDuplicate(enum.StrEnum):
    SKIP = "skip"  # report the row as a duplicate, write nothing
    UPDATE = "update"  # update the matching customer with the row's non-empty fields
    CREATE = "create"  # create it anyway


@attrs.frozen
class RowProblem:
    """One reason a row failed: the sheet column, the field, a code and the messages."""

    column: str | None
    field: str
    code: str
    value: Any
    message_en: str
    message_zh: str

    def message(self, lang: Language) -> str:
        return self.message_en if lang == "en" else self.message_zh


@attrs.frozen
class RowResult:
    """What happened to one data row."""

    row: int
    outcome: Outcome
    customer_id: str | None = None
    duplicate_of: str | None = None  # "row 7" or a customer id
    problems: tuple[RowProblem, ...] = ()


@attrs.frozen
class ImportReport:
    """Per-row outcomes of an import (or of a dry run) and their counts."""

    results: tuple[RowResult, ...]
    mapping: HeaderMapping
    dry_run: bool

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o.value: self.count(o) for o in Outcome}

    @property
    def rows_read(self) -> int:
        return len(self.results)


# A field error's path -> the mapped field whose column it came from.
_COLUMN_OF = {
    "owner_id": "owner",
    "contact.name": "contact_name",
    "contact.mobile": "contact_mobile",
    "contact.title": "contact_title",
}


def _problem(error: FieldError, headers: Mapping[str, str]) -> RowProblem:
    path = error.field.split("[", 1)[0]
    field = _COLUMN_OF.get(path, path if path.startswith("custom.") else path.split(".", 1)[0])
    return RowProblem(
        headers.get(field),
        error.field,
        error.code,
        error.value,
        error.message("en"),
        error.message("zh"),
    )


class ImportService:
    """``session.imports``: bring customers in from a spreadsheet."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def preview(self, source: str | Path | IO[bytes], **options: Any) -> ImportReport:
        """Report each row's outcome without writing anything (a dry run)."""
        return self._import(source, dry_run=True, **options)

    def run(self, source: str | Path | IO[bytes], **options: Any) -> ImportReport:
        """Import the rows, in batches, inside the session's transaction.

        Args:
            source: a CSV or XLSX path or binary file object.
            mapping: header -> field overrides (``""`` ignores a column).
            on_duplicate: ``"skip"`` (default), ``"update"`` or ``"create"``.
            sheet: the XLSX sheet to read (default: the first).

        Raises:
            TableError: the file is not a readable table (no row outcome is possible).
            PermissionDenied: the actor may not create customers.
        """
        return self._import(source, dry_run=False, **options)

    # -- the pipeline -------------------------------------------------------------------
    def _import(
        self,
        source: str | Path | IO[bytes],
        *,
        dry_run: bool,
        mapping: Mapping[str, str] | None = None,
        on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
        sheet: str | None = None,
    ) -> ImportReport:
        s = self._s
        s.require(Permission.CUSTOMER_CREATE)
        policy = OnDuplicate(on_duplicate)
        table: Table = read_table(source, sheet=sheet)
        header_map = map_headers(
            table.headers,
            explicit=mapping,
            custom_fields=[f.name for f in s.runtime.customer_fields.fields],
        )
        header_of = {field: str(table.headers[i]) for i, field in header_map.columns.items()}
        results: list[RowResult] = []
        seen: dict[str, int] = {}  # duplicate key -> first row number in this file
        owners = _OwnerLookup(s)
        for batch in _batches(table.rows, BATCH):
            results.extend(self._batch(batch, header_map, header_of, seen, owners, policy, dry_run))
        return ImportReport(tuple(results), header_map, dry_run)

    def _batch(
        self,
        rows: list[SheetRow],
        header_map: HeaderMapping,
        header_of: Mapping[str, str],
        seen: dict[str, int],
        owners: _OwnerLookup,
        policy: OnDuplicate,
        dry_run: bool,
    ) -> list[RowResult]:
        s = self._s
        prepared: list[tuple[SheetRow, Customer, dict[str, Any], list[str]]] = []
        results: dict[int, RowResult] = {}
        for row in rows:
            failed = self._row_problem(row)
            if failed is not None:
                results[row.number] = failed
                continue
            fields, contact = _fields(row, header_map)
            try:
                owner = fields.pop("owner", None)
                if owner:
                    fields["owner_id"] = owners.resolve(owner)
                customer = s.customers.prepare(**fields)
            except ValidationError as exc:
                results[row.number] = RowResult(
                    row.number,
                    Outcome.FAILED,
                    problems=tuple(_problem(e, header_of) for e in exc.errors),
                )
                continue
            except PermissionDenied as exc:
                results[row.number] = RowResult(
                    row.number,
                    Outcome.FAILED,
                    problems=(
                        RowProblem(
                            header_of.get("owner"),
                            "owner_id",
                            "permission",
                            None,
                            exc.message("en"),
                            exc.message("zh"),
                        ),
                    ),
                )
                continue
            if contact:
                # Checked now so that a bad contact fails its row, not the whole batch.
                contact_errors = FieldErrors()
                parse_contact_input(
                    {**contact, "customer_id": customer.id},
                    contact_errors,
                    phone_region=s.runtime.region,
                )
                if contact_errors:
                    results[row.number] = RowResult(
                        row.number,
                        Outcome.FAILED,
                        problems=tuple(
                            _problem(e.prefixed("contact"), header_of)
                            for e in contact_errors.errors
                        ),
                    )
                    continue
            keys = _keys(customer)
            first = next((seen[k] for k in keys if k in seen), None)
            if first is not None:
                results[row.number] = RowResult(
                    row.number, Outcome.DUPLICATE, duplicate_of=f"row {first}"
                )
                continue
            for key in keys:
                seen[key] = row.number
            prepared.append((row, customer, contact, keys))
        matches = self._store_matches([c for _, c, _, _ in prepared])
        to_create: list[tuple[SheetRow, Customer, dict[str, Any]]] = []
        scope = s.actor.scope
        for row, customer, contact, keys in prepared:
            match = next((matches[k] for k in keys if k in matches), None)
            if match is not None and not scope.allows(match.owner_id, match.co_owner_ids):
                # Anti-collision: a customer someone else works is never duplicated, updated
                # or shown; the row names only the customer and its owner.
                owner = s.uow.users.get(match.owner_id) if match.owner_id else None
                results[row.number] = RowResult(
                    row.number,
                    Outcome.DUPLICATE,
                    duplicate_of=f"{match.name} ({owner.name if owner else '-'})",
                )
            elif match is None or policy is OnDuplicate.CREATE:
                to_create.append((row, customer, contact))
            elif policy is OnDuplicate.SKIP or dry_run:
                outcome = Outcome.DUPLICATE if policy is OnDuplicate.SKIP else Outcome.UPDATED
                results[row.number] = RowResult(
                    row.number, outcome, customer_id=match.id, duplicate_of=match.id
                )
            else:
                results[row.number] = self._update(row, match, header_map, header_of)
        if not dry_run and to_create:
            created = [c for _, c, _ in to_create]
            s.uow.customers.add_many(created)
            s.customers.record_created(created, note="import")
            for _, customer, contact in to_create:
                if contact:
                    s.contacts.create(customer_id=customer.id, **contact)
        for row, customer, _ in to_create:
            results[row.number] = RowResult(
                row.number, Outcome.CREATED, customer_id=None if dry_run else customer.id
            )
        return [results[r.number] for r in rows]

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

    def _store_matches(self, customers: list[Customer]) -> dict[str, Customer]:
        names = sorted({normalize_query(c.name) for c in customers})
        phones = sorted({p.e164 for c in customers for p in (c.mobile, c.phone) if p})
        found = self._s.uow.customers.find_by_keys(name_keys=names, phones=phones)
        out: dict[str, Customer] = {}
        for c in found:
            for key in _keys(c):
                out.setdefault(key, c)
        return out

    def _update(
        self,
        row: SheetRow,
        match: Customer,
        header_map: HeaderMapping,
        header_of: Mapping[str, str],
    ) -> RowResult:
        fields, _ = _fields(row, header_map)
        fields.pop("owner", None)
        fields.pop("kind", None)
        changes = {k: v for k, v in fields.items() if v not in (None, "")}
        try:
            self._s.customers.update(match.id, **changes)
        except ValidationError as exc:
            return RowResult(
                row.number,
                Outcome.FAILED,
                problems=tuple(_problem(e, header_of) for e in exc.errors),
            )
        except CRMError as exc:  # e.g. a lifecycle move the customer cannot make
            with language("en"):
                en = str(exc)
            with language("zh"):
                zh = str(exc)
            problem = RowProblem(None, "row", type(exc).__name__, None, en, zh)
            return RowResult(row.number, Outcome.FAILED, problems=(problem,))
        return RowResult(row.number, Outcome.UPDATED, customer_id=match.id, duplicate_of=match.id)


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
    if contact and not contact.get("name"):
        # A contact's mobile or title without a name cannot make a contact; the customer's
        # own mobile column is the place for a company number.
        contact = {}
    return fields, contact


def _keys(c: Customer) -> list[str]:
    keys = [f"name:{normalize_query(c.name)}"]
    keys.extend(f"phone:{p.e164}" for p in (c.mobile, c.phone) if p is not None)
    return keys


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


__all__ = [
    "ImportReport",
    "ImportService",
    "OnDuplicate",
    "Outcome",
    "RowProblem",
    "RowResult",
    "TableError",
]
