"""Operational endpoints: liveness, readiness, and the assets of the API docs page."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse, file
from sanic_ext import openapi
from swagger_ui_bundle import swagger_ui_path

from backend.infra import db
from backend.infra.http import error_envelope, ok
from backend.infra.logging import get_logger

log = get_logger("ops")
bp = Blueprint("ops")

# sanic-ext's docs page asks for the minified names; the bundled package ships the plain ones.
SWAGGER_ASSETS = {
    "swagger-ui.min.css": "swagger-ui.css",
    "swagger-ui-bundle.min.js": "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.min.js": "swagger-ui-standalone-preset.js",
}


@bp.get("/healthz")
@openapi.summary("进程存活")
async def healthz(request: Request) -> HTTPResponse:
    return ok({"status": "ok"})


@bp.get("/readyz")
@openapi.summary("依赖就绪：数据库与 Redis 均可达")
async def readyz(request: Request) -> HTTPResponse:
    checks: dict[str, str] = {}
    try:
        await db.ping_db()
        checks["database"] = "ok"
    except Exception as exc:
        log.warning("database not ready", extra={"error": repr(exc)})
        checks["database"] = "unreachable"
    try:
        await request.app.ctx.deps.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        log.warning("redis not ready", extra={"error": repr(exc)})
        checks["redis"] = "unreachable"
    if all(value == "ok" for value in checks.values()):
        return ok({"status": "ready", "checks": checks})
    body = error_envelope("service.not_ready", "依赖服务不可用", checks)
    return ok(body, status=503)


@bp.get("/docs-assets/swagger-ui/<name:str>")
@openapi.exclude()
async def docs_asset(request: Request, name: str) -> HTTPResponse:
    local = SWAGGER_ASSETS.get(name)
    if local is None:
        raise NotFound("no such asset")
    return await file(Path(swagger_ui_path) / local, headers={"Cache-Control": "max-age=86400"})
