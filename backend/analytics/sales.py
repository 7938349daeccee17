"""The sales dashboards: sell-in by period, dimension, channel and SKU, and the stores that
order, read from the rollups (backend/analytics/rollups.py keeps them current).

Any period is summed exactly: the months wholly inside it from the month rows, the days at
its edges from the day rows (periods.Period.split), so a year costs twelve rows a value, not
365. Distinct stores (active, dormant, how many of a tag ordered) and the figures by store tag
come the same way from the store sets (storesets.py): unions of a few dozen sets, whatever the
number of stores. Every read is bounded by a Scope (scope.scope_for): the brand's rows, or one
distributor's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import zip_longest
from typing import Any

from backend.analytics import bitsets
from backend.analytics.models import WHOLE_BRAND, AnalyticsSettings, Dim, SetDim
from backend.analytics.periods import Grain, Period, bucket, change_pct, pct
from backend.analytics.scope import Scope
from backend.catalog import service as catalog_service
from backend.infra import exports, sql
from backend.infra.exports import Column, Kind
from backend.org import service as org_service

CHANNEL_NAMES = {"self": "自主下单", "proxy": "代下单", "live": "直播"}
TIER_NAMES = {"A": "A 类", "B": "B 类", "C": "C 类", "D": "D 类"}
# The names of the dimensions a breakdown is by, as the console and the exports say them.
DIM_NAMES = {
    "region": "区域",
    "distributor": "经销商",
    "tier": "门店等级",
    "tag": "门店标签",
    "category": "品类",
    "sku": "商品",
}
NONE_NAMES = {"region": "未分区域", "category": "未分类", "tag": "无标签"}
DEFAULT_DORMANT_DAYS = 60
_MEASURES = (
    "SUM(orders) AS orders, SUM(units) AS units, SUM(list_fen) AS list_fen,"
    " SUM(discount_fen) AS discount_fen, SUM(gmv_fen) AS gmv_fen"
)


@dataclass(slots=True)
class Sums:
    orders: int = 0
    units: int = 0
    list_fen: int = 0
    discount_fen: int = 0
    gmv_fen: int = 0

    def add(self, other: Any) -> None:
        """Add a row (a mapping) or another Sums; measures a row lacks count as 0."""
        get = other.get if hasattr(other, "get") else lambda name: getattr(other, name)
        self.orders += int(get("orders") or 0)
        self.units += int(get("units") or 0)
        self.list_fen += int(get("list_fen") or 0)
        self.discount_fen += int(get("discount_fen") or 0)
        self.gmv_fen += int(get("gmv_fen") or 0)

    def view(self) -> dict[str, int]:
        return {
            "orders": self.orders,
            "units": self.units,
            "gmv_fen": self.gmv_fen,
            "discount_fen": self.discount_fen,
        }


@dataclass(frozen=True, slots=True)
class Ask:
    """One dashboard question: whose figures, over which days, in which channel (or all)."""

    scope: Scope
    period: Period
    channel: str | None = None

    def before(self) -> Ask:
        return replace(self, period=self.period.previous())


def _day(value: Any) -> date:
    """A date column as read: PostgreSQL gives dates, SQLite ISO text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass
class _Where:
    """A WHERE clause and the statement's arguments, numbered as they are added. Parts of
    one statement (a UNION's) share `args`, each with its own clauses."""

    args: list[Any] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str) -> None:
        self.clauses.append(clause)

    @property
    def text(self) -> str:
        return " AND ".join(self.clauses)


Spans = tuple[list[date], list[Period]]  # whole months (first days), spans of days


def _rollup_where(
    ask: Ask, dim: Dim | SetDim, spans: Spans, args: list[Any] | None = None
) -> _Where:
    whole, edges = spans
    where = _Where(args if args is not None else [])
    where.add(f"brand_id = {where.arg(ask.scope.brand_id)}")
    where.add(f"distributor_id = {where.arg(ask.scope.distributor_id)}")
    where.add(f"dim = {where.arg(dim.value)}")
    either = []
    if whole:
        either.append(f"(grain = 'month' AND \"period\" IN ({where.arg(whole)}))")
    for edge in edges:
        first, last = where.arg(edge.start), where.arg(edge.end)
        either.append(f"(grain = 'day' AND \"period\" BETWEEN {first} AND {last})")
    where.add(either[0] if len(either) == 1 else f"({' OR '.join(either)})")
    if ask.channel:
        where.add(f"channel = {where.arg(ask.channel)}")
    return where


# What rollup rows may be grouped by: a fixed list, never the caller's text.
_GROUPS = {"key": '"key"', "channel": "channel", "period": '"period"'}


def _parts(spans: Spans) -> list[Spans]:
    """A statement's worth each: the whole months, then each edge. One statement per grain,
    each a range of the table's index: an OR of the two would have the planner read every
    row of the brand."""
    whole, edges = spans
    return ([(whole, [])] if whole else []) + [([], [edge]) for edge in edges]


async def _rollup(ask: Ask, dim: Dim, group: str, spans: Spans | None = None) -> dict[Any, Sums]:
    """Sums of `dim`'s rows over the ask's period, per `group` ("key", "channel" or "period"):
    whole months from the month rows unless `spans` says otherwise (day and week points need
    the days themselves)."""
    column = _GROUPS[group]
    sums: dict[Any, Sums] = defaultdict(Sums)
    for part in _parts(spans or ask.period.split()):
        where = _rollup_where(ask, dim, part)
        rows = await sql.fetch(
            f"SELECT {column} AS grp, {_MEASURES} FROM analytics_sales"  # noqa: S608 (fixed parts)
            f" WHERE {where.text} GROUP BY {column}",
            *where.args,
        )
        for row in rows:
            sums[_day(row["grp"]) if group == "period" else str(row["grp"])].add(row)
    # A cancelled order leaves its rows at zero: a value nobody bought is no value.
    return {group: found for group, found in sums.items() if found != Sums()}


async def _set_rows(ask: Ask, dim: SetDim) -> list[sql.Row]:
    """The store-set rows of `dim` over the ask's period (whole months from the month rows,
    the edges from the day rows), in the ask's channel or all: each a set of stores and its
    sums. The rows of every store (SetDim.ALL) count any channel."""
    if dim is SetDim.ALL:
        ask = replace(ask, channel=None)
    rows: list[sql.Row] = []
    for part in _parts(ask.period.split()):
        where = _rollup_where(ask, dim, part)
        rows += await sql.fetch(
            'SELECT "period", "key", stores, orders, units, gmv_fen'  # noqa: S608 (fixed parts)
            f" FROM analytics_store_sets WHERE {where.text}",
            *where.args,
        )
    return rows


def _total(sums: dict[Any, Sums]) -> Sums:
    total = Sums()
    for found in sums.values():
        total.add(found)
    return total


# ---- trend ---------------------------------------------------------------------------------


async def _points(ask: Ask, grain: Grain) -> tuple[list[dict[str, Any]], Sums]:
    spans = ask.period.split() if grain is Grain.MONTH else ([], [ask.period])
    by_day = await _rollup(ask, Dim.ALL, "period", spans)
    buckets: dict[date, Sums] = {first: Sums() for first in ask.period.buckets(grain)}
    for day, found in by_day.items():
        buckets[bucket(day, grain)].add(found)
    points = [{"period": first.isoformat(), **_point(found)} for first, found in buckets.items()]
    return points, _total(by_day)


def _point(sums: Sums) -> dict[str, int]:
    return {"orders": sums.orders, "units": sums.units, "gmv_fen": sums.gmv_fen}


async def trend(ask: Ask, grain: Grain) -> dict[str, Any]:
    """Orders, units and GMV per day, ISO week or month of the period, and of the period
    before it, with the totals and how they changed."""
    previous = ask.before()
    points, total = await _points(ask, grain)
    previous_points, previous_total = await _points(previous, grain)
    return {
        "grain": grain.value,
        **ask.period.view(),
        "points": points,
        "previous": {**previous.period.view(), "points": previous_points},
        "total": total.view(),
        "previous_total": previous_total.view(),
        "change": {
            "gmv_pct": change_pct(total.gmv_fen, previous_total.gmv_fen),
            "orders_pct": change_pct(total.orders, previous_total.orders),
            "units_pct": change_pct(total.units, previous_total.units),
        },
    }


# ---- breakdowns ----------------------------------------------------------------------------


async def _names(brand_id: int, dim: str, keys: list[str]) -> dict[str, str]:
    ids = [int(key) for key in keys if key.isdigit() and key != "0"]
    found: dict[int, str] = {}
    if dim in ("region", "distributor"):
        found = await org_service.names(brand_id, dim, ids)
    elif dim == "category":
        found = await catalog_service.category_names(brand_id, ids)
    elif dim == "sku":
        skus = await catalog_service.sku_summaries(brand_id, ids)
        found = {sku_id: summary.title for sku_id, summary in skus.items()}
    names = {}
    for key in keys:
        if dim == "tier":
            names[key] = TIER_NAMES.get(key, key)
        elif dim == "tag":
            names[key] = key or NONE_NAMES["tag"]
        elif key in ("", "0"):
            names[key] = NONE_NAMES.get(dim, "—")
        else:
            names[key] = found.get(int(key), f"#{key}")
    return names


async def _tag_sums(ask: Ask) -> tuple[dict[str, Sums], dict[str, int]]:
    """Sums per store tag as the stores are tagged now (a store with several tags counts
    under each; "" for none) and how many stores of each tag ordered."""
    sums: dict[str, Sums] = defaultdict(Sums)
    sets: dict[str, list[Any]] = defaultdict(list)
    for row in await _set_rows(ask, SetDim.TAG):
        sums[str(row["key"])].add(row)
        sets[str(row["key"])].append(row["stores"])
    return sums, {tag: len(bitsets.union(found)) for tag, found in sets.items()}


def _row(key: str, name: str, now: Sums, before: Sums, total: Sums) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "orders": now.orders,
        "units": now.units,
        "gmv_fen": now.gmv_fen,
        "share_pct": pct(now.gmv_fen, total.gmv_fen),
        "previous_gmv_fen": before.gmv_fen,
        "change_pct": change_pct(now.gmv_fen, before.gmv_fen),
    }


async def _grand_total(ask: Ask) -> Sums:
    return _total(await _rollup(ask, Dim.ALL, "channel"))


async def breakdown(ask: Ask, dim: str) -> dict[str, Any]:
    """The period's sell-in per value of `dim` (region, distributor, tier, tag, category,
    sku), largest first, with each value's share and its change over the previous period.
    Values that sold only in the previous period are listed too (at 0)."""
    stores: dict[str, int] | None = None
    if dim == "tag":
        now, stores = await _tag_sums(ask)
        before, _ = await _tag_sums(ask.before())
    else:
        now = await _rollup(ask, Dim(dim), "key")
        before = await _rollup(ask.before(), Dim(dim), "key")
    total = await _grand_total(ask)
    keys = sorted(set(now) | set(before))
    names = await _names(ask.scope.brand_id, dim, keys)
    rows = []
    for key in keys:
        row = _row(key, names[key], now.get(key, Sums()), before.get(key, Sums()), total)
        if stores is not None:
            row["stores"] = stores.get(key, 0)
        rows.append(row)
    rows.sort(key=lambda row: (-row["gmv_fen"], -row["previous_gmv_fen"], row["name"]))
    return {"dim": dim, **ask.period.view(), "rows": rows, "total": total.view()}


async def skus(ask: Ask, order: str, limit: int) -> dict[str, Any]:
    """The best (or worst) selling SKUs of the period by GMV. The worst include the SKUs on
    sale (at the distributor, for its staff) that nobody ordered."""
    now = await _rollup(ask, Dim.SKU, "key")
    before = await _rollup(ask.before(), Dim.SKU, "key")
    total = await _grand_total(ask)
    keys = set(now)
    if order == "bottom":
        distributor = None if ask.scope.whole_brand else ask.scope.distributor_id
        on_sale = await catalog_service.analytics_sales_active_skus(ask.scope.brand_id, distributor)
        keys |= {str(sku_id) for sku_id in on_sale}
    sign = -1 if order == "top" else 1
    ranked = sorted(
        keys,
        key=lambda key: (
            sign * now.get(key, Sums()).gmv_fen,
            sign * now.get(key, Sums()).units,
            int(key),
        ),
    )[:limit]
    names = await _names(ask.scope.brand_id, "sku", ranked)
    rows = [
        _row(key, names[key], now.get(key, Sums()), before.get(key, Sums()), total)
        for key in ranked
    ]
    return {"order": order, **ask.period.view(), "rows": rows, "total": total.view()}


async def channels(ask: Ask) -> dict[str, Any]:
    """The period's sell-in per channel: self orders, proxy orders, live orders."""
    now = await _rollup(ask, Dim.ALL, "channel")
    before = await _rollup(ask.before(), Dim.ALL, "channel")
    total = _total(now)
    rows = [
        _row(key, name, now.get(key, Sums()), before.get(key, Sums()), total)
        for key, name in CHANNEL_NAMES.items()
    ]
    return {**ask.period.view(), "rows": rows, "total": total.view()}


# ---- stores --------------------------------------------------------------------------------


def _stats_where(scope: Scope) -> _Where:
    where = _Where()
    where.add(f"s.brand_id = {where.arg(scope.brand_id)}")
    if not scope.whole_brand:
        where.add(f"s.distributor_id = {where.arg(scope.distributor_id)}")
    return where


async def _active_by_month(ask: Ask) -> dict[date, bitsets.BitMap]:
    """The stores that had a counted order (any channel) in each month of the period, its
    edge months clipped to it."""
    sets: dict[date, list[Any]] = defaultdict(list)
    for row in await _set_rows(ask, SetDim.ALL):
        sets[bucket(_day(row["period"]), Grain.MONTH)].append(row["stores"])
    return {first: bitsets.union(found) for first, found in sets.items()}


async def _active(ask: Ask) -> bitsets.BitMap:
    """The stores that had a counted order (any channel) in the period."""
    return bitsets.union(row["stores"] for row in await _set_rows(ask, SetDim.ALL))


async def _new(scope: Scope, period: Period) -> dict[date, int]:
    """How many stores placed their first counted order on each day of the period."""
    where = _stats_where(scope)
    where.add(f"first_day BETWEEN {where.arg(period.start)} AND {where.arg(period.end)}")
    rows = await sql.fetch(
        f"SELECT s.first_day, COUNT(*) AS n FROM analytics_stores s"  # noqa: S608
        f" WHERE {where.text} GROUP BY s.first_day",
        *where.args,
    )
    return {_day(row["first_day"]): int(row["n"]) for row in rows}


async def _dormant(scope: Scope, end: date, days: int) -> int:
    """Stores whose last counted order up to `end` was more than `days` days before it: an
    order before the cut-off and none from it to `end` (later orders do not count, so a past
    period is judged as it was then). A distributor's are judged by the orders placed with
    it: a store that moved to another distributor is dormant for the one it left."""
    cutoff = end - timedelta(days=days)
    first = cutoff.replace(day=1)
    ordered: list[Any] = []
    # Every month before the cut-off's, then the cut-off's month's days before it.
    for grain, since, before in ((Grain.MONTH, None, first), (Grain.DAY, first, cutoff)):
        where = _Where()
        where.add(f"brand_id = {where.arg(scope.brand_id)}")
        where.add(f"distributor_id = {where.arg(scope.distributor_id)}")
        where.add(f"dim = {where.arg(SetDim.ALL.value)}")
        where.add(f"grain = {where.arg(grain.value)}")
        if since is not None:
            where.add(f'"period" >= {where.arg(since)}')
        where.add(f'"period" < {where.arg(before)}')
        rows = await sql.fetch(
            f"SELECT stores FROM analytics_store_sets WHERE {where.text}",  # noqa: S608
            *where.args,
        )
        ordered += [row["stores"] for row in rows]
    since_cutoff = await _active(Ask(scope, Period(cutoff, end)))
    return len(bitsets.union(ordered) - since_cutoff)


async def dormant_days(brand_id: int) -> int:
    """After how many days without an order a store counts as dormant (the brand's setting)."""
    found = await AnalyticsSettings.filter(brand_id=brand_id).values_list("dormant_days", flat=True)
    return int(found[0]) if found else DEFAULT_DORMANT_DAYS  # type: ignore[call-overload]


async def stores(ask: Ask) -> dict[str, Any]:
    """Active stores (ordered in the period), new ones (first order in it), dormant ones (no
    order for more than the brand's dormant days at its end) and all stores, against the
    previous period, and active and new stores per month."""
    scope, period = ask.scope, ask.period
    ask = replace(ask, channel=None)  # a store is active whatever channel it ordered in
    previous = ask.before()
    days = await dormant_days(scope.brand_id)
    active_by_month = await _active_by_month(ask)
    active = len(bitsets.BitMap().union(*active_by_month.values()))
    previous_active = len(await _active(previous))
    new, previous_new = await _new(scope, period), await _new(scope, previous.period)
    dormant = await _dormant(scope, period.end, days)
    previous_dormant = await _dormant(scope, previous.period.end, days)
    distributor = None if scope.distributor_id == WHOLE_BRAND else scope.distributor_id
    months = [
        {
            "month": first.isoformat(),
            "active": len(active_by_month.get(first, ())),
            "new": sum(n for day, n in new.items() if bucket(day, Grain.MONTH) == first),
        }
        for first in period.buckets(Grain.MONTH)
    ]
    counts = {
        "active": active,
        "new": sum(new.values()),
        "dormant": dormant,
    }
    before = {
        "active": previous_active,
        "new": sum(previous_new.values()),
        "dormant": previous_dormant,
    }
    total = await org_service.analytics_sales_store_count(scope.brand_id, distributor)
    return {
        **period.view(),
        **counts,
        "total": total,
        "active_pct": pct(active, total),
        "dormant_days": days,
        "previous": {**previous.period.view(), **before},
        "change": {f"{name}_pct": change_pct(counts[name], before[name]) for name in counts},
        "trend": months,
    }


# ---- exports -------------------------------------------------------------------------------


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.1f}%"


TREND_TABLE = exports.Table(
    "销售趋势",
    (
        Column("周期", 12),
        Column("订单数", 10, Kind.NUMBER),
        Column("件数", 10, Kind.NUMBER),
        Column("销售额(元)", 14, Kind.MONEY),
        Column("上期周期", 12),
        Column("上期订单数", 10, Kind.NUMBER),
        Column("上期件数", 10, Kind.NUMBER),
        Column("上期销售额(元)", 14, Kind.MONEY),
    ),
)


def trend_rows(answer: dict[str, Any]) -> list[exports.Row]:
    """The trend's points beside the previous period's, bucket by bucket."""
    empty = {"period": None, "orders": None, "units": None, "gmv_fen": None}
    pairs = zip_longest(answer["points"], answer["previous"]["points"], fillvalue=empty)
    return [
        tuple(point[name] for point in pair for name in ("period", "orders", "units", "gmv_fen"))
        for pair in pairs
    ]


def figures_table(
    sheet: str, title: str, *, ranked: bool = False, stores: bool = False
) -> exports.Table:
    """A table of breakdown rows, first column `title` (商品, 区域…): the shape of the
    breakdowns, the SKU ranking (`ranked`: a rank first) and the channel mix."""
    return exports.Table(
        sheet,
        (
            *((Column("排名", 6, Kind.NUMBER),) if ranked else ()),
            Column(title, 28),
            Column("订单数", 10, Kind.NUMBER),
            Column("件数", 10, Kind.NUMBER),
            Column("销售额(元)", 14, Kind.MONEY),
            Column("占比", 8, blank="—"),
            Column("上期销售额(元)", 14, Kind.MONEY),
            Column("环比", 8, blank="—"),
            *((Column("下单门店数", 10, Kind.NUMBER),) if stores else ()),
        ),
    )


def figures_rows(
    answer: dict[str, Any], *, ranked: bool = False, stores: bool = False
) -> list[exports.Row]:
    return [
        (
            *((rank,) if ranked else ()),
            row["name"],
            row["orders"],
            row["units"],
            row["gmv_fen"],
            _percent(row["share_pct"]),
            row["previous_gmv_fen"],
            _percent(row["change_pct"]),
            *((row["stores"],) if stores else ()),
        )
        for rank, row in enumerate(answer["rows"], start=1)
    ]


STORES_TABLE = exports.Table(
    "门店活跃",
    (
        Column("区间", 24),
        Column("活跃门店", 10, Kind.NUMBER),
        Column("新增门店", 10, Kind.NUMBER),
        Column("沉睡门店", 10, Kind.NUMBER),
        Column("门店总数", 10, Kind.NUMBER),
    ),
)


def stores_rows(answer: dict[str, Any]) -> list[exports.Row]:
    """The period's counts first, then the previous period's, then each month's."""
    before = answer["previous"]
    return [
        (
            f"{answer['start']} 至 {answer['end']}",
            answer["active"],
            answer["new"],
            answer["dormant"],
            answer["total"],
        ),
        (
            f"上期 {before['start']} 至 {before['end']}",
            before["active"],
            before["new"],
            before["dormant"],
            None,
        ),
        *(
            (month["month"][:7], month["active"], month["new"], None, None)
            for month in answer["trend"]
        ),
    ]
