"""The automatic checks of a display submission: from what was measured and found about its
photos (capture time against the check's window, distance from the store, near duplicates,
brightness, sharpness) and what the recogniser said, the reasons in Chinese and the verdict.

Pure: the caller fetches the facts (backend/display/submissions.py), this decides. A reason is
`{"code", "message", "photo_id"}` (photo_id None when it is about the whole submission); the
verdict is failed if any reason fails it, else review if any reason asks for a person, else
passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

PASSED, REVIEW, FAILED = "passed", "review", "failed"
VERDICTS = (PASSED, REVIEW, FAILED)

CHINA = ZoneInfo("Asia/Shanghai")

# Two 64-bit perceptual hashes this close (in differing bits) are the same picture: a resized,
# recompressed or lightly cropped copy stays within a few bits, two different photos of a
# shelf are 20–40 apart. The spec's figure.
DUPLICATE_DISTANCE = 10

# The mean grey (0–255) below which a photo is too dark to see the display: the spec's 40.
# Measured (backend/display/inspect.py): photos of a lit scene read 65–160; the same scenes
# at 40 % of the light 26–59; a hand over the lens or a pocket shot under 25.
MIN_BRIGHTNESS = 40.0

# The contrast-normalised Laplacian variance (inspect.py) below which a photo is blurred.
# Measured on two real photos (products on a desk, 720 px) and textured synthetic shelves
# (1200 and 3000 px), each as JPEG: sharp 550–1,700 (the same when dimmed, since the measure
# is normalised); a 1.5 px Gaussian blur of the 720 px photos 160–170 (soft but readable); a
# 2 px blur 70–110; a 9 px box blur (hand shake) 50–65; a 6 px blur of a 3000 px photo 55–65;
# heavier blurs under 30. 120 fails every smeared photo and passes a merely soft one, almost
# five times below the least sharp real photo.
MIN_SHARPNESS = 120.0

# Farther from the store than the program's limit, but within this many times it: the phone's
# location may simply be poor (indoors, a tall building next door), so a person looks; beyond
# it the photo was not taken at the store.
FAR_REVIEW_FACTOR = 3


@dataclass(frozen=True, slots=True)
class Seen:
    """Where an earlier photo a new one nearly duplicates was seen."""

    same_submission: bool = False  # another photo of the same submission
    same_store: bool = False
    store_name: str = ""
    check_seq: int | None = None  # the check it was submitted for
    photo_id: int | None = None  # the earlier photo (of another submission)


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    photo_id: int
    taken_at: datetime
    located: bool  # the phone sent a location with it
    distance_m: int | None  # from the store, when both are located
    brightness: float
    sharpness: float
    duplicate_of: Seen | None = None


@dataclass(frozen=True, slots=True)
class RecogniserResult:
    """What a recogniser concluded about a submission's photos."""

    verdict: str  # passed | review | failed
    message: str
    code: str = "recogniser"


@dataclass(frozen=True, slots=True)
class Facts:
    opens_at: datetime
    closes_at: datetime
    distance_limit_m: int
    store_located: bool
    photos: Sequence[PhotoFacts]
    recogniser: RecogniserResult | None = None  # None: not asked


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str
    photo_id: int | None
    outcome: str  # what it makes of the submission: review or failed
    # A near-repeat of the store's own earlier photo, which its reviewer compares: that photo.
    earlier_photo_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"code": self.code, "message": self.message, "photo_id": self.photo_id}
        if self.earlier_photo_id is not None:
            found["earlier_photo_id"] = self.earlier_photo_id
        return found


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: str
    reasons: list[Reason] = field(default_factory=list)

    def reason_dicts(self) -> list[dict[str, Any]]:
        return [reason.as_dict() for reason in self.reasons]


def _moment(at: datetime) -> str:
    local = at.astimezone(CHINA)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def distance_text(metres: int) -> str:
    """«450 米», «1.2 公里», «2 公里»: as people say a distance."""
    if metres < 1000:
        return f"{metres} 米"
    return f"{metres / 1000:.1f}".removesuffix(".0") + " 公里"


def _duplicate_message(seen: Seen) -> str:
    if seen.same_submission:
        return "与本次提交的另一张照片重复"
    if seen.same_store:
        earlier = "之前" if seen.check_seq is None else f"第 {seen.check_seq} 次检查"
        return f"与本店{earlier}提交的照片几乎相同，需人工确认是否为本次新拍"
    where = f"门店「{seen.store_name}」" if seen.store_name else "其他门店"
    if seen.check_seq is None:
        return f"与{where}提交的照片重复"
    return f"与{where}第 {seen.check_seq} 次检查的照片重复"


def _photo_reasons(photo: PhotoFacts, facts: Facts) -> Iterable[Reason]:
    pid = photo.photo_id
    if not facts.opens_at <= photo.taken_at < facts.closes_at:
        message = (
            f"照片拍摄于 {_moment(photo.taken_at)}，不在本次检查的拍照时间"
            f"（{_moment(facts.opens_at)} 至 {_moment(facts.closes_at)}）内"
        )
        yield Reason("outside_window", message, pid, FAILED)
    if photo.duplicate_of is not None:
        # The store's own photo of an earlier check goes to a person, not to a failure: an
        # unchanged display shot each week from the same spot hashes within the limit as a
        # resent photo does, and only a person can tell the two apart. Another store's photo
        # or one sent twice in a submission is not the store's display: it fails.
        seen = photo.duplicate_of
        if seen.same_store and not seen.same_submission:
            message = _duplicate_message(seen)
            yield Reason("duplicate", message, pid, REVIEW, earlier_photo_id=seen.photo_id)
        else:
            yield Reason("duplicate", _duplicate_message(seen), pid, FAILED)
    if photo.brightness < MIN_BRIGHTNESS:
        yield Reason("too_dark", "照片太暗，看不清陈列", pid, FAILED)
    if photo.sharpness < MIN_SHARPNESS:
        yield Reason("blurred", "照片模糊，看不清陈列", pid, FAILED)
    if not facts.store_located:
        return  # one reason for the whole submission (below)
    if not photo.located:
        yield Reason("no_location", "照片没有拍摄位置，需人工核对", pid, REVIEW)
    elif photo.distance_m is not None and photo.distance_m > facts.distance_limit_m:
        limit = facts.distance_limit_m
        message = f"拍摄地点距门店约 {distance_text(photo.distance_m)}，超出 {distance_text(limit)}"
        outcome = REVIEW if photo.distance_m <= FAR_REVIEW_FACTOR * limit else FAILED
        yield Reason("too_far", message, pid, outcome)


def automatic_reasons(facts: Facts) -> list[Reason]:
    """The reasons the measurable checks give (without the recogniser), photo by photo."""
    reasons: list[Reason] = []
    if not facts.store_located:
        reasons.append(
            Reason("store_no_location", "门店未登记位置，无法核对拍摄地点", None, REVIEW)
        )
    for photo in facts.photos:
        reasons.extend(_photo_reasons(photo, facts))
    return reasons


def verdict_of(reasons: Iterable[Reason]) -> str:
    outcomes = {reason.outcome for reason in reasons}
    if FAILED in outcomes:
        return FAILED
    return REVIEW if REVIEW in outcomes else PASSED


def judge(facts: Facts) -> Judgement:
    """The reasons and the verdict. A recogniser that passed adds no reason: reasons say
    why a submission is not passed."""
    reasons = automatic_reasons(facts)
    result = facts.recogniser
    if result is not None and result.verdict in (REVIEW, FAILED):
        reasons.append(Reason(result.code, result.message, None, result.verdict))
    return Judgement(verdict_of(reasons), reasons)


def needs_recogniser(facts: Facts) -> bool:
    """Whether asking the recogniser could change anything: not when the measurable checks
    already failed the submission (a brand's image service is not called for nothing)."""
    return verdict_of(automatic_reasons(facts)) != FAILED


def near_duplicates_within(hashes: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Among one submission's (photo_id, unsigned hash) pairs, in the order submitted: each
    later photo within DUPLICATE_DISTANCE of an earlier one → that earlier photo's id."""
    found: dict[int, int] = {}
    for index, (photo_id, hashed) in enumerate(hashes):
        for earlier_id, earlier in hashes[:index]:
            if (hashed ^ earlier).bit_count() <= DUPLICATE_DISTANCE:
                found[photo_id] = earlier_id
                break
    return found
