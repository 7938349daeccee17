"""Behaviour from the mini-program: the events store users send, and the reports on them.

The mini-program sends what a store user does (page views, searches and how many results
they found, product views, add to cart, checkout started, order placed) in batches, each
event with an id of the client's making. An event is kept once per (user, id, day): a
batch sent again after a lost answer changes nothing. Events too old (the client was
offline for a week) or from the future (a wrong phone clock) are dropped, and so is an
event that does not make sense, one by one: a bad event must not keep its whole batch
sending forever. Nothing personal is kept beyond the store's and the user's ids.

The reports (funnel, search terms, pages) cover a period of China days, for the whole brand
or one distributor's stores (`scope.py`). They read the events summed by day
(`event_days.py`), which the periodic job sums again each minute from the days marked by
the ingest: a report lags the events by up to that minute.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from backend.analytics import event_days, partitions
from backend.analytics.models import EventKind
from backend.analytics.periods import Period, pct
from backend.analytics.scope import Scope, china_day
from backend.identity.access import Principal
from backend.infra import sql
from backend.infra.exports import Column, Kind, Table, xlsx_file
from backend.infra.http import MAX_ID
from backend.kernel.errors import DomainError, Forbidden

MAX_BATCH = 50
KEEP = event_days.LATE  # older events are dropped: the figures of those days are final
AHEAD = timedelta(minutes=5)  # a phone's clock a little fast is fine; more is not believed
DEFAULT_DAYS = 30
MAX_TERMS = 500
# The funnel's steps, in the order a store goes through them.
STEPS = (
    EventKind.PAGE_VIEW,
    EventKind.PRODUCT_VIEW,
    EventKind.ADD_TO_CART,
    EventKind.CHECKOUT,
    EventKind.ORDER,
)
STEP_NAMES = {
    EventKind.PAGE_VIEW: "浏览页面",
    EventKind.PRODUCT_VIEW: "查看商品",
    EventKind.ADD_TO_CART: "加入购物车",
    EventKind.CHECKOUT: "去结算",
    EventKind.ORDER: "提交订单",
}
# The mini-program's pages as store users know them (paths as in miniprogram/app.json).
PAGE_NAMES = {
    "pages/login/index": "登录",
    "pages/join/index": "门店入驻",
    "pages/home/index": "首页",
    "pages/catalog/index": "订货",
    "pages/product/index": "商品详情",
    "pages/cart/index": "购物车",
    "pages/checkout/index": "结算",
    "pages/orders/index": "订单列表",
    "pages/order/index": "订单详情",
    "pages/coupons/index": "优惠券",
    "pages/ledger/index": "账户余额",
    "pages/mall/index": "积分商城",
    "pages/lottery/index": "抽奖",
    "pages/complaints/index": "我的投诉",
    "pages/complaint/index": "投诉详情",
    "pages/complaint-new/index": "提交投诉",
    "pages/live-list/index": "直播",
    "pages/invite/index": "邀请门店",
    "pages/mine/index": "我的",
    "packageLive/pages/room/index": "直播间",
    "packageDisplay/pages/programs/index": "陈列活动",
    "packageDisplay/pages/program/index": "陈列活动详情",
    "packageDisplay/pages/check/index": "陈列检查",
    "packageCodes/pages/scan/index": "扫码",
    "packageCodes/pages/stock/index": "扫码库存",
}
_SPACES = re.compile(r"\s+")


class InvalidQuery(DomainError):
    status = 400
    code = "analytics.invalid_query"
    message = "查询参数不正确"


class NotStoreUser(Forbidden):
    code = "analytics.store_only"
    message = "只有门店账号可以上报行为数据"


# ---- taking events in ----------------------------------------------------------------


class EventIn(BaseModel):
    """One event as the mini-program sends it. Fields it does not know are ignored, so an
    older server takes a newer client's events."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: EventKind
    at: AwareDatetime
    page: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_/.-]*$")
    product_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    sku_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    term: str | None = Field(default=None, max_length=50)
    results: int | None = Field(default=None, ge=0, le=1_000_000)


@dataclass(frozen=True)
class Sorted:
    """A batch sorted: the events to keep and how many were dropped."""

    keep: list[EventIn]
    repeats: int  # ids sent twice in the batch: duplicates
    dropped: int


def normal_term(term: str | None) -> str | None:
    """A search term as kept: spaces collapsed (the report also ignores letter case)."""
    if term is None:
        return None
    cleaned = _SPACES.sub(" ", term).strip()
    return cleaned or None


def _usable(event: EventIn, now: datetime) -> bool:
    """Recent, not from the future, no NUL (PostgreSQL refuses it), a search with a term."""
    if not now - KEEP <= event.at <= now + AHEAD:
        return False
    if event.term is not None and "\x00" in event.term:
        return False
    return event.kind != EventKind.SEARCH or event.term is not None


def sort_batch(raw: Sequence[Any], now: datetime) -> Sorted:
    """Which of a batch's events to keep (pure): well formed, within the last 7 days and not
    from the future, a search with its term, each id once."""
    keep: list[EventIn] = []
    seen: set[str] = set()
    repeats = dropped = 0
    for item in raw:
        try:
            event = EventIn.model_validate(item)
        except ValidationError:
            dropped += 1
            continue
        event.term = normal_term(event.term)
        event.page = event.page.lstrip("/")
        if not _usable(event, now):
            dropped += 1
        elif event.id in seen:
            repeats += 1
        else:
            seen.add(event.id)
            keep.append(event)
    return Sorted(keep, repeats, dropped)


INSERT_COLUMNS = (
    "brand_id, store_id, user_id, kind, page, product_id, sku_id, term, results,"
    " client_id, occurred_at, day, received_at"
)
WIDTH = 13


def _insert_statement(count: int) -> str:
    rows = ", ".join(
        "(" + ", ".join(f"${row * WIDTH + column + 1}" for column in range(WIDTH)) + ")"
        for row in range(count)
    )
    return (
        f"INSERT INTO analytics_events ({INSERT_COLUMNS}) VALUES {rows}"  # noqa: S608 (ours)
        " ON CONFLICT (user_id, client_id, day) DO NOTHING RETURNING day"
    )


async def record(principal: Principal, raw: Sequence[Any], now: datetime) -> dict[str, int]:
    """Keep a batch of a store user's events: {accepted, duplicates, dropped}."""
    if principal.brand_id is None or principal.store_id is None:
        raise NotStoreUser()
    batch = sort_batch(raw, now)
    if not batch.keep:
        return {"accepted": 0, "duplicates": batch.repeats, "dropped": batch.dropped}
    days = [china_day(event.at) for event in batch.keep]
    # Outside any transaction: making a partition locks the parent table briefly.
    await partitions.ensure_months(days)
    values: list[Any] = []
    for event, day in zip(batch.keep, days, strict=True):
        values += [
            principal.brand_id,
            principal.store_id,
            principal.user_id,
            event.kind.value,
            event.page,
            event.product_id,
            event.sku_id,
            event.term,
            event.results,
            event.id,
            event.at.astimezone(UTC),
            day,
            now,
        ]
    # The days' marks commit with their events: the job that sums them again cannot miss
    # these (backend/analytics/event_days.py).
    async with sql.transaction():
        inserted = await sql.fetch(_insert_statement(len(batch.keep)), *values)
        await event_days.mark(principal.brand_id, (day_of(row["day"]) for row in inserted), now)
    return {
        "accepted": len(inserted),
        "duplicates": len(batch.keep) - len(inserted) + batch.repeats,
        "dropped": batch.dropped,
    }


# ---- reading them --------------------------------------------------------------------


def day_of(value: Any) -> date:
    """A day as the database gives it back (SQLite: ISO text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


async def funnel(scope: Scope, span: Period) -> dict[str, Any]:
    """Users, stores and events at each step, and how many users went on from the step
    before (each step counts who did it in the period, in whatever order)."""
    found = await event_days.steps(scope, span)
    steps: list[dict[str, Any]] = []
    for step in STEPS:
        tally = found.get(step.value) or event_days.Tally(step.value)
        users = len(tally.users)
        first = steps[0]["users"] if steps else users
        previous = steps[-1]["users"] if steps else None
        steps.append(
            {
                "kind": step.value,
                "name": STEP_NAMES[step],
                "users": users,
                "stores": len(tally.stores),
                "events": tally.events,
                "step_pct": None if previous is None else pct(users, previous),
                "overall_pct": pct(users, first),
            }
        )
    return {**span.view(), "steps": steps}


async def search_terms(
    scope: Scope, span: Period, *, zero: bool = False, limit: int = 100
) -> dict[str, Any]:
    """The terms searched most (or only those that found nothing at least once, `zero`),
    with the period's totals. "RO" and "ro" are one term, shown as the spelling first in
    the database's order."""
    top, total = await event_days.terms(scope, span, zero=zero, limit=max(1, min(limit, MAX_TERMS)))
    return {
        **span.view(),
        "items": [
            {
                "term": tally.term,
                "searches": tally.events,
                "users": len(tally.users),
                "zero_results": tally.zero_results,
                "zero_pct": pct(tally.zero_results, tally.events),
            }
            for tally in top
        ],
        "total": {
            "searches": total.searches,
            "terms": total.terms,
            "zero_results": total.zero_results,
            "zero_pct": pct(total.zero_results, total.searches),
        },
    }


def page_name(page: str) -> str:
    return PAGE_NAMES.get(page, page or "未知页面")


async def pages(scope: Scope, span: Period) -> dict[str, Any]:
    """Views per page, most viewed first, with the users and stores that viewed it."""
    found = await event_days.pages(scope, span)
    total = sum(tally.events for tally in found)
    return {
        **span.view(),
        "items": [
            {
                "page": tally.key,
                "name": page_name(tally.key),
                "views": tally.events,
                "users": len(tally.users),
                "stores": len(tally.stores),
                "share_pct": pct(tally.events, total),
            }
            for tally in found
        ],
        "total": {"views": total},
    }


# ---- exports -------------------------------------------------------------------------

FUNNEL_TABLE = Table(
    "转化漏斗",
    (
        Column("步骤", 14),
        Column("用户数", 10, Kind.NUMBER),
        Column("门店数", 10, Kind.NUMBER),
        Column("事件数", 10, Kind.NUMBER),
        Column("较上一步转化率(%)", 18, blank="—"),
        Column("总转化率(%)", 14, blank="—"),
    ),
)
TERMS_TABLE = Table(
    "搜索词",
    (
        Column("搜索词", 24),
        Column("搜索次数", 10, Kind.NUMBER),
        Column("搜索用户数", 12, Kind.NUMBER),
        Column("无结果次数", 12, Kind.NUMBER),
        Column("无结果占比(%)", 14, blank="—"),
    ),
)
PAGES_TABLE = Table(
    "页面浏览",
    (
        Column("页面", 16),
        Column("路径", 36),
        Column("浏览次数", 10, Kind.NUMBER),
        Column("用户数", 10, Kind.NUMBER),
        Column("门店数", 10, Kind.NUMBER),
        Column("占比(%)", 10, blank="—"),
    ),
)


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.1f}"


def funnel_xlsx(report: dict[str, Any]) -> bytes:
    return xlsx_file(
        FUNNEL_TABLE,
        (
            (
                step["name"],
                step["users"],
                step["stores"],
                step["events"],
                _percent(step["step_pct"]),
                _percent(step["overall_pct"]),
            )
            for step in report["steps"]
        ),
    )


def terms_xlsx(report: dict[str, Any]) -> bytes:
    return xlsx_file(
        TERMS_TABLE,
        (
            (
                item["term"],
                item["searches"],
                item["users"],
                item["zero_results"],
                _percent(item["zero_pct"]),
            )
            for item in report["items"]
        ),
    )


def pages_xlsx(report: dict[str, Any]) -> bytes:
    return xlsx_file(
        PAGES_TABLE,
        (
            (
                item["name"],
                item["page"],
                item["views"],
                item["users"],
                item["stores"],
                _percent(item["share_pct"]),
            )
            for item in report["items"]
        ),
    )


async def ensure_partitions_job(deps: Any) -> int:
    """The periodic job: this month's events partition and the next months' (PostgreSQL)."""
    return await partitions.ensure_ahead(china_day(deps.clock.now()))
