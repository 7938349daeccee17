"""The console in a real browser: Playwright drives Debian's headless Chromium through a
complaint's life, asserting what each person sees. The brand signs in, finds the complaint
in the queue (a new one arrives live), opens it, acknowledges it and hands it to the
distributor; the distributor, in a second browser context, answers; the brand's open page
updates live, and the brand resolves it. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from backend.identity.models import Role
from tests.conftest import ARTIFACTS
from tests.factories import PASSWORD, distributor_admin, make_shop, make_staff, store_owner
from tests.test_complaints import filed, parties
from tests.test_live_sessions import API as LIVE
from tests.test_live_sessions import scheduled, session_body

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ARTIFACTS / "console"
# CI installs Debian's chromium and sets this, so a missing browser fails there, not skips.
REQUIRED = os.environ.get("B2BC_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    not REQUIRED and not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"
)
# The flags this machine needs: no sandbox as root, and no calls home (the network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def signed_in(browser: Browser, url: str, username: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/console")
    await expect(page.get_by_role("heading", name="b2bc 管理后台")).to_be_visible()
    await page.get_by_label("账号").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    # Staff land on the order queue (the first page of their sidebar); these walks start at
    # the complaint queue.
    await expect(page.get_by_test_id("current-user")).to_be_visible()
    await page.goto(f"{url}/console#/complaints")
    await expect(page.get_by_role("heading", name="投诉队列")).to_be_visible()
    await expect(page.get_by_test_id("live-status")).to_have_text(re.compile("实时更新中"))
    assert errors == []
    return context, page


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def row(page: Page, complaint_id: int) -> Any:
    return page.locator(f"tr[data-complaint='{complaint_id}']")


async def test_brand_hands_a_complaint_to_the_distributor_who_answers_and_it_is_resolved(
    browser, platform_url, client, sandbox_client
) -> None:
    shop, _, _, owner = await parties(client, sandbox_client)
    tenant = shop.tenant
    first = await filed(client, owner, category="delivery", text="说好上午送货，到现在还没到")
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)

    # 1. The brand signs in; 2. the queue shows the complaint, and a new one arrives live.
    brand_context, brand = await signed_in(browser, platform_url, tenant.admin_username)
    await expect(row(brand, first["id"])).to_contain_text(tenant.store.name)
    await expect(row(brand, first["id"])).to_contain_text("配送延迟")
    await expect(row(brand, first["id"])).to_contain_text("待受理")
    second = await filed(client, owner, category="damaged", text="外箱压坏")
    await expect(row(brand, second["id"])).to_contain_text("货损")  # no reload: pushed
    await brand.get_by_label("分类").select_option("delivery")
    await expect(row(brand, second["id"])).to_have_count(0)
    await expect(row(brand, first["id"])).to_be_visible()
    await shot(brand, "1-brand-queue")

    # 3. It opens; 4. the brand acknowledges it and hands it to the distributor.
    await row(brand, first["id"]).click()
    await expect(brand.get_by_test_id("complaint-text")).to_have_text("说好上午送货，到现在还没到")
    await brand.get_by_role("button", name="受理").click()
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("已受理")
    await brand.get_by_label("给门店的说明").fill("已转经销商，今天内处理")
    await brand.get_by_role("button", name="转给经销商").click()
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("已转经销商")
    await expect(brand.get_by_text("已转经销商，今天内处理")).to_be_visible()
    await shot(brand, "2-brand-assigned")

    # 5. The distributor, in a second browser context, sees only this one and answers.
    dealer_context, dealer_page = await signed_in(browser, platform_url, dealer)
    await expect(row(dealer_page, first["id"])).to_be_visible()
    await expect(row(dealer_page, second["id"])).to_have_count(0)  # not handed to them
    await row(dealer_page, first["id"]).click()
    await expect(dealer_page.get_by_role("button", name="受理")).to_have_count(0)
    await dealer_page.get_by_label("给门店的说明").fill("司机下午两点前送到，已致歉")
    await dealer_page.get_by_role("button", name="答复门店").click()
    await expect(dealer_page.get_by_test_id("complaint-status")).to_have_text("经销商已答复")
    await shot(dealer_page, "3-distributor-responded")

    # 6. The brand's open page shows the answer without a reload, and the brand resolves it.
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("经销商已答复")
    await expect(brand.get_by_text("司机下午两点前送到，已致歉")).to_be_visible()
    await brand.get_by_label("给门店的说明").fill("已送达，请确认")
    await brand.get_by_role("button", name="标记已解决").click()
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("已解决")
    await expect(brand.get_by_test_id("timeline-entry")).to_have_count(5)
    await shot(brand, "4-brand-resolved")

    # What the store sees matches: resolved, waiting for its confirmation.
    seen = (
        await client.get(
            f"/api/v1/complaints/{first['id']}",
            headers={"Authorization": f"Bearer {owner['access_token']}"},
        )
    ).json()
    assert (seen["status"], seen["status_name"]) == ("resolved", "已解决，待您确认")

    # 7. Back in the queue, resolved complaints are found with the status filter (their
    # clock has stopped, so the open queue no longer lists them), and closed ones likewise.
    await brand.evaluate("window.location.hash = '#/complaints'")
    await expect(row(brand, second["id"])).to_be_visible()
    await expect(row(brand, first["id"])).to_have_count(0)
    await brand.get_by_label("状态").select_option(label="已解决")
    await expect(row(brand, first["id"])).to_contain_text("已解决")
    await expect(row(brand, second["id"])).to_have_count(0)
    await shot(brand, "5-brand-resolved-filter")
    await brand.get_by_label("状态").select_option(label="已关闭")
    await expect(brand.get_by_text("没有符合条件的投诉")).to_be_visible()
    await dealer_context.close()
    await brand_context.close()


async def test_a_wrong_password_is_told_in_chinese_and_metrics_draw_a_chart(
    browser, platform_url, client, sandbox_client
) -> None:
    shop, _, _, owner = await parties(client, sandbox_client)
    await filed(client, owner)
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{platform_url}/console")
    await page.get_by_label("账号").fill(shop.tenant.admin_username)
    await page.get_by_label("密码").fill("wrong-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("密码")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_role("link", name="处理指标").click()
    await expect(page.get_by_role("heading", name="投诉处理指标")).to_be_visible()
    await expect(page.get_by_role("row", name=re.compile("未转经销商"))).to_be_visible()
    await expect(page.get_by_role("img", name="处理时长图表")).to_be_visible()
    await shot(page, "5-metrics")
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("button", name="登录")).to_be_visible()
    await context.close()


async def test_a_distributor_hosts_a_session_from_the_console(
    browser, platform_url, client, sandbox_client, deps
) -> None:

    shop = await make_shop()
    host_headers = await distributor_admin(client, shop)
    rains = [{"total_fen": 2_000, "count": 5, "duration_seconds": 60}]
    session = await scheduled(client, host_headers, session_body(shop, deps, rains=rains))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    dealer = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )

    context, page = await signed_in(browser, platform_url, dealer)
    await page.get_by_role("link", name="直播订货会").click()
    await page.locator(f"tr[data-session='{session['id']}']").get_by_role("link").click()
    await expect(page.get_by_test_id("session-status")).to_have_text("未开始")
    await page.get_by_role("button", name="开始直播").click()
    await expect(page.get_by_test_id("session-status")).to_have_text("直播中")
    await page.get_by_role("button", name="推送讲解").first.click()
    await expect(page.get_by_role("status")).to_contain_text("已推送 RO-500")
    # The host gives the stream's pull address; a bad one is refused in Chinese.
    stream = page.get_by_label("直播流地址")
    await stream.fill("ftp://example.com/live")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await stream.fill("https://live.example.com/app/stream.flv")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("status")).to_contain_text("直播流地址已保存")
    detail = await client.get(f"{LIVE}/{session['id']}", headers=host_headers)
    assert detail.json()["stream_url"] == "https://live.example.com/app/stream.flv"

    # A store orders in the room: the panel's counter moves without a reload.
    placed = await client.post(
        f"{LIVE}/{session['id']}/orders",
        json={"product_id": session["products"][0]["id"], "quantity": 1},
        headers={"Authorization": f"Bearer {owner['access_token']}", "Idempotency-Key": "panel-1"},
    )
    assert placed.status_code == 201, placed.text
    await expect(page.get_by_test_id("orders")).to_have_text("1")
    await expect(page.get_by_text("剩余 29")).to_be_visible()  # the card's stock moves too
    # A push that left before the order's (an older version) arriving late is dropped.
    product_id = session["products"][0]["id"]
    stale = {"orders": 0, "gmv_fen": 0, "product_id": product_id, "left": 30, "version": 0}
    await deps.broadcast.emit("ticker", stale, rooms=[f"live:{session['id']}"], namespace="/live")
    await page.wait_for_timeout(300)
    await expect(page.get_by_test_id("orders")).to_have_text("1")
    await expect(page.get_by_text("剩余 29")).to_be_visible()
    await page.get_by_role("button", name="开始红包雨").click()
    await expect(page.get_by_role("status")).to_contain_text("红包雨开始了")
    await shot(page, "6-live-panel")
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="结束直播").click()
    await expect(page.get_by_test_id("session-status")).to_have_text("已结束")
    await expect(page.get_by_text("未领退回")).to_be_visible()
    await context.close()
