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


def write_only_redis_broadcaster(redis_url: str) -> Broadcaster:
    return Broadcaster(socketio.AsyncRedisManager(redis_url, write_only=True))


# The console's namespace and rooms: brand staff join their brand's room, distributor staff
# their distributor's, so a push reaches only people who may read what it is about.
CONSOLE_NAMESPACE = "/console"


def brand_room(brand_id: int) -> str:
    return f"brand:{brand_id}"


def distributor_room(distributor_id: int) -> str:
    return f"distributor:{distributor_id}"
