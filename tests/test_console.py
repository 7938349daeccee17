"""The web console's server side: the page and its libraries are served by the platform, the
/console realtime namespace admits staff only and pushes each complaint change to the rooms
that may see it, and the metrics add up per distributor."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
import socketio

from backend.complaints import service as complaints_service
from backend.complaints.states import Action
from backend.identity.models import Role
from backend.identity.tokens import Principal, read_access_token
from backend.infra.broadcast import CONSOLE_NAMESPACE, write_only_redis_broadcaster
from realtime.app import create_realtime_asgi
from tests.conftest import REDIS_URL, ThreadedServer
from tests.factories import make_shop, make_staff, staff_headers
from tests.test_complaints import API, filed, parties, step
from tests.test_realtime_signin import refused_code


class Watcher:
    """A console's socket, keeping what it was told of one event (EVENT)."""

    EVENT = "complaint.changed"

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.changes: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

        async def changed(event: dict[str, Any]) -> None:
            self.changes.append(event)
            self.arrived.set()

        self.client.on(self.EVENT, changed, namespace=CONSOLE_NAMESPACE)

    async def connect(self, url: str, headers: dict[str, str]) -> Watcher:
        token = headers["Authorization"].removeprefix("Bearer ")
        await self.client.connect(
            url,
            namespaces=[CONSOLE_NAMESPACE],
            transports=["websocket"],
            auth={"token": token},
            wait_timeout=5,
        )
        return self

    async def next_change(self) -> dict[str, Any]:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()
        return self.changes[-1]


async def test_the_console_page_and_its_libraries_are_served(client) -> None:
    page = await client.get("/console")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-cache"  # a new release reaches an open tab
    # The Vite build names its files by content hash: whatever the page references is served
    # and kept by browsers; a file the build does not have is not found.
    assets = set(re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', page.text))
    assert any(path.endswith(".js") for path in assets), page.text
    for path in assets:
        asset = await client.get(path)
        assert asset.status_code == 200, path
        assert "immutable" in asset.headers["Cache-Control"], path
    assert (await client.get("/console/assets/nothing-here.js")).status_code == 404
    home = await client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (302, "/console")


async def test_pushes_reach_the_brand_and_the_assigned_distributor_only(
    platform_url, client, sandbox_client
) -> None:
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    rival = await staff_headers(
        client,
        await make_staff(
            shop.tenant.brand.id, Role.DISTRIBUTOR_STAFF, shop.tenant.other_distributor.id
        ),
    )
    other_brand = await staff_headers(client, (await make_shop()).tenant.admin_username)
    watching = {
        name: await Watcher().connect(platform_url, headers)
        for name, headers in [
            ("brand", brand),
            ("distributor", distributor),
            ("rival", rival),
            ("other_brand", other_brand),
        ]
    }
    try:
        complaint = await filed(client, owner)
        assert await watching["brand"].next_change() == {"id": complaint["id"], "change": "filed"}
        await step(client, brand, complaint["id"], "acknowledge")
        assert (await watching["brand"].next_change())["change"] == "acknowledge"
        await step(client, brand, complaint["id"], "assign")
        assert (await watching["distributor"].next_change())["change"] == "assign"
        await step(client, distributor, complaint["id"], "respond", message="明天上门")
        assert (await watching["brand"].next_change())["change"] == "respond"
        assert (await watching["distributor"].next_change())["change"] == "respond"
        await asyncio.sleep(0.3)  # anything misrouted would have arrived by now
        assert [c["change"] for c in watching["brand"].changes] == [
            "filed",
            "acknowledge",
            "assign",
            "respond",
        ]
        assert [c["change"] for c in watching["distributor"].changes] == ["assign", "respond"]
        assert watching["rival"].changes == [] and watching["other_brand"].changes == []
    finally:
        for watcher in watching.values():
            await watcher.client.disconnect()


async def test_store_owners_and_strangers_are_refused_by_the_console_namespace(
    platform_url, client, sandbox_client
) -> None:
    _, _, _, owner = await parties(client, sandbox_client)
    for access_token, code in [
        (owner["access_token"], "auth.role_not_allowed"),
        ("forged.token.value", "auth.token_invalid"),
        (None, "auth.token_missing"),
    ]:
        assert await refused_code(platform_url, access_token, CONSOLE_NAMESPACE) == code


def principal_of(deps: Any, headers: dict[str, str]) -> Principal:
    token = headers["Authorization"].removeprefix("Bearer ")
    return read_access_token(token, secret=deps.settings.jwt_secret, now=deps.clock.now())


async def _handled(deps: Any, parties: list[Principal], waits: list[int]) -> list[int]:
    """Complaints filed two days ago, acknowledged after each of `waits` minutes, then assigned,
    answered and resolved an hour later (through the service, at those times)."""
    brand, distributor, owner = parties
    start = deps.clock.now() - timedelta(days=2)
    numbers = []
    for number, waited in enumerate(waits):
        filed_at = start + timedelta(minutes=number)
        fields = {"category": "damaged", "order_id": None, "text": "外壳破裂"}
        fields |= {"contact_preference": "phone", "photo_ids": []}
        complaint = await complaints_service.file(deps, owner, fields, now=filed_at)
        answered_at = filed_at + timedelta(minutes=waited)
        for actor, action in [
            (brand, Action.ACKNOWLEDGE),
            (brand, Action.ASSIGN),
            (distributor, Action.RESPOND),
        ]:
            await complaints_service.act(
                deps,
                actor,
                complaint["id"],
                action,
                message="",
                distributor_id=None,
                now=answered_at,
            )
        await complaints_service.act(
            deps,
            brand,
            complaint["id"],
            Action.RESOLVE,
            message="",
            distributor_id=None,
            now=answered_at + timedelta(minutes=60),
        )
        numbers.append(complaint["id"])
    return numbers


async def test_metrics_give_medians_p90_breaches_and_ratings_per_distributor(
    client, sandbox_client, deps
) -> None:
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    acting = [principal_of(deps, h) for h in (brand, distributor, bearer_of(owner))]
    waits = [10, 20, 30, 40, 50, 60, 70, 80, 90, 300]
    numbers = await _handled(deps, acting, waits)
    now = deps.clock.now()
    for complaint_id, stars in [(numbers[0], 5), (numbers[1], 2)]:
        await complaints_service.rate(deps, acting[2], complaint_id, stars, "", now=now)
    fields = {"category": "damaged", "order_id": None, "text": "还没人理", "photo_ids": []}
    waiting = await complaints_service.file(  # not yet handled: its own group, and late
        deps, acting[2], fields | {"contact_preference": "none"}, now=now - timedelta(hours=5)
    )
    assert await complaints_service.escalate_breaches(now) == 1

    figures = (await client.get(f"{API}/metrics?days=7", headers=brand)).json()
    by_name = {row["distributor_name"]: row for row in figures["distributors"]}
    handled = by_name[shop.tenant.distributor.name]
    assert handled["filed"] == 10
    assert handled["first_response"] == {"count": 10, "median_minutes": 50.0, "p90_minutes": 90.0}
    assert handled["resolution"]["median_minutes"] == 110.0
    assert handled["resolution"]["p90_minutes"] == 150.0
    assert handled["rating"] == {"count": 2, "average": 3.5, "by_stars": by_stars(5, 2)}
    assert handled["breaches"]["total"] == 0
    unassigned = by_name["未转经销商"]
    assert (unassigned["filed"], unassigned["first_response"]["count"]) == (1, 0)
    assert unassigned["breaches"] == {"first_response": 1, "resolution": 0, "total": 1}
    assert figures["overall"]["filed"] == 11
    assert waiting["id"] not in numbers
    one_day = (await client.get(f"{API}/metrics?days=1", headers=brand)).json()
    assert one_day["overall"]["filed"] == 1  # the others were filed a day and more ago

    # The distributor sees itself only; a store sees no metrics at all.
    own = (await client.get(f"{API}/metrics", headers=distributor)).json()
    assert [row["distributor_name"] for row in own["distributors"]] == [
        shop.tenant.distributor.name
    ]
    assert (await client.get(f"{API}/metrics", headers=bearer_of(owner))).status_code == 403
    assert (await client.get(f"{API}/metrics?days=0", headers=brand)).status_code == 422
    assert (await client.get(f"{API}/metrics?days=abc", headers=brand)).status_code == 422


def bearer_of(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def by_stars(*given: int) -> dict[str, int]:
    counts = dict.fromkeys("12345", 0)
    for stars in given:
        counts[str(stars)] += 1
    return counts


@pytest.mark.skipif(not REDIS_URL.startswith("redis://"), reason="needs a real Redis")
async def test_an_api_process_pushes_through_redis_to_a_separate_realtime_server(
    settings, deps, client, sandbox_client
) -> None:
    """Production's path: the API publishes with a write-only Redis manager, and a realtime
    server (its own thread and event loop here, as it would be its own process) delivers."""
    _, brand, _, owner = await parties(client, sandbox_client)
    serving_alone = deps.broadcast
    deps.broadcast = write_only_redis_broadcaster(settings.redis_url)
    try:
        with ThreadedServer(create_realtime_asgi(settings)) as realtime:
            watcher = await Watcher().connect(realtime.url, brand)
            try:
                complaint = await filed(client, owner)
                assert await watcher.next_change() == {"id": complaint["id"], "change": "filed"}
            finally:
                await watcher.client.disconnect()
    finally:
        deps.broadcast = serving_alone
