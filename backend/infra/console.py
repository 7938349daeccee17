"""Serves the brand and distributor web console: the Vite build in console/dist, one page at
/console and its hashed files under /console/assets. `make install` builds it from the npm lock;
without a build the page says how to make one."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, html, redirect
from sanic_ext import openapi

CONSOLE_BUILD = Path(__file__).resolve().parents[2] / "console" / "dist"
BUILD_MISSING = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>b2bc 管理后台</title><body style="font-family:sans-serif;padding:40px">
<h1>管理后台尚未构建</h1>
<p>请在项目目录运行 <code>make install</code>（需要 Node.js 与 npm），然后刷新本页。</p>
</body></html>"""


def create_console_blueprint(build_dir: Path = CONSOLE_BUILD) -> Blueprint:
    bp = Blueprint("console")
    bp.static("/console/assets", build_dir / "assets", name="console_assets")

    @bp.on_response
    async def cache_forever(request: Request, response: HTTPResponse) -> None:
        # The built files' names carry a hash of their content: a browser may keep them.
        if request.path.startswith("/console/assets/") and response.status == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"

    @bp.get("/console")
    @openapi.exclude()
    async def console_page(request: Request) -> HTTPResponse:
        page = build_dir / "index.html"
        if not page.exists():
            return html(BUILD_MISSING, status=503)
        # Not cached: a new release must reach a browser that kept the page open.
        response = await file(page)
        response.headers["Cache-Control"] = "no-cache"  # replaces what file() may have set
        return response

    @bp.get("/")
    @openapi.exclude()
    async def root(request: Request) -> HTTPResponse:
        return redirect("/console")

    return bp
