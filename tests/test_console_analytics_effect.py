"""The effect pages in a real browser, on figures made through the services: 促销效果 lists a
promotion with its orders, GMV, cost and return, and its row opens the comparison with the
same stores before it and with the stores it did not reach; 优惠券效果 shows a template's
coupons from issued to used; 直播效果 a session from invited to ordered, for the brand and for
the host distributor, while promotions are the brand's only (无权访问). Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import expect

from tests.console_browser import browser, needs_browser, signed_in  # noqa: F401
from tests.factories import make_shop, make_store, store_owner
from tests.test_analytics_effect import filters, ordered, paid
from tests.test_console_stock_stores import distributor_staff, still_shot
from tests.test_coupons import issued_to_all, reduction_coupon, template, wallet
from tests.test_live_orders import keyed
from tests.test_live_sessions import API as LIVE_API
from tests.test_live_sessions import scheduled, session_body
from tests.test_promotions_admin import reduction
from tests.test_promotions_ordering import running, two_purifiers

pytestmark = needs_browser


async def test_the_brand_reads_what_promotions_coupons_and_live_sessions_earned(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    shop = await make_shop()
    first, second = shop.tenant.store, await make_store(shop.tenant)
    a, b = [await store_owner(client, sandbox_client, s) for s in (first, second)]
    dealer_name, dealer = await distributor_staff(client, shop)
    # A promotion that ran from 20 to 5 days ago, so that today's orders (the coupon's and
    # the live session's) fall outside what it is compared on.
    now = deps.clock.now()
    deps.clock.offset = timedelta(days=-21)
    await running(
        client,
        shop,
        reduction(
            starts_at=(now - timedelta(days=20)).isoformat(),
            ends_at=(now - timedelta(days=5)).isoformat(),
            budget_fen=1_000_000,
        ),
    )
    deps.clock.offset = timedelta(days=-25)  # before it: 1000.00 and 2000.00
    await paid(client, dealer, await ordered(client, a, filters(shop, 10)))
    await paid(client, dealer, await ordered(client, b, filters(shop, 20)))
    deps.clock.offset = timedelta(days=-10)  # during it: 3698.00 with it, 1000.00 without
    await paid(client, dealer, await ordered(client, a, two_purifiers(shop)))
    await paid(client, dealer, await ordered(client, b, filters(shop, 10)))
    deps.clock.offset = timedelta()

    coupon = await template(client, shop, reduction_coupon())
    await issued_to_all(client, shop, coupon["id"])
    [mine] = await wallet(client, a)
    used = await ordered(client, a, {**filters(shop, 40), "coupon_id": mine["id"]})
    await paid(client, dealer, used)  # 4000.00 - 200.00

    session = await scheduled(client, dealer, session_body(shop, deps))
    assert (await client.post(f"{LIVE_API}/{session['id']}/start", headers=dealer)).is_success
    live = await client.post(
        f"{LIVE_API}/{session['id']}/orders",
        json={"product_id": session["products"][0]["id"], "quantity": 1},
        headers=keyed(a),
    )
    assert live.status_code == 201, live.text
    await paid(client, dealer, live.json())

    context, page = await signed_in(
        browser, platform_url, shop.tenant.admin_username, "/analytics/promotions"
    )
    await expect(page.get_by_role("heading", name="促销效果")).to_be_visible()
    row = page.locator(".el-table__row", has_text="满3000减300")
    await expect(row).to_contain_text("¥3,698.00")
    await expect(row).to_contain_text("¥300.00")
    await expect(row).to_contain_text("12.3")
    await still_shot(page, "analytics-promotions")
    await row.click()
    drawer = page.locator(".el-drawer")
    await expect(drawer.get_by_text("活动效果：满3000减300")).to_be_visible()
    reached = drawer.locator(".el-table__row", has_text="参与活动门店")
    await expect(reached).to_contain_text("¥3,698.00 / ¥1,000.00")
    await expect(reached).to_contain_text("+269.8%")
    others = drawer.locator(".el-table__row", has_text="未参与门店")
    await expect(others).to_contain_text("-50.0%")
    # Reached +2698.00 a store while the other store fell 1000.00: 3698.00 added.
    await expect(drawer.get_by_text("¥3,698.00").first).to_be_visible()
    await expect(drawer.get_by_text("+269.8%").first).to_be_visible()
    await still_shot(page, "analytics-promotion-effect")

    await page.goto(f"{platform_url}/console#/analytics/coupons")
    await expect(page.get_by_role("heading", name="优惠券效果")).to_be_visible()
    coupon_row = page.locator(".el-table__row", has_text="满3000减200")
    await expect(coupon_row).to_contain_text("50.0%")
    await expect(coupon_row).to_contain_text("¥3,800.00")
    await expect(coupon_row).to_contain_text("19.0")
    await still_shot(page, "analytics-coupons")

    await page.goto(f"{platform_url}/console#/analytics/live")
    await expect(page.get_by_role("heading", name="直播效果")).to_be_visible()
    live_row = page.locator(".el-table__row", has_text="双十二净水专场")
    await expect(live_row).to_contain_text("2 → 1 → 1")
    await expect(live_row).to_contain_text("¥1,599.00")
    await still_shot(page, "analytics-live")
    await context.close()

    # The host distributor sees its own session; promotions are not its page.
    context, page = await signed_in(browser, platform_url, dealer_name, "/analytics/live")
    await expect(page.locator(".el-table__row", has_text="双十二净水专场")).to_contain_text(
        "2 → 1 → 1"
    )
    await page.goto(f"{platform_url}/console#/analytics/promotions")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    await context.close()
