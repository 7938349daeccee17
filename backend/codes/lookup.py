"""Finding a code by its token, with what every scan needs to know of its box and batch,
in one indexed read (fixed SQL: this is the scan's hot path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.codes.errors import CodeNotFound
from backend.codes.models import BatchStatus, CodeKind
from backend.codes.tokens import token_in
from backend.infra import sql

# The code, its box (itself for a box) and its batch. `FOR UPDATE` variants are not needed:
# every change is a guarded UPDATE whose WHERE re-checks what was read here.
_FIND = (
    "SELECT c.id, c.brand_id, c.kind, c.serial, c.batch_id, c.sold_at, c.first_checked_at,"
    " c.checks, b.id AS box_id, b.serial AS box_serial, b.distributor_id, b.order_id,"
    " b.store_id AS box_store_id, b.received_at, b.rewarded_at, c.store_id AS item_store_id,"
    " t.sku_id, t.batch_no, t.produced_on, t.items_per_box, t.status AS batch_status,"
    " t.open_reward_kind, t.open_reward_amount"
    " FROM product_codes c"
    " JOIN product_codes b ON b.id = COALESCE(c.box_id, c.id)"
    " JOIN code_batches t ON t.id = c.batch_id"
    " WHERE c.token = $1"
)


def _instant(value: Any) -> datetime | None:
    """A timestamp as read: asyncpg gives datetimes, SQLite ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FoundCode:
    """A scanned code as the scan services see it. For an item, `box_*`, `distributor_id`,
    `order_id`, `received_at` and `rewarded_at` are its box's; for a box they are its own."""

    id: int
    token: str
    brand_id: int
    kind: CodeKind
    serial: int
    batch_id: int
    batch_no: str
    sku_id: int
    items_per_box: int
    box_id: int
    box_serial: int
    distributor_id: int | None  # where the box was shipped (None: not shipped yet)
    order_id: int | None  # the distributor's order the box rode on, if it named one
    box_store_id: int | None  # the store that received the box
    received_at: datetime | None
    rewarded_at: datetime | None
    item_store_id: int | None  # an item: the store that sold it
    sold_at: datetime | None  # an item: when it was sold
    first_checked_at: datetime | None
    checks: int
    open_reward_kind: str
    open_reward_amount: int
    produced_on: Any  # a date, or None

    @property
    def is_box(self) -> bool:
        return self.kind == CodeKind.BOX


async def find(text: str, brand_id: int | None = None) -> FoundCode:
    """The code a scanner read (`text`: its URL or bare token), of a ready batch and, when
    `brand_id` is given, of that brand; CodeNotFound otherwise (nothing is written)."""
    token = token_in(text)
    if token is None:
        raise CodeNotFound()
    row = await sql.fetch_one(_FIND, token)
    if (
        row is None
        or row["batch_status"] != BatchStatus.READY.value
        or (brand_id is not None and row["brand_id"] != brand_id)
    ):
        raise CodeNotFound()
    return FoundCode(
        id=row["id"],
        token=token,
        brand_id=row["brand_id"],
        kind=CodeKind(row["kind"]),
        serial=row["serial"],
        batch_id=row["batch_id"],
        batch_no=row["batch_no"],
        sku_id=row["sku_id"],
        items_per_box=row["items_per_box"],
        box_id=row["box_id"],
        box_serial=row["box_serial"],
        distributor_id=row["distributor_id"],
        order_id=row["order_id"],
        box_store_id=row["box_store_id"],
        received_at=_instant(row["received_at"]),
        rewarded_at=_instant(row["rewarded_at"]),
        item_store_id=row["item_store_id"],
        sold_at=_instant(row["sold_at"]),
        first_checked_at=_instant(row["first_checked_at"]),
        checks=row["checks"],
        open_reward_kind=row["open_reward_kind"],
        open_reward_amount=row["open_reward_amount"],
        produced_on=row["produced_on"],
    )
