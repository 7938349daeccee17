"""Analytics routes: behaviour events from the mini-program, funnels and search terms."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.analytics import behaviour
from backend.analytics.periods import Period, span_of
from backend.analytics.scope import Scope, china_day, scope_for
from backend.deps import request_deps
from backend.identity.access import STAFF_ROLES, STORE_ROLES, Principal, authenticated
from backend.infra.exports import MEDIA_TYPES
from backend.infra.http import (
    Day,
    Id,
    RequestModel,
    attachment,
    documented_query,
    json_body,
    ok,
    parse_query,
    responds,
    responds_file,
)
from backend.kernel.errors import InvalidInput

bp = Blueprint("analytics_event_routes", url_prefix="/api/v1/analytics")
XLSX = MEDIA_TYPES["xlsx"]


class EventsBody(BaseModel):
    """A batch. Each event is checked on its own (a bad one is dropped and counted), so the
    items are free-form here; EventIn in backend/analytics/behaviour.py is their shape."""

    model_config = ConfigDict(extra="ignore")

    events: list[Any] = Field(
        min_length=1,
        max_length=behaviour.MAX_BATCH,
        description=(
            "1 至 50 条事件：{id（客户端生成，≤40 字符）, kind（page_view、search、product_view、"
            "add_to_cart、checkout、order）, at（ISO 时间，含时区）, page?, product_id?, sku_id?,"
            " term?（搜索词）, results?（搜索结果数）}"
        ),
    )


class Accepted(BaseModel):
    accepted: int = Field(description="新保存的事件数")
    duplicates: int = Field(description="已收到过的事件数（同一用户、同一 id、同一天）")
    dropped: int = Field(description="格式不对、超过 7 天或来自未来 5 分钟以后而丢弃的事件数")


class PeriodQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    start: Day | None = Field(
        default=None, description="开始日期（北京时间，含），默认结束前 29 天"
    )
    end: Day | None = Field(default=None, description="结束日期（北京时间，含），默认今天")
    distributor_id: Id | None = Field(
        default=None, description="只看一个经销商的门店（经销商员工总是只看自己的）"
    )


class TermsQuery(PeriodQuery):
    zero: bool = Field(default=False, description="只看有过无结果搜索的词")
    limit: int = Field(default=100, ge=1, le=behaviour.MAX_TERMS)


class FunnelStep(BaseModel):
    kind: str
    name: str
    users: int
    stores: int
    events: int
    step_pct: float | None = Field(description="用户数较上一步的比例（%），上一步为 0 时为 null")
    overall_pct: float | None = Field(description="用户数较第一步的比例（%）")


class Funnel(BaseModel):
    start: str
    end: str
    steps: list[FunnelStep]


class Term(BaseModel):
    term: str
    searches: int
    users: int
    zero_results: int = Field(description="没有找到商品的搜索次数")
    zero_pct: float | None


class TermsTotal(BaseModel):
    searches: int
    terms: int
    zero_results: int
    zero_pct: float | None


class Terms(BaseModel):
    start: str
    end: str
    items: list[Term]
    total: TermsTotal


class PageViews(BaseModel):
    page: str = Field(description="小程序页面路径")
    name: str = Field(description="页面中文名")
    views: int
    users: int
    stores: int
    share_pct: float | None


class PagesTotal(BaseModel):
    views: int


class Pages(BaseModel):
    start: str
    end: str
    items: list[PageViews]
    total: PagesTotal


Q = TypeVar("Q", bound=PeriodQuery)


async def _asked(request: Request, principal: Principal, model: type[Q]) -> tuple[Q, Scope, Period]:
    """The query (a bad one is analytics.invalid_query), whose events, and which days."""
    try:
        query = parse_query(request, model)
    except InvalidInput as exc:
        raise behaviour.InvalidQuery(details=exc.details) from exc
    scope = await scope_for(principal, query.distributor_id)
    today = china_day(request_deps(request).clock.now())
    return query, scope, span_of(query.start, query.end, today)


def _xlsx(name: str, span: Period, body: bytes) -> HTTPResponse:
    return attachment(body, f"{name}-{span.start:%Y%m%d}-{span.end:%Y%m%d}.xlsx", XLSX)


@bp.post("/events")
@openapi.summary("小程序上报行为事件（每批最多 50 条，按用户、事件 id 与日期去重）")
@openapi.description(
    "门店账号调用。单条事件格式不对、早于 7 天或晚于当前 5 分钟以上的会被丢弃并计入 dropped，"
    "其余事件照常保存；重发同一批次只会计入 duplicates。"
)
@responds(Accepted)
@authenticated(*STORE_ROLES)
@json_body(EventsBody)
async def post_events(request: Request, principal: Principal, body: EventsBody) -> HTTPResponse:
    deps = request_deps(request)
    return ok(await behaviour.record(principal, body.events, deps.clock.now()))


LAG = "数据每分钟汇总一次：刚上报的事件最多一分钟后计入报表。"


@bp.get("/funnel")
@openapi.summary("转化漏斗：浏览页面 → 查看商品 → 加入购物车 → 去结算 → 提交订单")
@openapi.description(LAG)
@responds(Funnel)
@documented_query(PeriodQuery)
@authenticated(*STAFF_ROLES)
async def get_funnel(request: Request, principal: Principal) -> HTTPResponse:
    _, scope, span = await _asked(request, principal, PeriodQuery)
    return ok(await behaviour.funnel(scope, span))


@bp.get("/funnel.xlsx")
@openapi.summary("导出转化漏斗（XLSX）")
@responds_file(XLSX, description="转化漏斗表格")
@documented_query(PeriodQuery)
@authenticated(*STAFF_ROLES)
async def export_funnel(request: Request, principal: Principal) -> HTTPResponse:
    _, scope, span = await _asked(request, principal, PeriodQuery)
    report = await behaviour.funnel(scope, span)
    return _xlsx("funnel", span, behaviour.funnel_xlsx(report))


@bp.get("/search-terms")
@openapi.summary("搜索词：搜索次数、用户数、无结果搜索（zero=true 只看有过无结果的词）")
@openapi.description(LAG)
@responds(Terms)
@documented_query(TermsQuery)
@authenticated(*STAFF_ROLES)
async def get_search_terms(request: Request, principal: Principal) -> HTTPResponse:
    query, scope, span = await _asked(request, principal, TermsQuery)
    return ok(await behaviour.search_terms(scope, span, zero=query.zero, limit=query.limit))


@bp.get("/search-terms.xlsx")
@openapi.summary("导出搜索词（XLSX）")
@responds_file(XLSX, description="搜索词表格")
@documented_query(TermsQuery)
@authenticated(*STAFF_ROLES)
async def export_search_terms(request: Request, principal: Principal) -> HTTPResponse:
    query, scope, span = await _asked(request, principal, TermsQuery)
    report = await behaviour.search_terms(scope, span, zero=query.zero, limit=query.limit)
    return _xlsx("search-terms", span, behaviour.terms_xlsx(report))


@bp.get("/pages")
@openapi.summary("页面浏览：各页面的浏览次数、用户数与门店数")
@openapi.description(LAG)
@responds(Pages)
@documented_query(PeriodQuery)
@authenticated(*STAFF_ROLES)
async def get_pages(request: Request, principal: Principal) -> HTTPResponse:
    _, scope, span = await _asked(request, principal, PeriodQuery)
    return ok(await behaviour.pages(scope, span))


@bp.get("/pages.xlsx")
@openapi.summary("导出页面浏览（XLSX）")
@responds_file(XLSX, description="页面浏览表格")
@documented_query(PeriodQuery)
@authenticated(*STAFF_ROLES)
async def export_pages(request: Request, principal: Principal) -> HTTPResponse:
    _, scope, span = await _asked(request, principal, PeriodQuery)
    report = await behaviour.pages(scope, span)
    return _xlsx("pages", span, behaviour.pages_xlsx(report))
