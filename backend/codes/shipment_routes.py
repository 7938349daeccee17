"""Product codes over HTTP: 出库：箱码出库到经销商、订单发货带箱码."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("codes_shipment_routes", url_prefix="/api/v1/codes")
