"""The sales rollups, kept current from the orders and rebuildable from them.

`refresh` reads the orders changed since its last run (by `updated_at`, from a few minutes
before where it stopped, so a transaction that committed late is read too), works out what
each adds to the figures now (`contribution`: pure), compares that with what its `OrderFact`
says was applied, and applies the difference to `analytics_sales` and the store's
`analytics_stores` row, in one transaction per page of orders with the fact. Reading an
order twice therefore changes nothing, a cancelled order takes back exactly what it added,
and a refresh that dies half-way loses nothing: the cursor moves with the page it covers.

Refreshes never run side by side: each page's transaction first locks the cursor's row
(SQLite runs one writer at a time anyway), so two job workers, or a job and `b2bc
analytics-rebuild`, wait for each other instead of adding a difference twice.

`rebuild` empties the facts, rollups and store stats and refreshes from the first order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.analytics.models import WHOLE_BRAND, Dim, Grain
from backend.analytics.scope import china_day
from backend.catalog import service as catalog_service
from backend.deps import Deps
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.ordering import service as ordering_service
from backend.org import service as org_service

log = get_logger("analytics.rollups")

CURSOR = "orders"
# How far before the last run's start each run reads again: a transaction that updated an
# order before that start but committed after it is still read.
OVERLAP = timedelta(minutes=5)
PAGE = 500
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

# A part of an order's contribution: (grain, period as ISO day, dim, key) → measures
# (orders, units, list_fen, discount_fen, gmv_fen).
PartKey = tuple[str, str, str, str]
Measures = tuple[int, int, int, int, int]
NOTHING: Measures = (0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Contribution:
    """What one order adds: to which brand, distributor and channel, and its parts."""

    brand_id: int
    distributor_id: int
    store_id: int
    channel: str
    day: date
    counted: bool
    parts: dict[PartKey, Measures]

    @property
    def gmv_fen(self) -> int:
        return self.parts.get((Grain.DAY.value, self.day.isoformat(), Dim.ALL.value, ""), NOTHING)[
            4
        ]

    @property
    def units(self) -> int:
        return self.parts.get((Grain.DAY.value, self.day.isoformat(), Dim.ALL.value, ""), NOTHING)[
            1
        ]


def _add(into: dict[Any, list[int]], key: Any, measures: Sequence[int]) -> None:
    sums = into.setdefault(key, [0, 0, 0, 0, 0])
    for at, value in enumerate(measures):
        sums[at] += value


def contribution(
    order: Mapping[str, Any], store: Mapping[str, Any] | None, categories: Mapping[int, int]
) -> Contribution:
    """What `order` (with its lines) adds to the figures now: nothing unless it counts.
    `store`: its {region_id, tier} now; `categories`: sku id → category id."""
    day = china_day(_moment(order["created_at"]))
    counted = order["status"] in ordering_service.COUNTED_STATUSES
    parts: dict[PartKey, list[int]] = {}
    if counted:
        lines = order["lines"]
        whole = (
            1,
            sum(int(line["quantity"]) for line in lines),
            sum(int(line["list_amount_fen"]) for line in lines),
            sum(int(line["discount_fen"]) for line in lines),
            sum(int(line["payable_fen"]) for line in lines),
        )
        region = str((store or {}).get("region_id") or 0)
        tier = str((store or {}).get("tier") or "")
        by_key: dict[tuple[str, str], list[int]] = {}
        for line in lines:
            measures = (
                0,  # counted once per order below
                int(line["quantity"]),
                int(line["list_amount_fen"]),
                int(line["discount_fen"]),
                int(line["payable_fen"]),
            )
            sku = int(line["sku_id"])
            for dim, key in (
                (Dim.SKU.value, str(sku)),
                (Dim.CATEGORY.value, str(categories.get(sku, 0))),
            ):
                _add(by_key, (dim, key), measures)
        for sums in by_key.values():
            sums[0] = 1  # one order containing it
        for grain, period in (
            (Grain.DAY.value, day.isoformat()),
            (Grain.MONTH.value, day.replace(day=1).isoformat()),
        ):
            for dim, key in (
                (Dim.ALL.value, ""),
                (Dim.REGION.value, region),
                (Dim.DISTRIBUTOR.value, str(order["distributor_id"])),
                (Dim.TIER.value, tier),
            ):
                _add(parts, (grain, period, dim, key), whole)
            for (dim, key), sums in by_key.items():
                _add(parts, (grain, period, dim, key), sums)
        month = day.replace(day=1).isoformat()
        _add(parts, (Grain.MONTH.value, month, Dim.STORE.value, str(order["store_id"])), whole)
    return Contribution(
        brand_id=int(order["brand_id"]),
        distributor_id=int(order["distributor_id"]),
        store_id=int(order["store_id"]),
        channel=str(order["channel"]),
        day=day,
        counted=counted,
        parts={key: (m[0], m[1], m[2], m[3], m[4]) for key, m in parts.items()},
    )


RollupKey = tuple[int, int, str, str, str, str, str]  # brand, distributor, grain, period,
# dim, key, channel


def difference(before: Contribution | None, after: Contribution) -> dict[RollupKey, Measures]:
    """The rollup rows to move and by how much, from `before` (as applied) to `after`: each
    part for the whole brand and for the order's distributor. Zero moves are left out."""
    moves: dict[RollupKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for sign, side in ((-1, before), (1, after)):
        if side is None:
            continue
        for distributor in (WHOLE_BRAND, side.distributor_id):
            for (grain, period, dim, key), measures in side.parts.items():
                sums = moves[(side.brand_id, distributor, grain, period, dim, key, side.channel)]
                for at, value in enumerate(measures):
                    sums[at] += sign * value
    return {
        key: (m[0], m[1], m[2], m[3], m[4]) for key, m in moves.items() if any(v != 0 for v in m)
    }


# ---- persistence ----------------------------------------------------------------------------

_MOVE = (
    'INSERT INTO analytics_sales (brand_id, distributor_id, grain, "period", dim, "key",'
    " channel, orders, units, list_fen, discount_fen, gmv_fen)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ' ON CONFLICT (brand_id, distributor_id, grain, dim, "period", "key", channel) DO UPDATE'
    " SET orders = analytics_sales.orders + excluded.orders,"
    " units = analytics_sales.units + excluded.units,"
    " list_fen = analytics_sales.list_fen + excluded.list_fen,"
    " discount_fen = analytics_sales.discount_fen + excluded.discount_fen,"
    " gmv_fen = analytics_sales.gmv_fen + excluded.gmv_fen"
)

_FACT = (
    "INSERT INTO analytics_order_facts (order_id, brand_id, distributor_id, store_id, channel,"
    " day, counted, gmv_fen, units, parts, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (order_id) DO UPDATE SET brand_id = excluded.brand_id,"
    " distributor_id = excluded.distributor_id, store_id = excluded.store_id,"
    " channel = excluded.channel, day = excluded.day, counted = excluded.counted,"
    " gmv_fen = excluded.gmv_fen, units = excluded.units, parts = excluded.parts,"
    " updated_at = excluded.updated_at"
)

# Each store's row summed again from its facts (a cancellation may move its last order day
# back, which no difference can say).
_STORES = (
    "INSERT INTO analytics_stores (store_id, brand_id, distributor_id, first_day, last_day,"
    " orders, gmv_fen, updated_at)"
    " SELECT f.store_id, MAX(f.brand_id), MAX(f.distributor_id),"
    " MIN(CASE WHEN f.counted THEN f.day END), MAX(CASE WHEN f.counted THEN f.day END),"
    " SUM(CASE WHEN f.counted THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN f.counted THEN f.gmv_fen ELSE 0 END), $2"
    " FROM analytics_order_facts f WHERE f.store_id IN ($1) GROUP BY f.store_id"
    " ON CONFLICT (store_id) DO UPDATE SET brand_id = excluded.brand_id,"
    " distributor_id = excluded.distributor_id, first_day = excluded.first_day,"
    " last_day = excluded.last_day, orders = excluded.orders, gmv_fen = excluded.gmv_fen,"
    " updated_at = excluded.updated_at"
)


def _moment(value: Any) -> datetime:
    """A timestamp as the database gave it (SQLite: text) as an aware datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_parts(stored: Iterable[Sequence[Any]]) -> dict[PartKey, Measures]:
    return {
        (str(p[0]), str(p[1]), str(p[2]), str(p[3])): (
            int(p[4]),
            int(p[5]),
            int(p[6]),
            int(p[7]),
            int(p[8]),
        )
        for p in stored
    }


def _stored_parts(parts: Mapping[PartKey, Measures]) -> str:
    import json  # noqa: PLC0415 - only here

    return json.dumps([[*key, *measures] for key, measures in sorted(parts.items())])


async def _applied(order_ids: Sequence[int]) -> dict[int, Contribution]:
    rows = await sql.fetch(
        "SELECT order_id, brand_id, distributor_id, store_id, channel, day, counted, parts"
        " FROM analytics_order_facts WHERE order_id IN ($1)",
        list(order_ids),
    )
    import json  # noqa: PLC0415 - only here

    applied = {}
    for row in rows:
        parts = row["parts"]
        if isinstance(parts, str):
            parts = json.loads(parts)
        applied[int(row["order_id"])] = Contribution(
            brand_id=int(row["brand_id"]),
            distributor_id=int(row["distributor_id"]),
            store_id=int(row["store_id"]),
            channel=str(row["channel"]),
            day=_day(row["day"]),
            counted=bool(row["counted"]),
            parts=_as_parts(parts),
        )
    return applied


async def _context(orders: Sequence[Mapping[str, Any]]) -> tuple[dict[int, Any], dict[int, int]]:
    """The orders' stores {region_id, tier} and their SKUs' categories, a brand at a time."""
    stores: dict[int, Any] = {}
    categories: dict[int, int] = {}
    by_brand: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for order in orders:
        by_brand[int(order["brand_id"])].append(order)
    for brand_id, brand_orders in by_brand.items():
        stores.update(
            await org_service.stores_brief(brand_id, (int(o["store_id"]) for o in brand_orders))
        )
        skus = {int(line["sku_id"]) for o in brand_orders for line in o["lines"]}
        summaries = await catalog_service.sku_summaries(brand_id, skus)
        categories.update({sku: summary.category_id or 0 for sku, summary in summaries.items()})
    return stores, categories


async def _apply_page(orders: Sequence[Mapping[str, Any]], now: datetime) -> int:
    """Apply a page of changed orders (the cursor's row is locked by the caller's
    transaction); how many changed the figures."""
    stores, categories = await _context(orders)
    applied = await _applied([int(o["id"]) for o in orders])
    moves: dict[RollupKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    facts = []
    changed_stores: set[int] = set()
    for order in orders:
        order_id = int(order["id"])
        now_adds = contribution(order, stores.get(int(order["store_id"])), categories)
        before = applied.get(order_id)
        if before == now_adds:
            continue
        for key, measures in difference(before, now_adds).items():
            sums = moves[key]
            for at, value in enumerate(measures):
                sums[at] += value
        facts.append(
            (
                order_id,
                now_adds.brand_id,
                now_adds.distributor_id,
                now_adds.store_id,
                now_adds.channel,
                now_adds.day,
                now_adds.counted,
                now_adds.gmv_fen,
                now_adds.units,
                _stored_parts(now_adds.parts),
                now,
            )
        )
        changed_stores.add(now_adds.store_id)
        if before is not None:
            changed_stores.add(before.store_id)
    rows = [
        (*key[:3], date.fromisoformat(key[3]), *key[4:], *measures)
        for key, measures in sorted(moves.items())
        if any(v != 0 for v in measures)
    ]
    if rows:
        await sql.execute_many(_MOVE, rows)
    if facts:
        await sql.execute_many(_FACT, facts)
        await sql.execute(_STORES, sorted(changed_stores), now)
    return len(facts)


async def _lock_cursor(now: datetime) -> datetime | None:
    """Lock the cursor's row for this transaction (made on first use); where it stands."""
    await sql.execute(
        "INSERT INTO analytics_cursors (name, position, updated_at) VALUES ($1, NULL, $2)"
        " ON CONFLICT (name) DO NOTHING",
        CURSOR,
        now,
    )
    lock = " FOR UPDATE" if sql.is_postgres() else ""
    row = await sql.fetch_one(
        f"SELECT position FROM analytics_cursors WHERE name = $1{lock}",  # noqa: S608
        CURSOR,
    )
    position = row["position"] if row else None
    return _moment(position) if position is not None else None


async def refresh(deps: Deps) -> int:
    """Apply every order changed since the last run; how many orders changed the figures."""
    started = deps.clock.now()
    # Where the next run starts reading (less the overlap): the earlier of the clock and the
    # real time, as a change written at either (the services' clock, an ORM save's own
    # timestamp) is at or after it.
    mark = min(started, datetime.now(UTC))
    changed = 0
    after: tuple[datetime, int] | None = None
    since: datetime | None = None
    while True:
        async with sql.transaction():
            position = await _lock_cursor(started)
            if since is None:
                since = (position - OVERLAP) if position is not None else EPOCH
            orders = await ordering_service.analytics_orders_changed(since, after, PAGE)
            if orders:
                changed += await _apply_page(orders, started)
                last = orders[-1]
                after = (_moment(last["updated_at"]), int(last["id"]))
            if len(orders) < PAGE:
                # Caught up: the next run starts from this run's start (less the overlap).
                await sql.execute(
                    "UPDATE analytics_cursors SET position = $2, updated_at = $2"
                    " WHERE name = $1 AND (position IS NULL OR position < $2)",
                    CURSOR,
                    mark,
                )
                break
    if changed:
        log.info("analytics rollups refreshed", extra={"orders": changed})
    return changed


async def rebuild(deps: Deps) -> int:
    """Empty the facts, rollups and store stats, then refresh from the first order: the
    figures as the raw rows say. How many orders count or counted."""
    async with sql.transaction():
        await _lock_cursor(deps.clock.now())
        await sql.execute("DELETE FROM analytics_sales")
        await sql.execute("DELETE FROM analytics_order_facts")
        await sql.execute("DELETE FROM analytics_stores")
        await sql.execute("UPDATE analytics_cursors SET position = NULL WHERE name = $1", CURSOR)
    return await refresh(deps)
