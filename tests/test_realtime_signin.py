"""The realtime server answers to the sign-in behind a token, as HTTP does: a sign-in that has
ended (logout, a refresh token presented twice) cannot connect to /live or /console, and the
sockets it has open are disconnected when it ends, in whichever realtime process holds them.

Embedded: the API and the realtime server in one process (platform_url). On PostgreSQL and
Redis also with the realtime server in a process of its own, the API reaching it through its
write-only Redis manager, as in production."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from backend.infra.broadcast import CONSOLE_NAMESPACE
from backend.livestream import room
from tests.conftest import ON_POSTGRES
from tests.factories import distributor_admin, make_shop, store_owner
from tests.test_live_room import Viewer, live_session, token
from tests.test_live_scale_out import realtime_processes

LOGOUT = "/api/v1/auth/logout"


async def refused_code(url: str, access_token: str | None, namespace: str) -> Any:
    """Connect (with no token at all when None) and expect a refusal: the refusal's code."""
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", refusals.append, namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            url,
            namespaces=[namespace],
            transports=["websocket"],
            auth=None if access_token is None else {"token": access_token},
            wait_timeout=3,
        )
    assert not client.connected
    return refusals[0]["data"]["code"]


async def console_socket(url: str, access_token: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        url,
        namespaces=[CONSOLE_NAMESPACE],
        transports=["websocket"],
        auth={"token": access_token},
        wait_timeout=5,
    )
    return client


async def gone(*clients: socketio.AsyncClient, within: float = 2.0) -> bool:
    """Whether every client has been disconnected by the server within `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while any(c.connected for c in clients):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_a_signed_out_token_cannot_connect(
    platform_url, client, sandbox_client, deps
) -> None:
    _, host, _, owner = await live_session(client, sandbox_client, deps)
    for headers in (host, {"Authorization": f"Bearer {owner['access_token']}"}):
        assert (await client.post(LOGOUT, headers=headers)).status_code == 200
    # HTTP refuses them...
    refused = await client.get("/api/v1/me", headers=host)
    assert refused.json()["error"]["code"] == "auth.session_revoked"
    # ... and so does the realtime server, in both namespaces.
    assert await refused_code(platform_url, owner["access_token"], "/live") == (
        "auth.session_revoked"
    )
    assert await refused_code(platform_url, token(host), CONSOLE_NAMESPACE) == (
        "auth.session_revoked"
    )
    assert await refused_code(platform_url, token(host), "/live") == "auth.session_revoked"


async def test_logging_out_disconnects_the_sign_ins_sockets(
    platform_url, client, sandbox_client, deps
) -> None:
    _, host, session, owner = await live_session(client, sandbox_client, deps)
    watching = await Viewer().connect(platform_url, owner["access_token"])
    hosting = await Viewer().connect(platform_url, token(host))
    console = await console_socket(platform_url, token(host))
    try:
        assert (await watching.call("join", {"session_id": session["id"]}))["ok"]
        assert (await hosting.call("join", {"session_id": session["id"]}))["ok"]
        assert await room.viewers(deps, session["id"]) == 2

        assert (await client.post(LOGOUT, headers=host)).status_code == 200
        assert await gone(hosting.client, console)
        # Another sign-in's socket stays, and the room counts it alone.
        assert watching.client.connected
        assert await room.viewers(deps, session["id"]) == 1
        assert (await watching.call("state"))["ok"]
    finally:
        for socket in (watching.client, hosting.client, console):
            if socket.connected:
                await socket.disconnect()


async def test_a_reused_refresh_token_disconnects_the_sign_in(
    platform_url, client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    watching = await Viewer().connect(platform_url, owner["access_token"])
    try:
        body = {"refresh_token": owner["refresh_token"]}
        assert (await client.post("/api/v1/auth/refresh", json=body)).status_code == 200
        replay = await client.post("/api/v1/auth/refresh", json=body)
        assert replay.json()["error"]["code"] == "auth.refresh_token_reused"
        assert await gone(watching.client)
        assert await refused_code(platform_url, owner["access_token"], "/live") == (
            "auth.session_revoked"
        )
    finally:
        if watching.client.connected:
            await watching.client.disconnect()


@pytest.mark.skipif(not ON_POSTGRES, reason="a realtime process of its own needs real Redis")
async def test_logout_reaches_a_realtime_process_of_its_own(
    settings, client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    other = await distributor_admin(client, shop)
    # The API publishes as production's API processes do: through Redis, write-only.
    deps.broadcast.attach(socketio.AsyncRedisManager(settings.redis_url, write_only=True))
    try:
        with realtime_processes(settings, "signin-a", "signin-b") as processes:
            await asyncio.gather(*(p.ready() for p in processes))
            mine = [await console_socket(p.url, token(host)) for p in processes]
            theirs = await console_socket(processes[0].url, token(other))
            live = await Viewer().connect(processes[1].url, token(host))
            try:
                assert (await client.post(LOGOUT, headers=host)).status_code == 200
                assert await gone(*mine, live.client)
                assert theirs.connected
                for process in processes:
                    assert await refused_code(process.url, token(host), CONSOLE_NAMESPACE) == (
                        "auth.session_revoked"
                    )
            finally:
                for socket in (*mine, theirs, live.client):
                    if socket.connected:
                        await socket.disconnect()
    finally:
        deps.broadcast.attach(None)  # type: ignore[arg-type]
