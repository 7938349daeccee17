"""A display program's figures (signed, due, submitted, passed, rejected, missed, cost; by
distributor, region and check) and its exports (signings, submissions, rewards).

The figures are a few aggregate statements whatever the program's size: the signings and
their reward cost grouped by distributor and region, and the latest attempt of every
signing × check grouped by distributor, region, check and status. Everything else follows in
Python from those small groups and the schedule: every signing of a program owes the same
checks (the schedule cannot change once a store signed), so what is due is a product.

Distributor staff see their own distributor only: every figure and every exported row is
limited to its signings. Names of distributors, regions and stores come from org's service.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from tortoise.queryset import QuerySet

from backend.display.models import (
    DisplayCheck,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
    ProgramStatus,
    RewardKind,
    SigningStatus,
    SubmissionStatus,
)
from backend.display.views import iso
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal
from backend.infra import exports, sql
from backend.infra.exports import Column, Kind, Row, china_time
from backend.kernel.errors import NotFound
from backend.org import service as org_service

EXPORT_BATCH = 500
NO_REGION = "未分区域"
GONE = "（已删除）"  # a distributor or region removed since the store signed

Topic = Literal["signings", "submissions", "rewards"]


class ProgramNotFound(NotFound):
    code = "display.program_not_found"
    message = "陈列活动不存在"


@dataclass(frozen=True, slots=True)
class Scope:
    """A program as one caller sees it: all of it, or one distributor's signings of it.
    `empty`: a distributor's staff asked about another distributor, so nothing shows."""

    program: DisplayProgram
    distributor_id: int | None = None
    empty: bool = False

    @property
    def brand_id(self) -> int:
        return int(self.program.brand_id)  # type: ignore[attr-defined]


async def scope_for(
    principal: Principal, program_id: int, distributor_id: int | None = None
) -> Scope:
    """The program `program_id` as `principal` may see it, narrowed to `distributor_id` when
    asked. Brand staff see their brand's programs; distributor staff the published (or
    ended) ones whose audience admits their distributor, and only their own signings in it.
    Anything else is display.program_not_found, whoever owns it."""
    if principal.brand_id is None:
        raise ProgramNotFound()
    program = await DisplayProgram.get_or_none(id=program_id, brand_id=principal.brand_id)
    if program is None:
        raise ProgramNotFound()
    if principal.role in BRAND_ROLES:
        return Scope(program, distributor_id)
    own = principal.distributor_id
    admitted = program.audience.get("distributor_ids") or []
    if (
        principal.role not in DISTRIBUTOR_ROLES
        or own is None
        or program.status == ProgramStatus.DRAFT.value
        or (admitted and own not in admitted)
    ):
        raise ProgramNotFound()
    return Scope(program, own, empty=distributor_id is not None and distributor_id != own)


# ---- figures --------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """The figures of some signings × checks (one distributor, one region or all)."""

    signed: int = 0
    checks_due: int = 0
    submitted: int = 0
    passed: int = 0
    review: int = 0
    failed: int = 0
    rejected: int = 0
    missed: int = 0
    cost_fen: int = 0

    def add(self, other: Tally) -> None:
        for name in _TALLY_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def view(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _TALLY_FIELDS}


_TALLY_FIELDS = tuple(f.name for f in fields(Tally))
Group = tuple[int, int | None]  # (distributor_id, region_id)


@dataclass(slots=True)
class _CheckTally:
    due: int = 0
    submitted: int = 0
    passed: int = 0
    review: int = 0
    failed: int = 0
    rejected: int = 0
    missed: int = 0


@dataclass(frozen=True, slots=True)
class Schedule:
    """Which of the program's checks count: `opened` (due from every signing) and, among
    them, `over` (no longer submittable: closed, or the program ended)."""

    checks: tuple[DisplayCheck, ...]  # by seq
    opened: frozenset[int]  # check ids
    over: frozenset[int]


def schedule_at(program: DisplayProgram, checks: Iterable[DisplayCheck], now: datetime) -> Schedule:
    """A check is due once its window opened. Once the program ended nothing more is due:
    only the checks opened before the end count, and none of them can be submitted any more.
    The program keeps no time of its end; its last update stands for it (ending is the last
    change the brand makes to a program)."""
    ended = program.status == ProgramStatus.ENDED.value
    cutoff = min(now, program.updated_at) if ended else now
    ordered = tuple(sorted(checks, key=lambda c: c.seq))
    opened = [c for c in ordered if c.opens_at <= cutoff]
    over = [c for c in opened if ended or c.closes_at <= now]
    return Schedule(ordered, frozenset(c.id for c in opened), frozenset(c.id for c in over))


def tally(
    schedule: Schedule,
    signings: Iterable[tuple[Group, int, int]],
    pairs: Iterable[tuple[Group, int, str, int]],
) -> tuple[dict[Group, Tally], dict[int, _CheckTally]]:
    """The figures per (distributor, region) group and per check, from the aggregate rows:
    `signings` (group, signed, cost_fen) and `pairs` (group, check_id, latest status, how
    many signing × check pairs). Every pair with a submission is counted once, by the status
    of its latest attempt; a pair over without a passed or waiting submission is missed."""
    groups: dict[Group, Tally] = defaultdict(Tally)
    checks: dict[int, _CheckTally] = {c.id: _CheckTally() for c in schedule.checks}
    for group, signed, cost in signings:
        groups[group].signed += signed
        groups[group].checks_due += signed * len(schedule.opened)
        groups[group].cost_fen += cost
        for check_id in schedule.opened:
            checks[check_id].due += signed
            if check_id in schedule.over:
                groups[group].missed += signed
                checks[check_id].missed += signed
    for group, check_id, status, count in pairs:
        name = SubmissionStatus(status).value  # the counter named after the status
        settled = check_id in schedule.over and status in _SETTLED
        for target in (groups[group], checks[check_id]):
            target.submitted += count
            setattr(target, name, getattr(target, name) + count)
            if settled:
                target.missed -= count
    return dict(groups), checks


_SETTLED = frozenset({SubmissionStatus.PASSED.value, SubmissionStatus.REVIEW.value})

# Signings and what their rewards cost, per distributor and region, in one statement.
SIGNED_SQL = (
    "SELECT g.distributor_id, g.region_id, COUNT(*) AS signed,"
    " COALESCE(SUM(paid.cost), 0) AS cost_fen"
    " FROM display_signings g"
    " LEFT JOIN (SELECT signing_id, SUM(cost_fen) AS cost FROM display_rewards"
    " WHERE program_id = $1 GROUP BY signing_id) paid ON paid.signing_id = g.id"
    " WHERE g.program_id = $1{only} GROUP BY g.distributor_id, g.region_id"
)
# Each signing × check's latest attempt (none later), counted per distributor, region, check
# and status. An anti-join, not a join to MAX(attempt): PostgreSQL misjudges that join's size
# and loops over the signings once per pair (500 ms against 85 ms on 84,000 submissions).
PAIRS_SQL = (
    "SELECT g.distributor_id, g.region_id, s.display_check_id AS check_id, s.status,"
    " COUNT(*) AS pairs"
    " FROM display_submissions s"
    " JOIN display_signings g ON g.id = s.signing_id"
    " WHERE s.program_id = $1{only} AND NOT EXISTS (SELECT 1 FROM display_submissions later"
    " WHERE later.signing_id = s.signing_id AND later.display_check_id = s.display_check_id"
    " AND later.attempt > s.attempt)"
    " GROUP BY g.distributor_id, g.region_id, s.display_check_id, s.status"
)
ONLY_DISTRIBUTOR = " AND g.distributor_id = $2"


async def _grouped(statement: str, scope: Scope) -> list[sql.Row]:
    if scope.distributor_id is None:
        return await sql.fetch(statement.format(only=""), scope.program.id)
    return await sql.fetch(
        statement.format(only=ONLY_DISTRIBUTOR), scope.program.id, scope.distributor_id
    )


def _group(row: sql.Row) -> Group:
    region = row["region_id"]
    return int(row["distributor_id"]), None if region is None else int(region)


async def figures(scope: Scope, now: datetime) -> dict[str, Any]:
    """GET /display/programs/<id>/figures: totals, by distributor, by region, by check."""
    program = scope.program
    schedule = schedule_at(program, await DisplayCheck.filter(program_id=program.id), now)
    if scope.empty:
        signings: list[tuple[Group, int, int]] = []
        pairs: list[tuple[Group, int, str, int]] = []
    else:
        signings = [
            (_group(r), int(r["signed"]), int(r["cost_fen"]))
            for r in await _grouped(SIGNED_SQL, scope)
        ]
        pairs = [
            (_group(r), int(r["check_id"]), str(r["status"]), int(r["pairs"]))
            for r in await _grouped(PAIRS_SQL, scope)
        ]
    groups, checks = tally(schedule, signings, pairs)
    total = Tally()
    by_distributor: dict[int, Tally] = defaultdict(Tally)
    by_region: dict[int | None, Tally] = defaultdict(Tally)
    for (distributor_id, region_id), figures_of in groups.items():
        total.add(figures_of)
        by_distributor[distributor_id].add(figures_of)
        by_region[region_id].add(figures_of)
    distributors = await org_service.names(scope.brand_id, "distributor", by_distributor)
    regions = await org_service.names(scope.brand_id, "region", [r for r in by_region if r])
    return {
        "signed": total.signed,
        "max_stores": program.max_stores,
        "budget_fen": program.budget_fen,
        "spent_fen": program.spent_fen,
        **{name: value for name, value in total.view().items() if name != "signed"},
        "by_distributor": [
            {"distributor": {"id": key, "name": distributors.get(key, GONE)}, **row.view()}
            for key, row in _ranked(by_distributor)
        ],
        "by_region": [
            {"region": {"id": key, "name": _region_name(regions, key)}, **row.view()}
            for key, row in _ranked(by_region)
        ],
        "by_check": [
            {
                "seq": check.seq,
                "opens_at": iso(check.opens_at),
                "closes_at": iso(check.closes_at),
                **_counts(checks[check.id]),
            }
            for check in schedule.checks
        ],
    }


def _counts(per_check: _CheckTally) -> dict[str, int]:
    return {f.name: getattr(per_check, f.name) for f in fields(per_check)}


def _ranked(rows: dict[Any, Tally]) -> list[tuple[Any, Tally]]:
    """Most signings first; ties by id, the rows without one (no region) last."""
    return sorted(rows.items(), key=lambda kv: (-kv[1].signed, kv[0] is None, kv[0] or 0))


def _region_name(names: dict[int, str], region_id: int | None) -> str:
    return NO_REGION if region_id is None else names.get(region_id, GONE)


# ---- exports --------------------------------------------------------------------------------

SIGNING_STATUS = {
    SigningStatus.ACTIVE.value: "进行中",
    SigningStatus.COMPLETED.value: "已完成",
    SigningStatus.ENDED.value: "已结束",
}
SUBMISSION_STATUS = {
    SubmissionStatus.PASSED.value: "已通过",
    SubmissionStatus.REVIEW.value: "待审核",
    SubmissionStatus.FAILED.value: "未通过自动检查",
    SubmissionStatus.REJECTED.value: "已驳回",
}
REWARD_KIND = {
    RewardKind.POINTS.value: "积分",
    RewardKind.CASH.value: "现金",
    RewardKind.VOUCHER.value: "兑换券",
}
STORE = Column("门店", 24)
DISTRIBUTOR = Column("经销商", 20)
TABLES: dict[str, exports.Table] = {
    "signings": exports.Table(
        "签约门店",
        (
            Column("签约编号", 10, Kind.NUMBER),
            STORE,
            DISTRIBUTOR,
            Column("区域", 14),
            Column("签约人", 12),
            Column("签约时间", 20, Kind.TIME),
            Column("状态", 10),
            Column("通过检查次数", 14, Kind.NUMBER),
            Column("检查总次数", 12, Kind.NUMBER),
            Column("奖励成本(元)", 14, Kind.MONEY),
        ),
        seconds=True,
    ),
    "submissions": exports.Table(
        "检查提交",
        (
            Column("提交编号", 10, Kind.NUMBER),
            STORE,
            DISTRIBUTOR,
            Column("检查", 8, Kind.NUMBER),
            Column("第几次提交", 10, Kind.NUMBER),
            Column("状态", 14),
            Column("自动检查原因", 40),
            Column("提交时间", 20, Kind.TIME),
            Column("审核时间", 20, Kind.TIME),
            Column("审核意见", 30),
        ),
        seconds=True,
    ),
    "rewards": exports.Table(
        "奖励发放",
        (
            Column("奖励编号", 10, Kind.NUMBER),
            STORE,
            DISTRIBUTOR,
            Column("检查", 10),
            Column("类型", 8),
            # Points and vouchers are counted; cash has no count of its own (see 成本).
            Column("数量", 8, Kind.NUMBER, blank="-"),
            Column("成本(元)", 12, Kind.MONEY),
            Column("发放时间", 20, Kind.TIME),
        ),
        seconds=True,
    ),
}


class _Names:
    """Org's names of stores, distributors and regions, asked once per batch for the ids not
    seen yet: a program has few distributors and regions, and each store appears in few rows."""

    def __init__(self, brand_id: int) -> None:
        self.brand_id = brand_id
        self.known: dict[str, dict[int, str]] = defaultdict(dict)

    async def learn(self, kind: str, ids: Iterable[int | None]) -> None:
        known = self.known[kind]
        missing = {i for i in ids if i is not None and i not in known}
        if missing:
            found = await org_service.names(self.brand_id, kind, missing)
            known.update({i: found.get(i, GONE) for i in missing})

    def __call__(self, kind: str, object_id: int | None) -> str:
        if object_id is None:
            return NO_REGION if kind == "region" else ""
        return self.known[kind].get(object_id, GONE)


def _batches(
    query: QuerySet[Any], columns: tuple[str, ...], named: dict[str, str], size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """`query`'s rows oldest first, as plain dicts, in keyset batches of `size`."""

    async def walk() -> AsyncIterator[list[dict[str, Any]]]:
        after = 0
        while True:
            batch = (
                await query.filter(id__gt=after)
                .order_by("id")
                .limit(size)
                .values(*columns, **named)
            )
            if batch:
                yield batch
            if len(batch) < size:
                return
            after = batch[-1]["id"]

    return walk()


def _in_scope(scope: Scope, model: type[Any], via_signing: bool) -> QuerySet[Any]:
    query: QuerySet[Any] = model.filter(program_id=scope.program.id)
    if scope.empty:
        return query.filter(id__lt=0)
    if scope.distributor_id is not None:
        key = "signing__distributor_id" if via_signing else "distributor_id"
        query = query.filter(**{key: scope.distributor_id})
    return query


async def _costs(signing_ids: list[int]) -> dict[int, int]:
    rows = await sql.fetch(
        "SELECT signing_id, SUM(cost_fen) AS cost FROM display_rewards"
        " WHERE signing_id IN ($1) GROUP BY signing_id",
        signing_ids,
    )
    return {int(r["signing_id"]): int(r["cost"]) for r in rows}


async def _signing_rows(scope: Scope, size: int) -> AsyncIterator[list[Row]]:
    names = _Names(scope.brand_id)
    columns = ("id", "store_id", "distributor_id", "region_id", "signer_name", "signed_at")
    query = _in_scope(scope, DisplaySigning, via_signing=False)
    async for batch in _batches(query, (*columns, "status", "passed_checks"), {}, size):
        await names.learn("store", (r["store_id"] for r in batch))
        await names.learn("distributor", (r["distributor_id"] for r in batch))
        await names.learn("region", (r["region_id"] for r in batch))
        costs = await _costs([r["id"] for r in batch])
        yield [
            (
                r["id"],
                names("store", r["store_id"]),
                names("distributor", r["distributor_id"]),
                names("region", r["region_id"]),
                r["signer_name"],
                china_time(r["signed_at"]),
                SIGNING_STATUS.get(r["status"], r["status"]),
                r["passed_checks"],
                scope.program.check_count,
                costs.get(r["id"], 0),
            )
            for r in batch
        ]


def _reasons(reasons: Any) -> str:
    return "；".join(str(reason.get("message", "")) for reason in reasons or ())


async def _submission_rows(scope: Scope, size: int) -> AsyncIterator[list[Row]]:
    names = _Names(scope.brand_id)
    seqs = dict(await DisplayCheck.filter(program_id=scope.program.id).values_list("id", "seq"))
    columns = ("id", "store_id", "display_check_id", "attempt", "status", "reasons")
    more = ("submitted_at", "reviewed_at", "review_reason")
    query = _in_scope(scope, DisplaySubmission, via_signing=True)
    named = {"distributor_id": "signing__distributor_id"}
    async for batch in _batches(query, (*columns, *more), named, size):
        await names.learn("store", (r["store_id"] for r in batch))
        await names.learn("distributor", (r["distributor_id"] for r in batch))
        yield [
            (
                r["id"],
                names("store", r["store_id"]),
                names("distributor", r["distributor_id"]),
                seqs.get(r["display_check_id"]),
                r["attempt"],
                SUBMISSION_STATUS.get(r["status"], r["status"]),
                _reasons(r["reasons"]),
                china_time(r["submitted_at"]),
                None if r["reviewed_at"] is None else china_time(r["reviewed_at"]),
                r["review_reason"],
            )
            for r in batch
        ]


async def _reward_rows(scope: Scope, size: int) -> AsyncIterator[list[Row]]:
    names = _Names(scope.brand_id)
    columns = ("id", "store_id", "check_seq", "kind", "amount", "cost_fen", "created_at")
    query = _in_scope(scope, DisplayReward, via_signing=True)
    named = {"distributor_id": "signing__distributor_id"}
    async for batch in _batches(query, columns, named, size):
        await names.learn("store", (r["store_id"] for r in batch))
        await names.learn("distributor", (r["distributor_id"] for r in batch))
        yield [
            (
                r["id"],
                names("store", r["store_id"]),
                names("distributor", r["distributor_id"]),
                "完成奖励" if r["check_seq"] == 0 else f"第 {r['check_seq']} 次",
                REWARD_KIND.get(r["kind"], r["kind"]),
                None if r["kind"] == RewardKind.CASH.value else r["amount"],
                r["cost_fen"],
                china_time(r["created_at"]),
            )
            for r in batch
        ]


_ROWS = {"signings": _signing_rows, "submissions": _submission_rows, "rewards": _reward_rows}


def export_rows(scope: Scope, what: Topic, size: int | None = None) -> AsyncIterator[list[Row]]:
    """The rows of export `what` (TABLES[what] says the columns), oldest first, one list per
    keyset batch of `size` (EXPORT_BATCH): memory stays flat however large the program."""
    return _ROWS[what](scope, size or EXPORT_BATCH)


def export_chunks(
    scope: Scope, what: Topic, format: Literal["csv", "xlsx"]
) -> AsyncGenerator[bytes]:
    """The file: CSV one chunk per batch, or an XLSX built on disk and then read out."""
    encode = exports.xlsx_chunks if format == "xlsx" else exports.csv_chunks
    return encode(TABLES[what], export_rows(scope, what))
