"""Display programs (陈列有礼 / 付费陈列): a brand pays stores for displaying its products,
proven by photos on a schedule.

A program's terms (standard, schedule, photos per check, rewards, agreement) are frozen once
a store has signed: what a store signed stands. A store's signing keeps a copy of the terms
it signed. Each scheduled check of a program is one `DisplayCheck`; a store's attempt at a
check is a `DisplaySubmission` (a rejected store may try again inside the window); a passed
check pays one `DisplayReward` (unique per signing and check: two approvals at once pay once).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.identity.models import User
    from backend.org.models import Brand, Store


class ProgramStatus(StrEnum):
    DRAFT = "draft"  # the brand is still writing it; no store sees it
    PUBLISHED = "published"  # stores of its audience see it and may sign inside the window
    ENDED = "ended"  # ended early by the brand: no more signing, no more checks due


class RewardKind(StrEnum):
    POINTS = "points"  # whole points into the store's points account (1 point = 1 fen of budget)
    CASH = "cash"  # fen into the store's cash account
    VOUCHER = "voucher"  # `amount` exchange vouchers of a coupon template, each `value_fen`


class SigningStatus(StrEnum):
    ACTIVE = "active"  # signed; checks are due on the schedule
    COMPLETED = "completed"  # every check passed (the completion reward, if any, was paid)
    ENDED = "ended"  # the program ended or its last check closed without all passing


class SubmissionStatus(StrEnum):
    PASSED = "passed"  # passed the automatic checks, or approved by a person: rewarded
    REVIEW = "review"  # waiting for a person (the salesperson first, where allowed)
    FAILED = "failed"  # refused by the automatic checks (reasons say why); may try again
    REJECTED = "rejected"  # refused by a person (review_reason says why); may try again


class Verdict(StrEnum):
    """What the automatic checks concluded about a submission."""

    PASSED = "passed"
    REVIEW = "review"
    FAILED = "failed"


class FirstReview(StrEnum):
    NONE = ""  # nobody has looked yet
    APPROVED = "approved"  # the store's salesperson approved; the brand decides


class DisplayProgram(Model):
    """One program of one brand. `signed_count` and `spent_fen` move only by guarded updates
    (never past `max_stores` / `budget_fen`)."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="display_programs", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=40)
    status = fields.CharField(max_length=9, default=ProgramStatus.DRAFT.value)
    standard = fields.TextField()  # the display standard, in words
    # [{"url": ..., "width": ..., "height": ...}] uploaded through /uploads/images
    sample_photos: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    sku_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    # {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []}: empty = everyone
    audience: fields.JSONField[dict[str, Any]] = fields.JSONField()
    signup_from = fields.DatetimeField()
    signup_until = fields.DatetimeField()
    # The schedule: check_count checks, the first opening at first_check_at, one every
    # check_interval_days, each open for check_window_days (DisplayCheck rows, made on publish).
    first_check_at = fields.DatetimeField()
    check_count = fields.SmallIntField()
    check_interval_days = fields.SmallIntField()
    check_window_days = fields.SmallIntField()
    photos_required = fields.SmallIntField(default=1)
    distance_limit_m = fields.IntField(default=300)
    # {"kind": points|cash|voucher, "amount": int, "template_id": int|None, "value_fen": int}
    check_reward: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    completion_reward: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    budget_fen = fields.BigIntField()
    spent_fen = fields.BigIntField(default=0)
    max_stores = fields.IntField()
    signed_count = fields.IntField(default=0)
    salesperson_reviews_first = fields.BooleanField(default=False)
    agreement_version = fields.IntField(default=1)  # the current DisplayAgreement.version
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="display_programs", on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    published_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)  # when the brand ended it early

    class Meta:
        table = "display_programs"
        indexes = (("brand_id", "status", "id"),)


class DisplayAgreement(Model):
    """One version of a program's agreement text. A new text is a new version, and a
    signing names the version it signed."""

    id = fields.BigIntField(primary_key=True)
    program: fields.ForeignKeyRelation[DisplayProgram] = fields.ForeignKeyField(
        "models.DisplayProgram", related_name="agreements", on_delete=fields.RESTRICT
    )
    version = fields.IntField()
    text = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "display_agreements"
        unique_together = (("program", "version"),)


class DisplayCheck(Model):
    """One scheduled check of a program: photos are taken between opens_at and closes_at."""

    id = fields.BigIntField(primary_key=True)
    program: fields.ForeignKeyRelation[DisplayProgram] = fields.ForeignKeyField(
        "models.DisplayProgram", related_name="checks", on_delete=fields.RESTRICT
    )
    seq = fields.SmallIntField()  # 1, 2, … check_count
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()

    class Meta:
        table = "display_checks"
        unique_together = (("program", "seq"),)
        indexes = (("closes_at",),)


class DisplaySigning(Model):
    """A store's signature of a program's agreement: who, when, which text version, and a copy
    of the terms it signed (`terms`: what the signed document shows)."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="display_signings", on_delete=fields.RESTRICT
    )
    program: fields.ForeignKeyRelation[DisplayProgram] = fields.ForeignKeyField(
        "models.DisplayProgram", related_name="signings", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="display_signings", on_delete=fields.RESTRICT
    )
    agreement: fields.ForeignKeyRelation[DisplayAgreement] = fields.ForeignKeyField(
        "models.DisplayAgreement", related_name="signings", on_delete=fields.RESTRICT
    )
    signed_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="display_signings", on_delete=fields.RESTRICT
    )
    signer_name = fields.CharField(max_length=32)  # the name the owner typed to sign
    signer_phone = fields.CharField(max_length=20, default="")
    # The store's distributor and region when it signed: figures by distributor and region.
    distributor_id = fields.BigIntField()
    region_id = fields.BigIntField(null=True)
    terms: fields.JSONField[dict[str, Any]] = fields.JSONField()
    status = fields.CharField(max_length=9, default=SigningStatus.ACTIVE.value)
    passed_checks = fields.SmallIntField(default=0)
    signed_at = fields.DatetimeField()

    class Meta:
        table = "display_signings"
        unique_together = (("program", "store"),)
        indexes = (("store_id", "status"), ("program_id", "distributor_id"))


class DisplaySubmission(Model):
    """One attempt of a store at one check: its photos, what the automatic checks found
    (`reasons`: [{"code", "message", "photo_id"}], in Chinese) and what a person decided.
    At most one per signing and check is passed or waiting for review at a time."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="display_submissions", on_delete=fields.RESTRICT
    )
    program: fields.ForeignKeyRelation[DisplayProgram] = fields.ForeignKeyField(
        "models.DisplayProgram", related_name="submissions", on_delete=fields.RESTRICT
    )
    signing: fields.ForeignKeyRelation[DisplaySigning] = fields.ForeignKeyField(
        "models.DisplaySigning", related_name="submissions", on_delete=fields.RESTRICT
    )
    # Not `check`: Tortoise's Model has a check() of its own.
    display_check: fields.ForeignKeyRelation[DisplayCheck] = fields.ForeignKeyField(
        "models.DisplayCheck", related_name="submissions", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="display_submissions", on_delete=fields.RESTRICT
    )
    attempt = fields.SmallIntField()  # 1 for the first try at this check, then 2, …
    status = fields.CharField(max_length=8)
    verdict = fields.CharField(max_length=6)
    reasons: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    submitted_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="display_submissions", on_delete=fields.RESTRICT
    )
    submitted_at = fields.DatetimeField()
    first_review = fields.CharField(max_length=8, default=FirstReview.NONE.value)
    first_reviewed_by_id = fields.BigIntField(null=True)
    first_reviewed_at = fields.DatetimeField(null=True)
    reviewed_by_id = fields.BigIntField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    review_reason = fields.CharField(max_length=200, default="")

    class Meta:
        table = "display_submissions"
        unique_together = (("signing", "display_check", "attempt"),)
        indexes = (("brand_id", "status", "id"), ("program_id", "status"))


class DisplayPhoto(Model):
    """A photo a store took in the mini-program for a check, cleaned of its metadata and
    stored under `key`, with the capture time and location the phone sent with it. It belongs
    to no submission until one is made with it. `phash` is its 64-bit perceptual hash as a
    signed integer, `brightness` the mean grey (0–255), `sharpness` the Laplacian's variance."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="display_photos", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="display_photos", on_delete=fields.RESTRICT
    )
    submission: fields.ForeignKeyNullableRelation[DisplaySubmission] = fields.ForeignKeyField(
        "models.DisplaySubmission", null=True, related_name="photos", on_delete=fields.RESTRICT
    )
    key = fields.CharField(max_length=128)
    content_type = fields.CharField(max_length=16)
    size_bytes = fields.IntField()
    width = fields.IntField()
    height = fields.IntField()
    taken_at = fields.DatetimeField()
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    phash = fields.BigIntField()
    brightness = fields.FloatField()
    sharpness = fields.FloatField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "display_photos"
        indexes = (("store_id", "submission_id"),)


class DisplayPhotoBand(Model):
    """The near-duplicate index: each submitted photo's 64-bit hash cut into four 16-bit
    bands. Two hashes within Hamming distance 4·k+3 share a band within distance k, so a
    search looks up each band's neighbours and checks the few candidates exactly."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.BigIntField()
    band = fields.SmallIntField()  # 0–3
    value = fields.IntField()  # 0–65535
    photo_id = fields.BigIntField()
    # The photo's whole hash again: a search checks its candidates from the index's own
    # rows rather than one photo lookup each (p99 33 ms instead of 50 at 200,000 photos).
    phash = fields.BigIntField()

    class Meta:
        table = "display_photo_bands"
        indexes = (("brand_id", "band", "value"),)


class DisplayReward(Model):
    """What one passed check (check_seq ≥ 1) or the completed program (check_seq 0) paid one
    store: unique per signing and check, so it is paid once however many approve at once.
    `cost_fen` is what it took from the program's budget, `coupon_ids` the vouchers."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="display_rewards", on_delete=fields.RESTRICT
    )
    program: fields.ForeignKeyRelation[DisplayProgram] = fields.ForeignKeyField(
        "models.DisplayProgram", related_name="rewards", on_delete=fields.RESTRICT
    )
    signing: fields.ForeignKeyRelation[DisplaySigning] = fields.ForeignKeyField(
        "models.DisplaySigning", related_name="rewards", on_delete=fields.RESTRICT
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="display_rewards", on_delete=fields.RESTRICT
    )
    check_seq = fields.SmallIntField()
    submission_id = fields.BigIntField(null=True)
    kind = fields.CharField(max_length=7)
    amount = fields.BigIntField()
    cost_fen = fields.BigIntField()
    coupon_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()

    class Meta:
        table = "display_rewards"
        unique_together = (("signing", "check_seq"),)
        indexes = (("program_id", "id"),)


class DisplayReminder(Model):
    """A reminder sent to a store before a check's window closed: once per signing and check."""

    id = fields.BigIntField(primary_key=True)
    signing: fields.ForeignKeyRelation[DisplaySigning] = fields.ForeignKeyField(
        "models.DisplaySigning", related_name="reminders", on_delete=fields.RESTRICT
    )
    display_check: fields.ForeignKeyRelation[DisplayCheck] = fields.ForeignKeyField(
        "models.DisplayCheck", related_name="reminders", on_delete=fields.RESTRICT
    )
    sent_at = fields.DatetimeField()

    class Meta:
        table = "display_reminders"
        unique_together = (("signing", "display_check"),)
