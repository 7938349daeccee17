"""Product codes over HTTP: 防窜货预警."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("codes_diversion_routes", url_prefix="/api/v1/codes")
