"""The brand's onboarding desk over the API: box-code print runs and their sheets,
salespeople's invitation codes, and the review queue with suspected duplicates side by side.
Brand staff only; another brand's runs, salespeople and applications are not found."""

from __future__ import annotations

from typing import Any

from backend.demo.onboarding import seed_onboarding
from backend.identity.models import Role, User
from backend.identity.tokens import Principal
from backend.org.models import OnboardingBatch, OnboardingCode, Salesperson, Store, StoreApplication
from tests.factories import bearer, make_staff, make_tenant, staff_headers, wechat_login
from tests.test_onboarding import application

BATCHES = "/api/v1/onboarding/box-code-batches"
INVITATIONS = "/api/v1/onboarding/invitations"
APPLICATIONS = "/api/v1/onboarding/applications"


async def make_batch(client, headers, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/onboarding/box-codes", json={"count": 3, **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def apply(client, sandbox_client, token: str, persona: str, **fields: Any) -> dict[str, Any]:
    owner = await wechat_login(client, sandbox_client, persona)
    response = await client.post(
        APPLICATIONS, json=application(token, **fields), headers=bearer(owner)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_print_run_is_listed_with_its_used_codes_and_its_sheet_paged(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    first = await make_batch(client, brand, count=2)
    made = await make_batch(
        client,
        {**brand, "Idempotency-Key": "run-1"},
        count=5,
        distributor_id=tenant.distributor.id,
        batch="2026年12月",
    )
    assert made["batch"]["count"] == 5 and len(made["items"]) == 5
    assert made["batch"]["distributor"] == {
        "id": tenant.distributor.id,
        "name": tenant.distributor.name,
    }
    # A retried click with the same key answers the same run and makes no other codes.
    again = await client.post(
        "/api/v1/onboarding/box-codes",
        json={"count": 5, "distributor_id": tenant.distributor.id, "batch": "2026年12月"},
        headers={**brand, "Idempotency-Key": "run-1"},
    )
    assert again.status_code == 201 and again.json()["batch"]["id"] == made["batch"]["id"]
    assert await OnboardingCode.filter(brand_id=tenant.brand.id).count() == 7

    await apply(client, sandbox_client, made["items"][0]["token"], "desk-a")
    listed = (await client.get(BATCHES, headers=brand)).json()
    assert [(b["id"], b["name"], b["count"], b["used"]) for b in listed["items"]] == [
        (made["batch"]["id"], "2026年12月", 5, 1),
        (first["batch"]["id"], first["batch"]["name"], 2, 0),
    ]
    assert first["batch"]["name"].startswith("开箱码 ")
    paged = (await client.get(BATCHES, params={"limit": 1}, headers=brand)).json()
    assert paged["next_before"] == made["batch"]["id"]
    rest = await client.get(BATCHES, params={"before": paged["next_before"]}, headers=brand)
    assert [b["id"] for b in rest.json()["items"]] == [first["batch"]["id"]]
    only = await client.get(
        BATCHES, params={"distributor_id": tenant.distributor.id}, headers=brand
    )
    assert [b["id"] for b in only.json()["items"]] == [made["batch"]["id"]]

    sheet = (
        await client.get(
            f"{BATCHES}/{made['batch']['id']}/sheet", params={"limit": 3}, headers=brand
        )
    ).json()
    assert [c["id"] for c in sheet["items"]] == [c["id"] for c in made["items"][:3]]
    assert sheet["next_after"] == made["items"][2]["id"]
    code = sheet["items"][0]
    assert code["short_code"].startswith("K-") and "/join/" in code["url"]
    rest_of_sheet = await client.get(
        f"{BATCHES}/{made['batch']['id']}/sheet",
        params={"after": sheet["next_after"]},
        headers=brand,
    )
    assert [c["id"] for c in rest_of_sheet.json()["items"]] == [c["id"] for c in made["items"][3:]]
    assert rest_of_sheet.json()["next_after"] is None


async def test_a_print_run_is_capped_and_bad_input_makes_no_codes(client) -> None:
    tenant = await make_tenant()
    theirs = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    too_many = await client.post(
        "/api/v1/onboarding/box-codes", json={"count": 1001}, headers=brand
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["message"] == "每批最多生成 1000 个开箱码"
    for body in ({"count": 0}, {"count": "many"}, {"count": 2, "batch": "x" * 33}, {}):
        bad = await client.post("/api/v1/onboarding/box-codes", json=body, headers=brand)
        assert bad.status_code == 422, body
    elsewhere = await client.post(
        "/api/v1/onboarding/box-codes",
        json={"count": 2, "distributor_id": theirs.distributor.id},
        headers=brand,
    )
    assert elsewhere.status_code == 404
    assert await OnboardingCode.all().count() == 0
    assert await OnboardingBatch.all().count() == 0


async def test_distributor_staff_and_other_brands_reach_none_of_the_desk(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    theirs = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    ops = await staff_headers(client, await make_staff(tenant.brand.id, Role.BRAND_OPS))
    run = (await make_batch(client, brand))["batch"]
    submitted = await apply(
        client, sandbox_client, (await make_batch(client, brand))["items"][0]["token"], "desk-b"
    )
    dealer = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    reads = [
        BATCHES,
        f"{BATCHES}/{run['id']}",
        f"{BATCHES}/{run['id']}/sheet",
        INVITATIONS,
        f"{INVITATIONS}/sheet?ids={tenant.salesperson.id}",
        APPLICATIONS,
        f"{APPLICATIONS}/{submitted['id']}",
    ]
    for path in reads:
        refused = await client.get(path, headers=dealer)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "auth.role_required"
        assert (await client.get(path, headers=ops)).status_code == 200, path
    writes = [
        ("/api/v1/onboarding/box-codes", {"count": 1}),
        (INVITATIONS, {"salesperson_ids": [tenant.salesperson.id]}),
        (f"{APPLICATIONS}/{submitted['id']}/approve", {"distributor_id": tenant.distributor.id}),
        (f"{APPLICATIONS}/{submitted['id']}/reject", {"reason": "不通过"}),
    ]
    for path, body in writes:
        assert (await client.post(path, json=body, headers=dealer)).status_code == 403, path

    other = await staff_headers(client, theirs.admin_username)
    for path in reads[1:3] + reads[-1:]:
        assert (await client.get(path, headers=other)).status_code == 404, path
    assert (await client.get(BATCHES, headers=other)).json()["items"] == []
    assert (await client.get(APPLICATIONS, headers=other)).json()["items"] == []
    for path, body in writes[1:]:
        assert (await client.post(path, json=body, headers=other)).status_code == 404, path
    assert (
        await client.get(f"{INVITATIONS}/sheet?ids={tenant.salesperson.id}", headers=other)
    ).status_code == 404
    assert await OnboardingCode.filter(kind="salesperson_invite").count() == 0
    assert (await StoreApplication.get(id=submitted["id"])).status == "pending"
    assert await OnboardingBatch.filter(brand_id=tenant.brand.id).count() == 2


async def test_salespeople_get_one_invitation_code_each_and_print_them(client) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    colleague = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.other_distributor, name="李娜", phone="13900000088"
    )
    listed = (await client.get(INVITATIONS, headers=brand)).json()["items"]
    assert [(p["id"], p["code"]) for p in listed] == [
        (tenant.salesperson.id, None),
        (colleague.id, None),
    ]
    made = await client.post(
        INVITATIONS,
        json={"salesperson_ids": [tenant.salesperson.id, colleague.id]},
        headers={**brand, "Idempotency-Key": "inv-1"},
    )
    assert made.status_code == 201, made.text
    codes = {c["salesperson_id"]: c for c in made.json()["items"]}
    again = await client.post(INVITATIONS, json={"salesperson_ids": [colleague.id]}, headers=brand)
    assert again.json()["items"][0]["token"] == codes[colleague.id]["token"]
    assert await OnboardingCode.filter(kind="salesperson_invite").count() == 2

    by_distributor = (
        await client.get(
            INVITATIONS, params={"distributor_id": tenant.other_distributor.id}, headers=brand
        )
    ).json()["items"]
    assert [(p["id"], p["distributor_name"]) for p in by_distributor] == [
        (colleague.id, tenant.other_distributor.name)
    ]
    assert by_distributor[0]["code"]["short_code"] == codes[colleague.id]["short_code"]
    sheet = await client.get(
        f"{INVITATIONS}/sheet",
        params={"ids": f"{colleague.id},{tenant.salesperson.id}"},
        headers=brand,
    )
    assert [(c["salesperson_name"], c["token"]) for c in sheet.json()["items"]] == [
        ("王磊", codes[tenant.salesperson.id]["token"]),
        ("李娜", codes[colleague.id]["token"]),
    ]

    # An unknown salesperson among the chosen: nothing is made; bad lists are 422.
    unknown = await client.post(
        INVITATIONS, json={"salesperson_ids": [tenant.salesperson.id, 999_999]}, headers=brand
    )
    assert unknown.status_code == 404
    for body in ({"salesperson_ids": []}, {"salesperson_ids": ["x"]}, {}):
        assert (await client.post(INVITATIONS, json=body, headers=brand)).status_code == 422
    for ids in ("", "1,,2", "a", ",".join(["1"] * 201)):
        bad = await client.get(f"{INVITATIONS}/sheet", params={"ids": ids}, headers=brand)
        assert bad.status_code == 422, ids
    assert await OnboardingCode.filter(kind="salesperson_invite").count() == 2


async def test_the_queue_is_newest_first_and_flags_duplicates_side_by_side(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    run = await make_batch(client, brand, count=4, distributor_id=tenant.distributor.id)
    tokens = [c["token"] for c in run["items"]]
    plain = await apply(
        client,
        sandbox_client,
        tokens[0],
        "q-plain",
        phone="13600000001",
        business_licence_no=None,
        store_name="顺发建材",
        address="莫干山路8号",
    )
    # The same phone as an existing store.
    same_phone = await apply(
        client,
        sandbox_client,
        tokens[1],
        "q-phone",
        phone=tenant.store.phone,
        business_licence_no=None,
        store_name="新店",
    )
    # The same name and address (spaces aside) as the first, pending, application.
    same_shop = await apply(
        client,
        sandbox_client,
        tokens[2],
        "q-shop",
        phone="13600000003",
        business_licence_no=None,
        store_name="顺发建材",
        address="莫干山路 8号",
    )

    queue = (await client.get(APPLICATIONS, params={"status": "pending"}, headers=brand)).json()
    rows = {row["id"]: row for row in queue["items"]}
    assert list(rows) == [same_shop["id"], same_phone["id"], plain["id"]]
    assert rows[same_phone["id"]]["duplicates"] == [
        {"kind": "store", "id": tenant.store.id, "reasons": ["phone"]}
    ]
    assert rows[same_shop["id"]]["duplicates"] == [
        {"kind": "application", "id": plain["id"], "reasons": ["name_address"]}
    ]
    # The earlier application is flagged too, now that a later one looks like it.
    assert rows[plain["id"]]["duplicates"] == [
        {"kind": "application", "id": same_shop["id"], "reasons": ["name_address"]}
    ]
    assert rows[plain["id"]]["source"]["kind"] == "box"
    assert rows[plain["id"]]["source"]["short_code"].startswith("K-")
    assert rows[plain["id"]]["suggested_distributor_name"] == tenant.distributor.name
    paged = (await client.get(APPLICATIONS, params={"limit": 2}, headers=brand)).json()
    assert paged["next_before"] == same_phone["id"]
    last = await client.get(APPLICATIONS, params={"before": paged["next_before"]}, headers=brand)
    assert [row["id"] for row in last.json()["items"]] == [plain["id"]]

    detail = (await client.get(f"{APPLICATIONS}/{same_phone['id']}", headers=brand)).json()
    [store] = detail["duplicates"]
    assert (store["kind"], store["store_name"], store["phone"], store["distributor_name"]) == (
        "store",
        tenant.store.name,
        tenant.store.phone,
        tenant.distributor.name,
    )
    assert store["salesperson_name"] == "王磊"
    assert detail["suggested"] == {"distributor_id": tenant.distributor.id, "salesperson_id": None}

    # Approved, the application is no longer the other's pending duplicate, and the store it
    # became is not its own.
    approved = await client.post(
        f"{APPLICATIONS}/{plain['id']}/approve",
        json={"distributor_id": tenant.distributor.id, "salesperson_id": tenant.salesperson.id},
        headers=brand,
    )
    assert approved.status_code == 200, approved.text
    after = (await client.get(f"{APPLICATIONS}/{same_shop['id']}", headers=brand)).json()
    assert [(d["kind"], d["id"]) for d in after["duplicates"]] == [
        ("store", approved.json()["store_id"])
    ]
    mine = (await client.get(f"{APPLICATIONS}/{plain['id']}", headers=brand)).json()
    assert [(d["kind"], d["id"]) for d in mine["duplicates"]] == [("application", same_shop["id"])]
    bad = await client.get(APPLICATIONS, params={"before": "x"}, headers=brand)
    assert bad.status_code == 422


async def test_a_decision_is_made_once_and_a_retry_replays_it(client, sandbox_client) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    run = await make_batch(client, brand, count=2)
    first = await apply(
        client, sandbox_client, run["items"][0]["token"], "d-one", phone="13600000011"
    )
    second = await apply(
        client, sandbox_client, run["items"][1]["token"], "d-two", phone="13600000012"
    )
    outsider = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.other_distributor, name="赵六", phone="13900000099"
    )

    wrong = await client.post(
        f"{APPLICATIONS}/{first['id']}/approve",
        json={"distributor_id": tenant.distributor.id, "salesperson_id": outsider.id},
        headers=brand,
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "org.salesperson_not_in_distributor"
    assert (await StoreApplication.get(id=first["id"])).status == "pending"

    body = {"distributor_id": tenant.distributor.id, "salesperson_id": tenant.salesperson.id}
    keyed = {**brand, "Idempotency-Key": "approve-1"}
    approved = await client.post(f"{APPLICATIONS}/{first['id']}/approve", json=body, headers=keyed)
    replay = await client.post(f"{APPLICATIONS}/{first['id']}/approve", json=body, headers=keyed)
    assert approved.status_code == replay.status_code == 200
    assert replay.json()["store_id"] == approved.json()["store_id"]
    store = await Store.get(id=approved.json()["store_id"])
    assert (store.distributor_id, store.salesperson_id) == (  # type: ignore[attr-defined]
        tenant.distributor.id,
        tenant.salesperson.id,
    )
    refused = await client.post(
        f"{APPLICATIONS}/{first['id']}/reject", json={"reason": "重复"}, headers=brand
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "该申请已审核，不能重复处理"

    for reason in ("", "   ", "x" * 201):
        blank = await client.post(
            f"{APPLICATIONS}/{second['id']}/reject", json={"reason": reason}, headers=brand
        )
        assert blank.status_code == 422, reason
    assert (await StoreApplication.get(id=second["id"])).status == "pending"
    rejected = await client.post(
        f"{APPLICATIONS}/{second['id']}/reject",
        json={"reason": "门头照片不清晰"},
        headers={**brand, "Idempotency-Key": "reject-1"},
    )
    assert rejected.json()["reject_reason"] == "门头照片不清晰"
    twice = await client.post(f"{APPLICATIONS}/{second['id']}/approve", json=body, headers=brand)
    assert twice.status_code == 409
    assert await Store.filter(brand_id=tenant.brand.id).count() == 2  # the tenant's and one


async def test_the_demo_has_runs_invitations_and_a_look_alike_waiting(client, deps) -> None:
    tenant = await make_tenant()
    admin = await make_staff(tenant.brand.id, Role.BRAND_ADMIN)
    user = await User.get(username=admin)
    acting = Principal(
        user_id=user.id, session_id="t", role="brand_admin", brand_id=tenant.brand.id
    )
    colleague = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李娜", phone="13900000077"
    )
    await seed_onboarding(
        deps,
        acting,
        [tenant.distributor.id, tenant.other_distributor.id],
        [tenant.salesperson.id, colleague.id],
    )
    brand = await staff_headers(client, admin)
    runs = (await client.get(BATCHES, headers=brand)).json()["items"]
    assert [(r["count"], r["used"]) for r in runs] == [(24, 0), (48, 1)]  # one rejected: freed
    queue = (await client.get(APPLICATIONS, params={"status": "pending"}, headers=brand)).json()
    assert len(queue["items"]) == 3
    assert [d["id"] for row in queue["items"] for d in row["duplicates"]] == [tenant.store.id]
    rejected = (await client.get(APPLICATIONS, params={"status": "rejected"}, headers=brand)).json()
    assert rejected["items"][0]["reject_reason"].startswith("营业执照照片不清晰")
