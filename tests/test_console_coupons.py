"""The brand's coupons and accounts in a real browser. A brand admin creates a coupon
template, issues it to the stores tagged 新店 (the API then shows those stores hold it and the
others do not), opens it in the 领券中心; reviews a distributor's voucher claim, approves and
settles it (the distributor's ledger entries checked through the API), reads the
distributor's and a store's statements, and sets the first-order rewards. Distributor staff
reach none of these pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from playwright.async_api import Browser, Page, expect

from backend.coupons.models import Coupon, CouponTemplate
from backend.identity.models import Role
from backend.ledger import service as ledger_service
from backend.ledger.models import AccountKind, EntryCause, PartyAccount, PartyEntry
from backend.org.models import StoreTag
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import make_shop, make_staff, make_store
from tests.test_promotions_admin import admin
from tests.test_voucher_claims import delivered_voucher_order

pytestmark = needs_browser


async def confirm(page: Page, button: str) -> None:
    """Answers the ElMessageBox a money-moving or destructive step asks first."""
    box = page.locator(".el-message-box")
    await expect(box).to_be_visible()
    await box.get_by_role("button", name=button).click()
    await expect(box).to_be_hidden()


async def search_and_choose(page: Page, label: str, text: str) -> None:
    """Types `text` into the remote-search select labelled `label` and picks that option."""
    combobox = page.get_by_role("combobox", name=label, exact=True)
    await page.locator(".el-select__wrapper").filter(has=combobox).click()
    await combobox.fill(text)
    await (
        page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
        .filter(has_text=text)
        .first.click()
    )


async def forbidden_to_distributors(
    browser: Browser,  # noqa: F811 (the fixture, passed on)
    platform_url: str,
    brand_id: int,
    distributor_id: int,
    paths: list[str],
) -> None:
    """Distributor staff open none of `paths` and see none of the brand's entries."""
    dealer = await make_staff(brand_id, Role.DISTRIBUTOR_ADMIN, distributor_id)
    context, page = await signed_in(browser, platform_url, dealer)
    for path in paths:
        await page.goto(f"{platform_url}/console#{path}")
        await expect(page.get_by_text("无权访问")).to_be_visible()
    nav = page.get_by_role("navigation")
    for entry in ("优惠券", "领券中心", "核销审核", "账户与对账单", "首单与邀请奖励"):
        await expect(nav.get_by_text(entry, exact=True)).to_have_count(0)
    await context.close()


async def test_a_brand_creates_a_coupon_and_issues_it_to_a_tag(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    tagged = await make_store(tenant, name="西湖新店")
    await StoreTag.create(store=tagged, tag="新店")
    untagged = tenant.store

    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/coupons")
    await expect(page.get_by_role("heading", name="优惠券")).to_be_visible()
    await expect(page.get_by_text("还没有优惠券，点击右上角新建")).to_be_visible()
    await page.get_by_role("button", name="新建优惠券").click()
    await expect(page.get_by_role("heading", name="新建优惠券")).to_be_visible()

    # Checked before sending: nothing is created until the form is right.
    await page.get_by_role("button", name="创建优惠券").click()
    await expect(page.get_by_text("请填写优惠券名称")).to_be_visible()
    await page.get_by_label("名称", exact=True).fill("新店满3000减200")
    await page.get_by_label("使用门槛").fill("3000")
    await page.get_by_label("减免金额").fill("3000")
    await page.get_by_role("button", name="创建优惠券").click()
    await expect(page.get_by_text("减免金额须小于使用门槛")).to_be_visible()
    assert await CouponTemplate.all().count() == 0
    await page.get_by_label("减免金额").fill("200")
    await page.locator("label.el-checkbox").filter(has_text="限量").click()
    await shot(page, "coupons-1-new")
    await page.get_by_role("button", name="创建优惠券").click()

    # The template: no coupons out yet; then issued to the tag 新店.
    await expect(page.get_by_test_id("template-status")).to_have_text("发放中")
    [created] = await CouponTemplate.all()
    assert (created.name, created.kind, created.terms["threshold_fen"]) == (
        "新店满3000减200",
        "reduction",
        300_000,
    )
    assert (created.terms["amount_off_fen"], created.valid_days, created.total_quantity) == (
        20_000,
        30,
        1000,
    )
    await expect(page.get_by_test_id("figure-issued")).to_have_text("0")
    await expect(page.get_by_text("还没有发放过")).to_be_visible()
    await page.get_by_role("button", name="发券").click()
    dialog = page.get_by_role("dialog", name="发券：新店满3000减200")
    await choose(page, "门店标签", "新店")
    await dialog.get_by_text("发放方式").click()  # closes the tag list
    await expect(page.locator(".dialog-fade-enter-active")).to_have_count(0)
    await shot(page, "coupons-2-issue")
    await dialog.get_by_role("button", name="发券").click()
    box = page.locator(".el-message-box")
    await expect(box).to_contain_text("标签：新店")
    await confirm(page, "确认发券")
    await expect(page.locator(".el-message--success").last).to_contain_text("已发放 1 张")
    await expect(page.get_by_test_id("figure-issued")).to_have_text("1")
    batch = page.locator(".el-table__body tr").first
    await expect(batch).to_contain_text("标签：新店")
    await expect(batch).to_contain_text("1 张")
    await shot(page, "coupons-3-issued")

    # Through the API: the tagged store holds the coupon, the untagged one does not.
    brand = await admin(client, shop)
    holders = await Coupon.filter(template_id=created.id).values_list("store_id", flat=True)
    assert holders == [tagged.id] and untagged.id not in holders
    detail = (await client.get(f"/api/v1/coupons/templates/{created.id}", headers=brand)).json()
    assert (detail["issued_count"], detail["left"], detail["figures"]["issued"]) == (1, 999, 1)

    # The 领券中心: open it to stores, two each.
    await page.get_by_role("link", name="领券中心", exact=True).click()
    await expect(page.get_by_role("heading", name="领券中心")).to_be_visible()
    await expect(page.locator(f"[data-claimable='{created.id}']")).to_have_text("不开放")
    await page.locator(f"[data-edit='{created.id}']").click()
    settings = page.get_by_role("dialog", name="领券中心设置：新店满3000减200")
    await settings.locator(".el-switch").click()
    await settings.get_by_label("每店限领").fill("2")
    await settings.get_by_role("button", name="保存").click()
    await expect(page.locator(f"[data-claimable='{created.id}']")).to_have_text("开放 · 每店 2 张")
    await expect(settings).to_be_hidden()
    await shot(page, "coupons-4-claim-centre")
    opened = await CouponTemplate.get(id=created.id)
    assert (opened.claimable, opened.per_store_limit) == (True, 2)

    # The list: what it is worth and how its coupons fared.
    await page.get_by_role("link", name="优惠券", exact=True).click()
    row = page.locator(f"tr:has([data-template='{created.id}'])")
    await expect(row).to_contain_text("满3000.00元减200.00元")
    await expect(row.locator("[data-figure='issued']")).to_have_text("1")
    await expect(row.locator("[data-figure='used']")).to_have_text("0")
    await expect(row).to_contain_text("每店限 2 张")
    await shot(page, "coupons-5-list")

    # Ended, asked first: no more issuing; the coupon already out stays in its wallet.
    await row.locator(f"[data-template='{created.id}']").click()
    await page.get_by_role("button", name="停止发放").click()
    await confirm(page, "停止发放")
    await expect(page.get_by_test_id("template-status")).to_have_text("已停止")
    await expect(page.get_by_role("button", name="发券")).to_have_count(0)
    assert (await CouponTemplate.get(id=created.id)).status == "ended"
    assert await Coupon.filter(template_id=created.id).count() == 1
    await context.close()

    await forbidden_to_distributors(
        browser,
        platform_url,
        tenant.brand.id,
        tenant.distributor.id,
        ["/coupons", f"/coupons/{created.id}", "/coupons/claim-center"],
    )


async def test_a_brand_settles_a_claim_and_reads_the_accounts(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop, distributor, order = await delivered_voucher_order(client, sandbox_client)
    tenant = shop.tenant
    submitted = await client.post(
        "/api/v1/coupons/claims",
        json={"note": "12月兑换券"},
        headers={**distributor, "Idempotency-Key": "browser-claim"},
    )
    claim_id = submitted.json()["id"]
    await ledger_service.post(
        brand_id=tenant.brand.id,
        store_id=tenant.store.id,
        kind=AccountKind.POINTS,
        amount=120,
        cause=EntryCause.LOTTERY_PRIZE,
        cause_id=1,
        order_id=order["id"],
        now=datetime.now(UTC),
    )

    # The review list: every distributor's claims, this one waiting, with its distributor.
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/claims/review")
    await expect(page.get_by_role("heading", name="兑换券核销审核")).to_be_visible()
    row = page.locator(f"tr:has([data-claim='{claim_id}'])")
    await expect(row).to_contain_text(tenant.distributor.name)
    await expect(row).to_contain_text("¥200.00")
    await expect(row).to_contain_text("待审核")
    await expect(page.locator("[data-tab='submitted']")).to_have_text("待审核1")
    await expect(page.get_by_test_id("claims-owed")).to_contain_text("待审核 ¥200.00")
    await choose(page, "经销商", tenant.other_distributor.name)
    await expect(page.get_by_text("经销商还没有提交过核销单")).to_be_visible()
    assert f"distributor_id={tenant.other_distributor.id}" in page.url
    await choose(page, "经销商", tenant.distributor.name)
    await expect(row).to_be_visible()
    await shot(page, "accounts-1-claim-review")

    # Approved, then settled, each asked first.
    await row.get_by_role("link").click()
    await expect(page.get_by_test_id("claim-status")).to_have_text("待审核")
    await page.get_by_role("button", name="确认核销").click()
    await confirm(page, "确认核销")
    await expect(page.get_by_test_id("claim-status")).to_have_text("已确认，待结算")
    await page.get_by_role("button", name="标记已结算").click()
    await confirm(page, "标记已结算")
    await expect(page.get_by_test_id("claim-status")).to_have_text("已结算")
    await shot(page, "accounts-2-claim-settled")
    account = await PartyAccount.get(
        party="distributor", party_id=tenant.distributor.id, kind="vouchers"
    )
    entries = await PartyEntry.filter(account_id=account.id).order_by("id")
    assert [(e.cause, e.cause_id, e.amount, e.balance_after) for e in entries] == [
        ("claim_ok", claim_id, 20_000, 20_000),
        ("claim_paid", claim_id, -20_000, 0),
    ]
    assert account.balance == 0

    # The distributor's statement, found by name, and its CSV.
    await page.get_by_role("link", name="账户与对账单").click()
    await expect(page.get_by_text("请先选择门店")).to_be_visible()
    await page.locator("label.el-radio-button").filter(has_text="经销商").click()
    await choose(page, "选择经销商", tenant.distributor.name)
    tab = page.locator(f"[data-account='{account.id}']")
    await expect(tab).to_contain_text("兑换券核销款")
    await expect(tab.get_by_test_id("account-balance")).to_have_text("¥0.00")
    rows = page.locator(".el-table__body tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("兑换券核销结算")
    await expect(rows.nth(0)).to_contain_text("-¥200.00")
    await expect(rows.nth(1)).to_contain_text("+¥200.00")
    assert re.search(rf"party=distributor.*who={tenant.distributor.id}", page.url)
    await shot(page, "accounts-3-distributor")
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="导出 CSV").click()
    content = (await (await downloading.value).path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    assert [line[1:4] for line in lines[1:]] == [
        ["兑换券核销确认", "200.00", "200.00"],
        ["兑换券核销结算", "-200.00", "0.00"],
    ]

    # A store's points, found by searching its name.
    await page.locator("label.el-radio-button").filter(has_text="门店").click()
    await search_and_choose(page, "选择门店", tenant.store.name)
    await expect(page.get_by_test_id("account-balance")).to_have_text("120 分")
    await expect(page.locator(".el-table__body tr").first).to_contain_text("抽奖中奖")
    await expect(page.locator(".el-table__body tr").first).to_contain_text("+120")
    await shot(page, "accounts-4-store")

    # The standing rewards: a bad amount is refused on the page, a good one saved.
    await page.get_by_role("link", name="首单与邀请奖励").click()
    await expect(page.get_by_role("heading", name="首单与邀请奖励")).to_be_visible()
    await page.get_by_label("首单返现").fill("50")
    await page.get_by_label("邀请有礼").fill("二十")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("请填写金额，如 50 或 9.90；0 为不设")).to_be_visible()
    await page.get_by_label("邀请有礼").fill("20")
    await page.get_by_label("业务员拓店积分").fill("300")
    await page.get_by_role("button", name="保存").click()
    await confirm(page, "保存")
    await expect(page.locator(".el-message--success").last).to_contain_text("已保存")
    await shot(page, "accounts-5-incentives")
    brand = await admin(client, shop)
    assert (await client.get("/api/v1/ledger/incentives", headers=brand)).json() == {
        "first_order_cashback_fen": 5_000,
        "first_order_min_fen": 0,
        "invitation_reward_fen": 2_000,
        "salesperson_first_order_points": 300,
    }
    await context.close()

    await forbidden_to_distributors(
        browser,
        platform_url,
        tenant.brand.id,
        tenant.distributor.id,
        ["/claims/review", "/accounts", "/accounts/incentives"],
    )
