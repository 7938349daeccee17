"""Product codes over HTTP: 门店扫码：入库（开箱）、动销、库存."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html
from sanic_ext import openapi

from backend.codes import scans, stock
from backend.codes.models import ScanAction
from backend.codes.request import codes_body, codes_query
from backend.codes.tokens import coupon_token_in, token_in
from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    authenticated,
)
from backend.infra.http import (
    Id,
    Listing,
    PageQuery,
    RequestModel,
    documented_query,
    newest_first,
    ok,
    page,
    responds,
)
from backend.infra.idempotency import create_once_if_keyed

bp = Blueprint("codes_scan_routes", url_prefix="/api/v1/codes")
# What a phone's camera opens outside WeChat: the URL printed in every QR (<base>/C/<token>).
landing = Blueprint("codes_landing")
Handler = Callable[..., Awaitable[HTTPResponse]]
M = TypeVar("M", bound=BaseModel)


# ---- request and answer shapes -------------------------------------------------------------------

CodeText = Field(min_length=1, max_length=512, description="扫到的码：码的链接或 20 位码值")


class LookupQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    code: str = CodeText


class ScanBody(RequestModel):
    code: str = CodeText
    action: Literal["receive", "sell"] = Field(
        description="receive 扫箱码入库；sell 动销（物码售出一件，箱码售出箱内全部未售商品）"
    )
    latitude: float | None = Field(default=None, ge=-90, le=90, description="扫码时的纬度")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="扫码时的经度")


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class LookupOut(Open):
    code: dict[str, Any] = Field(
        description="token、kind、kind_label、serial_text、box_serial_text"
    )
    product: dict[str, Any] = Field(description="sku_id、name、spec、image_url")
    batch: dict[str, Any] = Field(description="batch_no、produced_on")
    box: dict[str, Any] = Field(description="items_per_box、received")
    next: Literal["store", "join", "consumer"] = Field(
        description="store 本品牌门店人员；join 无门店者扫箱码（去申请入驻）；consumer 物码验真"
    )
    join_token: str | None = Field(default=None, description="next 为 join 时：入驻码")
    actions: list[Literal["receive", "sell"]] = Field(description="本店此刻可对该码做的操作")


class ScanOut(Open):
    scan_id: int
    action: Literal["receive", "sell"]
    code: dict[str, Any]
    product: dict[str, Any]
    items: int = Field(description="本次入库或售出的商品件数")
    reward: dict[str, Any] | None = Field(description="本次获得的开箱奖励 {kind, amount, text}")
    signed_order_id: int | None = Field(description="本次扫码签收的订单")
    diverted: bool = Field(description="是否疑似窜货")
    stock: dict[str, Any] = Field(description="本店该商品：received、sold、on_hand")


# ---- lookup and scans ----------------------------------------------------------------------------


@bp.get("/lookup")
@openapi.summary("识别扫到的码：商品、批次、箱，以及下一步（门店操作 / 申请入驻 / 消费者验真）")
@documented_query(LookupQuery)
@responds(LookupOut)
@authenticated()
async def lookup(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, LookupQuery)
    return ok(await scans.lookup(request_deps(request), principal, query.code))


@bp.post("/scans")
@openapi.summary(
    "门店扫码：入库（箱码；首次开箱发放奖励，签收本店订单）或动销（物码或整箱）；"
    "被拒绝的扫码不写入任何数据"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@responds(ScanOut, 201, "已记录的扫码")
@authenticated(*STORE_ROLES)
@codes_body(ScanBody)
async def create_scan(request: Request, principal: Principal, body: ScanBody) -> HTTPResponse:
    deps = request_deps(request)
    wanted = scans.ScanRequest(
        code=body.code,
        action=ScanAction(body.action),
        latitude=body.latitude,
        longitude=body.longitude,
    )
    return await create_once_if_keyed(
        request,
        scope="codes.scan",
        user_id=principal.user_id,
        now=deps.clock.now(),
        create=lambda: scans.scan(deps, principal, wanted),
    )


# ---- stock, figures, the scan trail -------------------------------------------------------------


class StockRow(Open):
    sku_id: int
    name: str
    spec: str
    image_url: str
    received: int = Field(description="扫码入库的件数")
    sold: int = Field(description="扫码动销的件数")
    on_hand: int = Field(description="在库件数")


class MyStock(BaseModel):
    items: list[StockRow]


class StoreStockQuery(PageQuery):
    store_id: Id | None = None
    sku_id: Id | None = None
    distributor_id: Id | None = Field(default=None, description="品牌按经销商筛选其门店")


class ScanQuery(PageQuery):
    before: Id | None = None
    store_id: Id | None = None
    distributor_id: Id | None = None
    sku_id: Id | None = None
    action: Literal["receive", "sell", "check", "redeem"] | None = None
    diverted: bool | None = Field(default=None, description="只看疑似窜货的扫码")


class FiguresOut(Open):
    by_sku: list[dict[str, Any]] = Field(
        description="sku、codes_made、boxes_shipped、boxes_received、items_received、"
        "items_sold、sell_through（动销率 %，未入库为 null）、diversion_alerts"
    )
    by_distributor: list[dict[str, Any]] = Field(description="按发往的经销商，同上")
    totals: dict[str, Any]


@bp.get("/stock")
@openapi.summary("本店扫码库存：按商品的入库、动销与在库件数")
@responds(MyStock)
@authenticated(*STORE_ROLES)
async def my_stock(request: Request, principal: Principal) -> HTTPResponse:
    return ok(await stock.my_stock(principal))


@bp.get("/store-stock")
@openapi.summary("门店扫码库存与动销率（按门店和商品，按 id 翻页）；经销商只看自己的门店")
@documented_query(StoreStockQuery)
@responds(Listing)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def store_stock(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, StoreStockQuery)
    limit = query.bounded_limit()
    filters = stock.StockFilters(
        store_id=query.store_id, sku_id=query.sku_id, distributor_id=query.distributor_id
    )
    rows = await stock.store_stock(principal, filters, after=query.after, limit=limit + 1)
    return ok(page(rows, limit))


@bp.get("/figures")
@openapi.summary("一物一码数据：按商品、按经销商的赋码、出库、入库、动销与窜货预警")
@responds(FiguresOut)
@authenticated(*BRAND_ROLES)
async def figures(request: Request, principal: Principal) -> HTTPResponse:
    return ok(await stock.figures(principal))


@bp.get("/scans")
@openapi.summary("扫码记录（最新在前）：门店看本店，经销商看其门店，品牌看全部")
@documented_query(ScanQuery)
@responds(Listing)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, *STORE_ROLES)
async def list_scans(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, ScanQuery)
    limit = query.bounded_limit()
    filters = stock.ScanFilters(
        store_id=query.store_id,
        distributor_id=query.distributor_id,
        sku_id=query.sku_id,
        action=query.action,
        diverted=query.diverted,
    )
    rows = await stock.list_scans(principal, filters, before=query.before, limit=limit + 1)
    return ok(newest_first(rows, limit))


# ---- the page a QR opens outside WeChat ----------------------------------------------------------

_LANDING = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title></head>
<body style="font-family:-apple-system,'PingFang SC',sans-serif;text-align:center;
padding:64px 24px;color:#303133">
<h1 style="font-size:22px">{title}</h1>
<p style="font-size:16px;line-height:1.7">{text}</p>
</body></html>"""


@landing.get("/C/<token:str>")
@landing.get("/c/<token:str>", name="landing_page_lower")  # scanners that lower the URL
@openapi.exclude()
async def landing_page(request: Request, token: str) -> HTTPResponse:
    """Says to scan in WeChat (the mini-program opens for this URL there); reads nothing."""
    if token_in(token) is None:
        page = _LANDING.format(title="无法识别该码", text="请确认扫的是商品或箱子上的码。")
        return html(page, status=404)
    page = _LANDING.format(
        title="请用微信扫一扫",
        text="请打开微信，用“扫一扫”扫描商品或箱子上的二维码，<br>即可验真、入库或领取优惠。",
    )
    return html(page)


@landing.get("/V/<token:str>")
@landing.get("/v/<token:str>", name="coupon_landing_page_lower")
@openapi.exclude()
async def coupon_landing_page(request: Request, token: str) -> HTTPResponse:
    """A consumer's e-coupon QR (<base>/V/<token>) opened by a phone's camera: says how the
    coupon is used (the store scans it in the mini-program); reads nothing."""
    if coupon_token_in(token) is None:
        page = _LANDING.format(title="无法识别该券", text="请确认扫的是顾客出示的电子券二维码。")
        return html(page, status=404)
    page = _LANDING.format(
        title="请在门店核销",
        text="这是顾客的电子券：请门店店员打开小程序“扫码核销”扫描此码，<br>核销后券值计入门店账户。",
    )
    return html(page)
