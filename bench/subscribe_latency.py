"""A complaint step's answer against WeChat's speed: does the step wait for the subscribe
message (订阅消息) it causes? Since issue 17 it should not: the step writes a job in its
transaction and a worker sends the message after commit.

In one run this script:

1. starts two WeChat sandboxes on loopback ports sharing one state: a fast one, and a slow
   one whose subscribe-message endpoint answers after --delay seconds (default 3);
2. builds the API in this process on a fresh database (a SQLite file by default, or
   --database-url, e.g. postgres://postgres@127.0.0.1:5432/postgres, which gets a throw-away
   database) with the embedded in-process Redis (or --redis-url), and a job worker in the same
   event loop, as `b2bc run` has;
3. makes a brand, a distributor and a store whose owner signed in with WeChat and allows
   plenty of complaint messages; files --complaints complaints;
4. takes the brand's and the distributor's steps (受理 → 转经销商 → 答复 → 标记解决, each one
   sends the owner a message) in blocks of four, alternating fast and slow WeChat block by
   block in the same run, timing each step's HTTP answer;
5. waits for the worker to send every message, checks none went twice, and times the old
   way for reference: the same send awaited inline, as the step did before, on the slow
   sandbox (a few samples);
6. prints p50/p99 of the step with each sandbox and their ratio;
7. with fast WeChat, times each step from its request to its message reaching WeChat, one
   at a time, --delivery-complaints complaints alternating a worker whose relay the commit
   wakes and one that waits for the relay's poll (as before the wake-up), same run.

Run it from the project root:

    .venv/bin/python bench/subscribe_latency.py                    # ~1 minute
    .venv/bin/python bench/subscribe_latency.py --complaints 40 --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.app import create_app  # noqa: E402
from backend.config import load_settings  # noqa: E402
from backend.deps import Deps  # noqa: E402
from backend.identity.models import WechatAccount  # noqa: E402
from backend.infra import db  # noqa: E402
from backend.infra.jobs import DONE, JobRunner, Timing  # noqa: E402
from backend.infra.models import JobRecord  # noqa: E402
from backend.infra.redis import create_redis  # noqa: E402
from backend.integrations.wechat.client import MiniProgramClient  # noqa: E402
from backend.integrations.wechat.pay import WechatPayClient, generate_sandbox_keys  # noqa: E402
from backend.integrations.wechat.sandbox import (  # noqa: E402
    COMPLAINT_UPDATE_TEMPLATE_ID,
    SandboxState,
    create_sandbox_app,
)
from backend.kernel.clock import OffsetClock  # noqa: E402
from backend.notifications import service as notifications_service  # noqa: E402
from backend.notifications.models import SubscribeGrant  # noqa: E402
from backend.worker import TASKS  # noqa: E402
from tests.factories import (  # noqa: E402
    SANDBOX_APPID,
    distributor_admin,
    make_shop,
    store_owner,
)
from tests.test_complaints import filed  # noqa: E402
from tests.test_promotions_admin import admin  # noqa: E402

SEND_PATH = "/cgi-bin/message/subscribe/send"
STEPS = [("brand", "acknowledge"), ("brand", "assign"), ("distributor", "respond")]
STEPS += [("brand", "resolve")]


class Server:
    """An ASGI app on a loopback port, in a thread with its own loop."""

    def __init__(self, app: Any, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def sandbox(
    state: SandboxState, name: str, delay: float, arrivals: list[float] | None = None
) -> Any:
    """`arrivals`: when each subscribe message reached it (perf_counter, this process)."""
    app = create_sandbox_app(state, name=name)
    if arrivals is not None:

        @app.on_request
        async def arrived(request: Any) -> None:
            if request.path == SEND_PATH:
                arrivals.append(time.perf_counter())

    if delay:

        @app.on_request
        async def slow(request: Any) -> None:
            if request.path == SEND_PATH:
                await asyncio.sleep(delay)

    return app


def step_body(shop: Any, action: str) -> dict[str, Any] | None:
    return {"distributor_id": shop.tenant.distributor.id} if action == "assign" else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def fresh_database(url: str | None) -> tuple[str, str | None]:
    if url is None:
        return f"sqlite://{tempfile.mkdtemp(prefix='b2bc-bench-')}/bench.sqlite3", None
    base = url.rsplit("/", 1)[0]
    name = f"b2bc_bench_{uuid.uuid4().hex[:6]}"
    admin_db = await asyncpg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"))
    await admin_db.execute(f'CREATE DATABASE "{name}"')
    await admin_db.close()
    return f"{base}/{name}", name


async def drop_database(url: str, name: str | None) -> None:
    if name is None:
        return
    base = url.rsplit("/", 1)[0]
    admin_db = await asyncpg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"))
    await admin_db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin_db.close()


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


async def run(args: argparse.Namespace) -> None:
    state = SandboxState()
    arrivals: list[float] = []
    with (
        Server(sandbox(state, "bench_fast_wechat", 0.0, arrivals), free_port()) as fast,
        Server(sandbox(state, "bench_slow_wechat", args.delay), free_port()) as slow,
    ):
        database_url, made = await fresh_database(args.database_url)
        data_dir = tempfile.mkdtemp(prefix="b2bc-bench-data-")
        (Path(data_dir) / "wechat_pay_sandbox.json").write_text(
            json.dumps(generate_sandbox_keys().__dict__)
        )
        settings = load_settings(
            {
                "B2BC_DATA_DIR": data_dir,
                "DATABASE_URL": database_url,
                "REDIS_URL": args.redis_url,
                "WECHAT_API_BASE_URL": fast.url,
                "WECHAT_PAY_API_BASE_URL": fast.url,
                "B2BC_ACCESS_LOG": "0",
                "B2BC_LOG_LEVEL": "ERROR",
            }
        )
        state.apps[settings.wechat.appid] = settings.wechat.secret
        await db.migrate(database_url)
        await db.init_db(database_url)
        wechat = {
            "fast": MiniProgramClient(settings.wechat),
            "slow": MiniProgramClient(dataclasses.replace(settings.wechat, api_base_url=slow.url)),
        }
        deps = Deps(
            settings=settings,
            clock=OffsetClock(),
            redis=create_redis(settings.redis_url),
            wechat=wechat["fast"],
            pay=WechatPayClient(settings.wechat_pay),
        )
        app = create_app(settings, deps=deps, manage_db=False, name="bench_subscribe")
        runner = JobRunner(deps, TASKS, redis_url=settings.redis_url, timing=Timing())
        try:
            async with LifespanManager(app):
                transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
                async with (
                    httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
                    httpx.AsyncClient(base_url=fast.url) as sandbox_client,
                ):
                    await measure(
                        args, deps, wechat, runner, client, sandbox_client, state, arrivals
                    )
        finally:
            await db.close_db()
            await deps.redis.aclose()
            await drop_database(args.database_url or "", made)


async def measure(
    args: argparse.Namespace,
    deps: Deps,
    wechat: dict[str, MiniProgramClient],
    runner: JobRunner,
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
    state: SandboxState,
    arrivals: list[float],
) -> None:
    shop = await make_shop()
    parties = {
        "brand": await admin(client, shop),
        "distributor": await distributor_admin(client, shop),
    }
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    user_id = owner["identity"]["user_id"]
    openid = (await WechatAccount.get(user_id=user_id)).openid
    big = 100_000
    await SubscribeGrant.create(
        user_id=user_id,
        template_id=COMPLAINT_UPDATE_TEMPLATE_ID,
        remaining=big,
        updated_at=deps.clock.now(),
    )
    state.subscribe_grants[(SANDBOX_APPID, openid, COMPLAINT_UPDATE_TEMPLATE_ID)] = big
    complaints = [
        (await filed(client, owner, text=f"第{i}台外壳破裂"))["id"] for i in range(args.complaints)
    ]

    await runner.start()
    timings: dict[str, list[float]] = {"fast": [], "slow": []}
    for number, complaint_id in enumerate(complaints):
        mode = "fast" if number % 2 == 0 else "slow"
        deps.wechat = wechat[mode]  # the worker sends this block's messages through it
        for party, action in STEPS:
            body = step_body(shop, action)
            started = time.perf_counter()
            response = await client.post(
                f"/api/v1/complaints/{complaint_id}/{action}", json=body, headers=parties[party]
            )
            timings[mode].append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    expected = len(complaints) * len(STEPS)
    deadline = time.monotonic() + 120
    while await JobRecord.filter(status=DONE).count() < expected:
        assert time.monotonic() < deadline, "the worker did not send every message in time"
        await asyncio.sleep(0.2)
    await runner.stop()
    sent = [m for m in state.sent_messages if m["touser"] == openid]
    keys = {(m["data"]["character_string1"], m["data"]["phrase2"]) for m in sent}

    # The old way, for reference: the send awaited in the step's path, slow WeChat.
    inline: list[float] = []
    deps.wechat = wechat["slow"]
    args_ = {
        "user_id": user_id,
        "kind": notifications_service.COMPLAINT_UPDATE,
        "data": sent[0]["data"],
        "page": "pages/complaints/detail?id=1",
    }
    for attempt in range(3):
        started = time.perf_counter()
        await notifications_service.send_subscribe_job(deps, 10_000_000 + attempt, args_)
        inline.append(time.perf_counter() - started)

    deps.wechat = wechat["fast"]
    delivery = await measure_delivery(args, deps, client, parties, owner, shop, arrivals)

    fast_p99, slow_p99 = p(timings["fast"], 0.99), p(timings["slow"], 0.99)
    print(
        f"database {'PostgreSQL' if args.database_url else 'SQLite file'}, redis {args.redis_url}"
    )
    print(f"WeChat slow sandbox: subscribe send answers after {args.delay:.1f} s")
    print(f"steps: {len(timings['fast'])} with fast WeChat, {len(timings['slow'])} with slow")
    for mode in ("fast", "slow"):
        values = timings[mode]
        print(
            f"  step answer, {mode} WeChat: p50 {p(values, 0.5):7.1f} ms  "
            f"p99 {p(values, 0.99):7.1f} ms  max {max(values) * 1000:7.1f} ms"
        )
    print(f"  p99 slow / fast: {slow_p99 / fast_p99:.2f}")
    print(
        f"messages: {len(sent)} sent for {expected} steps, {len(keys)} distinct "
        f"({'none twice' if len(keys) == len(sent) == expected else 'MISMATCH'})"
    )
    print(
        f"the old way (send awaited in the step), slow WeChat: "
        f"{statistics.mean(inline) * 1000:.0f} ms per send on top of the step"
    )
    print("step asked -> its message at WeChat (fast WeChat, one step at a time):")
    for mode, label in (("poll", "relay's poll only (before)"), ("wake", "commit wakes relay")):
        values = delivery[mode]
        print(
            f"  {label:27}: n {len(values):3}  p50 {p(values, 0.5):7.1f} ms  "
            f"p99 {p(values, 0.99):7.1f} ms  max {max(values) * 1000:7.1f} ms"
        )
    print(f"  p50 poll / wake: {p(delivery['poll'], 0.5) / p(delivery['wake'], 0.5):.1f}")


async def measure_delivery(
    args: argparse.Namespace,
    deps: Deps,
    client: httpx.AsyncClient,
    parties: dict[str, dict[str, str]],
    owner: dict[str, Any],
    shop: Any,
    arrivals: list[float],
) -> dict[str, list[float]]:
    """From asking for a step to its message reaching WeChat, one step at a time: a worker
    whose relay the commit wakes ("wake") against one that finds the job at its poll alone
    ("poll", as before), complaint by complaint alternating in the same run."""
    complaints = [
        (await filed(client, owner, text=f"第{i}台滤芯漏水"))["id"]
        for i in range(args.delivery_complaints)
    ]
    delivery: dict[str, list[float]] = {"wake": [], "poll": []}
    for number, complaint_id in enumerate(complaints):
        mode = "wake" if number % 2 == 0 else "poll"
        runner = JobRunner(
            deps,
            TASKS,
            redis_url=deps.settings.redis_url,
            queue_name=f"bench-delivery-{uuid.uuid4().hex[:8]}",
            timing=Timing(wake=mode == "wake"),
        )
        await runner.start()
        try:
            for party, action in STEPS:
                body = step_body(shop, action)
                seen = len(arrivals)
                started = time.perf_counter()
                response = await client.post(
                    f"/api/v1/complaints/{complaint_id}/{action}", json=body, headers=parties[party]
                )
                assert response.status_code == 200, response.text
                deadline = time.monotonic() + 30
                while len(arrivals) == seen:
                    assert time.monotonic() < deadline, "the message never reached WeChat"
                    await asyncio.sleep(0.001)
                delivery[mode].append(arrivals[seen] - started)
        finally:
            await runner.stop()
    return delivery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=20)
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--delivery-complaints", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="memory://")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
