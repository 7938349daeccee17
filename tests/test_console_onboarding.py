"""Onboarding (拓店) in a real browser, as brand staff: the review queue flags an application
that looks like an existing store, its page sets the two side by side; another application
is approved to a distributor and salesperson (the store then exists so, over the API); a
box-code run is made and its A4 QR sheet printed; a salesperson's invitation code is made
and printed. Distributor staff reach none of these pages."""

from __future__ import annotations

import re

from playwright.async_api import expect

from backend.identity.models import Role
from backend.org.codes import short_code
from backend.org.models import OnboardingCode, Salesperson
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import make_staff, make_tenant, staff_headers
from tests.test_onboarding_desk import APPLICATIONS, apply, make_batch

pytestmark = needs_browser


async def test_brand_staff_review_approve_and_print_codes(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李娜", phone="13900000066"
    )
    run = await make_batch(client, brand, count=2, distributor_id=tenant.distributor.id)
    clean = await apply(
        client,
        sandbox_client,
        run["items"][0]["token"],
        "ui-clean",
        phone="13600000021",
        store_name="顺发建材",
        address="杭州市莫干山路8号",
        business_licence_no=None,
    )
    twin = await apply(
        client,
        sandbox_client,
        run["items"][1]["token"],
        "ui-twin",
        phone=tenant.store.phone,
        store_name=tenant.store.name,
        address="文一西路1号",
        business_licence_no=None,
    )

    # The queue: newest first, the look-alike flagged, the phone masked.
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/applications")
    await expect(page.get_by_role("heading", name="入驻审核")).to_be_visible()
    rows = page.get_by_test_id("applications-table").locator(".el-table__body tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text(tenant.store.name)
    await expect(rows.nth(0).get_by_test_id("duplicate-flag")).to_have_text("疑似重复 1")
    await expect(rows.nth(0)).to_contain_text(
        f"{tenant.store.phone[:3]}****{tenant.store.phone[7:]}"
    )
    await expect(rows.nth(0)).to_contain_text("开箱码 K-")
    await expect(rows.nth(1)).to_contain_text("顺发建材")
    await expect(rows.nth(1).get_by_test_id("duplicate-flag")).to_have_count(0)
    await shot(page, "onboarding-1-queue")

    # The look-alike beside the existing store: the same values marked, the others not.
    await page.locator(f"[data-application='{twin['id']}']").click()
    compare = page.get_by_test_id("duplicates")
    await expect(compare).to_contain_text(f"已有门店 #{tenant.store.id}")
    await expect(compare).to_contain_text("手机号相同")
    await expect(compare.locator("[data-field='phone'] td.same")).to_have_text(tenant.store.phone)
    await expect(compare.locator("[data-field='store_name'] td.same")).to_have_count(1)
    await expect(compare.locator("[data-field='contact_name'] td.differ")).to_have_count(1)
    await shot(page, "onboarding-2-duplicate")

    # The clean one approved to the box code's distributor and a salesperson of it.
    await page.goto(f"{platform_url}/console#/applications/{clean['id']}")
    await expect(page.get_by_test_id("application-status")).to_have_text("待审核")
    await expect(page.get_by_test_id("duplicates")).to_have_count(0)
    await page.get_by_role("button", name="通过并建立门店").click()
    await expect(page.get_by_text("请选择负责的业务员")).to_be_visible()
    await choose(page, "业务员", "李娜")
    await page.get_by_text("B 级").click()
    await shot(page, "onboarding-3-approve")
    await page.get_by_role("button", name="通过并建立门店").click()
    dialog = page.get_by_role("dialog", name="通过入驻申请")
    await expect(dialog).to_contain_text(f"归属 {tenant.distributor.name}，业务员 李娜")
    await dialog.get_by_role("button", name="通过并建立门店").click()
    await expect(page.get_by_test_id("application-status")).to_have_text("已通过")
    decided = (await client.get(f"{APPLICATIONS}/{clean['id']}", headers=brand)).json()
    store = (await client.get(f"/api/v1/stores/{decided['store_id']}", headers=brand)).json()
    li_na = await Salesperson.get(phone="13900000066")
    assert (store["name"], store["distributor_id"], store["salesperson_id"], store["tier"]) == (
        "顺发建材",
        tenant.distributor.id,
        li_na.id,
        "B",
    )
    await expect(page.get_by_test_id("created-store")).to_have_text(f"门店 #{store['id']}")

    # A print run of 30 codes, listed with none used, printed on two A4 pages.
    await page.get_by_role("link", name="开箱码").click()
    await expect(page.get_by_role("heading", name="开箱码")).to_be_visible()
    batches = page.get_by_test_id("batches-table").locator(".el-table__body tr")
    await expect(batches).to_have_count(1)
    await expect(batches.first).to_contain_text("2 / 2")
    await page.get_by_label("数量").fill("30")
    await choose(page, "发往经销商", tenant.distributor.name)
    await page.get_by_label("批次名称").fill("十二月净水器")
    await page.get_by_role("button", name="生成").click()
    await expect(page.get_by_text("已生成 30 个开箱码（十二月净水器）")).to_be_visible()
    await expect(batches).to_have_count(2)
    await expect(batches.first).to_contain_text("0 / 30")
    await expect(batches.first).to_contain_text(tenant.distributor.name)
    await shot(page, "onboarding-4-box-codes")
    async with context.expect_page() as opened:
        await batches.first.get_by_role("link", name="打印二维码").click()
    sheet = await opened.value
    await expect(sheet.locator(".qr-sheet")).to_have_count(2)
    await expect(sheet.locator(".qr-cell")).to_have_count(30)
    await expect(sheet.locator(".qr-sheet").first).to_contain_text("十二月净水器")
    await expect(sheet.locator(".qr-sheet").first).to_contain_text("第 1 / 2 页")
    first_code = await OnboardingCode.filter(batch="十二月净水器").order_by("id").first()
    assert first_code is not None
    await expect(sheet.locator(".qr-cell .short-code").first).to_have_text(
        short_code(first_code.id)
    )
    await expect(sheet.get_by_role("button", name="打印")).to_be_enabled()
    # Printed: two A4 pages, the toolbar left out.
    pdf = await sheet.pdf(format="A4", prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 2
    await shot(sheet, "onboarding-5-box-code-sheet")
    await sheet.close()

    # A salesperson's invitation code made, then printed.
    await page.get_by_role("link", name="邀请码").click()
    people = page.get_by_test_id("invitations-table").locator(".el-table__body tr")
    await expect(people).to_have_count(2)
    await people.filter(has_text="李娜").locator(".el-checkbox").click()
    await page.get_by_role("button", name="为所选生成邀请码（1）").click()
    await expect(page.get_by_text("已为 1 位业务员生成邀请码")).to_be_visible()
    await expect(people.filter(has_text="李娜")).to_contain_text("K-")
    await shot(page, "onboarding-6-invitations")
    async with context.expect_page() as opened:
        await page.get_by_role("link", name="打印所选（1）").click()
    printed = await opened.value
    await expect(printed.locator(".qr-cell")).to_have_count(1)
    await expect(printed.locator(".qr-cell .caption")).to_have_text(
        f"李娜 · {tenant.distributor.name}"
    )
    await shot(printed, "onboarding-7-invitation-sheet")
    await context.close()

    # Distributor staff: none of the pages.
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    dealer_context, dealer_page = await signed_in(browser, platform_url, dealer, "/applications")
    await expect(dealer_page.get_by_text("无权访问")).to_be_visible()
    await expect(dealer_page.get_by_role("link", name="入驻审核")).to_have_count(0)
    for path in (f"/applications/{twin['id']}", "/onboarding/box-codes", "/onboarding/invitations"):
        await dealer_page.goto(f"{platform_url}/console#{path}")
        await expect(dealer_page.get_by_text("无权访问")).to_be_visible()
    await dealer_context.close()
