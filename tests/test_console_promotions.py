"""The brand's promotion pages in a real browser: a bundle promotion (净水器 + 10 滤芯 a set,
9折) created in the editor after its checks refused an empty form, simulated for a store
beside the editor while still a draft; a save refused by the API (a colleague activated it)
shown in its words; paused and activated again with confirmations, then seen in that store's
quote over the API and, once the store orders, in the budget chart; then ended. Distributor
staff get the 无权访问 page. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from backend.promotions.models import Promotion
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import distributor_admin, idempotent, make_shop, staff_headers, store_owner
from tests.test_console_stock_stores import distributor_staff, still_shot

pytestmark = needs_browser

CHINA = timedelta(hours=8)


def china_text(moment: datetime) -> str:
    return (moment.astimezone(UTC) + CHINA).strftime("%Y-%m-%d %H:%M")


async def pick(page: Page, box: str, search: str, option: str) -> None:
    """Searches `search` in the select with test id `box` and picks the option `option`."""
    select = page.get_by_test_id(box)
    await select.click()
    await select.locator("input").fill(search)
    found = page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
    await found.get_by_text(option, exact=True).click()


async def test_a_bundle_promotion_is_made_simulated_activated_and_quoted(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop = await make_shop()
    store = shop.tenant.store
    context, page = await signed_in(
        browser, platform_url, shop.tenant.admin_username, "/promotions"
    )
    await expect(page.get_by_role("heading", name="促销活动")).to_be_visible()
    await expect(page.get_by_text("还没有活动")).to_be_visible()
    await page.get_by_test_id("new-promotion").click()
    await expect(page.get_by_role("heading", name="新建活动")).to_be_visible()

    # The form's own checks, before anything is sent.
    await page.get_by_test_id("save").click()
    await expect(page.get_by_text("请填写活动名称")).to_be_visible()
    await expect(page.get_by_text("请选择活动开始和结束时间")).to_be_visible()
    assert await Promotion.all().count() == 0

    now = datetime.now(UTC)
    await page.get_by_test_id("name").fill("净水套装 9 折")
    starts = page.locator("input.el-range-input[placeholder='开始时间']")
    ends = page.locator("input.el-range-input[placeholder='结束时间']")
    await starts.fill(china_text(now - timedelta(hours=1)))
    await starts.press("Tab")
    await ends.fill(china_text(now + timedelta(days=30)))
    await ends.press("Enter")
    await page.get_by_test_id("name").click()  # closes the picker
    await page.get_by_test_id("kind").get_by_text("折扣", exact=True).click()
    await page.get_by_test_id("discount").fill("90")
    await expect(page.get_by_text("即 9折")).to_be_visible()
    await page.get_by_test_id("scope-mode").get_by_text("组合套装", exact=True).click()
    await pick(page, "bundle-add", "RO-500", "澜泉 RO 净水器 · RO-500")
    await pick(page, "bundle-add", "滤芯", "澜泉 RO 净水器 · 滤芯")
    bundle = page.get_by_test_id("bundle")
    await expect(bundle.locator("tbody tr")).to_have_count(2)
    await bundle.locator("tbody tr").nth(1).get_by_label("每套件数").fill("10")
    await page.get_by_test_id("budget").fill("1000")
    await page.get_by_test_id("save").click()
    await expect(page).to_have_url(re.compile(r"#/promotions/\d+/edit$"))
    promotion = await Promotion.get(name="净水套装 9 折")
    assert promotion.status == "draft" and promotion.budget_fen == 100_000
    assert promotion.rule["scope"]["bundle"] == [
        {"sku_id": shop.water, "set_quantity": 1},
        {"sku_id": shop.filters, "set_quantity": 10},
    ]
    assert promotion.rule["reward"] == {"kind": "discount", "percent": "90"}

    # The draft, tried out for the store beside the editor: its own set in the cart.
    simulator = page.get_by_test_id("simulator")
    await pick(page, "sim-store", store.name, f"{store.name}（C 级）")
    await simulator.get_by_test_id("sim-run").click()
    result = simulator.get_by_test_id("sim-result")
    await expect(result.get_by_test_id("sim-payable")).to_have_text("¥2,699.10")
    applied = result.locator(f"[data-applied='{promotion.id}']")
    await expect(applied).to_contain_text("净水套装 9 折")
    await expect(applied).to_contain_text("本活动")
    await expect(result).to_contain_text("-¥299.90")
    await still_shot(page, "promotions-1-editor-simulated")

    # A colleague activates it meanwhile: the next save is refused in the API's words, and
    # nothing changes.
    brand = await staff_headers(client, shop.tenant.admin_username)
    await client.post(f"/api/v1/promotions/{promotion.id}/activate", headers=brand)
    await page.get_by_test_id("budget").fill("2000")
    await page.get_by_test_id("save").click()
    refusal = page.locator(".el-alert")
    await expect(refusal).to_contain_text("进行中或已结束的活动不能修改，请先暂停")
    assert (await Promotion.get(id=promotion.id)).budget_fen == 100_000
    await page.get_by_role("link", name="查看活动").click()
    await page.get_by_role("dialog").get_by_role("button", name="离开").click()  # unsaved

    # Paused and activated again from its page, each after a confirmation.
    await expect(page.get_by_test_id("status")).to_have_text("进行中")
    for action, label, status in (("pause", "暂停", "已暂停"), ("activate", "启用", "进行中")):
        await page.locator(f"[data-action='{action}']").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_contain_text(f"{label}后")
        await dialog.get_by_role("button", name=label).click()
        await expect(page.get_by_test_id("status")).to_have_text(status)
    assert (await Promotion.get(id=promotion.id)).status == "active"

    # The store's own quote now has it; its order takes the money from the budget.
    owner = await store_owner(client, sandbox_client, store)
    cart = {
        "lines": [
            {"sku_id": shop.water, "quantity": 1},
            {"sku_id": shop.filters, "quantity": 10},
        ]
    }
    quote = (await client.post("/api/v1/quote", json=cart, headers=idempotent(owner))).json()
    assert [a["promotion_id"] for a in quote["promotions"]["applied"]] == [promotion.id]
    assert quote["payable_fen"] == 269_910
    placed = await client.post("/api/v1/orders", json=cart, headers=idempotent(owner))
    assert placed.status_code == 201, placed.text

    await page.reload()
    budget = page.get_by_test_id("budget")
    await expect(budget).to_contain_text("¥299.90")
    await expect(budget).to_contain_text("1 单 / 1 家门店")
    await expect(page.get_by_role("img", name="活动资金使用图表")).to_be_visible()
    await still_shot(page, "promotions-2-detail-active")

    await page.goto(f"{platform_url}/console#/promotions")
    await expect(page.locator("[data-tab='active']")).to_contain_text("1")
    row = page.locator(f"tr:has([data-promotion='{promotion.id}'])")
    await expect(row).to_contain_text("¥299.90 / ¥1,000.00")
    await expect(row).to_contain_text("进行中")
    await still_shot(page, "promotions-3-list")

    # Ended, after its confirmation: nothing moves it any more.
    await row.get_by_role("link", name="净水套装 9 折").click()
    await page.locator("[data-action='end']").click()
    await page.get_by_role("dialog").get_by_role("button", name="结束").click()
    await expect(page.get_by_test_id("status")).to_have_text("已结束")
    await expect(page.locator("[data-action]")).to_have_count(0)
    assert (await Promotion.get(id=promotion.id)).status == "ended"
    await context.close()

    # Distributor staff reach neither the page nor its API.
    username, _ = await distributor_staff(client, shop)
    context, page = await signed_in(browser, platform_url, username, "/promotions/new")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    assert not await page.get_by_role("link", name="促销活动").count()
    await shot(page, "promotions-4-distributor-forbidden")
    await context.close()
    refused = await client.post(
        f"/api/v1/promotions/{promotion.id}/activate", headers=await distributor_admin(client, shop)
    )
    assert refused.status_code == 403
    assert (await Promotion.get(id=promotion.id)).status == "ended"
