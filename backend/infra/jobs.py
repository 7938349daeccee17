"""Durable jobs on saq (Redis), made safe between commit and enqueue by an outbox.

A change that needs something done later (a WeChat message, a refund) calls `defer` inside
its own transaction: that writes one row in `jobs`, so the job commits or rolls back with
the change, on SQLite as on PostgreSQL. Workers relay committed rows to saq, which spreads
them over the workers, retries failures with exponential backoff, sweeps the jobs of a
worker that died (its job runs again once its timeout passes) and schedules periodic jobs
once across all workers (a cron job's key is unique in the queue). The row keeps each job's
attempts and last error: staff list the failed ones and run them again.

Handlers must be idempotent: a job may run again after a crash that came after its effect.
This module knows no domain: tasks and periodic jobs are registered by the composition root
(backend/worker.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

from saq import CronJob, Status, Worker
from saq.queue.redis import RedisQueue
from saq.types import TimersDict
from saq.utils import cancel_tasks
from tortoise.expressions import F, Q

from backend.config import EMBEDDED_REDIS_URL
from backend.infra import metrics, sql
from backend.infra.logging import get_logger
from backend.infra.models import JobRecord
from backend.infra.redis import create_redis

log = get_logger("jobs")

PENDING = "pending"  # committed, not yet handed to the queue
QUEUED = "queued"
RUNNING = "running"
RETRYING = "retrying"  # failed, another attempt is scheduled
FAILED = "failed"  # out of attempts (or failed for good): waits for a person
DONE = "done"
UNFINISHED = (QUEUED, RUNNING, RETRYING)
STAFF_VISIBLE = (FAILED, RETRYING)

TASK = "task"  # a job's kind: deferred by a change
# A periodic job's failing run: its work spans every brand (expiry, reconciliation, ...), so
# its row has no brand and every brand's admins see it, with a generic error and no data of
# any brand. It is not retried by hand: the next period runs it again, and a run that
# succeeds marks it done.
PERIODIC = "periodic"
PERIODIC_CONTEXT = "全平台定时任务，下个周期自动重新执行"
CONTEXT_LENGTH = 120
SAQ_JOB_TASK = "process"  # what saq names the tasks that take and run jobs
RUN_FUNCTION = "run_job"  # the one saq function: it looks the job's row up and runs its task
ERROR_LENGTH = 500


class JobFailure(Exception):
    """A failure a handler explains: its message (Chinese, no codes) is what staff read.
    Retried with backoff until the attempts run out."""


class PermanentFailure(JobFailure):
    """A failure no retry will mend: the job fails at once."""


# What staff read for a failure nobody explained (a bug): its details go to the log.
INTERNAL_ERROR = "处理时出现内部错误，详情见服务日志"
INTERRUPTED = "多次执行超时或处理进程中断"
DONE_KEPT = timedelta(days=7)  # done rows are kept this long, then purged
RELAY_STOP_SECONDS = 10.0  # how long a stopping worker waits for its relay's round to end


Handler = Callable[[Any, int, dict[str, Any]], Awaitable[object]]


@dataclass(frozen=True)
class Task:
    """A kind of job. `handler(deps, job_id, args)`; `attempts` in all, the n-th retry up to
    `retry_delay * 2**(n-1)` seconds after the failure (at most `max_delay`), at random below
    that (saq's full jitter, so that retries after an outage do not all land at once)."""

    name: str
    title: str  # what staff read in the console
    handler: Handler
    attempts: int = 8
    retry_delay: float = 5.0
    max_delay: float = 600.0
    timeout: float = 60.0  # a run longer than this is taken for dead and run again


@dataclass(frozen=True)
class Periodic:
    """A job run every `seconds` by exactly one worker of all (saq's cron, unique key)."""

    name: str
    title: str
    seconds: int
    run: Callable[[Any], Awaitable[object]]
    timeout: float = 300.0


@dataclass(frozen=True)
class Timing:
    """How often a worker looks around; tests make it quick."""

    # Committed rows are handed to the queue at once when their commit wakes the relay
    # (`wake`), and within this when a wake-up is lost (the outbox's poll: the safety net).
    relay_seconds: float = 0.5
    wake: bool = True
    stale_seconds: float = 120.0  # an unfinished row whose queue entry is gone is relayed again
    sweep_seconds: int = 30  # dead workers' jobs are looked for this often
    schedule_seconds: int = 1


async def defer(
    task: str, args: dict[str, Any], *, brand_id: int | None, now: datetime, context: str = ""
) -> int:
    """Ask for `task` to run with `args` (plain JSON) once the caller's transaction commits;
    nothing runs if it rolls back. The job's id. `brand_id`: whose admins see it if it fails
    (every task's work is one brand's); `context`: what it is about, as they read it
    ("投诉 #12"). Its commit wakes the workers' relays, so the job starts right after it
    rather than at the relay's next poll."""
    # The ORM joins the caller's transaction (a context variable), as sql.* does.
    record = await JobRecord.create(
        task=task,
        args=args,
        brand_id=brand_id,
        context=context[:CONTEXT_LENGTH],
        status=PENDING,
        created_at=now,
        updated_at=now,
    )
    await sql.after_commit(WAKEUPS.wake)
    return int(record.id)


WAKE_CHANNEL = "b2bc:jobs:wake"


class Wakeups:
    """How a commit that deferred jobs wakes the relays: those of this process at once (an
    event each: the embedded default, whose in-process Redis has no blocking reads), and
    those of other processes through a Redis publish (production's `b2bc worker`s). Best
    effort: a lost wake-up leaves the job to the relay's next poll."""

    def __init__(self) -> None:
        self.local: set[asyncio.Event] = set()
        self.redis: Any = None  # where this process publishes; None: only local relays

    def publish_through(self, redis: Any) -> None:
        """Wake the relays of other processes through `redis` (an API process's client)."""
        self.redis = redis

    async def wake(self) -> None:
        for event in tuple(self.local):
            event.set()
        if self.redis is None:
            return
        try:
            await self.redis.publish(WAKE_CHANNEL, "1")
        except Exception:
            log.warning("jobs' wake-up not published; the relay's poll finds them", exc_info=True)


WAKEUPS = Wakeups()


def cron_for(seconds: int) -> str:
    """A six-field cron line (seconds last, as croniter reads it) for "every `seconds`"."""
    if seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % 60 == 0 and 3600 % seconds == 0:
        return f"*/{seconds // 60} * * * * 0"
    if seconds % 3600 == 0 and 86400 % seconds == 0:
        return f"0 */{seconds // 3600} * * * 0"
    raise ValueError(f"every {seconds} s does not divide a minute, an hour or a day")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _key(row_id: int, generation: int) -> str:
    return f"{row_id}.{generation}"


class _InProcessQueue(RedisQueue):
    """saq on the embedded default's fakeredis, which answers no INFO and whose BLMOVE does
    not block: poll instead of waiting on the list, woken early by our own enqueue (the only
    one in the process but saq's retries, which the poll finds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived = asyncio.Event()

    async def version(self) -> tuple[int, ...]:
        return (7, 2, 0)

    async def dequeue(
        self,
        timeout: float = 0.0,  # noqa: ASYNC109 - saq's own signature
        poll_interval: float = 0.0,
    ) -> Any:
        deadline = asyncio.get_running_loop().time() + (timeout or 1.0)
        while True:
            self.arrived.clear()  # before looking: an enqueue from here on wakes the wait
            job = await super().dequeue(0)
            if job is not None or asyncio.get_running_loop().time() >= deadline:
                return job
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.05)


class _Worker(Worker):
    """saq's worker, minus its SIGINT/SIGTERM handlers: they replaced the server's own, so
    that in the embedded process a SIGTERM stopped the worker and left the server running.
    The process that runs us owns its signals and stops us (JobRunner.stop)."""

    SIGNALS: list[signal.Signals] = []  # noqa: RUF012 - saq declares it so

    async def stop(self) -> None:
        """Let the jobs under way finish (saq's shutdown grace period), then cancel what is
        left (saq retries it). saq's own stop waits on all its tasks alike, and its upkeep
        loops sleep up to a sweep period between rounds: waited on, they would use up the
        grace period and the jobs would be cancelled anyway. They hold no job: they go first."""
        self.event.set()  # no job is taken from now on
        upkeep = [task for task in self.tasks if task.get_name() != SAQ_JOB_TASK]
        self.tasks.difference_update(upkeep)
        await cancel_tasks(upkeep)
        await super().stop()

    def busy(self) -> int:
        """Jobs running in this worker now."""
        return len(self.job_task_contexts)


def create_queue(redis_url: str, name: str) -> RedisQueue:
    # saq reads bytes: its own client, without the decoding ours has.
    redis = create_redis(redis_url, decode_responses=False, name="jobs")
    kind = _InProcessQueue if redis_url == EMBEDDED_REDIS_URL else RedisQueue
    return kind(redis, name=name)


@dataclass
class JobRunner:
    """One worker: saq's worker running our tasks and periodic jobs, and the relay that
    hands committed rows to the queue. Any number may run at once, in any processes."""

    deps: Any
    tasks: Sequence[Task]
    periodic: Sequence[Periodic] = ()
    redis_url: str = EMBEDDED_REDIS_URL
    queue_name: str = "b2bc"
    concurrency: int = 10
    timing: Timing = field(default_factory=Timing)
    # On stop, jobs under way have this long to finish; what is still running then is
    # cancelled and runs again (saq's retry), as after a crash.
    graceful_seconds: float = 20.0

    def __post_init__(self) -> None:
        self._tasks = {task.name: task for task in self.tasks}
        self.queue = create_queue(self.redis_url, self.queue_name)
        self._worker = _Worker(
            self.queue,
            functions=[(RUN_FUNCTION, self._run_from_queue)],
            cron_jobs=[self._cron(p) for p in self.periodic],
            concurrency=self.concurrency,
            timers=TimersDict(
                schedule=self.timing.schedule_seconds,
                sweep=self.timing.sweep_seconds,
                abort=1,
                worker_info=10,
            ),
            dequeue_timeout=1.0,
            shutdown_grace_period_s=math.ceil(self.graceful_seconds),
        )
        self._background: list[asyncio.Task[Any]] = []
        self._woken = asyncio.Event()
        self._stopping = asyncio.Event()

    # ---- running ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start working in this event loop (returns at once)."""
        if self.redis_url == EMBEDDED_REDIS_URL:
            # The in-process queue died with the last process: what was handed to it is not
            # there any more, and goes again now.
            await self._recover(stale_after=0.0)
        self._background = [
            asyncio.create_task(self._worker.start(), name="saq-worker"),
            asyncio.create_task(self._relay_loop(), name="jobs-relay"),
        ]
        if self.timing.wake:
            WAKEUPS.local.add(self._woken)
            if self.redis_url != EMBEDDED_REDIS_URL:
                self._background.append(
                    asyncio.create_task(self._listen_for_wakeups(), name="jobs-wakeups")
                )
        log.info(
            "job worker started",
            extra={
                "queue": self.queue_name,
                "tasks": sorted(self._tasks),
                "periodic": [p.name for p in self.periodic],
            },
        )

    async def stop(self) -> None:
        """Stop taking jobs and let those under way finish (`graceful_seconds` at most)."""
        # The relay ends after the round under way. Cancelled in it, between claiming a row
        # (queued) and handing it to the queue, it would leave the row queued with nothing
        # in the queue until the stale sweep relays it again, minutes later.
        self._stopping.set()
        self._woken.set()
        relay = [task for task in self._background if task.get_name() == "jobs-relay"]
        if relay:
            await asyncio.wait(relay, timeout=RELAY_STOP_SECONDS)
        await cancel_tasks(relay)  # nothing more is handed to the queue from here
        log.info(
            "job worker stopping",
            extra={"queue": self.queue_name, "running": self._worker.busy()},
        )
        WAKEUPS.local.discard(self._woken)
        await self._worker.stop()
        await cancel_tasks(self._background)
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.queue.disconnect()
        log.info("job worker stopped", extra={"queue": self.queue_name})

    def _cron(self, periodic: Periodic) -> CronJob:
        async def run(ctx: dict[str, Any]) -> None:
            started = perf_counter()
            try:
                await periodic.run(self.deps)
            except Exception:
                metrics.job_ran(periodic.name, metrics.JOB_FAILED, started)
                log.exception("periodic job failed", extra={"periodic": periodic.name})
                await _record_periodic(periodic.name, failed=True)
            else:
                metrics.job_ran(periodic.name, metrics.JOB_DONE, started)
                await _record_periodic(periodic.name, failed=False)

        # saq names (and keys, unique across workers) a cron job by its function's qualname.
        run.__qualname__ = run.__name__ = f"periodic.{periodic.name}"
        return CronJob(
            run, cron=cron_for(periodic.seconds), unique=True, timeout=int(periodic.timeout)
        )

    async def _relay_loop(self) -> None:
        loop = asyncio.get_running_loop()
        recovered_at = loop.time()
        while not self._stopping.is_set():
            # Cleared before relaying: a commit during the relay wakes the next round.
            self._woken.clear()
            try:
                await self.relay()
                if loop.time() - recovered_at >= self.timing.stale_seconds / 2:
                    recovered_at = loop.time()
                    await self._recover(stale_after=self.timing.stale_seconds)
            except Exception:
                log.exception("relaying jobs failed; will try again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self.timing.relay_seconds)

    async def _listen_for_wakeups(self) -> None:
        """Commits in other processes (Wakeups.wake) wake this relay."""
        redis = create_redis(self.redis_url)
        try:
            while True:
                try:
                    async with redis.pubsub() as pubsub:
                        await pubsub.subscribe(WAKE_CHANNEL)
                        async for message in pubsub.listen():
                            if message["type"] == "message":
                                self._woken.set()
                except Exception:
                    # Meanwhile the relay polls; listen again once Redis answers.
                    log.warning("jobs' wake-ups not heard; listening again", exc_info=True)
                    await asyncio.sleep(self.timing.relay_seconds)
        finally:
            await redis.aclose()

    async def relay(self) -> int:
        """Hand committed rows to the queue; how many. Each row is claimed by a guarded update
        first, so two workers relaying at once hand it over once."""
        handed = 0
        for row in await sql.fetch(
            "SELECT id, task, generation FROM jobs WHERE status = $1 ORDER BY id LIMIT 100",
            PENDING,
        ):
            task = self._tasks.get(row["task"])
            if task is None:
                continue  # a task this worker does not know (an older release): leave it
            claimed = await sql.execute(
                "UPDATE jobs SET status = $1, updated_at = $2"
                " WHERE id = $3 AND status = $4 AND generation = $5",
                QUEUED,
                _utcnow(),
                row["id"],
                PENDING,
                row["generation"],
            )
            if claimed:
                await self._enqueue(task, int(row["id"]), int(row["generation"]))
                handed += 1
        return handed

    async def _enqueue(self, task: Task, row_id: int, generation: int) -> None:
        await self.queue.enqueue(
            RUN_FUNCTION,
            key=_key(row_id, generation),
            job_id=row_id,
            retries=task.attempts,
            retry_delay=task.retry_delay,
            retry_backoff=task.max_delay,
            timeout=int(task.timeout),
            ttl=3600,
        )
        if isinstance(self.queue, _InProcessQueue):
            self.queue.arrived.set()

    async def _recover(self, *, stale_after: float) -> int:
        """Rows the queue lost (a relay that died between claim and enqueue, or the embedded
        default's in-process queue gone with its process) go back to pending."""
        before = _utcnow() - timedelta(seconds=stale_after)
        rows = await JobRecord.filter(status__in=UNFINISHED, updated_at__lte=before).values_list(
            "id", "generation"
        )
        recovered = 0
        for row_id, generation in rows:
            unfinished = JobRecord.filter(id=row_id, generation=generation, status__in=UNFINISHED)
            queued = await self.queue.job(_key(row_id, generation))
            if queued is None:
                recovered += await unfinished.update(
                    status=PENDING, generation=generation + 1, updated_at=_utcnow()
                )
            elif queued.status in (Status.ABORTED, Status.FAILED):
                # Out of attempts by dying (the sweep found it past its timeout each time):
                # it waits for a person rather than killing workers again.
                await unfinished.update(status=FAILED, last_error=INTERRUPTED, updated_at=_utcnow())
            # Otherwise saq still has it: its retry or sweep will run it.
        if recovered:
            log.warning("jobs lost by the queue relayed again", extra={"count": recovered})
        return recovered

    async def _run_from_queue(self, ctx: dict[str, Any], *, job_id: int) -> None:
        saq_job = ctx["job"]
        await run_job(self.deps, self._tasks, job_id, last_attempt=not saq_job.retryable)


async def _record_periodic(name: str, *, failed: bool) -> None:
    """A periodic run's outcome, for staff: a failure is one row per periodic job (its failed
    runs counted as attempts) until a run succeeds and marks it done."""
    now = _utcnow()
    failing = JobRecord.filter(kind=PERIODIC, task=name, status=FAILED)
    if not failed:
        await failing.update(status=DONE, updated_at=now)
        return
    # Its error text is generic: what failed may be any brand's; the log has the details.
    if not await failing.update(attempts=F("attempts") + 1, updated_at=now):
        await JobRecord.create(
            task=name,
            args={},
            brand_id=None,
            kind=PERIODIC,
            context=PERIODIC_CONTEXT,
            status=FAILED,
            attempts=1,
            last_error=INTERNAL_ERROR,
            created_at=now,
            updated_at=now,
        )


async def run_job(deps: Any, tasks: dict[str, Task], job_id: int, *, last_attempt: bool) -> bool:
    """Run one job's task and record how it went; whether it succeeded. A failure is raised
    again for the queue to retry, unless this was the last attempt or it failed for good."""
    record = await JobRecord.get_or_none(id=job_id)
    if record is None or record.status in (DONE, FAILED):
        return record is not None and record.status == DONE  # a stale queue entry
    task = tasks[record.task]
    await JobRecord.filter(id=job_id).update(
        status=RUNNING, attempts=record.attempts + 1, updated_at=_utcnow()
    )
    started = perf_counter()
    try:
        await task.handler(deps, job_id, dict(record.args))
    except Exception as exc:
        final = last_attempt or isinstance(exc, PermanentFailure)
        metrics.job_ran(task.name, metrics.JOB_FAILED if final else metrics.JOB_RETRY, started)
        explained = isinstance(exc, JobFailure) and str(exc)
        error = (str(exc) if explained else INTERNAL_ERROR)[:ERROR_LENGTH]
        await JobRecord.filter(id=job_id).update(
            status=FAILED if final else RETRYING, last_error=error, updated_at=_utcnow()
        )
        log.warning(
            "job failed",
            exc_info=not explained,
            extra={"job": job_id, "task": record.task, "final": final, "error": error},
        )
        if final:
            return False
        raise
    metrics.job_ran(task.name, metrics.JOB_DONE, started)
    await JobRecord.filter(id=job_id).update(status=DONE, last_error=None, updated_at=_utcnow())
    return True


async def run_pending(deps: Any, tasks: Sequence[Task]) -> int:
    """Run every pending job here and now, one attempt each, through the path the workers
    take (tests and `bench/` use it in place of a worker); how many ran."""
    by_name = {task.name: task for task in tasks}
    ran = 0
    for record in await JobRecord.filter(status=PENDING).order_by("id").only("id"):
        with contextlib.suppress(Exception):
            await run_job(deps, by_name, record.id, last_attempt=False)
        ran += 1
    return ran


async def purge_done(deps: Any) -> int:
    """Delete jobs done more than a week ago (a periodic job); how many."""
    return await JobRecord.filter(status=DONE, updated_at__lt=_utcnow() - DONE_KEPT).delete()


# ---- what staff see -----------------------------------------------------------------------


def _seen_by(brand_id: int) -> Any:
    """The brand's jobs and the periodic ones (every brand's, with nothing of any brand)."""
    return JobRecord.filter(Q(brand_id=brand_id, kind=TASK) | Q(kind=PERIODIC))


async def listed(
    brand_id: int, statuses: Sequence[str], *, before: int | None, limit: int
) -> list[JobRecord]:
    """What a brand's staff see in `statuses`, newest first (keyset `before`)."""
    rows = _seen_by(brand_id).filter(status__in=list(statuses))
    if before is not None:
        rows = rows.filter(id__lt=before)
    return await rows.order_by("-id").limit(limit)


async def retry(brand_id: int, job_id: int) -> tuple[JobRecord | None, bool]:
    """Run a failed job again, from its first attempt: the job as the brand sees it (None if
    it sees no such job) and whether it was failed and now goes again (a periodic one never:
    its next period runs it). A new generation gives the queue a new key for it."""
    record = await _seen_by(brand_id).get_or_none(id=job_id)
    if record is None or record.kind != TASK:
        return record, False
    retried = await JobRecord.filter(id=job_id, status=FAILED).update(
        status=PENDING, attempts=0, generation=record.generation + 1, updated_at=_utcnow()
    )
    await record.refresh_from_db()
    return record, bool(retried)
