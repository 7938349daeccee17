"""Complaints through the API: filing, every step of the workflow by the right party, every
other step refused with nothing changed, internal notes hidden from the store, ratings, and
other tenants kept out."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from backend.complaints.models import Complaint, ComplaintEvent, ComplaintStatus
from backend.complaints.states import TRANSITIONS, Action
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    store_owner,
)
from tests.test_promotions_admin import admin

API = "/api/v1/complaints"


async def filed(client: httpx.AsyncClient, owner: dict[str, Any], **overrides: Any) -> Any:
    body = {"category": "damaged", "text": "收到的净水器外壳破裂", **overrides}
    response = await client.post(API, json=body, headers=idempotent(owner))
    assert response.status_code == 201, response.text
    return response.json()


async def parties(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient
) -> tuple[Shop, dict[str, str], dict[str, str], dict[str, Any]]:
    shop = await make_shop()
    return (
        shop,
        await admin(client, shop),
        await distributor_admin(client, shop),
        await store_owner(client, sandbox_client, shop.tenant.store),
    )


async def step(
    client: httpx.AsyncClient, headers: dict[str, str], complaint_id: int, action: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{API}/{complaint_id}/{action}", json=body or None, headers=headers)


USUAL_WAY = [("brand", "acknowledge"), ("brand", "assign"), ("distributor", "respond")]
USUAL_WAY += [("brand", "resolve"), ("owner", "confirm")]


async def walk(
    client: httpx.AsyncClient,
    complaint_id: int,
    brand: dict[str, str],
    distributor: dict[str, str],
    *,
    until: str,
    owner: dict[str, str] | None = None,
) -> None:
    """Take a complaint the usual way, step by step up to `until`; each step must succeed."""
    parties = {"brand": brand, "distributor": distributor, "owner": owner or {}}
    for party, action in USUAL_WAY:
        assert (await step(client, parties[party], complaint_id, action)).status_code == 200
        if action == until:
            return


async def test_the_whole_way_from_filing_to_a_rating(client, sandbox_client, deps) -> None:
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    order = (
        await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": shop.water, "quantity": 1}]},
            headers=idempotent(owner),
        )
    ).json()
    complaint = await filed(client, owner, order_id=order["id"], contact_preference="wechat")
    assert (complaint["status_name"], complaint["order_id"]) == ("待受理", order["id"])
    number = complaint["id"]

    # The distributor sees nothing until the brand hands it over.
    assert (await client.get(f"{API}/{number}", headers=distributor)).status_code == 404
    assert (await step(client, brand, number, "acknowledge")).json()["status"] == "acknowledged"
    assigned = await step(client, brand, number, "assign", message="已转经销商上门查看")
    assert assigned.json()["distributor_id"] == shop.tenant.distributor.id
    note = await client.post(
        f"{API}/{number}/notes",
        json={"message": "该批次外壳有质检记录", "internal": True},
        headers=brand,
    )
    assert note.status_code == 200
    answered = await step(client, distributor, number, "respond", message="明天上门换新")
    assert answered.json()["status_name"] == "经销商已答复"
    resolved = await step(client, brand, number, "resolve", message="已换新")
    assert resolved.json()["status"] == "resolved"

    seen_by_store = (await client.get(f"{API}/{number}", headers=bearer(owner))).json()
    messages = [event["message"] for event in seen_by_store["timeline"]]
    assert "该批次外壳有质检记录" not in messages and "明天上门换新" in messages
    seen_by_brand = (await client.get(f"{API}/{number}", headers=brand)).json()
    assert "该批次外壳有质检记录" in [event["message"] for event in seen_by_brand["timeline"]]

    confirmed = await step(client, bearer(owner), number, "confirm")
    assert confirmed.json()["status_name"] == "已关闭" and confirmed.json()["closed_at"]
    rated = await client.post(
        f"{API}/{number}/rating", json={"rating": 5, "comment": "处理很快"}, headers=bearer(owner)
    )
    assert rated.json()["rating"] == 5
    again = await client.post(f"{API}/{number}/rating", json={"rating": 1}, headers=bearer(owner))
    assert again.status_code == 409 and again.json()["error"]["code"] == "complaint.already_rated"
    moves = [
        (e.actor_role, e.from_status, e.to_status)
        for e in await ComplaintEvent.filter(complaint_id=number, to_status__isnull=False)
    ]
    assert moves == [
        ("store_owner", None, "new"),
        ("brand_admin", "new", "acknowledged"),
        ("brand_admin", "acknowledged", "assigned"),
        ("distributor_admin", "assigned", "responded"),
        ("brand_admin", "responded", "resolved"),
        ("store_owner", "resolved", "closed"),
    ]


async def test_the_store_reopens_within_the_window_and_the_brand_closes_after_it(
    client, sandbox_client, deps
) -> None:
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await walk(client, number, brand, distributor, until="resolve")
    early_close = await step(client, brand, number, "close")
    assert early_close.json()["error"]["code"] == "complaint.reopen_window_open"
    reopened = await step(client, bearer(owner), number, "reopen", message="还是漏水")
    assert (reopened.json()["status"], reopened.json()["reopen_count"]) == ("reopened", 1)
    await walk(client, number, brand, distributor, until="resolve")
    deps.clock.advance(days=8)  # past the reopening window (and the tokens' life: sign in again)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    late = await step(client, bearer(owner), number, "reopen")
    assert late.json()["error"]["code"] == "complaint.reopen_window_passed"
    brand = await admin(client, shop)
    assert (await step(client, brand, number, "close")).json()["status"] == "closed"


ACTORS = ("brand", "distributor", "store")
STATUS_PATH = [
    (ComplaintStatus.NEW, []),
    (ComplaintStatus.ACKNOWLEDGED, [("brand", "acknowledge")]),
    (ComplaintStatus.ASSIGNED, [("brand", "acknowledge"), ("brand", "assign")]),
    (
        ComplaintStatus.RESPONDED,
        [("brand", "acknowledge"), ("brand", "assign"), ("distributor", "respond")],
    ),
    (
        ComplaintStatus.RESOLVED,
        [
            ("brand", "acknowledge"),
            ("brand", "assign"),
            ("distributor", "respond"),
            ("brand", "resolve"),
        ],
    ),
]


@pytest.mark.parametrize(("status", "path"), STATUS_PATH, ids=[s for s, _ in STATUS_PATH])
async def test_every_other_step_is_refused_and_changes_nothing(
    client, sandbox_client, status, path
) -> None:
    _, brand, distributor, owner = await parties(client, sandbox_client)
    headers = {"brand": brand, "distributor": distributor, "store": bearer(owner)}
    number = (await filed(client, owner))["id"]
    for actor, action in path:
        assert (await step(client, headers[actor], number, action)).status_code == 200
    events = await ComplaintEvent.filter(complaint_id=number).count()
    for action, actor in itertools.product(Action, ACTORS):
        rule = TRANSITIONS.get((action, status))
        if rule is not None and rule[1].value == actor:
            continue  # the one legal step: exercised by the walk above
        if action in (Action.CLOSE, Action.REOPEN) and rule is not None:
            continue  # legal moves guarded by the reopening window: tested above
        response = await step(client, headers[actor], number, action.value)
        assert response.status_code in (403, 404, 409), (status, action, actor, response.text)
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "complaint.illegal_transition"
    complaint = await Complaint.get(id=number)
    assert complaint.status == status.value
    assert await ComplaintEvent.filter(complaint_id=number).count() == events


async def test_bad_input_is_refused_with_nothing_saved(client, sandbox_client) -> None:
    shop, _, _, owner = await parties(client, sandbox_client)
    other_store = await make_store(shop.tenant)
    other_owner = await store_owner(client, sandbox_client, other_store)
    their_order = (
        await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": shop.water, "quantity": 1}]},
            headers=idempotent(other_owner),
        )
    ).json()
    cases = [
        ({"category": "damaged", "text": ""}, "request.invalid"),
        ({"category": "damaged", "text": "   "}, "request.invalid"),  # trimmed, then empty
        ({"category": "broken", "text": "坏了"}, "request.invalid"),
        ({"category": "damaged", "text": "x" * 2001}, "request.invalid"),
        (
            {"category": "damaged", "text": "坏了", "order_id": their_order["id"]},
            "complaint.order_not_yours",
        ),
        ({"category": "damaged", "text": "坏了", "order_id": "abc"}, "request.invalid"),
    ]
    for body, code in cases:
        response = await client.post(API, json=body, headers=idempotent(owner))
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == code
    assert await Complaint.all().count() == 0


async def test_other_tenants_and_other_stores_see_nothing(client, sandbox_client) -> None:
    shop, brand, _, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    other = await make_shop()
    for headers in (
        await admin(client, other),
        await distributor_admin(client, other),
        bearer(await store_owner(client, sandbox_client, await make_store(shop.tenant))),
    ):
        assert (await client.get(f"{API}/{number}", headers=headers)).status_code == 404
        assert (await client.get(API, headers=headers)).json()["items"] == []
        refused = await client.post(f"{API}/{number}/acknowledge", headers=headers)
        assert refused.status_code == 404
    assert (await Complaint.get(id=number)).status == "new"
    listed = (await client.get(f"{API}?status=new&category=damaged", headers=brand)).json()
    assert [c["id"] for c in listed["items"]] == [number]
    elsewhere = await make_shop()
    foreign = await client.post(
        f"{API}/{number}/acknowledge", headers=brand
    )  # the brand's own step, to check assign to another brand's distributor next
    assert foreign.status_code == 200
    bad_assign = await step(
        client, brand, number, "assign", distributor_id=elsewhere.tenant.distributor.id
    )
    assert bad_assign.status_code == 422
    assert bad_assign.json()["error"]["code"] == "complaint.unknown_distributor"
    assert (await Complaint.get(id=number)).status == "acknowledged"
    store_note = await client.post(
        f"{API}/{number}/notes", json={"message": "内部", "internal": True}, headers=bearer(owner)
    )
    assert store_note.status_code == 403
