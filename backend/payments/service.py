"""Paying the distributor: WeChat Pay (service-provider mode) and offline, refunds, and the
reconciliation that completes or closes what a lost notification left open.

Every payment and refund is a row with an event history; a notification is applied once
(a guarded status change keyed by our out_trade_no, and WeChat's transaction id is unique);
amounts and merchant ids are checked against our records before anything is marked paid.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from backend.coupons import service as coupons_service
from backend.deps import Deps
from backend.identity import service as identity_service
from backend.identity.access import REFUNDER_ROLES, Principal
from backend.infra import events, sql
from backend.infra.logging import get_logger
from backend.integrations.wechat.pay import (
    NotificationRejected,
    RefundState,
    TransactionState,
    WechatPayError,
)
from backend.kernel.errors import Conflict, Unauthorized, UpstreamUnavailable
from backend.kernel.events import OrderPaid, OrderPlaced
from backend.ledger import service as ledger_service
from backend.ordering import service as ordering_service
from backend.ordering.service import Action, Actor, Order
from backend.org import service as org_service
from backend.payments.models import (
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundLine,
    RefundStatus,
)
from backend.promotions import service as promotions_service

log = get_logger("payments")
PREPAY_VALID_FOR = timedelta(hours=2)  # WeChat keeps a prepay_id usable this long
RECONCILE_AFTER = timedelta(minutes=1)
RECONCILE_BATCH = 100
# A payment still takes money in these states (a closed one, if the money came anyway).
_WAITING = [PaymentStatus.OPEN.value, PaymentStatus.CLOSED.value]


class NotPayable(Conflict):
    code = "payments.order_not_payable"
    message = "订单当前不能支付"


class DistributorCannotCollect(Conflict):
    code = "payments.distributor_not_onboarded"
    message = "该经销商尚未开通微信支付，请联系经销商线下付款"


class NoWechatAccount(Conflict):
    code = "payments.no_wechat_account"
    message = "请在微信小程序中登录后再支付"


class WechatPayUnavailable(UpstreamUnavailable):
    code = "payments.wechat_unavailable"
    message = "微信支付暂时不可用，请稍后再试"


class NotificationInvalid(Unauthorized):
    code = "payments.notification_invalid"
    message = "通知验签失败"


class RefundExceedsPaid(Conflict):
    code = "payments.refund_exceeds_paid"
    message = "退款金额超过可退金额"


class NothingToRefund(Conflict):
    code = "payments.nothing_to_refund"
    message = "该订单没有可退款的支付"


class NotRefundable(Conflict):
    code = "payments.order_not_refundable"
    message = "订单未付款或已取消，不能按商品退款"


# Who may refund (the refund route's guard and the order's offered actions both use it).
REFUNDERS = REFUNDER_ROLES


def _new_number(prefix: str, now: datetime) -> str:
    return f"{prefix}{now:%y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"


# Encodes an event's data exactly as the ORM would, for the hand-written INSERT below.
_EVENT_DATA = PaymentEvent._meta.fields_map["data"]


async def _event(
    payment_id: int, kind: str, now: datetime, refund_id: int | None = None, **data: Any
) -> None:
    # Fixed SQL (infra/sql.py): every notification writes one.
    await sql.execute(
        "INSERT INTO payment_events (payment_id, refund_id, kind, data, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        payment_id,
        refund_id,
        kind,
        _EVENT_DATA.to_db_value(data, PaymentEvent),
        now,
    )


# ---- views ----------------------------------------------------------------------------------


def payment_view(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "method": payment.method,
        "status": payment.status,
        "amount_fen": payment.amount_fen,
        "out_trade_no": payment.out_trade_no,
        "transaction_id": payment.transaction_id,
        "flagged_reason": payment.flagged_reason,
        "note": payment.note,
        "succeeded_at": payment.succeeded_at.isoformat() if payment.succeeded_at else None,
        "created_at": payment.created_at.isoformat(),
    }


def refund_view(refund: Refund, lines: list[RefundLine]) -> dict[str, Any]:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,  # type: ignore[attr-defined]
        "out_refund_no": refund.out_refund_no,
        "amount_fen": refund.amount_fen,
        "reason": refund.reason,
        "status": refund.status,
        "restock": refund.restock,
        # Units of order lines refunded (empty: a refund of an amount).
        "lines": [
            {
                "line_id": line.order_line_id,  # type: ignore[attr-defined]
                "quantity": line.quantity,
                "amount_fen": line.amount_fen,
            }
            for line in lines
        ],
        "succeeded_at": refund.succeeded_at.isoformat() if refund.succeeded_at else None,
        "created_at": refund.created_at.isoformat(),
    }


async def refund_views(refunds: list[Refund]) -> list[dict[str, Any]]:
    """The refunds with their lines, read in one query."""
    lines: dict[int, list[RefundLine]] = {refund.id: [] for refund in refunds}
    if refunds:
        for line in await RefundLine.filter(refund_id__in=list(lines)).order_by("id"):
            lines[line.refund_id].append(line)  # type: ignore[attr-defined]
    return [refund_view(refund, lines[refund.id]) for refund in refunds]


async def order_money(order_id: int) -> dict[str, Any]:
    """What was paid and refunded, derived from the payment and refund rows."""
    payments = await Payment.filter(order_id=order_id).order_by("id")
    refunds = await Refund.filter(order_id=order_id).order_by("id")
    paid = sum(p.amount_fen for p in payments if p.status == PaymentStatus.SUCCEEDED)
    refunded = sum(r.amount_fen for r in refunds if r.status == RefundStatus.SUCCEEDED)
    refunding = _refunded_from(payments)
    return {
        "paid_fen": paid,
        "refunded_fen": refunded,
        "net_paid_fen": paid - refunded,
        # What a refund of an amount may still take (refunds draw on this one payment).
        "payment_id": None if refunding is None else refunding.id,
        "refundable_fen": 0
        if refunding is None
        else refunding.amount_fen - refunding.refund_reserved_fen,
        "payments": [payment_view(p) for p in payments],
        "refunds": await refund_views(refunds),
    }


def _refunded_from(payments: Sequence[Payment]) -> Payment | None:
    """The payment an order's refunds draw on: its first succeeded one (payments by id)."""
    return next((p for p in payments if p.status == PaymentStatus.SUCCEEDED), None)


def refund_actions(
    principal: Principal, order: Mapping[str, Any], money: Mapping[str, Any]
) -> list[str]:
    """The refunds the caller may make on the order now (its detail and order_money), by
    refund_order's rules: `refund_lines` (units of lines still refundable, the order paid
    and not cancelled) and `refund_amount` (money of the payment not yet promised back)."""
    if principal.role not in REFUNDERS or money["payment_id"] is None:
        return []
    actions = []
    paid = order["status"] in {s.value for s in ordering_service.PAID_STATUSES}
    if paid and any(line["refundable_quantity"] > 0 for line in order["lines"]):
        actions.append("refund_lines")
    if money["refundable_fen"] > 0:
        actions.append("refund_amount")
    return actions


async def net_paid_by_order(order_ids: list[int]) -> dict[int, int]:
    """Net paid per order (succeeded payments minus succeeded refunds), as `order_money`
    derives it, for a whole batch of orders in two aggregate queries; 0 for no payment."""
    money = await money_by_order(order_ids)
    return {order_id: each["paid_fen"] - each["refunded_fen"] for order_id, each in money.items()}


async def money_by_order(order_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each order was paid and paid back (succeeded payments and refunds), as
    `order_money` derives it, for a whole page of orders in two aggregate queries."""
    money = {order_id: {"paid_fen": 0, "refunded_fen": 0} for order_id in order_ids}
    if not order_ids:
        return money
    for key, model, status in (
        ("paid_fen", Payment, PaymentStatus.SUCCEEDED),
        ("refunded_fen", Refund, RefundStatus.SUCCEEDED),
    ):
        totals = (
            await model.filter(order_id__in=order_ids, status=status.value)
            .annotate(total=Sum("amount_fen"))
            .group_by("order_id")
            .values_list("order_id", "total")
        )
        # PostgreSQL sums bigints as numeric (a Decimal here): whole fen, so int() is exact.
        for order_id, total in totals:
            money[order_id][key] = int(total)
    return money


def orders_with_refunds() -> Any:
    """After-sale, for the order queue (ordering's AFTER_SALE_SOURCES): an order with a
    refund that did not fail."""
    return Refund.exclude(status=RefundStatus.FAILED.value).values("order_id")


async def order_payments(principal: Principal, order_id: int) -> dict[str, Any]:
    order = await ordering_service.visible_order(principal, order_id)
    return await order_money(order.id)


# ---- orders with nothing to pay ------------------------------------------------------------

FREE_ORDER_NOTE = "优惠已全额抵扣，0 元订单由平台确认支付"


async def pay_free_order(deps: Deps, order_id: int, now: datetime) -> None:
    """Record the platform's 0-fen payment of an order that costs nothing and mark the order
    paid, with what the paid transition gives (points, rebate, first-order rewards), exactly
    as a WeChat payment's notification would. Call inside a transaction: placement's, so
    the order is never left waiting; raises NotPayable (rolling back) if it no longer waits."""
    payment = await Payment.create(
        order_id=order_id,
        method=PaymentMethod.ZERO.value,
        status=PaymentStatus.SUCCEEDED.value,
        amount_fen=0,
        out_trade_no=_new_number("Z", now),
        note=FREE_ORDER_NOTE,
        succeeded_at=now,
        created_at=now,
        updated_at=now,
    )
    await _event(payment.id, "zero_paid", now, reason=FREE_ORDER_NOTE)
    paid = await ordering_service.record_payment(
        deps, order_id, actor=Actor.SYSTEM, actor_user_id=None, note=FREE_ORDER_NOTE
    )
    if paid is None:
        raise NotPayable()
    await _credit_earnings(paid, now)


async def pay_if_free(deps: Deps, placed: OrderPlaced) -> None:
    """OrderPlaced, in the placing transaction: an order that costs nothing is paid there
    and then, so it never waits for WeChat Pay (which refuses 0 fen)."""
    if placed.payable_fen == 0:
        await pay_free_order(deps, placed.order_id, placed.placed_at)


async def _free_order_paid(deps: Deps, order: Order) -> dict[str, Any]:
    """/pay on an order that costs nothing: paid already (at placement), or paid now (one
    placed before orders were paid at placement); never a request to WeChat."""
    if order.status == "pending_payment":
        try:
            async with sql.atomic():
                await pay_free_order(deps, order.id, deps.clock.now())
        except NotPayable:
            pass  # paid by a concurrent request, or cancelled: read again below
    payment = await Payment.filter(
        order_id=order.id, method=PaymentMethod.ZERO.value, status=PaymentStatus.SUCCEEDED.value
    ).first()
    # A cancelled order keeps its 0-fen payment row (its refund took back what it earned):
    # it is paid only while the order still is.
    paid = {status.value for status in ordering_service.PAID_STATUSES}
    if payment is None or (await Order.get(id=order.id)).status not in paid:
        raise NotPayable()
    return {
        "paid": True,
        "payment_id": payment.id,
        "out_trade_no": payment.out_trade_no,
        "request_payment": None,
        "message": FREE_ORDER_NOTE,
    }


# ---- paying with WeChat ---------------------------------------------------------------------


async def start_wechat_payment(deps: Deps, principal: Principal, order_id: int) -> dict[str, Any]:
    """Prepay at WeChat and return what the mini-program passes to wx.requestPayment; for an
    order that costs nothing, say it is paid (`paid`: true, no `request_payment`)."""
    order = await ordering_service.visible_order(principal, order_id)
    if order.payable_fen == 0:
        return await _free_order_paid(deps, order)
    if order.status != "pending_payment":
        raise NotPayable()
    sub_mchid = await org_service.distributor_sub_mchid(order.distributor_id)  # type: ignore[attr-defined]
    if not sub_mchid:
        raise DistributorCannotCollect()
    openid = await identity_service.openid_for(principal.user_id, deps.settings.wechat_pay.sp_appid)
    if openid is None:
        raise NoWechatAccount()
    now = deps.clock.now()
    reusable = await Payment.filter(
        order_id=order.id,
        method=PaymentMethod.WECHAT.value,
        status=PaymentStatus.OPEN.value,
        amount_fen=order.payable_fen,
        prepay_id__not_isnull=True,
        created_at__gt=now - PREPAY_VALID_FOR,
    ).first()
    if reusable is not None and reusable.prepay_id:
        params = deps.pay.payment_params(reusable.prepay_id)
        return {
            "paid": False,
            "payment_id": reusable.id,
            "out_trade_no": reusable.out_trade_no,
            "request_payment": params,
        }
    payment = await Payment.create(
        order_id=order.id,
        method=PaymentMethod.WECHAT.value,
        status=PaymentStatus.OPEN.value,
        amount_fen=order.payable_fen,
        out_trade_no=_new_number("P", now),
        sp_mchid=deps.settings.wechat_pay.sp_mchid,
        sub_mchid=sub_mchid,
        created_at=now,
        updated_at=now,
    )
    try:
        params = await deps.pay.prepay_jsapi(
            sub_mchid=sub_mchid,
            out_trade_no=payment.out_trade_no,
            description=f"订货单 {order.order_no}",
            amount_fen=order.payable_fen,
            payer_openid=openid,
            expire_at=order.pay_deadline,
        )
    except WechatPayError as exc:
        await Payment.filter(id=payment.id).update(
            status=PaymentStatus.CLOSED.value, updated_at=now
        )
        await _event(
            payment.id, "prepay_failed", now, status=exc.status, code=exc.code, message=exc.message
        )
        raise WechatPayUnavailable(details={"wechat_code": exc.code}) from exc
    await Payment.filter(id=payment.id).update(prepay_id=params["prepay_id"], updated_at=now)
    await _event(payment.id, "prepaid", now, prepay_id=params["prepay_id"])
    return {
        "paid": False,
        "payment_id": payment.id,
        "out_trade_no": payment.out_trade_no,
        "request_payment": params,
    }


def _mismatch(deps: Deps, payment: PaymentFacts, state: TransactionState) -> str | None:
    if state.sp_mchid != deps.settings.wechat_pay.sp_mchid:
        return f"服务商号不符: {state.sp_mchid}"
    if state.sub_mchid != payment.sub_mchid:
        return f"子商户号不符: {state.sub_mchid}"
    if state.amount_total_fen != payment.amount_fen:
        return f"金额不符: 通知 {state.amount_total_fen} 分, 应付 {payment.amount_fen} 分"
    return None


async def _flag(
    payment: PaymentFacts, problem: str, state: TransactionState, source: str, now: datetime
) -> None:
    flagged = await Payment.filter(id=payment.id, status__in=_WAITING).update(
        status=PaymentStatus.FLAGGED.value, flagged_reason=problem, updated_at=now
    )
    if flagged:
        await _event(
            payment.id,
            "flagged",
            now,
            source=source,
            reason=problem,
            transaction_id=state.transaction_id,
        )
        log.error("payment flagged", extra={"payment_id": payment.id, "reason": problem})


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What apply_transaction decides on, read with fixed SQL (infra/sql.py): it runs for
    every notification, and building a Payment model instance cost more than the query."""

    id: int
    order_id: int
    status: str
    amount_fen: int
    sub_mchid: str | None
    transaction_id: str | None


async def _wechat_payment_facts(out_trade_no: str) -> PaymentFacts | None:
    row = await sql.fetch_one(
        "SELECT id, order_id, status, amount_fen, sub_mchid, transaction_id FROM payments"
        " WHERE out_trade_no = $1 AND method = $2",
        out_trade_no,
        PaymentMethod.WECHAT.value,
    )
    return None if row is None else PaymentFacts(**row)


async def _credit_earnings(paid: ordering_service.Earnings, now: datetime) -> None:
    """Credit what the paid order earned, and the first-order rewards it may bring, in the
    payment's transaction. An order that earns nothing, of a store past its first paid
    order, writes nothing more than the store's first-paid markers check."""
    if paid.points or paid.rebate_fen:
        await ledger_service.credit_paid_order(
            brand_id=paid.brand_id,
            store_id=paid.store_id,
            order_id=paid.order_id,
            points=paid.points,
            rebate_fen=paid.rebate_fen,
            now=now,
        )
    first = await org_service.mark_first_paid(
        paid.store_id, paid.order_id, self_order=paid.self_order
    )
    if first.first or first.first_self:
        await ledger_service.reward_first_order(
            brand_id=paid.brand_id,
            store_id=paid.store_id,
            order_id=paid.order_id,
            paid_fen=paid.payable_fen,
            first=first,
            now=now,
        )


async def apply_transaction(deps: Deps, state: TransactionState, *, source: str) -> str:
    """Apply what WeChat says of a transaction, once. Returns what happened, for the log."""
    if state.trade_state != "SUCCESS":
        return "not_paid"
    now = deps.clock.now()
    if _may_settle_at_once(deps, state):
        settled = await _settle_at_once(deps, state, now, source)
        if settled is not None:
            return "paid" if settled else await _not_applied(deps, state, source, now)
    refund: Refund | None = None
    async with sql.atomic():
        succeeded = await _mark_succeeded(deps, state, now)
        if succeeded is not None:
            await _event(
                succeeded.id, "succeeded", now, source=source, transaction_id=state.transaction_id
            )
            paid = await ordering_service.record_payment(
                deps, succeeded.order_id, actor=Actor.SYSTEM, actor_user_id=None
            )
            if paid is not None:
                await _credit_earnings(paid, now)
            else:
                # The order was cancelled or expired before the money came: give it back.
                refund = await _reserve_refund(
                    succeeded, succeeded.amount_fen, "订单已取消，自动全额退款", None, now
                )
    if refund is not None:
        await submit_refund(deps, refund)
        return "refunding"
    if succeeded is not None:
        return "paid"
    return await _not_applied(deps, state, source, now)


def _may_settle_at_once(deps: Deps, state: TransactionState) -> bool:
    """Whether the one-statement path may try: on PostgreSQL (writable CTEs), for our own
    merchant, and while nothing must commit with an order's payment beyond what its
    statement writes (no in-transaction handler of OrderPaid: the statement commits alone)."""
    return (
        sql.is_postgres()
        and state.sp_mchid == deps.settings.wechat_pay.sp_mchid
        and not events.handlers(OrderPaid, events.IN_TRANSACTION)
    )


def _settle_at_once_sql() -> str:
    order = ordering_service.paid_at_once_sql(
        order_id="(SELECT order_id FROM payments WHERE out_trade_no = $6 AND method = $7)",
        now="$5",
    )
    moved_columns = ", ".join(f"moved.{column}" for column in ordering_service.PAID_EVENT_COLUMNS)
    # Module constants and placeholders only: values stay bound parameters.
    return (
        f"WITH payable AS ({order.lock}),"  # noqa: S608
        " settling AS (UPDATE payments SET status = $1, transaction_id = $2,"
        " payer_total_fen = $3, succeeded_at = $4, updated_at = $5"
        " WHERE out_trade_no = $6 AND method = $7 AND status IN ($8)"
        " AND sub_mchid = $9 AND amount_fen = $10 AND order_id IN (SELECT id FROM payable)"
        " RETURNING id, order_id),"
        " settled_recorded AS (INSERT INTO payment_events"
        " (payment_id, refund_id, kind, data, created_at)"
        " SELECT id, NULL, 'succeeded', CAST($11 AS JSONB), $5 FROM settling),"
        f" {order.move}"
        # One row: what OrderPaid names of the moved order (NULL when none moved), and
        # whether a payment by that number still waits.
        f" SELECT {moved_columns}, EXISTS (SELECT 1 FROM payments"
        " WHERE out_trade_no = $6 AND method = $7 AND status IN ($8)) AS waiting"
        " FROM (SELECT 1) AS one LEFT JOIN moved ON TRUE"
    )


_SETTLE_AT_ONCE = _settle_at_once_sql()


async def _settle_at_once(
    deps: Deps, state: TransactionState, now: datetime, source: str
) -> bool | None:
    """The common case on PostgreSQL, as one statement (so one round trip, and atomic without
    BEGIN and COMMIT): the payment waits, matches, and its order waits and earns nothing.
    The payment succeeds, its event is written, the order is locked, moved to paid and its
    event written, exactly as the full path in apply_transaction would, and OrderPaid is
    recorded (its after-commit handlers run at once: the statement has committed).

    True: settled. False: no payment by that number waits (a replay, or unknown), so there
    is nothing for the full path to do. None: the full path decides (a mismatch, an order
    that earns points or rebate, or one cancelled before the money came).
    """
    row = await sql.fetch_one(
        _SETTLE_AT_ONCE,
        PaymentStatus.SUCCEEDED.value,
        state.transaction_id,
        state.payer_total_fen,
        state.success_time or now,
        now,
        state.out_trade_no,
        PaymentMethod.WECHAT.value,
        _WAITING,
        state.sub_mchid,
        state.amount_total_fen,
        _EVENT_DATA.to_db_value(
            {"source": source, "transaction_id": state.transaction_id}, PaymentEvent
        ),
    )
    assert row is not None  # the final SELECT always returns one row
    if row["id"] is not None:
        await events.record(deps, ordering_service.paid_event(row, now))
        return True
    return None if row["waiting"] else False


async def _mark_succeeded(
    deps: Deps, state: TransactionState, now: datetime
) -> PaymentFacts | None:
    """The payment, now succeeded, if it was ours, waiting, and matches in every field.

    One guarded UPDATE decides and writes: the notification's hot path is this statement and
    the events after it. A payment we had closed still counts if the money arrived (it is
    refunded when its order is gone). None sends the caller to _not_applied to find out why.
    """
    if state.sp_mchid != deps.settings.wechat_pay.sp_mchid:
        return None
    row = await sql.fetch_one(
        "UPDATE payments SET status = $1, transaction_id = $2, payer_total_fen = $3,"
        " succeeded_at = $4, updated_at = $5"
        " WHERE out_trade_no = $6 AND method = $7 AND status IN ($8)"
        " AND sub_mchid = $9 AND amount_fen = $10"
        " RETURNING id, order_id, status, amount_fen, sub_mchid, transaction_id",
        PaymentStatus.SUCCEEDED.value,
        state.transaction_id,
        state.payer_total_fen,
        state.success_time or now,
        now,
        state.out_trade_no,
        PaymentMethod.WECHAT.value,
        _WAITING,
        state.sub_mchid,
        state.amount_total_fen,
    )
    return None if row is None else PaymentFacts(**row)


async def _not_applied(deps: Deps, state: TransactionState, source: str, now: datetime) -> str:
    """Why a notification changed nothing: unknown, a replay, or a mismatch to flag."""
    payment = await _wechat_payment_facts(state.out_trade_no)
    if payment is None:
        log.error("payment for unknown out_trade_no", extra={"out_trade_no": state.out_trade_no})
        return "unknown"
    problem = _mismatch(deps, payment, state)
    if problem is not None and payment.status != PaymentStatus.SUCCEEDED:
        await _flag(payment, problem, state, source, now)
        return "flagged"
    return "duplicate"  # already succeeded (a replay), or flagged or refunded meanwhile


async def handle_payment_notification(deps: Deps, headers: Mapping[str, str], body: bytes) -> str:
    try:
        notification = deps.pay.parse_notification(headers, body)
    except NotificationRejected as exc:
        log.warning("payment notification rejected", extra={"reason": exc.reason})
        raise NotificationInvalid(details={"reason": exc.reason}) from exc
    if notification.event_type != "TRANSACTION.SUCCESS":
        return "ignored"
    return await apply_transaction(
        deps, notification.transaction(), source=f"notification:{notification.id}"
    )


# ---- offline payment ------------------------------------------------------------------------


async def record_offline_payment(
    deps: Deps, principal: Principal, order_id: int, note: str
) -> dict[str, Any]:
    order = await ordering_service.visible_order(principal, order_id)
    now = deps.clock.now()
    async with sql.atomic():
        payment = await Payment.create(
            order_id=order.id,
            method=PaymentMethod.OFFLINE.value,
            status=PaymentStatus.SUCCEEDED.value,
            amount_fen=order.payable_fen,
            out_trade_no=_new_number("F", now),
            recorded_by_id=principal.user_id,
            note=note,
            succeeded_at=now,
            created_at=now,
            updated_at=now,
        )
        await _event(payment.id, "offline_recorded", now, by_user_id=principal.user_id, note=note)
        paid = await ordering_service.record_payment(
            deps, order.id, actor=Actor.DISTRIBUTOR, actor_user_id=principal.user_id
        )
        if paid is None:
            raise NotPayable()  # rolls the payment back with it
        await _credit_earnings(paid, now)
    return payment_view(payment)


# ---- refunds --------------------------------------------------------------------------------


def _given_back_here(method: str, amount_fen: int) -> bool:
    """Whether a refund is done when it is recorded: money that did not come through WeChat
    (an offline payment) is given back by the distributor itself, and 0 fen (units of a gift,
    or of an order that cost nothing) moves no money, which WeChat would refuse to refund."""
    return method != PaymentMethod.WECHAT.value or amount_fen == 0


async def _reserve_refund(
    payment: Payment | PaymentFacts,
    amount_fen: int,
    reason: str,
    requested_by: int | None,
    now: datetime,
    *,
    restock: bool = False,
) -> Refund:
    reserved = await Payment.filter(
        id=payment.id,
        status=PaymentStatus.SUCCEEDED.value,
        refund_reserved_fen__lte=payment.amount_fen - amount_fen,
    ).update(refund_reserved_fen=F("refund_reserved_fen") + amount_fen, updated_at=now)
    if not reserved:
        raise RefundExceedsPaid()
    refund = await Refund.create(
        payment_id=payment.id,
        order_id=payment.order_id,  # type: ignore[union-attr]
        out_refund_no=_new_number("R", now),
        amount_fen=amount_fen,
        reason=reason[:80],
        status=RefundStatus.PENDING.value,
        requested_by_id=requested_by,
        restock=restock,
        created_at=now,
        updated_at=now,
    )
    await _event(
        payment.id,
        "refund_requested",
        now,
        refund_id=refund.id,
        amount_fen=amount_fen,
        reason=reason,
    )
    return refund


async def _refunded_units(refund_id: int) -> list[ordering_service.RefundedUnits]:
    rows = await RefundLine.filter(refund_id=refund_id).order_by("order_line_id")
    return [
        ordering_service.RefundedUnits(row.order_line_id, row.quantity, row.amount_fen)  # type: ignore[attr-defined]
        for row in rows
    ]


async def submit_refund(deps: Deps, refund: Refund) -> None:
    """Ask WeChat to refund. Unreachable: stays pending for reconciliation. Refused: failed."""
    payment = await Payment.get(id=refund.payment_id)  # type: ignore[attr-defined]
    now = deps.clock.now()
    try:
        state = await deps.pay.refund(
            sub_mchid=payment.sub_mchid or "",
            out_trade_no=payment.out_trade_no,
            out_refund_no=refund.out_refund_no,
            refund_fen=refund.amount_fen,
            total_fen=payment.amount_fen,
            reason=refund.reason,
        )
    except WechatPayError as exc:
        if exc.status is None or exc.status >= 500:
            log.warning(
                "refund request not delivered; reconciliation retries",
                extra={"refund_id": refund.id},
            )
            return
        await _refund_failed(refund, now, code=exc.code, message=exc.message)
        return
    await apply_refund(deps, state, source="request")


async def _refund_failed(refund: Refund, now: datetime, **data: Any) -> None:
    """The refund will not happen: its money and its units are refundable again."""
    async with in_transaction():
        failed = await Refund.filter(
            id=refund.id, status__in=[RefundStatus.PENDING.value, RefundStatus.PROCESSING.value]
        ).update(status=RefundStatus.FAILED.value, updated_at=now)
        if failed:
            await Payment.filter(id=refund.payment_id).update(  # type: ignore[attr-defined]
                refund_reserved_fen=F("refund_reserved_fen") - refund.amount_fen, updated_at=now
            )
            await ordering_service.give_back_refund_units(await _refunded_units(refund.id))
            await _event(refund.payment_id, "refund_failed", now, refund_id=refund.id, **data)  # type: ignore[attr-defined]


async def _refund_succeeded(
    refund: Refund, now: datetime, *, source: str, wechat_refund_id: str | None = None
) -> bool:
    """Mark the refund succeeded, once, with what follows it, in the caller's transaction:
    its units back in stock if asked, the order's earnings (points, rebate) taken back in
    the share its refunds now give back (what the refunded units earned, or the money
    share; ledger entries naming the refund), and, once the
    order is given back whole, its promotions' budgets, coupon and spent rebate."""
    # The payment's row, locked until commit, lines up the refunds of one payment that
    # succeed at once (notifications arrive together): each then reads the others' results,
    # so the earnings taken back add up to the share of all of them.
    await sql.execute(
        "UPDATE payments SET refund_reserved_fen = refund_reserved_fen WHERE id = $1",
        refund.payment_id,  # type: ignore[attr-defined]
    )
    done = await Refund.filter(
        id=refund.id,
        status__in=[RefundStatus.PENDING.value, RefundStatus.PROCESSING.value],
    ).update(
        status=RefundStatus.SUCCEEDED.value,
        refund_id=wechat_refund_id,
        succeeded_at=now,
        updated_at=now,
    )
    if not done:
        return False
    payment_id: int = refund.payment_id  # type: ignore[attr-defined]
    order_id: int = refund.order_id  # type: ignore[attr-defined]
    await _event(payment_id, "refund_succeeded", now, refund_id=refund.id, source=source)
    if refund.restock:
        units = await _refunded_units(refund.id)
        await ordering_service.restock_refunded_units(
            order_id, [(unit.line_id, unit.quantity) for unit in units]
        )
    money = await order_money(order_id)
    share: tuple[int, int]
    if money["paid_fen"] > 0:
        share = (money["refunded_fen"], money["paid_fen"])
    elif (await Order.get(id=order_id)).status == "cancelled":
        share = (1, 1)  # an order that cost nothing, cancelled: all of it is given back
    else:
        share = await ordering_service.refunded_list_share(order_id)
    earned = await ordering_service.earnings(order_id)
    if share[1] > 0 and share[0] >= share[1]:
        # Given back whole: the promotions' budgets get this order's share back and the
        # store its coupon and rebate (a cancelled order has given them back already;
        # these are then no-ops).
        await promotions_service.release_uses(order_id, now)
        await coupons_service.give_back(order_id, now)
        await ledger_service.return_rebate(earned.store_id, order_id, now)
    if earned.points or earned.rebate_fen:
        await ledger_service.take_back_for_refund(
            brand_id=earned.brand_id,
            store_id=earned.store_id,
            order_id=order_id,
            refund_id=refund.id,
            share=share,
            now=now,
            units=await _units_take_back(order_id, money),
        )
    return True


async def _units_take_back(
    order_id: int, money: Mapping[str, Any]
) -> ledger_service.UnitsTakeBack | None:
    """What the units the order's succeeded refunds gave back earned (read under the
    payment's lock, so every refund that succeeded before this one is counted), and the
    share of the money refunded without naming units; None for an order whose lines do not
    keep their earnings (placed before they did)."""
    rows = await sql.fetch(
        "SELECT l.order_line_id, SUM(l.quantity) AS units, SUM(l.amount_fen) AS fen"
        " FROM refund_lines l JOIN refunds r ON r.id = l.refund_id"
        " WHERE r.order_id = $1 AND r.status = $2 GROUP BY l.order_line_id",
        order_id,
        RefundStatus.SUCCEEDED.value,
    )
    earned = await ordering_service.earned_by_units(
        order_id, {int(row["order_line_id"]): int(row["units"]) for row in rows}
    )
    if earned is None:
        return None
    by_units_fen = sum(int(row["fen"]) for row in rows)
    return ledger_service.UnitsTakeBack(
        earned, (money["refunded_fen"] - by_units_fen, money["paid_fen"])
    )


async def apply_refund(deps: Deps, state: RefundState, *, source: str) -> str:
    now = deps.clock.now()
    refund = await Refund.get_or_none(out_refund_no=state.out_refund_no)
    if refund is None:
        log.error("unknown refund", extra={"out_refund_no": state.out_refund_no})
        return "unknown"
    if state.status == "SUCCESS":
        async with in_transaction():
            done = await _refund_succeeded(
                refund, now, source=source, wechat_refund_id=state.refund_id
            )
        return "refunded" if done else "duplicate"
    if state.status == "PROCESSING":
        await Refund.filter(id=refund.id, status=RefundStatus.PENDING.value).update(
            status=RefundStatus.PROCESSING.value, refund_id=state.refund_id, updated_at=now
        )
        return "processing"
    await _refund_failed(refund, now, source=source, wechat_status=state.status)
    return "failed"


async def handle_refund_notification(deps: Deps, headers: Mapping[str, str], body: bytes) -> str:
    try:
        notification = deps.pay.parse_notification(headers, body)
    except NotificationRejected as exc:
        raise NotificationInvalid(details={"reason": exc.reason}) from exc
    if not notification.event_type.startswith("REFUND."):
        return "ignored"
    return await apply_refund(deps, notification.refund(), source=f"notification:{notification.id}")


async def refund_order(
    deps: Deps,
    principal: Principal,
    order_id: int,
    *,
    reason: str,
    amount_fen: int | None = None,
    lines: Sequence[tuple[int, int]] | None = None,
    restock: bool = False,
) -> dict[str, Any]:
    """A distributor refunds what a store paid: an amount (goodwill), or units of lines
    (line id, quantity: damaged, missing) for their share of what the lines paid, their
    units back into stock when `restock`. A WeChat payment is refunded through WeChat; an
    offline one's refund is recorded as given back by the distributor, done at once.

    Units and money are both taken by guarded updates in one transaction (the lines', then
    the payment's reservation): concurrent refunds never pass a line's units, what it paid,
    or the payment.
    """
    order, payment = await _refundable(principal, order_id, by_lines=lines is not None)
    now = deps.clock.now()
    async with in_transaction():
        units: list[ordering_service.RefundedUnits] = []
        if lines is not None:
            units = await ordering_service.take_refund_units(order.id, lines)
            amount_fen = sum(unit.amount_fen for unit in units)
        if amount_fen is None:
            raise TypeError("refund_order needs an amount or lines")
        refund = await _reserve_refund(
            payment, amount_fen, reason, principal.user_id, now, restock=restock and bool(units)
        )
        await RefundLine.bulk_create(
            [
                RefundLine(
                    refund_id=refund.id,
                    order_line_id=unit.line_id,
                    quantity=unit.quantity,
                    amount_fen=unit.amount_fen,
                    created_at=now,
                )
                for unit in units
            ]
        )
        here = _given_back_here(payment.method, amount_fen)
        if here:
            await _refund_succeeded(refund, now, source=f"recorded:{payment.method}")
    if not here:
        await submit_refund(deps, refund)
    return (await refund_views([await Refund.get(id=refund.id)]))[0]


async def _refundable(
    principal: Principal, order_id: int, *, by_lines: bool
) -> tuple[Order, Payment]:
    """The order the caller refunds and the payment its refunds draw on, or why there is
    none: no payment succeeded, or units asked of an order unpaid or cancelled."""
    order = await ordering_service.visible_order(principal, order_id)
    payment = (
        await Payment.filter(order_id=order.id, status=PaymentStatus.SUCCEEDED.value)
        .order_by("id")
        .first()
    )
    if payment is None:
        raise NothingToRefund()
    if by_lines and order.status not in {s.value for s in ordering_service.PAID_STATUSES}:
        raise NotRefundable()
    return order, payment


async def preview_refund(
    principal: Principal, order_id: int, lines: Sequence[tuple[int, int]]
) -> dict[str, Any]:
    """What refunding units of lines (line id, quantity) would pay back now, computed as the
    refund itself computes it, writing nothing; refused as that refund would be."""
    order, payment = await _refundable(principal, order_id, by_lines=True)
    units = await ordering_service.preview_refund_units(order.id, lines)
    return {
        "lines": [
            {"line_id": unit.line_id, "quantity": unit.quantity, "amount_fen": unit.amount_fen}
            for unit in units
        ],
        "amount_fen": sum(unit.amount_fen for unit in units),
        "refundable_fen": payment.amount_fen - payment.refund_reserved_fen,
    }


# ---- the order's timeline -----------------------------------------------------------------

_STATUS_ENTRIES = {
    "accepted": ("accepted", "经销商接单"),
    "shipped": ("shipped", "发货"),
    "delivered": ("delivered", "确认送达"),
    "completed": ("signed", "门店签收"),
}


def _status_entry(event: Mapping[str, Any], order: Order) -> dict[str, Any]:
    """One status change as the timeline tells it: what happened, with its particulars."""
    to, by_system = event["to_status"], event["actor_role"] == "system"
    extra: dict[str, Any] = {}
    if event["from_status"] is None:
        kind, title = "placed", "下单"
    elif to == "paid":
        kind, title = ("paid", "付款成功") if by_system else ("offline_paid", "登记线下收款")
    elif to == "cancelled":
        kind, title = (
            ("expired", "超时未付款，自动取消") if by_system else ("cancelled", "取消订单")
        )
        extra["reason"] = event["note"]
    else:
        kind, title = _STATUS_ENTRIES.get(to, (to, to))  # a status added later: named as is
    if kind == "shipped":
        extra.update(
            carrier=order.carrier,
            carrier_name=ordering_service.carrier_name(order.carrier),
            tracking_no=order.tracking_no,
        )
    return {"kind": kind, "title": title, **extra}


async def order_timeline(principal: Principal, order_id: int) -> list[dict[str, Any]]:
    """What happened to an order, oldest first: every status change (placed, paid, accepted,
    shipped with its carrier and tracking number, delivered, signed, cancelled with its
    reason) and every refund, each with who and when. A fixed handful of queries, however
    long the history."""
    order = await ordering_service.visible_order(principal, order_id)
    events = await ordering_service.events_of(order.id)
    payments = await Payment.filter(order_id=order.id).order_by("id")
    refund_rows = await Refund.filter(order_id=order.id).order_by("id")
    requested_by = {row.id: row.requested_by_id for row in refund_rows}  # type: ignore[attr-defined]
    paying = _refunded_from(payments)
    entries: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        entry = {**_status_entry(event, order), "note": event["note"]}
        if entry["kind"] in {"paid", "offline_paid"} and paying is not None:
            entry.update(amount_fen=paying.amount_fen, method=paying.method)
        entries.append(
            (event["at"], {**entry, **_who(event["actor_user_id"], event["actor_role"])})
        )
    for refund in await refund_views(refund_rows):
        # Asked by distributor staff, or by the store cancelling a paid order.
        by = requested_by.get(refund["id"])
        entry = {
            "kind": "refund",
            "title": "退款",
            "refund_id": refund["id"],
            "amount_fen": refund["amount_fen"],
            "status": refund["status"],
            "reason": refund["reason"],
            "units": sum(line["quantity"] for line in refund["lines"]),
            "restock": refund["restock"],
            "succeeded_at": refund["succeeded_at"],
            "note": refund["reason"],
            **_who(by, None if by else "system"),
        }
        entries.append((refund["created_at"], entry))
    names = await identity_service.user_names(
        entry["actor_user_id"] for _, entry in entries if entry["actor_user_id"]
    )
    timeline = []
    for at, entry in sorted(entries, key=lambda pair: datetime.fromisoformat(pair[0])):
        user = entry["actor_user_id"]
        timeline.append({**entry, "actor_name": names.get(user, "") if user else "", "at": at})
    return timeline


def _who(user_id: int | None, role: str | None) -> dict[str, Any]:
    return {"actor_user_id": user_id, "actor_role": role}


async def cancel_order(
    deps: Deps, principal: Principal, order_id: int, reason: str
) -> dict[str, Any]:
    """Cancel before acceptance, and refund in full whatever was paid by WeChat; an order that
    cost nothing gets a 0-fen refund recorded at once, which takes back what it earned.

    What to refund is read after the cancel, in its transaction, not decided from the status
    seen before it: a payment that lands in between must be returned too.
    """
    refunds: list[Refund] = []
    # sql.transaction: what the cancel tells others (the live room) waits for this commit.
    async with sql.transaction():
        cancelled = await ordering_service.act(
            deps,
            principal,
            order_id,
            Action.CANCEL,
            note=reason,
            cancel_reason=reason,
        )
        now = deps.clock.now()
        paid = Payment.filter(
            order_id=order_id,
            method__in=[PaymentMethod.WECHAT.value, PaymentMethod.ZERO.value],
            status=PaymentStatus.SUCCEEDED.value,
        )
        for payment in await paid:
            remaining = payment.amount_fen - payment.refund_reserved_fen
            if payment.method == PaymentMethod.ZERO:
                free = await _reserve_refund(
                    payment, 0, "门店取消 0 元订单", principal.user_id, now
                )
                await _refund_succeeded(free, now, source="cancel")
            elif remaining > 0:
                refunds.append(
                    await _reserve_refund(
                        payment, remaining, "门店取消订单，全额退款", principal.user_id, now
                    )
                )
    for refund in refunds:
        await submit_refund(deps, refund)
    return cancelled


# ---- reconciliation ---------------------------------------------------------------------------


async def reconcile(deps: Deps) -> dict[str, int]:
    """Ask WeChat about what is still open: completes payments whose notification was lost,
    closes the ones whose order is gone, and pushes refunds along."""
    now = deps.clock.now()
    counts = {"paid": 0, "closed": 0, "refunds": 0}
    open_payments = (
        await Payment.filter(
            method=PaymentMethod.WECHAT.value,
            status=PaymentStatus.OPEN.value,
            created_at__lte=now - RECONCILE_AFTER,
        )
        .order_by("id")
        .limit(RECONCILE_BATCH)
    )
    for payment in open_payments:
        try:
            state = await deps.pay.query(
                sub_mchid=payment.sub_mchid or "", out_trade_no=payment.out_trade_no
            )
        except WechatPayError as exc:
            log.warning("payment query failed", extra={"payment_id": payment.id, "code": exc.code})
            continue
        if state.trade_state == "SUCCESS":
            counts["paid"] += await apply_transaction(deps, state, source="query") in (
                "paid",
                "refunding",
            )
            continue
        order = await Order.get(id=payment.order_id)  # type: ignore[attr-defined]
        if (
            state.trade_state in ("CLOSED", "REVOKED", "PAYERROR")
            or order.status != "pending_payment"
        ):
            closed = await _close(
                deps, payment, already_closed=state.trade_state != "NOTPAY", now=now
            )
            counts["closed"] += closed
    for refund in (
        await Refund.filter(status=RefundStatus.PENDING.value).order_by("id").limit(RECONCILE_BATCH)
    ):
        await submit_refund(deps, refund)
        counts["refunds"] += 1
    processing = (
        await Refund.filter(
            status=RefundStatus.PROCESSING.value, updated_at__lte=now - RECONCILE_AFTER
        )
        .order_by("id")
        .limit(RECONCILE_BATCH)
    )
    for refund in processing:
        payment = await Payment.get(id=refund.payment_id)  # type: ignore[attr-defined]
        try:
            refund_state = await deps.pay.query_refund(
                sub_mchid=payment.sub_mchid or "", out_refund_no=refund.out_refund_no
            )
        except WechatPayError:
            continue
        await apply_refund(deps, refund_state, source="query")
        counts["refunds"] += 1
    return counts


async def _close(deps: Deps, payment: Payment, *, already_closed: bool, now: datetime) -> bool:
    """Close a payment at WeChat and here; False when it may still be paid (try again later)."""
    if not already_closed:
        try:
            await deps.pay.close(
                sub_mchid=payment.sub_mchid or "", out_trade_no=payment.out_trade_no
            )
        except WechatPayError as exc:
            # ORDERPAID: paid after all, and the next query or the notification completes it.
            log.warning(
                "closing payment failed", extra={"payment_id": payment.id, "code": exc.code}
            )
            return False
    closed = await Payment.filter(id=payment.id, status=PaymentStatus.OPEN.value).update(
        status=PaymentStatus.CLOSED.value, updated_at=now
    )
    if closed:
        await _event(payment.id, "closed", now)
    return True


async def expire_unpaid_orders(deps: Deps) -> int:
    """Cancel orders past their payment window, but first settle their open WeChat payments:
    one paid in the last seconds (its notification late) completes the order, the others are
    closed at WeChat so that no payment can arrive after the order is gone."""
    overdue = await ordering_service.overdue_order_ids(deps)
    unsettled: set[int] = set()
    now = deps.clock.now()
    # An order that costs nothing is owed nothing: it is paid, never expired (placement pays
    # such orders; this completes one placed before it did).
    free = Order.filter(id__in=overdue, payable_fen=0, status="pending_payment")
    for free_id in await free.values_list("id", flat=True):
        try:
            async with sql.atomic():
                await pay_free_order(deps, int(free_id), now)  # type: ignore[call-overload]
        except NotPayable:
            continue  # cancelled or paid meanwhile
    open_payments = Payment.filter(
        order_id__in=overdue, method=PaymentMethod.WECHAT.value, status=PaymentStatus.OPEN.value
    )
    for payment in await open_payments:
        order_id: int = payment.order_id  # type: ignore[attr-defined]
        try:
            state = await deps.pay.query(
                sub_mchid=payment.sub_mchid or "", out_trade_no=payment.out_trade_no
            )
        except WechatPayError:
            unsettled.add(order_id)
            continue
        if state.trade_state == "SUCCESS":
            await apply_transaction(deps, state, source="expiry_check")
        elif not await _close(deps, payment, already_closed=state.trade_state != "NOTPAY", now=now):
            unsettled.add(order_id)
    return await ordering_service.expire_unpaid(deps, keep=frozenset(unsettled))
