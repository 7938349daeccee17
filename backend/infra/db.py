"""Tortoise ORM configuration and lifecycle; one schema for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.migrations.api import migrate as run_migrations

# Every module that declares models; the migrations package tracks them all.
MODEL_MODULES = [
    "backend.infra.models",
    "backend.identity.models",
    "backend.org.models",
    "backend.catalog.models",
    "backend.ordering.models",
    "backend.payments.models",
    "backend.promotions.models",
    "backend.ledger.models",
    "backend.coupons.models",
    "backend.mall.models",
    "backend.lottery.models",
    "backend.complaints.models",
    "backend.notifications.models",
    "backend.livestream.models",
]
APP_LABEL = "models"
DEFAULT_POOL_SIZE = 10  # PostgreSQL connections per process when DATABASE_URL names none


async def _release_quickly(connection: Any) -> None:
    """Reset a pooled PostgreSQL connection with no round trip unless one is needed.

    asyncpg's default reset runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release, and Tortoise releases after every statement outside a
    transaction: a round trip each time. We take no advisory locks, never LISTEN and never SET,
    so only an unfinished transaction needs undoing.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def _connection(database_url: str) -> str | dict[str, Any]:
    if not database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return database_url
    expanded: dict[str, Any] = expand_db_url(database_url)
    expanded["credentials"]["reset"] = _release_quickly
    # Tortoise's default pool of 5 queued bursts: 200 payment notifications at once waited
    # for connections (p99 208 ms with 5, 192 ms with 10 in bench/notifications.py).
    # `?maxsize=` in DATABASE_URL still decides.
    expanded["credentials"].setdefault("maxsize", DEFAULT_POOL_SIZE)
    return expanded


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str) -> None:
    # Global fallback: the server's startup runs in another task than the requests do
    # (as under ASGI lifespan), and each task would otherwise see no Tortoise context.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> None:
    """Bring the schema up to the latest migration (the only way schemas are built)."""
    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def ping_db() -> None:
    await get_connection("default").execute_query("SELECT 1")
