"""A million product codes (一物一码) generated and written, then exported as CSV, on real
PostgreSQL. Targets: generation under 60 s; the export near the speed of the disk.

One run, on a throw-away database (migrated like production):

- the brand and one SKU, made through the services;
- generate   a batch of --boxes boxes × --items items per box (default 50,000 × 19 =
             1,000,000 codes) made by batches.create_batch and written by its job's own
             code (jobs.run_pending → the `codes.generate` task: chunks of COPY, each with
             its progress counter, in its own transaction); timed from the create to ready;
- copy       a baseline for the writing: the same number of rows of the same shape COPYed
             into product_codes by raw asyncpg in one statement (another batch), no chunks,
             no progress, no box ids read back (so no foreign-key check of items' box_id);
- export     batches.csv_chunks (the export endpoint's generator: COPY (SELECT ...) TO
             STDOUT a range of serials at a time) written to a file and fsynced, in process;
- http       the same CSV through the API (`b2bc serve`, one worker, embedded mode on this
             PostgreSQL), streamed by a client to a file and fsynced (--no-http skips it);
- disk       the baseline for both: the same bytes written to a new file in 1 MiB blocks and
             fsynced (what `dd bs=1M conv=fsync` does), in the same run.

    PYTHONPATH=$PWD .venv/bin/python bench/code_generation.py [--boxes 50000 --items 19]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import httpx
from bench_common import (
    HOST,
    b2bc_command,
    cpu_delta,
    create_database,
    drop_database,
    free_port,
    postgres_cpu_seconds,
    server_env,
    start_server,
    stop_server,
    wait_ready,
)

from backend.catalog import service as catalog_service
from backend.codes import batches, generate
from backend.codes.models import CodeBatch, ProductCode
from backend.codes.tokens import new_tokens
from backend.config import load_settings
from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.identity.tokens import Principal
from backend.infra import db, jobs
from backend.org import service as org_service
from backend.worker import TASKS

TARGET_SECONDS = 60
REDIS_URL = f"redis://{HOST}:6379/7"
USERNAME, PASSWORD = "bench_codes", "bench-codes-password"
BLOCK = 1024 * 1024


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def seed() -> tuple[Principal, int]:
    """A brand with one SKU and a brand admin who can sign in: (acting principal, sku id)."""
    brand = await org_service.create_brand("赋码品牌")
    acting = Principal(user_id=0, session_id="bench", role="brand_admin", brand_id=brand.id)
    category = await catalog_service.create_category(acting, name="饮料", parent_id=None, sort=0)
    product = await catalog_service.create_product(
        acting,
        name="澜泉 矿泉水",
        category_id=category["id"],
        description="",
        images=[],
        skus=[
            {
                "name": "550ml×24",
                "spec": "550ml×24瓶",
                "unit": "箱",
                "barcode": None,
                "list_price_fen": 4_800,
                "case_size": 1,
                "min_order_qty": 1,
            }
        ],
    )
    user = await identity_service.create_staff_user(USERNAME, PASSWORD, "赋码管理员")
    await identity_service.grant_membership(user.id, Role.BRAND_ADMIN, brand.id)
    return acting, int(product["skus"][0]["id"])


async def generate_batch(
    acting: Principal, sku_id: int, boxes: int, items: int
) -> tuple[int, float]:
    """The batch made and written through the job: (batch id, seconds from create to ready)."""
    started = time.perf_counter()
    new = batches.NewBatch(
        sku_id=sku_id,
        batch_no="BENCH-1",
        produced_on=None,
        boxes=boxes,
        items_per_box=items,
        open_reward=None,
    )
    made = await batches.create_batch(acting, new, now=datetime.now(UTC))
    ran = await jobs.run_pending(SimpleNamespace(clock=_Clock()), TASKS)
    seconds = time.perf_counter() - started
    batch = await CodeBatch.get(id=made["id"])
    assert ran == 1 and batch.status == "ready", (ran, batch.status, batch.error)
    return batch.id, seconds


async def copy_baseline(
    dsn: str, database: str, acting: Principal, sku_id: int, boxes: int, items: int
) -> tuple[float, float]:
    """The same rows COPYed by raw asyncpg in one statement into another batch: the floor the
    job's chunks, progress and box-id reads stand on. (Seconds, its backend's CPU seconds.)"""
    baseline = await CodeBatch.create(
        brand_id=acting.brand_id,
        sku_id=sku_id,
        batch_no="BASELINE-1",
        boxes=boxes,
        items_per_box=items,
        status="failed",  # never scanned or listed as ready
        created_at=datetime.now(UTC),
    )
    conn = await asyncpg.connect(dsn)
    try:
        pg = postgres_cpu_seconds(database)
        started = time.perf_counter()
        tokens = new_tokens(boxes * (items + 1))
        brand, batch = acting.brand_id, baseline.id
        rows = [(brand, batch, "box", tokens[n], n + 1, None, 0) for n in range(boxes)]
        rows += [
            (brand, batch, "item", tokens[boxes + n], n + 1, None, 0) for n in range(boxes * items)
        ]
        async with conn.transaction():
            await conn.copy_records_to_table(
                "product_codes",
                records=rows,
                columns=("brand_id", "batch_id", "kind", "token", "serial", "box_id", "checks"),
            )
        seconds = time.perf_counter() - started
        return seconds, cpu_delta(pg, postgres_cpu_seconds(database))  # before its backend exits
    finally:
        await conn.close()


def _fsync_close(handle: object) -> None:
    handle.flush()  # type: ignore[attr-defined]
    os.fsync(handle.fileno())  # type: ignore[attr-defined]
    handle.close()  # type: ignore[attr-defined]


async def export_in_process(acting: Principal, batch_id: int, base_url: str, path: Path) -> float:
    started = time.perf_counter()
    export = await batches.export_of(acting, batch_id)
    handle = path.open("wb")
    async for chunk in batches.csv_chunks(export, base_url):
        handle.write(chunk)
    _fsync_close(handle)
    return time.perf_counter() - started


def disk_baseline(data: bytes, path: Path) -> float:
    """The bytes written in 1 MiB blocks to a new file and fsynced: dd bs=1M conv=fsync."""
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        for start in range(0, len(view), BLOCK):
            os.write(fd, view[start : start + BLOCK])
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def export_over_http(port: int, batch_id: int, path: Path) -> float:
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=600) as client:
        login = client.post(
            "/api/v1/auth/staff/login", json={"username": USERNAME, "password": PASSWORD}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        started = time.perf_counter()
        handle = path.open("wb")
        with client.stream(
            "GET", f"/api/v1/codes/batches/{batch_id}/codes.csv", headers=headers
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(BLOCK):
                handle.write(chunk)
        _fsync_close(handle)
        return time.perf_counter() - started


def rate(size: int, seconds: float) -> str:
    return f"{size / seconds / 1e6:8.1f} MB/s"


async def run(args: argparse.Namespace, tmp: Path, database: str) -> None:
    dsn = f"postgres://postgres@{HOST}:5432/{database}"
    await db.migrate(dsn)
    await db.init_db(dsn)
    total = args.boxes * (args.items + 1)
    acting, sku_id = await seed()
    print(f"batch: {args.boxes:,} boxes × {args.items} items = {total:,} codes", flush=True)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cpu, pg = time.process_time(), postgres_cpu_seconds(database)
    batch_id, generate_seconds = await generate_batch(acting, sku_id, args.boxes, args.items)
    generate_cpu = time.process_time() - cpu
    generate_pg = cpu_delta(pg, postgres_cpu_seconds(database))
    written = await ProductCode.filter(batch_id=batch_id).count()
    assert written == total, written
    print(
        f"generate (create → ready)  {generate_seconds:7.2f} s   {total / generate_seconds:,.0f}"
        f" codes/s   target < {TARGET_SECONDS} s ({generate.CHUNK_CODES:,} codes a chunk)",
        flush=True,
    )
    cpu = time.process_time()
    copy_seconds, copy_pg = await copy_baseline(
        dsn, database, acting, sku_id, args.boxes, args.items
    )
    copy_cpu = time.process_time() - cpu
    print(
        f"baseline (one raw COPY)    {copy_seconds:7.2f} s   {total / copy_seconds:,.0f} codes/s"
        f"   generate / baseline {generate_seconds / copy_seconds:.2f}×",
        flush=True,
    )
    # On a loaded machine the wall time is mostly waiting for a CPU; what the work itself
    # costs is the CPU time of this process and of the database's backends.
    print(
        f"CPU: generate {generate_cpu:.1f} s here + {generate_pg:.1f} s PostgreSQL;"
        f" baseline {copy_cpu:.1f} s here + {copy_pg:.1f} s PostgreSQL"
        f"   (load average now {os.getloadavg()[0]:.1f})",
        flush=True,
    )

    exported = tmp / "export.csv"
    port = free_port()  # the server's, whose public URL the codes' links carry
    base_url = f"http://{HOST}:{port}"
    export_seconds = await export_in_process(acting, batch_id, base_url, exported)
    data = exported.read_bytes()
    lines = data.count(b"\n")
    assert lines == total + 1, lines
    disk_seconds = disk_baseline(data, tmp / "dd.csv")
    await db.close_db()

    http_seconds = None
    if args.http:
        env = server_env(database=database, data_dir=tmp / "data", port=port, redis_url=REDIS_URL)
        load_settings(env)  # writes the secrets the server reads
        log = tmp / "api.log"
        server = start_server(b2bc_command("serve", "--workers", "1"), env, log)
        try:
            wait_ready(f"http://{HOST}:{port}/healthz", server, log)
            http_seconds = export_over_http(port, batch_id, tmp / "http.csv")
        finally:
            stop_server(server)
        assert (tmp / "http.csv").read_bytes() == data

    size = len(data)
    print(f"CSV: {size / 1e6:,.1f} MB, {lines:,} lines (header + one per code)")
    print(f"export (in process)        {export_seconds:7.2f} s {rate(size, export_seconds)}")
    if http_seconds is not None:
        print(f"export (HTTP, 1 worker)    {http_seconds:7.2f} s {rate(size, http_seconds)}")
    print(f"disk baseline (dd-like)    {disk_seconds:7.2f} s {rate(size, disk_seconds)}")
    print(f"export / disk              {export_seconds / disk_seconds:7.1f}×")
    if http_seconds is not None:
        print(f"export over HTTP / disk    {http_seconds / disk_seconds:7.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=19)
    parser.add_argument("--no-http", dest="http", action="store_false")
    args = parser.parse_args()
    database = f"b2bc_bench_codes_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="b2bc-bench-codes-"))
    asyncio.run(create_database(database))
    try:
        asyncio.run(run(args, tmp, database))
    finally:
        asyncio.run(drop_database(database))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
