"""Analytics routes: the store profile (360°) and RFM tiers."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("analytics_store_routes", url_prefix="/api/v1/analytics/stores")
