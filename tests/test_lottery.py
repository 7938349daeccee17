"""The lottery wheel: a paid order over the threshold unlocks one spin; prizes' stock is
never overdrawn; points land in the ledger; every spin can be recomputed from its record."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from backend.ledger.models import LedgerEntry
from backend.lottery.models import LotteryPrize, LotterySpin
from backend.lottery.wheel import Slot, landed_on
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    store_owner,
)
from tests.test_promotions_admin import admin

API = "/api/v1/lottery"


def test_the_roll_lands_on_the_slot_whose_range_holds_it() -> None:
    table = [Slot(7, 1), Slot(8, 3), Slot(9, 6)]  # ranges [0,1) [1,4) [4,10)
    assert [landed_on(table, roll) for roll in range(10)] == [7, 8, 8, 8, 9, 9, 9, 9, 9, 9]
    with pytest.raises(ValueError, match="roll"):
        landed_on(table, 10)


async def wheel(client: httpx.AsyncClient, shop: Shop, now: Any, prizes: list[Any]) -> Any:
    body = {
        "name": "年终转盘",
        "threshold_fen": 300_000,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
        "prizes": prizes,
    }
    headers = {**await admin(client, shop), "Idempotency-Key": f"wheel-{uuid4()}"}
    response = await client.post(f"{API}/wheels", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def paid_order(
    client: httpx.AsyncClient, shop: Shop, owner: dict[str, Any], purifiers: int = 2
) -> int:
    """An order of `purifiers` × 1999.00, paid offline to the distributor."""
    body = {"lines": [{"sku_id": shop.water, "quantity": purifiers}]}
    order = (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()
    paid = await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment",
        json={"note": "现金"},
        headers=await distributor_admin(client, shop),
    )
    assert paid.status_code in (200, 201), paid.text
    return int(order["id"])


async def spin(client: httpx.AsyncClient, owner: dict[str, Any], wheel_id: int) -> httpx.Response:
    return await client.post(f"{API}/wheels/{wheel_id}/spin", headers=idempotent(owner))


async def test_a_qualifying_order_unlocks_one_spin_that_credits_points(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    created = await wheel(
        client,
        shop,
        deps.clock.now(),
        [{"name": "100 积分", "kind": "points", "points": 100, "weight": 1}],
    )
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    no_chance = await spin(client, owner, created["id"])
    assert no_chance.status_code == 409 and no_chance.json()["error"]["code"] == "lottery.no_chance"
    await paid_order(client, shop, owner, purifiers=1)  # 1999.00: under the threshold
    assert (await spin(client, owner, created["id"])).status_code == 409
    order_id = await paid_order(client, shop, owner)  # 3998.00 unlocks one

    [shown] = (await client.get(f"{API}/wheels", headers=bearer(owner))).json()["items"]
    assert shown["chances"] == 1 and shown["prizes"][0]["chance_percent"] == "100.00"
    response = await spin(client, owner, created["id"])
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["prize"]["name"], result["status_name"], result["order_id"]) == (
        "100 积分",
        "已到账",
        order_id,
    )
    entry = await LedgerEntry.get(cause="lottery")
    assert (entry.amount, entry.cause_id, entry.order_id) == (100, result["id"], order_id)
    again = await spin(client, owner, created["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "lottery.no_chance"


async def test_each_spin_can_be_recomputed_from_its_record(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    prizes = [
        {"name": "旅游名额", "kind": "trip", "weight": 1, "stock": 1},
        {"name": "定制水杯", "kind": "goods", "weight": 5, "stock": 50},
        {"name": "谢谢参与", "kind": "nothing", "weight": 10},
    ]
    created = await wheel(client, shop, deps.clock.now(), prizes)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    for _ in range(6):
        await paid_order(client, shop, owner)
    results = [(await spin(client, owner, created["id"])).json() for _ in range(6)]
    for result in results:
        table = [Slot(row["prize_id"], row["weight"]) for row in result["audit"]["table"]]
        assert landed_on(table, result["audit"]["roll"]) == result["prize"]["id"]
        expected = "待发放" if result["prize"]["kind"] in ("trip", "goods") else "已到账"
        assert result["status_name"] == expected
    trips = [r for r in results if r["prize"]["kind"] == "trip"]
    assert len(trips) <= 1  # one trip in stock
    listed = (await client.get(f"{API}/spins", headers=await admin(client, shop))).json()
    assert len(listed["items"]) == 6


async def test_prize_stock_is_never_overdrawn_by_concurrent_spins(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    created = await wheel(
        client,
        shop,
        deps.clock.now(),
        [{"name": "净水壶", "kind": "goods", "weight": 1, "stock": 2}],
    )
    owners = []
    for store in [shop.tenant.store, *[await make_store(shop.tenant) for _ in range(4)]]:
        owner = await store_owner(client, sandbox_client, store)
        await paid_order(client, shop, owner)
        owners.append(owner)
    responses = await asyncio.gather(*(spin(client, owner, created["id"]) for owner in owners))
    assert sorted(r.status_code for r in responses) == [201, 201, 409, 409, 409]
    codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert codes == {"lottery.sold_out"}
    assert (await LotteryPrize.get(wheel_id=created["id"])).stock == 0
    assert await LotterySpin.all().count() == 2


async def test_one_order_spins_once_even_when_asked_at_once(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    created = await wheel(
        client,
        shop,
        deps.clock.now(),
        [{"name": "10 积分", "kind": "points", "points": 10, "weight": 1}],
    )
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await paid_order(client, shop, owner)
    responses = await asyncio.gather(*(spin(client, owner, created["id"]) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert codes <= {"lottery.no_chance", "lottery.already_spun"}
    assert await LotterySpin.all().count() == 1
    assert sum(e.amount for e in await LedgerEntry.filter(cause="lottery")) == 10


async def test_goods_are_delivered_by_the_brand_once(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    created = await wheel(
        client, shop, deps.clock.now(), [{"name": "定制水杯", "kind": "goods", "weight": 1}]
    )
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await paid_order(client, shop, owner)
    won = (await spin(client, owner, created["id"])).json()
    headers = await admin(client, shop)
    sent = await client.post(f"{API}/spins/{won['id']}/deliver", headers=headers)
    assert sent.status_code == 200 and sent.json()["status_name"] == "已发放"
    twice = await client.post(f"{API}/spins/{won['id']}/deliver", headers=headers)
    assert twice.status_code == 409
    other = await make_shop()
    stranger = await client.post(
        f"{API}/spins/{won['id']}/deliver", headers=await admin(client, other)
    )
    assert stranger.status_code == 404


@pytest.mark.parametrize(
    ("prizes", "status"),
    [
        ([], 422),
        ([{"name": "积分", "kind": "points", "points": 0, "weight": 1}], 422),
        ([{"name": "水杯", "kind": "goods", "points": 5, "weight": 1}], 422),
        ([{"name": "水杯", "kind": "goods", "weight": 0}], 422),
    ],
)
async def test_impossible_wheels_are_refused(client, deps, prizes, status) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    body = {
        "name": "转盘",
        "threshold_fen": 100,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "prizes": prizes,
    }
    headers = {**await admin(client, shop), "Idempotency-Key": f"wheel-{uuid4()}"}
    response = await client.post(f"{API}/wheels", json=body, headers=headers)
    assert response.status_code == status
    assert await LotteryPrize.all().count() == 0
