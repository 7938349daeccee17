"""The suite's throwaway PostgreSQL and Redis: started where nothing answers, gone after."""

from __future__ import annotations

import shutil
import socket
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests import throwaway
from tests.conftest import free_port

needs_binaries = pytest.mark.skipif(
    throwaway.postgres_binary("initdb") is None or shutil.which("redis-server") is None,
    reason="PostgreSQL or Redis server binaries are not installed",
)


def test_answering_and_embedded_urls_are_kept() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        with_server = listening.getsockname()[1]
        url = f"postgres://postgres@127.0.0.1:{with_server}/postgres"
        redis_url = f"redis://127.0.0.1:{with_server}/3"
        assert throwaway.backing_services(url, redis_url) == (url, redis_url)
    assert throwaway.backing_services("sqlite://:memory:", "memory://") == (
        "sqlite://:memory:",
        "memory://",
    )


@needs_binaries
async def test_throwaway_servers_answer_and_are_gone_after() -> None:
    dead_pg, dead_redis = free_port(), free_port()
    pg_url, stop_pg = throwaway.start_postgres(
        f"postgres://postgres:ignored@127.0.0.1:{dead_pg}/postgres"
    )
    redis_url, stop_redis = throwaway.start_redis(f"redis://127.0.0.1:{dead_redis}/14")
    pg_parts, redis_parts = urlsplit(pg_url), urlsplit(redis_url)
    try:
        assert pg_parts.port != dead_pg and pg_parts.password is None
        assert redis_parts.port != dead_redis and redis_parts.path == "/14"
        connection = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://", 1))
        try:
            assert await connection.fetchval("SELECT current_user") == "postgres"
        finally:
            await connection.close()
        client = aioredis.from_url(redis_url)
        try:
            assert await client.ping()
            # No persistence: nothing is written to disk.
            assert (await client.config_get("save"))["save"] == ""
        finally:
            await client.aclose()
    finally:
        stop_pg()
        stop_redis()
    assert not throwaway._answers("127.0.0.1", pg_parts.port or 0)
    assert not throwaway._answers("127.0.0.1", redis_parts.port or 0)
