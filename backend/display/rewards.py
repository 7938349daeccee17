"""Paying a display program's rewards: once per signing and check, from the terms the store
signed, out of the program's budget and never past it, through the ledger (points, cash) or
as exchange vouchers in the store's wallet.

Everything here runs inside the transaction that made a submission passed (the automatic
verdict's or a reviewer's approval), so a reward commits with its cause or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError

from backend.coupons import service as coupons_service
from backend.display.models import (
    DisplayCheck,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
    RewardKind,
    SigningStatus,
    SubmissionStatus,
)
from backend.display.terms import reward_cost_fen
from backend.display.views import reward_view
from backend.infra import sql
from backend.ledger import service as ledger_service

COMPLETION_SEQ = 0  # a DisplayReward's check_seq for completing the whole program
LEDGER_KINDS = {
    RewardKind.POINTS: ledger_service.AccountKind.POINTS,
    RewardKind.CASH: ledger_service.AccountKind.CASH,
}
# What a voucher reward cannot be paid through: the template was ended, expired, deleted or
# sold out since the program was published. Like an exhausted budget, the check stays passed
# and nothing is taken (no budget, no coupon), so the brand can see why in the reasons.
VOUCHER_REFUSALS = (
    coupons_service.TemplateNotFound,
    coupons_service.TemplateEnded,
    coupons_service.OutOfStock,
)


@dataclass(frozen=True)
class Unpaid:
    """Why a reward that was due was not paid: a reason the submission then carries."""

    code: str
    message: str


BUDGET_EXHAUSTED = "budget_exhausted"
VOUCHER_UNAVAILABLE = "voucher_unavailable"
UNPAID_CODES = frozenset({BUDGET_EXHAUSTED, VOUCHER_UNAVAILABLE})
_UNPAID_MESSAGES = {
    (BUDGET_EXHAUSTED, False): "活动预算已用完，本次未发放奖励",
    (BUDGET_EXHAUSTED, True): "活动预算已用完，完成奖励未发放",
    (VOUCHER_UNAVAILABLE, False): "兑换券已发完或已停止发放，本次未发放奖励",
    (VOUCHER_UNAVAILABLE, True): "兑换券已发完或已停止发放，完成奖励未发放",
}


class _NotPaid(Exception):
    """Raised inside a reward's savepoint to roll back what it wrote."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def pay_for_check(deps: Any, submission_id: int, now: datetime) -> dict[str, Any] | None:
    """Pay what the check of a submission that has just become passed earns, and, when that
    was the store's last check to pass, the completion reward; mark the signing completed.

    Call it once, in the transaction that made the submission passed (it refuses to run
    outside one). The check's RewardView, or None when nothing was paid for the check: it
    has no check reward, it was passed and paid already (two approvals at once pay once),
    or the budget or the vouchers ran out (the submission then carries the reason)."""
    if not isinstance(connections.get(sql.CONNECTION), TransactionalDBClient):
        raise RuntimeError("pay_for_check must run inside the caller's transaction")
    submission = await DisplaySubmission.get(id=submission_id)
    if submission.status != SubmissionStatus.PASSED:
        raise RuntimeError(f"submission {submission_id} is {submission.status}, not passed")
    signing = await DisplaySigning.get(id=submission.signing_id)  # type: ignore[attr-defined]
    check = await DisplayCheck.get(id=submission.display_check_id)  # type: ignore[attr-defined]
    passed = await _count_passed(submission, check.id)
    if passed is None:
        return None  # this check had passed already: counted and paid then
    unpaid: list[Unpaid] = []
    paid = await _pay_one(signing, check.seq, signing.terms.get("check_reward"), submission, now)
    if isinstance(paid, Unpaid):
        unpaid.append(paid)
    if passed >= len(signing.terms["checks"]) and await _complete(signing.id):
        completed = await _pay_one(
            signing, COMPLETION_SEQ, signing.terms.get("completion_reward"), submission, now
        )
        if isinstance(completed, Unpaid):
            unpaid.append(completed)
    if unpaid:
        reasons = [
            *submission.reasons,
            *({"code": u.code, "message": u.message, "photo_id": None} for u in unpaid),
        ]
        await DisplaySubmission.filter(id=submission.id).update(reasons=reasons)
    return reward_view(paid) if isinstance(paid, DisplayReward) else None


async def _count_passed(submission: DisplaySubmission, check_id: int) -> int | None:
    """Count the check as passed on the signing; its passed checks now, or None when another
    submission had passed this check already. The increment takes the signing's row lock,
    so concurrent approvals of different checks of one store each see the other's count."""
    row = await sql.fetch_one(
        "UPDATE display_signings SET passed_checks = passed_checks + 1 WHERE id = $1"
        " AND NOT EXISTS (SELECT 1 FROM display_submissions WHERE signing_id = $1"
        " AND display_check_id = $2 AND status = $3 AND id <> $4) RETURNING passed_checks",
        submission.signing_id,  # type: ignore[attr-defined]
        check_id,
        SubmissionStatus.PASSED.value,
        submission.id,
    )
    return None if row is None else int(row["passed_checks"])


async def _complete(signing_id: int) -> bool:
    """Mark the signing completed, once: False when it was already. A signing the reminder
    job had ended while its last check waited for review completes too: every check passed."""
    marked = await sql.execute(
        "UPDATE display_signings SET status = $1 WHERE id = $2 AND status <> $1",
        SigningStatus.COMPLETED.value,
        signing_id,
    )
    return marked > 0


async def _pay_one(
    signing: DisplaySigning,
    check_seq: int,
    spec: dict[str, Any] | None,
    submission: DisplaySubmission,
    now: datetime,
) -> DisplayReward | Unpaid | None:
    """Pay `spec` (from the signed terms) for one check (or completion, seq 0): the reward,
    why it was not paid, or None when there is nothing to pay or it was paid already.

    Inside a savepoint, so a refusal after the first write (the budget or the voucher stock
    ran out) takes back the reward row and anything else written for it."""
    if not spec:
        return None
    cost = reward_cost_fen(spec)
    try:
        async with sql.atomic():
            reward = await DisplayReward.create(
                brand_id=signing.brand_id,  # type: ignore[attr-defined]
                program_id=signing.program_id,  # type: ignore[attr-defined]
                signing_id=signing.id,
                store_id=signing.store_id,  # type: ignore[attr-defined]
                check_seq=check_seq,
                submission_id=submission.id,
                kind=spec["kind"],
                amount=int(spec["amount"]),
                cost_fen=cost,
                coupon_ids=[],
                created_at=now,
            )
            await _take_budget(signing.program_id, cost)  # type: ignore[attr-defined]
            await _hand_over(signing, spec, reward, now)
    except IntegrityError:
        return None  # the unique (signing, check_seq): paid already
    except _NotPaid as refused:
        message = _UNPAID_MESSAGES[refused.code, check_seq == COMPLETION_SEQ]
        return Unpaid(refused.code, message)
    return reward


async def _take_budget(program_id: int, cost: int) -> None:
    """Take `cost` from the program's budget by a guarded update: never past budget_fen,
    however many checks are approved at once (they line up on the program's row)."""
    taken = await sql.execute(
        "UPDATE display_programs SET spent_fen = spent_fen + $1"
        " WHERE id = $2 AND spent_fen + $1 <= budget_fen",
        cost,
        program_id,
    )
    if not taken:
        raise _NotPaid(BUDGET_EXHAUSTED)


async def _hand_over(
    signing: DisplaySigning, spec: dict[str, Any], reward: DisplayReward, now: datetime
) -> None:
    """Points or cash as a ledger entry caused by the reward; vouchers into the wallet."""
    kind = RewardKind(spec["kind"])
    if kind != RewardKind.VOUCHER:
        await ledger_service.post(
            brand_id=signing.brand_id,  # type: ignore[attr-defined]
            store_id=signing.store_id,  # type: ignore[attr-defined]
            kind=LEDGER_KINDS[kind],
            amount=reward.amount,
            cause=ledger_service.EntryCause.DISPLAY_REWARD,
            cause_id=reward.id,
            order_id=ledger_service.NO_ORDER,
            now=now,
        )
        return
    try:
        reward.coupon_ids = await coupons_service.issue_for_display(
            int(spec["template_id"]),
            signing.store_id,  # type: ignore[attr-defined]
            brand_id=signing.brand_id,  # type: ignore[attr-defined]
            count=reward.amount,
            now=now,
        )
    except VOUCHER_REFUSALS as exc:
        raise _NotPaid(VOUCHER_UNAVAILABLE) from exc
    await reward.save(update_fields=["coupon_ids"])
