"""Catalog endpoints: brand staff manage it, distributors their stock, stores browse it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.catalog import service
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, authenticated
from backend.infra.http import (
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    newest_first,
    ok,
    page,
    parse_query,
    patch_changes,
)
from backend.infra.idempotency import create_once, create_once_if_keyed
from backend.kernel.errors import InvalidInput
from backend.org import service as org_service

bp = Blueprint("catalog", url_prefix="/api/v1/catalog")
MAX_PRICE_FEN = 10**10  # 一亿元: far above any unit price, far below integer limits
TierName = Literal["A", "B", "C", "D"]


class CategoryBody(RequestModel):
    name: str = Field(min_length=1, max_length=32)
    parent_id: Id | None = None
    sort: int = Field(default=0, ge=0, le=10_000)


class CategoryPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=32)
    parent_id: Id | None = Field(default=None, description="移到该分类下；null 移到顶级")
    sort: int | None = Field(default=None, ge=0, le=10_000)


class SkuBody(RequestModel):
    name: str = Field(min_length=1, max_length=64)
    spec: str = Field(default="", max_length=64)
    unit: str = Field(default="件", min_length=1, max_length=8)
    barcode: str | None = Field(default=None, pattern=r"^[0-9A-Za-z\-]{4,32}$")
    list_price_fen: int = Field(ge=0, le=MAX_PRICE_FEN)
    case_size: int = Field(default=1, ge=1, le=10_000)
    min_order_qty: int = Field(default=1, ge=1, le=99_999)


class SkuPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    spec: str | None = Field(default=None, max_length=64)
    unit: str | None = Field(default=None, min_length=1, max_length=8)
    barcode: str | None = Field(default=None, pattern=r"^[0-9A-Za-z\-]{4,32}$")
    list_price_fen: int | None = Field(default=None, ge=0, le=MAX_PRICE_FEN)
    case_size: int | None = Field(default=None, ge=1, le=10_000)
    min_order_qty: int | None = Field(default=None, ge=1, le=99_999)
    is_active: bool | None = None


ImageUrl = Annotated[str, Field(min_length=1, max_length=500)]


class ProductBody(RequestModel):
    name: str = Field(min_length=1, max_length=64)
    category_id: Id
    description: str = Field(default="", max_length=5000)
    images: list[ImageUrl] = Field(default_factory=list, max_length=9)
    skus: list[SkuBody] = Field(min_length=1, max_length=50)


class ProductPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    category_id: Id | None = None
    description: str | None = Field(default=None, max_length=5000)
    images: list[ImageUrl] | None = Field(
        default=None,
        max_length=9,
        description="图片地址（POST /uploads/images 所得），第一张为主图",
    )
    is_active: bool | None = Field(default=None, description="上架 / 下架")


class ProductQuery(PageQuery):
    q: str | None = Field(default=None, max_length=64, description="商品名称，或规格条码（精确）")
    category_id: Id | None = Field(default=None, description="含其子分类")
    active: bool | None = Field(default=None, description="true 只看上架、false 只看下架")


class LadderStepBody(RequestModel):
    min_qty: int = Field(ge=1, le=99_999, description="从这个数量起")
    unit_price_fen: int = Field(ge=0, le=MAX_PRICE_FEN, description="单价（分），须大于 0")


class LadderBody(RequestModel):
    distributor_id: Id | None = Field(default=None, description="只对该经销商；null 所有经销商")
    store_tier: TierName | None = Field(default=None, description="只对该等级门店；null 所有等级")
    tiers: list[LadderStepBody] = Field(
        max_length=20, description="阶梯：起订数量各不相同；空列表删除这一组价格"
    )


class LadderQuery(RequestModel):
    distributor_id: Id | None = Field(
        default=None, description="与 store_tier 一起，或改用 store_id"
    )
    store_tier: TierName | None = None
    store_id: Id | None = Field(default=None, description="按该门店的经销商与等级")


class PriceEntryBody(RequestModel):
    sku_id: Id
    distributor_id: Id | None = None
    store_tier: TierName | None = None
    min_qty: int = Field(default=1, ge=1, le=99_999)
    unit_price_fen: int = Field(ge=0, le=MAX_PRICE_FEN)


class AvailabilityBody(RequestModel):
    is_available: bool
    distributor_id: Id | None = None


ReasonName = Literal["stocktake", "damage", "receipt", "return", "other"]
assert set(ReasonName.__args__) == {r.value for r in service.StockReason}  # type: ignore[attr-defined]


class StockBody(RequestModel):
    delta: int | None = Field(
        default=None,
        ge=-1_000_000,
        le=1_000_000,
        description="入库为正、出库为负",
    )
    set_to: int | None = Field(
        default=None, ge=0, le=service.MAX_STOCK, description="盘点后的实际数量；与 delta 二选一"
    )
    reason: ReasonName = Field(
        description="stocktake 盘点、damage 报损、receipt 到货入库、return 退货入库、other 其他"
    )
    note: str = Field(default="", max_length=200, description="说明；原因为 other 时必填")
    distributor_id: Id | None = Field(default=None, description="品牌员工代经销商调整时必填")


class LowStockBody(RequestModel):
    threshold: int | None = Field(
        ge=1, le=service.MAX_STOCK, description="库存低于此数量时预警；null 取消预警"
    )
    distributor_id: Id | None = None


class StockQuery(PageQuery):
    q: str | None = Field(default=None, max_length=64, description="商品名、规格名或条码")
    category_id: Id | None = Field(default=None, description="含其子分类")
    low: bool = Field(default=False, description="只看库存低于预警值的规格")
    distributor_id: Id | None = Field(default=None, description="品牌员工查看时必填")


class AdjustmentQuery(PageQuery):
    before: Id | None = None
    distributor_id: Id | None = Field(default=None, description="品牌员工查看时必填")


class SkuQuery(PageQuery):
    q: str | None = Field(default=None, max_length=64)
    barcode: str | None = Field(default=None, max_length=32)
    category_id: Id | None = None
    product_id: Id | None = Field(default=None, description="只看该商品的规格（商品详情页）")
    store_id: Id | None = None


@bp.get("/categories")
@openapi.summary("商品分类（平铺，含父分类）")
@authenticated()
async def list_categories(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.list_categories(principal.brand_id)})


async def _created(
    request: Request,
    principal: Principal,
    scope: str,
    create: Callable[[], Awaitable[dict[str, Any]]],
) -> HTTPResponse:
    """201 with what `create` made, once per Idempotency-Key (see create_once_if_keyed)."""
    now = request_deps(request).clock.now()
    return await create_once_if_keyed(
        request, scope=scope, user_id=principal.user_id, now=now, create=create
    )


@bp.post("/categories")
@openapi.summary("新建分类（最多两级）")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(CategoryBody)
async def create_category(
    request: Request, principal: Principal, body: CategoryBody
) -> HTTPResponse:
    return await _created(
        request,
        principal,
        "catalog.category",
        lambda: service.create_category(principal, **body.model_dump()),
    )


@bp.patch("/categories/<category_id:int>")
@openapi.summary("修改分类：改名、排序、移到其他分类下（不能移到自己或子分类下，最多两级）")
@authenticated(*BRAND_ROLES)
@json_body(CategoryPatch)
async def update_category(
    request: Request, principal: Principal, category_id: int, body: CategoryPatch
) -> HTTPResponse:
    changes = patch_changes(body, nullable=frozenset({"parent_id"}))
    return ok(await service.update_category(principal, category_id, changes))


@bp.delete("/categories/<category_id:int>")
@openapi.summary("删除分类（须无子分类、无商品）")
@authenticated(*BRAND_ROLES)
async def delete_category(request: Request, principal: Principal, category_id: int) -> HTTPResponse:
    await service.delete_category(principal, category_id)
    return ok({"ok": True})


@bp.get("/products")
@openapi.summary("品牌的商品：按名称或条码搜索，按分类、上下架筛选，按 id 翻页")
@documented_query(ProductQuery)
@authenticated(*BRAND_ROLES)
async def list_products(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, ProductQuery)
    assert principal.brand_id is not None  # brand staff belong to a brand
    limit = query.bounded_limit()
    items = await service.list_products(
        principal.brand_id,
        text=query.q,
        category_id=query.category_id,
        active=query.active,
        after=query.after,
        limit=limit,
    )
    return ok(page(items, limit))


class SkuOptionQuery(PageQuery):
    q: str | None = Field(default=None, max_length=64, description="商品名、规格名或条码")


@bp.get("/sku-options")
@openapi.summary("品牌的全部规格（上架与否），按名称或条码搜索：促销、优惠券等页面选商品用")
@documented_query(SkuOptionQuery)
@authenticated(*BRAND_ROLES)
async def sku_options(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, SkuOptionQuery)
    assert principal.brand_id is not None  # brand staff belong to a brand
    limit = query.bounded_limit()
    # One more than the page, for `page` to tell whether another follows.
    items = await service.brand_skus(
        principal.brand_id, text=query.q, after=query.after, limit=limit + 1
    )
    return ok(page(items, limit))


@bp.post("/products")
@openapi.summary("新建商品及其规格")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(ProductBody)
async def create_product(request: Request, principal: Principal, body: ProductBody) -> HTTPResponse:
    fields = body.model_dump()
    return await _created(
        request, principal, "catalog.product", lambda: service.create_product(principal, **fields)
    )


@bp.get("/products/<product_id:int>")
@openapi.summary("商品详情")
@authenticated()
async def get_product(request: Request, principal: Principal, product_id: int) -> HTTPResponse:
    return ok(await service.get_product(principal.brand_id, product_id))


@bp.patch("/products/<product_id:int>")
@openapi.summary("修改商品：名称、分类、描述、图片（按顺序）、上下架")
@authenticated(*BRAND_ROLES)
@json_body(ProductPatch)
async def update_product(
    request: Request, principal: Principal, product_id: int, body: ProductPatch
) -> HTTPResponse:
    return ok(await service.update_product(principal, product_id, patch_changes(body)))


@bp.post("/products/<product_id:int>/skus")
@openapi.summary("为商品新增规格")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(SkuBody)
async def add_sku(
    request: Request, principal: Principal, product_id: int, body: SkuBody
) -> HTTPResponse:
    fields = body.model_dump()
    return await _created(
        request, principal, "catalog.sku", lambda: service.add_sku(principal, product_id, fields)
    )


@bp.get("/skus/<sku_id:int>")
@openapi.summary("规格详情（含商品名称）")
@authenticated(*BRAND_ROLES)
async def get_sku(request: Request, principal: Principal, sku_id: int) -> HTTPResponse:
    return ok(await service.get_sku(principal.brand_id, sku_id))


@bp.patch("/skus/<sku_id:int>")
@openapi.summary("修改规格（价格、箱规、起订量、上下架）")
@authenticated(*BRAND_ROLES)
@json_body(SkuPatch)
async def update_sku(
    request: Request, principal: Principal, sku_id: int, body: SkuPatch
) -> HTTPResponse:
    changes = patch_changes(body, nullable=frozenset({"barcode"}))
    return ok(await service.update_sku(principal, sku_id, changes))


@bp.post("/price-entries")
@openapi.summary("新增价格（按经销商、门店等级、阶梯数量）")
@authenticated(*BRAND_ROLES)
@json_body(PriceEntryBody)
async def add_price_entry(
    request: Request, principal: Principal, body: PriceEntryBody
) -> HTTPResponse:
    if body.distributor_id is not None:
        await org_service.get_distributor(principal, body.distributor_id)
    return ok(await service.add_price_entry(principal, **body.model_dump()), status=201)


@bp.get("/skus/<sku_id:int>/price-entries")
@openapi.summary("规格的全部价格")
@authenticated(*BRAND_ROLES)
async def list_price_entries(request: Request, principal: Principal, sku_id: int) -> HTTPResponse:
    return ok({"items": await service.list_price_entries(principal.brand_id, sku_id)})


@bp.put("/skus/<sku_id:int>/prices")
@openapi.summary("整组设置规格的阶梯价（某经销商和/或某门店等级）：起订数量不能重复，单价须大于 0")
@authenticated(*BRAND_ROLES)
@json_body(LadderBody)
async def set_prices(
    request: Request, principal: Principal, sku_id: int, body: LadderBody
) -> HTTPResponse:
    if body.distributor_id is not None:
        await org_service.get_distributor(principal, body.distributor_id)
    steps = [service.LadderStep(t.min_qty, t.unit_price_fen) for t in body.tiers]
    entries = await service.set_price_ladder(
        principal,
        sku_id,
        distributor_id=body.distributor_id,
        store_tier=body.store_tier,
        steps=steps,
    )
    return ok({"items": entries})


@bp.get("/skus/<sku_id:int>/price-ladder")
@openapi.summary(
    "门店看到的阶梯价：某经销商的某等级门店（或某门店）在各数量下的单价，与下单报价同一算法"
)
@documented_query(LadderQuery)
@authenticated(*BRAND_ROLES)
async def price_ladder(request: Request, principal: Principal, sku_id: int) -> HTTPResponse:
    query = parse_query(request, LadderQuery)
    distributor_id, tier = query.distributor_id, query.store_tier
    if query.store_id is not None:
        store = await org_service.get_store(principal, query.store_id)
        distributor_id, tier = store["distributor_id"], store["tier"]
    elif distributor_id is None or tier is None:
        missing = "distributor_id" if distributor_id is None else "store_tier"
        raise InvalidInput(
            "请选择经销商和门店等级，或选择一家门店",
            details=[{"field": missing, "type": "missing", "message": "必填"}],
        )
    else:
        await org_service.get_distributor(principal, distributor_id)
    assert principal.brand_id is not None and distributor_id is not None and tier is not None
    return ok(await service.price_ladder(principal.brand_id, distributor_id, tier, sku_id))


@bp.get("/skus/<sku_id:int>/distributors")
@openapi.summary("各经销商是否供应该规格及其库存")
@authenticated(*BRAND_ROLES)
async def sku_distributors(request: Request, principal: Principal, sku_id: int) -> HTTPResponse:
    assert principal.brand_id is not None
    distributors = await org_service.list_distributors(principal)
    items = await service.sku_at_distributors(principal.brand_id, sku_id, distributors)
    return ok({"items": items})


async def _acting_distributor(principal: Principal, requested: int | None) -> int:
    distributor_id = service.acting_distributor(principal, requested)
    if distributor_id is None:
        raise InvalidInput(
            details=[{"field": "distributor_id", "type": "missing", "message": "必填"}]
        )
    await org_service.get_distributor(principal, distributor_id)  # 404 outside the caller's scope
    return distributor_id


@bp.put("/skus/<sku_id:int>/availability")
@openapi.summary("经销商是否供应该规格")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
@json_body(AvailabilityBody)
async def set_availability(
    request: Request, principal: Principal, sku_id: int, body: AvailabilityBody
) -> HTTPResponse:
    distributor_id = await _acting_distributor(principal, body.distributor_id)
    return ok(
        await service.set_availability(
            principal, distributor_id, sku_id, is_available=body.is_available
        )
    )


@bp.put("/skus/<sku_id:int>/low-stock")
@openapi.summary("设置经销商该规格的库存预警值")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
@json_body(LowStockBody)
async def set_low_stock(
    request: Request, principal: Principal, sku_id: int, body: LowStockBody
) -> HTTPResponse:
    distributor_id = await _acting_distributor(principal, body.distributor_id)
    return ok(
        await service.set_low_stock_threshold(
            principal, distributor_id, sku_id, threshold=body.threshold
        )
    )


@bp.post("/skus/<sku_id:int>/stock")
@openapi.summary(
    "调整经销商库存：增减数量（delta）或盘点数（set_to），须选原因；不低于 0，留下调整记录"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
@json_body(StockBody)
async def adjust_stock(
    request: Request, principal: Principal, sku_id: int, body: StockBody
) -> HTTPResponse:
    if body.delta == 0:  # a person changing nothing meant something else
        raise service.refused_adjustment("delta", "调整数量不能为 0")
    distributor_id = await _acting_distributor(principal, body.distributor_id)
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="catalog.stock_adjustment",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.adjust_stock(
            principal,
            distributor_id,
            sku_id,
            delta=body.delta,
            set_to=body.set_to,
            reason=service.StockReason(body.reason),
            note=body.note,
        ),
    )


@bp.get("/skus/<sku_id:int>/stock/adjustments")
@openapi.summary("规格在经销商处的库存调整记录（最新在前，用 before 翻页）")
@documented_query(AdjustmentQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_adjustments(request: Request, principal: Principal, sku_id: int) -> HTTPResponse:
    query = parse_query(request, AdjustmentQuery)
    distributor_id = await _acting_distributor(principal, query.distributor_id)
    limit = query.bounded_limit()
    items = await service.list_adjustments(
        principal, distributor_id, sku_id, before=query.before, limit=limit
    )
    return ok(newest_first(items, limit))


@bp.get("/stock")
@openapi.summary(
    "经销商的库存：每个规格的库存、门店是否可订、预警值；按名称或条码搜索、按分类或库存不足筛选"
)
@documented_query(StockQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_stock(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, StockQuery)
    distributor_id = await _acting_distributor(principal, query.distributor_id)
    assert principal.brand_id is not None  # staff of both kinds belong to a brand
    limit = query.bounded_limit()
    items = await service.list_stock(
        principal.brand_id,
        distributor_id,
        text=query.q,
        category_id=query.category_id,
        low=query.low,
        after=query.after,
        limit=limit,
    )
    low_count = await service.low_stock_count(principal.brand_id, distributor_id)
    return ok({**page(items, limit), "low_count": low_count})


@bp.get("/skus")
@openapi.summary("门店看到的商品：按名称、条码、分类或商品搜索，含该门店的价格、阶梯价与库存")
@documented_query(SkuQuery)
@authenticated()
async def search(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, SkuQuery)
    store = await org_service.store_for_ordering(principal, query.store_id)
    limit = query.bounded_limit()
    items = await service.search_for_store(
        store.brand_id,
        store.distributor_id,
        store.tier,
        text=query.q,
        barcode=query.barcode,
        category_id=query.category_id,
        after=query.after,
        limit=limit,
        product_id=query.product_id,
    )
    return ok(page(items, limit))
