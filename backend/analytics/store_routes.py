"""Analytics routes: the store list, the store profile (360°), the brand's analytics settings
and RFM tiers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.analytics import rfm, stores
from backend.analytics.scope import china_day, scope_for
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, Role, authenticated
from backend.infra.exports import MEDIA_TYPES, Column, Kind, Table, xlsx_file
from backend.infra.http import (
    BODY,
    MAX_PAGE_SIZE,
    Id,
    RequestModel,
    attachment,
    documented_query,
    ok,
    parse_body,
    parse_query,
    responds,
    responds_file,
)
from backend.kernel.errors import InvalidInput

bp = Blueprint("analytics_store_routes", url_prefix="/api/v1/analytics/stores")

STAFF = (*BRAND_ROLES, *DISTRIBUTOR_ROLES)
Segment = Literal[rfm.SEGMENT_ORDER]  # type: ignore[valid-type]
Handler = Callable[..., Awaitable[HTTPResponse]]

ACTIVITY_NAMES = {"active": "活跃", "dormant": "沉睡", "never": "未下单"}


class StoreListQuery(RequestModel):
    distributor_id: Id | None = Field(default=None, description="品牌员工可只看某经销商的门店")
    q: str | None = Field(default=None, max_length=64, description="门店名称或电话包含该文字")
    tier: Literal["A", "B", "C", "D"] | None = None
    rfm: Segment | None = Field(default=None, description="RFM 分层（如 重要价值客户）")
    status: Literal["active", "dormant", "never"] | None = Field(
        default=None, description="active 活跃，dormant 沉睡（超过沉睡天数未下单），never 从未下单"
    )
    after: Id | None = Field(default=None, description="翻页：上一页的 next_after")
    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)


class ScopeQuery(RequestModel):
    distributor_id: Id | None = None


class StoreRow(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    name: str
    distributor_name: str
    region_name: str
    tier: str
    last_day: str | None = Field(description="最近下单日（中国时间）")
    orders: int
    gmv_fen: int
    rfm: str | None = Field(description="RFM 分层（最近一次计算写入的标签）")
    activity: str = Field(description="active / dormant / never")


class StoreList(BaseModel):
    items: list[StoreRow]
    next_after: int | None


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recency_days: int = Field(ge=1, le=365, description="距最近下单不超过该天数为「近」")
    frequency_orders: int = Field(ge=1, le=10_000, description="近 365 天订单数达到该值为「频」")
    monetary_fen: int = Field(
        ge=1, le=100_000_000_00, description="近 365 天金额（分）达到该值为「额」"
    )


class SettingsBody(RequestModel):
    dormant_days: int = Field(ge=1, le=3650, description="超过该天数未下单算沉睡门店")
    reminders_enabled: bool = Field(description="是否发送复购提醒")
    rfm: Thresholds


class SettingsView(BaseModel):
    dormant_days: int
    reminders_enabled: bool
    rfm: Thresholds


class SegmentCount(BaseModel):
    segment: str
    stores: int


class RfmApplied(BaseModel):
    scored: int = Field(description="参与计算的门店数")
    changed: int = Field(description="RFM 标签有变化的门店数")
    unscored: int = Field(description="从未下单、不分层的门店数")
    segments: list[SegmentCount]


class Profile(BaseModel):
    model_config = ConfigDict(extra="allow")

    store: dict[str, Any]
    activity: str
    orders: dict[str, Any]
    categories: list[dict[str, Any]]
    coupons: dict[str, int]
    complaints: dict[str, Any]
    live: dict[str, int]
    display: dict[str, int]
    events: list[dict[str, Any]]
    rfm: dict[str, Any]
    reorders: list[dict[str, Any]]


def _invalid(exc: InvalidInput, error: type[InvalidInput]) -> InvalidInput:
    details = exc.details or [{"field": "body", "message": exc.text}]
    return error(f"{details[0]['field']}：{details[0]['message']}", details=details)


def _query(request: Request) -> StoreListQuery:
    try:
        return parse_query(request, StoreListQuery)
    except InvalidInput as exc:
        raise _invalid(exc, stores.InvalidQuery) from exc


def settings_body(handler: Handler) -> Handler:
    """The settings payload as `body`; any problem is 400 analytics.invalid_settings."""

    @wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        try:
            kwargs["body"] = parse_body(request, SettingsBody)
        except InvalidInput as exc:
            raise _invalid(exc, stores.InvalidSettings) from exc
        return await handler(request, *args, **kwargs)

    setattr(wrapper, BODY, (SettingsBody, True))
    return wrapper


async def _listed(request: Request, principal: Principal, limit: int | None) -> Any:
    query = _query(request)
    scope = await scope_for(principal, query.distributor_id)
    today = china_day(request_deps(request).clock.now())
    filters = {"q": query.q, "tier": query.tier, "segment": query.rfm, "activity": query.status}
    if limit is None:
        return await stores.all_stores(principal, scope, today, **filters)
    return await stores.list_stores(
        principal, scope, today, after=query.after, limit=limit, **filters
    )


@bp.get("")
@openapi.summary("门店分析列表：最近下单、订单数、金额、RFM 分层（经销商员工只看自己的门店）")
@documented_query(StoreListQuery)
@responds(StoreList)
@authenticated(*STAFF)
async def list_stores(request: Request, principal: Principal) -> HTTPResponse:
    limit = _query(request).limit
    rows, more = await _listed(request, principal, limit)
    return ok({"items": rows, "next_after": rows[-1]["id"] if more and rows else None})


STORE_TABLE = Table(
    sheet="门店分析",
    columns=(
        Column("门店", 24),
        Column("经销商", 20),
        Column("区域", 12),
        Column("等级", 6),
        Column("最近下单日", 12),
        Column("订单数", 8, Kind.NUMBER),
        Column("金额（元）", 14, Kind.MONEY),
        Column("RFM 分层", 14),
        Column("状态", 8),
    ),
)


@bp.get("/export.xlsx")
@openapi.summary("导出门店分析列表（XLSX；筛选条件与列表相同，不分页）")
@documented_query(StoreListQuery)
@responds_file(MEDIA_TYPES["xlsx"], description="门店分析表格")
@authenticated(*STAFF)
async def export_stores(request: Request, principal: Principal) -> HTTPResponse:
    rows = await _listed(request, principal, None)
    body = xlsx_file(
        STORE_TABLE,
        [
            (
                r["name"],
                r["distributor_name"],
                r["region_name"],
                r["tier"],
                r["last_day"],
                r["orders"],
                r["gmv_fen"],
                r["rfm"],
                ACTIVITY_NAMES[r["activity"]],
            )
            for r in rows
        ],
    )
    today = china_day(request_deps(request).clock.now())
    return attachment(body, f"store-analytics-{today}.xlsx", MEDIA_TYPES["xlsx"])


@bp.get("/settings")
@openapi.summary("数据分析设置：沉睡天数、复购提醒开关、RFM 阈值")
@responds(SettingsView)
@authenticated(*STAFF)
async def get_settings(request: Request, principal: Principal) -> HTTPResponse:
    scope = await scope_for(principal)
    return ok((await stores.settings_of(scope.brand_id)).as_json())


@bp.put("/settings")
@openapi.summary("保存数据分析设置（品牌管理员）；不合法时 400 且不做任何修改")
@responds(SettingsView)
@authenticated(Role.BRAND_ADMIN)
@settings_body
async def put_settings(request: Request, principal: Principal, body: SettingsBody) -> HTTPResponse:
    scope = await scope_for(principal)
    wanted = stores.Settings(
        dormant_days=body.dormant_days,
        reminders_enabled=body.reminders_enabled,
        thresholds=rfm.Thresholds(**body.rfm.model_dump()),
    )
    now = request_deps(request).clock.now()
    return ok((await stores.save_settings(scope.brand_id, wanted, now)).as_json())


@bp.post("/rfm/apply")
@openapi.summary("立即按当前阈值重新计算 RFM 分层，并写为门店标签「RFM·分层」（品牌管理员）")
@responds(RfmApplied)
@authenticated(Role.BRAND_ADMIN)
async def apply_rfm(request: Request, principal: Principal) -> HTTPResponse:
    scope = await scope_for(principal)
    deps = request_deps(request)
    return ok(await stores.apply_rfm(deps, scope.brand_id, china_day(deps.clock.now())))


@bp.get("/<store_id:int>")
@openapi.summary("门店 360° 画像：订单、品类、优惠券、投诉、直播、陈列、行为、RFM、复购周期")
@documented_query(ScopeQuery)
@responds(Profile)
@authenticated(*STAFF)
async def store_profile(request: Request, principal: Principal, store_id: int) -> HTTPResponse:
    try:
        query = parse_query(request, ScopeQuery)
    except InvalidInput as exc:
        raise _invalid(exc, stores.InvalidQuery) from exc
    scope = await scope_for(principal, query.distributor_id)
    now = request_deps(request).clock.now()
    return ok(await stores.profile(principal, scope, store_id, now))
