"""What a display program promises: the cost and wording of its rewards (pure, no IO).

H1 of issue 19 adds here the checks of a program's payload, its schedule and the terms
snapshot a signing keeps."""

from __future__ import annotations

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
