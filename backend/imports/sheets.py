"""Spreadsheets in and out: the first sheet of an uploaded XLSX (python-calamine) or a CSV (the
csv module) as a header and numbered rows, and the templates people fill in (XlsxWriter).

No database here: bytes in, rows out; columns in, bytes out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from python_calamine import CalamineWorkbook
from xlsxwriter import Workbook

# Zip (XLSX, ODS) and OLE2 (the old XLS): what calamine reads; anything else is taken as CSV.
SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# Excel in China saves "CSV" in the GBK code page unless told otherwise; GB18030 covers it.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
REQUIRED_MARK = "*"
UNREADABLE = "无法读取该文件，请上传 Excel（.xlsx）或 CSV 文件"


class Unreadable(ValueError):
    """The upload is not a spreadsheet we can read (the reason in Chinese)."""


@dataclass(frozen=True, slots=True)
class Table:
    """The header's cells, and each non-blank row below it with its number in the sheet
    (the header is row 1), as people see them in their spreadsheet program."""

    header: list[str]
    rows: list[tuple[int, list[Any]]]
    more_rows: bool  # rows beyond `max_rows` were left unread


@dataclass(frozen=True, slots=True)
class TemplateColumn:
    header: str
    required: bool
    note: str  # the rule, shown as the header cell's comment and on the 说明 sheet
    example: str


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def read_table(data: bytes, *, max_rows: int) -> Table:
    """The first sheet of an XLSX/XLS/ODS file, or a CSV, read up to `max_rows` data rows."""
    grid = _spreadsheet_rows(data) if data.startswith(SPREADSHEET_MAGIC) else _csv_rows(data)
    numbered = ((number, row) for number, row in enumerate(grid, start=1))
    filled = [(number, row) for number, row in numbered if not all(_blank(c) for c in row)]
    if not filled:
        return Table(header=[], rows=[], more_rows=False)
    (_, header), body = filled[0], filled[1:]
    return Table(
        header=[_header_text(cell) for cell in header],
        rows=body[:max_rows],
        more_rows=len(body) > max_rows,
    )


def _header_text(cell: Any) -> str:
    text = "" if cell is None else str(cell)
    return text.strip().rstrip(REQUIRED_MARK).strip()


def _spreadsheet_rows(data: bytes) -> list[list[Any]]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            return []
        return list(workbook.get_sheet_by_index(0).to_python(skip_empty_area=False))
    except Exception as exc:  # calamine's errors name the broken part in English
        raise Unreadable(UNREADABLE) from exc
    except BaseException as exc:
        # A panic in calamine's Rust on a crafted file surfaces as pyo3's PanicException,
        # which is not an Exception; anything else (a cancellation) goes on.
        if type(exc).__name__ != "PanicException":
            raise
        raise Unreadable(UNREADABLE) from exc


def _csv_rows(data: bytes) -> list[list[Any]]:
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break  # a binary file that happens to decode
        try:
            return list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise Unreadable("CSV 文件格式不正确，无法读取") from exc
    raise Unreadable("无法读取该文件，请上传 Excel（.xlsx）或 UTF-8 / GBK 编码的 CSV 文件")


def cell_text(cell: Any) -> str | None:
    """A cell as the text a person typed: numbers without a spurious ".0" (a phone number
    or barcode typed as a number), None for a blank. Dates and booleans are not text: the
    caller reports them as the wrong type."""
    if _blank(cell):
        return None
    if isinstance(cell, bool | datetime | date | time | timedelta):
        raise TypeError(type(cell).__name__)
    if isinstance(cell, float):
        # repr gives the shortest text that reads back as the same double: 19.99, not
        # 19.989999999999998; an integral value loses its ".0".
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell).strip()


def template_xlsx(sheet: str, columns: Sequence[TemplateColumn], notes: Sequence[str]) -> bytes:
    """A workbook people fill in: the header row on the first sheet (required columns
    marked *, each header's rule as its comment), and a 说明 sheet with every rule and an
    example row."""
    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"in_memory": True})
    head = workbook.add_format({"bold": True, "bg_color": "#E8F0FE", "border": 1})
    required_head = workbook.add_format(
        {"bold": True, "bg_color": "#E8F0FE", "border": 1, "font_color": "#C0392B"}
    )
    text = workbook.add_format({"num_format": "@"})  # phone numbers and barcodes stay text
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet_main = workbook.add_worksheet(sheet)
    sheet_main.freeze_panes(1, 0)
    for index, column in enumerate(columns):
        label = column.header + (REQUIRED_MARK if column.required else "")
        sheet_main.write_string(0, index, label, required_head if column.required else head)
        sheet_main.set_column(index, index, max(12, len(column.header) * 3), text)
        sheet_main.write_comment(0, index, column.note, {"x_scale": 2, "y_scale": 1.5})
    guide = workbook.add_worksheet("说明")
    guide.set_column(0, 0, 16)
    guide.set_column(1, 1, 8)
    guide.set_column(2, 2, 70, wrap)
    guide.set_column(3, 3, 24)
    for row, line in enumerate(notes):
        guide.write_string(row, 0, line)
    start = len(notes) + 1
    guide.write_row(start, 0, ["列名", "必填", "填写要求", "示例"], head)
    for offset, column in enumerate(columns, start=start + 1):
        guide.write_row(
            offset,
            0,
            [column.header, "是" if column.required else "否", column.note, column.example],
        )
    workbook.close()
    return buffer.getvalue()
