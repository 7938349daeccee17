"""A distributor's stores in the console: the list with each store's orders (count, last one),
its filters and tags, a store's page, and other distributors' stores kept out."""

from __future__ import annotations

from typing import Any

import httpx

from backend.org.models import StoreTag
from tests.factories import (
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    staff_headers,
    store_owner,
)


async def ordered(
    client: httpx.AsyncClient, owner: dict[str, Any], sku_id: int, quantity: int = 1
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": sku_id, "quantity": quantity}]},
        headers=idempotent(owner),
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def stores(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/stores", params=params, headers=headers)
    assert response.status_code == 200, response.text
    listed: dict[str, Any] = response.json()
    return listed


async def test_each_store_shows_its_order_count_and_last_order(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    quiet = await make_store(tenant, name="安静的店")
    owner = await store_owner(client, sandbox_client, tenant.store)
    await ordered(client, owner, shop.water, 1)
    last = await ordered(client, owner, shop.water, 2)
    cancelled = await ordered(client, owner, shop.water, 3)
    refused = await client.post(
        f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason": "下错了"}, headers=bearer(owner)
    )
    assert refused.status_code == 200, refused.text
    headers = await distributor_admin(client, shop)
    rows = {row["id"]: row for row in (await stores(client, headers))["items"]}
    busy = rows[tenant.store.id]
    assert busy["order_count"] == 2  # the cancelled one was never bought
    assert busy["last_order"]["id"] == last["id"]
    assert busy["last_order"]["payable_fen"] == 2 * 199_900
    assert busy["last_order"]["order_no"] == last["order_no"]
    assert busy["last_order"]["created_at"].startswith(last["created_at"][:16])
    assert rows[quiet.id]["order_count"] == 0 and rows[quiet.id]["last_order"] is None
    one = await client.get(f"/api/v1/stores/{tenant.store.id}", headers=headers)
    assert one.json()["order_count"] == 2 and one.json()["last_order"]["id"] == last["id"]


async def test_filters_by_tag_salesperson_tier_status_and_name_or_phone(client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    plain = await make_store(tenant, name="城南便利", phone="13700001111", salesperson=None)
    vip = await make_store(tenant, name="城北超市", tier="A", status="suspended")
    await StoreTag.create(store=vip, tag="重点")
    await StoreTag.create(store=tenant.store, tag="重点")
    await StoreTag.create(store=tenant.store, tag="社区")
    headers = await distributor_admin(client, shop)

    async def ids(**params: Any) -> list[int]:
        return [row["id"] for row in (await stores(client, headers, **params))["items"]]

    assert await ids(tag="重点") == [tenant.store.id, vip.id]
    assert await ids(salesperson_id=tenant.salesperson.id) == [tenant.store.id, vip.id]
    assert await ids(tier="A") == [vip.id]
    assert await ids(status="suspended") == [vip.id]
    assert await ids(q="城南") == [plain.id]
    assert await ids(q="0000111") == [plain.id]  # part of the phone number
    assert await ids(q="没有这家") == []
    first = await stores(client, headers, limit=2)
    assert await ids(after=first["next_after"]) == [vip.id]
    tags = await client.get("/api/v1/stores/tags", headers=headers)
    assert tags.json()["items"] == ["社区", "重点"]
    for bad in ({"tier": "Z"}, {"status": "gone"}, {"q": "长" * 65}, {"salesperson_id": 0}):
        response = await client.get("/api/v1/stores", params=bad, headers=headers)
        assert response.status_code == 422, bad


async def test_another_distributors_stores_orders_and_tags_stay_hidden(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    theirs = await make_store(tenant, distributor=tenant.other_distributor, salesperson=None)
    await StoreTag.create(store=theirs, tag="别家的标签")
    headers = await distributor_admin(client, shop)
    hidden = await client.get(f"/api/v1/stores/{theirs.id}", headers=headers)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "org.store_not_found"
    assert theirs.name not in hidden.text
    listed = await stores(client, headers)
    assert theirs.id not in [row["id"] for row in listed["items"]]
    assert (await client.get("/api/v1/stores/tags", headers=headers)).json()["items"] == []
    # Orders and complaints filtered by their store answer nothing.
    assert (
        await client.get("/api/v1/orders", params={"store_id": theirs.id}, headers=headers)
    ).json()["items"] == []
    complaints = await client.get(
        "/api/v1/complaints", params={"store_id": theirs.id}, headers=headers
    )
    assert complaints.status_code == 200 and complaints.json()["items"] == []
    # Another brand's store neither.
    other = await make_shop()
    assert (
        await client.get(f"/api/v1/stores/{other.tenant.store.id}", headers=headers)
    ).status_code == 404
    # Brand staff see every distributor's stores with their order figures.
    brand = await staff_headers(client, tenant.admin_username)
    everything = await stores(client, brand)
    assert {row["id"] for row in everything["items"]} == {tenant.store.id, theirs.id}
    assert all("order_count" in row for row in everything["items"])
    assert (await client.get("/api/v1/stores/tags", headers=brand)).json()["items"] == [
        "别家的标签"
    ]


async def test_a_stores_complaints_by_store(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    second = await make_store(tenant)
    brand = await staff_headers(client, tenant.admin_username)
    distributor = await distributor_admin(client, shop)
    ids = {}
    for store in (tenant.store, second):
        owner = await store_owner(client, sandbox_client, store)
        filed = await client.post(
            "/api/v1/complaints",
            json={"category": "delivery", "text": "三天了还没送到"},
            headers=idempotent(owner),
        )
        assert filed.status_code == 201, filed.text
        ids[store.id] = filed.json()["id"]
        for action in ("acknowledge", "assign"):
            moved = await client.post(f"/api/v1/complaints/{ids[store.id]}/{action}", headers=brand)
            assert moved.status_code == 200, moved.text
    mine = await client.get(
        "/api/v1/complaints", params={"store_id": second.id}, headers=distributor
    )
    assert [c["id"] for c in mine.json()["items"]] == [ids[second.id]]
    bad = await client.get("/api/v1/complaints", params={"store_id": "x"}, headers=distributor)
    assert bad.status_code == 422
