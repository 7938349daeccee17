"""The console's 复购提醒 page in a real browser: a store past its usual reorder interval with
its salesperson's task, the 7-day view empty, the list exported. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

from playwright.async_api import expect

from backend.analytics import reorders
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401
from tests.test_analytics_reorders import WATER, due_shop

pytestmark = needs_browser


async def test_brand_staff_see_the_stores_due_to_reorder(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    shop, _ = await due_shop(client, sandbox_client, deps)
    tenant = shop.tenant
    assert await reorders.reorders_job(deps) == 1
    context, page = await signed_in(
        browser, platform_url, tenant.admin_username, "/analytics/reorders"
    )
    await expect(page.get_by_role("heading", name="复购提醒")).to_be_visible()
    table = page.get_by_test_id("reorders")
    row = table.locator("tbody tr")
    await expect(row).to_have_count(1)
    for text in (tenant.store.name, tenant.distributor.name, WATER, "每 30 天", "门店历史"):
        await expect(row).to_contain_text(text)
    await expect(row).to_contain_text("（34 天前）")
    await expect(row).to_contain_text("逾期 4 天")
    await expect(row).to_contain_text("待跟进")
    await shot(page, "analytics-reorders")

    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="导出 XLSX").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("reorders-due-")

    await page.get_by_text("7 天内到期").click()
    await expect(page.get_by_text("未来 7 天没有到期的门店")).to_be_visible()
    await shot(page, "analytics-reorders-soon")
    await context.close()
