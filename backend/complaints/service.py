"""Complaints: a store owner files one; the brand acknowledges it and hands it to a
distributor; the distributor answers; the brand resolves it; the store confirms or reopens
it and rates the outcome. Every step is a guarded status move with a timeline event; notes
marked internal are never shown to the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from backend.complaints.models import Complaint, ComplaintEvent, ComplaintStatus
from backend.complaints.states import STATUS_NAMES, Action, Actor, next_status
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, STORE_ROLES, Principal
from backend.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.ordering import service as ordering_service
from backend.org import service as org_service

REOPEN_WINDOW = timedelta(days=7)  # the store may reopen a resolved complaint this long


class ComplaintNotFound(NotFound):
    code = "complaint.not_found"
    message = "找不到该投诉"


class OrderNotYours(InvalidInput):
    code = "complaint.order_not_yours"
    message = "所选订单不是本店的订单"


class UnknownDistributor(InvalidInput):
    code = "complaint.unknown_distributor"
    message = "找不到该经销商"


class StatusChanged(Conflict):
    code = "complaint.status_changed"
    message = "投诉状态已变化，请刷新后重试"


class ReopenWindowPassed(Conflict):
    code = "complaint.reopen_window_passed"
    message = "已超过可重新打开的期限"


class ReopenWindowOpen(Conflict):
    code = "complaint.reopen_window_open"
    message = "门店仍可在期限内确认或重新打开，暂不能关闭"


class AlreadyRated(Conflict):
    code = "complaint.already_rated"
    message = "您已评价过"


class NotRateable(Conflict):
    code = "complaint.not_rateable"
    message = "投诉解决后才能评价"


class InternalNotAllowed(Forbidden):
    code = "complaint.internal_not_allowed"
    message = "门店不能添加内部备注"


def actor_of(principal: Principal) -> Actor:
    if principal.role in STORE_ROLES:
        return Actor.STORE
    if principal.role in DISTRIBUTOR_ROLES:
        return Actor.DISTRIBUTOR
    return Actor.BRAND


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def complaint_view(complaint: Complaint) -> dict[str, Any]:
    status = ComplaintStatus(complaint.status)
    return {
        "id": complaint.id,
        "store_id": complaint.store_id,  # type: ignore[attr-defined]
        "distributor_id": complaint.distributor_id,
        "order_id": complaint.order_id,
        "category": complaint.category,
        "text": complaint.text,
        "contact_preference": complaint.contact_preference,
        "status": status.value,
        "status_name": STATUS_NAMES[status],
        "rating": complaint.rating,
        "rating_comment": complaint.rating_comment,
        "reopen_count": complaint.reopen_count,
        "created_at": _iso(complaint.created_at),
        "updated_at": _iso(complaint.updated_at),
        "resolved_at": _iso(complaint.resolved_at),
        "closed_at": _iso(complaint.closed_at),
    }


def event_view(event: ComplaintEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "actor_role": event.actor_role,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "message": event.message,
        "internal": event.internal,
        "at": _iso(event.created_at),
    }


async def _record(
    complaint_id: int,
    principal: Principal,
    now: datetime,
    *,
    moved: tuple[str | None, str] | None = None,
    message: str = "",
    internal: bool = False,
) -> None:
    await ComplaintEvent.create(
        complaint_id=complaint_id,
        actor_id=principal.user_id,
        actor_role=principal.role or "",
        from_status=None if moved is None else moved[0],
        to_status=None if moved is None else moved[1],
        message=message,
        internal=internal,
        created_at=now,
    )


# ---- filing (store) ---------------------------------------------------------------------------


async def file(principal: Principal, fields: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    store = await org_service.store_for_ordering(principal, None)
    order_id = fields["order_id"]
    if order_id is not None and not await ordering_service.store_owns_order(store.id, order_id):
        raise OrderNotYours()
    async with in_transaction():
        complaint = await Complaint.create(
            brand_id=store.brand_id,
            store_id=store.id,
            order_id=order_id,
            category=fields["category"],
            text=fields["text"],
            contact_preference=fields["contact_preference"],
            created_at=now,
            updated_at=now,
        )
        await _record(complaint.id, principal, now, moved=(None, ComplaintStatus.NEW.value))
    return await detail(principal, complaint.id)


# ---- reading ----------------------------------------------------------------------------------


async def _visible(principal: Principal, complaint_id: int) -> Complaint:
    """The complaint if the caller may see it: the brand's staff any of the brand's, a
    distributor's staff those assigned to it, a store its own. Otherwise 404."""
    complaints = Complaint.filter(id=complaint_id, brand_id=principal.brand_id)
    if principal.role in DISTRIBUTOR_ROLES:
        complaints = complaints.filter(distributor_id=principal.distributor_id)
    elif principal.role in STORE_ROLES:
        complaints = complaints.filter(store_id=principal.store_id)
    elif principal.role not in BRAND_ROLES:
        raise ComplaintNotFound()
    complaint = await complaints.first()
    if complaint is None:
        raise ComplaintNotFound()
    return complaint


async def detail(principal: Principal, complaint_id: int) -> dict[str, Any]:
    complaint = await _visible(principal, complaint_id)
    events = ComplaintEvent.filter(complaint_id=complaint.id)
    if principal.role in STORE_ROLES:
        events = events.filter(internal=False)
    timeline = [event_view(event) for event in await events.order_by("id")]
    return {**complaint_view(complaint), "timeline": timeline}


async def list_complaints(
    principal: Principal, filters: dict[str, Any], *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    complaints = Complaint.filter(brand_id=principal.brand_id)
    if principal.role in DISTRIBUTOR_ROLES:
        complaints = complaints.filter(distributor_id=principal.distributor_id)
    elif principal.role in STORE_ROLES:
        complaints = complaints.filter(store_id=principal.store_id)
    wanted = {key: value for key, value in filters.items() if value is not None}
    if wanted:
        complaints = complaints.filter(**wanted)
    if before is not None:
        complaints = complaints.filter(id__lt=before)
    return [complaint_view(c) for c in await complaints.order_by("-id").limit(limit)]


# ---- moving it along ----------------------------------------------------------------------------


async def act(
    principal: Principal,
    complaint_id: int,
    action: Action,
    *,
    message: str,
    distributor_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    """One step of the workflow by the caller, with an optional message to the store."""
    complaint = await _visible(principal, complaint_id)
    current = ComplaintStatus(complaint.status)
    target = next_status(current, action, actor_of(principal))
    changes: dict[str, Any] = {"status": target.value, "updated_at": now}
    if action == Action.ASSIGN:
        changes["distributor_id"] = await _assignee(complaint, distributor_id)
    elif action == Action.RESOLVE:
        changes["resolved_at"] = now
    elif action in (Action.REOPEN, Action.CLOSE):
        window_open = complaint.resolved_at is not None and now < (
            complaint.resolved_at + REOPEN_WINDOW
        )
        if action == Action.REOPEN and not window_open:
            raise ReopenWindowPassed()
        if action == Action.CLOSE and window_open:
            raise ReopenWindowOpen()
    if action == Action.REOPEN:
        changes["reopen_count"] = complaint.reopen_count + 1
    if target == ComplaintStatus.CLOSED:
        changes["closed_at"] = now
    async with in_transaction():
        moved = await Complaint.filter(id=complaint.id, status=current.value).update(**changes)
        if not moved:
            raise StatusChanged()
        await _record(
            complaint.id, principal, now, moved=(current.value, target.value), message=message
        )
    return await detail(principal, complaint.id)


async def _assignee(complaint: Complaint, distributor_id: int | None) -> int:
    """The distributor to hand the complaint to: the one named (the brand's), or the store's."""
    if distributor_id is None:
        return await org_service.store_distributor_id(complaint.store_id)  # type: ignore[attr-defined]
    brand_id: int = complaint.brand_id  # type: ignore[attr-defined]
    if distributor_id not in await org_service.known_ids(brand_id, "distributor", [distributor_id]):
        raise UnknownDistributor()
    return distributor_id


async def add_note(
    principal: Principal, complaint_id: int, message: str, *, internal: bool, now: datetime
) -> dict[str, Any]:
    """A message on the timeline; internal ones (brand and distributor only) are not shown to
    the store."""
    if internal and principal.role in STORE_ROLES:
        raise InternalNotAllowed()
    complaint = await _visible(principal, complaint_id)
    await _record(complaint.id, principal, now, message=message, internal=internal)
    await Complaint.filter(id=complaint.id).update(updated_at=now)
    return await detail(principal, complaint.id)


async def rate(
    principal: Principal, complaint_id: int, rating: int, comment: str, *, now: datetime
) -> dict[str, Any]:
    """The store rates the outcome, once, after the brand resolved it."""
    complaint = await _visible(principal, complaint_id)
    if complaint.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        raise NotRateable()
    rated = await Complaint.filter(id=complaint.id, rating__isnull=True).update(
        rating=rating, rating_comment=comment, updated_at=now
    )
    if not rated:
        raise AlreadyRated()
    await _record(complaint.id, principal, now, message=f"评价 {rating} 星 {comment}".strip())
    return await detail(principal, complaint.id)
