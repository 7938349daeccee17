"""What the scans tell: a store's stock by SKU (its counters, moved by every scan), the stores'
stock and sell-through for the brand and distributors, the brand's figures per SKU and per
distributor, and the scan trail.

Reads only: fixed SQL over the codes' own tables, names through catalog and org. The figures
count boxes and items through the partial indexes on where they went (shipped, received,
sold; migration 0035_codes_indexes), so they cost what has happened, not the millions of
codes printed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backend.catalog import service as catalog_service
from backend.codes.lookup import _instant
from backend.codes.models import BatchStatus, CodeKind, ScanAction
from backend.codes.scans import ACTION_LABELS, KIND_LABELS
from backend.codes.tokens import box_serial, item_serial
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, STORE_ROLES, Principal
from backend.infra import sql
from backend.org import service as org_service


def _iso(value: Any) -> str | None:
    moment = _instant(value)
    return moment.isoformat() if moment else None


def sell_through(received: int, sold: int) -> float | None:
    """Sold as a percentage of received, one decimal; None before anything was received."""
    return round(sold * 100 / received, 1) if received > 0 else None


async def _cards(brand_id: int, sku_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return await catalog_service.sku_cards(brand_id, sku_ids)


def _sku(cards: dict[int, dict[str, Any]], sku_id: int) -> dict[str, Any]:
    card = cards.get(sku_id)
    return {
        "id": sku_id,
        "name": card["name"] if card else "",
        "spec": card["spec"] if card else "",
    }


class _Where:
    """An SQL condition built from the filters given, its values numbered in order."""

    def __init__(self, first: str, value: Any) -> None:
        self.parts = [first.replace("?", "$1")]
        self.values = [value]

    def add(self, condition: str, value: Any) -> None:
        self.parts.append(condition.replace("?", self.value(value)))

    def value(self, value: Any) -> str:
        """A value outside the condition (a LIMIT): its placeholder."""
        self.values.append(value)
        return f"${len(self.values)}"

    def __str__(self) -> str:
        return " AND ".join(self.parts)


def _distributor_scope(principal: Principal, requested: int | None) -> tuple[bool, int | None]:
    """(may see anything, the distributor whose stores' rows are shown or None for all)."""
    if principal.role in DISTRIBUTOR_ROLES:
        if requested is not None and requested != principal.distributor_id:
            return False, None
        return True, principal.distributor_id
    return True, requested


# ---- a store's own stock -------------------------------------------------------------------------


async def my_stock(principal: Principal) -> dict[str, Any]:
    """The calling store's stock by SKU, as its scans counted it."""
    assert principal.brand_id is not None
    rows = await sql.fetch(
        "SELECT sku_id, received, sold FROM store_code_stock WHERE store_id = $1 ORDER BY sku_id",
        principal.store_id,
    )
    cards = await _cards(principal.brand_id, [row["sku_id"] for row in rows])
    items = []
    for row in rows:
        card = cards.get(row["sku_id"], {})
        received, sold = int(row["received"]), int(row["sold"])
        items.append(
            {
                "sku_id": row["sku_id"],
                "name": card.get("name", ""),
                "spec": card.get("spec", ""),
                "image_url": card.get("image_url", ""),
                "received": received,
                "sold": sold,
                "on_hand": received - sold,
            }
        )
    return {"items": items}


# ---- stores' stock for the brand and distributors ------------------------------------------------


@dataclass(frozen=True)
class StockFilters:
    store_id: int | None = None
    sku_id: int | None = None
    distributor_id: int | None = None


async def store_stock(
    principal: Principal, filters: StockFilters, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """Rows per store and SKU (by id, `limit` of them after `after`): brand staff see all
    stores, a distributor's staff its own stores."""
    assert principal.brand_id is not None
    may, distributor_id = _distributor_scope(principal, filters.distributor_id)
    if not may:
        return []
    where = _Where("brand_id = ?", principal.brand_id)
    if filters.store_id is not None:
        where.add("store_id = ?", filters.store_id)
    if filters.sku_id is not None:
        where.add("sku_id = ?", filters.sku_id)
    if distributor_id is not None:
        where.add(
            org_service.store_of_distributor_sql("store_code_stock.store_id", "?"), distributor_id
        )
    if after is not None:
        where.add("id > ?", after)
    rows = await sql.fetch(
        "SELECT id, store_id, sku_id, received, sold, updated_at FROM store_code_stock"  # noqa: S608
        f" WHERE {where} ORDER BY id LIMIT {where.value(limit)}",
        *where.values,
    )
    stores = await org_service.stores_brief(principal.brand_id, [r["store_id"] for r in rows])
    distributors = await org_service.names(
        principal.brand_id, "distributor", [s["distributor_id"] for s in stores.values()]
    )
    cards = await _cards(principal.brand_id, [r["sku_id"] for r in rows])
    items = []
    for row in rows:
        store = stores.get(row["store_id"], {})
        received, sold = int(row["received"]), int(row["sold"])
        dist = store.get("distributor_id")
        items.append(
            {
                "id": row["id"],
                "store": {"id": row["store_id"], "name": store.get("name", "")},
                "distributor": {"id": dist, "name": distributors.get(dist, "")} if dist else None,
                "sku": _sku(cards, row["sku_id"]),
                "received": received,
                "sold": sold,
                "on_hand": received - sold,
                "sell_through": sell_through(received, sold),
                "updated_at": _iso(row["updated_at"]),
            }
        )
    return items


# ---- the brand's figures -------------------------------------------------------------------------

_MADE = (
    "SELECT sku_id, SUM(boxes) AS boxes, SUM(boxes * items_per_box) AS items FROM code_batches"
    " WHERE brand_id = $1 AND status = $2 GROUP BY sku_id"
)
# Boxes that went somewhere (shipped, or received without being shipped), by where and SKU:
# the brand's batches, each read in the partial index of boxes.
_BOXES = (
    "SELECT b.distributor_id, t.sku_id, COUNT(b.distributor_id) AS shipped,"
    " COUNT(b.store_id) AS received,"
    " SUM(CASE WHEN b.store_id IS NOT NULL THEN t.items_per_box ELSE 0 END) AS items_received"
    " FROM product_codes b JOIN code_batches t ON t.id = b.batch_id"
    " WHERE t.brand_id = $1 AND b.kind = $2"
    " AND (b.distributor_id IS NOT NULL OR b.store_id IS NOT NULL)"
    " GROUP BY b.distributor_id, t.sku_id"
)
# Items sold, by the distributor their box was shipped to (sold items carry the store; their
# boxes were received: the box side is read in the partial index of boxes, not the table).
_SOLD = (
    "SELECT b.distributor_id, COUNT(*) AS sold FROM product_codes i"
    " JOIN product_codes b ON b.id = i.box_id"
    " WHERE i.brand_id = $1 AND i.kind = $2 AND i.store_id IS NOT NULL AND i.sold_at IS NOT NULL"
    " AND b.kind = 'box' AND b.store_id IS NOT NULL"
    " GROUP BY b.distributor_id"
)
_STOCK_BY_SKU = (
    "SELECT sku_id, SUM(received) AS received, SUM(sold) AS sold FROM store_code_stock"
    " WHERE brand_id = $1 GROUP BY sku_id"
)
_ALERTS = (
    "SELECT a.distributor_id, t.sku_id, COUNT(*) AS alerts FROM diversion_alerts a"
    " JOIN code_batches t ON t.id = a.batch_id WHERE a.brand_id = $1"
    " GROUP BY a.distributor_id, t.sku_id"
)


async def figures(principal: Principal) -> dict[str, Any]:
    """Per SKU and per distributor: codes made, boxes shipped and received, items received
    and sold, sell-through, diversion alerts."""
    brand_id = principal.brand_id
    assert brand_id is not None
    made = await sql.fetch(_MADE, brand_id, BatchStatus.READY.value)
    boxes = await sql.fetch(_BOXES, brand_id, CodeKind.BOX.value)
    sold = await sql.fetch(_SOLD, brand_id, CodeKind.ITEM.value)
    stock = await sql.fetch(_STOCK_BY_SKU, brand_id)
    alerts = await sql.fetch(_ALERTS, brand_id)

    by_sku: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_distributor: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in made:
        sku = by_sku[row["sku_id"]]
        sku["boxes"] += int(row["boxes"])
        sku["items"] += int(row["items"])
    for row in boxes:
        sku = by_sku[row["sku_id"]]
        sku["boxes_shipped"] += int(row["shipped"])
        sku["boxes_received"] += int(row["received"])
        if row["distributor_id"] is not None:
            dist = by_distributor[row["distributor_id"]]
            dist["boxes_shipped"] += int(row["shipped"])
            dist["boxes_received"] += int(row["received"])
            dist["items_received"] += int(row["items_received"] or 0)
    for row in sold:
        if row["distributor_id"] is not None:
            by_distributor[row["distributor_id"]]["items_sold"] += int(row["sold"])
    for row in stock:
        sku = by_sku[row["sku_id"]]
        sku["items_received"] += int(row["received"] or 0)
        sku["items_sold"] += int(row["sold"] or 0)
    for row in alerts:
        by_sku[row["sku_id"]]["diversion_alerts"] += int(row["alerts"])
        by_distributor[row["distributor_id"]]["diversion_alerts"] += int(row["alerts"])

    cards = await _cards(brand_id, by_sku)
    names = await org_service.names(brand_id, "distributor", by_distributor)
    sku_rows = []
    for sku_id in sorted(by_sku):
        n = by_sku[sku_id]
        sku_rows.append(
            {
                "sku": _sku(cards, sku_id),
                "codes_made": n["boxes"] + n["items"],
                "boxes_made": n["boxes"],
                "items_made": n["items"],
                "boxes_shipped": n["boxes_shipped"],
                "boxes_received": n["boxes_received"],
                "items_received": n["items_received"],
                "items_sold": n["items_sold"],
                "sell_through": sell_through(n["items_received"], n["items_sold"]),
                "diversion_alerts": n["diversion_alerts"],
            }
        )
    distributor_rows = []
    for distributor_id in sorted(by_distributor, key=lambda d: (names.get(d, ""), d)):
        n = by_distributor[distributor_id]
        distributor_rows.append(
            {
                "distributor": {"id": distributor_id, "name": names.get(distributor_id, "")},
                "boxes_shipped": n["boxes_shipped"],
                "boxes_received": n["boxes_received"],
                "items_received": n["items_received"],
                "items_sold": n["items_sold"],
                "sell_through": sell_through(n["items_received"], n["items_sold"]),
                "diversion_alerts": n["diversion_alerts"],
            }
        )
    keys = ("codes_made", "boxes_shipped", "boxes_received", "items_received", "items_sold")
    totals: dict[str, Any] = {key: sum(row[key] for row in sku_rows) for key in keys}
    totals["diversion_alerts"] = sum(row["diversion_alerts"] for row in sku_rows)
    totals["sell_through"] = sell_through(totals["items_received"], totals["items_sold"])
    return {"by_sku": sku_rows, "by_distributor": distributor_rows, "totals": totals}


# ---- the scan trail ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanFilters:
    store_id: int | None = None
    distributor_id: int | None = None
    sku_id: int | None = None
    action: str | None = None
    diverted: bool | None = None


async def list_scans(
    principal: Principal, filters: ScanFilters, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Accepted scans, newest first: a store its own, a distributor's staff its stores',
    brand staff all of the brand's."""
    assert principal.brand_id is not None
    where = _Where("s.brand_id = ?", principal.brand_id)
    if principal.role in STORE_ROLES:
        where.add("s.store_id = ?", principal.store_id)
    elif principal.role not in BRAND_ROLES | DISTRIBUTOR_ROLES:
        return []
    may, distributor_id = _distributor_scope(principal, filters.distributor_id)
    if not may:
        return []
    if distributor_id is not None:
        where.add(org_service.store_of_distributor_sql("s.store_id", "?"), distributor_id)
    if filters.store_id is not None:
        where.add("s.store_id = ?", filters.store_id)
    if filters.action is not None:
        where.add("s.action = ?", filters.action)
    if filters.sku_id is not None:
        where.add("t.sku_id = ?", filters.sku_id)
    if filters.diverted is not None:
        where.add("s.diverted = ?", filters.diverted)
    if before is not None:
        where.add("s.id < ?", before)
    rows = await sql.fetch(
        "SELECT s.id, s.action, s.store_id, s.items, s.latitude, s.longitude, s.diverted,"  # noqa: S608
        " s.created_at, c.kind, c.serial, c.token, t.batch_no, t.sku_id"
        " FROM code_scans s JOIN product_codes c ON c.id = s.code_id"
        " JOIN code_batches t ON t.id = c.batch_id"
        f" WHERE {where} ORDER BY s.id DESC LIMIT {where.value(limit)}",
        *where.values,
    )
    stores = await org_service.stores_brief(
        principal.brand_id, [r["store_id"] for r in rows if r["store_id"]]
    )
    cards = await _cards(principal.brand_id, [r["sku_id"] for r in rows])
    items = []
    for row in rows:
        kind = CodeKind(row["kind"])
        serial = (box_serial if kind == CodeKind.BOX else item_serial)(
            row["batch_no"], row["serial"]
        )
        store = stores.get(row["store_id"]) if row["store_id"] else None
        items.append(
            {
                "id": row["id"],
                "action": row["action"],
                "action_label": ACTION_LABELS.get(ScanAction(row["action"]), row["action"]),
                "code": {
                    "kind": kind.value,
                    "kind_label": KIND_LABELS[kind],
                    "serial_text": serial,
                },
                "product": {"sku_id": row["sku_id"], "name": _sku(cards, row["sku_id"])["name"]},
                "store": {"id": store["id"], "name": store["name"]} if store else None,
                "items": row["items"],
                "diverted": bool(row["diverted"]),
                "latitude": row["latitude"],
                "longitude": row["longitude"],
                "created_at": _iso(row["created_at"]),
            }
        )
    return items
