"""The behaviour events summed by day, which the funnel, search terms and pages reports read.

`analytics_event_days` keeps, for a brand as a whole and for each of its distributors (the
one the events' stores had when the day was summed), for each day and report row (a funnel
step, a page, a search term in lower case): the events, the searches that found nothing,
the term's first spelling, and the sets of users and stores as Roaring bitmaps
(`bitsets.py`). A period's distinct users are the size of the union of its days' sets: a
few hundred unions in C instead of COUNT(DISTINCT) over millions of events.

The rows are derived, never moved by differences: a day is summed again from its raw events
as a whole. The ingest marks (brand, day) in its own transaction (`mark`, each mark bumps a
generation); the periodic job (`refresh`) sums each marked day again and then deletes its
mark only at the generation it read before reading the events, so a batch that lands while
it sums leaves its mark for the next run. Summing writes only the rows whose sums changed.

A month can change no more once its last day is older than the ingest takes events (`LATE`):
the job then sums the month's days into month rows, once, and moves the cursor `event_months`
past it. A period reads those months' rows and days only at its edges: at most 12 months and
60 days per report row instead of 366 days. A day summed again in such a month (a rebuild, a
clock put back) sums its month again with it. Every writer locks that cursor's row first, so
two job runs, or a run and `b2bc analytics-rebuild`, never write side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from backend.analytics import bitsets
from backend.analytics.models import WHOLE_BRAND, EventKind, Grain
from backend.analytics.periods import Period, month_end
from backend.analytics.rollups import lock_cursor, moment
from backend.analytics.scope import Scope, china_day
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.org import service as org_service

log = get_logger("analytics.event_days")

CURSOR = "event_months"  # the first day of the last month summed into month rows
# How late an event is still taken (behaviour.py drops older ones): a day older than this
# and a margin of a day (clocks) is final.
LATE = timedelta(days=7)
# Report rows: each funnel step under its event kind with key "", pages and search terms.
STEP_KINDS = tuple(kind.value for kind in EventKind if kind is not EventKind.SEARCH)
PAGE = "page"
SEARCH = EventKind.SEARCH.value
Key = tuple[int, str, str]  # distributor, kind, key
Sums = tuple[int, int, str, bytes, bytes]  # events, zero results, term, users, stores


# ---- marking changed days (in the ingest's transaction) -------------------------------------

_MARK = (
    "INSERT INTO analytics_event_marks (brand_id, day, generation, marked_at)"
    " VALUES ($1, $2, 1, $3) ON CONFLICT (brand_id, day) DO UPDATE"
    " SET generation = analytics_event_marks.generation + 1, marked_at = excluded.marked_at"
)


async def mark(brand_id: int, days: Iterable[date], now: datetime) -> None:
    """Mark the brand's `days` as changed, in the caller's transaction: call it in the one
    that writes their events, so that events and mark commit together. In day order, so
    two batches never wait for each other's marks in opposite orders."""
    rows = [(brand_id, day, now) for day in sorted(set(days))]
    if rows:
        await sql.execute_many(_MARK, rows)


# ---- summing a day from its events ----------------------------------------------------------


def _ids_of(column: str) -> str:
    """The distinct ids of a group: an array on PostgreSQL, a comma list on SQLite."""
    if sql.is_postgres():
        return f"array_agg(DISTINCT {column})"
    return f"group_concat(DISTINCT {column})"


@cache
def _day_statement(postgres: bool) -> str:
    """A brand's day of events as report rows, for the brand ($1, day $2) and for each of
    its distributors (by the stores' distributor now): one grouped statement."""
    steps = ", ".join(f"'{kind}'" for kind in STEP_KINDS)
    sums = (
        "COUNT(*) AS events, SUM(zero) AS zero_results, MIN(term) AS term,"
        f" {_ids_of('user_id')} AS users, {_ids_of('store_id')} AS stores"
    )
    return (
        "WITH e AS (SELECT e.user_id, e.store_id, s.distributor_id, e.kind, e.page, e.term,"  # noqa: S608 - constants and org's fragment
        " e.results FROM analytics_events e"
        f" LEFT JOIN ({org_service.analytics_store_dims_sql()}) s ON s.store_id = e.store_id"
        " WHERE e.brand_id = $1 AND e.day = $2),"
        " r AS (SELECT kind AS row_kind, '' AS row_key, NULL AS term, 0 AS zero, user_id,"
        f" store_id, distributor_id FROM e WHERE kind IN ({steps})"
        f" UNION ALL SELECT '{PAGE}', page, NULL, 0, user_id, store_id, distributor_id"
        f" FROM e WHERE kind = '{EventKind.PAGE_VIEW.value}'"
        f" UNION ALL SELECT '{SEARCH}', LOWER(term), term,"
        " CASE WHEN results = 0 THEN 1 ELSE 0 END, user_id, store_id, distributor_id"
        f" FROM e WHERE kind = '{SEARCH}' AND term IS NOT NULL)"
        f" SELECT {WHOLE_BRAND} AS distributor_id, row_kind, row_key, {sums}"
        " FROM r GROUP BY row_kind, row_key"
        f" UNION ALL SELECT distributor_id, row_kind, row_key, {sums}"
        " FROM r WHERE distributor_id IS NOT NULL GROUP BY distributor_id, row_kind, row_key"
    )


def _ids(value: Any) -> bitsets.BitMap:
    """A group's ids as the database gave them (a list, or SQLite's comma list)."""
    if value is None:
        return bitsets.BitMap()
    if isinstance(value, str):
        return bitsets.BitMap(int(part) for part in value.split(","))
    return bitsets.BitMap(one for one in value if one is not None)


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


_WRITE = (
    'INSERT INTO analytics_event_days (brand_id, distributor_id, kind, grain, day, "key",'
    " events, zero_results, term, users, stores)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ' ON CONFLICT (brand_id, distributor_id, kind, grain, day, "key") DO UPDATE'
    " SET events = excluded.events, zero_results = excluded.zero_results,"
    " term = excluded.term, users = excluded.users, stores = excluded.stores"
)


async def _replace(brand_id: int, grain: Grain, day: date, rows: dict[Key, Sums]) -> int:
    """Make the brand's rows of `grain` and `day` be `rows`, writing only those that differ
    from what is there (a day summed each minute changes a few of its rows); how many."""
    there = await sql.fetch(
        'SELECT id, distributor_id, kind, "key", events, zero_results, term, users, stores'
        " FROM analytics_event_days WHERE grain = $1 AND day = $2 AND brand_id = $3",
        grain.value,
        day,
        brand_id,
    )
    gone = []
    for row in there:
        key = (int(row["distributor_id"]), str(row["kind"]), str(row["key"]))
        now_is = rows.get(key)
        if now_is is None:
            gone.append(int(row["id"]))
        elif now_is == (
            int(row["events"]),
            int(row["zero_results"]),
            str(row["term"]),
            bytes(row["users"]),
            bytes(row["stores"]),
        ):
            del rows[key]
    if gone:
        await sql.execute("DELETE FROM analytics_event_days WHERE id IN ($1)", gone)
    if rows:
        await sql.execute_many(
            _WRITE,
            [
                (brand_id, *key[:2], grain.value, day, key[2], *sums)
                for key, sums in sorted(rows.items())
            ],
        )
    return len(gone) + len(rows)


async def _sum_day(brand_id: int, day: date) -> int:
    """Sum the brand's day again from its raw events; how many rows changed."""
    rows: dict[Key, Sums] = {}
    for row in await sql.fetch(_day_statement(sql.is_postgres()), brand_id, day):
        key = (int(row["distributor_id"]), str(row["row_kind"]), str(row["row_key"]))
        rows[key] = (
            int(row["events"]),
            int(row["zero_results"] or 0),
            str(row["term"] or ""),
            bitsets.pack(_ids(row["users"])),
            bitsets.pack(_ids(row["stores"])),
        )
    return await _replace(brand_id, Grain.DAY, day, rows)


# ---- months ---------------------------------------------------------------------------------


def last_final_month(today: date) -> date:
    """The first day of the latest month whose events can no longer change on `today`."""
    final_day = today - LATE - timedelta(days=2)  # one day of margin for the clocks
    first = final_day.replace(day=1)
    if month_end(first) == final_day:
        return first
    return (first - timedelta(days=1)).replace(day=1)


async def _sum_month(brand_id: int, month: date) -> None:
    """The brand's rows of `month` from its day rows: sums, the first spelling and the
    unions of the sets; a distributor at a time (bounded memory at 50,000 stores)."""
    where = "brand_id = $1 AND distributor_id = $2 AND grain = 'day' AND day >= $3 AND day <= $4"
    rows: dict[Key, Sums] = {}
    distributors = await sql.fetch(
        "SELECT DISTINCT distributor_id FROM analytics_event_days"
        " WHERE grain = 'day' AND day >= $1 AND day <= $2 AND brand_id = $3",
        month,
        month_end(month),
        brand_id,
    )
    for found in distributors:
        distributor = int(found["distributor_id"])
        args = (brand_id, distributor, month, month_end(month))
        sums = await sql.fetch(
            'SELECT kind, "key", SUM(events) AS events, SUM(zero_results) AS zero_results,'  # noqa: S608 - ours
            f' MIN(term) AS term FROM analytics_event_days WHERE {where} GROUP BY kind, "key"',
            *args,
        )
        sets: dict[tuple[str, str], list[Any]] = {}
        for row in await sql.fetch(
            f'SELECT kind, "key", users, stores FROM analytics_event_days WHERE {where}',  # noqa: S608 - ours
            *args,
        ):
            sets.setdefault((str(row["kind"]), str(row["key"])), []).append(row)
        for row in sums:
            kind, key = str(row["kind"]), str(row["key"])
            days = sets[(kind, key)]
            rows[(distributor, kind, key)] = (
                int(row["events"]),
                int(row["zero_results"] or 0),
                str(row["term"] or ""),
                bitsets.pack(bitsets.union(day["users"] for day in days)),
                bitsets.pack(bitsets.union(day["stores"] for day in days)),
            )
    await _replace(brand_id, Grain.MONTH, month, rows)


def _next_month(month: date) -> date:
    return month_end(month) + timedelta(days=1)


async def _set_summed_to(month: date | None, now: datetime) -> None:
    """Where the month rows stand (the caller holds the cursor's lock)."""
    position = None if month is None else datetime(month.year, month.month, 1, tzinfo=UTC)
    await sql.execute(
        "UPDATE analytics_cursors SET position = $2, updated_at = $3 WHERE name = $1",
        CURSOR,
        position,
        now,
    )


async def _lock(now: datetime) -> date | None:
    """Lock the cursor's row for this transaction; the last month summed (None: none)."""
    position = await lock_cursor(now, CURSOR)
    return None if position is None else position.date()


async def _sum_final_months(summed_to: date | None, last: date, now: datetime) -> list[date]:
    """Sum into month rows every final month after `summed_to` up to `last`, each brand
    with events in it (the caller holds the lock); the months summed."""
    if summed_to is None:
        first = await sql.fetch_one(
            "SELECT MIN(day) AS day FROM analytics_event_days WHERE grain = 'day'"
        )
        start = _day(first["day"]).replace(day=1) if first and first["day"] else None
    else:
        start = _next_month(summed_to)
    months = []
    while start is not None and start <= last:
        brands = await sql.fetch(
            "SELECT DISTINCT brand_id FROM analytics_event_days"
            " WHERE grain = 'day' AND day >= $1 AND day <= $2",
            start,
            month_end(start),
        )
        for brand in brands:
            await _sum_month(int(brand["brand_id"]), start)
        months.append(start)
        start = _next_month(start)
    if summed_to is None or summed_to < last:
        await _set_summed_to(last, now)
    return months


# ---- the periodic job and the rebuild -------------------------------------------------------


@dataclass
class Summed:
    days: int = 0
    rows: int = 0
    months: list[date] = field(default_factory=list)


async def refresh(deps: Any) -> int:
    """The periodic job: sum again every marked day, then the months that became final;
    how many days were summed."""
    return await sum_marked(deps.clock.now())


async def sum_marked(now: datetime) -> int:
    """Sum again every marked day, then the months final by `now`; how many days."""
    marks = await sql.fetch(
        "SELECT brand_id, day FROM analytics_event_marks ORDER BY day, brand_id"
    )
    summed = Summed()
    for found in marks:
        brand_id, day = int(found["brand_id"]), _day(found["day"])
        async with sql.transaction():
            summed_to = await _lock(now)
            # Read before the events: a mark made after this read bumps the generation, and
            # its events may be missed below, so the mark must stay.
            row = await sql.fetch_one(
                "SELECT generation FROM analytics_event_marks WHERE brand_id = $1 AND day = $2",
                brand_id,
                day,
            )
            if row is None:
                continue  # another run summed it
            summed.rows += await _sum_day(brand_id, day)
            if summed_to is not None and day.replace(day=1) <= summed_to:
                await _sum_month(brand_id, day.replace(day=1))
            await sql.execute(
                "DELETE FROM analytics_event_marks"
                " WHERE brand_id = $1 AND day = $2 AND generation = $3",
                brand_id,
                day,
                int(row["generation"]),
            )
        summed.days += 1
    async with sql.transaction():
        summed_to = await _lock(now)
        summed.months = await _sum_final_months(summed_to, last_final_month(china_day(now)), now)
    if summed.days or summed.months:
        log.info(
            "behaviour days summed",
            extra={"days": summed.days, "rows": summed.rows, "months": len(summed.months)},
        )
    return summed.days


async def rebuild(deps: Any) -> Summed:
    """Empty the rollup and sum it again from every raw event: each brand's day in one
    grouped statement, then every final month, in one transaction (reports read the old
    rows until it commits). Marks are left to the job: summing a day twice is harmless."""
    now = deps.clock.now()
    summed = Summed()
    async with sql.transaction():
        await _lock(now)
        await sql.execute("DELETE FROM analytics_event_days")
        await _set_summed_to(None, now)
        days = await sql.fetch(
            "SELECT DISTINCT brand_id, day FROM analytics_events ORDER BY day, brand_id"
        )
        for found in days:
            summed.rows += await _sum_day(int(found["brand_id"]), _day(found["day"]))
        summed.days = len(days)
        summed.months = await _sum_final_months(None, last_final_month(china_day(now)), now)
        if sql.is_postgres():
            await sql.execute("ANALYZE analytics_event_days")  # the planner sees the new rows
    return summed


# ---- reading a period -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """Which rows answer a period: months summed (their first days) and spans of days."""

    months: tuple[date, ...]
    days: tuple[Period, ...]

    def ranges(self) -> list[tuple[Grain, date, date]]:
        found = [(Grain.MONTH, self.months[0], self.months[-1])] if self.months else []
        return found + [(Grain.DAY, span.start, span.end) for span in self.days]


async def reading(span: Period) -> Reading:
    """The month rows for the period's whole months already summed, days for the rest."""
    row = await sql.fetch_one("SELECT position FROM analytics_cursors WHERE name = $1", CURSOR)
    summed_to = moment(row["position"]).date() if row and row["position"] else None
    whole, _ = span.split()
    months = tuple(m for m in whole if summed_to is not None and m <= summed_to)
    if not months:
        return Reading((), (span,))
    days = []
    if span.start < months[0]:
        days.append(Period(span.start, months[0] - timedelta(days=1)))
    if month_end(months[-1]) < span.end:
        days.append(Period(month_end(months[-1]) + timedelta(days=1), span.end))
    return Reading(months, tuple(days))


async def _rows_of(scope: Scope, span: Period, kinds: Sequence[str]) -> tuple[str, list[Any]]:
    """A derived table `r` of the scope's rows of `kinds` that answer `span`, and its
    arguments ($1 onwards: a caller's own come after them). One branch per grain and range,
    each an index range scan (an OR of them would scan every row of the kinds)."""
    args: list[Any] = [scope.brand_id, scope.distributor_id, list(kinds)]
    branches = []
    for grain, first, last in (await reading(span)).ranges():
        at = len(args) + 1
        branches.append(
            'SELECT kind, "key", events, zero_results, term, users, stores'  # noqa: S608 - ours
            " FROM analytics_event_days WHERE brand_id = $1 AND distributor_id = $2"
            f" AND kind IN ($3) AND grain = '{grain.value}' AND day >= ${at} AND day <= ${at + 1}"
        )
        args += [first, last]
    return "(" + " UNION ALL ".join(branches) + ") r", args


@dataclass
class Tally:
    """A report row over a period: events, searches that found nothing, users and stores."""

    key: str
    events: int = 0
    zero_results: int = 0
    term: str = ""
    users: bitsets.BitMap = field(default_factory=bitsets.BitMap)
    stores: bitsets.BitMap = field(default_factory=bitsets.BitMap)


def _tallies(found: Iterable[sql.Row], key: str) -> dict[str, Tally]:
    """Rows summed by `key` (in the rows' order): events added, sets united."""
    tallies: dict[str, Tally] = {}
    blobs: dict[str, tuple[list[Any], list[Any]]] = {}
    for row in found:
        name = str(row[key])
        tally = tallies.setdefault(name, Tally(name))
        tally.events += int(row["events"])
        users, stores = blobs.setdefault(name, ([], []))
        users.append(row["users"])
        stores.append(row["stores"])
    for name, (users, stores) in blobs.items():
        tallies[name].users = bitsets.union(users)
        tallies[name].stores = bitsets.union(stores)
    return tallies


async def steps(scope: Scope, span: Period) -> dict[str, Tally]:
    """Each funnel step's events, users and stores over the period, by event kind."""
    rows, args = await _rows_of(scope, span, STEP_KINDS)
    found = await sql.fetch(f"SELECT kind, events, users, stores FROM {rows}", *args)  # noqa: S608 - ours
    return _tallies(found, "kind")


async def pages(scope: Scope, span: Period) -> list[Tally]:
    """Each page's views, users and stores over the period, most viewed first (then by
    path, in the database's order)."""
    rows, args = await _rows_of(scope, span, (PAGE,))
    found = await sql.fetch(
        f'SELECT "key", events, users, stores FROM {rows} ORDER BY "key"',  # noqa: S608 - ours
        *args,
    )
    # A stable sort: pages with as many views keep the database's order of their paths.
    return sorted(_tallies(found, "key").values(), key=lambda tally: -tally.events)


@dataclass(frozen=True)
class TermTotals:
    searches: int
    terms: int
    zero_results: int


def _totals(terms: Sequence[sql.Row]) -> TermTotals:
    """The window sums every row of the terms query carries (none: nothing searched)."""
    if not terms:
        return TermTotals(0, 0, 0)
    first = terms[0]
    return TermTotals(
        int(first["all_searches"] or 0), int(first["all_terms"]), int(first["all_zero"] or 0)
    )


async def terms(
    scope: Scope, span: Period, *, zero: bool, limit: int
) -> tuple[list[Tally], TermTotals]:
    """The `limit` terms searched most over the period (`zero`: only those that found
    nothing at least once), each with its first spelling, sets united for those only; and
    the period's searches, distinct terms (in lower case) and searches that found nothing."""
    rows, args = await _rows_of(scope, span, (SEARCH,))
    # The terms summed once: the period's totals are window sums over all of them, taken
    # before the `zero` filter and the limit (a second pass would sort every row again).
    terms_sql = (
        'SELECT "key", MIN(term) AS term, SUM(events) AS searches,'  # noqa: S608 - ours
        " SUM(zero_results) AS zero_results, COUNT(*) OVER () AS all_terms,"
        " SUM(SUM(events)) OVER () AS all_searches,"
        f' SUM(SUM(zero_results)) OVER () AS all_zero FROM {rows} GROUP BY "key"'
    )
    wanted = " WHERE t.zero_results > 0" if zero else ""
    top = await sql.fetch(
        f"SELECT * FROM ({terms_sql}) t{wanted}"  # noqa: S608 - ours
        f" ORDER BY t.searches DESC, t.term LIMIT {int(limit)}",
        *args,
    )
    if not top and zero:  # no term found nothing: the totals of all of them still count
        top_all = await sql.fetch(f"{terms_sql} LIMIT 1", *args)
        return [], _totals(top_all)
    totals = _totals(top)
    if not top:
        return [], totals
    users: dict[str, list[Any]] = {}
    for row in await sql.fetch(
        f'SELECT "key", users FROM {rows} WHERE "key" IN (${len(args) + 1})',  # noqa: S608 - ours
        *args,
        [str(row["key"]) for row in top],
    ):
        users.setdefault(str(row["key"]), []).append(row["users"])
    items = [
        Tally(
            str(row["key"]),
            events=int(row["searches"]),
            zero_results=int(row["zero_results"] or 0),
            term=str(row["term"]),
            users=bitsets.union(users.get(str(row["key"]), [])),
        )
        for row in top
    ]
    return items, totals
