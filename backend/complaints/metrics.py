"""How well complaints are handled, per distributor: how long the first response and the
resolution took (median and 90th percentile), how many deadlines were missed, and how the
stores rated the outcome. Pure: the service reads the rows, this adds them up.

Percentiles are nearest-rank: always a time that really happened, never an average of two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

UNASSIGNED = None  # complaints not yet handed to a distributor are grouped under this key


@dataclass(frozen=True)
class HandledComplaint:
    distributor_id: int | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    breached_first_response: bool
    breached_resolution: bool
    rating: int | None


def percentile(values: Sequence[float], percent: float) -> float | None:
    """Nearest-rank percentile of `values` (any order); None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _duration_summary(minutes: list[float]) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": len(minutes),
        "median_minutes": rounded(percentile(minutes, 50)),
        "p90_minutes": rounded(percentile(minutes, 90)),
    }


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 60


def summarise(complaints: Iterable[HandledComplaint]) -> dict[str, Any]:
    """One group's figures."""
    first: list[float] = []
    resolution: list[float] = []
    ratings = dict.fromkeys(range(1, 6), 0)
    filed = breached_first = breached_resolution = 0
    for complaint in complaints:
        filed += 1
        if (took := _minutes(complaint.created_at, complaint.acknowledged_at)) is not None:
            first.append(took)
        if (took := _minutes(complaint.created_at, complaint.resolved_at)) is not None:
            resolution.append(took)
        breached_first += complaint.breached_first_response
        breached_resolution += complaint.breached_resolution
        if complaint.rating is not None:
            ratings[complaint.rating] += 1
    rated = sum(ratings.values())
    average = sum(stars * count for stars, count in ratings.items()) / rated if rated else None
    return {
        "filed": filed,
        "first_response": _duration_summary(first),
        "resolution": _duration_summary(resolution),
        "breaches": {
            "first_response": breached_first,
            "resolution": breached_resolution,
            "total": breached_first + breached_resolution,
        },
        "rating": {
            "count": rated,
            "average": None if average is None else round(average, 2),
            "by_stars": {str(stars): count for stars, count in ratings.items()},
        },
    }


def by_distributor(
    complaints: Iterable[HandledComplaint],
) -> tuple[dict[int | None, dict[str, Any]], dict[str, Any]]:
    """Figures per distributor (None: not yet assigned) and for all of them together."""
    groups: dict[int | None, list[HandledComplaint]] = {}
    everything: list[HandledComplaint] = []
    for complaint in complaints:
        groups.setdefault(complaint.distributor_id, []).append(complaint)
        everything.append(complaint)
    return {key: summarise(group) for key, group in groups.items()}, summarise(everything)
