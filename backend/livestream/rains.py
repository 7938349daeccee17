"""Red-packet rains (红包雨): the money core, without the realtime pushes.

A rain moves planned → running → ended, each move one guarded UPDATE, so it happens once
however many hosts, processes and jobs try it.

- **Start** funds the rain from the distributor (−total, RAIN_FUNDED) in the transaction
  that moves it to running, then loads its Redis state: the packets (`red_packet.split`
  with an unpredictable random source), the invited stores, a "running" key that lapses at
  `ends_at`. The load is one Lua script guarded by SET NX, so it happens once per rain; if
  the process dies between the commit and the load, the next grab (or `rain_state`) finds a
  running rain with no state and loads it then.
- **Grab** is one Lua script that decides atomically (a repeat returns the first packet; not
  running; not invited; none left; else pop a packet and record store → amount), then the win
  is persisted before anyone is told: the grant row, the store's ledger credit (RED_PACKET)
  and the rain's counters in one transaction, each at most once.
- **End** stops grabs in Redis first, then in one transaction persists every win Redis holds
  that the database lacks (a process killed between the script and the persist loses
  nothing), moves the rain to ended and returns what no store won to the distributor
  (RAIN_RETURNED).

Every transaction that touches a rain updates the rain's row first, so the grabs, the
reconciliation and the end line up on that row lock: the counters' guard (never more than
the total, never more packets than the count, only while running) is exact, and no two of
them wait on each other's locks in opposite orders.

Redis keys (the `{id}` braces are literal: a Redis Cluster hash tag, so the scripts' keys
share a slot): `live:rain:{id}:loaded` (the brand id once loaded, "0" once closed unloaded),
`:running` (ends_at in ms; expires then), `:packets` (list of fen), `:invited` (set of store
ids), `:won` (hash store id → fen).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from tortoise.transactions import in_transaction

from backend.deps import Deps
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.kernel.errors import Conflict, Forbidden, NotFound
from backend.ledger import service as ledger_service
from backend.ledger.service import AccountKind, EntryCause, PartyKind
from backend.livestream.models import (
    LiveInvitation,
    RainStatus,
    RedPacketGrant,
    RedPacketRain,
    SessionStatus,
)
from backend.livestream.red_packet import split

log = get_logger("livestream.rains")

# After a rain ends its Redis state stays this long, so late repeat grabs still answer from
# Redis; after that they answer from the database.
ENDED_STATE_SECONDS = 3600


class RainNotFound(NotFound):
    code = "live.rain_not_found"
    message = "找不到该红包雨"


class RainNotPlanned(Conflict):
    code = "live.rain_not_planned"
    message = "红包雨已开始或已结束，不能再次开始"


class SessionNotLive(Conflict):
    code = "live.session_not_live"
    message = "直播未在进行中，不能开始红包雨"


class RainNotRunning(Conflict):
    code = "live.rain_not_running"
    message = "红包雨未开始或已结束"


class NotInvited(Forbidden):
    code = "live.not_invited"
    message = "您的门店未受邀参加本场直播"


class RainEmpty(Conflict):
    code = "live.rain_empty"
    message = "红包已被抢完"


# ---- Redis ----------------------------------------------------------------------------------

_KEY_NAMES = ("loaded", "running", "packets", "invited", "won")

# KEYS: loaded, running, packets, invited, won.
# ARGV: brand id, ends_at ms, ttl ms, n, n packets, m, m store ids, w, w (store id, fen) pairs.
# SET NX first: whoever loads second (a retry, a racing grab) changes nothing.
_LOAD = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
local function put(command, key, first, last)
  for at = first, last, 1000 do
    redis.call(command, key, unpack(ARGV, at, math.min(at + 999, last)))
  end
end
local at = 4
local n = tonumber(ARGV[at])
put('RPUSH', KEYS[3], at + 1, at + n)
at = at + n + 1
n = tonumber(ARGV[at])
put('SADD', KEYS[4], at + 1, at + n)
at = at + n + 1
n = tonumber(ARGV[at])
put('HSET', KEYS[5], at + 1, at + 2 * n)
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
return 1
"""

# KEYS: loaded, running, packets, invited, won. ARGV: store id, now ms.
# The whole decision of a grab, atomically: a repeat comes before every refusal, so a store
# that won is always told its packet again, even after the rain ended.
_GRAB = """
local brand = redis.call('GET', KEYS[1])
local prior = redis.call('HGET', KEYS[5], ARGV[1])
if prior then return {'again', prior, brand or '0'} end
if not brand then return {'unloaded'} end
local ends = redis.call('GET', KEYS[2])
if not ends or tonumber(ARGV[2]) >= tonumber(ends) then return {'not_running'} end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 0 then return {'not_invited'} end
local amount = redis.call('LPOP', KEYS[3])
if not amount then return {'empty'} end
redis.call('HSET', KEYS[5], ARGV[1], amount)
return {'won', amount, brand}
"""

# KEYS: loaded, running, packets, invited, won. No grab wins after this; a rain never loaded
# is marked so that nobody loads it later; the wins so far come back for reconciliation.
_CLOSE = """
redis.call('SET', KEYS[1], '0', 'NX')
redis.call('DEL', KEYS[2])
return redis.call('HGETALL', KEYS[5])
"""


def rain_keys(rain_id: int) -> list[str]:
    """The rain's Redis keys, in the order the scripts take them."""
    return [f"live:rain:{{{rain_id}}}:{name}" for name in _KEY_NAMES]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def _run(deps: Deps, script: str, keys: list[str], args: list[Any]) -> Any:
    # register_script hashes the text and sends EVALSHA, loading the script on NOSCRIPT.
    return await deps.redis.register_script(script)(keys=keys, args=args)


@dataclass(frozen=True)
class Claim:
    """What the grab script decided: `won`, `again`, `unloaded`, `not_running`,
    `not_invited` or `empty`; the packet and the rain's brand for the first two."""

    outcome: str
    amount_fen: int = 0
    brand_id: int = 0


async def claim_packet(deps: Deps, rain_id: int, store_id: int, *, now: datetime) -> Claim:
    """The Redis half of a grab (the grab script), without persisting the win."""
    reply = [
        _text(part) for part in await _run(deps, _GRAB, rain_keys(rain_id), [store_id, _ms(now)])
    ]
    if reply[0] in ("won", "again"):
        return Claim(reply[0], int(reply[1]), int(reply[2]))
    return Claim(reply[0])


async def _load(deps: Deps, rain: RedPacketRain, *, now: datetime) -> None:
    """Load a running rain's state into Redis, once (the script's SET NX).

    The packets are what the database has not granted yet, split afresh: on the first load
    that is the whole rain; on a reload (Redis lost the state) the wins already persisted
    are recorded as won and only the rest is shared, so the total stays exact."""
    grants = await RedPacketGrant.filter(rain_id=rain.id).values_list("store_id", "amount_fen")
    left_fen = rain.total_fen - sum(int(amount) for _, amount in grants)
    # At most a fen a packet: only a reload after a pathological loss could leave less.
    left_count = min(rain.count - len(grants), left_fen)
    packets = split(left_fen, left_count, random.SystemRandom()) if left_count > 0 else []
    stores = await LiveInvitation.filter(session_id=rain.session.id).values_list(
        "store_id", flat=True
    )
    brand_id, _ = _owners(rain)
    assert rain.ends_at is not None  # set with the move to running
    args: list[Any] = [brand_id, _ms(rain.ends_at), _ms(rain.ends_at) - _ms(now)]
    args += [len(packets), *packets, len(stores), *stores, len(grants)]
    for store_id, amount in grants:
        args += [store_id, amount]
    await _run(deps, _LOAD, rain_keys(rain.id), args)


# ---- the database ---------------------------------------------------------------------------


class _AlreadyPersisted(Exception):
    """Rolls back a persist whose grant row was already there (nothing to do twice)."""


def _owners(rain: RedPacketRain) -> tuple[int, int]:
    """The brand and the distributor of a rain's session (loaded with the rain)."""
    session = rain.session
    return session.brand_id, session.distributor_id  # type: ignore[attr-defined]


async def _rain_with_session(rain_id: int) -> RedPacketRain:
    rain = await RedPacketRain.get_or_none(id=rain_id).select_related("session")
    if rain is None:
        raise RainNotFound()
    return rain


async def _grant_of(rain_id: int, store_id: int) -> int | None:
    row = await sql.fetch_one(
        "SELECT amount_fen FROM red_packet_grants WHERE rain_id = $1 AND store_id = $2",
        rain_id,
        store_id,
    )
    return None if row is None else int(row["amount_fen"])


async def _persist_win(
    rain_id: int, store_id: int, amount_fen: int, *, brand_id: int, now: datetime
) -> bool:
    """Write a win Redis recorded: the rain's counters, the grant, the store's credit, in one
    transaction (a savepoint inside end_rain's). True if written now, False if it was
    already; raises the refusal if the rain can no longer pay it.

    The counters move first and guarded: that takes the rain's row lock (see the module's
    docstring) and refuses a win that would pass the total or the count, or come after the
    end, before anything else is written."""
    try:
        async with in_transaction():
            counted = await sql.execute(
                "UPDATE red_packet_rains SET granted_fen = granted_fen + $2,"
                " granted_count = granted_count + 1"
                " WHERE id = $1 AND status = $3 AND granted_fen + $2 <= total_fen"
                ' AND granted_count < "count"',
                rain_id,
                amount_fen,
                RainStatus.RUNNING.value,
            )
            if not counted:
                if await _grant_of(rain_id, store_id) is not None:
                    return False  # persisted by the first grab or by the end's reconciliation
                status = await RedPacketRain.filter(id=rain_id).values_list("status", flat=True)
                if status == [RainStatus.RUNNING.value]:
                    raise RainEmpty()
                raise RainNotRunning()
            grant = await sql.fetch_one(
                "INSERT INTO red_packet_grants (rain_id, store_id, amount_fen, created_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (rain_id, store_id) DO NOTHING RETURNING id",
                rain_id,
                store_id,
                amount_fen,
                now,
            )
            if grant is None:
                raise _AlreadyPersisted()  # undo the counters: this win counts once
            await ledger_service.post(
                brand_id=brand_id,
                store_id=store_id,
                kind=AccountKind.CASH,
                amount=amount_fen,
                cause=EntryCause.RED_PACKET,
                cause_id=int(grant["id"]),
                order_id=ledger_service.NO_ORDER,
                now=now,
            )
    except _AlreadyPersisted:
        return False
    return True


async def results(rain_id: int) -> list[dict[str, int]]:
    """Every packet won, largest first (the same order for everyone)."""
    grants = await RedPacketGrant.filter(rain_id=rain_id).order_by("-amount_fen", "id")
    return [
        {"store_id": g.store_id, "amount_fen": g.amount_fen}  # type: ignore[attr-defined]
        for g in grants
    ]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _rain_view(rain: RedPacketRain) -> dict[str, Any]:
    return {
        "id": rain.id,
        "session_id": rain.session.id,
        "status": rain.status,
        "total_fen": rain.total_fen,
        "count": rain.count,
        "duration_seconds": rain.duration_seconds,
        "started_at": _iso(rain.started_at),
        "ends_at": _iso(rain.ends_at),
        "ended_at": _iso(rain.ended_at),
        "granted_fen": rain.granted_fen,
        "granted_count": rain.granted_count,
        "returned_fen": rain.returned_fen,
    }


# ---- use cases ------------------------------------------------------------------------------


async def start_rain(deps: Deps, rain_id: int, *, now: datetime) -> dict[str, Any]:
    """Start a planned rain of a live session: funded by the distributor, then open to grabs
    until `now + duration_seconds`. A second start is refused (RainNotPlanned)."""
    rain = await _rain_with_session(rain_id)
    session = rain.session
    brand_id, distributor_id = _owners(rain)
    if rain.status != RainStatus.PLANNED.value:
        raise RainNotPlanned()
    if session.status != SessionStatus.LIVE.value:
        raise SessionNotLive()
    ends_at = now + timedelta(seconds=rain.duration_seconds)
    async with in_transaction():
        # Guarded: only a planned rain, as read (same total, count and duration), of a live
        # session starts; of two starts at once exactly one matches.
        started = await sql.execute(
            "UPDATE red_packet_rains SET status = $2, started_at = $3, ends_at = $4"
            ' WHERE id = $1 AND status = $5 AND total_fen = $6 AND "count" = $7'
            " AND duration_seconds = $8"
            " AND session_id IN (SELECT id FROM live_sessions WHERE id = $9 AND status = $10)",
            rain.id,
            RainStatus.RUNNING.value,
            now,
            ends_at,
            RainStatus.PLANNED.value,
            rain.total_fen,
            rain.count,
            rain.duration_seconds,
            session.id,
            SessionStatus.LIVE.value,
        )
        if not started:  # changed since read: say what changed
            now_rain = await _rain_with_session(rain.id)
            if now_rain.status != RainStatus.PLANNED.value:
                raise RainNotPlanned()
            if now_rain.session.status != SessionStatus.LIVE.value:
                raise SessionNotLive()
            raise RainNotPlanned("红包雨设置已变化，请刷新后重试")
        await ledger_service.post_to_party(
            PartyKind.DISTRIBUTOR,
            distributor_id,
            brand_id=brand_id,
            kind=AccountKind.CASH,
            amount=-rain.total_fen,
            cause=EntryCause.RAIN_FUNDED,
            cause_id=rain.id,
            order_id=ledger_service.NO_ORDER,
            now=now,
        )
    rain = await _rain_with_session(rain_id)
    try:
        await _load(deps, rain, now=now)
    except RedisError:
        # Started and funded all the same: the first grab loads the state (see the docstring).
        log.warning("red-packet rain state not loaded", extra={"rain_id": rain_id}, exc_info=True)
    return _rain_view(rain)


async def grab(deps: Deps, rain_id: int, store_id: int, *, now: datetime) -> dict[str, Any]:
    """A store grabs a packet: its amount, persisted (grant and ledger credit) before this
    returns. A repeat returns the first packet with `again` true and writes nothing new.
    Refusals (nothing changed): RainNotFound, RainNotRunning, NotInvited, RainEmpty."""
    claim = await claim_packet(deps, rain_id, store_id, now=now)
    if claim.outcome == "unloaded":
        rain = await _rain_with_session(rain_id)
        if rain.status == RainStatus.RUNNING.value:
            await _load(deps, rain, now=now)
            claim = await claim_packet(deps, rain_id, store_id, now=now)
        elif (amount := await _grant_of(rain_id, store_id)) is not None:
            # Ended long ago (its Redis state is gone): the database still knows the packet.
            return {"ok": True, "rain_id": rain_id, "amount_fen": amount, "again": True}
    if claim.outcome == "not_invited":
        raise NotInvited()
    if claim.outcome == "empty":
        raise RainEmpty()
    if claim.outcome not in ("won", "again"):
        raise RainNotRunning()
    again = claim.outcome == "again"
    if again and await _grant_of(rain_id, store_id) is not None:
        return {"ok": True, "rain_id": rain_id, "amount_fen": claim.amount_fen, "again": True}
    brand_id = claim.brand_id
    if not brand_id:
        brand_id, _ = _owners(await _rain_with_session(rain_id))
    # A repeat whose first grab died before persisting persists here (at most once).
    await _persist_win(rain_id, store_id, claim.amount_fen, brand_id=brand_id, now=now)
    return {"ok": True, "rain_id": rain_id, "amount_fen": claim.amount_fen, "again": again}


async def _end(deps: Deps, rain_id: int, *, now: datetime) -> tuple[dict[str, Any], bool]:
    """end_rain, and whether this call was the one that ended it."""
    rain = await _rain_with_session(rain_id)
    if rain.status == RainStatus.PLANNED.value:
        raise RainNotRunning("红包雨尚未开始")
    ended_now = False
    if rain.status == RainStatus.RUNNING.value:
        # Grabs stop first, so the wins read here are all there will ever be.
        reply = await _run(deps, _CLOSE, rain_keys(rain_id), [])
        won = {int(_text(k)): int(_text(v)) for k, v in zip(reply[::2], reply[1::2], strict=True)}
        persisted = set(
            await RedPacketGrant.filter(rain_id=rain_id).values_list("store_id", flat=True)
        )
        brand_id, distributor_id = _owners(rain)
        async with in_transaction():
            for store_id in sorted(won.keys() - persisted):
                try:
                    await _persist_win(rain_id, store_id, won[store_id], brand_id=brand_id, now=now)
                except (RainEmpty, RainNotRunning):
                    # Only after Redis lost a running rain's state and it was shared again:
                    # the money is not there to pay this win twice. Say so; the rest ends.
                    log.error(
                        "red-packet win cannot be paid",
                        extra={"rain_id": rain_id, "store_id": store_id, "fen": won[store_id]},
                    )
            ended = await sql.fetch_one(
                "UPDATE red_packet_rains SET status = $2, ended_at = $3,"
                " returned_fen = total_fen - granted_fen"
                " WHERE id = $1 AND status = $4 RETURNING returned_fen",
                rain_id,
                RainStatus.ENDED.value,
                now,
                RainStatus.RUNNING.value,
            )
            if ended is not None:  # another process may have ended it meanwhile: once only
                ended_now = True
                await ledger_service.post_to_party(
                    PartyKind.DISTRIBUTOR,
                    distributor_id,
                    brand_id=brand_id,
                    kind=AccountKind.CASH,
                    amount=int(ended["returned_fen"]),
                    cause=EntryCause.RAIN_RETURNED,
                    cause_id=rain_id,
                    order_id=ledger_service.NO_ORDER,
                    now=now,
                )
        try:
            for key in rain_keys(rain_id):
                await deps.redis.expire(key, ENDED_STATE_SECONDS)
        except RedisError:
            log.warning("red-packet rain state kept", extra={"rain_id": rain_id}, exc_info=True)
        rain = await _rain_with_session(rain_id)
    return {**_rain_view(rain), "results": await results(rain_id)}, ended_now


async def end_rain(deps: Deps, rain_id: int, *, now: datetime) -> dict[str, Any]:
    """End a running rain: every win persisted, the rest back to the distributor, the results
    (store id and amount, largest first) for everyone. Ending an ended rain changes nothing
    and gives the same answer; a planned one is refused (RainNotRunning)."""
    view, _ = await _end(deps, rain_id, now=now)
    return view


async def end_due_rains(deps: Deps) -> int:
    """The periodic job: end every rain running past its end; how many this run ended."""
    now = deps.clock.now()
    due = await RedPacketRain.filter(status=RainStatus.RUNNING.value, ends_at__lte=now).only("id")
    ended = 0
    for rain_id in (rain.id for rain in due):
        try:
            _, ended_now = await _end(deps, rain_id, now=now)
        except Exception:  # one rain failing must not keep the others running
            log.exception("red-packet rain not ended", extra={"rain_id": rain_id})
            continue
        ended += ended_now
    return ended


async def rain_state(deps: Deps, rain_id: int) -> dict[str, Any]:
    """Where a rain stands, for a client (re)connecting: its status, packets left and what
    has been granted; the results once it ended."""
    rain = await _rain_with_session(rain_id)
    view = _rain_view(rain)
    remaining = rain.count - rain.granted_count
    if rain.status == RainStatus.RUNNING.value:
        keys = rain_keys(rain_id)
        if not await deps.redis.exists(keys[0]):
            await _load(deps, rain, now=deps.clock.now())
        remaining = int(await deps.redis.llen(keys[2]))
    elif rain.status == RainStatus.ENDED.value:
        remaining = 0
        view["results"] = await results(rain_id)
    return {**view, "remaining": remaining}


async def my_grant(rain_id: int, store_id: int) -> dict[str, Any] | None:
    """The store's persisted packet in the rain, or None."""
    grant = await RedPacketGrant.get_or_none(rain_id=rain_id, store_id=store_id)
    if grant is None:
        return None
    return {
        "rain_id": rain_id,
        "store_id": store_id,
        "amount_fen": grant.amount_fen,
        "created_at": grant.created_at.isoformat(),
    }
