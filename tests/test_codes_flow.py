"""Product codes (一物一码) end to end, over HTTP and through the real generator job: the
brand makes a batch, exports it, ships boxes to a distributor; the distributor names a box
on a store's delivery; the store receives it (open-box reward, order signed), sells an item;
another distributor's store surfaces a box (diversion); a consumer checks the sold item and
gets a coupon the store redeems; every figure agrees and the ledger balances."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from backend.codes.models import (
    CodeScan,
    CodeShipment,
    ConsumerCoupon,
    DiversionAlert,
    ProductCode,
    StoreCodeStock,
)
from backend.infra import jobs
from backend.ledger import service as ledger_service
from backend.ledger.models import LedgerEntry
from backend.ordering.models import Order
from backend.worker import TASKS
from tests.factories import (
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    staff_headers,
    store_owner,
    wechat_login,
)

API = "/api/v1/codes"


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_codes_from_the_batch_to_the_redeemed_coupon(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    brand = await staff_headers(client, tenant.admin_username)
    distributor = await distributor_admin(client, shop)
    owner = await store_owner(client, sandbox_client, tenant.store)
    far_store = await make_store(tenant, distributor=tenant.other_distributor)
    far_owner = await store_owner(client, sandbox_client, far_store)

    # The brand makes a batch: 3 boxes of 4 items, 100 points for opening a box.
    made = await client.post(
        f"{API}/batches",
        json={
            "sku_id": shop.water,
            "batch_no": "20261205-A",
            "produced_on": "2026-12-05",
            "boxes": 3,
            "items_per_box": 4,
            "open_reward": {"kind": "points", "amount": 100},
        },
        headers=keyed(brand, "flow-batch"),
    )
    assert made.status_code == 201, made.text
    batch_id = made.json()["id"]
    assert made.json()["status"] == "generating"
    assert await jobs.run_pending(deps, TASKS) == 1
    batch = (await client.get(f"{API}/batches/{batch_id}", headers=brand)).json()
    assert batch["status"] == "ready" and batch["written"] == batch["codes_total"] == 15

    # The printer's CSV: boxes first, then every item, each with its URL.
    exported = await client.get(f"{API}/batches/{batch_id}/codes.csv", headers=brand)
    assert exported.status_code == 200, exported.text
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, rows = rows[0], rows[1:]
    assert header == ["类型", "箱号", "序号", "链接", "码值"]
    assert len(rows) == 15
    assert [r[0] for r in rows[:3]] == ["箱码"] * 3
    assert {r[0] for r in rows[3:]} == {"物码"}
    base = deps.settings.public_base_url
    assert all(r[3] == f"{base}/C/{r[4]}" for r in rows)
    assert len({r[4] for r in rows}) == 15
    boxes = [r[4] for r in rows[:3]]
    items = {
        b: [r[4] for r in rows[3:] if r[1] == box_row[1]]
        for b, box_row in zip(boxes, rows[:3], strict=True)
    }
    assert all(len(v) == 4 for v in items.values())

    # Boxes 1–3 leave for the distributor by a range of box serials.
    shipped = await client.post(
        f"{API}/shipments",
        json={
            "distributor_id": tenant.distributor.id,
            "ranges": [{"batch_id": batch_id, "from": 1, "to": 3}],
        },
        headers=keyed(brand, "flow-ship"),
    )
    assert shipped.status_code == 201, shipped.text
    assert (shipped.json()["boxes"], shipped.json()["items"]) == (3, 12)

    # The store orders and pays; the distributor accepts, ships and names box 1.
    order = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": shop.water, "quantity": 4}]},
        headers=idempotent(owner),
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    url = f"/api/v1/orders/{order_id}"
    paid = await client.post(f"{url}/offline-payment", json={"note": "现金"}, headers=distributor)
    assert paid.status_code in (200, 201), paid.text
    assert (await client.post(f"{url}/accept", headers=distributor)).status_code == 200
    sent = await client.post(f"{url}/ship", json={"logistics_note": "自送"}, headers=distributor)
    assert sent.status_code == 200, sent.text
    named = await client.post(
        f"{API}/deliveries",
        json={"order_id": order_id, "codes": [f"{base}/C/{boxes[0]}"]},
        headers=keyed(distributor, "flow-delivery"),
    )
    assert named.status_code == 201, named.text
    listed = await client.get(f"{API}/deliveries/{order_id}", headers=bearer(owner))
    assert listed.status_code == 200, listed.text

    # The store receives box 1: stock, the open-box reward, the order signed.
    received = await client.post(
        f"{API}/scans", json={"code": boxes[0], "action": "receive"}, headers=bearer(owner)
    )
    assert received.status_code == 201, received.text
    got = received.json()
    assert got["items"] == 4 and got["signed_order_id"] == order_id
    assert got["reward"] == {"kind": "points", "amount": 100, "text": "开箱奖励 100 积分"}
    assert got["diverted"] is False
    assert (await Order.get(id=order_id)).status == "completed"
    sold_item = items[boxes[0]][0]
    sold = await client.post(
        f"{API}/scans", json={"code": sold_item, "action": "sell"}, headers=bearer(owner)
    )
    assert sold.status_code == 201, sold.text
    assert sold.json()["stock"] == {"sku_id": shop.water, "received": 4, "sold": 1, "on_hand": 3}

    # A store of the other distributor surfaces box 2: a diversion alert.
    diverted = await client.post(
        f"{API}/scans", json={"code": boxes[1], "action": "receive"}, headers=bearer(far_owner)
    )
    assert diverted.status_code == 201, diverted.text
    assert diverted.json()["diverted"] is True
    alerts = (await client.get(f"{API}/diversion-alerts", headers=brand)).json()["items"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["reason"] == "other_distributor" and alert["reason_label"]
    assert alert["distributor"]["id"] == tenant.distributor.id
    assert alert["store"]["id"] == far_store.id
    assert alert["batch"] == {"id": batch_id, "batch_no": "20261205-A"}
    summary = await client.get(
        f"{API}/diversion-alerts/summary",
        params={"distributor_id": tenant.distributor.id},
        headers=brand,
    )
    assert summary.status_code == 200, summary.text
    assert [(r["distributor"]["id"], r["total"]) for r in summary.json()["by_distributor"]] == [
        (tenant.distributor.id, 1)
    ]
    theirs = (await client.get(f"{API}/diversion-alerts", headers=distributor)).json()
    assert [a["id"] for a in theirs["items"]] == [alert["id"]]

    # The brand publishes a consumer campaign on the SKU.
    now = deps.clock.now()
    campaign = await client.post(
        f"{API}/campaigns",
        json={
            "name": "扫码领红包",
            "sku_ids": [shop.water],
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=30)).isoformat(),
            "coupon_value_fen": 800,
            "coupon_valid_days": 30,
            "budget_fen": 10_000,
        },
        headers=keyed(brand, "flow-campaign"),
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    published = await client.post(f"{API}/campaigns/{campaign_id}/publish", headers=brand)
    assert published.status_code == 200, published.text

    # A consumer (WeChat only) checks the sold item and gets a coupon.
    consumer = await wechat_login(client, sandbox_client, "flow-consumer")
    seen = await client.get(f"{API}/lookup", params={"code": sold_item}, headers=bearer(consumer))
    assert seen.status_code == 200 and seen.json()["next"] == "consumer", seen.text
    checked = await client.post(
        f"{API}/checks", json={"code": f"{base}/C/{sold_item}"}, headers=bearer(consumer)
    )
    assert checked.status_code in (200, 201), checked.text
    check = checked.json()
    assert check["genuine"] is True and check["first_check"] is True and check["checks"] == 1
    coupon = check["coupon"]
    assert coupon and coupon["value_fen"] == 800 and coupon["status"] == "issued"
    mine = await client.get(f"{API}/consumer-coupons", headers=bearer(consumer))
    assert [c["id"] for c in mine.json()["items"]] == [coupon["id"]]

    # Another store cannot redeem it; the selling store does.
    elsewhere = await client.post(
        f"{API}/redemptions", json={"coupon": coupon["qr_text"]}, headers=bearer(far_owner)
    )
    assert elsewhere.status_code == 409, elsewhere.text
    assert elsewhere.json()["error"]["code"] == "codes.coupon_other_store"
    redeemed = await client.post(
        f"{API}/redemptions", json={"coupon": coupon["qr_text"]}, headers=bearer(owner)
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["credited"] == {"kind": "cash", "amount_fen": 800}
    assert redeemed.json()["sold_now"] is False
    again = await client.post(
        f"{API}/redemptions", json={"coupon": coupon["qr_text"]}, headers=bearer(owner)
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "codes.coupon_redeemed"
    members = (await client.get(f"{API}/members", headers=brand)).json()
    assert [(m["store"] or {}).get("id") for m in members["items"]] == [tenant.store.id]
    assert "openid" not in str(members) and "phone" not in str(members)

    # Every figure agrees.
    figures = (await client.get(f"{API}/figures", headers=brand)).json()
    [water] = figures["by_sku"]
    assert water["sku"]["id"] == shop.water
    assert (water["codes_made"], water["boxes_shipped"], water["boxes_received"]) == (15, 3, 2)
    assert (water["items_received"], water["items_sold"], water["diversion_alerts"]) == (8, 1, 1)
    [dist] = figures["by_distributor"]
    assert dist["distributor"]["id"] == tenant.distributor.id
    assert (dist["boxes_shipped"], dist["boxes_received"], dist["items_sold"]) == (3, 2, 1)
    assert dist["diversion_alerts"] == 1
    stock = (await client.get(f"{API}/store-stock", headers=brand)).json()["items"]
    by_store = {r["store"]["id"]: (r["received"], r["sold"], r["on_hand"]) for r in stock}
    assert by_store == {tenant.store.id: (4, 1, 3), far_store.id: (4, 0, 4)}
    assert sum(r.received for r in await StoreCodeStock.all()) == water["items_received"]
    counted = (await client.get(f"{API}/batches/{batch_id}", headers=brand)).json()
    assert (counted["shipped_boxes"], counted["received_boxes"], counted["sold_items"]) == (3, 2, 1)
    shown = (await client.get(f"{API}/campaigns/{campaign_id}", headers=brand)).json()
    assert (shown["coupons_given"], shown["coupons_redeemed"], shown["redeemed_fen"]) == (1, 1, 800)
    assert shown["committed_fen"] == 800
    redemptions = (await client.get(f"{API}/redemptions", headers=brand)).json()
    assert redemptions["figures"]["count"] == 1 and redemptions["figures"]["value_fen"] == 800
    store_view = (await client.get(f"{API}/redemptions", headers=bearer(owner))).json()
    assert store_view["figures"]["count"] == 1
    far_view = (await client.get(f"{API}/redemptions", headers=bearer(far_owner))).json()
    assert far_view["figures"]["count"] == 0
    # Two receipts, a sale, a check and a redemption.
    assert await CodeScan.filter(brand_id=tenant.brand.id).count() == 5
    assert await DiversionAlert.all().count() == 1
    assert await ConsumerCoupon.filter(status="redeemed").count() == 1
    assert await CodeShipment.filter(kind="delivery").count() == 1
    assert await ProductCode.filter(sold_at__isnull=False).count() == 1

    # The ledger balances; the store's statements name the causes in Chinese.
    assert await ledger_service.unbalanced_accounts() == []
    accounts = (await client.get("/api/v1/ledger/accounts", headers=bearer(owner))).json()["items"]
    causes: dict[str, tuple[str, int]] = {}
    for account in accounts:
        statement = await client.get(
            f"/api/v1/ledger/accounts/{account['id']}/entries", headers=bearer(owner)
        )
        assert statement.status_code == 200, statement.text
        for entry in statement.json()["items"]:
            causes[entry["cause"]] = (entry["cause_name"], entry["amount"])
    assert causes["open_box"] == ("开箱奖励", 100)
    assert causes["c_coupon"][1] == 800 and causes["c_coupon"][0]
    assert all("\u4e00" <= ch <= "\u9fff" for ch in causes["c_coupon"][0][:2])
    assert await LedgerEntry.filter(cause="c_coupon").count() >= 1

    # A held (unsold) item's coupon is redeemed where it is held: sold now, counted once.
    other = await wechat_login(client, sandbox_client, "flow-consumer-2")
    held = items[boxes[0]][1]
    second = await client.post(f"{API}/checks", json={"code": held}, headers=bearer(other))
    assert second.status_code == 200 and second.json()["coupon"], second.text
    now_sold = await client.post(
        f"{API}/redemptions",
        json={"coupon": second.json()["coupon"]["token"]},
        headers=bearer(owner),
    )
    assert now_sold.status_code == 201, now_sold.text
    assert now_sold.json()["sold_now"] is True
    figures = (await client.get(f"{API}/figures", headers=brand)).json()
    assert figures["by_sku"][0]["items_sold"] == figures["totals"]["items_sold"] == 2
    assert figures["by_distributor"][0]["items_sold"] == 2
    stock = (await client.get(f"{API}/store-stock", headers=brand)).json()["items"]
    by_store = {r["store"]["id"]: (r["received"], r["sold"], r["on_hand"]) for r in stock}
    assert by_store == {tenant.store.id: (4, 2, 2), far_store.id: (4, 0, 4)}
    mine = (await client.get(f"{API}/stock", headers=bearer(owner))).json()["items"]
    assert [(r["sku_id"], r["sold"], r["on_hand"]) for r in mine] == [(shop.water, 2, 2)]
    counted = (await client.get(f"{API}/batches/{batch_id}", headers=brand)).json()
    assert counted["sold_items"] == 2
    shown = (await client.get(f"{API}/campaigns/{campaign_id}", headers=brand)).json()
    assert (shown["coupons_given"], shown["coupons_redeemed"], shown["redeemed_fen"]) == (
        2,
        2,
        1600,
    )
    redemptions = (await client.get(f"{API}/redemptions", headers=brand)).json()
    assert redemptions["figures"]["count"] == 2 and redemptions["figures"]["value_fen"] == 1600
    members = (await client.get(f"{API}/members", headers=brand)).json()
    assert members["figures"] == {"members": 2, "attributed": 2}
    assert await ledger_service.unbalanced_accounts() == []
