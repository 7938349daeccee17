"""create_app(): the API process, its blueprints, error envelope, and startup/shutdown."""

from __future__ import annotations

import gc
import itertools
from typing import Any

import redis as sync_redis
from sanic import Sanic
from sanic_ext import Extend, openapi
from sanic_ext.extensions.http.extension import HTTPExtension
from sanic_ext.extensions.openapi.extension import OpenAPIExtension
from wechatpy.session.redisstorage import RedisStorage

from backend.analytics.effect_routes import bp as analytics_effect_bp
from backend.analytics.event_routes import bp as analytics_event_bp
from backend.analytics.reorder_routes import bp as analytics_reorder_bp
from backend.analytics.sales_routes import bp as analytics_sales_bp
from backend.analytics.store_routes import bp as analytics_store_bp
from backend.catalog.routes import bp as catalog_bp
from backend.codes.batch_routes import bp as codes_batches_bp
from backend.codes.campaign_routes import bp as codes_campaigns_bp
from backend.codes.diversion_routes import bp as codes_diversions_bp
from backend.codes.redemption_routes import bp as codes_redemptions_bp
from backend.codes.scan_routes import bp as codes_scans_bp
from backend.codes.scan_routes import landing as codes_landing_bp
from backend.codes.shipment_routes import bp as codes_shipments_bp
from backend.complaints.routes import bp as complaints_bp
from backend.config import SANDBOX_SP_MCHID, Settings
from backend.coupons.routes import bp as coupons_bp
from backend.deps import Deps
from backend.display.figure_routes import bp as display_figures_bp
from backend.display.photo_routes import bp as display_photos_bp
from backend.display.review_routes import bp as display_review_bp
from backend.display.routes import bp as display_bp
from backend.identity.access import RevocationCache, TokenVerifier
from backend.identity.profiles import Listening, ProfileCache
from backend.identity.routes import bp as identity_bp
from backend.imports.routes import bp as imports_bp
from backend.infra import db
from backend.infra import jobs as job_queue
from backend.infra.apidoc import document_api
from backend.infra.broadcast import Broadcaster, write_only_redis_broadcaster
from backend.infra.console import create_console_blueprint
from backend.infra.http import dumps, install_http_edge
from backend.infra.logging import logging_config
from backend.infra.metrics import install_metrics
from backend.infra.ops import bp as ops_bp
from backend.infra.redis import create_redis
from backend.integrations.wechat.client import MiniProgramClient
from backend.integrations.wechat.pay import pay_client
from backend.integrations.wechat.sandbox import SandboxState, create_sandbox_blueprint
from backend.integrations.wechat.sandbox.pay import PaySandboxState, create_pay_sandbox_blueprint
from backend.jobs.routes import bp as jobs_bp
from backend.kernel.clock import SystemClock
from backend.ledger.routes import bp as ledger_bp
from backend.livestream.routes import bp as livestream_bp
from backend.lottery.routes import bp as lottery_bp
from backend.mall.routes import bp as mall_bp
from backend.notifications.routes import bp as notifications_bp
from backend.ordering.routes import bp as ordering_bp
from backend.org.routes import bp as org_bp
from backend.payments.routes import bp as payments_bp
from backend.promotions.routes import bp as promotions_bp
from backend.uploads.routes import bp as uploads_bp
from backend.wiring import wire
from backend.worker import TITLES, build_runner

# Ports plugged and event handlers registered: every process imports this module.
wire()

_app_numbers = itertools.count(1)


def _wechat_token_storage(settings: Settings) -> Any:
    """Share WeChat's access token between processes: a new one retires the old one."""
    if settings.embedded_redis:
        return None
    return RedisStorage(sync_redis.Redis.from_url(settings.redis_url), prefix="b2bc:wechat")


def build_deps(settings: Settings, realtime: Any = None) -> Deps:
    """`realtime`: the Socket.IO server when it runs in this process (embedded)."""
    if realtime is not None:
        broadcast = Broadcaster(realtime)
    elif settings.embedded_redis:
        broadcast = Broadcaster()  # no realtime process to reach
    else:
        broadcast = write_only_redis_broadcaster(settings.redis_url)
    return Deps(
        settings=settings,
        clock=SystemClock(),
        redis=create_redis(settings.redis_url),
        wechat=MiniProgramClient(settings.wechat, token_storage=_wechat_token_storage(settings)),
        pay=pay_client(settings.wechat_pay),
        broadcast=broadcast,
    )


def embedded_sandbox_state(settings: Settings) -> SandboxState:
    state = SandboxState()
    state.apps[settings.wechat.appid] = settings.wechat.secret
    return state


def create_app(
    settings: Settings,
    *,
    deps: Deps | None = None,
    manage_db: bool = True,
    background_jobs: bool = False,
    name: str | None = None,
    realtime: Any = None,
) -> Sanic:
    """The API. Tests pass their own `deps` and manage the database themselves.

    `background_jobs`: run a job worker inside this process (the embedded default's one
    process); production runs `b2bc worker` processes and its API processes run none."""
    app = Sanic(
        name or f"b2bc_api_{next(_app_numbers)}",
        dumps=dumps,
        log_config=logging_config(settings.log_level),
    )
    _configure(app, settings)
    app.ctx.settings = settings
    app.ctx.revocations = RevocationCache(settings.revocation_cache_seconds)
    app.ctx.tokens = TokenVerifier(settings.jwt_secret)
    app.ctx.profiles = ProfileCache(settings.profile_cache_seconds)
    profile_changes = Listening(app.ctx.profiles)
    if deps is not None:
        app.ctx.deps = deps

    @app.before_server_start
    async def start(app: Sanic) -> None:
        if not hasattr(app.ctx, "deps"):
            app.ctx.deps = build_deps(settings, realtime)
        if manage_db:
            await db.init_db(settings.database_url, settings.db_pool)
        if not settings.embedded_redis:
            # Jobs deferred here wake the `b2bc worker`s' relays once committed.
            job_queue.WAKEUPS.publish_through(app.ctx.deps.redis)
        profile_changes.start(app.ctx.deps.redis, embedded=settings.embedded_redis)
        # Everything alive now (modules, routes, models: over 100,000 objects) lives as long as
        # the process. Frozen, the collector stops scanning it, so a full collection landing
        # in a request costs ~1 ms instead of ~35 ms (bench/promotion_quote.py measured it).
        gc.freeze()

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await profile_changes.stop()
        if manage_db:
            await db.close_db()
        if deps is None:
            await app.ctx.deps.redis.aclose()

    if background_jobs:
        _run_jobs_inside(app, settings)
    if settings.storage.backend == "local" and settings.storage.local_dir is not None:
        # Uploaded files in the embedded default; production serves them from the bucket.
        settings.storage.local_dir.mkdir(parents=True, exist_ok=True)
        app.static("/media", settings.storage.local_dir, name="media")
    app.blueprint(create_console_blueprint())
    for blueprint in (
        ops_bp,
        identity_bp,
        org_bp,
        catalog_bp,
        ordering_bp,
        payments_bp,
        promotions_bp,
        coupons_bp,
        mall_bp,
        lottery_bp,
        complaints_bp,
        notifications_bp,
        jobs_bp,
        ledger_bp,
        livestream_bp,
        uploads_bp,
        imports_bp,
        display_bp,
        display_photos_bp,
        display_review_bp,
        display_figures_bp,
        codes_batches_bp,
        codes_shipments_bp,
        codes_scans_bp,
        codes_landing_bp,
        codes_diversions_bp,
        codes_campaigns_bp,
        codes_redemptions_bp,
        analytics_sales_bp,
        analytics_effect_bp,
        analytics_event_bp,
        analytics_store_bp,
        analytics_reorder_bp,
    ):
        app.blueprint(blueprint)
    # The WeChat sandboxes play WeChat's servers (its API, not ours), in the embedded default
    # only: they stay out of the OpenAPI document, so a client generated from it is ours.
    if settings.mode == "embedded" and settings.wechat.api_base_url.endswith("/wx-sandbox"):
        sandbox = create_sandbox_blueprint(embedded_sandbox_state(settings), "/wx-sandbox")
        app.blueprint(sandbox)
        openapi.exclude(bp=sandbox)
    if settings.pay_sandbox_keys is not None:
        pay_state = PaySandboxState(
            settings.pay_sandbox_keys, SANDBOX_SP_MCHID, settings.wechat.appid
        )
        pay_sandbox = create_pay_sandbox_blueprint(pay_state, "/wx-sandbox")
        app.blueprint(pay_sandbox)
        openapi.exclude(bp=pay_sandbox)
    return app


def _run_jobs_inside(app: Sanic, settings: Settings) -> None:
    """A job worker in this process, started once the database is up, stopped before it goes
    (listeners of one kind run in order; after_server_stop ones in reverse)."""

    @app.after_server_start
    async def start_jobs(app: Sanic) -> None:
        app.ctx.jobs = build_runner(app.ctx.deps, settings)
        await app.ctx.jobs.start()

    @app.before_server_stop
    async def stop_jobs(app: Sanic) -> None:
        await app.ctx.jobs.stop()


def _configure(app: Sanic, settings: Settings) -> None:
    app.ctx.job_titles = TITLES  # the console names jobs by their titles (backend/jobs)
    # Sanic's own server reads up to the larger limit; the request middleware then holds each
    # route to its own (infra/http.py: routes declared with ctx_large_body take files).
    app.config.REQUEST_MAX_SIZE = max(settings.max_body_bytes, settings.max_upload_bytes)
    app.config.BODY_LIMIT = settings.max_body_bytes
    app.config.UPLOAD_LIMIT = settings.max_upload_bytes
    app.config.ACCESS_LOG = settings.access_log
    # SIGTERM: Sanic's server stops accepting, lets requests under way finish for this long,
    # then closes what is left (and the database after that).
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = settings.graceful_timeout
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_UI_DEFAULT = "swagger"
    app.config.OAS_URL_PREFIX = "/docs"
    # The docs page loads Swagger UI from us, not from a CDN that may be slow or unreachable.
    app.config.OAS_UI_SWAGGER_CDN_URL = "/docs-assets"
    app.config.OAS_UI_SWAGGER_VERSION = "swagger-ui"
    app.config.OAS_UI_REDOC = False
    app.config.API_TITLE = "b2bc 品牌直连门店订货平台 API"
    app.config.API_VERSION = "v1"
    # No CORS: the mini-program is not a browser origin and the console is served same-origin.
    app.config.CORS = False
    # Only the extensions we use. Sanic-ext's dependency injection (unused: handlers get their
    # Deps from request_deps) listens to a signal dispatched on every request, which cost
    # about 7% of a payment notification's CPU (bench/notifications.py).
    Extend(app, extensions=[OpenAPIExtension, HTTPExtension], built_in_extensions=False)
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    # Before sanic-ext builds the document (its listener has priority -1000).
    app.before_server_start(document_api, priority=0)
    install_http_edge(app)
    install_metrics(app)  # GET /metrics and the request latency histogram
