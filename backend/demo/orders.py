"""The demo's parties acting (a store's owner, a distributor's admin), and demo orders,
placed and moved along by the ordering and payment services themselves at times in the past
(each step with a frozen clock), so that the demo's complaints can name an order their store
received and the demo owner has earned points and a lottery chance."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

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
            "carrier": "顺丰速运",
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
    deps: Any, buyer: Principal, lines: list[tuple[int, int]], *, placed_at: datetime
) -> int:
    """The store owner orders; the distributor records the payment (货到付款) a few minutes
    later, which credits what the order earned (points) and unlocks its lottery spin."""
    placed = await ordering_service.place_order(
        at(deps, placed_at),
        buyer,
        store_id=None,
        lines=[RequestedLine(sku_id, quantity) for sku_id, quantity in lines],
    )
    assert buyer.brand_id is not None and buyer.distributor_id is not None
    staff = await distributor_staff(buyer.brand_id, buyer.distributor_id)
    await payments_service.record_offline_payment(
        at(deps, placed_at + timedelta(minutes=5)), staff, placed["id"], "演示数据：货到付款"
    )
    return int(placed["id"])


async def delivered_order(
    deps: Any, buyer: Principal, lines: list[tuple[int, int]], *, placed_at: datetime
) -> int:
    """A paid order the distributor accepted, shipped and delivered."""
    order_id = await paid_order(deps, buyer, lines, placed_at=placed_at)
    assert buyer.brand_id is not None and buyer.distributor_id is not None
    staff = await distributor_staff(buyer.brand_id, buyer.distributor_id)
    for action, after, changes in DELIVERY_STEPS:
        await ordering_service.act(at(deps, placed_at + after), staff, order_id, action, **changes)
    return order_id
