"""Tabular exports as CSV or XLSX from one description of the columns.

Every export the console offers (orders, stores, promotions' results) is a header row and
rows of cells; a `Table` says each column's title, width and kind, and the functions here
write it the same way everywhere:

- CSV: UTF-8 with a BOM (so Excel in China opens it right), people's text made safe from
  running as a formula, money as exact yuan text from integer fen.
- XLSX: one sheet, bold frozen header, the columns' widths, text written as text (so "=1+1"
  or a long number stays text), money as an exact decimal with two places, times as dates.

Cells are given in column order: text as `str`, counts as `int`, money as integer fen,
times as naive China time (see `china_time`); `None` leaves the cell as the column's `blank`.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from xlsxwriter import Workbook
from xlsxwriter.worksheet import Worksheet

from backend.kernel.money import yuan
from backend.kernel.spreadsheet import BOM, csv_lines, safe_text

CHINA = ZoneInfo("Asia/Shanghai")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILE_CHUNK = 64 * 1024

Cell = str | int | datetime | None
Row = Sequence[Cell]


class Kind(Enum):
    TEXT = "text"
    NUMBER = "number"  # an id or a count
    MONEY = "money"  # integer fen, shown in yuan
    TIME = "time"  # naive China time


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int
    kind: Kind = Kind.TEXT
    blank: str = ""  # what an absent value (None) shows, in both formats


@dataclass(frozen=True, slots=True)
class Table:
    sheet: str  # the XLSX sheet's name
    columns: tuple[Column, ...]
    seconds: bool = False  # times to the second; otherwise to the minute

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(column.title for column in self.columns)

    @property
    def time_format(self) -> str:
        return "%Y-%m-%d %H:%M:%S" if self.seconds else "%Y-%m-%d %H:%M"


def china_time(moment: datetime) -> datetime:
    """Naive China time to the second: CSV text and XLSX cells then show the same moment."""
    return moment.astimezone(CHINA).replace(tzinfo=None, microsecond=0)


def _exact(table: Table, moment: datetime) -> datetime:
    """The time as the file shows it: an XLSX cell holds no seconds its format hides."""
    return moment if table.seconds else moment.replace(second=0)


# ---- CSV ------------------------------------------------------------------------------------


def _csv_cell(table: Table, column: Column, value: Cell) -> str:
    if value is None:
        return column.blank
    if column.kind is Kind.TEXT:
        assert isinstance(value, str)
        return safe_text(value)
    if column.kind is Kind.MONEY:
        assert isinstance(value, int)
        return yuan(value)
    if column.kind is Kind.TIME:
        assert isinstance(value, datetime)
        return value.strftime(table.time_format)
    return str(value)


def _csv_rows(table: Table, rows: Iterable[Row]) -> bytes:
    return csv_lines(
        [_csv_cell(table, column, value) for column, value in zip(table.columns, row, strict=True)]
        for row in rows
    )


def csv_file(table: Table, rows: Iterable[Row]) -> bytes:
    """The whole CSV file: BOM, header, rows."""
    return BOM + csv_lines([table.titles]) + _csv_rows(table, rows)


async def csv_chunks(table: Table, batches: AsyncIterator[Iterable[Row]]) -> AsyncGenerator[bytes]:
    """The CSV file one chunk per batch of rows.

    The header travels with the first batch, so the first query has run (and could still fail
    with a proper error response) before the caller commits to a 200 and starts streaming.
    """
    pending = BOM + csv_lines([table.titles])
    async for rows in batches:
        yield pending + _csv_rows(table, rows)
        pending = b""
    if pending:
        yield pending


# ---- XLSX -----------------------------------------------------------------------------------


class _Sheet:
    """The table's sheet in `workbook`, header written; `append` adds rows below it."""

    def __init__(self, workbook: Workbook, table: Table) -> None:
        self.table = table
        self.sheet: Worksheet = workbook.add_worksheet(table.sheet)
        self.money = workbook.add_format({"num_format": "0.00"})
        self.time = workbook.add_format(
            {"num_format": "yyyy-mm-dd hh:mm:ss" if table.seconds else "yyyy-mm-dd hh:mm"}
        )
        header = workbook.add_format({"bold": True})
        for index, column in enumerate(table.columns):
            self.sheet.set_column(index, index, column.width)
        self.sheet.freeze_panes(1, 0)
        for index, column in enumerate(table.columns):
            self.sheet.write_string(0, index, column.title, header)
        self.next_row = 1

    def append(self, rows: Iterable[Row]) -> None:
        for row in rows:
            for index, (column, value) in enumerate(zip(self.table.columns, row, strict=True)):
                self._write(self.next_row, index, column, value)
            self.next_row += 1

    def _write(self, row: int, index: int, column: Column, value: Cell) -> None:
        sheet = self.sheet
        if value is None:
            if column.blank:
                sheet.write_string(row, index, column.blank)
        elif column.kind is Kind.TEXT:
            # write_string, not write: text such as "=1+1" or a phone number stays text.
            assert isinstance(value, str)
            sheet.write_string(row, index, value)
        elif column.kind is Kind.MONEY:
            # XlsxWriter prints the exact decimal ("1999.00") into the sheet's XML (scaleb
            # shifts the exponent, nothing is rounded); Excel then holds the nearest double,
            # just as when someone types 1999.00.
            assert isinstance(value, int)
            sheet.write_number(row, index, Decimal(value).scaleb(-2), self.money)
        elif column.kind is Kind.TIME:
            assert isinstance(value, datetime)
            sheet.write_datetime(row, index, _exact(self.table, value), self.time)
        else:
            assert isinstance(value, int)
            sheet.write_number(row, index, value)


def xlsx_file(table: Table, rows: Iterable[Row]) -> bytes:
    """The whole workbook, built in memory: for exports of thousands of rows, not millions."""
    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"in_memory": True})
    _Sheet(workbook, table).append(rows)
    workbook.close()
    return buffer.getvalue()


async def xlsx_chunks(table: Table, batches: AsyncIterator[Iterable[Row]]) -> AsyncGenerator[bytes]:
    """A workbook of any size, built in a temporary folder and then read out in chunks.

    XLSX is a zip archive whose directory comes last, so it cannot be sent while rows are
    still being read; what stays flat is memory: constant_memory mode flushes each row to a
    temporary file, and the finished archive is streamed from disk. Building it before the
    first chunk also means a failure is still an ordinary error response.
    """
    # XlsxWriter's scratch files are removed only by a successful close(); in our own folder
    # they go with it, even when the export fails or the client leaves halfway.
    with tempfile.TemporaryDirectory(prefix="b2bc-export-") as folder:
        target = Path(folder) / "export.xlsx"
        options: dict[str, Any] = {"constant_memory": True, "in_memory": False, "tmpdir": folder}
        workbook = Workbook(str(target), options)
        sheet = _Sheet(workbook, table)
        async for rows in batches:
            sheet.append(rows)
        # Zipping a large sheet takes a while: keep it off the event loop.
        await asyncio.to_thread(workbook.close)
        with target.open("rb") as built:
            while chunk := built.read(FILE_CHUNK):
                yield chunk
