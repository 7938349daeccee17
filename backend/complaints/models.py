"""Complaints (投诉) from store owners, with their timeline of steps, messages and notes."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.org.models import Brand, Store


class ComplaintStatus(StrEnum):
    NEW = "new"  # filed by the store, waiting for the brand
    ACKNOWLEDGED = "acknowledged"  # the brand has seen it
    ASSIGNED = "assigned"  # handed to a distributor to fix
    RESPONDED = "responded"  # the distributor has answered
    RESOLVED = "resolved"  # the brand says it is fixed; the store confirms or reopens
    REOPENED = "reopened"  # the store says it is not fixed; back to the brand
    CLOSED = "closed"  # confirmed by the store, or closed after the reopening window


class ComplaintCategory(StrEnum):
    QUALITY = "quality"
    DAMAGED = "damaged"
    DELIVERY = "delivery"  # late or missing
    WRONG_GOODS = "wrong_goods"
    SERVICE = "service"  # the distributor's service
    PROMOTION = "promotion"  # a promotion not honoured
    OTHER = "other"


class Complaint(Model):
    """One complaint. status moves by guarded updates (WHERE status = <from>)."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="complaints", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="complaints", on_delete=fields.RESTRICT
    )
    # The distributor handling it: none until the brand assigns one.
    distributor_id = fields.BigIntField(null=True)
    order_id = fields.BigIntField(null=True)
    category = fields.CharField(max_length=12)
    text = fields.TextField()
    contact_preference = fields.CharField(max_length=8)
    status = fields.CharField(max_length=12, default=ComplaintStatus.NEW.value)
    rating = fields.SmallIntField(null=True)
    rating_comment = fields.CharField(max_length=200, default="")
    reopen_count = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # Service levels: the first response (the brand acknowledging it) and the resolution are
    # due by these times. due_at is the next of them still open (the queue's order), None
    # once resolved. While resolved the complaint waits on the store: the clock stops at
    # paused_since, and a reopening moves the resolution deadline on by the time waited.
    acknowledged_at = fields.DatetimeField(null=True)
    first_response_due_at = fields.DatetimeField(null=True)
    resolution_due_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField(null=True)
    paused_since = fields.DatetimeField(null=True)
    breached_first_response = fields.BooleanField(default=False, db_default=False)
    breached_resolution = fields.BooleanField(default=False, db_default=False)
    # WeChat's content-security verdict on the text (pass, review, risky, or unchecked when
    # WeChat could not be asked), and the brand's decision on a flagged one (approved, or
    # rejected: then hidden from the distributor). Flagged text is never dropped.
    content_check = fields.CharField(max_length=10, default="pass", db_default="pass")
    content_review = fields.CharField(max_length=10, default="", db_default="")

    class Meta:
        table = "complaints"
        indexes = (
            ("brand_id", "status", "id"),
            ("distributor_id", "status"),
            ("store_id", "id"),
            ("brand_id", "due_at", "id"),
            # the queue filtered by status, and a distributor's queue, in due order
            ("brand_id", "status", "due_at", "id"),
            ("distributor_id", "due_at", "id"),
        )


class ComplaintEvent(Model):
    """One step of a complaint's timeline, never changed: a status move, a message to the
    store, or an internal note that only the brand and the distributor see."""

    id = fields.BigIntField(primary_key=True)
    complaint: fields.ForeignKeyRelation[Complaint] = fields.ForeignKeyField(
        "models.Complaint", related_name="events", on_delete=fields.RESTRICT
    )
    actor_id = fields.BigIntField(null=True)
    actor_role = fields.CharField(max_length=20)
    from_status = fields.CharField(max_length=12, null=True)
    to_status = fields.CharField(max_length=12, null=True)
    message = fields.TextField(default="")
    internal = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "complaint_events"


class ComplaintSla(Model):
    """A brand's service levels for one category, in minutes (defaults apply without one)."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="complaint_slas", on_delete=fields.RESTRICT
    )
    category = fields.CharField(max_length=12)
    first_response_minutes = fields.IntField()
    resolution_minutes = fields.IntField()

    class Meta:
        table = "complaint_slas"
        unique_together = (("brand", "category"),)


class ComplaintPhoto(Model):
    """A photo a store uploaded for a complaint, cleaned of its metadata and stored under
    `key`. It belongs to no complaint until one is filed with it (at most 9 per complaint)."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="complaint_photos", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="complaint_photos", on_delete=fields.RESTRICT
    )
    complaint: fields.ForeignKeyNullableRelation[Complaint] = fields.ForeignKeyField(
        "models.Complaint", null=True, related_name="photos", on_delete=fields.RESTRICT
    )
    key = fields.CharField(max_length=128)
    content_type = fields.CharField(max_length=16)
    size_bytes = fields.IntField()
    width = fields.IntField()
    height = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "complaint_photos"
        indexes = (("store_id", "complaint_id"),)
