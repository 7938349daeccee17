"""The signed-in person's in-app notifications, and the WeChat subscribe messages
(订阅消息) they allow."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import Principal, authenticated
from backend.infra.http import (
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    newest_first,
    ok,
    parse_query,
)
from backend.notifications import service

bp = Blueprint("notifications", url_prefix="/api/v1/notifications")


class NotificationQuery(PageQuery):
    before: Id | None = None
    unread: bool = False


TemplateId = Annotated[str, Field(min_length=1, max_length=64)]


class SubscriptionsBody(RequestModel):
    accepted: list[TemplateId] = Field(
        default_factory=list,
        max_length=service.MAX_TEMPLATES_PER_REPORT,
        description="wx.requestSubscribeMessage 结果为 accept 的模板 id",
    )
    rejected: list[TemplateId] = Field(
        default_factory=list,
        max_length=service.MAX_TEMPLATES_PER_REPORT,
        description="结果为 reject 或 ban 的模板 id",
    )


@bp.get("")
@openapi.summary("我的站内通知（最新在前；unread=true 只看未读）")
@documented_query(NotificationQuery)
@authenticated()
async def list_mine(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, NotificationQuery)
    limit = query.bounded_limit()
    items = await service.mine(
        principal, unread_only=query.unread, before=query.before, limit=limit + 1
    )
    return ok(newest_first(items, limit))


@bp.post("/<notification_id:int>/read")
@openapi.summary("标为已读")
@authenticated()
async def mark_read(request: Request, principal: Principal, notification_id: int) -> HTTPResponse:
    await service.mark_read(principal, notification_id, now=request_deps(request).clock.now())
    return ok({"ok": True})


@bp.get("/subscriptions")
@openapi.summary("平台使用的订阅消息模板，及本人每个模板剩余可接收的条数")
@authenticated()
async def subscriptions(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.subscriptions(request_deps(request), principal)})


@bp.post("/subscriptions")
@openapi.summary("上报 wx.requestSubscribeMessage 的结果：每个 accept 可多接收一条该模板消息")
@authenticated()
@json_body(SubscriptionsBody)
async def record_subscriptions(
    request: Request, principal: Principal, body: SubscriptionsBody
) -> HTTPResponse:
    deps = request_deps(request)
    items = await service.record_subscriptions(
        deps, principal, body.accepted, body.rejected, now=deps.clock.now()
    )
    return ok({"items": items})
