"""A demo live session, so that a newcomer's console has one to host: the first
distributor's, starting in half an hour, every one of its stores invited (over thirty, so the
room's counts and draws have a crowd), with two products at live prices, a red-packet rain, a
coupon drop and a lottery draw planned."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.catalog.models import Sku
from backend.coupons.models import CouponTemplate
from backend.identity.tokens import Principal
from backend.livestream import service as live_service


async def seed_live_session(
    brand: Principal, distributor_id: int, now: datetime
) -> tuple[str, int]:
    """The session's title and how many stores it invited."""
    skus = await Sku.filter(brand_id=brand.brand_id).order_by("id").limit(2)
    template = await CouponTemplate.filter(brand_id=brand.brand_id).order_by("id").first()
    fields: dict[str, Any] = {
        "title": "年终净水直播订货会",
        "cover_url": "",
        "starts_at": now + timedelta(minutes=30),
        "ends_at": now + timedelta(hours=2, minutes=30),
        "distributor_id": distributor_id,
        "audience": {"mode": "all", "tags": [], "store_ids": []},
        "products": [
            # 直播价 at 90% of the list price, rounded down to the yuan
            {
                "sku_id": sku.id,
                "live_price_fen": sku.list_price_fen * 9 // 1000 * 100,
                "live_stock": 50,
            }
            for sku in skus
        ],
        "rains": [{"total_fen": 20_000, "count": 20, "duration_seconds": 30}],
        "coupon_drops": [] if template is None else [{"template_id": template.id, "quantity": 10}],
        "draws": [
            {
                "title": "下单抽好礼",
                "prizes": [{"name": "滤芯一年装", "count": 1}, {"name": "定制水杯", "count": 3}],
                "eligibility": "ordered",
            }
        ],
    }
    session = await live_service.schedule(brand, fields, now=now)
    return str(session["title"]), int(session["invited_count"])
