"""Analytics routes: repurchase cycles, reminders and the salesperson's tasks and feed."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("analytics_reorder_routes", url_prefix="/api/v1")
