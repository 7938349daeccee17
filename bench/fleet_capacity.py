"""Capacity of the staging fleet (`make staging`), through nginx: order placement throughput
and live fan-out with 1 and 2 realtime processes (the scaling ratio), per core used.

Run it against a fleet that `make staging` brought up (and `make smoke` may have used; it
seeds its own stores). From the project root:

    .venv/bin/python bench/fleet_capacity.py                      # orders 20 s, 1,000 clients
    .venv/bin/python bench/fleet_capacity.py --clients 2000 --duration 30

1. `b2bc demo` if the fleet has no brand yet; --stores stores of the demo's first
   distributor with their owners and a started live session for exactly them (one INSERT,
   as bench/live_fanout.py seeds them), tokens minted with the fleet's JWT secret; one SKU
   topped up so no order fails for stock.
2. Orders: --connections keep-alive connections to nginx, each a loop of
   `POST /api/v1/orders` (fresh Idempotency-Key, the next store's token, one line) for
   --duration seconds; orders/s and latency p50/p99 from the 201s; the CPU seconds the API
   processes, nginx and the database's backends used meanwhile give orders per core-second.
3. Fan-out: --clients stores connect to /socket.io/ through nginx (websocket) and join; with
   realtime-2 stopped first (all on realtime-1), then with both (realtime-2 started again,
   the clients reconnected, nginx's least_conn splits them): the host pushes a product card
   --broadcasts times, and each time the latency until the last client received it; the
   recipients per second and per core-second of the realtime processes; the ratio 2/1.

Prints a markdown table for docs/production.md. Figures depend on what else runs on the
machine: compare the ratio, and per core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from bench_common import (
    HOST,
    cpu_delta,
    exchange,
    percentile,
    postgres_cpu_seconds,
    request_bytes,
    tree_cpu_seconds,
)
from live_fanout import Fleet, Platform, Room, _seed, clear_live_keys, raise_fd_limit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "staging"))
import fleet


@dataclass
class Orders:
    per_second: float
    p50_ms: float
    p99_ms: float
    cores: float  # API processes + nginx + PostgreSQL backends, on average over the run
    failures: int

    @property
    def per_core(self) -> float:
        return self.per_second / max(self.cores, 1e-9)


@dataclass
class Fanout:
    processes: int
    clients: int
    all_received_ms: list[float]
    cpu_seconds: float  # the realtime processes', over all the broadcasts
    wall_seconds: float
    missing: int

    @property
    def p50(self) -> float:
        return statistics.median(self.all_received_ms)

    @property
    def recipients_per_second(self) -> float:
        return self.clients / (self.p50 / 1000)

    @property
    def recipients_per_core_second(self) -> float:
        delivered = self.clients * len(self.all_received_ms)
        return delivered / max(self.cpu_seconds, 1e-9)


def pids(*names: str) -> list[int]:
    known = fleet.load_pids()
    return [known[name] for name in names]


def cpu_of(names: tuple[str, ...]) -> float:
    return sum(tree_cpu_seconds(pid) for pid in pids(*names))


async def ensure_brand(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        has = await conn.fetchval("SELECT count(*) FROM users WHERE username = 'dist1_admin'")
    finally:
        await conn.close()
    if not has:
        print("no demo data yet: b2bc demo", flush=True)
        demo = fleet.b2bc("demo")
        await asyncio.to_thread(
            subprocess.run, demo, cwd=fleet.ROOT, env=fleet.fleet_env(), check=True
        )


async def order_target(dsn: str, distributor_id: int) -> tuple[int, int]:
    """A SKU of the distributor, topped up, and one order's quantity of it."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT k.id, k.min_order_qty, k.case_size FROM skus k"
            " JOIN distributor_skus d ON d.sku_id = k.id WHERE d.distributor_id = $1"
            " ORDER BY d.stock DESC, k.id LIMIT 1",
            distributor_id,
        )
        await conn.execute(
            "UPDATE distributor_skus SET stock = stock + 10000000"
            " WHERE sku_id = $1 AND distributor_id = $2",
            row["id"],
            distributor_id,
        )
    finally:
        await conn.close()
    case = max(1, int(row["case_size"]))
    return int(row["id"]), max(case, -(-int(row["min_order_qty"]) // case) * case)


async def place_orders(platform: Platform, args: argparse.Namespace) -> Orders:
    sku, quantity = await order_target(platform.dsn, platform.distributor_id)
    body = json.dumps({"lines": [{"sku_id": sku, "quantity": quantity}]}).encode()
    tokens = platform.owner_tokens
    latencies: list[float] = []
    failures = 0
    stop_at = 0.0

    async def connection(number: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(HOST, fleet.NGINX_PORT)
        turn = number
        try:
            while time.monotonic() < stop_at:
                headers = {
                    "Authorization": f"Bearer {tokens[turn % len(tokens)]}",
                    "Idempotency-Key": str(uuid.uuid4()),
                    "Content-Type": "application/json",
                }
                turn += args.connections
                request = request_bytes("POST", "/api/v1/orders", fleet.NGINX_PORT, headers, body)
                done = await exchange(reader, writer, request)
                if done.status == 201:
                    latencies.append(done.seconds * 1000)
                else:
                    failures += 1
        finally:
            writer.close()

    # A short warm-up, then the measured run.
    for measured in (False, True):
        latencies.clear()
        failures = 0
        seconds = args.duration if measured else 3
        names = ("api-1", "api-2", "nginx")
        cpu_before, pg_before = cpu_of(names), postgres_cpu_seconds(platform.database)
        began = time.monotonic()
        stop_at = began + seconds
        await asyncio.gather(*(connection(n) for n in range(args.connections)))
        wall = time.monotonic() - began
        used = cpu_of(names) - cpu_before
        used += cpu_delta(pg_before, postgres_cpu_seconds(platform.database))
    ordered = sorted(latencies)
    return Orders(
        len(ordered) / wall,
        percentile(ordered, 0.5),
        percentile(ordered, 0.99),
        used / wall,
        failures,
    )


async def fan_out(
    platform: Platform, clients: Fleet, args: argparse.Namespace, processes: int
) -> Fanout:
    room = Room(clients, fleet.NGINX_PORT, platform, 0)
    await room.open_host()
    try:
        while room.clients < args.clients:
            await room.add(min(250, args.clients - room.clients), 100)
        realtime = tuple(f"realtime-{n}" for n in range(1, processes + 1))
        await room.broadcast(120)  # warm
        before, began = cpu_of(realtime), time.monotonic()
        latencies, missing = [], 0
        for _ in range(args.broadcasts):
            latency, _, lost = await room.broadcast(120)
            latencies.append(latency)
            missing += lost
            await asyncio.sleep(0.05)
        return Fanout(
            processes,
            room.clients,
            latencies,
            cpu_of(realtime) - before,
            time.monotonic() - began,
            missing,
        )
    finally:
        await room.close()
        room.clients = 0


async def staging_platform(stores: int, rains: list[dict[str, int]]) -> Platform:
    """The fleet's database and Redis, with `stores` new stores (their owners' tokens) and a
    started live session for exactly them, with `rains` planned."""
    env = fleet.read_env_file()
    dsn = env["DATABASE_URL"]
    await ensure_brand(dsn)
    platform = Platform(
        dsn.rsplit("/", 1)[1], dsn, fleet.STATE, fleet.fleet_env(), env["REDIS_URL"]
    )
    await clear_live_keys(platform.redis_url)
    await _seed(platform, stores, rains, env["B2BC_JWT_SECRET"])
    return platform


async def measure(args: argparse.Namespace) -> None:
    stores = max(args.clients, args.stores)
    platform = await staging_platform(stores, [])
    print(f"seeded {stores} stores and session {platform.session_id}", flush=True)

    orders = await place_orders(platform, args)
    print(
        f"orders: {orders.per_second:.0f}/s, p50 {orders.p50_ms:.0f} ms, p99"
        f" {orders.p99_ms:.0f} ms, {orders.cores:.2f} cores, {orders.failures} failures",
        flush=True,
    )
    clients = Fleet(args.workers, None)
    runs: list[Fanout] = []
    try:
        await asyncio.to_thread(fleet.stop, "realtime-2")
        runs.append(await fan_out(platform, clients, args, 1))
        await asyncio.to_thread(fleet.start_one, "realtime-2")
        runs.append(await fan_out(platform, clients, args, 2))
    finally:
        await clients.close()
        if not fleet.status_quiet():
            await asyncio.to_thread(fleet.start_one, "realtime-2")
    for run in runs:
        print(
            f"fan-out, {run.processes} realtime: {run.clients} clients, all received p50"
            f" {run.p50:.0f} ms, {run.recipients_per_second:.0f} recipients/s,"
            f" {run.recipients_per_core_second:.0f} per core-second, {run.missing} missing",
            flush=True,
        )
    one, two = runs
    ratio = two.recipients_per_second / one.recipients_per_second
    print()
    print("| measure | figure | per core |")
    print("|---|---|---|")
    print(
        f"| order placement, {args.connections} connections through nginx, 2 API processes |"
        f" {orders.per_second:.0f} orders/s (p50 {orders.p50_ms:.0f} ms, p99"
        f" {orders.p99_ms:.0f} ms) | {orders.per_core:.0f} orders/s per core (API, nginx,"
        f" PostgreSQL: {orders.cores:.2f} cores) |"
    )
    for run in runs:
        print(
            f"| live fan-out, {run.clients} clients, {run.processes} realtime process"
            f"{'es' if run.processes > 1 else ''} | all received in {run.p50:.0f} ms (p50),"
            f" {run.recipients_per_second:.0f} recipients/s |"
            f" {run.recipients_per_core_second:.0f} recipients per realtime core-second |"
        )
    print(f"| scaling ratio, 2 realtime / 1 | {ratio:.2f} | |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of ordering")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--stores", type=int, default=200, help="stores that order")
    parser.add_argument("--clients", type=int, default=1000, help="live clients")
    parser.add_argument("--broadcasts", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    args = parser.parse_args()
    raise_fd_limit()
    if not fleet.ENV_FILE.exists() or not fleet.status_quiet():
        print("no healthy staging fleet: run `make staging` first", file=sys.stderr)
        return 1
    asyncio.run(measure(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
