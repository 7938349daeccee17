"""Complaint service levels with an injected clock: deadlines by category, the queue ordered
by them, breaches escalated once (marked, on the timeline, and told to brand staff), and the
clock paused while the complaint waits on the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.complaints import service as complaints_service
from backend.complaints.models import Complaint, ComplaintEvent
from backend.notifications.models import Notification
from tests.factories import bearer, distributor_admin, make_shop, store_owner
from tests.test_complaints import API, filed, step, walk
from tests.test_promotions_admin import admin


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_deadlines_order_the_queue_and_a_breach_is_escalated_once(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    filed_at = deps.clock.now()
    damaged = await filed(client, owner, category="damaged")  # 4 h to respond
    missing = await filed(client, owner, category="delivery", text="三天了还没送到")  # 2 h
    assert at(damaged["sla"]["first_response_due_at"]) - filed_at >= timedelta(hours=4)
    assert at(missing["sla"]["due_at"]) < at(damaged["sla"]["due_at"])
    brand = await admin(client, shop)
    queue = (await client.get(f"{API}?sort=due&limit=1", headers=brand)).json()
    assert [c["id"] for c in queue["items"]] == [missing["id"]]
    following = queue["next"]
    second = (
        await client.get(
            f"{API}?sort=due&limit=1&due_after={following['due_after'].replace('+', '%2B')}"
            f"&id_after={following['id_after']}",
            headers=brand,
        )
    ).json()
    assert [c["id"] for c in second["items"]] == [damaged["id"]] and second["next"] is None

    deps.clock.advance(hours=3)  # past the 2 h of the missing delivery only
    assert await complaints_service.escalate_breaches(deps.clock.now()) == 1
    assert await complaints_service.escalate_breaches(deps.clock.now()) == 0
    assert (await Complaint.get(id=missing["id"])).breached_first_response
    assert not (await Complaint.get(id=damaged["id"])).breached_first_response
    brand = await admin(client, shop)  # signed in again: the clock moved past the token
    mine = (await client.get("/api/v1/notifications?unread=true", headers=brand)).json()
    assert [n["link"] for n in mine["items"]] == [f"complaint:{missing['id']}"]
    assert "超过首次响应时限" in mine["items"][0]["title"]
    read = await client.post(f"/api/v1/notifications/{mine['items'][0]['id']}/read", headers=brand)
    assert read.status_code == 200
    assert (await client.get("/api/v1/notifications?unread=true", headers=brand)).json()[
        "items"
    ] == []
    breached = (await client.get(f"{API}?breached=true", headers=brand)).json()["items"]
    assert [c["id"] for c in breached] == [missing["id"]]
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    seen = (await client.get(f"{API}/{missing['id']}", headers=bearer(owner))).json()
    assert all(e["actor_role"] != "system" for e in seen["timeline"])  # internal: not shown
    assert await ComplaintEvent.filter(actor_role="system").count() == 1


async def test_the_clock_stops_while_the_store_decides(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    number = (await filed(client, owner, category="damaged"))["id"]  # resolution in 48 h
    brand, distributor = await admin(client, shop), await distributor_admin(client, shop)
    await walk(client, number, brand, distributor, until="resolve")
    before = await Complaint.get(id=number)
    assert before.due_at is None and before.paused_since is not None
    deps.clock.advance(days=3)  # the store takes three days: not the brand's time
    assert await complaints_service.escalate_breaches(deps.clock.now()) == 0
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    reopened = (await step(client, bearer(owner), number, "reopen")).json()
    moved_on = at(reopened["sla"]["resolution_due_at"]) - before.resolution_due_at  # type: ignore[operator]
    # by the time the store took: three days on the injected clock, plus the test's own
    assert timedelta(days=3) <= moved_on < timedelta(days=3, minutes=1)
    assert await complaints_service.escalate_breaches(deps.clock.now()) == 0
    deps.clock.advance(days=2, hours=1)
    assert await complaints_service.escalate_breaches(deps.clock.now()) == 1
    assert (await Complaint.get(id=number)).breached_resolution
    assert await Notification.all().count() >= 1


async def test_brands_set_their_own_service_levels(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    brand = await admin(client, shop)
    levels = (await client.get(f"{API}/sla", headers=brand)).json()["items"]
    assert {"category": "delivery", "first_response_minutes": 120, "resolution_minutes": 1440} in (
        levels
    )
    changed = await client.put(
        f"{API}/sla/delivery",
        json={"first_response_minutes": 30, "resolution_minutes": 600},
        headers=brand,
    )
    assert changed.status_code == 200
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    complaint = await filed(client, owner, category="delivery")
    due = at(complaint["sla"]["first_response_due_at"]) - at(complaint["created_at"])
    assert due == timedelta(minutes=30)
    reversed_levels = await client.put(
        f"{API}/sla/delivery",
        json={"first_response_minutes": 600, "resolution_minutes": 30},
        headers=brand,
    )
    assert reversed_levels.status_code == 422
    refused = await client.put(
        f"{API}/sla/delivery",
        json={"first_response_minutes": 1, "resolution_minutes": 2},
        headers=bearer(owner),
    )
    assert refused.status_code == 403
    assert {"category": "delivery", "first_response_minutes": 30, "resolution_minutes": 600} in (
        (await client.get(f"{API}/sla", headers=brand)).json()["items"]
    )


async def test_concurrent_saves_of_a_service_level_keep_one_row(client) -> None:
    import asyncio

    from backend.complaints.models import ComplaintSla

    shop = await make_shop()
    brand = await admin(client, shop)
    responses = await asyncio.gather(
        *(
            client.put(
                f"{API}/sla/quality",
                json={"first_response_minutes": 10 + n, "resolution_minutes": 100},
                headers=brand,
            )
            for n in range(6)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    assert await ComplaintSla.filter(category="quality").count() == 1
