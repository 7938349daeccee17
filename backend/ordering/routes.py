"""Cart, quote and order endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.catalog.service import RequestedLine
from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    REFUNDER_ROLES,
    STORE_ROLES,
    Principal,
    Role,
    authenticated,
)
from backend.infra.http import (
    Day,
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    ok,
    page,
    parse_query,
    responds,
    responds_file,
)
from backend.infra.idempotency import respond_once
from backend.kernel.errors import InvalidInput
from backend.ordering import export, service
from backend.ordering.carriers import CARRIERS, OWN_DELIVERY, Shipment
from backend.ordering.responses import (
    BatchResults,
    Carriers,
    Order,
    OrderCounts,
    PricedCart,
    PrintSheet,
    RefundPreview,
    Timeline,
)
from backend.ordering.states import Action

bp = Blueprint("ordering", url_prefix="/api/v1")
BUYERS = (*STORE_ROLES, Role.SALESPERSON)
MAX_QUANTITY = 99_999


class LineBody(RequestModel):
    sku_id: Id
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


COUPON_FIELD = Field(default=None, description="使用的优惠券（门店券包中的 id）")


class QuoteBody(RequestModel):
    store_id: Id | None = Field(default=None, description="业务员代下单时指定门店")
    lines: list[LineBody] = Field(min_length=1, max_length=200)
    coupon_id: Id | None = COUPON_FIELD


class CartQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    coupon_id: Id | None = COUPON_FIELD


class OrderBody(RequestModel):
    store_id: Id | None = Field(default=None, description="业务员代下单时指定门店")
    lines: list[LineBody] | None = Field(
        default=None, min_length=1, max_length=200, description="不传则按购物车下单"
    )
    coupon_id: Id | None = COUPON_FIELD
    use_rebate: bool = Field(default=False, description="用返利余额抵扣未参加活动的商品")


class CartItemBody(RequestModel):
    quantity: int = Field(ge=0, le=MAX_QUANTITY, description="0 表示移出购物车")


class CancelBody(RequestModel):
    reason: str = Field(min_length=1, max_length=200)


def _distinct(order_ids: list[int]) -> list[int]:
    if len(set(order_ids)) < len(order_ids):
        raise ValueError("同一订单只能出现一次")
    return order_ids


def _known_carrier(code: str) -> str:
    if code not in CARRIERS:
        raise ValueError("请从列表中选择物流公司")
    return code


CarrierCode = Annotated[
    str, AfterValidator(_known_carrier), Field(json_schema_extra={"enum": list(CARRIERS)})
]
TrackingNo = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9-]{4,40}$")
]


class Shipping(RequestModel):
    """How one order travels: a carrier from the list (GET /orders/carriers) with its
    tracking number, or 自送 (own) with none needed."""

    carrier: CarrierCode | None = Field(default=None, description="物流公司代码；own 为自送")
    tracking_no: TrackingNo | None = Field(default=None, description="运单号（自送可不填）")

    @model_validator(mode="after")
    def _tracked(self) -> Shipping:
        if self.carrier not in (None, OWN_DELIVERY) and not self.tracking_no:
            raise ValueError("请填写运单号")
        if self.carrier is None and self.tracking_no:
            raise ValueError("请选择物流公司")
        return self


class ShipBody(Shipping):
    logistics_note: str | None = Field(
        default=None, min_length=1, max_length=200, description="物流备注：送货人、车牌等"
    )

    @model_validator(mode="after")
    def _described(self) -> ShipBody:
        if self.carrier is None and not self.logistics_note:
            raise ValueError("请选择物流公司或填写物流信息")
        return self

    def shipment(self) -> Shipment:
        return Shipment(self.carrier, self.tracking_no, self.logistics_note)


OrderIds = Annotated[
    list[Id],
    Field(min_length=1, max_length=service.MAX_BATCH, description="订单 id，最多 100 个"),
    AfterValidator(_distinct),
]


class BatchAcceptBody(RequestModel):
    order_ids: OrderIds


class BatchShipment(Shipping):
    order_id: Id
    carrier: CarrierCode = Field(description="物流公司代码；own 为自送")


class BatchShipBody(RequestModel):
    orders: list[BatchShipment] = Field(min_length=1, max_length=service.MAX_BATCH)

    @model_validator(mode="after")
    def _once_each(self) -> BatchShipBody:
        _distinct([each.order_id for each in self.orders])
        return self


class RefundPreviewLine(RequestModel):
    line_id: Id = Field(description="订单商品行 id（订单详情 lines[].id）")
    quantity: int = Field(gt=0, le=MAX_QUANTITY, description="退款件数")


class RefundPreviewBody(RequestModel):
    lines: list[RefundPreviewLine] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _each_line_once(self) -> RefundPreviewBody:
        if len({line.line_id for line in self.lines}) < len(self.lines):
            raise ValueError("同一商品行只能出现一次")
        return self


class SignBody(RequestModel):
    photo_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")


class OrderQuery(PageQuery):
    before: Id | None = None
    status: (
        Literal[
            "pending_payment", "paid", "accepted", "shipped", "delivered", "completed", "cancelled"
        ]
        | None
    ) = None
    channel: Literal["self", "proxy", "live"] | None = None
    store_id: Id | None = None
    salesperson_id: Id | None = None
    distributor_id: Id | None = Field(
        default=None, description="只看该经销商的订单（经销商员工始终只看到自己的订单）"
    )
    created_from: Day | None = None
    created_to: Day | None = None
    q: str | None = Field(
        default=None, min_length=1, max_length=40, description="订单号或门店名称（部分匹配）"
    )
    after_sale: bool | None = Field(
        default=None,
        description="只看售后订单：有退款（未失败）或有未结投诉的订单",
    )

    def filters(self) -> dict[str, Any]:
        return {
            service.SEARCH: self.q.strip() or None if self.q else None,
            service.AFTER_SALE: self.after_sale or None,
            "status": self.status,
            "channel": self.channel,
            "store_id": self.store_id,
            "salesperson_id": self.salesperson_id,
            "distributor_id": self.distributor_id,
            # Whole days in China Standard Time, the time our users live in.
            "created_at__gte": _day_start(self.created_from),
            "created_at__lt": _day_start(self.created_to + timedelta(days=1))
            if self.created_to
            else None,
        }


def _day_start(day: date | None) -> datetime | None:
    if day is None:
        return None
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only needed when filtering by date

    # In UTC, like the stored values: SQLite compares timestamps as text, offset and all.
    return datetime.combine(day, time.min, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def _lines(body: list[LineBody]) -> list[RequestedLine]:
    return [RequestedLine(line.sku_id, line.quantity) for line in body]


@bp.get("/cart")
@openapi.summary("购物车及实时报价（含不可下单的原因、可用优惠券及所选券的优惠）")
@responds(PricedCart)
@documented_query(CartQuery)
@authenticated(*STORE_ROLES)
async def get_cart(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, CartQuery)
    priced = await service.cart(request_deps(request), principal, coupon_id=query.coupon_id)
    return ok(service.priced_view(priced))


@bp.put("/cart/items/<sku_id:int>")
@openapi.summary("设置购物车中某规格的数量（0 为移除）")
@responds(PricedCart)
@authenticated(*STORE_ROLES)
@json_body(CartItemBody)
async def set_cart_item(
    request: Request, principal: Principal, sku_id: int, body: CartItemBody
) -> HTTPResponse:
    priced = await service.set_cart_item(request_deps(request), principal, sku_id, body.quantity)
    return ok(service.priced_view(priced))


@bp.delete("/cart")
@openapi.summary("清空购物车")
@authenticated(*STORE_ROLES)
async def clear_cart(request: Request, principal: Principal) -> HTTPResponse:
    await service.clear_cart(principal)
    return ok({"ok": True})


@bp.post("/quote")
@openapi.summary("报价：按门店价格计算，并说明哪些商品不可下单及原因")
@responds(PricedCart)
@authenticated(*BUYERS)
@json_body(QuoteBody)
async def quote(request: Request, principal: Principal, body: QuoteBody) -> HTTPResponse:
    deps = request_deps(request)
    priced = await service.quote_for(
        deps, principal, body.store_id, _lines(body.lines), coupon_id=body.coupon_id
    )
    return ok(service.priced_view(priced))


@bp.post("/orders")
@openapi.summary("下单（需 Idempotency-Key；门店自己下单或业务员代下单）")
@responds(Order, 201, "已下单（同一 Idempotency-Key 重放时原样返回）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*BUYERS)
@json_body(OrderBody)
async def place_order(request: Request, principal: Principal, body: OrderBody) -> HTTPResponse:
    deps = request_deps(request)

    async def place() -> tuple[int, Any]:
        lines = _lines(body.lines) if body.lines is not None else None
        placed = await service.place_order(
            deps,
            principal,
            store_id=body.store_id,
            lines=lines,
            coupon_id=body.coupon_id,
            use_rebate=body.use_rebate,
        )
        return 201, placed

    owner = f"user:{principal.user_id}"
    return await respond_once(
        request, scope="order.place", owner=owner, now=deps.clock.now(), work=place
    )


@bp.get("/orders")
@openapi.summary(
    "订单列表（按身份限定范围；按状态、售后、日期、经销商、门店、业务员、渠道筛选，"
    "按订单号或门店名搜索；按 id 倒序翻页；"
    "每单含门店、经销商与业务员名称、商品摘要、已付与已退金额）"
)
@documented_query(OrderQuery)
@authenticated(*BUYERS, *DISTRIBUTOR_ROLES, *BRAND_ROLES)
async def list_orders(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, OrderQuery)
    limit = query.bounded_limit()
    items = await service.list_orders(
        principal, before=query.before, limit=limit, filters=query.filters()
    )
    money = await service.MONEY().money_by_order([item["id"] for item in items])
    listed = page([{**item, **money[item["id"]]} for item in items], limit)
    return ok({"items": listed["items"], "next_before": listed["next_after"]})


class ExportQuery(OrderQuery):
    format: Literal["csv", "xlsx"] = "csv"


EXPORT_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.get("/orders/export")
@openapi.summary("导出订单（CSV 或 XLSX，流式下载；筛选条件与订单列表相同）")
@responds_file(*EXPORT_CONTENT_TYPES.values(), description="订单表格（CSV 或 XLSX）")
@documented_query(ExportQuery)
# The body is streamed through request.respond(), after which Sanic wants the handler to
# return None; the guard's type only knows handlers that return their response.
@authenticated(*DISTRIBUTOR_ROLES, *BRAND_ROLES)  # type: ignore[arg-type]
async def export_orders(request: Request, principal: Principal) -> None:
    query = parse_query(request, ExportQuery)
    rows = export.export_rows(principal, query.filters(), service.MONEY().net_paid_by_order)
    encode = export.xlsx_chunks if query.format == "xlsx" else export.csv_chunks
    today = export.china_time(request_deps(request).clock.now())
    headers = {
        "Content-Disposition": f'attachment; filename="orders-{today:%Y%m%d}.{query.format}"',
        "Cache-Control": "no-store",
    }
    async with aclosing(encode(rows)) as chunks:
        # The first chunk comes before the status line: until then a failure is a normal error.
        first = await anext(chunks)
        response = await request.respond(
            content_type=EXPORT_CONTENT_TYPES[query.format], headers=headers
        )
        await response.send(first)
        async for chunk in chunks:
            await response.send(chunk)
        await response.eof()


@bp.get("/orders/summary")
@openapi.summary("订单汇总：按渠道（自主/代下单/直播）与按业务员的代下单，不含已取消订单")
@responds({"type": "object"}, description="按渠道与按业务员的汇总")
@documented_query(OrderQuery)
@authenticated(*DISTRIBUTOR_ROLES, *BRAND_ROLES)
async def summary(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, OrderQuery)
    return ok(await service.summary(principal, query.filters()))


@bp.get("/orders/counts")
@openapi.summary(
    "订单队列各状态的数量与售后数量（筛选条件同订单列表，状态与售后筛选除外；售后单同时计入其状态）"
)
@responds(OrderCounts)
@documented_query(OrderQuery)
@authenticated(*DISTRIBUTOR_ROLES, *BRAND_ROLES)
async def counts(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, OrderQuery)
    return ok(await service.counts(principal, query.filters()))


@bp.get("/orders/<order_id:int>")
@openapi.summary("订单详情，含明细与状态时间线")
@responds(Order)
@authenticated(*BUYERS, *DISTRIBUTOR_ROLES, *BRAND_ROLES)
async def get_order(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    order = await service.get_order(principal, order_id)
    money = await service.MONEY().order_money(order_id)
    actions = service.status_actions(principal, order) + service.MONEY().refund_actions(
        principal, order, money
    )
    return ok(
        {
            **order,
            "paid_fen": money["paid_fen"],
            "refunded_fen": money["refunded_fen"],
            "refundable_fen": money["refundable_fen"],
            "actions": actions,
        }
    )


@bp.get("/orders/<order_id:int>/timeline")
@openapi.summary(
    "订单动态：下单、付款、接单、发货（物流公司与单号）、送达、签收、取消（原因）及每笔退款，"
    "含操作人与时间"
)
@responds(Timeline)
@authenticated(*BUYERS, *DISTRIBUTOR_ROLES, *BRAND_ROLES)
async def timeline(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    return ok({"items": await service.MONEY().order_timeline(principal, order_id)})


@bp.post("/orders/<order_id:int>/refund-preview")
@openapi.summary("按商品退款试算：各行退若干件可退多少（与退款的分摊规则相同，不写入任何数据）")
@responds(RefundPreview)
@authenticated(*REFUNDER_ROLES)
@json_body(RefundPreviewBody)
async def refund_preview(
    request: Request, principal: Principal, order_id: int, body: RefundPreviewBody
) -> HTTPResponse:
    lines = [(line.line_id, line.quantity) for line in body.lines]
    return ok(await service.MONEY().preview_refund(principal, order_id, lines))


@bp.post("/orders/<order_id:int>/cancel")
@openapi.summary("取消订单（门店：经销商接单前，已付款的全额退款；经销商：未付款的订单）")
@responds(Order)
@authenticated(*BUYERS, *DISTRIBUTOR_ROLES)
@json_body(CancelBody)
async def cancel(
    request: Request, principal: Principal, order_id: int, body: CancelBody
) -> HTTPResponse:
    return ok(
        await service.MONEY().cancel_order(request_deps(request), principal, order_id, body.reason)
    )


@bp.post("/orders/<order_id:int>/accept")
@openapi.summary("经销商接单")
@responds(Order)
@authenticated(*DISTRIBUTOR_ROLES)
async def accept(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    return ok(await service.act(request_deps(request), principal, order_id, Action.ACCEPT))


@bp.post("/orders/<order_id:int>/ship")
@openapi.summary("经销商发货：物流公司与运单号（自送无需单号）")
@responds(Order)
@authenticated(*DISTRIBUTOR_ROLES)
@json_body(ShipBody)
async def ship(
    request: Request, principal: Principal, order_id: int, body: ShipBody
) -> HTTPResponse:
    return ok(await service.ship(request_deps(request), principal, order_id, body.shipment()))


@bp.get("/orders/carriers")
@openapi.summary("发货可选的物流公司（含自送）")
@responds(Carriers)
@authenticated(*DISTRIBUTOR_ROLES, *BRAND_ROLES)
async def carriers(request: Request, principal: Principal) -> HTTPResponse:
    return ok(
        {
            "items": [
                {"code": code, "name": name, "needs_tracking_no": code != OWN_DELIVERY}
                for code, name in CARRIERS.items()
            ]
        }
    )


def _batch_answer(results: list[dict[str, Any]]) -> dict[str, Any]:
    succeeded = sum(1 for result in results if result["ok"])
    return {"results": results, "succeeded": succeeded, "failed": len(results) - succeeded}


async def _batch(
    request: Request,
    principal: Principal,
    scope: str,
    order_ids: list[int],
    move: Callable[[int], Awaitable[dict[str, Any]]],
) -> HTTPResponse:
    deps = request_deps(request)

    async def work() -> tuple[int, Any]:
        return 200, _batch_answer(await service.for_each_order(order_ids, move))

    owner = f"user:{principal.user_id}"
    return await respond_once(request, scope=scope, owner=owner, now=deps.clock.now(), work=work)


@bp.post("/orders/batch/accept")
@openapi.summary(
    "批量接单（需 Idempotency-Key；最多 100 单，逐单接单，每单的结果分别返回，一单失败不影响其他）"
)
@responds(BatchResults)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*DISTRIBUTOR_ROLES)
@json_body(BatchAcceptBody)
async def batch_accept(
    request: Request, principal: Principal, body: BatchAcceptBody
) -> HTTPResponse:
    deps = request_deps(request)

    async def accept_one(order_id: int) -> dict[str, Any]:
        return await service.act(deps, principal, order_id, Action.ACCEPT)

    return await _batch(request, principal, "order.batch_accept", body.order_ids, accept_one)


@bp.post("/orders/batch/ship")
@openapi.summary(
    "批量发货（需 Idempotency-Key；每单物流公司与运单号，最多 100 单，每单的结果分别返回）"
)
@responds(BatchResults)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*DISTRIBUTOR_ROLES)
@json_body(BatchShipBody)
async def batch_ship(request: Request, principal: Principal, body: BatchShipBody) -> HTTPResponse:
    deps = request_deps(request)
    shipments = {each.order_id: Shipment(each.carrier, each.tracking_no) for each in body.orders}

    async def ship_one(order_id: int) -> dict[str, Any]:
        return await service.ship(deps, principal, order_id, shipments[order_id])

    return await _batch(request, principal, "order.batch_ship", list(shipments), ship_one)


class PrintQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    ids: str = Field(pattern=r"^\d{1,18}(,\d{1,18})*$", description="订单 id，逗号分隔，最多 50 个")

    def order_ids(self) -> list[int]:
        ids = [int(each) for each in self.ids.split(",")]
        if len(set(ids)) > service.MAX_PRINT:
            raise TooManyToPrint()
        return ids


class TooManyToPrint(InvalidInput):
    code = "order.too_many_to_print"
    message = f"一次最多打印 {service.MAX_PRINT} 个订单"


@bp.get("/orders/print")
@openapi.summary("打印用：多个订单及其明细（按箱规折算箱数与散件）、门店地址与联系人，及拣货汇总")
@responds(PrintSheet)
@documented_query(PrintQuery)
@authenticated(*DISTRIBUTOR_ROLES)
async def print_orders(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, PrintQuery)
    return ok(await service.print_orders(principal, query.order_ids()))


@bp.post("/orders/<order_id:int>/deliver")
@openapi.summary("经销商标记已送达")
@responds(Order)
@authenticated(*DISTRIBUTOR_ROLES)
async def deliver(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    return ok(await service.act(request_deps(request), principal, order_id, Action.DELIVER))


@bp.post("/orders/<order_id:int>/sign")
@openapi.summary("门店签收（可附照片）")
@responds(Order)
@authenticated(*STORE_ROLES)
@json_body(SignBody)
async def sign(
    request: Request, principal: Principal, order_id: int, body: SignBody
) -> HTTPResponse:
    return ok(
        await service.act(
            request_deps(request), principal, order_id, Action.SIGN, sign_photo_url=body.photo_url
        )
    )


@bp.post("/orders/<order_id:int>/reorder")
@openapi.summary("再来一单：把该订单的商品放回购物车并报价")
@authenticated(*STORE_ROLES)
async def reorder(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    return ok(
        service.priced_view(await service.reorder(request_deps(request), principal, order_id))
    )
