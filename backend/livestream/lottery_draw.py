"""A live session's lottery draw (抽奖), pure (ARCHITECTURE rule 1): a commit-reveal draw
that anyone can recompute from its published record.

When the draw is announced a secret seed is made (`new_seed`: 32 random bytes from the
operating system, as 64 lowercase hex characters) and only its hash is published:
`seed_hash = SHA-256(seed as UTF-8 text)`, in lowercase hex. Nobody, the host included,
can pick the seed afterwards to suit the eligible stores, and nobody outside can predict
the winners before the draw. After the draw the seed is revealed with the winners.

The winner procedure (version `sha256-mod-v1`), precisely enough to re-implement it:

1. `pool` = the eligible store ids (integers), duplicates removed, sorted ascending.
2. `total` = the sum of the prize counts; `n = min(total, len(pool))` winners are drawn.
3. For rank `r = 1, 2, ..., n`, in order:
   - `h` = SHA-256 of the UTF-8 text `f"{seed}:{r}"` (the seed's hex text, a colon, the
     rank in decimal without padding), read as an unsigned big-endian 256-bit integer;
   - `i = h mod len(pool)`; the winner of rank `r` is `pool[i]`, which is then removed
     from `pool` (the items after it move down by one, like Python's `list.pop(i)`).
4. Prizes go out in rank order, in the prizes' listed order: the first prize's `count`
   goes to ranks 1..c1, the second's to ranks c1+1..c1+c2, and so on. With fewer eligible
   stores than prizes every eligible store wins and the last prizes stay unawarded.

Example: seed "ab", pool [3, 7, 9], prizes [("一等奖", 1), ("二等奖", 1)]: rank 1 takes
`pool[int(sha256(b"ab:1").hexdigest(), 16) % 3]`, rank 2 picks from the two left.

The modulo bias of a 256-bit hash reduced mod a pool of at most millions is below 2^-200:
negligible, and it keeps the procedure simple enough to redo by hand in any language.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

ALGORITHM = "sha256-mod-v1"
SEED_BYTES = 32


def new_seed() -> str:
    """A fresh secret seed: 32 bytes from the operating system's CSPRNG, as hex."""
    return secrets.token_hex(SEED_BYTES)


def seed_hash(seed: str) -> str:
    """The commitment published at announcement: SHA-256 of the seed's text, hex."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _rank_hash(seed: str, rank: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{rank}".encode()).digest(), "big")


def draw(
    seed: str, eligible: Sequence[int], prizes: Sequence[tuple[str, int]]
) -> list[tuple[int, str, int]]:
    """The winners as (store id, prize name, rank), rank 1 first, by the module's procedure.

    Raises ValueError for a negative prize count or an empty seed (an unannounced draw must
    never be run with a guessable seed)."""
    if not seed:
        raise ValueError("a draw needs a seed")
    if any(count < 0 for _, count in prizes):
        raise ValueError("a prize count can not be negative")
    pool = sorted(set(eligible))
    # Rank → prize name, in listed order: ranks 1..c1 the first prize, and so on.
    ladder = [name for name, count in prizes for _ in range(count)]
    winners: list[tuple[int, str, int]] = []
    for rank in range(1, min(len(ladder), len(pool)) + 1):
        store = pool.pop(_rank_hash(seed, rank) % len(pool))
        winners.append((store, ladder[rank - 1], rank))
    return winners


def _prize_pairs(prizes: Sequence[Any]) -> list[tuple[str, int]]:
    """Prizes as (name, count), from the record's [{name, count}] or from pairs."""
    pairs: list[tuple[str, int]] = []
    for prize in prizes:
        if isinstance(prize, Mapping):
            name, count = prize["name"], prize["count"]
        else:
            name, count = prize
        if not isinstance(name, str) or not isinstance(count, int) or isinstance(count, bool):
            raise TypeError("a prize is a name and an integer count")
        pairs.append((name, count))
    return pairs


def verify(record: Mapping[str, Any]) -> bool:
    """Whether a published record holds: its seed hashes to its seed_hash, and the winners
    (each {store_id, prize, rank}) are exactly what the procedure gives for its seed,
    eligible stores and prizes. A malformed or undrawn record (no seed) does not verify."""
    try:
        seed = record["seed"]
        if not isinstance(seed, str) or not seed or seed_hash(seed) != record["seed_hash"]:
            return False
        eligible = [int(store) for store in record["eligible"]]
        expected = draw(seed, eligible, _prize_pairs(record["prizes"]))
        published = sorted(
            ((int(w["store_id"]), str(w["prize"]), int(w["rank"])) for w in record["winners"]),
            key=lambda winner: winner[2],
        )
    except (KeyError, TypeError, ValueError):
        return False
    return published == expected  # draw() lists them by rank
