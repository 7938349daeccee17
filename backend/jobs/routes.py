"""Failed background jobs, for brand admins: list them, run one again."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.identity.access import Principal, Role, authenticated
from backend.infra import jobs as job_queue
from backend.infra.http import Id, PageQuery, documented_query, newest_first, ok, parse_query
from backend.jobs import service

bp = Blueprint("jobs", url_prefix="/api/v1/jobs")


class JobQuery(PageQuery):
    before: Id | None = None
    status: Literal["failed", "retrying", "all"] = Field(
        default="all", description="failed 已失败；retrying 重试中；all 两者"
    )

    def statuses(self) -> tuple[str, ...]:
        if self.status == "all":
            return job_queue.STAFF_VISIBLE
        return (self.status,)


@bp.get("")
@openapi.summary("本品牌失败或重试中的后台任务（最新在前，用 before 翻页）")
@documented_query(JobQuery)
@authenticated(Role.BRAND_ADMIN)
async def list_jobs(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, JobQuery)
    limit = query.bounded_limit()
    items = await service.listed(
        principal,
        request.app.ctx.job_titles,
        statuses=query.statuses(),
        before=query.before,
        limit=limit + 1,
    )
    return ok(newest_first(items, limit))


@bp.post("/<job_id:int>/retry")
@openapi.summary("重新执行一个已失败的任务（从第一次尝试算起）")
@authenticated(Role.BRAND_ADMIN)
async def retry_job(request: Request, principal: Principal, job_id: int) -> HTTPResponse:
    return ok(await service.retry(principal, request.app.ctx.job_titles, job_id))
