"""Voucher claims (核销): the distributor that fulfilled orders paid partly with exchange
vouchers claims their value from the brand, which approves and settles; both see the
distributor's statement; a voucher is never claimed twice."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from backend.coupons.models import VoucherClaim, VoucherClaimItem
from backend.ledger.models import PartyAccount, PartyEntry
from tests.factories import Shop, bearer, distributor_admin, idempotent, make_shop, store_owner
from tests.test_coupons import issued_to_all, reduction_coupon, template, wallet
from tests.test_promotions_admin import admin

API = "/api/v1/coupons/claims"


async def delivered_voucher_order(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient
) -> tuple[Shop, dict[str, str], Any]:
    """A shop whose store used a 2-filter exchange voucher in an order, paid and delivered."""
    shop = await make_shop()
    voucher = await template(
        client,
        shop,
        reduction_coupon(
            name="滤芯兑换券",
            kind="exchange",
            terms={"exchange": [{"sku_id": shop.filters, "quantity": 2}]},
        ),
    )
    await issued_to_all(client, shop, voucher["id"])
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    [coupon] = await wallet(client, owner)
    body = {"lines": [{"sku_id": shop.filters, "quantity": 10}], "coupon_id": coupon["id"]}
    order = (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()
    distributor = await distributor_admin(client, shop)
    url = f"/api/v1/orders/{order['id']}"
    paid = await client.post(f"{url}/offline-payment", json={}, headers=distributor)
    assert paid.status_code == 201, paid.text
    await client.post(f"{url}/accept", headers=distributor)
    await client.post(f"{url}/ship", json={"logistics_note": "自送"}, headers=distributor)
    delivered = await client.post(f"{url}/deliver", headers=distributor)
    assert delivered.json()["status"] == "delivered"
    return shop, distributor, order


async def voucher_balance(distributor_id: int) -> int:
    account = await PartyAccount.get_or_none(
        party="distributor", party_id=distributor_id, kind="vouchers"
    )
    return 0 if account is None else account.balance


async def test_a_claim_is_submitted_approved_and_settled(client, sandbox_client) -> None:
    shop, distributor, order = await delivered_voucher_order(client, sandbox_client)
    claimable = (await client.get(f"{API}/claimable", headers=distributor)).json()
    assert claimable["amount_fen"] == 20_000  # two filters at 100.00
    [voucher] = claimable["items"]
    assert (voucher["order_id"], voucher["order_no"]) == (order["id"], order["order_no"])
    assert (voucher["name"], voucher["store_name"]) == ("滤芯兑换券", shop.tenant.store.name)

    submitted = await client.post(
        f"{API}", json={"note": "11月"}, headers=idempotent_staff(distributor)
    )
    assert submitted.status_code == 201, submitted.text
    claim = submitted.json()
    assert (claim["status_name"], claim["amount_fen"], claim["vouchers"]) == ("待审核", 20_000, 1)
    assert (await client.get(f"{API}/claimable", headers=distributor)).json()["items"] == []
    detail = (await client.get(f"{API}/{claim['id']}", headers=distributor)).json()
    assert detail["items"] == [
        {
            "coupon_id": voucher["coupon_id"],
            "name": "滤芯兑换券",
            "order_id": order["id"],
            "order_no": order["order_no"],
            "store_name": shop.tenant.store.name,
            "amount_fen": 20_000,
        }
    ]

    brand = await admin(client, shop)
    early = await client.post(f"{API}/{claim['id']}/settle", headers=brand)
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "coupon.claim_status_changed"
    assert (await client.get(f"{API}/counts", headers=distributor)).json() == {
        "by_status": {"submitted": 1, "approved": 0, "settled": 0, "rejected": 0},
        "amount_fen": {"submitted": 20_000, "approved": 0, "settled": 0, "rejected": 0},
        "total": 1,
    }
    approved = await client.post(f"{API}/{claim['id']}/approve", headers=brand)
    assert approved.json()["status"] == "approved"
    counted = (await client.get(f"{API}/counts", headers=brand)).json()
    assert (counted["by_status"]["approved"], counted["amount_fen"]["approved"]) == (1, 20_000)
    distributor_id = shop.tenant.distributor.id
    assert await voucher_balance(distributor_id) == 20_000
    settled = await client.post(f"{API}/{claim['id']}/settle", headers=brand)
    assert settled.json()["status_name"] == "已结算"
    assert await voucher_balance(distributor_id) == 0

    statement = (
        await client.get("/api/v1/ledger/party-accounts?party=distributor", headers=distributor)
    ).json()["items"]
    [account] = statement
    assert [(e["cause_name"], e["amount"]) for e in reversed(account["entries"])] == [
        ("兑换券核销确认", 20_000),
        ("兑换券核销结算", -20_000),
    ]
    seen_by_brand = (
        await client.get("/api/v1/ledger/party-accounts?party=distributor", headers=brand)
    ).json()["items"]
    assert [a["party_id"] for a in seen_by_brand] == [distributor_id]


def idempotent_staff(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": f"claim-{id(headers)}-{len(headers)}"}


async def test_nothing_to_claim_and_concurrent_submissions(client, sandbox_client) -> None:
    _, distributor, _ = await delivered_voucher_order(client, sandbox_client)
    responses = await asyncio.gather(
        *(
            client.post(f"{API}", json={}, headers={**distributor, "Idempotency-Key": f"c{n}"})
            for n in range(5)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert codes <= {"coupon.claim_conflict", "coupon.nothing_to_claim"}
    assert await VoucherClaim.all().count() == 1 and await VoucherClaimItem.all().count() == 1
    again = await client.post(f"{API}", json={}, headers={**distributor, "Idempotency-Key": "x"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "coupon.nothing_to_claim"


async def test_a_rejected_claim_owes_nothing_and_others_cannot_see_it(
    client, sandbox_client
) -> None:
    shop, distributor, _ = await delivered_voucher_order(client, sandbox_client)
    claim = (
        await client.post(f"{API}", json={}, headers={**distributor, "Idempotency-Key": "r"})
    ).json()
    brand = await admin(client, shop)
    rejected = await client.post(
        f"{API}/{claim['id']}/reject", json={"reason": "订单未签收"}, headers=brand
    )
    assert rejected.json()["status_name"] == "已驳回"
    assert rejected.json()["reject_reason"] == "订单未签收"
    assert await voucher_balance(shop.tenant.distributor.id) == 0
    assert await PartyEntry.all().count() == 0
    other = await make_shop()
    stranger = await client.get(f"{API}/{claim['id']}", headers=await admin(client, other))
    assert stranger.status_code == 404
    other_distributor = await distributor_admin(client, other)
    assert (await client.get(f"{API}", headers=other_distributor)).json()["items"] == []
    assert (await client.get(f"{API}/counts", headers=other_distributor)).json()["total"] == 0
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    assert (await client.get(f"{API}", headers=bearer(owner))).status_code == 403


async def test_undelivered_orders_are_not_claimable(client, sandbox_client) -> None:
    shop = await make_shop()
    voucher = await template(
        client,
        shop,
        reduction_coupon(
            name="兑换券",
            kind="exchange",
            terms={"exchange": [{"sku_id": shop.filters, "quantity": 1}]},
        ),
    )
    await issued_to_all(client, shop, voucher["id"])
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    [coupon] = await wallet(client, owner)
    body = {"lines": [{"sku_id": shop.filters, "quantity": 10}], "coupon_id": coupon["id"]}
    await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    distributor = await distributor_admin(client, shop)
    assert (await client.get(f"{API}/claimable", headers=distributor)).json()["items"] == []
