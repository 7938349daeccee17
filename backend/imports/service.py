"""Imports of stores, products and price lists from a spreadsheet: a dry run (预检) that lists
every problem and writes nothing, and an apply that checks again and writes all or nothing.

Applying runs in one transaction under the brand's row lock, and checks the file again inside
it: two imports of one brand never interleave, so a re-upload of a file already applied finds
its stores' phones and its SKUs' barcodes taken and is refused as a whole (nothing is created
twice), and a price list sets the same prices again (an entry is keyed by SKU, distributor,
tier and minimum quantity: existing ones get the file's price, none is added twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from enum import StrEnum
from functools import partial
from typing import Any

from backend.catalog import service as catalog_service
from backend.identity.access import Principal
from backend.imports import checks, sheets
from backend.imports.checks import Problem
from backend.infra import sql
from backend.kernel.errors import InvalidInput
from backend.org import service as org_service

SAMPLE_SIZE = 50  # the created rows an answer shows; the counts say how many in all


class Kind(StrEnum):
    STORES = "stores"
    PRODUCTS = "products"
    PRICES = "prices"


KIND_NAMES = {Kind.STORES: "门店", Kind.PRODUCTS: "商品", Kind.PRICES: "价格表"}
COLUMNS: dict[Kind, tuple[checks.Column, ...]] = {
    Kind.STORES: checks.STORE_COLUMNS,
    Kind.PRODUCTS: checks.PRODUCT_COLUMNS,
    Kind.PRICES: checks.PRICE_COLUMNS,
}
GUIDE = (
    "请在第一个工作表中按列填写，每行一条；带 * 的列必填。第一行是列名，请勿修改。",
    f"一次最多导入 {checks.MAX_ROWS:,} 行。先上传预检，全部无误后再确认导入；"
    "有任何一行有问题，整个文件都不会导入。",
)


class ImportRefused(InvalidInput):
    code = "import.has_problems"
    message = "文件中有问题，未导入任何数据；请先修正后重新上传"


class NoFile(InvalidInput):
    code = "import.no_file"
    message = "请以 multipart 字段 file 上传 Excel 或 CSV 文件"


def template(kind: Kind) -> tuple[str, bytes]:
    """The file name and bytes of the kind's XLSX template."""
    columns = [column.template() for column in COLUMNS[kind]]
    name = KIND_NAMES[kind]
    return f"{name}导入模板.xlsx", sheets.template_xlsx(name, columns, GUIDE)


# ---- checking -----------------------------------------------------------------------------------


async def _store_reference(brand_id: int) -> checks.StoreReference:
    salespeople = await org_service.active_salespeople(brand_id)
    return checks.StoreReference(
        regions=await org_service.region_ids_by_name(brand_id),
        distributors=await org_service.distributor_ids_by_name(brand_id),
        salespeople=[checks.SalespersonRef(**person) for person in salespeople],
        taken_phones=frozenset(await org_service.store_phones(brand_id)),
    )


async def _product_reference(brand_id: int) -> checks.ProductReference:
    categories = await catalog_service.list_categories(brand_id)
    products = await catalog_service.products_by_name(brand_id)
    return checks.ProductReference(
        categories=[checks.CategoryRef(c["id"], c["name"], c["parent_id"]) for c in categories],
        products={
            name: [checks.ProductRef(product_id, category) for product_id, category in found]
            for name, found in products.items()
        },
        taken_barcodes=frozenset(await catalog_service.sku_ids_by_barcode(brand_id)),
    )


async def _price_reference(brand_id: int) -> checks.PriceReference:
    return checks.PriceReference(
        skus=await catalog_service.sku_ids_by_barcode(brand_id),
        distributors=await org_service.distributor_ids_by_name(brand_id),
        entries=await catalog_service.price_entry_ids(brand_id),
    )


async def _checked(kind: Kind, brand_id: int, data: bytes) -> tuple[int, list[Any], list[Problem]]:
    """(data rows read, rows ready to write, problems): rows only when there are no problems."""
    # Reading and checking 10,000 rows is CPU for about a second: off the event loop, so the
    # process keeps answering other requests meanwhile.
    try:
        table = await asyncio.to_thread(sheets.read_table, data, max_rows=checks.MAX_ROWS)
    except sheets.Unreadable as unreadable:
        return 0, [], [Problem(None, None, str(unreadable))]
    check: Callable[[sheets.Table], tuple[Sequence[Any], list[Problem]]]
    if kind is Kind.STORES:
        check = partial(checks.check_stores, ref=await _store_reference(brand_id))
    elif kind is Kind.PRODUCTS:
        check = partial(checks.check_products, ref=await _product_reference(brand_id))
    else:
        check = partial(checks.check_prices, ref=await _price_reference(brand_id))
    checked: tuple[Sequence[Any], list[Problem]] = await asyncio.to_thread(check, table)
    rows, problems = checked
    return len(table.rows), list(rows), problems


def _brand(principal: Principal) -> int:
    assert principal.brand_id is not None  # brand staff only reach here
    return principal.brand_id


def _report(kind: Kind, total: int, problems: list[Problem]) -> dict[str, Any]:
    whole_file = any(p.row in (None, 1) for p in problems)  # unreadable, or not the template
    bad_rows = {p.row for p in problems if p.row is not None and p.row > 1}
    return {
        "kind": kind.value,
        "rows": total,
        "problem_rows": len(bad_rows),
        "valid_rows": 0 if whole_file else total - len(bad_rows),
        "problems": [p.view() for p in problems],
        "ok": not problems,
    }


async def dry_run(principal: Principal, kind: Kind, data: bytes) -> dict[str, Any]:
    """Read and check the whole file; write nothing. Every problem, row by row."""
    total, _, problems = await _checked(kind, _brand(principal), data)
    return _report(kind, total, problems)


# ---- applying -----------------------------------------------------------------------------------


async def _write_stores(brand_id: int, rows: list[checks.StoreRow]) -> dict[str, Any]:
    shown = ("row", "distributor")  # what the file said, not what the store holds
    stores = [{k: v for k, v in asdict(row).items() if k not in shown} for row in rows]
    created = await org_service.create_stores(brand_id, stores)
    sample = [
        {
            "row": r.row,
            "name": r.name,
            "phone": r.phone,
            "distributor": r.distributor,
            "tier": r.tier,
            "tags": list(r.tags),
        }
        for r in rows[:SAMPLE_SIZE]
    ]
    return {"created": {"stores": created}, "sample": sample}


async def _write_products(brand_id: int, rows: list[checks.ProductRow]) -> dict[str, Any]:
    products = [
        {
            "name": p.name,
            "category_id": p.category_id,
            "id": p.id,
            "skus": [{k: v for k, v in asdict(s).items() if k != "row"} for s in p.skus],
        }
        for p in rows
    ]
    new_products, skus = await catalog_service.create_products(brand_id, products)
    sample = [
        {
            "row": s.row,
            "product": p.name,
            "name": s.name,
            "barcode": s.barcode,
            "list_price_fen": s.list_price_fen,
            "new_product": p.id is None,
        }
        for p in rows
        for s in p.skus
    ][:SAMPLE_SIZE]
    return {"created": {"products": new_products, "skus": skus}, "sample": sample}


async def _write_prices(brand_id: int, rows: list[checks.PriceRow]) -> dict[str, Any]:
    new = [
        {
            "sku_id": r.sku_id,
            "distributor_id": r.distributor_id,
            "store_tier": r.store_tier,
            "min_qty": r.min_qty,
            "unit_price_fen": r.unit_price_fen,
        }
        for r in rows
        if r.existing_id is None
    ]
    changed = [(r.existing_id, r.unit_price_fen) for r in rows if r.existing_id is not None]
    await catalog_service.set_price_entries(brand_id, new, changed)
    sample = [
        {
            "row": r.row,
            "barcode": r.barcode,
            "distributor": r.distributor,
            "store_tier": r.store_tier,
            "min_qty": r.min_qty,
            "unit_price_fen": r.unit_price_fen,
            "updated": r.existing_id is not None,
        }
        for r in rows[:SAMPLE_SIZE]
    ]
    return {"created": {"price_entries": len(new), "updated": len(changed)}, "sample": sample}


WRITERS: dict[Kind, Callable[[int, Any], Awaitable[dict[str, Any]]]] = {
    Kind.STORES: _write_stores,
    Kind.PRODUCTS: _write_products,
    Kind.PRICES: _write_prices,
}


async def apply(principal: Principal, kind: Kind, data: bytes) -> dict[str, Any]:
    """Check the file again and write every row in one transaction, or nothing (422 with
    every problem) when any row has one."""
    brand_id = _brand(principal)
    async with sql.transaction():
        await org_service.lock_brand(brand_id)
        total, rows, problems = await _checked(kind, brand_id, data)
        if problems:
            raise ImportRefused(details=_report(kind, total, problems)["problems"])
        written = await WRITERS[kind](brand_id, rows)
    return {"kind": kind.value, "rows": total, **written}


class SheetUnreadable(InvalidInput):
    status = 400
    code = "imports.unreadable"
    message = sheets.UNREADABLE


async def read_sheet(data: bytes, *, max_rows: int) -> sheets.Table:
    """The first sheet of an uploaded XLSX or CSV (for other domains' small uploads: header
    and numbered rows), read off the event loop; SheetUnreadable when it is not one."""
    try:
        return await asyncio.to_thread(sheets.read_table, data, max_rows=max_rows)
    except sheets.Unreadable as unreadable:
        raise SheetUnreadable(str(unreadable)) from unreadable


def cell_text(cell: Any) -> str | None:
    """A cell as typed text (None for a blank); TypeError for a date or boolean."""
    return sheets.cell_text(cell)
