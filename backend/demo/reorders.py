"""The demo's repurchase reminders: a few of the first salesperson's (王磊's) stores buy a
product on a regular rhythm through real paid orders in the past, so the daily job finds
some of them overdue (tasks in his list, rows in the console's 复购提醒), one due soon and a
new store on its category's rhythm; and they looked at products and left a cart lately, for
his feed (门店动态)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.analytics import event_days, partitions, reorders
from backend.analytics.models import BehaviourEvent, EventKind
from backend.analytics.scope import china_day
from backend.catalog.models import Sku
from backend.demo.orders import at, become_owner, paid_order
from backend.identity.models import User
from backend.ordering import service as ordering_service
from backend.org.models import Store

# Per store: (SKU index, days between orders, orders, days since the last). 36 and 20 days
# since the last with rhythms of 30 and 14: overdue; 16 of 21: due within a week; one order
# 40 days ago: a new store, on its category's rhythm.
RHYTHMS: tuple[tuple[int, int, int, int], ...] = (
    (0, 30, 4, 36),
    (1, 14, 5, 20),
    (2, 21, 4, 16),
    (0, 30, 1, 40),
)


async def seed_reorders(deps: Any, brand_id: int, salesperson_id: int, now: datetime) -> int:
    """The orders, the job's first run, and a little recent activity; how many stores were
    reminded."""
    skus = await Sku.filter(brand_id=brand_id).order_by("id")
    stores = await Store.filter(
        brand_id=brand_id, salesperson_id=salesperson_id, owner_id=None
    ).order_by("id")
    owners = []
    for store, (index, every, count, since) in zip(stores, RHYTHMS, strict=False):
        owner = await become_owner(
            store, await User.create(display_name=store.contact_name or store.name)
        )
        owners.append(owner)
        sku = skus[index]
        for n in range(count):
            placed_at = now - timedelta(days=since + every * (count - 1 - n), hours=2)
            await paid_order(deps, owner, [(sku.id, sku.min_order_qty)], placed_at=placed_at)
    if not owners:
        return 0
    await _recent_activity(deps, owners[0], skus[3], now)
    await reorders.refresh_cycles(brand_id, now)
    return await reorders.remind_due(deps, brand_id, now)


async def _recent_activity(deps: Any, owner: Any, sku: Sku, now: datetime) -> None:
    """The first store looked at a product three times this morning and left it in its cart."""
    moments = [now - timedelta(hours=hours) for hours in (5, 4, 3)]
    await partitions.ensure_months({china_day(moment) for moment in moments})
    product_id: int = sku.product_id  # type: ignore[attr-defined]
    for n, moment in enumerate(moments):
        await BehaviourEvent.create(
            brand_id=owner.brand_id,
            store_id=owner.store_id,
            user_id=owner.user_id,
            kind=EventKind.PRODUCT_VIEW.value,
            page="pages/product/index",
            product_id=product_id,
            sku_id=sku.id,
            client_id=f"demo-reorder-view-{n}",
            occurred_at=moment,
            day=china_day(moment),
            received_at=moment,
        )
    # Written here rather than through the ingest, so marked here (after the events: a mark
    # is summed with the events there when the job reads it).
    await event_days.mark(owner.brand_id, {china_day(moment) for moment in moments}, now)
    await ordering_service.set_cart_item(
        at(deps, now - timedelta(hours=3)), owner, sku.id, sku.min_order_qty
    )
