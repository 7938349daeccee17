"""What the host's control panel reads and is told, as a new host found it wanting: products
named by their product and not only the SKU, coupon drops named by their coupon, an ended
session with nobody online and nothing on screen (in the join state and in the pushes), and
a draw's state told the same way by the session, the report and its CSV."""

from __future__ import annotations

import asyncio

from backend.livestream import draws, service
from backend.livestream.models import LiveSession
from tests.factories import distributor_admin, make_shop
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_rain_room import owner_token
from tests.test_live_room import Viewer, token
from tests.test_live_sessions import API, scheduled, session_body

PRODUCT = "澜泉 RO 净水器"  # tests.factories.make_shop: RO-500 and 滤芯 are its SKUs


async def test_products_are_named_by_their_product_and_sku_in_the_session_and_report(
    client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    names = [(p["name"], p["sku_name"], p["spec"], p["title"]) for p in session["products"]]
    assert names == [
        (PRODUCT, "RO-500", "", f"{PRODUCT} RO-500"),
        (PRODUCT, "滤芯", "", f"{PRODUCT} 滤芯"),
    ]
    assert session["products"][0]["sku"]["name"] == "RO-500"  # as before, for older clients
    report = (await client.get(f"{API}/{session['id']}/report", headers=host)).json()
    assert [(p["name"], p["product_name"], p["sku_name"]) for p in report["products"]] == [
        (f"{PRODUCT} RO-500", PRODUCT, "RO-500"),
        (f"{PRODUCT} 滤芯", PRODUCT, "滤芯"),
    ]
    exported = await client.get(f"{API}/{session['id']}/report.csv", headers=host)
    assert f"{PRODUCT} RO-500 订单数,0" in exported.content.decode("utf-8-sig")


async def test_a_coupon_drop_names_its_coupon_for_the_host(platform_url, client, deps) -> None:
    shop = await make_shop()
    template_id = await coupon_template(shop.tenant, deps.clock.now(), total_quantity=None)
    host_headers = await distributor_admin(client, shop)
    planned = [{"template_id": template_id, "quantity": 5}]
    session = await scheduled(client, host_headers, session_body(shop, deps, coupon_drops=planned))
    [drop] = session["coupon_drops"]
    assert drop["coupon"]["name"] == "直播专享满3000减200"
    host = await Viewer().connect(platform_url, token(host_headers))
    try:
        assert (await host.call("join", {"session_id": session["id"]}))["ok"]
        await host.call("host:start")
        opened = await host.call("host:drop", {"drop_id": drop["id"]})
        assert opened["data"]["coupon"]["name"] == "直播专享满3000减200"
        [open_drop] = (await host.call("state"))["data"]["drops"]
        assert open_drop["coupon"]["name"] == "直播专享满3000减200"
    finally:
        await host.client.disconnect()


async def test_an_ended_session_has_nobody_online_and_no_card(platform_url, client, deps) -> None:
    shop = await make_shop()
    host_headers = await distributor_admin(client, shop)
    session = await scheduled(client, host_headers, session_body(shop, deps))
    host = await Viewer().connect(platform_url, token(host_headers))
    watching = await Viewer().connect(platform_url, await owner_token(deps, shop.tenant.store))
    try:
        for viewer in (host, watching):
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        await host.call("host:start")
        product_id = session["products"][0]["id"]
        assert (await host.call("host:push_product", {"product_id": product_id}))["ok"]
        live = (await host.call("state"))["data"]
        assert (live["viewers"], live["card"]["product_id"]) == (2, product_id)

        ended = await host.call("host:end")
        assert ended["ok"], ended
        # Told in pushes newer than anything before, both connections still open.
        told = (await watching.told("session", 2))[-1]
        assert (told["status"], told["card"]) == ("ended", None)
        assert told["version"] > live["version"]
        zero = [push for push in await watching.told("viewers") if push["count"] == 0]
        assert zero and zero[-1]["version"] == told["version"]
        # What a (re)join reads: nobody online, nothing on screen, and joining counts nobody.
        after = (await host.call("state"))["data"]
        assert (after["status"], after["viewers"], after["card"]) == ("ended", 0, None)
        again = await Viewer().connect(platform_url, token(host_headers))
        try:
            rejoined = (await again.call("join", {"session_id": session["id"]}))["data"]
            assert (rejoined["viewers"], rejoined["card"]) == (0, None)
            assert await service.viewer_count(deps, session["id"]) == 0
        finally:
            await again.client.disconnect()
        assert (await LiveSession.get(id=session["id"])).peak_viewers == 2
    finally:
        await asyncio.gather(host.client.disconnect(), watching.client.disconnect())


async def test_ending_over_http_clears_the_room_too(platform_url, client, deps) -> None:
    shop = await make_shop()
    host_headers = await distributor_admin(client, shop)
    session = await scheduled(client, host_headers, session_body(shop, deps))
    url = f"{API}/{session['id']}"
    host = await Viewer().connect(platform_url, token(host_headers))
    watching = await Viewer().connect(platform_url, await owner_token(deps, shop.tenant.store))
    try:
        for viewer in (host, watching):
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        assert (await client.post(f"{url}/start", headers=host_headers)).status_code == 200
        product_id = session["products"][0]["id"]
        assert (await host.call("host:push_product", {"product_id": product_id}))["ok"]
        assert (await client.post(f"{url}/end", headers=host_headers)).status_code == 200
        told = (await watching.told("session", 2))[-1]
        assert (told["status"], told["card"]) == ("ended", None)
        state = (await watching.call("state"))["data"]
        assert (state["viewers"], state["card"]) == (0, None)
    finally:
        await asyncio.gather(host.client.disconnect(), watching.client.disconnect())


DRAWS = [
    {"title": "在线抽奖", "prizes": [{"name": "滤芯", "count": 1}], "eligibility": "present"},
    {"title": "没公布的", "prizes": [{"name": "水杯", "count": 1}], "eligibility": "invited"},
    {"title": "公布了的", "prizes": [{"name": "水杯", "count": 1}], "eligibility": "invited"},
]


async def test_a_draw_run_with_nobody_eligible_is_drawn_everywhere(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps, draws=DRAWS))
    present, _, announced = (d["id"] for d in session["draws"])
    url = f"{API}/{session['id']}"
    assert (await client.post(f"{url}/start", headers=host)).status_code == 200
    now = deps.clock.now()
    for draw_id in (present, announced):
        await draws.announce(deps, session["id"], draw_id, now=now)
    await draws.run(deps, session["id"], present, now=now)  # no store in the room

    detail = (await client.get(url, headers=host)).json()
    report = (await client.get(f"{url}/report", headers=host)).json()
    statuses = ["drawn", "planned", "announced"]
    assert [d["status"] for d in detail["draws"]] == statuses
    assert [(d["status"], d["winners"]) for d in report["draws"]] == [
        (status, []) for status in statuses
    ]
    text = (await client.get(f"{url}/report.csv", headers=host)).content.decode("utf-8-sig")
    assert "抽奖 在线抽奖 中奖,已开奖，无中奖门店" in text
    assert "抽奖 没公布的 中奖,未公布" in text
    assert "抽奖 公布了的 中奖,已公布，待开奖" in text
    assert "未开奖" not in text
