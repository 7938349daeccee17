"""Redis through redis.asyncio; the embedded default uses fakeredis (with Lua) in process."""

from __future__ import annotations

from typing import Any

import fakeredis
import redis.asyncio as aioredis

from backend.config import EMBEDDED_REDIS_URL

# One in-process server, so every client in the embedded process sees the same data.
_embedded_server = fakeredis.FakeServer()

Redis = aioredis.Redis


def create_redis(url: str) -> Any:
    if url == EMBEDDED_REDIS_URL:
        return fakeredis.FakeAsyncRedis(server=_embedded_server, decode_responses=True)
    return aioredis.from_url(url, decode_responses=True)
