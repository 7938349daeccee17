"""Carts, orders, their lines and the audit trail of every status change."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.catalog.models import Sku
    from backend.identity.models import User
    from backend.org.models import Brand, Distributor, Salesperson, Store


class Channel(StrEnum):
    SELF = "self"
    PROXY = "proxy"
    LIVE = "live"


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    ACCEPTED = "accepted"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CartItem(Model):
    """A store's server-side cart: every owner and clerk of the store sees the same one."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="cart_items", on_delete=fields.CASCADE
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="cart_items", on_delete=fields.CASCADE
    )
    quantity = fields.IntField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "cart_items"
        unique_together = (("store", "sku"),)


class Order(Model):
    id = fields.BigIntField(primary_key=True)
    order_no = fields.CharField(max_length=24, unique=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="orders", on_delete=fields.RESTRICT
    )
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="orders", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="orders", on_delete=fields.RESTRICT
    )
    # The store's salesperson when the order was placed (reports by salesperson use it).
    salesperson: fields.ForeignKeyNullableRelation[Salesperson] = fields.ForeignKeyField(
        "models.Salesperson", null=True, related_name="orders", on_delete=fields.SET_NULL
    )
    placed_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="placed_orders", on_delete=fields.RESTRICT
    )
    channel = fields.CharField(max_length=8)
    status = fields.CharField(max_length=16, default=OrderStatus.PENDING_PAYMENT.value)
    list_amount_fen = fields.BigIntField()
    discount_fen = fields.BigIntField(default=0)
    payable_fen = fields.BigIntField()
    pay_deadline = fields.DatetimeField()
    logistics_note = fields.CharField(max_length=200, null=True)
    # How it was shipped: a carrier code (ordering/carriers.py) and its tracking number, none
    # for the distributor's own delivery. Both unset on orders shipped with a note only.
    carrier = fields.CharField(max_length=16, null=True)
    tracking_no = fields.CharField(max_length=40, null=True)
    sign_photo_url = fields.CharField(max_length=500, null=True)
    cancel_reason = fields.CharField(max_length=200, null=True)
    # Promotions (issue 4): the part of discount_fen they gave, what the order earns once
    # paid, and the applied promotions as the buyer was shown them.
    # Database defaults too, so the columns could be added to tables that already hold orders.
    promotion_discount_fen = fields.BigIntField(default=0, db_default=0)
    points_earned = fields.BigIntField(default=0, db_default=0)
    rebate_fen = fields.BigIntField(default=0, db_default=0)
    # The coupon the order used (its allocation is in the lines' adjustments), if any.
    coupon_id = fields.BigIntField(null=True)
    coupon_discount_fen = fields.BigIntField(default=0, db_default=0)
    # Paid from the store's rebate balance (返利抵扣), on lines no promotion priced.
    rebate_used_fen = fields.BigIntField(default=0, db_default=0)
    promotions: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(
        default=list, db_default="[]"
    )
    reordered_from: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "models.Order", null=True, related_name="reorders", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "orders"
        indexes = (
            ("brand_id", "created_at"),
            ("distributor_id", "status"),
            ("store_id", "created_at"),
            ("status", "pay_deadline"),
            # the analytics refresh reads the orders changed since its last run
            ("updated_at",),
        )


class OrderLine(Model):
    """What was bought, as it was named and priced at the moment of ordering."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="order_lines", on_delete=fields.RESTRICT
    )
    product_name = fields.CharField(max_length=64)
    sku_name = fields.CharField(max_length=64)
    unit = fields.CharField(max_length=8)
    quantity = fields.IntField()
    list_unit_price_fen = fields.BigIntField()
    unit_price_fen = fields.BigIntField()
    list_amount_fen = fields.BigIntField()
    discount_fen = fields.BigIntField()
    payable_fen = fields.BigIntField()
    # Which promotion took how much off this line; a gift line names the promotion giving it.
    adjustments: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(
        default=list, db_default="[]"
    )
    gift_promotion_id = fields.BigIntField(null=True)
    # Units refunded so far and what they were paid back (their share of payable_fen, by
    # largest remainder over the units): raised by one guarded UPDATE per refund, so
    # concurrent refunds can never pass the line's quantity or what it paid.
    refunded_quantity = fields.IntField(default=0, db_default=0)
    refunded_fen = fields.BigIntField(default=0, db_default=0)
    # This line's part of the order's points_earned and rebate_fen (the promotion engine's
    # split by each line's share of the base): what a refund of its units takes back. All 0
    # on an order that earns something: placed before lines kept it (money share then).
    points_earned = fields.BigIntField(default=0, db_default=0)
    rebate_fen = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "order_lines"
        # An order's lines are read by its id everywhere (PostgreSQL does not index a foreign
        # key by itself).
        indexes = (("order_id",),)


class OrderEvent(Model):
    """One status change: who, when, from what to what, and why."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="events", on_delete=fields.CASCADE
    )
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="order_events", on_delete=fields.SET_NULL
    )
    actor_role = fields.CharField(max_length=32)  # "system" for timeouts and payments
    from_status = fields.CharField(max_length=16, null=True)
    to_status = fields.CharField(max_length=16)
    note = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "order_events"
