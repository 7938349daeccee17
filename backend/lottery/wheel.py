"""The wheel's draw, pure (ARCHITECTURE rule 1): the caller supplies the random roll.

The prizes in stock are laid end to end in their listed order, each as long as its weight;
the roll, uniform in [0, total weight), lands in exactly one. Recording the table and the
roll lets anyone recompute the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Slot:
    prize_id: int
    weight: int


def total_weight(table: Sequence[Slot]) -> int:
    return sum(slot.weight for slot in table)


def landed_on(table: Sequence[Slot], roll: int) -> int:
    """The prize id the roll lands on."""
    if not 0 <= roll < total_weight(table):
        raise ValueError("the roll must lie in [0, total weight)")
    for slot in table:
        if roll < slot.weight:
            return slot.prize_id
        roll -= slot.weight
    raise AssertionError("unreachable: the roll is below the total weight")
