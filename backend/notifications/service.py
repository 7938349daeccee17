"""In-app notifications: written in the transaction of what caused them, pushed to their
owner's open consoles once it commits, listed, counted and marked read by their owner. And
WeChat subscribe messages (订阅消息): the grants a user gave in the mini-program are counted
here, and each message sent takes one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from backend.identity import service as identity_service
from backend.identity.access import Principal
from backend.infra import jobs, sql
from backend.infra.broadcast import CONSOLE_NAMESPACE, Broadcaster, user_room
from backend.infra.logging import get_logger
from backend.integrations.wechat.client import WechatApiError
from backend.kernel.errors import InvalidInput, NotFound
from backend.notifications.models import Notification, SubscribeGrant, SubscribeSend

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


# What the console hears when a notification is made for the person signed in.
CREATED_EVENT = "notification.created"


async def notify(
    brand_id: int,
    user_ids: Sequence[int],
    *,
    kind: str,
    title: str,
    body: str,
    link: str,
    now: datetime,
    broadcast: Broadcaster | None = None,
) -> None:
    """One notification per user, written in the caller's transaction. With `broadcast`,
    each is pushed to its own user's open consoles (their user room, nobody else's) once
    that transaction commits: a rolled-back event announces nothing."""
    recipients = sorted(set(user_ids))
    if not recipients:
        return
    fields: dict[str, Any] = {"brand_id": brand_id, "kind": kind, "link": link}
    fields |= {"title": title[:64], "body": body[:500], "created_at": now}
    if broadcast is None:
        await Notification.bulk_create([Notification(user_id=u, **fields) for u in recipients])
        return
    # One by one: the push carries each notification's id, which the console marks read by.
    created = [await Notification.create(user_id=u, **fields) for u in recipients]
    await sql.after_commit(partial(_push, broadcast, created))


async def _push(broadcast: Broadcaster, created: list[Notification]) -> None:
    for notification in created:
        await broadcast.emit(
            CREATED_EVENT,
            notification_view(notification),
            rooms=[user_room(notification.user_id)],  # type: ignore[attr-defined]
            namespace=CONSOLE_NAMESPACE,
        )


async def mine(
    principal: Principal, *, read: bool | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The caller's notifications, newest first (keyset `before`); `read` narrows to the read
    (True) or unread (False) ones."""
    notifications = Notification.filter(user_id=principal.user_id)
    if read is not None:
        notifications = notifications.filter(read_at__isnull=not read)
    if before is not None:
        notifications = notifications.filter(id__lt=before)
    return [notification_view(n) for n in await notifications.order_by("-id").limit(limit)]


async def unread_count(principal: Principal) -> int:
    return await Notification.filter(user_id=principal.user_id, read_at__isnull=True).count()


async def mark_read(principal: Principal, notification_id: int, *, now: datetime) -> None:
    found = await Notification.filter(id=notification_id, user_id=principal.user_id).first()
    if found is None:
        raise NotificationNotFound()
    if found.read_at is None:
        await Notification.filter(id=found.id).update(read_at=now)


async def mark_all_read(principal: Principal, *, up_to: int | None, now: datetime) -> int:
    """Mark the caller's unread notifications read: all, or those up to id `up_to` (what the
    person had on screen; one that arrived since stays unread). How many were marked."""
    unread = Notification.filter(user_id=principal.user_id, read_at__isnull=True)
    if up_to is not None:
        unread = unread.filter(id__lte=up_to)
    return await unread.update(read_at=now)


# ---- WeChat subscribe messages (订阅消息) ----------------------------------------------------

COMPLAINT_UPDATE = "complaint.update"
LIVE_REMINDER = "live.reminder"
DISPLAY_REMINDER = "display_reminder"
REORDER_REMINDER = "reorder_reminder"
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
        DISPLAY_REMINDER: SubscribeTemplate(
            DISPLAY_REMINDER, "陈列检查提醒", wechat.display_reminder_template_id
        ),
        REORDER_REMINDER: SubscribeTemplate(
            REORDER_REMINDER, "补货提醒", wechat.reorder_reminder_template_id
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


SUBSCRIBE_TASK = "notifications.subscribe"


async def queue_subscribe(
    user_id: int,
    kind: str,
    data: dict[str, str],
    *,
    page: str,
    brand_id: int,
    now: datetime,
    about: str,
) -> int:
    """Ask for one subscribe message of `kind` to the user, sent by a job once the caller's
    transaction commits: the caller's answer never waits for WeChat, and a WeChat that is
    down only delays the message. `about`: what it is about, for the brand's admins should
    it fail ("门店「…」· 投诉 #12"). The job's id."""
    args = {"user_id": user_id, "kind": kind, "data": data, "page": page}
    return await jobs.defer(SUBSCRIBE_TASK, args, brand_id=brand_id, now=now, context=about)


class WechatUnavailable(jobs.JobFailure):
    """WeChat did not take the message; the job tries again later."""


async def send_subscribe_job(deps: Any, job_id: int, args: dict[str, Any]) -> bool:
    """The job behind queue_subscribe: send the message if the user still allows one;
    whether it went.

    Once only: the grant is taken by a guarded decrement in the same transaction that records
    the send for this job (unique), and a rerun that finds the record sends nothing. When
    WeChat fails for a reason that may pass, the grant comes back, the record goes, and the
    error is raised for the queue to retry; when it refuses because the user allows no more
    (43101), we believe it and count none. A crash between WeChat's answer and our commit
    loses that one message rather than sending it twice."""
    user_id, kind, now = int(args["user_id"]), str(args["kind"]), deps.clock.now()
    openid = await identity_service.openid_for(user_id, deps.settings.wechat.appid)
    if openid is None:
        return False
    template_id = subscribe_templates(deps)[kind].template_id
    grants = SubscribeGrant.filter(user_id=user_id, template_id=template_id)
    cause = f"job:{job_id}"
    async with in_transaction():
        if await SubscribeSend.exists(cause=cause):
            return False
        taken = await grants.filter(remaining__gt=0).update(
            remaining=F("remaining") - 1, updated_at=now
        )
        if not taken:
            return False
        await SubscribeSend.create(
            cause=cause, user_id=user_id, template_id=template_id, sent_at=now
        )
    try:
        await deps.wechat.send_subscribe_message(openid, template_id, args["data"], args["page"])
    except WechatApiError as exc:
        log.warning(
            "subscribe message not sent",
            extra={"errcode": exc.errcode, "errmsg": exc.errmsg, "kind": kind, "user": user_id},
        )
        if exc.errcode == USER_REFUSED:
            await grants.update(remaining=0, updated_at=now)
            return False
        async with in_transaction():
            await SubscribeSend.filter(cause=cause).delete()
            await grants.update(remaining=F("remaining") + 1, updated_at=now)
        # What staff read in the console; WeChat's code and text went to the log above.
        if exc.errcode is None:
            raise WechatUnavailable("连不上微信服务器") from exc
        raise WechatUnavailable("微信暂未接受这条消息") from exc
    return True


async def analytics_users_allowing(deps: Any, user_ids: Iterable[int], kind: str) -> set[int]:
    """Which of `user_ids` still allow a subscribe message of `kind` (analytics' reminders
    queue messages only to them; the job checks again when it sends)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return set()
    template_id = subscribe_templates(deps)[kind].template_id
    found = await SubscribeGrant.filter(
        user_id__in=wanted, template_id=template_id, remaining__gt=0
    ).values_list("user_id", flat=True)
    return {int(user_id) for user_id in found}  # type: ignore[call-overload]
