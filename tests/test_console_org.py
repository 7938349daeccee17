"""The brand's organisation pages in a real browser: a distributor created (its sub-merchant
number checked before sending), a salesperson registered on its page, stores tagged and moved
in bulk, each checked through the API afterwards; distributor staff get the no-access page.
Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from backend.identity.models import Role
from backend.org.models import Distributor, Region, Salesperson, Store, StoreTag
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import make_staff, make_store, make_tenant

pytestmark = needs_browser


async def still_shot(page: Page, name: str) -> None:
    """A screenshot once dialogs and messages have finished fading in."""
    await page.evaluate(
        "Promise.all(document.getAnimations()"
        ".filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)"
        ".map((a) => a.finished.catch(() => null)))"
    )
    await shot(page, name)


async def test_brand_admin_builds_a_distributor_and_tags_and_moves_stores(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
) -> None:
    tenant = await make_tenant()
    await Region.create(brand=tenant.brand, name="华东大区")
    await Region.create(brand=tenant.brand, name="华南大区")
    north = await make_store(tenant, name="城北超市", tier="A")
    south = await make_store(tenant, name="城南便利", salesperson=None)
    await StoreTag.create(store=south, tag="社区店")

    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/org/regions")
    await expect(page.get_by_test_id("regions-table")).to_contain_text("华东大区")
    await still_shot(page, "org-1-regions")

    # A distributor: the sub-merchant number is checked before anything is sent.
    await page.get_by_role("link", name="经销商", exact=True).click()
    table = page.get_by_test_id("distributors-table")
    await expect(table.locator("tbody tr")).to_have_count(2)
    await page.get_by_role("button", name="新建经销商").click()
    dialog = page.get_by_role("dialog", name="新建经销商")
    await dialog.get_by_label("经销商名称").fill("宁波海曙商贸")
    await dialog.get_by_label("联系人").fill("陈静")
    await dialog.get_by_label("联系电话").fill("13812345678")
    await dialog.get_by_label("子商户号").fill("19000-01")
    await choose(page, "服务区域", "华东大区")
    await dialog.get_by_label("联系人").click()  # a multiple select stays open until left
    await dialog.get_by_role("button", name="新建").click()
    await expect(dialog.get_by_text("子商户号为 8–12 位数字")).to_be_visible()
    await still_shot(page, "org-2-distributor-dialog")
    assert not await Distributor.exists(name="宁波海曙商贸")
    await dialog.get_by_label("子商户号").fill("1900000109")
    await dialog.get_by_role("button", name="新建").click()
    await expect(page.get_by_text("已新建经销商 宁波海曙商贸")).to_be_visible()
    created = await Distributor.get(brand_id=tenant.brand.id, name="宁波海曙商贸")
    assert (created.contact_name, created.contact_phone, created.wechat_sub_mchid) == (
        "陈静",
        "13812345678",
        "1900000109",
    )
    row = table.locator(f"tr:has([data-distributor='{created.id}'])")
    await expect(row).to_contain_text("华东大区")
    await expect(page.get_by_test_id("distributors-table")).to_contain_text("3")  # stores
    await still_shot(page, "org-3-distributors")

    # Its page: a salesperson registered for it.
    await row.get_by_role("link", name="宁波海曙商贸").click()
    await expect(page.get_by_role("heading", name="宁波海曙商贸")).to_be_visible()
    await page.get_by_role("button", name="登记业务员").click()
    person_dialog = page.get_by_role("dialog", name="登记业务员")
    await person_dialog.get_by_label("姓名").fill("周洋")
    await person_dialog.get_by_label("手机号").fill("1390000")
    await person_dialog.get_by_role("button", name="登记").click()
    await expect(person_dialog.get_by_text("请输入 11 位手机号")).to_be_visible()
    await person_dialog.get_by_label("手机号").fill("13900007777")
    await person_dialog.get_by_role("button", name="登记").click()
    await expect(page.get_by_text("已登记业务员 周洋")).to_be_visible()
    await expect(page.get_by_test_id("salespeople-table")).to_contain_text("13900007777")
    zhou = await Salesperson.get(brand_id=tenant.brand.id, phone="13900007777")
    assert zhou.distributor_id == created.id  # type: ignore[attr-defined]
    await still_shot(page, "org-4-distributor-page")

    # The stores: two tagged and moved in bulk.
    await page.get_by_role("link", name="门店管理").click()
    stores = page.get_by_test_id("org-stores-table")
    await expect(stores.locator("tbody tr")).to_have_count(3)
    for store in (north, south):
        await stores.locator(f"tr:has([data-store='{store.id}']) .el-checkbox").click()
    await expect(page.get_by_test_id("selected-count")).to_have_text("2")
    await page.get_by_role("button", name="批量设置标签").click()
    tags = page.get_by_role("dialog", name="批量设置标签")
    add = tags.get_by_role("combobox", name="添加标签", exact=True)
    await add.fill("重点客户")
    await add.press("Enter")
    await tags.get_by_text("已选").click()  # a multiple select stays open until left
    await still_shot(page, "org-5-bulk-tags")
    await tags.get_by_role("button", name="确认更新").click()
    await expect(page.get_by_text("标签已更新：2 家门店有变化")).to_be_visible()
    tagged = await StoreTag.filter(tag="重点客户").values_list("store_id", flat=True)
    assert sorted(tagged) == sorted([north.id, south.id])
    await expect(stores.locator(f"tr:has([data-store='{south.id}'])")).to_contain_text("重点客户")

    for store in (north, south):
        await stores.locator(f"tr:has([data-store='{store.id}']) .el-checkbox").click()
    await page.get_by_role("button", name="批量转移").click()
    move = page.get_by_role("dialog", name="批量转移门店")
    await choose(page, "转到经销商", "宁波海曙商贸")
    await choose(page, "转给业务员", "周洋")
    await expect(move.get_by_test_id("move-summary")).to_contain_text("业务员改为「周洋」")
    await still_shot(page, "org-6-bulk-move")
    await move.get_by_role("button", name="转移").click()
    confirm = page.get_by_role("dialog", name="确认转移")
    await expect(confirm).to_contain_text("2 家门店")
    await confirm.get_by_role("button", name="确认转移").click()
    await expect(page.get_by_text("已转移 2 家门店")).to_be_visible()
    for store in (north, south):
        moved = await Store.get(id=store.id)
        assert (moved.distributor_id, moved.salesperson_id) == (created.id, zhou.id)  # type: ignore[attr-defined]
    north_row = stores.locator(f"tr:has([data-store='{north.id}'])")
    await expect(north_row.get_by_test_id("store-distributor")).to_have_text("宁波海曙商贸")
    await expect(north_row.get_by_test_id("store-salesperson")).to_have_text("周洋")
    await choose(page, "经销商", "宁波海曙商贸")
    await expect(page).to_have_url(re.compile(f"distributor_id={created.id}"))
    await expect(stores.locator("tbody tr")).to_have_count(2)
    await still_shot(page, "org-7-stores-moved")

    # A store's own page: its tier changed there.
    await north_row.get_by_role("link", name="城北超市").click()
    await expect(page.get_by_role("heading", name="城北超市")).to_be_visible()
    await page.get_by_role("radio", name="B 类").click(force=True)
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("门店已保存")).to_be_visible()
    assert (await Store.get(id=north.id)).tier == "B"
    await still_shot(page, "org-8-store")

    # The salesperson now serves both stores; the count opens them.
    await page.get_by_role("link", name="业务员", exact=True).click()
    people = page.get_by_test_id("salespeople-table")
    zhou_row = people.locator(f"tr:has([data-salesperson='{zhou.id}'])")
    await expect(zhou_row.get_by_test_id("salesperson-stores")).to_have_text("2")
    await still_shot(page, "org-9-salespeople")
    await zhou_row.get_by_test_id("salesperson-stores").click()
    await expect(page).to_have_url(re.compile(f"salesperson_id={zhou.id}"))
    await expect(stores.locator("tbody tr")).to_have_count(2)
    await context.close()

    # Distributor staff reach none of these pages.
    staff = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    context, page = await signed_in(browser, platform_url, staff, "/org/stores")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    await expect(page.get_by_role("link", name="门店管理")).to_have_count(0)
    await context.close()
