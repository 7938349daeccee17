"""防窜货预警 in a real browser. The brand admin reads the alerts by distributor and by region,
filters by a region with a click, confirms one alert with a note and dismisses another (a
reason required); an alert a colleague handled first is refused in the server's words and the
list reloads. The distributor's page and the distributors list show its diversion count.
Distributor staff read the alerts about their boxes without the buttons. A new alert rings
the bell of an open console, and the notification opens the store's alerts. Each step is checked
through the database afterwards; screenshots go to test-artifacts/console/."""

from __future__ import annotations

from playwright.async_api import expect

from backend.codes.models import DiversionAlert
from backend.identity.models import Role
from tests.console_browser import browser, needs_browser, signed_in  # noqa: F401
from tests.factories import bearer, make_staff, store_owner
from tests.test_codes_diversion import alerts_world, world
from tests.test_console_org import still_shot

pytestmark = needs_browser


async def test_the_brand_handles_diversion_alerts(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    deps,
) -> None:
    w = await alerts_world(deps)
    tenant = w.shop.tenant
    admin = tenant.admin_username
    context, page = await signed_in(browser, platform_url, admin, "/codes/diversion")
    await expect(page.get_by_role("heading", name="防窜货预警")).to_be_visible()
    await expect(page.get_by_test_id("alert-totals")).to_contain_text("共 3 条，待处理 3 条")
    by_distributor = page.get_by_test_id("by-distributor")
    await expect(by_distributor).to_contain_text(tenant.distributor.name)
    by_region = page.get_by_test_id("by-region")
    await expect(by_region).to_contain_text("华东")
    await expect(by_region).to_contain_text("西南")
    alerts = page.get_by_test_id("alerts")
    await expect(alerts.locator("tbody tr")).to_have_count(3)
    await expect(alerts).to_contain_text("其他经销商的门店扫码")
    await expect(alerts).to_contain_text("超出经销商服务区域")
    await expect(alerts).to_contain_text("箱码 20261201-B000001")
    await expect(alerts).to_contain_text("杭州西湖店")
    await still_shot(page, "codes-diversion-1-alerts")

    # A click on a region filters by it (and the URL keeps it).
    await by_region.get_by_text("西南").click()
    await expect(alerts.locator("tbody tr")).to_have_count(1)
    await expect(alerts).to_contain_text("成都春熙路店")
    assert f"region_id={w.west.id}" in page.url
    await page.get_by_role("button", name="清除筛选").click()
    await expect(alerts.locator("tbody tr")).to_have_count(3)

    # Confirm the newest with a note.
    newest = alerts.locator("tbody tr").first
    await newest.get_by_role("button", name="确认窜货").click()
    dialog = page.get_by_role("dialog", name="确认窜货")
    await dialog.get_by_label("处理说明").fill("已约谈经销商，扣减返利")
    await dialog.get_by_role("button", name="确认窜货").click()
    await expect(newest.get_by_test_id("alert-status")).to_have_text("已确认窜货")
    await expect(newest).to_contain_text("已约谈经销商，扣减返利")
    await expect(page.get_by_test_id("alert-totals")).to_contain_text("待处理 2 条")
    confirmed = await DiversionAlert.get(store_id=w.own_west.id)
    assert (confirmed.status, confirmed.note) == ("confirmed", "已约谈经销商，扣减返利")

    # Dismissing needs a reason.
    second = alerts.locator("tbody tr").nth(1)
    await second.get_by_role("button", name="排除").click()
    dialog = page.get_by_role("dialog", name="排除预警")
    await dialog.get_by_role("button", name="排除", exact=True).click()
    await expect(dialog.get_by_test_id("dialog-refusal")).to_contain_text("请填写排除原因")
    await still_shot(page, "codes-diversion-2-dismiss-needs-a-reason")
    assert await DiversionAlert.filter(status="dismissed").count() == 0
    await dialog.get_by_role("button", name="门店已报备调货").click()
    await dialog.get_by_role("button", name="排除", exact=True).click()
    await expect(second.get_by_test_id("alert-status")).to_have_text("已排除")
    assert await DiversionAlert.filter(status="dismissed", note="门店已报备调货").count() == 1

    # A colleague handles the last one first: refused in the server's words, list reloaded.
    last = alerts.locator("tbody tr").nth(2)
    await last.get_by_role("button", name="确认窜货").click()
    open_one = await DiversionAlert.filter(brand_id=tenant.brand.id, status="open").get()
    await DiversionAlert.filter(id=open_one.id).update(status="dismissed", note="同事已处理")
    dialog = page.get_by_role("dialog", name="确认窜货")
    await dialog.get_by_role("button", name="确认窜货").click()
    await expect(page.get_by_text("该预警已处理为「已排除」")).to_be_visible()
    await expect(last.get_by_test_id("alert-status")).to_have_text("已排除")
    assert (await DiversionAlert.get(id=open_one.id)).note == "同事已处理"
    await still_shot(page, "codes-diversion-3-handled")

    # The distributor's page and the distributors list carry its count.
    await page.goto(f"{platform_url}/console#/org/distributors/{tenant.distributor.id}")
    card = page.get_by_test_id("distributor-diversion")
    await expect(card.get_by_test_id("diversion-total")).to_have_text("3")
    await expect(card.get_by_test_id("diversion-confirmed")).to_have_text("1")
    await expect(card.get_by_test_id("diversion-open")).to_have_text("0")
    await still_shot(page, "codes-diversion-4-distributor")
    await card.get_by_role("link", name="查看预警").click()
    await expect(page.get_by_role("heading", name="防窜货预警")).to_be_visible()
    assert f"distributor_id={tenant.distributor.id}" in page.url
    await page.goto(f"{platform_url}/console#/org/distributors")
    row = page.locator("tr").filter(has_text=tenant.distributor.name)
    await expect(row.get_by_test_id("diversion-count")).to_have_text("3")
    await context.close()


async def test_distributor_staff_read_their_alerts(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    deps,
) -> None:
    w = await alerts_world(deps)
    tenant = w.shop.tenant
    staff = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    context, page = await signed_in(browser, platform_url, staff, "/codes/diversion")
    alerts = page.get_by_test_id("alerts")
    await expect(alerts.locator("tbody tr")).to_have_count(3)
    await expect(page.get_by_role("button", name="确认窜货")).to_have_count(0)
    await expect(page.get_by_role("combobox", name="经销商")).to_have_count(0)
    await expect(page.get_by_test_id("by-region")).to_contain_text("华东")
    await still_shot(page, "codes-diversion-5-distributor-staff")
    await context.close()
    # The distributor whose store scanned the boxes sees none of them.
    other = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.other_distributor.id)
    context, page = await signed_in(browser, platform_url, other, "/codes/diversion")
    await expect(page.get_by_text("暂无窜货预警")).to_be_visible()
    await context.close()


async def test_a_new_alert_rings_the_bell_and_opens_the_stores_alerts(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    """The brand's console is open elsewhere when a store of another distributor receives a
    box: the bell counts it without a reload, and a click opens that store's alerts."""
    w = await world()
    tenant = w.shop.tenant
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/codes/batches")
    await expect(page.get_by_role("button", name="消息通知", exact=True)).to_be_visible()
    owner = await store_owner(client, sandbox_client, w.other)
    scanned = await client.post(
        "/api/v1/codes/scans",
        json={"code": w.codes.boxes[0], "action": "receive"},
        headers=bearer(owner),
    )
    assert scanned.status_code == 201 and scanned.json()["diverted"] is True
    bell = page.get_by_role("button", name="消息通知，1 条未读")
    await expect(bell).to_be_visible()
    await bell.click()
    item = page.locator(".bell-item[data-notification]").first
    await expect(item).to_contain_text(f"窜货预警：{w.other.name}")
    await expect(item).to_contain_text(f"发往「{tenant.distributor.name}」")
    await expect(item).to_contain_text("窜货预警 · 刚刚")
    await still_shot(page, "codes-diversion-6-bell")
    await item.click()
    await expect(page.get_by_role("heading", name="防窜货预警")).to_be_visible()
    assert f"store_id={w.other.id}" in page.url
    await expect(page.get_by_test_id("store-filter")).to_have_text(w.other.name)
    alerts = page.get_by_test_id("alerts")
    await expect(alerts.locator("tbody tr")).to_have_count(1)
    await expect(alerts).to_contain_text("箱码 20261201-B000001")
    await still_shot(page, "codes-diversion-7-from-the-bell")
    await page.get_by_test_id("store-filter").locator(".el-tag__close").click()
    assert "store_id" not in page.url
    await context.close()
