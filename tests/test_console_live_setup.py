"""Planning live sessions in the console, in a real browser, as a distributor: a session is
created through the form (a cover uploaded, two products with live price and stock, a rain, a
coupon drop and a draw, the stores invited by tag) and the API then holds exactly what was
entered; it is edited (its title and a live price); a bad form is refused in Chinese with
nothing created, and a refusal of the API is shown in its words; the list shows each session
with its state; another distributor's session is not found by URL, and nothing of it shows.
Screenshots of the list and the form go to test-artifacts/console/."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image
from playwright.async_api import Page, expect

from backend.identity.models import Role
from backend.livestream.models import LiveSession
from backend.org.models import StoreTag
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401 (fixture)
from tests.factories import distributor_admin, make_shop, make_staff, make_store, staff_headers
from tests.test_live_coupon_drops import coupon_template
from tests.test_live_sessions import API, scheduled, session_body

pytestmark = needs_browser
CHINA = ZoneInfo("Asia/Shanghai")


def china_text(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def cover_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


OPTIONS = ".el-select-dropdown:visible .el-select-dropdown__item"


async def chose(page: Page, option: str) -> None:
    """Clicks the open dropdown's option containing `option`, and closes what stays open
    (a multiple select keeps its dropdown open)."""
    await page.locator(OPTIONS).filter(has_text=option).first.click()
    if await page.locator(".el-select-dropdown:visible").count():
        await page.locator(".page-head h2").click()  # outside: the dropdown closes
    await expect(page.locator(".el-select-dropdown:visible")).to_have_count(0)


async def pick(page: Page, label: str, option: str) -> None:
    """Opens the Element select labelled `label` and clicks the option containing `option`."""
    field = page.get_by_role("combobox", name=label, exact=True)
    await field.locator("xpath=ancestor::div[contains(@class, 'el-select__wrapper')]").click()
    await chose(page, option)


async def search_and_pick(page: Page, label: str, text: str, option: str) -> None:
    """Types into a remote-search select and clicks the option containing `option`."""
    field = page.get_by_role("combobox", name=label, exact=True)
    await field.locator("xpath=ancestor::div[contains(@class, 'el-select__wrapper')]").click()
    await field.fill(text)
    await chose(page, option)


async def loaded(page: Page, selector: str) -> None:
    """Waits until the first image matching `selector` has loaded (not a broken image)."""
    await page.wait_for_function(
        "s => { const i = document.querySelector(s); return i?.complete && i.naturalWidth > 0 }",
        arg=selector,
    )


async def set_number(page: Page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    await field.fill(str(value))
    await field.press("Tab")


async def set_times(page: Page, start: str, end: str) -> None:
    """Types both ends of the datetimerange picker (China time) and closes it."""
    start_input = page.locator("input.el-range-input[placeholder='开始时间']")
    end_input = page.locator("input.el-range-input[placeholder='结束时间']")
    await start_input.click()
    await start_input.fill(start)
    await end_input.fill(end)
    await end_input.press("Enter")
    await page.keyboard.press("Escape")
    await page.get_by_label("直播标题").click()


async def test_a_distributor_plans_and_replans_a_session_from_the_console(
    browser,  # noqa: F811 (the fixture imported above)
    platform_url,
    live_api,  # uploads are served at the public base URL, the app on the API's port
    client,
    deps,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    headers = await staff_headers(client, dealer)
    flagship = [await make_store(tenant, name=f"旗舰店{n}") for n in (1, 2)]
    for store in flagship:
        await StoreTag.create(store=store, tag="旗舰店")
    await StoreTag.create(store=tenant.store, tag="社区店")
    coupon = await coupon_template(tenant, deps.clock.now(), None)
    tomorrow = (deps.clock.now().astimezone(CHINA) + timedelta(days=1)).replace(
        hour=20, minute=0, second=0, microsecond=0
    )
    starts, ends = china_text(tomorrow), china_text(tomorrow + timedelta(hours=2))

    # The list, empty; the form, empty.
    context, page = await signed_in(browser, platform_url, dealer, "/live")
    broken: list[str] = []  # any call the pages make that the API does not know, or fails
    page.on(
        "response",
        lambda response: (
            broken.append(f"{response.status} {response.url}")
            if response.status in (404, 405) or response.status >= 500
            else None
        ),
    )
    await expect(page.get_by_role("heading", name="直播订货会")).to_be_visible()
    await expect(page.get_by_text("还没有直播")).to_be_visible()
    await page.get_by_role("button", name="新建直播").click()
    await expect(page.get_by_role("heading", name="新建直播")).to_be_visible()
    await shot(page, "live-2-form-empty")

    # A bad form: the start is the end, the live price above the list price. Refused in
    # Chinese before anything is sent.
    await page.get_by_label("直播标题").fill("填错的直播")
    await set_times(page, starts, starts)
    await search_and_pick(page, "添加商品", "滤芯", "滤芯")
    await page.get_by_label("澜泉 RO 净水器 · 滤芯 直播价").fill("120")
    await page.get_by_role("button", name="创建直播").click()
    await expect(page.get_by_test_id("refusal")).to_contain_text("请按提示修改")
    await expect(page.get_by_text("结束时间须晚于开始时间")).to_be_visible()
    await expect(page.get_by_text("直播价不能高于商品标价 ¥100.00")).to_be_visible()
    await shot(page, "live-4-form-error")
    assert await LiveSession.all().count() == 0

    # The form filled in: a cover, the times, the flagship stores by tag, two products, a rain,
    # a coupon drop and a draw.
    await page.get_by_role("button", name="移除").click()
    await page.get_by_label("直播标题").fill("双十二净水专场")
    async with page.expect_file_chooser() as chosen:
        await page.get_by_text("点击上传封面").click()
    await (await chosen.value).set_files(
        files=[{"name": "cover.png", "mimeType": "image/png", "buffer": cover_png()}]
    )
    await expect(page.get_by_test_id("cover-image")).to_be_visible()
    await loaded(page, "[data-testid=cover-image]")
    await set_times(page, starts, ends)
    await page.get_by_label("直播流地址").fill("https://live.example.com/app/s12.flv")
    await page.get_by_text("指定门店", exact=True).click()
    await search_and_pick(page, "受邀门店", "旗舰店", "旗舰店2")
    await expect(page.locator(".el-select__tags-text").filter(has_text="旗舰店2")).to_be_visible()
    await page.get_by_text("按标签", exact=True).click()
    await pick(page, "门店标签", "旗舰店（2 家）")
    await search_and_pick(page, "添加商品", "RO", "RO-500")
    await search_and_pick(page, "添加商品", "滤芯", "滤芯")
    await page.get_by_label("澜泉 RO 净水器 · RO-500 直播价").fill("1599")
    await set_number(page, "澜泉 RO 净水器 · RO-500 直播库存", 30)
    await page.get_by_label("澜泉 RO 净水器 · 滤芯 直播价").fill("80.5")
    await set_number(page, "澜泉 RO 净水器 · 滤芯 直播库存", 200)
    await page.get_by_role("button", name="添加红包雨").click()
    await page.get_by_label("第 1 场红包雨总额").fill("100")
    await set_number(page, "第 1 场红包个数", 50)
    await set_number(page, "第 1 场红包雨时长", 60)
    await page.get_by_role("button", name="添加发券").click()
    await pick(page, "第 1 次发券优惠券", "直播专享满3000减200")
    await set_number(page, "第 1 次发券张数", 40)
    await page.get_by_role("button", name="添加抽奖").click()
    await page.get_by_label("第 1 轮抽奖名称").fill("幸运大抽奖")
    await page.get_by_label("第 1 轮奖品 1", exact=True).fill("净水器一台")
    await set_number(page, "第 1 轮奖品 1 名额", 2)
    await pick(page, "第 1 轮参与门店", "本场下过单的门店")
    await expect(page.get_by_test_id("refusal")).to_have_count(0)
    await shot(page, "live-3-form-filled")
    await page.get_by_role("button", name="创建直播").click()
    await expect(page.get_by_role("heading", name="直播订货会")).to_be_visible()

    # The API holds exactly what was entered.
    listed = (await client.get(API, headers=headers)).json()["items"]
    assert len(listed) == 1
    session = (await client.get(f"{API}/{listed[0]['id']}", headers=headers)).json()
    assert session["title"] == "双十二净水专场"
    assert "/media/images/" in session["cover_url"]
    assert session["stream_url"] == "https://live.example.com/app/s12.flv"
    assert datetime.fromisoformat(session["starts_at"]) == tomorrow.astimezone(UTC)
    assert datetime.fromisoformat(session["ends_at"]) == (tomorrow + timedelta(hours=2)).astimezone(
        UTC
    )
    assert session["audience"] == {"mode": "tags", "tags": ["旗舰店"]}
    assert session["invited_count"] == 2
    assert [
        (p["sku"]["id"], p["live_price_fen"], p["live_stock"]) for p in session["products"]
    ] == [(shop.water, 159_900, 30), (shop.filters, 8_050, 200)]
    assert [(r["total_fen"], r["count"], r["duration_seconds"]) for r in session["rains"]] == [
        (10_000, 50, 60)
    ]
    assert [(d["template_id"], d["quantity"]) for d in session["coupon_drops"]] == [(coupon, 40)]
    assert [(d["title"], d["prizes"], d["eligibility"]) for d in session["draws"]] == [
        ("幸运大抽奖", [{"name": "净水器一台", "count": 2}], "ordered")
    ]

    # The list shows it with its state, cover and figures.
    row = page.locator(".el-table__row").filter(has_text="双十二净水专场")
    await expect(row).to_contain_text("未开始")
    await expect(row).to_contain_text("2 家")
    await expect(row.locator("img.thumb")).to_be_visible()
    await loaded(page, "img.thumb")

    # Edited: its title and a live price; the cover and the rest stay as they were.
    await row.get_by_role("link", name="编辑").click()
    await expect(page.get_by_role("heading", name="编辑直播")).to_be_visible()
    await expect(page.get_by_label("直播标题")).to_have_value("双十二净水专场")
    await expect(page.get_by_label("澜泉 RO 净水器 · RO-500 直播价")).to_have_value("1599.00")
    await expect(page.get_by_role("combobox", name="门店标签")).to_be_attached()
    await expect(page.locator(".el-select__tags-text").filter(has_text="旗舰店")).to_be_visible()
    await shot(page, "live-6-form-edit")
    await page.get_by_label("直播标题").fill("双十二净水专场（返场）")
    await page.get_by_label("澜泉 RO 净水器 · RO-500 直播价").fill("1499")
    await page.get_by_role("button", name="保存修改").click()
    await expect(page.get_by_role("heading", name="直播订货会")).to_be_visible()
    edited = (await client.get(f"{API}/{session['id']}", headers=headers)).json()
    assert edited["title"] == "双十二净水专场（返场）"
    assert [p["live_price_fen"] for p in edited["products"]] == [149_900, 8_050]
    assert [p["id"] for p in edited["products"]] == [p["id"] for p in session["products"]]
    unchanged = ("cover_url", "stream_url", "starts_at", "ends_at", "audience", "invited_count")
    assert {key: edited[key] for key in unchanged} == {key: session[key] for key in unchanged}
    assert [(r["total_fen"], r["count"], r["duration_seconds"]) for r in edited["rains"]] == [
        (10_000, 50, 60)
    ]
    assert [(d["template_id"], d["quantity"]) for d in edited["coupon_drops"]] == [(coupon, 40)]

    # Started while the form is open: the API refuses the save, and says why.
    await page.goto(f"{platform_url}/console#/live/{session['id']}/edit")
    await expect(page.get_by_label("直播标题")).to_have_value("双十二净水专场（返场）")
    assert (await client.post(f"{API}/{session['id']}/start", headers=headers)).status_code == 200
    await page.get_by_label("直播标题").fill("开播后再改")
    await page.get_by_role("button", name="保存修改").click()
    await expect(page.get_by_test_id("refusal")).to_contain_text("直播已开始或已结束，不能再修改")
    # Leaving with changes not saved asks first.
    await page.get_by_role("button", name="取消").click()
    await expect(page.get_by_text("填写的内容还没有保存，确定离开吗？")).to_be_visible()
    await page.get_by_role("button", name="离开", exact=True).click()
    await expect(page.get_by_role("heading", name="直播订货会")).to_be_visible()

    # The list: live now, no edit link; a second session not started; the state filter.
    later = await scheduled(client, headers, session_body(shop, deps, title="元旦订货会"))
    await page.reload()
    live_row = page.locator(".el-table__row").filter(has_text="双十二净水专场（返场）")
    await expect(live_row).to_contain_text("直播中")
    await expect(live_row.get_by_role("link", name="编辑")).to_have_count(0)
    await expect(live_row.get_by_role("link", name="控制台")).to_have_attribute(
        "href", f"#/live/{session['id']}"
    )
    await expect(page.locator(".el-table__row").filter(has_text="元旦订货会")).to_contain_text(
        "未开始"
    )
    await expect(page.get_by_text("全部 2", exact=True)).to_be_visible()
    await shot(page, "live-1-list")
    await page.get_by_text("直播中 1", exact=True).click()
    await expect(page).to_have_url(f"{platform_url}/console#/live?status=live")
    await expect(page.locator(".el-table__row")).to_have_count(1)
    await expect(page.locator(".el-table__row").filter(has_text="元旦订货会")).to_have_count(0)
    assert later["status"] == "scheduled"
    assert broken == []
    await context.close()


async def test_another_distributors_session_is_not_found_by_url(
    browser,  # noqa: F811 (the fixture imported above)
    platform_url,
    client,
    deps,
) -> None:
    mine = await make_shop()
    tenant = mine.tenant
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    elsewhere = await make_shop()
    theirs = await scheduled(
        client,
        await distributor_admin(client, elsewhere),
        session_body(elsewhere, deps, title="别家的秘密专场"),
    )
    context, page = await signed_in(browser, platform_url, dealer, f"/live/{theirs['id']}/edit")
    await expect(page.get_by_test_id("not-found")).to_contain_text("找不到该直播")
    await expect(page.get_by_text("别家的秘密专场")).to_have_count(0)
    await expect(page.get_by_label("直播标题")).to_have_count(0)
    await shot(page, "live-5-not-found")
    await page.goto(f"{platform_url}/console#/live")
    await expect(page.get_by_text("还没有直播")).to_be_visible()
    await expect(page.get_by_text("别家的秘密专场")).to_have_count(0)
    await context.close()

    # The brand's staff see their distributors' sessions, and plan none from here.
    ours = await scheduled(
        client, await distributor_admin(client, mine), session_body(mine, deps, title="品牌看得到")
    )
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/live")
    row = page.locator(".el-table__row").filter(has_text="品牌看得到")
    await expect(row).to_contain_text("未开始")
    await expect(row.get_by_role("link", name="控制台")).to_have_attribute(
        "href", f"#/live/{ours['id']}"
    )
    await expect(row.get_by_role("link", name="编辑")).to_have_count(0)
    await expect(page.get_by_role("button", name="新建直播")).to_have_count(0)
    await page.goto(f"{platform_url}/console#/live/new")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    await expect(page.get_by_label("直播标题")).to_have_count(0)
    await context.close()
