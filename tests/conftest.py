"""Test harness: a fresh schema built by the migrations, real services when configured.

B2BC_TEST_DATABASE_URL / B2BC_TEST_REDIS_URL choose the backing services (the Makefile runs
the suite once on PostgreSQL + Redis and once on the embedded default); where nothing answers
at a configured URL, throwaway servers are started for the run (tests/throwaway.py). The
WeChat sandbox runs as a real HTTP server on a loopback port, and the real wechatpy client
talks to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import socketio
import uvicorn
from argon2 import PasswordHasher
from asgi_lifespan import LifespanManager
from tortoise import Tortoise
from tortoise.connection import get_connection

from backend.app import create_app
from backend.cli import REALTIME_WEBSOCKETS
from backend.config import SANDBOX_SP_MCHID, Settings, load_settings
from backend.deps import Deps
from backend.identity import passwords
from backend.infra import db
from backend.infra.redis import create_redis
from backend.integrations.wechat.client import MiniProgramClient
from backend.integrations.wechat.pay import SandboxKeys, WechatPayClient, generate_sandbox_keys
from backend.integrations.wechat.sandbox import SandboxState, create_sandbox_app
from backend.integrations.wechat.sandbox.pay import PaySandboxState, create_pay_sandbox_blueprint
from backend.kernel.clock import OffsetClock
from backend.livestream import rains
from realtime.app import create_sio
from tests import throwaway

# Where no server answers at a configured PostgreSQL or Redis URL, throwaway instances of our
# own stand in (tests/throwaway.py), stopped when the run ends.
DATABASE_URL, REDIS_URL = throwaway.backing_services(
    os.environ.get("B2BC_TEST_DATABASE_URL", "sqlite://:memory:"),
    os.environ.get("B2BC_TEST_REDIS_URL", "memory://"),
)
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Staff passwords are argon2id at the production cost, slow on purpose (about 0.3 s a hash or
# a check on a CI machine), and the suite creates and signs in staff some thousands of times:
# that was half the time of the tests that do. The same algorithm and code path at its lowest
# cost here; a hash still says its own parameters, so hashes of either cost verify.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """An ASGI app served by uvicorn on a loopback port, in a thread with its own loop."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            **REALTIME_WEBSOCKETS,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server failed to start")
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def _fresh_database() -> str:
    """A new, empty database for this run: PostgreSQL gets its own, SQLite a temp file."""
    if not ON_POSTGRES:
        directory = tempfile.mkdtemp(prefix="b2bc-test-")
        return f"sqlite://{directory}/test.sqlite3"
    base, _, _ = DATABASE_URL.rpartition("/")
    name = f"b2bc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(f"{base}/postgres".replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{base}/{name}?maxsize=40"


async def _drop_database(url: str) -> None:
    if not ON_POSTGRES:
        return
    base, _, rest = url.rpartition("/")
    name = rest.split("?")[0]
    admin = await asyncpg.connect(f"{base}/postgres".replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def sandbox_state() -> SandboxState:
    return SandboxState()


@pytest.fixture(scope="session")
def pay_keys() -> SandboxKeys:
    return generate_sandbox_keys()


@pytest.fixture(scope="session")
def pay_sandbox_state(pay_keys: SandboxKeys) -> PaySandboxState:
    # Retries follow WeChat's schedule, a thousand times faster.
    return PaySandboxState(pay_keys, SANDBOX_SP_MCHID, "wx_sandbox_appid", retry_scale=0.001)


@pytest.fixture(scope="session")
def sandbox(
    sandbox_state: SandboxState, pay_sandbox_state: PaySandboxState
) -> Iterator[ThreadedServer]:
    """WeChat's login and Pay APIs, played by one local server."""
    app = create_sandbox_app(sandbox_state, name="test_wechat_sandbox")
    app.blueprint(create_pay_sandbox_blueprint(pay_sandbox_state))
    with ThreadedServer(app) as server:
        yield server


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    url = await _fresh_database()
    await db.migrate(url)
    await db.init_db(url)
    yield url
    await db.close_db()
    await _drop_database(url)


@pytest.fixture(scope="session")
def api_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    sandbox: ThreadedServer,
    sandbox_state: SandboxState,
    pay_keys: SandboxKeys,
    api_port: int,
) -> Settings:
    data_dir = tempfile.mkdtemp(prefix="b2bc-data-")
    # The embedded default reads the sandbox's Pay keys from the data folder: hand it ours.
    (Path(data_dir) / "wechat_pay_sandbox.json").write_text(json.dumps(pay_keys.__dict__))
    loaded = load_settings(
        {
            "B2BC_DATA_DIR": data_dir,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "B2BC_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
            "WECHAT_API_BASE_URL": sandbox.url,
            "WECHAT_PAY_API_BASE_URL": sandbox.url,
            "B2BC_ACCESS_LOG": "0",
            "B2BC_LOG_LEVEL": "WARNING",
        }
    )
    sandbox_state.apps[loaded.wechat.appid] = loaded.wechat.secret
    return loaded


@pytest.fixture(scope="session")
async def deps(settings: Settings) -> AsyncIterator[Deps]:
    built = Deps(
        settings=settings,
        clock=OffsetClock(),
        redis=create_redis(settings.redis_url),
        wechat=MiniProgramClient(settings.wechat),
        pay=WechatPayClient(settings.wechat_pay),
    )
    yield built
    await built.redis.aclose()


@pytest.fixture(scope="session")
async def app(settings: Settings, deps: Deps) -> AsyncIterator[Any]:
    application = create_app(
        settings, deps=deps, manage_db=False, background_jobs=False, name="b2bc_test"
    )
    async with LifespanManager(application, startup_timeout=30):
        yield application


@pytest.fixture(scope="session")
async def live_api(app: Any, api_port: int) -> AsyncIterator[str]:
    """The same app on a real loopback port, in the tests' own event loop (so it shares the
    database pool): the WeChat Pay sandbox delivers its notifications here over HTTP."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=api_port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{api_port}"
    server.should_exit = True
    await task


@contextlib.asynccontextmanager
async def serving_realtime(sio: socketio.AsyncServer, app: Any = None) -> AsyncIterator[str]:
    """`sio` (beside `app`, if given) on a loopback port, in the tests' own loop, speaking
    websocket as `make run` and `b2bc realtime` do; its URL."""
    port = free_port()
    config = uvicorn.Config(
        socketio.ASGIApp(sio, other_asgi_app=app),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        **REALTIME_WEBSOCKETS,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        if sio.manager is not None and hasattr(sio.manager, "redis"):
            await sio.shutdown()


@pytest.fixture
async def platform_url(settings, deps, app) -> AsyncIterator[str]:
    """The API and the realtime server in one ASGI app on a loopback port, in the tests' own
    loop, as `make run` serves them; the API's pushes go to that realtime server."""
    sio = create_sio(settings, deps=deps)
    deps.broadcast.attach(sio)
    try:
        async with serving_realtime(sio, app) as url:
            yield url
    finally:
        deps.broadcast.attach(None)


def _tables() -> list[str]:
    return [model._meta.db_table for model in Tortoise.apps["models"].values()]


@functools.cache
def _written_sql() -> str:
    """One statement naming what a test wrote to: the tables holding a row (kind 't'), and
    the id sequences that moved (kind 's', with the value they start from), which includes
    those of rows added and then deleted or of an insert rolled back."""
    holding = " UNION ALL ".join(
        f"SELECT 't' AS kind, '{table}' AS name, 0::bigint AS start"
        f' WHERE EXISTS (SELECT 1 FROM "{table}")'
        for table in _tables()
    )
    owners = ", ".join(f"'{table}'" for table in _tables())
    moved = (
        "SELECT 's', quote_ident(s.sequencename), s.start_value FROM pg_sequences s"
        " JOIN pg_class seq ON seq.relname = s.sequencename AND seq.relkind = 'S'"
        " JOIN pg_depend d ON d.objid = seq.oid AND d.deptype IN ('a', 'i')"
        " JOIN pg_class owner ON owner.oid = d.refobjid"
        " WHERE s.schemaname = 'public' AND s.last_value IS NOT NULL"
        f" AND owner.relname IN ({owners})"
    )
    return f"{holding} UNION ALL {moved}"


async def _empty_postgres(connection: Any) -> None:
    """Deletes the rows of the tables a test wrote to and restarts the sequences it moved.

    Not TRUNCATE: it makes new files for every table it reaches (and CASCADE reaches most of
    them), 0.2 to 2 s per test on a busy machine, where these DELETEs of a few rows take a
    few ms. Foreign-key triggers are off for the deletes (session_replication_role), which is
    safe because every row that refers to a deleted row is in a table being emptied too.
    """
    written = await connection.execute_query_dict(_written_sql())
    if not written:
        return
    statements = ["SET session_replication_role = replica"]
    statements += [f'DELETE FROM "{row["name"]}"' for row in written if row["kind"] == "t"]
    statements += [
        f"SELECT setval('{row['name']}', {row['start']}, false)"
        for row in written
        if row["kind"] == "s"
    ]
    statements.append("SET session_replication_role = DEFAULT")
    await connection.execute_script(";\n".join(statements))


@pytest.fixture(autouse=True)
async def fresh_state(
    database_url: str,
    deps: Deps,
    sandbox_state: SandboxState,
    pay_sandbox_state: PaySandboxState,
    app: Any,
) -> None:
    """Every test starts with empty tables, an empty Redis and a clock at the real time."""
    connection = get_connection("default")
    if ON_POSTGRES:
        await _empty_postgres(connection)
    else:
        await connection.execute_script("PRAGMA foreign_keys = OFF")
        for table in _tables():
            await connection.execute_script(f'DELETE FROM "{table}"')
        await connection.execute_script("PRAGMA foreign_keys = ON")
    await deps.redis.flushdb()
    assert isinstance(deps.clock, OffsetClock)
    deps.clock.offset = type(deps.clock.offset)()
    sandbox_state.login_codes.clear()
    sandbox_state.phone_codes.clear()
    pay_sandbox_state.transactions.clear()
    pay_sandbox_state.refunds.clear()
    pay_sandbox_state.notifications.clear()
    app.ctx.revocations._seen.clear()
    app.ctx.profiles.forget(None)  # user ids restart with the tables
    rains._SESSION_OF_RAIN.clear()  # ids restart with the tables


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def sandbox_client(sandbox: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        yield http


def pytest_unconfigure() -> None:
    throwaway.stop_all()


def pytest_report_header() -> list[str]:
    return [f"b2bc backing services: database={DATABASE_URL.split('@')[-1]} redis={REDIS_URL}"]
