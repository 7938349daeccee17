"""Demo behaviour events, so that a newcomer's 用户行为 page has a funnel, search terms (some
that found nothing) and page views: a week of the mini-program as the demo's store owners
use it, sent through the same intake as the mini-program's batches (so they are dated,
deduplicated and partitioned as real ones are)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from backend.analytics import behaviour
from backend.catalog.models import Sku
from backend.identity.models import Membership, Role
from backend.identity.tokens import Principal

# (term, whether the catalog finds it): what store owners type, some of it not sold.
TERMS = [
    ("滤芯", True),
    ("RO", True),
    ("净水器", True),
    ("PP棉", True),
    ("前置过滤器", True),
    ("软水机", False),
    ("净水壶", False),
    ("饮水机", False),
]
DAYS = 7  # the intake keeps a week: what a phone offline that long still sends
# How far owners go, by owner: some only look, some order most visits. (visits a day at
# most, chance of a cart, of checkout from it, of an order from checkout)
HABITS = [(1, 0.0, 0.0, 0.0), (2, 0.15, 0.3, 0.5), (2, 0.4, 0.5, 0.7), (3, 0.6, 0.8, 0.9)]


def _session(
    rng: random.Random,
    skus: list[tuple[int, int]],
    at: datetime,
    habit: tuple[int, float, float, float],
) -> list[dict[str, Any]]:
    """One visit: home, maybe a search, products viewed, and fewer and fewer going on to the
    cart, checkout and an order, a minute or so apart."""
    events: list[dict[str, Any]] = []

    def add(kind: str, **fields: Any) -> None:
        moment = at + timedelta(seconds=40 * len(events) + rng.randint(0, 30))
        events.append({"id": f"demo-{rng.getrandbits(64):x}", "kind": kind, "at": moment, **fields})

    add("page_view", page="pages/home/index")
    add("page_view", page="pages/catalog/index")
    if rng.random() < 0.6:
        term, found = rng.choice(TERMS)
        add("search", term=term, results=rng.randint(1, 12) if found else 0)
    viewed = rng.sample(skus, k=min(len(skus), rng.randint(0, 3)))
    for product_id, sku_id in viewed:
        add("page_view", page="pages/product/index")
        add("product_view", product_id=product_id, sku_id=sku_id)
    _, to_cart, to_checkout, to_order = habit
    if viewed and rng.random() < to_cart:
        product_id, sku_id = viewed[0]
        add("add_to_cart", product_id=product_id, sku_id=sku_id)
        add("page_view", page="pages/cart/index")
        if rng.random() < to_checkout:
            add("page_view", page="pages/checkout/index")
            add("checkout")
            if rng.random() < to_order:
                add("order")
    if rng.random() < 0.3:
        add("page_view", page=rng.choice(["pages/orders/index", "pages/mine/index"]))
    return events


async def seed_behaviour(brand_id: int, now: datetime) -> int:
    """A week of visits by every store owner of the brand; how many events were kept."""
    rng = random.Random(21)  # noqa: S311 - demo visits, reproducible on purpose
    skus = [
        (int(product_id), int(sku_id))
        for sku_id, product_id in await Sku.filter(brand_id=brand_id, is_active=True)
        .order_by("id")
        .values_list("id", "product_id")
    ]
    owners = await Membership.filter(
        brand_id=brand_id, role=Role.STORE_OWNER.value, store_id__isnull=False
    ).order_by("id")
    kept = 0
    for number, owner in enumerate(owners):
        principal = Principal(
            user_id=owner.user_id,  # type: ignore[attr-defined]
            session_id="seed",
            role=Role.STORE_OWNER.value,
            brand_id=brand_id,
            store_id=owner.store_id,  # type: ignore[attr-defined]
        )
        habit = HABITS[number % len(HABITS)]
        events: list[dict[str, Any]] = []
        for back in range(DAYS - 1, -1, -1):
            day_start = now - timedelta(days=back, hours=rng.randint(1, 10))
            for _ in range(rng.randint(0, habit[0])):
                start = day_start + timedelta(minutes=rng.randint(0, 50))
                events += [e for e in _session(rng, skus, start, habit) if e["at"] <= now]
        for first in range(0, len(events), behaviour.MAX_BATCH):
            batch = [
                {**e, "at": e["at"].isoformat()}
                for e in events[first : first + behaviour.MAX_BATCH]
            ]
            kept += (await behaviour.record(principal, batch, now))["accepted"]
    return kept
