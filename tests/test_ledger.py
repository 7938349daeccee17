"""The ledger: a paid order credits the points and rebate it earned, once; refunds take back
their share; every balance is the sum of its entries; a store sees only its own accounts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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
    # Newest first, as a store reads its statement.
    assert [(e["cause"], e["amount"], e["balance_after"]) for e in statement["items"]] == [
        ("refund", -2_998, 0),
        ("refund", -1_000, 2_998),
        ("order_paid", 3_998, 3_998),
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


async def points_entries(store_id: int, brand_id: int, amounts: list[int]) -> int:
    """Credit the store lottery points, one entry per amount (in order); its points account."""
    from datetime import UTC, datetime, timedelta

    from backend.ledger import service as ledger_service

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n, points in enumerate(amounts, start=1):
        await ledger_service.credit_lottery_points(
            brand_id=brand_id,
            store_id=store_id,
            points=points,
            spin_id=n,
            order_id=0,
            now=start + timedelta(minutes=n),
        )
    return (await Account.get(store_id=store_id, kind="points")).id


async def test_a_statement_pages_newest_first_and_oldest_first_on_request(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    store = shop.tenant.store
    account_id = await points_entries(store.id, shop.tenant.brand.id, [10, 20, 30, 40, 50])
    owner = await store_owner(client, sandbox_client, store)
    url = f"{LEDGER}/accounts/{account_id}/entries"

    async def statement(**params: Any) -> Any:
        response = await client.get(url, params=params, headers=bearer(owner))
        assert response.status_code == 200, response.text
        return response.json()

    def amounts(found: Any) -> list[int]:
        return [entry["amount"] for entry in found["items"]]

    first = await statement(limit=2)
    assert (first["order"], amounts(first)) == ("desc", [50, 40])
    assert [e["balance_after"] for e in first["items"]] == [150, 100]
    assert first["next_after"] is None and first["next_before"] == first["items"][-1]["id"]
    second = await statement(limit=2, before=first["next_before"])
    third = await statement(limit=2, before=second["next_before"])
    assert (amounts(second), amounts(third)) == ([30, 20], [10])
    assert third["next_before"] is None

    # Oldest first, asked for or implied by the old `after` parameter, pages with `after`.
    oldest = await statement(order="asc", limit=3)
    assert (oldest["order"], amounts(oldest)) == ("asc", [10, 20, 30])
    assert oldest["next_before"] is None
    rest = await statement(after=oldest["next_after"])
    assert (rest["order"], amounts(rest), rest["next_after"]) == ("asc", [40, 50], None)
    explicit = await statement(order="desc", before=oldest["items"][1]["id"])
    assert amounts(explicit) == [10]


@pytest.mark.parametrize(
    "params",
    [
        {"order": "desc", "after": 1},
        {"order": "asc", "before": 9},
        {"order": "sideways"},
        {"before": 0},
        {"before": "x"},
    ],
)
async def test_a_statement_refuses_paging_that_does_not_fit_its_order(
    client, sandbox_client, params: dict[str, Any]
) -> None:
    shop = await make_shop()
    account_id = await points_entries(shop.tenant.store.id, shop.tenant.brand.id, [10])
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    response = await client.get(
        f"{LEDGER}/accounts/{account_id}/entries", params=params, headers=bearer(owner)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "request.invalid"


async def test_a_statement_is_the_stores_own_in_either_order(client, sandbox_client) -> None:
    shop = await make_shop()
    account_id = await points_entries(shop.tenant.store.id, shop.tenant.brand.id, [10, 20])
    url = f"{LEDGER}/accounts/{account_id}/entries"
    other = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    stranger_shop = await make_shop()
    stranger = await store_owner(client, sandbox_client, stranger_shop.tenant.store)
    for caller in (other, stranger):
        for params in ({}, {"order": "asc"}, {"before": 999}):
            hidden = await client.get(url, params=params, headers=bearer(caller))
            assert hidden.status_code == 404
            assert hidden.json()["error"]["code"] == "ledger.account_not_found"
    other_brand = await staff_headers(client, stranger_shop.tenant.admin_username)
    assert (await client.get(url, headers=other_brand)).status_code == 404
    own_brand = await staff_headers(client, shop.tenant.admin_username)
    seen = await client.get(url, headers=own_brand)
    assert [e["amount"] for e in seen.json()["items"]] == [20, 10]


async def distributor_entries(shop: Shop, days: list[tuple[str, int]]) -> int:
    """Approved voucher claims owed to the shop's distributor, one per (China day, fen) at
    noon that day, in order; its vouchers account's id."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from backend.ledger import service as ledger_service
    from backend.ledger.models import PartyAccount

    for n, (day, fen) in enumerate(days, start=1):
        noon = datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
        await ledger_service.voucher_claim_moved(
            brand_id=shop.tenant.brand.id,
            distributor_id=shop.tenant.distributor.id,
            claim_id=n,
            amount_fen=fen,
            settled=False,
            now=noon,
        )
    account = await PartyAccount.get(party="distributor", party_id=shop.tenant.distributor.id)
    return account.id


NOVEMBER = [("2026-11-01", 1_000), ("2026-11-02", 2_000), ("2026-11-03", 3_000)]
NOVEMBER += [("2026-11-30", 4_000), ("2026-12-01", 5_000)]


async def test_a_distributor_pages_and_filters_its_statement_by_china_days(client) -> None:
    shop = await make_shop()
    account_id = await distributor_entries(shop, NOVEMBER)
    distributor = await distributor_admin(client, shop)
    [account] = (
        await client.get(f"{LEDGER}/party-accounts?party=distributor", headers=distributor)
    ).json()["items"]
    assert (account["id"], account["kind_name"], account["balance"]) == (
        account_id,
        "待结算核销款",
        15_000,
    )
    url = f"{LEDGER}/party-accounts/{account_id}/entries"

    async def statement(**params: Any) -> Any:
        response = await client.get(url, params=params, headers=distributor)
        assert response.status_code == 200, response.text
        return response.json()

    first = await statement(limit=2)
    assert first["account"]["balance"] == 15_000
    assert [(e["amount"], e["balance_after"]) for e in first["items"]] == [
        (5_000, 15_000),
        (4_000, 10_000),
    ]
    assert first["items"][0]["cause_name"] == "兑换券核销确认"
    rest = await statement(limit=2, before=first["next_before"])
    last = await statement(limit=2, before=rest["next_before"])
    assert [e["amount"] for e in rest["items"] + last["items"]] == [3_000, 2_000, 1_000]
    assert last["next_before"] is None

    # Whole days in China time, both ends included; either end may stay open.
    november = await statement(created_from="2026-11-02", created_to="2026-11-30")
    assert [e["amount"] for e in november["items"]] == [4_000, 3_000, 2_000]
    paged = await statement(created_from="2026-11-02", created_to="2026-11-30", limit=1)
    after = await statement(
        created_from="2026-11-02", created_to="2026-11-30", before=paged["next_before"]
    )
    assert [e["amount"] for e in after["items"]] == [3_000, 2_000]
    assert [e["amount"] for e in (await statement(created_from="2026-11-30"))["items"]] == [
        5_000,
        4_000,
    ]
    assert [e["amount"] for e in (await statement(created_to="2026-11-01"))["items"]] == [1_000]

    exported = await client.get(
        f"{url}.csv",
        params={"created_from": "2026-11-02", "created_to": "2026-11-03"},
        headers=distributor,
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines == [
        "时间,事项,变动,变动后余额,订单",
        "2026-11-02 12:00:00,兑换券核销确认,20.00,30.00,",
        "2026-11-03 12:00:00,兑换券核销确认,30.00,60.00,",
    ]
    whole = await client.get(f"{url}.csv", headers=distributor)
    assert len(whole.content.decode("utf-8-sig").splitlines()) == 1 + len(NOVEMBER)


@pytest.mark.parametrize(
    "params",
    [
        {"created_from": "2026-12-01", "created_to": "2026-11-01"},
        {"created_from": "2026-13-01"},
        {"created_to": "yesterday"},
        {"before": 0},
    ],
)
async def test_a_party_statement_refuses_a_period_that_is_not_one(client, params) -> None:
    shop = await make_shop()
    account_id = await distributor_entries(shop, NOVEMBER[:1])
    distributor = await distributor_admin(client, shop)
    for path in ("entries", "entries.csv"):
        if path == "entries.csv" and "before" in params:
            continue
        response = await client.get(
            f"{LEDGER}/party-accounts/{account_id}/{path}", params=params, headers=distributor
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "request.invalid"


async def test_a_party_statement_is_the_distributors_own(client, sandbox_client) -> None:
    from backend.identity.models import Role
    from tests.factories import make_staff

    shop = await make_shop()
    account_id = await distributor_entries(shop, NOVEMBER[:2])
    url = f"{LEDGER}/party-accounts/{account_id}/entries"
    rival = await staff_headers(
        client,
        await make_staff(
            shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.other_distributor.id
        ),
    )
    stranger_shop = await make_shop()
    stranger = await distributor_admin(client, stranger_shop)
    other_brand = await staff_headers(client, stranger_shop.tenant.admin_username)
    for caller in (rival, stranger, other_brand):
        for path in (url, f"{url}.csv"):
            hidden = await client.get(path, headers=caller)
            assert hidden.status_code == 404, path
            assert hidden.json()["error"]["code"] == "ledger.account_not_found"
    listed = await client.get(f"{LEDGER}/party-accounts?party=distributor", headers=rival)
    assert listed.json()["items"] == []
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    assert (await client.get(url, headers=bearer(owner))).status_code == 403
    own_brand = await staff_headers(client, shop.tenant.admin_username)
    seen = await client.get(url, headers=own_brand)
    assert [e["amount"] for e in seen.json()["items"]] == [2_000, 1_000]


async def test_a_store_statement_filters_by_china_days_too(client, sandbox_client) -> None:
    shop = await make_shop()
    # points_entries writes one a minute from 2026-01-01 00:01 UTC: 08:01 that day in China.
    account_id = await points_entries(shop.tenant.store.id, shop.tenant.brand.id, [10, 20])
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    url = f"{LEDGER}/accounts/{account_id}/entries"
    that_day = {"created_from": "2026-01-01", "created_to": "2026-01-01"}
    found = await client.get(url, params=that_day, headers=bearer(owner))
    assert [e["amount"] for e in found.json()["items"]] == [20, 10]
    before = await client.get(url, params={"created_to": "2025-12-31"}, headers=bearer(owner))
    assert before.json()["items"] == []
    exported = await client.get(
        f"{url}.csv", params={"created_from": "2026-01-02"}, headers=bearer(owner)
    )
    assert exported.content.decode("utf-8-sig").splitlines() == ["时间,事项,变动,变动后余额,订单"]
