"""Product codes over HTTP: 出库：箱码出库到经销商、订单发货带箱码."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.codes import shipments
from backend.codes.errors import Invalid
from backend.codes.request import codes_body, codes_query
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
    Listing,
    PageQuery,
    RequestModel,
    documented_query,
    newest_first,
    ok,
    page,
    responds,
    uploads,
)
from backend.infra.idempotency import create_once

bp = Blueprint("codes_shipment_routes", url_prefix="/api/v1/codes")
CHINA = ZoneInfo("Asia/Shanghai")


# ---- request shapes ------------------------------------------------------------------------------


SerialText = Annotated[str, Field(min_length=1, max_length=40)]


class RangeBody(RequestModel):
    batch_id: Id = Field(description="赋码批次")
    # Strict: JSON true/false is not box 1/0.
    first: StrictInt | SerialText = Field(
        alias="from",
        description="起始箱号（含）：箱序号，或印在箱上的箱号如 20261201-B000001",
    )
    last: StrictInt | SerialText = Field(alias="to", description="结束箱号（含）")

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class ShipmentBody(RequestModel):
    distributor_id: Id = Field(description="出库到的经销商（本品牌、启用中）")
    codes: list[str] = Field(
        default_factory=list,
        max_length=shipments.MAX_CODES,
        description="扫到的箱码（链接或码值），最多 2000 个；重复扫同一箱只算一次",
    )
    ranges: list[RangeBody] = Field(
        default_factory=list,
        max_length=shipments.MAX_RANGES,
        description="箱号范围（含两端），每个范围最多 100000 箱",
    )
    note: str = Field(default="", max_length=64, description="备注，如车牌号、出库单号")


class DeliveryBody(RequestModel):
    order_id: Id = Field(description="本经销商的订单（已接单、已发货或已送达）")
    codes: list[str] = Field(
        min_length=1, max_length=shipments.MAX_CODES, description="该订单随货的箱码，最多 2000 个"
    )


def _checked_codes(codes: list[str]) -> list[str]:
    for index, text in enumerate(codes):
        if not text or len(text) > 512:
            raise Invalid(
                "箱码不能为空，且每个不超过 512 个字符",
                details=[{"field": f"codes.{index}", "message": "箱码不能为空或过长"}],
            )
    return codes


class ShipmentQuery(PageQuery):
    before: Id | None = None
    kind: Literal["to_distributor", "delivery"] | None = None
    distributor_id: Id | None = Field(default=None, description="品牌按经销商筛选")
    order_id: Id | None = None
    since: Day | None = Field(default=None, alias="from", description="起始日期（含，北京时间）")
    until: Day | None = Field(default=None, alias="to", description="结束日期（含，北京时间）")


class ShipmentDetailQuery(PageQuery):
    pass


class BoxQuery(PageQuery):
    distributor_id: Id | None = None
    batch_id: Id | None = None
    shipment_id: Id | None = None
    order_id: Id | None = None
    state: Literal["unshipped", "shipped", "received"] | None = Field(
        default=None, description="unshipped 未出库、shipped 已出库、received 已入库"
    )
    q: str | None = Field(
        default=None, max_length=512, description="扫到的码、箱号（如 20261201-B000042）或批次号"
    )


# ---- response shapes (for /docs) -----------------------------------------------------------------


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ShipmentOut(Open):
    id: int
    kind: Literal["to_distributor", "delivery"]
    kind_label: str
    distributor: dict[str, Any]
    order: dict[str, Any] | None = Field(description="订单发货时为该订单")
    boxes: int
    items: int
    note: str
    created_at: str
    created_by: dict[str, Any] | None


class ShipmentDetailOut(ShipmentOut):
    by_batch: list[dict[str, Any]] = Field(description="按批次汇总：箱数、件数、首末箱号")
    box_list: Listing = Field(description="箱码（按 id 翻页：after、limit）")


class BoxOut(Open):
    id: int
    serial: int
    serial_text: str
    batch: dict[str, Any]
    sku: dict[str, Any]
    items: int
    state: Literal["unshipped", "shipped", "received"]
    state_label: str
    distributor: dict[str, Any] | None
    order: dict[str, Any] | None
    store: dict[str, Any] | None
    received_at: str | None


class Boxes(BaseModel):
    items: list[BoxOut]
    next_after: int | None


class OrderBoxesOut(Open):
    order_id: int
    order_no: str
    status: str
    can_add: bool = Field(description="当前调用者可为该订单登记箱码")
    boxes: int
    items_total: int
    received: int
    items: list[BoxOut]


class UploadOut(Open):
    ranges: list[dict[str, Any]] = Field(description="无问题的范围，可直接用于出库")
    problems: list[dict[str, Any]] = Field(description="逐行问题：row（表中行号）、message")


# ---- shipments to distributors -------------------------------------------------------------------


@bp.post("/shipments")
@openapi.summary(
    "箱码出库到经销商：扫码或箱号范围，全部成功或全部不做；未知码、物码、已出库的箱逐个列在 details"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@responds(ShipmentOut, 201, "出库记录")
@authenticated(*BRAND_ROLES)
@codes_body(ShipmentBody)
async def create_shipment(
    request: Request, principal: Principal, body: ShipmentBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    codes = _checked_codes(body.codes)
    ranges = [shipments.RangeAsked(r.batch_id, r.first, r.last) for r in body.ranges]
    return await create_once(
        request,
        scope="codes.shipment",
        user_id=principal.user_id,
        now=now,
        create=lambda: shipments.ship(
            principal,
            distributor_id=body.distributor_id,
            codes=codes,
            ranges=ranges,
            note=body.note,
            now=now,
        ),
    )


@bp.post("/shipments/upload", ctx_large_body=True)
@openapi.summary("读取箱号范围表（CSV/XLSX：批次号、起始箱号、结束箱号），逐行检查，不写入")
@uploads("file", "CSV 或 Excel 文件，列：批次号、起始箱号、结束箱号（可选 批次ID），最多 100 行")
@responds(UploadOut)
@authenticated(*BRAND_ROLES)
async def upload_ranges(request: Request, principal: Principal) -> HTTPResponse:
    upload = request.files.get("file") if request.files else None
    if upload is None or not upload.body:
        raise Invalid("请选择要上传的文件", details=[{"field": "file", "message": "请选择文件"}])
    return ok(await shipments.ranges_from_sheet(principal, bytes(upload.body)))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA).astimezone(UTC)


@bp.get("/shipments")
@openapi.summary("出库记录（新的在前）：品牌看全部，经销商看出库给自己的和自己的订单发货")
@documented_query(ShipmentQuery)
@responds(Listing)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_shipments(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, ShipmentQuery)
    limit = query.bounded_limit()
    items = await shipments.list_shipments(
        principal,
        kind=query.kind,
        distributor_id=query.distributor_id,
        order_id=query.order_id,
        since=_day_start(query.since) if query.since else None,
        until=_day_start(query.until + timedelta(days=1)) if query.until else None,
        before=query.before,
        limit=limit + 1,
    )
    return ok(newest_first(items, limit))


@bp.get("/shipments/<shipment_id:int>")
@openapi.summary("出库记录详情：按批次汇总与箱码列表（after、limit 翻页）")
@documented_query(ShipmentDetailQuery)
@responds(ShipmentDetailOut)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def get_shipment(request: Request, principal: Principal, shipment_id: int) -> HTTPResponse:
    query = codes_query(request, ShipmentDetailQuery)
    return ok(
        await shipments.get_shipment(
            principal, shipment_id, after=query.after, box_limit=query.bounded_limit()
        )
    )


# ---- order deliveries ----------------------------------------------------------------------------


@bp.post("/deliveries")
@openapi.summary(
    "登记订单随货的箱码（经销商）：须是出库给本经销商、订单中商品、未登记其他订单且未入库的箱，"
    "全部成功或全部不做"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@responds(ShipmentOut, 201, "订单发货记录")
@authenticated(*DISTRIBUTOR_ROLES)
@codes_body(DeliveryBody)
async def create_delivery(
    request: Request, principal: Principal, body: DeliveryBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    codes = _checked_codes(body.codes)
    return await create_once(
        request,
        scope="codes.delivery",
        user_id=principal.user_id,
        now=now,
        create=lambda: shipments.deliver(principal, order_id=body.order_id, codes=codes, now=now),
    )


@bp.get("/deliveries/<order_id:int>")
@openapi.summary("订单随货的箱码：品牌、订单的经销商与下单门店可看")
@responds(OrderBoxesOut)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, *STORE_ROLES)
async def order_boxes(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    return ok(await shipments.order_boxes(principal, order_id))


# ---- boxes ---------------------------------------------------------------------------------------


@bp.get("/boxes")
@openapi.summary("箱码及其状态（未出库/已出库/已入库），按 id 翻页；经销商只看出库给自己的")
@documented_query(BoxQuery)
@responds(Boxes)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_boxes(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, BoxQuery)
    limit = query.bounded_limit()
    items = await shipments.list_boxes(
        principal,
        distributor_id=query.distributor_id,
        batch_id=query.batch_id,
        shipment_id=query.shipment_id,
        order_id=query.order_id,
        state=query.state,
        text=query.q,
        after=query.after,
        limit=limit + 1,
    )
    return ok(page(items, limit))
