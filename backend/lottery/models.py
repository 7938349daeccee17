"""The lottery wheel (抽奖转盘): a paid order over a threshold unlocks one spin; prizes have
stock and weights; every spin is recorded with what it drew from, so it can be audited."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.ordering.models import Order
    from backend.org.models import Brand, Store


class WheelStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class PrizeKind(StrEnum):
    POINTS = "points"  # credited to the store's points at once
    GOODS = "goods"  # recorded, and sent by the brand
    TRIP = "trip"  # recorded, and arranged by the brand
    NOTHING = "nothing"  # 谢谢参与


class LotteryWheel(Model):
    """A wheel: which paid orders unlock a spin (threshold and window) and its prizes."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="lottery_wheels", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=40)
    status = fields.CharField(max_length=6, default=WheelStatus.ACTIVE.value)
    threshold_fen = fields.BigIntField()  # an order paying at least this unlocks one spin
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "lottery_wheels"
        indexes = (("brand_id", "status"),)


class LotteryPrize(Model):
    """One slot of the wheel. Its chance is its weight over the sum of the weights in stock.
    Its stock (None: unlimited, as for 谢谢参与) is lowered by a guarded update."""

    id = fields.BigIntField(primary_key=True)
    wheel: fields.ForeignKeyRelation[LotteryWheel] = fields.ForeignKeyField(
        "models.LotteryWheel", related_name="prizes", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=40)
    kind = fields.CharField(max_length=7)
    points = fields.IntField(default=0)
    weight = fields.IntField()
    stock = fields.IntField(null=True)
    position = fields.SmallIntField()

    class Meta:
        table = "lottery_prizes"


class SpinStatus(StrEnum):
    SETTLED = "settled"  # nothing left to do (points credited, or no prize)
    TO_DELIVER = "to_deliver"  # goods or a trip the brand still owes
    DELIVERED = "delivered"


class LotterySpin(Model):
    """One spin, unlocked by one order (unique: an order spins once). `roll` is the random
    number drawn in [0, total weight) and `table` the prizes in stock with their weights at
    that moment: the prize is the one whose cumulative range holds the roll, which anyone can
    recompute from this row."""

    id = fields.BigIntField(primary_key=True)
    wheel: fields.ForeignKeyRelation[LotteryWheel] = fields.ForeignKeyField(
        "models.LotteryWheel", related_name="spins", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="lottery_spins", on_delete=fields.RESTRICT
    )
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lottery_spins", on_delete=fields.RESTRICT
    )
    prize: fields.ForeignKeyRelation[LotteryPrize] = fields.ForeignKeyField(
        "models.LotteryPrize", related_name="spins", on_delete=fields.RESTRICT
    )
    roll = fields.BigIntField()
    table: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    status = fields.CharField(max_length=10)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "lottery_spins"
        unique_together = (("wheel", "order"),)
