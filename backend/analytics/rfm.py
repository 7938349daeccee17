"""RFM tiers: each store scored high or low on recency, frequency and monetary value against
the brand's thresholds, and named as one of the eight classic segments.

Pure: the caller loads each store's last order day and its counted orders and GMV over the
window, and writes the tags this module names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

# Frequency and monetary value are counted over this many days up to today.
WINDOW_DAYS = 365
TAG_PREFIX = "RFM·"

# (recency high, frequency high, monetary high) → segment, as brands in China name them.
SEGMENTS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "重要价值客户",
    (False, True, True): "重要保持客户",
    (True, False, True): "重要发展客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (False, True, False): "一般保持客户",
    (True, False, False): "一般发展客户",
    (False, False, False): "一般挽留客户",
}
SEGMENT_ORDER = tuple(SEGMENTS.values())


@dataclass(frozen=True)
class Thresholds:
    """A store is high on recency when it ordered within `recency_days`, on frequency with
    at least `frequency_orders` orders in the window, on monetary value with at least
    `monetary_fen` of GMV in the window."""

    recency_days: int = 30
    frequency_orders: int = 4
    monetary_fen: int = 1_000_000  # 10,000 yuan

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Thresholds:
        defaults = cls()
        values = {
            name: data.get(name, getattr(defaults, name))
            for name in ("recency_days", "frequency_orders", "monetary_fen")
        }
        return cls(**{name: int(value) for name, value in values.items()})  # type: ignore[call-overload]

    def as_json(self) -> dict[str, int]:
        return {
            "recency_days": self.recency_days,
            "frequency_orders": self.frequency_orders,
            "monetary_fen": self.monetary_fen,
        }


@dataclass(frozen=True)
class Activity:
    """A store's counted orders: its last order day ever (None: it never ordered), and its
    orders and GMV within the window."""

    store_id: int
    last_day: date | None
    orders: int
    gmv_fen: int


@dataclass(frozen=True)
class Score:
    store_id: int
    recency_days: int | None  # days since the last order
    recent: bool
    frequent: bool
    valuable: bool
    segment: str | None  # None: the store never ordered, so it has no tier

    @property
    def tag(self) -> str | None:
        return tag_of(self.segment) if self.segment else None


def tag_of(segment: str) -> str:
    return TAG_PREFIX + segment


def score(activity: Activity, thresholds: Thresholds, today: date) -> Score:
    """The store's three marks and its segment, as of `today`."""
    if activity.last_day is None:
        return Score(activity.store_id, None, False, False, False, None)
    days = (today - activity.last_day).days
    recent = days <= thresholds.recency_days
    frequent = activity.orders >= thresholds.frequency_orders
    valuable = activity.gmv_fen >= thresholds.monetary_fen
    segment = SEGMENTS[(recent, frequent, valuable)]
    return Score(activity.store_id, days, recent, frequent, valuable, segment)


@dataclass(frozen=True)
class TagChanges:
    add: list[tuple[int, str]]
    remove: list[tuple[int, str]]

    @property
    def stores(self) -> list[int]:
        return sorted({store for store, _ in self.add} | {store for store, _ in self.remove})


def tag_changes(
    current: Mapping[int, Iterable[str]], wanted: Mapping[int, str | None]
) -> TagChanges:
    """What to write so each store in `wanted` carries exactly its RFM tag (or none):
    `current` holds the RFM tags the stores carry now (other tags are not this module's)."""
    add: list[tuple[int, str]] = []
    remove: list[tuple[int, str]] = []
    for store_id in sorted(wanted):
        tag = wanted[store_id]
        have = set(current.get(store_id, ()))
        remove.extend((store_id, old) for old in sorted(have) if old != tag)
        if tag is not None and tag not in have:
            add.append((store_id, tag))
    return TagChanges(add, remove)
