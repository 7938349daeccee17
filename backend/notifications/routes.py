"""The signed-in person's in-app notifications."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import Principal, authenticated
from backend.infra.http import Id, PageQuery, documented_query, newest_first, ok, parse_query
from backend.notifications import service

bp = Blueprint("notifications", url_prefix="/api/v1/notifications")


class NotificationQuery(PageQuery):
    before: Id | None = None
    unread: bool = False


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
