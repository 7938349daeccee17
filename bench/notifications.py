"""Notification handling under 200 concurrent WeChat Pay notifications.
Target: p99 <= 200 ms.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it and
   seeds the demo data (`b2bc demo`), with Redis at 127.0.0.1:6379 db 14; the WeChat Pay
   sandbox keys are made in the data folder (`wechat_pay_sandbox.json`), which
   `b2bc serve --workers 1` (embedded mode, pinned to CPU 0) trusts;
2. for every round (and a small warm-up), creates --count pending orders (one line each) with
   an open WeChat payment each (out_trade_no, sp_mchid, the distributor's sub_mchid, amount),
   as `POST /orders/<id>/pay` leaves them;
3. builds one TRANSACTION.SUCCESS notification per payment exactly as the sandbox sends it
   (backend.integrations.wechat.sandbox.pay: `_transaction_resource`, `_queue_notification`
   for the AES-GCM-encrypted envelope, `_signed_headers` for the platform's RSA signature);
4. opens --count connections, then sends all the notifications at once to
   `POST /api/v1/payments/wechat/notify` and times each from its write to the end of the
   answer (expected: 204); then replays all of them at once (duplicates, as WeChat retries);
5. checks that every order moved to paid exactly once (one pending_payment -> paid event),
   every payment succeeded once (one `succeeded` payment event) with WeChat's transaction id;
6. prints per round and as medians p50/p95/p99/max and throughput for first deliveries and
   duplicates, and the verdict against the target, then drops the database.

With --statements the server reaches PostgreSQL through bench/sql_counter.py, and the SQL
statements per notification are printed (first deliveries and duplicates), with the ones
each first delivery sends: the figure to compare across commits on a noisy machine, where
CPU and latency are not. The proxy adds a hop to every statement, so the latencies of such
a run are not comparable with a run without it.

All traffic goes to 127.0.0.1; the client runs on CPU 1. Run from the project root:

    .venv/bin/python bench/notifications.py              # 3 rounds of 200
    .venv/bin/python bench/notifications.py --rounds 1 --profile /tmp/notify.pyspy
    .venv/bin/python bench/notifications.py --rounds 1 --statements
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from sql_counter import StatementCounter

from backend.config import SANDBOX_SP_MCHID, load_settings
from backend.integrations.wechat.pay import SandboxKeys
from backend.integrations.wechat.sandbox.pay import (
    PaySandboxState,
    SandboxTransaction,
    _queue_notification,
    _signed_headers,
    _transaction_resource,
)

REDIS_URL = f"redis://{HOST}:6379/14"
NOTIFY_PATH = "/api/v1/payments/wechat/notify"
TARGET_P99_MS = 200.0
FALLBACK_SUB_MCHID = "1900000101"


# --- orders with open payments -------------------------------------------------------------


@dataclass(frozen=True)
class OpenPayment:
    order_id: int
    out_trade_no: str
    sub_mchid: str
    amount_fen: int


async def create_open_payments(dsn: str, count: int, tag: str) -> list[OpenPayment]:
    """`count` pending orders, each with one line and an open WeChat payment."""
    conn = await asyncpg.connect(dsn)
    try:
        stores = await conn.fetch(
            "SELECT s.id, s.brand_id, s.distributor_id, s.salesperson_id,"
            " coalesce(d.wechat_sub_mchid, $1) AS sub_mchid"
            " FROM stores s JOIN distributors d ON d.id = s.distributor_id ORDER BY s.id",
            FALLBACK_SUB_MCHID,
        )
        placed_by = await conn.fetchval("SELECT min(user_id) FROM memberships")
        if not stores or placed_by is None:
            raise RuntimeError("the demo data has no stores or users")
        sku_id = await ensure_sku(conn, stores[0]["brand_id"])
        now = datetime.now(UTC)
        payments = []
        async with conn.transaction():
            for number in range(count):
                store = stores[number % len(stores)]
                amount = 10_000 + 37 * number
                order_id = await conn.fetchval(
                    "INSERT INTO orders (order_no, brand_id, distributor_id, store_id,"
                    " salesperson_id, placed_by_id, channel, status, list_amount_fen,"
                    " discount_fen, payable_fen, pay_deadline, created_at, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, 'self', 'pending_payment', $7, 0, $7,"
                    " $8, $9, $9) RETURNING id",
                    f"{tag}{number:06d}",
                    store["brand_id"],
                    store["distributor_id"],
                    store["id"],
                    store["salesperson_id"],
                    placed_by,
                    amount,
                    now + timedelta(minutes=30),
                    now,
                )
                await conn.execute(
                    "INSERT INTO order_lines (order_id, sku_id, product_name, sku_name, unit,"
                    " quantity, list_unit_price_fen, unit_price_fen, list_amount_fen,"
                    " discount_fen, payable_fen) VALUES ($1, $2, '压测净水器', '标准', '台',"
                    " 1, $3, $3, $3, 0, $3)",
                    order_id,
                    sku_id,
                    amount,
                )
                await conn.execute(
                    "INSERT INTO order_events (order_id, actor_id, actor_role, from_status,"
                    " to_status, note, created_at)"
                    " VALUES ($1, $2, 'store_owner', NULL, 'pending_payment', '', $3)",
                    order_id,
                    placed_by,
                    now,
                )
                out_trade_no = f"P{tag}{number:06d}"
                await conn.execute(
                    "INSERT INTO payments (order_id, method, status, amount_fen,"
                    " refund_reserved_fen, out_trade_no, sp_mchid, sub_mchid, prepay_id, note,"
                    " created_at, updated_at)"
                    " VALUES ($1, 'wechat', 'open', $2, 0, $3, $4, $5, $6, '', $7, $7)",
                    order_id,
                    amount,
                    out_trade_no,
                    SANDBOX_SP_MCHID,
                    store["sub_mchid"],
                    f"wx{secrets.token_hex(14)}",
                    now,
                )
                payments.append(OpenPayment(order_id, out_trade_no, store["sub_mchid"], amount))
        return payments
    finally:
        await conn.close()


async def ensure_sku(conn: asyncpg.Connection, brand_id: int) -> int:
    """A SKU for the order lines (the demo may or may not have a catalog)."""
    sku_id = await conn.fetchval("SELECT min(id) FROM skus WHERE brand_id = $1", brand_id)
    if sku_id is not None:
        return int(sku_id)
    category = await conn.fetchval(
        "INSERT INTO categories (brand_id, name, sort) VALUES ($1, '压测分类', 0) RETURNING id",
        brand_id,
    )
    product = await conn.fetchval(
        "INSERT INTO products (brand_id, category_id, name, description, images, is_active,"
        " created_at) VALUES ($1, $2, '压测净水器', '', '[]', true, now()) RETURNING id",
        brand_id,
        category,
    )
    return int(
        await conn.fetchval(
            "INSERT INTO skus (brand_id, product_id, name, spec, unit, list_price_fen,"
            " case_size, min_order_qty, is_active, created_at)"
            " VALUES ($1, $2, '标准', '', '台', 10000, 1, 1, true, now()) RETURNING id",
            brand_id,
            product,
        )
    )


# --- notifications as the sandbox sends them -----------------------------------------------


class _OutboxOnly(PaySandboxState):
    """The sandbox's state, minus delivery: we deliver the notifications ourselves."""

    def spawn(self, work: Any) -> None:
        work.close()


def build_notifications(
    keys: SandboxKeys, appid: str, port: int, payments: list[OpenPayment]
) -> list[bytes]:
    """One signed HTTP request per payment, byte for byte what the sandbox would POST."""
    state = _OutboxOnly(keys, SANDBOX_SP_MCHID, appid)
    url = f"http://{HOST}:{port}{NOTIFY_PATH}"
    requests = []
    for payment in payments:
        tx = SandboxTransaction(
            sp_appid=appid,
            sub_mchid=payment.sub_mchid,
            sub_appid=None,
            out_trade_no=payment.out_trade_no,
            description="订货单",
            total=payment.amount_fen,
            payer={"sp_openid": f"o{secrets.token_hex(13)}"},
            notify_url=url,
            time_expire=None,
            prepay_id=f"wx{secrets.token_hex(14)}",
            trade_state="SUCCESS",
            transaction_id="42000" + "".join(secrets.choice("0123456789") for _ in range(23)),
            success_time=state.now_datetime(),
        )
        notification = _queue_notification(
            state,
            url=url,
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            subject=tx.out_trade_no,
            resource=_transaction_resource(state, tx),
        )
        headers = _signed_headers(keys, int(state.now()), notification.body)
        headers["Content-Type"] = "application/json"
        body = notification.body.encode()
        requests.append(request_bytes("POST", NOTIFY_PATH, port, headers, body))
    return requests


# --- the burst -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    latencies_ms: list[float]  # sorted
    wall_s: float
    statuses: dict[int, int]
    errors: int
    server_cpu: float = 0.0  # cores
    postgres_cpu: float = 0.0
    other_cpu: float = 0.0
    statements: Counter[str] | None = None  # by text, with --statements

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s

    @property
    def cpu_ms_each(self) -> float:
        """Server CPU per notification: the burst needs count x this on one core, at least."""
        return 1000 * self.server_cpu * self.wall_s / max(len(self.latencies_ms), 1)

    def p(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)

    @property
    def statements_each(self) -> float | None:
        if self.statements is None:
            return None
        return self.statements.total() / max(len(self.latencies_ms), 1)


async def fire(port: int, requests: list[bytes], server_pid: int, database: str) -> Burst:
    """Open one connection per request, then send them all at once."""
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for start in range(0, len(requests), 50):  # stay within the listen backlog
        batch = requests[start : start + 50]
        connections += await asyncio.gather(*(asyncio.open_connection(HOST, port) for _ in batch))
    go = asyncio.Event()
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    errors = 0

    async def one(index: int) -> None:
        nonlocal errors
        reader, writer = connections[index]
        await go.wait()
        try:
            result = await exchange(reader, writer, requests[index])
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors += 1
            print(f"  socket error: {exc!r}")
            return
        finally:
            writer.close()
        statuses[result.status] = statuses.get(result.status, 0) + 1
        latencies.append(result.seconds * 1000)
        if result.status != 204 and statuses[result.status] == 1:
            print(f"  unexpected {result.status}: {result.body[:300]!r}")

    tasks = [asyncio.create_task(one(index)) for index in range(len(requests))]
    await asyncio.sleep(0.05)  # every task is waiting on the event
    cpu_before, pg_before = tree_cpu_seconds(server_pid), postgres_cpu_seconds(database)
    busy_before, process_before = machine_busy_seconds(), time.process_time()
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    server = (tree_cpu_seconds(server_pid) - cpu_before) / wall
    postgres = cpu_delta(pg_before, postgres_cpu_seconds(database)) / wall
    client = (time.process_time() - process_before) / wall
    busy = (machine_busy_seconds() - busy_before) / wall
    return Burst(
        sorted(latencies),
        wall,
        statuses,
        errors,
        server,
        postgres,
        max(0.0, busy - server - postgres - client),
    )


# --- invariants ----------------------------------------------------------------------------


async def check_applied_once(dsn: str, payments: list[OpenPayment]) -> list[str]:
    order_ids = [p.order_id for p in payments]
    conn = await asyncpg.connect(dsn)
    try:
        paid_events = await conn.fetch(
            "SELECT order_id, count(*) AS n FROM order_events WHERE order_id = ANY($1::bigint[])"
            " AND to_status = 'paid' GROUP BY order_id",
            order_ids,
        )
        orders_paid = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE id = ANY($1::bigint[]) AND status = 'paid'",
            order_ids,
        )
        payments_ok = await conn.fetchval(
            "SELECT count(*) FROM payments WHERE order_id = ANY($1::bigint[])"
            " AND status = 'succeeded' AND transaction_id IS NOT NULL",
            order_ids,
        )
        succeeded_events = await conn.fetch(
            "SELECT p.id, count(e.id) AS n FROM payments p"
            " LEFT JOIN payment_events e ON e.payment_id = p.id AND e.kind = 'succeeded'"
            " WHERE p.order_id = ANY($1::bigint[]) GROUP BY p.id",
            order_ids,
        )
        refunds = await conn.fetchval(
            "SELECT count(*) FROM refunds WHERE order_id = ANY($1::bigint[])", order_ids
        )
    finally:
        await conn.close()
    count = len(payments)
    problems = []
    total_paid_events = sum(row["n"] for row in paid_events)
    if total_paid_events != count or any(row["n"] != 1 for row in paid_events):
        problems.append(
            f"{total_paid_events} 'paid' order events for {count} orders"
            f" ({sum(row['n'] > 1 for row in paid_events)} orders paid more than once)"
        )
    if orders_paid != count:
        problems.append(f"{orders_paid} of {count} orders are paid")
    if payments_ok != count:
        problems.append(f"{payments_ok} of {count} payments succeeded with a transaction id")
    if any(row["n"] != 1 for row in succeeded_events):
        problems.append(
            f"payments without exactly one 'succeeded' event:"
            f" {sum(row['n'] != 1 for row in succeeded_events)}"
        )
    if refunds:
        problems.append(f"{refunds} refunds")
    return problems


# --- reporting -----------------------------------------------------------------------------


def describe(burst: Burst) -> str:
    text = (
        f"p50 {burst.p(0.50):6.1f}  p95 {burst.p(0.95):6.1f}  p99 {burst.p(0.99):6.1f}"
        f"  max {burst.latencies_ms[-1] if burst.latencies_ms else 0:6.1f} ms"
        f"  {burst.throughput:6.0f}/s  statuses {burst.statuses}"
        f"  (cores: server {burst.server_cpu:.2f}, postgres backends {burst.postgres_cpu:.2f},"
        f" other {burst.other_cpu:.2f}; server CPU {burst.cpu_ms_each:.2f} ms each)"
    )
    if burst.statements_each is not None:
        text += f"  SQL statements {burst.statements_each:.2f} each"
    if burst.errors:
        text += f"  !! {burst.errors} socket errors"
    return text


def report(bursts: dict[str, list[Burst]], args: argparse.Namespace, clean: bool) -> bool:
    print()
    print(
        f"Median of {args.rounds} round(s) of {args.count} notifications sent at once"
        f" (each on its own connection), b2bc serve --workers {args.workers},"
        f" DB pool {args.pool} per worker."
    )
    print(
        f"{'':12} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'per s':>7}"
        f" {'server cores':>13} {'CPU ms each':>12}"
    )
    for name, runs in bursts.items():
        print(
            f"{name:12} {statistics.median(b.p(0.50) for b in runs):8.1f}"
            f" {statistics.median(b.p(0.95) for b in runs):8.1f}"
            f" {statistics.median(b.p(0.99) for b in runs):8.1f}"
            f" {statistics.median(b.latencies_ms[-1] for b in runs):8.1f}"
            f" {statistics.median(b.throughput for b in runs):7.0f}"
            f" {statistics.median(b.server_cpu for b in runs):13.2f}"
            f" {statistics.median(b.cpu_ms_each for b in runs):12.2f}"
        )
    p99 = statistics.median(b.p(0.99) for b in bursts["first"])
    verdict = "meets" if p99 <= TARGET_P99_MS else "MISSES"
    print()
    print(
        f"P99 first deliveries = {p99:.1f} ms ({verdict} the target of <= {TARGET_P99_MS:.0f} ms);"
        f" duplicates p99 = {statistics.median(b.p(0.99) for b in bursts['duplicate']):.1f} ms"
    )
    cpu_each = statistics.median(b.cpu_ms_each for b in bursts["first"])
    print(
        f"Server CPU per first delivery {cpu_each:.2f} ms: on a core of its own the last of"
        f" {args.count} simultaneous notifications waits at least ~{cpu_each * args.count:.0f} ms"
        " (one worker handles them one CPU slice at a time)"
    )
    print(
        "Invariants (every order paid exactly once, every payment succeeded once with one"
        f" 'succeeded' event, no refund, all 204): {'all held' if clean else 'VIOLATED'}"
    )
    report_statements(bursts)
    other = statistics.median(b.other_cpu for runs in bursts.values() for b in runs)
    if other > 0.2:
        print(f"WARNING: other processes used a median {other:.2f} cores during the bursts.")
    return p99 <= TARGET_P99_MS


def report_statements(bursts: dict[str, list[Burst]]) -> None:
    """Statements per notification, and what a first delivery sends (--statements)."""
    firsts = bursts["first"]
    if any(b.statements is None for runs in bursts.values() for b in runs):
        return
    each = {
        name: statistics.median(b.statements_each or 0.0 for b in runs)
        for name, runs in bursts.items()
    }
    print(
        f"SQL statements per notification (median): first delivery {each['first']:.2f},"
        f" duplicate {each['duplicate']:.2f} (counted by bench/sql_counter.py; latencies of"
        " this run went through it)"
    )
    total: Counter[str] = Counter()
    for burst in firsts:
        total.update(burst.statements or Counter())
    count = sum(len(b.latencies_ms) for b in firsts)
    # Summed over the rounds: round 1 pays most stores' first order (the full path, with
    # first-order rewards), later rounds take the one-statement path.
    print(f"Statements of first deliveries, per notification over {len(firsts)} round(s):")
    for text, n in total.most_common(12):
        print(f"  {n / count:5.2f}  {text[:150]}")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="notifications per burst")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20, help="notifications in the warm-up")
    parser.add_argument(
        "--pool", type=int, default=10, help="the API's DB connections (the product's default)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="API worker processes (use with --no-pin)"
    )
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="sample the server with py-spy during one more burst; raw stacks to FILE",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="count the server's SQL statements per notification (through a proxy)",
    )
    args = parser.parse_args()
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    return args


def run_round(
    dsn: str,
    keys: SandboxKeys,
    appid: str,
    port: int,
    pid: int,
    count: int,
    tag: str,
    counter: StatementCounter | None = None,
) -> tuple[Burst, Burst, list[str]]:
    payments = asyncio.run(create_open_payments(dsn, count, tag))
    requests = build_notifications(keys, appid, port, payments)
    database = dsn.rsplit("/", 1)[1]

    def counted(burst: Burst, before: Counter[str] | None) -> Burst:
        if counter is None or before is None:
            return burst
        return replace(burst, statements=counter.snapshot() - before)

    before = counter.snapshot() if counter else None
    first = asyncio.run(fire(port, requests, pid, database))
    first = counted(first, before)
    before = counter.snapshot() if counter else None
    duplicate = asyncio.run(
        fire(port, requests, pid, database)
    )  # same bodies, still fresh signatures
    duplicate = counted(duplicate, before)
    problems = asyncio.run(check_applied_once(dsn, payments))
    for burst in (first, duplicate):
        if burst.statuses != {204: count} or burst.errors:
            problems.append(f"answers {burst.statuses}, {burst.errors} socket errors")
    return first, duplicate, problems


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="b2bc-bench-notify-"))
    database = f"b2bc_bench_notify_{os.getpid()}"
    dsn = f"postgres://postgres@{HOST}:5432/{database}"
    port = free_port()
    counter = StatementCounter(HOST, 5432).start() if args.statements else None
    env = server_env(
        database=database,
        data_dir=tmp / "data",
        port=port,
        redis_url=REDIS_URL,
        extra_db_params=f"minsize=1&maxsize={args.pool}",
        db_port=counter.port if counter else 5432,
    )
    server: subprocess.Popen[bytes] | None = None
    clean = True
    try:
        settings = load_settings(env)  # writes the sandbox keys the server will trust
        keys = settings.pay_sandbox_keys
        if keys is None:
            raise RuntimeError("embedded mode without sandbox keys")
        appid = settings.wechat.appid
        asyncio.run(create_database(database))
        print(f"database {database}: migrating and seeding demo data ...", flush=True)
        subprocess.run(
            b2bc_command("demo"), cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        log = tmp / "api.log"
        server = start_server(b2bc_command("serve", "--workers", str(args.workers)), env, log)
        wait_ready(f"http://{HOST}:{port}/healthz", server, log)
        if args.pin:
            pin(server, 0)
            os.sched_setaffinity(0, {1})

        first, duplicate, problems = run_round(dsn, keys, appid, port, server.pid, args.warmup, "W")
        print(f"warm-up ({args.warmup}): {describe(first)}")
        if problems:
            raise RuntimeError(f"warm-up failed: {problems}; see {log}:\n{log.read_text()}")
        bursts: dict[str, list[Burst]] = {"first": [], "duplicate": []}
        for round_number in range(1, args.rounds + 1):
            first, duplicate, problems = run_round(
                dsn, keys, appid, port, server.pid, args.count, f"R{round_number}", counter
            )
            bursts["first"].append(first)
            bursts["duplicate"].append(duplicate)
            state = "applied once" if not problems else "INVARIANTS: " + "; ".join(problems)
            print(f"round {round_number} first     {describe(first)}")
            print(f"round {round_number} duplicate {describe(duplicate)}  [{state}]", flush=True)
            clean = clean and not problems
        meets = report(bursts, args, clean)
        if args.profile:
            spy = start_profile(server.pid, 8, args.profile)
            if spy is not None:
                time.sleep(1)
                bursts_seen = []
                deadline = time.monotonic() + 5
                number = 0
                while time.monotonic() < deadline:  # a few bursts inside py-spy's window
                    number += 1
                    first, _, _ = run_round(
                        dsn, keys, appid, port, server.pid, args.count, f"X{number}"
                    )
                    bursts_seen.append(first)
                spy.wait(timeout=60)
                print()
                print(f"profiled bursts (py-spy slows them): {describe(bursts_seen[0])}")
                print(summarize_profile(args.profile))
                print(f"raw stacks: {args.profile}")
    finally:
        if server is not None:
            stop_server(server)
        asyncio.run(drop_database(database))
        if counter is not None:
            counter.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if clean and meets else 1


if __name__ == "__main__":
    sys.exit(main())
