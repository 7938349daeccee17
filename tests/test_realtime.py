"""The realtime server authenticates on connect with our access tokens (real server, websocket)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import socketio

from realtime.app import NAMESPACE, create_realtime_asgi
from tests.conftest import ThreadedServer
from tests.factories import wechat_login


@pytest.fixture(scope="module")
def realtime_server(settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_realtime_asgi(settings)) as server:
        yield server


async def connect(
    url: str, token: str | None, transports: tuple[str, ...] = ("websocket",)
) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        url,
        namespaces=[NAMESPACE],
        transports=list(transports),
        auth={"token": token} if token else None,
        wait_timeout=5,
    )
    return sio


async def test_connect_with_token_and_ack(realtime_server, client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "viewer")
    sio = await connect(realtime_server.url, tokens["access_token"])
    try:
        reply = await sio.call("whoami", {}, namespace=NAMESPACE, timeout=5)
    finally:
        await sio.disconnect()
    assert reply == {
        "ok": True,
        "data": {"user_id": tokens["identity"]["user_id"], "role": None, "store_id": None},
    }


@pytest.mark.parametrize(
    ("token", "code"), [(None, "auth.token_missing"), ("forged.token.value", "auth.token_invalid")]
)
async def test_connect_without_valid_token_is_refused(realtime_server, token, code) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    refusals: list[object] = []
    sio.on("connect_error", refusals.append, namespace=NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            realtime_server.url,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            auth={"token": token} if token else None,
            wait_timeout=3,
        )
    assert refusals == [{"message": refusals[0]["message"], "data": {"code": code}}]  # type: ignore[index]
    assert not sio.connected
