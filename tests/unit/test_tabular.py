"""Spreadsheets in every encoding Chinese users send, and formula-safe output."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crmkit
from crmkit.adapters.tabular import (
    TableError,
    cell_text,
    neutralise,
    read_table,
    write_table,
)
from crmkit.domain.headers import map_headers, normalize_header

ROWS = [["公司名称", "手机号码*", "备注"], ["青岛金智电子科技有限公司", "13800138000", "老客户"]]


def _csv(encoding: str, delimiter: str = ",") -> bytes:
    text = "\r\n".join(delimiter.join(r) for r in ROWS) + "\r\n"
    return text.encode(encoding)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (_csv("utf-8"), "utf-8"),
        (_csv("utf-8-sig"), "utf-8-sig"),
        (_csv("gbk"), "gb18030"),
        (_csv("gb18030"), "gb18030"),
        (_csv("utf-8", "\t"), "utf-8"),
    ],
)
def test_csv_in_utf8_bom_gbk_and_tabs_reads_the_same(data: bytes, encoding: str):
    table = read_table(io.BytesIO(data))
    assert table.encoding == encoding
    assert table.headers == ROWS[0]
    rows = list(table.rows)
    assert [r.cells for r in rows] == [tuple(ROWS[1])]
    assert rows[0].number == 2


def test_a_row_in_another_encoding_is_flagged_not_fatal():
    data = (
        _csv("utf-8")
        + "上海华东建材有限公司,13900001234,备注\r\n".encode("gbk")
        + b"\xff\xfe\xfa\r\n"
    )
    rows = list(read_table(io.BytesIO(data)).rows)
    assert rows[0].problem is None
    assert rows[1].cells[0] == "上海华东建材有限公司"  # GBK line decoded on its own
    assert rows[2].problem == "encoding"


def test_xlsx_cells_come_back_as_text_with_row_numbers(tmp_path: Path):
    path = tmp_path / "c.xlsx"
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["公司名称", "手机", "生日", "额度"])
    ws.append([None, None, None, None])  # a blank row keeps its number
    ws.append(["青岛金智电子科技有限公司", 13800138000, datetime(1990, 5, 4), 1234.5])
    ws.append(["=SUM(A1:A2)", None, None, None])
    ws.merge_cells("B4:D4")
    book.save(path)
    table = read_table(path)
    assert table.format == "xlsx"
    rows = list(table.rows)
    assert rows[0].is_blank
    assert rows[1].number == 3
    assert rows[1].cells == ("青岛金智电子科技有限公司", "13800138000", "1990-05-04", "1234.5")
    # A formula is never evaluated by crmkit; without a value computed by Excel it is flagged.
    assert rows[2].problem == "formula"


def test_garbage_and_empty_files_are_table_errors():
    with pytest.raises(TableError) as empty:
        read_table(io.BytesIO(b""))
    assert empty.value.reason == "empty"
    with pytest.raises(TableError) as garbage:
        read_table(io.BytesIO(b"PK\x03\x04 not really a zip"))
    assert garbage.value.reason == "not_xlsx"
    with pytest.raises(TableError) as headless:
        read_table(io.BytesIO(b"\r\n\r\n"))
    assert headless.value.reason == "no_header"


def test_a_table_error_is_a_crm_error_and_a_value_error_that_speaks_both_languages():
    with pytest.raises(TableError) as caught:
        read_table(io.BytesIO(_xlsx_bytes()), sheet="客户")
    error = caught.value
    assert isinstance(error, crmkit.CRMError)
    assert isinstance(error, ValueError)
    assert (error.reason, error.sheet) == ("no_sheet", "客户")
    assert error.message("en") == "no sheet named '客户'"
    assert error.message("zh") == "没有名为“客户”的工作表"
    with crmkit.language("en"):
        assert str(error) == "no sheet named '客户'"


def _xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["公司名称"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_huge_cells_are_cut_just_past_the_excel_limit_so_validation_can_flag_them():
    data = ("公司名称\r\n" + "金" * 40_000 + "\r\n").encode()
    row = next(read_table(io.BytesIO(data)).rows)
    assert row.cells[0] is not None
    assert len(row.cells[0]) == 32_768


@pytest.mark.parametrize("value", ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_would_run_as_formulas_are_neutralised(value: str):
    assert neutralise(value) == "'" + value


def test_written_csv_and_xlsx_neutralise_formulas(tmp_path: Path):
    rows = [['=HYPERLINK("http://x")', "13800138000"]]
    write_table(["名称", "手机"], rows, tmp_path / "o.csv")
    text = (tmp_path / "o.csv").read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    write_table(["名称", "手机"], rows, tmp_path / "o.xlsx", format="xlsx")
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx").worksheets[0]
    assert ws["A2"].value == '\'=HYPERLINK("http://x")'
    assert ws["A2"].data_type == "s"


def test_phone_numbers_stored_as_floats_lose_the_point_zero():
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text(0.1) == "0.1"
    assert cell_text(True) == "true"


@given(st.lists(st.text(alphabet='甲乙丙abc,"\n 123', max_size=12), min_size=1, max_size=6))
def test_what_is_written_as_csv_reads_back_the_same(cells: list[str]):
    buffer = io.BytesIO()
    headers = [f"h{i}" for i in range(len(cells))]
    write_table(headers, [cells], buffer)
    table = read_table(io.BytesIO(buffer.getvalue()))
    rows = list(table.rows)
    expected = tuple(neutralise(c) for c in cells)
    if all(not c.strip() for c in cells):
        assert rows == [] or rows[0].is_blank
    else:
        assert tuple(c or "" for c in rows[0].cells) == expected


def test_headers_map_by_chinese_and_english_synonyms():
    mapping = map_headers(
        ["企业名称", "手机号码*", "Contact", "E-mail", "备注", "喜好", "客户名称"]
    )
    assert mapping.fields == ("name", "mobile", "contact_name", "email", "remarks")
    assert mapping.unknown == ("喜好",)
    assert mapping.duplicates == ("name",)


def test_an_explicit_mapping_wins_and_custom_fields_join():
    mapping = map_headers(
        ["名称", "规模", "内部编号"],
        explicit={"名称": "remarks", "内部编号": ""},
        custom_fields=["规模"],
    )
    assert mapping.columns == {0: "remarks", 1: "custom.规模"}
    assert mapping.unknown == ()


def test_header_normalisation_ignores_width_case_spaces_and_required_marks():
    assert normalize_header(" 手机 号码＊ ") == normalize_header("手机号码")
    assert normalize_header("Ｅ－ｍａｉｌ") == normalize_header("e-mail")


def test_cells_larger_than_the_csv_module_default_limit_are_read_and_cut():
    huge = "金" * 140_000  # the csv module refuses fields over 128 KiB by default
    for data in (
        ("公司名称,备注\r\n" + huge + ",x\r\n").encode(),
        ("公司名称,备注\r\n" + huge + ",x\r\n").encode() + "乙公司,y\r\n".encode("gbk"),
    ):
        rows = list(read_table(io.BytesIO(data)).rows)
        assert len(rows[0].cells[0] or "") == 32_768
        assert rows[0].cells[1] == "x"


def test_a_quoted_cell_spanning_lines_is_one_row_numbered_as_a_spreadsheet_shows_it():
    lines = ["公司名称,备注", '甲公司,"第一行', '第二行"', "乙公司,x"]
    utf8 = ("\r\n".join(lines) + "\r\n").encode()
    # the same file with one row in GBK: decoded line by line, still parsed as one stream
    mixed = utf8 + '丙公司,"跨\r\n行"\r\n'.encode("gbk") + b"\xff\xfe\r\n"
    rows = list(read_table(io.BytesIO(utf8)).rows)
    assert [(r.number, r.cells) for r in rows] == [
        (2, ("甲公司", "第一行\r\n第二行")),
        (3, ("乙公司", "x")),
    ]
    rows = list(read_table(io.BytesIO(mixed)).rows)
    assert [(r.number, r.cells, r.problem) for r in rows] == [
        (2, ("甲公司", "第一行\r\n第二行"), None),
        (3, ("乙公司", "x"), None),
        (4, ("丙公司", "跨\r\n行"), None),
        (5, (), "encoding"),
    ]


def test_xlsx_export_drops_characters_the_format_cannot_hold():
    out = io.BytesIO()
    write_table(["备注"], [["bell\x07 and \x1bescape"]], out, format="xlsx")
    (row,) = read_table(io.BytesIO(out.getvalue())).rows
    assert row.cells == ("bell and escape",)
