"""A throw-away PostgreSQL database the size issue 21's benchmark asks for: 50,000 stores,
two years of orders (about 10 million order lines) and 50 million behaviour events.

    PYTHONPATH=$PWD nice -n 19 .venv/bin/python bench/analytics_seed.py            # full size
    PYTHONPATH=$PWD nice -n 19 .venv/bin/python bench/analytics_seed.py --scale 0.01
    PYTHONPATH=$PWD .venv/bin/python bench/analytics_seed.py --drop     # the disk back

bench/analytics_dashboards.py calls `prepare` itself; run this alone to seed ahead of time.

The database (`b2bc_bench_analytics`, or `..._s0_01` for --scale 0.01; 127.0.0.1:5432, user
postgres) is migrated by the project's migrations and given the demo data (`b2bc demo`: the
brand, its staff logins, three distributors), then the rest is generated with numpy (seeded,
so two runs at one scale make the same rows) and loaded by COPY:

- 31 provinces as regions, 40 distributors (the demo's 3 included) each serving one or two,
  5 salespeople each; 12 categories, ~130 products, ~400 SKUs from 15 yuan filters to
  6,000 yuan purifiers;
- --stores × scale stores: tiers A/B/C/D 10/25/35/30 %, distributors of very unequal size
  (Zipf), 0-3 tags each; 70 % there from the start, the rest joining over the two years,
  15 % stopping at some point (dormant stores); one owner each and a clerk for 30 %;
- orders from each store at its own rate (A every ~6 days … D every ~35, times a log-normal
  spread of the store), fewer on Sundays, a rush before the Spring Festival and a hole during
  it, a summer peak and 40 % growth over the two years; 1-12 lines each (popular SKUs far
  more often: Zipf), tier prices and a 5 % promotion on a fifth of the orders; channels self
  68 %, proxy 24 %, live 8 %; 6 % cancelled, and the last fortnight's orders still on their
  way (pending payment, paid, accepted, shipped, delivered);
- behaviour events month by month in the partitions `backend.analytics.partitions.
  ensure_months` makes, from the stores that order that month (and 20 % from any store):
  page views, searches (a Zipf vocabulary, 8 % of terms finding nothing), product views,
  add to cart, checkout, order.

Big tables are loaded without their secondary indexes and foreign-key triggers, the indexes
rebuilt after from the migration's own definitions (read back from the catalog), then
VACUUM (ANALYZE). A table `bench_analytics_layout` records what was seeded and how long it
took; a later run at the same scale reuses the database (--fresh seeds it again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import numpy as np
from bench_common import HOST, ROOT, b2bc_command, create_database, drop_database, server_env

from backend.analytics import partitions
from backend.config import load_settings
from backend.infra import db

REDIS_URL = f"redis://{HOST}:6379/12"
DATABASE = "b2bc_bench_analytics"
CHINA = timedelta(hours=8)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's binary dates and timestamps
DAYS = 730  # two years of orders, ending today (China)
TIERS = np.array(list("ABCD"))
TIER_SHARE = [0.10, 0.25, 0.35, 0.30]
TIER_EVERY_DAYS = np.array([6.0, 12.0, 20.0, 35.0])  # a store's usual interval by tier
TIER_LINES = np.array([4.5, 3.6, 3.0, 2.4])  # mean extra lines per order by tier
TIER_PRICE = np.array([0.90, 0.94, 0.97, 1.00])  # tier price / list price
CHANNELS = ["self", "proxy", "live"]
CHANNEL_SHARE = [0.68, 0.24, 0.08]
SPRING_FESTIVALS = [date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6)]
SPRING_FESTIVALS += [date(2028, 1, 26), date(2029, 2, 13), date(2030, 2, 3)]
TAGS = ["连锁", "社区店", "县城", "商超", "五金店", "建材店", "家装公司", "重点客户", "新开店"]
PROVINCES = [
    ("浙江", 30.27, 120.15),
    ("江苏", 32.06, 118.80),
    ("上海", 31.23, 121.47),
    ("广东", 23.13, 113.26),
    ("北京", 39.90, 116.40),
    ("山东", 36.65, 117.12),
    ("河南", 34.76, 113.65),
    ("四川", 30.66, 104.07),
    ("湖北", 30.59, 114.31),
    ("湖南", 28.23, 112.94),
    ("福建", 26.07, 119.30),
    ("安徽", 31.82, 117.23),
    ("河北", 38.04, 114.51),
    ("陕西", 34.34, 108.94),
    ("辽宁", 41.80, 123.43),
    ("江西", 28.68, 115.86),
    ("重庆", 29.56, 106.55),
    ("云南", 25.04, 102.71),
    ("广西", 22.82, 108.32),
    ("山西", 37.87, 112.55),
    ("天津", 39.13, 117.20),
    ("贵州", 26.65, 106.63),
    ("黑龙江", 45.80, 126.53),
    ("吉林", 43.82, 125.32),
    ("内蒙古", 40.82, 111.67),
    ("新疆", 43.83, 87.62),
    ("甘肃", 36.06, 103.83),
    ("海南", 20.04, 110.35),
    ("宁夏", 38.49, 106.23),
    ("青海", 36.62, 101.78),
    ("西藏", 29.65, 91.14),
]
CATEGORIES = [
    # name, products, (lowest, highest) list price in yuan, unit, case size
    ("厨下净水器", 14, (1200, 6000), "台", 1),
    ("台式净饮机", 10, (900, 3500), "台", 1),
    ("管线机", 10, (500, 2000), "台", 1),
    ("中央净水", 8, (3000, 9000), "台", 1),
    ("软水机", 8, (2500, 8000), "台", 1),
    ("前置过滤器", 10, (300, 1500), "台", 1),
    ("PP 棉滤芯", 14, (15, 60), "支", 10),
    ("活性炭滤芯", 14, (30, 120), "支", 10),
    ("RO 膜滤芯", 14, (200, 800), "支", 5),
    ("复合滤芯", 12, (150, 600), "支", 5),
    ("净水配件", 10, (10, 80), "个", 20),
    ("水质检测", 6, (20, 300), "个", 10),
]
PAGES = [
    ("pages/home/index", 30),
    ("pages/catalog/index", 20),
    ("pages/product/index", 14),
    ("pages/cart/index", 8),
    ("pages/orders/index", 8),
    ("pages/order/index", 5),
    ("pages/coupons/index", 4),
    ("pages/mine/index", 4),
    ("pages/ledger/index", 2),
    ("pages/mall/index", 2),
    ("pages/live-list/index", 2),
    ("pages/complaints/index", 1),
]
# kind, share, the page it happens on ("" for page views: PAGES), whether it names a SKU
EVENT_KINDS = [
    ("page_view", 0.42, "", False),
    ("product_view", 0.27, "pages/product/index", True),
    ("search", 0.12, "pages/catalog/index", False),
    ("add_to_cart", 0.11, "pages/product/index", True),
    ("checkout", 0.045, "pages/checkout/index", False),
    ("order", 0.035, "pages/checkout/index", False),
]
TERM_WORDS = ["净水器", "滤芯", "RO膜", "PP棉", "活性炭", "软水机", "管线机", "前置", "龙头"]
TERM_WORDS += ["家用", "商用", "厨下", "台式", "加热", "即热", "大通量", "400G", "600G", "800G"]
TERM_WORDS += ["1000G", "复合", "换芯", "配件", "检测笔", "TDS", "直饮", "母婴", "冷热"]


def china_today() -> date:
    return (datetime.now(UTC) + CHINA).date()


def database_name(scale: float) -> str:
    return DATABASE if scale == 1 else f"{DATABASE}_s{scale:g}".replace(".", "_")


@dataclass
class Layout:
    """What a seeded database holds (table bench_analytics_layout), for reuse and reports."""

    scale: float
    brand_id: int
    first_day: str
    last_day: str
    stores: int
    orders: int
    order_lines: int
    events: int
    seed_seconds: float
    seeded_at: str
    rollups_seconds: float | None = None  # once built (bench/analytics_dashboards.py)
    rollups_by: str | None = None  # how: the engine's rebuild or set-based SQL


# --- PostgreSQL's binary COPY format, built column by column with numpy ----------------------


class Fixed:
    """A NOT NULL column whose values all take `width` bytes (numbers, dates, fixed text)."""

    def __init__(self, data: np.ndarray) -> None:
        n, width = data.shape
        prefix = np.frombuffer(width.to_bytes(4, "big"), np.uint8)
        self.data = np.hstack([np.broadcast_to(prefix, (n, 4)), data])

    @staticmethod
    def of(values: np.ndarray, pg_type: str) -> Fixed:
        dtype = {"int4": ">i4", "int8": ">i8", "float8": ">f8"}[pg_type]
        array = np.ascontiguousarray(values, dtype=dtype)
        return Fixed(array.view(np.uint8).reshape(len(array), -1))

    def widths(self) -> np.ndarray:
        return np.full(len(self.data), self.data.shape[1], np.int64)

    def write(self, buffer: np.ndarray, offsets: np.ndarray) -> None:
        buffer[offsets[:, None] + np.arange(self.data.shape[1])] = self.data


class Choice:
    """A column whose value is one of a few (`values`, each already encoded; None is NULL),
    picked per row by `codes`."""

    def __init__(self, codes: np.ndarray, values: Sequence[bytes | None]) -> None:
        fields = [
            (-1).to_bytes(4, "big", signed=True)
            if value is None
            else len(value).to_bytes(4, "big") + value
            for value in values
        ]
        self.table = np.frombuffer(b"".join(fields), np.uint8)
        self.lengths = np.array([len(f) for f in fields], np.int64)
        self.starts = np.cumsum(self.lengths) - self.lengths
        self.codes = np.asarray(codes, np.int64)

    def widths(self) -> np.ndarray:
        return self.lengths[self.codes]

    def write(self, buffer: np.ndarray, offsets: np.ndarray) -> None:
        lengths = self.lengths[self.codes]
        total = int(lengths.sum())
        # position of every byte within its own field: a "ragged arange"
        within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        source = np.repeat(self.starts[self.codes], lengths) + within
        buffer[np.repeat(offsets, lengths) + within] = self.table[source]


Column = Fixed | Choice
HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
TRAILER = (-1).to_bytes(2, "big", signed=True)


def tuples(columns: Sequence[Column]) -> bytes:
    """Rows in PostgreSQL's binary COPY format (without the header and trailer)."""
    widths = [column.widths() for column in columns]
    row_widths = 2 + np.sum(widths, axis=0)
    starts = np.cumsum(row_widths) - row_widths
    buffer = np.empty(int(row_widths.sum()), np.uint8)
    count = np.frombuffer(len(columns).to_bytes(2, "big"), np.uint8)
    buffer[starts[:, None] + np.arange(2)] = count
    offsets = starts + 2
    for column, width in zip(columns, widths, strict=True):
        column.write(buffer, offsets)
        offsets = offsets + width
    return buffer.tobytes()


def pg_text(values: Sequence[str]) -> list[bytes | None]:
    return [value.encode() for value in values]


def pg_int4(values: Sequence[int | None]) -> list[bytes | None]:
    return [None if v is None else int(v).to_bytes(4, "big", signed=True) for v in values]


def digits(numbers: np.ndarray, prefix: str, width: int) -> Fixed:
    """Fixed text: `prefix` then `numbers` zero-padded to `width` digits."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    text = (np.asarray(numbers, np.int64)[:, None] // powers % 10 + 48).astype(np.uint8)
    head = np.frombuffer(prefix.encode(), np.uint8)
    return Fixed(np.hstack([np.broadcast_to(head, (len(text), len(head))), text]))


def micros(moments_utc: np.ndarray) -> np.ndarray:
    """numpy datetime64 (UTC) -> PostgreSQL timestamptz (microseconds since 2000)."""
    return (moments_utc - np.datetime64("2000-01-01T00:00:00", "us")).astype(np.int64)


def pg_days(days: np.ndarray) -> np.ndarray:
    return (days - np.datetime64("2000-01-01", "D")).astype(np.int64)


async def copy_chunks(
    conn: asyncpg.Connection,
    table: str,
    columns: list[str],
    chunks: int,
    make: Callable[[int], bytes],
) -> None:
    """COPY `chunks` chunks of rows into `table`; the next chunk is built in a thread while
    PostgreSQL takes the current one (numpy lets go of the GIL)."""

    async def stream() -> AsyncIterator[bytes]:
        yield HEADER
        pending = asyncio.ensure_future(asyncio.to_thread(make, 0))
        for index in range(chunks):
            data = await pending
            if index + 1 < chunks:
                pending = asyncio.ensure_future(asyncio.to_thread(make, index + 1))
            yield data
        yield TRAILER

    await conn.copy_to_table(table, source=stream(), columns=columns, format="binary")


# --- the calendar ----------------------------------------------------------------------------


def day_weights(days: np.ndarray) -> np.ndarray:
    """How busy each day is relative to the others: week, seasons, Spring Festival, growth."""
    weekday = (days.astype("datetime64[D]").view(np.int64) + 3) % 7  # 0 = Monday
    weight = np.where(weekday == 6, 0.55, np.where(weekday == 5, 0.85, 1.0))
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    weight = weight * np.where((month >= 6) & (month <= 8), 1.2, 1.0)
    for festival in SPRING_FESTIVALS:
        offset = (days - np.datetime64(festival, "D")).astype(np.int64)
        weight = weight * np.where((offset >= -30) & (offset < -7), 1.45, 1.0)
        weight = weight * np.where((offset >= -7) & (offset < -2), 0.7, 1.0)
        weight = weight * np.where((offset >= -2) & (offset <= 7), 0.15, 1.0)
    growth = np.linspace(0.8, 1.2, len(days))
    return np.asarray(weight * growth)


def local_moments(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """A time of day in China (mostly 8:00-21:00, peaks mid-morning and evening) -> UTC."""
    hours = np.clip(rng.normal(np.where(rng.random(len(days)) < 0.6, 10.5, 19.0), 2.2), 0, 23.99)
    seconds = (hours * 3600).astype(np.int64)
    local = days.astype("datetime64[us]") + seconds.astype("timedelta64[s]")
    return local - np.timedelta64(8, "h")


# --- the seed --------------------------------------------------------------------------------


@dataclass
class World:
    """The generated dimensions, as numpy arrays indexed by store (or SKU)."""

    brand_id: int
    first_day: np.datetime64
    last_day: np.datetime64
    store_ids: np.ndarray
    store_tier: np.ndarray  # 0..3
    store_distributor: np.ndarray
    store_salesperson: np.ndarray
    store_owner: np.ndarray
    store_clerk: np.ndarray  # 0: none
    store_join: np.ndarray  # day index the store starts ordering
    store_stop: np.ndarray  # day index after its last possible order
    store_rate: np.ndarray  # orders a day
    sku_ids: np.ndarray
    sku_product: np.ndarray
    sku_price: np.ndarray  # list price, fen
    sku_case: np.ndarray
    sku_weight: np.ndarray  # popularity
    sku_product_name: list[str]
    sku_name: list[str]
    sku_unit: list[str]


async def next_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))


async def set_sequence(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
        f" (SELECT coalesce(max(id), 1) FROM {table}))"
    )


async def seed_dimensions(conn: asyncpg.Connection, rng: np.random.Generator, stores: int) -> World:
    brand_id = int(await conn.fetchval("SELECT id FROM brands ORDER BY id LIMIT 1"))
    now = datetime.now(UTC)
    today = np.datetime64(china_today(), "D")
    first = today - (DAYS - 1)

    # regions and distributors (the demo's kept: its logins see their own figures)
    await conn.copy_records_to_table(
        "regions",
        records=[(name, now, brand_id) for name, _, _ in PROVINCES],
        columns=["name", "created_at", "brand_id"],
    )
    region_rows = await conn.fetch(
        "SELECT id, name FROM regions WHERE brand_id = $1 ORDER BY id", brand_id
    )
    province_region = {row["name"]: row["id"] for row in region_rows}
    province_ids = [province_region[name] for name, _, _ in PROVINCES]
    demo_distributors = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM distributors WHERE brand_id = $1 ORDER BY id", brand_id
        )
    ]
    wanted = 40 - len(demo_distributors)
    await conn.copy_records_to_table(
        "distributors",
        records=[
            (
                f"{PROVINCES[k % len(PROVINCES)][0]}压测商贸{k:02d}有限公司",
                f"1350000{k:04d}",
                True,
                now,
                brand_id,
                "压测",
            )
            for k in range(wanted)
        ],
        columns=["name", "contact_phone", "is_active", "created_at", "brand_id", "contact_name"],
    )
    distributor_ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM distributors WHERE brand_id = $1 ORDER BY id", brand_id
        )
    ]
    served: dict[int, list[int]] = {}
    for number, distributor_id in enumerate(distributor_ids):
        regions = [province_ids[number % len(province_ids)]]
        if number % 3 == 0:
            regions.append(province_ids[(number * 7 + 3) % len(province_ids)])
        served[distributor_id] = sorted(set(regions))
    await conn.copy_records_to_table(
        "distributor_service_areas",
        records=[(d, r) for d, regions in served.items() for r in regions],
        columns=["distributor_id", "region_id"],
    )
    await conn.copy_records_to_table(
        "salespeople",
        records=[
            (f"业务员{d}-{k}", f"1880{d:04d}{k:03d}", True, now, brand_id, d)
            for d in distributor_ids
            for k in range(5)
        ],
        columns=["name", "phone", "is_active", "created_at", "brand_id", "distributor_id"],
    )
    salespeople: dict[int, list[int]] = {}
    for row in await conn.fetch(
        "SELECT id, distributor_id FROM salespeople WHERE brand_id = $1 AND phone LIKE '1880%'",
        brand_id,
    ):
        salespeople.setdefault(row["distributor_id"], []).append(row["id"])

    # the catalog
    sort = int(await conn.fetchval("SELECT coalesce(max(sort), 0) FROM categories"))
    await conn.copy_records_to_table(
        "categories",
        records=[(name, sort + k + 1, brand_id) for k, (name, *_rest) in enumerate(CATEGORIES)],
        columns=["name", "sort", "brand_id"],
    )
    category_ids = {
        r["name"]: r["id"]
        for r in await conn.fetch(
            "SELECT id, name FROM categories WHERE brand_id = $1 AND sort > $2", brand_id, sort
        )
    }
    product_records = []
    for name, count, _, _, _ in CATEGORIES:
        for k in range(count):
            product_records.append(
                (f"澜泉{name}{chr(65 + k)}系列", "", "[]", True, now, brand_id, category_ids[name])
            )
    first_product = await next_id(conn, "products")
    await conn.copy_records_to_table(
        "products",
        records=[(first_product + k, *r) for k, r in enumerate(product_records)],
        columns=[
            "id",
            "name",
            "description",
            "images",
            "is_active",
            "created_at",
            "brand_id",
            "category_id",
        ],
    )
    await set_sequence(conn, "products")
    sku_records = []
    sku_product, sku_case, sku_price, sku_product_name, sku_unit = [], [], [], [], []
    product_id = first_product
    for name, count, (low, high), unit, case in CATEGORIES:
        for k in range(count):
            for variant in range(int(rng.integers(2, 5))):
                price = int(rng.uniform(low, high)) * 100
                spec = f"{chr(65 + k)}{variant + 1}-{price // 100}"
                sku_records.append(
                    (spec, spec, unit, price, case, 1, True, now, brand_id, product_id)
                )
                sku_product.append(product_id)
                sku_case.append(case)
                sku_price.append(price)
                sku_product_name.append(f"澜泉{name}{chr(65 + k)}系列")
                sku_unit.append(unit)
            product_id += 1
    first_sku = await next_id(conn, "skus")
    await conn.copy_records_to_table(
        "skus",
        records=[(first_sku + k, *r) for k, r in enumerate(sku_records)],
        columns=[
            "id",
            "name",
            "spec",
            "unit",
            "list_price_fen",
            "case_size",
            "min_order_qty",
            "is_active",
            "created_at",
            "brand_id",
            "product_id",
        ],
    )
    await set_sequence(conn, "skus")
    sku_count = len(sku_records)
    # popularity: Zipf over a shuffled order, filters (cheap, consumable) far ahead
    rank = rng.permutation(sku_count) + 1
    cheap = np.array(sku_price) < 100_000
    sku_weight = (1.0 / rank**1.1) * np.where(cheap, 3.0, 1.0)

    # stores, their owners and clerks
    tier = rng.choice(4, size=stores, p=TIER_SHARE)
    distributor_weight = 1.0 / np.arange(1, len(distributor_ids) + 1) ** 0.8
    distributor_index = rng.choice(
        len(distributor_ids), size=stores, p=distributor_weight / distributor_weight.sum()
    )
    distributor = np.array(distributor_ids)[distributor_index]
    region = np.array([rng.choice(served[int(d)]) for d in distributor])
    salesperson = np.array([rng.choice(salespeople[int(d)]) for d in distributor])
    join = np.where(rng.random(stores) < 0.7, 0, rng.integers(0, DAYS - 7, stores))
    stop = np.where(rng.random(stores) < 0.15, rng.integers(join + 30, DAYS + 30), DAYS)
    stop = np.minimum(stop, DAYS)
    rate = (1.0 / TIER_EVERY_DAYS[tier]) * rng.lognormal(0.0, 0.5, stores)
    has_clerk = rng.random(stores) < 0.3

    first_user = await next_id(conn, "users")
    owners = first_user + np.arange(stores)
    clerks = np.where(has_clerk, first_user + stores + np.cumsum(has_clerk) - 1, 0)
    user_records = [(int(u), f"店主{k:05d}", 0, True, now) for k, u in enumerate(owners)]
    user_records += [(int(u), f"店员{k:05d}", 0, True, now) for k, u in enumerate(clerks) if u]
    await conn.copy_records_to_table(
        "users",
        records=user_records,
        columns=["id", "display_name", "failed_login_count", "is_active", "created_at"],
    )
    await set_sequence(conn, "users")
    first_store = await next_id(conn, "stores")
    store_ids = first_store + np.arange(stores)
    centres = {province_region[name]: (name, lat, lon) for name, lat, lon in PROVINCES}
    shops = ["建材", "五金", "水电", "家电", "净水", "厨卫", "百货", "商行"]
    joined = (first + join).astype("datetime64[us]").astype(datetime)
    store_records = []
    for k in range(stores):
        province, lat, lon = centres.get(int(region[k]), ("华东", 30.0, 120.0))
        store_records.append(
            (
                int(store_ids[k]),
                f"{province}{shops[k % 8]}店{k:05d}",
                "压测",
                f"139{k:08d}",
                f"压测路{k}号",
                float(lat + rng.normal(0, 0.6)),
                float(lon + rng.normal(0, 0.6)),
                str(TIERS[tier[k]]),
                "active",
                joined[k].replace(tzinfo=UTC) - CHINA,
                brand_id,
                int(distributor[k]),
                int(owners[k]),
                int(region[k]),
                int(salesperson[k]),
            )
        )
    await conn.copy_records_to_table(
        "stores",
        records=store_records,
        columns=[
            "id",
            "name",
            "contact_name",
            "phone",
            "address",
            "latitude",
            "longitude",
            "tier",
            "status",
            "created_at",
            "brand_id",
            "distributor_id",
            "owner_id",
            "region_id",
            "salesperson_id",
        ],
    )
    await set_sequence(conn, "stores")
    memberships = [
        ("store_owner", True, now, brand_id, int(s), int(u))
        for s, u in zip(store_ids, owners, strict=True)
    ]
    memberships += [
        ("store_clerk", True, now, brand_id, int(s), int(u))
        for s, u in zip(store_ids, clerks, strict=True)
        if u
    ]
    await conn.copy_records_to_table(
        "memberships",
        records=memberships,
        columns=["role", "is_active", "created_at", "brand_id", "store_id", "user_id"],
    )
    tag_count = rng.choice(4, size=stores, p=[0.3, 0.4, 0.2, 0.1])
    tag_weight = np.array([3, 5, 3, 2, 4, 4, 2, 1, 1], float)
    tag_records = []
    for k in range(stores):
        picked = rng.choice(len(TAGS), size=tag_count[k], replace=False, p=tag_weight / 25)
        tag_records += [(TAGS[t], int(store_ids[k])) for t in picked]
    await conn.copy_records_to_table("store_tags", records=tag_records, columns=["tag", "store_id"])
    return World(
        brand_id=brand_id,
        first_day=first,
        last_day=today,
        store_ids=store_ids,
        store_tier=tier,
        store_distributor=distributor,
        store_salesperson=salesperson,
        store_owner=owners,
        store_clerk=clerks,
        store_join=join,
        store_stop=stop,
        store_rate=rate,
        sku_ids=first_sku + np.arange(sku_count),
        sku_product=np.array(sku_product),
        sku_price=np.array(sku_price, np.int64),
        sku_case=np.array(sku_case),
        sku_weight=sku_weight / sku_weight.sum(),
        sku_product_name=sku_product_name,
        sku_name=[r[0] for r in sku_records],
        sku_unit=sku_unit,
    )


@dataclass
class Orders:
    store: np.ndarray  # index into the world's stores
    day: np.ndarray  # datetime64[D], China
    created: np.ndarray  # datetime64[us], UTC
    first_id: int


def generate_orders(world: World, rng: np.random.Generator, lines_wanted: int) -> Orders:
    days = world.first_day + np.arange(DAYS)
    cdf = np.concatenate([[0.0], np.cumsum(day_weights(days))])
    span = cdf[world.store_stop] - cdf[world.store_join]  # a store's busy-days in its window
    expected = world.store_rate * span / cdf[-1] * DAYS
    mean_lines = 1 + TIER_LINES[world.store_tier] * 0.93  # a few duplicate SKUs dropped
    orders_wanted = lines_wanted / float((expected * mean_lines).sum() / expected.sum())
    counts = rng.poisson(expected * orders_wanted / expected.sum())
    store = np.repeat(np.arange(len(counts)), counts)
    low, high = cdf[world.store_join][store], cdf[world.store_stop][store]
    day_index = np.searchsorted(cdf, rng.uniform(low, high), side="right") - 1
    day_index = np.clip(day_index, world.store_join[store], world.store_stop[store] - 1)
    day = world.first_day + day_index
    created = local_moments(rng, day)
    now = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "us")
    created = np.minimum(created, now - np.timedelta64(60, "s"))
    order = np.argsort(created, kind="stable")
    return Orders(store[order], day[order], created[order], first_id=0)


async def seed_orders(
    conn: asyncpg.Connection, world: World, rng: np.random.Generator, lines_wanted: int
) -> tuple[Orders, int]:
    orders = generate_orders(world, rng, lines_wanted)
    count = len(orders.store)
    first_order = await next_id(conn, "orders")
    first_line = await next_id(conn, "order_lines")
    tier = world.store_tier[orders.store]

    # the lines: how many, which SKUs (no SKU twice in an order), how many of each
    per_order = 1 + np.minimum(rng.poisson(TIER_LINES[tier]), 11)
    line_order = np.repeat(np.arange(count), per_order)
    sku = rng.choice(len(world.sku_ids), size=len(line_order), p=world.sku_weight)
    unique = np.unique(line_order * 100_000 + sku)
    line_order, sku = unique // 100_000, unique % 100_000
    cases = rng.random(len(sku)) < 0.5
    quantity = rng.geometric(0.4, len(sku)) * np.where(cases, world.sku_case[sku], 1)
    promoted = rng.random(count) < 0.2
    list_unit = world.sku_price[sku]
    unit = np.round(list_unit * TIER_PRICE[tier[line_order]]).astype(np.int64)
    list_amount = list_unit * quantity
    payable = np.round(unit * quantity * np.where(promoted[line_order], 0.95, 1.0)).astype(np.int64)
    discount = list_amount - payable
    order_list = np.bincount(line_order, list_amount, count).astype(np.int64)
    order_payable = np.bincount(line_order, payable, count).astype(np.int64)
    order_promo = np.bincount(
        line_order, np.where(promoted[line_order], unit * quantity - payable, 0), count
    ).astype(np.int64)

    # statuses: settled long ago, or still on their way for the last fortnight
    age = (world.last_day - orders.day).astype(np.int64)
    cancelled = rng.random(count) < 0.06
    recent = ["pending_payment", "paid", "accepted", "shipped", "delivered", "completed"]
    step = np.minimum(rng.integers(0, 3, count) + age // 3, 5)
    status_code = np.where(cancelled, 6, np.where(age > 14, 5, step))
    statuses = [*recent, "cancelled"]
    updated = orders.created + (np.minimum(age, 7) * 86_400_000_000 * rng.random(count)).astype(
        "timedelta64[us]"
    )
    now = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "us")
    updated = np.minimum(updated, now)
    channel = rng.choice(3, size=count, p=CHANNEL_SHARE)
    ids = first_order + np.arange(count)
    chunk = 200_000

    def order_chunk(index: int) -> bytes:
        part = slice(index * chunk, (index + 1) * chunk)
        n = len(ids[part])
        store = orders.store[part]
        return tuples(
            [
                Fixed.of(ids[part], "int8"),
                digits(ids[part], "BA", 16),
                Choice(channel[part], pg_text(CHANNELS)),
                Choice(status_code[part], pg_text(statuses)),
                Fixed.of(order_list[part], "int8"),
                Fixed.of(order_list[part] - order_payable[part], "int8"),
                Fixed.of(order_payable[part], "int8"),
                Fixed.of(micros(orders.created[part] + np.timedelta64(30, "m")), "int8"),
                Choice(np.where(status_code[part] == 6, 1, 0), [None, "超时未支付".encode()]),
                Fixed.of(micros(orders.created[part]), "int8"),
                Fixed.of(micros(updated[part]), "int8"),
                Fixed.of(np.full(n, world.brand_id), "int8"),
                Fixed.of(world.store_distributor[store], "int8"),
                Fixed.of(world.store_owner[store], "int8"),
                Fixed.of(world.store_salesperson[store], "int8"),
                Fixed.of(world.store_ids[store], "int8"),
                Fixed.of(order_promo[part], "int8"),
            ]
        )

    await copy_chunks(
        conn,
        "orders",
        [
            "id",
            "order_no",
            "channel",
            "status",
            "list_amount_fen",
            "discount_fen",
            "payable_fen",
            "pay_deadline",
            "cancel_reason",
            "created_at",
            "updated_at",
            "brand_id",
            "distributor_id",
            "placed_by_id",
            "salesperson_id",
            "store_id",
            "promotion_discount_fen",
        ],
        (count + chunk - 1) // chunk,
        order_chunk,
    )
    print(f"  {count:,} orders copied", flush=True)

    line_ids = first_line + np.arange(len(sku))
    names = pg_text(world.sku_product_name)
    sku_names, units = pg_text(world.sku_name), pg_text(world.sku_unit)

    def line_chunk(index: int) -> bytes:
        part = slice(index * chunk, (index + 1) * chunk)
        return tuples(
            [
                Fixed.of(line_ids[part], "int8"),
                Choice(sku[part], names),
                Choice(sku[part], sku_names),
                Choice(sku[part], units),
                Fixed.of(quantity[part], "int4"),
                Fixed.of(list_unit[part], "int8"),
                Fixed.of(unit[part], "int8"),
                Fixed.of(list_amount[part], "int8"),
                Fixed.of(discount[part], "int8"),
                Fixed.of(payable[part], "int8"),
                Fixed.of(ids[line_order[part]], "int8"),
                Fixed.of(world.sku_ids[sku[part]], "int8"),
            ]
        )

    await copy_chunks(
        conn,
        "order_lines",
        [
            "id",
            "product_name",
            "sku_name",
            "unit",
            "quantity",
            "list_unit_price_fen",
            "unit_price_fen",
            "list_amount_fen",
            "discount_fen",
            "payable_fen",
            "order_id",
            "sku_id",
        ],
        (len(sku) + chunk - 1) // chunk,
        line_chunk,
    )
    print(f"  {len(sku):,} order lines copied", flush=True)
    await set_sequence(conn, "orders")
    await set_sequence(conn, "order_lines")
    return orders, len(sku)


def search_terms(rng: np.random.Generator, count: int) -> tuple[list[str], np.ndarray]:
    """A vocabulary of search terms and the results each finds (0 for 8 % of them)."""
    terms: list[str] = []
    seen = set()
    while len(terms) < count:
        words = rng.choice(TERM_WORDS, size=int(rng.integers(1, 3)), replace=False)
        term = "".join(words) if rng.random() < 0.9 else "".join(words) + "型号" + str(len(terms))
        if term not in seen:
            seen.add(term)
            terms.append(term)
    results = np.where(rng.random(count) < 0.08, 0, rng.integers(1, 60, count))
    return terms, results


async def seed_events(
    conn: asyncpg.Connection, world: World, orders: Orders, rng: np.random.Generator, total: int
) -> int:
    """`total` events, month by month into their partitions, from that month's buyers."""
    months = np.arange(
        world.first_day.astype("datetime64[M]"), world.last_day.astype("datetime64[M]") + 1
    )
    month_of_order = orders.day.astype("datetime64[M]")
    bounds = np.searchsorted(month_of_order, np.append(months, months[-1] + 1))
    share = np.diff(bounds) / len(orders.day)
    terms, term_results = search_terms(rng, 600)
    term_weight = 1.0 / np.arange(1, len(terms) + 1) ** 1.05
    term_weight /= term_weight.sum()
    kinds = [kind for kind, *_ in EVENT_KINDS]
    kind_share = np.array([s for _, s, _, _ in EVENT_KINDS])
    page_names = [p for p, _ in PAGES] + [page for _, _, page, _ in EVENT_KINDS[1:]]
    page_weight = np.array([w for _, w in PAGES], float)
    kind_page = np.array([len(PAGES) + k - 1 for k in range(len(EVENT_KINDS))])
    with_sku = np.array([named for *_, named in EVENT_KINDS])
    sku_values = pg_int4([*world.sku_ids.tolist(), None])
    product_values = pg_int4([*world.sku_product.tolist(), None])
    term_values: list[bytes | None] = [*pg_text(terms), None]
    result_values = pg_int4([*term_results.tolist(), None])
    next_event = await next_id(conn, "analytics_events")
    today = world.last_day
    now = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "us")
    chunk = 250_000
    written = 0
    for number, month in enumerate(months):
        n = round(total * share[number])
        if n == 0:
            continue
        buyers = orders.store[bounds[number] : bounds[number + 1]]
        buyer_days = orders.day[bounds[number] : bounds[number + 1]]
        first_id = next_event + written

        def event_chunk(
            index: int,
            n: int = n,
            month: np.datetime64 = month,
            buyers: np.ndarray = buyers,
            buyer_days: np.ndarray = buyer_days,
            first_id: int = first_id,
        ) -> bytes:
            size = min(chunk, n - index * chunk)
            local = np.random.default_rng([int(first_id), index])
            pick = local.integers(0, len(buyers), size)
            anyone = local.random(size) < 0.2
            store = np.where(anyone, local.integers(0, len(world.store_ids), size), buyers[pick])
            day = buyer_days[pick] + local.integers(-3, 4, size)
            last = min((month + 1).astype("datetime64[D]") - 1, today)
            day = np.minimum(np.maximum(day, month.astype("datetime64[D]")), last)
            clerk = world.store_clerk[store]
            user = np.where(
                (clerk > 0) & (local.random(size) < 0.4), clerk, world.store_owner[store]
            )
            kind = local.choice(len(kinds), size=size, p=kind_share)
            page = np.where(
                kind == 0,
                local.choice(len(PAGES), size=size, p=page_weight / page_weight.sum()),
                kind_page[kind],
            )
            sku = np.where(
                with_sku[kind],
                local.choice(len(world.sku_ids), size=size, p=world.sku_weight),
                len(world.sku_ids),
            )
            term = np.where(
                kind == 2, local.choice(len(terms), size=size, p=term_weight), len(terms)
            )
            occurred = np.minimum(local_moments(local, day), now)
            received = occurred + local.integers(1, 20_000_000, size).astype("timedelta64[us]")
            ids = first_id + index * chunk + np.arange(size)
            return tuples(
                [
                    Fixed.of(ids, "int8"),
                    Fixed.of(np.full(size, world.brand_id), "int4"),
                    Fixed.of(world.store_ids[store], "int4"),
                    Fixed.of(user, "int4"),
                    Choice(kind, pg_text(kinds)),
                    Choice(page, pg_text(page_names)),
                    Choice(sku, product_values),
                    Choice(sku, sku_values),
                    Choice(term, term_values),
                    Choice(term, result_values),
                    digits(ids, "ev", 16),
                    Fixed.of(micros(occurred), "int8"),
                    Fixed.of(pg_days(day), "int4"),
                    Fixed.of(micros(received), "int8"),
                ]
            )

        name = partitions.partition_name((int(str(month)[:4]), int(str(month)[5:7])))
        await copy_chunks(
            conn,
            name,
            [
                "id",
                "brand_id",
                "store_id",
                "user_id",
                "kind",
                "page",
                "product_id",
                "sku_id",
                "term",
                "results",
                "client_id",
                "occurred_at",
                "day",
                "received_at",
            ],
            (n + chunk - 1) // chunk,
            event_chunk,
        )
        written += n
        print(f"  {month!s}: {n:,} events ({written:,} so far)", flush=True)
    await set_sequence(conn, "analytics_events")
    return written


# --- indexes off while loading, on after -------------------------------------------------------


async def drop_indexes(conn: asyncpg.Connection, table: str) -> list[str]:
    """Drop `table`'s secondary indexes and unique constraints (not its primary key, which
    grows in order); the statements that make them again."""
    again = []
    for row in await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
        " WHERE conrelid = $1::regclass AND contype = 'u'",
        table,
    ):
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{row["conname"]}"')
        again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{row["conname"]}" {row["definition"]}')
    for row in await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition"
        " FROM pg_index i WHERE i.indrelid = $1::regclass AND NOT i.indisprimary",
        table,
    ):
        await conn.execute(f'DROP INDEX "{row["name"]}"')
        # a partitioned table's index reads back "ON ONLY": made so it would cover no partition
        again.append(row["definition"].replace(" ON ONLY ", " ON ", 1))
    return again


async def seed(dsn: str, scale: float, args: argparse.Namespace) -> Layout:
    started = time.perf_counter()
    rng = np.random.default_rng(2026)
    stores = max(100, round(args.stores * scale))
    lines_wanted = round(args.lines * scale)
    events_wanted = round(args.events * scale)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        world = await seed_dimensions(conn, rng, stores)
        print(
            f"  {stores:,} stores, {len(world.sku_ids)} SKUs in"
            f" {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        rebuild = await drop_indexes(conn, "orders") + await drop_indexes(conn, "order_lines")
        orders, line_count = await seed_orders(conn, world, rng, lines_wanted)
        order_count = len(orders.store)
        print(f"  orders loaded in {time.perf_counter() - started:.0f} s", flush=True)

        # the partitions through the project's own code (it runs on the ORM's connection)
        months = np.arange(
            world.first_day.astype("datetime64[M]"), world.last_day.astype("datetime64[M]") + 1
        )
        await db.init_db(dsn)
        try:
            await partitions.ensure_months(m.astype("datetime64[D]").item() for m in months)
        finally:
            await db.close_db()
        event_indexes = await drop_indexes(conn, "analytics_events")
        await conn.execute("ALTER TABLE analytics_events DROP CONSTRAINT analytics_events_pkey")
        event_indexes.insert(0, "ALTER TABLE analytics_events ADD PRIMARY KEY (id, day)")
        event_count = await seed_events(conn, world, orders, rng, events_wanted)
        print(f"  events loaded in {time.perf_counter() - started:.0f} s", flush=True)
        await conn.execute("SET session_replication_role = origin")
        for statement in rebuild + event_indexes:
            await conn.execute(statement)
            print(f"  {statement[:90]} … {time.perf_counter() - started:.0f} s", flush=True)
        for table in (
            "stores",
            "store_tags",
            "users",
            "memberships",
            "skus",
            "products",
            "orders",
            "order_lines",
            "analytics_events",
        ):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        print(f"  vacuumed in {time.perf_counter() - started:.0f} s", flush=True)
        layout = Layout(
            scale=scale,
            brand_id=world.brand_id,
            first_day=str(world.first_day),
            last_day=str(world.last_day),
            stores=stores,
            orders=order_count,
            order_lines=line_count,
            events=event_count,
            seed_seconds=0.0,
            seeded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return layout
    finally:
        await conn.close()


# --- reuse -----------------------------------------------------------------------------------


async def stored_layout(dsn: str) -> Layout | None:
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        text = await conn.fetchval("SELECT layout FROM bench_analytics_layout WHERE id = 1")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()
    return Layout(**json.loads(text)) if text else None


async def store_layout(dsn: str, layout: Layout) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_analytics_layout (id int PRIMARY KEY, layout text)"
        )
        await conn.execute(
            "INSERT INTO bench_analytics_layout VALUES (1, $1)"
            " ON CONFLICT (id) DO UPDATE SET layout = excluded.layout",
            json.dumps(asdict(layout)),
        )
    finally:
        await conn.close()


def prepare(
    scale: float, env: dict[str, str], args: argparse.Namespace, fresh: bool = False
) -> Layout:
    """The seeded database at `scale`: reused when a complete one is there, else made."""
    database = database_name(scale)
    dsn = f"postgres://postgres@{HOST}:5432/{database}"
    if not fresh:
        layout = asyncio.run(stored_layout(dsn))
        if layout is not None:
            print(
                f"database {database}: reusing {layout.stores:,} stores, {layout.orders:,}"
                f" orders, {layout.order_lines:,} lines, {layout.events:,} events"
                f" ({layout.first_day} … {layout.last_day}; seeded in"
                f" {layout.seed_seconds:.0f} s at {layout.seeded_at})"
            )
            return layout
    asyncio.run(drop_database(database))
    asyncio.run(create_database(database))
    started = time.perf_counter()
    print(f"database {database}: migrating and seeding demo data ...", flush=True)
    subprocess.run(b2bc_command("demo"), cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"seeding at scale {scale:g} ...", flush=True)
    layout = asyncio.run(seed(dsn, scale, args))
    layout.seed_seconds = round(time.perf_counter() - started, 1)
    asyncio.run(store_layout(dsn, layout))
    print(
        f"database {database} seeded in {layout.seed_seconds:.0f} s: {layout.stores:,} stores,"
        f" {layout.orders:,} orders, {layout.order_lines:,} order lines, {layout.events:,}"
        f" events ({layout.first_day} … {layout.last_day})"
    )
    return layout


async def table_sizes(dsn: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT c.relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size"
            " FROM pg_class c WHERE c.relname IN ('orders', 'order_lines', 'analytics_sales',"
            " 'analytics_order_facts', 'analytics_stores', 'analytics_store_sets')"
            " UNION ALL SELECT 'analytics_events', pg_size_pretty(sum(pg_total_relation_size("
            "i.inhrelid))) FROM pg_inherits i WHERE i.inhparent = 'analytics_events'::regclass"
        )
        return [(row["name"], row["size"]) for row in rows]
    finally:
        await conn.close()


def add_seed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=float, default=1.0, help="0.01: a quick small run")
    parser.add_argument("--stores", type=int, default=50_000, help="at scale 1")
    parser.add_argument("--lines", type=int, default=10_000_000, help="order lines at scale 1")
    parser.add_argument("--events", type=int, default=50_000_000, help="at scale 1")
    parser.add_argument("--fresh", action="store_true", help="seed again even if seeded")


def seed_env(scale: float, data_dir: Path, port: int = 8000) -> dict[str, str]:
    return server_env(
        database=database_name(scale), data_dir=data_dir, port=port, redis_url=REDIS_URL
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_seed_arguments(parser)
    parser.add_argument("--drop", action="store_true", help="drop the database and stop")
    args = parser.parse_args()
    if args.drop:
        asyncio.run(drop_database(database_name(args.scale)))
        print(f"dropped {database_name(args.scale)}")
        return 0
    with tempfile.TemporaryDirectory(prefix="b2bc-bench-analytics-") as tmp:
        env = seed_env(args.scale, Path(tmp) / "data")
        load_settings(env)
        layout = prepare(args.scale, env, args, fresh=args.fresh)
    dsn = f"postgres://postgres@{HOST}:5432/{database_name(args.scale)}"
    for name, size in asyncio.run(table_sizes(dsn)):
        print(f"  {name:24} {size}")
    print(f"seeding took {layout.seed_seconds:.0f} s (pid {os.getpid()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
