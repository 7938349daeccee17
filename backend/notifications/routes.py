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
    unread: bool = Field(default=False, description="true 只看未读（同 read=false）")
    read: bool | None = Field(default=None, description="true 只看已读，false 只看未读")

    def read_filter(self) -> bool | None:
        return False if self.unread else self.read


class ReadAllBody(RequestModel):
    up_to: Id | None = Field(
        default=None, description="只标记 id 不大于此值的（界面上已显示的）；不传则全部"
    )


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
@openapi.summary("我的站内通知（最新在前，用 before 翻页；附未读总数 unread）")
@documented_query(NotificationQuery)
@authenticated()
async def list_mine(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, NotificationQuery)
    limit = query.bounded_limit()
    items = await service.mine(
        principal, read=query.read_filter(), before=query.before, limit=limit + 1
    )
    return ok({**newest_first(items, limit), "unread": await service.unread_count(principal)})


@bp.get("/unread-count")
@openapi.summary("我的未读通知数")
@authenticated()
async def unread_count(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"unread": await service.unread_count(principal)})


@bp.post("/<notification_id:int>/read")
@openapi.summary("标为已读")
@authenticated()
async def mark_read(request: Request, principal: Principal, notification_id: int) -> HTTPResponse:
    await service.mark_read(principal, notification_id, now=request_deps(request).clock.now())
    return ok({"ok": True})


@bp.post("/read-all")
@openapi.summary("全部标为已读（可只标到 up_to 为止）")
@authenticated()
@json_body(ReadAllBody, required=False)
async def mark_all_read(request: Request, principal: Principal, body: ReadAllBody) -> HTTPResponse:
    now = request_deps(request).clock.now()
    marked = await service.mark_all_read(principal, up_to=body.up_to, now=now)
    return ok({"marked": marked, "unread": await service.unread_count(principal)})


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
