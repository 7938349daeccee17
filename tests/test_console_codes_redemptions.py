"""Consumers' e-coupons redeemed in stores and the brand's members, in a real browser. A brand
admin reads every redemption with its totals and narrows them to one distributor and one
store; the members page shows who each store brought and nothing personal. Distributor staff
read their own stores' redemptions only and cannot open the members."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from backend.codes.models import BrandMember
from backend.identity.models import Role, User
from tests.console_browser import browser, needs_browser, signed_in  # noqa: F401
from tests.factories import bearer, make_staff, make_store, store_owner
from tests.test_codes_redemptions import World, give_coupon, make_codes, make_world, qr, redeem
from tests.test_console_org import still_shot

pytestmark = needs_browser


async def redeemed_world(client, sandbox_client, deps) -> tuple[World, object]:
    """Three coupons redeemed: two at the tenant's stores, one at a store of the other
    distributor; one more given and not redeemed."""
    world = await make_world(client, sandbox_client, deps)
    tenant = world.shop.tenant
    far = await make_store(tenant, distributor=tenant.other_distributor, name="城西便利店")
    _, _, far_items = await make_codes(world.shop, world.now, [far])
    far_owner = bearer(await store_owner(client, sandbox_client, far))
    await User.filter(id=world.consumer_id).update(phone="13900001111", display_name="张三")
    for headers, item in (
        (world.owner, world.items[0]),
        (world.neighbour_owner, world.items[3]),
        (far_owner, far_items[0]),
    ):
        coupon = await give_coupon(world, item)
        response = await redeem(client, headers, qr(deps, coupon))
        assert response.status_code == 201, response.text
    await give_coupon(world, world.items[1])
    return world, far


def figure(page: Page, key: str):
    return page.get_by_test_id("figures").locator(f"[data-figure='{key}']")


async def test_brand_reads_redemptions_and_members(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    world, far = await redeemed_world(client, sandbox_client, deps)
    tenant = world.shop.tenant
    context, page = await signed_in(
        browser, platform_url, tenant.admin_username, "/codes/redemptions"
    )
    await expect(page.get_by_role("heading", name="电子券核销")).to_be_visible()
    await expect(figure(page, "count")).to_have_text("3 张")
    await expect(figure(page, "value_fen")).to_have_text("¥15.00")
    await expect(figure(page, "stores")).to_have_text("3 家")
    table = page.get_by_test_id("redemptions")
    await expect(table.locator("tbody tr")).to_have_count(3)
    await expect(table).to_contain_text(world.store.name)
    await expect(table).to_contain_text(tenant.distributor.name)
    await expect(table).to_contain_text("澜泉 RO 净水器 RO-500")
    await expect(table).to_contain_text("扫码领券")
    await expect(table).to_contain_text("¥5.00")
    await still_shot(page, "codes-redemptions-1-brand")

    # One distributor: its store only, and the totals follow.
    combobox = page.get_by_role("combobox", name="经销商", exact=True)
    await page.locator(".el-select__wrapper").filter(has=combobox).click()
    await (
        page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
        .get_by_text(tenant.other_distributor.name, exact=True)
        .click()
    )
    await expect(figure(page, "count")).to_have_text("1 张")
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text("城西便利店")
    assert f"distributor_id={tenant.other_distributor.id}" in page.url
    await still_shot(page, "codes-redemptions-2-one-distributor")
    # What is shown can be taken away as a spreadsheet, to settle with the stores.
    async with page.expect_download() as downloading:
        await page.get_by_test_id("export").click()
    downloaded = await downloading.value
    assert downloaded.suggested_filename.startswith("coupon-redemptions-")
    assert downloaded.suggested_filename.endswith(".xlsx")

    # The members: the consumer brought by the first store, nothing personal on the page.
    await page.goto(f"{platform_url}/console#/codes/members")
    await expect(page.get_by_role("heading", name="品牌会员")).to_be_visible()
    await expect(figure(page, "members")).to_have_text("1 人")
    await expect(figure(page, "attributed")).to_have_text("1 人")
    members = page.get_by_test_id("members")
    member = await BrandMember.get(user_id=world.consumer_id)
    row = members.locator("tbody tr").filter(has=page.locator(f"[data-member='{member.id}']"))
    await expect(row).to_contain_text(world.store.name)
    await expect(row).to_contain_text("4 张")  # coupons given
    await expect(row).to_contain_text("3 张")  # redeemed
    body = await page.locator("body").inner_text()
    assert "13900001111" not in body and "张三" not in body
    await page.get_by_role("radio", name="未归属").check(force=True)
    await expect(page.get_by_text("没有符合条件的会员")).to_be_visible()
    assert "attributed=false" in page.url
    await page.get_by_role("radio", name="全部").check(force=True)
    await expect(members.locator("tbody tr")).to_have_count(1)
    await still_shot(page, "codes-members-1-brand")
    assert far  # the other distributor's store redeemed too
    await context.close()


async def test_distributor_reads_its_stores_redemptions_only(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
    deps,
) -> None:
    world, _ = await redeemed_world(client, sandbox_client, deps)
    tenant = world.shop.tenant
    username = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    context, page = await signed_in(browser, platform_url, username, "/codes/redemptions")
    await expect(page.get_by_role("heading", name="电子券核销")).to_be_visible()
    await expect(figure(page, "count")).to_have_text("2 张")
    await expect(figure(page, "value_fen")).to_have_text("¥10.00")
    table = page.get_by_test_id("redemptions")
    await expect(table.locator("tbody tr")).to_have_count(2)
    await expect(table).not_to_contain_text("城西便利店")
    await expect(page.get_by_role("combobox", name="经销商", exact=True)).to_have_count(0)
    await still_shot(page, "codes-redemptions-3-distributor")
    # No members in the sidebar, and the page itself refuses.
    await expect(page.get_by_role("menuitem", name=re.compile("品牌会员"))).to_have_count(0)
    await page.goto(f"{platform_url}/console#/codes/members")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    await context.close()
