"""Livestream sessions over HTTP: scheduling (distributor or brand staff), the lists and the
session itself (staff, and the stores invited), and the host starting and ending it. What
happens during a session (viewers, chat, rains) goes over the realtime server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    authenticated,
)
from backend.infra.http import (
    Day,
    Id,
    Instant,
    PageQuery,
    RequestModel,
    attachment,
    documented_query,
    json_body,
    newest_first,
    ok,
    page,
    parse_query,
    responds_file,
)
from backend.infra.idempotency import create_once
from backend.livestream import service

bp = Blueprint("livestream", url_prefix="/api/v1/live")
HOSTS = (*BRAND_ROLES, *DISTRIBUTOR_ROLES)
CHINA = ZoneInfo("Asia/Shanghai")
MAX_FEN = 100_000_000  # ¥1,000,000: far above any live price or rain, far below overflow


class AudienceBody(RequestModel):
    mode: Literal["all", "tags", "stores"] = Field(
        description="all 该经销商全部门店；tags 带任一标签的门店；stores 指定门店"
    )
    tags: list[str] = Field(default_factory=list, max_length=10)
    store_ids: list[Id] = Field(default_factory=list, max_length=5000)


class LiveProductBody(RequestModel):
    sku_id: Id
    live_price_fen: int = Field(ge=1, le=MAX_FEN, description="直播价（分）")
    live_stock: int = Field(ge=1, le=1_000_000, description="直播专享库存")


class RainBody(RequestModel):
    total_fen: int = Field(ge=1, le=MAX_FEN, description="红包总额（分）")
    count: int = Field(ge=1, le=10_000, description="红包个数")
    duration_seconds: int = Field(default=30, ge=5, le=600)


class CouponDropBody(RequestModel):
    template_id: Id = Field(description="优惠券模板")
    quantity: int = Field(ge=1, le=100_000, description="本次发放张数，先到先得，每店一张")


class PrizeBody(RequestModel):
    name: str = Field(min_length=1, max_length=32)
    count: int = Field(ge=1, le=100)


class DrawBody(RequestModel):
    title: str = Field(min_length=1, max_length=32)
    prizes: list[PrizeBody] = Field(min_length=1, max_length=10)
    eligibility: Literal["present", "ordered", "invited"] = Field(
        description="present 开奖时在直播间；ordered 本场下过单；invited 全部受邀门店"
    )


class PlanBody(RequestModel):
    """What a session's host plans, and may change until it starts (PUT)."""

    title: str = Field(min_length=1, max_length=64)
    cover_url: str = Field(default="", max_length=512)
    stream_url: str | None = Field(
        default=None,
        max_length=500,
        description="直播流拉流地址（https 或 rtmp），小程序用 live-player 播放；不填则无视频",
    )
    starts_at: Instant
    ends_at: Instant
    audience: AudienceBody
    products: list[LiveProductBody] = Field(min_length=1, max_length=50)
    rains: list[RainBody] = Field(default_factory=list, max_length=20)
    coupon_drops: list[CouponDropBody] = Field(default_factory=list, max_length=20)
    draws: list[DrawBody] = Field(default_factory=list, max_length=20)


class SessionBody(PlanBody):
    distributor_id: Id | None = Field(default=None, description="品牌创建时指定经销商")


class StreamBody(RequestModel):
    stream_url: str | None = Field(
        max_length=500, description="直播流拉流地址（https 或 rtmp）；null 或空字符串为取消"
    )


class LiveOrderBody(RequestModel):
    product_id: Id
    quantity: int = Field(ge=1, le=10_000)


class SessionQuery(PageQuery):
    before: Id | None = None
    include_ended: bool = Field(default=False, description="包含已结束的直播")
    status: Literal["scheduled", "live", "ended"] | None = Field(
        default=None, description="scheduled 未开始；live 直播中；ended 已结束"
    )
    starts_from: Day | None = Field(default=None, description="开播日期起（含，北京时间）")
    starts_to: Day | None = Field(default=None, description="开播日期止（含，北京时间）")


class SkuChoiceQuery(PageQuery):
    q: str | None = Field(default=None, max_length=64, description="按商品名或规格名搜索")
    distributor_id: Id | None = Field(default=None, description="品牌员工须指定经销商")


class CouponChoiceQuery(PageQuery):
    before: Id | None = None
    q: str | None = Field(default=None, max_length=64, description="按优惠券名称搜索")


class TagChoiceQuery(RequestModel):
    distributor_id: Id | None = Field(default=None, description="品牌员工须指定经销商")


def china_day_start(day: date | None) -> datetime | None:
    """The first instant of a China day, in UTC like the stored values."""
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=CHINA).astimezone(UTC)


@bp.post("/sessions")
@openapi.summary("创建直播订货会（受邀门店、直播商品与价格库存、计划的红包雨）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*HOSTS)
@json_body(SessionBody)
async def schedule(request: Request, principal: Principal, body: SessionBody) -> HTTPResponse:
    fields = body.model_dump()
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="live.schedule",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.schedule(principal, fields, now=now),
    )


@bp.get("/sessions")
@openapi.summary(
    "直播列表（员工看自己的，含商品数、订单数、成交额与各状态数量；门店看受邀的，默认不含已结束）"
)
@documented_query(SessionQuery)
@authenticated(*HOSTS, *STORE_ROLES)
async def list_sessions(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, SessionQuery)
    limit = query.bounded_limit()
    starts_from = china_day_start(query.starts_from)
    last_day = query.starts_to
    starts_before = china_day_start(last_day + timedelta(days=1) if last_day else None)
    items = await service.list_sessions(
        principal,
        include_ended=query.include_ended,
        before=query.before,
        limit=limit + 1,
        status=query.status,
        starts_from=starts_from,
        starts_before=starts_before,
    )
    listed = newest_first(items, limit)
    if principal.role in HOSTS:
        listed["counts"] = await service.session_counts(
            principal, starts_from=starts_from, starts_before=starts_before
        )
    return ok(listed)


@bp.get("/sessions/<session_id:int>")
@openapi.summary("直播详情：商品、直播价、库存与红包雨")
@authenticated(*HOSTS, *STORE_ROLES)
async def get_session(request: Request, principal: Principal, session_id: int) -> HTTPResponse:
    return ok(await service.detail(principal, session_id))


@bp.patch("/sessions/<session_id:int>")
@openapi.summary("设置直播流地址（主播；开播前或直播中），并通知直播间")
@authenticated(*HOSTS)
@json_body(StreamBody)
async def set_stream(
    request: Request, principal: Principal, session_id: int, body: StreamBody
) -> HTTPResponse:
    deps = request_deps(request)
    return ok(await service.set_stream(deps, principal, session_id, body.stream_url))


@bp.put("/sessions/<session_id:int>")
@openapi.summary(
    "修改直播计划（开播前）：标题、封面、时间、直播流、受邀门店、商品与直播价库存、红包雨、发券与抽奖"
)
@authenticated(*HOSTS)
@json_body(PlanBody)
async def replan(
    request: Request, principal: Principal, session_id: int, body: PlanBody
) -> HTTPResponse:
    deps = request_deps(request)
    fields = body.model_dump()
    return ok(await service.replan(deps, principal, session_id, fields, now=deps.clock.now()))


@bp.get("/skus")
@openapi.summary("可上架直播的商品：经销商经营的规格，含商品名、标价与库存（按规格 id 翻页）")
@documented_query(SkuChoiceQuery)
@authenticated(*HOSTS)
async def sku_choices(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, SkuChoiceQuery)
    limit = query.bounded_limit()
    items = await service.sku_choices(
        principal, query.distributor_id, text=query.q, after=query.after, limit=limit + 1
    )
    return ok(page(items, limit))


@bp.get("/coupon-templates")
@openapi.summary("可在直播中发放的优惠券：品牌进行中的优惠券（按 id 倒序翻页）")
@documented_query(CouponChoiceQuery)
@authenticated(*HOSTS)
async def coupon_choices(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, CouponChoiceQuery)
    limit = query.bounded_limit()
    items = await service.coupon_choices(
        principal, text=query.q, before=query.before, limit=limit + 1
    )
    return ok(newest_first(items, limit))


@bp.get("/store-tags")
@openapi.summary("按标签邀请可选的标签：经销商正常营业门店的标签及门店数")
@documented_query(TagChoiceQuery)
@authenticated(*HOSTS)
async def tag_choices(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, TagChoiceQuery)
    return ok({"items": await service.tag_choices(principal, query.distributor_id)})


@bp.post("/sessions/<session_id:int>/start")
@openapi.summary("开始直播（主播）")
@authenticated(*HOSTS)
async def start(request: Request, principal: Principal, session_id: int) -> HTTPResponse:
    deps = request_deps(request)
    return ok(await service.start(deps, principal, session_id, now=deps.clock.now()))


@bp.post("/sessions/<session_id:int>/end")
@openapi.summary("结束直播（主播）：进行中的红包雨与发券一并结束，直播间清空在线与讲解")
@authenticated(*HOSTS)
async def end(request: Request, principal: Principal, session_id: int) -> HTTPResponse:
    deps = request_deps(request)
    return ok(await service.end_with_rains(deps, principal, session_id, now=deps.clock.now()))


@bp.post("/sessions/<session_id:int>/orders")
@openapi.summary("直播间下单：按直播价购买本场商品（占用直播库存，不叠加促销与优惠券）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*STORE_ROLES)
@json_body(LiveOrderBody)
async def order(
    request: Request, principal: Principal, session_id: int, body: LiveOrderBody
) -> HTTPResponse:
    deps = request_deps(request)
    return await create_once(
        request,
        scope=f"live.order.{session_id}",
        user_id=principal.user_id,
        now=deps.clock.now(),
        create=lambda: service.order(deps, principal, session_id, body.product_id, body.quantity),
    )


@bp.get("/sessions/<session_id:int>/report")
@openapi.summary("直播数据：峰值在线、订单与成交额、各商品销量、红包")
@authenticated(*HOSTS)
async def report(request: Request, principal: Principal, session_id: int) -> HTTPResponse:
    return ok(await service.report(principal, session_id))


@bp.get("/sessions/<session_id:int>/report.csv")
@openapi.summary("导出直播数据（CSV）")
@responds_file("text/csv", description="直播数据 CSV")
@authenticated(*HOSTS)
async def report_csv(request: Request, principal: Principal, session_id: int) -> HTTPResponse:
    name, content = await service.report_csv(principal, session_id)
    return attachment(content, name, "text/csv; charset=utf-8")


@bp.get("/sessions/<session_id:int>/draws/<draw_id:int>")
@openapi.summary("抽奖公示记录：种子哈希、开奖后公开的种子、参与门店与中奖名单，可自行验算")
@authenticated(*HOSTS, *STORE_ROLES)
async def draw_record(
    request: Request, principal: Principal, session_id: int, draw_id: int
) -> HTTPResponse:
    deps = request_deps(request)
    return ok(await service.draw_record(deps, principal, session_id, draw_id))
