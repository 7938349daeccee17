"""One day of behaviour events at full size (issue 21: ~70,000 events a day from 50,000
stores), summed by backend/analytics/event_days.py, and the three behaviour reports over a
year of such days: what the periodic job costs each minute at the end of a busy day, what a
rebuild of two years costs (730 such days), and the reports' latency at full size, without
seeding 50 million events.

    PYTHONPATH=$PWD nice -n 19 .venv/bin/python bench/analytics_event_day.py

In a throw-away database (`b2bc_bench_event_day`, dropped at the end): 50,000 stores of 40
distributors (Zipf sizes, foreign keys off), one owner each and a clerk for 30 %; one day of
--events events from a fifth of the stores (more from some: the day's buyers), with the
seed's kinds, pages and search vocabulary (bench/analytics_seed.py). It times:

1. summing the day the first time (every row new: a rebuild's cost per day);
2. summing it again after 50 more events (the job's run each minute: rows compared, the few
   changed ones written);
3. the day's rows copied to the 365 days before it, the 12 final months summed from them
   (`event_days._sum_month`), then each report asked --runs times for the last 30 and 366
   days, for the brand and for its largest distributor (the copies make every day's sets
   alike, so the unions are cheaper than a real year's; reading the rows is what costs).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
import numpy as np
from analytics_seed import EVENT_KINDS, PAGES, search_terms
from bench_common import HOST, create_database, drop_database, percentile

from backend.analytics import behaviour, event_days, partitions
from backend.analytics.periods import Period
from backend.analytics.scope import Scope
from backend.infra import db, sql

DATABASE = "b2bc_bench_event_day"
DSN = f"postgres://postgres@{HOST}:5432/{DATABASE}"
BRAND = 1
STORES = 50_000
DISTRIBUTORS = 40
DAY = date(2026, 11, 30)


async def seed(events: int) -> int:
    """The stores and one day of events; the largest distributor's id."""
    rng = np.random.default_rng(21)
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("SET session_replication_role = replica")  # no foreign keys
        sizes = 1.0 / np.arange(1, DISTRIBUTORS + 1)
        distributor = rng.choice(DISTRIBUTORS, STORES, p=sizes / sizes.sum()) + 1
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "stores",
            columns=[
                "id",
                "name",
                "contact_name",
                "phone",
                "address",
                "tier",
                "status",
                "created_at",
                "brand_id",
                "distributor_id",
            ],
            records=[
                (n + 1, f"店{n}", "", "", "", "C", "active", now, BRAND, int(distributor[n]))
                for n in range(STORES)
            ],
        )
        active = rng.choice(STORES, STORES // 5, replace=False)
        weight = rng.lognormal(0, 1, len(active))
        store = active[rng.choice(len(active), events, p=weight / weight.sum())] + 1
        clerk = rng.random(events) < 0.3 * 0.4
        user = np.where(clerk, store + STORES, store)
        kinds = [kind for kind, *_ in EVENT_KINDS]
        share = np.array([s for _, s, _, _ in EVENT_KINDS])
        kind = rng.choice(len(kinds), events, p=share / share.sum())
        page_weight = np.array([w for _, w in PAGES], float)
        page = rng.choice(len(PAGES), events, p=page_weight / page_weight.sum())
        terms, results = search_terms(rng, 600)
        term_weight = 1.0 / np.arange(1, len(terms) + 1) ** 1.05
        term = rng.choice(len(terms), events, p=term_weight / term_weight.sum())
        moment = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) - timedelta(hours=8)
        records = []
        for n in range(events):
            name = kinds[kind[n]]
            searched = name == "search"
            records.append(
                (
                    BRAND,
                    int(store[n]),
                    int(user[n]),
                    name,
                    PAGES[page[n]][0] if name == "page_view" else "",
                    terms[term[n]] if searched else None,
                    int(results[term[n]]) if searched else None,
                    f"ev{n}",
                    moment + timedelta(seconds=n % 86_400),
                    DAY,
                    now,
                )
            )
        await conn.copy_records_to_table(
            "analytics_events",
            columns=[
                "brand_id",
                "store_id",
                "user_id",
                "kind",
                "page",
                "term",
                "results",
                "client_id",
                "occurred_at",
                "day",
                "received_at",
            ],
            records=records,
        )
        await conn.execute("VACUUM ANALYZE")
        return int(np.bincount(distributor).argmax())
    finally:
        await conn.close()


async def timed(label: str, work: object) -> float:
    started = time.perf_counter()
    await work  # type: ignore[misc]
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds * 1000:.0f} ms", flush=True)
    return seconds


async def more_events(count: int) -> None:
    now = datetime.now(UTC)
    moment = datetime(DAY.year, DAY.month, DAY.day, 15, tzinfo=UTC)
    for n in range(count):
        await sql.execute(
            "INSERT INTO analytics_events (brand_id, store_id, user_id, kind, page, client_id,"
            " occurred_at, day, received_at) VALUES ($1, $2, $3, 'page_view',"
            " 'pages/home/index', $4, $5, $6, $7)",
            BRAND,
            n + 1,
            n + 1,
            f"more{n}",
            moment,
            DAY,
            now,
        )


async def a_year() -> None:
    """The day's rows copied to the 365 days before it; the final months summed."""
    await sql.execute(
        'INSERT INTO analytics_event_days (brand_id, distributor_id, kind, grain, day, "key",'
        " events, zero_results, term, users, stores) SELECT brand_id, distributor_id, kind,"
        ' grain, day - n, "key", events, zero_results, term, users, stores'
        " FROM analytics_event_days, generate_series(1, 365) n WHERE day = $1",
        DAY,
    )
    months = []
    month = (DAY - timedelta(days=365)).replace(day=1)
    while month < DAY.replace(day=1):
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    for month in months:
        async with sql.transaction():
            await event_days._sum_month(BRAND, month)
    await sql.execute(
        "INSERT INTO analytics_cursors (name, position, updated_at) VALUES ($1, $2, $2)"
        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        event_days.CURSOR,
        datetime(months[-1].year, months[-1].month, 1, tzinfo=UTC),
    )
    await sql.execute("VACUUM ANALYZE analytics_event_days")


async def reports(distributor: int, runs: int) -> None:
    for days in (30, 366):
        span = Period(DAY - timedelta(days=days - 1), DAY)
        for who, scope in (("brand", Scope(BRAND, 0)), ("distributor", Scope(BRAND, distributor))):
            for name, ask in (
                ("funnel", behaviour.funnel),
                ("search_terms", behaviour.search_terms),
                ("pages", behaviour.pages),
            ):
                latencies = []
                for _ in range(runs):
                    started = time.perf_counter()
                    await ask(scope, span)
                    latencies.append(time.perf_counter() - started)
                latencies.sort()
                print(
                    f"{name:13} {days:3} days {who:11} p50 {percentile(latencies, 0.5) * 1000:6.1f}"
                    f" ms  p99 {percentile(latencies, 0.99) * 1000:6.1f} ms",
                    flush=True,
                )


async def main(args: argparse.Namespace) -> None:
    await drop_database(DATABASE)
    await create_database(DATABASE)
    try:
        await db.migrate(DSN)
        await db.init_db(DSN)
        await partitions.ensure_months([DAY])
        await db.close_db()
        distributor = await seed(args.events)
        await db.init_db(DSN)
        try:
            async with sql.transaction():
                first = await timed(
                    "the day summed, every row new", event_days._sum_day(BRAND, DAY)
                )
            rows = await sql.fetch_one(
                "SELECT COUNT(*) AS n, SUM(length(users) + length(stores)) AS bytes"
                " FROM analytics_event_days"
            )
            assert rows is not None
            print(f"  {rows['n']:,} rows, {rows['bytes'] / 1e6:.1f} MB of sets")
            await more_events(50)
            async with sql.transaction():
                await timed("summed again after 50 more events", event_days._sum_day(BRAND, DAY))
            print(f"730 such days summed from scratch: about {730 * first / 60:.0f} min")
            await timed("a year of such days (copies) and its months", a_year())
            await reports(distributor, args.runs)
        finally:
            await db.close_db()
    finally:
        if not args.keep:
            await drop_database(DATABASE)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=70_000, help="events in the day")
    parser.add_argument("--runs", type=int, default=30, help="per report")
    parser.add_argument("--keep", action="store_true", help="keep the database (--drop it)")
    asyncio.run(main(parser.parse_args()))
