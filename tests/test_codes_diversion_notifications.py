"""Diversion alerts tell people (窜货预警通知): a new alert is a notification to the brand's
staff and to the staff of the distributor the box was shipped to (whose goods leaked), never
to the store's own distributor or another brand; pushed to their consoles once the scan
commits; once per store, shipped-to distributor and China day (a pallet of diverted boxes
rings the bell once); nothing for a scan that raised no new alert, was refused or rolled
back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from backend.codes.diversion import note_scan
from backend.codes.lookup import find
from backend.codes.models import DiversionAlert
from backend.identity.models import Role
from backend.infra import sql
from backend.notifications.models import Notification
from tests.factories import bearer, idempotent, make_shop, make_staff, staff_headers, store_owner
from tests.test_codes_diversion import World, ship, surfaced, world, write_batch
from tests.test_staff_notifications import Bell, inbox

SCANS = "/api/v1/codes/scans"


async def cast(w: World) -> dict[str, str]:
    """Usernames: the brand's admin and ops, the shipped-to distributor's admin and staff, the
    staff of the distributor whose store the boxes surface at, another brand's admin."""
    tenant = w.shop.tenant
    people = {"brand": tenant.admin_username}
    for name, role, distributor in [
        ("ops", Role.BRAND_OPS, None),
        ("dealer", Role.DISTRIBUTOR_ADMIN, tenant.distributor.id),
        ("clerk", Role.DISTRIBUTOR_STAFF, tenant.distributor.id),
        ("rival", Role.DISTRIBUTOR_STAFF, tenant.other_distributor.id),
    ]:
        people[name] = await make_staff(tenant.brand.id, role, distributor)
    people["stranger"] = (await make_shop()).tenant.admin_username
    return people


async def scan(
    client: httpx.AsyncClient, owner: dict[str, Any], code: str, action: str
) -> dict[str, Any]:
    response = await client.post(
        SCANS, json={"code": code, "action": action}, headers=bearer(owner)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def told(client: httpx.AsyncClient, username: str) -> list[dict[str, Any]]:
    return list((await inbox(client, await staff_headers(client, username)))["items"])


TOLD = ("brand", "ops", "dealer", "clerk")


async def yesterday(deps: Any) -> None:
    """Every alert so far raised a day earlier."""
    await DiversionAlert.all().update(created_at=deps.clock.now() - timedelta(days=1))


def china_time_of_day(deps: Any, hour: int, minute: int = 0) -> None:
    """Move the clock forward to the next `hour`:`minute` China time (UTC+8)."""
    now = deps.clock.now()
    china = now + timedelta(hours=8)
    target = china.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= china:
        target += timedelta(days=1)
    deps.clock.advance(seconds=(target - china).total_seconds())


async def test_a_new_alert_tells_the_brand_and_the_shipped_to_distributor_once_a_day(
    client, sandbox_client, deps
) -> None:
    w = await world()
    people = await cast(w)
    tenant = w.shop.tenant
    china_time_of_day(deps, 12)  # the day's scans all fall on one China day
    other = await store_owner(client, sandbox_client, w.other)

    answer = await scan(client, other, w.codes.boxes[0], "receive")
    assert answer["diverted"] is True
    alert = await DiversionAlert.get()
    for name in TOLD:
        items = await told(client, people[name])
        assert [(n["kind"], n["link"]) for n in items] == [
            ("diversion.raised", f"diversion-store:{w.other.id}")
        ], name
        assert items[0]["title"] == f"窜货预警：{w.other.name}"
        body = items[0]["body"]
        for words in (
            "其他经销商的门店扫码",
            f"发往「{tenant.distributor.name}」",
            f"箱码 {w.codes.batch.batch_no}-B000001",
            f"批次 {w.codes.batch.batch_no}",
            f"在「{w.other.name}」（华东）扫码入库",
        ):
            assert words in body, (name, words, body)
    for name in ("rival", "stranger"):
        assert await told(client, people[name]) == [], name
    assert alert.status == "open"

    # More of the same at that store today: alerts, but the bell rang already.
    await scan(client, other, w.codes.boxes[1], "receive")
    await scan(client, other, w.codes.items[0][0], "sell")  # box 1's alert stands: none new
    assert await DiversionAlert.all().count() == 2
    assert await Notification.filter(kind="diversion.raised").count() == len(TOLD)

    # Another store, or the same store on the next China day: told again.
    west = await store_owner(client, sandbox_client, w.own_west)
    await scan(client, west, w.codes.boxes[2], "receive")
    more = await write_batch(w.shop, batch_no="20261202")
    await ship(more.boxes[0], tenant.distributor.id)
    await yesterday(deps)
    await scan(client, other, more.boxes[0], "receive")
    for name in TOLD:
        items = await told(client, people[name])
        assert [n["link"] for n in items] == [
            f"diversion-store:{w.other.id}",
            f"diversion-store:{w.own_west.id}",
            f"diversion-store:{w.other.id}",
        ], name
        assert "超出经销商服务区域" in items[1]["body"]
        assert f"在「{w.own_west.name}」（西南）扫码入库" in items[1]["body"]
    assert await DiversionAlert.all().count() == 4


async def test_scans_that_raise_no_new_alert_tell_nobody(client, sandbox_client, deps) -> None:
    w = await world()
    await cast(w)
    own = await store_owner(client, sandbox_client, w.own)
    await scan(client, own, w.codes.boxes[0], "receive")  # at home: no diversion
    await scan(client, own, w.codes.items[0][0], "sell")
    other = await store_owner(client, sandbox_client, w.other)
    refused = await client.post(
        SCANS, json={"code": w.codes.boxes[0], "action": "receive"}, headers=bearer(other)
    )
    assert refused.status_code == 409  # received by the own store already: no alert either
    # A scan whose transaction rolls back after raising its alert tells nobody.
    code = await find(w.codes.boxes[1])
    with pytest.raises(RuntimeError):
        async with sql.transaction():
            assert await note_scan(code, surfaced(w.other), deps.clock.now(), deps)
            raise RuntimeError("the scan failed after the check")
    assert await DiversionAlert.all().count() == 0
    assert await Notification.all().count() == 0


async def test_boxes_of_one_store_at_once_ring_the_bell_at_most_once_each(
    client, sandbox_client, deps
) -> None:
    """Two boxes received at once by one store: two alerts; the bell may ring for both (each
    scan sees no committed earlier alert), never more, and never for neither."""
    w = await world()
    await cast(w)
    other = await store_owner(client, sandbox_client, w.other)
    await asyncio.gather(*(scan(client, other, w.codes.boxes[i], "receive") for i in (0, 1)))
    assert await DiversionAlert.all().count() == 2
    per_person = await Notification.filter(kind="diversion.raised").count() / len(TOLD)
    assert per_person in (1, 2)


async def test_the_consoles_hear_of_it_at_once(platform_url, client, sandbox_client, deps) -> None:
    w = await world()
    people = await cast(w)
    bells = {
        name: await Bell().connect(platform_url, await staff_headers(client, people[name]))
        for name in ("brand", "dealer", "rival")
    }
    try:
        other = await store_owner(client, sandbox_client, w.other)
        await scan(client, other, w.codes.boxes[0], "receive")
        for name in ("brand", "dealer"):
            pushed = await bells[name].next_change()
            assert pushed["kind"] == "diversion.raised" and pushed["read"] is False
            assert pushed["link"] == f"diversion-store:{w.other.id}"
        await asyncio.sleep(0.3)  # anything misrouted would have arrived by now
        assert bells["rival"].changes == []
    finally:
        for bell in bells.values():
            await bell.client.disconnect()


async def test_the_day_is_chinas(client, sandbox_client, deps) -> None:
    """An earlier alert at 00:10 China time holds the bell at 00:30; one at 23:30 the day
    before does not."""
    w = await world()
    people = await cast(w)
    china_time_of_day(deps, 0, 30)
    other = await store_owner(client, sandbox_client, w.other)
    await scan(client, other, w.codes.boxes[0], "receive")
    await DiversionAlert.all().update(created_at=deps.clock.now() - timedelta(minutes=20))
    await scan(client, other, w.codes.boxes[1], "receive")
    assert len(await told(client, people["brand"])) == 1
    await DiversionAlert.all().update(created_at=deps.clock.now() - timedelta(hours=1))
    await scan(client, other, w.codes.boxes[2], "receive")
    assert len(await told(client, people["brand"])) == 2


async def test_a_keyed_scan_and_its_replay_tell_once(client, sandbox_client, deps) -> None:
    """The mini-program sends every scan with an Idempotency-Key: the staff hear of the
    alert once the scan has committed, and the replayed request tells nobody again."""
    w = await world()
    people = await cast(w)
    other = await store_owner(client, sandbox_client, w.other)
    headers = idempotent(other, "diverted-scan-1")
    body = {"code": w.codes.boxes[0], "action": "receive"}
    first = await client.post(SCANS, json=body, headers=headers)
    again = await client.post(SCANS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.json()["diverted"] is True
    assert await DiversionAlert.all().count() == 1
    assert len(await told(client, people["dealer"])) == 1
    assert await Notification.filter(kind="diversion.raised").count() == len(TOLD)
