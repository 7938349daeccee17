"""Ordering in the room: a store buys a pushed product at its live price through ordering, on
the live channel; the live stock is taken in the order's transaction and never oversold, and
everyone in the room sees the ticker move."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

from backend.livestream import draws, drops
from backend.livestream.models import LiveOrder, LiveProduct
from backend.ordering import service as ordering_service
from backend.ordering.models import Order
from tests.factories import bearer, distributor_admin, make_shop, make_store, stock_of, store_owner
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_room import Viewer
from tests.test_live_sessions import API, scheduled, session_body

_keys = itertools.count(1)


def keyed(owner: dict[str, Any]) -> dict[str, str]:
    return {**bearer(owner), "Idempotency-Key": f"live-order-{next(_keys)}"}


async def live_now(client: Any, sandbox_client: Any, deps: Any, **changes: Any) -> Any:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps, **changes))
    assert (await client.post(f"{API}/{session['id']}/start", headers=host)).status_code == 200
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    return shop, session, owner


async def test_a_store_orders_at_the_live_price_and_the_room_sees_the_ticker(
    platform_url, client, sandbox_client, deps
) -> None:
    shop, session, owner = await live_now(client, sandbox_client, deps)
    product = session["products"][0]  # RO-500: list 1999.00, live 1599.00, 30 set aside
    viewer = await Viewer().connect(platform_url, owner["access_token"])
    try:
        joined = await viewer.call("join", {"session_id": session["id"]})
        assert joined["ok"]
        headers = keyed(owner)
        body = {"product_id": product["id"], "quantity": 2}
        placed = await client.post(f"{API}/{session['id']}/orders", json=body, headers=headers)
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert (order["channel"], order["payable_fen"], order["list_amount_fen"]) == (
            "live",
            319_800,
            399_800,
        )
        assert order["lines"][0]["unit_price_fen"] == 159_900
        ticker = (await viewer.told("ticker"))[-1]
        assert ticker.pop("version") > joined["data"]["version"]
        assert ticker == {
            "orders": 1,
            "gmv_fen": 319_800,
            "product_id": product["id"],
            "left": 28,
        }
        again = await client.post(f"{API}/{session['id']}/orders", json=body, headers=headers)
        assert again.json()["id"] == order["id"]  # a replay is the same order
        assert await Order.all().count() == 1
        state = (await viewer.call("state"))["data"]
        assert (state["orders"], state["gmv_fen"]) == (1, 319_800)
        assert await stock_of(shop) == 48  # the distributor's stock too
    finally:
        await viewer.client.disconnect()


async def test_concurrent_orders_never_take_more_than_the_live_stock(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    stores = [shop.tenant.store] + [await make_store(shop.tenant) for _ in range(5)]
    products = [{"sku_id": shop.water, "live_price_fen": 150_000, "live_stock": 10}]
    session = await scheduled(client, host, session_body(shop, deps, products=products))
    assert (await client.post(f"{API}/{session['id']}/start", headers=host)).status_code == 200
    product_id = session["products"][0]["id"]
    buyers = [await store_owner(client, sandbox_client, store) for store in stores]

    async def buy(buyer: dict[str, Any]) -> int:
        response = await client.post(
            f"{API}/{session['id']}/orders",
            json={"product_id": product_id, "quantity": 1},
            headers=keyed(buyer),
        )
        assert response.status_code in (201, 409), response.text
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "live.sold_out"
        return response.status_code

    answers = await asyncio.gather(*(buy(buyers[n % len(buyers)]) for n in range(30)))
    assert answers.count(201) == 10
    assert (await LiveProduct.get(id=product_id)).sold == 10
    assert await LiveOrder.all().count() == await Order.filter(channel="live").count() == 10
    assert await stock_of(shop) == 40  # the 20 refused took nothing from the warehouse either


async def test_a_cancelled_or_expired_live_order_puts_its_quantity_back_on_sale(
    client, sandbox_client, deps
) -> None:
    shop, session, owner = await live_now(client, sandbox_client, deps)
    product = session["products"][0]  # 30 set aside for the session

    async def buy(quantity: int) -> dict[str, Any]:
        body = {"product_id": product["id"], "quantity": quantity}
        placed = await client.post(f"{API}/{session['id']}/orders", json=body, headers=keyed(owner))
        assert placed.status_code == 201, placed.text
        return dict(placed.json())

    cancelled, expiring, kept = await buy(3), await buy(5), await buy(2)
    assert (await LiveProduct.get(id=product["id"])).sold == 10
    answer = await client.post(
        f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason": "买错了"}, headers=bearer(owner)
    )
    assert answer.status_code == 200, answer.text
    assert (await LiveProduct.get(id=product["id"])).sold == 7
    # A second cancel is refused and gives nothing back twice.
    again = await client.post(
        f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason": "买错了"}, headers=bearer(owner)
    )
    assert again.status_code == 409
    assert (await LiveProduct.get(id=product["id"])).sold == 7

    await Order.filter(id__in=[expiring["id"], kept["id"]]).update(
        pay_deadline=deps.clock.now() - timedelta(minutes=1)
    )
    await Order.filter(id=kept["id"]).update(status="paid")  # paid in time: stays sold
    assert await ordering_service.expire_unpaid(deps) == 1
    assert (await LiveProduct.get(id=product["id"])).sold == 2
    assert await stock_of(shop) == 48  # the warehouse got the 8 back too


async def test_orders_outside_a_live_session_are_refused(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    url = f"{API}/{session['id']}/orders"
    body = {"product_id": session["products"][0]["id"], "quantity": 1}
    not_live = await client.post(url, json=body, headers=keyed(owner))
    assert (not_live.status_code, not_live.json()["error"]["code"]) == (
        409,
        "live.session_not_live",
    )
    await client.post(f"{API}/{session['id']}/start", headers=host)
    other = await client.post(url, json={**body, "product_id": 999_999}, headers=keyed(owner))
    assert other.json()["error"]["code"] == "live.product_not_found"
    assert (
        await client.post(url, json={**body, "quantity": 0}, headers=keyed(owner))
    ).status_code == 422
    elsewhere = await make_store(shop.tenant, distributor=shop.tenant.other_distributor)
    outsider = await store_owner(client, sandbox_client, elsewhere)
    assert (await client.post(url, json=body, headers=keyed(outsider))).status_code == 404
    assert (await client.post(url, json=body, headers=host)).status_code == 403
    assert await Order.all().count() == 0
    assert (await LiveProduct.get(id=body["product_id"])).sold == 0


async def test_a_live_price_above_the_list_price_is_refused(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    dearer = [{"sku_id": shop.water, "live_price_fen": 199_901, "live_stock": 1}]
    response = await client.post(
        API,
        json=session_body(shop, deps, products=dearer),
        headers={**host, "Idempotency-Key": "dearer"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "products.0.live_price_fen"


async def test_the_session_report_adds_up_its_orders_and_packets(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    template_id = await coupon_template(shop.tenant, deps.clock.now(), total_quantity=None)
    body = session_body(
        shop,
        deps,
        coupon_drops=[{"template_id": template_id, "quantity": 5}],
        draws=[
            {
                "title": "幸运大奖",
                "prizes": [{"name": "净水器", "count": 1}],
                "eligibility": "invited",
            }
        ],
    )
    session = await scheduled(client, host, body)
    assert (await client.post(f"{API}/{session['id']}/start", headers=host)).status_code == 200
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    product = session["products"][0]
    placed = []
    for quantity in (1, 3, 2):
        answer = await client.post(
            f"{API}/{session['id']}/orders",
            json={"product_id": product["id"], "quantity": quantity},
            headers=keyed(owner),
        )
        assert answer.status_code == 201
        placed.append(answer.json())
    cancel = f"/api/v1/orders/{placed[2]['id']}/cancel"
    assert (await client.post(cancel, json={"reason": "买错了"}, headers=bearer(owner))).is_success
    # A store takes the dropped coupon; the host draws among the invited.
    drop_id, draw_id = session["coupon_drops"][0]["id"], session["draws"][0]["id"]
    await drops.start_drop(deps, session["id"], drop_id, now=deps.clock.now())
    taken = await drops.grab(
        deps, session["id"], drop_id, shop.tenant.store.id, now=deps.clock.now()
    )
    # ... and uses it on an order of its own (满 3000 减 200 on two RO-500 at list price).
    used = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": shop.water, "quantity": 2}], "coupon_id": taken["coupon_id"]},
        headers=keyed(owner),
    )
    assert used.status_code == 201, used.text
    await draws.announce(deps, session["id"], draw_id, now=deps.clock.now())
    await draws.run(deps, session["id"], draw_id, now=deps.clock.now())

    figures = (await client.get(f"{API}/{session['id']}/report", headers=host)).json()
    # The cancelled order is counted apart, not in the orders or the GMV.
    assert (figures["orders"], figures["gmv_fen"], figures["cancelled_orders"]) == (
        2,
        4 * 159_900,
        1,
    )
    assert figures["coupons"] == [
        {"drop_id": drop_id, "name": "直播专享满3000减200", "quantity": 5, "claimed": 1, "used": 1}
    ]
    assert figures["draws"] == [
        {
            "draw_id": draw_id,
            "title": "幸运大奖",
            "status": "drawn",
            "winners": [
                {
                    "store_id": shop.tenant.store.id,
                    "name": shop.tenant.store.name,
                    "prize": "净水器",
                }
            ],
        }
    ]
    sold = figures["products"][0]
    assert (sold["orders"], sold["quantity"], sold["amount_fen"], sold["left"]) == (
        2,
        4,
        4 * 159_900,
        26,
    )
    assert figures["red_packets"] == {
        "rains": 1,
        "paid_in_fen": 0,  # planned, never started
        "won_fen": 0,
        "won_count": 0,
        "returned_fen": 0,
    }
    exported = await client.get(f"{API}/{session['id']}/report.csv", headers=host)
    assert exported.status_code == 200
    text = exported.content.decode("utf-8-sig")
    assert "成交额（元）,6396.00" in text and "订单数,2" in text and "已取消订单数,1" in text
    assert "直播专享满3000减200 发放/领取/已使用,5/1/1" in text
    assert f"抽奖 幸运大奖 中奖,{shop.tenant.store.name}（净水器）" in text
    assert (
        await client.get(f"{API}/{session['id']}/report", headers=bearer(owner))
    ).status_code == 403
