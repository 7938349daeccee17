"""Uploads over HTTP: a picture from brand or distributor staff, for a cover or an image an
object they edit names by URL."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, authenticated
from backend.infra.http import ok, uploads
from backend.uploads import service

bp = Blueprint("uploads", url_prefix="/api/v1/uploads")


@bp.post("/images", ctx_large_body=True)
@openapi.summary("上传一张图片（multipart 字段 file；JPEG/PNG/WebP，≤5 MB，去除元数据）")
@uploads("file", "JPEG、PNG 或 WebP 图片")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def upload_image(request: Request, principal: Principal) -> HTTPResponse:
    upload = request.files.get("file") if request.files else None
    if upload is None:
        raise service.NotAnImage("请以 multipart 字段 file 上传图片")
    return ok(await service.upload_image(request_deps(request), principal, upload.body), status=201)
