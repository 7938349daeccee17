"""Coupon templates the brand defines, the issuances that hand them out, and the coupons in
stores' wallets with the history of each."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User
    from backend.ordering.models import Order
    from backend.org.models import Brand, Store


class CouponKind(StrEnum):
    REDUCTION = "reduction"  # 满减券: so much off when the scope reaches a threshold
    DISCOUNT = "discount"  # 折扣券: a percentage off the scope, optionally capped
    EXCHANGE = "exchange"  # 兑换券: named SKUs free, only in orders the store places itself


class TemplateStatus(StrEnum):
    ACTIVE = "active"  # can be issued and claimed
    ENDED = "ended"  # no more issuing or claiming; coupons already out stay usable


class CouponTemplate(Model):
    """What a coupon is worth and to whom it may go. The terms (scope, amounts, exchange
    items) are the JSON the brand submitted, once validated. issued_count is raised only by a
    guarded update that keeps it within total_quantity."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="coupon_templates", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=40)
    kind = fields.CharField(max_length=9)
    status = fields.CharField(max_length=6, default=TemplateStatus.ACTIVE.value)
    terms: fields.JSONField[dict[str, Any]] = fields.JSONField()
    audience: fields.JSONField[dict[str, Any]] = fields.JSONField()
    # Validity: a fixed window, or a number of days from the moment a coupon is issued.
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    valid_days = fields.IntField(null=True)
    total_quantity = fields.IntField(null=True)  # None: as many as are issued
    issued_count = fields.IntField(default=0)
    per_store_limit = fields.IntField(default=1)  # claims by the store itself
    claimable = fields.BooleanField(default=False)  # shown in the stores' 领券中心
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="coupon_templates", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "coupon_templates"
        indexes = (("brand_id", "status"),)


class IssuanceSchedule(StrEnum):
    ONCE = "once"  # issued when created
    MONTHLY = "monthly"  # issued every month on day_of_month, to the audience of that day


class CouponIssuance(Model):
    """A batch of one template to an audience, once or every month. last_period is the last
    month it was issued for, moved by a guarded update so that one process issues each."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="coupon_issuances", on_delete=fields.RESTRICT
    )
    template: fields.ForeignKeyRelation[CouponTemplate] = fields.ForeignKeyField(
        "models.CouponTemplate", related_name="issuances", on_delete=fields.RESTRICT
    )
    audience: fields.JSONField[dict[str, Any]] = fields.JSONField()
    schedule = fields.CharField(max_length=7)
    day_of_month = fields.SmallIntField(null=True)
    last_period = fields.CharField(max_length=7, null=True)  # e.g. 2026-11
    active = fields.BooleanField(default=True)
    issued_total = fields.IntField(default=0)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="coupon_issuances", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "coupon_issuances"


class CouponSource(StrEnum):
    ISSUANCE = "issuance"  # a batch, once or scheduled
    CLAIM = "claim"  # the store claimed it itself
    LIVE = "live"  # grabbed from a coupon drop in a live session (one per store per drop)
    DISPLAY = "display"  # a display program's reward for a passed check (DisplayReward)


class CouponStatus(StrEnum):
    AVAILABLE = "available"  # in the wallet (expired when valid_until has passed)
    USED = "used"  # used by order_id, until that order is cancelled or refunded in full


class Coupon(Model):
    """One coupon in one store's wallet. Used by a guarded update from available, so only
    one order ever holds it. One per store per issuance and period, so a batch replayed
    never gives a store two."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="coupons", on_delete=fields.RESTRICT
    )
    template: fields.ForeignKeyRelation[CouponTemplate] = fields.ForeignKeyField(
        "models.CouponTemplate", related_name="coupons", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="coupons", on_delete=fields.RESTRICT
    )
    source = fields.CharField(max_length=8)
    issuance: fields.ForeignKeyNullableRelation[CouponIssuance] = fields.ForeignKeyField(
        "models.CouponIssuance", null=True, related_name="coupons", on_delete=fields.RESTRICT
    )
    period = fields.CharField(max_length=7, default="")
    status = fields.CharField(max_length=9, default=CouponStatus.AVAILABLE.value)
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    order: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "models.Order", null=True, related_name="coupons", on_delete=fields.RESTRICT
    )
    issued_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "coupons"
        unique_together = (("issuance", "period", "store"),)
        indexes = (("store_id", "status", "valid_until"), ("template_id", "store_id"))


class CouponEventKind(StrEnum):
    ISSUED = "issued"
    CLAIMED = "claimed"
    USED = "used"  # by an order
    RETURNED = "returned"  # its order was cancelled, expired or refunded in full


class CouponEvent(Model):
    """A coupon's history, never changed once written."""

    id = fields.BigIntField(primary_key=True)
    coupon: fields.ForeignKeyRelation[Coupon] = fields.ForeignKeyField(
        "models.Coupon", related_name="events", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=8)
    order_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "coupon_events"


class ClaimStatus(StrEnum):
    SUBMITTED = "submitted"  # the distributor asks for the value of vouchers it honoured
    APPROVED = "approved"  # the brand agrees it owes the amount
    SETTLED = "settled"  # the brand paid it
    REJECTED = "rejected"  # the brand refused it (its vouchers can not be claimed again)


class VoucherClaim(Model):
    """A distributor's claim (核销) on the brand for the exchange vouchers used in orders it
    fulfilled. Its status moves by guarded updates: submitted → approved → settled, or
    submitted → rejected."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="voucher_claims", on_delete=fields.RESTRICT
    )
    distributor_id = fields.BigIntField()
    status = fields.CharField(max_length=9, default=ClaimStatus.SUBMITTED.value)
    amount_fen = fields.BigIntField()
    vouchers = fields.IntField()
    note = fields.CharField(max_length=200, default="")
    reject_reason = fields.CharField(max_length=200, default="")
    submitted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="voucher_claims", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "voucher_claims"
        indexes = (("brand_id", "status"), ("distributor_id", "id"))


class VoucherClaimItem(Model):
    """One voucher in a claim, with the order it was used in and its value there. A voucher
    is in one claim at most (unique), so it is never paid twice."""

    id = fields.BigIntField(primary_key=True)
    claim: fields.ForeignKeyRelation[VoucherClaim] = fields.ForeignKeyField(
        "models.VoucherClaim", related_name="items", on_delete=fields.RESTRICT
    )
    coupon: fields.ForeignKeyRelation[Coupon] = fields.ForeignKeyField(
        "models.Coupon", related_name="claim_items", on_delete=fields.RESTRICT
    )
    order_id = fields.BigIntField()
    amount_fen = fields.BigIntField()

    class Meta:
        table = "voucher_claim_items"
        # A unique_together rather than unique=True on the key: Tortoise's SQLite migration
        # leaves the latter out.
        unique_together = (("coupon",),)
