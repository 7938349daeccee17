"""Money arithmetic on integer fen: largest-remainder allocation, half-up percentages, display.

Pure and stdlib-only. Percentages are exact `Decimal`s; a result is rounded to the fen once,
half-up, so callers round at one stated step and allocate the rest exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` fen over `weights` in proportion, so the parts sum exactly to `total`.

    Each part is its exact share rounded down, and the fen left over go one each to the
    largest remainders (ties: the earlier index). A zero weight always gets 0, and every part
    is within one fen of its exact share. With all weights zero only a zero total can be split.
    """
    if total < 0:
        raise ValueError("total must not be negative")
    if weights and min(weights) < 0:
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError("cannot allocate a positive total over zero weights")
        return [0] * len(weights)
    if total == weight_sum:  # each part is its weight (a special price's savings, uncapped)
        return list(weights)
    parts = [total * weight // weight_sum for weight in weights]
    left = total - sum(parts)
    if not left:  # the shares came out whole (a single weight, or proportional amounts)
        return parts
    remainders = [total * weight % weight_sum for weight in weights]
    # Fewer fen are left than there are positive remainders, so zero weights never get one.
    # Largest remainders first; a stable sort keeps equal ones in index order, reversed too.
    for index in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:left]:
        parts[index] += 1
    return parts


def unit_shares_upto(total: int, units: int, count: int) -> int:
    """What the first `count` of `units` equal units carry of `total` fen, split by
    allocate(total, [1] * units): the sum of its first `count` parts, without the list.

    Equal weights leave equal remainders, so the `total % units` fen left over go to the
    earliest units. Refunding units in any number of steps, each the difference of two of
    these, adds up to exactly `total` once all units are refunded.
    """
    if units <= 0 or not 0 <= count <= units:
        raise ValueError("count must be within 0..units, and units positive")
    if total < 0:
        raise ValueError("total must not be negative")
    return count * (total // units) + min(count, total % units)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, halves away from zero (exact)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def percent_of(amount_fen: int, percent: Decimal) -> int:
    """`percent`% of `amount_fen`, rounded half-up to the fen once, in exact arithmetic."""
    if not isinstance(percent, Decimal) or not percent.is_finite():
        raise TypeError("percent must be a finite Decimal")
    numerator, denominator = percent.as_integer_ratio()
    return round_half_up(amount_fen * numerator, denominator * 100)


def yuan(fen: int) -> str:
    """Format fen as yuan with two decimals: 199900 → "1999.00", -5 → "-0.05"."""
    if fen >= 0:
        return f"{fen // 100}.{fen % 100:02d}"
    whole, cents = divmod(-fen, 100)
    return f"-{whole}.{cents:02d}"
