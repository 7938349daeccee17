"""Count the SQL statements a server sends to PostgreSQL, by standing between them.

A bench points the server's DATABASE_URL at `StatementCounter.port` instead of 5432; the
counter forwards every byte both ways, untouched, and reads the client's side of the wire
protocol: each Execute (asyncpg's extended protocol) or simple Query message is one statement,
named by the text its Parse or Query carried. The number of statements per request is the
signal that survives a noisy machine (CPU and latency do not), and it names what changed.

It runs in a thread with its own event loop, so a bench's own asyncio.run() calls are free to
come and go. It adds a hop to every statement: latencies measured through it are not
comparable with ones measured without it.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import Counter
from contextlib import suppress

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_CANCEL_REQUEST = 80877102


class _ClientSide:
    """The frontend's messages on one connection: what each Execute runs."""

    def __init__(self, counts: Counter[str]) -> None:
        self._counts = counts
        self._buffer = b""
        self._started = False  # the startup packet (no type byte) has passed
        self._statements: dict[bytes, str] = {}  # prepared statement name -> its text
        self._portals: dict[bytes, str] = {}  # portal name -> its statement's text

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            if not self._started:
                if len(self._buffer) < 8:
                    return
                (length,) = struct.unpack("!I", self._buffer[:4])
                if len(self._buffer) < length:
                    return
                (code,) = struct.unpack("!I", self._buffer[4:8])
                self._buffer = self._buffer[length:]
                # SSL and GSS requests are answered and followed by the real startup packet.
                self._started = code not in (_SSL_REQUEST, _GSS_REQUEST, _CANCEL_REQUEST)
                continue
            if len(self._buffer) < 5:
                return
            kind = self._buffer[:1]
            (length,) = struct.unpack("!I", self._buffer[1:5])
            if len(self._buffer) < 1 + length:
                return
            body, self._buffer = self._buffer[5 : 1 + length], self._buffer[1 + length :]
            self._message(kind, body)

    def _message(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            self._counts[_one_line(body.rstrip(b"\0"))] += 1
        elif kind == b"P":
            name, rest = body.split(b"\0", 1)
            self._statements[name] = _one_line(rest.split(b"\0", 1)[0])
        elif kind == b"B":
            portal, rest = body.split(b"\0", 1)
            statement = rest.split(b"\0", 1)[0]
            self._portals[portal] = self._statements.get(statement, "?")
        elif kind == b"E":
            portal = body.split(b"\0", 1)[0]
            self._counts[self._portals.get(portal, "?")] += 1


def _one_line(text: bytes) -> str:
    return " ".join(text.decode(errors="replace").split())


class StatementCounter:
    """A forwarding proxy to PostgreSQL at `upstream` that counts statements by their text."""

    def __init__(self, upstream_host: str, upstream_port: int, host: str = "127.0.0.1") -> None:
        self._upstream = (upstream_host, upstream_port)
        self._host = host
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sql-counter", daemon=True)
        self.port = 0

    def start(self) -> StatementCounter:
        self._thread.start()
        self._ready.wait(10)
        if not self.port:
            raise RuntimeError("the statement counter did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def snapshot(self) -> Counter[str]:
        """Statements counted so far, by text."""
        with self._lock:
            return Counter(self._counts)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, self._host, 0)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        counts: Counter[str] = Counter()
        side = _ClientSide(counts)

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                side.feed(data)
                if counts:
                    with self._lock:
                        self._counts.update(counts)
                    counts.clear()
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        with suppress(OSError, asyncio.CancelledError):
            await asyncio.gather(client_to_server(), server_to_client())
