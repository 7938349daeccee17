"""Reminding stores of display checks about to close, and closing signings that are over:
one periodic job (backend/worker.py, every 15 minutes).

A store is reminded once per signing and check (the unique DisplayReminder row is claimed
first, so a rerun or a second worker reminds nobody twice), within the last 24 hours of
the check's window, unless it already has a submission passed or waiting for review: a
WeChat subscribe message to each owner who allowed one (a durable job, sent after commit)
and an in-app notification.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.display.models import (
    DisplayCheck,
    DisplayProgram,
    ProgramStatus,
    SigningStatus,
    SubmissionStatus,
)
from backend.identity import service as identity_service
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.notifications import service as notifications_service
from backend.org import service as org_service

log = get_logger("display.reminders")

REMIND_BEFORE = timedelta(hours=24)
CHINA = ZoneInfo("Asia/Shanghai")
NOTIFICATION_KIND = "display_due"
THING_LENGTH = 20  # a WeChat "thing" keyword holds at most 20 characters
# Signings reminded per transaction: a program of thousands of stores commits in steps, so
# no transaction holds its locks for long (each step's claims stand on their own).
BATCH = 200
SIGNING_PAGE = "packageDisplay/pages/signing/index"
# A submission in these states means the store has done its part for the check.
DONE = (SubmissionStatus.PASSED.value, SubmissionStatus.REVIEW.value)

# The active signings of a program still owing a check: never reminded of it, nothing
# passed or waiting for review.
_OWING_SQL = (
    "SELECT s.id, s.store_id FROM display_signings s"
    " WHERE s.program_id = $1 AND s.status = $3"
    " AND NOT EXISTS (SELECT 1 FROM display_reminders r"
    " WHERE r.signing_id = s.id AND r.display_check_id = $2)"
    " AND NOT EXISTS (SELECT 1 FROM display_submissions d"
    " WHERE d.signing_id = s.id AND d.display_check_id = $2 AND d.status IN ($4))"
    " ORDER BY s.id"
)
_CLAIM_SQL = (
    "INSERT INTO display_reminders (signing_id, display_check_id, sent_at) VALUES ($1, $2, $3)"
    " ON CONFLICT (signing_id, display_check_id) DO NOTHING RETURNING id"
)
# Signings of programs the brand ended.
_END_WITH_PROGRAM_SQL = (
    "UPDATE display_signings SET status = $1 WHERE status = $2 AND program_id IN"
    " (SELECT p.id FROM display_programs p WHERE p.status = $3)"
)
# Signings whose last check has closed without every check passed (those that did are
# `completed` already). One with a submission still waiting for review stays active until
# it is decided: an approval may yet complete it.
_END_FINISHED_SQL = (
    "UPDATE display_signings SET status = $1 WHERE status = $2"
    " AND program_id IN (SELECT p.id FROM display_programs p WHERE p.status = $3"
    " AND EXISTS (SELECT 1 FROM display_checks c WHERE c.program_id = p.id)"
    " AND NOT EXISTS (SELECT 1 FROM display_checks c"
    " WHERE c.program_id = p.id AND c.closes_at > $4))"
    " AND passed_checks < (SELECT p.check_count FROM display_programs p"
    " WHERE p.id = display_signings.program_id)"
    " AND NOT EXISTS (SELECT 1 FROM display_submissions d"
    " WHERE d.signing_id = display_signings.id AND d.status = $5)"
)


async def remind_job(deps: Any) -> int:
    """The periodic job: close what is over, then remind; how many signings were reminded."""
    now = deps.clock.now()
    ended = await end_finished_signings(now)
    reminded = await remind_due(now)
    if ended or reminded:
        log.info("display reminders", extra={"reminded": reminded, "ended": ended})
    return reminded


async def remind_due(now: datetime) -> int:
    """Remind every store owing a check that is open and closes within 24 hours; how many
    signings were reminded."""
    due = (
        await DisplayCheck.filter(
            opens_at__lte=now,
            closes_at__gt=now,
            closes_at__lte=now + REMIND_BEFORE,
            program__status=ProgramStatus.PUBLISHED.value,
        )
        .select_related("program")
        .order_by("closes_at", "id")
    )
    reminded = 0
    for check in due:
        owing = await sql.fetch(
            _OWING_SQL, check.program.id, check.id, SigningStatus.ACTIVE.value, DONE
        )
        for start in range(0, len(owing), BATCH):
            # The claims, the notifications and the message jobs together; the jobs start
            # once this commits, and a failure leaves these signings to the next run.
            async with sql.transaction():
                reminded += await _remind(check, owing[start : start + BATCH], now)
    return reminded


async def _remind(check: DisplayCheck, owing: Sequence[sql.Row], now: datetime) -> int:
    claimed: list[tuple[int, int]] = []  # (signing, store)
    for row in owing:
        if await sql.fetch(_CLAIM_SQL, row["id"], check.id, now):
            claimed.append((int(row["id"]), int(row["store_id"])))
    if not claimed:
        return 0
    program: DisplayProgram = check.program
    brand_id: int = program.brand_id  # type: ignore[attr-defined]
    store_ids = [store_id for _, store_id in claimed]
    owners = await identity_service.store_owner_user_ids(store_ids)
    names = await org_service.names(brand_id, "store", store_ids)
    closes = check.closes_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    for signing_id, store_id in claimed:
        users = sorted(set(owners.get(store_id, [])))
        if not users:
            continue  # nobody to tell; the claim stands, so nobody is told twice later
        await notifications_service.notify(
            brand_id,
            users,
            kind=NOTIFICATION_KIND,
            title=f"陈列检查即将截止：{program.name}",
            body=f"第 {check.seq} 次检查将于 {closes} 截止，请按陈列标准拍照上传",
            link=f"/{SIGNING_PAGE}?id={signing_id}",
            now=now,
        )
        store = names.get(store_id, "")
        about = f"陈列活动「{program.name}」第 {check.seq} 次检查提醒 · 门店「{store}」"
        for user_id in users:
            await notifications_service.queue_subscribe(
                user_id,
                notifications_service.DISPLAY_REMINDER,
                {
                    "thing1": program.name[:THING_LENGTH],
                    "time2": closes,
                    "thing3": f"第{check.seq}次陈列检查即将截止，请及时拍照"[:THING_LENGTH],
                },
                page=f"{SIGNING_PAGE}?id={signing_id}",
                brand_id=brand_id,
                now=now,
                about=about,
            )
    return len(claimed)


async def end_finished_signings(now: datetime) -> int:
    """Mark `ended` the active signings of ended programs and those whose last check has
    closed without all passing; how many."""
    ended, active = SigningStatus.ENDED.value, SigningStatus.ACTIVE.value
    count = await sql.execute(_END_WITH_PROGRAM_SQL, ended, active, ProgramStatus.ENDED.value)
    count += await sql.execute(
        _END_FINISHED_SQL,
        ended,
        active,
        ProgramStatus.PUBLISHED.value,
        now,
        SubmissionStatus.REVIEW.value,
    )
    return count
