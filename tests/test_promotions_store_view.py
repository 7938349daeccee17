"""What a store sees of the brand's promotions (GET /promotions/current): only those running
now for its audience and channel, described in one line, with their scope named and nothing of
the budget; and the pure wording behind the descriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from backend.catalog import service as catalog_service
from backend.catalog.models import Sku
from backend.org.models import StoreTag
from backend.promotions import engine, wording
from backend.promotions.models import Promotion
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    phone_code,
    store_owner,
    wechat_login,
)
from tests.test_promotions_admin import API, admin, created, reduction, window
from tests.test_promotions_ordering import running

CURRENT = f"{API}/current"
STORE_KEYS = {
    "id",
    "name",
    "kind",
    "kind_name",
    "description",
    "starts_at",
    "ends_at",
    "exclusive",
    "conditions",
    "scope",
    "gift",
    "per_store_limit",
    "uses_left",
}


async def current(
    client: httpx.AsyncClient, tokens: dict[str, Any], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(CURRENT, params=params, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def category_of(shop: Shop) -> int:
    return int((await catalog_service.list_categories(shop.tenant.brand.id))[0]["id"])


async def test_a_store_sees_only_what_runs_now_for_its_audience_and_channel(
    client, sandbox_client
) -> None:
    shop, other = await make_shop(), await make_shop()
    tenant = shop.tenant
    headers = await admin(client, shop)
    await StoreTag.create(store=tenant.store, tag="旗舰店")
    shown = [
        await running(client, shop, reduction(name="全场满减", budget_fen=100_000)),
        await running(
            client,
            shop,
            reduction(
                name="本经销商C级旗舰店",
                audience={
                    "distributor_ids": [tenant.distributor.id],
                    "tiers": ["C"],
                    "tags": ["旗舰店", "社区店"],
                },
                channels=["self"],
            ),
        ),
    ]
    hidden = [
        await created(client, headers, reduction(name="草稿")),
        await running(client, shop, reduction(name="只给代下单", channels=["proxy", "live"])),
        await running(
            client,
            shop,
            reduction(
                name="别的经销商", audience={"distributor_ids": [tenant.other_distributor.id]}
            ),
        ),
        await running(client, shop, reduction(name="只给A级", audience={"tiers": ["A"]})),
        await running(client, shop, reduction(name="只给社区店", audience={"tags": ["社区店"]})),
        await running(client, shop, reduction(name="明天开始", **window(days_from_now=1))),
        await running(client, shop, reduction(name="资金用完", budget_fen=30_000)),
        await running(client, shop, reduction(name="已暂停")),
        await running(client, other, reduction(name="别的品牌")),
    ]
    await client.post(f"{API}/{hidden[-2]['id']}/pause", headers=headers)
    await Promotion.filter(id=hidden[-3]["id"]).update(committed_fen=30_000)
    owner = await store_owner(client, sandbox_client, tenant.store)

    items = await current(client, owner)

    assert sorted(p["id"] for p in items) == sorted(p["id"] for p in shown)
    assert all(set(p) == STORE_KEYS for p in items)  # no budget, audience or status
    first = next(p for p in items if p["id"] == shown[0]["id"])
    assert first["name"] == "全场满减"
    assert first["kind"] == "reduction" and first["kind_name"] == "满减"
    assert first["description"] == "满3000元减300元"
    assert first["scope"] == {
        "all_products": True,
        "bundle": False,
        "bundle_mode": None,
        "skus": [],
        "categories": [],
    }
    assert first["starts_at"] == shown[0]["starts_at"] and first["ends_at"] == shown[0]["ends_at"]
    assert first["exclusive"] is False and first["gift"] is None
    assert first["per_store_limit"] is None and first["uses_left"] is None
    # The brand's own list is unchanged, and still brand staff only.
    brand_list = (await client.get(API, headers=headers)).json()["items"]
    assert len(brand_list) == len(shown) + len(hidden) - 1
    assert (await client.get(API, headers=bearer(owner))).status_code == 403


async def test_a_salesperson_sees_their_stores_proxy_promotions(client, sandbox_client) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    proxy = await running(client, shop, reduction(name="代下单专享", channels=["proxy"]))
    await running(client, shop, reduction(name="门店自己下单", channels=["self"]))
    seller = await wechat_login(client, sandbox_client, "seller")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(seller))
    seller = await wechat_login(client, sandbox_client, "seller")

    items = await current(client, seller, store_id=tenant.store.id)
    assert [p["id"] for p in items] == [proxy["id"]]
    unnamed = await client.get(CURRENT, headers=bearer(seller))
    assert unnamed.status_code == 404  # a salesperson names the store they order for
    foreign = await client.get(
        CURRENT, params={"store_id": (await make_shop()).tenant.store.id}, headers=bearer(seller)
    )
    assert foreign.status_code == 404


async def test_scope_and_gift_are_named_and_sku_id_keeps_what_can_apply(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    category_id = await category_of(shop)
    only_filters = await running(
        client,
        shop,
        reduction(
            name="滤芯特价",
            reward={"kind": "special_price", "percent_of_list": "85"},
            scope={"sku_ids": [shop.filters]},
            conditions={"min_quantity": 20},
        ),
    )
    by_category = await running(
        client,
        shop,
        reduction(
            name="净水器买赠",
            reward={"kind": "gift", "sku_id": shop.filters, "quantity": 2},
            scope={"category_ids": [category_id]},
            conditions={"min_amount_fen": 200_000},
            stacking="exclusive",
            per_store_limit=1,
            **window(days=10),
        ),
    )
    bundle = await running(
        client,
        shop,
        reduction(
            name="套装九折",
            reward={"kind": "discount", "percent": "90"},
            scope={"bundle_sku_ids": [shop.water, shop.filters]},
            **window(days=5),
        ),
    )
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    everything = await current(client, owner)
    # Ending soonest first.
    assert [p["id"] for p in everything] == [bundle["id"], by_category["id"], only_filters["id"]]
    filters_named = {
        "sku_id": shop.filters,
        "product_id": (await Sku.get(id=shop.filters)).product_id,  # type: ignore[attr-defined]
        "product_name": "澜泉 RO 净水器",
        "sku_name": "滤芯",
        "unit": "支",
    }
    assert everything[0]["scope"]["bundle"] is True
    assert [s["sku_id"] for s in everything[0]["scope"]["skus"]] == sorted(
        [shop.water, shop.filters]
    )
    # The old payload (bundle_sku_ids) means sets of one of each, counted in complete sets.
    assert everything[0]["scope"]["bundle_mode"] == "sets"
    assert [s["set_quantity"] for s in everything[0]["scope"]["skus"]] == [1, 1]
    assert everything[0]["description"] == (
        "澜泉 RO 净水器 RO-500×1 + 澜泉 RO 净水器 滤芯×1 成套：每套享9折"
    )
    gift = everything[1]
    assert gift["scope"]["categories"] == [{"id": category_id, "name": "净水器"}]
    assert gift["gift"] == {**filters_named, "quantity": 2, "per_multiple": False}
    assert gift["description"] == "满2000元送澜泉 RO 净水器 滤芯 × 2支"
    assert gift["exclusive"] is True
    assert gift["per_store_limit"] == 1 and gift["uses_left"] == 1
    assert everything[2]["scope"]["skus"] == [filters_named]
    assert everything[2]["description"] == "满20件享原价8.5折"

    for_water = await current(client, owner, sku_id=shop.water)
    assert [p["id"] for p in for_water] == [bundle["id"], by_category["id"]]
    for_filters = await current(client, owner, sku_id=shop.filters)
    assert [p["id"] for p in for_filters] == [bundle["id"], by_category["id"], only_filters["id"]]

    # An order that uses the gift promotion uses up the store's one go at it.
    placed = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": shop.water, "quantity": 2}]},
        headers=idempotent(owner),
    )
    assert placed.status_code == 201, placed.text
    assert [a["promotion_id"] for a in placed.json()["promotions"]] == [by_category["id"]]
    after = next(p for p in await current(client, owner) if p["id"] == by_category["id"])
    assert after["uses_left"] == 0


async def test_bad_input_and_wrong_callers_get_clear_refusals(client, sandbox_client) -> None:
    shop, other = await make_shop(), await make_shop()
    await running(client, shop, reduction())
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    for value in ("abc", "0", "-3", str(2**63)):
        response = await client.get(CURRENT, params={"sku_id": value}, headers=bearer(owner))
        assert response.status_code == 422, (value, response.text)
        assert response.json()["error"]["code"] == "request.invalid"
        assert response.json()["error"]["details"][0]["field"] == "sku_id"
    foreign = await client.get(CURRENT, params={"sku_id": other.water}, headers=bearer(owner))
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "catalog.sku_not_found"
    missing = await client.get(CURRENT, params={"sku_id": 9_999_999}, headers=bearer(owner))
    assert missing.status_code == 404

    brand = await admin(client, shop)
    distributor = await distributor_admin(client, shop)
    for headers in (brand, distributor):
        refused = await client.get(CURRENT, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "auth.role_required"
    assert (await client.get(CURRENT)).status_code == 401


def promotion(reward: engine.Reward, **fields: Any) -> engine.Promotion:
    starts = datetime(2026, 1, 1, tzinfo=UTC)
    return engine.Promotion(
        id=1,
        name="活动",
        starts_at=starts,
        ends_at=starts + timedelta(days=30),
        reward=reward,
        **fields,
    )


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (promotion(engine.Reduction(300_000, 30_000)), "满3000元减300元"),
        (promotion(engine.Reduction(200_000, 20_050, every=True)), "每满2000元减200.50元"),
        (
            promotion(
                engine.Reduction(300_000, 30_000), conditions=engine.Conditions(min_quantity=5)
            ),
            "满5件，满3000元减300元",
        ),
        (promotion(engine.Discount(Decimal("95")), step=3), "享9.5折"),
        (
            promotion(
                engine.Discount(Decimal("90")),
                conditions=engine.Conditions(min_quantity=2, min_amount_fen=100_000),
            ),
            "满2件且满1000元打9折",
        ),
        (promotion(engine.SpecialPrice(unit_price_fen=9_900), step=1), "特价99元"),
        (promotion(engine.SpecialPrice(percent_of_list=Decimal("70")), step=1), "原价7折"),
        (
            promotion(
                engine.Gift(7, 1, per_multiple=True),
                conditions=engine.Conditions(min_amount_fen=200_000),
            ),
            "每满2000元送赠品 × 1",
        ),
        (promotion(engine.Gift(7, 3)), "购买即送赠品 × 3"),
        (
            promotion(
                engine.Rebate(Decimal("5"), base="list"),
                conditions=engine.Conditions(min_quantity=6),
            ),
            "满6件按原价金额返利5%（付款后到账）",
        ),
        (promotion(engine.Points(Decimal("1.00"))), "每实付1元得1积分"),
        (
            promotion(engine.Points(Decimal("1"), 2_000_000, Decimal("2.0"))),
            "每实付1元得1积分，超过20000元的部分2倍",
        ),
    ],
)
def test_every_reward_reads_as_one_line(made: engine.Promotion, expected: str) -> None:
    assert wording.describe(made) == expected


def test_a_gift_is_named_when_its_sku_is_known() -> None:
    made = promotion(engine.Gift(7, 2), conditions=engine.Conditions(min_quantity=10))
    assert wording.describe(made, gift_name="龙头 标准款", gift_unit="个") == (
        "满10件送龙头 标准款 × 2个"
    )
