"""Analytics routes: the sales dashboards (sell-in by period and dimension, stores, SKUs)."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("analytics_sales_routes", url_prefix="/api/v1/analytics/sales")
