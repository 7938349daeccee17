"""What happened, as plain values: the domain events services record in their transaction.

Pure (no IO): each event is a frozen dataclass naming the change by ids and the time it
happened, never a model instance, so a handler (or, later, a durable job) can take it as it
is. backend/infra/events.py runs the handlers; backend/wiring.py registers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """An order was written, its stock reserved; `payable_fen` 0: nothing to pay."""

    order_id: int
    store_id: int
    payable_fen: int
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class OrderPaid:
    """An order moved to paid: by a WeChat payment, an offline one the distributor recorded,
    or the platform's 0-fen payment of an order that cost nothing."""

    order_id: int
    brand_id: int
    store_id: int
    payable_fen: int
    paid_at: datetime


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """An order was cancelled (by a person) or expired unpaid, and its stock given back."""

    order_id: int
    store_id: int
    expired: bool
    cancelled_at: datetime
