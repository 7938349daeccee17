"""Import endpoints for brand staff: a template per kind, a dry run, and the apply."""

from __future__ import annotations

import hashlib
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, Principal, authenticated
from backend.imports import service
from backend.infra.http import ok, responds, responds_file, uploads
from backend.infra.idempotency import checked_key, run_once

bp = Blueprint("imports", url_prefix="/api/v1/imports")
KIND = "<kind:stores|products|prices>"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_NOTE = "Excel（.xlsx）或 CSV（UTF-8 或 GBK）文件，第一行为模板中的列名"
KindName = Literal["stores", "products", "prices"]
assert set(KindName.__args__) == {k.value for k in service.Kind}  # type: ignore[attr-defined]


class ProblemView(BaseModel):
    row: int | None = Field(description="表格中的行号（列名为第 1 行）；null 表示整个文件的问题")
    column: str | None = Field(description="列名；null 表示整行或整个文件")
    message: str
    value: str | None = Field(description="该格填写的内容（最多 50 字）")


class DryRun(BaseModel):
    kind: KindName
    rows: int = Field(description="读到的数据行数（空行不计）")
    problem_rows: int
    valid_rows: int
    ok: bool = Field(description="没有任何问题，可以导入")
    problems: list[ProblemView]


class Applied(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: KindName
    rows: int
    created: dict[str, int] = Field(
        description="stores；products 与 skus；price_entries 与 updated"
        "（已有价格被改为文件中的价格）"
    )
    sample: list[dict[str, Any]] = Field(description=f"前 {service.SAMPLE_SIZE} 行写入的内容")


def _file(request: Request) -> bytes:
    upload = request.files.get("file") if request.files else None
    if upload is None:
        raise service.NoFile()
    return bytes(upload.body)


@bp.get(f"/templates/{KIND}")
@openapi.summary("下载导入模板（XLSX，中文列名，带 * 的列必填；说明页写明每列要求）")
@responds_file(XLSX, description="导入模板")
@authenticated(*BRAND_ROLES)
async def template(request: Request, principal: Principal, kind: str) -> HTTPResponse:
    name, content = service.template(service.Kind(kind))
    return raw(
        content,
        content_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


@bp.post(f"/{KIND}/dry-run", ctx_large_body=True)
@openapi.summary("预检：读取整个文件，逐行列出全部问题，不写入任何数据")
@uploads("file", FILE_NOTE)
@responds(DryRun)
@authenticated(*BRAND_ROLES)
async def dry_run(request: Request, principal: Principal, kind: str) -> HTTPResponse:
    return ok(await service.dry_run(principal, service.Kind(kind), _file(request)))


@bp.post(f"/{KIND}", ctx_large_body=True)
@openapi.summary("导入：重新检查并在一个事务中全部写入；任何一行有问题则什么都不写（422）")
@openapi.description(
    "须带 Idempotency-Key：同一键与同一文件重放第一次的结果。再次上传已导入过的门店或商品文件，"
    "会因手机号或条码已存在被整体拒绝，不会重复创建；价格表按 条码+经销商+分层+起订数量 "
    "设置价格，已有的改为文件中的价格，不会重复添加。"
)
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@uploads("file", FILE_NOTE)
@responds(Applied, 201, "已导入（同一 Idempotency-Key 与文件重放时原样返回）")
@authenticated(*BRAND_ROLES)
async def apply(request: Request, principal: Principal, kind: str) -> HTTPResponse:
    key = checked_key(request.headers.get("idempotency-key"))
    data = _file(request)
    # The file, not the multipart body: a retry's body has another boundary around it.
    fingerprint = f"{kind}\n{hashlib.sha256(data).hexdigest()}".encode()

    async def work() -> tuple[int, Any]:
        return 201, await service.apply(principal, service.Kind(kind), data)

    status, result = await run_once(
        scope="imports.apply",
        owner=f"user:{principal.user_id}",
        key=key,
        body=fingerprint,
        now=request_deps(request).clock.now(),
        work=work,
    )
    return ok(result, status=status)
