"""Real flows through Debian's PgBouncer in transaction mode (deploy/pgbouncer/pgbouncer.ini).

In transaction mode a client's consecutive transactions run on whichever server connection
is free, so a prepared statement asyncpg named on one is missing on the next ("prepared
statement "__asyncpg_stmt_1__" does not exist"). With B2BC_PGBOUNCER=1 asyncpg keeps no
statement cache. PgBouncer here keeps two server connections for an API process that opens
six, so the process's statements are shuffled across both all the time.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import io
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from backend.ordering.models import Order
from tests import throwaway
from tests.conftest import ON_POSTGRES, REDIS_URL, free_port
from tests.factories import PASSWORD, bearer, idempotent, make_shop, make_tenant, store_owner
from tests.pool_server import api_process, plain_url

RECIPE = Path(__file__).resolve().parent.parent / "deploy" / "pgbouncer" / "pgbouncer.ini"
PGBOUNCER = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
SERVER_CONNECTIONS = 2

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="PgBouncer stands in front of PostgreSQL"),
    pytest.mark.skipif(
        PGBOUNCER is None, reason="pgbouncer is not installed (Debian: apt-get install pgbouncer)"
    ),
]


def _ini(folder: Path, port: int, server_host: str, server_port: int, **overrides: str) -> str:
    """deploy/pgbouncer/pgbouncer.ini as it is, but for where it listens, whom it lets in
    (trust, for the suite's PostgreSQL), where it logs, and a pool of two."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(RECIPE)
    assert config["pgbouncer"]["pool_mode"] == "transaction"
    config["databases"] = {"*": f"host={server_host} port={server_port}"}
    config["pgbouncer"].update(
        {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": str(folder / "userlist.txt"),
            "default_pool_size": str(SERVER_CONNECTIONS),
            "logfile": str(folder / "pgbouncer.log"),
            **overrides,
        }
    )
    del config["pgbouncer"]["pidfile"]  # it runs in the foreground, as the test's child
    text = io.StringIO()
    config.write(text)
    return text.getvalue()


@pytest.fixture(scope="module")
def pgbouncer(database_url: str) -> Iterator[str]:
    with _bouncer(database_url) as url:
        yield url


@contextlib.contextmanager
def _bouncer(database_url: str, **overrides: str) -> Iterator[str]:
    """PgBouncer on a free port in front of the suite's database: its URL through it."""
    assert PGBOUNCER is not None
    server = urlsplit(database_url)
    folder = Path(tempfile.mkdtemp(prefix="b2bc-pgbouncer-"))
    folder.chmod(0o777)  # PgBouncer refuses to run as root: it runs as postgres or nobody
    port = free_port()
    (folder / "userlist.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    ini = folder / "pgbouncer.ini"
    host, server_port = server.hostname or "127.0.0.1", server.port or 5432
    ini.write_text(_ini(folder, port, host, server_port, **overrides))
    owner = throwaway._cluster_owner()
    process = subprocess.Popen(throwaway._as_owner(owner, [PGBOUNCER, str(ini)]))
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log = (folder / "pgbouncer.log").read_text(errors="replace")
                raise RuntimeError(f"pgbouncer exited with {process.returncode}: {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("pgbouncer never listened") from None
                time.sleep(0.05)
        netloc = f"{server.username}@127.0.0.1:{port}" if server.username else f"127.0.0.1:{port}"
        yield plain_url(server._replace(netloc=netloc).geturl())
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


async def _until_paid(order_id: int) -> None:
    deadline = time.monotonic() + 60
    while (await Order.get(id=order_id)).status != "paid":
        if time.monotonic() > deadline:
            raise AssertionError(f"order {order_id} was never marked paid")
        await asyncio.sleep(0.05)


async def _order_and_pay(http: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """A store signs in through the API's WeChat sandbox, orders and pays; the notification
    comes back to the API, all through PgBouncer."""
    shop = await make_shop()
    wechat = httpx.AsyncClient(base_url=f"{str(http.base_url).rstrip('/')}/wx-sandbox", timeout=60)
    async with wechat:
        owner = await store_owner(http, wechat, shop.tenant.store)
        body = {"lines": [{"sku_id": shop.water, "quantity": 2}]}
        placed = await http.post("/api/v1/orders", json=body, headers=idempotent(owner))
        assert placed.status_code == 201, placed.text
        order = placed.json()
        prepay = await http.post(f"/api/v1/orders/{order['id']}/pay", headers=bearer(owner))
        assert prepay.status_code == 200, prepay.text
        paid = await wechat.post(
            "/sandbox/pay/complete", json={"out_trade_no": prepay.json()["out_trade_no"]}
        )
        assert paid.status_code == 200, paid.text
    await _until_paid(order["id"])
    return owner, order


async def test_orders_are_placed_and_paid_through_pgbouncer_in_transaction_mode(
    pgbouncer: str,
) -> None:
    env = {"B2BC_PGBOUNCER": "1", "B2BC_DB_POOL_SIZE": "6"}
    with api_process(pgbouncer, REDIS_URL, **env) as api:
        async with httpx.AsyncClient(base_url=api, timeout=60) as http:
            owner, order = await _order_and_pay(http)
            # The same statements again and again, from six client connections sharing two
            # server connections: any statement named on one would be missing on the other.
            reads = [
                http.get(path, headers=bearer(owner))
                for _ in range(10)
                for path in (f"/api/v1/orders/{order['id']}", "/api/v1/orders")
            ]
            statuses = {response.status_code for response in await asyncio.gather(*reads)}
            assert statuses == {200}
            assert await _readiness(http) == {200}
            detail = (await http.get(f"/api/v1/orders/{order['id']}", headers=bearer(owner))).json()
            assert (detail["status"], detail["paid_fen"]) == ("paid", order["payable_fen"])


async def _readiness(http: httpx.AsyncClient) -> set[int]:
    """/readyz thirty times at once: a `SELECT 1` each, from all the process's connections."""
    responses = await asyncio.gather(*(http.get("/readyz") for _ in range(30)))
    return {response.status_code for response in responses}


async def test_without_the_setting_prepared_statements_go_missing(pgbouncer: str) -> None:
    """Why B2BC_PGBOUNCER=1 exists: the same traffic, with asyncpg's statement cache on,
    fails (and /readyz says the database is unreachable)."""
    with api_process(pgbouncer, REDIS_URL, B2BC_DB_POOL_SIZE="6") as api:
        async with httpx.AsyncClient(base_url=api, timeout=60) as http:
            assert 503 in await _readiness(http)


async def test_pgbouncer_out_of_server_connections_is_db_busy_too(database_url: str) -> None:
    """PgBouncer's own wait (query_wait_timeout) ends like the pool's: 503 db_busy, counted."""
    tenant = await make_tenant()
    login = {"username": tenant.admin_username, "password": PASSWORD}
    with (
        _bouncer(database_url, query_wait_timeout="1") as url,
        api_process(url, REDIS_URL, B2BC_PGBOUNCER="1", B2BC_DB_POOL_SIZE="2") as api,
    ):
        dsn = url.replace("postgres://", "postgresql://", 1)
        holders = [await asyncpg.connect(dsn, statement_cache_size=0) for _ in range(2)]
        async with httpx.AsyncClient(base_url=api, timeout=60) as http:
            try:
                for holder in holders:  # each now keeps one of the two server connections
                    await holder.execute("BEGIN; SELECT 1")
                refused = await http.post("/api/v1/auth/staff/login", json=login)
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["code"] == "db_busy"
                assert (await http.get("/test/pool")).json()["timeouts"] == 1
            finally:
                for holder in holders:
                    await holder.close()
            signed_in = await http.post("/api/v1/auth/staff/login", json=login)
            assert signed_in.status_code == 200, signed_in.text
