"""The complaint queue over 1,000,000 complaints: GET /api/v1/complaints latency and plans.
Target: p99 <= 50 ms.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it and
   seeds the demo data (`b2bc demo`: brand 澜泉净水, 40 stores, 3 distributors), with Redis at
   127.0.0.1:6379 db 14;
2. adds --rows complaints (default 1,000,000) for the demo brand with one
   `INSERT ... SELECT ... FROM generate_series`, deterministic (a multiplicative hash of the
   series number): 70% closed, 5% resolved, 5% new, 5% acknowledged, 7% assigned,
   5% responded, 3% reopened; the seven categories and the 40 stores evenly; a distributor
   (the store's) once assigned; created over the last year, newest with the highest id;
   due_at NULL once resolved or closed, else from 2 days ago to 19 days ahead; about 2.5%
   breached_first_response and 2.5% breached_resolution (~5% either). Then
   `VACUUM (ANALYZE) complaints` (the statistics, and no autovacuum run in the middle of the
   measurements). No index is added: the schema is the migrations' own;
3. gets the exact SQL of every variant below from the service itself
   (`backend.complaints.service.list_complaints` run in this process through Tortoise, the
   statement and its parameters taken from Tortoise's debug log) and prints its plan:
   `EXPLAIN (ANALYZE, BUFFERS)` with the parameters (the custom plan), then the plan
   PostgreSQL runs for a prepared statement after 6 executions (the server's asyncpg
   connections keep their statements prepared, so after 5 runs PostgreSQL may switch to a
   generic plan);
4. starts `b2bc serve --workers 1` (embedded mode, its default pool of 10 DB connections,
   pinned to CPU 0; this client on CPU 1), logs in as brand_admin and dist1_admin, and checks
   that each variant answers 200 with the same items as the service's query;
5. per variant: a --warmup, then --duration seconds of --connections keep-alive connections
   sending the GET back to back (every answer must be 200 with a JSON page of `items`), then
   the same SQL straight through asyncpg (--connections connections in this process,
   --raw-duration seconds) as the baseline:
     queue           brand_admin  ?sort=due&limit=20                 the open queue by due time
     queue_assigned  brand_admin  ?sort=due&status=assigned&limit=20
     queue_breached  brand_admin  ?sort=due&breached=true&limit=20
     damaged         brand_admin  ?category=damaged&limit=20          newest first
     new_delivery    brand_admin  ?status=new&category=delivery&limit=20
     dist_queue      dist1_admin  ?sort=due&limit=20                 the distributor's queue
   and, for the latency without queueing, --serial-duration seconds on one connection;
6. prints p50/p99 and requests/s of the API and of raw SQL, their ratio, the CPU used (API
   server, PostgreSQL backends of this database) per request, which scans the plans use
   (index or Seq Scan) and the verdict per variant; then stops the server and drops the
   database.

All traffic goes to 127.0.0.1. Run it from the project root:

    .venv/bin/python bench/complaint_queue.py                 # 10 s per variant, ~4 minutes
    .venv/bin/python bench/complaint_queue.py --rows 200000 --duration 5

The server, this client and PostgreSQL share the machine's cores; absolute figures depend on
the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    percentile,
    pin,
    postgres_cpu_seconds,
    request_bytes,
    server_env,
    start_server,
    stop_server,
    tree_cpu_seconds,
    wait_ready,
)

from backend.complaints import service
from backend.config import load_settings
from backend.identity.tokens import Principal
from backend.infra.db import close_db, init_db

REDIS_URL = f"redis://{HOST}:6379/14"
PASSWORD = "demo-pass-2026"
BRAND_USER, DISTRIBUTOR_USER = "brand_admin", "dist1_admin"
PATH = "/api/v1/complaints"
LIMIT = 20
TARGET_P99_MS = 50.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the route's cursor for the first page of sort=due
Load = Coroutine[Any, Any, tuple[list[float], int, int, int]]
OPEN = {"new", "acknowledged", "assigned", "responded", "reopened"}

# One statement: `numbers` hashes the series number (Knuth's multiplicative hash), `drawn`
# derives status (n mod 100), category, store and creation time from it, and the outer
# SELECT fills in the timestamps each status implies.
SEED_SQL = """
INSERT INTO complaints (
    brand_id, store_id, distributor_id, order_id, category, text, contact_preference, status,
    rating, rating_comment, reopen_count, created_at, updated_at, resolved_at, closed_at,
    acknowledged_at, first_response_due_at, resolution_due_at, due_at, paused_since,
    breached_first_response, breached_resolution)
SELECT
    $1,
    ($2::bigint[])[store_index],
    CASE WHEN status IN ('new', 'acknowledged') THEN NULL ELSE ($3::bigint[])[store_index] END,
    NULL,
    category,
    '压测投诉 #' || n || '：收到的货有问题，请尽快联系门店处理。',
    'phone',
    status,
    NULL,
    '',
    CASE WHEN status = 'reopened' THEN 1 ELSE 0 END,
    created_at,
    created_at + CASE status WHEN 'new' THEN interval '0' WHEN 'closed' THEN interval '9 days'
        WHEN 'resolved' THEN interval '2 days' ELSE interval '1 hour' END,
    CASE WHEN status IN ('resolved', 'closed', 'reopened')
        THEN created_at + interval '2 days' END,
    CASE WHEN status = 'closed' THEN created_at + interval '9 days' END,
    CASE WHEN status <> 'new' THEN created_at + interval '1 hour' END,
    created_at + interval '4 hours',
    created_at + interval '3 days',
    CASE WHEN status NOT IN ('resolved', 'closed')
        THEN $4::timestamptz + make_interval(mins => (h % 30241)::int - 2880) END,
    CASE WHEN status = 'resolved' THEN created_at + interval '2 days' END,
    (h / 8467480) % 40 = 0,
    (n / 100) % 40 = 7
FROM (
    SELECT
        n,
        h,
        CASE
            WHEN n % 100 < 70 THEN 'closed'
            WHEN n % 100 < 75 THEN 'resolved'
            WHEN n % 100 < 80 THEN 'new'
            WHEN n % 100 < 85 THEN 'acknowledged'
            WHEN n % 100 < 92 THEN 'assigned'
            WHEN n % 100 < 97 THEN 'responded'
            ELSE 'reopened'
        END AS status,
        (ARRAY['quality', 'damaged', 'delivery', 'wrong_goods', 'service', 'promotion',
               'other'])[1 + (h / 30241) % 7] AS category,
        1 + ((h / 211687) % cardinality($2::bigint[]))::int AS store_index,
        $4::timestamptz - make_interval(secs => ($5 - n) * 31536000.0 / $5) AS created_at
    FROM (
        SELECT n, (n * 2654435761) % 4294967296 AS h
        FROM generate_series(1::bigint, $5::bigint) AS n
    ) AS numbers
) AS drawn
"""


@dataclass(frozen=True)
class Variant:
    name: str
    user: str
    query: str  # the URL's query string
    filters: dict[str, Any]  # as the route passes them to service.list_complaints
    by_due: bool

    @property
    def path(self) -> str:
        return f"{PATH}?{self.query}"


def variant(name: str, user: str, query: str, *, by_due: bool, **filters: Any) -> Variant:
    wanted = {"status": None, "category": None, "distributor_id": None, "breached": None}
    return Variant(name, user, query, wanted | filters, by_due)


VARIANTS = [
    variant("queue", BRAND_USER, f"sort=due&limit={LIMIT}", by_due=True),
    variant(
        "queue_assigned",
        BRAND_USER,
        f"sort=due&status=assigned&limit={LIMIT}",
        by_due=True,
        status="assigned",
    ),
    variant(
        "queue_breached",
        BRAND_USER,
        f"sort=due&breached=true&limit={LIMIT}",
        by_due=True,
        breached=True,
    ),
    variant(
        "damaged", BRAND_USER, f"category=damaged&limit={LIMIT}", by_due=False, category="damaged"
    ),
    variant(
        "new_delivery",
        BRAND_USER,
        f"status=new&category=delivery&limit={LIMIT}",
        by_due=False,
        status="new",
        category="delivery",
    ),
    variant("dist_queue", DISTRIBUTOR_USER, f"sort=due&limit={LIMIT}", by_due=True),
]


@dataclass
class Statement:
    """One variant's SQL as the service sends it, and what it returned."""

    sql: str
    values: list[Any]
    ids: list[int]
    custom_plan: list[str] = field(default_factory=list)
    cached_plan: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Measurement:
    latencies_ms: list[float]  # sorted
    wall_s: float
    non_200: int
    invalid: int  # 200 without a JSON page of the expected items
    errors: int  # socket errors
    app_cores: float  # the API server (API runs) or this process (raw runs)
    postgres_cores: float

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.wall_s

    def p(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)

    def cpu_ms_each(self, cores: float) -> float:
        return 1000 * cores * self.wall_s / max(len(self.latencies_ms), 1)


# --- seeding -------------------------------------------------------------------------------


async def seed(dsn: str, rows: int) -> int:
    """The complaints; returns the demo brand's id."""
    conn = await asyncpg.connect(dsn)
    try:
        brand_id = await conn.fetchval("SELECT id FROM brands WHERE name = '澜泉净水'")
        stores = await conn.fetch(
            "SELECT id, distributor_id FROM stores WHERE brand_id = $1 ORDER BY id", brand_id
        )
        if brand_id is None or not stores:
            raise RuntimeError("the demo data has no brand or no stores")
        started = time.perf_counter()
        await conn.execute(
            SEED_SQL,
            brand_id,
            [s["id"] for s in stores],
            [s["distributor_id"] for s in stores],
            datetime.now(UTC),
            rows,
        )
        inserted = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) complaints")
        done = time.perf_counter()
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('complaints'))")
        print(
            f"seeded {rows:,} complaints in {inserted - started:.1f} s"
            f" (VACUUM ANALYZE {done - inserted:.1f} s); table with indexes {size}"
        )
        by_status = await conn.fetch(
            "SELECT status, count(*) AS n, count(due_at) AS due,"
            " count(*) FILTER (WHERE breached_first_response OR breached_resolution) AS breached"
            " FROM complaints GROUP BY status ORDER BY count(*) DESC"
        )
        print(
            "  "
            + ", ".join(
                f"{r['status']} {r['n']:,} (due {r['due']:,}, breached {r['breached']:,})"
                for r in by_status
            )
        )
        print("indexes on complaints:")
        for row in await conn.fetch(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'complaints' ORDER BY indexname"
        ):
            print(f"  {row['indexdef']}")
        return int(brand_id)
    finally:
        await conn.close()


async def principal_of(conn: asyncpg.Connection, username: str) -> Principal:
    row = await conn.fetchrow(
        "SELECT m.user_id, m.role, m.brand_id, m.distributor_id FROM memberships m"
        " JOIN users u ON u.id = m.user_id WHERE u.username = $1",
        username,
    )
    if row is None:
        raise RuntimeError(f"no membership for {username}")
    return Principal(
        user_id=row["user_id"],
        session_id="bench",
        role=row["role"],
        brand_id=row["brand_id"],
        distributor_id=row["distributor_id"],
    )


# --- the service's SQL and its plans --------------------------------------------------------


class _Captured(logging.Handler):
    """Tortoise logs every statement at DEBUG as ("%s: %s", sql, values)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            sql, values = record.args
            if isinstance(sql, str) and isinstance(values, list | tuple | None):
                self.statements.append((sql, list(values or [])))


async def service_statements(dsn: str) -> dict[str, Statement]:
    """Run service.list_complaints as the route does, per variant, and keep its SQL."""
    conn = await asyncpg.connect(dsn)
    try:
        principals = {user: await principal_of(conn, user) for user in {v.user for v in VARIANTS}}
    finally:
        await conn.close()
    captured = _Captured()
    logger = logging.getLogger("tortoise.db_client")
    logger.addHandler(captured)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    statements = {}
    await init_db(dsn)
    try:
        for v in VARIANTS:
            captured.statements.clear()
            items = await service.list_complaints(
                principals[v.user],
                dict(v.filters),
                before=None,
                limit=LIMIT + 1,
                by_due=(EPOCH, 0) if v.by_due else None,
            )
            selects = [s for s in captured.statements if "complaints" in s[0]]
            if len(selects) != 1:
                raise RuntimeError(f"{v.name}: expected one statement, saw {selects}")
            sql, values = selects[0]
            statements[v.name] = Statement(sql, values, [item["id"] for item in items[:LIMIT]])
    finally:
        await close_db()
        logger.removeHandler(captured)
    return statements


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    return "'" + str(value).replace("'", "''") + "'"


async def explain(dsn: str, statements: dict[str, Statement]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements.values():
            rows = await conn.fetch(
                f"EXPLAIN (ANALYZE, BUFFERS) {statement.sql}", *statement.values
            )
            statement.custom_plan = [row[0] for row in rows]
            # What a statement kept prepared (as asyncpg does) runs after 5 executions:
            # PostgreSQL then switches to a generic plan if it does not look costlier.
            await conn.execute(f"PREPARE bench_q AS {statement.sql}")
            arguments = ", ".join(literal(value) for value in statement.values)
            execute = f"EXECUTE bench_q({arguments})" if arguments else "EXECUTE bench_q"
            for _ in range(6):
                await conn.execute(execute)
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
            statement.cached_plan = [row[0] for row in rows]
            await conn.execute("DEALLOCATE bench_q")
    finally:
        await conn.close()


SCAN_NODE = re.compile(
    r"(Parallel Seq Scan|Seq Scan|Index Only Scan Backward|Index Only Scan|Index Scan Backward"
    r"|Index Scan|Bitmap Heap Scan|Bitmap Index Scan)(?: using (\S+))? on (\S+)"
)


def plan_summary(plan: list[str]) -> str:
    """The scans (index name, or the table for a Seq Scan), a Sort if any, rows filtered out
    and the execution time."""
    scans = []
    for line in plan:
        match = SCAN_NODE.search(line)
        if match is None:
            continue
        kind, index, target = match.groups()
        if kind == "Bitmap Heap Scan":
            continue  # its Bitmap Index Scan names the index
        scans.append(f"{kind} {index or target}" if kind != "Seq Scan" else f"SEQ SCAN {target}")
    text = " + ".join(scans)
    if any(line.lstrip(" ->").startswith(("Sort ", "Incremental Sort")) for line in plan):
        text += " + Sort"
    removed = sum(
        int(line.split(":")[1])
        for line in plan
        if line.strip().startswith("Rows Removed by Filter:")
    )
    time_ms = next((line.split(":")[1].strip() for line in plan if "Execution Time" in line), "")
    return f"{text}; filtered out {removed:,} rows; {time_ms}"


def uses_index(plan: list[str]) -> bool:
    return not any("Seq Scan" in line for line in plan)


def is_generic(plan: list[str]) -> bool:
    return any(re.search(r"\$\d", line) for line in plan)


def shape(plan: list[str]) -> list[str]:
    """The plan's nodes without costs, times and parameter values."""
    return [
        re.sub(r"\(cost=.*", "", line).rstrip()
        for line in plan
        if SCAN_NODE.search(line) or line.lstrip(" ->").split(" ")[0] in ("Limit", "Sort")
    ]


# --- load ----------------------------------------------------------------------------------


async def _api_load(
    port: int,
    request: bytes,
    connections: int,
    seconds: float,
    valid: Callable[[bytes], bool],
) -> tuple[list[float], int, int, int]:
    opened = await asyncio.gather(
        *(asyncio.open_connection(HOST, port) for _ in range(connections))
    )
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    non_200 = invalid = errors = 0

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal non_200, invalid, errors
        try:
            while time.perf_counter() < deadline:
                result = await exchange(reader, writer, request)
                latencies.append(result.seconds * 1000)
                if result.status != 200:
                    non_200 += 1
                    if non_200 == 1:
                        print(f"  unexpected {result.status}: {result.body[:300]!r}")
                elif not valid(result.body):
                    invalid += 1
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors += 1
            print(f"  socket error: {exc!r}")
        finally:
            writer.close()

    await asyncio.gather(*(one(reader, writer) for reader, writer in opened))
    return latencies, non_200, invalid, errors


async def _raw_load(
    dsn: str, statement: Statement, connections: int, seconds: float
) -> tuple[list[float], int, int, int]:
    conns = await asyncio.gather(*(asyncpg.connect(dsn) for _ in range(connections)))
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    invalid = 0

    async def one(conn: asyncpg.Connection) -> None:
        nonlocal invalid
        while (start := time.perf_counter()) < deadline:
            rows = await conn.fetch(statement.sql, *statement.values)
            latencies.append((time.perf_counter() - start) * 1000)
            invalid += [row["id"] for row in rows[:LIMIT]] != statement.ids

    try:
        await asyncio.gather(*(one(conn) for conn in conns))
    finally:
        await asyncio.gather(*(conn.close() for conn in conns))
    return latencies, 0, invalid, 0


def measure(
    run: Callable[[], Load],
    database: str,
    server_pid: int | None,
) -> Measurement:
    pg_before = postgres_cpu_seconds(database)
    app_before = tree_cpu_seconds(server_pid) if server_pid else time.process_time()
    started = time.perf_counter()
    latencies, non_200, invalid, errors = asyncio.run(run())
    wall = time.perf_counter() - started
    app_after = tree_cpu_seconds(server_pid) if server_pid else time.process_time()
    postgres = cpu_delta(pg_before, postgres_cpu_seconds(database))
    return Measurement(
        sorted(latencies),
        wall,
        non_200,
        invalid,
        errors,
        (app_after - app_before) / wall,
        postgres / wall,
    )


def page_check(expected: int) -> Callable[[bytes], bool]:
    def valid(body: bytes) -> bool:
        try:
            data = json.loads(body)
        except ValueError:
            return False
        items = data.get("items") if isinstance(data, dict) else None
        return isinstance(items, list) and len(items) == expected

    return valid


# --- API -----------------------------------------------------------------------------------


def login(port: int, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/v1/auth/staff/login",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["access_token"]
        return token


async def _get(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        result = await exchange(reader, writer, request)
    finally:
        writer.close()
    return result.status, result.body


def precheck(v: Variant, port: int, request: bytes, statement: Statement) -> None:
    """200, a JSON page, the service's items, and items that match the filters."""
    status, body = asyncio.run(_get(port, request))
    if status != 200:
        raise RuntimeError(f"{v.name}: {v.path} answered {status}: {body[:300]!r}")
    items = json.loads(body)["items"]
    ids = [item["id"] for item in items]
    if ids != statement.ids or len(ids) != LIMIT:
        raise RuntimeError(f"{v.name}: API ids {ids} differ from the query's {statement.ids}")
    problems = []
    for item in items:
        sla = item["sla"]
        if v.filters["status"] and item["status"] != v.filters["status"]:
            problems.append(f"status {item['status']}")
        if v.filters["category"] and item["category"] != v.filters["category"]:
            problems.append(f"category {item['category']}")
        if v.filters["breached"] and not (
            sla["breached_first_response"] or sla["breached_resolution"]
        ):
            problems.append("not breached")
        if v.by_due and (item["status"] not in OPEN or sla["due_at"] is None):
            problems.append(f"{item['status']} due {sla['due_at']} in the queue")
    if v.by_due:
        dues = [item["sla"]["due_at"] for item in items]
        if dues != sorted(dues):
            problems.append("queue not in due order")
    if v.user == DISTRIBUTOR_USER and len({item["distributor_id"] for item in items}) != 1:
        problems.append("several distributors in one distributor's list")
    if problems:
        raise RuntimeError(f"{v.name}: {problems}")


# --- reporting -----------------------------------------------------------------------------


def describe(m: Measurement) -> str:
    text = (
        f"{m.rps:7.0f}/s  p50 {m.p(0.50):6.2f}  p99 {m.p(0.99):6.2f}  max"
        f" {m.latencies_ms[-1] if m.latencies_ms else 0:6.1f} ms  n={len(m.latencies_ms)}"
        f"  cores: app {m.app_cores:.2f}, postgres {m.postgres_cores:.2f}"
    )
    if m.non_200 or m.invalid or m.errors:
        text += f"  !! {m.non_200} non-200, {m.invalid} invalid pages, {m.errors} socket errors"
    return text


def report(
    api: dict[str, list[Measurement]],
    serial: dict[str, list[Measurement]],
    raw: dict[str, list[Measurement]],
    statements: dict[str, Statement],
    args: argparse.Namespace,
) -> bool:
    def med(runs: list[Measurement], value: Callable[[Measurement], float]) -> float:
        return statistics.median(value(m) for m in runs)

    print()
    print(
        f"SUMMARY {args.rows:,} complaints; median of {args.rounds} round(s); API: "
        f"{args.duration} s x {args.connections} connections, b2bc serve --workers 1 (pool 10);"
        f" 1c: the API on 1 connection, {args.serial_duration} s;"
        f" raw: the same SQL through asyncpg, {args.raw_duration} s x {args.connections}"
        " connections"
    )
    print(
        f"{'':15}|{'API, ' + str(args.connections) + ' connections':^31}|{'API 1c':^13}"
        f"|{'raw SQL':^22}|{'API/raw':^14}|{'CPU ms/req':^13}"
    )
    print(
        f"{'variant':15}|{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8} {'<=50?':6}"
        f"|{'p50':>6}{'p99':>7}|{'req/s':>8}{'p50':>7}{'p99':>7}|{'req/s':>7}"
        f"{'p50':>7}|{'server':>7}{'pg':>6}"
    )
    meets = True
    for v in VARIANTS:
        a, r, one = api[v.name], raw[v.name], serial[v.name]
        p99 = med(a, lambda m: m.p(0.99))
        ok = p99 <= TARGET_P99_MS
        meets = meets and ok
        print(
            f"{v.name:15}|{med(a, lambda m: m.rps):8.0f}{med(a, lambda m: m.p(0.5)):8.2f}"
            f"{p99:8.2f} {'yes' if ok else 'NO':6}"
            f"|{med(one, lambda m: m.p(0.5)):6.2f}{med(one, lambda m: m.p(0.99)):7.2f}"
            f"|{med(r, lambda m: m.rps):8.0f}{med(r, lambda m: m.p(0.5)):7.2f}"
            f"{med(r, lambda m: m.p(0.99)):7.2f}"
            f"|{med(a, lambda m: m.rps) / med(r, lambda m: m.rps):7.2f}"
            f"{med(a, lambda m: m.p(0.5)) / max(med(r, lambda m: m.p(0.5)), 1e-9):6.1f}"
            f"x|{med(a, lambda m: m.cpu_ms_each(m.app_cores)):7.2f}"
            f"{med(a, lambda m: m.cpu_ms_each(m.postgres_cores)):6.2f}"
        )
    print(
        "API/raw: requests/s ratio and p50 ratio; CPU ms/req: per API request (20 connections),"
        " in the server process and in PostgreSQL's backends."
    )
    print()
    print("PLANS (EXPLAIN ANALYZE of the service's SQL; 'cached': the plan after 6 executions)")
    for v in VARIANTS:
        s = statements[v.name]
        kind = "index" if uses_index(s.custom_plan) else "SEQ SCAN"
        print(f"{v.name:15} {kind:8} custom: {plan_summary(s.custom_plan)}")
        same = shape(s.cached_plan) == shape(s.custom_plan)
        cached = "generic" if is_generic(s.cached_plan) else "custom"
        note = "same shape" if same else f"DIFFERENT: {plan_summary(s.cached_plan)}"
        print(f"{'':24} cached: {cached} plan, {note}")
    clean = all(
        not (m.non_200 or m.invalid or m.errors)
        for runs in (*api.values(), *serial.values(), *raw.values())
        for m in runs
    )
    print()
    print(
        f"Target p99 <= {TARGET_P99_MS:.0f} ms: {'met by every variant' if meets else 'MISSED'}"
        f"; answers: {'all 200 with the expected page' if clean else 'SOME BAD (see above)'}"
    )
    return meets and clean


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="complaints to seed")
    parser.add_argument("--duration", type=float, default=10, help="seconds per API variant")
    parser.add_argument(
        "--serial-duration", type=float, default=3, help="seconds of the 1-connection run"
    )
    parser.add_argument("--raw-duration", type=float, default=5, help="seconds per raw run")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds per variant")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the variants")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args()
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    return args


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="b2bc-bench-complaints-"))
    database = f"b2bc_bench_complaints_{os.getpid()}"
    dsn = f"postgres://postgres@{HOST}:5432/{database}"
    port = free_port()
    env = server_env(database=database, data_dir=tmp / "data", port=port, redis_url=REDIS_URL)
    server: subprocess.Popen[bytes] | None = None
    passed = False
    try:
        load_settings(env)  # fails early on a bad environment; writes the shared secrets
        asyncio.run(create_database(database))
        print(f"database {database}: migrating and seeding demo data ...", flush=True)
        subprocess.run(
            b2bc_command("demo"), cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        asyncio.run(seed(dsn, args.rows))
        statements = asyncio.run(service_statements(dsn))
        asyncio.run(explain(dsn, statements))
        for v in VARIANTS:
            s = statements[v.name]
            print(f"\n== {v.name}: GET {v.path} as {v.user}")
            print(f"SQL: {s.sql}")
            print(f"parameters: {s.values!r}")
            print("\n".join(f"  {line}" for line in s.custom_plan))
            if shape(s.cached_plan) != shape(s.custom_plan):
                print("plan after 6 executions of the prepared statement:")
                print("\n".join(f"  {line}" for line in s.cached_plan))

        log = tmp / "api.log"
        server = start_server(b2bc_command("serve", "--workers", "1"), env, log)
        wait_ready(f"http://{HOST}:{port}/healthz", server, log)
        if args.pin:
            pin(server, 0)
            os.sched_setaffinity(0, {1})
        tokens = {user: login(port, user) for user in (BRAND_USER, DISTRIBUTOR_USER)}
        requests = {
            v.name: request_bytes(
                "GET", v.path, port, {"Authorization": f"Bearer {tokens[v.user]}"}, b""
            )
            for v in VARIANTS
        }
        for v in VARIANTS:
            precheck(v, port, requests[v.name], statements[v.name])
        print("\nprecheck: every variant answers 200 with the query's items")

        api: dict[str, list[Measurement]] = {v.name: [] for v in VARIANTS}
        raw: dict[str, list[Measurement]] = {v.name: [] for v in VARIANTS}
        serial: dict[str, list[Measurement]] = {v.name: [] for v in VARIANTS}
        valid = page_check(LIMIT)
        pid = server.pid
        for round_number in range(1, args.rounds + 1):
            for v in VARIANTS:
                request, s = requests[v.name], statements[v.name]

                def api_run(
                    seconds: float, connections: int = args.connections, request: bytes = request
                ) -> Callable[[], Load]:
                    return lambda: _api_load(port, request, connections, seconds, valid)

                def raw_run(seconds: float, s: Statement = s) -> Callable[[], Load]:
                    return lambda: _raw_load(dsn, s, args.connections, seconds)

                measure(api_run(args.warmup), database, pid)
                a = measure(api_run(args.duration), database, pid)
                one = measure(api_run(args.serial_duration, 1), database, pid)
                measure(raw_run(1), database, None)
                r = measure(raw_run(args.raw_duration), database, None)
                api[v.name].append(a)
                serial[v.name].append(one)
                raw[v.name].append(r)
                print(f"round {round_number} {v.name:15} API {describe(a)}")
                print(f"round {round_number} {v.name:15} 1c  {describe(one)}")
                print(f"round {round_number} {v.name:15} raw {describe(r)}", flush=True)
        passed = report(api, serial, raw, statements, args)
    finally:
        if server is not None:
            stop_server(server)
        asyncio.run(drop_database(database))
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
