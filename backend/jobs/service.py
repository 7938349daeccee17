"""What staff see of the durable jobs: their brand's failed (and retrying) ones, with the
last error and what each is about, and a way to run a failed one again. Brand admins only:
a job may carry any store's data (a message's text), and running one again acts for the
whole brand. A periodic job's failing run (work across every brand) is shown to every
brand's admins with a generic error and nothing of any brand, and is not retried by hand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.identity.access import Principal
from backend.infra import jobs
from backend.infra.models import JobRecord
from backend.kernel.errors import Conflict, NotFound

STATUS_NAMES = {jobs.FAILED: "已失败", jobs.RETRYING: "重试中", jobs.PENDING: "等待执行"}


class JobNotFound(NotFound):
    code = "job.not_found"
    message = "找不到该任务"


class JobNotFailed(Conflict):
    code = "job.not_failed"
    message = "该任务没有失败，无需重试"


class JobRunsByItself(Conflict):
    code = "job.periodic"
    message = "定时任务会在下个周期自动重新执行，无需手动重试"


def job_view(record: JobRecord, titles: Mapping[str, str]) -> dict[str, Any]:
    periodic = record.kind == jobs.PERIODIC
    return {
        "id": record.id,
        "title": titles.get(record.task, "后台任务"),
        "context": record.context,
        # A periodic job's run spans every brand: its next period runs it, not a person.
        "periodic": periodic,
        "retryable": record.status == jobs.FAILED and not periodic,
        "status": record.status,
        "status_name": STATUS_NAMES.get(record.status, "处理中"),
        "attempts": record.attempts,
        "last_error": record.last_error or "",
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


async def listed(
    principal: Principal,
    titles: Mapping[str, str],
    *,
    statuses: tuple[str, ...],
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    assert principal.brand_id is not None  # brand admins only (routes)
    records = await jobs.listed(principal.brand_id, statuses, before=before, limit=limit)
    return [job_view(record, titles) for record in records]


async def retry(principal: Principal, titles: Mapping[str, str], job_id: int) -> dict[str, Any]:
    assert principal.brand_id is not None
    record, retried = await jobs.retry(principal.brand_id, job_id)
    if record is None:
        raise JobNotFound()
    if record.kind == jobs.PERIODIC:
        raise JobRunsByItself()
    if not retried:
        raise JobNotFailed()
    return job_view(record, titles)
