"""Coupon drops in the live room, over the real Socket.IO server: the host opens a drop
(planned when the session was scheduled), invited stores grab at once, exactly the drop's
quantity lands in wallets, one per store, and ending the session closes it."""

from __future__ import annotations

import asyncio

from backend.coupons.models import Coupon
from tests.factories import distributor_admin, make_shop, make_store
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_rain_room import owner_token
from tests.test_live_room import Viewer, newest, token
from tests.test_live_sessions import scheduled, session_body


async def test_stores_grab_a_coupon_drop_first_come_first_served(
    platform_url, client, deps
) -> None:
    shop = await make_shop()
    stores = [shop.tenant.store] + [await make_store(shop.tenant) for _ in range(19)]
    template_id = await coupon_template(shop.tenant, deps.clock.now(), total_quantity=None)
    host_headers = await distributor_admin(client, shop)
    body = session_body(shop, deps, coupon_drops=[{"template_id": template_id, "quantity": 5}])
    session = await scheduled(client, host_headers, body)
    drop_id = session["coupon_drops"][0]["id"]
    host = await Viewer().connect(platform_url, token(host_headers))
    viewers = [
        await Viewer().connect(platform_url, await owner_token(deps, store)) for store in stores
    ]
    try:
        for viewer in [host, *viewers]:
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        early = await viewers[0].call("grab_coupon", {"drop_id": drop_id})
        assert early["error"]["code"] == "live.drop_not_running"
        assert (await viewers[0].call("host:drop", {"drop_id": drop_id}))["error"]["code"] == (
            "live.not_host"
        )
        await host.call("host:start")
        opened = await host.call("host:drop", {"drop_id": drop_id})
        assert opened["ok"] and opened["data"]["status"] == "running"
        assert (await viewers[-1].told("drop"))[-1]["id"] == drop_id

        replies = await asyncio.gather(
            *(v.call("grab_coupon", {"drop_id": drop_id}) for v in viewers)
        )
        won = [r["data"] for r in replies if r["ok"]]
        assert len(won) == 5
        assert {r["error"]["code"] for r in replies if not r["ok"]} == {"live.drop_empty"}
        assert len({w["coupon_id"] for w in won}) == 5
        told = await host.told("drop_left", 5)
        # Arriving in any order, the newest says none left.
        assert len({push["version"] for push in told}) == 5
        assert newest(told) == {"id": drop_id, "left": 0, "version": newest(told)["version"]}
        winner = next(v for v, r in zip(viewers, replies, strict=True) if r["ok"])
        again = (await winner.call("grab_coupon", {"drop_id": drop_id}))["data"]
        assert again["again"] is True

        await host.call("host:end")
        loser = next(v for v, r in zip(viewers, replies, strict=True) if not r["ok"])
        late = await loser.call("grab_coupon", {"drop_id": drop_id})
        assert late["error"]["code"] in ("live.drop_not_running", "live.session_not_live")
    finally:
        await asyncio.gather(*(v.client.disconnect() for v in [host, *viewers]))
    live_coupons = await Coupon.filter(template_id=template_id, source="live").count()
    assert live_coupons == 5
