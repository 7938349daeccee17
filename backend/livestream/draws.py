"""Lottery draws in a live session (直播抽奖) that anyone can audit, without the realtime
pushes (the livestream service announces what these return).

A draw moves planned → announced → drawn, each move one guarded UPDATE, so it happens once
however many hosts and processes try it.

- **Announce** (only while the session is live) makes a secret seed and stores it with its
  hash; only the hash is ever shown until the draw is run (`lottery_draw` explains why).
- **Run** collects the eligible stores (`present`: invited and in the room now; `ordered`:
  ordered in the room during the session; `invited`: every invited store), then in ONE
  transaction moves the draw to drawn (the guarded UPDATE first, so of two runs at once
  exactly one goes on; the other finds nothing to move and writes nothing), stores the
  sorted eligible list and the winners. Only then does it return the record, seed
  revealed, for the caller to announce (rule 6: a winner is persisted before anyone is told).
- **Record** is the published, auditable record: with its seed, eligible list, prizes and
  winners anyone can recompute the winners (`lottery_draw.verify`). A draw run after its
  session ended is allowed: the hash was published, so the promised draw still happens.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from backend.deps import Deps
from backend.infra import sql
from backend.kernel.errors import Conflict, NotFound
from backend.livestream import lottery_draw, room
from backend.livestream.models import (
    DrawStatus,
    Eligibility,
    LiveDraw,
    LiveDrawWinner,
    SessionStatus,
)


class DrawNotFound(NotFound):
    code = "live.draw_not_found"
    message = "找不到该抽奖"


class SessionNotLive(Conflict):
    code = "live.session_not_live"
    message = "直播未在进行中，不能公布抽奖"


class DrawNotPlanned(Conflict):
    code = "live.draw_not_planned"
    message = "抽奖已公布或已开奖，不能再次公布"


class DrawNotAnnounced(Conflict):
    code = "live.draw_not_announced"
    message = "抽奖尚未公布，不能开奖"


class DrawAlreadyDrawn(Conflict):
    code = "live.draw_already_drawn"
    message = "抽奖已开奖，不能再次开奖"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


async def _draw_of(session_id: int, draw_id: int) -> LiveDraw:
    """The draw, if it belongs to the session: another session's draw is not found."""
    draw = await LiveDraw.get_or_none(id=draw_id, session_id=session_id).select_related("session")
    if draw is None:
        raise DrawNotFound()
    return draw


def _public(draw: LiveDraw) -> dict[str, Any]:
    """What anyone may see of a draw before it is run: never the seed."""
    return {
        "draw_id": draw.id,
        "session_id": draw.session_id,  # type: ignore[attr-defined]
        "title": draw.title,
        "prizes": draw.prizes,
        "eligibility": draw.eligibility,
        "status": draw.status,
        "seed_hash": draw.seed_hash or None,
        "announced_at": _iso(draw.announced_at),
    }


def _record(draw: LiveDraw, winners: list[LiveDrawWinner]) -> dict[str, Any]:
    """The published record: the public view, and once drawn the seed, the eligible stores
    and the winners (by rank), which is all `lottery_draw.verify` needs."""
    drawn = draw.status == DrawStatus.DRAWN.value
    return {
        **_public(draw),
        "algorithm": lottery_draw.ALGORITHM,
        "seed": draw.seed if drawn else None,
        "eligible": list(draw.eligible) if drawn else None,
        "winners": [
            {"store_id": w.store_id, "prize": w.prize, "rank": w.rank}  # type: ignore[attr-defined]
            for w in sorted(winners, key=lambda w: w.rank)
        ],
        "drawn_at": _iso(draw.drawn_at),
    }


async def announce(deps: Deps, session_id: int, draw_id: int, *, now: datetime) -> dict[str, Any]:
    """Announce a planned draw of a live session: its seed is made and kept secret, its hash
    published. Returns the public view (no seed). Refusals (nothing written): DrawNotFound,
    DrawNotPlanned, SessionNotLive."""
    draw = await _draw_of(session_id, draw_id)
    if draw.status != DrawStatus.PLANNED.value:
        raise DrawNotPlanned()
    if draw.session.status != SessionStatus.LIVE.value:
        raise SessionNotLive()
    seed = lottery_draw.new_seed()
    # Guarded: only a planned draw of a live session moves; of two announcements at once
    # exactly one matches, so one seed is ever committed to.
    moved = await sql.execute(
        "UPDATE live_draws SET status = $3, seed = $4, seed_hash = $5, announced_at = $6"
        " WHERE id = $1 AND session_id = $2 AND status = $7"
        " AND session_id IN (SELECT id FROM live_sessions WHERE id = $2 AND status = $8)",
        draw_id,
        session_id,
        DrawStatus.ANNOUNCED.value,
        seed,
        lottery_draw.seed_hash(seed),
        now,
        DrawStatus.PLANNED.value,
        SessionStatus.LIVE.value,
    )
    if not moved:  # changed since read: say what changed
        draw = await _draw_of(session_id, draw_id)
        if draw.status != DrawStatus.PLANNED.value:
            raise DrawNotPlanned()
        raise SessionNotLive()
    return _public(await _draw_of(session_id, draw_id))


async def _store_ids(query: str, session_id: int) -> set[int]:
    return {int(row["store_id"]) for row in await sql.fetch(query, session_id)}


async def _eligible(deps: Deps, draw: LiveDraw) -> list[int]:
    session_id: int = draw.session_id  # type: ignore[attr-defined]
    if draw.eligibility == Eligibility.ORDERED.value:
        return sorted(
            await _store_ids(
                "SELECT DISTINCT store_id FROM live_orders WHERE session_id = $1", session_id
            )
        )
    stores = await _store_ids(
        "SELECT store_id FROM live_invitations WHERE session_id = $1", session_id
    )
    if draw.eligibility == Eligibility.PRESENT.value:
        # A connection in the room is only as good as its invitation: the room may hold a
        # store whose invitation was withdrawn, and never anyone else.
        stores &= set(await room.present_store_ids(deps, session_id))
    elif draw.eligibility != Eligibility.INVITED.value:
        raise ValueError(f"unknown eligibility {draw.eligibility!r}")
    return sorted(stores)


async def run(deps: Deps, session_id: int, draw_id: int, *, now: datetime) -> dict[str, Any]:
    """Run an announced draw: the winners and the revealed seed, persisted before this
    returns (the caller announces them after). Returns the published record. Refusals
    (nothing written): DrawNotFound, DrawNotAnnounced, DrawAlreadyDrawn (then `record`
    gives the record)."""
    draw = await _draw_of(session_id, draw_id)
    if draw.status == DrawStatus.PLANNED.value:
        raise DrawNotAnnounced()
    if draw.status != DrawStatus.ANNOUNCED.value:
        raise DrawAlreadyDrawn()
    eligible = await _eligible(deps, draw)
    prizes = [(str(p["name"]), int(p["count"])) for p in draw.prizes]
    winners = lottery_draw.draw(draw.seed, eligible, prizes)
    async with in_transaction():
        # The guarded move comes first: it takes the draw's row lock, and of two runs at
        # once only one finds it announced (with the seed we drew from); the other writes
        # nothing. The eligible list is stored by the same statement, with the winners.
        moved = await LiveDraw.filter(
            id=draw_id,
            session_id=session_id,
            status=DrawStatus.ANNOUNCED.value,
            seed_hash=draw.seed_hash,
        ).update(status=DrawStatus.DRAWN.value, eligible=eligible, drawn_at=now)
        if not moved:
            raise DrawAlreadyDrawn()
        if winners:
            await LiveDrawWinner.bulk_create(
                [
                    LiveDrawWinner(
                        draw_id=draw_id, store_id=store, prize=prize, rank=rank, created_at=now
                    )
                    for store, prize, rank in winners
                ]
            )
    return await record(draw_id)


async def record(draw_id: int) -> dict[str, Any]:
    """The draw's published, auditable record; the seed, the eligible stores and the winners
    only once it is drawn."""
    draw = await LiveDraw.get_or_none(id=draw_id)
    if draw is None:
        raise DrawNotFound()
    winners = await LiveDrawWinner.filter(draw_id=draw_id).order_by("rank")
    return _record(draw, list(winners))


async def session_draws(session_id: int) -> list[dict[str, Any]]:
    """Every draw of the session as its published record, in the order they were planned."""
    draws = await LiveDraw.filter(session_id=session_id).order_by("id")
    if not draws:
        return []
    winners: dict[int, list[LiveDrawWinner]] = {draw.id: [] for draw in draws}
    for winner in await LiveDrawWinner.filter(draw_id__in=list(winners)).order_by("rank"):
        winners[winner.draw_id].append(winner)  # type: ignore[attr-defined]
    return [_record(draw, winners[draw.id]) for draw in draws]


# ---- how winners are named ------------------------------------------------------------------
#
# Everyone in the room sees who won, and a draw's record is for anyone to check, but a
# store's full name often is its owner's name or its street ("张建国净水店", "中山路12号水站"):
# telling every other store of the distributor which shop won what would hand that out to
# its neighbours and competitors. So other stores see a masked name, the first and the last
# character around a fixed "**" (the length is not told either), enough for a winner to
# recognise itself and for the room to see that real shops won. The store itself sees its
# own name in full, and so do the distributor's and the brand's staff, who know every store
# anyway and must be able to hand the prizes out. The audit does not need names at all: it
# works on the store ids (`eligible`, `winners`), which say nothing about a shop by
# themselves.

ANONYMOUS_STORE = "门店"


def mask_store_name(name: str | None) -> str:
    """A store's name as other stores see it: 张建国净水店 → 张**店, 水站 → 水*."""
    text = "".join((name or "").split())
    if len(text) >= 3:
        return f"{text[0]}**{text[-1]}"
    if len(text) == 2:
        return f"{text[0]}*"
    return ANONYMOUS_STORE if not text else "*"
