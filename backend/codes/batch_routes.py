"""Product codes over HTTP: 赋码批次：生成、导出、打印."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("codes_batch_routes", url_prefix="/api/v1/codes")
