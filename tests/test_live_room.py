"""The /live namespace against the real server (the API and realtime in one ASGI app on a
loopback port, websocket transport): invited stores join and see the room's whole state,
hosts alone run it, chat is limited and checked, and every event is acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from backend.catalog import service as catalog_service
from backend.catalog.models import Product, Sku
from backend.livestream import room
from backend.livestream.draws import mask_store_name
from backend.livestream.models import LiveProduct
from realtime.live import NAMESPACE
from tests.factories import distributor_admin, make_shop, make_store, store_owner
from tests.test_live_sessions import scheduled, session_body


class Viewer:
    """A python-socketio client in the room, keeping every event it is sent."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.seen: dict[str, list[Any]] = {}
        self.client.on("*", self._keep, namespace=NAMESPACE)

    async def _keep(self, event: str, data: Any) -> None:
        self.seen.setdefault(event, []).append(data)

    async def connect(self, url: str, token: str) -> Viewer:
        await self.client.connect(
            url,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            auth={"token": token},
            wait_timeout=5,
        )
        return self

    async def call(self, event: str, data: Any = None, wait_seconds: float = 5) -> dict[str, Any]:
        reply: dict[str, Any] = await self.client.call(
            event, data or {}, namespace=NAMESPACE, timeout=wait_seconds
        )
        return reply

    async def told(self, event: str, count: int = 1) -> list[Any]:
        """Wait (briefly) until this client has been sent `count` of `event`."""
        for _ in range(100):
            if len(self.seen.get(event, [])) >= count:
                break
            await asyncio.sleep(0.02)
        return self.seen.get(event, [])


def newest(pushes: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client shows of a counter: the push with the greatest version, whatever the
    order they arrived in (versions only grow: room.next_version)."""
    return max(pushes, key=lambda push: push["version"])


def counts(pushes: list[dict[str, Any]]) -> list[int]:
    return [push["count"] for push in pushes]


def token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def live_session(client: Any, sandbox_client: Any, deps: Any) -> Any:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    return shop, host, session, owner


async def test_a_card_shows_the_live_product_and_its_sku_as_the_catalog_does(
    client, sandbox_client, deps
) -> None:
    shop, _, session, _ = await live_session(client, sandbox_client, deps)
    live = await LiveProduct.get(id=session["products"][0]["id"])
    sku = await Sku.get(id=live.sku_id)  # type: ignore[attr-defined]
    await Product.filter(id=sku.product_id).update(  # type: ignore[attr-defined]
        images=["https://img.example/ro-500-front.jpg", "https://img.example/ro-500-side.jpg"]
    )
    await LiveProduct.filter(id=live.id).update(sold=live.live_stock - 3)
    product = await Product.get(id=sku.product_id)  # type: ignore[attr-defined]

    carded = await room.carded_product(live.id, session_id=session["id"])
    assert carded is not None
    assert room.product_card(shop.tenant.brand.id, carded) == {
        "product_id": live.id,
        "sku_id": sku.id,
        "name": product.name,
        "sku_name": sku.name,
        "spec": sku.spec,
        "image": "https://img.example/ro-500-front.jpg",
        "unit": sku.unit,
        "list_price_fen": sku.list_price_fen,
        "live_price_fen": live.live_price_fen,
        "live_stock": live.live_stock,
        "left": 3,
        "sku": catalog_service.sku_view(sku),
    }
    assert carded.sku.view["is_active"] is True  # a boolean on SQLite too
    # Another session's product is not this session's; another brand's is no card of it.
    assert await room.carded_product(live.id, session_id=session["id"] + 1) is None
    with pytest.raises(room.ProductNotInSession):
        room.product_card(shop.tenant.brand.id + 1, carded)


async def test_an_invited_store_joins_and_the_host_runs_the_room(
    platform_url, client, sandbox_client, deps
) -> None:
    _, host, session, owner = await live_session(client, sandbox_client, deps)
    hosting = await Viewer().connect(platform_url, token(host))
    watching = await Viewer().connect(platform_url, owner["access_token"])
    try:
        early = await watching.call("chat", {"text": "你好"})
        assert early["error"]["code"] == "live.not_joined"
        assert (await hosting.call("join", {"session_id": session["id"]}))["ok"]
        joined = await watching.call("join", {"session_id": session["id"]})
        assert joined["ok"] and joined["data"]["status"] == "scheduled"
        assert joined["data"]["viewers"] == 2
        # The joins are told to the room within a second, at most one push a second: one
        # push of both, or two when the store's join took longer (a busy machine).
        pushes = await hosting.told("viewers")
        if counts(pushes) == [1]:
            pushes = await hosting.told("viewers", 2)
        assert counts(pushes) in ([2], [1, 2])

        refused = await watching.call("host:start")
        assert refused == {
            "ok": False,
            "error": {"code": "live.not_host", "message": "只有主播可以这样做", "details": None},
        }
        not_live = await watching.call("chat", {"text": "开始了吗"})
        assert not_live["error"]["code"] == "live.session_not_live"
        assert (await hosting.call("host:start"))["data"]["status"] == "live"
        assert (await watching.told("session"))[-1] == {"status": "live"}

        product_id = session["products"][0]["id"]
        card = await hosting.call("host:push_product", {"product_id": product_id})
        assert card["ok"] and card["data"]["live_price_fen"] == 159_900
        assert (await watching.told("product"))[-1]["sku"]["name"] == "RO-500"
        missing = await hosting.call("host:push_product", {"product_id": 999_999})
        assert missing["error"]["code"] == "live.product_not_found"
        assert (await hosting.call("host:pin", {"text": "下单满 3 台送滤芯"}))["ok"]
        assert (await watching.call("like", {"count": 5}))["data"] == {"total": 5}
        assert (await watching.call("like", {"count": 500}))["ok"] is False

        # Reconnecting, the store gets the whole state back at once.
        await watching.client.disconnect()
        assert newest(await hosting.told("viewers", len(pushes) + 1))["count"] == 1
        again = await Viewer().connect(platform_url, owner["access_token"])
        state = (await again.call("join", {"session_id": session["id"]}))["data"]
        assert state["card"]["product_id"] == product_id
        assert state["pinned"]["text"] == "下单满 3 台送滤芯"
        assert (state["likes"], state["viewers"], state["status"]) == (5, 2, "live")
        await again.client.disconnect()
    finally:
        await hosting.client.disconnect()
        if watching.client.connected:
            await watching.client.disconnect()


async def test_only_invited_stores_may_join(platform_url, client, sandbox_client, deps) -> None:
    shop, _, session, _ = await live_session(client, sandbox_client, deps)
    elsewhere = await make_store(shop.tenant, distributor=shop.tenant.other_distributor)
    outsider = await store_owner(client, sandbox_client, elsewhere)
    viewer = await Viewer().connect(platform_url, outsider["access_token"])
    try:
        refused = await viewer.call("join", {"session_id": session["id"]})
        assert refused["error"]["code"] == "live.session_not_found"
        assert (await viewer.call("join", {"session_id": "1"}))["ok"] is False
        assert (await viewer.call("state"))["error"]["code"] == "live.not_joined"
    finally:
        await viewer.client.disconnect()


async def test_chat_is_limited_checked_and_muted_by_the_host(
    platform_url, client, sandbox_client, deps
) -> None:
    shop, host, session, owner = await live_session(client, sandbox_client, deps)
    hosting = await Viewer().connect(platform_url, token(host))
    watching = await Viewer().connect(platform_url, owner["access_token"])
    try:
        for viewer in (hosting, watching):
            assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        await hosting.call("host:start")
        sent = await watching.call("chat", {"text": "  这款滤芯   多久换一次？ "})
        assert sent["ok"] and sent["data"]["text"] == "这款滤芯 多久换一次？"
        told = (await hosting.told("chat"))[-1]
        assert told["text"] == "这款滤芯 多久换一次？"
        # The room reads the speaker's store masked, as draws' winners are.
        assert told["name"] == mask_store_name(shop.tenant.store.name) != shop.tenant.store.name
        flood = await watching.call("chat", {"text": "再问一次"})
        assert flood["error"]["code"] == "live.chat_rate_limited"
        await deps.redis.delete(f"live:chat:{session['id']}:{owner['identity']['user_id']}")
        assert (await watching.call("chat", {"text": "长" * 201}))["error"]["code"] == (
            "live.chat_too_long"
        )
        assert (await watching.call("chat", {"text": "   "}))["error"]["code"] == "live.chat_empty"
        risky = await watching.call("chat", {"text": "来赌博吗"})
        assert risky["error"]["code"] == "live.chat_rejected"
        muted = await hosting.call("host:mute", {"user_id": owner["identity"]["user_id"]})
        assert muted["ok"]
        await deps.redis.delete(f"live:chat:{session['id']}:{owner['identity']['user_id']}")
        assert (await watching.call("chat", {"text": "我还能说话吗"}))["error"]["code"] == (
            "live.chat_muted"
        )
        assert len(await hosting.told("chat")) == 1  # only the one that passed went out
    finally:
        await hosting.client.disconnect()
        await watching.client.disconnect()


async def test_starting_and_ending_over_http_tells_the_room(
    platform_url, client, sandbox_client, deps
) -> None:
    from tests.test_live_sessions import API

    _, host, session, owner = await live_session(client, sandbox_client, deps)
    watching = await Viewer().connect(platform_url, owner["access_token"])
    try:
        assert (await watching.call("join", {"session_id": session["id"]}))["ok"]
        assert (await client.post(f"{API}/{session['id']}/start", headers=host)).status_code == 200
        assert (await watching.told("session"))[-1] == {"status": "live"}
        assert (await client.post(f"{API}/{session['id']}/end", headers=host)).status_code == 200
        ended = (await watching.told("session", 2))[-1]
        assert (ended["status"], ended["card"]) == ("ended", None)
    finally:
        await watching.client.disconnect()
