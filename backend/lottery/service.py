"""The lottery wheel: the brand sets one up with prizes; a store's paid order over the
threshold unlocks one spin; the draw takes the prize's stock atomically, credits points at
once or records goods and trips for delivery, and keeps what it drew from for audit."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.identity.access import BRAND_ROLES, Principal
from backend.infra import sql
from backend.kernel.errors import Conflict, InvalidInput, NotFound
from backend.ledger import service as ledger_service
from backend.lottery.models import (
    LotteryPrize,
    LotterySpin,
    LotteryWheel,
    PrizeKind,
    SpinStatus,
    WheelStatus,
)
from backend.lottery.wheel import Slot, landed_on, total_weight
from backend.ordering import service as ordering_service
from backend.org import service as org_service

DRAW_ATTEMPTS = 5  # a prize emptied by a concurrent spin is drawn again from what is left
SPIN_STATUS_NAMES = {
    SpinStatus.SETTLED: "已到账",
    SpinStatus.TO_DELIVER: "待发放",
    SpinStatus.DELIVERED: "已发放",
}


class WheelNotFound(NotFound):
    code = "lottery.wheel_not_found"
    message = "找不到该抽奖活动"


class SpinNotFound(NotFound):
    code = "lottery.spin_not_found"
    message = "找不到该抽奖记录"


class InvalidWheel(InvalidInput):
    code = "lottery.invalid_wheel"
    message = "抽奖设置有误"


class NoChance(Conflict):
    code = "lottery.no_chance"
    message = "暂无抽奖机会：支付满额订单即可获得"


class AlreadySpun(Conflict):
    code = "lottery.already_spun"
    message = "这笔订单的抽奖机会已用过"


class SoldOut(Conflict):
    code = "lottery.sold_out"
    message = "奖品已全部抽完"


class NotDeliverable(Conflict):
    code = "lottery.not_deliverable"
    message = "该奖品无需发放或已发放"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def prize_view(prize: LotteryPrize, total: int) -> dict[str, Any]:
    return {
        "id": prize.id,
        "name": prize.name,
        "kind": prize.kind,
        "points": prize.points,
        "weight": prize.weight,
        "stock": prize.stock,
        # Over the prizes in stock now: the chance a spin lands here.
        "chance_percent": f"{prize.weight * 100 / total:.2f}" if total else "0.00",
    }


async def wheel_view(wheel: LotteryWheel) -> dict[str, Any]:
    prizes = await LotteryPrize.filter(wheel_id=wheel.id).order_by("position")
    total = sum(p.weight for p in prizes if p.stock is None or p.stock > 0)
    return {
        "id": wheel.id,
        "name": wheel.name,
        "status": wheel.status,
        "threshold_fen": wheel.threshold_fen,
        "starts_at": _iso(wheel.starts_at),
        "ends_at": _iso(wheel.ends_at),
        "prizes": [prize_view(p, total if p.stock is None or p.stock > 0 else 0) for p in prizes],
    }


def spin_view(spin: LotterySpin, prize: LotteryPrize) -> dict[str, Any]:
    status = SpinStatus(spin.status)
    return {
        "id": spin.id,
        "wheel_id": spin.wheel_id,  # type: ignore[attr-defined]
        "store_id": spin.store_id,  # type: ignore[attr-defined]
        "order_id": spin.order_id,  # type: ignore[attr-defined]
        "prize": {"id": prize.id, "name": prize.name, "kind": prize.kind, "points": prize.points},
        "status": status.value,
        "status_name": SPIN_STATUS_NAMES[status],
        "audit": {"roll": spin.roll, "table": spin.table},
        "created_at": _iso(spin.created_at),
        "delivered_at": _iso(spin.delivered_at),
    }


def _brand_of(principal: Principal) -> int:
    if principal.brand_id is None:  # every route's roles carry a brand
        raise WheelNotFound()
    return principal.brand_id


# ---- the brand ------------------------------------------------------------------------------


def _problems(fields: dict[str, Any]) -> list[dict[str, str]]:
    problems = []
    if fields["ends_at"] <= fields["starts_at"]:
        problems.append({"field": "ends_at", "message": "结束时间须晚于开始时间"})
    for index, prize in enumerate(fields["prizes"]):
        if (prize["kind"] == PrizeKind.POINTS) != (prize["points"] > 0):
            message = "积分奖品须设置积分数，其他奖品不设积分"
            problems.append({"field": f"prizes[{index}].points", "message": message})
    return problems


async def create_wheel(
    principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    if problems := _problems(fields):
        raise InvalidWheel(problems[0]["message"], details=problems)
    async with in_transaction():
        wheel = await LotteryWheel.create(
            brand_id=_brand_of(principal),
            name=fields["name"],
            threshold_fen=fields["threshold_fen"],
            starts_at=fields["starts_at"],
            ends_at=fields["ends_at"],
            created_at=now,
        )
        await LotteryPrize.bulk_create(
            [
                LotteryPrize(wheel_id=wheel.id, position=position, **prize)
                for position, prize in enumerate(fields["prizes"])
            ]
        )
    return await wheel_view(wheel)


async def _wheel(principal: Principal, wheel_id: int) -> LotteryWheel:
    wheel = await LotteryWheel.get_or_none(id=wheel_id, brand_id=_brand_of(principal))
    if wheel is None:
        raise WheelNotFound()
    return wheel


async def end_wheel(principal: Principal, wheel_id: int) -> dict[str, Any]:
    wheel = await _wheel(principal, wheel_id)
    await LotteryWheel.filter(id=wheel.id).update(status=WheelStatus.ENDED.value)
    return await wheel_view(await LotteryWheel.get(id=wheel.id))


async def list_wheels(principal: Principal, *, now: datetime) -> list[dict[str, Any]]:
    """Brand staff: every wheel. Stores: the running ones, each with the store's chances."""
    wheels = LotteryWheel.filter(brand_id=_brand_of(principal))
    if principal.role in BRAND_ROLES:
        return [await wheel_view(w) for w in await wheels.order_by("-id")]
    store = await org_service.store_for_ordering(principal, None)
    running = wheels.filter(
        status=WheelStatus.ACTIVE.value, starts_at__lte=now, ends_at__gt=now
    ).order_by("ends_at")
    return [
        {**await wheel_view(wheel), "chances": len(await _unspun_orders(store.id, wheel))}
        for wheel in await running
    ]


async def mark_delivered(principal: Principal, spin_id: int, *, now: datetime) -> dict[str, Any]:
    brand_id = _brand_of(principal)
    spin = await LotterySpin.filter(id=spin_id, wheel__brand_id=brand_id).first()
    if spin is None:
        raise SpinNotFound()
    moved = await LotterySpin.filter(id=spin.id, status=SpinStatus.TO_DELIVER.value).update(
        status=SpinStatus.DELIVERED.value, delivered_at=now
    )
    if not moved:
        raise NotDeliverable()
    spin = await LotterySpin.get(id=spin.id)
    return spin_view(spin, await LotteryPrize.get(id=spin.prize_id))  # type: ignore[attr-defined]


async def list_spins(
    principal: Principal,
    *,
    wheel_id: int | None,
    before: int | None,
    limit: int,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Brand staff see every spin of the brand's wheels, each with the store to send a prize
    to; a store its own."""
    spins = LotterySpin.filter(wheel__brand_id=_brand_of(principal))
    if principal.role not in BRAND_ROLES:
        spins = spins.filter(store_id=principal.store_id)
    if wheel_id is not None:
        spins = spins.filter(wheel_id=wheel_id)
    if status is not None:
        spins = spins.filter(status=status)
    if before is not None:
        spins = spins.filter(id__lt=before)
    found = await spins.order_by("-id").limit(limit).prefetch_related("prize", "wheel")
    views = [{**spin_view(spin, spin.prize), "wheel_name": spin.wheel.name} for spin in found]
    if principal.role in BRAND_ROLES:
        await org_service.add_store_contacts(views)
    return views


# ---- stores -----------------------------------------------------------------------------------


async def _unspun_orders(store_id: int, wheel: LotteryWheel) -> list[int]:
    """The store's paid orders that unlock a spin on this wheel and have not spun it yet."""
    unlocking = await ordering_service.paid_order_ids(
        store_id,
        min_payable_fen=wheel.threshold_fen,
        placed_from=wheel.starts_at,
        placed_until=wheel.ends_at,
    )
    spun = set(
        await LotterySpin.filter(wheel_id=wheel.id, store_id=store_id).values_list(
            "order_id", flat=True
        )
    )
    return [order_id for order_id in unlocking if order_id not in spun]


async def _draw(
    wheel_id: int, roll_below: Callable[[int], int]
) -> tuple[LotteryPrize, int, list[Slot]]:
    """Draw a prize in stock and take one of it (a guarded update); a prize emptied meanwhile
    by another spin is drawn again from what is left."""
    for _ in range(DRAW_ATTEMPTS):
        in_stock = LotteryPrize.filter(Q(stock__isnull=True) | Q(stock__gt=0), wheel_id=wheel_id)
        prizes = {prize.id: prize for prize in await in_stock.order_by("position")}
        table = [Slot(prize.id, prize.weight) for prize in prizes.values()]
        if not table:
            raise SoldOut()
        roll = roll_below(total_weight(table))
        prize = prizes[landed_on(table, roll)]
        if prize.stock is None:
            return prize, roll, table
        taken = await sql.execute(
            "UPDATE lottery_prizes SET stock = stock - 1 WHERE id = $1 AND stock > 0", prize.id
        )
        if taken:
            return prize, roll, table
    raise SoldOut("奖品刚被抽完，请稍后再试")


async def spin(
    principal: Principal,
    wheel_id: int,
    *,
    now: datetime,
    roll_below: Callable[[int], int] = secrets.randbelow,
) -> dict[str, Any]:
    """Spend the store's oldest unspun chance on this wheel. The spin, the prize's stock and
    (for points) the ledger entry commit together; an order spins once (a unique key)."""
    store = await org_service.store_for_ordering(principal, None)
    wheel = await LotteryWheel.get_or_none(
        id=wheel_id,
        brand_id=store.brand_id,
        status=WheelStatus.ACTIVE.value,
        starts_at__lte=now,
        ends_at__gt=now,
    )
    if wheel is None:
        raise WheelNotFound()
    chances = await _unspun_orders(store.id, wheel)
    if not chances:
        raise NoChance()
    try:
        async with in_transaction():
            prize, roll, table = await _draw(wheel.id, roll_below)
            kind = PrizeKind(prize.kind)
            delivered_later = kind in (PrizeKind.GOODS, PrizeKind.TRIP)
            record = await LotterySpin.create(
                wheel_id=wheel.id,
                store_id=store.id,
                order_id=chances[0],
                prize_id=prize.id,
                roll=roll,
                table=[{"prize_id": slot.prize_id, "weight": slot.weight} for slot in table],
                status=(SpinStatus.TO_DELIVER if delivered_later else SpinStatus.SETTLED).value,
                created_at=now,
            )
            if kind == PrizeKind.POINTS:
                await ledger_service.credit_lottery_points(
                    brand_id=store.brand_id,
                    store_id=store.id,
                    points=prize.points,
                    spin_id=record.id,
                    order_id=chances[0],
                    now=now,
                )
    except IntegrityError as exc:  # the same chance spun concurrently: that spin counts
        raise AlreadySpun() from exc
    return spin_view(record, prize)
