"""The room's counters as pushed: the ticker counts what the report counts (cancelled orders
apart), a cancelled live order moves the ticker and the card on screen, and every pushed
counter carries a version that only grows, so that pushes arriving out of order resolve to
the newest figures (the client keeps the greatest version)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from backend.identity.models import Role
from backend.livestream.models import LiveProduct, LiveSession
from backend.ordering import service as ordering_service
from backend.ordering.models import Order
from tests.factories import bearer, make_staff, staff_headers
from tests.test_live_orders import keyed, live_now
from tests.test_live_room import Viewer, newest
from tests.test_live_sessions import API

PRICE = 159_900  # the session's RO-500 at its live price; 30 set aside


def resolve(pushes: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client keeping the newest version shows after `pushes`, in the order given."""
    shown: dict[str, Any] = {"version": -1}
    for push in pushes:
        if push["version"] >= shown["version"]:
            shown = push
    return shown


def assert_resolvable(pushes: list[dict[str, Any]], field: str, rising: bool) -> None:
    """Versions differ, and a greater version never carries an older figure: in whatever
    order the pushes arrive, keeping the greatest version shows the newest figure."""
    assert len({push["version"] for push in pushes}) == len(pushes)
    by_version = [push[field] for push in sorted(pushes, key=lambda push: push["version"])]
    assert by_version == sorted(by_version, reverse=not rising)
    assert resolve(list(reversed(pushes))) == resolve(pushes) == newest(pushes)


async def test_the_ticker_leaves_cancelled_orders_out_and_a_cancel_moves_it_and_the_card(
    platform_url, client, sandbox_client, deps
) -> None:
    _, session, owner = await live_now(client, sandbox_client, deps)
    product = session["products"][0]
    host = await distributor_admin_viewer(platform_url, client, session)
    viewer = await Viewer().connect(platform_url, owner["access_token"])
    try:
        joined = (await viewer.call("join", {"session_id": session["id"]}))["data"]
        card = await host.call("host:push_product", {"product_id": product["id"]})
        assert card["data"]["version"] > joined["version"]

        async def buy() -> dict[str, Any]:
            body = {"product_id": product["id"], "quantity": 1}
            placed = await client.post(
                f"{API}/{session['id']}/orders", json=body, headers=keyed(owner)
            )
            assert placed.status_code == 201, placed.text
            return dict(placed.json())

        orders = await asyncio.gather(*(buy() for _ in range(8)))
        tickers = list(await viewer.told("ticker", 8))  # a copy: more arrive later
        assert_resolvable(tickers, "orders", rising=True)
        assert_resolvable(tickers, "left", rising=False)
        assert {key: newest(tickers)[key] for key in ("orders", "gmv_fen", "left")} == {
            "orders": 8,
            "gmv_fen": 8 * PRICE,
            "left": 22,
        }

        # A store cancels one: the ticker drops it and the card on screen gets its unit back.
        cancelled = await client.post(
            f"/api/v1/orders/{orders[0]['id']}/cancel",
            json={"reason": "买错了"},
            headers=bearer(owner),
        )
        assert cancelled.status_code == 200, cancelled.text
        after = (await viewer.told("ticker", 9))[-1]
        assert after["version"] > newest(tickers)["version"]
        assert (after["orders"], after["gmv_fen"], after["left"]) == (7, 7 * PRICE, 23)
        cards = await viewer.told("product", 2)
        assert (cards[-1]["product_id"], cards[-1]["left"]) == (product["id"], 23)
        assert cards[-1]["version"] == after["version"]

        # One expires unpaid (the periodic job): the same.
        await Order.filter(id=orders[1]["id"]).update(
            pay_deadline=deps.clock.now() - timedelta(minutes=1)
        )
        assert await ordering_service.expire_unpaid(deps) == 1
        expired = (await viewer.told("ticker", 10))[-1]
        assert (expired["orders"], expired["gmv_fen"], expired["left"]) == (6, 6 * PRICE, 24)
        assert expired["version"] > after["version"]

        # The ticker is the report's count; a rejoin reads the same, with its version.
        report = (await client.get(f"{API}/{session['id']}/report", headers=host.headers)).json()
        assert (report["orders"], report["gmv_fen"], report["cancelled_orders"]) == (
            6,
            6 * PRICE,
            2,
        )
        state = (await viewer.call("state"))["data"]
        assert (state["orders"], state["gmv_fen"], state["card"]["left"]) == (6, 6 * PRICE, 24)
        assert state["version"] >= expired["version"]
        assert (await LiveProduct.get(id=product["id"])).sold == 6
    finally:
        await viewer.client.disconnect()
        await host.client.disconnect()


async def test_viewer_counts_carry_growing_versions(
    platform_url, client, sandbox_client, deps
) -> None:
    _, session, owner = await live_now(client, sandbox_client, deps)
    host = await distributor_admin_viewer(platform_url, client, session)
    try:
        viewer = await Viewer().connect(platform_url, owner["access_token"])
        assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
        first = (await host.told("viewers"))[-1]
        await viewer.client.disconnect()
        second = (await host.told("viewers", 2))[-1]
        assert (first["count"], second["count"]) == (2, 1)
        assert second["version"] > first["version"]
        assert resolve([second, first])["count"] == 1
    finally:
        await host.client.disconnect()


class HostViewer(Viewer):
    headers: dict[str, str]


async def distributor_admin_viewer(url: str, client: Any, session: dict[str, Any]) -> HostViewer:
    """A host of the session (its distributor's admin) in the room."""
    live = await LiveSession.get(id=session["id"])
    username = await make_staff(
        live.brand_id,  # type: ignore[attr-defined]
        Role.DISTRIBUTOR_ADMIN,
        live.distributor_id,  # type: ignore[attr-defined]
    )
    headers = await staff_headers(client, username)
    host = HostViewer()
    host.headers = headers
    await host.connect(url, headers["Authorization"].removeprefix("Bearer "))
    assert (await host.call("join", {"session_id": session["id"]}))["ok"]
    return host
