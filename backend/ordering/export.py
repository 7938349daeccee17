"""Order exports for distributors and brands: the columns people read, as CSV or XLSX chunks.

Orders are read in keyset batches (`service.export_batches`) and encoded batch by batch, so a
large export never holds more than one batch of orders in memory. Money stays integer fen
until it is written: yuan text is formatted from the integers, XLSX numbers are exact
decimals, never the result of float arithmetic.

The paid amount belongs to payments, which depends on ordering; so the caller hands in a
`NetPaid` lookup (payments' `net_paid_by_order`, through `service.MONEY`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from backend.identity.access import Principal
from backend.infra import exports
from backend.infra.exports import Column, Kind, china_time
from backend.ordering import service
from backend.ordering.models import Channel, OrderStatus
from backend.ordering.states import STATUS_NAMES

NetPaid = Callable[[list[int]], Awaitable[dict[int, int]]]

CHANNEL_NAMES = {Channel.SELF: "自主下单", Channel.PROXY: "业务员代下单", Channel.LIVE: "直播"}
TABLE = exports.Table(
    "订单",
    (
        Column("订单号", 24),
        Column("门店", 24),
        Column("经销商", 20),
        Column("业务员", 10),
        Column("渠道", 14),
        Column("商品原价(元)", 14, Kind.MONEY),
        Column("优惠(元)", 12, Kind.MONEY),
        Column("实付(元)", 12, Kind.MONEY),
        Column("状态", 10),
        Column("下单时间", 20, Kind.TIME),
        Column("更新时间", 20, Kind.TIME),
    ),
    seconds=True,
)
HEADERS = TABLE.titles


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


async def _cells(batches: AsyncIterator[list[ExportRow]]) -> AsyncIterator[list[tuple[Any, ...]]]:
    async for rows in batches:
        yield [astuple(row) for row in rows]  # the fields are in the table's column order


def csv_chunks(batches: AsyncIterator[list[ExportRow]]) -> AsyncGenerator[bytes]:
    """UTF-8 CSV with a BOM, one chunk per batch (the header with the first)."""
    return exports.csv_chunks(TABLE, _cells(batches))


def xlsx_chunks(batches: AsyncIterator[list[ExportRow]]) -> AsyncGenerator[bytes]:
    """An XLSX workbook, built in a temporary folder and then read out in chunks."""
    return exports.xlsx_chunks(TABLE, _cells(batches))
