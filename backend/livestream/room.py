"""What happens in a session's room while it is live, kept in Redis so that every realtime
process sees the same room: who is watching (presence owned by live processes), the product
card on screen, the pinned message, likes, the versions of what is pushed to it, chat
(rate-limited, length-limited, content-checked) and who is muted. The realtime server calls
these through the livestream service."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.catalog import service as catalog_service
from backend.identity import service as identity_service
from backend.identity.access import STORE_ROLES, Principal
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.integrations.wechat.client import WechatApiError
from backend.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from backend.livestream.models import LiveSession, SessionStatus

log = get_logger("livestream")
CHAT_MAX_CHARS = 200
CHAT_GAP_SECONDS = 2  # one message per person per this many seconds
LIKES_PER_EVENT = 50  # a client batches taps; more in one event is not a person tapping
ROOM_TTL_SECONDS = 24 * 3600  # room keys outlive any session, then go


def room_name(session_id: int) -> str:
    return f"live:{session_id}"


def _key(session_id: int, what: str) -> str:
    return f"live:s:{session_id}:{what}"


class NotInvited(Forbidden):
    code = "live.not_invited"
    message = "您未受邀参加这场直播"


class NotHost(Forbidden):
    code = "live.not_host"
    message = "只有主播可以这样做"


class NotJoined(Conflict):
    code = "live.not_joined"
    message = "请先进入直播间"


class SessionNotLive(Conflict):
    code = "live.session_not_live"
    message = "直播未在进行中"


class ChatTooLong(InvalidInput):
    code = "live.chat_too_long"
    message = f"消息不能超过 {CHAT_MAX_CHARS} 个字"


class ChatEmpty(InvalidInput):
    code = "live.chat_empty"
    message = "消息不能为空"


class ChatTooFast(RateLimited):
    code = "live.chat_rate_limited"
    message = "发言太快了，请稍后再试"


class ChatMuted(Forbidden):
    code = "live.chat_muted"
    message = "您已被主播禁言"


class ChatRejected(InvalidInput):
    code = "live.chat_rejected"
    message = "消息含有不适宜的内容，未能发送"


class ProductNotInSession(NotFound):
    code = "live.product_not_found"
    message = "该商品不在本场直播中"


# ---- presence: who is in the room, owned by the realtime process holding the connection ----
#
# Each realtime process has an id and a heartbeat key that lives HEARTBEAT_TTL_SECONDS and
# is refreshed every HEARTBEAT_SECONDS while it has connections in rooms. A room keeps:
#   viewers      viewer → how many of its connections are in the room, where a viewer is a
#                sign-in with its store ("<store>:<sign-in>", store 0 for a host): the count
#                is HLEN, so a client that reconnects (its process died) is not counted twice
#   p:<process>  socket id → viewer, the connections one process holds
#   procs        the processes with connections in the room
# Every script first sweeps the processes of the room whose heartbeat is gone, taking their
# connections out (once, atomically): within HEARTBEAT_TTL_SECONDS of a crash the count and
# "present" are right again. A join, a leave or a count costs O(processes in the room), and
# a sweep O(connections of the dead process), once.
HEARTBEAT_SECONDS = 2.0
HEARTBEAT_TTL_SECONDS = 6

_SWEEP = """
local function sweep(viewers, procs, prefix, beats)
  for _, process in ipairs(redis.call('SMEMBERS', procs)) do
    if redis.call('EXISTS', beats .. process) == 0 then
      local held = redis.call('HGETALL', prefix .. process)
      for i = 1, #held, 2 do
        if redis.call('HINCRBY', viewers, held[i + 1], -1) <= 0 then
          redis.call('HDEL', viewers, held[i + 1])
        end
      end
      redis.call('DEL', prefix .. process)
      redis.call('SREM', procs, process)
    end
  end
end
"""
# KEYS: viewers, procs; ARGV: the per-process key prefix, the heartbeat key prefix.
_COUNT = (
    _SWEEP
    + """
sweep(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == 'keys' then return redis.call('HKEYS', KEYS[1]) end
return redis.call('HLEN', KEYS[1])
"""
)
# ... KEYS[3]: the peak, KEYS[4]: the stores that joined, KEYS[5]: the version, KEYS[6], [7]:
# the state and the figures; ARGV[3]: the process, ARGV[4]: the socket id, ARGV[5]: the
# viewer, ARGV[6], ARGV[7]: TTLs, ARGV[8]: the store (0: a host). Returns the viewers now,
# whether the store is in the room for the first time (1/0), the room's version, read with
# the count (a join's state carries both), whether the count is the room's new peak (1/0),
# and the state and figures as read then: all a join reads of the room, in one round trip.
_ENTER = (
    _SWEEP
    + """
redis.call('SET', ARGV[2] .. ARGV[3], 1, 'EX', ARGV[7])
sweep(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
local mine = ARGV[1] .. ARGV[3]
if redis.call('HSETNX', mine, ARGV[4], ARGV[5]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[5], 1)
end
redis.call('SADD', KEYS[2], ARGV[3])
local count = redis.call('HLEN', KEYS[1])
local peaked = 0
if count > tonumber(redis.call('GET', KEYS[3]) or '0') then
  redis.call('SET', KEYS[3], count)
  peaked = 1
end
local first = 0
if ARGV[8] ~= '0' then first = redis.call('SADD', KEYS[4], ARGV[8]) end
for _, key in ipairs({KEYS[1], KEYS[2], mine, KEYS[3], KEYS[4]}) do
  redis.call('EXPIRE', key, ARGV[6])
end
return {
  count, first, redis.call('GET', KEYS[5]) or '0', peaked,
  redis.call('HGETALL', KEYS[6]), redis.call('HGETALL', KEYS[7])
}
"""
)
_LEAVE = (
    _SWEEP
    + """
sweep(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
local mine = ARGV[1] .. ARGV[3]
local viewer = redis.call('HGET', mine, ARGV[4])
if viewer then
  redis.call('HDEL', mine, ARGV[4])
  if redis.call('HINCRBY', KEYS[1], viewer, -1) <= 0 then redis.call('HDEL', KEYS[1], viewer) end
end
return redis.call('HLEN', KEYS[1])
"""
)


def heartbeat_key(process: str) -> str:
    return f"live:proc:{process}"


def _presence(session_id: int) -> tuple[list[str], list[Any]]:
    """The scripts' keys and first arguments for a room."""
    keys = [_key(session_id, "viewers"), _key(session_id, "procs")]
    return keys, [_key(session_id, "p:"), heartbeat_key("")]


async def _script(deps: Any, script: str, keys: list[str], args: list[Any]) -> Any:
    # register_script hashes the text and sends EVALSHA, loading the script on NOSCRIPT.
    return await deps.redis.register_script(script)(keys=keys, args=args)


async def beat(deps: Any, process: str) -> bool:
    """The process is alive: its connections keep counting for HEARTBEAT_TTL_SECONDS. False
    when the heartbeat had lapsed meanwhile (the process was stalled, or Redis away): the
    others may have taken its connections out, and it must count them in again."""
    key = heartbeat_key(process)
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.exists(key)
        pipe.set(key, 1, ex=HEARTBEAT_TTL_SECONDS)
        existed, _ = await pipe.execute()
    return bool(existed)


async def viewers(deps: Any, session_id: int) -> int:
    """The room's viewers now: its sign-ins with a connection in a live process."""
    keys, args = _presence(session_id)
    return int(await _script(deps, _COUNT, keys, [*args, "count"]))


@dataclass(frozen=True, slots=True)
class Entered:
    """A connection counted in: the viewers then, whether its store had never been in the
    room before (its attendance is new), whether the room never had so many viewers before
    (its peak is new), and the room as read with the count (its version, state, figures)."""

    viewers: int
    first_time: bool
    new_peak: bool
    room: RoomRead


async def enter(
    deps: Any,
    session_id: int,
    sid: str,
    store_id: int | None,
    *,
    process: str,
    signin: str | None = None,
) -> Entered:
    """Count a connection in (held by `process`, of the sign-in `signin`, in `store_id`'s
    name or 0 for a host); returns the viewers now and what else the join needs (Entered).
    Without `signin` the connection is a viewer of its own. The room keeps its peak of
    viewers and the stores that ever joined it, so that a join writes to the database only
    what is new (service.join)."""
    keys, args = _presence(session_id)
    keys += [_key(session_id, what) for what in ("peak", "joined", "version", "state", "figures")]
    viewer = f"{store_id or 0}:{signin or 'sid-' + sid}"
    ttls = [ROOM_TTL_SECONDS, HEARTBEAT_TTL_SECONDS]
    reply = await _script(deps, _ENTER, keys, [*args, process, sid, viewer, *ttls, store_id or 0])
    read = _room_read(reply[2], _pairs(reply[4]), _pairs(reply[5]))
    return Entered(int(reply[0]), bool(int(reply[1])), bool(int(reply[3])), read)


def _pairs(flat: list[Any]) -> dict[Any, Any]:
    """A Lua HGETALL's flat list as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


async def peak(deps: Any, session_id: int) -> int:
    """The most viewers the room has had at once (as Redis has counted them)."""
    return int(await deps.redis.get(_key(session_id, "peak")) or 0)


async def joined_store_ids(deps: Any, session_id: int) -> list[int]:
    """The stores that ever joined the room (as Redis has kept them)."""
    members = await deps.redis.smembers(_key(session_id, "joined"))
    return sorted(int(member) for member in members)


async def forget_joined(deps: Any, session_id: int, store_ids: list[int]) -> None:
    """Their attendance could not be written: the next join of each store tries again."""
    await deps.redis.srem(_key(session_id, "joined"), *store_ids)


async def leave(deps: Any, session_id: int, sid: str, *, process: str) -> int:
    keys, args = _presence(session_id)
    return int(await _script(deps, _LEAVE, keys, [*args, process, sid]))


async def present_store_ids(deps: Any, session_id: int) -> list[int]:
    """The stores with at least one connection in the room now, in a live process, sorted."""
    keys, args = _presence(session_id)
    viewers = await _script(deps, _COUNT, keys, [*args, "keys"])
    stores = {
        int(str(viewer.decode() if isinstance(viewer, bytes) else viewer).split(":")[0])
        for viewer in viewers
    }
    return sorted(stores - {0})


# KEYS: viewers, procs, state; ARGV: the per-process key prefix. Everyone out, the card off.
_CLOSE = """
for _, process in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('DEL', ARGV[1] .. process)
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[3], 'card')
return 0
"""


async def close(deps: Any, session_id: int) -> int:
    """The session has ended: nobody is watching it any more and no product is on screen.
    Takes everyone out of the room's presence and the card off it, in one step, and returns
    the version the room is told this with (taken first, as for every push). Connections
    still open stay in the Socket.IO room for the last pushes; their leaving changes nothing,
    and joining an ended session counts nobody in (service.join)."""
    version = await next_version(deps, session_id)
    keys, args = _presence(session_id)
    await _script(deps, _CLOSE, [*keys, _key(session_id, "state")], args[:1])
    return version


async def state(deps: Any, session: LiveSession) -> dict[str, Any]:
    """Everything a client needs on (re)connecting: the status, the card on screen, the
    pinned message and the counters. An ended session has no card and nobody watching,
    whatever a connection left behind (close)."""
    stored = _texts(await deps.redis.hgetall(_key(session.id, "state")))
    ended = session.status == SessionStatus.ENDED.value
    count = 0 if ended else await viewers(deps, session.id)
    return state_of(session.id, session.status, stored, count)


def _texts(stored: dict[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in stored.items()
    }


def state_of(session_id: int, status: str, stored: dict[str, str], count: int) -> dict[str, Any]:
    """room.state from the room's state hash as read (`read_room`) and its viewers."""
    ended = status == SessionStatus.ENDED.value
    return {
        "session_id": session_id,
        "status": status,
        "card": json.loads(stored["card"]) if "card" in stored and not ended else None,
        "pinned": json.loads(stored["pinned"]) if "pinned" in stored else None,
        "viewers": 0 if ended else count,
        "likes": int(stored.get("likes", 0)),
    }


# ---- figures: the counters a join reads, each kept with the version it was read at -------
#
# The orders and their amount (`totals`: "orders,fen"), what is left of a product
# (`left:<product id>`) and how many coupons a drop gave (`claimed:<drop id>`) move with
# every order and grab. Whoever tells the room a new value keeps it here too, with the
# version its push carries; a join reads them here, or from the database (then keeps them)
# when they are missing. A field keeps the value of the greatest version, as a client does.
FIGURES_SECONDS = 60  # a value whose writer died before keeping it is not read longer

_FIGURES = """
for i = 2, #ARGV, 3 do
  local kept = redis.call('HGET', KEYS[1], ARGV[i])
  if not kept or tonumber(string.match(kept, '^(%d+):')) <= tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ':' .. ARGV[i + 2])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 0
"""


async def keep_figures(deps: Any, session_id: int, version: int, figures: dict[str, Any]) -> None:
    """Keep figures read after `version` was taken (or read): each replaces a value kept
    with a version no greater."""
    args: list[Any] = [FIGURES_SECONDS]
    for name, value in figures.items():
        args += [name, version, value]
    await _script(deps, _FIGURES, [_key(session_id, "figures")], args)


@dataclass(frozen=True, slots=True)
class RoomRead:
    """The room as read in one round trip: its version (read first), its state hash and
    its figures (name → (version, value))."""

    version: int
    stored: dict[str, str]
    figures: dict[str, tuple[int, str]]


async def read_room(deps: Any, session_id: int) -> RoomRead:
    async with deps.redis.pipeline(transaction=False) as pipe:
        pipe.get(_key(session_id, "version"))
        pipe.hgetall(_key(session_id, "state"))
        pipe.hgetall(_key(session_id, "figures"))
        version, stored, figures = await pipe.execute()
    return _room_read(version, stored, figures)


def _room_read(version: Any, stored: dict[Any, Any], figures: dict[Any, Any]) -> RoomRead:
    kept = {}
    for name, value in _texts(figures).items():
        at, _, figure = value.partition(":")
        kept[name] = (int(at), figure)
    return RoomRead(int(version or 0), _texts(stored), kept)


# ---- versions: every counter pushed to the room carries one --------------------------------
#
# Pushes leave in any order (several API and realtime processes push to one room), and a
# counter pushed as an absolute value must not be overwritten by an older one. One counter
# per room, taken with INCR *before* the value is read: a push's value is then at least as
# new as its version says, and a change after that read takes a greater version of its own.
# Clients keep, per counter, the value with the greatest version seen (the join state's
# `version` counts for everything in it).


# A command and the room's time to live, in one script: atomic as MULTI/EXEC, and a third
# cheaper for the client (a pipeline object and a transaction's replies to parse), on every
# card pushed, message pinned and order placed in a room.
_NEXT_VERSION = """
local version = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return version
"""
_REMEMBER = """
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 0
"""


async def next_version(deps: Any, session_id: int) -> int:
    key = _key(session_id, "version")
    return int(await _script(deps, _NEXT_VERSION, [key], [ROOM_TTL_SECONDS]))


async def version(deps: Any, session_id: int) -> int:
    """The room's version now (for a state read after it), without taking a new one."""
    return int(await deps.redis.get(_key(session_id, "version")) or 0)


async def card_product_id(deps: Any, session_id: int) -> int | None:
    """The live product whose card is on screen, if any."""
    card = await deps.redis.hget(_key(session_id, "state"), "card")
    return None if card is None else int(json.loads(card)["product_id"])


async def _remember(deps: Any, session_id: int, field: str, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    await _script(deps, _REMEMBER, [_key(session_id, "state")], [ROOM_TTL_SECONDS, field, text])


def must_be_live(session: LiveSession) -> None:
    if session.status != SessionStatus.LIVE.value:
        raise SessionNotLive()


async def push_product(deps: Any, session: LiveSession, product_id: int) -> dict[str, Any]:
    """The product card everyone sees now (kept for those who join later)."""
    version = await next_version(deps, session.id)  # before what is left is read
    product = await carded_product(product_id, session_id=session.id)
    if product is None:
        raise ProductNotInSession()
    card = product_card(session.brand_id, product)  # type: ignore[attr-defined]
    await _remember(deps, session.id, "card", card)
    await keep_figures(deps, session.id, version, {f"left:{product.id}": card["left"]})
    return {**card, "version": version}


@dataclass(frozen=True, slots=True)
class CardedProduct:
    """A live product with what its card shows of its SKU (carded_product)."""

    id: int
    live_price_fen: int
    live_stock: int
    sold: int
    sku: catalog_service.SkuCard


async def carded_product(product_id: int, *, session_id: int = 0) -> CardedProduct | None:
    """A live product (of `session_id` when given) and its SKU's card, in two statements of
    fixed SQL: a host pushes cards one after the other mid-show, and every order placed in
    the room moves the ticker, which reads it too."""
    row = await sql.fetch_one(
        "SELECT sku_id, live_price_fen, live_stock, sold FROM live_products"
        " WHERE id = $1 AND (CAST($2 AS BIGINT) = 0 OR session_id = $2)",
        product_id,
        session_id,
    )
    if row is None:
        return None
    sku = await catalog_service.sku_card(row["sku_id"])
    if sku is None:  # a SKU with live products is never deleted (RESTRICT)
        return None
    return CardedProduct(product_id, row["live_price_fen"], row["live_stock"], row["sold"], sku)


def product_card(brand_id: int, product: CardedProduct) -> dict[str, Any]:
    """A live product (read by carded_product) as its card shows it: the product's name and
    first picture, the SKU, its unit, list and live prices, and what is left of the live
    stock. `sku` is the SKU as the catalog shows it (clients written before the card had the
    rest read it)."""
    sku = product.sku
    if sku.brand_id != brand_id:
        raise ProductNotInSession()  # never added so: a session's products are its brand's
    view = sku.view
    return {
        "product_id": product.id,
        "sku_id": view["id"],
        "name": sku.product_name,
        "sku_name": view["name"],
        "spec": view["spec"],
        "image": sku.image,
        "unit": view["unit"],
        "list_price_fen": view["list_price_fen"],
        "live_price_fen": product.live_price_fen,
        "live_stock": product.live_stock,
        "left": max(product.live_stock - product.sold, 0),
        "sku": view,
    }


async def pin(deps: Any, session_id: int, text: str, now: datetime) -> dict[str, Any]:
    cleaned = _clean(text)
    pinned = {"text": cleaned, "at": now.isoformat()}
    await _remember(deps, session_id, "pinned", pinned)
    return pinned


async def like(deps: Any, session_id: int, count: Any) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= LIKES_PER_EVENT:
        raise InvalidInput(f"点赞数须为 1 到 {LIKES_PER_EVENT} 的整数")
    return int(await deps.redis.hincrby(_key(session_id, "state"), "likes", count))


def _clean(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatEmpty()
    cleaned = " ".join(text.split())
    if len(cleaned) > CHAT_MAX_CHARS:
        raise ChatTooLong()
    return cleaned


async def mute(deps: Any, session_id: int, user_id: int) -> None:
    key = _key(session_id, "muted")
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.sadd(key, user_id)
        pipe.expire(key, ROOM_TTL_SECONDS)
        await pipe.execute()


async def chat(
    deps: Any, principal: Principal, session_id: int, text: Any, *, name: str, now: datetime
) -> dict[str, Any]:
    """A chat message to the room, or a refusal with a code: empty, too long, too fast,
    muted, or flagged by WeChat's content check (store owners' text; hosts are staff)."""
    cleaned = _clean(text)
    if await deps.redis.sismember(_key(session_id, "muted"), principal.user_id):
        raise ChatMuted()
    gap = f"live:chat:{session_id}:{principal.user_id}"
    if not await deps.redis.set(gap, 1, nx=True, ex=CHAT_GAP_SECONDS):
        raise ChatTooFast()
    if principal.role in STORE_ROLES:
        openid = await identity_service.openid_for(principal.user_id, deps.settings.wechat.appid)
        if openid is not None:
            try:
                verdict = await deps.wechat.text_check(cleaned, openid, scene=2)
            except WechatApiError as exc:  # WeChat unreachable: the host can still mute
                log.warning("chat content check unavailable", extra={"errcode": exc.errcode})
                verdict = "pass"
            if verdict != "pass":
                raise ChatRejected()
    return {"user_id": principal.user_id, "name": name, "text": cleaned, "at": now.isoformat()}
