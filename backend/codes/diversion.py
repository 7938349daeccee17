"""Diversion (窜货): a box surfacing at a store of another distributor than the one it was
shipped to, or outside that distributor's service area. `note_scan` is called by every store
scan inside its transaction; the brand's alert list and figures read what it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.codes.lookup import FoundCode


@dataclass(frozen=True, slots=True)
class Surfaced:
    """Where a code surfaced: the scanning store and, if the phone gave it, the place."""

    store_id: int
    store_distributor_id: int
    store_region_id: int | None
    action: str  # a ScanAction value
    latitude: float | None = None
    longitude: float | None = None


async def note_scan(code: FoundCode, where: Surfaced, now: datetime) -> str | None:
    """Raise an alert (once per box and store) if this scan is diversion; its reason (a
    DiversionReason value) or None. Runs in the scan's transaction."""
    return None  # written by the diversion part (issue 20): see the spec
