"""`b2bc sandbox` as its own process, and an API in production mode pointed at it through the
lines `b2bc sandbox-env` prints: a store signs in with a wx.login code, orders and pays, and the
sandbox process POSTs the payment notification to the API over HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager

from backend.app import create_app
from backend.config import load_settings
from backend.deps import Deps
from backend.integrations.wechat.client import MiniProgramClient
from backend.integrations.wechat.pay import pay_client
from backend.ordering.models import Order
from backend.payments.models import Payment
from tests.b2bc_process import b2bc, env_lines, output, start_b2bc
from tests.conftest import ON_POSTGRES, REDIS_URL, free_port
from tests.factories import (
    bearer,
    idempotent,
    live_session_with_stores,
    make_shop,
    store_owner,
)
from tests.test_live_room import Viewer


@dataclass
class SandboxProcess:
    url: str  # http://127.0.0.1:PORT
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def sandbox_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A real `b2bc sandbox` on a free port, in production mode: the sandbox needs nothing
    from the platform's settings."""
    data_dir = tmp_path_factory.mktemp("sandbox-data")
    port = free_port()
    log = data_dir / "sandbox.log"
    process = start_b2bc(
        "sandbox", "--port", str(port), log=log, B2BC_MODE="production", B2BC_DATA_DIR=str(data_dir)
    )
    running = SandboxProcess(f"http://127.0.0.1:{port}", data_dir, process, log)
    try:
        _wait_until_up(running)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(sandbox: SandboxProcess) -> None:
    for _ in range(600):
        if sandbox.process.poll() is not None:
            raise RuntimeError(f"b2bc sandbox exited: {output(sandbox.log)}")
        try:
            if httpx.get(f"{sandbox.url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"b2bc sandbox did not come up: {output(sandbox.log)}")


@dataclass
class ProductionApi:
    url: str
    deps: Deps
    settings_env: dict[str, str]


@pytest.fixture
async def production_api(
    sandbox_process: SandboxProcess, deps: Deps, database_url: str, tmp_path: Path
) -> AsyncIterator[ProductionApi]:
    """The API in production mode, its WeChat and Pay settings read from `b2bc sandbox-env`
    (nothing else points it at the sandbox), served on a loopback port so the sandbox
    process can reach its notify URL."""
    printed = b2bc(
        "sandbox-env", "--url", sandbox_process.url, B2BC_DATA_DIR=str(sandbox_process.data_dir)
    )
    assert printed.returncode == 0, printed.stderr
    port = free_port()
    env = {
        **env_lines(printed.stdout),
        "B2BC_MODE": "production",
        # Production refuses SQLite and the in-process Redis; on the embedded test run the
        # app still uses the suite's (its Deps and database are the fixtures'), and these
        # name a PostgreSQL and a Redis it never connects to.
        "DATABASE_URL": database_url if ON_POSTGRES else "postgres://unused@127.0.0.1:1/unused",
        "REDIS_URL": REDIS_URL if REDIS_URL.startswith("redis") else "redis://127.0.0.1:1/0",
        "B2BC_JWT_SECRET": "j" * 40,
        "B2BC_CODE_SECRET": "c" * 40,
        "B2BC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "B2BC_STORAGE": "local",
        "B2BC_DATA_DIR": str(tmp_path),
        "B2BC_ACCESS_LOG": "0",
        "B2BC_LOG_LEVEL": "WARNING",
    }
    settings = load_settings(env, role="api")
    assert settings.mode == "production" and settings.pay_sandbox_keys is None
    production = Deps(
        settings=settings,
        clock=deps.clock,
        redis=deps.redis,
        wechat=MiniProgramClient(settings.wechat),
        pay=pay_client(settings.wechat_pay),
    )
    app = create_app(
        settings, deps=production, manage_db=False, name=f"b2bc_production_test_{port}"
    )
    app.config.TOUCHUP = False  # Sanic rewrites its HTTP module once per process: done already
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    async with LifespanManager(app, startup_timeout=30):
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        try:
            yield ProductionApi(f"http://127.0.0.1:{port}", production, env)
        finally:
            server.should_exit = True
            await task


async def eventually(check: Any) -> Any:
    async with asyncio.timeout(10):
        while not (result := await check()):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)
    return result


async def _paid(order_id: int) -> bool:
    return (await Order.get(id=order_id)).status == "paid"


async def test_a_store_pays_and_the_sandbox_process_notifies_the_api(
    sandbox_process: SandboxProcess, production_api: ProductionApi
) -> None:
    settings = production_api.deps.settings
    sandbox_url = f"{sandbox_process.url}/wx-sandbox"
    assert settings.wechat.api_base_url == settings.wechat_pay.api_base_url == sandbox_url
    async with (
        httpx.AsyncClient(base_url=production_api.url) as api,
        httpx.AsyncClient(base_url=sandbox_url) as phone,
    ):
        shop = await make_shop()
        # wx.login's code comes from the sandbox process; the API redeems it there.
        owner = await store_owner(api, phone, shop.tenant.store)
        order = (
            await api.post(
                "/api/v1/orders",
                json={"lines": [{"sku_id": shop.water, "quantity": 1}]},
                headers=idempotent(owner),
            )
        ).json()
        started = await api.post(f"/api/v1/orders/{order['id']}/pay", headers=bearer(owner))
        assert started.status_code == 200, started.text
        out_trade_no = started.json()["out_trade_no"]
        assert (await Order.get(id=order["id"])).status == "pending_payment"

        paid = await phone.post("/sandbox/pay/complete", json={"out_trade_no": out_trade_no})
        assert paid.status_code == 200, paid.text
        await eventually(lambda: _paid(order["id"]))
        payment = await Payment.get(out_trade_no=out_trade_no)
        assert payment.status == "succeeded"
        assert payment.transaction_id == paid.json()["transaction_id"]
        # The notification went over HTTP to the notify URL under the API's public URL.
        sent = (
            await phone.get("/sandbox/pay/notifications", params={"subject": out_trade_no})
        ).json()
        assert [(n["url"], n["delivered"]) for n in sent] == [
            (f"{production_api.url}/api/v1/payments/wechat/notify", True)
        ]


def test_sandbox_env_prints_the_running_sandboxs_keys_again(
    sandbox_process: SandboxProcess,
) -> None:
    """sandbox-env run again (or by another fleet member) prints the same keys the running
    sandbox verifies with, and writes the PEMs for owner only."""
    first = env_lines(b2bc("sandbox-env", B2BC_DATA_DIR=str(sandbox_process.data_dir)).stdout)
    second = env_lines(b2bc("sandbox-env", B2BC_DATA_DIR=str(sandbox_process.data_dir)).stdout)
    assert first == second
    assert first["WECHAT_API_BASE_URL"] == "http://127.0.0.1:8090/wx-sandbox"
    for name in ("WECHAT_PAY_MERCHANT_PRIVATE_KEY", "WECHAT_PAY_PLATFORM_PUBLIC_KEY"):
        pem = Path(first[name])
        assert pem.parent.parent == sandbox_process.data_dir
        assert pem.read_text().startswith("-----BEGIN")
        assert pem.stat().st_mode & 0o777 == 0o600


# What a realtime process is given in the fleet test below: nothing else (no Pay, no bucket).
REALTIME_SETTINGS = (
    "B2BC_MODE",
    "DATABASE_URL",
    "REDIS_URL",
    "B2BC_JWT_SECRET",
    "WECHAT_APPID",
    "WECHAT_SECRET",
    "WECHAT_API_BASE_URL",
    "B2BC_PUBLIC_BASE_URL",
    "B2BC_LOG_LEVEL",
)


async def _engine_io_answers(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            assert process.poll() is None, output(log)
            try:
                answer = await http.get(f"{url}/socket.io/?EIO=4&transport=polling")
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"b2bc realtime did not come up: {output(log)}")


@pytest.mark.skipif(
    not ON_POSTGRES, reason="a production realtime process needs PostgreSQL and a shared Redis"
)
async def test_a_realtime_process_with_only_its_settings_serves_the_apis_stores(
    sandbox_process: SandboxProcess, production_api: ProductionApi, deps: Deps, tmp_path: Path
) -> None:
    """Started in production mode with its own settings only, realtime accepts the token the
    API signed and checks a store's chat with WeChat (the sandbox process)."""
    env = {key: production_api.settings_env[key] for key in REALTIME_SETTINGS}
    port, log = free_port(), tmp_path / "realtime.log"
    process = start_b2bc("realtime", "--port", str(port), log=log, **env)
    viewer = Viewer()
    try:
        url = f"http://127.0.0.1:{port}"
        await _engine_io_answers(url, process, log)
        tenant, session, _ = await live_session_with_stores(deps, stores=1)
        async with (
            httpx.AsyncClient(base_url=production_api.url) as api,
            httpx.AsyncClient(base_url=f"{sandbox_process.url}/wx-sandbox") as phone,
        ):
            owner = await store_owner(api, phone, tenant.store)
        await viewer.connect(url, owner["access_token"])
        assert (await viewer.call("join", {"session_id": session.id}))["ok"]
        sent = await viewer.call("chat", {"text": "滤芯多久换一次"})
        assert sent["ok"], sent
        await deps.redis.delete(f"live:chat:{session.id}:{owner['identity']['user_id']}")
        risky = await viewer.call("chat", {"text": "来赌博吗"})
        assert risky["error"]["code"] == "live.chat_rejected"
    finally:
        if viewer.client.connected:
            await viewer.client.disconnect()
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in output(log)
