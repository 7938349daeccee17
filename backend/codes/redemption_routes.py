"""Product codes over HTTP: 消费者券核销与会员."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("codes_redemption_routes", url_prefix="/api/v1/codes")
