"""Complaints: filing (stores), the queue and the workflow (brand and distributor staff)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.complaints import service
from backend.complaints.states import Action
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
    uploads,
)
from backend.infra.idempotency import create_once

bp = Blueprint("complaints", url_prefix="/api/v1/complaints")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVERYONE = (*BRAND_ROLES, *DISTRIBUTOR_ROLES, *STORE_ROLES)
Category = Literal["quality", "damaged", "delivery", "wrong_goods", "service", "promotion", "other"]


class ComplaintBody(RequestModel):
    category: Category = Field(
        description="质量问题、货损、配送延迟或未送达、发错货、经销商服务、活动未兑现、其他"
    )
    order_id: Id | None = Field(default=None, description="相关订单（须为本店订单）")
    photo_ids: list[Id] = Field(
        default_factory=list, max_length=9, description="先上传的图片 id，最多 9 张"
    )
    text: str = Field(min_length=1, max_length=2000, description="去掉首尾空白后不能为空")
    contact_preference: Literal["phone", "wechat", "none"] = "phone"


class ActionBody(RequestModel):
    message: str = Field(default="", max_length=2000, description="给门店的说明（可选）")
    distributor_id: Id | None = Field(default=None, description="转交的经销商，默认门店所属经销商")


class NoteBody(RequestModel):
    message: str = Field(min_length=1, max_length=2000)
    internal: bool = Field(default=False, description="内部备注：仅品牌与经销商可见")


class ContentReviewBody(RequestModel):
    decision: Literal["approved", "rejected"] = Field(
        description="approved 通过；rejected 不通过（对经销商隐藏原文）"
    )


class RatingBody(RequestModel):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=200)


class ComplaintQuery(PageQuery):
    before: Id | None = None
    status: (
        Literal["new", "acknowledged", "assigned", "responded", "resolved", "reopened", "closed"]
        | None
    ) = None
    category: Category | None = None
    distributor_id: Id | None = None
    store_id: Id | None = Field(default=None, description="只看该门店的投诉（门店页）")
    breached: bool | None = Field(default=None, description="只看（或排除）已超时的投诉")
    needs_review: bool = Field(default=False, description="只看内容安全检测待人工审核的投诉")
    archived: bool = Field(
        default=False, description="只看已结投诉（已解决、已关闭）：投诉档案，新的在前"
    )
    sort: Literal["newest", "due"] = Field(
        default="newest", description="due：未结投诉按服务时限到期先后排列（队列视图）"
    )
    due_after: Instant | None = Field(default=None, description="sort=due 的翻页游标")
    id_after: Id | None = None


class MetricsQuery(RequestModel):
    days: int = Field(default=30, ge=1, le=366, description="统计最近多少天内提交的投诉")


class SlaBody(RequestModel):
    first_response_minutes: int = Field(ge=1, le=60 * 24 * 30)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 90)


@bp.post("")
@openapi.summary("门店提交投诉（分类、可选订单、文字、联系方式偏好）")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*STORE_ROLES)
@json_body(ComplaintBody)
async def file_complaint(
    request: Request, principal: Principal, body: ComplaintBody
) -> HTTPResponse:
    fields = body.model_dump()
    deps = request_deps(request)
    now = deps.clock.now()
    return await create_once(
        request,
        scope="complaint.file",
        user_id=principal.user_id,
        now=now,
        create=lambda: service.file(deps, principal, fields, now=now),
    )


@bp.post("/photos", ctx_large_body=True)
@openapi.summary("上传一张投诉图片（multipart 字段 file；JPEG/PNG/WebP，去除位置等元数据）")
@uploads("file", "JPEG、PNG 或 WebP 图片")
@authenticated(*STORE_ROLES)
async def upload_photo(request: Request, principal: Principal) -> HTTPResponse:
    upload = request.files.get("file") if request.files else None
    if upload is None:
        raise service.NotAPhoto("请以 multipart 字段 file 上传图片")
    deps = request_deps(request)
    photo = await service.upload_photo(deps, principal, upload.body, now=deps.clock.now())
    return ok(photo, status=201)


@bp.get("")
@openapi.summary(
    "投诉列表（品牌看全部，经销商看转给自己的，门店看自己的；按状态、分类、经销商筛选）"
)
@documented_query(ComplaintQuery)
@authenticated(*EVERYONE)
async def list_complaints(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, ComplaintQuery)
    limit = query.bounded_limit()
    filters = {
        "status": query.status,
        "category": query.category,
        "distributor_id": query.distributor_id,
        "store_id": query.store_id,
        "breached": query.breached,
        "needs_review": query.needs_review,
        "archived": query.archived,
    }
    if query.sort == "due":
        cursor = (query.due_after or EPOCH, query.id_after or 0)
        items = await service.list_complaints(
            principal, filters, before=None, limit=limit + 1, by_due=cursor
        )
        shown = items[:limit]
        following = None
        if len(items) > limit:
            following = {"due_after": shown[-1]["sla"]["due_at"], "id_after": shown[-1]["id"]}
        return ok({"items": shown, "next": following})
    items = await service.list_complaints(principal, filters, before=query.before, limit=limit + 1)
    return ok(newest_first(items, limit))


@bp.get("/metrics")
@openapi.summary("投诉处理指标：各经销商首次响应与解决时长（中位数、P90）、超时次数、门店评分")
@documented_query(MetricsQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def metrics(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, MetricsQuery)
    until = request_deps(request).clock.now()
    since = until - timedelta(days=query.days)
    return ok(await service.metrics(principal, since=since, until=until))


@bp.get("/<complaint_id:int>")
@openapi.summary("投诉详情与时间线（门店看不到内部备注）")
@authenticated(*EVERYONE)
async def get_complaint(request: Request, principal: Principal, complaint_id: int) -> HTTPResponse:
    return ok(await service.detail(request_deps(request), principal, complaint_id))


@bp.post("/<complaint_id:int>/<action:acknowledge|assign|respond|resolve|confirm|reopen|close>")
@openapi.summary(
    "推进投诉：受理、转经销商、答复、解决（品牌/经销商）；确认、重新打开（门店）；关闭"
)
@authenticated(*EVERYONE)
# The body is optional: a message to the store, and for assign the distributor.
@json_body(ActionBody, required=False)
async def act(
    request: Request, principal: Principal, complaint_id: int, action: str, body: ActionBody
) -> HTTPResponse:
    deps = request_deps(request)
    now = deps.clock.now()
    return ok(
        await service.act(
            deps,
            principal,
            complaint_id,
            Action(action),
            message=body.message,
            distributor_id=body.distributor_id,
            now=now,
        )
    )


@bp.post("/<complaint_id:int>/notes")
@openapi.summary("留言或内部备注（内部备注门店不可见）")
@authenticated(*EVERYONE)
@json_body(NoteBody)
async def add_note(
    request: Request, principal: Principal, complaint_id: int, body: NoteBody
) -> HTTPResponse:
    deps = request_deps(request)
    note = await service.add_note(
        deps, principal, complaint_id, body.message, internal=body.internal, now=deps.clock.now()
    )
    return ok(note)


@bp.post("/<complaint_id:int>/rating")
@openapi.summary("门店评价处理结果（1–5 星，仅一次）")
@authenticated(*STORE_ROLES)
@json_body(RatingBody)
async def rate(
    request: Request, principal: Principal, complaint_id: int, body: RatingBody
) -> HTTPResponse:
    deps = request_deps(request)
    rated = await service.rate(
        deps, principal, complaint_id, body.rating, body.comment, now=deps.clock.now()
    )
    return ok(rated)


@bp.post("/<complaint_id:int>/content-review")
@openapi.summary("人工审核被内容安全检测标记的投诉文字（仅一次）")
@authenticated(*BRAND_ROLES)
@json_body(ContentReviewBody)
async def review_content(
    request: Request, principal: Principal, complaint_id: int, body: ContentReviewBody
) -> HTTPResponse:
    deps = request_deps(request)
    reviewed = await service.review_content(
        deps, principal, complaint_id, body.decision, now=deps.clock.now()
    )
    return ok(reviewed)


@bp.get("/sla")
@openapi.summary("各分类的服务时限（首次响应、解决，分钟）")
@authenticated(*BRAND_ROLES)
async def service_levels(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.service_levels(principal)})


@bp.put("/sla/<category:quality|damaged|delivery|wrong_goods|service|promotion|other>")
@openapi.summary("设置某分类的服务时限（对此后提交的投诉生效）")
@authenticated(*BRAND_ROLES)
@json_body(SlaBody)
async def set_service_level(
    request: Request, principal: Principal, category: str, body: SlaBody
) -> HTTPResponse:
    levels = await service.set_service_level(
        principal, category, body.first_response_minutes, body.resolution_minutes
    )
    return ok({"items": levels})
