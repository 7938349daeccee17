"""Diversion (窜货): a box surfacing at a store of another distributor than the one it was
shipped to, or outside that distributor's service area. `note_scan` is called by every store
scan inside its transaction; the brand's alert list and figures read what it wrote.

`diversion_rules` decides (pure); here are the scan's write (at most one read of org's
service area and one INSERT, both fixed SQL) and the brand's alerts: list, summary by
distributor and region, confirm or dismiss (guarded: only an open alert moves), and export.
Distributor staff read the alerts about boxes shipped to them; only brand staff handle them.
Names of stores, distributors and regions come from org's service, SKUs' from catalog's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from backend.catalog import service as catalog_service
from backend.codes import diversion_rules as rules
from backend.codes.errors import Invalid
from backend.codes.lookup import FoundCode
from backend.codes.models import CodeKind, DiversionAlert
from backend.codes.tokens import box_serial, item_serial
from backend.identity import service as identity_service
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal
from backend.infra import events, exports, sql
from backend.infra.exports import CHINA, Column, Kind, Row, china_time
from backend.kernel.errors import Conflict, NotFound
from backend.kernel.events import DiversionAlertRaised
from backend.notifications import service as notifications_service
from backend.org import service as org_service

EXPORT_BATCH = 500
GONE = "（已删除）"  # a store, distributor or region removed since the alert


class AlertNotFound(NotFound):
    code = "codes.alert_not_found"
    message = "找不到该窜货预警"


class AlertHandled(Conflict):
    """Confirm or dismiss of an alert someone already handled (or a replay)."""

    code = "codes.alert_handled"
    message = "该预警已处理，不能再次处理"


@dataclass(frozen=True, slots=True)
class Surfaced:
    """Where a code surfaced: the scanning store and, if the phone gave it, the place."""

    store_id: int
    store_distributor_id: int
    store_region_id: int | None
    action: str  # a ScanAction value
    latitude: float | None = None
    longitude: float | None = None


# ---- the scan's check ---------------------------------------------------------------------------

# One alert per box and store: a second scan of the box (or of another of its items) by the
# same store, or two scans at once, write nothing more.
_RAISE = (
    "INSERT INTO diversion_alerts (brand_id, code_id, box_id, batch_id, distributor_id,"
    " store_id, store_distributor_id, region_id, reason, scan_action, latitude, longitude,"
    " status, note, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, '', $14)"
    " ON CONFLICT (box_id, store_id) DO NOTHING RETURNING id"
)


async def note_scan(
    code: FoundCode, where: Surfaced, now: datetime, deps: Any = None
) -> str | None:
    """Raise an alert (once per box and store) if this scan is diversion; its reason (a
    DiversionReason value) or None. Runs in the scan's transaction, so it costs little: no
    statement for an unshipped box or a region-less store of its distributor, one read of
    the distributor's service area for its stores with a region, and one INSERT (ON CONFLICT
    DO NOTHING) for a diversion; it rolls back with the scan. A new alert is recorded as
    DiversionAlertRaised, whose staff notification (`notify_of_alert`) waits for the commit."""
    shipped_to = code.distributor_id
    area = None
    if rules.needs_area(shipped_to, where.store_distributor_id, where.store_region_id):
        assert shipped_to is not None and where.store_region_id is not None
        regions, covers = await org_service.service_area(shipped_to, where.store_region_id)
        area = rules.ServiceArea(regions=regions, covers=covers)
    reason = rules.reason(shipped_to, where.store_distributor_id, where.store_region_id, area)
    if reason is None:
        return None
    raised = await sql.fetch_one(
        _RAISE,
        code.brand_id,
        code.id,
        code.box_id,
        code.batch_id,
        shipped_to,
        where.store_id,
        where.store_distributor_id,
        where.store_region_id,
        reason,
        where.action,
        where.latitude,
        where.longitude,
        rules.OPEN,
        now,
    )
    if raised is not None:
        assert shipped_to is not None
        await events.record(
            deps,
            DiversionAlertRaised(
                alert_id=int(raised["id"]),
                brand_id=code.brand_id,
                distributor_id=shipped_to,
                store_id=where.store_id,
                store_distributor_id=where.store_distributor_id,
                raised_at=now,
            ),
        )
    return reason


# ---- telling the staff --------------------------------------------------------------------------

NOTIFICATION_KIND = "diversion.raised"


def notification_link(store_id: int) -> str:
    """What the notification opens: the store's alerts in the console's alert list."""
    return f"diversion-store:{store_id}"


async def notify_of_alert(deps: Any, raised: DiversionAlertRaised) -> None:
    """DiversionAlertRaised, after its scan commits: the brand's staff and the staff of the
    distributor the box was shipped to (whose goods leaked) hear of it in the console, once
    per store and distributor and China day, with the code, batch, product, the distributor
    and where it surfaced. Written in its own transaction and pushed once that commits; a
    failure is logged by the caller and leaves the alert (listed anyway) as it is."""
    # A store's earlier alert about boxes of the same distributor since this China day began
    # told the staff already: a store receiving a pallet of diverted boxes raises one alert
    # per box, and should ring the bell once a day, not once a box.
    told_today = DiversionAlert.filter(
        store_id=raised.store_id,
        distributor_id=raised.distributor_id,
        created_at__gte=_day_start(raised.raised_at.astimezone(CHINA).date()),
        id__lt=raised.alert_id,
    )
    if await told_today.exists():
        return
    rows = await DiversionAlert.filter(id=raised.alert_id).values(*_COLUMNS, **_RELATED)
    if not rows:
        return
    view = (await _views(raised.brand_id, rows))[0]
    told = await identity_service.brand_staff_user_ids(raised.brand_id)
    told += await identity_service.distributor_staff_user_ids(
        raised.brand_id, raised.distributor_id
    )
    shipped_to = (view["distributor"] or {}).get("name", "")
    region = view["region"]["name"] if view["region"] else ""
    where = f"「{view['store']['name']}」" + (f"（{region}）" if region else "")
    body = (
        f"{view['reason_label']}：发往「{shipped_to}」的{view['sku']['name']}"
        f"（{view['code']['kind_label']} {view['code']['serial_text']}，"
        f"批次 {view['batch']['batch_no']}）在{where}{view['scan_action_label']}。"
        "该门店今天再扫到发往该经销商的货不再逐条提醒，请在防窜货预警中查看。"
    )
    async with sql.transaction():
        await notifications_service.notify(
            raised.brand_id,
            told,
            kind=NOTIFICATION_KIND,
            title=f"窜货预警：{view['store']['name']}",
            body=body,
            link=notification_link(raised.store_id),
            now=raised.raised_at,
            broadcast=None if deps is None else deps.broadcast,
        )


# ---- who sees what -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list, summary or export is narrowed to (each None: any)."""

    distributor_id: int | None = None
    store_distributor_id: int | None = None
    store_id: int | None = None
    region_id: int | None = None
    batch_id: int | None = None
    status: str | None = None
    reason: str | None = None
    first_day: date | None = None  # China days, inclusive
    last_day: date | None = None

    def check(self) -> None:
        if self.first_day and self.last_day and self.first_day > self.last_day:
            raise Invalid(
                "开始日期不能晚于结束日期",
                details=[{"field": "from", "message": "开始日期不能晚于结束日期"}],
            )


def _day_start(day: date) -> datetime:
    """The first instant of a China day, in UTC as the stored times (SQLite compares text)."""
    return datetime.combine(day, time.min, tzinfo=CHINA).astimezone(UTC)


def _visible(principal: Principal, filters: Filters) -> QuerySet[DiversionAlert]:
    """The alerts `principal` may see, narrowed by `filters`: brand staff all of their brand's,
    distributor staff those of boxes shipped to their distributor; anyone else none."""
    query = DiversionAlert.filter(brand_id=principal.brand_id or 0)
    if principal.role in DISTRIBUTOR_ROLES and principal.distributor_id is not None:
        query = query.filter(distributor_id=principal.distributor_id)
    elif principal.role not in BRAND_ROLES:
        return query.filter(id__lt=0)
    wanted: dict[str, Any] = {
        "distributor_id": filters.distributor_id,
        "store_distributor_id": filters.store_distributor_id,
        "store_id": filters.store_id,
        "region_id": filters.region_id,
        "batch_id": filters.batch_id,
        "status": filters.status,
        "reason": filters.reason,
    }
    query = query.filter(**{key: value for key, value in wanted.items() if value is not None})
    if filters.first_day is not None:
        query = query.filter(created_at__gte=_day_start(filters.first_day))
    if filters.last_day is not None:
        query = query.filter(created_at__lt=_day_start(filters.last_day + timedelta(days=1)))
    return query


# ---- views ---------------------------------------------------------------------------------------

_COLUMNS = (
    "id",
    "reason",
    "status",
    "code_id",
    "batch_id",
    "distributor_id",
    "store_id",
    "store_distributor_id",
    "region_id",
    "latitude",
    "longitude",
    "scan_action",
    "created_at",
    "note",
    "handled_at",
    "handled_by_id",
)
_RELATED = {
    "code_kind": "code__kind",
    "code_serial": "code__serial",
    "code_token": "code__token",
    "batch_no": "batch__batch_no",
    "sku_id": "batch__sku_id",
}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _serial_text(kind: str, batch_no: str, serial: int) -> str:
    if kind == CodeKind.BOX.value:
        return box_serial(batch_no, serial)
    return item_serial(batch_no, serial)


class _Names:
    """Org's and catalog's names for the rows of one page or export batch, asked once per kind
    for the ids not seen yet (an export walks many batches with few distributors)."""

    def __init__(self, brand_id: int) -> None:
        self.brand_id = brand_id
        self.named: dict[str, dict[int, str]] = defaultdict(dict)
        self.stores: dict[int, dict[str, Any]] = {}

    async def learn(self, rows: list[dict[str, Any]]) -> None:
        for kind, keys in (
            ("distributor", ("distributor_id", "store_distributor_id")),
            ("region", ("region_id",)),
        ):
            known = self.named[kind]
            missing = {r[k] for r in rows for k in keys if r[k] is not None and r[k] not in known}
            if missing:
                found = await org_service.names(self.brand_id, kind, missing)
                known.update({i: found.get(i, GONE) for i in missing})
        skus = self.named["sku"]
        missing = {r["sku_id"] for r in rows if r["sku_id"] not in skus}
        if missing:
            found_skus = await catalog_service.sku_summaries(self.brand_id, missing)
            skus.update({i: found_skus[i].title if i in found_skus else GONE for i in missing})
        stores = {r["store_id"] for r in rows if r["store_id"] not in self.stores}
        if stores:
            cards = await org_service.store_cards(self.brand_id, stores)
            for store_id in stores:
                card = cards.get(store_id) or {"name": GONE, "address": ""}
                self.stores[store_id] = {"name": card["name"], "address": card["address"]}

    def name(self, kind: str, object_id: int | None) -> str:
        if object_id is None:
            return rules.NO_REGION if kind == "region" else ""
        return self.named[kind].get(object_id, GONE)

    def named_ref(self, kind: str, object_id: int | None) -> dict[str, Any] | None:
        if object_id is None:
            return None
        return {"id": object_id, "name": self.name(kind, object_id)}


def _view(row: dict[str, Any], names: _Names) -> dict[str, Any]:
    store = names.stores.get(row["store_id"], {"name": GONE, "address": ""})
    return {
        "id": row["id"],
        "reason": row["reason"],
        "reason_label": rules.reason_label(row["reason"]),
        "status": row["status"],
        "status_label": rules.status_label(row["status"]),
        "code": {
            "id": row["code_id"],
            "kind": row["code_kind"],
            "kind_label": "箱码" if row["code_kind"] == CodeKind.BOX.value else "物码",
            "serial_text": _serial_text(row["code_kind"], row["batch_no"], row["code_serial"]),
            "token": row["code_token"],
        },
        "batch": {"id": row["batch_id"], "batch_no": row["batch_no"]},
        "sku": {"id": row["sku_id"], "name": names.name("sku", row["sku_id"])},
        "distributor": names.named_ref("distributor", row["distributor_id"]),
        "store": {"id": row["store_id"], "name": store["name"], "address": store["address"]},
        "store_distributor": names.named_ref("distributor", row["store_distributor_id"]),
        "region": names.named_ref("region", row["region_id"]),
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "scan_action": row["scan_action"],
        "scan_action_label": rules.action_label(row["scan_action"]),
        "created_at": _iso(row["created_at"]),
        "note": row["note"],
        "handled_at": _iso(row["handled_at"]),
    }


async def _views(brand_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = _Names(brand_id)
    await names.learn(rows)
    return [_view(row, names) for row in rows]


# ---- the brand's list, summary and decisions ---------------------------------------------------


async def list_alerts(
    principal: Principal, filters: Filters, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The alerts `principal` may see, newest first, `limit` of them before id `before`."""
    filters.check()
    query = _visible(principal, filters)
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(limit).values(*_COLUMNS, **_RELATED)
    return await _views(principal.brand_id or 0, rows)


async def get_alert(principal: Principal, alert_id: int) -> dict[str, Any]:
    rows = await _visible(principal, Filters()).filter(id=alert_id).values(*_COLUMNS, **_RELATED)
    if not rows:
        raise AlertNotFound()
    return (await _views(principal.brand_id or 0, rows))[0]


def _counts() -> dict[str, int]:
    return {rules.OPEN: 0, rules.CONFIRMED: 0, rules.DISMISSED: 0, "total": 0}


async def summary(principal: Principal, filters: Filters) -> dict[str, Any]:
    """The alerts `principal` may see by distributor shipped to (open, confirmed, dismissed,
    total; most first) and by the region where they surfaced, with the totals: two grouped
    queries whatever the number of alerts."""
    filters.check()
    query = _visible(principal, filters)
    by_status = (
        await query.group_by("distributor_id", "status")
        .annotate(n=Count("id"))
        .values_list("distributor_id", "status", "n")
    )
    by_region = (
        await _visible(principal, filters)
        .group_by("region_id")
        .annotate(n=Count("id"))
        .values_list("region_id", "n")
    )
    totals = _counts()
    distributors: dict[int, dict[str, int]] = defaultdict(_counts)
    for distributor_id, status, n in by_status:
        for counts in (distributors[int(distributor_id)], totals):
            if status in counts:
                counts[status] += int(n)
            counts["total"] += int(n)
    brand_id = principal.brand_id or 0
    names = await org_service.names(brand_id, "distributor", distributors)
    regions = await org_service.names(brand_id, "region", [r for r, _ in by_region if r])
    by_distributor = [
        {"distributor": {"id": d, "name": names.get(d, GONE)}, **counts}
        for d, counts in sorted(distributors.items(), key=lambda item: (-item[1]["total"], item[0]))
    ]
    regions_view = [
        {
            "region": {
                "id": None if region_id is None else int(region_id),
                "name": rules.NO_REGION if region_id is None else regions.get(region_id, GONE),
            },
            "total": int(n),
        }
        for region_id, n in sorted(by_region, key=lambda item: (-int(item[1]), item[0] or 0))
    ]
    return {"totals": totals, "by_distributor": by_distributor, "by_region": regions_view}


_HANDLE = (
    "UPDATE diversion_alerts SET status = $1, note = $2, handled_by_id = $3, handled_at = $4"
    " WHERE id = $5 AND brand_id = $6 AND status = $7"
)


async def handle(
    principal: Principal,
    alert_id: int,
    decision: Literal["confirmed", "dismissed"],
    note: str,
    now: datetime,
) -> dict[str, Any]:
    """Confirm (the distributor is answerable) or dismiss (harmless: the note says why) an
    open alert of the brand. A guarded update: of two decisions at once, or a replay, one
    moves it and the others get codes.alert_handled; nothing else changes."""
    note = note.strip()
    if decision == rules.DISMISSED and not note:
        raise Invalid("请填写排除原因", details=[{"field": "note", "message": "请填写排除原因"}])
    brand_id = principal.brand_id
    if principal.role not in BRAND_ROLES or brand_id is None:
        raise AlertNotFound()
    moved = await sql.execute(
        _HANDLE, decision, note, principal.user_id or None, now, alert_id, brand_id, rules.OPEN
    )
    if moved != 1:
        alert = await DiversionAlert.get_or_none(id=alert_id, brand_id=brand_id)
        if alert is None:
            raise AlertNotFound()
        handled = china_time(alert.handled_at) if alert.handled_at else None
        when = f"于 {handled:%Y-%m-%d %H:%M} " if handled else ""
        raise AlertHandled(
            f"该预警已{when}处理为「{rules.status_label(alert.status)}」，不能再次处理"
        )
    return await get_alert(principal, alert_id)


# ---- export --------------------------------------------------------------------------------------

TABLE = exports.Table(
    "窜货预警",
    (
        Column("预警编号", 10, Kind.NUMBER),
        Column("发现时间", 20, Kind.TIME),
        Column("原因", 18),
        Column("状态", 10),
        Column("码类型", 8),
        Column("码序号", 22),
        Column("码值", 24),
        Column("批次号", 16),
        Column("商品", 24),
        Column("发货经销商", 20),
        Column("扫码门店", 24),
        Column("门店地址", 30),
        Column("门店所属经销商", 20),
        Column("区域", 14),
        Column("扫码动作", 10),
        Column("纬度", 12),
        Column("经度", 12),
        Column("处理时间", 20, Kind.TIME),
        Column("处理说明", 30),
    ),
    seconds=True,
)


def _place(value: float | None) -> str | None:
    return None if value is None else f"{value:.6f}"


def _export_row(view: dict[str, Any], row: dict[str, Any]) -> Row:
    return (
        view["id"],
        china_time(row["created_at"]),
        view["reason_label"],
        view["status_label"],
        view["code"]["kind_label"],
        view["code"]["serial_text"],
        view["code"]["token"],
        view["batch"]["batch_no"],
        view["sku"]["name"],
        (view["distributor"] or {}).get("name", ""),
        view["store"]["name"],
        view["store"]["address"],
        (view["store_distributor"] or {}).get("name", ""),
        view["region"]["name"] if view["region"] else rules.NO_REGION,
        view["scan_action_label"],
        _place(row["latitude"]),
        _place(row["longitude"]),
        china_time(row["handled_at"]) if row["handled_at"] else None,
        view["note"],
    )


async def export_rows(
    principal: Principal, filters: Filters, size: int = EXPORT_BATCH
) -> AsyncIterator[list[Row]]:
    """The filtered alerts oldest first, one list per keyset batch of `size` (memory stays
    flat however many there are)."""
    filters.check()
    names = _Names(principal.brand_id or 0)
    query = _visible(principal, filters)
    after = 0
    while True:
        rows = (
            await query.filter(id__gt=after)
            .order_by("id")
            .limit(size)
            .values(*_COLUMNS, **_RELATED)
        )
        if rows:
            await names.learn(rows)
            yield [_export_row(_view(row, names), row) for row in rows]
        if len(rows) < size:
            return
        after = rows[-1]["id"]


def export_chunks(
    principal: Principal, filters: Filters, format: Literal["csv", "xlsx"]
) -> AsyncGenerator[bytes]:
    encode = exports.xlsx_chunks if format == "xlsx" else exports.csv_chunks
    return encode(TABLE, export_rows(principal, filters))


# ---- for the brand's code figures (GET /codes/figures) ----------------------------------------

_BY_DISTRIBUTOR = (
    "SELECT distributor_id AS key, COUNT(*) AS n FROM diversion_alerts"
    " WHERE brand_id = $1 GROUP BY distributor_id"
)
_BY_SKU = (
    "SELECT t.sku_id AS key, COUNT(*) AS n FROM diversion_alerts a"
    " JOIN code_batches t ON t.id = a.batch_id WHERE a.brand_id = $1 GROUP BY t.sku_id"
)


async def alert_counts(brand_id: int, by: Literal["distributor", "sku"]) -> dict[int, int]:
    """How many alerts the brand's boxes raised, by the distributor they were shipped to or by
    their SKU: one grouped statement, for the figures of product codes."""
    rows = await sql.fetch(_BY_DISTRIBUTOR if by == "distributor" else _BY_SKU, brand_id)
    return {int(row["key"]): int(row["n"]) for row in rows}
