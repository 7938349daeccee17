"""Four months of orders, so the dashboards, the store profiles and the repurchase reminders
have a history to read: stores that reorder their SKUs every 10 to 30 days, some of them
stopped a while ago (dormant, or due to reorder), all delivered through the services as the
desk would have moved them."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from backend.catalog import service as catalog_service
from backend.catalog.models import Sku
from backend.demo.orders import become_owner, delivered_order
from backend.identity.access import Principal
from backend.identity.models import User
from backend.org.models import Store

HISTORY_DAYS = 120
STORES_WITH_HISTORY = 36
INTERVALS = (10, 14, 21, 30)  # days between a store's orders of a SKU


def _plan(stores: list[Store], skus: list[Sku], now: datetime, rng: random.Random) -> list[Any]:
    """(placed at, store, [(sku, quantity)]), oldest first."""
    plans = []
    for store in stores:
        interval = rng.choice(INTERVALS)
        picks = rng.sample(skus, rng.randint(1, 2))
        # A fifth stopped ordering a month or two ago: dormant, or well past their usual day.
        stops = now - timedelta(days=rng.randint(35, 70)) if rng.random() < 0.2 else now
        placed_at = now - timedelta(days=HISTORY_DAYS - rng.randint(0, interval))
        while placed_at < stops - timedelta(days=2):
            lines = [
                (sku, max(sku.min_order_qty, rng.randint(1, 3) * sku.case_size)) for sku in picks
            ]
            hour = timedelta(hours=rng.randint(8, 19), minutes=rng.randint(0, 59))
            plans.append((placed_at.replace(hour=0, minute=0, second=0) + hour, store, lines))
            placed_at += timedelta(days=interval + rng.randint(-2, 2))
    return sorted(plans, key=lambda plan: plan[0])


async def seed_order_history(deps: Any, acting: Principal, brand_id: int, now: datetime) -> int:
    """Delivered orders of stores without an owner yet over the last HISTORY_DAYS days; how
    many. Their stock is put in first, so the distributors' stock ends as it started."""
    rng = random.Random(21)  # noqa: S311 - demo data, reproducible on purpose
    stores = await Store.filter(brand_id=brand_id, owner_id=None).order_by("id")
    chosen = rng.sample(list(stores), min(STORES_WITH_HISTORY, len(stores)))
    skus = [sku for sku in await Sku.filter(brand_id=brand_id).order_by("id") if sku.is_active]
    plans = _plan(chosen, skus[:8], now, rng)
    needed: Counter[tuple[int, int]] = Counter()
    for _, store, lines in plans:
        for sku, quantity in lines:
            needed[(store.distributor_id, sku.id)] += quantity
    for (distributor_id, sku_id), quantity in sorted(needed.items()):
        await catalog_service.adjust_stock(acting, distributor_id, sku_id, delta=quantity)
    owners: dict[int, Principal] = {}
    for placed_at, store, lines in plans:
        if store.id not in owners:
            user = await User.create(display_name=store.contact_name or store.name)
            owners[store.id] = await become_owner(store, user)
        await delivered_order(
            deps,
            owners[store.id],
            [(sku.id, quantity) for sku, quantity in lines],
            placed_at=placed_at,
        )
    return len(plans)
