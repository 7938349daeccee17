"""Behaviour from the mini-program: batches taken in once per (user, id, day), junk dropped
event by event (never a 500), the partitions made for the months written on PostgreSQL; the
funnel, search terms and pages reports exact for the whole brand and for one distributor's
stores, their XLSX exports, and the callers and periods refused."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from python_calamine import CalamineWorkbook

from backend.analytics import behaviour, event_days, partitions
from backend.analytics.models import BehaviourEvent
from backend.demo.behaviour import TERMS as DEMO_TERMS
from backend.demo.behaviour import seed_behaviour
from backend.demo.orders import become_owner
from backend.identity.models import Role, User
from backend.infra.exports import MEDIA_TYPES
from tests.conftest import ON_POSTGRES
from tests.factories import (
    Tenant,
    bearer,
    make_shop,
    make_staff,
    make_store,
    make_tenant,
    staff_headers,
    store_owner,
)

CHINA = ZoneInfo("Asia/Shanghai")
EVENTS = "/api/v1/analytics/events"
_ids = iter(range(1, 1_000_000))


def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"id": f"ev-{next(_ids)}", "kind": kind, "at": at.isoformat(), **fields}


@dataclass
class World:
    tenant: Tenant
    brand: dict[str, str]  # brand admin headers
    ours: list[dict[str, str]]  # owners of two stores of the tenant's distributor
    theirs: dict[str, str]  # owner of a store of the other distributor


async def _world(client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient) -> World:
    tenant = await make_tenant()
    second = await make_store(tenant)
    other = await make_store(tenant, distributor=tenant.other_distributor, salesperson=None)
    ours = [
        bearer(await store_owner(client, sandbox_client, store)) for store in (tenant.store, second)
    ]
    theirs = bearer(await store_owner(client, sandbox_client, other))
    return World(tenant, await staff_headers(client, tenant.admin_username), ours, theirs)


async def _send(client: httpx.AsyncClient, headers: dict[str, str], events: list[Any]) -> Any:
    response = await client.post(EVENTS, json={"events": events}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_batch_is_kept_once_and_junk_is_dropped_one_by_one(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    world = await _world(client, sandbox_client)
    now = deps.clock.now()
    good = [
        event("page_view", now, page="/pages/home/index"),
        event("search", now, term="  RO   净水器 ", results=3),
        event("product_view", now, page="pages/product/index", product_id=7, sku_id=9),
    ]
    junk = [
        "not an event",
        {"id": "x", "kind": "teleport", "at": now.isoformat()},
        event("page_view", now - timedelta(days=8)),  # older than a week
        event("page_view", now + timedelta(minutes=30)),  # a phone clock far ahead
        event("search", now),  # a search without its term
        event("search", now, term="bad\x00term", results=0),
        {"id": "no-time", "kind": "page_view"},
        {"id": "a" * 41, "kind": "page_view", "at": now.isoformat()},
        event("page_view", now.replace(tzinfo=None)),  # no time zone
        event("add_to_cart", now, sku_id=2**70),
    ]
    first = await _send(client, world.ours[0], [*good, good[0], *junk])
    assert first == {"accepted": 3, "duplicates": 1, "dropped": len(junk)}

    # The answer was lost: the tracker sends the same ids again; a new one is kept.
    late = event("checkout", now)
    again = await _send(client, world.ours[0], [*good, late])
    assert again == {"accepted": 1, "duplicates": 3, "dropped": 0}
    # Another user may use the same client ids: events are kept per user.
    other_user = await _send(client, world.ours[1], good[:1])
    assert other_user == {"accepted": 1, "duplicates": 0, "dropped": 0}

    rows = await BehaviourEvent.all().order_by("id")
    assert len(rows) == 5
    stored = rows[:3]
    assert [r.kind for r in stored] == ["page_view", "search", "product_view"]
    assert stored[0].page == "pages/home/index"  # as app.json names it
    assert stored[1].term == "RO 净水器" and stored[1].results == 3
    assert (stored[2].product_id, stored[2].sku_id) == (7, 9)
    assert {r.store_id for r in rows[:4]} == {world.tenant.store.id}
    assert rows[4].store_id != world.tenant.store.id
    assert all(r.brand_id == world.tenant.brand.id for r in rows)
    assert stored[0].day == now.astimezone(CHINA).date()


async def test_bad_batches_and_callers_are_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    world = await _world(client, sandbox_client)
    now = deps.clock.now()
    too_many = [event("page_view", now) for _ in range(51)]
    for body in ({"events": too_many}, {"events": []}, {"events": "x"}, {}, [1, 2], "null"):
        response = await client.post(EVENTS, json=body, headers=world.ours[0])
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "request.invalid"
    response = await client.post(
        EVENTS, content=b"{not json", headers={**world.ours[0], "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "request.malformed_json"
    batch = {"events": [event("page_view", now)]}
    assert (await client.post(EVENTS, json=batch)).status_code == 401
    staff = await client.post(EVENTS, json=batch, headers=world.brand)
    assert staff.status_code == 403
    assert await BehaviourEvent.all().count() == 0


async def test_events_of_a_new_month_get_their_partition(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    deps.clock.advance(days=400)  # a month no test has written yet
    world = await _world(client, sandbox_client)
    now = deps.clock.now()
    answer = await _send(client, world.ours[0], [event("page_view", now)])
    assert answer["accepted"] == 1
    month = partitions.partition_name(partitions.month_of(now.astimezone(CHINA).date()))
    made = await partitions.existing()
    assert (month in made) is ON_POSTGRES

    # The periodic job makes the coming months before their first event.
    deps.clock.advance(days=31)
    await behaviour.ensure_partitions_job(deps)
    ahead = partitions.month_of(deps.clock.now().astimezone(CHINA).date())
    for _ in range(3):
        ahead = (ahead[0] + 1, 1) if ahead[1] == 12 else (ahead[0], ahead[1] + 1)
    assert (partitions.partition_name(ahead) in await partitions.existing()) is ON_POSTGRES


async def _seed_reports(client: httpx.AsyncClient, world: World, deps: Any) -> date:
    """Two days of events, summed for the reports; the day of now in China."""
    now = deps.clock.now()
    yesterday = now - timedelta(days=1)
    a, b = world.ours
    await _send(
        client,
        a,
        [
            event("page_view", yesterday, page="pages/home/index"),
            event("page_view", now, page="pages/home/index"),
            event("page_view", now, page="pages/catalog/index"),
            event("search", now, term="滤芯", results=4),
            event("search", now, term="滤芯", results=0),
            event("search", now, term="ro", results=2),
            event("search", now, term="净水壶", results=0),
            event("product_view", now, product_id=1),
            event("add_to_cart", now, sku_id=1),
            event("checkout", now),
            event("order", now),
        ],
    )
    await _send(
        client,
        b,
        [
            event("page_view", now, page="pages/home/index"),
            event("page_view", now, page="pages/not-known/index"),
            event("search", now, term="滤芯", results=2),
            event("search", now, term="RO", results=2),
            event("product_view", now, product_id=1),
            event("add_to_cart", now, sku_id=1),
        ],
    )
    await _send(
        client,
        world.theirs,
        [
            event("page_view", now, page="pages/home/index"),
            event("search", now, term="净水壶", results=0),
            event("product_view", now, product_id=2),
        ],
    )
    assert await event_days.refresh(deps) == 2  # the days marked: yesterday and today
    return now.astimezone(CHINA).date()


async def test_reports_for_the_brand_and_for_one_distributor(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    world = await _world(client, sandbox_client)
    today = await _seed_reports(client, world, deps)
    span = {"start": (today - timedelta(days=6)).isoformat(), "end": today.isoformat()}

    funnel = await client.get("/api/v1/analytics/funnel", params=span, headers=world.brand)
    assert funnel.status_code == 200, funnel.text
    steps = [(s["kind"], s["users"], s["stores"], s["events"]) for s in funnel.json()["steps"]]
    assert steps == [
        ("page_view", 3, 3, 6),
        ("product_view", 3, 3, 3),
        ("add_to_cart", 2, 2, 2),
        ("checkout", 1, 1, 1),
        ("order", 1, 1, 1),
    ]
    pcts = [(s["step_pct"], s["overall_pct"]) for s in funnel.json()["steps"]]
    assert pcts == [(None, 100.0), (100.0, 100.0), (66.7, 66.7), (50.0, 33.3), (100.0, 33.3)]
    assert funnel.json()["steps"][2]["name"] == "加入购物车"

    terms = await client.get("/api/v1/analytics/search-terms", params=span, headers=world.brand)
    assert terms.json()["items"] == [
        {"term": "滤芯", "searches": 3, "users": 2, "zero_results": 1, "zero_pct": 33.3},
        {"term": "RO", "searches": 2, "users": 2, "zero_results": 0, "zero_pct": 0.0},
        {"term": "净水壶", "searches": 2, "users": 2, "zero_results": 2, "zero_pct": 100.0},
    ]
    assert terms.json()["total"] == {
        "searches": 7,
        "terms": 3,
        "zero_results": 3,
        "zero_pct": 42.9,
    }

    pages = await client.get("/api/v1/analytics/pages", params=span, headers=world.brand)
    assert [(p["name"], p["views"], p["users"], p["share_pct"]) for p in pages.json()["items"]] == [
        ("首页", 4, 3, 66.7),
        ("订货", 1, 1, 16.7),
        ("pages/not-known/index", 1, 1, 16.7),
    ]

    # Only yesterday: one page view.
    yesterday = (today - timedelta(days=1)).isoformat()
    one_day = {"start": yesterday, "end": yesterday}
    only = await client.get("/api/v1/analytics/pages", params=one_day, headers=world.brand)
    assert [(p["page"], p["views"]) for p in only.json()["items"]] == [("pages/home/index", 1)]

    # The distributor's staff see their two stores, whatever distributor they ask for; the
    # brand asking for that distributor sees the same.
    username = await make_staff(
        world.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, world.tenant.distributor.id
    )
    staff = await staff_headers(client, username)
    other = {**span, "distributor_id": str(world.tenant.other_distributor.id)}
    mine = {**span, "distributor_id": str(world.tenant.distributor.id)}
    for headers, params in ((staff, span), (staff, other), (world.brand, mine)):
        zero = await client.get(
            "/api/v1/analytics/search-terms", params={**params, "zero": "true"}, headers=headers
        )
        assert zero.json()["items"] == [
            {"term": "滤芯", "searches": 3, "users": 2, "zero_results": 1, "zero_pct": 33.3},
            {"term": "净水壶", "searches": 1, "users": 1, "zero_results": 1, "zero_pct": 100.0},
        ]
        scoped = await client.get("/api/v1/analytics/funnel", params=params, headers=headers)
        assert [s["users"] for s in scoped.json()["steps"]] == [2, 2, 2, 1, 1]


async def test_exports_are_the_reports_as_xlsx(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    world = await _world(client, sandbox_client)
    today = await _seed_reports(client, world, deps)
    span = {"start": today.isoformat(), "end": today.isoformat()}

    def sheet(response: httpx.Response) -> list[list[Any]]:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == MEDIA_TYPES["xlsx"]
        book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        rows: list[list[Any]] = book.get_sheet_by_index(0).to_python()
        return rows

    funnel = sheet(
        await client.get("/api/v1/analytics/funnel.xlsx", params=span, headers=world.brand)
    )
    assert funnel[0] == ["步骤", "用户数", "门店数", "事件数", "较上一步转化率(%)", "总转化率(%)"]
    assert funnel[1] == ["浏览页面", 3, 3, 5, "—", "100.0"]
    assert funnel[3] == ["加入购物车", 2, 2, 2, "66.7", "66.7"]

    terms = sheet(
        await client.get(
            "/api/v1/analytics/search-terms.xlsx",
            params={**span, "zero": "true"},
            headers=world.brand,
        )
    )
    assert terms == [
        ["搜索词", "搜索次数", "搜索用户数", "无结果次数", "无结果占比(%)"],
        ["滤芯", 3, 2, 1, "33.3"],
        ["净水壶", 2, 2, 2, "100.0"],
    ]
    pages = sheet(
        await client.get("/api/v1/analytics/pages.xlsx", params=span, headers=world.brand)
    )
    assert pages[0] == ["页面", "路径", "浏览次数", "用户数", "门店数", "占比(%)"]
    assert pages[1] == ["首页", "pages/home/index", 3, 3, 3, "60.0"]
    assert len(pages) == 4


async def test_periods_callers_and_other_brands_are_refused(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    world = await _world(client, sandbox_client)
    stranger = await make_tenant()
    for path in ("funnel", "search-terms", "pages", "funnel.xlsx"):
        url = f"/api/v1/analytics/{path}"
        backwards = {"start": "2026-03-02", "end": "2026-03-01"}
        too_long = {"start": "2024-01-01", "end": "2025-12-31"}
        for params in (backwards, too_long):
            response = await client.get(url, params=params, headers=world.brand)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "analytics.invalid_period"
            assert "统计区间" in response.json()["error"]["message"]
        for params in ({"start": "2026-13-01"}, {"distributor_id": "x"}, {"end": "1999-01-01"}):
            response = await client.get(url, params=params, headers=world.brand)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "analytics.invalid_query"
        foreign = {"distributor_id": str(stranger.distributor.id)}
        response = await client.get(url, params=foreign, headers=world.brand)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "analytics.distributor_not_found"
        assert (await client.get(url, headers=world.ours[0])).status_code == 403
        assert (await client.get(url)).status_code == 401
    # A whole year is fine; the default is the last 30 days and answers empty steps.
    year = {"start": "2025-01-01", "end": "2025-12-31"}
    assert (await client.get("/api/v1/analytics/pages", params=year, headers=world.brand)).json()[
        "items"
    ] == []
    default = await client.get("/api/v1/analytics/funnel", headers=world.brand)
    body = default.json()
    today = deps.clock.now().astimezone(CHINA).date()
    assert (body["start"], body["end"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )
    assert [s["users"] for s in body["steps"]] == [0, 0, 0, 0, 0]
    assert [s["step_pct"] for s in body["steps"]] == [None] * 5


async def test_the_demo_week_goes_through_the_intake_and_reads_as_a_funnel(
    client: httpx.AsyncClient, deps: Any
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    # One owner of each habit the demo gives (the last orders on most visits).
    for store in (tenant.store, *[await make_store(tenant) for _ in range(3)]):
        await become_owner(store, await User.create(display_name="老板"))
    now = deps.clock.now()
    kept = await seed_behaviour(tenant.brand.id, now)
    assert kept == await BehaviourEvent.filter(brand_id=tenant.brand.id).count() > 0
    assert await seed_behaviour(tenant.brand.id, now) == 0  # the same ids: kept once
    await event_days.refresh(deps)

    brand = await staff_headers(client, tenant.admin_username)
    funnel = (await client.get("/api/v1/analytics/funnel", headers=brand)).json()
    users = [step["users"] for step in funnel["steps"]]
    assert users[0] == 4 and users == sorted(users, reverse=True) and users[-1] > 0
    terms = (await client.get("/api/v1/analytics/search-terms", headers=brand)).json()
    assert terms["total"]["zero_results"] > 0
    found = {behaviour.normal_term(term): sold for term, sold in DEMO_TERMS}
    for item in terms["items"]:
        assert item["zero_results"] == (0 if found[item["term"]] else item["searches"])
