"""Order exports for distributors and brands: the columns people read, as CSV or XLSX chunks.

Orders are read in keyset batches (`service.export_batches`) and encoded batch by batch, so a
large export never holds more than one batch of orders in memory. Money stays integer fen
until it is written: yuan text is formatted from the integers, XLSX numbers are exact
decimals, never the result of float arithmetic.

The paid amount belongs to payments, which imports ordering; so the caller hands in a
`NetPaid` lookup (payments' `net_paid_by_order`) rather than this module importing it.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from backend.identity.access import Principal
from backend.kernel.spreadsheet import BOM, csv_lines, safe_text
from backend.ordering import service
from backend.ordering.models import Channel, OrderStatus
from backend.ordering.states import STATUS_NAMES

NetPaid = Callable[[list[int]], Awaitable[dict[int, int]]]

CHINA = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CHANNEL_NAMES = {Channel.SELF: "自主下单", Channel.PROXY: "业务员代下单", Channel.LIVE: "直播"}
HEADERS = (
    "订单号",
    "门店",
    "经销商",
    "业务员",
    "渠道",
    "商品原价(元)",
    "优惠(元)",
    "实付(元)",
    "状态",
    "下单时间",
    "更新时间",
)
FILE_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ExportRow:
    order_no: str
    store: str
    distributor: str
    salesperson: str
    channel: str
    list_amount_fen: int
    discount_fen: int
    paid_fen: int
    status: str
    created_at: datetime  # China time, naive: what both file formats write
    updated_at: datetime


def yuan(fen: int) -> str:
    """Exact yuan text from integer fen: 199900 → "1999.00", -5 → "-0.05"."""
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole}.{cents:02d}"


def yuan_decimal(fen: int) -> Decimal:
    """Exact yuan as a decimal (scaleb shifts the exponent; nothing is rounded)."""
    return Decimal(fen).scaleb(-2)


def china_time(moment: datetime) -> datetime:
    """Naive China time to the second: CSV text and XLSX cells then show the same second."""
    return moment.astimezone(CHINA).replace(tzinfo=None, microsecond=0)


def _row(order: dict[str, Any], paid_fen: int) -> ExportRow:
    return ExportRow(
        order_no=order["order_no"],
        store=order["store_name"],
        distributor=order["distributor_name"],
        salesperson=order["salesperson_name"] or "",
        channel=CHANNEL_NAMES[Channel(order["channel"])],
        list_amount_fen=order["list_amount_fen"],
        discount_fen=order["discount_fen"],
        paid_fen=paid_fen,
        status=STATUS_NAMES[OrderStatus(order["status"])],
        created_at=china_time(order["created_at"]),
        updated_at=china_time(order["updated_at"]),
    )


async def export_rows(
    principal: Principal, filters: dict[str, Any], net_paid: NetPaid
) -> AsyncIterator[list[ExportRow]]:
    """The caller's orders matching `filters`, oldest first, one list per database batch."""
    async for batch in service.export_batches(principal, filters=filters):
        paid = await net_paid([order["id"] for order in batch])
        yield [_row(order, paid[order["id"]]) for order in batch]


# ---- CSV ------------------------------------------------------------------------------------


def _csv_cells(row: ExportRow) -> tuple[str, ...]:
    return (
        row.order_no,
        safe_text(row.store),
        safe_text(row.distributor),
        safe_text(row.salesperson),
        row.channel,
        yuan(row.list_amount_fen),
        yuan(row.discount_fen),
        yuan(row.paid_fen),
        row.status,
        row.created_at.strftime(TIME_FORMAT),
        row.updated_at.strftime(TIME_FORMAT),
    )


async def csv_chunks(batches: AsyncIterator[list[ExportRow]]) -> AsyncGenerator[bytes]:
    """UTF-8 CSV with a BOM, one chunk per batch.

    The header travels with the first batch, so the first query has run (and could still fail
    with a proper error response) before the caller commits to a 200 and starts streaming.
    """
    pending = BOM + csv_lines([HEADERS])
    async for rows in batches:
        yield pending + csv_lines([_csv_cells(row) for row in rows])
        pending = b""
    if pending:
        yield pending


# ---- XLSX -----------------------------------------------------------------------------------

COLUMN_WIDTHS = (24, 24, 20, 10, 14, 14, 12, 12, 10, 20, 20)


def _write_xlsx_rows(
    sheet: Worksheet, first_row: int, rows: list[ExportRow], money: Format, time: Format
) -> None:
    for index, row in enumerate(rows, start=first_row):
        # write_string, not write: text such as "=1+1" or a long order number stays text.
        for column, text in enumerate(
            (row.order_no, row.store, row.distributor, row.salesperson, row.channel)
        ):
            sheet.write_string(index, column, text)
        for column, fen in enumerate((row.list_amount_fen, row.discount_fen, row.paid_fen), 5):
            # XlsxWriter prints the exact decimal ("1999.00") into the sheet's XML; Excel then
            # holds the nearest double, just as when someone types 1999.00.
            sheet.write_number(index, column, yuan_decimal(fen), money)
        sheet.write_string(index, 8, row.status)
        sheet.write_datetime(index, 9, row.created_at, time)
        sheet.write_datetime(index, 10, row.updated_at, time)


async def xlsx_chunks(batches: AsyncIterator[list[ExportRow]]) -> AsyncGenerator[bytes]:
    """An XLSX workbook, built in a temporary folder and then read out in chunks.

    XLSX is a zip archive whose directory comes last, so it cannot be sent while rows are
    still being read; what stays flat is memory: constant_memory mode flushes each row to a
    temporary file, and the finished archive is streamed from disk. Building it before the
    first chunk also means a failure is still an ordinary error response.
    """
    # XlsxWriter's scratch files are removed only by a successful close(); in our own folder
    # they go with it, even when the export fails or the client leaves halfway.
    with tempfile.TemporaryDirectory(prefix="b2bc-export-") as folder:
        target = Path(folder) / "orders.xlsx"
        options = {"constant_memory": True, "in_memory": False, "tmpdir": folder}
        workbook = Workbook(str(target), options)
        sheet = workbook.add_worksheet("订单")
        money = workbook.add_format({"num_format": "0.00"})
        time = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        header = workbook.add_format({"bold": True})
        for column, width in enumerate(COLUMN_WIDTHS):
            sheet.set_column(column, column, width)
        sheet.freeze_panes(1, 0)
        for column, title in enumerate(HEADERS):
            sheet.write_string(0, column, title, header)
        written = 1
        async for rows in batches:
            _write_xlsx_rows(sheet, written, rows, money, time)
            written += len(rows)
        # Zipping a large sheet takes a while: keep it off the event loop.
        await asyncio.to_thread(workbook.close)
        with target.open("rb") as built:
            while chunk := built.read(FILE_CHUNK):
                yield chunk
