"""The dashboards' calendar: a period of China days, its buckets by day, ISO week or month,
the period before it, and percentages. Pure: no IO, `today` is passed in.

A period is inclusive at both ends. Its previous period has the same length: the same
number of whole months when the period is whole months (so March compares with February,
not with the 31 days before it), otherwise the same number of days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from backend.kernel.errors import InvalidInput

DEFAULT_DAYS = 30
# The longest period of the lists that have no grain (promotions, coupons, live sessions,
# behaviour reports).
MAX_SPAN_DAYS = 366
CHINA = ZoneInfo("Asia/Shanghai")


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO week, Monday to Sunday; a bucket is named by its Monday
    MONTH = "month"  # a bucket is named by the first of its month


# The most buckets a period may span at each grain (36 months is also the limit of the
# dashboards that have no grain).
LIMITS = {Grain.DAY: 92, Grain.WEEK: 106, Grain.MONTH: 36}
LIMIT_WORDS = {Grain.DAY: "92 天", Grain.WEEK: "106 周", Grain.MONTH: "36 个月"}


class InvalidPeriod(InvalidInput):
    status = 400
    code = "analytics.invalid_period"
    message = "统计区间不正确"


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return _month_start(_month_number(day) + 1) - timedelta(days=1)


def bucket(day: date, grain: Grain) -> date:
    """The first day of the bucket `day` falls in."""
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def _next_bucket(first: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return first + timedelta(days=7)
    if grain is Grain.MONTH:
        return _month_start(_month_number(first) + 1)
    return first + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def start_at(self) -> datetime:
        """The period's first moment, midnight in China, in UTC (as rows keep moments)."""
        return datetime.combine(self.start, time(), CHINA).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period: the next day's midnight in China, in UTC."""
        return datetime.combine(self.end + timedelta(days=1), time(), CHINA).astimezone(UTC)

    @property
    def whole_months(self) -> bool:
        return self.start.day == 1 and self.end == month_end(self.end)

    def count(self, grain: Grain) -> int:
        """How many buckets of `grain` the period touches."""
        if grain is Grain.MONTH:
            return _month_number(self.end) - _month_number(self.start) + 1
        if grain is Grain.WEEK:
            return (bucket(self.end, grain) - bucket(self.start, grain)).days // 7 + 1
        return self.days

    def buckets(self, grain: Grain) -> list[date]:
        """The first day of every bucket the period touches, in order (the first may start
        before the period, the last end after it)."""
        found, at = [], bucket(self.start, grain)
        while at <= self.end:
            found.append(at)
            at = _next_bucket(at, grain)
        return found

    def previous(self) -> Period:
        """The period of equal length just before this one (see the module's docstring)."""
        if self.whole_months:
            months = self.count(Grain.MONTH)
            start = _month_start(_month_number(self.start) - months)
            return Period(start, self.start - timedelta(days=1))
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def split(self) -> tuple[list[date], list[Period]]:
        """The months wholly inside the period (their first days) and the spans of days
        left at its edges: month sums cover the first, day sums the second."""
        months = [
            first
            for first in self.buckets(Grain.MONTH)
            if first >= self.start and month_end(first) <= self.end
        ]
        if not months:
            return [], [self]
        edges = []
        if self.start < months[0]:
            edges.append(Period(self.start, months[0] - timedelta(days=1)))
        last = month_end(months[-1])
        if last < self.end:
            edges.append(Period(last + timedelta(days=1), self.end))
        return months, edges

    def view(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def period_of(
    start: date | None, end: date | None, today: date, grain: Grain = Grain.MONTH
) -> Period:
    """The period asked for: by default the last 30 days ending today (or ending `end`, or
    starting `start`). Refused (400) when it ends before it starts or spans more buckets than
    `grain` allows."""
    if end is None:
        # From `start`: its first 30 days, or up to today when that is sooner.
        end = (
            today
            if start is None
            else max(start, min(today, start + timedelta(days=DEFAULT_DAYS - 1)))
        )
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise InvalidPeriod(
            "结束日期不能早于开始日期",
            details=[{"field": "end", "type": "before_start", "message": "不能早于开始日期"}],
        )
    period = Period(start, end)
    if period.count(grain) > LIMITS[grain]:
        raise InvalidPeriod(
            f"统计区间过长：按{GRAIN_NAMES[grain]}最多 {LIMIT_WORDS[grain]}",
            details=[{"field": "start", "type": "too_long", "message": "统计区间过长"}],
        )
    return period


GRAIN_NAMES = {Grain.DAY: "日", Grain.WEEK: "周", Grain.MONTH: "月"}


def span_of(
    start: date | None, end: date | None, today: date, max_days: int = MAX_SPAN_DAYS
) -> Period:
    """The days asked of a list that has no grain: by default the last 30 days ending today
    (or ending `end`). Refused (400) when it ends before it starts or is longer than
    `max_days` days."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise InvalidPeriod(
            "统计区间不正确：结束日期不能早于开始日期",
            details=[{"field": "end", "type": "before_start", "message": "不能早于开始日期"}],
        )
    period = Period(start, end)
    if period.days > max_days:
        raise InvalidPeriod(
            f"统计区间过长：最多 {max_days} 天",
            details=[{"field": "start", "type": "too_long", "message": "统计区间过长"}],
        )
    return period


_TENTH = Decimal("0.1")


def pct(part: int, base: int) -> float | None:
    """`part` as a percentage of `base`, to one decimal (half up); None when base is 0."""
    if base == 0:
        return None
    return float((Decimal(part) * 100 / Decimal(base)).quantize(_TENTH, ROUND_HALF_UP))


def change_pct(current: int, previous: int) -> float | None:
    """How much `current` grew (or fell) over `previous`, in percent; None when previous is 0."""
    if previous == 0:
        return None
    return pct(current - previous, previous)
