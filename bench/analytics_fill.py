"""The analytics rollups of a seeded bench database filled set-based, in SQL, with the rows
`backend.analytics.rollups.rebuild` makes, for sizes its page-by-page rebuild can not
cover in a bench run (it read ~100 orders/s on the shared 2-core machine; 2.3 million orders
would take hours).

    PYTHONPATH=$PWD .venv/bin/python bench/analytics_fill.py --scale 0.01 --check
    PYTHONPATH=$PWD nice -n 19 .venv/bin/python bench/analytics_fill.py       # full size

--check: on a database whose rollups the engine has just rebuilt, fills them again in a
transaction, compares every row of analytics_sales, analytics_stores and the facts' figures
with the engine's, and rolls back; exit 1 on any difference.

What it writes is what `contribution` and `difference` add up to, computed once over the
counted orders (paid, accepted, shipped, delivered, completed): day rows per distributor
first (every measure adds up over orders, so the month rows and the whole brand's rows are
sums of them), store rows per month. The facts get their figures but no `parts` (the rows
each order added), so the next `refresh` must not re-read these orders: the cursor is set to
now. For a bench database only; `b2bc analytics-rebuild` remains the way to rebuild.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import asyncpg
from analytics_seed import HOST, database_name

COUNTED = ["paid", "accepted", "shipped", "delivered", "completed"]

# Every order with its day, its store's region and tier now, and its lines' sums.
ORDERS = """
CREATE TEMP TABLE fill_orders AS
SELECT o.id, o.brand_id, o.distributor_id, o.store_id, o.channel, o.status = ANY($1) AS counted,
       (o.created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
       coalesce(s.region_id, 0)::text AS region, coalesce(s.tier, '') AS tier,
       coalesce(l.units, 0) AS units, coalesce(l.list_fen, 0) AS list_fen,
       coalesce(l.discount_fen, 0) AS discount_fen, coalesce(l.gmv_fen, 0) AS gmv_fen
FROM orders o
LEFT JOIN stores s ON s.id = o.store_id
LEFT JOIN (SELECT order_id, sum(quantity) AS units, sum(list_amount_fen) AS list_fen,
                  sum(discount_fen) AS discount_fen, sum(payable_fen) AS gmv_fen
           FROM order_lines GROUP BY order_id) l ON l.order_id = o.id
"""

# Day rows per distributor: the whole order for all/region/distributor/tier, its lines by
# SKU and by category (an order containing it counts once).
DAYS = """
CREATE TEMP TABLE fill_days AS
WITH lines AS (
    SELECT o.id, o.brand_id, o.distributor_id, o.channel, o.day, l.sku_id,
           coalesce(p.category_id, 0) AS category_id, l.quantity, l.list_amount_fen,
           l.discount_fen, l.payable_fen
    FROM fill_orders o JOIN order_lines l ON l.order_id = o.id
    LEFT JOIN skus k ON k.id = l.sku_id LEFT JOIN products p ON p.id = k.product_id
    WHERE o.counted
)
SELECT brand_id, distributor_id, day, dim, key, channel, count(*)::int AS orders,
       sum(units) AS units, sum(list_fen) AS list_fen, sum(discount_fen) AS discount_fen,
       sum(gmv_fen) AS gmv_fen
FROM fill_orders o,
     LATERAL (VALUES ('all', ''), ('region', o.region), ('distributor', o.distributor_id::text),
                     ('tier', o.tier)) AS d (dim, key)
WHERE o.counted
GROUP BY 1, 2, 3, 4, 5, 6
UNION ALL
SELECT brand_id, distributor_id, day, dim, key, channel, count(DISTINCT id)::int,
       sum(quantity), sum(list_amount_fen), sum(discount_fen), sum(payable_fen)
FROM lines, LATERAL (VALUES ('sku', sku_id::text), ('category', category_id::text)) AS d (dim, key)
GROUP BY 1, 2, 3, 4, 5, 6
"""

SALES = """
INSERT INTO analytics_sales (brand_id, distributor_id, grain, "period", dim, "key", channel,
                             orders, units, list_fen, discount_fen, gmv_fen)
SELECT brand_id, distributor_id, 'day', day, dim, key, channel, orders, units, list_fen,
       discount_fen, gmv_fen FROM fill_days
UNION ALL
SELECT brand_id, 0, 'day', day, dim, key, channel, sum(orders), sum(units), sum(list_fen),
       sum(discount_fen), sum(gmv_fen) FROM fill_days GROUP BY 1, 4, 5, 6, 7
UNION ALL
SELECT brand_id, distributor_id, 'month', date_trunc('month', day)::date, dim, key, channel,
       sum(orders), sum(units), sum(list_fen), sum(discount_fen), sum(gmv_fen)
FROM fill_days GROUP BY 1, 2, 4, 5, 6, 7
UNION ALL
SELECT brand_id, 0, 'month', date_trunc('month', day)::date, dim, key, channel, sum(orders),
       sum(units), sum(list_fen), sum(discount_fen), sum(gmv_fen)
FROM fill_days GROUP BY 1, 4, 5, 6, 7
UNION ALL
SELECT brand_id, d.distributor, 'month', date_trunc('month', day)::date, 'store',
       store_id::text, channel, count(*), sum(units), sum(list_fen), sum(discount_fen),
       sum(gmv_fen)
FROM fill_orders, LATERAL (VALUES (0), (distributor_id)) AS d (distributor)
WHERE counted GROUP BY 1, 2, 4, 6, 7
"""

FACTS = """
INSERT INTO analytics_order_facts (order_id, brand_id, distributor_id, store_id, channel, day,
                                   counted, gmv_fen, units, parts, updated_at)
SELECT id, brand_id, distributor_id, store_id, channel, day, counted,
       CASE WHEN counted THEN gmv_fen ELSE 0 END, CASE WHEN counted THEN units ELSE 0 END,
       '[]', now()
FROM fill_orders
"""

STORES = """
INSERT INTO analytics_stores (store_id, brand_id, distributor_id, first_day, last_day, orders,
                              gmv_fen, updated_at)
SELECT store_id, max(brand_id), max(distributor_id), min(day) FILTER (WHERE counted),
       max(day) FILTER (WHERE counted), count(*) FILTER (WHERE counted),
       coalesce(sum(gmv_fen) FILTER (WHERE counted), 0), now()
FROM fill_orders GROUP BY store_id
"""

CURSOR = """
INSERT INTO analytics_cursors (name, position, updated_at) VALUES ('orders', now(), now())
ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
"""

# What --check compares: every column but ids and timestamps.
COMPARED = {
    "analytics_sales": "brand_id, distributor_id, grain, period, dim, key, channel, orders,"
    " units, list_fen, discount_fen, gmv_fen",
    "analytics_stores": "store_id, brand_id, distributor_id, first_day, last_day, orders, gmv_fen",
    "analytics_order_facts": "order_id, brand_id, distributor_id, store_id, channel, day,"
    " counted, gmv_fen, units",
}


async def fill(conn: asyncpg.Connection, say: bool = True) -> float:
    """Empty and fill the rollups, in the caller's transaction; its seconds."""
    started = time.perf_counter()
    await conn.execute("SET LOCAL work_mem = '256MB'")
    steps = [
        ("DELETE FROM analytics_sales", ()),
        ("DELETE FROM analytics_order_facts", ()),
        ("DELETE FROM analytics_stores", ()),
        (ORDERS, (COUNTED,)),
        (DAYS, ()),
        (SALES, ()),
        (FACTS, ()),
        (STORES, ()),
        (CURSOR, ()),
        ("DROP TABLE fill_days", ()),
        ("DROP TABLE fill_orders", ()),
    ]
    for statement, args in steps:
        await conn.execute(statement, *args)
        if say:
            first = " ".join(statement.split())[:60]
            print(f"  {first} … {time.perf_counter() - started:.0f} s", flush=True)
    return time.perf_counter() - started


async def check(dsn: str) -> int:
    """Differences between the engine's rollups (as they are) and the fill's."""
    conn = await asyncpg.connect(dsn)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for table, columns in COMPARED.items():
                await conn.execute(
                    f"CREATE TEMP TABLE engine_{table} AS SELECT {columns} FROM {table}"
                )
            await fill(conn, say=False)
            differences = 0
            for table, columns in COMPARED.items():
                engine = await conn.fetchval(f"SELECT count(*) FROM engine_{table}")
                only_engine = await conn.fetchval(
                    f"SELECT count(*) FROM (SELECT * FROM engine_{table}"
                    f" EXCEPT ALL SELECT {columns} FROM {table}) x"
                )
                only_fill = await conn.fetchval(
                    f"SELECT count(*) FROM (SELECT {columns} FROM {table}"
                    f" EXCEPT ALL SELECT * FROM engine_{table}) x"
                )
                print(
                    f"  {table:22} engine {engine:,} rows; only the engine's {only_engine},"
                    f" only the fill's {only_fill}"
                )
                differences += only_engine + only_fill
            return int(differences)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def fill_database(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            seconds = await fill(conn)
        await conn.execute("VACUUM (ANALYZE) analytics_sales, analytics_stores")
        return seconds
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--check", action="store_true", help="compare with the engine's rows")
    args = parser.parse_args()
    dsn = f"postgres://postgres@{HOST}:5432/{database_name(args.scale)}"
    if args.check:
        differences = asyncio.run(check(dsn))
        print("the fill makes the engine's rows" if not differences else "DIFFERENT")
        return 1 if differences else 0
    seconds = asyncio.run(fill_database(dsn))
    print(f"rollups filled in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
