"""Consumers' genuine checks (扫码验真) and e-coupons (一物一码电子券): counting, the first
check's time, one coupon per code bound to the first consumer, the budget never passed (also
when many check at once), refusals that write nothing, and the consumer's own coupon list."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from backend.codes.models import (
    BatchStatus,
    BrandMember,
    CodeBatch,
    CodeCampaign,
    CodeKind,
    CodeScan,
    ConsumerCoupon,
    CouponStatus,
    ProductCode,
)
from backend.codes.tokens import code_url, new_tokens
from tests.factories import Shop, bearer, idempotent, make_shop, staff_headers, wechat_login

API = "/api/v1/codes"
BATCH_NOS = itertools.count(1)


@dataclass
class Batch:
    batch: CodeBatch
    boxes: list[ProductCode]
    items: list[ProductCode]


async def ready_batch(
    shop: Shop,
    sku_id: int | None = None,
    *,
    boxes: int = 2,
    items_per_box: int = 3,
    status: BatchStatus = BatchStatus.READY,
) -> Batch:
    """A batch of the shop's SKU with its codes written directly (as the batch job would)."""
    batch = await CodeBatch.create(
        brand_id=shop.tenant.brand.id,
        sku_id=sku_id or shop.water,
        batch_no=f"2026120{next(BATCH_NOS)}",
        produced_on=datetime(2026, 12, 1).date(),
        boxes=boxes,
        items_per_box=items_per_box,
        status=status.value,
        written=boxes * (items_per_box + 1),
    )
    tokens = iter(new_tokens(boxes * (items_per_box + 1)))
    box_codes = [
        await ProductCode.create(
            brand_id=batch.brand_id,  # type: ignore[attr-defined]
            batch=batch,
            kind=CodeKind.BOX.value,
            token=next(tokens),
            serial=n,
        )
        for n in range(1, boxes + 1)
    ]
    item_codes = [
        await ProductCode.create(
            brand_id=batch.brand_id,  # type: ignore[attr-defined]
            batch=batch,
            kind=CodeKind.ITEM.value,
            token=next(tokens),
            serial=n,
            box=box_codes[(n - 1) // items_per_box],
        )
        for n in range(1, boxes * items_per_box + 1)
    ]
    return Batch(batch, box_codes, item_codes)


async def campaign(
    shop: Shop,
    now: datetime,
    *,
    sku_ids: list[int] | None = None,
    status: str = "active",
    value: int = 500,
    budget: int = 100_000,
    days: int = 30,
    starts: timedelta = timedelta(hours=-1),
    ends: timedelta = timedelta(days=7),
) -> CodeCampaign:
    return await CodeCampaign.create(
        brand_id=shop.tenant.brand.id,
        name="扫码领红包",
        sku_ids=sku_ids or [shop.water],
        starts_at=now + starts,
        ends_at=now + ends,
        coupon_value_fen=value,
        coupon_valid_days=days,
        budget_fen=budget,
        status=status,
    )


async def consumer(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, persona: str
) -> dict[str, Any]:
    """A WeChat user signed in with nothing more: no phone, no store."""
    return await wechat_login(client, sandbox_client, persona)


async def check(
    client: httpx.AsyncClient, who: dict[str, Any], code: str, **headers: str
) -> httpx.Response:
    return await client.post(
        f"{API}/checks", json={"code": code}, headers={**bearer(who), **headers}
    )


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def snapshot() -> tuple[Any, ...]:
    """What a refused check must leave as it was."""
    codes = await ProductCode.all().order_by("id").values_list("checks", "first_checked_at")
    return (
        tuple(codes),
        await CodeScan.all().count(),
        await ConsumerCoupon.all().count(),
        await BrandMember.all().count(),
        tuple(await CodeCampaign.all().order_by("id").values_list("committed_fen", flat=True)),
    )


async def test_a_consumer_checks_an_item_and_every_check_counts(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    made = await ready_batch(shop)
    item = made.items[0]
    alice = await consumer(client, sandbox_client, "alice")

    first = await check(client, alice, code_url(deps.settings.public_base_url, item.token))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["genuine"] is True
    assert body["checks"] == 1 and body["first_check"] is True
    assert body["product"]["sku_id"] == shop.water
    assert body["product"]["name"] == "澜泉 RO 净水器 RO-500"
    assert body["batch"] == {"batch_no": made.batch.batch_no, "produced_on": "2026-12-01"}
    assert body["brand"]["name"] == shop.tenant.brand.name
    assert body["coupon"] is None and body["coupon_note"] == ""
    first_at = body["first_checked_at"]

    deps.clock.advance(hours=2)
    bob = await consumer(client, sandbox_client, "bob")
    # A bare token, lower-cased, is the same code.
    again = await check(client, bob, item.token.lower())
    assert again.status_code == 200, again.text
    assert again.json()["checks"] == 2
    assert again.json()["first_check"] is False
    assert again.json()["first_checked_at"] == first_at

    await item.refresh_from_db()
    assert item.checks == 2 and item.first_checked_at is not None
    scans = await CodeScan.filter(code_id=item.id).order_by("id")
    assert [(s.action, s.store_id, s.items) for s in scans] == [("check", None, 0)] * 2
    assert {s.user_id for s in scans} == {alice["identity"]["user_id"], bob["identity"]["user_id"]}
    # Both became members of the brand, once each however often they check.
    await check(client, alice, item.token)
    members = await BrandMember.filter(brand_id=shop.tenant.brand.id).values_list(
        "user_id", "store_id"
    )
    assert sorted(members) == sorted(
        [(alice["identity"]["user_id"], None), (bob["identity"]["user_id"], None)]
    )


async def test_refused_checks_write_nothing(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    made = await ready_batch(shop)
    unready = await ready_batch(shop, status=BatchStatus.GENERATING)
    await campaign(shop, deps.clock.now())
    alice = await consumer(client, sandbox_client, "alice")
    before = await snapshot()

    box = await check(client, alice, made.boxes[0].token)
    assert error(box) == (409, "codes.wrong_kind")
    assert "商品上的码" in box.json()["error"]["message"]
    forged = made.items[0].token[:-1] + ("0" if made.items[0].token[-1] != "0" else "1")
    for text in (
        forged,
        "not a code",
        "https://evil.example/C/" + "Z" * 19,
        unready.items[0].token,
        "I" * 20,  # outside the alphabet
        "x" * 512,
    ):
        response = await check(client, alice, text)
        assert error(response) == (404, "codes.not_found"), text
        assert "无法识别" in response.json()["error"]["message"]
    for payload in ({}, {"code": ""}, {"code": 42}, {"code": "x" * 513}, {"code": "A", "x": 1}):
        response = await client.post(f"{API}/checks", json=payload, headers=bearer(alice))
        assert error(response)[0] == 400 and error(response)[1] == "codes.invalid", payload
    assert (
        await client.post(f"{API}/checks", json={"code": made.items[0].token})
    ).status_code == 401
    assert await snapshot() == before


async def test_the_first_consumer_gets_the_coupon_and_keeps_it(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    made = await ready_batch(shop)
    running = await campaign(shop, now, value=888, days=15)
    alice = await consumer(client, sandbox_client, "alice")
    bob = await consumer(client, sandbox_client, "bob")
    item = made.items[0]

    got = (await check(client, alice, item.token)).json()
    coupon = got["coupon"]
    assert coupon is not None and got["coupon_note"] == ""
    assert coupon["value_fen"] == 888 and coupon["value_text"] == "¥8.88"
    assert coupon["status"] == "issued" and coupon["status_label"] == "可使用"
    assert coupon["qr_text"] == f"{deps.settings.public_base_url.rstrip('/')}/V/{coupon['token']}"
    assert coupon["campaign"] == {"id": running.id, "name": "扫码领红包"}
    expires = datetime.fromisoformat(coupon["expires_at"])
    assert abs(expires - (now + timedelta(days=15))) < timedelta(minutes=1)
    row = await ConsumerCoupon.get(id=coupon["id"])
    assert (row.user_id, row.code_id, row.value_fen) == (  # type: ignore[attr-defined]
        alice["identity"]["user_id"],
        item.id,
        888,
    )
    await running.refresh_from_db()
    assert running.committed_fen == 888

    # Another consumer checking the same item later: genuine, but the coupon is taken.
    other = (await check(client, bob, item.token)).json()
    assert other["coupon"] is None and other["coupon_note"] == "该商品的券已被领取"
    assert other["checks"] == 2
    # The first consumer sees their coupon again, not a second one.
    again = (await check(client, alice, item.token)).json()
    assert again["coupon"]["id"] == coupon["id"] and again["coupon"]["token"] == coupon["token"]
    assert await ConsumerCoupon.all().count() == 1
    await running.refresh_from_db()
    assert running.committed_fen == 888

    # Another item of the same SKU gives bob his own coupon.
    bobs = (await check(client, bob, made.items[1].token)).json()["coupon"]
    assert bobs is not None and bobs["token"] != coupon["token"]


async def test_no_coupon_without_a_running_campaign_for_the_sku(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    water = await ready_batch(shop)
    filters = await ready_batch(shop, shop.filters)
    await campaign(shop, now, status="draft")
    await campaign(shop, now, status="ended")
    await campaign(shop, now, starts=timedelta(days=1), ends=timedelta(days=3))
    await campaign(shop, now, starts=timedelta(days=-3), ends=timedelta(seconds=-1))
    await campaign(shop, now, sku_ids=[shop.unsold])
    other_brand = await make_shop()
    await campaign(other_brand, now, sku_ids=[other_brand.water])
    alice = await consumer(client, sandbox_client, "alice")

    for item in (water.items[0], filters.items[0]):
        body = (await check(client, alice, item.token)).json()
        assert body["coupon"] is None and body["coupon_note"] == ""
    assert await ConsumerCoupon.all().count() == 0
    assert set(await CodeCampaign.all().values_list("committed_fen", flat=True)) == {0}


async def test_the_budget_is_never_passed(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    made = await ready_batch(shop)
    running = await campaign(shop, deps.clock.now(), value=500, budget=1_200)
    people = [await consumer(client, sandbox_client, f"p{n}") for n in range(3)]

    answers = [
        (await check(client, who, made.items[n].token)).json() for n, who in enumerate(people)
    ]
    assert [a["coupon"] is not None for a in answers] == [True, True, False]
    assert answers[2]["coupon_note"] == "活动券已发完"
    await running.refresh_from_db()
    assert running.committed_fen == 1_000


async def test_an_ended_campaign_gives_nothing_more_but_its_coupons_stand(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    made = await ready_batch(shop)
    running = await campaign(shop, deps.clock.now())
    alice = await consumer(client, sandbox_client, "alice")
    given = (await check(client, alice, made.items[0].token)).json()["coupon"]
    running.status = "ended"
    await running.save()
    later = (await check(client, alice, made.items[1].token)).json()
    assert later["coupon"] is None
    again = (await check(client, alice, made.items[0].token)).json()
    assert again["coupon"]["id"] == given["id"] and again["coupon"]["status"] == "issued"


async def test_concurrent_checks_of_one_code_give_one_coupon(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    made = await ready_batch(shop)
    running = await campaign(shop, deps.clock.now(), value=300)
    people = [await consumer(client, sandbox_client, f"c{n}") for n in range(8)]
    item = made.items[0]

    answers = await asyncio.gather(*(check(client, who, item.token) for who in people))
    assert {a.status_code for a in answers} == {200}
    bodies = [a.json() for a in answers]
    holders = [b for b in bodies if b["coupon"] is not None]
    assert len(holders) == 1
    assert sorted(b["checks"] for b in bodies) == list(range(1, 9))
    assert sum(b["first_check"] for b in bodies) == 1
    assert {b["coupon_note"] for b in bodies if b["coupon"] is None} == {"该商品的券已被领取"}
    assert await ConsumerCoupon.all().count() == 1
    await running.refresh_from_db()
    assert running.committed_fen == 300
    await item.refresh_from_db()
    assert item.checks == 8
    assert await CodeScan.filter(code_id=item.id).count() == 8


async def test_concurrent_checks_of_many_codes_stay_inside_the_budget(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    made = await ready_batch(shop, boxes=3, items_per_box=3)
    running = await campaign(shop, deps.clock.now(), value=400, budget=1_300)
    people = [await consumer(client, sandbox_client, f"m{n}") for n in range(9)]

    answers = await asyncio.gather(
        *(check(client, who, made.items[n].token) for n, who in enumerate(people))
    )
    bodies = [a.json() for a in answers]
    assert sum(b["coupon"] is not None for b in bodies) == 3
    assert {b["coupon_note"] for b in bodies if b["coupon"] is None} == {"活动券已发完"}
    await running.refresh_from_db()
    assert running.committed_fen == 1_200
    assert await ConsumerCoupon.all().count() == 3


async def test_a_replayed_check_counts_once(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    made = await ready_batch(shop)
    alice = await consumer(client, sandbox_client, "alice")
    item = made.items[0]
    headers = idempotent(alice, "check-1")
    first = await client.post(f"{API}/checks", json={"code": item.token}, headers=headers)
    again = await client.post(f"{API}/checks", json={"code": item.token}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    await item.refresh_from_db()
    assert item.checks == 1


async def test_a_consumer_lists_their_own_coupons_of_every_brand(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop, other = await make_shop(), await make_shop()
    ours, theirs = await ready_batch(shop), await ready_batch(other)
    await campaign(shop, now, days=3)
    await campaign(other, now, sku_ids=[other.water], days=30)
    alice = await consumer(client, sandbox_client, "alice")
    bob = await consumer(client, sandbox_client, "bob")

    first = (await check(client, alice, ours.items[0].token)).json()["coupon"]
    second = (await check(client, alice, theirs.items[0].token)).json()["coupon"]
    await check(client, bob, ours.items[1].token)
    # A store redeemed the second one (part E2 does this through its endpoint).
    await ConsumerCoupon.filter(id=second["id"]).update(
        status=CouponStatus.REDEEMED.value, redeemed_at=now, store_id=other.tenant.store.id
    )

    listed = await client.get(f"{API}/consumer-coupons", headers=bearer(alice))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [c["id"] for c in items] == [second["id"], first["id"]]
    assert items[0]["status"] == "redeemed" and items[0]["status_label"] == "已核销"
    assert items[0]["brand"]["name"] == other.tenant.brand.name
    assert items[0]["store"] == {"id": other.tenant.store.id, "name": other.tenant.store.name}
    assert items[1]["brand"]["name"] == shop.tenant.brand.name
    assert items[1]["product"]["name"] == "澜泉 RO 净水器 RO-500"
    assert items[1]["store"] is None and items[1]["qr_text"].endswith(f"/V/{first['token']}")

    deps.clock.advance(days=4)
    alice = await consumer(client, sandbox_client, "alice")  # the old sign-in has expired
    bob = await consumer(client, sandbox_client, "bob")
    expired = await client.get(f"{API}/consumer-coupons?state=expired", headers=bearer(alice))
    assert [(c["id"], c["status_label"]) for c in expired.json()["items"]] == [
        (first["id"], "已过期")
    ]
    usable = await client.get(f"{API}/consumer-coupons?state=issued", headers=bearer(alice))
    assert usable.json()["items"] == []
    paged = await client.get(f"{API}/consumer-coupons?limit=1", headers=bearer(alice))
    assert [c["id"] for c in paged.json()["items"]] == [second["id"]]
    rest = await client.get(
        f"{API}/consumer-coupons?limit=1&before={paged.json()['next_before']}",
        headers=bearer(alice),
    )
    assert [c["id"] for c in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_before"] is None
    # Bob sees only his own; the brand's staff see none of the consumers' (they are nobody's).
    bobs = (await client.get(f"{API}/consumer-coupons", headers=bearer(bob))).json()["items"]
    assert len(bobs) == 1 and bobs[0]["id"] not in {first["id"], second["id"]}
    admin = await staff_headers(client, shop.tenant.admin_username)
    assert (await client.get(f"{API}/consumer-coupons", headers=admin)).json()["items"] == []
    bad = await client.get(f"{API}/consumer-coupons?state=lost", headers=bearer(alice))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "codes.invalid"
