"""Splitting a red-packet rain's total into its packets (pure: no IO, no clock).

The double-mean method (二倍均值法), as WeChat's group red packets do it: packets are cut one
after another; each takes a uniformly random whole number of fen from 1 up to just under
twice the mean of what is still to share (`remaining / packets_left`), so every draw
averages that mean and no early packet can starve the later ones of their expected share.
A draw is also capped so that each packet still to come keeps at least 1 fen, and the last
packet takes exactly what is left, so the packets always add up to the total to the fen.

The random source is an argument: the rain passes a `random.SystemRandom` (nobody can
predict the packets), tests pass a seeded `random.Random` (a failing case replays).
"""

from __future__ import annotations

import random


def split(total_fen: int, count: int, rng: random.Random) -> list[int]:
    """`total_fen` cut into `count` random packets of at least 1 fen, summing exactly to it.

    Raises ValueError when there is no packet to make (`count < 1`) or not a fen for each
    (`total_fen < count`)."""
    if count < 1:
        raise ValueError(f"a rain needs at least one packet, not {count}")
    if total_fen < count:
        raise ValueError(f"{total_fen} fen cannot make {count} packets of at least 1 fen")
    packets: list[int] = []
    remaining = total_fen
    for left in range(count, 1, -1):
        # 1 … 2×mean − 1 averages the mean (integer fen, so the floor of twice the mean);
        # remaining >= left keeps it >= 1. The cap leaves 1 fen for each packet after this.
        highest = min(2 * remaining // left - 1, remaining - (left - 1))
        amount = rng.randint(1, highest)
        packets.append(amount)
        remaining -= amount
    packets.append(remaining)  # the last packet: exactly the rest, at least 1 fen by the cap
    return packets
