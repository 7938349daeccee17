"""An order that costs nothing (an exchange voucher covers it all) is paid by the platform
when it is placed: a 0-fen payment row, the order paid with every after-payment effect, and
never a request to WeChat Pay; /pay says it is paid, expiry never cancels it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from backend.coupons.models import Coupon
from backend.infra import events
from backend.integrations.wechat.sandbox.pay import PaySandboxState
from backend.kernel.events import OrderPlaced
from backend.ledger.models import Account, LedgerEntry
from backend.ordering import service as ordering_service
from backend.ordering.models import Order, OrderEvent
from backend.org.models import Store
from backend.payments import service as payments_service
from backend.payments.models import Payment, PaymentEvent, Refund
from tests.factories import Shop, bearer, idempotent, make_store, store_owner
from tests.test_coupons import exchange_voucher, issued
from tests.test_first_order_rewards import INCENTIVES, cash_of, salesperson_points
from tests.test_ledger import assert_ledger_adds_up, balances, earning_shop
from tests.test_promotions_admin import admin


def ten_filters(shop: Shop, coupon_id: int) -> dict[str, Any]:
    return {"lines": [{"sku_id": shop.filters, "quantity": 10}], "coupon_id": coupon_id}


async def voucher_order(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient
) -> tuple[Shop, dict[str, Any], dict[str, Any]]:
    """A new store's order of 10 filters that an exchange voucher for 10 filters pays in full,
    in a brand giving points, rebate and first-order rewards (the store was invited by the
    tenant's store and onboarded by its salesperson)."""
    shop = await earning_shop(client)
    incentives = await client.put(
        "/api/v1/ledger/incentives", json=INCENTIVES, headers=await admin(client, shop)
    )
    assert incentives.status_code == 200, incentives.text
    newcomer = await make_store(
        shop.tenant,
        invited_by_store=shop.tenant.store,
        invited_by_salesperson=shop.tenant.salesperson,
    )
    await issued(client, shop, exchange_voucher(shop, "滤芯兑换券", [(shop.filters, 10)]))
    owner = await store_owner(client, sandbox_client, newcomer)
    [coupon] = await Coupon.filter(store_id=newcomer.id)
    placed = await client.post(
        "/api/v1/orders", json=ten_filters(shop, coupon.id), headers=idempotent(owner)
    )
    assert placed.status_code == 201, placed.text
    return shop, owner, placed.json()


async def test_a_voucher_covered_order_is_paid_at_placement_without_wechat(
    client, sandbox_client, pay_sandbox_state: PaySandboxState
) -> None:
    shop, owner, order = await voucher_order(client, sandbox_client)
    assert order["payable_fen"] == 0 and order["coupon_discount_fen"] == 100_000
    assert order["status"] == "paid" and order["status_name"] == "待接单"
    assert [e["to_status"] for e in order["timeline"]] == ["pending_payment", "paid"]
    assert order["timeline"][-1]["actor_role"] == "system"

    [payment] = await Payment.filter(order_id=order["id"])
    assert (payment.method, payment.status, payment.amount_fen) == ("zero", "succeeded", 0)
    assert payment.prepay_id is None and payment.sub_mchid is None
    assert [e.kind for e in await PaymentEvent.filter(payment_id=payment.id)] == ["zero_paid"]
    # Every after-payment effect: points and rebate (1 point per yuan and 2% of the 1000.00 the
    # promotions priced), the store's first paid order and its salesperson's reward.
    assert (order["points_earned"], order["rebate_fen"]) == (1_000, 2_000)
    assert await balances(client, owner) == {"points": 1_000, "rebate": 2_000}
    store = await Store.get(id=order["store_id"])
    assert store.first_paid_order_id == order["id"] == store.first_self_paid_order_id
    assert await salesperson_points(shop.tenant.salesperson.id) == 5
    assert await cash_of(shop.tenant.store.id) == 2_000  # the inviting store's reward
    placed_at = (await Order.get(id=order["id"])).created_at
    assert await ordering_service.paid_order_ids(
        store.id,
        min_payable_fen=0,
        placed_from=placed_at - timedelta(minutes=1),
        placed_until=placed_at + timedelta(minutes=1),
    ) == [order["id"]]  # what the lottery wheel counts its chances from
    await assert_ledger_adds_up()
    assert pay_sandbox_state.transactions == {}  # WeChat Pay was never asked

    # /pay answers that it is paid, as often as asked, and still never asks WeChat.
    for _ in range(2):
        answer = await client.post(f"/api/v1/orders/{order['id']}/pay", headers=bearer(owner))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            **answer.json(),
            "paid": True,
            "payment_id": payment.id,
            "request_payment": None,
        }
    assert await Payment.filter(order_id=order["id"]).count() == 1
    assert pay_sandbox_state.transactions == {}
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=bearer(owner))).json()[
        "paid_fen"
    ] == 0


async def test_a_free_order_left_waiting_is_paid_by_pay_or_by_expiry_never_cancelled(
    client, sandbox_client, deps, settings, pay_sandbox_state: PaySandboxState
) -> None:
    """Orders placed before placement paid them wait: /pay completes one, and the expiry job
    completes another rather than cancelling it."""
    shop = await earning_shop(client)
    await issued(client, shop, exchange_voucher(shop, "滤芯兑换券", [(shop.filters, 10)]))
    await issued(client, shop, exchange_voucher(shop, "滤芯兑换券", [(shop.filters, 10)]))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    events.off(OrderPlaced, payments_service.pay_if_free)
    try:
        placed = []
        for coupon in await Coupon.all().order_by("id"):
            response = await client.post(
                "/api/v1/orders", json=ten_filters(shop, coupon.id), headers=idempotent(owner)
            )
            assert response.status_code == 201 and response.json()["status"] == "pending_payment"
            placed.append(response.json())
    finally:
        events.on(OrderPlaced, payments_service.pay_if_free)
    by_pay, by_expiry = placed
    answer = await client.post(f"/api/v1/orders/{by_pay['id']}/pay", headers=bearer(owner))
    assert answer.status_code == 200 and answer.json()["paid"] is True, answer.text
    assert (await Order.get(id=by_pay["id"])).status == "paid"

    deps.clock.advance(seconds=settings.order_payment_timeout_seconds + 1)
    assert await payments_service.expire_unpaid_orders(deps) == 0
    assert (await Order.get(id=by_expiry["id"])).status == "paid"
    assert await Payment.filter(method="zero", status="succeeded").count() == 2
    accounts = await Account.filter(store_id=shop.tenant.store.id).order_by("kind")
    assert [(a.kind, a.balance) for a in accounts] == [("points", 2_000), ("rebate", 4_000)]
    assert pay_sandbox_state.transactions == {}


async def test_reconciliation_ignores_a_free_order_and_its_cancel_refunds_nothing_at_wechat(
    client, sandbox_client, deps, pay_sandbox_state: PaySandboxState
) -> None:
    _, owner, order = await voucher_order(client, sandbox_client)
    assert await payments_service.reconcile(deps) == {"paid": 0, "closed": 0, "refunds": 0}
    cancelled = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "不要了"}, headers=bearer(owner)
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert pay_sandbox_state.transactions == {} and pay_sandbox_state.refunds == {}
    # The voucher comes back, and what the order earned is taken back by a 0-fen refund
    # recorded here (nothing went through WeChat, so nothing comes back through it).
    assert (await Coupon.get(id=order["coupon_id"])).status == "available"
    [refund] = await Refund.filter(order_id=order["id"])
    assert (refund.amount_fen, refund.status) == (0, "succeeded")
    assert await balances(client, owner) == {"points": 0, "rebate": 0}
    taken = await LedgerEntry.filter(cause="refund").values_list("cause_id", flat=True)
    assert set(taken) == {refund.id}
    await assert_ledger_adds_up()
    assert await OrderEvent.filter(order_id=order["id"]).count() == 3
    # Cancelled, it is not paid: /pay says it cannot be paid (never `paid: true`, which the
    # mini-program would show as paid), and writes nothing.
    pay = await client.post(f"/api/v1/orders/{order['id']}/pay", headers=bearer(owner))
    assert pay.status_code == 409, pay.text
    assert pay.json()["error"]["code"] == "payments.order_not_payable"
    assert await Payment.filter(order_id=order["id"]).count() == 1
    assert await OrderEvent.filter(order_id=order["id"]).count() == 3
