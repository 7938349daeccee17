"""Ordering: cart and quote, placement with atomic stock, idempotency, the status flow."""

from __future__ import annotations

import asyncio
import logging

import pytest

from backend.catalog import service as catalog_service
from backend.catalog.models import DistributorSku, PriceEntry, Sku
from backend.identity.models import Role
from backend.ordering import service as ordering_service
from backend.ordering.models import Order, OrderEvent
from tests.factories import (
    bearer,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    make_tenant,
    phone_code,
    staff_headers,
    stock_of,
    store_owner,
    wechat_login,
)


async def test_cart_quote_and_order_from_cart(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await client.put(
        f"/api/v1/cart/items/{shop.water}", json={"quantity": 2}, headers=bearer(owner)
    )
    cart = (
        await client.put(
            f"/api/v1/cart/items/{shop.filters}", json={"quantity": 20}, headers=bearer(owner)
        )
    ).json()
    assert cart["orderable"] is True
    assert cart["payable_fen"] == 2 * 199_900 + 20 * 10_000
    placed = await client.post("/api/v1/orders", json={}, headers=idempotent(owner))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["channel"] == "self" and order["status"] == "pending_payment"
    assert order["payable_fen"] == 599_800 and order["list_amount_fen"] == 599_800
    assert [(line["sku_id"], line["quantity"]) for line in order["lines"]] == [
        (shop.water, 2),
        (shop.filters, 20),
    ]
    assert order["timeline"][0]["to_status"] == "pending_payment"
    assert order["distributor_id"] == shop.tenant.distributor.id
    assert await stock_of(shop, shop.water) == 48 and await stock_of(shop, shop.filters) == 480
    assert (await client.get("/api/v1/cart", headers=bearer(owner))).json()["lines"] == []


async def test_tier_and_quantity_prices(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    await PriceEntry.create(
        brand=tenant.brand, sku_id=shop.water, min_qty=1, unit_price_fen=189_900
    )
    await PriceEntry.create(
        brand=tenant.brand, sku_id=shop.water, min_qty=5, unit_price_fen=179_900
    )
    await PriceEntry.create(
        brand=tenant.brand, sku_id=shop.water, store_tier="A", min_qty=1, unit_price_fen=185_000
    )
    await PriceEntry.create(
        brand=tenant.brand,
        sku_id=shop.water,
        distributor=tenant.other_distributor,
        min_qty=1,
        unit_price_fen=1,
    )
    owner = await store_owner(client, sandbox_client, tenant.store)

    async def price(quantity: int) -> tuple[int, str]:
        body = {"lines": [{"sku_id": shop.water, "quantity": quantity}]}
        line = (await client.post("/api/v1/quote", json=body, headers=bearer(owner))).json()[
            "lines"
        ][0]
        return line["unit_price_fen"], line["price_source"]

    assert await price(1) == (189_900, "brand:1")
    assert await price(5) == (179_900, "brand:5")
    tenant.store.tier = "A"
    await tenant.store.save()
    assert await price(1) == (185_000, "tier:1")
    assert await price(6) == (
        185_000,
        "tier:1",
    )  # a tier's own price outranks the brand's volume price


async def test_quote_explains_what_cannot_be_ordered(client, sandbox_client) -> None:
    shop = await make_shop(water_stock=3)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {
        "lines": [
            {"sku_id": shop.water, "quantity": 5},
            {"sku_id": shop.filters, "quantity": 15},
            {"sku_id": shop.unsold, "quantity": 1},
            {"sku_id": 999_999, "quantity": 1},
        ]
    }
    quote = (await client.post("/api/v1/quote", json=body, headers=bearer(owner))).json()
    codes = {line["sku_id"]: [p["code"] for p in line["problems"]] for line in quote["lines"]}
    assert codes == {
        shop.water: ["sku.insufficient_stock"],
        shop.filters: ["quantity.not_case_multiple"],
        shop.unsold: ["sku.not_sold_here"],
        999_999: ["sku.not_found"],
    }
    assert quote["orderable"] is False and quote["payable_fen"] == 0


async def test_not_enough_stock_is_409_naming_lines_and_nothing_is_reserved(
    client, sandbox_client
) -> None:
    shop = await make_shop(water_stock=1)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {
        "lines": [{"sku_id": shop.filters, "quantity": 10}, {"sku_id": shop.water, "quantity": 2}]
    }
    response = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "order.lines_unavailable"
    assert [d["sku_id"] for d in error["details"]] == [shop.water]
    assert await stock_of(shop, shop.filters) == 500 and await stock_of(shop, shop.water) == 1
    assert await Order.all().count() == 0


async def test_bad_quantities_are_422(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    for quantity, sku in (
        (0, shop.water),
        (-3, shop.water),
        (10**9, shop.water),
        (15, shop.filters),
        (1.5, shop.water),
    ):
        body = {"lines": [{"sku_id": sku, "quantity": quantity}]}
        response = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
        assert response.status_code == 422, (quantity, response.text)
    below_minimum = {"lines": [{"sku_id": shop.filters, "quantity": 10}]}
    await Sku.filter(id=shop.filters).update(min_order_qty=20)
    response = await client.post("/api/v1/orders", json=below_minimum, headers=idempotent(owner))
    assert response.json()["error"]["code"] == "order.invalid_quantity"
    assert await Order.all().count() == 0 and await stock_of(shop, shop.filters) == 500


async def test_last_ten_units_go_to_exactly_ten_of_two_hundred_buyers(
    client, sandbox_client
) -> None:
    shop = await make_shop(water_stock=10)
    owners = []
    for _ in range(20):
        store = await make_store(shop.tenant)
        owners.append(await store_owner(client, sandbox_client, store))
    body = {"lines": [{"sku_id": shop.water, "quantity": 1}]}
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/orders", json=body, headers=idempotent(owner))
            for owner in owners
            for _ in range(10)
        )
    )
    statuses = [r.status_code for r in responses]
    assert not [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert statuses.count(201) == 10 and statuses.count(409) == 190
    assert await Order.all().count() == 10
    assert await stock_of(shop, shop.water) == 0


async def test_one_idempotency_key_fifty_times_gives_one_order(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {"lines": [{"sku_id": shop.water, "quantity": 1}]}
    headers = idempotent(owner, "checkout-7f3a")
    responses = await asyncio.gather(
        *(client.post("/api/v1/orders", json=body, headers=headers) for _ in range(50))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await Order.all().count() == 1 and await stock_of(shop, shop.water) == 49
    different = await client.post(
        "/api/v1/orders", json={"lines": [{"sku_id": shop.water, "quantity": 2}]}, headers=headers
    )
    assert (
        different.status_code == 409
        and different.json()["error"]["code"] == "idempotency.key_reused"
    )
    missing = await client.post("/api/v1/orders", json=body, headers=bearer(owner))
    assert (
        missing.status_code == 422 and missing.json()["error"]["code"] == "idempotency.key_required"
    )
    assert await Order.all().count() == 1


async def test_a_refused_order_is_replayed_with_the_same_refusal(client, sandbox_client) -> None:
    shop = await make_shop(water_stock=0)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {"lines": [{"sku_id": shop.water, "quantity": 1}]}
    headers = idempotent(owner)
    first = await client.post("/api/v1/orders", json=body, headers=headers)
    await catalog_service.adjust_stock(
        shop.tenant.acting_admin, shop.tenant.distributor.id, shop.water, delta=5
    )
    again = await client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == again.status_code == 409
    assert first.json() == again.json()
    # A new key is a new attempt, and now there is stock.
    fresh = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    assert fresh.status_code == 201
    assert await Order.all().count() == 1


async def test_store_cancels_before_acceptance_and_stock_returns(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = (
        await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": shop.water, "quantity": 3}]},
            headers=idempotent(owner),
        )
    ).json()
    cancelled = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "买错了"}, headers=bearer(owner)
    )
    assert cancelled.status_code == 200
    assert (
        cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "买错了"
    )
    assert await stock_of(shop, shop.water) == 50
    again = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "x"}, headers=bearer(owner)
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "order.illegal_transition"
    assert await stock_of(shop, shop.water) == 50
    assert await OrderEvent.filter(order_id=order["id"]).count() == 2


async def test_illegal_transitions_are_refused_and_change_nothing(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    distributor = await staff_headers(
        client,
        await make_staff(shop.tenant.brand.id, Role.DISTRIBUTOR_STAFF, shop.tenant.distributor.id),
    )
    order = (
        await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": shop.water, "quantity": 1}]},
            headers=idempotent(owner),
        )
    ).json()
    attempts = [
        ("accept", distributor, None),
        ("ship", distributor, {"logistics_note": "顺丰 SF123"}),
        ("deliver", distributor, None),
        ("sign", bearer(owner), {}),
    ]
    for action, headers, body in attempts:
        response = await client.post(
            f"/api/v1/orders/{order['id']}/{action}", json=body, headers=headers
        )
        assert response.status_code == 409, action
        assert response.json()["error"]["code"] == "order.illegal_transition"
    # A store may not accept its own order (distributor staff may cancel it while unpaid,
    # never once paid: tests/test_order_detail_api.py).
    assert (
        await client.post(f"/api/v1/orders/{order['id']}/accept", headers=bearer(owner))
    ).status_code == 403
    fresh = await Order.get(id=order["id"])
    assert fresh.status == "pending_payment" and fresh.logistics_note is None
    assert await OrderEvent.filter(order_id=order["id"]).count() == 1
    assert await stock_of(shop, shop.water) == 49


async def test_unpaid_orders_expire_and_release_stock(
    client, sandbox_client, deps, settings
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = (
        await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": shop.water, "quantity": 4}]},
            headers=idempotent(owner),
        )
    ).json()
    assert await ordering_service.expire_unpaid(deps) == 0
    deps.clock.advance(seconds=settings.order_payment_timeout_seconds + 1)
    assert await ordering_service.expire_unpaid(deps) == 1
    assert await ordering_service.expire_unpaid(deps) == 0
    owner = await store_owner(client, sandbox_client, shop.tenant.store)  # half an hour later
    expired = (await client.get(f"/api/v1/orders/{order['id']}", headers=bearer(owner))).json()
    assert expired["status"] == "cancelled"
    assert expired["timeline"][-1]["actor_role"] == "system"
    assert await stock_of(shop, shop.water) == 50


async def test_salesperson_orders_for_their_store_only(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    seller = await wechat_login(client, sandbox_client, "seller")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(seller))
    seller = await wechat_login(client, sandbox_client, "seller")
    assert seller["identity"]["role"] == "salesperson"
    body = {"store_id": tenant.store.id, "lines": [{"sku_id": shop.water, "quantity": 1}]}
    placed = await client.post("/api/v1/orders", json=body, headers=idempotent(seller))
    assert placed.status_code == 201 and placed.json()["channel"] == "proxy"
    others = await make_store(tenant, salesperson=None)
    refused = await client.post(
        "/api/v1/orders", json={**body, "store_id": others.id}, headers=idempotent(seller)
    )
    assert refused.status_code == 404
    owner = await store_owner(client, sandbox_client, tenant.store)
    mine = (await client.get("/api/v1/orders?channel=proxy", headers=bearer(owner))).json()["items"]
    assert [o["id"] for o in mine] == [placed.json()["id"]]
    assert await Order.all().count() == 1


async def test_order_views_are_scoped_filtered_and_paged(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    other_store = await make_store(tenant, distributor=tenant.other_distributor)
    await DistributorSku.create(
        brand=tenant.brand, distributor=tenant.other_distributor, sku_id=shop.water, stock=10
    )
    owner = await store_owner(client, sandbox_client, tenant.store)
    other_owner = await store_owner(client, sandbox_client, other_store)
    body = {"lines": [{"sku_id": shop.water, "quantity": 1}]}
    ours = [
        (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()["id"]
        for _ in range(3)
    ]
    theirs = (
        await client.post("/api/v1/orders", json=body, headers=idempotent(other_owner))
    ).json()["id"]
    distributor = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    brand = await staff_headers(client, tenant.admin_username)
    listed = (await client.get("/api/v1/orders", headers=distributor)).json()["items"]
    assert [o["id"] for o in listed] == sorted(ours, reverse=True)
    assert (await client.get(f"/api/v1/orders/{theirs}", headers=distributor)).status_code == 404
    assert (await client.get(f"/api/v1/orders/{theirs}", headers=bearer(owner))).status_code == 404
    everything = (await client.get("/api/v1/orders?limit=2", headers=brand)).json()
    assert len(everything["items"]) == 2 and everything["next_before"] is not None
    rest = (
        await client.get(
            f"/api/v1/orders?limit=2&before={everything['next_before']}", headers=brand
        )
    ).json()
    assert len(rest["items"]) == 2 and rest["next_before"] is None
    by_store = (
        await client.get(f"/api/v1/orders?store_id={other_store.id}", headers=brand)
    ).json()["items"]
    assert [o["id"] for o in by_store] == [theirs]
    today = (
        await client.get(
            "/api/v1/orders?created_from=2020-01-01&status=pending_payment", headers=brand
        )
    ).json()
    assert len(today["items"]) == 4
    assert (await client.get("/api/v1/orders?status=nonsense", headers=brand)).status_code == 422


async def test_another_brands_order_is_404_and_untouched(client, sandbox_client) -> None:
    ours = await make_shop(await make_tenant("甲品牌"))
    theirs = await make_shop(await make_tenant("乙品牌"))
    their_owner = await store_owner(client, sandbox_client, theirs.tenant.store)
    order = (
        await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": theirs.water, "quantity": 1}]},
            headers=idempotent(their_owner),
        )
    ).json()
    our_owner = await store_owner(client, sandbox_client, ours.tenant.store)
    our_brand = await staff_headers(client, ours.tenant.admin_username)
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=our_brand)).status_code == 404
    cancel = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "x"}, headers=bearer(our_owner)
    )
    assert cancel.status_code == 404
    # Their SKU in our cart is unknown to us.
    assert (
        await client.put(
            f"/api/v1/cart/items/{theirs.water}", json={"quantity": 1}, headers=bearer(our_owner)
        )
    ).status_code == 404
    assert (await Order.get(id=order["id"])).status == "pending_payment"


async def test_reorder_puts_lines_back_in_the_cart(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {
        "lines": [{"sku_id": shop.water, "quantity": 2}, {"sku_id": shop.filters, "quantity": 10}]
    }
    order = (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()
    cart = (
        await client.post(f"/api/v1/orders/{order['id']}/reorder", headers=bearer(owner))
    ).json()
    assert [(line["sku_id"], line["quantity"]) for line in cart["lines"]] == [
        (shop.water, 2),
        (shop.filters, 10),
    ]
    assert cart["orderable"] is True


async def test_proxy_orders_are_reported_apart(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    seller = await wechat_login(client, sandbox_client, "reporting-seller")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(seller))
    seller = await wechat_login(client, sandbox_client, "reporting-seller")
    owner = await store_owner(client, sandbox_client, tenant.store)
    one = {"lines": [{"sku_id": shop.water, "quantity": 1}]}
    for _ in range(2):
        await client.post(
            "/api/v1/orders", json={**one, "store_id": tenant.store.id}, headers=idempotent(seller)
        )
    own = (await client.post("/api/v1/orders", json=one, headers=idempotent(owner))).json()
    cancelled = (await client.post("/api/v1/orders", json=one, headers=idempotent(owner))).json()
    await client.post(
        f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason": "x"}, headers=bearer(owner)
    )
    brand = await staff_headers(client, tenant.admin_username)
    report = (await client.get("/api/v1/orders/summary", headers=brand)).json()
    assert report["by_channel"] == [
        {"channel": "proxy", "orders": 2, "payable_fen": 2 * 199_900},
        {"channel": "self", "orders": 1, "payable_fen": own["payable_fen"]},
    ]
    assert report["proxy_by_salesperson"] == [
        {
            "salesperson_id": tenant.salesperson.id,
            "salesperson_name": tenant.salesperson.name,
            "orders": 2,
            "payable_fen": 2 * 199_900,
        }
    ]
    other_brand = await make_tenant("别家品牌")
    theirs = await staff_headers(client, other_brand.admin_username)
    assert (await client.get("/api/v1/orders/summary", headers=theirs)).json() == {
        "by_channel": [],
        "proxy_by_salesperson": [],
    }
    assert (await client.get("/api/v1/orders/summary", headers=bearer(owner))).status_code == 403


async def test_store_prices_for_one_product_by_its_id(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    await PriceEntry.create(
        brand=tenant.brand, sku_id=shop.water, min_qty=5, unit_price_fen=179_900
    )
    category_id = (await catalog_service.list_categories(tenant.brand.id))[0]["id"]
    other_product = await catalog_service.create_product(
        tenant.acting_admin,
        name="龙头",
        category_id=category_id,
        description="",
        images=[],
        skus=[
            {
                "name": "标准款",
                "spec": "",
                "unit": "个",
                "barcode": None,
                "list_price_fen": 500,
                "case_size": 1,
                "min_order_qty": 1,
            }
        ],
    )
    product_id = (await Sku.get(id=shop.water)).product_id  # type: ignore[attr-defined]
    owner = await store_owner(client, sandbox_client, tenant.store)

    async def skus(**params: object) -> list[dict[str, object]]:
        response = await client.get("/api/v1/catalog/skus", params=params, headers=bearer(owner))
        assert response.status_code == 200, response.text
        items: list[dict[str, object]] = response.json()["items"]
        return items

    found = await skus(product_id=product_id, limit=100)
    assert [s["id"] for s in found] == [shop.water, shop.filters, shop.unsold]
    water = found[0]
    assert water["product_id"] == product_id and water["category_id"] == category_id
    assert water["unit_price_fen"] == 199_900  # one unit: below the volume price
    assert water["price_tiers"] == [{"min_qty": 5, "unit_price_fen": 179_900}]
    assert (found[1]["case_size"], found[1]["min_order_qty"]) == (10, 10)
    assert found[2]["sold_here"] is False
    assert [s["id"] for s in await skus(product_id=other_product["id"])] == [
        other_product["skus"][0]["id"]
    ]
    assert await skus(product_id=product_id, q="龙头") == []  # filters combine
    stranger = await make_shop()
    foreign_product = (await Sku.get(id=stranger.water)).product_id  # type: ignore[attr-defined]
    assert await skus(product_id=foreign_product) == []  # another brand's product: nothing
    for value in ("abc", "0", "-1"):
        response = await client.get(
            "/api/v1/catalog/skus", params={"product_id": value}, headers=bearer(owner)
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "request.invalid" and error["details"][0]["field"] == "product_id"


async def test_cart_and_quote_lines_carry_case_size_minimum_and_product(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    product_id = (await Sku.get(id=shop.water)).product_id  # type: ignore[attr-defined]
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await client.put(
        f"/api/v1/cart/items/{shop.water}", json={"quantity": 2}, headers=bearer(owner)
    )
    put = await client.put(
        f"/api/v1/cart/items/{shop.filters}", json={"quantity": 15}, headers=bearer(owner)
    )
    rules = {"product_id": product_id, "case_size": 10, "min_order_qty": 10}
    for cart in (put.json(), (await client.get("/api/v1/cart", headers=bearer(owner))).json()):
        water, filters = cart["lines"]
        assert {key: water[key] for key in rules} == {**rules, "case_size": 1, "min_order_qty": 1}
        assert {key: filters[key] for key in rules} == rules
        assert filters["problems"][0]["code"] == "quantity.not_case_multiple"
    body = {"lines": [{"sku_id": shop.filters, "quantity": 20}, {"sku_id": 999_999, "quantity": 1}]}
    quote = (await client.post("/api/v1/quote", json=body, headers=bearer(owner))).json()
    filters, unknown = quote["lines"]
    assert {key: filters[key] for key in rules} == rules
    assert (unknown["product_id"], unknown["case_size"], unknown["min_order_qty"]) == (None, 1, 1)


async def test_the_order_list_summarises_each_order_with_one_query_per_page(
    client, sandbox_client, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    bodies = [
        {"lines": [{"sku_id": shop.water, "quantity": 2}]},
        {
            "lines": [
                {"sku_id": shop.filters, "quantity": 20},
                {"sku_id": shop.water, "quantity": 1},
            ]
        },
        {"lines": [{"sku_id": shop.water, "quantity": 1}]},
    ]
    ids = [
        (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()["id"]
        for body in bodies
    ]

    async def listed(limit: int) -> tuple[list[dict[str, object]], int]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            response = await client.get(
                "/api/v1/orders", params={"limit": limit}, headers=bearer(owner)
            )
        assert response.status_code == 200, response.text
        queries = [r for r in caplog.records if r.name == "tortoise.db_client"]
        return response.json()["items"], len(queries)

    one, queries_for_one = await listed(1)
    three, queries_for_three = await listed(3)
    # The page of orders with its stores and salespeople, then all their summaries, their
    # after-sale flags and their payments and refunds at once: never a query per order.
    assert (queries_for_one, queries_for_three) == (5, 5)
    assert [o["id"] for o in three] == ids[::-1] and one[0]["id"] == ids[2]
    summaries = {o["id"]: o["summary"] for o in three}
    assert summaries[ids[0]] == {
        "first_sku_id": shop.water,
        "first_product_name": "澜泉 RO 净水器",
        "first_sku_name": "RO-500",
        "first_unit": "台",
        "line_count": 1,
        "total_quantity": 2,
        "gift_quantity": 0,
        "text": "澜泉 RO 净水器 RO-500 × 2台",
    }
    two_lines = summaries[ids[1]]
    assert (two_lines["first_sku_id"], two_lines["first_sku_name"]) == (shop.filters, "滤芯")
    assert (two_lines["line_count"], two_lines["total_quantity"]) == (2, 21)
    assert two_lines["text"] == "澜泉 RO 净水器 滤芯 等 2 种商品，共 21 件"


async def salesperson_session(client, sandbox_client, phone: str, persona: str) -> dict:
    first = await wechat_login(client, sandbox_client, persona)
    code = await phone_code(sandbox_client, phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(first))
    tokens = await wechat_login(client, sandbox_client, persona)
    assert tokens["identity"]["role"] == "salesperson"
    return tokens


async def test_a_salesperson_sees_the_orders_of_their_own_stores_only(
    client, sandbox_client
) -> None:
    from backend.org.models import Salesperson

    shop = await make_shop()
    tenant = shop.tenant
    colleague = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李娜", phone="13900000088"
    )
    colleagues_store = await make_store(tenant, salesperson=colleague)
    wang = await salesperson_session(client, sandbox_client, tenant.salesperson.phone, "o-wang")
    li = await salesperson_session(client, sandbox_client, colleague.phone, "o-li")
    one = {"lines": [{"sku_id": shop.water, "quantity": 1}]}
    proxy = await client.post(
        "/api/v1/orders", json={**one, "store_id": tenant.store.id}, headers=idempotent(wang)
    )
    assert proxy.status_code == 201, proxy.text
    owner = await store_owner(client, sandbox_client, tenant.store)
    own = (await client.post("/api/v1/orders", json=one, headers=idempotent(owner))).json()
    theirs = await client.post(
        "/api/v1/orders", json={**one, "store_id": colleagues_store.id}, headers=idempotent(li)
    )
    assert theirs.status_code == 201, theirs.text

    for order_id, channel in ((proxy.json()["id"], "proxy"), (own["id"], "self")):
        seen = await client.get(f"/api/v1/orders/{order_id}", headers=bearer(wang))
        assert seen.status_code == 200, seen.text
        detail = seen.json()
        assert (detail["channel"], detail["store_id"], detail["store_name"]) == (
            channel,
            tenant.store.id,
            tenant.store.name,
        )
        assert detail["lines"][0]["sku_id"] == shop.water and detail["timeline"]
        assert (detail["paid_fen"], detail["refunded_fen"]) == (0, 0)
    by_owner = await client.get(f"/api/v1/orders/{proxy.json()['id']}", headers=bearer(owner))
    assert by_owner.json()["store_name"] == tenant.store.name

    # Another salesperson's store, and another brand's salesperson: not found.
    hidden = await client.get(f"/api/v1/orders/{theirs.json()['id']}", headers=bearer(wang))
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "order.not_found"
    for order_id in (proxy.json()["id"], own["id"]):
        assert (
            await client.get(f"/api/v1/orders/{order_id}", headers=bearer(li))
        ).status_code == 404
    elsewhere = await make_tenant()
    stranger = await salesperson_session(
        client, sandbox_client, elsewhere.salesperson.phone, "o-elsewhere"
    )
    stranger_sees = await client.get(
        f"/api/v1/orders/{proxy.json()['id']}", headers=bearer(stranger)
    )
    assert stranger_sees.status_code == 404

    # A salesperson never pays, and withdraws only the proxy orders: nothing else changes.
    paying = await client.post(f"/api/v1/orders/{proxy.json()['id']}/pay", headers=bearer(wang))
    assert paying.status_code == 403
    withdraw_own = await client.post(
        f"/api/v1/orders/{own['id']}/cancel", json={"reason": "代取消"}, headers=bearer(wang)
    )
    assert withdraw_own.status_code == 404
    assert (await Order.get(id=own["id"])).status == "pending_payment"
    withdrawn = await client.post(
        f"/api/v1/orders/{proxy.json()['id']}/cancel",
        json={"reason": "门店改主意"},
        headers=bearer(wang),
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "cancelled"
