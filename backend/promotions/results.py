"""What promotions gave: a promotion's budget day by day (for the console's chart) and the
results export (per promotion: orders, stores, money from its budget) as CSV or XLSX.

Pure: the service reads the rows, these functions shape and encode them. Money stays integer
fen until written: yuan text from the integers, XLSX numbers as exact decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from backend.infra import exports
from backend.infra.exports import CHINA, Column, Kind, china_time

TAKE = "take"


@dataclass(frozen=True, slots=True)
class BudgetMove:
    """One entry of a promotion's budget statement (see models.PromotionUse)."""

    at: datetime
    kind: str  # "take" or "give_back"
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Day:
    day: date  # in China time: the day people mean
    taken_fen: int
    given_back_fen: int
    committed_fen: int  # what the budget had committed at the end of the day

    def view(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "taken_fen": self.taken_fen,
            "given_back_fen": self.given_back_fen,
            "committed_fen": self.committed_fen,
        }


def daily(moves: Iterable[BudgetMove]) -> list[Day]:
    """The budget per China day that had a move, oldest first, with the running total."""
    per_day: dict[date, list[int]] = {}
    for move in moves:
        taken_and_back = per_day.setdefault(china_day(move.at), [0, 0])
        taken_and_back[0 if move.kind == TAKE else 1] += move.amount_fen
    days = []
    committed = 0
    for day in sorted(per_day):
        taken, given_back = per_day[day]
        committed += taken - given_back
        days.append(Day(day, taken, given_back, committed))
    return days


# ---- the results export ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultRow:
    id: int
    name: str
    kind: str  # the reward form in Chinese
    status: str  # in Chinese
    starts_at: datetime
    ends_at: datetime
    orders: int
    stores: int
    committed_fen: int
    budget_fen: int | None


UNLIMITED = "不限"  # what a promotion without a budget shows for its budget and what is left
TABLE = exports.Table(
    "活动效果",
    (
        Column("活动编号", 10, Kind.NUMBER),
        Column("活动名称", 28),
        Column("奖励形式", 10),
        Column("状态", 10),
        Column("开始时间", 18, Kind.TIME),
        Column("结束时间", 18, Kind.TIME),
        Column("参与订单数", 12, Kind.NUMBER),
        Column("参与门店数", 12, Kind.NUMBER),
        Column("优惠及返利金额(元)", 18, Kind.MONEY),
        Column("活动资金(元)", 14, Kind.MONEY, blank=UNLIMITED),
        Column("资金剩余(元)", 14, Kind.MONEY, blank=UNLIMITED),
    ),
)
HEADERS = TABLE.titles


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def _left(row: ResultRow) -> int | None:
    return None if row.budget_fen is None else max(row.budget_fen - row.committed_fen, 0)


def _cells(row: ResultRow) -> exports.Row:
    return (
        row.id,
        row.name,
        row.kind,
        row.status,
        china_time(row.starts_at),
        china_time(row.ends_at),
        row.orders,
        row.stores,
        row.committed_fen,
        row.budget_fen,
        _left(row),
    )


def csv_file(rows: Sequence[ResultRow]) -> bytes:
    """UTF-8 CSV with a BOM, so that Excel in China opens it right."""
    return exports.csv_file(TABLE, map(_cells, rows))


def xlsx_file(rows: Sequence[ResultRow]) -> bytes:
    """One sheet, money as numbers with two decimals, times as dates."""
    return exports.xlsx_file(TABLE, map(_cells, rows))
