"""Prometheus metrics: what each process counts, and `/metrics`, which shows them.

Every process keeps its own numbers: the API (`b2bc serve`, and `b2bc run`, where the
realtime server and a job worker share the process) answers `GET /metrics`; a realtime
process answers it on its own port; a job worker on `B2BC_METRICS_PORT`.

`b2bc serve` runs Sanic's worker processes, and a scrape reaches whichever one accepts it.
So there, and only there, prometheus_client's multiprocess mode is on
(PROMETHEUS_MULTIPROC_DIR, set by `b2bc serve`): each worker writes its values to files in
that directory, and the answering worker adds up every worker's files, so one scrape shows
the whole server. Gauges are summed over live workers (`livesum`; a worker that stops
removes its files). Counters and histograms of a worker that died stay in the sum: totals
never go backwards while the server runs.

Nobody outside the private network may read these (request rates, pool sizes, task names):
the endpoint answers only a peer on a loopback or private address that did not come
through a proxy (a request carrying a forwarding header came from the public through
nginx, which also denies /metrics itself), or anyone presenting `B2BC_METRICS_TOKEN` as a
bearer token, for a Prometheus that scrapes from elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from time import perf_counter
from typing import Any

import uvicorn
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic_ext import openapi
from tortoise.context import get_current_context

from backend.infra.http import dumps
from backend.kernel.errors import DomainError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"
# How often an API worker in multiprocess mode writes its pools' use for the others' scrapes.
SAMPLE_SECONDS = 5.0

# Latency buckets from a cached read (a few ms) to an export or an import (seconds).
HTTP_DURATION = Histogram(
    "b2bc_http_request_duration_seconds",
    "HTTP requests by route pattern (never the raw path: ids stay out), method and status "
    "class, from the first middleware to the response",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
JOB_RUNS = Counter(
    "b2bc_job_runs",
    "Job runs by task (durable tasks and periodic jobs) and outcome: done; retry (failed, "
    "another attempt is scheduled); failed (for good: waits for a person, or a periodic job "
    "that failed this period)",
    ["task", "outcome"],
)
JOB_DURATION = Histogram(
    "b2bc_job_duration_seconds",
    "How long job runs took, by task, whatever their outcome",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
DB_POOL_IN_USE = Gauge(
    "b2bc_db_pool_in_use",
    "PostgreSQL connections lent out of the pool (absent on SQLite, which has no pool)",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "b2bc_db_pool_open",
    "PostgreSQL connections open in the pool, lent or idle",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "b2bc_db_pool_max",
    "The most PostgreSQL connections the pool opens",
    ["pool"],
    multiprocess_mode="livesum",
)
REDIS_POOL_IN_USE = Gauge(
    "b2bc_redis_pool_in_use",
    "Redis connections lent out of the pool (app: our commands; jobs: the job queue)",
    ["pool"],
    multiprocess_mode="livesum",
)
REDIS_POOL_MAX = Gauge(
    "b2bc_redis_pool_max",
    "The most Redis connections the pool opens; a command beyond waits for one",
    ["pool"],
    multiprocess_mode="livesum",
)
REALTIME_CONNECTIONS = Gauge(
    "b2bc_realtime_connections",
    "Socket.IO connections in this process, by namespace",
    ["namespace"],
    multiprocess_mode="livesum",
)
REALTIME_ROOMS = Gauge(
    "b2bc_realtime_rooms",
    "Rooms with a connection in this process (live sessions, brands, distributors, users), "
    "by namespace; each connection's own room and its sign-in's room are not counted",
    ["namespace"],
    multiprocess_mode="livesum",
)
REALTIME_SENT = Counter(
    "b2bc_realtime_messages_sent",
    "Events delivered to clients connected to this process (one per recipient)",
    ["namespace", "event"],
)

# Methods HTTP defines; anything else a client invents is "other", so labels stay bounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route: 404s, 405s; their paths are whatever a client sent
FORWARDING_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


def multiprocess_on() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


# ---- counting ----------------------------------------------------------------------------


JOB_DONE, JOB_RETRY, JOB_FAILED = "done", "retry", "failed"


def job_ran(task: str, outcome: str, started: float) -> None:
    """Count one run of `task` (`started`: perf_counter() before it ran)."""
    JOB_RUNS.labels(task, outcome).inc()
    JOB_DURATION.labels(task).observe(perf_counter() - started)


_redis_pools: dict[str, weakref.WeakSet[Any]] = {}
_samplers: list[Callable[[], None]] = []


def watch_redis_pool(pool: Any, name: str) -> None:
    """Report `pool`'s use under `name` while it lives (several pools of one name add up)."""
    _redis_pools.setdefault(name, weakref.WeakSet()).add(pool)


def add_sampler(sampler: Callable[[], None]) -> None:
    """Run `sampler` before each scrape (the realtime server counts its connections so)."""
    _samplers.append(sampler)


def _db_pool() -> Any:
    """asyncpg's pool behind Tortoise's default connection, or None (SQLite has none).

    Read from Tortoise's storage rather than through `connections.get`, which, called from
    another event loop (a job worker's metrics thread), replaces the connection with a new
    one; inside a transaction the storage holds a wrapper whose `_parent` is the client."""
    context = get_current_context()
    if context is None:
        return None
    client: Any = context.connections._get_storage().get("default")
    while getattr(client, "_parent", None) is not None:
        client = client._parent
    return getattr(client, "_pool", None)


def sample() -> None:
    """Read the pools' use into the gauges: the process's database pool, its Redis pools and
    whatever `add_sampler` registered."""
    pool = _db_pool()
    if pool is not None:
        size = pool.get_size()
        DB_POOL_OPEN.labels("default").set(size)
        DB_POOL_IN_USE.labels("default").set(size - pool.get_idle_size())
        DB_POOL_MAX.labels("default").set(pool.get_max_size())
    for name, pools in _redis_pools.items():
        alive = list(pools)
        # redis-py keeps the lent connections in a set and tells it through no public call.
        REDIS_POOL_IN_USE.labels(name).set(
            sum(len(getattr(p, "_in_use_connections", ())) for p in alive)
        )
        REDIS_POOL_MAX.labels(name).set(sum(p.max_connections for p in alive))
    for sampler in _samplers:
        sampler()


def exposition() -> bytes:
    """What a scrape reads: this process's numbers, or in multiprocess mode every worker's."""
    sample()
    if not multiprocess_on():
        return generate_latest(REGISTRY)
    # A registry per scrape, as prometheus_client's multiprocess mode asks: its collector
    # reads the directory afresh each time.
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


# ---- who may read them -------------------------------------------------------------------


class MetricsForbidden(DomainError):
    status = 403
    code = "metrics.forbidden"
    message = "监控指标仅限内网访问"


class NoSuchPath(DomainError):
    status = 404
    code = "http.not_found"  # as the API answers an unknown path (infra/http.py)
    message = "请求的地址不存在"


def _private(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private


def allowed(peer: str | None, headers: Mapping[str, str], token: str | None) -> bool:
    """Whether a request may read the metrics. `headers`: lower-case names."""
    if token:
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            return True
    # Through a proxy, the peer is the proxy (often loopback): the request is the public's.
    proxied = any(name in headers for name in FORWARDING_HEADERS)
    return not proxied and _private(peer)


# ---- the API: a middleware pair and the route --------------------------------------------

_http_children: dict[tuple[str, str, str], Any] = {}


async def _start_clock(request: Request) -> None:
    request.ctx.metrics_started = perf_counter()


async def _observe(request: Request, response: HTTPResponse) -> None:
    started = getattr(request.ctx, "metrics_started", None)
    route = request.route
    if started is None or (route is not None and getattr(route.ctx, "metrics_skip", False)):
        return
    method = request.method if request.method in METHODS else "other"
    key = (
        "/" + route.path if route is not None else UNMATCHED,
        method,
        f"{response.status // 100}xx",
    )
    # labels() validates and locks on every call: the child is looked up once per key.
    child = _http_children.get(key)
    if child is None:
        child = _http_children.setdefault(key, HTTP_DURATION.labels(*key))
    child.observe(perf_counter() - started)


async def metrics_view(request: Request) -> HTTPResponse:
    headers = {name.lower(): value for name, value in request.headers.items()}
    if not allowed(request.ip, headers, request.app.ctx.settings.metrics_token):
        raise MetricsForbidden()
    return HTTPResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def install_metrics(app: Sanic) -> None:
    """Time every request and answer GET /metrics (not in the OpenAPI document: it is not
    the clients' API)."""
    # Before every other request middleware (the edge's runs at 100), after every response one.
    app.on_request(_start_clock, priority=1000)
    app.on_response(_observe, priority=-1000)
    app.add_route(
        openapi.exclude()(metrics_view),
        PATH,
        methods=["GET"],
        name="metrics",
        ctx_metrics_skip=True,
    )
    if multiprocess_on():
        _sample_while_serving(app)


def _sample_while_serving(app: Sanic) -> None:
    """In multiprocess mode a scrape reads the other workers' files: each worker writes its
    pools' use there every SAMPLE_SECONDS, and removes its gauges when it stops."""

    async def loop() -> None:
        while True:
            sample()
            await asyncio.sleep(SAMPLE_SECONDS)

    @app.after_server_start
    async def start_sampling(app: Sanic) -> None:
        app.ctx.metrics_sampler = asyncio.create_task(loop(), name="metrics-sampler")

    @app.before_server_stop
    async def stop_sampling(app: Sanic) -> None:
        app.ctx.metrics_sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.ctx.metrics_sampler
        multiprocess.mark_process_dead(os.getpid())


# ---- realtime processes and job workers: a tiny ASGI app ---------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _answer(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _refusal(error: DomainError) -> bytes:
    envelope = {"error": {"code": error.code, "message": error.text, "details": None}}
    return dumps(envelope)


def metrics_asgi(token: str | None) -> ASGIApp:
    """An ASGI app answering GET /metrics, with the API's rule on who may; 404 elsewhere.
    Beside the Socket.IO server in a realtime process, and on B2BC_METRICS_PORT in a job
    worker. It acknowledges the lifespan protocol, which it has nothing to do for."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": f"{message['type']}.complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        json = "application/json; charset=utf-8"
        if scope["path"] != PATH or scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 404, _refusal(NoSuchPath()), json)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        peer = (scope.get("client") or (None,))[0]
        if not allowed(peer, headers, token):
            await _answer(send, 403, _refusal(MetricsForbidden()), json)
            return
        await _answer(send, 200, exposition(), CONTENT_TYPE_LATEST)

    return app


class MetricsServer:
    """`metrics_asgi` on its own port, served by uvicorn in a thread of its own: a job
    worker's event loop stays its own, and so do its SIGTERM handlers (uvicorn installs
    none outside the main thread)."""

    def __init__(self, host: str, port: int, token: str | None) -> None:
        config = uvicorn.Config(
            metrics_asgi(token), host=host, port=port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="metrics", daemon=True)

    def start(self) -> None:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("metrics server failed to start")
            threading.Event().wait(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
