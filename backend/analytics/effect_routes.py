"""Analytics routes: what promotions, coupons and live sessions earned (each list also as
XLSX: the same path with `.xlsx`)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.analytics import effect
from backend.analytics.periods import Period, span_of
from backend.analytics.scope import Scope, china_day, scope_for
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, authenticated
from backend.infra.exports import MEDIA_TYPES
from backend.infra.http import (
    Day,
    Id,
    RequestModel,
    attachment,
    documented_query,
    ok,
    parse_query,
    responds_file,
)

bp = Blueprint("analytics_effect_routes", url_prefix="/api/v1/analytics")
XLSX = MEDIA_TYPES["xlsx"]


class PeriodQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    start: Day | None = Field(
        default=None, description="开始日期（含，中国日期），默认结束前 29 天"
    )
    end: Day | None = Field(default=None, description="结束日期（含，中国日期），默认今天")


class LiveQuery(PeriodQuery):
    distributor_id: Id | None = Field(
        default=None, description="品牌员工可只看一个经销商的直播；经销商员工总是只看自己的"
    )


async def _asked(
    request: Request, principal: Principal, model: type[PeriodQuery]
) -> tuple[Scope, Period]:
    query = parse_query(request, model)
    scope = await scope_for(principal, getattr(query, "distributor_id", None))
    today = china_day(request_deps(request).clock.now())
    return scope, span_of(query.start, query.end, today)


def _xlsx(name: str, body: bytes) -> HTTPResponse:
    return attachment(body, f"{name}.xlsx", XLSX)


def _span_name(name: str, report: dict[str, Any]) -> str:
    return f"{name}-{report['start'].replace('-', '')}-{report['end'].replace('-', '')}"


# ---- promotions ------------------------------------------------------------------------------


@bp.get("/promotions")
@openapi.summary(
    "促销效果：区间内进行过的活动，各自的参与订单与门店、成交额、成本（优惠、赠品、返利、积分）"
    "与投入产出比，及合计"
)
@documented_query(PeriodQuery)
@authenticated(*BRAND_ROLES)
async def promotions(request: Request, principal: Principal) -> HTTPResponse:
    scope, span = await _asked(request, principal, PeriodQuery)
    return ok(await effect.promotions(scope, span))


@bp.get("/promotions.xlsx")
@openapi.summary("促销效果表格（XLSX）")
@documented_query(PeriodQuery)
@responds_file(XLSX, description="促销效果")
@authenticated(*BRAND_ROLES)
async def promotions_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    scope, span = await _asked(request, principal, PeriodQuery)
    report = await effect.promotions(scope, span)
    return _xlsx(_span_name("promotions", report), effect.promotions_xlsx(report))


async def _promotion(request: Request, principal: Principal, promotion_id: int) -> dict[str, Any]:
    scope = await scope_for(principal)
    return await effect.promotion(scope, promotion_id, request_deps(request).clock.now())


@bp.get("/promotions/<promotion_id:int>")
@openapi.summary(
    "单个活动的效果：参与门店活动期与前一等长期间的订单和成交额、与未参与门店的店均对比、"
    "增量成交额、成本与回报"
)
@authenticated(*BRAND_ROLES)
async def promotion(request: Request, principal: Principal, promotion_id: int) -> HTTPResponse:
    return ok(await _promotion(request, principal, promotion_id))


@bp.get("/promotions/<promotion_id:int>/effect.xlsx")
@openapi.summary("单个活动的效果对比表格（XLSX）：参与与未参与门店，活动期与前期")
@responds_file(XLSX, description="活动效果对比")
@authenticated(*BRAND_ROLES)
async def promotion_xlsx(request: Request, principal: Principal, promotion_id: int) -> HTTPResponse:
    report = await _promotion(request, principal, promotion_id)
    return _xlsx(f"promotion-{promotion_id}", effect.promotion_xlsx(report))


# ---- coupons ---------------------------------------------------------------------------------


@bp.get("/coupons")
@openapi.summary(
    "优惠券效果：每个券模板在区间内发出的券，发放、领取、使用、过期及比率，用券订单的成交额与抵扣"
)
@documented_query(PeriodQuery)
@authenticated(*BRAND_ROLES)
async def coupons(request: Request, principal: Principal) -> HTTPResponse:
    scope, span = await _asked(request, principal, PeriodQuery)
    return ok(await effect.coupons(scope, span, request_deps(request).clock.now()))


@bp.get("/coupons.xlsx")
@openapi.summary("优惠券效果表格（XLSX）")
@documented_query(PeriodQuery)
@responds_file(XLSX, description="优惠券效果")
@authenticated(*BRAND_ROLES)
async def coupons_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    scope, span = await _asked(request, principal, PeriodQuery)
    report = await effect.coupons(scope, span, request_deps(request).clock.now())
    return _xlsx(_span_name("coupons", report), effect.coupons_xlsx(report))


# ---- live sessions ---------------------------------------------------------------------------


@bp.get("/live")
@openapi.summary(
    "直播效果：区间内开始的每场直播 邀请→进入→下单、订单与成交额、红包雨与发券及每单摊到的量；"
    "按月汇总"
)
@documented_query(LiveQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def live(request: Request, principal: Principal) -> HTTPResponse:
    scope, span = await _asked(request, principal, LiveQuery)
    return ok(await effect.live(scope, span))


@bp.get("/live.xlsx")
@openapi.summary("直播效果表格（XLSX）")
@documented_query(LiveQuery)
@responds_file(XLSX, description="直播效果")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def live_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    scope, span = await _asked(request, principal, LiveQuery)
    report = await effect.live(scope, span)
    return _xlsx(_span_name("live", report), effect.live_xlsx(report))
