"""Display programs: the brand writes, publishes, edits (before and after stores signed) and
ends them; store owners of the audience sign them (once, while places last, also when many
sign at once); signed documents and the store's views of its signings and checks."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx

from backend.display import terms
from backend.display.models import (
    DisplayAgreement,
    DisplayCheck,
    DisplayPhoto,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
)
from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.org.models import Distributor, Region, Store
from tests.factories import (
    Shop,
    bearer,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
    wechat_login,
)

API = "/api/v1/display"
KEYS = itertools.count(1)
AGREEMENT = "甲方品牌委托乙方门店按陈列标准陈列指定商品，乙方按期拍照上报，检查通过后获得奖励。"


def body(shop: Shop, now: datetime, **overrides: Any) -> dict[str, Any]:
    """A program open for sign-up now: 4 weekly checks from tomorrow, 3 days each."""
    fields: dict[str, Any] = {
        "name": "夏季冰柜陈列",
        "standard": "冰柜第一层整层陈列净水器滤芯，价签朝外",
        "sample_photos": [{"url": "https://img.example/sample.jpg", "width": 800, "height": 600}],
        "sku_ids": [shop.water, shop.filters],
        "audience": {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        "signup_from": (now - timedelta(hours=1)).isoformat(),
        "signup_until": (now + timedelta(days=3)).isoformat(),
        "first_check_at": (now + timedelta(days=1)).isoformat(),
        "check_count": 4,
        "check_interval_days": 7,
        "check_window_days": 3,
        "photos_required": 2,
        "check_reward": {"kind": "points", "amount": 200},
        "completion_reward": {"kind": "cash", "amount": 500},
        "budget_fen": 1_000_000,
        "max_stores": 10,
        "agreement_text": AGREEMENT,
    }
    fields.update(overrides)
    return fields


async def admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    """The brand admin's headers, with a fresh Idempotency-Key (creates require one)."""
    headers = await staff_headers(client, shop.tenant.admin_username)
    return {**headers, "Idempotency-Key": f"key-{next(KEYS)}"}


async def created(
    client: httpx.AsyncClient, shop: Shop, now: datetime, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/programs", json=body(shop, now, **overrides), headers=await admin(client, shop)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def published(
    client: httpx.AsyncClient, shop: Shop, now: datetime, **overrides: Any
) -> dict[str, Any]:
    program = await created(client, shop, now, **overrides)
    response = await client.post(
        f"{API}/programs/{program['id']}/publish", headers=await admin(client, shop)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def sign(
    client: httpx.AsyncClient, owner: dict[str, Any], program: dict[str, Any], **overrides: Any
) -> httpx.Response:
    payload = {
        "signer_name": "张三",
        "agreement_version": program["agreement_version"],
        "agreed": True,
        **overrides,
    }
    return await client.post(
        f"{API}/programs/{program['id']}/sign", json=payload, headers=idempotent(owner)
    )


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def exchange_template(client: httpx.AsyncClient, shop: Shop, kind: str = "exchange") -> int:
    terms: dict[str, Any] = (
        {"exchange": [{"sku_id": shop.filters, "quantity": 2}]}
        if kind == "exchange"
        else {"threshold_fen": 300_000, "amount_off_fen": 20_000}
    )
    response = await client.post(
        "/api/v1/coupons/templates",
        json={"name": "滤芯兑换券", "kind": kind, "terms": terms, "valid_days": 30},
        headers=await admin(client, shop),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


# ---- the pure terms ------------------------------------------------------------------------------


def test_the_phase_follows_the_windows_and_the_schedule() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    checks = terms.schedule(start + timedelta(days=10), 3, 7, 2)
    assert [(seq, opens.day, closes.day) for seq, opens, closes in checks] == [
        (1, 11, 13),
        (2, 18, 20),
        (3, 25, 27),
    ]
    last = checks[-1][2]

    def phase(status: str, days: float) -> str:
        return terms.phase(
            status, start, start + timedelta(days=5), last, start + timedelta(days=days)
        )

    assert [phase("published", d) for d in (-1, 0, 4.9, 5, 25.9, 26, 40)] == [
        "upcoming",
        "signing",
        "signing",
        "running",
        "running",
        "finished",
        "finished",
    ]
    assert (phase("draft", 1), phase("ended", 1)) == ("draft", "ended")


def test_rewards_are_checked_per_kind() -> None:
    assert terms.reward_problems("r", {"kind": "points", "amount": 10_000_000}) == []
    assert terms.reward_problems("r", {"kind": "cash", "amount": 100_000_001}) == [
        {"field": "r.amount", "message": "现金金额（分）须在 1 至 100000000 之间"}
    ]
    voucher = {"kind": "voucher", "amount": 10, "template_id": 7, "value_fen": 10_000_000}
    assert terms.reward_problems("r", voucher) == []
    assert [p["field"] for p in terms.reward_problems("r", {**voucher, "kind": "points"})] == [
        "r.template_id",
        "r.value_fen",
    ]
    assert terms.reward_out(voucher) == {
        **voucher,
        "cost_fen": 100_000_000,
        "text": "兑换券 10 张（价值 ¥1000000.00）",
    }
    assert terms.reward_out(None) is None


# ---- writing programs ----------------------------------------------------------------------------


async def test_a_new_program_is_a_draft_with_its_schedule_computed(client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    voucher = await exchange_template(client, shop)
    reward = {"kind": "voucher", "amount": 2, "template_id": voucher, "value_fen": 3000}
    headers = {**await admin(client, shop), "Idempotency-Key": "program-1"}
    payload = body(shop, now, check_reward=reward)
    first = await client.post(f"{API}/programs", json=payload, headers=headers)
    again = await client.post(f"{API}/programs", json=payload, headers=headers)
    assert first.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    program = first.json()
    assert (program["status"], program["phase"], program["editable"]) == ("draft", "draft", "all")
    assert program["actions"] == ["edit", "publish"]
    assert program["check_reward"] == {
        **reward,
        "cost_fen": 6000,
        "text": "兑换券 2 张（价值 ¥60.00）",
    }
    assert program["completion_reward"]["text"] == "现金 ¥5.00"
    assert [sku["name"] for sku in program["skus"]] == [
        "澜泉 RO 净水器 RO-500",
        "澜泉 RO 净水器 滤芯",
    ]
    assert program["agreement_text"] == AGREEMENT and program["agreement_version"] == 1
    first_check = datetime.fromisoformat(payload["first_check_at"])
    assert [
        (c["id"], c["seq"], datetime.fromisoformat(c["opens_at"])) for c in program["checks"]
    ] == [(None, seq, first_check + timedelta(days=7 * (seq - 1))) for seq in range(1, 5)]
    closes = datetime.fromisoformat(program["checks"][-1]["closes_at"])
    assert closes == first_check + timedelta(days=24)
    assert await DisplayProgram.all().count() == 1
    assert await DisplayCheck.all().count() == 0


async def test_bad_programs_are_refused_field_by_field_and_nothing_is_written(client, deps) -> None:
    shop = await make_shop()
    other = await make_shop()
    now = deps.clock.now()
    headers = await admin(client, shop)
    reduction = await exchange_template(client, shop, kind="reduction")
    foreign_voucher = await exchange_template(client, other)
    region = await Region.create(brand=other.tenant.brand, name="华东")
    b = partial(body, shop, now)
    past = (now - timedelta(days=1)).isoformat()

    def voucher(template_id: int) -> dict[str, Any]:
        return {"kind": "voucher", "amount": 1, "template_id": template_id, "value_fen": 100}

    cases: list[tuple[Any, set[str]]] = [
        ({}, {"name", "sku_ids", "signup_from", "agreement_text"}),
        (b(name="陈" * 41, standard=""), {"name", "standard"}),
        (b(check_count="每周", budget_fen=[1]), {"check_count", "budget_fen"}),
        (b(sku_ids=[]), {"sku_ids"}),
        (b(sku_ids=list(range(1, 52))), {"sku_ids"}),
        (b(photos_required=10, distance_limit_m=10), {"photos_required", "distance_limit_m"}),
        (b(agreement_text="太短"), {"agreement_text"}),
        (
            b(sample_photos=[{"url": "javascript:alert(1)", "width": 8, "height": 6}]),
            {"sample_photos.0.url"},
        ),
        (b(extra=1), {"extra"}),
        (b(budget_fen=10**12), {"budget_fen"}),
        (b(signup_until=past), {"signup_until"}),
        (b(first_check_at=past), {"first_check_at"}),
        (b(check_window_days=8), {"check_window_days"}),
        (b(check_reward=None, completion_reward=None), {"check_reward"}),
        (b(check_reward={"kind": "points", "amount": 10_000_001}), {"check_reward.amount"}),
        (
            b(check_reward={"kind": "voucher", "amount": 11}),
            {"check_reward.amount", "check_reward.template_id", "check_reward.value_fen"},
        ),
        (
            b(check_reward={"kind": "cash", "amount": 1, "template_id": 3}),
            {"check_reward.template_id"},
        ),
        (b(sku_ids=[other.water]), {"sku_ids"}),
        (
            b(audience={"distributor_ids": [other.tenant.distributor.id]}),
            {"audience.distributor_ids"},
        ),
        (b(audience={"region_ids": [region.id]}), {"audience.region_ids"}),
        (b(completion_reward=voucher(reduction)), {"completion_reward.template_id"}),
        (b(completion_reward=voucher(foreign_voucher)), {"completion_reward.template_id"}),
    ]
    for n, (payload, fields) in enumerate(cases):
        keyed = {**headers, "Idempotency-Key": f"bad-{n}"}
        response = await client.post(f"{API}/programs", json=payload, headers=keyed)
        assert error(response) == (400, "display.invalid"), (payload, response.text)
        details = response.json()["error"]["details"]
        assert fields <= {item["field"] for item in details}, details
        assert all(set(item) == {"field", "message"} and item["message"] for item in details)
    not_json = await client.post(
        f"{API}/programs", content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert error(not_json) == (400, "display.invalid")
    unkeyed = {k: v for k, v in headers.items() if k != "Idempotency-Key"}
    no_key = await client.post(f"{API}/programs", json=b(), headers=unkeyed)
    assert error(no_key)[1] == "idempotency.key_required"
    assert await DisplayProgram.all().count() == 0
    assert await DisplayAgreement.all().count() == 0


async def test_publishing_writes_the_checks_once(client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    program = await published(client, shop, now)
    assert (program["status"], program["phase"], program["actions"]) == (
        "published",
        "signing",
        ["edit", "end"],
    )
    rows = await DisplayCheck.filter(program_id=program["id"]).order_by("seq")
    assert [c["id"] for c in program["checks"]] == [row.id for row in rows]
    first = datetime.fromisoformat(body(shop, now)["first_check_at"])
    assert [(r.seq, r.opens_at, r.closes_at) for r in rows] == [
        (s, first + timedelta(days=7 * (s - 1)), first + timedelta(days=7 * (s - 1) + 3))
        for s in range(1, 5)
    ]
    again = await client.post(
        f"{API}/programs/{program['id']}/publish", headers=await admin(client, shop)
    )
    assert error(again) == (409, "display.not_draft")
    assert await DisplayCheck.all().count() == 4
    past = now - timedelta(days=10)
    stale = await created(
        client,
        shop,
        now,
        signup_from=past.isoformat(),
        signup_until=(past + timedelta(days=1)).isoformat(),
        first_check_at=past.isoformat(),
    )
    late = await client.post(
        f"{API}/programs/{stale['id']}/publish", headers=await admin(client, shop)
    )
    assert error(late) == (400, "display.invalid")
    assert late.json()["error"]["details"][0]["field"] == "signup_until"
    assert (await DisplayProgram.get(id=stale["id"])).status == "draft"
    assert await DisplayCheck.all().count() == 4


async def test_before_any_signing_everything_may_change(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    headers = await admin(client, shop)
    draft = await created(client, shop, now)
    new_text = AGREEMENT + "（第二稿）"
    edited = await client.patch(
        f"{API}/programs/{draft['id']}", json={"agreement_text": new_text}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["agreement_version"], edited.json()["agreement_text"]) == (1, new_text)
    assert await DisplayAgreement.filter(program_id=draft["id"]).count() == 1

    program = await published(client, shop, now)
    third = AGREEMENT + "（第三稿）"
    changes = {"agreement_text": third, "check_count": 2, "name": "冬季端架陈列"}
    edited = await client.patch(f"{API}/programs/{program['id']}", json=changes, headers=headers)
    assert edited.status_code == 200, edited.text
    view = edited.json()
    assert (view["agreement_version"], view["agreement_text"], view["name"]) == (
        2,
        third,
        "冬季端架陈列",
    )
    assert [c["seq"] for c in view["checks"]] == [1, 2]
    assert await DisplayCheck.filter(program_id=program["id"]).count() == 2
    versions = await DisplayAgreement.filter(program_id=program["id"]).order_by("version")
    assert [(a.version, a.text) for a in versions] == [(1, AGREEMENT), (2, third)]
    nulled = await client.patch(
        f"{API}/programs/{program['id']}", json={"name": None}, headers=headers
    )
    assert error(nulled) == (400, "display.invalid")
    no_reward = await client.patch(
        f"{API}/programs/{program['id']}",
        json={"completion_reward": None, "check_reward": None},
        headers=headers,
    )
    assert error(no_reward) == (400, "display.invalid")
    assert (await DisplayProgram.get(id=program["id"])).completion_reward is not None
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    stale = await sign(client, owner, program)  # read version 1, now 2
    assert error(stale) == (409, "display.agreement_changed")
    assert (await sign(client, owner, view)).json()["id"] > 0
    signing = await DisplaySigning.get(program_id=program["id"])
    assert signing.terms["agreement_version"] == 2 and len(signing.terms["checks"]) == 2
    assert signing.terms["name"] == "冬季端架陈列"


async def test_after_a_signing_only_budget_places_and_deadline_move(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    headers = await admin(client, shop)
    program = await published(client, shop, now)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    assert (await sign(client, owner, program)).status_code == 201
    await DisplayProgram.filter(id=program["id"]).update(spent_fen=50_000)
    before = await DisplayProgram.get(id=program["id"])
    url = f"{API}/programs/{program['id']}"
    refused = [
        ({"name": "改名"}, "已有门店签约，活动条款不能再修改"),
        ({"agreement_text": AGREEMENT + "改"}, "已有门店签约，活动条款不能再修改"),
        ({"check_count": 2, "budget_fen": 2_000_000}, "已有门店签约，活动条款不能再修改"),
        ({"budget_fen": 49_999}, "预算不能低于已发放的 ¥500.00"),
        ({"max_stores": 0}, None),
        ({"signup_until": (now - timedelta(minutes=1)).isoformat()}, "报名截止时间不能早于现在"),
    ]
    for changes, message in refused:
        response = await client.patch(url, json=changes, headers=headers)
        if message is None:  # below the field's own bound: the payload itself is wrong
            assert error(response) == (400, "display.invalid")
            continue
        assert error(response) == (409, "display.terms_signed"), response.text
        assert response.json()["error"]["message"] == message
    await DisplayProgram.filter(id=program["id"]).update(max_stores=1)
    fewer = await client.patch(url, json={"max_stores": 1}, headers=headers)
    assert fewer.status_code == 200
    await DisplayProgram.filter(id=program["id"]).update(max_stores=10)
    below = await client.patch(url, json={"max_stores": 1, "budget_fen": 60_000}, headers=headers)
    assert below.status_code == 200  # 1 signed: 1 place is enough
    after = await DisplayProgram.get(id=program["id"])
    assert (after.name, after.check_count, after.agreement_version) == (
        before.name,
        before.check_count,
        1,
    )
    assert await DisplayAgreement.filter(program_id=program["id"]).count() == 1
    later = (now + timedelta(days=4)).isoformat()  # as late as the first check's close
    # The whole body sent back unchanged, as a form does, changes nothing it may not.
    same = {**body(shop, now), "budget_fen": 3_000_000, "max_stores": 20, "signup_until": later}
    response = await client.patch(url, json=same, headers=headers)
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["budget_fen"], view["max_stores"], view["editable"]) == (3_000_000, 20, "limited")
    assert datetime.fromisoformat(view["signup_until"]) == datetime.fromisoformat(later)
    assert view["spent_fen"] == 50_000 and view["signed_count"] == 1


async def test_signing_rules(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    headers = await admin(client, shop)
    program = await published(client, shop, now)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    # A clerk may not sign for the store.
    clerk_login = await wechat_login(client, sandbox_client, "display-clerk")
    await identity_service.grant_membership(
        clerk_login["identity"]["user_id"],
        Role.STORE_CLERK,
        shop.tenant.brand.id,
        distributor_id=shop.tenant.distributor.id,
        store_id=shop.tenant.store.id,
    )
    clerk = await wechat_login(client, sandbox_client, "display-clerk")
    assert (await sign(client, clerk, program)).status_code == 403
    assert error(await sign(client, owner, program, agreement_version=2)) == (
        409,
        "display.agreement_changed",
    )
    invalid = await sign(client, owner, program, agreed=False)
    assert invalid.status_code == 422
    signed = await sign(client, owner, program)
    assert signed.status_code == 201, signed.text
    view = signed.json()
    assert view["program"] == {
        "id": program["id"],
        "name": "夏季冰柜陈列",
        "status": "published",
        "phase": "signing",
    }
    assert (view["status"], view["passed_checks"], view["check_count"]) == ("active", 0, 4)
    assert view["next_check"]["seq"] == 1 and view["next_check"]["state"] == "upcoming"
    assert view["reward_totals"] == {"points": 0, "cash_fen": 0, "vouchers": 0}
    assert error(await sign(client, owner, program)) == (409, "display.already_signed")
    signing = await DisplaySigning.get(id=view["id"])
    assert (signing.signer_name, signing.signed_by_id, signing.distributor_id) == (
        "张三",
        owner["identity"]["user_id"],
        shop.tenant.distributor.id,
    )
    assert signing.terms["agreement_version"] == 1
    assert signing.terms["check_reward"]["text"] == "积分 200"
    assert [c["seq"] for c in signing.terms["checks"]] == [1, 2, 3, 4]
    assert signing.terms["skus"][0] == {"id": shop.water, "name": "澜泉 RO 净水器 RO-500"}
    assert (await DisplayProgram.get(id=program["id"])).signed_count == 1

    # Outside the audience, outside the window, a draft, ended, full.
    other_store = await make_store(shop.tenant, distributor=shop.tenant.other_distributor)
    outsider = await store_owner(client, sandbox_client, other_store)
    narrow = await published(
        client, shop, now, audience={"distributor_ids": [shop.tenant.distributor.id]}
    )
    assert error(await sign(client, outsider, narrow)) == (403, "display.not_eligible")
    later = await published(
        client,
        shop,
        now,
        signup_from=(now + timedelta(days=1)).isoformat(),
        first_check_at=(now + timedelta(days=2)).isoformat(),
    )
    assert error(await sign(client, outsider, later)) == (409, "display.not_open")
    draft = await created(client, shop, now)
    assert error(await sign(client, outsider, draft)) == (404, "display.program_not_found")
    one_place = await published(client, shop, now, max_stores=1)
    assert (await sign(client, owner, one_place)).status_code == 201
    assert error(await sign(client, outsider, one_place)) == (409, "display.full")
    ended = await client.post(f"{API}/programs/{narrow['id']}/end", headers=headers)
    assert ended.json()["status"] == "ended" and ended.json()["phase"] == "ended"
    assert error(await sign(client, owner, narrow)) == (409, "display.not_open")
    assert await DisplaySigning.filter(store_id=other_store.id).count() == 0


async def test_ending_a_program_ends_its_signings(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    headers = await admin(client, shop)
    program = await published(client, shop, now)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    signing_id = (await sign(client, owner, program)).json()["id"]
    ended = await client.post(f"{API}/programs/{program['id']}/end", headers=headers)
    assert ended.status_code == 200 and ended.json()["actions"] == []
    assert (await DisplaySigning.get(id=signing_id)).status == "ended"
    again = await client.post(f"{API}/programs/{program['id']}/end", headers=headers)
    assert error(again) == (409, "display.not_published")
    edit = await client.patch(
        f"{API}/programs/{program['id']}", json={"budget_fen": 5}, headers=headers
    )
    assert error(edit) == (409, "display.ended")
    detail = (await client.get(f"{API}/mine/{signing_id}", headers=bearer(owner))).json()
    assert {c["state"] for c in detail["checks"]} == {"missed"}
    assert detail["next_check"] is None


# ---- who reads what ------------------------------------------------------------------------------


async def test_other_tenants_see_nothing(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    other = await make_shop()
    now = deps.clock.now()
    program = await published(client, shop, now)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    signing_id = (await sign(client, owner, program)).json()["id"]
    stranger = await admin(client, other)
    for url in (
        f"{API}/programs/{program['id']}",
        f"{API}/programs/{program['id']}/signings",
        f"{API}/signings/{signing_id}/document",
    ):
        assert (await client.get(url, headers=stranger)).status_code == 404, url
    patch = await client.patch(
        f"{API}/programs/{program['id']}", json={"name": "抢改"}, headers=stranger
    )
    assert error(patch) == (404, "display.program_not_found")
    assert (await client.get(f"{API}/programs", headers=stranger)).json()["items"] == []
    foreign_owner = await store_owner(client, sandbox_client, other.tenant.store)
    seen = await client.get(f"{API}/store/programs/{program['id']}", headers=bearer(foreign_owner))
    assert error(seen) == (404, "display.program_not_found")
    assert error(await sign(client, foreign_owner, program)) == (404, "display.program_not_found")
    mine = await client.get(f"{API}/mine/{signing_id}", headers=bearer(foreign_owner))
    assert error(mine) == (404, "display.signing_not_found")
    document = await client.get(
        f"{API}/signings/{signing_id}/document", headers=bearer(foreign_owner)
    )
    assert error(document) == (404, "display.signing_not_found")


async def test_distributor_staff_read_programs_out_to_them(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    tenant = shop.tenant
    everyone = await published(client, shop, now, name="全部门店")
    theirs = await published(
        client, shop, now, name="本经销商", audience={"distributor_ids": [tenant.distributor.id]}
    )
    others = await published(
        client,
        shop,
        now,
        name="其他经销商",
        audience={"distributor_ids": [tenant.other_distributor.id]},
    )
    await created(client, shop, now, name="草稿")
    staff = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    )
    listed = (await client.get(f"{API}/programs?limit=1", headers=staff)).json()
    assert [p["id"] for p in listed["items"]] == [theirs["id"]]
    rest = await client.get(f"{API}/programs?before={listed['next_before']}", headers=staff)
    assert [p["id"] for p in rest.json()["items"]] == [everyone["id"]]
    assert "agreement_text" not in listed["items"][0] and "checks" not in listed["items"][0]
    read = await client.get(f"{API}/programs/{everyone['id']}", headers=staff)
    assert read.status_code == 200 and read.json()["actions"] == []  # they read, never act
    assert listed["items"][0]["actions"] == []
    assert (await client.get(f"{API}/programs/{others['id']}", headers=staff)).status_code == 404
    brand_list = await client.get(f"{API}/programs?status=draft", headers=await admin(client, shop))
    assert [p["name"] for p in brand_list.json()["items"]] == ["草稿"]
    searched = await client.get(f"{API}/programs?q=经销商", headers=await admin(client, shop))
    assert [p["name"] for p in searched.json()["items"]] == ["其他经销商", "本经销商"]

    # Signings: the staff see their own distributor's stores only.
    region = await Region.create(brand=tenant.brand, name="华东")
    await Store.filter(id=tenant.store.id).update(region_id=region.id)
    owner = await store_owner(client, sandbox_client, tenant.store)
    mine_id = (await sign(client, owner, everyone)).json()["id"]
    elsewhere = await make_store(tenant, distributor=tenant.other_distributor)
    other_owner = await store_owner(client, sandbox_client, elsewhere)
    other_id = (await sign(client, other_owner, everyone)).json()["id"]
    rows = (await client.get(f"{API}/programs/{everyone['id']}/signings", headers=staff)).json()
    assert [row["id"] for row in rows["items"]] == [mine_id]
    assert rows["items"][0]["store"] == {"id": tenant.store.id, "name": tenant.store.name}
    assert rows["items"][0]["region"] == {"id": region.id, "name": "华东"}
    assert rows["items"][0]["distributor"]["name"] == tenant.distributor.name
    brand_rows = await client.get(
        f"{API}/programs/{everyone['id']}/signings?distributor_id={tenant.other_distributor.id}",
        headers=await admin(client, shop),
    )
    assert [row["id"] for row in brand_rows.json()["items"]] == [other_id]
    assert brand_rows.json()["items"][0]["region"] is None
    # The signed document: brand, the store's distributor, the store; nobody else.
    url = f"{API}/signings/{other_id}/document"
    assert error(await client.get(url, headers=staff)) == (404, "display.signing_not_found")
    assert error(await client.get(url, headers=bearer(owner))) == (404, "display.signing_not_found")
    for headers in (await admin(client, shop), bearer(other_owner)):
        document = await client.get(url, headers=headers)
        assert document.status_code == 200, document.text
    doc = document.json()
    assert doc["store"] == {
        "id": elsewhere.id,
        "name": elsewhere.name,
        "address": "文一西路1号",
        "contact_name": "",
    }
    assert doc["brand"] == {"id": tenant.brand.id, "name": tenant.brand.name}
    assert (doc["signer_name"], doc["agreement_version"], doc["agreement_text"]) == (
        "张三",
        1,
        AGREEMENT,
    )
    assert doc["signer_phone"] == elsewhere.phone
    assert doc["terms"]["name"] == "全部门店" and doc["terms"]["photos_required"] == 2
    distributor_doc = await client.get(f"{API}/signings/{mine_id}/document", headers=staff)
    assert distributor_doc.status_code == 200


# ---- the store's views ---------------------------------------------------------------------------


async def test_the_store_sees_what_it_may_sign(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    tenant = shop.tenant
    await Store.filter(id=tenant.store.id).update(tier="A")
    owner = await store_owner(client, sandbox_client, tenant.store)
    open_ = await published(client, shop, now, name="可报名")
    tier_b = await published(client, shop, now, name="B类门店", audience={"tiers": ["B"]})
    full = await published(client, shop, now, name="已满", max_stores=1)
    other_store = await make_store(tenant)
    assert (
        await sign(client, await store_owner(client, sandbox_client, other_store), full)
    ).status_code == 201
    closed = await published(
        client,
        shop,
        now,
        name="未开始",
        signup_from=(now + timedelta(days=1)).isoformat(),
        first_check_at=(now + timedelta(days=1)).isoformat(),
    )
    await created(client, shop, now, name="草稿")
    listed = (await client.get(f"{API}/open", headers=bearer(owner))).json()["items"]
    assert [p["name"] for p in listed] == ["可报名"]
    assert listed[0]["state"] == "open" and listed[0]["places_left"] == 10
    assert listed[0]["agreement_text"] == AGREEMENT

    async def state(program: dict[str, Any]) -> tuple[str, int | None]:
        response = await client.get(f"{API}/store/programs/{program['id']}", headers=bearer(owner))
        assert response.status_code == 200, response.text
        return response.json()["state"], response.json()["signing_id"]

    assert await state(open_) == ("open", None)
    assert await state(tier_b) == ("not_eligible", None)
    assert await state(full) == ("full", None)
    assert await state(closed) == ("closed", None)
    signing_id = (await sign(client, owner, open_)).json()["id"]
    assert await state(open_) == ("signed", signing_id)
    assert (await client.get(f"{API}/open", headers=bearer(owner))).json()["items"] == []


async def _submission(
    signing: DisplaySigning, check: DisplayCheck, status: str, attempt: int, at: datetime
) -> DisplaySubmission:
    submission = await DisplaySubmission.create(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        program_id=signing.program_id,  # type: ignore[attr-defined]
        signing=signing,
        display_check=check,
        store_id=signing.store_id,  # type: ignore[attr-defined]
        attempt=attempt,
        status=status,
        verdict="failed" if status == "failed" else "review",
        reasons=[{"code": "needs_person", "message": "需要人工审核", "photo_id": None}],
        submitted_by_id=signing.signed_by_id,  # type: ignore[attr-defined]
        submitted_at=at,
    )
    await DisplayPhoto.create(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        store_id=signing.store_id,  # type: ignore[attr-defined]
        submission=submission,
        key=f"display/{signing.id}/{submission.id}.jpg",
        content_type="image/jpeg",
        size_bytes=1000,
        width=800,
        height=600,
        taken_at=at,
        latitude=30.27,
        longitude=120.15,
        phash=1,
        brightness=120.0,
        sharpness=300.0,
        created_at=at,
    )
    return submission


async def test_my_signings_show_each_checks_state(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    program = await published(
        client,
        shop,
        now,
        check_count=5,
        check_interval_days=1,
        check_window_days=1,
        first_check_at=(now - timedelta(minutes=30)).isoformat(),
        signup_until=(now + timedelta(hours=12)).isoformat(),
    )
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    signing_id = (await sign(client, owner, program)).json()["id"]
    signing = await DisplaySigning.get(id=signing_id)
    checks = await DisplayCheck.filter(program_id=program["id"]).order_by("seq")
    # Four days later: checks 1–4 have opened (1–3 closed), 5 has not.
    deps.clock.advance(days=3, hours=1)
    at = deps.clock.now()
    owner = await wechat_login(client, sandbox_client, f"owner-of-{shop.tenant.store.id}")
    passed = await _submission(signing, checks[0], "passed", 1, at)
    await _submission(signing, checks[1], "failed", 1, at)
    await _submission(signing, checks[1], "rejected", 2, at)
    await _submission(signing, checks[2], "review", 1, at)
    await _submission(signing, checks[3], "failed", 1, at)
    reward = await DisplayReward.create(
        brand_id=signing.brand_id,  # type: ignore[attr-defined]
        program_id=program["id"],
        signing=signing,
        store_id=signing.store_id,  # type: ignore[attr-defined]
        check_seq=1,
        submission_id=passed.id,
        kind="points",
        amount=200,
        cost_fen=200,
        created_at=at,
    )
    await DisplaySigning.filter(id=signing_id).update(passed_checks=1)
    detail = await client.get(f"{API}/mine/{signing_id}", headers=bearer(owner))
    assert detail.status_code == 200, detail.text
    view = detail.json()
    assert [(c["seq"], c["state"], c["can_submit"], c["attempts"]) for c in view["checks"]] == [
        (1, "passed", False, 1),
        (2, "missed", False, 2),
        (3, "review", False, 1),
        (4, "open", True, 1),
        (5, "upcoming", False, 0),
    ]
    first = view["checks"][0]["submission"]
    assert (first["id"], first["status"], first["check_seq"]) == (passed.id, "passed", 1)
    assert first["reward"]["text"] == "积分 200" and first["reward"]["id"] == reward.id
    assert first["photos"][0]["url"].endswith(f"display/{signing_id}/{passed.id}.jpg")
    assert view["checks"][1]["submission"]["status"] == "rejected"
    assert view["checks"][4]["submission"] is None
    assert view["next_check"]["seq"] == 4
    assert view["rewards"] == [
        {
            "id": reward.id,
            "check_seq": 1,
            "kind": "points",
            "amount": 200,
            "cost_fen": 200,
            "text": "积分 200",
            "coupon_ids": [],
            "created_at": reward.created_at.isoformat(),
        }
    ]
    assert view["terms"]["name"] == "夏季冰柜陈列"
    assert view["reward_totals"] == {"points": 200, "cash_fen": 0, "vouchers": 0}
    assert view["passed_checks"] == 1 and view["program"]["phase"] == "running"
    listed = (await client.get(f"{API}/mine", headers=bearer(owner))).json()["items"]
    assert [item["id"] for item in listed] == [signing_id]
    assert listed[0]["next_check"] == view["checks"][3]
    assert "checks" not in listed[0]


# ---- many at once --------------------------------------------------------------------------------


async def test_places_are_never_oversold(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    program = await published(client, shop, now, max_stores=3)
    stores = [shop.tenant.store, *[await make_store(shop.tenant) for _ in range(9)]]
    owners = [await store_owner(client, sandbox_client, store) for store in stores]
    responses = await asyncio.gather(*(sign(client, owner, program) for owner in owners))
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 7
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "display.full"
    }
    assert (await DisplayProgram.get(id=program["id"])).signed_count == 3
    assert await DisplaySigning.filter(program_id=program["id"]).count() == 3


async def test_one_store_signing_twice_at_once_signs_once(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    now = deps.clock.now()
    program = await published(client, shop, now)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    responses = await asyncio.gather(*(sign(client, owner, program) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "display.already_signed"
    }
    assert (await DisplayProgram.get(id=program["id"])).signed_count == 1
    assert await DisplaySigning.filter(program_id=program["id"]).count() == 1


async def test_an_unknown_distributor_is_kept_out(client, deps) -> None:
    """Another distributor of the same brand created after is still the brand's own."""
    shop = await make_shop()
    now = deps.clock.now()
    later = await Distributor.create(brand=shop.tenant.brand, name="新经销商")
    program = await created(client, shop, now, audience={"distributor_ids": [later.id]})
    assert program["audience"]["distributor_ids"] == [later.id]
    assert datetime.fromisoformat(program["signup_from"]).tzinfo is not None
