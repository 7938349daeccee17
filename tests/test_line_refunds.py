"""Refunds by line: units of an order line (damaged, missing) refunded for their share of what
the line paid (after promotions and coupon, largest remainder), their earnings taken back, the
stock put back on request; never past the line's units or what it paid, even concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backend.coupons.models import Coupon
from backend.kernel.money import allocate, unit_shares_upto
from backend.ledger.models import LedgerEntry
from backend.ordering.models import OrderLine
from backend.payments import service as payments_service
from backend.payments.models import Payment, Refund, RefundLine
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    stock_of,
    store_owner,
)
from tests.test_coupons import issued, reduction_coupon
from tests.test_first_order_rewards import pay_offline
from tests.test_free_orders import voucher_order
from tests.test_ledger import assert_ledger_adds_up, balances, earning_shop
from tests.test_payments import _is, complete, eventually, prepay
from tests.test_promotions_admin import reduction
from tests.test_promotions_ordering import running

ORDERS = "/api/v1/orders"


@pytest.mark.parametrize(
    ("total", "units"), [(0, 3), (1, 3), (100, 3), (199_900, 7), (270_001, 5), (5, 5), (4, 9)]
)
def test_unit_shares_are_the_largest_remainder_split_over_units(total: int, units: int) -> None:
    parts = allocate(total, [1] * units)
    for count in range(units + 1):
        assert unit_shares_upto(total, units, count) == sum(parts[:count])
    assert unit_shares_upto(total, units, units) == total


async def refund(
    client: httpx.AsyncClient, headers: dict[str, str], order_id: int, body: dict[str, Any]
) -> httpx.Response:
    key = f"refund-{id(body)}-{len(str(body))}-{asyncio.get_running_loop().time()}"
    return await client.post(
        f"{ORDERS}/{order_id}/refunds",
        json={"reason": "运输破损", **body},
        headers={**headers, "Idempotency-Key": key},
    )


async def detail(client: httpx.AsyncClient, headers: dict[str, str], order_id: int) -> Any:
    response = await client.get(f"{ORDERS}/{order_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def settle_refunds(sandbox_client: httpx.AsyncClient, count: int) -> None:
    await sandbox_client.post("/sandbox/pay/refunds/settle", json={})

    async def all_done() -> bool:
        return await Refund.filter(status="succeeded").count() == count

    await eventually(all_done)


async def paid_by_wechat(
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
    shop: Shop,
    lines: list[dict[str, int]],
    **extra: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    placed = await client.post(ORDERS, json={"lines": lines, **extra}, headers=idempotent(owner))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    started = await prepay(client, owner, order)
    await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(order["id"], "paid"))
    return owner, order


async def test_units_refund_their_share_of_what_the_line_paid_and_add_up_exactly(
    client, sandbox_client, live_api
) -> None:
    shop = await earning_shop(client)  # 1 point per yuan, 2% rebate: earned once paid
    await running(client, shop, reduction())  # 满3000减300, spread over the lines
    await issued(client, shop, reduction_coupon())  # 满3000减200
    [coupon] = await Coupon.all()
    owner, order = await paid_by_wechat(
        client,
        sandbox_client,
        shop,
        [{"sku_id": shop.water, "quantity": 3}, {"sku_id": shop.filters, "quantity": 20}],
        coupon_id=coupon.id,
    )
    distributor = await distributor_admin(client, shop)
    seen = await detail(client, distributor, order["id"])
    water, filters = seen["lines"]
    # What the lines paid: after the promotion's 300.00 and the coupon's 200.00, by share.
    assert water["payable_fen"] + filters["payable_fen"] == order["payable_fen"]
    assert order["coupon_discount_fen"] == 20_000
    assert water["payable_fen"] < water["list_amount_fen"]
    assert (water["refundable_quantity"], water["refundable_fen"]) == (3, water["payable_fen"])
    assert water["next_unit_refund_fen"] == unit_shares_upto(water["payable_fen"], 3, 1)
    points, rebate = order["points_earned"], order["rebate_fen"]
    assert await balances(client, owner) == {"points": points, "rebate": rebate}
    stock_before = await stock_of(shop)

    # One broken purifier, put back into stock; then the other two, kept (scrapped).
    first = await refund(
        client,
        distributor,
        order["id"],
        {"lines": [{"line_id": water["id"], "quantity": 1}], "restock": True},
    )
    assert first.status_code == 201, first.text
    one = unit_shares_upto(water["payable_fen"], 3, 1)
    assert first.json()["amount_fen"] == one
    assert first.json()["lines"] == [{"line_id": water["id"], "quantity": 1, "amount_fen": one}]
    await settle_refunds(sandbox_client, 1)
    assert await stock_of(shop) == stock_before + 1
    [entry_points] = await LedgerEntry.filter(cause="refund", amount__lt=0).filter(
        account__kind="points"
    )
    assert entry_points.cause_id == first.json()["id"]
    assert entry_points.amount == -(points * one // order["payable_fen"])

    rest = await refund(
        client, distributor, order["id"], {"lines": [{"line_id": water["id"], "quantity": 2}]}
    )
    assert rest.status_code == 201, rest.text
    assert one + rest.json()["amount_fen"] == water["payable_fen"]
    await settle_refunds(sandbox_client, 2)
    assert await stock_of(shop) == stock_before + 1  # not asked to put these back
    seen = await detail(client, distributor, order["id"])
    assert seen["lines"][0] == {
        **seen["lines"][0],
        "refunded_quantity": 3,
        "refunded_fen": water["payable_fen"],
        "refundable_quantity": 0,
        "refundable_fen": 0,
        "next_unit_refund_fen": 0,
    }
    again = await refund(
        client, distributor, order["id"], {"lines": [{"line_id": water["id"], "quantity": 1}]}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order.refund_quantity_exceeded"

    # The filters in three uneven steps: all lines refunded add up to what the order paid.
    for quantity in (7, 6, 7):
        step = await refund(
            client,
            distributor,
            order["id"],
            {"lines": [{"line_id": filters["id"], "quantity": quantity}]},
        )
        assert step.status_code == 201, step.text
    await settle_refunds(sandbox_client, 5)
    money = await payments_service.order_money(order["id"])
    assert money["refunded_fen"] == order["payable_fen"] and money["net_paid_fen"] == 0
    assert sum(line.refunded_fen for line in await OrderLine.all()) == order["payable_fen"]
    assert await balances(client, owner) == {"points": 0, "rebate": 0}
    await assert_ledger_adds_up()


async def test_concurrent_line_refunds_never_pass_the_lines_units_or_paid_amount(
    client, sandbox_client, live_api
) -> None:
    shop = await make_shop()
    await running(
        client,
        shop,
        reduction(reward={"kind": "reduction", "threshold_fen": 300_000, "amount_off_fen": 30_001}),
    )
    _, order = await paid_by_wechat(
        client, sandbox_client, shop, [{"sku_id": shop.water, "quantity": 5}]
    )
    distributor = await distributor_admin(client, shop)
    [line] = (await detail(client, distributor, order["id"]))["lines"]
    assert line["payable_fen"] == 5 * 199_900 - 30_001  # not a multiple of 5
    responses = await asyncio.gather(
        *(
            client.post(
                f"{ORDERS}/{order['id']}/refunds",
                json={"reason": "少发", "lines": [{"line_id": line["id"], "quantity": 1}]},
                headers={**distributor, "Idempotency-Key": f"unit-{n}"},
            )
            for n in range(20)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] * 5 + [409] * 15
    refused = [r.json()["error"] for r in responses if r.status_code == 409]
    assert {e["code"] for e in refused} == {"order.refund_quantity_exceeded"}
    assert all("还可退 0 件" in e["message"] for e in refused)
    amounts = sorted(r.json()["amount_fen"] for r in responses if r.status_code == 201)
    assert sum(amounts) == line["payable_fen"] and amounts[-1] - amounts[0] <= 1
    assert await Refund.all().count() == 5 == await RefundLine.all().count()
    stored = await OrderLine.get(id=line["id"])
    assert (stored.refunded_quantity, stored.refunded_fen) == (5, line["payable_fen"])
    assert (await Payment.get(order_id=order["id"])).refund_reserved_fen == line["payable_fen"]


async def test_a_failed_refund_makes_its_units_refundable_again(
    client, sandbox_client, live_api
) -> None:
    shop = await make_shop()
    _, order = await paid_by_wechat(
        client, sandbox_client, shop, [{"sku_id": shop.water, "quantity": 2}]
    )
    distributor = await distributor_admin(client, shop)
    [line] = (await detail(client, distributor, order["id"]))["lines"]
    stock = await stock_of(shop)
    asked = await refund(
        client,
        distributor,
        order["id"],
        {"lines": [{"line_id": line["id"], "quantity": 2}], "restock": True},
    )
    assert asked.status_code == 201, asked.text
    await sandbox_client.post("/sandbox/pay/refunds/settle", json={"status": "CLOSED"})

    async def failed() -> bool:
        return await Refund.filter(status="failed").count() == 1

    await eventually(failed)
    stored = await OrderLine.get(id=line["id"])
    assert (stored.refunded_quantity, stored.refunded_fen) == (0, 0)
    assert (await Payment.get(order_id=order["id"])).refund_reserved_fen == 0
    assert await stock_of(shop) == stock  # nothing came back, so nothing goes into stock


async def test_bad_line_refunds_are_refused_with_stable_codes_and_change_nothing(
    client, sandbox_client, live_api
) -> None:
    shop = await make_shop()
    _, order = await paid_by_wechat(
        client, sandbox_client, shop, [{"sku_id": shop.water, "quantity": 2}]
    )
    _, other = await paid_by_wechat(
        client, sandbox_client, shop, [{"sku_id": shop.water, "quantity": 1}]
    )
    foreign = await make_shop()
    _, theirs = await paid_by_wechat(
        client, sandbox_client, foreign, [{"sku_id": foreign.water, "quantity": 1}]
    )
    distributor = await distributor_admin(client, shop)
    [line] = (await detail(client, distributor, order["id"]))["lines"]
    [other_line] = (await detail(client, distributor, other["id"]))["lines"]
    their_line = await OrderLine.get(order_id=theirs["id"])
    cases = [
        (
            {"lines": [{"line_id": 987_654, "quantity": 1}]},
            order["id"],
            404,
            "order.line_not_found",
        ),
        (
            {"lines": [{"line_id": other_line["id"], "quantity": 1}]},
            order["id"],
            404,
            "order.line_not_found",
        ),
        (
            {"lines": [{"line_id": their_line.id, "quantity": 1}]},
            theirs["id"],
            404,
            "order.not_found",
        ),
        (
            {"lines": [{"line_id": line["id"], "quantity": 3}]},
            order["id"],
            409,
            "order.refund_quantity_exceeded",
        ),
        (
            # A good line first, then one too many: the good one is not taken either.
            {
                "lines": [
                    {"line_id": line["id"], "quantity": 1},
                    {"line_id": 987_654, "quantity": 1},
                ]
            },
            order["id"],
            404,
            "order.line_not_found",
        ),
        (
            {"lines": [{"line_id": line["id"], "quantity": 1}], "amount_fen": 100},
            order["id"],
            422,
            None,
        ),
        (
            {
                "lines": [
                    {"line_id": line["id"], "quantity": 1},
                    {"line_id": line["id"], "quantity": 1},
                ]
            },
            order["id"],
            422,
            None,
        ),
        ({"lines": [{"line_id": line["id"], "quantity": 0}]}, order["id"], 422, None),
        ({"lines": []}, order["id"], 422, None),
        ({"amount_fen": 100, "restock": True}, order["id"], 422, None),
        ({}, order["id"], 422, None),
    ]
    for body, order_id, status, code in cases:
        response = await refund(client, distributor, order_id, body)
        assert response.status_code == status, (body, response.text)
        if code is not None:
            assert response.json()["error"]["code"] == code, body
    assert await Refund.all().count() == 0 and await RefundLine.all().count() == 0
    assert all(
        (stored.refunded_quantity, stored.refunded_fen) == (0, 0)
        for stored in await OrderLine.all()
    )
    assert {p.refund_reserved_fen for p in await Payment.all()} == {0}


async def test_an_offline_paid_order_refunds_units_at_once(client, sandbox_client) -> None:
    shop = await earning_shop(client)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    placed = await client.post(
        ORDERS,
        json={"lines": [{"sku_id": shop.water, "quantity": 2}]},
        headers=idempotent(owner),
    )
    order = placed.json()
    assert (await pay_offline(client, shop, order["id"])).status_code == 201
    distributor = await distributor_admin(client, shop)
    [line] = (await detail(client, distributor, order["id"]))["lines"]
    stock = await stock_of(shop)
    done = await refund(
        client,
        distributor,
        order["id"],
        {"lines": [{"line_id": line["id"], "quantity": 1}], "restock": True},
    )
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "succeeded" and done.json()["amount_fen"] == 199_900
    assert await stock_of(shop) == stock + 1
    assert await balances(client, owner) == {
        "points": order["points_earned"] - order["points_earned"] // 2,
        "rebate": order["rebate_fen"] - order["rebate_fen"] // 2,
    }
    # A goodwill amount on top still works, and never past what is left.
    goodwill = await refund(client, distributor, order["id"], {"amount_fen": 199_901})
    assert goodwill.status_code == 409
    assert goodwill.json()["error"]["code"] == "payments.refund_exceeds_paid"
    await assert_ledger_adds_up()


async def test_units_of_an_order_that_cost_nothing_take_back_their_share_of_its_earnings(
    client, sandbox_client, pay_sandbox_state
) -> None:
    """No money to measure by: the units' list value of all bought is the share taken back,
    0 fen is recorded refunded at once, and WeChat is never asked."""
    shop, owner, order = await voucher_order(client, sandbox_client)
    distributor = await distributor_admin(client, shop)
    [line] = (await detail(client, distributor, order["id"]))["lines"]
    stock = await stock_of(shop, shop.filters)
    done = await refund(
        client,
        distributor,
        order["id"],
        {"lines": [{"line_id": line["id"], "quantity": 4}], "restock": True},
    )
    assert done.status_code == 201, done.text
    assert (done.json()["status"], done.json()["amount_fen"]) == ("succeeded", 0)
    assert await stock_of(shop, shop.filters) == stock + 4
    # 4 of 10 filters: 400 of the 1000 points and 800 of the 2000 fen rebate go back.
    assert await balances(client, owner) == {"points": 600, "rebate": 1_200}
    assert pay_sandbox_state.refunds == {} and pay_sandbox_state.transactions == {}
    cancelled = await client.post(
        f"{ORDERS}/{order['id']}/cancel", json={"reason": "不要了"}, headers=bearer(owner)
    )
    assert cancelled.status_code == 200, cancelled.text
    # The cancel puts back only the 6 units no refund took.
    assert await stock_of(shop, shop.filters) == stock + 10
    assert await balances(client, owner) == {"points": 0, "rebate": 0}
    late = await refund(
        client, distributor, order["id"], {"lines": [{"line_id": line["id"], "quantity": 1}]}
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "payments.order_not_refundable"
    await assert_ledger_adds_up()


async def test_an_idempotency_key_replays_only_on_the_order_it_was_used_for(
    client, sandbox_client
) -> None:
    """The key names one request to one order: the same key and body sent to another order is
    a conflict, not the first order's refund answered as if the second had been refunded."""
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    orders = []
    for _ in range(2):
        placed = await client.post(
            ORDERS,
            json={"lines": [{"sku_id": shop.water, "quantity": 1}]},
            headers=idempotent(owner),
        )
        assert placed.status_code == 201, placed.text
        orders.append(placed.json())
        assert (await pay_offline(client, shop, orders[-1]["id"])).status_code == 201
    first, second = orders
    distributor = await distributor_admin(client, shop)
    headers = {**distributor, "Idempotency-Key": "refund-damaged"}
    body = {"reason": "破损", "amount_fen": 100}
    done = await client.post(f"{ORDERS}/{first['id']}/refunds", json=body, headers=headers)
    assert done.status_code == 201, done.text
    again = await client.post(f"{ORDERS}/{first['id']}/refunds", json=body, headers=headers)
    assert (again.status_code, again.json()["id"]) == (201, done.json()["id"])

    elsewhere = await client.post(f"{ORDERS}/{second['id']}/refunds", json=body, headers=headers)
    assert elsewhere.status_code == 409, elsewhere.text
    assert elsewhere.json()["error"]["code"] == "idempotency.key_reused"
    assert await Refund.filter(order_id=second["id"]).count() == 0
    assert await Refund.filter(order_id=first["id"]).count() == 1
    assert (await Payment.get(order_id=second["id"])).refund_reserved_fen == 0


async def scoped_earnings_order(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient
) -> tuple[Shop, dict[str, str], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """1.3 points a yuan and a 2.5% rebate on the purifiers only; 4 purifiers (A) and 10
    filters (B) ordered and paid offline (its refunds are done at once)."""
    shop = await make_shop()
    only_a = {"sku_ids": [shop.water]}
    points = {"kind": "points", "per_yuan": "1.3"}
    await running(client, shop, reduction(name="净水器积分", reward=points, scope=only_a))
    rebate = {"kind": "rebate", "percent": "2.5"}
    await running(client, shop, reduction(name="净水器返利", reward=rebate, scope=only_a))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    placed = await client.post(
        ORDERS,
        json={
            "lines": [
                {"sku_id": shop.water, "quantity": 4},
                {"sku_id": shop.filters, "quantity": 10},
            ]
        },
        headers=idempotent(owner),
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (await pay_offline(client, shop, order["id"])).status_code == 201
    distributor = await distributor_admin(client, shop)
    water, filters = (await detail(client, distributor, order["id"]))["lines"]
    return shop, owner, order, water, filters


async def test_a_line_refund_takes_back_only_what_its_units_earned(client, sandbox_client) -> None:
    """Points and rebate on SKU A only: refunding every unit of B takes back nothing, half of
    A takes back half of what A earned (largest remainder over its units), the rest the rest;
    each take-back is a ledger entry naming its refund."""
    shop, owner, order, water, filters = await scoped_earnings_order(client, sandbox_client)
    # 4 × 1,999.00 = 7,996.00 yuan on A: 10,394 points (floored) and 199.90 yuan of rebate.
    assert (order["points_earned"], order["rebate_fen"]) == (10_394, 19_990)
    assert (water["points_earned"], water["rebate_fen"]) == (10_394, 19_990)
    assert (filters["points_earned"], filters["rebate_fen"]) == (0, 0)
    assert await balances(client, owner) == {"points": 10_394, "rebate": 19_990}
    distributor = await distributor_admin(client, shop)

    all_b = await refund(
        client, distributor, order["id"], {"lines": [{"line_id": filters["id"], "quantity": 10}]}
    )
    assert all_b.status_code == 201, all_b.text
    assert all_b.json()["status"] == "succeeded"
    assert await balances(client, owner) == {"points": 10_394, "rebate": 19_990}
    assert await LedgerEntry.filter(cause="refund").count() == 0

    half_a = await refund(
        client, distributor, order["id"], {"lines": [{"line_id": water["id"], "quantity": 2}]}
    )
    assert half_a.status_code == 201, half_a.text
    # 10,394 over 4 units: 2,599 + 2,599 + 2,598 + 2,598; 19,990: 4,998 + 4,998 + 4,997 + 4,997.
    assert await balances(client, owner) == {
        "points": 10_394 - 5_198,
        "rebate": 19_990 - 9_996,
    }
    taken = await LedgerEntry.filter(cause="refund").prefetch_related("account")
    assert {(e.account.kind, e.amount, e.cause_id) for e in taken} == {
        ("points", -5_198, half_a.json()["id"]),
        ("rebate", -9_996, half_a.json()["id"]),
    }

    rest = await refund(
        client, distributor, order["id"], {"lines": [{"line_id": water["id"], "quantity": 2}]}
    )
    assert rest.status_code == 201, rest.text
    assert await balances(client, owner) == {"points": 0, "rebate": 0}
    money = await payments_service.order_money(order["id"])
    assert money["refunded_fen"] == order["payable_fen"]
    assert await LedgerEntry.filter(cause="refund", cause_id=rest.json()["id"]).count() == 2
    await assert_ledger_adds_up()


async def test_goodwill_amounts_and_orders_placed_before_line_earnings_use_the_money_share(
    client, sandbox_client
) -> None:
    """An amount-only refund takes back by the money share; an order whose lines do not
    keep their earnings (placed before they did) takes back by the money share even when
    units are refunded; either way giving back everything takes back exactly everything."""
    shop, owner, order, _, filters = await scoped_earnings_order(client, sandbox_client)
    distributor = await distributor_admin(client, shop)
    paid = order["payable_fen"]  # 7,996.00 + 1,000.00 yuan
    goodwill = await refund(client, distributor, order["id"], {"amount_fen": paid // 10})
    assert goodwill.status_code == 201, goodwill.text
    assert await balances(client, owner) == {
        "points": 10_394 - 10_394 * (paid // 10) // paid,
        "rebate": 19_990 - 19_990 * (paid // 10) // paid,
    }
    # As an order placed before lines kept their earnings: every line 0.
    await OrderLine.filter(order_id=order["id"]).update(points_earned=0, rebate_fen=0)
    all_b = await refund(
        client, distributor, order["id"], {"lines": [{"line_id": filters["id"], "quantity": 10}]}
    )
    assert all_b.status_code == 201, all_b.text
    refunded = paid // 10 + filters["payable_fen"]
    assert await balances(client, owner) == {
        "points": 10_394 - 10_394 * refunded // paid,
        "rebate": 19_990 - 19_990 * refunded // paid,
    }
    left = paid - refunded
    last = await refund(client, distributor, order["id"], {"amount_fen": left})
    assert last.status_code == 201, last.text
    assert await balances(client, owner) == {"points": 0, "rebate": 0}
    await assert_ledger_adds_up()
