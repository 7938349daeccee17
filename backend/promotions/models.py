"""Promotions as the brand defines them, and what each order took from their budgets."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User
    from backend.ordering.models import Order
    from backend.org.models import Brand, Store


class PromotionStatus(StrEnum):
    DRAFT = "draft"  # being prepared: editable, never applied
    ACTIVE = "active"  # applied to quotes and orders inside its time window
    PAUSED = "paused"  # stopped for now: editable, can be activated again
    ENDED = "ended"  # stopped for good


class Promotion(Model):
    """One promotion. The rule (audience, channels, scope, conditions, reward) is kept as the
    JSON the brand submitted, once validated. The columns are what queries filter and lock on."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="promotions", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    status = fields.CharField(max_length=8, default=PromotionStatus.DRAFT.value)
    reward_kind = fields.CharField(max_length=16)
    stacking = fields.CharField(max_length=9)
    step = fields.SmallIntField()
    priority = fields.IntField(default=0)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    per_store_limit = fields.IntField(null=True)
    # The fund (活动资金) in fen; None: no budget. committed_fen is what orders not cancelled
    # took from it (placed or paid), raised only by a guarded update that keeps it <= budget.
    budget_fen = fields.BigIntField(null=True)
    committed_fen = fields.BigIntField(default=0)
    rule: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="promotions", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "promotions"
        indexes = (("brand_id", "status", "ends_at"),)


class PromotionUseKind(StrEnum):
    TAKE = "take"  # the order was placed with the promotion: its money leaves the budget
    GIVE_BACK = "give_back"  # the order was cancelled, expired or refunded in full


class PromotionUse(Model):
    """One movement of a promotion's budget for one order, never changed once written: a take
    when the order is placed, a give-back when it is cancelled, expired or refunded in full.
    The promotion's committed_fen is the sum of takes less give-backs, and a store's uses of
    it are its takes not given back."""

    id = fields.BigIntField(primary_key=True)
    promotion: fields.ForeignKeyRelation[Promotion] = fields.ForeignKeyField(
        "models.Promotion", related_name="uses", on_delete=fields.RESTRICT
    )
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="promotion_uses", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="promotion_uses", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=9)
    amount_fen = fields.BigIntField()  # never negative: the kind says which way it went
    created_at = fields.DatetimeField()

    class Meta:
        table = "promotion_uses"
        # One take and at most one give-back per order: a retried or racing release inserts
        # nothing the second time, so a budget is never given back twice.
        unique_together = (("promotion", "order", "kind"),)
        indexes = (("store_id", "promotion_id"),)
