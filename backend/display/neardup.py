"""PLACEHOLDER until H3's near-duplicate index lands (its backend/display/neardup.py replaces
this file whole at merge): the same signatures, answered by a linear scan of the brand's
submitted photos' hashes. Correct, but linear in the number of photos."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.display.models import DisplayPhoto

_BITS = 64
_MASK = (1 << _BITS) - 1


@dataclass(frozen=True, slots=True)
class Match:
    photo_id: int
    distance: int  # differing bits


def to_signed(unsigned: int) -> int:
    """A 64-bit hash as the signed integer a BIGINT column holds."""
    return unsigned - (1 << _BITS) if unsigned >= 1 << (_BITS - 1) else unsigned


def to_unsigned(signed: int) -> int:
    return signed & _MASK


async def add(brand_id: int, photo_id: int, phash: int) -> None:
    """Index a submitted photo. Nothing to write here: the scan reads display_photos."""


async def find_near(
    brand_id: int,
    phash: int,
    *,
    max_distance: int = 10,
    exclude_photo_ids: Sequence[int] = (),
) -> list[Match]:
    """The brand's submitted photos within `max_distance` bits of `phash`, nearest first."""
    photos = DisplayPhoto.filter(brand_id=brand_id, submission_id__isnull=False)
    if exclude_photo_ids:
        photos = photos.exclude(id__in=list(exclude_photo_ids))
    wanted = to_unsigned(phash)
    matches = []
    for photo_id, other in await photos.values_list("id", "phash"):
        distance = (wanted ^ to_unsigned(int(other))).bit_count()
        if distance <= max_distance:
            matches.append(Match(int(photo_id), distance))
    return sorted(matches, key=lambda match: (match.distance, match.photo_id))
