"""Coupon drops (直播抢券): the host opens a drop of `quantity` coupons of a template; invited
stores grab them, first come first served, one per store; each coupon lands in the store's
wallet. The realtime pushes are service.py's; this module is the use cases.

A drop moves planned → running → ended, each move one guarded UPDATE, so it happens once
however many hosts and processes try it.

A grab is one transaction, committed before the store is answered:

1. `claimed = claimed + 1` guarded by `status = 'running' AND claimed < quantity`: it never
   passes the quantity, and it takes the drop's row lock, which lines the drop's grabs up
   (and makes them wait for an end in progress, after which they find it ended);
2. the coupon, through coupons' `issue_one_for_live` (the template's own stock, status and
   validity are guarded there: short of stock, it raises and the counter rolls back);
3. the claim row, unique per (drop, store): a concurrent repeat by the same store finds the
   first claim there, rolls its own transaction back and answers with the first coupon.

The database is the only truth; there is no Redis state. A grab that can only fail (a repeat,
a store not invited, a drop not running or already empty) is answered from one read, without
the row lock, so a crowd grabbing an emptied drop does not queue on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from backend.coupons import service as coupons_service
from backend.infra import sql
from backend.kernel.errors import Conflict, NotFound
from backend.livestream import rains
from backend.livestream.models import DropStatus, LiveCouponClaim, LiveCouponDrop, SessionStatus


class DropNotFound(NotFound):
    code = "live.drop_not_found"
    message = "找不到该优惠券活动"


class DropNotPlanned(Conflict):
    code = "live.drop_not_planned"
    message = "抢券已开始或已结束，不能再次开始"


class DropNotRunning(Conflict):
    code = "live.drop_not_running"
    message = "抢券未开始或已结束"


class DropEmpty(Conflict):
    code = "live.drop_empty"
    message = "优惠券已被抢完"


class SessionNotLive(rains.SessionNotLive):
    """The rains' code (live.session_not_live), with a message about coupons."""

    message = "直播未在进行中，不能开始抢券"


class NotInvited(rains.NotInvited):
    """The rains' code (live.not_invited), so clients and handlers treat both alike."""

    message = "您的门店未受邀参加本场直播，不能抢券"


class _AlreadyClaimed(Exception):
    """Rolls back a grab whose claim row was already there (a concurrent repeat)."""


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def drop_view(drop: LiveCouponDrop) -> dict[str, Any]:
    return {
        "id": drop.id,
        "session_id": drop.session_id,  # type: ignore[attr-defined]
        "template_id": drop.template_id,
        "status": drop.status,
        "quantity": drop.quantity,
        "claimed": drop.claimed,
        "left": max(drop.quantity - drop.claimed, 0),
        "started_at": _iso(drop.started_at),
        "ended_at": _iso(drop.ended_at),
    }


async def _drop(session_id: int, drop_id: int) -> LiveCouponDrop:
    drop = await LiveCouponDrop.get_or_none(id=drop_id, session_id=session_id).select_related(
        "session"
    )
    if drop is None:
        raise DropNotFound()
    return drop


async def _claim_of(drop_id: int, store_id: int) -> int | None:
    """The coupon the store took from the drop, if any."""
    row = await sql.fetch_one(
        "SELECT coupon_id FROM live_coupon_claims WHERE drop_id = $1 AND store_id = $2",
        drop_id,
        store_id,
    )
    return None if row is None else int(row["coupon_id"])


def _grabbed(drop_id: int, coupon_id: int, *, again: bool, left: int | None) -> dict[str, Any]:
    return {"ok": True, "drop_id": drop_id, "coupon_id": coupon_id, "again": again, "left": left}


# ---- use cases ------------------------------------------------------------------------------


async def start_drop(deps: Any, session_id: int, drop_id: int, *, now: datetime) -> dict[str, Any]:
    """Open a planned drop of a live session to grabs. A second start is refused
    (DropNotPlanned), as is a start while the session is not live (SessionNotLive).
    `deps` is the process's, for the room pushes callers make and any Redis state later."""
    drop = await _drop(session_id, drop_id)
    if drop.status != DropStatus.PLANNED.value:
        raise DropNotPlanned()
    if drop.session.status != SessionStatus.LIVE.value:
        raise SessionNotLive()
    # Guarded: only a planned drop of a session still live starts; of two starts at once
    # exactly one matches.
    started = await sql.execute(
        "UPDATE live_coupon_drops SET status = $2, started_at = $3"
        " WHERE id = $1 AND status = $4"
        " AND session_id IN (SELECT id FROM live_sessions WHERE id = $5 AND status = $6)",
        drop.id,
        DropStatus.RUNNING.value,
        now,
        DropStatus.PLANNED.value,
        session_id,
        SessionStatus.LIVE.value,
    )
    if not started:  # changed since read: say what changed
        drop = await _drop(session_id, drop_id)
        if drop.status != DropStatus.PLANNED.value:
            raise DropNotPlanned()
        raise SessionNotLive()
    return drop_view(await _drop(session_id, drop_id))


async def grab(
    deps: Any, session_id: int, drop_id: int, store_id: int, *, now: datetime
) -> dict[str, Any]:
    """An invited store grabs a coupon of a running drop: the coupon's id, in its wallet
    before this returns. A repeat returns the first coupon with `again` true and writes
    nothing. Refusals, with nothing written: DropNotFound, NotInvited, DropNotRunning,
    DropEmpty, and coupons' OutOfStock / TemplateEnded when the template itself can give no
    more (its stock may be smaller than the drop)."""
    # One read answers every grab that can only fail, and a repeat (see the docstring).
    row = await sql.fetch_one(
        "SELECT d.status, d.quantity, d.claimed, d.template_id, s.brand_id, c.coupon_id,"
        " EXISTS (SELECT 1 FROM live_invitations i"
        " WHERE i.session_id = d.session_id AND i.store_id = $3) AS invited"
        " FROM live_coupon_drops d JOIN live_sessions s ON s.id = d.session_id"
        " LEFT JOIN live_coupon_claims c ON c.drop_id = d.id AND c.store_id = $3"
        " WHERE d.id = $1 AND d.session_id = $2",
        drop_id,
        session_id,
        store_id,
    )
    if row is None:
        raise DropNotFound()
    if row["coupon_id"] is not None:  # a repeat is answered even after the drop ended
        return _grabbed(drop_id, int(row["coupon_id"]), again=True, left=None)
    if not row["invited"]:  # SQLite gives 0/1
        raise NotInvited()
    if row["status"] != DropStatus.RUNNING.value:
        raise DropNotRunning()
    if row["claimed"] >= row["quantity"]:
        raise DropEmpty()
    try:
        async with in_transaction():
            counted = await sql.fetch_one(
                "UPDATE live_coupon_drops SET claimed = claimed + 1"
                " WHERE id = $1 AND status = $2 AND claimed < quantity"
                " RETURNING claimed, quantity",
                drop_id,
                DropStatus.RUNNING.value,
            )
            if counted is None:  # the drop moved while this grab waited for its lock
                if (first := await _claim_of(drop_id, store_id)) is not None:
                    return _grabbed(drop_id, first, again=True, left=None)
                status = await LiveCouponDrop.filter(id=drop_id).values_list("status", flat=True)
                if status == [DropStatus.RUNNING.value]:
                    raise DropEmpty()
                raise DropNotRunning()
            coupon_id = await coupons_service.issue_one_for_live(
                int(row["template_id"]), store_id, brand_id=int(row["brand_id"]), now=now
            )
            claim = await sql.fetch_one(
                "INSERT INTO live_coupon_claims (drop_id, store_id, coupon_id, created_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (drop_id, store_id) DO NOTHING RETURNING id",
                drop_id,
                store_id,
                coupon_id,
                now,
            )
            if claim is None:
                raise _AlreadyClaimed()  # undo the counter and the coupon: one per store
    except _AlreadyClaimed:
        first = await _claim_of(drop_id, store_id)
        assert first is not None  # the conflicting row is committed: it is what conflicted
        return _grabbed(drop_id, first, again=True, left=None)
    left = int(counted["quantity"]) - int(counted["claimed"])
    return _grabbed(drop_id, coupon_id, again=False, left=left)


async def end_drop(deps: Any, session_id: int, drop_id: int, *, now: datetime) -> dict[str, Any]:
    """Close a running drop: no grab succeeds after this. Ending an ended drop changes
    nothing and gives the same answer; a planned one is refused (DropNotRunning)."""
    drop = await _drop(session_id, drop_id)
    if drop.status == DropStatus.PLANNED.value:
        raise DropNotRunning("抢券尚未开始")
    if drop.status == DropStatus.RUNNING.value:
        # Guarded, so that of concurrent ends one stamps ended_at; it waits for the grabs
        # holding the drop's row lock, and the grabs after it find the drop ended.
        await sql.execute(
            "UPDATE live_coupon_drops SET status = $2, ended_at = $3 WHERE id = $1 AND status = $4",
            drop.id,
            DropStatus.ENDED.value,
            now,
            DropStatus.RUNNING.value,
        )
        drop = await _drop(session_id, drop_id)
    return drop_view(drop)


async def end_session_drops(session_id: int, *, now: datetime) -> int:
    """End every running drop of a session (for the session's end); how many this ended."""
    return await sql.execute(
        "UPDATE live_coupon_drops SET status = $2, ended_at = $3"
        " WHERE session_id = $1 AND status = $4",
        session_id,
        DropStatus.ENDED.value,
        now,
        DropStatus.RUNNING.value,
    )


async def drop_state(drop_id: int, store_id: int | None) -> dict[str, Any]:
    """Where a drop stands, for a client (re)connecting: status, quantity, claimed, left, and
    the store's coupon from it (`mine`, None if it has none or no store is asking)."""
    drop = await LiveCouponDrop.get_or_none(id=drop_id)
    if drop is None:
        raise DropNotFound()
    mine = None
    if store_id is not None:
        mine = _mine(await LiveCouponClaim.get_or_none(drop_id=drop_id, store_id=store_id))
    return {**drop_view(drop), "mine": mine}


async def running_drops(session_id: int, store_id: int | None) -> list[dict[str, Any]]:
    """The session's drops open now (usually one), each with what is left and the store's
    coupon from it (`mine`), for a client (re)joining the room: two reads however many."""
    running = await LiveCouponDrop.filter(
        session_id=session_id, status=DropStatus.RUNNING.value
    ).order_by("id")
    mine: dict[int, dict[str, Any] | None] = {}
    if running and store_id is not None:
        mine = await claims_of([drop.id for drop in running], store_id)
    return [{**drop_view(drop), "mine": mine.get(drop.id)} for drop in running]


async def claims_of(drop_ids: list[int], store_id: int) -> dict[int, dict[str, Any] | None]:
    """The store's coupon from each of the drops it took one from (as `mine`), by drop."""
    claims = await LiveCouponClaim.filter(drop_id__in=drop_ids, store_id=store_id)
    return {claim.drop_id: _mine(claim) for claim in claims}  # type: ignore[attr-defined]


def _mine(claim: LiveCouponClaim | None) -> dict[str, Any] | None:
    return (
        None
        if claim is None
        else {"coupon_id": claim.coupon_id, "created_at": _iso(claim.created_at)}
    )
