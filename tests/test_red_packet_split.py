"""The red-packet split (double-mean method): exact sum, at least 1 fen each, bounded draws."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.livestream.red_packet import split


@st.composite
def rains(draw: st.DrawFn) -> tuple[int, int, int]:
    count = draw(st.integers(min_value=1, max_value=500))
    total = draw(st.integers(min_value=count, max_value=count * 10_000))
    return total, count, draw(st.integers(min_value=0, max_value=2**32))


@settings(max_examples=300, deadline=None)
@given(rains())
def test_the_packets_add_up_exactly_and_each_is_at_least_a_fen(rain: tuple[int, int, int]) -> None:
    total, count, seed = rain
    packets = split(total, count, random.Random(seed))
    assert len(packets) == count
    assert sum(packets) == total
    assert all(isinstance(p, int) and p >= 1 for p in packets)


@settings(max_examples=300, deadline=None)
@given(rains())
def test_each_draw_stays_under_twice_the_mean_of_what_remains(rain: tuple[int, int, int]) -> None:
    total, count, seed = rain
    packets = split(total, count, random.Random(seed))
    remaining = total
    for index, packet in enumerate(packets[:-1]):
        left = count - index
        assert 1 <= packet < 2 * remaining / left
        assert remaining - packet >= left - 1  # a fen left for every packet still to come
        remaining -= packet
    assert packets[-1] == remaining


@given(st.integers(min_value=1, max_value=1000), st.integers(min_value=0, max_value=2**32))
def test_a_total_of_one_fen_per_packet_gives_one_fen_each(count: int, seed: int) -> None:
    assert split(count, count, random.Random(seed)) == [1] * count


def test_the_same_seed_splits_the_same_way() -> None:
    assert split(10_000, 50, random.Random(7)) == split(10_000, 50, random.Random(7))


def test_draws_average_the_mean() -> None:
    """Over many rains the first packet averages the mean: nobody is favoured by going first."""
    rng = random.Random(1)
    firsts = [split(10_000, 10, rng)[0] for _ in range(20_000)]
    assert abs(sum(firsts) / len(firsts) - 1000) < 15


@pytest.mark.parametrize(("total", "count"), [(0, 1), (9, 10), (100, 0), (100, -1), (-5, -10)])
def test_impossible_rains_are_refused(total: int, count: int) -> None:
    with pytest.raises(ValueError):
        split(total, count, random.Random(0))
