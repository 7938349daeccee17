"""What a client needs from the database on joining a session's room, kept in Redis: the
session (status, title, video URL, its brand and distributor), the stores it invites, the
coupon drops open now, the draws announced or drawn and the rain running. After a realtime
process restarts, thousands of stores join again within a second; each join reads this
(one round trip) instead of six queries. The counters that move with every order or grab
(the ticker, the stock left, a drop's claims) are room.py's figures, versioned as its pushes.

Every change to what is kept here is written to the database first, then forgets it
(`forget`): the next joiner reads the database again and keeps what it read (`keep`). A
reader that read the database before a change and keeps what it read after the change forgot
it would keep it stale; so each session has a generation, which `forget` moves, and `keep`
keeps nothing if the generation has moved since the reader looked (`read` returns it). What
is kept also lapses after SNAPSHOT_SECONDS: a writer that died between its commit and its
`forget` leaves it stale for that long at most.

Redis keys (room.py's prefix): `live:s:{id}:join` (hash, JSON fields), `:invited` (set of
store ids), `:gen` (the generation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SNAPSHOT_SECONDS = 60
GENERATION_SECONDS = 24 * 3600  # outlives what it guards


def _key(session_id: int, what: str) -> str:
    return f"live:s:{session_id}:{what}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A session as a joiner reads it. `session`: id, brand_id, distributor_id, status,
    title, stream_url. `drops`: the coupon drops open, as drops.drop_view with their coupon
    (`claimed` and `left` as they were read: the room's figures have them now). `draws`: the
    records announced or drawn, `eligible` replaced by `eligible_count`, and `names`: the
    winners' store names by id (each caller sees them masked or not). `rain_id`: the rain
    running, if any. `invited`: whether the asking store is invited (None: no store asked)."""

    session: dict[str, Any]
    drops: list[dict[str, Any]]
    draws: list[dict[str, Any]]
    names: dict[int, str]
    rain_id: int | None
    invited: bool | None = None

    def fields(self) -> dict[str, str]:
        return {
            "session": json.dumps(self.session, ensure_ascii=False),
            "drops": json.dumps(self.drops, ensure_ascii=False),
            "draws": json.dumps(self.draws, ensure_ascii=False),
            "names": json.dumps(self.names, ensure_ascii=False),
            "rain_id": json.dumps(self.rain_id),
        }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def read(deps: Any, session_id: int, store_id: int | None) -> tuple[Snapshot | None, str]:
    """The session's snapshot (with `store_id`'s invitation when given), or None; and the
    generation, for `keep`."""
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(_key(session_id, "join"))
        pipe.get(_key(session_id, "gen"))
        if store_id is not None:
            pipe.sismember(_key(session_id, "invited"), store_id)
        replies = await pipe.execute()
    stored, generation = replies[0], _text(replies[1] or "0")
    if not stored:
        return None, generation
    text = {_text(k): json.loads(_text(v)) for k, v in stored.items()}
    snapshot = Snapshot(
        session=text["session"],
        drops=text["drops"],
        draws=text["draws"],
        names={int(store): name for store, name in text["names"].items()},
        rain_id=text["rain_id"],
        invited=None if store_id is None else bool(replies[2]),
    )
    return snapshot, generation


# KEYS: join, invited, gen. ARGV: the generation read, the TTL, n, n field/value pairs, m,
# m store ids. Nothing is kept if the generation has moved since it was read.
_KEEP = """
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
local at = 3
local n = tonumber(ARGV[at])
redis.call('HSET', KEYS[1], unpack(ARGV, at + 1, at + 2 * n))
at = at + 2 * n + 1
local last = at + tonumber(ARGV[at])
for first = at + 1, last, 1000 do
  redis.call('SADD', KEYS[2], unpack(ARGV, first, math.min(first + 999, last)))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


async def keep(
    deps: Any, session_id: int, generation: str, snapshot: Snapshot, invited: list[int]
) -> bool:
    """Keep what was read from the database (after `read` gave `generation`), unless it
    has been forgotten since. True if kept."""
    fields = snapshot.fields()
    args: list[Any] = [generation, SNAPSHOT_SECONDS, len(fields)]
    for name, value in fields.items():
        args += [name, value]
    args += [len(invited), *invited]
    keys = [_key(session_id, "join"), _key(session_id, "invited"), _key(session_id, "gen")]
    return bool(await deps.redis.register_script(_KEEP)(keys=keys, args=args))


async def forget(deps: Any, session_id: int) -> None:
    """What is kept of the session changed in the database (committed): the next joiner
    reads it again, and a reader still holding the old is not kept."""
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.incr(_key(session_id, "gen"))
        pipe.expire(_key(session_id, "gen"), GENERATION_SECONDS)
        pipe.delete(_key(session_id, "join"), _key(session_id, "invited"))
        await pipe.execute()
