"""Store scans of product codes (一物一码): looking a code up, receiving a box (stock, the
open-box reward paid once, the store's order signed), selling an item or a whole box;
refusals write nothing, and concurrent scans of one code give one effect."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from backend.codes.models import CodeScan, ProductCode, StoreCodeStock
from backend.ledger.models import Account, LedgerEntry
from backend.ordering.models import Order
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_code_batch,
    make_shop,
    make_store,
    store_owner,
    wechat_login,
)

API = "/api/v1/codes"


async def scan(
    client: httpx.AsyncClient, owner: dict[str, Any], code: str, action: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/scans", json={"code": code, "action": action, **extra}, headers=bearer(owner)
    )


async def lookup(client: httpx.AsyncClient, who: dict[str, Any], code: str) -> httpx.Response:
    return await client.get(f"{API}/lookup", params={"code": code}, headers=bearer(who))


async def written() -> tuple[int, int, int, int]:
    """Rows a refusal must not add to: scans, ledger entries, stock counters (sum), sold."""
    stock = await StoreCodeStock.all().values_list("received", "sold")
    sold = await ProductCode.filter(sold_at__isnull=False).count()
    return (
        await CodeScan.all().count(),
        await LedgerEntry.all().count(),
        sum(r + s for r, s in stock),
        sold,
    )


def error(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_a_store_looks_up_receives_and_sells(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    codes = await make_code_batch(
        shop, shop.water, boxes=2, items_per_box=3, reward={"kind": "points", "amount": 200}
    )
    box, items = codes.boxes[0], codes.items[0]

    seen = await lookup(client, owner, codes.url(box))
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["next"] == "store" and body["actions"] == ["receive"]
    assert body["code"]["kind"] == "box" and body["code"]["kind_label"] == "箱码"
    assert body["code"]["serial_text"] == f"{codes.batch.batch_no}-B000001"
    assert body["product"]["name"] == "澜泉 RO 净水器 RO-500"
    assert body["box"] == {"items_per_box": 3, "received": False}
    assert (await lookup(client, owner, items[0])).json()["actions"] == []

    received = await scan(client, owner, codes.url(box), "receive", latitude=30.27, longitude=120.1)
    assert received.status_code == 201, received.text
    got = received.json()
    assert got["items"] == 3 and got["action"] == "receive"
    assert got["reward"] == {"kind": "points", "amount": 200, "text": "开箱奖励 200 积分"}
    assert got["signed_order_id"] is None and got["diverted"] is False
    assert got["stock"] == {"sku_id": shop.water, "received": 3, "sold": 0, "on_hand": 3}
    account = await Account.get(store_id=shop.tenant.store.id, kind="points")
    assert account.balance == 200
    entry = await LedgerEntry.get(account_id=account.id)
    assert (entry.cause, entry.cause_id, entry.amount) == ("open_box", codes.box_ids[0], 200)
    stored = await ProductCode.get(id=codes.box_ids[0])
    assert stored.store_id == shop.tenant.store.id  # type: ignore[attr-defined]
    assert stored.received_at is not None and stored.rewarded_at is not None

    assert (await lookup(client, owner, box)).json()["actions"] == ["sell"]
    assert (await lookup(client, owner, items[0])).json()["actions"] == ["sell"]
    sold = await scan(client, owner, items[0].lower(), "sell")  # scanners may lower the case
    assert sold.status_code == 201, sold.text
    assert sold.json()["items"] == 1 and sold.json()["reward"] is None
    assert sold.json()["code"] == {
        "kind": "item",
        "kind_label": "物码",
        "serial_text": f"{codes.batch.batch_no}-0000001",
    }
    assert sold.json()["stock"] == {"sku_id": shop.water, "received": 3, "sold": 1, "on_hand": 2}
    item = await ProductCode.get(token=items[0])
    assert item.sold_at is not None and item.store_id == shop.tenant.store.id  # type: ignore[attr-defined]

    whole = await scan(client, owner, box, "sell")
    assert whole.status_code == 201, whole.text
    assert whole.json()["items"] == 2
    assert whole.json()["stock"] == {"sku_id": shop.water, "received": 3, "sold": 3, "on_hand": 0}
    assert (await lookup(client, owner, box)).json()["actions"] == []

    scans = await CodeScan.filter(store_id=shop.tenant.store.id).order_by("id")
    assert [(s.action, s.items) for s in scans] == [("receive", 3), ("sell", 1), ("sell", 2)]
    assert scans[0].latitude == 30.27 and scans[0].longitude == 120.1
    assert scans[0].user_id is not None  # type: ignore[attr-defined]


async def test_refused_scans_say_why_and_write_nothing(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    neighbour = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    codes = await make_code_batch(shop, shop.water, boxes=2, items_per_box=2)
    box, item = codes.boxes[0], codes.items[0][0]

    before = await written()
    refused = await scan(client, owner, item, "sell")
    assert refused.status_code == 409 and error(refused) == "codes.box_not_received"
    assert "请先扫箱码入库" in refused.json()["error"]["message"]
    refused = await scan(client, owner, item, "receive")
    assert refused.status_code == 409 and error(refused) == "codes.wrong_kind"
    assert "箱码" in refused.json()["error"]["message"]
    assert await written() == before

    assert (await scan(client, owner, box, "receive")).status_code == 201
    before = await written()
    again = await scan(client, owner, box, "receive")
    assert again.status_code == 409 and error(again) == "codes.already_received"
    assert "入库本店" in again.json()["error"]["message"]
    elsewhere = await scan(client, neighbour, box, "receive")
    assert elsewhere.status_code == 409 and error(elsewhere) == "codes.received_elsewhere"
    theirs = await scan(client, neighbour, item, "sell")
    assert theirs.status_code == 409 and error(theirs) == "codes.not_your_stock"
    theirs = await scan(client, neighbour, box, "sell")
    assert theirs.status_code == 409 and error(theirs) == "codes.not_your_stock"
    assert await written() == before

    assert (await scan(client, owner, item, "sell")).status_code == 201
    before = await written()
    twice = await scan(client, owner, item, "sell")
    assert twice.status_code == 409 and error(twice) == "codes.already_sold"
    assert "售出" in twice.json()["error"]["message"]
    assert (await scan(client, owner, box, "sell")).status_code == 201
    before = await written()
    emptied = await scan(client, owner, box, "sell")
    assert emptied.status_code == 409 and error(emptied) == "codes.already_sold"
    assert await written() == before


async def test_bad_unknown_and_other_brands_codes(client, sandbox_client) -> None:
    shop, other = await make_shop(), await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    theirs = await make_code_batch(other, other.water, boxes=1, items_per_box=1)
    before = await written()
    for code in (
        theirs.boxes[0],  # another brand's box: as unknown
        "0" * 20,
        "https://evil.example/C/" + "Z" * 20,
        "not a code",
        "x" * 500,
    ):
        response = await scan(client, owner, code, "receive")
        assert response.status_code == 404, (code, response.text)
        assert error(response) == "codes.not_found"
        assert "无法识别" in response.json()["error"]["message"]
    for body in (
        {},
        {"code": "", "action": "receive"},
        {"code": theirs.boxes[0], "action": "check"},
        {"code": theirs.boxes[0], "action": "receive", "latitude": 100},
        {"code": theirs.boxes[0], "action": "receive", "extra": 1},
        {"code": 12, "action": "receive"},
        {"code": "x" * 600, "action": "sell"},
    ):
        response = await client.post(f"{API}/scans", json=body, headers=bearer(owner))
        assert response.status_code == 400, (body, response.text)
        assert error(response) == "codes.invalid" and response.json()["error"]["details"]
    empty = await client.get(f"{API}/lookup", params={"code": ""}, headers=bearer(owner))
    assert empty.status_code == 400 and error(empty) == "codes.invalid"
    missing = await lookup(client, owner, "0" * 20)
    assert missing.status_code == 404 and error(missing) == "codes.not_found"
    assert await written() == before
    # Brand staff do not scan for stores.
    admin = await distributor_admin(client, shop)
    response = await client.post(
        f"{API}/scans", json={"code": theirs.boxes[0], "action": "receive"}, headers=admin
    )
    assert response.status_code == 403


async def test_someone_without_a_store_is_sent_to_join_or_to_the_consumer_check(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    shipped = await make_code_batch(
        shop, shop.water, 1, 2, distributor_id=shop.tenant.distributor.id
    )
    consumer = await wechat_login(client, sandbox_client, "codes-consumer")
    box = await lookup(client, consumer, shipped.url(shipped.boxes[0]))
    assert box.status_code == 200, box.text
    assert box.json()["next"] == "join" and box.json()["actions"] == []
    token = box.json()["join_token"]
    described = await client.get(f"/api/v1/onboarding/codes/{token}", headers=bearer(consumer))
    assert described.status_code == 200, described.text
    assert described.json()["distributor"]["id"] == shop.tenant.distributor.id
    assert described.json()["usable"] is True
    # One reusable code per distributor.
    assert (await lookup(client, consumer, shipped.boxes[0])).json()["join_token"] == token
    item = await lookup(client, consumer, shipped.items[0][0])
    assert item.json()["next"] == "consumer" and "join_token" not in item.json()
    # A store of another brand is no store of this one.
    other = await make_shop()
    stranger = await store_owner(client, sandbox_client, other.tenant.store)
    assert (await lookup(client, stranger, shipped.boxes[0])).json()["next"] == "join"
    refused = await scan(client, stranger, shipped.boxes[0], "receive")
    assert refused.status_code == 404


async def shipped_order(client: httpx.AsyncClient, shop: Shop, owner: dict[str, Any]) -> int:
    body = {"lines": [{"sku_id": shop.water, "quantity": 1}]}
    order = (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()
    url = f"/api/v1/orders/{order['id']}"
    distributor = await distributor_admin(client, shop)
    paid = await client.post(f"{url}/offline-payment", json={"note": "现金"}, headers=distributor)
    assert paid.status_code in (200, 201), paid.text
    assert (await client.post(f"{url}/accept", headers=distributor)).status_code == 200
    shipped = await client.post(f"{url}/ship", json={"logistics_note": "自送"}, headers=distributor)
    assert shipped.status_code == 200, shipped.text
    return int(order["id"])


async def test_receiving_a_box_of_the_stores_order_signs_for_its_delivery(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order_id = await shipped_order(client, shop, owner)
    codes = await make_code_batch(shop, shop.water, 2, 1, distributor_id=shop.tenant.distributor.id)
    await ProductCode.filter(id__in=codes.box_ids).update(order_id=order_id)
    first = await scan(client, owner, codes.boxes[0], "receive")
    assert first.status_code == 201, first.text
    assert first.json()["signed_order_id"] == order_id
    assert (await Order.get(id=order_id)).status == "completed"
    second = await scan(client, owner, codes.boxes[1], "receive")
    assert second.status_code == 201 and second.json()["signed_order_id"] is None


async def test_a_box_of_another_stores_order_is_received_without_signing_it(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order_id = await shipped_order(client, shop, owner)
    neighbour = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    codes = await make_code_batch(shop, shop.water, 1, 1, reward={"kind": "cash", "amount": 150})
    await ProductCode.filter(id__in=codes.box_ids).update(order_id=order_id)
    received = await scan(client, neighbour, codes.boxes[0], "receive")
    assert received.status_code == 201, received.text
    assert received.json()["signed_order_id"] is None
    assert received.json()["reward"]["text"] == "开箱奖励 ¥1.50"
    assert (await Order.get(id=order_id)).status == "shipped"


async def test_two_stores_receiving_one_box_at_once_give_one_receipt_and_one_reward(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    stores = [shop.tenant.store, *[await make_store(shop.tenant) for _ in range(3)]]
    owners = [await store_owner(client, sandbox_client, store) for store in stores]
    codes = await make_code_batch(shop, shop.water, 1, 4, reward={"kind": "points", "amount": 50})
    answers = await asyncio.gather(*(scan(client, o, codes.boxes[0], "receive") for o in owners))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409], [a.text for a in answers]
    assert {error(a) for a in answers if a.status_code == 409} == {"codes.received_elsewhere"}
    winner = stores[[a.status_code for a in answers].index(201)]
    assert await LedgerEntry.filter(cause="open_box", cause_id=codes.box_ids[0]).count() == 1
    rows = await StoreCodeStock.filter(sku_id=shop.water, store_id__in=[s.id for s in stores])
    assert [(r.store_id, r.received) for r in rows] == [(winner.id, 4)]  # type: ignore[attr-defined]
    assert await CodeScan.filter(code_id=codes.box_ids[0]).count() == 1


async def test_one_item_sold_twice_at_once_is_sold_once(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    codes = await make_code_batch(shop, shop.water, 1, 3)
    assert (await scan(client, owner, codes.boxes[0], "receive")).status_code == 201
    item = codes.items[0][1]
    answers = await asyncio.gather(*(scan(client, owner, item, "sell") for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert {error(a) for a in answers if a.status_code == 409} == {"codes.already_sold"}
    # An item and its whole box at once: each item is sold once.
    answers = await asyncio.gather(
        scan(client, owner, codes.items[0][0], "sell"), scan(client, owner, codes.boxes[0], "sell")
    )
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    stock = await StoreCodeStock.get(store_id=shop.tenant.store.id, sku_id=shop.water)
    assert (stock.received, stock.sold) == (3, 3)
    assert await ProductCode.filter(box_id=codes.box_ids[0], sold_at__isnull=False).count() == 3
    assert sum(s.items for s in await CodeScan.filter(action="sell", store_id=stock.store_id)) == 3  # type: ignore[attr-defined]


async def test_a_replayed_scan_with_its_key_is_answered_again(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    codes = await make_code_batch(shop, shop.water, 1, 2)
    headers = idempotent(owner, "scan-replay-1")
    body = {"code": codes.boxes[0], "action": "receive"}
    first = await client.post(f"{API}/scans", json=body, headers=headers)
    again = await client.post(f"{API}/scans", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await CodeScan.filter(code_id=codes.box_ids[0]).count() == 1


async def test_the_qr_landing_page_says_to_scan_in_wechat(client) -> None:
    page = await client.get("/C/" + "A" * 20)
    assert page.status_code == 200 and "请用微信扫一扫" in page.text
    assert "text/html" in page.headers["content-type"]
    bad = await client.get("/C/nope")
    assert bad.status_code == 404 and "无法识别" in bad.text
