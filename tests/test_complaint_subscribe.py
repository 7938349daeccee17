"""WeChat subscribe messages (订阅消息) at each complaint step, through our WeChat client to
the sandbox over HTTP: sent to the store owner who filed it, only as often as they allowed
in the mini-program (one message per accept), never for the store's own steps, and never
making a step fail. The sandbox checks what WeChat checks (token, openid, template, the
keywords' values, the user's grants) and keeps every message it accepted.

Each step writes its message as a job; here the jobs run right after the step, one attempt
each, through the path a worker takes (tests/test_jobs.py runs real workers)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.identity.models import WechatAccount
from backend.infra import jobs
from backend.integrations.wechat.client import MiniProgramClient, WechatApiError
from backend.integrations.wechat.sandbox import (
    COMPLAINT_UPDATE_TEMPLATE_ID,
    SandboxState,
    openid_for,
)
from backend.notifications.models import SubscribeGrant
from backend.worker import TASKS
from tests.factories import SANDBOX_APPID, bearer, make_shop, make_tenant, store_owner
from tests.test_complaints import filed, parties
from tests.test_complaints import step as step_only
from tests.test_complaints import walk as walk_only
from tests.test_live_reminders import miniprogram_pages
from tests.test_promotions_admin import admin

TEMPLATE = COMPLAINT_UPDATE_TEMPLATE_ID
SUBSCRIPTIONS = "/api/v1/notifications/subscriptions"
CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def no_messages_yet(sandbox_state: SandboxState) -> None:
    """The sandbox lives for the whole run: start each test with no grants and nothing sent
    (openids repeat across tests, as store ids restart)."""
    sandbox_state.subscribe_grants.clear()
    sandbox_state.sent_messages.clear()


_worker: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def worker_deps(deps: Any) -> None:
    _worker["deps"] = deps


async def step(
    client: httpx.AsyncClient, headers: dict[str, str], complaint_id: int, action: str, **body: Any
) -> httpx.Response:
    """A step, then the message jobs it wrote (as a worker would run them)."""
    response = await step_only(client, headers, complaint_id, action, **body)
    await jobs.run_pending(_worker["deps"], TASKS)
    return response


async def walk(client: httpx.AsyncClient, complaint_id: int, *args: Any, **kwargs: Any) -> Any:
    walked = await walk_only(client, complaint_id, *args, **kwargs)
    await jobs.run_pending(_worker["deps"], TASKS)
    return walked


def persona_of(store: Any) -> str:
    return f"owner-of-{store.id}"  # as tests.factories.store_owner names its WeChat user


async def allow(
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
    owner: dict[str, Any],
    store: Any,
    times: int = 1,
) -> list[dict[str, Any]]:
    """The owner accepts wx.requestSubscribeMessage `times` times: WeChat grants one message
    each time, and the mini-program reports the result to us."""
    items: list[dict[str, Any]] = []
    for _ in range(times):
        granted = await sandbox_client.post(
            "/sandbox/subscribe-grant",
            json={"appid": SANDBOX_APPID, "persona": persona_of(store), "template_ids": [TEMPLATE]},
        )
        assert granted.json()[TEMPLATE] == "accept", granted.text
        reported = await client.post(SUBSCRIPTIONS, json={"accepted": [TEMPLATE]}, headers=owner)
        assert reported.status_code == 200, reported.text
        items = reported.json()["items"]
    return items


async def remaining(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get(SUBSCRIPTIONS, headers=headers)
    assert response.status_code == 200, response.text
    (item,) = [i for i in response.json()["items"] if i["template_id"] == TEMPLATE]
    return int(item["remaining"])


def china_minutes(*moments: datetime) -> set[str]:
    return {moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") for moment in moments}


async def test_two_messages_allowed_two_sent_then_none(
    client, sandbox_client, sandbox_state, deps
) -> None:
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    items = await allow(client, sandbox_client, bearer(owner), shop.tenant.store, times=2)
    assert items[0] == {
        "kind": "complaint.update",
        "template_id": TEMPLATE,
        "title": "投诉处理进度提醒",
        "remaining": 2,
    }
    assert [(i["kind"], i["remaining"]) for i in items[1:]] == [
        ("live.reminder", 0),
        ("display_reminder", 0),
        ("reorder_reminder", 0),
    ]
    assert sandbox_state.sent_messages == []  # filing is the store's own step

    before = deps.clock.now()
    assert (await step(client, brand, number, "acknowledge")).status_code == 200
    long_message = "已转经销商上门查看，预计明天下午到店更换新的净水器外壳"
    assigned = await step(client, brand, number, "assign", message=long_message)
    assert assigned.status_code == 200
    after = deps.clock.now()
    responded = await step(client, distributor, number, "respond", message="明天上门换新")
    assert responded.status_code == 200  # nothing left to send with: the step goes on

    openid = openid_for(SANDBOX_APPID, persona_of(shop.tenant.store))
    sent = sandbox_state.sent_messages
    assert [(m["touser"], m["template_id"], m["page"]) for m in sent] == [
        (openid, TEMPLATE, f"pages/complaint/index?id={number}")
    ] * 2
    assert "pages/complaint/index" in miniprogram_pages()  # the link opens a real page
    first, second = (message["data"] for message in sent)
    assert {key: first[key] for key in ("character_string1", "phrase2", "thing3")} == {
        "character_string1": str(number),
        "phrase2": "已受理",
        "thing3": "品牌已受理您的投诉",
    }
    assert first["time4"] in china_minutes(before, after)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", first["time4"])
    assert (second["phrase2"], second["thing3"]) == ("处理中", long_message[:19] + "…")
    assert len(second["thing3"]) == 20
    assert await remaining(client, bearer(owner)) == 0
    assert sandbox_state.subscribe_grants[(SANDBOX_APPID, openid, TEMPLATE)] == 0


async def test_the_store_is_not_told_of_its_own_steps(client, sandbox_client, sandbox_state):
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await walk(client, number, brand, distributor, until="respond")
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store, times=2)
    assert (await step(client, brand, number, "resolve", message="已换新")).status_code == 200
    assert [m["data"]["phrase2"] for m in sandbox_state.sent_messages] == ["待确认"]
    reopened = await step(client, bearer(owner), number, "reopen", message="还是漏水")
    assert reopened.status_code == 200
    assert len(sandbox_state.sent_messages) == 1
    assert await remaining(client, bearer(owner)) == 1  # kept for the next brand step


async def test_without_a_grant_nothing_is_sent_and_every_step_succeeds(
    client, sandbox_client, sandbox_state
) -> None:
    _, brand, distributor, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await walk(client, number, brand, distributor, until="confirm", owner=bearer(owner))
    assert sandbox_state.sent_messages == []
    assert await SubscribeGrant.all().count() == 0
    assert await remaining(client, bearer(owner)) == 0


async def test_an_owner_without_wechat_gets_nothing_and_keeps_the_grant(
    client, sandbox_client, sandbox_state
) -> None:
    shop, brand, _, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store)
    await WechatAccount.all().delete()
    assert (await step(client, brand, number, "acknowledge")).status_code == 200
    assert sandbox_state.sent_messages == []
    assert await remaining(client, bearer(owner)) == 1


async def test_wechat_refusing_the_user_counts_no_grants_left(
    client, sandbox_client, sandbox_state
) -> None:
    """We were told of three accepts but WeChat holds only one (the report came twice more,
    say): WeChat's 43101 is believed and the count drops to zero. The steps go on."""
    shop, brand, _, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store)
    for expected in (2, 3):
        response = await client.post(
            SUBSCRIPTIONS, json={"accepted": [TEMPLATE]}, headers=bearer(owner)
        )
        assert response.json()["items"][0]["remaining"] == expected
    assert await remaining(client, bearer(owner)) == 3

    assert (await step(client, brand, number, "acknowledge")).status_code == 200
    assert len(sandbox_state.sent_messages) == 1
    assert await remaining(client, bearer(owner)) == 2
    assigned = await step(client, brand, number, "assign")
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    assert len(sandbox_state.sent_messages) == 1
    assert await remaining(client, bearer(owner)) == 0


async def test_when_wechat_fails_otherwise_the_grant_is_given_back(
    client, sandbox_client, sandbox_state, deps
) -> None:
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store)

    working = deps.wechat
    deps.wechat = MiniProgramClient(
        dataclasses.replace(working.settings, api_base_url="http://127.0.0.1:9")
    )
    try:
        acknowledged = await step(client, brand, number, "acknowledge")
    finally:
        deps.wechat = working
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"
    assert await remaining(client, bearer(owner)) == 1  # not used: WeChat never got it

    # A template WeChat does not know (40037, say it was removed from the account).
    fields = sandbox_state.subscribe_templates.pop(TEMPLATE)
    try:
        assert (await step(client, brand, number, "assign")).status_code == 200
    finally:
        sandbox_state.subscribe_templates[TEMPLATE] = fields
    assert await remaining(client, bearer(owner)) == 1
    assert sandbox_state.sent_messages == []

    assert (await step(client, distributor, number, "respond")).status_code == 200
    assert [m["data"]["phrase2"] for m in sandbox_state.sent_messages] == ["已答复"]
    assert await remaining(client, bearer(owner)) == 0


async def test_concurrent_steps_send_no_more_than_allowed(
    client, sandbox_client, sandbox_state
) -> None:
    """Twenty steps at once with three messages allowed: exactly three go out. WeChat would
    take more (it holds twenty grants), so only our own count stops the rest."""
    shop, brand, _, owner = await parties(client, sandbox_client)
    numbers = [(await filed(client, owner, text=f"问题{i}"))["id"] for i in range(20)]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store, times=3)
    openid = openid_for(SANDBOX_APPID, persona_of(shop.tenant.store))
    sandbox_state.subscribe_grants[(SANDBOX_APPID, openid, TEMPLATE)] = 20

    responses = await asyncio.gather(
        *(step(client, brand, number, "acknowledge") for number in numbers)
    )
    assert [r.status_code for r in responses] == [200] * 20
    sent = sandbox_state.sent_messages
    assert len(sent) == 3
    assert {m["data"]["character_string1"] for m in sent} <= {str(n) for n in numbers}
    assert await remaining(client, bearer(owner)) == 0
    assert sandbox_state.subscribe_grants[(SANDBOX_APPID, openid, TEMPLATE)] == 17


async def test_concurrent_sends_take_one_grant_each(client, sandbox_client, deps) -> None:
    from backend.notifications import service as notifications_service

    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store, times=3)
    data = {"character_string1": "1", "phrase2": "已受理", "thing3": "测试", "time4": "12:00"}
    args = {
        "user_id": owner["identity"]["user_id"],
        "kind": notifications_service.COMPLAINT_UPDATE,
        "data": data,
        "page": "pages/complaint/index?id=1",
    }
    sent = await asyncio.gather(
        *(notifications_service.send_subscribe_job(deps, job, args) for job in range(1, 21))
    )
    assert sent.count(True) == 3 and sent.count(False) == 17
    assert await remaining(client, bearer(owner)) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "notification.no_subscription_result"),
        ({"accepted": [], "rejected": []}, "notification.no_subscription_result"),
        ({"accepted": ["unknownTemplate"]}, "notification.unknown_template"),
        (
            {"accepted": [TEMPLATE], "rejected": ["unknownTemplate"]},
            "notification.unknown_template",
        ),
        ({"accepted": [TEMPLATE, TEMPLATE]}, "notification.duplicate_template"),
        ({"accepted": [TEMPLATE], "rejected": [TEMPLATE]}, "notification.duplicate_template"),
        ({"accepted": [TEMPLATE] * 1000}, "request.invalid"),
        ({"accepted": [f"t{i}" for i in range(4)]}, "request.invalid"),
        ({"accepted": ["x" * 65]}, "request.invalid"),
        ({"accepted": [""]}, "request.invalid"),
        ({"accepted": [42]}, "request.invalid"),
        ({"accepted": TEMPLATE}, "request.invalid"),
        ({"accepted": [TEMPLATE], "openid": "o123"}, "request.invalid"),
        ([TEMPLATE], "request.invalid"),
    ],
)
async def test_bad_reports_are_refused_with_nothing_recorded(
    client, sandbox_client, body, code
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    response = await client.post(SUBSCRIPTIONS, json=body, headers=bearer(owner))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert re.search(r"[\u4e00-\u9fff]", error["message"])  # said in Chinese
    assert await SubscribeGrant.all().count() == 0


async def test_reports_need_a_body_and_a_sign_in(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    empty = await client.post(SUBSCRIPTIONS, headers=bearer(owner))
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "request.empty_body")
    anonymous = await client.post(SUBSCRIPTIONS, json={"accepted": [TEMPLATE]})
    assert anonymous.status_code == 401
    assert (await client.get(SUBSCRIPTIONS)).status_code == 401
    rejected_only = await client.post(
        SUBSCRIPTIONS, json={"rejected": [TEMPLATE]}, headers=bearer(owner)
    )
    assert rejected_only.status_code == 200 and rejected_only.json()["items"][0]["remaining"] == 0
    assert await SubscribeGrant.all().count() == 0


async def test_other_tenants_cannot_touch_anyone_elses_grants(
    client, sandbox_client, sandbox_state
) -> None:
    shop, brand, _, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store)

    other = await make_shop(await make_tenant())
    other_brand = await admin(client, other)
    other_owner = await store_owner(client, sandbox_client, other.tenant.store)
    other_number = (await filed(client, other_owner))["id"]
    # The other brand's staff and store report grants: they count for themselves only.
    for headers in (other_brand, bearer(other_owner)):
        reported = await client.post(SUBSCRIPTIONS, json={"accepted": [TEMPLATE]}, headers=headers)
        assert reported.json()["items"][0]["remaining"] == 1
    assert await remaining(client, bearer(owner)) == 1

    # The other brand cannot step on our complaint, and its own steps spend no grant of ours.
    assert (await step(client, other_brand, number, "acknowledge")).status_code == 404
    assert (await step(client, other_brand, other_number, "acknowledge")).status_code == 200
    assert sandbox_state.sent_messages == []  # the other owner allowed no message in WeChat
    assert await remaining(client, bearer(owner)) == 1
    assert await remaining(client, bearer(other_owner)) == 0  # WeChat's 43101 zeroed theirs
    assert (await step(client, brand, number, "acknowledge")).status_code == 200
    openid = openid_for(SANDBOX_APPID, persona_of(shop.tenant.store))
    assert [m["touser"] for m in sandbox_state.sent_messages] == [openid]
    assert await remaining(client, bearer(owner)) == 0


async def test_the_sandbox_checks_what_wechat_checks(
    deps, client, sandbox_client, sandbox_state
) -> None:
    shop = await make_shop()
    await store_owner(client, sandbox_client, shop.tenant.store)
    openid = openid_for(SANDBOX_APPID, persona_of(shop.tenant.store))
    sandbox_state.subscribe_grants[(SANDBOX_APPID, openid, TEMPLATE)] = 1
    good = {
        "character_string1": "42",
        "phrase2": "已受理",
        "thing3": "说明",
        "time4": "2026-11-22 10:00",
    }
    page = "pages/complaint/index?id=42"

    async def refused(openid: str, template: str, data: dict[str, str]) -> int | None:
        with pytest.raises(WechatApiError) as refusal:
            await deps.wechat.send_subscribe_message(openid, template, data, page)
        return refusal.value.errcode

    never_issued = openid_for(SANDBOX_APPID, "nobody-logged-in")
    assert await refused(never_issued, TEMPLATE, good) == 40003
    assert await refused(openid, "noSuchTemplate", good) == 40037
    for bad in (
        {k: v for k, v in good.items() if k != "thing3"},  # a keyword missing
        {**good, "thing5": "多余"},  # one the template has not
        {**good, "thing3": "超" * 21},  # thing: at most 20 characters
        {**good, "phrase2": "已经受理完成了"},  # phrase: at most 5 Chinese characters
        {**good, "phrase2": "OK"},
        {**good, "time4": "昨天"},
        {**good, "character_string1": "编号42"},
        {**good, "thing3": ""},
    ):
        assert await refused(openid, TEMPLATE, bad) == 47003
    assert sandbox_state.subscribe_grants[(SANDBOX_APPID, openid, TEMPLATE)] == 1  # unspent

    await deps.wechat.send_subscribe_message(openid, TEMPLATE, good, page)
    assert await refused(openid, TEMPLATE, good) == 43101  # one accept, one message
    assert [m["data"] for m in sandbox_state.sent_messages] == [good]

    stale = await sandbox_client.post(
        "/cgi-bin/message/subscribe/send",
        params={"access_token": "not-a-token"},
        json={"touser": openid, "template_id": TEMPLATE, "data": {}},
    )
    assert stale.json()["errcode"] == 40001
    unknown = await sandbox_client.post(
        "/sandbox/subscribe-grant",
        json={"appid": SANDBOX_APPID, "openid": openid, "template_ids": ["noSuchTemplate"]},
    )
    assert unknown.status_code == 400
