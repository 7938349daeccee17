"""The points mall: the brand lists gifts; a store redeems with its points, atomically."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from backend.ledger import service as ledger_service
from backend.ledger.models import Account, AccountKind, EntryCause, LedgerEntry
from backend.mall.models import MallItem, Redemption
from tests.factories import Shop, bearer, idempotent, make_shop, make_store, store_owner
from tests.test_promotions_admin import admin

API = "/api/v1/mall"


async def listed(client: httpx.AsyncClient, shop: Shop, **overrides: Any) -> Any:
    body = {"name": "定制水杯", "points_price": 300, "stock": 5, **overrides}
    headers = {**await admin(client, shop), "Idempotency-Key": f"item-{uuid4()}"}
    response = await client.post(f"{API}/items", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def with_points(shop: Shop, points: int, store_id: int | None = None) -> None:
    """Credit the store points as a paid order would (cause: an order number of our own)."""
    await ledger_service.post(
        brand_id=shop.tenant.brand.id,
        store_id=store_id or shop.tenant.store.id,
        kind=AccountKind.POINTS,
        amount=points,
        cause=EntryCause.ORDER_PAID,
        cause_id=900_000 + points,
        order_id=900_000 + points,
        now=datetime.now(UTC),
    )


async def points_of(store_id: int) -> int:
    account = await Account.get_or_none(store_id=store_id, kind="points")
    return 0 if account is None else account.balance


async def test_a_store_redeems_and_the_brand_sends_it(client, sandbox_client) -> None:
    shop = await make_shop()
    item = await listed(client, shop)
    await with_points(shop, 1_000)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    shown = (await client.get(f"{API}/items", headers=bearer(owner))).json()["items"]
    assert [(i["name"], i["points_price"], i["stock"], i["physical"]) for i in shown] == [
        ("定制水杯", 300, 5, True)
    ]

    response = await client.post(
        f"{API}/items/{item['id']}/redeem", json={"quantity": 2}, headers=idempotent(owner)
    )
    assert response.status_code == 201, response.text
    redemption = response.json()
    assert (redemption["points"], redemption["status_name"]) == (600, "待发货")
    assert redemption["delivery"] is None  # none given: sent to the store's own address
    assert await points_of(shop.tenant.store.id) == 400
    assert (await MallItem.get(id=item["id"])).stock == 3
    entry = await LedgerEntry.get(cause="mall_redeem")
    assert (entry.amount, entry.balance_after, entry.cause_id, entry.order_id) == (
        -600,
        400,
        redemption["id"],
        0,  # about no order
    )
    statement = (
        await client.get(
            f"/api/v1/ledger/accounts/{entry.account_id}/entries", headers=bearer(owner)
        )  # type: ignore[attr-defined]
    ).json()
    last = statement["items"][0]  # newest first
    assert (last["cause_name"], last["order_id"], last["balance_after"]) == (
        "积分商城兑换",
        None,
        400,
    )

    headers = await admin(client, shop)
    sent = await client.post(f"{API}/redemptions/{redemption['id']}/deliver", headers=headers)
    assert sent.status_code == 200 and sent.json()["status_name"] == "已发货"
    again = await client.post(f"{API}/redemptions/{redemption['id']}/deliver", headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "mall.already_delivered"
    mine = (await client.get(f"{API}/redemptions", headers=bearer(owner))).json()["items"]
    assert [r["id"] for r in mine] == [redemption["id"]]


async def test_more_points_than_the_balance_is_409_and_changes_nothing(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    item = await listed(client, shop)
    await with_points(shop, 500)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    response = await client.post(
        f"{API}/items/{item['id']}/redeem", json={"quantity": 2}, headers=idempotent(owner)
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "ledger.insufficient_balance" and "积分不足" in error["message"]
    assert await points_of(shop.tenant.store.id) == 500
    assert (await MallItem.get(id=item["id"])).stock == 5
    assert await Redemption.all().count() == 0
    assert await LedgerEntry.filter(cause="mall_redeem").count() == 0


async def test_concurrent_redemptions_never_exceed_stock_or_points(client, sandbox_client) -> None:
    shop = await make_shop()
    item = await listed(client, shop, points_price=100, stock=6)
    stores = [shop.tenant.store, *[await make_store(shop.tenant) for _ in range(3)]]
    owners = []
    for store in stores:
        await with_points(shop, 350, store.id)  # enough for 3 each, 12 wanted against 6
        owners.append(await store_owner(client, sandbox_client, store))
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/items/{item['id']}/redeem", json={"quantity": 1}, headers=idempotent(owner)
            )
            for owner in owners
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in responses).count(201) == 6
    codes = {r.json()["error"]["code"] for r in responses if r.status_code != 201}
    assert codes <= {"mall.out_of_stock", "ledger.insufficient_balance"}
    assert (await MallItem.get(id=item["id"])).stock == 0
    for store in stores:
        redeemed = await Redemption.filter(store_id=store.id).count()
        assert redeemed <= 3
        assert await points_of(store.id) == 350 - 100 * redeemed >= 0
        entries = await LedgerEntry.filter(account__store_id=store.id)
        assert sum(e.amount for e in entries) == await points_of(store.id)


async def test_items_are_the_brands_own_and_off_sale_items_are_hidden(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    item = await listed(client, shop)
    other = await make_shop()
    stranger = await client.patch(
        f"{API}/items/{item['id']}", json={"stock": 0}, headers=await admin(client, other)
    )
    assert stranger.status_code == 404
    await client.patch(
        f"{API}/items/{item['id']}", json={"status": "off_sale"}, headers=await admin(client, shop)
    )
    await with_points(shop, 1_000)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    assert (await client.get(f"{API}/items", headers=bearer(owner))).json()["items"] == []
    hidden = await client.post(
        f"{API}/items/{item['id']}/redeem", json={"quantity": 1}, headers=idempotent(owner)
    )
    assert hidden.status_code == 404 and await points_of(shop.tenant.store.id) == 1_000
    bad = await client.post(
        f"{API}/items",
        json={"name": "", "points_price": 0, "stock": -1},
        headers={**await admin(client, shop), "Idempotency-Key": "bad-item"},
    )
    assert bad.status_code == 422 and await MallItem.all().count() == 1


DELIVERY = {"name": "张三", "phone": "13800001111", "address": "杭州市西湖区文一西路 1 号"}


async def test_a_physical_gift_goes_to_the_delivery_contact_the_brand_sees(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    item = await listed(client, shop)
    await with_points(shop, 1_000)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    padded = {key: f"  {value} " for key, value in DELIVERY.items()}
    response = await client.post(
        f"{API}/items/{item['id']}/redeem",
        json={"quantity": 1, "delivery": padded},
        headers=idempotent(owner),
    )
    assert response.status_code == 201, response.text
    assert response.json()["delivery"] == DELIVERY  # trimmed
    stored = await Redemption.get(id=response.json()["id"])
    assert (stored.delivery_name, stored.delivery_phone, stored.delivery_address) == (
        DELIVERY["name"],
        DELIVERY["phone"],
        DELIVERY["address"],
    )
    brand = await admin(client, shop)
    [seen] = (await client.get(f"{API}/redemptions", headers=brand)).json()["items"]
    assert (seen["store_id"], seen["delivery"]) == (shop.tenant.store.id, DELIVERY)
    [mine] = (await client.get(f"{API}/redemptions", headers=bearer(owner))).json()["items"]
    assert mine["delivery"] == DELIVERY

    # Another brand's staff and another store see none of it.
    other = await make_shop()
    assert (await client.get(f"{API}/redemptions", headers=await admin(client, other))).json()[
        "items"
    ] == []
    neighbour = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    theirs = await client.get(f"{API}/redemptions", headers=bearer(neighbour))
    assert theirs.json()["items"] == []


@pytest.mark.parametrize(
    ("delivery", "field"),
    [
        ({**DELIVERY, "phone": "0571-8888888"}, "delivery.phone"),
        ({**DELIVERY, "phone": "1380000111"}, "delivery.phone"),
        ({**DELIVERY, "name": "   "}, "delivery.name"),
        ({**DELIVERY, "name": "张" * 33}, "delivery.name"),
        ({**DELIVERY, "address": "杭州"}, "delivery.address"),
        ({**DELIVERY, "address": "路" * 201}, "delivery.address"),
        ({"name": "张三", "phone": "13800001111"}, "delivery.address"),
        ({**DELIVERY, "zip": "310000"}, "delivery.zip"),
        ("文一西路 1 号", "delivery"),
    ],
)
async def test_a_bad_delivery_contact_is_422_and_changes_nothing(
    client, sandbox_client, delivery: Any, field: str
) -> None:
    shop = await make_shop()
    item = await listed(client, shop)
    await with_points(shop, 1_000)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    response = await client.post(
        f"{API}/items/{item['id']}/redeem",
        json={"quantity": 1, "delivery": delivery},
        headers=idempotent(owner),
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "request.invalid"
    assert field in {detail["field"] for detail in error["details"]}
    assert await Redemption.all().count() == 0
    assert await points_of(shop.tenant.store.id) == 1_000
    assert (await MallItem.get(id=item["id"])).stock == 5


async def test_a_gift_that_is_not_posted_takes_no_delivery_contact(client, sandbox_client) -> None:
    shop = await make_shop()
    item = await listed(client, shop, name="话费充值", physical=False)
    assert item["physical"] is False
    await with_points(shop, 1_000)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    url = f"{API}/items/{item['id']}/redeem"
    refused = await client.post(
        url, json={"quantity": 1, "delivery": DELIVERY}, headers=idempotent(owner)
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "mall.delivery_not_needed"
    assert await Redemption.all().count() == 0 and await points_of(shop.tenant.store.id) == 1_000
    redeemed = await client.post(url, json={"quantity": 1}, headers=idempotent(owner))
    assert redeemed.status_code == 201 and redeemed.json()["delivery"] is None
    # The brand may change its mind: a physical gift again takes a contact.
    changed = await client.patch(
        f"{API}/items/{item['id']}", json={"physical": True}, headers=await admin(client, shop)
    )
    assert changed.json()["physical"] is True
    posted = await client.post(
        url, json={"quantity": 1, "delivery": DELIVERY}, headers=idempotent(owner)
    )
    assert posted.status_code == 201 and posted.json()["delivery"] == DELIVERY
