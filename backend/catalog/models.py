"""The brand's catalog, each distributor's stock, and the prices stores pay."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User
    from backend.org.models import Brand, Distributor


BARCODE_MAX_LENGTH = 32


class StockReason(StrEnum):
    """Why a distributor's staff changed a stock figure by hand."""

    STOCKTAKE = "stocktake"  # 盘点
    DAMAGE = "damage"  # 报损
    RECEIPT = "receipt"  # 到货入库
    RETURN = "return"  # 退货入库
    OTHER = "other"  # 其他


class Category(Model):
    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="categories", on_delete=fields.RESTRICT
    )
    parent: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", null=True, related_name="children", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=32)
    sort = fields.IntField(default=0)

    class Meta:
        table = "categories"


class Product(Model):
    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="products", on_delete=fields.RESTRICT
    )
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="products", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64, db_index=True)
    description = fields.TextField(default="")
    images: fields.JSONField[list[str]] = fields.JSONField(default=list)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "products"


class Sku(Model):
    """One sellable variant. Prices are integer fen, quantities are in `unit`."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="skus", on_delete=fields.RESTRICT
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="skus", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    spec = fields.CharField(max_length=64, default="")
    unit = fields.CharField(max_length=8, default="件")
    barcode = fields.CharField(max_length=BARCODE_MAX_LENGTH, null=True)
    list_price_fen = fields.BigIntField()
    # 箱规: orders come in whole cases of this many units.
    case_size = fields.IntField(default=1)
    min_order_qty = fields.IntField(default=1)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "skus"
        unique_together = (("brand", "barcode"),)


class DistributorSku(Model):
    """Whether a distributor sells a SKU, and how many units it has left to sell."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="distributor_skus", on_delete=fields.RESTRICT
    )
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="skus", on_delete=fields.RESTRICT
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="distributor_stock", on_delete=fields.RESTRICT
    )
    is_available = fields.BooleanField(default=True)
    # Only ever changed by guarded relative updates, so concurrent orders cannot oversell.
    stock = fields.BigIntField(default=0)
    # 库存预警: below this many units the console flags the SKU; None: no warning.
    low_stock_threshold = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "distributor_skus"
        unique_together = (("distributor", "sku"),)


class StockAdjustment(Model):
    """A change of a distributor's stock by hand: who, why, the figure before and after.

    Written in the same transaction as the change itself. Orders reserve and release stock
    without one.
    """

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="stock_adjustments", on_delete=fields.RESTRICT
    )
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="stock_adjustments", on_delete=fields.RESTRICT
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="stock_adjustments", on_delete=fields.RESTRICT
    )
    # None for changes made by the platform itself (demo data, seeding).
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="stock_adjustments", on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=16)
    note = fields.CharField(max_length=200, default="")
    delta = fields.BigIntField()
    stock_before = fields.BigIntField()
    stock_after = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stock_adjustments"
        indexes = (("distributor_id", "sku_id", "id"),)


class PriceEntry(Model):
    """A unit price for a SKU, optionally for one distributor and/or store tier, from a quantity.

    The most specific matching entry wins (distributor and tier over either alone over neither),
    then the highest `min_qty` not above the ordered quantity: 阶梯价.
    """

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="price_entries", on_delete=fields.RESTRICT
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="price_entries", on_delete=fields.RESTRICT
    )
    distributor: fields.ForeignKeyNullableRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", null=True, related_name="price_entries", on_delete=fields.RESTRICT
    )
    store_tier = fields.CharField(max_length=1, null=True)
    min_qty = fields.IntField(default=1)
    unit_price_fen = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "price_entries"
        indexes = (("brand_id", "sku_id"),)
