"""Store sets: which stores had a counted order in a day or a month, per brand (or one of its
distributors), all of them and per store tag, with those orders' sums (analytics_store_sets).

How many distinct stores ordered in a period is the size of the union of its whole months'
and edge days' sets (backend/analytics/bitsets.py), and a tag's figures are the sums of its
rows: a few dozen rows whatever the number of stores, where summing each store's months and
grouping the stores by tag read a row per store.

Rows are derived, never moved by differences. A (brand, day)'s rows are made again from that
day's counted order facts and the stores' tags as they are now (org's fragment); a month's
from its days' rows (sums added, sets united). So a cancelled order that was a store's only
one that day takes the store out of the day's set, and a store tagged today shows its past
orders under the new tag as soon as its days are derived again. What derives them:

- the rollups' refresh, for the days whose facts a page changed, in the page's transaction;
- the rebuild, every day of every brand;
- the minute job `analytics.tag_sets` (rollups.refresh_tags): the order days of the stores
  whose tags changed, which `note_tag_change` marks in the tag change's own transaction.

Every writer holds the rollups' cursor lock (rollups.py), so two never derive a day at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.analytics import bitsets
from backend.analytics.models import WHOLE_BRAND, Grain, SetDim
from backend.analytics.periods import month_end
from backend.infra import sql
from backend.kernel.events import StoreTagsChanged
from backend.org import service as org_service

# A row's key within a brand and period: distributor (WHOLE_BRAND for the brand), dim, key,
# channel.
SetKey = tuple[int, str, str, str]
EVERY_DIM: tuple[SetDim, ...] = tuple(SetDim)


@dataclass
class Cell:
    """A row's figures: the stores, and their counted orders' sums."""

    stores: bitsets.BitMap
    orders: int = 0
    units: int = 0
    gmv_fen: int = 0


def united(cells: Iterable[tuple[SetKey, Cell]]) -> dict[SetKey, Cell]:
    """Cells of several periods as one period's: per key the union of their sets and the
    sum of their sums (a month from its days)."""
    sets: dict[SetKey, list[bitsets.BitMap]] = defaultdict(list)
    found: dict[SetKey, Cell] = {}
    for key, cell in cells:
        sets[key].append(cell.stores)
        total = found.setdefault(key, Cell(bitsets.BitMap()))
        total.orders += cell.orders
        total.units += cell.units
        total.gmv_fen += cell.gmv_fen
    for key, total in found.items():
        total.stores = bitsets.BitMap().union(*sets[key])
    return found


# ---- deriving rows ---------------------------------------------------------------------------


def _from_facts(dims: Sequence[SetDim]) -> str:
    """The rows of the brand's ($1) days ($2) for `dims`, from their counted facts: day,
    distributor, dim, key, channel, the stores (PostgreSQL: an array; SQLite: a comma list;
    a store that ordered twice is there twice) and the sums. A SELECT per scope and dim,
    UNION ALL: SQLite has no GROUPING SETS."""
    gather = "array_agg(f.store_id)" if sql.is_postgres() else "group_concat(f.store_id)"
    facts = "FROM analytics_order_facts f"
    # A store with no tag joins no row: its orders go under the key "".
    tagged = (
        f"{facts} LEFT JOIN ({org_service.analytics_store_tags_sql()}) t ON t.store_id = f.store_id"
    )

    def select(per_distributor: bool, dim: SetDim) -> str:
        distributor = "f.distributor_id" if per_distributor else str(WHOLE_BRAND)
        by = ["f.day", *(["f.distributor_id"] if per_distributor else [])]
        if dim is SetDim.TAG:
            key, channel, source = "COALESCE(t.tag, '')", "f.channel", tagged
            by += [key, channel]
        else:
            key, channel, source = "''", "''", facts
        return (
            f"SELECT f.day AS day, {distributor} AS distributor_id, '{dim.value}' AS dim,"
            f' {key} AS "key", {channel} AS channel, {gather} AS stores, COUNT(*) AS orders,'
            " SUM(f.units) AS units, SUM(f.gmv_fen) AS gmv_fen"
            f" {source} WHERE f.brand_id = $1 AND f.counted AND f.day IN ($2)"
            f" GROUP BY {', '.join(by)}"
        )

    parts = [select(per_distributor, dim) for per_distributor in (False, True) for dim in dims]
    return " UNION ALL ".join(parts)


def _ids(stores: Any) -> list[int]:
    """The store ids `_from_facts` gathered, whichever database gathered them."""
    if isinstance(stores, str):
        return [int(store_id) for store_id in stores.split(",")]
    return [int(store_id) for store_id in stores]


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# A row where it is: (period, key) → its id and figures.
Stored = dict[tuple[date, SetKey], tuple[int, Cell]]

_UPSERT = (
    'INSERT INTO analytics_store_sets (brand_id, distributor_id, grain, "period", dim, "key",'
    " channel, stores, orders, units, gmv_fen)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ' ON CONFLICT (brand_id, distributor_id, grain, dim, "period", "key", channel) DO UPDATE'
    " SET stores = excluded.stores, orders = excluded.orders, units = excluded.units,"
    " gmv_fen = excluded.gmv_fen"
)


def _key(row: Mapping[str, Any]) -> SetKey:
    return (int(row["distributor_id"]), str(row["dim"]), str(row["key"]), str(row["channel"]))


def _cell(row: Mapping[str, Any]) -> Cell:
    """A row's figures; its stores packed (a stored row) or gathered by `_from_facts`."""
    stores = row["stores"]
    found = (
        bitsets.unpack(stores)
        if isinstance(stores, bytes | bytearray | memoryview)
        else bitsets.BitMap(_ids(stores))
    )
    return Cell(found, int(row["orders"]), int(row["units"]), int(row["gmv_fen"]))


async def _stored(
    brand_id: int,
    grain: Grain,
    dims: Sequence[SetDim],
    periods: tuple[date, date] | list[date],
    keys: set[SetKey] | None = None,
) -> Stored:
    """The brand's rows of `grain` and `dims` in `periods` (a list, or a first and last day),
    only those of `keys` when given."""
    args: list[Any] = [brand_id, grain.value, [dim.value for dim in dims]]
    where = 'brand_id = $1 AND grain = $2 AND dim IN ($3) AND "period" '
    where += "IN ($4)" if isinstance(periods, list) else "BETWEEN $4 AND $5"
    args += [periods] if isinstance(periods, list) else list(periods)
    if keys:  # a filter wider than the keys (their tags and scopes), narrowed below
        where += f' AND "key" IN (${len(args) + 1}) AND distributor_id IN (${len(args) + 2})'
        args += [sorted({key[2] for key in keys}), sorted({key[0] for key in keys})]
    rows = await sql.fetch(
        'SELECT id, "period", distributor_id, dim, "key", channel, stores, orders, units,'  # noqa: S608 (fixed parts)
        f" gmv_fen FROM analytics_store_sets WHERE {where}",
        *args,
    )
    stored: Stored = {}
    for row in rows:
        key = _key(row)
        if keys is None or key in keys:
            stored[(_day(row["period"]), key)] = (int(row["id"]), _cell(row))
    return stored


async def _write(
    brand_id: int, grain: Grain, stored: Stored, cells: Mapping[tuple[date, SetKey], Cell]
) -> set[SetKey]:
    """Make the `stored` rows what `cells` says (a row in neither is not touched): rows that
    are gone deleted, new and changed ones written. The keys that changed."""
    gone = [row_id for at, (row_id, _) in stored.items() if at not in cells]
    moved = [(at, cell) for at, cell in cells.items() if at not in stored or stored[at][1] != cell]
    if gone:
        await sql.execute_many(
            "DELETE FROM analytics_store_sets WHERE id = $1", [(row_id,) for row_id in gone]
        )
    if moved:
        await sql.execute_many(
            _UPSERT,
            [
                (
                    brand_id,
                    distributor_id,
                    grain.value,
                    period,
                    dim,
                    key,
                    channel,
                    bitsets.pack(cell.stores),
                    cell.orders,
                    cell.units,
                    cell.gmv_fen,
                )
                for (period, (distributor_id, dim, key, channel)), cell in moved
            ],
        )
    return {at[1] for at in stored if at not in cells} | {at[1] for at, _ in moved}


async def _derive_days(brand_id: int, days: list[date], dims: Sequence[SetDim]) -> set[SetKey]:
    """The days' rows from their facts; the keys whose rows changed on any of them."""
    cells = {
        (_day(row["day"]), _key(row)): _cell(row)
        for row in await sql.fetch(_from_facts(dims), brand_id, days)
    }
    return await _write(brand_id, Grain.DAY, await _stored(brand_id, Grain.DAY, dims, days), cells)


async def _derive_month(
    brand_id: int, first: date, dims: Sequence[SetDim], keys: set[SetKey]
) -> None:
    """The month's rows of `keys` from its days' rows: the other keys' days did not change."""
    if not keys:
        return
    days = await _stored(brand_id, Grain.DAY, dims, (first, month_end(first)), keys)
    cells = united((key, cell) for (_, key), (_, cell) in days.items())
    stored = await _stored(brand_id, Grain.MONTH, dims, [first], keys)
    await _write(brand_id, Grain.MONTH, stored, {(first, key): c for key, c in cells.items()})


async def derive(days: Iterable[tuple[int, date]], dims: Sequence[SetDim] = EVERY_DIM) -> None:
    """Make the `dims` rows of these (brand, day)s, and of their months, again from the facts
    (inside the caller's transaction, which holds the rollups' cursor lock). Only rows whose
    figures changed are written: a day re-derived as it was writes nothing."""
    months: dict[tuple[int, date], set[date]] = defaultdict(set)
    for brand_id, day in days:
        months[(brand_id, day.replace(day=1))].add(day)
    for (brand_id, first), in_month in sorted(months.items()):
        changed = await _derive_days(brand_id, sorted(in_month), dims)
        await _derive_month(brand_id, first, dims, changed)


async def rebuild() -> None:
    """Every brand's rows from its facts, a month at a time (the caller emptied the table
    and holds the cursor lock)."""
    rows = await sql.fetch("SELECT DISTINCT brand_id, day FROM analytics_order_facts WHERE counted")
    await derive((int(row["brand_id"]), _day(row["day"])) for row in rows)


# ---- tag changes -----------------------------------------------------------------------------


async def note_tag_change(deps: Any, event: StoreTagsChanged) -> None:
    """In the tag change's transaction: mark the stores, so the job derives their order days
    again. A store marked again before the job took it in moves to the next version."""
    await sql.execute_many(
        "INSERT INTO analytics_tag_changes (brand_id, store_id, version, changed_at)"
        " VALUES ($1, $2, 1, $3) ON CONFLICT (store_id) DO UPDATE"
        " SET brand_id = excluded.brand_id, version = analytics_tag_changes.version + 1,"
        " changed_at = excluded.changed_at",
        [(event.brand_id, store_id, event.changed_at) for store_id in event.store_ids],
    )


async def tag_changes() -> dict[int, dict[int, int]]:
    """The marked stores, per brand: {brand: {store: version}}."""
    rows = await sql.fetch(
        "SELECT brand_id, store_id, version FROM analytics_tag_changes ORDER BY brand_id"
    )
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for row in rows:
        found[int(row["brand_id"])][int(row["store_id"])] = int(row["version"])
    return found


async def changed_days(brand_id: int) -> dict[date, list[date]]:
    """The days on which the brand's marked stores had a counted order, by month."""
    rows = await sql.fetch(
        "SELECT DISTINCT f.day FROM analytics_order_facts f"
        " JOIN analytics_tag_changes c ON c.store_id = f.store_id"
        " WHERE c.brand_id = $1 AND f.brand_id = $1 AND f.counted",
        brand_id,
    )
    months: dict[date, list[date]] = defaultdict(list)
    for day in sorted(_day(row["day"]) for row in rows):
        months[day.replace(day=1)].append(day)
    return months


async def clear_tag_changes(versions: Mapping[int, int]) -> None:
    """Take the marks in (store → version read); a store marked again since keeps its mark."""
    if not versions:
        return
    await sql.execute_many(
        "DELETE FROM analytics_tag_changes WHERE store_id = $1 AND version = $2",
        sorted(versions.items()),
    )
