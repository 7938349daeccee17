"""Carts, quotes and orders: placement with atomic stock, the status flow, and order views."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from backend.catalog import service as catalog_service
from backend.catalog.service import Quote, QuotedLine, RequestedLine
from backend.coupons import service as coupons_service
from backend.deps import Deps
from backend.identity.access import DISTRIBUTOR_ROLES, STORE_ROLES, Principal, Role, Tenancy, scoped
from backend.infra import events, sql
from backend.kernel.errors import Conflict, DomainError, InvalidInput, NotFound
from backend.kernel.events import (
    DeliverySigned,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
)
from backend.kernel.money import allocate, unit_shares_upto
from backend.kernel.ports import Port
from backend.ledger import service as ledger_service
from backend.ordering.carriers import Shipment, carrier_name
from backend.ordering.models import CartItem, Channel, Order, OrderEvent, OrderLine, OrderStatus
from backend.ordering.states import (
    RELEASES_STOCK,
    STATUS_NAMES,
    TRANSITIONS,
    Action,
    Actor,
    IllegalTransition,
    next_status,
    permitted,
)
from backend.org import service as org_service
from backend.promotions import service as promotions_service

ORDER_TENANCY = Tenancy(
    distributor="distributor_id", salesperson="salesperson_id", store="store_id"
)
EXPIRY_BATCH = 200
PAID_BY_WECHAT_NOTE = "微信支付成功"
# Encode JSON columns exactly as the ORM would, for the hand-written INSERTs.
_ORDER_PROMOTIONS = Order._meta.fields_map["promotions"]
_LINE_ADJUSTMENTS = OrderLine._meta.fields_map["adjustments"]
EXPORT_BATCH = 500


class OrderNotFound(NotFound):
    code = "order.not_found"
    message = "找不到该订单"


class InvalidQuantities(InvalidInput):
    code = "order.invalid_quantity"
    message = "部分商品的数量不符合要求"


class LinesUnavailable(Conflict):
    code = "order.lines_unavailable"
    message = "部分商品暂时无法订购"


class EmptyOrder(InvalidInput):
    code = "order.empty"
    message = "请至少选择一件商品"


class OrderLineNotFound(NotFound):
    code = "order.line_not_found"
    message = "找不到该订单中的商品"


class RefundQuantityExceeded(Conflict):
    code = "order.refund_quantity_exceeded"
    message = "退款数量超过该商品尚可退的数量"


class StatusChanged(Conflict):
    code = "order.status_changed"
    message = "订单状态已变化，请刷新后重试"


# ---- views ----------------------------------------------------------------------------------


def order_view(order: Order) -> dict[str, Any]:
    status = OrderStatus(order.status)
    return {
        "id": order.id,
        "order_no": order.order_no,
        "store_id": order.store_id,  # type: ignore[attr-defined]
        "distributor_id": order.distributor_id,  # type: ignore[attr-defined]
        "salesperson_id": order.salesperson_id,  # type: ignore[attr-defined]
        "placed_by_user_id": order.placed_by_id,  # type: ignore[attr-defined]
        "channel": order.channel,
        "status": status.value,
        "status_name": STATUS_NAMES[status],
        "list_amount_fen": order.list_amount_fen,
        "discount_fen": order.discount_fen,
        "payable_fen": order.payable_fen,
        "promotion_discount_fen": order.promotion_discount_fen,
        "points_earned": order.points_earned,
        "rebate_fen": order.rebate_fen,
        "promotions": order.promotions,
        "coupon_id": order.coupon_id,
        "coupon_discount_fen": order.coupon_discount_fen,
        "rebate_used_fen": order.rebate_used_fen,
        "pay_deadline": order.pay_deadline.isoformat(),
        "logistics_note": order.logistics_note,
        "carrier": order.carrier,
        "carrier_name": carrier_name(order.carrier),
        "tracking_no": order.tracking_no,
        "sign_photo_url": order.sign_photo_url,
        "cancel_reason": order.cancel_reason,
        "reordered_from_id": order.reordered_from_id,  # type: ignore[attr-defined]
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


def line_view(line: OrderLine | LineToWrite) -> dict[str, Any]:
    """A line as ordered: read back from the database, or just priced and being written (its
    id is added once written, nothing refunded yet). What a refund of its units would pay
    back: the share of what it paid that its units not yet refunded carry, and the next
    unit's share."""
    refunded_quantity = getattr(line, "refunded_quantity", 0)
    refunded_fen = getattr(line, "refunded_fen", 0)
    left = line.quantity - refunded_quantity
    return {
        "id": getattr(line, "id", None),
        "sku_id": line.sku_id,  # type: ignore[union-attr]
        "product_name": line.product_name,
        "sku_name": line.sku_name,
        "unit": line.unit,
        "quantity": line.quantity,
        "list_unit_price_fen": line.list_unit_price_fen,
        "unit_price_fen": line.unit_price_fen,
        "list_amount_fen": line.list_amount_fen,
        "discount_fen": line.discount_fen,
        "payable_fen": line.payable_fen,
        "adjustments": line.adjustments,
        "gift": line.gift_promotion_id is not None,
        "gift_promotion_id": line.gift_promotion_id,
        "points_earned": line.points_earned,
        "rebate_fen": line.rebate_fen,
        "refunded_quantity": refunded_quantity,
        "refunded_fen": refunded_fen,
        "refundable_quantity": left,
        "refundable_fen": line.payable_fen - refunded_fen,
        "next_unit_refund_fen": 0
        if left == 0
        else refund_of_units(line.payable_fen, line.quantity, refunded_quantity, refunded_fen, 1),
    }


def refund_of_units(
    payable_fen: int, quantity: int, refunded_quantity: int, refunded_fen: int, units: int
) -> int:
    """What refunding `units` more units of a line pays back: the share of what the line paid
    that its units refunded so far and these carry (largest remainder over the units), less
    what was paid back already; so however the units are refunded, the parts add up to
    exactly what the line paid."""
    owed = unit_shares_upto(payable_fen, quantity, refunded_quantity + units)
    return max(owed - refunded_fen, 0)


def event_view(event: OrderEvent) -> dict[str, Any]:
    return {
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_user_id": event.actor_id,  # type: ignore[attr-defined]
        "actor_role": event.actor_role,
        "note": event.note,
        "at": event.created_at.isoformat(),
    }


async def _packed(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines, each with its SKU's spec and case size (one query)."""
    packing = await catalog_service.sku_packing(line["sku_id"] for line in lines)
    for line in lines:
        packed = packing.get(line["sku_id"], {})
        line["spec"] = packed.get("spec", "")
        line["case_size"] = packed.get("case_size")
    return lines


async def order_detail(order: Order) -> dict[str, Any]:
    """The order with its lines (each with its SKU's spec and case size, to count it as the
    warehouse does) and its status changes: the same on every answer that returns an order."""
    lines = [line_view(x) for x in await OrderLine.filter(order_id=order.id).order_by("id")]
    events = await OrderEvent.filter(order_id=order.id).order_by("id")
    return {
        **order_view(order),
        "lines": await _packed(lines),
        "timeline": [event_view(e) for e in events],
    }


# ---- quotes and the cart --------------------------------------------------------------------


@dataclass(frozen=True)
class PricedCart:
    """A quote, what the running promotions do to it (None: no promotion is running), and
    the coupon chosen: applied, or why it can't be (only one of the two is set)."""

    quote: Quote
    promotions: promotions_service.PromotionResult | None
    coupon: coupons_service.Applied | None = None
    coupon_problem: DomainError | None = None
    coupon_options: list[dict[str, Any]] | None = None  # the store's coupons, for a picker
    rebate_balance_fen: int = 0
    rebate_usable_fen: int = 0  # of it, what could pay this cart (lines no promotion priced)
    gift_skus: Mapping[int, catalog_service.SkuSummary] = field(default_factory=dict)


def priced_view(priced: PricedCart) -> dict[str, Any]:
    """The quote as the buyer sees it: totals after promotions, and the promotions' detail."""
    view = catalog_service.quote_view(priced.quote)
    result = priced.promotions
    view["promotion_discount_fen"] = 0 if result is None else result.promotion_discount_fen
    view["promotions"] = (
        None if result is None else promotions_service.result_view(result, priced.gift_skus)
    )
    if result is not None:
        view["payable_fen"] = result.payable_fen
        view["discount_fen"] = priced.quote.discount_fen + result.promotion_discount_fen
    coupon_fen = 0 if priced.coupon is None else priced.coupon.effect.amount_fen
    view["payable_fen"] -= coupon_fen
    view["discount_fen"] += coupon_fen
    view["coupon_discount_fen"] = coupon_fen
    view["coupon"] = None if priced.coupon is None else priced.coupon.view()
    problem = priced.coupon_problem
    view["coupon_problem"] = None if problem is None else problem.as_error()
    view["coupon_options"] = priced.coupon_options
    view["rebate"] = {
        "balance_fen": priced.rebate_balance_fen,
        "usable_fen": priced.rebate_usable_fen,
        "rule": "返利余额可抵扣未参加活动的商品",
    }
    return view


def _channel_of(principal: Principal) -> Channel:
    return Channel.PROXY if principal.role == Role.SALESPERSON else Channel.SELF


def _buyer(store: org_service.StoreContext) -> promotions_service.Buyer:
    return promotions_service.Buyer(
        store.id, store.brand_id, store.distributor_id, store.region_id, store.tier, store.tags
    )


def _payable_lines(
    quote: Quote, result: promotions_service.PromotionResult | None
) -> list[coupons_service.PayableLine]:
    """The orderable bought lines, in the quote's order, as the promotions left them: what a
    coupon applies to."""
    priced = {} if result is None else {line.sku_id: line for line in result.lines if not line.gift}
    return [
        coupons_service.PayableLine(
            sku_id=line.sku_id,
            category_id=line.category_id or 0,
            quantity=line.quantity,
            payable_fen=line.payable_fen if result is None else priced[line.sku_id].payable_fen,
        )
        for line in quote.lines
        if line.orderable
    ]


async def _priced(
    deps: Deps,
    principal: Principal,
    store: org_service.StoreContext,
    lines: Sequence[RequestedLine],
    *,
    coupon_id: int | None = None,
) -> PricedCart:
    """The quote with promotions, the chosen coupon, and the store's coupon options (a quote
    shows a coupon that can't be used, with why, rather than refusing the quote)."""
    now = deps.clock.now()
    channel = _channel_of(principal)
    running = await promotions_service.running_promotions(store.brand_id, now, store_id=store.id)
    # The gifts are not among the quote's lines: the statements that read the lines name
    # every SKU the running promotions may give, so naming the gifts given costs no query.
    quote, gift_skus = await catalog_service.quote_naming(
        store.brand_id, store.distributor_id, store.tier, lines, running.gift_sku_ids
    )
    result = promotions_service.price_running(
        running, _buyer(store), channel.value, now, quote.lines
    )
    payable = _payable_lines(quote, result)
    applied, problem = None, None
    if coupon_id is not None:
        try:
            applied = await coupons_service.price_with(
                store.id, coupon_id, payable, channel.value, now
            )
        except DomainError as refused:
            problem = refused
    options = await coupons_service.options(store.id, payable, channel.value, now)
    balance = await ledger_service.rebate_balance(store.id)
    coupon_off = (0,) * len(payable) if applied is None else applied.effect.per_line
    promoted = _promoted_skus(result)
    rebate_base = sum(
        line.payable_fen - off
        for line, off in zip(payable, coupon_off, strict=True)
        if line.sku_id not in promoted
    )
    return PricedCart(
        quote, result, applied, problem, options, balance, min(balance, rebate_base), gift_skus
    )


def _promoted_skus(result: promotions_service.PromotionResult | None) -> set[int]:
    """The SKUs whose price a promotion changed: the rebate balance may not pay for them."""
    if result is None:
        return set()
    return {line.sku_id for line in result.lines if line.adjustments or line.gift}


async def quote_for(
    deps: Deps,
    principal: Principal,
    store_id: int | None,
    lines: Sequence[RequestedLine],
    *,
    coupon_id: int | None = None,
) -> PricedCart:
    store = await org_service.store_for_ordering(principal, store_id)
    return await _priced(deps, principal, store, lines, coupon_id=coupon_id)


async def _cart_lines(store_id: int) -> list[RequestedLine]:
    items = await CartItem.filter(store_id=store_id).order_by("id")
    return [RequestedLine(item.sku_id, item.quantity) for item in items]  # type: ignore[attr-defined]


async def cart(deps: Deps, principal: Principal, *, coupon_id: int | None = None) -> PricedCart:
    store = await org_service.store_for_ordering(principal, None)
    return await _priced(deps, principal, store, await _cart_lines(store.id), coupon_id=coupon_id)


async def set_cart_item(deps: Deps, principal: Principal, sku_id: int, quantity: int) -> PricedCart:
    """Set a line's quantity (0 removes it). The quote then says if the quantity works."""
    store = await org_service.store_for_ordering(principal, None)
    if quantity == 0:
        await CartItem.filter(store_id=store.id, sku_id=sku_id).delete()
    else:
        offers = await catalog_service.offers_for(
            store.brand_id, store.distributor_id, store.tier, [sku_id]
        )
        if sku_id not in offers:
            raise catalog_service.SkuNotFound()
        await CartItem.update_or_create(
            store_id=store.id, sku_id=sku_id, defaults={"quantity": quantity}
        )
    return await cart(deps, principal)


async def clear_cart(principal: Principal) -> None:
    store = await org_service.store_for_ordering(principal, None)
    await CartItem.filter(store_id=store.id).delete()


# ---- placing orders -------------------------------------------------------------------------


def _order_no(now: datetime) -> str:
    return f"{now:%y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"


def _refuse_problems(quote: Quote) -> None:
    if not quote.lines:
        raise EmptyOrder()
    quantity = [
        {
            "sku_id": line.sku_id,
            "problems": [{"code": p.code, "message": p.message} for p in line.problems],
        }
        for line in quote.lines
        if any(p.quantity_problem for p in line.problems)
    ]
    if quantity or any(p.quantity_problem for p in quote.problems):
        raise InvalidQuantities(
            details=quantity or [{"code": p.code, "message": p.message} for p in quote.problems]
        )
    unavailable = [
        {
            "sku_id": line.sku_id,
            "problems": [{"code": p.code, "message": p.message} for p in line.problems],
        }
        for line in quote.lines
        if line.problems
    ]
    if unavailable:
        raise LinesUnavailable(details=unavailable)


@dataclass(frozen=True)
class LineToWrite:
    """An order line about to be written: named and priced as the order will keep it."""

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
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    gift_promotion_id: int | None = None
    points_earned: int = 0
    rebate_fen: int = 0


def _bought_line(line: QuotedLine, priced: promotions_service.PricedLine | None) -> LineToWrite:
    payable = line.payable_fen if priced is None else priced.payable_fen
    return LineToWrite(
        sku_id=line.sku_id,
        product_name=line.product_name,
        sku_name=line.sku_name,
        unit=line.unit,
        quantity=line.quantity,
        list_unit_price_fen=line.list_unit_price_fen,
        unit_price_fen=line.unit_price_fen,
        list_amount_fen=line.list_amount_fen,
        discount_fen=line.list_amount_fen - payable,
        payable_fen=payable,
        adjustments=[]
        if priced is None
        else [promotions_service.adjustment_view(a) for a in priced.adjustments],
        points_earned=0 if priced is None else priced.points_earned,
        rebate_fen=0 if priced is None else priced.rebate_fen,
    )


def _with_coupon(lines: list[LineToWrite], coupon: coupons_service.Applied) -> list[LineToWrite]:
    """The bought lines less what the coupon takes off each (aligned: both in quote order)."""
    return [
        line
        if not off
        else replace(
            line,
            discount_fen=line.discount_fen + off,
            payable_fen=line.payable_fen - off,
            adjustments=[
                *line.adjustments,
                {"coupon_id": coupon.coupon_id, "kind": "coupon", "amount_fen": off},
            ],
        )
        for line, off in zip(lines, coupon.effect.per_line, strict=True)
    ]


def _pays_with_rebate(line: LineToWrite) -> bool:
    """A bought line no promotion priced (a coupon may have): what rebate balance may pay."""
    return line.gift_promotion_id is None and not any(
        "promotion_id" in adjustment for adjustment in line.adjustments
    )


def _with_rebate(lines: list[LineToWrite], amount_fen: int) -> list[LineToWrite]:
    """The lines less `amount_fen` of rebate balance, spread over the lines it may pay by
    largest remainder (never more than a line pays, as amount <= their sum)."""
    weights = [line.payable_fen if _pays_with_rebate(line) else 0 for line in lines]
    shares = allocate(amount_fen, weights)
    return [
        line
        if not share
        else replace(
            line,
            discount_fen=line.discount_fen + share,
            payable_fen=line.payable_fen - share,
            adjustments=[*line.adjustments, {"kind": "rebate", "amount_fen": share}],
        )
        for line, share in zip(lines, shares, strict=True)
    ]


async def _use_rebate(lines: list[LineToWrite], store_id: int) -> tuple[list[LineToWrite], int]:
    """Inside the order's transaction: as much of the store's rebate balance (locked until
    commit) as the lines it may pay allow."""
    balance = await ledger_service.locked_rebate_balance(store_id)
    usable = min(balance, sum(line.payable_fen for line in lines if _pays_with_rebate(line)))
    return (_with_rebate(lines, usable), usable) if usable > 0 else (lines, 0)


async def _lines_to_write(
    store: org_service.StoreContext,
    quote: Quote,
    result: promotions_service.PromotionResult | None,
    coupon: coupons_service.Applied | None,
) -> tuple[list[LineToWrite], dict[int, catalog_service.SkuSummary]]:
    """The quote's lines priced by the promotions and the coupon, then the gifts as
    zero-price lines; and the gifts' SKUs, named."""
    priced = {} if result is None else {line.sku_id: line for line in result.lines if not line.gift}
    lines = [_bought_line(line, priced.get(line.sku_id)) for line in quote.lines]
    if coupon is not None:
        lines = _with_coupon(lines, coupon)
    if result is None:
        return lines, {}
    gifts = [line for line in result.lines if line.gift]
    offers = await catalog_service.offers_for(
        store.brand_id, store.distributor_id, store.tier, [gift.sku_id for gift in gifts]
    )
    unavailable = []
    for gift in gifts:
        offer = offers.get(gift.sku_id)
        if offer is None or not (offer.is_active and offer.sold_here):
            unavailable.append(gift.sku_id)
            continue
        lines.append(
            LineToWrite(
                sku_id=gift.sku_id,
                product_name=offer.product_name,
                sku_name=offer.sku_name,
                unit=offer.unit,
                quantity=gift.quantity,
                list_unit_price_fen=0,
                unit_price_fen=0,
                list_amount_fen=0,
                discount_fen=0,
                payable_fen=0,
                gift_promotion_id=gift.gift_promotion_id,
            )
        )
    if unavailable:
        raise LinesUnavailable(details=[_gift_problem(sku_id) for sku_id in unavailable])
    return lines, {sku_id: catalog_service.SkuSummary.of(offer) for sku_id, offer in offers.items()}


def _gift_problem(sku_id: int) -> dict[str, Any]:
    message = "赠品暂时缺货，请稍后再下单或联系经销商"
    return {"sku_id": sku_id, "problems": [{"code": "gift.unavailable", "message": message}]}


async def place_order(
    deps: Deps,
    principal: Principal,
    *,
    store_id: int | None,
    lines: Sequence[RequestedLine] | None,
    reordered_from: int | None = None,
    coupon_id: int | None = None,
    use_rebate: bool = False,
) -> dict[str, Any]:
    """Quote, apply the running promotions and the coupon, reserve stock (gifts too), take
    the promotions' budgets, use the coupon and create the order, all in one transaction; the
    cart if no lines.

    A budget used up or a promotion stopped between pricing and writing rolls the attempt
    back; the order is then priced again with what is left, a few times, before giving up.
    """
    store = await org_service.store_for_ordering(principal, store_id)
    from_cart = lines is None
    requested = await _cart_lines(store.id) if lines is None else list(lines)
    quote = await catalog_service.quote(store.brand_id, store.distributor_id, store.tier, requested)
    _refuse_problems(quote)
    channel = _channel_of(principal)
    for attempt in range(1, promotions_service.COMMIT_ATTEMPTS + 1):
        now = deps.clock.now()
        result = await promotions_service.price(_buyer(store), channel.value, now, quote.lines)
        coupon = None
        if coupon_id is not None:
            payable = _payable_lines(quote, result)
            coupon = await coupons_service.price_with(
                store.id, coupon_id, payable, channel.value, now
            )
        to_write, gift_skus = await _lines_to_write(store, quote, result, coupon)
        try:
            async with sql.atomic():
                await _reserve(store, to_write)
                rebate_fen = 0
                if use_rebate:
                    to_write, rebate_fen = await _use_rebate(to_write, store.id)
                order = await _insert_order(
                    deps,
                    principal,
                    store,
                    to_write,
                    result,
                    coupon=coupon,
                    channel=channel,
                    now=now,
                    reordered_from=reordered_from,
                    gift_skus=gift_skus,
                )
                if result is not None:
                    await promotions_service.commit_uses(order["id"], store.id, result, now)
                if coupon is not None:
                    await coupons_service.use(store.id, coupon.coupon_id, order["id"], now)
                if rebate_fen:
                    await ledger_service.spend_rebate(
                        brand_id=store.brand_id,
                        store_id=store.id,
                        order_id=order["id"],
                        amount_fen=rebate_fen,
                        now=now,
                    )
                order = await _placed(deps, order, now)
                if from_cart:
                    await sql.execute(
                        "DELETE FROM cart_items WHERE store_id = $1 AND sku_id IN ($2)",
                        store.id,
                        [line.sku_id for line in quote.lines],
                    )
        except promotions_service.PromotionsChanged:
            if attempt == promotions_service.COMMIT_ATTEMPTS:
                raise
            continue
        return order
    raise AssertionError("unreachable: the last attempt returns or raises")


async def place_live_order(
    deps: Deps,
    principal: Principal,
    *,
    sku_id: int,
    quantity: int,
    unit_price_fen: int,
    within: Callable[[dict[str, Any]], Awaitable[None]],
) -> dict[str, Any]:
    """An order on the live channel for one product at its live price, from the store's own
    distributor's stock. The live price is the whole deal: no promotions or coupons apply.
    `within(order)` runs in the order's transaction (the livestream takes its live stock
    there): if it raises, nothing is written."""
    store = await org_service.store_for_ordering(principal, None)
    requested = [RequestedLine(sku_id=sku_id, quantity=quantity)]
    quote = await catalog_service.quote(store.brand_id, store.distributor_id, store.tier, requested)
    _refuse_problems(quote)
    quoted = quote.lines[0]
    payable = unit_price_fen * quantity
    line = LineToWrite(
        sku_id=quoted.sku_id,
        product_name=quoted.product_name,
        sku_name=quoted.sku_name,
        unit=quoted.unit,
        quantity=quantity,
        list_unit_price_fen=quoted.list_unit_price_fen,
        unit_price_fen=unit_price_fen,
        list_amount_fen=quoted.list_amount_fen,
        discount_fen=quoted.list_amount_fen - payable,
        payable_fen=payable,
    )
    now = deps.clock.now()
    async with sql.atomic():
        await _reserve(store, [line])
        order = await _insert_order(
            deps,
            principal,
            store,
            [line],
            None,
            coupon=None,
            channel=Channel.LIVE,
            now=now,
            reordered_from=None,
        )
        await within(order)
        order = await _placed(deps, order, now)
    return order


async def _reserve(store: org_service.StoreContext, lines: Sequence[LineToWrite]) -> None:
    """Take the lines' stock, gifts included, or raise naming every line that fell short
    (raising inside the order's transaction rolls back what was taken)."""
    failed = await catalog_service.reserve_stock(
        store.distributor_id, [(line.sku_id, line.quantity) for line in lines]
    )
    if failed:
        gifts = {line.sku_id for line in lines if line.gift_promotion_id is not None}
        bought = {line.sku_id for line in lines if line.gift_promotion_id is None}
        raise LinesUnavailable(
            details=[
                {
                    "sku_id": sku_id,
                    "problems": [{"code": "sku.insufficient_stock", "message": "库存不足"}],
                }
                if sku_id in bought
                else _gift_problem(sku_id)
                for sku_id in sorted(set(failed))
                if sku_id in bought or sku_id in gifts
            ]
        )


async def _insert_order(
    deps: Deps,
    principal: Principal,
    store: org_service.StoreContext,
    lines: Sequence[LineToWrite],
    result: promotions_service.PromotionResult | None,
    *,
    coupon: coupons_service.Applied | None,
    channel: Channel,
    now: datetime,
    reordered_from: int | None,
    gift_skus: Mapping[int, catalog_service.SkuSummary] | None = None,
) -> dict[str, Any]:
    """Write the order, its lines and its first event; the order's detail view.

    Fixed SQL (infra/sql.py) rather than the ORM: this runs for every order placed, and the
    ORM's cost per statement was most of placement's (bench/order_placement.py). The view is
    built from the unsaved models and the lines, as order_detail would read them back.
    """
    list_amount = sum(line.list_amount_fen for line in lines)
    payable = sum(line.payable_fen for line in lines)
    order = Order(
        order_no=_order_no(now),
        brand_id=store.brand_id,
        distributor_id=store.distributor_id,
        store_id=store.id,
        salesperson_id=store.salesperson_id,
        placed_by_id=principal.user_id,
        channel=channel.value,
        status=OrderStatus.PENDING_PAYMENT.value,
        list_amount_fen=list_amount,
        discount_fen=list_amount - payable,
        payable_fen=payable,
        promotion_discount_fen=0 if result is None else result.promotion_discount_fen,
        points_earned=0 if result is None else result.points_earned,
        rebate_fen=0 if result is None else result.rebate_fen,
        promotions=[] if result is None else promotions_service.applied_view(result, gift_skus),
        coupon_id=None if coupon is None else coupon.coupon_id,
        coupon_discount_fen=0 if coupon is None else coupon.effect.amount_fen,
        rebate_used_fen=sum(
            a["amount_fen"] for line in lines for a in line.adjustments if a["kind"] == "rebate"
        ),
        pay_deadline=now + timedelta(seconds=deps.settings.order_payment_timeout_seconds),
        reordered_from_id=reordered_from,
        created_at=now,
        updated_at=now,
    )
    row = await sql.fetch_one(
        "INSERT INTO orders (order_no, brand_id, distributor_id, store_id, salesperson_id,"
        " placed_by_id, channel, status, list_amount_fen, discount_fen, payable_fen,"
        " pay_deadline, reordered_from_id, created_at, updated_at, promotion_discount_fen,"
        " points_earned, rebate_fen, promotions, coupon_id, coupon_discount_fen,"
        " rebate_used_fen)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16,"
        " $17, $18, $19, $20, $21)"
        " RETURNING id",
        order.order_no,
        store.brand_id,
        store.distributor_id,
        store.id,
        store.salesperson_id,
        principal.user_id,
        order.channel,
        order.status,
        order.list_amount_fen,
        order.discount_fen,
        order.payable_fen,
        order.pay_deadline,
        reordered_from,
        now,
        order.promotion_discount_fen,
        order.points_earned,
        order.rebate_fen,
        _ORDER_PROMOTIONS.to_db_value(order.promotions, Order),
        order.coupon_id,
        order.coupon_discount_fen,
        order.rebate_used_fen,
    )
    assert row is not None  # INSERT ... RETURNING always gives its row
    order.id = int(row["id"])
    await sql.execute_many(
        "INSERT INTO order_lines (order_id, sku_id, product_name, sku_name, unit, quantity,"
        " list_unit_price_fen, unit_price_fen, list_amount_fen, discount_fen, payable_fen,"
        " adjustments, gift_promotion_id, points_earned, rebate_fen)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        [
            (
                order.id,
                line.sku_id,
                line.product_name,
                line.sku_name,
                line.unit,
                line.quantity,
                line.list_unit_price_fen,
                line.unit_price_fen,
                line.list_amount_fen,
                line.discount_fen,
                line.payable_fen,
                _LINE_ADJUSTMENTS.to_db_value(line.adjustments, OrderLine),
                line.gift_promotion_id,
                line.points_earned,
                line.rebate_fen,
            )
            for line in lines
        ],
    )
    # The lines' ids, for the view (a refund names a line by its id): inserted in order, so
    # their ids ascend in the same order.
    line_ids = await sql.fetch(
        "SELECT id FROM order_lines WHERE order_id = $1 ORDER BY id", order.id
    )
    event = OrderEvent(
        order_id=order.id,
        actor_id=principal.user_id,
        actor_role=principal.role or "",
        from_status=None,
        to_status=order.status,
        note="业务员代下单" if channel == Channel.PROXY else "",
        created_at=now,
    )
    await _insert_event(order.id, event)
    return {
        **order_view(order),
        "lines": await _packed(
            [
                {**line_view(line), "id": int(row["id"])}
                for line, row in zip(lines, line_ids, strict=True)
            ]
        ),
        "timeline": [event_view(event)],
    }


async def reorder(deps: Deps, principal: Principal, order_id: int) -> PricedCart:
    """Put a past order's lines back in the cart; the quote shows what is still orderable."""
    order = await _visible_order(principal, order_id)
    store = await org_service.store_for_ordering(principal, order.store_id)  # type: ignore[attr-defined]
    for line in await OrderLine.filter(order_id=order.id, gift_promotion_id=None):
        await CartItem.update_or_create(
            store_id=store.id,
            sku_id=line.sku_id,  # type: ignore[attr-defined]
            defaults={"quantity": line.quantity},
        )
    return await _priced(deps, principal, store, await _cart_lines(store.id))


# ---- the status flow ------------------------------------------------------------------------


def actor_of(principal: Principal) -> Actor:
    if principal.role in STORE_ROLES:
        return Actor.STORE
    if principal.role in DISTRIBUTOR_ROLES:
        return Actor.DISTRIBUTOR
    if principal.role == Role.SALESPERSON:
        return Actor.SALESPERSON
    return Actor.BRAND  # brand staff watch orders; they do not move them


async def _visible_order(principal: Principal, order_id: int) -> Order:
    order = await scoped(principal, Order.filter(id=order_id), ORDER_TENANCY).first()
    if order is None:
        raise OrderNotFound()
    return order


# What an action may change besides the status (see act()); anything else is a bug.
_CHANGEABLE = ("logistics_note", "carrier", "tracking_no", "sign_photo_url", "cancel_reason")


def _move_sql(
    *,
    which: str,
    order_id: str,
    from_status: str,
    to_status: str,
    now: str,
    actor_id: str,
    actor_role: str,
    note: str,
    sets: str = "",
) -> tuple[str, str]:
    """The one definition of moving orders, as (UPDATE, INSERT ... SELECT without FROM): the
    guarded update of the orders `which` names (a condition on `id`) from `from_status` to
    `to_status`, and the audit row each moved order (`order_id`) gets. Every argument is an
    SQL expression: placeholders for _apply, the transition table's constants for the
    payment's one-statement path (paid_at_once_sql), so the two can never write different
    rows (tests/test_paid_paths.py compares them)."""
    update = (
        f"UPDATE orders SET status = {to_status}, updated_at = {now}{sets}"  # noqa: S608
        f" WHERE id {which} AND status = {from_status}"
    )
    record = (
        "INSERT INTO order_events (order_id, actor_id, actor_role, from_status, to_status,"
        f" note, created_at) SELECT {order_id}, {actor_id}, {actor_role}, {from_status},"
        f" {to_status}, {note}, {now}"
    )
    return update, record


# _apply's statements: each changeable column from its own argument ($3 on), left as it was
# when the action does not set it; then the order, its status before, the actor and note.
_ID, _FROM, _ACTOR_ID, _ACTOR_ROLE, _NOTE = (
    f"${number}" for number in range(len(_CHANGEABLE) + 3, len(_CHANGEABLE) + 8)
)
_MOVE_ORDER, _RECORD_MOVE = _move_sql(
    which=f"= {_ID}",
    order_id=_ID,
    from_status=_FROM,
    to_status="$1",
    now="$2",
    actor_id=f"CAST({_ACTOR_ID} AS BIGINT)",
    actor_role=f"CAST({_ACTOR_ROLE} AS VARCHAR)",
    note=f"CAST({_NOTE} AS VARCHAR)",
    sets="".join(
        f", {column} = COALESCE(${number}, {column})"
        for number, column in enumerate(_CHANGEABLE, start=3)
    ),
)
# What paid_event reads of an order moved to paid: all OrderPaid names. The notification's
# one-statement path reads these alone (each column more is decoded per notification).
PAID_EVENT_COLUMNS = ("id", "brand_id", "store_id", "payable_fen")
# What _apply reads of the moved order: its earnings, and what OrderPaid names.
_MOVED = ", ".join((*PAID_EVENT_COLUMNS, "points_earned", "rebate_fen", "channel"))


@dataclass(frozen=True)
class _PaymentMove:
    """How a payment moves an order (record_payment, and paid_at_once_sql's fixed SQL)."""

    action: Action
    actor_role: str
    note: str

    @property
    def from_status(self) -> OrderStatus:
        """The one status the transition table lets this payment move an order from."""
        (only,) = (current for action, current in TRANSITIONS if action == self.action)
        return only

    @property
    def to_status(self) -> OrderStatus:
        return TRANSITIONS[(self.action, self.from_status)][0]


_PAYMENT_MOVES = {
    Actor.SYSTEM: _PaymentMove(Action.PAY, "system", PAID_BY_WECHAT_NOTE),
    Actor.DISTRIBUTOR: _PaymentMove(
        Action.RECORD_OFFLINE_PAYMENT, "distributor", "经销商登记线下收款"
    ),
}


async def _insert_event(order_id: int, event: OrderEvent) -> None:
    await sql.execute(
        "INSERT INTO order_events (order_id, actor_id, actor_role, from_status, to_status,"
        " note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        order_id,
        event.actor_id,  # type: ignore[attr-defined]
        event.actor_role,
        event.from_status,
        event.to_status,
        event.note,
        event.created_at,
    )


async def _apply(
    deps: Deps,
    order_id: int,
    current: OrderStatus,
    action: Action,
    *,
    actor: Actor,
    actor_user_id: int | None,
    actor_role: str,
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> Earnings:
    """Move the order from `current` by `action`, or raise StatusChanged if it has moved; what
    the order earns once paid (read by the same statement, for payments to credit).

    Fixed SQL (infra/sql.py): payments mark orders paid through here at notification rate.
    """
    changes = changes or {}
    if unknown := set(changes) - set(_CHANGEABLE):
        raise TypeError(f"an order action can not change {sorted(unknown)}")
    target = next_status(current, action, actor)
    now = deps.clock.now()
    # Payments call this inside their own transaction; StatusChanged, the only refusal
    # raised in the block, comes before anything is written (see sql.transaction).
    async with sql.transaction():
        moved = await sql.change_and_record(
            _MOVE_ORDER,
            _RECORD_MOVE,
            target.value,
            now,
            *(changes.get(column) for column in _CHANGEABLE),
            order_id,
            current.value,
            actor_user_id,
            actor_role,
            note,
            returning=_MOVED,
        )
        if not moved:
            raise StatusChanged()
        if (action, current) in RELEASES_STOCK:
            lines = await sql.fetch(
                # Refunded units are their refund's to put back (or not: damaged goods).
                "SELECT o.distributor_id, l.sku_id, l.quantity - l.refunded_quantity AS quantity"
                " FROM order_lines l"
                " JOIN orders o ON o.id = l.order_id WHERE l.order_id = $1",
                order_id,
            )
            await catalog_service.release_stock(
                lines[0]["distributor_id"], [(line["sku_id"], line["quantity"]) for line in lines]
            )
            await promotions_service.release_uses(order_id, now)
            await coupons_service.give_back(order_id, now)
            await ledger_service.return_rebate(moved[0]["store_id"], order_id, now)
        if target == OrderStatus.PAID:
            await events.record(deps, paid_event(moved[0], now))
        elif target == OrderStatus.CANCELLED:
            await events.record(
                deps,
                OrderCancelled(
                    order_id=order_id,
                    store_id=moved[0]["store_id"],
                    expired=action == Action.EXPIRE,
                    cancelled_at=now,
                ),
            )
        elif target == OrderStatus.SHIPPED:
            await events.record(deps, OrderShipped(order_id, moved[0]["store_id"], now))
        elif action == Action.SIGN:
            await events.record(deps, DeliverySigned(order_id, moved[0]["store_id"], now))
    return Earnings(
        order_id=order_id,
        brand_id=moved[0]["brand_id"],
        store_id=moved[0]["store_id"],
        points=moved[0]["points_earned"],
        rebate_fen=moved[0]["rebate_fen"],
        self_order=moved[0]["channel"] == Channel.SELF.value,
        payable_fen=moved[0]["payable_fen"],
    )


class OrderMoney(Protocol):
    """What the order pages show and do with money: payments' (see payments.service)."""

    async def money_by_order(self, order_ids: list[int]) -> dict[int, dict[str, int]]: ...

    async def net_paid_by_order(self, order_ids: list[int]) -> dict[int, int]: ...

    async def order_money(self, order_id: int) -> dict[str, Any]: ...

    def refund_actions(
        self, principal: Principal, order: Mapping[str, Any], money: Mapping[str, Any]
    ) -> list[str]: ...

    async def order_timeline(self, principal: Principal, order_id: int) -> list[dict[str, Any]]: ...

    async def preview_refund(
        self, principal: Principal, order_id: int, lines: Sequence[tuple[int, int]]
    ) -> dict[str, Any]: ...

    async def cancel_order(
        self, deps: Deps, principal: Principal, order_id: int, reason: str
    ) -> dict[str, Any]: ...


# Payments depends on ordering, so app.py plugs payments' service in for the order routes.
MONEY: Port[OrderMoney] = Port("ordering.service.MONEY")


async def _placed(deps: Deps, order: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Record that the order was placed, and return it as the buyer should see it: an order
    that costs nothing (an exchange voucher or other deductions cover it all) is paid by
    what reacts to OrderPlaced (payments, wired at the composition root) in this very
    transaction, so it never waits for WeChat Pay (which refuses 0 fen)."""
    await events.record(
        deps,
        OrderPlaced(
            order_id=order["id"],
            store_id=order["store_id"],
            payable_fen=order["payable_fen"],
            placed_at=now,
            channel=order["channel"],
        ),
    )
    if order["payable_fen"] != 0:
        return order
    return await order_detail(await Order.get(id=order["id"]))


def not_cancelled_sql(order_id: str) -> str:
    """An SQL condition, true when the order `order_id` (an SQL expression) is not cancelled:
    for other domains' statements that count the orders placed through them (the live
    room's ticker), so that they name neither this table nor its statuses."""
    return (
        f"EXISTS (SELECT 1 FROM orders o WHERE o.id = {order_id}"  # noqa: S608 (the caller's)
        f" AND o.status <> '{OrderStatus.CANCELLED.value}')"
    )


async def cancelled_among(order_ids: Sequence[int]) -> set[int]:
    """Which of these orders were cancelled (by the store or staff, or expired unpaid)."""
    if not order_ids:
        return set()
    rows = await sql.fetch(
        "SELECT id FROM orders WHERE id IN ($1) AND status = $2",
        list(order_ids),
        OrderStatus.CANCELLED.value,
    )
    return {int(row["id"]) for row in rows}


def _moving(order: Order) -> tuple[int, OrderStatus]:
    """What _apply needs to know of an order read through the ORM."""
    return order.id, OrderStatus(order.status)


async def act(
    deps: Deps,
    principal: Principal,
    order_id: int,
    action: Action,
    *,
    note: str = "",
    **changes: Any,
) -> dict[str, Any]:
    """A person moves an order along: cancel, accept, ship, deliver, sign."""
    order = await _visible_order(principal, order_id)
    if _not_theirs_to_cancel(actor_of(principal), action, order.channel):
        raise OrderNotFound()
    await _apply(
        deps,
        *_moving(order),
        action,
        actor=actor_of(principal),
        actor_user_id=principal.user_id,
        actor_role=principal.role or "",
        note=note,
        changes=changes,
    )
    return await order_detail(await Order.get(id=order.id))


async def ship(
    deps: Deps, principal: Principal, order_id: int, shipment: Shipment
) -> dict[str, Any]:
    """The distributor hands the order to a carrier (or its own van): one order's ship, the
    same for the single route and each order of a batch."""
    return await act(
        deps,
        principal,
        order_id,
        Action.SHIP,
        note=shipment.logistics_note,
        logistics_note=shipment.logistics_note,
        carrier=shipment.carrier,
        tracking_no=shipment.tracking_no,
    )


# How many orders one batch action may name: a page of the console's list at most.
MAX_BATCH = 100


async def for_each_order(
    order_ids: Sequence[int], move: Callable[[int], Awaitable[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """A batch action: `move` each order in turn, each in its own transaction (act()), so one
    order that may not move (another status, not the caller's: not found) is reported with
    its refusal and does not hold back the others. One answer per order, in the given order."""
    results = []
    for order_id in order_ids:
        try:
            moved = await move(order_id)
        except DomainError as refusal:
            results.append({"order_id": order_id, "ok": False, "error": refusal.as_error()})
        else:
            results.append({"order_id": order_id, "ok": True, "status": moved["status"]})
    return results


def _not_theirs_to_cancel(actor: Actor, action: Action, channel: str) -> bool:
    """A salesperson may only withdraw the orders they placed for a store (proxy orders)."""
    return action == Action.CANCEL and actor == Actor.SALESPERSON and channel != Channel.PROXY


# What people do to an order's status themselves (payment and expiry come from the system).
PERSON_ACTIONS = (
    Action.ACCEPT,
    Action.SHIP,
    Action.DELIVER,
    Action.RECORD_OFFLINE_PAYMENT,
    Action.CANCEL,
    Action.SIGN,
)


def status_actions(principal: Principal, order: Mapping[str, Any]) -> list[str]:
    """The status actions the caller may take on the order now, by the very rules act() and
    record_payment enforce: what a client offers, so it never offers what would be refused."""
    actor = actor_of(principal)
    status = OrderStatus(order["status"])
    return [
        action.value
        for action in PERSON_ACTIONS
        if permitted(status, action, actor)
        and not _not_theirs_to_cancel(actor, action, order["channel"])
    ]


async def visible_order(principal: Principal, order_id: int) -> Order:
    """The order if the caller may see it (for other domains acting on orders), else 404."""
    return await _visible_order(principal, order_id)


@dataclass(frozen=True)
class Earnings:
    """What a paid order earns its store (points, rebate): the promotions' result, kept on
    the order when it was placed. With what first-order rewards look at."""

    order_id: int
    brand_id: int
    store_id: int
    points: int
    rebate_fen: int
    self_order: bool = False
    payable_fen: int = 0


async def earnings(order_id: int) -> Earnings:
    order = await Order.get(id=order_id)
    return Earnings(
        order_id=order.id,
        brand_id=order.brand_id,  # type: ignore[attr-defined]
        store_id=order.store_id,  # type: ignore[attr-defined]
        points=order.points_earned,
        rebate_fen=order.rebate_fen,
    )


async def record_payment(
    deps: Deps,
    order_id: int,
    *,
    actor: Actor,
    actor_user_id: int | None,
    note: str | None = None,
) -> Earnings | None:
    """Mark an order paid, and say what it earns; None when it can no longer be paid
    (cancelled or expired meanwhile).

    Call inside the transaction that records the payment, so both commit together.
    """
    move = _PAYMENT_MOVES[actor]
    # Payment is taken only while the order waits for it, so there is no status to read
    # first: the guarded update from that one status succeeds or finds the order moved on.
    try:
        return await _apply(
            deps,
            order_id,
            move.from_status,
            move.action,
            actor=actor,
            actor_user_id=actor_user_id,
            actor_role=move.actor_role,
            note=note or move.note,
        )
    except (IllegalTransition, StatusChanged):
        return None


def paid_event(moved: Mapping[str, Any], now: datetime) -> OrderPaid:
    """OrderPaid of an order moved to paid, from the row the move returned (its
    PAID_EVENT_COLUMNS, from `_MOVED` or paid_at_once_sql's `moved`): both paths tell the
    same."""
    return OrderPaid(
        order_id=int(moved["id"]),
        brand_id=int(moved["brand_id"]),
        store_id=int(moved["store_id"]),
        payable_fen=int(moved["payable_fen"]),
        paid_at=now,
    )


@dataclass(frozen=True)
class PaidAtOnceSql:
    """Fixed SQL for payments to settle a WeChat payment and its order in one PostgreSQL
    statement.

    `lock` selects and locks (FOR UPDATE) the order `order_id` when a payment can settle it
    with nothing else to do: it waits for payment, earns no points or rebate, and its store
    has had its first paid order (points, rebate and first-order rewards are credited
    through the ledger, in the full path). `move` is two CTEs that move the orders in a CTE
    named `settling` (column `order_id`) to paid with their audit rows: the very statements
    of record_payment (_move_sql), with the transition table's values written in. The moved
    orders are in the CTE `moved`, with the columns paid_event reads.
    """

    lock: str
    move: str


def _literal(text: str) -> str:
    """A constant of this module as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def paid_at_once_sql(order_id: str, now: str) -> PaidAtOnceSql:
    """`order_id`, `now`: SQL expressions (placeholders) for the order and the time."""
    payment = _PAYMENT_MOVES[Actor.SYSTEM]
    waiting = _literal(payment.from_status.value)
    # Only constants of this module and the caller's placeholders go into the text.
    lock = (
        f"SELECT id FROM orders WHERE id = {order_id} AND status = {waiting}"  # noqa: S608
        " AND points_earned = 0 AND rebate_fen = 0"
        # and the store has had its first paid (self) order: no first-order reward is due
        # (org's rule, on org's table: org writes the condition).
        " AND "
        + org_service.first_orders_paid_sql("orders.store_id", "orders.channel", Channel.SELF.value)
        + " FOR UPDATE"
    )
    update, record = _move_sql(
        which="IN (SELECT order_id FROM settling)",
        order_id="id",
        from_status=waiting,
        to_status=_literal(payment.to_status.value),
        now=now,
        actor_id="CAST(NULL AS BIGINT)",
        actor_role=_literal(payment.actor_role),
        note=_literal(payment.note),
    )
    move = f"moved AS ({update} RETURNING {_MOVED}), moved_recorded AS ({record} FROM moved)"
    return PaidAtOnceSql(lock=lock, move=move)


# ---- refunds of units ---------------------------------------------------------------------


@dataclass(frozen=True)
class RefundedUnits:
    """Units of one line a refund takes, and what they paid (their share of the line)."""

    line_id: int
    quantity: int
    amount_fen: int


async def take_refund_units(
    order_id: int, requested: Sequence[tuple[int, int]]
) -> list[RefundedUnits]:
    """Count `quantity` more units of each (line id, quantity) of the order as refunded, and
    say what they paid back; inside the refund's transaction (raising rolls back the lines
    taken before).

    One guarded UPDATE per line decides and writes (never more units than the line has),
    and holds the line's row until commit, so the amount read after it is the line's alone:
    the units' share is what the units refunded so far carry of the line's paid amount by
    largest remainder, less what was paid back already, so however the units are refunded
    the parts add up to exactly what the line paid. Lines are taken in id order so that
    concurrent refunds of one order never deadlock.
    """
    taken = []
    for line_id, quantity in sorted(requested):
        row = await sql.fetch_one(
            "UPDATE order_lines SET refunded_quantity = refunded_quantity + $1"
            " WHERE id = $2 AND order_id = $3 AND refunded_quantity + $1 <= quantity"
            " RETURNING quantity, payable_fen, refunded_quantity, refunded_fen",
            quantity,
            line_id,
            order_id,
        )
        if row is None:
            line = await sql.fetch_one(
                "SELECT quantity, refunded_quantity FROM order_lines"
                " WHERE id = $1 AND order_id = $2",
                line_id,
                order_id,
            )
            if line is None:
                raise OrderLineNotFound(details={"line_id": line_id})
            raise _exceeded(
                line_id, int(line["quantity"]) - int(line["refunded_quantity"]), quantity
            )
        # The update has counted these units already: the share is up to the new count.
        amount = refund_of_units(
            int(row["payable_fen"]),
            int(row["quantity"]),
            int(row["refunded_quantity"]) - quantity,
            int(row["refunded_fen"]),
            quantity,
        )
        if amount:
            await sql.execute(
                "UPDATE order_lines SET refunded_fen = refunded_fen + $1 WHERE id = $2",
                amount,
                line_id,
            )
        taken.append(RefundedUnits(line_id, quantity, amount))
    return taken


def _exceeded(line_id: int, left: int, quantity: int) -> RefundQuantityExceeded:
    return RefundQuantityExceeded(
        f"该商品还可退 {left} 件，本次申请退 {quantity} 件",
        details={"line_id": line_id, "refundable_quantity": left},
    )


async def preview_refund_units(
    order_id: int, requested: Sequence[tuple[int, int]]
) -> list[RefundedUnits]:
    """What refunding these (line id, quantity) would pay back now, by take_refund_units'
    rules, writing nothing; refused as that refund would be (unknown line, too many units)."""
    rows = await sql.fetch(
        "SELECT id, quantity, payable_fen, refunded_quantity, refunded_fen FROM order_lines"
        " WHERE order_id = $1 AND id IN ($2)",
        order_id,
        sorted({line_id for line_id, _ in requested}),
    )
    lines = {int(row["id"]): row for row in rows}
    previewed = []
    for line_id, quantity in sorted(requested):
        row = lines.get(line_id)
        if row is None:
            raise OrderLineNotFound(details={"line_id": line_id})
        left = int(row["quantity"]) - int(row["refunded_quantity"])
        if quantity > left:
            raise _exceeded(line_id, left, quantity)
        amount = refund_of_units(
            int(row["payable_fen"]),
            int(row["quantity"]),
            int(row["refunded_quantity"]),
            int(row["refunded_fen"]),
            quantity,
        )
        previewed.append(RefundedUnits(line_id, quantity, amount))
    return previewed


async def give_back_refund_units(units: Sequence[RefundedUnits]) -> None:
    """A refund of units failed: they are refundable again (in its failing transaction)."""
    for unit in sorted(units, key=lambda u: u.line_id):
        await sql.execute(
            "UPDATE order_lines SET refunded_quantity = refunded_quantity - $1,"
            " refunded_fen = refunded_fen - $2 WHERE id = $3",
            unit.quantity,
            unit.amount_fen,
            unit.line_id,
        )


async def restock_refunded_units(order_id: int, units: Sequence[tuple[int, int]]) -> None:
    """Put refunded units (line id, quantity) back into the stock of the order's distributor,
    as a cancelled order's are."""
    if not units:
        return
    rows = await sql.fetch(
        "SELECT o.distributor_id, l.id, l.sku_id FROM order_lines l"
        " JOIN orders o ON o.id = l.order_id WHERE l.order_id = $1 AND l.id IN ($2)",
        order_id,
        [line_id for line_id, _ in units],
    )
    sku_of = {int(row["id"]): int(row["sku_id"]) for row in rows}
    await catalog_service.release_stock(
        rows[0]["distributor_id"], [(sku_of[line_id], quantity) for line_id, quantity in units]
    )


async def refunded_list_share(order_id: int) -> tuple[int, int]:
    """The list value of the units refunded, and of all units bought: what part of an order
    that cost nothing (so no money to measure by) its refunds have given back."""
    row = await sql.fetch_one(
        "SELECT COALESCE(SUM(refunded_quantity * list_unit_price_fen), 0) AS refunded,"
        " COALESCE(SUM(quantity * list_unit_price_fen), 0) AS bought"
        " FROM order_lines WHERE order_id = $1",
        order_id,
    )
    assert row is not None  # an aggregate always returns its row
    return int(row["refunded"]), int(row["bought"])


async def earned_by_units(
    order_id: int, refunded: Mapping[int, int]
) -> dict[ledger_service.AccountKind, int] | None:
    """What the units refunded so far (line id → units) earned, per ledger kind: each line's
    points and rebate split over its units by largest remainder (unit_shares_upto, as its
    money is), so refunding every unit in any steps takes back exactly what the lines earned.
    None for an order placed before lines kept their earnings (all 0 while the order earns):
    its refunds take back by the money share, as when it was placed."""
    rows = await sql.fetch(
        "SELECT id, quantity, points_earned, rebate_fen FROM order_lines WHERE order_id = $1",
        order_id,
    )
    if not any(row["points_earned"] or row["rebate_fen"] for row in rows):
        return None
    due = dict.fromkeys((ledger_service.AccountKind.POINTS, ledger_service.AccountKind.REBATE), 0)
    for row in rows:
        units, count = int(row["quantity"]), refunded.get(int(row["id"]), 0)
        due[ledger_service.AccountKind.POINTS] += unit_shares_upto(
            int(row["points_earned"]), units, count
        )
        due[ledger_service.AccountKind.REBATE] += unit_shares_upto(
            int(row["rebate_fen"]), units, count
        )
    return due


async def overdue_order_ids(deps: Deps) -> list[int]:
    """Unpaid orders whose payment window has passed, oldest first."""
    overdue = Order.filter(
        status=OrderStatus.PENDING_PAYMENT.value, pay_deadline__lte=deps.clock.now()
    )
    ids = await overdue.order_by("pay_deadline").limit(EXPIRY_BATCH).values_list("id", flat=True)
    return [int(order_id) for order_id in ids]  # type: ignore[call-overload]


async def expire_unpaid(deps: Deps, *, keep: frozenset[int] = frozenset()) -> int:
    """Cancel orders whose payment window has passed and give their stock back.

    `keep`: orders whose payment state could not be settled yet (payments decides), left
    for the next run rather than cancelled while money may be on its way.
    """
    expired = 0
    overdue_ids = [order_id for order_id in await overdue_order_ids(deps) if order_id not in keep]
    for order in await Order.filter(id__in=overdue_ids).order_by("pay_deadline"):
        try:
            await _apply(
                deps,
                *_moving(order),
                Action.EXPIRE,
                actor=Actor.SYSTEM,
                actor_user_id=None,
                actor_role="system",
                note="超时未支付，系统自动取消",
                changes={"cancel_reason": "超时未支付"},
            )
            expired += 1
        except StatusChanged:
            continue  # paid or cancelled meanwhile: nothing to do
    return expired


# ---- reading orders -------------------------------------------------------------------------


async def get_order(principal: Principal, order_id: int) -> dict[str, Any]:
    """One order the caller may see (a store its own, a salesperson those of the stores they
    serve, staff their distributor's or brand's; anything else is not found), named by its
    store for the viewers who are not that store."""
    order = await _visible_order(principal, order_id)
    detail = await order_detail(order)
    contact = await org_service.order_contact(
        order.store_id,  # type: ignore[attr-defined]
        order.salesperson_id,  # type: ignore[attr-defined]
    )
    store = contact["store"]
    return {
        **detail,
        "store_name": store["name"] if store else "",
        "store": store,
        "salesperson": contact["salesperson"],
    }


async def events_of(order_id: int) -> list[dict[str, Any]]:
    """The order's status changes in order, as order_detail's timeline shows them."""
    return [event_view(e) for e in await OrderEvent.filter(order_id=order_id).order_by("id")]


# 售后 (after-sale): an order its store came back about — it has a refund that did not fail
# (asked for, on its way or paid back, whole or in part), or a complaint about it that is
# still open (not resolved or closed). Payments and complaints own those rows and depend on
# ordering: ordering asks them through this port (a query, not an event), and the
# composition root plugs in their queries of `order_id` values.
AfterSaleSource = Callable[[], QuerySet[Any]]
AFTER_SALE_SOURCES: Port[tuple[AfterSaleSource, ...]] = Port("ordering.service.AFTER_SALE_SOURCES")


def _after_sale() -> Q:
    sources = AFTER_SALE_SOURCES()
    if not sources:
        return Q(id__in=[])
    return Q(*(Q(id__in=Subquery(source())) for source in sources), join_type=Q.OR)


# Filters that are not plain column lookups: a search by order number or store name, and
# the after-sale queue (see above).
SEARCH, AFTER_SALE = "search", "after_sale"


def _matching(principal: Principal, filters: Mapping[str, Any]) -> QuerySet[Order]:
    """The caller's orders that pass `filters`: column lookups (status, store_id,
    created_at__gte…), None for no filter, plus SEARCH and AFTER_SALE. The one place the
    list, its counts, the export and the summary filter, so they always agree."""
    lookups = {
        key: value
        for key, value in filters.items()
        if value is not None and key not in (SEARCH, AFTER_SALE)
    }
    query = scoped(principal, Order.all(), ORDER_TENANCY).filter(**lookups)
    if search := filters.get(SEARCH):
        query = query.filter(Q(order_no__icontains=search) | Q(store__name__icontains=search))
    if filters.get(AFTER_SALE):
        query = query.filter(_after_sale())
    return query


async def after_sale_among(order_ids: Sequence[int]) -> set[int]:
    """Which of these orders are after-sale (see _after_sale), in one query."""
    if not order_ids:
        return set()
    found = await Order.filter(Q(id__in=list(order_ids)), _after_sale()).values_list(
        "id", flat=True
    )
    return {int(order_id) for order_id in found}  # type: ignore[call-overload]


async def list_orders(
    principal: Principal,
    *,
    before: int | None,
    limit: int,
    filters: dict[str, Any],
) -> list[dict[str, Any]]:
    """Newest first, paged by id (keyset): `before` is the last id of the previous page. Each
    with its store's, distributor's and salesperson's names (joined in the page's one query),
    what it bought and whether it is after-sale: a fixed number of queries whatever the page
    size."""
    query = _matching(principal, filters)
    if before:
        query = query.filter(id__lt=before)
    orders = (
        await query.order_by("-id")
        .limit(limit + 1)
        .select_related("store", "distributor", "salesperson")
    )
    ids = [order.id for order in orders]
    summaries = await _line_summaries(ids)
    after_sale = await after_sale_among(ids)
    return [
        {
            **order_view(order),
            "store_name": order.store.name,
            "distributor_name": order.distributor.name,
            "salesperson_name": order.salesperson.name if order.salesperson else None,
            "summary": summaries.get(order.id),
            "after_sale": order.id in after_sale,
        }
        for order in orders
    ]


async def counts(principal: Principal, filters: Mapping[str, Any]) -> dict[str, Any]:
    """How many of the caller's orders pass `filters` in each status, and how many are
    after-sale (an after-sale order is counted in its status too): the queue's tabs. The
    status and after-sale filters themselves are ignored, so every tab shows its count."""
    query = _matching(principal, {**filters, "status": None, AFTER_SALE: None})
    rows = await query.annotate(orders=Count("id")).group_by("status").values("status", "orders")
    by_status = {status.value: 0 for status in OrderStatus}
    for row in rows:
        by_status[row["status"]] = int(row["orders"])
    return {
        "by_status": by_status,
        "after_sale": await query.filter(_after_sale()).count(),
        "total": sum(by_status.values()),
    }


async def store_order_summaries(
    principal: Principal, store_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """For a page of stores, each one's orders in one statement whatever the page size: how
    many, and the last one (when, how much). Cancelled orders were never bought, so they are
    left out. A distributor's staff count only the orders placed with their distributor."""
    if not store_ids:
        return {}
    args: list[Any] = [list(store_ids), OrderStatus.CANCELLED.value]
    mine = ""
    if principal.role in DISTRIBUTOR_ROLES:
        args.append(principal.distributor_id)
        mine = " AND distributor_id = $3"
    rows = await sql.fetch(
        "SELECT o.store_id, o.id, o.order_no, o.created_at, o.payable_fen, c.orders"  # noqa: S608
        " FROM orders o JOIN (SELECT store_id, COUNT(*) AS orders, MAX(id) AS last_id"
        f" FROM orders WHERE store_id IN ($1) AND status <> $2{mine} GROUP BY store_id) c"
        " ON o.id = c.last_id",
        *args,
    )
    created_at = Order._meta.fields_map["created_at"]
    return {
        int(row["store_id"]): {
            "order_count": int(row["orders"]),
            "last_order": {
                "id": int(row["id"]),
                "order_no": row["order_no"],
                "created_at": created_at.to_python_value(row["created_at"]).isoformat(),
                "payable_fen": int(row["payable_fen"]),
            },
        }
        for row in rows
    }


def _summary_text(first: str, unit: str, lines: int, quantity: int) -> str:
    if lines == 1:
        return f"{first} × {quantity}{unit}"
    return f"{first} 等 {lines} 种商品，共 {quantity} 件"


async def _line_summaries(order_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """For a page of orders, what each bought, in one statement whatever the page size: its
    first bought line's names, how many lines and units were bought, and the gift units."""
    if not order_ids:
        return {}
    rows = await sql.fetch(
        "SELECT a.order_id, l.sku_id, l.product_name, l.sku_name, l.unit, a.lines, a.quantity,"
        " a.gift_quantity FROM (SELECT order_id,"
        " MIN(CASE WHEN gift_promotion_id IS NULL THEN id END) AS first_id,"
        " SUM(CASE WHEN gift_promotion_id IS NULL THEN 1 ELSE 0 END) AS lines,"
        " SUM(CASE WHEN gift_promotion_id IS NULL THEN quantity ELSE 0 END) AS quantity,"
        " SUM(CASE WHEN gift_promotion_id IS NULL THEN 0 ELSE quantity END) AS gift_quantity"
        " FROM order_lines WHERE order_id IN ($1) GROUP BY order_id) a"
        " JOIN order_lines l ON l.id = a.first_id",
        list(order_ids),
    )
    summaries = {}
    for row in rows:
        first = f"{row['product_name']} {row['sku_name']}".strip()
        lines, quantity = int(row["lines"]), int(row["quantity"])
        summaries[int(row["order_id"])] = {
            "first_sku_id": int(row["sku_id"]),
            "first_product_name": row["product_name"],
            "first_sku_name": row["sku_name"],
            "first_unit": row["unit"],
            "line_count": lines,
            "total_quantity": quantity,
            "gift_quantity": int(row["gift_quantity"]),
            "text": _summary_text(first, row["unit"], lines, quantity),
        }
    return summaries


async def export_batches(
    principal: Principal, *, filters: dict[str, Any], batch_size: int = EXPORT_BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """The orders an export shows, oldest first, in keyset batches of plain rows.

    Scoped and filtered exactly like the order list. Each batch is one query that joins the
    store, distributor and salesperson names, so memory stays flat however many orders match
    and no row costs a query of its own. The salesperson name is None when there is none.
    """
    query = _matching(principal, filters)
    after = 0
    while True:
        batch = (
            await query.filter(id__gt=after)
            .order_by("id")
            .limit(batch_size)
            .values(
                "id",
                "order_no",
                "channel",
                "status",
                "list_amount_fen",
                "discount_fen",
                "created_at",
                "updated_at",
                store_name="store__name",
                distributor_name="distributor__name",
                salesperson_name="salesperson__name",
            )
        )
        if batch:
            yield batch
        if len(batch) < batch_size:
            return
        after = batch[-1]["id"]


async def summary(principal: Principal, filters: dict[str, Any]) -> dict[str, Any]:
    """Orders and amounts by channel, and proxy orders (代下单) by salesperson: proxy ordering
    is reported apart, so the brand sees what stores order by themselves."""
    query = _matching(principal, filters).exclude(status=OrderStatus.CANCELLED.value)
    by_channel = (
        await query.annotate(orders=Count("id"), payable_fen=Sum("payable_fen"))
        .group_by("channel")
        .order_by("channel")
        .values("channel", "orders", "payable_fen")
    )
    by_salesperson = (
        await query.filter(channel=Channel.PROXY.value)
        .annotate(orders=Count("id"), payable_fen=Sum("payable_fen"))
        .group_by("salesperson_id", "salesperson__name")
        .order_by("salesperson_id")
        .values("salesperson_id", "salesperson__name", "orders", "payable_fen")
    )
    return {
        "by_channel": [
            {
                "channel": row["channel"],
                "orders": row["orders"],
                "payable_fen": int(row["payable_fen"] or 0),
            }
            for row in by_channel
        ],
        "proxy_by_salesperson": [
            {
                "salesperson_id": row["salesperson_id"],
                "salesperson_name": row["salesperson__name"],
                "orders": row["orders"],
                "payable_fen": int(row["payable_fen"] or 0),
            }
            for row in by_salesperson
        ],
    }


# ---- printing -------------------------------------------------------------------------------

# How many orders one print may name: a day's round of one van, with room to spare.
MAX_PRINT = 50


def in_cases(quantity: int, case_size: int) -> dict[str, int]:
    """Units as a warehouse counts them: whole cases of the SKU's case size (箱规) and the
    loose units left over; a SKU sold by the unit (case size 1) is all loose units."""
    if case_size <= 1:
        return {"quantity": quantity, "cases": 0, "loose": quantity}
    return {"quantity": quantity, "cases": quantity // case_size, "loose": quantity % case_size}


def _sku_facts(sku: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "spec": (sku or {}).get("spec") or "",
        "barcode": (sku or {}).get("barcode"),
        "case_size": int((sku or {}).get("case_size") or 1),
    }


async def print_orders(principal: Principal, order_ids: Sequence[int]) -> dict[str, Any]:
    """What a picking list (拣货单) and delivery notes (送货单) print for these orders: each
    order with its store's address and contact and its lines by case and unit, and every
    SKU summed over them. Units already refunded are neither picked nor delivered. Any id
    the caller may not see makes the whole print not found."""
    wanted = list(dict.fromkeys(order_ids))
    orders = await (
        scoped(principal, Order.filter(id__in=wanted), ORDER_TENANCY)
        .select_related("store", "salesperson")
        .order_by("id")
    )
    if missing := sorted(set(wanted) - {order.id for order in orders}):
        raise OrderNotFound(details={"order_ids": missing})
    by_order: dict[int, list[OrderLine]] = {order.id: [] for order in orders}
    for line in await OrderLine.filter(order_id__in=wanted).order_by("id"):
        by_order[line.order_id].append(line)  # type: ignore[attr-defined]
    brand_id = orders[0].brand_id if orders else 0  # type: ignore[attr-defined]
    skus = await catalog_service.skus_by_id(
        brand_id,
        {line.sku_id for lines in by_order.values() for line in lines},  # type: ignore[attr-defined]
    )
    picking: dict[int, dict[str, Any]] = {}
    printed = []
    for order in sorted(orders, key=lambda o: wanted.index(o.id)):
        lines = []
        for line in by_order[order.id]:
            sku_id = line.sku_id  # type: ignore[attr-defined]
            facts = _sku_facts(skus.get(sku_id))
            units = line.quantity - line.refunded_quantity
            lines.append(
                {
                    "sku_id": sku_id,
                    "product_name": line.product_name,
                    "sku_name": line.sku_name,
                    "unit": line.unit,
                    **facts,
                    **in_cases(units, facts["case_size"]),
                    "refunded_quantity": line.refunded_quantity,
                    "unit_price_fen": line.unit_price_fen,
                    "amount_fen": line.payable_fen - line.refunded_fen,
                    "gift": line.gift_promotion_id is not None,
                }
            )
            if units:
                picked = picking.setdefault(
                    sku_id,
                    {
                        "sku_id": sku_id,
                        "product_name": line.product_name,
                        "sku_name": line.sku_name,
                        "unit": line.unit,
                        **facts,
                        "quantity": 0,
                        "orders": 0,
                    },
                )
                picked["quantity"] += units
                picked["orders"] += 1
        store = order.store
        printed.append(
            {
                **order_view(order),
                "salesperson_name": order.salesperson.name if order.salesperson else None,
                "store": {
                    "id": store.id,
                    "name": store.name,
                    "contact_name": store.contact_name,
                    "phone": store.phone,
                    "address": store.address,
                },
                "lines": lines,
                "amount_fen": sum(line["amount_fen"] for line in lines),
            }
        )
    return {
        "orders": printed,
        "picking": [
            {**sku, **in_cases(sku["quantity"], sku["case_size"])}
            for sku in sorted(picking.values(), key=lambda s: (s["product_name"], s["sku_name"]))
        ],
    }


PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.ACCEPTED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)


async def paid_order_ids(
    store_id: int, *, min_payable_fen: int, placed_from: datetime, placed_until: datetime
) -> list[int]:
    """The store's orders placed in the window, paying at least `min_payable_fen`, that were
    paid and not cancelled since, oldest first: what an incentive (the lottery wheel) counts."""
    rows = await sql.fetch(
        "SELECT id FROM orders WHERE store_id = $1 AND status IN ($2) AND payable_fen >= $3"
        " AND created_at >= $4 AND created_at < $5 ORDER BY id",
        store_id,
        [status.value for status in PAID_STATUSES],
        min_payable_fen,
        placed_from,
        placed_until,
    )
    return [int(row["id"]) for row in rows]


FULFILLED_STATUSES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)


async def fulfilled_with_coupons(distributor_id: int) -> list[sql.Row]:
    """The distributor's delivered or completed orders that used a coupon: order id, number
    and store, coupon id and what the coupon took off (for voucher claims, 核销)."""
    rows = await sql.fetch(
        "SELECT id AS order_id, order_no, brand_id, store_id, coupon_id, coupon_discount_fen"
        " FROM orders WHERE distributor_id = $1 AND status IN ($2) AND coupon_id IS NOT NULL"
        " ORDER BY id",
        distributor_id,
        [status.value for status in FULFILLED_STATUSES],
    )
    stores = await _store_names(rows)
    return [
        {
            "order_id": row["order_id"],
            "order_no": row["order_no"],
            "store_name": stores.get(row["store_id"], ""),
            "coupon_id": row["coupon_id"],
            "coupon_discount_fen": row["coupon_discount_fen"],
        }
        for row in rows
    ]


async def _store_names(rows: Sequence[sql.Row]) -> dict[int, str]:
    """The names of the stores of `rows` (orders of one distributor, so of one brand)."""
    if not rows:
        return {}
    return await org_service.names(rows[0]["brand_id"], "store", (r["store_id"] for r in rows))


async def order_labels(distributor_id: int, order_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """How people name the distributor's orders among `order_ids`: number and store."""
    if not order_ids:
        return {}
    rows = await sql.fetch(
        "SELECT id, order_no, brand_id, store_id FROM orders"
        " WHERE distributor_id = $1 AND id IN ($2)",
        distributor_id,
        list(order_ids),
    )
    stores = await _store_names(rows)
    return {
        row["id"]: {"order_no": row["order_no"], "store_name": stores.get(row["store_id"], "")}
        for row in rows
    }


async def store_owns_order(store_id: int, order_id: int) -> bool:
    """Whether the order is the store's own (for other domains naming an order)."""
    row = await sql.fetch_one(
        "SELECT 1 AS found FROM orders WHERE id = $1 AND store_id = $2", order_id, store_id
    )
    return row is not None


async def sign_by_scan(deps: Deps, principal: Principal, order_id: int) -> bool:
    """The store signs for its own order's delivery by scanning a box that rode on it (product
    codes' 扫码入库), inside the scan's transaction: whether it signed now. An order of
    another store, or not shipped or delivered (already signed, cancelled), is left as it is."""
    row = await sql.fetch_one("SELECT status, store_id FROM orders WHERE id = $1", order_id)
    if row is None or row["store_id"] != principal.store_id:
        return False
    current = OrderStatus(row["status"])
    if current not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return False
    try:
        # Joins the caller's transaction; StatusChanged comes before anything is written.
        await _apply(
            deps,
            order_id,
            current,
            Action.SIGN,
            actor=Actor.STORE,
            actor_user_id=principal.user_id,
            actor_role=principal.role or "",
            note="扫箱码入库签收",
        )
    except StatusChanged:
        return False  # signed (or moved) by someone else a moment ago
    return True


@dataclass(frozen=True, slots=True)
class OrderForCodes:
    """What product codes need of an order whose boxes are named (codes' deliveries)."""

    id: int
    order_no: str
    brand_id: int
    distributor_id: int
    store_id: int
    status: str
    sku_ids: frozenset[int]


async def order_for_codes(principal: Principal, order_id: int) -> OrderForCodes:
    """The order if the caller may see it (else 404 order.not_found), with its lines' SKUs."""
    order = await _visible_order(principal, order_id)
    sku_ids = await OrderLine.filter(order_id=order.id).values_list("sku_id", flat=True)
    return OrderForCodes(
        id=order.id,
        order_no=order.order_no,
        brand_id=order.brand_id,  # type: ignore[attr-defined]
        distributor_id=order.distributor_id,  # type: ignore[attr-defined]
        store_id=order.store_id,  # type: ignore[attr-defined]
        status=order.status,
        sku_ids=frozenset(int(s) for s in sku_ids),  # type: ignore[call-overload]
    )


async def order_numbers(brand_id: int, order_ids: Sequence[int]) -> dict[int, str]:
    """The order numbers of the brand's orders among `order_ids` (lists naming orders)."""
    wanted = sorted(set(order_ids))
    if not wanted:
        return {}
    rows = await sql.fetch(
        "SELECT id, order_no FROM orders WHERE brand_id = $1 AND id IN ($2)", brand_id, wanted
    )
    return {int(row["id"]): str(row["order_no"]) for row in rows}


# ---- reads for analytics -------------------------------------------------------------------

# Statuses whose orders count in the figures: paid, and not withdrawn since.
COUNTED_STATUSES = (
    OrderStatus.PAID.value,
    OrderStatus.ACCEPTED.value,
    OrderStatus.SHIPPED.value,
    OrderStatus.DELIVERED.value,
    OrderStatus.COMPLETED.value,
)


async def analytics_orders_changed(
    since: datetime, after: tuple[datetime, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Orders changed at or after `since`, oldest change first, `limit` at a time, the next
    page after `after` (the last one's (updated_at, id)): what the analytics refresh reads.
    Each with its lines (sku_id, quantity, list_amount_fen, discount_fen, payable_fen)."""
    if after is None:
        rows = await sql.fetch(
            "SELECT id, brand_id, distributor_id, store_id, channel, status, created_at,"
            " updated_at FROM orders WHERE updated_at >= $1 ORDER BY updated_at, id LIMIT $2",
            since,
            limit,
        )
    else:
        rows = await sql.fetch(
            "SELECT id, brand_id, distributor_id, store_id, channel, status, created_at,"
            " updated_at FROM orders WHERE updated_at > $1 OR (updated_at = $1 AND id > $2)"
            " ORDER BY updated_at, id LIMIT $3",
            after[0],
            after[1],
            limit,
        )
    orders = [dict(row) for row in rows]
    if not orders:
        return []
    lines = await sql.fetch(
        "SELECT order_id, sku_id, quantity, list_amount_fen, discount_fen, payable_fen"
        " FROM order_lines WHERE order_id IN ($1) ORDER BY id",
        [order["id"] for order in orders],
    )
    by_order: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        by_order.setdefault(int(line["order_id"]), []).append(dict(line))
    for order in orders:
        order["lines"] = by_order.get(int(order["id"]), [])
    return orders


def analytics_lines_sql() -> str:
    """A derived table of every order line with its order's (order_id, brand_id,
    distributor_id, store_id, channel, status, created_at, line_id, sku_id, quantity,
    list_amount_fen, discount_fen, payable_fen): the analytics rebuild sums it."""
    return (
        "SELECT o.id AS order_id, o.brand_id, o.distributor_id, o.store_id, o.channel,"
        " o.status, o.created_at, l.id AS line_id, l.sku_id, l.quantity, l.list_amount_fen,"
        " l.discount_fen, l.payable_fen FROM orders o JOIN order_lines l ON l.order_id = o.id"
    )


# ---- analytics: what promotions, coupons and live sessions earned (issue 21) ----------------


@dataclass(frozen=True, slots=True)
class EffectOrder:
    """A counted order as the effect figures read it: who, when, its GMV (what its lines
    pay), the promotions applied as stored, its coupon, and per promotion the list value of
    the gift lines it added."""

    id: int
    store_id: int
    distributor_id: int
    created_at: datetime
    gmv_fen: int
    promotions: list[dict[str, Any]]
    coupon_id: int | None
    coupon_discount_fen: int
    gifts_fen: dict[int, int]


async def analytics_effect_orders(brand_id: int, order_ids: Sequence[int]) -> list[EffectOrder]:
    """The brand's counted orders among `order_ids` (the others are left out), by id."""
    wanted = sorted(set(order_ids))
    if not wanted:
        return []
    orders = await Order.filter(
        brand_id=brand_id, id__in=wanted, status__in=COUNTED_STATUSES
    ).order_by("id")
    gifts: dict[int, dict[int, int]] = {}
    for order_id, promotion_id, list_fen in await OrderLine.filter(
        order_id__in=[order.id for order in orders], gift_promotion_id__isnull=False
    ).values_list("order_id", "gift_promotion_id", "list_amount_fen"):
        per_order = gifts.setdefault(int(order_id), {})
        per_order[int(promotion_id)] = per_order.get(int(promotion_id), 0) + int(list_fen)
    return [
        EffectOrder(
            id=order.id,
            store_id=order.store_id,  # type: ignore[attr-defined]
            distributor_id=order.distributor_id,  # type: ignore[attr-defined]
            created_at=order.created_at,
            gmv_fen=order.payable_fen,
            promotions=list(order.promotions or []),
            coupon_id=order.coupon_id,
            coupon_discount_fen=order.coupon_discount_fen,
            gifts_fen=gifts.get(order.id, {}),
        )
        for order in orders
    ]


async def analytics_store_totals(
    brand_id: int, start_at: datetime, end_at: datetime
) -> dict[int, tuple[int, int]]:
    """Per store of the brand, its counted orders placed in [start_at, end_at) and their GMV:
    what a promotion's reached and other stores did before and during it."""
    rows = (
        await Order.filter(
            brand_id=brand_id,
            status__in=COUNTED_STATUSES,
            created_at__gte=start_at,
            created_at__lt=end_at,
        )
        .annotate(orders=Count("id"), gmv=Sum("payable_fen"))
        .group_by("store_id")
        .values_list("store_id", "orders", "gmv")
    )
    return {int(store): (int(orders), int(gmv or 0)) for store, orders, gmv in rows}


async def analytics_ordering_brand_ids(since: datetime) -> list[int]:
    """The brands with counted orders placed since `since`."""
    rows = (
        await Order.filter(created_at__gte=since, status__in=COUNTED_STATUSES)
        .distinct()
        .values_list("brand_id", flat=True)
    )
    return sorted(int(brand_id) for brand_id in rows)  # type: ignore[call-overload]


async def analytics_sku_purchases(
    brand_id: int, since: datetime
) -> list[tuple[int, int, datetime]]:
    """(store, SKU, when the order was placed) for each paid line of the brand's counted
    orders placed since `since`, gifts left out (nobody reorders a gift)."""
    rows = await OrderLine.filter(
        order__brand_id=brand_id,
        order__created_at__gte=since,
        order__status__in=COUNTED_STATUSES,
        gift_promotion_id__isnull=True,
    ).values_list("order__store_id", "sku_id", "order__created_at")
    return [(int(store), int(sku), at) for store, sku, at in rows]


async def analytics_recent_orders(
    brand_id: int, store_ids: Sequence[int], since: datetime, limit: int
) -> list[dict[str, Any]]:
    """The newest orders (any status but cancelled) of the brand's stores among `store_ids`
    placed since `since`: {id, order_no, store_id, status, channel, payable_fen, created_at}."""
    if not store_ids:
        return []
    rows = (
        await Order.filter(brand_id=brand_id, store_id__in=list(store_ids), created_at__gte=since)
        .exclude(status=OrderStatus.CANCELLED.value)
        .order_by("-created_at", "-id")
        .limit(limit)
        .values("id", "order_no", "store_id", "status", "channel", "payable_fen", "created_at")
    )
    return [dict(row) for row in rows]


async def analytics_carts(
    brand_id: int, store_ids: Sequence[int], since: datetime
) -> list[dict[str, Any]]:
    """What the brand's stores among `store_ids` have left in their carts, changed since
    `since`: {store_id, sku_id, quantity, updated_at}, newest first."""
    if not store_ids:
        return []
    rows = (
        await CartItem.filter(
            store__brand_id=brand_id, store_id__in=list(store_ids), updated_at__gte=since
        )
        .order_by("-updated_at", "-id")
        .values("store_id", "sku_id", "quantity", "updated_at")
    )
    return [dict(row) for row in rows]


async def analytics_store_skus(
    store_id: int, distributor_id: int | None = None
) -> list[tuple[int, int, int]]:
    """(sku_id, units, gmv_fen) per SKU over the store's counted orders (only those placed
    with `distributor_id` when given): what a store profile splits by category."""
    lines = OrderLine.filter(order__store_id=store_id, order__status__in=COUNTED_STATUSES)
    if distributor_id:
        lines = lines.filter(order__distributor_id=distributor_id)
    rows = (
        await lines.group_by("sku_id")
        .annotate(units=Sum("quantity"), gmv=Sum("payable_fen"))
        .values_list("sku_id", "units", "gmv")
    )
    return [(int(sku), int(units or 0), int(gmv or 0)) for sku, units, gmv in rows]
