"""A store's photos for its display checks: uploading one (cleaned, measured, with the phone's
capture time and location), submitting a check's photos (the automatic checks, the verdict,
the near-duplicate index, the reward of a passed check) and reading a submission.

Submitting fetches and judges first, outside any transaction (the recogniser may be a brand's
image service over HTTP), then writes everything in one transaction whose guards hold
against a concurrent submit: the unique (signing, check, attempt) and photos attached only
while still unattached. A refusal writes nothing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.display import neardup
from backend.display.errors import Invalid, SubmissionNotFound
from backend.display.inspect import Measures, measure
from backend.display.models import (
    DisplayCheck,
    DisplayPhoto,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
    ProgramStatus,
    SigningStatus,
    SubmissionStatus,
)
from backend.display.recognisers import RecognisedPhoto, Submitted, recogniser_for
from backend.display.verdict import (
    DUPLICATE_DISTANCE,
    PASSED,
    Facts,
    PhotoFacts,
    Seen,
    judge,
    near_duplicates_within,
    needs_recogniser,
)
from backend.display.views import distance_m, iso, photo_view, submission_view
from backend.identity.access import Principal
from backend.infra import images, sql
from backend.infra.storage import delete_files, storage_for, store_clean_image
from backend.kernel.errors import Conflict, DomainError, NotFound, TooLarge
from backend.org import service as org_service

# A phone's clock may run a little ahead of ours; a capture time further ahead is made up.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_CAPTURE = datetime(2000, 1, 1, tzinfo=UTC)
UNATTACHED_PHOTO_LIFETIME = timedelta(hours=24)  # taken, then never submitted
EPOCH_MS_DIGITS = 15  # epoch milliseconds have 13 digits until the year 2286


class NotAnImage(DomainError):
    status = 400
    code = "display.not_an_image"
    message = "只支持 JPEG、PNG、WebP 图片"


class PhotoTooLarge(TooLarge):
    code = "display.photo_too_large"
    message = f"照片不能超过 {images.MAX_IMAGE_BYTES // (1024 * 1024)} MB"


class InvalidPhoto(Invalid):
    """The capture time or location sent with a photo is wrong."""

    message = "照片的拍摄信息不正确"


class CheckNotFound(NotFound):
    code = "display.check_not_found"
    message = "找不到该检查，或本店未签约该活动"


class WindowClosed(Conflict):
    code = "display.window_closed"
    message = "不在本次检查的拍照时间内"


class AlreadySubmitted(Conflict):
    code = "display.already_submitted"
    message = "本次检查已提交，请等待审核结果"


class PhotoCount(DomainError):
    status = 400
    code = "display.photo_count"
    message = "照片数量不对"


class PhotoNotFound(NotFound):
    code = "display.photo_not_found"
    message = "照片不存在或已提交过，请重新拍摄"


# ---- uploading a photo --------------------------------------------------------------------


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _capture_time(raw: str | None, now: datetime, problems: list[dict[str, str]]) -> datetime:
    text = (raw or "").strip()
    taken: datetime | None = None
    if not text:
        problems.append(_problem("taken_at", "必填：照片的拍摄时间"))
    elif text.isdigit() and len(text) <= EPOCH_MS_DIGITS:
        try:
            taken = datetime.fromtimestamp(int(text) / 1000, UTC)
        except (OverflowError, OSError, ValueError):  # past the year 9999: made up
            problems.append(_problem("taken_at", "拍摄时间不正确"))
    else:
        try:
            taken = datetime.fromisoformat(text)
        except ValueError:
            problems.append(_problem("taken_at", "应为带时区的 ISO 8601 时间或毫秒时间戳"))
        else:
            if taken.tzinfo is None:
                problems.append(_problem("taken_at", "时间须带时区"))
                taken = None
    if taken is None:
        return now
    try:
        taken = taken.astimezone(UTC)
    except OverflowError:  # an offset takes it past the years 1 or 9999
        problems.append(_problem("taken_at", "拍摄时间不正确"))
        return now
    if taken < EARLIEST_CAPTURE:
        problems.append(_problem("taken_at", "拍摄时间不正确"))
    elif taken > now + FUTURE_TOLERANCE:
        problems.append(_problem("taken_at", "拍摄时间不能晚于当前时间"))
    return taken


def _coordinate(
    raw: str | None, field: str, bound: float, problems: list[dict[str, str]]
) -> float | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -bound <= value <= bound:
        problems.append(_problem(field, f"应为 -{bound:g} 到 {bound:g} 之间的数字"))
        return None
    return value


def capture_fields(
    form: Mapping[str, str | None], now: datetime
) -> tuple[datetime, float | None, float | None]:
    """The capture time (required, not ahead of now by more than FUTURE_TOLERANCE) and the
    location (both coordinates or neither) sent with a photo; InvalidPhoto lists what is
    wrong."""
    problems: list[dict[str, str]] = []
    taken_at = _capture_time(form.get("taken_at"), now, problems)
    latitude = _coordinate(form.get("latitude"), "latitude", 90, problems)
    longitude = _coordinate(form.get("longitude"), "longitude", 180, problems)
    sent = {"latitude": form.get("latitude"), "longitude": form.get("longitude")}
    given = {name for name, value in sent.items() if (value or "").strip()}
    if len(given) == 1:
        missing = "longitude" if "latitude" in given else "latitude"
        problems.append(_problem(missing, "经纬度须同时提供"))
    if problems:
        raise InvalidPhoto(details=problems)
    return taken_at, latitude, longitude


def _clean_and_measure(data: bytes) -> tuple[images.CleanImage, Measures]:
    image = images.cleaned(data)
    try:
        return image, measure(image.data)
    except (OSError, ValueError) as exc:  # a picture Pillow cleaned but cannot make grey
        raise images.NotAnImage("无法读取图片内容") from exc


async def upload_photo(
    deps: Any,
    principal: Principal,
    data: bytes | None,
    form: Mapping[str, str | None],
    *,
    now: datetime,
) -> dict[str, Any]:
    """Check, clean (no metadata), measure and store one photo the store took for a check;
    its id is then named when submitting."""
    store = await org_service.store_for_ordering(principal, None)
    taken_at, latitude, longitude = capture_fields(form, now)
    if data is None:
        raise NotAnImage("请以 multipart 字段 file 上传照片")
    try:
        # Decoding, re-encoding and measuring a phone photo is CPU work: off the event loop.
        image, measures = await asyncio.to_thread(_clean_and_measure, data)
    except images.ImageTooLarge as refused:
        raise PhotoTooLarge() from refused
    except images.NotAnImage as refused:
        raise NotAnImage(str(refused)) from refused
    folder = f"display/{store.brand_id}/{store.id}"
    stored = await store_clean_image(deps.settings.storage, folder, image)
    photo = await DisplayPhoto.create(
        brand_id=store.brand_id,
        store_id=store.id,
        key=stored.key,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        width=stored.width,
        height=stored.height,
        taken_at=taken_at,
        latitude=latitude,
        longitude=longitude,
        phash=neardup.to_signed(measures.phash),
        brightness=measures.brightness,
        sharpness=measures.sharpness,
        created_at=now,
    )
    return {
        "id": photo.id,
        "url": stored.url,
        "width": stored.width,
        "height": stored.height,
        "taken_at": iso(taken_at),
    }


async def purge_unattached_photos(deps: Any, now: datetime) -> int:
    """Delete photos no submission took within a day of their upload: the row first, with a
    guard (a submission made with it at this moment wins or fails whole), then the file."""
    rows = await sql.fetch(
        "DELETE FROM display_photos WHERE submission_id IS NULL AND created_at < $1 RETURNING key",
        now - UNATTACHED_PHOTO_LIFETIME,
    )
    await delete_files(deps.settings.storage, [row["key"] for row in rows])
    return len(rows)


async def purge_photos_job(deps: Any) -> int:
    return await purge_unattached_photos(deps, deps.clock.now())


# ---- submitting a check -------------------------------------------------------------------


def _is_open(
    program: DisplayProgram, signing: DisplaySigning, check: DisplayCheck, now: datetime
) -> bool:
    return (
        program.status == ProgramStatus.PUBLISHED.value
        and signing.status == SigningStatus.ACTIVE.value
        and check.opens_at <= now < check.closes_at
    )


async def _next_attempt(signing_id: int, check_id: int) -> int:
    """The attempt a new submission would be; AlreadySubmitted while the latest one is passed
    or waiting for review."""
    latest = (
        await DisplaySubmission.filter(signing_id=signing_id, display_check_id=check_id)
        .order_by("-attempt")
        .first()
    )
    if latest is None:
        return 1
    if latest.status in (SubmissionStatus.PASSED.value, SubmissionStatus.REVIEW.value):
        raise AlreadySubmitted(
            "本次检查已通过" if latest.status == SubmissionStatus.PASSED.value else None
        )
    return latest.attempt + 1


async def _store_location(principal: Principal, store_id: int) -> tuple[float, float] | None:
    location = (await org_service.get_store(principal, store_id))["location"]
    return None if location is None else (location["latitude"], location["longitude"])


async def _earlier_attempts_photos(signing_id: int, check_id: int) -> list[int]:
    """The photos of the store's earlier attempts at this check (failed or rejected: a new
    attempt is refused while one is passed or in review)."""
    rows = await DisplayPhoto.filter(
        submission__signing_id=signing_id, submission__display_check_id=check_id
    ).values("id")
    return [int(row["id"]) for row in rows]


async def _duplicates(
    brand_id: int, store_id: int, photos: Sequence[DisplayPhoto], retaken: Sequence[int] = ()
) -> dict[int, Seen]:
    """Which of the photos nearly duplicate an earlier submitted photo of the brand (any
    store), or another photo of this submission, and where that one was seen.

    `retaken` (the store's own earlier attempts at the same check) do not count: a store
    trying again retakes the same shelf from the same spot, and a photo that failed for being
    dark or blurred hashes like its good retake (the hash reads coarse shapes, not light or
    fine detail). Reusing a photo gains nothing within one check, which pays once; a repeat
    of another check's photo, or of another store's, still counts."""
    ids = [photo.id for photo in photos]
    skipped = [*ids, *retaken]
    earlier: dict[int, int] = {}  # photo id → the earlier photo it repeats
    for photo in photos:
        found = await neardup.find_near(
            brand_id, photo.phash, max_distance=DUPLICATE_DISTANCE, exclude_photo_ids=skipped
        )
        if found:
            earlier[photo.id] = found[0].photo_id
    seen: dict[int, Seen] = {}
    if earlier:
        rows = await DisplayPhoto.filter(id__in=list(set(earlier.values()))).values(
            "id", "store_id", seq="submission__display_check__seq"
        )
        where = {int(row["id"]): row for row in rows}
        names = await org_service.names(brand_id, "store", {r["store_id"] for r in rows})
        for photo_id, earlier_id in earlier.items():
            row = where.get(earlier_id)
            if row is None:  # purged between the search and now: still a repeat
                seen[photo_id] = Seen()
                continue
            seen[photo_id] = Seen(
                same_store=int(row["store_id"]) == store_id,
                store_name=names.get(int(row["store_id"]), ""),
                check_seq=None if row["seq"] is None else int(row["seq"]),
                photo_id=earlier_id,
            )
    hashes = [(photo.id, neardup.to_unsigned(photo.phash)) for photo in photos]
    for photo_id in near_duplicates_within(hashes):
        seen.setdefault(photo_id, Seen(same_submission=True))
    return seen


def _photo_facts(
    photo: DisplayPhoto, store_at: tuple[float, float] | None, seen: Seen | None
) -> PhotoFacts:
    located = photo.latitude is not None and photo.longitude is not None
    far = None
    if located and store_at is not None:
        assert photo.latitude is not None and photo.longitude is not None
        far = distance_m(photo.latitude, photo.longitude, *store_at)
    return PhotoFacts(
        photo_id=photo.id,
        taken_at=photo.taken_at,
        located=located,
        distance_m=far,
        brightness=photo.brightness,
        sharpness=photo.sharpness,
        duplicate_of=seen,
    )


def _submitted(
    deps: Any,
    signing: DisplaySigning,
    check: DisplayCheck,
    photos: Sequence[DisplayPhoto],
) -> Submitted:
    storage = storage_for(deps.settings.storage)
    return Submitted(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        program_id=signing.program_id,  # type: ignore[attr-defined]
        store_id=signing.store_id,  # type: ignore[attr-defined]
        check_seq=check.seq,
        photos=[
            RecognisedPhoto(p.id, storage.url(p.key), p.width, p.height, iso(p.taken_at) or "")
            for p in photos
        ],
        standard=str(signing.terms.get("standard", "")),
        skus=list(signing.terms.get("skus", [])),
    )


async def submit(
    deps: Any, principal: Principal, check_id: int, photo_ids: Sequence[int], *, now: datetime
) -> dict[str, Any]:
    """Submit the store's photos for one check of a program it signed: the automatic checks,
    the recogniser, the verdict; a passed check is paid at once. The SubmissionView."""
    store = await org_service.store_for_ordering(principal, None)
    check = await DisplayCheck.get_or_none(id=check_id)
    signing = None
    if check is not None:
        signing = await DisplaySigning.get_or_none(
            program_id=check.program_id,  # type: ignore[attr-defined]
            store_id=store.id,
        )
    if check is None or signing is None:
        raise CheckNotFound()
    program = await DisplayProgram.get(id=signing.program_id)  # type: ignore[attr-defined]
    if not _is_open(program, signing, check, now):
        raise WindowClosed()
    await _next_attempt(signing.id, check.id)  # refused early, before any work
    # The terms the store signed stand, whatever the program says now.
    required = int(signing.terms.get("photos_required", program.photos_required))
    limit = int(signing.terms.get("distance_limit_m", program.distance_limit_m))
    wanted = list(photo_ids)
    if len(wanted) != required or len(set(wanted)) != len(wanted):
        raise PhotoCount(f"本次检查需要 {required} 张不同的照片")
    found = {
        photo.id: photo
        for photo in await DisplayPhoto.filter(
            id__in=wanted, store_id=store.id, submission_id__isnull=True
        )
    }
    if len(found) != required:
        raise PhotoNotFound()
    photos = [found[photo_id] for photo_id in wanted]

    store_at = await _store_location(principal, store.id)
    retaken = await _earlier_attempts_photos(signing.id, check.id)
    seen = await _duplicates(store.brand_id, store.id, photos, retaken)
    facts = Facts(
        opens_at=check.opens_at,
        closes_at=check.closes_at,
        distance_limit_m=limit,
        store_located=store_at is not None,
        photos=[_photo_facts(photo, store_at, seen.get(photo.id)) for photo in photos],
    )
    if needs_recogniser(facts):
        recogniser = recogniser_for(deps.settings)
        result = await recogniser.judge(_submitted(deps, signing, check, photos))
        facts = replace(facts, recogniser=result)
    judgement = judge(facts)

    try:
        async with sql.atomic():
            attempt = await _next_attempt(signing.id, check.id)
            submission = await DisplaySubmission.create(
                brand_id=store.brand_id,
                program_id=program.id,
                signing_id=signing.id,
                display_check_id=check.id,
                store_id=store.id,
                attempt=attempt,
                status=judgement.verdict,
                verdict=judgement.verdict,
                reasons=judgement.reason_dicts(),
                submitted_by_id=principal.user_id,
                submitted_at=now,
            )
            attached = await sql.execute(
                "UPDATE display_photos SET submission_id = $1"
                " WHERE id IN ($2) AND store_id = $3 AND submission_id IS NULL",
                submission.id,
                wanted,
                store.id,
            )
            if attached != required:  # used or purged meanwhile
                raise PhotoNotFound()
            for photo in photos:
                await neardup.add(store.brand_id, photo.id, photo.phash)
            if judgement.verdict == PASSED:
                # Imported here: rewards reads submissions' views, not the other way round.
                from backend.display import rewards  # noqa: PLC0415

                await rewards.pay_for_check(deps, submission.id, now)
    except IntegrityError as clash:  # another submit of this check took the attempt first
        raise AlreadySubmitted() from clash
    if judgement.verdict == PASSED:  # paying may have added a reason (budget_exhausted)
        await submission.refresh_from_db()
    return await view_submission(deps, submission, store_at)


# ---- reading a submission -------------------------------------------------------------------


async def view_submission(
    deps: Any, submission: DisplaySubmission, store_at: tuple[float, float] | None
) -> dict[str, Any]:
    """The SubmissionView of a submission (backend/display/views.py): its photos in upload
    order with their distance from the store at `store_at`, and its reward if it paid one."""
    photos = await DisplayPhoto.filter(submission_id=submission.id).order_by("id")
    check = await DisplayCheck.get(id=submission.display_check_id)  # type: ignore[attr-defined]
    reward = None
    if submission.status == SubmissionStatus.PASSED.value:
        reward = await DisplayReward.get_or_none(
            signing_id=submission.signing_id,  # type: ignore[attr-defined]
            check_seq=check.seq,
        )
    storage = storage_for(deps.settings.storage)
    return submission_view(
        submission,
        check_seq=check.seq,
        photos=[photo_view(photo, storage.url(photo.key), store_at) for photo in photos],
        reward=reward,
    )


async def get_submission(deps: Any, principal: Principal, submission_id: int) -> dict[str, Any]:
    """A submission seen by the store's own users, the brand's staff, the staff of the store's
    distributor or the store's salesperson (org's rule for who sees a store); 404 otherwise."""
    submission = await DisplaySubmission.get_or_none(id=submission_id, brand_id=principal.brand_id)
    if submission is None:
        raise SubmissionNotFound()
    try:
        store = await org_service.get_store(
            principal,
            submission.store_id,  # type: ignore[attr-defined]
        )
    except NotFound as hidden:
        raise SubmissionNotFound() from hidden
    location = store["location"]
    store_at = None if location is None else (location["latitude"], location["longitude"])
    return await view_submission(deps, submission, store_at)
