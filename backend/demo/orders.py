"""The demo's parties acting (a store's owner, a distributor's admin), and demo orders,
placed and moved along by the ordering and payment services themselves at times in the past
(each step with a frozen clock), so that the demo's complaints can name an order their store
received and the demo owner has earned points and a lottery chance."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from backend.catalog.models import Sku
from backend.catalog.service import RequestedLine
from backend.identity import service as identity_service
from backend.identity.models import Membership, Role, User
from backend.identity.tokens import Principal
from backend.kernel.clock import FrozenClock
from backend.ordering import service as ordering_service
from backend.ordering.states import Action
from backend.org.models import Store
from backend.payments import service as payments_service

# How long after placing it the distributor accepts, ships and delivers an order.
DELIVERY_STEPS: tuple[tuple[Action, timedelta, dict[str, str]], ...] = (
    (Action.ACCEPT, timedelta(hours=1), {}),
    (
        Action.SHIP,
        timedelta(hours=3),
        {
            "logistics_note": "顺丰速运 SF1402026120401",
            "carrier": "sf",
            "tracking_no": "SF1402026120401",
        },
    ),
    (Action.DELIVER, timedelta(hours=26), {}),
)


def at(deps: Any, when: datetime) -> Any:
    """The process's deps with the clock stopped at `when`: a step of the demo's past."""
    return replace(deps, clock=FrozenClock(when))


async def become_owner(store: Store, user: User) -> Principal:
    """Make `user` the store's owner, and act as them."""
    brand_id: int = store.brand_id  # type: ignore[attr-defined]
    distributor_id: int = store.distributor_id  # type: ignore[attr-defined]
    membership = await identity_service.grant_membership(
        user.id, Role.STORE_OWNER, brand_id, distributor_id=distributor_id, store_id=store.id
    )
    await Store.filter(id=store.id).update(owner_id=user.id)
    return Principal(
        user_id=user.id,
        session_id="seed",
        role=Role.STORE_OWNER.value,
        membership_id=membership.id,
        brand_id=brand_id,
        distributor_id=distributor_id,
        store_id=store.id,
    )


async def distributor_staff(brand_id: int, distributor_id: int) -> Principal:
    """The demo distributor's admin, acting as in the console."""
    membership = await Membership.filter(
        brand_id=brand_id, distributor_id=distributor_id, role=Role.DISTRIBUTOR_ADMIN.value
    ).first()
    assert membership is not None
    user_id: int = membership.user_id  # type: ignore[attr-defined]
    return Principal(
        user_id=user_id,
        session_id="seed",
        role=Role.DISTRIBUTOR_ADMIN.value,
        membership_id=membership.id,
        brand_id=brand_id,
        distributor_id=distributor_id,
    )


async def paid_order(
    deps: Any,
    buyer: Principal,
    lines: list[tuple[int, int]],
    *,
    placed_at: datetime,
    coupon_id: int | None = None,
) -> int:
    """The store owner orders (with a coupon of its wallet, if given); the distributor records
    the payment (货到付款) a few minutes later, which credits what the order earned (points)
    and unlocks its lottery spin."""
    placed = await ordering_service.place_order(
        at(deps, placed_at),
        buyer,
        store_id=None,
        lines=[RequestedLine(sku_id, quantity) for sku_id, quantity in lines],
        coupon_id=coupon_id,
    )
    assert buyer.brand_id is not None and buyer.distributor_id is not None
    staff = await distributor_staff(buyer.brand_id, buyer.distributor_id)
    await payments_service.record_offline_payment(
        at(deps, placed_at + timedelta(minutes=5)), staff, placed["id"], "演示数据：货到付款"
    )
    return int(placed["id"])


async def delivered_order(
    deps: Any,
    buyer: Principal,
    lines: list[tuple[int, int]],
    *,
    placed_at: datetime,
    coupon_id: int | None = None,
) -> int:
    """A paid order the distributor accepted, shipped and delivered."""
    order_id = await paid_order(deps, buyer, lines, placed_at=placed_at, coupon_id=coupon_id)
    assert buyer.brand_id is not None and buyer.distributor_id is not None
    staff = await distributor_staff(buyer.brand_id, buyer.distributor_id)
    for action, after, changes in DELIVERY_STEPS:
        await ordering_service.act(at(deps, placed_at + after), staff, order_id, action, **changes)
    return order_id


# The distributor's desk on a working morning: (hours ago, lines as (SKU index, cases), where
# the order got to). Orders the stores placed over the last two days, at every step.
DESK_ORDERS: tuple[tuple[int, tuple[tuple[int, int], ...], str], ...] = (
    (0, ((0, 2), (3, 1)), "pending_payment"),
    (0, ((1, 1),), "pending_payment"),
    (2, ((0, 3), (2, 2)), "paid"),
    (4, ((4, 1),), "paid"),
    (5, ((1, 2), (5, 1)), "paid"),
    (6, ((2, 4),), "paid"),
    (9, ((0, 1), (1, 1), (3, 2)), "accepted"),
    (12, ((5, 2),), "accepted"),
    (20, ((2, 2), (4, 1)), "shipped"),
    (26, ((0, 5),), "shipped"),
    (30, ((3, 3),), "delivered"),
    (44, ((1, 4), (2, 1)), "completed"),
    (40, ((4, 2),), "cancelled"),
)
_STEPS_TO = {"accepted": 1, "shipped": 2, "delivered": 3, "completed": 3}


async def seed_desk_orders(deps: Any, brand_id: int, distributor_id: int, now: datetime) -> int:
    """Orders from the first distributor's stores at every step, so its desk has a queue to
    work through. Each store gets an owner of its own, who places and (where the step is
    past it) signs; the distributor records the payments and moves the rest."""
    skus = await Sku.filter(brand_id=brand_id).order_by("id")
    stores = await Store.filter(
        brand_id=brand_id, distributor_id=distributor_id, owner_id=None
    ).order_by("id")
    # Oldest first, so that order numbers and ids grow with time as they do in real life.
    by_age = sorted(DESK_ORDERS, key=lambda plan: -plan[0])
    for store, (hours_ago, picks, status) in zip(stores, by_age, strict=False):
        owner = await become_owner(
            store, await User.create(display_name=store.contact_name or store.name)
        )
        # Waiting for payment: placed just now, still within the time to pay.
        placed_at = now - (timedelta(hours=hours_ago) if hours_ago else timedelta(minutes=2))
        # Whole cases, at least the minimum (itself whole cases).
        lines = [
            (skus[i].id, max(skus[i].min_order_qty, cases * skus[i].case_size))
            for i, cases in picks
        ]
        if status == "pending_payment":
            await ordering_service.place_order(
                at(deps, placed_at),
                owner,
                store_id=None,
                lines=[RequestedLine(sku_id, quantity) for sku_id, quantity in lines],
            )
            continue
        order_id = await paid_order(deps, owner, lines, placed_at=placed_at)
        if status == "cancelled":
            await ordering_service.act(
                at(deps, placed_at + timedelta(minutes=20)),
                owner,
                order_id,
                Action.CANCEL,
                note="门店改单，重新下",
            )
            continue
        staff = await distributor_staff(brand_id, distributor_id)
        for action, after, changes in DELIVERY_STEPS[: _STEPS_TO.get(status, 0)]:
            await ordering_service.act(
                at(deps, placed_at + after), staff, order_id, action, **changes
            )
        if status == "completed":
            await ordering_service.act(
                at(deps, placed_at + timedelta(hours=30)), owner, order_id, Action.SIGN
            )
    return min(len(stores), len(DESK_ORDERS))
