"""The near-duplicate index of display photos: which earlier photos of a brand have a
perceptual hash within a few bits (Hamming distance) of a new one.

Multi-index hashing. Each submitted photo's 64-bit hash is cut into four 16-bit bands, one
row each in display_photo_bands, found through the (brand_id, band, value) index. A search
within distance d looks up, in band i, every value within r_i bits of the new hash's band,
where r_0 + r_1 + r_2 + r_3 = d - 3: were every band i of a stored hash to differ in more
than r_i bits, the two would differ in at least Σ(r_i + 1) = d + 1 bits, so every hash
within d is found in some band (the generalised pigeonhole principle; plain floor(d/4) in
every band is the looser (2, 2, 2, 2) for d = 10, and reads a quarter more rows). For
d = 10 the radii are (2, 2, 2, 1): 137 values in three bands (1 + 16 + 120) and 17 in the
last. The photos found are then measured exactly: about n·428/65536 of the brand's n
photos (some 1,300 of 200,000 random hashes) instead of all n: see bench/display_neardup.py.

Hashes are stored as signed 64-bit integers (the databases' BIGINT); imagehash and the
arithmetic here think of them as unsigned: to_signed/to_unsigned convert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from backend.infra import sql

HASH_BITS = 64
BAND_BITS = 16
BANDS = HASH_BITS // BAND_BITS  # four: the statements below name each
BAND_MASK = (1 << BAND_BITS) - 1
UNSIGNED_LIMIT = 1 << HASH_BITS
SIGNED_LIMIT = 1 << (HASH_BITS - 1)
DEFAULT_MAX_DISTANCE = 10
# Each band then looks up 1 + 16 + 120 + 560 = 697 values (2,788 parameters in all), still
# far from the databases' limits; farther searches would flood the index and find mostly
# unrelated photos anyway (unrelated hashes differ in about 32 bits).
MAX_DISTANCE = 15


@dataclass(frozen=True, slots=True)
class Match:
    photo_id: int
    distance: int  # differing bits, 0 (the same hash) up to the search's max_distance


def to_signed(unsigned: int) -> int:
    """An unsigned 64-bit hash (0 ≤ u < 2⁶⁴, as imagehash gives it) as the signed BIGINT it
    is stored as."""
    if not 0 <= unsigned < UNSIGNED_LIMIT:
        raise ValueError(f"not an unsigned 64-bit value: {unsigned}")
    return unsigned - UNSIGNED_LIMIT if unsigned >= SIGNED_LIMIT else unsigned


def to_unsigned(signed: int) -> int:
    """The stored signed BIGINT back as the unsigned 64-bit hash."""
    if not -SIGNED_LIMIT <= signed < SIGNED_LIMIT:
        raise ValueError(f"not a signed 64-bit value: {signed}")
    return signed & (UNSIGNED_LIMIT - 1)


def distance(a: int, b: int) -> int:
    """Hamming distance of two stored (signed) hashes: how many of their 64 bits differ."""
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def bands(phash: int) -> tuple[int, ...]:
    """The four 16-bit bands of a stored (signed) hash, lowest bits first."""
    unsigned = to_unsigned(phash)
    return tuple((unsigned >> (BAND_BITS * band)) & BAND_MASK for band in range(BANDS))


def band_radii(max_distance: int) -> tuple[int, ...]:
    """How far each band is searched so that no hash within max_distance is missed: radii
    adding up to max_distance - 3, as even as can be (never below 0: a search closer than 3
    bits looks up each band's own value)."""
    base, extra = divmod(max(max_distance - (BANDS - 1), 0), BANDS)
    return tuple(base + (band < extra) for band in range(BANDS))


@lru_cache(maxsize=MAX_DISTANCE // BANDS + 1)
def _flips(radius: int) -> tuple[int, ...]:
    """Every 16-bit mask of at most `radius` bits set, the empty one first."""
    return tuple(
        sum(1 << bit for bit in bits)
        for count in range(radius + 1)
        for bits in combinations(range(BAND_BITS), count)
    )


def neighbours(value: int, radius: int) -> list[int]:
    """The band values within `radius` bits of `value` (itself included)."""
    return [value ^ mask for mask in _flips(radius)]


# The four bands in one statement. backend/infra/sql.py spreads each IN list into as many
# placeholders as its band's radius needs, so the text is fixed per distance and stays prepared on
# PostgreSQL, whose planner reads each as `value = ANY(...)` on the (brand_id, band, value)
# index. The hash comes from a subquery per band row, not a join: a join of the ~1,300 rows
# that 200,000 random hashes give at distance 10 was planned as a hash join over a scan of
# every photo (80 ms), the subquery is one primary-key lookup each (see the bench).
_SEARCH_SQL = (
    "SELECT b.photo_id,"
    " (SELECT p.phash FROM display_photos p WHERE p.id = b.photo_id) AS phash"
    " FROM display_photo_bands b"
    " WHERE b.brand_id = $1 AND ((b.band = 0 AND b.value IN ($2))"
    " OR (b.band = 1 AND b.value IN ($3)) OR (b.band = 2 AND b.value IN ($4))"
    " OR (b.band = 3 AND b.value IN ($5)))"
)
_ADD_SQL = (
    "INSERT INTO display_photo_bands (brand_id, band, value, photo_id)"
    " VALUES ($1, 0, $3, $2), ($1, 1, $4, $2), ($1, 2, $5, $2), ($1, 3, $6, $2)"
)


async def add(brand_id: int, photo_id: int, phash: int) -> None:
    """Index a photo that was just submitted (in the submission's transaction, once per
    photo): from now on find_near finds it for the brand. Unsubmitted photos stay out, so
    a store may retake a photo without it counting against itself."""
    await sql.execute(_ADD_SQL, brand_id, photo_id, *bands(phash))


async def find_near(
    brand_id: int,
    phash: int,
    *,
    max_distance: int = DEFAULT_MAX_DISTANCE,
    exclude_photo_ids: Sequence[int] = (),
) -> list[Match]:
    """The brand's indexed photos whose hash is within `max_distance` bits of `phash`,
    nearest first (then the earliest photo first), leaving out `exclude_photo_ids`."""
    if not 0 <= max_distance <= MAX_DISTANCE:
        raise ValueError(f"max_distance must be 0..{MAX_DISTANCE}, not {max_distance}")
    radii = band_radii(max_distance)
    lists = [neighbours(value, r) for value, r in zip(bands(phash), radii, strict=True)]
    rows = await sql.fetch(_SEARCH_SQL, brand_id, *lists)
    return nearest(rows, phash, max_distance=max_distance, exclude_photo_ids=exclude_photo_ids)


def nearest(
    rows: Sequence[sql.Row], phash: int, *, max_distance: int, exclude_photo_ids: Sequence[int]
) -> list[Match]:
    """The candidates (`photo_id`, `phash`) within max_distance, nearest first."""
    # A photo near in several bands comes once per band; excluded ones are dropped here
    # rather than in SQL, so the statement's text never varies with them.
    seen = set(exclude_photo_ids)
    found: list[Match] = []
    for row in rows:
        photo_id = int(row["photo_id"])
        if photo_id in seen:
            continue
        seen.add(photo_id)
        bits = distance(phash, int(row["phash"]))
        if bits <= max_distance:
            found.append(Match(photo_id, bits))
    return sorted(found, key=lambda match: (match.distance, match.photo_id))
