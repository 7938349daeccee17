"""Product codes over HTTP: 消费者活动与扫码验真领券."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from functools import wraps
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.codes import campaigns, checks
from backend.codes.request import codes_body, codes_query
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, Principal, authenticated
from backend.infra.http import (
    BODY,
    Id,
    Instant,
    Listing,
    PageQuery,
    RequestModel,
    documented_query,
    newest_first,
    ok,
    parse_body,
    patch_changes,
    responds,
)
from backend.infra.idempotency import create_once, respond_once
from backend.kernel.errors import InvalidInput

bp = Blueprint("codes_campaign_routes", url_prefix="/api/v1/codes")
Handler = Callable[..., Awaitable[HTTPResponse]]


# ---- request shapes ------------------------------------------------------------------------------


class CampaignFields(RequestModel):
    """Every field optional: the shape of a PATCH. CampaignBody below requires them."""

    name: str | None = Field(default=None, min_length=1, max_length=40, description="活动名称")
    sku_ids: list[Id] | None = Field(
        default=None,
        min_length=1,
        max_length=campaigns.MAX_SKUS,
        description="参与的商品（品牌的 SKU），最多 50 个",
    )
    starts_at: Instant | None = Field(default=None, description="开始时间（含时区）")
    ends_at: Instant | None = Field(default=None, description="结束时间（晚于开始时间）")
    coupon_value_fen: int | None = Field(
        default=None, ge=1, le=campaigns.MAX_VALUE_FEN, description="每张券的面值（分），1–100000"
    )
    coupon_valid_days: int | None = Field(
        default=None, ge=1, le=campaigns.MAX_VALID_DAYS, description="领券后可核销的天数，1–365"
    )
    budget_fen: int | None = Field(
        default=None,
        ge=1,
        le=campaigns.MAX_BUDGET_FEN,
        description="预算（分）：已发券面值合计不会超过它；发布后只能增加",
    )


class CampaignBody(CampaignFields):
    name: str = Field(min_length=1, max_length=40, description="活动名称")
    sku_ids: list[Id] = Field(min_length=1, max_length=campaigns.MAX_SKUS)
    starts_at: Instant
    ends_at: Instant
    coupon_value_fen: int = Field(ge=1, le=campaigns.MAX_VALUE_FEN)
    coupon_valid_days: int = Field(default=30, ge=1, le=campaigns.MAX_VALID_DAYS)
    budget_fen: int = Field(ge=1, le=campaigns.MAX_BUDGET_FEN)


def _normal(fields: dict[str, Any]) -> dict[str, Any]:
    """Stored as compared: times in UTC (SQLite compares them as text), SKUs unique in the
    order given."""
    for key in ("starts_at", "ends_at"):
        if fields.get(key) is not None:
            fields[key] = fields[key].astimezone(UTC)
    if "sku_ids" in fields:
        fields["sku_ids"] = list(dict.fromkeys(fields["sku_ids"]))
    return fields


def campaign_body(model: type[CampaignFields]) -> Callable[[Handler], Handler]:
    """Like json_body, but every problem with the payload is 400 codes.invalid with details
    [{field, message}], as the problems the service finds across fields are."""

    def decorator(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                body = parse_body(request, model)
                changes = body.model_dump() if model is CampaignBody else patch_changes(body)
            except InvalidInput as exc:
                details = [
                    {"field": item["field"], "message": item["message"]}
                    for item in exc.details or [{"field": "body", "message": exc.text}]
                ]
                raise campaigns.CampaignInvalid(details[0]["message"], details=details) from exc
            kwargs["fields"] = _normal(changes)
            return await handler(request, *args, **kwargs)

        setattr(wrapper, BODY, (model, True))
        return wrapper

    return decorator


class CampaignQuery(PageQuery):
    before: Id | None = None
    status: Literal["draft", "active", "ended"] | None = None
    sku_id: Id | None = Field(default=None, description="只看包含该商品的活动")
    q: str | None = Field(default=None, max_length=40, description="按名称搜索")


class CheckBody(RequestModel):
    code: str = Field(
        min_length=1, max_length=512, description="扫到的内容：物码的链接或 20 位码值"
    )


class CouponQuery(PageQuery):
    before: Id | None = None
    state: Literal["issued", "redeemed", "expired"] | None = Field(
        default=None, description="issued 可使用、redeemed 已核销、expired 已过期"
    )


# ---- response shapes (for /docs) -----------------------------------------------------------------


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CampaignOut(Open):
    id: int
    name: str
    status: Literal["draft", "active", "ended"]
    status_label: str
    phase: Literal["draft", "upcoming", "running", "finished", "ended"]
    phase_label: str
    sku_ids: list[int]
    skus: list[dict[str, Any]]
    starts_at: str
    ends_at: str
    coupon_value_fen: int
    coupon_valid_days: int
    budget_fen: int
    committed_fen: int = Field(description="已发出的券面值合计（分）")
    budget_left_fen: int
    coupons_given: int
    coupons_redeemed: int
    redeemed_fen: int = Field(description="已核销的券面值合计（分）")
    editable: Literal["all", "limited", "none"] = Field(
        description="limited：已发布，只能追加预算或调整结束时间"
    )
    actions: list[Literal["edit", "publish", "end"]]


class CouponOut(Open):
    id: int
    token: str
    qr_text: str = Field(description="券二维码的内容（门店扫码核销）")
    value_fen: int
    expires_at: str
    status: Literal["issued", "redeemed", "expired"]
    status_label: str


class CheckOut(Open):
    genuine: bool
    brand: dict[str, Any]
    product: dict[str, Any] = Field(description="{sku_id, name, spec, image_url}")
    batch: dict[str, Any] = Field(description="{batch_no, produced_on}")
    first_checked_at: str = Field(description="首次查询时间")
    checks: int = Field(description="累计查询次数（含本次）")
    first_check: bool = Field(description="本次是否为首次查询")
    coupon: CouponOut | None = Field(description="本人领到的券；没有为 null")
    coupon_note: str = Field(description="没有券时的说明，如「该商品的券已被领取」「活动券已发完」")


# ---- brand: campaigns ---------------------------------------------------------------------------


@bp.post("/campaigns")
@openapi.summary("新建消费者扫码领券活动（草稿）；内容有误 400 codes.invalid，details 逐项说明")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@responds(CampaignOut, 201, "已创建的草稿")
@authenticated(*BRAND_ROLES)
@campaign_body(CampaignBody)
async def create_campaign(
    request: Request, principal: Principal, fields: dict[str, Any]
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="codes.campaign",
        user_id=principal.user_id,
        now=now,
        create=lambda: campaigns.create_campaign(principal, fields, now=now),
    )


@bp.get("/campaigns")
@openapi.summary("消费者活动列表（按 id 倒序翻页），含发券与核销数字")
@documented_query(CampaignQuery)
@responds(Listing, description="items 为 CampaignOut")
@authenticated(*BRAND_ROLES)
async def list_campaigns(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, CampaignQuery)
    limit = query.bounded_limit()
    items = await campaigns.list_campaigns(
        principal,
        status=query.status,
        sku_id=query.sku_id,
        text=query.q,
        before=query.before,
        limit=limit + 1,
        now=request_deps(request).clock.now(),
    )
    return ok(newest_first(items, limit))


@bp.get("/campaigns/<campaign_id:int>")
@openapi.summary("消费者活动详情，含已发券、已核销张数与金额")
@responds(CampaignOut)
@authenticated(*BRAND_ROLES)
async def get_campaign(request: Request, principal: Principal, campaign_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await campaigns.get_campaign(principal, campaign_id, now=now))


@bp.patch("/campaigns/<campaign_id:int>")
@openapi.summary(
    "修改消费者活动：草稿可改全部；已发布只能增加预算或调整结束时间，"
    "否则 409 codes.campaign_locked；已结束 409 codes.campaign_ended"
)
@responds(CampaignOut)
@authenticated(*BRAND_ROLES)
@campaign_body(CampaignFields)
async def update_campaign(
    request: Request, principal: Principal, campaign_id: int, fields: dict[str, Any]
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await campaigns.update_campaign(principal, campaign_id, fields, now=now))


@bp.post("/campaigns/<campaign_id:int>/publish")
@openapi.summary("发布消费者活动；同一商品与其他进行中活动时间重叠 409 codes.campaign_overlap")
@responds(CampaignOut)
@authenticated(*BRAND_ROLES)
async def publish_campaign(
    request: Request, principal: Principal, campaign_id: int
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await campaigns.publish_campaign(principal, campaign_id, now=now))


@bp.post("/campaigns/<campaign_id:int>/end")
@openapi.summary("提前结束消费者活动：不再发券，已发的券照常可用")
@responds(CampaignOut)
@authenticated(*BRAND_ROLES)
async def end_campaign(request: Request, principal: Principal, campaign_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await campaigns.end_campaign(principal, campaign_id, now=now))


# ---- consumers -----------------------------------------------------------------------------------


@bp.post("/checks")
@openapi.summary(
    "消费者扫物码验真（任何已登录的微信用户）：首次查询时间与次数；品牌有进行中的活动时"
    "发一张绑定该码的券（先扫先得）。箱码 409 codes.wrong_kind，无法识别 404 codes.not_found"
)
@openapi.parameter(
    "Idempotency-Key",
    str,
    location="header",
    required=False,
    description="可选：同一次查询重发时带同一个键，只计一次",
)
@responds(CheckOut)
@authenticated()
@codes_body(CheckBody)
async def check(request: Request, principal: Principal, body: CheckBody) -> HTTPResponse:
    deps = request_deps(request)
    now = deps.clock.now()

    async def work() -> tuple[int, Any]:
        result = await checks.check(
            principal, body.code, public_base_url=deps.settings.public_base_url, now=now
        )
        return 200, result

    if request.headers.get("idempotency-key") is None:
        return ok((await work())[1])
    return await respond_once(
        request, scope="codes.check", owner=f"user:{principal.user_id}", now=now, work=work
    )


@bp.get("/consumer-coupons")
@openapi.summary("我的券（扫码领到的券，所有品牌，最新在前）")
@documented_query(CouponQuery)
@responds(Listing, description="items 为 CouponOut，另含 brand、product、campaign、store")
@authenticated()
async def consumer_coupons(request: Request, principal: Principal) -> HTTPResponse:
    deps = request_deps(request)
    query = codes_query(request, CouponQuery)
    limit = query.bounded_limit()
    items = await checks.my_coupons(
        principal,
        state=query.state,
        before=query.before,
        limit=limit + 1,
        public_base_url=deps.settings.public_base_url,
        now=deps.clock.now(),
    )
    return ok(newest_first(items, limit))
