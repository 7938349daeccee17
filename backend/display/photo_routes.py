"""Display programs: placeholder blueprint, filled in by its part of issue 19."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("display_photo_routes", url_prefix="/api/v1/display")
