"""Display review: the brand's queue and decisions, distributor staff reading along, and the
store's salesperson reviewing first where the program allows it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.display import review
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, Role, authenticated
from backend.infra.http import (
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    ok,
    page,
    parse_query,
)

bp = Blueprint("display_review_routes", url_prefix="/api/v1/display")
READERS = (*BRAND_ROLES, *DISTRIBUTOR_ROLES)
DECIDERS = (*BRAND_ROLES, Role.SALESPERSON)


class QueueQuery(PageQuery):
    program_id: Id | None = Field(default=None, description="按活动筛选")
    distributor_id: Id | None = Field(default=None, description="按经销商筛选")
    first_review: Literal["approved", "none"] | None = Field(
        default=None, description="approved：业务员已初审通过；none：尚未初审"
    )


class ApproveBody(RequestModel):
    note: str = Field(default="", max_length=200, description="审核备注（可不填）")


class RejectBody(RequestModel):
    reason: str = Field(default="", max_length=1000, description="驳回原因（2–200 字）")


@bp.get("/reviews")
@openapi.summary("待审核的陈列检查（最早提交的在前；经销商只读本经销商的门店）")
@documented_query(QueueQuery)
@authenticated(*READERS)
async def queue(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, QueueQuery)
    limit = query.bounded_limit()
    items = await review.queue(
        request_deps(request),
        principal,
        program_id=query.program_id,
        distributor_id=query.distributor_id,
        first_review=query.first_review,
        after=query.after,
        limit=limit + 1,
    )
    return ok(page(items, limit))


@bp.get("/reviews/counts")
@openapi.summary("待审核数量，及其中业务员已初审通过的数量")
@authenticated(*READERS)
async def counts(request: Request, principal: Principal) -> HTTPResponse:
    return ok(await review.counts(principal))


@bp.get("/reviews/<submission_id:int>")
@openapi.summary("一次陈列检查提交的审核详情（示例照片、自动检查原因、此前的提交）")
@authenticated(*READERS, Role.SALESPERSON)
async def review_item(request: Request, principal: Principal, submission_id: int) -> HTTPResponse:
    return ok(await review.review_item(request_deps(request), principal, submission_id))


@bp.post("/submissions/<submission_id:int>/approve")
@openapi.summary("审核通过：品牌通过即发放奖励；业务员为初审通过，仍由品牌终审")
@authenticated(*DECIDERS)
@json_body(ApproveBody, required=False)
async def approve(
    request: Request, principal: Principal, submission_id: int, body: ApproveBody
) -> HTTPResponse:
    deps = request_deps(request)
    return ok(
        await review.approve(deps, principal, submission_id, note=body.note, now=deps.clock.now())
    )


@bp.post("/submissions/<submission_id:int>/reject")
@openapi.summary("驳回（须填写原因）；门店可在拍照时间内重新提交")
@authenticated(*DECIDERS)
@json_body(RejectBody, required=False)
async def reject(
    request: Request, principal: Principal, submission_id: int, body: RejectBody
) -> HTTPResponse:
    deps = request_deps(request)
    return ok(
        await review.reject(
            deps, principal, submission_id, reason=body.reason, now=deps.clock.now()
        )
    )


@bp.get("/sales/reviews")
@openapi.summary("业务员初审：所服务门店中待初审的陈列检查（最早提交的在前）")
@documented_query(PageQuery)
@authenticated(Role.SALESPERSON)
async def sales_queue(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, PageQuery)
    limit = query.bounded_limit()
    items = await review.sales_queue(
        request_deps(request), principal, after=query.after, limit=limit + 1
    )
    return ok(page(items, limit))
