"""In-app notifications: written in the transaction of what caused them, listed and marked
read by their owner. And WeChat subscribe messages (订阅消息): the grants a user gave in
the mini-program are counted here, and each message sent takes one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from backend.identity import service as identity_service
from backend.identity.access import Principal
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.integrations.wechat.client import WechatApiError
from backend.kernel.errors import InvalidInput, NotFound
from backend.notifications.models import Notification, SubscribeGrant

log = get_logger("notifications")


class NotificationNotFound(NotFound):
    code = "notification.not_found"
    message = "找不到该通知"


class UnknownTemplate(InvalidInput):
    code = "notification.unknown_template"
    message = "不支持的订阅消息模板"


class NoSubscriptionResult(InvalidInput):
    code = "notification.no_subscription_result"
    message = "请提供至少一个订阅消息模板的授权结果"


class DuplicateTemplate(InvalidInput):
    code = "notification.duplicate_template"
    message = "同一订阅消息模板只能出现一次"


def notification_view(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


async def notify(
    brand_id: int,
    user_ids: Sequence[int],
    *,
    kind: str,
    title: str,
    body: str,
    link: str,
    now: datetime,
) -> None:
    if user_ids:
        await Notification.bulk_create(
            [
                Notification(
                    brand_id=brand_id,
                    user_id=user_id,
                    kind=kind,
                    title=title,
                    body=body,
                    link=link,
                    created_at=now,
                )
                for user_id in user_ids
            ]
        )


async def mine(
    principal: Principal, *, unread_only: bool, before: int | None, limit: int
) -> list[dict[str, Any]]:
    notifications = Notification.filter(user_id=principal.user_id)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    if before is not None:
        notifications = notifications.filter(id__lt=before)
    return [notification_view(n) for n in await notifications.order_by("-id").limit(limit)]


async def mark_read(principal: Principal, notification_id: int, *, now: datetime) -> None:
    found = await Notification.filter(id=notification_id, user_id=principal.user_id).first()
    if found is None:
        raise NotificationNotFound()
    if found.read_at is None:
        await Notification.filter(id=found.id).update(read_at=now)


# ---- WeChat subscribe messages (订阅消息) ----------------------------------------------------

COMPLAINT_UPDATE = "complaint.update"
LIVE_REMINDER = "live.reminder"
# wx.requestSubscribeMessage takes at most three templates per call, so one report of its
# result names at most three.
MAX_TEMPLATES_PER_REPORT = 3
USER_REFUSED = 43101  # WeChat: the user allows no (more) messages of this template


@dataclass(frozen=True)
class SubscribeTemplate:
    kind: str  # what we send it for
    title: str  # as the user sees it in the mini-program
    template_id: str  # WeChat's, from the settings


def subscribe_templates(deps: Any) -> dict[str, SubscribeTemplate]:
    """The templates the platform sends, by kind."""
    wechat = deps.settings.wechat
    return {
        COMPLAINT_UPDATE: SubscribeTemplate(
            COMPLAINT_UPDATE, "投诉处理进度提醒", wechat.complaint_update_template_id
        ),
        LIVE_REMINDER: SubscribeTemplate(
            LIVE_REMINDER, "直播开播提醒", wechat.live_reminder_template_id
        ),
    }


async def subscriptions(deps: Any, principal: Principal) -> list[dict[str, Any]]:
    """The templates the mini-program should ask the user about, with how many messages of
    each the user still allows."""
    templates = subscribe_templates(deps).values()
    rows = await SubscribeGrant.filter(
        user_id=principal.user_id, template_id__in=[t.template_id for t in templates]
    ).values_list("template_id", "remaining")
    remaining = {str(template_id): int(count) for template_id, count in rows}
    return [
        {
            "kind": template.kind,
            "template_id": template.template_id,
            "title": template.title,
            "remaining": remaining.get(template.template_id, 0),
        }
        for template in templates
    ]


async def record_subscriptions(
    deps: Any,
    principal: Principal,
    accepted: Sequence[str],
    rejected: Sequence[str],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """What wx.requestSubscribeMessage answered: each accepted template allows one more
    message. A refusal takes nothing back: messages allowed earlier may still be sent (WeChat
    keeps them too). Only templates we send are taken, all or none."""
    named = [*accepted, *rejected]
    if not named:
        raise NoSubscriptionResult()
    if len(set(named)) != len(named):
        raise DuplicateTemplate(details=sorted({t for t in named if named.count(t) > 1}))
    if len(named) > MAX_TEMPLATES_PER_REPORT:
        raise InvalidInput(
            f"一次最多 {MAX_TEMPLATES_PER_REPORT} 个订阅消息模板",
            details=[{"field": "accepted", "type": "too_long", "message": "项目过多"}],
        )
    known = {t.template_id for t in subscribe_templates(deps).values()}
    if unknown := [t for t in named if t not in known]:
        raise UnknownTemplate(details=unknown)
    async with in_transaction():
        for template_id in sorted(accepted):  # one order, so two reports never deadlock
            # One upsert: two reports at once must not meet on the unique (user, template).
            await sql.execute(
                "INSERT INTO subscribe_grants (user_id, template_id, remaining, updated_at)"
                " VALUES ($1, $2, 1, $3) ON CONFLICT (user_id, template_id) DO UPDATE"
                " SET remaining = subscribe_grants.remaining + 1, updated_at = excluded.updated_at",
                principal.user_id,
                template_id,
                now,
            )
    return await subscriptions(deps, principal)


async def send_subscribe(
    deps: Any, user_id: int, kind: str, data: dict[str, str], *, page: str, now: datetime
) -> bool:
    """Send one subscribe message of `kind` if the user allows one; whether it went.

    The grant is taken by a guarded decrement before sending, so concurrent sends never
    spend more than the user allowed. Never raises for WeChat: when it refuses because the
    user allows none (43101) we believe it and count none; any other failure did not spend
    the user's grant, so it is given back. The caller's own work is done either way."""
    openid = await identity_service.openid_for(user_id, deps.settings.wechat.appid)
    if openid is None:
        return False
    template_id = subscribe_templates(deps)[kind].template_id
    grants = SubscribeGrant.filter(user_id=user_id, template_id=template_id)
    taken = await grants.filter(remaining__gt=0).update(
        remaining=F("remaining") - 1, updated_at=now
    )
    if not taken:
        return False
    try:
        await deps.wechat.send_subscribe_message(openid, template_id, data, page)
    except WechatApiError as exc:
        if exc.errcode == USER_REFUSED:
            await grants.update(remaining=0, updated_at=now)
        else:
            await grants.update(remaining=F("remaining") + 1, updated_at=now)
        log.warning(
            "subscribe message not sent",
            extra={"errcode": exc.errcode, "errmsg": exc.errmsg, "kind": kind, "user": user_id},
        )
        return False
    return True
