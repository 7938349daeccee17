"""Display programs (陈列有礼): the brand writes and publishes them, distributors read them,
store owners sign them; signed agreements are shown as documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from functools import wraps
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.display import service, terms
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    Role,
    authenticated,
)
from backend.infra.http import (
    BODY,
    Id,
    Instant,
    Listing,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    newest_first,
    ok,
    parse_body,
    parse_query,
    patch_changes,
    responds,
)
from backend.infra.idempotency import create_once
from backend.infra.storage import storage_for
from backend.kernel.errors import InvalidInput
from backend.org import service as org_service

bp = Blueprint("display_routes", url_prefix="/api/v1/display")
Handler = Callable[..., Awaitable[HTTPResponse]]


# ---- request shapes ------------------------------------------------------------------------------


class SamplePhoto(RequestModel):
    url: str = Field(min_length=1, max_length=500, description="经 /uploads/images 上传的图片地址")
    width: int = Field(ge=1, le=20_000)
    height: int = Field(ge=1, le=20_000)


class RewardBody(RequestModel):
    kind: Literal["points", "cash", "voucher"] = Field(description="积分、现金（分）或兑换券")
    amount: int = Field(
        ge=1, le=100_000_000, description="积分数 1–1000万；现金分 1–1亿；兑换券张数 1–10"
    )
    template_id: Id | None = Field(default=None, description="兑换券：品牌启用中的兑换券模板")
    value_fen: int = Field(default=0, ge=0, le=10_000_000, description="兑换券：每张的价值（分）")


AudienceBody = org_service.AudienceBody
AUDIENCE_KEYS = tuple(AudienceBody.model_fields)


class ProgramFields(RequestModel):
    """Every field optional: the shape of a PATCH. ProgramBody below requires them."""

    name: str | None = Field(default=None, min_length=1, max_length=40)
    standard: str | None = Field(
        default=None, min_length=1, max_length=1000, description="陈列标准（文字）"
    )
    sample_photos: list[SamplePhoto] | None = Field(
        default=None, max_length=terms.MAX_SAMPLE_PHOTOS, description="标准示例照片，最多 6 张"
    )
    sku_ids: list[Id] | None = Field(
        default=None,
        min_length=1,
        max_length=terms.MAX_SKUS,
        description="陈列的商品（品牌的 SKU）",
    )
    audience: AudienceBody | None = Field(default=None, description="参与范围；全空为全部门店")
    signup_from: Instant | None = None
    signup_until: Instant | None = Field(default=None, description="报名截止（晚于报名开始）")
    first_check_at: Instant | None = Field(
        default=None, description="第一次检查开始（不早于报名开始）"
    )
    check_count: int | None = Field(default=None, ge=1, le=terms.MAX_CHECKS, description="检查次数")
    check_interval_days: int | None = Field(
        default=None, ge=1, le=terms.MAX_INTERVAL_DAYS, description="两次检查间隔天数"
    )
    check_window_days: int | None = Field(
        default=None,
        ge=1,
        le=terms.MAX_INTERVAL_DAYS,
        description="每次检查可拍照天数（不超过间隔）",
    )
    photos_required: int | None = Field(default=None, ge=1, le=terms.MAX_PHOTOS)
    distance_limit_m: int | None = Field(
        default=None,
        ge=terms.MIN_DISTANCE_M,
        le=terms.MAX_DISTANCE_M,
        description="拍摄地点距门店上限（米）",
    )
    check_reward: RewardBody | None = Field(default=None, description="每次检查通过的奖励")
    completion_reward: RewardBody | None = Field(default=None, description="全部检查通过的奖励")
    budget_fen: int | None = Field(default=None, ge=1, le=terms.MAX_BUDGET_FEN)
    max_stores: int | None = Field(default=None, ge=1, le=terms.MAX_STORES)
    salesperson_reviews_first: bool | None = Field(
        default=None, description="允许门店的业务员先行初审"
    )
    agreement_text: str | None = Field(default=None, min_length=20, max_length=20_000)


class ProgramBody(ProgramFields):
    name: str = Field(min_length=1, max_length=40)
    standard: str = Field(min_length=1, max_length=1000, description="陈列标准（文字）")
    sample_photos: list[SamplePhoto] = Field(
        default_factory=list, max_length=terms.MAX_SAMPLE_PHOTOS
    )
    sku_ids: list[Id] = Field(min_length=1, max_length=terms.MAX_SKUS)
    audience: AudienceBody = Field(default_factory=AudienceBody)
    signup_from: Instant
    signup_until: Instant
    first_check_at: Instant
    check_count: int = Field(ge=1, le=terms.MAX_CHECKS)
    check_interval_days: int = Field(ge=1, le=terms.MAX_INTERVAL_DAYS)
    check_window_days: int = Field(ge=1, le=terms.MAX_INTERVAL_DAYS)
    photos_required: int = Field(default=1, ge=1, le=terms.MAX_PHOTOS)
    distance_limit_m: int = Field(default=300, ge=terms.MIN_DISTANCE_M, le=terms.MAX_DISTANCE_M)
    budget_fen: int = Field(ge=1, le=terms.MAX_BUDGET_FEN)
    max_stores: int = Field(ge=1, le=terms.MAX_STORES)
    salesperson_reviews_first: bool = False
    agreement_text: str = Field(min_length=20, max_length=20_000)


# Only the reward fields may be set to null (no reward of that kind).
NULLABLE = frozenset(terms.REWARD_FIELDS)


def _normal(fields: dict[str, Any]) -> dict[str, Any]:
    """Stored as compared: times in UTC (SQLite compares them as text), ids unique (SKUs in
    the order given, audiences sorted), rewards with every key."""
    for key in ("signup_from", "signup_until", "first_check_at"):
        if fields.get(key) is not None:
            fields[key] = fields[key].astimezone(UTC)
    if "sku_ids" in fields:
        fields["sku_ids"] = list(dict.fromkeys(fields["sku_ids"]))
    # A PATCH's dump leaves out what the client did not send, inside objects too.
    if fields.get("audience") is not None:
        audience = fields["audience"]
        fields["audience"] = {key: sorted(set(audience.get(key, ()))) for key in AUDIENCE_KEYS}
    for key in terms.REWARD_FIELDS:
        if fields.get(key) is not None:
            fields[key] = {"template_id": None, "value_fen": 0, **fields[key]}
    return fields


def program_body(model: type[ProgramFields]) -> Callable[[Handler], Handler]:
    """Like json_body, but every problem with the payload (malformed, missing, wrong type,
    out of bounds) is 400 display.invalid with details [{field, message}], as the problems
    the service finds across fields are."""

    def decorator(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                body = parse_body(request, model)
                # A new program is every field (defaults too); a change only those sent.
                changes = (
                    body.model_dump() if model is ProgramBody else patch_changes(body, NULLABLE)
                )
                kwargs["fields"] = _normal(changes)
            except InvalidInput as exc:
                details = [
                    {"field": item["field"], "message": item["message"]}
                    for item in exc.details or [{"field": "body", "message": exc.text}]
                ]
                raise service.ProgramInvalid(details[0]["message"], details=details) from exc
            return await handler(request, *args, **kwargs)

        setattr(wrapper, BODY, (model, True))
        return wrapper

    return decorator


class ProgramQuery(PageQuery):
    before: Id | None = None
    status: Literal["draft", "published", "ended"] | None = None
    q: str | None = Field(default=None, max_length=40, description="按名称搜索")


class SigningQuery(PageQuery):
    before: Id | None = None
    distributor_id: Id | None = Field(default=None, description="品牌按经销商筛选")
    status: Literal["active", "completed", "ended"] | None = None


class SignBody(RequestModel):
    signer_name: str = Field(min_length=2, max_length=32, description="签约人姓名")
    agreement_version: int = Field(ge=1, le=1_000_000, description="所阅读的协议版本")
    agreed: bool = Field(description="已阅读并同意协议，须为 true")

    @field_validator("agreed")
    @classmethod
    def _must_agree(cls, agreed: bool) -> bool:
        if not agreed:
            raise ValueError("请先阅读并同意协议")
        return agreed


# ---- response shapes (for /docs) -----------------------------------------------------------------


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class RewardOut(Open):
    kind: str
    amount: int
    template_id: int | None
    value_fen: int
    cost_fen: int = Field(description="每发放一次占用的预算（分）")
    text: str = Field(description="如「兑换券 2 张（价值 ¥60.00）」")


class CheckOut(Open):
    id: int | None = Field(description="草稿时为 null")
    seq: int
    opens_at: str
    closes_at: str


class ProgramOut(Open):
    id: int
    status: Literal["draft", "published", "ended"]
    phase: Literal["draft", "upcoming", "signing", "running", "finished", "ended"]
    name: str
    check_reward: RewardOut | None
    completion_reward: RewardOut | None
    spent_fen: int
    signed_count: int
    agreement_version: int
    agreement_text: str = Field(description="列表中不含")
    skus: list[dict[str, Any]]
    checks: list[CheckOut] = Field(description="列表中不含")
    editable: Literal["all", "limited"] = Field(
        description="limited：已有门店签约，仅可改预算、名额、报名截止"
    )
    actions: list[Literal["edit", "publish", "end"]]


class SigningRow(Open):
    id: int
    store: dict[str, Any]
    distributor: dict[str, Any]
    region: dict[str, Any] | None
    signer_name: str
    signed_at: str
    status: Literal["active", "completed", "ended"]
    passed_checks: int
    check_count: int
    agreement_version: int


class DocumentOut(Open):
    id: int
    program: dict[str, Any]
    brand: dict[str, Any]
    store: dict[str, Any]
    signer_name: str
    signer_phone: str
    signed_by_user_id: int
    signed_at: str
    agreement_version: int
    agreement_text: str
    terms: dict[str, Any] = Field(description="签约时的活动条款快照")


class StoreProgramOut(Open):
    id: int
    name: str
    agreement_version: int
    agreement_text: str
    places_left: int
    state: Literal["open", "full", "closed", "signed", "not_eligible"]
    signing_id: int | None


class StoreCheckOut(Open):
    id: int
    seq: int
    opens_at: str
    closes_at: str
    state: Literal["upcoming", "open", "review", "passed", "missed"]
    can_submit: bool
    attempts: int
    submission: dict[str, Any] | None = Field(description="最近一次提交")


class SigningOut(Open):
    id: int
    program: dict[str, Any]
    status: Literal["active", "completed", "ended"]
    signed_at: str
    passed_checks: int
    check_count: int
    next_check: StoreCheckOut | None
    reward_totals: dict[str, int] = Field(description="points、cash_fen、vouchers")


class SigningDetailOut(SigningOut):
    terms: dict[str, Any]
    checks: list[StoreCheckOut]
    rewards: list[dict[str, Any]]


class StorePrograms(BaseModel):
    items: list[StoreProgramOut]


class Signings(BaseModel):
    items: list[SigningOut]


# ---- brand: programs -----------------------------------------------------------------------------


@bp.post("/programs")
@openapi.summary("新建陈列活动（草稿）；内容有误返回 400 display.invalid，details 逐项说明")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@responds(ProgramOut, 201, "已创建的草稿")
@authenticated(*BRAND_ROLES)
@program_body(ProgramBody)
async def create_program(
    request: Request, principal: Principal, fields: dict[str, Any]
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="display.program",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.create_program(principal, fields, now=now),
    )


@bp.get("/programs")
@openapi.summary("陈列活动列表（按 id 倒序翻页，不含协议与检查）；经销商只看面向自己的已发布活动")
@documented_query(ProgramQuery)
@responds(Listing)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_programs(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, ProgramQuery)
    limit = query.bounded_limit()
    items = await service.list_programs(
        principal,
        status=query.status,
        text=query.q,
        before=query.before,
        limit=limit + 1,
        now=request_deps(request).clock.now(),
    )
    return ok(newest_first(items, limit))


@bp.get("/programs/<program_id:int>")
@openapi.summary("陈列活动详情（含协议全文与检查安排）")
@responds(ProgramOut)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def get_program(request: Request, principal: Principal, program_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.get_program(principal, program_id, now=now))


@bp.patch("/programs/<program_id:int>")
@openapi.summary(
    "修改陈列活动：有门店签约前可改全部（已发布时新协议为新版本）；"
    "签约后只能改预算、名额、报名截止，否则 409 display.terms_signed"
)
@responds(ProgramOut)
@authenticated(*BRAND_ROLES)
@program_body(ProgramFields)
async def update_program(
    request: Request, principal: Principal, program_id: int, fields: dict[str, Any]
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.update_program(principal, program_id, fields, now=now))


@bp.post("/programs/<program_id:int>/publish")
@openapi.summary("发布陈列活动：生成各次检查，面向范围内门店开放报名")
@responds(ProgramOut)
@authenticated(*BRAND_ROLES)
async def publish_program(request: Request, principal: Principal, program_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.publish_program(principal, program_id, now=now))


@bp.post("/programs/<program_id:int>/end")
@openapi.summary("提前结束陈列活动：停止报名，之后的检查不再需要提交")
@responds(ProgramOut)
@authenticated(*BRAND_ROLES)
async def end_program(request: Request, principal: Principal, program_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.end_program(principal, program_id, now=now))


@bp.get("/programs/<program_id:int>/signings")
@openapi.summary("活动的签约门店（按 id 倒序翻页）；经销商只看自己的门店")
@documented_query(SigningQuery)
@responds(Listing, description="items 为 SigningRow")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_signings(request: Request, principal: Principal, program_id: int) -> HTTPResponse:
    query = parse_query(request, SigningQuery)
    limit = query.bounded_limit()
    items = await service.list_signings(
        principal,
        program_id,
        distributor_id=query.distributor_id,
        status=query.status,
        before=query.before,
        limit=limit + 1,
    )
    return ok(newest_first(items, limit))


@bp.get("/signings/<signing_id:int>/document")
@openapi.summary(
    "已签协议（签约人、时间、协议版本与全文、签约时的条款）；品牌、门店的经销商和门店本身可看"
)
@responds(DocumentOut)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, *STORE_ROLES)
async def signing_document(request: Request, principal: Principal, signing_id: int) -> HTTPResponse:
    return ok(await service.signing_document(principal, signing_id))


# ---- stores ------------------------------------------------------------------------------------


def _url_of(request: Request) -> Callable[[str], str]:
    return storage_for(request_deps(request).settings.storage).url


@bp.get("/open")
@openapi.summary("本店现在可报名的陈列活动")
@responds(StorePrograms)
@authenticated(*STORE_ROLES)
async def open_programs(request: Request, principal: Principal) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok({"items": await service.open_programs(principal, now=now)})


@bp.get("/store/programs/<program_id:int>")
@openapi.summary(
    "门店看一个陈列活动：协议、检查安排、奖励与本店状态（可报名、已满、已截止、已签约、不符合条件）"
)
@responds(StoreProgramOut)
@authenticated(*STORE_ROLES)
async def store_program(request: Request, principal: Principal, program_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.store_program(principal, program_id, now=now))


@bp.post("/programs/<program_id:int>/sign")
@openapi.summary(
    "店主签约（仅店主）：名额已满 409 display.full，协议已更新 409 display.agreement_changed，"
    "不在范围内 403 display.not_eligible"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@responds(SigningOut, 201, "签约成功")
@authenticated(Role.STORE_OWNER)
@json_body(SignBody)
async def sign(
    request: Request, principal: Principal, program_id: int, body: SignBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return await create_once(
        request,
        scope="display.sign",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.sign(
            principal,
            program_id,
            signer_name=body.signer_name,
            agreement_version=body.agreement_version,
            now=now,
        ),
    )


@bp.get("/mine")
@openapi.summary("本店签约的陈列活动（最新在前），含下一次检查与奖励合计")
@responds(Signings)
@authenticated(*STORE_ROLES)
async def mine(request: Request, principal: Principal) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok({"items": await service.mine(principal, url_of=_url_of(request), now=now)})


@bp.get("/mine/<signing_id:int>")
@openapi.summary("本店的一个签约：条款、每次检查的状态与最近一次提交、已得奖励")
@responds(SigningDetailOut)
@authenticated(*STORE_ROLES)
async def mine_detail(request: Request, principal: Principal, signing_id: int) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.mine_detail(principal, signing_id, url_of=_url_of(request), now=now))
