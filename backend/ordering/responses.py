"""What the cart, quote and order endpoints answer, as the OpenAPI document shows it: the
fields clients rely on (more may be present). tests/test_api_docs.py checks real answers
against these schemas, so the document and the code cannot drift apart unseen."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    code: str
    message: str


class PricedLine(BaseModel):
    """What a quoted line and an ordered line both say about a SKU and its money."""

    model_config = ConfigDict(extra="allow")

    sku_id: int
    product_name: str
    sku_name: str
    unit: str
    quantity: int
    list_unit_price_fen: int
    unit_price_fen: int
    list_amount_fen: int
    discount_fen: int
    payable_fen: int


class QuotedLine(PricedLine):
    product_id: int | None = Field(description="未知商品为 null")
    available_stock: int
    orderable: bool
    problems: list[Problem] = Field(description="不可下单的原因")


class Rebate(BaseModel):
    model_config = ConfigDict(extra="allow")

    balance_fen: int
    usable_fen: int = Field(description="本单最多可抵扣")
    rule: str


class PricedCart(BaseModel):
    """A cart or a quote, priced for the store: promotions, coupon and rebate applied."""

    model_config = ConfigDict(extra="allow")

    lines: list[QuotedLine]
    list_amount_fen: int
    discount_fen: int = Field(description="价格、活动与优惠券优惠合计")
    promotion_discount_fen: int
    coupon_discount_fen: int
    payable_fen: int
    orderable: bool
    problems: list[Problem]
    promotions: dict[str, Any] | None = Field(description="命中的活动及其优惠明细")
    coupon: dict[str, Any] | None = Field(description="所选优惠券及其优惠")
    coupon_problem: Problem | dict[str, Any] | None = Field(description="所选券不能用的原因")
    coupon_options: list[dict[str, Any]] = Field(description="本单可用的优惠券")
    rebate: Rebate


class OrderLine(PricedLine):
    id: int
    gift: bool = Field(description="活动赠品")
    points_earned: int = Field(description="本行获得的积分（按件退款时按件数收回）")
    rebate_fen: int = Field(description="本行获得的返利（按件退款时按件数收回）")
    refunded_quantity: int = Field(description="已退件数")
    refunded_fen: int = Field(description="已退金额")
    refundable_quantity: int = Field(description="尚可退件数")
    refundable_fen: int = Field(description="尚可退金额（本行实付减已退）")
    next_unit_refund_fen: int = Field(description="再退一件可退的金额（按件分摊实付）")
    spec: str | None = Field(default=None, description="规格（订单详情）")
    case_size: int | None = Field(
        default=None, description="箱规：每箱件数（订单详情；未知为 null）"
    )


class OrderEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    from_status: str | None
    to_status: str
    actor_user_id: int | None
    actor_role: str | None
    note: str | None
    at: str = Field(description="ISO 8601 时间")


class StoreContact(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    name: str
    contact_name: str = Field(description="联系人")
    phone: str
    address: str = Field(description="收货地址")


class SalespersonContact(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    name: str
    phone: str


class Order(BaseModel):
    """An order with its lines and its status timeline."""

    model_config = ConfigDict(extra="allow")

    id: int
    order_no: str
    store_id: int
    distributor_id: int
    salesperson_id: int | None
    channel: str = Field(description="self 门店自助；proxy 业务员代下；live 直播")
    status: str
    status_name: str = Field(description="状态的中文名")
    list_amount_fen: int
    discount_fen: int
    payable_fen: int
    promotion_discount_fen: int
    coupon_id: int | None
    coupon_discount_fen: int
    rebate_used_fen: int
    points_earned: int
    rebate_fen: int
    pay_deadline: str
    logistics_note: str | None
    carrier: str | None = Field(description="物流公司代码（GET /orders/carriers）；own 为自送")
    carrier_name: str | None
    tracking_no: str | None
    created_at: str
    updated_at: str
    lines: list[OrderLine]
    timeline: list[OrderEvent]
    store: StoreContact | None = Field(default=None, description="门店及收货信息（订单详情）")
    salesperson: SalespersonContact | None = Field(default=None, description="业务员（订单详情）")
    actions: list[str] | None = Field(
        default=None,
        description="当前登录者此刻可执行的操作（订单详情）：accept 接单、ship 发货、deliver 送达、"
        "record_offline_payment 登记线下收款、cancel 取消、sign 签收、refund_lines 按商品退款、"
        "refund_amount 按金额退款；与接口执行时的规则相同",
    )
    refundable_fen: int | None = Field(
        default=None, description="按金额尚可退款（订单详情；支付金额减已申请退款）"
    )


class TimelineEntry(BaseModel):
    """One thing that happened to an order."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(
        description="placed 下单、paid 付款、offline_paid 登记线下收款、accepted 接单、"
        "shipped 发货、delivered 送达、signed 签收、cancelled 取消、expired 超时取消、refund 退款"
    )
    title: str = Field(description="中文说明")
    at: str = Field(description="ISO 8601 时间")
    actor_user_id: int | None
    actor_role: str | None = Field(description="操作人角色；system 为系统")
    actor_name: str = Field(description="操作人名称（未设置为空）")
    note: str | None
    carrier: str | None = Field(default=None, description="发货：物流公司代码")
    carrier_name: str | None = Field(default=None, description="发货：物流公司名称")
    tracking_no: str | None = Field(default=None, description="发货：运单号")
    reason: str | None = Field(default=None, description="取消或退款的原因")
    amount_fen: int | None = Field(default=None, description="付款或退款金额")
    status: str | None = Field(default=None, description="退款状态")


class Timeline(BaseModel):
    items: list[TimelineEntry] = Field(description="按时间先后")


class RefundPreviewLine(BaseModel):
    line_id: int
    quantity: int
    amount_fen: int = Field(description="这些件数可退的金额")


class RefundPreview(BaseModel):
    lines: list[RefundPreviewLine]
    amount_fen: int = Field(description="合计可退")
    refundable_fen: int = Field(description="该笔支付尚可退的金额")


class Carrier(BaseModel):
    code: str
    name: str
    needs_tracking_no: bool = Field(description="自送不需要运单号")


class Carriers(BaseModel):
    items: list[Carrier]


class BatchResult(BaseModel):
    """One order of a batch: moved (its new status) or refused (the error as the shared
    envelope's `error` would say it)."""

    model_config = ConfigDict(extra="allow")

    order_id: int
    ok: bool
    status: str | None = Field(default=None, description="成功时订单的新状态")
    error: dict[str, Any] | None = Field(default=None, description="失败时的错误码与中文说明")


class BatchResults(BaseModel):
    results: list[BatchResult] = Field(description="按请求中的顺序，每单一条")
    succeeded: int
    failed: int


class OrderCounts(BaseModel):
    by_status: dict[str, int] = Field(description="每个状态的订单数（含 0）")
    after_sale: int = Field(description="售后订单数：有未失败的退款，或有未结投诉")
    total: int


class PrintLine(BaseModel):
    """A line as the warehouse counts it: units still to deliver (refunded units left out),
    in whole cases of the SKU's case size and loose units."""

    model_config = ConfigDict(extra="allow")

    sku_id: int
    product_name: str
    sku_name: str
    spec: str
    barcode: str | None
    unit: str
    case_size: int = Field(description="箱规：每箱件数")
    quantity: int = Field(description="应发件数")
    cases: int = Field(description="整箱数")
    loose: int = Field(description="散件数")


class PrintedLine(PrintLine):
    unit_price_fen: int
    amount_fen: int = Field(description="应发部分的实付金额")
    refunded_quantity: int
    gift: bool


class PickedSku(PrintLine):
    orders: int = Field(description="涉及的订单数")


class PrintStore(BaseModel):
    id: int
    name: str
    contact_name: str
    phone: str
    address: str


class PrintedOrder(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    order_no: str
    status: str
    created_at: str
    payable_fen: int
    amount_fen: int = Field(description="送货单合计：各行应发部分的实付金额")
    store: PrintStore
    lines: list[PrintedLine]


class PrintSheet(BaseModel):
    orders: list[PrintedOrder] = Field(description="送货单：按请求中的顺序，每单一张")
    picking: list[PickedSku] = Field(description="拣货单：各规格在所选订单中的合计")
