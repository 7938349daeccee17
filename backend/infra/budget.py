"""Does the fleet's database pools add up under PostgreSQL's max_connections?

Every process opens up to B2BC_DB_POOL_SIZE connections. PostgreSQL refuses connection
number max_connections minus its reserved slots, and an operator who cannot get a `psql` in
during an incident is worse off than a request told to retry. So the fleet's total, plus a
one-off command (`b2bc migrate` during an upgrade opens a pool too), must leave room:
10% of max_connections, at least 5. `b2bc db-budget` prints the sums
(docs/production-connections.md explains the formula and when PgBouncer takes over).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

OPERATOR_SHARE = 0.10
OPERATOR_MINIMUM = 5
ONE_OFF_COMMANDS = 1  # b2bc migrate / ledger-check run beside the fleet during an upgrade


def operator_room(max_connections: int) -> int:
    return max(OPERATOR_MINIMUM, math.ceil(max_connections * OPERATOR_SHARE))


@dataclass(frozen=True)
class Budget:
    processes: dict[str, int]  # role -> how many processes run it
    pool_size: int
    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections, PostgreSQL 16)
    # Through PgBouncer the server sees PgBouncer's pool, not the processes' pools.
    server_connections: int | None = None

    @property
    def clients(self) -> int:
        """Connections the processes open: to PostgreSQL, or to PgBouncer in front of it."""
        return (sum(self.processes.values()) + ONE_OFF_COMMANDS) * self.pool_size

    @property
    def needed(self) -> int:
        return self.clients if self.server_connections is None else self.server_connections

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved - operator_room(self.max_connections)

    @property
    def fits(self) -> bool:
        return self.needed <= self.available

    def pool_size_that_fits(self) -> int:
        return self.available // (sum(self.processes.values()) + ONE_OFF_COMMANDS)

    def report(self) -> list[str]:
        lines = ["数据库连接预算 / database connection budget"]
        for role, count in [*self.processes.items(), ("one-off command", ONE_OFF_COMMANDS)]:
            lines.append(
                f"  {role:<16} {count:>3} × pool {self.pool_size} = {count * self.pool_size}"
            )
        lines.append(f"  {'processes open':<16} {self.clients}")
        if self.server_connections is not None:
            lines.append(f"  via PgBouncer, PostgreSQL sees its pool: {self.server_connections}")
        lines.append(
            f"  PostgreSQL max_connections {self.max_connections}, reserved {self.reserved}, "
            f"kept for operators {operator_room(self.max_connections)}: "
            f"{self.available} for the fleet"
        )
        if self.fits:
            lines.append(f"OK: {self.needed} ≤ {self.available}")
        elif self.server_connections is not None:
            lines.append(
                f"OVER by {self.needed - self.available}: lower PgBouncer's default_pool_size "
                "or raise max_connections (docs/production-connections.md)"
            )
        else:
            lines.append(
                f"OVER by {self.needed - self.available}: set B2BC_DB_POOL_SIZE to at most "
                f"{self.pool_size_that_fits()}, raise max_connections, or put PgBouncer in "
                "front (docs/production-connections.md)"
            )
        return lines


async def server_limits(database_url: str) -> tuple[int, int]:
    """PostgreSQL's max_connections and the slots it keeps for superusers (and, from 16,
    for roles granted pg_use_reserved_connections)."""
    parts = urlsplit(database_url)
    scheme = "postgresql" if parts.scheme in ("postgres", "asyncpg") else parts.scheme
    # The query string holds our pool options (maxsize, pgbouncer), not libpq's.
    dsn = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
    connection = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        settings = {
            row["name"]: int(row["setting"])
            for row in await connection.fetch(
                "SELECT name, setting FROM pg_settings WHERE name IN"
                " ('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
            )
        }
    finally:
        await connection.close()
    reserved = settings["superuser_reserved_connections"] + settings.get("reserved_connections", 0)
    return settings["max_connections"], reserved
