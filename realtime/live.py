"""The /live namespace: store owners and hosts in a session's room. Every client-to-server
event is acknowledged with {ok: true, data} or {ok: false, error: {code, message}}; the
handlers are thin and call the livestream service, which keeps the room in Redis so that
several realtime processes share it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import socketio

from backend.identity.tokens import Principal
from backend.infra.http import is_id
from backend.infra.logging import get_logger
from backend.kernel.errors import DomainError
from backend.livestream import service as live

NAMESPACE = live.LIVE_NAMESPACE
log = get_logger("realtime.live")
# Anything unexpected. Refusals, a full database pool among them (db_busy), keep their code.
FAILED = {"code": "live.failed", "message": "操作失败，请稍后重试"}
Handler = Callable[[str, Principal, dict[str, Any]], Awaitable[Any]]


# How often at most a room is told its viewer count. Telling it on every join and leave
# sends N messages per join: a room filling with N viewers costs N^2/2 messages, which kept
# rooms of thousands from ever filling. A joiner gets the count in its state at once.
VIEWER_PUSH_SECONDS = 1.0


class LiveEvents:
    def __init__(self, sio: socketio.AsyncServer, deps: Any) -> None:
        self.sio, self.deps = sio, deps
        self._viewer_pushes: dict[int, asyncio.Task[None]] = {}  # session id → pending push
        # Presence in rooms belongs to this process (room.py): its id, how many connections
        # it holds in each room, the count it last pushed to each, and the task keeping its
        # heartbeat while it holds any.
        self.process = uuid.uuid4().hex
        self._held: dict[int, int] = {}
        self._pushed: dict[int, int] = {}
        self._beating: asyncio.Task[None] | None = None

    def _hold(self, session_id: int, change: int) -> None:
        held = self._held.get(session_id, 0) + change
        if held > 0:
            self._held[session_id] = held
        else:
            self._held.pop(session_id, None)
            self._pushed.pop(session_id, None)
        if self._held and self._beating is None:
            self._beating = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        """Refresh the heartbeat while connections are held: once it lapses (the process
        died), the others take its connections out of the rooms. Each beat also reads the
        count of the rooms held here (which takes a dead process's connections out) and
        tells a room whose count has changed without a join or leave here."""
        while True:
            await asyncio.sleep(live.room.HEARTBEAT_SECONDS)
            if not self._held:
                self._beating = None
                return
            try:
                if not await live.room.beat(self.deps, self.process):
                    await self._count_in_again()
                for session_id in list(self._held):
                    count = await live.viewer_count(self.deps, session_id)
                    if count != self._pushed.get(session_id, count):
                        self.viewers_changed(session_id)
            except Exception:
                log.exception("realtime heartbeat not refreshed")

    async def _count_in_again(self) -> None:
        """The heartbeat had lapsed while this process lived: put the connections it holds
        back in their rooms (entering is idempotent per socket)."""
        for session_id in list(self._held):
            room = live.ROOM(session_id)
            for sid, _ in list(self.sio.manager.get_participants(NAMESPACE, room)):
                principal: Principal = (await self.sio.get_session(sid, namespace=NAMESPACE))[
                    "principal"
                ]
                await live.room.enter(
                    self.deps,
                    session_id,
                    sid,
                    principal.store_id,
                    process=self.process,
                    signin=principal.session_id,
                )
        log.warning("realtime heartbeat had lapsed; connections counted in again")

    def viewers_changed(self, session_id: int) -> None:
        """Tell the room its viewer count within VIEWER_PUSH_SECONDS: one push for every
        join and leave until then (this process's; each process pushes its own)."""
        if session_id not in self._viewer_pushes:
            self._viewer_pushes[session_id] = asyncio.create_task(self._push_viewers(session_id))

    async def _push_viewers(self, session_id: int) -> None:
        try:
            await asyncio.sleep(VIEWER_PUSH_SECONDS)
            # Forget the push before reading: a join from here on schedules the next one.
            del self._viewer_pushes[session_id]
            version = await live.room.next_version(self.deps, session_id)  # before the count
            count = await live.viewer_count(self.deps, session_id)
            if session_id in self._held:
                self._pushed[session_id] = count
            await self.sio.emit(
                "viewers",
                {"count": count, "version": version},
                room=live.ROOM(session_id),
                namespace=NAMESPACE,
            )
        except Exception:
            self._viewer_pushes.pop(session_id, None)
            log.exception("viewer count not pushed", extra={"session_id": session_id})

    def on(self, name: str, handler: Handler, *, needs_room: bool = True) -> None:
        """Answer every `name` event with an acknowledgement: domain refusals by their code,
        anything else as a generic failure (logged)."""

        async def acknowledged(sid: str, data: Any = None) -> dict[str, Any]:
            saved = await self.sio.get_session(sid, namespace=NAMESPACE)
            if needs_room and saved.get("session_id") is None:
                return {"ok": False, "error": live.room.NotJoined().as_error()}
            try:
                payload = data if isinstance(data, dict) else {}
                return {"ok": True, "data": await handler(sid, saved["principal"], payload)}
            except DomainError as refused:
                return {"ok": False, "error": refused.as_error()}
            except Exception:
                log.exception("live event failed", extra={"event": name})
                return {"ok": False, "error": dict(FAILED)}

        self.sio.on(name, acknowledged, namespace=NAMESPACE)

    async def joined(self, sid: str) -> int:
        return int((await self.sio.get_session(sid, namespace=NAMESPACE))["session_id"])

    async def broadcast(self, sid: str, name: str, data: Any) -> None:
        room = live.ROOM(await self.joined(sid))
        await self.sio.emit(name, data, room=room, namespace=NAMESPACE)

    async def join(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        session_id = data.get("session_id")
        if not is_id(session_id):
            raise live.SessionNotFound()
        async with self.sio.session(sid, namespace=NAMESPACE) as saved:
            if saved.get("session_id") not in (None, session_id):
                raise live.room.NotJoined("请先离开当前直播间")
            state = await live.join(self.deps, principal, session_id, sid, process=self.process)
            if saved.get("session_id") is None:
                self._hold(session_id, 1)
            saved["session_id"] = session_id
        await self.sio.enter_room(sid, live.ROOM(session_id), namespace=NAMESPACE)
        self.viewers_changed(session_id)
        return state

    async def state(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        return await live.room_state(self.deps, principal, await self.joined(sid))

    async def chat(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        now = self.deps.clock.now()
        message = await live.chat(
            self.deps, principal, await self.joined(sid), data.get("text"), now=now
        )
        await self.broadcast(sid, "chat", message)
        return message

    async def like(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        total = await live.like(self.deps, principal, await self.joined(sid), data.get("count", 1))
        await self.broadcast(sid, "likes", {"total": total})
        return {"total": total}

    # ---- the host's events: refused from anyone else, before anything is looked up ----

    async def start(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        # The room hears of it once it has committed (an event handler: backend/wiring.py).
        now = self.deps.clock.now()
        return await live.start(self.deps, principal, await self.joined(sid), now=now)

    async def end(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        now = self.deps.clock.now()
        return await live.end_with_rains(self.deps, principal, await self.joined(sid), now=now)

    async def start_rain(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        session_id = await self.joined(sid)
        now = self.deps.clock.now()
        rain = await live.start_rain(self.deps, principal, session_id, data.get("rain_id"), now=now)
        await self.broadcast(sid, "rain", rain)
        # This process ends it on time; if it dies first, the API's periodic job does.
        self.sio.start_background_task(self._end_rain_later, session_id, rain)
        return rain

    async def _end_rain_later(self, session_id: int, rain: dict[str, Any]) -> None:
        ends_at = datetime.fromisoformat(rain["ends_at"])
        await asyncio.sleep(max(0.0, (ends_at - self.deps.clock.now()).total_seconds()))
        try:
            ended = await live.finish_rain(self.deps, rain["id"], now=self.deps.clock.now())
        except Exception:
            log.exception("red-packet rain not ended on time", extra={"rain_id": rain["id"]})
            return
        room = live.ROOM(session_id)
        await self.sio.emit("rain_result", ended, room=room, namespace=NAMESPACE)

    async def start_drop(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        now = self.deps.clock.now()
        drop = await live.start_drop(
            self.deps, principal, await self.joined(sid), data.get("drop_id"), now=now
        )
        await self.broadcast(sid, "drop", drop)
        return drop

    async def end_drop(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        now = self.deps.clock.now()
        drop = await live.end_drop(
            self.deps, principal, await self.joined(sid), data.get("drop_id"), now=now
        )
        await self.broadcast(sid, "drop", drop)
        return drop

    async def grab_coupon(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        now = self.deps.clock.now()
        taken = await live.grab_coupon(
            self.deps, principal, await self.joined(sid), data.get("drop_id"), now=now
        )
        if not taken["again"]:  # everyone sees how many are left
            session_id = await self.joined(sid)
            left = await live.drop_left(self.deps, session_id, taken["drop_id"])
            await self.broadcast(sid, "drop_left", left)
        return taken

    async def announce_draw(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        now = self.deps.clock.now()
        announced = await live.announce_draw(
            self.deps, principal, await self.joined(sid), data.get("draw_id"), now=now
        )
        await self.broadcast(sid, "draw", announced)
        return announced

    async def run_draw(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        now = self.deps.clock.now()
        drawn = await live.run_draw(
            self.deps, principal, await self.joined(sid), data.get("draw_id"), now=now
        )
        # Written before anyone is told; the room is told the winners' names masked, the
        # host (staff) gets them in full.
        await self.broadcast(sid, "draw", live.draw_for_room(drawn))
        return drawn

    async def grab(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        now = self.deps.clock.now()
        return await live.grab(
            self.deps, principal, await self.joined(sid), data.get("rain_id"), now=now
        )

    async def push_product(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        product_id = data.get("product_id")
        card = await live.push_product(self.deps, principal, await self.joined(sid), product_id)
        await self.broadcast(sid, "product", card)
        return card

    async def pin(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        now = self.deps.clock.now()
        pinned = await live.pin(
            self.deps, principal, await self.joined(sid), data.get("text"), now=now
        )
        await self.broadcast(sid, "pinned", pinned)
        return pinned

    async def mute(self, sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        live.must_host(principal)
        await live.mute(self.deps, principal, await self.joined(sid), data.get("user_id"))
        return {"muted": data.get("user_id")}

    async def disconnect(self, sid: str, *args: Any) -> None:
        saved = await self.sio.get_session(sid, namespace=NAMESPACE)
        session_id = saved.get("session_id")
        if session_id is not None:
            self._hold(session_id, -1)
            await live.leave(self.deps, session_id, sid, process=self.process)
            self.viewers_changed(session_id)


def register(sio: socketio.AsyncServer, deps: Any) -> None:
    events = LiveEvents(sio, deps)
    events.on("join", events.join, needs_room=False)
    for name, handler in [
        ("state", events.state),
        ("chat", events.chat),
        ("like", events.like),
        ("host:start", events.start),
        ("host:end", events.end),
        ("host:push_product", events.push_product),
        ("host:pin", events.pin),
        ("host:mute", events.mute),
        ("host:rain", events.start_rain),
        ("grab", events.grab),
        ("host:drop", events.start_drop),
        ("host:drop_end", events.end_drop),
        ("grab_coupon", events.grab_coupon),
        ("host:draw_announce", events.announce_draw),
        ("host:draw", events.run_draw),
    ]:
        events.on(name, handler)
    sio.on("disconnect", events.disconnect, namespace=NAMESPACE)
