"""What the live room tells a store, so that the mini-program needs nothing else: the product
card names the product with its picture, prices and what is left; a session may have a video
stream (validated, settable until it ends); coupon drops say which coupon and what it is
worth; the (re)join state carries the open drops and the draws; and draw winners are named
without handing every store the others' full names."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from backend.catalog.models import Product, Sku
from backend.identity.models import Role
from backend.identity.tokens import Principal
from backend.livestream import draws, service
from backend.livestream.lottery_draw import verify
from backend.livestream.models import LiveCouponDrop, LiveProduct, LiveSession
from backend.org.models import Store
from tests.factories import Shop, bearer, distributor_admin, make_shop, make_store, store_owner
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_rain_room import owner_token
from tests.test_live_room import Viewer, token
from tests.test_live_sessions import API, keyed, scheduled, session_body

PICTURE = "https://img.example.com/ro-500/front.jpg"
STREAM = "https://pull.example.com/live/session-1.flv?txSecret=abc"


def as_store(store: Store) -> Principal:
    return Principal(
        user_id=0,
        session_id=str(uuid.uuid4()),
        role=Role.STORE_OWNER.value,
        brand_id=store.brand_id,  # type: ignore[attr-defined]
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        store_id=store.id,
    )


async def with_pictures(shop: Shop) -> None:
    product_id = (await Sku.get(id=shop.water)).product_id  # type: ignore[attr-defined]
    await Product.filter(id=product_id).update(images=[PICTURE, "https://img.example.com/2.jpg"])


# ---- 1. the product card --------------------------------------------------------------------


async def test_the_card_names_the_product_with_its_picture_prices_and_what_is_left(
    platform_url, client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    await with_pictures(shop)
    host_headers = await distributor_admin(client, shop)
    session = await scheduled(client, host_headers, session_body(shop, deps))
    water, filters = session["products"]
    host = await Viewer().connect(platform_url, token(host_headers))
    store_token = await owner_token(deps, shop.tenant.store)
    watching = await Viewer().connect(platform_url, store_token)
    try:
        for viewer in (host, watching):
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        await host.call("host:start")
        pushed = await host.call("host:push_product", {"product_id": water["id"]})
        card = (await watching.told("product"))[-1]
        assert pushed["data"] == card
        assert card["version"] >= 1  # every push of the card carries the room's version
        assert {key: value for key, value in card.items() if key not in ("sku", "version")} == {
            "product_id": water["id"],
            "sku_id": shop.water,
            "name": "澜泉 RO 净水器",
            "sku_name": "RO-500",
            "spec": "",
            "image": PICTURE,
            "unit": "台",
            "list_price_fen": 199_900,
            "live_price_fen": 159_900,
            "live_stock": 30,
            "left": 30,
        }
        assert card["sku"]["name"] == "RO-500"  # still there for the console

        # Orders (and cancellations) move the stock after the push: a rejoin sees it now.
        owner = await store_owner(client, sandbox_client, shop.tenant.store)
        body = {"product_id": water["id"], "quantity": 4}
        url = f"{API}/{session['id']}/orders"
        assert (await client.post(url, json=body, headers=keyed(bearer(owner)))).status_code == 201
        await watching.client.disconnect()
        again = await Viewer().connect(platform_url, store_token)
        state = (await again.call("join", {"session_id": session["id"]}))["data"]
        assert (state["card"]["product_id"], state["card"]["left"]) == (water["id"], 26)
        await again.client.disconnect()

        # A product without pictures has none on its card.
        await Product.all().update(images=[])
        plain = (await host.call("host:push_product", {"product_id": filters["id"]}))["data"]
        assert (plain["name"], plain["image"], plain["unit"], plain["left"]) == (
            "澜泉 RO 净水器",
            None,
            "支",
            200,
        )
    finally:
        await host.client.disconnect()
        if watching.client.connected:
            await watching.client.disconnect()


# ---- 2. the video stream --------------------------------------------------------------------


async def test_a_session_has_a_stream_url_in_its_detail_and_join_state(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    without = await scheduled(client, host, session_body(shop, deps))
    assert without["stream_url"] is None
    session = await scheduled(client, host, session_body(shop, deps, stream_url=STREAM))
    assert session["stream_url"] == STREAM
    rtmp = "rtmp://pull.example.com/live/abc"
    assert (await scheduled(client, host, session_body(shop, deps, stream_url=rtmp)))[
        "stream_url"
    ] == rtmp
    blank = await scheduled(client, host, session_body(shop, deps, stream_url="  "))
    assert blank["stream_url"] is None
    listed = (await client.get(API, headers=host)).json()["items"]
    assert {s["id"]: s["stream_url"] for s in listed}[session["id"]] == STREAM
    state = await service.room_state(deps, as_store(shop.tenant.store), session["id"])
    assert (state["stream_url"], state["title"]) == (STREAM, "双十二净水专场")


@pytest.mark.parametrize(
    ("stream_url", "code"),
    [
        ("http://pull.example.com/live/1.flv", "live.invalid_schedule"),
        ("ftp://pull.example.com/live/1", "live.invalid_schedule"),
        ("rtmp:///live/1", "live.invalid_schedule"),
        ("pull.example.com/live/1", "live.invalid_schedule"),
        ("https://pull.example.com/live 1", "live.invalid_schedule"),
        ("https://host:pass@pull.example.com/live/1", "live.invalid_schedule"),
        ("https://pull.example.com:port/live/1", "live.invalid_schedule"),
        ("https://[::1/live", "live.invalid_schedule"),
        ("https://pull.example.com/" + "a" * 476, "request.invalid"),  # 501 characters
        (12345, "request.invalid"),
    ],
)
async def test_a_bad_stream_url_is_refused_and_nothing_is_written(
    client, deps, stream_url, code
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    response = await client.post(
        API, json=session_body(shop, deps, stream_url=stream_url), headers=keyed(host)
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if code == "live.invalid_schedule":
        assert error["details"][0]["field"] == "stream_url"
    assert await LiveSession.all().count() == 0
    assert await LiveProduct.all().count() == 0


async def test_the_longest_stream_url_is_taken(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    longest = "https://pull.example.com/" + "a" * 475
    assert len(longest) == 500
    session = await scheduled(client, host, session_body(shop, deps, stream_url=longest))
    assert session["stream_url"] == longest


async def test_the_host_sets_the_stream_later_and_the_room_is_told(
    platform_url, client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    url = f"{API}/{session['id']}"
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    watching = await Viewer().connect(platform_url, owner["access_token"])
    try:
        assert (await watching.call("join", {"session_id": session["id"]}))["ok"]
        changed = await client.patch(url, json={"stream_url": STREAM}, headers=host)
        assert changed.status_code == 200 and changed.json()["stream_url"] == STREAM
        assert (await watching.told("stream"))[-1] == {"stream_url": STREAM}
        assert (await client.get(url, headers=bearer(owner))).json()["stream_url"] == STREAM

        # Refused, with nothing changed and nobody told: a store, bad URLs, unknown fields,
        # another distributor's staff.
        refusals = [
            (bearer(owner), {"stream_url": "https://x.example.com/1"}, 403, "auth.role_required"),
            (host, {"stream_url": "http://x.example.com/1"}, 422, "live.invalid_schedule"),
            (host, {"stream_url": "https://x.example.com/" + "a" * 490}, 422, "request.invalid"),
            (host, {"title": "改名"}, 422, "request.invalid"),
            (host, {}, 422, "request.invalid"),
        ]
        rival = await distributor_admin(client, await make_shop())
        refusals.append((rival, {"stream_url": "https://x.example.com/1"}, 404, None))
        for headers, body, status, code in refusals:
            refused = await client.patch(url, json=body, headers=headers)
            assert refused.status_code == status, refused.text
            if code is not None:
                assert refused.json()["error"]["code"] == code
        assert (await LiveSession.get(id=session["id"])).stream_url == STREAM
        assert len(watching.seen["stream"]) == 1

        # null takes the video away; an ended session keeps what it had.
        cleared = await client.patch(url, json={"stream_url": None}, headers=host)
        assert cleared.status_code == 200 and cleared.json()["stream_url"] is None
        assert (await watching.told("stream", 2))[-1] == {"stream_url": None}
        await client.post(f"{url}/start", headers=host)
        await client.post(f"{url}/end", headers=host)
        late = await client.patch(url, json={"stream_url": STREAM}, headers=host)
        assert (late.status_code, late.json()["error"]["code"]) == (409, "live.status_changed")
        assert (await LiveSession.get(id=session["id"])).stream_url is None
    finally:
        await watching.client.disconnect()


# ---- 3 and 4. coupon drops: which coupon, and the open ones in the join state ---------------

COUPON = {
    "name": "直播专享满3000减200",
    "kind": "reduction",
    "description": "满3000.00元减200.00元",
    "threshold_fen": 300_000,
    "amount_off_fen": 20_000,
    "percent": None,
    "max_off_fen": None,
    "valid_days": 30,
    "valid_until": None,
}


async def test_drops_name_their_coupon_and_the_open_one_is_in_the_join_state(
    platform_url, client, deps
) -> None:
    shop = await make_shop()
    other = await make_store(shop.tenant)
    template_id = await coupon_template(shop.tenant, deps.clock.now(), total_quantity=None)
    host_headers = await distributor_admin(client, shop)
    planned = [
        {"template_id": template_id, "quantity": 5},
        {"template_id": template_id, "quantity": 2},
    ]
    session = await scheduled(client, host_headers, session_body(shop, deps, coupon_drops=planned))
    coupon = {"template_id": template_id, **COUPON}
    assert [(d["quantity"], d["left"], d["coupon"]) for d in session["coupon_drops"]] == [
        (5, 5, coupon),
        (2, 2, coupon),
    ]
    first, second = (d["id"] for d in session["coupon_drops"])
    mine, theirs = as_store(shop.tenant.store), as_store(other)
    assert (await service.room_state(deps, mine, session["id"]))["drops"] == []

    host = await Viewer().connect(platform_url, token(host_headers))
    watching = await Viewer().connect(platform_url, await owner_token(deps, shop.tenant.store))
    try:
        for viewer in (host, watching):
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        await host.call("host:start")
        opened = (await host.call("host:drop", {"drop_id": first}))["data"]
        told = (await watching.told("drop"))[-1]
        assert told == opened
        assert (told["status"], told["left"], told["coupon"]) == ("running", 5, coupon)
        grabbed = (await watching.call("grab_coupon", {"drop_id": first}))["data"]

        # The state of a (re)join: the open drop, what is left, the coupon and the store's own.
        state = (await watching.call("state"))["data"]
        [open_drop] = state["drops"]
        assert (open_drop["id"], open_drop["left"], open_drop["claimed"]) == (first, 4, 1)
        assert open_drop["coupon"] == coupon
        assert open_drop["mine"]["coupon_id"] == grabbed["coupon_id"]
        [for_them] = (await service.room_state(deps, theirs, session["id"]))["drops"]
        assert (for_them["left"], for_them["mine"]) == (4, None)

        closed = (await host.call("host:drop_end", {"drop_id": first}))["data"]
        assert (closed["status"], closed["coupon"]) == ("ended", coupon)
        assert (await watching.told("drop", 2))[-1]["status"] == "ended"
        assert (await watching.call("state"))["data"]["drops"] == []
        assert (await LiveCouponDrop.get(id=second)).status == "planned"
    finally:
        await asyncio.gather(host.client.disconnect(), watching.client.disconnect())


# ---- 4 and 5. draws in the join state, and winners' names -------------------------------------


async def named_stores(shop: Shop) -> tuple[Store, Store]:
    await Store.filter(id=shop.tenant.store.id).update(name="张建国净水店")
    mine = await Store.get(id=shop.tenant.store.id)
    return mine, await make_store(shop.tenant, name="中山路12号水站")


DRAWS = [
    {"title": "全员抽奖", "prizes": [{"name": "滤芯", "count": 2}], "eligibility": "invited"},
    {"title": "压轴大奖", "prizes": [{"name": "净水器", "count": 1}], "eligibility": "invited"},
    {"title": "还没公布", "prizes": [{"name": "水杯", "count": 1}], "eligibility": "invited"},
]


async def test_draws_are_in_the_join_state_with_winners_named_for_each_viewer(
    platform_url, client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    mine, theirs = await named_stores(shop)
    host_headers = await distributor_admin(client, shop)
    session = await scheduled(client, host_headers, session_body(shop, deps, draws=DRAWS))
    everyone, finale, hidden = (d["id"] for d in session["draws"])
    host = await Viewer().connect(platform_url, token(host_headers))
    watching = await Viewer().connect(platform_url, await owner_token(deps, mine))
    try:
        for viewer in (host, watching):
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        assert (await watching.call("state"))["data"]["draws"] == []
        await host.call("host:start")
        for draw_id in (everyone, finale):
            announced = (await host.call("host:draw_announce", {"draw_id": draw_id}))["data"]
            assert announced["record_url"] == (
                f"{deps.settings.public_base_url}{API}/{session['id']}/draws/{draw_id}"
            )
        drawn = (await host.call("host:draw", {"draw_id": everyone}))["data"]

        # The host (staff) gets every winner's full name; the room, pushed to every store,
        # gets them all masked.
        full = {mine.id: "张建国净水店", theirs.id: "中山路12号水站"}
        masked = {mine.id: "张**店", theirs.id: "中**站"}
        assert {w["store_id"]: w["name"] for w in drawn["winners"]} == full
        told = (await watching.told("draw", 3))[-1]
        assert told["draw_id"] == everyone
        assert {w["store_id"]: w["name"] for w in told["winners"]} == masked
        assert verify(told) and told["seed"] == drawn["seed"]

        # The join state: announced (hash, no seed) and drawn (seed, winners, record URL);
        # a planned draw is not there yet. The store sees its own name in full.
        state = (await watching.call("state"))["data"]
        assert [(d["draw_id"], d["status"]) for d in state["draws"]] == [
            (everyone, "drawn"),
            (finale, "announced"),
        ]
        done, waiting = state["draws"]
        assert {w["store_id"]: w["name"] for w in done["winners"]} == {
            mine.id: "张建国净水店",
            theirs.id: "中**站",
        }
        assert (done["seed"], done["eligible_count"], "eligible" in done) == (
            drawn["seed"],
            2,
            False,
        )
        assert done["record_url"].endswith(f"/draws/{everyone}")
        assert (waiting["seed"], waiting["winners"], waiting["eligible_count"]) == (None, [], None)
        assert waiting["seed_hash"] == announced["seed_hash"]
        assert hidden not in [d["draw_id"] for d in state["draws"]]
        # Staff see every name in the state too.
        hosted = (await host.call("state"))["data"]["draws"][0]
        assert {w["store_id"]: w["name"] for w in hosted["winners"]} == full
    finally:
        await asyncio.gather(host.client.disconnect(), watching.client.disconnect())

    # The published record, read over HTTP: names for the reader, ids for the audit.
    record_url = f"{API}/{session['id']}/draws/{everyone}"
    owner = await store_owner(client, sandbox_client, theirs)
    as_them = (await client.get(record_url, headers=bearer(owner))).json()
    assert {w["store_id"]: w["name"] for w in as_them["winners"]} == {
        mine.id: "张**店",
        theirs.id: "中山路12号水站",
    }
    assert verify(as_them) and as_them["eligible"] == sorted(full)
    as_host = (await client.get(record_url, headers=host_headers)).json()
    assert {w["store_id"]: w["name"] for w in as_host["winners"]} == full


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("张建国净水店", "张**店"),
        ("中山路12号水站", "中**站"),
        ("Water Hub", "W**b"),
        (" 澜 泉 ", "澜*"),
        ("水站", "水*"),
        ("水", "*"),
        ("", "门店"),
        (None, "门店"),
    ],
)
def test_a_store_name_is_masked_for_other_stores(name: Any, shown: str) -> None:
    assert draws.mask_store_name(name) == shown
