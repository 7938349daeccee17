"""Diversion (防窜货): the pure rule, the scan's check (`note_scan`: one alert per box and
store, also when scans race), and the brand's alerts: list with filters, summary by
distributor and region, confirm and dismiss (guarded), export; distributor staff read the
alerts about their own boxes only."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.codes import diversion_rules as rules
from backend.codes.diversion import Surfaced, note_scan
from backend.codes.lookup import FoundCode, find
from backend.codes.models import (
    AlertStatus,
    BatchStatus,
    CodeBatch,
    CodeKind,
    DiversionAlert,
    DiversionReason,
    ProductCode,
)
from backend.codes.tokens import new_tokens
from backend.identity.models import Role
from backend.infra import sql
from backend.infra.exports import CHINA
from backend.org.models import DistributorServiceArea, Region, Store
from tests.factories import (
    Shop,
    make_shop,
    make_staff,
    make_store,
    make_tenant,
    staff_headers,
    store_owner,
)

API = "/api/v1/codes/diversion-alerts"

# ---- the rule (pure) ---------------------------------------------------------------------------

COVERED = rules.ServiceArea(regions=2, covers=True)
OUTSIDE = rules.ServiceArea(regions=2, covers=False)
NO_AREA = rules.ServiceArea(regions=0, covers=False)


@pytest.mark.parametrize(
    ("shipped_to", "store_distributor", "region", "area", "expected"),
    [
        (None, 1, 5, None, None),  # not shipped: nobody's yet
        (1, 2, None, None, "other_distributor"),
        (1, 2, 5, COVERED, "other_distributor"),  # another distributor's store, even in area
        (1, 1, None, None, None),  # own store without a region
        (1, 1, 5, COVERED, None),
        (1, 1, 5, OUTSIDE, "outside_area"),
        (1, 1, 5, NO_AREA, None),  # no service area set: anywhere
    ],
)
def test_the_rule(shipped_to, store_distributor, region, area, expected) -> None:
    assert rules.reason(shipped_to, store_distributor, region, area) == expected
    needs = shipped_to is not None and shipped_to == store_distributor and region is not None
    assert rules.needs_area(shipped_to, store_distributor, region) is needs


def test_the_rule_speaks_the_models_words() -> None:
    assert set(rules.REASONS) == {r.value for r in DiversionReason}
    assert set(rules.STATUSES) == {s.value for s in AlertStatus}
    assert all(rules.reason_label(r) != r for r in rules.REASONS)
    assert all(rules.status_label(s) != s for s in rules.STATUSES)


# ---- codes written directly ------------------------------------------------------------------


@dataclass
class Boxes:
    batch: CodeBatch
    boxes: list[str]  # box tokens, serial 1..n
    items: list[list[str]]  # item tokens per box


async def write_batch(
    shop: Shop, *, boxes: int = 3, items_per_box: int = 2, batch_no: str = "20261201"
) -> Boxes:
    """A READY batch of the shop's water purifier, written directly (no batch job)."""
    tenant = shop.tenant
    batch = await CodeBatch.create(
        brand=tenant.brand,
        sku_id=shop.water,
        batch_no=batch_no,
        boxes=boxes,
        items_per_box=items_per_box,
        status=BatchStatus.READY.value,
        written=boxes * (items_per_box + 1),
    )
    tokens = iter(new_tokens(boxes * (items_per_box + 1)))
    written = Boxes(batch, [], [])
    item_serial = 0
    for serial in range(1, boxes + 1):
        box = await ProductCode.create(
            brand=tenant.brand, batch=batch, kind=CodeKind.BOX.value, token=next(tokens),
            serial=serial,
        )  # fmt: skip
        written.boxes.append(box.token)
        items = []
        for _ in range(items_per_box):
            item_serial += 1
            item = await ProductCode.create(
                brand=tenant.brand, batch=batch, kind=CodeKind.ITEM.value, token=next(tokens),
                serial=item_serial, box=box,
            )  # fmt: skip
            items.append(item.token)
        written.items.append(items)
    return written


async def ship(token: str, distributor_id: int) -> None:
    await ProductCode.filter(token=token).update(distributor_id=distributor_id)


def surfaced(store: Store, action: str = "receive", **place: float) -> Surfaced:
    return Surfaced(
        store_id=store.id,
        store_distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        store_region_id=store.region_id,  # type: ignore[attr-defined]
        action=action,
        latitude=place.get("latitude"),
        longitude=place.get("longitude"),
    )


async def scanned(token: str, store: Store, now: datetime, action: str = "receive") -> str | None:
    code: FoundCode = await find(token)
    async with sql.transaction():
        return await note_scan(code, surfaced(store, action), now)


@dataclass
class World:
    shop: Shop
    codes: Boxes
    east: Region
    west: Region
    own: Store  # the tenant's distributor's store in its area (east)
    own_west: Store  # the same distributor's store outside its area
    other: Store  # the other distributor's store


async def world(shop: Shop | None = None) -> World:
    shop = shop or await make_shop()
    tenant = shop.tenant
    east = await Region.create(brand=tenant.brand, name="华东")
    west = await Region.create(brand=tenant.brand, name="西南")
    await DistributorServiceArea.create(distributor=tenant.distributor, region=east)
    own = tenant.store
    own.region = east
    await own.save()
    own_west = await make_store(tenant, region=west, name="成都春熙路店")
    other = await make_store(
        tenant, distributor=tenant.other_distributor, region=east, name="杭州西湖店"
    )
    codes = await write_batch(shop)
    for token in codes.boxes:
        await ship(token, tenant.distributor.id)
    return World(shop, codes, east, west, own, own_west, other)


# ---- the scan's check ----------------------------------------------------------------------------


async def test_a_scan_at_home_raises_nothing(deps) -> None:
    w = await world()
    now = deps.clock.now()
    assert await scanned(w.codes.boxes[0], w.own, now) is None
    assert await scanned(w.codes.items[0][0], w.own, now, "sell") is None
    # A store of the distributor without a region is never outside its area.
    lost = await make_store(w.shop.tenant)
    assert await scanned(w.codes.boxes[1], lost, now) is None
    assert await DiversionAlert.all().count() == 0


async def test_an_unshipped_box_raises_nothing(deps) -> None:
    w = await world()
    await ProductCode.filter(token=w.codes.boxes[2]).update(distributor_id=None)
    assert await scanned(w.codes.boxes[2], w.other, deps.clock.now()) is None
    assert await DiversionAlert.all().count() == 0


async def test_another_distributors_store_raises_one_alert_per_box(deps) -> None:
    w = await world()
    now = deps.clock.now()
    code = await find(w.codes.items[0][1])
    where = surfaced(w.other, "sell", latitude=30.25, longitude=120.15)
    async with sql.transaction():
        assert await note_scan(code, where, now) == "other_distributor"
    alert = await DiversionAlert.get()
    assert (
        alert.brand_id,  # type: ignore[attr-defined]
        alert.code_id,  # type: ignore[attr-defined]
        alert.box_id,  # type: ignore[attr-defined]
        alert.batch_id,  # type: ignore[attr-defined]
        alert.distributor_id,  # type: ignore[attr-defined]
        alert.store_id,  # type: ignore[attr-defined]
        alert.store_distributor_id,  # type: ignore[attr-defined]
        alert.region_id,  # type: ignore[attr-defined]
    ) == (
        w.shop.tenant.brand.id,
        code.id,
        code.box_id,
        w.codes.batch.id,
        w.shop.tenant.distributor.id,
        w.other.id,
        w.shop.tenant.other_distributor.id,
        w.east.id,
    )
    assert (alert.reason, alert.scan_action, alert.status) == ("other_distributor", "sell", "open")
    assert (alert.latitude, alert.longitude) == (30.25, 120.15)
    assert alert.created_at == now
    # The box itself, another item of it, a replay: still diversion, no second alert.
    later = now + timedelta(minutes=5)
    assert await scanned(w.codes.boxes[0], w.other, later) == "other_distributor"
    assert await scanned(w.codes.items[0][0], w.other, later, "sell") == "other_distributor"
    assert await DiversionAlert.all().count() == 1
    # Another box, or the same box at another store: an alert each.
    assert await scanned(w.codes.boxes[1], w.other, later) == "other_distributor"
    elsewhere = await make_store(w.shop.tenant, distributor=w.shop.tenant.other_distributor)
    assert await scanned(w.codes.boxes[0], elsewhere, later) == "other_distributor"
    assert await DiversionAlert.all().count() == 3


async def test_outside_the_service_area(deps) -> None:
    w = await world()
    now = deps.clock.now()
    assert await scanned(w.codes.boxes[0], w.own_west, now) == "outside_area"
    alert = await DiversionAlert.get()
    assert alert.reason == "outside_area"
    assert alert.region_id == w.west.id  # type: ignore[attr-defined]
    assert alert.store_distributor_id == w.shop.tenant.distributor.id  # type: ignore[attr-defined]
    # Once the distributor serves the west too, the same kind of scan is no diversion.
    await DistributorServiceArea.create(distributor=w.shop.tenant.distributor, region=w.west)
    assert await scanned(w.codes.boxes[1], w.own_west, now) is None
    # A distributor with no service area at all may sell anywhere.
    await DistributorServiceArea.filter(distributor_id=w.shop.tenant.distributor.id).delete()
    assert await scanned(w.codes.boxes[2], w.own_west, now) is None
    assert await DiversionAlert.all().count() == 1


async def test_an_alert_rolls_back_with_its_scan(deps) -> None:
    w = await world()
    code = await find(w.codes.boxes[0])
    with pytest.raises(RuntimeError):
        async with sql.transaction():
            assert await note_scan(code, surfaced(w.other), deps.clock.now())
            raise RuntimeError("the scan failed after the check")
    assert await DiversionAlert.all().count() == 0


async def test_scans_at_once_raise_one_alert(deps) -> None:
    w = await world()
    now = deps.clock.now()
    tokens = [w.codes.boxes[0], *w.codes.items[0]] * 3
    reasons = await asyncio.gather(*(scanned(t, w.other, now) for t in tokens))
    assert reasons == ["other_distributor"] * len(tokens)
    assert await DiversionAlert.all().count() == 1


# ---- the alerts over HTTP ------------------------------------------------------------------------


async def alerts_world(deps) -> World:
    """Four alerts: box 1 and box 2 at the other distributor's store (east), box 3 outside
    the area (west), and one of another brand that nobody here may see."""
    w = await world()
    now = deps.clock.now()
    assert await scanned(w.codes.boxes[0], w.other, now) == "other_distributor"
    assert await scanned(w.codes.items[1][0], w.other, now, "sell") == "other_distributor"
    assert await scanned(w.codes.boxes[2], w.own_west, now) == "outside_area"
    foreign = await world(await make_shop(await make_tenant()))
    assert await scanned(foreign.codes.boxes[0], foreign.other, now) == "other_distributor"
    return w


async def brand(client: httpx.AsyncClient, w: World) -> dict[str, str]:
    return await staff_headers(client, w.shop.tenant.admin_username)


async def get(client: httpx.AsyncClient, headers: dict[str, str], **query: Any) -> httpx.Response:
    return await client.get(API, params=query, headers=headers)


async def test_the_brand_lists_its_alerts(client, deps) -> None:
    w = await alerts_world(deps)
    headers = await brand(client, w)
    response = await get(client, headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert [a["reason"] for a in page["items"]] == [
        "outside_area",
        "other_distributor",
        "other_distributor",
    ]
    assert page["next_before"] is None
    item = page["items"][1]
    tenant = w.shop.tenant
    assert item["reason_label"] == "其他经销商的门店扫码"
    assert (item["status"], item["status_label"]) == ("open", "待处理")
    assert item["code"]["kind"] == "item" and item["code"]["serial_text"] == "20261201-0000003"
    assert item["code"]["token"] == w.codes.items[1][0]
    assert item["batch"] == {"id": w.codes.batch.id, "batch_no": "20261201"}
    assert item["sku"] == {"id": w.shop.water, "name": "澜泉 RO 净水器 RO-500"}
    assert item["distributor"] == {"id": tenant.distributor.id, "name": tenant.distributor.name}
    assert item["store"] == {"id": w.other.id, "name": "杭州西湖店", "address": "文一西路1号"}
    assert item["store_distributor"] == {
        "id": tenant.other_distributor.id,
        "name": tenant.other_distributor.name,
    }
    assert item["region"] == {"id": w.east.id, "name": "华东"}
    assert (item["scan_action"], item["scan_action_label"]) == ("sell", "扫码动销")
    assert item["note"] == "" and item["handled_at"] is None
    box = page["items"][2]
    assert box["code"]["kind"] == "box" and box["code"]["serial_text"] == "20261201-B000001"
    one = await client.get(f"{API}/{item['id']}", headers=headers)
    assert one.status_code == 200 and one.json() == item
    # Keyset pages, newest first.
    first = (await get(client, headers, limit=2)).json()
    assert len(first["items"]) == 2 and first["next_before"] == first["items"][1]["id"]
    rest = (await get(client, headers, limit=2, before=first["next_before"])).json()
    assert [a["id"] for a in rest["items"]] == [box["id"]] and rest["next_before"] is None


async def test_filters(client, deps) -> None:
    w = await alerts_world(deps)
    headers = await brand(client, w)
    tenant = w.shop.tenant

    async def reasons(**query: Any) -> list[str]:
        response = await get(client, headers, **query)
        assert response.status_code == 200, response.text
        return [a["reason"] for a in response.json()["items"]]

    assert await reasons(reason="outside_area") == ["outside_area"]
    assert await reasons(region_id=w.east.id) == ["other_distributor"] * 2
    assert (
        await reasons(store_distributor_id=tenant.other_distributor.id) == ["other_distributor"] * 2
    )
    assert await reasons(store_id=w.own_west.id) == ["outside_area"]
    assert len(await reasons(distributor_id=tenant.distributor.id)) == 3
    assert await reasons(distributor_id=tenant.other_distributor.id) == []
    assert len(await reasons(batch_id=w.codes.batch.id)) == 3
    assert await reasons(status="confirmed") == []
    today = deps.clock.now().astimezone(CHINA).date()
    assert len(await reasons(**{"from": today.isoformat(), "to": today.isoformat()})) == 3
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert await reasons(**{"from": tomorrow}) == []
    yesterday = (today - timedelta(days=1)).isoformat()
    assert await reasons(to=yesterday) == []
    # Bad filters: a clear 400 naming the field.
    for query, field in (
        ({"status": "lost"}, "status"),
        ({"reason": "x"}, "reason"),
        ({"region_id": "abc"}, "region_id"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": tomorrow, "to": yesterday}, "from"),
    ):
        response = await get(client, headers, **query)
        assert response.status_code == 400, (query, response.text)
        error = response.json()["error"]
        assert error["code"] == "codes.invalid"
        assert [d["field"] for d in error["details"]] == [field]


async def test_the_summary(client, deps) -> None:
    w = await alerts_world(deps)
    headers = await brand(client, w)
    tenant = w.shop.tenant
    response = await client.get(f"{API}/summary", headers=headers)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["totals"] == {"open": 3, "confirmed": 0, "dismissed": 0, "total": 3}
    assert summary["by_distributor"] == [
        {
            "distributor": {"id": tenant.distributor.id, "name": tenant.distributor.name},
            "open": 3,
            "confirmed": 0,
            "dismissed": 0,
            "total": 3,
        }
    ]
    assert summary["by_region"] == [
        {"region": {"id": w.east.id, "name": "华东"}, "total": 2},
        {"region": {"id": w.west.id, "name": "西南"}, "total": 1},
    ]
    first = (await get(client, headers)).json()["items"][0]["id"]
    await client.post(f"{API}/{first}/confirm", json={"note": "已约谈"}, headers=headers)
    mine = await client.get(
        f"{API}/summary", params={"distributor_id": tenant.distributor.id}, headers=headers
    )
    assert mine.json()["totals"] == {"open": 2, "confirmed": 1, "dismissed": 0, "total": 3}
    none = await client.get(
        f"{API}/summary", params={"distributor_id": tenant.other_distributor.id}, headers=headers
    )
    assert none.json() == {
        "totals": {"open": 0, "confirmed": 0, "dismissed": 0, "total": 0},
        "by_distributor": [],
        "by_region": [],
    }


async def test_confirm_and_dismiss(client, deps) -> None:
    w = await alerts_world(deps)
    headers = await brand(client, w)
    ids = [a["id"] for a in (await get(client, headers)).json()["items"]]
    confirmed = await client.post(f"{API}/{ids[0]}/confirm", headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["status"], body["status_label"], body["note"]) == ("confirmed", "已确认窜货", "")
    handled_at = datetime.fromisoformat(body["handled_at"])
    assert abs(handled_at - deps.clock.now()) < timedelta(seconds=30)
    dismissed = await client.post(
        f"{API}/{ids[1]}/dismiss", json={"note": "  门店搬迁，经销商已报备  "}, headers=headers
    )
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["note"]) == (
        "dismissed",
        "门店搬迁，经销商已报备",
    )
    alert = await DiversionAlert.get(id=ids[1])
    assert alert.handled_by_id is not None  # type: ignore[attr-defined]
    # Handled already: 409 with when and how, and nothing changes.
    again = await client.post(f"{API}/{ids[0]}/dismiss", json={"note": "误报"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "codes.alert_handled"
    assert "已确认窜货" in again.json()["error"]["message"]
    assert (await DiversionAlert.get(id=ids[0])).status == "confirmed"
    assert (await DiversionAlert.get(id=ids[0])).note == ""
    listed = (await get(client, headers, status="open")).json()["items"]
    assert [a["id"] for a in listed] == [ids[2]]


async def test_a_dismissal_needs_a_reason(client, deps) -> None:
    w = await alerts_world(deps)
    headers = await brand(client, w)
    alert_id = (await get(client, headers)).json()["items"][0]["id"]
    for body in ({}, {"note": "   "}):
        response = await client.post(f"{API}/{alert_id}/dismiss", json=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "codes.invalid"
        assert response.json()["error"]["details"][0]["field"] == "note"
    for body in ({"note": "长" * 201}, {"note": 5}, {"note": "x", "extra": 1}):
        response = await client.post(f"{API}/{alert_id}/confirm", json=body, headers=headers)
        assert response.status_code in (400, 422), response.text
    empty = await client.post(f"{API}/{alert_id}/dismiss", headers=headers)
    assert empty.status_code in (400, 422)
    alert = await DiversionAlert.get(id=alert_id)
    assert (alert.status, alert.note, alert.handled_at) == ("open", "", None)


async def test_decisions_at_once_take_one(client, deps) -> None:
    w = await alerts_world(deps)
    headers = await brand(client, w)
    ops = await staff_headers(client, await make_staff(w.shop.tenant.brand.id, Role.BRAND_OPS))
    alert_id = (await get(client, headers)).json()["items"][0]["id"]
    calls = [
        client.post(f"{API}/{alert_id}/confirm", json={"note": f"确认{i}"}, headers=headers)
        for i in range(3)
    ] + [
        client.post(f"{API}/{alert_id}/dismiss", json={"note": f"排除{i}"}, headers=ops)
        for i in range(3)
    ]
    responses = await asyncio.gather(*calls)
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    winner = next(r.json() for r in responses if r.status_code == 200)
    alert = await DiversionAlert.get(id=alert_id)
    assert (alert.status, alert.note) == (winner["status"], winner["note"])


async def test_who_sees_and_handles_what(client, sandbox_client, deps) -> None:
    w = await alerts_world(deps)
    tenant = w.shop.tenant
    headers = await brand(client, w)
    ids = [a["id"] for a in (await get(client, headers)).json()["items"]]
    foreign_id = (await DiversionAlert.exclude(id__in=ids).get()).id
    # Another brand's alert is not found, exactly like an unknown one.
    for alert_id in (foreign_id, 10**12):
        assert (await client.get(f"{API}/{alert_id}", headers=headers)).status_code == 404
        response = await client.post(f"{API}/{alert_id}/confirm", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "codes.alert_not_found"
    assert (await DiversionAlert.get(id=foreign_id)).status == "open"
    # The distributor the boxes were shipped to reads its alerts, and may not handle them.
    shipped_to = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    seen = (await get(client, shipped_to)).json()["items"]
    assert sorted(a["id"] for a in seen) == sorted(ids)
    assert (await client.post(f"{API}/{ids[0]}/confirm", headers=shipped_to)).status_code == 403
    summary = (await client.get(f"{API}/summary", headers=shipped_to)).json()
    assert summary["totals"]["total"] == 3
    # The distributor whose store scanned them sees none (they are not its boxes).
    scanner = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id),
    )
    assert (await get(client, scanner)).json()["items"] == []
    assert (await get(client, scanner, distributor_id=tenant.distributor.id)).json()["items"] == []
    assert (await client.get(f"{API}/{ids[0]}", headers=scanner)).status_code == 404
    summary = (await client.get(f"{API}/summary", headers=scanner)).json()
    assert summary["totals"]["total"] == 0
    # Stores never see alerts.
    owner = await store_owner(client, sandbox_client, w.other)
    bearer = {"Authorization": f"Bearer {owner['access_token']}"}
    assert (await get(client, bearer)).status_code == 403
    assert (await client.get(f"{API}/summary", headers=bearer)).status_code == 403
    assert (await client.get(API)).status_code == 401
    assert await DiversionAlert.filter(status="open").count() == 4


async def test_export(client, deps) -> None:
    w = await alerts_world(deps)
    headers = await brand(client, w)
    response = await client.get(f"{API}/export", params={"region_id": w.east.id}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["预警编号", "发现时间", "原因", "状态"]
    assert len(rows) == 3
    assert {r[2] for r in rows[1:]} == {"其他经销商的门店扫码"}
    assert {r[10] for r in rows[1:]} == {"杭州西湖店"}
    assert {r[5] for r in rows[1:]} == {"20261201-B000001", "20261201-0000003"}
    xlsx = await client.get(f"{API}/export", params={"format": "xlsx"}, headers=headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = await client.get(f"{API}/export", params={"format": "pdf"}, headers=headers)
    assert bad.status_code == 400
    # Nothing matching: the header alone.
    none = await client.get(f"{API}/export", params={"status": "dismissed"}, headers=headers)
    assert len(list(csv.reader(io.StringIO(none.content.decode("utf-8-sig"))))) == 1


async def test_export_walks_batches(deps) -> None:
    """The export reads in keyset batches: the rows come out in order, none twice."""
    from backend.codes.diversion import Filters, export_rows
    from backend.identity.tokens import Principal

    w = await alerts_world(deps)
    principal = Principal(
        user_id=0, session_id="t", role="brand_admin", brand_id=w.shop.tenant.brand.id
    )
    batches = [batch async for batch in export_rows(principal, Filters(), size=2)]
    assert [len(b) for b in batches] == [2, 1]
    ids = [row[0] for batch in batches for row in batch]
    assert ids == sorted(ids)


async def test_counts_for_the_figures(deps) -> None:
    from backend.codes.diversion import alert_counts

    w = await alerts_world(deps)
    tenant = w.shop.tenant
    assert await alert_counts(tenant.brand.id, "distributor") == {tenant.distributor.id: 3}
    assert await alert_counts(tenant.brand.id, "sku") == {w.shop.water: 3}


async def test_the_check_costs_at_most_two_statements(deps, monkeypatch) -> None:
    """note_scan runs in every store scan's transaction: nothing for a box nobody owns yet or
    another distributor's scan that needs no area, one read of the service area, one INSERT
    (its staff notification comes after the commit)."""
    w = await world()
    lost = await make_store(w.shop.tenant)  # the distributor's own store, no region
    cases = [
        (w.codes.boxes[0], w.other, 1),  # the INSERT only
        (w.codes.boxes[0], w.own, 1),  # the area read only
        (w.codes.boxes[0], w.own_west, 2),  # read, then INSERT
        (w.codes.boxes[0], lost, 0),
    ]
    await ProductCode.filter(token=w.codes.boxes[1]).update(distributor_id=None)
    cases.append((w.codes.boxes[1], w.other, 0))
    statements: list[str] = []
    real_fetch, real_execute = sql.fetch, sql.execute

    async def fetch(statement: str, *args: Any) -> Any:
        statements.append(statement)
        return await real_fetch(statement, *args)

    async def execute(statement: str, *args: Any) -> Any:
        statements.append(statement)
        return await real_execute(statement, *args)

    for token, store, expected in cases:
        code = await find(token)
        statements.clear()
        monkeypatch.setattr(sql, "fetch", fetch)
        monkeypatch.setattr(sql, "execute", execute)
        async with sql.transaction():
            await note_scan(code, surfaced(store), deps.clock.now())
            # Counted inside the scan's transaction: a new alert's notification waits for
            # the commit (test_codes_diversion_notifications.py).
            monkeypatch.setattr(sql, "fetch", real_fetch)
            monkeypatch.setattr(sql, "execute", real_execute)
        assert len(statements) == expected, (store.name, statements)


async def test_a_store_without_a_region(client, deps) -> None:
    w = await world()
    tenant = w.shop.tenant
    nowhere = await make_store(tenant, distributor=tenant.other_distributor, name="无区域门店")
    assert await scanned(w.codes.boxes[0], nowhere, deps.clock.now()) == "other_distributor"
    headers = await brand(client, w)
    item = (await get(client, headers)).json()["items"][0]
    assert item["region"] is None
    summary = (await client.get(f"{API}/summary", headers=headers)).json()
    assert summary["by_region"] == [{"region": {"id": None, "name": "未分区域"}, "total": 1}]
    exported = await client.get(f"{API}/export", headers=headers)
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][13] == "未分区域"
