"""Shipping boxes (出库): the brand hands box codes to a distributor, by scanned codes or by
ranges of box serials, all or nothing; a distributor names the boxes one of its orders
carried; and the lists of shipments and boxes the console shows.

Every change is a guarded UPDATE whose WHERE re-checks what was read before it (a box still
unshipped, still not on an order), and the number of rows it touched is checked: when two
shipments race for one box, one touches it and the other rolls back whole and is answered
which boxes were taken. The reads before are only for telling people what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.catalog import service as catalog_service
from backend.codes.errors import BatchNotFound, CodeNotFound, Invalid, WrongKind
from backend.codes.models import BatchStatus, CodeKind, ShipmentKind
from backend.codes.tokens import box_serial, token_in
from backend.identity import service as identity_service
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal
from backend.imports import service as imports_service
from backend.infra import sql
from backend.kernel.errors import Conflict, DomainError, NotFound
from backend.ordering import service as ordering_service
from backend.org import service as org_service

MAX_CODES = 2000  # scanned codes in one request
MAX_RANGES = 100  # ranges in one request
MAX_RANGE_BOXES = 100_000  # boxes in one range (one UPDATE)
MAX_SHIPMENT_BOXES = 200_000  # boxes in one shipment
MAX_UPLOAD_ROWS = MAX_RANGES
CHUNK = 500  # ids per statement when reading or updating scanned boxes
EXAMPLES = 5  # boxes named in a range's refusal

KIND_LABELS = {
    ShipmentKind.TO_DISTRIBUTOR.value: "出库到经销商",
    ShipmentKind.DELIVERY.value: "订单发货",
}
STATE_LABELS = {"unshipped": "未出库", "shipped": "已出库", "received": "已入库"}
# Orders whose deliveries may name boxes: accepted and not yet finished.
OPEN_ORDER_STATUSES = frozenset({"accepted", "shipped", "delivered"})


# ---- errors ---------------------------------------------------------------------------------


class DistributorNotFound(NotFound):
    code = "codes.distributor_not_found"
    message = "找不到该经销商，或该经销商已停用"


class AlreadyShipped(Conflict):
    code = "codes.already_shipped"
    message = "有箱码已出库，不能重复出库"


class ShipmentRefused(Conflict):
    """Problems of more than one kind: `details` says for each code or range what and why."""

    code = "codes.shipment_refused"
    message = "有箱码不能出库，本次未做任何出库"


class ShipmentNotFound(NotFound):
    code = "codes.shipment_not_found"
    message = "找不到该出库记录"


class OrderNotOpen(Conflict):
    code = "codes.order_not_open"
    message = "该订单当前状态不能登记箱码：须为已接单、已发货或已送达"


class BoxNotYours(Conflict):
    code = "codes.box_not_yours"
    message = "有箱码不是出库给本经销商的"


class BoxNotOnOrder(Conflict):
    code = "codes.box_not_on_order"
    message = "有箱码的商品不在该订单中"


class BoxOnOrder(Conflict):
    code = "codes.box_on_order"
    message = "有箱码已登记在订单上"


class BoxReceived(Conflict):
    code = "codes.box_received"
    message = "有箱码已被门店扫码入库"


class DeliveryRefused(Conflict):
    code = "codes.delivery_refused"
    message = "有箱码不能登记到该订单，本次未做任何登记"


# One reason per bad code or range; when every problem has the same reason the answer is
# that reason's error, otherwise the mixed one.
_SHIP_ERRORS: dict[str, type[DomainError]] = {
    "not_found": CodeNotFound,
    "item_code": WrongKind,
    "already_shipped": AlreadyShipped,
    "batch_not_found": BatchNotFound,
}
_DELIVERY_ERRORS: dict[str, type[DomainError]] = {
    "not_found": CodeNotFound,
    "item_code": WrongKind,
    "box_not_yours": BoxNotYours,
    "box_not_on_order": BoxNotOnOrder,
    "box_on_order": BoxOnOrder,
    "box_received": BoxReceived,
}

_NOT_FOUND = "无法识别该码：不是本品牌的箱码"
_ITEM_CODE = "这是物码，请扫箱上的箱码"


def _refusal(
    problems: list[dict[str, Any]], errors: dict[str, type[DomainError]], mixed: type[DomainError]
) -> DomainError:
    reasons = {p["reason"] for p in problems}
    kind = errors.get(reasons.pop(), mixed) if len(reasons) == 1 else mixed
    first = problems[0]["message"]
    if len(problems) == 1:
        # A problem that already says what its error says ("无法识别该码：…") stands alone.
        said = kind is mixed or first.startswith(kind.message.split("：")[0])
        text = first if said else f"{kind.message}：{first}"
    else:
        text = f"{kind.message}（共 {len(problems)} 处，如：{first}），本次未做任何改动"
    return kind(text, details=problems)


def _in_order(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems in the order of what was sent: the codes, then the ranges."""

    def place(problem: dict[str, Any]) -> tuple[str, int]:
        kind, _, index = str(problem.get("field", "")).partition(".")
        return kind, int(index) if index.isdigit() else -1

    return sorted(problems, key=place)


def _iso(at: Any) -> str | None:
    """A timestamp as read, in ISO form: asyncpg gives datetimes, SQLite ISO text."""
    if at is None:
        return None
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


# ---- what is asked for ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RangeAsked:
    """Boxes `first`..`last` (serials, or their printed text) of one batch."""

    batch_id: int
    first: int | str
    last: int | str


@dataclass(frozen=True, slots=True)
class _Batch:
    id: int
    batch_no: str
    sku_id: int
    boxes: int
    items_per_box: int
    status: str


@dataclass(frozen=True, slots=True)
class _Range:
    field: str
    batch: _Batch
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


_SERIAL_TEXT = re.compile(r"^(?:(?P<batch>.+)-)?B?(?P<n>\d{1,9})$", re.IGNORECASE)


def _serial(value: int | str, batch: _Batch) -> int | None:
    """A box serial as given: its number, or its printed text ("20261201-B000042", "B42")."""
    if isinstance(value, int):
        return value
    found = _SERIAL_TEXT.match(value.strip())
    if found is None:
        return None
    if found.group("batch") is not None and found.group("batch") != batch.batch_no:
        return None
    return int(found.group("n"))


_BATCHES = (
    "SELECT id, batch_no, sku_id, boxes, items_per_box, status FROM code_batches"
    " WHERE brand_id = $1 AND id IN ($2)"
)


async def _batches(brand_id: int, ids: Sequence[int]) -> dict[int, _Batch]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await sql.fetch(_BATCHES, brand_id, wanted)
    return {
        int(r["id"]): _Batch(
            int(r["id"]),
            r["batch_no"],
            int(r["sku_id"]),
            int(r["boxes"]),
            int(r["items_per_box"]),
            r["status"],
        )
        for r in rows
    }


def _range_problem(field: str, asked: RangeAsked, reason: str, message: str) -> dict[str, Any]:
    return {
        "field": field,
        "batch_id": asked.batch_id,
        "from": asked.first,
        "to": asked.last,
        "reason": reason,
        "message": message,
    }


def _checked_ranges(
    asked: Sequence[RangeAsked], batches: dict[int, _Batch], problems: list[dict[str, Any]]
) -> list[_Range]:
    """The ranges that make sense on their own (the others go to `problems`)."""
    ranges: list[_Range] = []
    for index, one in enumerate(asked):
        field = f"ranges.{index}"
        batch = batches.get(one.batch_id)
        if batch is None:
            problems.append(_range_problem(field, one, "batch_not_found", "找不到该赋码批次"))
            continue
        if batch.status != BatchStatus.READY.value:
            message = f"批次 {batch.batch_no} 的码尚未生成完成，不能出库"
            problems.append(_range_problem(field, one, "batch_not_ready", message))
            continue
        first, last = _serial(one.first, batch), _serial(one.last, batch)
        if first is None or last is None:
            message = f"箱号格式不正确：应为箱序号或 {box_serial(batch.batch_no, 1)} 这样的箱号"
            problems.append(_range_problem(field, one, "bad_range", message))
            continue
        if not 1 <= first <= last <= batch.boxes:
            message = (
                f"箱号范围不正确：批次 {batch.batch_no} 共 {batch.boxes} 箱，"
                f"起始箱号须不大于结束箱号，且在 1–{batch.boxes} 之间"
            )
            problems.append(_range_problem(field, one, "bad_range", message))
            continue
        if last - first + 1 > MAX_RANGE_BOXES:
            message = f"一个范围最多 {MAX_RANGE_BOXES} 箱，请拆成几个范围"
            problems.append(_range_problem(field, one, "range_too_large", message))
            continue
        for other in ranges:
            if other.batch.id == batch.id and first <= other.last and other.first <= last:
                message = (
                    f"与第 {int(other.field.split('.')[1]) + 1} 个范围重叠"
                    f"（{box_serial(batch.batch_no, max(first, other.first))}）"
                )
                problems.append(_range_problem(field, one, "overlap", message))
                break
        else:
            ranges.append(_Range(field, batch, first, last))
    return ranges


# ---- reading scanned codes ------------------------------------------------------------------

_CODES = (
    "SELECT c.id, c.token, c.kind, c.serial, c.batch_id, c.distributor_id, c.order_id,"
    " c.store_id, t.batch_no, t.sku_id, t.items_per_box, t.status AS batch_status"
    " FROM product_codes c JOIN code_batches t ON t.id = c.batch_id"
    " WHERE c.brand_id = $1 AND c.token IN ($2)"
)


@dataclass(frozen=True, slots=True)
class _Box:
    id: int
    field: str
    text: str
    batch_id: int
    batch_no: str
    sku_id: int
    serial: int
    items_per_box: int
    distributor_id: int | None
    order_id: int | None
    store_id: int | None

    @property
    def serial_text(self) -> str:
        return box_serial(self.batch_no, self.serial)


async def _scanned_boxes(
    brand_id: int, texts: Sequence[str], problems: list[dict[str, Any]]
) -> list[_Box]:
    """The brand's boxes of ready batches that `texts` name, each once, in the order given
    (unknown codes, items and repeats of a box already named go to `problems` or away)."""
    tokens: list[tuple[int, str, str]] = []  # (index, text, token)
    for index, text in enumerate(texts):
        token = token_in(text)
        if token is None:
            problems.append(_code_problem(index, text, "not_found", _NOT_FOUND))
        else:
            tokens.append((index, text, token))
    rows: dict[str, sql.Row] = {}
    unique = list(dict.fromkeys(token for _, _, token in tokens))
    for start in range(0, len(unique), CHUNK):
        for fetched in await sql.fetch(_CODES, brand_id, unique[start : start + CHUNK]):
            rows[fetched["token"]] = fetched
    boxes: list[_Box] = []
    seen: set[int] = set()
    for index, text, token in tokens:
        row = rows.get(token)
        if row is None or row["batch_status"] != BatchStatus.READY.value:
            problems.append(_code_problem(index, text, "not_found", _NOT_FOUND))
        elif row["kind"] != CodeKind.BOX.value:
            problems.append(_code_problem(index, text, "item_code", _ITEM_CODE))
        elif row["id"] not in seen:  # a box scanned twice is one box
            seen.add(row["id"])
            boxes.append(
                _Box(
                    id=int(row["id"]),
                    field=f"codes.{index}",
                    text=text,
                    batch_id=int(row["batch_id"]),
                    batch_no=row["batch_no"],
                    sku_id=int(row["sku_id"]),
                    serial=int(row["serial"]),
                    items_per_box=int(row["items_per_box"]),
                    distributor_id=row["distributor_id"],
                    order_id=row["order_id"],
                    store_id=row["store_id"],
                )
            )
    return boxes


def _code_problem(
    index: int, text: str, reason: str, message: str, serial_text: str | None = None
) -> dict[str, Any]:
    return {
        "field": f"codes.{index}",
        "code": text[:200],
        "serial_text": serial_text,
        "reason": reason,
        "message": message,
    }


def _box_problem(box: _Box, reason: str, message: str) -> dict[str, Any]:
    return _code_problem(
        int(box.field.split(".")[1]), box.text, reason, message, serial_text=box.serial_text
    )


# ---- shipping to a distributor --------------------------------------------------------------

_SHIPPED_IN_RANGE = (
    "SELECT serial, distributor_id FROM product_codes"
    " WHERE batch_id = $1 AND kind = 'box' AND serial BETWEEN $2 AND $3"
    " AND distributor_id IS NOT NULL ORDER BY serial LIMIT $4"
)
_COUNT_SHIPPED_IN_RANGE = (
    "SELECT COUNT(*) AS n FROM product_codes"
    " WHERE batch_id = $1 AND kind = 'box' AND serial BETWEEN $2 AND $3"
    " AND distributor_id IS NOT NULL"
)
_SHIP_RANGE = (
    "UPDATE product_codes SET distributor_id = $1, shipment_id = $2"
    " WHERE batch_id = $3 AND kind = 'box' AND serial BETWEEN $4 AND $5"
    " AND distributor_id IS NULL"
)
_SHIP_BOXES = (
    "UPDATE product_codes SET distributor_id = $1, shipment_id = $2"
    " WHERE id IN ($3) AND kind = 'box' AND distributor_id IS NULL"
)
_DISTRIBUTOR_OF = "SELECT id, distributor_id FROM product_codes WHERE id IN ($1)"
_INSERT_SHIPMENT = (
    "INSERT INTO code_shipments (brand_id, kind, distributor_id, order_id, boxes, items, note,"
    " created_by_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
)


class _Lost(Exception):
    """A guarded update touched fewer boxes than it was sure of: another request took some
    between the check and the write. Raised inside the transaction to roll it back."""


# PostgreSQL's answer when two transactions wait on each other's boxes (deadlock_detected,
# serialization_failure): it rolls one back, and that one lost the race like any other.
_RACE_STATES = frozenset({"40P01", "40001"})


def _lost_race(exc: Exception) -> bool:
    return getattr(exc, "sqlstate", None) in _RACE_STATES


async def _shipped_problems(
    brand_id: int, ranges: Sequence[_Range], boxes: Sequence[_Box]
) -> list[dict[str, Any]]:
    """Which of the boxes asked for are already shipped, read now (names the distributor)."""
    found: list[tuple[dict[str, Any], int]] = []  # (problem, distributor id)
    for one in ranges:
        rows = await sql.fetch(_SHIPPED_IN_RANGE, one.batch.id, one.first, one.last, EXAMPLES)
        if not rows:
            continue
        count_row = await sql.fetch_one(_COUNT_SHIPPED_IN_RANGE, one.batch.id, one.first, one.last)
        count = int(count_row["n"]) if count_row else len(rows)
        examples = [box_serial(one.batch.batch_no, int(r["serial"])) for r in rows]
        problem: dict[str, Any] = {
            "field": one.field,
            "batch_id": one.batch.id,
            "from": box_serial(one.batch.batch_no, one.first),
            "to": box_serial(one.batch.batch_no, one.last),
            "reason": "already_shipped",
            "shipped": count,
            "examples": examples,
            "message": "",
        }
        found.append((problem, int(rows[0]["distributor_id"])))
    current: dict[int, int | None] = {}
    ids = [box.id for box in boxes]
    for start in range(0, len(ids), CHUNK):
        for row in await sql.fetch(_DISTRIBUTOR_OF, ids[start : start + CHUNK]):
            current[int(row["id"])] = row["distributor_id"]
    for box in boxes:
        distributor = current.get(box.id)
        if distributor is not None:
            found.append((_box_problem(box, "already_shipped", ""), int(distributor)))
    names = await org_service.names(brand_id, "distributor", (d for _, d in found))
    problems = []
    for problem, distributor_id in found:
        name = names.get(distributor_id, "其他经销商")
        if "examples" in problem:
            problem["message"] = (
                f"{problem['from']} 至 {problem['to']} 中有 {problem['shipped']} 箱已出库"
                f"（如 {problem['examples'][0]} 已出库到 {name}）"
            )
        else:
            problem["message"] = f"{problem['serial_text']} 已出库到 {name}"
        problems.append(problem)
    return problems


async def _write_shipment(
    principal: Principal,
    *,
    distributor_id: int,
    ranges: Sequence[_Range],
    boxes: Sequence[_Box],
    note: str,
    now: datetime,
) -> int:
    total = sum(r.count for r in ranges) + len(boxes)
    items = sum(r.count * r.batch.items_per_box for r in ranges) + sum(
        b.items_per_box for b in boxes
    )
    async with sql.atomic():
        row = await sql.fetch_one(
            _INSERT_SHIPMENT,
            principal.brand_id,
            ShipmentKind.TO_DISTRIBUTOR.value,
            distributor_id,
            None,
            total,
            items,
            note,
            principal.user_id or None,
            now,
        )
        assert row is not None
        shipment_id = int(row["id"])
        for one in sorted(ranges, key=lambda r: (r.batch.id, r.first)):
            touched = await sql.execute(
                _SHIP_RANGE, distributor_id, shipment_id, one.batch.id, one.first, one.last
            )
            if touched != one.count:
                raise _Lost()
        # Boxes in id order, as the ranges' are: concurrent shipments wait on each other in
        # one order, which keeps deadlocks rare (and one that happens is a lost race).
        ids = sorted(box.id for box in boxes)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            if await sql.execute(_SHIP_BOXES, distributor_id, shipment_id, chunk) != len(chunk):
                raise _Lost()
    return shipment_id


async def ship(
    principal: Principal,
    *,
    distributor_id: int,
    codes: Sequence[str],
    ranges: Sequence[RangeAsked],
    note: str,
    now: datetime,
) -> dict[str, Any]:
    """Ship the boxes named by `codes` (scanned) and `ranges` to the brand's distributor, all
    or nothing: any unknown code, item code, box of another brand or box already shipped
    refuses the whole request, naming each (nothing is written)."""
    brand_id = _brand(principal)
    if not codes and not ranges:
        raise Invalid("请扫描箱码或填写箱号范围", details=[_nothing_field()])
    name = await org_service.active_distributor_name(brand_id, distributor_id)
    if name is None:
        raise DistributorNotFound()
    problems: list[dict[str, Any]] = []
    boxes = await _scanned_boxes(brand_id, codes, problems)
    batches = await _batches(brand_id, [r.batch_id for r in ranges])
    checked = _checked_ranges(ranges, batches, problems)
    # A scanned box inside a range asked for is that range's.
    boxes = [b for b in boxes if not any(_within(b, r) for r in checked)]
    total = sum(r.count for r in checked) + len(boxes)
    if total > MAX_SHIPMENT_BOXES:
        raise Invalid(
            f"一次最多出库 {MAX_SHIPMENT_BOXES} 箱，本次 {total} 箱，请分几次出库",
            details=[{"field": "ranges", "message": f"一次最多出库 {MAX_SHIPMENT_BOXES} 箱"}],
        )
    problems += await _shipped_problems(brand_id, checked, boxes)
    if problems:
        raise _refusal(_in_order(problems), _SHIP_ERRORS, ShipmentRefused)
    try:
        shipment_id = await _write_shipment(
            principal,
            distributor_id=distributor_id,
            ranges=checked,
            boxes=boxes,
            note=note,
            now=now,
        )
    except _Lost:
        # Another shipment took some of these boxes after they were read: say which.
        lost = await _shipped_problems(brand_id, checked, boxes)
        if not lost:
            lost = [
                {"field": "codes", "reason": "already_shipped", "message": "箱码已被其他出库占用"}
            ]
        raise _refusal(lost, _SHIP_ERRORS, ShipmentRefused) from None
    return await get_shipment(principal, shipment_id, box_limit=0)


def _within(box: _Box, one: _Range) -> bool:
    return box.batch_id == one.batch.id and one.first <= box.serial <= one.last


def _nothing_field() -> dict[str, str]:
    return {"field": "codes", "message": "请扫描箱码或填写箱号范围"}


def _brand(principal: Principal) -> int:
    assert principal.brand_id is not None  # staff of a brand only reach here
    return principal.brand_id


# ---- ranges from a spreadsheet --------------------------------------------------------------

_COLUMNS = {"批次号": "batch_no", "起始箱号": "from", "结束箱号": "to", "批次ID": "batch_id"}


async def ranges_from_sheet(principal: Principal, data: bytes) -> dict[str, Any]:
    """Ranges read from an uploaded CSV/XLSX with columns 批次号, 起始箱号, 结束箱号 (and
    批次ID where one batch number is used for several SKUs), checked against the brand's
    batches: `{ranges, problems}`, each problem with its row number. Nothing is written."""
    brand_id = _brand(principal)
    table = await imports_service.read_sheet(data, max_rows=MAX_UPLOAD_ROWS)
    columns = {_COLUMNS[h]: i for i, h in enumerate(table.header) if h in _COLUMNS}
    missing = [h for h, key in _COLUMNS.items() if key != "batch_id" and key not in columns]
    if missing:
        raise Invalid(
            f"表头缺少：{'、'.join(missing)}（须有 批次号、起始箱号、结束箱号 三列）",
            details=[{"field": "file", "row": 1, "message": f"缺少列 {h}"} for h in missing],
        )
    if not table.rows:
        raise Invalid("文件中没有数据行", details=[{"field": "file", "message": "没有数据行"}])
    if table.more_rows:
        raise Invalid(
            f"一次最多 {MAX_UPLOAD_ROWS} 行范围",
            details=[{"field": "file", "message": f"超过 {MAX_UPLOAD_ROWS} 行"}],
        )
    rows = await sql.fetch(
        "SELECT id, batch_no FROM code_batches WHERE brand_id = $1 ORDER BY id", brand_id
    )
    by_no: dict[str, list[int]] = {}
    for row in rows:
        by_no.setdefault(row["batch_no"], []).append(int(row["id"]))
    problems: list[dict[str, Any]] = []
    asked: list[tuple[int, RangeAsked]] = []
    for number, cells in table.rows:

        def cell(key: str, cells: list[Any] = cells) -> str | None:
            index = columns.get(key)
            if index is None or index >= len(cells):
                return None
            try:
                return imports_service.cell_text(cells[index])
            except TypeError:
                return ""

        batch_no, first, last, batch_id = (
            cell("batch_no"),
            cell("from"),
            cell("to"),
            cell("batch_id"),
        )
        if not batch_no or not first or not last:
            problems.append({"row": number, "message": "批次号、起始箱号、结束箱号都须填写"})
            continue
        ids = by_no.get(batch_no, [])
        if batch_id:
            ids = [i for i in ids if str(i) == batch_id]
        if not ids:
            problems.append({"row": number, "message": f"找不到批次号 {batch_no}"})
            continue
        if len(ids) > 1:
            problems.append(
                {"row": number, "message": f"批次号 {batch_no} 对应多个商品的批次，请填写批次ID列"}
            )
            continue
        asked.append((number, RangeAsked(ids[0], first, last)))
    batches = await _batches(brand_id, [a.batch_id for _, a in asked])
    range_problems: list[dict[str, Any]] = []
    checked = _checked_ranges([a for _, a in asked], batches, range_problems)
    for problem in range_problems:
        number = asked[int(problem["field"].split(".")[1])][0]
        problems.append({"row": number, "message": problem["message"]})
    shipped = await _shipped_problems(brand_id, checked, [])
    for problem in shipped:
        number = asked[int(problem["field"].split(".")[1])][0]
        problems.append({"row": number, "message": problem["message"]})
    problems.sort(key=lambda p: p["row"])
    bad_rows = {p["row"] for p in problems}
    skus = await catalog_service.sku_summaries(brand_id, (b.sku_id for b in batches.values()))
    return {
        "ranges": [
            {
                "row": asked[int(r.field.split(".")[1])][0],
                "batch_id": r.batch.id,
                "batch_no": r.batch.batch_no,
                "sku": _sku(skus, r.batch.sku_id),
                "from": r.first,
                "to": r.last,
                "from_text": box_serial(r.batch.batch_no, r.first),
                "to_text": box_serial(r.batch.batch_no, r.last),
                "boxes": r.count,
                "items": r.count * r.batch.items_per_box,
            }
            for r in checked
            if asked[int(r.field.split(".")[1])][0] not in bad_rows
        ],
        "problems": problems,
    }


def _sku(skus: dict[int, Any], sku_id: int) -> dict[str, Any]:
    summary = skus.get(sku_id)
    return {"id": sku_id, "name": summary.title if summary else ""}


# ---- order deliveries -----------------------------------------------------------------------

_NAME_BOXES = (
    "UPDATE product_codes SET order_id = $1 WHERE id IN ($2) AND kind = 'box'"
    " AND distributor_id = $3 AND order_id IS NULL AND store_id IS NULL"
)
_BOXES_NOW = "SELECT id, distributor_id, order_id, store_id FROM product_codes WHERE id IN ($1)"


def _delivery_problems(
    boxes: Sequence[_Box],
    order: ordering_service.OrderForCodes,
    state: dict[int, sql.Row] | None = None,
) -> list[dict[str, Any]]:
    """Why each box may not ride on `order` (by the box as read, or as `state` says now)."""
    problems = []
    for box in boxes:
        now = state.get(box.id) if state is not None else None
        distributor = now["distributor_id"] if now else box.distributor_id
        on_order = now["order_id"] if now else box.order_id
        store = now["store_id"] if now else box.store_id
        if distributor != order.distributor_id:
            problems.append(
                _box_problem(box, "box_not_yours", f"{box.serial_text} 不是出库给本经销商的箱")
            )
        elif box.sku_id not in order.sku_ids:
            problems.append(
                _box_problem(box, "box_not_on_order", f"{box.serial_text} 的商品不在该订单中")
            )
        elif on_order == order.id:
            problems.append(
                _box_problem(box, "box_on_order", f"{box.serial_text} 已登记在本订单上")
            )
        elif on_order is not None:
            problems.append(
                _box_problem(box, "box_on_order", f"{box.serial_text} 已登记在其他订单上")
            )
        elif store is not None:
            problems.append(
                _box_problem(box, "box_received", f"{box.serial_text} 已被门店扫码入库")
            )
    return problems


async def deliver(
    principal: Principal, *, order_id: int, codes: Sequence[str], now: datetime
) -> dict[str, Any]:
    """Name the boxes one of the distributor's orders carries (all or nothing): each a box
    shipped to this distributor, of a SKU on the order, on no order yet and not received."""
    brand_id = _brand(principal)
    order = await ordering_service.order_for_codes(principal, order_id)
    if order.status not in OPEN_ORDER_STATUSES:
        raise OrderNotOpen()
    if not codes:
        raise Invalid("请扫描箱码", details=[{"field": "codes", "message": "请扫描箱码"}])
    problems: list[dict[str, Any]] = []
    boxes = await _scanned_boxes(brand_id, codes, problems)
    problems += _delivery_problems(boxes, order)
    if problems:
        raise _refusal(_in_order(problems), _DELIVERY_ERRORS, DeliveryRefused)
    ids = sorted(box.id for box in boxes)
    try:
        try:
            shipment_id = await _write_delivery(
                principal, order, ids, sum(box.items_per_box for box in boxes), now
            )
        except Exception as exc:
            if _lost_race(exc):
                raise _Lost() from exc
            raise
    except _Lost:
        state: dict[int, sql.Row] = {}
        for start in range(0, len(ids), CHUNK):
            for current in await sql.fetch(_BOXES_NOW, ids[start : start + CHUNK]):
                state[int(current["id"])] = current
        lost = _delivery_problems(boxes, order, state) or [
            {"field": "codes", "reason": "box_on_order", "message": "箱码已被其他订单占用"}
        ]
        raise _refusal(lost, _DELIVERY_ERRORS, DeliveryRefused) from None
    return await get_shipment(principal, shipment_id, box_limit=0)


async def _write_delivery(
    principal: Principal,
    order: ordering_service.OrderForCodes,
    ids: Sequence[int],
    items: int,
    now: datetime,
) -> int:
    async with sql.atomic():
        row = await sql.fetch_one(
            _INSERT_SHIPMENT,
            order.brand_id,
            ShipmentKind.DELIVERY.value,
            order.distributor_id,
            order.id,
            len(ids),
            items,
            "",
            principal.user_id or None,
            now,
        )
        assert row is not None
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            touched = await sql.execute(_NAME_BOXES, order.id, chunk, order.distributor_id)
            if touched != len(chunk):
                raise _Lost()
    return int(row["id"])


async def order_boxes(principal: Principal, order_id: int) -> dict[str, Any]:
    """The boxes an order carried, for whoever may see the order (brand, its distributor, its
    store)."""
    order = await ordering_service.order_for_codes(principal, order_id)
    rows = await sql.fetch(
        _BOX_ROWS + " WHERE c.brand_id = $1 AND c.order_id = $2 AND c.kind = 'box'"
        " ORDER BY c.batch_id, c.serial LIMIT 5000",
        order.brand_id,
        order.id,
    )
    items = await _box_views(order.brand_id, rows)
    return {
        "order_id": order.id,
        "order_no": order.order_no,
        "status": order.status,
        "can_add": order.status in OPEN_ORDER_STATUSES
        and principal.role in {r.value for r in DISTRIBUTOR_ROLES},
        "boxes": len(items),
        "items_total": sum(b["items"] for b in items),
        "received": sum(1 for b in items if b["state"] == "received"),
        "items": items,
    }


# ---- reading shipments and boxes ------------------------------------------------------------

_BOX_ROWS = (
    "SELECT c.id, c.serial, c.batch_id, c.distributor_id, c.shipment_id, c.order_id,"
    " c.store_id, c.received_at, t.batch_no, t.sku_id, t.items_per_box"
    " FROM product_codes c JOIN code_batches t ON t.id = c.batch_id"
)


def _state(row: sql.Row) -> str:
    if row["store_id"] is not None:
        return "received"
    return "shipped" if row["distributor_id"] is not None else "unshipped"


async def _box_views(brand_id: int, rows: Sequence[sql.Row]) -> list[dict[str, Any]]:
    distributors = await org_service.names(
        brand_id, "distributor", (r["distributor_id"] for r in rows if r["distributor_id"])
    )
    stores = await org_service.names(
        brand_id, "store", (r["store_id"] for r in rows if r["store_id"])
    )
    orders = await ordering_service.order_numbers(
        brand_id, [r["order_id"] for r in rows if r["order_id"]]
    )
    skus = await catalog_service.sku_summaries(brand_id, (r["sku_id"] for r in rows))
    views = []
    for r in rows:
        state = _state(r)
        views.append(
            {
                "id": int(r["id"]),
                "serial": int(r["serial"]),
                "serial_text": box_serial(r["batch_no"], int(r["serial"])),
                "batch": {"id": int(r["batch_id"]), "batch_no": r["batch_no"]},
                "sku": _sku(skus, int(r["sku_id"])),
                "items": int(r["items_per_box"]),
                "state": state,
                "state_label": STATE_LABELS[state],
                "distributor": _named(r["distributor_id"], distributors),
                "shipment_id": r["shipment_id"],
                "order": None
                if r["order_id"] is None
                else {"id": int(r["order_id"]), "order_no": orders.get(int(r["order_id"]), "")},
                "store": _named(r["store_id"], stores),
                "received_at": _iso(r["received_at"]),
            }
        )
    return views


def _named(object_id: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    return (
        None if object_id is None else {"id": int(object_id), "name": names.get(int(object_id), "")}
    )


def _scope(principal: Principal) -> tuple[int, int | None]:
    """(brand, distributor) the caller sees: a distributor only what was shipped to it."""
    brand_id = _brand(principal)
    if principal.role in {r.value for r in BRAND_ROLES}:
        return brand_id, None
    assert principal.distributor_id is not None
    return brand_id, principal.distributor_id


_BOX_SERIAL = re.compile(r"^(?P<batch>.+)-B(?P<n>\d{1,9})$", re.IGNORECASE)


def _box_filters(
    brand_id: int,
    *,
    own: int | None,
    distributor_id: int | None,
    batch_id: int | None,
    shipment_id: int | None,
    order_id: int | None,
    state: str | None,
    text: str | None,
) -> tuple[list[str], list[Any]]:
    """The WHERE conditions of a box list and their arguments ($1 is the brand)."""
    where = ["c.brand_id = $1", "c.kind = 'box'"]
    args: list[Any] = [brand_id]

    def add(condition: str, *values: Any) -> None:
        for value in values:
            args.append(value)
            condition = condition.replace("?", f"${len(args)}", 1)
        where.append(condition)

    if own is not None:
        add("c.distributor_id = ?", own)
    if distributor_id is not None:
        add("c.distributor_id = ?", distributor_id)
    if batch_id is not None:
        add("c.batch_id = ?", batch_id)
    if shipment_id is not None:
        add("c.shipment_id = ?", shipment_id)
    if order_id is not None:
        add("c.order_id = ?", order_id)
    if state == "unshipped":
        where.append("c.distributor_id IS NULL")
    elif state == "shipped":
        where.append("c.distributor_id IS NOT NULL AND c.store_id IS NULL")
    elif state == "received":
        where.append("c.store_id IS NOT NULL")
    if text:
        token = token_in(text)
        serial = _BOX_SERIAL.match(text)
        if token is not None:
            add(
                "c.id = (SELECT COALESCE(f.box_id, f.id) FROM product_codes f"
                " WHERE f.token = ? AND f.brand_id = ?)",
                token,
                brand_id,
            )
        elif serial is not None:
            add("t.batch_no = ? AND c.serial = ?", serial.group("batch"), int(serial.group("n")))
        else:
            add("t.batch_no = ?", text)
    return where, args


async def list_boxes(
    principal: Principal,
    *,
    distributor_id: int | None = None,
    batch_id: int | None = None,
    shipment_id: int | None = None,
    order_id: int | None = None,
    state: str | None = None,
    text: str | None = None,
    after: int | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    """Boxes with their state, in id order (keyset `after`); `text` a scanned code (a box,
    or an item meaning its box), a box serial text or a batch number."""
    brand_id, own = _scope(principal)
    where, args = _box_filters(
        brand_id,
        own=own,
        distributor_id=distributor_id,
        batch_id=batch_id,
        shipment_id=shipment_id,
        order_id=order_id,
        state=state,
        text=text,
    )
    if after is not None:
        args.append(after)
        where.append(f"c.id > ${len(args)}")
    args.append(limit)
    rows = await sql.fetch(
        f"{_BOX_ROWS} WHERE {' AND '.join(where)} ORDER BY c.id LIMIT ${len(args)}", *args
    )
    return await _box_views(brand_id, rows)


_SHIPMENT_ROWS = (
    "SELECT id, brand_id, kind, distributor_id, order_id, boxes, items, note, created_by_id,"
    " created_at FROM code_shipments"
)


async def _shipment_views(brand_id: int, rows: Sequence[sql.Row]) -> list[dict[str, Any]]:
    distributors = await org_service.names(
        brand_id, "distributor", (r["distributor_id"] for r in rows)
    )
    users = await identity_service.user_names(
        int(r["created_by_id"]) for r in rows if r["created_by_id"]
    )
    orders = await ordering_service.order_numbers(
        brand_id, [r["order_id"] for r in rows if r["order_id"]]
    )
    return [
        {
            "id": int(r["id"]),
            "kind": r["kind"],
            "kind_label": KIND_LABELS.get(r["kind"], r["kind"]),
            "distributor": _named(r["distributor_id"], distributors),
            "order": None
            if r["order_id"] is None
            else {"id": int(r["order_id"]), "order_no": orders.get(int(r["order_id"]), "")},
            "boxes": int(r["boxes"]),
            "items": int(r["items"]),
            "note": r["note"],
            "created_at": _iso(r["created_at"]),
            "created_by": _named(r["created_by_id"], users),
        }
        for r in rows
    ]


async def list_shipments(
    principal: Principal,
    *,
    kind: str | None = None,
    distributor_id: int | None = None,
    order_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    """Shipments newest first (keyset `before`): the brand's all, a distributor its own."""
    brand_id, own = _scope(principal)
    where = ["brand_id = $1"]
    args: list[Any] = [brand_id]
    for column, value in (
        ("distributor_id", own),
        ("distributor_id", distributor_id),
        ("kind", kind),
        ("order_id", order_id),
    ):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    bounds: tuple[tuple[str, datetime | int | None], ...] = (
        ("created_at >= ", since),
        ("created_at < ", until),
        ("id < ", before),
    )
    for condition, bound in bounds:
        if bound is not None:
            args.append(bound.astimezone(UTC) if isinstance(bound, datetime) else bound)
            where.append(f"{condition}${len(args)}")
    args.append(limit)
    rows = await sql.fetch(
        f"{_SHIPMENT_ROWS} WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ${len(args)}", *args
    )
    return await _shipment_views(brand_id, rows)


async def get_shipment(
    principal: Principal, shipment_id: int, *, after: int | None = None, box_limit: int = 50
) -> dict[str, Any]:
    """One shipment (another brand's or distributor's: 404) with a page of its boxes: a
    shipment to a distributor its own boxes, an order's delivery every box on that order."""
    brand_id, own = _scope(principal)
    row = await sql.fetch_one(
        f"{_SHIPMENT_ROWS} WHERE id = $1 AND brand_id = $2", shipment_id, brand_id
    )
    if row is None or (own is not None and row["distributor_id"] != own):
        raise ShipmentNotFound()
    view = (await _shipment_views(brand_id, [row]))[0]
    if box_limit <= 0:
        return view
    if row["kind"] == ShipmentKind.DELIVERY.value:
        boxes = await list_boxes(
            principal, order_id=row["order_id"], after=after, limit=box_limit + 1
        )
    else:
        boxes = await list_boxes(principal, shipment_id=row["id"], after=after, limit=box_limit + 1)
    shown = boxes[:box_limit]
    more = len(boxes) > box_limit and shown
    view["box_list"] = {"items": shown, "next_after": shown[-1]["id"] if more else None}
    view["by_batch"] = await _by_batch(brand_id, row)
    return view


async def _by_batch(brand_id: int, shipment: sql.Row) -> list[dict[str, Any]]:
    column, value = (
        ("order_id", shipment["order_id"])
        if shipment["kind"] == ShipmentKind.DELIVERY.value
        else ("shipment_id", shipment["id"])
    )
    rows = await sql.fetch(
        "SELECT c.batch_id, t.batch_no, t.sku_id, t.items_per_box, COUNT(*) AS boxes,"  # noqa: S608
        " MIN(c.serial) AS first, MAX(c.serial) AS last"
        " FROM product_codes c JOIN code_batches t ON t.id = c.batch_id"
        f" WHERE c.brand_id = $1 AND c.{column} = $2 AND c.kind = 'box'"
        " GROUP BY c.batch_id, t.batch_no, t.sku_id, t.items_per_box ORDER BY c.batch_id",
        brand_id,
        value,
    )
    skus = await catalog_service.sku_summaries(brand_id, (r["sku_id"] for r in rows))
    return [
        {
            "batch": {"id": int(r["batch_id"]), "batch_no": r["batch_no"]},
            "sku": _sku(skus, int(r["sku_id"])),
            "boxes": int(r["boxes"]),
            "items": int(r["boxes"]) * int(r["items_per_box"]),
            "first": box_serial(r["batch_no"], int(r["first"])),
            "last": box_serial(r["batch_no"], int(r["last"])),
        }
        for r in rows
    ]
