"""What a display program promises: the cost and wording of its rewards (pure, no IO).

H1 of issue 19 adds here the checks of a program's payload, its schedule and the terms
snapshot a signing keeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.kernel.money import yuan

POINTS, CASH, VOUCHER = "points", "cash", "voucher"


def reward_cost_fen(spec: dict[str, Any] | None) -> int:
    """What paying `spec` once takes from the program's budget: cash at its amount, points
    at one fen each, vouchers at their stated value each."""
    if not spec:
        return 0
    if spec["kind"] == VOUCHER:
        return int(spec["amount"]) * int(spec["value_fen"])
    return int(spec["amount"])


def reward_text(spec: dict[str, Any] | None) -> str:
    """The reward as a store owner reads it: 积分 200, 现金 ¥5.00, 兑换券 2 张（价值 ¥60.00）."""
    if not spec:
        return ""
    amount = int(spec["amount"])
    if spec["kind"] == POINTS:
        return f"积分 {amount}"
    if spec["kind"] == CASH:
        return f"现金 ¥{yuan(amount)}"
    return f"兑换券 {amount} 张（价值 ¥{yuan(reward_cost_fen(spec))}）"


# ---- the payload's limits --------------------------------------------------------------------

MAX_BUDGET_FEN = 100_000_000_000
MAX_STORES = 1_000_000
MAX_CHECKS = 52
MAX_INTERVAL_DAYS = 90
MAX_PHOTOS = 9
MIN_DISTANCE_M, MAX_DISTANCE_M = 50, 5000
MAX_SAMPLE_PHOTOS = 6
MAX_SKUS = 50
# Per reward kind: the field that bounds `amount`, its bounds, and how it is named on screen.
AMOUNT_LIMITS = {
    POINTS: (1, 10_000_000, "积分"),
    CASH: (1, 100_000_000, "现金金额（分）"),
    VOUCHER: (1, 10, "兑换券张数"),
}
MAX_VOUCHER_VALUE_FEN = 10_000_000
REWARD_FIELDS = ("check_reward", "completion_reward")
# What may still change once a store has signed: what the store signed does not move.
LIMITED_FIELDS = frozenset({"budget_fen", "max_stores", "signup_until"})
SCHEDULE_FIELDS = ("first_check_at", "check_count", "check_interval_days", "check_window_days")


def problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def reward_problems(field: str, spec: dict[str, Any] | None) -> list[dict[str, str]]:
    """What is wrong with one reward spec, per its kind (the types are already checked)."""
    if spec is None:
        return []
    kind = spec["kind"]
    low, high, label = AMOUNT_LIMITS[kind]
    found = []
    if not low <= spec["amount"] <= high:
        found.append(problem(f"{field}.amount", f"{label}须在 {low} 至 {high} 之间"))
    if kind == VOUCHER:
        if spec.get("template_id") is None:
            found.append(problem(f"{field}.template_id", "兑换券奖励须选择一张兑换券"))
        if not 1 <= spec.get("value_fen", 0) <= MAX_VOUCHER_VALUE_FEN:
            found.append(
                problem(
                    f"{field}.value_fen",
                    f"每张兑换券的价值须在 ¥0.01 至 ¥{yuan(MAX_VOUCHER_VALUE_FEN)} 之间",
                )
            )
    else:
        if spec.get("template_id") is not None:
            found.append(problem(f"{field}.template_id", "只有兑换券奖励需要选择券"))
        if spec.get("value_fen"):
            found.append(problem(f"{field}.value_fen", "只有兑换券奖励需要设置每张价值"))
    return found


def program_problems(fields: dict[str, Any]) -> list[dict[str, str]]:
    """What makes a whole program (the types and single-field bounds already checked)
    contradictory, each naming its field, in Chinese: the windows' order, a check window
    longer than the interval, no reward at all, a reward's bounds."""
    found = []
    if fields["signup_until"] <= fields["signup_from"]:
        found.append(problem("signup_until", "报名截止时间须晚于报名开始时间"))
    if fields["first_check_at"] < fields["signup_from"]:
        found.append(problem("first_check_at", "第一次检查不能早于报名开始时间"))
    first_close = fields["first_check_at"] + timedelta(days=fields["check_window_days"])
    if fields["signup_until"] > first_close:
        # A store that signed later could never pass every check: no completion reward.
        found.append(
            problem(
                "signup_until",
                "报名截止时间不能晚于第一次检查的拍照截止时间，否则之后签约的门店赶不上第一次检查",
            )
        )
    if fields["check_window_days"] > fields["check_interval_days"]:
        found.append(problem("check_window_days", "每次检查的拍照天数不能超过两次检查的间隔天数"))
    if fields["check_reward"] is None and fields["completion_reward"] is None:
        found.append(
            problem("check_reward", "请至少设置一种奖励：每次检查通过的奖励或完成活动的奖励")
        )
    for field in REWARD_FIELDS:
        found.extend(reward_problems(field, fields[field]))
    return found


# ---- the schedule ------------------------------------------------------------------------------


def schedule(
    first_check_at: datetime, count: int, interval_days: int, window_days: int
) -> list[tuple[int, datetime, datetime]]:
    """The checks (seq, opens_at, closes_at): the first opens at first_check_at, one every
    interval_days, each open for window_days."""
    return [
        (
            seq,
            first_check_at + timedelta(days=(seq - 1) * interval_days),
            first_check_at + timedelta(days=(seq - 1) * interval_days + window_days),
        )
        for seq in range(1, count + 1)
    ]


def program_schedule(fields: dict[str, Any]) -> list[tuple[int, datetime, datetime]]:
    return schedule(*(fields[key] for key in SCHEDULE_FIELDS))


def phase(
    status: str,
    signup_from: datetime,
    signup_until: datetime,
    last_check_closes_at: datetime,
    now: datetime,
) -> str:
    """draft, upcoming, signing, running, finished or ended, as screens name a program."""
    if status != "published":
        return status
    if now < signup_from:
        return "upcoming"
    if now < signup_until:
        return "signing"
    if now < last_check_closes_at:
        return "running"
    return "finished"


def reward_out(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """A reward spec as answered: with what paying it once costs and its wording."""
    if spec is None:
        return None
    return {**spec, "cost_fen": reward_cost_fen(spec), "text": reward_text(spec)}


def terms_snapshot(
    fields: dict[str, Any],
    *,
    skus: list[dict[str, Any]],
    checks: list[tuple[int, datetime, datetime]],
    agreement_version: int,
) -> dict[str, Any]:
    """What a store signs and keeps (DisplaySigning.terms): the signed document shows it and
    rewards are paid from it, whatever the program's row says later."""
    return {
        "name": fields["name"],
        "standard": fields["standard"],
        "sample_photos": list(fields["sample_photos"]),
        "skus": skus,
        "photos_required": fields["photos_required"],
        "distance_limit_m": fields["distance_limit_m"],
        "checks": [
            {"seq": seq, "opens_at": opens.isoformat(), "closes_at": closes.isoformat()}
            for seq, opens, closes in checks
        ],
        "check_reward": reward_out(fields["check_reward"]),
        "completion_reward": reward_out(fields["completion_reward"]),
        "agreement_version": agreement_version,
    }
