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
    CASH = "cash"  # 红包现金, fen: first-order cashback, invitation rewards, red-packet wins
    VOUCHERS = "vouchers"  # a distributor's approved voucher claims the brand has yet to pay


class EntryCause(StrEnum):
    ORDER_PAID = "order_paid"  # what a paid order earned (cause_id: the order)
    REFUND = "refund"  # the share of it a refund takes back (cause_id: the refund)
    MALL_REDEMPTION = "mall_redeem"  # points spent in the points mall (cause_id: redemption)
    LOTTERY_PRIZE = "lottery"  # points won on the lottery wheel (cause_id: the spin)
    REBATE_SPENT = "rebate_spent"  # rebate balance paying part of an order (cause_id: order)
    REBATE_RETURNED = "rebate_back"  # that order cancelled or refunded in full (cause_id: order)
    FIRST_ORDER_CASHBACK = "first_cash"  # 首单返现 to the store (cause_id: the store)
    INVITATION_REWARD = "invite"  # 邀请有礼 to the inviting store (cause_id: the invited store)
    SALESPERSON_FIRST_ORDER = "sp_first"  # to the salesperson who onboarded it (cause_id: store)
    CLAIM_APPROVED = "claim_ok"  # a voucher claim the brand owes (cause_id: the claim)
    CLAIM_SETTLED = "claim_paid"  # the brand paid it (cause_id: the claim)
    RED_PACKET = "red_packet"  # a packet won in a livestream rain (cause_id: the grant)
    RAIN_FUNDED = "rain_funded"  # the distributor pays a rain's total (cause_id: the rain)
    RAIN_RETURNED = "rain_back"  # what no store grabbed, back to it (cause_id: the rain)
    DISPLAY_REWARD = "display"  # a display program's reward (cause_id: the DisplayReward)
    OPEN_BOX_REWARD = "open_box"  # 开箱有礼 to the store that received a box (cause_id: box code)
    CONSUMER_COUPON = "c_coupon"  # a consumer e-coupon the store redeemed (cause_id: coupon)


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
        # (account_id, id): statements are keyset pages of one account, newest or oldest first.
        indexes = (("account_id", "order_id"), ("account_id", "id"))


class PartyKind(StrEnum):
    SALESPERSON = "salesperson"  # points
    DISTRIBUTOR = "distributor"


class PartyAccount(Model):
    """One balance of a salesperson or a distributor: the same rules as a store's Account,
    kept apart because its owner is not a store."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="party_accounts", on_delete=fields.RESTRICT
    )
    party = fields.CharField(max_length=11)
    party_id = fields.BigIntField()
    kind = fields.CharField(max_length=8)
    balance = fields.BigIntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_party_accounts"
        unique_together = (("party", "party_id", "kind"),)


class PartyEntry(Model):
    """One movement of a PartyAccount, never changed, one per account and cause."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[PartyAccount] = fields.ForeignKeyField(
        "models.PartyAccount", related_name="entries", on_delete=fields.RESTRICT
    )
    amount = fields.BigIntField()
    balance_after = fields.BigIntField()
    cause = fields.CharField(max_length=12)
    cause_id = fields.BigIntField()
    order_id = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_party_entries"
        unique_together = (("account", "cause", "cause_id"),)


class Incentives(Model):
    """A brand's standing rewards, all optional (0: none). A store's first paid order earns
    it first_order_cashback_fen of cash when it pays at least first_order_min_fen, earns the
    store that invited it invitation_reward_fen of cash, and, when it is a self order, earns
    the salesperson who onboarded it salesperson_first_order_points."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.OneToOneRelation[Brand] = fields.OneToOneField(
        "models.Brand", related_name="incentives", on_delete=fields.RESTRICT
    )
    first_order_cashback_fen = fields.BigIntField(default=0)
    first_order_min_fen = fields.BigIntField(default=0)
    invitation_reward_fen = fields.BigIntField(default=0)
    salesperson_first_order_points = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "ledger_incentives"
