"""Lottery draws in the live room, over the real Socket.IO server: the host announces a draw
(its seed's hash published, the seed kept secret), runs it (winners written, then shown with
the seed), and the published record lets anyone recompute the winners."""

from __future__ import annotations

import asyncio
import hashlib

from backend.livestream.lottery_draw import verify
from backend.livestream.models import LiveDrawWinner
from tests.factories import distributor_admin, make_shop, make_store
from tests.test_live_rain_room import owner_token
from tests.test_live_room import Viewer, token
from tests.test_live_sessions import API, scheduled, session_body


async def test_a_present_draw_is_announced_run_and_auditable(platform_url, client, deps) -> None:
    shop = await make_shop()
    stores = [shop.tenant.store] + [await make_store(shop.tenant) for _ in range(4)]
    host_headers = await distributor_admin(client, shop)
    draw = {
        "title": "在线抽奖",
        "prizes": [{"name": "滤芯一年装", "count": 1}, {"name": "水杯", "count": 1}],
        "eligibility": "present",
    }
    session = await scheduled(client, host_headers, session_body(shop, deps, draws=[draw]))
    draw_id = session["draws"][0]["id"]
    host = await Viewer().connect(platform_url, token(host_headers))
    present = [
        await Viewer().connect(platform_url, await owner_token(deps, store)) for store in stores[:3]
    ]
    try:
        for viewer in [host, *present]:
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        await host.call("host:start")
        refused = await present[0].call("host:draw_announce", {"draw_id": draw_id})
        assert refused["error"]["code"] == "live.not_host"
        early = await host.call("host:draw", {"draw_id": draw_id})
        assert early["error"]["code"] == "live.draw_not_announced"

        announced = (await host.call("host:draw_announce", {"draw_id": draw_id}))["data"]
        assert len(announced["seed_hash"]) == 64 and "seed" not in announced
        assert (await present[1].told("draw"))[-1]["seed_hash"] == announced["seed_hash"]
        detail = (await client.get(f"{API}/{session['id']}", headers=host_headers)).json()
        assert detail["draws"][0]["seed"] is None  # secret until drawn

        drawn = (await host.call("host:draw", {"draw_id": draw_id}))["data"]
        assert hashlib.sha256(drawn["seed"].encode()).hexdigest() == announced["seed_hash"]
        assert drawn["eligible"] == sorted(store.id for store in stores[:3])
        winners = {w["store_id"] for w in drawn["winners"]}
        assert len(winners) == 2 and winners <= set(drawn["eligible"])
        assert await LiveDrawWinner.filter(draw_id=draw_id).count() == 2
        told = (await present[2].told("draw", 2))[-1]
        # The room is told the same winners, their names masked (the host sees them whole).
        assert [(w["store_id"], w["rank"]) for w in told["winners"]] == [
            (w["store_id"], w["rank"]) for w in drawn["winners"]
        ]
        assert all(w["name"].startswith("门**") for w in told["winners"])
        assert all(w["name"].startswith("门店") for w in drawn["winners"])
        again = await host.call("host:draw", {"draw_id": draw_id})
        assert again["error"]["code"] == "live.draw_already_drawn"
    finally:
        await asyncio.gather(*(v.client.disconnect() for v in [host, *present]))

    record = await client.get(f"{API}/{session['id']}/draws/{draw_id}", headers=host_headers)
    assert record.status_code == 200
    assert verify(record.json())
    assert record.json()["winners"] == drawn["winners"]
    other = await client.get(f"{API}/{session['id']}/draws/999999", headers=host_headers)
    assert other.status_code == 404
