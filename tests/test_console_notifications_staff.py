"""The console's bell and staff accounts in a real browser. A distributor submits a voucher
claim while the brand's console is open: the bell counts it without a reload, a click opens
the claim and the count drops; the notifications page lists and filters them. A distributor
admin opens an account, resets its password (the new one signs in), deactivates it (its
sign-in is refused in Chinese); distributor staff cannot open the staff page."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from backend.identity.models import Role
from backend.identity.service import UsernameTaken
from backend.notifications import service as notifications_service
from tests import console_browser
from tests.console_browser import needs_browser, shot, signed_in
from tests.factories import make_shop, make_staff, staff_headers
from tests.test_promotions_admin import admin
from tests.test_voucher_claims import delivered_voucher_order, idempotent_staff

pytestmark = needs_browser
browser = console_browser.browser  # the fixture, where pytest looks for it


async def still(page: Page) -> None:
    """Before a screenshot: passing messages gone, and every fade and slide finished."""
    await expect(page.locator(".el-message")).to_have_count(0)
    await page.wait_for_function("document.getAnimations().every((a) => a.playState !== 'running')")


async def test_a_claim_rings_the_brands_bell_and_opens_from_it(
    browser, platform_url, client, sandbox_client, deps
) -> None:
    shop, distributor, _ = await delivered_voucher_order(client, sandbox_client)
    brand_id = shop.tenant.brand.id
    context, page = await signed_in(
        browser, platform_url, shop.tenant.admin_username, "/notifications"
    )
    await expect(page.get_by_role("heading", name="消息通知")).to_be_visible()
    await expect(page.get_by_role("main").get_by_text("暂无通知")).to_be_visible()
    await expect(page.get_by_role("button", name="消息通知", exact=True)).to_be_visible()

    # The distributor submits a claim: the brand's bell counts it, no reload.
    submitted = await client.post(
        "/api/v1/coupons/claims", json={"note": "11月"}, headers=idempotent_staff(distributor)
    )
    claim_id = submitted.json()["id"]
    bell = page.get_by_role("button", name="消息通知，1 条未读")
    await expect(bell).to_be_visible()
    await expect(page.get_by_test_id("page-unread")).to_have_text("1 条未读")
    await bell.click()
    item = page.locator(".bell-item[data-notification]").first
    await expect(item).to_contain_text(f"核销单 #{claim_id} 待审核")
    await expect(item).to_contain_text(f"{shop.tenant.distributor.name}申请核销 200.00 元")
    await expect(item).to_contain_text("核销待审核 · 刚刚")
    await still(page)
    await shot(page, "notifications-1-bell-open")

    # A click opens the claim and marks it read; the count drops.
    await item.click()
    await expect(page).to_have_url(re.compile(rf"#/claims/{claim_id}$"))
    await expect(page.get_by_role("button", name="消息通知", exact=True)).to_be_visible()
    brand = await admin(client, shop)
    [read] = (await client.get("/api/v1/notifications", headers=brand)).json()["items"]
    assert (read["link"], read["read"]) == (f"claim:{claim_id}", True)
    # There the brand confirms it, and the API agrees.
    await page.get_by_role("button", name="确认核销").click()
    await page.get_by_role("dialog").get_by_role("button", name="确认核销").click()
    await expect(page.get_by_test_id("claim-status")).to_have_text("已确认，待结算")
    seen = (await client.get(f"/api/v1/coupons/claims/{claim_id}", headers=brand)).json()
    assert seen["status"] == "approved"
    await page.get_by_role("button", name="标记已结算").click()
    await page.get_by_role("dialog").get_by_role("button", name="标记已结算").click()
    await expect(page.get_by_test_id("claim-status")).to_have_text("已结算")
    await shot(page, "claims-6-brand-settled")

    # Two more arrive (a breach among them); the page lists them and filters the unread.
    me = (await client.get("/api/v1/me", headers=brand)).json()["id"]
    for number, title in [(41, "超过首次响应时限"), (42, "超过解决时限")]:
        await notifications_service.notify(
            brand_id,
            [me],
            kind="complaint.breached",
            title=f"投诉 #{number} {title}",
            body="请尽快处理",
            link=f"complaint:{number}",
            now=deps.clock.now(),
            broadcast=deps.broadcast,
        )
    await expect(page.get_by_role("button", name="消息通知，2 条未读")).to_be_visible()
    await page.evaluate("window.location.hash = '#/notifications'")
    listed = page.get_by_role("main")  # the bell's popover repeats the latest ones
    await expect(listed.get_by_text("投诉 #42 超过解决时限")).to_be_visible()
    await expect(listed.get_by_text(f"核销单 #{claim_id} 待审核")).to_be_visible()
    await still(page)
    await shot(page, "notifications-2-page")
    await listed.locator("label.el-radio-button").filter(has_text=re.compile("^未读$")).click()
    await expect(page).to_have_url(re.compile(r"read=false"))
    await expect(listed.get_by_text(f"核销单 #{claim_id} 待审核")).to_have_count(0)
    await expect(listed.get_by_text("投诉 #41 超过首次响应时限")).to_be_visible()
    await page.get_by_role("button", name="全部已读").click()
    await expect(page.get_by_test_id("page-unread")).to_have_text("没有未读通知")
    await expect(page.get_by_role("button", name="消息通知", exact=True)).to_be_visible()
    unread = (await client.get("/api/v1/notifications/unread-count", headers=brand)).json()
    assert unread == {"unread": 0}
    await context.close()


async def test_a_distributor_admin_opens_resets_and_deactivates_an_account(
    browser, platform_url, client
) -> None:
    tenant = (await make_shop()).tenant
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    rival = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.other_distributor.id)
    context, page = await signed_in(browser, platform_url, dealer, "/staff")
    await expect(page.get_by_role("heading", name="员工账号")).to_be_visible()
    await expect(page.locator(f"[data-staff='{dealer}']")).to_be_visible()
    await expect(page.locator(f"[data-staff='{rival}']")).to_have_count(0)  # not its own

    # Open an account (the form checks as the API does before sending).
    await page.get_by_role("button", name="开通账号").click()
    dialog = page.get_by_role("dialog", name="开通员工账号")
    await dialog.get_by_label("姓名").fill("周倩")
    await dialog.get_by_label("登录账号").fill("x")
    await dialog.get_by_label("初始密码").fill("short")
    await dialog.get_by_role("button", name="开通").click()
    await expect(dialog.get_by_text("账号为 3–64 位字母、数字或 _ . -")).to_be_visible()
    await expect(dialog.get_by_text("密码为 8–128 个字符")).to_be_visible()
    # A name already taken is refused by the API; corrected, the same opening of the dialog
    # saves (a new Idempotency-Key after a refusal, not the refused one replayed).
    await dialog.get_by_label("登录账号").fill(rival)
    await dialog.get_by_label("初始密码").fill("first-pass-2026")
    await dialog.get_by_role("button", name="开通").click()
    await expect(dialog.get_by_text(UsernameTaken.message)).to_be_visible()
    username = f"zq_{tenant.distributor.id}"
    await dialog.get_by_label("登录账号").fill(username)
    await still(page)
    await shot(page, "staff-2-create-dialog")
    await dialog.get_by_role("button", name="开通").click()
    await expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has=page.locator(f"[data-staff='{username}']"))
    await expect(row).to_contain_text("周倩")
    await expect(row).to_contain_text("经销商员工")
    await expect(row).to_contain_text("在用")
    dealer_headers = await staff_headers(client, dealer)
    listed = (await client.get("/api/v1/staff", headers=dealer_headers)).json()["items"]
    [opened] = [a for a in listed if a["username"] == username]
    assert (opened["display_name"], opened["role"], opened["distributor_id"]) == (
        "周倩",
        "distributor_staff",
        tenant.distributor.id,
    )
    await still(page)
    await shot(page, "staff-1-list")

    # Reset its password: generated, shown once, and it signs in.
    await row.get_by_role("button", name="重置密码").click()
    reset = page.get_by_role("dialog", name="重置密码")
    await expect(reset).to_contain_text("重置后该账号已登录的设备会立即下线")
    await reset.get_by_role("button", name="重置密码").click()
    shown = reset.get_by_label("新密码")
    await expect(shown).not_to_have_value("")
    await expect(reset.get_by_role("button", name="复制")).to_be_visible()
    await still(page)
    await shot(page, "staff-3-password-shown")
    new_password = await shown.input_value()
    await reset.get_by_role("button", name="完成").click()
    login = {"username": username, "password": new_password}
    assert (await client.post("/api/v1/auth/staff/login", json=login)).status_code == 200
    old = {"username": username, "password": "first-pass-2026"}
    assert (await client.post("/api/v1/auth/staff/login", json=old)).status_code == 401

    # Deactivate it (asked first): its sign-in is refused, in Chinese.
    await row.get_by_role("button", name="停用").click()
    confirm = page.get_by_role("dialog", name="停用账号")
    await expect(confirm).to_contain_text("已登录的设备会立即下线")
    await still(page)
    await shot(page, "staff-4-deactivate-confirm")
    await confirm.get_by_role("button", name="停用").click()
    await expect(row).to_contain_text("已停用")
    await expect(row.get_by_role("button", name="启用")).to_be_visible()
    refused = await client.post("/api/v1/auth/staff/login", json=login)
    assert refused.json()["error"]["code"] == "auth.account_disabled"
    other = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    outsider = await other.new_page()
    await outsider.goto(f"{platform_url}/console")
    await outsider.get_by_label("账号").fill(username)
    await outsider.get_by_label("密码").fill(new_password)
    await outsider.get_by_role("button", name="登录").click()
    await expect(outsider.get_by_role("alert")).to_contain_text("账号已停用")
    await still(outsider)
    await shot(outsider, "staff-5-signin-refused")
    await other.close()
    await context.close()


async def test_distributor_staff_cannot_open_the_staff_page_the_brand_sees_all(
    browser, platform_url
) -> None:
    tenant = (await make_shop()).tenant
    clerk = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    rival = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.other_distributor.id)
    context, page = await signed_in(browser, platform_url, clerk, "/staff")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    await expect(page.get_by_text("您的角色不能打开这个页面。")).to_be_visible()
    await expect(page.get_by_role("link", name="员工账号")).to_have_count(0)
    await expect(page.get_by_role("link", name="消息通知")).to_be_visible()
    await expect(page.locator(f"[data-staff='{clerk}']")).to_have_count(0)
    await context.close()

    # The brand admin sees every distributor's staff, and narrows by distributor.
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/staff")
    for username in (tenant.admin_username, clerk, rival):
        await expect(page.locator(f"[data-staff='{username}']")).to_be_visible()
    clerk_row = page.get_by_role("row").filter(has=page.locator(f"[data-staff='{clerk}']"))
    await expect(clerk_row).to_contain_text(tenant.distributor.name)
    # (choose() would also find the listbox: a filterable select labels both.)
    await page.get_by_role("combobox", name="经销商").click()
    await page.get_by_role("option", name=tenant.distributor.name, exact=True).click()
    await expect(page).to_have_url(re.compile(rf"distributor_id={tenant.distributor.id}"))
    await expect(page.locator(f"[data-staff='{rival}']")).to_have_count(0)
    await expect(page.locator(f"[data-staff='{clerk}']")).to_be_visible()
    await still(page)
    await shot(page, "staff-6-brand-list")
    await context.close()
