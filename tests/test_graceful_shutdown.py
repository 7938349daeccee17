"""Restarts lose nothing: SIGTERM drains each kind of process (docs: the rolling restart).

Each process here is a real `b2bc` command in production mode on the tests' PostgreSQL and
Redis. What is "under way" is made real, not simulated: the test holds a row lock from its
own database connection, so a real request (or job) waits on it inside its transaction; the
test sends SIGTERM while it waits, then lets go. Only on PostgreSQL and Redis: production
mode refuses anything else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.infra import jobs
from backend.infra.models import JobRecord
from backend.notifications.models import SubscribeSend
from backend.notifications.service import SUBSCRIBE_TASK
from backend.ordering.models import Order
from tests.conftest import ON_POSTGRES, free_port
from tests.factories import bearer, make_shop, stock_of
from tests.production import B2bcProcess, production_env
from tests.test_complaint_subscribe import allow
from tests.test_complaints import filed, parties, step
from tests.test_live_rain_room import owner_token

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="production mode runs on PostgreSQL and a real Redis only"
)


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 60.0) -> None:
    """A hang guard, not a measure: the condition is expected well before."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def row_locked(database_url: str, table: str, **where: int) -> AsyncIterator[Any]:
    """Hold `table`'s matching row locked (SELECT ... FOR UPDATE) until the block ends;
    yields a coroutine function telling whether another session waits on a lock."""
    dsn = database_url.split("?", maxsplit=1)[0].replace("postgres://", "postgresql://", 1)
    holder, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    transaction = holder.transaction()
    await transaction.start()
    try:
        condition = " AND ".join(f"{column} = ${n}" for n, column in enumerate(where, 1))
        locked = await holder.fetch(
            f"SELECT 1 FROM {table} WHERE {condition} FOR UPDATE",
            *where.values(),
        )
        assert len(locked) == 1

        async def someone_waits() -> bool:
            # From a connection outside the holder's transaction: PostgreSQL reads
            # pg_stat_activity once per transaction.
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(waiting)

        yield someone_waits
    finally:
        await transaction.rollback()
        await holder.close()
        await watcher.close()


async def refuses_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def test_sigterm_lets_an_order_under_way_finish_and_takes_no_new_requests(
    settings, pay_keys, sandbox, deps, tmp_path: Path
) -> None:
    shop = await make_shop(water_stock=5)
    token = await owner_token(deps, shop.tenant.store)
    port = free_port()
    env = production_env(settings, pay_keys, tmp_path, wechat_base_url=sandbox.url)
    env |= {"B2BC_PORT": str(port), "B2BC_GRACEFUL_TIMEOUT": "120"}
    api = B2bcProcess("api-drain", ["serve", "--workers", "1"], env)
    try:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(api.wait_until_serving, f"{base}/healthz")
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "drain-1"}
        body = {"lines": [{"sku_id": shop.water, "quantity": 2}]}
        lock = row_locked(
            settings.database_url,
            "distributor_skus",
            distributor_id=shop.tenant.distributor.id,
            sku_id=shop.water,
        )
        async with httpx.AsyncClient(base_url=base, timeout=None) as http:
            # Signed in and served once: the process has its database pool open.
            assert (await http.get("/api/v1/me", headers=headers)).status_code == 200
            async with lock as someone_waits:
                order = http.post("/api/v1/orders", json=body, headers=headers)
                placing = asyncio.create_task(order)

                async def stuck() -> bool:
                    return placing.done() or await someone_waits()

                await until(stuck)  # the order is inside its transaction, waiting
                assert not placing.done(), (await placing).text
                api.terminate()
                await until(lambda: refuses_connections(port))  # nothing new comes in
                assert not placing.done()  # and what came in still waits
            response = await placing
        assert response.status_code == 201, response.text
        assert await asyncio.to_thread(api.exit_code) == 0, api.output()
    finally:
        api.kill()
    orders = await Order.filter(store_id=shop.tenant.store.id)
    assert [order.id for order in orders] == [response.json()["id"]]
    assert await stock_of(shop) == 3


async def test_sigterm_lets_a_job_under_way_finish_once(
    client, sandbox_client, sandbox_state, settings, pay_keys, sandbox, tmp_path: Path
) -> None:
    sandbox_state.sent_messages.clear()
    shop, brand, _, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store)
    user_id = owner["identity"]["user_id"]
    env = production_env(settings, pay_keys, tmp_path, wechat_base_url=sandbox.url)
    env |= {"B2BC_GRACEFUL_TIMEOUT": "120"}
    # The job takes the user's grant in its transaction: held here, the job waits on it.
    async with row_locked(settings.database_url, "subscribe_grants", user_id=user_id) as waits:
        assert (await step(client, brand, number, "acknowledge")).status_code == 200
        (job_id,) = await JobRecord.filter(task=SUBSCRIBE_TASK).values_list("id", flat=True)
        worker = B2bcProcess("worker-drain", ["worker"], env)
        try:
            await until(waits)
            assert (await JobRecord.get(id=job_id)).status == jobs.RUNNING
            worker.terminate()
            await asyncio.to_thread(worker.wait_for_output, '"running": 1')
        except BaseException:
            worker.kill()
            raise
    try:
        assert await asyncio.to_thread(worker.exit_code) == 0, worker.output()
    finally:
        worker.kill()
    record = await JobRecord.get(id=job_id)
    assert (record.status, record.attempts) == (jobs.DONE, 1)
    assert await SubscribeSend.filter(cause=f"job:{job_id}").count() == 1
    assert [m["data"]["phrase2"] for m in sandbox_state.sent_messages] == ["已受理"]
