"""A 10,000-store import on real PostgreSQL: the dry run and the apply, beside a raw baseline.
Target: dry run + apply under 60 s.

One run, in process, on a throw-away database (migrated like production):

- the brand: 10 regions, 20 distributors, 200 salespeople (10 per distributor), and one
  existing store (its phone is not reused by the file);
- the file: --rows stores (default 10,000) as an XLSX written with XlsxWriter, every row
  valid: name, contact, a unique phone, address, region, distributor, a salesperson of that
  distributor (by name), a tier and two tags (so --rows × 2 tag rows);
- timed, each with time.perf_counter:
    read        sheets.read_table (python-calamine) alone
    dry run     imports.service.dry_run: read, fetch the brand's names, check every row
    apply       imports.service.apply: lock, read and check again, write stores and tags
    baseline    raw asyncpg in one transaction: COPY the same stores into a second brand,
                then COPY their tags (ids taken from the COPY's rows by phone); no checks
- the HTTP transport (multipart parsing of the file) is not in the timed region.

    PYTHONPATH=$PWD .venv/bin/python bench/import_stores.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import time
from datetime import UTC, datetime

import asyncpg
from auth_get import HOST, create_database, drop_database
from xlsxwriter import Workbook

from backend.identity.access import Principal
from backend.imports import checks, service, sheets
from backend.infra import db
from backend.org.models import Brand, Distributor, Region, Salesperson, Store, StoreTag

TIERS = "ABCD"
TAGS = ["社区店", "新店", "旗舰店", "夫妻店", "连锁", "学校周边", "商圈", "乡镇"]
TARGET_SECONDS = 60


def workbook(rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    book = Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("门店")
    sheet.write_row(0, 0, [c.header for c in checks.STORE_COLUMNS])
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)
    book.close()
    return buffer.getvalue()


async def seed_brand(name: str) -> tuple[int, list[str], list[tuple[str, list[str]]]]:
    """A brand with regions, distributors and their salespeople: (id, regions, [(distributor,
    [salesperson names])])."""
    brand = await Brand.create(name=name)
    regions = [f"区域{i}" for i in range(10)]
    await Region.bulk_create([Region(brand=brand, name=r) for r in regions])
    staffed = []
    for d in range(20):
        distributor = await Distributor.create(brand=brand, name=f"经销商{d:02d}")
        people = [f"业务员{d:02d}-{p}" for p in range(10)]
        await Salesperson.bulk_create(
            [
                Salesperson(
                    brand=brand, distributor=distributor, name=n, phone=f"139{d:02d}{p:06d}"
                )
                for p, n in enumerate(people)
            ]
        )
        staffed.append((distributor.name, people))
    await Store.create(
        brand=brand,
        name="已有门店",
        phone="13700000000",
        address="文一西路 1 号",
        distributor_id=(await Distributor.get(brand=brand, name="经销商00")).id,
    )
    return brand.id, regions, staffed


def store_rows(
    count: int, regions: list[str], staffed: list[tuple[str, list[str]]], rng: random.Random
) -> list[list[object]]:
    rows: list[list[object]] = []
    for i in range(count):
        distributor, people = staffed[i % len(staffed)]
        rows.append(
            [
                f"测试门店{i:05d}",
                f"联系人{i % 500}",
                f"138{i:08d}",
                f"杭州市西湖区文一西路 {i} 号",
                rng.choice(regions),
                distributor,
                rng.choice(people),
                rng.choice(TIERS),
                "、".join(rng.sample(TAGS, 2)),
            ]
        )
    return rows


async def baseline(dsn: str, brand_id: int, rows: list[list[object]]) -> float:
    """The same stores and tags written by raw asyncpg COPY, names already resolved."""
    conn = await asyncpg.connect(dsn)
    try:
        distributors = dict(
            await conn.fetch("SELECT name, id FROM distributors WHERE brand_id = $1", brand_id)
        )
        regions = dict(
            await conn.fetch("SELECT name, id FROM regions WHERE brand_id = $1", brand_id)
        )
        people = {
            (r["distributor_id"], r["name"]): r["id"]
            for r in await conn.fetch(
                "SELECT id, name, distributor_id FROM salespeople WHERE brand_id = $1", brand_id
            )
        }
        now = datetime.now(UTC)
        started = time.perf_counter()
        async with conn.transaction():
            records = []
            for name, contact, phone, address, region, distributor, person, tier, _ in rows:
                distributor_id = distributors[distributor]
                records.append(
                    (
                        brand_id,
                        name,
                        contact,
                        phone,
                        address,
                        regions[region],
                        distributor_id,
                        people[(distributor_id, person)],
                        tier,
                        "active",
                        now,
                    )
                )
            await conn.copy_records_to_table(
                "stores",
                records=records,
                columns=[
                    "brand_id",
                    "name",
                    "contact_name",
                    "phone",
                    "address",
                    "region_id",
                    "distributor_id",
                    "salesperson_id",
                    "tier",
                    "status",
                    "created_at",
                ],
            )
            ids = dict(
                await conn.fetch("SELECT phone, id FROM stores WHERE brand_id = $1", brand_id)
            )
            tags = [(ids[row[2]], tag) for row in rows for tag in str(row[8]).split("、") if tag]
            await conn.copy_records_to_table(
                "store_tags", records=tags, columns=["store_id", "tag"]
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    database = f"b2bc_bench_import_{os.getpid()}"
    dsn = f"postgres://postgres@{HOST}:5432/{database}"
    await create_database(database)
    try:
        await db.migrate(dsn)
        await db.init_db(dsn)
        brand_id, regions, staffed = await seed_brand("导入品牌")
        baseline_brand, _, _ = await seed_brand("基准品牌")
        rows = store_rows(args.rows, regions, staffed, random.Random(args.seed))
        data = workbook(rows)
        principal = Principal(user_id=0, session_id="bench", role="brand_admin", brand_id=brand_id)

        started = time.perf_counter()
        table = sheets.read_table(data, max_rows=checks.MAX_ROWS)
        read_seconds = time.perf_counter() - started
        assert len(table.rows) == args.rows

        started = time.perf_counter()
        report = await service.dry_run(principal, service.Kind.STORES, data)
        dry_seconds = time.perf_counter() - started
        assert report["ok"], report["problems"][:5]

        started = time.perf_counter()
        applied = await service.apply(principal, service.Kind.STORES, data)
        apply_seconds = time.perf_counter() - started
        assert applied["created"] == {"stores": args.rows}
        assert await Store.filter(brand_id=brand_id).count() == args.rows + 1
        assert await StoreTag.filter(store__brand_id=brand_id).count() == args.rows * 2
        await db.close_db()

        baseline_seconds = await baseline(dsn, baseline_brand, rows)
        total = dry_seconds + apply_seconds
        print(f"file: {args.rows:,} stores, XLSX {len(data) / 1024:,.0f} KiB")
        print(f"read (calamine)        {read_seconds:7.2f} s")
        print(f"dry run                {dry_seconds:7.2f} s")
        print(f"apply                  {apply_seconds:7.2f} s")
        print(f"dry run + apply        {total:7.2f} s   target < {TARGET_SECONDS} s")
        print(f"baseline (asyncpg COPY) {baseline_seconds:6.2f} s   writes only, no checks")
        print(f"apply / baseline       {apply_seconds / baseline_seconds:7.1f}×")
    finally:
        await db.close_db()
        await drop_database(database)


if __name__ == "__main__":
    asyncio.run(main())
