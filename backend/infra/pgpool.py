"""PostgreSQL connections with a bounded wait: a full pool is a clear refusal, not a hang.

Tortoise acquires from asyncpg's pool with no timeout, so when every connection is busy
(long transactions, a lock queue, a burst larger than the pool) each further request waits
until a connection frees up, however long that takes, and a Socket.IO handler waiting the
same way ends as a generic `live.failed` once something else gives up. Here every acquire
waits at most `acquire_timeout` seconds, then raises `DatabaseBusy` (as does a server that
refuses a new connection because it has too many): the HTTP layer answers
503 `db_busy`, a realtime handler acknowledges with the same code, nothing has been written
(the request never got a connection), and `b2bc_db_pool_timeouts_total` counts it.

Tortoise loads this module as the connection's engine (`client_class` below);
backend/infra/db.py points PostgreSQL URLs at it.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionContext, TransactionContextPooled

from backend.infra.logging import get_logger
from backend.kernel.errors import DomainError

log = get_logger("db.pool")


class DatabaseBusy(DomainError):
    """No database connection came free in time: retry later, nothing was done."""

    status = 503
    code = "db_busy"
    message = "系统繁忙，请稍后再试"


class _Timeouts:
    """How many acquires gave up, for the metrics endpoint (a Prometheus counter as well,
    when prometheus-client is installed, so the default registry exports it)."""

    def __init__(self) -> None:
        self.count = 0
        self._counter: Any = None
        try:
            # Optional: the count below serves without it.
            from prometheus_client import Counter  # noqa: PLC0415
        except ImportError:
            return
        self._counter = Counter(
            "b2bc_db_pool_timeouts",
            "Requests refused because no database connection came free in time",
        )

    def add(self) -> None:
        self.count += 1
        if self._counter is not None:
            self._counter.inc()


TIMEOUTS = _Timeouts()
# This process's pools, for pool_usage(); a closed pool's client drops it.
_pools: weakref.WeakSet[BoundedPool] = weakref.WeakSet()


def pool_timeouts() -> int:
    """Acquires that gave up in this process since it started."""
    return TIMEOUTS.count


def pool_usage() -> dict[str, int]:
    """This process's PostgreSQL connections: the configured maximum, those open, those
    handed out (in use by a request, job or transaction), and the acquires waiting for one.
    All zero on SQLite."""
    live = [pool for pool in _pools if not pool.is_closing()]
    return {
        "max": sum(pool.get_max_size() for pool in live),
        "open": sum(pool.get_size() for pool in live),
        "in_use": sum(pool.get_size() - pool.get_idle_size() for pool in live),
        "waiting": sum(pool.waiting for pool in live),
    }


# What asyncpg.create_pool fills in before it builds a Pool, which our subclass is built
# without: taken from its signature so the two stay the same.
_POOL_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(asyncpg.create_pool).parameters.items()
    if parameter.kind is parameter.KEYWORD_ONLY and parameter.default is not parameter.empty
}


class BoundedPool(asyncpg.Pool):
    __slots__ = ("__weakref__", "acquire_timeout", "waiting")

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout
        self.waiting = 0  # acquires not yet answered: queued for a connection or opening one

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 - asyncpg's
        # Both ways in (`await pool.acquire()`, as Tortoise does, and `async with`) come here;
        # the wait covers queueing for a free connection and opening a new one.
        self.waiting += 1
        try:
            return await super()._acquire(self.acquire_timeout if timeout is None else timeout)
        except TimeoutError as exc:
            TIMEOUTS.add()
            log.warning(
                "no database connection came free in time",
                extra={"pool_size": self.get_max_size(), "waited_seconds": self.acquire_timeout},
            )
            raise DatabaseBusy() from exc
        except asyncpg.TooManyConnectionsError as exc:
            # The server (max_connections, or a role's or database's limit) refused the new
            # connection this pool tried to open: the same "none free", one level further.
            TIMEOUTS.add()
            log.warning("the database refused a new connection: too many clients")
            raise DatabaseBusy() from exc
        finally:
            self.waiting -= 1


async def open_pool(acquire_timeout: float, **options: Any) -> BoundedPool:
    """A pool whose acquires wait at most `acquire_timeout` seconds; `options` are
    asyncpg.create_pool's."""
    pool = await BoundedPool(None, acquire_timeout=acquire_timeout, **{**_POOL_DEFAULTS, **options})
    _pools.add(pool)
    return pool


class _PgBouncerWaits(AsyncpgDBClient):
    """PgBouncer's own bound: a client that waited `query_wait_timeout` for a server
    connection is told so and disconnected. That is the same "no connection came free in
    time" as our pool's, one hop further, and is answered the same way."""

    async def _translate_exceptions(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._translate_exceptions(func, *args, **kwargs)
        except asyncpg.PostgresError as exc:
            if "query_wait_timeout" not in str(exc):
                raise
            TIMEOUTS.add()
            log.warning("PgBouncer had no server connection free in time")
            raise DatabaseBusy() from exc


class _BoundedTransaction(_PgBouncerWaits, TransactionWrapper):
    """A transaction's connection; its BEGIN is where PgBouncer makes it wait."""


class BoundedAsyncpgClient(_PgBouncerWaits):
    def __init__(self, *args: Any, acquire_timeout: float | str = 5.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = float(acquire_timeout)
        if "statement_cache_size" in self.extra:
            # From a URL's query string, Tortoise passes every value as text.
            self.extra["statement_cache_size"] = int(self.extra["statement_cache_size"])

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await open_pool(self.acquire_timeout, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return TransactionContextPooled(_BoundedTransaction(self), self._pool_init_lock)


client_class = BoundedAsyncpgClient
