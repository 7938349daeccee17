"""What promotions, coupons and live sessions earned, from real orders, promotions, coupons
and sessions made through the services: a promotion's reached stores against themselves
before it and against the stores it did not reach, its cost and return; coupons from issued
to used or expired; live sessions from invited to ordered. Brand staff read their own brand
only; distributor staff their own sessions only."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import httpx

from backend.analytics.scope import china_day
from backend.identity.access import Principal
from backend.identity.models import Role, User
from backend.livestream import drops, rains
from backend.livestream import service as live_service
from backend.livestream.models import LiveInvitation, RedPacketRain
from backend.promotions.models import Promotion
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
)
from tests.test_coupons import issued_to_all, reduction_coupon, template, wallet
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_orders import keyed
from tests.test_live_sessions import API as LIVE_API
from tests.test_live_sessions import scheduled, session_body
from tests.test_promotions_admin import API as PROMOTIONS_API
from tests.test_promotions_admin import admin, reduction
from tests.test_promotions_ordering import running, two_purifiers

API = "/api/v1/analytics"
SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def filters(shop: Shop, quantity: int) -> dict[str, Any]:
    return {"lines": [{"sku_id": shop.filters, "quantity": quantity}]}  # 100.00 each


async def ordered(
    client: httpx.AsyncClient, owner: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    placed = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


async def paid(client: httpx.AsyncClient, dealer: dict[str, str], order: dict[str, Any]) -> None:
    answer = await client.post(
        f"/api/v1/orders/{order['id']}/offline-payment", json={"note": "现金"}, headers=dealer
    )
    assert answer.status_code == 201, answer.text


def xlsx_rows(response: httpx.Response) -> list[list[str]]:
    """The first sheet's cells as text, header row first."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].endswith("spreadsheetml.sheet")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        strings = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{SHEET}t")) for si in strings]
    sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    return [
        [
            shared[int(cell.findtext(f"{SHEET}v") or "")]
            if cell.get("t") == "s"
            else cell.findtext(f"{SHEET}v") or ""
            for cell in row.iter(f"{SHEET}c")
        ]
        for row in sheet.iter(f"{SHEET}row")
    ]


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


# ---- promotions ------------------------------------------------------------------------------


async def test_a_promotions_reached_stores_are_compared_with_before_and_with_the_others(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    first, second, third = (
        shop.tenant.store,
        await make_store(shop.tenant),
        await make_store(shop.tenant),
    )
    a, b, c = [await store_owner(client, sandbox_client, s) for s in (first, second, third)]
    dealer = await distributor_admin(client, shop)
    now = deps.clock.now()
    # 满3000减300 from ten days ago for fifteen days: "during" is from its start until now,
    # "before" the ten days before its start.
    promotion = await running(
        client,
        shop,
        reduction(
            starts_at=(now - timedelta(days=10)).isoformat(),
            ends_at=(now + timedelta(days=5)).isoformat(),
            budget_fen=1_000_000,
        ),
    )
    draft = await client.post(
        PROMOTIONS_API,
        json=reduction(name="草稿活动"),
        headers=await admin(client, shop),
    )
    assert draft.status_code == 201, draft.text

    deps.clock.offset = timedelta(days=-25)  # before "before": counts nowhere
    await paid(client, dealer, await ordered(client, a, filters(shop, 50)))
    deps.clock.offset = timedelta(days=-15)  # before: the promotion is not running yet
    await paid(client, dealer, await ordered(client, a, filters(shop, 10)))  # 1000.00
    await paid(client, dealer, await ordered(client, c, filters(shop, 20)))  # 2000.00
    deps.clock.offset = timedelta(days=-5)  # during
    for owner in (a, b):  # 3998.00 - 300.00 each, with the promotion
        await paid(client, dealer, await ordered(client, owner, two_purifiers(shop)))
    cancelled = await ordered(client, b, two_purifiers(shop))
    answer = await client.post(
        f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason": "买错了"}, headers=bearer(b)
    )
    assert answer.status_code == 200, answer.text
    await paid(client, dealer, await ordered(client, c, filters(shop, 10)))  # no promotion
    unpaid = await ordered(client, c, two_purifiers(shop))  # holds it, never paid
    assert unpaid["promotions"][0]["promotion_id"] == promotion["id"]
    deps.clock.offset = timedelta()

    brand = await admin(client, shop)
    effect = (await client.get(f"{API}/promotions/{promotion['id']}", headers=brand)).json()
    assert effect["promotion"]["name"] == "满3000减300"
    assert effect["promotion"]["kind_name"] == "满减"
    assert (effect["orders"], effect["gmv_fen"]) == (2, 2 * 369_800)
    # Reached: the two stores that paid an order holding it (not the unpaid one's store).
    assert effect["reached"] == {
        "stores": 2,
        "during": {
            "orders": 2,
            "gmv_fen": 739_600,
            "orders_per_store": 1.0,
            "gmv_per_store_fen": 369_800,
        },
        "before": {
            "orders": 1,
            "gmv_fen": 100_000,
            "orders_per_store": 0.5,
            "gmv_per_store_fen": 50_000,
        },
        "change_pct": 639.6,
    }
    assert effect["others"] == {
        "stores": 1,
        "during": {
            "orders": 1,
            "gmv_fen": 100_000,
            "orders_per_store": 1.0,
            "gmv_per_store_fen": 100_000,
        },
        "before": {
            "orders": 1,
            "gmv_fen": 200_000,
            "orders_per_store": 1.0,
            "gmv_per_store_fen": 200_000,
        },
        "change_pct": -50.0,
    }
    # Per reached store +3198.00 against before, while the others fell 1000.00: 2 × 4198.00.
    assert effect["uplift"] == {
        "vs_before_pct": 639.6,
        "vs_others_pct": 269.8,
        "incremental_gmv_fen": 839_600,
    }
    # The budget still holds the unpaid order's 300.00; the cost counts paid orders only.
    assert effect["cost"] == {
        "discount_fen": 60_000,
        "gift_fen": 0,
        "rebate_fen": 0,
        "points": 0,
        "points_fen": 0,
        "total_fen": 60_000,
        "budget_fen": 1_000_000,
        "budget_spent_fen": 90_000,
        "budget_spent_pct": 9.0,
    }
    assert effect["return"] == {"ratio": 12.3, "orders_ratio": 12.3, "incremental_ratio": 14.0}

    today = china_day(deps.clock.now())
    listed = await client.get(
        f"{API}/promotions",
        params={"start": (today - timedelta(days=20)).isoformat(), "end": today.isoformat()},
        headers=brand,
    )
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["rows"]  # the draft never ran
    assert (row["id"], row["orders"], row["stores"], row["gmv_fen"]) == (
        promotion["id"],
        2,
        2,
        739_600,
    )
    assert (row["cost_fen"], row["budget_spent_fen"], row["roi"]) == (60_000, 90_000, 12.3)
    assert listed.json()["total"] == {
        "promotions": 1,
        "orders": 2,
        "gmv_fen": 739_600,
        "cost_fen": 60_000,
        "roi": 12.3,
    }
    # A period that ends before it started lists nothing.
    earlier = await client.get(
        f"{API}/promotions",
        params={"end": (today - timedelta(days=11)).isoformat()},
        headers=brand,
    )
    assert earlier.json()["rows"] == []

    sheet = xlsx_rows(
        await client.get(
            f"{API}/promotions.xlsx",
            params={"start": (today - timedelta(days=20)).isoformat()},
            headers=brand,
        )
    )
    assert sheet[0][:3] == ["活动", "类型", "状态"]
    assert sheet[1][0] == "满3000减300" and sheet[1][5:9] == ["2", "2", "7396.00", "600.00"]
    compared = xlsx_rows(
        await client.get(f"{API}/promotions/{promotion['id']}/effect.xlsx", headers=brand)
    )
    assert compared[1:] == [
        ["参与活动门店", "2", "2", "7396.00", "3698.00", "1", "1000.00", "500.00", "639.6%"],
        ["未参与门店", "1", "1", "1000.00", "1000.00", "1", "2000.00", "2000.00", "-50.0%"],
    ]


async def test_promotion_effect_is_the_brands_own_and_brand_staff_only(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, reduction())
    other = await admin(client, await make_shop())
    refused(
        await client.get(f"{API}/promotions/{promotion['id']}", headers=other),
        404,
        "analytics.promotion_not_found",
    )
    refused(
        await client.get(f"{API}/promotions/999999", headers=await admin(client, shop)),
        404,
        "analytics.promotion_not_found",
    )
    assert (await client.get(f"{API}/promotions", headers=other)).json()["rows"] == []
    dealer = await distributor_admin(client, shop)
    for path in ("promotions", f"promotions/{promotion['id']}", "coupons"):
        assert (await client.get(f"{API}/{path}", headers=dealer)).status_code == 403
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    assert (await client.get(f"{API}/live", headers=bearer(owner))).status_code == 403
    # Reading changes nothing.
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 0


async def test_a_bad_period_is_refused_with_a_stable_code(client) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    for params in (
        {"start": "2026-03-02", "end": "2026-03-01"},
        {"start": "2024-01-01", "end": "2026-01-01"},
    ):
        for path in ("promotions", "coupons", "live", "live.xlsx"):
            answer = await client.get(f"{API}/{path}", params=params, headers=brand)
            refused(answer, 400, "analytics.invalid_period")
            assert "统计区间" in answer.json()["error"]["message"]
    malformed = await client.get(f"{API}/coupons", params={"start": "yesterday"}, headers=brand)
    assert malformed.status_code in (400, 422), malformed.text
    assert malformed.status_code != 500


# ---- coupons ---------------------------------------------------------------------------------


async def test_coupons_from_issued_and_claimed_to_used_and_expired(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    first, second, third = (
        shop.tenant.store,
        await make_store(shop.tenant),
        await make_store(shop.tenant),
    )
    a, b, _ = [await store_owner(client, sandbox_client, s) for s in (first, second, third)]
    dealer = await distributor_admin(client, shop)

    deps.clock.offset = timedelta(days=-60)  # out of the period asked below
    old = await template(client, shop, reduction_coupon(name="旧券"))
    await issued_to_all(client, shop, old["id"])
    deps.clock.offset = timedelta(days=-3)  # valid one day: all three expired by now
    short = await template(client, shop, reduction_coupon(name="限时券", valid_days=1))
    await issued_to_all(client, shop, short["id"])
    deps.clock.offset = timedelta()
    main = await template(client, shop, reduction_coupon(claimable=True, per_store_limit=1))
    await issued_to_all(client, shop, main["id"])
    claim = await client.post(
        f"/api/v1/coupons/templates/{main['id']}/claim", headers=idempotent(a)
    )
    assert claim.status_code == 201, claim.text
    mine = [c for c in await wallet(client, a) if c["template_id"] == main["id"]]
    used = await ordered(client, a, {**two_purifiers(shop), "coupon_id": mine[0]["id"]})
    assert used["payable_fen"] == 379_800
    await paid(client, dealer, used)
    [theirs] = [c for c in await wallet(client, b) if c["template_id"] == main["id"]]
    await ordered(client, b, {**two_purifiers(shop), "coupon_id": theirs["id"]})  # unpaid

    brand = await admin(client, shop)
    report = (await client.get(f"{API}/coupons", headers=brand)).json()
    assert report["rows"] == [
        {
            "template_id": short["id"],
            "name": "限时券",
            "kind_name": "满减券",
            "issued": 3,
            "claimed": 0,
            "received": 3,
            "used": 0,
            "expired": 3,
            "unused": 0,
            "use_pct": 0.0,
            "expire_pct": 100.0,
            "orders": 0,
            "gmv_fen": 0,
            "discount_fen": 0,
            "roi": None,
        },
        {
            "template_id": main["id"],
            "name": "满3000减200",
            "kind_name": "满减券",
            "issued": 3,
            "claimed": 1,
            "received": 4,
            "used": 2,
            "expired": 0,
            "unused": 2,
            "use_pct": 50.0,
            "expire_pct": 0.0,
            "orders": 1,  # the unpaid order uses its coupon but does not count
            "gmv_fen": 379_800,
            "discount_fen": 20_000,
            "roi": 19.0,
        },
    ]
    assert report["total"] == {
        "issued": 6,
        "claimed": 1,
        "received": 7,
        "used": 2,
        "expired": 3,
        "unused": 2,
        "use_pct": 28.6,
        "expire_pct": 42.9,
        "orders": 1,
        "gmv_fen": 379_800,
        "discount_fen": 20_000,
        "roi": 19.0,
    }
    sheet = xlsx_rows(await client.get(f"{API}/coupons.xlsx", headers=brand))
    assert sheet[0][:4] == ["优惠券", "类型", "发放", "领取"]
    assert [row[0] for row in sheet[1:]] == ["限时券", "满3000减200"]
    assert sheet[2][2:9] == ["3", "1", "2", "0", "2", "50.0%", "0.0%"]
    other = await admin(client, await make_shop())
    assert (await client.get(f"{API}/coupons", headers=other)).json()["rows"] == []


# ---- live sessions ---------------------------------------------------------------------------


async def test_a_live_session_from_invited_to_joined_to_ordered(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    second, third = await make_store(shop.tenant), await make_store(shop.tenant)
    await make_store(shop.tenant, distributor=shop.tenant.other_distributor)  # not invited
    host = await distributor_admin(client, shop)
    template_id = await coupon_template(shop.tenant, deps.clock.now(), total_quantity=None)
    body = session_body(shop, deps, coupon_drops=[{"template_id": template_id, "quantity": 5}])
    session = await scheduled(client, host, body)
    assert (await client.post(f"{LIVE_API}/{session['id']}/start", headers=host)).is_success
    a = await store_owner(client, sandbox_client, shop.tenant.store)
    b = await store_owner(client, sandbox_client, second)
    water = session["products"][0]["id"]  # 1599.00 live

    async def live_order(owner: dict[str, Any], quantity: int) -> dict[str, Any]:
        answer = await client.post(
            f"{LIVE_API}/{session['id']}/orders",
            json={"product_id": water, "quantity": quantity},
            headers=keyed(owner),
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    await paid(client, host, await live_order(a, 1))
    cancelled = await live_order(a, 3)
    answer = await client.post(
        f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason": "买错了"}, headers=bearer(a)
    )
    assert answer.is_success, answer.text
    await live_order(b, 2)  # never paid: joined, not ordered
    # The third store only grabs a coupon from the drop; the first a red packet.
    drop_id = session["coupon_drops"][0]["id"]
    await drops.start_drop(deps, session["id"], drop_id, now=deps.clock.now())
    await drops.grab(deps, session["id"], drop_id, third.id, now=deps.clock.now())
    rain = await RedPacketRain.get(session_id=session["id"])
    await rains.start_rain(deps, rain.id, now=deps.clock.now())
    packet = await rains.grab(deps, rain.id, shop.tenant.store.id, now=deps.clock.now())
    await rains.end_rain(deps, rain.id, now=deps.clock.now())
    won = packet["amount_fen"]

    today = china_day(deps.clock.now())
    period = {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()}
    brand = await admin(client, shop)
    report = (await client.get(f"{API}/live", params=period, headers=brand)).json()
    figures = {
        "sessions": 1,
        "invited": 3,
        "joined": 3,
        "ordered": 1,
        "join_pct": 100.0,
        "order_pct": 33.3,
        "orders": 1,
        "gmv_fen": 159_900,
        "gmv_per_order_fen": 159_900,
        "rains": 1,
        "rain_fen": won,
        "drops": 1,
        "drop_claims": 1,
        "rain_fen_per_order": won,
        "drop_claims_per_order": 1.0,
    }
    [row] = report["rows"]
    assert row == {
        "id": session["id"],
        "title": "双十二净水专场",
        "distributor_id": shop.tenant.distributor.id,
        "distributor_name": shop.tenant.distributor.name,
        "status_name": "直播中",
        "starts_at": row["starts_at"],
        "peak_viewers": 0,
        **figures,
    }
    month = china_day(deps.clock.now() + timedelta(hours=1)).strftime("%Y-%m")
    assert report["months"] == [{"month": month, **figures}]
    assert report["total"] == figures

    # The host's distributor sees its own; the other distributor, and the brand asking for
    # it, see none; another brand's distributor is not found.
    assert (await client.get(f"{API}/live", params=period, headers=host)).json()["rows"] == [row]
    other_host = await staff_headers(
        client,
        await make_staff(
            shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.other_distributor.id
        ),
    )
    assert (await client.get(f"{API}/live", params=period, headers=other_host)).json()["rows"] == []
    theirs = {**period, "distributor_id": shop.tenant.other_distributor.id}
    assert (await client.get(f"{API}/live", params=theirs, headers=brand)).json()["rows"] == []
    stranger = await make_shop()
    unknown = {**period, "distributor_id": stranger.tenant.distributor.id}
    refused(
        await client.get(f"{API}/live", params=unknown, headers=brand),
        404,
        "analytics.distributor_not_found",
    )
    sheet = xlsx_rows(await client.get(f"{API}/live.xlsx", params=period, headers=host))
    assert sheet[0][:6] == ["直播", "经销商", "开始", "邀请门店", "进入门店", "下单门店"]
    assert sheet[1][3:10] == ["3", "3", "1", "100.0%", "33.3%", "1", "1599.00"]


async def test_a_store_that_only_watched_counts_as_joined_once(client, deps) -> None:
    shop = await make_shop()
    second = await make_store(shop.tenant)
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    assert (await client.post(f"{LIVE_API}/{session['id']}/start", headers=host)).is_success
    watcher = Principal(
        user_id=(await User.create(display_name="观众")).id,
        session_id="watching",
        role=Role.STORE_OWNER.value,
        brand_id=shop.tenant.brand.id,
        distributor_id=shop.tenant.distributor.id,
        store_id=second.id,
    )
    await live_service.join(deps, watcher, session["id"], "sid-1", process="p")
    first = await LiveInvitation.get(session_id=session["id"], store_id=second.id)
    deps.clock.advance(minutes=5)
    await live_service.join(deps, watcher, session["id"], "sid-2", process="p")  # reconnects
    again = await LiveInvitation.get(session_id=session["id"], store_id=second.id)
    assert first.joined_at is not None and again.joined_at == first.joined_at

    today = china_day(deps.clock.now())  # the session starts within the hour: maybe tomorrow
    period = {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()}
    report = await client.get(f"{API}/live", params=period, headers=await admin(client, shop))
    [row] = report.json()["rows"]
    assert (row["invited"], row["joined"], row["ordered"]) == (2, 1, 0)
