"""Reading and writing spreadsheets: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX.

Reading streams rows (XLSX through openpyxl's read-only mode, which also uses defusedxml
when it is installed, as crmkit requires), so a 100k-row sheet never sits in memory twice.
Every row keeps its sheet row number for error reports. Writing neutralises spreadsheet
formula injection: a cell that starts with ``= + - @``, a tab or a carriage return gets a
leading apostrophe, so Excel shows it as text instead of running it.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import attrs

from crmkit.domain.errors import CRMError
from crmkit.domain.messages import Language, render_summary

Format = Literal["csv", "xlsx"]
XLSX_MAGIC = b"PK\x03\x04"
MAX_CELL = 32_767  # Excel's own limit; longer cells are cut and flagged
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class TableError(CRMError, ValueError):
    """The file cannot be read as a table at all (not a row-level problem).

    Attributes:
        reason: why, as a stable code: ``empty``, ``no_header``, ``header_encoding`` (the
            header row's bytes fit no encoding; ``row`` says which), ``not_xlsx`` (``detail``:
            what the XLSX reader said) or ``no_sheet`` (``sheet``: the name asked for).
        row: the sheet row at fault, if one is.
        sheet: the sheet asked for, if it is missing.
        detail: the underlying reader's own words, untranslated.
    """

    def __init__(
        self, reason: str, *, row: int | None = None, sheet: str | None = None, detail: str = ""
    ) -> None:
        self.reason = reason
        self.row = row
        self.sheet = sheet
        self.detail = detail
        super().__init__(self.message())

    def message(self, lang: Language | None = None) -> str:
        return render_summary(
            f"table_{self.reason}", lang, row=self.row, sheet=self.sheet, detail=self.detail
        )

    def __str__(self) -> str:
        return self.message()


@attrs.frozen
class SheetRow:
    """One data row: its 1-based row number in the sheet and its cell texts."""

    number: int
    cells: tuple[str | None, ...]
    problem: str | None = None  # e.g. "encoding": the row's bytes could not be decoded

    @property
    def is_blank(self) -> bool:
        return all(c is None or not c.strip() for c in self.cells)


@attrs.define
class Table:
    """A sheet: its header row and an iterator over the data rows (read once)."""

    headers: list[str | None]
    rows: Iterator[SheetRow]
    format: Format
    encoding: str | None = None
    row_count: int | None = None  # data rows, as the file declares them (for progress only)


def cell_text(value: Any) -> str | None:
    """A spreadsheet value as text: numbers without a spurious ``.0`` (phone numbers typed
    into Excel arrive as floats), dates as ISO, booleans as true/false."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def source_bytes(source: str | Path | IO[bytes]) -> tuple[bytes, str]:
    """The content of a path or binary file object, and its file name (may be empty)."""
    if isinstance(source, str | Path):
        path = Path(source)
        return path.read_bytes(), path.name
    data = source.read()
    return data, getattr(source, "name", "") or ""


def read_table(
    source: str | Path | IO[bytes],
    *,
    format: Format | None = None,
    sheet: str | None = None,
    name: str | None = None,
) -> Table:
    """Open a CSV or XLSX file (a path or a binary file object).

    The format comes from ``format``, else the file's first bytes (XLSX is a zip), else the
    name (``name`` overrides the source's own). The first non-blank row is the header row.

    Raises:
        TableError: the file is empty, not a spreadsheet, or has no header row.
    """
    data, own_name = source_bytes(source)
    name = name or own_name
    if not data:
        raise TableError("empty")
    kind: Format = format or (
        "xlsx" if data.startswith(XLSX_MAGIC) or name.endswith(".xlsx") else "csv"
    )
    if kind == "xlsx":
        return _read_xlsx(data, sheet)
    return _read_csv(data)


def _decode(data: bytes) -> tuple[str | None, str]:
    """Decode a whole CSV: UTF-8 (with or without BOM), else GB18030 (a superset of GBK,
    which Chinese Excel writes). Returns (text or None if neither fits, encoding)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            return None, "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None, "mixed"


def _decode_line(line: bytes) -> str | None:
    for encoding in ("utf-8", "gb18030"):
        try:
            return line.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_csv(data: bytes) -> Table:
    text, encoding = _decode(data)
    if text is None:
        # Mixed encodings: decode line by line so that one bad row does not sink the file.
        return _read_mixed_csv(data.removeprefix(codecs.BOM_UTF8), encoding)
    _allow_fields_up_to(len(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    # Rows are numbered by record, as a spreadsheet shows them (a quoted cell may span
    # lines, so the reader's line number would point a report at the wrong row).
    numbered = ((number, row, None) for number, row in enumerate(reader, start=1))
    table = _table_from_rows(numbered, "csv", encoding)
    # Lines, not records (a quoted cell may span lines): an estimate, for progress bars.
    table.row_count = max(text.rstrip("\r\n").count("\n"), 0)
    return table


def _delimiter(text: str) -> str:
    """The separator of the header line: comma, tab, semicolon or bar, whichever it has most
    of (csv.Sniffer guesses quoting too, and guesses it wrong on quoted multi-line cells)."""
    first = text.split("\n", 1)[0]
    return max((",", "\t", ";", "|"), key=first.count)


def _allow_fields_up_to(size: int) -> None:
    """Let the csv module read fields as large as the file itself. Its default limit
    (128 KiB) makes it raise in the middle of an import; the file is in memory already,
    so no field can be larger than it. (The limit is process-wide: it is only ever raised.)"""
    if csv.field_size_limit() < size:
        csv.field_size_limit(size)


def _read_mixed_csv(data: bytes, encoding: str) -> Table:
    delimiter = _delimiter(_decode_line(data.split(b"\n", 1)[0]) or ",")
    _allow_fields_up_to(len(data))
    undecodable: set[int] = set()  # physical line numbers

    def lines() -> Iterator[str]:
        # Decoded line by line so that one bad row does not sink the file, but parsed as
        # one stream so that a quoted cell spanning lines stays one row.
        for number, line in enumerate(data.splitlines(keepends=True), start=1):
            decoded = _decode_line(line)
            if decoded is None:
                undecodable.add(number)
                decoded = line.decode("utf-8", errors="replace")  # keeps the ASCII quoting
            yield decoded

    def rows() -> Iterator[tuple[int, list[str], str | None]]:
        reader = csv.reader(lines(), delimiter=delimiter)
        last_line = 0
        for number, cells in enumerate(reader, start=1):
            spanned = range(last_line + 1, reader.line_num + 1)
            last_line = reader.line_num
            if undecodable.intersection(spanned):
                yield number, [], "encoding"
            else:
                yield number, cells, None

    return _table_from_rows(rows(), "csv", encoding)


def _cut(cell: str | None) -> str | None:
    return cell if cell is None or len(cell) <= MAX_CELL else cell[: MAX_CELL + 1]


def _table_from_rows(
    raw: Iterator[tuple[int, Sequence[Any], str | None]], format: Format, encoding: str | None
) -> Table:
    headers: list[str | None] | None = None
    for number, cells, problem in raw:
        texts = [cell_text(c) for c in cells]
        if problem is None and any(t and t.strip() for t in texts):
            headers = [t.strip() if t else None for t in texts]
            break
        if problem is not None:
            raise TableError("header_encoding", row=number)
    if headers is None:
        raise TableError("no_header")

    def data_rows() -> Iterator[SheetRow]:
        for number, cells, problem in raw:
            yield SheetRow(number, tuple(_cut(cell_text(c)) for c in cells), problem)

    return Table(headers, data_rows(), format, encoding)


def _read_xlsx(data: bytes, sheet: str | None) -> Table:
    import openpyxl  # imported here: only XLSX users pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    # Two streaming views of the same sheet: the values Excel computed (what the user sees)
    # and the formulas, so a formula with no computed value is reported, not read as empty.
    try:
        values_book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise TableError("not_xlsx", detail=str(exc)) from exc
    try:
        values_ws = values_book[sheet] if sheet else values_book.worksheets[0]
        formula_ws = formula_book[sheet] if sheet else formula_book.worksheets[0]
    except KeyError as exc:
        values_book.close()
        formula_book.close()
        raise TableError("no_sheet", sheet=sheet) from exc

    def rows() -> Iterator[tuple[int, Sequence[Any], str | None]]:
        try:
            pairs = zip(
                values_ws.iter_rows(values_only=True),
                formula_ws.iter_rows(values_only=True),
                strict=False,
            )
            for number, (values, formulas) in enumerate(pairs, start=1):
                uncomputed = any(
                    v is None and isinstance(f, str) and f.startswith("=")
                    for v, f in zip(values, formulas, strict=False)
                )
                yield number, values, "formula" if uncomputed else None
        finally:
            values_book.close()
            formula_book.close()

    table = _table_from_rows(rows(), "xlsx", None)
    declared = values_ws.max_row  # from the sheet's <dimension>, when Excel wrote one
    table.row_count = declared - 1 if isinstance(declared, int) and declared > 1 else None
    return table


# -- writing --------------------------------------------------------------------------------
def neutralise(value: Any) -> Any:
    """A cell value that spreadsheet software will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    target: str | Path | IO[bytes],
    *,
    format: Format = "csv",
    sheet_title: str = "Sheet1",
) -> None:
    """Write a header row and data rows as CSV (UTF-8 with BOM, which Excel opens correctly)
    or XLSX, neutralising formula injection in every text cell."""
    if format == "xlsx":
        _write_xlsx(headers, rows, target, sheet_title)
        return
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        writer.writerow([neutralise(cell_text(v)) for v in row])
    payload = codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
    if isinstance(target, str | Path):
        Path(target).write_bytes(payload)
    else:
        target.write(payload)


def _write_xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    target: str | Path | IO[bytes],
    title: str,
) -> None:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def text(v: str) -> str:
        # XML 1.0 cannot hold most control characters: drop them rather than fail the file.
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", v))  # type: ignore[no-any-return]

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(title)
    ws.append([text(h) for h in headers])
    for row in rows:
        ws.append([text(v) if isinstance(v, str) else v for v in row])
    if isinstance(target, str | Path):
        book.save(str(target))
    else:
        out = io.BytesIO()
        book.save(out)
        target.write(out.getvalue())
