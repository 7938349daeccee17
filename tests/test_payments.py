"""Paying the distributor through WeChat Pay (the sandbox, over HTTP, with real signatures),
offline payment, refunds and reconciliation."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx

from backend.identity.models import Role
from backend.integrations.wechat.pay import TransactionState, WechatPayClient
from backend.ordering.models import Order, OrderEvent
from backend.payments import service as payments_service
from backend.payments.models import Payment, PaymentEvent, Refund
from tests.factories import (
    bearer,
    idempotent,
    make_shop,
    make_staff,
    staff_headers,
    stock_of,
    store_owner,
)


async def eventually(check) -> Any:
    """Wait (up to 5 s) for the sandbox's notification to arrive and be applied."""
    async with asyncio.timeout(5):
        while not (result := await check()):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)
    return result


async def order_status(order_id: int) -> str:
    return (await Order.get(id=order_id)).status


async def placed_order(client, sandbox_client, quantity: int = 2):
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {"lines": [{"sku_id": shop.water, "quantity": quantity}]}
    order = (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()
    return shop, owner, order


async def prepay(client, owner, order) -> dict[str, Any]:
    response = await client.post(f"/api/v1/orders/{order['id']}/pay", headers=bearer(owner))
    assert response.status_code == 200, response.text
    return dict(response.json())


def succeeded(deps, payment: Payment) -> TransactionState:
    """What WeChat reports for `payment` paid in full (a query's or a notification's state)."""
    return TransactionState(
        out_trade_no=payment.out_trade_no,
        transaction_id=f"4200{payment.id:016d}",
        trade_state="SUCCESS",
        amount_total_fen=payment.amount_fen,
        payer_total_fen=payment.amount_fen,
        sp_mchid=deps.settings.wechat_pay.sp_mchid,
        sub_mchid=payment.sub_mchid,
        success_time=None,
    )


async def complete(
    sandbox_client: httpx.AsyncClient, out_trade_no: str, **extra: Any
) -> dict[str, Any]:
    response = await sandbox_client.post(
        "/sandbox/pay/complete", json={"out_trade_no": out_trade_no, **extra}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_store_pays_and_the_notification_marks_the_order_paid(
    client, sandbox_client, live_api
) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    started = await prepay(client, owner, order)
    params = started["request_payment"]
    assert (
        params["package"].startswith("prepay_id=")
        and params["signType"] == "RSA"
        and params["paySign"]
    )
    # Asking again reuses the same prepay instead of opening a second payment.
    assert (await prepay(client, owner, order))["out_trade_no"] == started["out_trade_no"]
    await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(order["id"], "paid"))
    payment = await Payment.get(out_trade_no=started["out_trade_no"])
    assert (
        payment.status == "succeeded"
        and payment.transaction_id
        and payment.sub_mchid == "1900000001"
    )
    detail = (await client.get(f"/api/v1/orders/{order['id']}", headers=bearer(owner))).json()
    assert detail["paid_fen"] == order["payable_fen"] == 399_800
    assert detail["timeline"][-1] == {
        **detail["timeline"][-1],
        "to_status": "paid",
        "actor_role": "system",
    }


async def _is(order_id: int, status: str) -> bool:
    return await order_status(order_id) == status


async def test_replayed_notifications_apply_once(client, sandbox_client, live_api) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    started = await prepay(client, owner, order)
    completed = await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(order["id"], "paid"))
    for _ in range(5):
        resent = await sandbox_client.post(
            f"/sandbox/pay/notifications/{completed['notification_id']}/redeliver"
        )
        assert resent.status_code == 200
    await asyncio.sleep(0.3)
    assert await OrderEvent.filter(order_id=order["id"], to_status="paid").count() == 1
    assert await PaymentEvent.filter(kind="succeeded").count() == 1


async def test_forged_notification_is_401_and_changes_nothing(
    client, sandbox_client, live_api
) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    await prepay(client, owner, order)
    forged = await client.post(
        "/api/v1/payments/wechat/notify",
        content=b'{"id":"x","event_type":"TRANSACTION.SUCCESS","resource":{}}',
        headers={
            "Wechatpay-Timestamp": "1700000000",
            "Wechatpay-Nonce": "n",
            "Wechatpay-Signature": "Zm9yZ2Vk",
            "Wechatpay-Serial": "PUB_KEY_ID_0000",
        },
    )
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "payments.notification_invalid"
    assert await order_status(order["id"]) == "pending_payment"
    assert await Payment.filter(status="open").count() == 1


async def test_amount_mismatch_is_flagged_and_the_order_stays_unpaid(
    client, sandbox_client, live_api
) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    started = await prepay(client, owner, order)
    await complete(sandbox_client, started["out_trade_no"], amount_fen=1)
    payment = await eventually(lambda: Payment.get_or_none(status="flagged"))
    assert "金额不符" in payment.flagged_reason
    assert await order_status(order["id"]) == "pending_payment"


async def test_payment_for_a_cancelled_order_is_refunded(client, sandbox_client, live_api) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    started = await prepay(client, owner, order)
    cancelled = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "不要了"}, headers=bearer(owner)
    )
    assert cancelled.json()["status"] == "cancelled"
    # The payer had the payment sheet open and paid anyway.
    await complete(sandbox_client, started["out_trade_no"])
    refund = await eventually(lambda: Refund.get_or_none(order_id=order["id"]))
    assert refund.amount_fen == order["payable_fen"]
    await eventually(lambda: _refund_is(refund.id, "processing"))
    await sandbox_client.post(
        "/sandbox/pay/refunds/settle", json={"out_refund_no": refund.out_refund_no}
    )
    await eventually(lambda: _refund_is(refund.id, "succeeded"))
    money = await payments_service.order_money(order["id"])
    assert (money["paid_fen"], money["refunded_fen"], money["net_paid_fen"]) == (
        399_800,
        399_800,
        0,
    )
    assert await order_status(order["id"]) == "cancelled"


async def test_a_payment_racing_the_stores_cancel_is_refunded_in_full_or_kept(
    client, sandbox_client, deps
) -> None:
    """The money arrives just as the store cancels: the payment succeeds once, and the order
    ends either cancelled with one refund of all of it, or paid (the cancel told to retry)."""
    raced = []
    for _ in range(4):
        _, owner, order = await placed_order(client, sandbox_client)
        started = await prepay(client, owner, order)
        payment = await Payment.get(out_trade_no=started["out_trade_no"])
        arrived = succeeded(deps, payment)
        raced.append((order, owner, arrived))
    outcomes = await asyncio.gather(
        *(
            coroutine
            for order, owner, arrived in raced
            for coroutine in (
                payments_service.apply_transaction(deps, arrived, source="query"),
                client.post(
                    f"/api/v1/orders/{order['id']}/cancel",
                    json={"reason": "不要了"},
                    headers=bearer(owner),
                ),
            )
        )
    )
    for (order, _, _), cancelled in zip(raced, outcomes[1::2], strict=True):
        payment = await Payment.get(order_id=order["id"])
        assert payment.status == "succeeded"
        assert await PaymentEvent.filter(payment_id=payment.id, kind="succeeded").count() == 1
        refunds = await Refund.filter(order_id=order["id"])
        if cancelled.status_code == 200:
            assert await order_status(order["id"]) == "cancelled"
            # (The sandbox then refuses the refund: it never saw this payment. Not the point.)
            assert [refund.amount_fen for refund in refunds] == [order["payable_fen"]]
        else:  # the order was paid between the store's read and its cancel: asked to retry
            assert cancelled.json()["error"]["code"] == "order.status_changed"
            assert await order_status(order["id"]) == "paid" and refunds == []


async def _refund_is(refund_id: int, status: str) -> bool:
    return (await Refund.get(id=refund_id)).status == status


async def test_reconciliation_completes_a_payment_whose_notification_was_lost(
    client, sandbox_client, live_api, deps
) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    working = deps.pay
    # Prepay with a notify URL nobody listens on: the notification will never arrive.
    deps.pay = WechatPayClient(
        dataclasses.replace(working.settings, notify_url="http://127.0.0.1:9/lost")
    )
    try:
        started = await prepay(client, owner, order)
    finally:
        deps.pay = working
    await complete(sandbox_client, started["out_trade_no"])
    await asyncio.sleep(0.2)
    assert await order_status(order["id"]) == "pending_payment"
    assert (await payments_service.reconcile(deps))["paid"] == 0  # too fresh to ask about yet
    deps.clock.advance(minutes=2)
    assert (await payments_service.reconcile(deps))["paid"] == 1
    assert await order_status(order["id"]) == "paid"
    [succeeded] = await PaymentEvent.filter(kind="succeeded")
    assert succeeded.data["source"] == "query"


async def test_reconciliation_closes_the_payment_of_an_expired_order(
    client, sandbox_client, live_api, deps, settings
) -> None:
    from backend.ordering import service as ordering_service

    _, owner, order = await placed_order(client, sandbox_client)
    started = await prepay(client, owner, order)
    deps.clock.advance(seconds=settings.order_payment_timeout_seconds + 1)
    assert await ordering_service.expire_unpaid(deps) == 1
    assert (await payments_service.reconcile(deps))["closed"] == 1
    assert (await Payment.get(out_trade_no=started["out_trade_no"])).status == "closed"
    late = await sandbox_client.post(
        "/sandbox/pay/complete", json={"out_trade_no": started["out_trade_no"]}
    )
    assert late.status_code == 409  # WeChat refuses to take money for a closed order


async def paid_order(client, sandbox_client):
    shop, owner, order = await placed_order(client, sandbox_client, quantity=3)
    started = await prepay(client, owner, order)
    await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(order["id"], "paid"))
    admin = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )
    return shop, owner, order, await staff_headers(client, admin)


async def test_partial_then_full_refunds_and_no_more_than_paid(
    client, sandbox_client, live_api
) -> None:
    _, _, order, distributor = await paid_order(client, sandbox_client)
    total = order["payable_fen"]
    first = await client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        json={"amount_fen": 100_000, "reason": "少发一台"},
        headers={**distributor, "Idempotency-Key": "r1"},
    )
    assert first.status_code == 201, first.text
    too_much = await client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        json={"amount_fen": total, "reason": "x"},
        headers={**distributor, "Idempotency-Key": "r2"},
    )
    assert (
        too_much.status_code == 409
        and too_much.json()["error"]["code"] == "payments.refund_exceeds_paid"
    )
    rest = await client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        json={"amount_fen": total - 100_000, "reason": "退货"},
        headers={**distributor, "Idempotency-Key": "r3"},
    )
    assert rest.status_code == 201
    await sandbox_client.post("/sandbox/pay/refunds/settle", json={})
    await eventually(lambda: _all_refunds_succeeded(2))
    money = await payments_service.order_money(order["id"])
    assert money["refunded_fen"] == total and money["net_paid_fen"] == 0


async def _all_refunds_succeeded(count: int) -> bool:
    return await Refund.filter(status="succeeded").count() == count


async def test_concurrent_refunds_never_exceed_the_payment(
    client, sandbox_client, live_api
) -> None:
    _, _, order, distributor = await paid_order(client, sandbox_client)
    fifth = order["payable_fen"] // 5
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/orders/{order['id']}/refunds",
                json={"amount_fen": fifth, "reason": "分批退款"},
                headers={**distributor, "Idempotency-Key": f"concurrent-{n}"},
            )
            for n in range(12)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] * 5 + [409] * 7
    assert sum(r.amount_fen for r in await Refund.all()) == 5 * fifth
    assert (await Payment.get(order_id=order["id"])).refund_reserved_fen == 5 * fifth


async def test_store_cancels_a_paid_order_before_acceptance_and_is_refunded(
    client, sandbox_client, live_api
) -> None:
    shop, owner, order, _ = await paid_order(client, sandbox_client)
    cancelled = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "重复下单"}, headers=bearer(owner)
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    [refund] = await Refund.filter(order_id=order["id"])
    assert refund.amount_fen == order["payable_fen"] and refund.status in (
        "processing",
        "succeeded",
    )
    assert (await stock_of(shop)) == 50


async def test_paid_order_is_fulfilled_and_signed(client, sandbox_client, live_api) -> None:
    _, owner, order, distributor = await paid_order(client, sandbox_client)
    url = f"/api/v1/orders/{order['id']}"
    assert (await client.post(f"{url}/accept", headers=distributor)).json()["status"] == "accepted"
    late_cancel = await client.post(f"{url}/cancel", json={"reason": "x"}, headers=bearer(owner))
    assert late_cancel.status_code == 409
    shipped = await client.post(
        f"{url}/ship", json={"logistics_note": "顺丰 SF1234567890"}, headers=distributor
    )
    assert shipped.json()["logistics_note"] == "顺丰 SF1234567890"
    assert (await client.post(f"{url}/deliver", headers=distributor)).json()[
        "status"
    ] == "delivered"
    signed = await client.post(
        f"{url}/sign", json={"photo_url": "https://img.example.com/sign.jpg"}, headers=bearer(owner)
    )
    assert signed.json()["status"] == "completed"
    statuses = [e["to_status"] for e in signed.json()["timeline"]]
    assert statuses == ["pending_payment", "paid", "accepted", "shipped", "delivered", "completed"]


async def test_offline_payment_by_the_distributor(client, sandbox_client) -> None:
    shop, owner, order = await placed_order(client, sandbox_client)
    distributor = await staff_headers(
        client,
        await make_staff(shop.tenant.brand.id, Role.DISTRIBUTOR_STAFF, shop.tenant.distributor.id),
    )
    by_store = await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment", json={}, headers=bearer(owner)
    )
    assert by_store.status_code == 403
    recorded = await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment",
        json={"note": "货到付款，现金已收"},
        headers=distributor,
    )
    assert recorded.status_code == 201 and recorded.json()["method"] == "offline"
    again = await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment", json={}, headers=distributor
    )
    assert again.status_code == 409
    assert await Payment.filter(order_id=order["id"]).count() == 1
    assert await order_status(order["id"]) == "paid"


async def test_a_distributor_without_wechat_pay_cannot_collect_online(
    client, sandbox_client
) -> None:
    shop, owner, order = await placed_order(client, sandbox_client)
    shop.tenant.distributor.wechat_sub_mchid = None
    await shop.tenant.distributor.save()
    response = await client.post(f"/api/v1/orders/{order['id']}/pay", headers=bearer(owner))
    assert (
        response.status_code == 409
        and response.json()["error"]["code"] == "payments.distributor_not_onboarded"
    )
    assert await Payment.all().count() == 0


async def test_expiry_asks_wechat_first_and_keeps_an_order_paid_at_the_last_second(
    client, sandbox_client, live_api, deps, settings
) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    working = deps.pay
    deps.pay = WechatPayClient(
        dataclasses.replace(working.settings, notify_url="http://127.0.0.1:9/late")
    )
    try:
        started = await prepay(client, owner, order)
    finally:
        deps.pay = working
    await complete(sandbox_client, started["out_trade_no"])  # paid; the notification never comes
    deps.clock.advance(seconds=settings.order_payment_timeout_seconds + 1)
    assert await payments_service.expire_unpaid_orders(deps) == 0
    assert await order_status(order["id"]) == "paid"
    assert await Refund.all().count() == 0


async def test_expiry_closes_the_open_payment_before_cancelling(
    client, sandbox_client, live_api, deps, settings
) -> None:
    _, owner, order = await placed_order(client, sandbox_client)
    started = await prepay(client, owner, order)
    deps.clock.advance(seconds=settings.order_payment_timeout_seconds + 1)
    assert await payments_service.expire_unpaid_orders(deps) == 1
    assert await order_status(order["id"]) == "cancelled"
    assert (await Payment.get(out_trade_no=started["out_trade_no"])).status == "closed"
    late = await sandbox_client.post(
        "/sandbox/pay/complete", json={"out_trade_no": started["out_trade_no"]}
    )
    assert late.status_code == 409
