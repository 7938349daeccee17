"""How the realtime server writes to websockets (realtime/transport.py): a broadcast's frame
written straight to each connection, in order with everything else a client is sent; pings
on timers; and the connections that cannot keep up, or went silent, closed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect

from realtime import transport
from realtime.app import NAMESPACE, create_sio
from tests.conftest import serving_realtime
from tests.factories import wechat_login
from tests.test_realtime import connect


@pytest.fixture
async def realtime(settings, deps) -> AsyncIterator[tuple[socketio.AsyncServer, str]]:
    sio = create_sio(settings, deps=deps)
    async with serving_realtime(sio) as url:
        yield sio, url


@pytest.fixture
async def token(client, sandbox_client) -> str:
    return str((await wechat_login(client, sandbox_client, "viewer"))["access_token"])


async def until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within time")
        await asyncio.sleep(0.02)


async def raw_member(url: str, token: str, **options: Any) -> ClientConnection:
    """A websocket that speaks Engine.IO by hand, connected to /live: it answers nothing
    (no pong) and reads only when told to."""
    ws = await websocket_connect(
        url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", **options
    )
    assert str(await ws.recv()).startswith("0")  # OPEN
    await ws.send(f"40{NAMESPACE},{json.dumps({'token': token})}")
    assert str(await ws.recv()).startswith(f"40{NAMESPACE},")  # connected
    return ws


async def test_a_broadcast_reaches_websocket_and_polling_clients_in_order(realtime, token) -> None:
    sio, url = realtime
    direct, polling = await connect(url, token), await connect(url, token, ("polling",))
    received: dict[str, list[int]] = {"direct": [], "polling": []}
    for name, member in (("direct", direct), ("polling", polling)):
        member.on("news", lambda data, name=name: received[name].append(data["n"]), NAMESPACE)
        await sio.enter_room(member.get_sid(NAMESPACE), "news", namespace=NAMESPACE)
    try:
        # The websocket client is written to directly, the long-polling one through its queue.
        writers = {
            "websocket" if s.upgraded else "polling": s.write_frame is not None
            for s in sio.eio.sockets.values()
        }
        assert sorted(writers.items()) == [("polling", False), ("websocket", True)]
        for n in range(200):
            await sio.emit("news", {"n": n}, room="news", namespace=NAMESPACE)
        await until(lambda: len(received["direct"]) == len(received["polling"]) == 200)
        assert received["direct"] == received["polling"] == list(range(200))
    finally:
        await direct.disconnect()
        await polling.disconnect()


async def test_an_answer_arrives_after_what_its_handler_sent_first(realtime, token) -> None:
    sio, url = realtime

    async def shout(sid: str, data: Any) -> dict[str, Any]:
        await sio.emit("heard", data, to=sid, namespace=NAMESPACE)
        return {"answered": data}

    sio.on("shout", shout, namespace=NAMESPACE)
    member = await connect(url, token)
    arrivals: list[tuple[str, int]] = []
    member.on("heard", lambda n: arrivals.append(("heard", n)), NAMESPACE)
    try:
        for n in range(30):
            await member.emit(
                "shout", n, NAMESPACE, callback=lambda a: arrivals.append(("answer", a["answered"]))
            )
        await until(lambda: len(arrivals) == 60)
    finally:
        await member.disconnect()
    for n in range(30):
        assert arrivals.index(("heard", n)) < arrivals.index(("answer", n))


async def test_pings_keep_a_client_and_a_silent_one_is_let_go(realtime, token) -> None:
    sio, url = realtime
    sio.eio.ping_interval, sio.eio.ping_timeout = 1, 1
    disconnected: list[str] = []
    sio.on("disconnect", lambda sid, reason: disconnected.append(sid), namespace=NAMESPACE)
    member = await connect(url, token)
    silent = await raw_member(url, token)
    try:
        await asyncio.sleep(3.5)  # three pings and more, each answered by `member` only
        assert member.connected
        reply = await member.call("whoami", {}, namespace=NAMESPACE, timeout=5)
        assert reply["ok"] is True
        await until(lambda: len(disconnected) == 1)
        assert disconnected != [member.get_sid(NAMESPACE)]
        assert len(sio.eio.sockets) == 1
    finally:
        await member.disconnect()
        await silent.close()


async def test_a_client_that_stops_reading_is_closed_and_the_room_goes_on(
    realtime, token, monkeypatch
) -> None:
    sio, url = realtime
    monkeypatch.setattr(transport, "MAX_UNSENT_BYTES", 64 * 1024)
    reader = await connect(url, token)
    # Takes one message and then nothing: its socket's buffers fill, then the server's.
    stuck = await raw_member(url, token, max_queue=1)
    received: list[int] = []
    reader.on("news", lambda data: received.append(data["n"]), NAMESPACE)
    disconnected: list[str] = []
    sio.on("disconnect", lambda sid, reason: disconnected.append(sid), namespace=NAMESPACE)
    room = sio.manager.rooms[NAMESPACE]
    for sid in list(room[None]):
        await sio.enter_room(sid, "news", namespace=NAMESPACE)
    try:
        bulk = "x" * 100_000
        for n in range(150):  # 15 MB: more than the kernel's buffers hold
            await sio.emit("news", {"n": n, "bulk": bulk}, room="news", namespace=NAMESPACE)
            await asyncio.sleep(0)
        await until(lambda: len(received) == 150 and len(disconnected) == 1)
        assert received == list(range(150))
        assert disconnected != [reader.get_sid(NAMESPACE)]
        assert list(room["news"]) == [reader.get_sid(NAMESPACE)]
    finally:
        await reader.disconnect()
        await stuck.close()
