"""Money helpers: largest-remainder allocation that always adds up, half-up percentages."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.kernel.money import allocate, percent_of, round_half_up, yuan


@pytest.fixture(autouse=True)
def fresh_state() -> None:
    """Overrides the suite's per-test reset: pure functions need no database."""


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (10, [1, 1, 1], [4, 3, 3]),  # tie on remainders: the earlier index wins
        (100, [1, 1, 1], [34, 33, 33]),
        (2, [1, 1, 1], [1, 1, 0]),
        (20000, [150000, 100000], [12000, 8000]),  # exact shares, no leftover
        (200, [1, 0, 2], [67, 0, 133]),  # zero weight gets nothing
        (5, [3, 3, 4], [2, 1, 2]),  # 1.5/1.5/2.0: leftover to the first of the tied .5s
        (7, [0, 5], [0, 7]),
        (0, [3, 4], [0, 0]),
        (0, [0, 0], [0, 0]),
        (0, [], []),
        (1, [999999, 1], [1, 0]),
    ],
)
def test_allocate_table(total: int, weights: list[int], expected: list[int]) -> None:
    assert allocate(total, weights) == expected


@pytest.mark.parametrize(
    ("total", "weights"),
    [(1, [0, 0]), (1, []), (-1, [1]), (5, [1, -1])],
)
def test_allocate_rejects(total: int, weights: list[int]) -> None:
    with pytest.raises(ValueError):
        allocate(total, weights)


@given(
    total=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(
        any
    ),
)
def test_allocate_properties(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part >= 0
        assert abs(part - Fraction(total * weight, weight_sum)) < 1
        if weight == 0:
            assert part == 0


@given(weights=st.lists(st.integers(min_value=0, max_value=10**6), max_size=10))
def test_allocate_zero_total_gives_zeros(weights: list[int]) -> None:
    assert allocate(0, weights) == [0] * len(weights)


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (200000, Decimal("90"), 180000),
        (5, Decimal("10"), 1),  # 0.5 rounds up
        (4, Decimal("10"), 0),  # 0.4 rounds down
        (15, Decimal("10"), 2),  # 1.5 rounds up (not to even)
        (25, Decimal("10"), 3),  # 2.5 rounds up (not to even)
        (199999, Decimal("33.333"), 66666),
        (12345, Decimal("0"), 0),
        (12345, Decimal("100"), 12345),
        (99, Decimal("70"), 69),  # 69.3
        (-5, Decimal("10"), -1),  # halves go away from zero
        (10**20 + 1, Decimal("50"), 5 * 10**19 + 1),  # exact beyond float precision
    ],
)
def test_percent_of_table(amount: int, percent: Decimal, expected: int) -> None:
    assert percent_of(amount, percent) == expected


def test_percent_of_needs_a_decimal() -> None:
    with pytest.raises(TypeError):
        percent_of(100, 10.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        percent_of(100, Decimal("NaN"))


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    percent=st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False),
)
def test_percent_of_is_the_nearest_fen_halves_up(amount: int, percent: Decimal) -> None:
    exact = Fraction(amount) * Fraction(percent) / 100
    result = percent_of(amount, percent)
    assert exact - Fraction(1, 2) < result <= exact + Fraction(1, 2)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(1, 2, 1), (3, 2, 2), (-1, 2, -1), (1, 3, 0), (2, 3, 1), (0, 7, 0)],
)
def test_round_half_up(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("fen", "text"),
    [(199900, "1999.00"), (5, "0.05"), (0, "0.00"), (-150, "-1.50"), (123456789, "1234567.89")],
)
def test_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text
