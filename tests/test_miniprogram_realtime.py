"""The mini-program's own realtime client (realtime.js and live-room.js in
miniprogram/packageLive/utils/, run under node with wx.connectSocket over `ws`) against the
real server: a store owner joins a live session, sees the host's product card, grabs a red
packet twice at once, and is told the rain's result; the database holds the win and its
ledger credit exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from backend.ledger.models import Account, LedgerEntry
from backend.livestream.models import RedPacketGrant
from tests.factories import distributor_admin, make_shop
from tests.test_live_rain_room import owner_token
from tests.test_live_room import Viewer, token
from tests.test_live_sessions import scheduled, session_body

MINIPROGRAM = Path(__file__).resolve().parent.parent / "miniprogram"
LIVE_CLIENT = MINIPROGRAM / "tests" / "integration" / "live_client.js"
WAIT_SECONDS = 20


def node_or_skip() -> str:
    """Node and the mini-program's test packages (`make install`), or a skip: but never in
    CI (B2BC_REQUIRE_BROWSER=1), where a missing piece must fail the run."""
    node = shutil.which("node")
    missing = [
        what
        for what, present in (
            ("node", node is not None),
            ("miniprogram/node_modules", (MINIPROGRAM / "node_modules" / "ws").is_dir()),
        )
        if not present
    ]
    if missing:
        reason = f"the mini-program's realtime client needs {' and '.join(missing)}"
        if os.environ.get("B2BC_REQUIRE_BROWSER"):
            pytest.fail(f"{reason} (run `make install`)")
        pytest.skip(reason)
    assert node is not None
    return node


class Phone:
    """The node process playing the store owner's phone: its JSON lines, by event."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []

    async def saw(self, event: str) -> dict[str, Any]:
        """The first `event` line, reading on until it comes."""
        for line in self.lines:
            if line["event"] == event:
                return line
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), WAIT_SECONDS)
            if not raw:
                stderr = await self.stderr()
                raise AssertionError(f"the phone stopped before {event!r}: {self.lines} {stderr}")
            line = json.loads(raw)
            self.lines.append(line)
            if line["event"] == event:
                return line

    async def stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode(errors="replace")

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


async def test_the_mini_program_grabs_a_red_packet_in_the_room(platform_url, client, deps) -> None:
    node = node_or_skip()
    shop = await make_shop()
    store = shop.tenant.store
    host_headers = await distributor_admin(client, shop)
    rain = {"total_fen": 5_000, "count": 5, "duration_seconds": 60}
    session = await scheduled(client, host_headers, session_body(shop, deps, rains=[rain]))
    rain_id = session["rains"][0]["id"]
    product_id = session["products"][0]["id"]

    process = await asyncio.create_subprocess_exec(
        node,
        str(LIVE_CLIENT),
        platform_url,
        str(session["id"]),
        env={**os.environ, "B2BC_ACCESS_TOKEN": await owner_token(deps, store)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    phone = Phone(process)
    host = await Viewer().connect(platform_url, token(host_headers))
    try:
        joined = (await phone.saw("joined"))["state"]
        assert (joined["session_id"], joined["status"], joined["rain"]) == (
            session["id"],
            "scheduled",
            None,
        )
        assert (await host.call("join", {"session_id": session["id"]}))["ok"]
        assert (await host.call("host:start"))["ok"]
        assert (await host.call("host:push_product", {"product_id": product_id}))["ok"]
        card = (await phone.saw("product"))["card"]
        assert (card["product_id"], card["live_price_fen"], card["sku"]["name"]) == (
            product_id,
            159_900,
            "RO-500",
        )

        assert (await host.call("host:rain", {"rain_id": rain_id}))["ok"]
        assert (await phone.saw("rain"))["rain"]["id"] == rain_id
        # Two grabs at once from one phone: one packet, and the same answer again.
        acks = [(await phone.saw("grab"))["ack"], (await phone.saw("grab_again"))["ack"]]
        assert all(ack["ok"] for ack in acks), acks
        won = acks[0]["data"]["amount_fen"]
        assert 1 <= won <= rain["total_fen"]
        assert [ack["data"]["amount_fen"] for ack in acks] == [won, won]
        assert sorted(ack["data"]["again"] for ack in acks) == [False, True]
        assert (await phone.saw("mine"))["mine"] == {"rain_id": rain_id, "amount_fen": won}

        assert (await host.call("host:end"))["ok"]
        result = (await phone.saw("rain_result"))["result"]
        assert (result["id"], result["status"]) == (rain_id, "ended")
        assert [(r["store_id"], r["amount_fen"]) for r in result["results"]] == [(store.id, won)]
        assert await asyncio.wait_for(process.wait(), WAIT_SECONDS) == 0  # it left the room
    finally:
        await host.client.disconnect()
        await phone.stop()

    grants = await RedPacketGrant.filter(rain_id=rain_id).values("id", "store_id", "amount_fen")
    assert [(g["store_id"], g["amount_fen"]) for g in grants] == [(store.id, won)]
    cash = await Account.get(store_id=store.id, kind="cash")
    credits = LedgerEntry.filter(cause="red_packet")
    assert await credits.values("account_id", "amount", "cause_id") == [
        {"account_id": cash.id, "amount": won, "cause_id": grants[0]["id"]}
    ]
    assert cash.balance == won
