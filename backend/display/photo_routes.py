"""Display photos and submissions over HTTP: a store uploads the photos it took for a check,
then submits them; the store, the brand, the store's distributor and salesperson read a
submission."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.display import submissions
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    Role,
    authenticated,
)
from backend.infra.http import Id, RequestModel, json_body, ok, uploads
from backend.infra.idempotency import create_once

bp = Blueprint("display_photo_routes", url_prefix="/api/v1/display")

# What the mini-program sends beside the file: the phone's capture time and location.
CAPTURE_FIELDS: dict[str, dict[str, Any]] = {
    "taken_at": {
        "type": "string",
        "description": "拍摄时间：带时区的 ISO 8601 时间或毫秒时间戳（至多晚于现在 5 分钟）",
    },
    "latitude": {"type": "number", "minimum": -90, "maximum": 90, "description": "拍摄纬度"},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180, "description": "拍摄经度"},
}


class SubmissionBody(RequestModel):
    photo_ids: list[Id] = Field(
        max_length=50, description="先上传的本店照片 id，数量须等于本次检查要求的张数"
    )


@bp.post("/photos", ctx_large_body=True)
@openapi.summary("上传一张陈列照片（multipart：file、taken_at，可选 latitude 与 longitude）")
@uploads("file", "相机拍摄的照片：JPEG、PNG 或 WebP，≤5 MB", CAPTURE_FIELDS, ("taken_at",))
@authenticated(*STORE_ROLES)
async def upload_photo(request: Request, principal: Principal) -> HTTPResponse:
    upload = request.files.get("file") if request.files else None
    form = {name: request.form.get(name) for name in CAPTURE_FIELDS} if request.form else {}
    deps = request_deps(request)
    photo = await submissions.upload_photo(
        deps, principal, None if upload is None else upload.body, form, now=deps.clock.now()
    )
    return ok(photo, status=201)


@bp.post("/checks/<check_id:int>/submissions")
@openapi.summary("提交本次检查的陈列照片：自动检查（时间、地点、重复、清晰度、识别）后得出结果")
@openapi.parameter("Idempotency-Key", str, location="header", required=True)
@authenticated(*STORE_ROLES)
@json_body(SubmissionBody)
async def submit(
    request: Request, principal: Principal, check_id: int, body: SubmissionBody
) -> HTTPResponse:
    deps = request_deps(request)
    now = deps.clock.now()
    return await create_once(
        request,
        scope="display.submit",
        user_id=principal.user_id,
        now=now,
        create=lambda: submissions.submit(deps, principal, check_id, body.photo_ids, now=now),
    )


@bp.get("/submissions/<submission_id:int>")
@openapi.summary("查看一次陈列检查的提交：照片、自动检查的原因、审核结果与奖励")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, *STORE_ROLES, Role.SALESPERSON)
async def get_submission(
    request: Request, principal: Principal, submission_id: int
) -> HTTPResponse:
    deps = request_deps(request)
    return ok(await submissions.get_submission(deps, principal, submission_id))
