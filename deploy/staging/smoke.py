"""The staging fleet's smoke test (`make smoke`, after `make staging`): every step through nginx.

    python deploy/staging/smoke.py            # the whole run, ~2-3 minutes
    python deploy/staging/smoke.py --stores 50 --no-restart   # quicker, no rolling restart

1. First brand: `b2bc demo` against the staging database (production mode has no demo of its
   own; the demo is the documented way to a first brand, its staff and a store owner).
2. Through nginx (B2BC_PUBLIC_BASE_URL): staff sign in (and the login rate limit counts the
   address nginx saw, not a forged X-Forwarded-For); the demo's store owner signs in
   with a wx.login code from the sandbox; orders; pays (the Pay sandbox completes the
   payment and posts its signed notification to the API through nginx); the order turns
   paid; the distributor accepts and ships; the store files a complaint, the brand
   acknowledges and assigns it, the distributor answers.
3. Live: --stores stores of the first distributor with their owners (one INSERT, as
   bench/live_fanout.py seeds them) and a started session for exactly them; each store
   opens a websocket through nginx and joins; both realtime processes must hold clients
   (their established connections from nginx); the host starts a red-packet rain, everyone
   grabs once; the rain's invariants (bench/live_rain.py's check_rain).
4. `b2bc ledger-check`.
5. Rolling restart: worker, realtime-1, realtime-2, api-1, api-2 (SIGTERM, start, healthy),
   then nginx reloads, one at a time, while stores keep ordering and paying (retrying a
   refused request with the same Idempotency-Key), complaints move (jobs), and a second rain
   runs with stores that reconnect when their realtime process goes; then: every order
   placed exists once, every payment succeeded once and its order turned paid once, each
   store won at most once and the grants' sum equals their ledger credits, no job failed or
   stuck, and the ledger still balances.

Prints one line per check and a summary; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "bench")]

import fleet  # noqa: E402
from live_fanout import Platform, SioClient, _seed, clear_live_keys, open_client  # noqa: E402
from live_rain import check_rain  # noqa: E402

from backend.demo.seed import DEMO_OWNER_PERSONA, DEMO_PASSWORD  # noqa: E402
from backend.integrations.wechat.sandbox import openid_for  # noqa: E402

# How long a store keeps retrying one request during the restarts: past the 2 minutes after
# which an idempotency key left "in progress" by a stopped process is freed.
RETRY_SECONDS = 150
# What nginx must not pass on: each process's metrics, and the sandbox's paths.
PRIVATE_PATHS = ("/metrics", "/wx-sandbox/sandbox/login-code")
RESTART_ORDER = ["worker", "realtime-1", "realtime-2", "api-1", "api-2", "nginx"]


@dataclass
class Report:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, ok, detail))
        print(f"  {'ok    ' if ok else 'FAILED'} {name}" + (f": {detail}" if detail else ""))
        return ok

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


class Failed(Exception):
    """A step the rest depends on failed (the check is already reported)."""


class Smoke:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.env = fleet.read_env_file()
        self.dsn = self.env["DATABASE_URL"]
        self.base = self.env["B2BC_PUBLIC_BASE_URL"]
        self.appid = self.env["WECHAT_APPID"]
        self.report = Report()
        # Everything but the sandbox (which plays WeChat and its payers) goes to nginx.
        self.api = httpx.AsyncClient(base_url=self.base, timeout=30)
        self.wx = httpx.AsyncClient(base_url=self.env["WECHAT_API_BASE_URL"], timeout=30)
        self.pay = httpx.AsyncClient(base_url=self.env["WECHAT_PAY_API_BASE_URL"], timeout=30)
        self.staff: dict[str, dict[str, str]] = {}
        self.owner: dict[str, str] = {}
        self.store_id = 0  # the demo owner's store, which orders throughout
        self.sku: tuple[int, int] = (0, 0)  # (sku id, quantity of one order)
        # Retries of a create whose first attempt is still "in progress": one cut off by a
        # process that stopped without finishing it (its key is freed after 2 minutes).
        self.in_progress_retries = 0
        # Complaint steps whose retry was refused because the first attempt had gone through.
        self.steps_reconciled = 0

    async def close(self) -> None:
        for client in (self.api, self.wx, self.pay):
            await client.aclose()

    # --- HTTP helpers -----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        retry_seconds: float = 0,
        **kwargs: Any,
    ) -> Any:
        """One request through nginx; with `retry_seconds`, a refused or cut-off one (a
        restart under way) is sent again, as a client would, with the same headers (and so
        the same Idempotency-Key)."""
        deadline = time.monotonic() + retry_seconds
        while True:
            try:
                response = await self.api.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    continue
                raise Failed(f"{method} {path}: {exc!r}") from exc
            if retryable(response) and time.monotonic() < deadline:
                if response.status_code == 409:
                    self.in_progress_retries += 1
                await asyncio.sleep(0.2 if response.status_code != 409 else 2)
                continue
            if not response.is_success:
                raise Failed(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response.json()

    async def staff_login(self, username: str) -> dict[str, str]:
        body = {"username": username, "password": DEMO_PASSWORD}
        tokens = await self.call("POST", "/api/v1/auth/staff/login", json=body)
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    async def client_address(self) -> None:
        """The API counts login attempts by the client's address: the one nginx saw, never
        what the client wrote into X-Forwarded-For. The smoke connects from 127.0.0.2 (all of
        127/8 is this machine) so that address differs from nginx's own."""
        forged = "203.0.113.9"
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(base_url=self.base, transport=transport) as other:
            await other.post(
                "/api/v1/auth/staff/login",
                json={"username": "brand_ops", "password": DEMO_PASSWORD},
                headers={"X-Forwarded-For": forged},
            )
        redis = aioredis.Redis.from_url(self.env["REDIS_URL"])
        try:
            seen = {
                key.decode().rpartition(":")[2]
                async for key in redis.scan_iter(match="auth:login-rate:*")
            }
        finally:
            await redis.aclose()
        self.report.check(
            "the API rate-limits by the address nginx saw, not a forged X-Forwarded-For",
            "127.0.0.2" in seen and forged not in seen,
            f"addresses counted: {', '.join(sorted(seen))}",
        )

    async def login_code(self, persona: str) -> str:
        response = await self.wx.post(
            "/sandbox/login-code", json={"appid": self.appid, "persona": persona}
        )
        response.raise_for_status()
        return str(response.json()["code"])

    # --- 1. first brand ---------------------------------------------------------------------

    def seed_demo(self) -> None:
        began = time.monotonic()
        done = subprocess.run(
            fleet.b2bc("demo"),
            check=False,
            cwd=fleet.ROOT,
            env=fleet.fleet_env(),
            capture_output=True,
        )
        ok = done.returncode == 0
        detail = f"{time.monotonic() - began:.1f} s" if ok else done.stderr.decode()[-800:]
        if not self.report.check("b2bc demo against the staging database", ok, detail):
            raise Failed("no demo data")

    # --- 2. the store's journey -------------------------------------------------------------

    async def journey(self) -> None:
        r = self.report
        for username in ("brand_admin", "dist1_admin"):
            self.staff[username] = await self.staff_login(username)
        r.check("staff sign in (brand_admin, dist1_admin)", True)
        await self.client_address()
        hidden = {path: (await self.api.get(path)).status_code for path in PRIVATE_PATHS}
        r.check(
            "nginx keeps /metrics and the sandbox private",
            set(hidden.values()) == {404},
            ", ".join(f"{path} {status}" for path, status in hidden.items()),
        )
        code = await self.login_code(DEMO_OWNER_PERSONA)
        tokens = await self.call("POST", "/api/v1/auth/wechat/login", json={"code": code})
        self.owner = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = await self.call("GET", "/api/v1/me", self.owner)
        current = me.get("current") or {}
        self.store_id = int(current.get("store_id") or 0)
        r.check(
            "store owner signs in with a sandbox wx.login code",
            current.get("role") == "store_owner",
            f"user {me['id']}, store {current.get('store_id')}",
        )
        self.sku = await self.pick_sku()
        order = await self.place_order()
        r.check("store places an order", order["status"] == "pending_payment", f"#{order['id']}")
        out_trade_no = await self.pay_order(order["id"])
        paid = await self.wait_status(order["id"], "paid", 20)
        r.check(
            "Pay sandbox notifies the API through nginx; the order turns paid",
            paid,
            f"out_trade_no {out_trade_no}",
        )
        dist = self.staff["dist1_admin"]
        await self.call("POST", f"/api/v1/orders/{order['id']}/accept", dist)
        await self.call("POST", f"/api/v1/orders/{order['id']}/ship", dist, json={"carrier": "own"})
        shipped = await self.call("GET", f"/api/v1/orders/{order['id']}", self.owner)
        r.check("distributor accepts and ships", shipped["status"] == "shipped", shipped["status"])
        complaint = await self.complain(order["id"])
        answered = await self.call("GET", f"/api/v1/complaints/{complaint}", self.owner)
        r.check(
            "complaint filed, acknowledged, assigned and answered",
            answered["status"] == "responded",
            f"#{complaint} {answered['status']}",
        )

    async def pick_sku(self) -> tuple[int, int]:
        """The SKU the demo owner's distributor stocks most of, topped up for the rolling
        restart's orders, and an order's quantity of it (its minimum, in whole cases)."""
        openid = openid_for(self.appid, DEMO_OWNER_PERSONA)
        conn = await asyncpg.connect(self.dsn)
        try:
            row = await conn.fetchrow(
                "SELECT k.id, k.min_order_qty, k.case_size, d.distributor_id"
                " FROM wechat_accounts w JOIN stores s ON s.owner_id = w.user_id"
                " JOIN distributor_skus d ON d.distributor_id = s.distributor_id"
                " JOIN skus k ON k.id = d.sku_id"
                " WHERE w.openid = $1 ORDER BY d.stock DESC, k.id LIMIT 1",
                openid,
            )
            if row is None:
                raise Failed("the demo owner's distributor stocks nothing")
            await conn.execute(
                "UPDATE distributor_skus SET stock = stock + 1000000"
                " WHERE sku_id = $1 AND distributor_id = $2",
                row["id"],
                row["distributor_id"],
            )
        finally:
            await conn.close()
        case = max(1, int(row["case_size"]))
        quantity = max(case, -(-int(row["min_order_qty"]) // case) * case)
        return int(row["id"]), quantity

    async def place_order(self, key: str | None = None, retry_seconds: float = 0) -> Any:
        headers = {**self.owner, "Idempotency-Key": key or str(uuid.uuid4())}
        body = {"lines": [{"sku_id": self.sku[0], "quantity": self.sku[1]}]}
        return await self.call(
            "POST", "/api/v1/orders", headers, json=body, retry_seconds=retry_seconds
        )

    async def pay_order(self, order_id: int, retry_seconds: float = 0) -> str:
        started = await self.call(
            "POST", f"/api/v1/orders/{order_id}/pay", self.owner, retry_seconds=retry_seconds
        )
        out_trade_no = str(started["out_trade_no"])
        deadline = time.monotonic() + max(retry_seconds, 5)
        while True:
            completed = await self.pay.post(
                "/sandbox/pay/complete", json={"out_trade_no": out_trade_no}
            )
            if completed.status_code == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        if completed.status_code != 200:
            raise Failed(f"sandbox could not complete {out_trade_no}: {completed.text[:300]}")
        return out_trade_no

    async def wait_status(self, order_id: int, status: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            order = await self.call(
                "GET", f"/api/v1/orders/{order_id}", self.owner, retry_seconds=10
            )
            if order["status"] == status:
                return True
            await asyncio.sleep(0.2)
        return False

    async def complain(self, order_id: int, retry_seconds: float = 0) -> int:
        body = {"category": "quality", "order_id": order_id, "text": "滤芯外壳有裂纹"}
        headers = {**self.owner, "Idempotency-Key": str(uuid.uuid4())}
        complaint = await self.call(
            "POST", "/api/v1/complaints", headers, json=body, retry_seconds=retry_seconds
        )
        number = int(complaint["id"])
        brand, dist = self.staff["brand_admin"], self.staff["dist1_admin"]
        for who, action, message, reached in (
            (brand, "acknowledge", "", "acknowledged"),
            (brand, "assign", "", "assigned"),
            (dist, "respond", "明天上门更换", "responded"),
        ):
            try:
                await self.call(
                    "POST",
                    f"/api/v1/complaints/{number}/{action}",
                    who,
                    json={"message": message},
                    retry_seconds=retry_seconds,
                )
            except Failed:
                # A step has no Idempotency-Key: when its answer was lost (the connection cut
                # by a restart) and the retry is refused, the client reads where it stands.
                if not retry_seconds:
                    raise
                now = await self.call(
                    "GET", f"/api/v1/complaints/{number}", who, retry_seconds=retry_seconds
                )
                if now["status"] != reached:
                    raise
                self.steps_reconciled += 1
        return number

    # --- 3. live ----------------------------------------------------------------------------

    def live_platform(self) -> Platform:
        return Platform(
            database=self.dsn.rsplit("/", 1)[1],
            dsn=self.dsn,
            tmp=fleet.STATE,
            env=fleet.fleet_env(),
            redis_url=self.env["REDIS_URL"],
        )

    async def live(self, platform: Platform) -> None:
        r = self.report
        stores = self.args.stores
        # One rain now (fewer packets than stores: some go empty-handed); one during the
        # rolling restart, open long enough to span both realtime processes' restarts.
        rain = {"total_fen": 20_000, "count": stores // 2, "duration_seconds": 8}
        later = {"total_fen": 10_000, "count": stores, "duration_seconds": 60}
        await _seed(platform, stores, [rain, later], self.env["B2BC_JWT_SECRET"])
        host = await open_client(fleet.NGINX_PORT, {"token": platform.host_token}, ignore)
        clients: list[SioClient] = []
        try:
            joined = await host.call("join", {"session_id": platform.session_id})
            if not joined.get("ok"):
                raise Failed(f"the host cannot join: {joined}")
            clients = await self.connect_stores(platform, range(stores))
            r.check(
                f"{stores} stores connect through nginx and join the session",
                len(clients) == stores,
                f"{len(clients)} joined",
            )
            spread = {port: established(port) for port in fleet.REALTIME_PORTS}
            r.check(
                "both realtime processes hold clients",
                all(count > 0 for count in spread.values()),
                ", ".join(f"port {port}: {n}" for port, n in spread.items()),
            )
            reply = await host.call("host:rain", {"rain_id": platform.rain_ids[0]})
            if not reply.get("ok"):
                raise Failed(f"host:rain refused: {reply}")
            results = await grab_all(clients, platform.rain_ids[0])
            won = {int(e[0]): int(e[4]) for e in results if e[3] and not e[5]}
            await wait_rain_ended(self.dsn, platform.rain_ids[0], 30)
            for name, ok, detail in await check_rain(platform, platform.rain_ids[0], results, won):
                r.check(f"rain: {name}", ok, detail)
        finally:
            host.close()
            for client in clients:
                client.close()

    async def connect_stores(self, platform: Platform, which: range) -> list[SioClient]:
        gate = asyncio.Semaphore(50)

        async def one(index: int) -> SioClient | None:
            async with gate:
                try:
                    client = await open_client(
                        fleet.NGINX_PORT, {"token": platform.owner_tokens[index]}, ignore
                    )
                except (OSError, ConnectionError, TimeoutError):
                    return None
                client.tag = platform.store_ids[index]
                reply = await client.call("join", {"session_id": platform.session_id})
                return client if reply.get("ok") else None

        connected = await asyncio.gather(*(one(i) for i in which))
        return [client for client in connected if client is not None]

    # --- 4. ledger --------------------------------------------------------------------------

    def ledger_check(self, when: str) -> None:
        done = subprocess.run(
            fleet.b2bc("ledger-check"),
            check=False,
            cwd=fleet.ROOT,
            env=fleet.fleet_env(),
            capture_output=True,
        )
        out = done.stdout.decode().strip().splitlines()
        self.report.check(f"b2bc ledger-check {when}", done.returncode == 0, out[-1] if out else "")

    # --- 5. rolling restart -----------------------------------------------------------------

    async def rolling_restart(self, platform: Platform) -> None:
        r = self.report
        since = await db_now(self.dsn)
        cut_before = cut_off_requests()
        stop = asyncio.Event()
        traffic = Traffic()
        grabs = Grabbers(self, platform, platform.rain_ids[1])
        await grabs.start()
        loops = [
            asyncio.create_task(self.keep_ordering(traffic, stop)) for _ in range(self.args.buyers)
        ]
        grabbing = asyncio.create_task(grabs.run(stop))
        try:
            await asyncio.sleep(1)
            for name in RESTART_ORDER:
                done = await asyncio.to_thread(fleet.restart, name)
                # A process SIGKILLed after the grace period is reported, not failed: what it
                # cut short must still be whole, which the invariants below check.
                how = "drained" if done.drained else "SIGKILLed after the grace period"
                if name == "nginx":
                    step = "reload nginx (SIGHUP: new workers, the old ones finish)"
                    detail = f"{done.seconds:.1f} s"
                else:
                    step = f"restart {name} (SIGTERM, start, healthy)"
                    detail = f"stopped in {done.stop_seconds:.1f} s ({how}), back in"
                    detail += f" {done.seconds:.1f} s"
                r.check(step, True, detail)
                await asyncio.sleep(1)
        finally:
            stop.set()
            await asyncio.gather(*loops, grabbing, return_exceptions=True)
            grabs.close()
        r.check(
            "stores kept ordering during the restarts",
            traffic.placed > 0 and not traffic.errors,
            f"{traffic.placed} orders placed, {traffic.paid} paid, {traffic.complaints} "
            f"complaints; {sum(traffic.errors.values())} errors {dict(traffic.errors)};"
            f" {self.in_progress_retries} retries of a create cut off by a stop,"
            f" {self.steps_reconciled} complaint steps found done on retry;"
            # Requests the API logged as cancelled: cut by a stop that did not drain, or left
            # by nginx (its connection closed); the invariants below must hold either way.
            f" {cut_off_requests() - cut_before} requests the API logged as cancelled",
        )
        await self.check_orders(traffic, since)
        await wait_rain_ended(self.dsn, platform.rain_ids[1], 90)
        await self.check_grabs(platform, grabs)
        await self.check_jobs(since)
        self.ledger_check("after the rolling restart")

    async def keep_ordering(self, traffic: Traffic, stop: asyncio.Event) -> None:
        while not stop.is_set():
            key = str(uuid.uuid4())
            try:
                order = await self.place_order(key, retry_seconds=RETRY_SECONDS)
                traffic.orders.setdefault(key, []).append(int(order["id"]))
                traffic.placed += 1
                traffic.trade_nos[int(order["id"])] = await self.pay_order(
                    int(order["id"]), retry_seconds=RETRY_SECONDS
                )
                traffic.paid += 1
                if traffic.placed % 4 == 0:
                    await self.complain(int(order["id"]), retry_seconds=RETRY_SECONDS)
                    traffic.complaints += 1
            except Failed as exc:
                traffic.errors[str(exc)[:120]] += 1

    async def check_orders(self, traffic: Traffic, since: Any) -> None:
        r = self.report
        placed = {order_id for ids in traffic.orders.values() for order_id in ids}
        deadline = time.monotonic() + 30
        conn = await asyncpg.connect(self.dsn)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT o.id, o.status,"
                    " (SELECT count(*) FROM payments p WHERE p.order_id = o.id"
                    "   AND p.status = 'succeeded') AS succeeded,"
                    " (SELECT count(*) FROM order_events e WHERE e.order_id = o.id"
                    "   AND e.to_status = 'paid') AS paid_events"
                    " FROM orders o WHERE o.created_at >= $1 AND o.store_id = $2",
                    since,
                    self.store_id,
                )
                unpaid = [
                    row["id"]
                    for row in rows
                    if row["id"] in traffic.trade_nos and row["status"] != "paid"
                ]
                if not unpaid or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        finally:
            await conn.close()
        in_db = Counter(int(row["id"]) for row in rows)
        keys_once = all(len(set(ids)) == 1 for ids in traffic.orders.values())
        r.check(
            "every order placed exists once (one order per Idempotency-Key)",
            set(in_db) == placed and keys_once and all(n == 1 for n in in_db.values()),
            f"{len(placed)} placed, {len(in_db)} in the database",
        )
        paid = [row for row in rows if int(row["id"]) in traffic.trade_nos]
        r.check(
            "every payment succeeded once and its order turned paid once",
            all(
                row["status"] == "paid" and row["succeeded"] == 1 and row["paid_events"] == 1
                for row in paid
            )
            and len(paid) == len(traffic.trade_nos),
            f"{len(paid)} paid orders; not paid: {unpaid}",
        )

    async def check_grabs(self, platform: Platform, grabs: Grabbers) -> None:
        r = self.report
        rain_id = platform.rain_ids[1]
        conn = await asyncpg.connect(self.dsn)
        try:
            grants = await conn.fetch(
                "SELECT store_id, amount_fen FROM red_packet_grants WHERE rain_id = $1", rain_id
            )
            credits = await conn.fetchrow(
                "SELECT count(*) AS n, coalesce(sum(e.amount), 0) AS fen"
                " FROM ledger_entries e JOIN red_packet_grants g ON g.id = e.cause_id"
                " WHERE e.cause = 'red_packet' AND g.rain_id = $1",
                rain_id,
            )
            rain = await conn.fetchrow(
                "SELECT status, granted_count, granted_fen, total_fen, returned_fen"
                " FROM red_packet_rains WHERE id = $1",
                rain_id,
            )
        finally:
            await conn.close()
        stores = [int(g["store_id"]) for g in grants]
        fen = sum(int(g["amount_fen"]) for g in grants)
        acked = {store: amount for store, amount in grabs.won.items()}
        r.check(
            "grabs during the restarts: each acknowledged win is a grant",
            all(
                dict((int(g["store_id"]), int(g["amount_fen"])) for g in grants).get(s) == a
                for s, a in acked.items()
            ),
            f"{len(acked)} wins acknowledged over {grabs.reconnects} reconnects, "
            f"{len(grants)} grants",
        )
        r.check(
            "grabs counted once: one grant per store, ledger credits == grants",
            len(stores) == len(set(stores))
            and int(credits["n"]) == len(grants)
            and int(credits["fen"]) == fen
            and int(rain["granted_count"]) == len(grants)
            and int(rain["granted_fen"]) == fen,
            f"{len(grants)} grants, {fen} fen; credits {credits['n']} / {credits['fen']} fen",
        )
        r.check(
            "rain ended and returned the rest",
            rain["status"] == "ended" and int(rain["returned_fen"]) == int(rain["total_fen"]) - fen,
            f"{rain['status']}, returned {rain['returned_fen']}",
        )

    async def check_jobs(self, since: Any) -> None:
        deadline = time.monotonic() + 60
        conn = await asyncpg.connect(self.dsn)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT status, count(*) AS n FROM jobs WHERE created_at >= $1 GROUP BY status",
                    since,
                )
                counts = {row["status"]: int(row["n"]) for row in rows}
                open_jobs = sum(n for status, n in counts.items() if status not in ("done",))
                if not open_jobs or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        finally:
            await conn.close()
        self.report.check(
            "no job lost: every job of the run done (none failed, pending or stuck)",
            bool(counts) and set(counts) == {"done"},
            str(counts),
        )


@dataclass
class Traffic:
    orders: dict[str, list[int]] = field(default_factory=dict)  # Idempotency-Key: order ids
    trade_nos: dict[int, str] = field(default_factory=dict)
    placed: int = 0
    paid: int = 0
    complaints: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Grabbers:
    """Stores in the live room through the restarts: a store whose connection drops (its
    realtime process restarting) reconnects through nginx, joins again and grabs until its
    grab is acknowledged; each store's win must be counted once."""

    def __init__(self, smoke: Smoke, platform: Platform, rain_id: int) -> None:
        self.smoke, self.platform, self.rain_id = smoke, platform, rain_id
        self.indexes = range(min(smoke.args.grabbers, len(platform.store_ids)))
        self.won: dict[int, int] = {}
        self.answered: set[int] = set()
        self.reconnects = 0
        self.clients: dict[int, SioClient] = {}

    async def start(self) -> None:
        host = await open_client(fleet.NGINX_PORT, {"token": self.platform.host_token}, ignore)
        try:
            await host.call("join", {"session_id": self.platform.session_id})
            reply = await host.call("host:rain", {"rain_id": self.rain_id})
            if not reply.get("ok"):
                raise Failed(f"host:rain refused: {reply}")
        finally:
            host.close()

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self.store(index, stop) for index in self.indexes))

    async def store(self, index: int, stop: asyncio.Event) -> None:
        """Grab once now and then again every second (the server answers `again` with the
        same packet): every answer must agree, whichever process gave it."""
        store_id = self.platform.store_ids[index]
        while not stop.is_set():
            client = self.clients.get(index)
            try:
                if client is None or client.closed:
                    if client is not None:
                        self.reconnects += 1
                    client = await open_client(
                        fleet.NGINX_PORT, {"token": self.platform.owner_tokens[index]}, ignore
                    )
                    self.clients[index] = client
                    joined = await client.call("join", {"session_id": self.platform.session_id})
                    if not joined.get("ok"):
                        raise ConnectionError(str(joined))
                reply = await asyncio.wait_for(client.call("grab", {"rain_id": self.rain_id}), 10)
            except (OSError, ConnectionError, TimeoutError):
                await asyncio.sleep(0.3)
                continue
            if reply.get("ok"):
                amount = int(reply["data"]["amount_fen"])
                if self.won.setdefault(store_id, amount) != amount:
                    self.won[store_id] = -1  # two different packets: never a grant
                self.answered.add(store_id)
            await asyncio.sleep(1)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


# --- helpers --------------------------------------------------------------------------------


def cut_off_requests() -> int:
    """Requests the API processes logged as cancelled mid-way (so far, across restarts)."""
    return sum(
        fleet.tail(fleet.by_name(name).log, 10**6).count("RequestCancelled")
        for name in ("api-1", "api-2")
    )


def retryable(response: httpx.Response) -> bool:
    """What a client retries with the same Idempotency-Key: nginx found no process (502/504),
    the API was busy (503), or the first attempt of this key is still being processed."""
    if response.status_code in (502, 503, 504):
        return True
    return response.status_code == 409 and "idempotency.in_progress" in response.text


def ignore(*_: Any) -> None:
    return None


def established(port: int) -> int:
    """Established TCP connections to a local listening port (nginx's to a realtime process:
    one per websocket client it holds)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01":
                    count += 1
    return count


async def grab_all(clients: list[SioClient], rain_id: int) -> list[tuple[Any, ...]]:
    """Every client grabs once, all at the same time; per client the tuple
    bench/live_rain.py's check_rain reads: (store, sent, acked, ok, amount, again) or
    (store, sent, acked, False, code)."""
    sent = time.monotonic()
    replies = await asyncio.gather(
        *(asyncio.wait_for(c.call("grab", {"rain_id": rain_id}), 30) for c in clients),
        return_exceptions=True,
    )
    results: list[tuple[Any, ...]] = []
    for client, reply in zip(clients, replies, strict=True):
        if isinstance(reply, BaseException):
            results.append((client.tag, sent, None, False, "no_ack"))
        elif reply.get("ok"):
            data = reply["data"]
            results.append(
                (client.tag, sent, client.last_ack_at, True, data["amount_fen"], data["again"])
            )
        else:
            results.append((client.tag, sent, client.last_ack_at, False, reply["error"]["code"]))
    return results


async def wait_rain_ended(dsn: str, rain_id: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    conn = await asyncpg.connect(dsn)
    try:
        while time.monotonic() < deadline:
            status = await conn.fetchval(
                "SELECT status FROM red_packet_rains WHERE id = $1", rain_id
            )
            if status == "ended":
                return
            await asyncio.sleep(0.3)
    finally:
        await conn.close()


async def db_now(dsn: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT now()")
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> Report:
    smoke = Smoke(args)
    platform = smoke.live_platform()
    began = time.monotonic()
    try:
        print(f"smoke: the staging fleet at {smoke.base} (all traffic through nginx)")
        smoke.seed_demo()
        print("journey:")
        await smoke.journey()
        print(f"live ({args.stores} stores):")
        await clear_live_keys(platform.redis_url)
        await smoke.live(platform)
        smoke.ledger_check("after the journey and the rain")
        if args.restart:
            print("rolling restart under load:")
            await smoke.rolling_restart(platform)
    except Failed as exc:
        smoke.report.check("smoke ran to the end", False, str(exc))
    finally:
        await smoke.close()
    smoke.report.timings.append(("total", time.monotonic() - began))
    return smoke.report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200, help="stores in the live session")
    parser.add_argument("--buyers", type=int, default=3, help="order loops during restarts")
    parser.add_argument("--grabbers", type=int, default=40, help="grabbing stores in restarts")
    parser.add_argument("--no-restart", dest="restart", action="store_false")
    args = parser.parse_args()
    if not fleet.ENV_FILE.exists() or not fleet.status_quiet():
        print("smoke: no healthy staging fleet; run `make staging` first", file=sys.stderr)
        return 1
    report = asyncio.run(run(args))
    failed = [name for name, ok, _ in report.checks if not ok]
    total = dict(report.timings)["total"]
    print()
    print(
        f"SMOKE {'PASSED' if not failed else 'FAILED'}: {len(report.checks) - len(failed)} of "
        f"{len(report.checks)} checks held in {total:.0f} s"
        + ("" if not failed else "; failed: " + "; ".join(failed))
    )
    if failed:
        print_errors()
    return 0 if not failed else 1


def print_errors(per_process: int = 5) -> None:
    """The fleet's last error lines, so a failed CI run says where to look."""
    print(f"\nlast errors in the fleet's logs ({fleet.LOGS}):")
    for process in fleet.processes():
        lines = fleet.tail(process.log, 2000).splitlines()
        errors = [line for line in lines if "ERROR" in line or "Traceback" in line]
        for line in errors[-per_process:]:
            print(f"  {process.name}: {line[:300]}")


if __name__ == "__main__":
    sys.exit(main())
