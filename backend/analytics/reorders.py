"""Repurchase cycles and reminders: which stores are due to reorder a SKU they buy regularly,
the salesperson's tasks and the feed of their stores' recent activity.

The daily job `analytics.reorders` (backend/worker.py) reads each brand's counted orders of
the last year through ordering's service and keeps one `ReorderCycle` per store and SKU:

- a store with at least `MIN_ORDERS` purchases of a SKU (orders on distinct days) reorders
  it every `interval_days` = the median of the gaps in days between them (source "store");
- a store with fewer uses its category's median gap over every store of the brand (source
  "category"), so a new store is reminded too;
- it is next due on `due_day` = its last purchase's day + the interval.

When a store is past its due day and has not bought the SKU since, it is reminded once per
cycle: the cycle's row is claimed by a guarded update (`reminded_due` set to the due day,
allowed only while no reminder was given since the last purchase), so a rerun or a second
worker at the same moment claims nothing. A cycle is reminded only while it is overdue by no
more than its own interval (at least `REMIND_WITHIN_DAYS`): a store that let a whole further
cycle pass has stopped buying the SKU for now. It stays in the console's due list and in the
dormant and RFM figures, but its salesperson gets no task for it (the first run over a
brand's imported history would otherwise hand out one for every SKU any store ever dropped:
1.8 M tasks for the benchmark's 50,000 stores). The claim, the salesperson's task and the
owners' subscribe-message jobs commit together; the messages go out after commit, only to owners
who allowed one. Nothing is claimed while the brand has reminders turned off.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from backend.analytics.models import (
    AnalyticsSettings,
    BehaviourEvent,
    EventKind,
    ReorderCycle,
    SalesTask,
    TaskKind,
    TaskStatus,
)
from backend.analytics.scope import Scope, china_day
from backend.catalog import service as catalog_service
from backend.identity import service as identity_service
from backend.identity.access import Principal
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.kernel.errors import Conflict, NotFound
from backend.notifications import service as notifications_service
from backend.ordering import service as ordering_service
from backend.org import service as org_service

log = get_logger("analytics.reorders")

HISTORY = timedelta(days=365)  # the purchases a cycle is learnt from
MIN_ORDERS = 3  # purchases a store needs for its own interval
SOON_DAYS = 7  # "soon": due within this many days
REMIND_WITHIN_DAYS = 7  # the least time overdue a cycle is still reminded within
BATCH = 200  # cycles reminded per transaction, so no transaction holds its locks for long
THING_LENGTH = 20  # a WeChat "thing" keyword holds at most 20 characters
CATALOG_PAGE = "pages/catalog/index"
STORE_SOURCE, CATEGORY_SOURCE = "store", "category"
SOURCE_NAMES = {STORE_SOURCE: "门店历史", CATEGORY_SOURCE: "品类均值"}


class TaskNotFound(NotFound):
    code = "analytics.task_not_found"
    message = "找不到该任务"


class TaskClosed(Conflict):
    code = "analytics.task_closed"
    message = "该任务已处理，不能重复操作"


# ---- the cycles (pure) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cycle:
    store_id: int
    sku_id: int
    orders: int  # purchases (distinct days) in the history
    interval_days: int
    source: str
    last_day: date

    @property
    def due_day(self) -> date:
        return self.last_day + timedelta(days=self.interval_days)


def median_days(gaps: Sequence[int]) -> int:
    """The median gap in whole days; an even count's middle pair averaged, half up."""
    middle = Decimal(str(statistics.median(gaps)))
    return int(middle.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _gaps(days: Sequence[date]) -> list[int]:
    return [(later - earlier).days for earlier, later in itertools.pairwise(days)]


def cycles_of(
    purchases: Mapping[tuple[int, int], Iterable[date]], category_of: Mapping[int, int | None]
) -> list[Cycle]:
    """Each store and SKU's cycle from the days it bought it (`purchases`, by (store, sku)),
    with `category_of` each SKU for the stores with too few purchases of their own. A SKU
    whose category has no gap anywhere in the brand gets no cycle at the stores short of
    their own."""
    days = {key: sorted(set(bought)) for key, bought in purchases.items()}
    pooled: dict[int, list[int]] = defaultdict(list)
    for (_, sku_id), bought in days.items():
        category = category_of.get(sku_id)
        if category is not None:
            pooled[category].extend(_gaps(bought))
    by_category = {category: median_days(gaps) for category, gaps in pooled.items() if gaps}
    cycles = []
    for (store_id, sku_id), bought in sorted(days.items()):
        if not bought:
            continue
        if len(bought) >= MIN_ORDERS:
            interval, source = median_days(_gaps(bought)), STORE_SOURCE
        else:
            category = category_of.get(sku_id)
            if category is None or category not in by_category:
                continue
            interval, source = by_category[category], CATEGORY_SOURCE
        if interval <= 0:
            continue
        cycles.append(Cycle(store_id, sku_id, len(bought), interval, source, bought[-1]))
    return cycles


def task_text(store: str, product: str, interval_days: int, days_since: int) -> str:
    """What the salesperson reads: 「张记店 通常每 30 天订一次 滤芯，上次下单已 34 天」."""
    return f"{store} 通常每 {interval_days} 天订一次 {product}，上次下单已 {days_since} 天"


# ---- the daily job -------------------------------------------------------------------------

_UPSERT_SQL = (
    "INSERT INTO analytics_reorders (brand_id, store_id, sku_id, orders, interval_days,"
    " source, last_day, due_day, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (store_id, sku_id) DO UPDATE SET brand_id = excluded.brand_id,"
    " orders = excluded.orders, interval_days = excluded.interval_days,"
    " source = excluded.source, last_day = excluded.last_day, due_day = excluded.due_day,"
    " updated_at = excluded.updated_at"
)
# Once a cycle: a cycle reminded since its last purchase (reminded_due after last_day)
# is not claimed again, even when its interval, hence its due day, has moved since.
_CLAIM_SQL = (
    "UPDATE analytics_reorders SET reminded_due = due_day"
    " WHERE id = $1 AND due_day < $2 AND (reminded_due IS NULL OR reminded_due <= last_day)"
)
# A store that bought the SKU again has done what its open reorder task asked.
_CLOSE_REORDERED_SQL = (
    "UPDATE sales_tasks SET status = $1, closed_at = $2"
    " WHERE brand_id = $3 AND kind = $4 AND status = $5 AND EXISTS (SELECT 1"
    " FROM analytics_reorders r WHERE r.store_id = sales_tasks.store_id"
    " AND r.sku_id = sales_tasks.sku_id AND r.last_day >= sales_tasks.due_day)"
)


async def reorders_job(deps: Any) -> int:
    """The periodic job: every brand's cycles brought up to date, then its due stores
    reminded; how many cycles were reminded."""
    now = deps.clock.now()
    reminded = 0
    for brand_id in await ordering_service.analytics_ordering_brand_ids(now - HISTORY):
        await refresh_cycles(brand_id, now)
        reminded += await remind_due(deps, brand_id, now)
    if reminded:
        log.info("reorder reminders", extra={"reminded": reminded})
    return reminded


def _upsert_row(brand_id: int, c: Cycle, now: datetime) -> tuple[Any, ...]:
    return (
        brand_id,
        c.store_id,
        c.sku_id,
        c.orders,
        c.interval_days,
        c.source,
        c.last_day,
        c.due_day,
        now,
    )


async def refresh_cycles(brand_id: int, now: datetime) -> list[Cycle]:
    """Recompute the brand's cycles from its purchases of the last year and store them
    (those that no longer hold are removed); the cycles."""
    purchases: dict[tuple[int, int], set[date]] = defaultdict(set)
    for store_id, sku_id, at in await ordering_service.analytics_sku_purchases(
        brand_id, now - HISTORY
    ):
        purchases[(store_id, sku_id)].add(china_day(at))
    skus = await catalog_service.sku_summaries(brand_id, {sku for _, sku in purchases})
    cycles = cycles_of(purchases, {sku_id: s.category_id for sku_id, s in skus.items()})
    if cycles:
        await sql.execute_many(
            _UPSERT_SQL,
            [_upsert_row(brand_id, cycle, now) for cycle in cycles],
        )
    kept = {(c.store_id, c.sku_id) for c in cycles}
    stale = [
        row_id
        for row_id, store_id, sku_id in await ReorderCycle.filter(brand_id=brand_id).values_list(
            "id", "store_id", "sku_id"
        )
        if (store_id, sku_id) not in kept
    ]
    if stale:
        await ReorderCycle.filter(id__in=stale).delete()
    await sql.execute(
        _CLOSE_REORDERED_SQL,
        TaskStatus.DONE.value,
        now,
        brand_id,
        TaskKind.REORDER.value,
        TaskStatus.OPEN.value,
    )
    return cycles


def remindable(due_day: date, interval_days: int, today: date) -> bool:
    """Whether a cycle past its due day is still worth a reminder (see the module doc)."""
    return (today - due_day).days <= max(REMIND_WITHIN_DAYS, interval_days)


async def reminders_enabled(brand_id: int) -> bool:
    settings = await AnalyticsSettings.get_or_none(brand_id=brand_id)
    return settings is None or settings.reminders_enabled


async def remind_due(deps: Any, brand_id: int, now: datetime) -> int:
    """Claim and remind every cycle of the brand past due and not reminded since its last
    purchase; how many were claimed."""
    if not await reminders_enabled(brand_id):
        return 0
    today = china_day(now)
    due = [
        cycle
        for cycle in await ReorderCycle.filter(brand_id=brand_id, due_day__lt=today).order_by("id")
        if (cycle.reminded_due is None or cycle.reminded_due <= cycle.last_day)
        and remindable(cycle.due_day, cycle.interval_days, today)
    ]
    reminded = 0
    for start in range(0, len(due), BATCH):
        # The claims, the tasks and the message jobs together: a failure leaves the batch to
        # the next run, and the jobs start only once this commits.
        async with sql.transaction():
            claimed = [
                c for c in due[start : start + BATCH] if await sql.execute(_CLAIM_SQL, c.id, today)
            ]
            await _remind(deps, brand_id, claimed, today, now)
        reminded += len(claimed)
    return reminded


async def _remind(
    deps: Any, brand_id: int, claimed: Sequence[ReorderCycle], today: date, now: datetime
) -> None:
    if not claimed:
        return
    store_ids = [c.store_id for c in claimed]
    stores = await org_service.store_cards(brand_id, store_ids)
    skus = await catalog_service.sku_summaries(brand_id, [c.sku_id for c in claimed])
    owners = await identity_service.store_owner_user_ids(store_ids)
    allowing = await notifications_service.analytics_users_allowing(
        deps,
        {u for users in owners.values() for u in users},
        notifications_service.REORDER_REMINDER,
    )
    for cycle in claimed:
        store = stores.get(cycle.store_id)
        sku = skus.get(cycle.sku_id)
        if store is None or sku is None:
            continue  # gone from the brand since the purchases were read
        product = sku.title
        since = (today - cycle.last_day).days
        if store["salesperson_id"] is not None:
            await SalesTask.create(
                brand_id=brand_id,
                salesperson_id=store["salesperson_id"],
                store_id=cycle.store_id,
                kind=TaskKind.REORDER.value,
                sku_id=cycle.sku_id,
                text=task_text(store["name"], product, cycle.interval_days, since)[:200],
                due_day=cycle.due_day,
                created_at=now,
            )
        for user_id in sorted(set(owners.get(cycle.store_id, [])) & allowing):
            await notifications_service.queue_subscribe(
                user_id,
                notifications_service.REORDER_REMINDER,
                {
                    "thing1": product[:THING_LENGTH],
                    "time2": cycle.last_day.isoformat(),
                    "thing3": f"您通常每{cycle.interval_days}天订一次，该补货了"[:THING_LENGTH],
                },
                page=CATALOG_PAGE,
                brand_id=brand_id,
                now=now,
                about=f"补货提醒 · 门店「{store['name']}」· {product}",
            )


# ---- the salesperson's tasks ----------------------------------------------------------------


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


async def _task_views(brand_id: int, tasks: Sequence[SalesTask]) -> list[dict[str, Any]]:
    stores = await org_service.names(brand_id, "store", [t.store_id for t in tasks])  # type: ignore[attr-defined]
    skus = await catalog_service.sku_summaries(
        brand_id, [t.sku_id for t in tasks if t.sku_id is not None]
    )
    views = []
    for task in tasks:
        sku = skus.get(task.sku_id) if task.sku_id is not None else None
        store_id: int = task.store_id  # type: ignore[attr-defined]
        views.append(
            {
                "id": task.id,
                "kind": task.kind,
                "store": {"id": store_id, "name": stores.get(store_id, "")},
                "sku": None if sku is None else {"id": sku.id, "name": sku.title},
                "text": task.text,
                "due_day": _day(task.due_day),
                "status": task.status,
                "created_at": task.created_at.isoformat(),
                "closed_at": task.closed_at.isoformat() if task.closed_at else None,
            }
        )
    return views


async def tasks_of(
    principal: Principal, status: str, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """The caller's (a salesperson's) tasks in `status`, by id, `limit` after `after`."""
    tasks = SalesTask.filter(
        brand_id=principal.brand_id, salesperson_id=principal.salesperson_id, status=status
    )
    if after is not None:
        tasks = tasks.filter(id__gt=after)
    found = await tasks.order_by("id").limit(limit)
    return await _task_views(principal.brand_id or 0, found)


async def close_task(
    principal: Principal, task_id: int, status: TaskStatus, now: datetime
) -> dict[str, Any]:
    """Mark the caller's open task done or dismissed: 404 when it is not theirs, 409 when it
    is closed already (a guarded update: two taps at once close it once)."""
    mine = SalesTask.filter(
        id=task_id, brand_id=principal.brand_id, salesperson_id=principal.salesperson_id
    )
    closed = await mine.filter(status=TaskStatus.OPEN.value).update(
        status=status.value, closed_at=now
    )
    task = await mine.first()
    if task is None:
        raise TaskNotFound()
    if not closed:
        raise TaskClosed(details={"status": task.status})
    [view] = await _task_views(principal.brand_id or 0, [task])
    return view


# ---- the salesperson's feed -----------------------------------------------------------------

FEED_LIMIT = 60
ORDER_STATUS_NAMES = {
    "pending_payment": "待付款",
    "paid": "已付款",
    "accepted": "已接单",
    "shipped": "已发货",
    "delivered": "已签收",
    "completed": "已完成",
}


def _store(store_id: int, names: Mapping[int, str]) -> dict[str, Any]:
    return {"id": store_id, "name": names.get(store_id, "")}


async def _views(brand_id: int, store_ids: list[int], since: datetime) -> list[dict[str, Any]]:
    """Product views, one item per store and product: how often, and when last."""
    events = await BehaviourEvent.filter(
        brand_id=brand_id,
        store_id__in=store_ids,
        kind=EventKind.PRODUCT_VIEW.value,
        day__gte=china_day(since),
        occurred_at__gte=since,
        product_id__isnull=False,
    ).values_list("store_id", "product_id", "occurred_at")
    seen: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for store_id, product_id, at in events:
        seen[(int(store_id), int(product_id))].append(at)
    products = await catalog_service.analytics_product_names(brand_id, {p for _, p in seen})
    return [
        {
            "kind": "view",
            "at": max(times),
            "store_id": store_id,
            "text": f"浏览了 {products.get(product_id, '商品')} {len(times)} 次",
        }
        for (store_id, product_id), times in seen.items()
    ]


async def _carts(brand_id: int, store_ids: list[int], since: datetime) -> list[dict[str, Any]]:
    """Carts left: one item per store, what is in it."""
    items = await ordering_service.analytics_carts(brand_id, store_ids, since)
    skus = await catalog_service.sku_summaries(brand_id, {i["sku_id"] for i in items})
    carts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        carts[int(item["store_id"])].append(item)
    feed = []
    for store_id, lines in carts.items():
        named = [
            f"{skus[line['sku_id']].title} ×{line['quantity']}"
            for line in lines
            if line["sku_id"] in skus
        ]
        shown = "、".join(named[:3]) + (" 等" if len(named) > 3 else "")
        feed.append(
            {
                "kind": "cart",
                "at": max(line["updated_at"] for line in lines),
                "store_id": store_id,
                "text": f"购物车有 {len(lines)} 种商品未下单：{shown}",
            }
        )
    return feed


async def _orders(brand_id: int, store_ids: list[int], since: datetime) -> list[dict[str, Any]]:
    orders = await ordering_service.analytics_recent_orders(brand_id, store_ids, since, FEED_LIMIT)
    return [
        {
            "kind": "order",
            "at": order["created_at"],
            "store_id": int(order["store_id"]),
            "text": f"下单 {order['order_no']}（{ORDER_STATUS_NAMES.get(order['status'], '')}）",
            "order_id": int(order["id"]),
            "amount_fen": int(order["payable_fen"]),
        }
        for order in orders
    ]


async def feed(principal: Principal, days: int, now: datetime) -> dict[str, Any]:
    """The salesperson's stores' activity in the last `days` days, newest first: products
    viewed, carts left, orders placed."""
    brand_id = principal.brand_id or 0
    store_ids = await org_service.salesperson_store_ids(brand_id, principal.salesperson_id or 0)
    since = now - timedelta(days=days)
    items = [
        *await _views(brand_id, store_ids, since),
        *await _carts(brand_id, store_ids, since),
        *await _orders(brand_id, store_ids, since),
    ]
    items.sort(key=lambda item: item["at"], reverse=True)
    shown = items[:FEED_LIMIT]
    names = await org_service.names(brand_id, "store", {item["store_id"] for item in shown})
    for item in shown:
        item["store"] = _store(item.pop("store_id"), names)
        item["at"] = item["at"].isoformat()
        item.setdefault("order_id", None)
        item.setdefault("amount_fen", None)
    return {"days": days, "items": shown}


# ---- the console's list of stores due to reorder -------------------------------------------

DUE, SOON = "due", "soon"
EXPORT_LIMIT = 10_000


async def due_list(scope: Scope, status: str, today: date, limit: int) -> dict[str, Any]:
    """The scope's cycles past due (`due`, most overdue first) or due within SOON_DAYS
    (`soon`), with names, days since the last purchase, days overdue and the task's status;
    `total` counts them all, `rows` the first `limit`."""
    if status == DUE:
        first, last = date.min, today - timedelta(1)
    else:
        first, last = today, today + timedelta(SOON_DAYS)
    if scope.whole_brand:
        cycles = ReorderCycle.filter(
            brand_id=scope.brand_id, due_day__gte=first, due_day__lte=last
        ).order_by("due_day", "id")
        total = await cycles.count()
        found = list(await cycles.limit(limit))
    else:
        total, found = await _distributor_cycles(scope, first, last, limit)
    stores = await org_service.stores_brief(scope.brand_id, [c.store_id for c in found])
    return {
        "status": status,
        "today": today.isoformat(),
        "total": total,
        "rows": await _due_rows(scope.brand_id, found, stores, today),
    }


async def _distributor_cycles(
    scope: Scope, first: date, last: date, limit: int
) -> tuple[int, list[ReorderCycle]]:
    """How many cycles of the distributor's stores fall due between `first` and `last`, and
    the first `limit` of them. The stores are the distributor's now (org's table, joined in
    the database), so a store that moved away is no longer shown to its old distributor."""
    mine = (
        " FROM analytics_reorders r"
        f" JOIN ({org_service.analytics_store_dims_sql()}) st ON st.store_id = r.store_id"
        " WHERE r.brand_id = $1 AND st.distributor_id = $2 AND r.due_day >= $3"
        " AND r.due_day <= $4"
    )
    args = (scope.brand_id, scope.distributor_id, first, last)
    counted = await sql.fetch_one(f"SELECT count(*) AS n{mine}", *args)
    ids = await sql.fetch(f"SELECT r.id{mine} ORDER BY r.due_day, r.id LIMIT $5", *args, limit)
    wanted = [int(row["id"]) for row in ids]
    by_id = {cycle.id: cycle for cycle in await ReorderCycle.filter(id__in=wanted)}
    return int(counted["n"]) if counted else 0, [by_id[i] for i in wanted if i in by_id]


async def _due_rows(
    brand_id: int,
    cycles: Sequence[ReorderCycle],
    stores: Mapping[int, Mapping[str, Any]],
    today: date,
) -> list[dict[str, Any]]:
    distributors = await org_service.names(
        brand_id,
        "distributor",
        {int(s["distributor_id"]) for s in stores.values() if s["distributor_id"]},
    )
    skus = await catalog_service.sku_summaries(brand_id, [c.sku_id for c in cycles])
    tasks = await SalesTask.filter(
        brand_id=brand_id,
        kind=TaskKind.REORDER.value,
        store_id__in=[c.store_id for c in cycles],
    ).values_list("store_id", "sku_id", "due_day", "status")
    task_status = {
        (int(s), k, d if isinstance(d, date) else date.fromisoformat(str(d))): st
        for s, k, d, st in tasks
    }
    rows = []
    for cycle in cycles:
        store = stores.get(cycle.store_id, {})
        distributor_id = store.get("distributor_id")
        sku = skus.get(cycle.sku_id)
        rows.append(
            {
                "store": {"id": cycle.store_id, "name": store.get("name", "")},
                "distributor": {
                    "id": distributor_id,
                    "name": distributors.get(distributor_id, "") if distributor_id else "",
                },
                "sku": {"id": cycle.sku_id, "name": sku.title if sku else ""},
                "orders": cycle.orders,
                "interval_days": cycle.interval_days,
                "source": cycle.source,
                "last_day": cycle.last_day.isoformat(),
                "due_day": cycle.due_day.isoformat(),
                "days_since_last": (today - cycle.last_day).days,
                "days_overdue": (today - cycle.due_day).days,
                "task_status": task_status.get((cycle.store_id, cycle.sku_id, cycle.due_day)),
            }
        )
    return rows
