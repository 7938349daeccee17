"""What store scans tell: a store's own stock, the stores' stock and sell-through for the brand
and its distributors, the brand's figures per SKU and distributor, and the scan trail."""

from __future__ import annotations

from typing import Any

import httpx

from backend.codes.models import DiversionAlert
from backend.identity.models import Role
from tests.factories import (
    bearer,
    distributor_admin,
    make_code_batch,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
    wechat_login,
)

API = "/api/v1/codes"


async def scan(client: httpx.AsyncClient, owner: dict[str, Any], code: str, action: str) -> None:
    response = await client.post(
        f"{API}/scans", json={"code": code, "action": action}, headers=bearer(owner)
    )
    assert response.status_code == 201, response.text


async def test_stock_figures_and_trail_follow_the_scans(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    near = tenant.store
    far = await make_store(tenant, distributor=tenant.other_distributor)
    near_owner = await store_owner(client, sandbox_client, near)
    far_owner = await store_owner(client, sandbox_client, far)
    water = await make_code_batch(shop, shop.water, 3, 4, distributor_id=tenant.distributor.id)
    filters = await make_code_batch(shop, shop.filters, 2, 10)  # never shipped

    await scan(client, near_owner, water.boxes[0], "receive")
    await scan(client, near_owner, water.items[0][0], "sell")
    await scan(client, near_owner, water.items[0][1], "sell")
    await scan(client, far_owner, water.boxes[1], "receive")  # shipped to the other's area
    await scan(client, far_owner, water.boxes[1], "sell")
    await scan(client, near_owner, filters.boxes[0], "receive")
    await DiversionAlert.create(
        brand_id=tenant.brand.id,
        code_id=water.box_ids[1],
        box_id=water.box_ids[1],
        batch_id=water.batch.id,
        distributor_id=tenant.distributor.id,
        store_id=far.id,
        store_distributor_id=tenant.other_distributor.id,
        reason="other_distributor",
        scan_action="receive",
        created_at=deps.clock.now(),
    )
    # Another brand's scans are not counted.
    other = await make_shop()
    stranger = await store_owner(client, sandbox_client, other.tenant.store)
    theirs = await make_code_batch(
        other, other.water, 1, 2, distributor_id=other.tenant.distributor.id
    )
    await scan(client, stranger, theirs.boxes[0], "receive")

    # The store's own stock.
    mine = await client.get(f"{API}/stock", headers=bearer(near_owner))
    assert mine.status_code == 200, mine.text
    assert [
        (row["sku_id"], row["received"], row["sold"], row["on_hand"])
        for row in mine.json()["items"]
    ] == [(shop.water, 4, 2, 2), (shop.filters, 10, 0, 10)]
    assert mine.json()["items"][0]["name"] == "澜泉 RO 净水器 RO-500"

    # The brand sees every store's rows; a distributor its own stores'.
    admin = await staff_headers(client, tenant.admin_username)
    rows = (await client.get(f"{API}/store-stock", headers=admin)).json()["items"]
    seen = {(r["store"]["id"], r["sku"]["id"]): r for r in rows}
    assert set(seen) == {(near.id, shop.water), (near.id, shop.filters), (far.id, shop.water)}
    assert seen[(near.id, shop.water)]["sell_through"] == 50.0
    assert seen[(far.id, shop.water)]["sell_through"] == 100.0
    assert seen[(near.id, shop.filters)]["sell_through"] == 0.0
    assert seen[(far.id, shop.water)]["distributor"]["id"] == tenant.other_distributor.id
    by_sku = await client.get(f"{API}/store-stock", params={"sku_id": shop.filters}, headers=admin)
    assert [r["store"]["id"] for r in by_sku.json()["items"]] == [near.id]
    by_distributor = await client.get(
        f"{API}/store-stock", params={"distributor_id": tenant.other_distributor.id}, headers=admin
    )
    assert [r["store"]["id"] for r in by_distributor.json()["items"]] == [far.id]
    first = await client.get(f"{API}/store-stock", params={"limit": 2}, headers=admin)
    assert len(first.json()["items"]) == 2 and first.json()["next_after"]
    rest = await client.get(
        f"{API}/store-stock",
        params={"limit": 2, "after": first.json()["next_after"]},
        headers=admin,
    )
    assert len(rest.json()["items"]) == 1 and rest.json()["next_after"] is None

    distributor = await distributor_admin(client, shop)
    own = (await client.get(f"{API}/store-stock", headers=distributor)).json()["items"]
    assert {r["store"]["id"] for r in own} == {near.id}
    others = await client.get(
        f"{API}/store-stock",
        params={"distributor_id": tenant.other_distributor.id},
        headers=distributor,
    )
    assert others.status_code == 200 and others.json()["items"] == []

    # The brand's figures.
    figures = await client.get(f"{API}/figures", headers=admin)
    assert figures.status_code == 200, figures.text
    skus = {row["sku"]["id"]: row for row in figures.json()["by_sku"]}
    assert set(skus) == {shop.water, shop.filters}
    assert skus[shop.water] | {"sku": None} == {
        "sku": None,
        "codes_made": 15,
        "boxes_made": 3,
        "items_made": 12,
        "boxes_shipped": 3,
        "boxes_received": 2,
        "items_received": 8,
        "items_sold": 6,
        "sell_through": 75.0,
        "diversion_alerts": 1,
    }
    assert skus[shop.filters]["boxes_shipped"] == 0
    assert skus[shop.filters]["boxes_received"] == 1
    assert skus[shop.filters]["items_received"] == 10
    distributors = {row["distributor"]["id"]: row for row in figures.json()["by_distributor"]}
    assert set(distributors) == {tenant.distributor.id}
    assert distributors[tenant.distributor.id] == {
        "distributor": {"id": tenant.distributor.id, "name": tenant.distributor.name},
        "boxes_shipped": 3,
        "boxes_received": 2,
        "items_received": 8,
        "items_sold": 6,
        "sell_through": 75.0,
        "diversion_alerts": 1,
    }
    assert figures.json()["totals"]["items_sold"] == 6

    # The scan trail: newest first; the store's own, the distributor's stores', all.
    trail = (await client.get(f"{API}/scans", headers=bearer(near_owner))).json()["items"]
    assert [(r["action"], r["items"]) for r in trail] == [
        ("receive", 10),
        ("sell", 1),
        ("sell", 1),
        ("receive", 4),
    ]
    assert trail[-1]["code"]["kind_label"] == "箱码" and trail[-1]["action_label"] == "入库"
    assert trail[-1]["store"] == {"id": near.id, "name": near.name}
    everything = (await client.get(f"{API}/scans", headers=admin)).json()["items"]
    assert len(everything) == 6
    sold = await client.get(f"{API}/scans", params={"action": "sell", "limit": 2}, headers=admin)
    assert len(sold.json()["items"]) == 2 and sold.json()["next_before"]
    rest = await client.get(
        f"{API}/scans",
        params={"action": "sell", "limit": 2, "before": sold.json()["next_before"]},
        headers=admin,
    )
    assert len(rest.json()["items"]) == 1
    theirs_trail = (await client.get(f"{API}/scans", headers=distributor)).json()["items"]
    assert {r["store"]["id"] for r in theirs_trail} == {near.id}
    far_sales = await client.get(f"{API}/scans", params={"store_id": far.id}, headers=admin)
    assert [r["action"] for r in far_sales.json()["items"]] == ["sell", "receive"]


async def test_who_may_read_what(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    consumer = await wechat_login(client, sandbox_client, "stock-consumer")
    ops = await staff_headers(client, await make_staff(shop.tenant.brand.id, Role.BRAND_OPS))
    assert (await client.get(f"{API}/figures", headers=bearer(owner))).status_code == 403
    assert (await client.get(f"{API}/store-stock", headers=bearer(owner))).status_code == 403
    assert (await client.get(f"{API}/stock", headers=bearer(consumer))).status_code == 403
    assert (await client.get(f"{API}/scans", headers=bearer(consumer))).status_code == 403
    assert (await client.get(f"{API}/stock", headers=ops)).status_code == 403
    empty = await client.get(f"{API}/figures", headers=ops)
    assert empty.status_code == 200
    assert empty.json() == {
        "by_sku": [],
        "by_distributor": [],
        "totals": {
            "codes_made": 0,
            "boxes_shipped": 0,
            "boxes_received": 0,
            "items_received": 0,
            "items_sold": 0,
            "diversion_alerts": 0,
            "sell_through": None,
        },
    }
    assert (await client.get(f"{API}/stock", headers=bearer(owner))).json() == {"items": []}
    bad = await client.get(f"{API}/scans", params={"action": "steal"}, headers=ops)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "codes.invalid"
    bad = await client.get(f"{API}/store-stock", params={"store_id": "x"}, headers=ops)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "codes.invalid"
