"""What the console's live-session pages need from the API: the host changes a whole plan
until the session starts (PUT, checked as a new one is, refused whole), the list filtered by
state and start date with each session's figures and the count per state, the pickers of
the form (the SKUs the distributor carries, the brand's active coupons, its stores' tags),
and a cover picture uploaded (checked and cleaned as a complaint photo is)."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from backend.coupons.models import CouponTemplate
from backend.livestream.models import LiveInvitation, LiveProduct, LiveSession, RedPacketRain
from backend.org.models import StoreTag
from tests.factories import bearer, distributor_admin, make_shop, make_store, store_owner
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_orders import keyed as order_keyed
from tests.test_live_sessions import API, scheduled, session_body
from tests.test_promotions_admin import admin

LIVE = "/api/v1/live"
DRAW = {"title": "幸运抽奖", "prizes": [{"name": "净水器", "count": 1}], "eligibility": "present"}


def plan_of(session: dict[str, Any]) -> dict[str, Any]:
    """A session's detail as the PUT body that plans it again unchanged."""
    return {
        "title": session["title"],
        "cover_url": session["cover_url"],
        "stream_url": session["stream_url"],
        "starts_at": session["starts_at"],
        "ends_at": session["ends_at"],
        "audience": {"mode": session["audience"]["mode"], "tags": session["audience"]["tags"]},
        "products": [
            {
                "sku_id": p["sku"]["id"],
                "live_price_fen": p["live_price_fen"],
                "live_stock": p["live_stock"],
            }
            for p in session["products"]
        ],
        "rains": [
            {"total_fen": r["total_fen"], "count": r["count"], "duration_seconds": 30}
            for r in session["rains"]
        ],
        "coupon_drops": [
            {"template_id": d["template_id"], "quantity": d["quantity"]}
            for d in session["coupon_drops"]
        ],
        "draws": [
            {"title": d["title"], "prizes": d["prizes"], "eligibility": d["eligibility"]}
            for d in session["draws"]
        ],
    }


async def test_the_host_replans_a_session_until_it_starts(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    tagged = await make_store(shop.tenant)
    await StoreTag.create(store=tagged, tag="旗舰店")
    template = await coupon_template(shop.tenant, deps.clock.now(), None)
    session = await scheduled(
        client,
        host,
        session_body(shop, deps, coupon_drops=[{"template_id": template, "quantity": 5}]),
    )
    url = f"{API}/{session['id']}"
    water = session["products"][0]["id"]
    await LiveInvitation.filter(session_id=session["id"]).update(reminded_at=deps.clock.now())

    changed = plan_of(session)
    later = deps.clock.now() + timedelta(hours=3)
    changed.update(
        title="双十二净水专场（加场）",
        cover_url="https://cdn.example.com/cover.jpg",
        starts_at=later.isoformat(),
        ends_at=(later + timedelta(hours=1)).isoformat(),
        audience={"mode": "tags", "tags": ["旗舰店"]},
        products=[{"sku_id": shop.water, "live_price_fen": 150_000, "live_stock": 10}],
        rains=[{"total_fen": 5_000, "count": 10, "duration_seconds": 60}],
        coupon_drops=[{"template_id": template, "quantity": 8}],
        draws=[DRAW],
    )
    response = await client.put(url, json=changed, headers=host)
    assert response.status_code == 200, response.text
    replanned = response.json()
    assert replanned["title"] == "双十二净水专场（加场）"
    assert replanned["cover_url"] == "https://cdn.example.com/cover.jpg"
    assert (replanned["audience"], replanned["invited_count"]) == (
        {"mode": "tags", "tags": ["旗舰店"]},
        1,
    )
    # The SKU still on sale keeps its product; the one taken off is gone.
    assert [(p["id"], p["live_price_fen"], p["live_stock"]) for p in replanned["products"]] == [
        (water, 150_000, 10)
    ]
    assert [(r["total_fen"], r["count"], r["duration_seconds"]) for r in replanned["rains"]] == [
        (5_000, 10, 60)
    ]
    assert [(d["template_id"], d["quantity"]) for d in replanned["coupon_drops"]] == [(template, 8)]
    assert [d["title"] for d in replanned["draws"]] == ["幸运抽奖"]
    assert await LiveProduct.filter(session_id=session["id"]).count() == 1
    assert await RedPacketRain.filter(session_id=session["id"]).count() == 1
    # Only the tagged store is invited now, and the moved start reminds it again.
    invitations = await LiveInvitation.filter(session_id=session["id"]).values_list(
        "store_id", "reminded_at"
    )
    assert invitations == [(tagged.id, None)]
    assert (await client.get(url, headers=host)).json() == replanned

    # Started: the plan is kept as it is.
    assert (await client.post(f"{url}/start", headers=host)).status_code == 200
    late = await client.put(url, json={**changed, "title": "再改"}, headers=host)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "live.status_changed")
    assert (await LiveSession.get(id=session["id"])).title == "双十二净水专场（加场）"


async def test_keeping_a_start_that_has_passed_is_allowed(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    deps.clock.advance(hours=2)  # the start passed; the host has not started it
    host = await distributor_admin(client, shop)  # signed in again: the token expired
    retitled = await client.put(
        f"{API}/{session['id']}", json={**plan_of(session), "title": "晚点开播"}, headers=host
    )
    assert retitled.status_code == 200, retitled.text
    moved = {**plan_of(session), "starts_at": (deps.clock.now() - timedelta(hours=1)).isoformat()}
    refused = await client.put(f"{API}/{session['id']}", json=moved, headers=host)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "live.invalid_schedule")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, 422, "live.invalid_schedule"),
        ({"products": [{"sku_id": 0, "live_price_fen": 1, "live_stock": 1}]}, 422, None),
        ({"rains": [{"total_fen": 5, "count": 10}]}, 422, "live.invalid_lineup"),
        ({"audience": {"mode": "tags", "tags": ["没有这个标签"]}}, 422, "live.nobody_invited"),
        ({"coupon_drops": [{"template_id": 999_999, "quantity": 1}]}, 422, None),
        ({"distributor_id": 1}, 422, "request.invalid"),  # a session keeps its distributor
    ],
)
async def test_a_bad_replan_is_refused_and_nothing_changes(
    client, deps, change, status, code
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    response = await client.put(
        f"{API}/{session['id']}", json={**plan_of(session), "title": "改", **change}, headers=host
    )
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"]["code"] == code
    assert (await client.get(f"{API}/{session['id']}", headers=host)).json() == session


async def test_a_live_price_above_the_list_price_is_refused_on_a_replan(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    dear = {**plan_of(session)}
    dear["products"] = [{"sku_id": shop.filters, "live_price_fen": 10_001, "live_stock": 1}]
    refused = await client.put(f"{API}/{session['id']}", json=dear, headers=host)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["details"][0]["field"]) == (
        "live.invalid_lineup",
        "products.0.live_price_fen",
    )
    assert error["message"] == "直播价不能高于商品标价"


async def test_only_the_hosts_replan_their_own_session(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    url = f"{API}/{session['id']}"
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {**plan_of(session), "title": "别人的"}
    assert (await client.put(url, json=body, headers=bearer(owner))).status_code == 403
    rival = await distributor_admin(client, await make_shop())
    refused = await client.put(url, json=body, headers=rival)
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        404,
        "live.session_not_found",
    )
    brand = await admin(client, shop)  # the brand's staff may
    assert (await client.put(url, json=body, headers=brand)).status_code == 200
    assert (await LiveSession.get(id=session["id"])).title == "别人的"


async def test_the_list_filters_by_state_and_start_day_with_figures_and_counts(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    # Three days out, so no hour of the day puts it on the China date of the sessions
    # that start within the hour (at 15:xx UTC, an hour from now is tomorrow in China).
    in_three_days = deps.clock.now() + timedelta(days=3)
    later = await scheduled(
        client,
        host,
        session_body(
            shop,
            deps,
            starts_at=in_three_days.isoformat(),
            ends_at=(in_three_days + timedelta(hours=1)).isoformat(),
        ),
    )
    now_on = await scheduled(client, host, session_body(shop, deps, title="正在播"))
    assert (await client.post(f"{API}/{now_on['id']}/start", headers=host)).status_code == 200
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    product = now_on["products"][0]["id"]
    placed = await client.post(
        f"{API}/{now_on['id']}/orders",
        json={"product_id": product, "quantity": 2},
        headers=order_keyed(owner),
    )
    assert placed.status_code == 201, placed.text
    ended = await scheduled(client, host, session_body(shop, deps, title="已播完"))
    await client.post(f"{API}/{ended['id']}/start", headers=host)
    await client.post(f"{API}/{ended['id']}/end", headers=host)
    rival = await make_shop()  # another distributor's session: never listed, never counted
    await scheduled(client, await distributor_admin(client, rival), session_body(rival, deps))

    everything = (await client.get(API, params={"include_ended": "true"}, headers=host)).json()
    assert [s["id"] for s in everything["items"]] == [ended["id"], now_on["id"], later["id"]]
    assert everything["counts"] == {"scheduled": 1, "live": 1, "ended": 1}
    figures = {
        s["id"]: (s["products_count"], s["orders"], s["gmv_fen"]) for s in everything["items"]
    }
    assert figures[now_on["id"]] == (2, 1, 319_800)
    assert figures[later["id"]] == (2, 0, 0)

    live = (await client.get(API, params={"status": "live"}, headers=host)).json()
    assert [s["id"] for s in live["items"]] == [now_on["id"]]
    only_ended = (await client.get(API, params={"status": "ended"}, headers=host)).json()
    assert [s["id"] for s in only_ended["items"]] == [ended["id"]]

    china_day = (in_three_days + timedelta(hours=8)).date().isoformat()
    by_day = (
        await client.get(
            API,
            params={
                "include_ended": "true",
                "starts_from": china_day,
                "starts_to": china_day,
            },
            headers=host,
        )
    ).json()
    assert [s["id"] for s in by_day["items"]] == [later["id"]]
    assert by_day["counts"] == {"scheduled": 1, "live": 0, "ended": 0}

    paged = (
        await client.get(API, params={"include_ended": "true", "limit": 2}, headers=host)
    ).json()
    rest = (
        await client.get(
            API,
            params={"include_ended": "true", "limit": 2, "before": paged["next_before"]},
            headers=host,
        )
    ).json()
    assert [s["id"] for s in paged["items"] + rest["items"]] == [
        ended["id"],
        now_on["id"],
        later["id"],
    ]
    # A store sees the sessions it is invited to, without the hosts' figures.
    seen = (await client.get(API, headers=bearer(owner))).json()
    assert "counts" not in seen and "gmv_fen" not in seen["items"][0]
    bad = await client.get(API, params={"status": "paused"}, headers=host)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "request.invalid")


async def test_the_form_picks_carried_skus_active_coupons_and_tags(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    skus = (await client.get(f"{LIVE}/skus", headers=host)).json()
    # The SKU the distributor does not carry is not offered.
    assert [
        (s["id"], s["product_name"], s["name"], s["list_price_fen"], s["stock"])
        for s in skus["items"]
    ] == [
        (shop.water, "澜泉 RO 净水器", "RO-500", 199_900, 50),
        (shop.filters, "澜泉 RO 净水器", "滤芯", 10_000, 500),
    ]
    found = await client.get(f"{LIVE}/skus", params={"q": "滤芯"}, headers=host)
    assert [s["id"] for s in found.json()["items"]] == [shop.filters]
    first = await client.get(f"{LIVE}/skus", params={"limit": 1}, headers=host)
    assert first.json()["next_after"] == shop.water

    active = await coupon_template(shop.tenant, deps.clock.now(), None)
    ended = await coupon_template(shop.tenant, deps.clock.now(), None)
    await CouponTemplate.filter(id=ended).update(status="ended")
    await coupon_template((await make_shop()).tenant, deps.clock.now(), None)  # another brand's
    coupons = (await client.get(f"{LIVE}/coupon-templates", headers=host)).json()
    assert [(c["id"], c["name"], c["description"]) for c in coupons["items"]] == [
        (active, "直播专享满3000减200", "满3000.00元减200.00元")
    ]

    flagship = await make_store(shop.tenant)
    corner = await make_store(shop.tenant)
    closed = await make_store(shop.tenant, status="closed")
    elsewhere = await make_store(shop.tenant, distributor=shop.tenant.other_distributor)
    for store, tag in [
        (flagship, "旗舰店"),
        (corner, "旗舰店"),
        (corner, "社区店"),
        (closed, "社区店"),
        (elsewhere, "商超"),
    ]:
        await StoreTag.create(store=store, tag=tag)
    tags = (await client.get(f"{LIVE}/store-tags", headers=host)).json()
    assert tags["items"] == [{"tag": "旗舰店", "stores": 2}, {"tag": "社区店", "stores": 1}]

    # The brand's staff name the distributor; one not the brand's is refused.
    brand = await admin(client, shop)
    unnamed = await client.get(f"{LIVE}/skus", headers=brand)
    assert (unnamed.status_code, unnamed.json()["error"]["code"]) == (422, "live.invalid_lineup")
    named = await client.get(
        f"{LIVE}/store-tags",
        params={"distributor_id": shop.tenant.distributor.id},
        headers=brand,
    )
    assert named.json() == tags
    stranger = (await make_shop()).tenant.distributor.id
    refused = await client.get(f"{LIVE}/skus", params={"distributor_id": stranger}, headers=brand)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "live.unknown_reference")


def picture(kind: str = "PNG", size: tuple[int, int] = (64, 36)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, kind)
    return buffer.getvalue()


async def upload(client: httpx.AsyncClient, headers: dict[str, str], data: bytes) -> Any:
    return await client.post(
        "/api/v1/uploads/images", files={"file": ("cover.png", data, "image/png")}, headers=headers
    )


async def test_a_cover_is_uploaded_cleaned_and_served(client, sandbox_client, settings) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    uploaded = await upload(client, host, picture())
    assert uploaded.status_code == 201, uploaded.text
    cover = uploaded.json()
    assert (cover["width"], cover["height"]) == (64, 36)
    served = await client.get(cover["url"].removeprefix(settings.public_base_url))
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).format == "PNG"

    refusals = [
        (await upload(client, host, b"%PDF-1.4 not a picture"), 422, "upload.not_an_image"),
        (await upload(client, host, picture("GIF")), 422, "upload.not_an_image"),
        (await upload(client, host, b""), 422, "upload.not_an_image"),
    ]
    missing = await client.post("/api/v1/uploads/images", data={"x": "1"}, headers=host)
    refusals.append((missing, 422, "upload.not_an_image"))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    refusals.append((await upload(client, bearer(owner), picture()), 403, "auth.role_required"))
    for response, status, code in refusals:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        assert response.json()["error"]["message"]


def test_an_image_over_the_limit_is_refused_before_it_is_decoded() -> None:
    from backend.infra import images

    with pytest.raises(images.ImageTooLarge, match="图片不能超过 5 MB"):
        images.cleaned(b"\x89PNG" + b"0" * images.MAX_IMAGE_BYTES)


async def test_the_hosts_read_the_listed_stores_and_product_names_to_replan(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    second = await make_store(shop.tenant, name="城东旗舰店")
    listed = {"mode": "stores", "store_ids": [second.id, shop.tenant.store.id]}
    session = await scheduled(client, host, session_body(shop, deps, audience=listed))
    assert session["audience"]["stores"] == [
        {"id": shop.tenant.store.id, "name": shop.tenant.store.name},
        {"id": second.id, "name": "城东旗舰店"},
    ]
    assert [p["product_name"] for p in session["products"]] == ["澜泉 RO 净水器"] * 2
    owner = await store_owner(client, sandbox_client, second)
    seen = (await client.get(f"{API}/{session['id']}", headers=bearer(owner))).json()
    assert seen["audience"] == {"mode": "stores", "tags": []}  # not who else is invited


async def test_a_replan_racing_the_start_is_either_whole_before_it_or_refused(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    for attempt in range(5):
        session = await scheduled(client, host, session_body(shop, deps))
        url = f"{API}/{session['id']}"
        replan = {**plan_of(session), "title": f"改 {attempt}", "rains": []}
        replanned, started = await asyncio.gather(
            client.put(url, json=replan, headers=host), client.post(f"{url}/start", headers=host)
        )
        assert started.status_code == 200, started.text
        kept = await LiveSession.get(id=session["id"])
        rains = await RedPacketRain.filter(session_id=session["id"]).count()
        if replanned.status_code == 200:
            assert (kept.title, rains) == (f"改 {attempt}", 0)
        else:
            assert replanned.json()["error"]["code"] == "live.status_changed"
            assert (kept.title, rains) == ("双十二净水专场", 1)
        assert kept.status == "live"
