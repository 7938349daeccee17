"""The catalog: categories, products and SKUs, distributors' stock, price entries, quotes.

Stock changes only through guarded relative updates (`stock >= n`), so concurrent orders
can never take more than there is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.catalog.models import (
    BARCODE_MAX_LENGTH,
    Category,
    DistributorSku,
    PriceEntry,
    Product,
    Sku,
    StockAdjustment,
    StockReason,
)
from backend.catalog.pricing import (
    PriceTier,
    Quote,
    QuotedLine,
    RequestedLine,
    SkuOffer,
    quote_lines,
)
from backend.identity import service as identity_service
from backend.identity.access import DISTRIBUTOR_ROLES, Principal
from backend.infra import sql
from backend.kernel.errors import Conflict, InvalidInput, NotFound

__all__ = ["Quote", "QuotedLine", "RequestedLine", "StockReason"]


class CategoryNotFound(NotFound):
    code = "catalog.category_not_found"
    message = "找不到该分类"


class ProductNotFound(NotFound):
    code = "catalog.product_not_found"
    message = "找不到该商品"


class SkuNotFound(NotFound):
    code = "catalog.sku_not_found"
    message = "找不到该规格"


class BarcodeTaken(Conflict):
    code = "catalog.barcode_taken"
    message = "该条码已被其他商品使用"


class StockWouldGoNegative(Conflict):
    code = "catalog.stock_negative"
    message = "库存不足，无法扣减"


class CaseSizeMismatch(InvalidInput):
    code = "catalog.moq_not_case_multiple"
    message = "起订量必须是箱规的整数倍"


class CategoryCycle(Conflict):
    code = "catalog.category_cycle"
    message = "不能把分类移到它自己或它的子分类下面"


class CategoryTooDeep(Conflict):
    code = "catalog.category_too_deep"
    message = "分类最多两级：子分类下不能再建分类"


class CategoryNotEmpty(Conflict):
    code = "catalog.category_not_empty"
    message = "该分类下还有子分类或商品，不能删除"


class PriceTiersInvalid(InvalidInput):
    code = "catalog.price_tiers_invalid"
    message = "阶梯价有误"


class PriceEntryDuplicate(Conflict):
    code = "catalog.price_entry_duplicate"
    message = "该经销商、门店等级与起订数量的价格已存在"


# ---- views ---------------------------------------------------------------------------------


def category_view(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "name": category.name,
        "parent_id": category.parent_id,  # type: ignore[attr-defined]
        "sort": category.sort,
    }


# What sku_view shows of a SKU, by column: sku_card reads the same with fixed SQL.
SKU_VIEW_COLUMNS = (
    "id",
    "product_id",
    "name",
    "spec",
    "unit",
    "barcode",
    "list_price_fen",
    "case_size",
    "min_order_qty",
    "is_active",
)


def sku_view(sku: Sku) -> dict[str, Any]:
    return {column: getattr(sku, column) for column in SKU_VIEW_COLUMNS}


def product_view(product: Product, skus: Sequence[Sku]) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "category_id": product.category_id,  # type: ignore[attr-defined]
        "description": product.description,
        "images": product.images,
        "is_active": product.is_active,
        "skus": [sku_view(sku) for sku in skus],
    }


def quoted_line_view(line: QuotedLine) -> dict[str, Any]:
    return {
        "sku_id": line.sku_id,
        "product_name": line.product_name,
        "sku_name": line.sku_name,
        "product_id": line.product_id,
        "unit": line.unit,
        "case_size": line.case_size,
        "min_order_qty": line.min_order_qty,
        "quantity": line.quantity,
        "list_unit_price_fen": line.list_unit_price_fen,
        "unit_price_fen": line.unit_price_fen,
        "price_source": line.price_source,
        "list_amount_fen": line.list_amount_fen,
        "discount_fen": line.discount_fen,
        "payable_fen": line.payable_fen,
        "available_stock": line.available_stock,
        "orderable": line.orderable,
        "problems": [{"code": p.code, "message": p.message} for p in line.problems],
    }


def quote_view(quote: Quote) -> dict[str, Any]:
    return {
        "lines": [quoted_line_view(line) for line in quote.lines],
        "list_amount_fen": quote.list_amount_fen,
        "discount_fen": quote.discount_fen,
        "payable_fen": quote.payable_fen,
        "orderable": quote.orderable,
        "rounding": quote.rounding,
        "problems": [{"code": p.code, "message": p.message} for p in quote.problems],
    }


# ---- administration (brand) -----------------------------------------------------------------


async def _brand_category(brand_id: int | None, category_id: int) -> Category:
    category = await Category.get_or_none(id=category_id, brand_id=brand_id)
    if category is None:
        raise CategoryNotFound()
    return category


async def _check_parent(brand_id: int | None, parent_id: int, moving: Category | None) -> None:
    """The tree has two levels (store filters take a category with its children): a parent is
    a top-level category, and a category with children stays at the top. A category never
    goes under itself or its own child."""
    parent = await _brand_category(brand_id, parent_id)
    if moving is not None and moving.id in (parent.id, parent.parent_id):  # type: ignore[attr-defined]
        raise CategoryCycle()
    if parent.parent_id is not None:  # type: ignore[attr-defined]
        raise CategoryTooDeep()
    if moving is not None and await Category.exists(parent_id=moving.id):
        raise CategoryTooDeep("该分类下有子分类，不能再移到其他分类下面")


async def create_category(
    principal: Principal, *, name: str, parent_id: int | None, sort: int
) -> dict[str, Any]:
    if parent_id is not None:
        await _check_parent(principal.brand_id, parent_id, None)
    category = await Category.create(
        brand_id=principal.brand_id, name=name, parent_id=parent_id, sort=sort
    )
    return category_view(category)


async def update_category(
    principal: Principal, category_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Rename, re-sort or move a category (`parent_id` None: to the top level)."""
    category = await _brand_category(principal.brand_id, category_id)
    if changes.get("parent_id") is not None:
        await _check_parent(principal.brand_id, changes["parent_id"], category)
    if changes:
        await Category.filter(id=category.id).update(**changes)
    return category_view(await Category.get(id=category.id))


async def delete_category(principal: Principal, category_id: int) -> None:
    """Only an empty category goes: products and child categories would lose their place."""
    category = await _brand_category(principal.brand_id, category_id)
    children = await Category.filter(parent_id=category.id).count()
    if children:
        raise CategoryNotEmpty(f"该分类下还有 {children} 个子分类，请先移走或删除它们")
    products = await Product.filter(category_id=category.id).count()
    if products:
        raise CategoryNotEmpty(f"该分类下还有 {products} 个商品，请先把商品移到其他分类")
    # A product or child added since the counts: the RESTRICT foreign keys refuse the delete.
    try:
        await Category.filter(id=category.id).delete()
    except IntegrityError as exc:
        raise CategoryNotEmpty() from exc


async def category_with_children(brand_id: int, category_id: int) -> list[int]:
    """The category and its child categories (the tree has two levels)."""
    child_ids = await Category.filter(brand_id=brand_id, parent_id=category_id).values_list(
        "id", flat=True
    )
    return [category_id, *child_ids]  # type: ignore[list-item]


async def list_categories(brand_id: int | None) -> list[dict[str, Any]]:
    """The whole tree, flat and ordered; each item names its parent."""
    categories = await Category.filter(brand_id=brand_id).order_by("sort", "id")
    return [category_view(c) for c in categories]


def _check_case(case_size: int, min_order_qty: int) -> None:
    if min_order_qty % case_size:
        raise CaseSizeMismatch()


async def create_product(
    principal: Principal, *, skus: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    await _brand_category(principal.brand_id, fields["category_id"])
    for sku in skus:
        _check_case(sku["case_size"], sku["min_order_qty"])
    try:
        async with in_transaction():
            product = await Product.create(brand_id=principal.brand_id, **fields)
            created = [
                await Sku.create(brand_id=principal.brand_id, product=product, **sku)
                for sku in skus
            ]
    except IntegrityError as exc:
        raise BarcodeTaken() from exc
    return product_view(product, created)


async def add_sku(principal: Principal, product_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    product = await _brand_product(principal.brand_id, product_id)
    _check_case(fields["case_size"], fields["min_order_qty"])
    try:
        sku = await Sku.create(brand_id=principal.brand_id, product=product, **fields)
    except IntegrityError as exc:
        raise BarcodeTaken() from exc
    return sku_view(sku)


async def update_sku(principal: Principal, sku_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    sku = await _brand_sku(principal.brand_id, sku_id)
    _check_case(
        changes.get("case_size", sku.case_size), changes.get("min_order_qty", sku.min_order_qty)
    )
    try:
        await Sku.filter(id=sku.id).update(**changes)
    except IntegrityError as exc:
        raise BarcodeTaken() from exc
    return sku_view(await Sku.get(id=sku.id))


async def get_sku(brand_id: int | None, sku_id: int) -> dict[str, Any]:
    sku = await _brand_sku(brand_id, sku_id)
    product = await Product.get(id=sku.product_id)  # type: ignore[attr-defined]
    return {**sku_view(sku), "product_name": product.name, "product_is_active": product.is_active}


async def _brand_product(brand_id: int | None, product_id: int) -> Product:
    product = await Product.get_or_none(id=product_id, brand_id=brand_id)
    if product is None:
        raise ProductNotFound()
    return product


async def update_product(
    principal: Principal, product_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Name, category, description, images (in their order) and on/off sale."""
    product = await _brand_product(principal.brand_id, product_id)
    if "category_id" in changes:
        await _brand_category(principal.brand_id, changes["category_id"])
    if changes:
        await Product.filter(id=product.id).update(**changes)
    return await get_product(principal.brand_id, product.id)


def _may_be_barcode(text: str) -> bool:
    """Whether a search text could be a barcode: the ORM refuses (with an error, not an empty
    answer) to compare a column with a value longer than the column."""
    return len(text) <= BARCODE_MAX_LENGTH


async def list_products(
    brand_id: int,
    *,
    text: str | None,
    category_id: int | None,
    active: bool | None,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The brand's products by id (limit + 1 rows), each with its category's name, its SKUs'
    count and list price range. `text` matches the product's name or a SKU's barcode."""
    query = Product.filter(brand_id=brand_id)
    if text:
        by_barcode = (
            await Sku.filter(brand_id=brand_id, barcode=text).values_list("product_id", flat=True)
            if _may_be_barcode(text)
            else []
        )
        query = query.filter(Q(name__icontains=text) | Q(id__in=list(by_barcode)))
    if category_id is not None:
        query = query.filter(category_id__in=await category_with_children(brand_id, category_id))
    if active is not None:
        query = query.filter(is_active=active)
    if after is not None:
        query = query.filter(id__gt=after)
    products = await query.order_by("id").limit(limit + 1)
    ids = [product.id for product in products]
    skus: dict[int, list[Sku]] = {product_id: [] for product_id in ids}
    for sku in await Sku.filter(product_id__in=ids).order_by("id"):
        skus[sku.product_id].append(sku)  # type: ignore[attr-defined]
    names = await category_names(brand_id, (p.category_id for p in products))  # type: ignore[attr-defined]
    items = []
    for product in products:
        prices = [sku.list_price_fen for sku in skus[product.id]]
        items.append(
            {
                **product_view(product, ()),
                "category_name": names.get(product.category_id, ""),  # type: ignore[attr-defined]
                "sku_count": len(prices),
                "active_sku_count": sum(sku.is_active for sku in skus[product.id]),
                "min_list_price_fen": min(prices, default=None),
                "max_list_price_fen": max(prices, default=None),
                "barcodes": [sku.barcode for sku in skus[product.id] if sku.barcode],
            }
        )
    return items


async def _brand_sku(brand_id: int | None, sku_id: int) -> Sku:
    sku = await Sku.get_or_none(id=sku_id, brand_id=brand_id)
    if sku is None:
        raise SkuNotFound()
    return sku


async def add_price_entry(
    principal: Principal,
    *,
    sku_id: int,
    distributor_id: int | None,
    store_tier: str | None,
    min_qty: int,
    unit_price_fen: int,
) -> dict[str, Any]:
    check_ladder([LadderStep(min_qty, unit_price_fen)])
    await _brand_sku(principal.brand_id, sku_id)
    if await PriceEntry.exists(
        brand_id=principal.brand_id,
        sku_id=sku_id,
        distributor_id=distributor_id,
        store_tier=store_tier,
        min_qty=min_qty,
    ):
        raise PriceEntryDuplicate()
    entry = await PriceEntry.create(
        brand_id=principal.brand_id,
        sku_id=sku_id,
        distributor_id=distributor_id,
        store_tier=store_tier,
        min_qty=min_qty,
        unit_price_fen=unit_price_fen,
    )
    return {
        "id": entry.id,
        "sku_id": sku_id,
        "distributor_id": distributor_id,
        "store_tier": store_tier,
        "min_qty": min_qty,
        "unit_price_fen": unit_price_fen,
    }


async def list_price_entries(brand_id: int | None, sku_id: int) -> list[dict[str, Any]]:
    rows = (
        await PriceEntry.filter(brand_id=brand_id, sku_id=sku_id)
        .order_by("id")
        .values("id", "sku_id", "distributor_id", "store_tier", "min_qty", "unit_price_fen")
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class LadderStep:
    min_qty: int
    unit_price_fen: int


def check_ladder(steps: Sequence[LadderStep]) -> None:
    """A ladder's steps start at distinct quantities (two prices from the same quantity would
    overlap) and every price is above zero; every problem is named at once."""
    problems = []
    seen: set[int] = set()
    for index, step in enumerate(steps):
        if step.min_qty in seen:
            problems.append(
                {
                    "field": f"tiers.{index}.min_qty",
                    "type": "duplicate",
                    "message": f"起订数量 {step.min_qty} 重复：同一数量只能有一个价格",
                }
            )
        seen.add(step.min_qty)
        if step.unit_price_fen <= 0:
            problems.append(
                {
                    "field": f"tiers.{index}.unit_price_fen",
                    "type": "not_positive",
                    "message": "单价必须大于 0",
                }
            )
    if problems:
        raise PriceTiersInvalid(problems[0]["message"], details=problems)


async def set_price_ladder(
    principal: Principal,
    sku_id: int,
    *,
    distributor_id: int | None,
    store_tier: str | None,
    steps: Sequence[LadderStep],
) -> list[dict[str, Any]]:
    """Replace the SKU's prices for one distributor and/or store tier (both None: the brand's
    price for everyone) by `steps`, in one transaction; no steps removes them. The SKU's
    price entries after it."""
    check_ladder(steps)
    await _brand_sku(principal.brand_id, sku_id)
    async with in_transaction():
        await PriceEntry.filter(
            brand_id=principal.brand_id,
            sku_id=sku_id,
            distributor_id=distributor_id,
            store_tier=store_tier,
        ).delete()
        for step in sorted(steps, key=lambda step: step.min_qty):
            await PriceEntry.create(
                brand_id=principal.brand_id,
                sku_id=sku_id,
                distributor_id=distributor_id,
                store_tier=store_tier,
                min_qty=step.min_qty,
                unit_price_fen=step.unit_price_fen,
            )
    return await list_price_entries(principal.brand_id, sku_id)


async def price_ladder(
    brand_id: int, distributor_id: int, store_tier: str, sku_id: int
) -> dict[str, Any]:
    """What a store of `store_tier` served by the distributor pays for the SKU at each
    quantity where its price may change, priced by the quote's own code (offers_for and
    quote_lines), so the console shows exactly what the store's cart will."""
    await _brand_sku(brand_id, sku_id)
    offers = await offers_for(brand_id, distributor_id, store_tier, [sku_id])
    offer = offers[sku_id]
    first = max(offer.min_order_qty, offer.case_size)
    quantities = sorted({first, *(tier.min_qty for tier in offer.tiers if tier.min_qty > first)})
    steps = []
    for quantity in quantities:
        line = quote_lines(offers, [RequestedLine(sku_id, quantity)]).lines[0]
        steps.append(
            {
                "min_qty": quantity,
                "unit_price_fen": line.unit_price_fen,
                "list_unit_price_fen": line.list_unit_price_fen,
                "price_source": line.price_source,
            }
        )
    return {
        "sku_id": sku_id,
        "distributor_id": distributor_id,
        "store_tier": store_tier,
        "unit": offer.unit,
        "case_size": offer.case_size,
        "min_order_qty": offer.min_order_qty,
        "is_active": offer.is_active,
        "sold_here": offer.sold_here,
        "stock": offer.stock,
        "steps": steps,
    }


async def sku_at_distributors(
    brand_id: int, sku_id: int, distributors: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each of `distributors` (the brand's, as org lists them) with whether it sells the SKU
    and its stock; one without a stock row has never carried it."""
    await _brand_sku(brand_id, sku_id)
    rows = {
        row.distributor_id: row  # type: ignore[attr-defined]
        for row in await DistributorSku.filter(brand_id=brand_id, sku_id=sku_id)
    }
    items = []
    for distributor in distributors:
        row = rows.get(distributor["id"])
        stock = row.stock if row else 0
        threshold = row.low_stock_threshold if row else None
        items.append(
            {
                "distributor_id": distributor["id"],
                "distributor_name": distributor["name"],
                "carried": row is not None,
                "is_available": bool(row and row.is_available),
                "stock": stock,
                "low_stock_threshold": threshold,
                "is_low": _is_low(stock, threshold),
            }
        )
    return items


# ---- distributors' stock ------------------------------------------------------------------

MAX_STOCK = 10**9  # far above any warehouse, far below integer limits
# How often a count (set_to) reads the figure again when an order or another adjustment
# changed it between the read and the write: each retry follows a committed change.
SET_STOCK_ATTEMPTS = 5


class StockChanging(Conflict):
    code = "catalog.stock_changing"
    message = "库存正在变动，请稍后重试"


class AdjustmentInvalid(InvalidInput):
    code = "catalog.adjustment_invalid"
    message = "库存调整内容不完整"


def refused_adjustment(field: str, message: str) -> AdjustmentInvalid:
    details = [{"field": field, "type": "invalid", "message": message}]
    return AdjustmentInvalid(message, details=details)


async def _distributor_row(
    brand_id: int, distributor_id: int, sku_id: int, *, available: bool
) -> None:
    """Make sure the distributor has a stock row for the SKU. Two first changes at once both
    pass: the unique pair keeps one row, and neither fails."""
    await sql.execute(
        "INSERT INTO distributor_skus"
        " (brand_id, distributor_id, sku_id, is_available, stock, updated_at)"
        " VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (distributor_id, sku_id) DO NOTHING",
        brand_id,
        distributor_id,
        sku_id,
        available,
        datetime.now(UTC),
    )


async def set_availability(
    principal: Principal, distributor_id: int, sku_id: int, *, is_available: bool
) -> dict[str, Any]:
    sku = await _brand_sku(principal.brand_id, sku_id)
    await _distributor_row(sku.brand_id, distributor_id, sku_id, available=is_available)  # type: ignore[attr-defined]
    await DistributorSku.filter(distributor_id=distributor_id, sku_id=sku_id).update(
        is_available=is_available
    )
    return await stock_view(distributor_id, sku_id)


async def set_low_stock_threshold(
    principal: Principal, distributor_id: int, sku_id: int, *, threshold: int | None
) -> dict[str, Any]:
    """Warn below `threshold` units (None: no warning). A SKU the distributor does not carry
    yet gets a row that stays off sale: a warning level is not a decision to sell."""
    sku = await _brand_sku(principal.brand_id, sku_id)
    await _distributor_row(sku.brand_id, distributor_id, sku_id, available=False)  # type: ignore[attr-defined]
    await DistributorSku.filter(distributor_id=distributor_id, sku_id=sku_id).update(
        low_stock_threshold=threshold
    )
    return await stock_view(distributor_id, sku_id)


async def _add_stock(distributor_id: int, sku_id: int, delta: int) -> tuple[int, int]:
    """A relative, guarded update: adjustments made at the same moment all count, and none
    takes the figure below zero. The figure before and after."""
    row = await sql.fetch_one(
        "UPDATE distributor_skus SET stock = stock + $1, updated_at = $2"
        " WHERE distributor_id = $3 AND sku_id = $4 AND stock + $1 >= 0 RETURNING stock",
        delta,
        datetime.now(UTC),
        distributor_id,
        sku_id,
    )
    if row is None:
        current = await DistributorSku.get(distributor_id=distributor_id, sku_id=sku_id)
        raise StockWouldGoNegative(
            f"库存不足，无法扣减：当前库存 {current.stock}，最多可减 {current.stock}",
            details={"stock": current.stock},
        )
    after = int(row["stock"])
    return after - delta, after


async def _set_stock(distributor_id: int, sku_id: int, counted: int) -> tuple[int, int]:
    """A count replaces the figure it was made against, and only that one (compare and set):
    when an order or another adjustment moved it in between, read it again and retry."""
    for _ in range(SET_STOCK_ATTEMPTS):
        current = await DistributorSku.get(distributor_id=distributor_id, sku_id=sku_id)
        changed = await sql.execute(
            "UPDATE distributor_skus SET stock = $1, updated_at = $2"
            " WHERE distributor_id = $3 AND sku_id = $4 AND stock = $5",
            counted,
            datetime.now(UTC),
            distributor_id,
            sku_id,
            current.stock,
        )
        if changed:
            return current.stock, counted
    raise StockChanging()


async def adjust_stock(
    principal: Principal,
    distributor_id: int,
    sku_id: int,
    *,
    delta: int | None = None,
    set_to: int | None = None,
    reason: StockReason = StockReason.RECEIPT,
    note: str = "",
) -> dict[str, Any]:
    """Receive goods (+), write off (-), or record a count (`set_to`): never below zero, and
    the change and its record in one transaction. The stock row after it, with the record."""
    if (delta is None) == (set_to is None):
        raise refused_adjustment("delta", "调整数量与盘点数量须填且只填一项")
    note = note.strip()
    if reason == StockReason.OTHER and not note:
        raise refused_adjustment("note", "原因为“其他”时须填写说明")
    sku = await _brand_sku(principal.brand_id, sku_id)
    await _distributor_row(sku.brand_id, distributor_id, sku_id, available=True)  # type: ignore[attr-defined]
    async with in_transaction():
        if delta is not None:
            before, after = await _add_stock(distributor_id, sku_id, delta)
        else:
            assert set_to is not None
            before, after = await _set_stock(distributor_id, sku_id, set_to)
        adjustment = await StockAdjustment.create(
            brand_id=sku.brand_id,  # type: ignore[attr-defined]
            distributor_id=distributor_id,
            sku_id=sku_id,
            user_id=principal.user_id or None,  # 0: the platform's own (seeding, factories)
            reason=reason.value,
            note=note,
            delta=after - before,
            stock_before=before,
            stock_after=after,
        )
    names = await identity_service.user_names([principal.user_id] if principal.user_id else [])
    return {
        **await stock_view(distributor_id, sku_id),
        "adjustment": adjustment_view(adjustment, names),
    }


def adjustment_view(adjustment: StockAdjustment, names: dict[int, str]) -> dict[str, Any]:
    user_id = adjustment.user_id  # type: ignore[attr-defined]
    return {
        "id": adjustment.id,
        "sku_id": adjustment.sku_id,  # type: ignore[attr-defined]
        "distributor_id": adjustment.distributor_id,  # type: ignore[attr-defined]
        "reason": adjustment.reason,
        "note": adjustment.note,
        "delta": adjustment.delta,
        "stock_before": adjustment.stock_before,
        "stock_after": adjustment.stock_after,
        "user_id": user_id,
        "user_name": names.get(user_id, "系统") if user_id else "系统",
        "created_at": adjustment.created_at.isoformat(),
    }


async def list_adjustments(
    principal: Principal, distributor_id: int, sku_id: int, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The SKU's hand-made stock changes at the distributor, newest first (limit + 1 rows)."""
    await _brand_sku(principal.brand_id, sku_id)
    query = StockAdjustment.filter(
        brand_id=principal.brand_id, distributor_id=distributor_id, sku_id=sku_id
    )
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(limit + 1)
    user_ids = [row.user_id for row in rows]  # type: ignore[attr-defined]
    names = await identity_service.user_names(user_id for user_id in user_ids if user_id)
    return [adjustment_view(row, names) for row in rows]


def _is_low(stock: int, threshold: int | None) -> bool:
    return threshold is not None and stock < threshold


async def stock_view(distributor_id: int, sku_id: int) -> dict[str, Any]:
    row = await DistributorSku.get(distributor_id=distributor_id, sku_id=sku_id)
    return {
        "distributor_id": distributor_id,
        "sku_id": sku_id,
        "is_available": row.is_available,
        "stock": row.stock,
        "low_stock_threshold": row.low_stock_threshold,
        "is_low": _is_low(row.stock, row.low_stock_threshold),
    }


_LOW = "d.low_stock_threshold IS NOT NULL AND d.stock < d.low_stock_threshold"


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_stock(
    brand_id: int,
    distributor_id: int,
    *,
    text: str | None,
    category_id: int | None,
    low: bool,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Every SKU of the brand as the distributor holds it, by SKU id (limit + 1 rows): those
    it has never stocked show no stock and off sale, as stores see them. `text` matches the
    product's or SKU's name or the barcode; `category_id` takes its child categories too."""
    args: list[Any] = []

    def bound(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [f"s.brand_id = {bound(brand_id)}"]
    distributor = bound(distributor_id)
    if text:
        pattern = bound(_like(text))
        where.append(
            f"(LOWER(p.name) LIKE {pattern} ESCAPE '\\' OR LOWER(s.name) LIKE {pattern}"
            f" ESCAPE '\\' OR LOWER(s.barcode) LIKE {pattern} ESCAPE '\\')"
        )
    if category_id is not None:
        where.append(
            f"p.category_id IN ({bound(await category_with_children(brand_id, category_id))})"
        )
    if low:
        where.append(_LOW)
    if after is not None:
        where.append(f"s.id > {bound(after)}")
    rows = await sql.fetch(
        # Only placeholders ($n) and fixed conditions are spliced in.
        "SELECT s.id, s.product_id, s.name, s.spec, s.unit, s.barcode, s.list_price_fen,"  # noqa: S608
        " s.case_size, s.min_order_qty, s.is_active AND p.is_active AS active,"
        " p.name AS product_name, p.category_id, c.name AS category_name,"
        " d.is_available, d.stock, d.low_stock_threshold"
        " FROM skus s JOIN products p ON p.id = s.product_id"
        " JOIN categories c ON c.id = p.category_id"
        f" LEFT JOIN distributor_skus d ON d.sku_id = s.id AND d.distributor_id = {distributor}"
        f" WHERE {' AND '.join(where)} ORDER BY s.id LIMIT {bound(limit + 1)}",
        *args,
    )
    items = []
    for row in rows:
        stock = int(row["stock"] or 0)
        threshold = row["low_stock_threshold"]
        items.append(
            {
                "id": row["id"],
                "sku_id": row["id"],
                "product_id": row["product_id"],
                "product_name": row["product_name"],
                "category_id": row["category_id"],
                "category_name": row["category_name"],
                "name": row["name"],
                "spec": row["spec"],
                "unit": row["unit"],
                "barcode": row["barcode"],
                "list_price_fen": row["list_price_fen"],
                "case_size": row["case_size"],
                "min_order_qty": row["min_order_qty"],
                "is_active": bool(row["active"]),
                "stock": stock,
                # What stores see: a SKU the distributor has no row for is not sold there.
                "is_available": bool(row["is_available"]),
                "low_stock_threshold": threshold,
                "is_low": _is_low(stock, threshold),
            }
        )
    return items


async def low_stock_count(brand_id: int, distributor_id: int) -> int:
    """How many of the distributor's SKUs are below their warning level."""
    row = await sql.fetch_one(
        f"SELECT COUNT(*) AS n FROM distributor_skus d WHERE d.brand_id = $1"  # noqa: S608
        f" AND d.distributor_id = $2 AND {_LOW}",
        brand_id,
        distributor_id,
    )
    return int(row["n"]) if row else 0


def acting_distributor(principal: Principal, requested: int | None) -> int | None:
    """Distributor staff act on their own distributor; brand staff name one."""
    if principal.role in DISTRIBUTOR_ROLES:
        return principal.distributor_id
    return requested


async def reserve_stock(distributor_id: int, lines: Iterable[tuple[int, int]]) -> list[int]:
    """Take `quantity` of each SKU; returns the SKU ids that could not be taken.

    Call inside the order's transaction and roll back when anything failed, so that nothing
    stays reserved. SKUs are taken in id order so concurrent orders never deadlock.
    """
    failed = []
    for sku_id, quantity in sorted(lines):
        taken = await sql.execute(
            "UPDATE distributor_skus SET stock = stock - $1"
            " WHERE distributor_id = $2 AND sku_id = $3 AND is_available AND stock >= $1",
            quantity,
            distributor_id,
            sku_id,
        )
        if not taken:
            failed.append(sku_id)
    return failed


async def release_stock(distributor_id: int, lines: Iterable[tuple[int, int]]) -> None:
    for sku_id, quantity in sorted(lines):
        await sql.execute(
            "UPDATE distributor_skus SET stock = stock + $1"
            " WHERE distributor_id = $2 AND sku_id = $3",
            quantity,
            distributor_id,
            sku_id,
        )


# ---- what a store sees ------------------------------------------------------------------------


async def offers_for(
    brand_id: int, distributor_id: int, store_tier: str, sku_ids: Iterable[int]
) -> dict[int, SkuOffer]:
    """What the distributor offers of these SKUs to a store of this tier.

    Two statements of fixed SQL (see infra/sql.py): every quote, cart view and order runs
    this, so it skips the ORM.
    """
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    skus = await sql.fetch(
        "SELECT s.id, s.product_id, s.name, s.unit, s.list_price_fen, s.case_size,"
        " s.min_order_qty, s.is_active AND p.is_active AS active, p.name AS product_name,"
        " p.category_id,"
        " d.is_available, d.stock"
        " FROM skus s JOIN products p ON p.id = s.product_id"
        " LEFT JOIN distributor_skus d ON d.sku_id = s.id AND d.distributor_id = $2"
        " WHERE s.brand_id = $1 AND s.id IN ($3)",
        brand_id,
        distributor_id,
        ids,
    )
    tiers: dict[int, list[PriceTier]] = {sku_id: [] for sku_id in ids}
    for entry in await sql.fetch(
        "SELECT sku_id, distributor_id, store_tier, min_qty, unit_price_fen FROM price_entries"
        " WHERE brand_id = $1 AND (distributor_id IS NULL OR distributor_id = $2)"
        " AND (store_tier IS NULL OR store_tier = $3) AND sku_id IN ($4)",
        brand_id,
        distributor_id,
        store_tier,
        ids,
    ):
        tiers[entry["sku_id"]].append(
            PriceTier(
                entry["min_qty"],
                entry["unit_price_fen"],
                for_distributor=entry["distributor_id"] is not None,
                for_tier=entry["store_tier"] is not None,
            )
        )
    return {
        sku["id"]: SkuOffer(
            sku_id=sku["id"],
            product_name=sku["product_name"],
            sku_name=sku["name"],
            unit=sku["unit"],
            list_price_fen=sku["list_price_fen"],
            case_size=sku["case_size"],
            min_order_qty=sku["min_order_qty"],
            is_active=bool(sku["active"]),
            sold_here=bool(sku["is_available"]),  # NULL when the distributor has no row
            stock=sku["stock"] or 0,
            tiers=tuple(tiers[sku["id"]]),
            category_id=sku["category_id"],
            product_id=sku["product_id"],
        )
        for sku in skus
    }


async def quote(
    brand_id: int, distributor_id: int, store_tier: str, lines: Sequence[RequestedLine]
) -> Quote:
    offers = await offers_for(brand_id, distributor_id, store_tier, (line.sku_id for line in lines))
    return quote_lines(offers, lines)


async def quote_naming(
    brand_id: int,
    distributor_id: int,
    store_tier: str,
    lines: Sequence[RequestedLine],
    named: Iterable[int],
) -> tuple[Quote, dict[int, SkuSummary]]:
    """The quote, and the brand's SKUs among `named` (the gifts a quote may give) named as
    sku_summaries names them: read in the quote's own statements, not in one more."""
    wanted = set(named)
    offers = await offers_for(
        brand_id, distributor_id, store_tier, [*(line.sku_id for line in lines), *wanted]
    )
    names = {sku_id: SkuSummary.of(offers[sku_id]) for sku_id in wanted if sku_id in offers}
    return quote_lines(offers, lines), names


async def search_for_store(
    brand_id: int,
    distributor_id: int,
    store_tier: str,
    *,
    text: str | None,
    barcode: str | None,
    category_id: int | None,
    after: int | None,
    limit: int,
    product_id: int | None = None,
) -> list[dict[str, Any]]:
    """SKUs a store can browse, with the unit price it would pay for one case and its
    quantity tiers; `product_id` narrows them to one product's (the product page)."""
    query = Sku.filter(brand_id=brand_id, is_active=True, product__is_active=True)
    if product_id is not None:
        query = query.filter(product_id=product_id)
    if barcode:
        query = query.filter(barcode=barcode)
    if text:
        query = query.filter(Q(product__name__icontains=text) | Q(name__icontains=text))
    if category_id is not None:
        query = query.filter(
            product__category_id__in=await category_with_children(brand_id, category_id)
        )
    if after:
        query = query.filter(id__gt=after)
    skus = await query.order_by("id").limit(limit + 1)
    offers = await offers_for(brand_id, distributor_id, store_tier, (sku.id for sku in skus))
    items = []
    for sku in skus:
        offer = offers[sku.id]
        lines = quote_lines(offers, [RequestedLine(sku.id, max(sku.min_order_qty, sku.case_size))])
        items.append(
            {
                **sku_view(sku),
                "product_name": offer.product_name,
                "category_id": offer.category_id,
                "sold_here": offer.sold_here,
                "stock": offer.stock,
                "unit_price_fen": lines.lines[0].unit_price_fen,
                "price_tiers": [
                    {"min_qty": t.min_qty, "unit_price_fen": t.unit_price_fen}
                    for t in sorted(offer.tiers, key=lambda t: (t.min_qty, -t.specificity))
                ],
            }
        )
    return items


async def get_product(brand_id: int | None, product_id: int) -> dict[str, Any]:
    product = await _brand_product(brand_id, product_id)
    return product_view(product, await Sku.filter(product_id=product.id).order_by("id"))


# ---- for promotions ---------------------------------------------------------------------------


async def known_ids(brand_id: int, kind: str, ids: Iterable[int]) -> set[int]:
    """Which of `ids` are the brand's objects of `kind` (sku, category)."""
    model = {"sku": Sku, "category": Category}[kind]
    found = await model.filter(brand_id=brand_id, id__in=list(ids)).values_list("id", flat=True)
    return {int(object_id) for object_id in found}  # type: ignore[call-overload]


async def skus_by_id(brand_id: int, sku_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The brand's SKUs among `sku_ids`, as sku_view shows them (for a live product card)."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    return {sku.id: sku_view(sku) for sku in await Sku.filter(brand_id=brand_id, id__in=ids)}


@dataclass(frozen=True, slots=True)
class SkuCard:
    """A SKU as a live room's product card shows it: as sku_view shows it, with its brand
    and its product's name and first picture."""

    brand_id: int
    product_name: str
    image: str | None
    view: dict[str, Any]


_PRODUCT_IMAGES = Product._meta.fields_map["images"]  # SQLite and asyncpg give JSON text
_SKU_CARD_SQL = (  # the SKU's columns are SKU_VIEW_COLUMNS
    "SELECT s.brand_id, p.name AS product_name, p.images, s.id, s.product_id, s.name, s.spec,"
    " s.unit, s.barcode, s.list_price_fen, s.case_size, s.min_order_qty, s.is_active"
    " FROM skus s JOIN products p ON p.id = s.product_id WHERE s.id = $1"
)


async def sku_card(sku_id: int) -> SkuCard | None:
    """The SKU's card, in one statement of fixed SQL: a live room reads it at every card the
    host pushes and after every order placed in the room (the ORM took five times as long)."""
    row = await sql.fetch_one(_SKU_CARD_SQL, sku_id)
    if row is None:
        return None
    images = _PRODUCT_IMAGES.to_python_value(row["images"]) or []
    view = {column: row[column] for column in SKU_VIEW_COLUMNS}
    view["is_active"] = bool(view["is_active"])  # SQLite gives 0 or 1
    return SkuCard(row["brand_id"], row["product_name"], images[0] if images else None, view)


@dataclass(frozen=True, slots=True)
class SkuSummary:
    """How a SKU is named to a buyer (a gift, a promotion's scope) and what it belongs to."""

    id: int
    product_id: int | None
    product_name: str
    sku_name: str
    unit: str
    category_id: int | None = None

    @classmethod
    def of(cls, offer: SkuOffer) -> SkuSummary:
        """The names an offer already carries (offers_for), without asking again."""
        return cls(
            id=offer.sku_id,
            product_id=offer.product_id,
            product_name=offer.product_name,
            sku_name=offer.sku_name,
            unit=offer.unit,
            category_id=offer.category_id,
        )

    @property
    def title(self) -> str:
        return f"{self.product_name} {self.sku_name}".strip()

    def view(self) -> dict[str, Any]:
        return {
            "sku_id": self.id,
            "product_id": self.product_id,
            "product_name": self.product_name,
            "sku_name": self.sku_name,
            "unit": self.unit,
        }


async def sku_summaries(brand_id: int, sku_ids: Iterable[int]) -> dict[int, SkuSummary]:
    """The brand's SKUs among `sku_ids` (active or not), named: one statement of fixed SQL,
    as quotes with gifts run it."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    rows = await sql.fetch(
        "SELECT s.id, s.product_id, s.name, s.unit, p.name AS product_name, p.category_id"
        " FROM skus s JOIN products p ON p.id = s.product_id"
        " WHERE s.brand_id = $1 AND s.id IN ($2)",
        brand_id,
        ids,
    )
    return {
        int(row["id"]): SkuSummary(
            id=int(row["id"]),
            product_id=int(row["product_id"]),
            product_name=row["product_name"],
            sku_name=row["name"],
            unit=row["unit"],
            category_id=int(row["category_id"]),
        )
        for row in rows
    }


async def brand_skus(
    brand_id: int, *, text: str | None, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """The brand's SKUs on sale or not (what a promotion or a coupon may name), by id, found
    by product or SKU name or barcode: each with its product, category, spec, unit and list
    price."""
    skus = Sku.filter(brand_id=brand_id)
    if text:
        named = Q(product__name__icontains=text) | Q(name__icontains=text)
        skus = skus.filter(named | Q(barcode=text) if _may_be_barcode(text) else named)
    if after is not None:
        skus = skus.filter(id__gt=after)
    rows = (
        await skus.order_by("id")
        .limit(limit)
        .values(
            "id",
            "name",
            "spec",
            "unit",
            "list_price_fen",
            "is_active",
            "product__name",
            "product__category_id",
        )
    )
    return [
        {
            "id": row["id"],
            "product_name": row["product__name"],
            "name": row["name"],
            "spec": row["spec"],
            "unit": row["unit"],
            "category_id": row["product__category_id"],
            "list_price_fen": row["list_price_fen"],
            "is_active": bool(row["is_active"]),
        }
        for row in rows
    ]


async def sku_packing(sku_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """How these SKUs are packed (spec, 箱规 case size), for pages that show quantities as
    cases and units: one query."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    rows = await sql.fetch("SELECT id, spec, case_size FROM skus WHERE id IN ($1)", ids)
    return {
        int(row["id"]): {"spec": row["spec"], "case_size": int(row["case_size"])} for row in rows
    }


async def category_names(brand_id: int, category_ids: Iterable[int]) -> dict[int, str]:
    """The names of the brand's categories among `category_ids`."""
    ids = sorted(set(category_ids))
    if not ids:
        return {}
    rows = await Category.filter(brand_id=brand_id, id__in=ids).values_list("id", "name")
    return {int(category_id): str(name) for category_id, name in rows}


async def carried_skus(
    brand_id: int, distributor_id: int, *, text: str | None, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """The active SKUs a distributor carries (what it may put on sale in a live session), by
    SKU id: each with its product's name, its list price and the distributor's stock."""
    carried = DistributorSku.filter(
        brand_id=brand_id,
        distributor_id=distributor_id,
        sku__is_active=True,
        sku__product__is_active=True,
    )
    if text:
        named = Q(sku__product__name__icontains=text) | Q(sku__name__icontains=text)
        carried = carried.filter(named)
    if after is not None:
        carried = carried.filter(sku_id__gt=after)
    rows = (
        await carried.order_by("sku_id")
        .limit(limit)
        .values(
            "sku_id",
            "stock",
            "is_available",
            "sku__name",
            "sku__spec",
            "sku__unit",
            "sku__list_price_fen",
            "sku__product__name",
        )
    )
    return [
        {
            "id": row["sku_id"],
            "product_name": row["sku__product__name"],
            "name": row["sku__name"],
            "spec": row["sku__spec"],
            "unit": row["sku__unit"],
            "list_price_fen": row["sku__list_price_fen"],
            "stock": row["stock"],
            "is_available": bool(row["is_available"]),
        }
        for row in rows
    ]


async def list_prices(brand_id: int, sku_ids: Iterable[int]) -> dict[int, int]:
    """The list price of each of the brand's SKUs among `sku_ids` (what a gift is worth)."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    rows = await Sku.filter(brand_id=brand_id, id__in=ids).values_list("id", "list_price_fen")
    return {int(sku_id): int(price) for sku_id, price in rows}


# ---- for imports (backend/imports): what the brand has, and rows written in bulk -------------


async def products_by_name(brand_id: int) -> dict[str, list[tuple[int, int]]]:
    """The brand's products by name: (id, category id) of each that bears it."""
    named: dict[str, list[tuple[int, int]]] = {}
    rows = (
        await Product.filter(brand_id=brand_id)
        .order_by("id")
        .values_list("name", "id", "category_id")
    )
    for name, product_id, category_id in rows:
        named.setdefault(str(name), []).append((int(product_id), int(category_id)))
    return named


async def sku_ids_by_barcode(brand_id: int) -> dict[str, int]:
    rows = await Sku.filter(brand_id=brand_id, barcode__not_isnull=True).values_list(
        "barcode", "id"
    )
    return {str(barcode): int(sku_id) for barcode, sku_id in rows}


async def price_entry_ids(brand_id: int) -> dict[tuple[int, int | None, str | None, int], int]:
    """Each price entry of the brand by what it prices: (SKU, distributor, tier, from qty)."""
    rows = (
        await PriceEntry.filter(brand_id=brand_id)
        .order_by("id")
        .values_list("sku_id", "distributor_id", "store_tier", "min_qty", "id")
    )
    return {
        (sku, distributor, tier, qty): int(entry) for sku, distributor, tier, qty, entry in rows
    }


async def create_products(brand_id: int, products: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Write checked products and SKUs in bulk, inside the caller's transaction: each dict has
    name, category_id, id (an existing product of the brand the SKUs join, or None for a new
    one) and skus (dicts of name, spec, unit, barcode unused by the brand, list_price_fen,
    case_size, min_order_qty with min_order_qty a multiple of case_size). New product names
    must not be the brand's yet: they are found again by name. (products, SKUs) created."""
    new = [p for p in products if p["id"] is None]
    await Product.bulk_create(
        [Product(brand_id=brand_id, name=p["name"], category_id=p["category_id"]) for p in new],
        batch_size=1000,
    )
    ids = {p["name"]: p["id"] for p in products if p["id"] is not None}
    if new:
        rows = await Product.filter(brand_id=brand_id, name__in=[p["name"] for p in new])
        ids.update({product.name: product.id for product in rows})
    skus = [
        Sku(brand_id=brand_id, product_id=ids[p["name"]], **sku)
        for p in products
        for sku in p["skus"]
    ]
    await Sku.bulk_create(skus, batch_size=1000)
    return len(new), len(skus)


async def set_price_entries(
    brand_id: int, new: Sequence[dict[str, Any]], changed: Sequence[tuple[int, int]]
) -> None:
    """Inside the caller's transaction: add price entries (dicts of sku_id, distributor_id,
    store_tier, min_qty, unit_price_fen, all the brand's) and set the unit price of existing
    ones ((entry id, unit price fen))."""
    await PriceEntry.bulk_create(
        [PriceEntry(brand_id=brand_id, **entry) for entry in new], batch_size=1000
    )
    if changed:
        await sql.execute_many(
            "UPDATE price_entries SET unit_price_fen = $1 WHERE id = $2 AND brand_id = $3",
            [(price, entry_id, brand_id) for entry_id, price in changed],
        )


async def sku_cards(brand_id: int, sku_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """How a scanned product is shown (product codes): {sku_id, name (product and SKU),
    spec, unit, image_url (the product's first image or "")} of the brand's SKUs among
    `sku_ids`, in one statement of fixed SQL."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    rows = await sql.fetch(
        "SELECT s.id, s.name, s.spec, s.unit, p.name AS product_name, p.images"
        " FROM skus s JOIN products p ON p.id = s.product_id"
        " WHERE s.brand_id = $1 AND s.id IN ($2)",
        brand_id,
        ids,
    )
    cards = {}
    for row in rows:
        images = row["images"]
        if isinstance(images, str | bytes):
            images = json.loads(images)
        cards[int(row["id"])] = {
            "sku_id": int(row["id"]),
            "name": f"{row['product_name']} {row['name']}".strip(),
            "spec": row["spec"] or "",
            "unit": row["unit"],
            "image_url": images[0] if isinstance(images, list) and images else "",
        }
    return cards


def analytics_sku_categories_sql() -> str:
    """A derived table of every SKU's (sku_id, category_id): the analytics rebuild joins it
    to the order lines."""
    return "SELECT s.id AS sku_id, p.category_id FROM skus s JOIN products p ON p.id = s.product_id"


async def analytics_sales_active_skus(brand_id: int, distributor_id: int | None) -> list[int]:
    """The brand's SKUs on sale (the SKU and its product active), or those a distributor
    offers: the sales dashboard's slowest sellers include the ones nobody ordered."""
    skus = Sku.filter(brand_id=brand_id, is_active=True, product__is_active=True)
    if distributor_id is not None:
        offered = await DistributorSku.filter(
            distributor_id=distributor_id, is_available=True
        ).values_list("sku_id", flat=True)
        skus = skus.filter(id__in=list(offered))
    found = await skus.order_by("id").values_list("id", flat=True)
    return [int(sku_id) for sku_id in found]  # type: ignore[call-overload]


async def analytics_product_names(brand_id: int, product_ids: Iterable[int]) -> dict[int, str]:
    """The names of the brand's products among `product_ids` (a salesperson's feed)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = await Product.filter(brand_id=brand_id, id__in=ids).values_list("id", "name")
    return {int(product_id): str(name) for product_id, name in rows}
