"""Running promotions in the store's quote and in the orders it places: amounts line by line,
gifts as zero-price lines with their stock taken, budgets taken atomically and given back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from tortoise.transactions import in_transaction

from backend.ordering.models import Order, OrderLine
from backend.org.models import StoreTag
from backend.payments.models import Refund
from backend.promotions import service as promotions_service
from backend.promotions.models import Promotion, PromotionUse
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    stock_of,
    store_owner,
)
from tests.test_payments import _is, complete, eventually, prepay
from tests.test_promotions_admin import API, admin, created, reduction


async def running(client: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> Any:
    headers = await admin(client, shop)
    promotion = await created(client, headers, body)
    activated = await client.post(f"{API}/{promotion['id']}/activate", headers=headers)
    assert activated.status_code == 200, activated.text
    return promotion


async def movements(order_id: int) -> list[tuple[str, int]]:
    """The order's budget entries, oldest first."""
    rows = await PromotionUse.filter(order_id=order_id).order_by("id")
    return [(row.kind, row.amount_fen) for row in rows]


async def assert_budgets_add_up() -> None:
    """Every promotion's committed amount is the sum of its entries: takes less give-backs."""
    for promotion in await Promotion.all():
        entries = await PromotionUse.filter(promotion_id=promotion.id)
        net = sum(e.amount_fen if e.kind == "take" else -e.amount_fen for e in entries)
        assert promotion.committed_fen == net, promotion.name


def two_purifiers(shop: Shop) -> dict[str, Any]:
    return {"lines": [{"sku_id": shop.water, "quantity": 2}]}  # 2 × 1999.00 = 3998.00


async def ordered(client: httpx.AsyncClient, owner: dict[str, Any], shop: Shop) -> Any:
    """The owner's order of two purifiers, as placed."""
    placed = await client.post(
        "/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner)
    )
    assert placed.status_code == 201, placed.text
    return placed.json()


async def test_the_quote_and_the_order_show_and_charge_the_promotion(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, reduction(budget_fen=100_000))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    quote = (
        await client.post("/api/v1/quote", json=two_purifiers(shop), headers=idempotent(owner))
    ).json()
    assert quote["payable_fen"] == 399_800 - 30_000
    assert quote["promotion_discount_fen"] == 30_000
    assert [a["promotion_id"] for a in quote["promotions"]["applied"]] == [promotion["id"]]

    placed = await client.post(
        "/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner)
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["list_amount_fen"], order["payable_fen"]) == (399_800, 369_800)
    assert order["discount_fen"] == 30_000 and order["promotion_discount_fen"] == 30_000
    assert order["promotions"][0]["promotion_id"] == promotion["id"]
    (line,) = order["lines"]
    assert line["payable_fen"] == 369_800
    assert line["adjustments"] == [
        {"promotion_id": promotion["id"], "kind": "reduction", "amount_fen": 30_000}
    ]
    # The order as read back says the same as the answer to placing it.
    read = (await client.get(f"/api/v1/orders/{order['id']}", headers=idempotent(owner))).json()
    assert read["lines"] == order["lines"] and read["promotions"] == order["promotions"]
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 30_000
    use = await PromotionUse.get(order_id=order["id"])
    assert (use.kind, use.amount_fen) == ("take", 30_000)

    cancelled = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "买错了"}, headers=idempotent(owner)
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 0
    assert await movements(order["id"]) == [("take", 30_000), ("give_back", 30_000)]
    assert await stock_of(shop) == 50
    await assert_budgets_add_up()

    # The brand reads the budget's statement; another brand's staff cannot.
    statement = await client.get(
        f"{API}/{promotion['id']}/budget", headers=await admin(client, shop)
    )
    assert [
        (e["kind"], e["order_id"], e["amount_fen"], e["committed_after_fen"])
        for e in statement.json()["items"]
    ] == [("take", order["id"], 30_000, 30_000), ("give_back", order["id"], -30_000, 0)]
    second_page = await client.get(
        f"{API}/{promotion['id']}/budget",
        params={"after": statement.json()["items"][0]["id"], "limit": 1},
        headers=await admin(client, shop),
    )
    assert [e["committed_after_fen"] for e in second_page.json()["items"]] == [0]
    stranger = await admin(client, await make_shop())
    foreign = await client.get(f"{API}/{promotion['id']}/budget", headers=stranger)
    assert foreign.status_code == 404


async def test_the_quote_and_the_order_admit_the_store_by_any_of_its_tags(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    store = shop.tenant.store
    for tag in ("社区店", "旗舰店"):  # two tags: the store is read with a row per tag
        await StoreTag.create(store=store, tag=tag)
    tagged = await running(client, shop, reduction(name="社区店", audience={"tags": ["社区店"]}))
    other = await running(client, shop, reduction(name="直营店", audience={"tags": ["直营店"]}))
    owner = await store_owner(client, sandbox_client, store)

    answer = await client.post("/api/v1/quote", json=two_purifiers(shop), headers=bearer(owner))
    assert answer.status_code == 200, answer.text
    quote = answer.json()
    assert [a["promotion_id"] for a in quote["promotions"]["applied"]] == [tagged["id"]]
    skipped = [(s["promotion_id"], s["code"]) for s in quote["promotions"]["skipped"]]
    assert skipped == [(other["id"], "promo.audience")]
    assert quote["payable_fen"] == 399_800 - 30_000

    order = await ordered(client, owner, shop)
    assert [p["promotion_id"] for p in order["promotions"]] == [tagged["id"]]
    assert order["payable_fen"] == 399_800 - 30_000


async def test_a_gift_is_a_zero_price_line_and_takes_its_stock(client, sandbox_client) -> None:
    shop = await make_shop(filter_stock=500)
    gift = reduction(
        name="买净水器送滤芯",
        reward={"kind": "gift", "sku_id": shop.filters, "quantity": 2},
        scope={"sku_ids": [shop.water]},
    )
    promotion = await running(client, shop, gift)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    placed = await client.post(
        "/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner)
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    gift_line = next(line for line in order["lines"] if line["gift"])
    assert gift_line["sku_id"] == shop.filters and gift_line["quantity"] == 2
    assert gift_line["payable_fen"] == 0 and gift_line["gift_promotion_id"] == promotion["id"]
    assert order["payable_fen"] == 399_800  # the gift costs the store nothing
    assert await stock_of(shop, shop.filters) == 498 and await stock_of(shop) == 48
    assert await OrderLine.filter(order_id=order["id"]).count() == 2


async def test_gifts_are_named_in_the_quote_the_cart_and_the_order(client, sandbox_client) -> None:
    shop = await make_shop()
    gift = reduction(
        name="买净水器送滤芯",
        reward={"kind": "gift", "sku_id": shop.filters, "quantity": 2},
        scope={"sku_ids": [shop.water]},
    )
    promotion = await running(client, shop, gift)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    product_id = (await client.get("/api/v1/catalog/skus", headers=bearer(owner))).json()["items"][
        0
    ]["product_id"]
    named = {
        "product_id": product_id,
        "product_name": "澜泉 RO 净水器",
        "sku_name": "滤芯",
        "unit": "支",
    }
    note = "赠送澜泉 RO 净水器 滤芯 × 2支"

    quote = (
        await client.post("/api/v1/quote", json=two_purifiers(shop), headers=bearer(owner))
    ).json()["promotions"]
    assert quote["gifts"] == [
        {
            "promotion_id": promotion["id"],
            "sku_id": shop.filters,
            **named,
            "quantity": 2,
            "value_fen": 10_000,
        }
    ]
    gift_line = next(line for line in quote["lines"] if line["gift"])
    assert {key: gift_line[key] for key in named} == named
    bought = next(line for line in quote["lines"] if not line["gift"])
    assert "product_name" not in bought  # bought lines are named in the quote's own lines
    assert [(a["kind"], a["note"]) for a in quote["applied"]] == [("gift", note)]

    await client.put(
        f"/api/v1/cart/items/{shop.water}", json={"quantity": 2}, headers=bearer(owner)
    )
    cart = (await client.get("/api/v1/cart", headers=bearer(owner))).json()["promotions"]
    assert cart["gifts"][0]["sku_name"] == "滤芯" and cart["applied"][0]["note"] == note

    headers = await admin(client, shop)
    simulated = await client.post(
        f"{API}/simulate",
        json={"store_id": shop.tenant.store.id, **two_purifiers(shop)},
        headers=headers,
    )
    assert simulated.json()["promotions"]["gifts"][0]["product_name"] == "澜泉 RO 净水器"

    placed = (
        await client.post("/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner))
    ).json()
    assert placed["promotions"][0]["note"] == note
    kept = await client.get(f"/api/v1/orders/{placed['id']}", headers=bearer(owner))
    assert kept.json()["promotions"][0]["note"] == note


async def test_a_gift_out_of_stock_refuses_the_order_naming_it_and_nothing_is_taken(
    client, sandbox_client
) -> None:
    shop = await make_shop(filter_stock=1)
    gift = reduction(reward={"kind": "gift", "sku_id": shop.filters, "quantity": 2})
    promotion = await running(client, shop, gift)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    refused = await client.post(
        "/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner)
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "order.lines_unavailable"
    assert error["details"][0]["sku_id"] == shop.filters
    assert error["details"][0]["problems"][0]["code"] == "gift.unavailable"
    assert await Order.all().count() == 0 and await PromotionUse.all().count() == 0
    assert await stock_of(shop) == 50 and await stock_of(shop, shop.filters) == 1
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 0


async def test_a_budget_is_never_spent_past_its_amount_by_concurrent_orders(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    # Room for two full reductions of 300.00 and a third capped at what is left (100.00).
    promotion = await running(client, shop, reduction(budget_fen=70_000))
    owners = []
    for _ in range(8):
        store = await make_store(shop.tenant)
        owners.append(await store_owner(client, sandbox_client, store))

    responses = await asyncio.gather(
        *(
            client.post("/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner))
            for owner in owners
        )
    )
    assert [r.status_code for r in responses if r.status_code != 201] == [], [
        r.text for r in responses if r.status_code != 201
    ][:2]
    discounts = sorted(r.json()["promotion_discount_fen"] for r in responses)
    committed = (await Promotion.get(id=promotion["id"])).committed_fen
    assert committed <= 70_000
    assert sum(discounts) == committed  # every fen given away is charged to the budget
    await assert_budgets_add_up()
    assert discounts.count(30_000) <= 2
    assert all(order.payable_fen + order.discount_fen == 399_800 for order in await Order.all())


async def test_a_per_store_limit_holds_under_concurrent_orders_of_one_store(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, reduction(per_store_limit=1))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    responses = await asyncio.gather(
        *(
            client.post("/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner))
            for _ in range(6)
        )
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses][:2]
    discounts = sorted(r.json()["promotion_discount_fen"] for r in responses)
    assert discounts == [0] * 5 + [30_000]  # one use, the others priced without it
    assert await PromotionUse.filter(promotion_id=promotion["id"]).count() == 1  # one take
    # Cancelling the order that used it gives the use back.
    used = next(r.json() for r in responses if r.json()["promotion_discount_fen"])
    await client.post(
        f"/api/v1/orders/{used['id']}/cancel", json={"reason": "重下"}, headers=idempotent(owner)
    )
    again = await client.post("/api/v1/orders", json=two_purifiers(shop), headers=idempotent(owner))
    assert again.json()["promotion_discount_fen"] == 30_000


async def test_a_paid_order_refunded_in_full_gives_its_budget_back(
    client, sandbox_client, live_api
) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, reduction(budget_fen=100_000))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = await ordered(client, owner, shop)
    started = await prepay(client, owner, order)
    await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(order["id"], "paid"))
    distributor = await distributor_admin(client, shop)

    async def refund(amount_fen: int, key: str) -> None:
        response = await client.post(
            f"/api/v1/orders/{order['id']}/refunds",
            json={"amount_fen": amount_fen, "reason": "退货"},
            headers={**distributor, "Idempotency-Key": key},
        )
        assert response.status_code == 201, response.text
        await sandbox_client.post("/sandbox/pay/refunds/settle", json={})

    await refund(100_000, "part")
    await eventually(lambda: _refunds_succeeded(1))
    # Part of the money back: the promotion still went to this order.
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 30_000
    await refund(order["payable_fen"] - 100_000, "rest")
    await eventually(lambda: _refunds_succeeded(2))
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 0
    assert await movements(order["id"]) == [("take", 30_000), ("give_back", 30_000)]
    await assert_budgets_add_up()


async def _refunds_succeeded(count: int) -> bool:
    return await Refund.filter(status="succeeded").count() == count


async def test_a_promotion_edited_while_paused_prices_the_next_quote_with_its_new_rule(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, reduction())
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    headers = await admin(client, shop)

    async def discount() -> int:
        quote = await client.post("/api/v1/quote", json=two_purifiers(shop), headers=bearer(owner))
        return int(quote.json()["promotion_discount_fen"])

    assert await discount() == 30_000  # and the rule is now converted in this process
    path = f"{API}/{promotion['id']}"
    await client.post(f"{path}/pause", headers=headers)
    assert await discount() == 0
    bigger = reduction(
        reward={"kind": "reduction", "threshold_fen": 300_000, "amount_off_fen": 50_000}
    )
    assert (await client.put(path, json=bigger, headers=headers)).status_code == 200
    await client.post(f"{path}/activate", headers=headers)
    assert await discount() == 50_000


async def test_two_releases_of_one_order_racing_give_its_budget_back_once(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, reduction(budget_fen=100_000))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = await ordered(client, owner, shop)

    async def release() -> None:  # as a cancel and a full refund would, each in its own txn
        async with in_transaction():
            await promotions_service.release_uses(order["id"], datetime.now(UTC))
            await asyncio.sleep(0.05)  # hold the transaction open while the other one tries

    await asyncio.gather(release(), release())
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 0
    assert await movements(order["id"]) == [("take", 30_000), ("give_back", 30_000)]
