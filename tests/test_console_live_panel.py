"""The host's live control panel (直播控制台) in a real browser: a distributor opens its
session's panel, starts it, puts a product on screen, gives the stream's address (a bad one
refused in Chinese), watches a store's order move the counters and the stock without a
reload (a stale push arriving late is dropped), opens a coupon drop, starts a red-packet
rain, runs the draws, ends the session and reads the report and its CSV. And what a new host
found wrong: the coupon and the product are named, an ended session shows nobody online and
nothing on screen, and a draw's state reads the same in the draws table and the data panel.
Another distributor's session is not reachable by URL. Screenshots: live-panel-*."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Locator, Page, expect

from backend.identity.models import Role
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import make_shop, make_staff, make_store, staff_headers, store_owner
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_sessions import API as LIVE
from tests.test_live_sessions import scheduled, session_body

pytestmark = needs_browser
PRODUCT = "澜泉 RO 净水器"  # tests.factories.make_shop: RO-500 and 滤芯 are its SKUs
COUPON = "直播专享满3000减200"  # tests.test_live_coupon_drops.coupon_template
DRAWS = [
    {"title": "幸运大奖", "prizes": [{"name": "净水器", "count": 1}], "eligibility": "invited"},
    {"title": "在线抽奖", "prizes": [{"name": "滤芯", "count": 1}], "eligibility": "present"},
]


def counter(page: Page, name: str) -> Locator:
    """The figure of one of the panel's counters (viewers, likes, orders, gmv)."""
    return page.get_by_test_id(name).locator(".el-statistic__content")


async def confirm(page: Page, button: str) -> None:
    """Answers the panel's confirmation dialog with its `button`."""
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name=button).click()
    await expect(dialog).to_be_hidden()


async def settled_shot(page: Page, name: str) -> None:
    """A screenshot once the action toasts (ElMessage) have gone, as a host would look."""
    await expect(page.locator(".el-message")).to_have_count(0)
    await shot(page, name)


async def test_a_distributor_hosts_a_session_from_the_panel(
    browser,  # noqa: F811
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    shop = await make_shop()
    dealer = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )
    host = await staff_headers(client, dealer)
    template_id = await coupon_template(shop.tenant, deps.clock.now(), total_quantity=None)
    body = session_body(
        shop,
        deps,
        rains=[{"total_fen": 2_000, "count": 5, "duration_seconds": 60}],
        coupon_drops=[{"template_id": template_id, "quantity": 5}],
        draws=DRAWS,
    )
    session = await scheduled(client, host, body)
    session_url = f"{LIVE}/{session['id']}"
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    water = session["products"][0]["id"]
    lucky, present = (draw["id"] for draw in session["draws"])

    context, page = await signed_in(browser, platform_url, dealer, f"/live/{session['id']}")
    await expect(page.get_by_test_id("session-status")).to_have_text("未开始")
    # The coupon and the product by their names, not "#1" and the bare SKU.
    await expect(page.get_by_test_id("coupon-name")).to_have_text(COUPON)
    products = page.locator(".el-table").first
    await expect(products.get_by_text(PRODUCT).first).to_be_visible()
    await expect(products.get_by_text("RO-500", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="推送讲解").first).to_be_disabled()
    await shot(page, "live-panel-1-before-start")

    await page.get_by_role("button", name="开始直播").click()
    await expect(page.get_by_test_id("session-status")).to_have_text("直播中")
    await page.get_by_role("button", name="推送讲解").first.click()
    await expect(page.get_by_role("status")).to_contain_text(f"已推送 {PRODUCT} RO-500")
    await expect(page.get_by_test_id("on-screen")).to_contain_text(f"正在讲解：{PRODUCT} RO-500")

    # The host gives the stream's pull address; a bad one is refused in Chinese.
    stream = page.get_by_label("直播流地址")
    await stream.fill("ftp://example.com/live")
    await page.get_by_role("button", name="保存").click()
    await expect(
        page.get_by_text("直播流地址须为 https:// 或 rtmp:// 开头的完整地址")
    ).to_be_visible()
    assert (await client.get(session_url, headers=host)).json()["stream_url"] is None
    await stream.fill("https://live.example.com/app/stream.flv")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("status")).to_contain_text("直播流地址已保存")
    detail = await client.get(session_url, headers=host)
    assert detail.json()["stream_url"] == "https://live.example.com/app/stream.flv"

    # A store orders in the room: the counters and the stock move without a reload.
    placed = await client.post(
        f"{session_url}/orders",
        json={"product_id": water, "quantity": 1},
        headers={"Authorization": f"Bearer {owner['access_token']}", "Idempotency-Key": "panel-1"},
    )
    assert placed.status_code == 201, placed.text
    await expect(counter(page, "orders")).to_have_text("1")
    await expect(counter(page, "gmv")).to_have_text("¥1,599.00")
    await expect(page.get_by_test_id(f"left-{water}")).to_have_text("29")
    await expect(page.get_by_test_id("on-screen")).to_contain_text("剩余 29")
    # A push that left before the order's (an older version) arriving late is dropped. The
    # likes pushed after it arrive after it (one connection keeps the order), so once they
    # show, the stale one has been read.
    room = [f"live:{session['id']}"]
    stale = {"orders": 0, "gmv_fen": 0, "product_id": water, "left": 30, "version": 0}
    await deps.broadcast.emit("ticker", stale, rooms=room, namespace="/live")
    await deps.broadcast.emit("likes", {"total": 7}, rooms=room, namespace="/live")
    await expect(counter(page, "likes")).to_have_text("7")
    await expect(counter(page, "orders")).to_have_text("1")
    await expect(page.get_by_test_id(f"left-{water}")).to_have_text("29")
    await expect(page.get_by_test_id("on-screen")).to_contain_text("剩余 29")

    await page.get_by_role("button", name="开始发券").click()
    await expect(page.get_by_role("status")).to_contain_text(f"已开始发券：{COUPON}")
    await expect(page.get_by_role("button", name="结束发券")).to_be_visible()
    await page.get_by_role("button", name="开始红包雨").click()
    await confirm(page, "开始红包雨")
    await expect(page.get_by_role("status")).to_contain_text("红包雨开始了")

    # The draws: the table and the data panel tell one state, whatever the winners.
    for draw_id in (lucky, present):
        await page.get_by_role("button", name="公布抽奖").first.click()
        await expect(page.get_by_test_id(f"draw-status-{draw_id}")).to_have_text("已公布，待开奖")
        await expect(page.get_by_test_id(f"draw-outcome-{draw_id}")).to_have_text("已公布，待开奖")
    for draw_id in (lucky, present):
        await page.get_by_role("button", name="开奖", exact=True).first.click()
        await confirm(page, "开奖")
        await expect(page.get_by_test_id(f"draw-status-{draw_id}")).to_have_text("已开奖")
    await expect(page.get_by_test_id(f"draw-outcome-{lucky}")).to_have_text(
        f"{shop.tenant.store.name}（净水器）"
    )
    await expect(page.get_by_test_id(f"draw-outcome-{present}")).to_have_text("已开奖，无中奖门店")
    await expect(page.get_by_text("未开奖")).to_have_count(0)
    figures = (await client.get(f"{session_url}/report", headers=host)).json()
    assert [d["status"] for d in figures["draws"]] == ["drawn", "drawn"]
    await expect(counter(page, "viewers")).to_have_text("1")  # the host's own panel
    await settled_shot(page, "live-panel-2-live")

    await page.get_by_role("button", name="结束直播").click()
    await confirm(page, "结束直播")
    await expect(page.get_by_test_id("session-status")).to_have_text("已结束")
    # Ended: nobody online and nothing on screen, as the server now tells it.
    await expect(counter(page, "viewers")).to_have_text("0")
    await expect(page.get_by_text("正在讲解")).to_have_count(0)
    await expect(page.get_by_text("讲解中")).to_have_count(0)
    await expect(page.get_by_role("button", name="推送讲解")).to_have_count(0)
    await expect(page.get_by_label("直播流地址")).to_have_count(0)
    report = page.get_by_test_id("report")
    await expect(report.get_by_text("未领退回")).to_be_visible()
    await expect(report).to_contain_text("¥20.00")  # the rain's unclaimed packets, back
    figures = (await client.get(f"{session_url}/report", headers=host)).json()
    assert figures["red_packets"]["returned_fen"] == 2_000
    assert (figures["orders"], figures["gmv_fen"]) == (1, 159_900)
    await settled_shot(page, "live-panel-3-ended")

    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="导出数据（CSV）").click()
    saved = await (await downloading.value).path()
    exported = saved.read_text(encoding="utf-8-sig")
    assert f"{PRODUCT} RO-500 订单数,1" in exported and "未领取退回（元）,20.00" in exported
    await context.close()


async def test_another_distributors_session_is_not_found_by_url(
    browser,  # noqa: F811
    platform_url,
    client,
    deps,
) -> None:
    shop = await make_shop()
    await make_store(shop.tenant, distributor=shop.tenant.other_distributor)
    brand = await staff_headers(client, shop.tenant.admin_username)
    theirs: dict[str, Any] = session_body(
        shop, deps, title="邻居经销商专场", distributor_id=shop.tenant.other_distributor.id
    )
    session = await scheduled(client, brand, theirs)
    dealer = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )
    context, page = await signed_in(browser, platform_url, dealer, f"/live/{session['id']}")
    await expect(page.get_by_text("找不到该直播")).to_be_visible()
    await expect(page.get_by_text(re.compile("邻居经销商专场|澜泉|RO-500"))).to_have_count(0)
    await expect(page.get_by_role("button", name="开始直播")).to_have_count(0)
    await shot(page, "live-panel-4-not-found")
    await context.close()
