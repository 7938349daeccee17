"""Redeeming consumers' e-coupons (电子券核销) and the brand's members: a store redeems the
coupon of an item it sold or holds (the value credited to its cash account through the
ledger, the item sold if it was not, the consumer attributed to it), once, also when two
scans race; every refusal writes nothing; the brand, distributors and stores read the
redemptions they may see; the brand lists members without anything personal.

Campaigns and checks (which give the coupons) are another part: coupons, campaigns, batches
and codes are written here directly, with boxes already received by their stores."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from backend.codes import members
from backend.codes.models import (
    BatchStatus,
    BrandMember,
    CampaignStatus,
    CodeBatch,
    CodeCampaign,
    CodeKind,
    CodeScan,
    ConsumerCoupon,
    DiversionAlert,
    ProductCode,
    StoreCodeStock,
)
from backend.codes.tokens import code_url, coupon_url, new_token, new_tokens
from backend.identity.models import Role
from backend.ledger.models import Account, LedgerEntry
from backend.org.models import Store
from tests.factories import (
    Shop,
    bearer,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
    wechat_login,
)

API = "/api/v1/codes"
_batches = itertools.count(1)


@dataclass
class World:
    shop: Shop
    now: datetime
    batch: CodeBatch
    campaign: CodeCampaign
    store: Store  # the tenant's store: received box 1 (items 1–3)
    neighbour: Store  # another store of the same distributor: received box 2 (items 4–6)
    boxes: list[ProductCode]
    items: list[ProductCode]
    owner: dict[str, str]  # the store's owner's headers
    neighbour_owner: dict[str, str]
    consumer_id: int


async def make_codes(
    shop: Shop, now: datetime, stores: list[Store], items_per_box: int = 3
) -> tuple[CodeBatch, list[ProductCode], list[ProductCode]]:
    """A READY batch of the shop's water purifier: one box per store, shipped to the
    tenant's distributor and received by that store, each with `items_per_box` items."""
    brand = shop.tenant.brand
    batch = await CodeBatch.create(
        brand=brand,
        sku_id=shop.water,
        batch_no=f"2026120{next(_batches)}",
        boxes=len(stores),
        items_per_box=items_per_box,
        status=BatchStatus.READY.value,
        written=len(stores) * (items_per_box + 1),
        ready_at=now,
    )
    tokens = iter(new_tokens(len(stores) * (items_per_box + 1)))
    boxes, items = [], []
    for n, store in enumerate(stores, start=1):
        box = await ProductCode.create(
            brand=brand,
            batch=batch,
            kind=CodeKind.BOX.value,
            token=next(tokens),
            serial=n,
            distributor_id=store.distributor_id,  # type: ignore[attr-defined]
            store=store,
            received_at=now - timedelta(days=1),
        )
        boxes.append(box)
        for i in range(items_per_box):
            items.append(
                await ProductCode.create(
                    brand=brand,
                    batch=batch,
                    kind=CodeKind.ITEM.value,
                    token=next(tokens),
                    serial=(n - 1) * items_per_box + i + 1,
                    box=box,
                )
            )
        await StoreCodeStock.create(
            brand=brand, store=store, sku_id=shop.water, received=items_per_box, updated_at=now
        )
    return batch, boxes, items


async def make_campaign(shop: Shop, now: datetime, value_fen: int = 500) -> CodeCampaign:
    return await CodeCampaign.create(
        brand=shop.tenant.brand,
        name="扫码领券",
        sku_ids=[shop.water],
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        coupon_value_fen=value_fen,
        coupon_valid_days=30,
        budget_fen=100_000,
        status=CampaignStatus.ACTIVE.value,
    )


async def give_coupon(
    world: World,
    item: ProductCode,
    user_id: int | None = None,
    valid: timedelta = timedelta(days=30),
) -> ConsumerCoupon:
    """The coupon a consumer's check of `item` gave them (as checks.py writes it)."""
    user_id = user_id or world.consumer_id
    await members.join(world.shop.tenant.brand.id, user_id, world.now)
    await CodeCampaign.filter(id=world.campaign.id).update(
        committed_fen=world.campaign.committed_fen + world.campaign.coupon_value_fen
    )
    return await ConsumerCoupon.create(
        brand=world.shop.tenant.brand,
        campaign=world.campaign,
        code=item,
        user_id=user_id,
        token=new_token(),
        value_fen=world.campaign.coupon_value_fen,
        expires_at=world.now + valid,
        created_at=world.now,
    )


async def make_world(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> World:
    now = deps.clock.now()
    shop = await make_shop()
    neighbour = await make_store(shop.tenant)
    batch, boxes, items = await make_codes(shop, now, [shop.tenant.store, neighbour])
    campaign = await make_campaign(shop, now)
    consumer = await wechat_login(client, sandbox_client, "consumer-1")
    owner = bearer(await store_owner(client, sandbox_client, shop.tenant.store))
    other = bearer(await store_owner(client, sandbox_client, neighbour))
    return World(
        shop,
        now,
        batch,
        campaign,
        shop.tenant.store,
        neighbour,
        boxes,
        items,
        owner,
        other,
        consumer["identity"]["user_id"],
    )


def qr(deps: Any, coupon: ConsumerCoupon) -> str:
    return coupon_url(deps.settings.public_base_url, coupon.token)


async def redeem(
    client: httpx.AsyncClient, headers: dict[str, str], text: Any, **extra: Any
) -> httpx.Response:
    return await client.post(f"{API}/redemptions", json={"coupon": text, **extra}, headers=headers)


async def cash_balance(store: Store) -> int:
    account = await Account.filter(store_id=store.id, kind="cash").first()
    return 0 if account is None else account.balance


async def snapshot(world: World) -> dict[str, Any]:
    """Everything a redemption writes, to show a refused one wrote nothing."""
    return {
        "coupons": await ConsumerCoupon.all()
        .order_by("id")
        .values("id", "status", "store_id", "redeemed_at", "redeemed_by_id"),
        "codes": await ProductCode.filter(kind="item")
        .order_by("id")
        .values("id", "sold_at", "store_id"),
        "stock": await StoreCodeStock.all().order_by("id").values("store_id", "received", "sold"),
        "entries": await LedgerEntry.all().count(),
        "accounts": await Account.all().order_by("id").values("store_id", "kind", "balance"),
        "scans": await CodeScan.all().count(),
        "members": await BrandMember.all().order_by("id").values("user_id", "store_id"),
    }


# ---- redeeming ----------------------------------------------------------------------------


async def test_a_store_redeems_the_coupon_of_an_item_it_holds(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    item = world.items[0]
    coupon = await give_coupon(world, item)
    response = await redeem(client, world.owner, qr(deps, coupon), latitude=30.27, longitude=120.15)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["coupon_id"] == coupon.id
    assert body["value_fen"] == 500
    assert body["credited"] == {"kind": "cash", "amount_fen": 500}
    assert body["sold_now"] is True
    assert body["member_attributed"] is True
    assert body["diverted"] is False
    assert body["product"]["sku_id"] == world.shop.water
    assert body["product"]["name"] == "澜泉 RO 净水器 RO-500"
    assert body["code"]["serial_text"] == f"{world.batch.batch_no}-0000001"

    redeemed = await ConsumerCoupon.get(id=coupon.id)
    assert redeemed.status == "redeemed"
    assert redeemed.store_id == world.store.id  # type: ignore[attr-defined]
    assert redeemed.redeemed_at is not None
    # The item was not scanned out: the redemption sold it here, and the stock follows.
    sold = await ProductCode.get(id=item.id)
    assert sold.sold_at is not None and sold.store_id == world.store.id  # type: ignore[attr-defined]
    stock = await StoreCodeStock.get(store_id=world.store.id, sku_id=world.shop.water)
    assert (stock.received, stock.sold) == (3, 1)
    # The brand pays the store the coupon's value, through the ledger, once.
    assert await cash_balance(world.store) == 500
    entry = await LedgerEntry.get(cause="c_coupon", cause_id=coupon.id)
    assert (entry.amount, entry.balance_after, entry.order_id) == (500, 500, 0)
    # The consumer is now the brand's member brought by this store.
    member = await BrandMember.get(brand_id=world.shop.tenant.brand.id, user_id=world.consumer_id)
    assert member.store_id == world.store.id  # type: ignore[attr-defined]
    assert member.attributed_at is not None
    scan = await CodeScan.get(code_id=item.id)
    assert (scan.action, scan.store_id, scan.items, scan.diverted) == (  # type: ignore[attr-defined]
        "redeem",
        world.store.id,
        1,
        False,
    )
    assert (scan.latitude, scan.longitude) == (30.27, 120.15)
    # The store's cash statement names the cause in Chinese.
    accounts = await client.get("/api/v1/ledger/accounts", headers=world.owner)
    assert accounts.status_code == 200, accounts.text
    cash = next(a for a in accounts.json()["items"] if a["kind"] == "cash")
    statement = await client.get(
        f"/api/v1/ledger/accounts/{cash['id']}/entries", headers=world.owner
    )
    assert statement.status_code == 200, statement.text
    assert statement.json()["items"][0]["cause_name"] == "消费者券核销补贴"


async def test_an_item_already_scanned_out_is_not_sold_again(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    item = world.items[1]
    await ProductCode.filter(id=item.id).update(sold_at=world.now, store_id=world.store.id)
    await StoreCodeStock.filter(store_id=world.store.id).update(sold=1)
    coupon = await give_coupon(world, item)
    # The bare token, lower case (some scanners lower it), is read as well as the URL.
    response = await redeem(client, world.owner, coupon.token.lower())
    assert response.status_code == 201, response.text
    assert response.json()["sold_now"] is False
    stock = await StoreCodeStock.get(store_id=world.store.id, sku_id=world.shop.water)
    assert stock.sold == 1
    assert (await CodeScan.get(code_id=item.id)).items == 0
    assert await cash_balance(world.store) == 500


async def test_a_coupon_is_redeemed_once(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    coupon = await give_coupon(world, world.items[0])
    first = await redeem(client, world.owner, qr(deps, coupon))
    assert first.status_code == 201, first.text
    before = await snapshot(world)
    again = await redeem(client, world.owner, qr(deps, coupon))
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "codes.coupon_redeemed"
    assert "已于" in error["message"] and "本店" in error["message"]
    assert error["details"]["this_store"] is True
    assert await snapshot(world) == before


async def test_a_store_that_neither_sold_nor_holds_the_item_is_refused(
    client, sandbox_client, deps
) -> None:
    world = await make_world(client, sandbox_client, deps)
    held_by_neighbour = await give_coupon(world, world.items[3])
    before = await snapshot(world)
    response = await redeem(client, world.owner, qr(deps, held_by_neighbour))
    assert response.status_code == 409, response.text
    assert response.json()["error"] == {
        "code": "codes.coupon_other_store",
        "message": "该券只能在售出该商品的门店核销",
        "details": None,
    }
    assert await snapshot(world) == before
    # Sold by the neighbour: only the neighbour may redeem it; its redemption elsewhere is
    # then told apart from one here.
    await ProductCode.filter(id=world.items[4].id).update(
        sold_at=world.now, store_id=world.neighbour.id
    )
    sold_by_neighbour = await give_coupon(world, world.items[4])
    refused = await redeem(client, world.owner, qr(deps, sold_by_neighbour))
    assert refused.json()["error"]["code"] == "codes.coupon_other_store"
    done = await redeem(client, world.neighbour_owner, qr(deps, sold_by_neighbour))
    assert done.status_code == 201, done.text
    late = await redeem(client, world.owner, qr(deps, sold_by_neighbour))
    assert late.json()["error"]["code"] == "codes.coupon_redeemed"
    assert "其他门店" in late.json()["error"]["message"]
    # A box no store has received yet: nobody holds its items.
    await ProductCode.filter(id=world.boxes[0].id).update(store_id=None, received_at=None)
    unreceived = await give_coupon(world, world.items[2])
    refused = await redeem(client, world.owner, qr(deps, unreceived))
    assert refused.json()["error"]["code"] == "codes.coupon_other_store"


async def test_staff_may_not_redeem_their_own_coupon(client, sandbox_client, deps) -> None:
    """The owner checked an item with their own WeChat and got its coupon: redeeming it would
    have the brand pay the store for a sale to nobody."""
    world = await make_world(client, sandbox_client, deps)
    owner = await store_owner(client, sandbox_client, world.store)
    coupon = await give_coupon(world, world.items[0], user_id=owner["identity"]["user_id"])
    before = await snapshot(world)
    response = await redeem(client, world.owner, qr(deps, coupon))
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "codes.coupon_own"
    assert "顾客本人" in response.json()["error"]["message"]
    assert await snapshot(world) == before


async def test_a_coupon_a_clerk_of_the_store_took_is_not_redeemed_there(
    client, sandbox_client, deps
) -> None:
    """A clerk checked the store's own items and kept the coupons: the owner redeeming them
    would have the brand pay for sales to nobody. At the store that sold the item to a real
    consumer the same rule never bites: the consumer is nobody's staff."""
    from backend.identity import service as identity_service
    from backend.identity.models import User

    world = await make_world(client, sandbox_client, deps)
    clerk = await User.create(display_name="店员小李")
    await identity_service.grant_membership(
        clerk.id,
        Role.STORE_CLERK,
        world.shop.tenant.brand.id,
        distributor_id=world.store.distributor_id,  # type: ignore[attr-defined]
        store_id=world.store.id,
    )
    coupon = await give_coupon(world, world.items[0], user_id=clerk.id)
    before = await snapshot(world)
    response = await redeem(client, world.owner, qr(deps, coupon))
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "codes.coupon_own"
    assert "本店人员" in response.json()["error"]["message"]
    assert await snapshot(world) == before


async def test_an_expired_coupon_is_refused(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    coupon = await give_coupon(world, world.items[0], valid=timedelta(minutes=1))
    deps.clock.advance(minutes=1)
    before = await snapshot(world)
    response = await redeem(client, world.owner, qr(deps, coupon))
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "codes.coupon_expired"
    assert "过期" in error["message"]
    assert await snapshot(world) == before


async def test_unknown_forged_and_other_brands_coupons_are_not_found(
    client, sandbox_client, deps
) -> None:
    world = await make_world(client, sandbox_client, deps)
    await give_coupon(world, world.items[0])
    other_shop = await make_shop()
    other_store = await make_store(other_shop.tenant)
    _, _, other_items = await make_codes(other_shop, world.now, [other_store])
    other_campaign = await make_campaign(other_shop, world.now)
    foreign = await ConsumerCoupon.create(
        brand=other_shop.tenant.brand,
        campaign=other_campaign,
        code=other_items[0],
        user_id=world.consumer_id,
        token=new_token(),
        value_fen=500,
        expires_at=world.now + timedelta(days=30),
        created_at=world.now,
    )
    before = await snapshot(world)
    base = deps.settings.public_base_url
    for text in (
        coupon_url(base, new_token()),  # well formed, never issued
        new_token(),
        "ABC",  # not a token at all
        "https://evil.example/V/" + "I" * 20,  # letters outside the alphabet
        "x" * 512,
        qr(deps, foreign),  # another brand's
    ):
        response = await redeem(client, world.owner, text)
        assert response.status_code == 404, (text, response.text)
        assert response.json()["error"]["code"] == "codes.coupon_not_found"
        assert "电子券" in response.json()["error"]["message"]
    # The item's own code instead of the consumer's coupon: said so.
    wrong = await redeem(client, world.owner, code_url(base, world.items[0].token))
    assert wrong.status_code == 409, wrong.text
    assert wrong.json()["error"]["code"] == "codes.wrong_kind"
    assert "电子券" in wrong.json()["error"]["message"]
    assert await snapshot(world) == before


async def test_bad_payloads_are_refused_with_the_field(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    coupon = await give_coupon(world, world.items[0])
    url = f"{API}/redemptions"
    cases: list[tuple[Any, str]] = [
        ({}, "coupon"),
        ({"coupon": ""}, "coupon"),
        ({"coupon": "   "}, "coupon"),
        ({"coupon": 12345}, "coupon"),
        ({"coupon": ["a"]}, "coupon"),
        ({"coupon": "x" * 513}, "coupon"),
        ({"coupon": coupon.token, "latitude": 91}, "latitude"),
        ({"coupon": coupon.token, "longitude": "东经"}, "longitude"),
        ({"coupon": coupon.token, "store_id": 1}, "store_id"),
        ([coupon.token], "body"),
    ]
    before = await snapshot(world)
    for payload, field in cases:
        response = await client.post(url, json=payload, headers=world.owner)
        assert response.status_code == 400, (payload, response.text)
        error = response.json()["error"]
        assert error["code"] == "codes.invalid"
        assert field in [d["field"] for d in error["details"]], (payload, error)
    empty = await client.post(url, content=b"", headers=world.owner)
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "codes.invalid"
    broken = await client.post(
        url, content=b"{coupon", headers={**world.owner, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "codes.invalid"
    assert await snapshot(world) == before


async def test_only_store_staff_redeem(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    coupon = await give_coupon(world, world.items[0])
    consumer = bearer(await wechat_login(client, sandbox_client, "consumer-1"))
    admin = await staff_headers(client, world.shop.tenant.admin_username)
    distributor = await staff_headers(
        client,
        await make_staff(
            world.shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, world.shop.tenant.distributor.id
        ),
    )
    before = await snapshot(world)
    for headers in (consumer, admin, distributor):
        response = await redeem(client, headers, qr(deps, coupon))
        assert response.status_code == 403, response.text
    assert (await redeem(client, {}, qr(deps, coupon))).status_code == 401
    assert await snapshot(world) == before


async def test_concurrent_redemptions_of_one_coupon_pay_once(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    coupon = await give_coupon(world, world.items[0])
    clerk = await store_owner(client, sandbox_client, world.store, persona="clerk-1")
    heads = [world.owner, bearer(clerk)] * 3
    responses = await asyncio.gather(*(redeem(client, h, qr(deps, coupon)) for h in heads))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "codes.coupon_redeemed"
    }
    assert await LedgerEntry.filter(cause="c_coupon").count() == 1
    assert await cash_balance(world.store) == 500
    assert await CodeScan.filter(action="redeem").count() == 1
    stock = await StoreCodeStock.get(store_id=world.store.id, sku_id=world.shop.water)
    assert stock.sold == 1


async def test_concurrent_coupons_to_one_store_each_pay(client, sandbox_client, deps) -> None:
    """Many coupons redeemed at once by one store: every one credited, the balance their sum
    (posts to one account line up), the stock moved by each."""
    world = await make_world(client, sandbox_client, deps)
    users = [
        (await wechat_login(client, sandbox_client, f"c-{n}"))["identity"]["user_id"]
        for n in range(3)
    ]
    coupons = [await give_coupon(world, world.items[n], user_id=users[n]) for n in range(3)]
    responses = await asyncio.gather(*(redeem(client, world.owner, qr(deps, c)) for c in coupons))
    assert [r.status_code for r in responses] == [201, 201, 201], [r.text for r in responses]
    assert await cash_balance(world.store) == 1500
    stock = await StoreCodeStock.get(store_id=world.store.id, sku_id=world.shop.water)
    assert stock.sold == 3
    entries = await LedgerEntry.filter(cause="c_coupon").order_by("balance_after")
    assert [e.balance_after for e in entries] == [500, 1000, 1500]


async def test_a_redemption_where_the_box_was_diverted_is_marked(
    client, sandbox_client, deps
) -> None:
    """A box shipped to the tenant's distributor but received by a store of the other one:
    the store may redeem what it holds, and the scan is diversion for the brand to see."""
    world = await make_world(client, sandbox_client, deps)
    tenant = world.shop.tenant
    far = await make_store(tenant, distributor=tenant.other_distributor)
    _, boxes, items = await make_codes(world.shop, world.now, [far])
    await ProductCode.filter(id=boxes[0].id).update(distributor_id=tenant.distributor.id)
    far_owner = bearer(await store_owner(client, sandbox_client, far))
    coupon = await give_coupon(world, items[0])
    response = await redeem(client, far_owner, qr(deps, coupon))
    assert response.status_code == 201, response.text
    assert response.json()["diverted"] is True
    scan = await CodeScan.get(code_id=items[0].id)
    assert (scan.action, scan.diverted) == ("redeem", True)
    alert = await DiversionAlert.get(box_id=boxes[0].id, store_id=far.id)
    assert (alert.reason, alert.scan_action) == ("other_distributor", "redeem")
    assert alert.distributor_id == tenant.distributor.id  # type: ignore[attr-defined]


async def test_a_retried_request_with_its_key_answers_the_first_result(
    client, sandbox_client, deps
) -> None:
    world = await make_world(client, sandbox_client, deps)
    coupon = await give_coupon(world, world.items[0])
    headers = {**world.owner, "Idempotency-Key": "redeem-1"}
    first = await redeem(client, headers, qr(deps, coupon))
    second = await redeem(client, headers, qr(deps, coupon))
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await LedgerEntry.filter(cause="c_coupon").count() == 1


async def test_a_member_stays_with_the_store_that_brought_them(
    client, sandbox_client, deps
) -> None:
    world = await make_world(client, sandbox_client, deps)
    first = await give_coupon(world, world.items[3])  # held by the neighbour
    second = await give_coupon(world, world.items[0])
    assert (await redeem(client, world.neighbour_owner, qr(deps, first))).status_code == 201
    response = await redeem(client, world.owner, qr(deps, second))
    assert response.status_code == 201, response.text
    assert response.json()["member_attributed"] is False
    member = await BrandMember.get(user_id=world.consumer_id)
    assert member.store_id == world.neighbour.id  # type: ignore[attr-defined]
    # A consumer whose check did not make them a member yet becomes one on redemption.
    late = (await wechat_login(client, sandbox_client, "late"))["identity"]["user_id"]
    coupon = await ConsumerCoupon.create(
        brand=world.shop.tenant.brand,
        campaign=world.campaign,
        code=world.items[1],
        user_id=late,
        token=new_token(),
        value_fen=500,
        expires_at=world.now + timedelta(days=3),
        created_at=world.now,
    )
    assert (await redeem(client, world.owner, qr(deps, coupon))).status_code == 201
    joined = await BrandMember.get(user_id=late)
    assert joined.store_id == world.store.id  # type: ignore[attr-defined]


# ---- reading ----------------------------------------------------------------------------------


async def test_redemptions_as_each_side_sees_them(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    tenant = world.shop.tenant
    far = await make_store(tenant, distributor=tenant.other_distributor)
    _, _, far_items = await make_codes(world.shop, world.now, [far])
    far_owner = bearer(await store_owner(client, sandbox_client, far))
    redeemed = []
    for headers, item in (
        (world.owner, world.items[0]),
        (world.neighbour_owner, world.items[3]),
        (far_owner, far_items[0]),
        (world.owner, world.items[1]),
    ):
        coupon = await give_coupon(world, item)
        deps.clock.advance(minutes=1)
        assert (await redeem(client, headers, qr(deps, coupon))).status_code == 201
        redeemed.append(coupon.id)
    await give_coupon(world, world.items[2])  # issued, not redeemed: not listed

    admin = await staff_headers(client, tenant.admin_username)
    everything = await client.get(f"{API}/redemptions", headers=admin)
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert [row["id"] for row in body["items"]] == redeemed[::-1]  # newest redeemed first
    assert body["figures"] == {"count": 4, "value_fen": 2000, "stores": 3}
    row = body["items"][0]
    assert row["store"] == {"id": world.store.id, "name": world.store.name}
    assert row["distributor"] == {"id": tenant.distributor.id, "name": tenant.distributor.name}
    assert row["campaign"] == {"id": world.campaign.id, "name": "扫码领券"}
    assert row["product"]["name"] == "澜泉 RO 净水器 RO-500"
    assert row["code"]["serial_text"].endswith("-0000002")
    assert row["member_id"] == (await BrandMember.get(user_id=world.consumer_id)).id

    # Keyset pages, newest first, carry on where the last one stopped.
    page1 = (await client.get(f"{API}/redemptions?limit=3", headers=admin)).json()
    assert len(page1["items"]) == 3 and page1["next_before"] == page1["items"][-1]["id"]
    page2 = (
        await client.get(f"{API}/redemptions?limit=3&before={page1['next_before']}", headers=admin)
    ).json()
    assert [r["id"] for r in page1["items"] + page2["items"]] == redeemed[::-1]
    assert page2["next_before"] is None

    by_store = (
        await client.get(f"{API}/redemptions?store_id={world.store.id}", headers=admin)
    ).json()
    assert by_store["figures"]["count"] == 2
    other = tenant.other_distributor.id
    by_far = (await client.get(f"{API}/redemptions?distributor_id={other}", headers=admin)).json()
    assert [r["store"]["id"] for r in by_far["items"]] == [far.id]
    by_campaign = await client.get(
        f"{API}/redemptions?campaign_id={world.campaign.id}&sku_id={world.shop.water}",
        headers=admin,
    )
    assert by_campaign.json()["figures"]["count"] == 4
    none = await client.get(f"{API}/redemptions?sku_id={world.shop.filters}", headers=admin)
    assert none.json() == {
        "items": [],
        "next_before": None,
        "figures": {"count": 0, "value_fen": 0, "stores": 0},
    }
    today = deps.clock.now().astimezone().date().isoformat()
    tomorrow = (deps.clock.now() + timedelta(days=2)).date().isoformat()
    assert (await client.get(f"{API}/redemptions?from={tomorrow}", headers=admin)).json()[
        "figures"
    ]["count"] == 0
    yesterday = (deps.clock.now() - timedelta(days=2)).date().isoformat()
    ranged = await client.get(f"{API}/redemptions?from={yesterday}&to={tomorrow}", headers=admin)
    assert ranged.json()["figures"]["count"] == 4, today

    # A distributor sees its own stores' redemptions only, whatever it asks for.
    distributor = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    own = (await client.get(f"{API}/redemptions", headers=distributor)).json()
    assert {r["store"]["id"] for r in own["items"]} == {world.store.id, world.neighbour.id}
    assert own["figures"]["count"] == 3
    sneaky = await client.get(f"{API}/redemptions?distributor_id={other}", headers=distributor)
    assert sneaky.json()["items"] == []
    # A store sees its own, without the consumer's member id.
    mine = (await client.get(f"{API}/redemptions", headers=world.owner)).json()
    assert [r["id"] for r in mine["items"]] == [redeemed[3], redeemed[0]]
    assert all(r["member_id"] is None for r in mine["items"])
    peek = await client.get(f"{API}/redemptions?store_id={far.id}", headers=world.owner)
    assert peek.json()["items"] == []
    # Another brand sees none of it; a consumer may not read the list.
    stranger = await make_shop()
    theirs = await client.get(
        f"{API}/redemptions", headers=await staff_headers(client, stranger.tenant.admin_username)
    )
    assert theirs.json()["figures"]["count"] == 0
    consumer = bearer(await wechat_login(client, sandbox_client, "consumer-1"))
    assert (await client.get(f"{API}/redemptions", headers=consumer)).status_code == 403
    bad = await client.get(f"{API}/redemptions?from=2026-13-01", headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "codes.invalid"
    gone = await client.get(f"{API}/redemptions?before=999999", headers=admin)
    assert gone.json()["items"] == []


async def test_members_show_nothing_personal(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    tenant = world.shop.tenant
    # The consumer has a phone bound: it must never show.
    from backend.identity.models import User

    await User.filter(id=world.consumer_id).update(phone="13900001111", display_name="张三")
    first = await give_coupon(world, world.items[0])
    await give_coupon(world, world.items[1])
    assert (await redeem(client, world.owner, qr(deps, first))).status_code == 201
    browser = (await wechat_login(client, sandbox_client, "browser"))["identity"]["user_id"]
    await members.join(tenant.brand.id, browser, deps.clock.now())

    admin = await staff_headers(client, tenant.admin_username)
    response = await client.get(f"{API}/members", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["figures"] == {"members": 2, "attributed": 1}
    newest, oldest = body["items"]
    assert newest["store"] is None and newest["coupons"] == 0 and newest["redeemed"] == 0
    assert oldest["store"] == {"id": world.store.id, "name": world.store.name}
    assert (oldest["coupons"], oldest["redeemed"]) == (2, 1)
    assert set(oldest) == {"id", "joined_at", "store", "attributed_at", "coupons", "redeemed"}
    text = response.text
    assert "13900001111" not in text and "张三" not in text and "openid" not in text
    assert "phone" not in text

    attributed = await client.get(f"{API}/members?attributed=true", headers=admin)
    assert [m["id"] for m in attributed.json()["items"]] == [oldest["id"]]
    by_store = await client.get(f"{API}/members?store_id={world.neighbour.id}", headers=admin)
    assert by_store.json()["items"] == []
    by_distributor = await client.get(
        f"{API}/members?distributor_id={tenant.distributor.id}", headers=admin
    )
    assert by_distributor.json()["figures"]["members"] == 1
    paged = (await client.get(f"{API}/members?limit=1", headers=admin)).json()
    rest = (
        await client.get(f"{API}/members?limit=1&before={paged['next_before']}", headers=admin)
    ).json()
    assert [m["id"] for m in paged["items"] + rest["items"]] == [newest["id"], oldest["id"]]
    # Only the brand reads its members; another brand sees none of them.
    for headers in (
        world.owner,
        await staff_headers(
            client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
        ),
    ):
        assert (await client.get(f"{API}/members", headers=headers)).status_code == 403
    stranger = await make_shop()
    theirs = await client.get(
        f"{API}/members", headers=await staff_headers(client, stranger.tenant.admin_username)
    )
    assert theirs.json()["items"] == []


async def test_the_export_for_settling_with_stores(client, sandbox_client, deps) -> None:
    world = await make_world(client, sandbox_client, deps)
    tenant = world.shop.tenant
    far = await make_store(tenant, distributor=tenant.other_distributor)
    _, _, far_items = await make_codes(world.shop, world.now, [far])
    far_owner = bearer(await store_owner(client, sandbox_client, far))
    ids = []
    for headers, item in (
        (world.owner, world.items[0]),
        (far_owner, far_items[0]),
        (world.neighbour_owner, world.items[3]),
    ):
        coupon = await give_coupon(world, item)
        deps.clock.advance(minutes=1)
        assert (await redeem(client, headers, qr(deps, coupon))).status_code == 201
        ids.append(coupon.id)
    admin = await staff_headers(client, tenant.admin_username)
    response = await client.get(f"{API}/redemptions/export", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["券编号", "核销时间", "门店"]
    assert [int(r[0]) for r in rows[1:]] == ids  # in the order they were redeemed
    first = rows[1]
    assert first[2] == world.store.name and first[3] == tenant.distributor.name
    assert first[4] == "澜泉 RO 净水器 RO-500" and first[7] == "5.00" and first[8] == "扫码领券"
    # A distributor exports its own stores' only; the filters apply.
    distributor = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    own = await client.get(f"{API}/redemptions/export", headers=distributor)
    own_rows = list(csv.reader(io.StringIO(own.content.decode("utf-8-sig"))))
    assert [int(r[0]) for r in own_rows[1:]] == [ids[0], ids[2]]
    one = await client.get(f"{API}/redemptions/export", params={"store_id": far.id}, headers=admin)
    assert len(list(csv.reader(io.StringIO(one.content.decode("utf-8-sig"))))) == 2
    xlsx = await client.get(f"{API}/redemptions/export", params={"format": "xlsx"}, headers=admin)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = await client.get(f"{API}/redemptions/export", params={"format": "pdf"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "codes.invalid"
    assert (await client.get(f"{API}/redemptions/export", headers=world.owner)).status_code == 403

    # The export reads in keyset batches: in order, none twice, none left out.
    from backend.codes.redemptions import RedemptionFilter, export_rows
    from backend.identity.tokens import Principal

    principal = Principal(user_id=0, session_id="t", role="brand_admin", brand_id=tenant.brand.id)
    batches = [b async for b in export_rows(principal, RedemptionFilter(), size=2)]
    assert [len(b) for b in batches] == [2, 1]
    assert [row[0] for b in batches for row in b] == ids
