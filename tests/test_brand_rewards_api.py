"""What the brand's back office adds to the points mall, the lottery wheel and complaints:
stock changed by a number of units (atomically, never below zero), idempotent creates, the
redemptions and prizes to send with their store's contact, and the complaint archive. Each
refused to distributor staff, each kept inside its brand."""

from __future__ import annotations

import asyncio
from typing import Any

from backend.complaints.models import ComplaintSla
from backend.lottery.models import LotteryWheel
from backend.mall.models import MallItem, Redemption
from tests.factories import bearer, distributor_admin, idempotent, make_shop, store_owner
from tests.test_complaints import API as COMPLAINTS
from tests.test_complaints import filed, parties, walk
from tests.test_lottery import paid_order, spin, wheel
from tests.test_mall import DELIVERY, listed, with_points
from tests.test_promotions_admin import admin

MALL = "/api/v1/mall"
LOTTERY = "/api/v1/lottery"


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


async def test_stock_moves_by_units_atomically_and_never_below_zero(client) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    item = await listed(client, shop, stock=5)
    url = f"{MALL}/items/{item['id']}/stock"

    changes = [3, -2, 4, -1, 1, -3]  # concurrent: none may overwrite another
    answers = await asyncio.gather(
        *(client.post(url, json={"change": c}, headers=brand) for c in changes)
    )
    assert [a.status_code for a in answers] == [200] * len(changes)
    assert (await MallItem.get(id=item["id"])).stock == 5 + sum(changes) == 7

    too_many = await client.post(url, json={"change": -8}, headers=brand)
    assert too_many.status_code == 409 and code(too_many) == "mall.stock_negative"
    assert "只剩 7 件" in too_many.json()["error"]["message"]
    for bad in ({"change": 0}, {"change": "many"}, {}, {"change": 10**9}):
        refused = await client.post(url, json=bad, headers=brand)
        assert refused.status_code == 422, bad
    zero = (await client.post(url, json={"change": 0}, headers=brand)).json()["error"]
    assert zero["details"][0]["message"] == "增减数量不能为 0"
    other_brand = await admin(client, await make_shop())
    stranger = await client.post(url, json={"change": -1}, headers=other_brand)
    assert stranger.status_code == 404 and code(stranger) == "mall.item_not_found"
    dealer = await distributor_admin(client, shop)
    forbidden = await client.post(url, json={"change": -1}, headers=dealer)
    assert forbidden.status_code == 403 and code(forbidden) == "auth.role_required"
    assert (await MallItem.get(id=item["id"])).stock == 7

    # Listing a gift is idempotent on its key, needs one, and is the brand's alone.
    body = {"name": "雨伞", "points_price": 100, "stock": 3}
    first = await client.post(f"{MALL}/items", json=body, headers=keyed(brand, "umbrella"))
    again = await client.post(f"{MALL}/items", json=body, headers=keyed(brand, "umbrella"))
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    unkeyed = await client.post(f"{MALL}/items", json=body, headers=brand)
    assert unkeyed.status_code == 422 and code(unkeyed) == "idempotency.key_required"
    by_dealer = await client.post(f"{MALL}/items", json=body, headers=keyed(dealer, "d"))
    assert by_dealer.status_code == 403
    assert await MallItem.filter(name="雨伞").count() == 1


async def test_the_brand_sees_where_each_redemption_goes_and_sends_it(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    item = await listed(client, shop)
    await with_points(shop, 1_000)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    redeem = f"{MALL}/items/{item['id']}/redeem"
    to_contact = await client.post(
        redeem, json={"quantity": 1, "delivery": DELIVERY}, headers=idempotent(owner)
    )
    to_store = await client.post(redeem, json={"quantity": 1}, headers=idempotent(owner))
    brand = await admin(client, shop)

    pending = (await client.get(f"{MALL}/redemptions?status=pending", headers=brand)).json()
    store = shop.tenant.store
    assert [(r["id"], r["delivery"]) for r in pending["items"]] == [
        (to_store.json()["id"], None),
        (to_contact.json()["id"], DELIVERY),
    ]
    assert {tuple(r["store"].items()) for r in pending["items"]} == {
        (
            ("id", store.id),
            ("name", store.name),
            ("contact_name", store.contact_name),
            ("phone", store.phone),
            ("address", store.address),
        )
    }
    # The store's own list carries no store contact (it is the store).
    assert (
        "store"
        not in (await client.get(f"{MALL}/redemptions", headers=bearer(owner))).json()["items"][0]
    )

    dealer = await distributor_admin(client, shop)
    sent_url = f"{MALL}/redemptions/{to_store.json()['id']}/deliver"
    assert (await client.get(f"{MALL}/redemptions", headers=dealer)).status_code == 403
    assert (await client.post(sent_url, headers=dealer)).status_code == 403
    other_brand = await admin(client, await make_shop())
    assert (await client.post(sent_url, headers=other_brand)).status_code == 404
    assert await Redemption.filter(status="delivered").count() == 0

    assert (await client.post(sent_url, headers=brand)).json()["status"] == "delivered"
    left = (await client.get(f"{MALL}/redemptions?status=pending", headers=brand)).json()
    assert [r["id"] for r in left["items"]] == [to_contact.json()["id"]]
    sent = (await client.get(f"{MALL}/redemptions?status=delivered", headers=brand)).json()
    assert [r["id"] for r in sent["items"]] == [to_store.json()["id"]]


async def test_prizes_to_deliver_list_the_store_and_are_sent_once(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    prizes = [{"name": "定制水杯", "kind": "goods", "weight": 1, "stock": 5}]
    created = await wheel(client, shop, deps.clock.now(), prizes)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await paid_order(client, shop, owner)
    won = (await spin(client, owner, created["id"])).json()
    brand = await admin(client, shop)

    owed = (await client.get(f"{LOTTERY}/spins?status=to_deliver", headers=brand)).json()
    assert [(s["id"], s["wheel_name"], s["store"]["name"]) for s in owed["items"]] == [
        (won["id"], "年终转盘", shop.tenant.store.name)
    ]
    assert owed["items"][0]["store"]["address"] == shop.tenant.store.address
    dealer = await distributor_admin(client, shop)
    deliver = f"{LOTTERY}/spins/{won['id']}/deliver"
    assert (await client.post(deliver, headers=dealer)).status_code == 403
    assert (await client.get(f"{LOTTERY}/spins", headers=dealer)).status_code == 403
    assert (
        await client.post(deliver, headers=await admin(client, await make_shop()))
    ).status_code == 404
    assert (await client.post(deliver, headers=brand)).json()["status"] == "delivered"
    twice = await client.post(deliver, headers=brand)
    assert twice.status_code == 409 and code(twice) == "lottery.not_deliverable"
    assert (await client.get(f"{LOTTERY}/spins?status=to_deliver", headers=brand)).json()[
        "items"
    ] == []
    bad = await client.get(f"{LOTTERY}/spins?status=lost", headers=brand)
    assert bad.status_code == 422

    # Creating a wheel: idempotent on its key, the brand's alone.
    body = {
        "name": "春季转盘",
        "threshold_fen": 100_000,
        "starts_at": created["starts_at"],
        "ends_at": created["ends_at"],
        "prizes": prizes,
    }
    first = await client.post(f"{LOTTERY}/wheels", json=body, headers=keyed(brand, "spring"))
    again = await client.post(f"{LOTTERY}/wheels", json=body, headers=keyed(brand, "spring"))
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    by_dealer = await client.post(f"{LOTTERY}/wheels", json=body, headers=keyed(dealer, "d"))
    assert by_dealer.status_code == 403
    ended = await client.post(f"{LOTTERY}/wheels/{created['id']}/end", headers=dealer)
    assert ended.status_code == 403
    assert await LotteryWheel.filter(name="春季转盘").count() == 1
    assert (await LotteryWheel.get(id=created["id"])).status == "active"


async def test_the_archive_lists_settled_complaints_newest_first(client, sandbox_client) -> None:
    _shop, brand, distributor, owner = await parties(client, sandbox_client)
    closed = await filed(client, owner)
    await walk(client, closed["id"], brand, distributor, until="confirm", owner=bearer(owner))
    resolved = await filed(client, owner, category="quality")
    await walk(client, resolved["id"], brand, distributor, until="resolve")
    still_open = await filed(client, owner, category="delivery")

    def ids(page: Any) -> list[int]:
        return [c["id"] for c in page.json()["items"]]

    archive = await client.get(f"{COMPLAINTS}?archived=true", headers=brand)
    assert ids(archive) == [resolved["id"], closed["id"]]
    assert still_open["id"] not in ids(archive)
    first = await client.get(f"{COMPLAINTS}?archived=true&limit=1", headers=brand)
    assert ids(first) == [resolved["id"]]
    cursor = first.json()["next_before"]
    rest = await client.get(f"{COMPLAINTS}?archived=true&limit=1&before={cursor}", headers=brand)
    assert ids(rest) == [closed["id"]] and rest.json()["next_before"] is None
    only_closed = await client.get(f"{COMPLAINTS}?archived=true&status=closed", headers=brand)
    assert ids(only_closed) == [closed["id"]]
    quality = await client.get(f"{COMPLAINTS}?archived=true&category=quality", headers=brand)
    assert ids(quality) == [resolved["id"]]
    # The distributor sees the settled ones handed to it; another brand sees none.
    theirs = await client.get(f"{COMPLAINTS}?archived=true", headers=distributor)
    assert ids(theirs) == [resolved["id"], closed["id"]]
    other_brand = await admin(client, await make_shop())
    assert ids(await client.get(f"{COMPLAINTS}?archived=true", headers=other_brand)) == []
    assert (await client.get(f"{COMPLAINTS}?archived=maybe", headers=brand)).status_code == 422

    # Service levels stay the brand's to set.
    refused = await client.put(
        f"{COMPLAINTS}/sla/quality",
        json={"first_response_minutes": 60, "resolution_minutes": 600},
        headers=distributor,
    )
    assert refused.status_code == 403 and code(refused) == "auth.role_required"
    assert (await client.get(f"{COMPLAINTS}/sla", headers=distributor)).status_code == 403
    assert await ComplaintSla.all().count() == 0
