"""The store's quote (`POST /api/v1/quote`) with promotions running, against the same quotes
with no promotion running (the list-price-only quote: the store's price list and nothing
else), in the same run against the same server process. No target: reported only.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it and
   seeds the demo data (`b2bc demo`), with Redis at 127.0.0.1:6379 db --redis-db (default 11,
   out of the way of the other benches' dbs); then adds the
   catalog, stock, stores and store owners' tokens of bench/order_placement.py (its `seed`:
   --skus SKUs sold by the unit in one category with brand, tier and distributor price
   entries, --stores stores over the demo's distributors and tiers A-D);
2. starts `b2bc serve --workers 1` (Sanic + Tortoise, pool of --pool connections), signs in
   as the demo's brand_admin, pauses the promotions the demo left running, and creates
   --promotions promotions through `POST /api/v1/promotions` (so the API validates them),
   in the proportions of bench/promotion_quote.py: special prices on a few SKUs (step 1),
   reductions and discounts (steps 2-3), gifts of a stocked SKU, rebates and points, about
   10% exclusive; scopes are the whole cart, the bench category, some SKUs, a two-SKU bundle
   or a category no cart touches; most audiences admit every store, some only some tiers or
   one distributor, a few none of the bench stores (a tag they lack, the live channel);
   conditions and thresholds are set so that some carts meet them and some do not;
3. builds --carts request bodies once from --seed: 5-20 distinct SKUs of 1-6 units (the
   seeded SKUs have case size 1 and minimum 1, so every quantity is orderable), each cart
   paired with one store's token. Both variants send this same sequence;
4. checks the pricing: quotes the first --check carts with the promotions paused, then
   running, and requires every answer 200 with all lines orderable, `promotions` null when
   paused and present when running, the amount before promotions equal to the paused
   payable, and a different payable for at least one cart; prints what the promotions did;
5. loads the server round after round with the same client as order_placement.py:
   --connections keep-alive connections (split over --client-procs processes) each sending
   the cart sequence from its own offset for --duration seconds; at the deadline every
   connection finishes the request it has in flight, so nothing is cut off. The variants
   alternate ABBA (list-price-only, with promotions | with promotions, list-price-only | ...)
   so both see the same drift and noise; between them the promotions are activated or paused
   through `POST /api/v1/promotions/<id>/activate|pause`, and one quote confirms the state.
   Each variant gets a --warmup first;
6. prints, per variant, the medians over the rounds of quotes/s, latency p50/p99, CPU ms per
   quote of the server process and of its PostgreSQL backends, and the answer size; then the
   headline `RATIO quote with promotions / list-price-only` (quotes/s) and the cost ratios,
   stops the server and drops the database (also on failure).

The server is pinned to CPU 0 and the client to CPU 1; PostgreSQL and Redis float. All traffic
goes to 127.0.0.1. With --profile FILE it then loads the server once more with promotions
running under py-spy (`pip install py-spy`, or PY_SPY=/path/to/py-spy) and prints the inclusive
share of the functions that take the time. Run from the project root:

    .venv/bin/python bench/quote_promotions.py                    # 3 rounds of 10 s each
    .venv/bin/python bench/quote_promotions.py --duration 5 --rounds 2
    .venv/bin/python bench/quote_promotions.py --profile /tmp/quote.txt

Exit status 0 when every answer was 200 and the pricing checks held, else 1.
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
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from auth_get import login
from bench_common import (
    HOST,
    ROOT,
    Exchange,
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
from order_placement import Fixture, seed
from promotion_quote import EXCLUSIVE_SHARE, KIND_SHARES

from backend.config import load_settings

# order_placement uses 13, auth_get and notifications 14; 12 is the analytics seed's.
DEFAULT_REDIS_DB = 11
QUOTE_PATH = "/api/v1/quote"
PROMOTIONS_PATH = "/api/v1/promotions"
LIST_ONLY, WITH_PROMOTIONS = "list-price-only", "with promotions"
# One entry per percent of KIND_SHARES, grouped by kind: an even stride through it takes each
# kind in proportion, whatever --promotions is.
KINDS_BY_SHARE = [kind for kind, share in KIND_SHARES.items() for _ in range(share)]


# --- the promotions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """What the promotions may name: the bench's SKUs and category, and the brand's others."""

    sku_ids: list[int]
    category_id: int
    other_category_id: int  # a demo category: no cart has its SKUs
    distributor_ids: list[int]


async def catalog_facts(dsn: str, sku_ids: list[int]) -> Catalog:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT s.brand_id, p.category_id FROM skus s JOIN products p ON p.id = s.product_id"
            " WHERE s.id = $1",
            sku_ids[0],
        )
        other = await conn.fetchval(
            "SELECT id FROM categories WHERE brand_id = $1 AND id <> $2 ORDER BY id LIMIT 1",
            row["brand_id"],
            row["category_id"],
        )
        distributors = await conn.fetch(
            "SELECT id FROM distributors WHERE brand_id = $1 ORDER BY id", row["brand_id"]
        )
    finally:
        await conn.close()
    if other is None:
        raise RuntimeError("the demo data has no category besides the bench's")
    return Catalog(sku_ids, row["category_id"], other, [r["id"] for r in distributors])


def _scope(rng: random.Random, catalog: Catalog, *, bundles: bool) -> dict[str, Any]:
    """Mostly the whole cart or the bench category, which every cart is in."""
    roll = rng.random()
    if roll < 0.45:
        return {}
    if roll < 0.75:
        return {"category_ids": [catalog.category_id]}
    if roll < 0.85:
        return {"sku_ids": rng.sample(catalog.sku_ids, min(len(catalog.sku_ids), 12))}
    if bundles and roll < 0.95:
        # Both SKUs are in a cart now and then; otherwise "bundle incomplete".
        first, second = rng.sample(catalog.sku_ids, 2)
        return {"bundle": [{"sku_id": first}, {"sku_id": second, "set_quantity": 2}]}
    return {"category_ids": [catalog.other_category_id]}  # out of every cart's scope


def _rule(rng: random.Random, kind: str, catalog: Catalog) -> dict[str, Any]:
    """Reward, step, scope and conditions of one promotion of `kind`.

    Carts are 5-20 lines of ~1-6 units at ~850-1,000 yuan (400-1,500 thousand fen in all,
    median ~4 million fen), so the amounts below are met by some carts and not by others.
    """
    if kind == "special_price":
        if rng.random() < 0.3:
            # A fixed price on one SKU, below every price entry of the seed (85,000+ fen).
            reward: dict[str, Any] = {"kind": kind, "unit_price_fen": 80_000}
            scope = {"sku_ids": rng.sample(catalog.sku_ids, 1)}
        else:
            # 85-88% of list is below some stores' price and above others' ("no effect").
            reward = {"kind": kind, "percent_of_list": rng.choice(["80", "85", "88"])}
            scope = {"sku_ids": rng.sample(catalog.sku_ids, rng.randint(2, 6))}
        conditions = {"min_quantity": 2} if rng.random() < 0.3 else {}
        return {"reward": reward, "step": 1, "scope": scope, "conditions": conditions}
    if kind == "reduction":
        threshold = rng.choice([500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000])
        off = threshold * rng.choice([3, 4, 5]) // 100
        reward = {"kind": kind, "threshold_fen": threshold, "amount_off_fen": off}
        reward["every"] = rng.random() < 0.3
        return {
            "reward": reward,
            "step": rng.choice([2, 2, 3]),
            "scope": _scope(rng, catalog, bundles=False),
            "conditions": {},
        }
    if kind == "discount":
        return {
            "reward": {"kind": kind, "percent": rng.choice(["92.5", "95", "97", "98"])},
            "step": rng.choice([2, 3, 3]),
            "scope": _scope(rng, catalog, bundles=False),
            "conditions": {"min_quantity": rng.choice([0, 0, 20, 60])},
        }
    if kind == "gift":
        per_multiple = rng.random() < 0.3
        return {
            # The last bench SKU: stocked at every distributor, so the gift can be reserved.
            "reward": {
                "kind": kind,
                "sku_id": catalog.sku_ids[-1],
                "quantity": rng.randint(1, 2),
                "per_multiple": per_multiple,
            },
            "step": rng.choice([1, 2, 3]),
            # "Every multiple" needs a bundle that counts all its units, not complete sets.
            "scope": {**_scope(rng, catalog, bundles=True), "bundle_mode": "all_present"}
            if per_multiple
            else _scope(rng, catalog, bundles=True),
            "conditions": {"min_amount_fen": rng.choice([1_000_000, 3_000_000])},
        }
    conditions = {"min_amount_fen": 2_000_000} if rng.random() < 0.5 else {}
    step = rng.choice([1, 2, 3])
    scope = _scope(rng, catalog, bundles=True)
    if kind == "rebate":
        percent = rng.choice(["0.5", "1", "2"])
        reward = {"kind": kind, "percent": percent, "base": rng.choice(["list", "paid"])}
    elif rng.random() < 1 / 3:
        reward = {"kind": kind, "per_yuan": "1", "threshold_fen": 2_000_000, "multiplier": "2"}
    else:
        reward = {"kind": kind, "per_yuan": rng.choice(["0.5", "1"])}
    return {"reward": reward, "step": step, "scope": scope, "conditions": conditions}


def _audience(rng: random.Random, catalog: Catalog) -> dict[str, list[Any]]:
    roll = rng.random()
    if roll < 0.65:
        return {}
    if roll < 0.78:
        return {"tiers": ["A", "B"]}
    if roll < 0.88:
        return {"distributor_ids": catalog.distributor_ids[:1]}
    if roll < 0.95:
        return {"tiers": ["C", "D"]}
    return {"tags": ["flagship"]}  # no bench store has tags: skipped for the audience


def promotion_plan(rng: random.Random, count: int, catalog: Catalog) -> list[dict[str, Any]]:
    """Bodies for `POST /api/v1/promotions`, all inside their window from now on."""
    now = datetime.now(UTC)
    kinds = [KINDS_BY_SHARE[index * len(KINDS_BY_SHARE) // count] for index in range(count)]
    exclusive = set(rng.sample(range(count), max(1, round(count * EXCLUSIVE_SHARE))))
    plan = []
    for number, kind in enumerate(kinds):
        channels = rng.choices([[], ["self", "proxy"], ["live"]], weights=[85, 10, 5])[0]
        plan.append(
            {
                "name": f"压测 {kind} #{number:02d}",
                "starts_at": (now - timedelta(days=1)).isoformat(),
                "ends_at": (now + timedelta(days=30)).isoformat(),
                "stacking": "exclusive" if number in exclusive else "shared",
                "priority": rng.randint(0, 9),
                # Quotes commit nothing, so a limit is never reached here: it is checked only.
                "per_store_limit": 3 if rng.random() < 0.15 else None,
                "budget_fen": rng.choice([10**9, 50_000_000]) if rng.random() < 0.25 else None,
                "audience": _audience(rng, catalog),
                "channels": channels,
                **_rule(rng, kind, catalog),
            }
        )
    return plan


def api(port: int, token: str, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    """One JSON call to the API as brand staff (administration, not measured)."""
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=None if payload is None else json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def expect(status: int, wanted: int, answer: Any, what: str) -> Any:
    if status != wanted:
        raise RuntimeError(f"{what}: {status} {json.dumps(answer, ensure_ascii=False)[:500]}")
    return answer


def pause_running(port: int, token: str) -> list[str]:
    """Pause the promotions already running (the demo's), so the baseline has none."""
    status, answer = api(port, token, "GET", f"{PROMOTIONS_PATH}?status=active&limit=100")
    paused = []
    for item in expect(status, 200, answer, "listing active promotions")["items"]:
        status, moved = api(port, token, "POST", f"{PROMOTIONS_PATH}/{item['id']}/pause")
        expect(status, 200, moved, f"pausing {item['name']}")
        paused.append(item["name"])
    if answer["next_before"]:
        paused += pause_running(port, token)  # the first page is paused now: list again
    return paused


def create_promotions(port: int, token: str, plan: list[dict[str, Any]]) -> list[int]:
    ids = []
    for body in plan:
        status, created = api(port, token, "POST", PROMOTIONS_PATH, body)
        ids.append(expect(status, 201, created, f"creating {body['name']}")["id"])
    return ids


def switch(port: int, token: str, ids: list[int], running: bool) -> None:
    action = "activate" if running else "pause"
    for promotion_id in ids:
        status, answer = api(port, token, "POST", f"{PROMOTIONS_PATH}/{promotion_id}/{action}")
        expect(status, 200, answer, f"{action} promotion {promotion_id}")


# --- carts and checks ----------------------------------------------------------------------


def build_requests(
    rng: random.Random, fixture: Fixture, count: int, port: int
) -> tuple[list[bytes], list[int]]:
    """The quote requests both variants send, in order, and each one's number of lines."""
    requests, sizes = [], []
    for number in range(count):
        chosen = rng.sample(fixture.sku_ids, rng.randint(5, min(20, len(fixture.sku_ids))))
        # Any quantity is orderable: order_placement's seed sells by the unit (case 1, min 1).
        lines = [{"sku_id": sku_id, "quantity": rng.randint(1, 6)} for sku_id in chosen]
        body = json.dumps({"lines": lines}, separators=(",", ":")).encode()
        token = fixture.tokens[number % len(fixture.tokens)]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        requests.append(request_bytes("POST", QUOTE_PATH, port, headers, body))
        sizes.append(len(lines))
    return requests, sizes


async def _quote_in_turn(port: int, requests: list[bytes]) -> list[Exchange]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        return [await exchange(reader, writer, request) for request in requests]
    finally:
        writer.close()


def quotes(port: int, requests: list[bytes]) -> list[dict[str, Any]]:
    """The answers to `requests`, one after the other on one connection; raises unless 200."""
    answers = []
    for number, result in enumerate(asyncio.run(_quote_in_turn(port, requests))):
        body = result.body.decode(errors="replace")
        if result.status != 200:
            raise RuntimeError(f"cart {number} answered {result.status}: {body[:500]}")
        answers.append(json.loads(body))
    return answers


def confirm_state(port: int, requests: list[bytes], running: bool) -> None:
    """One quote: are the promotions in the state the next measurement is labelled with?"""
    shown = quotes(port, requests[:1])[0]["promotions"] is not None
    if shown != running:
        raise RuntimeError(f"promotions {'not ' if running else ''}applied after switching")


@dataclass(frozen=True)
class PricingCheck:
    problems: list[str]
    summary: list[str]


def check_pricing(plain: list[dict[str, Any]], promoted: list[dict[str, Any]]) -> PricingCheck:
    """Compare the same carts quoted with the promotions paused and running."""
    problems = []
    changed, savings = 0, []
    applied_per_cart: list[int] = []
    kinds: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for number, (before, after) in enumerate(zip(plain, promoted, strict=True)):
        result = after["promotions"]
        if not (before["orderable"] and after["orderable"]):
            problems.append(f"cart {number} not orderable: {before['problems']}")
        if before["promotions"] is not None:
            problems.append(f"cart {number}: promotions shown while all are paused")
        if result is None:
            problems.append(f"cart {number}: no promotions block while they run")
            continue
        if result["before_promotions_fen"] != before["payable_fen"]:
            problems.append(
                f"cart {number}: {result['before_promotions_fen']} fen before promotions,"
                f" {before['payable_fen']} fen payable with none running"
            )
        if after["payable_fen"] != before["payable_fen"]:
            changed += 1
            savings.append(1 - after["payable_fen"] / before["payable_fen"])
        applied_per_cart.append(len(result["applied"]))
        kinds.update(applied["kind"] for applied in result["applied"])
        skipped.update(skip["code"].removeprefix("promo.") for skip in result["skipped"])
    if not changed:
        problems.append("the running promotions changed no cart's payable amount")
    carts = len(plain)
    first = promoted[0]["promotions"] or {"applied": [], "skipped": []}
    first_kinds = Counter(applied["kind"] for applied in first["applied"])
    first_skipped = Counter(skip["code"].removeprefix("promo.") for skip in first["skipped"])
    summary = [
        f"cart 0 ({len(plain[0]['lines'])} lines): payable {plain[0]['payable_fen']:,} fen ->"
        f" {promoted[0]['payable_fen']:,} with {len(first['applied'])} applied"
        f" ({_tally(first_kinds)}), {len(first['skipped'])} skipped ({_tally(first_skipped)})",
        f"over {carts} carts: payable changed on {changed}"
        f" (median saving {100 * statistics.median(savings or [0]):.1f}%);"
        f" promotions applied per cart {min(applied_per_cart, default=0)}-"
        f"{max(applied_per_cart, default=0)}"
        f" (median {statistics.median(applied_per_cart or [0]):.0f});"
        f" applied by kind: {_tally(kinds)}; skipped by reason: {_tally(skipped)}",
    ]
    return PricingCheck(problems, summary)


def _tally(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {count}" for key, count in counter.most_common()) or "none"


# --- the load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    port: int
    requests: list[bytes]
    connections: range  # global numbers of this process's connections
    stride: int  # how far apart in the sequence two connections start
    seconds: float


@dataclass
class Tally:
    """What one client process saw."""

    latencies: list[float] = field(default_factory=list)  # of the 200s
    statuses: Counter[int] = field(default_factory=Counter)
    socket_errors: int = 0
    answer_bytes: int = 0
    refused: str = ""  # the first answer that was not 200
    elapsed: float = 0.0
    cpu: float = 0.0

    def record(self, result: Exchange) -> None:
        self.statuses[result.status] += 1
        self.answer_bytes += len(result.body)
        if result.status == 200:
            self.latencies.append(result.seconds)
        elif not self.refused:
            self.refused = f"{result.status} {result.body[:300].decode(errors='replace')}"


async def _drive(job: Job) -> Tally:
    tally = Tally()
    cpu_start, start = time.process_time(), time.perf_counter()
    deadline = start + job.seconds

    async def connection(number: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, job.port)
        except OSError:
            tally.socket_errors += 1
            return
        position = number * job.stride
        try:
            # The deadline is checked between requests only: the one in flight completes.
            while time.perf_counter() < deadline:
                request = job.requests[position % len(job.requests)]
                tally.record(await exchange(reader, writer, request))
                position += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            tally.socket_errors += 1
        finally:
            writer.close()

    await asyncio.gather(*map(connection, job.connections))
    tally.elapsed = time.perf_counter() - start
    tally.cpu = time.process_time() - cpu_start
    return tally


def _client(job: Job) -> Tally:
    return asyncio.run(_drive(job))


@dataclass(frozen=True)
class Round:
    answered: int  # 200s
    seconds: float  # the longest client's run, last answer included
    p50_ms: float
    p99_ms: float
    not_ok: dict[int, int]  # status -> count, anything but 200
    socket_errors: int
    refused: str
    answer_bytes: int
    server_cpu: float  # seconds, the server process and its children
    postgres_cpu: float  # seconds, the database's PostgreSQL backends
    client_cpu: float
    other_cores: float  # everything else on the machine, in cores (noise)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    def per_quote_ms(self, cpu_seconds: float) -> float:
        return 1000 * cpu_seconds / max(self.answered, 1)

    @property
    def clean(self) -> bool:
        return not self.not_ok and not self.socket_errors


def run_load(
    port: int,
    requests: list[bytes],
    args: argparse.Namespace,
    seconds: float,
    server_pid: int,
    database: str,
) -> Round:
    procs = min(args.client_procs, args.connections)
    stride = max(1, len(requests) // args.connections)
    jobs = [
        Job(port, requests, range(index, args.connections, procs), stride, seconds)
        for index in range(procs)
    ]
    with multiprocessing.Pool(procs) as pool:
        # Counted around the load only: the pool's start-up is not the server's work.
        server_before, pg_before = tree_cpu_seconds(server_pid), postgres_cpu_seconds(database)
        busy_before, started = machine_busy_seconds(), time.perf_counter()
        tallies = pool.map(_client, jobs)
        wall = time.perf_counter() - started
        server_cpu = tree_cpu_seconds(server_pid) - server_before
        postgres_cpu = cpu_delta(pg_before, postgres_cpu_seconds(database))
        busy = machine_busy_seconds() - busy_before
    client_cpu = sum(tally.cpu for tally in tallies)
    latencies = sorted(value for tally in tallies for value in tally.latencies)
    statuses: Counter[int] = sum((tally.statuses for tally in tallies), Counter())
    answered = statuses.pop(200, 0)
    return Round(
        answered=answered,
        seconds=max(tally.elapsed for tally in tallies),
        p50_ms=1000 * percentile(latencies, 0.50),
        p99_ms=1000 * percentile(latencies, 0.99),
        not_ok=dict(statuses),
        socket_errors=sum(tally.socket_errors for tally in tallies),
        refused=next((tally.refused for tally in tallies if tally.refused), ""),
        answer_bytes=sum(tally.answer_bytes for tally in tallies),
        server_cpu=server_cpu,
        postgres_cpu=postgres_cpu,
        client_cpu=client_cpu,
        other_cores=max(0.0, busy - server_cpu - postgres_cpu - client_cpu) / wall,
    )


# --- reporting -----------------------------------------------------------------------------


def describe(m: Round) -> str:
    total = m.answered + sum(m.not_ok.values())
    text = (
        f"{m.rate:7.1f} quotes/s  p50 {m.p50_ms:6.1f} ms  p99 {m.p99_ms:6.1f} ms"
        f"  ({m.answered} x 200 in {m.seconds:.1f} s; CPU ms/quote: server"
        f" {m.per_quote_ms(m.server_cpu):.2f}, postgres {m.per_quote_ms(m.postgres_cpu):.2f},"
        f" client {m.per_quote_ms(m.client_cpu):.2f}; {m.answer_bytes / max(total, 1) / 1024:.1f}"
        f" KB/answer; other processes {m.other_cores:.2f} cores)"
    )
    if not m.clean:
        text += f"  !! other statuses {m.not_ok}, {m.socket_errors} socket errors; {m.refused}"
    return text


def report(results: dict[str, list[Round]], args: argparse.Namespace, checks_held: bool) -> None:
    def median(variant: str, figure: str) -> float:
        values = []
        for m in results[variant]:
            if figure in ("server_cpu", "postgres_cpu"):
                values.append(m.per_quote_ms(getattr(m, figure)))
            elif figure == "answer_kb":
                values.append(m.answer_bytes / max(m.answered, 1) / 1024)
            else:
                values.append(getattr(m, figure))
        return statistics.median(values)

    print()
    print(
        f"Median of {args.rounds} round(s) of {args.duration} s per variant, alternating ABBA;"
        f" {args.connections} connections from {args.client_procs} client processes; DB pool"
        f" {args.pool}; {args.carts} carts of 5-20 lines over {args.skus} SKUs, {args.stores}"
        f" stores; {args.promotions} promotions running in the second variant."
    )
    head = ("quotes/s", "p50 ms", "p99 ms", "server CPU ms/q", "PG CPU ms/q", "KB/answer")
    print(
        f"{'':16} {head[0]:>9} {head[1]:>8} {head[2]:>8} {head[3]:>16} {head[4]:>12} {head[5]:>10}"
    )
    for variant in results:
        print(
            f"{variant:16} {median(variant, 'rate'):9.1f} {median(variant, 'p50_ms'):8.1f}"
            f" {median(variant, 'p99_ms'):8.1f} {median(variant, 'server_cpu'):16.2f}"
            f" {median(variant, 'postgres_cpu'):12.2f} {median(variant, 'answer_kb'):10.1f}"
        )
    ratio = median(WITH_PROMOTIONS, "rate") / median(LIST_ONLY, "rate")
    costs = {
        figure: median(WITH_PROMOTIONS, figure) / max(median(LIST_ONLY, figure), 1e-9)
        for figure in ("server_cpu", "postgres_cpu", "p50_ms", "p99_ms")
    }
    print()
    print(
        f"RATIO quote with promotions / list-price-only = {ratio:.2f}x"
        " (quotes/s; 1.00x would mean the promotions cost nothing; no target, reported only)"
    )
    print(
        f"Cost per quote, with promotions / list-price-only: server CPU"
        f" {costs['server_cpu']:.2f}x, PostgreSQL CPU {costs['postgres_cpu']:.2f}x,"
        f" latency p50 {costs['p50_ms']:.2f}x, p99 {costs['p99_ms']:.2f}x"
    )
    other = statistics.median(m.other_cores for runs in results.values() for m in runs)
    if other > 0.2:
        print(f"WARNING: other processes used a median {other:.2f} cores during the runs.")
    placement = "server pinned to CPU 0, client to CPU 1" if args.pin else "not pinned"
    print(
        f"Note: {os.cpu_count()} cores shared by the server, the client, PostgreSQL and Redis"
        f" ({placement}); compare ratios, not absolute figures."
    )
    print(
        "Checks (every answer 200; promotions shown only while running; amount before"
        " promotions = list-price-only payable; payable changed on some carts):"
        f" {'all held' if checks_held else 'FAILED'}"
    )


def profile(
    pid: int, port: int, requests: list[bytes], args: argparse.Namespace, database: str
) -> None:
    spy = start_profile(pid, args.duration, args.profile)
    if spy is None:
        return
    time.sleep(1)  # py-spy attaches
    m = run_load(port, requests, args, args.duration, pid, database)
    spy.wait(timeout=args.duration + 60)
    print()
    print(f"profiled run with promotions (py-spy slows it): {describe(m)}")
    print(summarize_profile(args.profile, top=40))
    print(f"raw stacks: {args.profile}")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per variant")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both variants (median)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--pool", type=int, default=5, help="DB connections of the server")
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--skus", type=int, default=40)
    parser.add_argument("--promotions", type=int, default=30, help="promotions created")
    parser.add_argument("--carts", type=int, default=500, help="distinct quote requests")
    parser.add_argument("--check", type=int, default=40, help="carts checked before the load")
    parser.add_argument("--seed", type=int, default=20260315, help="carts and promotions seed")
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--redis-db", type=int, default=DEFAULT_REDIS_DB, help="Redis db number")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="then load once more with promotions under py-spy; write its raw stacks to FILE",
    )
    args = parser.parse_args()
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    if args.skus < 5:
        parser.error("--skus must be at least 5 (carts have 5-20 lines)")
    if min(args.promotions, args.carts, args.check, args.connections, args.client_procs) < 1:
        parser.error("--promotions, --carts, --check, --connections, --client-procs must be > 0")
    return args


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="b2bc-bench-quote-"))
    database = f"b2bc_bench_quote_{os.getpid()}"
    dsn = f"postgres://postgres@{HOST}:5432/{database}"
    port = free_port()
    env = server_env(
        database=database,
        data_dir=tmp / "data",
        port=port,
        redis_url=f"redis://{HOST}:6379/{args.redis_db}",
        extra_db_params=f"minsize=1&maxsize={args.pool}",
    )
    server: subprocess.Popen[bytes] | None = None
    checks_held = True
    try:
        settings = load_settings(env)  # writes the secrets the server reads
        asyncio.run(create_database(database))
        print(f"database {database}: migrating and seeding demo data ...", flush=True)
        subprocess.run(
            b2bc_command("demo"), cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        print(f"adding {args.skus} SKUs with stock and {args.stores} stores with owners ...")
        fixture = asyncio.run(seed(dsn, settings.jwt_secret, args))
        catalog = asyncio.run(catalog_facts(dsn, fixture.sku_ids))

        log = tmp / "api.log"
        server = start_server(b2bc_command("serve", "--workers", "1"), env, log)
        wait_ready(f"http://{HOST}:{port}/healthz", server, log)
        if args.pin:
            pin(server, 0)
            os.sched_setaffinity(0, {1})  # the client processes inherit it

        admin = login(port)
        paused = pause_running(port, admin)
        print(f"paused the promotions the demo left running: {', '.join(paused) or 'none'}")
        rng = random.Random(args.seed)
        promotion_ids = create_promotions(
            port, admin, promotion_plan(rng, args.promotions, catalog)
        )
        requests, sizes = build_requests(rng, fixture, args.carts, port)
        print(
            f"created {len(promotion_ids)} promotions (drafts) and {len(requests)} carts of"
            f" {min(sizes)}-{max(sizes)} lines (median {statistics.median(sizes):.0f})"
        )

        plain = quotes(port, requests[: args.check])
        switch(port, admin, promotion_ids, running=True)
        check = check_pricing(plain, quotes(port, requests[: args.check]))
        print("with promotions running:")
        for line in check.summary:
            print(f"  {line}")
        for problem in check.problems:
            print(f"  PROBLEM: {problem}")
        checks_held = not check.problems

        # Promotions are running now: warm that variant up first, then the other.
        running = True
        print(f"warm-up {args.warmup} s per variant ...", flush=True)
        for variant in (WITH_PROMOTIONS, LIST_ONLY):
            if running != (variant == WITH_PROMOTIONS):
                running = not running
                switch(port, admin, promotion_ids, running)
            run_load(port, requests, args, args.warmup, server.pid, database)

        results: dict[str, list[Round]] = {LIST_ONLY: [], WITH_PROMOTIONS: []}
        for round_number in range(1, args.rounds + 1):
            # ABBA: the variant measured last keeps its state for the next round's first.
            order = [LIST_ONLY, WITH_PROMOTIONS]
            for variant in order if round_number % 2 else order[::-1]:
                wanted = variant == WITH_PROMOTIONS
                if running != wanted:
                    switch(port, admin, promotion_ids, wanted)
                    running = wanted
                confirm_state(port, requests, running)
                m = run_load(port, requests, args, args.duration, server.pid, database)
                results[variant].append(m)
                checks_held = checks_held and m.clean
                print(f"round {round_number} {variant:15} {describe(m)}", flush=True)
        report(results, args, checks_held)
        if args.profile:
            if not running:
                switch(port, admin, promotion_ids, running=True)
            profile(server.pid, port, requests, args, database)
    finally:
        if server is not None:
            stop_server(server)
        asyncio.run(drop_database(database))
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if checks_held else 1


if __name__ == "__main__":
    sys.exit(main())
