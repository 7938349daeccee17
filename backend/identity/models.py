"""People, their WeChat identities, staff credentials, roles and sign-in sessions."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.org.models import Brand, Distributor, Salesperson, Store


class Role(StrEnum):
    BRAND_ADMIN = "brand_admin"
    BRAND_OPS = "brand_ops"
    DISTRIBUTOR_ADMIN = "distributor_admin"
    DISTRIBUTOR_STAFF = "distributor_staff"
    SALESPERSON = "salesperson"
    STORE_OWNER = "store_owner"
    STORE_CLERK = "store_clerk"


class User(Model):
    id = fields.BigIntField(primary_key=True)
    display_name = fields.CharField(max_length=64, default="")
    # One phone, one user: the unique index is what makes a second WeChat user's binding of a
    # phone that is already bound fail, even when both bind at the same moment.
    phone = fields.CharField(max_length=20, null=True, unique=True)
    # Staff sign in to the web console with a username and password; WeChat users need neither.
    username = fields.CharField(max_length=64, null=True, unique=True)
    password_hash = fields.CharField(max_length=255, null=True)
    failed_login_count = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class WechatAccount(Model):
    """One mini-program identity (openid is per appid). Its unionid links a person across apps."""

    id = fields.BigIntField(primary_key=True)
    appid = fields.CharField(max_length=64)
    openid = fields.CharField(max_length=128)
    unionid = fields.CharField(max_length=128, null=True, db_index=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="wechat_accounts", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "wechat_accounts"
        unique_together = (("appid", "openid"),)


class Membership(Model):
    """A role a user holds inside one brand, narrowed to a distributor, store or salesperson."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=32)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="memberships", on_delete=fields.RESTRICT
    )
    distributor: fields.ForeignKeyNullableRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", null=True, related_name="memberships", on_delete=fields.SET_NULL
    )
    store: fields.ForeignKeyNullableRelation[Store] = fields.ForeignKeyField(
        "models.Store", null=True, related_name="memberships", on_delete=fields.SET_NULL
    )
    salesperson: fields.ForeignKeyNullableRelation[Salesperson] = fields.ForeignKeyField(
        "models.Salesperson", null=True, related_name="memberships", on_delete=fields.SET_NULL
    )
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"


class AuthSession(Model):
    """A sign-in: the family of rotating refresh tokens. Revoking it ends every token in it."""

    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="auth_sessions", on_delete=fields.CASCADE
    )
    membership: fields.ForeignKeyNullableRelation[Membership] = fields.ForeignKeyField(
        "models.Membership", null=True, related_name="sessions", on_delete=fields.SET_NULL
    )
    client = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "auth_sessions"


class RefreshToken(Model):
    """Only the SHA-256 of a refresh token is kept. A used token can never be used again."""

    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[AuthSession] = fields.ForeignKeyField(
        "models.AuthSession", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    issued_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"
