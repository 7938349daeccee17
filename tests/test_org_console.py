"""The brand's organisation console API: regions renamed, distributors and salespeople with their
store counts, salespeople edited and deactivated, stores tagged and moved in bulk (all or
nothing, the count changed answered), and the stores export. Distributor staff are refused;
another brand's ids are unknown."""

from __future__ import annotations

import csv
import io
import zipfile

from backend.identity import service as identity_service
from backend.identity.models import Membership, Role
from backend.org.models import Region, Salesperson, Store, StoreTag
from tests.factories import make_staff, make_store, make_tenant, staff_headers


async def tags_of(*stores: Store) -> dict[int, list[str]]:
    rows = await StoreTag.filter(store_id__in=[s.id for s in stores]).order_by("tag")
    found: dict[int, list[str]] = {s.id: [] for s in stores}
    for row in rows:
        found[row.store_id].append(row.tag)  # type: ignore[attr-defined]
    return found


async def placement(store: Store) -> tuple[int, int | None]:
    fresh = await Store.get(id=store.id)
    return fresh.distributor_id, fresh.salesperson_id  # type: ignore[attr-defined]


async def test_bulk_tags_add_and_remove_and_count_only_real_changes(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    second = await make_store(tenant)
    await StoreTag.create(store=second, tag="重点客户")
    ids = [tenant.store.id, second.id]

    tagged = await client.post(
        "/api/v1/stores/bulk/tags", json={"store_ids": ids, "add": ["重点客户"]}, headers=headers
    )
    assert tagged.status_code == 200, tagged.text
    assert tagged.json() == {"changed": 1, "store_ids": [tenant.store.id]}
    again = await client.post(
        "/api/v1/stores/bulk/tags",
        json={"store_ids": ids, "add": ["新店"], "remove": ["重点客户"]},
        headers=headers,
    )
    assert again.json()["changed"] == 2
    assert await tags_of(tenant.store, second) == {tenant.store.id: ["新店"], second.id: ["新店"]}
    # Filtering the list by the tag finds both.
    listed = (await client.get("/api/v1/stores?tag=新店", headers=headers)).json()["items"]
    assert [s["id"] for s in listed] == sorted(ids)


async def test_bulk_tags_refuse_bad_input_and_change_nothing(client) -> None:
    ours = await make_tenant()
    theirs = await make_tenant()
    headers = await staff_headers(client, ours.admin_username)
    cases = [
        ({"store_ids": [ours.store.id]}, 422, "request.invalid"),
        ({"store_ids": [ours.store.id], "add": ["甲"], "remove": ["甲"]}, 422, "request.invalid"),
        ({"store_ids": [], "add": ["甲"]}, 422, "request.invalid"),
        ({"store_ids": [ours.store.id], "add": [" "]}, 422, "request.invalid"),
        ({"store_ids": [ours.store.id], "add": ["x" * 33]}, 422, "request.invalid"),
        # Another brand's store among ours: the whole request is refused.
        (
            {"store_ids": [ours.store.id, theirs.store.id], "add": ["甲"]},
            404,
            "org.stores_not_found",
        ),
    ]
    for body, status, code in cases:
        refused = await client.post("/api/v1/stores/bulk/tags", json=body, headers=headers)
        assert refused.status_code == status, (body, refused.text)
        assert refused.json()["error"]["code"] == code
        assert refused.json()["error"]["message"]
    # A store's own tags follow the same rules (a tag longer than the column is a 422).
    for tags in (["x" * 33], [""], ["甲"] * 21):
        patched = await client.patch(
            f"/api/v1/stores/{ours.store.id}", json={"tags": tags}, headers=headers
        )
        assert patched.status_code == 422, tags
    assert await StoreTag.all().count() == 0


async def test_bulk_move_to_another_distributor_and_salesperson(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    second = await make_store(tenant)
    owner = await identity_service.create_staff_user("owner_of_second", "long-enough-pw", "老板")
    await identity_service.grant_membership(
        owner.id,
        Role.STORE_OWNER,
        tenant.brand.id,
        distributor_id=tenant.distributor.id,
        store_id=second.id,
    )
    theirs = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.other_distributor, name="赵敏", phone="13911112222"
    )
    ids = [tenant.store.id, second.id]

    # A salesperson of another distributor than the stores end up with is refused, whole.
    refused = await client.post(
        "/api/v1/stores/bulk/move",
        json={"store_ids": ids, "salesperson_id": theirs.id},
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "org.salesperson_not_in_distributor"
    nothing = await client.post(
        "/api/v1/stores/bulk/move", json={"store_ids": ids}, headers=headers
    )
    assert nothing.json()["error"]["code"] == "org.nothing_to_move"
    assert await placement(second) == (tenant.distributor.id, tenant.salesperson.id)

    moved = await client.post(
        "/api/v1/stores/bulk/move",
        json={
            "store_ids": ids,
            "distributor_id": tenant.other_distributor.id,
            "salesperson_id": theirs.id,
        },
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["changed"] == 2
    assert await placement(tenant.store) == (tenant.other_distributor.id, theirs.id)
    membership = await Membership.get(user_id=owner.id)
    assert membership.distributor_id == tenant.other_distributor.id  # type: ignore[attr-defined]

    # Back to the first distributor with no salesperson named: they lose theirs, and only the
    # stores that really change are counted.
    back = await client.post(
        "/api/v1/stores/bulk/move",
        json={"store_ids": [second.id], "distributor_id": tenant.distributor.id},
        headers=headers,
    )
    assert back.json() == {"changed": 1, "store_ids": [second.id]}
    assert await placement(second) == (tenant.distributor.id, None)
    same = await client.post(
        "/api/v1/stores/bulk/move",
        json={"store_ids": [second.id], "salesperson_id": None},
        headers=headers,
    )
    assert same.json()["changed"] == 0


async def test_distributor_staff_and_other_brands_are_refused(client) -> None:
    ours = await make_tenant()
    theirs = await make_tenant()
    region = await Region.create(brand=ours.brand, name="华东")
    their_region = await Region.create(brand=theirs.brand, name="华南")
    admin = await staff_headers(client, ours.admin_username)
    for role in (Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF):
        username = await make_staff(ours.brand.id, role, ours.distributor.id)
        headers = await staff_headers(client, username)
        attempts = [
            ("post", "/api/v1/stores/bulk/tags", {"store_ids": [ours.store.id], "add": ["甲"]}),
            (
                "post",
                "/api/v1/stores/bulk/move",
                {"store_ids": [ours.store.id], "salesperson_id": None},
            ),
            ("patch", f"/api/v1/regions/{region.id}", {"name": "改名"}),
            ("get", "/api/v1/stores/export", None),
        ]
        for method, path, body in attempts:
            answer = await client.request(method, path, json=body, headers=headers)
            assert answer.status_code == 403, (role, path, answer.text)
            assert answer.json()["error"]["code"] == "auth.role_required"
    staff = await make_staff(ours.brand.id, Role.DISTRIBUTOR_STAFF, ours.distributor.id)
    refused = await client.patch(
        f"/api/v1/salespeople/{ours.salesperson.id}",
        json={"is_active": False},
        headers=await staff_headers(client, staff),
    )
    assert refused.status_code == 403
    # Another brand's region, salesperson, stores: unknown here.
    renamed = await client.patch(
        f"/api/v1/regions/{their_region.id}", json={"name": "改名"}, headers=admin
    )
    assert renamed.status_code == 404
    person = await client.patch(
        f"/api/v1/salespeople/{theirs.salesperson.id}", json={"is_active": False}, headers=admin
    )
    assert person.status_code == 404
    moved = await client.post(
        "/api/v1/stores/bulk/move",
        json={"store_ids": [theirs.store.id], "distributor_id": ours.distributor.id},
        headers=admin,
    )
    assert moved.status_code == 404
    assert (await Region.get(id=their_region.id)).name == "华南"
    assert (await Region.get(id=region.id)).name == "华东"
    assert (await Salesperson.get(id=theirs.salesperson.id)).is_active is True
    assert await placement(theirs.store) == (theirs.distributor.id, theirs.salesperson.id)


async def test_regions_renamed_and_counts_of_stores_and_salespeople(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    region = (await client.post("/api/v1/regions", json={"name": "华东"}, headers=headers)).json()
    await client.post("/api/v1/regions", json={"name": "华南"}, headers=headers)
    renamed = await client.patch(
        f"/api/v1/regions/{region['id']}", json={"name": "华东大区"}, headers=headers
    )
    assert renamed.json() == {"id": region["id"], "name": "华东大区"}
    taken = await client.patch(
        f"/api/v1/regions/{region['id']}", json={"name": "华南"}, headers=headers
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "org.name_taken"
    assert (await Region.get(id=region["id"])).name == "华东大区"

    await make_store(tenant)
    distributors = (await client.get("/api/v1/distributors", headers=headers)).json()["items"]
    counts = {d["id"]: (d["store_count"], d["salesperson_count"]) for d in distributors}
    assert counts == {tenant.distributor.id: (2, 1), tenant.other_distributor.id: (0, 0)}
    one = (
        await client.get(f"/api/v1/distributors/{tenant.distributor.id}", headers=headers)
    ).json()
    assert one["store_count"] == 2


async def test_salespeople_filtered_edited_and_deactivated(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    other = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.other_distributor, name="赵敏", phone="13911113333"
    )
    user = await identity_service.create_staff_user("sales_wang", "long-enough-pw", "王磊")
    await Salesperson.filter(id=tenant.salesperson.id).update(user_id=user.id)
    await identity_service.grant_membership(
        user.id,
        Role.SALESPERSON,
        tenant.brand.id,
        distributor_id=tenant.distributor.id,
        salesperson_id=tenant.salesperson.id,
    )
    mine = await client.get(
        f"/api/v1/salespeople?distributor_id={tenant.distributor.id}", headers=headers
    )
    assert [(p["id"], p["store_count"]) for p in mine.json()["items"]] == [
        (tenant.salesperson.id, 1)
    ]

    taken = await client.patch(
        f"/api/v1/salespeople/{tenant.salesperson.id}",
        json={"phone": other.phone, "name": "改名"},
        headers=headers,
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "org.phone_taken"
    assert (await Salesperson.get(id=tenant.salesperson.id)).name == "王磊"
    bad = await client.patch(
        f"/api/v1/salespeople/{tenant.salesperson.id}", json={"phone": "123"}, headers=headers
    )
    assert bad.status_code == 422

    off = await client.patch(
        f"/api/v1/salespeople/{tenant.salesperson.id}",
        json={"is_active": False, "name": "王磊（离职）"},
        headers=headers,
    )
    assert off.status_code == 200
    assert (off.json()["is_active"], off.json()["name"], off.json()["store_count"]) == (
        False,
        "王磊（离职）",
        1,
    )
    assert (await Membership.get(user_id=user.id)).is_active is False
    inactive = await client.get("/api/v1/salespeople?active=false", headers=headers)
    assert [p["id"] for p in inactive.json()["items"]] == [tenant.salesperson.id]
    # A deactivated salesperson is given no more stores.
    second = await make_store(tenant, salesperson=None)
    given = await client.post(
        "/api/v1/stores/bulk/move",
        json={"store_ids": [second.id], "salesperson_id": tenant.salesperson.id},
        headers=headers,
    )
    assert given.status_code == 404
    assert await placement(second) == (tenant.distributor.id, None)


async def test_stores_export_as_csv_and_xlsx_follows_the_filters(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    await make_store(tenant, name="=HYPERLINK 店", tier="A")
    await make_store(tenant, name="别的店", distributor=tenant.other_distributor, salesperson=None)
    answer = await client.get(
        f"/api/v1/stores/export?distributor_id={tenant.distributor.id}", headers=headers
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "stores-" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["门店编号", "门店", "联系人"]
    names = [row[1] for row in rows[1:]]
    assert names == [tenant.store.name, "'=HYPERLINK 店"]
    assert rows[1][7:10] == [tenant.distributor.name, "王磊", "正常营业"]
    assert rows[2][5] == "A 类"

    xlsx = await client.get("/api/v1/stores/export?format=xlsx&tier=A", headers=headers)
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "=HYPERLINK 店" in strings and tenant.store.name not in strings


async def test_brand_ops_tag_stores_but_open_no_accounts_and_change_no_regions(client) -> None:
    tenant = await make_tenant()
    region = await Region.create(brand=tenant.brand, name="华东")
    ops = await staff_headers(client, await make_staff(tenant.brand.id, Role.BRAND_OPS))
    tagged = await client.post(
        "/api/v1/stores/bulk/tags",
        json={"store_ids": [tenant.store.id], "add": ["重点客户"]},
        headers=ops,
    )
    assert tagged.json()["changed"] == 1
    # Identity's rule: only a brand admin opens accounts, so ops cannot make themselves one.
    opened = await client.post(
        "/api/v1/staff",
        json={
            "username": "ops_made_admin",
            "password": "long-enough-pw",
            "display_name": "越权",
            "role": "brand_admin",
        },
        headers=ops,
    )
    assert opened.status_code == 403
    renamed = await client.patch(f"/api/v1/regions/{region.id}", json={"name": "改"}, headers=ops)
    assert renamed.status_code == 403
    assert not await Membership.exists(user__username="ops_made_admin")
    assert (await Region.get(id=region.id)).name == "华东"


async def test_creates_with_the_same_idempotency_key_make_one(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    creates = [
        ("/api/v1/regions", {"name": "西南"}),
        ("/api/v1/distributors", {"name": "成都蜀川商贸", "contact_name": "刘洋"}),
        ("/api/v1/salespeople", {"name": "吴凡", "phone": "13955556666"}),
    ]
    for path, body in creates:
        keyed = {**headers, "Idempotency-Key": f"again-{path}"}
        first = await client.post(path, json=body, headers=keyed)
        again = await client.post(path, json=body, headers=keyed)
        assert (first.status_code, again.status_code) == (201, 201), again.text
        assert again.json() == first.json()
    assert await Region.filter(brand_id=tenant.brand.id, name="西南").count() == 1
    assert await Salesperson.filter(phone="13955556666").count() == 1
    made = await client.get("/api/v1/distributors", headers=headers)
    assert [d["contact_name"] for d in made.json()["items"] if d["name"] == "成都蜀川商贸"] == [
        "刘洋"
    ]
