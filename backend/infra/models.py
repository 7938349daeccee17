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


class JobRecord(Model):
    """A durable job (backend/infra/jobs.py): written in the transaction of the change that
    asks for it, handed to the queue after commit, and kept with its attempts and last error,
    so that staff see what failed and may run it again."""

    id = fields.BigIntField(primary_key=True)
    task = fields.CharField(max_length=64)
    args: fields.JSONField[Any] = fields.JSONField(default=dict)
    brand_id = fields.BigIntField(null=True)  # whose staff see it; None: the platform's own
    # "task": deferred by a change, of its brand; "periodic": a periodic job's failing run,
    # work across every brand (backend/infra/jobs.py), shown to every brand's admins.
    kind = fields.CharField(max_length=16, default="task")
    # What it is about, for staff (Chinese: "投诉 #12", "直播 #3「新品订货会」"); "" if nothing.
    context = fields.CharField(max_length=120, default="")
    status = fields.CharField(max_length=16)
    attempts = fields.IntField(default=0)
    # Bumped by each manual retry: the queue knows a run by (id, generation).
    generation = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "jobs"
        indexes = (("status", "updated_at"), ("brand_id", "status", "id"))
