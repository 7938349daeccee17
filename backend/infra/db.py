"""Tortoise ORM configuration and lifecycle; one schema for SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
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
    "backend.display.models",
    "backend.codes.models",
    "backend.analytics.models",
]
APP_LABEL = "models"
DEFAULT_POOL_SIZE = 10  # PostgreSQL connections per process when DATABASE_URL names none
DEFAULT_POOL_TIMEOUT = 5.0


@dataclass(frozen=True)
class DbPool:
    """One process's PostgreSQL pool (B2BC_DB_POOL_SIZE, B2BC_DB_POOL_TIMEOUT, B2BC_PGBOUNCER).

    `timeout`: seconds a request waits for a free connection before it is refused with
    503 db_busy (backend/infra/pgpool.py). `pgbouncer`: connections go through PgBouncer in
    transaction mode, where consecutive statements may run on different server connections,
    so asyncpg must not keep named prepared statements (statement_cache_size=0)."""

    size: int = DEFAULT_POOL_SIZE
    timeout: float = DEFAULT_POOL_TIMEOUT
    pgbouncer: bool = False


async def _release_quickly(connection: Any) -> None:
    """Reset a pooled PostgreSQL connection with no round trip unless one is needed.

    asyncpg's default reset runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release, and Tortoise releases after every statement outside a
    transaction: a round trip each time. We take no advisory locks, never LISTEN and never SET,
    so only an unfinished transaction needs undoing.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def _truthy(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")


def _connection(database_url: str, pool: DbPool) -> str | dict[str, Any]:
    if not database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return database_url
    expanded: dict[str, Any] = expand_db_url(database_url)
    # Our engine: Tortoise's asyncpg client with a bounded wait for a connection.
    expanded["engine"] = "backend.infra.pgpool"
    credentials = expanded["credentials"]
    credentials["reset"] = _release_quickly
    # Tortoise's default pool of 5 queued bursts: 200 payment notifications at once waited
    # for connections (p99 208 ms with 5, 192 ms with 10 in bench/notifications.py).
    # `?maxsize=` in DATABASE_URL still decides (load_settings refuses it next to a
    # different B2BC_DB_POOL_SIZE).
    credentials.setdefault("maxsize", pool.size)
    credentials.setdefault("acquire_timeout", pool.timeout)
    # `?pgbouncer=1` in the URL says the same as B2BC_PGBOUNCER=1; asyncpg must not see it.
    if pool.pgbouncer or _truthy(str(credentials.pop("pgbouncer", ""))):
        credentials["statement_cache_size"] = 0
    return expanded


def tortoise_config(database_url: str, pool: DbPool | None = None) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url, pool or DbPool())},
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


async def init_db(database_url: str, pool: DbPool | None = None) -> None:
    # Global fallback: the server's startup runs in another task than the requests do
    # (as under ASGI lifespan), and each task would otherwise see no Tortoise context.
    await Tortoise.init(config=tortoise_config(database_url, pool), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str, pool: DbPool | None = None) -> None:
    """Bring the schema up to the latest migration (the only way schemas are built)."""
    await run_migrations(config=tortoise_config(database_url, pool))
    await Tortoise.close_connections()


async def ping_db() -> None:
    await get_connection("default").execute_query("SELECT 1")
