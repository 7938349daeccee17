"""Coupons: templates, batch and monthly issuance, claims with limits and stock, the wallet,
use at checkout once (also under concurrency), and the coupon given back on cancel."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from backend.coupons import service as coupons_service
from backend.coupons.models import Coupon, CouponEvent, CouponIssuance, CouponTemplate
from backend.coupons.terms import PayableLine, Refusal, Terms, apply
from backend.ordering.models import Order, OrderLine
from tests.factories import (
    Shop,
    bearer,
    idempotent,
    make_shop,
    make_store,
    phone_code,
    stock_of,
    store_owner,
    wechat_login,
)
from tests.test_promotions_admin import admin
from tests.test_promotions_ordering import two_purifiers

API = "/api/v1/coupons"


def reduction_coupon(**overrides: Any) -> dict[str, Any]:
    """满 3000 减 200, valid 30 days from issue."""
    body: dict[str, Any] = {
        "name": "满3000减200",
        "kind": "reduction",
        "terms": {"threshold_fen": 300_000, "amount_off_fen": 20_000},
        "valid_days": 30,
    }
    body.update(overrides)
    return body


async def template(client: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> Any:
    response = await client.post(f"{API}/templates", json=body, headers=await admin(client, shop))
    assert response.status_code == 201, response.text
    return response.json()


async def issued_to_all(client: httpx.AsyncClient, shop: Shop, template_id: int) -> Any:
    headers = {**await admin(client, shop), "Idempotency-Key": f"issue-{template_id}"}
    response = await client.post(
        f"{API}/templates/{template_id}/issuances", json={}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def wallet(client: httpx.AsyncClient, owner: dict[str, Any], state: str = "") -> list[Any]:
    query = f"?state={state}" if state else ""
    response = await client.get(f"{API}/wallet{query}", headers=bearer(owner))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def events_of(coupon_id: int) -> list[tuple[str, int | None]]:
    return [
        (event.kind, event.order_id)
        for event in await CouponEvent.filter(coupon_id=coupon_id).order_by("id")
    ]


# ---- the pure terms ---------------------------------------------------------------------------


LINES = [
    PayableLine(sku_id=1, category_id=10, quantity=2, payable_fen=399_800),
    PayableLine(sku_id=2, category_id=20, quantity=10, payable_fen=100_000),
]


@pytest.mark.parametrize(
    ("terms", "channel", "expected"),
    [
        # 满3000减200 over the whole cart: 200 split 399800:100000 by largest remainder
        (
            Terms("reduction", threshold_fen=300_000, amount_off_fen=20_000),
            "self",
            (20_000, (15_998, 4_002)),
        ),
        # scoped to category 20, whose 1000.00 is under the threshold
        (
            Terms(
                "reduction",
                category_ids=frozenset({20}),
                threshold_fen=300_000,
                amount_off_fen=20_000,
            ),
            "self",
            "coupon.threshold_not_met",
        ),
        # 9折 of SKU 2 only: 10% of 1000.00
        (
            Terms("discount", sku_ids=frozenset({2}), percent=Decimal(90)),
            "self",
            (10_000, (0, 10_000)),
        ),
        # 8.5折 capped at 50.00
        (
            Terms("discount", percent=Decimal("85"), max_off_fen=5_000),
            "proxy",
            (5_000, (4_000, 1_000)),
        ),
        # exchange 3 filters: 3/10 of what the line pays
        (Terms("exchange", exchange=((2, 3),)), "self", (30_000, (0, 30_000))),
        (Terms("exchange", exchange=((2, 3),)), "proxy", "coupon.self_orders_only"),
        (Terms("exchange", exchange=((9, 1),)), "self", "coupon.no_matching_products"),
    ],
)
def test_terms_table(terms: Terms, channel: str, expected: Any) -> None:
    outcome = apply(terms, LINES, channel)
    if isinstance(expected, str):
        assert isinstance(outcome, Refusal) and outcome.code == expected and outcome.message
    else:
        assert not isinstance(outcome, Refusal)
        assert (outcome.amount_fen, outcome.per_line) == expected
        assert sum(outcome.per_line) == outcome.amount_fen
        assert all(
            0 <= off <= line.payable_fen for off, line in zip(outcome.per_line, LINES, strict=True)
        )


def test_a_reduction_never_takes_more_than_the_scope_pays() -> None:
    terms = Terms("reduction", threshold_fen=0, amount_off_fen=999_999)
    outcome = apply(terms, [PayableLine(1, 1, 1, 500)], "self")
    assert not isinstance(outcome, Refusal) and outcome.per_line == (500,)


# ---- templates --------------------------------------------------------------------------------


async def test_a_template_is_created_and_described(client) -> None:
    shop = await make_shop()
    created = await template(client, shop, reduction_coupon(total_quantity=100))
    assert created["description"] == "满3000.00元减200.00元"
    assert (created["issued_count"], created["left"], created["status"]) == (0, 100, "active")
    discount = await template(
        client,
        shop,
        reduction_coupon(
            name="九折券", kind="discount", terms={"percent": "90", "max_off_fen": 10_000}
        ),
    )
    assert discount["description"] == "9折，最多减100.00元"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (
            {"terms": {"threshold_fen": 10_000, "amount_off_fen": 10_000}},
            422,
            "coupon.invalid_terms",
        ),
        ({"valid_days": None}, 422, "coupon.invalid_terms"),  # no validity at all
        (
            {
                "valid_from": "2026-12-01T00:00:00+08:00",
                "valid_until": "2026-11-01T00:00:00+08:00",
                "valid_days": None,
            },
            422,
            "coupon.invalid_terms",
        ),
        ({"kind": "discount"}, 422, "request.invalid"),  # a discount without its percent
        (
            {"kind": "exchange", "terms": {"exchange": [{"sku_id": 999_999, "quantity": 1}]}},
            422,
            "coupon.unknown_reference",
        ),
        ({"terms": {"amount_off_fen": -5, "threshold_fen": 10}}, 422, "request.invalid"),
        ({"name": ""}, 422, "request.invalid"),
    ],
)
async def test_contradictory_or_unknown_templates_are_refused(client, change, status, code) -> None:
    shop = await make_shop()
    response = await client.post(
        f"{API}/templates", json=reduction_coupon(**change), headers=await admin(client, shop)
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert await CouponTemplate.all().count() == 0


async def test_stores_and_other_brands_cannot_manage_templates(client, sandbox_client) -> None:
    shop = await make_shop()
    created = await template(client, shop, reduction_coupon())
    other = await make_shop()
    stranger = await client.get(
        f"{API}/templates/{created['id']}", headers=await admin(client, other)
    )
    assert stranger.status_code == 404
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    refused = await client.post(f"{API}/templates", json=reduction_coupon(), headers=bearer(owner))
    assert refused.status_code == 403


# ---- issuance and claims ----------------------------------------------------------------------


async def test_a_batch_reaches_its_audience_once(client, sandbox_client) -> None:
    shop = await make_shop()
    second = await make_store(shop.tenant, tier="A")
    created = await template(client, shop, reduction_coupon())
    headers = {**await admin(client, shop), "Idempotency-Key": "batch-a"}
    to_tier_a = {"audience": {"tiers": ["A"]}}
    url = f"{API}/templates/{created['id']}/issuances"
    first = await client.post(url, json=to_tier_a, headers=headers)
    assert first.status_code == 201 and first.json()["issued_total"] == 1
    replay = await client.post(url, json=to_tier_a, headers=headers)
    assert replay.json() == first.json()
    assert [c.store_id for c in await Coupon.all()] == [second.id]  # type: ignore[attr-defined]
    everyone = await issued_to_all(client, shop, created["id"])
    assert everyone["issued_total"] == 2  # a second batch: both stores get one more
    assert (await CouponTemplate.get(id=created["id"])).issued_count == 3
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    [mine] = await wallet(client, owner)
    assert (mine["state"], mine["state_label"], mine["name"]) == (
        "available",
        "可使用",
        "满3000减200",
    )


async def test_a_batch_larger_than_the_stock_issues_nothing(client) -> None:
    shop = await make_shop()
    await make_store(shop.tenant)
    created = await template(client, shop, reduction_coupon(total_quantity=1))
    headers = {**await admin(client, shop), "Idempotency-Key": "too-many"}
    response = await client.post(
        f"{API}/templates/{created['id']}/issuances", json={}, headers=headers
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "coupon.out_of_stock"
    assert await Coupon.all().count() == 0 and await CouponIssuance.all().count() == 0
    assert (await CouponTemplate.get(id=created["id"])).issued_count == 0


async def test_monthly_issuance_runs_once_a_month(client, deps) -> None:
    shop = await make_shop()
    created = await template(client, shop, reduction_coupon())
    headers = {**await admin(client, shop), "Idempotency-Key": "monthly"}
    today = deps.clock.now()
    day = min(today.day, 28)
    body = {"schedule": "monthly", "day_of_month": day}
    response = await client.post(
        f"{API}/templates/{created['id']}/issuances", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["issued_total"] == 1  # its day has come this month: issued now
    assert await coupons_service.issue_due(today) == 0  # and not again this month
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=day)
    runs = await asyncio.gather(*(coupons_service.issue_due(next_month) for _ in range(4)))
    assert sorted(runs) == [0, 0, 0, 1]  # next month: exactly one process issued it
    periods = sorted(c.period for c in await Coupon.all())
    assert len(periods) == 2 and periods[0] < periods[1]


async def test_claims_respect_the_store_limit_and_the_stock(client, sandbox_client) -> None:
    shop = await make_shop()
    created = await template(
        client, shop, reduction_coupon(claimable=True, per_store_limit=2, total_quantity=3)
    )
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    url = f"{API}/templates/{created['id']}/claim"
    center = (await client.get(f"{API}/claimable", headers=bearer(owner))).json()["items"]
    assert [(t["id"], t["claimed"], t["can_claim"]) for t in center] == [(created["id"], 0, True)]
    responses = await asyncio.gather(
        *(client.post(url, headers=idempotent(owner, f"claim-{n}")) for n in range(6))
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 409, 409, 409, 409]
    refused = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert refused == {"coupon.claim_limit_reached"}
    other_store = await make_store(shop.tenant)
    other = await store_owner(client, sandbox_client, other_store)
    assert (await client.post(url, headers=idempotent(other))).status_code == 201
    third = await make_store(shop.tenant)
    late = await store_owner(client, sandbox_client, third)
    sold_out = await client.post(url, headers=idempotent(late))
    assert sold_out.status_code == 409 and sold_out.json()["error"]["code"] == "coupon.out_of_stock"
    assert (await CouponTemplate.get(id=created["id"])).issued_count == 3
    assert await Coupon.all().count() == 3


async def test_concurrent_claims_by_many_stores_never_exceed_the_stock(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    created = await template(client, shop, reduction_coupon(claimable=True, total_quantity=3))
    owners = [
        await store_owner(client, sandbox_client, store)
        for store in [shop.tenant.store, *[await make_store(shop.tenant) for _ in range(5)]]
    ]
    url = f"{API}/templates/{created['id']}/claim"
    responses = await asyncio.gather(
        *(client.post(url, headers=idempotent(owner)) for owner in owners)
    )
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 3
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "coupon.out_of_stock"
    }
    assert (await CouponTemplate.get(id=created["id"])).issued_count == 3
    assert await Coupon.all().count() == 3


async def test_a_template_not_claimable_or_ended_cannot_be_claimed(client, sandbox_client) -> None:
    shop = await make_shop()
    hidden = await template(client, shop, reduction_coupon())
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    response = await client.post(f"{API}/templates/{hidden['id']}/claim", headers=idempotent(owner))
    assert response.json()["error"]["code"] == "coupon.not_claimable"
    open_one = await template(client, shop, reduction_coupon(claimable=True))
    headers = await admin(client, shop)
    await client.post(f"{API}/templates/{open_one['id']}/end", headers=headers)
    response = await client.post(
        f"{API}/templates/{open_one['id']}/claim", headers=idempotent(owner)
    )
    assert response.json()["error"]["code"] == "coupon.template_ended"
    assert await Coupon.all().count() == 0


# ---- checkout ---------------------------------------------------------------------------------


async def store_with_coupon(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, body: dict[str, Any] | None = None
) -> tuple[Shop, dict[str, Any], int]:
    shop = await make_shop()
    created = await template(client, shop, body or reduction_coupon())
    await issued_to_all(client, shop, created["id"])
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    [coupon] = await wallet(client, owner)
    return shop, owner, coupon["id"]


async def test_the_quote_offers_the_coupon_and_the_order_uses_it(client, sandbox_client) -> None:
    shop, owner, coupon_id = await store_with_coupon(client, sandbox_client)
    quote = (
        await client.post(
            "/api/v1/quote",
            json={**two_purifiers(shop), "coupon_id": coupon_id},
            headers=bearer(owner),
        )
    ).json()
    assert quote["coupon"]["amount_fen"] == 20_000 and quote["coupon_discount_fen"] == 20_000
    assert quote["payable_fen"] == 399_800 - 20_000
    assert [(o["coupon_id"], o["usable"]) for o in quote["coupon_options"]] == [(coupon_id, True)]

    placed = await client.post(
        "/api/v1/orders",
        json={**two_purifiers(shop), "coupon_id": coupon_id},
        headers=idempotent(owner),
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["payable_fen"], order["coupon_id"], order["coupon_discount_fen"]) == (
        379_800,
        coupon_id,
        20_000,
    )
    [line] = await OrderLine.filter(order_id=order["id"])
    assert line.payable_fen == 379_800 and line.adjustments[-1] == {
        "coupon_id": coupon_id,
        "kind": "coupon",
        "amount_fen": 20_000,
    }
    assert await events_of(coupon_id) == [("issued", None), ("used", order["id"])]
    [used] = await wallet(client, owner, "used")
    assert used["order_id"] == order["id"] and await wallet(client, owner, "available") == []

    again = await client.post(
        "/api/v1/orders",
        json={**two_purifiers(shop), "coupon_id": coupon_id},
        headers=idempotent(owner),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "coupon.already_used"
    assert await Order.all().count() == 1 and await stock_of(shop) == 48


async def test_a_quote_shows_why_a_coupon_does_not_apply(client, sandbox_client) -> None:
    shop, owner, coupon_id = await store_with_coupon(client, sandbox_client)
    one = {"lines": [{"sku_id": shop.water, "quantity": 1}], "coupon_id": coupon_id}
    quote = (await client.post("/api/v1/quote", json=one, headers=bearer(owner))).json()
    assert quote["coupon"] is None and quote["payable_fen"] == 199_900
    assert quote["coupon_problem"]["code"] == "coupon.not_applicable"
    assert "还差1001.00元" in quote["coupon_problem"]["message"]
    placed = await client.post("/api/v1/orders", json=one, headers=idempotent(owner))
    assert placed.status_code == 409 and placed.json()["error"]["code"] == "coupon.not_applicable"
    assert await Order.all().count() == 0 and await stock_of(shop) == 50


async def test_another_stores_or_an_expired_coupon_is_refused(client, sandbox_client, deps) -> None:
    shop, owner, coupon_id = await store_with_coupon(client, sandbox_client)
    other_store = await make_store(shop.tenant)
    other = await store_owner(client, sandbox_client, other_store)
    body = {**two_purifiers(shop), "coupon_id": coupon_id}
    theirs = await client.post("/api/v1/orders", json=body, headers=idempotent(other))
    assert theirs.status_code == 409 and theirs.json()["error"]["code"] == "coupon.not_yours"
    missing = await client.post(
        "/api/v1/orders", json={**body, "coupon_id": 987_654}, headers=idempotent(owner)
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "coupon.not_found"
    deps.clock.advance(days=31)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    expired = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    assert expired.status_code == 409 and expired.json()["error"]["code"] == "coupon.expired"
    assert [c["state"] for c in await wallet(client, owner, "expired")] == ["expired"]
    assert await Order.all().count() == 0 and await stock_of(shop) == 50


async def test_a_coupon_before_its_window_is_not_usable_yet(client, sandbox_client, deps) -> None:
    starts = deps.clock.now() + timedelta(days=2)
    window = {
        "valid_days": None,
        "valid_from": starts.isoformat(),
        "valid_until": (starts + timedelta(days=7)).isoformat(),
    }
    shop, owner, coupon_id = await store_with_coupon(
        client, sandbox_client, reduction_coupon(**window)
    )
    body = {**two_purifiers(shop), "coupon_id": coupon_id}
    early = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    assert early.status_code == 409 and early.json()["error"]["code"] == "coupon.not_started"
    [listed] = await wallet(client, owner)
    assert listed["state"] == "not_started"
    deps.clock.advance(days=3)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    later = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    assert later.status_code == 201 and later.json()["coupon_discount_fen"] == 20_000


async def test_one_coupon_in_50_concurrent_checkouts_is_used_once(client, sandbox_client) -> None:
    shop, owner, coupon_id = await store_with_coupon(client, sandbox_client)
    body = {**two_purifiers(shop), "coupon_id": coupon_id}
    responses = await asyncio.gather(
        *(client.post("/api/v1/orders", json=body, headers=idempotent(owner)) for _ in range(50))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, statuses
    codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert codes == {"coupon.already_used"}
    assert await Order.all().count() == 1
    assert await stock_of(shop) == 48  # the 49 refused orders took no stock
    assert [kind for kind, _ in await events_of(coupon_id)] == ["issued", "used"]


async def test_a_cancelled_order_gives_its_coupon_back(client, sandbox_client) -> None:
    shop, owner, coupon_id = await store_with_coupon(client, sandbox_client)
    body = {**two_purifiers(shop), "coupon_id": coupon_id}
    order = (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()
    cancelled = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "换个时间"}, headers=bearer(owner)
    )
    assert cancelled.status_code == 200
    [back] = await wallet(client, owner, "available")
    assert back["id"] == coupon_id and back["order_id"] is None
    assert await events_of(coupon_id) == [
        ("issued", None),
        ("used", order["id"]),
        ("returned", order["id"]),
    ]
    again = await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    assert again.status_code == 201 and again.json()["coupon_discount_fen"] == 20_000


async def test_an_expired_unpaid_order_gives_its_coupon_back(
    client, sandbox_client, deps, settings
) -> None:
    from backend.ordering import service as ordering_service

    shop, owner, coupon_id = await store_with_coupon(client, sandbox_client)
    body = {**two_purifiers(shop), "coupon_id": coupon_id}
    await client.post("/api/v1/orders", json=body, headers=idempotent(owner))
    deps.clock.advance(seconds=settings.order_payment_timeout_seconds + 1)
    assert await ordering_service.expire_unpaid(deps) == 1
    assert (await Coupon.get(id=coupon_id)).status == "available"


async def test_exchange_vouchers_only_in_the_stores_own_orders(client, sandbox_client) -> None:
    shop = await make_shop()
    voucher = await template(
        client,
        shop,
        reduction_coupon(
            name="滤芯兑换券",
            kind="exchange",
            terms={"exchange": [{"sku_id": shop.filters, "quantity": 2}]},
        ),
    )
    await issued_to_all(client, shop, voucher["id"])
    tenant = shop.tenant
    seller = await wechat_login(client, sandbox_client, "voucher-seller")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(seller))
    seller = await wechat_login(client, sandbox_client, "voucher-seller")
    [coupon] = await Coupon.all()
    ten_filters = {"lines": [{"sku_id": shop.filters, "quantity": 10}], "coupon_id": coupon.id}
    proxy = await client.post(
        "/api/v1/orders",
        json={**ten_filters, "store_id": tenant.store.id},
        headers=idempotent(seller),
    )
    assert proxy.status_code == 409 and proxy.json()["error"]["details"]["code"] == (
        "coupon.self_orders_only"
    )
    owner = await store_owner(client, sandbox_client, tenant.store)
    own = await client.post("/api/v1/orders", json=ten_filters, headers=idempotent(owner))
    assert own.status_code == 201, own.text
    assert own.json()["coupon_discount_fen"] == 2 * 10_000  # two filters free
    assert own.json()["payable_fen"] == 8 * 10_000
    assert await Order.all().count() == 1


async def test_coupon_use_is_scoped_to_the_store(client, sandbox_client) -> None:
    """A coupon's history is the owner's alone."""
    shop, owner, coupon_id = await store_with_coupon(client, sandbox_client)
    mine = await client.get(f"{API}/wallet/{coupon_id}/history", headers=bearer(owner))
    assert mine.status_code == 200 and mine.json()["items"][0]["kind"] == "issued"
    other = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    theirs = await client.get(f"{API}/wallet/{coupon_id}/history", headers=bearer(other))
    assert theirs.status_code == 404


# ---- the wallet names what exchange vouchers give ----------------------------------------------


def exchange_voucher(shop: Shop, name: str, items: list[tuple[int, int]]) -> dict[str, Any]:
    return reduction_coupon(
        name=name,
        kind="exchange",
        terms={"exchange": [{"sku_id": sku, "quantity": qty} for sku, qty in items]},
    )


async def issued(client: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> int:
    created = await template(client, shop, body)
    await issued_to_all(client, shop, created["id"])
    return int(created["id"])


async def test_the_wallet_names_the_skus_of_exchange_vouchers_with_one_query_per_page(
    client, sandbox_client, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await make_shop()
    await issued(client, shop, exchange_voucher(shop, "净水器兑换券", [(shop.water, 1)]))
    await issued(client, shop, reduction_coupon())
    await issued(
        client,
        shop,
        exchange_voucher(shop, "滤芯兑换券", [(shop.filters, 2), (shop.unsold, 1)]),
    )
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    async def page(limit: int) -> tuple[list[dict[str, Any]], int]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            response = await client.get(
                f"{API}/wallet", params={"limit": limit}, headers=bearer(owner)
            )
        assert response.status_code == 200, response.text
        queries = [r for r in caplog.records if r.name == "tortoise.db_client"]
        return response.json()["items"], len(queries)

    one, queries_for_one = await page(1)
    three, queries_for_three = await page(3)
    # The coupons, their templates, and the SKUs of every voucher on the page at once.
    assert queries_for_one == queries_for_three == 3
    assert [c["name"] for c in three] == ["滤芯兑换券", "满3000减200", "净水器兑换券"]
    assert (
        one[0]["exchange"]
        == three[0]["exchange"]
        == [
            {
                "sku_id": shop.filters,
                "quantity": 2,
                "product_id": three[0]["exchange"][0]["product_id"],
                "product_name": "澜泉 RO 净水器",
                "sku_name": "滤芯",
                "unit": "支",
            },
            {
                "sku_id": shop.unsold,
                "quantity": 1,
                "product_id": three[0]["exchange"][0]["product_id"],
                "product_name": "澜泉 RO 净水器",
                "sku_name": "旧款",
                "unit": "台",
            },
        ]
    )
    assert three[0]["exchange"][0]["product_id"] is not None
    assert three[1]["exchange"] == []
    assert [(i["sku_id"], i["quantity"], i["sku_name"]) for i in three[2]["exchange"]] == [
        (shop.water, 1, "RO-500")
    ]


async def test_a_wallet_page_without_vouchers_asks_no_catalog(
    client, sandbox_client, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await make_shop()
    await issued(client, shop, reduction_coupon())
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        [coupon] = await wallet(client, owner)
    assert len([r for r in caplog.records if r.name == "tortoise.db_client"]) == 2
    assert coupon["exchange"] == []


async def test_one_coupon_of_the_wallet_is_the_stores_own(client, sandbox_client) -> None:
    shop = await make_shop()
    await issued(client, shop, exchange_voucher(shop, "滤芯兑换券", [(shop.filters, 2)]))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    [listed] = await wallet(client, owner)
    response = await client.get(f"{API}/wallet/{listed['id']}", headers=bearer(owner))
    assert response.status_code == 200, response.text
    assert response.json() == listed
    assert [(i["sku_name"], i["quantity"], i["unit"]) for i in listed["exchange"]] == [
        ("滤芯", 2, "支")
    ]

    neighbour = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    stranger = await store_owner(client, sandbox_client, (await make_shop()).tenant.store)
    for caller in (neighbour, stranger):
        hidden = await client.get(f"{API}/wallet/{listed['id']}", headers=bearer(caller))
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "coupon.not_found"
    missing = await client.get(f"{API}/wallet/987654", headers=bearer(owner))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "coupon.not_found"
    brand = await client.get(f"{API}/wallet/{listed['id']}", headers=await admin(client, shop))
    assert brand.status_code == 403
    bad = await client.get(f"{API}/wallet/0", headers=bearer(owner))
    assert bad.status_code == 404
