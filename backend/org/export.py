"""The brand's stores as a spreadsheet (CSV or XLSX): the columns of the console's store list,
for the stores matching its filters.

Stores are read in keyset batches; a brand has thousands of stores, not millions, so the file
is built whole before it is sent, and a failure is still an ordinary error response. The last
order's amount stays integer fen until it is written.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from xlsxwriter import Workbook

from backend.identity.access import Principal
from backend.kernel.money import yuan
from backend.kernel.spreadsheet import BOM, csv_lines, safe_text
from backend.ordering import service as ordering_service
from backend.org import service

CHINA = ZoneInfo("Asia/Shanghai")
TIER_NAMES = {"A": "A 类", "B": "B 类", "C": "C 类", "D": "D 类"}
STATUS_NAMES = {"active": "正常营业", "suspended": "已暂停", "closed": "已关闭"}
HEADERS = (
    "门店编号",
    "门店",
    "联系人",
    "电话",
    "地址",
    "等级",
    "标签",
    "经销商",
    "业务员",
    "状态",
    "订单数",
    "最近下单时间",
    "最近下单金额(元)",
    "入驻时间",
)
COLUMN_WIDTHS = (10, 24, 10, 14, 30, 8, 20, 20, 10, 10, 8, 18, 16, 18)
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True, slots=True)
class StoreRow:
    id: int
    name: str
    contact_name: str
    phone: str
    address: str
    tier: str
    tags: str
    distributor: str
    salesperson: str
    status: str
    order_count: int
    last_order_at: datetime | None  # China time, naive: what both formats write
    last_order_fen: int | None
    created_at: datetime


def _china(iso_or_moment: str | datetime) -> datetime:
    moment = (
        datetime.fromisoformat(iso_or_moment) if isinstance(iso_or_moment, str) else iso_or_moment
    )
    return moment.astimezone(CHINA).replace(tzinfo=None, second=0, microsecond=0)


async def store_rows(principal: Principal, filters: dict[str, Any]) -> list[StoreRow]:
    """The caller's stores matching the store list's `filters`, by id, as the file's rows."""
    assert principal.brand_id is not None
    rows: list[StoreRow] = []
    async for batch in service.store_batches(principal, filters):
        ids = [store["id"] for store in batch]
        orders = await ordering_service.store_order_summaries(principal, ids)
        distributors = await service.names(
            principal.brand_id, "distributor", [s["distributor_id"] for s in batch]
        )
        people = await service.names(
            principal.brand_id,
            "salesperson",
            [s["salesperson_id"] for s in batch if s["salesperson_id"]],
        )
        for store in batch:
            summary = orders.get(store["id"], {})
            last = summary.get("last_order")
            rows.append(
                StoreRow(
                    id=store["id"],
                    name=store["name"],
                    contact_name=store["contact_name"],
                    phone=store["phone"],
                    address=store["address"],
                    tier=TIER_NAMES.get(store["tier"], store["tier"]),
                    tags="、".join(store["tags"]),
                    distributor=distributors.get(store["distributor_id"], ""),
                    salesperson=people.get(store["salesperson_id"] or 0, ""),
                    status=STATUS_NAMES.get(store["status"], store["status"]),
                    order_count=summary.get("order_count", 0),
                    last_order_at=_china(last["created_at"]) if last else None,
                    last_order_fen=last["payable_fen"] if last else None,
                    created_at=_china(store["created_at"]),
                )
            )
    return rows


def _texts(row: StoreRow) -> tuple[str, ...]:
    """The row's text cells (everything but the numbers and times), as typed by people."""
    return (
        row.name,
        row.contact_name,
        row.phone,
        row.address,
        row.tier,
        row.tags,
        row.distributor,
        row.salesperson,
        row.status,
    )


def to_csv(rows: list[StoreRow]) -> bytes:
    """UTF-8 with a BOM (so Excel opens it right); names can never run as formulas."""
    lines = [
        (
            str(row.id),
            *(safe_text(text) for text in _texts(row)),
            str(row.order_count),
            row.last_order_at.strftime(TIME_FORMAT) if row.last_order_at else "",
            yuan(row.last_order_fen) if row.last_order_fen is not None else "",
            row.created_at.strftime(TIME_FORMAT),
        )
        for row in rows
    ]
    return BOM + csv_lines([HEADERS, *lines])


def _xlsx(rows: list[StoreRow]) -> bytes:
    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("门店")
    header = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "0.00"})
    time = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for column, width in enumerate(COLUMN_WIDTHS):
        sheet.set_column(column, column, width)
    sheet.freeze_panes(1, 0)
    for column, title in enumerate(HEADERS):
        sheet.write_string(0, column, title, header)
    for index, row in enumerate(rows, start=1):
        sheet.write_number(index, 0, row.id)
        # write_string, not write: a phone number or "=1+1" in a name stays text.
        for column, text in enumerate(_texts(row), start=1):
            sheet.write_string(index, column, text)
        sheet.write_number(index, 10, row.order_count)
        if row.last_order_at is not None:
            sheet.write_datetime(index, 11, row.last_order_at, time)
        if row.last_order_fen is not None:
            sheet.write_number(index, 12, Decimal(row.last_order_fen).scaleb(-2), money)
        sheet.write_datetime(index, 13, row.created_at, time)
    workbook.close()
    return buffer.getvalue()


async def to_xlsx(rows: list[StoreRow]) -> bytes:
    # Zipping thousands of rows takes a moment: keep it off the event loop.
    return await asyncio.to_thread(_xlsx, rows)


def china_day(moment: datetime) -> str:
    """The file name's date: 20261205, in China."""
    return moment.astimezone(CHINA).strftime("%Y%m%d")
