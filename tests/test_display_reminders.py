"""Stores are reminded once before a display check closes (a WeChat subscribe message where
the owner allowed one, and an in-app notification), only while they still owe the check;
signings that are over are ended."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from backend.display import reminders
from backend.display.models import (
    DisplayAgreement,
    DisplayCheck,
    DisplayProgram,
    DisplayReminder,
    DisplaySigning,
    DisplaySubmission,
    ProgramStatus,
    SigningStatus,
    SubmissionStatus,
)
from backend.identity import service as identity_service
from backend.identity.models import Role, User
from backend.infra import jobs
from backend.infra.models import JobRecord
from backend.integrations.wechat.sandbox import DISPLAY_REMINDER_TEMPLATE_ID
from backend.notifications import service as notifications_service
from backend.notifications.models import Notification
from backend.org.models import Store
from backend.worker import PERIODIC, TASKS
from tests.factories import (
    PASSWORD,
    SANDBOX_APPID,
    Tenant,
    bearer,
    make_store,
    make_tenant,
    store_owner,
)
from tests.test_live_reminders import miniprogram_pages

HOUR = timedelta(hours=1)
_numbers = itertools.count(1)


async def signer() -> User:
    number = next(_numbers)
    return await identity_service.create_staff_user(f"signer{number}", PASSWORD, f"店主{number}")


async def program(
    tenant: Tenant,
    windows: list[tuple[datetime, datetime]],
    *,
    status: ProgramStatus = ProgramStatus.PUBLISHED,
    name: str = "冰柜陈列有礼",
) -> tuple[DisplayProgram, DisplayAgreement, list[DisplayCheck]]:
    """A published program of the tenant's brand with one check per (opens, closes) window."""
    first = windows[0][0]
    made = await DisplayProgram.create(
        brand=tenant.brand,
        name=name,
        status=status.value,
        standard="冰柜第一层整层陈列本品，价签清晰",
        audience={"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        signup_from=first - 10 * 24 * HOUR,
        signup_until=first,
        first_check_at=first,
        check_count=len(windows),
        check_interval_days=7,
        check_window_days=3,
        check_reward={"kind": "points", "amount": 200, "template_id": None, "value_fen": 0},
        budget_fen=1_000_000,
        max_stores=100,
        created_at=first - 20 * 24 * HOUR,
        updated_at=first - 20 * 24 * HOUR,
        published_at=first - 20 * 24 * HOUR,
    )
    agreement = await DisplayAgreement.create(
        program=made,
        version=1,
        text="门店按陈列标准陈列，品牌按检查结果发放奖励。" * 2,
        created_at=made.created_at,
    )
    checks = [
        await DisplayCheck.create(program=made, seq=seq, opens_at=opens, closes_at=closes)
        for seq, (opens, closes) in enumerate(windows, start=1)
    ]
    return made, agreement, checks


async def signing(
    made: DisplayProgram,
    agreement: DisplayAgreement,
    store: Store,
    *,
    status: SigningStatus = SigningStatus.ACTIVE,
    passed_checks: int = 0,
    signed_by: User | None = None,
) -> DisplaySigning:
    return await DisplaySigning.create(
        brand_id=made.brand_id,  # type: ignore[attr-defined]
        program=made,
        store=store,
        agreement=agreement,
        signed_by=signed_by or await signer(),
        signer_name="张店主",
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        terms={"name": made.name},
        status=status.value,
        passed_checks=passed_checks,
        signed_at=made.signup_from,
    )


async def submitted(
    signed: DisplaySigning, check: DisplayCheck, status: SubmissionStatus, attempt: int = 1
) -> DisplaySubmission:
    return await DisplaySubmission.create(
        brand_id=signed.brand_id,  # type: ignore[attr-defined]
        program_id=signed.program_id,  # type: ignore[attr-defined]
        signing=signed,
        display_check=check,
        store_id=signed.store_id,  # type: ignore[attr-defined]
        attempt=attempt,
        status=status.value,
        verdict="failed" if status == SubmissionStatus.FAILED else "review",
        submitted_by_id=signed.signed_by_id,  # type: ignore[attr-defined]
        submitted_at=check.opens_at,
    )


async def reminded_signings() -> set[int]:
    return set(await DisplayReminder.all().values_list("signing_id", flat=True))  # type: ignore[arg-type]


def test_the_job_runs_every_quarter_hour() -> None:
    [periodic] = [p for p in PERIODIC if p.name == "display.remind"]
    assert periodic.seconds == 900
    assert periodic.run is reminders.remind_job
    assert periodic.title == "陈列检查提醒"


async def test_a_store_owing_a_check_is_reminded_once(
    client, sandbox_client, sandbox_state, deps
) -> None:
    sandbox_state.sent_messages.clear()
    tenant = await make_tenant()
    now = deps.clock.now()
    made, agreement, [check] = await program(tenant, [(now - 48 * HOUR, now + 10 * HOUR)])
    owner = await store_owner(client, sandbox_client, tenant.store)
    owner_user = await User.get(id=owner["identity"]["user_id"])
    signed = await signing(made, agreement, tenant.store, signed_by=owner_user)
    granted = await sandbox_client.post(
        "/sandbox/subscribe-grant",
        json={
            "appid": SANDBOX_APPID,
            "persona": f"owner-of-{tenant.store.id}",
            "template_ids": [DISPLAY_REMINDER_TEMPLATE_ID],
        },
    )
    assert granted.status_code == 200, granted.text
    reported = await client.post(
        "/api/v1/notifications/subscriptions",
        json={"accepted": [DISPLAY_REMINDER_TEMPLATE_ID]},
        headers=bearer(owner),
    )
    assert reported.status_code == 200, reported.text
    listed = {t["kind"]: t for t in reported.json()["items"]}
    assert listed["display_reminder"]["title"] == "陈列检查提醒"
    assert listed["display_reminder"]["remaining"] == 1

    assert await reminders.remind_job(deps) == 1
    assert await reminded_signings() == {signed.id}
    [notification] = await Notification.all()
    assert notification.user_id == owner_user.id  # type: ignore[attr-defined]
    assert notification.kind == "display_due"
    assert notification.title == "陈列检查即将截止：冰柜陈列有礼"
    assert "第 1 次检查将于" in notification.body
    assert notification.link == f"/packageDisplay/pages/signing/index?id={signed.id}"
    [job] = await JobRecord.all()
    assert job.task == notifications_service.SUBSCRIBE_TASK
    assert job.brand_id == tenant.brand.id
    assert job.context == f"陈列活动「冰柜陈列有礼」第 1 次检查提醒 · 门店「{tenant.store.name}」"
    assert job.args["kind"] == "display_reminder"

    assert sandbox_state.sent_messages == []  # a job, sent by a worker after commit
    assert await jobs.run_pending(deps, TASKS) == 1
    [message] = sandbox_state.sent_messages
    assert message["template_id"] == DISPLAY_REMINDER_TEMPLATE_ID
    assert message["data"] == {
        "thing1": "冰柜陈列有礼",
        "time2": check.closes_at.astimezone(reminders.CHINA).strftime("%Y-%m-%d %H:%M"),
        "thing3": "第1次陈列检查即将截止，请及时拍照",
    }
    assert message["page"] == f"packageDisplay/pages/signing/index?id={signed.id}"

    # Once: a rerun writes nothing new, and sends nothing.
    assert await reminders.remind_job(deps) == 0
    assert await Notification.all().count() == 1
    assert await JobRecord.filter(task=notifications_service.SUBSCRIBE_TASK).count() == 1
    assert await DisplayReminder.all().count() == 1
    assert await jobs.run_pending(deps, TASKS) == 0
    assert len(sandbox_state.sent_messages) == 1


async def test_the_reminder_opens_a_page_the_miniprogram_has_or_will_have() -> None:
    """The page lives in the display subpackage (written beside this part); once it is
    declared, it must be the one the reminder names."""
    pages = miniprogram_pages()
    if any(page.startswith("packageDisplay/") for page in pages):
        assert reminders.SIGNING_PAGE in pages


async def test_only_stores_still_owing_an_open_check_closing_soon_are_reminded(deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    stores = [tenant.store] + [await make_store(tenant) for _ in range(5)]
    made, agreement, [check] = await program(tenant, [(now - 40 * HOUR, now + 5 * HOUR)])
    owing, passed, in_review, failed, rejected, ended = [
        await signing(made, agreement, store) for store in stores
    ]
    ended.status = SigningStatus.ENDED.value
    await ended.save()
    await submitted(passed, check, SubmissionStatus.PASSED)
    await submitted(in_review, check, SubmissionStatus.REVIEW)
    await submitted(failed, check, SubmissionStatus.FAILED)  # may try again: still owes it
    await submitted(rejected, check, SubmissionStatus.REJECTED)
    await submitted(rejected, check, SubmissionStatus.REVIEW, attempt=2)  # tried again

    # Checks of other programs the same stores signed: none of them is due now.
    elsewhere = [
        (now + 2 * HOUR, now + 20 * HOUR),  # closes within 24 hours but not open yet
        (now - 30 * HOUR, now + 30 * HOUR),  # open, but closes in more than 24 hours
        (now - 50 * HOUR, now - 1 * HOUR),  # closed
    ]
    for window in elsewhere:
        other, other_agreement, _ = await program(tenant, [window], name="端架陈列")
        await signing(other, other_agreement, tenant.store)
    stopped, stopped_agreement, _ = await program(
        tenant, [(now - 40 * HOUR, now + 5 * HOUR)], status=ProgramStatus.ENDED, name="已结束"
    )
    await signing(stopped, stopped_agreement, stores[1], status=SigningStatus.ENDED)

    assert await reminders.remind_due(now) == 2
    assert await reminded_signings() == {owing.id, failed.id}
    # Nobody owns these stores: the claims stand, no notification and no message.
    assert await Notification.all().count() == 0
    assert await JobRecord.all().count() == 0
    assert await reminders.remind_due(now) == 0


async def test_an_owner_of_several_stores_gets_one_reminder_per_store(
    client, sandbox_client, deps
) -> None:
    tenant = await make_tenant()
    second = await make_store(tenant)
    now = deps.clock.now()
    made, agreement, _ = await program(tenant, [(now - 10 * HOUR, now + 1 * HOUR)])
    owner = await store_owner(client, sandbox_client, tenant.store, persona="chain-owner")
    await identity_service.grant_membership(
        owner["identity"]["user_id"],
        Role.STORE_OWNER,
        tenant.brand.id,
        distributor_id=tenant.distributor.id,
        store_id=second.id,
    )
    signed = [await signing(made, agreement, store) for store in (tenant.store, second)]
    assert await reminders.remind_due(now) == 2
    links = set(await Notification.all().values_list("link", flat=True))
    assert links == {f"/packageDisplay/pages/signing/index?id={s.id}" for s in signed}
    contexts = set(await JobRecord.all().values_list("context", flat=True))
    assert contexts == {
        f"陈列活动「冰柜陈列有礼」第 1 次检查提醒 · 门店「{store.name}」"
        for store in (tenant.store, second)
    }


async def test_signings_that_are_over_are_ended(deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    stores = [tenant.store] + [await make_store(tenant) for _ in range(3)]
    two_checks = [(now - 20 * 24 * HOUR, now - 17 * 24 * HOUR), (now - 6 * 24 * HOUR, now - HOUR)]

    finished, agreement, [_, last] = await program(tenant, two_checks)
    missed = await signing(finished, agreement, stores[0], passed_checks=1)
    completed = await signing(
        finished, agreement, stores[1], status=SigningStatus.COMPLETED, passed_checks=2
    )
    waiting = await signing(finished, agreement, stores[2], passed_checks=1)
    await submitted(waiting, last, SubmissionStatus.REVIEW)  # may still be approved
    never = await signing(finished, agreement, stores[3])

    stopped, stopped_agreement, _ = await program(
        tenant, [(now - HOUR, now + 48 * HOUR)], status=ProgramStatus.ENDED, name="提前结束"
    )
    stopped_signing = await signing(stopped, stopped_agreement, stores[0])
    stopped_done = await signing(
        stopped, stopped_agreement, stores[1], status=SigningStatus.COMPLETED
    )

    running, running_agreement, _ = await program(
        tenant, [(now - 10 * 24 * HOUR, now - 7 * 24 * HOUR), (now - HOUR, now + 48 * HOUR)]
    )
    still = await signing(running, running_agreement, stores[0])

    assert await reminders.end_finished_signings(now) == 3
    statuses = dict(await DisplaySigning.all().values_list("id", "status"))
    assert statuses == {
        missed.id: "ended",
        completed.id: "completed",
        waiting.id: "active",
        never.id: "ended",
        stopped_signing.id: "ended",
        stopped_done.id: "completed",
        still.id: "active",
    }
    assert await reminders.end_finished_signings(now) == 0

    # Once the waiting submission is rejected, it is over for that store too.
    await DisplaySubmission.filter(signing_id=waiting.id).update(
        status=SubmissionStatus.REJECTED.value
    )
    assert await reminders.remind_job(deps) == 0
    assert (await DisplaySigning.get(id=waiting.id)).status == "ended"
