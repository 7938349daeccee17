"""Analytics routes: what promotions, coupons and live sessions earned."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("analytics_effect_routes", url_prefix="/api/v1/analytics")
