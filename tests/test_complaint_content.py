"""The complaint text goes through WeChat's content-security check (msgSecCheck v2, through
our WeChat client to the sandbox over HTTP). Flagged or unchecked text goes to a person,
never dropped: the complaint is filed as usual, brand staff are told, and their decision is
kept; rejected text is hidden from the distributor only."""

from __future__ import annotations

import dataclasses

from backend.complaints.models import Complaint, ComplaintEvent
from backend.integrations.wechat.client import MiniProgramClient
from backend.notifications.models import Notification
from tests.factories import bearer, distributor_admin, idempotent, make_shop, store_owner
from tests.test_complaints import API, filed, step
from tests.test_promotions_admin import admin


async def test_clean_text_passes_and_flagged_text_goes_to_review(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    clean = await filed(client, owner, text="净水器漏水")
    assert clean["content_check"] == {"verdict": "pass", "review": "", "needs_review": False}
    flagged = await filed(client, owner, text="经销商说加微信进返现群才给换")
    assert flagged["content_check"]["verdict"] == "review"
    risky = await filed(client, owner, text="他们在店里赌博")
    assert risky["content_check"] == {"verdict": "risky", "review": "", "needs_review": True}
    assert await Complaint.all().count() == 3  # nothing dropped

    brand = await admin(client, shop)
    pending = (await client.get(f"{API}?needs_review=true", headers=brand)).json()["items"]
    assert sorted(c["id"] for c in pending) == sorted([flagged["id"], risky["id"]])
    told = await Notification.filter(kind="complaint.review").values_list("link", flat=True)
    assert sorted(told) == sorted([f"complaint:{flagged['id']}", f"complaint:{risky['id']}"])

    rejected = await client.post(
        f"{API}/{risky['id']}/content-review", json={"decision": "rejected"}, headers=brand
    )
    assert rejected.json()["content_check"]["review"] == "rejected"
    twice = await client.post(
        f"{API}/{risky['id']}/content-review", json={"decision": "approved"}, headers=brand
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "complaint.no_review_pending"
    nothing = await client.post(
        f"{API}/{clean['id']}/content-review", json={"decision": "approved"}, headers=brand
    )
    assert nothing.status_code == 409

    await step(client, brand, risky["id"], "acknowledge")
    await step(client, brand, risky["id"], "assign")
    distributor = await distributor_admin(client, shop)
    seen = (await client.get(f"{API}/{risky['id']}", headers=distributor)).json()
    assert seen["text"] == "（内容未通过审核，已隐藏）"
    listed = (await client.get(API, headers=distributor)).json()["items"]
    assert [c["text"] for c in listed] == ["（内容未通过审核，已隐藏）"]
    own = (await client.get(f"{API}/{risky['id']}", headers=bearer(owner))).json()
    assert own["text"] == "他们在店里赌博"
    assert all(e["actor_role"] != "system" for e in own["timeline"])  # the note is internal


async def test_when_wechat_cannot_be_asked_the_text_is_reviewed_by_a_person(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    working = deps.wechat
    deps.wechat = MiniProgramClient(
        dataclasses.replace(working.settings, api_base_url="http://127.0.0.1:9")
    )
    try:
        complaint = await filed(client, owner, text="配送太慢")
    finally:
        deps.wechat = working
    assert complaint["content_check"]["verdict"] == "unchecked"
    assert complaint["content_check"]["needs_review"]
    note = await ComplaintEvent.get(complaint_id=complaint["id"], actor_role="system")
    assert "暂不可用" in note.message and note.internal


async def test_a_store_staff_without_wechat_is_reviewed_too(client, sandbox_client) -> None:
    """Only WeChat users can be checked (msgSecCheck v2 needs the author's openid)."""
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    from backend.identity.models import WechatAccount

    await WechatAccount.all().delete()
    response = await client.post(
        API, json={"category": "other", "text": "其他问题"}, headers=idempotent(owner)
    )
    assert response.json()["content_check"]["verdict"] == "unchecked"
