"""b2bc: run | serve | realtime | worker | sandbox | sandbox-env | check-config | migrate | demo
| ledger-check | analytics-rebuild | db-budget | makemigrations."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from backend.config import (
    ROLES,
    SANDBOX_SP_MCHID,
    ConfigError,
    Role,
    Settings,
    load_settings,
    needs,
)
from backend.infra import db

SANDBOX_PERSONAS = "店主可用沙箱身份登录：POST {base}/wx-sandbox/sandbox/login-code"


def _settings(role: Role | None = None) -> Settings:
    """The settings for `role`, or exit 2 with one line per missing or invalid setting."""
    try:
        return load_settings(role=role)
    except ConfigError as exc:
        whose = f"（角色 {role}）" if role else ""
        print(f"配置错误 / configuration error{whose}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(2) from exc


async def _migrate_and_seed(settings: Settings, seed: bool) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await db.migrate(settings.database_url, settings.db_pool)
    if not seed:
        return
    from backend.app import build_deps
    from backend.demo.seed import DEMO_OWNER_PERSONA, DEMO_PASSWORD, seed_demo

    await db.init_db(settings.database_url, settings.db_pool)
    deps = build_deps(settings)
    try:
        accounts = await seed_demo(settings.wechat.appid, deps)
    finally:
        await db.close_db()
        await deps.redis.aclose()
    if accounts is None:
        print("演示数据已存在 (demo data already present)")
        print(f"  后台账号: brand_admin / brand_ops / dist1_admin … 密码 {DEMO_PASSWORD}")
        print(f"  门店老板: 沙箱身份 persona={DEMO_OWNER_PERSONA!r}")
        return
    print(
        f"演示数据已创建: 1 个品牌, {len(accounts.staff) - 2} 个经销商, "
        f"{len(accounts.salespeople)} 个业务员, {accounts.stores} 家门店, "
        f"{accounts.skus} 个商品规格"
    )
    print(f"  后台账号 (密码均为 {DEMO_PASSWORD}):")
    for username, role, scope in accounts.staff:
        print(f"    {username:<14} {role:<8} {scope}")
    print("  业务员 (在小程序中绑定以下手机号即获得业务员身份):")
    for name, phone in accounts.salespeople:
        print(f"    {name} {phone}")
    print(
        f"  门店老板: 沙箱身份 persona={DEMO_OWNER_PERSONA!r}，门店「{accounts.owner_store}」，"
        f"已有一笔已付款订单和两次陈列奖励：{accounts.owner_points} 积分、1 次抽奖机会"
    )
    print(f"  进行中的活动: {'、'.join(accounts.promotions)}")
    print(f"  优惠券: {'、'.join(accounts.coupons)}（前者已发到每家门店的券包，后者在领券中心）")
    print(f"  积分商城: {'、'.join(accounts.mall_items)}")
    print(f"  抽奖转盘: 「{accounts.wheel}」，单笔实付满 1000 元抽一次")
    if accounts.desk_orders:
        print(
            f"  订单: dist1_admin 的订单台有门店下的 {accounts.desk_orders} 笔订单，"
            "从待付款到已完成各阶段都有，可批量接单、发货"
        )
    print(
        f"  投诉: {accounts.complaints} 条，处于不同处理阶段（含已解决、已关闭，"
        "部分附照片和订单），可在管理后台 /console 处理"
    )
    print(
        f"  直播: 「{accounts.live_session}」半小时后开始，已邀请 {accounts.live_invited} 家门店，"
        "dist1_admin 可在管理后台开播控场"
    )
    if accounts.display_programs:
        print(
            f"  陈列活动: {'、'.join(accounts.display_programs)}；待审核的陈列照片在"
            "管理后台「陈列审核」，门店老板可在小程序「我的」→「陈列活动」拍照上报"
        )
    if accounts.code_batches:
        print(
            f"  一物一码: 赋码批次 {'、'.join(accounts.code_batches)}，已出库到经销商、门店扫码入库"
            "和动销、一条窜货预警、一个消费者扫码领券活动；门店老板可在小程序「我的」→「扫码入库/动销」"
            f"扫码，消费者可扫 {accounts.consumer_code_url} 验真领券"
        )


def _without_password(url: str) -> str:
    """A service URL fit to print: the password (if any) left out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def _database_line(url: str) -> str:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        return "SQLite（内存，进程结束即丢失）" if path == ":memory:" else f"SQLite 文件 {path}"
    parts = urlsplit(url)
    user = f"，用户 {parts.username}" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"PostgreSQL {parts.hostname}{port}{parts.path}{user}"


def _wechat_line(name: str, base_url: str, real_host: str, whose: str) -> str:
    # Real when it talks to WeChat's own host; anything else is a stand-in for it.
    kind = "真实" if urlsplit(base_url).hostname == real_host else "沙箱"
    return f"{name}{kind} {base_url}（{whose}）"


def startup_banner(settings: Settings, what: str) -> list[str]:
    """What this process really uses, read from the settings it runs with (never assumed
    from the command): mode, database, Redis, WeChat, WeChat Pay and uploads, with no
    password shown."""
    return [f"b2bc 已启动：{what}", *settings_summary(settings)]


NOT_USED = "本进程不使用"


def settings_summary(settings: Settings) -> list[str]:
    """The banner's lines after its first: what a process of `settings.role` uses. The
    sandbox plays WeChat and needs none of the platform's services."""
    mode = "生产 production" if settings.mode == "production" else "嵌入式 embedded（默认）"
    if settings.role == "sandbox":
        return [
            f"  模式       {mode}",
            f"  微信沙箱   小程序 {settings.wechat.appid}，微信支付服务商商户号 "
            f"{SANDBOX_SP_MCHID}（支付密钥 {settings.data_dir / 'wechat_pay_sandbox.json'}）",
        ]
    redis = (
        "进程内 (fakeredis，进程结束即丢失)"
        if settings.embedded_redis
        else _without_password(settings.redis_url)
    )
    storage = settings.storage
    if storage.backend == "s3":
        uploads = f"S3 存储桶 {storage.bucket}（{storage.endpoint_url or 'AWS'}）"
    else:
        uploads = f"本地目录 {storage.local_dir}" if storage.local_dir else NOT_USED
    pay = settings.wechat_pay
    pay_line = (
        _wechat_line(
            "微信支付   ", pay.api_base_url, "api.mch.weixin.qq.com", f"服务商商户号 {pay.sp_mchid}"
        )
        if pay.configured
        else f"微信支付   {NOT_USED}"
    )
    return [
        f"  模式       {mode}",
        f"  数据库     {_database_line(settings.database_url)}",
        f"  Redis      {redis}",
        "  "
        + _wechat_line(
            "微信       ", settings.wechat.api_base_url, "api.weixin.qq.com", settings.wechat.appid
        ),
        f"  {pay_line}",
        f"  上传文件   {uploads}",
    ]


def _print_urls(settings: Settings, what: str, *, embedded_sandbox: bool) -> None:
    base = settings.public_base_url
    print()
    print("\n".join(startup_banner(settings, what)))
    print(f"  API 文档   {base}/docs")
    print(f"  健康检查   {base}/healthz   就绪检查 {base}/readyz")
    print(f"  管理后台   {base}/console   (品牌、经销商员工登录)")
    if embedded_sandbox:
        print(f"  实时服务   {base}/socket.io/  (namespace /live)")
        print(
            f"  微信沙箱   {base}/wx-sandbox  "
            f"(小程序登录码: POST {base}/wx-sandbox/sandbox/login-code)"
        )
    print("  数据目录   " + str(settings.data_dir))
    print()


def _api_app(settings: Settings, name: str, **options: Any) -> Any:
    """The API app without Sanic's own start-up banner: it calls any server not in Sanic's
    debug mode "mode: production", which in the embedded default misled; ours says what is
    really used."""
    from backend.app import create_app

    app = create_app(settings, name=name, **options)
    app.config.MOTD = False
    return app


# How the realtime server speaks websocket (bench/live_fanout.py measures the CPU per
# delivered message and the memory per client): uvicorn's protocol on websockets' sans-I/O
# parser, which also lets the server write a broadcast's frame, built once, to every
# connection (realtime/transport.py). No transport keepalive: Engine.IO pings its clients
# itself. No permessage-deflate: a browser (or any client offering it) got two zlib
# streams, about 100 KB per connection, to compress messages of a few hundred bytes.
REALTIME_WEBSOCKETS: dict[str, Any] = {
    "ws": "realtime.transport:FrameWebSocketProtocol",
    "ws_ping_interval": None,
    "ws_ping_timeout": None,
    "ws_per_message_deflate": False,
}


# prometheus_client's multiprocess mode (backend/infra/metrics.py): the directory where
# `b2bc serve`'s workers write their metrics. prometheus_client reads it when imported, so it
# is set (or removed) before anything imports the app.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_across_workers() -> Callable[[], None]:
    """Turn multiprocess mode on for `b2bc serve`: the given directory, emptied of a previous
    run's files (their totals would add to this run's), else a fresh one in the system's
    temporary folder; each `b2bc serve` needs its own. What removes the fresh one."""
    given = os.environ.get(METRICS_DIR_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="b2bc-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink()
    os.environ[METRICS_DIR_ENV] = str(directory)
    return (lambda: None) if given else partial(shutil.rmtree, directory, ignore_errors=True)


def _metrics_of_this_process() -> None:
    """One process, one registry: a directory meant for `b2bc serve` (one environment file
    serves the fleet) must not mix this process's metrics into the API's."""
    os.environ.pop(METRICS_DIR_ENV, None)


def run_embedded(settings: Settings) -> None:
    """One process: API, realtime and the WeChat sandbox, on SQLite and in-process Redis."""
    _metrics_of_this_process()
    from backend.app import build_deps
    from realtime import server as realtime_server
    from realtime.app import create_realtime_asgi, create_sio

    asyncio.run(_migrate_and_seed(settings, seed=True))
    # One process: the API and the realtime server share their Deps (the in-process Redis
    # above all), and the API's pushes go straight to the Socket.IO server.
    deps = build_deps(settings)
    sio = create_sio(settings, deps=deps)
    deps.broadcast.attach(sio)
    # The one process runs the job worker too (periodic jobs, subscribe messages).
    api = _api_app(settings, "b2bc_embedded", deps=deps, background_jobs=True)
    asgi = create_realtime_asgi(settings, other_asgi_app=api, sio=sio)
    _print_urls(settings, "API + 实时 + 微信沙箱，单进程", embedded_sandbox=True)
    # SIGTERM: clients told to reconnect, requests finished, then (lifespan) the job worker
    # lets its jobs finish; each for the graceful timeout at most.
    realtime_server.serve(
        asgi,
        sio,
        settings.graceful_timeout,
        host=settings.host,
        port=settings.port,
        log_config=None,
        lifespan="on",
        **REALTIME_WEBSOCKETS,
    )


def serve_api(settings: Settings, workers: int) -> None:
    """Production API: Sanic's own server with N worker processes."""
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    remove_metrics_dir = _metrics_across_workers()
    loader = AppLoader(factory=partial(_api_app, settings, "b2bc_api"))
    app = loader.load()
    app.prepare(
        host=settings.host, port=settings.port, workers=workers, single_process=workers == 1
    )
    _print_urls(settings, f"API，{workers} 个进程", embedded_sandbox=False)
    try:
        if workers == 1:
            # In this very process, so that SIGTERM drains for the whole graceful timeout:
            # Sanic's worker manager gives its workers 10 seconds at most, then kills them
            # with their requests (a fleet runs several `--workers 1` processes and restarts
            # them in turn, docs/production.md).
            Sanic.serve_single(primary=app)
        else:
            Sanic.serve(primary=app, app_loader=loader)
    finally:
        remove_metrics_dir()


def serve_realtime(settings: Settings, port: int) -> None:
    from realtime import server as realtime_server
    from realtime.app import create_realtime_asgi, create_sio

    _metrics_of_this_process()
    sio = create_sio(settings)
    asgi = create_realtime_asgi(settings, sio=sio, manage_db=True)
    print("\n".join(startup_banner(settings, f"实时服务，端口 {port}")))
    # SIGTERM: every client is told to reconnect (to another process) before it closes.
    realtime_server.serve(
        asgi,
        sio,
        settings.graceful_timeout,
        host=settings.host,
        port=port,
        log_config=None,
        **REALTIME_WEBSOCKETS,
    )


async def run_worker(settings: Settings) -> None:
    """Production job worker: durable jobs and the periodic ones, until stopped. Run as many
    as you like; each periodic job still runs once per period across them all."""
    import logging.config
    import signal

    _metrics_of_this_process()
    from backend.app import build_deps
    from backend.infra.logging import logging_config
    from backend.infra.metrics import MetricsServer
    from backend.worker import build_runner

    # One JSON object per log line, as the API's processes write them.
    logging.config.dictConfig(logging_config(settings.log_level))
    await db.init_db(settings.database_url, settings.db_pool)
    deps = build_deps(settings)
    runner = build_runner(deps, settings)
    print("\n".join(startup_banner(settings, "任务处理进程 (job worker)")))
    metrics_server = None
    if settings.metrics_port is not None:
        metrics_server = MetricsServer(settings.host, settings.metrics_port, settings.metrics_token)
        metrics_server.start()
        print(f"  监控指标   http://{settings.host}:{settings.metrics_port}/metrics")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await runner.start()
    try:
        await stopping.wait()
    finally:
        await runner.stop()
        if metrics_server is not None:
            metrics_server.stop()
        await db.close_db()
        await deps.redis.aclose()


def serve_sandbox(settings: Settings, host: str, port: int) -> None:
    """The WeChat sandbox alone, for a fleet in production mode (staging): WeChat's API and
    WeChat Pay under /wx-sandbox, notifications POSTed to the notify URLs over HTTP."""
    import uvicorn

    from backend.integrations.wechat.sandbox.process import create_sandbox_process_app

    app = create_sandbox_process_app(settings)
    print("\n".join(startup_banner(settings, f"微信沙箱，http://{host}:{port}/wx-sandbox")))
    print(f"  小程序登录码 POST http://{host}:{port}/wx-sandbox/sandbox/login-code")
    print(f"  支付（付款方）POST http://{host}:{port}/wx-sandbox/sandbox/pay/complete")
    uvicorn.run(app, host=host, port=port, log_config=None, lifespan="on")


def check_config(role: Role) -> int:
    """Exit status 0 and what the role would use, or 2 and one line per missing setting."""
    settings = _settings(role)
    required = needs(role) if settings.mode == "production" else ()
    print(f"配置检查通过：{role}（必填：{'、'.join(required) or '无'}）")
    print("\n".join(settings_summary(settings)))
    return 0


async def _ledger_check(settings: Settings) -> int:
    """Print accounts that do not add up; the exit status says whether there were any."""
    from backend.ledger import service as ledger_service

    await db.init_db(settings.database_url, settings.db_pool)
    try:
        wrong = await ledger_service.unbalanced_accounts()
    finally:
        await db.close_db()
    for account in wrong:
        print(f"不平: {account}")
    print("账户全部平衡" if not wrong else f"{len(wrong)} 个账户不平")
    return 1 if wrong else 0


async def _analytics_rebuild(settings: Settings) -> int:
    """Rebuild the analytics rollups from the raw orders and behaviour events (safe beside
    running workers)."""
    from backend.analytics import event_days, rollups
    from backend.app import build_deps

    await db.init_db(settings.database_url, settings.db_pool)
    deps = build_deps(settings)
    try:
        orders = await rollups.rebuild(deps)
        summed = await event_days.rebuild(deps)
    finally:
        await db.close_db()
        await deps.redis.aclose()
    print(f"分析数据已重建: {orders} 笔订单，{summed.days} 天的用户行为")
    return 0


async def _db_budget(settings: Settings, args: argparse.Namespace) -> int:
    """0 when the fleet's pools fit under max_connections with room for operators, else 2."""
    from backend.infra.budget import Budget, server_limits

    if not settings.database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        print("db-budget: DATABASE_URL is not PostgreSQL; only PostgreSQL has a budget")
        return 2
    max_connections, reserved = await server_limits(settings.database_url)
    budget = Budget(
        processes={"API": args.api_workers, "realtime": args.realtime, "job worker": args.workers},
        pool_size=settings.db_pool.size,
        max_connections=max_connections,
        reserved=reserved,
        server_connections=args.pgbouncer_pool,
    )
    print("\n".join(budget.report()))
    return 0 if budget.fits else 2


def makemigrations() -> None:
    """Write a migration for model changes (a developer's command)."""
    from tortoise.cli.cli import main as tortoise_main

    os.environ.setdefault("B2BC_DATA_DIR", "data")
    sys.argv = ["tortoise", "-c", "backend.cli.TORTOISE_ORM", "makemigrations"]
    tortoise_main()


def __getattr__(name: str) -> object:
    # `tortoise -c backend.cli.TORTOISE_ORM` reads the config lazily from here.
    if name == "TORTOISE_ORM":
        return db.tortoise_config(load_settings().database_url)
    raise AttributeError(name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="b2bc", description="品牌直连门店订货平台")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="embedded default: migrate, demo data, serve everything")
    serve = commands.add_parser("serve", help="production API server")
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    realtime = commands.add_parser("realtime", help="production realtime (Socket.IO) server")
    realtime.add_argument("--port", type=int, default=8001)
    commands.add_parser("worker", help="production job worker (durable and periodic jobs)")
    sandbox = commands.add_parser(
        "sandbox", help="the WeChat and WeChat Pay sandbox as its own server (staging)"
    )
    sandbox.add_argument("--host", default=None, help="default: B2BC_HOST, else 127.0.0.1")
    sandbox.add_argument("--port", type=int, default=None, help="default: B2BC_SANDBOX_PORT, 8090")
    env_lines = commands.add_parser(
        "sandbox-env", help="print KEY=value lines pointing a fleet at `b2bc sandbox`"
    )
    env_lines.add_argument(
        "--url", default=None, help="the sandbox's address (default http://127.0.0.1:PORT)"
    )
    check = commands.add_parser(
        "check-config", help="check the environment has what a role needs (exit 2 if not)"
    )
    check.add_argument("role", choices=ROLES)
    commands.add_parser("migrate", help="apply migrations")
    commands.add_parser("demo", help="migrate and create demo data")
    commands.add_parser("makemigrations", help="write a migration for model changes")
    commands.add_parser("ledger-check", help="check every ledger balance is the sum of its entries")
    commands.add_parser(
        "analytics-rebuild", help="rebuild the analytics rollups from the orders and events"
    )
    budget = commands.add_parser(
        "db-budget", help="check the fleet's database pools fit under max_connections"
    )
    budget.add_argument("--api-workers", type=int, default=os.cpu_count() or 1)
    budget.add_argument("--realtime", type=int, default=1, help="realtime processes")
    budget.add_argument("--workers", type=int, default=1, help="job worker processes")
    budget.add_argument(
        "--pgbouncer-pool", type=int, default=None, help="server connections PgBouncer keeps"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)

    if args.command == "makemigrations":
        makemigrations()
        return
    if args.command == "check-config":
        sys.exit(check_config(args.role))
    role: Role | None = SERVER_ROLES.get(args.command)
    settings = _settings(role)
    if args.command in CHECKS:  # a one-off whose exit status says how it went
        sys.exit(asyncio.run(CHECKS[args.command](settings)))
    if args.command == "run":
        run_embedded(settings)
    elif args.command == "serve":
        serve_api(settings, args.workers)
    elif args.command == "realtime":
        serve_realtime(settings, args.port)
    elif args.command == "worker":
        asyncio.run(run_worker(settings))
    elif args.command == "sandbox":
        port = settings.sandbox_port if args.port is None else args.port
        serve_sandbox(settings, args.host or settings.host, port)
    elif args.command == "sandbox-env":
        from backend.integrations.wechat.sandbox.process import sandbox_env

        url = args.url or f"http://127.0.0.1:{settings.sandbox_port}"
        print("\n".join(sandbox_env(settings, url)))
    elif args.command == "migrate":
        asyncio.run(_migrate_and_seed(settings, seed=False))
        print("migrations applied")
    elif args.command == "demo":
        asyncio.run(_migrate_and_seed(settings, seed=True))
    elif args.command == "db-budget":
        sys.exit(asyncio.run(_db_budget(settings, args)))


# One-off commands that take the settings and exit with their status.
CHECKS = {"ledger-check": _ledger_check, "analytics-rebuild": _analytics_rebuild}

# The role each server command plays; the other commands run as every role at once (None).
SERVER_ROLES: dict[str, Role] = {
    "serve": "api",
    "realtime": "realtime",
    "worker": "worker",
    "sandbox": "sandbox",
    "sandbox-env": "sandbox",
}


if __name__ == "__main__":
    main()
