"""Livestream order meetings (直播订货会): a distributor's (or the brand's) session, the stores
invited to it, the products on sale at live prices with live stock, and its red-packet rains
with every packet won."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.catalog.models import Sku
    from backend.org.models import Brand, Distributor, Store


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


class Audience(StrEnum):
    ALL = "all"  # every active store of the distributor
    TAGS = "tags"  # the distributor's stores with any of the tags
    STORES = "stores"  # a list


class RainStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    ENDED = "ended"


class DropStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    ENDED = "ended"


class DrawStatus(StrEnum):
    PLANNED = "planned"
    ANNOUNCED = "announced"  # the seed's hash is published
    DRAWN = "drawn"  # winners written, the seed revealed


class Eligibility(StrEnum):
    PRESENT = "present"  # in the room when the draw is run
    ORDERED = "ordered"  # ordered in the room during the session
    INVITED = "invited"  # every invited store


class LiveSession(Model):
    """One session. The stores invited are fixed when it is scheduled (LiveInvitation)."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="live_sessions", on_delete=fields.RESTRICT
    )
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="live_sessions", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=64)
    cover_url = fields.CharField(max_length=512, default="")
    # The pull URL the mini-program's <live-player> plays (https or rtmp), if any.
    stream_url = fields.CharField(max_length=500, null=True)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    status = fields.CharField(max_length=10, default=SessionStatus.SCHEDULED.value)
    audience = fields.CharField(max_length=8)
    audience_tags: fields.JSONField[list[str]] = fields.JSONField(default=list)
    invited_count = fields.IntField(default=0)
    created_by_id = fields.BigIntField()
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    peak_viewers = fields.IntField(default=0)

    class Meta:
        table = "live_sessions"
        indexes = (("brand_id", "distributor_id", "starts_at"),)


class LiveInvitation(Model):
    """A store invited to a session: only these may join its room."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[LiveSession] = fields.ForeignKeyField(
        "models.LiveSession", related_name="invitations", on_delete=fields.CASCADE
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="live_invitations", on_delete=fields.RESTRICT
    )
    reminded_at = fields.DatetimeField(null=True)
    # When the store first entered the room (the effect's "joined"): set once, by the join.
    joined_at = fields.DatetimeField(null=True)

    class Meta:
        table = "live_invitations"
        unique_together = (("session", "store"),)
        indexes = (("store_id", "session_id"),)


class LiveProduct(Model):
    """A SKU on sale in the session: its live price and the stock set aside for the session."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[LiveSession] = fields.ForeignKeyField(
        "models.LiveSession", related_name="products", on_delete=fields.CASCADE
    )
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="live_products", on_delete=fields.RESTRICT
    )
    live_price_fen = fields.BigIntField()
    live_stock = fields.IntField()
    sold = fields.IntField(default=0)
    sort = fields.IntField(default=0)

    class Meta:
        table = "live_products"
        unique_together = (("session", "sku"),)


class RedPacketRain(Model):
    """A rain: `total_fen` split into `count` packets when the host starts it. What no store
    grabs before it ends goes back to the distributor.

    `packets` is the split, fixed at the start (packet k is worth packets[k] fen): a grant
    names its packet, so a packet is paid once and the grants never add up to more than the
    total, even if Redis loses the rain and loads it again. The granted counters are summed
    from the grants when the rain ends (grabs do not touch this row)."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[LiveSession] = fields.ForeignKeyField(
        "models.LiveSession", related_name="rains", on_delete=fields.CASCADE
    )
    total_fen = fields.BigIntField()
    count = fields.IntField()
    duration_seconds = fields.IntField(default=30)
    status = fields.CharField(max_length=8, default=RainStatus.PLANNED.value)
    started_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    granted_fen = fields.BigIntField(default=0)
    granted_count = fields.IntField(default=0)
    returned_fen = fields.BigIntField(default=0)
    packets: fields.JSONField[list[int] | None] = fields.JSONField(null=True)

    class Meta:
        table = "red_packet_rains"


class RedPacketGrant(Model):
    """One packet won: one per store per rain, and each packet (`slot`, its index in the rain's
    `packets`) once. The unique keys make a replay harmless."""

    id = fields.BigIntField(primary_key=True)
    rain: fields.ForeignKeyRelation[RedPacketRain] = fields.ForeignKeyField(
        "models.RedPacketRain", related_name="grants", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="red_packets", on_delete=fields.RESTRICT
    )
    slot = fields.IntField(null=True)
    amount_fen = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "red_packet_grants"
        unique_together = (("rain", "store"), ("rain", "slot"))


class LiveOrder(Model):
    """An order a store placed in the room: which session and product it came from (the
    order itself is ordering's, on the live channel)."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[LiveSession] = fields.ForeignKeyField(
        "models.LiveSession", related_name="orders", on_delete=fields.RESTRICT
    )
    product: fields.ForeignKeyRelation[LiveProduct] = fields.ForeignKeyField(
        "models.LiveProduct", related_name="orders", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="live_orders", on_delete=fields.RESTRICT
    )
    order_id = fields.BigIntField(unique=True)
    quantity = fields.IntField()
    amount_fen = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "live_orders"
        indexes = (("session_id", "id"),)


class LiveCouponDrop(Model):
    """A coupon drop: `quantity` coupons of a template, first come first served, one per
    store, while the host keeps it open."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[LiveSession] = fields.ForeignKeyField(
        "models.LiveSession", related_name="coupon_drops", on_delete=fields.CASCADE
    )
    template_id = fields.BigIntField()
    quantity = fields.IntField()
    claimed = fields.IntField(default=0)
    status = fields.CharField(max_length=8, default=DropStatus.PLANNED.value)
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "live_coupon_drops"


class LiveCouponClaim(Model):
    """A coupon a store took from a drop (the coupon is in its wallet)."""

    id = fields.BigIntField(primary_key=True)
    drop: fields.ForeignKeyRelation[LiveCouponDrop] = fields.ForeignKeyField(
        "models.LiveCouponDrop", related_name="claims", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="live_coupon_claims", on_delete=fields.RESTRICT
    )
    coupon_id = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "live_coupon_claims"
        unique_together = (("drop", "store"),)


class LiveDraw(Model):
    """A lottery draw anyone can audit: the hash of a secret seed is published when it is
    announced, the winners are a function of the seed and the sorted eligible stores, and
    the seed is revealed with them."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[LiveSession] = fields.ForeignKeyField(
        "models.LiveSession", related_name="draws", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=32)
    prizes: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    eligibility = fields.CharField(max_length=8)
    status = fields.CharField(max_length=10, default=DrawStatus.PLANNED.value)
    seed_hash = fields.CharField(max_length=64, default="")
    seed = fields.CharField(max_length=64, default="")
    eligible: fields.JSONField[list[int]] = fields.JSONField(default=list)
    announced_at = fields.DatetimeField(null=True)
    drawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "live_draws"


class LiveDrawWinner(Model):
    id = fields.BigIntField(primary_key=True)
    draw: fields.ForeignKeyRelation[LiveDraw] = fields.ForeignKeyField(
        "models.LiveDraw", related_name="winners", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="live_draw_wins", on_delete=fields.RESTRICT
    )
    prize = fields.CharField(max_length=32)
    rank = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "live_draw_winners"
        unique_together = (("draw", "store"),)
