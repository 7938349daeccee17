"""What the console's order page needs of the API: the actions the viewer may take (by the rules
the service enforces), shipping with a carrier and tracking number, the order's timeline with
who and when, the store's contact, and a refund preview computed as the refund is; wrong
states and other tenants refused with nothing changed."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from backend.identity.models import Role
from backend.ordering.models import Order, OrderEvent, OrderLine
from backend.payments.models import Payment, Refund
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_staff,
    make_tenant,
    staff_headers,
    stock_of,
    store_owner,
)
from tests.test_first_order_rewards import pay_offline
from tests.test_line_refunds import detail, refund

ORDERS = "/api/v1/orders"


async def placed(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, shop: Shop, **quantities: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An unpaid order of the shop's store (water purifiers and filters), and its owner."""
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    lines = [
        {"sku_id": getattr(shop, name), "quantity": quantity}
        for name, quantity in quantities.items()
    ]
    response = await client.post(ORDERS, json={"lines": lines}, headers=idempotent(owner))
    assert response.status_code == 201, response.text
    return owner, response.json()


async def staff(client: httpx.AsyncClient, shop: Shop, role: Role) -> dict[str, str]:
    username = await make_staff(shop.tenant.brand.id, role, shop.tenant.distributor.id)
    return await staff_headers(client, username)


async def other_distributors_admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    """An admin of the same brand's other distributor: the order is not theirs."""
    username = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.other_distributor.id
    )
    return await staff_headers(client, username)


async def snapshot(order_id: int) -> tuple[Any, ...]:
    """Everything an order action or refund could change."""
    order = await Order.get(id=order_id)
    lines = await OrderLine.filter(order_id=order_id).order_by("id")
    return (
        order.status,
        order.carrier,
        order.tracking_no,
        order.logistics_note,
        order.cancel_reason,
        await OrderEvent.filter(order_id=order_id).count(),
        await Payment.filter(order_id=order_id).count(),
        await Refund.filter(order_id=order_id).count(),
        [(line.refunded_quantity, line.refunded_fen) for line in lines],
    )


async def test_the_detail_names_the_store_and_offers_what_each_viewer_may_do(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    await shop.tenant.store.update_from_dict({"contact_name": "李娟"}).save()
    owner, order = await placed(client, sandbox_client, shop, water=1, filters=20)
    admin = await staff(client, shop, Role.DISTRIBUTOR_ADMIN)
    clerk = await staff(client, shop, Role.DISTRIBUTOR_STAFF)

    unpaid = await detail(client, clerk, order["id"])
    store = shop.tenant.store
    assert unpaid["store"] == {
        "id": store.id,
        "name": store.name,
        "contact_name": "李娟",
        "phone": store.phone,
        "address": "文一西路1号",
    }
    assert unpaid["salesperson"]["name"] == "王磊"
    water, filters = unpaid["lines"]
    assert (water["case_size"], filters["case_size"]) == (1, 10)
    assert unpaid["actions"] == ["record_offline_payment", "cancel"]
    assert (await detail(client, bearer(owner), order["id"]))["actions"] == ["cancel"]

    assert (await pay_offline(client, shop, order["id"])).status_code == 201
    paid = await detail(client, admin, order["id"])
    assert paid["actions"] == ["accept", "refund_lines", "refund_amount"]
    assert paid["refundable_fen"] == order["payable_fen"]
    # Staff accept and ship but do not refund; the store may still withdraw before acceptance.
    assert (await detail(client, clerk, order["id"]))["actions"] == ["accept"]
    assert (await detail(client, bearer(owner), order["id"]))["actions"] == ["cancel"]


async def test_every_action_offered_succeeds_and_every_other_is_refused(
    client, sandbox_client
) -> None:
    """Walk an order through its life as distributor staff: at each status the offered
    actions are exactly those the API accepts."""
    shop = await make_shop()
    _, order = await placed(client, sandbox_client, shop, water=1)
    clerk = await staff(client, shop, Role.DISTRIBUTOR_STAFF)
    bodies: dict[str, dict[str, Any]] = {
        "accept": {},
        "ship": {"carrier": "own"},
        "deliver": {},
        "offline-payment": {"note": "现金"},
        "cancel": {"reason": "门店电话取消"},
    }
    route = {"record_offline_payment": "offline-payment"}
    for expected_next in ("record_offline_payment", "accept", "ship", "deliver", None):
        offered = {route.get(a, a) for a in (await detail(client, clerk, order["id"]))["actions"]}
        for action, body in bodies.items():
            if action in offered:
                continue
            before = await snapshot(order["id"])
            refused = await client.post(
                f"{ORDERS}/{order['id']}/{action}", json=body, headers=clerk
            )
            assert refused.status_code in {403, 409}, (action, refused.text)
            assert await snapshot(order["id"]) == before
        if expected_next is None:
            assert offered == set()
            break
        step = route.get(expected_next, expected_next)
        assert step in offered
        done = await client.post(f"{ORDERS}/{order['id']}/{step}", json=bodies[step], headers=clerk)
        assert done.status_code in {200, 201}, done.text


async def test_shipping_keeps_the_carrier_and_tracking_number(client, sandbox_client) -> None:
    shop = await make_shop()
    _, order = await placed(client, sandbox_client, shop, water=1)
    await pay_offline(client, shop, order["id"])
    clerk = await staff(client, shop, Role.DISTRIBUTOR_STAFF)
    url = f"{ORDERS}/{order['id']}"

    early = await client.post(
        f"{url}/ship", json={"carrier": "sf", "tracking_no": "SF100"}, headers=clerk
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "order.illegal_transition"
    assert (await client.post(f"{url}/accept", headers=clerk)).status_code == 200
    before = await snapshot(order["id"])
    refusals = [
        ({"carrier": "sf"}, "request.invalid"),
        ({"tracking_no": "SF100"}, "request.invalid"),
        ({}, "request.invalid"),
        ({"carrier": "sf", "tracking_no": "SF 100"}, "request.invalid"),
        ({"carrier": "no-such-carrier", "tracking_no": "SF100"}, "request.invalid"),
    ]
    for body, code in refusals:
        response = await client.post(f"{url}/ship", json=body, headers=clerk)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == code, body
    other = await other_distributors_admin(client, shop)
    stranger = await client.post(
        f"{url}/ship", json={"carrier": "sf", "tracking_no": "SF100"}, headers=other
    )
    assert stranger.status_code == 404
    assert await snapshot(order["id"]) == before

    shipped = await client.post(
        f"{url}/ship", json={"carrier": "sf", "tracking_no": "SF1402026"}, headers=clerk
    )
    assert shipped.status_code == 200, shipped.text
    seen = shipped.json()
    assert (seen["status"], seen["carrier"], seen["tracking_no"]) == (
        "shipped",
        "sf",
        "SF1402026",
    )
    # Readers of the note alone (the mini-program) see carrier and number too.
    assert seen["logistics_note"] == "顺丰速运 SF1402026"


async def test_self_delivery_needs_no_tracking_number(client, sandbox_client) -> None:
    shop = await make_shop()
    _, order = await placed(client, sandbox_client, shop, water=1)
    await pay_offline(client, shop, order["id"])
    clerk = await staff(client, shop, Role.DISTRIBUTOR_STAFF)
    await client.post(f"{ORDERS}/{order['id']}/accept", headers=clerk)
    shipped = await client.post(
        f"{ORDERS}/{order['id']}/ship", json={"carrier": "own"}, headers=clerk
    )
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["carrier"], shipped.json()["tracking_no"]) == ("own", None)


async def test_the_distributor_cancels_an_unpaid_order_but_never_a_paid_one(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    clerk = await staff(client, shop, Role.DISTRIBUTOR_STAFF)
    _, unpaid = await placed(client, sandbox_client, shop, water=2)
    _, paid = await placed(client, sandbox_client, shop, water=1)
    await pay_offline(client, shop, paid["id"])
    assert await stock_of(shop) == 47

    other = await other_distributors_admin(client, shop)
    before = await snapshot(unpaid["id"])
    stranger = await client.post(
        f"{ORDERS}/{unpaid['id']}/cancel", json={"reason": "x"}, headers=other
    )
    assert stranger.status_code == 404
    no_reason = await client.post(
        f"{ORDERS}/{unpaid['id']}/cancel", json={"reason": " "}, headers=clerk
    )
    assert no_reason.status_code == 422
    assert await snapshot(unpaid["id"]) == before

    cancelled = await client.post(
        f"{ORDERS}/{unpaid['id']}/cancel", json={"reason": "门店电话取消"}, headers=clerk
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_reason"] == "门店电话取消"
    assert await stock_of(shop) == 49

    before = await snapshot(paid["id"])
    refused = await client.post(
        f"{ORDERS}/{paid['id']}/cancel", json={"reason": "缺货"}, headers=clerk
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "order.action_not_allowed"
    assert await snapshot(paid["id"]) == before
    assert await stock_of(shop) == 49


async def test_the_refund_preview_is_what_the_refund_then_takes(client, sandbox_client) -> None:
    shop = await make_shop()
    _, order = await placed(client, sandbox_client, shop, water=3, filters=20)
    await pay_offline(client, shop, order["id"])
    admin = await distributor_admin(client, shop)
    water, filters = (await detail(client, admin, order["id"]))["lines"]
    asked = [{"line_id": water["id"], "quantity": 2}, {"line_id": filters["id"], "quantity": 7}]
    url = f"{ORDERS}/{order['id']}/refund-preview"

    before = await snapshot(order["id"])
    preview = await client.post(url, json={"lines": asked}, headers=admin)
    assert preview.status_code == 200, preview.text
    previewed = preview.json()
    assert previewed["refundable_fen"] == order["payable_fen"]
    assert await snapshot(order["id"]) == before  # a preview writes nothing

    done = await refund(client, admin, order["id"], {"lines": asked})
    assert done.status_code == 201, done.text
    assert done.json()["amount_fen"] == previewed["amount_fen"]
    assert {(line["line_id"], line["amount_fen"]) for line in done.json()["lines"]} == {
        (line["line_id"], line["amount_fen"]) for line in previewed["lines"]
    }
    # The last purifier: the preview says what the detail's next unit says.
    water = (await detail(client, admin, order["id"]))["lines"][0]
    last = await client.post(
        url, json={"lines": [{"line_id": water["id"], "quantity": 1}]}, headers=admin
    )
    assert last.json()["amount_fen"] == water["next_unit_refund_fen"] == water["refundable_fen"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"lines": [{"line_id": 0, "quantity": 1}]}, 422, "request.invalid"),
        ({"lines": []}, 422, "request.invalid"),
        ("too_many", 409, "order.refund_quantity_exceeded"),
        ("unknown_line", 404, "order.line_not_found"),
    ],
)
async def test_bad_refund_previews_are_refused(client, sandbox_client, body, status, code) -> None:
    shop = await make_shop()
    _, order = await placed(client, sandbox_client, shop, water=2)
    await pay_offline(client, shop, order["id"])
    admin = await distributor_admin(client, shop)
    [line] = (await detail(client, admin, order["id"]))["lines"]
    if body == "too_many":
        body = {"lines": [{"line_id": line["id"], "quantity": 3}]}
    elif body == "unknown_line":
        body = {"lines": [{"line_id": line["id"] + 1000, "quantity": 1}]}
    response = await client.post(f"{ORDERS}/{order['id']}/refund-preview", json=body, headers=admin)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def test_refund_previews_follow_the_refunds_rules(client, sandbox_client) -> None:
    shop = await make_shop()
    _, unpaid = await placed(client, sandbox_client, shop, water=1)
    admin = await distributor_admin(client, shop)
    [line] = (await detail(client, admin, unpaid["id"]))["lines"]
    body = {"lines": [{"line_id": line["id"], "quantity": 1}]}
    url = f"{ORDERS}/{unpaid['id']}/refund-preview"
    nothing = await client.post(url, json=body, headers=admin)
    assert nothing.status_code == 409
    assert nothing.json()["error"]["code"] == "payments.nothing_to_refund"
    await pay_offline(client, shop, unpaid["id"])
    clerk = await staff(client, shop, Role.DISTRIBUTOR_STAFF)
    assert (await client.post(url, json=body, headers=clerk)).status_code == 403
    other = await other_distributors_admin(client, shop)
    assert (await client.post(url, json=body, headers=other)).status_code == 404
    stranger = await make_tenant()
    brand_admin = await staff_headers(client, stranger.admin_username)
    assert (await client.get(f"{ORDERS}/{unpaid['id']}", headers=brand_admin)).status_code == 404


async def test_the_timeline_tells_who_did_what_and_when_in_a_fixed_number_of_queries(
    client, sandbox_client, caplog
) -> None:
    shop = await make_shop()
    owner, order = await placed(client, sandbox_client, shop, water=3)
    url = f"{ORDERS}/{order['id']}"
    await pay_offline(client, shop, order["id"])
    clerk_name = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_STAFF, shop.tenant.distributor.id
    )
    clerk = await staff_headers(client, clerk_name)
    admin = await distributor_admin(client, shop)
    await client.post(f"{url}/accept", headers=clerk)
    await client.post(
        f"{url}/ship", json={"carrier": "zto", "tracking_no": "ZT778899"}, headers=clerk
    )
    await client.post(f"{url}/deliver", headers=clerk)
    [line] = (await detail(client, admin, order["id"]))["lines"]

    async def timeline() -> tuple[list[dict[str, Any]], int]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            response = await client.get(f"{url}/timeline", headers=clerk)
        assert response.status_code == 200, response.text
        queries = [r for r in caplog.records if r.name == "tortoise.db_client"]
        return response.json()["items"], len(queries)

    body = {"lines": [{"line_id": line["id"], "quantity": 1}]}
    await refund(client, admin, order["id"], body)
    _, queries_with_one_refund = await timeline()
    await refund(client, admin, order["id"], body)
    await refund(client, admin, order["id"], {"amount_fen": 100})
    items, queries_with_three = await timeline()
    assert queries_with_three == queries_with_one_refund  # never a query per entry

    kinds = [item["kind"] for item in items]
    assert kinds == [
        "placed",
        "offline_paid",
        "accepted",
        "shipped",
        "delivered",
        "refund",
        "refund",
        "refund",
    ]
    placed_entry, paid, accepted, shipped, *_, goodwill = items
    assert placed_entry["actor_user_id"] == owner["identity"]["user_id"]
    assert paid["amount_fen"] == order["payable_fen"]
    assert (accepted["actor_name"], accepted["actor_role"]) == (clerk_name, "distributor_staff")
    assert (shipped["carrier"], shipped["tracking_no"]) == ("zto", "ZT778899")
    assert (goodwill["amount_fen"], goodwill["status"], goodwill["reason"]) == (
        100,
        "succeeded",
        "运输破损",
    )
    assert items[5]["units"] == 1 and items[5]["actor_role"] is None
    assert [item["at"] for item in items] == sorted(item["at"] for item in items)

    other = await other_distributors_admin(client, shop)
    assert (await client.get(f"{url}/timeline", headers=other)).status_code == 404


async def test_a_cancelled_orders_timeline_gives_its_reason(client, sandbox_client) -> None:
    shop = await make_shop()
    owner, order = await placed(client, sandbox_client, shop, water=1)
    await client.post(
        f"{ORDERS}/{order['id']}/cancel", json={"reason": "买错了"}, headers=bearer(owner)
    )
    response = await client.get(f"{ORDERS}/{order['id']}/timeline", headers=bearer(owner))
    placed_entry, cancelled = response.json()["items"]
    assert placed_entry["kind"] == "placed"
    assert (cancelled["kind"], cancelled["reason"], cancelled["actor_role"]) == (
        "cancelled",
        "买错了",
        "store_owner",
    )
