"""Organisations: brand staff manage the tenant; every other tenant's object answers 404."""

from __future__ import annotations

from backend.identity.access import may_see, scoped
from backend.identity.models import Role
from backend.identity.tokens import Principal
from backend.org.models import (
    Distributor,
    DistributorServiceArea,
    Region,
    Salesperson,
    Store,
    StoreTag,
)
from backend.org.service import STORE_TENANCY
from tests.factories import (
    bearer,
    make_staff,
    make_store,
    make_tenant,
    staff_headers,
    wechat_login,
)


async def test_brand_admin_builds_the_organisation(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    region = (
        await client.post("/api/v1/regions", json={"name": "华东大区"}, headers=headers)
    ).json()
    created = await client.post(
        "/api/v1/distributors",
        json={
            "name": "杭州澜泉商贸",
            "wechat_sub_mchid": "1900000109",
            "region_ids": [region["id"]],
        },
        headers=headers,
    )
    assert created.status_code == 201
    distributor = created.json()
    assert distributor["region_ids"] == [region["id"]]
    person = await client.post(
        "/api/v1/salespeople",
        json={"name": "李娜", "phone": "13900001111", "distributor_id": distributor["id"]},
        headers=headers,
    )
    assert person.status_code == 201 and person.json()["has_account"] is False
    staff = await client.post(
        "/api/v1/staff",
        json={
            "username": "hz_admin",
            "password": "long-enough-pw",
            "display_name": "杭州管理员",
            "role": "distributor_admin",
            "distributor_id": distributor["id"],
        },
        headers=headers,
    )
    assert staff.status_code == 201
    distributor_headers = await staff_headers(client, "hz_admin", "long-enough-pw")
    visible = (await client.get("/api/v1/distributors", headers=distributor_headers)).json()[
        "items"
    ]
    assert [d["id"] for d in visible] == [distributor["id"]]


async def test_duplicate_names_and_phones_are_409(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    await client.post("/api/v1/regions", json={"name": "华南"}, headers=headers)
    again = await client.post("/api/v1/regions", json={"name": "华南"}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "org.name_taken"
    same_phone = await client.post(
        "/api/v1/salespeople",
        json={"name": "重复", "phone": tenant.salesperson.phone},
        headers=headers,
    )
    assert same_phone.status_code == 409 and same_phone.json()["error"]["code"] == "org.phone_taken"
    assert await Region.filter(brand_id=tenant.brand.id).count() == 1
    assert await Salesperson.filter(brand_id=tenant.brand.id).count() == 1


async def test_staff_account_role_must_match_distributor(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    response = await client.post(
        "/api/v1/staff",
        json={
            "username": "x_admin",
            "password": "long-enough-pw",
            "display_name": "x",
            "role": "distributor_admin",
        },
        headers=headers,
    )
    assert response.status_code == 422


async def test_store_listing_is_scoped_by_role(client, sandbox_client) -> None:
    tenant = await make_tenant()
    other_store = await Store.create(
        brand=tenant.brand,
        name="别家店",
        phone="13700009999",
        address="x",
        distributor=tenant.other_distributor,
    )
    brand_view = await client.get(
        "/api/v1/stores", headers=await staff_headers(client, tenant.admin_username)
    )
    assert {s["id"] for s in brand_view.json()["items"]} == {tenant.store.id, other_store.id}
    distributor_user = await make_staff(
        tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id
    )
    distributor_view = await client.get(
        "/api/v1/stores", headers=await staff_headers(client, distributor_user)
    )
    assert [s["id"] for s in distributor_view.json()["items"]] == [tenant.store.id]
    hidden = await client.get(
        f"/api/v1/stores/{other_store.id}", headers=await staff_headers(client, distributor_user)
    )
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "org.store_not_found"
    # A WeChat user with no role sees no stores at all.
    nobody = await wechat_login(client, sandbox_client, "nobody")
    assert (await client.get("/api/v1/stores", headers=bearer(nobody))).json()["items"] == []


async def test_another_brands_objects_answer_404_and_stay_unchanged(client) -> None:
    ours = await make_tenant("我们的品牌")
    theirs = await make_tenant("别人的品牌")
    headers = await staff_headers(client, ours.admin_username)
    assert (
        await client.get(f"/api/v1/stores/{theirs.store.id}", headers=headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/distributors/{theirs.distributor.id}", headers=headers)
    ).status_code == 404
    patch = await client.patch(
        f"/api/v1/stores/{theirs.store.id}", json={"tier": "A"}, headers=headers
    )
    assert patch.status_code == 404
    patch = await client.patch(
        f"/api/v1/distributors/{theirs.distributor.id}", json={"name": "被改了"}, headers=headers
    )
    assert patch.status_code == 404
    # Their ids inside our own requests are just as unknown.
    move = await client.patch(
        f"/api/v1/stores/{ours.store.id}",
        json={"distributor_id": theirs.distributor.id},
        headers=headers,
    )
    assert move.status_code == 404 and move.json()["error"]["code"] == "org.distributor_not_found"
    theirs_region = await Region.create(brand=theirs.brand, name="他们的区域")
    borrowed = await client.post(
        "/api/v1/distributors",
        json={"name": "新经销商", "region_ids": [theirs_region.id]},
        headers=headers,
    )
    assert borrowed.status_code == 404
    assert (await Store.get(id=theirs.store.id)).tier == "C"
    assert (await Store.get(id=ours.store.id)).distributor_id == ours.distributor.id
    assert (await Distributor.get(id=theirs.distributor.id)).name == theirs.distributor.name
    assert not await Distributor.exists(name="新经销商")
    listed = (await client.get("/api/v1/stores?limit=100", headers=headers)).json()["items"]
    assert {s["id"] for s in listed} == {ours.store.id}


async def test_store_update_tags_tier_and_salesperson(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    other_person = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.other_distributor, name="外人", phone="13900002222"
    )
    wrong = await client.patch(
        f"/api/v1/stores/{tenant.store.id}",
        json={"salesperson_id": other_person.id},
        headers=headers,
    )
    assert (
        wrong.status_code == 422
        and wrong.json()["error"]["code"] == "org.salesperson_not_in_distributor"
    )
    updated = await client.patch(
        f"/api/v1/stores/{tenant.store.id}",
        json={"tier": "A", "tags": ["旗舰店", "重点客户", "旗舰店"], "status": "suspended"},
        headers=headers,
    )
    assert updated.status_code == 200
    body = updated.json()
    assert (body["tier"], body["status"], body["tags"]) == (
        "A",
        "suspended",
        ["旗舰店", "重点客户"],
    )
    tagged = await client.get("/api/v1/stores?tag=旗舰店", headers=headers)
    assert [s["id"] for s in tagged.json()["items"]] == [tenant.store.id]
    assert await StoreTag.filter(store_id=tenant.store.id).count() == 2


async def test_stores_page_by_keyset(client) -> None:
    tenant = await make_tenant()
    for number in range(5):
        await Store.create(
            brand=tenant.brand,
            name=f"翻页店{number}",
            phone=f"1360000000{number}",
            address="x",
            distributor=tenant.distributor,
        )
    headers = await staff_headers(client, tenant.admin_username)
    seen: list[int] = []
    after = None
    while True:
        query = "/api/v1/stores?limit=2" + (f"&after={after}" if after else "")
        body = (await client.get(query, headers=headers)).json()
        seen.extend(s["id"] for s in body["items"])
        after = body["next_after"]
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == 6
    bad = await client.get("/api/v1/stores?limit=abc", headers=headers)
    assert bad.status_code == 422


async def test_distributor_update_replaces_service_area(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    east = await Region.create(brand=tenant.brand, name="东")
    west = await Region.create(brand=tenant.brand, name="西")
    response = await client.patch(
        f"/api/v1/distributors/{tenant.distributor.id}",
        json={"region_ids": [east.id, west.id], "wechat_sub_mchid": "1900000222"},
        headers=headers,
    )
    assert response.status_code == 200
    assert sorted(response.json()["region_ids"]) == sorted([east.id, west.id])
    assert await DistributorServiceArea.filter(distributor_id=tenant.distributor.id).count() == 2
    invalid = await client.patch(
        f"/api/v1/distributors/{tenant.distributor.id}",
        json={"wechat_sub_mchid": "abc"},
        headers=headers,
    )
    assert invalid.status_code == 422
    assert (await Distributor.get(id=tenant.distributor.id)).wechat_sub_mchid == "1900000222"


async def test_patch_with_null_for_a_required_field_is_422_and_changes_nothing(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    for body in ({"tier": None}, {"distributor_id": None, "tier": "A"}, {"status": None}):
        response = await client.patch(
            f"/api/v1/stores/{tenant.store.id}", json=body, headers=headers
        )
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["type"] == "null_not_allowed"
    store = await Store.get(id=tenant.store.id)
    assert (store.tier, store.distributor_id, store.status) == (
        "C",
        tenant.distributor.id,
        "active",
    )
    unassigned = await client.patch(
        f"/api/v1/stores/{tenant.store.id}", json={"salesperson_id": None}, headers=headers
    )
    assert unassigned.status_code == 200 and unassigned.json()["salesperson_id"] is None
    renamed = await client.patch(
        f"/api/v1/distributors/{tenant.distributor.id}", json={"name": None}, headers=headers
    )
    assert renamed.status_code == 422
    assert (await Distributor.get(id=tenant.distributor.id)).name == tenant.distributor.name


async def test_may_see_agrees_with_scoped_for_every_role() -> None:
    """Hand-written SQL checks visibility after reading (may_see); the ORM narrows the query
    (scoped). Both must let exactly the same stores through, for every role."""
    tenant, stranger = await make_tenant(), await make_tenant()
    served_elsewhere = await make_store(
        tenant, distributor=tenant.other_distributor, salesperson=None
    )
    stores = [tenant.store, served_elsewhere, stranger.store]
    ids = [store.id for store in stores]
    brand = tenant.brand.id

    def caller(role: str | None, **ids: int | None) -> Principal:
        return Principal(user_id=1, session_id="s", role=role, **{"brand_id": brand, **ids})

    principals = [
        caller(None),
        caller("brand_admin"),
        caller("brand_ops", brand_id=None),
        caller("distributor_staff", distributor_id=tenant.distributor.id),
        caller("distributor_admin"),
        caller("salesperson", salesperson_id=tenant.salesperson.id),
        caller("store_owner", store_id=tenant.store.id),
        caller("store_clerk", store_id=stranger.store.id),
    ]
    rows = await Store.filter(id__in=ids).values()
    seen_counts = []
    for principal in principals:
        through_orm = set(
            await scoped(principal, Store.filter(id__in=ids), STORE_TENANCY).values_list(
                "id", flat=True
            )
        )
        after_reading = {row["id"] for row in rows if may_see(principal, row, STORE_TENANCY)}
        assert after_reading == through_orm, principal
        seen_counts.append(len(through_orm))
    # The roles really differ: nothing, a whole brand, one distributor's, one store's.
    assert seen_counts == [0, 2, 0, 1, 0, 1, 1, 0]
