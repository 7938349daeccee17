"""Stores invited to a session are reminded once, within 15 minutes of its start: a WeChat
subscribe message where the owner allowed one, and an in-app notification."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from backend.infra import jobs
from backend.integrations.wechat.sandbox import LIVE_REMINDER_TEMPLATE_ID
from backend.livestream import service as live_service
from backend.worker import TASKS
from tests.factories import SANDBOX_APPID, bearer, distributor_admin, make_shop, store_owner
from tests.test_live_sessions import scheduled, session_body

MINIPROGRAM = Path(__file__).resolve().parent.parent / "miniprogram"


def miniprogram_pages() -> set[str]:
    """Every page the mini-program declares, subpackages included, as `page` names them."""
    app = json.loads((MINIPROGRAM / "app.json").read_text(encoding="utf-8"))
    subpackages = app.get("subPackages", app.get("subpackages", []))
    return set(app["pages"]) | {f"{p['root']}/{page}" for p in subpackages for page in p["pages"]}


async def test_invited_owners_are_reminded_once_before_the_start(
    client, sandbox_client, sandbox_state, deps
) -> None:
    sandbox_state.sent_messages.clear()
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    now = deps.clock.now()
    soon = session_body(
        shop,
        deps,
        title="年终净水专场",
        starts_at=(now + timedelta(minutes=10)).isoformat(),
        ends_at=(now + timedelta(hours=2)).isoformat(),
    )
    upcoming = await scheduled(client, host, soon)
    later = await scheduled(client, host, session_body(shop, deps))  # in an hour: not yet
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    granted = await sandbox_client.post(
        "/sandbox/subscribe-grant",
        json={
            "appid": SANDBOX_APPID,
            "persona": f"owner-of-{shop.tenant.store.id}",
            "template_ids": [LIVE_REMINDER_TEMPLATE_ID],
        },
    )
    assert granted.status_code == 200, granted.text
    reported = await client.post(
        "/api/v1/notifications/subscriptions",
        json={"accepted": [LIVE_REMINDER_TEMPLATE_ID]},
        headers=bearer(owner),
    )
    assert reported.status_code == 200, reported.text

    assert await live_service.remind_upcoming(deps, deps.clock.now()) == 1
    assert sandbox_state.sent_messages == []  # a job, sent by a worker after commit
    assert await jobs.run_pending(deps, TASKS) == 1
    [message] = sandbox_state.sent_messages
    assert message["template_id"] == LIVE_REMINDER_TEMPLATE_ID
    assert message["data"]["thing1"] == "年终净水专场"
    assert message["page"] == f"packageLive/pages/room/index?id={upcoming['id']}"
    assert message["page"].split("?")[0] in miniprogram_pages()  # opens the room, not a 404
    listed = (await client.get("/api/v1/notifications", headers=bearer(owner))).json()
    assert [n["link"] for n in listed["items"]] == [f"live:{upcoming['id']}"]

    assert await live_service.remind_upcoming(deps, deps.clock.now()) == 0  # once
    assert await jobs.run_pending(deps, TASKS) == 0
    assert len(sandbox_state.sent_messages) == 1
    assert later["id"] != upcoming["id"]
