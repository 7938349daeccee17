"""Hand-written SQL for the few hot paths where the ORM's per-statement cost shows.

Tortoise builds every statement afresh through pypika: about 0.3 ms of CPU per statement,
which made order placement four times as costly as the same transaction in raw asyncpg
(bench/order_placement.py). The hot paths (placing an order, applying a payment
notification, the idempotency claim) therefore send fixed SQL text through the connection
the ORM itself is using, so they join any `in_transaction()` block around them.

Statements are written once, in PostgreSQL's `$1, $2, ...` style, and in SQL both databases
share: `RETURNING`, `ON CONFLICT DO NOTHING`, and `IN ($3)` where argument 3 is a list or
tuple, which is spread into `IN ($3, $4, ...)` (PostgreSQL's `= ANY($3)` has no SQLite
twin). On SQLite the placeholders become `?1, ?2, ...` (numbered, so a value may be used
twice). The text stays fixed for each list length, so asyncpg's prepared statements hit.

Values go in as they are: datetimes must be timezone-aware UTC, as the ORM stores them.
SQLite gives booleans back as 0/1 and datetimes as text; callers convert what they read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from backend.infra.logging import get_logger

CONNECTION = "default"
log = get_logger("sql")
_PLACEHOLDER = re.compile(r"\$(\d+)")

Row = Mapping[str, Any]


@lru_cache(maxsize=1024)
def _compiled(sql: str, dialect: str, list_lengths: tuple[int | None, ...]) -> str:
    """The statement as this database takes it, with list arguments spread out."""
    if any(length is not None for length in list_lengths):
        numbers: list[list[int]] = []  # the placeholder numbers each argument becomes
        position = 1
        for length in list_lengths:
            width = 1 if length is None else length
            numbers.append(list(range(position, position + width)))
            position += width

        def spread(match: re.Match[str]) -> str:
            return ", ".join(f"${n}" for n in numbers[int(match.group(1)) - 1])

        sql = _PLACEHOLDER.sub(spread, sql)
    if dialect == "sqlite":
        return _PLACEHOLDER.sub(r"?\1", sql)
    return sql


class Array(tuple[Any, ...]):
    """An argument passed whole as a PostgreSQL array (`unnest($1::bigint[])`, `= ANY($1)`),
    where a list or tuple would be spread into an IN list. For statements written for
    PostgreSQL alone (`is_postgres()`): one statement for a whole batch of rows, whose text
    stays the same whatever the batch's size."""


def _spread(arg: Any) -> bool:
    return isinstance(arg, list | tuple) and not isinstance(arg, Array)


def _prepared(sql: str, args: Sequence[Any]) -> tuple[BaseDBAsyncClient, str, list[Any]]:
    # Inside in_transaction() this is the transaction's connection (a context variable).
    db = connections.get(CONNECTION)
    lengths = tuple(len(arg) if _spread(arg) else None for arg in args)
    if 0 in lengths:
        raise ValueError("an empty list can not be an IN list")
    values: list[Any] = []
    for arg in args:
        if isinstance(arg, Array):
            values.append(list(arg))
        elif isinstance(arg, list | tuple):
            values.extend(arg)
        else:
            values.append(arg)
    return db, _compiled(sql, db.capabilities.dialect, lengths), values


async def fetch(sql: str, *args: Any) -> list[Row]:
    """The rows a query (or a statement with RETURNING) gives."""
    db, statement, values = _prepared(sql, args)
    rows: Sequence[Row] = await db.execute_query_dict(statement, values)
    return list(rows)


async def fetch_rows(sql: str, *args: Any) -> Sequence[Sequence[Any]]:
    """The rows a query gives as the driver made them (asyncpg's Record, sqlite3.Row), read by
    position: for a hot query of many rows, where making each a dict (fetch) is what costs."""
    db, statement, values = _prepared(sql, args)
    _, rows = await db.execute_query(statement, values)
    return rows  # type: ignore[return-value]  # Tortoise types them as dicts; they are not


async def fetch_one(sql: str, *args: Any) -> Row | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def execute(sql: str, *args: Any) -> int:
    """Run an INSERT, UPDATE or DELETE without RETURNING; the number of rows it touched."""
    db, statement, values = _prepared(sql, args)
    touched, _ = await db.execute_query(statement, values)
    return int(touched)


async def execute_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement once per row of values (pipelined on PostgreSQL).

    Inside a transaction it joins it; outside, the driver wraps all rows in one of its own.
    """
    db, statement, _ = _prepared(sql, ())
    await db.execute_many(statement, [list(row) for row in rows])


def is_postgres() -> bool:
    """For the few statements written for PostgreSQL alone, each with a portable fallback."""
    return bool(connections.get(CONNECTION).capabilities.dialect == "postgres")


def transaction() -> AbstractAsyncContextManager[Any]:
    """Join the transaction the caller is already in, or start one.

    A nested in_transaction() costs two more round trips (SAVEPOINT and RELEASE) for the
    right to roll back only the inner block. Use this instead where the block raises only
    before its first write, so that joining can never leave half of it written.
    """
    if _in_transaction():
        return nullcontext()
    return _outermost()


def atomic() -> AbstractAsyncContextManager[Any]:
    """A block that commits or rolls back as a whole, as in_transaction() does (a savepoint
    inside the caller's transaction), but whose after-commit callbacks (after_commit, and
    the after-commit handlers of events recorded in it) wait for the commit when it is the
    outermost transaction."""
    if _in_transaction():
        return in_transaction(CONNECTION)
    return _outermost()


AfterCommit = Callable[[], Awaitable[None]]
# The callbacks of the transaction that transaction() opened in this task, run once it has
# committed; None outside one.
_after_commit: ContextVar[list[AfterCommit] | None] = ContextVar("after_commit", default=None)


def _in_transaction() -> bool:
    return isinstance(connections.get(CONNECTION), TransactionalDBClient)


@asynccontextmanager
async def _outermost() -> AsyncIterator[Any]:
    callbacks: list[AfterCommit] = []
    token = _after_commit.set(callbacks)
    try:
        async with in_transaction(CONNECTION) as connection:
            yield connection
    finally:
        _after_commit.reset(token)
    # Reached only once the transaction has committed (an exception leaves above).
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")


async def after_commit(callback: AfterCommit) -> None:
    """Run `callback` once what the current transaction wrote is committed and visible to
    every other connection (a push to clients that re-read it): at once outside a
    transaction, else after the transaction that transaction() opened. A callback must be
    harmless when a savepoint inside rolled back what it is about; it is skipped when the
    whole transaction rolls back. Failures are logged, never raised: the data is saved."""
    pending = _after_commit.get()
    if pending is not None and _in_transaction():
        pending.append(callback)
        return
    if _in_transaction():
        # A transaction opened by in_transaction() directly: its commit cannot be seen from
        # here. Open the outermost transaction with transaction() where this is reached.
        log.warning("after-commit callback run inside a transaction it cannot wait for")
    try:
        await callback()
    except Exception:
        log.exception("after-commit callback failed")


async def change_and_record(
    change: str, record: str, *args: Any, returning: str = "1"
) -> list[Row]:
    """Run `change` (an UPDATE) and, only if it touched rows, `record` (an INSERT ... SELECT
    without FROM, typically the audit row of the change); the changed rows' `returning`
    columns (empty: nothing changed).

    Both take the same arguments. On PostgreSQL they go as one statement (`WITH changed AS
    (change RETURNING ...), recorded AS (record FROM changed) SELECT * FROM changed`), which
    saves a round trip on hot paths; on SQLite, which has no writable CTEs, as two. Either
    way, run it inside a transaction. Arguments used only in `record` need a CAST:
    PostgreSQL infers no type for them.
    """
    db, statement, values = _prepared(change, args)
    if db.capabilities.dialect == "postgres":
        # Statement texts only, never values: those stay bound parameters.
        combined = (
            f"WITH changed AS ({statement} RETURNING {returning}),"  # noqa: S608
            f" recorded AS ({record} FROM changed) SELECT * FROM changed"
        )
        _, joined, _ = _prepared(combined, args)
        return list(await db.execute_query_dict(joined, values))
    # SQLite wants exactly as many values as the highest placeholder number in a statement.
    changed = f"{statement} RETURNING {returning}"
    rows: list[Row] = list(await db.execute_query_dict(changed, values[: _highest_number(changed)]))
    if rows:
        _, recording, _ = _prepared(record, args)
        await db.execute_query(recording, values[: _highest_number(recording)])
    return rows


@lru_cache(maxsize=256)
def _highest_number(sqlite_statement: str) -> int:
    return max((int(n) for n in re.findall(r"\?(\d+)", sqlite_statement)), default=0)
