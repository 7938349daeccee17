"""Display review and rewards: the brand's queue, approve (paid at once through the ledger or
as vouchers in the wallet, from the signed terms, never past the budget), reject with a
reason, the salesperson's first review, who may read and who may decide, and the races:
two reviewers at once pay once, many approvals at once never overspend the budget."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.coupons.models import Coupon, CouponTemplate
from backend.display import rewards
from backend.display.models import (
    DisplayAgreement,
    DisplayCheck,
    DisplayPhoto,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
)
from backend.display.terms import reward_cost_fen, reward_text
from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.ledger import service as ledger_service
from backend.ledger.models import Account, LedgerEntry
from backend.notifications.models import Notification
from backend.org.models import Salesperson, Store
from tests.factories import (
    PASSWORD,
    Tenant,
    bearer,
    make_shop,
    make_staff,
    make_store,
    make_tenant,
    staff_headers,
    store_owner,
)

API = "/api/v1/display"
_keys = itertools.count(1)
POINTS = {"kind": "points", "amount": 200, "template_id": None, "value_fen": 0}


def spec(kind: str, amount: int, template_id: int | None = None, value_fen: int = 0) -> dict:
    return {"kind": kind, "amount": amount, "template_id": template_id, "value_fen": value_fen}


def with_cost(reward: dict[str, Any] | None) -> dict[str, Any] | None:
    """A reward spec as the terms snapshot keeps it."""
    if reward is None:
        return None
    return {**reward, "cost_fen": reward_cost_fen(reward), "text": reward_text(reward)}


# ---- data, written through the models (the programs and photos are other parts') -----------------


async def program(
    tenant: Tenant,
    now: datetime,
    *,
    check_reward: dict[str, Any] | None = POINTS,
    completion_reward: dict[str, Any] | None = None,
    budget_fen: int = 1_000_000,
    checks: int = 2,
    salesperson_reviews_first: bool = False,
) -> DisplayProgram:
    """A published program whose first check is open now, with its agreement and checks."""
    created = await DisplayProgram.create(
        brand=tenant.brand,
        name="冰柜陈列",
        status="published",
        standard="冰柜第一层摆满本品牌饮料",
        sample_photos=[{"url": "https://img.example/sample.jpg", "width": 800, "height": 600}],
        sku_ids=[],
        audience={"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        signup_from=now - timedelta(days=10),
        signup_until=now + timedelta(days=10),
        first_check_at=now - timedelta(days=1),
        check_count=checks,
        check_interval_days=7,
        check_window_days=3,
        photos_required=1,
        check_reward=check_reward,
        completion_reward=completion_reward,
        budget_fen=budget_fen,
        max_stores=100,
        salesperson_reviews_first=salesperson_reviews_first,
        created_at=now - timedelta(days=11),
        updated_at=now - timedelta(days=11),
        published_at=now - timedelta(days=11),
    )
    await DisplayAgreement.create(
        program=created, version=1, text="甲乙双方约定陈列条款……" * 3, created_at=now
    )
    for seq in range(1, checks + 1):
        opens = created.first_check_at + timedelta(days=7 * (seq - 1))
        await DisplayCheck.create(
            program=created, seq=seq, opens_at=opens, closes_at=opens + timedelta(days=3)
        )
    return created


async def signed(program_row: DisplayProgram, store: Store, user_id: int) -> DisplaySigning:
    checks = await DisplayCheck.filter(program_id=program_row.id).order_by("seq")
    agreement = await DisplayAgreement.get(program_id=program_row.id, version=1)
    terms = {
        "name": program_row.name,
        "standard": program_row.standard,
        "sample_photos": program_row.sample_photos,
        "skus": [],
        "photos_required": program_row.photos_required,
        "distance_limit_m": program_row.distance_limit_m,
        "checks": [
            {"seq": c.seq, "opens_at": c.opens_at.isoformat(), "closes_at": c.closes_at.isoformat()}
            for c in checks
        ],
        "check_reward": with_cost(program_row.check_reward),
        "completion_reward": with_cost(program_row.completion_reward),
        "agreement_version": 1,
    }
    await DisplayProgram.filter(id=program_row.id).update(signed_count=program_row.signed_count + 1)
    return await DisplaySigning.create(
        brand_id=program_row.brand_id,  # type: ignore[attr-defined]
        program=program_row,
        store=store,
        agreement=agreement,
        signed_by_id=user_id,
        signer_name="张老板",
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        region_id=None,
        terms=terms,
        signed_at=program_row.signup_from + timedelta(hours=1),
    )


async def submitted(
    signing: DisplaySigning, seq: int = 1, *, attempt: int = 1, status: str = "review"
) -> DisplaySubmission:
    """A submission waiting for review (the built-in recogniser defers every one to a
    person), with one photo taken 100 m or so from the store."""
    check = await DisplayCheck.get(program_id=signing.program_id, seq=seq)  # type: ignore[attr-defined]
    at = check.opens_at + timedelta(hours=2)
    submission = await DisplaySubmission.create(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        program_id=signing.program_id,  # type: ignore[attr-defined]
        signing=signing,
        display_check=check,
        store_id=signing.store_id,  # type: ignore[attr-defined]
        attempt=attempt,
        status=status,
        verdict=status if status in ("passed", "review", "failed") else "review",
        reasons=[{"code": "needs_person", "message": "需人工审核", "photo_id": None}],
        submitted_by_id=signing.signed_by_id,  # type: ignore[attr-defined]
        submitted_at=at,
    )
    await DisplayPhoto.create(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        store_id=signing.store_id,  # type: ignore[attr-defined]
        submission=submission,
        key=f"display/{signing.brand_id}/{signing.store_id}/{next(_keys)}.jpg",  # type: ignore[attr-defined]
        content_type="image/jpeg",
        size_bytes=120_000,
        width=1200,
        height=900,
        taken_at=at,
        latitude=30.2810,
        longitude=120.1200,
        phash=next(_keys),
        brightness=120.0,
        sharpness=300.0,
        created_at=at,
    )
    return submission


async def located_store(tenant: Tenant, **overrides: Any) -> Store:
    return await make_store(tenant, latitude=30.2800, longitude=120.1200, **overrides)


async def owner_user(store: Store) -> int:
    """A store owner (no sign-in needed): whom the store's notifications go to."""
    user = await identity_service.create_staff_user(f"owner{store.id}x{next(_keys)}", PASSWORD, "")
    await identity_service.grant_membership(
        user.id,
        Role.STORE_OWNER,
        store.brand_id,  # type: ignore[attr-defined]
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        store_id=store.id,
    )
    return user.id


async def in_review(
    tenant: Tenant, now: datetime, **program_args: Any
) -> tuple[DisplayProgram, DisplaySigning, DisplaySubmission, int]:
    """One program, one signed store with an owner, its first check waiting for review."""
    made = await program(tenant, now, **program_args)
    store = await located_store(tenant)
    owner = await owner_user(store)
    signing = await signed(made, store, owner)
    return made, signing, await submitted(signing), owner


async def brand(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    return await staff_headers(client, tenant.admin_username)


async def salesperson(client: httpx.AsyncClient, tenant: Tenant, person: Salesperson) -> dict:
    user = await identity_service.create_staff_user(f"sales{next(_keys)}", PASSWORD, "王磊")
    await Salesperson.filter(id=person.id).update(user_id=user.id)
    await identity_service.grant_membership(
        user.id,
        Role.SALESPERSON,
        tenant.brand.id,
        distributor_id=person.distributor_id,  # type: ignore[attr-defined]
        salesperson_id=person.id,
    )
    return await staff_headers(client, user.username)


async def decide(
    client: httpx.AsyncClient, headers: dict[str, str], submission_id: int, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/submissions/{submission_id}/{action}", json=body, headers=headers
    )


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def entries(cause_id: int | None = None) -> list[LedgerEntry]:
    found = LedgerEntry.filter(cause="display")
    if cause_id is not None:
        found = found.filter(cause_id=cause_id)
    return await found.order_by("id")


# ---- approve and reject --------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "amount"), [("points", 200), ("cash", 500)])
async def test_approve_pays_points_or_cash_through_the_ledger(client, deps, kind, amount) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    made, signing, submission, owner = await in_review(tenant, now, check_reward=spec(kind, amount))
    headers = await brand(client, tenant)

    response = await decide(client, headers, submission.id, "approve", note="陈列整齐")
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["status"], view["review_reason"], view["check_seq"]) == ("passed", "陈列整齐", 1)
    reward = view["reward"]
    assert (reward["kind"], reward["amount"], reward["cost_fen"], reward["check_seq"]) == (
        kind,
        amount,
        amount,
        1,
    )
    assert reward["text"] == reward_text(spec(kind, amount))

    [entry] = await entries()
    assert (entry.cause_id, entry.amount, entry.order_id) == (reward["id"], amount, 0)
    account = await Account.get(id=entry.account_id)  # type: ignore[attr-defined]
    assert (account.store_id, account.kind, account.balance) == (signing.store_id, kind, amount)  # type: ignore[attr-defined]
    assert (await DisplayProgram.get(id=made.id)).spent_fen == amount
    assert (await DisplaySigning.get(id=signing.id)).passed_checks == 1
    [told] = await Notification.filter(user_id=owner)
    assert (told.kind, told.title) == ("display_result", "陈列检查已通过")
    assert told.link == f"/packageDisplay/pages/signing/index?id={signing.id}"
    assert "第 1 次陈列检查已通过" in told.body and reward["text"] in told.body
    assert await ledger_service.unbalanced_accounts() == []

    again = await decide(client, headers, submission.id, "approve")
    assert again.status_code == 409 and code(again) == "display.already_reviewed"
    assert len(await entries()) == 1 and await DisplayReward.all().count() == 1
    assert (await DisplayProgram.get(id=made.id)).spent_fen == amount


async def test_rewards_come_from_the_signed_terms_not_the_program_row(client, deps) -> None:
    tenant = await make_tenant()
    made, _, submission, _ = await in_review(tenant, deps.clock.now())
    # Whatever the row says now, the store signed 200 points.
    await DisplayProgram.filter(id=made.id).update(check_reward=spec("cash", 99_999))
    response = await decide(client, await brand(client, tenant), submission.id, "approve")
    assert response.json()["reward"]["kind"] == "points"
    assert [(e.amount) for e in await entries()] == [200]


async def test_vouchers_land_in_the_stores_wallet(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    headers = await brand(client, tenant)
    template = await client.post(
        "/api/v1/coupons/templates",
        json={
            "name": "净水器兑换券",
            "kind": "exchange",
            "terms": {"exchange": [{"sku_id": shop.filters, "quantity": 10}]},
            "valid_days": 30,
            "total_quantity": 10,
        },
        headers=headers,
    )
    assert template.status_code == 201, template.text
    template_id = template.json()["id"]
    voucher = spec("voucher", 2, template_id, 3000)
    made, signing, submission, _ = await in_review(tenant, deps.clock.now(), check_reward=voucher)
    store = await Store.get(id=signing.store_id)  # type: ignore[attr-defined]
    owner = await store_owner(client, sandbox_client, store)

    response = await decide(client, headers, submission.id, "approve")
    assert response.status_code == 200, response.text
    reward = response.json()["reward"]
    assert (reward["kind"], reward["amount"], reward["cost_fen"]) == ("voucher", 2, 6000)
    assert reward["text"] == "兑换券 2 张（价值 ¥60.00）"
    assert len(reward["coupon_ids"]) == 2
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 6000
    assert (await CouponTemplate.get(id=template_id)).issued_count == 2
    assert await entries() == []  # vouchers are not a ledger movement

    wallet = await client.get("/api/v1/coupons/wallet?state=available", headers=bearer(owner))
    assert wallet.status_code == 200, wallet.text
    shown = {item["id"]: item for item in wallet.json()["items"]}
    assert set(shown) == set(reward["coupon_ids"])
    assert {(c["source"], c["kind"]) for c in shown.values()} == {("display", "exchange")}
    # Usable at the store's own checkout like any voucher in its wallet.
    one = await client.get(
        f"/api/v1/coupons/wallet/{reward['coupon_ids'][0]}", headers=bearer(owner)
    )
    assert one.status_code == 200 and one.json()["exchange"]


async def test_an_ended_voucher_template_pays_nothing_and_says_why(client, deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    template = await CouponTemplate.create(
        brand=tenant.brand,
        name="兑换券",
        kind="exchange",
        status="ended",
        terms={"exchange": [{"sku_id": 1, "quantity": 1}]},
        audience={"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        valid_days=30,
        created_at=now,
        updated_at=now,
    )
    voucher = spec("voucher", 1, template.id, 3000)
    made, _, submission, owner = await in_review(tenant, now, check_reward=voucher)

    response = await decide(client, await brand(client, tenant), submission.id, "approve")
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["status"], view["reward"]) == ("passed", None)
    assert view["reasons"][-1] == {
        "code": "voucher_unavailable",
        "message": "兑换券已发完或已停止发放，本次未发放奖励",
        "photo_id": None,
    }
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 0
    assert await DisplayReward.all().count() == 0 and await Coupon.all().count() == 0
    [told] = await Notification.filter(user_id=owner)
    assert "兑换券已发完或已停止发放" in told.body


async def test_reject_needs_a_reason_and_the_store_may_try_again(client, deps) -> None:
    tenant = await make_tenant()
    _, signing, submission, owner = await in_review(tenant, deps.clock.now())
    headers = await brand(client, tenant)

    for reason in ("", " 差 ", "很" * 201):
        refused = await decide(client, headers, submission.id, "reject", reason=reason)
        assert refused.status_code == 400 and code(refused) == "display.invalid"
        assert refused.json()["error"]["details"][0]["field"] == "reason"
    assert (await DisplaySubmission.get(id=submission.id)).status == "review"
    assert await Notification.all().count() == 0

    response = await decide(client, headers, submission.id, "reject", reason="照片未拍到冰柜全貌")
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["status"], view["review_reason"], view["reward"]) == (
        "rejected",
        "照片未拍到冰柜全貌",
        None,
    )
    assert view["reviewed_at"] is not None
    assert await DisplayReward.all().count() == 0 and await entries() == []
    assert (await DisplaySigning.get(id=signing.id)).passed_checks == 0
    [told] = await Notification.filter(user_id=owner)
    assert told.title == "陈列检查未通过" and "照片未拍到冰柜全貌" in told.body
    late = await decide(client, headers, submission.id, "approve")
    assert late.status_code == 409 and code(late) == "display.already_reviewed"

    # A rejected check is open again: the store's next attempt waits for review, with the
    # rejected one beside it, and passes.
    retry = await submitted(signing, attempt=2)
    item = (await client.get(f"{API}/reviews/{retry.id}", headers=headers)).json()
    assert item["attempt"] == 2
    assert item["previous"] == [
        {"id": submission.id, "status": "rejected", "review_reason": "照片未拍到冰柜全貌"}
    ]
    passed = await decide(client, headers, retry.id, "approve")
    assert passed.json()["reward"]["amount"] == 200
    assert (await DisplaySigning.get(id=signing.id)).passed_checks == 1


async def test_completion_is_paid_once_every_check_passed(client, deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    made, signing, first, owner = await in_review(
        tenant,
        now,
        check_reward=spec("points", 100),
        completion_reward=spec("cash", 500),
        checks=2,
    )
    headers = await brand(client, tenant)
    assert (await decide(client, headers, first.id, "approve")).status_code == 200
    after_one = await DisplaySigning.get(id=signing.id)
    assert (after_one.passed_checks, after_one.status) == (1, "active")

    second = await submitted(signing, seq=2)
    response = await decide(client, headers, second.id, "approve")
    assert response.json()["reward"]["check_seq"] == 2
    done = await DisplaySigning.get(id=signing.id)
    assert (done.passed_checks, done.status) == (2, "completed")
    paid = await DisplayReward.filter(signing_id=signing.id).order_by("check_seq")
    assert [(r.check_seq, r.kind, r.amount, r.cost_fen) for r in paid] == [
        (0, "cash", 500, 500),
        (1, "points", 100, 100),
        (2, "points", 100, 100),
    ]
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 700
    balances = {a.kind: a.balance for a in await Account.filter(store_id=signing.store_id)}  # type: ignore[attr-defined]
    assert balances == {"points": 200, "cash": 500}
    assert len(await entries()) == 3
    last = await Notification.filter(user_id=owner).order_by("-id").first()
    assert last is not None and "全部检查已完成" in last.body
    assert await ledger_service.unbalanced_accounts() == []


async def test_the_budget_is_never_overspent(client, deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    made = await program(tenant, now, check_reward=spec("points", 100), budget_fen=250)
    submissions = []
    for _ in range(3):
        store = await located_store(tenant)
        submissions.append(await submitted(await signed(made, store, await owner_user(store))))
    headers = await brand(client, tenant)
    views = [(await decide(client, headers, s.id, "approve")).json() for s in submissions]

    assert [v["status"] for v in views] == ["passed"] * 3
    assert [v["reward"] and v["reward"]["cost_fen"] for v in views] == [100, 100, None]
    assert views[2]["reasons"][-1] == {
        "code": "budget_exhausted",
        "message": "活动预算已用完，本次未发放奖励",
        "photo_id": None,
    }
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 200
    assert await DisplayReward.all().count() == 2 and len(await entries()) == 2
    # The check still counts as passed for the store.
    signing = await DisplaySigning.get(
        id=(await DisplaySubmission.get(id=submissions[2].id)).signing_id
    )  # type: ignore[attr-defined]
    assert signing.passed_checks == 1


# ---- the queue -----------------------------------------------------------------------------------


async def test_the_queue_is_oldest_first_with_what_a_reviewer_needs(client, deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    made = await program(tenant, now)
    other_program = await program(tenant, now)
    stores = [await located_store(tenant) for _ in range(3)]
    waiting = [await submitted(await signed(made, s, await owner_user(s))) for s in stores[:2]]
    elsewhere = await submitted(await signed(other_program, stores[2], await owner_user(stores[2])))
    passed_store = await located_store(tenant)
    await submitted(
        await signed(made, passed_store, await owner_user(passed_store)), status="passed"
    )
    headers = await brand(client, tenant)

    first_page = (await client.get(f"{API}/reviews?limit=2", headers=headers)).json()
    assert [i["id"] for i in first_page["items"]] == [waiting[0].id, waiting[1].id]
    assert first_page["next_after"] == waiting[1].id
    rest = await client.get(f"{API}/reviews?limit=2&after={waiting[1].id}", headers=headers)
    assert [i["id"] for i in rest.json()["items"]] == [elsewhere.id]
    assert rest.json()["next_after"] is None

    only = await client.get(f"{API}/reviews?program_id={made.id}", headers=headers)
    item = only.json()["items"][0]
    assert [i["id"] for i in only.json()["items"]] == [w.id for w in waiting]
    assert item["store"] == {
        "id": stores[0].id,
        "name": stores[0].name,
        "address": "文一西路1号",
        "latitude": 30.28,
        "longitude": 120.12,
    }
    assert item["distributor"] == {"id": tenant.distributor.id, "name": tenant.distributor.name}
    assert item["program"] == {
        "id": made.id,
        "name": "冰柜陈列",
        "standard": "冰柜第一层摆满本品牌饮料",
        "sample_photos": made.sample_photos,
    }
    assert item["check"]["seq"] == 1 and item["previous"] == []
    assert item["reasons"][0]["code"] == "needs_person"
    [photo] = item["photos"]
    assert photo["url"].endswith(".jpg") and 100 <= photo["distance_m"] <= 120
    assert (item["status"], item["first_review"], item["reward"]) == ("review", "", None)

    by_distributor = await client.get(
        f"{API}/reviews?distributor_id={tenant.other_distributor.id}", headers=headers
    )
    assert by_distributor.json()["items"] == []
    counts = await client.get(f"{API}/reviews/counts", headers=headers)
    assert counts.json() == {"review": 3, "first_approved": 0}


async def test_distributor_staff_read_but_never_decide(client, deps) -> None:
    tenant = await make_tenant()
    _, _, submission, _ = await in_review(tenant, deps.clock.now())
    own = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    other = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.other_distributor.id),
    )
    mine = await client.get(f"{API}/reviews", headers=own)
    assert [i["id"] for i in mine.json()["items"]] == [submission.id]
    assert (await client.get(f"{API}/reviews/counts", headers=own)).json()["review"] == 1
    assert (await client.get(f"{API}/reviews/{submission.id}", headers=own)).status_code == 200
    assert (await client.get(f"{API}/reviews", headers=other)).json()["items"] == []
    hidden = await client.get(f"{API}/reviews/{submission.id}", headers=other)
    assert hidden.status_code == 404 and code(hidden) == "display.submission_not_found"
    for action, body in (("approve", {}), ("reject", {"reason": "不合格的陈列"})):
        refused = await decide(client, own, submission.id, action, **body)
        assert refused.status_code == 403
    assert (await DisplaySubmission.get(id=submission.id)).status == "review"


async def test_another_brand_sees_nothing(client, deps) -> None:
    tenant = await make_tenant()
    _, _, submission, _ = await in_review(tenant, deps.clock.now())
    stranger = await brand(client, await make_tenant())
    assert (await client.get(f"{API}/reviews", headers=stranger)).json()["items"] == []
    assert (await client.get(f"{API}/reviews/counts", headers=stranger)).json()["review"] == 0
    for response in (
        await client.get(f"{API}/reviews/{submission.id}", headers=stranger),
        await decide(client, stranger, submission.id, "approve"),
        await decide(client, stranger, submission.id, "reject", reason="不合格的陈列"),
    ):
        assert response.status_code == 404 and code(response) == "display.submission_not_found"
    assert (await DisplaySubmission.get(id=submission.id)).status == "review"
    assert await DisplayReward.all().count() == 0


# ---- the salesperson reviews first ---------------------------------------------------------------


async def test_the_salesperson_reviews_first_where_the_program_allows(client, deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    made = await program(tenant, now, salesperson_reviews_first=True)
    stores = [await located_store(tenant) for _ in range(2)]
    first, second = [await submitted(await signed(made, s, await owner_user(s))) for s in stores]
    other_person = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李娜", phone="13955550000"
    )
    not_theirs = await located_store(tenant, salesperson=other_person)
    foreign = await submitted(await signed(made, not_theirs, await owner_user(not_theirs)))
    sales = await salesperson(client, tenant, tenant.salesperson)
    headers = await brand(client, tenant)

    queue = await client.get(f"{API}/sales/reviews", headers=sales)
    assert [i["id"] for i in queue.json()["items"]] == [first.id, second.id]
    for response in (
        await decide(client, sales, foreign.id, "approve"),
        await client.get(f"{API}/reviews/{foreign.id}", headers=sales),
    ):
        assert response.status_code == 404 and code(response) == "display.submission_not_found"
    assert (await client.get(f"{API}/reviews", headers=sales)).status_code == 403

    approved = await decide(client, sales, first.id, "approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["first_review"]) == ("review", "approved")
    assert approved.json()["reward"] is None and await DisplayReward.all().count() == 0
    row = await DisplaySubmission.get(id=first.id)
    assert row.first_reviewed_at is not None and row.reviewed_at is None
    twice = await decide(client, sales, first.id, "approve")
    assert twice.status_code == 409 and code(twice) == "display.already_reviewed"
    assert [
        i["id"] for i in (await client.get(f"{API}/sales/reviews", headers=sales)).json()["items"]
    ] == [second.id]

    brand_queue = await client.get(f"{API}/reviews?first_review=approved", headers=headers)
    assert [i["id"] for i in brand_queue.json()["items"]] == [first.id]
    none_yet = await client.get(f"{API}/reviews?first_review=none", headers=headers)
    assert [i["id"] for i in none_yet.json()["items"]] == [second.id, foreign.id]
    assert (await client.get(f"{API}/reviews/counts", headers=headers)).json() == {
        "review": 3,
        "first_approved": 1,
    }
    final = await decide(client, headers, first.id, "approve")
    assert final.json()["status"] == "passed" and final.json()["reward"]["amount"] == 200

    # The salesperson's rejection is final: the store may submit again.
    rejected = await decide(client, sales, second.id, "reject", reason="冰柜门未打开")
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["review_reason"]) == (
        "rejected",
        "冰柜门未打开",
    )
    late = await decide(client, headers, second.id, "approve")
    assert late.status_code == 409 and code(late) == "display.already_reviewed"


async def test_no_first_review_without_the_programs_leave(client, deps) -> None:
    tenant = await make_tenant()
    _, _, submission, _ = await in_review(tenant, deps.clock.now())
    sales = await salesperson(client, tenant, tenant.salesperson)
    assert (await client.get(f"{API}/sales/reviews", headers=sales)).json()["items"] == []
    for action, body in (("approve", {}), ("reject", {"reason": "不合格的陈列"})):
        refused = await decide(client, sales, submission.id, action, **body)
        assert refused.status_code == 403 and code(refused) == "display.first_review_off"
    row = await DisplaySubmission.get(id=submission.id)
    assert (row.status, row.first_review) == ("review", "")


# ---- races ---------------------------------------------------------------------------------------


async def test_two_reviewers_at_once_pay_once(client, deps) -> None:
    tenant = await make_tenant()
    made, _, submission, owner = await in_review(tenant, deps.clock.now())
    one = await brand(client, tenant)
    two = await staff_headers(client, await make_staff(tenant.brand.id, Role.BRAND_OPS))
    responses = await asyncio.gather(
        decide(client, one, submission.id, "approve"), decide(client, two, submission.id, "approve")
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert [code(r) for r in responses if r.status_code == 409] == ["display.already_reviewed"]
    assert await DisplayReward.all().count() == 1 and len(await entries()) == 1
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 200
    assert await Notification.filter(user_id=owner).count() == 1
    assert await ledger_service.unbalanced_accounts() == []


async def test_the_last_two_checks_approved_at_once_complete_once(client, deps) -> None:
    """Two reviewers approve a store's two checks at the same moment: each check is paid, and
    the completion reward once, whichever approval counts the second pass."""
    tenant = await make_tenant()
    made, signing, first, _ = await in_review(
        tenant,
        deps.clock.now(),
        check_reward=spec("points", 100),
        completion_reward=spec("cash", 500),
        checks=2,
    )
    second = await submitted(signing, seq=2)
    one, two = await brand(client, tenant), await brand(client, tenant)
    responses = await asyncio.gather(
        decide(client, one, first.id, "approve"), decide(client, two, second.id, "approve")
    )
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    done = await DisplaySigning.get(id=signing.id)
    assert (done.passed_checks, done.status) == (2, "completed")
    paid = await DisplayReward.filter(signing_id=signing.id).order_by("check_seq")
    assert [(r.check_seq, r.kind) for r in paid] == [(0, "cash"), (1, "points"), (2, "points")]
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 700
    assert len(await entries()) == 3
    assert await ledger_service.unbalanced_accounts() == []


async def test_many_approvals_at_once_never_pass_the_budget(client, deps) -> None:
    tenant = await make_tenant()
    now = deps.clock.now()
    made = await program(tenant, now, check_reward=spec("cash", 300), budget_fen=1000)
    submissions = []
    for _ in range(8):
        store = await located_store(tenant)
        submissions.append(await submitted(await signed(made, store, await owner_user(store))))
    headers = [await brand(client, tenant) for _ in range(4)]
    responses = await asyncio.gather(
        *(decide(client, headers[n % 4], s.id, "approve") for n, s in enumerate(submissions))
    )
    assert [r.status_code for r in responses] == [200] * 8
    paid = [r.json()["reward"] for r in responses if r.json()["reward"]]
    assert len(paid) == 3
    spent = (await DisplayProgram.get(id=made.id)).spent_fen
    costs = [r.cost_fen for r in await DisplayReward.all()]
    assert spent == sum(costs) == 900 <= 1000
    exhausted = [r.json() for r in responses if not r.json()["reward"]]
    assert all(v["reasons"][-1]["code"] == "budget_exhausted" for v in exhausted)
    assert len(await entries()) == 3
    assert await ledger_service.unbalanced_accounts() == []


async def test_vouchers_short_of_stock_leave_nothing_written(client, deps) -> None:
    """Two vouchers due, one left: the coupon written before the stock ran out goes with the
    reward's savepoint, and so does the budget taken for it."""
    tenant = await make_tenant()
    now = deps.clock.now()
    template = await CouponTemplate.create(
        brand=tenant.brand,
        name="兑换券",
        kind="exchange",
        terms={"exchange": [{"sku_id": 1, "quantity": 1}]},
        audience={"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        valid_days=30,
        total_quantity=1,
        created_at=now,
        updated_at=now,
    )
    voucher = spec("voucher", 2, template.id, 3000)
    made, _, submission, _ = await in_review(tenant, now, check_reward=voucher)
    response = await decide(client, await brand(client, tenant), submission.id, "approve")
    assert response.status_code == 200, response.text
    assert response.json()["reasons"][-1]["code"] == "voucher_unavailable"
    assert await Coupon.all().count() == 0
    assert (await CouponTemplate.get(id=template.id)).issued_count == 0
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 0
    assert await DisplayReward.all().count() == 0


async def test_rewards_are_paid_only_inside_the_callers_transaction(deps) -> None:
    tenant = await make_tenant()
    made, _, submission, _ = await in_review(tenant, deps.clock.now())
    await DisplaySubmission.filter(id=submission.id).update(status="passed")
    with pytest.raises(RuntimeError):
        await rewards.pay_for_check(deps, submission.id, deps.clock.now())
    assert await DisplayReward.all().count() == 0
    assert (await DisplayProgram.get(id=made.id)).spent_fen == 0
