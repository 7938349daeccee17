"""Product codes over HTTP: 门店扫码：入库（开箱）、动销、库存."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("codes_scan_routes", url_prefix="/api/v1/codes")
