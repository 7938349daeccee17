"""Product codes over HTTP: 赋码批次：生成、导出、打印 (brand staff only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.codes import batches
from backend.codes.request import codes_body, codes_query
from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, Principal, authenticated
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
from backend.infra.idempotency import create_once

bp = Blueprint("codes_batch_routes", url_prefix="/api/v1/codes")
Handler = Callable[..., Awaitable[HTTPResponse]]
Q = TypeVar("Q", bound=BaseModel)

BATCH_NO = r"^[A-Za-z0-9][A-Za-z0-9-]*$"
# What a person reads when a field is wrong (instead of the generic "格式不正确").
HINTS = {
    "sku_id": "请选择商品规格",
    "batch_no": "生产批号为 1–32 位字母、数字或“-”，以字母或数字开头",
    "produced_on": "生产日期格式应为 YYYY-MM-DD",
    "boxes": f"箱数须为 1–{batches.MAX_BOXES} 的整数",
    "items_per_box": f"每箱物码数须为 1–{batches.MAX_ITEMS_PER_BOX} 的整数",
    "open_reward": "开箱奖励格式不正确",
    "open_reward.kind": "开箱奖励类型须为空、points（积分）或 cash（现金）",
    "open_reward.amount": f"开箱奖励数额须为 0–{batches.MAX_REWARD:,} 的整数（积分，或现金的分）",
}


class RewardBody(RequestModel):
    kind: Literal["", "points", "cash"] = Field(
        default="", description="空：无奖励；points：积分；cash：现金（分）"
    )
    amount: int = Field(
        default=0, ge=0, le=batches.MAX_REWARD, description="积分数，或现金的分；0 为无奖励"
    )


class BatchBody(RequestModel):
    sku_id: Id = Field(description="品牌的商品规格（SKU）")
    batch_no: str = Field(
        min_length=1, max_length=32, pattern=BATCH_NO, description="生产批号：字母、数字、-"
    )
    produced_on: Day | None = Field(default=None, description="生产日期 YYYY-MM-DD")
    boxes: int = Field(ge=1, le=batches.MAX_BOXES, description="箱数")
    items_per_box: int = Field(ge=1, le=batches.MAX_ITEMS_PER_BOX, description="每箱物码数")
    open_reward: RewardBody | None = Field(default=None, description="首个扫箱入库的门店所得")


class RewardPatch(RequestModel):
    open_reward: RewardBody | None = Field(description="之后入库的箱子按此发放；null 为取消奖励")


class BatchQuery(PageQuery):
    before: Id | None = None
    sku_id: Id | None = None
    status: Literal["generating", "ready", "failed"] | None = None
    q: str | None = Field(default=None, max_length=32, description="按生产批号搜索")


class SheetQuery(RequestModel):
    kind: Literal["box", "item"] = Field(default="box", description="箱码或物码")
    page: int = Field(default=1, ge=1, le=10_000, description=f"页码，每页 {batches.SHEET_PAGE} 个")


# ---- response shapes (for /docs) -------------------------------------------------------------


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class RewardOut(Open):
    kind: Literal["", "points", "cash"]
    amount: int
    text: str = Field(description="如「开箱奖励 50 积分」「无开箱奖励」")


class BatchOut(Open):
    id: int
    sku: dict[str, Any] = Field(description="{id, name, spec}")
    batch_no: str
    produced_on: str | None
    boxes: int
    items_per_box: int
    codes_total: int = Field(description="箱码与物码合计")
    written: int = Field(description="已写入的码数（生成进度）")
    status: Literal["generating", "ready", "failed"]
    status_label: str
    error: str
    open_reward: RewardOut
    shipped_boxes: int
    received_boxes: int
    sold_items: int
    created_at: str
    ready_at: str | None


class SheetCode(Open):
    serial: int
    serial_text: str
    box_serial_text: str
    url: str = Field(description="二维码内容")
    token: str


class SheetOut(Open):
    batch: dict[str, Any]
    kind: Literal["box", "item"]
    kind_label: str
    page: int
    pages: int
    per_page: int
    total: int
    items: list[SheetCode]


# ---- endpoints ---------------------------------------------------------------------------------


@bp.post("/batches")
@openapi.summary(
    "新建赋码批次：后台任务生成箱码与物码（状态 generating → ready）；"
    "同一商品生产批号重复 409 codes.batch_exists，内容有误 400 codes.invalid"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@responds(BatchOut, 201, "已创建的批次（生成中）")
@authenticated(*BRAND_ROLES)
@codes_body(BatchBody, HINTS)
async def create_batch(request: Request, principal: Principal, body: BatchBody) -> HTTPResponse:
    now = request_deps(request).clock.now()
    new = batches.NewBatch(
        sku_id=body.sku_id,
        batch_no=body.batch_no,
        produced_on=body.produced_on,
        boxes=body.boxes,
        items_per_box=body.items_per_box,
        open_reward=body.open_reward.model_dump() if body.open_reward else None,
    )
    return await create_once(
        request,
        scope="codes.batch",
        user_id=principal.user_id,
        now=now,
        create=lambda: batches.create_batch(principal, new, now=now),
    )


@bp.get("/batches")
@openapi.summary("赋码批次列表（按 id 倒序翻页），可按商品、状态、生产批号筛选")
@documented_query(BatchQuery)
@responds(Listing, description="items 为 BatchOut")
@authenticated(*BRAND_ROLES)
async def list_batches(request: Request, principal: Principal) -> HTTPResponse:
    query = codes_query(request, BatchQuery)
    limit = query.bounded_limit()
    items = await batches.list_batches(
        principal,
        sku_id=query.sku_id,
        status=query.status,
        text=query.q,
        before=query.before,
        limit=limit + 1,
    )
    return ok(newest_first(items, limit))


@bp.get("/batches/<batch_id:int>")
@openapi.summary("赋码批次详情：生成进度、开箱奖励、出库/入库箱数与动销物码数")
@responds(BatchOut)
@authenticated(*BRAND_ROLES)
async def get_batch(request: Request, principal: Principal, batch_id: int) -> HTTPResponse:
    return ok(await batches.get_batch(principal, batch_id))


@bp.patch("/batches/<batch_id:int>")
@openapi.summary("修改开箱奖励：只对之后入库的箱子生效，已发放的奖励不变")
@responds(BatchOut)
@authenticated(*BRAND_ROLES)
@codes_body(RewardPatch, HINTS)
async def update_batch(
    request: Request, principal: Principal, batch_id: int, body: RewardPatch
) -> HTTPResponse:
    reward = body.open_reward.model_dump() if body.open_reward else None
    return ok(await batches.set_open_reward(principal, batch_id, reward))


@bp.get("/batches/<batch_id:int>/sheet")
@openapi.summary(
    f"打印二维码用的一页码（每页 {batches.SHEET_PAGE} 个，按序号）；"
    f"批次超过 {batches.SHEET_MAX_CODES} 个码 409 codes.sheet_too_large，"
    "未生成完 409 codes.batch_not_ready"
)
@documented_query(SheetQuery)
@responds(SheetOut)
@authenticated(*BRAND_ROLES)
async def batch_sheet(request: Request, principal: Principal, batch_id: int) -> HTTPResponse:
    query = codes_query(request, SheetQuery)
    base_url = request_deps(request).settings.public_base_url
    return ok(
        await batches.sheet(
            principal, batch_id, kind=query.kind, page=query.page, base_url=base_url
        )
    )


@bp.get("/batches/<batch_id:int>/codes.csv")
@openapi.summary(
    "下载批次的全部码（CSV，流式）：类型、箱号、序号、链接、码值；先全部箱码，再全部物码，"
    "各按序号；未生成完 409 codes.batch_not_ready"
)
@responds_file("text/csv; charset=utf-8", description="UTF-8（带 BOM）CSV，交印厂印制")
# Streamed through request.respond(), after which Sanic wants the handler to return None.
@authenticated(*BRAND_ROLES)  # type: ignore[arg-type]
async def export_codes(request: Request, principal: Principal, batch_id: int) -> None:
    export = await batches.export_of(principal, batch_id)
    base_url = request_deps(request).settings.public_base_url
    headers = {
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        "Cache-Control": "no-store",
    }
    async with aclosing(batches.csv_chunks(export, base_url)) as chunks:
        # The first chunk comes before the status line: until then a failure is a normal error.
        first = await anext(chunks)
        response = await request.respond(content_type="text/csv; charset=utf-8", headers=headers)
        await response.send(first)
        async for chunk in chunks:
            await response.send(chunk)
        await response.eof()
