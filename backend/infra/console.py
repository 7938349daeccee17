"""Serves the brand and distributor web console (console/public): one page at /console and
its static files under /console/static. The libraries it imports are copied from npm into
console/public/vendor by `make install`; without them the page says how to get them."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, html, redirect
from sanic_ext import openapi

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console" / "public"
VENDOR_MISSING = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>b2bc 管理后台</title><body style="font-family:sans-serif;padding:40px">
<h1>管理后台的前端库尚未安装</h1>
<p>请在项目目录运行 <code>make install</code>（需要 Node.js 与 npm），然后刷新本页。</p>
</body></html>"""


def create_console_blueprint(console_dir: Path = CONSOLE_DIR) -> Blueprint:
    bp = Blueprint("console")
    bp.static("/console/static", console_dir, name="console_static")

    @bp.get("/console")
    @openapi.exclude()
    async def console_home(request: Request) -> HTTPResponse:
        if not (console_dir / "vendor" / "preact.js").exists():
            return html(VENDOR_MISSING, status=503)
        # Not cached: a new release must reach a browser that kept the page open.
        return await file(console_dir / "index.html", headers={"Cache-Control": "no-cache"})

    @bp.get("/")
    @openapi.exclude()
    async def root(request: Request) -> HTTPResponse:
        return redirect("/console")

    return bp
