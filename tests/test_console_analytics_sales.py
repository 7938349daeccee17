"""销售看板 in a real browser, over real orders counted by the rollups (the scenario of
tests/test_analytics_sales.py): brand staff read the KPIs against the previous week, the
trend, the channel mix, the stores, each breakdown, the SKU rankings and the regions, pick
one distributor and download a table as Excel; a distributor's admin sees only its own
figures and no distributor filter. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import expect

from backend.analytics import rollups
from backend.identity.models import Role
from tests.console_browser import browser, choose, needs_browser, signed_in  # noqa: F401
from tests.factories import make_staff
from tests.test_analytics_sales import orders_of_the_fortnight, scenario
from tests.test_console_stock_stores import still_shot

pytestmark = needs_browser


async def test_the_sales_dashboard(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    sales = await scenario(client, sandbox_client)
    await orders_of_the_fortnight(client, sandbox_client, sales)
    await rollups.refresh(deps)
    tenant = sales.shop.tenant
    week = f"start={sales.today - timedelta(days=6)}&end={sales.today}"

    context, page = await signed_in(
        browser, platform_url, tenant.admin_username, f"/analytics/sales?{week}"
    )
    await expect(page.get_by_role("heading", name="销售看板")).to_be_visible()
    await expect(page.get_by_test_id("kpi-gmv")).to_contain_text("¥8,596.00")
    await expect(page.get_by_test_id("kpi-gmv")).to_contain_text("+352.7%")
    await expect(page.get_by_test_id("kpi-orders")).to_contain_text("4")
    await expect(page.get_by_test_id("kpi-orders")).to_contain_text("上期 1")
    stores = page.get_by_test_id("sales-stores")
    await expect(stores).to_contain_text("活跃门店")
    await expect(stores).to_contain_text("超过 60 天未下单")
    regions = page.get_by_test_id("sales-regions")
    await expect(regions.locator("tr", has_text="华东")).to_contain_text("¥6,697.00")
    await expect(regions.locator("tr", has_text="华南")).to_contain_text("¥1,899.00")
    await expect(page.get_by_test_id("sales-top").locator("tr").nth(1)).to_contain_text("RO-500")
    await expect(page.get_by_test_id("sales-bottom").locator("tr").nth(1)).to_contain_text("旧款")
    await page.get_by_test_id("sales-kpis").scroll_into_view_if_needed()
    await still_shot(page, "analytics-sales-1-brand")

    # The breakdown by store tag, with the stores that ordered.
    await page.locator(".el-radio-button", has_text="门店标签").click()
    breakdown = page.get_by_test_id("sales-breakdown")
    await expect(breakdown.locator("tr", has_text="连锁")).to_contain_text("¥6,697.00")
    await expect(breakdown.locator("tr", has_text="无标签")).to_contain_text("¥1,899.00")
    assert "dim=tag" in page.url

    # An export downloads the table as it is shown.
    async with page.expect_download() as waiting:
        await page.get_by_test_id("export-breakdown").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("sales-tag-")
    assert download.suggested_filename.endswith(".xlsx")

    # One distributor of the brand.
    await choose(page, "经销商", tenant.other_distributor.name)
    await expect(page.get_by_test_id("kpi-gmv")).to_contain_text("¥1,899.00")
    assert f"distributor_id={tenant.other_distributor.id}" in page.url
    await still_shot(page, "analytics-sales-2-one-distributor")
    await context.close()

    # A distributor's admin: its own three orders, no distributor filter.
    mine = next(iter(sales.payers))
    assert mine == tenant.distributor.id
    username = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, mine)
    context, page = await signed_in(browser, platform_url, username, f"/analytics/sales?{week}")
    await expect(page.get_by_test_id("kpi-gmv")).to_contain_text("¥6,697.00")
    await expect(page.get_by_test_id("kpi-orders")).to_contain_text("3")
    await expect(page.get_by_text("仅本经销商")).to_be_visible()
    await expect(page.get_by_role("combobox", name="经销商", exact=True)).to_have_count(0)
    own_regions = page.get_by_test_id("sales-regions")
    await expect(own_regions.locator("tr", has_text="华东")).to_contain_text("¥4,798.00")
    await still_shot(page, "analytics-sales-3-distributor")
    await context.close()
