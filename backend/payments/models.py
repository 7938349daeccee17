"""Payments and refunds, each a row with its whole history. An order's paid amount is derived."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User
    from backend.ordering.models import Order, OrderLine


class PaymentMethod(StrEnum):
    WECHAT = "wechat"
    OFFLINE = "offline"  # 货到付款 or transfer, recorded by distributor staff
    # Nothing to pay (an exchange voucher or other deductions cover the order): the platform
    # records the order paid when it is placed, without WeChat Pay (which refuses 0 fen).
    ZERO = "zero"


class PaymentStatus(StrEnum):
    OPEN = "open"  # prepaid at WeChat, waiting for the payer
    SUCCEEDED = "succeeded"
    CLOSED = "closed"  # never paid: the order expired or was cancelled
    FLAGGED = "flagged"  # WeChat reported something that does not match our records


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet accepted by WeChat
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Payment(Model):
    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="payments", on_delete=fields.RESTRICT
    )
    method = fields.CharField(max_length=8)
    status = fields.CharField(max_length=12)
    amount_fen = fields.BigIntField()
    # What has been promised back to the payer: raised atomically before each refund request,
    # so concurrent refunds can never exceed the amount paid.
    refund_reserved_fen = fields.BigIntField(default=0)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    sp_mchid = fields.CharField(max_length=32, null=True)
    sub_mchid = fields.CharField(max_length=32, null=True)
    prepay_id = fields.CharField(max_length=64, null=True)
    transaction_id = fields.CharField(max_length=32, null=True, unique=True)
    payer_total_fen = fields.BigIntField(null=True)
    flagged_reason = fields.CharField(max_length=200, null=True)
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="recorded_payments", on_delete=fields.SET_NULL
    )
    note = fields.CharField(max_length=200, default="")
    succeeded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payments"
        indexes = (("order_id", "status"), ("method", "status", "created_at"))


class Refund(Model):
    id = fields.BigIntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="refunds", on_delete=fields.RESTRICT
    )
    out_refund_no = fields.CharField(max_length=32, unique=True)
    refund_id = fields.CharField(max_length=64, null=True)
    amount_fen = fields.BigIntField()
    reason = fields.CharField(max_length=80)
    status = fields.CharField(max_length=12)
    requested_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="requested_refunds", on_delete=fields.SET_NULL
    )
    succeeded_at = fields.DatetimeField(null=True)
    # A refund of units (its RefundLine rows) puts them back into the distributor's stock
    # when it succeeds.
    restock = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "refunds"
        indexes = (("status", "created_at"),)


class RefundLine(Model):
    """Units of an order line a refund pays back (damaged, missing), and what they paid."""

    id = fields.BigIntField(primary_key=True)
    refund: fields.ForeignKeyRelation[Refund] = fields.ForeignKeyField(
        "models.Refund", related_name="lines", on_delete=fields.RESTRICT
    )
    order_line: fields.ForeignKeyRelation[OrderLine] = fields.ForeignKeyField(
        "models.OrderLine", related_name="refund_lines", on_delete=fields.RESTRICT
    )
    quantity = fields.IntField()
    amount_fen = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "refund_lines"
        unique_together = (("refund", "order_line"),)


class PaymentEvent(Model):
    """The history of a payment or refund: every request, answer and notification."""

    id = fields.BigIntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="events", on_delete=fields.RESTRICT
    )
    refund: fields.ForeignKeyNullableRelation[Refund] = fields.ForeignKeyField(
        "models.Refund", null=True, related_name="events", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=32)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "payment_events"
