"""Durable jobs (backend/infra/jobs.py) with real workers: a worker killed with SIGKILL in the
middle of a job, WeChat unreachable for a while, periodic jobs across two workers, and what
brand admins see of failed jobs. On PostgreSQL + Redis and on the embedded default."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from croniter import croniter

from backend.config import EMBEDDED_REDIS_URL
from backend.infra import jobs, sql
from backend.infra.jobs import JobRunner, Periodic, Timing, cron_for
from backend.infra.models import JobRecord
from backend.integrations.wechat.client import MiniProgramClient
from backend.worker import PERIODIC, TASKS
from tests import job_worker
from tests.factories import bearer, make_shop
from tests.test_complaint_subscribe import allow
from tests.test_complaints import filed, parties
from tests.test_complaints import step as step_only
from tests.test_promotions_admin import admin

ROOT = Path(__file__).resolve().parent.parent
QUICK = Timing(relay_seconds=0.05, stale_seconds=1.0, sweep_seconds=1)
# The subscribe task as in production, but retrying within a tenth of a second.
QUICK_TASKS = [dataclasses.replace(task, retry_delay=0.1, max_delay=0.2) for task in TASKS]


async def until(condition: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def queue_name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def start_worker(
    database_url: str, redis_url: str, queue: str, *, relay_seconds: float | None = None
) -> subprocess.Popen[str]:
    relay = [] if relay_seconds is None else [str(relay_seconds)]
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.job_worker", database_url, redis_url, queue, *relay],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    return worker


async def test_a_worker_killed_mid_job_runs_it_again_and_its_effect_happens_once(
    database_url, settings
) -> None:
    await sql.execute(
        "CREATE TABLE IF NOT EXISTS job_effects (job_id BIGINT PRIMARY KEY, note TEXT)"
    )
    job_id = await jobs.defer(
        job_worker.EFFECT_TASK, {"note": "一次"}, brand_id=None, now=datetime.now(UTC)
    )
    queue = queue_name()
    first = start_worker(database_url, settings.redis_url, queue)
    try:
        assert first.stdout is not None
        line = await asyncio.to_thread(first.stdout.readline)
        assert line.strip() == "lingering"  # the effect is written, the job not done
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert (await JobRecord.get(id=job_id)).status == jobs.RUNNING
    finally:
        first.kill()
    second = start_worker(database_url, settings.redis_url, queue)
    try:

        async def done() -> bool:
            return (await JobRecord.get(id=job_id)).status == jobs.DONE

        await until(done)
    finally:
        second.kill()
        second.wait()
    record = await JobRecord.get(id=job_id)
    assert record.attempts == 2
    effects = await sql.fetch("SELECT job_id, note FROM job_effects WHERE job_id = $1", job_id)
    assert [dict(row) for row in effects] == [{"job_id": job_id, "note": "一次"}]


async def test_messages_wait_for_wechat_and_go_once_it_returns(
    client, sandbox_client, sandbox_state, deps, settings
) -> None:
    sandbox_state.sent_messages.clear()
    shop, brand, _, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store, times=2)
    working = deps.wechat
    deps.wechat = MiniProgramClient(
        dataclasses.replace(working.settings, api_base_url="http://127.0.0.1:9")
    )
    runner = JobRunner(
        deps, QUICK_TASKS, redis_url=settings.redis_url, queue_name=queue_name(), timing=QUICK
    )
    await runner.start()
    try:
        for action in ("acknowledge", "assign"):
            assert (await step_only(client, brand, number, action)).status_code == 200
        ids = await JobRecord.filter(task=TASKS[0].name, brand_id=shop.tenant.brand.id).values_list(
            "id", flat=True
        )
        assert len(ids) == 2

        async def retried() -> bool:
            rows = await JobRecord.filter(id__in=ids)
            return all(r.status == jobs.RETRYING and r.attempts >= 2 for r in rows)

        await until(retried)
        assert sandbox_state.sent_messages == []
        failing = await JobRecord.get(id=ids[0])
        assert failing.last_error == "连不上微信服务器"

        deps.wechat = working  # WeChat is back

        async def sent() -> bool:
            return await JobRecord.filter(id__in=ids, status=jobs.DONE).count() == 2

        await until(sent)
        await asyncio.sleep(0.5)  # nothing more goes out later either
    finally:
        deps.wechat = working
        await runner.stop()
    phrases = sorted(m["data"]["phrase2"] for m in sandbox_state.sent_messages)
    assert phrases == sorted(["已受理", "处理中"])


async def test_a_periodic_job_runs_once_per_period_across_two_workers(deps, settings) -> None:
    runs: list[float] = []

    async def tick(_: Any) -> None:
        runs.append(time.time())

    periodic = [Periodic("test.tick", "测试", 1, tick)]
    queue = queue_name()
    runners = [
        JobRunner(deps, [], periodic, redis_url=settings.redis_url, queue_name=queue, timing=QUICK)
        for _ in range(2)
    ]
    for runner in runners:
        await runner.start()
    started = time.monotonic()

    async def ran_for_a_while() -> bool:
        # Several periods, and at least two runs (saq skips a period while the last run is
        # being scheduled; a busy machine can delay the scheduler past a few more).
        return time.monotonic() - started >= 4.5 and len(runs) >= 2

    await until(ran_for_a_while)
    for runner in runners:
        await runner.stop()
    seconds = [int(t) for t in runs]
    assert len(set(seconds)) == len(seconds)  # never twice in one period


async def test_brand_admins_see_their_failed_jobs_and_retry_them(
    client, sandbox_client, sandbox_state, deps
) -> None:
    sandbox_state.sent_messages.clear()
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    other = await admin(client, await make_shop())
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store)
    assert (await step_only(client, brand, number, "acknowledge")).status_code == 200
    [job_id] = await JobRecord.filter(brand_id=shop.tenant.brand.id).values_list("id", flat=True)
    # Out of attempts while WeChat was down.
    working = deps.wechat
    deps.wechat = MiniProgramClient(
        dataclasses.replace(working.settings, api_base_url="http://127.0.0.1:9")
    )
    try:
        assert not await jobs.run_job(deps, {t.name: t for t in TASKS}, job_id, last_attempt=True)
    finally:
        deps.wechat = working

    listed = await client.get("/api/v1/jobs", params={"status": "failed"}, headers=brand)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == job_id and item["title"] == "微信订阅消息"
    store = shop.tenant.store.name
    assert item["context"] == f"门店「{store}」· 投诉 #{number}（品牌已受理）"
    assert item["retryable"] and not item["periodic"]
    assert item["status_name"] == "已失败" and item["attempts"] == 1
    assert item["last_error"] == "连不上微信服务器"
    assert (await client.get("/api/v1/jobs", headers=other)).json()["items"] == []

    refused = await client.get("/api/v1/jobs", headers=distributor)
    assert refused.status_code == 403
    assert (
        await client.post(f"/api/v1/jobs/{job_id}/retry", headers=distributor)
    ).status_code == 403
    elsewhere = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=other)
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["message"] == "找不到该任务"

    retried = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=brand)
    assert retried.status_code == 200 and retried.json()["status"] == jobs.PENDING
    again = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=brand)
    assert again.status_code == 409
    assert await jobs.run_pending(deps, TASKS) == 1
    assert [m["data"]["phrase2"] for m in sandbox_state.sent_messages] == ["已受理"]
    assert (await client.get("/api/v1/jobs", headers=brand)).json()["items"] == []


def test_every_periodic_job_has_a_schedule_of_its_period() -> None:
    start = datetime(2026, 12, 5, 0, 0, 0, tzinfo=UTC)
    for periodic in PERIODIC:
        schedule = croniter(cron_for(periodic.seconds), start)
        first, second = schedule.get_next(datetime), schedule.get_next(datetime)
        assert (second - first).total_seconds() == periodic.seconds, periodic.name


# A relay whose poll is an hour away: only a commit's wake-up hands it a job in a test.
ASLEEP = Timing(relay_seconds=3600.0, stale_seconds=7200.0, sweep_seconds=1)


async def test_a_commit_wakes_the_relay_and_a_rollback_defers_nothing(deps, settings) -> None:
    ran: list[int] = []

    async def note(_deps: Any, job_id: int, _args: dict[str, Any]) -> None:
        ran.append(job_id)

    task = jobs.Task("test.wake", "测试", note)
    now = datetime.now(UTC)
    # Deferred before the worker starts: its first relay takes it, then it sleeps.
    before = await jobs.defer(task.name, {}, brand_id=None, now=now)
    runner = JobRunner(
        deps, [task], redis_url=settings.redis_url, queue_name=queue_name(), timing=ASLEEP
    )
    await runner.start()
    try:
        await until(lambda: _done(before))
        with pytest.raises(RuntimeError):
            async with sql.transaction():
                await jobs.defer(task.name, {"n": 1}, brand_id=None, now=now)
                raise RuntimeError("rolled back")
        async with sql.transaction():
            committed = await jobs.defer(task.name, {"n": 2}, brand_id=None, now=now)
        await until(lambda: _done(committed))
    finally:
        await runner.stop()
    assert ran == [before, committed]
    assert await JobRecord.filter(task=task.name).count() == 2


async def _done(job_id: int) -> bool:
    return (await JobRecord.get(id=job_id)).status == jobs.DONE


async def test_a_commit_in_another_process_wakes_a_workers_relay(
    database_url, settings, deps
) -> None:
    """Production: the API process publishes the wake-up through Redis, and a `b2bc worker`
    whose relay would not poll for an hour runs the job."""
    if settings.redis_url == EMBEDDED_REDIS_URL:
        pytest.skip("processes meet only through a real Redis")
    await sql.execute(
        "CREATE TABLE IF NOT EXISTS job_effects (job_id BIGINT PRIMARY KEY, note TEXT)"
    )
    now = datetime.now(UTC)
    # Deferred before the worker starts: its first relay takes it, then it sleeps.
    before = await jobs.defer(
        job_worker.EFFECT_TASK, {"note": "启动", "linger": False}, brand_id=None, now=now
    )
    worker = start_worker(
        database_url, settings.redis_url, queue_name(), relay_seconds=ASLEEP.relay_seconds
    )
    published_to = jobs.WAKEUPS.redis
    jobs.WAKEUPS.publish_through(deps.redis)
    try:
        await until(lambda: _done(before))
        async with sql.transaction():
            job_id = await jobs.defer(
                job_worker.EFFECT_TASK, {"note": "唤醒", "linger": False}, brand_id=None, now=now
            )
        await until(lambda: _done(job_id))
    finally:
        jobs.WAKEUPS.publish_through(published_to)
        worker.kill()
        worker.wait()
    effects = await sql.fetch("SELECT note FROM job_effects WHERE job_id = $1", job_id)
    assert [row["note"] for row in effects] == ["唤醒"]


async def test_a_failing_periodic_job_is_shown_to_every_brand_with_nothing_of_any_brand(
    client, deps, settings
) -> None:
    """Expiry, reconciliation and the like work across every brand: a failing run is one
    row every brand's admins see, with a generic error, not retried by hand, and done once
    a run succeeds."""
    admins = [await admin(client, await make_shop()) for _ in range(2)]
    failing = True

    async def expire(_deps: Any) -> None:
        if failing:  # a bug whose message names one brand's data
            raise RuntimeError("门店「甲」的订单 #7 无法过期")

    periodic = [Periodic("orders.expire", "过期未付款订单", 1, expire)]
    runner = JobRunner(
        deps, [], periodic, redis_url=settings.redis_url, queue_name=queue_name(), timing=QUICK
    )
    rows = JobRecord.filter(kind=jobs.PERIODIC, task="orders.expire")
    await runner.start()
    try:

        async def failed_twice() -> bool:
            return [r.attempts >= 2 for r in await rows] == [True]

        await until(failed_twice)
        [row] = await rows
        assert (row.status, row.brand_id, row.args) == (jobs.FAILED, None, {})
        for headers in admins:
            listed = await client.get("/api/v1/jobs", params={"status": "failed"}, headers=headers)
            [item] = [i for i in listed.json()["items"] if i["id"] == row.id]
            assert item["title"] == "过期未付款订单"
            assert item["context"] == jobs.PERIODIC_CONTEXT
            assert item["last_error"] == jobs.INTERNAL_ERROR  # nothing of 甲's
            assert item["periodic"] and not item["retryable"]
            refused = await client.post(f"/api/v1/jobs/{row.id}/retry", headers=headers)
            assert refused.status_code == 409
            assert refused.json()["error"]["code"] == "job.periodic"
        assert (await JobRecord.get(id=row.id)).status == jobs.FAILED

        failing = False

        async def recovered() -> bool:
            return [r.status for r in await rows] == [jobs.DONE]

        await until(recovered)
    finally:
        await runner.stop()
    listed = await client.get("/api/v1/jobs", headers=admins[0])
    assert row.id not in [item["id"] for item in listed.json()["items"]]


async def test_stopping_a_worker_lets_the_job_under_way_finish(deps, settings) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[int] = []

    async def slow(deps: Any, job_id: int, args: dict[str, Any]) -> None:
        started.set()
        await release.wait()
        runs.append(job_id)

    task = jobs.Task("test.slow", "测试任务", slow, attempts=3, retry_delay=0.1)
    runner = JobRunner(
        deps, [task], redis_url=settings.redis_url, queue_name=queue_name(), timing=QUICK
    )
    await runner.start()
    job_id = await jobs.defer(task.name, {}, brand_id=None, now=datetime.now(UTC))
    await asyncio.wait_for(started.wait(), 30)
    stopping = asyncio.create_task(runner.stop())
    await until(lambda: asyncio.sleep(0, runner._worker.event.is_set()))
    await asyncio.sleep(0.2)  # room for a stop that would cancel the job to do so
    assert not stopping.done()  # it waits for the job
    release.set()
    await asyncio.wait_for(stopping, 30)
    record = await JobRecord.get(id=job_id)
    assert (record.status, record.attempts, runs) == (jobs.DONE, 1, [job_id])


async def test_a_worker_stopped_while_relaying_hands_the_job_over_first(deps, settings) -> None:
    """A stop that comes while the relay has claimed a row (queued) but not yet handed it to
    the queue lets it finish: the job runs at once, not after the stale sweep. Seen in the
    staging fleet's rolling restart as a job queued for minutes. (On the embedded default a
    starting worker relays every unfinished row again, so only PostgreSQL + Redis would
    show the loss.)"""
    claimed, release = asyncio.Event(), asyncio.Event()
    ran: list[int] = []

    async def note(_deps: Any, job_id: int, _args: dict[str, Any]) -> None:
        ran.append(job_id)

    task = jobs.Task("test.handover", "测试", note)
    queue = queue_name()
    slow = JobRunner(deps, [task], redis_url=settings.redis_url, queue_name=queue, timing=ASLEEP)
    enqueue = slow._enqueue

    async def slowly(*args: Any) -> None:
        claimed.set()  # the row is claimed (queued) by now
        await release.wait()
        await enqueue(*args)

    slow._enqueue = slowly  # type: ignore[method-assign]
    job_id = await jobs.defer(task.name, {}, brand_id=None, now=datetime.now(UTC))
    await slow.start()
    await asyncio.wait_for(claimed.wait(), 30)
    stopping = asyncio.create_task(slow.stop())
    await asyncio.sleep(0.2)  # room for a stop that would cancel the relay to do so
    release.set()
    await asyncio.wait_for(stopping, 30)
    # Handed over before the stop ended (its own worker may even have run it): another
    # worker, whose relay and stale sweep both sleep, finds it in the queue if it is left.
    other = JobRunner(deps, [task], redis_url=settings.redis_url, queue_name=queue, timing=ASLEEP)
    await other.start()
    try:
        await until(lambda: _done(job_id), seconds=30)
    finally:
        await other.stop()
    assert ran == [job_id]
