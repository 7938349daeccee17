"""Staff notifications: who is told of a service-level breach, a new store application and a
voucher claim's submission and decisions; the unread count, keyset paging, the read filter
and marking all read; and the push of each one to its own person's console only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backend.complaints import service as complaints_service
from backend.identity.models import Role, User
from backend.infra import sql
from backend.infra.broadcast import write_only_redis_broadcaster
from backend.notifications import service as notifications_service
from backend.notifications.models import Notification
from backend.org.models import Store
from realtime.app import create_realtime_asgi
from tests.conftest import REDIS_URL, ThreadedServer
from tests.factories import make_shop, make_staff, staff_headers, store_owner
from tests.test_complaints import filed, step
from tests.test_console import Watcher
from tests.test_onboarding import application, box_code
from tests.test_promotions_admin import admin
from tests.test_voucher_claims import delivered_voucher_order, idempotent_staff

API = "/api/v1/notifications"


async def inbox(client: httpx.AsyncClient, headers: dict[str, str], query: str = "") -> Any:
    response = await client.get(f"{API}{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def links(client: httpx.AsyncClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    return [(n["kind"], n["link"]) for n in (await inbox(client, headers))["items"]]


class Bell(Watcher):
    """A console's socket, keeping the notifications pushed to it (in `changes`)."""

    EVENT = "notification.created"


async def breach_cast(client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient) -> Any:
    """A shop with two brand staff, its distributor's admin and staff, a rival distributor's
    staff and a deactivated account at the distributor (usernames by who they are), and a
    complaint handed to the distributor."""
    shop = await make_shop()
    tenant = shop.tenant
    cast = {"brand": tenant.admin_username}
    for name, role, distributor in [
        ("ops", Role.BRAND_OPS, None),
        ("dealer", Role.DISTRIBUTOR_ADMIN, tenant.distributor.id),
        ("clerk", Role.DISTRIBUTOR_STAFF, tenant.distributor.id),
        ("rival", Role.DISTRIBUTOR_STAFF, tenant.other_distributor.id),
        ("gone", Role.DISTRIBUTOR_STAFF, tenant.distributor.id),
    ]:
        cast[name] = await make_staff(tenant.brand.id, role, distributor)
    owner = await store_owner(client, sandbox_client, tenant.store)
    complaint = await filed(client, owner)
    brand = await staff_headers(client, cast["brand"])
    await step(client, brand, complaint["id"], "acknowledge")
    await step(client, brand, complaint["id"], "assign")
    gone = (await User.get(username=cast["gone"])).id
    off = await client.post(f"/api/v1/staff/{gone}/deactivate", headers=brand)
    assert off.status_code == 200
    return shop, cast, complaint


async def test_a_breach_tells_the_brand_and_the_assigned_distributor_only(
    client, sandbox_client, deps
) -> None:
    _, cast, complaint = await breach_cast(client, sandbox_client)
    stranger = (await make_shop()).tenant.admin_username
    deps.clock.advance(days=5)  # past the resolution deadline
    assert await complaints_service.escalate_breaches(deps.clock.now()) == 1
    for name in ("brand", "ops", "dealer", "clerk"):
        told = await inbox(client, await staff_headers(client, cast[name]))
        assert [(n["kind"], n["link"]) for n in told["items"]] == [
            ("complaint.breached", f"complaint:{complaint['id']}")
        ], name
        assert "超过解决时限" in told["items"][0]["title"] and told["unread"] == 1
    for username in (cast["rival"], stranger):
        assert (await inbox(client, await staff_headers(client, username)))["items"] == []
    assert await Notification.filter(kind="complaint.breached").count() == 4  # not "gone"


async def test_unread_count_paging_filters_and_marking_all_read(client, deps) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    me = (await client.get("/api/v1/me", headers=brand)).json()["id"]
    someone_else = await staff_headers(
        client, await make_staff(shop.tenant.brand.id, Role.BRAND_OPS)
    )
    for number in range(5):
        await notifications_service.notify(
            shop.tenant.brand.id,
            [me],
            kind="complaint.breached",
            title=f"投诉 #{number} 超过首次响应时限",
            body="请尽快处理",
            link=f"complaint:{number}",
            now=deps.clock.now(),
        )
    assert (await client.get(f"{API}/unread-count", headers=brand)).json() == {"unread": 5}

    first = await inbox(client, brand, "?limit=2")
    second = await inbox(client, brand, f"?limit=2&before={first['next_before']}")
    third = await inbox(client, brand, f"?limit=2&before={second['next_before']}")
    shown = [n["link"] for n in first["items"] + second["items"] + third["items"]]
    assert shown == [f"complaint:{n}" for n in (4, 3, 2, 1, 0)] and third["next_before"] is None

    newest, older = first["items"][0], first["items"][1]
    assert (await client.post(f"{API}/{newest['id']}/read", headers=brand)).status_code == 200
    foreign = await client.post(f"{API}/{older['id']}/read", headers=someone_else)
    assert foreign.status_code == 404  # another person's notification is not theirs to touch
    read = await inbox(client, brand, "?read=true")
    assert [n["id"] for n in read["items"]] == [newest["id"]] and read["unread"] == 4
    unread = await inbox(client, brand, "?read=false")
    assert newest["id"] not in [n["id"] for n in unread["items"]] and len(unread["items"]) == 4
    assert (await inbox(client, brand, "?unread=true"))["items"] == unread["items"]

    # Marking all read up to what was on screen leaves one that arrived since unread.
    await notifications_service.notify(
        shop.tenant.brand.id,
        [me],
        kind="claim.submitted",
        title="核销单 #9 待审核",
        body="",
        link="claim:9",
        now=deps.clock.now(),
    )
    marked = await client.post(f"{API}/read-all", json={"up_to": newest["id"]}, headers=brand)
    assert marked.json() == {"marked": 4, "unread": 1}
    everything = await client.post(f"{API}/read-all", headers=brand)
    assert everything.json() == {"marked": 1, "unread": 0}
    assert (await inbox(client, someone_else))["items"] == []
    assert (await client.get(f"{API}?read=perhaps", headers=brand)).status_code == 422
    assert (await client.post(f"{API}/read-all", json={"up_to": 0}, headers=brand)).status_code == (
        422
    )


async def test_a_new_application_tells_the_brand_and_the_distributor_it_names(
    client, sandbox_client
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    brand = await admin(client, shop)
    dealer = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    rival = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id),
    )
    named = await box_code(client, brand, distributor_id=tenant.distributor.id)
    unnamed = await box_code(client, brand)
    applicants = [await store_owner(client, sandbox_client, tenant.store, f"new-{n}") for n in "ab"]
    applied = []
    for code, applicant, phone in zip(
        (named, unnamed), applicants, ("13611110001", "13611110002"), strict=True
    ):
        response = await client.post(
            "/api/v1/onboarding/applications",
            json=application(code["token"], phone=phone, business_licence_no=None),
            headers={"Authorization": f"Bearer {applicant['access_token']}"},
        )
        assert response.status_code == 201, response.text
        applied.append(response.json()["id"])
    assert await links(client, brand) == [
        ("application.submitted", f"application:{applied[1]}"),
        ("application.submitted", f"application:{applied[0]}"),
    ]
    assert await links(client, dealer) == [("application.submitted", f"application:{applied[0]}")]
    assert await links(client, rival) == []
    [note] = (await inbox(client, dealer))["items"]
    assert note["title"] == "新的门店入驻申请：鑫旺五金店" and "赵老板" in note["body"]
    assert not await Store.exists(name="鑫旺五金店")


async def test_a_claim_tells_the_brand_and_its_decision_tells_the_distributor(
    client, sandbox_client
) -> None:
    shop, distributor, _ = await delivered_voucher_order(client, sandbox_client)
    brand = await admin(client, shop)
    submitted = await client.post(
        "/api/v1/coupons/claims", json={"note": "11月"}, headers=idempotent_staff(distributor)
    )
    claim_id = submitted.json()["id"]
    [told] = (await inbox(client, brand))["items"]
    assert (told["kind"], told["link"], told["title"]) == (
        "claim.submitted",
        f"claim:{claim_id}",
        f"核销单 #{claim_id} 待审核",
    )
    assert told["body"] == f"{shop.tenant.distributor.name}申请核销 200.00 元，1 张兑换券"
    assert await links(client, distributor) == []

    await client.post(f"/api/v1/coupons/claims/{claim_id}/approve", headers=brand)
    await client.post(f"/api/v1/coupons/claims/{claim_id}/settle", headers=brand)
    assert await links(client, distributor) == [
        ("claim.settled", f"claim:{claim_id}"),
        ("claim.approved", f"claim:{claim_id}"),
    ]
    titles = [n["title"] for n in (await inbox(client, distributor))["items"]]
    assert titles == [f"核销单 #{claim_id} 已结算", f"核销单 #{claim_id} 已确认，待结算"]
    refused = await client.post(f"/api/v1/coupons/claims/{claim_id}/approve", headers=brand)
    assert refused.status_code == 409
    assert len((await inbox(client, distributor))["items"]) == 2  # a refused move tells nobody


async def test_each_person_hears_of_their_own_notifications_only(
    platform_url, client, sandbox_client, deps
) -> None:
    _, cast, complaint = await breach_cast(client, sandbox_client)
    bells = {
        name: await Bell().connect(platform_url, await staff_headers(client, username))
        for name, username in cast.items()
        if name != "gone"
    }
    try:
        deps.clock.advance(days=5)
        assert await complaints_service.escalate_breaches(deps.clock.now(), deps) == 1
        for name in ("brand", "ops", "dealer", "clerk"):
            pushed = await bells[name].next_change()
            assert pushed["link"] == f"complaint:{complaint['id']}" and pushed["read"] is False
            listed = await inbox(client, await staff_headers(client, cast[name]))
            assert [n["id"] for n in listed["items"]] == [pushed["id"]], name
        await asyncio.sleep(0.3)  # anything misrouted would have arrived by now
        assert all(len(bells[name].changes) == 1 for name in ("brand", "ops", "dealer", "clerk"))
        assert bells["rival"].changes == []
        assert len({bell.changes[0]["id"] for bell in bells.values() if bell.changes}) == 4
    finally:
        for bell in bells.values():
            await bell.client.disconnect()


async def test_a_rolled_back_event_pushes_nothing(platform_url, client, deps) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    me = (await client.get("/api/v1/me", headers=brand)).json()["id"]
    bell = await Bell().connect(platform_url, brand)
    try:
        with pytest.raises(RuntimeError):
            async with sql.transaction():
                await notifications_service.notify(
                    shop.tenant.brand.id,
                    [me],
                    kind="claim.submitted",
                    title="核销单 #1 待审核",
                    body="",
                    link="claim:1",
                    now=deps.clock.now(),
                    broadcast=deps.broadcast,
                )
                raise RuntimeError("the event failed after the notification was written")
        await asyncio.sleep(0.3)
        assert bell.changes == [] and (await inbox(client, brand))["items"] == []
    finally:
        await bell.client.disconnect()


@pytest.mark.skipif(not REDIS_URL.startswith("redis://"), reason="needs a real Redis")
async def test_a_claim_reaches_the_brand_through_a_separate_realtime_server(
    settings, deps, client, sandbox_client
) -> None:
    """Production's path: the API publishes through Redis, a realtime server of its own
    delivers to the person's room."""
    shop, distributor, _ = await delivered_voucher_order(client, sandbox_client)
    brand = await admin(client, shop)
    serving_alone = deps.broadcast
    deps.broadcast = write_only_redis_broadcaster(settings.redis_url)
    try:
        with ThreadedServer(create_realtime_asgi(settings)) as realtime:
            bell = await Bell().connect(realtime.url, brand)
            dealer_bell = await Bell().connect(realtime.url, distributor)
            try:
                submitted = await client.post(
                    "/api/v1/coupons/claims", json={}, headers=idempotent_staff(distributor)
                )
                pushed = await bell.next_change()
                assert pushed["link"] == f"claim:{submitted.json()['id']}"
                await asyncio.sleep(0.3)
                assert dealer_bell.changes == []
            finally:
                await bell.client.disconnect()
                await dealer_bell.client.disconnect()
    finally:
        deps.broadcast = serving_alone
