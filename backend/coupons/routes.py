"""Coupon templates and issuance for brand staff; claiming and the wallet for stores."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.coupons import service
from backend.coupons.models import CouponKind, IssuanceSchedule
from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    authenticated,
)
from backend.infra.http import (
    Id,
    Instant,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    newest_first,
    ok,
    parse_query,
)
from backend.infra.idempotency import create_once, create_once_if_keyed
from backend.org import service as org_service

bp = Blueprint("coupons", url_prefix="/api/v1/coupons")
MAX_FEN = 10**12  # 一百亿元: above any threshold, far below integer limits
MAX_QUANTITY = 99_999
MAX_IDS = org_service.MAX_AUDIENCE_IDS
AudienceBody = org_service.AudienceBody


class ExchangeItem(RequestModel):
    sku_id: Id
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class TermsBody(RequestModel):
    sku_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS, description="适用商品")
    category_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS)
    threshold_fen: int = Field(default=0, ge=0, le=MAX_FEN, description="使用门槛（适用商品金额）")
    amount_off_fen: int | None = Field(default=None, ge=1, le=MAX_FEN, description="满减券的减免")
    percent: Annotated[Decimal, Field(gt=0, lt=100, max_digits=5, decimal_places=2)] | None = Field(
        default=None, description="折扣券：按此百分比付款，9折为 90"
    )
    max_off_fen: int | None = Field(default=None, ge=1, le=MAX_FEN, description="折扣券最多减免")
    exchange: list[ExchangeItem] = Field(
        default_factory=list, max_length=20, description="兑换券：可免费兑换的商品及数量"
    )


class TemplateBody(RequestModel):
    name: str = Field(min_length=1, max_length=40)
    kind: Literal["reduction", "discount", "exchange"]
    terms: TermsBody
    audience: AudienceBody = Field(default_factory=AudienceBody)
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    valid_days: int | None = Field(default=None, ge=1, le=3650, description="领取/发放后有效天数")
    total_quantity: int | None = Field(default=None, ge=1, le=100_000_000)
    per_store_limit: int = Field(default=1, ge=1, le=1000, description="每店可自行领取张数")
    claimable: bool = Field(default=False, description="是否在领券中心供门店领取")

    @model_validator(mode="after")
    def _kind_needs_its_terms(self) -> TemplateBody:
        needed = {
            CouponKind.REDUCTION: ("amount_off_fen", self.terms.amount_off_fen is not None),
            CouponKind.DISCOUNT: ("percent", self.terms.percent is not None),
            CouponKind.EXCHANGE: ("exchange", bool(self.terms.exchange)),
        }[CouponKind(self.kind)]
        if not needed[1]:
            raise ValueError(f"{self.kind} 券须设置 terms.{needed[0]}")
        return self

    def fields(self) -> dict[str, Any]:
        """Plain JSON terms and audience (ids sorted and unique, decimals as text)."""
        fields = self.model_dump(mode="json")
        terms = fields["terms"]
        for key in ("sku_ids", "category_ids"):
            terms[key] = sorted(set(terms[key]))
        fields["audience"] = {key: sorted(set(ids)) for key, ids in fields["audience"].items()}
        # In UTC, like every stored time: SQLite compares them as text.
        for key in ("valid_from", "valid_until"):
            value = getattr(self, key)
            fields[key] = None if value is None else value.astimezone(UTC)
        return fields


class IssuanceBody(RequestModel):
    audience: AudienceBody = Field(default_factory=AudienceBody)
    store_ids: list[Id] = Field(
        default_factory=list, max_length=MAX_IDS, description="指定门店（与上面的范围同时满足）"
    )
    schedule: Literal["once", "monthly"] = "once"
    day_of_month: int | None = Field(default=None, ge=1, le=28, description="每月发放日（1–28）")

    @model_validator(mode="after")
    def _monthly_needs_a_day(self) -> IssuanceBody:
        if (self.schedule == IssuanceSchedule.MONTHLY) != (self.day_of_month is not None):
            raise ValueError("每月发放须设置 day_of_month，一次性发放不设")
        return self

    def fields(self) -> dict[str, Any]:
        fields = self.model_dump(mode="json")
        fields["audience"] = {key: sorted(set(ids)) for key, ids in fields["audience"].items()}
        # The named stores are one more dimension of the batch's audience.
        fields["audience"]["store_ids"] = sorted(set(fields.pop("store_ids")))
        return fields


class TemplateQuery(PageQuery):
    before: Id | None = None
    status: Literal["active", "ended"] | None = None
    kind: Literal["reduction", "discount", "exchange"] | None = None


class ClaimingBody(RequestModel):
    claimable: bool = Field(description="是否在领券中心供门店领取")
    per_store_limit: int = Field(ge=1, le=1000, description="每店可自行领取张数")


class WalletQuery(PageQuery):
    before: Id | None = None
    state: Literal["available", "used", "expired"] | None = None


# ---- brand ------------------------------------------------------------------------------------


@bp.post("/templates")
@openapi.summary("新建优惠券（满减券、折扣券、兑换券）；规则矛盾或引用不存在的商品时返回 422")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(TemplateBody)
async def create_template(
    request: Request, principal: Principal, body: TemplateBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()

    def create() -> Awaitable[dict[str, Any]]:
        return service.create_template(principal, body.fields(), now=now)

    return await create_once_if_keyed(
        request, scope="coupon.template", user_id=principal.user_id, now=now, create=create
    )


@bp.get("/templates")
@openapi.summary(
    "优惠券列表（按状态、类型筛选，按 id 倒序翻页）；figures：发放、领取、使用、过期张数"
)
@documented_query(TemplateQuery)
@authenticated(*BRAND_ROLES)
async def list_templates(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, TemplateQuery)
    limit = query.bounded_limit()
    items = await service.list_templates(
        principal,
        status=query.status,
        kind=query.kind,
        before=query.before,
        limit=limit + 1,
        now=request_deps(request).clock.now(),
    )
    return ok(newest_first(items, limit))


@bp.get("/templates/<template_id:int>")
@openapi.summary("优惠券详情（含已发放数量、剩余库存与发放、领取、使用、过期张数）")
@authenticated(*BRAND_ROLES)
async def get_template(request: Request, principal: Principal, template_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.template_detail(principal, template_id, now=now))


@bp.put("/templates/<template_id:int>/claiming")
@openapi.summary("领券中心设置：是否供门店领取、每店限领张数（已停止的券返回 409）")
@authenticated(*BRAND_ROLES)
@json_body(ClaimingBody)
async def set_claiming(
    request: Request, principal: Principal, template_id: int, body: ClaimingBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(
        await service.set_claiming(
            principal,
            template_id,
            claimable=body.claimable,
            per_store_limit=body.per_store_limit,
            now=now,
        )
    )


@bp.post("/templates/<template_id:int>/end")
@openapi.summary("停止发放与领取（已发出的券在有效期内仍可使用）")
@authenticated(*BRAND_ROLES)
async def end_template(request: Request, principal: Principal, template_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.end_template(principal, template_id, now=now))


@bp.post("/templates/<template_id:int>/issuances")
@openapi.summary("按门店范围批量发券：一次性立即发放，或每月固定日发放")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*BRAND_ROLES)
@json_body(IssuanceBody)
async def create_issuance(
    request: Request, principal: Principal, template_id: int, body: IssuanceBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="coupon.issue",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.create_issuance(principal, template_id, body.fields(), now=now),
    )


@bp.get("/templates/<template_id:int>/issuances")
@openapi.summary("该券的发放批次")
@authenticated(*BRAND_ROLES)
async def list_issuances(request: Request, principal: Principal, template_id: int) -> HTTPResponse:
    return ok({"items": await service.list_issuances(principal, template_id)})


# ---- stores -----------------------------------------------------------------------------------


@bp.get("/claimable")
@openapi.summary("领券中心：本店现在可领取的优惠券")
@authenticated(*STORE_ROLES)
async def claimable(request: Request, principal: Principal) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok({"items": await service.claimable(principal, now=now)})


@bp.post("/templates/<template_id:int>/claim")
@openapi.summary("领取一张优惠券（每店限领；发完即止）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*STORE_ROLES)
async def claim(request: Request, principal: Principal, template_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="coupon.claim",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.claim(principal, template_id, now=now),
    )


@bp.get("/wallet")
@openapi.summary("本店券包（可使用、已使用、已过期）；兑换券附可兑换的商品（exchange）")
@documented_query(WalletQuery)
@authenticated(*STORE_ROLES)
async def wallet(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, WalletQuery)
    limit = query.bounded_limit()
    now = request_deps(request).clock.now()
    items = await service.wallet(
        principal, state=query.state, now=now, limit=limit + 1, before=query.before
    )
    return ok(newest_first(items, limit))


@bp.get("/wallet/<coupon_id:int>")
@openapi.summary("券包中的一张券（兑换券列出可兑换的商品与数量）；其他门店的券为 404")
@authenticated(*STORE_ROLES)
async def wallet_coupon(request: Request, principal: Principal, coupon_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.wallet_coupon(principal, coupon_id, now=now))


@bp.get("/wallet/<coupon_id:int>/history")
@openapi.summary("一张券的记录（发放、领取、使用、退回）")
@authenticated(*STORE_ROLES)
async def history(request: Request, principal: Principal, coupon_id: int) -> HTTPResponse:
    return ok({"items": await service.history(principal, coupon_id)})


# ---- voucher claims (核销) ---------------------------------------------------------------------


class ClaimBody(RequestModel):
    note: str = Field(default="", max_length=200)


class DecisionBody(RequestModel):
    reason: str = Field(default="", max_length=200, description="驳回原因")


class ClaimQuery(PageQuery):
    before: Id | None = None
    status: Literal["submitted", "approved", "settled", "rejected"] | None = None
    distributor_id: Id | None = Field(default=None, description="品牌按经销商筛选")


class ClaimCountsQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    distributor_id: Id | None = Field(default=None, description="品牌按经销商筛选")


async def _fulfilled(principal: Principal) -> list[Any]:
    """The distributor's fulfilled orders that used a coupon (none for other roles)."""
    if principal.distributor_id is None:
        return []
    return await service.ORDERS().fulfilled_with_coupons(principal.distributor_id)


@bp.get("/claims/claimable")
@openapi.summary("可核销的兑换券：本经销商已送达订单中使用、尚未核销的兑换券")
@authenticated(*DISTRIBUTOR_ROLES)
async def claimable_vouchers(request: Request, principal: Principal) -> HTTPResponse:
    items = await service.claimable_vouchers(principal, await _fulfilled(principal))
    return ok({"items": items, "amount_fen": sum(item["amount_fen"] for item in items)})


@bp.post("/claims")
@openapi.summary("提交核销单：向品牌申请已兑付兑换券的货值")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*DISTRIBUTOR_ROLES)
@json_body(ClaimBody)
async def submit_claim(request: Request, principal: Principal, body: ClaimBody) -> HTTPResponse:
    deps = request_deps(request)
    now = deps.clock.now()
    used = await _fulfilled(principal)
    return await create_once(
        request,
        scope="coupon.claim_vouchers",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.submit_claim(deps, principal, used, body.note, now=now),
    )


@bp.get("/claims")
@openapi.summary("核销单列表（品牌看全部，可按经销商筛选；经销商看自己的）")
@documented_query(ClaimQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_claims(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, ClaimQuery)
    limit = query.bounded_limit()
    items = await service.list_claims(
        principal,
        status=query.status,
        distributor_id=query.distributor_id,
        before=query.before,
        limit=limit + 1,
    )
    return ok(newest_first(items, limit))


@bp.get("/claims/counts")
@openapi.summary("核销单各状态的数量与金额（品牌看全部，可按经销商；经销商看自己的）")
@documented_query(ClaimCountsQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def claim_counts(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, ClaimCountsQuery)
    return ok(await service.claim_counts(principal, query.distributor_id))


@bp.get("/claims/<claim_id:int>")
@openapi.summary("核销单详情（含每张兑换券及其订单）")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def get_claim(request: Request, principal: Principal, claim_id: int) -> HTTPResponse:
    return ok(await _with_orders(await service.get_claim(principal, claim_id)))


async def _with_orders(claim: dict[str, Any]) -> dict[str, Any]:
    """Each voucher's order named by its number and store."""
    labels = await service.ORDERS().order_labels(
        claim["distributor_id"], [item["order_id"] for item in claim["items"]]
    )
    for item in claim["items"]:
        item.update(labels.get(item["order_id"], {"order_no": "", "store_name": ""}))
    return claim


@bp.post("/claims/<claim_id:int>/<action:approve|reject|settle>")
@openapi.summary("品牌确认、驳回（可附 {reason}）或结算核销单")
@authenticated(*BRAND_ROLES)
# The body is optional: only a rejection has something to say.
@json_body(DecisionBody, required=False)
async def decide_claim(
    request: Request, principal: Principal, claim_id: int, action: str, body: DecisionBody
) -> HTTPResponse:
    deps = request_deps(request)
    decided = await service.decide_claim(
        deps, principal, claim_id, action, reason=body.reason, now=deps.clock.now()
    )
    return ok(await _with_orders(decided))
