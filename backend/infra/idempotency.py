"""Idempotent creates: the first result for a key is stored and replayed.

The claim row is committed before the work starts, so a concurrent request with the same key
finds it and waits for the first one's result instead of doing the work again. The same key
with a different body is a conflict. Business refusals (4xx) are stored and replayed like
successes; a failure that may be transient (5xx, 429, a crash) frees the key for a retry.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from backend.infra import sql
from backend.infra.http import error_envelope, ok
from backend.infra.models import IdempotencyRecord
from backend.kernel.errors import Conflict, DomainError, InvalidInput

KEY_MAX_LENGTH = 64
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.02
# A claim this old without a result belongs to a process that died mid-request.
ABANDONED_AFTER = timedelta(minutes=2)
# Encodes the stored answer exactly as the ORM would (the replay reads it through the ORM).
_BODY_FIELD = IdempotencyRecord._meta.fields_map["response_body"]


class KeyRequired(InvalidInput):
    code = "idempotency.key_required"
    message = "缺少 Idempotency-Key 请求头"


class KeyReused(Conflict):
    code = "idempotency.key_reused"
    message = "该幂等键已用于内容不同的请求"


class StillProcessing(Conflict):
    code = "idempotency.in_progress"
    message = "相同的请求正在处理中，请稍后查看结果"


def checked_key(raw: str | None) -> str:
    key = (raw or "").strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise KeyRequired()
    return key


async def run_once(
    *,
    scope: str,
    owner: str,
    key: str,
    body: bytes,
    now: datetime,
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> tuple[int, Any]:
    """Run `work` once per (scope, owner, key); return its (status, body) every time."""
    request = _Request(scope, owner, key, hashlib.sha256(body).hexdigest(), now)
    return await _claim_and_run(request, work)


Work = Callable[[], Awaitable[tuple[int, Any]]]


async def respond_once(
    request: Request, *, scope: str, owner: str, now: datetime, work: Work
) -> HTTPResponse:
    """A create endpoint's response, idempotent on the request's Idempotency-Key header."""
    key = checked_key(request.headers.get("idempotency-key"))
    # The path is part of the request: the same key and body sent to another order, item or
    # wheel (/orders/2/refunds after /orders/1/refunds) is another request, refused as a
    # reused key instead of answered with the first one's result.
    fingerprint = request.path.encode() + b"\n" + request.body
    status, result = await run_once(
        scope=scope, owner=owner, key=key, body=fingerprint, now=now, work=work
    )
    return ok(result, status=status)


async def create_once(
    request: Request,
    *,
    scope: str,
    user_id: int,
    now: datetime,
    create: Callable[[], Awaitable[Any]],
) -> HTTPResponse:
    """respond_once for the usual case: the signed-in user creates something, answered 201."""

    async def work() -> tuple[int, Any]:
        return 201, await create()

    return await respond_once(request, scope=scope, owner=f"user:{user_id}", now=now, work=work)


async def create_once_if_keyed(
    request: Request,
    *,
    scope: str,
    user_id: int,
    now: datetime,
    create: Callable[[], Awaitable[Any]],
) -> HTTPResponse:
    """201 with what `create` made; with an Idempotency-Key (the console always sends one) a
    retry is answered the first answer instead of creating again. Without one, as scripts
    written before the key was offered call, every request creates."""
    if request.headers.get("idempotency-key") is None:
        return ok(await create(), status=201)
    return await create_once(request, scope=scope, user_id=user_id, now=now, create=create)


@dataclass(frozen=True)
class _Request:
    scope: str
    owner: str
    key: str
    request_hash: str
    now: datetime

    @property
    def identity(self) -> dict[str, Any]:
        return {"scope": self.scope, "owner": self.owner, "key": self.key}


async def _claim(request: _Request) -> int | None:
    """The claim's id, or None when the key is already claimed."""
    row = await sql.fetch_one(
        "INSERT INTO idempotency_records (scope, owner, key, request_hash, created_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, owner, key) DO NOTHING RETURNING id",
        request.scope,
        request.owner,
        request.key,
        request.request_hash,
        request.now,
    )
    return None if row is None else int(row["id"])


async def _answer(claim_id: int, status: int, body: Any) -> None:
    await sql.execute(
        "UPDATE idempotency_records SET response_status = $1, response_body = $2 WHERE id = $3",
        status,
        _BODY_FIELD.to_db_value(body, IdempotencyRecord),
        claim_id,
    )


async def _free(claim_id: int) -> None:
    await sql.execute("DELETE FROM idempotency_records WHERE id = $1", claim_id)


async def _claim_and_run(request: _Request, work: Work) -> tuple[int, Any]:
    # Every create passes here, so the claim, the answer and the release are fixed SQL
    # (infra/sql.py); the rare replay path below keeps the ORM.
    claim_id = await _claim(request)
    if claim_id is None:
        return await _replay(request, work)
    try:
        status, result = await work()
    except DomainError as exc:
        if exc.status >= 500 or exc.status == 429:
            await _free(claim_id)
        else:
            await _answer(claim_id, exc.status, error_envelope(exc.code, exc.text, exc.details))
        raise
    except BaseException:
        await _free(claim_id)
        raise
    await _answer(claim_id, status, result)
    return status, result


async def _replay(request: _Request, work: Work) -> tuple[int, Any]:
    waited = 0.0
    while True:
        record = await IdempotencyRecord.get_or_none(**request.identity)
        if record is None:  # the first attempt failed in a way worth retrying, and freed it
            return await _claim_and_run(request, work)
        if record.request_hash != request.request_hash:
            raise KeyReused()
        if record.response_status is not None:
            return record.response_status, record.response_body
        if request.now - record.created_at > ABANDONED_AFTER:
            await IdempotencyRecord.filter(id=record.id, response_status=None).delete()
            continue
        if waited >= WAIT_SECONDS:
            raise StillProcessing()
        await asyncio.sleep(POLL_SECONDS)
        waited += POLL_SECONDS
