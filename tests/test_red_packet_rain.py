"""Red-packet rains at the service level, on whichever database and Redis the run uses:
grabs race in one Lua script, every win reaches the ledger exactly once, the end returns
the rest to the distributor, and a process dying half-way loses nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from backend.kernel.errors import DomainError
from backend.ledger import service as ledger_service
from backend.ledger.models import LedgerEntry, PartyAccount, PartyEntry
from backend.livestream import rains
from backend.livestream.models import (
    LiveSession,
    RedPacketGrant,
    RedPacketRain,
    SessionStatus,
)
from backend.org.models import Store
from tests.factories import Tenant, live_session_with_stores, make_store, make_tenant


@dataclass
class Rain:
    tenant: Tenant
    session: LiveSession
    rain: RedPacketRain
    invited: list[Store]

    @property
    def id(self) -> int:
        return self.rain.id


async def planned_rain(
    deps: Any,
    *,
    stores: int = 3,
    total_fen: int = 10_000,
    count: int = 5,
    duration_seconds: int = 30,
    session_status: SessionStatus = SessionStatus.LIVE,
) -> Rain:
    tenant, session, invited = await live_session_with_stores(
        deps, stores=stores, status=session_status.value
    )
    rain = await RedPacketRain.create(
        session=session, total_fen=total_fen, count=count, duration_seconds=duration_seconds
    )
    return Rain(tenant, session, rain, invited)


async def running_rain(deps: Any, **options: Any) -> Rain:
    rain = await planned_rain(deps, **options)
    await rains.start_rain(deps, rain.id, now=deps.clock.now())
    return rain


async def grab(deps: Any, rain: Rain, store: Store) -> dict[str, Any]:
    return await rains.grab(deps, rain.id, store.id, now=deps.clock.now())


async def distributor_cash(rain: Rain) -> int:
    account = await PartyAccount.get_or_none(
        party="distributor", party_id=rain.tenant.distributor.id, kind="cash"
    )
    return 0 if account is None else account.balance


async def written(rain: Rain) -> tuple[int, int, int, int]:
    """Everything a grab could write: grants, store entries, party entries, granted fen."""
    fresh = await RedPacketRain.get(id=rain.id)
    return (
        await RedPacketGrant.filter(rain_id=rain.id).count(),
        await LedgerEntry.all().count(),
        await PartyEntry.all().count(),
        fresh.granted_fen + fresh.returned_fen,
    )


async def assert_each_grant_credited_once(grants: list[RedPacketGrant]) -> None:
    """The store credits are exactly the grants: one each, to its store, of its amount."""
    credits = await LedgerEntry.filter(cause="red_packet").prefetch_related("account")
    assert sorted((e.cause_id, e.account.store_id, e.amount) for e in credits) == sorted(  # type: ignore[attr-defined]
        (g.id, g.store_id, g.amount_fen)  # type: ignore[attr-defined]
        for g in grants
    )


async def assert_books_hold(rain: Rain) -> None:
    """Grants, the rain's split and counters, the store credits and the distributor's account
    agree: every grant is a packet of the split, each packet and each store at most once."""
    fresh = await RedPacketRain.get(id=rain.id)
    grants = await RedPacketGrant.filter(rain_id=rain.id)
    assert fresh.packets is not None and sum(fresh.packets) == fresh.total_fen
    assert len(fresh.packets) == fresh.count
    assert all(g.amount_fen == fresh.packets[g.slot or 0] for g in grants)
    assert len({g.slot for g in grants}) == len(grants) <= fresh.count
    assert sum(g.amount_fen for g in grants) <= fresh.total_fen
    assert len({g.store_id for g in grants}) == len(grants)  # type: ignore[attr-defined]
    if fresh.status == "ended":
        assert len(grants) == fresh.granted_count
        assert sum(g.amount_fen for g in grants) == fresh.granted_fen
    await assert_each_grant_credited_once(grants)
    if fresh.status == "ended":
        assert fresh.returned_fen == fresh.total_fen - fresh.granted_fen
        assert await distributor_cash(rain) == -fresh.granted_fen
    assert await ledger_service.unbalanced_accounts() == []


async def test_two_hundred_stores_race_for_a_hundred_packets(deps) -> None:
    rain = await running_rain(deps, stores=200, total_fen=88_888, count=100)
    outcomes = await asyncio.gather(
        *(grab(deps, rain, store) for store in rain.invited), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert len(won) == 100
    assert all(isinstance(o, rains.RainEmpty) for o in refused), refused
    assert not any(o["again"] for o in won)
    assert sum(o["amount_fen"] for o in won) == 88_888
    await assert_books_hold(rain)

    ended = await rains.end_rain(deps, rain.id, now=deps.clock.now())
    assert ended["status"] == "ended"
    assert (ended["granted_fen"], ended["granted_count"], ended["returned_fen"]) == (88_888, 100, 0)
    amounts = [r["amount_fen"] for r in ended["results"]]
    assert amounts == sorted(amounts, reverse=True)
    assert sorted(amounts) == sorted(o["amount_fen"] for o in won)
    await assert_books_hold(rain)


async def test_two_rains_grabbed_at_once_credit_each_store_on_top_of_the_other(deps) -> None:
    """Both rains' wins are written in batches at the same time, to the same stores' accounts:
    each account ends with both packets, and its entries' balances follow one another."""
    first = await planned_rain(deps, stores=30, total_fen=30_000, count=30)
    second = Rain(
        first.tenant,
        first.session,
        await RedPacketRain.create(
            session=first.session, total_fen=9_000, count=30, duration_seconds=30
        ),
        first.invited,
    )
    for rain in (first, second):
        await rains.start_rain(deps, rain.id, now=deps.clock.now())
    grabs = [(rain, store) for store in first.invited for rain in (first, second)]
    won = await asyncio.gather(*(grab(deps, rain, store) for rain, store in grabs))
    expected: dict[int, int] = {}
    for (_, store), packet in zip(grabs, won, strict=True):
        expected[store.id] = expected.get(store.id, 0) + packet["amount_fen"]
    assert sum(expected.values()) == 39_000
    entries = (
        await LedgerEntry.filter(cause="red_packet").order_by("id").prefetch_related("account")
    )
    balances: dict[int, int] = {}
    for entry in entries:
        store_id = entry.account.store_id  # type: ignore[attr-defined]
        balances[store_id] = balances.get(store_id, 0) + entry.amount
        assert entry.balance_after == balances[store_id]
    assert balances == expected
    for rain, total in ((first, 30_000), (second, 9_000)):
        ended = await rains.end_rain(deps, rain.id, now=deps.clock.now())
        assert (ended["granted_count"], ended["granted_fen"], ended["returned_fen"]) == (
            30,
            total,
            0,
        )
    assert await ledger_service.unbalanced_accounts() == []


async def test_what_nobody_grabs_goes_back_to_the_distributor(deps) -> None:
    rain = await running_rain(deps, stores=6, total_fen=5_000, count=20)
    assert await distributor_cash(rain) == -5_000  # funded at the start
    won = await asyncio.gather(*(grab(deps, rain, store) for store in rain.invited))
    granted = sum(w["amount_fen"] for w in won)
    state = await rains.rain_state(deps, rain.id)
    assert (state["status"], state["remaining"], state["granted_fen"]) == ("running", 14, granted)

    ended = await rains.end_rain(deps, rain.id, now=deps.clock.now())
    assert ended["returned_fen"] == 5_000 - granted > 0
    assert await distributor_cash(rain) == -granted
    await assert_books_hold(rain)
    state = await rains.rain_state(deps, rain.id)
    assert (state["status"], state["remaining"], len(state["results"])) == ("ended", 0, 6)


async def test_a_second_grab_returns_the_first_packet_and_writes_nothing(deps) -> None:
    rain = await running_rain(deps)
    store = rain.invited[0]
    first = await grab(deps, rain, store)
    before = await written(rain)
    again = await grab(deps, rain, store)
    assert again == {**first, "again": True}
    assert await written(rain) == before
    assert (await rains.my_grant(rain.id, store.id) or {})["amount_fen"] == first["amount_fen"]
    assert await rains.my_grant(rain.id, rain.invited[1].id) is None

    await rains.end_rain(deps, rain.id, now=deps.clock.now())
    after_end = await written(rain)
    assert await grab(deps, rain, store) == {**first, "again": True}
    for key in rains.rain_keys(rain.id):  # long after: Redis forgot, the database answers
        await deps.redis.delete(key)
    assert await grab(deps, rain, store) == {**first, "again": True}
    assert await written(rain) == after_end
    await assert_books_hold(rain)


def assert_refused(caught: pytest.ExceptionInfo[DomainError], code: str, status: int) -> None:
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.text  # a message for people


async def test_no_grab_before_the_start_or_after_the_end(deps) -> None:
    rain = await planned_rain(deps)
    store = rain.invited[0]
    nothing = await written(rain)
    with pytest.raises(rains.RainNotRunning) as caught:
        await grab(deps, rain, store)
    assert_refused(caught, "live.rain_not_running", 409)
    assert await written(rain) == nothing
    assert await deps.redis.exists(*rains.rain_keys(rain.id)) == 0

    await rains.start_rain(deps, rain.id, now=deps.clock.now())
    await rains.end_rain(deps, rain.id, now=deps.clock.now())
    ended = await written(rain)
    with pytest.raises(rains.RainNotRunning):
        await grab(deps, rain, store)
    assert await written(rain) == ended
    with pytest.raises(rains.RainNotFound) as missing:
        await rains.grab(deps, rain.id + 1000, store.id, now=deps.clock.now())
    assert_refused(missing, "live.rain_not_found", 404)


async def test_the_time_runs_out_and_the_job_ends_the_rain(deps) -> None:
    rain = await running_rain(deps, duration_seconds=30)
    won = await grab(deps, rain, rain.invited[0])
    assert await rains.end_due_rains(deps) == 0  # not due yet
    deps.clock.advance(seconds=31)
    with pytest.raises(rains.RainNotRunning):  # past ends_at, before any job ran
        await grab(deps, rain, rain.invited[1])
    assert await rains.end_due_rains(deps) == 1
    assert await rains.end_due_rains(deps) == 0
    fresh = await RedPacketRain.get(id=rain.id)
    assert (fresh.status, fresh.granted_fen) == ("ended", won["amount_fen"])
    await assert_books_hold(rain)


async def test_a_store_not_invited_is_refused_and_nothing_changes(deps) -> None:
    rain = await running_rain(deps)
    stranger = await make_store(rain.tenant)  # same distributor, not on the list
    other_brand = (await make_tenant()).store
    nothing = await written(rain)
    for store in (stranger, other_brand):
        with pytest.raises(rains.NotInvited) as caught:
            await grab(deps, rain, store)
        assert_refused(caught, "live.not_invited", 403)
    assert await written(rain) == nothing
    assert (await rains.rain_state(deps, rain.id))["remaining"] == 5


async def test_a_rain_starts_once_and_only_in_a_live_session(deps) -> None:
    rain = await planned_rain(deps, total_fen=3_000)
    started = await rains.start_rain(deps, rain.id, now=deps.clock.now())
    assert started["status"] == "running"
    assert started["ends_at"] is not None
    with pytest.raises(rains.RainNotPlanned) as caught:
        await rains.start_rain(deps, rain.id, now=deps.clock.now())
    assert_refused(caught, "live.rain_not_planned", 409)
    assert await PartyEntry.filter(cause="rain_funded").count() == 1
    assert await distributor_cash(rain) == -3_000

    scheduled = await planned_rain(deps, session_status=SessionStatus.SCHEDULED)
    with pytest.raises(rains.SessionNotLive) as not_live:
        await rains.start_rain(deps, scheduled.id, now=deps.clock.now())
    assert_refused(not_live, "live.session_not_live", 409)
    assert (await RedPacketRain.get(id=scheduled.id)).status == "planned"
    assert await distributor_cash(scheduled) == 0


async def test_concurrent_starts_fund_the_rain_once(deps) -> None:
    rain = await planned_rain(deps, total_fen=3_000)
    outcomes = await asyncio.gather(
        *(rains.start_rain(deps, rain.id, now=deps.clock.now()) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert all(isinstance(o, dict | rains.RainNotPlanned) for o in outcomes), outcomes
    assert await distributor_cash(rain) == -3_000
    assert await ledger_service.unbalanced_accounts() == []


async def test_ending_twice_changes_nothing_the_second_time(deps) -> None:
    rain = await running_rain(deps, total_fen=6_000, count=3)
    await grab(deps, rain, rain.invited[0])
    first = await rains.end_rain(deps, rain.id, now=deps.clock.now())
    books = (await written(rain), await distributor_cash(rain))
    second = await rains.end_rain(deps, rain.id, now=deps.clock.now() + timedelta(seconds=5))
    assert second == first
    assert (await written(rain), await distributor_cash(rain)) == books
    assert await PartyEntry.filter(cause="rain_back").count() == 1
    await assert_books_hold(rain)

    planned = await planned_rain(deps)
    with pytest.raises(rains.RainNotRunning):
        await rains.end_rain(deps, planned.id, now=deps.clock.now())


async def test_concurrent_ends_return_the_rest_once(deps) -> None:
    rain = await running_rain(deps, total_fen=6_000, count=3)
    await grab(deps, rain, rain.invited[0])
    ends = await asyncio.gather(
        *(rains.end_rain(deps, rain.id, now=deps.clock.now()) for _ in range(4))
    )
    assert len({e["returned_fen"] for e in ends}) == 1
    assert await PartyEntry.filter(cause="rain_back").count() == 1
    await assert_books_hold(rain)


async def test_a_win_recorded_in_redis_but_never_persisted_lands_at_the_end(deps) -> None:
    """The process died between the grab script and the persist: the end reconciles."""
    rain = await running_rain(deps, total_fen=9_000, count=4)
    crashed, persisted = rain.invited[0], rain.invited[1]
    claim = await rains.claim_packet(deps, rain.id, crashed.id, now=deps.clock.now())
    assert claim.outcome == "won"
    assert claim.amount_fen >= 1
    other = await grab(deps, rain, persisted)
    assert await rains.my_grant(rain.id, crashed.id) is None

    ended = await rains.end_rain(deps, rain.id, now=deps.clock.now())
    assert ended["granted_fen"] == claim.amount_fen + other["amount_fen"]
    assert ended["returned_fen"] == 9_000 - ended["granted_fen"]
    assert {r["store_id"]: r["amount_fen"] for r in ended["results"]} == {
        crashed.id: claim.amount_fen,
        persisted.id: other["amount_fen"],
    }
    await assert_books_hold(rain)
    # The store comes back: told its packet, nothing paid twice.
    before = await written(rain)
    again = await grab(deps, rain, crashed)
    assert (again["amount_fen"], again["again"]) == (claim.amount_fen, True)
    assert await written(rain) == before


async def test_a_repeat_grab_persists_a_win_its_first_grab_lost(deps) -> None:
    rain = await running_rain(deps)
    store = rain.invited[0]
    claim = await rains.claim_packet(deps, rain.id, store.id, now=deps.clock.now())
    again = await grab(deps, rain, store)
    assert (again["amount_fen"], again["again"]) == (claim.amount_fen, True)
    assert (await rains.my_grant(rain.id, store.id) or {})["amount_fen"] == claim.amount_fen
    await asyncio.gather(*(grab(deps, rain, store) for _ in range(5)))
    await assert_books_hold(rain)
    assert await RedPacketGrant.filter(rain_id=rain.id).count() == 1


async def test_a_rain_started_without_its_redis_state_loads_it_on_the_first_grab(deps) -> None:
    """The process died between the start's commit and the Redis load."""
    rain = await running_rain(deps, stores=8, total_fen=1_000, count=6)
    for key in rains.rain_keys(rain.id):
        await deps.redis.delete(key)
    outcomes = await asyncio.gather(
        *(grab(deps, rain, store) for store in rain.invited), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, dict)]
    assert len(won) == 6
    assert sum(o["amount_fen"] for o in won) == 1_000
    assert all(isinstance(o, rains.RainEmpty) for o in outcomes if not isinstance(o, dict))
    await rains.end_rain(deps, rain.id, now=deps.clock.now())
    await assert_books_hold(rain)


async def test_redis_losing_a_running_rain_shares_only_what_is_left(deps) -> None:
    rain = await running_rain(deps, stores=5, total_fen=2_000, count=5)
    first = await grab(deps, rain, rain.invited[0])
    for key in rains.rain_keys(rain.id):
        await deps.redis.delete(key)
    state = await rains.rain_state(deps, rain.id)  # a reconnecting client reloads it
    assert state["remaining"] == 4
    assert (await grab(deps, rain, rain.invited[0]))["amount_fen"] == first["amount_fen"]
    rest = await asyncio.gather(*(grab(deps, rain, s) for s in rain.invited[1:]))
    assert first["amount_fen"] + sum(r["amount_fen"] for r in rest) == 2_000
    await rains.end_rain(deps, rain.id, now=deps.clock.now())
    await assert_books_hold(rain)


async def test_a_rain_ended_before_its_state_was_loaded_returns_everything(deps) -> None:
    rain = await running_rain(deps, total_fen=4_000)
    for key in rains.rain_keys(rain.id):
        await deps.redis.delete(key)
    ended = await rains.end_rain(deps, rain.id, now=deps.clock.now())
    assert (ended["returned_fen"], ended["results"]) == (4_000, [])
    with pytest.raises(rains.RainNotRunning):  # closed: nobody loads it again
        await grab(deps, rain, rain.invited[0])
    assert await distributor_cash(rain) == 0
    await assert_books_hold(rain)


async def test_a_win_in_flight_when_redis_lost_the_rain_is_never_paid_twice(deps) -> None:
    """Redis lost the rain between a win's script and its persist, and the reload gave that
    packet to another store: whichever persists second is refused, and the grants never add
    up to more than the total."""
    rain = await running_rain(deps, stores=3, total_fen=3_000, count=2)
    in_flight = await rains.claim_packet(deps, rain.id, rain.invited[0].id, now=deps.clock.now())
    for key in rains.rain_keys(rain.id):
        await deps.redis.delete(key)
    others = await asyncio.gather(
        *(grab(deps, rain, store) for store in rain.invited[1:]), return_exceptions=True
    )
    assert all(isinstance(o, dict) for o in others), others  # both packets, shared again
    before = await written(rain)
    with pytest.raises(rains.RainEmpty):  # its packet went to another store meanwhile
        await rains.grab(deps, rain.id, rain.invited[0].id, now=deps.clock.now())
    assert in_flight.outcome == "won"
    assert await written(rain) == before
    ended = await rains.end_rain(deps, rain.id, now=deps.clock.now())
    assert (ended["granted_fen"], ended["returned_fen"]) == (3_000, 0)
    await assert_books_hold(rain)


async def test_no_grant_lands_after_the_end_has_counted(deps) -> None:
    """A grab persisting while the rain ends: the end waits for it (PostgreSQL: the grant holds
    a share lock on the rain's row), so the return to the distributor counts it."""
    rain = await running_rain(deps, stores=40, total_fen=40_000, count=40)
    claims = [
        await rains.claim_packet(deps, rain.id, store.id, now=deps.clock.now())
        for store in rain.invited
    ]
    persists = [rains.grab(deps, rain.id, store.id, now=deps.clock.now()) for store in rain.invited]
    outcomes = await asyncio.gather(
        *persists, rains.end_rain(deps, rain.id, now=deps.clock.now()), return_exceptions=True
    )
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    ended = outcomes[-1]
    assert isinstance(ended, dict)
    assert (ended["granted_fen"], ended["granted_count"]) == (40_000, 40)
    assert sorted(r["amount_fen"] for r in ended["results"]) == sorted(c.amount_fen for c in claims)
    await assert_books_hold(rain)


async def test_batches_of_the_same_wins_in_any_order_never_deadlock(deps) -> None:
    """Processes persisting the same wins at once, in different orders (a grab's batch and
    the end's catch-up, or two API processes): each grant and credit lands once, and no
    batch waits on another in a cycle (PostgreSQL: rows are written in store order). Rounds
    of new rains in one session, as a deadlock needs the statements to overlap."""
    first = await running_rain(deps, stores=300, total_fen=300_000, count=300)
    brand_id = first.tenant.brand.id
    rounds = [first] + [
        Rain(
            first.tenant,
            first.session,
            await RedPacketRain.create(
                session=first.session, total_fen=300_000, count=300, duration_seconds=30
            ),
            first.invited,
        )
        for _ in range(3)
    ]
    for rain in rounds:
        now = deps.clock.now()
        if rain is not first:
            await rains.start_rain(deps, rain.id, now=now)
        wins = [
            rains._Win(s.id, await rains.claim_packet(deps, rain.id, s.id, now=now), now, brand_id)
            for s in rain.invited
        ]
        outcomes = await asyncio.gather(
            rains._persist_wins(rain.id, brand_id, wins),
            rains._persist_wins(rain.id, brand_id, wins[::-1]),
            rains._persist_wins(rain.id, brand_id, wins[1::2] + wins[::2]),
            return_exceptions=True,
        )
        assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
        await rains.end_rain(deps, rain.id, now=now)
    grants = await RedPacketGrant.filter(rain__session_id=first.session.id)
    assert len(grants) == 4 * 300
    await assert_each_grant_credited_once(grants)
    assert await distributor_cash(first) == -4 * 300_000
    assert await ledger_service.unbalanced_accounts() == []


async def test_the_room_checks_a_rain_belongs_to_its_session_and_a_stale_cache_never_refuses(
    deps,
) -> None:
    """The grab's cached rain → session lookup: a rain of another session is not found (and
    nothing is written); a cache entry that disagrees with the database is read again."""
    from backend.identity.tokens import Principal
    from backend.livestream import service as live

    rain = await running_rain(deps)
    store = rain.invited[0]
    owner = Principal(
        user_id=1,
        session_id="t",
        role="store_owner",
        brand_id=rain.tenant.brand.id,
        distributor_id=rain.tenant.distributor.id,
        store_id=store.id,
    )
    before = await written(rain)
    with pytest.raises(rains.RainNotFound):
        await live.grab(deps, owner, rain.session.id + 1, rain.id, now=deps.clock.now())
    with pytest.raises(rains.RainNotFound):
        await live.grab(deps, owner, rain.session.id, 2**63, now=deps.clock.now())
    assert await written(rain) == before
    rains._SESSION_OF_RAIN[rain.id] = rain.session.id + 1  # stale
    won = await live.grab(deps, owner, rain.session.id, rain.id, now=deps.clock.now())
    assert won["amount_fen"] >= 1 and not won["again"]
    await assert_books_hold(rain)
