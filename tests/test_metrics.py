"""/metrics on every process (backend/infra/metrics.py): requests timed by route pattern,
jobs counted by task and outcome, the pools' use, a realtime process's connections, rooms
and deliveries, who may read them, and `b2bc serve`'s workers added up in one scrape.
On PostgreSQL + Redis and on the embedded default."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tortoise.connection import get_connection

from backend.infra import jobs
from backend.infra.jobs import JobFailure, JobRunner, Periodic, Task
from backend.infra.metrics import MetricsServer
from backend.infra.models import JobRecord
from realtime.app import create_realtime_asgi
from tests.conftest import ON_POSTGRES, REDIS_URL, ThreadedServer, free_port
from tests.test_jobs import QUICK, queue_name, until
from tests.test_live_room import Viewer, live_session, token
from tests.test_realtime import connect

ROOT = Path(__file__).resolve().parent.parent
LATENCY = "b2bc_http_request_duration_seconds"
ORDER = "/api/v1/orders/<order_id:int>"
SECRET = "metrics-token-for-the-tests-0123456789"


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class Scrape:
    """One reading of /metrics: value(name, label=...) is 0 for a sample not there."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = parse(text)

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str) -> bool:
        return any(sample == name for sample, _ in self.samples)

    def requests(self, route: str, method: str, status: str) -> float:
        return self.value(f"{LATENCY}_count", route=route, method=method, status=status)


async def scrape(http: httpx.AsyncClient, url: str = "/metrics", **kwargs: Any) -> Scrape:
    response = await http.get(url, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def test_requests_are_timed_by_route_pattern_and_never_by_their_ids(client) -> None:
    before = await scrape(client)
    for _ in range(2):
        assert (await client.get("/healthz")).status_code == 200
    for order_id in (987_651, 987_652, 987_653):  # signed out: refused, after routing
        assert (await client.get(f"/api/v1/orders/{order_id}")).status_code == 401
    assert (await client.get("/no/such/page/424242")).status_code == 404
    after = await scrape(client)

    assert after.requests("/healthz", "GET", "2xx") - before.requests("/healthz", "GET", "2xx") == 2
    assert after.requests(ORDER, "GET", "4xx") - before.requests(ORDER, "GET", "4xx") == 3
    assert (
        after.requests("unmatched", "GET", "4xx") - before.requests("unmatched", "GET", "4xx") == 1
    )
    assert after.requests("/metrics", "GET", "2xx") == 0  # scrapes are not timed
    # Only labels could carry an id: a sample's value or a created timestamp may hold
    # "424242" among its digits by chance, so the text as a whole is not searched.
    labels = {value for _, sample_labels in after.samples for _, value in sample_labels}
    for raw in ("987651", "987652", "987653", "424242", "/no/such"):
        assert not [value for value in labels if raw in value], raw
    # Every request lands in the buckets its sum and count say.
    buckets = after.value(f"{LATENCY}_bucket", route=ORDER, method="GET", status="4xx", le="+Inf")
    assert buckets == after.requests(ORDER, "GET", "4xx")


@pytest.fixture
def with_token(app, monkeypatch) -> None:
    monkeypatch.setattr(app.ctx, "settings", app.ctx.settings.with_overrides(metrics_token=SECRET))


@pytest.fixture
async def public(app) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a public address."""
    transport = httpx.ASGITransport(app=app, client=("121.40.10.20", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_the_public_and_proxied_requests_are_refused(app, client, public) -> None:
    refused = await public.get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "metrics.forbidden",
        "message": "监控指标仅限内网访问",
        "details": None,
    }
    # Through nginx on the same machine, the peer is loopback but the request is the public's.
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        proxied = await client.get("/metrics", headers={header: "121.40.10.20"})
        assert proxied.status_code == 403
        assert "b2bc_" not in proxied.text
    # With no token set, presenting one opens nothing.
    assert (await public.get("/metrics", headers={"Authorization": "Bearer x"})).status_code == 403
    transport = httpx.ASGITransport(app=app, client=("10.8.0.5", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as private:
        assert (await private.get("/metrics")).status_code == 200


async def test_the_token_opens_them_to_a_prometheus_elsewhere(with_token, client, public) -> None:
    await scrape(public, headers={"Authorization": f"Bearer {SECRET}"})
    await scrape(client, headers={"Authorization": f"Bearer {SECRET}", "X-Forwarded-For": "x"})
    for wrong in (f"Bearer {SECRET}x", f"Basic {SECRET}", SECRET, "Bearer "):
        assert (await public.get("/metrics", headers={"Authorization": wrong})).status_code == 403
    await scrape(client)  # private peers still need none


async def test_pools_in_use_are_read_at_each_scrape(client, deps) -> None:
    idle = await scrape(client)
    if not ON_POSTGRES:
        # SQLite has no pool. (Redis pools are not checked here: a real Redis client another
        # test of this process made may still be alive, and would be reported, rightly.)
        assert not idle.has("b2bc_db_pool_in_use")
        return
    pool = {"pool": "default"}
    assert idle.value("b2bc_db_pool_max", **pool) == 40  # ?maxsize=40 in the tests' URL
    assert 0 < idle.value("b2bc_db_pool_open", **pool) <= 40
    async with get_connection("default")._pool.acquire():  # held until the block ends
        holding = await scrape(client)
    assert (
        holding.value("b2bc_db_pool_in_use", **pool)
        == idle.value("b2bc_db_pool_in_use", **pool) + 1
    )

    redis_pool = deps.redis.connection_pool
    held = await redis_pool.get_connection()
    try:
        holding = await scrape(client)
    finally:
        await redis_pool.release(held)
    app = {"pool": "app"}
    assert (
        holding.value("b2bc_redis_pool_in_use", **app)
        == idle.value("b2bc_redis_pool_in_use", **app) + 1
    )
    assert holding.value("b2bc_redis_pool_max", **app) % 64 == 0  # every live pool's size


@pytest.fixture
def worker_endpoint() -> Iterator[str]:
    """A job worker's metrics server (B2BC_METRICS_PORT), on its own thread and port."""
    server = MetricsServer("127.0.0.1", free_port(), None)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.server.config.port}"
    finally:
        server.stop()


async def test_job_runs_retries_and_failures_are_counted_by_task(
    deps, settings, worker_endpoint
) -> None:
    async def flaky(deps: Any, job_id: int, args: dict[str, Any]) -> None:
        if (await JobRecord.get(id=job_id)).attempts < 2:
            raise JobFailure("第一次总是失败")

    async def broken(deps: Any, job_id: int, args: dict[str, Any]) -> None:
        raise JobFailure("总是失败")

    async def refuse(deps: Any) -> None:
        raise RuntimeError("periodic failure")

    async def tick(deps: Any) -> None:
        return None

    tasks = [
        Task("test.flaky", "测试", flaky, attempts=3, retry_delay=0.05, max_delay=0.1),
        Task("test.broken", "测试", broken, attempts=1),
    ]
    periodic = [Periodic("test.refuse", "测试", 1, refuse), Periodic("test.tick", "测试", 1, tick)]
    async with httpx.AsyncClient(base_url=worker_endpoint) as worker:
        before = await scrape(worker)
        flaky_id = await jobs.defer("test.flaky", {}, brand_id=None, now=deps.clock.now())
        broken_id = await jobs.defer("test.broken", {}, brand_id=None, now=deps.clock.now())
        runner = JobRunner(
            deps,
            tasks,
            periodic,
            redis_url=settings.redis_url,
            queue_name=queue_name(),
            timing=QUICK,
        )
        await runner.start()
        try:

            async def settled() -> bool:
                rows = await JobRecord.filter(id__in=[flaky_id, broken_id]).values_list(
                    "status", flat=True
                )
                return sorted(rows) == [jobs.DONE, jobs.FAILED]

            await until(settled)

            async def periodic_counted() -> bool:
                now = await scrape(worker)
                return all(
                    now.value("b2bc_job_runs_total", task=task, outcome=outcome)
                    > before.value("b2bc_job_runs_total", task=task, outcome=outcome)
                    for task, outcome in (("test.refuse", "failed"), ("test.tick", "done"))
                )

            await until(periodic_counted)
        finally:
            await runner.stop()
        after = await scrape(worker)

    def ran(task: str, outcome: str) -> float:
        name = "b2bc_job_runs_total"
        return after.value(name, task=task, outcome=outcome) - before.value(
            name, task=task, outcome=outcome
        )

    assert (ran("test.flaky", "retry"), ran("test.flaky", "done")) == (1, 1)
    assert (ran("test.broken", "retry"), ran("test.broken", "failed")) == (0, 1)
    assert ran("test.refuse", "done") == 0 and ran("test.tick", "failed") == 0
    durations = after.value("b2bc_job_duration_seconds_count", task="test.flaky")
    assert durations - before.value("b2bc_job_duration_seconds_count", task="test.flaky") == 2


async def test_the_worker_endpoint_refuses_as_the_api_does(worker_endpoint) -> None:
    async with httpx.AsyncClient(base_url=worker_endpoint) as worker:
        proxied = await worker.get("/metrics", headers={"X-Forwarded-For": "121.40.10.20"})
        assert proxied.status_code == 403
        assert proxied.json()["error"]["code"] == "metrics.forbidden"
        elsewhere = await worker.get("/healthz")
        assert elsewhere.status_code == 404
        assert elsewhere.json()["error"]["code"] == "http.not_found"


def live_connections(scraped: Scrape) -> float:
    return scraped.value("b2bc_realtime_connections", namespace="/live")


async def test_a_realtime_process_counts_its_connections_on_its_own_port(
    settings, client, sandbox_client
) -> None:
    from tests.factories import wechat_login

    tokens = await wechat_login(client, sandbox_client, "metrics-viewer")
    with ThreadedServer(create_realtime_asgi(settings)) as realtime:
        async with httpx.AsyncClient(base_url=realtime.url) as http:
            before = live_connections(await scrape(http))
            viewer = await connect(realtime.url, tokens["access_token"])
            try:
                assert live_connections(await scrape(http)) == before + 1
            finally:
                await viewer.disconnect()

            async def gone() -> bool:
                return live_connections(await scrape(http)) == before

            await until(gone, seconds=10)
            refused = await http.get("/metrics", headers={"X-Real-IP": "121.40.10.20"})
            assert refused.status_code == 403
            assert (await http.get("/")).status_code == 404


async def test_rooms_and_deliveries_are_counted(platform_url, client, sandbox_client, deps) -> None:
    _, host, session, owner = await live_session(client, sandbox_client, deps)
    async with httpx.AsyncClient(base_url=platform_url) as http:
        before = await scrape(http)
        hosting = await Viewer().connect(platform_url, token(host))
        watching = await Viewer().connect(platform_url, owner["access_token"])
        try:
            for viewer in (hosting, watching):
                assert (await viewer.call("join", {"session_id": session["id"]}))["ok"]
            assert (await hosting.call("host:start"))["ok"]
            assert (await watching.call("like", {"count": 3}))["ok"]
            during = await scrape(http)
        finally:
            await hosting.client.disconnect()
            await watching.client.disconnect()

        rooms = {"namespace": "/live"}
        assert live_connections(during) == live_connections(before) + 2
        assert (
            during.value("b2bc_realtime_rooms", **rooms)
            == before.value("b2bc_realtime_rooms", **rooms) + 1
        )
        sent = "b2bc_realtime_messages_sent_total"
        for event in ("session", "likes"):  # each to both in the room
            labels = {"namespace": "/live", "event": event}
            assert during.value(sent, **labels) - before.value(sent, **labels) == 2

        async def emptied() -> bool:
            now = await scrape(http)
            return live_connections(now) == live_connections(before) and now.value(
                "b2bc_realtime_rooms", **rooms
            ) == before.value("b2bc_realtime_rooms", **rooms)

        await until(emptied, seconds=10)


# ---- b2bc serve: two worker processes, one answer ---------------------------------------


def _pids(directory: Path, kind: str) -> set[str]:
    """The processes that wrote `kind` files (histogram, gauge_livesum...) in multiprocess mode."""
    return {path.stem.rpartition("_")[2] for path in directory.glob(f"{kind}_*.db")}


# `b2bc serve --workers 2`, except that Sanic's manager waits longer than its 30 s for the
# workers to start: on a loaded machine importing and documenting the API takes about that.
SERVE = """
from sanic.worker.manager import WorkerManager
WorkerManager.THRESHOLD = 1800  # tenths of a second
from backend.cli import main
main(["serve", "--workers", "2"])
"""


# A request sent is a request counted: none may time out on our side while a worker that
# has just started is still slow.
SLOW = httpx.Timeout(120.0)


def _serve(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SERVE],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Sanic's manager kills its workers' process group when one fails to start in time:
        # its own group, not the test run's.
        start_new_session=True,
    )


async def test_serve_adds_up_its_workers_in_one_scrape(database_url) -> None:
    metrics_dir = Path(tempfile.mkdtemp(prefix="b2bc-test-metrics-"))
    stale = metrics_dir / "counter_4242.db"
    stale.write_bytes(b"from an earlier run")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "B2BC_DATA_DIR": tempfile.mkdtemp(prefix="b2bc-serve-"),
        "B2BC_PORT": str(port),
        "B2BC_ACCESS_LOG": "0",
        "B2BC_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    if ON_POSTGRES:  # the tests' database (migrated) and Redis; SQLite and fakeredis otherwise
        env |= {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL}
    server = _serve(env)
    sent = 0
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:  # up: every answer, this one included, counts (/readyz: it uses the pools)
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "b2bc serve did not start"
            try:
                async with httpx.AsyncClient(timeout=SLOW) as http:
                    await http.get(f"{base}/readyz")
                sent += 1
                break
            except httpx.ConnectError:  # not listening yet: never reached a worker
                await asyncio.sleep(0.2)
        assert not stale.exists()
        # A new connection each time, until both workers have answered some.
        while len(_pids(metrics_dir, "histogram")) < 2:
            assert sent < 500, "one worker answered everything"
            async with httpx.AsyncClient(timeout=SLOW) as http:
                assert (await http.get(f"{base}/readyz")).status_code == 200
            sent += 1
        async with httpx.AsyncClient(base_url=base, timeout=SLOW) as http:
            scraped = await scrape(http)
        assert scraped.requests("/readyz", "GET", "2xx") == sent
        if ON_POSTGRES:
            # Each worker's pools (the database's opened by its first query), summed over the
            # two: the other worker writes its own every few seconds.
            async def both_pools() -> bool:
                async with httpx.AsyncClient(base_url=base, timeout=SLOW) as http:
                    now = await scrape(http)
                return now.value("b2bc_db_pool_max", pool="default") == 2 * 40

            await until(both_pools)
            assert scraped.value("b2bc_redis_pool_max", pool="app") == 2 * 64
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # Stopped workers take their gauges with them; their counts stay for the next scrape.
    assert not _pids(metrics_dir, "gauge_livesum")
    assert _pids(metrics_dir, "histogram")


def test_every_gauge_says_how_workers_add_up() -> None:
    """prometheus_client's multiprocess mode needs it of every gauge: ours add up the live
    workers (a stopped worker's pool is no longer in use)."""
    from prometheus_client import Gauge

    from backend.infra import metrics

    gauges = [value for value in vars(metrics).values() if isinstance(value, Gauge)]
    assert len(gauges) == 7
    assert {gauge._multiprocess_mode for gauge in gauges} == {"livesum"}
