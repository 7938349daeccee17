"""The ledger: a paid order credits the points and rebate it earned, once; refunds take back
their share; every balance is the sum of its entries; a store sees only its own accounts."""

from __future__ import annotations

from typing import Any

import httpx

from backend.ledger.models import Account, LedgerEntry
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    make_shop,
    make_store,
    staff_headers,
    store_owner,
)
from tests.test_payments import _is, complete, eventually, prepay
from tests.test_promotions_admin import reduction
from tests.test_promotions_ordering import ordered, running

LEDGER = "/api/v1/ledger"


async def earning_shop(client: httpx.AsyncClient) -> Shop:
    """A shop whose brand gives 1 point per yuan and a 2% rebate on what is paid."""
    shop = await make_shop()
    await running(
        client, shop, reduction(name="每元一分", reward={"kind": "points", "per_yuan": "1"})
    )
    await running(client, shop, reduction(name="返利2%", reward={"kind": "rebate", "percent": "2"}))
    return shop


async def balances(client: httpx.AsyncClient, owner: dict[str, Any]) -> dict[str, int]:
    accounts = (await client.get(f"{LEDGER}/accounts", headers=bearer(owner))).json()["items"]
    return {account["kind"]: account["balance"] for account in accounts}


async def assert_ledger_adds_up() -> None:
    for account in await Account.all():
        entries = await LedgerEntry.filter(account_id=account.id).order_by("id")
        assert account.balance == sum(e.amount for e in entries)
        assert not entries or entries[-1].balance_after == account.balance


async def test_a_paid_order_credits_once_and_refunds_take_their_share_back(
    client, sandbox_client, live_api
) -> None:
    shop = await earning_shop(client)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = await ordered(client, owner, shop)
    assert (order["points_earned"], order["rebate_fen"]) == (3_998, 7_996)
    assert await balances(client, owner) == {}  # nothing until it is paid

    started = await prepay(client, owner, order)
    completed = await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(order["id"], "paid"))
    for _ in range(3):  # WeChat retries: the credit stays single
        await sandbox_client.post(
            f"/sandbox/pay/notifications/{completed['notification_id']}/redeliver"
        )
    assert await balances(client, owner) == {"points": 3_998, "rebate": 7_996}

    distributor = await distributor_admin(client, shop)
    for amount, key, expected in (
        (100_000, "part", {"points": 2_998, "rebate": 5_996}),  # a quarter of 3998.00 back
        (order["payable_fen"] - 100_000, "rest", {"points": 0, "rebate": 0}),
    ):
        refunded = await client.post(
            f"/api/v1/orders/{order['id']}/refunds",
            json={"amount_fen": amount, "reason": "退货"},
            headers={**distributor, "Idempotency-Key": key},
        )
        assert refunded.status_code == 201, refunded.text
        await sandbox_client.post("/sandbox/pay/refunds/settle", json={})

        async def settled(expected: dict[str, int] = expected) -> bool:
            return await balances(client, owner) == expected

        await eventually(settled)
    await assert_ledger_adds_up()

    accounts = (await client.get(f"{LEDGER}/accounts", headers=bearer(owner))).json()["items"]
    points = next(a for a in accounts if a["kind"] == "points")
    statement = (
        await client.get(f"{LEDGER}/accounts/{points['id']}/entries", headers=bearer(owner))
    ).json()
    assert [(e["cause"], e["amount"], e["balance_after"]) for e in statement["items"]] == [
        ("order_paid", 3_998, 3_998),
        ("refund", -1_000, 2_998),
        ("refund", -2_998, 0),
    ]

    # Another store's owner does not see these accounts; the brand's staff do.
    other = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    hidden = await client.get(f"{LEDGER}/accounts/{points['id']}/entries", headers=bearer(other))
    assert hidden.status_code == 404
    assert await balances(client, other) == {}
    brand = await staff_headers(client, shop.tenant.admin_username)
    seen = await client.get(
        f"{LEDGER}/accounts", params={"store_id": shop.tenant.store.id}, headers=brand
    )
    assert {a["kind"] for a in seen.json()["items"]} == {"points", "rebate"}


async def test_an_offline_payment_credits_the_earnings_too(client, sandbox_client) -> None:
    shop = await earning_shop(client)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = await ordered(client, owner, shop)
    distributor = await distributor_admin(client, shop)
    recorded = await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment",
        json={"note": "货到付款"},
        headers=distributor,
    )
    assert recorded.status_code == 201, recorded.text
    assert await balances(client, owner) == {"points": 3_998, "rebate": 7_996}
    await assert_ledger_adds_up()


async def test_an_order_that_earns_nothing_writes_no_account(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = await ordered(client, owner, shop)
    distributor = await distributor_admin(client, shop)
    paid = await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment", json={}, headers=distributor
    )
    assert paid.status_code == 201, paid.text  # paid, yet it earned nothing to credit
    assert await Account.all().count() == 0 and await LedgerEntry.all().count() == 0


async def test_a_statement_exports_as_csv_for_its_store_only(
    client, sandbox_client, live_api
) -> None:
    from backend.ledger import service as ledger_service

    shop = await earning_shop(client)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = await ordered(client, owner, shop)
    started = await prepay(client, owner, order)
    await complete(sandbox_client, started["out_trade_no"])
    await eventually(lambda: _is(order["id"], "paid"))
    rebate = await Account.get(store_id=shop.tenant.store.id, kind="rebate")
    response = await client.get(f"{LEDGER}/accounts/{rebate.id}/entries.csv", headers=bearer(owner))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "时间,事项,变动,变动后余额,订单"
    assert lines[1].split(",")[1:] == ["订单支付获得", "79.96", "79.96", str(order["id"])]
    other = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    hidden = await client.get(f"{LEDGER}/accounts/{rebate.id}/entries.csv", headers=bearer(other))
    assert hidden.status_code == 404
    assert await ledger_service.unbalanced_accounts() == []


async def test_the_ledger_check_finds_a_balance_that_does_not_add_up(
    client, sandbox_client
) -> None:
    from backend.infra import sql
    from backend.ledger import service as ledger_service

    shop = await earning_shop(client)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    order = await ordered(client, owner, shop)
    await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment",
        json={},
        headers=await distributor_admin(client, shop),
    )
    assert await ledger_service.unbalanced_accounts() == []
    await sql.execute("UPDATE ledger_accounts SET balance = balance + 1 WHERE kind = 'points'")
    [wrong] = await ledger_service.unbalanced_accounts()
    assert wrong["balance"] == wrong["sum"] + 1
