"""赋码批次: the brand asks for a print run of box and item codes for one SKU and production
batch, follows the job that writes them (generate.py), changes the batch's open-box reward,
downloads the codes for the printer as CSV, or prints a small run as a sheet of QR codes.

Every read is by the caller's brand: another brand's batch or SKU is not found, like an
unknown one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError

from backend.catalog import service as catalog_service
from backend.codes.errors import BatchNotFound, Invalid
from backend.codes.generate import GENERATE_TASK
from backend.codes.models import BatchStatus, CodeBatch, CodeKind, OpenReward
from backend.codes.tokens import box_serial, code_url, item_serial
from backend.identity.access import Principal
from backend.infra import jobs, sql
from backend.kernel.errors import Conflict, NotFound
from backend.kernel.money import yuan
from backend.kernel.spreadsheet import BOM

MAX_BOXES = 100_000
MAX_ITEMS_PER_BOX = 200
MAX_CODES = 2_000_000  # boxes and items of one batch
MAX_REWARD = 1_000_000  # points, or fen
SHEET_MAX_CODES = 2_000  # a batch larger than this is printed from the CSV by a print shop
SHEET_PAGE = 200  # codes per page of the sheet's JSON
EXPORT_CHUNK = 100_000  # codes per read of the CSV export (about 10 MB)

STATUS_LABELS = {
    BatchStatus.GENERATING.value: "生成中",
    BatchStatus.READY.value: "已生成",
    BatchStatus.FAILED.value: "生成失败",
}
KIND_LABELS = {CodeKind.BOX.value: "箱码", CodeKind.ITEM.value: "物码"}
CSV_HEADER = ("类型", "箱号", "序号", "链接", "码值")


class SkuNotFound(NotFound):
    code = "codes.sku_not_found"
    message = "找不到该商品规格"


class BatchExists(Conflict):
    code = "codes.batch_exists"
    message = "该商品已有相同生产批号的赋码批次"


class BatchNotReady(Conflict):
    code = "codes.batch_not_ready"
    message = "该批次的码还没有生成完毕，暂不能导出或打印"


class SheetTooLarge(Conflict):
    code = "codes.sheet_too_large"
    message = f"该批次超过 {SHEET_MAX_CODES} 个码，不能在此打印，请下载 CSV 交印厂印制"


def reward_text(kind: str, amount: int) -> str:
    if kind == OpenReward.POINTS.value and amount > 0:
        return f"开箱奖励 {amount} 积分"
    if kind == OpenReward.CASH.value and amount > 0:
        return f"开箱奖励 ¥{yuan(amount)}"
    return "无开箱奖励"


def normal_reward(reward: dict[str, Any] | None) -> tuple[str, int]:
    """(kind, amount) as stored: no reward is ("", 0), whatever amount came with it; a
    reward of 0 is no reward."""
    if not reward or not reward.get("kind") or not reward.get("amount"):
        return OpenReward.NONE.value, 0
    return str(reward["kind"]), int(reward["amount"])


@dataclass(frozen=True, slots=True)
class NewBatch:
    sku_id: int
    batch_no: str
    produced_on: date | None
    boxes: int
    items_per_box: int
    open_reward: dict[str, Any] | None

    @property
    def codes_total(self) -> int:
        return self.boxes * (self.items_per_box + 1)


def _brand(principal: Principal) -> int:
    if principal.brand_id is None:  # brand roles always carry one; a guard, not a path
        raise BatchNotFound()
    return principal.brand_id


async def _batch(brand_id: int, batch_id: int) -> CodeBatch:
    batch = await CodeBatch.get_or_none(id=batch_id, brand_id=brand_id)
    if batch is None:
        raise BatchNotFound()
    return batch


# ---- views ---------------------------------------------------------------------------------


async def _skus(brand_id: int, sku_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted(set(sku_ids))
    names = await catalog_service.sku_summaries(brand_id, ids)
    specs = await catalog_service.skus_by_id(brand_id, ids)
    return {
        sku_id: {
            "id": sku_id,
            "name": names[sku_id].title,
            "spec": str(specs.get(sku_id, {}).get("spec") or ""),
        }
        for sku_id in ids
        if sku_id in names
    }


async def _figures(batch_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Boxes shipped and received, items sold, per batch: read from the partial indexes of
    boxes and of sold items (idx_product_codes_batch_boxes, idx_product_codes_sold)."""
    if not batch_ids:
        return {}
    figures = {
        batch_id: {"shipped_boxes": 0, "received_boxes": 0, "sold_items": 0}
        for batch_id in batch_ids
    }
    for row in await sql.fetch(
        "SELECT batch_id, COUNT(distributor_id) AS shipped, COUNT(store_id) AS received"
        " FROM product_codes WHERE batch_id IN ($1) AND kind = 'box' GROUP BY batch_id",
        list(batch_ids),
    ):
        figures[int(row["batch_id"])]["shipped_boxes"] = int(row["shipped"])
        figures[int(row["batch_id"])]["received_boxes"] = int(row["received"])
    # Only items are sold (a whole box sold marks its items), and an item is of its box's
    # batch: counted in the partial index of sold codes, without reading a row.
    for row in await sql.fetch(
        "SELECT batch_id, COUNT(*) AS sold FROM product_codes"
        " WHERE batch_id IN ($1) AND sold_at IS NOT NULL GROUP BY batch_id",
        list(batch_ids),
    ):
        figures[int(row["batch_id"])]["sold_items"] = int(row["sold"])
    return figures


def batch_view(
    batch: CodeBatch, sku: dict[str, Any] | None, figures: dict[str, int] | None
) -> dict[str, Any]:
    sku_id = batch.sku_id  # type: ignore[attr-defined]
    return {
        "id": batch.id,
        "sku": sku or {"id": sku_id, "name": "", "spec": ""},
        "batch_no": batch.batch_no,
        "produced_on": batch.produced_on.isoformat() if batch.produced_on else None,
        "boxes": batch.boxes,
        "items_per_box": batch.items_per_box,
        "codes_total": batch.boxes * (batch.items_per_box + 1),
        "written": batch.written,
        "status": batch.status,
        "status_label": STATUS_LABELS.get(batch.status, batch.status),
        "error": batch.error,
        "open_reward": {
            "kind": batch.open_reward_kind,
            "amount": batch.open_reward_amount,
            "text": reward_text(batch.open_reward_kind, batch.open_reward_amount),
        },
        **(figures or {"shipped_boxes": 0, "received_boxes": 0, "sold_items": 0}),
        "created_at": batch.created_at.isoformat(),
        "ready_at": batch.ready_at.isoformat() if batch.ready_at else None,
    }


async def _views(brand_id: int, batches: Sequence[CodeBatch]) -> list[dict[str, Any]]:
    skus = await _skus(brand_id, [b.sku_id for b in batches])  # type: ignore[attr-defined]
    ready = [b.id for b in batches if b.status == BatchStatus.READY.value]
    figures = await _figures(ready)
    return [
        batch_view(b, skus.get(b.sku_id), figures.get(b.id))  # type: ignore[attr-defined]
        for b in batches
    ]


# ---- use cases -----------------------------------------------------------------------------


async def create_batch(principal: Principal, new: NewBatch, *, now: datetime) -> dict[str, Any]:
    """A new batch, GENERATING, and the job that writes its codes (deferred with it)."""
    brand_id = _brand(principal)
    if new.codes_total > MAX_CODES:
        message = f"一个批次最多 {MAX_CODES:,} 个码（箱数 ×（每箱物码数 + 1）），请分成多个批次"
        raise Invalid(message, details=[{"field": "boxes", "message": message}])
    if new.sku_id not in await catalog_service.sku_summaries(brand_id, [new.sku_id]):
        raise SkuNotFound()
    taken = CodeBatch.filter(brand_id=brand_id, sku_id=new.sku_id, batch_no=new.batch_no)
    if await taken.exists():
        raise BatchExists()
    kind, amount = normal_reward(new.open_reward)
    try:
        async with sql.transaction():
            batch = await CodeBatch.create(
                brand_id=brand_id,
                sku_id=new.sku_id,
                batch_no=new.batch_no,
                produced_on=new.produced_on,
                boxes=new.boxes,
                items_per_box=new.items_per_box,
                status=BatchStatus.GENERATING.value,
                open_reward_kind=kind,
                open_reward_amount=amount,
                # 0: a principal acting for the brand outside any sign-in (tests, the demo).
                created_by_id=principal.user_id or None,
                created_at=now,
            )
            await jobs.defer(
                GENERATE_TASK,
                {"batch_id": batch.id},
                brand_id=brand_id,
                now=now,
                context=f"赋码批次 {new.batch_no}",
            )
    except IntegrityError as exc:  # the same batch number created at the same moment
        raise BatchExists() from exc
    return (await _views(brand_id, [batch]))[0]


async def list_batches(
    principal: Principal,
    *,
    sku_id: int | None,
    status: str | None,
    text: str | None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The brand's batches, newest first (keyset `before`)."""
    brand_id = _brand(principal)
    rows = CodeBatch.filter(brand_id=brand_id)
    if sku_id is not None:
        rows = rows.filter(sku_id=sku_id)
    if status:
        rows = rows.filter(status=status)
    if text:
        rows = rows.filter(batch_no__icontains=text)
    if before is not None:
        rows = rows.filter(id__lt=before)
    return await _views(brand_id, await rows.order_by("-id").limit(limit))


async def get_batch(principal: Principal, batch_id: int) -> dict[str, Any]:
    brand_id = _brand(principal)
    return (await _views(brand_id, [await _batch(brand_id, batch_id)]))[0]


async def set_open_reward(
    principal: Principal, batch_id: int, reward: dict[str, Any] | None
) -> dict[str, Any]:
    """The reward for boxes received from now on; one already paid stands (the ledger)."""
    brand_id = _brand(principal)
    await _batch(brand_id, batch_id)
    kind, amount = normal_reward(reward)
    await CodeBatch.filter(id=batch_id, brand_id=brand_id).update(
        open_reward_kind=kind, open_reward_amount=amount
    )
    return await get_batch(principal, batch_id)


async def _ready(brand_id: int, batch_id: int) -> CodeBatch:
    batch = await _batch(brand_id, batch_id)
    if batch.status != BatchStatus.READY.value:
        raise BatchNotReady()
    return batch


# ---- the printable QR sheet -------------------------------------------------------------------


async def sheet(
    principal: Principal, batch_id: int, *, kind: str, page: int, base_url: str
) -> dict[str, Any]:
    """One page of a small batch's codes of `kind`, in serial order, for the console's QR
    sheet: at most SHEET_MAX_CODES codes in the whole batch."""
    brand_id = _brand(principal)
    batch = await _ready(brand_id, batch_id)
    total_codes = batch.boxes * (batch.items_per_box + 1)
    if total_codes > SHEET_MAX_CODES:
        raise SheetTooLarge()
    count = batch.boxes if kind == CodeKind.BOX.value else batch.boxes * batch.items_per_box
    pages = max(1, -(-count // SHEET_PAGE))
    if page > pages:
        message = f"页码超出范围（共 {pages} 页）"
        raise Invalid(message, details=[{"field": "page", "message": message}])
    first = (page - 1) * SHEET_PAGE + 1
    rows = await sql.fetch(
        "SELECT serial, token FROM product_codes"
        " WHERE batch_id = $1 AND kind = $2 AND serial BETWEEN $3 AND $4 ORDER BY serial",
        batch.id,
        kind,
        first,
        first + SHEET_PAGE - 1,
    )
    n = batch.items_per_box
    items = []
    for row in rows:
        serial, token = int(row["serial"]), str(row["token"])
        box = serial if kind == CodeKind.BOX.value else (serial - 1) // n + 1
        items.append(
            {
                "serial": serial,
                "serial_text": box_serial(batch.batch_no, serial)
                if kind == CodeKind.BOX.value
                else item_serial(batch.batch_no, serial),
                "box_serial_text": box_serial(batch.batch_no, box),
                "url": code_url(base_url, token),
                "token": token,
            }
        )
    skus = await _skus(brand_id, [batch.sku_id])  # type: ignore[attr-defined]
    return {
        "batch": {
            "id": batch.id,
            "batch_no": batch.batch_no,
            "sku": skus.get(batch.sku_id),  # type: ignore[attr-defined]
            "produced_on": batch.produced_on.isoformat() if batch.produced_on else None,
            "items_per_box": n,
            "open_reward": {
                "kind": batch.open_reward_kind,
                "amount": batch.open_reward_amount,
                "text": reward_text(batch.open_reward_kind, batch.open_reward_amount),
            },
        },
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "page": page,
        "pages": pages,
        "per_page": SHEET_PAGE,
        "total": count,
        "items": items,
    }


# ---- the CSV export ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Export:
    """What the CSV of one ready batch is made from."""

    batch_id: int
    batch_no: str
    boxes: int
    items_per_box: int

    @property
    def filename(self) -> str:
        return f"codes-{self.batch_no}.csv"


async def export_of(principal: Principal, batch_id: int) -> Export:
    """The batch to export, checked before the response starts (404, 409 not ready)."""
    batch = await _ready(_brand(principal), batch_id)
    return Export(batch.id, batch.batch_no, batch.boxes, batch.items_per_box)


# PostgreSQL writes the CSV lines itself (COPY (query) TO STDOUT): the same text the Python
# path below writes, as fast as the server reads its index. $1 batch, $2 first serial, $3
# last, $4 batch number, $5 URL prefix ("<base>/C/"), $6 items per box.
# Serials fit the widths: boxes <= 100,000 (6 digits), items <= 2,000,000 (7).
_COPY_BOXES = (
    "SELECT '箱码', $4::text || '-B' || lpad(serial::text, 6, '0'),"
    " $4::text || '-B' || lpad(serial::text, 6, '0'), $5::text || token, token"
    " FROM product_codes"
    " WHERE batch_id = $1::bigint AND kind = 'box' AND serial BETWEEN $2::int AND $3::int"
    " ORDER BY serial"
)
_COPY_ITEMS = (
    "SELECT '物码', $4::text || '-B' || lpad(((serial - 1) / $6::int + 1)::text, 6, '0'),"
    " $4::text || '-' || lpad(serial::text, 7, '0'), $5::text || token, token"
    " FROM product_codes"
    " WHERE batch_id = $1::bigint AND kind = 'item' AND serial BETWEEN $2::int AND $3::int"
    " ORDER BY serial"
)
_READ = (
    "SELECT serial, token FROM product_codes"
    " WHERE batch_id = $1 AND kind = $2 AND serial BETWEEN $3 AND $4 ORDER BY serial"
)


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


async def _copy_chunk(export: Export, kind: str, first: int, last: int, prefix: str) -> bytes:
    parts: list[bytes] = []

    async def sink(data: bytes) -> None:
        parts.append(bytes(data))

    query = _COPY_BOXES if kind == CodeKind.BOX.value else _COPY_ITEMS
    args: list[Any] = [export.batch_id, first, last, export.batch_no, prefix]
    if kind == CodeKind.ITEM.value:
        args.append(export.items_per_box)
    # The connection is held for one chunk only, never while the client reads.
    async with connections.get(sql.CONNECTION).acquire_connection() as conn:
        await conn.copy_from_query(query, *args, output=sink, format="csv")
    return b"".join(parts)


async def _read_chunk(export: Export, kind: str, first: int, last: int, prefix: str) -> bytes:
    rows = await sql.fetch(_READ, export.batch_id, kind, first, last)
    n, no = export.items_per_box, export.batch_no
    if kind == CodeKind.BOX.value:
        lines = [
            ("箱码", box_serial(no, s), box_serial(no, s), prefix + t, t)
            for s, t in ((int(r["serial"]), str(r["token"])) for r in rows)
        ]
    else:
        lines = [
            ("物码", box_serial(no, (s - 1) // n + 1), item_serial(no, s), prefix + t, t)
            for s, t in ((int(r["serial"]), str(r["token"])) for r in rows)
        ]
    return _csv(lines)


async def csv_chunks(export: Export, base_url: str) -> AsyncGenerator[bytes]:
    """The CSV for the printer, in pieces: every box code in serial order, then every item
    code in serial order (an item's 箱号 names its box). Read a range of serials at a time
    through the unique index on (batch, kind, serial): no OFFSET, memory bounded."""
    yield BOM + _csv([CSV_HEADER])
    prefix = code_url(base_url, "")
    chunk = _copy_chunk if sql.is_postgres() else _read_chunk
    for kind, count in (
        (CodeKind.BOX.value, export.boxes),
        (CodeKind.ITEM.value, export.boxes * export.items_per_box),
    ):
        for first in range(1, count + 1, EXPORT_CHUNK):
            yield await chunk(export, kind, first, min(count, first + EXPORT_CHUNK - 1), prefix)
