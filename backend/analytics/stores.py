"""Stores seen from their orders: the store list with each store's activity, the store profile
(360°), the brand's analytics settings, and RFM tiers written as store tags.

Order figures come from the analytics tables (StoreStats, OrderFact) that the rollups keep
current; what only other domains hold (categories bought,
coupons, complaints, live sessions, display checks) is read through their services.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Sum

from backend.analytics import rfm
from backend.analytics.models import (
    AnalyticsSettings,
    BehaviourEvent,
    OrderFact,
    ReorderCycle,
    StoreStats,
)
from backend.analytics.scope import Scope, china_day
from backend.catalog import service as catalog_service
from backend.codes import service as codes_service
from backend.complaints import service as complaints_service
from backend.coupons import service as coupons_service
from backend.deps import Deps
from backend.display import service as display_service
from backend.identity.access import Principal
from backend.kernel.errors import InvalidInput, NotFound
from backend.livestream import service as livestream_service
from backend.ordering import service as ordering_service
from backend.org import service as org_service

DEFAULT_DORMANT_DAYS = 60
PROFILE_MONTHS = 12  # the profile's monthly series: this month and the 11 before
RECENT_EVENTS = 20


class StoreNotFound(NotFound):
    code = "analytics.store_not_found"
    message = "找不到该门店"


class InvalidSettings(InvalidInput):
    """A setting out of bounds: 400, nothing saved; `details` [{field, message}]."""

    status = 400
    code = "analytics.invalid_settings"
    message = "分析设置不合法"


class InvalidQuery(InvalidInput):
    status = 400
    code = "analytics.invalid_query"
    message = "查询条件不合法"


# ---- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    dormant_days: int
    reminders_enabled: bool
    thresholds: rfm.Thresholds

    def as_json(self) -> dict[str, Any]:
        return {
            "dormant_days": self.dormant_days,
            "reminders_enabled": self.reminders_enabled,
            "rfm": self.thresholds.as_json(),
        }


async def settings_of(brand_id: int) -> Settings:
    """The brand's settings, or the defaults while it has saved none."""
    row = await AnalyticsSettings.get_or_none(brand_id=brand_id)
    if row is None:
        return Settings(DEFAULT_DORMANT_DAYS, True, rfm.Thresholds())
    return Settings(row.dormant_days, row.reminders_enabled, rfm.Thresholds.from_json(row.rfm))


async def save_settings(brand_id: int, settings: Settings, now: datetime) -> Settings:
    """Replace the brand's settings (the caller checked their bounds)."""
    values: dict[str, Any] = {
        "dormant_days": settings.dormant_days,
        "reminders_enabled": settings.reminders_enabled,
        "rfm": settings.thresholds.as_json(),
        "updated_at": now,
    }
    updated = await AnalyticsSettings.filter(brand_id=brand_id).update(**values)
    if not updated:
        try:
            await AnalyticsSettings.create(brand_id=brand_id, **values)
        except IntegrityError:  # another admin saved first: the last write stands
            await AnalyticsSettings.filter(brand_id=brand_id).update(**values)
    return await settings_of(brand_id)


# ---- activity and RFM -----------------------------------------------------------------------


def activity_of(last_day: date | None, orders: int, today: date, dormant_days: int) -> str:
    """never: no counted order; dormant: the last one more than `dormant_days` ago."""
    if last_day is None or orders == 0:
        return "never"
    return "dormant" if (today - last_day).days > dormant_days else "active"


def _window_start(today: date) -> date:
    return today - timedelta(days=rfm.WINDOW_DAYS - 1)


async def _window_totals(
    brand_id: int, today: date, store_ids: Sequence[int] | None = None
) -> dict[int, tuple[int, int]]:
    """{store: (orders, gmv_fen)} of counted orders within the RFM window."""
    facts = OrderFact.filter(brand_id=brand_id, counted=True, day__gte=_window_start(today))
    if store_ids is not None:
        facts = facts.filter(store_id__in=list(store_ids))
    rows = (
        await facts.group_by("store_id")
        .annotate(orders=Count("id"), gmv=Sum("gmv_fen"))
        .values_list("store_id", "orders", "gmv")
    )
    return {int(store): (int(orders), int(gmv or 0)) for store, orders, gmv in rows}


async def _last_days(brand_id: int, store_ids: Sequence[int] | None = None) -> dict[int, date]:
    stats = StoreStats.filter(brand_id=brand_id, orders__gt=0)
    if store_ids is not None:
        stats = stats.filter(store_id__in=list(store_ids))
    rows = await stats.values_list("store_id", "last_day")
    return {int(store): day for store, day in rows if day is not None}


async def score_stores(
    brand_id: int, today: date, store_ids: Sequence[int], thresholds: rfm.Thresholds
) -> dict[int, rfm.Score]:
    last = await _last_days(brand_id, store_ids)
    window = await _window_totals(brand_id, today, store_ids)
    return {
        store: rfm.score(
            rfm.Activity(store, last.get(store), *window.get(store, (0, 0))), thresholds, today
        )
        for store in store_ids
    }


async def apply_rfm(deps: Deps, brand_id: int, today: date) -> dict[str, Any]:
    """Score every store of the brand and write its `RFM·<segment>` tag: an old RFM tag is
    replaced, a store that never ordered loses it, other tags are left as they are."""
    settings = await settings_of(brand_id)
    store_ids = await org_service.analytics_store_ids(brand_id)
    scores = await score_stores(brand_id, today, store_ids, settings.thresholds)
    current = await org_service.analytics_prefixed_tags(brand_id, rfm.TAG_PREFIX)
    changes = rfm.tag_changes(current, {store: s.tag for store, s in scores.items()})
    await org_service.analytics_retag(deps, brand_id, changes.add, changes.remove)
    tally = Counter(s.segment for s in scores.values() if s.segment)
    return {
        "scored": len(store_ids),
        "changed": len(changes.stores),
        "segments": [{"segment": name, "stores": tally[name]} for name in rfm.SEGMENT_ORDER],
        "unscored": len(store_ids) - sum(tally.values()),
    }


async def rfm_job(deps: Any) -> int:
    """The daily job: every brand's RFM tags as of today in China; answers stores changed."""
    today = china_day(deps.clock.now())
    changed = 0
    for brand_id in await org_service.analytics_brand_ids():
        changed += (await apply_rfm(deps, brand_id, today))["changed"]
    return changed


# ---- the store list -------------------------------------------------------------------------


def _segment_of(tags: Iterable[str]) -> str | None:
    for tag in tags:
        if tag.startswith(rfm.TAG_PREFIX):
            return tag.removeprefix(rfm.TAG_PREFIX)
    return None


async def _named(brand_id: int, stores: Sequence[dict[str, Any]]) -> None:
    """Adds distributor_name and region_name to each store, in place."""
    distributors = await org_service.names(brand_id, "distributor", _ids(stores, "distributor_id"))
    regions = await org_service.names(brand_id, "region", _ids(stores, "region_id"))
    for store in stores:
        store["distributor_name"] = distributors.get(store["distributor_id"], "")
        store["region_name"] = regions.get(store["region_id"] or 0, "")


def _ids(rows: Iterable[dict[str, Any]], key: str) -> set[int]:
    return {int(row[key]) for row in rows if row.get(key)}


def _list_row(
    store: dict[str, Any], stats: StoreStats | None, today: date, dormant_days: int
) -> dict[str, Any]:
    last_day = stats.last_day if stats else None
    orders = stats.orders if stats else 0
    return {
        "id": store["id"],
        "name": store["name"],
        "distributor_id": store["distributor_id"],
        "region_id": store["region_id"],
        "tier": store["tier"],
        "status": store["status"],
        "tags": store["tags"],
        "rfm": _segment_of(store["tags"]),
        "first_day": stats.first_day.isoformat() if stats and stats.first_day else None,
        "last_day": last_day.isoformat() if last_day else None,
        "days_since": (today - last_day).days if last_day else None,
        "orders": orders,
        "gmv_fen": stats.gmv_fen if stats else 0,
        "activity": activity_of(last_day, orders, today, dormant_days),
    }


async def list_stores(
    principal: Principal,
    scope: Scope,
    today: date,
    *,
    q: str | None = None,
    tier: str | None = None,
    segment: str | None = None,
    activity: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], bool]:
    """The stores the caller sees matching the filters, by id after `after`: at most `limit`
    rows, and whether more follow. Stores come from org in batches (so the name, tier and tag
    filters run there) and the activity filter runs on their stats here."""
    dormant_days = (await settings_of(scope.brand_id)).dormant_days
    filters: dict[str, Any] = {
        "q": q,
        "tier": tier,
        "tag": rfm.tag_of(segment) if segment else None,
        "distributor_id": None if scope.whole_brand else scope.distributor_id,
    }
    batch = max(limit * 2, 200)
    found: list[dict[str, Any]] = []
    cursor = after
    while len(found) <= limit:
        stores = await org_service.list_stores(principal, after=cursor, limit=batch, **filters)
        page = stores[:batch]
        if not page:
            break
        ids = [store["id"] for store in page]
        stats = {s.store_id: s for s in await StoreStats.filter(store_id__in=ids)}
        for store in page:
            row = _list_row(store, stats.get(store["id"]), today, dormant_days)
            if activity is None or row["activity"] == activity:
                found.append(row)
        if len(stores) <= batch:
            break
        cursor = page[-1]["id"]
    shown = found[:limit]
    await _named(scope.brand_id, shown)
    return shown, len(found) > limit


async def all_stores(
    principal: Principal, scope: Scope, today: date, **filters: Any
) -> list[dict[str, Any]]:
    """Every matching store (the list's export), page after page."""
    rows: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        page, more = await list_stores(principal, scope, today, after=after, limit=500, **filters)
        rows.extend(page)
        if not more or not page:
            return rows
        after = page[-1]["id"]


# ---- the store profile (360°) ---------------------------------------------------------------


def _months(today: date, count: int) -> list[date]:
    """The first days of the `count` months ending with today's, oldest first."""
    firsts: list[date] = []
    month = today.replace(day=1)
    for _ in range(count):
        firsts.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return firsts[::-1]


def _monthly(facts: Sequence[tuple[Any, ...]], today: date) -> list[dict[str, Any]]:
    """Orders, units and GMV in each of the last PROFILE_MONTHS months, from the store's own
    counted facts (day, gmv, units, channel): summing the few dozen orders a store has is
    cheaper than finding its rows among every store's month rows."""
    sums: dict[date, list[int]] = {month: [0, 0, 0] for month in _months(today, PROFILE_MONTHS)}
    for day, gmv, units, _channel in facts:
        month = sums.get(day.replace(day=1))
        if month is not None:
            month[0] += 1
            month[1] += int(units)
            month[2] += int(gmv)
    return [
        {"month": month.strftime("%Y-%m"), "orders": o, "units": u, "gmv_fen": g}
        for month, (o, u, g) in sums.items()
    ]


def _pct(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


async def _orders(scope: Scope, store_id: int, today: date) -> dict[str, Any]:
    facts = OrderFact.filter(store_id=store_id, brand_id=scope.brand_id, counted=True)
    if not scope.whole_brand:
        facts = facts.filter(distributor_id=scope.distributor_id)
    rows = await facts.order_by("day").values_list("day", "gmv_fen", "units", "channel")
    days = [row[0] for row in rows]
    gmv = sum(int(row[1]) for row in rows)
    channels = Counter(str(row[3]) for row in rows)
    return {
        "count": len(rows),
        "gmv_fen": gmv,
        "units": sum(int(row[2]) for row in rows),
        "average_fen": gmv // len(rows) if rows else None,
        "first_day": days[0].isoformat() if days else None,
        "last_day": days[-1].isoformat() if days else None,
        "days_since": (today - days[-1]).days if days else None,
        # the mean gap between consecutive orders, in days
        "average_interval_days": (
            round((days[-1] - days[0]).days / (len(days) - 1), 1) if len(days) > 1 else None
        ),
        "channels": [
            {"channel": name, "orders": channels[name]} for name in ("self", "proxy", "live")
        ],
        "monthly": _monthly(rows, today),
    }


async def _categories(scope: Scope, store_id: int) -> list[dict[str, Any]]:
    skus = await ordering_service.analytics_store_skus(
        store_id, None if scope.whole_brand else scope.distributor_id
    )
    summaries = await catalog_service.sku_summaries(scope.brand_id, [row[0] for row in skus])
    totals: dict[int, list[int]] = {}
    for sku_id, units, gmv in skus:
        summary = summaries.get(sku_id)
        category = (summary.category_id if summary else None) or 0
        total = totals.setdefault(category, [0, 0])
        total[0] += units
        total[1] += gmv
    names = await catalog_service.category_names(scope.brand_id, totals)
    whole = sum(gmv for _, gmv in totals.values())
    rows = [
        {
            "category_id": category,
            "name": names.get(category, "未分类"),
            "units": units,
            "gmv_fen": gmv,
            "share_pct": _pct(gmv, whole),
        }
        for category, (units, gmv) in totals.items()
    ]
    return sorted(rows, key=lambda row: (-row["gmv_fen"], row["category_id"]))


async def _sku_names(brand_id: int, sku_ids: Iterable[int]) -> dict[int, str]:
    summaries = await catalog_service.sku_summaries(brand_id, sku_ids)
    return {sku: f"{s.product_name} {s.sku_name}" for sku, s in summaries.items()}


async def _events(brand_id: int, store_id: int) -> list[dict[str, Any]]:
    events = (
        await BehaviourEvent.filter(brand_id=brand_id, store_id=store_id)
        # `day` (the partition key, occurred_at's day) first: the newest partition's index
        # answers, where ordering by occurred_at alone sorts the store's every event.
        .order_by("-day", "-occurred_at", "-id")
        .limit(RECENT_EVENTS)
    )
    names = await _sku_names(brand_id, {e.sku_id for e in events if e.sku_id})
    return [
        {
            "kind": event.kind,
            "page": event.page,
            "sku_id": event.sku_id,
            "sku_name": names.get(event.sku_id) if event.sku_id else None,
            "term": event.term,
            "results": event.results,
            "occurred_at": event.occurred_at.isoformat(),
        }
        for event in events
    ]


async def _reorders(brand_id: int, store_id: int, today: date) -> list[dict[str, Any]]:
    cycles = await ReorderCycle.filter(brand_id=brand_id, store_id=store_id).order_by("due_day")
    names = await _sku_names(brand_id, {c.sku_id for c in cycles})
    return [
        {
            "sku_id": cycle.sku_id,
            "sku_name": names.get(cycle.sku_id, ""),
            "orders": cycle.orders,
            "interval_days": cycle.interval_days,
            "source": cycle.source,
            "last_day": cycle.last_day.isoformat(),
            "due_day": cycle.due_day.isoformat(),
            "overdue_days": max(0, (today - cycle.due_day).days),
        }
        for cycle in cycles
    ]


async def _rfm(scope: Scope, store: dict[str, Any], today: date) -> dict[str, Any]:
    thresholds = (await settings_of(scope.brand_id)).thresholds
    scored = (await score_stores(scope.brand_id, today, [store["id"]], thresholds))[store["id"]]
    orders, gmv = (await _window_totals(scope.brand_id, today, [store["id"]])).get(
        store["id"], (0, 0)
    )
    return {
        "segment": scored.segment,  # as of today
        "tagged": _segment_of(store["tags"]),  # as the last run wrote it
        "recency_days": scored.recency_days,
        "orders_365": orders,
        "gmv_fen_365": gmv,
        "recent": scored.recent,
        "frequent": scored.frequent,
        "valuable": scored.valuable,
        "thresholds": thresholds.as_json(),
    }


async def profile(
    principal: Principal, scope: Scope, store_id: int, now: datetime
) -> dict[str, Any]:
    """Everything known of one store the caller may see (404 otherwise, like an unknown id)."""
    try:
        store = await org_service.get_store(principal, store_id)
    except NotFound as exc:
        raise StoreNotFound() from exc
    if not scope.whole_brand and store["distributor_id"] != scope.distributor_id:
        raise StoreNotFound()
    today = china_day(now)
    await _named(scope.brand_id, [store])
    salespeople = await org_service.names(
        scope.brand_id, "salesperson", _ids([store], "salesperson_id")
    )
    stats = await StoreStats.get_or_none(store_id=store_id)
    settings = await settings_of(scope.brand_id)
    return {
        "store": {
            "id": store["id"],
            "name": store["name"],
            "contact_name": store["contact_name"],
            "address": store["address"],
            "tier": store["tier"],
            "status": store["status"],
            "tags": store["tags"],
            "distributor_id": store["distributor_id"],
            "distributor_name": store["distributor_name"],
            "region_id": store["region_id"],
            "region_name": store["region_name"],
            "salesperson_id": store["salesperson_id"],
            "salesperson_name": salespeople.get(store["salesperson_id"] or 0, ""),
            "created_at": store["created_at"],
        },
        "activity": activity_of(
            stats.last_day if stats else None,
            stats.orders if stats else 0,
            today,
            settings.dormant_days,
        ),
        "orders": await _orders(scope, store_id, today),
        "categories": await _categories(scope, store_id),
        "coupons": await coupons_service.analytics_store_coupons(store_id, now),
        "complaints": await complaints_service.analytics_store_complaints(store_id),
        "live": await livestream_service.analytics_store_live(store_id),
        "display": await display_service.analytics_store_display(store_id),
        "scans": await codes_service.analytics_store_scans(store_id),
        "events": await _events(scope.brand_id, store_id),
        "rfm": await _rfm(scope, store, today),
        "reorders": await _reorders(scope.brand_id, store_id, today),
    }
