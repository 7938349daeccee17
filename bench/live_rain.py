"""Red-packet rain: 5,000 clients grab 1,000 packets at once over /live, against raw Redis.
Targets: server CPU per grab <= 150 us; grabs per second >= 0.3x raw Redis EVALSHA of the grab
script; grab ack p99 <= 200 ms.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it,
   seeds the demo data and --clients stores of the first distributor with their owners, and
   schedules (`backend.livestream.service.schedule`) and starts a session for exactly those
   stores with --rounds planned rains of --packets packets sharing --total-fen each, open
   --rain-seconds; Redis is 127.0.0.1:6379 db --redis-db (default 12; its `live:*` keys are
   cleared before and after);
2. starts `b2bc realtime --port N` (embedded-mode settings on PostgreSQL and real Redis: the
   AsyncRedisManager, Redis room state and the Lua grab of production; pinned to CPU 0) and
   --workers client processes (CPU 1, with this process) running the light Socket.IO clients
   of bench/live_fanout.py; the clients connect and `join` by steps until --clients are in
   the room, or until the ramp would pass --ramp-budget seconds, then the rain runs with
   those;
3. per round: the host emits `host:rain`; once every client got the `rain` event, all
   clients emit `grab` at the same instant (each client once, acknowledged); it times each
   acknowledgement (send to ack), and samples pg_stat_activity every 10 ms (what the
   database's backends are doing: running, waiting on a lock, idle in a transaction);
   the rain ends on its timer (`rain_result`); then the invariants in PostgreSQL:
     grants == min(clients, packets); sum of grants == total (or the counter, with fewer
     clients than packets); one grant per store, all of them clients; one red-packet ledger
     credit per grant with its amount, the sum equal; the rain's counters equal the grants;
     ended with returned == total - granted; the distributor debited the total once and
     credited the return once; the acknowledged wins are exactly the grants;
4. the baseline, in the same round: the same grab script (`rains._GRAB`) loaded with the
   same keys (`rains._LOAD`: --packets packets, the clients' stores as invited) under
   another rain id, run with EVALSHA through redis.asyncio from the same processes, one task
   per client (each process with a pool like the server's), all at the same instant;
5. prints grabs/s (acks over the whole burst), ack p50/p99/max, the server's CPU per grab
   (the CPU seconds the realtime process and its children used from the burst's start to its
   last ack, over the grabs acknowledged), the ratio to raw Redis, the invariants (a VIOLATED
   line for any that fails), where the backends' time went, and the verdicts; ends the
   session (`host:end`), checks every ledger account still balances,
   stops the server and the clients and drops the database.

All traffic goes to 127.0.0.1. Run it from the project root:

    .venv/bin/python bench/live_rain.py                      # 5,000 clients (or what the
                                                             # ramp reaches), 2 rounds
    .venv/bin/python bench/live_rain.py --clients 1000 --rounds 1
    .venv/bin/python bench/live_rain.py --profile /tmp/rain.pyspy   # py-spy, if installed

With --staging it runs against the staging fleet instead (`make staging` first, `make
staging-down` after): steps 1 and 2 become seeding the stores, the session and its rains in
the fleet's database and connecting the clients through its nginx, which spreads them over
the fleet's two realtime processes; the server CPU is both processes', the invariants hold
across both, and the fleet's database is kept:

    make staging && .venv/bin/python bench/live_rain.py --staging --clients 5000 --rounds 1

The server, the clients, PostgreSQL and Redis share the machine's 2 cores; absolute figures
depend on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from bench_common import (
    cpu_delta,
    free_port,
    percentile,
    postgres_cpu_seconds,
    start_profile,
    summarize_profile,
    tree_cpu_seconds,
)
from fleet_capacity import fleet, staging_platform
from live_fanout import (
    Fleet,
    Platform,
    Room,
    cleanup_platform,
    kill_server,
    make_platform,
    raise_fd_limit,
    ramp,
    seed_platform,
    start_ours,
    wait_sio_ready,
)

from backend.infra.db import close_db, init_db
from backend.ledger import service as ledger_service
from backend.ledger.models import EntryCause, PartyKind
from backend.livestream.rains import _GRAB, _LOAD, rain_keys
from backend.livestream.red_packet import split

TARGET_P99_MS = 200.0
TARGET_RATIO = 0.3
TARGET_CPU_US = 150.0
RAW_RAIN_BASE = 1_000_000_000  # the baseline's rain ids: far from the database's


@dataclass
class Burst:
    """All clients' grabs (or raw EVALSHAs): per grab (sent, acked) and the outcome."""

    latencies_ms: list[float]  # sorted
    wall_s: float  # first send to last ack
    outcomes: Counter[str]
    server_cpu_s: float = 0.0  # the server's CPU seconds over the burst
    postgres_cpu_s: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / max(self.wall_s, 1e-9)

    @property
    def server_cores(self) -> float:
        return self.server_cpu_s / max(self.wall_s, 1e-9)

    @property
    def postgres_cores(self) -> float:
        return self.postgres_cpu_s / max(self.wall_s, 1e-9)

    @property
    def cpu_us_per_grab(self) -> float:
        """Server CPU per acknowledged grab, in microseconds."""
        return self.server_cpu_s * 1e6 / max(len(self.latencies_ms), 1)

    def p(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)


@dataclass
class Round:
    rain_id: int
    clients: int
    ours: Burst
    raw: Burst
    rain_event_ms: float
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    activity: Counter[str] = field(default_factory=Counter)
    lock_queries: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    result_ms: float = 0.0

    @property
    def clean(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


async def connect(dsn: str, wait_s: float = 60) -> asyncpg.Connection:
    """A connection, waiting for a free slot on a PostgreSQL shared with other runs."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await asyncpg.connect(dsn)
        except asyncpg.TooManyConnectionsError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


# --- what the database's backends do during the burst ---------------------------------------


class ActivitySampler:
    """pg_stat_activity of the bench database every 10 ms: a cheap profile of where the
    grabs' transactions spend their time."""

    def __init__(self, dsn: str, database: str) -> None:
        self.dsn, self.database = dsn, database
        self.states: Counter[str] = Counter()
        self.lock_queries: Counter[str] = Counter()
        self.samples = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        try:
            conn = await connect(self.dsn, wait_s=0)
        except (OSError, asyncpg.PostgresError) as exc:  # e.g. a shared server's slots full
            print(f"  (no pg_stat_activity samples: {exc})")
            return
        try:
            while not self.stop.is_set():
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event, left(query, 70) AS query"
                    " FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'",
                    self.database,
                )
                self.samples += 1
                for row in rows:
                    state, kind = row["state"], row["wait_event_type"]
                    if state == "active" and kind == "Lock":
                        self.states[f"waiting on a lock ({row['wait_event']})"] += 1
                        self.lock_queries[row["query"]] += 1
                    elif state == "active" and kind not in (None, "Client"):
                        self.states[f"active, waiting on {kind}:{row['wait_event']}"] += 1
                    elif state == "active":
                        self.states["running a statement"] += 1
                    elif state == "idle in transaction":
                        self.states["idle in transaction (the app's turn)"] += 1
                    else:
                        self.states[str(state)] += 1
                await asyncio.sleep(0.01)
        finally:
            await conn.close()


# --- the round ---------------------------------------------------------------------------------


def burst_of(results: list[tuple[Any, ...]], started: float) -> tuple[Burst, dict[int, int]]:
    """Our grabs' results: the burst, and the packets the acks say were won (store: fen)."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    won: dict[int, int] = {}
    last = started
    for store, sent, acked, ok, *rest in results:
        if acked is None:
            outcomes["no ack"] += 1
            continue
        latencies.append((acked - sent) * 1000)
        last = max(last, acked)
        if ok:
            amount, again = rest
            outcomes["again" if again else "won"] += 1
            if not again:
                won[int(store)] = int(amount)
        else:
            outcomes[str(rest[0])] += 1
    first = min((sent for _, sent, *_ in results), default=started)
    return Burst(sorted(latencies), last - first, outcomes), won


async def raw_baseline(
    platform: Platform,
    fleet: Fleet,
    stores_by_worker: list[list[int]],
    round_number: int,
    packets: int,
    total_fen: int,
) -> Burst:
    """The grab script through redis.asyncio, the same keys loaded under another rain id."""
    keys = rain_keys(RAW_RAIN_BASE + round_number)
    redis = aioredis.Redis.from_url(platform.redis_url, decode_responses=True)
    try:
        await redis.delete(*keys)
        stores = [store for share in stores_by_worker for store in share]
        # Packets as the platform loads them: "index:fen".
        cut = [
            f"{i}:{fen}" for i, fen in enumerate(split(total_fen, packets, random.SystemRandom()))
        ]
        ttl_ms = 120_000
        ends_ms = int(time.time() * 1000) + ttl_ms
        load = [platform.brand_id, ends_ms, ttl_ms, len(cut), *cut, len(stores), *stores, 0]
        if await redis.register_script(_LOAD)(keys=keys, args=load) != 1:
            raise RuntimeError("the baseline's keys were already loaded")
        at = time.monotonic() + 0.5
        results = await fleet.ask_each(
            [("raw_grab", platform.redis_url, _GRAB, keys, share, at) for share in stores_by_worker]
        )
        left = await redis.llen(keys[2])
        won = await redis.hlen(keys[4])
    finally:
        await redis.delete(*keys)
        await redis.aclose()
    flat = [entry for share in results for entry in share]
    outcomes = Counter(outcome for _, _, outcome in flat)
    first = min(sent for sent, _, _ in flat)
    last = max(acked for _, acked, _ in flat)
    latencies = sorted((acked - sent) * 1000 for sent, acked, _ in flat)
    if won != outcomes["won"] or left != packets - won:
        outcomes["INCONSISTENT"] += 1
    return Burst(latencies, last - first, outcomes)


def servers_cpu_seconds(pids: list[int]) -> float:
    return sum(tree_cpu_seconds(pid) for pid in pids)


async def run_round(
    room: Room,
    fleet: Fleet,
    platform: Platform,
    round_number: int,
    args: argparse.Namespace,
    server_pids: list[int],
) -> Round:
    rain_id = platform.rain_ids[round_number]
    clients = room.clients
    # The host starts the rain; every client hears of it before anyone grabs.
    rain_ms, _, missing, reply = await room.push("host:rain", {"rain_id": rain_id}, "rain", 120)
    if missing:
        raise RuntimeError(f"{missing} clients never heard of rain {rain_id}")
    ends_at = reply["data"]["ends_at"]

    sampler = ActivitySampler(platform.dsn, platform.database)
    sampling = asyncio.create_task(sampler.run())
    spy = None
    if args.profile and round_number == 0:
        spy = start_profile(server_pids[0], args.profile_seconds, args.profile)
        await asyncio.sleep(1)  # py-spy attached
    cpu_before = servers_cpu_seconds(server_pids)
    pg_before = postgres_cpu_seconds(platform.database)
    at = time.monotonic() + 0.3
    results = await fleet.ask_all("grab", rain_id, at, args.rain_seconds + 30)
    sampler.stop.set()
    await sampling
    flat = [entry for share in results for entry in share]
    ours, won = burst_of(flat, at)
    ours.server_cpu_s = servers_cpu_seconds(server_pids) - cpu_before
    ours.postgres_cpu_s = cpu_delta(pg_before, postgres_cpu_seconds(platform.database))
    if spy is not None:
        await asyncio.to_thread(spy.wait, 120)

    # The rain ends on its timer; its result goes to the whole room.
    waiting = await room.arm("rain_result")
    _, result_missing = await room.received(waiting, time.monotonic(), args.rain_seconds + 60)
    print(f"  rain {rain_id} ended (timer, ends_at {ends_at}); result missing: {result_missing}")

    stores_by_worker = [[entry[0] for entry in share] for share in results]
    raw = await raw_baseline(
        platform, fleet, stores_by_worker, round_number, args.packets, args.total_fen
    )
    done = Round(rain_id, clients, ours, raw, rain_ms)
    done.activity, done.lock_queries, done.samples = (
        sampler.states,
        sampler.lock_queries,
        sampler.samples,
    )
    done.checks = await check_rain(platform, rain_id, flat, won)
    if result_missing:
        done.checks.append(("every client got rain_result", False, f"{result_missing} missing"))
    return done


# --- the invariants ------------------------------------------------------------------------


async def check_rain(
    platform: Platform,
    rain_id: int,
    results: list[tuple[Any, ...]],
    won: dict[int, int],
) -> list[tuple[str, bool, str]]:
    clients = {int(entry[0]) for entry in results}
    acked = sum(1 for entry in results if entry[2] is not None)
    conn = await connect(platform.dsn)
    try:
        rain = await conn.fetchrow("SELECT * FROM red_packet_rains WHERE id = $1", rain_id)
        grants = await conn.fetch(
            "SELECT id, store_id, slot, amount_fen FROM red_packet_grants WHERE rain_id = $1",
            rain_id,
        )
        credits = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT e.cause_id) AS grants,"
            " coalesce(sum(e.amount), 0) AS fen,"
            " count(*) FILTER (WHERE e.amount <> g.amount_fen OR a.store_id <> g.store_id)"
            " AS wrong"
            " FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
            " JOIN red_packet_grants g ON g.id = e.cause_id"
            " WHERE e.cause = $1 AND g.rain_id = $2",
            EntryCause.RED_PACKET.value,
            rain_id,
        )
        party = await conn.fetch(
            "SELECT e.cause, e.amount FROM ledger_party_entries e"
            " JOIN ledger_party_accounts a ON a.id = e.account_id"
            " WHERE a.party = $1 AND a.party_id = $2 AND e.cause = ANY($3::text[])"
            " AND e.cause_id = $4",
            PartyKind.DISTRIBUTOR.value,
            platform.distributor_id,
            [EntryCause.RAIN_FUNDED.value, EntryCause.RAIN_RETURNED.value],
            rain_id,
        )
    finally:
        await conn.close()
    total, count = int(rain["total_fen"]), int(rain["count"])
    n = len(grants)
    fen = sum(int(g["amount_fen"]) for g in grants)
    stores = {int(g["store_id"]) for g in grants}
    expected = min(len(clients), count)
    funded = [int(p["amount"]) for p in party if p["cause"] == EntryCause.RAIN_FUNDED.value]
    back = [int(p["amount"]) for p in party if p["cause"] == EntryCause.RAIN_RETURNED.value]
    returned = int(rain["returned_fen"])
    by_store = {int(g["store_id"]): int(g["amount_fen"]) for g in grants}
    split_fen = json.loads(rain["packets"]) if isinstance(rain["packets"], str) else rain["packets"]
    slots = [int(g["slot"]) for g in grants]
    checks = [
        ("every grab acknowledged", acked == len(results), f"{acked} of {len(results)}"),
        (
            "grants == min(clients, packets)",
            n == expected,
            f"{n} grants, min({len(clients)}, {count}) = {expected}",
        ),
        (
            "sum of grants == total" if len(clients) >= count else "sum of grants <= total",
            fen == total if len(clients) >= count else fen <= total,
            f"{fen} of {total} fen",
        ),
        (
            "one grant per store, all clients",
            len(stores) == n and stores <= clients,
            f"{len(stores)} stores for {n} grants, {len(stores - clients)} not clients",
        ),
        (
            "ledger credits == the grants, once",
            int(credits["n"]) == n
            and int(credits["grants"]) == n
            and int(credits["fen"]) == fen
            and not int(credits["wrong"]),
            f"{credits['n']} credits for {credits['grants']} grants, {int(credits['fen'])} fen,"
            f" {credits['wrong']} wrong",
        ),
        (
            "each grant a packet of the split, once",
            len(set(slots)) == n
            and all(int(g["amount_fen"]) == split_fen[int(g["slot"])] for g in grants),
            f"{len(set(slots))} packets for {n} grants",
        ),
        (
            "rain counters == the grants",
            int(rain["granted_count"]) == n and int(rain["granted_fen"]) == fen,
            f"granted_count {rain['granted_count']}, granted_fen {rain['granted_fen']}",
        ),
        (
            "ended, returned == total - granted",
            rain["status"] == "ended" and returned == total - fen,
            f"{rain['status']}, returned {returned} = {total} - {fen}",
        ),
        (
            "distributor: funded once, return credited once",
            funded == [-total] and back == ([returned] if returned else []),
            f"funded {funded}, returned {back}",
        ),
        (
            "acknowledged wins == the grants",
            won == by_store,
            f"{len(won)} wins acknowledged, {sum(won.values())} fen",
        ),
    ]
    return checks


async def ledger_balances(platform: Platform) -> list[Any]:
    await init_db(platform.dsn)
    try:
        return list(await ledger_service.unbalanced_accounts())
    finally:
        await close_db()


# --- reporting -----------------------------------------------------------------------------


def describe(burst: Burst) -> str:
    return (
        f"{burst.per_second:7.0f} grabs/s over {burst.wall_s * 1000:7.1f} ms; ack p50"
        f" {burst.p(0.5):7.1f}  p99 {burst.p(0.99):7.1f}  max"
        f" {burst.latencies_ms[-1] if burst.latencies_ms else 0:7.1f} ms;"
        f" {dict(burst.outcomes)}"
    )


def print_round(done: Round) -> None:
    ours = done.ours
    print(
        f"  ours {describe(ours)}  (server CPU {ours.cpu_us_per_grab:.0f} us/grab; cores:"
        f" server {ours.server_cores:.2f}, postgres {ours.postgres_cores:.2f})"
    )
    print(f"  raw  {describe(done.raw)}")
    for name, ok, detail in done.checks:
        print(f"    {'ok      ' if ok else 'VIOLATED'} {name}: {detail}")
    if done.samples:
        shares = ", ".join(
            f"{state} {count / done.samples:.1f}" for state, count in done.activity.most_common()
        )
        print(f"  database backends, mean number per state during the burst: {shares}")
        for query, count in done.lock_queries.most_common(2):
            print(f"    lock waits on: {query!r} ({count / done.samples:.1f} on average)")


def report(
    rounds: list[Round], args: argparse.Namespace, stopped: str, unbalanced: list[Any]
) -> bool:
    def med(value: Any) -> float:
        return statistics.median(value(r) for r in rounds)

    print()
    print(
        f"SUMMARY: {rounds[0].clients:,} clients (of {args.clients:,} asked) grab"
        f" {args.packets:,} packets ({args.total_fen:,} fen) at once; median of {len(rounds)}"
        f" round(s); clients in {args.workers} processes"
        + (" on CPU 1, server on CPU 0" if args.pin else " (not pinned)")
    )
    print(
        f"{'':6}|{'grabs/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}|{'won':>6}{'empty':>7}"
        f"{'other':>7}|{'us/grab':>8}{'server':>7}{'pg':>6}"
    )
    for name in ("ours", "raw"):
        bursts = [r.ours if name == "ours" else r.raw for r in rounds]

        def mid(value: Any, bursts: list[Burst] = bursts) -> float:
            return statistics.median(value(b) for b in bursts)

        empty = mid(lambda b: b.outcomes["live.rain_empty"] + b.outcomes["empty"])
        won = mid(lambda b: b.outcomes["won"])
        other = mid(lambda b: sum(b.outcomes.values())) - won - empty
        cores = f"{'':21}"
        if name == "ours":
            cores = (
                f"{mid(lambda b: b.cpu_us_per_grab):8.0f}{mid(lambda b: b.server_cores):7.2f}"
                f"{mid(lambda b: b.postgres_cores):6.2f}"
            )
        print(
            f"{name:6}|{mid(lambda b: b.per_second):9.0f}{mid(lambda b: b.p(0.5)):9.1f}"
            f"{mid(lambda b: b.p(0.99)):9.1f}{mid(lambda b: b.latencies_ms[-1]):9.1f}"
            f"|{won:6.0f}{empty:7.0f}{other:7.0f}|{cores}"
        )
    ratio = med(lambda r: r.ours.per_second / r.raw.per_second)
    p99 = med(lambda r: r.ours.p(0.99))
    cpu_us = med(lambda r: r.ours.cpu_us_per_grab)
    clean = all(r.clean for r in rounds) and not unbalanced
    print(
        "grabs/s: acknowledgements over the whole burst (first send to last ack); raw: the grab"
        " script by EVALSHA, same keys, same processes and concurrency; us/grab: the server's"
        " CPU over the burst per grab acknowledged; server/pg: cores used"
    )
    print(
        f"server CPU per grab = {cpu_us:.0f} us (target <= {TARGET_CPU_US:.0f} us:"
        f" {'met' if cpu_us <= TARGET_CPU_US else 'MISSED'})"
    )
    print(
        f"ratio ours/raw grabs/s = {ratio:.3f} (target >= {TARGET_RATIO}:"
        f" {'met' if ratio >= TARGET_RATIO else 'MISSED'}); ack p99 = {p99:.1f} ms (target <="
        f" {TARGET_P99_MS:.0f} ms: {'met' if p99 <= TARGET_P99_MS else 'MISSED'})"
    )
    if stopped:
        print(f"LARGEST N REACHED: {rounds[0].clients:,} of {args.clients:,}: {stopped}")
    print(
        "ledger after the session ended: "
        + ("every account balances" if not unbalanced else f"VIOLATED: unbalanced {unbalanced}")
    )
    print(
        "Invariants: "
        + ("all held in every round" if clean else "VIOLATED (see the VIOLATED lines above)")
    )
    met = ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and cpu_us <= TARGET_CPU_US
    return clean and met and not stopped


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--packets", type=int, default=1000, help="packets per rain")
    parser.add_argument("--total-fen", type=int, default=500_000, help="money per rain")
    parser.add_argument("--rounds", type=int, default=2, help="rains, one after the other")
    parser.add_argument(
        "--rain-seconds", type=int, default=20, help="how long a rain is open (its timer)"
    )
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--step", type=int, default=250, help="clients added per ramp step")
    parser.add_argument("--parallel", type=int, default=100, help="connects/joins in flight")
    parser.add_argument(
        "--ramp-budget",
        type=float,
        default=200,
        help="seconds for the ramp; it stops before a step that would pass them",
    )
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="py-spy the server in round 1 (raw stacks)"
    )
    parser.add_argument("--profile-seconds", type=float, default=8)
    parser.add_argument(
        "--staging",
        action="store_true",
        help="against the running staging fleet (`make staging`): 2 realtime processes",
    )
    args = parser.parse_args()
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    args.pin = args.pin and not args.staging  # the fleet's processes are not ours to pin
    if args.redis_db in (14, 15):
        parser.error("Redis db 14 and 15 are the tests'; use another")
    if args.total_fen < args.packets:
        parser.error("--total-fen must give every packet at least 1 fen")
    return args


async def measure(
    platform: Platform, args: argparse.Namespace, port: int, server_pids: list[int]
) -> tuple[list[Round], str]:
    """The rounds, against the realtime process(es) answering on `port`."""
    fleet = Fleet(args.workers, {1} if args.pin else None)
    rounds: list[Round] = []
    try:
        room = Room(fleet, port, platform, server_pids[0])
        await room.open_host()
        print(f"server pid(s) {server_pids}; ramping to {args.clients:,} clients", flush=True)

        async def nothing(_: int) -> None:
            return None

        stopped = await ramp(
            room, [args.clients], args.step, args.parallel, args.ramp_budget, nothing
        )
        if not room.clients:
            raise RuntimeError(f"no client in the room: {stopped}")
        for number in range(args.rounds):
            print(f"round {number + 1}: {room.clients:,} clients, rain {platform.rain_ids[number]}")
            done = await run_round(room, fleet, platform, number, args, server_pids)
            print_round(done)
            rounds.append(done)
        if args.profile and args.profile.exists():
            print("\npy-spy profile of the server during round 1's burst:")
            print(summarize_profile(args.profile))
        ended = await room.host.call("host:end", {}) if room.host else None
        if not (ended or {}).get("ok"):
            print(f"host:end refused: {ended}")
        await room.close()
    finally:
        await fleet.close()
    return rounds, stopped


async def measure_local(
    platform: Platform, args: argparse.Namespace
) -> tuple[list[Round], str, list[Any]]:
    """A realtime process of our own (embedded-mode settings), pinned to CPU 0."""
    port = free_port()
    log = platform.tmp / "realtime.log"
    server = start_ours(platform, port, log)
    try:
        await asyncio.to_thread(wait_sio_ready, port, server, log)
        if args.pin:
            os.sched_setaffinity(server.pid, {0})
        rounds, stopped = await measure(platform, args, port, [server.pid])
    finally:
        kill_server(server)
    return rounds, stopped, await ledger_balances(platform)


def rain_plan(args: argparse.Namespace) -> list[dict[str, int]]:
    rain = {
        "total_fen": args.total_fen,
        "count": args.packets,
        "duration_seconds": args.rain_seconds,
    }
    return [dict(rain) for _ in range(args.rounds)]


async def measure_staging(args: argparse.Namespace) -> tuple[list[Round], str, list[Any]]:
    """The staging fleet that `make staging` brought up: its database and Redis, the clients
    through its nginx (which spreads websockets over both realtime processes with
    least_conn), the CPU of both realtime processes. Seeds --clients stores and a session
    with the rains in the fleet's database, as bench/fleet_capacity.py does; the database
    stays (it is the fleet's)."""
    platform = await staging_platform(args.clients, rain_plan(args))
    print(
        f"staging fleet: seeded {args.clients:,} stores, session {platform.session_id},"
        f" rains {platform.rain_ids}; clients through nginx on port {fleet.NGINX_PORT}",
        flush=True,
    )
    realtime = [pid for name, pid in fleet.load_pids().items() if name.startswith("realtime-")]
    rounds, stopped = await measure(platform, args, fleet.NGINX_PORT, sorted(realtime))
    return rounds, stopped, await ledger_balances(platform)


def main() -> int:
    args = parse_args()
    raise_fd_limit()
    if args.pin:
        os.sched_setaffinity(0, {1})
    if args.staging:
        rounds, stopped, unbalanced = asyncio.run(measure_staging(args))
        return 0 if report(rounds, args, stopped, unbalanced) else 1
    platform = make_platform("rain", args.redis_db)
    passed = False
    try:
        seed_platform(platform, args.clients, rain_plan(args))
        rounds, stopped, unbalanced = asyncio.run(measure_local(platform, args))
        passed = report(rounds, args, stopped, unbalanced)
    finally:
        cleanup_platform(platform)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
