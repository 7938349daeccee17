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
    """An order was written, its stock reserved; `payable_fen` 0: nothing to pay.
    `channel` is where it was placed ("live": in a live room)."""

    order_id: int
    store_id: int
    payable_fen: int
    placed_at: datetime
    channel: str = ""


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


@dataclass(frozen=True, slots=True)
class OrderShipped:
    """The distributor shipped an order."""

    order_id: int
    store_id: int
    shipped_at: datetime


@dataclass(frozen=True, slots=True)
class DeliverySigned:
    """The store signed for an order's delivery: the order is completed."""

    order_id: int
    store_id: int
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintFiled:
    """A store filed a complaint; `content_check` is WeChat's verdict on its text ("pass"
    or one a person must review)."""

    complaint_id: int
    brand_id: int
    store_id: int
    content_check: str
    filed_at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintStepTaken:
    """Something happened to a complaint after its filing: a workflow step (`step` is the
    action, `to_status` where it moved), a note, a review of its text, a rating, or a
    deadline missed ("breached", `message` says which; no actor: the system).

    `distributor_ids` are the distributors it was and is handed to (an assignment names
    both), `actor_id`/`actor_role` who took the step."""

    complaint_id: int
    brand_id: int
    store_id: int
    step: str
    distributor_ids: tuple[int, ...]
    actor_id: int | None
    actor_role: str
    to_status: str | None
    message: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LiveSessionStarted:
    """The host started a live session."""

    session_id: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class LiveSessionEnded:
    """The host ended a live session, with the rains still running in it (`rain_ids`, in the
    order they ended) and its room closed: `version` is the room's version the room is told
    the end with (taken as the room closed)."""

    session_id: int
    rain_ids: tuple[int, ...]
    version: int
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class LiveStreamChanged:
    """A session's video pull URL was given, changed or taken away (None)."""

    session_id: int
    stream_url: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DiversionAlertRaised:
    """A scan raised a new diversion alert (窜货): a box shipped to `distributor_id` surfaced
    at `store_id` (a store of `store_distributor_id`). Recorded once per alert (a second
    scan of the box by the same store raises none)."""

    alert_id: int
    brand_id: int
    distributor_id: int
    store_id: int
    store_distributor_id: int
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class StoreTagsChanged:
    """Tags were added to or taken from some of a brand's stores (`store_ids`, sorted): by
    staff editing a store or tagging in bulk, or by a job such as the daily RFM tiers. Only
    stores whose tags really changed are named."""

    brand_id: int
    store_ids: tuple[int, ...]
    changed_at: datetime
