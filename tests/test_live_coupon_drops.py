"""Coupon drops in live sessions, on whichever database the run uses: grabs race for a
limited quantity, each store gets at most one coupon, in its wallet, within the template's
own stock; refusals write nothing; a drop starts once and ends harmlessly twice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from backend.coupons import service as coupons_service
from backend.coupons.models import Coupon, CouponEvent, CouponTemplate
from backend.identity.models import User
from backend.identity.tokens import Principal
from backend.kernel.errors import DomainError
from backend.livestream import drops
from backend.livestream.models import (
    LiveCouponClaim,
    LiveCouponDrop,
    LiveSession,
    SessionStatus,
)
from backend.org.models import Store
from tests.factories import Tenant, live_session_with_stores, make_store, make_tenant


@dataclass
class Drop:
    tenant: Tenant
    session: LiveSession
    drop: LiveCouponDrop
    template_id: int
    invited: list[Store]

    @property
    def id(self) -> int:
        return self.drop.id


async def coupon_template(tenant: Tenant, now: Any, total_quantity: int | None) -> int:
    """满 3000 减 200, valid 30 days from issue, created by the brand's admin."""
    admin = await User.get(username=tenant.admin_username)
    principal = Principal(
        user_id=admin.id, session_id="test", role="brand_admin", brand_id=tenant.brand.id
    )
    fields: dict[str, Any] = {
        "name": "直播专享满3000减200",
        "kind": "reduction",
        "terms": {
            "sku_ids": [],
            "category_ids": [],
            "threshold_fen": 300_000,
            "amount_off_fen": 20_000,
            "percent": None,
            "max_off_fen": None,
            "exchange": [],
        },
        "audience": {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        "valid_from": None,
        "valid_until": None,
        "valid_days": 30,
        "total_quantity": total_quantity,
        "per_store_limit": 1,
        "claimable": False,
    }
    created = await coupons_service.create_template(principal, fields, now=now)
    return int(created["id"])


async def planned_drop(
    deps: Any,
    *,
    stores: int = 3,
    quantity: int = 5,
    template_stock: int | None = None,
    session_status: SessionStatus = SessionStatus.LIVE,
) -> Drop:
    now = deps.clock.now()
    tenant, session, invited = await live_session_with_stores(
        deps, stores=stores, status=session_status.value
    )
    template_id = await coupon_template(tenant, now, template_stock)
    drop = await LiveCouponDrop.create(session=session, template_id=template_id, quantity=quantity)
    return Drop(tenant, session, drop, template_id, invited)


async def running_drop(deps: Any, **options: Any) -> Drop:
    drop = await planned_drop(deps, **options)
    await drops.start_drop(deps, drop.session.id, drop.id, now=deps.clock.now())
    return drop


async def grab(deps: Any, drop: Drop, store: Store) -> dict[str, Any]:
    return await drops.grab(deps, drop.session.id, drop.id, store.id, now=deps.clock.now())


async def written(drop: Drop) -> tuple[Any, ...]:
    """Everything a grab could write: the drop's counter and status, claims, coupons, coupon
    events, the template's issued count."""
    fresh = await LiveCouponDrop.get(id=drop.id)
    template = await CouponTemplate.get(id=drop.template_id)
    return (
        fresh.claimed,
        fresh.status,
        await LiveCouponClaim.filter(drop_id=drop.id).count(),
        await Coupon.all().count(),
        await CouponEvent.all().count(),
        template.issued_count,
    )


async def assert_books_hold(drop: Drop) -> None:
    """Claims, the drop's counter, the coupons in wallets and the template's stock agree."""
    fresh = await LiveCouponDrop.get(id=drop.id)
    claims = await LiveCouponClaim.filter(drop_id=drop.id)
    coupons = await Coupon.filter(template_id=drop.template_id)
    template = await CouponTemplate.get(id=drop.template_id)
    assert len(claims) == fresh.claimed <= fresh.quantity
    assert len({c.store_id for c in claims}) == len(claims)  # type: ignore[attr-defined]
    assert sorted((c.coupon_id, c.store_id) for c in claims) == sorted(  # type: ignore[attr-defined]
        (c.id, c.store_id)  # type: ignore[attr-defined]
        for c in coupons
    )
    assert all(c.source == "live" and c.status == "available" for c in coupons)
    assert template.issued_count == len(coupons)
    assert template.total_quantity is None or template.issued_count <= template.total_quantity
    assert await CouponEvent.filter(coupon_id__in=[c.id for c in coupons] or [0]).count() == len(
        coupons
    )


def assert_refused(caught: pytest.ExceptionInfo[DomainError], code: str, status: int) -> None:
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.text  # a message for people


async def test_a_hundred_stores_race_for_thirty_coupons(deps) -> None:
    drop = await running_drop(deps, stores=100, quantity=30)
    outcomes = await asyncio.gather(
        *(grab(deps, drop, store) for store in drop.invited), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert len(won) == 30
    assert all(isinstance(o, drops.DropEmpty) for o in refused), refused
    assert not any(o["again"] for o in won)
    assert len({o["coupon_id"] for o in won}) == 30
    await assert_books_hold(drop)

    wallets = await Coupon.filter(source="live").values_list("store_id", flat=True)
    assert len(wallets) == len(set(wallets)) == 30
    assert (await CouponTemplate.get(id=drop.template_id)).issued_count == 30
    state = await drops.drop_state(drop.id, None)
    assert (state["status"], state["claimed"], state["left"], state["mine"]) == (
        "running",
        30,
        0,
        None,
    )
    winner = next(o for o in outcomes if isinstance(o, dict))
    claim = await LiveCouponClaim.get(coupon_id=winner["coupon_id"])
    mine = (await drops.drop_state(drop.id, claim.store_id))["mine"]  # type: ignore[attr-defined]
    assert mine["coupon_id"] == winner["coupon_id"]


async def test_a_second_grab_returns_the_first_coupon_and_writes_nothing(deps) -> None:
    drop = await running_drop(deps)
    store = drop.invited[0]
    first = await grab(deps, drop, store)
    assert (first["again"], first["left"]) == (False, 4)
    coupon = await Coupon.get(id=first["coupon_id"])
    assert (coupon.store_id, coupon.source) == (store.id, "live")  # type: ignore[attr-defined]
    before = await written(drop)
    again = await grab(deps, drop, store)
    assert (again["coupon_id"], again["again"]) == (first["coupon_id"], True)
    assert await written(drop) == before

    # The same store tapping many times at once still gets one coupon.
    other = drop.invited[1]
    taps = await asyncio.gather(*(grab(deps, drop, other) for _ in range(8)))
    assert len({t["coupon_id"] for t in taps}) == 1
    assert sum(not t["again"] for t in taps) == 1
    await assert_books_hold(drop)
    assert (await LiveCouponDrop.get(id=drop.id)).claimed == 2

    # After the end, the store is still told its coupon.
    await drops.end_drop(deps, drop.session.id, drop.id, now=deps.clock.now())
    ended = await written(drop)
    assert (await grab(deps, drop, store))["coupon_id"] == first["coupon_id"]
    assert await written(drop) == ended


async def test_no_grab_before_the_start_or_after_the_end(deps) -> None:
    drop = await planned_drop(deps)
    store = drop.invited[0]
    nothing = await written(drop)
    with pytest.raises(drops.DropNotRunning) as caught:
        await grab(deps, drop, store)
    assert_refused(caught, "live.drop_not_running", 409)
    assert await written(drop) == nothing

    await drops.start_drop(deps, drop.session.id, drop.id, now=deps.clock.now())
    await grab(deps, drop, drop.invited[1])
    await drops.end_drop(deps, drop.session.id, drop.id, now=deps.clock.now())
    ended = await written(drop)
    with pytest.raises(drops.DropNotRunning) as after:
        await grab(deps, drop, store)
    assert_refused(after, "live.drop_not_running", 409)
    assert await written(drop) == ended

    with pytest.raises(drops.DropNotFound) as missing:
        await drops.grab(deps, drop.session.id, drop.id + 1000, store.id, now=deps.clock.now())
    assert_refused(missing, "live.drop_not_found", 404)
    other_session = await planned_drop(deps)
    with pytest.raises(drops.DropNotFound):  # a drop is reached only through its own session
        await drops.grab(deps, other_session.session.id, drop.id, store.id, now=deps.clock.now())
    await assert_books_hold(drop)


async def test_a_store_not_invited_is_refused_and_nothing_changes(deps) -> None:
    drop = await running_drop(deps)
    stranger = await make_store(drop.tenant)  # same distributor, not on the list
    other_brand = (await make_tenant()).store
    nothing = await written(drop)
    for store in (stranger, other_brand):
        with pytest.raises(drops.NotInvited) as caught:
            await grab(deps, drop, store)
        assert_refused(caught, "live.not_invited", 403)
    assert await written(drop) == nothing


async def test_the_template_running_out_first_refuses_the_grab_and_writes_nothing(deps) -> None:
    drop = await running_drop(deps, stores=6, quantity=10, template_stock=3)
    for store in drop.invited[:3]:
        await grab(deps, drop, store)
    before = await written(drop)
    with pytest.raises(coupons_service.OutOfStock) as caught:
        await grab(deps, drop, drop.invited[3])
    assert_refused(caught, "coupon.out_of_stock", 409)
    assert await written(drop) == before  # the drop's counter rolled back with the coupon
    assert await LiveCouponClaim.filter(store_id=drop.invited[3].id).count() == 0
    await assert_books_hold(drop)

    # Raced: of the stores left, none gets past the template's stock either.
    outcomes = await asyncio.gather(
        *(grab(deps, drop, store) for store in drop.invited[3:]), return_exceptions=True
    )
    assert all(isinstance(o, coupons_service.OutOfStock) for o in outcomes), outcomes
    assert await written(drop) == before


async def test_concurrent_grabs_within_a_scarce_template_issue_exactly_its_stock(deps) -> None:
    drop = await running_drop(deps, stores=20, quantity=15, template_stock=7)
    outcomes = await asyncio.gather(
        *(grab(deps, drop, store) for store in drop.invited), return_exceptions=True
    )
    assert sum(isinstance(o, dict) for o in outcomes) == 7
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert all(isinstance(o, coupons_service.OutOfStock) for o in refused), refused
    await assert_books_hold(drop)
    assert (await LiveCouponDrop.get(id=drop.id)).claimed == 7


async def test_an_ended_template_refuses_the_grab(deps) -> None:
    drop = await running_drop(deps)
    await CouponTemplate.filter(id=drop.template_id).update(status="ended")
    nothing = await written(drop)
    with pytest.raises(coupons_service.TemplateEnded) as caught:
        await grab(deps, drop, drop.invited[0])
    assert_refused(caught, "coupon.template_ended", 409)
    assert await written(drop) == nothing


async def test_a_drop_starts_once_and_only_in_a_live_session(deps) -> None:
    drop = await planned_drop(deps)
    started = await drops.start_drop(deps, drop.session.id, drop.id, now=deps.clock.now())
    assert (started["status"], started["left"]) == ("running", 5)
    assert started["started_at"] is not None
    with pytest.raises(drops.DropNotPlanned) as caught:
        await drops.start_drop(deps, drop.session.id, drop.id, now=deps.clock.now())
    assert_refused(caught, "live.drop_not_planned", 409)

    scheduled = await planned_drop(deps, session_status=SessionStatus.SCHEDULED)
    with pytest.raises(drops.SessionNotLive) as not_live:
        await drops.start_drop(deps, scheduled.session.id, scheduled.id, now=deps.clock.now())
    assert_refused(not_live, "live.session_not_live", 409)
    assert (await LiveCouponDrop.get(id=scheduled.id)).status == "planned"

    with pytest.raises(drops.DropNotFound):
        await drops.start_drop(deps, scheduled.session.id, drop.id, now=deps.clock.now())


async def test_concurrent_starts_start_the_drop_once(deps) -> None:
    drop = await planned_drop(deps)
    outcomes = await asyncio.gather(
        *(drops.start_drop(deps, drop.session.id, drop.id, now=deps.clock.now()) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert all(isinstance(o, dict | drops.DropNotPlanned) for o in outcomes), outcomes


async def test_ending_twice_changes_nothing_the_second_time(deps) -> None:
    drop = await running_drop(deps, quantity=3)
    await grab(deps, drop, drop.invited[0])
    first = await drops.end_drop(deps, drop.session.id, drop.id, now=deps.clock.now())
    assert (first["status"], first["claimed"], first["left"]) == ("ended", 1, 2)
    books = await written(drop)
    later = deps.clock.now() + timedelta(seconds=5)
    assert await drops.end_drop(deps, drop.session.id, drop.id, now=later) == first
    ends = await asyncio.gather(
        *(drops.end_drop(deps, drop.session.id, drop.id, now=later) for _ in range(4))
    )
    assert all(e == first for e in ends)
    assert await written(drop) == books

    planned = await planned_drop(deps)
    with pytest.raises(drops.DropNotRunning):
        await drops.end_drop(deps, planned.session.id, planned.id, now=deps.clock.now())
    assert (await LiveCouponDrop.get(id=planned.id)).status == "planned"


async def test_the_session_end_ends_its_running_drops(deps) -> None:
    drop = await running_drop(deps)
    assert await drops.end_session_drops(drop.session.id, now=deps.clock.now()) == 1
    assert await drops.end_session_drops(drop.session.id, now=deps.clock.now()) == 0
    with pytest.raises(drops.DropNotRunning):
        await grab(deps, drop, drop.invited[0])
