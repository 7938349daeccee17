"""Presence in a live room belongs to a live realtime process (backend/livestream/room.py):
one that only stalled past its heartbeat's life is swept as if dead and counts its
connections in again at its next beat. (A process killed outright: test_live_scale_out.py.)"""

from __future__ import annotations

import asyncio

from backend.livestream import room
from tests.test_live_orders import live_now
from tests.test_live_room import Viewer
from tests.test_live_versions import distributor_admin_viewer


async def test_a_process_whose_heartbeat_lapsed_counts_its_connections_in_again(
    platform_url, client, sandbox_client, deps
) -> None:
    """A realtime process that stalled past its heartbeat's life (or lost Redis a while) is
    swept as if dead; at its next beat it counts its connections in again."""
    shop, session, owner = await live_now(client, sandbox_client, deps)
    host = await distributor_admin_viewer(platform_url, client, session)
    viewer = await Viewer().connect(platform_url, owner["access_token"])
    try:
        assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        assert await room.viewers(deps, session["id"]) == 2
        await deps.redis.delete(*[key async for key in deps.redis.scan_iter("live:proc:*")])
        assert await room.viewers(deps, session["id"]) == 0  # swept: taken for dead
        deadline = asyncio.get_running_loop().time() + room.HEARTBEAT_SECONDS * 2 + 1
        while await room.viewers(deps, session["id"]) != 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        assert await room.present_store_ids(deps, session["id"]) == [shop.tenant.store.id]
    finally:
        await viewer.client.disconnect()
        await host.client.disconnect()
