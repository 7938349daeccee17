"""Livestream sessions through the API: a distributor schedules one for its stores (all, by
tags, or a list), with live prices, live stock and planned rains; invited stores see it and
others don't; the host starts and ends it once; bad schedules are refused whole."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import httpx
import pytest

from backend.livestream.models import LiveInvitation, LiveProduct, LiveSession, RedPacketRain
from backend.org.models import StoreTag
from tests.factories import Shop, bearer, distributor_admin, make_shop, make_store, store_owner
from tests.test_promotions_admin import admin

API = "/api/v1/live/sessions"
_keys = itertools.count(1)


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": f"live-{next(_keys)}"}


def session_body(shop: Shop, deps: Any, **overrides: Any) -> dict[str, Any]:
    start = deps.clock.now() + timedelta(hours=1)
    return {
        "title": "双十二净水专场",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "audience": {"mode": "all"},
        "products": [
            {"sku_id": shop.water, "live_price_fen": 159_900, "live_stock": 30},
            {"sku_id": shop.filters, "live_price_fen": 8_000, "live_stock": 200},
        ],
        "rains": [{"total_fen": 10_000, "count": 50}],
        **overrides,
    }


async def scheduled(client: httpx.AsyncClient, headers: dict[str, str], body: Any) -> Any:
    response = await client.post(API, json=body, headers=keyed(headers))
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_distributor_schedules_a_session_its_invited_stores_see(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    second = await make_store(shop.tenant)
    elsewhere = await make_store(shop.tenant, distributor=shop.tenant.other_distributor)
    session = await scheduled(client, host, session_body(shop, deps))
    assert (session["status"], session["invited_count"]) == ("scheduled", 2)
    assert [p["sku"]["name"] for p in session["products"]] == ["RO-500", "滤芯"]
    assert session["products"][0]["live_price_fen"] == 159_900
    assert [(r["total_fen"], r["count"], r["status"]) for r in session["rains"]] == [
        (10_000, 50, "planned")
    ]

    invited = await store_owner(client, sandbox_client, second)
    listed = (await client.get(API, headers=bearer(invited))).json()
    assert [s["id"] for s in listed["items"]] == [session["id"]]
    seen = await client.get(f"{API}/{session['id']}", headers=bearer(invited))
    assert seen.status_code == 200 and seen.json()["title"] == "双十二净水专场"

    outsider = await store_owner(client, sandbox_client, elsewhere)
    assert (await client.get(API, headers=bearer(outsider))).json()["items"] == []
    assert (await client.get(f"{API}/{session['id']}", headers=bearer(outsider))).status_code == 404
    other_brand = await admin(client, await make_shop())
    assert (await client.get(f"{API}/{session['id']}", headers=other_brand)).status_code == 404


async def test_audiences_by_tags_and_by_list(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    tagged = await make_store(shop.tenant)
    await StoreTag.create(store=tagged, tag="旗舰店")
    by_tag = await scheduled(
        client, host, session_body(shop, deps, audience={"mode": "tags", "tags": ["旗舰店"]})
    )
    assert by_tag["invited_count"] == 1
    assert await LiveInvitation.filter(session_id=by_tag["id"]).values_list(
        "store_id", flat=True
    ) == [tagged.id]
    listed = await scheduled(
        client,
        host,
        session_body(shop, deps, audience={"mode": "stores", "store_ids": [shop.tenant.store.id]}),
    )
    assert listed["invited_count"] == 1


async def test_the_brand_names_the_distributor_and_replays_are_one_session(client, deps) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    body = session_body(shop, deps)
    refused = await client.post(API, json=body, headers=keyed(brand))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "live.invalid_lineup")
    with_distributor = {**body, "distributor_id": shop.tenant.distributor.id}
    headers = keyed(brand)
    first = await client.post(API, json=with_distributor, headers=headers)
    again = await client.post(API, json=with_distributor, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert await LiveSession.all().count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"title": ""}, "request.invalid"),
        ({"title": "长" * 65}, "request.invalid"),
        ({"products": []}, "request.invalid"),
        ({"rains": [{"total_fen": 10, "count": 50}]}, "live.invalid_lineup"),
        ({"rains": [{"total_fen": "many", "count": 5}]}, "request.invalid"),
        ({"audience": {"mode": "tags", "tags": []}}, "live.invalid_lineup"),
        ({"audience": {"mode": "stores", "store_ids": [999_999]}}, "live.unknown_reference"),
        ({"audience": {"mode": "everyone"}}, "request.invalid"),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, "live.invalid_schedule"),
        ({"starts_at": "2020-01-01T00:00:00+00:00"}, "live.invalid_schedule"),
        ({"products": [{"sku_id": 999_999, "live_price_fen": 1, "live_stock": 1}]}, None),
        ({"products": [{"sku_id": 0, "live_price_fen": 1, "live_stock": 1}]}, "request.invalid"),
    ],
)
async def test_bad_schedules_are_refused_and_nothing_is_written(client, deps, change, code) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    response = await client.post(API, json=session_body(shop, deps, **change), headers=keyed(host))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == (code or "live.unknown_reference")
    assert await LiveSession.all().count() == 0
    assert await LiveProduct.all().count() == 0
    assert await RedPacketRain.all().count() == 0


async def test_a_duplicate_product_or_a_too_small_rain_is_refused(client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    twice = {"sku_id": shop.water, "live_price_fen": 100, "live_stock": 1}
    for change in ({"products": [twice, twice]}, {"rains": [{"total_fen": 49, "count": 50}]}):
        response = await client.post(
            API, json=session_body(shop, deps, **change), headers=keyed(host)
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "live.invalid_lineup"
    assert await LiveSession.all().count() == 0


async def test_the_host_starts_and_ends_it_once(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    url = f"{API}/{session['id']}"
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    assert (await client.post(f"{url}/start", headers=bearer(owner))).status_code == 403
    assert (await client.post(f"{url}/end", headers=host)).status_code == 409
    started = await client.post(f"{url}/start", headers=host)
    assert started.status_code == 200 and started.json()["status"] == "live"
    again = await client.post(f"{url}/start", headers=host)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "live.status_changed")
    rival_shop = await make_shop(shop.tenant)
    rival_host = await distributor_admin(client, rival_shop)
    assert rival_host != host  # the same distributor: may host
    ended = await client.post(f"{url}/end", headers=rival_host)
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    other = await admin(client, await make_shop())
    assert (await client.post(f"{url}/end", headers=other)).status_code == 404
    listed = (await client.get(API, headers=bearer(owner))).json()
    assert listed["items"] == []  # ended sessions leave the store's list
    assert (
        len((await client.get(f"{API}?include_ended=true", headers=bearer(owner))).json()["items"])
        == 1
    )
