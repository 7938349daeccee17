"""The points mall: listing gifts (brand), redeeming them (stores), sending them (brand)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, STORE_ROLES, Principal, authenticated
from backend.infra.http import (
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    newest_first,
    ok,
    parse_query,
)
from backend.infra.idempotency import create_once
from backend.mall import service

bp = Blueprint("mall", url_prefix="/api/v1/mall")
MAX_POINTS = 100_000_000


class ItemBody(RequestModel):
    name: str = Field(min_length=1, max_length=40)
    description: str = Field(default="", max_length=200)
    image_url: str = Field(default="", max_length=500)
    points_price: int = Field(ge=1, le=MAX_POINTS)
    stock: int = Field(ge=0, le=10_000_000)
    physical: bool = Field(default=True, description="实物礼品（需邮寄，可填收货信息）")


class ItemChanges(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=40)
    description: str | None = Field(default=None, max_length=200)
    image_url: str | None = Field(default=None, max_length=500)
    points_price: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    stock: int | None = Field(default=None, ge=0, le=10_000_000)
    status: Literal["on_sale", "off_sale"] | None = None
    physical: bool | None = None


class StockChange(RequestModel):
    change: int = Field(
        ge=-10_000_000,
        le=10_000_000,
        description="库存增减的件数：正数为补货，负数为减少；不能使库存低于 0",
    )

    @field_validator("change")
    @classmethod
    def _not_zero(cls, change: int) -> int:
        if change == 0:
            raise ValueError("增减数量不能为 0")
        return change


class DeliveryBody(RequestModel):
    name: str = Field(min_length=1, max_length=32, description="收货人")
    phone: str = Field(pattern=r"^1\d{10}$", description="收货人手机号")
    address: str = Field(min_length=5, max_length=200, description="收货地址")


class RedeemBody(RequestModel):
    quantity: int = Field(default=1, ge=1, le=100)
    delivery: DeliveryBody | None = Field(
        default=None, description="实物礼品的收货信息；不填则寄往门店地址"
    )


class RedemptionQuery(PageQuery):
    before: Id | None = None
    status: Literal["pending", "delivered"] | None = None


@bp.post("/items")
@openapi.summary("上架积分商城商品（积分价、库存）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*BRAND_ROLES)
@json_body(ItemBody)
async def create_item(request: Request, principal: Principal, body: ItemBody) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="mall.item",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.create_item(principal, body.model_dump(), now=now),
    )


@bp.patch("/items/<item_id:int>")
@openapi.summary("修改商品：积分价、库存、上下架")
@authenticated(*BRAND_ROLES)
@json_body(ItemChanges)
async def update_item(
    request: Request, principal: Principal, item_id: int, body: ItemChanges
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    changes = body.model_dump(exclude_none=True)
    return ok(await service.update_item(principal, item_id, changes, now=now))


@bp.post("/items/<item_id:int>/stock")
@openapi.summary("增减库存（相对现有库存，与门店兑换同时发生也不会覆盖；不足时 409）")
@authenticated(*BRAND_ROLES)
@json_body(StockChange)
async def change_stock(
    request: Request, principal: Principal, item_id: int, body: StockChange
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.change_stock(principal, item_id, body.change, now=now))


@bp.get("/items")
@openapi.summary("积分商城商品（门店只见在售商品）")
@authenticated(*BRAND_ROLES, *STORE_ROLES)
async def list_items(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.list_items(principal)})


@bp.post("/items/<item_id:int>/redeem")
@openapi.summary("用积分兑换（实物礼品可附收货信息；积分或库存不足时 409，且不做任何改动）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*STORE_ROLES)
@json_body(RedeemBody)
async def redeem(
    request: Request, principal: Principal, item_id: int, body: RedeemBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="mall.redeem",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.redeem(
            principal,
            item_id,
            body.quantity,
            delivery=None if body.delivery is None else body.delivery.model_dump(),
            now=now,
        ),
    )


@bp.get("/redemptions")
@openapi.summary("兑换记录，含收货信息（品牌看全部并附门店联系方式，门店看自己的）")
@documented_query(RedemptionQuery)
@authenticated(*BRAND_ROLES, *STORE_ROLES)
async def list_redemptions(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, RedemptionQuery)
    limit = query.bounded_limit()
    items = await service.list_redemptions(
        principal, status=query.status, before=query.before, limit=limit + 1
    )
    return ok(newest_first(items, limit))


@bp.post("/redemptions/<redemption_id:int>/deliver")
@openapi.summary("标记兑换已发货")
@authenticated(*BRAND_ROLES)
async def deliver(request: Request, principal: Principal, redemption_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.mark_delivered(principal, redemption_id, now=now))
