"""Live room fan-out and memory: `host:push_product` to 1,000, 3,000 and 10,000 clients, ours
vs bare python-socketio vs Node.js socket.io 4.8.
Targets: server CPU per delivered message no more than Node socket.io's; "all received"
latency at least 0.8x as good as a bare python-socketio server; the realtime process's memory
<= 30 KB per connected client at 3,000 and 10,000 clients.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it and
   seeds the demo data (`b2bc demo`: brand, 3 distributors, catalog), then adds --clients
   stores of the first distributor (one store-owner user each, one INSERT ... SELECT) and
   schedules a session for exactly those stores through the service
   (`backend.livestream.service.schedule`, as dist1_admin) and starts it
   (`service.start`); Redis is 127.0.0.1:6379 db --redis-db (default 13), its `live:*` keys
   cleared before and after;
2. mints one access token per store owner (`issue_access_token`, as the tests do) and one for
   the host (dist1_admin);
3. starts --workers client processes (pinned to CPU 1, with this process): each runs many
   light Socket.IO clients, a websocket client written on asyncio.Protocol speaking Engine.IO
   v4 / Socket.IO v5 itself (python-socketio's AsyncClient costs an aiohttp session, three
   tasks and ~100 KB per client: 5,000 of them would load CPU 1 more than the server); the
   open-files limit is raised to its hard limit (inherited by the servers), and the run
   refuses to start if it is below the largest --clients plus some room;
4. runs the SAME harness against the servers of --servers (default all three), each started
   fresh and pinned to CPU 0 (every thread of the process tree: Node starts its V8 and libuv
   threads before it listens):
     ours  `b2bc realtime --port N` (its own process; settings as the other benches: embedded
           mode on PostgreSQL and real Redis, so AsyncRedisManager, Redis rooms and
           PostgreSQL as in production);
     bare  a python-socketio AsyncServer under uvicorn (BARE_SERVER below): namespace
           /live, `join` enters the room, `host:push_product` broadcasts the same card; no
           auth, no Redis, no database;
     node  Node.js (`node` on PATH, 20 or later) running bench/node_peer/server.js with
           socket.io 4.8 (pinned in bench/node_peer/package-lock.json): the same namespace,
           events, room and card, socket.io's defaults (no permessage-deflate). Installed
           for the benchmark only, by this script on first use: `npm ci` into
           bench/node_peer/node_modules (git-ignored; never by `make install` or CI);
   The clients come in by steps of --step (connect, `join`), each step followed by a
   broadcast that every joined client must receive (the room drained). A join refused with
   `db_busy` (no database connection came free in time: "retry later") is tried again up to
   3 times, 1, 2 and 3 s later, as a client would; the steps say how many were. Our room
   tells its viewers the count at most once a second (it used to on every join: N^2/2
   messages, which kept it under ~2,000 clients); the ramp stops at a step with failures,
   or before a step foreseen to take it past --ramp-budget seconds, measuring the N it
   reached and saying so; the other servers are then loaded with the same numbers of
   clients, and go on to the sizes asked for. At each of --clients (default
   1000,3000,10000; or the largest N reached) the host pushes the product card --broadcasts
   times, one after the other; every client records when it received each `product`; the
   "all received" latency of a broadcast is from the host's write of the event to the last
   client's receipt (the clocks are CLOCK_MONOTONIC, shared by all processes);
5. reads the server's CPU time (utime + stime of its process tree, /proc/<pid>/stat) before
   and after the --broadcasts broadcasts at each N: the server CPU per delivered message is
   that difference / (broadcasts x N - receipts missing), in microseconds (the host's own
   copy and the Engine.IO pings in that window, every 25 s per client, are counted in it
   too: both well under 1 % at these sizes);
6. reads the server's resident memory (VmRSS, /proc/<pid>/status) with the host alone in
   the room and at each N, after the room drained: memory per client = the growth / N;
7. prints p50/p99 of the all-received latency, recipients per second, server CPU per
   broadcast and per delivered message, the ratios bare/ours (latency) and ours/node (CPU
   per delivered message), the memory per client of each server and the verdicts; then
   stops the servers and the clients and drops the database.

All traffic goes to 127.0.0.1. Run it from the project root:

    .venv/bin/python bench/live_fanout.py        # 1,000, 3,000 and 10,000 clients, ~20 min
    .venv/bin/python bench/live_fanout.py --clients 1000,3000 --broadcasts 10
    .venv/bin/python bench/live_fanout.py --servers ours,bare   # without Node.js

The servers, the clients, PostgreSQL and Redis share the machine's 2 cores; absolute
figures depend on what else runs on it, compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import asyncpg
import redis.asyncio as aioredis
import uvloop
from bench_common import (
    HOST,
    ROOT,
    b2bc_command,
    create_database,
    drop_database,
    free_port,
    percentile,
    server_env,
    start_server,
)

from backend.catalog import service as catalog_service
from backend.config import load_settings
from backend.identity.tokens import Principal, issue_access_token
from backend.infra.broadcast import Broadcaster
from backend.infra.db import close_db, init_db
from backend.infra.redis import POOL_SIZE
from backend.livestream import service

NAMESPACE = "/live"
HOST_USER = "dist1_admin"
SERVERS = ("ours", "bare", "node")
TARGET_RATIO = 0.8  # bare/ours all-received latency, at least
TARGET_CPU_RATIO = 1.0  # ours/node server CPU per delivered message, at most
TARGET_KB_PER_CLIENT = 30.0
TARGET_KB_FROM = 3000  # the memory target holds from this many clients on
FD_ROOM = 200  # open files besides the clients: the server's own, the host, the pipes
NODE_PEER = Path(__file__).resolve().parent / "node_peer"
BROADCAST_TIMEOUT = 120.0  # seconds a single broadcast may take before the run gives up
# A join refused with `db_busy` ("retry later, nothing was done": no database connection
# came free in time) is tried again, as the mini-program does, this many times in all, a
# second more apart each time; the join's time then runs from the first try.
JOIN_TRIES = 4


# ============================================================================================
# A light Socket.IO client: Engine.IO v4 over a raw websocket (RFC 6455), one namespace.
# ============================================================================================


class Refused(Exception):
    """The server refused the namespace connection (Socket.IO CONNECT_ERROR)."""


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client frame (FIN set)."""
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    mask = random.getrandbits(32).to_bytes(4, "big")
    if not length:
        return head + mask
    key = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        length, "little"
    )
    return head + mask + masked


EventHandler = Callable[["SioClient", str, str, float], None]


class SioClient(asyncio.Protocol):
    """One Socket.IO client over a websocket: connects to NAMESPACE with `auth`, answers the
    server's pings, emits events with acknowledgements, hands other events to `on_event`
    (client, event name, the packet's JSON text, receive time)."""

    def __init__(self, host: str, port: int, auth: dict[str, Any], on_event: EventHandler):
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.auth = json.dumps(auth, separators=(",", ":"))
        self.on_event = on_event
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.fragments: list[bytes] = []
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.last_ack = 0
        self.last_ack_at = 0.0  # when the last acknowledgement arrived
        self.closed = False
        self.tag: Any = None  # the owner's bookkeeping

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = ConnectionError(f"connection lost: {exc!r}")
        for future in [self.ready, *self.acks.values()]:
            if not future.done():
                future.set_exception(error)
                # Marked as seen: whoever waited may have given up (a connect or a join
                # timed out, then closed this client), and asyncio would log each one as
                # "never retrieved"; one still awaited raises all the same.
                future.exception()
        self.acks.clear()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                status = bytes(buffer[: buffer.find(b"\r\n")]).decode(errors="replace")
                if not self.ready.done():
                    self.ready.set_exception(ConnectionError(f"no websocket: {status}"))
                self.close()
                return
            del buffer[: end + 4]
            self.upgraded = True
        at, size = 0, len(buffer)
        while size - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            length, head = second & 0x7F, 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 4], "big"), 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 10], "big"), 10
            if second & 0x80:  # servers never mask; tolerate it all the same
                head += 4
            if size - at < head + length:
                break
            payload = bytes(buffer[at + head : at + head + length])
            if second & 0x80:
                key = bytes(buffer[at + head - 4 : at + head]) * (length // 4 + 1)
                payload = bytes(b ^ k for b, k in zip(payload, key, strict=False))
            at += head + length
            self._frame(first, payload, now)
        if at:
            del buffer[:at]

    # --- websocket and Engine.IO ---

    def _frame(self, first: int, payload: bytes, now: float) -> None:
        opcode = first & 0x0F
        if opcode in (0x1, 0x0):  # text, continuation
            self.fragments.append(payload)
            if first & 0x80:
                text = b"".join(self.fragments).decode()
                self.fragments = []
                self._engineio(text, now)
        elif opcode == 0x9:  # ping
            self._write(_frame(payload, 0xA))
        elif opcode == 0x8:  # close
            self.close()

    def _engineio(self, text: str, now: float) -> None:
        kind = text[:1]
        if kind == "4":
            self._socketio(text[1:], now)
        elif kind == "2":  # the server's ping
            self._write(_frame(b"3"))
        elif kind == "0":  # open: connect to the namespace with our auth
            self._write(_frame(f"40{NAMESPACE},{self.auth}".encode()))
        elif kind == "1":
            self.close()

    def _socketio(self, text: str, now: float) -> None:
        kind, body = text[:1], text[1:]
        if body.startswith(NAMESPACE):
            body = body[len(NAMESPACE) + 1 :]
        if kind == "2":  # event: ["name", ...]
            name = body[2 : body.index('"', 2)] if body.startswith('["') else ""
            self.on_event(self, name, body, now)
        elif kind == "3":  # ack: <id>[...]
            digits = 0
            while body[digits].isdigit():
                digits += 1
            future = self.acks.pop(int(body[:digits]), None)
            self.last_ack_at = now
            if future is not None and not future.done():
                reply = json.loads(body[digits:])
                future.set_result(reply[0] if reply else None)
        elif kind == "0":
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind == "4":
            if not self.ready.done():
                self.ready.set_exception(Refused(body))
        elif kind == "1":
            self.close()

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    # --- API ---

    def call(self, event: str, data: Any) -> asyncio.Future[Any]:
        """Emit `event` with an acknowledgement; the future gets the server's reply."""
        self.last_ack += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[self.last_ack] = future
        packet = json.dumps([event, data], separators=(",", ":"), ensure_ascii=False)
        self._write(_frame(f"42{NAMESPACE},{self.last_ack}{packet}".encode()))
        return future

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()


async def open_client(
    port: int, auth: dict[str, Any], on_event: EventHandler, wait_s: float = 30
) -> SioClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: SioClient(HOST, port, auth, on_event), HOST, port
    )
    try:
        await asyncio.wait_for(asyncio.shield(client.ready), wait_s)
    except BaseException:
        client.close()
        raise
    return client


# ============================================================================================
# Client processes: many SioClients each, driven over a multiprocessing pipe.
# ============================================================================================


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Worker:
    """The clients of one process. Commands (tuples) come over the pipe; each is answered
    with ("done", result) except the unsolicited ("received", ...) reports."""

    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.clients: list[SioClient] = []
        self.joined: list[SioClient] = []
        self.port = 0
        self.events: Counter[str] = Counter()
        # The broadcast being watched: clients yet to receive it, the last receipt.
        self.armed: str | None = None
        self.waiting: set[int] = set()
        self.last_receipt = 0.0
        self.stop = asyncio.Event()

    def on_event(self, client: SioClient, name: str, body: str, now: float) -> None:
        self.events[name] += 1
        if name == self.armed and id(client) in self.waiting:
            self.waiting.discard(id(client))
            self.last_receipt = now
            if not self.waiting:
                self.armed = None
                self.pipe.send(("received", name, self.last_receipt))

    # --- commands ---

    async def add(
        self,
        port: int,
        auths: list[dict[str, Any]],
        tags: list[Any],
        session_id: int | None,
        parallel: int,
    ) -> dict[str, Any]:
        """Connect a client per auth (tagged: its store id) and join each to the session
        (None: connect only)."""
        self.port = port
        gate = asyncio.Semaphore(parallel)
        failures: Counter[str] = Counter()
        joined = retried = 0
        started = time.monotonic()
        join_ms: list[float] = []

        async def one(auth: dict[str, Any], tag: Any) -> None:
            nonlocal joined, retried
            async with gate:
                try:
                    client = await open_client(port, auth, self.on_event)
                except (OSError, TimeoutError, Refused) as exc:
                    failures[f"connect: {type(exc).__name__} {str(exc)[:80]}"] += 1
                    return
                client.tag = tag
                self.clients.append(client)
                if session_id is None:
                    return
                begun = time.monotonic()
                for attempt in range(1, JOIN_TRIES + 1):
                    try:
                        reply = await asyncio.wait_for(
                            client.call("join", {"session_id": session_id}), 120
                        )
                    except (OSError, TimeoutError) as exc:
                        failures[f"join: {type(exc).__name__}"] += 1
                        return
                    busy = (
                        isinstance(reply, dict) and reply.get("error", {}).get("code") == "db_busy"
                    )
                    if not busy or attempt == JOIN_TRIES:
                        break
                    retried += 1
                    await asyncio.sleep(attempt)
                join_ms.append((time.monotonic() - begun) * 1000)
                if isinstance(reply, dict) and reply.get("ok"):
                    self.joined.append(client)
                    joined += 1
                else:
                    code = (reply or {}).get("error", {}).get("code") if reply else None
                    failures[f"join refused: {code}"] += 1

        await asyncio.gather(*(one(a, t) for a, t in zip(auths, tags, strict=True)))
        return {
            "connected": len(self.clients),
            "joined": joined,
            "failures": dict(failures),
            "retried": retried,
            "seconds": time.monotonic() - started,
            "join_ms": sorted(join_ms),
        }

    def arm(self, event: str) -> int:
        """Watch for the next `event` on every joined client."""
        self.armed = event
        self.waiting = {id(client) for client in self.joined if not client.closed}
        self.last_receipt = 0.0
        return len(self.waiting)

    def disarm(self) -> dict[str, Any]:
        missing = len(self.waiting)
        self.armed, self.waiting = None, set()
        return {"missing": missing}

    async def grab(self, rain_id: int, at: float, wait_s: float) -> list[tuple[Any, ...]]:
        """Every joined client emits `grab` at monotonic time `at`; per client (store id,
        sent, acked, ok, then the amount and `again`, or the error code)."""
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        pending = []
        for client in self.joined:
            sent = time.monotonic()
            pending.append((sent, client.call("grab", {"rain_id": rain_id})))
        await asyncio.wait([future for _, future in pending], timeout=wait_s)
        results: list[tuple[Any, ...]] = []
        for client, (sent, future) in zip(self.joined, pending, strict=True):
            if not future.done() or future.exception() is not None:
                results.append((client.tag, sent, None, False, "no_ack"))
                continue
            reply, acked = future.result(), client.last_ack_at
            if isinstance(reply, dict) and reply.get("ok"):
                data = reply["data"]
                results.append((client.tag, sent, acked, True, data["amount_fen"], data["again"]))
            else:
                code = reply.get("error", {}).get("code") if isinstance(reply, dict) else None
                results.append((client.tag, sent, acked, False, code))
        return results

    async def raw_grab(
        self, redis_url: str, script: str, keys: list[str], stores: list[int], at: float
    ) -> list[tuple[float, float, str]]:
        """The baseline: the grab script straight through redis.asyncio, one task per store,
        through a pool like the server's (BlockingConnectionPool of 64)."""
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url, max_connections=POOL_SIZE, timeout=30, decode_responses=True
        )
        redis = aioredis.Redis(connection_pool=pool)
        grab = redis.register_script(script)
        try:
            # A warm pool, as the server's is after the joins: every connection open.
            await asyncio.gather(*(redis.ping() for _ in range(POOL_SIZE)))
            await grab(keys=keys, args=[0, int(time.time() * 1000)])  # loads the script
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            now_ms = int(time.time() * 1000)

            async def one(store_id: int) -> tuple[float, float, str]:
                sent = time.monotonic()
                reply = await grab(keys=keys, args=[store_id, now_ms])
                return sent, time.monotonic(), str(reply[0])

            return list(await asyncio.gather(*(one(store_id) for store_id in stores)))
        finally:
            await redis.aclose()
            await pool.disconnect()

    def reset(self) -> dict[str, Any]:
        for client in self.clients:
            client.close()
        self.clients, self.joined = [], []
        self.events.clear()
        self.disarm()
        return {"rss_kb": rss_kb(os.getpid())}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()

        def start(command: tuple[Any, ...] | None) -> None:
            if command is None:
                self.stop.set()
                return
            task = loop.create_task(self.handle(command))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        # A thread reads the pipe (blocking): the loop's readers would make its socket
        # non-blocking, and a large command would then arrive in pieces.
        read_pipe(self.pipe, lambda message: loop.call_soon_threadsafe(start, message))
        await self.stop.wait()
        self.reset()

    async def handle(self, command: tuple[Any, ...]) -> None:
        name, *arguments = command
        result: Any
        if name == "add":
            result = await self.add(*arguments)
        elif name == "arm":
            result = self.arm(*arguments)
        elif name == "disarm":
            result = self.disarm()
        elif name == "grab":
            result = await self.grab(*arguments)
        elif name == "raw_grab":
            result = await self.raw_grab(*arguments)
        elif name == "events":
            result = dict(self.events)
        elif name == "reset":
            result = self.reset()
        elif name == "quit":
            self.stop.set()
            result = None
        else:
            result = f"unknown command {name}"
        self.pipe.send(("done", result))


def read_pipe(pipe: Connection, deliver: Callable[[Any], Any]) -> threading.Thread:
    """A daemon thread handing every message of `pipe` to `deliver` (None at its end)."""

    def loop() -> None:
        while True:
            try:
                message = pipe.recv()
            except (EOFError, OSError):
                with contextlib.suppress(RuntimeError):  # the event loop closed first
                    deliver(None)
                return
            try:
                deliver(message)
            except RuntimeError:  # the event loop closed
                return

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def worker_main(pipe: Connection, cpus: set[int] | None) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    raise_fd_limit()
    uvloop.run(Worker(pipe).run())  # the servers run on uvloop too (uvicorn's default)


class Fleet:
    """The client processes, seen from the coordinator's event loop."""

    def __init__(
        self,
        count: int,
        cpus: set[int] | None,
        main: Callable[[Connection, set[int] | None], None] = worker_main,
    ) -> None:
        """`main`: each process's entry point (another bench's Worker subclass)."""
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(count):
            mine, theirs = context.Pipe()
            process = context.Process(target=main, args=(theirs, cpus), daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(mine)
            self.processes.append(process)
        self.replies: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in self.pipes]
        self.receipts: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        for number, pipe in enumerate(self.pipes):
            read_pipe(pipe, self._deliver(loop, number))

    def __len__(self) -> int:
        return len(self.pipes)

    def _deliver(
        self, loop: asyncio.AbstractEventLoop, number: int
    ) -> Callable[[tuple[Any, ...] | None], None]:
        def deliver(message: tuple[Any, ...] | None) -> None:
            loop.call_soon_threadsafe(self._received, number, message)

        return deliver

    def _received(self, number: int, message: tuple[Any, ...] | None) -> None:
        if message is None:
            self.replies[number].put_nowait(RuntimeError(f"client process {number} died"))
            return
        kind, *payload = message
        if kind == "received":
            self.receipts.put_nowait((payload[0], payload[1]))
        else:
            self.replies[number].put_nowait(payload[0])

    async def ask(self, number: int, *command: Any) -> Any:
        self.pipes[number].send(command)
        reply = await self.replies[number].get()
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def ask_all(self, *command: Any) -> list[Any]:
        return list(await asyncio.gather(*(self.ask(n, *command) for n in range(len(self)))))

    async def ask_each(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        return list(await asyncio.gather(*(self.ask(n, *c) for n, c in enumerate(commands))))

    def rss_kb(self) -> int:
        return sum(rss_kb(p.pid) for p in self.processes if p.pid is not None and p.is_alive())

    async def close(self) -> None:
        for number in range(len(self)):
            with contextlib.suppress(OSError):
                self.pipes[number].send(("quit",))
        for process in self.processes:
            await asyncio.to_thread(process.join, 10)
            if process.is_alive():
                process.kill()


# ============================================================================================
# The platform: database, stores, session, tokens; the servers.
# ============================================================================================


@dataclass
class Platform:
    database: str
    dsn: str
    tmp: Path
    env: dict[str, str]
    redis_url: str
    session_id: int = 0
    product_id: int = 0
    card: dict[str, Any] = field(default_factory=dict)
    store_ids: list[int] = field(default_factory=list)
    owner_tokens: list[str] = field(default_factory=list)
    host_token: str = ""
    rain_ids: list[int] = field(default_factory=list)
    brand_id: int = 0
    distributor_id: int = 0


def make_platform(tag: str, redis_db: int) -> Platform:
    database = f"b2bc_bench_{tag}_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix=f"b2bc-bench-{tag}-"))
    redis_url = f"redis://{HOST}:6379/{redis_db}"
    env = server_env(
        database=database, data_dir=tmp / "data", port=free_port(), redis_url=redis_url
    )
    return Platform(database, f"postgres://postgres@{HOST}:5432/{database}", tmp, env, redis_url)


async def clear_live_keys(redis_url: str) -> int:
    """Our keys only (`live:*`): a fresh database reuses session and rain ids."""
    redis = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match="live:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
        return len(keys)
    finally:
        await redis.aclose()


def seed_platform(
    platform: Platform, stores: int, rains: list[dict[str, int]] | None = None
) -> None:
    """Migrate, demo data, `stores` new stores of the first distributor, a live session for
    exactly them (with `rains` planned), the tokens."""
    settings = load_settings(platform.env)  # fails early; writes the secrets the server reads
    asyncio.run(create_database(platform.database))
    asyncio.run(clear_live_keys(platform.redis_url))
    print(f"database {platform.database}: migrating and seeding demo data ...", flush=True)
    subprocess.run(
        b2bc_command("demo"), cwd=ROOT, env=platform.env, check=True, stdout=subprocess.DEVNULL
    )
    started = time.perf_counter()
    asyncio.run(_seed(platform, stores, rains or [], settings.jwt_secret))
    print(
        f"seeded {stores:,} stores with owners, session {platform.session_id} (live) inviting"
        f" them, {len(platform.rain_ids)} rain(s) planned, tokens: "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


async def _seed(
    platform: Platform, count: int, rains: list[dict[str, int]], jwt_secret: str
) -> None:
    conn = await asyncpg.connect(platform.dsn)
    try:
        host = await conn.fetchrow(
            "SELECT m.id, m.user_id, m.role, m.brand_id, m.distributor_id FROM memberships m"
            " JOIN users u ON u.id = m.user_id WHERE u.username = $1",
            HOST_USER,
        )
        if host is None:
            raise RuntimeError(f"the demo data has no {HOST_USER}")
        brand_id, distributor_id = int(host["brand_id"]), int(host["distributor_id"])
        rows = await conn.fetch(
            "WITH owners AS ("
            " INSERT INTO users (display_name, failed_login_count, is_active, created_at)"
            " SELECT '压测店主' || n, 0, true, now() FROM generate_series(1, $1) AS n"
            " RETURNING id)"
            " INSERT INTO stores (brand_id, distributor_id, owner_id, name, contact_name, phone,"
            " address, tier, status, created_at)"
            " SELECT $2, $3, id, '压测门店' || id, '压测', '139' || lpad(id::text, 8, '0'),"
            " '压测路 1 号', 'C', 'active', now() FROM owners"
            " RETURNING id, owner_id",
            count,
            brand_id,
            distributor_id,
        )
        sku = await conn.fetchrow(
            "SELECT id, list_price_fen FROM skus WHERE brand_id = $1 ORDER BY id LIMIT 1", brand_id
        )
        if sku is None:
            raise RuntimeError("the demo data has no SKU")
    finally:
        await conn.close()
    rows = sorted(rows, key=lambda row: row["id"])
    platform.brand_id, platform.distributor_id = brand_id, distributor_id
    platform.store_ids = [int(row["id"]) for row in rows]
    host_principal = Principal(
        user_id=int(host["user_id"]),
        session_id=str(uuid.uuid4()),
        role=host["role"],
        membership_id=int(host["id"]),
        brand_id=brand_id,
        distributor_id=distributor_id,
    )
    now = datetime.now(UTC)
    await init_db(platform.dsn)
    try:
        session = await service.schedule(
            host_principal,
            {
                "title": "压测直播",
                "cover_url": "",
                "starts_at": now,
                "ends_at": now + timedelta(hours=2),
                "audience": {"mode": "stores", "store_ids": platform.store_ids},
                "products": [
                    {
                        "sku_id": int(sku["id"]),
                        "live_price_fen": int(sku["list_price_fen"]) * 8 // 10,
                        "live_stock": 100_000,
                    }
                ],
                "rains": rains,
            },
            now=now,
        )
        # Nobody is in the room yet: the start's push (if wired) has no one to reach.
        # Its Redis: the start forgets what joiners read of the session (join_state.py).
        redis = aioredis.Redis.from_url(platform.redis_url)
        try:
            nobody = types.SimpleNamespace(broadcast=Broadcaster(), redis=redis)
            await service.start(nobody, host_principal, session["id"], now=now)
        finally:
            await redis.aclose()
        platform.session_id = int(session["id"])
        platform.rain_ids = [int(rain["id"]) for rain in session["rains"]]
        product = session["products"][0]
        platform.product_id = int(product["id"])
        skus = await catalog_service.skus_by_id(brand_id, [int(sku["id"])])
        # What room.push_product broadcasts; the bare server sends the same bytes.
        platform.card = {
            "product_id": platform.product_id,
            "sku": skus[int(sku["id"])],
            "live_price_fen": product["live_price_fen"],
            "left": product["live_stock"] - product["sold"],
        }
    finally:
        await close_db()
    platform.host_token = issue_access_token(
        host_principal, secret=jwt_secret, now=now, ttl_seconds=7200
    )
    platform.owner_tokens = [
        issue_access_token(
            Principal(
                user_id=int(row["owner_id"]),
                session_id=str(uuid.uuid4()),
                role="store_owner",
                brand_id=brand_id,
                distributor_id=distributor_id,
                store_id=int(row["id"]),
            ),
            secret=jwt_secret,
            now=now,
            ttl_seconds=7200,
        )
        for row in rows
    ]


def cleanup_platform(platform: Platform) -> None:
    try:
        asyncio.run(clear_live_keys(platform.redis_url))
    finally:
        asyncio.run(drop_database(platform.database))
        shutil.rmtree(platform.tmp, ignore_errors=True)


def start_ours(platform: Platform, port: int, log: Path) -> subprocess.Popen[bytes]:
    return start_server(b2bc_command("realtime", "--port", str(port)), platform.env, log)


# The baseline server: python-socketio's AsyncServer under uvicorn and nothing else, in a
# process that imports nothing of ours (a heap of 100,000 objects would make every full
# garbage collection slower).
BARE_SERVER = """
import json, sys
import socketio, uvicorn

port, card = int(sys.argv[1]), json.loads(sys.argv[2])
sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[])
NAMESPACE, ROOM = "/live", "live:bare"

@sio.on("connect", namespace=NAMESPACE)
async def connect(sid, environ, auth):
    return None

@sio.on("join", namespace=NAMESPACE)
async def join(sid, data=None):
    await sio.enter_room(sid, ROOM, namespace=NAMESPACE)
    return {"ok": True, "data": {"session_id": (data or {}).get("session_id")}}

@sio.on("host:push_product", namespace=NAMESPACE)
async def push_product(sid, data=None):
    await sio.emit("product", card, room=ROOM, namespace=NAMESPACE)
    return {"ok": True, "data": card}

uvicorn.run(socketio.ASGIApp(sio), host="127.0.0.1", port=port, log_config=None)
"""


def peer_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("B2BC_")}


def start_bare(card: dict[str, Any], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", BARE_SERVER, str(port), json.dumps(card)]
    return start_server(command, peer_env(), log)


def install_node_peer() -> str:
    """`node` on PATH, and socket.io installed in bench/node_peer from its lock file (`npm ci`,
    once: node_modules is kept between runs and git-ignored). The version of socket.io."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise SystemExit("node and npm are needed for the node peer (or: --servers ours,bare)")
    installed = NODE_PEER / "node_modules" / "socket.io" / "package.json"
    lock = NODE_PEER / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        print("node peer: npm ci in bench/node_peer (first use) ...", flush=True)
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=NODE_PEER,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    socketio = json.loads(installed.read_text())["version"]
    return f"Node.js {version.stdout.strip()}, socket.io {socketio}"


def start_node(card: dict[str, Any], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = ["node", str(NODE_PEER / "server.js"), str(port), json.dumps(card)]
    return start_server(command, peer_env(), log)


def tree_threads(pid: int) -> list[int]:
    """The thread ids of a process and of its live descendants."""
    threads, pending = [], [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            threads += [int(task.name) for task in Path(f"/proc/{current}/task").iterdir()]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending += [int(child) for child in children]
    return threads


def pin_tree(pid: int, cpu: int) -> None:
    """Every thread of a process and of its descendants on `cpu`: the affinity of a pid is
    its main thread's only, and threads started before (Node's V8 and libuv workers) keep
    theirs."""
    for thread in tree_threads(pid):
        with contextlib.suppress(OSError):  # a thread that just ended
            os.sched_setaffinity(thread, {cpu})


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of every live thread of a process tree, to the nanosecond (schedstat's run
    time): utime + stime count in ticks of 10 ms, a tenth of Node's CPU for a broadcast to
    1,000 clients. The servers' threads live as long as they do."""
    total = 0
    for thread in tree_threads(pid):
        with contextlib.suppress(OSError, ValueError):
            total += int(Path(f"/proc/{thread}/schedstat").read_text().split()[0])
    return total / 1e9


def wait_sio_ready(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    """The Engine.IO polling handshake answers 200 once the server is up."""
    url = f"http://{HOST}:{port}/socket.io/?EIO=4&transport=polling"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited ({process.returncode}); see {log}:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s; see {log}")


def kill_server(process: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM, then SIGKILL: with thousands of clients a graceful shutdown would first tell
    the room about every leaving viewer."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# ============================================================================================
# The measurement: ramp up the room, then broadcasts.
# ============================================================================================


@dataclass
class Step:
    clients: int
    seconds: float  # connect + join + the room drained
    join_p99_ms: float
    failures: dict[str, int]
    retried: int = 0  # joins tried again after `db_busy`


@dataclass
class Fanout:
    clients: int
    latencies_ms: list[float]  # sorted
    host_ack_ms: list[float]
    server_cpu_ms: float  # per broadcast
    rss_kb: int
    missing: int = 0
    cpu_us_per_message: float = 0.0  # server CPU / messages delivered

    def p(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)

    @property
    def per_second(self) -> float:
        """Recipients served per second, at the median latency."""
        return self.clients / max(self.p(0.5) / 1000, 1e-9)


@dataclass
class ServerRun:
    name: str
    rss_idle_kb: int = 0
    steps: list[Step] = field(default_factory=list)
    fanouts: list[Fanout] = field(default_factory=list)
    stopped_because: str = ""
    viewers_messages: int = 0


class Room:
    """The host in the coordinator's loop and the clients in the fleet, on one server."""

    def __init__(self, fleet: Fleet, port: int, platform: Platform, pid: int) -> None:
        self.fleet, self.port, self.platform, self.pid = fleet, port, platform, pid
        self.host: SioClient | None = None
        self.clients = 0

    async def open_host(self) -> None:
        self.host = await open_client(
            self.port, {"token": self.platform.host_token}, lambda *_: None
        )
        reply = await self.host.call("join", {"session_id": self.platform.session_id})
        if not reply.get("ok"):
            raise RuntimeError(f"the host cannot join: {reply}")

    async def add(self, count: int, parallel: int) -> Step:
        """`count` more clients connect and join; then a broadcast drains the room."""
        started = time.monotonic()
        tokens = self.platform.owner_tokens[self.clients : self.clients + count]
        stores = self.platform.store_ids[self.clients : self.clients + count]
        workers = len(self.fleet)
        per_worker = max(1, parallel // workers)
        results = await self.fleet.ask_each(
            [
                (
                    "add",
                    self.port,
                    [{"token": token} for token in tokens[number::workers]],
                    stores[number::workers],
                    self.platform.session_id,
                    per_worker,
                )
                for number in range(workers)
            ]
        )
        failures: Counter[str] = Counter()
        joins: list[float] = []
        for result in results:
            failures.update(result["failures"])
            joins += result["join_ms"]
        self.clients += sum(result["joined"] for result in results)
        await self.broadcast(BROADCAST_TIMEOUT)
        return Step(
            self.clients,
            time.monotonic() - started,
            percentile(sorted(joins), 0.99),
            failures,
            sum(result["retried"] for result in results),
        )

    async def arm(self, watch: str) -> int:
        """Every client process watches for the next `watch` event on each joined client;
        how many processes have clients to report on."""
        while not self.fleet.receipts.empty():  # a late report of a broadcast given up on
            self.fleet.receipts.get_nowait()
        return sum(1 for count in await self.fleet.ask_all("arm", watch) if count)

    async def received(self, waiting: int, since: float, wait_s: float) -> tuple[float, int]:
        """When the last joined client received the watched event (or `since`), and how
        many clients had not after `wait_s` seconds."""
        last, deadline = since, since + wait_s
        while waiting:
            try:
                _, at = await asyncio.wait_for(
                    self.fleet.receipts.get(), max(0.0, deadline - time.monotonic())
                )
            except TimeoutError:
                break
            waiting -= 1
            last = max(last, at)
        missing = 0
        if waiting:
            missing = sum(r["missing"] for r in await self.fleet.ask_all("disarm"))
        return last, missing

    async def push(
        self, event: str, data: Any, watch: str, wait_s: float
    ) -> tuple[float, float, int, Any]:
        """The host emits `event`; (ms until every joined client received `watch`, host ack
        ms, clients missing it, the host's reply)."""
        assert self.host is not None
        waiting = await self.arm(watch)
        sent = time.monotonic()
        reply = await asyncio.wait_for(self.host.call(event, data), wait_s)
        acked = time.monotonic()
        if not reply.get("ok"):
            raise RuntimeError(f"{event} refused: {reply}")
        last, missing = await self.received(waiting, sent, wait_s)
        return (last - sent) * 1000, (acked - sent) * 1000, missing, reply

    async def broadcast(self, wait_s: float) -> tuple[float, float, int]:
        """One `host:push_product`: (all-received ms, host ack ms, clients missing it)."""
        data = {"product_id": self.platform.product_id}
        latency, ack, missing, _ = await self.push("host:push_product", data, "product", wait_s)
        return latency, ack, missing

    async def measure(self, broadcasts: int, pause: float) -> Fanout:
        latencies, acks, missing = [], [], 0
        cpu_before = tree_cpu_seconds(self.pid)
        for _ in range(broadcasts):
            latency, ack, lost = await self.broadcast(BROADCAST_TIMEOUT)
            latencies.append(latency)
            acks.append(ack)
            missing += lost
            await asyncio.sleep(pause)
        cpu = tree_cpu_seconds(self.pid) - cpu_before
        delivered = max(broadcasts * self.clients - missing, 1)
        return Fanout(
            self.clients,
            sorted(latencies),
            sorted(acks),
            cpu * 1000 / broadcasts,
            rss_kb(self.pid),
            missing,
            cpu * 1e6 / delivered,
        )

    async def close(self) -> None:
        if self.host is not None:
            self.host.close()
        await self.fleet.ask_all("reset")


async def ramp(
    room: Room,
    targets: list[int],
    step: int,
    parallel: int,
    budget: float,
    on_target: Callable[[int], Awaitable[None]],
    run: ServerRun | None = None,
) -> str:
    """Add clients by `step` up to each target in turn, calling `on_target` at each. Stops
    (measuring where it is) before a step that would take the ramp past `budget` seconds,
    the next step's time foreseen from the last one's (a join costs in proportion to the
    room: every join is told to everyone). Returns why it stopped early, or ''."""
    spent = 0.0  # in the steps only, not in the measurements at the targets
    last: tuple[int, int, float] | None = None  # (size, clients after, seconds)
    measured: set[int] = set()

    async def measure_here() -> None:
        if room.clients and room.clients not in measured:
            measured.add(room.clients)
            await on_target(room.clients)

    for target in targets:
        while room.clients < target:
            size = min(step, target - room.clients)
            if last is not None:
                last_size, after, seconds = last
                middle = max(after - last_size / 2, 1.0)
                foreseen = seconds * size / last_size * (after + size / 2) / middle
                if spent + foreseen > budget:
                    await measure_here()
                    return (
                        f"ramp budget of {budget:.0f} s: {spent:.0f} s spent reaching"
                        f" {room.clients:,}, the next {size:,} joins would take ~{foreseen:.0f} s"
                    )
            before = room.clients
            done = await room.add(size, parallel)
            spent += done.seconds
            last = (size, room.clients, done.seconds)
            if run is not None:
                run.steps.append(done)
            print(
                f"  {room.clients:6,} clients in the room: step {done.seconds:6.1f} s"
                f" (join p99 {done.join_p99_ms:7.1f} ms)"
                + (f"  {done.retried} joins retried after db_busy" if done.retried else "")
                + (f"  failures {done.failures}" if done.failures else ""),
                flush=True,
            )
            if done.failures or room.clients == before:
                await measure_here()
                return f"failures on the way from {before:,} clients: {done.failures}"
        await measure_here()
    return ""


async def run_server(
    name: str,
    fleet: Fleet,
    platform: Platform,
    targets: list[int],
    args: argparse.Namespace,
) -> ServerRun:
    port = free_port()
    log = platform.tmp / f"{name}.log"
    if name == "ours":
        await clear_live_keys(platform.redis_url)
        server = start_ours(platform, port, log)
    elif name == "bare":
        server = start_bare(platform.card, port, log)
    else:
        server = start_node(platform.card, port, log)
    run = ServerRun(name)
    try:
        await asyncio.to_thread(wait_sio_ready, port, server, log)
        if args.pin:
            pin_tree(server.pid, 0)
        room = Room(fleet, port, platform, server.pid)
        await room.open_host()
        for _ in range(3):  # warm: the handlers' first calls, the card's queries
            await room.broadcast(30)
        await asyncio.sleep(0.5)
        run.rss_idle_kb = rss_kb(server.pid)
        print(f"{name}: server pid {server.pid}, RSS with the host alone {run.rss_idle_kb:,} KB")

        async def at_target(clients: int) -> None:
            for _ in range(2):  # warm-up at this size
                await room.broadcast(BROADCAST_TIMEOUT)
            fanout = await room.measure(args.broadcasts, args.pause)
            run.fanouts.append(fanout)
            print(f"  {name} at {clients:,}: {describe(fanout, run.rss_idle_kb)}", flush=True)

        run.stopped_because = await ramp(
            room, targets, args.step, args.parallel, args.ramp_budget, at_target, run
        )
        events = await fleet.ask_all("events")
        run.viewers_messages = sum(e.get("viewers", 0) for e in events)
        await room.close()
    finally:
        kill_server(server)
    if server.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL, None):
        print(f"{name} exited with {server.returncode}; log {log}:\n{log.read_text()[-2000:]}")
    return run


# ============================================================================================
# Reporting.
# ============================================================================================


def kb_per_client(fanout: Fanout, idle_kb: int) -> float:
    return (fanout.rss_kb - idle_kb) / max(fanout.clients, 1)


def describe(f: Fanout, idle_kb: int) -> str:
    text = (
        f"all received p50 {f.p(0.5):7.1f} ms  p99 {f.p(0.99):7.1f} ms  max"
        f" {f.latencies_ms[-1]:7.1f} ms  ({f.per_second:8.0f} recipients/s;"
        f" host ack p50 {percentile(f.host_ack_ms, 0.5):6.1f} ms;"
        f" server CPU {f.server_cpu_ms:6.1f} ms/broadcast"
        f" = {f.cpu_us_per_message:5.1f} us/message)  RSS {f.rss_kb:,} KB"
        f" = {kb_per_client(f, idle_kb):.1f} KB/client over idle"
    )
    if f.missing:
        text += f"  !! {f.missing} receipts missing"
    return text


def _cell(value: float | None, width: int, digits: int = 1) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def _columns(f: Fanout | None, widths: list[int], cells: Callable[[Fanout], list[str]]) -> str:
    """One server's cells of a table row (dashes where it has no figures at this size)."""
    texts = ["-"] * len(widths) if f is None else cells(f)
    return "".join(f"{text:>{width}}" for text, width in zip(texts, widths, strict=True)) + "|"


def report(runs: dict[str, ServerRun], args: argparse.Namespace) -> bool:
    """The three tables (latency, CPU per delivered message, memory per client) and the
    verdicts; whether every target was met."""
    ours = runs["ours"]
    by_size = {name: {f.clients: f for f in run.fanouts} for name, run in runs.items()}
    names = [name for name in SERVERS if name in runs]
    sizes = sorted({clients for sized in by_size.values() for clients in sized})

    def at(name: str, clients: int) -> Fanout | None:
        return by_size.get(name, {}).get(clients)

    print()
    print(
        f"SUMMARY: {args.broadcasts} broadcasts of the product card per size, one after the other;"
        f" clients in {args.workers} processes on CPU 1, servers on CPU 0"
        + ("" if args.pin else " (not pinned)")
        + (f"; {args.node_version}" if "node" in runs else "")
    )
    print("servers: ours = b2bc realtime, bare = python-socketio under uvicorn, node = socket.io")

    print()
    print("All-received latency, ms (host's write to the last client's receipt); bare/ours:")
    print(
        f"{'clients':>8}|"
        + "".join(f"{name + ' p50':>10}{'p99':>8}{'miss':>5}|" for name in names)
        + f"{'bare/ours p50':>14}{'p99':>6}"
    )
    # The verdicts look at the sizes ours reached; where it stopped early is said below.
    latency_ok = True
    for clients in sizes:
        figures = [at(name, clients) for name in names]
        line = f"{clients:8,}|" + "".join(
            _columns(
                f, [10, 8, 5], lambda f: [f"{f.p(0.5):.1f}", f"{f.p(0.99):.1f}", str(f.missing)]
            )
            for f in figures
        )
        o, b = at("ours", clients), at("bare", clients)
        if o is not None and b is not None:
            r50, r99 = b.p(0.5) / o.p(0.5), b.p(0.99) / o.p(0.99)
            missing = any(f is None or f.missing for f in figures)
            latency_ok = latency_ok and r50 >= TARGET_RATIO and not missing
            line += f"{r50:14.2f}{r99:6.2f}"
        elif o is not None:
            latency_ok = False
        print(line)

    print()
    print(
        "Server CPU per delivered message, us (CPU during the broadcasts / (broadcasts x"
        " clients - missing)); CPU ms per broadcast in brackets:"
    )
    print(
        f"{'clients':>8}|"
        + "".join(f"{name:>9}{'(ms)':>8}|" for name in names)
        + f"{'ours/node':>10}{'ours/bare':>10} {'ok':>3}"
    )
    cpu_ok = "node" in runs
    cpu_ratios = []
    for clients in sizes:
        line = f"{clients:8,}|" + "".join(
            _columns(
                at(name, clients),
                [9, 8],
                lambda f: [f"{f.cpu_us_per_message:.1f}", f"({f.server_cpu_ms:.0f})"],
            )
            for name in names
        )
        o, n, b = at("ours", clients), at("node", clients), at("bare", clients)
        ratio = o.cpu_us_per_message / n.cpu_us_per_message if o and n else None
        versus_bare = o.cpu_us_per_message / b.cpu_us_per_message if o and b else None
        ok = ratio is not None and ratio <= TARGET_CPU_RATIO
        if o is not None:
            cpu_ok = cpu_ok and ok
            line += f"{_cell(ratio, 10, 2)}{_cell(versus_bare, 10, 2)} {'yes' if ok else 'NO':>3}"
        if ratio is not None:
            cpu_ratios.append(f"{ratio:.2f} at {clients:,}")
        print(line)

    print()
    print(
        "Memory per connected client, KB ((VmRSS at N - VmRSS with the host alone) / N);"
        " RSS MB in brackets:"
    )
    print(f"{'clients':>8}|" + "".join(f"{name:>9}{'(MB)':>8}|" for name in names) + " ok (ours)")
    memory_ok, memory_checked = True, False
    for clients in sizes:
        line = f"{clients:8,}|" + "".join(
            _columns(
                at(name, clients),
                [9, 8],
                lambda f, idle=runs[name].rss_idle_kb: [
                    f"{kb_per_client(f, idle):.1f}",
                    f"({f.rss_kb / 1024:.0f})",
                ],
            )
            for name in names
        )
        o = at("ours", clients)
        verdict = ""
        if o is not None and clients >= TARGET_KB_FROM:
            memory_checked = True
            ok = kb_per_client(o, ours.rss_idle_kb) <= TARGET_KB_PER_CLIENT
            memory_ok = memory_ok and ok
            verdict = "yes" if ok else "NO"
        print(line + f" {verdict}")
    print(
        "RSS with the host alone: "
        + ", ".join(f"{name} {runs[name].rss_idle_kb / 1024:.1f} MB" for name in names)
    )
    for name in names:
        ramp_text = ", ".join(f"{s.clients:,} in {s.seconds:.1f} s" for s in runs[name].steps)
        print(f"{name} ramp (connect + join + drain per step): {ramp_text}")
    print(
        f"`viewers` messages the clients received while ours ramped: {ours.viewers_messages:,}"
        " (pushed at most once a second per room)"
    )

    print()
    wanted = max(args.clients)
    reached = ours.fanouts[-1].clients if ours.fanouts else 0
    reached_ok = not ours.stopped_because and reached >= wanted
    if not reached_ok:
        print(f"LARGEST N REACHED by ours: {reached:,} of {wanted:,}: {ours.stopped_because}")
    if "node" not in runs:
        cpu_verdict = "not measured (no node peer)"
    else:
        cpu_verdict = f"{'met' if cpu_ok else 'NOT MET'} (ours/node {', '.join(cpu_ratios)})"
    print(f"Fan-out CPU per delivered message, ours/node <= {TARGET_CPU_RATIO:.2f}: {cpu_verdict}")
    print(
        f"Latency, bare/ours p50 >= {TARGET_RATIO}, no receipt missing: "
        + (("met" if latency_ok else "NOT MET") if "bare" in runs else "not measured (no bare)")
    )
    print(
        f"Memory, ours <= {TARGET_KB_PER_CLIENT:.0f} KB/client from {TARGET_KB_FROM:,} clients:"
        + (f" {'met' if memory_ok else 'NOT MET'}" if memory_checked else " no such size reached")
    )
    passed = cpu_ok and latency_ok and memory_ok and reached_ok
    print(f"Targets (all of the above, every size reached): {'met' if passed else 'NOT MET'}")
    return passed


# ============================================================================================
# main
# ============================================================================================


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients", default="1000,3000,10000", help="room sizes to measure, comma-separated"
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help="which of ours,bare,node to run (ours always runs, first)",
    )
    parser.add_argument("--broadcasts", type=int, default=20, help="K broadcasts per size")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between broadcasts")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--step", type=int, default=250, help="clients added per ramp step")
    parser.add_argument(
        "--parallel", type=int, default=100, help="connects/joins in flight, all processes"
    )
    parser.add_argument(
        "--ramp-budget",
        type=float,
        default=400,
        help="seconds for the ramp; it stops before a step foreseen to pass them",
    )
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args()
    args.clients = sorted({int(n) for n in str(args.clients).split(",") if n.strip()})
    args.servers = [name for name in SERVERS if name == "ours" or name in args.servers.split(",")]
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    if args.redis_db in (14, 15):
        parser.error("Redis db 14 and 15 are the tests'; use another")
    return args


async def measure_all(platform: Platform, args: argparse.Namespace) -> dict[str, ServerRun]:
    fleet = Fleet(args.workers, {1} if args.pin else None)
    runs: dict[str, ServerRun] = {}
    try:
        print(f"ours: ramping to {', '.join(f'{n:,}' for n in args.clients)} clients", flush=True)
        runs["ours"] = await run_server("ours", fleet, platform, args.clients, args)
        # Where ours stopped early, the peers go on to the sizes asked for all the same.
        sizes = sorted({f.clients for f in runs["ours"].fanouts} | set(args.clients))
        for name in args.servers[1:]:
            print(f"{name}: the same sizes {', '.join(f'{n:,}' for n in sizes)}", flush=True)
            runs[name] = await run_server(name, fleet, platform, sizes, args)
        print(f"client processes' RSS at the end: {fleet.rss_kb() / 1024:.0f} MB")
    finally:
        await fleet.close()
    return runs


def main() -> int:
    args = parse_args()
    args.node_version = install_node_peer() if "node" in args.servers else ""
    # The server holds every client's socket, and inherits this process's limit.
    limit = raise_fd_limit()
    needed = max(args.clients) + FD_ROOM
    if limit < needed:
        raise SystemExit(
            f"RLIMIT_NOFILE (hard) is {limit}: a server cannot hold {max(args.clients):,}"
            f" clients; raise it (ulimit -Hn {needed} as root) or lower --clients"
        )
    if args.pin:
        os.sched_setaffinity(0, {1})
    platform = make_platform("fanout", args.redis_db)
    passed = False
    try:
        seed_platform(platform, max(args.clients))
        runs = asyncio.run(measure_all(platform, args))
        passed = report(runs, args)
    finally:
        cleanup_platform(platform)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
