"""A display program's figures and exports: every figure exact on a program with stores of two
distributors and three regions, submissions in every status across closed, open and future
checks, rewards, an ended program; distributor staff limited to their own distributor; the
exports' headers and rows as CSV and XLSX; other brands and bad queries refused."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from python_calamine import CalamineWorkbook

from backend.display.models import (
    DisplayAgreement,
    DisplayCheck,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
)
from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.org.models import Region, Store
from tests.factories import PASSWORD, Tenant, make_staff, make_store, make_tenant, staff_headers

CHINA = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
VOUCHER = {"kind": "voucher", "amount": 1, "template_id": 1, "value_fen": 3000}
TOO_DARK = {"code": "too_dark", "message": "照片太暗", "photo_id": 1}
BLURRED = {"code": "blurred", "message": "照片模糊", "photo_id": 2}


async def _program(
    tenant: Tenant,
    now: datetime,
    windows: list[tuple[int, int]],
    *,
    status: str = "published",
    updated_at: datetime | None = None,
    check_reward: dict[str, Any] | None = VOUCHER,
    completion_reward: dict[str, Any] | None = None,
    audience: dict[str, Any] | None = None,
) -> tuple[DisplayProgram, DisplayAgreement, list[DisplayCheck]]:
    """A program whose checks open and close `windows` days from now (negative: past)."""
    program = await DisplayProgram.create(
        brand=tenant.brand,
        name="冰柜陈列",
        status=status,
        standard="饮料放满冰柜第一层",
        audience=audience or {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        signup_from=now - 30 * DAY,
        signup_until=now + 30 * DAY,
        first_check_at=now + windows[0][0] * DAY,
        check_count=len(windows),
        check_interval_days=7,
        check_window_days=3,
        check_reward=check_reward,
        completion_reward=completion_reward,
        budget_fen=1_000_000,
        spent_fen=12_000,
        max_stores=100,
        created_at=now - 40 * DAY,
        updated_at=updated_at or now - 40 * DAY,
    )
    agreement = await DisplayAgreement.create(
        program=program, version=1, text="陈列协议" * 10, created_at=now - 40 * DAY
    )
    checks = [
        await DisplayCheck.create(
            program=program, seq=seq, opens_at=now + opens * DAY, closes_at=now + closes * DAY
        )
        for seq, (opens, closes) in enumerate(windows, start=1)
    ]
    return program, agreement, checks


@dataclass
class World:
    tenant: Tenant
    now: datetime
    owner: Any  # the user who signs and submits for every store (who does is no figure)
    program: DisplayProgram
    checks: list[DisplayCheck]
    stores: list[Store]  # s1, s2 (D1, R1), s3 (D1, R2), s4 (D2, R2), s5 (D2, no region)
    regions: list[Region]
    signings: list[DisplaySigning]
    submissions: dict[str, DisplaySubmission]


async def _sign(
    program: DisplayProgram,
    agreement: DisplayAgreement,
    store: Store,
    owner: Any,
    signed_at: datetime,
    *,
    passed: int = 0,
    status: str = "active",
) -> DisplaySigning:
    return await DisplaySigning.create(
        brand_id=program.brand_id,  # type: ignore[attr-defined]
        program=program,
        store=store,
        agreement=agreement,
        signed_by=owner,
        signer_name=f"{store.name}老板",
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        region_id=store.region_id,  # type: ignore[attr-defined]
        terms={},
        status=status,
        passed_checks=passed,
        signed_at=signed_at,
    )


async def _submit(
    signing: DisplaySigning,
    check: DisplayCheck,
    status: str,
    at: datetime,
    *,
    attempt: int = 1,
    reasons: list[dict[str, Any]] | None = None,
    review_reason: str = "",
) -> DisplaySubmission:
    reviewed = status in ("rejected", "passed") and not reasons
    return await DisplaySubmission.create(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        program_id=signing.program_id,  # type: ignore[attr-defined]
        signing=signing,
        display_check=check,
        store_id=signing.store_id,  # type: ignore[attr-defined]
        attempt=attempt,
        status=status,
        verdict="failed" if status == "failed" else "review",
        reasons=reasons or [],
        submitted_by_id=signing.signed_by_id,  # type: ignore[attr-defined]
        submitted_at=at,
        reviewed_by_id=1 if reviewed else None,
        reviewed_at=at + timedelta(hours=2) if reviewed else None,
        review_reason=review_reason,
    )


async def _reward(
    signing: DisplaySigning,
    seq: int,
    at: datetime,
    *,
    kind: str = "voucher",
    amount: int = 1,
    cost: int = 3000,
) -> DisplayReward:
    return await DisplayReward.create(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        program_id=signing.program_id,  # type: ignore[attr-defined]
        signing=signing,
        store_id=signing.store_id,  # type: ignore[attr-defined]
        check_seq=seq,
        kind=kind,
        amount=amount,
        cost_fen=cost,
        coupon_ids=[],
        created_at=at,
    )


async def world(deps: Any) -> World:
    """Program P: checks 1 and 2 closed, 3 open, 4 not yet open; five stores signed.

    |    | check 1                 | check 2             | check 3   |
    | s1 | failed, then passed ¥30 | passed ¥30          | review    |
    | s2 | rejected                | failed              | failed    |
    | s3 | —                       | —                   | passed ¥30|
    | s4 | passed ¥30              | rejected, then failed | —       |
    | s5 | review (still waiting)  | —                   | —         |
    """
    now = deps.clock.now()
    tenant = await make_tenant()
    d1, d2 = tenant.distributor, tenant.other_distributor
    r1 = await Region.create(brand=tenant.brand, name="华东")
    r2 = await Region.create(brand=tenant.brand, name="华南")
    stores = [
        await make_store(tenant, name="一号店", distributor=d1, region=r1),
        await make_store(tenant, name="二号店", distributor=d1, region=r1),
        await make_store(tenant, name="三号店", distributor=d1, region=r2),
        await make_store(tenant, name="四号店", distributor=d2, region=r2),
        await make_store(tenant, name="五号店", distributor=d2, region=None),
    ]
    owner = await identity_service.create_staff_user("display_owner", PASSWORD, "老板")
    program, agreement, checks = await _program(
        tenant, now, [(-20, -17), (-13, -10), (-1, 2), (6, 9)]
    )
    s1, s2, s3, s4, s5 = [
        await _sign(program, agreement, store, owner, now - (25 - i) * DAY, passed=passed)
        for i, (store, passed) in enumerate(zip(stores, (2, 0, 1, 1, 0), strict=True))
    ]
    c1, c2, c3, _ = checks
    at = [c.opens_at + timedelta(hours=3) for c in checks]
    subs = {
        "s1c1a": await _submit(s1, c1, "failed", at[0], reasons=[TOO_DARK, BLURRED]),
        "s1c1b": await _submit(s1, c1, "passed", at[0] + DAY, attempt=2),
        "s1c2": await _submit(s1, c2, "passed", at[1]),
        "s1c3": await _submit(s1, c3, "review", at[2]),
        "s2c1": await _submit(s2, c1, "rejected", at[0], review_reason="陈列不完整"),
        "s2c2": await _submit(s2, c2, "failed", at[1], reasons=[TOO_DARK]),
        "s2c3": await _submit(s2, c3, "failed", at[2], reasons=[BLURRED]),
        "s3c3": await _submit(s3, c3, "passed", at[2]),
        "s4c1": await _submit(s4, c1, "passed", at[0]),
        "s4c2a": await _submit(s4, c2, "rejected", at[1], review_reason="照片不是本店"),
        "s4c2b": await _submit(s4, c2, "failed", at[1] + DAY, attempt=2, reasons=[TOO_DARK]),
        "s5c1": await _submit(s5, c1, "review", at[0]),
    }
    for signing, seq, when in ((s1, 1, at[0] + DAY), (s1, 2, at[1]), (s3, 3, at[2])):
        await _reward(signing, seq, when)
    await _reward(s4, 1, at[0])
    return World(tenant, now, owner, program, checks, stores, [r1, r2], [s1, s2, s3, s4, s5], subs)


def _figure(
    signed: int,
    due: int,
    submitted: int,
    passed: int,
    review: int,
    failed: int,
    rejected: int,
    missed: int,
    cost: int,
) -> dict[str, int]:
    return {
        "signed": signed,
        "checks_due": due,
        "submitted": submitted,
        "passed": passed,
        "review": review,
        "failed": failed,
        "rejected": rejected,
        "missed": missed,
        "cost_fen": cost,
    }


def _check(
    check: DisplayCheck,
    due: int,
    submitted: int = 0,
    passed: int = 0,
    review: int = 0,
    failed: int = 0,
    rejected: int = 0,
    missed: int = 0,
) -> dict[str, Any]:
    return {
        "seq": check.seq,
        "opens_at": check.opens_at.isoformat(),
        "closes_at": check.closes_at.isoformat(),
        "due": due,
        "submitted": submitted,
        "passed": passed,
        "review": review,
        "failed": failed,
        "rejected": rejected,
        "missed": missed,
    }


async def _get(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> httpx.Response:
    return await client.get(f"/api/v1/display/programs/{path}", headers=headers)


async def _figures(
    client: httpx.AsyncClient, headers: dict[str, str], program_id: int, query: str = ""
) -> dict[str, Any]:
    response = await _get(client, headers, f"{program_id}/figures?{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _staff(
    client: httpx.AsyncClient, tenant: Tenant, role: Role = Role.BRAND_OPS, distributor: Any = None
) -> dict[str, str]:
    username = await make_staff(
        tenant.brand.id, role, None if distributor is None else distributor.id
    )
    return await staff_headers(client, username)


def _named(obj: Any) -> dict[str, Any]:
    return {"id": obj.id, "name": obj.name}


async def test_brand_sees_every_figure_by_distributor_region_and_check(client, deps) -> None:
    w = await world(deps)
    d1, d2 = w.tenant.distributor, w.tenant.other_distributor
    r1, r2 = w.regions
    c1, c2, c3, c4 = w.checks
    brand = await _staff(client, w.tenant)
    assert await _figures(client, brand, w.program.id) == {
        # checks 1-3 opened: 15 due; 10 pairs submitted (4 passed, 2 waiting, 3 failed, 1
        # rejected); 6 missed: check 1's s2 and s3, check 2's s2-s5 (s5's check 1 waits).
        **_figure(5, 15, 10, 4, 2, 3, 1, 6, 12_000),
        "max_stores": 100,
        "budget_fen": 1_000_000,
        "spent_fen": 12_000,
        "by_distributor": [
            {"distributor": _named(d1), **_figure(3, 9, 7, 3, 1, 2, 1, 4, 9000)},
            {"distributor": _named(d2), **_figure(2, 6, 3, 1, 1, 1, 0, 2, 3000)},
        ],
        "by_region": [
            {"region": _named(r1), **_figure(2, 6, 6, 2, 1, 2, 1, 2, 6000)},
            {"region": _named(r2), **_figure(2, 6, 3, 2, 0, 1, 0, 3, 6000)},
            {"region": {"id": None, "name": "未分区域"}, **_figure(1, 3, 1, 0, 1, 0, 0, 1, 0)},
        ],
        "by_check": [
            _check(c1, 5, submitted=4, passed=2, review=1, rejected=1, missed=2),
            _check(c2, 5, submitted=3, passed=1, failed=2, missed=4),
            _check(c3, 5, submitted=3, passed=1, review=1, failed=1),
            _check(c4, 0),
        ],
    }
    # Brand staff may look at one distributor: the same figures its own staff see.
    only = await _figures(client, brand, w.program.id, f"distributor_id={d2.id}")
    own = await _figures(
        client, await _staff(client, w.tenant, Role.DISTRIBUTOR_STAFF, d2), w.program.id
    )
    assert only == own


async def test_distributor_staff_see_only_their_own_stores(client, deps) -> None:
    w = await world(deps)
    d1, d2 = w.tenant.distributor, w.tenant.other_distributor
    c1, c2, c3, c4 = w.checks
    staff = await _staff(client, w.tenant, Role.DISTRIBUTOR_ADMIN, d2)
    assert await _figures(client, staff, w.program.id) == {
        **_figure(2, 6, 3, 1, 1, 1, 0, 2, 3000),
        "max_stores": 100,
        "budget_fen": 1_000_000,
        "spent_fen": 12_000,
        "by_distributor": [{"distributor": _named(d2), **_figure(2, 6, 3, 1, 1, 1, 0, 2, 3000)}],
        "by_region": [
            {"region": _named(w.regions[1]), **_figure(1, 3, 2, 1, 0, 1, 0, 1, 3000)},
            {"region": {"id": None, "name": "未分区域"}, **_figure(1, 3, 1, 0, 1, 0, 0, 1, 0)},
        ],
        "by_check": [
            _check(c1, 2, submitted=2, passed=1, review=1),
            _check(c2, 2, submitted=1, failed=1, missed=2),
            _check(c3, 2),
            _check(c4, 0),
        ],
    }
    # Another distributor's id shows nothing, not that distributor.
    other = await _figures(client, staff, w.program.id, f"distributor_id={d1.id}")
    assert other["by_distributor"] == other["by_region"] == []
    assert [other[k] for k in ("signed", "checks_due", "submitted", "passed", "cost_fen")] == [
        0,
        0,
        0,
        0,
        0,
    ]
    assert [row["due"] for row in other["by_check"]] == [0, 0, 0, 0]
    own_rows = await export(client, staff, w.program.id, "what=signings")
    assert [row[0] for row in own_rows] == [str(s.id) for s in w.signings[3:]]
    assert (
        await export(client, staff, w.program.id, f"what=signings&distributor_id={d1.id}")
    ) == []


async def test_distributor_staff_do_not_see_programs_outside_their_audience(client, deps) -> None:
    w = await world(deps)
    d1, d2 = w.tenant.distributor, w.tenant.other_distributor
    only_d1 = {"distributor_ids": [d1.id], "region_ids": [], "tiers": [], "tags": []}
    narrow, _, _ = await _program(w.tenant, w.now, [(-1, 2)], audience=only_d1)
    draft, _, _ = await _program(w.tenant, w.now, [(-1, 2)], status="draft")
    staff = await _staff(client, w.tenant, Role.DISTRIBUTOR_STAFF, d2)
    for program in (narrow, draft):
        for path in ("figures", "export?what=signings"):
            response = await _get(client, staff, f"{program.id}/{path}")
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "display.program_not_found"
    ours = await _staff(client, w.tenant, Role.DISTRIBUTOR_STAFF, d1)
    assert (await _figures(client, ours, narrow.id))["signed"] == 0


async def test_an_ended_program_owes_only_the_checks_opened_before_its_end(client, deps) -> None:
    """Ended 4 days ago: check 1 closed before, check 2 was open (over now, though its window
    runs on), check 3 opened after the end and is owed by nobody."""
    now = deps.clock.now()
    tenant = await make_tenant()
    d1, d2 = tenant.distributor, tenant.other_distributor
    program, agreement, checks = await _program(
        tenant,
        now,
        [(-10, -7), (-6, 1), (-2, 5)],
        status="ended",
        updated_at=now - 4 * DAY,
        check_reward={"kind": "points", "amount": 200, "template_id": None, "value_fen": 0},
    )
    owner = await identity_service.create_staff_user("display_owner", PASSWORD, "老板")
    t1, t2 = (await make_store(tenant, distributor=d1), await make_store(tenant, distributor=d2))
    first = await _sign(program, agreement, t1, owner, now - 20 * DAY, passed=1, status="ended")
    second = await _sign(program, agreement, t2, owner, now - 20 * DAY, status="ended")
    c1, c2, c3 = checks
    await _submit(first, c1, "passed", c1.opens_at)
    await _reward(first, 1, c1.opens_at, kind="points", amount=200, cost=200)
    await _submit(first, c2, "review", c2.opens_at)
    await _submit(second, c2, "failed", c2.opens_at, reasons=[TOO_DARK])
    body = await _figures(client, await _staff(client, tenant), program.id)
    assert {k: body[k] for k in _figure(0, 0, 0, 0, 0, 0, 0, 0, 0)} == _figure(
        2, 4, 3, 1, 1, 1, 0, 2, 200
    )
    assert body["by_check"] == [
        _check(c1, 2, submitted=1, passed=1, missed=1),
        _check(c2, 2, submitted=2, review=1, failed=1, missed=1),
        _check(c3, 0),
    ]
    assert body["by_distributor"] == [
        {"distributor": _named(d1), **_figure(1, 2, 2, 1, 1, 0, 0, 0, 200)},
        {"distributor": _named(d2), **_figure(1, 2, 1, 0, 0, 1, 0, 2, 0)},
    ]


async def test_a_program_without_signings_has_zero_figures(client, deps) -> None:
    tenant = await make_tenant()
    program, _, checks = await _program(tenant, deps.clock.now(), [(-1, 2), (6, 9)])
    body = await _figures(client, await _staff(client, tenant), program.id)
    assert body == {
        **_figure(0, 0, 0, 0, 0, 0, 0, 0, 0),
        "max_stores": 100,
        "budget_fen": 1_000_000,
        "spent_fen": 12_000,
        "by_distributor": [],
        "by_region": [],
        "by_check": [_check(checks[0], 0), _check(checks[1], 0)],
    }


# ---- exports --------------------------------------------------------------------------------

SIGNINGS = [
    "签约编号",
    "门店",
    "经销商",
    "区域",
    "签约人",
    "签约时间",
    "状态",
    "通过检查次数",
    "检查总次数",
    "奖励成本(元)",
]
SUBMISSIONS = [
    "提交编号",
    "门店",
    "经销商",
    "检查",
    "第几次提交",
    "状态",
    "自动检查原因",
    "提交时间",
    "审核时间",
    "审核意见",
]
REWARDS = ["奖励编号", "门店", "经销商", "检查", "类型", "数量", "成本(元)", "发放时间"]
HEADERS = {"signings": SIGNINGS, "submissions": SUBMISSIONS, "rewards": REWARDS}


def china(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


async def export(
    client: httpx.AsyncClient, headers: dict[str, str], program_id: int, query: str
) -> list[list[str]]:
    """The CSV's rows below its header (which must be the export's)."""
    response = await _get(client, headers, f"{program_id}/export?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content[3:].decode("utf-8"))))
    what = dict(part.split("=", 1) for part in query.split("&"))["what"]
    assert rows[0] == HEADERS[what]
    return rows[1:]


async def test_signings_export_has_a_row_per_signing(client, deps) -> None:
    w = await world(deps)
    brand = await _staff(client, w.tenant)
    rows = await export(client, brand, w.program.id, "what=signings")
    d1, d2 = w.tenant.distributor.name, w.tenant.other_distributor.name
    places = [(d1, "华东"), (d1, "华东"), (d1, "华南"), (d2, "华南"), (d2, "未分区域")]
    costs = ["60.00", "0.00", "30.00", "30.00", "0.00"]
    assert rows == [
        [
            str(signing.id),
            store.name,
            distributor,
            region,
            f"{store.name}老板",
            china(signing.signed_at),
            "进行中",
            str(signing.passed_checks),
            "4",
            cost,
        ]
        for signing, store, (distributor, region), cost in zip(
            w.signings, w.stores, places, costs, strict=True
        )
    ]
    response = await _get(client, brand, f"{w.program.id}/export?what=signings&format=csv")
    today = w.now.astimezone(CHINA).strftime("%Y%m%d")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="display-{w.program.id}-signings-{today}.csv"'
    )


async def test_submissions_export_has_a_row_per_attempt(client, deps) -> None:
    w = await world(deps)
    staff = await _staff(client, w.tenant, Role.DISTRIBUTOR_STAFF, w.tenant.other_distributor)
    rows = await export(client, staff, w.program.id, "what=submissions")
    d2 = w.tenant.other_distributor.name
    s4c1, s4c2a, s4c2b, s5c1 = (w.submissions[k] for k in ("s4c1", "s4c2a", "s4c2b", "s5c1"))
    assert rows == [
        [str(s4c1.id), "四号店", d2, "1", "1", "已通过", "", china(s4c1.submitted_at),
         china(s4c1.reviewed_at), ""],
        [str(s4c2a.id), "四号店", d2, "2", "1", "已驳回", "", china(s4c2a.submitted_at),
         china(s4c2a.reviewed_at), "照片不是本店"],
        [str(s4c2b.id), "四号店", d2, "2", "2", "未通过自动检查", "照片太暗",
         china(s4c2b.submitted_at), "", ""],
        [str(s5c1.id), "五号店", d2, "1", "1", "待审核", "", china(s5c1.submitted_at), "", ""],
    ]  # fmt: skip
    everything = await export(
        client, await _staff(client, w.tenant), w.program.id, "what=submissions"
    )
    assert [row[0] for row in everything] == sorted(
        (str(s.id) for s in w.submissions.values()), key=int
    )
    s1c1a = w.submissions["s1c1a"]
    assert everything[0] == [
        str(s1c1a.id), "一号店", w.tenant.distributor.name, "1", "1", "未通过自动检查",
        "照片太暗；照片模糊", china(s1c1a.submitted_at), "", "",
    ]  # fmt: skip


async def _rewarded_program(deps: Any) -> tuple[Tenant, DisplayProgram, list[DisplayReward]]:
    """One check, passed: a cash reward for it and points for completing the program."""
    now = deps.clock.now()
    tenant = await make_tenant()
    program, agreement, [check] = await _program(
        tenant,
        now,
        [(-5, -2)],
        check_reward={"kind": "cash", "amount": 500, "template_id": None, "value_fen": 0},
        completion_reward={"kind": "points", "amount": 1000, "template_id": None, "value_fen": 0},
    )
    owner = await identity_service.create_staff_user("display_owner", PASSWORD, "老板")
    store = await make_store(tenant, name="完成店")
    signing = await _sign(
        program, agreement, store, owner, now - 9 * DAY, passed=1, status="completed"
    )
    await _submit(signing, check, "passed", check.opens_at)
    at = check.opens_at + timedelta(hours=1, seconds=7)
    rewards = [
        await _reward(signing, 1, at, kind="cash", amount=500, cost=500),
        await _reward(signing, 0, at, kind="points", amount=1000, cost=1000),
    ]
    return tenant, program, rewards


async def test_rewards_export_names_the_check_or_the_completion(client, deps) -> None:
    tenant, program, (cash, points) = await _rewarded_program(deps)
    brand = await _staff(client, tenant)
    rows = await export(client, brand, program.id, "what=rewards")
    ours, paid = tenant.distributor.name, china(cash.created_at)
    assert rows == [
        [str(cash.id), "完成店", ours, "第 1 次", "现金", "-", "5.00", paid],
        [str(points.id), "完成店", ours, "完成奖励", "积分", "1000", "10.00", paid],
    ]
    body = await _figures(client, brand, program.id)
    assert {k: body[k] for k in ("signed", "checks_due", "passed", "missed", "cost_fen")} == {
        "signed": 1,
        "checks_due": 1,
        "passed": 1,
        "missed": 0,
        "cost_fen": 1500,
    }


async def test_xlsx_export_holds_the_same_rows(client, deps) -> None:
    tenant, program, (cash, points) = await _rewarded_program(deps)
    brand = await _staff(client, tenant)
    response = await _get(client, brand, f"{program.id}/export?what=rewards&format=xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].endswith("spreadsheetml.sheet")
    assert response.headers["content-disposition"].endswith('.xlsx"')
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    header, *rows = sheet.to_python()
    assert header == REWARDS
    when = cash.created_at.astimezone(CHINA).replace(tzinfo=None, microsecond=0)
    ours = tenant.distributor.name
    assert rows == [
        [float(cash.id), "完成店", ours, "第 1 次", "现金", "-", 5.0, when],
        [float(points.id), "完成店", ours, "完成奖励", "积分", 1000.0, 10.0, when],
    ]


async def test_exports_stream_in_batches(client, deps, monkeypatch) -> None:
    """A batch smaller than the program: every row still comes, each once, in order."""
    from backend.display import figures

    monkeypatch.setattr(figures, "EXPORT_BATCH", 2)
    w = await world(deps)
    brand = await _staff(client, w.tenant)
    scope = figures.Scope(w.program)
    batches = [batch async for batch in figures.export_rows(scope, "submissions", size=5)]
    assert [len(b) for b in batches] == [5, 5, 2]
    assert [row[0] for b in batches for row in b] == sorted(s.id for s in w.submissions.values())
    rows = await export(client, brand, w.program.id, "what=signings&format=csv")  # 2, 2, 1
    assert [row[0] for row in rows] == [str(s.id) for s in w.signings]
    assert [row[-1] for row in rows] == ["60.00", "0.00", "30.00", "30.00", "0.00"]


async def test_other_brands_and_bad_queries_are_refused(client, deps) -> None:
    w = await world(deps)
    stranger = await make_tenant()
    for headers in (
        await _staff(client, stranger, Role.BRAND_ADMIN),
        await _staff(client, stranger, Role.DISTRIBUTOR_ADMIN, stranger.distributor),
    ):
        for path in ("figures", "export?what=rewards"):
            response = await _get(client, headers, f"{w.program.id}/{path}")
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "display.program_not_found"
    brand = await _staff(client, w.tenant)
    missing = await _get(client, brand, f"{w.program.id + 1000}/figures")
    assert missing.json()["error"]["code"] == "display.program_not_found"
    for query in ("what=orders", "what=rewards&format=pdf", "format=csv", "distributor_id=0"):
        response = await _get(client, brand, f"{w.program.id}/export?{query}")
        assert response.status_code == 400, (query, response.text)
        error = response.json()["error"]
        assert error["code"] == "display.invalid"
        assert error["details"][0]["field"] in ("what", "format", "distributor_id")
    store_user = await identity_service.create_staff_user("clerk_like", PASSWORD, "店员")
    await identity_service.grant_membership(
        store_user.id,
        Role.STORE_OWNER,
        w.tenant.brand.id,
        distributor_id=w.tenant.distributor.id,
        store_id=w.stores[0].id,
    )
    owner = await staff_headers(client, "clerk_like")
    assert (await _get(client, owner, f"{w.program.id}/figures")).status_code == 403


async def test_figures_are_the_same_few_statements_however_many_stores(
    client, deps, monkeypatch
) -> None:
    """The program, its checks, two aggregates, two lookups of names: per program, never per
    store (bench: 6 statements, ~160 ms for 10,000 signings × 8 checks on PostgreSQL)."""
    from tortoise import connections

    from backend.display import figures

    w = await world(deps)
    statements: list[str] = []
    connection = type(connections.get("default"))
    for method in ("execute_query", "execute_query_dict"):
        original = getattr(connection, method)

        async def counted(self: Any, query: str, values: Any = None, _run: Any = original) -> Any:
            statements.append(query)
            return await _run(self, query, values)

        monkeypatch.setattr(connection, method, counted)

    async def count() -> int:
        statements.clear()
        scope = await figures.scope_for(w.tenant.acting_admin, w.program.id)
        await figures.figures(scope, w.now)
        return len(statements)

    assert await count() == 6
    owner = w.owner
    agreement = await DisplayAgreement.get(program_id=w.program.id)
    for _ in range(5):
        store = await make_store(w.tenant, distributor=w.tenant.other_distributor)
        signing = await _sign(w.program, agreement, store, owner, w.now - DAY)
        await _submit(signing, w.checks[2], "review", w.now)
    assert await count() == 6
