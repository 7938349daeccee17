"""In-app notifications: written in the transaction of what caused them, listed and marked
read by their owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.identity.access import Principal
from backend.kernel.errors import NotFound
from backend.notifications.models import Notification


class NotificationNotFound(NotFound):
    code = "notification.not_found"
    message = "找不到该通知"


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
