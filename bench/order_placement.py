"""Order placement throughput (quote, reserve and create) with 50 concurrent clients on
PostgreSQL, against the same transaction written in raw asyncpg in the same run.
Target: ours / raw asyncpg >= 0.5.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it and
   seeds the demo data (`b2bc demo`), with Redis at 127.0.0.1:6379 db 13;
2. ends the promotions the demo runs (the baseline prices without promotions) and adds its
   own catalog through the catalog services, as the demo's brand admin: --skus SKUs
   (two per product), brand-wide, tier and distributor price entries (so quotes pick among
   tiers), and 10^7 units of every SKU at every distributor, so no order fails for stock;
   then --stores stores spread over the demo's distributors and tiers, each with a store
   owner (user, membership, auth session) whose access token is minted with the API's JWT
   secret (the WeChat sandbox login is slow and rate-limited);
3. starts, each in its own process and both single-worker on Sanic's own server,
   `b2bc serve --workers 1` (Tortoise, pool of --pool connections) and bench/order_baseline.py
   (bare Sanic, the same work in raw asyncpg, one transaction, same pool size);
4. checks that both price the same order identically and replay a repeated key;
5. loads them alternately, round after round, each after a warm-up, with the same client:
   --connections keep-alive connections (split over --client-procs processes), each sending
   `POST /api/v1/orders` with a fresh Idempotency-Key, the next store's token, and two
   random distinct SKUs of 1-3 units. When the time is up every connection finishes the
   request it has in flight, so each 201 counted is an order and nothing is cut off;
6. after every measurement checks invariants in the database: orders created == 201s,
   each with two lines and one event; every (distributor, SKU) stock went down by exactly
   the quantities ordered; no idempotency claim is left without its answer;
7. prints median orders/s and latency p50/p99 of each, the ratio ours/baseline against the
   target, and drops the database.

Servers are pinned to CPU 0 and the client to CPU 1; PostgreSQL and Redis float. All traffic
goes to 127.0.0.1. Run from the project root:

    .venv/bin/python bench/order_placement.py                     # 3 rounds of 10 s
    .venv/bin/python bench/order_placement.py --duration 5 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from bench_common import (
    HOST,
    ROOT,
    b2bc_command,
    cpu_delta,
    create_database,
    drop_database,
    exchange,
    free_port,
    machine_busy_seconds,
    percentile,
    pin,
    postgres_cpu_seconds,
    request_bytes,
    server_env,
    start_profile,
    start_server,
    stop_server,
    summarize_profile,
    tree_cpu_seconds,
    wait_ready,
)

from backend.catalog import service as catalog_service
from backend.config import load_settings
from backend.identity import service as identity_service
from backend.identity.models import AuthSession, Membership, Role, User
from backend.identity.tokens import Principal, issue_access_token
from backend.infra import db
from backend.org.models import Distributor, Store
from backend.promotions import service as promotions_service

BASELINE_APP = Path(__file__).resolve().parent / "order_baseline.py"
REDIS_URL = f"redis://{HOST}:6379/13"
TARGET_RATIO = 0.5
ORDERS_PATH = "/api/v1/orders"
STOCK = 10**7
TIERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Fixture:
    tokens: list[str]
    sku_ids: list[int]


@dataclass(frozen=True)
class Measurement:
    created: int  # 201s
    seconds: float
    p50_ms: float
    p99_ms: float
    other: dict[int, int]  # status -> count, anything but 201
    errors: int
    sample: str  # one refused answer, for the log
    server_cpu: float = 0.0  # cores used by the server under test during the run
    postgres_cpu: float = 0.0  # cores used by PostgreSQL during the run
    client_cpu: float = 0.0  # cores used by the load generator
    other_cpu: float = 0.0  # cores used by everything else on the machine (noise)

    @property
    def rate(self) -> float:
        return self.created / self.seconds

    @property
    def cpu_ms_per_order(self) -> float:
        return 1000 * self.server_cpu * self.seconds / max(self.created, 1)


# --- setup ---------------------------------------------------------------------------------


async def seed(database_url: str, jwt_secret: str, args: argparse.Namespace) -> Fixture:
    """Catalog, stock, stores and store owners' tokens, through the services and models."""
    await db.init_db(database_url)
    try:
        admin = await Membership.filter(role=Role.BRAND_ADMIN.value).order_by("id").first()
        if admin is None:
            raise RuntimeError("the demo data has no brand admin")
        brand_id: int = admin.brand_id  # type: ignore[attr-defined]
        acting = Principal(
            user_id=admin.user_id,  # type: ignore[attr-defined]
            session_id="bench",
            role=Role.BRAND_ADMIN.value,
            brand_id=brand_id,
        )
        # The demo runs promotions; the raw-asyncpg baseline knows none, so they are ended.
        running = await promotions_service.list_promotions(
            acting, status="active", before=None, limit=100
        )
        for promotion in running:
            await promotions_service.move_promotion(
                acting, promotion["id"], "end", now=datetime.now(UTC)
            )
        distributors = list(
            await Distributor.filter(brand_id=brand_id).order_by("id").values_list("id", flat=True)
        )
        if not distributors:
            raise RuntimeError("the demo data has no distributor")
        category = await catalog_service.create_category(
            acting, name="压测分类", parent_id=None, sort=0
        )
        sku_ids: list[int] = []
        for number in range((args.skus + 1) // 2):
            product = await catalog_service.create_product(
                acting,
                category_id=category["id"],
                name=f"压测净水器{number:02d}",
                description="bench",
                skus=[
                    {
                        "name": f"型号{number:02d}-{variant}",
                        "spec": variant,
                        "unit": "台",
                        "barcode": None,
                        "list_price_fen": 100_000 + 1_000 * number + 500 * index,
                        "case_size": 1,
                        "min_order_qty": 1,
                    }
                    for index, variant in enumerate(("标准", "增强"))
                ],
            )
            sku_ids += [sku["id"] for sku in product["skus"]]
        sku_ids = sku_ids[: args.skus]
        for sku_id in sku_ids:
            entries = [
                (None, None, 1, 95_000),
                (None, None, 3, 90_000),
                (None, "A", 1, 88_000),
                (distributors[0], None, 2, 85_000),
            ]
            for distributor_id, tier, min_qty, price in entries:
                await catalog_service.add_price_entry(
                    acting,
                    sku_id=sku_id,
                    distributor_id=distributor_id,
                    store_tier=tier,
                    min_qty=min_qty,
                    unit_price_fen=price + sku_id,
                )
            for distributor_id in distributors:
                await catalog_service.adjust_stock(acting, distributor_id, sku_id, delta=STOCK)

        now = datetime.now(UTC)
        tokens = []
        for number in range(args.stores):
            store = await Store.create(
                brand_id=brand_id,
                name=f"压测门店{number:03d}",
                contact_name="压测",
                phone=f"1360000{number:04d}",
                address=f"压测路{number}号",
                distributor_id=distributors[number % len(distributors)],
                tier=TIERS[number % len(TIERS)],
            )
            user = await User.create(display_name=f"压测店主{number:03d}")
            await Store.filter(id=store.id).update(owner_id=user.id)
            membership = await identity_service.grant_membership(
                user.id, Role.STORE_OWNER, brand_id, store_id=store.id
            )
            session = await AuthSession.create(
                id=uuid.uuid4(),
                user=user,
                membership=membership,
                client="bench",
                expires_at=now + timedelta(days=1),
            )
            principal = Principal(
                user_id=user.id,
                session_id=str(session.id),
                role=Role.STORE_OWNER.value,
                membership_id=membership.id,
                brand_id=brand_id,
                store_id=store.id,
            )
            tokens.append(
                issue_access_token(principal, secret=jwt_secret, now=now, ttl_seconds=7200)
            )
        return Fixture(tokens=tokens, sku_ids=sku_ids)
    finally:
        await db.close_db()


# --- the load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    port: int
    tokens: list[str]
    sku_ids: list[int]
    connections: int
    seconds: float
    key_prefix: str
    seed: int


def order_body(rng: random.Random, sku_ids: list[int]) -> bytes:
    first, second = rng.sample(sku_ids, 2)
    lines = [
        {"sku_id": first, "quantity": rng.randint(1, 3)},
        {"sku_id": second, "quantity": rng.randint(1, 3)},
    ]
    return json.dumps({"lines": lines}, separators=(",", ":")).encode()


async def _load(job: Job) -> tuple[list[float], Counter[int], int, float, str, float]:
    rng = random.Random(job.seed)
    created: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    sample = ""
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + job.seconds

    async def one_connection(number: int) -> None:
        nonlocal errors, sample
        try:
            reader, writer = await asyncio.open_connection(HOST, job.port)
        except OSError:
            errors += 1
            return
        sent = 0
        try:
            while time.perf_counter() < deadline:
                token = job.tokens[(number + sent) % len(job.tokens)]
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"{job.key_prefix}-{number}-{sent}",
                }
                body = order_body(rng, job.sku_ids)
                request = request_bytes("POST", ORDERS_PATH, job.port, headers, body)
                result = await exchange(reader, writer, request)
                sent += 1
                statuses[result.status] += 1
                if result.status == 201:
                    created.append(result.seconds)
                elif not sample:
                    sample = f"{result.status} {result.body[:300].decode(errors='replace')}"
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(one_connection(number) for number in range(job.connections)))
    elapsed = time.perf_counter() - start
    return created, statuses, errors, elapsed, sample, time.process_time() - cpu_start


def _worker(job: Job) -> tuple[list[float], Counter[int], int, float, str, float]:
    return asyncio.run(_load(job))


def measure(
    port: int,
    fixture: Fixture,
    args: argparse.Namespace,
    seconds: float,
    label: str,
    server_pid: int | None = None,
    database: str = "",
) -> Measurement:
    procs = args.client_procs
    base = args.connections // procs
    jobs = []
    for index in range(procs):
        connections = base + (1 if index < args.connections % procs else 0)
        tokens = fixture.tokens[index::procs] or fixture.tokens
        prefix = f"{label}-{uuid.uuid4().hex[:12]}-{index}"
        jobs.append(Job(port, tokens, fixture.sku_ids, connections, seconds, prefix, index))
    with multiprocessing.Pool(procs) as pool:
        cpu_before = tree_cpu_seconds(server_pid) if server_pid else 0.0
        pg_before = postgres_cpu_seconds(database)
        busy_before = machine_busy_seconds()
        started = time.perf_counter()
        results = pool.map(_worker, jobs)
        wall = time.perf_counter() - started
        server_cpu = (tree_cpu_seconds(server_pid) - cpu_before) / wall if server_pid else 0.0
        postgres_cpu = cpu_delta(pg_before, postgres_cpu_seconds(database)) / wall
        busy = (machine_busy_seconds() - busy_before) / wall
    client_cpu = sum(result[5] for result in results) / wall
    latencies = sorted(value for result in results for value in result[0])
    statuses: Counter[int] = sum((result[1] for result in results), Counter())
    created = statuses.pop(201, 0)
    return Measurement(
        created=created,
        seconds=max(result[3] for result in results),
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        other=dict(statuses),
        errors=sum(result[2] for result in results),
        sample=next((result[4] for result in results if result[4]), ""),
        server_cpu=server_cpu,
        postgres_cpu=postgres_cpu,
        client_cpu=client_cpu,
        other_cpu=max(0.0, busy - server_cpu - postgres_cpu - client_cpu),  # + PG's own
    )


# --- invariants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    max_order_id: int
    stock: dict[tuple[int, int], int]


async def snapshot(dsn: str) -> Snapshot:
    conn = await asyncpg.connect(dsn)
    try:
        max_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM orders")
        rows = await conn.fetch("SELECT distributor_id, sku_id, stock FROM distributor_skus")
    finally:
        await conn.close()
    return Snapshot(max_id, {(r["distributor_id"], r["sku_id"]): r["stock"] for r in rows})


async def check_invariants(
    dsn: str, before: Snapshot, created: int, seeded_orders: int
) -> list[str]:
    """Problems found since `before` (an empty list when everything holds)."""
    conn = await asyncpg.connect(dsn)
    try:
        since = before.max_order_id
        orders = await conn.fetchval("SELECT count(*) FROM orders WHERE id > $1", since)
        lines = await conn.fetchval("SELECT count(*) FROM order_lines WHERE order_id > $1", since)
        events = await conn.fetchval(
            "SELECT count(*) FROM order_events WHERE order_id > $1"
            " AND from_status IS NULL AND to_status = 'pending_payment'",
            since,
        )
        ordered = {
            (r["distributor_id"], r["sku_id"]): r["quantity"]
            for r in await conn.fetch(
                "SELECT o.distributor_id, l.sku_id, sum(l.quantity)::bigint AS quantity"
                " FROM order_lines l JOIN orders o ON o.id = l.order_id"
                " WHERE o.id > $1 GROUP BY 1, 2",
                since,
            )
        }
        after = await snapshot(dsn)
        dangling = await conn.fetchval(
            "SELECT count(*) FROM idempotency_records WHERE response_status IS NULL"
        )
        answered = await conn.fetchval(
            "SELECT count(*) FROM idempotency_records"
            " WHERE scope = 'order.place' AND response_status = 201"
        )
        total_orders = await conn.fetchval("SELECT count(*) FROM orders")
    finally:
        await conn.close()
    problems = []
    if orders != created:
        problems.append(f"{orders} orders created but {created} answered 201")
    if lines != 2 * orders:
        problems.append(f"{lines} order lines for {orders} two-line orders")
    if events != orders:
        problems.append(f"{events} first events for {orders} orders")
    taken = {key: before.stock[key] - after.stock.get(key, 0) for key in before.stock}
    wrong = [
        f"{key}: stock -{taken[key]}, ordered {ordered.get(key, 0)}"
        for key in before.stock
        if taken[key] != ordered.get(key, 0)
    ]
    if wrong:
        problems.append(f"stock moved by other than the ordered quantities: {wrong[:5]}")
    if any(value < 0 for value in after.stock.values()):
        problems.append("negative stock")
    if dangling:
        problems.append(f"{dangling} idempotency claims without an answer")
    # the demo's own orders were placed by its seeder, with no Idempotency-Key
    if answered != total_orders - seeded_orders:
        problems.append(
            f"{answered} stored 201 answers for {total_orders - seeded_orders} orders placed"
        )
    return problems


async def count_orders(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM orders"))
    finally:
        await conn.close()


# --- checks before measuring ---------------------------------------------------------------


def post_order(port: int, token: str, key: str, body: bytes) -> tuple[int, dict[str, object]]:
    async def run() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                "Connection": "close",
            }
            result = await exchange(
                reader, writer, request_bytes("POST", ORDERS_PATH, port, headers, body)
            )
            return result.status, result.body
        finally:
            writer.close()

    status, raw = asyncio.run(run())
    return status, json.loads(raw)


def precheck(ours: int, baseline: int, fixture: Fixture) -> None:
    """Both price the same orders alike and replay a repeated key; raises when not."""
    rng = random.Random(7)
    for index, token in enumerate(fixture.tokens[:4]):
        body = order_body(rng, fixture.sku_ids)
        answers = {}
        for name, port in (("ours", ours), ("baseline", baseline)):
            key = f"precheck-{name}-{index}"
            status, first = post_order(port, token, key, body)
            if status != 201:
                raise RuntimeError(f"{name} answered {status} to a valid order: {first}")
            again_status, again = post_order(port, token, key, body)
            if again_status != 201 or again["id"] != first["id"]:
                raise RuntimeError(f"{name} did not replay key {key}: {again_status} {again}")
            answers[name] = first
        priced = {
            name: (
                answer["payable_fen"],
                answer["list_amount_fen"],
                [(x["sku_id"], x["quantity"], x["unit_price_fen"]) for x in answer["lines"]],  # type: ignore[attr-defined]
            )
            for name, answer in answers.items()
        }
        if priced["ours"] != priced["baseline"]:
            raise RuntimeError(f"ours and the baseline price {body!r} differently: {priced}")


# --- reporting -----------------------------------------------------------------------------


def describe(m: Measurement) -> str:
    text = (
        f"{m.rate:8.1f} orders/s  p50 {m.p50_ms:7.1f} ms  p99 {m.p99_ms:7.1f} ms"
        f"  ({m.created} x 201 in {m.seconds:.1f} s; cores: server {m.server_cpu:.2f},"
        f" postgres backends {m.postgres_cpu:.2f}, client {m.client_cpu:.2f},"
        f" other {m.other_cpu:.2f};"
        f" server CPU {m.cpu_ms_per_order:.2f} ms/order)"
    )
    if m.other or m.errors:
        text += f"  !! other statuses {m.other}, {m.errors} socket errors; e.g. {m.sample}"
    return text


def report(results: dict[str, list[Measurement]], args: argparse.Namespace, clean: bool) -> None:
    print()
    print(
        f"Median of {args.rounds} round(s) of {args.duration} s; {args.connections} connections"
        f" from {args.client_procs} client processes; DB pool {args.pool} per server;"
        f" {args.stores} stores, {args.skus} SKUs, 2 lines per order."
    )
    print(f"{'':9} {'server':46} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/order':>13}")
    labels = {
        "ours": "b2bc serve --workers 1 (Sanic + Tortoise)",
        "baseline": "bare Sanic + raw asyncpg, one transaction",
    }
    rates = {name: statistics.median(m.rate for m in runs) for name, runs in results.items()}
    for name, runs in results.items():
        print(
            f"{name:9} {labels[name]:46} {rates[name]:9.1f}"
            f" {statistics.median(m.p50_ms for m in runs):8.1f}"
            f" {statistics.median(m.p99_ms for m in runs):8.1f}"
            f" {statistics.median(m.cpu_ms_per_order for m in runs):13.2f}"
        )
    ratio = rates["ours"] / rates["baseline"]
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print()
    print(
        f"RATIO order placement ours / raw asyncpg = {ratio:.2f}x "
        f"({verdict} the target of >= {TARGET_RATIO}x)"
    )
    cpu_ratio = statistics.median(m.cpu_ms_per_order for m in results["baseline"]) / max(
        statistics.median(m.cpu_ms_per_order for m in results["ours"]), 1e-9
    )
    print(
        f"Server CPU per order, baseline / ours = {cpu_ratio:.2f}x (the ratio ours would reach"
        " if both servers had a core to themselves)"
    )
    print(
        "Invariants (orders == 201s, 2 lines + 1 event each, stock down by exactly the ordered"
        f" quantities, no dangling idempotency claim): {'all held' if clean else 'VIOLATED'}"
    )
    placement = "servers pinned to CPU 0, client to CPU 1" if args.pin else "not pinned"
    other = statistics.median(m.other_cpu for runs in results.values() for m in runs)
    if other > 0.2:
        print(f"WARNING: other processes used a median {other:.2f} cores during the runs.")
    print(
        f"Note: {os.cpu_count()} cores shared by the server under test, the client, PostgreSQL"
        f" and Redis ({placement}); compare ratios, not absolute figures."
    )


def profile(pid: int, port: int, fixture: Fixture, args: argparse.Namespace, database: str) -> None:
    spy = start_profile(pid, args.duration, args.profile)
    if spy is None:
        return
    time.sleep(1)  # py-spy attaches
    m = measure(port, fixture, args, args.duration, "profiled", pid, database)
    spy.wait(timeout=args.duration + 60)
    print()
    print(f"profiled run of ours (py-spy slows it): {describe(m)}")
    print(summarize_profile(args.profile))
    print(f"raw stacks: {args.profile}")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--pool", type=int, default=5, help="DB connections per server")
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--skus", type=int, default=20)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="after the rounds, load ours once more under py-spy; write its raw stacks to FILE",
    )
    args = parser.parse_args()
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    if args.skus < 2:
        parser.error("--skus must be at least 2")
    return args


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="b2bc-bench-orders-"))
    database = f"b2bc_bench_orders_{os.getpid()}"
    dsn = f"postgres://postgres@{HOST}:5432/{database}"
    api_port, baseline_port = free_port(), free_port()
    env = server_env(
        database=database,
        data_dir=tmp / "data",
        port=api_port,
        redis_url=REDIS_URL,
        extra_db_params=f"minsize=1&maxsize={args.pool}",
    )
    servers: list[subprocess.Popen[bytes]] = []
    clean = True
    try:
        settings = load_settings(env)  # writes the secrets both servers read
        asyncio.run(create_database(database))
        print(f"database {database}: migrating and seeding demo data ...", flush=True)
        subprocess.run(
            b2bc_command("demo"), cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        print(f"adding {args.skus} SKUs with stock and {args.stores} stores with owners ...")
        fixture = asyncio.run(seed(dsn, settings.jwt_secret, args))
        seeded_orders = asyncio.run(count_orders(dsn))

        api_log, baseline_log = tmp / "api.log", tmp / "baseline.log"
        api = start_server(b2bc_command("serve", "--workers", "1"), env, api_log)
        servers.append(api)
        baseline_command = [sys.executable, str(BASELINE_APP), "--port", str(baseline_port)]
        baseline_command += ["--dsn", dsn, "--data-dir", str(tmp / "data")]
        baseline_command += ["--pool", str(args.pool)]
        baseline = start_server(baseline_command, env, baseline_log)
        servers.append(baseline)
        wait_ready(f"http://{HOST}:{api_port}/healthz", api, api_log)
        wait_ready(f"http://{HOST}:{baseline_port}/", baseline, baseline_log)
        if args.pin:
            for server in servers:
                pin(server, 0)
            os.sched_setaffinity(0, {1})  # the client processes inherit it

        precheck(api_port, baseline_port, fixture)
        print("precheck: both servers price identically and replay a repeated key")
        targets = {"ours": api_port, "baseline": baseline_port}
        pids = {"ours": api.pid, "baseline": baseline.pid}
        print(f"warm-up {args.warmup} s per server ...", flush=True)
        for name, port in targets.items():
            measure(port, fixture, args, args.warmup, f"warm-{name}")
        results: dict[str, list[Measurement]] = {name: [] for name in targets}
        for round_number in range(1, args.rounds + 1):
            for name, port in targets.items():
                before = asyncio.run(snapshot(dsn))
                label = f"r{round_number}-{name}"
                m = measure(port, fixture, args, args.duration, label, pids[name], database)
                problems = asyncio.run(check_invariants(dsn, before, m.created, seeded_orders))
                results[name].append(m)
                state = "invariants ok" if not problems else "INVARIANTS: " + "; ".join(problems)
                print(f"round {round_number} {name:8} {describe(m)}  [{state}]", flush=True)
                clean = clean and not problems and not m.other and not m.errors
        report(results, args, clean)
        if args.profile:
            profile(api.pid, api_port, fixture, args, database)
    finally:
        for server in servers:
            stop_server(server)
        asyncio.run(drop_database(database))
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
