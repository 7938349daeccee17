"""The brand's catalog in the console: the category tree, the product list and editing,
price ladders per distributor and store tier shown as a store sees them, and each
distributor's availability; brand staff only, one brand's rows only."""

from __future__ import annotations

from typing import Any

import httpx

from backend.catalog.models import Category, PriceEntry, Product, Sku
from backend.identity.models import Role
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
)

API = "/api/v1/catalog"


async def brand_admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    return await staff_headers(client, shop.tenant.admin_username)


async def new_category(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, parent_id: int | None = None
) -> int:
    response = await client.post(
        f"{API}/categories", json={"name": name, "parent_id": parent_id}, headers=headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def sku_body(name: str, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "unit": "台", "list_price_fen": 50_000, **overrides}


async def test_the_category_tree_renames_moves_and_refuses_cycles_depth_and_non_empty_deletes(
    client,
) -> None:
    shop = await make_shop()
    headers = await brand_admin(client, shop)
    kitchen = await new_category(client, headers, "厨房")
    taps = await new_category(client, headers, "龙头", kitchen)
    bath = await new_category(client, headers, "卫浴")

    renamed = await client.patch(
        f"{API}/categories/{taps}", json={"name": "水龙头", "sort": 3}, headers=headers
    )
    assert renamed.json() == {"id": taps, "name": "水龙头", "parent_id": kitchen, "sort": 3}
    moved = await client.patch(
        f"{API}/categories/{taps}", json={"parent_id": bath}, headers=headers
    )
    assert moved.json()["parent_id"] == bath

    refusals = {
        "under itself": (bath, {"parent_id": bath}, "catalog.category_cycle"),
        "under its child": (bath, {"parent_id": taps}, "catalog.category_cycle"),
        "a third level": (kitchen, {"parent_id": taps}, "catalog.category_too_deep"),
        "a parent moved down": (bath, {"parent_id": kitchen}, "catalog.category_too_deep"),
    }
    for what, (category_id, body, code) in refusals.items():
        refused = await client.patch(f"{API}/categories/{category_id}", json=body, headers=headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, code), what
    third = await client.post(
        f"{API}/categories", json={"name": "三级", "parent_id": taps}, headers=headers
    )
    assert third.json()["error"]["code"] == "catalog.category_too_deep"
    tree = {c.id: c.parent_id for c in await Category.filter(brand_id=shop.tenant.brand.id)}  # type: ignore[attr-defined]
    assert (tree[kitchen], tree[taps], tree[bath]) == (None, bath, None)
    assert len(tree) == 4  # 净水器 from the shop, and these three

    not_empty = await client.delete(f"{API}/categories/{bath}", headers=headers)
    assert not_empty.status_code == 409
    assert not_empty.json()["error"]["message"] == "该分类下还有 1 个子分类，请先移走或删除它们"
    water_category = (await Product.get(skus__id=shop.water)).category_id  # type: ignore[attr-defined]
    with_products = await client.delete(f"{API}/categories/{water_category}", headers=headers)
    assert with_products.json()["error"]["code"] == "catalog.category_not_empty"
    assert "1 个商品" in with_products.json()["error"]["message"]
    assert await Category.filter(brand_id=shop.tenant.brand.id).count() == 4

    assert (await client.delete(f"{API}/categories/{taps}", headers=headers)).status_code == 200
    to_top = await client.patch(
        f"{API}/categories/{kitchen}", json={"parent_id": None}, headers=headers
    )
    assert to_top.status_code == 200
    assert not await Category.exists(id=taps)


async def test_products_are_listed_searched_filtered_edited_and_created_once(client) -> None:
    shop = await make_shop()
    headers = await brand_admin(client, shop)
    faucets = await new_category(client, headers, "龙头")
    body = {
        "name": "厨房龙头",
        "category_id": faucets,
        "images": ["/media/a.png", "/media/b.png"],
        "skus": [sku_body("抽拉款", barcode="6900000000011", case_size=2, min_order_qty=2)],
    }
    keyed = {**headers, "Idempotency-Key": "product-1"}
    created = await client.post(f"{API}/products", json=body, headers=keyed)
    again = await client.post(f"{API}/products", json=body, headers=keyed)
    assert created.status_code == again.status_code == 201
    assert created.json()["id"] == again.json()["id"]
    product_id = created.json()["id"]
    assert await Product.filter(name="厨房龙头").count() == 1

    listed = (await client.get(f"{API}/products", headers=headers)).json()["items"]
    assert [p["name"] for p in listed] == ["澜泉 RO 净水器", "厨房龙头"]
    assert listed[0]["sku_count"] == 3 and listed[0]["category_name"] == "净水器"
    assert (listed[0]["min_list_price_fen"], listed[0]["max_list_price_fen"]) == (10_000, 199_900)
    by_barcode = await client.get(f"{API}/products", params={"q": "6900000000011"}, headers=headers)
    assert [p["id"] for p in by_barcode.json()["items"]] == [product_id]
    # Longer than any barcode: searched by name only (the ORM refuses such a barcode value).
    for path in ("/products", "/sku-options"):
        too_long = await client.get(f"{API}{path}", params={"q": "6" * 64}, headers=headers)
        assert too_long.status_code == 200 and too_long.json()["items"] == []
    by_category = await client.get(
        f"{API}/products", params={"category_id": faucets}, headers=headers
    )
    assert [p["id"] for p in by_category.json()["items"]] == [product_id]
    first_page = (await client.get(f"{API}/products", params={"limit": 1}, headers=headers)).json()
    second_page = await client.get(
        f"{API}/products", params={"limit": 1, "after": first_page["next_after"]}, headers=headers
    )
    assert [p["id"] for p in second_page.json()["items"]] == [product_id]

    edited = await client.patch(
        f"{API}/products/{product_id}",
        json={"images": ["/media/b.png", "/media/a.png"], "is_active": False, "description": "铜"},
        headers=headers,
    )
    assert edited.json()["images"] == ["/media/b.png", "/media/a.png"]
    off_sale = await client.get(f"{API}/products", params={"active": "false"}, headers=headers)
    assert [p["id"] for p in off_sale.json()["items"]] == [product_id]

    # A second SKU in place; a barcode the brand already uses is refused and adds nothing.
    second = await client.post(
        f"{API}/products/{product_id}/skus", json=sku_body("感应款", unit="个"), headers=headers
    )
    assert second.status_code == 201
    taken = await client.post(
        f"{API}/products/{product_id}/skus",
        json=sku_body("重复款", barcode="6900000000011"),
        headers=headers,
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "catalog.barcode_taken")
    assert await Sku.filter(product_id=product_id).count() == 2
    unit = await client.patch(
        f"{API}/skus/{second.json()['id']}", json={"unit": "套"}, headers=headers
    )
    assert unit.json()["unit"] == "套"


async def test_a_price_ladder_is_set_checked_and_shown_as_the_store_sees_it(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    headers = await brand_admin(client, shop)
    distributor = shop.tenant.distributor.id
    ladder = {
        "distributor_id": distributor,
        "store_tier": "B",
        "tiers": [
            {"min_qty": 1, "unit_price_fen": 189_000},
            {"min_qty": 5, "unit_price_fen": 179_000},
        ],
    }
    saved = await client.put(f"{API}/skus/{shop.water}/prices", json=ladder, headers=headers)
    assert saved.status_code == 200, saved.text
    assert [(e["store_tier"], e["min_qty"]) for e in saved.json()["items"]] == [("B", 1), ("B", 5)]

    bad_ladders = {
        "a quantity twice": [
            {"min_qty": 5, "unit_price_fen": 1},
            {"min_qty": 5, "unit_price_fen": 2},
        ],
        "a free price": [{"min_qty": 1, "unit_price_fen": 0}],
    }
    for what, tiers in bad_ladders.items():
        refused = await client.put(
            f"{API}/skus/{shop.water}/prices", json={**ladder, "tiers": tiers}, headers=headers
        )
        assert refused.status_code == 422, what
        assert refused.json()["error"]["code"] == "catalog.price_tiers_invalid"
    assert refused.json()["error"]["message"] == "单价必须大于 0"
    stored = await PriceEntry.filter(sku_id=shop.water).values_list("min_qty", "unit_price_fen")
    assert sorted(stored) == [(1, 189_000), (5, 179_000)]
    duplicate = await client.post(
        f"{API}/price-entries",
        json={
            "sku_id": shop.water,
            "distributor_id": distributor,
            "store_tier": "B",
            "min_qty": 5,
            "unit_price_fen": 1,
        },
        headers=headers,
    )
    assert duplicate.json()["error"]["code"] == "catalog.price_entry_duplicate"
    free = await client.post(
        f"{API}/price-entries",
        json={"sku_id": shop.water, "store_tier": "A", "unit_price_fen": 0},
        headers=headers,
    )
    assert free.json()["error"]["message"] == "单价必须大于 0"
    assert await PriceEntry.filter(sku_id=shop.water).count() == 2

    shown = await client.get(
        f"{API}/skus/{shop.water}/price-ladder",
        params={"distributor_id": distributor, "store_tier": "B"},
        headers=headers,
    )
    steps = [(s["min_qty"], s["unit_price_fen"], s["price_source"]) for s in shown.json()["steps"]]
    assert steps == [(1, 189_000, "distributor_tier:1"), (5, 179_000, "distributor_tier:5")]
    tier_c = await client.get(
        f"{API}/skus/{shop.water}/price-ladder",
        params={"distributor_id": distributor, "store_tier": "C"},
        headers=headers,
    )
    assert [s["unit_price_fen"] for s in tier_c.json()["steps"]] == [199_900]

    # A tier-B store of that distributor pays exactly what the ladder showed.
    store = await make_store(shop.tenant, tier="B")
    by_store = await client.get(
        f"{API}/skus/{shop.water}/price-ladder", params={"store_id": store.id}, headers=headers
    )
    assert by_store.json()["steps"] == shown.json()["steps"]
    owner = await store_owner(client, sandbox_client, store)
    quoted = await client.post(
        "/api/v1/quote",
        json={"lines": [{"sku_id": shop.water, "quantity": 5}]},
        headers=bearer(owner),
    )
    assert quoted.json()["lines"][0]["unit_price_fen"] == 179_000

    cleared = await client.put(
        f"{API}/skus/{shop.water}/prices", json={**ladder, "tiers": []}, headers=headers
    )
    assert cleared.json()["items"] == []
    missing = await client.get(f"{API}/skus/{shop.water}/price-ladder", headers=headers)
    assert missing.status_code == 422


async def test_each_distributors_availability_and_stock_of_a_sku(client) -> None:
    shop = await make_shop(water_stock=7)
    headers = await brand_admin(client, shop)
    listed = (await client.get(f"{API}/skus/{shop.water}/distributors", headers=headers)).json()
    rows = {row["distributor_id"]: row for row in listed["items"]}
    assert rows[shop.tenant.distributor.id]["stock"] == 7
    assert rows[shop.tenant.distributor.id]["is_available"] is True
    assert rows[shop.tenant.other_distributor.id]["carried"] is False
    switched = await client.put(
        f"{API}/skus/{shop.water}/availability",
        json={"is_available": True, "distributor_id": shop.tenant.other_distributor.id},
        headers=headers,
    )
    assert switched.status_code == 200
    listed = (await client.get(f"{API}/skus/{shop.water}/distributors", headers=headers)).json()
    rows = {row["distributor_id"]: row for row in listed["items"]}
    assert rows[shop.tenant.other_distributor.id]["is_available"] is True


async def test_only_the_brands_own_staff_reach_the_catalog_administration(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    other = await make_shop()
    category = (await Product.get(skus__id=shop.water)).category_id  # type: ignore[attr-defined]
    product = (await Sku.get(id=shop.water)).product_id  # type: ignore[attr-defined]
    ladder = {"store_tier": "A", "tiers": [{"min_qty": 1, "unit_price_fen": 100}]}
    calls = [
        ("POST", "/categories", {"name": "新分类"}),
        ("PATCH", f"/categories/{category}", {"name": "改名"}),
        ("DELETE", f"/categories/{category}", None),
        ("GET", "/products", None),
        ("PATCH", f"/products/{product}", {"name": "改名"}),
        ("POST", f"/products/{product}/skus", sku_body("新规格")),
        ("PUT", f"/skus/{shop.water}/prices", ladder),
        ("GET", f"/skus/{shop.water}/price-ladder?store_tier=A&distributor_id=1", None),
        ("GET", f"/skus/{shop.water}/distributors", None),
    ]
    distributor = await distributor_admin(client, shop)
    ops = await staff_headers(client, await make_staff(shop.tenant.brand.id, Role.BRAND_OPS))
    owner = bearer(await store_owner(client, sandbox_client, shop.tenant.store))
    outsider = await brand_admin(client, other)
    for method, path, body in calls:
        for who, headers, status in (
            ("distributor", distributor, 403),
            ("store owner", owner, 403),
            ("another brand", outsider, 404),
        ):
            response = await client.request(method, API + path, json=body, headers=headers)
            if path == "/products" and who == "another brand":
                assert product not in [p["id"] for p in response.json()["items"]]
                continue
            if path == "/categories" and who == "another brand":
                continue  # creates in its own brand
            assert response.status_code == status, (method, path, who, response.text)
            if status == 403:
                assert response.json()["error"]["code"] == "auth.role_required"
    listed = await client.get(f"{API}/products", headers=ops)
    assert listed.status_code == 200  # brand operations staff manage the catalog too
    assert await Category.filter(brand_id=shop.tenant.brand.id).count() == 1
    assert (await Product.get(id=product)).name == "澜泉 RO 净水器"
    assert await Sku.filter(product_id=product).count() == 3
    assert not await PriceEntry.filter(sku_id=shop.water).exists()
