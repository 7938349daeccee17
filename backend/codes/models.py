"""Codes on every box and item (一物一码): a brand prints a code in every box and on every
item, and the scans of those codes tell it where its goods went.

A `CodeBatch` is one print run for one SKU and production batch: `boxes` box codes, each
holding `items_per_box` item codes. Every code is one `ProductCode` row, the box's and its
items' alike (an item names its box), with an unguessable `token` that the QR carries. A
box is shipped to one distributor (`CodeShipment`), may ride on one of that distributor's
orders, is received by one store and pays its open-box reward once. Each accepted scan is a
`CodeScan` row. A code surfacing at a store of another distributor, or outside its
distributor's service area, raises a `DiversionAlert` (窜货). A consumer who scans an item
may get a `ConsumerCoupon` bound to that one code from the brand's `CodeCampaign`, which the
store that sold the item redeems, and becomes a `BrandMember`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from backend.infra.indexes import WhereIndex

if TYPE_CHECKING:
    from backend.catalog.models import Sku
    from backend.identity.models import User
    from backend.org.models import Brand, Distributor, Region, Store


class CodeKind(StrEnum):
    BOX = "box"  # 箱码: printed in a box, holds `items_per_box` item codes
    ITEM = "item"  # 物码: printed on one item, names its box


class BatchStatus(StrEnum):
    GENERATING = "generating"  # the job is writing its codes
    READY = "ready"  # every code is written: it may be exported, printed and shipped
    FAILED = "failed"  # the job gave up (`error` says why); nothing of it is usable


class OpenReward(StrEnum):
    NONE = ""  # no reward for opening a box of this batch
    POINTS = "points"  # whole points into the store's points account
    CASH = "cash"  # fen into the store's cash account


class ScanAction(StrEnum):
    RECEIVE = "receive"  # 扫码入库: a store received (and opened) a box
    SELL = "sell"  # 扫码出库/动销: a store sold an item (or every item left in a box)
    CHECK = "check"  # a consumer checked an item is genuine
    REDEEM = "redeem"  # a store redeemed a consumer's e-coupon bound to the item


class ShipmentKind(StrEnum):
    TO_DISTRIBUTOR = "to_distributor"  # 出库到经销商: the brand hands boxes to a distributor
    DELIVERY = "delivery"  # a distributor names the boxes one of its orders carried


class DiversionReason(StrEnum):
    OTHER_DISTRIBUTOR = "other_distributor"  # a store of another distributor scanned it
    OUTSIDE_AREA = "outside_area"  # the store is outside the distributor's service area


class AlertStatus(StrEnum):
    OPEN = "open"  # nobody at the brand has looked at it yet
    CONFIRMED = "confirmed"  # the brand confirmed the diversion (the distributor is answerable)
    DISMISSED = "dismissed"  # the brand found it harmless (a note says why)


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # the brand is still writing it; consumers get nothing from it
    ACTIVE = "active"  # published: consumers scanning its SKUs inside its window get coupons
    ENDED = "ended"  # ended early by the brand; coupons already given stay valid


class CouponStatus(StrEnum):
    ISSUED = "issued"  # the consumer holds it
    REDEEMED = "redeemed"  # a store redeemed it; the brand paid the store its value
    # An issued coupon past `expires_at` is shown as expired; no row changes for that.


class CodeBatch(Model):
    """One print run of codes for one SKU and production batch (生产批号)."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="code_batches", on_delete=fields.RESTRICT
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="code_batches", on_delete=fields.RESTRICT
    )
    batch_no = fields.CharField(max_length=32)
    produced_on = fields.DateField(null=True)
    boxes = fields.IntField()
    items_per_box = fields.IntField()
    status = fields.CharField(max_length=12, default=BatchStatus.GENERATING.value)
    # How many codes the job has written so far (boxes and items), for the console's progress.
    written = fields.BigIntField(default=0)
    error = fields.CharField(max_length=200, default="")
    # What the first store to receive a box of this batch gets (OpenReward; 0 with NONE).
    open_reward_kind = fields.CharField(max_length=8, default=OpenReward.NONE.value)
    open_reward_amount = fields.IntField(default=0)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="code_batches", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    ready_at = fields.DatetimeField(null=True)

    class Meta:
        table = "code_batches"
        unique_together = (("brand", "sku", "batch_no"),)
        indexes = (("brand_id", "id"),)


class CodeShipment(Model):
    """Boxes handed over at once: by the brand to a distributor, or by a distributor on the
    delivery of one of its orders."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="code_shipments", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=16)
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="code_shipments", on_delete=fields.RESTRICT
    )
    order_id = fields.BigIntField(null=True)  # a DELIVERY's order
    boxes = fields.IntField()
    items = fields.IntField()
    note = fields.CharField(max_length=64, default="")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="code_shipments", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "code_shipments"
        indexes = (("brand_id", "id"), ("distributor_id", "id"), ("order_id",))


class ProductCode(Model):
    """One printed code, a box's or an item's. Boxes carry where they went (distributor,
    order, store), and an item's whereabouts are its box's, plus when it was sold. Written in
    bulk by the batch's job (fixed SQL: COPY on PostgreSQL), read by token on every scan."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="product_codes", on_delete=fields.RESTRICT
    )
    batch: fields.ForeignKeyRelation[CodeBatch] = fields.ForeignKeyField(
        "models.CodeBatch", related_name="codes", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=4)
    # 20 characters of Crockford base 32 (100 random bits): unguessable, and upper case so
    # that the QR's URL fits QR's compact alphanumeric mode.
    token = fields.CharField(max_length=24, unique=True)
    # Boxes 1..boxes, items 1..boxes*items_per_box within the batch (printed under the QR).
    serial = fields.IntField()
    box: fields.ForeignKeyNullableRelation[ProductCode] = fields.ForeignKeyField(
        "models.ProductCode", null=True, related_name="items", on_delete=fields.RESTRICT
    )
    # Boxes only: the distributor it was shipped to, by which shipment; the order it rode on.
    distributor: fields.ForeignKeyNullableRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", null=True, related_name="product_codes", on_delete=fields.RESTRICT
    )
    shipment: fields.ForeignKeyNullableRelation[CodeShipment] = fields.ForeignKeyField(
        "models.CodeShipment", null=True, related_name="codes", on_delete=fields.RESTRICT
    )
    order_id = fields.BigIntField(null=True)
    # Boxes: the store that received it (the first to scan it in), and when. Items: the store
    # that sold it, and when (sold_at).
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="product_codes", on_delete=fields.RESTRICT
    )
    received_at = fields.DatetimeField(null=True)
    # Boxes: when the open-box reward was paid (once per box, to the store that received it).
    rewarded_at = fields.DatetimeField(null=True)
    sold_at = fields.DatetimeField(null=True)
    # Consumers' genuine checks of an item: the first one's time and how many there were.
    first_checked_at = fields.DatetimeField(null=True)
    checks = fields.IntField(default=0)

    class Meta:
        table = "product_codes"
        unique_together = (("batch", "kind", "serial"),)
        # Most codes are items nobody has scanned: every index but the box's covers only the
        # rows that have happened (shipped, received, sold, named on an order), so a batch
        # of a million codes writes little into them and each costs what happened.
        indexes = (
            ("box_id",),
            # The box list in id order, whatever its state filter (read in the index).
            WhereIndex(
                fields=("brand_id", "id", "distributor_id", "store_id"),
                name="idx_product_codes_box_list",
                where="kind = 'box'",
            ),
            # Boxes shipped and received per batch (the batch list, the brand's figures).
            WhereIndex(
                fields=("batch_id", "distributor_id", "store_id"),
                name="idx_product_codes_batch_boxes",
                where="kind = 'box'",
            ),
            # Items sold per batch and box.
            WhereIndex(
                fields=("batch_id", "box_id"),
                name="idx_product_codes_sold",
                where="sold_at IS NOT NULL",
            ),
            # A shipment's boxes, an order's boxes.
            WhereIndex(
                fields=("shipment_id", "id"),
                name="idx_product_codes_shipment",
                where="shipment_id IS NOT NULL",
            ),
            WhereIndex(
                fields=("order_id", "id"),
                name="idx_product_codes_order",
                where="order_id IS NOT NULL",
            ),
            # The distributor a box went to and the store that holds it (foreign keys).
            WhereIndex(
                fields=("distributor_id",),
                name="idx_product_codes_distributor",
                where="distributor_id IS NOT NULL",
            ),
            WhereIndex(
                fields=("store_id",), name="idx_product_codes_store", where="store_id IS NOT NULL"
            ),
        )


class CodeScan(Model):
    """One accepted scan (a refused one writes nothing), for the brand's trail and figures."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="code_scans", on_delete=fields.RESTRICT
    )
    code: fields.ForeignKeyRelation[ProductCode] = fields.ForeignKeyField(
        "models.ProductCode", related_name="scans", on_delete=fields.RESTRICT
    )
    action = fields.CharField(max_length=8)
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="code_scans", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="code_scans", on_delete=fields.SET_NULL
    )
    # How many item codes the scan moved (a box received or sold whole moves all of its items).
    items = fields.IntField(default=0)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    diverted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "code_scans"
        indexes = (("code_id",), ("brand_id", "id"), ("store_id", "id"))


class StoreCodeStock(Model):
    """A store's stock of one SKU as its scans tell it: items received and items sold,
    counters moved in the scan's transaction."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="store_code_stock", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="code_stock", on_delete=fields.RESTRICT
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="store_code_stock", on_delete=fields.RESTRICT
    )
    received = fields.IntField(default=0)
    sold = fields.IntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "store_code_stock"
        unique_together = (("store", "sku"),)
        indexes = (("brand_id", "sku_id"),)


class DiversionAlert(Model):
    """A box surfacing where it was not shipped (窜货), once per box and store."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="diversion_alerts", on_delete=fields.RESTRICT
    )
    # The code scanned (a box or one of its items), and its box.
    code: fields.ForeignKeyRelation[ProductCode] = fields.ForeignKeyField(
        "models.ProductCode", related_name="diversion_alerts", on_delete=fields.RESTRICT
    )
    box: fields.ForeignKeyRelation[ProductCode] = fields.ForeignKeyField(
        "models.ProductCode", related_name="box_diversion_alerts", on_delete=fields.RESTRICT
    )
    batch: fields.ForeignKeyRelation[CodeBatch] = fields.ForeignKeyField(
        "models.CodeBatch", related_name="diversion_alerts", on_delete=fields.RESTRICT
    )
    # Where the box was shipped, and where it surfaced.
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="diversion_alerts", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="diversion_alerts", on_delete=fields.RESTRICT
    )
    store_distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="surfaced_alerts", on_delete=fields.RESTRICT
    )
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", null=True, related_name="diversion_alerts", on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=20)
    scan_action = fields.CharField(max_length=8)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    status = fields.CharField(max_length=12, default=AlertStatus.OPEN.value)
    note = fields.CharField(max_length=200, default="")
    handled_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="handled_diversions", on_delete=fields.SET_NULL
    )
    handled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "diversion_alerts"
        unique_together = (("box", "store"),)
        indexes = (
            ("brand_id", "id"),
            ("brand_id", "distributor_id", "status"),
            ("store_id", "id"),  # a store's alerts, and whether its staff were told today
        )


class CodeCampaign(Model):
    """A brand's consumer campaign: who scans an item of its SKUs inside its window gets an
    e-coupon of `coupon_value_fen` bound to that code, until the budget is spent."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="code_campaigns", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=40)
    sku_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    coupon_value_fen = fields.IntField()
    # How long a coupon may be redeemed after it is given (days).
    coupon_valid_days = fields.IntField(default=30)
    budget_fen = fields.BigIntField()
    # What the coupons given so far are worth: moved by a guarded update that never passes
    # the budget (a coupon is given only if its value still fits).
    committed_fen = fields.BigIntField(default=0)
    status = fields.CharField(max_length=12, default=CampaignStatus.DRAFT.value)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="code_campaigns", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "code_campaigns"
        indexes = (("brand_id", "status"),)


class ConsumerCoupon(Model):
    """An e-coupon bound to one item code (一物一码电子券): one per code, whoever scans first."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="consumer_coupons", on_delete=fields.RESTRICT
    )
    campaign: fields.ForeignKeyRelation[CodeCampaign] = fields.ForeignKeyField(
        "models.CodeCampaign", related_name="coupons", on_delete=fields.RESTRICT
    )
    code: fields.ForeignKeyRelation[ProductCode] = fields.OneToOneField(
        "models.ProductCode", related_name="consumer_coupon", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="consumer_coupons", on_delete=fields.RESTRICT
    )
    # What the consumer's QR carries for the store to scan (same form as a code's token).
    token = fields.CharField(max_length=24, unique=True)
    value_fen = fields.IntField()
    status = fields.CharField(max_length=12, default=CouponStatus.ISSUED.value)
    expires_at = fields.DatetimeField()
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="coupon_redemptions", on_delete=fields.RESTRICT
    )
    redeemed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="coupon_redemptions", on_delete=fields.SET_NULL
    )
    redeemed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "consumer_coupons"
        indexes = (
            ("user_id", "id"),
            ("brand_id", "id"),
            ("store_id", "id"),
            # Redemptions, newest redeemed first.
            WhereIndex(
                fields=("brand_id", "redeemed_at", "id"),
                name="idx_consumer_coupons_redeemed",
                where="status = 'redeemed'",
            ),
        )


class BrandMember(Model):
    """A consumer the brand now knows (its WeChat user, nothing more), and the store that
    brought them: the first store to redeem one of their coupons."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="members", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="brand_memberships", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="members", on_delete=fields.SET_NULL
    )
    joined_at = fields.DatetimeField()
    attributed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "brand_members"
        unique_together = (("brand", "user"),)
        indexes = (("brand_id", "id"), ("store_id",))
