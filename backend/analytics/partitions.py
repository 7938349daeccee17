"""The behaviour events' monthly partitions on PostgreSQL (nothing to do on SQLite).

`analytics_events` is partitioned by range of `day`, one partition a month, named
`analytics_events_YYYY_MM` (migration 0034). There is no default partition: a row for a
month without one is refused by PostgreSQL, so every writer first calls `ensure_months` for
the days it writes (cheap: each process remembers the months it has made or seen), and the
periodic job makes the next months ahead. Dropping old months is one `DROP TABLE` each
(`drop_before`), far cheaper than deleting their rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import asyncpg

from backend.infra import sql

PARENT = "analytics_events"
# Months this process knows have their partition.
_made: set[tuple[int, int]] = set()


def month_of(day: date) -> tuple[int, int]:
    return day.year, day.month


def _next(month: tuple[int, int]) -> tuple[int, int]:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def partition_name(month: tuple[int, int]) -> str:
    return f"{PARENT}_{month[0]:04d}_{month[1]:02d}"


async def ensure_months(days: Iterable[date]) -> int:
    """Make the partitions of the months of `days` that do not exist yet; how many were
    made. Run outside a transaction: the DDL takes a short lock of the parent table."""
    if not sql.is_postgres():
        return 0
    made = 0
    for month in sorted({month_of(day) for day in days} - _made):
        start, end = month, _next(month)
        try:
            await sql.execute(
                f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {PARENT}"
                f" FOR VALUES FROM ('{start[0]:04d}-{start[1]:02d}-01')"
                f" TO ('{end[0]:04d}-{end[1]:02d}-01')"
            )
            made += 1
        except asyncpg.UniqueViolationError:
            pass  # another process made it at the same moment: IF NOT EXISTS races so
        except asyncpg.DuplicateTableError:
            pass
        _made.add(month)
    return made


async def ensure_ahead(today: date, months: int = 3) -> int:
    """The periodic job: this month's partition and the next `months` months'."""
    wanted = [month_of(today)]
    for _ in range(months):
        wanted.append(_next(wanted[-1]))
    return await ensure_months(date(year, number, 1) for year, number in wanted)


async def existing() -> list[str]:
    """The partitions there are, oldest first."""
    if not sql.is_postgres():
        return []
    rows = await sql.fetch(
        "SELECT c.relname AS name FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
        " WHERE p.relname = $1 ORDER BY c.relname",
        PARENT,
    )
    return [str(row["name"]) for row in rows]


async def drop_before(month: tuple[int, int]) -> list[str]:
    """Drop the partitions of months before `month` (keeping the events for that long is
    the brand's choice); the names dropped."""
    dropped = [name for name in await existing() if name < partition_name(month)]
    for name in dropped:
        await sql.execute(f"DROP TABLE IF EXISTS {name}")
        _made.discard((int(name[-7:-3]), int(name[-2:])))
    return dropped


def forget() -> None:
    """Forget the months made (tests drop and remake the database)."""
    _made.clear()
