"""A display program's figures and exports, for brand staff and (their own distributor's part)
distributor staff."""

from __future__ import annotations

from contextlib import aclosing
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.display import figures
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, authenticated
from backend.infra.exports import MEDIA_TYPES, china_time
from backend.infra.http import (
    Id,
    RequestModel,
    documented_query,
    ok,
    parse_query,
    responds,
    responds_file,
)
from backend.kernel.errors import DomainError, InvalidInput

bp = Blueprint("display_figure_routes", url_prefix="/api/v1/display")
STAFF = (*BRAND_ROLES, *DISTRIBUTOR_ROLES)


class QueryInvalid(DomainError):
    status = 400
    code = "display.invalid"
    message = "请求参数不正确"


class FiguresQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    distributor_id: Id | None = Field(
        default=None, description="只看一个经销商（经销商员工只能看自己的）"
    )


class ExportQuery(FiguresQuery):
    what: Literal["signings", "submissions", "rewards"] = Field(
        description="signings 签约门店、submissions 检查提交、rewards 奖励发放"
    )
    format: Literal["csv", "xlsx"] = "csv"


Q = TypeVar("Q", bound=RequestModel)


def _query(request: Request, model: type[Q]) -> Q:
    """The query, or display.invalid (400) naming the fields, as the program's other inputs."""
    try:
        return parse_query(request, model)
    except InvalidInput as exc:
        raise QueryInvalid(details=exc.details) from exc


class Figure(BaseModel):
    signed: int
    checks_due: int = Field(description="签约门店 × 已开始的检查（活动结束后开始的不计）")
    submitted: int = Field(description="有提交的门店 × 检查")
    passed: int
    review: int = Field(description="最近一次提交待审核")
    failed: int = Field(description="最近一次提交未通过自动检查")
    rejected: int = Field(description="最近一次提交被驳回")
    missed: int = Field(description="检查已截止（或活动已结束）而未通过、也不在审核中")
    cost_fen: int = Field(description="已发放奖励的成本（含完成奖励）")


class Named(BaseModel):
    id: int | None
    name: str


class DistributorFigure(Figure):
    distributor: Named


class RegionFigure(Figure):
    region: Named = Field(description="门店未分区域时 id 为 null")


class CheckFigure(BaseModel):
    seq: int
    opens_at: str
    closes_at: str
    due: int
    submitted: int
    passed: int
    review: int
    failed: int
    rejected: int
    missed: int


class Figures(Figure):
    max_stores: int
    budget_fen: int
    spent_fen: int
    by_distributor: list[DistributorFigure]
    by_region: list[RegionFigure]
    by_check: list[CheckFigure]


@bp.get("/programs/<program_id:int>/figures")
@openapi.summary("陈列活动数据：签约、应检查、已提交、通过、驳回、错过、成本，按经销商、区域与检查")
@openapi.description(
    "经销商员工只看到本经销商签约门店的数据；其他经销商的 distributor_id 返回全零。"
)
@responds(Figures)
@documented_query(FiguresQuery)
@authenticated(*STAFF)
async def program_figures(request: Request, principal: Principal, program_id: int) -> HTTPResponse:
    query = _query(request, FiguresQuery)
    scope = await figures.scope_for(principal, program_id, query.distributor_id)
    return ok(await figures.figures(scope, request_deps(request).clock.now()))


@bp.get("/programs/<program_id:int>/export")
@openapi.summary("导出陈列活动的签约门店、检查提交或奖励发放（CSV 或 XLSX，流式下载）")
@responds_file(*MEDIA_TYPES.values(), description="表格（CSV 或 XLSX），金额为元，时间为北京时间")
@documented_query(ExportQuery)
# Streamed through request.respond(), after which Sanic wants the handler to return None.
@authenticated(*STAFF)  # type: ignore[arg-type]
async def export(request: Request, principal: Principal, program_id: int) -> None:
    query = _query(request, ExportQuery)
    scope = await figures.scope_for(principal, program_id, query.distributor_id)
    today = china_time(request_deps(request).clock.now())
    name = f"display-{program_id}-{query.what}-{today:%Y%m%d}.{query.format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    async with aclosing(figures.export_chunks(scope, query.what, query.format)) as chunks:
        # The first chunk comes before the status line: until then a failure is a normal error.
        first = await anext(chunks)
        response = await request.respond(content_type=MEDIA_TYPES[query.format], headers=headers)
        await response.send(first)
        async for chunk in chunks:
            await response.send(chunk)
        await response.eof()
