"""What other domains read of product codes; the codes' own use cases are modules of their
own (batches, shipments, scans, stock, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.codes.models import ScanAction
from backend.infra import sql


async def analytics_store_scans(store_id: int) -> dict[str, Any]:
    """A store's scans for its profile: boxes received, items sold by scan, items on hand by
    its scans, and when it last scanned (None: never)."""
    stock = await sql.fetch_one(
        "SELECT COALESCE(SUM(received), 0) AS received, COALESCE(SUM(sold), 0) AS sold"
        " FROM store_code_stock WHERE store_id = $1",
        store_id,
    )
    scans = await sql.fetch_one(
        "SELECT COUNT(CASE WHEN action = $2 THEN 1 END) AS boxes, MAX(created_at) AS last_at"
        " FROM code_scans WHERE store_id = $1",
        store_id,
        ScanAction.RECEIVE.value,
    )
    received = int(stock["received"]) if stock else 0
    sold = int(stock["sold"]) if stock else 0
    last_at = scans["last_at"] if scans else None
    if isinstance(last_at, str):  # SQLite gives text
        last_at = datetime.fromisoformat(last_at)
    return {
        "boxes_received": int(scans["boxes"]) if scans else 0,
        "items_received": received,
        "items_sold": sold,
        "items_on_hand": received - sold,
        "last_scan_at": None if last_at is None else last_at.isoformat(),
    }
