"""Consumer campaigns (消费者活动) in a real browser. A brand admin sets one up through the form
(its own checks first), publishes it from the list, sees a second campaign on the same SKU
refused in the server's words, adds budget to the running one (the rest locked) and ends it;
the figures show coupons consumers took. Distributor staff reach none of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import expect

from backend.codes.models import CodeCampaign
from tests.console_browser import browser, needs_browser, signed_in  # noqa: F401
from tests.factories import bearer, make_shop, staff_headers, wechat_login
from tests.test_codes_checks import ready_batch
from tests.test_console_coupons import confirm, forbidden_to_distributors, search_and_choose
from tests.test_console_display import fill_date, shot

pytestmark = needs_browser

API = "/api/v1/codes"


async def test_a_brand_runs_a_consumer_campaign(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    made = await ready_batch(shop)
    context, page = await signed_in(
        browser, platform_url, tenant.admin_username, "/codes/campaigns"
    )
    await expect(page.get_by_role("heading", name="消费者活动", exact=True)).to_be_visible()
    await expect(page.get_by_text("还没有消费者活动")).to_be_visible()
    await page.get_by_test_id("new-campaign").click()
    await expect(page.get_by_role("heading", name="新建消费者活动")).to_be_visible()

    # The form's own checks, before anything is sent.
    await page.get_by_test_id("save").click()
    await expect(page.get_by_text("请填写活动名称")).to_be_visible()
    await expect(page.get_by_text("请选择参与活动的商品")).to_be_visible()
    await expect(page.get_by_text("请选择活动的开始和结束时间")).to_be_visible()
    await expect(page.get_by_text("请填写券面值")).to_be_visible()
    assert await CodeCampaign.all().count() == 0

    now = datetime.now(UTC)
    await page.get_by_label("活动名称", exact=True).fill("扫码验真领 5 元券")
    await search_and_choose(page, "参与商品", "RO-500")
    await page.get_by_label("活动名称", exact=True).click()  # closes the list
    await fill_date(page, "开始时间", now - timedelta(hours=1))
    await fill_date(page, "结束时间", now + timedelta(days=30))
    await page.get_by_label("活动名称", exact=True).click()
    await page.get_by_label("券面值").fill("5")
    await page.get_by_label("活动预算").fill("10")
    await expect(page.get_by_test_id("budget-note")).to_contain_text("预算可发 2 张券")
    await shot(page, "codes-campaigns-1-new")
    await page.get_by_test_id("save").click()
    await expect(page.get_by_role("heading", name="消费者活动", exact=True)).to_be_visible()
    created = await CodeCampaign.get(name="扫码验真领 5 元券")
    assert (created.status, created.sku_ids, created.coupon_value_fen, created.budget_fen) == (
        "draft",
        [shop.water],
        500,
        1_000,
    )
    row = page.locator(".el-table__row").filter(has_text="扫码验真领 5 元券")
    await expect(row).to_contain_text("草稿")

    # Published from the list, asked first.
    await page.locator(f"[data-publish='{created.id}']").click()
    await confirm(page, "发布")
    await expect(page.locator(f"[data-phase='{created.id}']")).to_have_text("进行中")

    # Consumers take both coupons the budget pays for; the list counts them.
    for n in range(3):
        consumer = await wechat_login(client, sandbox_client, f"console-consumer-{n}")
        await client.post(
            f"{API}/checks", json={"code": made.items[n].token}, headers=bearer(consumer)
        )
    # A second campaign on the same SKU at the same time is refused in the server's words.
    admin = await staff_headers(client, tenant.admin_username)
    second = await client.post(
        f"{API}/campaigns",
        json={
            "name": "滤芯同享",
            "sku_ids": [shop.water, shop.filters],
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=3)).isoformat(),
            "coupon_value_fen": 300,
            "coupon_valid_days": 7,
            "budget_fen": 30_000,
        },
        headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert second.status_code == 201, second.text
    await page.reload()
    await expect(page.locator(f"[data-figures='{created.id}']")).to_have_text("2 张 / 0 张")
    await expect(page.locator(f"[data-budget='{created.id}']")).to_have_text("¥10.00 / ¥10.00")
    await expect(page.get_by_text("预算已发完")).to_be_visible()
    await page.locator(f"[data-publish='{second.json()['id']}']").click()
    await confirm(page, "发布")
    await expect(page.locator(".el-message--error")).to_contain_text("扫码验真领 5 元券")
    await expect(page.locator(f"[data-phase='{second.json()['id']}']")).to_have_text("草稿")
    await shot(page, "codes-campaigns-2-list")

    # A running campaign: only more budget or another end; the rest is locked.
    await page.locator(f"[data-edit='{created.id}']").click()
    await expect(page.get_by_role("heading", name="编辑消费者活动")).to_be_visible()
    await expect(page.get_by_test_id("locked-note")).to_contain_text("已发出 2 张券")
    await expect(page.get_by_label("活动名称", exact=True)).to_be_disabled()
    await expect(page.get_by_label("券面值")).to_be_disabled()
    await page.get_by_label("活动预算").fill("5")
    await page.get_by_test_id("save").click()
    await expect(page.get_by_text("活动已发布，预算只能增加")).to_be_visible()
    await page.get_by_label("活动预算").fill("20")
    await shot(page, "codes-campaigns-3-edit-live")
    await page.get_by_test_id("save").click()
    await expect(page.get_by_role("heading", name="消费者活动", exact=True)).to_be_visible()
    await expect(page.locator(f"[data-budget='{created.id}']")).to_have_text("¥10.00 / ¥20.00")
    await created.refresh_from_db()
    assert created.budget_fen == 2_000 and created.name == "扫码验真领 5 元券"

    # Ended early: coupons given stay, nothing more to do on it.
    await page.locator(f"[data-end='{created.id}']").click()
    await confirm(page, "结束")
    await expect(page.locator(f"[data-phase='{created.id}']")).to_have_text("已提前结束")
    await expect(page.locator(f"[data-end='{created.id}']")).to_have_count(0)
    await created.refresh_from_db()
    assert created.status == "ended"
    await context.close()

    await forbidden_to_distributors(
        browser,
        platform_url,
        tenant.brand.id,
        tenant.distributor.id,
        ["/codes/campaigns", "/codes/campaigns/new", f"/codes/campaigns/{created.id}/edit"],
    )


async def test_an_unknown_campaign_says_so(
    browser,  # noqa: F811 (the fixture)
    platform_url,
) -> None:
    shop = await make_shop()
    context, page = await signed_in(
        browser, platform_url, shop.tenant.admin_username, "/codes/campaigns/987654/edit"
    )
    await expect(page.get_by_text("找不到该消费者活动")).to_be_visible()
    await context.close()
