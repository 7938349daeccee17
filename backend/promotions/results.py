"""What promotions gave: a promotion's budget day by day (for the console's chart) and the
results export (per promotion: orders, stores, money from its budget) as CSV or XLSX.

Pure: the service reads the rows, these functions shape and encode them. Money stays integer
fen until written: yuan text from the integers, XLSX numbers as exact decimals.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from xlsxwriter import Workbook

from backend.kernel.spreadsheet import BOM, csv_lines, safe_text

CHINA = ZoneInfo("Asia/Shanghai")
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


HEADERS = (
    "活动编号",
    "活动名称",
    "奖励形式",
    "状态",
    "开始时间",
    "结束时间",
    "参与订单数",
    "参与门店数",
    "优惠及返利金额(元)",
    "活动资金(元)",
    "资金剩余(元)",
)
TIME_FORMAT = "%Y-%m-%d %H:%M"
COLUMN_WIDTHS = (10, 28, 10, 10, 18, 18, 12, 12, 18, 14, 14)


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def _china(moment: datetime) -> datetime:
    return moment.astimezone(CHINA).replace(tzinfo=None, second=0, microsecond=0)


def _left(row: ResultRow) -> int | None:
    return None if row.budget_fen is None else max(row.budget_fen - row.committed_fen, 0)


def _yuan(fen: int | None) -> str:
    """Exact yuan text: 199900 → "1999.00"; no budget → "不限"."""
    if fen is None:
        return "不限"
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole}.{cents:02d}"


def csv_file(rows: Sequence[ResultRow]) -> bytes:
    """UTF-8 CSV with a BOM, so that Excel in China opens it right."""
    cells = [
        (
            str(row.id),
            safe_text(row.name),
            row.kind,
            row.status,
            _china(row.starts_at).strftime(TIME_FORMAT),
            _china(row.ends_at).strftime(TIME_FORMAT),
            str(row.orders),
            str(row.stores),
            _yuan(row.committed_fen),
            _yuan(row.budget_fen),
            _yuan(_left(row)),
        )
        for row in rows
    ]
    return BOM + csv_lines([HEADERS, *cells])


def xlsx_file(rows: Sequence[ResultRow]) -> bytes:
    """One sheet, money as numbers with two decimals, times as dates."""
    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("活动效果")
    money = workbook.add_format({"num_format": "0.00"})
    time = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    header = workbook.add_format({"bold": True})
    for column, width in enumerate(COLUMN_WIDTHS):
        sheet.set_column(column, column, width)
    sheet.freeze_panes(1, 0)
    for column, title in enumerate(HEADERS):
        sheet.write_string(0, column, title, header)
    for index, row in enumerate(rows, start=1):
        sheet.write_number(index, 0, row.id)
        # write_string: a name such as "=1+1" stays text.
        for column, text in enumerate((row.name, row.kind, row.status), start=1):
            sheet.write_string(index, column, text)
        sheet.write_datetime(index, 4, _china(row.starts_at), time)
        sheet.write_datetime(index, 5, _china(row.ends_at), time)
        sheet.write_number(index, 6, row.orders)
        sheet.write_number(index, 7, row.stores)
        for column, fen in enumerate((row.committed_fen, row.budget_fen, _left(row)), start=8):
            if fen is None:
                sheet.write_string(index, column, "不限")
            else:
                sheet.write_number(index, column, Decimal(fen).scaleb(-2), money)
    workbook.close()
    return buffer.getvalue()
