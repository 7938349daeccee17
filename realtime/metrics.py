"""What a realtime process tells /metrics: its connections and rooms (read from the Socket.IO
manager at each scrape, so they never drift from the truth), and the events it delivers.

The process's database and Redis pools are reported as everywhere (backend/infra/metrics.py).
"""

from __future__ import annotations

import weakref
from typing import Any

import socketio

from backend.infra import metrics
from backend.infra.broadcast import CONSOLE_NAMESPACE, LIVE_NAMESPACE, is_signin_room

NAMESPACES = (LIVE_NAMESPACE, CONSOLE_NAMESPACE)

_servers: weakref.WeakSet[socketio.AsyncServer] = weakref.WeakSet()


class CountedDelivery(socketio.AsyncManager):
    """Counts the events this process delivers, one per recipient. Listed after the Redis
    manager among a manager's bases, so that it wraps the local delivery (which an event
    published by any process, or by an API process, ends in) and not the publishing."""

    async def emit(  # noqa: PLR0917 - python-socketio's own signature
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> Any:
        room = to or room
        recipients = self._recipients(namespace, room, skip_sid)
        await super().emit(
            event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
        )
        if recipients:
            metrics.REALTIME_SENT.labels(namespace, event).inc(recipients)

    def _recipients(self, namespace: str, room: Any, skip_sid: Any) -> int:
        if skip_sid is None and (room is None or isinstance(room, str)):
            # One room, nobody skipped: its size, without walking it (a live room of
            # thousands gets an event every second).
            return len(self.rooms.get(namespace, {}).get(room, ()))
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        return sum(1 for sid, _ in self.get_participants(namespace, room) if sid not in skipped)


def watch(sio: socketio.AsyncServer) -> None:
    """Report `sio`'s connections and rooms while it lives."""
    _servers.add(sio)


def _sample() -> None:
    for namespace in NAMESPACES:
        connections = rooms = 0
        for sio in list(_servers):
            manager = sio.manager
            if manager is None:
                continue
            named = manager.rooms.get(namespace, {})
            everyone = named.get(None, {})
            # Every socket is in room None and in a room named after itself; one still in
            # its connect handler (not yet admitted) is not counted as connected.
            connections += len(everyone) - len(manager.pending_connect.get(namespace, ()))
            rooms += sum(
                1
                for room in list(named)  # a snapshot: a scrape may come from another thread
                if room is not None and room not in everyone and not is_signin_room(room)
            )
        metrics.REALTIME_CONNECTIONS.labels(namespace).set(connections)
        metrics.REALTIME_ROOMS.labels(namespace).set(rooms)


metrics.add_sampler(_sample)
