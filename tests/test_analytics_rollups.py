"""The analytics rollups: exact, idempotent, taken back on cancel, rebuildable, and safe when
two refreshes run at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from backend.analytics import bitsets, rollups
from backend.analytics.models import SalesRollup, StoreSet, StoreStats
from backend.analytics.scope import china_day
from backend.infra import sql
from backend.org import service as org_service
from tests.factories import (
    Shop,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    store_owner,
)


async def place(client: httpx.AsyncClient, owner: dict[str, Any], lines: list[Any]) -> int:
    response = await client.post("/api/v1/orders", json={"lines": lines}, headers=idempotent(owner))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def pay(client: httpx.AsyncClient, shop: Shop, order_id: int) -> None:
    paid = await client.post(
        f"/api/v1/orders/{order_id}/offline-payment",
        json={"note": "现金"},
        headers=await distributor_admin(client, shop),
    )
    assert paid.status_code in (200, 201), paid.text


async def figures(brand_id: int, distributor_id: int = 0) -> dict[tuple[str, str, str], tuple]:
    """(grain, dim, key) → (orders, units, list, discount, gmv), summed over periods and
    channels, without the rows that came to zero."""
    sums: dict[tuple[str, str, str], list[int]] = {}
    for row in await SalesRollup.filter(brand_id=brand_id, distributor_id=distributor_id):
        key = (row.grain, row.dim, row.key)
        values = sums.setdefault(key, [0, 0, 0, 0, 0])
        for at, value in enumerate(
            (row.orders, row.units, row.list_fen, row.discount_fen, row.gmv_fen)
        ):
            values[at] += value
    return {key: tuple(v) for key, v in sums.items() if any(v)}


# A rollup row's key, in the order the rows are compared.
ROW_KEY = ("brand_id", "distributor_id", "grain", "dim", "period", "key", "channel")


async def all_rows() -> list[tuple]:
    return [
        (*(getattr(r, name) for name in ROW_KEY), r.orders, r.units, r.gmv_fen)
        for r in await SalesRollup.all().order_by(*ROW_KEY)
        if r.orders or r.units or r.gmv_fen
    ]


async def all_sets() -> list[tuple]:
    """The store sets, each with its stores as a sorted list."""
    return [
        (
            *(getattr(r, name) for name in ROW_KEY),
            sorted(bitsets.unpack(r.stores)),
            r.orders,
            r.units,
            r.gmv_fen,
        )
        for r in await StoreSet.all().order_by(*ROW_KEY)
    ]


async def test_paid_orders_count_in_every_dimension_and_a_cancel_takes_back_exactly(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    brand_id, distributor_id = shop.tenant.brand.id, shop.tenant.distributor.id
    both = await place(
        client,
        owner,
        [{"sku_id": shop.water, "quantity": 2}, {"sku_id": shop.filters, "quantity": 10}],
    )
    unpaid = await place(client, owner, [{"sku_id": shop.water, "quantity": 1}])
    await rollups.refresh(deps)
    assert await figures(brand_id) == {}  # nothing paid yet
    await pay(client, shop, both)
    assert await rollups.refresh(deps) == 1

    store = shop.tenant.store
    water, filters = 2 * 199_900, 10 * 10_000
    whole = (1, 12, water + filters, 0, water + filters)
    day_rows = await figures(brand_id)
    expected_dims = {
        ("day", "all", ""): whole,
        ("day", "distributor", str(distributor_id)): whole,
        ("day", "region", str(store.region_id or 0)): whole,  # type: ignore[attr-defined]
        ("day", "tier", store.tier): whole,
        ("day", "sku", str(shop.water)): (1, 2, water, 0, water),
        ("day", "sku", str(shop.filters)): (1, 10, filters, 0, filters),
    }
    for key, value in expected_dims.items():
        assert day_rows[key] == value, key
        assert day_rows[("month", *key[1:])] == value, key
    [category_row] = [v for k, v in day_rows.items() if k[:2] == ("day", "category")]
    assert category_row == whole  # both SKUs are of one category
    assert day_rows[("month", "store", str(store.id))] == whole
    assert not any(k[:2] == ("day", "store") for k in day_rows)  # stores by month only
    assert await figures(brand_id, distributor_id) == day_rows  # its only distributor
    [period] = {r.period for r in await SalesRollup.filter(grain="day", dim="all")}
    assert period == china_day(deps.clock.now())
    stats = await StoreStats.get(store_id=store.id)
    assert (stats.orders, stats.gmv_fen, stats.last_day) == (1, water + filters, period)

    # Read again: nothing moves. Paid another, then the first withdrawn by the store.
    assert await rollups.refresh(deps) == 0
    assert await figures(brand_id) == day_rows
    await pay(client, shop, unpaid)
    cancelled = await client.post(
        f"/api/v1/orders/{both}/cancel", json={"reason": "买错了"}, headers=idempotent(owner)
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await rollups.refresh(deps) == 2
    after = await figures(brand_id)
    assert after[("day", "all", "")] == (1, 1, 199_900, 0, 199_900)
    assert ("day", "sku", str(shop.filters)) not in after  # taken back to zero
    stats = await StoreStats.get(store_id=store.id)
    assert (stats.orders, stats.gmv_fen) == (1, 199_900)


async def test_a_rebuild_gives_what_the_refreshes_gave_and_other_brands_stay_apart(
    client, sandbox_client, deps
) -> None:
    shops = [await make_shop(), await make_shop()]
    for shop in shops:
        second = await make_store(shop.tenant, tier="A")
        for store in (shop.tenant.store, second):
            owner = await store_owner(client, sandbox_client, store)
            for quantity in (1, 3):
                order_id = await place(
                    client, owner, [{"sku_id": shop.water, "quantity": quantity}]
                )
                await pay(client, shop, order_id)
            await rollups.refresh(deps)
        # Tagged after its orders counted: the store sets take it in with the minute job.
        await org_service.tag_stores(
            deps, shop.tenant.acting_admin, [second.id], add=["连锁"], remove=[]
        )
    assert await rollups.refresh_tags(deps) == 2
    incremental, incremental_sets = await all_rows(), await all_sets()
    assert {(row[3], row[5]) for row in incremental_sets} == {
        ("all", ""),
        ("tag", ""),
        ("tag", "连锁"),
    }
    assert await rollups.rebuild(deps) == 8
    assert await all_rows() == incremental
    assert await all_sets() == incremental_sets
    for shop in shops:
        brand = await figures(shop.tenant.brand.id)
        assert brand[("day", "all", "")] == (4, 8, 8 * 199_900, 0, 8 * 199_900)
        assert brand[("day", "tier", "A")][0] == 2


async def test_an_order_changed_in_a_transaction_that_committed_late_is_still_read(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order_id = await place(client, owner, [{"sku_id": shop.water, "quantity": 1}])
    await rollups.refresh(deps)
    await pay(client, shop, order_id)
    # As if the payment's transaction had started (and stamped the order) two minutes before
    # the last refresh, and committed after it.
    await sql.execute(
        "UPDATE orders SET updated_at = $2 WHERE id = $1",
        order_id,
        deps.clock.now() - timedelta(minutes=2),
    )
    assert await rollups.refresh(deps) == 1
    assert (await figures(shop.tenant.brand.id))[("day", "all", "")][0] == 1


async def test_refreshes_at_once_apply_each_order_once(client, sandbox_client, deps) -> None:
    shop = await make_shop(water_stock=200)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    for _ in range(12):
        order_id = await place(client, owner, [{"sku_id": shop.water, "quantity": 1}])
        await pay(client, shop, order_id)
    results = await asyncio.gather(*(rollups.refresh(deps) for _ in range(4)))
    assert sum(results) == 12
    assert (await figures(shop.tenant.brand.id))[("day", "all", "")] == (
        12,
        12,
        12 * 199_900,
        0,
        12 * 199_900,
    )
    assert (await StoreStats.get(store_id=shop.tenant.store.id)).orders == 12
