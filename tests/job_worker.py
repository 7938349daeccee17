"""A job worker in its own process, for tests/test_jobs.py to kill with SIGKILL.

Its one task records its effect idempotently (a row per job, written once), then, on its
first attempt only, lingers as a slow job would: the test kills the worker there, after the
effect, before the job is done (a job whose args say {"linger": false} does not linger).
Usage: python -m tests.job_worker DATABASE_URL REDIS_URL QUEUE [RELAY_SECONDS]
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from typing import Any

from backend.infra import db, sql
from backend.infra.jobs import JobRunner, Task, Timing
from backend.infra.models import JobRecord

EFFECT_TASK = "test.effect"
# Quick to notice a dead worker: its job's timeout, then the sweep that looks for it.
TIMING = Timing(relay_seconds=0.1, stale_seconds=1.0, sweep_seconds=1)


async def apply_effect(deps: Any, job_id: int, args: dict[str, Any]) -> None:
    await sql.execute(
        "INSERT INTO job_effects (job_id, note) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        job_id,
        args["note"],
    )
    record = await JobRecord.get(id=job_id)
    if record.attempts == 1 and args.get("linger", True):
        print("lingering", flush=True)
        await asyncio.sleep(60)


TASK = Task(EFFECT_TASK, "测试任务", apply_effect, attempts=3, retry_delay=0.1, timeout=2.0)


async def main(database_url: str, redis_url: str, queue: str, relay_seconds: str = "") -> None:
    await db.init_db(database_url)
    timing = TIMING
    if relay_seconds:  # a relay that polls this seldom runs only what a commit wakes it for
        timing = dataclasses.replace(TIMING, relay_seconds=float(relay_seconds))
    runner = JobRunner(None, [TASK], redis_url=redis_url, queue_name=queue, timing=timing)
    await runner.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
