"""How the realtime server writes to its websockets: each broadcast's frame built once and
written to every connection's transport, with no task, queue or encoding per recipient.

python-socketio, left to itself, delivers a room broadcast through a task per recipient
(AsyncManager.emit), an asyncio queue per connection with a writer task draining it, an
Engine.IO encoding and an ASGI `websocket.send` per recipient, and uvicorn's wsproto then
built the websocket frame for each. That cost the server 64-88 µs of CPU per delivered
message where Node's socket.io costs 14-22 µs. The bytes are the same for every recipient,
and a server's frames are never masked, so the frame can be built once. The layers below
keep python-socketio's protocol, rooms, acks and Redis manager as they are and change only
how bytes reach a connection (docs/decisions/0023-direct-websocket-frames.md):

- `FrameWebSocketProtocol` (uvicorn's websocket protocol, `ws=` in backend/cli.py) offers
  the ASGI application a `write_frame` extension: bytes straight to the transport, after
  everything written before them.
- `DirectEngineServer` makes each Engine.IO socket a `DirectSocket`: once its websocket is
  open, whatever it sends is written at once through `write_frame` (no queue, no writer
  task), its pings are timers, and its reads wait on the websocket without a task each.
- `FrameFanout` (a manager base) delivers a broadcast to the sockets of this process by
  writing the one frame to each.

A socket that came by long-polling and upgraded, or a server without the extension (a test
server on uvicorn's defaults), takes python-engineio's own path, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import engineio
import msgspec
import socketio
from engineio import packet as eio_packet
from engineio.async_drivers import asgi as engineio_asgi
from engineio.async_socket import AsyncSocket
from engineio.exceptions import SocketIsClosedError, UnknownPacketError
from socketio import packet as sio_packet
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

from backend.infra.logging import get_logger

log = get_logger("realtime.transport")

# The ASGI scope's extension through which the application writes frames itself.
FRAMES_EXTENSION = "b2bc.websocket.frames"
# A connection whose unsent bytes pass this is closed: a phone that stopped reading would
# otherwise hold every broadcast of the rain in the server's memory. It reconnects and
# gets the room's state on joining.
MAX_UNSENT_BYTES = 1024 * 1024
# Received messages waiting for the application before uvicorn stops reading the socket
# (uvicorn stops after each one: two system calls per message a client sends).
READ_AHEAD_MESSAGES = 16

FrameWriter = Callable[[bytes], bool]


def websocket_frame(message: str | bytes) -> bytes:
    """The whole websocket frame carrying `message` (text for str, binary for bytes), as a
    server sends it (unmasked)."""
    if isinstance(message, str):
        return Frame(Opcode.TEXT, message.encode()).serialize(mask=False)
    return Frame(Opcode.BINARY, message).serialize(mask=False)


class _Inbox:
    """What a connection received, for the application to take (uvicorn's websocket
    protocol keeps an asyncio.Queue: four deques, about 3 KB per connection, for one
    reader and the few events that wait)."""

    __slots__ = ("_events", "_waiter")

    def __init__(self) -> None:
        self._events: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, event: Any) -> None:
        self._events.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._events:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.pop(0)

    def qsize(self) -> int:
        return len(self._events)

    def empty(self) -> bool:
        return not self._events


class FrameWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol on websockets' sans-I/O parser (three times faster than
    wsproto at reading a client's frame), which also lets the application write frames it
    built itself (`FRAMES_EXTENSION` in the scope: `write_frame`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.handshake_initiated and not self.close_sent:  # the application was called
            # Its task was only scheduled: it sees the scope with this in it.
            self.scope["extensions"][FRAMES_EXTENSION] = {"write_frame": self.write_frame}

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "request", None) is not None:
            # The handshake's request and response, with their headers (3 KB): read only
            # until the connection was accepted (the scope keeps the headers it needs).
            self.request = self.response = None  # type: ignore[assignment]

    def write_frame(self, frame: bytes) -> bool:
        """Write `frame` after what was written before it; False once the connection is
        closing (nothing written). A connection too far behind is closed (1008)."""
        if not self.handshake_complete or self.close_sent or self.initial_response is not None:
            return False
        transport = self.transport
        if transport.is_closing():
            return False
        if transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            self.close_sent = True
            reason = "too slow to read"
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1008, "reason": reason})
            self.conn.send_close(1008, reason)
            transport.write(b"".join(self.conn.data_to_send()))
            transport.close()
            return False
        transport.write(frame)
        return True

    def send_receive_event_to_app(self) -> None:
        # uvicorn pauses reading after every message until the application takes it; here
        # only once READ_AHEAD_MESSAGES wait (its `receive` resumes when they are taken).
        paused = self.read_paused
        self.read_paused = True
        super().send_receive_event_to_app()
        self.read_paused = paused
        if not paused and self.queue.qsize() >= READ_AHEAD_MESSAGES:
            self.read_paused = True
            self.transport.pause_reading()


class FramedWebSocket(engineio_asgi.WebSocket):
    """python-engineio's ASGI websocket, knowing the server's `write_frame` if it has one."""

    write_frame: FrameWriter | None = None

    async def __call__(self, environ: dict[str, Any]) -> Any:
        extensions = environ["asgi.scope"].get("extensions") or {}
        self.write_frame = (extensions.get(FRAMES_EXTENSION) or {}).get("write_frame")
        # A websocket has no request body to read: python-engineio's reader (an object of a
        # class made for each request, about 2.5 KB) would live as long as the connection.
        environ.pop("wsgi.input", None)
        return await super().__call__(environ)


# An Engine.IO message packet, as text: its type, then the Socket.IO packet.
_MESSAGE = str(eio_packet.MESSAGE)
_PING_FRAME = websocket_frame(eio_packet.Packet(eio_packet.PING).encode())
# How often the server looks for clients silent past their ping's timeout.
SWEEP_SECONDS = 1.0


class _Unqueued:
    """The queue of a socket that writes straight to its websocket: nothing ever waits in
    it (python-engineio's own, three deques and an event, cost 2 KB per connection)."""

    def empty(self) -> bool:
        return True

    def qsize(self) -> int:
        return 0

    async def join(self) -> None:
        return None

    async def put(self, item: Any) -> None:
        raise RuntimeError("a socket writing to its websocket queues nothing")


_UNQUEUED = _Unqueued()


class DirectSocket(AsyncSocket):
    """An Engine.IO socket that writes straight to its websocket once it is open: no
    queue, no writer task, no task per read, its pings on a timer."""

    # python-engineio's, set in its __init__ (declared here for the type checker).
    connected: bool
    last_ping: float | None
    queue: Any
    write_frame: FrameWriter | None = None  # while the websocket is open
    _websocket: Any = None
    _ping_timer: asyncio.TimerHandle | None = None

    def write_packet(self, pkt: eio_packet.Packet) -> None:
        write = self.write_frame
        if write is not None:
            write(websocket_frame(pkt.encode()))

    async def send(self, pkt: eio_packet.Packet) -> None:
        if self.write_frame is None:
            await super().send(pkt)
        elif await self.check_ping_timeout():
            self.write_packet(pkt)

    def schedule_ping(self) -> None:
        """A timer rather than python-engineio's task asleep between pings: no task (and
        its coroutine) held per connection."""
        if self.last_ping:  # only once the last ping was answered
            self.last_ping = None
            loop = asyncio.get_running_loop()
            self._ping_timer = loop.call_later(self.server.ping_interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if self.closing or self.closed:
            return
        self.last_ping = time.time()
        if self.write_frame is not None:
            self.write_frame(_PING_FRAME)
        else:  # still long-polling: through its queue
            self.server.start_background_task(self.send, eio_packet.Packet(eio_packet.PING))

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """python-engineio's close; then the websocket is closed too, which ends the read
        below (python-engineio waits for the client to close it, or for a read to time
        out: a timer per read)."""
        await super().close(wait=wait, abort=abort, reason=reason)
        websocket, self._websocket = self._websocket, None
        if websocket is not None:
            await websocket.close()

    async def _websocket_handler(self, ws: Any) -> None:
        write = getattr(ws, "write_frame", None)
        if self.connected or write is None:
            # An upgrade from long-polling (its handshake and queue are python-engineio's),
            # or a server that cannot take frames.
            await super()._websocket_handler(ws)
            return
        self.connected = self.upgraded = True
        # What was queued before the websocket opened (the OPEN packet) goes first.
        while not self.queue.empty():
            queued = self.queue.get_nowait()
            if queued is not None:
                write(websocket_frame(queued.encode()))
        self.queue = _UNQUEUED
        self.write_frame, self._websocket = write, ws
        try:
            await self._read(ws)
        finally:
            if self._ping_timer is not None:
                self._ping_timer.cancel()
            # What the disconnect handlers send is written while the transport takes it.
            await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
            self.write_frame = None

    async def _read(self, ws: Any) -> None:
        """Take the client's packets until the websocket closes (the client went, or the
        socket was closed: a client silent past its ping's timeout is closed by
        python-engineio's service task) or the client sends more than the server takes."""
        largest = self.server.max_http_buffer_size
        while True:
            try:
                data = await ws.wait()
            except OSError:
                return
            if data is None or len(data) > largest:
                return
            try:
                if isinstance(data, str) and data[:1] == _MESSAGE:
                    # A Socket.IO packet: to python-socketio, without python-engineio's
                    # packet object, log line and handler wrapper.
                    await self.server.handlers["message"](self.sid, data[1:])
                else:
                    await self.receive(eio_packet.Packet(encoded_packet=data))
            except UnknownPacketError:
                pass
            except SocketIsClosedError:
                return
            except Exception:
                log.exception("realtime packet not handled")


class _Sockets(dict[str, Any]):
    """The Engine.IO server's sockets by id. python-engineio makes every new socket an
    AsyncSocket itself (AsyncServer._handle_connect) and stores it here before sending it
    anything: it becomes a DirectSocket as it is stored."""

    def __setitem__(self, sid: str, socket: Any) -> None:
        if type(socket) is AsyncSocket:
            socket.__class__ = DirectSocket
        super().__setitem__(sid, socket)


class DirectEngineServer(engineio.AsyncServer):
    """python-engineio's server with DirectSockets over FramedWebSockets."""

    _async: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A copy: the driver's table is shared by every server in the process.
        self._async = {**self._async, "websocket": FramedWebSocket}

    async def _service_task(self) -> None:
        """python-engineio's watch over its sockets (those silent past their ping's timeout
        are closed, the closed forgotten) as one pass a second: python-engineio spreads a
        pass over the ping timeout with an `asyncio.wait_for` per socket, a task each on
        Python 3.11, 500 a second at 10,000 clients."""
        self.service_task_event = self.create_event()
        while not self.service_task_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.service_task_event.wait(), SWEEP_SECONDS)
                return
            now = time.time()
            for sid, socket in list(self.sockets.items()):
                if socket.closed:
                    self.sockets.pop(sid, None)
                elif socket.closing or not socket.last_ping:
                    continue
                elif now - socket.last_ping > self.ping_timeout:
                    self.start_background_task(socket.check_ping_timeout)  # closes it

    @property
    def sockets(self) -> _Sockets:
        return self._sockets

    @sockets.setter
    def sockets(self, sockets: dict[str, Any]) -> None:
        # python-engineio sets a new dict when it disconnects everyone.
        self._sockets = sockets if isinstance(sockets, _Sockets) else _Sockets(sockets)


class PacketJSON:
    """msgspec for Socket.IO packets (python-socketio's `json` option): it reads and writes a
    packet several times faster than the standard library, and writes Chinese as UTF-8 rather
    than \\u escapes (a third of the bytes). Unlike orjson, Tortoise and Sanic do not take it up
    by themselves (ADR 0023), and it reads and writes integers of any size as the standard
    library does. What it cannot read (NaN, a number beyond a double) is a malformed packet,
    as any other: logged, the connection kept."""

    _encoder = msgspec.json.Encoder(decimal_format="number")
    _decoder = msgspec.json.Decoder()

    @classmethod
    def dumps(cls, value: Any, **_options: Any) -> str:
        return cls._encoder.encode(value).decode()

    @classmethod
    def loads(cls, text: str | bytes, **_options: Any) -> Any:
        return cls._decoder.decode(text)


class DirectServer(socketio.AsyncServer):
    """python-socketio's server on DirectEngineServer."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return DirectEngineServer


class FrameFanout(socketio.AsyncManager):
    """Delivers an event to this process's recipients by writing one frame, built once, to
    each of their websockets; a recipient without one (long-polling, upgraded from it) gets
    it through python-engineio. Events that expect an answer from each recipient (a
    callback: one id each) are python-socketio's."""

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
        if callback is not None or namespace not in self.rooms:
            return await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: several packets
            return await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, **kwargs
            )
        message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame = websocket_frame(message.encode())
        skipped = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        sockets = self.server.eio.sockets
        others = []
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skipped:
                continue
            socket = sockets.get(eio_sid)
            write = getattr(socket, "write_frame", None)
            if write is None:
                others.append(eio_sid)
            elif not socket.closed:
                write(frame)
        if others:
            await asyncio.gather(*(self.server._send_eio_packet(sid, message) for sid in others))
        return None
