"""In-app notifications: what a signed-in person sees in their notification list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User
    from backend.org.models import Brand


class Notification(Model):
    """One message to one user, read or not. `link` names what it is about (for example
    complaint:42), for the console and the mini-program to open."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="notifications", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    title = fields.CharField(max_length=64)
    body = fields.CharField(max_length=500, default="")
    link = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("user_id", "id"),)


class SubscribeGrant(Model):
    """How many WeChat subscribe messages (订阅消息) of one template a user still allows us
    to send: each accept in wx.requestSubscribeMessage allows one. Taken by a guarded
    decrement (remaining > 0) before sending, given back when the message could not go."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="subscribe_grants", on_delete=fields.CASCADE
    )
    template_id = fields.CharField(max_length=64)
    remaining = fields.IntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "subscribe_grants"
        unique_together = (("user", "template_id"),)


class SubscribeSend(Model):
    """One subscribe message sent for one cause (a job): a rerun of that job finds it and
    sends nothing. Written in the transaction that takes the user's grant."""

    id = fields.BigIntField(primary_key=True)
    cause = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="subscribe_sends", on_delete=fields.CASCADE
    )
    template_id = fields.CharField(max_length=64)
    sent_at = fields.DatetimeField()

    class Meta:
        table = "subscribe_sends"
