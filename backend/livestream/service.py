"""Livestream order meetings: scheduling a session (who is invited, what is on sale at which
live price and stock, which red-packet rains are planned), the sessions a store is invited
to, and the host starting and ending it. The rains themselves are in rains.py; other domains
and the realtime server reach both through this module."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from backend.catalog import service as catalog_service
from backend.coupons import service as coupons_service
from backend.identity import service as identity_service
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, STORE_ROLES, Principal
from backend.infra import events, sql
from backend.infra.broadcast import LIVE_NAMESPACE
from backend.infra.http import is_id
from backend.infra.logging import get_logger
from backend.kernel.errors import Conflict, InvalidInput, NotFound
from backend.kernel.events import (
    LiveSessionEnded,
    LiveSessionStarted,
    LiveStreamChanged,
    OrderCancelled,
    OrderPlaced,
)
from backend.kernel.money import yuan
from backend.kernel.spreadsheet import BOM, csv_lines, safe_text
from backend.livestream import attendance, draws, drops, join_state, rains, room
from backend.livestream.models import (
    Audience,
    DrawStatus,
    DropStatus,
    Eligibility,
    LiveCouponClaim,
    LiveCouponDrop,
    LiveDraw,
    LiveDrawWinner,
    LiveInvitation,
    LiveOrder,
    LiveProduct,
    LiveSession,
    RainStatus,
    RedPacketGrant,
    RedPacketRain,
    SessionStatus,
)
from backend.notifications import service as notifications_service
from backend.ordering import service as ordering_service
from backend.org import service as org_service

LONGEST_SESSION = timedelta(hours=12)
EARLIEST_START = timedelta(minutes=5)  # a session may be scheduled to start a little ago
STREAM_SCHEMES = ("https", "rtmp")  # what WeChat's <live-player> plays, over the network
STREAM_URL_MAX = 500

log = get_logger("livestream.service")
T = TypeVar("T")


class SessionNotFound(NotFound):
    code = "live.session_not_found"
    message = "找不到该直播"


class InvalidSchedule(InvalidInput):
    code = "live.invalid_schedule"
    message = "直播时间不正确"


class UnknownReference(InvalidInput):
    code = "live.unknown_reference"
    message = "直播引用了不存在的商品、门店或经销商"


class InvalidLineup(InvalidInput):
    code = "live.invalid_lineup"
    message = "直播商品、受邀门店或红包雨设置不正确"


class NobodyInvited(InvalidInput):
    code = "live.nobody_invited"
    message = "没有符合条件的受邀门店"


class SoldOut(Conflict):
    code = "live.sold_out"
    message = "直播库存不足"


class SessionStatusChanged(Conflict):
    code = "live.status_changed"
    message = "直播状态已变化，请刷新后重试"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def session_view(session: LiveSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "distributor_id": session.distributor_id,  # type: ignore[attr-defined]
        "title": session.title,
        "cover_url": session.cover_url,
        "stream_url": session.stream_url,
        "starts_at": _iso(session.starts_at),
        "ends_at": _iso(session.ends_at),
        "status": session.status,
        "audience": {"mode": session.audience, "tags": session.audience_tags},
        "invited_count": session.invited_count,
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
        "peak_viewers": session.peak_viewers,
    }


def _refuse(field: str, message: str, error: type[InvalidInput] = InvalidSchedule) -> None:
    raise error(message, details=[{"field": field, "message": message}])


def _host_distributor(principal: Principal, requested: int | None) -> int:
    """The distributor a session is for: a distributor's staff host their own; brand staff
    name one."""
    if principal.role in DISTRIBUTOR_ROLES:
        assert principal.distributor_id is not None
        return principal.distributor_id
    if requested is None:
        _refuse("distributor_id", "品牌创建直播须指定经销商", InvalidLineup)
    assert requested is not None
    return requested


def stream_url(value: str | None) -> str | None:
    """A session's video pull URL as given (None or blank: no video), or InvalidSchedule: an
    https or rtmp URL naming a host, at most 500 characters, with no spaces and no user name
    or password (every invited store is given it)."""
    text = (value or "").strip()
    if not text:
        return None
    problem = ""
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if len(text) > STREAM_URL_MAX:
        problem = f"直播流地址不能超过 {STREAM_URL_MAX} 个字符"
    elif parts is None or parts.scheme.lower() not in STREAM_SCHEMES or not parts.hostname:
        problem = "直播流地址须为 https:// 或 rtmp:// 开头的完整地址"
    elif any(char.isspace() or ord(char) < 32 for char in text):
        problem = "直播流地址不能包含空格或控制字符"
    elif parts.username is not None or parts.password is not None:
        problem = "直播流地址不能包含用户名或密码"
    if problem:
        _refuse("stream_url", problem)
    return text


async def _invited_stores(
    brand_id: int, distributor_id: int, audience: dict[str, Any]
) -> list[int]:
    everyone = await org_service.active_store_ids(brand_id, distributor_ids=[distributor_id])
    mode = Audience(audience["mode"])
    if mode == Audience.ALL:
        invited = everyone
    elif mode == Audience.TAGS:
        if not audience["tags"]:
            _refuse("audience.tags", "按标签邀请须至少选择一个标签", InvalidLineup)
        invited = await org_service.active_store_ids(
            brand_id, distributor_ids=[distributor_id], tags=audience["tags"]
        )
    else:
        listed = set(audience["store_ids"])
        if not listed:
            _refuse("audience.store_ids", "请选择受邀门店", InvalidLineup)
        if unknown := sorted(listed - set(everyone)):
            raise UnknownReference(
                "受邀门店须为该经销商的正常营业门店",
                details=[{"field": "audience.store_ids", "message": f"无效门店 {unknown[:10]}"}],
            )
        invited = sorted(listed)
    if not invited:
        raise NobodyInvited()
    return invited


def _utc(at: datetime) -> datetime:
    """Stored in UTC, as every other instant: SQLite compares them as text."""
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A session's plan as checked: its video URL, its times in UTC, the stores invited."""

    stream_url: str | None
    starts_at: datetime
    ends_at: datetime
    invited: list[int]


async def _checked_plan(
    brand_id: int,
    distributor_id: int,
    fields: dict[str, Any],
    *,
    now: datetime,
    starting: datetime | None = None,
) -> _Plan:
    """Check a whole plan (SessionBody's fields) before anything is written: the times, the
    products at live prices not above their list prices, the rains, the coupons and the
    stores invited. `starting` is the start already planned (an edit): keeping it is fine
    even once it has passed."""
    stream = stream_url(fields.get("stream_url"))
    starts_at, ends_at = _utc(fields["starts_at"]), _utc(fields["ends_at"])
    if starts_at != starting and starts_at < now - EARLIEST_START:
        _refuse("starts_at", "开始时间不能早于现在")
    if not starts_at < ends_at <= starts_at + LONGEST_SESSION:
        _refuse("ends_at", "结束时间须晚于开始时间，且直播不超过 12 小时")
    products = fields["products"]
    sku_ids = [product["sku_id"] for product in products]
    if len(set(sku_ids)) != len(sku_ids):
        _refuse("products", "同一商品只能上架一次", InvalidLineup)
    list_prices = await catalog_service.list_prices(brand_id, sku_ids)
    if unknown := set(sku_ids) - set(list_prices):
        _refuse("products", f"商品不存在 {sorted(unknown)}", UnknownReference)
    for number, product in enumerate(products):
        if product["live_price_fen"] > list_prices[product["sku_id"]]:
            _refuse(f"products.{number}.live_price_fen", "直播价不能高于商品标价", InvalidLineup)
    for number, rain in enumerate(fields["rains"]):
        if rain["total_fen"] < rain["count"]:
            _refuse(f"rains.{number}.total_fen", "红包总额须不少于每个红包 1 分", InvalidLineup)
    templates = {drop["template_id"] for drop in fields.get("coupon_drops", [])}
    if unknown_templates := templates - await coupons_service.known_template_ids(
        brand_id, sorted(templates)
    ):
        _refuse("coupon_drops", f"优惠券不存在 {sorted(unknown_templates)}", UnknownReference)
    invited = await _invited_stores(brand_id, distributor_id, fields["audience"])
    return _Plan(stream, starts_at, ends_at, invited)


def _session_fields(fields: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    return {
        "title": fields["title"],
        "cover_url": fields["cover_url"],
        "stream_url": plan.stream_url,
        "starts_at": plan.starts_at,
        "ends_at": plan.ends_at,
        "audience": fields["audience"]["mode"],
        "audience_tags": fields["audience"].get("tags") or [],
        "invited_count": len(plan.invited),
    }


async def _write_lineup(
    session_id: int, fields: dict[str, Any], invited: list[int], *, moved_start: bool
) -> None:
    """Write a session's invitations, products, rains, coupon drops and draws as planned, in
    the caller's transaction. On an edit (the session not started: nothing sold, granted,
    claimed or drawn yet), a store still invited keeps its invitation (and its reminder,
    unless the start moved) and a SKU still on sale keeps its product id; the rains, drops
    and draws are planned again."""
    invitations = LiveInvitation.filter(session_id=session_id)
    kept = {int(store_id) for store_id in await invitations.values_list("store_id", flat=True)}  # type: ignore[call-overload]
    wanted = set(invited)
    if gone := kept - wanted:
        await LiveInvitation.filter(session_id=session_id, store_id__in=sorted(gone)).delete()
    if moved_start:
        await LiveInvitation.filter(session_id=session_id).update(reminded_at=None)
    await LiveInvitation.bulk_create(
        [
            LiveInvitation(session_id=session_id, store_id=store_id)
            for store_id in sorted(wanted - kept)
        ],
        batch_size=1000,
    )
    on_sale = {
        product.sku_id: product  # type: ignore[attr-defined]
        for product in await LiveProduct.filter(session_id=session_id)
    }
    products = fields["products"]
    listed = {product["sku_id"] for product in products}
    if dropped := [sku_id for sku_id in on_sale if sku_id not in listed]:
        await LiveProduct.filter(session_id=session_id, sku_id__in=dropped).delete()
    added = []
    for number, product in enumerate(products):
        plan = {
            "live_price_fen": product["live_price_fen"],
            "live_stock": product["live_stock"],
            "sort": number,
        }
        if product["sku_id"] in on_sale:
            await LiveProduct.filter(id=on_sale[product["sku_id"]].id).update(**plan)
        else:
            added.append(LiveProduct(session_id=session_id, sku_id=product["sku_id"], **plan))
    await LiveProduct.bulk_create(added)
    await RedPacketRain.filter(session_id=session_id).delete()
    await RedPacketRain.bulk_create(
        [
            RedPacketRain(
                session_id=session_id,
                total_fen=rain["total_fen"],
                count=rain["count"],
                duration_seconds=rain["duration_seconds"],
            )
            for rain in fields["rains"]
        ]
    )
    await LiveCouponDrop.filter(session_id=session_id).delete()
    await LiveCouponDrop.bulk_create(
        [
            LiveCouponDrop(
                session_id=session_id, template_id=drop["template_id"], quantity=drop["quantity"]
            )
            for drop in fields.get("coupon_drops", [])
        ]
    )
    await LiveDraw.filter(session_id=session_id).delete()
    await LiveDraw.bulk_create(
        [
            LiveDraw(
                session_id=session_id,
                title=draw["title"],
                prizes=draw["prizes"],
                eligibility=draw["eligibility"],
            )
            for draw in fields.get("draws", [])
        ]
    )


async def schedule(
    principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """A new session with its invitations, products and planned rains, all or nothing."""
    brand_id = principal.brand_id
    assert brand_id is not None
    distributor_id = _host_distributor(principal, fields.get("distributor_id"))
    if not await org_service.known_ids(brand_id, "distributor", [distributor_id]):
        _refuse("distributor_id", "经销商不存在", UnknownReference)
    plan = await _checked_plan(brand_id, distributor_id, fields, now=now)
    async with in_transaction():
        session = await LiveSession.create(
            brand_id=brand_id,
            distributor_id=distributor_id,
            created_by_id=principal.user_id,
            created_at=now,
            **_session_fields(fields, plan),
        )
        await _write_lineup(session.id, fields, plan.invited, moved_start=False)
    return await detail(principal, session.id)


async def replan(
    deps: Any, principal: Principal, session_id: int, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """The host changes a session's whole plan (SessionBody's fields but its distributor)
    while it has not started: checked as a new one is, then written all or nothing. A
    session started in the meantime is refused (the guarded update), nothing changed."""
    session = await hosted(principal, session_id)
    if session.status != SessionStatus.SCHEDULED.value:
        raise SessionStatusChanged("直播已开始或已结束，不能再修改")
    plan = await _checked_plan(
        session.brand_id,  # type: ignore[attr-defined]
        session.distributor_id,  # type: ignore[attr-defined]
        fields,
        now=now,
        starting=session.starts_at,
    )
    async with sql.atomic():
        moved = await LiveSession.filter(
            id=session.id, status=SessionStatus.SCHEDULED.value
        ).update(**_session_fields(fields, plan))
        if not moved:
            raise SessionStatusChanged("直播已开始或已结束，不能再修改")
        await _write_lineup(
            session.id, fields, plan.invited, moved_start=plan.starts_at != session.starts_at
        )
        await _changed_after_commit(deps, session.id)
        if plan.stream_url != session.stream_url:
            await events.record(deps, LiveStreamChanged(session.id, plan.stream_url, now))
    return await detail(principal, session.id)


# ---- what a plan may name: the pickers of the console's form --------------------------------


async def _planning_for(principal: Principal, requested: int | None) -> int:
    """The distributor whose session is being planned: a distributor's staff their own, the
    brand's staff the one they name (one of the brand's)."""
    assert principal.brand_id is not None
    distributor_id = _host_distributor(principal, requested)
    if not await org_service.known_ids(principal.brand_id, "distributor", [distributor_id]):
        _refuse("distributor_id", "经销商不存在", UnknownReference)
    return distributor_id


async def sku_choices(
    principal: Principal,
    distributor_id: int | None,
    *,
    text: str | None,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The SKUs the distributor carries, with list price and stock, to put on sale."""
    assert principal.brand_id is not None
    host = await _planning_for(principal, distributor_id)
    return await catalog_service.carried_skus(
        principal.brand_id, host, text=text, after=after, limit=limit
    )


async def coupon_choices(
    principal: Principal, *, text: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The brand's active coupons a session may drop."""
    assert principal.brand_id is not None
    return await coupons_service.droppable_templates(
        principal.brand_id, text=text, before=before, limit=limit
    )


async def tag_choices(principal: Principal, distributor_id: int | None) -> list[dict[str, Any]]:
    """The tags of the distributor's active stores, with how many stores each would invite."""
    assert principal.brand_id is not None
    host = await _planning_for(principal, distributor_id)
    return await org_service.distributor_store_tags(principal.brand_id, host)


async def _visible(principal: Principal, session_id: int) -> LiveSession:
    """The session if the caller may see it: the brand's staff any of the brand's, a
    distributor's staff its own, a store one it is invited to. Otherwise 404."""
    sessions = LiveSession.filter(id=session_id, brand_id=principal.brand_id)
    if principal.role in DISTRIBUTOR_ROLES:
        sessions = sessions.filter(distributor_id=principal.distributor_id)
    elif principal.role in STORE_ROLES:
        sessions = sessions.filter(invitations__store_id=principal.store_id)
    elif principal.role not in BRAND_ROLES:
        raise SessionNotFound()
    session = await sessions.first()
    if session is None:
        raise SessionNotFound()
    return session


def _rain_view(rain: RedPacketRain) -> dict[str, Any]:
    return {
        "id": rain.id,
        "total_fen": rain.total_fen,
        "count": rain.count,
        "duration_seconds": rain.duration_seconds,
        "status": rain.status,
        "started_at": _iso(rain.started_at),
        "ends_at": _iso(rain.ends_at),
        "granted_fen": rain.granted_fen,
        "granted_count": rain.granted_count,
        "returned_fen": rain.returned_fen,
    }


def _coupon_view(template: dict[str, Any]) -> dict[str, Any]:
    """What a drop's coupon is, as a store reads it before grabbing: its name, what it is
    worth (the wording, e.g. 满3000.00元减200.00元, and the amounts) and how long it lasts. Not the
    template's audience or stock, which are the brand's business."""
    terms = template["terms"] or {}
    return {
        "template_id": template["id"],
        "name": template["name"],
        "kind": template["kind"],
        "description": template["description"],
        "threshold_fen": terms.get("threshold_fen") or 0,
        "amount_off_fen": terms.get("amount_off_fen") or None,
        "percent": terms.get("percent"),
        "max_off_fen": terms.get("max_off_fen"),
        "valid_days": template["valid_days"],
        "valid_until": template["valid_until"],
    }


async def _with_coupons(principal: Principal, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The drops with their coupons (`coupon`, None for a template that is gone), read
    through coupons' service in one query (a session plans at most 20 drops)."""
    if principal.brand_id is None:
        return [{**view, "coupon": None} for view in views]
    return await _coupons_of(principal.brand_id, views)


async def _coupons_of(brand_id: int, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    templates = await coupons_service.brand_templates(
        brand_id, sorted({view["template_id"] for view in views})
    )
    coupons = {template_id: _coupon_view(found) for template_id, found in templates.items()}
    return [{**view, "coupon": coupons.get(view["template_id"])} for view in views]


async def _named_products(session: LiveSession) -> list[tuple[LiveProduct, dict[str, Any]]]:
    """The session's products in their order, each with how it is named on screen, as its
    card names it (room.product_card): `name` the product's, `sku_name` and `spec` the SKU's,
    `title` both ("澜泉 RO 净水器 RO-500"), and `sku` the SKU as the catalog shows it."""
    products = await LiveProduct.filter(session_id=session.id).order_by("sort", "id")
    brand_id: int = session.brand_id  # type: ignore[attr-defined]
    sku_ids = [product.sku_id for product in products]  # type: ignore[attr-defined]
    skus = await catalog_service.skus_by_id(brand_id, sku_ids)
    summaries = await catalog_service.sku_summaries(brand_id, sku_ids)
    named = []
    for product in products:
        sku_id: int = product.sku_id  # type: ignore[attr-defined]
        summary = summaries[sku_id]
        names = {
            "name": summary.product_name,
            "sku_name": summary.sku_name,
            "spec": skus[sku_id]["spec"],
            "title": summary.title,
            "sku": skus[sku_id],
        }
        named.append((product, names))
    return named


async def _audience_view(principal: Principal, session: LiveSession) -> dict[str, Any]:
    """Whom the session invites. Its hosts also read the stores it lists (mode `stores`), by
    id and name, to plan it again; a store never sees who else is invited."""
    audience: dict[str, Any] = {"mode": session.audience, "tags": session.audience_tags}
    if session.audience != Audience.STORES.value or principal.role in STORE_ROLES:
        return audience
    brand_id: int = session.brand_id  # type: ignore[attr-defined]
    invited = LiveInvitation.filter(session_id=session.id).order_by("store_id")
    store_ids = [int(store_id) for store_id in await invited.values_list("store_id", flat=True)]  # type: ignore[call-overload]
    names = await org_service.names(brand_id, "store", store_ids)
    return {
        **audience,
        "stores": [{"id": store_id, "name": names.get(store_id, "")} for store_id in store_ids],
    }


async def detail(principal: Principal, session_id: int) -> dict[str, Any]:
    session = await _visible(principal, session_id)
    rains = await RedPacketRain.filter(session_id=session.id).order_by("id")
    return {
        **session_view(session),
        "audience": await _audience_view(principal, session),
        "products": [
            {
                "id": product.id,
                **names,
                "product_name": names["name"],  # the plan form's name for it
                "live_price_fen": product.live_price_fen,
                "live_stock": product.live_stock,
                "sold": product.sold,
            }
            for product, names in await _named_products(session)
        ],
        "rains": [_rain_view(rain) for rain in rains],
        "coupon_drops": await _with_coupons(
            principal,
            [
                drops.drop_view(drop)
                for drop in await LiveCouponDrop.filter(session_id=session.id).order_by("id")
            ],
        ),
        "draws": [
            {
                "id": draw.id,
                "title": draw.title,
                "prizes": draw.prizes,
                "eligibility": draw.eligibility,
                "status": draw.status,
                "seed_hash": draw.seed_hash or None,
                # The seed stays secret until the winners are written: it decides them.
                "seed": draw.seed if draw.status == DrawStatus.DRAWN.value else None,
            }
            for draw in await LiveDraw.filter(session_id=session.id).order_by("id")
        ],
    }


def _listed(
    principal: Principal, *, starts_from: datetime | None, starts_before: datetime | None
) -> Any:
    """The sessions the caller may list, starting within the range: staff their own (the
    brand's, or their distributor's), a store those it is invited to."""
    sessions = LiveSession.filter(brand_id=principal.brand_id)
    if principal.role in DISTRIBUTOR_ROLES:
        sessions = sessions.filter(distributor_id=principal.distributor_id)
    elif principal.role in STORE_ROLES:
        sessions = sessions.filter(invitations__store_id=principal.store_id)
    if starts_from is not None:
        sessions = sessions.filter(starts_at__gte=starts_from)
    if starts_before is not None:
        sessions = sessions.filter(starts_at__lt=starts_before)
    return sessions


async def list_sessions(
    principal: Principal,
    *,
    include_ended: bool,
    before: int | None,
    limit: int,
    status: str | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> list[dict[str, Any]]:
    """Staff: their sessions, newest first, each with its figures (products on sale, orders
    and their amount). A store: the sessions it is invited to. Ended sessions only when
    asked for (`include_ended`, or `status` ended)."""
    sessions = _listed(principal, starts_from=starts_from, starts_before=starts_before)
    if status is not None:
        sessions = sessions.filter(status=status)
    elif not include_ended:
        sessions = sessions.exclude(status=SessionStatus.ENDED.value)
    if before is not None:
        sessions = sessions.filter(id__lt=before)
    views = [session_view(s) for s in await sessions.order_by("-id").limit(limit)]
    if principal.role in STORE_ROLES:
        return views
    return await _with_figures(views)


async def session_counts(
    principal: Principal, *, starts_from: datetime | None, starts_before: datetime | None
) -> dict[str, int]:
    """How many of the caller's sessions (starting within the range) are in each state."""
    rows = (
        await _listed(principal, starts_from=starts_from, starts_before=starts_before)
        .group_by("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    counts = {status.value: 0 for status in SessionStatus}
    counts.update({str(status): int(count) for status, count in rows})
    return counts


# The room's orders still standing; whether an order is cancelled is ordering's to say.
_NOT_CANCELLED = ordering_service.not_cancelled_sql("l.order_id")


async def _with_figures(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sessions with how many products they sell, and their orders and GMV as the ticker
    counts them (live_totals): two grouped queries for the whole page."""
    if not views:
        return views
    ids = [view["id"] for view in views]
    products = await sql.fetch(
        "SELECT session_id, COUNT(*) AS products FROM live_products"
        " WHERE session_id IN ($1) GROUP BY session_id",
        ids,
    )
    orders = await sql.fetch(
        "SELECT l.session_id, COUNT(*) AS orders, COALESCE(SUM(l.amount_fen), 0) AS gmv_fen"  # noqa: S608
        " FROM live_orders l WHERE l.session_id IN ($1)"
        f" AND {_NOT_CANCELLED} GROUP BY l.session_id",
        ids,
    )
    on_sale = {int(row["session_id"]): int(row["products"]) for row in products}
    sold = {int(row["session_id"]): (int(row["orders"]), int(row["gmv_fen"])) for row in orders}
    return [
        {
            **view,
            "products_count": on_sale.get(view["id"], 0),
            "orders": sold.get(view["id"], (0, 0))[0],
            "gmv_fen": sold.get(view["id"], (0, 0))[1],
        }
        for view in views
    ]


async def is_invited(session_id: int, store_id: int) -> bool:
    return await LiveInvitation.exists(session_id=session_id, store_id=store_id)


async def hosted(principal: Principal, session_id: int) -> LiveSession:
    """The session if the caller may host it (its distributor's staff, or the brand's)."""
    if principal.role not in (*DISTRIBUTOR_ROLES, *BRAND_ROLES):
        raise SessionNotFound()
    return await _visible(principal, session_id)


async def start(
    deps: Any, principal: Principal, session_id: int, *, now: datetime
) -> dict[str, Any]:
    """The host starts the session; the room hears of it once that has committed
    (LiveSessionStarted)."""
    session = await hosted(principal, session_id)
    async with sql.transaction():
        moved = await LiveSession.filter(
            id=session.id, status=SessionStatus.SCHEDULED.value
        ).update(status=SessionStatus.LIVE.value, started_at=now)
        if not moved:
            raise SessionStatusChanged("直播已开始或已结束")
        await _changed_after_commit(deps, session.id)
        await events.record(deps, LiveSessionStarted(session.id, now))
    return await detail(principal, session.id)


async def _end(principal: Principal, session_id: int, *, now: datetime) -> int:
    session = await hosted(principal, session_id)
    moved = await LiveSession.filter(id=session.id, status=SessionStatus.LIVE.value).update(
        status=SessionStatus.ENDED.value, ended_at=now
    )
    if not moved:
        raise SessionStatusChanged("直播未在进行中")
    return int(session.id)


async def end_with_rains(
    deps: Any, principal: Principal, session_id: int, *, now: datetime
) -> dict[str, Any]:
    """End the session, any rain still running in it (what no store grabbed goes back to
    the distributor) and its open coupon drops, and close its room (nobody watching, no card
    on screen: room.close), in one transaction. The room is told once it has committed
    (LiveSessionEnded: tell_room_of_end)."""
    async with sql.transaction():
        session_id = await _end(principal, session_id, now=now)
        await drops.end_session_drops(session_id, now=now)
        running = await RedPacketRain.filter(
            session_id=session_id, status=RainStatus.RUNNING.value
        ).order_by("id")
        for rain in running:
            await rains.end_rain(deps, rain.id, now=now)
        # The room's peak and attendance as Redis counted them: joins write them in the
        # background, and a process may have died with some unwritten (attendance.py).
        await note_viewers(session_id, await room.peak(deps, session_id))
        await attendance.write_joined(
            session_id, await room.joined_store_ids(deps, session_id), now
        )
        version = await room.close(deps, session_id)
        await _changed_after_commit(deps, session_id)
        ended = LiveSessionEnded(session_id, tuple(rain.id for rain in running), version, now)
        await events.record(deps, ended)
    return await detail(principal, session_id)


async def set_stream(
    deps: Any, principal: Principal, session_id: int, value: str | None
) -> dict[str, Any]:
    """The host gives (or takes away, with None) the session's video pull URL, before or
    during the session; not once it has ended. The room hears of it once that has committed
    (LiveStreamChanged)."""
    session = await hosted(principal, session_id)
    url = stream_url(value)
    async with sql.transaction():
        moved = await LiveSession.filter(
            id=session.id, status__in=[SessionStatus.SCHEDULED.value, SessionStatus.LIVE.value]
        ).update(stream_url=url)
        if not moved:
            raise SessionStatusChanged("直播已结束，不能再修改直播流地址")
        await _changed_after_commit(deps, session.id)
        await events.record(deps, LiveStreamChanged(session.id, url, deps.clock.now()))
    return await detail(principal, session.id)


note_viewers = attendance.write_peak


# ---- in the room: the realtime server calls these ------------------------------------------


ROOM = room.room_name


async def tell_room(deps: Any, session_id: int, event: str, data: Any) -> None:
    """A push to everyone in the session's room, from an API process (after commit)."""
    await deps.broadcast.emit(event, data, rooms=[ROOM(session_id)], namespace=LIVE_NAMESPACE)


# What the room is told of the host's changes, once they have committed (registered in
# backend/wiring.py): a client told of a change it then reads finds it written.


async def tell_room_of_start(deps: Any, started: LiveSessionStarted) -> None:
    await tell_room(deps, started.session_id, "session", {"status": SessionStatus.LIVE.value})


async def tell_room_of_end(deps: Any, ended: LiveSessionEnded) -> None:
    """Each rain's results, then the viewers (none) and the session ended with no card, at
    the version the room closed with."""
    for rain_id in ended.rain_ids:
        await tell_room(deps, ended.session_id, "rain_result", await rains.ended_view(rain_id))
    version = ended.version
    await tell_room(deps, ended.session_id, "viewers", {"count": 0, "version": version})
    session = {"status": SessionStatus.ENDED.value, "card": None, "version": version}
    await tell_room(deps, ended.session_id, "session", session)


async def tell_room_of_stream(deps: Any, changed: LiveStreamChanged) -> None:
    await tell_room(deps, changed.session_id, "stream", {"stream_url": changed.stream_url})


async def join(
    deps: Any, principal: Principal, session_id: int, sid: str, *, process: str
) -> dict[str, Any]:
    """A connection (held by the realtime process `process`) enters the room: an invited
    store, or the session's hosts. Returns the room's whole state, the viewers counted with
    this one (nobody is counted in an ended session's room).

    The hot path of a reconnect storm: what it needs of the database is kept in Redis
    (join_state, room.py's figures), and what it writes is only what is new (attendance)."""
    snapshot = await _joinable(deps, principal, session_id)
    entered = None
    if snapshot.session["status"] != SessionStatus.ENDED.value:  # nobody watches an ended one
        entered = await room.enter(
            deps, session_id, sid, principal.store_id, process=process, signin=principal.session_id
        )
        if entered.new_peak:
            attendance.note_peak(session_id, entered.viewers)
        if entered.first_time and principal.store_id is not None:
            try:
                await _note_joined(deps, session_id, principal.store_id, deps.clock.now())
            except Exception:  # a figure for the report: never worth a refused join
                log.exception("live attendance not recorded", extra={"session_id": session_id})
    return await _full_state(deps, principal, snapshot, entered)


async def _note_joined(deps: Any, session_id: int, store_id: int, now: datetime) -> None:
    """The store's first entry into the room, for the session's effect (invited → joined →
    ordered), batched with the other first entries meanwhile (attendance.py): a quiet room
    records it before answering, a storm right after."""

    async def forget(store_ids: list[int]) -> None:
        await room.forget_joined(deps, session_id, store_ids)

    await attendance.note_joined(session_id, store_id, now, forget=forget)


def _may_see(principal: Principal, snapshot: join_state.Snapshot) -> bool:
    """_visible's rule on a snapshot: the brand's staff, the distributor's staff, or an
    invited store."""
    session = snapshot.session
    if principal.brand_id != session["brand_id"]:
        return False
    if principal.role in DISTRIBUTOR_ROLES:
        return bool(principal.distributor_id == session["distributor_id"])
    if principal.role in STORE_ROLES:
        return bool(snapshot.invited)
    return principal.role in BRAND_ROLES


# What is being read from the database for joiners, by what: a storm's joins share a read.
_READS: dict[tuple[Any, ...], asyncio.Future[Any]] = {}


async def _shared(what: tuple[Any, ...], read: Callable[[], Awaitable[T]]) -> T:
    """`read()`, or the same read another caller of this process started and is waiting for
    (a cancelled caller does not cancel it for the others)."""
    future = _READS.get(what)
    if future is None or future.get_loop() is not asyncio.get_running_loop():
        future = _READS[what] = asyncio.ensure_future(read())

        def done(finished: asyncio.Future[Any]) -> None:
            if _READS.get(what) is finished:
                del _READS[what]

        future.add_done_callback(done)
    return cast(T, await asyncio.shield(future))


async def _joinable(deps: Any, principal: Principal, session_id: int) -> join_state.Snapshot:
    """The session as a joiner reads it, if the caller may see it (else SessionNotFound):
    from Redis, or from the database (then kept in Redis)."""
    store_id = principal.store_id if principal.role in STORE_ROLES else None
    snapshot, generation = await join_state.read(deps, session_id, store_id)
    if snapshot is None:

        async def read() -> tuple[join_state.Snapshot, frozenset[int]] | None:
            return await _read_snapshot(deps, session_id, generation)

        found = await _shared(("snapshot", session_id), read)
        if found is None:
            raise SessionNotFound()
        read_snapshot, invited = found
        snapshot = replace(read_snapshot, invited=None if store_id is None else store_id in invited)
    if not _may_see(principal, snapshot):
        raise SessionNotFound()
    return snapshot


async def _read_snapshot(
    deps: Any, session_id: int, generation: str
) -> tuple[join_state.Snapshot, frozenset[int]] | None:
    """The session's snapshot and its invited stores from the database, kept in Redis
    unless it changed meanwhile (join_state.keep); None if there is no such session."""
    session = await LiveSession.get_or_none(id=session_id)
    if session is None:
        return None
    brand_id: int = session.brand_id  # type: ignore[attr-defined]
    invited = await sql.fetch(
        "SELECT store_id FROM live_invitations WHERE session_id = $1", session_id
    )
    records = [
        # The eligible list is the record's (its URL is in the state): it may be thousands.
        {
            **{key: value for key, value in record.items() if key != "eligible"},
            "eligible_count": None if record["eligible"] is None else len(record["eligible"]),
        }
        for record in await draws.session_draws(session_id)
        if record["status"] != DrawStatus.PLANNED.value
    ]
    winners = {winner["store_id"] for record in records for winner in record["winners"]}
    names = await org_service.names(brand_id, "store", winners) if winners else {}
    running = await sql.fetch_one(
        "SELECT id FROM red_packet_rains WHERE session_id = $1 AND status = $2 ORDER BY id",
        session_id,
        RainStatus.RUNNING.value,
    )
    snapshot = join_state.Snapshot(
        session={
            "id": session.id,
            "brand_id": brand_id,
            "distributor_id": session.distributor_id,  # type: ignore[attr-defined]
            "status": session.status,
            "title": session.title,
            "stream_url": session.stream_url,
        },
        drops=await _coupons_of(brand_id, await drops.running_drops(session_id, None)),
        draws=records,
        names={int(store): name for store, name in names.items()},
        rain_id=None if running is None else int(running["id"]),
    )
    stores = [int(row["store_id"]) for row in invited]
    await join_state.keep(deps, session_id, generation, snapshot, stores)
    return snapshot, frozenset(stores)


async def _changed(deps: Any, session_id: int) -> None:
    """Something a joiner reads of the session changed and has committed: the next joiner
    reads it again (join_state). Failing to say so leaves it stale a minute at most."""
    try:
        await join_state.forget(deps, session_id)
    except Exception:
        log.exception("live join state not refreshed", extra={"session_id": session_id})


async def _changed_after_commit(deps: Any, session_id: int) -> None:
    """_changed, once the current transaction has committed (first of its after-commit
    work: before the room is told)."""

    async def changed() -> None:
        await _changed(deps, session_id)

    await sql.after_commit(changed)


async def _figure(
    deps: Any,
    session_id: int,
    kept: room.RoomRead,
    name: str,
    read: Callable[[], Awaitable[Any]],
) -> tuple[int, str]:
    """A figure of the room as kept (version, value), or read from the database by `read`
    after the version it is then kept with, and kept (one read for a storm's joins)."""
    if name in kept.figures:
        return kept.figures[name]

    async def read_and_keep() -> tuple[int, str]:
        value = str(await read())
        await room.keep_figures(deps, session_id, kept.version, {name: value})
        return kept.version, value

    return await _shared(("figure", session_id, name), read_and_keep)


async def _full_state(
    deps: Any,
    principal: Principal,
    snapshot: join_state.Snapshot,
    entered: room.Entered | None = None,
) -> dict[str, Any]:
    """Everything a client needs on (re)joining, so that it reads nothing else: the room's
    state (the card with what is left now), the title and video URL, the rain running in it
    if any (and the caller's packet), the coupon drops open now (with their coupons and the
    caller's), and the draws announced or drawn (winners named for the caller).

    Its `version` is the room's when it was read, or older: that of the oldest figure in it
    as it was kept (a push of a newer figure may be on its way, and must be taken)."""
    session = snapshot.session
    session_id, status = int(session["id"]), str(session["status"])
    if entered is not None:  # the room read with the viewers counted
        kept, count = entered.room, entered.viewers
    else:
        kept = await room.read_room(deps, session_id)
        ended = status == SessionStatus.ENDED.value
        count = 0 if ended else await room.viewers(deps, session_id)
    state = room.state_of(session_id, status, kept.stored, count)
    versions = [kept.version]

    async def totals() -> str:
        orders, gmv = await live_totals(session_id)
        return f"{orders},{gmv}"

    at, value = await _figure(deps, session_id, kept, "totals", totals)
    versions.append(at)
    orders, gmv = value.split(",")
    state["orders"], state["gmv_fen"] = int(orders), int(gmv)
    state["title"] = session["title"]
    state["stream_url"] = session["stream_url"]
    if state["card"] is not None:
        # Kept when it was pushed: orders and cancellations have moved the stock since.
        product_id = int(state["card"]["product_id"])

        async def left() -> int | None:
            return await _stock_left(session_id, product_id)

        at, value = await _figure(deps, session_id, kept, f"left:{product_id}", left)
        if value != "None":
            versions.append(at)
            state["card"]["left"] = int(value)
    state["drops"] = await _running_drops(deps, principal, snapshot, kept, versions)
    state["draws"] = [
        {**record, "record_url": record_url(deps, session_id, record["draw_id"])}
        for record in _name_winners(principal, snapshot.draws, snapshot.names)
    ]
    state["rain"] = None
    if snapshot.rain_id is not None:
        state["rain"] = await rains.rain_state(deps, snapshot.rain_id)
        if principal.store_id is not None:
            state["rain"]["mine"] = await rains.my_grant(snapshot.rain_id, principal.store_id)
    state["version"] = min(versions)
    return state


async def _stock_left(session_id: int, product_id: int) -> int | None:
    stock = await LiveProduct.filter(id=product_id, session_id=session_id).values_list(
        "live_stock", "sold"
    )
    return max(int(stock[0][0]) - int(stock[0][1]), 0) if stock else None


async def _running_drops(
    deps: Any,
    principal: Principal,
    snapshot: join_state.Snapshot,
    kept: room.RoomRead,
    versions: list[int],
) -> list[dict[str, Any]]:
    """The drops open now, with what is left of each (its figure) and the caller's coupon
    from it (`mine`: one query, only while a drop is open)."""
    if not snapshot.drops:
        return []
    session_id = int(snapshot.session["id"])
    mine: dict[int, dict[str, Any] | None] = {}
    if principal.store_id is not None:
        mine = await drops.claims_of(
            [int(drop["id"]) for drop in snapshot.drops], principal.store_id
        )
    shown = []
    for drop in snapshot.drops:

        async def claimed(drop_id: int = int(drop["id"])) -> int:
            return int((await drops.drop_state(drop_id, None))["claimed"])

        at, value = await _figure(deps, session_id, kept, f"claimed:{drop['id']}", claimed)
        versions.append(at)
        taken = int(value)
        left = max(int(drop["quantity"]) - taken, 0)
        shown.append({**drop, "claimed": taken, "left": left, "mine": mine.get(drop["id"])})
    return shown


async def leave(deps: Any, session_id: int, sid: str, *, process: str) -> int:
    return await room.leave(deps, session_id, sid, process=process)


async def viewer_count(deps: Any, session_id: int) -> int:
    """The viewers in the session's room now, across every live realtime process."""
    return await room.viewers(deps, session_id)


async def room_state(deps: Any, principal: Principal, session_id: int) -> dict[str, Any]:
    return await _full_state(deps, principal, await _joinable(deps, principal, session_id))


async def chat(
    deps: Any, principal: Principal, session_id: int, text: Any, *, now: datetime
) -> dict[str, Any]:
    session = await _visible(principal, session_id)
    room.must_be_live(session)
    if principal.role in STORE_ROLES and principal.store_id is not None:
        brand_id: int = session.brand_id  # type: ignore[attr-defined]
        names = await org_service.names(brand_id, "store", [principal.store_id])
        # Every store in the room reads the chat: masked as draws' winners are (draws.py).
        name = draws.mask_store_name(names.get(principal.store_id))
    else:
        name = "主播"
    return await room.chat(deps, principal, session.id, text, name=name, now=now)


async def like(deps: Any, principal: Principal, session_id: int, count: Any) -> int:
    session = await _visible(principal, session_id)
    room.must_be_live(session)
    return await room.like(deps, session.id, count)


async def _hosting(principal: Principal, session_id: int) -> LiveSession:
    """The session, if the caller hosts it and it is live; NotHost for anyone else."""
    if principal.role not in (*DISTRIBUTOR_ROLES, *BRAND_ROLES):
        raise room.NotHost()
    session = await _visible(principal, session_id)
    room.must_be_live(session)
    return session


async def push_product(
    deps: Any, principal: Principal, session_id: int, product_id: Any
) -> dict[str, Any]:
    session = await _hosting(principal, session_id)
    if not is_id(product_id):
        raise room.ProductNotInSession()
    return await room.push_product(deps, session, product_id)


async def pin(
    deps: Any, principal: Principal, session_id: int, text: Any, *, now: datetime
) -> dict[str, Any]:
    session = await _hosting(principal, session_id)
    return await room.pin(deps, session.id, text, now)


async def mute(deps: Any, principal: Principal, session_id: int, user_id: Any) -> None:
    session = await _hosting(principal, session_id)
    if not is_id(user_id):
        raise InvalidInput("请指定要禁言的用户")
    await room.mute(deps, session.id, user_id)


def must_host(principal: Principal) -> None:
    """Refuse a host-only event from anyone but staff, before anything is looked up."""
    if principal.role not in (*DISTRIBUTOR_ROLES, *BRAND_ROLES):
        raise room.NotHost()


# ---- ordering in the room ---------------------------------------------------------------


async def order(
    deps: Any, principal: Principal, session_id: int, product_id: int, quantity: int
) -> dict[str, Any]:
    """A store orders a product of a live session at its live price: the order goes through
    ordering on the live channel, and the live stock is taken in the same transaction (a
    guarded update: never oversold). After commit the room's ticker moves for everyone
    (tell_room_of_order)."""
    session = await _visible(principal, session_id)
    room.must_be_live(session)
    product = await LiveProduct.get_or_none(id=product_id, session_id=session.id)
    if product is None:
        raise room.ProductNotInSession()
    now = deps.clock.now()

    async def take_live_stock(placed: dict[str, Any]) -> None:
        taken = await sql.execute(
            "UPDATE live_products SET sold = sold + $1 WHERE id = $2 AND sold + $1 <= live_stock",
            quantity,
            product.id,
        )
        if not taken:
            raise SoldOut()
        await LiveOrder.create(
            session_id=session.id,
            product_id=product.id,
            store_id=principal.store_id,
            order_id=placed["id"],
            quantity=quantity,
            amount_fen=placed["payable_fen"],
            created_at=now,
        )

    placed = await ordering_service.place_live_order(
        deps,
        principal,
        sku_id=product.sku_id,  # type: ignore[attr-defined]
        quantity=quantity,
        unit_price_fen=product.live_price_fen,
        within=take_live_stock,
    )
    return placed


async def live_totals(session_id: int) -> tuple[int, int]:
    """The orders placed in the room and not cancelled since, and their amount: what the
    ticker shows and the report counts (the cancelled apart)."""
    row = await sql.fetch_one(
        "SELECT COUNT(*) AS orders, COALESCE(SUM(l.amount_fen), 0) AS gmv_fen"  # noqa: S608
        f" FROM live_orders l WHERE l.session_id = $1 AND {_NOT_CANCELLED}",
        session_id,
    )
    assert row is not None  # an aggregate always answers one row
    return int(row["orders"]), int(row["gmv_fen"])


async def tell_ticker(
    deps: Any, session_id: int, product_id: int, *, with_card: bool = False
) -> None:
    """Tell the room its ticker (orders and GMV, not counting cancelled orders) and what is
    left of `product_id`, read after a new version is taken (room.next_version), so that
    the newest version always carries the newest figures; with `with_card`, the product's
    card too when it is the one on screen. After the change has committed."""
    version = await room.next_version(deps, session_id)
    orders, gmv = await live_totals(session_id)
    product = await room.carded_product(product_id)
    if product is None:
        raise room.ProductNotInSession()
    left = max(product.live_stock - product.sold, 0)
    figures = {"totals": f"{orders},{gmv}", f"left:{product_id}": left}
    await room.keep_figures(deps, session_id, version, figures)
    ticker = {"orders": orders, "gmv_fen": gmv, "product_id": product_id, "left": left}
    await tell_room(deps, session_id, "ticker", {**ticker, "version": version})
    if with_card and await room.card_product_id(deps, session_id) == product_id:
        session = await LiveSession.get(id=session_id)
        card = room.product_card(session.brand_id, product)  # type: ignore[attr-defined]
        await tell_room(deps, session_id, "product", {**card, "version": version})


async def give_back_live_stock(deps: Any, cancelled: OrderCancelled) -> None:
    """OrderCancelled, in the cancelling transaction: a live order's quantity goes back on
    sale in the room."""
    await sql.execute(
        "UPDATE live_products SET sold = sold - l.quantity FROM live_orders l"
        " WHERE l.order_id = $1 AND live_products.id = l.product_id",
        cancelled.order_id,
    )


async def _tell_room_of(deps: Any, order_id: int, *, with_card: bool) -> None:
    """The ticker (and card) of the room a live order was placed in, if it was."""
    placed = await sql.fetch_one(
        "SELECT session_id, product_id FROM live_orders WHERE order_id = $1", order_id
    )
    if placed is not None:
        await tell_ticker(
            deps, int(placed["session_id"]), int(placed["product_id"]), with_card=with_card
        )


async def tell_room_of_order(deps: Any, placed: OrderPlaced) -> None:
    """OrderPlaced, once committed: an order placed in a live room moves its ticker."""
    if placed.channel == ordering_service.Channel.LIVE:
        await _tell_room_of(deps, placed.order_id, with_card=False)


async def tell_room_of_cancel(deps: Any, cancelled: OrderCancelled) -> None:
    """OrderCancelled, once committed: the live order's room is told its ticker and the
    card's stock left."""
    await _tell_room_of(deps, cancelled.order_id, with_card=True)


# ---- after the session: its figures -------------------------------------------------------


async def report(principal: Principal, session_id: int) -> dict[str, Any]:
    """The session's figures for its distributor and brand: peak viewers, orders and GMV
    (placed in the room and not cancelled since; the cancelled counted apart), each
    product's sales, the coupons dropped (claimed, and used by an order now), the red
    packets (paid out, won, back) and the draws' winners."""
    if principal.role not in (*DISTRIBUTOR_ROLES, *BRAND_ROLES):
        raise SessionNotFound()
    session = await _visible(principal, session_id)
    placed = await LiveOrder.filter(session_id=session.id).values_list(
        "order_id", "product_id", "quantity", "amount_fen"
    )
    cancelled = await ordering_service.cancelled_among([int(row[0]) for row in placed])
    orders = [row[1:] for row in placed if int(row[0]) not in cancelled]
    rains = await RedPacketRain.filter(session_id=session.id).order_by("id")
    by_product: dict[int, list[int]] = {}
    for product_id, quantity, amount in orders:
        totals = by_product.setdefault(int(product_id), [0, 0, 0])
        totals[0] += 1
        totals[1] += int(quantity)
        totals[2] += int(amount)
    return {
        "session": session_view(session),
        "peak_viewers": session.peak_viewers,
        "orders": len(orders),
        "gmv_fen": sum(int(amount) for _, _, amount in orders),
        "cancelled_orders": len(cancelled),
        "products": [
            {
                "product_id": product.id,
                "name": names["title"],
                "product_name": names["name"],
                "sku_name": names["sku_name"],
                "spec": names["spec"],
                "live_price_fen": product.live_price_fen,
                "orders": by_product.get(product.id, [0, 0, 0])[0],
                "quantity": by_product.get(product.id, [0, 0, 0])[1],
                "amount_fen": by_product.get(product.id, [0, 0, 0])[2],
                "left": product.live_stock - product.sold,
            }
            for product, names in await _named_products(session)
        ],
        "coupons": await _dropped_coupons(principal, session.id),
        "red_packets": {
            "rains": len(rains),
            "paid_in_fen": sum(r.total_fen for r in rains if r.status != "planned"),
            "won_fen": sum(r.granted_fen for r in rains),
            "won_count": sum(r.granted_count for r in rains),
            "returned_fen": sum(r.returned_fen for r in rains),
        },
        "draws": [
            {
                "draw_id": record["draw_id"],
                "title": record["title"],
                "status": record["status"],
                "winners": [
                    {"store_id": w["store_id"], "name": w["name"], "prize": w["prize"]}
                    for w in record["winners"]
                ],
            }
            for record in await _winners_named(principal, await draws.session_draws(session.id))
        ],
    }


async def _dropped_coupons(principal: Principal, session_id: int) -> list[dict[str, Any]]:
    """Each coupon drop of the session: its coupon's name, how many it offered, how many
    stores took one, and how many of those an order is using now."""
    views = await _with_coupons(
        principal,
        [
            drops.drop_view(drop)
            for drop in await LiveCouponDrop.filter(session_id=session_id).order_by("id")
        ],
    )
    claimed: dict[int, list[int]] = {view["id"]: [] for view in views}
    for drop_id, coupon_id in await LiveCouponClaim.filter(drop_id__in=list(claimed)).values_list(
        "drop_id", "coupon_id"
    ):
        claimed[int(drop_id)].append(int(coupon_id))
    return [
        {
            "drop_id": view["id"],
            "name": view["coupon"]["name"] if view["coupon"] else "优惠券",
            "quantity": view["quantity"],
            "claimed": len(claimed[view["id"]]),
            "used": await coupons_service.used_among(claimed[view["id"]]),
        }
        for view in views
    ]


REPORT_HEADERS = ("项目", "数值")
# A draw's state in words, from its status alone: a draw run with nobody eligible is drawn
# all the same (its record says so), only without winners.
DRAW_STATES = {
    DrawStatus.PLANNED.value: "未公布",
    DrawStatus.ANNOUNCED.value: "已公布，待开奖",
    DrawStatus.DRAWN.value: "已开奖",
}


def draw_outcome(draw: dict[str, Any]) -> str:
    """What came of a draw of the report: its winners once drawn (or that it was drawn with
    no winner, when nobody was eligible), else its state."""
    if draw["status"] != DrawStatus.DRAWN.value:
        return DRAW_STATES.get(draw["status"], draw["status"])
    winners = "、".join(f"{w['name']}（{w['prize']}）" for w in draw["winners"])
    return winners or "已开奖，无中奖门店"


async def report_csv(principal: Principal, session_id: int) -> tuple[str, bytes]:
    """The report as a CSV file (UTF-8 with BOM, amounts in yuan): its name and content."""
    figures = await report(principal, session_id)
    packets = figures["red_packets"]
    rows: list[tuple[str, str]] = [
        ("直播", safe_text(figures["session"]["title"])),
        ("峰值在线", str(figures["peak_viewers"])),
        ("订单数", str(figures["orders"])),
        ("成交额（元）", yuan(figures["gmv_fen"])),
        ("红包雨场次", str(packets["rains"])),
        ("红包出资（元）", yuan(packets["paid_in_fen"])),
        ("门店领取（元）", yuan(packets["won_fen"])),
        ("领取个数", str(packets["won_count"])),
        ("未领取退回（元）", yuan(packets["returned_fen"])),
        ("已取消订单数", str(figures["cancelled_orders"])),
    ]
    for coupon in figures["coupons"]:
        name = safe_text(coupon["name"])
        rows.append(
            (
                f"{name} 发放/领取/已使用",
                f"{coupon['quantity']}/{coupon['claimed']}/{coupon['used']}",
            )
        )
    for draw in figures["draws"]:
        rows.append((f"抽奖 {safe_text(draw['title'])} 中奖", safe_text(draw_outcome(draw))))
    for product in figures["products"]:
        name = safe_text(product["name"])
        rows.append((f"{name} 订单数", str(product["orders"])))
        rows.append((f"{name} 件数", str(product["quantity"])))
        rows.append((f"{name} 成交额（元）", yuan(product["amount_fen"])))
    return f"live-session-{session_id}.csv", BOM + csv_lines([REPORT_HEADERS, *rows])


# ---- red-packet rains in the room -----------------------------------------------------------


async def _rain_of(session_id: int, rain_id: Any) -> int:
    if not is_id(rain_id) or not await RedPacketRain.exists(id=rain_id, session_id=session_id):
        raise rains.RainNotFound()
    return rain_id


async def start_rain(
    deps: Any, principal: Principal, session_id: int, rain_id: Any, *, now: datetime
) -> dict[str, Any]:
    """The host starts one of the session's planned rains: the distributor pays its total in,
    and the packets are ready to grab until it ends."""
    session = await _hosting(principal, session_id)
    try:
        return await rains.start_rain(deps, await _rain_of(session.id, rain_id), now=now)
    finally:  # started, or refused because something changed: read again either way
        await _changed(deps, session.id)


async def grab(
    deps: Any, principal: Principal, session_id: int, rain_id: Any, *, now: datetime
) -> dict[str, Any]:
    """An invited store grabs a packet: persisted (grant and ledger) before it is answered;
    the same answer again for a repeat."""
    if principal.role not in STORE_ROLES or principal.store_id is None:
        raise rains.NotInvited("只有受邀门店可以抢红包")
    # The hot path of a rain, so no session query: the room let this store in, the rain's
    # session is cached, and the grab script refuses a store not invited.
    if not is_id(rain_id) or (
        await rains.session_of(rain_id) != session_id
        and await rains.session_of(rain_id, fresh=True) != session_id
    ):
        raise rains.RainNotFound()
    return await rains.grab(deps, rain_id, principal.store_id, now=now)


async def finish_rain(deps: Any, rain_id: int, *, now: datetime) -> dict[str, Any]:
    """End a rain (its timer ran out): idempotent, from any process."""
    ended = await rains.end_rain(deps, rain_id, now=now)
    await _changed(deps, int(ended["session_id"]))
    return ended


async def end_due_rains_job(deps: Any) -> int:
    """The periodic job behind the realtime timers: end every rain past its end (a realtime
    process may have died with its timer) and tell its room the results."""
    now = deps.clock.now()
    due = await RedPacketRain.filter(status=RainStatus.RUNNING.value, ends_at__lte=now).values_list(
        "id", "session_id"
    )
    for rain_id, session_id in due:
        ended = await rains.end_rain(deps, int(rain_id), now=now)
        await _changed(deps, int(session_id))
        await tell_room(deps, int(session_id), "rain_result", ended)
    return len(due)


# ---- reminders before a session starts ------------------------------------------------------

REMIND_BEFORE = timedelta(minutes=15)
CHINA = ZoneInfo("Asia/Shanghai")


async def remind_upcoming(deps: Any, now: datetime) -> int:
    """Remind the owners of invited stores of sessions starting within 15 minutes: a WeChat
    subscribe message where they allowed one (a job, sent after commit), and an in-app
    notification, in one transaction per session. Each invitation is claimed by a guarded
    update first, so a second run reminds no store twice."""
    due = await LiveSession.filter(
        status=SessionStatus.SCHEDULED.value, starts_at__gt=now, starts_at__lte=now + REMIND_BEFORE
    )
    reminded = 0
    for session in due:
        # The claim, the notifications and the message jobs; the jobs start once it commits.
        async with sql.transaction():
            reminded += await _remind(session, now)
    return reminded


async def _remind(session: LiveSession, now: datetime) -> int:
    rows = await sql.fetch(
        "UPDATE live_invitations SET reminded_at = $1"
        " WHERE session_id = $2 AND reminded_at IS NULL RETURNING store_id",
        now,
        session.id,
    )
    owners = await identity_service.store_owner_user_ids([row["store_id"] for row in rows])
    users = sorted({user for ids in owners.values() for user in ids})
    starts = session.starts_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    brand_id: int = session.brand_id  # type: ignore[attr-defined]
    await notifications_service.notify(
        brand_id,
        users,
        kind="live.reminder",
        title=f"直播即将开始：{session.title}",
        body=f"{starts} 开播，记得进入直播间",
        link=f"live:{session.id}",
        now=now,
    )
    for user_id in users:
        await notifications_service.queue_subscribe(
            user_id,
            notifications_service.LIVE_REMINDER,
            {"thing1": session.title[:20], "time2": starts, "thing3": "直播订货会即将开始"},
            page=f"packageLive/pages/room/index?id={session.id}",
            brand_id=brand_id,
            now=now,
            about=f"直播 #{session.id}「{session.title}」开播提醒",
        )
    return len(rows)


async def remind_job(deps: Any) -> int:
    return await remind_upcoming(deps, deps.clock.now())


# ---- coupon drops in the room ---------------------------------------------------------------


def _drop_id(drop_id: Any) -> int:
    if not is_id(drop_id):
        raise drops.DropNotFound()
    return drop_id


async def start_drop(
    deps: Any, principal: Principal, session_id: int, drop_id: Any, *, now: datetime
) -> dict[str, Any]:
    """The host opens one of the session's coupon drops: first come first served."""
    session = await _hosting(principal, session_id)
    started = await drops.start_drop(deps, session.id, _drop_id(drop_id), now=now)
    await _changed(deps, session.id)
    return (await _with_coupons(principal, [started]))[0]


async def end_drop(
    deps: Any, principal: Principal, session_id: int, drop_id: Any, *, now: datetime
) -> dict[str, Any]:
    session = await _hosting(principal, session_id)
    ended = await drops.end_drop(deps, session.id, _drop_id(drop_id), now=now)
    await _changed(deps, session.id)
    return (await _with_coupons(principal, [ended]))[0]


async def grab_coupon(
    deps: Any, principal: Principal, session_id: int, drop_id: Any, *, now: datetime
) -> dict[str, Any]:
    """An invited store takes a coupon from a running drop: in its wallet before it is
    answered; the same coupon again for a repeat."""
    if principal.role not in STORE_ROLES or principal.store_id is None:
        raise drops.NotInvited("只有受邀门店可以领券")
    session = await _visible(principal, session_id)
    return await drops.grab(deps, session.id, _drop_id(drop_id), principal.store_id, now=now)


async def drop_left(deps: Any, session_id: int, drop_id: int) -> dict[str, Any]:
    """What is left of a drop, for the room after a grab: read after a new version is taken,
    so that the push with the newest version says the least left."""
    version = await room.next_version(deps, session_id)
    drop = await drops.drop_state(drop_id, None)
    await room.keep_figures(deps, session_id, version, {f"claimed:{drop_id}": drop["claimed"]})
    return {"id": drop_id, "left": drop["left"], "version": version}


# ---- lottery draws in the room --------------------------------------------------------------


def _draw_id(draw_id: Any) -> int:
    if not is_id(draw_id):
        raise draws.DrawNotFound()
    return draw_id


async def announce_draw(
    deps: Any, principal: Principal, session_id: int, draw_id: Any, *, now: datetime
) -> dict[str, Any]:
    """The host announces a draw: the hash of its secret seed is published now."""
    session = await _hosting(principal, session_id)
    announced = await draws.announce(deps, session.id, _draw_id(draw_id), now=now)
    await _changed(deps, session.id)
    return {**announced, "record_url": record_url(deps, session.id, announced["draw_id"])}


async def run_draw(
    deps: Any, principal: Principal, session_id: int, draw_id: Any, *, now: datetime
) -> dict[str, Any]:
    """The host runs an announced draw: the winners are written, then the record (with the
    seed) is returned for everyone to see and check, the winners named in full for the host
    (the room is told `draw_for_room` of it)."""
    if principal.role not in (*DISTRIBUTOR_ROLES, *BRAND_ROLES):
        raise room.NotHost()
    session = await _visible(principal, session_id)
    drawn = await draws.run(deps, session.id, _draw_id(draw_id), now=now)
    await _changed(deps, session.id)
    return (await _named_draws(deps, principal, [drawn]))[0]


def draw_for_room(record: dict[str, Any]) -> dict[str, Any]:
    """A draw as everyone in the room is told it: every winner's name masked, since one
    push goes to every store (draws.py says why). Each store knows its own id."""
    return {
        **record,
        "winners": [
            {**winner, "name": draws.mask_store_name(winner.get("name"))}
            for winner in record["winners"]
        ],
    }


RECORD_PATH = "/api/v1/live/sessions/{session_id}/draws/{draw_id}"


def record_url(deps: Any, session_id: int, draw_id: int) -> str:
    """Where anyone who can see the session reads a draw's record (GET, signed in)."""
    path = RECORD_PATH.format(session_id=session_id, draw_id=draw_id)
    return f"{deps.settings.public_base_url.rstrip('/')}{path}"


async def _named_draws(
    deps: Any, principal: Principal, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Draw records with their URL and each winner's display name for this caller."""
    return [
        {**record, "record_url": record_url(deps, record["session_id"], record["draw_id"])}
        for record in await _winners_named(principal, records)
    ]


async def _winners_named(
    principal: Principal, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Draw records with each winner's display name for this caller: in full for staff and
    for the winning store itself, masked for every other store (draws.py)."""
    store_ids = {winner["store_id"] for record in records for winner in record["winners"]}
    names: dict[int, str] = {}
    if store_ids and principal.brand_id is not None:
        names = await org_service.names(principal.brand_id, "store", store_ids)
    return _name_winners(principal, records, names)


def _name_winners(
    principal: Principal, records: list[dict[str, Any]], names: dict[int, str]
) -> list[dict[str, Any]]:
    """_winners_named with the winners' store names given."""
    staff = principal.role in (*DISTRIBUTOR_ROLES, *BRAND_ROLES)

    def shown(store_id: int) -> str:
        name = names.get(store_id)
        if staff or store_id == principal.store_id:
            return name or draws.ANONYMOUS_STORE
        return draws.mask_store_name(name)

    return [
        {
            **record,
            "winners": [
                {**winner, "name": shown(winner["store_id"])} for winner in record["winners"]
            ],
        }
        for record in records
    ]


async def draw_record(
    deps: Any, principal: Principal, session_id: int, draw_id: int
) -> dict[str, Any]:
    """A draw's published record, for anyone who can see the session to recompute, the
    winners named for the caller."""
    session = await _visible(principal, session_id)
    if not await LiveDraw.exists(id=draw_id, session_id=session.id):
        raise draws.DrawNotFound()
    return (await _named_draws(deps, principal, [await draws.record(draw_id)]))[0]


# ---- analytics: what live sessions earned (issue 21) ------------------------------------------


@dataclass
class EffectSession:
    """A session as its effect is read. `joined`: the invited stores that entered the room
    (`joined_at`), or left a trace in it (an order, a red packet, a coupon from a drop,
    present at a draw, a prize: sessions held before joins were recorded). `orders`: (order
    id, store id) of what was ordered in the room, cancelled or not (ordering says which
    count)."""

    id: int
    title: str
    distributor_id: int
    status: str
    starts_at: datetime
    invited: int
    peak_viewers: int
    joined: set[int]
    orders: list[tuple[int, int]]
    rains: int = 0
    rain_fen: int = 0
    rain_packets: int = 0
    drops: int = 0
    drop_claims: int = 0


async def analytics_effect_sessions(
    brand_id: int, distributor_id: int | None, start_at: datetime, end_at: datetime
) -> list[EffectSession]:
    """The brand's sessions (of one distributor when given) starting in [start_at, end_at),
    earliest first, with their invitations, traces, orders, rains and drops."""
    query = LiveSession.filter(brand_id=brand_id, starts_at__gte=start_at, starts_at__lt=end_at)
    if distributor_id is not None:
        query = query.filter(distributor_id=distributor_id)
    found = {
        session.id: EffectSession(
            id=session.id,
            title=session.title,
            distributor_id=session.distributor_id,  # type: ignore[attr-defined]
            status=session.status,
            starts_at=session.starts_at,
            invited=0,
            peak_viewers=session.peak_viewers,
            joined=set(),
            orders=[],
        )
        for session in await query.order_by("starts_at", "id")
    }
    ids = list(found)
    if not ids:
        return []
    for session_id, invited in (
        await LiveInvitation.filter(session_id__in=ids)
        .annotate(n=Count("id"))
        .group_by("session_id")
        .values_list("session_id", "n")
    ):
        found[int(session_id)].invited = int(invited)
    for session_id, store_id in await LiveInvitation.filter(
        session_id__in=ids, joined_at__isnull=False
    ).values_list("session_id", "store_id"):
        found[int(session_id)].joined.add(int(store_id))
    for session_id, order_id, store_id in await LiveOrder.filter(session_id__in=ids).values_list(
        "session_id", "order_id", "store_id"
    ):
        found[int(session_id)].orders.append((int(order_id), int(store_id)))
        found[int(session_id)].joined.add(int(store_id))
    await _rain_traces(found)
    await _drop_traces(found)
    for session_id, eligibility, eligible in await LiveDraw.filter(
        session_id__in=ids, status=DrawStatus.DRAWN.value
    ).values_list("session_id", "eligibility", "eligible"):
        if eligibility == Eligibility.PRESENT:
            found[int(session_id)].joined.update(int(store) for store in eligible or [])
    for session_id, store_id in await LiveDrawWinner.filter(draw__session_id__in=ids).values_list(
        "draw__session_id", "store_id"
    ):
        found[int(session_id)].joined.add(int(store_id))
    return list(found.values())


async def _rain_traces(found: dict[int, EffectSession]) -> None:
    for session_id, granted_fen, granted in (
        await RedPacketRain.filter(session_id__in=list(found))
        .exclude(status=RainStatus.PLANNED.value)
        .values_list("session_id", "granted_fen", "granted_count")
    ):
        session = found[int(session_id)]
        session.rains += 1
        session.rain_fen += int(granted_fen)
        session.rain_packets += int(granted)
    for session_id, store_id in await RedPacketGrant.filter(
        rain__session_id__in=list(found)
    ).values_list("rain__session_id", "store_id"):
        found[int(session_id)].joined.add(int(store_id))


async def _drop_traces(found: dict[int, EffectSession]) -> None:
    found_drops = (
        await LiveCouponDrop.filter(session_id__in=list(found))
        .exclude(status=DropStatus.PLANNED.value)
        .values_list("session_id", "claimed")
    )
    for session_id, claimed in found_drops:
        found[int(session_id)].drops += 1
        found[int(session_id)].drop_claims += int(claimed)
    for session_id, store_id in await LiveCouponClaim.filter(
        drop__session_id__in=list(found)
    ).values_list("drop__session_id", "store_id"):
        found[int(session_id)].joined.add(int(store_id))


# ---- for analytics (store profile) ----------------------------------------------------------


async def analytics_store_live(store_id: int) -> dict[str, int]:
    """A store's live sessions: invited to, joined (it entered the room, or left a trace
    there before joins were recorded: an order, a red packet or a coupon grabbed), ordered
    in, and the GMV it ordered there."""
    invited = await LiveInvitation.filter(store_id=store_id).count()
    entered = await LiveInvitation.filter(store_id=store_id, joined_at__isnull=False).values_list(
        "session_id", flat=True
    )
    ordered = set(await LiveOrder.filter(store_id=store_id).values_list("session_id", flat=True))
    rained = await RedPacketRain.filter(grants__store_id=store_id).values_list(
        "session_id", flat=True
    )
    grabbed = await LiveCouponDrop.filter(claims__store_id=store_id).values_list(
        "session_id", flat=True
    )
    amounts = await LiveOrder.filter(store_id=store_id).values_list("amount_fen", flat=True)
    return {
        "invited": invited,
        "joined": len(ordered | set(rained) | set(grabbed) | set(entered)),
        "ordered": len(ordered),
        "gmv_fen": sum(int(amount) for amount in amounts),  # type: ignore[call-overload]
    }
