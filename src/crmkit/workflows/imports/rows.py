"""From a sheet row to the fields it gives: cells mapped by header, the region's cells
combined into one region, a nameless contact's mobile placed on the customer, owners
resolved, and the rows that fail before any of that."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from crmkit.adapters.tabular import SheetRow
from crmkit.domain.errors import FieldError, FieldErrors, ValidationError
from crmkit.domain.headers import CUSTOMER_HEADER_SYNONYMS, REGION_COLUMNS, HeaderMapping
from crmkit.domain.imports import Outcome, RowProblem, RowResult
from crmkit.domain.intake import row_problem
from crmkit.domain.regions import region_from_cells
from crmkit.domain.values import Phone, PhoneKind
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import Filter, Op

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

# The fields a column maps to (besides custom fields): what the header synonyms know.
IMPORT_FIELDS: Final[tuple[str, ...]] = tuple(CUSTOMER_HEADER_SYNONYMS)
# Columns that describe a contact or an owner rather than the customer itself.
CONTACT_COLUMNS = ("contact_name", "contact_mobile", "contact_title")


def sheet_problem(row: SheetRow) -> RowResult | None:
    """The outcome of a row that fails as the sheet gave it (undecodable, an uncomputed
    formula, empty), else None."""
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


def failed(number: int, errors: Sequence[FieldError], headers: Mapping[str, str]) -> RowResult:
    return RowResult(
        number, Outcome.FAILED, problems=tuple(row_problem(e, headers) for e in errors)
    )


def in_batches(rows: Iterator[SheetRow], size: int) -> Iterator[list[SheetRow]]:
    batch: list[SheetRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def row_fields(
    row: SheetRow,
    header_map: HeaderMapping,
    header_of: Mapping[str, str],
    region: str,
    errors: FieldErrors | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The row's customer fields and contact fields, its region cells combined (see
    :func:`place_region`) and a nameless contact's mobile placed on the customer (see
    :func:`place_nameless_contact`).

    Args:
        errors: where a region that cannot be combined is reported (the row is then
            prepared without it, so that its other fields are checked too); raised
            with the rest when not given.

    Raises:
        ValidationError: the contact's details find no place (and the region's error,
            without ``errors``).
    """
    fields, contact, region_cells = _fields(row, header_map)
    gathered = FieldErrors() if errors is None else errors
    place_region(fields, region_cells, gathered)
    if errors is None:
        try:
            place_nameless_contact(fields, contact, region, header_of)
        except ValidationError as exc:
            gathered.extend(exc.errors)
        gathered.raise_if_any()
    else:
        place_nameless_contact(fields, contact, region, header_of)
    return fields, contact


def _fields(
    row: SheetRow, header_map: HeaderMapping
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, str]]]:
    """The customer fields and the contact fields of one row, and the region's cells as
    ``(column field, cell)`` pairs, for :func:`place_region`.

    The cells stay out of ``fields``: a dict that never held a list (only text) is one the
    garbage collector does not track, and a batch's fields wait for its rows to be
    prepared, long enough to reach the collector's old generation otherwise."""
    fields: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    region: list[tuple[str, str]] = []
    for position, field in header_map.columns.items():
        value = row.cells[position] if position < len(row.cells) else None
        if value is None or not value.strip():
            continue
        if field in CONTACT_COLUMNS:
            contact[field.removeprefix("contact_")] = value
        elif field.startswith("custom."):
            custom[field.removeprefix("custom.")] = value
        elif field in REGION_COLUMNS:
            region.append((field, value))
        else:
            fields[field] = value
    if custom:
        fields["custom"] = custom
    return fields, contact, region


def place_region(
    fields: dict[str, Any], cells: Sequence[tuple[str, str]], errors: FieldErrors
) -> None:
    """The row's region ``cells`` (``省份``, ``城市``, ``区县`` and any ``地区`` columns,
    as ``(column field, cell)``) as its one region in ``fields``, none of them dropped.

    A lone ``地区`` cell stays text, parsed with the other fields as ``customers.create``
    parses it. Several cells combine (:func:`~crmkit.domain.regions.region_from_cells`): the
    most specific reading they agree on; when they disagree, or a part is unknown, the error
    goes to ``errors`` and the row keeps no region.
    """
    if not cells:
        return
    if len(cells) == 1 and cells[0][0] == "region":
        fields["region"] = cells[0][1]
        return
    parts = {field: text for field, text in cells if field != "region"}
    try:
        combined = region_from_cells(
            [text for field, text in cells if field == "region"],
            province=parts.get("province"),
            city=parts.get("city"),
            district=parts.get("district"),
        )
    except ValidationError as exc:
        errors.extend(exc.errors)
        return
    if combined is not None:
        fields["region"] = combined


def place_nameless_contact(
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


class OwnerLookup:
    """Resolve an owner cell (a login or a user's name) to a user id, cached per import."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._cache: dict[str, str] = {}

    def resolve(self, text: str) -> str:
        key = text.strip()
        if key not in self._cache:
            users = self._s._uow.users
            user = users.get_by_login(key.lower())
            if user is None:
                named = EntityQuery(filters=(Filter("name", Op.EQ, key),))
                page = users.list(named, EVERYTHING, after=None, limit=2)
                user = page.items[0] if len(page.items) == 1 else None  # one, not ambiguous
            if user is None or user.is_deleted:
                raise ValidationError([FieldError("owner", "not_found_ref", text)])
            self._cache[key] = user.id
        return self._cache[key]
