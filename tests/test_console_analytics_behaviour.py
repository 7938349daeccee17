"""The console's 用户行为 page in a real browser: a brand admin sees the week of mini-program
visits the demo makes, as the API counts them: the funnel (chart and table), the search
terms with those that found nothing marked, only those when asked, and the pages viewed by
their Chinese names; one distributor's stores only when one is picked; the funnel exports
as XLSX."""

from __future__ import annotations

import re

from playwright.async_api import expect

from backend.analytics import event_days
from backend.demo.behaviour import seed_behaviour
from backend.demo.orders import become_owner
from backend.identity.models import User
from tests import console_browser
from tests.console_browser import choose, needs_browser, shot, signed_in
from tests.factories import make_shop, make_store, staff_headers
from tests.test_console_notifications_staff import still

pytestmark = needs_browser
browser = console_browser.browser  # the fixture, where pytest looks for it


async def test_a_brand_admin_reads_the_funnel_search_terms_and_pages(
    browser, platform_url, client, deps
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    stores = [tenant.store, *[await make_store(tenant) for _ in range(4)]]
    stores.append(await make_store(tenant, distributor=tenant.other_distributor, salesperson=None))
    for store in stores:
        await become_owner(store, await User.create(display_name=store.contact_name))
    assert await seed_behaviour(tenant.brand.id, deps.clock.now()) > 0
    await event_days.refresh(deps)  # the periodic job's run: the reports read its sums
    brand = await staff_headers(client, tenant.admin_username)
    funnel = (await client.get("/api/v1/analytics/funnel", headers=brand)).json()
    terms = (await client.get("/api/v1/analytics/search-terms", headers=brand)).json()
    pages = (await client.get("/api/v1/analytics/pages", headers=brand)).json()
    missing = [t["term"] for t in terms["items"] if t["zero_results"] == t["searches"]]
    assert missing  # the demo searches for what the catalog does not sell

    context, page = await signed_in(
        browser, platform_url, tenant.admin_username, "/analytics/behaviour"
    )
    await expect(page.get_by_role("heading", name="用户行为")).to_be_visible()
    await expect(page.get_by_text(f"{funnel['start']} 至 {funnel['end']}")).to_be_visible()
    await expect(page.get_by_role("img", name="转化漏斗图")).to_be_visible()
    steps = page.locator(".funnel-table .el-table__body .el-table__row")
    await expect(steps).to_have_count(5)
    for row, step in zip(await steps.all(), funnel["steps"], strict=True):
        await expect(row).to_contain_text(step["name"])
        await expect(row.locator("td").nth(1)).to_have_text(str(step["users"]))
        await expect(row.locator("td").nth(3)).to_have_text(str(step["events"]))

    total = terms["total"]
    summary = (
        f"共 {total['searches']} 次搜索、{total['terms']} 个词，无结果 {total['zero_results']} 次"
    )
    await expect(page.get_by_text(summary)).to_be_visible()
    term_rows = page.locator(".columns .el-card").first.locator(".el-table__body .el-table__row")
    await expect(term_rows).to_have_count(len(terms["items"]))
    await expect(term_rows.filter(has_text=missing[0])).to_contain_text("无结果")
    page_rows = page.locator(".columns .el-card").nth(1).locator(".el-table__body .el-table__row")
    await expect(page_rows.first).to_contain_text(pages["items"][0]["name"])
    await expect(page_rows.filter(has_text="商品详情")).to_have_count(1)
    await still(page)
    await shot(page, "analytics-behaviour-1-brand")

    # Only the terms that found nothing, kept in the URL.
    await page.locator(".el-switch").click()
    await expect(page).to_have_url(re.compile(r"zero=true"))
    zero = (
        await client.get("/api/v1/analytics/search-terms", params={"zero": "true"}, headers=brand)
    ).json()
    await expect(term_rows).to_have_count(len(zero["items"]))

    # One distributor's stores: the other distributor's store drops out.
    await choose(page, "经销商", tenant.distributor.name)
    await expect(page).to_have_url(re.compile(rf"distributor_id={tenant.distributor.id}"))
    mine = (
        await client.get(
            "/api/v1/analytics/funnel",
            params={"distributor_id": str(tenant.distributor.id)},
            headers=brand,
        )
    ).json()
    await expect(steps.first.locator("td").nth(1)).to_have_text(str(mine["steps"][0]["users"]))
    assert mine["steps"][0]["users"] == funnel["steps"][0]["users"] - 1

    async with page.expect_download() as waiting:
        await page.locator(".block").first.get_by_role("button", name="导出").click()
    download = await waiting.value
    assert re.fullmatch(r"funnel-\d{8}-\d{8}\.xlsx", download.suggested_filename)
    await still(page)
    await shot(page, "analytics-behaviour-2-distributor")
    await context.close()
