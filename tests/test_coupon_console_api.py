"""What the brand's console asks of coupons and accounts beyond the mini-program's API: use
figures per template, the 领券中心 settings, batches to named stores, every distributor's
claims with a distributor filter, and one party's accounts. Brand staff only, their own
brand's only."""

from __future__ import annotations

from typing import Any

import httpx

from backend.coupons.models import Coupon, CouponIssuance, CouponTemplate
from backend.identity.models import Role
from backend.ledger.models import PartyAccount
from backend.org.models import StoreTag
from tests.factories import (
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
)
from tests.test_coupons import API, reduction_coupon, store_with_coupon, template
from tests.test_promotions_admin import admin
from tests.test_promotions_ordering import two_purifiers
from tests.test_voucher_claims import delivered_voucher_order

LEDGER = "/api/v1/ledger"


async def figures_of(client: httpx.AsyncClient, headers: dict[str, str], template_id: int) -> Any:
    listed = (await client.get(f"{API}/templates", headers=headers)).json()["items"]
    [row] = [item for item in listed if item["id"] == template_id]
    detail = (await client.get(f"{API}/templates/{template_id}", headers=headers)).json()
    assert row["figures"] == detail["figures"]  # the list and the detail count alike
    return detail["figures"]


async def test_a_templates_figures_count_issued_claimed_used_and_expired(
    client, sandbox_client, deps
) -> None:
    shop, owner, coupon_id = await store_with_coupon(
        client, sandbox_client, reduction_coupon(claimable=True, per_store_limit=1)
    )
    brand = await admin(client, shop)
    [created] = (await client.get(f"{API}/templates", headers=brand)).json()["items"]
    await make_store(shop.tenant)  # joins after the batch: holds nothing
    assert await figures_of(client, brand, created["id"]) == {
        "issued": 1,
        "claimed": 0,
        "used": 0,
        "expired": 0,
    }
    claimed = await client.post(f"{API}/templates/{created['id']}/claim", headers=idempotent(owner))
    assert claimed.status_code == 201, claimed.text
    placed = await client.post(
        "/api/v1/orders",
        json={**two_purifiers(shop), "coupon_id": coupon_id},
        headers=idempotent(owner),
    )
    assert placed.status_code == 201, placed.text
    assert await figures_of(client, brand, created["id"]) == {
        "issued": 1,
        "claimed": 1,
        "used": 1,
        "expired": 0,
    }
    deps.clock.advance(days=31)  # the claimed coupon ran out unused; the used one stays used
    brand = await admin(client, shop)  # signed in again: the token ran out too
    assert await figures_of(client, brand, created["id"]) == {
        "issued": 1,
        "claimed": 1,
        "used": 1,
        "expired": 1,
    }

    # Filtered by kind; another brand's admin and a distributor see none of it.
    by_kind = await client.get(f"{API}/templates?kind=discount", headers=brand)
    assert by_kind.json()["items"] == []
    other = await admin(client, await make_shop())
    assert (await client.get(f"{API}/templates/{created['id']}", headers=other)).status_code == 404
    assert (await client.get(f"{API}/templates", headers=other)).json()["items"] == []
    dealer = await distributor_admin(client, shop)
    assert (await client.get(f"{API}/templates", headers=dealer)).status_code == 403


async def test_the_claim_centre_settings_are_the_brands_to_change(client, sandbox_client) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    created = await template(client, shop, reduction_coupon())
    url = f"{API}/templates/{created['id']}/claiming"

    opened = await client.put(url, json={"claimable": True, "per_store_limit": 3}, headers=brand)
    assert opened.status_code == 200, opened.text
    assert (opened.json()["claimable"], opened.json()["per_store_limit"]) == (True, 3)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    centre = (await client.get(f"{API}/claimable", headers=bearer(owner))).json()["items"]
    assert [(t["id"], t["per_store_limit"]) for t in centre] == [(created["id"], 3)]

    def unchanged() -> Any:
        return CouponTemplate.get(id=created["id"]).values_list("claimable", "per_store_limit")

    for body in ({"claimable": True, "per_store_limit": 0}, {"claimable": "maybe"}, {}):
        bad = await client.put(url, json=body, headers=brand)
        assert bad.status_code == 422, body
        assert await unchanged() == (True, 3)
    dealer = await distributor_admin(client, shop)
    assert (
        await client.put(url, json={"claimable": False, "per_store_limit": 1}, headers=dealer)
    ).status_code == 403
    assert (
        await client.put(
            url, json={"claimable": False, "per_store_limit": 1}, headers=bearer(owner)
        )
    ).status_code == 403
    other = await admin(client, await make_shop())
    stranger = await client.put(url, json={"claimable": False, "per_store_limit": 1}, headers=other)
    assert stranger.status_code == 404
    assert await unchanged() == (True, 3)

    assert (
        await client.post(f"{API}/templates/{created['id']}/end", headers=brand)
    ).status_code == 200
    ended = await client.put(url, json={"claimable": True, "per_store_limit": 5}, headers=brand)
    assert ended.status_code == 409 and ended.json()["error"]["code"] == "coupon.template_ended"
    assert await unchanged() == (True, 3)


async def test_a_batch_goes_to_tagged_or_named_stores_only(client) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    tagged = await make_store(shop.tenant)
    also_tagged = await make_store(shop.tenant)
    await StoreTag.create(store=tagged, tag="新店")
    await StoreTag.create(store=also_tagged, tag="新店")
    created = await template(client, shop, reduction_coupon())
    url = f"{API}/templates/{created['id']}/issuances"

    to_tag = await client.post(
        url, json={"audience": {"tags": ["新店"]}}, headers={**brand, "Idempotency-Key": "tag"}
    )
    assert to_tag.status_code == 201, to_tag.text
    assert to_tag.json()["audience"]["store_ids"] == []
    holders = {c.store_id for c in await Coupon.all()}  # type: ignore[attr-defined]
    assert holders == {tagged.id, also_tagged.id}  # the untagged store got none

    named = await client.post(
        url,
        json={"audience": {"tags": ["新店"]}, "store_ids": [tagged.id, shop.tenant.store.id]},
        headers={**brand, "Idempotency-Key": "named"},
    )
    assert named.status_code == 201 and named.json()["issued_total"] == 1  # tagged and named
    assert named.json()["audience"]["store_ids"] == sorted([tagged.id, shop.tenant.store.id])
    assert await Coupon.filter(issuance_id=named.json()["id"]).values_list(
        "store_id", flat=True
    ) == [tagged.id]

    # A store of another brand, or none at all: refused, nothing issued, no batch.
    stranger = await make_store((await make_shop()).tenant)
    before = (await Coupon.all().count(), await CouponIssuance.all().count())
    for n, store_id in enumerate((stranger.id, 2**62)):
        refused = await client.post(
            url, json={"store_ids": [store_id]}, headers={**brand, "Idempotency-Key": f"bad-{n}"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "coupon.unknown_reference"
    assert (await Coupon.all().count(), await CouponIssuance.all().count()) == before
    assert (await CouponTemplate.get(id=created["id"])).issued_count == 3


async def test_a_template_created_twice_with_one_key_is_made_once(client) -> None:
    shop = await make_shop()
    headers = {**await admin(client, shop), "Idempotency-Key": "new-template"}
    first = await client.post(f"{API}/templates", json=reduction_coupon(), headers=headers)
    again = await client.post(f"{API}/templates", json=reduction_coupon(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and await CouponTemplate.all().count() == 1
    changed = await client.post(
        f"{API}/templates", json=reduction_coupon(name="另一张"), headers=headers
    )
    assert changed.status_code == 409 and await CouponTemplate.all().count() == 1


async def test_the_brand_reviews_claims_by_distributor(client, sandbox_client) -> None:
    shop, distributor, _ = await delivered_voucher_order(client, sandbox_client)
    tenant = shop.tenant
    claim = (
        await client.post(
            f"{API}/claims", json={"note": "12月"}, headers={**distributor, "Idempotency-Key": "c"}
        )
    ).json()
    brand = await admin(client, shop)

    listed = (await client.get(f"{API}/claims?status=submitted", headers=brand)).json()["items"]
    assert [(c["id"], c["distributor_name"]) for c in listed] == [
        (claim["id"], tenant.distributor.name)
    ]
    mine = f"distributor_id={tenant.distributor.id}"
    theirs = f"distributor_id={tenant.other_distributor.id}"
    assert len((await client.get(f"{API}/claims?{mine}", headers=brand)).json()["items"]) == 1
    assert (await client.get(f"{API}/claims?{theirs}", headers=brand)).json()["items"] == []
    counted = (await client.get(f"{API}/claims/counts?{theirs}", headers=brand)).json()
    assert counted["total"] == 0
    counted = (await client.get(f"{API}/claims/counts?{mine}", headers=brand)).json()
    assert (counted["by_status"]["submitted"], counted["amount_fen"]["submitted"]) == (1, 20_000)
    detail = (await client.get(f"{API}/claims/{claim['id']}", headers=brand)).json()
    assert detail["distributor_name"] == tenant.distributor.name

    # The other distributor's staff see none of it, whatever they filter by.
    rival = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id),
    )
    assert (await client.get(f"{API}/claims?{mine}", headers=rival)).json()["items"] == []
    assert (await client.get(f"{API}/claims/counts?{mine}", headers=rival)).json()["total"] == 0
    refused = await client.post(f"{API}/claims/{claim['id']}/approve", headers=distributor)
    assert refused.status_code == 403
    other_brand = await admin(client, await make_shop())
    assert (await client.get(f"{API}/claims", headers=other_brand)).json()["items"] == []
    assert (
        await client.post(f"{API}/claims/{claim['id']}/approve", headers=other_brand)
    ).status_code == 404

    # Approved: the brand finds that distributor's account by its id, and only it.
    assert (
        await client.post(f"{API}/claims/{claim['id']}/approve", headers=brand)
    ).status_code == 200
    query = f"party=distributor&party_id={tenant.distributor.id}"
    [account] = (await client.get(f"{LEDGER}/party-accounts?{query}", headers=brand)).json()[
        "items"
    ]
    assert (account["party_id"], account["kind"], account["balance"]) == (
        tenant.distributor.id,
        "vouchers",
        20_000,
    )
    none = f"party=distributor&party_id={tenant.other_distributor.id}"
    assert (await client.get(f"{LEDGER}/party-accounts?{none}", headers=brand)).json()[
        "items"
    ] == []
    # Distributor staff asking for another's account by id get their own or nothing.
    assert (await client.get(f"{LEDGER}/party-accounts?{query}", headers=rival)).json()[
        "items"
    ] == []
    stored = await PartyAccount.get(party="distributor", party_id=tenant.distributor.id)
    csv = await client.get(f"{LEDGER}/party-accounts/{stored.id}/entries.csv", headers=brand)
    assert csv.status_code == 200 and "兑换券核销确认" in csv.content.decode("utf-8-sig")
    assert (
        await client.get(f"{LEDGER}/party-accounts/{stored.id}/entries.csv", headers=rival)
    ).status_code == 404
    assert (
        await client.get(f"{LEDGER}/party-accounts/{stored.id}/entries", headers=other_brand)
    ).status_code == 404
    # The incentives are the brand's alone.
    assert (await client.get(f"{LEDGER}/incentives", headers=distributor)).status_code == 403
    refused = await client.put(f"{LEDGER}/incentives", json={}, headers=distributor)
    assert refused.status_code == 403
