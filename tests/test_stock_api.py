"""A distributor's stock in the console: the stock list, adjustments with a reason and their
history, counts, low-stock warnings and what stores see of it."""

from __future__ import annotations

import asyncio
import itertools
import sys
from typing import Any

import httpx

from backend.catalog.models import StockAdjustment
from tests.conftest import ON_POSTGRES
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    make_shop,
    staff_headers,
    stock_of,
    store_owner,
)


def adjusting(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def adjust(
    client: httpx.AsyncClient, headers: dict[str, str], sku_id: int, key: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/catalog/skus/{sku_id}/stock", json=body, headers=adjusting(headers, key)
    )


async def history(client: httpx.AsyncClient, headers: dict[str, str], sku_id: int) -> list[Any]:
    response = await client.get(f"/api/v1/catalog/skus/{sku_id}/stock/adjustments", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_receipts_writeoffs_and_counts_are_recorded_with_who_and_why(client) -> None:
    shop = await make_shop(water_stock=50)
    headers = await distributor_admin(client, shop)
    received = await adjust(client, headers, shop.water, "k1", delta=30, reason="receipt")
    assert received.status_code == 201, received.text
    body = received.json()
    assert body["stock"] == 80 and body["is_available"] is True
    assert body["adjustment"]["stock_before"] == 50 and body["adjustment"]["stock_after"] == 80
    assert body["adjustment"]["user_name"].startswith("distributor_admin")
    damaged = await adjust(
        client, headers, shop.water, "k2", delta=-5, reason="damage", note="运输破损"
    )
    assert damaged.json()["stock"] == 75
    counted = await adjust(client, headers, shop.water, "k3", set_to=70, reason="stocktake")
    assert counted.status_code == 201 and counted.json()["adjustment"]["delta"] == -5
    assert await stock_of(shop) == 70
    recorded = await history(client, headers, shop.water)
    assert [(r["reason"], r["stock_before"], r["stock_after"], r["note"]) for r in recorded] == [
        ("stocktake", 75, 70, ""),
        ("damage", 80, 75, "运输破损"),
        ("receipt", 50, 80, ""),
        ("receipt", 0, 50, ""),  # the factory's, made by no person
    ]
    assert recorded[-1]["user_id"] is None and recorded[-1]["user_name"] == "系统"


async def test_an_adjustment_is_not_applied_twice_for_one_key(client) -> None:
    shop = await make_shop(water_stock=10)
    headers = await distributor_admin(client, shop)
    first = await adjust(client, headers, shop.water, "same", delta=5, reason="return")
    again = await adjust(client, headers, shop.water, "same", delta=5, reason="return")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await stock_of(shop) == 15
    missing = await client.post(
        f"/api/v1/catalog/skus/{shop.water}/stock",
        json={"delta": 5, "reason": "return"},
        headers=headers,
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "idempotency.key_required"


async def test_stock_never_goes_negative_and_a_refusal_changes_nothing(client) -> None:
    shop = await make_shop(water_stock=3)
    headers = await distributor_admin(client, shop)
    refused = await adjust(client, headers, shop.water, "neg", delta=-4, reason="damage")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "catalog.stock_negative" and "当前库存 3" in error["message"]
    assert await stock_of(shop) == 3
    assert len(await history(client, headers, shop.water)) == 1  # the factory's receipt
    emptied = await adjust(client, headers, shop.water, "zero", delta=-3, reason="damage")
    assert emptied.json()["stock"] == 0


async def test_bad_adjustments_are_refused_with_a_field_message(client) -> None:
    shop = await make_shop()
    headers = await distributor_admin(client, shop)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"delta": 1}, "reason"),  # no reason
        ({"delta": 1, "reason": "lost"}, "reason"),
        ({"reason": "receipt"}, "delta"),  # neither a change nor a count
        ({"delta": 1, "set_to": 5, "reason": "receipt"}, "delta"),
        ({"delta": 0, "reason": "receipt"}, "delta"),
        ({"set_to": -1, "reason": "stocktake"}, "set_to"),
        ({"delta": 2_000_000, "reason": "receipt"}, "delta"),
        ({"delta": "many", "reason": "receipt"}, "delta"),
        ({"delta": 1, "reason": "other"}, "note"),  # "other" needs a note
        ({"delta": 1, "reason": "other", "note": "   "}, "note"),
        ({"delta": 1, "reason": "receipt", "note": "长" * 201}, "note"),
    ]
    for number, (body, field) in enumerate(cases):
        response = await adjust(client, headers, shop.water, f"bad-{number}", **body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["message"] and any(d["field"] == field for d in error["details"]), body
    assert await stock_of(shop) == 50
    assert await StockAdjustment.filter(sku_id=shop.water).count() == 1


async def test_other_tenants_skus_and_distributors_are_not_found(client) -> None:
    shop = await make_shop()
    other = await make_shop()  # another brand
    headers = await distributor_admin(client, shop)
    foreign = await adjust(client, headers, other.water, "x", delta=1, reason="receipt")
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "catalog.sku_not_found"
    for path in (
        f"/api/v1/catalog/skus/{other.water}/stock/adjustments",
        f"/api/v1/catalog/skus/{10**12}/stock/adjustments",
    ):
        assert (await client.get(path, headers=headers)).status_code == 404
    threshold = await client.put(
        f"/api/v1/catalog/skus/{other.water}/low-stock", json={"threshold": 5}, headers=headers
    )
    assert threshold.status_code == 404
    # A distributor's staff act on their own distributor whatever they name.
    named = await adjust(
        client,
        headers,
        shop.water,
        "named",
        delta=1,
        reason="receipt",
        distributor_id=shop.tenant.other_distributor.id,
    )
    assert named.status_code == 201 and named.json()["distributor_id"] == shop.tenant.distributor.id
    # Brand staff name a distributor of their own brand, and no other.
    brand = await staff_headers(client, shop.tenant.admin_username)
    unnamed = await client.get("/api/v1/catalog/stock", headers=brand)
    assert unnamed.status_code == 422
    elsewhere = await client.get(
        "/api/v1/catalog/stock",
        params={"distributor_id": other.tenant.distributor.id},
        headers=brand,
    )
    assert elsewhere.status_code == 404
    assert await stock_of(other) == 50


async def test_the_stock_list_with_search_category_warnings_and_paging(client) -> None:
    shop = await make_shop(water_stock=4, filter_stock=500)
    headers = await distributor_admin(client, shop)
    listed = (await client.get("/api/v1/catalog/stock", headers=headers)).json()
    rows = {row["sku_id"]: row for row in listed["items"]}
    assert set(rows) == {shop.water, shop.filters, shop.unsold}
    water = rows[shop.water]
    assert water["product_name"] == "澜泉 RO 净水器" and water["category_name"] == "净水器"
    assert water["stock"] == 4 and water["is_available"] is True and water["is_low"] is False
    # A SKU the distributor never stocked: nothing in stock, and not sold to stores.
    assert rows[shop.unsold]["stock"] == 0 and rows[shop.unsold]["is_available"] is False
    assert listed["low_count"] == 0

    warned = await client.put(
        f"/api/v1/catalog/skus/{shop.water}/low-stock", json={"threshold": 5}, headers=headers
    )
    assert warned.status_code == 200 and warned.json()["is_low"] is True
    # A warning level on a SKU the distributor does not carry does not put it on sale.
    await client.put(
        f"/api/v1/catalog/skus/{shop.unsold}/low-stock", json={"threshold": 1}, headers=headers
    )
    low = (
        await client.get("/api/v1/catalog/stock", params={"low": "true"}, headers=headers)
    ).json()
    assert [row["sku_id"] for row in low["items"]] == [shop.water, shop.unsold]
    assert low["low_count"] == 2 and low["items"][1]["is_available"] is False
    cleared = await client.put(
        f"/api/v1/catalog/skus/{shop.unsold}/low-stock", json={"threshold": None}, headers=headers
    )
    assert cleared.json()["low_stock_threshold"] is None
    for bad in ({"threshold": 0}, {"threshold": "x"}, {}):
        response = await client.put(
            f"/api/v1/catalog/skus/{shop.water}/low-stock", json=bad, headers=headers
        )
        assert response.status_code == 422, bad

    async def found(**params: Any) -> list[int]:
        response = await client.get("/api/v1/catalog/stock", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [row["sku_id"] for row in response.json()["items"]]

    assert await found(q="滤芯") == [shop.filters]
    assert await found(q="澜泉") == [shop.water, shop.filters, shop.unsold]
    assert await found(q=water["barcode"][-6:]) == [shop.water]
    assert await found(q="100%") == []  # a literal percent sign, not a wildcard
    assert await found(category_id=water["category_id"]) == [shop.water, shop.filters, shop.unsold]
    assert await found(category_id=10**12) == []
    first = (await client.get("/api/v1/catalog/stock", params={"limit": 2}, headers=headers)).json()
    assert [row["sku_id"] for row in first["items"]] == [shop.water, shop.filters]
    assert await found(after=first["next_after"]) == [shop.unsold]
    for bad in ({"limit": "x"}, {"category_id": 0}, {"q": "长" * 65}, {"low": "maybe"}):
        response = await client.get("/api/v1/catalog/stock", params=bad, headers=headers)
        assert response.status_code == 422, bad


async def test_availability_is_what_stores_see(client, sandbox_client) -> None:
    shop = await make_shop()
    headers = await distributor_admin(client, shop)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    async def sold_here() -> bool:
        items = (await client.get("/api/v1/catalog/skus", headers=bearer(owner))).json()["items"]
        return next(item["sold_here"] for item in items if item["id"] == shop.water)

    assert await sold_here() is True
    off = await client.put(
        f"/api/v1/catalog/skus/{shop.water}/availability",
        json={"is_available": False},
        headers=headers,
    )
    assert off.status_code == 200 and off.json()["is_available"] is False
    assert await sold_here() is False
    listed = (await client.get("/api/v1/catalog/stock", headers=headers)).json()["items"]
    assert next(row for row in listed if row["sku_id"] == shop.water)["is_available"] is False
    # Stores see what is on sale, never the distributor's stock list or its history.
    for path in ("/api/v1/catalog/stock", f"/api/v1/catalog/skus/{shop.water}/stock/adjustments"):
        assert (await client.get(path, headers=bearer(owner))).status_code == 403


async def test_adjustments_made_at_once_all_count(client) -> None:
    shop = await make_shop(water_stock=100)
    headers = await distributor_admin(client, shop)
    changes = [5, -3] * 10 + [7] * 5
    responses = await asyncio.gather(
        *(
            adjust(client, headers, shop.water, f"at-once-{n}", delta=delta, reason="receipt")
            for n, delta in enumerate(changes)
        )
    )
    assert [r.status_code for r in responses] == [201] * len(changes)
    assert await stock_of(shop) == 100 + sum(changes)
    assert_chained(await StockAdjustment.filter(sku_id=shop.water).order_by("id"))


def assert_chained(records: list[StockAdjustment]) -> None:
    """Each record starts where the one before it ended: no change was lost, doubled or
    made off the record."""
    for earlier, later in itertools.pairwise(records):
        assert later.stock_before == earlier.stock_after
        assert later.stock_after - later.stock_before == later.delta


async def test_a_count_and_receipts_at_once_never_lose_a_receipt(client) -> None:
    """A count replaces the figure it read; receipts that land in between make it read again,
    so the final figure is the count plus the receipts applied after it, whatever the order."""
    shop = await make_shop(water_stock=10)
    headers = await distributor_admin(client, shop)
    responses = await asyncio.gather(
        adjust(client, headers, shop.water, "count", set_to=40, reason="stocktake"),
        *(
            adjust(client, headers, shop.water, f"r{n}", delta=1, reason="receipt")
            for n in range(6)
        ),
    )
    assert [r.status_code for r in responses] == [201] * 7
    records = await StockAdjustment.filter(sku_id=shop.water).order_by("id")
    counted = next(r for r in records if r.reason == "stocktake")
    after_count = [r for r in records if r.id > counted.id]
    assert await stock_of(shop) == 40 + len(after_count)
    assert_chained(records)


async def test_two_processes_adjusting_at_once_both_count(client, database_url) -> None:
    """Another process (its own connections) adjusts the same SKU while this one does."""
    if not ON_POSTGRES:
        return  # SQLite serialises writers in one process: the point is PostgreSQL's
    shop = await make_shop(water_stock=0)
    headers = await distributor_admin(client, shop)
    script = (
        "import asyncio, sys\n"
        "from backend.infra import db\n"
        "from backend.catalog import service\n"
        "from backend.identity.tokens import Principal\n"
        "async def main():\n"
        "    await db.init_db(sys.argv[1])\n"
        "    acting = Principal(user_id=0, session_id='other', role='brand_admin',"
        " brand_id=int(sys.argv[2]))\n"
        "    await asyncio.gather(*(service.adjust_stock(acting, int(sys.argv[3]),"
        " int(sys.argv[4]), delta=2) for _ in range(20)))\n"
        "    await db.close_db()\n"
        "asyncio.run(main())\n"
    )
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        database_url,
        str(shop.tenant.brand.id),
        str(shop.tenant.distributor.id),
        str(shop.water),
    )
    ours = await asyncio.gather(
        *(
            adjust(client, headers, shop.water, f"p{n}", delta=1, reason="receipt")
            for n in range(20)
        )
    )
    assert await other.wait() == 0
    assert all(r.status_code == 201 for r in ours)
    assert await stock_of(shop) == 20 * 2 + 20
    records = await StockAdjustment.filter(sku_id=shop.water).order_by("id")
    assert len(records) == 41
    assert_chained(records)


async def test_brand_staff_read_a_distributors_stock_and_history(client) -> None:
    shop: Shop = await make_shop()
    brand = await staff_headers(client, shop.tenant.admin_username)
    distributor = shop.tenant.distributor.id
    listed = await client.get(
        "/api/v1/catalog/stock", params={"distributor_id": distributor}, headers=brand
    )
    assert listed.status_code == 200 and len(listed.json()["items"]) == 3
    recorded = await client.get(
        f"/api/v1/catalog/skus/{shop.water}/stock/adjustments",
        params={"distributor_id": distributor},
        headers=brand,
    )
    assert [r["user_name"] for r in recorded.json()["items"]] == ["系统"]
