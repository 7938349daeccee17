"""The brand's consumer members (会员): a WeChat user who checked one of its items, and the
store that brought them (the first to redeem one of their e-coupons)."""

from __future__ import annotations

from datetime import datetime

from backend.infra import sql

_JOIN = (
    "INSERT INTO brand_members (brand_id, user_id, store_id, joined_at, attributed_at)"
    " VALUES ($1, $2, NULL, $3, NULL) ON CONFLICT (brand_id, user_id) DO NOTHING"
)
# The first store to redeem a member's coupon brings them; later ones do not take them over.
_ATTRIBUTE = (
    "UPDATE brand_members SET store_id = $3, attributed_at = $4"
    " WHERE brand_id = $1 AND user_id = $2 AND store_id IS NULL AND attributed_at IS NULL"
)


async def join(brand_id: int, user_id: int, now: datetime) -> None:
    """Make the user a member of the brand, once (a replay or a race writes nothing more)."""
    await sql.execute(_JOIN, brand_id, user_id, now)


async def attribute(brand_id: int, user_id: int, store_id: int, now: datetime) -> bool:
    """Attribute the member to the store that redeemed their coupon, if no store has them;
    whether this store now has them. Joins them first if they were not a member."""
    await join(brand_id, user_id, now)
    return await sql.execute(_ATTRIBUTE, brand_id, user_id, store_id, now) == 1
