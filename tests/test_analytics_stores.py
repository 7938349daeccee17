"""Store analytics: the store list and the store profile (360°) from real orders through the
rollups, the brand's analytics settings, and RFM tiers written as store tags."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from backend.analytics import rfm, rollups
from backend.analytics import stores as analytics_stores
from backend.analytics.models import AnalyticsSettings
from backend.analytics.scope import china_day
from backend.catalog.models import DistributorSku
from backend.identity.models import Role
from backend.ordering.models import Order
from backend.org.models import StoreTag
from backend.worker import PERIODIC
from tests.factories import (
    Shop,
    distributor_admin,
    make_code_batch,
    make_shop,
    make_staff,
    make_store,
    make_tenant,
    staff_headers,
    store_owner,
)
from tests.test_codes_scans import scan
from tests.test_order_queue import pay_offline, place

STORES = "/api/v1/analytics/stores"
GOOD_SETTINGS = {
    "dormant_days": 45,
    "reminders_enabled": False,
    "rfm": {"recency_days": 30, "frequency_orders": 3, "monetary_fen": 500_000},
}


async def order_days_ago(
    client: httpx.AsyncClient,
    owner: dict[str, Any],
    staff: dict[str, str],
    lines: list[tuple[int, int]],
    days: int,
    deps: Any,
) -> dict[str, Any]:
    """A paid order placed `days` ago (its created_at moved back: orders are stamped by the
    database), as the rollups will count it."""
    order = await place(client, owner, lines)
    await pay_offline(client, staff, order["id"])
    await Order.filter(id=order["id"]).update(created_at=deps.clock.now() - timedelta(days=days))
    return order


class World:
    """A brand with stores A (three orders, 40, 20 and 10 days ago), B (one order 100 days
    ago), C (never ordered) at one distributor, D (one order 5 days ago) at the other, and
    another brand's store with an order."""

    shop: Shop
    brand_admin: dict[str, str]
    staff: dict[str, str]
    a: Any
    b: Any
    c: Any
    d: Any
    a_orders: list[dict[str, Any]]
    b_order: dict[str, Any]
    d_order: dict[str, Any]
    stranger: Any
    today: date


async def world(client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any) -> World:
    w = World()
    w.shop = shop = await make_shop()
    tenant = shop.tenant
    w.today = china_day(deps.clock.now())
    w.brand_admin = await staff_headers(client, tenant.admin_username)
    w.staff = await distributor_admin(client, shop)
    w.a, w.c = tenant.store, await make_store(tenant, name="从未下单店")
    w.b = await make_store(tenant, name="沉睡店", tier="B")
    w.d = await make_store(tenant, distributor=tenant.other_distributor, name="别家店")
    await DistributorSku.create(
        brand=tenant.brand, distributor=tenant.other_distributor, sku_id=shop.water, stock=10
    )
    owner_a = await store_owner(client, sandbox_client, w.a)
    w.a_orders = [
        await order_days_ago(client, owner_a, w.staff, lines, days, deps)
        for lines, days in (
            ([(shop.water, 1)], 40),
            ([(shop.water, 1), (shop.filters, 20)], 20),
            ([(shop.filters, 10)], 10),
        )
    ]
    owner_b = await store_owner(client, sandbox_client, w.b)
    w.b_order = await order_days_ago(client, owner_b, w.staff, [(shop.filters, 10)], 100, deps)
    other_staff = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id),
    )
    owner_d = await store_owner(client, sandbox_client, w.d)
    w.d_order = await order_days_ago(client, owner_d, other_staff, [(shop.water, 2)], 5, deps)
    # An order placed and never paid counts nowhere.
    await place(client, owner_a, [(shop.water, 1)])
    other = await make_shop()
    w.stranger = other.tenant.store
    other_owner = await store_owner(client, sandbox_client, w.stranger)
    other_staff = await distributor_admin(client, other)
    await order_days_ago(client, other_owner, other_staff, [(other.water, 1)], 3, deps)
    await rollups.refresh(deps)
    return w


def _day(w: World, days: int) -> str:
    return (w.today - timedelta(days=days)).isoformat()


async def _list(client: httpx.AsyncClient, headers: dict[str, str], **query: Any) -> list[Any]:
    response = await client.get(STORES, params=query, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_the_list_shows_each_stores_counted_orders(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    rows = {row["id"]: row for row in await _list(client, w.brand_admin)}
    assert set(rows) == {w.a.id, w.b.id, w.c.id, w.d.id}
    a, b, c, d = rows[w.a.id], rows[w.b.id], rows[w.c.id], rows[w.d.id]
    assert (a["orders"], a["gmv_fen"]) == (3, sum(o["payable_fen"] for o in w.a_orders))
    assert a["gmv_fen"] == 199_900 + 199_900 + 200_000 + 100_000
    assert (a["first_day"], a["last_day"], a["days_since"]) == (_day(w, 40), _day(w, 10), 10)
    assert (a["activity"], b["activity"], c["activity"], d["activity"]) == (
        "active",
        "dormant",  # 100 days > the default 60
        "never",
        "active",
    )
    assert (b["orders"], b["gmv_fen"], b["tier"]) == (1, 100_000, "B")
    assert (c["orders"], c["gmv_fen"], c["last_day"]) == (0, 0, None)
    assert (d["orders"], d["gmv_fen"]) == (1, 2 * 199_900)
    assert a["distributor_name"] == w.shop.tenant.distributor.name
    assert d["distributor_name"] == w.shop.tenant.other_distributor.name

    dormant = await _list(client, w.brand_admin, status="dormant")
    assert [row["id"] for row in dormant] == [w.b.id]
    never = await _list(client, w.brand_admin, status="never")
    assert [row["id"] for row in never] == [w.c.id]
    assert [r["id"] for r in await _list(client, w.brand_admin, q="沉睡")] == [w.b.id]
    assert [r["id"] for r in await _list(client, w.brand_admin, tier="B")] == [w.b.id]

    # Paging by id: two, then the rest.
    response = await client.get(STORES, params={"limit": 2}, headers=w.brand_admin)
    first = response.json()
    assert [row["id"] for row in first["items"]] == sorted(rows)[:2]
    response = await client.get(
        STORES, params={"limit": 2, "after": first["next_after"]}, headers=w.brand_admin
    )
    assert [row["id"] for row in response.json()["items"]] == sorted(rows)[2:]
    assert response.json()["next_after"] is None


async def test_a_distributor_sees_its_own_stores_only(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    mine = await _list(client, w.staff)
    assert {row["id"] for row in mine} == {w.a.id, w.b.id, w.c.id}
    # Asking for the other distributor changes nothing for distributor staff.
    other = w.shop.tenant.other_distributor.id
    assert {r["id"] for r in await _list(client, w.staff, distributor_id=other)} == {
        w.a.id,
        w.b.id,
        w.c.id,
    }
    # The brand may narrow to one distributor.
    assert [r["id"] for r in await _list(client, w.brand_admin, distributor_id=other)] == [w.d.id]
    response = await client.get(f"{STORES}/{w.d.id}", headers=w.staff)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "analytics.store_not_found"


async def test_the_profile_adds_up_the_stores_orders(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    response = await client.get(f"{STORES}/{w.a.id}", headers=w.brand_admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["store"]["name"] == w.a.name
    assert body["store"]["salesperson_name"] == "王磊"
    orders = body["orders"]
    gmv = 199_900 + 199_900 + 200_000 + 100_000
    assert (orders["count"], orders["gmv_fen"], orders["units"]) == (3, gmv, 1 + 21 + 10)
    assert orders["average_fen"] == gmv // 3
    assert (orders["first_day"], orders["last_day"]) == (_day(w, 40), _day(w, 10))
    assert orders["average_interval_days"] == 15.0  # 30 days over two gaps
    assert orders["days_since"] == 10
    assert {c["channel"]: c["orders"] for c in orders["channels"]} == {
        "self": 3,
        "proxy": 0,
        "live": 0,
    }
    monthly = orders["monthly"]
    assert len(monthly) == 12 and monthly[-1]["month"] == w.today.strftime("%Y-%m")
    assert sum(m["orders"] for m in monthly) == 3
    assert sum(m["gmv_fen"] for m in monthly) == gmv
    by_month: dict[str, int] = {}
    for order, days in zip(w.a_orders, (40, 20, 10), strict=True):
        month = (w.today - timedelta(days=days)).strftime("%Y-%m")
        by_month[month] = by_month.get(month, 0) + order["payable_fen"]
    assert {m["month"]: m["gmv_fen"] for m in monthly if m["gmv_fen"]} == by_month
    assert body["categories"] == [
        {
            "category_id": body["categories"][0]["category_id"],
            "name": "净水器",
            "units": 32,
            "gmv_fen": gmv,
            "share_pct": 100.0,
        }
    ]
    assert body["coupons"] == {"received": 0, "used": 0, "expired": 0, "available": 0}
    assert body["complaints"] == {"total": 0, "open": 0, "recent": []}
    assert body["live"] == {"invited": 0, "joined": 0, "ordered": 0, "gmv_fen": 0}
    assert body["scans"] == {
        "boxes_received": 0,
        "items_received": 0,
        "items_sold": 0,
        "items_on_hand": 0,
        "last_scan_at": None,
    }
    assert body["activity"] == "active"
    assert body["rfm"]["orders_365"] == 3 and body["rfm"]["gmv_fen_365"] == gmv
    assert body["rfm"]["recency_days"] == 10
    # Defaults: ordered within 30 days, 4 orders, 10,000 yuan: high only on recency.
    assert body["rfm"]["segment"] == "一般发展客户"
    assert body["rfm"]["tagged"] is None  # no run has written a tag yet

    # Distributor staff read the same store with their own figures.
    mine = (await client.get(f"{STORES}/{w.a.id}", headers=w.staff)).json()
    assert (mine["orders"]["count"], mine["orders"]["gmv_fen"]) == (3, gmv)
    assert sum(m["gmv_fen"] for m in mine["orders"]["monthly"]) == gmv


async def test_another_brands_or_unknown_store_answers_404(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    for store_id in (w.stranger.id, 999_999):
        response = await client.get(f"{STORES}/{store_id}", headers=w.brand_admin)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "analytics.store_not_found"
        assert "orders" not in response.json()
    # Another brand's distributor is answered like an unknown one.
    theirs = await make_tenant()
    response = await client.get(
        STORES, params={"distributor_id": theirs.distributor.id}, headers=w.brand_admin
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "analytics.distributor_not_found"


async def test_a_store_owner_may_not_read_store_analytics(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    headers = {"Authorization": f"Bearer {owner['access_token']}"}
    for path in (STORES, f"{STORES}/{shop.tenant.store.id}", f"{STORES}/settings"):
        assert (await client.get(path, headers=headers)).status_code == 403


async def test_bad_list_queries_answer_400(client, deps) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    for query in ({"rfm": "金牌客户"}, {"status": "asleep"}, {"limit": 0}, {"tier": "Z"}):
        response = await client.get(STORES, params=query, headers=headers)
        assert response.status_code == 400, query
        error = response.json()["error"]
        assert error["code"] == "analytics.invalid_query" and error["message"]


async def test_settings_are_saved_and_bad_ones_change_nothing(client, deps) -> None:
    tenant = await make_tenant()
    admin = await staff_headers(client, tenant.admin_username)
    response = await client.get(f"{STORES}/settings", headers=admin)
    assert response.json() == {
        "dormant_days": 60,
        "reminders_enabled": True,
        "rfm": {"recency_days": 30, "frequency_orders": 4, "monetary_fen": 1_000_000},
    }
    response = await client.put(f"{STORES}/settings", json=GOOD_SETTINGS, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == GOOD_SETTINGS
    assert (await client.get(f"{STORES}/settings", headers=admin)).json() == GOOD_SETTINGS
    saved = await AnalyticsSettings.get(brand_id=tenant.brand.id)

    bad_bodies: list[Any] = [
        {**GOOD_SETTINGS, "dormant_days": 0},
        {**GOOD_SETTINGS, "dormant_days": "很久"},
        {**GOOD_SETTINGS, "rfm": {**GOOD_SETTINGS["rfm"], "monetary_fen": -1}},
        {**GOOD_SETTINGS, "rfm": {**GOOD_SETTINGS["rfm"], "recency_days": 366}},
        {**GOOD_SETTINGS, "rfm": {"recency_days": 30}},
        {**GOOD_SETTINGS, "rfm": {**GOOD_SETTINGS["rfm"], "extra": 1}},
        {key: value for key, value in GOOD_SETTINGS.items() if key != "rfm"},
        [],
    ]
    for body in bad_bodies:
        response = await client.put(f"{STORES}/settings", json=body, headers=admin)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "analytics.invalid_settings", body
        assert error["details"]
    response = await client.put(f"{STORES}/settings", content=b"{not json", headers=admin)
    assert response.status_code == 400
    assert (await client.get(f"{STORES}/settings", headers=admin)).json() == GOOD_SETTINGS
    assert (await AnalyticsSettings.get(brand_id=tenant.brand.id)).updated_at == saved.updated_at

    # Only the brand's admin changes them; distributor staff may read them.
    ops = await staff_headers(client, await make_staff(tenant.brand.id, Role.BRAND_OPS))
    theirs = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    changed = {**GOOD_SETTINGS, "dormant_days": 10}
    for headers in (ops, theirs):
        response = await client.put(f"{STORES}/settings", json=changed, headers=headers)
        assert response.status_code == 403
    assert (await client.get(f"{STORES}/settings", headers=theirs)).json() == GOOD_SETTINGS
    # Another brand keeps its defaults.
    other = await make_tenant()
    other_admin = await staff_headers(client, other.admin_username)
    response = await client.get(f"{STORES}/settings", headers=other_admin)
    assert response.json()["dormant_days"] == 60


async def _tags(store_id: int) -> list[str]:
    return sorted(await StoreTag.filter(store_id=store_id).values_list("tag", flat=True))


async def test_rfm_tags_replace_old_ones_and_leave_others(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    response = await client.put(f"{STORES}/settings", json=GOOD_SETTINGS, headers=w.brand_admin)
    assert response.status_code == 200
    # A's old RFM tag and a tag someone set by hand; C never ordered but carries a stale tag.
    await StoreTag.create(store_id=w.a.id, tag="RFM·一般挽留客户")
    await StoreTag.create(store_id=w.a.id, tag="老客户")
    await StoreTag.create(store_id=w.c.id, tag="RFM·重要价值客户")
    await StoreTag.create(store_id=w.stranger.id, tag="RFM·一般挽留客户")

    response = await client.post(f"{STORES}/rfm/apply", headers=w.brand_admin)
    assert response.status_code == 200, response.text
    result = response.json()
    # A: 10 days ago, 3 orders, 6,999 yuan ≥ 5,000; B: 100 days, 1 order, 1,000 yuan;
    # D: 5 days, 1 order, 3,998 yuan.
    assert await _tags(w.a.id) == ["RFM·重要价值客户", "老客户"]
    assert await _tags(w.b.id) == ["RFM·一般挽留客户"]
    assert await _tags(w.c.id) == []
    assert await _tags(w.d.id) == ["RFM·一般发展客户"]
    assert await _tags(w.stranger.id) == ["RFM·一般挽留客户"]  # another brand's: untouched
    counts = {s["segment"]: s["stores"] for s in result["segments"]}
    assert counts == {name: 0 for name in rfm.SEGMENT_ORDER} | {
        "重要价值客户": 1,
        "一般挽留客户": 1,
        "一般发展客户": 1,
    }
    assert (result["scored"], result["unscored"], result["changed"]) == (4, 1, 4)

    # Applied again: nothing to change, nothing duplicated.
    again = (await client.post(f"{STORES}/rfm/apply", headers=w.brand_admin)).json()
    assert again["changed"] == 0
    assert await _tags(w.a.id) == ["RFM·重要价值客户", "老客户"]
    # The list filters by tier, and shows it.
    rows = await _list(client, w.brand_admin, rfm="重要价值客户")
    assert [(row["id"], row["rfm"]) for row in rows] == [(w.a.id, "重要价值客户")]
    profile = (await client.get(f"{STORES}/{w.a.id}", headers=w.brand_admin)).json()
    assert profile["rfm"]["segment"] == profile["rfm"]["tagged"] == "重要价值客户"

    # Stricter on money: A is no longer 重要; its tag is replaced, not added to.
    stricter = {**GOOD_SETTINGS, "rfm": {**GOOD_SETTINGS["rfm"], "monetary_fen": 1_000_000}}
    await client.put(f"{STORES}/settings", json=stricter, headers=w.brand_admin)
    await client.post(f"{STORES}/rfm/apply", headers=w.brand_admin)
    assert await _tags(w.a.id) == ["RFM·一般价值客户", "老客户"]


async def test_only_the_brand_admin_applies_rfm(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    response = await client.post(f"{STORES}/rfm/apply", headers=w.staff)
    assert response.status_code == 403
    assert await StoreTag.filter(tag__startswith=rfm.TAG_PREFIX).count() == 0


async def test_the_daily_job_tags_every_brand(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    job = next(p for p in PERIODIC if p.name == "analytics.rfm")
    assert await job.run(deps) == 4  # A, B, D and the other brand's store; C has no tier
    assert await _tags(w.a.id) == ["RFM·一般发展客户"]  # the defaults
    assert await _tags(w.stranger.id) == ["RFM·一般发展客户"]
    assert await analytics_stores.rfm_job(deps) == 0


async def test_the_list_exports_as_xlsx(client, sandbox_client, deps) -> None:
    w = await world(client, sandbox_client, deps)
    response = await client.get(
        f"{STORES}/export.xlsx", params={"status": "dormant"}, headers=w.brand_admin
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].endswith("spreadsheetml.sheet")
    rows = sheet_rows(response.content)
    assert rows[0] == [
        "门店",
        "经销商",
        "区域",
        "等级",
        "最近下单日",
        "订单数",
        "金额（元）",
        "RFM 分层",
        "状态",
    ]
    assert len(rows) == 2
    # Blank cells (no region, no tier yet) are not written: read the row's ends.
    assert rows[1][0] == "沉睡店" and rows[1][-1] == "沉睡"
    assert rows[1][1] == w.shop.tenant.distributor.name and rows[1][5:7] == ["1", "1000.00"]


def sheet_rows(content: bytes) -> list[list[str]]:
    """The first sheet's written cells as text (shared strings resolved)."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    archive = zipfile.ZipFile(io.BytesIO(content))
    strings = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
    shared = ["".join(t.text or "" for t in si.iter(f"{ns}t")) for si in strings]
    sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    return [
        [
            shared[int(value)] if cell.get("t") == "s" else value
            for cell in row.iter(f"{ns}c")
            for value in [cell.findtext(f"{ns}v") or ""]
        ]
        for row in sheet.iter(f"{ns}row")
    ]


# ---- scoring, pure ----------------------------------------------------------------------------

TODAY = date(2026, 6, 30)
LIMITS = rfm.Thresholds(recency_days=30, frequency_orders=4, monetary_fen=100_000)


@pytest.mark.parametrize(
    ("days", "orders", "gmv", "segment"),
    [
        (30, 4, 100_000, "重要价值客户"),  # each threshold met exactly is high
        (31, 4, 100_000, "重要保持客户"),
        (0, 3, 100_000, "重要发展客户"),
        (90, 1, 500_000, "重要挽留客户"),
        (1, 9, 99_999, "一般价值客户"),
        (31, 4, 0, "一般保持客户"),
        (2, 1, 10, "一般发展客户"),
        (400, 0, 0, "一般挽留客户"),
    ],
)
def test_each_segment(days: int, orders: int, gmv: int, segment: str) -> None:
    activity = rfm.Activity(1, TODAY - timedelta(days=days), orders, gmv)
    scored = rfm.score(activity, LIMITS, TODAY)
    assert scored.segment == segment
    assert scored.tag == f"RFM·{segment}"
    assert scored.recency_days == days


def test_a_store_that_never_ordered_has_no_segment() -> None:
    scored = rfm.score(rfm.Activity(1, None, 0, 0), LIMITS, TODAY)
    assert scored.segment is None and scored.tag is None


def test_tag_changes_touch_only_what_differs() -> None:
    changes = rfm.tag_changes(
        {1: ["RFM·一般挽留客户"], 2: ["RFM·重要价值客户"], 3: ["RFM·a", "RFM·b"]},
        {1: "RFM·重要价值客户", 2: "RFM·重要价值客户", 3: None, 4: "RFM·一般发展客户"},
    )
    assert changes.add == [(1, "RFM·重要价值客户"), (4, "RFM·一般发展客户")]
    assert changes.remove == [(1, "RFM·一般挽留客户"), (3, "RFM·a"), (3, "RFM·b")]
    assert changes.stores == [1, 3, 4]


def test_thresholds_read_saved_json_with_defaults() -> None:
    assert rfm.Thresholds.from_json({}) == rfm.Thresholds()
    assert rfm.Thresholds.from_json({"recency_days": 7}).recency_days == 7


async def test_the_profile_shows_the_stores_code_scans(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    codes = await make_code_batch(shop, shop.water, boxes=2, items_per_box=3)
    received = await scan(client, owner, codes.url(codes.boxes[0]), "receive")
    assert received.status_code == 201, received.text
    sold = await scan(client, owner, codes.url(codes.items[0][0]), "sell")
    assert sold.status_code == 201, sold.text
    admin = await staff_headers(client, shop.tenant.admin_username)
    body = (await client.get(f"{STORES}/{shop.tenant.store.id}", headers=admin)).json()
    scans = body["scans"]
    assert (scans["boxes_received"], scans["items_received"]) == (1, 3)
    assert (scans["items_sold"], scans["items_on_hand"]) == (1, 2)
    assert scans["last_scan_at"] is not None
