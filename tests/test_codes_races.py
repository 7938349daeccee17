"""What the issue's bad-input bullet asks beyond each endpoint's own refusals, tried the way
people and networks do it: one item scanned out and its coupon redeemed at the same moment,
a box received at once by a store of its distributor and by a diverting store, an
Idempotency-Key sent again with another code, a coupon replayed from another store with
the first store's key, and a forged token that only looks right. Each gives one effect or
a clear refusal, and a refusal leaves nothing behind (alerts and notifications included)."""

from __future__ import annotations

import asyncio

from backend.codes.models import CodeScan, ConsumerCoupon, DiversionAlert, ProductCode
from backend.codes.tokens import code_url, new_token
from backend.identity.models import Role
from backend.ledger.models import LedgerEntry
from backend.notifications.models import Notification
from tests.factories import (
    idempotent,
    make_code_batch,
    make_shop,
    make_staff,
    make_store,
    store_owner,
)
from tests.test_codes_redemptions import cash_balance, give_coupon, make_world, qr, redeem, snapshot
from tests.test_codes_scans import error, scan, written

API = "/api/v1/codes"


async def test_an_item_scanned_out_and_redeemed_at_once_is_sold_once(
    client, sandbox_client, deps
) -> None:
    world = await make_world(client, sandbox_client, deps)
    item = world.items[0]
    coupon = await give_coupon(world, item)
    sold, redeemed = await asyncio.gather(
        client.post(
            f"{API}/scans", json={"code": item.token, "action": "sell"}, headers=world.owner
        ),
        redeem(client, world.owner, qr(deps, coupon)),
    )
    assert redeemed.status_code == 201, redeemed.text
    assert sold.status_code in (201, 409), sold.text
    if sold.status_code == 409:
        assert error(sold) == "codes.already_sold"
    # Either way the item is sold once, the stock counts one sale, the store is paid once.
    assert redeemed.json()["sold_now"] is (sold.status_code == 409)
    assert (await ProductCode.get(id=item.id)).sold_at is not None
    stock = (await snapshot(world))["stock"]
    assert [s["sold"] for s in stock if s["store_id"] == world.store.id] == [1]
    assert await LedgerEntry.filter(cause="c_coupon").count() == 1
    assert await cash_balance(world.store) == coupon.value_fen
    sold_items = sum(s.items for s in await CodeScan.filter(code_id=item.id))
    assert sold_items == 1  # one scan moved the item: the sale or the redemption


async def test_a_box_received_at_once_by_its_store_and_a_diverting_one(
    client, sandbox_client, deps
) -> None:
    """The losing scan rolls back whole: if the diverting store loses, its alert and the
    staff's notification go with it; if it wins, there is one alert and one notification."""
    shop = await make_shop()
    tenant = shop.tenant
    await make_staff(tenant.brand.id, Role.BRAND_OPS)
    far = await make_store(tenant, distributor=tenant.other_distributor, name="外区门店")
    home, away = (
        await store_owner(client, sandbox_client, tenant.store),
        await store_owner(client, sandbox_client, far),
    )
    for round_number in range(3):
        codes = await make_code_batch(
            shop, shop.water, 1, 2, distributor_id=tenant.distributor.id,
            reward={"kind": "points", "amount": 10},
        )  # fmt: skip
        answers = await asyncio.gather(
            scan(client, home, codes.boxes[0], "receive"),
            scan(client, away, codes.boxes[0], "receive"),
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        winner = far if answers[1].status_code == 201 else tenant.store
        box = await ProductCode.get(id=codes.box_ids[0])
        assert box.store_id == winner.id  # type: ignore[attr-defined]
        alerts = await DiversionAlert.filter(box_id=box.id).count()
        assert alerts == (1 if winner == far else 0), round_number
        assert await LedgerEntry.filter(cause="open_box", cause_id=box.id).count() == 1
        assert await CodeScan.filter(code_id=box.id).count() == 1
    told = await Notification.filter(kind="diversion.raised").count()
    diverted_days = 1 if await DiversionAlert.all().exists() else 0
    assert told == 2 * diverted_days  # brand admin and ops, once on the one China day


async def test_a_key_sent_again_with_another_code_changes_nothing(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    codes = await make_code_batch(shop, shop.water, 2, 2)
    headers = idempotent(owner, "scan-key-reused")
    first = await client.post(
        f"{API}/scans", json={"code": codes.boxes[0], "action": "receive"}, headers=headers
    )
    assert first.status_code == 201
    before = await written()
    other = await client.post(
        f"{API}/scans", json={"code": codes.boxes[1], "action": "receive"}, headers=headers
    )
    assert other.status_code == 409, other.text
    assert error(other) == "idempotency.key_reused"
    assert other.json()["error"]["message"] == "该幂等键已用于内容不同的请求"
    assert await written() == before
    assert (await ProductCode.get(id=codes.box_ids[1])).store_id is None  # type: ignore[attr-defined]


async def test_a_coupon_replayed_by_another_store_with_the_first_stores_key(
    client, sandbox_client, deps
) -> None:
    """Keys are the sender's own: another store sending the same key and coupon is a new
    request, refused as a coupon redeemed elsewhere (and paid nothing)."""
    world = await make_world(client, sandbox_client, deps)
    coupon = await give_coupon(world, world.items[0])
    key = "redeem-replayed-elsewhere"
    mine = await client.post(
        f"{API}/redemptions",
        json={"coupon": qr(deps, coupon)},
        headers={**world.owner, "Idempotency-Key": key},
    )
    assert mine.status_code == 201
    before = await snapshot(world)
    theirs = await client.post(
        f"{API}/redemptions",
        json={"coupon": qr(deps, coupon)},
        headers={**world.neighbour_owner, "Idempotency-Key": key},
    )
    assert theirs.status_code == 409 and theirs.json()["error"]["code"] == "codes.coupon_redeemed"
    assert "其他门店" in theirs.json()["error"]["message"]
    assert await snapshot(world) == before
    assert await cash_balance(world.neighbour) == 0
    redeemed = await ConsumerCoupon.get(id=coupon.id)
    assert redeemed.store_id == world.store.id  # type: ignore[attr-defined]


async def test_forged_tokens_that_look_right_are_unknown(client, sandbox_client) -> None:
    """A token of the right alphabet and length that no code has, a real token with one
    character changed, a real token behind another site's URL path, and a coupon token sent
    as a code: each a clear refusal, nothing written."""
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    codes = await make_code_batch(shop, shop.water, 1, 2)
    real = codes.boxes[0]
    flipped = real[:-1] + ("0" if real[-1] != "0" else "1")
    before = await written()
    for text in (
        new_token(),
        flipped,
        code_url("https://example.com/x", new_token()),
        "https://example.com/V/" + new_token(),
    ):
        answer = await scan(client, owner, text, "receive")
        assert answer.status_code == 404, (text, answer.text)
        assert error(answer) == "codes.not_found"
        assert answer.json()["error"]["message"]
    assert await written() == before
    # The real token still works: the refusals changed nothing about it.
    assert (await scan(client, owner, real, "receive")).status_code == 201
