"""The brand's stores as a spreadsheet (CSV or XLSX): the columns of the console's store list,
for the stores matching its filters.

Stores are read in keyset batches; a brand has thousands of stores, not millions, so the file
is built whole before it is sent, and a failure is still an ordinary error response. The last
order's amount stays integer fen until it is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from backend.identity.access import Principal
from backend.infra import exports
from backend.infra.exports import CHINA, Column, Kind, china_time
from backend.org import service

TIER_NAMES = {"A": "A 类", "B": "B 类", "C": "C 类", "D": "D 类"}
STATUS_NAMES = {"active": "正常营业", "suspended": "已暂停", "closed": "已关闭"}
TABLE = exports.Table(
    "门店",
    (
        Column("门店编号", 10, Kind.NUMBER),
        Column("门店", 24),
        Column("联系人", 10),
        Column("电话", 14),
        Column("地址", 30),
        Column("等级", 8),
        Column("标签", 20),
        Column("经销商", 20),
        Column("业务员", 10),
        Column("状态", 10),
        Column("订单数", 8, Kind.NUMBER),
        Column("最近下单时间", 18, Kind.TIME),
        Column("最近下单金额(元)", 16, Kind.MONEY),
        Column("入驻时间", 18, Kind.TIME),
    ),
)
HEADERS = TABLE.titles


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
    return china_time(moment)


async def store_rows(principal: Principal, filters: dict[str, Any]) -> list[StoreRow]:
    """The caller's stores matching the store list's `filters`, by id, as the file's rows."""
    assert principal.brand_id is not None
    rows: list[StoreRow] = []
    async for batch in service.store_batches(principal, filters):
        ids = [store["id"] for store in batch]
        orders = await service.store_order_summaries(principal, ids)
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


def to_csv(rows: list[StoreRow]) -> bytes:
    """UTF-8 with a BOM (so Excel opens it right); names can never run as formulas."""
    return exports.csv_file(TABLE, map(astuple, rows))  # fields in the table's column order


async def to_xlsx(rows: list[StoreRow]) -> bytes:
    # Zipping thousands of rows takes a moment: keep it off the event loop.
    return await asyncio.to_thread(exports.xlsx_file, TABLE, map(astuple, rows))


def china_day(moment: datetime) -> str:
    """The file name's date: 20261205, in China."""
    return moment.astimezone(CHINA).strftime("%Y%m%d")
