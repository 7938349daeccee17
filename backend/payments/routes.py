"""Paying for orders (WeChat Pay and offline), refunds, and WeChat Pay's notifications."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    Role,
    authenticated,
)
from backend.infra.http import Id, RequestModel, json_body, ok, responds
from backend.infra.idempotency import respond_once
from backend.payments import service
from backend.payments.responses import Prepay

bp = Blueprint("payments", url_prefix="/api/v1")
MAX_REFUND_FEN = 10**12


class OfflinePaymentBody(RequestModel):
    note: str = Field(default="", max_length=200, description="例如：货到付款，现金已收")


MAX_REFUND_UNITS = 1_000_000  # an order line's quantity is an int column: far below this


class RefundLineBody(RequestModel):
    line_id: Id = Field(description="订单商品行 id（订单详情 lines[].id）")
    quantity: int = Field(gt=0, le=MAX_REFUND_UNITS, description="退款件数")


class RefundBody(RequestModel):
    amount_fen: int | None = Field(
        default=None, gt=0, le=MAX_REFUND_FEN, description="按金额退款（如补偿），与 lines 二选一"
    )
    lines: list[RefundLineBody] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="按商品退款：各行退几件，金额为这些件数在该行实付中的分摊"
        "（与 amount_fen 二选一）",
    )
    restock: bool = Field(default=False, description="按商品退款时，是否将退回的件数放回经销商库存")
    reason: str = Field(min_length=1, max_length=80)

    @model_validator(mode="after")
    def _amount_or_lines(self) -> RefundBody:
        if (self.amount_fen is None) == (self.lines is None):
            raise ValueError("请填写退款金额 amount_fen 或退款商品 lines（二选一）")
        if self.lines is not None and len({line.line_id for line in self.lines}) < len(self.lines):
            raise ValueError("同一商品行只能出现一次")
        if self.restock and self.lines is None:
            raise ValueError("只有按商品退款时才能放回库存")
        return self


@bp.post("/orders/<order_id:int>/pay")
@openapi.summary("微信支付：返回 wx.requestPayment 所需参数（款项直接进入经销商子商户）")
@responds(Prepay)
@authenticated(*STORE_ROLES)
async def pay(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    return ok(await service.start_wechat_payment(request_deps(request), principal, order_id))


@bp.post("/orders/<order_id:int>/offline-payment")
@openapi.summary("经销商登记线下收款（货到付款等）")
@authenticated(*DISTRIBUTOR_ROLES)
@json_body(OfflinePaymentBody)
async def offline_payment(
    request: Request, principal: Principal, order_id: int, body: OfflinePaymentBody
) -> HTTPResponse:
    payment = await service.record_offline_payment(
        request_deps(request), principal, order_id, body.note
    )
    return ok(payment, status=201)


@bp.post("/orders/<order_id:int>/refunds")
@openapi.summary(
    "经销商退款（需 Idempotency-Key）：按金额，或按商品行退若干件（按实付分摊，可放回库存）"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*service.REFUNDERS)
@json_body(RefundBody)
async def refund(
    request: Request, principal: Principal, order_id: int, body: RefundBody
) -> HTTPResponse:
    deps = request_deps(request)

    async def work() -> tuple[int, Any]:
        created = await service.refund_order(
            deps,
            principal,
            order_id,
            reason=body.reason,
            amount_fen=body.amount_fen,
            lines=None
            if body.lines is None
            else [(line.line_id, line.quantity) for line in body.lines],
            restock=body.restock,
        )
        return 201, created

    owner = f"user:{principal.user_id}"
    return await respond_once(
        request, scope="order.refund", owner=owner, now=deps.clock.now(), work=work
    )


@bp.get("/orders/<order_id:int>/payments")
@openapi.summary("订单的支付与退款记录，及已付、已退金额")
@authenticated(*STORE_ROLES, Role.SALESPERSON, *DISTRIBUTOR_ROLES, *BRAND_ROLES)
async def order_payments(request: Request, principal: Principal, order_id: int) -> HTTPResponse:
    return ok(await service.order_payments(principal, order_id))


@bp.post("/payments/wechat/notify")
@openapi.exclude()
async def payment_notification(request: Request) -> HTTPResponse:
    # WeChat retries anything but 2xx; we answer only after the result is committed.
    await service.handle_payment_notification(request_deps(request), request.headers, request.body)
    return empty(status=204)


@bp.post("/payments/wechat/refund-notify")
@openapi.exclude()
async def refund_notification(request: Request) -> HTTPResponse:
    await service.handle_refund_notification(request_deps(request), request.headers, request.body)
    return empty(status=204)
