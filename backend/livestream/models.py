"""Livestream order meetings (直播订货会): a distributor's (or the brand's) session, the stores
invited to it, the products on sale at live prices with live stock, and its red-packet rains
with every packet won."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

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
    grabs before it ends goes back to the distributor."""

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

    class Meta:
        table = "red_packet_rains"


class RedPacketGrant(Model):
    """One packet won: one per store per rain (the unique key makes a replay harmless)."""

    id = fields.BigIntField(primary_key=True)
    rain: fields.ForeignKeyRelation[RedPacketRain] = fields.ForeignKeyField(
        "models.RedPacketRain", related_name="grants", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="red_packets", on_delete=fields.RESTRICT
    )
    amount_fen = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "red_packet_grants"
        unique_together = (("rain", "store"),)


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
