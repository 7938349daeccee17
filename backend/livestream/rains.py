"""Red-packet rains (红包雨): the money core, without the realtime pushes.

A rain moves planned → running → ended, each move one guarded UPDATE, so it happens once
however many hosts, processes and jobs try it.

- **Start** splits the total (`red_packet.split` with an unpredictable random source) and
  keeps the split on the rain's row (`packets`, packet k worth packets[k] fen), funds the rain
  from the distributor (−total, RAIN_FUNDED) in the transaction that moves it to running, then
  loads its Redis state: the packets not granted yet, the invited stores, a "running" key that
  lapses at `ends_at`. The load is one Lua script guarded by SET NX, so it happens once per
  rain; if the process dies between the commit and the load, the next grab (or `rain_state`)
  finds a running rain with no state and loads it then.
- **Grab** is one Lua script that decides atomically (a repeat returns the first packet; not
  running; not invited; none left; else pop a packet and record store → packet), then the
  win is persisted before anyone is told: the grant row (naming its packet) and the store's
  ledger credit (RED_PACKET) in one transaction, each at most once.
- **End** stops grabs in Redis first, then persists every win Redis holds that the database
  lacks (a process killed between the script and the persist loses nothing), then, on the
  rain's row lock, sums the grants into the rain's counters, moves it to ended and returns
  what no store won to the distributor (RAIN_RETURNED).

Why the grabs never write the rain's row: a counter there would make every win wait for the
one before it (the row lock held through the grant and the ledger writes), which held a
rain to about 200 wins a second. Instead the grants' unique keys keep the money exact: one
grant per store, and one per packet, whose amounts were fixed at the start, so the grants
can never add up to more than the total, even if Redis loses a running rain and loads it
again from the database. A grant is written only while the rain is running, under a share
lock of the rain's row on PostgreSQL (grants do not wait for each other), and the end takes
that row's lock before it sums: no grant can land after the end has counted.

Redis keys (the `{id}` braces are literal: a Redis Cluster hash tag, so the scripts' keys
share a slot): `live:rain:{id}:loaded` (the brand id once loaded, "0" once closed unloaded),
`:running` (ends_at in ms; expires then), `:packets` (list of "packet:fen"), `:invited` (set
of store ids), `:won` (hash store id → "packet:fen").
"""

from __future__ import annotations

import asyncio
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
    `not_invited` or `empty`; for the first two the packet (its index and amount) and the
    rain's brand."""

    outcome: str
    packet: int = -1
    amount_fen: int = 0
    brand_id: int = 0


def _packet(entry: Any) -> tuple[int, int]:
    """A Redis packet entry, "index:fen", as (index, fen)."""
    index, fen = _text(entry).split(":")
    return int(index), int(fen)


async def claim_packet(deps: Deps, rain_id: int, store_id: int, *, now: datetime) -> Claim:
    """The Redis half of a grab (the grab script), without persisting the win."""
    reply = await _run(deps, _GRAB, rain_keys(rain_id), [store_id, _ms(now)])
    outcome = _text(reply[0])
    if outcome in ("won", "again"):
        packet, amount = _packet(reply[1])
        return Claim(outcome, packet, amount, int(_text(reply[2])))
    return Claim(outcome)


async def _load(deps: Deps, rain: RedPacketRain, *, now: datetime) -> None:
    """Load a running rain's state into Redis, once (the script's SET NX): the packets of
    its split that no grant took yet, and the wins already persisted (so that a reload after
    Redis lost the state answers those stores with their packets)."""
    grants = await RedPacketGrant.filter(rain_id=rain.id).values_list(
        "store_id", "slot", "amount_fen"
    )
    taken = {slot for _, slot, _ in grants}
    packets = [
        f"{index}:{fen}" for index, fen in enumerate(rain.packets or []) if index not in taken
    ]
    stores = await LiveInvitation.filter(session_id=rain.session.id).values_list(
        "store_id", flat=True
    )
    brand_id, _ = _owners(rain)
    assert rain.ends_at is not None  # set with the move to running
    args: list[Any] = [brand_id, _ms(rain.ends_at), _ms(rain.ends_at) - _ms(now)]
    args += [len(packets), *packets, len(stores), *stores, len(grants)]
    for store_id, slot, amount in grants:
        args += [store_id, f"{slot}:{amount}"]
    await _run(deps, _LOAD, rain_keys(rain.id), args)


# ---- the database ---------------------------------------------------------------------------


def _owners(rain: RedPacketRain) -> tuple[int, int]:
    """The brand and the distributor of a rain's session (loaded with the rain)."""
    session = rain.session
    return session.brand_id, session.distributor_id  # type: ignore[attr-defined]


async def _rain_with_session(rain_id: int) -> RedPacketRain:
    rain = await RedPacketRain.get_or_none(id=rain_id).select_related("session")
    if rain is None:
        raise RainNotFound()
    return rain


# Each rain's session, by rain id: a fact that never changes, asked on every grab. The first
# grabs of a rain come all at once, so they share one lookup rather than each sending its own.
_SESSION_OF_RAIN: dict[int, int] = {}
_SESSION_LOOKUPS: dict[int, asyncio.Future[int | None]] = {}
_SESSION_OF_RAIN_SIZE = 4096


async def _read_session_of(rain_id: int) -> int | None:
    row = await sql.fetch_one("SELECT session_id FROM red_packet_rains WHERE id = $1", rain_id)
    return None if row is None else int(row["session_id"])


async def session_of(rain_id: int, *, fresh: bool = False) -> int | None:
    """The live session a rain belongs to (None if there is no such rain); cached, unless
    `fresh` (read again, e.g. before refusing on what the cache said)."""
    if not fresh and (session_id := _SESSION_OF_RAIN.get(rain_id)) is not None:
        return session_id
    lookup = _SESSION_LOOKUPS.get(rain_id)
    if lookup is None:
        lookup = _SESSION_LOOKUPS[rain_id] = asyncio.ensure_future(_read_session_of(rain_id))
        lookup.add_done_callback(lambda _: _SESSION_LOOKUPS.pop(rain_id, None))
    session_id = await asyncio.shield(lookup)
    if session_id is not None:  # an id not found now may be a rain created later
        if len(_SESSION_OF_RAIN) >= _SESSION_OF_RAIN_SIZE:
            _SESSION_OF_RAIN.clear()  # rains are short-lived: forgetting them all is fine
        _SESSION_OF_RAIN[rain_id] = session_id
    return session_id


async def _grant_of(rain_id: int, store_id: int) -> int | None:
    row = await sql.fetch_one(
        "SELECT amount_fen FROM red_packet_grants WHERE rain_id = $1 AND store_id = $2",
        rain_id,
        store_id,
    )
    return None if row is None else int(row["amount_fen"])


_INSERT_GRANT = (
    "INSERT INTO red_packet_grants (rain_id, store_id, slot, amount_fen, created_at)"
    " SELECT id, $2, $3, $4, $5 FROM red_packet_rains WHERE id = $1 AND status = $6{lock}"
    " ON CONFLICT DO NOTHING RETURNING id"
)


async def _persist_win(
    rain_id: int, store_id: int, claim: Claim, *, brand_id: int, now: datetime
) -> bool:
    """Write a win Redis recorded: the grant and the store's credit, in one transaction.
    True if written now, False if it was already; raises the refusal if it cannot be paid.

    The grant goes in only while the rain is running, with a share lock on the rain's row
    (PostgreSQL; SQLite runs one transaction at a time): grants do not wait for each other,
    and the end, which locks that row before it sums the grants, waits for them."""
    lock = " FOR SHARE" if sql.is_postgres() else ""
    async with in_transaction():
        grant = await sql.fetch_one(
            _INSERT_GRANT.format(lock=lock),
            rain_id,
            store_id,
            claim.packet,
            claim.amount_fen,
            now,
            RainStatus.RUNNING.value,
        )
        if grant is None:
            if await _grant_of(rain_id, store_id) is not None:
                return False  # persisted by the first grab or by the end's reconciliation
            status = await RedPacketRain.filter(id=rain_id).values_list("status", flat=True)
            if status == [RainStatus.RUNNING.value]:
                # The packet went to another store: only after Redis lost the rain and
                # loaded it again while this win was in flight. Nobody was told of it.
                raise RainEmpty()
            raise RainNotRunning()
        await ledger_service.post(
            brand_id=brand_id,
            store_id=store_id,
            kind=AccountKind.CASH,
            amount=claim.amount_fen,
            cause=EntryCause.RED_PACKET,
            cause_id=int(grant["id"]),
            order_id=ledger_service.NO_ORDER,
            now=now,
        )
    return True


async def _granted(rain_id: int) -> tuple[int, int]:
    """The packets granted so far: (how many, fen)."""
    row = await sql.fetch_one(
        "SELECT COUNT(*) AS n, COALESCE(SUM(amount_fen), 0) AS fen"
        " FROM red_packet_grants WHERE rain_id = $1",
        rain_id,
    )
    assert row is not None  # an aggregate always has its row
    return int(row["n"]), int(row["fen"])


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
        packets = split(rain.total_fen, rain.count, random.SystemRandom())
        await RedPacketRain.filter(id=rain.id).update(packets=packets)
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
    await _persist_win(rain_id, store_id, claim, brand_id=brand_id, now=now)
    return {"ok": True, "rain_id": rain_id, "amount_fen": claim.amount_fen, "again": again}


async def _close(deps: Deps, rain: RedPacketRain, *, now: datetime) -> bool:
    """Stop a running rain's grabs, persist every win Redis holds, then end it: the counters
    summed from the grants, the rest back to the distributor. True if this call ended it."""
    rain_id = rain.id
    # Grabs stop first, so the wins read here are all there will ever be.
    reply = await _run(deps, _CLOSE, rain_keys(rain_id), [])
    won = {int(_text(k)): _packet(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}
    persisted = set(await RedPacketGrant.filter(rain_id=rain_id).values_list("store_id", flat=True))
    brand_id, distributor_id = _owners(rain)
    for store_id in sorted(won.keys() - persisted):
        packet, amount = won[store_id]
        claim = Claim("won", packet, amount, brand_id)
        try:
            await _persist_win(rain_id, store_id, claim, brand_id=brand_id, now=now)
        except (RainEmpty, RainNotRunning):
            # Only after Redis lost a running rain and loaded it again (the packet went to
            # another store), or another process ended it meanwhile. Say so; the rest ends.
            log.error(
                "red-packet win not paid",
                extra={"rain_id": rain_id, "store_id": store_id, "fen": amount},
            )
    async with in_transaction():
        # The row's lock waits for grants in flight (they hold its share lock) and keeps
        # new ones out until the rain is ended; the sum below then counts every grant.
        locked = await sql.execute(
            "UPDATE red_packet_rains SET status = status WHERE id = $1 AND status = $2",
            rain_id,
            RainStatus.RUNNING.value,
        )
        if not locked:
            return False  # another process ended it meanwhile: once only
        count, fen = await _granted(rain_id)
        await sql.execute(
            "UPDATE red_packet_rains SET status = $2, ended_at = $3, granted_count = $4,"
            " granted_fen = $5, returned_fen = total_fen - $5 WHERE id = $1",
            rain_id,
            RainStatus.ENDED.value,
            now,
            count,
            fen,
        )
        await ledger_service.post_to_party(
            PartyKind.DISTRIBUTOR,
            distributor_id,
            brand_id=brand_id,
            kind=AccountKind.CASH,
            amount=rain.total_fen - fen,
            cause=EntryCause.RAIN_RETURNED,
            cause_id=rain_id,
            order_id=ledger_service.NO_ORDER,
            now=now,
        )
    return True


async def _end(deps: Deps, rain_id: int, *, now: datetime) -> tuple[dict[str, Any], bool]:
    """end_rain, and whether this call was the one that ended it."""
    rain = await _rain_with_session(rain_id)
    if rain.status == RainStatus.PLANNED.value:
        raise RainNotRunning("红包雨尚未开始")
    ended_now = False
    if rain.status == RainStatus.RUNNING.value:
        ended_now = await _close(deps, rain, now=now)
        try:
            for key in rain_keys(rain_id):
                await deps.redis.expire(key, ENDED_STATE_SECONDS)
        except RedisError:
            log.warning("red-packet rain state kept", extra={"rain_id": rain_id}, exc_info=True)
    return await ended_view(rain_id), ended_now


async def ended_view(rain_id: int) -> dict[str, Any]:
    """An ended rain as the room is told of it: its counters and every packet won."""
    return {**_rain_view(await _rain_with_session(rain_id)), "results": await results(rain_id)}


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
        # The row's counters are summed at the end; while it runs, count the grants.
        view["granted_count"], view["granted_fen"] = await _granted(rain_id)
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
