"""Product codes over HTTP: 消费者券核销与会员. A store redeems the e-coupon a consumer shows;
the brand, a distributor (its stores) and a store (its own) read the redemptions; the brand
reads its members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, Literal, Self, TypeVar

from pydantic import BaseModel, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.codes import redemptions
from backend.codes.request import codes_body, codes_query
from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    authenticated,
)
from backend.infra.exports import MEDIA_TYPES, china_time
from backend.infra.http import (
    Day,
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    ok,
    responds,
    responds_file,
)
from backend.infra.idempotency import create_once_if_keyed

bp = Blueprint("codes_redemption_routes", url_prefix="/api/v1/codes")
Handler = Callable[..., Awaitable[HTTPResponse]]
M = TypeVar("M", bound=BaseModel)


# ---- shapes --------------------------------------------------------------------------------------


class RedeemBody(RequestModel):
    coupon: str = Field(
        min_length=1,
        max_length=512,
        description="扫到的券码：电子券二维码的链接（…/V/<码值>）或码值",
    )
    latitude: float | None = Field(default=None, ge=-90, le=90, description="扫码时手机的纬度")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="扫码时手机的经度")


class Product(BaseModel):
    sku_id: int
    name: str
    spec: str
    image_url: str


class Credited(BaseModel):
    kind: str = Field(description="cash：计入门店现金账户")
    amount_fen: int


class SerialText(BaseModel):
    serial_text: str = Field(description="商品码序号，如 20261201-0000042")


class Redeemed(BaseModel):
    coupon_id: int
    value_fen: int
    redeemed_at: str
    product: Product
    code: SerialText
    credited: Credited
    sold_now: bool = Field(description="该商品此前未扫码动销，本次核销同时记为本店售出")
    member_attributed: bool = Field(description="消费者由此成为本店带来的品牌会员")
    diverted: bool = Field(description="本次扫码判定为窜货（已为品牌生成预警）")


class DaysQuery(PageQuery):
    """Pages newest first, within China days `from`–`to` (either may be left open)."""

    before: Id | None = Field(default=None, description="下一页：上一页 next_before 的值")
    from_day: Day | None = Field(default=None, alias="from", description="日期起（北京时间）")
    to_day: Day | None = Field(default=None, alias="to", description="日期止（含，北京时间）")

    @model_validator(mode="after")
    def _from_before_to(self) -> Self:
        if self.from_day and self.to_day and self.from_day > self.to_day:
            raise ValueError("起始日期不能晚于截止日期")
        return self


class RedemptionQuery(DaysQuery):
    store_id: Id | None = Field(default=None, description="门店")
    distributor_id: Id | None = Field(default=None, description="经销商（品牌可选）")
    campaign_id: Id | None = Field(default=None, description="活动")
    sku_id: Id | None = Field(default=None, description="商品 SKU")


class RedemptionExportQuery(RedemptionQuery):
    format: Literal["csv", "xlsx"] = Field(default="csv", description="csv 或 xlsx")


class Named(BaseModel):
    id: int
    name: str


class RedemptionRow(BaseModel):
    id: int = Field(description="券 id")
    value_fen: int
    redeemed_at: str
    issued_at: str
    store: Named | None
    distributor: Named | None
    campaign: Named
    product: dict[str, Any]
    code: SerialText
    batch: dict[str, Any]
    member_id: int | None = Field(description="会员 id（门店看不到）")


class RedemptionFigures(BaseModel):
    count: int = Field(description="核销张数")
    value_fen: int = Field(description="核销金额（分），即品牌应付门店的金额")
    stores: int = Field(description="有核销的门店数")


class Redemptions(BaseModel):
    items: list[RedemptionRow]
    next_before: int | None
    figures: RedemptionFigures


class MemberQuery(DaysQuery):
    store_id: Id | None = Field(default=None, description="带来会员的门店")
    distributor_id: Id | None = Field(default=None, description="带来会员的门店所属经销商")
    attributed: bool | None = Field(default=None, description="true 只看已归属门店的会员")


class MemberRow(BaseModel):
    id: int = Field(description="会员编号")
    joined_at: str
    store: Named | None = Field(description="带来该会员的门店（首次为其核销券的门店）")
    attributed_at: str | None
    coupons: int = Field(description="领到的电子券张数")
    redeemed: int = Field(description="已核销的张数")


class MemberFigures(BaseModel):
    members: int
    attributed: int


class Members(BaseModel):
    items: list[MemberRow]
    next_before: int | None
    figures: MemberFigures


# ---- routes --------------------------------------------------------------------------------------


@bp.post("/redemptions")
@openapi.summary(
    "门店核销消费者出示的电子券：券值计入门店现金账户，商品未动销的记为本店售出；"
    "已核销 409 codes.coupon_redeemed，已过期 409 codes.coupon_expired，"
    "非本店售出或库存的商品 409 codes.coupon_other_store"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@responds(Redeemed, 201, "已核销")
@authenticated(*STORE_ROLES)
@codes_body(RedeemBody)
async def redeem(request: Request, principal: Principal, body: RedeemBody) -> HTTPResponse:
    deps = request_deps(request)
    now = deps.clock.now()
    return await create_once_if_keyed(
        request,
        scope="codes.redeem",
        user_id=principal.user_id,
        now=now,
        create=lambda: redemptions.redeem(
            principal,
            body.coupon,
            latitude=body.latitude,
            longitude=body.longitude,
            now=now,
            deps=deps,
        ),
    )


@bp.get("/redemptions")
@openapi.summary(
    "电子券核销记录（按核销时间倒序翻页）与合计：品牌看全部，经销商看其门店，门店看本店"
)
@documented_query(RedemptionQuery)
@responds(Redemptions)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, *STORE_ROLES)
async def list_redemptions(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, RedemptionQuery)
    return ok(
        await redemptions.list_redemptions(
            principal, _wanted(query), before=query.before, limit=query.bounded_limit()
        )
    )


def _wanted(query: RedemptionQuery) -> redemptions.RedemptionFilter:
    return redemptions.RedemptionFilter(
        store_id=query.store_id,
        distributor_id=query.distributor_id,
        campaign_id=query.campaign_id,
        sku_id=query.sku_id,
        first_day=query.from_day,
        last_day=query.to_day,
    )


@bp.get("/redemptions/export")
@openapi.summary("导出筛选后的电子券核销记录（CSV 或 XLSX，流式下载），用于与门店对账")
@responds_file(*MEDIA_TYPES.values(), description="表格（CSV 或 XLSX），金额为元，时间为北京时间")
@documented_query(RedemptionExportQuery)
# Streamed through request.respond(), after which Sanic wants the handler to return None.
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)  # type: ignore[arg-type]
async def export_redemptions(request: Request, principal: Principal) -> None:
    query = codes_query(request, RedemptionExportQuery)
    today = china_time(request_deps(request).clock.now())
    name = f"coupon-redemptions-{today:%Y%m%d}.{query.format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    chunks_of = redemptions.export_chunks(principal, _wanted(query), query.format)
    async with aclosing(chunks_of) as chunks:
        # The first chunk comes before the status line: until then a failure is a normal error.
        first = await anext(chunks)
        response = await request.respond(content_type=MEDIA_TYPES[query.format], headers=headers)
        await response.send(first)
        async for chunk in chunks:
            await response.send(chunk)
        await response.eof()


@bp.get("/members")
@openapi.summary(
    "品牌会员（扫码验真的微信用户）：入会时间、带来会员的门店、领券与核销张数；不含任何个人信息"
)
@documented_query(MemberQuery)
@responds(Members)
@authenticated(*BRAND_ROLES)
async def list_members(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, MemberQuery)
    wanted = redemptions.MemberFilter(
        store_id=query.store_id,
        distributor_id=query.distributor_id,
        attributed=query.attributed,
        first_day=query.from_day,
        last_day=query.to_day,
    )
    return ok(
        await redemptions.list_members(
            principal, wanted, before=query.before, limit=query.bounded_limit()
        )
    )
