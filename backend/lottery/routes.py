"""The lottery wheel: set-up and delivery for brand staff, spinning for stores."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, STORE_ROLES, Principal, authenticated
from backend.infra.http import (
    Id,
    Instant,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    newest_first,
    ok,
    parse_query,
)
from backend.infra.idempotency import create_once
from backend.lottery import service

bp = Blueprint("lottery", url_prefix="/api/v1/lottery")


class PrizeBody(RequestModel):
    name: str = Field(min_length=1, max_length=40)
    kind: Literal["points", "goods", "trip", "nothing"]
    points: int = Field(default=0, ge=0, le=10_000_000)
    weight: int = Field(
        ge=1, le=1_000_000, description="权重：中奖概率 = 权重 / 有库存奖品的权重和"
    )
    stock: int | None = Field(default=None, ge=0, le=10_000_000, description="不填为不限量")


class WheelBody(RequestModel):
    name: str = Field(min_length=1, max_length=40)
    threshold_fen: int = Field(ge=1, le=10**12, description="单笔支付满此金额获得一次抽奖机会")
    starts_at: Instant
    ends_at: Instant
    prizes: list[PrizeBody] = Field(min_length=1, max_length=12)


class SpinQuery(PageQuery):
    before: Id | None = None
    wheel_id: Id | None = None
    status: Literal["settled", "to_deliver", "delivered"] | None = Field(
        default=None, description="to_deliver：待发放的实物与旅游奖品；delivered：已发放"
    )


@bp.post("/wheels")
@openapi.summary("新建抽奖转盘（奖品、库存、权重；满额订单解锁抽奖）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*BRAND_ROLES)
@json_body(WheelBody)
async def create_wheel(request: Request, principal: Principal, body: WheelBody) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="lottery.wheel",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.create_wheel(principal, body.model_dump(), now=now),
    )


@bp.get("/wheels")
@openapi.summary("抽奖转盘（品牌看全部；门店看进行中的及自己的抽奖机会）")
@authenticated(*BRAND_ROLES, *STORE_ROLES)
async def list_wheels(request: Request, principal: Principal) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok({"items": await service.list_wheels(principal, now=now)})


@bp.post("/wheels/<wheel_id:int>/end")
@openapi.summary("结束抽奖")
@authenticated(*BRAND_ROLES)
async def end_wheel(request: Request, principal: Principal, wheel_id: int) -> HTTPResponse:
    return ok(await service.end_wheel(principal, wheel_id))


@bp.post("/wheels/<wheel_id:int>/spin")
@openapi.summary("抽奖：使用一次机会（积分奖品立即到账，实物与旅游待品牌发放）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*STORE_ROLES)
async def spin(request: Request, principal: Principal, wheel_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="lottery.spin",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.spin(principal, wheel_id, now=now),
    )


@bp.get("/spins")
@openapi.summary("抽奖记录（含可复核的随机数与奖品权重表；品牌看到门店联系方式，可筛待发放）")
@documented_query(SpinQuery)
@authenticated(*BRAND_ROLES, *STORE_ROLES)
async def list_spins(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, SpinQuery)
    limit = query.bounded_limit()
    items = await service.list_spins(
        principal,
        wheel_id=query.wheel_id,
        status=query.status,
        before=query.before,
        limit=limit + 1,
    )
    return ok(newest_first(items, limit))


@bp.post("/spins/<spin_id:int>/deliver")
@openapi.summary("标记奖品已发放（实物、旅游）")
@authenticated(*BRAND_ROLES)
async def deliver(request: Request, principal: Principal, spin_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.mark_delivered(principal, spin_id, now=now))
