"""The distributor's order queue: search and after-sale filters with counts per status, batch
accept and batch ship (each order on its own, idempotent, exactly once under concurrency),
shipping with a carrier and tracking number, and the print sheets (picking list, delivery
notes), all scoped to the caller's distributor."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from backend.catalog.models import DistributorSku
from backend.identity.models import Role
from backend.ordering.models import Order, OrderEvent
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
)
from tests.test_complaints import filed

ORDERS = "/api/v1/orders"


async def place(
    client: httpx.AsyncClient, owner: dict[str, Any], lines: list[tuple[int, int]]
) -> dict[str, Any]:
    body = {"lines": [{"sku_id": sku, "quantity": quantity} for sku, quantity in lines]}
    response = await client.post(ORDERS, json=body, headers=idempotent(owner))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def pay_offline(client: httpx.AsyncClient, staff: dict[str, str], order_id: int) -> None:
    response = await client.post(f"{ORDERS}/{order_id}/offline-payment", json={}, headers=staff)
    assert response.status_code == 201, response.text


async def paid_orders(
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
    count: int,
    shop: Shop | None = None,
) -> tuple[Shop, dict[str, str], list[int]]:
    """A shop, an admin of its distributor, and `count` orders of its store paid offline
    (待接单), oldest first."""
    shop = shop or await make_shop()
    staff = await distributor_admin(client, shop)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    ids = []
    for _ in range(count):
        order = await place(client, owner, [(shop.water, 1), (shop.filters, 20)])
        await pay_offline(client, staff, order["id"])
        ids.append(order["id"])
    return shop, staff, ids


async def another_distributors_order(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, shop: Shop
) -> int:
    """A paid order of a store of the same brand's other distributor."""
    tenant = shop.tenant
    store = await make_store(tenant, distributor=tenant.other_distributor, name="别家门店")
    await DistributorSku.create(
        brand=tenant.brand, distributor=tenant.other_distributor, sku_id=shop.water, stock=10
    )
    owner = await store_owner(client, sandbox_client, store)
    order = await place(client, owner, [(shop.water, 1)])
    theirs = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id),
    )
    await pay_offline(client, theirs, order["id"])
    return int(order["id"])


async def batch(
    client: httpx.AsyncClient, staff: dict[str, str], action: str, body: Any, key: str
) -> httpx.Response:
    return await client.post(
        f"{ORDERS}/batch/{action}", json=body, headers={**staff, "Idempotency-Key": key}
    )


async def statuses(order_ids: list[int]) -> list[str]:
    return [(await Order.get(id=order_id)).status for order_id in order_ids]


async def test_search_after_sale_and_counts_follow_the_filters_and_the_tenant(
    client, sandbox_client
) -> None:
    shop, staff, (first, second, third) = await paid_orders(client, sandbox_client, 3)
    theirs = await another_distributors_order(client, sandbox_client, shop)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    other_store = await make_store(shop.tenant, name="西湖便利店")
    other_owner = await store_owner(client, sandbox_client, other_store)
    unpaid = await place(client, other_owner, [(shop.water, 2)])
    await client.post(f"{ORDERS}/{second}/accept", headers=staff)
    # After-sale: a refund of `first`, and an open complaint about `third`.
    refunded = await client.post(
        f"{ORDERS}/{first}/refunds",
        json={"amount_fen": 100, "reason": "少发一支"},
        headers={**staff, "Idempotency-Key": "refund-1"},
    )
    assert refunded.status_code == 201, refunded.text
    await filed(client, owner, order_id=third)

    async def listed(**query: Any) -> list[int]:
        response = await client.get(ORDERS, params=query, headers=staff)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    async def counted(**query: Any) -> dict[str, Any]:
        response = await client.get(f"{ORDERS}/counts", params=query, headers=staff)
        assert response.status_code == 200, response.text
        return dict(response.json())

    everything = await counted()
    assert everything["by_status"] == {
        "pending_payment": 1,
        "paid": 2,
        "accepted": 1,
        "shipped": 0,
        "delivered": 0,
        "completed": 0,
        "cancelled": 0,
    }
    assert (everything["after_sale"], everything["total"]) == (2, 4)  # not `theirs`
    assert await listed(after_sale="true") == [third, first]
    assert await listed(after_sale="true", status="paid") == [third, first]
    assert await listed(status="accepted") == [second]
    order_no = (await Order.get(id=second)).order_no
    assert await listed(q=order_no[-6:]) == [second]
    assert await listed(q="西湖") == [unpaid["id"]]
    by_store = await counted(store_id=shop.tenant.store.id, status="paid", after_sale="true")
    assert by_store["by_status"]["pending_payment"] == 0  # the unpaid order is the other store's
    assert (by_store["by_status"]["paid"], by_store["after_sale"]) == (2, 2)
    assert (await counted(q="西湖"))["total"] == 1
    assert theirs not in await listed(q=(await Order.get(id=theirs)).order_no)
    row = (await client.get(ORDERS, params={"q": order_no}, headers=staff)).json()["items"][0]
    assert row["store_name"] == shop.tenant.store.name and row["salesperson_name"] == "王磊"
    assert (row["paid_fen"], row["refunded_fen"], row["after_sale"]) == (
        row["payable_fen"],
        0,
        False,
    )
    first_row = (await client.get(ORDERS, params={"after_sale": "true"}, headers=staff)).json()
    assert [(r["refunded_fen"], r["after_sale"]) for r in first_row["items"]] == [
        (0, True),
        (100, True),
    ]
    # The brand sees all its distributors' orders; a store owner may not count.
    brand = await staff_headers(client, shop.tenant.admin_username)
    assert (await client.get(f"{ORDERS}/counts", headers=brand)).json()["total"] == 5
    assert (await client.get(f"{ORDERS}/counts", headers=bearer(owner))).status_code == 403
    assert (await client.get(ORDERS, params={"q": "单" * 41}, headers=staff)).status_code == 422


async def test_brand_staff_filter_by_distributor_and_distributors_stay_in_their_own(
    client, sandbox_client
) -> None:
    shop, staff, (mine,) = await paid_orders(client, sandbox_client, 1)
    theirs = await another_distributors_order(client, sandbox_client, shop)
    tenant = shop.tenant
    brand = await staff_headers(client, tenant.admin_username)
    stranger = await staff_headers(client, (await make_shop()).tenant.admin_username)

    async def seen(headers: dict[str, str], **query: Any) -> tuple[list[Any], int]:
        """(id, distributor name) of each listed order, and the tabs' total, for one filter."""
        listed = await client.get(ORDERS, params=query, headers=headers)
        counted = await client.get(f"{ORDERS}/counts", params=query, headers=headers)
        assert (listed.status_code, counted.status_code) == (200, 200), listed.text
        rows = [(row["id"], row["distributor_name"]) for row in listed.json()["items"]]
        return rows, counted.json()["total"]

    ours, other = tenant.distributor, tenant.other_distributor
    assert await seen(brand) == ([(theirs, other.name), (mine, ours.name)], 2)
    assert await seen(brand, distributor_id=ours.id) == ([(mine, ours.name)], 1)
    assert await seen(brand, distributor_id=other.id) == ([(theirs, other.name)], 1)
    # Staff of one distributor: naming another distributor (or another brand naming one of
    # ours) narrows to nothing, never widens; naming their own changes nothing.
    assert await seen(staff, distributor_id=ours.id) == ([(mine, ours.name)], 1)
    assert await seen(staff, distributor_id=other.id) == ([], 0)
    assert await seen(stranger, distributor_id=ours.id) == ([], 0)
    assert await seen(brand, distributor_id=999_999_999) == ([], 0)
    bad = await client.get(ORDERS, params={"distributor_id": "x"}, headers=brand)
    assert bad.status_code == 422, bad.text


async def test_batch_accept_reports_each_order_and_changes_only_what_it_may(
    client, sandbox_client
) -> None:
    shop, staff, (first, second, third) = await paid_orders(client, sandbox_client, 3)
    theirs = await another_distributors_order(client, sandbox_client, shop)
    await client.post(f"{ORDERS}/{third}/accept", headers=staff)  # already accepted
    response = await batch(
        client, staff, "accept", {"order_ids": [first, third, theirs, second]}, "accept-1"
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["succeeded"], answer["failed"]) == (2, 2)
    results = {result["order_id"]: result for result in answer["results"]}
    assert [result["order_id"] for result in answer["results"]] == [first, third, theirs, second]
    assert results[first] == {"order_id": first, "ok": True, "status": "accepted"}
    assert results[third]["ok"] is False
    assert results[third]["error"]["code"] == "order.illegal_transition"
    assert results[third]["error"]["message"] == "订单待发货，不能接单"
    assert results[theirs]["error"]["code"] == "order.not_found"
    assert await statuses([first, second, third, theirs]) == [
        "accepted",
        "accepted",
        "accepted",
        "paid",  # another distributor's order: reported as not found, untouched
    ]
    assert await OrderEvent.filter(order_id=theirs, to_status="accepted").count() == 0

    # The same key again: the first answer, nothing done twice; another body: refused.
    replay = await batch(
        client, staff, "accept", {"order_ids": [first, third, theirs, second]}, "accept-1"
    )
    assert replay.status_code == 200 and replay.json() == answer
    reused = await batch(client, staff, "accept", {"order_ids": [first]}, "accept-1")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency.key_reused"
    assert await OrderEvent.filter(order_id=first, to_status="accepted").count() == 1


async def test_batch_bodies_are_checked_before_anything_moves(client, sandbox_client) -> None:
    shop, staff, (first,) = await paid_orders(client, sandbox_client, 1)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    # Each with what the person is told about the field (our validators' own reasons).
    refusals = [
        ("accept", {"order_ids": []}, "项目过少"),
        ("accept", {"order_ids": [first, first]}, "同一订单只能出现一次"),
        ("accept", {"order_ids": list(range(1, 102))}, "项目过多"),
        ("ship", {"orders": [{"order_id": first, "carrier": "sf"}]}, "请填写运单号"),
        (
            "ship",
            {"orders": [{"order_id": first, "carrier": "pigeon", "tracking_no": "1234"}]},
            "请从列表中选择物流公司",
        ),
        (
            "ship",
            {"orders": [{"order_id": first, "carrier": "sf", "tracking_no": "单号"}]},
            "格式不正确",
        ),
    ]
    for number, (action, body, told) in enumerate(refusals):
        response = await batch(client, staff, action, body, f"bad-{number}")
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["details"][0]["message"] == told, response.text
    no_key = await client.post(f"{ORDERS}/batch/accept", json={"order_ids": [first]}, headers=staff)
    assert no_key.json()["error"]["code"] == "idempotency.key_required"
    by_store = await batch(client, bearer(owner), "accept", {"order_ids": [first]}, "store")
    assert by_store.status_code == 403
    assert await statuses([first]) == ["paid"]


async def test_concurrent_duplicate_batches_accept_each_order_exactly_once(
    client, sandbox_client
) -> None:
    _, staff, ids = await paid_orders(client, sandbox_client, 3)
    answers = await asyncio.gather(
        *(batch(client, staff, "accept", {"order_ids": ids}, f"twin-{n}") for n in range(4))
    )
    assert all(answer.status_code == 200 for answer in answers)
    for order_id in ids:
        oks = [
            result
            for answer in answers
            for result in answer.json()["results"]
            if result["order_id"] == order_id and result["ok"]
        ]
        assert len(oks) == 1
        assert await OrderEvent.filter(order_id=order_id, to_status="accepted").count() == 1
    refused = {
        result["error"]["code"]
        for answer in answers
        for result in answer.json()["results"]
        if not result["ok"]
    }
    assert refused <= {"order.illegal_transition", "order.status_changed"}
    assert await statuses(ids) == ["accepted"] * 3


async def test_batch_ship_keeps_each_orders_carrier_and_tracking_number(
    client, sandbox_client
) -> None:
    shop, staff, (first, second, waiting) = await paid_orders(client, sandbox_client, 3)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await batch(client, staff, "accept", {"order_ids": [first, second]}, "accept")
    body = {
        "orders": [
            {"order_id": first, "carrier": "sf", "tracking_no": " SF1234567890 "},
            {"order_id": second, "carrier": "own"},
            {"order_id": waiting, "carrier": "zto", "tracking_no": "ZT0001"},
        ]
    }
    answer = (await batch(client, staff, "ship", body, "ship-1")).json()
    assert [result["ok"] for result in answer["results"]] == [True, True, False]
    assert answer["results"][2]["error"]["message"] == "订单待接单，不能发货"
    shipped = (await client.get(f"{ORDERS}/{first}", headers=bearer(owner))).json()
    assert (shipped["status"], shipped["carrier"], shipped["tracking_no"]) == (
        "shipped",
        "sf",
        "SF1234567890",
    )
    assert shipped["carrier_name"] == "顺丰速运"
    assert shipped["logistics_note"] == "顺丰速运 SF1234567890"  # what older clients read
    assert shipped["timeline"][-1]["note"] == "顺丰速运 SF1234567890"
    own = await Order.get(id=second)
    assert (own.status, own.carrier, own.tracking_no, own.logistics_note) == (
        "shipped",
        "own",
        None,
        "自送",
    )
    untouched = await Order.get(id=waiting)
    assert (untouched.status, untouched.carrier, untouched.tracking_no) == ("paid", None, None)
    replay = await batch(client, staff, "ship", body, "ship-1")
    assert replay.json() == answer


async def test_single_ship_takes_a_carrier_or_a_note_as_before(client, sandbox_client) -> None:
    _, staff, (by_carrier, by_note) = await paid_orders(client, sandbox_client, 2)
    for order_id in (by_carrier, by_note):
        await client.post(f"{ORDERS}/{order_id}/accept", headers=staff)
    missing = await client.post(f"{ORDERS}/{by_carrier}/ship", json={}, headers=staff)
    assert missing.status_code == 422
    shipped = await client.post(
        f"{ORDERS}/{by_carrier}/ship",
        json={"carrier": "jd", "tracking_no": "JD0001", "logistics_note": "司机小李"},
        headers=staff,
    )
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["carrier"], shipped.json()["tracking_no"]) == ("jd", "JD0001")
    assert shipped.json()["logistics_note"] == "司机小李"
    noted = await client.post(
        f"{ORDERS}/{by_note}/ship", json={"logistics_note": "顺丰 SF1"}, headers=staff
    )
    assert noted.json()["logistics_note"] == "顺丰 SF1" and noted.json()["carrier"] is None
    carriers = (await client.get(f"{ORDERS}/carriers", headers=staff)).json()["items"]
    assert {"code": "own", "name": "自送", "needs_tracking_no": False} in carriers


async def test_print_sheets_sum_skus_by_case_and_stay_in_the_tenant(client, sandbox_client) -> None:
    shop, staff, (first, second) = await paid_orders(client, sandbox_client, 2)
    theirs = await another_distributors_order(client, sandbox_client, shop)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    third = await place(client, owner, [(shop.filters, 30)])
    response = await client.get(
        f"{ORDERS}/print", params={"ids": f"{third['id']},{first},{second}"}, headers=staff
    )
    assert response.status_code == 200, response.text
    sheet = response.json()
    assert [order["id"] for order in sheet["orders"]] == [third["id"], first, second]
    store = sheet["orders"][1]["store"]
    assert (store["name"], store["address"]) == (shop.tenant.store.name, "文一西路1号")
    lines = sheet["orders"][1]["lines"]
    assert [(line["sku_name"], line["cases"], line["loose"]) for line in lines] == [
        ("RO-500", 0, 1),
        ("滤芯", 2, 0),
    ]
    assert lines[1]["case_size"] == 10 and lines[1]["amount_fen"] == 20 * 10_000
    assert sheet["orders"][1]["amount_fen"] == 199_900 + 200_000
    picking = {sku["sku_name"]: sku for sku in sheet["picking"]}
    assert (picking["滤芯"]["quantity"], picking["滤芯"]["cases"], picking["滤芯"]["orders"]) == (
        70,
        7,
        3,
    )
    assert (picking["RO-500"]["quantity"], picking["RO-500"]["loose"]) == (2, 2)
    assert picking["RO-500"]["barcode"].startswith("69")
    # Another distributor's order in the list: not found, and none of its data.
    mixed = await client.get(f"{ORDERS}/print", params={"ids": f"{first},{theirs}"}, headers=staff)
    assert mixed.status_code == 404
    assert mixed.json()["error"]["details"] == {"order_ids": [theirs]}
    too_many = ",".join(str(n) for n in range(1, 52))
    assert (await client.get(f"{ORDERS}/print", params={"ids": too_many}, headers=staff)).json()[
        "error"
    ]["code"] == "order.too_many_to_print"
    assert (
        await client.get(f"{ORDERS}/print", params={"ids": "1,x"}, headers=staff)
    ).status_code == 422
