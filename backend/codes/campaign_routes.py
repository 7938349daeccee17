"""Product codes over HTTP: 消费者活动与扫码验真领券."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("codes_campaign_routes", url_prefix="/api/v1/codes")
