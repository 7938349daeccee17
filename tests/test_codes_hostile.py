"""Hostile use of product codes (一物一码) across every /codes endpoint: another brand's ids
and tokens answer 404 exactly like unknown ones and never show the other brand's data,
malformed and huge input is a clear Chinese 4xx with a stable code, never a 500, and a
refusal writes nothing."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

import httpx

from backend.codes.models import (
    CodeBatch,
    CodeCampaign,
    CodeScan,
    CodeShipment,
    ConsumerCoupon,
    DiversionAlert,
    ProductCode,
    StoreCodeStock,
)
from backend.ledger.models import LedgerEntry
from backend.ordering.models import Order
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_code_batch,
    make_shop,
    make_store,
    staff_headers,
    store_owner,
    wechat_login,
)

API = "/api/v1/codes"
KEYS = itertools.count(1)
BIG = 10**20


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": f"hostile-{next(KEYS)}"}


async def written() -> tuple[int, ...]:
    """Everything a refusal must leave alone."""
    stock = await StoreCodeStock.all().values_list("received", "sold")
    return (
        await CodeBatch.all().count(),
        await CodeShipment.all().count(),
        await CodeScan.all().count(),
        await DiversionAlert.all().count(),
        await CodeCampaign.all().count(),
        await ConsumerCoupon.all().count(),
        await ConsumerCoupon.filter(status="redeemed").count(),
        await LedgerEntry.all().count(),
        await ProductCode.filter(distributor_id__isnull=False).count(),
        await ProductCode.filter(order_id__isnull=False).count(),
        await ProductCode.filter(received_at__isnull=False).count(),
        await ProductCode.filter(sold_at__isnull=False).count(),
        sum(r + s for r, s in stock),
    )


def refused(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if code:
        assert error["code"] == code, response.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), response.text


async def their_world(client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient) -> Any:
    """Another brand with a shipment, a received box, a diversion alert, a campaign, a coupon
    and a shipped order: every id and token a hostile caller could try."""
    other = await make_shop()
    t = other.tenant
    brand = await staff_headers(client, t.admin_username)
    owner = await store_owner(client, sandbox_client, t.store)
    far = await make_store(t, distributor=t.other_distributor)
    far_owner = await store_owner(client, sandbox_client, far)
    codes = await make_code_batch(other, other.water, 3, 2)
    shipped = await client.post(
        f"{API}/shipments",
        json={"distributor_id": t.distributor.id, "codes": codes.boxes},
        headers=keyed(brand),
    )
    assert shipped.status_code == 201, shipped.text
    assert (
        await client.post(
            f"{API}/scans",
            json={"code": codes.boxes[0], "action": "receive"},
            headers=bearer(owner),
        )
    ).status_code == 201
    assert (
        await client.post(
            f"{API}/scans",
            json={"code": codes.boxes[1], "action": "receive"},
            headers=bearer(far_owner),
        )
    ).status_code == 201
    now = await _now(client)
    campaign = await client.post(
        f"{API}/campaigns",
        json={
            "name": "他牌活动",
            "sku_ids": [other.water],
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=10)).isoformat(),
            "coupon_value_fen": 300,
            "coupon_valid_days": 10,
            "budget_fen": 3000,
        },
        headers=keyed(brand),
    )
    assert campaign.status_code == 201, campaign.text
    published = await client.post(f"{API}/campaigns/{campaign.json()['id']}/publish", headers=brand)
    assert published.status_code == 200, published.text
    consumer = await wechat_login(client, sandbox_client, f"their-consumer-{t.brand.id}")
    checked = await client.post(
        f"{API}/checks", json={"code": codes.items[0][0]}, headers=bearer(consumer)
    )
    assert checked.json()["coupon"], checked.text
    order = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": other.water, "quantity": 1}]},
        headers=idempotent(owner),
    )
    assert order.status_code == 201, order.text
    await Order.filter(id=order.json()["id"]).update(status="accepted")
    return {
        "shop": other,
        "codes": codes,
        "shipment_id": shipped.json()["id"],
        "alert_id": (await DiversionAlert.get(brand_id=t.brand.id)).id,
        "campaign_id": campaign.json()["id"],
        "coupon": checked.json()["coupon"],
        "order_id": order.json()["id"],
        "store_id": t.store.id,
        "distributor_id": t.distributor.id,
    }


async def _now(client: httpx.AsyncClient) -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def ours(client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient) -> Any:
    shop = await make_shop()
    return (
        shop,
        await staff_headers(client, shop.tenant.admin_username),
        await distributor_admin(client, shop),
        bearer(await store_owner(client, sandbox_client, shop.tenant.store)),
    )


async def test_another_brands_ids_and_tokens_are_unknown_here(client, sandbox_client) -> None:
    theirs = await their_world(client, sandbox_client)
    shop, brand, distributor, owner = await ours(client, sandbox_client)
    mine = await make_code_batch(shop, shop.water, 1, 1)
    other: Shop = theirs["shop"]
    codes = theirs["codes"]
    before = await written()

    for path in [
        f"/batches/{codes.batch.id}",
        f"/batches/{codes.batch.id}/codes.csv",
        f"/batches/{codes.batch.id}/sheet",
        f"/shipments/{theirs['shipment_id']}",
        f"/deliveries/{theirs['order_id']}",
        f"/diversion-alerts/{theirs['alert_id']}",
        f"/campaigns/{theirs['campaign_id']}",
    ]:
        answer = await client.get(API + path, headers=brand)
        assert answer.status_code == 404, (path, answer.text)
        assert str(theirs["codes"].batch.batch_no) not in answer.text
    for path in [f"/deliveries/{theirs['order_id']}", f"/shipments/{theirs['shipment_id']}"]:
        assert (await client.get(API + path, headers=distributor)).status_code == 404
    delivery = await client.get(f"{API}/deliveries/{theirs['order_id']}", headers=owner)
    assert delivery.status_code == 404, delivery.text
    for path, body in [
        (f"/diversion-alerts/{theirs['alert_id']}/confirm", {"note": "看看"}),
        (f"/diversion-alerts/{theirs['alert_id']}/dismiss", {"note": "看看"}),
        (f"/campaigns/{theirs['campaign_id']}/end", None),
        (f"/campaigns/{theirs['campaign_id']}/publish", None),
    ]:
        answer = await client.post(API + path, json=body, headers=brand)
        assert answer.status_code == 404, (path, answer.text)
    for method, path, body in [
        ("PATCH", f"/batches/{codes.batch.id}", {"open_reward": {"kind": "cash", "amount": 1}}),
        ("PATCH", f"/campaigns/{theirs['campaign_id']}", {"budget_fen": 99_999}),
    ]:
        answer = await client.request(method, API + path, json=body, headers=brand)
        assert answer.status_code == 404, (path, answer.text)

    # Their ids in our filters find nothing of theirs.
    for path, params in [
        ("/boxes", {"distributor_id": theirs["distributor_id"]}),
        ("/boxes", {"batch_id": codes.batch.id}),
        ("/store-stock", {"store_id": theirs["store_id"]}),
        ("/store-stock", {"distributor_id": theirs["distributor_id"]}),
        ("/scans", {"store_id": theirs["store_id"]}),
        ("/diversion-alerts", {"distributor_id": theirs["distributor_id"]}),
        ("/diversion-alerts", {"batch_id": codes.batch.id}),
        ("/shipments", {"distributor_id": theirs["distributor_id"]}),
        ("/redemptions", {"store_id": theirs["store_id"]}),
        ("/batches", {"sku_id": other.water}),
        ("/members", {}),
        ("/campaigns", {}),
    ]:
        answer = await client.get(API + path, params=params, headers=brand)
        assert answer.status_code in (200, 404), (path, answer.text)
        if answer.status_code == 200:
            body = answer.json()
            rows = body.get("items", []) + body.get("by_sku", []) + body.get("by_distributor", [])
            assert rows == [], (path, params, body)
        assert codes.boxes[0] not in answer.text and codes.batch.batch_no not in answer.text
    figures = (await client.get(f"{API}/figures", headers=brand)).json()
    assert [row["sku"]["id"] for row in figures["by_sku"]] == [shop.water]
    assert figures["by_distributor"] == []
    summary = await client.get(
        f"{API}/diversion-alerts/summary",
        params={"distributor_id": theirs["distributor_id"]},
        headers=brand,
    )
    assert summary.status_code in (200, 404), summary.text
    if summary.status_code == 200:
        assert all(r["total"] == 0 for r in summary.json()["by_distributor"]), summary.text

    # Their tokens and ids in our writes: 404, nothing written.
    for token in (codes.boxes[2], codes.items[2][0]):
        for action in ("receive", "sell"):
            answer = await client.post(
                f"{API}/scans", json={"code": token, "action": action}, headers=owner
            )
            refused(answer, 404, "codes.not_found")
    refused(
        await client.post(
            f"{API}/redemptions", json={"coupon": theirs["coupon"]["qr_text"]}, headers=owner
        ),
        404,
        "codes.coupon_not_found",
    )
    shipments = [
        {"distributor_id": theirs["distributor_id"], "codes": mine.boxes},
        {"distributor_id": shop.tenant.distributor.id, "codes": [codes.boxes[2]]},
        {
            "distributor_id": shop.tenant.distributor.id,
            "ranges": [{"batch_id": codes.batch.id, "from": 3, "to": 3}],
        },
    ]
    for body in shipments:
        answer = await client.post(f"{API}/shipments", json=body, headers=keyed(brand))
        assert answer.status_code == 404, (body, answer.text)
    answer = await client.post(
        f"{API}/deliveries",
        json={"order_id": theirs["order_id"], "codes": mine.boxes},
        headers=keyed(distributor),
    )
    refused(answer, 404)
    answer = await client.post(
        f"{API}/batches",
        json={"sku_id": other.water, "batch_no": "STEAL-1", "boxes": 1, "items_per_box": 1},
        headers=keyed(brand),
    )
    refused(answer, 404)
    answer = await client.post(
        f"{API}/campaigns",
        json={
            "name": "盗用",
            "sku_ids": [other.water],
            "starts_at": (await _now(client)).isoformat(),
            "ends_at": (await _now(client) + timedelta(days=1)).isoformat(),
            "coupon_value_fen": 100,
            "coupon_valid_days": 1,
            "budget_fen": 100,
        },
        headers=keyed(brand),
    )
    assert answer.status_code in (400, 404), answer.text
    assert await written() == before


async def test_a_single_bad_code_says_why_once(client, sandbox_client) -> None:
    shop, brand, _, _ = await ours(client, sandbox_client)
    before = await written()
    unknown = await client.post(
        f"{API}/shipments",
        json={"distributor_id": shop.tenant.distributor.id, "codes": ["0" * 20]},
        headers=keyed(brand),
    )
    refused(unknown, 404, "codes.not_found")
    assert unknown.json()["error"]["message"].count("无法识别该码") == 1, unknown.text
    no_batch = await client.post(
        f"{API}/shipments",
        json={
            "distributor_id": shop.tenant.distributor.id,
            "ranges": [{"batch_id": 987_654_321, "from": 1, "to": 2}],
        },
        headers=keyed(brand),
    )
    refused(no_batch, 404, "codes.batch_not_found")
    assert no_batch.json()["error"]["message"].count("找不到该赋码批次") == 1, no_batch.text
    assert await written() == before


async def test_malformed_and_huge_input_is_refused_in_chinese(client, sandbox_client) -> None:
    shop, brand, distributor, owner = await ours(client, sandbox_client)
    consumer = bearer(await wechat_login(client, sandbox_client, "hostile-consumer"))
    mine = await make_code_batch(shop, shop.water, 2, 2, distributor_id=shop.tenant.distributor.id)
    before = await written()
    bad_codes: list[Any] = ["", "A" * 6000, 123, None, ["x"], {"a": 1}, "\x00", "💥" * 30]
    for code in bad_codes:
        for path, who, body in [
            ("/scans", owner, {"code": code, "action": "receive"}),
            ("/checks", consumer, {"code": code}),
            ("/redemptions", owner, {"coupon": code}),
            ("/shipments", brand, {"distributor_id": shop.tenant.distributor.id, "codes": [code]}),
            ("/deliveries", distributor, {"order_id": 1, "codes": [code]}),
        ]:
            answer = await client.post(API + path, json=body, headers=keyed(who))
            assert 400 <= answer.status_code < 500, (path, code, answer.text)
            refused(answer, answer.status_code)
    for body in [
        {"code": mine.boxes[0], "action": "destroy"},
        {"code": mine.boxes[0], "action": "receive", "latitude": 1000},
        {"code": mine.boxes[0], "action": "receive", "longitude": "东经"},
    ]:
        refused(await client.post(f"{API}/scans", json=body, headers=owner), 400, "codes.invalid")
    for first, last in [
        (1, BIG),
        (BIG, BIG + 1),
        (-1, 2),
        (0, 0),
        (2, 1),
        ("x", "y"),
        (1, 200_001),
        (True, 2),
        (1, False),
        (1.5, 2),
    ]:
        body = {
            "distributor_id": shop.tenant.distributor.id,
            "ranges": [{"batch_id": mine.batch.id, "from": first, "to": last}],
        }
        answer = await client.post(f"{API}/shipments", json=body, headers=keyed(brand))
        assert 400 <= answer.status_code < 500, (first, last, answer.text)
        refused(answer, answer.status_code)
    for params in [
        {"batch_id": BIG},
        {"q": "x" * 600},
        {"state": "zz"},
    ]:
        answer = await client.get(f"{API}/boxes", params=params, headers=brand)
        assert 400 <= answer.status_code < 500, (params, answer.text)
    for path in [
        f"/batches/{mine.batch.id}/sheet?kind=zzz&page=-1",
        f"/batches/{mine.batch.id}/sheet?kind=box&page={BIG}",
        f"/scans?before={BIG}",
        f"/store-stock?store_id={BIG}",
        "/diversion-alerts?from=2026-13-01",
        "/redemptions/export?from=x",
    ]:
        answer = await client.get(API + path, headers=brand)
        assert 400 <= answer.status_code < 500, (path, answer.text)
        refused(answer, answer.status_code)
    for path in [f"/batches/{BIG}", f"/shipments/{BIG}", f"/campaigns/{BIG}"]:
        assert (await client.get(API + path, headers=brand)).status_code == 404
    assert await written() == before


async def test_concurrent_first_box_scans_make_one_join_code(client, sandbox_client) -> None:
    from backend.org.models import OnboardingCode

    shop = await make_shop()
    mine = await make_code_batch(shop, shop.water, 1, 1, distributor_id=shop.tenant.distributor.id)
    people = [
        bearer(await wechat_login(client, sandbox_client, f"joiner-{shop.tenant.brand.id}-{n}"))
        for n in range(5)
    ]
    answers = await asyncio.gather(
        *(
            client.get(f"{API}/lookup", params={"code": mine.boxes[0]}, headers=who)
            for who in people
        )
    )
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert {a.json()["next"] for a in answers} == {"join"}
    assert len({a.json()["join_token"] for a in answers}) == 1
    key = f"product_box:{shop.tenant.brand.id}:{shop.tenant.distributor.id}"
    assert await OnboardingCode.filter(inviter_key=key).count() == 1


async def test_batch_size_limits_are_inclusive(client, sandbox_client) -> None:
    shop, brand, _, _ = await ours(client, sandbox_client)

    async def create(batch_no: str, boxes: int, items_per_box: int) -> httpx.Response:
        body = {
            "sku_id": shop.water,
            "batch_no": batch_no,
            "boxes": boxes,
            "items_per_box": items_per_box,
        }
        return await client.post(f"{API}/batches", json=body, headers=keyed(brand))

    before = await written()
    for batch_no, boxes, per_box in [
        ("TOO-MANY", 100_000, 20),  # 2,100,000 codes
        ("NO-BOXES", 0, 1),
        ("BIG-BOX", 1, 201),
        ("HUGE", 100_001, 1),
    ]:
        refused(await create(batch_no, boxes, per_box), 400, "codes.invalid")
    assert await written() == before
    largest = await create("LARGEST", 100_000, 19)  # exactly 2,000,000 codes
    assert largest.status_code == 201, largest.text
    assert largest.json()["codes_total"] == 2_000_000
    smallest = await create("SMALLEST", 1, 1)
    assert smallest.status_code == 201 and smallest.json()["codes_total"] == 2
    widest = await create("WIDEST", 1, 200)
    assert widest.status_code == 201 and widest.json()["codes_total"] == 201


async def test_a_coupon_qr_opened_by_a_phone_camera_says_how_to_use_it(client) -> None:
    from backend.codes.tokens import new_token

    page = await client.get("/V/" + new_token())
    assert page.status_code == 200 and "请在门店核销" in page.text, page.text
    assert "text/html" in page.headers["content-type"]
    lowered = await client.get("/v/" + new_token().lower())
    assert lowered.status_code == 200 and "扫码核销" in lowered.text
    bad = await client.get("/V/nope")
    assert bad.status_code == 404 and "无法识别该券" in bad.text


async def test_a_range_of_true_and_false_is_not_boxes_one_and_zero(client, sandbox_client) -> None:
    shop, brand, _, _ = await ours(client, sandbox_client)
    unshipped = await make_code_batch(shop, shop.water, 2, 1)
    before = await written()
    for first, last in [(True, 1), (1, True), (False, True)]:
        body = {
            "distributor_id": shop.tenant.distributor.id,
            "ranges": [{"batch_id": unshipped.batch.id, "from": first, "to": last}],
        }
        answer = await client.post(f"{API}/shipments", json=body, headers=keyed(brand))
        assert 400 <= answer.status_code < 500, answer.text
        refused(answer, answer.status_code)
    assert await written() == before
    fine = await client.post(
        f"{API}/shipments",
        json={
            "distributor_id": shop.tenant.distributor.id,
            "ranges": [{"batch_id": unshipped.batch.id, "from": 1, "to": "2"}],
        },
        headers=keyed(brand),
    )
    assert fine.status_code == 201 and fine.json()["boxes"] == 2, fine.text
