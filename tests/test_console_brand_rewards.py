"""The brand's points mall, lottery wheel and complaint settings in a real browser, as brand
staff: a gift listed (with a picture) and restocked, a store's redemption sent to the contact
it gave, a wheel set up with prizes whose chances show as they are typed, a won prize marked
delivered, a complaint service level changed, and the archive listing a closed complaint;
each checked through the API afterwards. Distributor staff get 无权访问 on the brand-only
pages. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Page, expect

from backend.identity.models import Role
from backend.lottery.models import LotterySpin
from backend.mall.models import MallItem, Redemption
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import bearer, make_shop, make_staff
from tests.test_complaints import filed, parties, walk
from tests.test_console_live_panel import settled_shot
from tests.test_console_live_setup import china_text, cover_png, loaded
from tests.test_lottery import paid_order, spin, wheel
from tests.test_mall import DELIVERY, listed, with_points

pytestmark = needs_browser


async def confirm(page: Page, title: str, button: str) -> None:
    """Answers the confirmation box titled `title` with `button`."""
    box = page.get_by_role("dialog", name=title)
    await expect(box).to_be_visible()
    await box.get_by_role("button", name=button).click()
    await expect(box).to_be_hidden()


async def test_brand_staff_run_the_mall_the_wheel_and_complaint_settings(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    live_api,  # uploads are served at the public base URL
    client,
    sandbox_client,
    deps,
) -> None:
    shop, brand, distributor, owner = await parties(client, sandbox_client)
    tenant = shop.tenant
    # A store redeemed a gift to a contact, won a cup on a wheel, and had a complaint closed.
    cup = await listed(client, shop, name="定制水杯", points_price=300, stock=5)
    await with_points(shop, 1_000)
    redeemed = await client.post(
        f"/api/v1/mall/items/{cup['id']}/redeem",
        json={"quantity": 1, "delivery": DELIVERY},
        headers={**bearer(owner), "Idempotency-Key": "redeem-1"},
    )
    assert redeemed.status_code == 201, redeemed.text
    prize_wheel = await wheel(
        client,
        shop,
        deps.clock.now(),
        [{"name": "净水壶", "kind": "goods", "weight": 1, "stock": 3}],
    )
    await paid_order(client, shop, owner)
    won = (await spin(client, owner, prize_wheel["id"])).json()
    complaint = await filed(client, owner)
    await walk(client, complaint["id"], brand, distributor, until="confirm", owner=bearer(owner))

    # The mall: a gift listed with a picture, then restocked by 5.
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/mall/items")
    await expect(page.get_by_role("heading", name="积分商城")).to_be_visible()
    await expect(page.locator("[data-item='定制水杯']")).to_be_visible()
    await page.get_by_role("button", name="上架新礼品").click()
    dialog = page.get_by_role("dialog", name="上架新礼品")
    await dialog.get_by_role("button", name="上架").click()
    await expect(dialog.get_by_text("请填写礼品名称")).to_be_visible()  # checked before sending
    await dialog.get_by_label("礼品名称").fill("品牌雨伞")
    await dialog.get_by_label("说明").fill("三折晴雨伞，随下次订货送到")
    async with page.expect_file_chooser() as chosen:
        await dialog.get_by_text("点击上传").click()
    await (await chosen.value).set_files(
        files=[{"name": "umbrella.png", "mimeType": "image/png", "buffer": cover_png()}]
    )
    await loaded(page, "[data-testid=item-image]")
    await dialog.get_by_label("积分价").fill("500")
    await dialog.get_by_label("初始库存").fill("20")
    await dialog.get_by_label("初始库存").press("Tab")
    await expect(page.locator(".dialog-fade-enter-active")).to_have_count(0)
    await shot(page, "mall-1-new-item")
    await dialog.get_by_role("button", name="上架").click()
    row = page.locator("tr", has=page.locator("[data-item='品牌雨伞']"))
    await expect(row).to_contain_text("500 积分")
    await expect(row.get_by_test_id("item-stock")).to_have_text("20 件")
    await row.get_by_role("button", name="调整库存").click()
    stock = page.get_by_role("dialog", name="调整库存")
    await stock.get_by_label("件数").fill("5")
    await stock.get_by_label("件数").press("Tab")
    await expect(stock.get_by_test_id("stock-after")).to_contain_text("调整后约 25 件")
    await stock.get_by_role("button", name="保存").click()
    await expect(row.get_by_test_id("item-stock")).to_have_text("25 件")
    await settled_shot(page, "mall-2-items")
    umbrella = await MallItem.get(brand_id=tenant.brand.id, name="品牌雨伞")
    assert (umbrella.points_price, umbrella.stock, umbrella.status) == (500, 25, "on_sale")
    assert "/media/images/" in umbrella.image_url

    # Redemptions: the store's gift to the contact it gave, sent after confirming.
    await page.get_by_role("link", name="兑换发货").click()
    sending = page.locator("tr", has=page.locator(f"[data-redemption='{redeemed.json()['id']}']"))
    await expect(sending).to_contain_text(f"{DELIVERY['name']} · {DELIVERY['phone']}")
    await expect(sending).to_contain_text(DELIVERY["address"])
    await expect(sending).to_contain_text(tenant.store.name)
    await shot(page, "mall-3-redemptions")
    await sending.get_by_role("button", name="标记已发货").click()
    await confirm(page, "标记已发货", "确认已发货")
    await expect(sending).to_contain_text("已发货")
    assert (await Redemption.get(id=redeemed.json()["id"])).status == "delivered"

    # A wheel with three prizes; the chances follow the weights as they are typed.
    await page.get_by_role("link", name="抽奖转盘").click()
    await page.get_by_role("button", name="新建转盘").click()
    dialog = page.get_by_role("dialog", name="新建抽奖转盘")
    await dialog.get_by_label("转盘名称").fill("春季订货抽奖")
    await dialog.get_by_label("抽奖门槛").fill("1000")
    now = deps.clock.now()
    start, end = china_text(now - timedelta(hours=1)), china_text(now + timedelta(days=30))
    start_input = dialog.locator("input.el-range-input[placeholder='开始时间']")
    await start_input.click()
    await start_input.fill(start)
    end_input = dialog.locator("input.el-range-input[placeholder='结束时间']")
    await end_input.fill(end)
    await end_input.press("Enter")
    await dialog.get_by_label("转盘名称").click()  # outside the picker: it closes
    await dialog.get_by_label("奖品1名称").fill("品牌定制水杯")
    await dialog.get_by_label("奖品1权重").fill("30")
    await dialog.get_by_label("奖品1权重").press("Tab")
    await expect(dialog.get_by_test_id("chance-0")).to_have_text("25.00%")
    await dialog.get_by_role("button", name="添加奖品").click()
    await dialog.get_by_label("奖品3名称").fill("100 积分")
    await choose(page, "奖品3类型", "积分")
    await expect(dialog.get_by_test_id("chance-0")).to_have_text("23.08%")
    await expect(dialog.get_by_test_id("chance-2")).to_have_text("7.69%")
    await settled_shot(page, "lottery-1-new-wheel")
    await dialog.get_by_role("button", name="创建转盘").click()
    card = page.locator("[data-wheel='春季订货抽奖']")
    await expect(card.get_by_test_id("wheel-phase")).to_have_text("进行中")
    await expect(card).to_contain_text("单笔满 ¥1,000.00 抽一次")
    await expect(card).to_contain_text("69.23%")
    await settled_shot(page, "lottery-2-wheels")
    wheels = (await client.get("/api/v1/lottery/wheels", headers=brand)).json()["items"]
    [spring] = [w for w in wheels if w["name"] == "春季订货抽奖"]
    assert spring["threshold_fen"] == 100_000
    assert [
        (p["name"], p["kind"], p["points"], p["weight"], p["stock"]) for p in spring["prizes"]
    ] == [
        ("品牌定制水杯", "goods", 0, 30, 10),
        ("谢谢参与", "nothing", 0, 90, None),
        ("100 积分", "points", 100, 10, 10),
    ]

    # The prize won: sent after confirming.
    await page.get_by_role("link", name="奖品发放").click()
    owed = page.locator("tr", has=page.locator(f"[data-spin='{won['id']}']"))
    await expect(owed).to_contain_text(tenant.store.address)
    await shot(page, "lottery-3-prizes")
    await owed.get_by_role("button", name="标记已发放").click()
    await confirm(page, "标记已发放", "确认已发放")
    await expect(owed).to_contain_text("已发放")
    assert (await LotterySpin.get(id=won["id"])).status == "delivered"

    # Service levels: a refused value is explained, a good one saved and held by the API.
    await page.get_by_role("link", name="服务时限").click()
    first = page.get_by_label("配送延迟/未送达首次响应小时")
    total = page.get_by_label("配送延迟/未送达解决小时")
    delivery_row = page.locator("tr", has=page.locator("[data-sla='delivery']"))
    await first.fill("30")
    await first.press("Tab")
    await expect(delivery_row).to_contain_text("解决时限不能短于首次响应时限")
    await expect(delivery_row.get_by_role("button", name="保存")).to_be_disabled()
    await first.fill("1")
    await first.press("Tab")
    await total.fill("12")
    await total.press("Tab")
    await delivery_row.get_by_role("button", name="保存").click()
    await expect(delivery_row).to_contain_text("响应 1.0 小时 · 解决 12.0 小时")
    await settled_shot(page, "complaints-sla")
    levels = (await client.get("/api/v1/complaints/sla", headers=brand)).json()["items"]
    assert {"category": "delivery", "first_response_minutes": 60, "resolution_minutes": 720} in (
        levels
    )

    # The archive: the closed complaint, also under the 已关闭 filter.
    await page.get_by_role("link", name="投诉档案").click()
    closed = page.locator("tr", has=page.locator(f"[data-complaint='{complaint['id']}']"))
    await expect(closed).to_contain_text("已关闭")
    await expect(closed).to_contain_text(tenant.store.name)
    await choose(page, "状态", "已关闭")
    await expect(closed).to_be_visible()
    assert "status=closed" in page.url
    await expect(page.locator(".el-select-dropdown:visible")).to_have_count(0)
    await settled_shot(page, "complaints-archive")
    await context.close()

    # Distributor staff: the brand's pages are closed to them; the archive shows their own.
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    context, page = await signed_in(browser, platform_url, dealer, "/mall/items")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    for path in ("/mall/redemptions", "/lottery/wheels", "/lottery/prizes", "/complaints/sla"):
        await page.goto(f"{platform_url}/console#{path}")
        await expect(page.get_by_text("无权访问")).to_be_visible()
    await expect(page.get_by_role("link", name="积分商城")).to_have_count(0)
    await page.goto(f"{platform_url}/console#/complaints/archive")
    await expect(page.locator(f"[data-complaint='{complaint['id']}']")).to_be_visible()
    await context.close()
    # Another brand's admin sees none of it.
    other = await make_shop()
    context, page = await signed_in(
        browser, platform_url, other.tenant.admin_username, "/mall/redemptions"
    )
    await expect(page.get_by_text("没有待发货的兑换")).to_be_visible()
    await context.close()
