"""Store scans (门店扫码): a store receives a box (扫码入库: its items into the store's stock,
the batch's open-box reward paid once, the delivery of the store's order signed) and sells
items, one at a time or a whole box (动销); anyone signed in may look a code up first.

The scan is the hot path (100 stores scanning at once over 10 million codes): the code is
read once by `lookup.find`, the store once through org, and the transaction is a few
statements of fixed SQL (infra/sql.py), each change a guarded UPDATE whose WHERE re-checks
what was read, so two scans of one code at once give one effect. A refused scan writes
nothing: every refusal is raised before the first write, or rolls the transaction back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.catalog import service as catalog_service
from backend.codes import diversion
from backend.codes.errors import WrongKind
from backend.codes.lookup import FoundCode, _instant, find
from backend.codes.models import CodeKind, OpenReward, ScanAction
from backend.codes.tokens import box_serial, item_serial
from backend.deps import Deps
from backend.identity.access import STORE_ROLES, Principal
from backend.infra import sql
from backend.kernel.errors import Conflict
from backend.kernel.money import yuan
from backend.ledger import service as ledger_service
from backend.ordering import service as ordering_service
from backend.org import service as org_service

CHINA = ZoneInfo("Asia/Shanghai")
KIND_LABELS = {CodeKind.BOX: "箱码", CodeKind.ITEM: "物码"}
ACTION_LABELS = {
    ScanAction.RECEIVE: "入库",
    ScanAction.SELL: "动销",
    ScanAction.CHECK: "消费者验真",
    ScanAction.REDEEM: "核销",
}
REWARD_ACCOUNTS = {
    OpenReward.POINTS.value: ledger_service.AccountKind.POINTS,
    OpenReward.CASH.value: ledger_service.AccountKind.CASH,
}


class AlreadyReceived(Conflict):
    code = "codes.already_received"
    message = "该箱已入库，无需重复扫码"


class ReceivedElsewhere(Conflict):
    code = "codes.received_elsewhere"
    message = "该箱已被其他门店入库"


class AlreadySold(Conflict):
    code = "codes.already_sold"
    message = "该商品已售出，不能重复动销"


class BoxNotReceived(Conflict):
    code = "codes.box_not_received"
    message = "该商品所在的箱子尚未入库：请先扫箱码入库"


class NotYourStock(Conflict):
    code = "codes.not_your_stock"
    message = "该商品所在的箱子由其他门店入库，不在本店库存中"


def china_time(moment: datetime | None) -> str:
    """A moment as people in China read it: "2026-12-05 14:30"."""
    return "" if moment is None else moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def reward_view(kind: str, amount: int) -> dict[str, Any] | None:
    """The batch's open-box reward as shown: None when the batch has none."""
    if kind == OpenReward.POINTS.value and amount > 0:
        return {"kind": kind, "amount": amount, "text": f"开箱奖励 {amount} 积分"}
    if kind == OpenReward.CASH.value and amount > 0:
        return {"kind": kind, "amount": amount, "text": f"开箱奖励 ¥{yuan(amount)}"}
    return None


def _day(value: Any) -> str | None:
    """A date as read: asyncpg gives dates, SQLite ISO text."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]


def serial_text(code: FoundCode) -> str:
    if code.is_box:
        return box_serial(code.batch_no, code.serial)
    return item_serial(code.batch_no, code.serial)


# ---- the product's card: read through catalog, kept a minute per process -------------------------

_CARD_TTL = 60.0
_cards: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}


async def sku_card(brand_id: int, sku_id: int) -> dict[str, Any]:
    """The scanned SKU's name, spec and picture. Every scan shows it, and a name changes
    rarely: a process keeps what it read for a minute, which saves the scan a statement."""
    now = time.monotonic()
    cached = _cards.get((brand_id, sku_id))
    if cached is not None and now - cached[0] < _CARD_TTL:
        return cached[1]
    card = (await catalog_service.sku_cards(brand_id, [sku_id])).get(sku_id) or {
        "sku_id": sku_id,
        "name": "",
        "spec": "",
        "unit": "",
        "image_url": "",
    }
    if len(_cards) > 10_000:  # bound memory on a long-running process
        _cards.clear()
    _cards[(brand_id, sku_id)] = (now, card)
    return card


# ---- lookup --------------------------------------------------------------------------------------

_UNSOLD_IN_BOX = "SELECT COUNT(*) AS n FROM product_codes WHERE box_id = $1 AND sold_at IS NULL"


def _is_store_of(principal: Principal, brand_id: int) -> bool:
    return (
        principal.role in STORE_ROLES
        and principal.brand_id == brand_id
        and principal.store_id is not None
    )


async def _actions(code: FoundCode, store_id: int) -> list[str]:
    """What the store may do with the code now (what its scanner offers)."""
    if code.box_store_id is None:
        return [ScanAction.RECEIVE.value] if code.is_box else []
    if code.box_store_id != store_id:
        return []
    if code.is_box:
        row = await sql.fetch_one(_UNSOLD_IN_BOX, code.id)
        return [ScanAction.SELL.value] if row and int(row["n"]) > 0 else []
    return [ScanAction.SELL.value] if code.sold_at is None else []


async def lookup(deps: Deps, principal: Principal, text: str) -> dict[str, Any]:
    """What a scanned code is and where its scanner goes next: the brand's store staff to
    the store's actions, anyone else with a box to joining the brand as a store (a join
    token of the distributor it was shipped to), with an item to the consumer's check."""
    code = await find(text)
    card = await sku_card(code.brand_id, code.sku_id)
    view: dict[str, Any] = {
        "code": {
            "token": code.token,
            "kind": code.kind.value,
            "kind_label": KIND_LABELS[code.kind],
            "serial_text": serial_text(code),
            "box_serial_text": box_serial(code.batch_no, code.box_serial),
        },
        "product": {
            "sku_id": code.sku_id,
            "name": card["name"],
            "spec": card["spec"],
            "image_url": card["image_url"],
        },
        "batch": {
            "batch_no": code.batch_no,
            "produced_on": _day(code.produced_on),
        },
        "box": {"items_per_box": code.items_per_box, "received": code.box_store_id is not None},
        "actions": [],
    }
    if _is_store_of(principal, code.brand_id):
        assert principal.store_id is not None
        view["next"] = "store"
        view["actions"] = await _actions(code, principal.store_id)
    elif code.is_box:
        view["next"] = "join"
        view["join_token"] = await org_service.box_join_token(
            deps, code.brand_id, code.distributor_id
        )
    else:
        view["next"] = "consumer"
    return view


# ---- scans ---------------------------------------------------------------------------------------

# Receive: the box becomes the store's, once (WHERE store_id IS NULL), and is marked rewarded
# in the same statement when its batch pays one ($3: now, or NULL). The items of the box sold
# already (none, as items are sold only from a received box) do not go into stock.
_RECEIVE = (
    "UPDATE product_codes SET store_id = $1, received_at = $2,"
    " rewarded_at = COALESCE(rewarded_at, $3)"
    " WHERE id = $4 AND kind = 'box' AND store_id IS NULL"
    " RETURNING (SELECT COUNT(*) FROM product_codes i"
    " WHERE i.box_id = $4 AND i.sold_at IS NOT NULL) AS sold"
)
_RECEIVED_BY = "SELECT store_id, received_at FROM product_codes WHERE id = $1"
_SELL_ITEM = (
    "UPDATE product_codes SET sold_at = $1, store_id = $2"
    " WHERE id = $3 AND kind = 'item' AND sold_at IS NULL"
)
_SELL_BOX = (
    "UPDATE product_codes SET sold_at = $1, store_id = $2"
    " WHERE box_id = $3 AND kind = 'item' AND sold_at IS NULL"
)
_SOLD_AT = "SELECT sold_at FROM product_codes WHERE id = $1"
# The store's counters of the SKU, and the scan's row: one statement on PostgreSQL.
_STOCK = (
    "INSERT INTO store_code_stock (brand_id, store_id, sku_id, received, sold, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (store_id, sku_id) DO UPDATE SET"
    " received = store_code_stock.received + EXCLUDED.received,"
    " sold = store_code_stock.sold + EXCLUDED.sold, updated_at = EXCLUDED.updated_at"
    " RETURNING received, sold"
)
_SCAN = (
    "INSERT INTO code_scans (brand_id, code_id, action, store_id, user_id, items, latitude,"
    " longitude, diverted, created_at) VALUES ($1, $7, $8, $2, $9, $10, $11, $12, $13, $6)"
    " RETURNING id"
)
_STOCK_AND_SCAN = (
    f"WITH stock AS ({_STOCK}), scan AS ({_SCAN})"  # noqa: S608 (constants only)
    " SELECT stock.received, stock.sold, scan.id FROM stock, scan"
)
# SQLite takes them one by one, each numbered from 1 over the values it uses.
_SCAN_ALONE = (
    "INSERT INTO code_scans (brand_id, code_id, action, store_id, user_id, items, latitude,"
    " longitude, diverted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " RETURNING id"
)


@dataclass(frozen=True, slots=True)
class ScanRequest:
    code: str
    action: ScanAction
    latitude: float | None = None
    longitude: float | None = None


async def _stock_and_scan(
    code: FoundCode,
    principal: Principal,
    request: ScanRequest,
    *,
    received: int,
    sold: int,
    diverted: bool,
    now: datetime,
) -> tuple[int, int, int]:
    """Move the store's counters and write the scan's row: (received, sold, scan id)."""
    store_id = principal.store_id
    if sql.is_postgres():
        row = await sql.fetch_one(
            _STOCK_AND_SCAN,
            code.brand_id,
            store_id,
            code.sku_id,
            received,
            sold,
            now,
            code.id,
            request.action.value,
            principal.user_id,
            received or sold,
            request.latitude,
            request.longitude,
            diverted,
        )
        assert row is not None
        return int(row["received"]), int(row["sold"]), int(row["id"])
    stock = await sql.fetch_one(_STOCK, code.brand_id, store_id, code.sku_id, received, sold, now)
    scan = await sql.fetch_one(
        _SCAN_ALONE,
        code.brand_id,
        code.id,
        request.action.value,
        store_id,
        principal.user_id,
        received or sold,
        request.latitude,
        request.longitude,
        diverted,
        now,
    )
    assert stock is not None and scan is not None
    return int(stock["received"]), int(stock["sold"]), int(scan["id"])


async def _refuse_received(code: FoundCode, store_id: int) -> None:
    """Raise why the box can not be received by the store, if it was received already."""
    if code.box_store_id is None:
        return
    if code.box_store_id == store_id:
        raise AlreadyReceived(f"该箱已于 {china_time(code.received_at)} 入库本店，无需重复扫码")
    raise ReceivedElsewhere()


async def _receive(
    deps: Deps, principal: Principal, code: FoundCode, now: datetime
) -> tuple[int, dict[str, Any] | None, int | None]:
    """The box into the store's stock: (items, reward paid or None, order signed or None)."""
    assert principal.store_id is not None
    reward = reward_view(code.open_reward_kind, code.open_reward_amount)
    moved = await sql.fetch_one(_RECEIVE, principal.store_id, now, now if reward else None, code.id)
    if moved is None:
        # Another scan received it since it was read: say by whom, as if it had been read so.
        again = await sql.fetch_one(_RECEIVED_BY, code.id)
        other = again["store_id"] if again else None
        if other == principal.store_id:
            raise AlreadyReceived(
                f"该箱已于 {china_time(_read_instant(again, 'received_at'))} 入库本店，无需重复扫码"
            )
        raise ReceivedElsewhere()
    items = max(code.items_per_box - int(moved["sold"]), 0)
    if reward is not None:
        await ledger_service.post(
            brand_id=code.brand_id,
            store_id=principal.store_id,
            kind=REWARD_ACCOUNTS[code.open_reward_kind],
            amount=code.open_reward_amount,
            cause=ledger_service.EntryCause.OPEN_BOX_REWARD,
            cause_id=code.id,
            order_id=ledger_service.NO_ORDER,
            now=now,
        )
    signed = None
    if code.order_id is not None and await ordering_service.sign_by_scan(
        deps, principal, code.order_id
    ):
        signed = code.order_id
    return items, reward, signed


def _read_instant(row: Any, column: str) -> datetime | None:
    return _instant(row[column]) if row else None


def _refuse_sale(code: FoundCode, store_id: int) -> None:
    """Raise why the store can not sell the code, as it was read."""
    if code.box_store_id is None:
        raise BoxNotReceived()
    if code.box_store_id != store_id:
        raise NotYourStock()
    if not code.is_box and code.sold_at is not None:
        raise AlreadySold(f"该商品已于 {china_time(code.sold_at)} 售出，不能重复动销")


async def _sell(principal: Principal, code: FoundCode, now: datetime) -> int:
    """Mark the item (or every unsold item of the box) sold by the store: how many."""
    if code.is_box:
        sold = await sql.execute(_SELL_BOX, now, principal.store_id, code.id)
        if sold == 0:
            raise AlreadySold("该箱商品已全部售出，不能重复动销")
        return sold
    if await sql.execute(_SELL_ITEM, now, principal.store_id, code.id) == 0:
        again = await sql.fetch_one(_SOLD_AT, code.id)
        raise AlreadySold(
            f"该商品已于 {china_time(_read_instant(again, 'sold_at'))} 售出，不能重复动销"
        )
    return 1


async def scan(deps: Deps, principal: Principal, request: ScanRequest) -> dict[str, Any]:
    """One store scan (receive or sell), all in one transaction; its answer for the scanner."""
    assert principal.brand_id is not None
    code = await find(request.code, principal.brand_id)
    store = await org_service.store_for_ordering(principal, None)
    if request.action == ScanAction.RECEIVE:
        if not code.is_box:
            raise WrongKind("这是商品上的物码：请扫箱内的箱码入库")
        await _refuse_received(code, store.id)
    else:
        _refuse_sale(code, store.id)
    now = deps.clock.now()
    reward: dict[str, Any] | None = None
    signed: int | None = None
    async with sql.transaction():
        if request.action == ScanAction.RECEIVE:
            items, reward, signed = await _receive(deps, principal, code, now)
            received, sold = items, 0
        else:
            items = await _sell(principal, code, now)
            received, sold = 0, items
        reason = await diversion.note_scan(
            code,
            diversion.Surfaced(
                store_id=store.id,
                store_distributor_id=store.distributor_id,
                store_region_id=store.region_id,
                action=request.action.value,
                latitude=request.latitude,
                longitude=request.longitude,
            ),
            now,
            deps,
        )
        total_received, total_sold, scan_id = await _stock_and_scan(
            code,
            principal,
            request,
            received=received,
            sold=sold,
            diverted=reason is not None,
            now=now,
        )
    card = await sku_card(code.brand_id, code.sku_id)
    return {
        "scan_id": scan_id,
        "action": request.action.value,
        "action_label": ACTION_LABELS[request.action],
        "code": {
            "kind": code.kind.value,
            "kind_label": KIND_LABELS[code.kind],
            "serial_text": serial_text(code),
        },
        "product": {"sku_id": code.sku_id, "name": card["name"]},
        "items": items,
        "reward": reward,
        "signed_order_id": signed,
        "diverted": reason is not None,
        "stock": {
            "sku_id": code.sku_id,
            "received": total_received,
            "sold": total_sold,
            "on_hand": total_received - total_sold,
        },
    }
