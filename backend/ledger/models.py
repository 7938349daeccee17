"""Stores' accounts of value (points, rebate balance) and the immutable entries that move them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.org.models import Brand, Store


class AccountKind(StrEnum):
    POINTS = "points"  # 积分, whole points
    REBATE = "rebate"  # 返利余额, fen


class EntryCause(StrEnum):
    ORDER_PAID = "order_paid"  # what a paid order earned (cause_id: the order)
    REFUND = "refund"  # the share of it a refund takes back (cause_id: the refund)
    MALL_REDEMPTION = "mall_redeem"  # points spent in the points mall (cause_id: redemption)
    LOTTERY_PRIZE = "lottery"  # points won on the lottery wheel (cause_id: the spin)
    REBATE_SPENT = "rebate_spent"  # rebate balance paying part of an order (cause_id: order)
    REBATE_RETURNED = "rebate_back"  # that order cancelled or refunded in full (cause_id: order)


class Account(Model):
    """One balance of one store. The balance is the sum of the account's entries, kept as a
    counter that moves only in the transaction that writes an entry."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="accounts", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="accounts", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=8)
    balance = fields.BigIntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_accounts"
        unique_together = (("store", "kind"),)


class LedgerEntry(Model):
    """One movement, never changed: how much, the balance after it, and its cause. One entry
    per account and cause, so a replayed payment or refund is never counted twice."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="entries", on_delete=fields.RESTRICT
    )
    amount = fields.BigIntField()
    balance_after = fields.BigIntField()
    cause = fields.CharField(max_length=12)
    cause_id = fields.BigIntField()
    # The order it is about (the refund's order for a refund); 0 when it is about no order
    # (a mall redemption): kept NOT NULL, as SQLite can only relax it by rebuilding the table.
    order_id = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_entries"
        unique_together = (("account", "cause", "cause_id"),)
        indexes = (("account_id", "order_id"),)
