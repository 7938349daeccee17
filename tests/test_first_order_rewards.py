"""First-order rewards: cashback to the store, the invitation reward to the store that invited
it, points to the salesperson who onboarded it for its first self order; each paid once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from backend.ledger.models import Account, LedgerEntry, PartyAccount, PartyEntry
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    phone_code,
    store_owner,
    wechat_login,
)
from tests.test_payments import _is, complete, eventually, prepay
from tests.test_promotions_admin import admin

LEDGER = "/api/v1/ledger"
INCENTIVES = {
    "first_order_cashback_fen": 5_000,
    "first_order_min_fen": 300_000,
    "invitation_reward_fen": 2_000,
    "salesperson_first_order_points": 5,
}


async def rewarding_shop(client: httpx.AsyncClient) -> tuple[Shop, Any]:
    """A shop whose brand pays first-order rewards, and a store invited by the tenant's store
    and onboarded by its salesperson."""
    shop = await make_shop()
    response = await client.put(
        f"{LEDGER}/incentives", json=INCENTIVES, headers=await admin(client, shop)
    )
    assert response.status_code == 200 and response.json() == INCENTIVES
    newcomer = await make_store(
        shop.tenant,
        invited_by_store=shop.tenant.store,
        invited_by_salesperson=shop.tenant.salesperson,
    )
    return shop, newcomer


async def order(
    client: httpx.AsyncClient, buyer: dict[str, Any], shop: Shop, purifiers: int, **extra: Any
) -> Any:
    body = {"lines": [{"sku_id": shop.water, "quantity": purifiers}], **extra}
    placed = await client.post("/api/v1/orders", json=body, headers=idempotent(buyer))
    assert placed.status_code == 201, placed.text
    return placed.json()


async def pay_offline(client: httpx.AsyncClient, shop: Shop, order_id: int) -> httpx.Response:
    return await client.post(
        f"/api/v1/orders/{order_id}/offline-payment",
        json={"note": "现金"},
        headers=await distributor_admin(client, shop),
    )


async def cash_of(store_id: int) -> int:
    account = await Account.get_or_none(store_id=store_id, kind="cash")
    return 0 if account is None else account.balance


async def salesperson_points(salesperson_id: int) -> int:
    account = await PartyAccount.get_or_none(
        party="salesperson", party_id=salesperson_id, kind="points"
    )
    return 0 if account is None else account.balance


async def test_the_first_paid_order_rewards_everyone_once(client, sandbox_client) -> None:
    shop, newcomer = await rewarding_shop(client)
    owner = await store_owner(client, sandbox_client, newcomer)
    first = await order(client, owner, shop, 2)  # 3998.00: over the 3000.00 minimum
    second = await order(client, owner, shop, 2)
    assert (await pay_offline(client, shop, first["id"])).status_code == 201
    assert await cash_of(newcomer.id) == 5_000
    assert await cash_of(shop.tenant.store.id) == 2_000  # the store that invited it
    assert await salesperson_points(shop.tenant.salesperson.id) == 5
    assert (await pay_offline(client, shop, second["id"])).status_code == 201
    assert await cash_of(newcomer.id) == 5_000 and await cash_of(shop.tenant.store.id) == 2_000
    assert await salesperson_points(shop.tenant.salesperson.id) == 5
    cashback = await LedgerEntry.get(cause="first_cash")
    assert (cashback.cause_id, cashback.order_id) == (newcomer.id, first["id"])
    listed = (
        await client.get(f"{LEDGER}/party-accounts", headers=await admin(client, shop))
    ).json()["items"]
    assert [(a["party_id"], a["balance"], a["entries"][0]["cause_name"]) for a in listed] == [
        (shop.tenant.salesperson.id, 5, "拓店首单奖励")
    ]
    statement = (await client.get(f"{LEDGER}/accounts", headers=bearer(owner))).json()["items"]
    assert {(a["kind_name"], a["balance"]) for a in statement} == {("红包现金", 5_000)}


async def test_a_small_first_order_gets_no_cashback_but_still_counts(
    client, sandbox_client
) -> None:
    shop, newcomer = await rewarding_shop(client)
    owner = await store_owner(client, sandbox_client, newcomer)
    small = await order(client, owner, shop, 1)  # 1999.00: under the minimum
    await pay_offline(client, shop, small["id"])
    big = await order(client, owner, shop, 2)
    await pay_offline(client, shop, big["id"])
    assert await cash_of(newcomer.id) == 0  # the first paid order was the small one
    assert await cash_of(shop.tenant.store.id) == 2_000
    assert await salesperson_points(shop.tenant.salesperson.id) == 5


async def test_the_salesperson_is_rewarded_for_the_first_self_order_not_a_proxy_one(
    client, sandbox_client
) -> None:
    shop, newcomer = await rewarding_shop(client)
    seller = await wechat_login(client, sandbox_client, "first-order-seller")
    code = await phone_code(sandbox_client, shop.tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(seller))
    seller = await wechat_login(client, sandbox_client, "first-order-seller")
    proxy = await order(client, seller, shop, 2, store_id=newcomer.id)
    await pay_offline(client, shop, proxy["id"])
    assert await cash_of(newcomer.id) == 5_000
    assert await salesperson_points(shop.tenant.salesperson.id) == 0
    owner = await store_owner(client, sandbox_client, newcomer)
    own = await order(client, owner, shop, 1)
    await pay_offline(client, shop, own["id"])
    assert await salesperson_points(shop.tenant.salesperson.id) == 5
    assert await cash_of(newcomer.id) == 5_000  # no second cashback
    mine = (await client.get(f"{LEDGER}/party-accounts", headers=bearer(seller))).json()["items"]
    assert [(a["kind"], a["balance"]) for a in mine] == [("points", 5)]


async def test_two_first_orders_paid_at_once_reward_once(client, sandbox_client) -> None:
    shop, newcomer = await rewarding_shop(client)
    owner = await store_owner(client, sandbox_client, newcomer)
    orders = [await order(client, owner, shop, 2) for _ in range(4)]
    responses = await asyncio.gather(*(pay_offline(client, shop, o["id"]) for o in orders))
    assert all(r.status_code == 201 for r in responses)
    assert await cash_of(newcomer.id) == 5_000
    assert await cash_of(shop.tenant.store.id) == 2_000
    assert await salesperson_points(shop.tenant.salesperson.id) == 5
    assert await PartyEntry.all().count() == 1


async def test_a_wechat_paid_first_order_is_rewarded_too(client, sandbox_client, live_api) -> None:
    shop, newcomer = await rewarding_shop(client)
    owner = await store_owner(client, sandbox_client, newcomer)
    first = await order(client, owner, shop, 2)
    started = await prepay(client, owner, first)
    await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(first["id"], "paid"))
    assert await cash_of(newcomer.id) == 5_000
    assert await salesperson_points(shop.tenant.salesperson.id) == 5
    second = await order(client, owner, shop, 2)
    started = await prepay(client, owner, second)
    await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(second["id"], "paid"))
    assert await cash_of(newcomer.id) == 5_000


async def test_incentives_are_the_brands_to_set(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    refused = await client.put(f"{LEDGER}/incentives", json=INCENTIVES, headers=bearer(owner))
    assert refused.status_code == 403
    unset = await client.get(f"{LEDGER}/incentives", headers=await admin(client, shop))
    assert unset.json()["first_order_cashback_fen"] == 0
    bad = await client.put(
        f"{LEDGER}/incentives",
        json={"first_order_cashback_fen": -1},
        headers=await admin(client, shop),
    )
    assert bad.status_code == 422


async def test_concurrent_saves_of_the_incentives_keep_one_row(client) -> None:
    import asyncio

    from backend.ledger.models import Incentives

    shop = await make_shop()
    headers = await admin(client, shop)
    responses = await asyncio.gather(
        *(
            client.put(
                f"{LEDGER}/incentives",
                json={**INCENTIVES, "first_order_cashback_fen": n},
                headers=headers,
            )
            for n in range(6)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    assert await Incentives.all().count() == 1
