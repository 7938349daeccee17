"""Consumer campaigns (扫码领券活动): the brand writes a draft, publishes it (never two active
campaigns on one SKU at one time, also when two publish at once), changes only budget (up)
and end once it is out, ends it early; its figures count the coupons given and redeemed."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import httpx

from backend.codes.models import CodeCampaign, ConsumerCoupon, CouponStatus
from backend.identity.models import Role
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    make_shop,
    make_staff,
    staff_headers,
    store_owner,
    wechat_login,
)
from tests.test_codes_checks import ready_batch

API = "/api/v1/codes/campaigns"
KEYS = itertools.count(1)


def body(shop: Shop, now: datetime, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "扫码领红包",
        "sku_ids": [shop.water],
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
        "coupon_value_fen": 500,
        "coupon_valid_days": 30,
        "budget_fen": 100_000,
    }
    fields.update(overrides)
    return fields


async def admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    headers = await staff_headers(client, shop.tenant.admin_username)
    return {**headers, "Idempotency-Key": f"campaign-{next(KEYS)}"}


async def created(
    client: httpx.AsyncClient, shop: Shop, now: datetime, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        API, json=body(shop, now, **overrides), headers=await admin(client, shop)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def publish(client: httpx.AsyncClient, shop: Shop, campaign_id: int) -> httpx.Response:
    return await client.post(f"{API}/{campaign_id}/publish", headers=await admin(client, shop))


async def published(
    client: httpx.AsyncClient, shop: Shop, now: datetime, **overrides: Any
) -> dict[str, Any]:
    draft = await created(client, shop, now, **overrides)
    response = await publish(client, shop, draft["id"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def rows() -> list[tuple[Any, ...]]:
    return list(
        await CodeCampaign.all()
        .order_by("id")
        .values_list("id", "name", "status", "sku_ids", "ends_at", "budget_fen", "committed_fen")
    )


async def test_the_brand_creates_reads_and_lists_drafts(
    client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    draft = await created(client, shop, now, sku_ids=[shop.water, shop.filters, shop.water])
    assert draft["status"] == "draft" and draft["status_label"] == "草稿"
    assert draft["phase"] == "draft" and draft["actions"] == ["edit", "publish"]
    assert draft["sku_ids"] == [shop.water, shop.filters]
    assert [s["name"] for s in draft["skus"]] == ["澜泉 RO 净水器 RO-500", "澜泉 RO 净水器 滤芯"]
    assert draft["coupon_value_fen"] == 500 and draft["coupon_text"] == "¥5.00 到店抵扣券"
    assert (draft["budget_fen"], draft["committed_fen"], draft["budget_left_fen"]) == (
        100_000,
        0,
        100_000,
    )
    assert (draft["coupons_given"], draft["coupons_redeemed"], draft["redeemed_fen"]) == (0, 0, 0)
    assert datetime.fromisoformat(draft["starts_at"]).utcoffset() == timedelta(0)

    headers = await admin(client, shop)
    one = await client.get(f"{API}/{draft['id']}", headers=headers)
    assert one.json() == draft
    second = await created(client, shop, now, name="滤芯专享", sku_ids=[shop.filters])
    listed = (await client.get(API, headers=headers)).json()
    assert [c["id"] for c in listed["items"]] == [second["id"], draft["id"]]
    water_only = (await client.get(f"{API}?sku_id={shop.water}", headers=headers)).json()
    assert [c["id"] for c in water_only["items"]] == [draft["id"]]
    named = (await client.get(f"{API}?q=滤芯", headers=headers)).json()
    assert [c["id"] for c in named["items"]] == [second["id"]]
    paged = (await client.get(f"{API}?limit=1", headers=headers)).json()
    assert [c["id"] for c in paged["items"]] == [second["id"]] and paged["next_before"] == second[
        "id"
    ]
    assert (await client.get(f"{API}?status=active", headers=headers)).json()["items"] == []

    # The same Idempotency-Key answers the first campaign again.
    replay_headers = await admin(client, shop)
    first = await client.post(API, json=body(shop, now, name="重放"), headers=replay_headers)
    again = await client.post(API, json=body(shop, now, name="重放"), headers=replay_headers)
    assert first.json()["id"] == again.json()["id"]
    assert await CodeCampaign.filter(name="重放").count() == 1


async def test_bad_campaigns_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop, other = await make_shop(), await make_shop()
    headers = await admin(client, shop)
    cases = [
        ({"ends_at": (now - timedelta(hours=2)).isoformat()}, "ends_at"),
        ({"ends_at": (now + timedelta(days=800)).isoformat()}, "ends_at"),
        ({"starts_at": (now + timedelta(days=40)).isoformat()}, "ends_at"),
        ({"coupon_value_fen": 0}, "coupon_value_fen"),
        ({"coupon_value_fen": 100_001}, "coupon_value_fen"),
        ({"coupon_valid_days": 366}, "coupon_valid_days"),
        ({"budget_fen": 499}, "budget_fen"),
        ({"budget_fen": 10**15}, "budget_fen"),
        ({"sku_ids": []}, "sku_ids"),
        ({"sku_ids": [other.water]}, "sku_ids"),
        ({"sku_ids": [2**62]}, "sku_ids"),
        ({"sku_ids": list(range(1, 52))}, "sku_ids"),
        ({"name": ""}, "name"),
        ({"name": "名" * 41}, "name"),
        ({"starts_at": "2026-12-01T00:00:00"}, "starts_at"),  # no time zone
        ({"extra": 1}, "extra"),
        ({"coupon_value_fen": "五百"}, "coupon_value_fen"),
    ]
    for overrides, field in cases:
        response = await client.post(
            API,
            json=body(shop, now, **overrides),
            headers={**headers, "Idempotency-Key": f"bad-{field}-{next(KEYS)}"},
        )
        assert error(response) == (400, "codes.invalid"), overrides
        details = response.json()["error"]["details"]
        assert field in [d["field"] for d in details], (overrides, details)
        assert all(d["message"] for d in details)
    no_key = await client.post(
        API, json=body(shop, now), headers=await staff_headers(client, shop.tenant.admin_username)
    )
    assert no_key.status_code == 422
    assert await rows() == []


async def test_only_the_brands_staff_reach_its_campaigns(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop, other = await make_shop(), await make_shop()
    draft = await created(client, shop, now)
    outsider = await admin(client, other)
    for method, path in (
        ("GET", f"{API}/{draft['id']}"),
        ("PATCH", f"{API}/{draft['id']}"),
        ("POST", f"{API}/{draft['id']}/publish"),
        ("POST", f"{API}/{draft['id']}/end"),
        ("GET", f"{API}/999999"),
    ):
        kwargs: dict[str, Any] = {"json": {"name": "改名"}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=outsider, **kwargs)
        assert error(response) == (404, "codes.campaign_not_found"), (method, path)
    assert (await client.get(API, headers=outsider)).json()["items"] == []
    ops = await staff_headers(client, await make_staff(shop.tenant.brand.id, Role.BRAND_OPS))
    assert (await client.get(f"{API}/{draft['id']}", headers=ops)).status_code == 200
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    consumer = await wechat_login(client, sandbox_client, "just-a-consumer")
    for headers in (await distributor_admin(client, shop), bearer(owner), bearer(consumer)):
        assert (await client.get(API, headers=headers)).status_code == 403
        response = await client.post(f"{API}/{draft['id']}/publish", headers=headers)
        assert response.status_code == 403
    assert (await client.get(API)).status_code == 401
    assert [r[2] for r in await rows()] == ["draft"]


async def test_publishing_refuses_an_overlap_on_a_shared_sku(
    client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    first = await published(client, shop, now, sku_ids=[shop.water, shop.filters])
    assert first["status"] == "active" and first["phase"] == "running"
    assert first["status_label"] == "已发布" and first["actions"] == ["edit", "end"]

    clash = await created(
        client,
        shop,
        now,
        name="冲突活动",
        sku_ids=[shop.filters, shop.unsold],
        starts_at=(now + timedelta(days=29)).isoformat(),
        ends_at=(now + timedelta(days=40)).isoformat(),
    )
    response = await publish(client, shop, clash["id"])
    assert error(response) == (409, "codes.campaign_overlap")
    assert "扫码领红包" in response.json()["error"]["message"]
    assert response.json()["error"]["details"] == [
        {"campaign_id": first["id"], "name": "扫码领红包", "sku_ids": [shop.filters]}
    ]
    assert (await CodeCampaign.get(id=clash["id"])).status == "draft"

    # Right after the first ends, or on another SKU, is no overlap.
    after = await created(
        client,
        shop,
        now,
        starts_at=first["ends_at"],
        ends_at=(now + timedelta(days=50)).isoformat(),
    )
    assert (await publish(client, shop, after["id"])).status_code == 200
    elsewhere = await published(client, shop, now, sku_ids=[shop.unsold])
    assert elsewhere["phase"] == "running"
    # Another brand's campaigns never clash with ours.
    other = await make_shop()
    assert (await published(client, other, now, sku_ids=[other.water]))["status"] == "active"
    # A draft or an ended campaign does not block.
    await created(client, shop, now, sku_ids=[shop.unsold])
    ended = await client.post(f"{API}/{elsewhere['id']}/end", headers=await admin(client, shop))
    assert ended.status_code == 200
    again = await published(client, shop, now, sku_ids=[shop.unsold])
    assert again["status"] == "active"


async def test_concurrent_publishes_of_overlapping_campaigns_give_one(
    client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    drafts = [await created(client, shop, now, name=f"活动{n}") for n in range(4)]
    answers = await asyncio.gather(*(publish(client, shop, d["id"]) for d in drafts))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    assert {error(a)[1] for a in answers if a.status_code == 409} == {"codes.campaign_overlap"}
    assert sorted(r[2] for r in await rows()) == ["active", "draft", "draft", "draft"]


async def test_a_draft_changes_freely_and_a_published_one_only_in_budget_and_end(
    client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    headers = await admin(client, shop)
    draft = await created(client, shop, now)
    changed = await client.patch(
        f"{API}/{draft['id']}",
        json={"name": "新名字", "sku_ids": [shop.filters], "coupon_value_fen": 800},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["sku_ids"]) == ("新名字", [shop.filters])
    refused = await client.patch(f"{API}/{draft['id']}", json={"budget_fen": 700}, headers=headers)
    assert error(refused) == (400, "codes.invalid")
    assert error(
        await client.patch(f"{API}/{draft['id']}", json={"name": None}, headers=headers)
    ) == (
        400,
        "codes.invalid",
    )

    live = await published(client, shop, now)
    before = await rows()
    for change, code in (
        ({"name": "改名"}, "codes.campaign_locked"),
        ({"coupon_value_fen": 100}, "codes.campaign_locked"),
        ({"sku_ids": [shop.unsold]}, "codes.campaign_locked"),
        ({"budget_fen": 99_999}, "codes.campaign_locked"),
        ({"ends_at": (now - timedelta(minutes=1)).isoformat()}, "codes.invalid"),
        ({"ends_at": (now + timedelta(days=900)).isoformat()}, "codes.invalid"),
    ):
        response = await client.patch(f"{API}/{live['id']}", json=change, headers=headers)
        assert error(response) == (409 if code != "codes.invalid" else 400, code), change
    assert await rows() == before
    # What equals the current value is no change at all.
    same = await client.patch(
        f"{API}/{live['id']}", json={"name": live["name"], "budget_fen": 200_000}, headers=headers
    )
    assert same.status_code == 200 and same.json()["budget_fen"] == 200_000
    later = (now + timedelta(days=60)).isoformat()
    moved = await client.patch(f"{API}/{live['id']}", json={"ends_at": later}, headers=headers)
    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["ends_at"]) == datetime.fromisoformat(later)

    # Moving the end into another active campaign on the same SKU is an overlap.
    next_one = await published(
        client,
        shop,
        now,
        name="下一期",
        starts_at=(now + timedelta(days=61)).isoformat(),
        ends_at=(now + timedelta(days=90)).isoformat(),
    )
    overlap = await client.patch(
        f"{API}/{live['id']}",
        json={"ends_at": (now + timedelta(days=70)).isoformat()},
        headers=headers,
    )
    assert error(overlap) == (409, "codes.campaign_overlap")
    assert overlap.json()["error"]["details"][0]["campaign_id"] == next_one["id"]

    ended = await client.post(f"{API}/{live['id']}/end", headers=headers)
    assert ended.status_code == 200
    assert (ended.json()["status"], ended.json()["phase_label"]) == ("ended", "已提前结束")
    assert ended.json()["actions"] == []
    response = await client.patch(
        f"{API}/{live['id']}", json={"budget_fen": 300_000}, headers=headers
    )
    assert error(response) == (409, "codes.campaign_ended")
    assert error(await client.post(f"{API}/{live['id']}/end", headers=headers)) == (
        409,
        "codes.campaign_not_active",
    )
    assert error(await publish(client, shop, live["id"])) == (409, "codes.campaign_not_draft")
    assert error(await client.post(f"{API}/{draft['id']}/end", headers=headers)) == (
        409,
        "codes.campaign_not_active",
    )


async def test_a_draft_whose_end_has_passed_is_not_published(
    client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    draft = await created(client, shop, now, ends_at=(now + timedelta(hours=1)).isoformat())
    deps.clock.advance(hours=2)
    response = await publish(client, shop, draft["id"])
    assert error(response) == (400, "codes.invalid")
    assert response.json()["error"]["details"][0]["field"] == "ends_at"
    assert (await CodeCampaign.get(id=draft["id"])).status == "draft"


async def test_figures_count_coupons_given_and_redeemed(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    now = deps.clock.now()
    shop = await make_shop()
    made = await ready_batch(shop)
    live = await published(client, shop, now, coupon_value_fen=600, budget_fen=1_500)
    for n in range(3):
        who = await wechat_login(client, sandbox_client, f"fig-{n}")
        await client.post(
            "/api/v1/codes/checks", json={"code": made.items[n].token}, headers=bearer(who)
        )
    redeemed = await ConsumerCoupon.filter(campaign_id=live["id"]).order_by("id").first()
    assert redeemed is not None
    await ConsumerCoupon.filter(id=redeemed.id).update(
        status=CouponStatus.REDEEMED.value, redeemed_at=now, store_id=shop.tenant.store.id
    )
    view = (await client.get(f"{API}/{live['id']}", headers=await admin(client, shop))).json()
    assert (view["coupons_given"], view["coupons_redeemed"], view["redeemed_fen"]) == (2, 1, 600)
    assert (view["committed_fen"], view["budget_left_fen"]) == (1_200, 300)
    listed = (await client.get(API, headers=await admin(client, shop))).json()["items"][0]
    assert listed["coupons_given"] == 2 and listed["redeemed_fen"] == 600
    # More budget lets the next consumer have one.
    grown = await client.patch(
        f"{API}/{live['id']}", json={"budget_fen": 1_800}, headers=await admin(client, shop)
    )
    assert grown.json()["budget_left_fen"] == 600
