"""Brands (tenants), regions, distributors, salespeople, stores and how stores join."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User


class StoreStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class StoreTier(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class CodeKind(StrEnum):
    BOX = "box"
    SALESPERSON_INVITE = "salesperson_invite"
    STORE_INVITE = "store_invite"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Brand(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "brands"


class Region(Model):
    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="regions", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "regions"
        unique_together = (("brand", "name"),)


class Distributor(Model):
    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="distributors", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    contact_name = fields.CharField(max_length=32, default="")
    contact_phone = fields.CharField(max_length=20, default="")
    # WeChat Pay service-provider mode: the stores' payments land in this sub-merchant.
    wechat_sub_mchid = fields.CharField(max_length=32, null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "distributors"
        unique_together = (("brand", "name"),)


class DistributorServiceArea(Model):
    """The regions a distributor serves."""

    id = fields.BigIntField(primary_key=True)
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="service_areas", on_delete=fields.CASCADE
    )
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name="service_areas", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "distributor_service_areas"
        unique_together = (("distributor", "region"),)


class Salesperson(Model):
    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="salespeople", on_delete=fields.RESTRICT
    )
    distributor: fields.ForeignKeyNullableRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", null=True, related_name="salespeople", on_delete=fields.SET_NULL
    )
    name = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="salesperson_profiles", on_delete=fields.SET_NULL
    )
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "salespeople"
        unique_together = (("brand", "phone"),)


class Store(Model):
    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="stores", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    contact_name = fields.CharField(max_length=32, default="")
    phone = fields.CharField(max_length=20)
    business_licence_no = fields.CharField(max_length=32, null=True)
    address = fields.CharField(max_length=200)
    # WGS-84 degrees; None when the owner did not share a location.
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", null=True, related_name="stores", on_delete=fields.SET_NULL
    )
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="owned_stores", on_delete=fields.SET_NULL
    )
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="stores", on_delete=fields.RESTRICT
    )
    salesperson: fields.ForeignKeyNullableRelation[Salesperson] = fields.ForeignKeyField(
        "models.Salesperson", null=True, related_name="stores", on_delete=fields.SET_NULL
    )
    tier = fields.CharField(max_length=1, default=StoreTier.C.value)
    status = fields.CharField(max_length=16, default=StoreStatus.ACTIVE.value)
    # Who brought the store on, kept so that invitation rewards can be paid later.
    invited_by_store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="invitees", on_delete=fields.SET_NULL
    )
    invited_by_salesperson: fields.ForeignKeyNullableRelation[Salesperson] = fields.ForeignKeyField(
        "models.Salesperson", null=True, related_name="invited_stores", on_delete=fields.SET_NULL
    )
    # The store's first paid order, and its first paid self order: set once each (a guarded
    # update in the payment's transaction), so first-order rewards are paid once.
    first_paid_order_id = fields.BigIntField(null=True)
    first_self_paid_order_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stores"
        indexes = (
            ("brand_id", "distributor_id"),
            ("brand_id", "phone"),
            ("brand_id", "business_licence_no"),
            ("brand_id", "name"),  # an application with the same name is a suspected duplicate
        )


class StoreTag(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="tags", on_delete=fields.CASCADE
    )
    tag = fields.CharField(max_length=32)

    class Meta:
        table = "store_tags"
        unique_together = (("store", "tag"),)


class OnboardingBatch(Model):
    """One print run of box codes: how many, for which distributor, under what name."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="onboarding_batches", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=32)
    distributor: fields.ForeignKeyNullableRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", null=True, related_name="box_batches", on_delete=fields.SET_NULL
    )
    count = fields.IntField()
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="box_batches", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "onboarding_batches"
        indexes = (("brand_id", "id"),)


class OnboardingCode(Model):
    """A box code or an invitation. The printed token is `public_id` signed with our secret."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="onboarding_codes", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=24)
    public_id = fields.CharField(max_length=32, unique=True)
    distributor: fields.ForeignKeyNullableRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", null=True, related_name="box_codes", on_delete=fields.SET_NULL
    )
    inviter_salesperson: fields.ForeignKeyNullableRelation[Salesperson] = fields.ForeignKeyField(
        "models.Salesperson", null=True, related_name="invite_codes", on_delete=fields.SET_NULL
    )
    inviter_store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="invite_codes", on_delete=fields.SET_NULL
    )
    # "<kind>:<inviter id>" on invitations: the unique constraint keeps one per inviter.
    inviter_key = fields.CharField(max_length=48, null=True, unique=True)
    batch = fields.CharField(max_length=32, null=True)
    # The print run a box code came from (None on invitations and on codes made before runs).
    print_batch: fields.ForeignKeyNullableRelation[OnboardingBatch] = fields.ForeignKeyField(
        "models.OnboardingBatch", null=True, related_name="codes", on_delete=fields.RESTRICT
    )
    # None means unlimited (invitations); a box code is scanned into one application.
    max_uses = fields.IntField(null=True)
    uses = fields.IntField(default=0)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "onboarding_codes"
        indexes = (("print_batch_id", "id"),)


class StoreApplication(Model):
    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="store_applications", on_delete=fields.RESTRICT
    )
    applicant: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="store_applications", on_delete=fields.RESTRICT
    )
    code: fields.ForeignKeyRelation[OnboardingCode] = fields.ForeignKeyField(
        "models.OnboardingCode", related_name="applications", on_delete=fields.RESTRICT
    )
    # Set to "<brand>:<user>" while pending and cleared on review: the unique constraint
    # lets a person have only one open application per brand, even under concurrent submits.
    open_key = fields.CharField(max_length=48, null=True, unique=True)
    status = fields.CharField(max_length=16, default=ApplicationStatus.PENDING.value)
    store_name = fields.CharField(max_length=64)
    contact_name = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20)
    business_licence_no = fields.CharField(max_length=32, null=True)
    address = fields.CharField(max_length=200)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", null=True, related_name="applications", on_delete=fields.SET_NULL
    )
    inviter_salesperson: fields.ForeignKeyNullableRelation[Salesperson] = fields.ForeignKeyField(
        "models.Salesperson",
        null=True,
        related_name="invited_applications",
        on_delete=fields.SET_NULL,
    )
    inviter_store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="invited_applications", on_delete=fields.SET_NULL
    )
    suggested_distributor: fields.ForeignKeyNullableRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor",
        null=True,
        related_name="suggested_applications",
        on_delete=fields.SET_NULL,
    )
    # What a reviewer must look at: [{"field": "phone", "store_id": 3}, ...]
    duplicate_flags: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    reject_reason = fields.CharField(max_length=200, null=True)
    reviewed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="reviewed_applications", on_delete=fields.SET_NULL
    )
    reviewed_at = fields.DatetimeField(null=True)
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="application", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "store_applications"
        indexes = (
            ("brand_id", "status"),
            ("brand_id", "phone"),
            ("brand_id", "business_licence_no"),
            ("brand_id", "store_name"),
            ("inviter_salesperson_id", "id"),  # a salesperson's invited applications
        )
