"""The database pool: sized by setting, a bounded wait for a connection, a clear refusal.

The exhaustion tests run an API process of their own (tests/pool_server.py) with a pool of
two, against the suite's PostgreSQL database. A separate connection of the test's holds a
row lock; two requests that update that row each hold one of the two pooled connections
while they wait for it, and a third request finds the pool empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from backend import cli
from backend.config import ConfigError, load_settings
from backend.identity.tokens import Principal
from backend.infra.budget import Budget, server_limits
from backend.infra.db import DbPool, tortoise_config
from backend.infra.pgpool import DatabaseBusy, open_pool, pool_timeouts
from backend.org.models import Distributor
from realtime.live import NAMESPACE, LiveEvents
from tests.conftest import ON_POSTGRES, REDIS_URL
from tests.factories import Tenant, make_tenant, staff_headers
from tests.pool_server import api_process, plain_url

ROOT = Path(__file__).resolve().parent.parent
on_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="the pool being exhausted is asyncpg's: PostgreSQL only"
)
BUSY = {"code": "db_busy", "message": "系统繁忙，请稍后再试", "details": None}


def _settings(**env: str) -> Any:
    return load_settings({"B2BC_DATA_DIR": tempfile.mkdtemp(prefix="b2bc-pool-"), **env})


def test_the_pool_is_sized_and_bounded_by_settings() -> None:
    assert _settings().db_pool == DbPool(size=10, timeout=5.0, pgbouncer=False)
    pool = _settings(B2BC_DB_POOL_SIZE="4", B2BC_DB_POOL_TIMEOUT="0.5", B2BC_PGBOUNCER="1")
    assert pool.db_pool == DbPool(size=4, timeout=0.5, pgbouncer=True)
    # The older way, ?maxsize= in the URL, still sizes it; the same size twice is no conflict.
    url = "postgres://postgres@127.0.0.1/b2bc?maxsize=7"
    assert _settings(DATABASE_URL=url).db_pool.size == 7
    assert _settings(DATABASE_URL=url, B2BC_DB_POOL_SIZE="7").db_pool.size == 7
    assert _settings(DATABASE_URL=url + "&pgbouncer=1").db_pool.pgbouncer


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        (
            {"DATABASE_URL": "postgres://h/db?maxsize=7", "B2BC_DB_POOL_SIZE": "4"},
            "conflicts with maxsize=7",
        ),
        ({"B2BC_DB_POOL_SIZE": "ten"}, "B2BC_DB_POOL_SIZE must be a whole number"),
        ({"B2BC_DB_POOL_SIZE": "0"}, "B2BC_DB_POOL_SIZE must be at least 1"),
        ({"B2BC_DB_POOL_TIMEOUT": "0"}, "B2BC_DB_POOL_TIMEOUT must be more than 0"),
        ({"B2BC_DB_POOL_TIMEOUT": "soon"}, "B2BC_DB_POOL_TIMEOUT seconds"),
    ],
)
def test_pool_settings_that_cannot_be_meant_are_refused(
    env: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        _settings(**env)


def test_the_pool_settings_reach_asyncpg() -> None:
    def credentials(url: str, pool: DbPool) -> dict[str, Any]:
        connection = tortoise_config(url, pool)["connections"]["default"]
        assert connection["engine"] == "backend.infra.pgpool"
        return dict(connection["credentials"])

    plain = credentials("postgres://postgres@127.0.0.1/b2bc", DbPool(size=3, timeout=0.5))
    assert (plain["maxsize"], plain["acquire_timeout"]) == (3, 0.5)
    assert "statement_cache_size" not in plain
    bounced = credentials("postgres://postgres@127.0.0.1/b2bc", DbPool(pgbouncer=True))
    assert bounced["statement_cache_size"] == 0
    # The URL's flag says the same, and is not passed on to asyncpg as a connect argument.
    flagged = credentials("postgres://postgres@127.0.0.1/b2bc?pgbouncer=1", DbPool())
    assert flagged["statement_cache_size"] == 0 and "pgbouncer" not in flagged
    # SQLite has no pool to bound.
    assert tortoise_config("sqlite://:memory:", DbPool())["connections"]["default"] == (
        "sqlite://:memory:"
    )


class _Sockets:
    """Just enough of a Socket.IO server to call a /live handler as a client's event would."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., Awaitable[Any]]] = {}

    async def get_session(self, sid: str, namespace: str) -> dict[str, Any]:
        principal = Principal(user_id=1, session_id="s", role="store_owner", brand_id=1)
        return {"principal": principal, "session_id": 1}

    def on(self, name: str, handler: Callable[..., Awaitable[Any]], namespace: str) -> None:
        assert namespace == NAMESPACE
        self.handlers[name] = handler


async def test_a_live_event_that_finds_the_pool_full_says_so() -> None:
    """Not the generic live.failed: the client can tell a busy system from a broken one."""
    sockets = _Sockets()
    events = LiveEvents(sockets, deps=None)  # type: ignore[arg-type]

    async def grab(sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        raise DatabaseBusy()

    async def broken(sid: str, principal: Principal, data: dict[str, Any]) -> Any:
        raise RuntimeError("a bug")

    events.on("grab", grab)
    events.on("broken", broken)
    assert await sockets.handlers["grab"]("sid", {}) == {"ok": False, "error": BUSY}
    failed = await sockets.handlers["broken"]("sid", {})
    assert failed["error"]["code"] == "live.failed"


@on_postgres
async def test_a_server_out_of_connections_is_busy_not_broken(database_url: str) -> None:
    """PostgreSQL refusing a new connection (too many clients) is the same "none free" as a
    full pool: `db_busy`, which the client retries, rather than a generic failure."""
    url = plain_url(database_url).replace("postgres://", "postgresql://")
    role = f"b2bc_one_connection_{os.getpid()}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
    address = urlsplit(url)
    pool = await open_pool(
        30,
        host=address.hostname,
        port=address.port,
        user=role,
        database=address.path.lstrip("/"),
        min_size=0,
        max_size=2,
    )
    try:
        held = await pool.acquire()
        before = pool_timeouts()
        with pytest.raises(DatabaseBusy):
            await pool.acquire()
        assert pool_timeouts() == before + 1
        await pool.release(held)
        again = await pool.acquire()  # the pool serves again once a connection is back
        assert await again.fetchval("SELECT 1") == 1
        await pool.release(again)
    finally:
        pool.terminate()  # not close(): it would wait for a connection a failure left held
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


def _pool_of_two(database_url: str, timeout_seconds: str) -> Iterator[str]:
    if not ON_POSTGRES:
        pytest.skip("the pool being exhausted is asyncpg's: PostgreSQL only")
    env = {"B2BC_DB_POOL_SIZE": "2", "B2BC_DB_POOL_TIMEOUT": timeout_seconds}
    with api_process(plain_url(database_url), REDIS_URL, **env) as url:
        yield url


@pytest.fixture(scope="module")
def small_pool(database_url: str) -> Iterator[str]:
    """Two connections, and half a second's wait for one."""
    yield from _pool_of_two(database_url, "0.5")


@pytest.fixture(scope="module")
def patient_pool(database_url: str) -> Iterator[str]:
    """Two connections, and a wait longer than any the test makes a request do."""
    yield from _pool_of_two(database_url, "120")


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 60
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


class _Exhausted:
    """Both of an API process's connections held by requests waiting on a row lock."""

    def __init__(self, http: httpx.AsyncClient, tenant: Tenant, headers: dict[str, str]) -> None:
        self.http, self.tenant, self.headers = http, tenant, headers
        self.blocked: list[asyncio.Task[httpx.Response]] = []

    async def rename(self, distributor_id: int, name: str) -> httpx.Response:
        return await self.http.patch(
            f"/api/v1/distributors/{distributor_id}", json={"name": name}, headers=self.headers
        )

    async def pool(self) -> dict[str, int]:
        figures: dict[str, int] = (await self.http.get("/test/pool")).json()
        return figures

    @contextlib.asynccontextmanager
    async def holding(self, database_url: str) -> Any:
        locker = await asyncpg.connect(
            plain_url(database_url).replace("postgres://", "postgresql://")
        )
        transaction = locker.transaction()
        await transaction.start()
        try:
            await locker.execute(
                "SELECT id FROM distributors WHERE id = $1 FOR UPDATE", self.tenant.distributor.id
            )
            for n in range(2):
                name = f"改名{n}"
                self.blocked.append(
                    asyncio.create_task(self.rename(self.tenant.distributor.id, name))
                )

            async def both_wait() -> bool:
                # pg_stat_activity is read once per transaction, and the locker is in one.
                await locker.execute("SELECT pg_stat_clear_snapshot()")
                waiting = await locker.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                return int(waiting) == 2

            await _until(both_wait, "both requests wait on the row lock")
            assert (await self.pool())["in_use"] == 2
            yield
        finally:
            await transaction.rollback()
            await locker.close()


@contextlib.asynccontextmanager
async def _signed_in(url: str) -> AsyncIterator[_Exhausted]:
    tenant = await make_tenant()
    async with httpx.AsyncClient(base_url=url, timeout=180) as http:
        yield _Exhausted(http, tenant, await staff_headers(http, tenant.admin_username))


@on_postgres
async def test_a_full_pool_refuses_with_db_busy_writes_nothing_and_recovers(
    small_pool: str, database_url: str
) -> None:
    async with _signed_in(small_pool) as pool:
        other = pool.tenant.other_distributor
        before = (await pool.pool())["timeouts"]
        async with pool.holding(database_url):
            refused = await pool.rename(other.id, "不该写入")
            assert refused.status_code == 503
            assert refused.json()["error"] == BUSY
            assert (await pool.pool())["timeouts"] == before + 1
            assert (await Distributor.get(id=other.id)).name == other.name
            # The requests holding the connections are still waiting, not failed.
            assert not any(task.done() for task in pool.blocked)
        # The lock gone, the held requests finish and the pool serves again.
        assert [r.status_code for r in await asyncio.gather(*pool.blocked)] == [200, 200]
        retried = await pool.rename(other.id, "重试成功")
        assert retried.status_code == 200, retried.text
        assert (await Distributor.get(id=other.id)).name == "重试成功"
        assert (await pool.pool())["timeouts"] == before + 1


@on_postgres
async def test_a_request_queues_for_a_connection_within_the_timeout(
    patient_pool: str, database_url: str
) -> None:
    async with _signed_in(patient_pool) as pool:
        other = pool.tenant.other_distributor
        before = await pool.pool()
        async with pool.holding(database_url):
            queued = asyncio.create_task(pool.rename(other.id, "排队写入"))

            async def waiting() -> bool:
                return (await pool.pool())["waiting"] == 1

            await _until(waiting, "the third request waits for a connection")
            assert not queued.done()
        response = await queued
        assert response.status_code == 200, response.text
        assert (await Distributor.get(id=other.id)).name == "排队写入"
        assert [r.status_code for r in await asyncio.gather(*pool.blocked)] == [200, 200]
        after = await pool.pool()
        # Never more than the two connections, and no refusal.
        assert (after["timeouts"], after["max"], after["open"]) == (before["timeouts"], 2, 2)


def test_the_budget_keeps_room_for_operators_and_the_one_off_command() -> None:
    fleet = {"API": 4, "realtime": 2, "job worker": 1}
    fits = Budget(processes=fleet, pool_size=10, max_connections=100, reserved=3)
    # (4 + 2 + 1 + one migrate) x 10 = 80 against 100 - 3 reserved - 10 for operators.
    assert (fits.needed, fits.available, fits.fits) == (80, 87, True)
    over = Budget(processes={**fleet, "API": 6}, pool_size=10, max_connections=100, reserved=3)
    assert (over.needed, over.fits, over.pool_size_that_fits()) == (100, False, 8)
    assert "set B2BC_DB_POOL_SIZE to at most 8" in over.report()[-1]
    # A small server still keeps five for operators.
    assert Budget(processes={}, pool_size=1, max_connections=20, reserved=3).available == 12
    # Behind PgBouncer the server sees PgBouncer's pool, whatever the processes open.
    bounced = Budget(
        processes={**fleet, "API": 40},
        pool_size=10,
        max_connections=100,
        reserved=3,
        server_connections=40,
    )
    assert (bounced.clients, bounced.needed, bounced.fits) == (440, 40, True)


def _db_budget(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("B2BC_DATA_DIR", tempfile.mkdtemp(prefix="b2bc-pool-"))
    monkeypatch.setenv("B2BC_DB_POOL_SIZE", "2")
    monkeypatch.delenv("B2BC_MODE", raising=False)
    with pytest.raises(SystemExit) as exited:
        cli.main(["db-budget", *args])
    return int(exited.value.code or 0), capsys.readouterr().out


def test_db_budget_reads_the_servers_limits(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not ON_POSTGRES:
        code, out = _db_budget(monkeypatch, capsys, database_url)
        assert code == 2 and "not PostgreSQL" in out
        return
    url = plain_url(database_url)
    max_connections, reserved = asyncio.run(server_limits(url))
    code, out = _db_budget(monkeypatch, capsys, url, "--api-workers", "1", "--realtime", "1")
    assert code == 0, out
    assert f"max_connections {max_connections}, reserved {reserved}" in out
    assert out.splitlines()[-1] == f"OK: 8 ≤ {Budget({}, 1, max_connections, reserved).available}"
    # More API workers than the server has connections for: refused, with the way out.
    code, out = _db_budget(monkeypatch, capsys, url, "--api-workers", str(max_connections))
    assert code == 2
    assert out.splitlines()[-1].startswith("OVER by ")
