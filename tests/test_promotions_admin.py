"""Promotion administration and the simulator, over HTTP: brand staff create, check, move and
try out promotions; contradictory rules and unknown products are named and change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.promotions.models import Promotion
from tests.factories import Shop, distributor_admin, make_shop, make_tenant, staff_headers

API = "/api/v1/promotions"


def window(days_from_now: int = -1, days: int = 30) -> dict[str, str]:
    starts = datetime.now(UTC) + timedelta(days=days_from_now)
    return {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=days)).isoformat(),
    }


def reduction(**overrides: Any) -> dict[str, Any]:
    """满 3000 减 300 on the whole cart, shared."""
    body: dict[str, Any] = {
        "name": "满3000减300",
        **window(),
        "reward": {"kind": "reduction", "threshold_fen": 300_000, "amount_off_fen": 30_000},
    }
    body.update(overrides)
    return body


async def admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    return await staff_headers(client, shop.tenant.admin_username)


async def created(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = await client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_promotion_is_created_as_a_draft_and_read_back(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    body = reduction(
        audience={"tiers": ["C", "A", "A"], "distributor_ids": [shop.tenant.distributor.id]},
        channels=["self", "proxy"],
        budget_fen=1_000_000,
        per_store_limit=3,
    )
    promotion = await created(client, headers, body)

    assert promotion["status"] == "draft" and promotion["status_name"] == "草稿"
    assert promotion["step"] == 2  # a reduction's default step
    assert promotion["audience"]["tiers"] == ["A", "C"]  # unique and sorted
    assert promotion["budget_left_fen"] == 1_000_000 and promotion["committed_fen"] == 0
    assert promotion["reward"] == {
        "kind": "reduction",
        "threshold_fen": 300_000,
        "amount_off_fen": 30_000,
        "every": False,
    }
    read = await client.get(f"{API}/{promotion['id']}", headers=headers)
    assert read.json() == promotion
    listed = await client.get(API, params={"status": "draft"}, headers=headers)
    assert [p["id"] for p in listed.json()["items"]] == [promotion["id"]]


async def test_contradictory_rules_are_422_naming_the_rule_and_nothing_is_written(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    starts = datetime.now(UTC)
    cases = [
        (
            reduction(reward={"kind": "reduction", "threshold_fen": 100, "amount_off_fen": 100}),
            "reward.amount_off_fen",
            "promotion.reduction_exceeds_threshold",
        ),
        (
            reduction(reward={"kind": "special_price", "percent_of_list": "80"}, step=2),
            "step",
            "promotion.step_mismatch",
        ),
        (
            reduction(reward={"kind": "special_price", "percent_of_list": "120"}),
            "reward.percent_of_list",
            "promotion.no_saving",
        ),
        (
            reduction(reward={"kind": "special_price"}),
            "reward",
            "promotion.special_price_form",
        ),
        (
            reduction(
                starts_at=starts.isoformat(), ends_at=(starts - timedelta(hours=1)).isoformat()
            ),
            "ends_at",
            "promotion.window_empty",
        ),
        (
            reduction(
                scope={"bundle_sku_ids": [shop.water, shop.filters], "sku_ids": [shop.water]}
            ),
            "scope",
            "promotion.bundle_mixed",
        ),
        (
            reduction(
                reward={"kind": "gift", "sku_id": shop.filters, "quantity": 1, "per_multiple": True}
            ),
            "reward.per_multiple",
            "promotion.gift_multiple_without_condition",
        ),
        (
            reduction(reward={"kind": "points", "per_yuan": "1", "multiplier": "2"}),
            "reward.threshold_fen",
            "promotion.multiplier_without_threshold",
        ),
        (reduction(per_store_limit=0), "per_store_limit", "promotion.limit_zero"),
    ]
    for body, field, code in cases:
        assert_invalid_rule(await client.post(API, json=body, headers=headers), field, code)
    assert await Promotion.all().count() == 0


def assert_invalid_rule(response: httpx.Response, field: str, code: str) -> None:
    """A 422 `promotion.invalid_rule` whose details name `field` with `code`."""
    assert response.status_code == 422, (field, response.text)
    error = response.json()["error"]
    assert error["code"] == "promotion.invalid_rule"
    assert {"field": field, "code": code} in [
        {"field": d["field"], "code": d["code"]} for d in error["details"]
    ], error
    assert error["message"] == error["details"][0]["message"]  # said in Chinese, first one


async def test_unknown_or_foreign_products_and_bad_types_are_422_and_nothing_is_written(
    client,
) -> None:
    shop, other = await make_shop(), await make_shop()
    headers = await admin(client, shop)
    cases = [
        reduction(reward={"kind": "gift", "sku_id": 9_999_999, "quantity": 1}),
        reduction(scope={"sku_ids": [other.water]}),  # another brand's product
        reduction(audience={"distributor_ids": [other.tenant.distributor.id]}),
    ]
    for body in cases:
        response = await client.post(API, json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "promotion.unknown_reference"
    malformed = [
        {**reduction(), "starts_at": "2026-12-01T00:00:00"},  # no time zone
        {**reduction(), "reward": {"kind": "lottery"}},
        {**reduction(), "reward": {"kind": "discount", "percent": "100"}},
        {**reduction(), "budget_fen": 0},
        {**reduction(), "name": ""},
        {**reduction(), "channels": ["tv"]},
    ]
    for body in malformed:
        response = await client.post(API, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    assert await Promotion.all().count() == 0


async def test_only_the_brands_staff_see_and_manage_its_promotions(client) -> None:
    shop, other = await make_shop(), await make_shop()
    promotion = await created(client, await admin(client, shop), reduction())
    stranger = await admin(client, other)
    distributor = await distributor_admin(client, shop)
    for headers, status in ((stranger, 404), (distributor, 403)):
        for method, path in (
            ("GET", f"{API}/{promotion['id']}"),
            ("POST", f"{API}/{promotion['id']}/activate"),
            ("PUT", f"{API}/{promotion['id']}"),
        ):
            response = await client.request(method, path, json=reduction(), headers=headers)
            assert response.status_code == status, (method, path, response.text)
    assert (await Promotion.get(id=promotion["id"])).status == "draft"
    assert (await client.get(API, headers=stranger)).json()["items"] == []


async def test_status_moves_and_editing_only_when_not_running(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    promotion = await created(client, headers, reduction())
    path = f"{API}/{promotion['id']}"

    async def move(action: str) -> httpx.Response:
        return await client.post(f"{path}/{action}", headers=headers)

    assert (await move("pause")).json()["error"]["code"] == "promotion.status_conflict"
    assert (await move("activate")).json()["status"] == "active"
    edit = await client.put(path, json=reduction(name="改名"), headers=headers)
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "promotion.not_editable"
    assert (await move("pause")).json()["status"] == "paused"
    edit = await client.put(path, json=reduction(name="改名", budget_fen=5_000), headers=headers)
    assert edit.status_code == 200 and edit.json()["name"] == "改名"
    assert edit.json()["budget_fen"] == 5_000
    assert (await move("end")).json()["status"] == "ended"
    refused = await move("activate")
    assert (
        refused.status_code == 409 and refused.json()["error"]["message"] == "活动已结束，不能启用"
    )

    expired = await created(client, headers, reduction(**window(days_from_now=-10, days=1)))
    late = await client.post(f"{API}/{expired['id']}/activate", headers=headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "promotion.window_passed"
    assert (await Promotion.get(id=expired["id"])).status == "draft"


async def test_concurrent_activations_move_a_promotion_once(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    promotion = await created(client, headers, reduction())
    responses = await asyncio.gather(
        *(client.post(f"{API}/{promotion['id']}/activate", headers=headers) for _ in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7


async def test_the_simulator_prices_any_cart_as_any_store_at_any_time(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    active = await created(client, headers, reduction(budget_fen=50_000))
    await client.post(f"{API}/{active['id']}/activate", headers=headers)
    draft = await created(
        client,
        headers,
        reduction(
            name="滤芯八折",
            reward={"kind": "special_price", "percent_of_list": "80"},
            scope={"sku_ids": [shop.filters]},
        ),
    )
    cart = [{"sku_id": shop.water, "quantity": 2}, {"sku_id": shop.filters, "quantity": 10}]
    body = {"store_id": shop.tenant.store.id, "lines": cart}

    now = (await client.post(f"{API}/simulate", json=body, headers=headers)).json()
    priced = now["promotions"]
    # 2 × 1999.00 + 10 × 100.00 = 4998.00 ≥ 3000: 300.00 off, allocated over the two lines.
    assert priced["before_promotions_fen"] == 499_800
    assert priced["promotion_discount_fen"] == 30_000
    assert priced["payable_fen"] == 469_800
    assert sum(line["payable_fen"] for line in priced["lines"]) == priced["payable_fen"]
    assert [a["promotion_id"] for a in priced["applied"]] == [active["id"]]

    tried = {**body, "also_promotion_ids": [draft["id"]]}
    both = (await client.post(f"{API}/simulate", json=tried, headers=headers)).json()
    filters_line = next(x for x in both["promotions"]["lines"] if x["sku_id"] == shop.filters)
    # The draft's 80% special price, tried out: 10 × (100.00 − 80.00) off the filters line.
    assert {"promotion_id": draft["id"], "kind": "special_price", "amount_fen": 20_000} in (
        filters_line["adjustments"]
    )
    assert {a["promotion_id"] for a in both["promotions"]["applied"]} == {active["id"], draft["id"]}

    later = {**body, "at": (datetime.now(UTC) + timedelta(days=60)).isoformat()}
    after_end = (await client.post(f"{API}/simulate", json=later, headers=headers)).json()
    assert after_end["promotions"] is None  # the window has closed: nothing is running

    stranger_store = (await make_tenant()).store
    foreign = {**body, "store_id": stranger_store.id}
    response = await client.post(f"{API}/simulate", json=foreign, headers=headers)
    assert response.status_code == 404
