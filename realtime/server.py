"""uvicorn for the realtime server, and what it does on SIGTERM.

uvicorn on SIGTERM stops listening, closes every websocket and waits for its tasks. Alone,
that drops a live room's clients with nothing said, and they come back when their own
backoff says so. Here, once the process has stopped listening and before uvicorn closes
anything, every client of this process is told `server_restart` with `reconnect_in_ms` (the
window within which it comes back, at a random moment so that a room's hundreds of phones do
not all arrive at once), then uvicorn closes the websockets. That is a transport close, not
a Socket.IO disconnect, so clients (the mini-program's, socket.io-client) reconnect
through the proxy, to a process still listening, re-join and fetch the room's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
from typing import Any

import socketio
import uvicorn

from backend.infra.broadcast import CONSOLE_NAMESPACE
from backend.infra.logging import get_logger
from realtime.live import NAMESPACE

log = get_logger("realtime")

RESTART_EVENT = "server_restart"
# Clients come back at a random moment within this window.
RECONNECT_SPREAD_MS = 3000
# How long the announcement may take to leave (a client too slow to take it still sees its
# connection closed, and reconnects after its own backoff).
FLUSH_SECONDS = 2.0


async def tell_clients_to_reconnect(sio: socketio.AsyncServer) -> int:
    """Send `server_restart` to every client of this process (not of the others linked
    through Redis), then close their connections; how many there were."""
    clients = len(sio.eio.sockets)
    if not clients:
        return 0
    for namespace in (NAMESPACE, CONSOLE_NAMESPACE):
        await sio.emit(
            RESTART_EVENT,
            {"reconnect_in_ms": RECONNECT_SPREAD_MS},
            namespace=namespace,
            ignore_queue=True,  # this process's clients only
        )
    # Each connection's writer takes what is queued (the event above) and hands it to its
    # transport; uvicorn then closes the transports (code 1012), which flushes them.
    queues = [client.queue.join() for client in list(sio.eio.sockets.values())]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*queues), FLUSH_SECONDS)
    await asyncio.sleep(FLUSH_SECONDS / 10)
    log.info("clients told to reconnect", extra={"clients": clients})
    return clients


class RestartingServer(uvicorn.Server):
    """uvicorn's server that tells the realtime clients to go elsewhere when it stops."""

    def __init__(self, config: uvicorn.Config, sio: socketio.AsyncServer) -> None:
        super().__init__(config)
        self.sio = sio

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Not listening first: a client told to reconnect must not land here again.
        for server in self.servers:
            server.close()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                await tell_clients_to_reconnect(self.sio)
        except Exception:
            # uvicorn still closes every connection below: clients reconnect anyway.
            log.exception("telling clients to reconnect failed")
        await super().shutdown(sockets)


def serve(asgi: Any, sio: socketio.AsyncServer, graceful_seconds: float, **options: Any) -> None:
    """Run `asgi` (which serves `sio`) under uvicorn until SIGTERM or SIGINT; requests under
    way then have `graceful_seconds` to finish."""
    config = uvicorn.Config(asgi, timeout_graceful_shutdown=math.ceil(graceful_seconds), **options)
    RestartingServer(config, sio).run()
