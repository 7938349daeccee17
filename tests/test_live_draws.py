"""Lottery draws in a live session, on whichever database and Redis the run uses: only the
seed's hash is published before the draw, the revealed seed matches it, the winners come
from the right eligible stores and recompute from the published record (with the module's
`verify` and with a re-implementation here), a draw runs once however many run it, and a
refusal writes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.kernel.errors import DomainError
from backend.livestream import draws, lottery_draw, room
from backend.livestream.models import (
    DrawStatus,
    Eligibility,
    LiveDraw,
    LiveDrawWinner,
    LiveOrder,
    LiveProduct,
    LiveSession,
    SessionStatus,
)
from backend.org.models import Store
from tests.factories import Tenant, live_session_with_stores, make_shop, make_store

PRIZES = [
    {"name": "一等奖", "count": 1},
    {"name": "二等奖", "count": 2},
    {"name": "三等奖", "count": 3},
]


@dataclass
class Live:
    tenant: Tenant
    session: LiveSession
    invited: list[Store]

    @property
    def id(self) -> int:
        return self.session.id


async def live_session(
    deps: Any,
    *,
    stores: int = 8,
    tenant: Tenant | None = None,
    status: SessionStatus = SessionStatus.LIVE,
) -> Live:
    tenant, session, invited = await live_session_with_stores(
        deps, stores=stores, status=status.value, tenant=tenant
    )
    return Live(tenant, session, invited)


async def planned_draw(
    live: Live,
    eligibility: Eligibility = Eligibility.INVITED,
    prizes: list[dict[str, Any]] | None = None,
) -> LiveDraw:
    return await LiveDraw.create(
        session=live.session,
        title="幸运抽奖",
        prizes=PRIZES if prizes is None else prizes,
        eligibility=eligibility.value,
    )


async def announce(deps: Any, live: Live, draw: LiveDraw) -> dict[str, Any]:
    return await draws.announce(deps, live.id, draw.id, now=deps.clock.now())


async def run(deps: Any, live: Live, draw: LiveDraw) -> dict[str, Any]:
    return await draws.run(deps, live.id, draw.id, now=deps.clock.now())


async def written(draw: LiveDraw) -> tuple[Any, ...]:
    """Everything announcing or running a draw could write."""
    fresh = await LiveDraw.get(id=draw.id)
    rows = await LiveDrawWinner.filter(draw_id=draw.id).order_by("rank")
    return (
        fresh.status,
        fresh.seed,
        fresh.seed_hash,
        fresh.eligible,
        fresh.announced_at,
        fresh.drawn_at,
        [(w.store_id, w.prize, w.rank) for w in rows],  # type: ignore[attr-defined]
        await LiveDrawWinner.all().count(),
    )


def assert_refused(caught: pytest.ExceptionInfo[DomainError], code: str, status: int) -> None:
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.text  # a message for people


def recompute(seed: str, eligible: list[int], prizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The winners re-implemented from the module's docstring alone, as an auditor would:
    hashlib directly, the hash read from its hex text."""
    pool = sorted(set(eligible))
    ladder: list[str] = []
    for prize in prizes:
        ladder.extend([prize["name"]] * prize["count"])
    winners = []
    rank = 0
    while pool and rank < len(ladder):
        rank += 1
        index = int(hashlib.sha256(f"{seed}:{rank}".encode()).hexdigest(), 16) % len(pool)
        winners.append({"store_id": pool.pop(index), "prize": ladder[rank - 1], "rank": rank})
    return winners


def assert_audits(record: dict[str, Any], announced_hash: str) -> None:
    """What an outsider checks: the seed is the one committed to, and the winners follow."""
    assert record["status"] == DrawStatus.DRAWN.value
    assert record["seed_hash"] == announced_hash
    assert hashlib.sha256(record["seed"].encode()).hexdigest() == announced_hash
    assert record["eligible"] == sorted(set(record["eligible"]))
    assert lottery_draw.verify(record)
    assert record["winners"] == recompute(record["seed"], record["eligible"], record["prizes"])


async def assert_persisted(record: dict[str, Any]) -> None:
    """The record is what the database holds (it was written before it was returned)."""
    assert await draws.record(record["draw_id"]) == record
    rows = await LiveDrawWinner.filter(draw_id=record["draw_id"]).order_by("rank")
    assert [
        {"store_id": w.store_id, "prize": w.prize, "rank": w.rank}  # type: ignore[attr-defined]
        for w in rows
    ] == record["winners"]


# ---- the service ------------------------------------------------------------------------------


async def test_announcing_publishes_the_hash_and_keeps_the_seed_secret(deps) -> None:
    live = await live_session(deps)
    draw = await planned_draw(live)
    view = await announce(deps, live, draw)
    assert view["status"] == "announced"
    assert (view["title"], view["prizes"], view["eligibility"]) == ("幸运抽奖", PRIZES, "invited")
    assert len(view["seed_hash"]) == 64
    assert "seed" not in view
    secret = (await LiveDraw.get(id=draw.id)).seed
    assert secret not in str(view)

    published = await draws.record(draw.id)
    assert (published["seed"], published["eligible"], published["winners"]) == (None, None, [])
    assert published["seed_hash"] == view["seed_hash"]
    listed = await draws.session_draws(live.id)
    assert [(d["draw_id"], d["seed"], d["seed_hash"]) for d in listed] == [
        (draw.id, None, view["seed_hash"])
    ]
    stored = await LiveDraw.get(id=draw.id)
    assert lottery_draw.seed_hash(stored.seed) == view["seed_hash"]

    before = await written(draw)
    with pytest.raises(draws.DrawNotPlanned) as caught:
        await announce(deps, live, draw)
    assert_refused(caught, "live.draw_not_planned", 409)
    assert await written(draw) == before  # the committed seed never changes


async def test_the_run_reveals_the_committed_seed_and_the_winners_recompute(deps) -> None:
    live = await live_session(deps, stores=8)
    draw = await planned_draw(live)
    announced = await announce(deps, live, draw)
    record = await run(deps, live, draw)

    assert record["draw_id"] == draw.id
    assert record["eligible"] == sorted(store.id for store in live.invited)
    assert_audits(record, announced["seed_hash"])
    assert [(w["rank"], w["prize"]) for w in record["winners"]] == [
        (1, "一等奖"),
        (2, "二等奖"),
        (3, "二等奖"),
        (4, "三等奖"),
        (5, "三等奖"),
        (6, "三等奖"),
    ]
    assert record["drawn_at"] is not None
    await assert_persisted(record)
    assert [d["seed"] for d in await draws.session_draws(live.id)] == [record["seed"]]

    # A record anyone tampered with no longer verifies.
    winners = record["winners"]
    swapped = [{**winners[0], "store_id": winners[1]["store_id"]}, *winners[1:]]
    loser = next(s for s in record["eligible"] if s not in {w["store_id"] for w in winners})
    replaced = [{**winners[0], "store_id": loser}, *winners[1:]]
    for forged in (
        {**record, "winners": swapped},
        {**record, "winners": replaced},
        {**record, "seed": lottery_draw.new_seed()},
        {**record, "eligible": record["eligible"][1:]},
        {**record, "winners": winners[:-1]},
        {**record, "seed": None},
    ):
        assert not lottery_draw.verify(forged)


async def test_a_draw_runs_once_and_a_second_run_writes_nothing(deps) -> None:
    live = await live_session(deps, stores=4)
    draw = await planned_draw(live)
    await announce(deps, live, draw)
    record = await run(deps, live, draw)
    before = await written(draw)
    with pytest.raises(draws.DrawAlreadyDrawn) as caught:
        await run(deps, live, draw)
    assert_refused(caught, "live.draw_already_drawn", 409)
    assert await written(draw) == before
    assert await draws.record(draw.id) == record
    with pytest.raises(draws.DrawNotPlanned):
        await announce(deps, live, draw)
    assert await written(draw) == before


async def test_present_means_invited_and_in_the_room_at_the_run(deps) -> None:
    live = await live_session(deps, stores=6)
    stranger = await make_store(live.tenant)  # in the room, never invited
    a, b, c, gone = live.invited[:4]
    await room.enter(deps, live.id, "sid-a1", a.id, process="p")
    await room.enter(deps, live.id, "sid-a2", a.id, process="p")  # a second phone of the same store
    await room.enter(deps, live.id, "sid-b", b.id, process="p")
    await room.enter(deps, live.id, "sid-c", c.id, process="p")
    await room.enter(deps, live.id, "sid-host", None, process="p")
    await room.enter(deps, live.id, "sid-x", stranger.id, process="p")
    await room.enter(deps, live.id, "sid-gone", gone.id, process="p")
    draw = await planned_draw(live, Eligibility.PRESENT)
    announced = await announce(deps, live, draw)
    await room.leave(
        deps, live.id, "sid-gone", process="p"
    )  # left before the run: not there at the draw

    record = await run(deps, live, draw)
    assert record["eligible"] == sorted([a.id, b.id, c.id])
    assert sorted(w["store_id"] for w in record["winners"]) == sorted([a.id, b.id, c.id])
    assert_audits(record, announced["seed_hash"])
    await assert_persisted(record)


async def test_ordered_means_a_live_order_in_this_session(deps) -> None:
    shop = await make_shop()
    live = await live_session(deps, stores=6, tenant=shop.tenant)
    other = await live_session(deps, stores=2, tenant=shop.tenant)
    product = await LiveProduct.create(
        session=live.session, sku_id=shop.water, live_price_fen=150_000, live_stock=10
    )
    elsewhere = await LiveProduct.create(
        session=other.session, sku_id=shop.water, live_price_fen=150_000, live_stock=10
    )
    now = deps.clock.now()
    buyers = [live.invited[1], live.invited[4], live.invited[4]]  # one store ordered twice
    orders = [(live, product, store) for store in buyers] + [(other, elsewhere, live.invited[2])]
    for number, (where, item, store) in enumerate(orders, start=1):
        await LiveOrder.create(
            session=where.session,
            product=item,
            store=store,
            order_id=9_000 + number,
            quantity=1,
            amount_fen=150_000,
            created_at=now,
        )
    draw = await planned_draw(live, Eligibility.ORDERED)
    announced = await announce(deps, live, draw)
    record = await run(deps, live, draw)
    expected = sorted({live.invited[1].id, live.invited[4].id})
    assert record["eligible"] == expected
    assert sorted(w["store_id"] for w in record["winners"]) == expected
    assert_audits(record, announced["seed_hash"])
    await assert_persisted(record)


async def test_invited_means_every_invited_store_and_no_other(deps) -> None:
    live = await live_session(deps, stores=30)
    other = await live_session(deps, stores=3, tenant=live.tenant)  # not in this draw
    await make_store(live.tenant)  # same distributor, not invited
    draw = await planned_draw(live, prizes=[{"name": "免单", "count": 10}])
    announced = await announce(deps, live, draw)
    record = await run(deps, live, draw)
    invited = sorted(store.id for store in live.invited)
    assert record["eligible"] == invited
    assert len(record["winners"]) == 10
    assert {w["store_id"] for w in record["winners"]} <= set(invited)
    only_other = {s.id for s in other.invited} - set(invited)  # both invite tenant.store
    assert only_other
    assert not {w["store_id"] for w in record["winners"]} & only_other
    assert_audits(record, announced["seed_hash"])


async def test_with_fewer_eligible_stores_than_prizes_everyone_wins(deps) -> None:
    live = await live_session(deps, stores=2)
    draw = await planned_draw(live)  # six prizes
    announced = await announce(deps, live, draw)
    record = await run(deps, live, draw)
    assert sorted(w["store_id"] for w in record["winners"]) == sorted(s.id for s in live.invited)
    assert [(w["rank"], w["prize"]) for w in record["winners"]] == [(1, "一等奖"), (2, "二等奖")]
    assert_audits(record, announced["seed_hash"])
    await assert_persisted(record)


async def test_a_draw_nobody_is_eligible_for_is_drawn_with_no_winners(deps) -> None:
    live = await live_session(deps, stores=3)
    draw = await planned_draw(live, Eligibility.ORDERED)  # nobody ordered
    announced = await announce(deps, live, draw)
    record = await run(deps, live, draw)
    assert (record["eligible"], record["winners"]) == ([], [])
    assert_audits(record, announced["seed_hash"])


async def test_ten_runs_at_once_persist_one_set_of_winners(deps, monkeypatch) -> None:
    live = await live_session(deps, stores=12)
    for store in live.invited:  # present changes nothing here, but every run reads the room
        await room.enter(deps, live.id, f"sid-{store.id}", store.id, process="p")
    draw = await planned_draw(live, Eligibility.PRESENT)
    announced = await announce(deps, live, draw)

    # Hold every run until all ten have read the draw as announced, so the refusals come
    # from the guarded UPDATE, not from the early status check.
    collect = draws._eligible
    arrived: list[int] = []
    everyone = asyncio.Event()

    async def together(*args: Any) -> list[int]:
        arrived.append(1)
        if len(arrived) == 10:
            everyone.set()
        await everyone.wait()
        return await collect(*args)

    monkeypatch.setattr(draws, "_eligible", together)
    outcomes = await asyncio.gather(
        *(run(deps, live, draw) for _ in range(10)), return_exceptions=True
    )
    records = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert len(records) == 1
    assert len(refused) == 9
    assert all(isinstance(o, draws.DrawAlreadyDrawn) for o in refused), refused
    assert await LiveDrawWinner.filter(draw_id=draw.id).count() == 6
    assert_audits(records[0], announced["seed_hash"])
    await assert_persisted(records[0])


async def test_ten_announcements_at_once_commit_to_one_seed(deps) -> None:
    live = await live_session(deps, stores=3)
    draw = await planned_draw(live)
    outcomes = await asyncio.gather(
        *(announce(deps, live, draw) for _ in range(10)), return_exceptions=True
    )
    views = [o for o in outcomes if isinstance(o, dict)]
    assert len(views) == 1
    assert all(isinstance(o, draws.DrawNotPlanned) for o in outcomes if o not in views)
    stored = await LiveDraw.get(id=draw.id)
    assert lottery_draw.seed_hash(stored.seed) == views[0]["seed_hash"] == stored.seed_hash


async def test_a_draw_of_another_session_is_not_found_and_nothing_changes(deps) -> None:
    live = await live_session(deps, stores=3)
    other = await live_session(deps, stores=3)
    theirs = await planned_draw(other)
    before = await written(theirs)
    for attempt in (draws.announce, draws.run):
        with pytest.raises(draws.DrawNotFound) as caught:
            await attempt(deps, live.id, theirs.id, now=deps.clock.now())
        assert_refused(caught, "live.draw_not_found", 404)
    assert await written(theirs) == before

    await draws.announce(deps, other.id, theirs.id, now=deps.clock.now())
    announced = await written(theirs)
    with pytest.raises(draws.DrawNotFound):
        await draws.run(deps, live.id, theirs.id, now=deps.clock.now())
    assert await written(theirs) == announced
    with pytest.raises(draws.DrawNotFound):
        await draws.record(theirs.id + 1000)
    assert await draws.session_draws(live.id) == []


async def test_no_run_before_the_announcement_and_no_announcement_off_air(deps) -> None:
    live = await live_session(deps, stores=3)
    draw = await planned_draw(live)
    before = await written(draw)
    with pytest.raises(draws.DrawNotAnnounced) as caught:
        await run(deps, live, draw)
    assert_refused(caught, "live.draw_not_announced", 409)
    assert await written(draw) == before

    for status in (SessionStatus.SCHEDULED, SessionStatus.ENDED):
        off_air = await live_session(deps, stores=2, status=status)
        waiting = await planned_draw(off_air)
        untouched = await written(waiting)
        with pytest.raises(draws.SessionNotLive) as not_live:
            await announce(deps, off_air, waiting)
        assert_refused(not_live, "live.session_not_live", 409)
        assert await written(waiting) == untouched


async def test_an_announced_draw_still_runs_after_the_session_ended(deps) -> None:
    """The hash was published: the promised draw happens even if the host ended first."""
    live = await live_session(deps, stores=3)
    draw = await planned_draw(live)
    announced = await announce(deps, live, draw)
    await LiveSession.filter(id=live.id).update(status=SessionStatus.ENDED.value)
    record = await run(deps, live, draw)
    assert_audits(record, announced["seed_hash"])


# ---- the pure draw ----------------------------------------------------------------------------


def test_seeds_are_fresh_and_hashed_as_documented() -> None:
    seeds = {lottery_draw.new_seed() for _ in range(100)}
    assert len(seeds) == 100
    assert all(len(seed) == 64 and int(seed, 16) >= 0 for seed in seeds)
    assert lottery_draw.seed_hash("ab") == hashlib.sha256(b"ab").hexdigest()


# Seed "00" * 32, stores [3, 7, 9, 12, 40], prizes 一等奖 x1 and 二等奖 x2, worked out with
# hashlib by hand: the indices are 0, 2, 2.
PINNED = [(3, "一等奖", 1), (12, "二等奖", 2), (40, "二等奖", 3)]


def test_a_pinned_vector_keeps_the_procedure_from_drifting() -> None:
    # A change of procedure would break every published record: it must show here.
    seed = "00" * 32
    pool = [3, 7, 9, 12, 40]
    expected = []
    for rank, prize in ((1, "一等奖"), (2, "二等奖"), (3, "二等奖")):
        digest = hashlib.sha256(f"{seed}:{rank}".encode()).digest()
        expected.append((pool.pop(int.from_bytes(digest, "big") % len(pool)), prize, rank))
    winners = lottery_draw.draw(seed, [40, 12, 9, 7, 3], [("一等奖", 1), ("二等奖", 2)])
    assert winners == expected
    assert winners == PINNED


def test_refuses_an_empty_seed_and_negative_counts() -> None:
    with pytest.raises(ValueError):
        lottery_draw.draw("", [1, 2], [("奖", 1)])
    with pytest.raises(ValueError):
        lottery_draw.draw("ab", [1, 2], [("奖", -1)])
    assert not lottery_draw.verify({"seed": "ab"})  # malformed: not verified, not an error


@st.composite
def draws_in(draw: st.DrawFn) -> tuple[str, list[int], list[tuple[str, int]]]:
    seed = draw(st.binary(min_size=32, max_size=32)).hex()
    eligible = draw(st.lists(st.integers(min_value=1, max_value=10**12), max_size=60))
    prizes = draw(
        st.lists(
            st.tuples(st.sampled_from(["一等奖", "二等奖", "三等奖", "谢谢"]), st.integers(0, 20)),
            max_size=5,
        )
    )
    return seed, eligible, prizes


@settings(max_examples=300, deadline=None)
@given(draws_in(), st.randoms(use_true_random=False))
def test_the_winners_are_distinct_eligible_and_as_many_as_can_be(
    case: tuple[str, list[int], list[tuple[str, int]]], shuffler: random.Random
) -> None:
    seed, eligible, prizes = case
    winners = lottery_draw.draw(seed, eligible, prizes)
    stores = [store for store, _, _ in winners]
    assert len(stores) == len(set(stores))
    assert set(stores) <= set(eligible)
    assert len(winners) == min(sum(count for _, count in prizes), len(set(eligible)))
    assert [rank for _, _, rank in winners] == list(range(1, len(winners) + 1))
    ladder = [name for name, count in prizes for _ in range(count)]
    assert [prize for _, prize, _ in winners] == ladder[: len(winners)]

    # The same seed and eligible stores, in any order, always give the same winners.
    shuffled = list(eligible)
    shuffler.shuffle(shuffled)
    assert lottery_draw.draw(seed, shuffled, prizes) == winners
    record: dict[str, Any] = {
        "seed": seed,
        "seed_hash": lottery_draw.seed_hash(seed),
        "eligible": sorted(set(eligible)),
        "prizes": [{"name": name, "count": count} for name, count in prizes],
        "winners": [{"store_id": s, "prize": p, "rank": r} for s, p, r in winners],
    }
    assert lottery_draw.verify(record)
    assert [{"store_id": s, "prize": p, "rank": r} for s, p, r in winners] == recompute(
        seed, list(eligible), record["prizes"]
    )
