"""The job worker's composition root: which tasks and periodic jobs exist, and what runs them.

Registered here, by name, and nowhere else: no domain module registers itself when imported.
Each periodic job runs once per period across all workers (backend/infra/jobs.py); the API
processes run none.
"""

from __future__ import annotations

from typing import Any

from backend.analytics import behaviour as analytics_behaviour
from backend.analytics import event_days as analytics_event_days
from backend.analytics import reorders as analytics_reorders
from backend.analytics import rollups as analytics_rollups
from backend.analytics import stores as analytics_stores
from backend.codes import generate as codes_generate
from backend.complaints import service as complaints_service
from backend.config import Settings
from backend.coupons import service as coupons_service
from backend.display import reminders as display_reminders
from backend.display import submissions as display_submissions
from backend.infra.jobs import JobRunner, Periodic, Task, Timing, purge_done
from backend.livestream import service as livestream_service
from backend.notifications import service as notifications_service
from backend.payments import service as payments_service

TASKS: tuple[Task, ...] = (
    Task(
        notifications_service.SUBSCRIBE_TASK,
        "微信订阅消息",
        notifications_service.send_subscribe_job,
        # WeChat down for about an hour (on average: the delays are jittered) before a job
        # fails for staff to see; retries at most 10 minutes apart.
        attempts=20,
        retry_delay=5.0,
        max_delay=600.0,
        timeout=30.0,
    ),
    # A batch's codes, a chunk per transaction: a retry goes on from the last chunk written.
    Task(
        codes_generate.GENERATE_TASK,
        "生成一物一码",
        codes_generate.generate_job,
        attempts=5,
        retry_delay=5.0,
        max_delay=120.0,
        timeout=900.0,  # 2,000,000 codes, on a slow disk
    ),
)

# Every how many seconds each runs: a divisor of a minute, an hour or a day (cron).
PERIODIC: tuple[Periodic, ...] = (
    Periodic("orders.expire", "过期未付款订单", 30, payments_service.expire_unpaid_orders),
    # Lost payment notifications, money that arrived on a cancelled order, refunds under way.
    Periodic("payments.reconcile", "微信支付对账", 60, payments_service.reconcile),
    # Monthly batches: within minutes of their day starting.
    Periodic("coupons.issue", "优惠券按月发放", 300, coupons_service.issue_due_job),
    Periodic("complaints.escalate", "投诉超时升级", 60, complaints_service.escalate_job),
    # Photos uploaded for a complaint never filed.
    Periodic(
        "complaints.purge_photos", "清理未用的投诉照片", 3600, complaints_service.purge_photos_job
    ),
    # Photos taken for a display check never submitted.
    Periodic(
        "display.purge_photos", "清理未用的陈列照片", 3600, display_submissions.purge_photos_job
    ),
    # Red-packet rains whose realtime timer died with its process.
    Periodic("live.end_rains", "结束到时的红包雨", 5, livestream_service.end_due_rains_job),
    # Stores reminded of sessions starting within 15 minutes.
    Periodic("live.remind", "直播开播提醒", 60, livestream_service.remind_job),
    # Stores reminded of display checks closing within 24 hours; finished signings ended.
    Periodic("display.remind", "陈列检查提醒", 900, display_reminders.remind_job),
    Periodic("jobs.purge", "清理已完成的任务记录", 3600, purge_done),
    # The sales rollups, from the orders changed since the last run.
    Periodic("analytics.refresh", "更新销售分析数据", 60, analytics_rollups.refresh),
    # The figures by store tag, for the stores whose tags changed: once a minute at most.
    Periodic("analytics.tag_sets", "按门店标签更新销售分析", 60, analytics_rollups.refresh_tags),
    # Stores due to reorder: daily at 08:00 in China (00:00 UTC), when owners read messages.
    Periodic("analytics.reorders", "补货提醒", 86400, analytics_reorders.reorders_job),
    # The behaviour reports' day sums, from the days that received events since the last run.
    Periodic("analytics.event_days", "更新用户行为分析数据", 60, analytics_event_days.refresh),
    # The behaviour events' monthly partitions, made before the first event of a month.
    Periodic(
        "analytics.partitions", "行为事件分区", 3600, analytics_behaviour.ensure_partitions_job
    ),
    # Stores' RFM tiers, written as tags that promotions and coupons target.
    Periodic("analytics.rfm", "门店 RFM 分层", 86400, analytics_stores.rfm_job),
)

# What staff read for each job in the console (routes look titles up here).
TITLES = {task.name: task.title for task in TASKS} | {p.name: p.title for p in PERIODIC}


def build_runner(
    deps: Any, settings: Settings, *, timing: Timing | None = None, queue_name: str = "b2bc"
) -> JobRunner:
    return JobRunner(
        deps,
        TASKS,
        PERIODIC,
        redis_url=settings.redis_url,
        queue_name=queue_name,
        timing=timing or Timing(),
        graceful_seconds=settings.graceful_timeout,
    )
