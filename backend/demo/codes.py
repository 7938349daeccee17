"""Demo product codes (一物一码), made through the codes services so a newcomer sees each
state: three batches (one small enough to print as a QR sheet), boxes shipped to both
distributors, the demo owner's store having received boxes (open-box rewards paid) and
sold items, a store of the other distributor that received a box shipped to the first one
(a diversion alert), a consumer campaign, a consumer who checked an item and holds its
e-coupon, and a coupon the owner's store already redeemed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from backend.catalog.models import Sku
from backend.codes import batches, campaigns, checks, generate, redemptions, scans, shipments
from backend.codes.models import ProductCode, ScanAction
from backend.codes.tokens import code_url
from backend.demo.orders import become_owner
from backend.identity.models import User
from backend.identity.tokens import Principal
from backend.org.models import Store

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DemoCodes:
    batches: list[str]
    consumer_code_url: str  # an item a consumer may check (its coupon not taken yet)


async def _tokens(batch_id: int, kind: str, serials: range) -> list[str]:
    rows = await ProductCode.filter(
        batch_id=batch_id, kind=kind, serial__gte=serials.start, serial__lt=serials.stop
    ).order_by("serial")
    return [row.token for row in rows]


async def _batch(brand: Principal, new: batches.NewBatch, now: datetime) -> dict[str, Any]:
    """A batch made as brand staff make it, written by its job's own code at `now`."""
    made = await batches.create_batch(
        brand,
        new,
        now=now,
    )

    class _At:
        def now(self) -> datetime:
            return now

    await generate.generate(made["id"], clock=_At())
    return made


async def seed_codes(
    deps: Any, brand: Principal, owner: Principal, distributor_ids: list[int], now: datetime
) -> DemoCodes:
    assert brand.brand_id is not None and owner.store_id is not None
    first = (await Sku.get(brand_id=brand.brand_id, name="RO-500G")).id  # one a box
    second = (await Sku.get(brand_id=brand.brand_id, product__name="PP 棉滤芯")).id  # ten a box
    third = (await Sku.get(brand_id=brand.brand_id, product__name="活性炭滤芯")).id
    purifiers = await _batch(
        brand,
        batches.NewBatch(
            first, "20261118", date(2026, 11, 18), 40, 1, {"kind": "points", "amount": 300}
        ),
        now - 16 * DAY,
    )
    filters = await _batch(
        brand,
        batches.NewBatch(
            second, "20261125", date(2026, 11, 25), 30, 10, {"kind": "cash", "amount": 200}
        ),
        now - 9 * DAY,
    )
    sample = batches.NewBatch(third, "20261202-S", date(2026, 12, 2), 5, 4, None)
    await _batch(brand, sample, now - 2 * DAY)

    home, other = distributor_ids[0], distributor_ids[-1]
    ranges = shipments.RangeAsked
    await shipments.ship(
        brand,
        distributor_id=home,
        codes=[],
        ranges=[
            ranges(batch_id=purifiers["id"], first=1, last=25),
            ranges(batch_id=filters["id"], first=1, last=20),
        ],
        note="11月第二批",
        now=now - 8 * DAY,
    )
    await shipments.ship(
        brand,
        distributor_id=other,
        codes=[],
        ranges=[ranges(batch_id=purifiers["id"], first=26, last=35)],
        note="",
        now=now - 8 * DAY,
    )

    # The owner's store received two boxes of filters and a purifier, and sold some filters.
    filter_boxes = await _tokens(filters["id"], "box", range(1, 4))
    for token in (filter_boxes[0], filter_boxes[1]):
        await scans.scan(deps, owner, scans.ScanRequest(token, ScanAction.RECEIVE))
    purifier_boxes = await _tokens(purifiers["id"], "box", range(1, 4))
    await scans.scan(deps, owner, scans.ScanRequest(purifier_boxes[0], ScanAction.RECEIVE))
    sold = await _tokens(filters["id"], "item", range(1, 6))
    for token in sold:
        await scans.scan(deps, owner, scans.ScanRequest(token, ScanAction.SELL))

    # A store of the other distributor opened a box shipped to the first one: 窜货.
    stranger_store = (
        await Store.filter(brand_id=brand.brand_id, distributor_id=other, owner_id=None)
        .order_by("id")
        .first()
    )
    if stranger_store is not None and other != home:
        stranger = await become_owner(
            stranger_store, await User.create(display_name=stranger_store.contact_name)
        )
        await scans.scan(deps, stranger, scans.ScanRequest(filter_boxes[2], ScanAction.RECEIVE))

    # A consumer campaign on filters; one consumer checked two items the owner's store sold,
    # and the store redeemed one of the coupons.
    campaign = await campaigns.create_campaign(
        brand,
        {
            "name": "扫码领 5 元券",
            "sku_ids": [second],
            "starts_at": now - 7 * DAY,
            "ends_at": now + 60 * DAY,
            "coupon_value_fen": 500,
            "coupon_valid_days": 30,
            "budget_fen": 500_000,
        },
        now=now - 7 * DAY,
    )
    await campaigns.publish_campaign(brand, campaign["id"], now=now - 7 * DAY)
    consumer_user = await User.create(display_name="扫码顾客")
    consumer = Principal(user_id=consumer_user.id, session_id="seed")
    base = deps.settings.public_base_url
    held = await checks.check(consumer, sold[0], public_base_url=base, now=now - DAY)
    await checks.check(consumer, sold[1], public_base_url=base, now=now - DAY)
    if held["coupon"] is not None:
        await redemptions.redeem(
            owner, held["coupon"]["token"], latitude=None, longitude=None, now=now - DAY / 2
        )
    return DemoCodes(
        batches=[purifiers["batch_no"], filters["batch_no"], sample.batch_no],
        consumer_code_url=code_url(deps.settings.public_base_url, sold[2]),
    )
