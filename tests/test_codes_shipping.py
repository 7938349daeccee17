"""Shipping boxes (出库): the brand ships box codes to a distributor by scanned codes or
serial ranges, all or nothing and once per box however many ship at once; a distributor
names the boxes its order carried; the lists of shipments and boxes, each inside its tenant."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from backend.codes.models import BatchStatus, CodeBatch, CodeShipment, ProductCode
from backend.codes.shipments import MAX_RANGE_BOXES
from backend.codes.tokens import box_serial, code_url, new_tokens
from backend.identity.models import Role
from backend.infra import sql
from backend.ordering.models import Order
from backend.org.models import Distributor
from tests.factories import (
    Shop,
    bearer,
    idempotent,
    make_shop,
    make_staff,
    staff_headers,
    store_owner,
)

API = "/api/v1/codes"
BASE = "https://b2b.example"
KEYS = itertools.count(1)


@dataclass
class Batch:
    batch: CodeBatch
    boxes: list[str]  # box tokens by serial (boxes[0] is box 1)
    items: list[str]  # item tokens, items_per_box per box in order

    @property
    def id(self) -> int:
        return self.batch.id

    @property
    def no(self) -> str:
        return self.batch.batch_no


async def ready_batch(
    brand_id: int,
    sku_id: int,
    *,
    boxes: int = 6,
    items_per_box: int = 3,
    batch_no: str | None = None,
    status: str = BatchStatus.READY.value,
) -> Batch:
    """A batch and its codes written directly (the batches part's generator does it for real)."""
    batch = await CodeBatch.create(
        brand_id=brand_id,
        sku_id=sku_id,
        batch_no=batch_no or f"2026120{next(KEYS)}",
        boxes=boxes,
        items_per_box=items_per_box,
        status=status,
        written=boxes * (items_per_box + 1),
        ready_at=datetime.now(UTC),
    )
    box_tokens = new_tokens(boxes)
    await ProductCode.bulk_create(
        [
            ProductCode(brand_id=brand_id, batch_id=batch.id, kind="box", token=t, serial=n)
            for n, t in enumerate(box_tokens, start=1)
        ]
    )
    ids = dict(await ProductCode.filter(batch_id=batch.id, kind="box").values_list("serial", "id"))
    item_tokens = new_tokens(boxes * items_per_box)
    await ProductCode.bulk_create(
        [
            ProductCode(
                brand_id=brand_id,
                batch_id=batch.id,
                kind="item",
                token=t,
                serial=n,
                box_id=ids[(n - 1) // items_per_box + 1],
            )
            for n, t in enumerate(item_tokens, start=1)
        ]
    )
    return Batch(batch, box_tokens, item_tokens)


async def admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    headers = await staff_headers(client, shop.tenant.admin_username)
    return {**headers, "Idempotency-Key": f"ship-{next(KEYS)}"}


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": f"ship-{next(KEYS)}"}


async def distributor_staff(
    client: httpx.AsyncClient, shop: Shop, distributor: Distributor | None = None
) -> dict[str, str]:
    distributor = distributor or shop.tenant.distributor
    username = await make_staff(shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, distributor.id)
    return await staff_headers(client, username)


async def snapshot() -> tuple[Any, ...]:
    """Everything shipping may change."""
    codes = (
        await ProductCode.filter(kind="box")
        .order_by("id")
        .values_list("id", "distributor_id", "shipment_id", "order_id")
    )
    return tuple(codes), await CodeShipment.all().count()


async def ship(
    client: httpx.AsyncClient, headers: dict[str, str], distributor_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/shipments", json={"distributor_id": distributor_id, **body}, headers=keyed(headers)
    )


# ---- shipping by scanned codes and ranges ---------------------------------------------------


async def test_scanned_box_codes_ship_to_the_distributor(client) -> None:
    shop = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water)
    headers = await admin(client, shop)
    distributor = shop.tenant.distributor
    # As a scanner gun types them: full URLs, a bare token, lower case, one box twice.
    codes = [
        code_url(BASE, batch.boxes[0]),
        batch.boxes[1],
        code_url(BASE, batch.boxes[2]).lower(),
        batch.boxes[0],
    ]
    response = await ship(client, headers, distributor.id, codes=codes, note="浙A12345")
    assert response.status_code == 201, response.text
    shipment = response.json()
    assert shipment["kind"] == "to_distributor"
    assert shipment["distributor"] == {"id": distributor.id, "name": distributor.name}
    assert (shipment["boxes"], shipment["items"], shipment["note"]) == (3, 9, "浙A12345")
    assert shipment["created_by"]["name"]
    shipped = await ProductCode.filter(kind="box", distributor_id=distributor.id).values_list(
        "serial", "shipment_id"
    )
    assert sorted(shipped) == [(1, shipment["id"]), (2, shipment["id"]), (3, shipment["id"])]
    # Items follow their boxes: they carry nothing themselves.
    assert await ProductCode.filter(kind="item", distributor_id__not_isnull=True).count() == 0

    detail = (await client.get(f"{API}/shipments/{shipment['id']}", headers=headers)).json()
    assert [b["serial_text"] for b in detail["box_list"]["items"]] == [
        box_serial(batch.no, n) for n in (1, 2, 3)
    ]
    assert {b["state_label"] for b in detail["box_list"]["items"]} == {"已出库"}
    assert detail["by_batch"] == [
        {
            "batch": {"id": batch.id, "batch_no": batch.no},
            "sku": {"id": shop.water, "name": "澜泉 RO 净水器 RO-500"},
            "boxes": 3,
            "items": 9,
            "first": box_serial(batch.no, 1),
            "last": box_serial(batch.no, 3),
        }
    ]


async def test_ranges_ship_whole_runs_of_boxes_with_scanned_codes_beside(client) -> None:
    shop = await make_shop()
    water = await ready_batch(shop.tenant.brand.id, shop.water, boxes=10)
    filters = await ready_batch(shop.tenant.brand.id, shop.filters, boxes=5, items_per_box=10)
    headers = await admin(client, shop)
    response = await ship(
        client,
        headers,
        shop.tenant.distributor.id,
        ranges=[
            {"batch_id": water.id, "from": 2, "to": 5},
            {"batch_id": filters.id, "from": box_serial(filters.no, 1), "to": "B000003"},
        ],
        # A box inside a range counts once; another outside it is added.
        codes=[water.boxes[2], water.boxes[8]],
    )
    assert response.status_code == 201, response.text
    assert (response.json()["boxes"], response.json()["items"]) == (8, 4 * 3 + 3 * 10 + 3)
    serials = await ProductCode.filter(batch_id=water.id, distributor_id__not_isnull=True)
    assert sorted(c.serial for c in serials) == [2, 3, 4, 5, 9]


async def test_a_refused_shipment_names_every_bad_code_and_writes_nothing(client) -> None:
    shop = await make_shop()
    other = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water)
    foreign = await ready_batch(other.tenant.brand.id, other.water)
    headers = await admin(client, shop)
    first = await ship(client, headers, shop.tenant.distributor.id, codes=[batch.boxes[0]])
    assert first.status_code == 201
    before = await snapshot()

    response = await ship(
        client,
        headers,
        shop.tenant.other_distributor.id,
        codes=[
            batch.boxes[1],  # fine on its own
            "https://b2b.example/C/0000000000000000000Z",  # well formed, unknown
            "not a code",
            batch.items[0],  # an item
            foreign.boxes[0],  # another brand's box
            code_url(BASE, batch.boxes[0]),  # shipped already
        ],
    )
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "codes.shipment_refused"
    reasons = [(d["field"], d["reason"]) for d in error["details"]]
    assert reasons == [
        ("codes.1", "not_found"),
        ("codes.2", "not_found"),
        ("codes.3", "item_code"),
        ("codes.4", "not_found"),
        ("codes.5", "already_shipped"),
    ]
    assert await snapshot() == before
    # Shipped boxes alone: that error, naming where each went.
    alone = await ship(
        client, headers, shop.tenant.other_distributor.id, codes=[batch.boxes[1], batch.boxes[0]]
    )
    assert alone.status_code == 409
    error = alone.json()["error"]
    assert error["code"] == "codes.already_shipped"
    assert [d["serial_text"] for d in error["details"]] == [box_serial(batch.no, 1)]
    assert shop.tenant.distributor.name in error["details"][0]["message"]
    assert await snapshot() == before


async def test_one_kind_of_problem_answers_with_its_own_code(client) -> None:
    shop = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water)
    headers = await admin(client, shop)
    distributor = shop.tenant.distributor.id
    before = await snapshot()
    unknown = await ship(client, headers, distributor, codes=["0000000000000000000Z"])
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "codes.not_found")
    items = await ship(client, headers, distributor, codes=batch.items[:2])
    assert (items.status_code, items.json()["error"]["code"]) == (409, "codes.wrong_kind")
    assert "物码" in items.json()["error"]["message"]
    assert await snapshot() == before


async def test_bad_ranges_are_refused_whole(client) -> None:
    shop = await make_shop()
    other = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water, boxes=10)
    generating = await ready_batch(
        shop.tenant.brand.id, shop.filters, status=BatchStatus.GENERATING.value
    )
    foreign = await ready_batch(other.tenant.brand.id, other.water)
    headers = await admin(client, shop)
    assert (
        await ship(
            client,
            headers,
            shop.tenant.distributor.id,
            ranges=[{"batch_id": batch.id, "from": 8, "to": 9}],
        )
    ).status_code == 201
    before = await snapshot()
    response = await ship(
        client,
        headers,
        shop.tenant.other_distributor.id,
        ranges=[
            {"batch_id": batch.id, "from": 1, "to": 3},  # fine
            {"batch_id": batch.id, "from": 5, "to": 4},  # backwards
            {"batch_id": batch.id, "from": 1, "to": 11},  # past the batch
            {"batch_id": batch.id, "from": 3, "to": 4},  # overlaps the first
            {"batch_id": foreign.id, "from": 1, "to": 2},  # another brand's batch
            {"batch_id": generating.id, "from": 1, "to": 2},  # not ready
            {"batch_id": batch.id, "from": "OTHER-B000001", "to": 2},  # another batch's text
        ],
    )
    assert response.status_code == 409, response.text
    details = response.json()["error"]["details"]
    assert [(d["field"], d["reason"]) for d in details] == [
        ("ranges.1", "bad_range"),
        ("ranges.2", "bad_range"),
        ("ranges.3", "overlap"),
        ("ranges.4", "batch_not_found"),
        ("ranges.5", "batch_not_ready"),
        ("ranges.6", "bad_range"),
    ]
    assert await snapshot() == before
    # A range with shipped boxes says how many and which.
    taken = await ship(
        client,
        headers,
        shop.tenant.other_distributor.id,
        ranges=[{"batch_id": batch.id, "from": 1, "to": 10}],
    )
    assert taken.status_code == 409
    detail = taken.json()["error"]["details"][0]
    assert (detail["reason"], detail["shipped"]) == ("already_shipped", 2)
    assert detail["examples"] == [box_serial(batch.no, 8), box_serial(batch.no, 9)]
    assert await snapshot() == before


async def test_bad_requests_are_refused_clearly(client) -> None:
    shop = await make_shop()
    other = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water)
    headers = await admin(client, shop)
    before = await snapshot()
    nothing = await ship(client, headers, shop.tenant.distributor.id)
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (400, "codes.invalid")
    theirs = await ship(client, headers, other.tenant.distributor.id, codes=[batch.boxes[0]])
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (
        404,
        "codes.distributor_not_found",
    )
    await Distributor.filter(id=shop.tenant.other_distributor.id).update(is_active=False)
    stopped = await ship(client, headers, shop.tenant.other_distributor.id, codes=[batch.boxes[0]])
    assert stopped.status_code == 404
    too_many = await ship(client, headers, shop.tenant.distributor.id, codes=["x"] * 2001)
    assert too_many.status_code == 400
    wrong = await ship(client, headers, shop.tenant.distributor.id, codes=[1, 2])
    assert wrong.status_code == 400
    huge = await ship(client, headers, shop.tenant.distributor.id, codes=["A" * 600])
    assert huge.status_code == 400
    no_key = await client.post(
        f"{API}/shipments",
        json={"distributor_id": shop.tenant.distributor.id, "codes": [batch.boxes[0]]},
        headers=await staff_headers(client, shop.tenant.admin_username),
    )
    assert no_key.status_code == 422
    staff = await distributor_staff(client, shop)
    forbidden = await ship(client, staff, shop.tenant.distributor.id, codes=[batch.boxes[0]])
    assert forbidden.status_code == 403
    assert await snapshot() == before


async def test_a_replayed_request_ships_once(client) -> None:
    shop = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water)
    headers = await admin(client, shop)  # one key for both
    body = {"distributor_id": shop.tenant.distributor.id, "codes": batch.boxes[:2]}
    first = await client.post(f"{API}/shipments", json=body, headers=headers)
    again = await client.post(f"{API}/shipments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await CodeShipment.all().count() == 1


async def test_concurrent_shipments_of_one_box_ship_it_once(client) -> None:
    shop = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water, boxes=20)
    headers = await staff_headers(client, shop.tenant.admin_username)
    targets = [shop.tenant.distributor.id, shop.tenant.other_distributor.id] * 3
    # Each request: a range through the middle of the batch, or scanned codes in it.
    bodies = [
        {"ranges": [{"batch_id": batch.id, "from": 5 + n, "to": 12}]}
        if n % 2
        else {"codes": batch.boxes[9:14]}
        for n in range(len(targets))
    ]
    responses = await asyncio.gather(
        *(ship(client, headers, t, **b) for t, b in zip(targets, bodies, strict=True))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, [r.text for r in responses]
    assert statuses.count(409) == len(targets) - 1
    winner = next(r.json() for r in responses if r.status_code == 201)
    shipped = await ProductCode.filter(kind="box", distributor_id__not_isnull=True)
    assert len(shipped) == winner["boxes"]
    assert {c.shipment_id for c in shipped} == {winner["id"]}
    assert await CodeShipment.all().count() == 1


async def test_a_range_of_a_hundred_thousand_boxes_ships_in_one_go(client) -> None:
    shop = await make_shop()
    boxes = MAX_RANGE_BOXES + 1
    batch = await CodeBatch.create(
        brand_id=shop.tenant.brand.id,
        sku_id=shop.filters,
        batch_no="BIG-1",
        boxes=boxes,
        items_per_box=10,
        status=BatchStatus.READY.value,
        ready_at=datetime.now(UTC),
    )
    # The boxes only, written in one statement (the items play no part in shipping).
    if sql.is_postgres():
        await sql.execute(
            "INSERT INTO product_codes (brand_id, batch_id, kind, token, serial, checks)"
            " SELECT $1, $2, 'box', $4 || n::text, n, 0"
            " FROM generate_series(1, $3::int) AS n",
            shop.tenant.brand.id,
            batch.id,
            boxes,
            f"T{batch.id}X",
        )
    else:
        await sql.execute(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $3)"
            " INSERT INTO product_codes (brand_id, batch_id, kind, token, serial, checks)"
            " SELECT $1, $2, 'box', $4 || n, n, 0 FROM s",
            shop.tenant.brand.id,
            batch.id,
            boxes,
            f"T{batch.id}X",
        )
    headers = await admin(client, shop)
    too_big = await ship(
        client,
        headers,
        shop.tenant.distributor.id,
        ranges=[{"batch_id": batch.id, "from": 1, "to": boxes}],
    )
    assert too_big.json()["error"]["details"][0]["reason"] == "range_too_large"
    started = time.perf_counter()
    response = await ship(
        client,
        headers,
        shop.tenant.distributor.id,
        ranges=[{"batch_id": batch.id, "from": 2, "to": boxes}],
    )
    took = time.perf_counter() - started
    assert response.status_code == 201, response.text
    assert (response.json()["boxes"], response.json()["items"]) == (
        MAX_RANGE_BOXES,
        MAX_RANGE_BOXES * 10,
    )
    assert await ProductCode.filter(distributor_id=shop.tenant.distributor.id).count() == (
        MAX_RANGE_BOXES
    )
    assert await ProductCode.filter(batch_id=batch.id, distributor_id=None).values_list(
        "serial", flat=True
    ) == [1]
    print(f"shipped {MAX_RANGE_BOXES} boxes in {took:.2f} s")
    assert took < 30, took  # one statement: about a second on PostgreSQL


# ---- reading shipments and boxes ------------------------------------------------------------


async def test_each_side_sees_only_its_own_shipments_and_boxes(client) -> None:
    shop = await make_shop()
    other = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water, boxes=8)
    foreign = await ready_batch(other.tenant.brand.id, other.water)
    headers = await admin(client, shop)
    mine = await ship(client, headers, shop.tenant.distributor.id, codes=batch.boxes[:2])
    theirs = await ship(client, headers, shop.tenant.other_distributor.id, codes=batch.boxes[2:3])
    assert mine.status_code == theirs.status_code == 201
    await ProductCode.filter(token=batch.boxes[0]).update(
        store_id=shop.tenant.store.id, received_at=datetime.now(UTC)
    )

    listed = (await client.get(f"{API}/shipments", headers=headers)).json()
    assert [s["id"] for s in listed["items"]] == [theirs.json()["id"], mine.json()["id"]]
    page = (await client.get(f"{API}/shipments?limit=1", headers=headers)).json()
    assert page["next_before"] == theirs.json()["id"]
    staff = await distributor_staff(client, shop)
    seen = (await client.get(f"{API}/shipments", headers=staff)).json()
    assert [s["id"] for s in seen["items"]] == [mine.json()["id"]]
    hidden = await client.get(f"{API}/shipments/{theirs.json()['id']}", headers=staff)
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (
        404,
        "codes.shipment_not_found",
    )
    stranger = await staff_headers(client, other.tenant.admin_username)
    assert (await client.get(f"{API}/shipments", headers=stranger)).json()["items"] == []
    assert (
        await client.get(f"{API}/shipments/{mine.json()['id']}", headers=stranger)
    ).status_code == 404

    boxes = (await client.get(f"{API}/boxes?batch_id={batch.id}", headers=headers)).json()
    assert [b["state"] for b in boxes["items"]] == ["received", "shipped", "shipped"] + [
        "unshipped"
    ] * 5
    assert boxes["items"][0]["store"]["name"] == shop.tenant.store.name
    unshipped = await client.get(f"{API}/boxes?state=unshipped&limit=2", headers=headers)
    assert [b["serial"] for b in unshipped.json()["items"]] == [4, 5]
    assert unshipped.json()["next_after"] is not None
    found = await client.get(
        f"{API}/boxes", params={"q": code_url(BASE, batch.items[4])}, headers=headers
    )
    assert [b["serial"] for b in found.json()["items"]] == [2]  # an item finds its box
    by_text = await client.get(
        f"{API}/boxes", params={"q": box_serial(batch.no, 3)}, headers=headers
    )
    assert [b["distributor"]["id"] for b in by_text.json()["items"]] == [
        shop.tenant.other_distributor.id
    ]
    own = (await client.get(f"{API}/boxes", headers=staff)).json()["items"]
    assert [b["serial"] for b in own] == [1, 2]
    strangers = (await client.get(f"{API}/boxes", headers=stranger)).json()["items"]
    assert {b["batch"]["id"] for b in strangers} == {foreign.id}
    bad = await client.get(f"{API}/boxes?state=lost", headers=headers)
    assert bad.status_code == 400


# ---- order deliveries -----------------------------------------------------------------------


async def accepted_order(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, shop: Shop
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order of the shop's store for water purifiers, accepted by its distributor."""
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    response = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": shop.water, "quantity": 3}]},
        headers=idempotent(owner),
    )
    assert response.status_code == 201, response.text
    order = response.json()
    await Order.filter(id=order["id"]).update(status="accepted")
    return owner, order


async def deliver(
    client: httpx.AsyncClient, headers: dict[str, str], order_id: int, codes: list[str]
) -> httpx.Response:
    return await client.post(
        f"{API}/deliveries", json={"order_id": order_id, "codes": codes}, headers=keyed(headers)
    )


async def test_a_distributor_names_the_boxes_its_order_carried(client, sandbox_client) -> None:
    shop = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water)
    headers = await admin(client, shop)
    assert (
        await ship(client, headers, shop.tenant.distributor.id, codes=batch.boxes[:4])
    ).status_code == 201
    owner, order = await accepted_order(client, sandbox_client, shop)
    staff = await distributor_staff(client, shop)

    response = await deliver(
        client, staff, order["id"], [code_url(BASE, t) for t in batch.boxes[:2]]
    )
    assert response.status_code == 201, response.text
    delivery = response.json()
    assert delivery["kind"] == "delivery"
    assert delivery["order"] == {"id": order["id"], "order_no": order["order_no"]}
    assert (delivery["boxes"], delivery["items"]) == (2, 6)
    on_order = await ProductCode.filter(order_id=order["id"]).values_list("serial", flat=True)
    assert sorted(on_order) == [1, 2]

    for viewer in (staff, headers, bearer(owner)):
        boxes = await client.get(f"{API}/deliveries/{order['id']}", headers=viewer)
        assert boxes.status_code == 200, boxes.text
        assert [b["serial"] for b in boxes.json()["items"]] == [1, 2]
    assert (await client.get(f"{API}/deliveries/{order['id']}", headers=staff)).json()["can_add"]
    # Another store's owner, and the other distributor, do not see it.
    other_store_owner = await store_owner(
        client, sandbox_client, await _another_store(shop), persona="stranger"
    )
    assert (
        await client.get(f"{API}/deliveries/{order['id']}", headers=bearer(other_store_owner))
    ).status_code == 404
    other_staff = await distributor_staff(client, shop, shop.tenant.other_distributor)
    assert (
        await client.get(f"{API}/deliveries/{order['id']}", headers=other_staff)
    ).status_code == 404
    # The delivery shows among the distributor's shipments, with the order's boxes.
    detail = (await client.get(f"{API}/shipments/{delivery['id']}", headers=staff)).json()
    assert [b["serial"] for b in detail["box_list"]["items"]] == [1, 2]


async def _another_store(shop: Shop) -> Any:
    from tests.factories import make_store

    return await make_store(shop.tenant)


async def test_boxes_that_may_not_ride_on_the_order_are_refused(client, sandbox_client) -> None:
    shop = await make_shop()
    water = await ready_batch(shop.tenant.brand.id, shop.water, boxes=8)
    filters = await ready_batch(shop.tenant.brand.id, shop.filters)
    headers = await admin(client, shop)
    distributor = shop.tenant.distributor.id
    assert (
        await ship(client, headers, distributor, codes=water.boxes[:5] + filters.boxes[:1])
    ).status_code == 201
    assert (
        await ship(client, headers, shop.tenant.other_distributor.id, codes=water.boxes[5:6])
    ).status_code == 201
    await ProductCode.filter(token=water.boxes[4]).update(
        store_id=shop.tenant.store.id, received_at=datetime.now(UTC)
    )
    _, order = await accepted_order(client, sandbox_client, shop)
    _, second = await accepted_order(client, sandbox_client, shop)
    staff = await distributor_staff(client, shop)
    assert (await deliver(client, staff, second["id"], water.boxes[3:4])).status_code == 201
    before = await snapshot()

    response = await deliver(
        client,
        staff,
        order["id"],
        [
            water.boxes[0],  # fine
            water.boxes[5],  # shipped to the other distributor
            water.boxes[6],  # never shipped
            filters.boxes[0],  # not on the order
            water.boxes[3],  # on the second order
            water.boxes[4],  # received by a store
            water.items[0],  # an item
        ],
    )
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "codes.delivery_refused"
    assert [(d["field"], d["reason"]) for d in error["details"]] == [
        ("codes.1", "box_not_yours"),
        ("codes.2", "box_not_yours"),
        ("codes.3", "box_not_on_order"),
        ("codes.4", "box_on_order"),
        ("codes.5", "box_received"),
        ("codes.6", "item_code"),
    ]
    assert await snapshot() == before
    alone = await deliver(client, staff, order["id"], filters.boxes[:1])
    assert alone.json()["error"]["code"] == "codes.box_not_on_order"

    # Orders not open to naming boxes, and orders of others.
    for status in ("completed", "cancelled", "paid"):
        await Order.filter(id=order["id"]).update(status=status)
        closed = await deliver(client, staff, order["id"], water.boxes[:1])
        assert (closed.status_code, closed.json()["error"]["code"]) == (409, "codes.order_not_open")
    other_staff = await distributor_staff(client, shop, shop.tenant.other_distributor)
    await Order.filter(id=order["id"]).update(status="shipped")
    theirs = await deliver(client, other_staff, order["id"], water.boxes[5:6])
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "order.not_found")
    brand = await deliver(client, headers, order["id"], water.boxes[:1])
    assert brand.status_code == 403
    assert await snapshot() == before


async def test_two_orders_naming_one_box_at_once_get_it_once(client, sandbox_client) -> None:
    shop = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water)
    headers = await admin(client, shop)
    assert (
        await ship(client, headers, shop.tenant.distributor.id, codes=batch.boxes)
    ).status_code == 201
    orders = [(await accepted_order(client, sandbox_client, shop))[1] for _ in range(3)]
    staff = await distributor_staff(client, shop)
    responses = await asyncio.gather(
        *(deliver(client, staff, o["id"], batch.boxes[1:3]) for o in orders)
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "codes.box_on_order"
    }
    owners = await ProductCode.filter(kind="box", order_id__not_isnull=True).values_list(
        "order_id", flat=True
    )
    assert len(owners) == 2 and len(set(owners)) == 1
    assert await CodeShipment.filter(kind="delivery").count() == 1


# ---- ranges from a spreadsheet --------------------------------------------------------------


async def test_an_uploaded_range_sheet_is_read_and_checked_row_by_row(client) -> None:
    shop = await make_shop()
    water = await ready_batch(shop.tenant.brand.id, shop.water, boxes=10)
    filters = await ready_batch(shop.tenant.brand.id, shop.filters, boxes=4)
    headers = await admin(client, shop)
    assert (
        await ship(client, headers, shop.tenant.distributor.id, codes=filters.boxes[3:4])
    ).status_code == 201
    sheet = "\n".join(
        [
            "批次号,起始箱号,结束箱号",
            f"{water.no},1,5",
            f"{water.no},{box_serial(water.no, 6)},{box_serial(water.no, 10)}",
            f"{filters.no},1,4",
            "NOPE,1,2",
            f"{water.no},9,",
        ]
    ).encode("utf-8-sig")
    response = await client.post(
        f"{API}/shipments/upload",
        files={"file": ("ranges.csv", sheet, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [(r["row"], r["from"], r["to"], r["boxes"]) for r in result["ranges"]] == [
        (2, 1, 5, 5),
        (3, 6, 10, 5),
    ]
    assert [p["row"] for p in result["problems"]] == [4, 5, 6]
    assert "已出库" in result["problems"][0]["message"]
    assert "NOPE" in result["problems"][1]["message"]
    before = await snapshot()
    bad = await client.post(
        f"{API}/shipments/upload",
        files={"file": ("x.csv", "箱号\n1\n".encode(), "text/csv")},
        headers=headers,
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "codes.invalid")
    assert "批次号" in bad.json()["error"]["message"]
    junk = await client.post(
        f"{API}/shipments/upload",
        files={"file": ("x.xlsx", b"PK\x03\x04garbage", "application/octet-stream")},
        headers=headers,
    )
    assert junk.status_code == 400
    assert await snapshot() == before
