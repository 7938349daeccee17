"""Promotion administration for brand staff, the simulator, and what a store sees running."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.catalog.service import RequestedLine
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, STORE_ROLES, Principal, Role, authenticated
from backend.infra.exports import MEDIA_TYPES
from backend.infra.http import (
    Id,
    Instant,
    PageQuery,
    RequestModel,
    attachment,
    documented_query,
    json_body,
    ok,
    page,
    parse_query,
    responds,
    responds_file,
)
from backend.infra.idempotency import create_once_if_keyed
from backend.org import service as org_service
from backend.promotions import results, rules, service

bp = Blueprint("promotions", url_prefix="/api/v1/promotions")
MAX_FEN = 10**12  # 一百亿元: above any budget or threshold, far below integer limits
MAX_IDS = org_service.MAX_AUDIENCE_IDS
AudienceBody = org_service.AudienceBody
MAX_QUANTITY = 99_999
Percent = Annotated[Decimal, Field(gt=0, le=1000, max_digits=7, decimal_places=2)]


class BundlePartBody(RequestModel):
    sku_id: Id
    set_quantity: int = Field(
        default=1, ge=1, le=rules.MAX_SET_QUANTITY, description="一套中该商品的件数"
    )


class ScopeBody(RequestModel):
    sku_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS)
    category_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS)
    bundle: list[BundlePartBody] = Field(
        default_factory=list,
        max_length=rules.MAX_BUNDLE_PARTS,
        description="组合（套装）：每种商品及一套中的件数，如滤芯 2 件 + 净水器 1 台",
    )
    bundle_mode: Literal["sets", "all_present"] = Field(
        default="sets",
        description="sets：只按凑齐的整套计算，多出的件数按原价（默认）；"
        "all_present：各商品都够一套后，组合内商品全部参与（旧规则）",
    )
    bundle_sku_ids: list[Id] = Field(
        default_factory=list,
        max_length=rules.MAX_BUNDLE_PARTS,
        description="旧写法，等同于 bundle 中每种商品各 1 件；不能与 bundle 同时使用",
        json_schema_extra={"deprecated": True},
    )

    def stored(self) -> dict[str, Any]:
        """The scope as rules store it: ids sorted and unique, the bundle by SKU (a repeated
        SKU is kept for the rule check to name), the old `bundle_sku_ids` as sets of one."""
        if self.bundle and self.bundle_sku_ids:
            raise service.InvalidRule(
                "bundle_sku_ids 是旧写法，不能与 bundle 同时使用",
                details=[
                    {
                        "field": "scope.bundle_sku_ids",
                        "code": "promotion.bundle_two_forms",
                        "message": "bundle_sku_ids 是旧写法，不能与 bundle 同时使用",
                    }
                ],
            )
        parts = [(part.sku_id, part.set_quantity) for part in self.bundle] or [
            (sku_id, 1) for sku_id in sorted(set(self.bundle_sku_ids))
        ]
        return {
            "sku_ids": sorted(set(self.sku_ids)),
            "category_ids": sorted(set(self.category_ids)),
            "bundle": [
                {"sku_id": sku_id, "set_quantity": quantity} for sku_id, quantity in sorted(parts)
            ],
            "bundle_mode": self.bundle_mode,
        }


class ConditionsBody(RequestModel):
    min_quantity: int = Field(default=0, ge=0, le=10_000_000)
    min_amount_fen: int = Field(default=0, ge=0, le=MAX_FEN)


class GiftReward(RequestModel):
    kind: Literal["gift"]
    sku_id: Id
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    per_multiple: bool = False


class SpecialPriceReward(RequestModel):
    kind: Literal["special_price"]
    unit_price_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    percent_of_list: Percent | None = None


class ReductionReward(RequestModel):
    kind: Literal["reduction"]
    threshold_fen: int = Field(ge=1, le=MAX_FEN)
    amount_off_fen: int = Field(ge=1, le=MAX_FEN)
    every: bool = False


class DiscountReward(RequestModel):
    kind: Literal["discount"]
    percent: Annotated[Decimal, Field(gt=0, lt=100, max_digits=5, decimal_places=2)]


class RebateReward(RequestModel):
    kind: Literal["rebate"]
    percent: Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]
    base: Literal["list", "paid"] = "paid"


class PointsReward(RequestModel):
    kind: Literal["points"]
    per_yuan: Percent
    threshold_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    multiplier: Annotated[Decimal, Field(ge=1, le=100, max_digits=5, decimal_places=2)] = Decimal(1)


Reward = Annotated[
    GiftReward
    | SpecialPriceReward
    | ReductionReward
    | DiscountReward
    | RebateReward
    | PointsReward,
    Field(discriminator="kind"),
]


class PromotionBody(RequestModel):
    name: str = Field(min_length=1, max_length=64)
    starts_at: Instant
    ends_at: Instant
    reward: Reward
    stacking: Literal["shared", "exclusive"] = "shared"
    step: Literal[1, 2, 3] | None = Field(
        default=None, description="1 单价（特价）；2 整单（满减等）；3 在前两步之后（如叠加折扣）"
    )
    priority: int = Field(default=0, ge=0, le=10_000)
    per_store_limit: int | None = Field(default=None, ge=0, le=1_000_000)
    budget_fen: int | None = Field(default=None, ge=1, le=MAX_FEN)
    audience: AudienceBody = Field(default_factory=AudienceBody)
    channels: list[Literal["self", "proxy", "live"]] = Field(default_factory=list, max_length=3)
    scope: ScopeBody = Field(default_factory=ScopeBody)
    conditions: ConditionsBody = Field(default_factory=ConditionsBody)

    def fields(self) -> dict[str, Any]:
        """Plain JSON values (Decimals as text, ids sorted and unique) plus the resolved step."""
        fields = self.model_dump(mode="json")
        fields["starts_at"], fields["ends_at"] = self.starts_at, self.ends_at
        fields["step"] = self.step or rules.DEFAULT_STEP[self.reward.kind]
        fields["audience"] = {key: sorted(set(ids)) for key, ids in fields["audience"].items()}
        fields["scope"] = self.scope.stored()
        fields["channels"] = sorted(set(fields["channels"]))
        return fields


class SimulationLine(RequestModel):
    sku_id: Id
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class SimulationBody(RequestModel):
    store_id: Id
    at: Instant | None = Field(default=None, description="模拟的时间点，默认现在")
    channel: Literal["self", "proxy", "live"] = "self"
    lines: list[SimulationLine] = Field(min_length=1, max_length=200)
    also_promotion_ids: list[Id] = Field(
        default_factory=list, max_length=50, description="一并试算的草稿或已暂停活动"
    )


class PromotionQuery(PageQuery):
    before: Id | None = None
    status: Literal["draft", "active", "paused", "ended"] | None = None


class CurrentQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    sku_id: Id | None = Field(default=None, description="只看可用于该规格的活动")
    store_id: Id | None = Field(default=None, description="业务员查看所服务门店的活动时指定")


@bp.post("")
@openapi.summary(
    "新建活动（草稿）；规则矛盾或引用不存在的商品时返回 422 并指明字段；"
    "带 Idempotency-Key 时重试不会重复创建"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(PromotionBody)
async def create_promotion(
    request: Request, principal: Principal, body: PromotionBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()

    def create() -> Awaitable[dict[str, Any]]:
        return service.create_promotion(principal, body.fields(), now=now)

    return await create_once_if_keyed(
        request, scope="promotion.create", user_id=principal.user_id, now=now, create=create
    )


@bp.get("")
@openapi.summary("活动列表（按状态筛选，按 id 倒序翻页）")
@documented_query(PromotionQuery)
@authenticated(*BRAND_ROLES)
async def list_promotions(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, PromotionQuery)
    limit = query.bounded_limit()
    items = await service.list_promotions(
        principal, status=query.status, before=query.before, limit=limit
    )
    listed = page(items, limit)
    return ok({"items": listed["items"], "next_before": listed["next_after"]})


class PromotionCounts(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="draft、active、paused、ended 各自的活动数")


class BudgetDay(BaseModel):
    day: date = Field(description="中国时间的日期")
    taken_fen: int = Field(description="当天下单占用")
    given_back_fen: int = Field(description="当天取消、过期或全额退款归还")
    committed_fen: int = Field(description="当天结束时的累计占用")


class BudgetByDay(BaseModel):
    promotion_id: int
    budget_fen: int | None = Field(description="活动资金；null 为不限")
    committed_fen: int
    orders: int = Field(description="仍享有本活动的订单数（已归还的不计）")
    stores: int = Field(description="这些订单的门店数")
    days: list[BudgetDay] = Field(description="有占用或归还的日子，由早到晚")


@bp.get("/counts")
@openapi.summary("各状态的活动数（活动列表的标签页）")
@responds(PromotionCounts)
@authenticated(*BRAND_ROLES)
async def promotion_counts(request: Request, principal: Principal) -> HTTPResponse:
    return ok(await service.status_counts(principal))


class ExportQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["draft", "active", "paused", "ended"] | None = None
    format: Literal["csv", "xlsx"] = "csv"


ENCODERS = {"csv": results.csv_file, "xlsx": results.xlsx_file}


@bp.get("/export")
@openapi.summary("导出活动效果（CSV 或 XLSX）：每个活动的参与订单数、门店数、优惠及返利金额与资金")
@documented_query(ExportQuery)
@responds_file(*MEDIA_TYPES.values(), description="活动效果表格")
@authenticated(*BRAND_ROLES)
async def export_results(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, ExportQuery)
    encode = ENCODERS[query.format]
    rows = await service.result_rows(principal, status=query.status)
    today = results.china_day(request_deps(request).clock.now())
    name = f"promotions-{today:%Y%m%d}.{query.format}"
    return attachment(encode(rows), name, MEDIA_TYPES[query.format])


@bp.get("/current")
@openapi.summary(
    "门店可参加的进行中活动：名称、奖励说明、时间、适用商品与分类（可按规格筛选）；不含活动资金"
)
@documented_query(CurrentQuery)
@authenticated(*STORE_ROLES, Role.SALESPERSON)
async def current_promotions(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, CurrentQuery)
    items = await service.current_for_store(
        principal,
        store_id=query.store_id,
        sku_id=query.sku_id,
        now=request_deps(request).clock.now(),
    )
    return ok({"items": items})


@bp.get("/<promotion_id:int>")
@openapi.summary("活动详情（含资金使用情况）")
@authenticated(*BRAND_ROLES)
async def get_promotion(request: Request, principal: Principal, promotion_id: int) -> HTTPResponse:
    return ok(await service.get_promotion(principal, promotion_id))


@bp.get("/<promotion_id:int>/budget")
@openapi.summary("活动资金流水（每笔下单占用与取消/退款归还，含累计占用）")
@documented_query(PageQuery)
@authenticated(*BRAND_ROLES)
async def budget_entries(request: Request, principal: Principal, promotion_id: int) -> HTTPResponse:
    query = parse_query(request, PageQuery)
    limit = query.bounded_limit()
    entries = await service.budget_entries(principal, promotion_id, after=query.after, limit=limit)
    return ok(page(entries, limit))


@bp.get("/<promotion_id:int>/budget/daily")
@openapi.summary(
    "活动资金按天汇总（中国时间）：每天占用、归还与当天结束时的累计占用，及参与订单与门店数"
)
@responds(BudgetByDay)
@authenticated(*BRAND_ROLES)
async def budget_by_day(request: Request, principal: Principal, promotion_id: int) -> HTTPResponse:
    return ok(await service.budget_by_day(principal, promotion_id))


@bp.put("/<promotion_id:int>")
@openapi.summary("修改活动（仅草稿或已暂停的活动；整体替换并重新校验）")
@authenticated(*BRAND_ROLES)
@json_body(PromotionBody)
async def update_promotion(
    request: Request, principal: Principal, promotion_id: int, body: PromotionBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.update_promotion(principal, promotion_id, body.fields(), now=now))


@bp.post("/<promotion_id:int>/<action:activate|pause|end>")
@openapi.summary("启用、暂停或结束活动")
@authenticated(*BRAND_ROLES)
async def move_promotion(
    request: Request, principal: Principal, promotion_id: int, action: str
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.move_promotion(principal, promotion_id, action, now=now))


@bp.post("/simulate")
@openapi.summary("活动试算：以任一门店、任一时间点、任一渠道为购物车报价")
@authenticated(*BRAND_ROLES)
@json_body(SimulationBody)
async def simulate(request: Request, principal: Principal, body: SimulationBody) -> HTTPResponse:
    at: datetime = body.at or request_deps(request).clock.now()
    result = await service.simulate(
        principal,
        store_id=body.store_id,
        at=at,
        channel=body.channel,
        lines=[RequestedLine(line.sku_id, line.quantity) for line in body.lines],
        also=body.also_promotion_ids,
    )
    return ok(result)
