"""Stores join by box code or invitation, the brand reviews, duplicates are caught."""

from __future__ import annotations

import asyncio
from typing import Any

from backend.identity.models import Membership
from backend.org.models import OnboardingCode, Salesperson, Store, StoreApplication
from tests.factories import bearer, make_tenant, phone_code, staff_headers, wechat_login


def application(code: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "store_name": "鑫旺五金店",
        "contact_name": "赵老板",
        "phone": "13611112222",
        "business_licence_no": "91330100MA2H0X1234",
        "address": "杭州市西湖区文一西路100号",
        "latitude": 30.28,
        "longitude": 120.12,
    }
    body.update(overrides)
    return body


async def box_code(client, headers, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/onboarding/box-codes", json={"count": 1, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["items"][0]


async def apply_with_box_code(client, brand_headers, owner, **overrides: Any) -> dict[str, Any]:
    token = (await box_code(client, brand_headers))["token"]
    response = await client.post(
        "/api/v1/onboarding/applications",
        json=application(token, **overrides),
        headers=bearer(owner),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_box_code_to_approved_store(client, sandbox_client) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    code = await box_code(client, brand, distributor_id=tenant.distributor.id, batch="2026-11")
    owner = await wechat_login(client, sandbox_client, "zhao")

    scanned = await client.get(f"/api/v1/onboarding/codes/{code['token']}", headers=bearer(owner))
    assert scanned.status_code == 200
    assert scanned.json()["brand"]["id"] == tenant.brand.id
    assert scanned.json()["distributor"]["id"] == tenant.distributor.id
    assert scanned.json()["usable"] is True

    submitted = await client.post(
        "/api/v1/onboarding/applications", json=application(code["token"]), headers=bearer(owner)
    )
    assert submitted.status_code == 201, submitted.text
    created = submitted.json()
    assert created["status"] == "pending"
    assert created["suggested_distributor_id"] == tenant.distributor.id
    assert created["duplicate_flags"] == []
    mine = (await client.get("/api/v1/onboarding/applications/mine", headers=bearer(owner))).json()[
        "items"
    ]
    assert [a["id"] for a in mine] == [created["id"]]

    queue = (
        await client.get("/api/v1/onboarding/applications?status=pending", headers=brand)
    ).json()["items"]
    assert [a["id"] for a in queue] == [created["id"]]
    approved = await client.post(
        f"/api/v1/onboarding/applications/{created['id']}/approve",
        json={
            "distributor_id": tenant.distributor.id,
            "salesperson_id": tenant.salesperson.id,
            "tier": "B",
        },
        headers=brand,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    store = await Store.get(id=approved.json()["store_id"])
    assert (store.name, store.tier, store.distributor_id, store.salesperson_id) == (
        "鑫旺五金店",
        "B",
        tenant.distributor.id,
        tenant.salesperson.id,
    )
    assert store.owner_id == owner["identity"]["user_id"]

    # The owner's next sign-in lands in the new store, and sees only it.
    again = await wechat_login(client, sandbox_client, "zhao")
    assert again["identity"]["role"] == "store_owner" and again["identity"]["store_id"] == store.id
    stores = (await client.get("/api/v1/stores", headers=bearer(again))).json()["items"]
    assert [s["id"] for s in stores] == [store.id]
    mine = (await client.get("/api/v1/onboarding/applications/mine", headers=bearer(again))).json()[
        "items"
    ]
    assert mine[0]["status"] == "approved" and mine[0]["store_id"] == store.id


async def test_qr_png_is_rendered_for_genuine_tokens_only(client) -> None:
    tenant = await make_tenant()
    code = await box_code(client, await staff_headers(client, tenant.admin_username))
    png = await client.get(f"/api/v1/onboarding/codes/{code['token']}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    forged = code["token"][:-3] + ("AAA" if not code["token"].endswith("AAA") else "BBB")
    bad = await client.get(f"/api/v1/onboarding/codes/{forged}/qr.png")
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "onboarding.code_invalid"


async def test_forged_or_unknown_code_cannot_start_an_application(client, sandbox_client) -> None:
    await make_tenant()
    owner = await wechat_login(client, sandbox_client, "qian")
    for token in ("nonsense", "abc.def", "x" * 200):
        response = await client.post(
            "/api/v1/onboarding/applications", json=application(token), headers=bearer(owner)
        )
        assert response.status_code in (404, 422), token
    assert await StoreApplication.all().count() == 0


async def test_second_application_while_pending_is_409_and_nothing_changes(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    first_code, second_code = await box_code(client, brand), await box_code(client, brand)
    owner = await wechat_login(client, sandbox_client, "sun")
    ok = await client.post(
        "/api/v1/onboarding/applications",
        json=application(first_code["token"]),
        headers=bearer(owner),
    )
    assert ok.status_code == 201
    again = await client.post(
        "/api/v1/onboarding/applications",
        json=application(second_code["token"]),
        headers=bearer(owner),
    )
    assert (
        again.status_code == 409
        and again.json()["error"]["code"] == "onboarding.application_pending"
    )
    assert await StoreApplication.all().count() == 1
    # The failed attempt did not spend the second box code.
    assert (await OnboardingCode.get(id=second_code["id"])).uses == 0


async def test_concurrent_duplicate_submissions_create_one_application(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    salesperson = await wechat_login(client, sandbox_client, "sales-li")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(salesperson))
    salesperson = await wechat_login(client, sandbox_client, "sales-li")
    invite = (
        await client.post("/api/v1/onboarding/invitation", headers=bearer(salesperson))
    ).json()
    owner = await wechat_login(client, sandbox_client, "zhou")
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/onboarding/applications",
                json=application(invite["token"]),
                headers=bearer(owner),
            )
            for _ in range(12)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 11
    assert await StoreApplication.all().count() == 1


async def test_box_code_is_single_use_across_people(client, sandbox_client) -> None:
    tenant = await make_tenant()
    code = await box_code(client, await staff_headers(client, tenant.admin_username))
    first = await wechat_login(client, sandbox_client, "wu")
    second = await wechat_login(client, sandbox_client, "zheng")
    assert (
        await client.post(
            "/api/v1/onboarding/applications",
            json=application(code["token"]),
            headers=bearer(first),
        )
    ).status_code == 201
    taken = await client.post(
        "/api/v1/onboarding/applications",
        json=application(code["token"], phone="13611113333"),
        headers=bearer(second),
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "onboarding.code_used"
    assert await StoreApplication.all().count() == 1


async def test_concurrent_use_of_one_box_code_admits_one(client, sandbox_client) -> None:
    tenant = await make_tenant()
    code = await box_code(client, await staff_headers(client, tenant.admin_username))
    owners = [await wechat_login(client, sandbox_client, f"rush-{n}") for n in range(10)]
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/onboarding/applications",
                json=application(code["token"], phone=f"1361111{n:04d}"),
                headers=bearer(owner),
            )
            for n, owner in enumerate(owners)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    assert await StoreApplication.all().count() == 1
    assert (await OnboardingCode.get(id=code["id"])).uses == 1


async def test_duplicates_by_phone_or_licence_are_flagged_for_review(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    first = await wechat_login(client, sandbox_client, "feng")
    second = await wechat_login(client, sandbox_client, "chen")
    one = await client.post(
        "/api/v1/onboarding/applications",
        json=application((await box_code(client, brand))["token"], phone=tenant.store.phone),
        headers=bearer(first),
    )
    assert one.json()["duplicate_flags"] == [{"field": "phone", "store_id": tenant.store.id}]
    two = await client.post(
        "/api/v1/onboarding/applications",
        json=application((await box_code(client, brand))["token"], phone="13655556666"),
        headers=bearer(second),
    )
    assert two.status_code == 201
    assert two.json()["duplicate_flags"] == [
        {"field": "business_licence_no", "application_id": one.json()["id"]}
    ]


async def test_reject_with_reason_frees_the_box_code(client, sandbox_client) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    code = await box_code(client, brand)
    owner = await wechat_login(client, sandbox_client, "chu")
    created = (
        await client.post(
            "/api/v1/onboarding/applications",
            json=application(code["token"]),
            headers=bearer(owner),
        )
    ).json()
    no_reason = await client.post(
        f"/api/v1/onboarding/applications/{created['id']}/reject",
        json={"reason": ""},
        headers=brand,
    )
    assert no_reason.status_code == 422
    rejected = await client.post(
        f"/api/v1/onboarding/applications/{created['id']}/reject",
        json={"reason": "营业执照照片不清晰"},
        headers=brand,
    )
    assert (
        rejected.json()["status"] == "rejected"
        and rejected.json()["reject_reason"] == "营业执照照片不清晰"
    )
    assert (await OnboardingCode.get(id=code["id"])).uses == 0
    mine = (await client.get("/api/v1/onboarding/applications/mine", headers=bearer(owner))).json()[
        "items"
    ]
    assert mine[0]["reject_reason"] == "营业执照照片不清晰"
    retry = await client.post(
        "/api/v1/onboarding/applications", json=application(code["token"]), headers=bearer(owner)
    )
    assert retry.status_code == 201
    approve_rejected = await client.post(
        f"/api/v1/onboarding/applications/{created['id']}/approve",
        json={"distributor_id": tenant.distributor.id},
        headers=brand,
    )
    assert approve_rejected.status_code == 409
    assert await Store.filter(brand_id=tenant.brand.id).count() == 1


async def test_concurrent_approvals_create_one_store(client, sandbox_client) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    owner = await wechat_login(client, sandbox_client, "wei")
    created = await apply_with_box_code(client, brand, owner)
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/onboarding/applications/{created['id']}/approve",
                json={"distributor_id": tenant.distributor.id},
                headers=brand,
            )
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    assert await Store.filter(brand_id=tenant.brand.id).count() == 2  # the tenant's own + one
    assert await Membership.filter(role="store_owner").count() == 1


async def test_approving_with_another_brands_distributor_is_404_and_stays_pending(
    client, sandbox_client
) -> None:
    ours = await make_tenant("品牌甲")
    theirs = await make_tenant("品牌乙")
    brand = await staff_headers(client, ours.admin_username)
    owner = await wechat_login(client, sandbox_client, "jiang")
    created = await apply_with_box_code(client, brand, owner)
    response = await client.post(
        f"/api/v1/onboarding/applications/{created['id']}/approve",
        json={"distributor_id": theirs.distributor.id},
        headers=brand,
    )
    assert response.status_code == 404
    assert (await StoreApplication.get(id=created["id"])).status == "pending"
    # And the other brand cannot see or decide our applications.
    other_brand = await staff_headers(client, theirs.admin_username)
    assert (
        await client.get(f"/api/v1/onboarding/applications/{created['id']}", headers=other_brand)
    ).status_code == 404
    decided = await client.post(
        f"/api/v1/onboarding/applications/{created['id']}/reject",
        json={"reason": "x"},
        headers=other_brand,
    )
    assert decided.status_code == 404
    assert (await StoreApplication.get(id=created["id"])).status == "pending"


async def test_store_invitation_records_the_inviter(client, sandbox_client) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    inviter = await wechat_login(client, sandbox_client, "inviter")
    first = await apply_with_box_code(client, brand, inviter)
    first = (
        await client.post(
            f"/api/v1/onboarding/applications/{first['id']}/approve",
            json={"distributor_id": tenant.distributor.id},
            headers=brand,
        )
    ).json()
    inviter = await wechat_login(client, sandbox_client, "inviter")
    invite = await client.post("/api/v1/onboarding/invitation", headers=bearer(inviter))
    assert invite.json()["kind"] == "store_invite"
    same = await client.post("/api/v1/onboarding/invitation", headers=bearer(inviter))
    assert same.json()["token"] == invite.json()["token"]  # one invitation per store
    invitee = await wechat_login(client, sandbox_client, "invitee")
    described = (
        await client.get(
            f"/api/v1/onboarding/codes/{invite.json()['token']}", headers=bearer(invitee)
        )
    ).json()
    assert described["inviter"]["kind"] == "store"
    second = (
        await client.post(
            "/api/v1/onboarding/applications",
            json=application(invite.json()["token"], phone="13699990000", business_licence_no=None),
            headers=bearer(invitee),
        )
    ).json()
    assert second["inviter_store_id"] == first["store_id"]
    approved = await client.post(
        f"/api/v1/onboarding/applications/{second['id']}/approve",
        json={"distributor_id": tenant.distributor.id},
        headers=brand,
    )
    store = await Store.get(id=approved.json()["store_id"])
    assert store.invited_by_store_id == first["store_id"]


async def test_user_without_store_or_salesperson_role_gets_no_invitation(
    client, sandbox_client
) -> None:
    nobody = await wechat_login(client, sandbox_client, "plain")
    response = await client.post("/api/v1/onboarding/invitation", headers=bearer(nobody))
    assert response.status_code == 403
    assert await OnboardingCode.all().count() == 0


async def test_invalid_application_is_422_and_writes_nothing(client, sandbox_client) -> None:
    tenant = await make_tenant()
    code = await box_code(client, await staff_headers(client, tenant.admin_username))
    owner = await wechat_login(client, sandbox_client, "bad-input")
    for overrides in (
        {"phone": "12345"},
        {"store_name": ""},
        {"latitude": 123.0},
        {"business_licence_no": "short"},
        {"store_name": "店" * 65},
        {"region_id": "abc"},
    ):
        response = await client.post(
            "/api/v1/onboarding/applications",
            json=application(code["token"], **overrides),
            headers=bearer(owner),
        )
        assert response.status_code == 422, overrides
    assert await StoreApplication.all().count() == 0
    assert (await OnboardingCode.get(id=code["id"])).uses == 0


async def test_concurrent_invitation_requests_make_one_code(client, sandbox_client) -> None:
    tenant = await make_tenant()
    salesperson = await wechat_login(client, sandbox_client, "sales-zhang")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(salesperson))
    salesperson = await wechat_login(client, sandbox_client, "sales-zhang")
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/onboarding/invitation", headers=bearer(salesperson))
            for _ in range(10)
        )
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["token"] for r in responses}) == 1
    assert await OnboardingCode.filter(kind="salesperson_invite").count() == 1


# ---- a salesperson's invited applications --------------------------------------------------------


async def salesperson_session(client, sandbox_client, phone: str, persona: str) -> dict[str, Any]:
    """Sign a WeChat user in as the salesperson registered with `phone`."""
    first = await wechat_login(client, sandbox_client, persona)
    code = await phone_code(sandbox_client, phone)
    bound = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(first)
    )
    assert bound.status_code == 200, bound.text
    tokens = await wechat_login(client, sandbox_client, persona)
    assert tokens["identity"]["role"] == "salesperson"
    return tokens


async def invited_by(client, sandbox_client, inviter: dict[str, Any], persona: str, phone: str):
    token = (await client.post("/api/v1/onboarding/invitation", headers=bearer(inviter))).json()[
        "token"
    ]
    applicant = await wechat_login(client, sandbox_client, persona)
    response = await client.post(
        "/api/v1/onboarding/applications",
        json=application(token, store_name=f"{persona}店", phone=phone, business_licence_no=None),
        headers=bearer(applicant),
    )
    assert response.status_code == 201, response.text
    return response.json()


INVITED = "/api/v1/onboarding/applications/invited"


async def test_a_salesperson_sees_the_applications_from_their_own_invitation(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    colleague = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李娜", phone="13900000077"
    )
    wang = await salesperson_session(client, sandbox_client, tenant.salesperson.phone, "sp-wang")
    li = await salesperson_session(client, sandbox_client, colleague.phone, "sp-li")
    first = await invited_by(client, sandbox_client, wang, "applicant-a", "13600000001")
    second = await invited_by(client, sandbox_client, wang, "applicant-b", "13600000002")
    third = await invited_by(client, sandbox_client, wang, "applicant-c", "13600000003")
    theirs = await invited_by(client, sandbox_client, li, "applicant-d", "13600000004")
    await apply_with_box_code(
        client, brand, await wechat_login(client, sandbox_client, "by-box"), phone="13600000005"
    )
    for application_id, salesperson_id in (
        (first["id"], tenant.salesperson.id),
        (second["id"], colleague.id),
    ):
        approved = await client.post(
            f"/api/v1/onboarding/applications/{application_id}/approve",
            json={"distributor_id": tenant.distributor.id, "salesperson_id": salesperson_id},
            headers=brand,
        )
        assert approved.status_code == 200, approved.text
    rejected = await client.post(
        f"/api/v1/onboarding/applications/{third['id']}/reject",
        json={"reason": "门头照片不清晰"},
        headers=brand,
    )
    assert rejected.status_code == 200

    listed = await client.get(INVITED, headers=bearer(wang))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(a["id"], a["status"], a["status_name"]) for a in items] == [
        (third["id"], "rejected", "已拒绝"),
        (second["id"], "approved", "已通过"),
        (first["id"], "approved", "已通过"),
    ]
    assert listed.json()["next_before"] is None
    newest = items[0]
    assert (newest["store_name"], newest["contact_name"], newest["phone"]) == (
        "applicant-c店",
        "赵老板",
        "13600000003",
    )
    assert newest["reject_reason"] == "门头照片不清晰" and newest["reviewed_at"]
    # The store is named only when it was given to this salesperson.
    own_store = await Store.get(id=(await StoreApplication.get(id=first["id"])).store_id)  # type: ignore[attr-defined]
    assert [a["store_id"] for a in items] == [None, None, own_store.id]
    # Nothing meant for the reviewer: licence, duplicates, location.
    assert not {"business_licence_no", "duplicate_flags", "location"} & set(newest)

    paged = (await client.get(INVITED, params={"limit": 2}, headers=bearer(wang))).json()
    assert [a["id"] for a in paged["items"]] == [third["id"], second["id"]]
    rest = await client.get(
        INVITED, params={"limit": 2, "before": paged["next_before"]}, headers=bearer(wang)
    )
    assert [a["id"] for a in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_before"] is None
    pending = await client.get(INVITED, params={"status": "rejected"}, headers=bearer(wang))
    assert [a["id"] for a in pending.json()["items"]] == [third["id"]]

    # The colleague sees their own one; another brand's salesperson nothing.
    seen_by_li = (await client.get(INVITED, headers=bearer(li))).json()["items"]
    assert [a["id"] for a in seen_by_li] == [theirs["id"]]
    elsewhere = await make_tenant()
    stranger = await salesperson_session(
        client, sandbox_client, elsewhere.salesperson.phone, "sp-elsewhere"
    )
    assert (await client.get(INVITED, headers=bearer(stranger))).json()["items"] == []
    # Another salesperson's application is not found through the brand's review routes either.
    detail = await client.get(f"/api/v1/onboarding/applications/{first['id']}", headers=bearer(li))
    assert detail.status_code == 403


async def test_the_invited_list_is_for_salespeople_and_refuses_bad_queries(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    assert (await client.get(INVITED, headers=brand)).status_code == 403
    nobody = await wechat_login(client, sandbox_client, "plain-user")
    refused = await client.get(INVITED, headers=bearer(nobody))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.role_required"
    assert (await client.get(INVITED)).status_code == 401
    wang = await salesperson_session(client, sandbox_client, tenant.salesperson.phone, "sp-q")
    for params in ({"status": "lost"}, {"before": 0}, {"before": "x"}, {"limit": "many"}):
        bad = await client.get(INVITED, params=params, headers=bearer(wang))
        assert bad.status_code == 422, params
        assert bad.json()["error"]["code"] == "request.invalid"
