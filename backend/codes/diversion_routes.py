"""Product codes over HTTP: 防窜货预警 (diversion alerts): the list, the summary by distributor
and region, confirm or dismiss, and the export. Brand staff see and handle all of the
brand's; distributor staff read those about boxes shipped to them."""

from __future__ import annotations

from contextlib import aclosing
from datetime import date
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.codes import diversion
from backend.codes.diversion import Filters
from backend.codes.request import codes_body, codes_query
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, authenticated
from backend.infra.exports import MEDIA_TYPES, china_time
from backend.infra.http import (
    Day,
    Id,
    Listing,
    PageQuery,
    RequestModel,
    documented_query,
    newest_first,
    ok,
    responds,
    responds_file,
)

Q = TypeVar("Q", bound=RequestModel)

bp = Blueprint("codes_diversion_routes", url_prefix="/api/v1/codes")
READERS = (*BRAND_ROLES, *DISTRIBUTOR_ROLES)


class FilterQuery(RequestModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    distributor_id: Id | None = Field(
        default=None, description="发货经销商（经销商员工只能看到发给自己的箱）"
    )
    store_distributor_id: Id | None = Field(default=None, description="扫码门店所属的经销商")
    store_id: Id | None = Field(default=None, description="扫码门店")
    region_id: Id | None = Field(default=None, description="扫码门店所在区域")
    batch_id: Id | None = Field(default=None, description="赋码批次")
    status: Literal["open", "confirmed", "dismissed"] | None = Field(
        default=None, description="open 待处理；confirmed 已确认窜货；dismissed 已排除"
    )
    reason: Literal["other_distributor", "outside_area"] | None = Field(
        default=None, description="other_distributor 其他经销商门店扫码；outside_area 超出服务区域"
    )
    from_: Day | None = Field(default=None, alias="from", description="发现日期起（含，北京时间）")
    to: Day | None = Field(default=None, description="发现日期止（含，北京时间）")

    def filters(self) -> Filters:
        return Filters(
            distributor_id=self.distributor_id,
            store_distributor_id=self.store_distributor_id,
            store_id=self.store_id,
            region_id=self.region_id,
            batch_id=self.batch_id,
            status=self.status,
            reason=self.reason,
            first_day=self.from_,
            last_day=self.to,
        )


class AlertQuery(FilterQuery, PageQuery):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    before: Id | None = Field(default=None, description="翻页：传上一页的 next_before")


class ExportQuery(FilterQuery):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    format: Literal["csv", "xlsx"] = "csv"


class NoteBody(RequestModel):
    note: str = Field(default="", max_length=200, description="处理说明（排除时必填，最多 200 字）")


class Named(BaseModel):
    id: int | None
    name: str


class Counts(BaseModel):
    open: int
    confirmed: int
    dismissed: int
    total: int


class DistributorCounts(Counts):
    distributor: Named


class RegionCount(BaseModel):
    region: Named = Field(description="门店未分区域时 id 为 null")
    total: int


class Summary(BaseModel):
    totals: Counts
    by_distributor: list[DistributorCounts]
    by_region: list[RegionCount]


class CodeRef(BaseModel):
    id: int
    kind: str
    kind_label: str
    serial_text: str
    token: str


class BatchRef(BaseModel):
    id: int
    batch_no: str


class StoreRef(BaseModel):
    id: int
    name: str
    address: str


class Alert(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    reason: str
    reason_label: str
    status: str
    status_label: str
    code: CodeRef
    batch: BatchRef
    sku: Named
    distributor: Named | None = Field(description="箱码出库到的经销商")
    store: StoreRef = Field(description="扫码的门店")
    store_distributor: Named | None = Field(description="扫码门店所属的经销商")
    region: Named | None = Field(description="扫码门店所在区域")
    latitude: float | None
    longitude: float | None
    scan_action: str
    scan_action_label: str
    created_at: str
    note: str
    handled_at: str | None


@bp.get("/diversion-alerts")
@openapi.summary("窜货预警列表（最新在前，按 before 翻页）；经销商员工只看发给自己的箱")
@documented_query(AlertQuery)
@responds(Listing, description="items 为 Alert")
@authenticated(*READERS)
async def list_alerts(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, AlertQuery)
    limit = query.bounded_limit()
    items = await diversion.list_alerts(
        principal, query.filters(), before=query.before, limit=limit + 1
    )
    return ok(newest_first(items, limit))


@bp.get("/diversion-alerts/summary")
@openapi.summary("窜货预警汇总：按发货经销商（待处理、已确认、已排除）与扫码区域统计")
@documented_query(FilterQuery)
@responds(Summary)
@authenticated(*READERS)
async def alert_summary(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, FilterQuery)
    return ok(await diversion.summary(principal, query.filters()))


@bp.get("/diversion-alerts/export")
@openapi.summary("导出筛选后的窜货预警（CSV 或 XLSX，流式下载）")
@responds_file(*MEDIA_TYPES.values(), description="表格（CSV 或 XLSX），时间为北京时间")
@documented_query(ExportQuery)
# Streamed through request.respond(), after which Sanic wants the handler to return None.
@authenticated(*READERS)  # type: ignore[arg-type]
async def export_alerts(request: Request, principal: Principal) -> None:
    query = codes_query(request, ExportQuery)
    today: date = china_time(request_deps(request).clock.now()).date()
    name = f"diversion-alerts-{today:%Y%m%d}.{query.format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    chunks_of = diversion.export_chunks(principal, query.filters(), query.format)
    async with aclosing(chunks_of) as chunks:
        # The first chunk comes before the status line: until then a failure is a normal error.
        first = await anext(chunks)
        response = await request.respond(content_type=MEDIA_TYPES[query.format], headers=headers)
        await response.send(first)
        async for chunk in chunks:
            await response.send(chunk)
        await response.eof()


@bp.get("/diversion-alerts/<alert_id:int>")
@openapi.summary("一条窜货预警")
@responds(Alert)
@authenticated(*READERS)
async def get_alert(request: Request, principal: Principal, alert_id: int) -> HTTPResponse:
    return ok(await diversion.get_alert(principal, alert_id))


@bp.post("/diversion-alerts/<alert_id:int>/confirm")
@openapi.summary("确认窜货（只能处理待处理的预警，否则 409 codes.alert_handled）")
@responds(Alert)
@authenticated(*BRAND_ROLES)
@codes_body(NoteBody, required=False)
async def confirm_alert(
    request: Request, principal: Principal, alert_id: int, body: NoteBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await diversion.handle(principal, alert_id, "confirmed", body.note, now))


@bp.post("/diversion-alerts/<alert_id:int>/dismiss")
@openapi.summary("排除预警（须填写原因；只能处理待处理的预警，否则 409 codes.alert_handled）")
@responds(Alert)
@authenticated(*BRAND_ROLES)
@codes_body(NoteBody)
async def dismiss_alert(
    request: Request, principal: Principal, alert_id: int, body: NoteBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await diversion.handle(principal, alert_id, "dismissed", body.note, now))
