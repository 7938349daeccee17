"""Pushes to realtime clients (Socket.IO), sent by the API after the change has committed.

Embedded, the Socket.IO server runs in the API's own process and is the target. In
production the API processes hold a write-only Redis manager: they publish, and every
realtime process delivers to its own connected clients in the room.
"""

from __future__ import annotations

from typing import Any, Protocol

import socketio

from backend.infra.logging import get_logger

log = get_logger("broadcast")


class EmitTarget(Protocol):
    async def emit(self, event: str, data: Any = None, **kwargs: Any) -> Any: ...

    async def close_room(self, room: str, namespace: str | None = None) -> Any: ...


class Broadcaster:
    def __init__(self, target: EmitTarget | None = None) -> None:
        self._target = target

    def attach(self, target: EmitTarget) -> None:
        self._target = target

    async def emit(self, event: str, data: Any, *, rooms: list[str], namespace: str) -> None:
        """Best effort: the change is already saved, and a client that misses a push sees it
        on its next read; so a failure is logged, never raised into the request."""
        if self._target is None:
            return
        for room in rooms:
            try:
                await self._target.emit(event, data, room=room, namespace=namespace)
            except Exception:
                log.exception("realtime push failed", extra={"event": event, "room": room})

    async def end_signin(self, session_id: str) -> None:
        """Disconnect every socket of a sign-in that has ended, in every realtime process.

        Each socket is in its sign-in's room (in both namespaces); closing that room through
        the Socket.IO manager reaches every process, and the realtime server's manager
        disconnects the room's sockets as it closes it (realtime/app.py). Best effort as
        pushes are: a socket connecting meanwhile is refused by the revocation check."""
        if self._target is None:
            return
        for namespace in REALTIME_NAMESPACES:
            try:
                await self._target.close_room(signin_room(session_id), namespace=namespace)
            except Exception:
                log.exception("sign-in's sockets not disconnected", extra={"ns": namespace})


def write_only_redis_broadcaster(redis_url: str) -> Broadcaster:
    return Broadcaster(socketio.AsyncRedisManager(redis_url, write_only=True))


# The livestream's namespace: a room per live session (livestream/service.py).
LIVE_NAMESPACE = "/live"
# The console's namespace and rooms: brand staff join their brand's room, distributor staff
# their distributor's, so a push reaches only people who may read what it is about; and
# everyone their own user room.
CONSOLE_NAMESPACE = "/console"


def brand_room(brand_id: int) -> str:
    return f"brand:{brand_id}"


def distributor_room(distributor_id: int) -> str:
    return f"distributor:{distributor_id}"


def user_room(user_id: int) -> str:
    """Every console socket of one person: what is for that person alone (their
    notifications) goes here."""
    return f"user:{user_id}"


REALTIME_NAMESPACES = (LIVE_NAMESPACE, CONSOLE_NAMESPACE)
_SIGNIN_ROOM = "signin:"


def signin_room(session_id: str) -> str:
    """Every socket of a sign-in (an access token's `sid`) is in this room, in both
    namespaces, so that the sign-in's end can disconnect them all."""
    return f"{_SIGNIN_ROOM}{session_id}"


def is_signin_room(room: Any) -> bool:
    return isinstance(room, str) and room.startswith(_SIGNIN_ROOM)
