"""The console in a real browser: Playwright drives Debian's headless Chromium through a
complaint's life, asserting what each person sees. The brand signs in, finds the complaint
in the queue (a new one arrives live), opens it, acknowledges it and hands it to the
distributor; the distributor, in a second browser context, answers; the brand's open page
updates live, and the brand resolves it. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from backend.identity.models import Role
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import PASSWORD, make_staff
from tests.test_complaints import filed, parties, walk

pytestmark = needs_browser


def row(page: Page, complaint_id: int) -> Any:
    return page.locator(f"tr:has([data-complaint='{complaint_id}'])")


async def at_the_queue(chromium: Browser, url: str, username: str) -> tuple[BrowserContext, Page]:
    """Signed in at the complaint queue, once its live link is up (so no push is missed)."""
    context, page = await signed_in(chromium, url, username, "/complaints")
    await expect(page.get_by_role("heading", name="投诉队列")).to_be_visible()
    await expect(page.get_by_test_id("live-status")).to_have_text(re.compile("实时更新中"))
    return context, page


async def test_brand_hands_a_complaint_to_the_distributor_who_answers_and_it_is_resolved(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop, _, _, owner = await parties(client, sandbox_client)
    tenant = shop.tenant
    first = await filed(client, owner, category="delivery", text="说好上午送货，到现在还没到")
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)

    # 1. The brand signs in; 2. the queue shows the complaint, and a new one arrives live.
    brand_context, brand = await at_the_queue(browser, platform_url, tenant.admin_username)
    await expect(row(brand, first["id"])).to_contain_text(tenant.store.name)
    await expect(row(brand, first["id"])).to_contain_text("配送延迟")
    await expect(row(brand, first["id"])).to_contain_text("待受理")
    second = await filed(client, owner, category="damaged", text="外箱压坏")
    await expect(row(brand, second["id"])).to_contain_text("货损")  # no reload: pushed
    await choose(brand, "分类", "配送延迟/未送达")
    await expect(row(brand, second["id"])).to_have_count(0)
    await expect(row(brand, first["id"])).to_be_visible()
    assert "category=delivery" in brand.url  # the filter is in the link
    await shot(brand, "complaints-1-brand-queue")

    # 3. It opens; 4. the brand acknowledges it and hands it to the distributor.
    await row(brand, first["id"]).get_by_role("link").click()
    await expect(brand.get_by_test_id("complaint-text")).to_have_text("说好上午送货，到现在还没到")
    await brand.get_by_role("button", name="受理", exact=True).click()
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("已受理")
    await brand.get_by_label("给门店的说明").fill("已转经销商，今天内处理")
    await brand.get_by_role("button", name="转给经销商").click()
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("已转经销商")
    await expect(brand.get_by_text("已转经销商，今天内处理")).to_be_visible()
    await shot(brand, "complaints-2-brand-assigned")

    # 5. The distributor, in a second browser context, sees only this one and answers.
    dealer_context, dealer_page = await at_the_queue(browser, platform_url, dealer)
    await expect(row(dealer_page, first["id"])).to_be_visible()
    await expect(row(dealer_page, second["id"])).to_have_count(0)  # not handed to them
    await row(dealer_page, first["id"]).get_by_role("link").click()
    await expect(dealer_page.get_by_test_id("complaint-text")).to_be_visible()
    await expect(dealer_page.get_by_role("button", name="受理", exact=True)).to_have_count(0)
    await dealer_page.get_by_label("给门店的说明").fill("司机下午两点前送到，已致歉")
    await dealer_page.get_by_role("button", name="答复门店").click()
    await expect(dealer_page.get_by_test_id("complaint-status")).to_have_text("经销商已答复")
    await shot(dealer_page, "complaints-3-distributor-responded")

    # 6. The brand's open page shows the answer without a reload, and the brand resolves it.
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("经销商已答复")
    await expect(brand.get_by_text("司机下午两点前送到，已致歉")).to_be_visible()
    await brand.get_by_label("给门店的说明").fill("已送达，请确认")
    await brand.get_by_role("button", name="标记已解决").click()
    await expect(brand.get_by_test_id("complaint-status")).to_have_text("已解决")
    await expect(brand.get_by_test_id("timeline-entry")).to_have_count(5)
    await shot(brand, "complaints-4-brand-resolved")

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
    await brand.goto(f"{platform_url}/console#/complaints")
    await expect(row(brand, second["id"])).to_be_visible()
    await expect(row(brand, first["id"])).to_have_count(0)
    await choose(brand, "状态", "已解决")
    await expect(row(brand, first["id"])).to_contain_text("已解决")
    await expect(row(brand, second["id"])).to_have_count(0)
    await shot(brand, "complaints-5-brand-resolved-filter")
    await choose(brand, "状态", "已关闭")
    await expect(brand.get_by_text("没有符合条件的投诉")).to_be_visible()

    # A complaint the distributor was not handed is not reachable by its link.
    await dealer_page.goto(f"{platform_url}/console#/complaints/{second['id']}")
    await expect(dealer_page.get_by_text("投诉不存在，或您无权查看")).to_be_visible()
    await expect(dealer_page.get_by_text("外箱压坏")).to_have_count(0)
    await dealer_context.close()
    await brand_context.close()


async def test_a_wrong_password_is_told_in_chinese_and_metrics_draw_a_chart(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop, brand_headers, distributor_headers, owner = await parties(client, sandbox_client)
    await filed(client, owner)
    handled = await filed(client, owner, category="quality")
    await walk(client, handled["id"], brand_headers, distributor_headers, until="resolve")
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
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
    handled_by = re.compile(shop.tenant.distributor.name)
    await expect(page.get_by_role("row", name=handled_by)).to_be_visible()
    await expect(page.get_by_role("row", name=re.compile("合计 2"))).to_be_visible()
    await expect(page.get_by_role("img", name="处理时长图表")).to_be_visible()
    await expect(page.get_by_text("暂无处理时长")).to_have_count(0)  # one was handled
    await expect(page.locator("[aria-label='处理时长图表'] canvas")).to_have_count(1)
    await shot(page, "complaints-6-metrics")
    await choose(page, "统计范围", "最近 7 天")
    assert "days=7" in page.url
    await expect(page.get_by_role("row", name=re.compile("未转经销商"))).to_be_visible()
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("button", name="登录")).to_be_visible()
    await context.close()
