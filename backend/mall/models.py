"""The points mall (积分商城): gifts the brand lists for points, and stores' redemptions."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User
    from backend.org.models import Brand, Store


class MallItemStatus(StrEnum):
    ON_SALE = "on_sale"  # stores can redeem it
    OFF_SALE = "off_sale"  # hidden from stores; redemptions already made stand


class MallItem(Model):
    """A gift with a points price. stock is lowered only by a guarded update that keeps it
    at zero or above."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="mall_items", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=40)
    description = fields.CharField(max_length=200, default="")
    image_url = fields.CharField(max_length=500, default="")
    points_price = fields.IntField()
    stock = fields.IntField()
    status = fields.CharField(max_length=8, default=MallItemStatus.ON_SALE.value)
    # A physical gift is sent by post: the store may give a delivery contact when redeeming.
    physical = fields.BooleanField(default=True, db_default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "mall_items"
        indexes = (("brand_id", "status"),)


class RedemptionStatus(StrEnum):
    PENDING = "pending"  # points spent, the gift waits to be sent
    DELIVERED = "delivered"  # the brand sent it


class Redemption(Model):
    """One redemption: the item and quantity, the points spent (its ledger entry names this
    row), where a physical gift goes (none given: the store's own address), and whether the
    gift has been sent."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="redemptions", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="redemptions", on_delete=fields.RESTRICT
    )
    item: fields.ForeignKeyRelation[MallItem] = fields.ForeignKeyField(
        "models.MallItem", related_name="redemptions", on_delete=fields.RESTRICT
    )
    item_name = fields.CharField(max_length=40)
    quantity = fields.IntField()
    points = fields.BigIntField()
    status = fields.CharField(max_length=9, default=RedemptionStatus.PENDING.value)
    redeemed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="redemptions", on_delete=fields.SET_NULL
    )
    delivery_name = fields.CharField(max_length=32, null=True)
    delivery_phone = fields.CharField(max_length=20, null=True)
    delivery_address = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mall_redemptions"
        indexes = (("brand_id", "status"), ("store_id", "id"))
