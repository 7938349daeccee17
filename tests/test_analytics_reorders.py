"""Repurchase cycles and reminders (backend/analytics/reorders.py): intervals learnt from real
paid orders, one reminder per cycle, the salesperson's tasks and feed, the console's list."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import date, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from backend.analytics import partitions, reorders
from backend.analytics.models import (
    AnalyticsSettings,
    BehaviourEvent,
    ReorderCycle,
    SalesTask,
)
from backend.analytics.scope import china_day
from backend.identity.models import Role
from backend.infra import jobs
from backend.infra.models import JobRecord
from backend.integrations.wechat.sandbox import REORDER_REMINDER_TEMPLATE_ID
from backend.notifications import service as notifications_service
from backend.org.models import Salesperson, Store
from backend.worker import TASKS
from tests.factories import (
    SANDBOX_APPID,
    Shop,
    bearer,
    distributor_admin,
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

TASKS_URL = "/api/v1/sales-tasks"
FEED_URL = "/api/v1/sales-feed"
REORDERS_URL = "/api/v1/analytics/reorders"
WATER = "澜泉 RO 净水器 RO-500"
FILTERS = "澜泉 RO 净水器 滤芯"
SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


class Buyer:
    """A store that places and pays real orders on chosen days (the clock moved back)."""

    def __init__(self, client: httpx.AsyncClient, deps: Any, shop: Shop, owner: Any) -> None:
        self.client, self.deps, self.shop, self.owner = client, deps, shop, owner
        self.payer: str | None = None  # the distributor admin who records the payments

    async def order(self, days_ago: int, sku_id: int, quantity: int, *, pay: bool = True) -> int:
        self.deps.clock.offset = -timedelta(days=days_ago)
        try:
            body = {"lines": [{"sku_id": sku_id, "quantity": quantity}]}
            placed = await self.client.post(
                "/api/v1/orders", json=body, headers=idempotent(self.owner)
            )
            assert placed.status_code == 201, placed.text
            order_id = int(placed.json()["id"])
            if pay:
                tenant = self.shop.tenant
                self.payer = self.payer or await make_staff(
                    tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id
                )
                paid = await self.client.post(
                    f"/api/v1/orders/{order_id}/offline-payment",
                    json={"note": "现金"},
                    # signed in on the day, so the token is valid then
                    headers=await staff_headers(self.client, self.payer),
                )
                assert paid.status_code == 201, paid.text
            return order_id
        finally:
            self.deps.clock.offset = timedelta()

    async def water(self, *days_ago: int) -> None:
        for days in days_ago:
            await self.order(days, self.shop.water, 1)


async def buyer_of(client, sandbox_client, deps, shop: Shop, store: Store | None = None) -> Buyer:
    owner = await store_owner(client, sandbox_client, store or shop.tenant.store)
    return Buyer(client, deps, shop, owner)


def today(deps: Any) -> date:
    return china_day(deps.clock.now())


async def cycles() -> dict[tuple[int, int], tuple[Any, ...]]:
    rows = await ReorderCycle.all().values_list(
        "store_id", "sku_id", "orders", "interval_days", "source", "last_day", "due_day"
    )
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


async def salesperson_session(client, sandbox_client, phone: str, persona: str) -> dict[str, Any]:
    first = await wechat_login(client, sandbox_client, persona)
    code = await phone_code(sandbox_client, phone)
    bound = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(first)
    )
    assert bound.status_code == 200, bound.text
    tokens = await wechat_login(client, sandbox_client, persona)
    assert tokens["identity"]["role"] == "salesperson"
    return tokens


async def grant_reminders(client, sandbox_client, owner: Any, store: Store) -> None:
    """The owner accepts the reorder reminder in the mini-program (WeChat, then us)."""
    granted = await sandbox_client.post(
        "/sandbox/subscribe-grant",
        json={
            "appid": SANDBOX_APPID,
            "persona": f"owner-of-{store.id}",
            "template_ids": [REORDER_REMINDER_TEMPLATE_ID],
        },
    )
    assert granted.status_code == 200, granted.text
    reported = await client.post(
        "/api/v1/notifications/subscriptions",
        json={"accepted": [REORDER_REMINDER_TEMPLATE_ID]},
        headers=bearer(owner),
    )
    assert reported.status_code == 200, reported.text
    listed = {t["kind"]: t for t in reported.json()["items"]}
    assert listed["reorder_reminder"] == {
        "kind": "reorder_reminder",
        "template_id": REORDER_REMINDER_TEMPLATE_ID,
        "title": "补货提醒",
        "remaining": 1,
    }


# ---- the pure part ----------------------------------------------------------------------------


def test_median_gap_rounds_an_even_middle_half_up() -> None:
    assert reorders.median_days([30]) == 30
    assert reorders.median_days([50, 20, 30]) == 30
    assert reorders.median_days([25, 40]) == 33  # 32.5
    assert reorders.median_days([20, 30, 40, 50]) == 35


def test_the_task_reads_as_the_salesperson_says_it() -> None:
    assert (
        reorders.task_text("张记店", "滤芯", 30, 34)
        == "张记店 通常每 30 天订一次 滤芯，上次下单已 34 天"
    )


# ---- cycles from real orders ------------------------------------------------------------------


async def test_intervals_come_from_the_stores_own_history_or_the_category(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    regular = await buyer_of(client, sandbox_client, deps, shop)
    await regular.water(130, 110, 80, 30)  # gaps 20, 30, 50: median 30
    for days in (105, 80, 40):  # gaps 25, 40: median 32.5, half up
        await regular.order(days, shop.filters, 10)
    await regular.order(5, shop.water, 1, pay=False)  # unpaid: not a purchase
    newcomer_store = await make_store(tenant)
    newcomer = await buyer_of(client, sandbox_client, deps, shop, newcomer_store)
    await newcomer.water(10)
    other_brand = await make_shop()  # its orders teach this brand nothing
    await (await buyer_of(client, sandbox_client, deps, other_brand)).water(3, 2, 1)

    assert await reorders.reorders_job(deps) == 1  # the filters, due a week ago
    day = today(deps)
    store, new = tenant.store.id, newcomer_store.id
    # The category pools every gap of the brand: 20, 25, 30, 40, 50 → 30.
    assert {k: v for k, v in (await cycles()).items() if k[0] in (store, new)} == {
        (store, shop.water): (4, 30, "store", day - timedelta(30), day),
        (store, shop.filters): (3, 33, "store", day - timedelta(40), day - timedelta(7)),
        (new, shop.water): (1, 30, "category", day - timedelta(10), day + timedelta(20)),
    }
    other = other_brand.tenant.store.id
    assert (await cycles())[(other, other_brand.water)] == (3, 1, "store", day - timedelta(1), day)


# ---- reminders ------------------------------------------------------------------------------


async def due_shop(client, sandbox_client, deps) -> tuple[Shop, Buyer]:
    """A store that buys the purifier every 30 days and last bought it 34 days ago."""
    shop = await make_shop()
    buyer = await buyer_of(client, sandbox_client, deps, shop)
    await buyer.water(94, 64, 34)
    return shop, buyer


async def test_a_due_store_is_reminded_once_even_by_concurrent_runs(
    client, sandbox_client, deps, sandbox_state
) -> None:
    shop, buyer = await due_shop(client, sandbox_client, deps)
    store = shop.tenant.store
    await grant_reminders(client, sandbox_client, buyer.owner, store)

    counts = await asyncio.gather(*(reorders.reorders_job(deps) for _ in range(3)))
    assert sorted(counts) == [0, 0, 1]
    assert await reorders.reorders_job(deps) == 0  # and again the next day, nothing new

    day = today(deps)
    [task] = await SalesTask.all()
    assert task.salesperson_id == shop.tenant.salesperson.id  # type: ignore[attr-defined]
    assert task.text == f"{store.name} 通常每 30 天订一次 {WATER}，上次下单已 34 天"
    assert (task.due_day, task.status, task.sku_id) == (day - timedelta(4), "open", shop.water)
    cycle = await ReorderCycle.get(store_id=store.id, sku_id=shop.water)
    assert cycle.reminded_due == day - timedelta(4)

    [job] = await JobRecord.all()
    assert job.task == notifications_service.SUBSCRIBE_TASK
    assert job.brand_id == shop.tenant.brand.id
    assert job.context == f"补货提醒 · 门店「{store.name}」· {WATER}"
    assert sandbox_state.sent_messages == []  # sent by a worker after commit
    assert await jobs.run_pending(deps, TASKS) == 1
    [message] = sandbox_state.sent_messages
    assert message["template_id"] == REORDER_REMINDER_TEMPLATE_ID
    assert message["data"] == {
        "thing1": WATER[:20],
        "time2": (day - timedelta(34)).isoformat(),
        "thing3": "您通常每30天订一次，该补货了",
    }
    assert message["page"] == "pages/catalog/index"


def test_a_cycle_is_reminded_within_one_more_interval() -> None:
    day = date(2026, 6, 30)
    assert reorders.remindable(day - timedelta(30), 30, day)
    assert not reorders.remindable(day - timedelta(31), 30, day)
    assert reorders.remindable(day - timedelta(7), 3, day)  # a week at least
    assert not reorders.remindable(day - timedelta(8), 3, day)


async def test_a_store_a_whole_cycle_overdue_gets_no_task(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    buyer = await buyer_of(client, sandbox_client, deps, shop)
    await buyer.water(124, 94, 64)  # every 30 days, due 34 days ago: a whole cycle missed

    assert await reorders.reorders_job(deps) == 0
    assert await SalesTask.all().count() == 0
    cycle = await ReorderCycle.get(store_id=shop.tenant.store.id, sku_id=shop.water)
    assert (cycle.due_day, cycle.reminded_due) == (today(deps) - timedelta(34), None)


async def test_an_owner_who_allowed_no_message_gets_none_but_the_task_is_made(
    client, sandbox_client, deps
) -> None:
    await due_shop(client, sandbox_client, deps)
    assert await reorders.reorders_job(deps) == 1
    assert await SalesTask.all().count() == 1
    assert await JobRecord.all().count() == 0


async def test_nothing_is_reminded_while_reminders_are_off(client, sandbox_client, deps) -> None:
    shop, buyer = await due_shop(client, sandbox_client, deps)
    await grant_reminders(client, sandbox_client, buyer.owner, shop.tenant.store)
    await AnalyticsSettings.create(
        brand_id=shop.tenant.brand.id, reminders_enabled=False, updated_at=deps.clock.now()
    )
    assert await reorders.reorders_job(deps) == 0
    assert await SalesTask.all().count() == 0
    assert await JobRecord.all().count() == 0
    cycle = await ReorderCycle.get(store_id=shop.tenant.store.id, sku_id=shop.water)
    assert (cycle.interval_days, cycle.reminded_due) == (30, None)  # still learnt, not claimed


async def test_a_store_that_reorders_closes_its_task_and_starts_a_new_cycle(
    client, sandbox_client, deps
) -> None:
    shop, buyer = await due_shop(client, sandbox_client, deps)
    assert await reorders.reorders_job(deps) == 1
    await buyer.water(0)
    assert await reorders.reorders_job(deps) == 0
    [task] = await SalesTask.all()
    assert task.status == "done" and task.closed_at is not None
    cycle = await ReorderCycle.get(store_id=shop.tenant.store.id, sku_id=shop.water)
    assert (cycle.orders, cycle.interval_days, cycle.last_day) == (4, 30, today(deps))

    deps.clock.advance(days=31)  # past the new cycle's due day without an order
    assert await reorders.reorders_job(deps) == 1
    assert await SalesTask.filter(status="open").count() == 1


# ---- the salesperson's tasks ----------------------------------------------------------------


async def two_salespeople(client, sandbox_client, deps) -> tuple[Shop, Salesperson, Any, Any]:
    """The shop's store (salesperson 王磊) and another (李娜) both due; their sessions."""
    shop, _ = await due_shop(client, sandbox_client, deps)
    tenant = shop.tenant
    li = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李娜", phone="13912345678"
    )
    store = await make_store(tenant, salesperson=li)
    await (await buyer_of(client, sandbox_client, deps, shop, store)).water(70, 50, 30)
    assert await reorders.reorders_job(deps) == 2
    wang_session = await salesperson_session(client, sandbox_client, tenant.salesperson.phone, "w")
    li_session = await salesperson_session(client, sandbox_client, li.phone, "li")
    return shop, li, wang_session, li_session


async def test_a_salesperson_sees_only_their_own_tasks(client, sandbox_client, deps) -> None:
    shop, _, wang, li_session = await two_salespeople(client, sandbox_client, deps)
    listed = await client.get(TASKS_URL, headers=bearer(wang))
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    store = shop.tenant.store
    assert item["store"] == {"id": store.id, "name": store.name}
    assert item["sku"] == {"id": shop.water, "name": WATER}
    assert item["text"] == f"{store.name} 通常每 30 天订一次 {WATER}，上次下单已 34 天"
    assert (item["status"], item["closed_at"]) == ("open", None)
    assert listed.json()["next_after"] is None

    [theirs] = (await client.get(TASKS_URL, headers=bearer(li_session))).json()["items"]
    assert theirs["id"] != item["id"]
    # Another salesperson's task answers as one that does not exist, and stays open.
    refused = await client.post(f"{TASKS_URL}/{theirs['id']}/done", headers=bearer(wang))
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        404,
        "analytics.task_not_found",
    )
    assert (await SalesTask.get(id=theirs["id"])).status == "open"

    owner = await store_owner(client, sandbox_client, store)
    assert (await client.get(TASKS_URL, headers=bearer(owner))).status_code == 403
    admin = await staff_headers(client, shop.tenant.admin_username)
    assert (await client.get(TASKS_URL, headers=admin)).status_code == 403
    bad = await client.get(f"{TASKS_URL}?status=gone", headers=bearer(wang))
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "analytics.invalid_query")


async def test_closing_a_task_twice_is_a_conflict_that_changes_nothing(
    client, sandbox_client, deps
) -> None:
    shop, _ = await due_shop(client, sandbox_client, deps)
    assert await reorders.reorders_job(deps) == 1
    wang = await salesperson_session(client, sandbox_client, shop.tenant.salesperson.phone, "wang")
    [task] = await SalesTask.all()
    done = await client.post(f"{TASKS_URL}/{task.id}/done", headers=bearer(wang))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["closed_at"]
    closed = await SalesTask.get(id=task.id)

    for action in ("done", "dismiss"):
        again = await client.post(f"{TASKS_URL}/{task.id}/{action}", headers=bearer(wang))
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "analytics.task_closed"
    after = await SalesTask.get(id=task.id)
    assert (after.status, after.closed_at) == ("done", closed.closed_at)
    assert (await client.get(TASKS_URL, headers=bearer(wang))).json()["items"] == []
    listed = await client.get(f"{TASKS_URL}?status=done", headers=bearer(wang))
    assert [t["id"] for t in listed.json()["items"]] == [task.id]

    missing = await client.post(f"{TASKS_URL}/999999/dismiss", headers=bearer(wang))
    assert missing.status_code == 404


async def test_two_taps_at_once_close_a_task_once(client, sandbox_client, deps) -> None:
    shop, _ = await due_shop(client, sandbox_client, deps)
    assert await reorders.reorders_job(deps) == 1
    wang = await salesperson_session(client, sandbox_client, shop.tenant.salesperson.phone, "wang")
    [task] = await SalesTask.all()
    answers = await asyncio.gather(
        *(
            client.post(f"{TASKS_URL}/{task.id}/{action}", headers=bearer(wang))
            for action in ("done", "dismiss", "done", "dismiss")
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    [winner] = [a for a in answers if a.status_code == 200]
    assert (await SalesTask.get(id=task.id)).status == winner.json()["status"]


# ---- the salesperson's feed -----------------------------------------------------------------


async def test_the_feed_shows_the_salespersons_stores_views_carts_and_orders(
    client, sandbox_client, deps
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    buyer = await buyer_of(client, sandbox_client, deps, shop)
    order_id = await buyer.order(1, shop.water, 1, pay=False)
    await buyer.order(20, shop.water, 1)  # older than the feed's week
    cart = await client.put(
        f"/api/v1/cart/items/{shop.filters}", json={"quantity": 20}, headers=bearer(buyer.owner)
    )
    assert cart.status_code == 200, cart.text
    now = deps.clock.now()
    product_id = await shop_product_id(shop)
    await partitions.ensure_months([china_day(now - timedelta(hours=h)) for h in range(5)])
    for n in range(3):
        await BehaviourEvent.create(
            brand_id=tenant.brand.id,
            store_id=tenant.store.id,
            user_id=buyer.owner["identity"]["user_id"],
            kind="product_view",
            product_id=product_id,
            client_id=f"view-{n}",
            occurred_at=now - timedelta(hours=n + 2),
            day=china_day(now - timedelta(hours=n + 2)),
            received_at=now,
        )
    elsewhere = await make_store(tenant, salesperson=None)  # not this salesperson's
    await BehaviourEvent.create(
        brand_id=tenant.brand.id,
        store_id=elsewhere.id,
        user_id=1,
        kind="product_view",
        product_id=product_id,
        client_id="elsewhere",
        occurred_at=now,
        day=china_day(now),
        received_at=now,
    )

    wang = await salesperson_session(client, sandbox_client, tenant.salesperson.phone, "wang")
    answer = await client.get(FEED_URL, headers=bearer(wang))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    store = {"id": tenant.store.id, "name": tenant.store.name}
    assert body["days"] == 7
    assert [(i["kind"], i["store"], i["text"]) for i in body["items"]] == [
        ("cart", store, f"购物车有 1 种商品未下单：{FILTERS} ×20"),
        ("view", store, "浏览了 澜泉 RO 净水器 3 次"),
        ("order", store, f"下单 {await order_no(order_id)}（待付款）"),
    ]
    assert body["items"][2]["order_id"] == order_id
    assert body["items"][2]["amount_fen"] == 199_900

    bad = await client.get(f"{FEED_URL}?days=31", headers=bearer(wang))
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "analytics.invalid_query")


async def shop_product_id(shop: Shop) -> int:
    from backend.catalog.models import Sku

    sku = await Sku.get(id=shop.water)
    return int(sku.product_id)  # type: ignore[attr-defined]


async def order_no(order_id: int) -> str:
    from backend.ordering.models import Order

    return (await Order.get(id=order_id)).order_no


# ---- the console's list -----------------------------------------------------------------------


def xlsx_rows(response: httpx.Response) -> list[list[str]]:
    """The sheet's cells as text (strings inline or shared, numbers as stored)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].endswith("spreadsheetml.sheet")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        strings = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{SHEET}t")) for si in strings]
    sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{SHEET}row"):
        cells = []
        for cell in row.iter(f"{SHEET}c"):
            if cell.get("t") == "s":
                cells.append(shared[int(cell.findtext(f"{SHEET}v") or "")])
            elif cell.get("t") == "inlineStr":
                cells.append("".join(t.text or "" for t in cell.iter(f"{SHEET}t")))
            else:
                cells.append(cell.findtext(f"{SHEET}v") or "")
        rows.append(cells)
    return rows


async def test_the_console_lists_due_stores_in_the_callers_scope(
    client, sandbox_client, deps
) -> None:
    shop, _ = await due_shop(client, sandbox_client, deps)
    tenant = shop.tenant
    assert await reorders.reorders_job(deps) == 1
    admin = await staff_headers(client, tenant.admin_username)
    day = today(deps)

    answer = await client.get(REORDERS_URL, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "due",
        "today": day.isoformat(),
        "total": 1,
        "rows": [
            {
                "store": {"id": tenant.store.id, "name": tenant.store.name},
                "distributor": {"id": tenant.distributor.id, "name": tenant.distributor.name},
                "sku": {"id": shop.water, "name": WATER},
                "orders": 3,
                "interval_days": 30,
                "source": "store",
                "last_day": (day - timedelta(34)).isoformat(),
                "due_day": (day - timedelta(4)).isoformat(),
                "days_since_last": 34,
                "days_overdue": 4,
                "task_status": "open",
            }
        ],
    }
    soon = await client.get(f"{REORDERS_URL}?status=soon", headers=admin)
    assert soon.json()["total"] == 0 and soon.json()["rows"] == []

    # Distributor staff see their own stores only, whatever they ask for.
    ours = await distributor_admin(client, shop)
    assert (await client.get(REORDERS_URL, headers=ours)).json()["total"] == 1
    other = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id),
    )
    assert (await client.get(REORDERS_URL, headers=other)).json()["total"] == 0
    chosen = await client.get(
        f"{REORDERS_URL}?distributor_id={tenant.other_distributor.id}", headers=admin
    )
    assert chosen.json()["total"] == 0
    # A store that moves to another distributor goes with its cycles, at once.
    ours_rows = (await client.get(REORDERS_URL, headers=ours)).json()["rows"]
    moved = ours_rows[0]["store"]["id"]
    await Store.filter(id=moved).update(distributor_id=tenant.other_distributor.id)
    assert (await client.get(REORDERS_URL, headers=ours)).json()["total"] == 0
    theirs = (await client.get(REORDERS_URL, headers=other)).json()
    assert (theirs["total"], [r["store"]["id"] for r in theirs["rows"]]) == (1, [moved])
    await Store.filter(id=moved).update(distributor_id=tenant.distributor.id)
    stranger = await make_tenant()
    foreign = await client.get(
        f"{REORDERS_URL}?distributor_id={stranger.distributor.id}", headers=admin
    )
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (
        404,
        "analytics.distributor_not_found",
    )
    bad = await client.get(f"{REORDERS_URL}?status=late", headers=admin)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "analytics.invalid_query")

    sheet = await client.get(f"{REORDERS_URL}.xlsx", headers=admin)
    assert sheet.headers["content-disposition"] == (
        f'attachment; filename="reorders-due-{day:%Y%m%d}.xlsx"'
    )
    assert xlsx_rows(sheet) == [
        [
            "门店",
            "经销商",
            "商品",
            "一年内购买次数",
            "补货周期（天）",
            "周期依据",
            "上次下单",
            "应补货日",
            "距上次下单（天）",
            "逾期（天）",
            "业务员任务",
        ],
        [
            tenant.store.name,
            tenant.distributor.name,
            WATER,
            "3",
            "30",
            "门店历史",
            (day - timedelta(34)).isoformat(),
            (day - timedelta(4)).isoformat(),
            "34",
            "4",
            "待处理",
        ],
    ]


@pytest.mark.parametrize("path", [REORDERS_URL, f"{REORDERS_URL}.xlsx"])
async def test_only_staff_read_the_due_list(client, sandbox_client, path) -> None:
    tenant = await make_tenant()
    owner = await store_owner(client, sandbox_client, tenant.store)
    refused = await client.get(path, headers=bearer(owner))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "auth.role_required")
    assert (await client.get(path)).status_code == 401
