"""Records the platform keeps for itself rather than for a domain: idempotent request results."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    """The first result of a create request, replayed for the same key and body."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=32)
    owner = fields.CharField(max_length=48)  # who sent it: keys are per caller
    key = fields.CharField(max_length=64)
    request_hash = fields.CharField(max_length=64)
    # None while the first request is still being processed.
    response_status = fields.IntField(null=True)
    response_body: fields.JSONField[Any] = fields.JSONField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_records"
        unique_together = (("scope", "owner", "key"),)
