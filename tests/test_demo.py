"""The demo seeder: what `b2bc run` shows a newcomer is there, priced and running."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.catalog import service as catalog_service
from backend.catalog.models import Sku
from backend.catalog.service import RequestedLine
from backend.demo.seed import seed_demo
from backend.org.models import Store
from backend.promotions import service as promotions_service
from backend.promotions.models import Promotion
from tests.factories import SANDBOX_APPID


async def test_the_demo_seeds_once_with_running_promotions_that_price_a_cart() -> None:
    accounts = await seed_demo(SANDBOX_APPID)
    assert accounts is not None
    assert accounts.promotions == ["年终满 3000 减 300", "滤芯九折"]
    assert await Promotion.filter(status="active").count() == 2
    assert await seed_demo(SANDBOX_APPID) is None  # a second run adds nothing

    store = await Store.filter(brand_id=accounts.brand_id).order_by("id").first()
    purifier = await Sku.get(brand_id=accounts.brand_id, name="RO-800G")
    assert store is not None
    distributor_id: int = store.distributor_id  # type: ignore[attr-defined]
    quote = await catalog_service.quote(
        accounts.brand_id, distributor_id, store.tier, [RequestedLine(purifier.id, 2)]
    )
    buyer = promotions_service.Buyer(
        store.id,
        accounts.brand_id,
        distributor_id,
        store.region_id,
        store.tier,  # type: ignore[attr-defined]
    )
    result = await promotions_service.price(buyer, "self", datetime.now(UTC), quote.lines)
    assert result is not None  # 2 × 2999.00 reaches 满 3000 减 300
    assert result.promotion_discount_fen == 30_000
    assert result.payable_fen == quote.payable_fen - 30_000


async def test_the_demo_puts_a_coupon_in_every_wallet_and_one_to_claim() -> None:
    from backend.coupons.models import Coupon, CouponTemplate

    accounts = await seed_demo(SANDBOX_APPID)
    assert accounts is not None and len(accounts.coupons) == 2
    stores = await Store.filter(brand_id=accounts.brand_id).count()
    assert await Coupon.filter(brand_id=accounts.brand_id).count() == stores
    claimable = await CouponTemplate.get(brand_id=accounts.brand_id, claimable=True)
    assert (claimable.total_quantity, claimable.issued_count) == (500, 0)


async def test_the_demo_complaints_stand_at_every_step_of_the_workflow(deps) -> None:
    from backend.complaints.models import Complaint

    accounts = await seed_demo(SANDBOX_APPID, deps)
    assert accounts is not None and accounts.complaints == 6
    statuses = (
        await Complaint.filter(brand_id=accounts.brand_id)
        .order_by("id")
        .values_list("status", flat=True)
    )
    assert statuses == ["new", "new", "acknowledged", "assigned", "responded", "resolved"]
    # Their text went unchecked (no WeChat account) and was approved by the brand.
    assert set(
        await Complaint.filter(brand_id=accounts.brand_id).values_list("content_review", flat=True)
    ) == {"approved"}
