"""The store analytics pages in a real browser: the store list filtered by activity, RFM
recomputed from the list and shown as tags, a store's 360° profile with its real figures,
the analytics settings saved (and a bad amount refused with nothing saved), and another
distributor's store by URL as its staff. Each flow is checked through the API; screenshots go to
test-artifacts/console/."""

from __future__ import annotations

from playwright.async_api import expect

from backend.identity.models import Role
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import make_staff
from tests.test_analytics_stores import GOOD_SETTINGS, STORES, world
from tests.test_console_stock_stores import still_shot

pytestmark = needs_browser


async def test_brand_admin_reads_stores_and_recomputes_rfm(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    w = await world(client, sandbox_client, deps)
    await client.put(f"{STORES}/settings", json=GOOD_SETTINGS, headers=w.brand_admin)
    username = w.shop.tenant.admin_username
    context, page = await signed_in(browser, platform_url, username, "/analytics/stores")
    await expect(page.get_by_role("heading", name="门店分析")).to_be_visible()
    table = page.get_by_test_id("stores-table")
    await expect(table.locator("tbody tr")).to_have_count(4)
    a_row = table.locator("tr", has_text=w.a.name)
    await expect(a_row).to_contain_text("¥6,998.00")
    await expect(a_row).to_contain_text("未分层")

    await page.get_by_test_id("apply-rfm").click()
    await expect(page.get_by_text("已重新分层 4 家门店")).to_be_visible()
    await expect(a_row).to_contain_text("重要价值客户")
    await expect(table.locator("tr", has_text="沉睡店")).to_contain_text("一般挽留客户")
    await still_shot(page, "analytics-stores-list")

    await page.locator("label.el-radio-button").filter(has_text="沉睡").click()
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text("沉睡店")
    await still_shot(page, "analytics-stores-dormant")
    listed = (await client.get(STORES, params={"status": "dormant"}, headers=w.brand_admin)).json()
    assert [row["name"] for row in listed["items"]] == ["沉睡店"]

    await page.goto(f"{platform_url}/console#/analytics/stores/{w.a.id}")
    await expect(page.get_by_role("heading", name=w.a.name)).to_be_visible()
    kpis = page.get_by_test_id("order-kpis")
    await expect(kpis).to_contain_text("¥6,998.00")
    await expect(kpis).to_contain_text("15 天")
    await expect(page.get_by_test_id("rfm-segment")).to_have_text("重要价值客户")
    await expect(page.get_by_test_id("categories")).to_contain_text("净水器")
    await page.wait_for_timeout(300)  # the chart's first frame
    await still_shot(page, "analytics-store-profile")
    await context.close()


async def test_settings_are_saved_and_a_bad_amount_is_refused(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    w = await world(client, sandbox_client, deps)
    username = w.shop.tenant.admin_username
    context, page = await signed_in(browser, platform_url, username, "/analytics/settings")
    await expect(page.get_by_role("heading", name="分析设置")).to_be_visible()
    await page.get_by_label("沉睡天数").fill("45")
    await page.get_by_label("金额阈值").fill("5000")
    await page.get_by_role("button", name="保存设置").click()
    await expect(page.get_by_text("设置已保存")).to_be_visible()
    saved = (await client.get(f"{STORES}/settings", headers=w.brand_admin)).json()
    assert saved["dormant_days"] == 45 and saved["rfm"]["monetary_fen"] == 500_000

    await page.get_by_label("金额阈值").fill("很多")
    await page.get_by_label("沉睡天数").fill("90")
    await page.get_by_role("button", name="保存设置").click()
    await expect(page.get_by_text("请填写金额阈值")).to_be_visible()
    await still_shot(page, "analytics-settings-refused")
    assert (await client.get(f"{STORES}/settings", headers=w.brand_admin)).json() == saved
    await context.close()

    # Another distributor's store is not found by its staff.
    theirs = await make_staff(
        w.shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, w.shop.tenant.distributor.id
    )
    path = f"/analytics/stores/{w.d.id}"
    context, page = await signed_in(browser, platform_url, theirs, path)
    await expect(page.get_by_test_id("detail-missing")).to_contain_text("门店不存在或无权查看")
    await shot(page, "analytics-store-not-found")
    await context.close()
