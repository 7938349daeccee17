"""Analytics routes: behaviour events from the mini-program, funnels and search terms."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("analytics_event_routes", url_prefix="/api/v1/analytics")
