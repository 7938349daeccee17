"""The near-duplicate index of display photos: a search by bands finds exactly the photos a
scan of every hash would, nearest first, within the brand and without the excluded ones."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.display import neardup
from backend.display.models import DisplayPhoto, DisplayPhotoBand
from backend.display.neardup import Match
from backend.org.models import Brand, Store
from tests.factories import make_tenant

UNSIGNED = st.integers(0, 2**64 - 1)
_names = itertools.count(1)


def flipped(unsigned: int, bits: Iterable[int]) -> int:
    """The hash with these bit positions inverted (a recompressed or resized copy's hash
    differs from the original's in a few scattered bits)."""
    for bit in bits:
        unsigned ^= 1 << bit
    return unsigned


async def indexed(brand: Brand, store: Store, unsigned: int) -> int:
    """A submitted photo of the store with this hash, indexed as submitting does."""
    phash = neardup.to_signed(unsigned)
    photo = await DisplayPhoto.create(
        brand=brand,
        store=store,
        key=f"display/{brand.id}/{store.id}/{next(_names)}.jpg",
        content_type="image/jpeg",
        size_bytes=1000,
        width=800,
        height=600,
        taken_at=datetime.now(UTC),
        phash=phash,
        brightness=120.0,
        sharpness=300.0,
        created_at=datetime.now(UTC),
    )
    await neardup.add(brand.id, photo.id, phash)
    return photo.id


async def near(brand: Brand, unsigned: int, **kwargs: object) -> list[Match]:
    return await neardup.find_near(brand.id, neardup.to_signed(unsigned), **kwargs)  # type: ignore[arg-type]


# ---- pure parts ----------------------------------------------------------------------------


@given(UNSIGNED)
def test_signed_and_unsigned_round_trip(unsigned: int) -> None:
    signed = neardup.to_signed(unsigned)
    assert -(2**63) <= signed < 2**63
    assert neardup.to_unsigned(signed) == unsigned
    assert (signed < 0) == (unsigned >= 2**63)


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_only_64_bit_values_convert(bad: int) -> None:
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        neardup.to_signed(bad)
    with pytest.raises(ValueError, match="signed 64-bit"):
        neardup.to_unsigned(bad + 2**64 if bad < 0 else bad)


def test_the_bands_radii_add_up_to_three_less_than_the_distance() -> None:
    radii = {d: neardup.band_radii(d) for d in (0, 3, 4, 10, 11, 12, 15)}
    assert radii == {
        0: (0, 0, 0, 0),
        3: (0, 0, 0, 0),
        4: (1, 0, 0, 0),
        10: (2, 2, 2, 1),
        11: (2, 2, 2, 2),
        12: (3, 2, 2, 2),
        15: (3, 3, 3, 3),
    }
    assert len(neardup.neighbours(0xBEEF, 2)) == 1 + 16 + 120
    assert neardup.neighbours(0xBEEF, 2)[0] == 0xBEEF
    assert len(set(neardup.neighbours(0xBEEF, 2))) == 137
    assert all((v ^ 0xBEEF).bit_count() <= 2 for v in neardup.neighbours(0xBEEF, 2))


@given(UNSIGNED, st.sets(st.integers(0, 63), max_size=15), st.integers(0, 15))
def test_hashes_within_the_distance_share_a_searched_band(
    unsigned: int, bits: set[int], max_distance: int
) -> None:
    """The pigeonhole the index rests on: within the distance searched, some band of the
    other hash is among the values searched for the first one's."""
    other = flipped(unsigned, bits)
    a, b = neardup.to_signed(unsigned), neardup.to_signed(other)
    assert neardup.distance(a, b) == len(bits)
    searched = [
        theirs in neardup.neighbours(ours, radius)
        for ours, theirs, radius in zip(
            neardup.bands(a), neardup.bands(b), neardup.band_radii(max_distance), strict=True
        )
    ]
    if len(bits) <= max_distance:
        assert any(searched)


# ---- the index -----------------------------------------------------------------------------


async def test_adding_writes_the_four_bands() -> None:
    tenant = await make_tenant()
    photo_id = await indexed(tenant.brand, tenant.store, 0xFFFF_0001_ABCD_1234)
    rows = await DisplayPhotoBand.filter(photo_id=photo_id).order_by("band")
    assert [(r.brand_id, r.band, r.value) for r in rows] == [
        (tenant.brand.id, 0, 0x1234),
        (tenant.brand.id, 1, 0xABCD),
        (tenant.brand.id, 2, 0x0001),
        (tenant.brand.id, 3, 0xFFFF),
    ]


async def test_the_same_hash_is_found_at_distance_zero() -> None:
    tenant = await make_tenant()
    original = 0x8F3C_21E0_5A5A_0FF1  # negative as stored
    photo_id = await indexed(tenant.brand, tenant.store, original)
    assert await near(tenant.brand, original) == [Match(photo_id, 0)]


async def test_a_recompressed_copy_is_found_nearest_first() -> None:
    tenant = await make_tenant()
    rng = random.Random(7)
    original = rng.getrandbits(64)
    far_copy = await indexed(tenant.brand, tenant.store, flipped(original, [1, 17, 33, 49, 60]))
    close_copy = await indexed(tenant.brand, tenant.store, flipped(original, [5]))
    await indexed(tenant.brand, tenant.store, original ^ 0x5555_5555_5555_5555)  # unrelated
    assert await near(tenant.brand, original) == [Match(close_copy, 1), Match(far_copy, 5)]


@pytest.mark.parametrize(
    "spread",
    [
        [0, 1, 2, 16, 17, 18, 32, 33, 34, 48],  # 3 + 3 + 3 + 1: only the last band is close
        [0, 1, 2, 16, 17, 18, 32, 33, 48, 49],  # 3 + 3 + 2 + 2
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],  # all in one band: the other three are equal
    ],
)
async def test_ten_bits_spread_over_the_bands_are_still_near(spread: list[int]) -> None:
    """The worst cases for the bands: each band as far off as the pigeonhole allows."""
    tenant = await make_tenant()
    original = 0x0123_4567_89AB_CDEF
    photo_id = await indexed(tenant.brand, tenant.store, flipped(original, spread))
    assert await near(tenant.brand, original) == [Match(photo_id, 10)]


async def test_the_limit_is_inclusive_and_one_more_bit_is_far() -> None:
    tenant = await make_tenant()
    original = 0xDEAD_BEEF_0000_FFFF
    at_ten = await indexed(tenant.brand, tenant.store, flipped(original, range(0, 40, 4)))
    at_eleven = await indexed(tenant.brand, tenant.store, flipped(original, range(1, 45, 4)))
    assert await near(tenant.brand, original) == [Match(at_ten, 10)]
    assert await near(tenant.brand, original, max_distance=11) == [
        Match(at_ten, 10),
        Match(at_eleven, 11),
    ]
    assert await near(tenant.brand, original, max_distance=9) == []


async def test_a_different_picture_is_far() -> None:
    tenant = await make_tenant()
    await indexed(tenant.brand, tenant.store, 0xFFFF_FFFF_0000_0000)
    assert await near(tenant.brand, 0x0000_0000_FFFF_FFFF) == []
    assert await near(tenant.brand, 0xFFFF_FFFF_0000_0000 ^ 0xFFF) == []  # 12 bits off


async def test_excluded_photos_are_left_out() -> None:
    tenant = await make_tenant()
    original = 0x1111_2222_3333_4444
    own = await indexed(tenant.brand, tenant.store, original)
    earlier = await indexed(tenant.brand, tenant.store, flipped(original, [3]))
    assert await near(tenant.brand, original, exclude_photo_ids=[own]) == [Match(earlier, 1)]
    assert await near(tenant.brand, original, exclude_photo_ids=(own, earlier)) == []


async def test_another_brands_photos_are_never_matched() -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    original = 0x7777_0000_7777_0000
    await indexed(theirs.brand, theirs.store, original)
    assert await near(ours.brand, original) == []
    mine = await indexed(ours.brand, ours.store, original)
    assert await near(ours.brand, original) == [Match(mine, 0)]


async def test_an_unindexed_photo_is_not_found() -> None:
    """Only submitted photos are indexed (submitting calls add): an uploaded photo not yet in
    a submission does not count against a later one."""
    tenant = await make_tenant()
    photo_id = await indexed(tenant.brand, tenant.store, 42)
    await DisplayPhotoBand.filter(photo_id=photo_id).delete()
    assert await near(tenant.brand, 42) == []


async def test_a_search_farther_than_the_index_allows_is_refused() -> None:
    tenant = await make_tenant()
    with pytest.raises(ValueError, match="max_distance"):
        await near(tenant.brand, 1, max_distance=16)
    with pytest.raises(ValueError, match="max_distance"):
        await near(tenant.brand, 1, max_distance=-1)


@st.composite
def collections(draw: st.DrawFn) -> tuple[list[int], int, int]:
    """Stored hashes around a few originals (copies a few bits off, some far off), a query
    near one of them, and how far to search."""
    originals = draw(st.lists(UNSIGNED, min_size=1, max_size=4))
    flips = st.sets(st.integers(0, 63), max_size=16)
    stored = [
        flipped(originals[index], bits)
        for index, bits in draw(
            st.lists(st.tuples(st.integers(0, len(originals) - 1), flips), max_size=24)
        )
    ]
    query = flipped(draw(st.sampled_from(originals)), draw(st.sets(st.integers(0, 63), max_size=6)))
    return stored, query, draw(st.integers(0, neardup.MAX_DISTANCE))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(collections())
async def test_the_index_agrees_with_a_scan_of_every_hash(
    collection: tuple[list[int], int, int],
) -> None:
    stored, query, max_distance = collection
    tenant_store = await Store.all().first()
    if tenant_store is None:  # once per test: the fixtures empty the tables between tests
        tenant_store = (await make_tenant()).store
    brand = await Brand.create(name=f"品牌{next(_names)}")  # a brand of its own per example
    photo_ids = [await indexed(brand, tenant_store, unsigned) for unsigned in stored]
    signed = neardup.to_signed(query)
    scanned = sorted(
        (
            Match(photo_id, neardup.distance(signed, neardup.to_signed(unsigned)))
            for photo_id, unsigned in zip(photo_ids, stored, strict=True)
        ),
        key=lambda m: (m.distance, m.photo_id),
    )
    expected = [m for m in scanned if m.distance <= max_distance]
    assert await neardup.find_near(brand.id, signed, max_distance=max_distance) == expected
