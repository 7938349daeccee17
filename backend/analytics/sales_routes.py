"""Analytics routes: the sales dashboards (sell-in by period and dimension, stores, SKUs).

Each figure answers as JSON and, at the same path with `.xlsx`, as a workbook of the same
query. Brand staff read their brand or one distributor of it; distributor staff their own.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.analytics import sales
from backend.analytics.periods import Grain, InvalidPeriod, period_of
from backend.analytics.scope import china_day, scope_for
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, authenticated
from backend.infra import exports
from backend.infra.http import (
    Day,
    Id,
    RequestModel,
    attachment,
    documented_query,
    ok,
    parse_query,
    responds,
    responds_file,
)
from backend.kernel.errors import InvalidInput

bp = Blueprint("analytics_sales_routes", url_prefix="/api/v1/analytics/sales")
STAFF = (*BRAND_ROLES, *DISTRIBUTOR_ROLES)
XLSX = exports.MEDIA_TYPES["xlsx"]
Channel = Literal["self", "proxy", "live"]


class InvalidQuery(InvalidInput):
    status = 400
    code = "analytics.invalid_query"
    message = "查询参数不正确"


# ---- queries -------------------------------------------------------------------------------


class PeriodQuery(RequestModel):
    start: Day | None = Field(
        default=None, description="开始日期（北京时间，含当天）；默认为结束日期前第 29 天"
    )
    end: Day | None = Field(default=None, description="结束日期（含当天）；默认今天")
    distributor_id: Id | None = Field(
        default=None, description="只看本品牌的一个经销商（经销商员工总是只看自己的）"
    )


class SalesQuery(PeriodQuery):
    channel: Channel | None = Field(
        default=None, description="只看一个渠道：self 自主下单、proxy 代下单、live 直播"
    )


class TrendQuery(SalesQuery):
    grain: Literal["day", "week", "month"] = Field(
        default="day", description="按日（最多 92 天）、ISO 周（最多 106 周）或月（最多 36 个月）"
    )


class BreakdownQuery(SalesQuery):
    dim: Literal["region", "distributor", "tier", "tag", "category", "sku"] = Field(
        default="region", description="区域、经销商、门店等级、门店标签、品类或商品"
    )


class SkuQuery(SalesQuery):
    order: Literal["top", "bottom"] = Field(
        default="top", description="top 销售额最高；bottom 最低（含在售而无人下单的商品）"
    )
    limit: int = Field(default=10, ge=1, le=50)


# ---- answers (the OpenAPI document's shapes) -----------------------------------------------


class Totals(BaseModel):
    orders: int
    units: int
    gmv_fen: int = Field(description="实付金额（分），已付款且未取消的订单")
    discount_fen: int


class Point(BaseModel):
    period: str = Field(description="日、周（周一）或月（1 日）的第一天")
    orders: int
    units: int
    gmv_fen: int


class PreviousPoints(BaseModel):
    start: str
    end: str
    points: list[Point]


class TrendChange(BaseModel):
    gmv_pct: float | None = Field(description="较上期变化（%，一位小数）；上期为 0 时为 null")
    orders_pct: float | None
    units_pct: float | None


class Trend(BaseModel):
    grain: str
    start: str
    end: str
    points: list[Point]
    previous: PreviousPoints
    total: Totals
    previous_total: Totals
    change: TrendChange


class FigureRow(BaseModel):
    key: str = Field(description="区域、经销商、品类、商品的 id（0：无），等级字母，标签，或渠道")
    name: str
    orders: int
    units: int
    gmv_fen: int
    share_pct: float | None = Field(description="占本期总销售额的百分比")
    previous_gmv_fen: int
    change_pct: float | None
    stores: int | None = Field(default=None, description="下单门店数（仅按标签）")


class Breakdown(BaseModel):
    dim: str
    start: str
    end: str
    rows: list[FigureRow]
    total: Totals


class SkuRanking(BaseModel):
    order: str
    start: str
    end: str
    rows: list[FigureRow]
    total: Totals


class ChannelMix(BaseModel):
    start: str
    end: str
    rows: list[FigureRow]
    total: Totals


class StoreCounts(BaseModel):
    start: str
    end: str
    active: int
    new: int
    dormant: int


class StoreChange(BaseModel):
    active_pct: float | None
    new_pct: float | None
    dormant_pct: float | None


class StoreMonth(BaseModel):
    month: str
    active: int
    new: int


class Stores(StoreCounts):
    total: int = Field(description="门店总数（含未下单的）")
    active_pct: float | None
    dormant_days: int = Field(description="超过多少天未下单算沉睡（品牌设置，默认 60）")
    previous: StoreCounts
    change: StoreChange
    trend: list[StoreMonth]


# ---- the shared steps ----------------------------------------------------------------------

Q = TypeVar("Q", bound=PeriodQuery)


def _query(request: Request, model: type[Q]) -> Q:
    """The query; a bad date is analytics.invalid_period, anything else invalid_query (400)."""
    try:
        return parse_query(request, model)
    except InvalidInput as exc:
        fields = {error.get("field") for error in exc.details or []}
        if fields & {"start", "end"}:
            raise InvalidPeriod("日期格式应为 YYYY-MM-DD", details=exc.details) from exc
        raise InvalidQuery(details=exc.details) from exc


async def _ask(
    request: Request, principal: Principal, model: type[Q], grain: Grain = Grain.MONTH
) -> tuple[Q, sales.Ask]:
    query = _query(request, model)
    today = china_day(request_deps(request).clock.now())
    period = period_of(query.start, query.end, today, grain)
    scope = await scope_for(principal, query.distributor_id)
    return query, sales.Ask(scope, period, getattr(query, "channel", None))


async def _workbook(
    name: str, ask: sales.Ask, table: exports.Table, rows: list[exports.Row]
) -> HTTPResponse:
    body = await asyncio.to_thread(exports.xlsx_file, table, rows)
    period = ask.period
    return attachment(body, f"sales-{name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx", XLSX)


# ---- trend ---------------------------------------------------------------------------------

TREND = "销售趋势：按日、周或月的订单数、件数与销售额，对比上一等长区间"


async def _trend(request: Request, principal: Principal) -> tuple[sales.Ask, dict[str, Any]]:
    # The grain bounds the period, so it is read before the period is judged.
    grain = Grain(_query(request, TrendQuery).grain)
    _, ask = await _ask(request, principal, TrendQuery, grain)
    return ask, await sales.trend(ask, grain)


@bp.get("/trend")
@openapi.summary(TREND)
@responds(Trend)
@documented_query(TrendQuery)
@authenticated(*STAFF)
async def trend(request: Request, principal: Principal) -> HTTPResponse:
    _, answer = await _trend(request, principal)
    return ok(answer)


@bp.get("/trend.xlsx")
@openapi.summary(f"{TREND}（Excel）")
@responds_file(XLSX, description="销售趋势表")
@documented_query(TrendQuery)
@authenticated(*STAFF)
async def trend_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    ask, answer = await _trend(request, principal)
    return await _workbook("trend", ask, sales.TREND_TABLE, sales.trend_rows(answer))


# ---- breakdown -----------------------------------------------------------------------------

BREAKDOWN = "销售构成：按区域、经销商、门店等级、门店标签、品类或商品，含占比与环比"


@bp.get("/breakdown")
@openapi.summary(BREAKDOWN)
@responds(Breakdown)
@documented_query(BreakdownQuery)
@authenticated(*STAFF)
async def breakdown(request: Request, principal: Principal) -> HTTPResponse:
    query, ask = await _ask(request, principal, BreakdownQuery)
    return ok(await sales.breakdown(ask, query.dim))


@bp.get("/breakdown.xlsx")
@openapi.summary(f"{BREAKDOWN}（Excel）")
@responds_file(XLSX, description="销售构成表")
@documented_query(BreakdownQuery)
@authenticated(*STAFF)
async def breakdown_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    query, ask = await _ask(request, principal, BreakdownQuery)
    answer = await sales.breakdown(ask, query.dim)
    tag = query.dim == "tag"
    title = sales.DIM_NAMES[query.dim]
    table = sales.figures_table(f"按{title}", title, stores=tag)
    return await _workbook(query.dim, ask, table, sales.figures_rows(answer, stores=tag))


# ---- SKUs ----------------------------------------------------------------------------------

SKUS = "畅销与滞销商品：按销售额排名的前 N 个（或后 N 个）商品"


@bp.get("/skus")
@openapi.summary(SKUS)
@responds(SkuRanking)
@documented_query(SkuQuery)
@authenticated(*STAFF)
async def skus(request: Request, principal: Principal) -> HTTPResponse:
    query, ask = await _ask(request, principal, SkuQuery)
    return ok(await sales.skus(ask, query.order, query.limit))


@bp.get("/skus.xlsx")
@openapi.summary(f"{SKUS}（Excel）")
@responds_file(XLSX, description="商品排名表")
@documented_query(SkuQuery)
@authenticated(*STAFF)
async def skus_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    query, ask = await _ask(request, principal, SkuQuery)
    answer = await sales.skus(ask, query.order, query.limit)
    sheet = "畅销商品" if query.order == "top" else "滞销商品"
    table = sales.figures_table(sheet, "商品", ranked=True)
    rows = sales.figures_rows(answer, ranked=True)
    return await _workbook(f"skus-{query.order}", ask, table, rows)


# ---- channels ------------------------------------------------------------------------------

CHANNELS = "渠道构成：自主下单、代下单、直播的订单数与销售额，含占比与环比"
CHANNEL_TABLE = sales.figures_table("渠道构成", "渠道")


@bp.get("/channels")
@openapi.summary(CHANNELS)
@responds(ChannelMix)
@documented_query(PeriodQuery)
@authenticated(*STAFF)
async def channels(request: Request, principal: Principal) -> HTTPResponse:
    _, ask = await _ask(request, principal, PeriodQuery)
    return ok(await sales.channels(ask))


@bp.get("/channels.xlsx")
@openapi.summary(f"{CHANNELS}（Excel）")
@responds_file(XLSX, description="渠道构成表")
@documented_query(PeriodQuery)
@authenticated(*STAFF)
async def channels_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    _, ask = await _ask(request, principal, PeriodQuery)
    answer = await sales.channels(ask)
    return await _workbook("channels", ask, CHANNEL_TABLE, sales.figures_rows(answer))


# ---- stores --------------------------------------------------------------------------------

STORES = "门店活跃：活跃、新增、沉睡门店数与门店总数，对比上期，及逐月活跃与新增"


@bp.get("/stores")
@openapi.summary(STORES)
@openapi.description(
    "活跃：区间内有已付款订单；新增：首单在区间内；沉睡：截至结束日期超过设置天数未下单。"
)
@responds(Stores)
@documented_query(PeriodQuery)
@authenticated(*STAFF)
async def stores(request: Request, principal: Principal) -> HTTPResponse:
    _, ask = await _ask(request, principal, PeriodQuery)
    return ok(await sales.stores(ask))


@bp.get("/stores.xlsx")
@openapi.summary(f"{STORES}（Excel）")
@responds_file(XLSX, description="门店活跃表")
@documented_query(PeriodQuery)
@authenticated(*STAFF)
async def stores_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    _, ask = await _ask(request, principal, PeriodQuery)
    answer = await sales.stores(ask)
    return await _workbook("stores", ask, sales.STORES_TABLE, sales.stores_rows(answer))
