"""Bundles counted in complete sets over HTTP (issue 14): brand staff define set quantities
(and still may send the old `bundle_sku_ids`), bad bundles are 422 naming the field and write
nothing, the simulator, quote and placed order count the sets, and migration 0021 keeps the
promotions made before meaning what they meant."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tortoise import connections

from backend.ordering.models import OrderLine
from backend.promotions import service as promotions_service
from backend.promotions.models import Promotion, PromotionUse
from tests.factories import Shop, bearer, idempotent, make_shop, store_owner
from tests.test_promotions_admin import API, admin, assert_invalid_rule, created, reduction
from tests.test_promotions_ordering import running

# 10 filters (100.00 yuan each) and 1 purifier (1,999.00 yuan) make a set.
NINE_TENTHS = {"kind": "discount", "percent": "90"}


def filter_set(shop: Shop, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "净水套装九折",
        "reward": NINE_TENTHS,
        "scope": {
            "bundle": [
                {"sku_id": shop.filters, "set_quantity": 10},
                {"sku_id": shop.water},  # set_quantity defaults to 1
            ]
        },
    }
    return reduction(**{**body, **overrides})


def cart(shop: Shop) -> list[dict[str, int]]:
    """30 filters + 2 purifiers: 2 complete sets, 10 filters over."""
    return [{"sku_id": shop.filters, "quantity": 30}, {"sku_id": shop.water, "quantity": 2}]


def stored_bundle(shop: Shop, filters: int, water: int, mode: str) -> dict[str, Any]:
    parts = sorted([(shop.filters, filters), (shop.water, water)])
    return {
        "sku_ids": [],
        "category_ids": [],
        "bundle": [{"sku_id": sku, "set_quantity": quantity} for sku, quantity in parts],
        "bundle_mode": mode,
    }


async def test_a_bundle_with_set_quantities_is_created_edited_and_read_back(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    promotion = await created(client, headers, filter_set(shop))
    assert promotion["scope"] == stored_bundle(shop, 10, 1, "sets")
    assert promotion["reward_kind"] == "discount" and promotion["step"] == 3

    edited = await client.put(
        f"{API}/{promotion['id']}",
        json=reduction(
            reward=NINE_TENTHS,
            scope={
                "bundle": [
                    {"sku_id": shop.water, "set_quantity": 2},
                    {"sku_id": shop.filters, "set_quantity": 20},
                ],
                "bundle_mode": "all_present",
            },
        ),
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["scope"] == stored_bundle(shop, 20, 2, "all_present")
    read = await client.get(f"{API}/{promotion['id']}", headers=headers)
    assert read.json()["scope"] == stored_bundle(shop, 20, 2, "all_present")

    # A bad edit is refused and leaves the promotion as it was.
    repeated = filter_set(shop)
    repeated["scope"]["bundle"].append({"sku_id": shop.filters, "set_quantity": 5})
    refused = await client.put(f"{API}/{promotion['id']}", json=repeated, headers=headers)
    assert_invalid_rule(refused, "scope.bundle", "promotion.bundle_duplicate_sku")
    assert (await client.get(f"{API}/{promotion['id']}", headers=headers)).json() == read.json()


async def test_the_old_payload_is_still_taken_as_sets_of_one(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    body = reduction(reward=NINE_TENTHS, scope={"bundle_sku_ids": [shop.water, shop.filters]})
    promotion = await created(client, headers, body)
    assert promotion["scope"] == stored_bundle(shop, 1, 1, "sets")
    old_meaning = reduction(
        reward=NINE_TENTHS,
        scope={"bundle_sku_ids": [shop.water, shop.filters], "bundle_mode": "all_present"},
    )
    assert (await created(client, headers, old_meaning))["scope"] == stored_bundle(
        shop, 1, 1, "all_present"
    )


async def test_bad_bundles_are_422_naming_the_field_and_nothing_is_written(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    refused_rules = [
        (
            reduction(
                reward=NINE_TENTHS,
                scope={
                    "bundle": [
                        {"sku_id": shop.water},
                        {"sku_id": shop.filters, "set_quantity": 10},
                        {"sku_id": shop.water, "set_quantity": 2},
                    ]
                },
            ),
            "scope.bundle",
            "promotion.bundle_duplicate_sku",
        ),
        (
            reduction(
                reward=NINE_TENTHS,
                scope={"bundle": [{"sku_id": shop.water}], "bundle_sku_ids": [shop.filters]},
            ),
            "scope.bundle_sku_ids",
            "promotion.bundle_two_forms",
        ),
        (
            filter_set(
                shop,
                reward={
                    "kind": "gift",
                    "sku_id": shop.filters,
                    "quantity": 1,
                    "per_multiple": True,
                },
                conditions={"min_quantity": 11},
            ),
            "reward.per_multiple",
            "promotion.gift_per_set",
        ),
        (
            reduction(reward=NINE_TENTHS, scope={"bundle": [{"sku_id": shop.water}]}),
            "scope.bundle",
            "promotion.bundle_too_small",
        ),
    ]
    for body, field, code in refused_rules:
        assert_invalid_rule(await client.post(API, json=body, headers=headers), field, code)
    for quantity in (0, 1000, "两"):
        body = filter_set(shop)
        body["scope"]["bundle"][0]["set_quantity"] = quantity
        response = await client.post(API, json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "request.invalid"
        fields = [d["field"] for d in response.json()["error"]["details"]]
        assert fields == ["scope.bundle.0.set_quantity"]
    unknown = filter_set(shop)
    unknown["scope"]["bundle"][1]["sku_id"] = 9_999_999
    response = await client.post(API, json=unknown, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "promotion.unknown_reference"
    assert response.json()["error"]["details"][0]["ids"] == [9_999_999]
    bad_mode = {**filter_set(shop)}
    bad_mode["scope"] = {**bad_mode["scope"], "bundle_mode": "any"}
    assert (await client.post(API, json=bad_mode, headers=headers)).status_code == 422
    assert await Promotion.all().count() == 0


async def test_the_simulator_counts_the_sets(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    draft = await created(client, headers, filter_set(shop))
    body = {
        "store_id": shop.tenant.store.id,
        "lines": cart(shop),
        "also_promotion_ids": [draft["id"]],
    }
    response = await client.post(f"{API}/simulate", json=body, headers=headers)
    assert response.status_code == 200, response.text
    priced = response.json()["promotions"]
    # 2 sets: 20 filters (2,000 yuan) + 2 purifiers (3,998 yuan) at 9折 = 599.80 yuan off; the
    # 10 filters over pay in full.
    assert priced["promotion_discount_fen"] == 59_980
    assert priced["payable_fen"] == 300_000 + 399_800 - 59_980
    (applied,) = priced["applied"]
    assert (applied["promotion_id"], applied["sets"], applied["amount_fen"]) == (
        draft["id"],
        2,
        59_980,
    )
    assert applied["note"].startswith("凑齐2套，") and applied["note"].endswith("共优惠599.80元")
    by_sku = {line["sku_id"]: line for line in priced["lines"]}
    assert by_sku[shop.filters]["adjustments"] == [
        {"promotion_id": draft["id"], "kind": "discount", "amount_fen": 20_000, "units": 20}
    ]
    assert by_sku[shop.water]["adjustments"] == [
        {"promotion_id": draft["id"], "kind": "discount", "amount_fen": 39_980, "units": 2}
    ]
    # One set short: 9 filters would not make one, so nothing applies and the reason is given.
    short = {**body, "lines": [{"sku_id": shop.filters, "quantity": 10}]}
    skipped = (await client.post(f"{API}/simulate", json=short, headers=headers)).json()
    assert skipped["promotions"]["applied"] == []
    assert [s["code"] for s in skipped["promotions"]["skipped"]] == ["promo.bundle_incomplete"]


async def test_a_placed_order_keeps_the_sets_and_charges_the_budget(client, sandbox_client) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, filter_set(shop, budget_fen=100_000))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    lines = {"lines": cart(shop)}

    quote = (await client.post("/api/v1/quote", json=lines, headers=idempotent(owner))).json()
    assert quote["promotions"]["applied"][0]["sets"] == 2
    assert quote["payable_fen"] == 699_800 - 59_980

    placed = await client.post("/api/v1/orders", json=lines, headers=idempotent(owner))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["payable_fen"] == 699_800 - 59_980
    assert order["promotion_discount_fen"] == 59_980
    (applied,) = order["promotions"]
    assert (applied["promotion_id"], applied["sets"]) == (promotion["id"], 2)
    units = {
        line["sku_id"]: [(a["amount_fen"], a.get("units")) for a in line["adjustments"]]
        for line in order["lines"]
    }
    assert units == {shop.filters: [(20_000, 20)], shop.water: [(39_980, 2)]}
    assert sum(line["payable_fen"] for line in order["lines"]) == order["payable_fen"]
    stored = await OrderLine.filter(order_id=order["id"], sku_id=shop.filters).get()
    assert stored.payable_fen == 280_000
    assert (await Promotion.get(id=promotion["id"])).committed_fen == 59_980
    use = await PromotionUse.get(order_id=order["id"])
    assert (use.kind, use.amount_fen) == ("take", 59_980)
    read = await client.get(f"/api/v1/orders/{order['id']}", headers=idempotent(owner))
    assert read.json()["promotions"] == order["promotions"]
    assert read.json()["lines"] == order["lines"]


def bundle_migration() -> Any:
    """Migration 0021 (found by name: it may be renumbered when branches merge)."""
    (path,) = Path(__file__).resolve().parent.parent.joinpath("migrations").glob("*_bundle_sets.py")
    return importlib.import_module(f"migrations.{path.stem}")


async def test_the_migration_keeps_an_old_promotion_pricing_every_unit(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    now = datetime.now(UTC)
    old_rule = {
        "audience": {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        "channels": [],
        "scope": {
            "sku_ids": [],
            "category_ids": [],
            "bundle_sku_ids": sorted([shop.water, shop.filters]),
        },
        "conditions": {"min_quantity": 0, "min_amount_fen": 0},
        "reward": NINE_TENTHS,
    }
    old = await Promotion.create(
        brand_id=shop.tenant.brand.id,
        name="旧组合九折",
        status="active",
        reward_kind="discount",
        stacking="shared",
        step=3,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=10),
        rule=old_rule,
        created_at=now,
        updated_at=now,
    )
    newer = await created(client, headers, filter_set(shop, name="新组合"))
    newer_rule = (await Promotion.get(id=newer["id"])).rule
    body = {"store_id": shop.tenant.store.id, "lines": cart(shop)}

    async def simulated() -> dict[str, Any]:
        response = await client.post(f"{API}/simulate", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["promotions"]

    # As saved before bundles had sets: 9折 on all 30 filters and both purifiers.
    before = await simulated()
    assert before["promotion_discount_fen"] == 69_980
    assert before["applied"][0]["sets"] is None

    migration = bundle_migration()
    editor = SimpleNamespace(client=connections.get("default"))
    await migration.bundles_to_sets(None, editor)
    promotions_service._CONVERTED.clear()  # as a process started after migrating would be

    migrated = await Promotion.get(id=old.id)
    assert migrated.rule == {**old_rule, "scope": stored_bundle(shop, 1, 1, "all_present")}
    assert (await Promotion.get(id=newer["id"])).rule == newer_rule  # already new: untouched
    after = await simulated()
    assert after == before  # priced exactly as before, line by line
    viewed = (await client.get(f"{API}/{old.id}", headers=headers)).json()
    assert viewed["scope"]["bundle_mode"] == "all_present"

    await migration.bundles_to_sets(None, editor)  # a second run changes nothing
    assert (await Promotion.get(id=old.id)).rule == migrated.rule
    await migration.sets_to_bundles(None, editor)  # and back, for the code before it
    assert (await Promotion.get(id=old.id)).rule == old_rule


async def test_stores_read_the_set_composition(client, sandbox_client) -> None:
    shop = await make_shop()
    promotion = await running(client, shop, filter_set(shop))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    response = await client.get("/api/v1/promotions/current", headers=bearer(owner))
    assert response.status_code == 200, response.text
    (shown,) = response.json()["items"]
    assert shown["id"] == promotion["id"]
    assert shown["description"] == (
        "澜泉 RO 净水器 RO-500×1 + 澜泉 RO 净水器 滤芯×10 成套：每套享9折"
        if shop.water < shop.filters
        else "澜泉 RO 净水器 滤芯×10 + 澜泉 RO 净水器 RO-500×1 成套：每套享9折"
    )
    assert shown["scope"]["bundle_mode"] == "sets"
    assert {s["sku_id"]: s["set_quantity"] for s in shown["scope"]["skus"]} == {
        shop.filters: 10,
        shop.water: 1,
    }
