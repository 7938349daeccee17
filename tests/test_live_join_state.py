"""A join reads what Redis keeps of the session (join_state.py, room.py's figures) and writes
only what is new (attendance.py): a cold Redis falls back to the database and fills it
again; every change a joiner reads is seen by the next joiner; attendance and the peak
still reach the session's figures."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from backend.identity.models import Role
from backend.identity.tokens import Principal
from backend.livestream import attendance, join_state, service
from backend.livestream.models import LiveInvitation, LiveSession
from tests.factories import (
    bearer,
    distributor_admin,
    live_session_with_stores,
    make_shop,
    make_store,
    store_owner,
)
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_room_state import as_store
from tests.test_live_sessions import API, keyed, scheduled, session_body


def hosting(tenant: Any) -> Principal:
    """An admin of the tenant's distributor, who hosts its sessions."""
    return Principal(
        user_id=0,
        session_id="host",
        role=Role.DISTRIBUTOR_ADMIN.value,
        brand_id=tenant.brand.id,
        distributor_id=tenant.distributor.id,
    )


async def test_a_cold_redis_falls_back_to_the_database_and_is_filled_again(deps) -> None:
    tenant, session, invited = await live_session_with_stores(deps, stores=2)
    store = as_store(invited[0])
    first = await service.join(deps, store, session.id, "sid-1", process="p")
    assert (first["title"], first["status"], first["orders"]) == ("订货会", "live", 0)
    kept, _ = await join_state.read(deps, session.id, invited[1].id)
    assert kept is not None and kept.invited and kept.session["title"] == "订货会"

    # Kept in Redis: a title written behind the service's back is not read again...
    await LiveSession.filter(id=session.id).update(title="改过的标题")
    assert (await service.join(deps, store, session.id, "sid-2", process="p"))["title"] == "订货会"
    # ...until Redis has lost it: then the database answers, and Redis keeps it again.
    await deps.redis.delete(*(f"live:s:{session.id}:{key}" for key in ("join", "invited")))
    cold = await service.join(deps, as_store(invited[1]), session.id, "sid-3", process="p")
    assert (cold["title"], cold["viewers"]) == ("改过的标题", 2)
    kept, _ = await join_state.read(deps, session.id, None)
    assert kept is not None and kept.session["title"] == "改过的标题"

    # Who may join is decided on what is kept as on the database: not an uninvited store.
    stranger = as_store(await make_store(tenant))
    with pytest.raises(service.SessionNotFound):
        await service.join(deps, stranger, session.id, "sid-4", process="p")
    with pytest.raises(service.SessionNotFound):
        await service.join(deps, store, session.id + 1000, "sid-5", process="p")


async def test_a_reader_that_read_before_a_change_keeps_nothing(deps) -> None:
    _, session, invited = await live_session_with_stores(deps, stores=1)
    _, generation = await join_state.read(deps, session.id, None)
    before = join_state.Snapshot({"id": session.id}, [], [], {}, None)
    await join_state.forget(deps, session.id)  # a change committed meanwhile
    assert not await join_state.keep(deps, session.id, generation, before, [invited[0].id])
    assert (await join_state.read(deps, session.id, None))[0] is None


async def test_each_change_is_seen_by_the_next_joiner(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    template_id = await coupon_template(shop.tenant, deps.clock.now(), total_quantity=None)
    headers = await distributor_admin(client, shop)
    drop = {"template_id": template_id, "quantity": 5}
    session = await scheduled(client, headers, session_body(shop, deps, coupon_drops=[drop]))
    session_id = session["id"]
    assert (await client.post(f"{API}/{session_id}/start", headers=headers)).is_success
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    host, store = hosting(shop.tenant), as_store(shop.tenant.store)
    water = session["products"][0]
    now = deps.clock.now()

    joined = await service.join(deps, store, session_id, "sid-1", process="p")
    assert (joined["card"], joined["drops"], joined["rain"], joined["orders"]) == (
        None,
        [],
        None,
        0,
    )

    # A product pushed: on the card of the next join, with what is left.
    await service.push_product(deps, host, session_id, water["id"])
    state = await service.room_state(deps, store, session_id)
    assert (state["card"]["product_id"], state["card"]["left"]) == (water["id"], 30)

    # Stock sold by an order (through the API: the ticker keeps the new figures).
    body = {"product_id": water["id"], "quantity": 3}
    placed = await client.post(
        f"{API}/{session_id}/orders", json=body, headers=keyed(bearer(owner))
    )
    assert placed.status_code == 201, placed.text
    state = await service.room_state(deps, store, session_id)
    assert (state["orders"], state["gmv_fen"], state["card"]["left"]) == (1, 3 * 159_900, 27)
    assert state["version"] >= joined["version"]

    # A stream URL given while live, and a drop started and grabbed from.
    await service.set_stream(deps, host, session_id, "https://pull.example.com/live/x.flv")
    planned = session["coupon_drops"][0]["id"]
    started = await service.start_drop(deps, host, session_id, planned, now=now)
    state = await service.room_state(deps, store, session_id)
    assert state["stream_url"] == "https://pull.example.com/live/x.flv"
    assert [(d["id"], d["left"], d["mine"]) for d in state["drops"]] == [(started["id"], 5, None)]
    taken = await service.grab_coupon(deps, store, session_id, started["id"], now=now)
    await service.drop_left(deps, session_id, started["id"])  # what the room is told after it
    [drop] = (await service.room_state(deps, store, session_id))["drops"]
    assert (drop["left"], drop["claimed"], drop["mine"]["coupon_id"]) == (4, 1, taken["coupon_id"])

    # The session ended: the next join reads it ended, with nobody counted and no card.
    await service.end_with_rains(deps, host, session_id, now=now + timedelta(minutes=1))
    ended = await service.join(deps, store, session_id, "sid-2", process="p")
    assert (ended["status"], ended["viewers"], ended["card"], ended["drops"]) == (
        "ended",
        0,
        None,
        [],
    )
    assert (ended["orders"], ended["stream_url"]) == (1, "https://pull.example.com/live/x.flv")


async def test_attendance_and_the_peak_reach_the_sessions_figures(deps) -> None:
    tenant, session, invited = await live_session_with_stores(deps, stores=4)
    stores = [as_store(store) for store in invited]
    # Four stores join at once: their first joins are written together, before answering.
    await asyncio.gather(
        *(
            service.join(deps, store, session.id, f"sid-{n}", process="p")
            for n, store in enumerate(stores)
        )
    )
    await attendance.settled()  # those answered while the first batch was being written
    joined = LiveInvitation.filter(session_id=session.id, joined_at__isnull=False)
    assert sorted(await joined.values_list("store_id", flat=True)) == sorted(
        store.id for store in invited
    )
    # A store reconnects (its sign-in counted once): nothing new to write for it.
    first = await LiveInvitation.get(session_id=session.id, store_id=invited[0].id)
    deps.clock.advance(minutes=5)
    await service.join(deps, stores[0], session.id, "sid-again", process="p")
    again = await LiveInvitation.get(session_id=session.id, store_id=invited[0].id)
    assert again.joined_at == first.joined_at

    # The effect report counts them; the end writes the peak Redis counted.
    window = (deps.clock.now() - timedelta(days=1), deps.clock.now() + timedelta(days=1))
    [effect] = await service.analytics_effect_sessions(tenant.brand.id, None, *window)
    assert effect.joined == {store.id for store in invited}
    await service.end_with_rains(deps, hosting(tenant), session.id, now=deps.clock.now())
    assert (await LiveSession.get(id=session.id)).peak_viewers == 4


async def test_attendance_not_written_is_written_by_the_next_join(deps, monkeypatch) -> None:
    _, session, invited = await live_session_with_stores(deps, stores=1)
    store = as_store(invited[0])
    written = attendance._write_joined

    async def down(*_: Any) -> None:
        raise ConnectionError("database away")

    monkeypatch.setattr(attendance, "_write_joined", down)
    # The join is answered all the same; the store is not taken as recorded.
    assert (await service.join(deps, store, session.id, "sid-1", process="p"))["viewers"] == 1
    assert (await LiveInvitation.get(session_id=session.id)).joined_at is None
    monkeypatch.setattr(attendance, "_write_joined", written)
    await service.join(deps, store, session.id, "sid-2", process="p")
    assert (await LiveInvitation.get(session_id=session.id)).joined_at is not None


async def test_the_end_records_attendance_a_killed_process_left_unwritten(deps) -> None:
    tenant, session, invited = await live_session_with_stores(deps, stores=2)
    await service.join(deps, as_store(invited[0]), session.id, "sid-1", process="p")
    # The second store's join was counted in Redis by a process killed before its write.
    await deps.redis.sadd(f"live:s:{session.id}:joined", invited[1].id)
    assert (
        await LiveInvitation.get(session_id=session.id, store_id=invited[1].id)
    ).joined_at is None
    ended_at = deps.clock.now()
    await service.end_with_rains(deps, hosting(tenant), session.id, now=ended_at)
    late = await LiveInvitation.get(session_id=session.id, store_id=invited[1].id)
    assert late.joined_at == ended_at
