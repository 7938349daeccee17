"""Joins in a reconnect storm: N clients connect and `join` /live at once, ours vs bare.
Target: the connect→join-ack p99 of ours <= 2x bare python-socketio's, at 3,000 clients.

A realtime process restarts (a deploy, a crash): every store's mini-program reconnects
within a second or so (Socket.IO's reconnection delay, randomised) and joins the room
again. Each of those joins must answer with the room's whole state; this measures how long
a store waits for it while everyone else does the same.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it,
   seeds the demo data, --clients stores of the first distributor with their owners and a
   live session inviting exactly them (bench/live_fanout.py's seeding); Redis is
   127.0.0.1:6379 db --redis-db (default 9), its `live:*` keys cleared before and after;
2. starts --workers client processes (pinned to CPU 1, with this process) running the light
   Socket.IO clients of bench/live_fanout.py;
3. for each server, ours (`b2bc realtime`, embedded-mode settings on PostgreSQL and real
   Redis, as production) then bare (python-socketio under uvicorn, live_fanout's
   BARE_SERVER: `join` enters the room and answers, nothing else), each pinned to CPU 0:
     first    the server starts (ours: the host joins and pushes the product card, so that
              every join reads what is left of it); every client starts within --window
              seconds (each at a random instant of it), connects and joins; per client the
              time from the start of its TCP connect to the join's acknowledgement (and its
              two parts);
     restart  the server is killed (SIGTERM, then SIGKILL) with everyone in the room, the
              clients drop, a fresh server starts, and the same storm runs again: the
              reconnect storm after a process restart, Redis holding the room as it was
              (ours) — the target is measured here;
4. statements per join (ours): the server is restarted once more, reaching PostgreSQL
   through bench/sql_counter.py (a counting proxy: its latencies are not comparable, so
   none are reported), and --counted clients storm in; every statement the process sends
   from the first connect until --settle seconds after the last join (background flushes
   included), divided by the joins, and the most frequent statements by text;
5. prints p50/p99/max for each storm, the ratio ours/bare and the verdict.

All traffic goes to 127.0.0.1. Run it from the project root:

    .venv/bin/python bench/live_joins.py                  # 3,000 clients, ~3 min
    .venv/bin/python bench/live_joins.py --clients 1000 --counted 200
    .venv/bin/python bench/live_joins.py --profile /tmp/joins.pyspy  # py-spy, if installed

The servers, the clients, PostgreSQL and Redis share the machine's 2 cores: compare the
ratio, not the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvloop
from bench_common import HOST, free_port, percentile, start_profile, summarize_profile
from live_fanout import (
    Fleet,
    Platform,
    Refused,
    Worker,
    cleanup_platform,
    clear_live_keys,
    kill_server,
    make_platform,
    open_client,
    raise_fd_limit,
    seed_platform,
    start_bare,
    start_ours,
    wait_sio_ready,
)
from sql_counter import StatementCounter

TARGET_RATIO = 2.0  # ours' p99 at most this many times bare's
JOIN_WAIT_S = 120.0


class StormWorker(Worker):
    """live_fanout's client process, with one more command: a storm."""

    async def storm(
        self, port: int, auths: list[dict[str, Any]], session_id: int, at: float, window: float
    ) -> dict[str, Any]:
        """Each client starts at a random instant of [at, at + window), connects and joins;
        per client (connect ms, join ms) from its start, or the failure."""
        timings: list[tuple[float, float]] = []
        failures: Counter[str] = Counter()

        async def one(auth: dict[str, Any]) -> None:
            await asyncio.sleep(max(0.0, at + random.uniform(0, window) - time.monotonic()))
            begun = time.monotonic()
            try:
                client = await open_client(port, auth, self.on_event, wait_s=JOIN_WAIT_S)
            except (OSError, TimeoutError, Refused) as exc:
                failures[f"connect: {type(exc).__name__} {str(exc)[:60]}"] += 1
                return
            connected = time.monotonic()
            self.clients.append(client)
            try:
                reply = await asyncio.wait_for(
                    client.call("join", {"session_id": session_id}), JOIN_WAIT_S
                )
            except (OSError, TimeoutError) as exc:
                failures[f"join: {type(exc).__name__}"] += 1
                return
            if not (isinstance(reply, dict) and reply.get("ok")):
                code = reply.get("error", {}).get("code") if isinstance(reply, dict) else reply
                failures[f"join refused: {code}"] += 1
                return
            self.joined.append(client)
            timings.append(((connected - begun) * 1000, (client.last_ack_at - connected) * 1000))

        self.port = port
        await asyncio.gather(*(one(auth) for auth in auths))
        return {"timings": timings, "failures": dict(failures)}

    async def handle(self, command: tuple[Any, ...]) -> None:
        if command[0] != "storm":
            await super().handle(command)
            return
        self.pipe.send(("done", await self.storm(*command[1:])))


def storm_main(pipe: Connection, cpus: set[int] | None) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    raise_fd_limit()
    uvloop.run(StormWorker(pipe).run())


@dataclass
class Storm:
    clients: int
    total_ms: list[float]  # connect start → join ack, sorted
    connect_ms: list[float]
    join_ms: list[float]
    failures: dict[str, int]
    wall_s: float

    def p(self, fraction: float) -> float:
        return percentile(self.total_ms, fraction)

    def describe(self) -> str:
        def three(values: list[float]) -> str:
            return (
                f"p50 {percentile(values, 0.5):7.1f}  p99 {percentile(values, 0.99):7.1f}"
                f"  max {values[-1] if values else 0:7.1f}"
            )

        text = (
            f"{len(self.total_ms):5,}/{self.clients:,} joined in {self.wall_s:5.1f} s;"
            f" connect→ack ms {three(self.total_ms)}"
            f"  (connect p99 {percentile(self.connect_ms, 0.99):.1f},"
            f" join p99 {percentile(self.join_ms, 0.99):.1f})"
        )
        return text + (f"  failures {self.failures}" if self.failures else "")


@dataclass
class ServerStorms:
    name: str
    storms: dict[str, Storm] = field(default_factory=dict)


async def storm(fleet: Fleet, port: int, platform: Platform, clients: int, window: float) -> Storm:
    workers = len(fleet)
    tokens = platform.owner_tokens[:clients]
    at = time.monotonic() + 0.5  # every process has its command by then
    started = time.monotonic()
    results = await fleet.ask_each(
        [
            (
                "storm",
                port,
                [{"token": t} for t in tokens[n::workers]],
                platform.session_id,
                at,
                window,
            )
            for n in range(workers)
        ]
    )
    wall = time.monotonic() - max(at, started)
    timings = [timing for result in results for timing in result["timings"]]
    failures: Counter[str] = Counter()
    for result in results:
        failures.update(result["failures"])
    return Storm(
        clients,
        sorted(c + j for c, j in timings),
        sorted(c for c, _ in timings),
        sorted(j for _, j in timings),
        dict(failures),
        wall,
    )


async def push_card(port: int, platform: Platform) -> None:
    """The host puts the product card on screen: every join then reads what is left of it."""
    host = await open_client(port, {"token": platform.host_token}, lambda *_: None)
    try:
        for event, data in (
            ("join", {"session_id": platform.session_id}),
            ("host:push_product", {"product_id": platform.product_id}),
        ):
            reply = await asyncio.wait_for(host.call(event, data), JOIN_WAIT_S)
            if not reply.get("ok"):
                raise RuntimeError(f"the host's {event} was refused: {reply}")
    finally:
        host.close()


def start(name: str, platform: Platform, port: int, env: dict[str, str] | None = None) -> Any:
    log = platform.tmp / f"{name}-{port}.log"
    if name == "bare":
        server = start_bare({"bare": True}, port, log)
    else:
        server = start_ours(dataclasses.replace(platform, env=env or platform.env), port, log)
    wait_sio_ready(port, server, log)
    return server, log


async def run_server(
    name: str, fleet: Fleet, platform: Platform, args: argparse.Namespace
) -> ServerStorms:
    run = ServerStorms(name)
    if name == "ours":
        await clear_live_keys(platform.redis_url)
    for phase in ("first", "restart"):
        port = free_port()
        server, log = await asyncio.to_thread(start, name, platform, port)
        try:
            if args.pin:
                os.sched_setaffinity(server.pid, {0})
            await asyncio.sleep(1.0)  # the server settles (its first heartbeat, pools)
            if name == "ours" and phase == "first":
                await push_card(port, platform)
            spy = None
            if args.profile and name == "ours":
                out = args.profile.with_name(f"{args.profile.name}.{phase}")
                spy = start_profile(server.pid, args.profile_seconds, out)
            done = await storm(fleet, port, platform, args.clients, args.window)
            if spy is not None:
                await asyncio.to_thread(spy.wait)
                print(f"  py-spy of ours during the {phase} storm ({out}):")
                print(summarize_profile(out, top=25))
            run.storms[phase] = done
            print(f"  {name:4} {phase:7}: {done.describe()}", flush=True)
            if done.failures:  # why, as the server logged it
                errors = [line for line in log.read_text().splitlines() if "Error" in line]
                print("\n".join(f"    {line[:300]}" for line in errors[-6:]), flush=True)
        finally:
            kill_server(server)  # with everyone in the room: the restart's storm follows
            await fleet.ask_all("reset")
        if server.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL, None):
            print(f"{name} exited with {server.returncode}; log {log}:\n{log.read_text()[-2000:]}")
    return run


async def count_statements(
    fleet: Fleet, platform: Platform, args: argparse.Namespace
) -> tuple[int, Counter[str]]:
    """(joins, statements by text) of a storm of --counted clients through the counter."""
    counter = StatementCounter(HOST, 5432).start()
    try:
        env = dict(platform.env)
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(f"{HOST}:5432", f"{HOST}:{counter.port}")
        port = free_port()
        server, _ = await asyncio.to_thread(start, "ours", platform, port, env)
        try:
            if args.pin:
                os.sched_setaffinity(server.pid, {0})
            await asyncio.sleep(1.0)
            before = counter.snapshot()
            done = await storm(fleet, port, platform, args.counted, args.window)
            await asyncio.sleep(args.settle)  # background writes of the joins land
            after = counter.snapshot()
        finally:
            kill_server(server)
            await fleet.ask_all("reset")
    finally:
        counter.stop()
    return len(done.total_ms), after - before


def report(
    ours: ServerStorms,
    bare: ServerStorms,
    joins: int,
    statements: Counter[str],
    args: argparse.Namespace,
) -> bool:
    print(f"\nreconnect storm: {args.clients:,} clients starting within {args.window:.1f} s")
    for phase in ("first", "restart"):
        mine, theirs = ours.storms[phase], bare.storms[phase]
        ratio = mine.p(0.99) / max(theirs.p(0.99), 1e-9)
        print(
            f"  {phase:7}  ours p50 {mine.p(0.5):7.1f} p99 {mine.p(0.99):7.1f} max"
            f" {mine.total_ms[-1] if mine.total_ms else 0:7.1f} ms | bare p50 {theirs.p(0.5):7.1f}"
            f" p99 {theirs.p(0.99):7.1f} max {theirs.total_ms[-1] if theirs.total_ms else 0:7.1f}"
            f" ms | p99 ours/bare {ratio:.2f}x"
        )
    total = sum(statements.values())
    print(
        f"\nstatements (ours, {joins:,} joins after a restart): {total:,},"
        f" {total / max(joins, 1):.2f} per join"
    )
    for text, count in statements.most_common(8):
        print(f"  {count:6,}  {text[:140]}")
    mine, theirs = ours.storms["restart"], bare.storms["restart"]
    ratio = mine.p(0.99) / max(theirs.p(0.99), 1e-9)
    complete = len(mine.total_ms) == args.clients and not mine.failures
    passed = complete and ratio <= TARGET_RATIO
    print(
        f"\nverdict: after a restart ours' p99 is {ratio:.2f}x bare's"
        f" (target <= {TARGET_RATIO:.1f}x)"
        + ("" if complete else f", {args.clients - len(mine.total_ms)} joins failed")
        + (": PASS" if passed else ": FAIL")
    )
    return passed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--window", type=float, default=1.0, help="seconds the starts spread over")
    parser.add_argument("--counted", type=int, default=500, help="clients of the counted storm")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds counted after it")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument(
        "--profile", type=Path, help="py-spy each storm of ours into PATH.<storm>, if installed"
    )
    parser.add_argument("--profile-seconds", type=float, default=10)
    args = parser.parse_args()
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    args.counted = min(args.counted, args.clients)
    if args.redis_db in (14, 15):
        parser.error("Redis db 14 and 15 are the tests'; use another")
    return args


async def measure(platform: Platform, args: argparse.Namespace) -> bool:
    fleet = Fleet(args.workers, {1} if args.pin else None, storm_main)
    try:
        ours = await run_server("ours", fleet, platform, args)
        bare = await run_server("bare", fleet, platform, args)
        joins, statements = await count_statements(fleet, platform, args)
    finally:
        await fleet.close()
    return report(ours, bare, joins, statements, args)


def main() -> int:
    args = parse_args()
    limit = raise_fd_limit()
    if limit < args.clients + 200:
        print(f"RLIMIT_NOFILE is {limit}: at most ~{limit - 200} clients per process")
    if args.pin:
        os.sched_setaffinity(0, {1})
    platform = make_platform("joins", args.redis_db)
    passed = False
    try:
        seed_platform(platform, args.clients)
        passed = asyncio.run(measure(platform, args))
    finally:
        cleanup_platform(platform)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
