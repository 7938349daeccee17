"""Several realtime processes on real Redis: rooms span them (python-socketio's
AsyncRedisManager), a rain's grabs across them never pass its count, and killing one with
SIGKILL in the middle of a rain loses no money.

Each process here is a real `b2bc realtime` (`python -m backend.cli realtime`) on the test's
database and Redis, started as production starts it; the clients are python-socketio clients
on the websocket transport. Only on PostgreSQL and Redis: in the embedded default there is
one process, and the in-process Redis cannot be shared."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import Settings
from backend.identity.models import Role, User
from backend.identity.tokens import Principal, issue_access_token
from backend.ledger import service as ledger_service
from backend.ledger.models import LedgerEntry, PartyAccount
from backend.livestream import rains, room
from backend.livestream.models import (
    Eligibility,
    LiveDraw,
    LiveProduct,
    LiveSession,
    RainStatus,
    RedPacketGrant,
    RedPacketRain,
)
from tests.conftest import ARTIFACTS, ON_POSTGRES, free_port
from tests.factories import live_session_with_stores as make_live_session
from tests.factories import make_shop
from tests.test_live_rain_room import owner_token
from tests.test_live_room import Viewer, newest

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="several realtime processes share rooms only through real Redis"
)

ROOT = Path(__file__).resolve().parent.parent


class RealtimeProcess:
    """One `b2bc realtime` process on a loopback port, its output in test-artifacts/."""

    def __init__(self, settings: Settings, name: str, port: int | None = None) -> None:
        self.settings, self.name = settings, name
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RealtimeProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("B2BC_", "WECHAT_"))}
        env |= {
            "B2BC_MODE": "embedded",  # embedded settings (secrets in the data folder) ...
            "DATABASE_URL": self.settings.database_url,  # ... on PostgreSQL and real Redis
            "REDIS_URL": self.settings.redis_url,
            "B2BC_DATA_DIR": str(self.settings.data_dir),  # the tests' JWT secret
            "B2BC_HOST": "127.0.0.1",
            "B2BC_LOG_LEVEL": "WARNING",
        }
        log_dir = ARTIFACTS / "realtime"
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "realtime", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    async def ready(self) -> RealtimeProcess:
        """The Engine.IO handshake answers once the process serves (within 30 s)."""
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, self.name
                try:
                    answer = await http.get(f"{self.url}/socket.io/?EIO=4&transport=polling")
                    if answer.status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as a crashed or OOM-killed process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def realtime_processes(settings: Settings, *names: str) -> Iterator[list[RealtimeProcess]]:
    processes = [RealtimeProcess(settings, name).start() for name in names]
    try:
        yield processes
    finally:
        for process in processes:
            process.stop()


@asynccontextmanager
async def connected(viewers: list[Viewer]) -> AsyncIterator[list[Viewer]]:
    try:
        yield viewers
    finally:
        await asyncio.gather(
            *(v.client.disconnect() for v in viewers if v.client.connected),
            return_exceptions=True,
        )


async def host_token(deps: Any, tenant: Any) -> str:
    """An access token of the distributor's admin, minted directly (see owner_token)."""
    user = await User.create(display_name="主播")
    principal = Principal(
        user_id=user.id,
        session_id="scale-out-host",
        role=Role.DISTRIBUTOR_ADMIN.value,
        brand_id=tenant.brand.id,
        distributor_id=tenant.distributor.id,
        store_id=None,
    )
    return issue_access_token(
        principal, secret=deps.settings.jwt_secret, now=deps.clock.now(), ttl_seconds=900
    )


async def room_of(deps: Any, stores: int) -> tuple[Any, list[Any], list[str], str]:
    """A live session inviting `stores` stores, with a product: the session, the stores,
    their owners' tokens and the host's token."""
    shop = await make_shop()
    _, session, invited = await make_live_session(deps, stores=stores, tenant=shop.tenant)
    await LiveProduct.create(
        session=session, sku_id=shop.water, live_price_fen=159_900, live_stock=10, sort=1
    )
    tokens = [await owner_token(deps, store) for store in invited]
    return session, invited, tokens, await host_token(deps, shop.tenant)


async def join(viewer: Viewer, session_id: int) -> dict[str, Any]:
    """Joins as the room page does: asked again after a `db_busy` (a busy machine's
    database had no connection free), after 1, 2, 4 and 8 s."""
    for wait in (1, 2, 4, 8):
        reply = await viewer.call("join", {"session_id": session_id})
        if reply["ok"] or reply["error"]["code"] != "db_busy":
            return reply
        await asyncio.sleep(wait)
    return reply


async def join_all(viewers: list[Viewer], session_id: int) -> None:
    replies = await asyncio.gather(*(join(v, session_id) for v in viewers))
    assert all(reply["ok"] for reply in replies), [r for r in replies if not r["ok"]][:3]


async def plan_rain(session: Any, *, total_fen: int, count: int, seconds: int) -> int:
    rain = await RedPacketRain.create(
        session=session, total_fen=total_fen, count=count, duration_seconds=seconds
    )
    return int(rain.id)


# What the room page shows as "没抢到，再试一次" and lets the store tap again: the server had no
# database connection for the grab in time (a loaded machine), or failed otherwise. A win
# Redis recorded before such a failure is answered on the next tap (`again`).
TRANSIENT = {"db_busy", "live.failed"}


async def grab_as_the_room_does(viewers: list[Viewer], rain_id: int) -> list[dict[str, Any]]:
    """Every viewer grabs once, and taps again (up to three times) after a transient
    failure, as the mini-program's room does."""

    async def tap(viewer: Viewer) -> dict[str, Any]:
        reply: dict[str, Any] = {}
        for _ in range(4):
            reply = await viewer.call("grab", {"rain_id": rain_id}, wait_seconds=30)
            if reply["ok"] or reply["error"]["code"] not in TRANSIENT:
                break
        return reply

    return list(await asyncio.gather(*(tap(v) for v in viewers)))


async def assert_rain_books(rain_id: int, acknowledged: dict[int, int]) -> RedPacketRain:
    """Ended, granted + returned == total, every grant a packet of the split and credited in
    the ledger exactly once, every win a client was told is a grant with that amount."""
    rain = await RedPacketRain.get(id=rain_id).select_related("session")
    assert rain.status == RainStatus.ENDED.value
    grants = await RedPacketGrant.filter(rain_id=rain_id)
    fen = sum(g.amount_fen for g in grants)
    assert (rain.granted_fen, rain.granted_count) == (fen, len(grants))
    assert rain.granted_fen + rain.returned_fen == rain.total_fen
    assert len(grants) <= rain.count and rain.packets is not None
    assert len({g.slot for g in grants}) == len(grants)
    assert all(g.amount_fen == rain.packets[g.slot or 0] for g in grants)
    credits = await LedgerEntry.filter(cause="red_packet", cause_id__in=[g.id for g in grants])
    assert sorted((c.cause_id, c.amount) for c in credits) == sorted(
        (g.id, g.amount_fen) for g in grants
    )
    by_store = {g.store_id: g.amount_fen for g in grants}  # type: ignore[attr-defined]
    assert {store: by_store.get(store) for store in acknowledged} == acknowledged
    distributor = await PartyAccount.get(
        party="distributor",
        party_id=rain.session.distributor_id,  # type: ignore[attr-defined]
        kind="cash",
    )
    assert distributor.balance == -rain.granted_fen
    assert await ledger_service.unbalanced_accounts() == []
    return rain


async def test_rooms_span_processes_and_grabs_across_them_never_pass_the_count(
    settings, deps
) -> None:
    session, invited, tokens, hosting = await room_of(deps, stores=60)
    # More packets than either process has clients: both must grant some.
    rain_id = await plan_rain(session, total_fen=40_000, count=40, seconds=60)
    with realtime_processes(settings, "scale-a", "scale-b") as (a, b):
        await asyncio.gather(a.ready(), b.ready())
        host = await Viewer().connect(a.url, hosting)
        # Every other store on the other process.
        viewers = await asyncio.gather(
            *(Viewer().connect((a, b)[i % 2].url, t) for i, t in enumerate(tokens))
        )
        async with connected([host, *viewers]):
            await join_all([host, *viewers], session.id)
            product = await LiveProduct.get(session_id=session.id)
            card = await host.call("host:push_product", {"product_id": product.id})
            assert card["ok"], card
            # The card reaches the clients of both processes.
            cards = await asyncio.gather(*(v.told("product") for v in viewers))
            assert all(c and c[-1]["product_id"] == product.id for c in cards)

            started = await host.call("host:rain", {"rain_id": rain_id})
            assert started["ok"], started
            await asyncio.gather(*(v.told("rain") for v in viewers))
            replies = await grab_as_the_room_does(viewers, rain_id)
            won = {
                store.id: reply["data"]["amount_fen"]
                for store, reply in zip(invited, replies, strict=True)
                if reply["ok"]
            }
            refused = {reply["error"]["code"] for reply in replies if not reply["ok"]}
            assert refused == {"live.rain_empty"}  # first: a failure's code says what it was
            assert len(won) == 40 and sum(won.values()) == 40_000
            winners_by_process = {i % 2 for i, store in enumerate(invited) if store.id in won}
            assert winners_by_process == {0, 1}  # the count was shared across the processes

            ended = await host.call("host:end")
            assert ended["ok"], ended
        rain = await assert_rain_books(rain_id, won)
        assert rain.returned_fen == 0


async def test_a_realtime_process_killed_mid_rain_loses_no_money(settings, deps) -> None:
    """SIGKILL the process that started the rain while its clients grab; restart it; the
    clients come back and are told their packets; when the rain ends (the periodic job: its
    timer died with the process) granted + returned == total, each grant credited once."""
    session, invited, tokens, hosting = await room_of(deps, stores=80)
    rain_id = await plan_rain(session, total_fen=50_000, count=40, seconds=15)
    with realtime_processes(settings, "kill-a", "kill-b") as (a, b):
        await asyncio.gather(a.ready(), b.ready())
        host = await Viewer().connect(a.url, hosting)  # its timer dies with a
        on_a = await asyncio.gather(*(Viewer().connect(a.url, t) for t in tokens[:60]))
        on_b = await asyncio.gather(*(Viewer().connect(b.url, t) for t in tokens[60:]))
        async with connected([host, *on_a, *on_b]):
            await join_all([host, *on_a, *on_b], session.id)
            assert (await host.call("host:rain", {"rain_id": rain_id}))["ok"]
            await asyncio.gather(*(v.told("rain") for v in on_a))
            # Fire and forget: the process dies under these grabs.
            grabs = [
                asyncio.create_task(v.client.emit("grab", {"rain_id": rain_id}, namespace="/live"))
                for v in on_a
            ]
            # Kill it once some grabs have won in Redis: some of them are still being written.
            won_key = rains.rain_keys(rain_id)[4]
            while await deps.redis.hlen(won_key) < 5:  # noqa: ASYNC110 - Redis has no event here
                await asyncio.sleep(0.002)
            a.kill()
            await asyncio.gather(*grabs, return_exceptions=True)
            told_b = await asyncio.gather(
                *(v.call("grab", {"rain_id": rain_id}, wait_seconds=30) for v in on_b)
            )

        restarted = RealtimeProcess(settings, "kill-a-restarted", port=a.port).start()
        try:
            await restarted.ready()
            back = await asyncio.gather(*(Viewer().connect(restarted.url, t) for t in tokens[:60]))
            async with connected(back):
                await join_all(back, session.id)
                told_a = await asyncio.gather(
                    *(v.call("grab", {"rain_id": rain_id}, wait_seconds=30) for v in back)
                )
        finally:
            restarted.stop()
        # The stores whose grabs won before the kill are told their packets on reconnect.
        assert any(reply["ok"] and reply["data"]["again"] for reply in told_a)
        acknowledged = {
            store.id: reply["data"]["amount_fen"]
            for store, reply in zip(invited, [*told_a, *told_b], strict=True)
            if reply["ok"]
        }
        # The rain's time runs out; its timer died with process a, so the job ends it.
        deps.clock.advance(seconds=16)
        assert await rains.end_due_rains(deps) == 1
    rain = await assert_rain_books(rain_id, acknowledged)
    assert rain.granted_count == len(acknowledged)  # every grant was told to its store


async def viewers_become(deps: Any, session_id: int, expected: int, within: float) -> float:
    """Seconds until the room counts `expected` viewers (read as the viewer push reads it);
    fails after `within` seconds."""
    started = time.monotonic()
    while (count := await room.viewers(deps, session_id)) != expected:
        assert time.monotonic() - started < within, (count, expected)
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_a_killed_process_leaves_the_room_within_seconds(settings, deps) -> None:
    """SIGKILL a process holding half the room: within the heartbeat's life its connections
    stop counting, stores that reconnect elsewhere meanwhile are not counted twice (nor in
    the peak), and a "present" draw picks only stores connected to a live process."""
    session, invited, tokens, hosting = await room_of(deps, stores=20)
    with realtime_processes(settings, "presence-a", "presence-b") as (a, b):
        await asyncio.gather(a.ready(), b.ready())
        host = await Viewer().connect(b.url, hosting)
        on_a = await asyncio.gather(*(Viewer().connect(a.url, t) for t in tokens[:10]))
        on_b = await asyncio.gather(*(Viewer().connect(b.url, t) for t in tokens[10:]))
        async with connected([host, *on_a, *on_b]):
            await join_all([host, *on_a, *on_b], session.id)
            assert await room.viewers(deps, session.id) == 21
            a.kill()
            # Five of a's stores come back on b at once, before a's heartbeat has lapsed:
            # the same sign-ins, so the count does not pass what it was.
            back = await asyncio.gather(*(Viewer().connect(b.url, t) for t in tokens[:5]))
            async with connected(back):
                await join_all(back, session.id)
                assert await room.viewers(deps, session.id) == 21
                took = await viewers_become(
                    deps, session.id, 16, within=room.HEARTBEAT_TTL_SECONDS + 5
                )
                assert took <= room.HEARTBEAT_TTL_SECONDS + 1
                assert await room.present_store_ids(deps, session.id) == sorted(
                    store.id for store in [*invited[:5], *invited[10:]]
                )
                # The room is told, though no one joined or left on b meanwhile.
                deadline = time.monotonic() + room.HEARTBEAT_SECONDS * 2 + 1
                while newest(await host.told("viewers"))["count"] != 16:
                    assert time.monotonic() < deadline, host.seen["viewers"]
                    await asyncio.sleep(0.1)
                draw = await LiveDraw.create(
                    session=session,
                    title="在场抽奖",
                    prizes=[{"name": "滤芯", "count": 20}],
                    eligibility=Eligibility.PRESENT.value,
                )
                assert (await host.call("host:draw_announce", {"draw_id": draw.id}))["ok"]
                drawn = await host.call("host:draw", {"draw_id": draw.id})
                assert drawn["ok"], drawn
                gone_only = {store.id for store in invited[5:10]}
                assert set(drawn["data"]["eligible"]).isdisjoint(gone_only)
                assert len(drawn["data"]["eligible"]) == 15
            # Those five leave again: the count follows (once b has seen them go).
            await viewers_become(deps, session.id, 11, within=5)
        assert (await LiveSession.get(id=session.id)).peak_viewers == 21
