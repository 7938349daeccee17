"""The review of display submissions the automatic checks left to a person: the brand's
queue (oldest first), the store's salesperson's first review where the program allows it,
and the decision, which pays the reward and tells the store in the same transaction.

Every decision is a guarded update of a submission still in review: of two reviewers at
the same moment one wins and the other is told it was decided already.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.queryset import QuerySet

from backend.display import rewards
from backend.display.errors import Invalid, SubmissionNotFound
from backend.display.models import (
    DisplayCheck,
    DisplayPhoto,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
    FirstReview,
    SigningStatus,
    SubmissionStatus,
)
from backend.display.views import iso, photo_view, submission_view
from backend.identity import service as identity_service
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, Role
from backend.infra import sql
from backend.infra.storage import storage_for
from backend.kernel.errors import Conflict, Forbidden
from backend.notifications import service as notifications_service
from backend.org import service as org_service

REASON_MIN, REASON_MAX = 2, 200
RESULT_KIND = "display_result"


class AlreadyReviewed(Conflict):
    code = "display.already_reviewed"
    message = "该提交已审核过或不在待审核状态，请刷新后查看"


class FirstReviewOff(Forbidden):
    code = "display.first_review_off"
    message = "该活动未开启业务员初审，请由品牌审核"


class InvalidReview(Invalid):
    message = "审核内容有误"


# ---- who sees what ------------------------------------------------------------------------------


def _brand_of(principal: Principal) -> int:
    if principal.brand_id is None:
        raise SubmissionNotFound()
    return principal.brand_id


async def _seen_by(principal: Principal) -> QuerySet[DisplaySubmission]:
    """The submissions the caller may read: the brand's all; a distributor's those of the
    stores it served when they signed; a salesperson's those of the stores they serve."""
    submissions = DisplaySubmission.filter(brand_id=_brand_of(principal))
    if principal.role in BRAND_ROLES:
        return submissions
    if principal.role in DISTRIBUTOR_ROLES and principal.distributor_id is not None:
        return submissions.filter(signing__distributor_id=principal.distributor_id)
    if principal.role == Role.SALESPERSON and principal.salesperson_id is not None:
        stores = await org_service.salesperson_store_ids(
            _brand_of(principal), principal.salesperson_id
        )
        return submissions.filter(store_id__in=stores) if stores else submissions.filter(id=-1)
    return submissions.filter(id=-1)


async def _visible(principal: Principal, submission_id: int) -> DisplaySubmission:
    found = await (await _seen_by(principal)).filter(id=submission_id).first()
    if found is None:
        raise SubmissionNotFound()
    return found


# ---- the queue -----------------------------------------------------------------------------------


async def review_items(deps: Any, submissions: Sequence[DisplaySubmission]) -> list[dict[str, Any]]:
    """Each submission as the review screens show it: the SubmissionView with the store, its
    distributor, the standard and sample photos it signed, the check's window and its
    earlier attempts at that check. A fixed number of queries for the whole page."""
    if not submissions:
        return []
    brand_id = submissions[0].brand_id  # type: ignore[attr-defined]
    ids = [s.id for s in submissions]
    signing_ids = list({s.signing_id for s in submissions})  # type: ignore[attr-defined]
    check_ids = list({s.display_check_id for s in submissions})  # type: ignore[attr-defined]
    signings = {s.id: s for s in await DisplaySigning.filter(id__in=signing_ids)}
    checks = {c.id: c for c in await DisplayCheck.filter(id__in=check_ids)}
    photos: dict[int, list[DisplayPhoto]] = {}
    for photo in await DisplayPhoto.filter(submission_id__in=ids).order_by("id"):
        photos.setdefault(photo.submission_id, []).append(photo)  # type: ignore[attr-defined]
    paid = {
        (r.submission_id, r.check_seq): r
        for r in await DisplayReward.filter(submission_id__in=ids, check_seq__gt=0)
    }
    attempts = (
        await DisplaySubmission.filter(signing_id__in=signing_ids, display_check_id__in=check_ids)
        .order_by("attempt")
        .values("id", "signing_id", "display_check_id", "attempt", "status", "review_reason")
    )
    repeated = await _earlier_photos(submissions)
    stores = await org_service.store_cards(brand_id, [s.store_id for s in submissions])  # type: ignore[attr-defined]
    distributors = await org_service.names(
        brand_id, "distributor", [s.distributor_id for s in signings.values()]
    )
    url = storage_for(deps.settings.storage).url
    items = []
    for submission in submissions:
        signing = signings[submission.signing_id]  # type: ignore[attr-defined]
        check = checks[submission.display_check_id]  # type: ignore[attr-defined]
        store = stores.get(submission.store_id, {})  # type: ignore[attr-defined]
        located = store.get("latitude") is not None and store.get("longitude") is not None
        store_at = (store["latitude"], store["longitude"]) if located else None
        shown = [photo_view(p, url(p.key), store_at) for p in photos.get(submission.id, [])]
        view = submission_view(
            submission,
            check_seq=check.seq,
            photos=shown,
            reward=paid.get((submission.id, check.seq)),
        )
        view.update(
            store={
                "id": submission.store_id,  # type: ignore[attr-defined]
                "name": store.get("name", ""),
                "address": store.get("address", ""),
                "latitude": store.get("latitude"),
                "longitude": store.get("longitude"),
            },
            distributor={
                "id": signing.distributor_id,
                "name": distributors.get(signing.distributor_id, ""),
            },
            # What the store signed, not what the program says now (the terms stand).
            program={
                "id": signing.program_id,  # type: ignore[attr-defined]
                "name": signing.terms.get("name", ""),
                "standard": signing.terms.get("standard", ""),
                "sample_photos": signing.terms.get("sample_photos", []),
            },
            check={
                "seq": check.seq,
                "opens_at": iso(check.opens_at),
                "closes_at": iso(check.closes_at),
            },
            previous=[
                {"id": a["id"], "status": a["status"], "review_reason": a["review_reason"]}
                for a in attempts
                if a["signing_id"] == signing.id
                and a["display_check_id"] == check.id
                and a["attempt"] < submission.attempt
            ],
            # The store's own earlier photos that a submitted one nearly repeats, to compare.
            earlier_photos=[
                {
                    **photo_view(photo, url(photo.key)),
                    "program_name": program_name,
                    "check_seq": seq,
                    "repeated_by": by,
                }
                for by, (photo, program_name, seq) in _repeats_of(submission, repeated)
            ],
        )
        items.append(view)
    return items


Earlier = tuple[DisplayPhoto, str, int | None]  # a photo, its program's name, its check


async def _earlier_photos(submissions: Sequence[DisplaySubmission]) -> dict[int, Earlier]:
    """The earlier photos the submissions' near-repeat reasons name, with their program's
    name and their check's number: one query for the page."""
    wanted = {
        int(reason["earlier_photo_id"])
        for submission in submissions
        for reason in submission.reasons
        if reason.get("earlier_photo_id") is not None
    }
    if not wanted:
        return {}
    photos = await DisplayPhoto.filter(id__in=list(wanted)).prefetch_related(
        "submission__display_check", "submission__program"
    )
    found: dict[int, Earlier] = {}
    for photo in photos:
        submitted = photo.submission
        if submitted is None:
            found[photo.id] = (photo, "", None)
        else:
            found[photo.id] = (photo, submitted.program.name, submitted.display_check.seq)
    return found


def _repeats_of(
    submission: DisplaySubmission, found: dict[int, Earlier]
) -> list[tuple[int, Earlier]]:
    """(the submitted photo's id, the earlier photo it repeats) for each near-repeat reason
    whose earlier photo is still kept."""
    return [
        (int(reason["photo_id"]), found[int(reason["earlier_photo_id"])])
        for reason in submission.reasons
        if reason.get("earlier_photo_id") is not None and int(reason["earlier_photo_id"]) in found
    ]


async def queue(
    deps: Any,
    principal: Principal,
    *,
    program_id: int | None,
    distributor_id: int | None,
    first_review: str | None,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Submissions waiting for review, oldest first (`limit` rows after `after`): brand staff
    all of the brand's, filtered; distributor staff their own stores' (read only)."""
    submissions = (await _seen_by(principal)).filter(status=SubmissionStatus.REVIEW.value)
    if program_id is not None:
        submissions = submissions.filter(program_id=program_id)
    if distributor_id is not None:
        submissions = submissions.filter(signing__distributor_id=distributor_id)
    if first_review is not None:
        wanted = FirstReview.APPROVED if first_review == "approved" else FirstReview.NONE
        submissions = submissions.filter(first_review=wanted.value)
    if after is not None:
        submissions = submissions.filter(id__gt=after)
    return await review_items(deps, await submissions.order_by("id").limit(limit))


async def sales_queue(
    deps: Any, principal: Principal, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """What the salesperson may first-review: their stores' submissions in review that nobody
    has looked at yet, in programs that let the salesperson review first; oldest first."""
    if principal.role != Role.SALESPERSON:
        return []
    submissions = (await _seen_by(principal)).filter(
        status=SubmissionStatus.REVIEW.value,
        first_review=FirstReview.NONE.value,
        program__salesperson_reviews_first=True,
    )
    if after is not None:
        submissions = submissions.filter(id__gt=after)
    return await review_items(deps, await submissions.order_by("id").limit(limit))


async def counts(principal: Principal) -> dict[str, int]:
    """For the console's badge: waiting for review, and of those approved by a salesperson."""
    waiting = (await _seen_by(principal)).filter(status=SubmissionStatus.REVIEW.value)
    return {
        "review": await waiting.count(),
        "first_approved": await waiting.filter(first_review=FirstReview.APPROVED.value).count(),
    }


async def review_item(deps: Any, principal: Principal, submission_id: int) -> dict[str, Any]:
    [item] = await review_items(deps, [await _visible(principal, submission_id)])
    return item


# ---- deciding ------------------------------------------------------------------------------------


def _checked_reason(reason: str) -> str:
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidReview(
            details=[
                {"field": "reason", "message": f"请填写驳回原因（{REASON_MIN}–{REASON_MAX} 字）"}
            ]
        )
    return reason


async def _decidable(principal: Principal, submission_id: int) -> DisplaySubmission:
    """The submission, if the caller may decide on it: brand staff any of the brand's; the
    store's salesperson only where the program lets them review first."""
    submission = await _visible(principal, submission_id)
    if principal.role == Role.SALESPERSON:
        program = await DisplayProgram.get(id=submission.program_id)  # type: ignore[attr-defined]
        if not program.salesperson_reviews_first:
            raise FirstReviewOff()
        if submission.first_review != FirstReview.NONE:
            raise AlreadyReviewed()
    elif principal.role not in BRAND_ROLES:
        raise SubmissionNotFound()  # the route's roles keep others out; never decide here
    if submission.status != SubmissionStatus.REVIEW:
        raise AlreadyReviewed()
    return submission


async def approve(
    deps: Any, principal: Principal, submission_id: int, *, note: str, now: datetime
) -> dict[str, Any]:
    """Brand staff: the check passed, the reward is paid and the store told, all at once.
    The salesperson: a first approval; the brand still decides (nothing is paid)."""
    submission = await _decidable(principal, submission_id)
    async with sql.transaction():
        if principal.role == Role.SALESPERSON:
            await _guarded(
                submission.id,
                first_pending=True,
                first_review=FirstReview.APPROVED.value,
                first_reviewed_by_id=principal.user_id,
                first_reviewed_at=now,
            )
        else:
            await _guarded(
                submission.id,
                first_pending=False,
                status=SubmissionStatus.PASSED.value,
                reviewed_by_id=principal.user_id,
                reviewed_at=now,
                review_reason=note.strip()[:REASON_MAX],
            )
            reward = await rewards.pay_for_check(deps, submission.id, now)
            await _tell_store(submission.id, passed=True, reward=reward, now=now)
    return await review_item(deps, principal, submission.id)


async def reject(
    deps: Any, principal: Principal, submission_id: int, *, reason: str, now: datetime
) -> dict[str, Any]:
    """The check is refused with a reason (by brand staff, or finally by the salesperson
    reviewing first); the store may submit again while the check's window is open."""
    reason = _checked_reason(reason)
    submission = await _decidable(principal, submission_id)
    first: dict[str, Any] = {}
    if principal.role == Role.SALESPERSON:
        first = {"first_reviewed_by_id": principal.user_id, "first_reviewed_at": now}
    async with sql.transaction():
        await _guarded(
            submission.id,
            first_pending=principal.role == Role.SALESPERSON,
            status=SubmissionStatus.REJECTED.value,
            reviewed_by_id=principal.user_id,
            reviewed_at=now,
            review_reason=reason,
            **first,
        )
        await _tell_store(submission.id, passed=False, reward=None, now=now)
    return await review_item(deps, principal, submission.id)


async def _guarded(submission_id: int, *, first_pending: bool, **changes: Any) -> None:
    """Change a submission still in review (and with `first_pending`, the salesperson's, not
    first-reviewed yet), or raise AlreadyReviewed: of two reviewers at once, one wins."""
    still = DisplaySubmission.filter(id=submission_id, status=SubmissionStatus.REVIEW.value)
    if first_pending:
        still = still.filter(first_review=FirstReview.NONE.value)
    if not await still.update(**changes):
        raise AlreadyReviewed()


async def _tell_store(
    submission_id: int, *, passed: bool, reward: dict[str, Any] | None, now: datetime
) -> None:
    """An in-app notification to the store's owners, written with the decision."""
    submission = await DisplaySubmission.get(id=submission_id)
    signing = await DisplaySigning.get(id=submission.signing_id)  # type: ignore[attr-defined]
    check = await DisplayCheck.get(id=submission.display_check_id)  # type: ignore[attr-defined]
    store_id = int(submission.store_id)  # type: ignore[attr-defined]
    owners = (await identity_service.store_owner_user_ids([store_id])).get(store_id, [])
    what = f"「{signing.terms.get('name', '')}」第 {check.seq} 次陈列检查"
    if passed:
        title = "陈列检查已通过"
        unpaid = [r["message"] for r in submission.reasons if r["code"] in rewards.UNPAID_CODES]
        said = [f"奖励 {reward['text']} 已发放" if reward else "", *unpaid]
        if signing.status == SigningStatus.COMPLETED:
            said.append("本活动的全部检查已完成")
        body = "，".join([f"{what}已通过", *[s for s in said if s]]) + "。"
    else:
        title = "陈列检查未通过"
        body = f"{what}未通过：{submission.review_reason}。如仍在拍照时间内，可重新拍照提交。"
    await notifications_service.notify(
        int(signing.brand_id),  # type: ignore[attr-defined]
        owners,
        kind=RESULT_KIND,
        title=title,
        body=body,
        link=f"/packageDisplay/pages/signing/index?id={signing.id}",
        now=now,
    )
