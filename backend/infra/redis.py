"""Redis through redis.asyncio; the embedded default uses fakeredis (with Lua) in process."""

from __future__ import annotations

from typing import Any

import fakeredis
import redis.asyncio as aioredis

from backend.config import EMBEDDED_REDIS_URL
from backend.infra.metrics import watch_redis_pool

# One in-process server, so every client in the embedded process sees the same data.
_embedded_server = fakeredis.FakeServer()

Redis = aioredis.Redis
# Connections per process. A burst beyond it waits for a free connection (up to the timeout)
# instead of failing, which is what redis-py's default pool does.
POOL_SIZE = 64
POOL_WAIT_SECONDS = 5


def create_redis(url: str, *, decode_responses: bool = True, name: str = "app") -> Any:
    """`name`: what /metrics calls its pool (b2bc_redis_pool_in_use{pool=name})."""
    if url == EMBEDDED_REDIS_URL:
        return fakeredis.FakeAsyncRedis(
            server=_embedded_server, decode_responses=decode_responses, max_connections=100_000
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_SECONDS,
        decode_responses=decode_responses,
    )
    watch_redis_pool(pool, name)
    return aioredis.Redis(connection_pool=pool)
