"""How a display submission, its photos and its reward are answered, the same wherever they
appear (the store's pages, the review queue, the figures)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.display.models import DisplayPhoto, DisplayReward, DisplaySubmission
from backend.display.terms import reward_text

EARTH_RADIUS_M = 6_371_000


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """Great-circle distance in whole metres (haversine): plenty for 'within 300 m'."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h))))


def photo_view(
    photo: DisplayPhoto, url: str, store_at: tuple[float, float] | None = None
) -> dict[str, Any]:
    """`url` from the storage (storage_for(settings).url(photo.key)); `store_at`, the store's
    (latitude, longitude), adds how far from it the photo was taken."""
    located = photo.latitude is not None and photo.longitude is not None
    far = None
    if located and store_at is not None:
        assert photo.latitude is not None and photo.longitude is not None
        far = distance_m(photo.latitude, photo.longitude, *store_at)
    return {
        "id": photo.id,
        "url": url,
        "width": photo.width,
        "height": photo.height,
        "taken_at": iso(photo.taken_at),
        "latitude": photo.latitude,
        "longitude": photo.longitude,
        "distance_m": far,
    }


def reward_view(reward: DisplayReward) -> dict[str, Any]:
    spec = {"kind": reward.kind, "amount": reward.amount, "value_fen": 0}
    if reward.kind == "voucher" and reward.amount:
        spec["value_fen"] = reward.cost_fen // reward.amount
    return {
        "id": reward.id,
        "check_seq": reward.check_seq,
        "kind": reward.kind,
        "amount": reward.amount,
        "cost_fen": reward.cost_fen,
        "text": reward_text(spec),
        "coupon_ids": list(reward.coupon_ids),
        "created_at": iso(reward.created_at),
    }


def submission_view(
    submission: DisplaySubmission,
    *,
    check_seq: int,
    photos: Sequence[dict[str, Any]],
    reward: DisplayReward | None,
) -> dict[str, Any]:
    """`photos`: photo_view()s in the order they were submitted."""
    return {
        "id": submission.id,
        "check_id": submission.display_check_id,  # type: ignore[attr-defined]
        "check_seq": check_seq,
        "attempt": submission.attempt,
        "status": submission.status,
        "verdict": submission.verdict,
        "reasons": list(submission.reasons),
        "photos": list(photos),
        "submitted_at": iso(submission.submitted_at),
        "first_review": submission.first_review,
        "review_reason": submission.review_reason,
        "reviewed_at": iso(submission.reviewed_at),
        "reward": None if reward is None else reward_view(reward),
    }
