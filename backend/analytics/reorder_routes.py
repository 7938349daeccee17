"""Analytics routes: repurchase cycles, reminders and the salesperson's tasks and feed."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.analytics import reorders
from backend.analytics.models import TaskStatus
from backend.analytics.scope import china_day, scope_for
from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    Principal,
    Role,
    authenticated,
)
from backend.infra.exports import MEDIA_TYPES, Column, Kind, Table, xlsx_file
from backend.infra.http import (
    Id,
    PageQuery,
    RequestModel,
    attachment,
    documented_query,
    ok,
    page,
    parse_query,
    responds,
    responds_file,
)
from backend.kernel.errors import DomainError, InvalidInput

bp = Blueprint("analytics_reorder_routes", url_prefix="/api/v1")
STAFF = (*BRAND_ROLES, *DISTRIBUTOR_ROLES)


class QueryInvalid(DomainError):
    status = 400
    code = "analytics.invalid_query"
    message = "查询参数不正确"


Q = TypeVar("Q", bound=RequestModel)


def _query(request: Request, model: type[Q]) -> Q:
    """The query, or 400 analytics.invalid_query naming the fields."""
    try:
        return parse_query(request, model)
    except InvalidInput as exc:
        raise QueryInvalid(details=exc.details) from exc


# ---- the salesperson's tasks and feed -------------------------------------------------------


class TasksQuery(PageQuery):
    status: Literal["open", "done", "dismissed"] = Field(
        default="open", description="open 待处理、done 已完成、dismissed 已忽略"
    )


class Named(BaseModel):
    id: int | None
    name: str


class TaskView(BaseModel):
    id: int
    kind: str = Field(description="reorder：门店该补货了")
    store: Named
    sku: Named | None
    text: str = Field(description="如「张记店 通常每 30 天订一次 滤芯，上次下单已 34 天」")
    due_day: str = Field(description="应补货日（北京时间）")
    status: str
    created_at: str
    closed_at: str | None


class TaskList(BaseModel):
    items: list[TaskView]
    next_after: int | None = Field(description="下一页传 after=此值；无更多为 null")


@bp.get("/sales-tasks")
@openapi.summary("业务员的任务（如门店该补货了），按创建先后")
@responds(TaskList)
@documented_query(TasksQuery)
@authenticated(Role.SALESPERSON)
async def list_tasks(request: Request, principal: Principal) -> HTTPResponse:
    query = _query(request, TasksQuery)
    limit = query.bounded_limit()
    items = await reorders.tasks_of(principal, query.status, query.after, limit + 1)
    return ok(page(items, limit))


async def _close(
    request: Request, principal: Principal, task_id: int, status: TaskStatus
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await reorders.close_task(principal, task_id, status, now))


@bp.post("/sales-tasks/<task_id:int>/done")
@openapi.summary("把自己的待处理任务标为已完成（已处理过的返回 409）")
@responds(TaskView)
@authenticated(Role.SALESPERSON)
async def task_done(request: Request, principal: Principal, task_id: int) -> HTTPResponse:
    return await _close(request, principal, task_id, TaskStatus.DONE)


@bp.post("/sales-tasks/<task_id:int>/dismiss")
@openapi.summary("忽略自己的待处理任务（已处理过的返回 409）")
@responds(TaskView)
@authenticated(Role.SALESPERSON)
async def task_dismiss(request: Request, principal: Principal, task_id: int) -> HTTPResponse:
    return await _close(request, principal, task_id, TaskStatus.DISMISSED)


class FeedQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    days: int = Field(default=7, ge=1, le=30, description="最近几天（1–30）")


class FeedItem(BaseModel):
    kind: Literal["view", "cart", "order"] = Field(
        description="view 浏览商品、cart 加购未下单、order 下单"
    )
    at: str
    store: Named
    text: str
    order_id: int | None
    amount_fen: int | None = Field(description="订单应付金额（分），其他为 null")


class Feed(BaseModel):
    days: int
    items: list[FeedItem]


@bp.get("/sales-feed")
@openapi.summary("业务员负责门店的最新动态：浏览商品、加购未下单、下单，新的在前")
@responds(Feed)
@documented_query(FeedQuery)
@authenticated(Role.SALESPERSON)
async def sales_feed(request: Request, principal: Principal) -> HTTPResponse:
    query = _query(request, FeedQuery)
    return ok(await reorders.feed(principal, query.days, request_deps(request).clock.now()))


# ---- the console: stores due to reorder -----------------------------------------------------


class ReordersQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["due", "soon"] = Field(
        default="due", description="due 已过应补货日未下单、soon 7 天内到期"
    )
    distributor_id: Id | None = Field(
        default=None, description="只看一个经销商（经销商员工只能看自己的）"
    )
    limit: int = Field(default=200, ge=1, le=500)


class DueRow(BaseModel):
    store: Named
    distributor: Named
    sku: Named
    orders: int = Field(description="一年内购买次数（按天）")
    interval_days: int = Field(description="通常补货周期（天）")
    source: Literal["store", "category"] = Field(
        description="store 门店自己的历史、category 品类的中位数（新门店）"
    )
    last_day: str
    due_day: str
    days_since_last: int
    days_overdue: int = Field(description="今天减应补货日；未到期为负数")
    task_status: str | None = Field(description="本周期业务员任务的状态，无任务为 null")


class DueList(BaseModel):
    status: str
    today: str
    total: int
    rows: list[DueRow]


@bp.get("/analytics/reorders")
@openapi.summary("该补货的门店：已逾期或 7 天内到期，含商品、周期、上次下单与任务状态")
@responds(DueList)
@documented_query(ReordersQuery)
@authenticated(*STAFF)
async def due_stores(request: Request, principal: Principal) -> HTTPResponse:
    query = _query(request, ReordersQuery)
    scope = await scope_for(principal, query.distributor_id)
    today = china_day(request_deps(request).clock.now())
    return ok(await reorders.due_list(scope, query.status, today, query.limit))


TASK_STATUS_NAMES = {"open": "待处理", "done": "已完成", "dismissed": "已忽略"}
DUE_TABLE = Table(
    "该补货门店",
    (
        Column("门店", 24),
        Column("经销商", 24),
        Column("商品", 24),
        Column("一年内购买次数", 14, Kind.NUMBER),
        Column("补货周期（天）", 14, Kind.NUMBER),
        Column("周期依据", 10),
        Column("上次下单", 12),
        Column("应补货日", 12),
        Column("距上次下单（天）", 16, Kind.NUMBER),
        Column("逾期（天）", 10, Kind.NUMBER),
        Column("业务员任务", 10, blank="无"),
    ),
)


@bp.get("/analytics/reorders.xlsx")
@openapi.summary("导出该补货的门店（XLSX）")
@responds_file(MEDIA_TYPES["xlsx"], description="表格（XLSX），日期为北京时间")
@documented_query(ReordersQuery)
@authenticated(*STAFF)
async def due_stores_xlsx(request: Request, principal: Principal) -> HTTPResponse:
    query = _query(request, ReordersQuery)
    scope = await scope_for(principal, query.distributor_id)
    today = china_day(request_deps(request).clock.now())
    listed = await reorders.due_list(scope, query.status, today, reorders.EXPORT_LIMIT)
    rows = [
        (
            row["store"]["name"],
            row["distributor"]["name"],
            row["sku"]["name"],
            row["orders"],
            row["interval_days"],
            reorders.SOURCE_NAMES[row["source"]],
            row["last_day"],
            row["due_day"],
            row["days_since_last"],
            row["days_overdue"],
            TASK_STATUS_NAMES.get(row["task_status"] or ""),
        )
        for row in listed["rows"]
    ]
    name = f"reorders-{query.status}-{today:%Y%m%d}.xlsx"
    return attachment(xlsx_file(DUE_TABLE, rows), name, MEDIA_TYPES["xlsx"])
