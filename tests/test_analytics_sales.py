"""The sales dashboards from real orders: placed through the API by store owners and a
salesperson, paid offline by their distributors, moved to their days, then counted by the
rollups' refresh. Exact figures for the trend (by day, week, month, against the previous
period), every breakdown, the SKU ranking, the channel mix and the stores; a paid order
cancelled later is taken back; distributor staff see only their own; another brand's
distributor is 404; bad periods are 400 and change nothing; each table downloads as XLSX."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from backend.analytics import rollups
from backend.analytics.models import AnalyticsSettings, SalesRollup
from backend.analytics.periods import (
    Grain,
    InvalidPeriod,
    Period,
    change_pct,
    month_end,
    pct,
    period_of,
)
from backend.analytics.scope import CHINA
from backend.catalog.models import DistributorSku, PriceEntry
from backend.identity.models import Role
from backend.ordering.models import Order
from backend.org.models import Region, Store
from tests.factories import (
    Shop,
    bearer,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    make_tenant,
    phone_code,
    staff_headers,
    store_owner,
    wechat_login,
)

API = "/api/v1/analytics/sales"
WATER = 189_900  # the water purifier at the brand's price (list 1999.00, 100.00 off)
FILTERS = 100_000  # ten filters at 100.00


# ---- the period arithmetic (pure) ----------------------------------------------------------


def test_periods_default_bound_and_compare() -> None:
    today = date(2026, 12, 5)
    assert period_of(None, None, today) == Period(date(2026, 11, 6), today)
    assert period_of(date(2026, 1, 1), None, today) == Period(date(2026, 1, 1), date(2026, 1, 30))
    assert period_of(None, date(2026, 3, 1), today).start == date(2026, 1, 31)
    assert period_of(date(2026, 9, 5), date(2026, 12, 5), today, Grain.DAY).days == 92
    for start, end, grain in [
        (date(2026, 9, 4), date(2026, 12, 5), Grain.DAY),  # 93 days
        (date(2024, 11, 18), date(2026, 12, 6), Grain.WEEK),  # 107 ISO weeks
        (date(2023, 12, 31), date(2026, 12, 1), Grain.MONTH),  # 37 months
        (date(2026, 12, 2), date(2026, 12, 1), Grain.DAY),  # ends before it starts
    ]:
        with pytest.raises(InvalidPeriod):
            period_of(start, end, today, grain)
    assert Period(date(2024, 11, 25), date(2026, 12, 6)).count(Grain.WEEK) == 106
    # Whole months compare with as many months before; other periods with as many days.
    assert Period(date(2026, 3, 1), date(2026, 3, 31)).previous() == Period(
        date(2026, 2, 1), date(2026, 2, 28)
    )
    assert Period(date(2026, 3, 5), date(2026, 3, 11)).previous() == Period(
        date(2026, 2, 26), date(2026, 3, 4)
    )
    # Whole months from month rows, the edges from day rows.
    assert Period(date(2026, 1, 15), date(2026, 4, 10)).split() == (
        [date(2026, 2, 1), date(2026, 3, 1)],
        [Period(date(2026, 1, 15), date(2026, 1, 31)), Period(date(2026, 4, 1), date(2026, 4, 10))],
    )
    assert Period(date(2026, 1, 15), date(2026, 2, 10)).split() == (
        [],
        [Period(date(2026, 1, 15), date(2026, 2, 10))],
    )
    assert Period(date(2026, 12, 1), date(2026, 12, 9)).buckets(Grain.WEEK) == [
        date(2026, 11, 30),
        date(2026, 12, 7),
    ]
    assert (pct(1, 3), pct(2, 3), pct(1, 0)) == (33.3, 66.7, None)
    assert (change_pct(150, 100), change_pct(0, 100), change_pct(5, 0)) == (50.0, -100.0, None)


# ---- the scenario --------------------------------------------------------------------------


@dataclass
class Sales:
    shop: Shop
    today: date
    s1: Store  # distributor 1, 华东, tier A, tagged 连锁
    s2: Store  # distributor 1, 华南, tier B, tagged 连锁 and 新店
    s3: Store  # the other distributor, 华东, tier C, no tag
    owners: dict[int, dict[str, Any]]
    payers: dict[int, dict[str, str]]  # distributor id -> its admin's headers
    brand: dict[str, str]
    east: int
    south: int

    @property
    def period(self) -> dict[str, str]:
        """The week ending today; the week before it is the previous period."""
        return {"start": str(self.today - timedelta(days=6)), "end": str(self.today)}


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=CHINA).astimezone(UTC)


async def place(
    client: httpx.AsyncClient,
    buyer: dict[str, Any],
    lines: list[tuple[int, int]],
    **extra: Any,
) -> int:
    body = {"lines": [{"sku_id": sku, "quantity": quantity} for sku, quantity in lines], **extra}
    response = await client.post("/api/v1/orders", json=body, headers=idempotent(buyer))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def on_day(order_id: int, day: date) -> None:
    """Move an order to `day` (China), as if it had been placed then."""
    await Order.filter(id=order_id).update(created_at=noon(day))


async def pay(client: httpx.AsyncClient, sales: Sales, order_id: int) -> None:
    order = await Order.get(id=order_id)
    response = await client.post(
        f"/api/v1/orders/{order_id}/offline-payment",
        json={"note": "现金"},
        headers=sales.payers[order.distributor_id],  # type: ignore[attr-defined]
    )
    assert response.status_code == 201, response.text


async def sold(
    client: httpx.AsyncClient,
    sales: Sales,
    buyer: dict[str, Any],
    lines: list[tuple[int, int]],
    days_ago: int,
    **extra: Any,
) -> int:
    """A paid order placed `days_ago` days before today."""
    order_id = await place(client, buyer, lines, **extra)
    await on_day(order_id, sales.today - timedelta(days=days_ago))
    await pay(client, sales, order_id)
    return order_id


async def scenario(client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient) -> Sales:
    shop = await make_shop(await make_tenant("甲品牌"))
    tenant = shop.tenant
    brand = tenant.brand
    await PriceEntry.create(brand=brand, sku_id=shop.water, min_qty=1, unit_price_fen=WATER)
    await DistributorSku.create(
        brand=brand, distributor=tenant.other_distributor, sku_id=shop.water, stock=20
    )
    east = await Region.create(brand=brand, name="华东")
    south = await Region.create(brand=brand, name="华南")
    s1 = tenant.store
    await Store.filter(id=s1.id).update(region_id=east.id, tier="A")
    s2 = await make_store(tenant, region=south, tier="B")
    s3 = await make_store(tenant, region=east, distributor=tenant.other_distributor)
    brand_staff = await staff_headers(client, tenant.admin_username)
    for store_ids, tag in (([s1.id, s2.id], "连锁"), ([s2.id], "新店")):
        tagged = await client.post(
            "/api/v1/stores/bulk/tags",
            json={"store_ids": store_ids, "add": [tag]},
            headers=brand_staff,
        )
        assert tagged.status_code == 200, tagged.text
    payers = {}
    for distributor in (tenant.distributor, tenant.other_distributor):
        username = await make_staff(brand.id, Role.DISTRIBUTOR_ADMIN, distributor.id)
        payers[distributor.id] = await staff_headers(client, username)
    owners = {s.id: await store_owner(client, sandbox_client, s) for s in (s1, s2, s3)}
    return Sales(
        shop=shop,
        today=datetime.now(CHINA).date(),
        s1=s1,
        s2=s2,
        s3=s3,
        owners=owners,
        payers=payers,
        brand=brand_staff,
        east=east.id,
        south=south.id,
    )


async def salesperson(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, sales: Sales
) -> dict[str, Any]:
    seller = await wechat_login(client, sandbox_client, "sales-dashboard-seller")
    code = await phone_code(sandbox_client, sales.shop.tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(seller))
    return await wechat_login(client, sandbox_client, "sales-dashboard-seller")


async def orders_of_the_fortnight(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, sales: Sales
) -> dict[str, int]:
    """This week: s1 two purifiers and ten filters (yesterday, two orders), s2 one purifier
    by its salesperson (2 days ago), s3 one purifier (3 days ago); one unpaid; and the week
    before: s1 one purifier (10 days ago). Another brand sells on the same days."""
    shop = sales.shop
    owner1, owner3 = sales.owners[sales.s1.id], sales.owners[sales.s3.id]
    seller = await salesperson(client, sandbox_client, sales)
    placed = {
        "o1": await sold(client, sales, owner1, [(shop.water, 2)], 1),
        "o2": await sold(client, sales, owner1, [(shop.filters, 10)], 1),
        "o3": await sold(client, sales, seller, [(shop.water, 1)], 2, store_id=sales.s2.id),
        "o4": await sold(client, sales, owner3, [(shop.water, 1)], 3),
        "o7": await sold(client, sales, owner1, [(shop.water, 1)], 10),
    }
    unpaid = await place(client, owner1, [(shop.water, 1)])
    await on_day(unpaid, sales.today - timedelta(days=1))
    theirs = await make_shop(await make_tenant("乙品牌"))
    their_owner = await store_owner(client, sandbox_client, theirs.tenant.store)
    their_order = await place(client, their_owner, [(theirs.water, 3)])
    await on_day(their_order, sales.today - timedelta(days=1))
    headers = await staff_headers(
        client,
        await make_staff(
            theirs.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, theirs.tenant.distributor.id
        ),
    )
    response = await client.post(
        f"/api/v1/orders/{their_order}/offline-payment", json={}, headers=headers
    )
    assert response.status_code == 201, response.text
    placed["their_distributor"] = theirs.tenant.distributor.id
    return placed


async def get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **query: Any
) -> dict[str, Any]:
    response = await client.get(f"{API}/{path}", params=query, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def figures(rows: list[dict[str, Any]], *names: str) -> list[tuple[Any, ...]]:
    return [tuple(row[name] for name in names) for row in rows]


@pytest.fixture
async def sales(client, sandbox_client, deps) -> tuple[Sales, dict[str, int]]:
    scenario_sales = await scenario(client, sandbox_client)
    placed = await orders_of_the_fortnight(client, sandbox_client, scenario_sales)
    await rollups.refresh(deps)
    return scenario_sales, placed


# ---- the figures ---------------------------------------------------------------------------


async def test_the_trend_by_day_against_the_week_before(client, sales) -> None:
    s, _ = sales
    trend = await get(client, "trend", s.brand, grain="day", **s.period)
    days = [str(s.today - timedelta(days=n)) for n in range(6, -1, -1)]
    assert [p["period"] for p in trend["points"]] == days
    by_day = {p["period"]: (p["orders"], p["units"], p["gmv_fen"]) for p in trend["points"]}
    assert by_day[days[-2]] == (2, 12, 2 * WATER + FILTERS)  # yesterday: o1 and o2
    assert by_day[days[-3]] == (1, 1, WATER)  # o3
    assert by_day[days[-4]] == (1, 1, WATER)  # o4
    assert sum(p["orders"] for p in trend["points"]) == 4
    assert trend["total"] == {
        "orders": 4,
        "units": 14,
        "gmv_fen": 4 * WATER + FILTERS,
        "discount_fen": 4 * 10_000,
    }
    assert trend["previous"]["start"] == str(s.today - timedelta(days=13))
    assert trend["previous"]["end"] == str(s.today - timedelta(days=7))
    assert trend["previous_total"] == {
        "orders": 1,
        "units": 1,
        "gmv_fen": WATER,
        "discount_fen": 10_000,
    }
    previous_points = {p["period"]: p["gmv_fen"] for p in trend["previous"]["points"]}
    assert previous_points[str(s.today - timedelta(days=10))] == WATER
    assert sum(previous_points.values()) == WATER
    assert trend["change"] == {
        "gmv_pct": round((4 * WATER + FILTERS - WATER) * 100 / WATER, 1),  # 352.7
        "orders_pct": 300.0,
        "units_pct": 1300.0,
    }


# The paid orders of the scenario: (days before today, orders, GMV).
SOLD = [(1, 2, 2 * WATER + FILTERS), (2, 1, WATER), (3, 1, WATER), (10, 1, WATER)]


def expected(today: date, first: date, last: date) -> tuple[int, int]:
    """Orders and GMV of the scenario between `first` and `last`."""
    inside = [(n, gmv) for ago, n, gmv in SOLD if first <= today - timedelta(days=ago) <= last]
    return sum(n for n, _ in inside), sum(gmv for _, gmv in inside)


async def test_weeks_and_months_sum_the_same_orders(client, sales) -> None:
    s, _ = sales
    start = s.today - timedelta(days=13)
    period = {"start": str(start), "end": str(s.today)}
    weekly = await get(client, "trend", s.brand, grain="week", **period)
    assert weekly["points"][0]["period"] == str(start - timedelta(days=start.weekday()))
    assert all(date.fromisoformat(p["period"]).weekday() == 0 for p in weekly["points"])
    for point in weekly["points"]:
        monday = date.fromisoformat(point["period"])
        span = (max(monday, start), min(monday + timedelta(days=6), s.today))
        assert (point["orders"], point["gmv_fen"]) == expected(s.today, *span)
    assert (weekly["total"]["orders"], weekly["total"]["gmv_fen"]) == (5, 5 * WATER + FILTERS)
    monthly = await get(client, "trend", s.brand, grain="month", **period)
    assert [p["period"] for p in monthly["points"]] == sorted(
        {str(d.replace(day=1)) for d in (start, s.today)}
    )
    for point in monthly["points"]:
        first = date.fromisoformat(point["period"])
        span = (max(first, start), min(month_end(first), s.today))
        assert (point["orders"], point["gmv_fen"]) == expected(s.today, *span)
    # Whole months are read from the month rows and compare with as many months before.
    first = (s.today - timedelta(days=10)).replace(day=1)
    last = month_end(s.today)
    whole = await get(client, "trend", s.brand, grain="month", start=str(first), end=str(last))
    assert (whole["total"]["orders"], whole["total"]["gmv_fen"]) == (5, 5 * WATER + FILTERS)
    months = len(whole["points"])
    assert date.fromisoformat(whole["previous"]["end"]) == first - timedelta(days=1)
    assert len(whole["previous"]["points"]) == months
    assert whole["previous_total"]["orders"] == 0 and whole["change"]["gmv_pct"] is None
    # A period across a month's edge: the edge days from the day rows, the month from its row.
    if first.month != s.today.month:
        edge = first + timedelta(days=20)
        across = await get(client, "breakdown", s.brand, dim="tier", start=str(edge), end=str(last))
        assert across["total"]["gmv_fen"] == expected(s.today, edge, last)[1]


async def test_breakdowns_by_every_dimension(client, sales) -> None:
    s, _ = sales
    shop = s.shop
    d1, d2 = shop.tenant.distributor, shop.tenant.other_distributor
    names = ("key", "name", "orders", "units", "gmv_fen", "previous_gmv_fen")
    total = 4 * WATER + FILTERS

    region = await get(client, "breakdown", s.brand, dim="region", **s.period)
    assert figures(region["rows"], *names) == [
        (str(s.east), "华东", 3, 13, 3 * WATER + FILTERS, WATER),
        (str(s.south), "华南", 1, 1, WATER, 0),
    ]
    assert region["rows"][0]["share_pct"] == pct(3 * WATER + FILTERS, total)
    assert region["rows"][0]["change_pct"] == change_pct(3 * WATER + FILTERS, WATER)
    assert region["rows"][1]["change_pct"] is None
    assert region["total"]["gmv_fen"] == total

    distributor = await get(client, "breakdown", s.brand, dim="distributor", **s.period)
    assert figures(distributor["rows"], "key", "name", "orders", "gmv_fen") == [
        (str(d1.id), d1.name, 3, 3 * WATER + FILTERS),
        (str(d2.id), d2.name, 1, WATER),
    ]
    tier = await get(client, "breakdown", s.brand, dim="tier", **s.period)
    assert figures(tier["rows"], "key", "name", "gmv_fen") == [
        ("A", "A 类", 2 * WATER + FILTERS),
        ("B", "B 类", WATER),
        ("C", "C 类", WATER),
    ]
    tag = await get(client, "breakdown", s.brand, dim="tag", **s.period)
    assert figures(tag["rows"], "key", "name", "orders", "gmv_fen", "stores") == [
        ("连锁", "连锁", 3, 3 * WATER + FILTERS, 2),
        ("新店", "新店", 1, WATER, 1),
        ("", "无标签", 1, WATER, 1),
    ]
    category = await get(client, "breakdown", s.brand, dim="category", **s.period)
    assert figures(category["rows"], "name", "orders", "units", "gmv_fen") == [
        ("净水器", 4, 14, total)
    ]
    sku = await get(client, "breakdown", s.brand, dim="sku", **s.period)
    assert figures(sku["rows"], *names) == [
        (str(shop.water), "澜泉 RO 净水器 RO-500", 3, 4, 4 * WATER, WATER),
        (str(shop.filters), "澜泉 RO 净水器 滤芯", 1, 10, FILTERS, 0),
    ]


async def test_top_and_bottom_skus_and_the_channel_mix(client, sales) -> None:
    s, _ = sales
    shop = s.shop
    top = await get(client, "skus", s.brand, order="top", limit=1, **s.period)
    assert figures(top["rows"], "key", "gmv_fen", "units") == [(str(shop.water), 4 * WATER, 4)]
    bottom = await get(client, "skus", s.brand, order="bottom", **s.period)
    # The SKU on sale that nobody ordered comes first.
    assert figures(bottom["rows"], "key", "gmv_fen") == [
        (str(shop.unsold), 0),
        (str(shop.filters), FILTERS),
        (str(shop.water), 4 * WATER),
    ]
    mix = await get(client, "channels", s.brand, **s.period)
    assert figures(mix["rows"], "key", "name", "orders", "gmv_fen", "previous_gmv_fen") == [
        ("self", "自主下单", 3, 3 * WATER + FILTERS, WATER),
        ("proxy", "代下单", 1, WATER, 0),
        ("live", "直播", 0, 0, 0),
    ]
    assert [row["share_pct"] for row in mix["rows"]] == [
        pct(3 * WATER + FILTERS, 4 * WATER + FILTERS),
        pct(WATER, 4 * WATER + FILTERS),
        0.0,
    ]
    proxy_only = await get(client, "trend", s.brand, channel="proxy", **s.period)
    assert proxy_only["total"]["gmv_fen"] == WATER


async def test_active_new_and_dormant_stores(client, sandbox_client, deps, sales) -> None:
    s, _ = sales
    # A fourth store last ordered 70 days ago: dormant after the default 60 days.
    s4 = await make_store(s.shop.tenant)
    owner4 = await store_owner(client, sandbox_client, s4)
    await sold(client, s, owner4, [(s.shop.water, 1)], 70)
    await rollups.refresh(deps)
    stores = await get(client, "stores", s.brand, **s.period)
    # s2 and s3 ordered first this week; s1 ordered the week before too.
    assert (stores["active"], stores["new"], stores["dormant"], stores["total"]) == (3, 2, 1, 4)
    assert stores["active_pct"] == 75.0 and stores["dormant_days"] == 60
    assert (stores["previous"]["active"], stores["previous"]["new"]) == (1, 1)
    assert stores["change"]["active_pct"] == 200.0
    assert sum(month["new"] for month in stores["trend"]) == 2
    assert max(month["active"] for month in stores["trend"]) <= 3
    # The brand's own threshold: after 80 days nobody is dormant yet.
    await AnalyticsSettings.create(
        brand_id=s.shop.tenant.brand.id, dormant_days=80, updated_at=datetime.now(UTC)
    )
    stores = await get(client, "stores", s.brand, **s.period)
    assert (stores["dormant"], stores["dormant_days"]) == (0, 80)


async def test_a_paid_order_cancelled_later_is_taken_back(client, deps, sales) -> None:
    s, _ = sales
    owner2 = s.owners[s.s2.id]
    late = await sold(client, s, owner2, [(s.shop.water, 2)], 0)
    await rollups.refresh(deps)
    trend = await get(client, "trend", s.brand, **s.period)
    assert trend["total"]["orders"] == 5 and trend["total"]["gmv_fen"] == 6 * WATER + FILTERS
    region = await get(client, "breakdown", s.brand, dim="region", **s.period)
    assert figures(region["rows"], "name", "gmv_fen") == [
        ("华东", 3 * WATER + FILTERS),
        ("华南", 3 * WATER),
    ]
    cancelled = await client.post(
        f"/api/v1/orders/{late}/cancel", json={"reason": "不要了"}, headers=bearer(owner2)
    )
    assert cancelled.status_code == 200, cancelled.text
    await rollups.refresh(deps)
    await rollups.refresh(deps)  # twice: a second reading changes nothing
    trend = await get(client, "trend", s.brand, **s.period)
    assert trend["total"] == {
        "orders": 4,
        "units": 14,
        "gmv_fen": 4 * WATER + FILTERS,
        "discount_fen": 40_000,
    }
    region = await get(client, "breakdown", s.brand, dim="region", **s.period)
    assert figures(region["rows"], "name", "gmv_fen") == [
        ("华东", 3 * WATER + FILTERS),
        ("华南", WATER),
    ]
    channels = await get(client, "channels", s.brand, **s.period)
    assert figures(channels["rows"], "key", "orders") == [("self", 3), ("proxy", 1), ("live", 0)]


async def test_distributor_staff_see_their_own_figures_only(client, sales) -> None:
    s, placed = sales
    tenant = s.shop.tenant
    mine = s.payers[tenant.distributor.id]
    trend = await get(client, "trend", mine, **s.period)
    assert trend["total"]["orders"] == 3 and trend["total"]["gmv_fen"] == 3 * WATER + FILTERS
    # Asking for the other distributor changes nothing: staff always read their own.
    asked = await get(client, "trend", mine, distributor_id=tenant.other_distributor.id, **s.period)
    assert asked["total"] == trend["total"]
    distributors = await get(client, "breakdown", mine, dim="distributor", **s.period)
    assert figures(distributors["rows"], "key", "gmv_fen") == [
        (str(tenant.distributor.id), 3 * WATER + FILTERS)
    ]
    tag = await get(client, "breakdown", mine, dim="tag", **s.period)
    assert figures(tag["rows"], "key", "stores") == [("连锁", 2), ("新店", 1)]
    stores = await get(client, "stores", mine, **s.period)
    assert (stores["active"], stores["new"], stores["total"]) == (2, 1, 2)
    theirs = s.payers[tenant.other_distributor.id]
    assert (await get(client, "channels", theirs, **s.period))["total"]["gmv_fen"] == WATER
    # Brand staff may ask for one distributor; another brand's distributor is not found.
    one = await get(
        client, "trend", s.brand, distributor_id=tenant.other_distributor.id, **s.period
    )
    assert one["total"]["orders"] == 1
    for path in ("trend", "breakdown", "skus", "channels", "stores", "stores.xlsx"):
        response = await client.get(
            f"{API}/{path}",
            params={"distributor_id": placed["their_distributor"], **s.period},
            headers=s.brand,
        )
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "analytics.distributor_not_found"
    owner = await client.get(f"{API}/trend", headers=bearer(s.owners[s.s1.id]))
    assert owner.status_code == 403


async def test_bad_periods_are_refused_and_change_nothing(client, sales) -> None:
    s, _ = sales
    rows = await SalesRollup.all().order_by("id").values()
    before = await get(client, "trend", s.brand, **s.period)
    today = s.today
    bad = [
        ("trend", {"start": str(today), "end": str(today - timedelta(days=1))}),
        ("trend", {"grain": "day", "start": str(today - timedelta(days=92)), "end": str(today)}),
        ("trend", {"grain": "week", "start": str(today - timedelta(weeks=107)), "end": str(today)}),
        ("breakdown", {"start": str(today - timedelta(days=40 * 31)), "end": str(today)}),
        ("stores", {"start": "2026-02-30"}),
        ("skus.xlsx", {"end": "yesterday"}),
    ]
    for path, query in bad:
        response = await client.get(f"{API}/{path}", params=query, headers=s.brand)
        assert response.status_code == 400, (path, query, response.text)
        error = response.json()["error"]
        assert error["code"] == "analytics.invalid_period"
        assert re.search(r"[\u4e00-\u9fff]", error["message"])
    other = await client.get(f"{API}/breakdown", params={"dim": "colour"}, headers=s.brand)
    assert other.status_code == 400 and other.json()["error"]["code"] == "analytics.invalid_query"
    assert await SalesRollup.all().order_by("id").values() == rows
    assert await get(client, "trend", s.brand, **s.period) == before


# ---- the workbooks -------------------------------------------------------------------------

SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def cells(response: httpx.Response) -> list[dict[str, str]]:
    """The first sheet's rows as {column letter: text}."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        strings = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{SHEET}t")) for si in strings]
    sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{SHEET}row"):
        found = {}
        for cell in row.iter(f"{SHEET}c"):
            column = re.sub(r"\d", "", cell.get("r", ""))
            value = cell.findtext(f"{SHEET}v") or ""
            found[column] = shared[int(value)] if cell.get("t") == "s" else value
        rows.append(found)
    return rows


async def test_every_table_downloads_as_xlsx(client, sales) -> None:
    s, _ = sales

    async def workbook(path: str, **query: Any) -> list[dict[str, str]]:
        response = await client.get(f"{API}/{path}", params={**s.period, **query}, headers=s.brand)
        return cells(response)

    trend = await workbook("trend.xlsx", grain="day")
    assert trend[0] == dict(
        zip(
            "ABCDEFGH",
            [
                "周期",
                "订单数",
                "件数",
                "销售额(元)",
                "上期周期",
                "上期订单数",
                "上期件数",
                "上期销售额(元)",
            ],
            strict=True,
        )
    )
    yesterday = str(s.today - timedelta(days=1))
    row = next(r for r in trend[1:] if r["A"] == yesterday)
    assert (row["B"], row["C"], row["D"]) == ("2", "12", "4798.00")
    region = await workbook("breakdown.xlsx", dim="region")
    assert region[0]["A"] == "区域" and region[0]["E"] == "占比"
    assert [(r["A"], r["B"], r["D"], r["G"]) for r in region[1:]] == [
        ("华东", "3", "6697.00", f"{change_pct(3 * WATER + FILTERS, WATER):.1f}%"),
        ("华南", "1", "1899.00", "—"),
    ]
    tag = await workbook("breakdown.xlsx", dim="tag")
    assert tag[0]["H"] == "下单门店数" and [r["H"] for r in tag[1:]] == ["2", "1", "1"]
    top = await workbook("skus.xlsx", order="top")
    assert [(r["A"], r["B"], r["E"]) for r in top[1:]] == [
        ("1", "澜泉 RO 净水器 RO-500", "7596.00"),
        ("2", "澜泉 RO 净水器 滤芯", "1000.00"),
    ]
    mix = await workbook("channels.xlsx")
    assert [(r["A"], r["B"]) for r in mix[1:]] == [
        ("自主下单", "3"),
        ("代下单", "1"),
        ("直播", "0"),
    ]
    stores = await workbook("stores.xlsx")
    assert stores[0]["B"] == "活跃门店"
    assert (stores[1]["B"], stores[1]["C"], stores[1]["D"], stores[1]["E"]) == ("3", "2", "0", "3")
