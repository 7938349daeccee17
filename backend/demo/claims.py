"""A demo exchange voucher (兑换券) used in a delivered order and the distributor's claim on
it waiting for the brand, so the brand's claim review and both sides' statements show one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.catalog.models import Sku
from backend.coupons import service as coupons_service
from backend.coupons.models import Coupon
from backend.demo.orders import at, become_owner, delivered_order, distributor_staff
from backend.identity.models import User
from backend.identity.tokens import Principal
from backend.ordering import service as ordering_service
from backend.org.models import Store

VOUCHER_NAME = "陈列奖励：滤芯兑换券"


async def seed_voucher_claim(
    deps: Any, brand: Principal, distributor_id: int, now: datetime
) -> int:
    """A store of the distributor (one without an owner yet) receives an exchange voucher,
    uses it in an order that is delivered, and the distributor claims it; the claim's id."""
    assert brand.brand_id is not None
    sku = await Sku.filter(brand_id=brand.brand_id).order_by("id").first()
    store = (
        await Store.filter(brand_id=brand.brand_id, distributor_id=distributor_id, owner_id=None)
        .order_by("id")
        .first()
    )
    assert sku is not None and store is not None
    issued_at = now - timedelta(days=3)
    everyone: dict[str, list[int]] = {
        "distributor_ids": [],
        "region_ids": [],
        "tiers": [],
        "tags": [],
    }
    template = await coupons_service.create_template(
        brand,
        {
            "name": VOUCHER_NAME,
            "kind": "exchange",
            "terms": {
                "sku_ids": [],
                "category_ids": [],
                "threshold_fen": 0,
                "exchange": [{"sku_id": sku.id, "quantity": 1}],
            },
            "audience": everyone,
            "valid_from": None,
            "valid_until": None,
            "valid_days": 30,
            "total_quantity": None,
            "per_store_limit": 1,
            "claimable": False,
        },
        now=issued_at,
    )
    await coupons_service.create_issuance(
        brand,
        template["id"],
        {
            "audience": {**everyone, "store_ids": [store.id]},
            "schedule": "once",
            "day_of_month": None,
        },
        now=issued_at,
    )
    coupon = await Coupon.get(template_id=template["id"], store_id=store.id)
    owner = await become_owner(store, await User.create(display_name=store.contact_name))
    # Twice the least a store may order: the voucher pays for one unit, the store the rest
    # (an order the voucher paid in full would be paid at once, not on delivery).
    quantity = 2 * max(sku.min_order_qty, sku.case_size)
    await delivered_order(
        deps, owner, [(sku.id, quantity)], placed_at=now - timedelta(days=2), coupon_id=coupon.id
    )
    staff = await distributor_staff(brand.brand_id, distributor_id)
    used = await ordering_service.fulfilled_with_coupons(distributor_id)
    claimed_at = now - timedelta(hours=5)
    claim = await coupons_service.submit_claim(
        at(deps, claimed_at), staff, used, "演示数据：陈列奖励兑换券", now=claimed_at
    )
    return int(claim["id"])
