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
  ledger credit (RED_PACKET) in one transaction, each at most once. A rain's grabs come by
  the thousand at once, so both halves go by group commit (backend/infra/batches.py): the
  grabs of a rain arriving while its script runs share the next script (each decided as on
  its own), and the wins arriving while a transaction runs share the next transaction (on
  PostgreSQL a few statements for the whole batch). A grab then costs the server its share of
  one script and one transaction, not a Redis command and seven statements of its own.
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
from backend.infra.batches import GroupCommit
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

# KEYS: loaded, running, packets, invited, won. The whole decision of one store's grab at
# `now` (ms), atomically: a repeat comes before every refusal, so a store that won is always
# told its packet again, even after the rain ended. The outcome, and for a win or a repeat
# the packet ("index:fen"); `brand`: the rain's, once loaded.
_DECIDE = """
local brand = redis.call('GET', KEYS[1])
local ends = redis.call('GET', KEYS[2])
local function grab(store, now)
  local prior = redis.call('HGET', KEYS[5], store)
  if prior then return 'again', prior end
  if not brand then return 'unloaded' end
  if not ends or tonumber(now) >= tonumber(ends) then return 'not_running' end
  if redis.call('SISMEMBER', KEYS[4], store) == 0 then return 'not_invited' end
  local amount = redis.call('LPOP', KEYS[3])
  if not amount then return 'empty' end
  redis.call('HSET', KEYS[5], store, amount)
  return 'won', amount
end
"""
# ARGV: store id, now ms. One grab (bench/live_rain.py's baseline sends it per grab): the
# outcome, then for a win or a repeat the packet and the brand.
_GRAB = (
    _DECIDE
    + """
local outcome, packet = grab(ARGV[1], ARGV[2])
return {outcome, packet, brand or '0'}
"""
)
# ARGV: (store id, now ms) pairs. The grabs that arrived together, one after the other in one
# script, each decided exactly as on its own: the brand, then a reply per grab in their order
# ("outcome" or "outcome:index:fen"; one string each, cheap to read back).
_GRAB_MANY = (
    _DECIDE
    + """
local replies = {brand or '0'}
for at = 1, #ARGV, 2 do
  local outcome, packet = grab(ARGV[at], ARGV[at + 1])
  replies[#replies + 1] = packet and (outcome .. ':' .. packet) or outcome
end
return replies
"""
)

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


async def _claim_many(rain: tuple[Any, int], grabs: list[tuple[int, int]]) -> list[Claim]:
    redis, rain_id = rain
    args = [value for grab in grabs for value in grab]
    brand, *replies = await redis.register_script(_GRAB_MANY)(keys=rain_keys(rain_id), args=args)
    brand_id = int(_text(brand))
    claims = []
    for reply in replies:
        outcome, _, packet = _text(reply).partition(":")
        if packet:
            index, fen = _packet(packet)
            claims.append(Claim(outcome, index, fen, brand_id))
        else:
            claims.append(Claim(outcome))
    return claims


# The grabs of a rain arriving together go to Redis in one script (at most this many).
_CLAIMS: GroupCommit[tuple[Any, int], tuple[int, int], Claim] = GroupCommit(_claim_many, 500)


async def claim_packet(deps: Deps, rain_id: int, store_id: int, *, now: datetime) -> Claim:
    """The Redis half of a grab (the grab script, with the rain's other grabs arriving at
    the same time), without persisting the win."""
    return await _CLAIMS((deps.redis, rain_id), (store_id, _ms(now)))


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
        _remember_session(rain_id, session_id)
    return session_id


def _remember_session(rain_id: int, session_id: int) -> None:
    if len(_SESSION_OF_RAIN) >= _SESSION_OF_RAIN_SIZE:
        _SESSION_OF_RAIN.clear()  # rains are short-lived: forgetting them all is fine
    _SESSION_OF_RAIN[rain_id] = session_id


async def _grant_of(rain_id: int, store_id: int) -> int | None:
    row = await sql.fetch_one(
        "SELECT amount_fen FROM red_packet_grants WHERE rain_id = $1 AND store_id = $2",
        rain_id,
        store_id,
    )
    return None if row is None else int(row["amount_fen"])


_INSERT_GRANT = (
    "INSERT INTO red_packet_grants (rain_id, store_id, slot, amount_fen, created_at)"
    " SELECT id, $2, $3, $4, $5 FROM red_packet_rains WHERE id = $1 AND status = $6"
    " ON CONFLICT DO NOTHING RETURNING id, store_id"
)
# PostgreSQL: a whole batch of grants in one statement, under a share lock of the rain's row.
# Written in store order: two batches holding the same wins (a grab's and the end's catch-up,
# or two processes') then never wait for each other's unique keys in a cycle.
_INSERT_GRANTS = (
    "INSERT INTO red_packet_grants (rain_id, store_id, slot, amount_fen, created_at)"
    " SELECT r.id, w.store_id, w.slot, w.fen, w.at FROM red_packet_rains AS r,"
    " unnest($2::bigint[], $3::int[], $4::bigint[], $5::timestamptz[])"
    " AS w(store_id, slot, fen, at)"
    " WHERE r.id = $1 AND r.status = $6 ORDER BY w.store_id FOR SHARE OF r"
    " ON CONFLICT DO NOTHING RETURNING id, store_id"
)


@dataclass(frozen=True, slots=True)
class _Win:
    """A win Redis recorded, to persist: the store, its packet, when it was grabbed."""

    store_id: int
    claim: Claim
    at: datetime
    brand_id: int


async def _insert_grants(rain_id: int, wins: list[_Win]) -> dict[int, int]:
    """The grants written now (store id → grant id), only while the rain is running; a
    store or a packet granted already is left out."""
    running = RainStatus.RUNNING.value
    if sql.is_postgres():
        rows = await sql.fetch(
            _INSERT_GRANTS,
            rain_id,
            sql.Array(win.store_id for win in wins),
            sql.Array(win.claim.packet for win in wins),
            sql.Array(win.claim.amount_fen for win in wins),
            sql.Array(win.at for win in wins),
            running,
        )
    else:  # SQLite runs one transaction at a time: no lock to take
        rows = []
        for win in wins:
            claim = win.claim
            row = await sql.fetch_one(
                _INSERT_GRANT,
                rain_id,
                win.store_id,
                claim.packet,
                claim.amount_fen,
                win.at,
                running,
            )
            rows += [row] if row is not None else []
    return {int(row["store_id"]): int(row["id"]) for row in rows}


# Per store of a batch: True if its win was written now, False if it was already, else the
# refusal to raise (a new one for each grab told).
Outcome = bool | type[RainEmpty] | type[RainNotRunning]


async def _persist_wins(rain_id: int, brand_id: int, wins: list[_Win]) -> dict[int, Outcome]:
    """Write wins Redis recorded, each store's once: the grants and the stores' credits, in
    one transaction for the whole batch.

    The grants go in only while the rain is running, with a share lock on the rain's row
    (PostgreSQL; SQLite runs one transaction at a time): batches do not wait for each other,
    and the end, which locks that row before it sums the grants, waits for them."""
    outcomes: dict[int, Outcome] = {}
    async with in_transaction():
        granted = await _insert_grants(rain_id, wins)
        lacking = [win.store_id for win in wins if win.store_id not in granted]
        if lacking:
            rows = await sql.fetch(
                "SELECT store_id FROM red_packet_grants WHERE rain_id = $1 AND store_id IN ($2)",
                rain_id,
                lacking,
            )
            had = {int(row["store_id"]) for row in rows}
            status = await RedPacketRain.filter(id=rain_id).values_list("status", flat=True)
            # Not granted and no grant of its own: its packet went to another store (only
            # after Redis lost the rain and loaded it again while this win was in flight;
            # nobody was told of it), or the rain is no longer running.
            refusal = RainEmpty if status == [RainStatus.RUNNING.value] else RainNotRunning
            outcomes = {store: False if store in had else refusal for store in lacking}
        await ledger_service.credit_stores(
            brand_id=brand_id,
            kind=AccountKind.CASH,
            cause=EntryCause.RED_PACKET,
            credits=[
                ledger_service.Credit(win.store_id, win.claim.amount_fen, grant, win.at)
                for win in wins
                if (grant := granted.get(win.store_id)) is not None
            ],
        )
    return outcomes | dict.fromkeys(granted, True)


# A batch's size at most: one transaction of this many grants and credits.
_BATCH = 1000


async def _pay_many(rain_id: int, wins: list[_Win]) -> list[bool | Exception]:
    # A store twice in a batch (a repeat from a second device): written once.
    once = list({win.store_id: win for win in reversed(wins)}.values())
    outcomes = await _persist_wins(rain_id, wins[0].brand_id, once)
    told = (outcomes[win.store_id] for win in wins)
    return [outcome if isinstance(outcome, bool) else outcome() for outcome in told]


# A rain's wins are persisted before the stores are told, as ever, but the wins that arrive
# while a transaction runs go together in the next one: a burst of thousands of grabs costs
# a few transactions, not thousands, nor a pooled connection each.
_PAYOUTS: GroupCommit[int, _Win, bool] = GroupCommit(_pay_many, _BATCH)


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
    # Its grabs come all at once, right after: in the process that started it (the host's),
    # none of them waits for the lookup.
    _remember_session(rain_id, session.id)
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
    brand_id = claim.brand_id
    if not brand_id:
        brand_id, _ = _owners(await _rain_with_session(rain_id))
    # A repeat persists too: its first grab may have died before persisting (written at most
    # once; a repeat of a persisted win writes nothing).
    await _PAYOUTS(rain_id, _Win(store_id, claim, now, brand_id))
    again = claim.outcome == "again"
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
    lacking = [
        _Win(store_id, Claim("won", *won[store_id], brand_id), now, brand_id)
        for store_id in sorted(won.keys() - persisted)
    ]
    for start in range(0, len(lacking), _BATCH):
        wins = lacking[start : start + _BATCH]
        outcomes = await _persist_wins(rain_id, brand_id, wins)
        for win in wins:
            if not isinstance(outcomes[win.store_id], bool):
                # Only after Redis lost a running rain and loaded it again (the packet went
                # to another store), or another process ended it meanwhile. Say so; the
                # rest ends.
                log.error(
                    "red-packet win not paid",
                    extra={
                        "rain_id": rain_id,
                        "store_id": win.store_id,
                        "fen": win.claim.amount_fen,
                    },
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
