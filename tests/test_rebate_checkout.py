"""The rebate balance pays for products no promotion priced, at checkout: locked, spent once,
given back when the order is cancelled; never below zero, even when spent concurrently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from backend.ledger import service as ledger_service
from backend.ledger.models import Account, AccountKind, EntryCause, LedgerEntry
from backend.ordering.models import Order, OrderLine
from tests.factories import Shop, bearer, idempotent, make_shop, store_owner
from tests.test_promotions_admin import reduction
from tests.test_promotions_ordering import running

ORDERS = "/api/v1/orders"


async def with_rebate(shop: Shop, fen: int) -> None:
    """Credit the store rebate, as a paid order's promotion would."""
    await ledger_service.post(
        brand_id=shop.tenant.brand.id,
        store_id=shop.tenant.store.id,
        kind=AccountKind.REBATE,
        amount=fen,
        cause=EntryCause.ORDER_PAID,
        cause_id=800_000 + fen,
        order_id=800_000 + fen,
        now=datetime.now(UTC),
    )


async def rebate_of(shop: Shop) -> int:
    account = await Account.get_or_none(store_id=shop.tenant.store.id, kind="rebate")
    return 0 if account is None else account.balance


def purifier_and_filters(shop: Shop) -> dict[str, Any]:
    return {
        "lines": [
            {"sku_id": shop.water, "quantity": 1},  # 1999.00
            {"sku_id": shop.filters, "quantity": 10},  # 10 × 100.00
        ]
    }


async def test_the_rebate_pays_only_for_lines_no_promotion_priced(client, sandbox_client) -> None:
    shop = await make_shop()
    # Filters at a special price: the rebate may pay only for the purifier.
    await running(
        client,
        shop,
        reduction(
            name="滤芯特价",
            step=1,
            scope={"sku_ids": [shop.filters]},
            reward={"kind": "special_price", "percent_of_list": "90"},
        ),
    )
    await with_rebate(shop, 500_000)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    quote = (
        await client.post("/api/v1/quote", json=purifier_and_filters(shop), headers=bearer(owner))
    ).json()
    assert quote["rebate"]["balance_fen"] == 500_000
    assert quote["rebate"]["usable_fen"] == 199_900

    placed = await client.post(
        ORDERS, json={**purifier_and_filters(shop), "use_rebate": True}, headers=idempotent(owner)
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["rebate_used_fen"] == 199_900
    assert order["payable_fen"] == 90_000  # only the filters, at 90%, are left to pay
    lines = {line.sku_id: line for line in await OrderLine.filter(order_id=order["id"])}  # type: ignore[attr-defined]
    assert lines[shop.water].payable_fen == 0
    assert lines[shop.water].adjustments[-1] == {"kind": "rebate", "amount_fen": 199_900}
    assert lines[shop.filters].payable_fen == 90_000
    assert await rebate_of(shop) == 500_000 - 199_900
    spent = await LedgerEntry.get(cause="rebate_spent")
    assert (spent.amount, spent.cause_id) == (-199_900, order["id"])

    cancelled = await client.post(
        f"{ORDERS}/{order['id']}/cancel", json={"reason": "改天"}, headers=bearer(owner)
    )
    assert cancelled.status_code == 200
    assert await rebate_of(shop) == 500_000
    back = await LedgerEntry.get(cause="rebate_back")
    assert (back.amount, back.balance_after) == (199_900, 500_000)


async def test_without_asking_or_without_balance_nothing_is_used(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    asked = await client.post(
        ORDERS, json={**purifier_and_filters(shop), "use_rebate": True}, headers=idempotent(owner)
    )
    assert asked.status_code == 201 and asked.json()["rebate_used_fen"] == 0
    await with_rebate(shop, 10_000)
    not_asked = await client.post(
        ORDERS, json=purifier_and_filters(shop), headers=idempotent(owner)
    )
    assert not_asked.json()["rebate_used_fen"] == 0 and await rebate_of(shop) == 10_000
    partly = await client.post(
        ORDERS, json={**purifier_and_filters(shop), "use_rebate": True}, headers=idempotent(owner)
    )
    order = partly.json()
    assert order["rebate_used_fen"] == 10_000 and order["payable_fen"] == 299_900 - 10_000
    assert await rebate_of(shop) == 0


async def test_concurrent_checkouts_never_spend_more_than_the_balance(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    await with_rebate(shop, 300_000)  # enough for one purifier and a half
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    one_purifier = {"lines": [{"sku_id": shop.water, "quantity": 1}], "use_rebate": True}
    responses = await asyncio.gather(
        *(client.post(ORDERS, json=one_purifier, headers=idempotent(owner)) for _ in range(8))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    used = sorted(r.json()["rebate_used_fen"] for r in responses)
    assert sum(used) == 300_000 and used[-1] == 199_900  # one paid in full, one in part
    assert await rebate_of(shop) == 0
    entries = await LedgerEntry.filter(account__store_id=shop.tenant.store.id)
    assert sum(e.amount for e in entries) == 0
    orders = await Order.all()
    assert sum(o.payable_fen + o.rebate_used_fen for o in orders) == 8 * 199_900
