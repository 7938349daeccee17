"""Complaints: a store owner files one; the brand acknowledges it and hands it to a
distributor; the distributor answers; the brand resolves it; the store confirms or reopens
it and rates the outcome. Every step is a guarded status move with a timeline event; notes
marked internal are never shown to the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from backend.complaints import metrics as complaint_metrics
from backend.complaints.models import (
    Complaint,
    ComplaintEvent,
    ComplaintPhoto,
    ComplaintSla,
    ComplaintStatus,
)
from backend.complaints.states import STATUS_NAMES, TRANSITIONS, Action, Actor, next_status
from backend.identity import service as identity_service
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, STORE_ROLES, Principal
from backend.infra import events, images, sql
from backend.infra.broadcast import CONSOLE_NAMESPACE, brand_room, distributor_room
from backend.infra.logging import get_logger
from backend.infra.storage import delete_files, storage_for, store_image
from backend.integrations.wechat.client import WechatApiError
from backend.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from backend.kernel.events import ComplaintFiled, ComplaintStepTaken
from backend.notifications import service as notifications_service
from backend.ordering import service as ordering_service
from backend.org import service as org_service

log = get_logger("complaints")
REOPEN_WINDOW = timedelta(days=7)  # the store may reopen a resolved complaint this long
# Minutes to the first response and to the resolution, by category, unless the brand set its
# own (ComplaintSla): the urgent ones (goods missing, damaged, wrong) are answered soonest.
DEFAULT_SLA = {
    "delivery": (120, 1440),
    "damaged": (240, 2880),
    "wrong_goods": (240, 2880),
    "quality": (240, 4320),
    "service": (480, 4320),
    "promotion": (480, 4320),
    "other": (1440, 7200),
}
OPEN_STATUSES = (
    ComplaintStatus.NEW,
    ComplaintStatus.ACKNOWLEDGED,
    ComplaintStatus.ASSIGNED,
    ComplaintStatus.RESPONDED,
    ComplaintStatus.REOPENED,
)


def orders_with_open_complaints() -> Any:
    """After-sale, for the order queue (ordering's AFTER_SALE_SOURCES): an order a
    complaint still open is about."""
    return Complaint.filter(
        status__in=[status.value for status in OPEN_STATUSES], order_id__isnull=False
    ).values("order_id")


class ComplaintNotFound(NotFound):
    code = "complaint.not_found"
    message = "找不到该投诉"


class NotAPhoto(InvalidInput):
    code = "complaint.not_a_photo"
    message = "只支持 JPEG、PNG、WebP 图片"


class PhotoTooLarge(TooLarge):
    code = "complaint.photo_too_large"
    message = f"图片不能超过 {images.MAX_IMAGE_BYTES // (1024 * 1024)} MB"


class PhotosUnavailable(InvalidInput):
    code = "complaint.photos_unavailable"
    message = "部分图片不存在或已用于其他投诉，请重新上传"


class NoReviewPending(Conflict):
    code = "complaint.no_review_pending"
    message = "该投诉没有待审核的内容"


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


HIDDEN_TEXT = "（内容未通过审核，已隐藏）"


def complaint_view(
    complaint: Complaint | SimpleNamespace, *, for_distributor: bool = False
) -> dict[str, Any]:
    status = ComplaintStatus(complaint.status)
    hidden = for_distributor and complaint.content_review == "rejected"
    return {
        "id": complaint.id,
        "store_id": complaint.store_id,  # type: ignore[union-attr]
        "distributor_id": complaint.distributor_id,
        "order_id": complaint.order_id,
        "category": complaint.category,
        "text": HIDDEN_TEXT if hidden else complaint.text,
        "content_check": {
            "verdict": complaint.content_check,
            "review": complaint.content_review,
            "needs_review": complaint.content_check != "pass" and not complaint.content_review,
        },
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
        "sla": {
            "first_response_due_at": _iso(complaint.first_response_due_at),
            "resolution_due_at": _iso(complaint.resolution_due_at),
            "due_at": _iso(complaint.due_at),
            "paused": complaint.paused_since is not None,
            "breached_first_response": complaint.breached_first_response,
            "breached_resolution": complaint.breached_resolution,
        },
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


async def upload_photo(
    deps: Any, principal: Principal, data: bytes, *, now: datetime
) -> dict[str, Any]:
    """Check, clean (no metadata, no location) and store one photo for a complaint to come;
    its id is then named when filing."""
    store = await org_service.store_for_ordering(principal, None)
    try:
        photo = await store_image(
            deps.settings.storage, f"complaints/{store.brand_id}/{store.id}", data
        )
    except images.ImageTooLarge as refused:
        raise PhotoTooLarge() from refused
    except images.NotAnImage as refused:
        raise NotAPhoto(str(refused)) from refused
    row = await ComplaintPhoto.create(
        brand_id=store.brand_id,
        store_id=store.id,
        key=photo.key,
        content_type=photo.content_type,
        size_bytes=photo.size_bytes,
        width=photo.width,
        height=photo.height,
        created_at=now,
    )
    return {"id": row.id, "url": photo.url, "width": photo.width, "height": photo.height}


UNATTACHED_PHOTO_LIFETIME = timedelta(hours=24)  # uploaded, then the complaint never filed


async def purge_unattached_photos(deps: Any, now: datetime) -> int:
    """Delete photos no complaint took within a day of their upload: the row first, with a
    guard (a complaint filed with it at this moment wins or fails whole), then the file."""
    rows = await sql.fetch(
        "DELETE FROM complaint_photos WHERE complaint_id IS NULL AND created_at < $1 RETURNING key",
        now - UNATTACHED_PHOTO_LIFETIME,
    )
    await delete_files(deps.settings.storage, [row["key"] for row in rows])
    return len(rows)


async def purge_photos_job(deps: Any) -> int:
    return await purge_unattached_photos(deps, deps.clock.now())


async def file(
    deps: Any, principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    store = await org_service.store_for_ordering(principal, None)
    order_id = fields["order_id"]
    if order_id is not None and not await ordering_service.store_owns_order(store.id, order_id):
        raise OrderNotYours()
    verdict = await _text_verdict(deps, principal, fields["text"])
    first_minutes, resolution_minutes = await sla_minutes(store.brand_id, fields["category"])
    first_due = now + timedelta(minutes=first_minutes)
    # sql.transaction(): what follows the filing (the consoles told, the review notification
    # pushed) waits for the complaint to commit.
    async with sql.transaction():
        complaint = await Complaint.create(
            brand_id=store.brand_id,
            store_id=store.id,
            order_id=order_id,
            category=fields["category"],
            text=fields["text"],
            contact_preference=fields["contact_preference"],
            created_at=now,
            updated_at=now,
            first_response_due_at=first_due,
            resolution_due_at=now + timedelta(minutes=resolution_minutes),
            due_at=first_due,
            content_check=verdict,
        )
        await _record(complaint.id, principal, now, moved=(None, ComplaintStatus.NEW.value))
        if verdict != "pass":
            await _note_review_needed(complaint.id, verdict, now)
        if photo_ids := sorted(set(fields["photo_ids"])):
            attached = await sql.execute(
                "UPDATE complaint_photos SET complaint_id = $1"
                " WHERE id IN ($2) AND store_id = $3 AND complaint_id IS NULL",
                complaint.id,
                photo_ids,
                store.id,
            )
            if attached != len(photo_ids):
                raise PhotosUnavailable()  # rolls the complaint back with it
        await events.record(
            deps, ComplaintFiled(complaint.id, store.brand_id, store.id, verdict, filed_at=now)
        )
    return await detail(deps, principal, complaint.id)


VERDICT_NOTES = {
    "review": "微信内容安全检测建议人工审核",
    "risky": "微信内容安全检测认为有风险",
    "unchecked": "微信内容安全检测暂不可用，未能检测",
}


async def _text_verdict(deps: Any, principal: Principal, text: str) -> str:
    """WeChat's verdict on the author's text; unchecked (so reviewed by a person) when the
    author has no WeChat account here or WeChat can't be reached. Filing never fails on it."""
    openid = await identity_service.openid_for(principal.user_id, deps.settings.wechat.appid)
    if openid is None:
        return "unchecked"
    try:
        return await deps.wechat.text_check(text, openid, scene=2)
    except WechatApiError as exc:
        log.warning("content check unavailable", extra={"errcode": exc.errcode})
        return "unchecked"


def _verdict_note(verdict: str) -> str:
    return VERDICT_NOTES.get(verdict, "内容需人工审核")


async def _note_review_needed(complaint_id: int, verdict: str, now: datetime) -> None:
    """Flagged text goes to a person: an internal note on the timeline (the brand's staff
    are notified by ask_for_review). The complaint itself goes on as usual."""
    await ComplaintEvent.create(
        complaint_id=complaint_id,
        actor_id=None,
        actor_role="system",
        message=f"{_verdict_note(verdict)}，请人工审核",
        internal=True,
        created_at=now,
    )


async def ask_for_review(deps: Any, filed: ComplaintFiled) -> None:
    """ComplaintFiled, in its transaction: flagged text is a notification to the brand's
    staff, written with the complaint and pushed once it commits."""
    if filed.content_check == "pass":
        return
    await notifications_service.notify(
        filed.brand_id,
        await identity_service.brand_staff_user_ids(filed.brand_id),
        kind="complaint.review",
        title=f"投诉 #{filed.complaint_id} 内容待审核",
        body=_verdict_note(filed.content_check),
        link=f"complaint:{filed.complaint_id}",
        now=filed.filed_at,
        broadcast=deps.broadcast,
    )


async def review_content(
    deps: Any, principal: Principal, complaint_id: int, decision: str, *, now: datetime
) -> dict[str, Any]:
    """The brand's decision on flagged text: approved, or rejected (hidden from the
    distributor; the store and the brand still see it). Once."""
    complaint = await _visible(principal, complaint_id)
    async with sql.transaction():
        decided = (
            await Complaint.filter(id=complaint.id, content_review="")
            .exclude(content_check="pass")
            .update(content_review=decision, updated_at=now)
        )
        if not decided:
            raise NoReviewPending()
        outcome = "内容审核通过" if decision == "approved" else "内容审核未通过，已对经销商隐藏"
        await _record(complaint.id, principal, now, message=outcome, internal=True)
        await _took_step(deps, complaint, principal, "reviewed", now)
    return await detail(deps, principal, complaint.id)


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


async def detail(deps: Any, principal: Principal, complaint_id: int) -> dict[str, Any]:
    complaint = await _visible(principal, complaint_id)
    events = ComplaintEvent.filter(complaint_id=complaint.id)
    if principal.role in STORE_ROLES:
        events = events.filter(internal=False)
    timeline = [event_view(event) for event in await events.order_by("id")]
    attached = await ComplaintPhoto.filter(complaint_id=complaint.id).order_by("id")
    storage = storage_for(deps.settings.storage)
    shown = [
        {
            "id": photo.id,
            "url": storage.url(photo.key),
            "width": photo.width,
            "height": photo.height,
        }
        for photo in attached
    ]
    view = complaint_view(complaint, for_distributor=principal.role in DISTRIBUTOR_ROLES)
    await _add_names(complaint.brand_id, [view])  # type: ignore[attr-defined]
    return {
        **view,
        "photos": shown,
        "timeline": timeline,
        "actions": _actions_for(complaint, actor_of(principal), deps.clock.now()),
    }


def _actions_for(complaint: Complaint, actor: Actor, now: datetime) -> list[str]:
    """The steps the caller could take now, for a console or the mini-program to offer (the
    step itself is checked again when taken)."""
    status = ComplaintStatus(complaint.status)
    window_open = complaint.resolved_at is not None and now < complaint.resolved_at + REOPEN_WINDOW
    offered = []
    for (action, from_status), (_, who) in TRANSITIONS.items():
        if from_status != status or who != actor:
            continue
        waiting_on_store = action in (Action.CLOSE, Action.REOPEN)
        if waiting_on_store and window_open != (action == Action.REOPEN):
            continue
        offered.append(action.value)
    return offered


async def _add_names(brand_id: int, views: list[dict[str, Any]]) -> None:
    """Store and distributor names beside their ids, in one query each for a whole page."""
    stores = await org_service.names(brand_id, "store", (v["store_id"] for v in views))
    distributors = await org_service.names(
        brand_id, "distributor", (v["distributor_id"] for v in views if v["distributor_id"])
    )
    for view in views:
        view["store_name"] = stores.get(view["store_id"], "")
        view["distributor_name"] = distributors.get(view["distributor_id"] or 0, "")


# Read with fixed SQL (infra/sql.py): the queue is the console's busiest read, and building
# ORM objects for its rows was most of its cost (bench/complaint_queue.py).
_LIST_COLUMNS = (
    "id, store_id, distributor_id, order_id, category, text, content_check, content_review,"
    " contact_preference, status, rating, rating_comment, reopen_count, created_at, updated_at,"
    " resolved_at, closed_at, first_response_due_at, resolution_due_at, due_at, paused_since,"
    " breached_first_response, breached_resolution"
)
_TIMES = {
    name: Complaint._meta.fields_map[name]
    for name in (
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "first_response_due_at",
        "resolution_due_at",
        "due_at",
        "paused_since",
    )
}
_FLAGS = ("breached_first_response", "breached_resolution")
_EQUAL_FILTERS = ("status", "category", "distributor_id", "store_id")
_BREACHED = "(breached_first_response OR breached_resolution)"


def _listed(row: Any) -> SimpleNamespace:
    """A row as complaint_view reads a complaint: times and flags as the ORM would give
    them (SQLite returns text and integers for both)."""
    values = dict(row)
    for name, field in _TIMES.items():
        value = values[name]
        # asyncpg gives aware datetimes already; SQLite gives text for the field to parse.
        if value is not None and not (isinstance(value, datetime) and value.tzinfo):
            values[name] = field.to_python_value(value)
    for name in _FLAGS:
        values[name] = bool(values[name])
    return SimpleNamespace(**values)


async def list_complaints(
    principal: Principal,
    filters: dict[str, Any],
    *,
    before: int | None,
    limit: int,
    by_due: tuple[datetime, int] | None = None,
) -> list[dict[str, Any]]:
    """Newest first by default. `by_due` (a cursor: the last due time and id shown, or the
    epoch and 0 to start) lists the open complaints by the time their service level falls
    due, soonest first: the brand's queue."""
    args: list[Any] = []

    def bound(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [f"brand_id = {bound(principal.brand_id)}"]
    if principal.role in DISTRIBUTOR_ROLES:
        where.append(f"distributor_id = {bound(principal.distributor_id)}")
    elif principal.role in STORE_ROLES:
        where.append(f"store_id = {bound(principal.store_id)}")
    if filters.get("needs_review"):
        where.append("content_review = '' AND content_check <> 'pass'")
    if filters.get("archived"):
        where.append(
            f"status IN ({bound(ComplaintStatus.RESOLVED.value)},"
            f" {bound(ComplaintStatus.CLOSED.value)})"
        )
    if filters.get("breached") is not None:
        where.append(_BREACHED if filters["breached"] else f"NOT {_BREACHED}")
    where.extend(
        f"{name} = {bound(filters[name])}"
        for name in _EQUAL_FILTERS
        if filters.get(name) is not None
    )
    if by_due is not None:
        # A row comparison, so that the (brand_id, due_at, id) index finds where to start.
        due_after, id_after = by_due
        where.append(
            f"due_at IS NOT NULL AND (due_at, id) > ({bound(due_after)}, {bound(id_after)})"
        )
        order = "due_at, id"
    else:
        if before is not None:
            where.append(f"id < {bound(before)}")
        order = "id DESC"
    rows = await sql.fetch(
        f"SELECT {_LIST_COLUMNS} FROM complaints WHERE {' AND '.join(where)}"  # noqa: S608
        f" ORDER BY {order} LIMIT {bound(limit)}",
        *args,
    )
    as_distributor = principal.role in DISTRIBUTOR_ROLES
    views = [complaint_view(_listed(row), for_distributor=as_distributor) for row in rows]
    if views:
        # The stores and distributors are org's: their names come from its service, one
        # query each for the whole page.
        assert principal.brand_id is not None  # the rows were filtered by it
        await _add_names(principal.brand_id, views)
    return views


async def _took_step(
    deps: Any,
    complaint: Any,
    by: Principal | None,
    step: str,
    now: datetime,
    *,
    to_status: ComplaintStatus | None = None,
    message: str = "",
    assigned_to: int | None = None,
) -> None:
    """Record ComplaintStepTaken in the step's transaction (backend/wiring.py says who
    reacts); `by` None: the system took it."""
    handed_to = (complaint.distributor_id, assigned_to)
    await events.record(
        deps,
        ComplaintStepTaken(
            complaint_id=complaint.id,
            brand_id=complaint.brand_id,
            store_id=complaint.store_id,
            step=step,
            distributor_ids=tuple(dict.fromkeys(d for d in handed_to if d is not None)),
            actor_id=None if by is None else by.user_id,
            actor_role="system" if by is None else by.role or "",
            to_status=None if to_status is None else to_status.value,
            message=message,
            at=now,
        ),
    )


async def _announce(
    deps: Any, complaint_id: int, brand_id: int, distributor_ids: tuple[int, ...], change: str
) -> None:
    """Tell the consoles watching this complaint that it changed. Only its id and what
    happened travel: each console reads the complaint again with its own rights."""
    rooms = [brand_room(brand_id), *(distributor_room(d) for d in distributor_ids)]
    await deps.broadcast.emit(
        "complaint.changed",
        {"id": complaint_id, "change": change},
        rooms=rooms,
        namespace=CONSOLE_NAMESPACE,
    )


async def announce_filing(deps: Any, filed: ComplaintFiled) -> None:
    """ComplaintFiled, after commit: the brand's consoles hear of it."""
    await _announce(deps, filed.complaint_id, filed.brand_id, (), "filed")


async def announce_step(deps: Any, step: ComplaintStepTaken) -> None:
    """ComplaintStepTaken, after commit: the consoles of the brand and of the distributors
    it was and is handed to hear of it. A deadline check run without a process's deps
    (a test, a script) has no consoles to tell."""
    if deps is None:
        return
    await _announce(deps, step.complaint_id, step.brand_id, step.distributor_ids, step.step)


# ---- moving it along ----------------------------------------------------------------------------


async def act(
    deps: Any,
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
    changes.update(_clock_changes(complaint, action, now))
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
    async with sql.atomic():
        moved = await Complaint.filter(id=complaint.id, status=current.value).update(**changes)
        if not moved:
            raise StatusChanged()
        await _record(
            complaint.id, principal, now, moved=(current.value, target.value), message=message
        )
        await _took_step(
            deps,
            complaint,
            principal,
            action.value,
            now,
            to_status=target,
            message=message,
            assigned_to=changes.get("distributor_id"),
        )
    return await detail(deps, principal, complaint.id)


def _clock_changes(complaint: Complaint, action: Action, now: datetime) -> dict[str, Any]:
    """How a step moves the service-level clock."""
    if action == Action.ACKNOWLEDGE:
        first = {"acknowledged_at": now} if complaint.acknowledged_at is None else {}
        return {**first, "due_at": complaint.resolution_due_at}
    if action == Action.RESOLVE:  # now waiting on the store: the clock stops
        return {"paused_since": now, "due_at": None}
    if action == Action.REOPEN:  # back to the brand: resume, less the time waited
        assert complaint.paused_since is not None and complaint.resolution_due_at is not None
        due = complaint.resolution_due_at + (now - complaint.paused_since)
        return {"paused_since": None, "resolution_due_at": due, "due_at": due}
    if action in (Action.CONFIRM, Action.CLOSE):
        return {"paused_since": None, "due_at": None}
    return {}


async def _assignee(complaint: Complaint, distributor_id: int | None) -> int:
    """The distributor to hand the complaint to: the one named (the brand's), or the store's."""
    if distributor_id is None:
        return await org_service.store_distributor_id(complaint.store_id)  # type: ignore[attr-defined]
    brand_id: int = complaint.brand_id  # type: ignore[attr-defined]
    if distributor_id not in await org_service.known_ids(brand_id, "distributor", [distributor_id]):
        raise UnknownDistributor()
    return distributor_id


async def add_note(
    deps: Any,
    principal: Principal,
    complaint_id: int,
    message: str,
    *,
    internal: bool,
    now: datetime,
) -> dict[str, Any]:
    """A message on the timeline; internal ones (brand and distributor only) are not shown to
    the store."""
    if internal and principal.role in STORE_ROLES:
        raise InternalNotAllowed()
    complaint = await _visible(principal, complaint_id)
    async with sql.transaction():
        await _record(complaint.id, principal, now, message=message, internal=internal)
        await Complaint.filter(id=complaint.id).update(updated_at=now)
        await _took_step(deps, complaint, principal, "noted", now)
    return await detail(deps, principal, complaint.id)


async def rate(
    deps: Any, principal: Principal, complaint_id: int, rating: int, comment: str, *, now: datetime
) -> dict[str, Any]:
    """The store rates the outcome, once, after the brand resolved it."""
    complaint = await _visible(principal, complaint_id)
    if complaint.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        raise NotRateable()
    async with sql.transaction():
        rated = await Complaint.filter(id=complaint.id, rating__isnull=True).update(
            rating=rating, rating_comment=comment, updated_at=now
        )
        if not rated:
            raise AlreadyRated()
        await _record(complaint.id, principal, now, message=f"评价 {rating} 星 {comment}".strip())
        await _took_step(deps, complaint, principal, "rated", now)
    return await detail(deps, principal, complaint.id)


# ---- how well they are handled -----------------------------------------------------------------


async def metrics(principal: Principal, *, since: datetime, until: datetime) -> dict[str, Any]:
    """Figures per distributor for complaints filed in [since, until): brand staff see every
    distributor, distributor staff only themselves."""
    args: list[Any] = [principal.brand_id, since, until]
    where = "brand_id = $1 AND created_at >= $2 AND created_at < $3"
    if principal.role in DISTRIBUTOR_ROLES:
        args.append(principal.distributor_id)
        where += " AND distributor_id = $4"
    rows = await sql.fetch(
        "SELECT distributor_id, created_at, acknowledged_at, resolved_at,"  # noqa: S608
        " breached_first_response, breached_resolution, rating"
        f" FROM complaints WHERE {where}",
        *args,
    )
    fields = Complaint._meta.fields_map
    handled = [
        complaint_metrics.HandledComplaint(
            distributor_id=row["distributor_id"],
            created_at=fields["created_at"].to_python_value(row["created_at"]),
            acknowledged_at=fields["acknowledged_at"].to_python_value(row["acknowledged_at"]),
            resolved_at=fields["resolved_at"].to_python_value(row["resolved_at"]),
            breached_first_response=bool(row["breached_first_response"]),
            breached_resolution=bool(row["breached_resolution"]),
            rating=row["rating"],
        )
        for row in rows
    ]
    groups, overall = complaint_metrics.by_distributor(handled)
    names = await org_service.names(
        principal.brand_id,  # type: ignore[arg-type]
        "distributor",
        (key for key in groups if key is not None),
    )
    distributors = [
        {
            "distributor_id": key,
            "distributor_name": "未转经销商" if key is None else names.get(key, f"#{key}"),
            **figures,
        }
        for key, figures in sorted(groups.items(), key=lambda item: (item[0] is None, item[0]))
    ]
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "overall": overall,
        "distributors": distributors,
    }


# ---- service levels -----------------------------------------------------------------------------


async def sla_minutes(brand_id: int, category: str) -> tuple[int, int]:
    """Minutes to the first response and to the resolution for a category."""
    own = await ComplaintSla.get_or_none(brand_id=brand_id, category=category)
    if own is None:
        return DEFAULT_SLA[category]
    return own.first_response_minutes, own.resolution_minutes


async def service_levels(principal: Principal) -> list[dict[str, Any]]:
    own = {s.category: s for s in await ComplaintSla.filter(brand_id=principal.brand_id)}
    return [
        {
            "category": category,
            "first_response_minutes": own[category].first_response_minutes
            if category in own
            else first,
            "resolution_minutes": own[category].resolution_minutes if category in own else total,
        }
        for category, (first, total) in DEFAULT_SLA.items()
    ]


async def set_service_level(
    principal: Principal, category: str, first_response_minutes: int, resolution_minutes: int
) -> list[dict[str, Any]]:
    """Applies to complaints filed from now on."""
    if resolution_minutes < first_response_minutes:
        raise InvalidInput(
            "解决时限不能短于首次响应时限",
            details=[{"field": "resolution_minutes", "message": "解决时限不能短于首次响应时限"}],
        )
    # One upsert: two staff saving at once must not meet on the unique (brand, category).
    await sql.execute(
        "INSERT INTO complaint_slas (brand_id, category, first_response_minutes,"
        " resolution_minutes) VALUES ($1, $2, $3, $4) ON CONFLICT (brand_id, category)"
        " DO UPDATE SET first_response_minutes = excluded.first_response_minutes,"
        " resolution_minutes = excluded.resolution_minutes",
        principal.brand_id,
        category,
        first_response_minutes,
        resolution_minutes,
    )
    return await service_levels(principal)


BREACHED = "breached"  # the step of a missed deadline
BREACHES = (
    # (flag, deadline column, statuses in which it can be missed, what brand ops are told)
    (
        "breached_first_response",
        "first_response_due_at",
        (ComplaintStatus.NEW,),
        "超过首次响应时限",
    ),
    ("breached_resolution", "resolution_due_at", OPEN_STATUSES, "超过解决时限"),
)


async def escalate_breaches(now: datetime, deps: Any = None) -> int:
    """Mark every open complaint past a deadline it has not yet been marked for, record it on
    the timeline (internal) and tell the brand's staff, and the distributor's when it has been
    handed one; the marking is a guarded update, so running this in every process escalates
    each breach once (notify_of_breach tells them). With `deps`, the consoles hear of it and
    the notifications are pushed once it commits."""
    escalated = 0
    for flag, deadline, statuses, what in BREACHES:
        async with sql.transaction():
            rows = await sql.fetch(
                f"UPDATE complaints SET {flag} = TRUE WHERE {flag} = FALSE"  # noqa: S608
                f" AND {deadline} <= $1 AND status IN ($2) AND paused_since IS NULL"
                " RETURNING id, brand_id, store_id, distributor_id",
                now,
                [status.value for status in statuses],
            )
            for row in rows:
                whom = "品牌运营" if row["distributor_id"] is None else "品牌运营和经销商"
                await ComplaintEvent.create(
                    complaint_id=row["id"],
                    actor_id=None,
                    actor_role="system",
                    message=f"{what}，已提醒{whom}",
                    internal=True,
                    created_at=now,
                )
                breached = SimpleNamespace(**dict(row))
                await _took_step(deps, breached, None, BREACHED, now, message=what)
        escalated += len(rows)
    return escalated


async def notify_of_breach(deps: Any, step: ComplaintStepTaken) -> None:
    """ComplaintStepTaken, in its transaction: a missed deadline is a notification to the
    brand's staff and the distributor's it is handed to, written with the mark."""
    if step.step != BREACHED:
        return
    told = await identity_service.brand_staff_user_ids(step.brand_id)
    for distributor_id in step.distributor_ids:
        told += await identity_service.distributor_staff_user_ids(step.brand_id, distributor_id)
    await notifications_service.notify(
        step.brand_id,
        told,
        kind="complaint.breached",
        title=f"投诉 #{step.complaint_id} {step.message}",
        body="请尽快处理",
        link=f"complaint:{step.complaint_id}",
        now=step.at,
        broadcast=None if deps is None else deps.broadcast,
    )


async def escalate_job(deps: Any) -> int:
    """The background scheduler's entry (it passes the process's Deps and its clock)."""
    return await escalate_breaches(deps.clock.now(), deps)


# ---- telling the store on WeChat ------------------------------------------------------------

CHINA = ZoneInfo("Asia/Shanghai")
# The subscribe message's 状态 is a WeChat "phrase": at most five Chinese characters.
SHORT_STATUS = {
    ComplaintStatus.NEW: "待受理",
    ComplaintStatus.ACKNOWLEDGED: "已受理",
    ComplaintStatus.ASSIGNED: "处理中",
    ComplaintStatus.RESPONDED: "已答复",
    ComplaintStatus.RESOLVED: "待确认",
    ComplaintStatus.REOPENED: "已重开",
    ComplaintStatus.CLOSED: "已关闭",
}
# 说明 when the step came without a message for the store.
STEP_NOTES = {
    ComplaintStatus.ACKNOWLEDGED: "品牌已受理您的投诉",
    ComplaintStatus.ASSIGNED: "已转经销商处理",
    ComplaintStatus.RESPONDED: "经销商已答复，请查看",
    ComplaintStatus.RESOLVED: "已解决，请确认或重新打开",
    ComplaintStatus.REOPENED: "投诉已重新打开",
    ComplaintStatus.CLOSED: "投诉已关闭",
}
THING_LENGTH = 20  # a WeChat "thing" keyword holds at most 20 characters


async def tell_store(deps: Any, step: ComplaintStepTaken) -> None:
    """ComplaintStepTaken, in its transaction: a workflow step is a WeChat subscribe message
    to the store owner who filed the complaint, if they allow one: a job written with the
    step, sent after it commits (the step's answer does not wait for WeChat, and a WeChat
    that is down only delays it). The store is not told of its own steps."""
    if step.to_status is None or step.actor_role in STORE_ROLES:
        return
    filing = await ComplaintEvent.filter(
        complaint_id=step.complaint_id, to_status=ComplaintStatus.NEW.value
    ).first()  # its actor is the store's user who filed it
    if filing is None or filing.actor_id is None:
        return
    status = ComplaintStatus(step.to_status)
    note = " ".join(step.message.split()) or STEP_NOTES.get(status, STATUS_NAMES[status])
    if len(note) > THING_LENGTH:
        note = note[: THING_LENGTH - 1] + "…"
    # What the brand's admins read should the message fail (the jobs page).
    store = (await org_service.names(step.brand_id, "store", [step.store_id])).get(step.store_id)
    about = f"门店「{store}」· 投诉 #{step.complaint_id}（{STATUS_NAMES[status]}）"
    await notifications_service.queue_subscribe(
        filing.actor_id,
        notifications_service.COMPLAINT_UPDATE,
        {
            "character_string1": str(step.complaint_id),
            "phrase2": SHORT_STATUS[status],
            "thing3": note,
            "time4": step.at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
        },
        page=f"pages/complaint/index?id={step.complaint_id}",
        brand_id=step.brand_id,
        now=step.at,
        about=about,
    )


# ---- for analytics (store profile) ----------------------------------------------------------


async def analytics_store_complaints(store_id: int, recent: int = 5) -> dict[str, Any]:
    """A store's complaints: how many, how many still open (not closed, not waiting on the
    store's confirmation), and the latest few."""
    done = (ComplaintStatus.RESOLVED.value, ComplaintStatus.CLOSED.value)
    total = await Complaint.filter(store_id=store_id).count()
    still_open = await Complaint.filter(store_id=store_id).exclude(status__in=done).count()
    latest = await Complaint.filter(store_id=store_id).order_by("-id").limit(recent)
    return {
        "total": total,
        "open": still_open,
        "recent": [
            {
                "id": complaint.id,
                "category": complaint.category,
                "status": complaint.status,
                "status_name": STATUS_NAMES[ComplaintStatus(complaint.status)],
                "created_at": complaint.created_at.isoformat(),
            }
            for complaint in latest
        ],
    }
